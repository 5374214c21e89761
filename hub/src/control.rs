//! Commands while `serve` runs.
//!
//! sled locks the data directory for one process, and `serve` keeps the store open for the
//! nodes. So that the bureau can still ask for a report, list conflicts or import a census at any
//! time, `serve` listens on a Unix socket in the data directory (`control.sock`, mode 0600: only
//! the account that owns the data can use it). A command that finds the store locked sends its
//! command line there; the server runs the same code on its own store, one such command at a
//! time and never during a push, and sends back the exit status and output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::out::{captured, Borrowed};
use crate::server::HubState;

/// The socket's name in the data directory.
pub const SOCKET: &str = "control.sock";
/// Largest request or response accepted (a report of a large county fits easily).
const MAX_MESSAGE: u32 = 256 * 1024 * 1024;
/// How long a caller waits for the server to answer (a census of a large county takes a while).
const ANSWER_WITHIN: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    /// The command line without the program name.
    args: Vec<String>,
    cwd: PathBuf,
    operator: Option<String>,
}

/// What the server answers: the command's exit status and output.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn write_message(w: &mut impl Write, v: &impl Serialize) -> Result<()> {
    let bytes = serde_json::to_vec(v)?;
    w.write_all(&(bytes.len() as u32).to_be_bytes())?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(())
}

fn read_message<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> Result<T> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_MESSAGE {
        return Err(anyhow!("消息过大（{len} 字节）"));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(serde_json::from_slice(&buf)?)
}

// ---- the caller's side -------------------------------------------------------------------------

/// Hands a command line to the `serve` running on `data`. Err: there is no server to ask (or
/// it could not answer); the caller then reports the store as locked.
#[cfg(unix)]
pub fn forward(data: &Path, args: &[String]) -> Result<Answer> {
    let path = data.join(SOCKET);
    let mut s = std::os::unix::net::UnixStream::connect(&path)
        .with_context(|| format!("无法连接正在运行的 serve（{}）", path.display()))?;
    s.set_read_timeout(Some(ANSWER_WITHIN))?;
    let req = Request {
        args: args.to_vec(),
        cwd: std::env::current_dir().unwrap_or_default(),
        operator: std::env::var("BAOXUE_OPERATOR").ok(),
    };
    write_message(&mut s, &req)?;
    read_message(&mut s).context("serve 未能返回结果")
}

#[cfg(not(unix))]
pub fn forward(_data: &Path, _args: &[String]) -> Result<Answer> {
    Err(anyhow!("此平台不支持在 serve 运行时执行命令"))
}

// ---- the server's side -------------------------------------------------------------------------

/// Runs one forwarded command line on the server's store.
fn execute(state: &HubState, req: Request) -> Answer {
    let _exclusive = state.exclusive();
    let ctx = Borrowed { store: state.store.clone(), cwd: req.cwd, operator: req.operator };
    let argv = std::iter::once("baoxue-hub".to_string()).chain(req.args.iter().cloned());
    let (code, stdout, mut stderr) = captured(ctx, || {
        use clap::Parser as _;
        match crate::cli::Cli::try_parse_from(argv) {
            Err(e) => {
                crate::out::stderr(&e.to_string());
                e.exit_code()
            }
            Ok(cli) if !crate::cli::forwardable(&cli.cmd) => {
                crate::note!("错误：此命令不能在 serve 运行时代为执行");
                1
            }
            Ok(cli) => match crate::cli::run(cli) {
                Ok(()) => 0,
                Err(e) => {
                    crate::note!("错误：{}", crate::cli::error_line(&e));
                    1
                }
            },
        }
    });
    // A forwarded command may have written revisions (a census, a resolution): the scope
    // cache is rebuilt from the store as sessions need it.
    state.scopes.clear();
    if code == 0 {
        info!(command = %req.args.first().map(String::as_str).unwrap_or(""), "已代为执行命令");
    } else if stderr.is_empty() {
        stderr.push_str("错误：命令失败\n");
    }
    Answer { code, stdout, stderr }
}

/// Listens on `<data>/control.sock` until the task is dropped. A failure to listen is logged
/// and leaves the server running without it.
#[cfg(unix)]
pub fn spawn(state: Arc<HubState>) -> Option<tokio::task::JoinHandle<()>> {
    use std::os::unix::fs::PermissionsExt;
    let path = state.dir.root.join(SOCKET);
    // A socket left by a server that was killed: we hold the store, so no server uses it.
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            warn!(path = %path.display(), error = %e, "无法建立本机命令通道；serve 运行时其他命令将无法执行");
            return None;
        }
    };
    if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        warn!(path = %path.display(), error = %e, "无法设置命令通道权限");
    }
    Some(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let st = state.clone();
            tokio::spawn(async move {
                let Ok(std) = stream.into_std() else { return };
                let _ = tokio::task::spawn_blocking(move || serve_one(&st, std)).await;
            });
        }
    }))
}

#[cfg(not(unix))]
pub fn spawn(_state: Arc<HubState>) -> Option<tokio::task::JoinHandle<()>> {
    None
}

#[cfg(unix)]
fn serve_one(state: &HubState, mut s: std::os::unix::net::UnixStream) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let answer = match read_message::<Request>(&mut s) {
        Ok(req) => execute(state, req),
        Err(e) => Answer { code: 2, stdout: String::new(), stderr: format!("错误：请求无效：{e}\n") },
    };
    if let Err(e) = write_message(&mut s, &answer) {
        warn!(error = %e, "命令结果未能送回（调用方已退出？）");
    }
}

/// Removes the socket when `serve` ends.
pub fn remove(data: &Path) {
    let _ = std::fs::remove_file(data.join(SOCKET));
}
