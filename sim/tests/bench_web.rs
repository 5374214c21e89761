//! `bench web` end to end on a small county: it builds, serves in a real hub process, logs in
//! over HTTP and times every page (figures only: nothing here asserts a time).

use std::path::PathBuf;

/// A small county end to end: build, serve in a real hub process, log in, time every page.
/// Needs the `baoxue-sim` binary as the hub process (`current_exe` in tests is the test
/// harness), so it runs the binary cargo built for this package.
#[test]
fn small_county_runs_end_to_end() {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_baoxue-sim"));
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(exe)
        .args(["bench", "web", "--students", "3000", "--revisions", "15000", "--rounds", "3", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 7, "{v}");
    for p in pages.iter().chain([&v["township_table_xlsx"]]) {
        assert_eq!(p["requests"], 3, "{p}");
        assert!(p["bytes"].as_u64().unwrap() > 200, "{p}");
        assert!(p["p50_ms"].as_f64().unwrap() <= p["p95_ms"].as_f64().unwrap(), "{p}");
    }
    assert!(pages.iter().any(|p| p["page"] == "case" && p["path"].as_str().unwrap().starts_with("/case/")));
    assert!(v["students"].as_u64().unwrap() > 2000, "{v}");
}
