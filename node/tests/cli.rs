//! Smoke tests of the `baoxue-node` binary (the end-to-end scenarios are in the workspace's
//! `tests/e2e.rs`). Having an integration test here also makes cargo build the binary before
//! the workspace tests run.

use std::process::Command;

fn node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baoxue-node"))
}

#[test]
fn help_runs() {
    let out = node().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["init", "student", "absence", "case", "alerts", "status"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
}

#[test]
fn bad_usage_exits_2_and_failure_exits_1() {
    assert_eq!(node().arg("no-such-command").output().unwrap().status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = node().arg("--data").arg(&missing).arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("尚未初始化"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}
