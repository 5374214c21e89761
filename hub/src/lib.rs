//! # baoxue-hub
//!
//! The county hub: it issues the county's certificates, accepts every township node's sync,
//! merges what they send, keeps concurrent edits for review, and computes the county's reports
//! and alerts. The binary (`main.rs`) only calls [`cli::main`].
//!
//! # Layout
//! - [`data`]: the data directory (county configuration, CA and hub certificate, org, policy,
//!   issued nodes and their sync status, the store); `init`, `org import`, `node add/revoke/list`.
//! - [`server`]: `serve` — QUIC with mutual TLS (via `baoxue-net`), one task per connection
//!   driving a `shared::sync::HubSession`.
//! - [`replica`]: the store as the sync engine sees it, with the per-record scope index.
//! - [`org_guard`]: why an `org import` may not silently drop a township or school that still
//!   holds nodes, students or cases.
//! - [`backup`]: `backup`, `restore`, `backup-key` and the backup after each nightly (age).
//! - [`conflicts`]: `conflicts` and `conflicts resolve`.
//! - [`stats`]: `stats`, including 重复学籍.
//! - [`resolutions`]: whether the bureau's conflict resolutions have reached each node.
//! - [`nightly_hook`]: `serve` runs the nightly aggregation at the policy's hour.
//! - [`county`]: reports, alerts, census over the [`snapshot`] (the county's compact,
//!   incremental view); [`nightly`]: the nightly run and its dated archive.
//! - [`cmd`]: the command layer — every command a function of an explicit context returning a
//!   typed result (the command line, the control socket and web handlers call these):
//!   [`cmd::admin`] (init, org, nodes, backup), [`cmd::county`] (reports, alerts, census,
//!   baseline, nightly), [`cmd::review`] (conflicts, stats).
//! - [`control`]: `serve` runs commands for callers on its control socket.
//! - [`cli`]: the command line.
//! - `demo` and `bench` run the simulator (`baoxue-sim`, its own crate: it links the node),
//!   found next to this binary.
//! - [`columns`]: the county's own column aliases for imported files (`columns.toml`).
//! - [`web`]: the county's dashboard that `serve` also serves (its own TCP port): one module
//!   per screen (dashboard, reports, work lists, bureau, drill-down, accounts, admin).
//!
//! **Invariants.** The hub takes a node's identity and township from its certificate only. A
//! push batch is acknowledged only after it is applied and flushed and the node's cursor is
//! stored. One bad connection never stops the server.

pub mod backup;
pub mod cli;
pub mod cmd;
pub mod columns;
pub mod conflicts;
pub mod control;
pub mod county;
pub mod data;
pub mod health;
pub mod nightly;
pub mod nightly_hook;
pub mod org_guard;
pub mod replica;
pub mod resolutions;
pub mod server;
pub mod snapshot;
pub mod stats;
pub mod web;
