//! # baoxue-node
//!
//! The township center school's 控辍保学 ledger: its students, their absences and the dropout
//! cases, kept on the school's own PC and trustworthy with no connection. The binary
//! (`main.rs`) only parses the command line and prints; everything else is here, so tests can
//! call it directly.
//!
//! # Layout
//! - [`cli`]: the command line of docs/CLI.md ("Node") and the dispatch to the commands.
//! - [`cmd`]: one module per command group — [`cmd::init`], [`cmd::student`],
//!   [`cmd::absence`], [`cmd::case`], [`cmd::promote`], [`cmd::alerts`], [`cmd::status`],
//!   [`cmd::sync`], [`cmd::backup`], [`cmd::user`], [`cmd::serve`], [`cmd::bench`].
//! - [`web`]: the school app (`serve`): one module per screen over the same commands.
//! - [`ledger`]: the open store plus configuration; resolving STUDENT and CASE arguments; the
//!   scope rule (a node changes only its own township's students); one durable commit per
//!   command.
//! - [`control`]: the node's control socket: a server that holds the store (the node's web
//!   app) runs the command line's commands for it.
//! - [`sync`]: the node's side of sync — joining from the hub's bundle, one sync, the nightly
//!   loop (over `shared::sync::NodeSession` and `baoxue-net`).
//! - [`config`]: the node's configuration, kept in its own data directory.
//! - [`policy`]: the county policy in force (preset or file, stored as TOML).
//! - [`output`]: Chinese lines for people, JSON with docs/CLI.md's keys for scripts; masking.
//! - [`defaults`]: data directory, operator and date defaults from the environment.
//! - [`error`]: one Chinese line per failure, naming the item.
//!
//! **Invariants.** A command validates everything before it writes, then writes ONE commit;
//! a failed command leaves the store exactly as it was. Success is printed only after the
//! commit has been flushed to disk. Full ID numbers never appear in logs, list views or JSON
//! (unless `--unmasked`); `student show` shows them to the local operator.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod defaults;
pub mod error;
pub mod health;
pub mod ledger;
pub mod output;
pub mod policy;
pub mod sync;
pub mod web;

pub use error::{NodeError, Result};
pub use ledger::Ledger;
