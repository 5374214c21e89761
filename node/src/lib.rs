//! # baoxue-node
//!
//! The township center school's ledger. Thin binary (`main.rs`) over this library.
//!
//! # Layout
//! - [`config`]: the node's configuration, stored in its own data directory.

pub mod config;
