//! QUIC with mutual TLS 1.3 between the township nodes and the county hub.
//!
//! Why QUIC: township links are slow and lossy (mobile data, old ADSL). QUIC retransmits
//! per packet with its own loss recovery, survives the node's address changing mid-sync, and
//! brings TLS 1.3 with it. Why mutual TLS: the hub must know which node it talks to before it
//! reads anything, so the node's identity comes from its certificate, verified against the
//! county CA during the handshake — never from what the node says afterwards.
//!
//! # Invariants
//!
//! - The crypto provider is always *ring*, passed explicitly to every rustls builder; nothing
//!   here depends on a process-wide default provider being installed (or not).
//! - TLS 1.3 only, ALPN [`ALPN`], no session resumption and no 0-RTT: every connection is a full
//!   handshake in which the client certificate is verified again. One more round trip on a
//!   nightly sync is cheap; replayable early data and identities carried over in tickets are not.
//! - A refused connection never stops the server: the handshake runs in its own task, its
//!   failure is logged (`warn!`, naming the node when the certificate names one) and returned
//!   from [`Server::accept`] as an `Err`, and the next call accepts the next node.
//! - Revocation is checked by node name after the handshake, on the verified identity; a
//!   revoked node's connection is closed with [`close_code::REVOKED`] and reason `revoked`.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ConnectionError, Endpoint, TransportConfig, VarInt};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{AlertDescription, CertificateError, DigitallySignedStruct, RootCertStore};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::error::NetError;
use crate::frame::FramedStream;
use crate::pki::{self, Credentials, NodeIdentity};

/// The application protocol both sides must speak; a client without it is refused in the
/// handshake, before any certificate matters.
pub const ALPN: &[u8] = b"baoxue/1";
/// How long a node waits for the handshake with the hub. On a link losing 10% of its packets
/// the handshake still completes in a second or two (lost packets are retransmitted after the
/// probe timeout); ten seconds means "unreachable", not "slow".
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the hub lets one handshake run before giving up on it.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// A connection with no packets for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Pings are sent this often when nothing else is, so that a long pause on one side (the hub
/// computing, a node writing a large batch to disk) never reaches [`IDLE_TIMEOUT`], and so that
/// NAT mappings on township routers stay open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Application close codes (QUIC `CONNECTION_CLOSE` with an application error code).
pub mod close_code {
    /// Normal end of a session.
    pub const DONE: u32 = 0;
    /// The hub refuses this node: revoked (`baoxue-hub node revoke`). Reason `revoked`.
    pub const REVOKED: u32 = 1;
    /// The verified certificate carries no usable node identity, or the wrong county.
    pub const NO_IDENTITY: u32 = 2;
    /// The hub is shutting down.
    pub const SHUTDOWN: u32 = 3;
    /// The other side broke the protocol (bad frame, unexpected message).
    pub const PROTOCOL: u32 = 4;
}

/// Answers "is this node revoked?" by node name. Called once per connection, after the
/// handshake, so the hub can revoke a node while serving and the next connection sees it.
pub type RevocationCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A [`RevocationCheck`] reading a shared set of revoked node names.
pub fn revoked_names(set: Arc<RwLock<HashSet<String>>>) -> RevocationCheck {
    Arc::new(move |name: &str| match set.read() {
        Ok(names) => names.contains(name),
        // A writer panicked; the set itself is still whole, and refusing to consult it would
        // let revoked nodes in.
        Err(poisoned) => poisoned.into_inner().contains(name),
    })
}

/// A [`RevocationCheck`] that revokes nothing.
pub fn nothing_revoked() -> RevocationCheck {
    Arc::new(|_: &str| false)
}

/// The *ring* provider, always passed explicitly (see the module invariants).
fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn transport_config() -> Arc<TransportConfig> {
    let mut t = TransportConfig::default();
    // IDLE_TIMEOUT in milliseconds fits a VarInt, so this conversion cannot fail.
    t.max_idle_timeout(Some(VarInt::from_u32(IDLE_TIMEOUT.as_millis() as u32).into()));
    t.keep_alive_interval(Some(KEEP_ALIVE));
    // The protocol uses bidirectional streams only.
    t.max_concurrent_uni_streams(VarInt::from_u32(0));
    Arc::new(t)
}

