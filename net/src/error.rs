//! The one error type of this crate.
//!
//! Messages are Chinese first because they end up in front of county and township staff (the
//! binaries print them as the one line on stderr). Each variant carries what failed and where:
//! the file, the node, the remote address, the frame length. The cause is folded into the
//! message rather than exposed as `source()`, so that a message printed alone or with its whole
//! chain reads the same and never repeats itself.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::frame::MAX_FRAME;

/// Everything that can go wrong in the PKI, the QUIC transport or the framing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    // ---- PKI -------------------------------------------------------------------------------
    /// A name that goes into a certificate is unusable (empty, too long, control characters).
    #[error("{what}“{value}”无效：{reason}")]
    BadName { what: &'static str, value: String, reason: &'static str },
    /// rcgen refused to build or sign a certificate.
    #[error("生成{what}失败：{error}")]
    CertGen { what: String, error: rcgen::Error },
    /// PEM text that should hold a certificate or a key does not.
    #[error("{what}的 PEM 内容无效：{reason}")]
    Pem { what: String, reason: String },
    /// A certificate that is well-formed PEM but not a usable certificate of ours.
    #[error("{what}无法使用：{reason}")]
    BadCert { what: String, reason: String },
    /// A verified certificate that does not carry a node identity (`baoxue://node/…`).
    #[error("证书中没有节点身份：{reason}")]
    NoIdentity { reason: String },
    /// Reading or writing a PEM or bundle file.
    #[error("读写文件 {path} 失败：{error}")]
    Io { path: PathBuf, error: std::io::Error },

    // ---- refusals seen by the hub (server side) --------------------------------------------
    /// The client certificate does not chain to this county's CA.
    #[error("证书不属于本县（颁发者不是本县 CA）{}{}（来自 {remote}）", claimed_suffix(.claimed), detail_suffix(.detail))]
    ForeignCert {
        remote: SocketAddr,
        /// The name the certificate claims. Not verified: for the log only.
        claimed: Option<String>,
        /// More about the refusal; empty when the headline says it all.
        detail: String,
    },
    /// The client presented no certificate at all.
    #[error("对方没有出示客户端证书（来自 {remote}）")]
    NoClientCert { remote: SocketAddr },
    /// The client certificate is from this county but unusable (expired, wrong usage, bad
    /// signature …).
    #[error("客户端证书被拒绝{}{}（来自 {remote}）", claimed_suffix(.claimed), detail_suffix(.detail))]
    CertRejected { remote: SocketAddr, claimed: Option<String>, detail: String },
    /// The node was revoked by the hub (`baoxue-hub node revoke`).
    #[error("节点 {name} 的证书已吊销（来自 {remote}）")]
    Revoked { name: String, remote: SocketAddr },
    /// Any other handshake failure on the hub side (timeout, protocol mismatch, …).
    #[error("与 {remote} 的 TLS 握手失败：{reason}")]
    Handshake { remote: SocketAddr, reason: String },

    // ---- client side ------------------------------------------------------------------------
    /// The local UDP socket could not be bound.
    #[error("绑定 UDP 地址 {addr} 失败：{error}")]
    Bind { addr: SocketAddr, error: std::io::Error },
    /// Connecting to the hub failed; `cause` says why (refused, unreachable, bad hub cert …).
    #[error("连接县级平台 {addr} 失败：{cause}")]
    Connect { addr: SocketAddr, cause: Box<NetError> },
    /// The handshake with the hub did not finish in time.
    #[error("连接县级平台 {addr} 超时：{secs} 秒内未完成握手（网络不通或丢包严重）")]
    ConnectTimeout { addr: SocketAddr, secs: u64 },
    /// The node refused the hub's certificate: not from this county's CA, not for the name
    /// dialled, or outside its validity (often a wrong clock on the node's computer).
    #[error("县级平台的证书无法验证：{reason}")]
    HubCertRejected { reason: String },
    /// The other side refused us: a TLS alert, or the hub closing the connection because the
    /// node is revoked.
    #[error("对方拒绝了连接：{reason}")]
    Refused { reason: String },
    /// The connection ended (timeout, reset, closed by the other side) while in use.
    #[error("连接已断开：{reason}")]
    ConnectionLost { reason: String },
    /// The TLS configuration could not be built from the given certificates.
    #[error("TLS 配置错误（{what}）：{reason}")]
    Tls { what: &'static str, reason: String },

    // ---- framing ----------------------------------------------------------------------------
    /// A frame longer than [`MAX_FRAME`]: refused before any allocation.
    #[error("帧过大：{len} 字节，上限 {} 字节", MAX_FRAME)]
    Oversized { len: u64 },
    /// The stream ended in the middle of a frame.
    #[error("帧被截断：应有 {expected} 字节，只收到 {got} 字节")]
    Truncated { expected: usize, got: usize },
    /// The other side abandoned the stream.
    #[error("数据流被对方中止（代码 {code}）")]
    StreamReset { code: u64 },
    /// Writing to a stream failed for a reason other than the connection ending.
    #[error("写入数据流失败：{reason}")]
    Stream { reason: String },
}

fn claimed_suffix(claimed: &Option<String>) -> String {
    match claimed {
        Some(name) => format!("，证书自称“{name}”"),
        None => String::new(),
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!("：{detail}")
    }
}

impl NetError {
    /// True when the other side deliberately refused us (as opposed to a network failure): a
    /// node should then stop retrying and tell the operator, rather than back off and retry.
    pub fn is_refusal(&self) -> bool {
        match self {
            NetError::Refused { .. }
            | NetError::ForeignCert { .. }
            | NetError::NoClientCert { .. }
            | NetError::CertRejected { .. }
            | NetError::Revoked { .. } => true,
            NetError::Connect { cause, .. } => cause.is_refusal(),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> NetError {
        NetError::Io { path: path.into(), error }
    }

    pub(crate) fn gen(what: impl Into<String>, error: rcgen::Error) -> NetError {
        NetError::CertGen { what: what.into(), error }
    }
}

// Binaries wrap these in `anyhow::Error` and move them across tasks.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<NetError>();
};
