//! The one place that knows the binary encoding (bincode 2, standard configuration).
//! Revisions on disk and frames on the wire both go through here.

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("编码失败：{0}")]
    Encode(String),
    #[error("数据损坏，无法解码：{0}")]
    Decode(String),
    #[error("数据末尾有 {0} 字节多余内容")]
    Trailing(usize),
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ 64 * 1024 * 1024 }>()
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// The length of `value`'s encoding, without making it.
pub fn encoded_len<T: Serialize>(value: &T) -> Result<usize, CodecError> {
    let mut w = bincode::enc::write::SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut w, config()).map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(w.bytes_written)
}

/// Appends the encoding of `value` to `buf` (avoids an allocation per item in batches).
pub fn encode_into<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> Result<usize, CodecError> {
    bincode::serde::encode_into_std_write(value, buf, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes one value from the start of `bytes`; returns it and how many bytes it took (for a
/// value followed by another, as the store keeps a record and, after it, a date).
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    bincode::serde::decode_from_slice(bytes, config()).map_err(|e| CodecError::Decode(e.to_string()))
}

/// Decodes exactly one value; trailing bytes are an error (a corrupt or foreign frame).
/// Decodes a value from one of this machine's own files (the hub's nightly snapshot), which may
/// exceed the 64 MiB limit that guards what arrives from the network: a county of a million
/// students has a larger history than that, and refusing it made every "incremental" nightly
/// run a cold rebuild.
pub fn decode_local<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - used));
    }
    Ok(value)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - used));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_may_exceed_the_network_limit() {
        let big = vec![7u8; 65 * 1024 * 1024];
        let bytes = encode(&big).unwrap();
        assert!(decode::<Vec<u8>>(&bytes).is_err(), "the network limit holds");
        assert_eq!(decode_local::<Vec<u8>>(&bytes).unwrap().len(), big.len());
    }
}
