//! The transport through its public API, as the hub and node use it: real QUIC on 127.0.0.1,
//! real certificates from real county CAs.

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use baoxue_net::*;
use rand::{Rng, SeedableRng};

const WAIT: Duration = Duration::from_secs(10);

struct County {
    ca: CountyCa,
    hub: Credentials,
}

fn county(code: &str, name: &str) -> County {
    let ca = CountyCa::generate(code, name).expect("ca");
    let hub = issue_hub_cert(&ca, "县级平台", &["localhost".into(), "127.0.0.1".into()]).expect("hub cert");
    County { ca, hub }
}

fn serve(county: &County, revoked: RevocationCheck) -> (Arc<Server>, SocketAddr) {
    let server =
        Server::bind("127.0.0.1:0".parse().expect("addr"), county.ca.cert_pem(), &county.hub, revoked).expect("bind");
    let addr = server.local_addr().expect("local addr");
    (Arc::new(server), addr)
}

async fn accept(server: &Server) -> Result<Peer, NetError> {
    tokio::time::timeout(WAIT, server.accept()).await.expect("accept timed out").expect("server closed")
}

/// What a refused node sees: connecting may succeed (the hub checks the node's certificate
/// after the node's half of the handshake), but then the first exchange must fail.
async fn node_outcome(connected: Result<Conn, NetError>) -> Result<Vec<u8>, NetError> {
    let conn = connected?;
    let mut s = conn.open_stream().await?;
    s.send_frame(b"hello").await?;
    let reply = s.recv_frame().await?;
    Ok(reply.unwrap_or_default())
}

/// Hub side of one echo session: every frame comes back prefixed with the node's name.
async fn echo(peer: Peer) -> Result<usize, NetError> {
    let mut frames = 0;
    while let Some(mut stream) = peer.accept_stream().await? {
        while let Some(frame) = stream.recv_frame().await? {
            let mut reply = peer.identity.name.clone().into_bytes();
            reply.push(b':');
            reply.extend_from_slice(&frame);
            stream.send_frame(&reply).await?;
            frames += 1;
        }
        stream.finish()?;
    }
    Ok(frames)
}

/// Captures this thread's tracing output (tokio tests run on one thread, so the server's
/// handshake tasks log here too).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let me = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || me.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn mutual_tls_identifies_the_node_and_frames_round_trip() {
    let c = county("640502", "沙坡头区");
    let (server, addr) = serve(&c, nothing_revoked());
    let node = issue_node_cert(&c.ca, "迎水桥镇中心校", "迎水桥镇").expect("node cert");

    let hub_task = tokio::spawn({
        let server = server.clone();
        async move {
            let peer = accept(&server).await.expect("accept");
            let identity = peer.identity.clone();
            (identity, echo(peer).await)
        }
    });

    let conn = connect(addr, HUB_SERVER_NAME, c.ca.cert_pem(), &node).await.expect("connect");
    let mut s = conn.open_stream().await.expect("open");
    s.send_frame(b"ping").await.expect("send");
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    s.send_frame(&big).await.expect("send big");
    s.send_frame(b"").await.expect("send empty");
    assert_eq!(s.recv_frame().await.expect("recv"), Some("迎水桥镇中心校:ping".as_bytes().to_vec()));
    let reply = s.recv_frame().await.expect("recv big").expect("big frame");
    assert_eq!(&reply["迎水桥镇中心校:".len()..], &big[..]);
    assert_eq!(s.recv_frame().await.expect("recv empty"), Some("迎水桥镇中心校:".as_bytes().to_vec()));
    s.finish().expect("finish");
    assert_eq!(s.recv_frame().await.expect("end"), None);
    // A second stream on the same connection.
    let mut s2 = conn.open_stream().await.expect("open 2");
    s2.send_frame(b"again").await.expect("send 2");
    assert_eq!(s2.recv_frame().await.expect("recv 2"), Some("迎水桥镇中心校:again".as_bytes().to_vec()));
    s2.finish().expect("finish 2");
    assert_eq!(s2.recv_frame().await.expect("end 2"), None);
    conn.close().await;

    let (identity, frames) = tokio::time::timeout(WAIT, hub_task).await.expect("hub task hung").expect("hub task");
    assert_eq!(
        identity,
        NodeIdentity {
            name: "迎水桥镇中心校".into(), township: "迎水桥镇".into(), county_code: "640502".into()
        }
    );
    assert_eq!(frames.expect("echo session"), 4);
}

