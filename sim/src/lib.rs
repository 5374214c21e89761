//! # baoxue-sim
//!
//! The county simulator: everything that runs a synthetic county against the real hub and node
//! libraries, kept out of the production hub (which no longer links the node). The binary
//! (`main.rs`) only calls [`cli::main`]; `baoxue-hub demo` and `baoxue-hub bench …` run this
//! binary (found next to their own) with the same arguments.
//!
//! # Layout
//! - [`demo`]: `demo` — a county shaped like 伊川 run end to end for a school year (hub and
//!   nodes on loopback QUIC, reports); [`demo::synth`] makes its county and rolls.
//! - [`bench`]: `bench sync` — the sync over loopback QUIC, the hub in its own process
//!   (`baoxue-sim hub serve …`, the hub's own command line).
//! - [`bench_control`]: `bench control` — `stats` while stalled clients hold the hub's control
//!   socket.
//! - [`bench_nightly`]: `bench nightly` — the nightly aggregation of a large county.
//! - [`bench_web`]: `bench web` — the county dashboard's server time per page on a large
//!   county, the hub in its own process, over [`http`] (a minimal loopback HTTP/1.1 client).
//! - [`fuzz`]: `fuzz` — mutated and generated input thrown at every reader of outside bytes,
//!   each case under `catch_unwind`.
//! - [`relay`]: a counting, lossy UDP relay for the sync benchmark and tests.
//! - [`soak`]: `soak` — a county of real hub and node processes under faults for N minutes,
//!   then its invariants checked.
//! - [`cli`]: the command line.

pub mod bench;
pub mod bench_control;
pub mod bench_nightly;
pub mod bench_web;
pub mod cli;
pub mod demo;
pub mod fuzz;
pub mod http;
pub mod relay;
pub mod soak;
