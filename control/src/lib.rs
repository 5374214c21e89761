//! # baoxue-control
//!
//! The local control socket of `baoxue-hub serve` and of the node's long-running server. sled
//! locks a data directory for one process; while a server holds the store, the command line
//! still works: a command that finds the store held sends a typed request over a Unix socket
//! in the data directory (`control.sock`, mode 0600: only the account that owns the data can
//! use it), the server runs the same command function on its own open store, and sends back a
//! typed reply. Each binary has its own request and result types (an enum of its commands
//! with their arguments; its typed results); this crate is the one protocol and the one socket
//! code both use.
//!
//! - Framing: a 4-byte big-endian length, then the JSON of a [`Call`] (request) or a
//!   [`Reply`] (answer); one call per connection.
//! - Bounds: at most [`Limits::max_callers`] calls at once (the rest are refused at once with
//!   a clear line), a time limit to read the request and to write the reply, a size limit.
//! - The caller's context travels with the request ([`Caller`]): its working directory (for
//!   relative paths) and its operator name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tracing::warn;

/// The socket's name in a data directory.
pub const SOCKET: &str = "control.sock";
/// Largest request or reply accepted (a report of a large county fits easily).
pub const MAX_MESSAGE: u32 = 256 * 1024 * 1024;

/// Who is asking: the context a command runs in on the caller's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The caller's working directory (a relative path it typed is relative to this).
    pub cwd: PathBuf,
    /// The caller's `BAOXUE_OPERATOR`, if set.
    pub operator: Option<String>,
}

impl Caller {
    /// This process as a caller.
    pub fn this_process() -> Caller {
        Caller {
            cwd: std::env::current_dir().unwrap_or_default(),
            operator: std::env::var("BAOXUE_OPERATOR").ok().filter(|s| !s.trim().is_empty()),
        }
    }

    /// A path the caller typed, made absolute against its working directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_relative() {
            self.cwd.join(p)
        } else {
            p.to_path_buf()
        }
    }
}

/// One request with its caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call<R> {
    pub caller: Caller,
    pub request: R,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply<T> {
    /// The command ran; its typed result.
    Done(T),
    /// The command failed: the lines to print on stderr (the last is the `错误：…` line's text).
    Failed(Vec<String>),
    /// The server did not run it (busy, a command it does not run for others, a bad request):
    /// one line saying why.
    Refused(String),
}

/// Bounds of a server's socket.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Calls served at once; one more is refused at once.
    pub max_callers: usize,
    /// Time allowed to receive a request. A caller sends its request as soon as it connects
    /// (a local process, a few milliseconds), so a few seconds are plenty; a longer limit would
    /// let a handful of connections that never speak hold every place and turn staff commands
    /// away for that long (measured: 4 silent callers refused `stats` for ~30 s at 30 s).
    /// The limit is per read, so a large request that keeps flowing is not cut.
    pub read_within: Duration,
    /// Time allowed to send a reply.
    pub write_within: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_callers: 4, read_within: Duration::from_secs(3), write_within: Duration::from_secs(60) }
    }
}

/// How long a caller waits for the answer (a census of a large county takes a while).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(30 * 60);

