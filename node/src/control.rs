//! The node's control socket. sled locks a data directory for one process; a server of this
//! node that keeps the store open (the school's web app, `baoxue-node serve`) calls [`serve`]
//! so that the command line keeps working meanwhile: a command that needs the store, finding
//! the socket in the data directory, sends its parsed [`Cmd`] (the caller's operator, date and
//! paths filled in: [`crate::cli::for_server`]) over `baoxue-control`'s socket; the server runs
//! it with the same dispatch ([`crate::cli::run_in`]) on its open ledger, one command at a
//! time, and sends back the [`Output`] or the error's lines.

use std::path::Path;
use std::sync::{Arc, Mutex};

use baoxue_control::{Caller, ControlError, Limits, Listener, Reply};
use tracing::info;

use crate::cli::{forwardable, run_in, Cmd, Context};
use crate::ledger::Ledger;
use crate::output::Output;

pub use baoxue_control::SOCKET;

/// Callers served at once; more are refused at once with a clear line.
pub const MAX_CALLERS: usize = 4;

/// Listens on `<data>/control.sock` (on the current tokio runtime) and runs the command line's
/// commands on `ledger`, one at a time under `one_at_a_time` (hold it too while the server
/// itself writes, so that a command's checks and its commit see no other write between them).
/// Stops when the returned [`Listener`] is stopped or dropped. The caller must hold the store.
pub fn serve(ledger: Arc<Ledger>, one_at_a_time: Arc<Mutex<()>>) -> std::io::Result<Listener> {
    let dir = ledger.dir.clone();
    let handler: baoxue_control::Handler<Cmd, Output> =
        Arc::new(move |caller, cmd| execute(&ledger, &one_at_a_time, caller, cmd));
    baoxue_control::listen(&dir, Limits { max_callers: MAX_CALLERS, ..Limits::default() }, handler)
}

/// Runs one command for a caller on the server's ledger.
pub fn execute(ledger: &Ledger, one_at_a_time: &Mutex<()>, _caller: Caller, cmd: Cmd) -> Reply<Output> {
    if !forwardable(&cmd) {
        return Reply::Refused("此命令不能由正在运行的服务代为执行".into());
    }
    let _one = one_at_a_time.lock().unwrap_or_else(|p| p.into_inner());
    match run_in(&Context { dir: ledger.dir.clone(), lent: Some(ledger) }, cmd) {
        Ok(out) => {
            info!("已代为执行命令");
            Reply::Done(out)
        }
        Err(e) => {
            let mut lines = e.details();
            lines.push(e.to_string());
            Reply::Failed(lines)
        }
    }
}

/// Sends a command to the server holding the store in `data`. Err: there is no server to ask.
pub fn forward(data: &Path, cmd: &Cmd) -> Result<Reply<Output>, ControlError> {
    baoxue_control::call(data, cmd)
}
