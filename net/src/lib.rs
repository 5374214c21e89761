//! `baoxue-net`: the only crate that knows quinn, rustls and rcgen.
//!
//! Township nodes sync with the county hub over QUIC, authenticated both ways with
//! certificates from a per-county CA. Everything above this crate (the sync session, the hub
//! and node binaries) sees only certificates as PEM text, a verified [`NodeIdentity`], and
//! streams of frames; swapping the transport would touch this crate alone.
//!
//! # Layout
//!
//! - [`pki`]: the county CA ([`CountyCa`]), issuing the hub's server certificate and each
//!   node's client certificate, reading a node's identity back out of a verified certificate
//!   ([`peer_identity`]), and PEM text and file helpers for the hub's data directory and node
//!   bundles.
//! - [`transport`]: QUIC with mutual TLS 1.3 on the *ring* provider. The hub's [`Server`]
//!   yields authenticated [`Peer`]s (refusing foreign, missing and revoked certificates
//!   without stopping); a node [`connect`]s and gets a [`Conn`].
//! - [`frame`]: [`FramedStream`], length-prefixed frames (at most [`MAX_FRAME`]) over one
//!   bidirectional stream.
//! - [`lan`]: HTTPS for the web apps on a school LAN: a node-local CA (name-constrained to
//!   private addresses), its server certificates, and [`lan::HttpsAcceptor`].
//! - [`error`]: [`NetError`], Chinese-first messages naming what failed and where.
//!
//! # Invariants
//!
//! - A node's identity comes only from the certificate its connection was verified with;
//!   nothing a node sends can change who the hub thinks it is.
//! - No network or file input is unwrapped: every failure is a [`NetError`].

pub mod error;
pub mod frame;
pub mod lan;
pub mod pki;
pub mod transport;

#[cfg(test)]
mod tests;

pub use error::NetError;
pub use frame::{FramedStream, MAX_FRAME};
pub use pki::{
    ca_county_code, cert_expiry, issue_hub_cert, issue_node_cert, peer_identity, pem_blocks, read_pem_files,
    write_file_atomic, write_pem_files, CountyCa, Credentials, NodeIdentity, PemBlock, PemPaths, HUB_SERVER_NAME,
    LEAF_VALIDITY_DAYS,
};
pub use transport::{
    close_code, connect, nothing_revoked, revoked_names, Conn, Peer, RevocationCheck, Server, ALPN, CONNECT_TIMEOUT,
    HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, KEEP_ALIVE,
};
