//! Commands while `serve` runs.
//!
//! sled locks the data directory for one process, and `serve` keeps the store open for the
//! nodes. So that the bureau can still ask for a report, list conflicts or import a census at any
//! time, `serve` listens on the control socket in the data directory (`baoxue-control`:
//! `control.sock`, mode 0600, a bounded number of callers at once, time limits). A command that
//! finds the store locked sends its typed [`Request`] there; the server runs the same command
//! function ([`crate::cmd::run`]) on its own store, one such command at a time and never
//! during a push, and sends back the typed [`Output`] (or the error line).
//!
//! This module does not know the server: `serve` hands it a [`Host`] (the server's state).

use std::path::Path;
use std::sync::Arc;

use baoxue_control::{Caller, ControlError, Limits, Listener, Reply};
use baoxue_store::Store;
use tracing::{info, warn};

use crate::cmd::{self, Context, Output, Request};
use crate::data::HubDir;

pub use baoxue_control::SOCKET;

/// Callers served at once by `serve` (a report of a large county takes a while; more callers
/// are refused at once with a clear line rather than queued).
pub const MAX_CALLERS: usize = 4;

/// What the control socket needs of the server that holds the store.
pub trait Host: Send + Sync + 'static {
    fn dir(&self) -> &HubDir;
    fn store(&self) -> Store;
    /// Holds off pushes while a command runs on the store (called on a blocking thread).
    fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()>;
    /// After a command that may have written revisions (a census, a resolution).
    fn after_command(&self);
}

/// Hands a request to the `serve` running on `data`. Err: there is no server to ask (or it
/// could not answer); the caller then reports the store as locked.
pub fn forward(data: &Path, request: &Request) -> Result<Reply<Output>, ControlError> {
    baoxue_control::call(data, request)
}

/// Runs one request for a caller on the host's store.
pub fn execute(host: &dyn Host, caller: Caller, request: Request) -> Reply<Output> {
    if !request.forwardable() {
        return Reply::Refused("此命令不能在 serve 运行时代为执行".into());
    }
    let _exclusive = host.exclusive();
    let what = request.name();
    let ctx = Context::lent(host.dir().clone(), host.store(), caller);
    let r = cmd::run(&ctx, request);
    host.after_command();
    match r {
        Ok(out) => {
            info!(command = %what, "已代为执行命令");
            Reply::Done(out)
        }
        Err(e) => Reply::Failed(vec![cmd::error_line(&e)]),
    }
}

/// Listens on `<data>/control.sock` until stopped. A failure to listen is logged and leaves the
/// server running without it.
pub fn spawn<H: Host>(host: Arc<H>) -> Option<Listener> {
    let root = host.dir().root.clone();
    let handler: baoxue_control::Handler<Request, Output> =
        Arc::new(move |caller, request| execute(host.as_ref(), caller, request));
    match baoxue_control::listen(&root, Limits { max_callers: MAX_CALLERS, ..Limits::default() }, handler) {
        Ok(l) => Some(l),
        Err(e) => {
            warn!(path = %root.join(SOCKET).display(), error = %e, "无法建立本机命令通道；serve 运行时其他命令将无法执行");
            None
        }
    }
}

/// Removes the socket when `serve` ends.
pub fn remove(data: &Path) {
    let _ = std::fs::remove_file(data.join(SOCKET));
}