#[tokio::test]
async fn certificate_from_another_county_is_refused_and_service_goes_on() {
    let logs = Logs::default();
    let _guard = logs.install();
    let home = county("640502", "沙坡头区");
    let other = county("640521", "中宁县");
    let (server, addr) = serve(&home, nothing_revoked());

    // A node of the other county, trusting our CA for the hub (so only its own cert is wrong).
    let intruder = issue_node_cert(&other.ca, "冒名节点", "迎水桥镇").expect("other cert");
    let (client, refused) = tokio::join!(
        async { node_outcome(connect(addr, HUB_SERVER_NAME, home.ca.cert_pem(), &intruder).await).await },
        accept(&server)
    );
    let server_err = refused.expect_err("foreign certificate accepted");
    match &server_err {
        NetError::ForeignCert { claimed, .. } => assert_eq!(claimed.as_deref(), Some("冒名节点")),
        other => panic!("expected ForeignCert, got {other:?}"),
    }
    assert!(server_err.to_string().contains("证书不属于本县（颁发者不是本县 CA）"));
    let client_err = client.expect_err("foreign node got a reply");
    assert!(client_err.is_refusal(), "{client_err:?}");
    let log = logs.text();
    assert!(log.contains("WARN") && log.contains("冒名节点"), "log: {log}");

    // The server keeps serving: a good node right after.
    let good = issue_node_cert(&home.ca, "宣和镇", "宣和镇").expect("good cert");
    let (client, peer) = tokio::join!(connect(addr, HUB_SERVER_NAME, home.ca.cert_pem(), &good), accept(&server));
    let peer = peer.expect("good node refused");
    assert_eq!(peer.identity.name, "宣和镇");
    let hub = tokio::spawn(echo(peer));
    let reply = node_outcome(client).await.expect("good node session");
    assert_eq!(reply, "宣和镇:hello".as_bytes());
    drop(hub);
}

