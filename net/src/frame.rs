//! Length-prefixed frames over one bidirectional QUIC stream.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes. QUIC streams are byte
//! streams; the sync protocol needs messages. The length is checked against [`MAX_FRAME`]
//! before anything is allocated, so a hostile or corrupted length prefix costs nothing, and a
//! stream that ends inside a frame is an error rather than a short message.

use quinn::{ReadError, ReadExactError, RecvStream, SendStream, WriteError};

use crate::error::NetError;
use crate::transport::describe_connection_error;

/// The largest frame either side accepts: 16 MiB. A sync batch is split well below this.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// One bidirectional stream carrying frames. Obtained from [`crate::Conn::open_stream`] (node)
/// or [`crate::Peer::accept_stream`] (hub).
#[derive(Debug)]
pub struct FramedStream {
    pub(crate) send: SendStream,
    pub(crate) recv: RecvStream,
}

impl FramedStream {
    pub(crate) fn new(send: SendStream, recv: RecvStream) -> FramedStream {
        FramedStream { send, recv }
    }

    /// Sends one frame. A payload above [`MAX_FRAME`] is refused here, before anything is
    /// written, since the other side would refuse it anyway.
    pub async fn send_frame(&mut self, payload: &[u8]) -> Result<(), NetError> {
        if payload.len() > MAX_FRAME {
            return Err(NetError::Oversized { len: payload.len() as u64 });
        }
        // Checked above: MAX_FRAME fits in u32.
        let len = (payload.len() as u32).to_be_bytes();
        self.send.write_all(&len).await.map_err(write_error)?;
        self.send.write_all(payload).await.map_err(write_error)?;
        Ok(())
    }

    /// Writes bytes as they are, outside the framing: only for tests that play a broken or
    /// hostile peer (a length prefix beyond [`MAX_FRAME`], a stream cut inside a frame).
    #[doc(hidden)]
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        self.send.write_all(bytes).await.map_err(write_error)
    }

    /// Receives one frame; `None` when the other side finished the stream cleanly between
    /// frames.
    pub async fn recv_frame(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        let mut header = [0u8; 4];
        match self.recv.read_exact(&mut header).await {
            Ok(()) => {}
            Err(ReadExactError::FinishedEarly(0)) => return Ok(None),
            Err(ReadExactError::FinishedEarly(got)) => return Err(NetError::Truncated { expected: 4, got }),
            Err(ReadExactError::ReadError(e)) => return Err(read_error(e)),
        }
        let len = frame_len(header)?;
        let mut payload = vec![0u8; len];
        match self.recv.read_exact(&mut payload).await {
            Ok(()) => Ok(Some(payload)),
            Err(ReadExactError::FinishedEarly(got)) => Err(NetError::Truncated { expected: len, got }),
            Err(ReadExactError::ReadError(e)) => Err(read_error(e)),
        }
    }

    /// No more frames will be sent on this stream; the other side's [`recv_frame`] then returns
    /// `None`. Receiving still works.
    ///
    /// [`recv_frame`]: FramedStream::recv_frame
    pub fn finish(&mut self) -> Result<(), NetError> {
        self.send.finish().map_err(|e| NetError::Stream { reason: format!("数据流已关闭：{e}") })
    }

    /// [`finish`](FramedStream::finish), then wait until the other side has acknowledged every
    /// byte. For a last message that no reply follows: closing the connection right after a
    /// plain `finish` may discard data still in flight.
    pub async fn finish_and_wait(&mut self) -> Result<(), NetError> {
        self.finish()?;
        match self.send.stopped().await {
            Ok(None) => Ok(()),
            Ok(Some(code)) => Err(NetError::StreamReset { code: code.into_inner() }),
            Err(quinn::StoppedError::ConnectionLost(e)) => Err(describe_connection_error(&e)),
            Err(e) => Err(NetError::Stream { reason: e.to_string() }),
        }
    }
}

/// The payload length a frame header announces, refused above [`MAX_FRAME`] before anything
/// is allocated (the one check of a length prefix; the simulator's fuzzer calls it directly).
pub fn frame_len(header: [u8; 4]) -> Result<usize, NetError> {
    let len = u32::from_be_bytes(header);
    if len as usize > MAX_FRAME {
        return Err(NetError::Oversized { len: len.into() });
    }
    Ok(len as usize)
}

fn write_error(e: WriteError) -> NetError {
    match e {
        WriteError::Stopped(code) => NetError::StreamReset { code: code.into_inner() },
        WriteError::ConnectionLost(e) => describe_connection_error(&e),
        other => NetError::Stream { reason: other.to_string() },
    }
}

fn read_error(e: ReadError) -> NetError {
    match e {
        ReadError::Reset(code) => NetError::StreamReset { code: code.into_inner() },
        ReadError::ConnectionLost(e) => describe_connection_error(&e),
        other => NetError::Stream { reason: other.to_string() },
    }
}
