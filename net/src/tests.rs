//! Transport tests that need to go below the public API: a client that presents no
//! certificate, and raw bytes written to a stream instead of frames. Real QUIC on 127.0.0.1,
//! real certificates. (The public-API tests are in `net/tests/transport.rs`.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::transport::connect_with;
use crate::*;

const WAIT: Duration = Duration::from_secs(10);

struct Hub {
    ca: CountyCa,
    server: Arc<Server>,
    addr: SocketAddr,
}

fn hub() -> Hub {
    let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
    let hub_cred = issue_hub_cert(&ca, "hub", &["127.0.0.1".into()]).expect("hub cert");
    let server =
        Server::bind("127.0.0.1:0".parse().expect("addr"), ca.cert_pem(), &hub_cred, nothing_revoked()).expect("bind");
    let addr = server.local_addr().expect("local addr");
    Hub { ca, server: Arc::new(server), addr }
}

async fn accept(server: &Server) -> Result<Peer, NetError> {
    tokio::time::timeout(WAIT, server.accept()).await.expect("accept timed out").expect("server closed")
}

/// A node connected to `hub`, and the hub's side of it.
async fn pair(hub: &Hub, name: &str) -> (Conn, Peer) {
    let cred = issue_node_cert(&hub.ca, name, "迎水桥镇").expect("node cert");
    let (conn, peer) = tokio::join!(connect(hub.addr, HUB_SERVER_NAME, hub.ca.cert_pem(), &cred), accept(&hub.server));
    (conn.expect("connect"), peer.expect("accept"))
}

/// Opens a stream and returns both ends (the hub's end appears once the node writes).
async fn streams(conn: &Conn, peer: &Peer, first: &[u8]) -> (FramedStream, FramedStream) {
    let mut node = conn.open_stream().await.expect("open");
    node.send.write_all(first).await.expect("write");
    let hub = tokio::time::timeout(WAIT, peer.accept_stream())
        .await
        .expect("accept_stream timed out")
        .expect("accept_stream")
        .expect("stream");
    (node, hub)
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let hub = hub();
    let mut roots = rustls::RootCertStore::empty();
    for der in crate::pki::all_cert_ders(hub.ca.cert_pem(), "ca").expect("ca der") {
        roots.add(der).expect("root");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls13")
        .with_root_certificates(roots)
        .with_no_client_auth();

    let (client, server) = tokio::join!(
        async {
            let conn = connect_with(hub.addr, HUB_SERVER_NAME, tls).await?;
            let mut s = conn.open_stream().await?;
            s.send_frame(b"hello").await?;
            s.recv_frame().await
        },
        accept(&hub.server)
    );
    let server_err = server.expect_err("server accepted a client without certificate");
    assert!(matches!(server_err, NetError::NoClientCert { .. }), "{server_err:?}");
    let client_err = client.expect_err("client without certificate got through");
    assert!(client_err.is_refusal(), "{client_err:?}");

    // And the hub still serves a proper node.
    let (conn, peer) = pair(&hub, "good").await;
    assert_eq!(peer.identity.name, "good");
    conn.close().await;
}

#[tokio::test]
async fn oversized_length_prefix_is_refused_without_allocating() {
    let hub = hub();
    let (conn, peer) = pair(&hub, "n1").await;
    let (mut node, mut at_hub) = streams(&conn, &peer, &u32::MAX.to_be_bytes()).await;
    node.finish().expect("finish");
    match at_hub.recv_frame().await {
        Err(NetError::Oversized { len }) => assert_eq!(len, u64::from(u32::MAX)),
        other => panic!("expected Oversized, got {other:?}"),
    }
    // One byte over the limit is already too much.
    let over = (MAX_FRAME as u32 + 1).to_be_bytes();
    let (mut node, mut at_hub) = streams(&conn, &peer, &over).await;
    node.finish().expect("finish");
    assert!(matches!(
        at_hub.recv_frame().await,
        Err(NetError::Oversized { len }) if len == MAX_FRAME as u64 + 1
    ));
    // The sender refuses to send one in the first place.
    let mut s = conn.open_stream().await.expect("open");
    let big = vec![0u8; MAX_FRAME + 1];
    assert!(matches!(
        s.send_frame(&big).await,
        Err(NetError::Oversized { len }) if len == MAX_FRAME as u64 + 1
    ));
    conn.close().await;
}

#[tokio::test]
async fn truncated_frames_are_errors_and_clean_finish_is_none() {
    let hub = hub();
    let (conn, peer) = pair(&hub, "n1").await;

    // Payload cut short.
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[7u8; 10]);
    let (mut node, mut at_hub) = streams(&conn, &peer, &bytes).await;
    node.finish().expect("finish");
    match at_hub.recv_frame().await {
        Err(NetError::Truncated { expected, got }) => assert_eq!((expected, got), (100, 10)),
        other => panic!("expected Truncated, got {other:?}"),
    }

    // Length prefix cut short.
    let (mut node, mut at_hub) = streams(&conn, &peer, &[0, 0]).await;
    node.finish().expect("finish");
    assert!(matches!(at_hub.recv_frame().await, Err(NetError::Truncated { expected: 4, got: 2 })));

    // An empty frame is a frame, and a finish after whole frames is a clean end.
    let (mut node, mut at_hub) = streams(&conn, &peer, &0u32.to_be_bytes()).await;
    node.send_frame(b"x").await.expect("send");
    node.finish().expect("finish");
    assert_eq!(at_hub.recv_frame().await.expect("empty"), Some(Vec::new()));
    assert_eq!(at_hub.recv_frame().await.expect("x"), Some(b"x".to_vec()));
    assert_eq!(at_hub.recv_frame().await.expect("end"), None);
    conn.close().await;
}

#[tokio::test]
async fn random_bytes_on_streams_and_sockets_do_not_hurt_the_server() {
    let hub = hub();
    let (conn, peer) = pair(&hub, "fuzzer").await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xba0e);

    // Garbage on streams: every outcome is a value, never a panic or a hang.
    for _ in 0..40 {
        let len = rng.gen_range(1..600);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if rng.gen_bool(0.5) {
            // Make the length plausible sometimes, so payload paths run too.
            let claimed = rng.gen_range(0..(len as u32 * 2));
            bytes[..4.min(len)].copy_from_slice(&claimed.to_be_bytes()[..4.min(len)]);
        }
        let (mut node, mut at_hub) = streams(&conn, &peer, &bytes).await;
        node.finish().expect("finish");
        for _ in 0..1000 {
            match tokio::time::timeout(WAIT, at_hub.recv_frame()).await.expect("recv_frame hung on garbage") {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    }

    // Garbage UDP datagrams at the server socket.
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    for _ in 0..200 {
        let len = rng.gen_range(1..1500);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        junk.send_to(&bytes, hub.addr).await.expect("send junk");
    }

    // The existing session still works, and so does a new one.
    let (mut node, mut at_hub) = streams(&conn, &peer, &3u32.to_be_bytes()).await;
    node.send.write_all(b"abc").await.expect("write");
    assert_eq!(at_hub.recv_frame().await.expect("frame"), Some(b"abc".to_vec()));
    at_hub.send_frame(b"ok").await.expect("reply");
    assert_eq!(node.recv_frame().await.expect("reply"), Some(b"ok".to_vec()));
    let (conn2, peer2) = pair(&hub, "after-fuzz").await;
    assert_eq!(peer2.identity.name, "after-fuzz");
    conn2.close().await;
    conn.close().await;
}
