//! Where a command's output goes, and the context it runs in.
//!
//! Normally a command prints to this process's stdout and stderr. While `serve` holds the
//! store, the CLI hands the command to the server (see [`crate::control`]), which runs the same
//! code on its own open store: then the output is captured for the caller, relative paths are
//! the caller's, and the operator is the caller's. This module is the one place that knows.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use baoxue_store::Store;

/// The context of a command run on behalf of another process.
#[derive(Clone)]
pub struct Borrowed {
    /// The server's open store.
    pub store: Store,
    /// The caller's working directory (for relative paths).
    pub cwd: PathBuf,
    /// The caller's `BAOXUE_OPERATOR`.
    pub operator: Option<String>,
}

#[derive(Default)]
struct Capture {
    ctx: Option<Borrowed>,
    stdout: String,
    stderr: String,
}

thread_local! {
    static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// Runs `f` with its output captured and `ctx` in force; returns its result and what it printed
/// on stdout and stderr.
pub fn captured<T>(ctx: Borrowed, f: impl FnOnce() -> T) -> (T, String, String) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(Capture { ctx: Some(ctx), ..Capture::default() }));
    let r = f();
    let cap = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (r, cap.stdout, cap.stderr)
}

/// Text for stdout (a closed pipe is not an error).
pub fn stdout(text: &str) {
    if !capture(text, false) {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
}

/// Text for stderr (notes such as "written to FILE").
pub fn stderr(text: &str) {
    if !capture(text, true) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// Appends to the captured stream if capturing; false otherwise.
fn capture(text: &str, err: bool) -> bool {
    CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(cap) => {
            if err { &mut cap.stderr } else { &mut cap.stdout }.push_str(text);
            true
        }
        None => false,
    })
}

/// The store lent by the server, when running on its behalf.
pub fn lent_store() -> Option<Store> {
    CAPTURE.with(|c| c.borrow().as_ref().and_then(|cap| cap.ctx.as_ref().map(|x| x.store.clone())))
}

/// A path the operator typed, relative to the operator's working directory.
pub fn resolve(p: &Path) -> PathBuf {
    let cwd = CAPTURE.with(|c| c.borrow().as_ref().and_then(|cap| cap.ctx.as_ref().map(|x| x.cwd.clone())));
    match cwd {
        Some(cwd) if p.is_relative() => cwd.join(p),
        _ => p.to_path_buf(),
    }
}

/// `BAOXUE_OPERATOR` of the operator (the caller's, when running on its behalf).
pub fn operator_env() -> Option<String> {
    let lent = CAPTURE.with(|c| c.borrow().as_ref().and_then(|cap| cap.ctx.as_ref().map(|x| x.operator.clone())));
    match lent {
        Some(op) => op,
        None => std::env::var("BAOXUE_OPERATOR").ok(),
    }
}

/// `println!` to [`stdout`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::out::stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` to [`stderr`].
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::out::stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}