fn tls_error(what: &'static str) -> impl Fn(rustls::Error) -> NetError {
    move |e| NetError::Tls { what, reason: e.to_string() }
}

fn root_store(ca_pem: &str) -> Result<RootCertStore, NetError> {
    let mut roots = RootCertStore::empty();
    for der in pki::all_cert_ders(ca_pem, "县 CA 证书")? {
        roots.add(der).map_err(tls_error("县 CA 证书"))?;
    }
    Ok(roots)
}

// ---- server (hub) -----------------------------------------------------------------------------

/// The hub's listening endpoint.
pub struct Server {
    endpoint: Endpoint,
    ctx: Arc<ServerCtx>,
    /// Handshakes in progress, each in its own task, so one slow node on a bad link never
    /// delays the others.
    pending: tokio::sync::Mutex<JoinSet<Result<Peer, NetError>>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.endpoint.local_addr().ok())
            .field("county_code", &self.ctx.county_code)
            .finish()
    }
}

/// What every handshake of one server shares.
struct ServerCtx {
    base: quinn::ServerConfig,
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ClientCertVerifier>,
    cert_key: Arc<CertifiedKey>,
    county_code: String,
    revoked: RevocationCheck,
}

/// Why the client verifier refused a certificate, recorded for the one connection it served.
struct Rejection {
    claimed: Option<String>,
    error: rustls::Error,
}

type RejectionSlot = Arc<Mutex<Option<Rejection>>>;

impl ServerCtx {
    /// A server config for one connection, whose verifier records why it refused a certificate
    /// into `slot`. Per connection, because rustls reports a refused client certificate to
    /// quinn only as a TLS alert code; the slot keeps the full reason and the name the
    /// certificate claims, for the log and the error.
    fn config_for(&self, slot: RejectionSlot) -> Result<quinn::ServerConfig, NetError> {
        let mut config = self.base.clone();
        config.crypto = Arc::new(server_crypto(&self.provider, &self.verifier, &self.cert_key, slot)?);
        Ok(config)
    }
}

fn server_crypto(
    provider: &Arc<CryptoProvider>,
    verifier: &Arc<dyn ClientCertVerifier>,
    cert_key: &Arc<CertifiedKey>,
    slot: RejectionSlot,
) -> Result<QuicServerConfig, NetError> {
    let verifier = Arc::new(RecordingVerifier { inner: verifier.clone(), slot });
    let mut tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("TLS 版本"))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(cert_key.clone())));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.session_storage = Arc::new(NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    tls.max_early_data_size = 0;
    QuicServerConfig::try_from(tls).map_err(|e| NetError::Tls { what: "QUIC 服务端", reason: e.to_string() })
}

impl Server {
    /// Listens on `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    ///
    /// `ca_pem` is the county CA certificate: the only issuer whose client certificates are
    /// accepted. `hub_cred` is the hub's own certificate and key, issued by that CA. Must be
    /// called inside a tokio runtime.
    pub fn bind(
        addr: SocketAddr,
        ca_pem: &str,
        hub_cred: &Credentials,
        revoked: RevocationCheck,
    ) -> Result<Server, NetError> {
        let provider = crypto_provider();
        let county_code = pki::ca_county_code(ca_pem)?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(ca_pem)?), provider.clone())
            .build()
            .map_err(|e| NetError::Tls { what: "客户端证书校验", reason: e.to_string() })?;
        let chain = pki::all_cert_ders(&hub_cred.cert_pem, "县级平台证书")?;
        let cert_key = Arc::new(
            CertifiedKey::from_der(chain, hub_cred.key_der()?, &provider).map_err(tls_error("县级平台证书与私钥"))?,
        );
        // The endpoint's own config is only a template: each connection gets a copy with its
        // own recording verifier (see `ServerCtx::config_for`).
        let unused_slot = Arc::new(Mutex::new(None));
        let mut base =
            quinn::ServerConfig::with_crypto(Arc::new(server_crypto(&provider, &verifier, &cert_key, unused_slot)?));
        base.transport_config(transport_config());
        let ctx = ServerCtx { base, provider, verifier, cert_key, county_code, revoked };
        let endpoint = Endpoint::server(ctx.base.clone(), addr).map_err(|error| NetError::Bind { addr, error })?;
        Ok(Server { endpoint, ctx: Arc::new(ctx), pending: tokio::sync::Mutex::new(JoinSet::new()) })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        self.endpoint
            .local_addr()
            .map_err(|error| NetError::Bind { addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), error })
    }

    /// The next node whose handshake finished: `Some(Ok(peer))` for an authenticated node,
    /// `Some(Err(_))` for a refused one (already logged; keep accepting), `None` once the
    /// server is closed.
    ///
    /// Handshakes run concurrently in the background; this returns whichever completes first.
    /// Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&self) -> Option<Result<Peer, NetError>> {
        let mut pending = self.pending.lock().await;
        loop {
            tokio::select! {
                Some(joined) = pending.join_next() => {
                    return Some(joined.unwrap_or_else(|e| Err(NetError::Handshake {
                        remote: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
                        reason: format!("握手任务异常结束：{e}"),
                    })));
                }
                incoming = self.endpoint.accept() => {
                    let incoming = incoming?;
                    pending.spawn(authenticate(self.ctx.clone(), incoming));
                }
            }
        }
    }

    /// Stops accepting and closes every connection with [`close_code::SHUTDOWN`].
    pub fn close(&self) {
        self.endpoint.close(VarInt::from_u32(close_code::SHUTDOWN), b"shutdown");
    }

    /// Waits until every connection is closed and its last packets are sent.
    pub async fn wait_idle(&self) {
        self.endpoint.wait_idle().await;
    }
}