/// What can go wrong on either side of the socket.
#[derive(Debug, Error)]
pub enum ControlError {
    #[error("无法连接正在运行的服务（{path}）：{source}")]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("本机命令通道读写失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("本机命令通道消息过大（{0} 字节）")]
    TooLarge(u32),
    #[error("本机命令通道消息无效：{0}")]
    Json(#[from] serde_json::Error),
    #[error("此平台不支持本机命令通道")]
    Unsupported,
}

/// Writes one length-prefixed JSON message.
pub fn write_message(w: &mut impl Write, v: &impl Serialize) -> Result<(), ControlError> {
    let bytes = serde_json::to_vec(v)?;
    let len = u32::try_from(bytes.len()).map_err(|_| ControlError::TooLarge(u32::MAX))?;
    if len > MAX_MESSAGE {
        return Err(ControlError::TooLarge(len));
    }
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(())
}

/// Reads one length-prefixed JSON message.
pub fn read_message<T: DeserializeOwned>(r: &mut impl Read) -> Result<T, ControlError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_MESSAGE {
        return Err(ControlError::TooLarge(len));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(serde_json::from_slice(&buf)?)
}

// ---- the caller's side -------------------------------------------------------------------------

/// Sends `request` to the server listening in `data` and waits for its reply. Err: there is no
/// server to ask (or it could not answer).
#[cfg(unix)]
pub fn call<R: Serialize, T: DeserializeOwned>(data: &Path, request: &R) -> Result<Reply<T>, ControlError> {
    let path = data.join(SOCKET);
    let mut s = std::os::unix::net::UnixStream::connect(&path)
        .map_err(|source| ControlError::Connect { path: path.clone(), source })?;
    s.set_read_timeout(Some(ANSWER_WITHIN))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    write_message(&mut s, &Call { caller: Caller::this_process(), request })?;
    read_message(&mut s)
}

#[cfg(not(unix))]
pub fn call<R: Serialize, T: DeserializeOwned>(_data: &Path, _request: &R) -> Result<Reply<T>, ControlError> {
    Err(ControlError::Unsupported)
}

/// Whether a server's socket is present in `data` (it may be left by a killed server:
/// [`call`] then fails to connect).
pub fn present(data: &Path) -> bool {
    data.join(SOCKET).exists()
}

// ---- the server's side -------------------------------------------------------------------------

/// Runs one request on the server's behalf of a caller (called on a blocking thread).
pub type Handler<R, T> = Arc<dyn Fn(Caller, R) -> Reply<T> + Send + Sync>;

/// A listening socket; stops listening and removes the socket when dropped or [`Listener::stop`]ped.
pub struct Listener {
    task: Option<tokio::task::JoinHandle<()>>,
    path: PathBuf,
}

impl Listener {
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Listens on `<data>/control.sock` (on the current tokio runtime) and answers each call with
/// `handler`, at most `limits.max_callers` at once. The caller of this function must hold the
/// data directory's store: a socket left by a killed server is replaced.
#[cfg(unix)]
pub fn listen<R, T>(data: &Path, limits: Limits, handler: Handler<R, T>) -> std::io::Result<Listener>
where
    R: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
{
    use std::os::unix::fs::PermissionsExt;
    let path = data.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_callers.max(1)));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let Ok(stream) = stream.into_std() else { continue };
            let slot = slots.clone().try_acquire_owned().ok();
            let handler = handler.clone();
            tokio::task::spawn_blocking(move || {
                let _slot = slot.as_ref();
                serve_one(stream, limits, slot.is_some(), &handler)
            });
        }
    });
    Ok(Listener { task: Some(task), path })
}

#[cfg(not(unix))]
pub fn listen<R, T>(_data: &Path, _limits: Limits, _handler: Handler<R, T>) -> std::io::Result<Listener>
where
    R: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
{
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "此平台不支持本机命令通道"))
}

#[cfg(unix)]
fn serve_one<R: DeserializeOwned, T: Serialize>(
    mut s: std::os::unix::net::UnixStream,
    limits: Limits,
    admitted: bool,
    handler: &Handler<R, T>,
) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(limits.read_within));
    let _ = s.set_write_timeout(Some(limits.write_within));
    let reply: Reply<T> = if !admitted {
        // Take the request off the socket (briefly) so that the caller reads the refusal.
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let _ = read_message::<serde_json::Value>(&mut s);
        Reply::Refused(format!("服务繁忙：已有 {} 个命令在执行，请稍后再试", limits.max_callers))
    } else {
        match read_message::<Call<R>>(&mut s) {
            Ok(call) => handler(call.caller, call.request),
            Err(e) => Reply::Refused(format!("请求无效：{e}")),
        }
    };
    if let Err(e) = write_message(&mut s, &reply) {
        warn!(error = %e, "命令结果未能送回（调用方已退出？）");
    }
}

#[cfg(all(test, unix))]
mod tests;
