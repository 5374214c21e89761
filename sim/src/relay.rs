//! A UDP relay for tests and the benchmark: sits between nodes and the hub on loopback, counts
//! the datagrams and bytes it forwards, and drops a given share of them at random (a township's
//! lossy link), and holds back a given share for a few milliseconds so that later ones overtake
//! them (a link that reorders). Stops by itself after its lifetime, or when dropped.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::UdpSocket;
use tokio::task::JoinSet;

/// What went through the relay.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub datagrams: AtomicU64,
    pub bytes: AtomicU64,
    pub dropped: AtomicU64,
    /// Datagrams held back and sent after later ones.
    pub reordered: AtomicU64,
}

impl RelayStats {
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    pub fn datagrams(&self) -> u64 {
        self.datagrams.load(Ordering::Relaxed)
    }
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    pub fn reordered(&self) -> u64 {
        self.reordered.load(Ordering::Relaxed)
    }
}

/// A running relay; point nodes at [`Relay::addr`].
pub struct Relay {
    pub addr: SocketAddr,
    pub stats: Arc<RelayStats>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).abort_all();
    }
}

struct Dropper {
    rng: Mutex<StdRng>,
    rate: f64,
    reorder: f64,
    stats: Arc<RelayStats>,
}

impl Dropper {
    /// How long to hold a datagram back (None: send it now).
    fn delay(&self) -> Option<Duration> {
        if self.reorder <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if !rng.gen_bool(self.reorder) {
            return None;
        }
        self.stats.reordered.fetch_add(1, Ordering::Relaxed);
        Some(Duration::from_millis(rng.gen_range(1..=30)))
    }

    /// Whether to forward a datagram of `len` bytes (counting it either way).
    fn pass(&self, len: usize) -> bool {
        let drop = self.rate > 0.0 && self.rng.lock().unwrap_or_else(|p| p.into_inner()).gen_bool(self.rate);
        if drop {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.datagrams.fetch_add(1, Ordering::Relaxed);
            self.stats.bytes.fetch_add(len as u64, Ordering::Relaxed);
        }
        !drop
    }
}

/// Starts a relay on 127.0.0.1 forwarding to `upstream`, dropping `drop_rate` (0.0–1.0) of the
/// datagrams in each direction, for at most `lifetime`.
pub async fn start(upstream: SocketAddr, drop_rate: f64, seed: u64, lifetime: Duration) -> std::io::Result<Relay> {
    start_with(upstream, drop_rate, 0.0, seed, lifetime).await
}

/// [`start`], also holding back `reorder` (0.0–1.0) of the datagrams each way for 1–30 ms, so
/// that the ones after them arrive first.
pub async fn start_with(
    upstream: SocketAddr,
    drop_rate: f64,
    reorder: f64,
    seed: u64,
    lifetime: Duration,
) -> std::io::Result<Relay> {
    let front = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
    let addr = front.local_addr()?;
    let stats = Arc::new(RelayStats::default());
    let dropper = Arc::new(Dropper {
        rng: Mutex::new(StdRng::seed_from_u64(seed)),
        rate: drop_rate.clamp(0.0, 1.0),
        reorder: reorder.clamp(0.0, 1.0),
        stats: stats.clone(),
    });
    let tasks = Arc::new(Mutex::new(JoinSet::new()));
    let tasks2 = tasks.clone();
    let main = async move {
        // One upstream socket per client, so the hub sees each client as its own address.
        let mut backs: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let Ok((n, client)) = front.recv_from(&mut buf).await else {
                return;
            };
            let back = match backs.get(&client) {
                Some(b) => b.clone(),
                None => {
                    let Ok(b) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await else {
                        continue;
                    };
                    if b.connect(upstream).await.is_err() {
                        continue;
                    }
                    let b = Arc::new(b);
                    backs.insert(client, b.clone());
                    let (front, b2, dropper) = (front.clone(), b.clone(), dropper.clone());
                    tasks2.lock().unwrap_or_else(|p| p.into_inner()).spawn(async move {
                        let mut buf = vec![0u8; 65_536];
                        loop {
                            // A hub that is down (killed, restarting) makes the connected socket
                            // report the refusal once; the relay outlives it.
                            let n = match b2.recv(&mut buf).await {
                                Ok(n) => n,
                                Err(_) => {
                                    tokio::time::sleep(Duration::from_millis(10)).await;
                                    continue;
                                }
                            };
                            if !dropper.pass(n) {
                                continue;
                            }
                            match dropper.delay() {
                                None => {
                                    let _ = front.send_to(&buf[..n], client).await;
                                }
                                Some(d) => {
                                    let (front, bytes) = (front.clone(), buf[..n].to_vec());
                                    tokio::spawn(async move {
                                        tokio::time::sleep(d).await;
                                        let _ = front.send_to(&bytes, client).await;
                                    });
                                }
                            }
                        }
                    });
                    b
                }
            };
            if dropper.pass(n) {
                match dropper.delay() {
                    None => {
                        let _ = back.send(&buf[..n]).await;
                    }
                    Some(d) => {
                        let bytes = buf[..n].to_vec();
                        tokio::spawn(async move {
                            tokio::time::sleep(d).await;
                            let _ = back.send(&bytes).await;
                        });
                    }
                }
            }
        }
    };
    tasks.lock().unwrap_or_else(|p| p.into_inner()).spawn(async move {
        let _ = tokio::time::timeout(lifetime, main).await;
    });
    // The lifetime bounds the per-client tasks too.
    let tasks3 = tasks.clone();
    tokio::spawn(async move {
        tokio::time::sleep(lifetime).await;
        tasks3.lock().unwrap_or_else(|p| p.into_inner()).abort_all();
    });
    Ok(Relay { addr, stats, tasks })
}