/// The verifier of one connection: rustls' WebPKI verifier against the county CA, plus a note
/// of why it refused.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    slot: RejectionSlot,
}

impl std::fmt::Debug for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.claimed, self.error)
    }
}

impl RecordingVerifier {
    fn record<T>(&self, cert: &CertificateDer<'_>, result: Result<T, rustls::Error>) -> Result<T, rustls::Error> {
        if let Err(error) = &result {
            let rejection = Rejection { claimed: pki::claimed_name(cert.as_ref()), error: error.clone() };
            match self.slot.lock() {
                Ok(mut slot) => *slot = Some(rejection),
                Err(poisoned) => *poisoned.into_inner() = Some(rejection),
            }
        }
        result
    }
}

impl ClientCertVerifier for RecordingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let result = self.inner.verify_client_cert(end_entity, intermediates, now);
        self.record(end_entity, result)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = self.inner.verify_tls12_signature(message, cert, dss);
        self.record(cert, result)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = self.inner.verify_tls13_signature(message, cert, dss);
        self.record(cert, result)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// One connection from handshake to verified, unrevoked identity. Every refusal is logged here.
async fn authenticate(ctx: Arc<ServerCtx>, incoming: quinn::Incoming) -> Result<Peer, NetError> {
    let remote = incoming.remote_address();
    let result = handshake(&ctx, incoming, remote).await;
    match &result {
        Ok(peer) => info!(
            node = %peer.identity.name,
            township = %peer.identity.township,
            %remote,
            "节点已通过认证"
        ),
        Err(e) => {
            let node = match e {
                NetError::Revoked { name, .. } => Some(name.as_str()),
                NetError::ForeignCert { claimed, .. } | NetError::CertRejected { claimed, .. } => claimed.as_deref(),
                _ => None,
            };
            warn!(node = node.unwrap_or("未知"), %remote, reason = %e, "拒绝连接");
        }
    }
    result
}

