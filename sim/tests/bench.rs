//! `baoxue-sim bench sync` end to end: the figures it prints, and no hub process left behind.

use std::process::Command;

use baoxue_store::Store;
use serde_json::Value as Json;

/// `bench sync` runs as an operator would run it: it starts hubs as processes of this binary (`hub serve`),
/// counts every revision at the hub, and prints the JSON keys the notes quote.
#[test]
fn bench_sync_prints_its_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_baoxue-sim"))
        .args(["bench", "sync", "--revisions", "2000", "--json", "--dir"])
        .arg(tmp.path())
        .env("BAOXUE_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["revisions"], 2000);
    for key in ["revisions_per_sec", "wire_ratio", "empty_sync_ms_at_10k", "empty_sync_ms_at_100k", "hub_cpu_seconds"] {
        assert!(j[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {}", j[key]);
    }
    // The frames carry the revisions with little overhead (a bug in batching would show here).
    assert!(j["ratio"].as_f64().unwrap() < 1.3, "{}", j["ratio"]);
    // No hub process is left behind: the data directories are free again.
    assert!(Store::open(&tmp.path().join("big").join("hub").join(baoxue_hub::data::STORE_DIR)).is_ok());
}