#[tokio::test]
async fn node_refuses_a_hub_of_another_county() {
    let home = county("640502", "沙坡头区");
    let other = county("640521", "中宁县");
    let (server, addr) = serve(&other, nothing_revoked());
    let node = issue_node_cert(&home.ca, "n1", "t1").expect("cert");
    let (client, _) = tokio::join!(connect(addr, HUB_SERVER_NAME, home.ca.cert_pem(), &node), async {
        tokio::time::timeout(Duration::from_secs(2), server.accept()).await
    });
    match client {
        Err(NetError::Connect { cause, .. }) => {
            assert!(matches!(*cause, NetError::HubCertRejected { .. }), "{cause:?}");
            assert!(cause.to_string().contains("不是本县 CA 签发"), "{cause}");
        }
        other => panic!("expected Connect error, got {other:?}"),
    }
    // A hub certificate that does not name what the node dialled is refused too.
    let (server, addr) = serve(&home, nothing_revoked());
    let (client, _) = tokio::join!(connect(addr, "hub.elsewhere.cn", home.ca.cert_pem(), &node), async {
        tokio::time::timeout(Duration::from_secs(2), server.accept()).await
    });
    match client {
        Err(NetError::Connect { cause, .. }) => {
            assert!(cause.to_string().contains("服务器名称"), "{cause}")
        }
        other => panic!("expected Connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn revoked_node_is_refused_and_others_are_not() {
    let logs = Logs::default();
    let _guard = logs.install();
    let c = county("640502", "沙坡头区");
    let revoked = Arc::new(RwLock::new(HashSet::new()));
    let (server, addr) = serve(&c, revoked_names(revoked.clone()));
    let node = issue_node_cert(&c.ca, "镇罗镇", "镇罗镇").expect("cert");

    // Before revocation: fine.
    let (client, peer) = tokio::join!(connect(addr, HUB_SERVER_NAME, c.ca.cert_pem(), &node), accept(&server));
    let hub = tokio::spawn(echo(peer.expect("accept before revocation")));
    assert_eq!(node_outcome(client).await.expect("session"), "镇罗镇:hello".as_bytes());
    drop(hub);

    // Revoked while the server runs: the next connection is refused.
    revoked.write().expect("lock").insert("镇罗镇".to_string());
    let (client, refused) = tokio::join!(
        async { node_outcome(connect(addr, HUB_SERVER_NAME, c.ca.cert_pem(), &node).await).await },
        accept(&server)
    );
    match refused {
        Err(NetError::Revoked { ref name, .. }) => assert_eq!(name, "镇罗镇"),
        other => panic!("expected Revoked, got {other:?}"),
    }
    let client_err = client.expect_err("revoked node got a reply");
    match &client_err {
        NetError::Refused { reason } => assert!(reason.contains("吊销"), "{reason}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    let log = logs.text();
    assert!(log.contains("WARN") && log.contains("镇罗镇") && log.contains("吊销"), "log: {log}");

    // Another node of the county is unaffected.
    let other = issue_node_cert(&c.ca, "常乐镇", "常乐镇").expect("cert");
    let (client, peer) = tokio::join!(connect(addr, HUB_SERVER_NAME, c.ca.cert_pem(), &other), accept(&server));
    assert_eq!(peer.expect("other node").identity.name, "常乐镇");
    client.expect("other node connects").close().await;
}

/// A UDP relay dropping `loss` of the datagrams in each direction, for one client.
async fn lossy_relay(server: SocketAddr, loss: f64, seed: u64) -> SocketAddr {
    let front = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("front"));
    let back = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("back"));
    back.connect(server).await.expect("connect back");
    let front_addr = front.local_addr().expect("front addr");
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    {
        let (front, back, client) = (front.clone(), back.clone(), client.clone());
        tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = front.recv_from(&mut buf).await {
                *client.lock().expect("client") = Some(from);
                if !rng.gen_bool(loss) {
                    let _ = back.send(&buf[..n]).await;
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xffff);
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = back.recv(&mut buf).await {
            let to = *client.lock().expect("client");
            if let Some(to) = to {
                if !rng.gen_bool(loss) {
                    let _ = front.send_to(&buf[..n], to).await;
                }
            }
        }
    });
    front_addr
}

#[tokio::test]
async fn a_link_losing_ten_percent_of_packets_still_syncs() {
    let c = county("640502", "沙坡头区");
    let (server, addr) = serve(&c, nothing_revoked());
    let relay = lossy_relay(addr, 0.10, 7).await;
    let node = issue_node_cert(&c.ca, "兴仁镇", "兴仁镇").expect("cert");

    let hub = tokio::spawn({
        let server = server.clone();
        async move { echo(accept(&server).await?).await }
    });
    let session = async {
        let conn = connect(relay, HUB_SERVER_NAME, c.ca.cert_pem(), &node).await?;
        let mut s = conn.open_stream().await?;
        for i in 0..30u32 {
            let payload = vec![i as u8; 20_000];
            s.send_frame(&payload).await?;
            let reply = s.recv_frame().await?.unwrap_or_default();
            assert_eq!(&reply["兴仁镇:".len()..], &payload[..]);
        }
        s.finish()?;
        assert_eq!(s.recv_frame().await?, None);
        conn.close().await;
        Ok::<_, NetError>(())
    };
    tokio::time::timeout(Duration::from_secs(30), session)
        .await
        .expect("lossy session took too long")
        .expect("lossy session");
    let frames = tokio::time::timeout(WAIT, hub).await.expect("hub hung").expect("hub task").expect("hub session");
    assert_eq!(frames, 30);
}