async fn handshake(ctx: &ServerCtx, incoming: quinn::Incoming, remote: SocketAddr) -> Result<Peer, NetError> {
    let slot: RejectionSlot = Arc::new(Mutex::new(None));
    let config = match ctx.config_for(slot.clone()) {
        Ok(c) => c,
        Err(e) => {
            incoming.refuse();
            return Err(e);
        }
    };
    let connecting = incoming
        .accept_with(Arc::new(config))
        .map_err(|e| NetError::Handshake { remote, reason: connection_error_text(&e) })?;
    let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
        Err(_) => {
            return Err(NetError::Handshake {
                remote,
                reason: format!("{} 秒内未完成握手", HANDSHAKE_TIMEOUT.as_secs()),
            })
        }
        Ok(Err(e)) => {
            let rejection = match slot.lock() {
                Ok(mut s) => s.take(),
                Err(poisoned) => poisoned.into_inner().take(),
            };
            return Err(classify_handshake_error(remote, &e, rejection));
        }
        Ok(Ok(conn)) => conn,
    };

    let identity = match verified_identity(&conn) {
        Ok(id) => id,
        Err((claimed, detail)) => {
            conn.close(VarInt::from_u32(close_code::NO_IDENTITY), b"no node identity");
            return Err(NetError::CertRejected { remote, claimed, detail });
        }
    };
    if identity.county_code != ctx.county_code {
        conn.close(VarInt::from_u32(close_code::NO_IDENTITY), b"wrong county");
        return Err(NetError::ForeignCert {
            remote,
            claimed: Some(identity.name),
            detail: format!("证书写的是县代码 {}，本平台是 {}", identity.county_code, ctx.county_code),
        });
    }
    if (ctx.revoked)(&identity.name) {
        conn.close(VarInt::from_u32(close_code::REVOKED), b"revoked");
        return Err(NetError::Revoked { name: identity.name, remote });
    }
    Ok(Peer { identity, conn, remote })
}

/// The identity in the certificate rustls verified for this connection. On failure: the name
/// the certificate claims (if any) and why it is unusable.
fn verified_identity(conn: &quinn::Connection) -> Result<NodeIdentity, (Option<String>, String)> {
    let certs = conn
        .peer_identity()
        .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
        .ok_or((None, "握手完成但没有对方证书".to_string()))?;
    let leaf = certs.first().ok_or((None, "握手完成但对方证书链为空".to_string()))?;
    pki::peer_identity(leaf.as_ref()).map_err(|e| (pki::claimed_name(leaf.as_ref()), e.to_string()))
}

fn classify_handshake_error(remote: SocketAddr, e: &ConnectionError, rejection: Option<Rejection>) -> NetError {
    if let Some(Rejection { claimed, error }) = rejection {
        let detail = cert_error_text(&error);
        return match error {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                NetError::ForeignCert { remote, claimed, detail: String::new() }
            }
            _ => NetError::CertRejected { remote, claimed, detail },
        };
    }
    if let ConnectionError::TransportError(te) = e {
        if tls_alert(u64::from(te.code)) == Some(AlertDescription::CertificateRequired) {
            return NetError::NoClientCert { remote };
        }
    }
    NetError::Handshake { remote, reason: connection_error_text(e) }
}

/// QUIC carries TLS alerts as transport error codes 0x100 + alert.
fn tls_alert(code: u64) -> Option<AlertDescription> {
    (0x100..=0x1ff).contains(&code).then(|| AlertDescription::from((code - 0x100) as u8))
}

fn cert_error_text(e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "签发者不是本县 CA".into(),
            C::Expired | C::ExpiredContext { .. } => "证书已过期".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "证书尚未生效（请检查电脑时钟）".into(),
            C::Revoked => "证书已吊销".into(),
            C::BadSignature => "证书签名无效".into(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => "证书用途不符（不是节点证书）".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => "证书不含所连接的服务器名称".into(),
            C::BadEncoding => "证书编码错误".into(),
            other => format!("证书无效：{other}"),
        },
        rustls::Error::NoCertificatesPresented => "对方没有出示证书".into(),
        other => other.to_string(),
    }
}

fn alert_text(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::UnknownCA => "本方证书不是对方信任的 CA 签发（不属于本县）".into(),
        AlertDescription::CertificateRequired => "对方要求出示证书".into(),
        AlertDescription::BadCertificate => "对方认为本方证书无效".into(),
        AlertDescription::CertificateExpired => "本方证书已过期或尚未生效（请检查电脑时钟）".into(),
        AlertDescription::CertificateRevoked => "本方证书已被吊销".into(),
        AlertDescription::UnsupportedCertificate => "本方证书用途不符".into(),
        AlertDescription::CertificateUnknown => "对方不认可本方证书".into(),
        AlertDescription::NoApplicationProtocol => "协议不匹配（ALPN 不是 baoxue/1）".into(),
        AlertDescription::DecryptError => "本方证书签名无效".into(),
        other => format!("TLS 握手被对方中止（{other:?}）"),
    }
}

