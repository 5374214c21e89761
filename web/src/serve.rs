//! Serving a front end: plain HTTP on a loopback address, or HTTPS (certificates and the TLS
//! handshake from `baoxue_net::lan`). Handshakes run in their own tasks, so a slow or silent
//! client never holds up the others.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use baoxue_net::lan::{HttpsAcceptor, HttpsStream};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// TLS connections, handshaken, as an axum listener.
pub struct TlsListener {
    rx: mpsc::Receiver<(HttpsStream, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: HttpsAcceptor) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("HTTPS 接受连接失败：{e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream)).await;
                    match hs {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS 握手失败（{peer}）：{e}"),
                        Err(_) => tracing::debug!("TLS 握手超时（{peer}）"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = HttpsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The client's address of a request (`ConnectInfo<ClientAddr>`), over HTTP or HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for ClientAddr {
    fn connect_info(s: axum::serve::IncomingStream<'_, TcpListener>) -> ClientAddr {
        ClientAddr(*s.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for ClientAddr {
    fn connect_info(s: axum::serve::IncomingStream<'_, TlsListener>) -> ClientAddr {
        ClientAddr(*s.remote_addr())
    }
}

/// Serves `router` until `shutdown` completes; over HTTPS when `tls` is given. Each request
/// knows its client's address (`ConnectInfo<ClientAddr>`).
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<HttpsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => {
            let svc = router.into_make_service_with_connect_info::<ClientAddr>();
            axum::serve(listener, svc).with_graceful_shutdown(shutdown).await
        }
        Some(acceptor) => {
            let l = TlsListener::new(listener, acceptor)?;
            let svc = router.into_make_service_with_connect_info::<ClientAddr>();
            axum::serve(l, svc).with_graceful_shutdown(shutdown).await
        }
    }
}
