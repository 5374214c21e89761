//! `baoxue-hub demo`: a synthetic county shaped like 伊川, run end to end.

pub mod synth;
