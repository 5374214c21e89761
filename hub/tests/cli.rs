//! Smoke test of the `baoxue-hub` binary; also makes cargo build it before the workspace's
//! end-to-end tests run.

use std::process::Command;

#[test]
fn help_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_baoxue-hub")).arg("--help").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
