//! How a session fails: protocol violations, store faults, and what to tell the peer.

use thiserror::Error;

use super::frames::{version_mismatch, FrameError};
use super::messages::Message;
use crate::codec::CodecError;

/// A failure of the replica's storage, as text (the engine only reports it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct StoreFault(pub String);

#[derive(Debug, Error)]
pub enum SyncError {
    /// The other side ended the session with this message.
    #[error("{0}")]
    Remote(String),
    /// The other side broke the protocol.
    #[error("同步协议错误：{0}")]
    Protocol(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("本地数据库错误：{0}")]
    Store(#[from] StoreFault),
    #[error("编码失败：{0}")]
    Codec(#[from] CodecError),
    /// A store epoch this node left behind came back: the node's identity is in use on two
    /// machines.
    #[error("克隆身份：节点 {node} 的身份正在两台机器上使用（本机的数据纪元 {epoch:016x} 已被另一台机器取代），县级平台拒绝本机同步；本机数据保留不动，请联系县教育局核实哪台为正式节点并重新签发")]
    ClonedIdentity { node: String, epoch: u64 },
}

impl SyncError {
    /// The error frame to send the other side before ending the session (none when the other
    /// side is the one that ended it).
    pub fn to_peer(&self) -> Option<Message> {
        match self {
            SyncError::Remote(_) => None,
            SyncError::Frame(FrameError::Version { node, hub }) => Some(Message::Error(version_mismatch(*node, *hub))),
            SyncError::Store(_) => {
                Some(Message::Error("对方本地数据库出错，本次同步中止，下次同步会从断点继续".into()))
            }
            other => Some(Message::Error(other.to_string())),
        }
    }
}

pub(super) fn protocol(what: impl Into<String>) -> SyncError {
    SyncError::Protocol(what.into())
}
