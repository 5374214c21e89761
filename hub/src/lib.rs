//! stub
pub mod bench_nightly;
pub mod county;
pub mod demo;
pub mod nightly;