/// A connection error as the [`NetError`] a caller should see. Public to the crate so framing
/// errors map the same way.
pub(crate) fn describe_connection_error(e: &ConnectionError) -> NetError {
    match e {
        ConnectionError::ApplicationClosed(c) => {
            let code = c.error_code.into_inner();
            let reason = String::from_utf8_lossy(&c.reason);
            match u32::try_from(code) {
                Ok(close_code::REVOKED) => {
                    NetError::Refused { reason: "本节点的证书已被县级平台吊销".into() }
                }
                Ok(close_code::NO_IDENTITY) => {
                    NetError::Refused { reason: format!("证书中没有可用的节点身份（{reason}）") }
                }
                Ok(close_code::DONE) => NetError::ConnectionLost { reason: "对方已结束会话".into() },
                Ok(close_code::SHUTDOWN) => NetError::ConnectionLost { reason: "对方正在关闭服务".into() },
                _ => {
                    NetError::ConnectionLost { reason: format!("对方关闭了连接（代码 {code}：{reason}）") }
                }
            }
        }
        ConnectionError::ConnectionClosed(c) => match tls_alert(u64::from(c.error_code)) {
            Some(alert) => NetError::Refused { reason: alert_text(alert) },
            None => NetError::ConnectionLost { reason: format!("对方中止了连接：{c}") },
        },
        other => NetError::ConnectionLost { reason: connection_error_text(other) },
    }
}

fn connection_error_text(e: &ConnectionError) -> String {
    match e {
        ConnectionError::TimedOut => "对方长时间无响应（超时）".into(),
        ConnectionError::Reset => "对方重置了连接（可能刚重启）".into(),
        ConnectionError::LocallyClosed => "连接已在本方关闭".into(),
        ConnectionError::VersionMismatch => "对方不支持本方的 QUIC 版本".into(),
        ConnectionError::TransportError(te) => match tls_alert(u64::from(te.code)) {
            // A TLS failure detected on this side: `reason` is rustls' own description.
            Some(_) => format!("TLS 握手失败：{}", te.reason),
            None => format!("QUIC 协议错误：{te}"),
        },
        ConnectionError::ConnectionClosed(c) => match tls_alert(u64::from(c.error_code)) {
            Some(alert) => alert_text(alert),
            None => format!("对方中止了连接：{c}"),
        },
        ConnectionError::ApplicationClosed(c) => format!("对方关闭了连接：{c}"),
        other => other.to_string(),
    }
}

/// An authenticated node connection, as the hub sees it.
#[derive(Debug)]
pub struct Peer {
    /// Taken from the client certificate verified in this connection's handshake.
    pub identity: NodeIdentity,
    conn: quinn::Connection,
    remote: SocketAddr,
}

impl Peer {
    /// The next stream the node opens; `None` once the node ended the session normally
    /// ([`Conn::close`]).
    pub async fn accept_stream(&self) -> Result<Option<FramedStream>, NetError> {
        match self.conn.accept_bi().await {
            Ok((send, recv)) => Ok(Some(FramedStream::new(send, recv))),
            Err(ConnectionError::ApplicationClosed(c)) if c.error_code == VarInt::from_u32(close_code::DONE) => {
                Ok(None)
            }
            Err(ConnectionError::LocallyClosed) => Ok(None),
            Err(e) => Err(describe_connection_error(&e)),
        }
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Ends the session normally.
    pub fn close(&self) {
        self.conn.close(VarInt::from_u32(close_code::DONE), b"done");
    }

    /// Ends the session because the node broke the protocol; `reason` is sent to the node
    /// (keep it short, it goes into one packet).
    pub fn abort(&self, reason: &str) {
        debug!(node = %self.identity.name, reason, "中止会话");
        self.conn.close(VarInt::from_u32(close_code::PROTOCOL), reason.as_bytes());
    }
}

// ---- client (node) ----------------------------------------------------------------------------

/// A node's connection to the hub.
#[derive(Debug)]
pub struct Conn {
    endpoint: Endpoint,
    conn: quinn::Connection,
    hub: SocketAddr,
}

/// Connects to the hub at `hub_addr` with mutual TLS.
///
/// `server_name` must be in the hub certificate ([`crate::HUB_SERVER_NAME`] always is);
/// `ca_pem` is the county CA certificate, the only issuer the hub's certificate is accepted
/// from; `node_cred` is this node's certificate and key.
///
/// The hub checks the node's certificate and revocation only after the node's side of the
/// handshake is complete, so a refusal may show up here or on the first stream operation; in
/// both cases the error's [`NetError::is_refusal`] is true.
pub async fn connect(
    hub_addr: SocketAddr,
    server_name: &str,
    ca_pem: &str,
    node_cred: &Credentials,
) -> Result<Conn, NetError> {
    let chain = pki::all_cert_ders(&node_cred.cert_pem, "节点证书")?;
    let key = node_cred.key_der()?;
    let tls = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("TLS 版本"))?
        .with_root_certificates(root_store(ca_pem)?)
        .with_client_auth_cert(chain, key)
        .map_err(tls_error("节点证书与私钥"))?;
    connect_with(hub_addr, server_name, tls).await
}

