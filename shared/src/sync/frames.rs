//! Frames on the wire: a protocol version, then one message or a plain-text error a peer of any
//! version can read.

use thiserror::Error;

use super::messages::Message;
use super::{ERROR_TAG, MAX_ERROR_CHARS, PROTO_VERSION};
use crate::codec::{self, CodecError};

/// Which side is decoding (for the wording of a version mismatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Node,
    Hub,
}

#[derive(Debug, Error)]
pub enum FrameError {
    #[error("帧太短（{0} 字节），不是同步协议的帧")]
    TooShort(usize),
    #[error("{}", version_mismatch(*.node, *.hub))]
    Version { node: u16, hub: u16 },
    #[error("帧内容无法解码：{0}")]
    Codec(#[from] CodecError),
}

/// The message both sides show when their protocol versions differ.
pub fn version_mismatch(node: u16, hub: u16) -> String {
    format!("协议版本不一致：节点 v{node}，平台 v{hub}，请升级")
}

/// The bytes of one frame: protocol version, then the message (or an error frame).
pub fn encode_frame(msg: &Message) -> Result<Vec<u8>, CodecError> {
    if let Message::Error(text) = msg {
        let mut out = Vec::with_capacity(2 + text.len());
        out.extend_from_slice(&ERROR_TAG.to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        return Ok(out);
    }
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&PROTO_VERSION.to_be_bytes());
    codec::encode_into(msg, &mut out)?;
    Ok(out)
}

/// Decodes one frame received by `side`. Never panics, whatever the bytes.
pub fn decode_frame(bytes: &[u8], side: Side) -> Result<Message, FrameError> {
    if bytes.len() < 2 {
        return Err(FrameError::TooShort(bytes.len()));
    }
    let version = u16::from_be_bytes([bytes[0], bytes[1]]);
    if version == ERROR_TAG {
        let text: String = String::from_utf8_lossy(&bytes[2..]).chars().take(MAX_ERROR_CHARS).collect();
        return Ok(Message::Error(text));
    }
    if version != PROTO_VERSION {
        return Err(match side {
            Side::Hub => FrameError::Version { node: version, hub: PROTO_VERSION },
            Side::Node => FrameError::Version { node: PROTO_VERSION, hub: version },
        });
    }
    let msg: Message = codec::decode(&bytes[2..])?;
    if let Message::Error(_) = msg {
        // Errors travel only as error frames.
        return Err(FrameError::Codec(CodecError::Decode("错误消息必须以错误帧发送".into())));
    }
    Ok(msg)
}
