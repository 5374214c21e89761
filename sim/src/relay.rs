//! A UDP relay for tests and the benchmark: sits between nodes and the hub on loopback, counts
//! the datagrams and bytes it forwards, and drops a given share of them at random (a township's
//! lossy link). Stops by itself after its lifetime, or when dropped.

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
    stats: Arc<RelayStats>,
}

impl Dropper {
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
    let front = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
    let addr = front.local_addr()?;
    let stats = Arc::new(RelayStats::default());
    let dropper = Arc::new(Dropper {
        rng: Mutex::new(StdRng::seed_from_u64(seed)),
        rate: drop_rate.clamp(0.0, 1.0),
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
                        while let Ok(n) = b2.recv(&mut buf).await {
                            if dropper.pass(n) {
                                let _ = front.send_to(&buf[..n], client).await;
                            }
                        }
                    });
                    b
                }
            };
            if dropper.pass(n) {
                let _ = back.send(&buf[..n]).await;
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