/// [`connect`] with a prepared rustls config (ALPN, resumption and transport settings are
/// applied here). Lets the tests build clients that `connect` would never build.
pub(crate) async fn connect_with(
    hub_addr: SocketAddr,
    server_name: &str,
    mut tls: rustls::ClientConfig,
) -> Result<Conn, NetError> {
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.resumption = Resumption::disabled();
    tls.enable_early_data = false;
    let quic =
        QuicClientConfig::try_from(tls).map_err(|e| NetError::Tls { what: "QUIC 客户端", reason: e.to_string() })?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport_config());

    let bind: SocketAddr =
        if hub_addr.is_ipv6() { (Ipv6Addr::UNSPECIFIED, 0).into() } else { (Ipv4Addr::UNSPECIFIED, 0).into() };
    let endpoint = Endpoint::client(bind).map_err(|error| NetError::Bind { addr: bind, error })?;
    let connecting = endpoint.connect_with(config, hub_addr, server_name).map_err(|e| NetError::Connect {
        addr: hub_addr,
        cause: Box::new(NetError::Tls { what: "连接参数", reason: e.to_string() }),
    })?;
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => {
            endpoint.close(VarInt::from_u32(close_code::DONE), b"timeout");
            Err(NetError::ConnectTimeout { addr: hub_addr, secs: CONNECT_TIMEOUT.as_secs() })
        }
        Ok(Err(e)) => Err(NetError::Connect {
            addr: hub_addr,
            cause: Box::new(match &e {
                // Our own TLS stack refused the hub (wrong CA, wrong name).
                ConnectionError::TransportError(te) if tls_alert(u64::from(te.code)).is_some() => {
                    NetError::HubCertRejected { reason: hub_cert_text(&te.reason) }
                }
                _ => describe_connection_error(&e),
            }),
        }),
        Ok(Ok(conn)) => {
            debug!(hub = %hub_addr, "已连接县级平台");
            Ok(Conn { endpoint, conn, hub: hub_addr })
        }
    }
}

/// rustls describes a refused server certificate in English; say what it means for a node.
fn hub_cert_text(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        format!("不是本县 CA 签发，可能连到了别的县或被冒充（{reason}）")
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        format!("证书不含所用的服务器名称（{reason}）")
    } else if lower.contains("expired") || lower.contains("not valid yet") || lower.contains("notvalidyet") {
        format!("证书已过期或尚未生效，请检查电脑时钟（{reason}）")
    } else {
        reason.to_string()
    }
}

impl Conn {
    /// A new stream to the hub. Nothing is sent until the first frame.
    pub async fn open_stream(&self) -> Result<FramedStream, NetError> {
        let (send, recv) = self.conn.open_bi().await.map_err(|e| describe_connection_error(&e))?;
        Ok(FramedStream::new(send, recv))
    }

    pub fn hub_addr(&self) -> SocketAddr {
        self.hub
    }

    /// Ends the session normally and waits (at most 3 seconds) for the close to reach the hub.
    /// Call it after the last reply was received: closing discards data still in flight.
    pub async fn close(self) {
        self.conn.close(VarInt::from_u32(close_code::DONE), b"done");
        let _ = tokio::time::timeout(Duration::from_secs(3), self.endpoint.wait_idle()).await;
    }
}
