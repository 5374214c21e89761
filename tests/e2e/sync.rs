//! Sync as an operator does it: `baoxue-hub init/org import/node add/serve` and
//! `baoxue-node init --bundle/join/sync/status/run` as real processes over real QUIC.

use std::process::Stdio;
use std::time::{Duration, Instant};

use baoxue::{kids, roster, Hub, Kid, Node};
use serde_json::Value;

/// 白沙's children (the helpers' rosters are 鸦岭's).
fn baisha_roster(n: u32) -> String {
    let kids: Vec<Kid> = (0..n).map(|i| Kid::new(5000 + i, "白沙小学", 1 + (i % 6) as u8)).collect();
    roster(&kids).replace(",鸦岭,东村,", ",白沙,西村,")
}

fn count(v: &Value) -> usize {
    v.as_array().map(Vec::len).unwrap_or(0)
}

#[test]
fn bundle_node_and_joined_offline_node_sync_transfer_and_converge() {
    let mut hub = Hub::new();
    // 鸦岭 starts from the hub's bundle; 白沙 has worked offline before the hub existed.
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let b = Node::offline("白沙");
    let roster_a = a.file("a.csv", roster(&kids(30)).as_bytes());
    a.ok(&["student", "import", &roster_a.to_string_lossy()]);
    let roster_b = b.file("b.csv", baisha_roster(12).as_bytes());
    b.ok(&["student", "import", &roster_b.to_string_lossy()]);
    let before = b.json(&["status", "--json"]);
    assert_eq!(before["unacknowledged"], before["revisions"], "an offline node has pushed nothing");
    let not_joined = b.fails(&["sync"]);
    assert!(not_joined.contains("join"), "{not_joined}");

    // A hub that is not running: exit 1, one line naming the hub, nothing lost.
    let down = a.run(&["sync", "--hub", &hub.addr]);
    assert_eq!(down.code, 1, "{down:?}");
    assert!(down.stderr.contains(&hub.addr), "{}", down.stderr);
    assert_eq!(a.json(&["status", "--json"])["students"], 30);

    hub.serve();
    let r = a.sync(&hub);
    assert_eq!(r["sent"], 30, "{r}");
    assert_eq!(count(&r["rejected"]), 0, "{r}");
    for key in ["sent", "received", "rejected", "conflicts"] {
        assert!(r.get(key).is_some(), "sync --json has {key}: {r}");
    }
    let s = a.json(&["status", "--json"]);
    assert_eq!(s["unacknowledged"], 0, "{s}");
    assert!(s["last_sync"].is_string(), "{s}");

    // While `serve` holds the store, the bureau's commands are run by the server for them;
    // a relative `--out` is the caller's.
    let stats: Value = serde_json::from_str(&hub.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["revisions"], 30, "{stats}");
    let out = hub
        .command(&["report", "consolidation", "--format", "csv", "--out", "rates.csv"])
        .current_dir(hub.tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read(hub.tmp.path().join("rates.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM for Excel");
    let bad = hub.run(&["report", "consolidation", "--as-of", "2026-02-30"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("2026-02-30"), "{}", bad.stderr);

    // 白沙 joins with its data kept: everything it recorded offline is pushed.
    let joined = b.ok(&["join", "--bundle", &hub.bundle("白沙中心校", "白沙").to_string_lossy()]);
    assert!(joined.contains("保留"), "{joined}");
    let r = b.sync(&hub);
    assert_eq!(r["sent"], 12, "{r}");
    assert_eq!(r["received"], 0, "白沙 sees none of 鸦岭's children: {r}");
    assert_eq!(b.json(&["status", "--json"])["unacknowledged"], 0);

    // 籍随人走: 鸦岭 transfers a child to 白沙小学; after 鸦岭 then 白沙 sync, 白沙 sees it with its
    // whole history and accepts it; 鸦岭's copy becomes read-only.
    let kid = &kids(30)[0];
    a.ok(&["absence", &kid.student_no, "--date", "2026-10-12", "--kind", "sick"]);
    a.ok(&["student", "transfer", &kid.student_no, "--to-school", "白沙小学", "--date", "2026-10-20"]);
    assert_eq!(a.sync(&hub)["sent"], 2);
    let r = b.sync(&hub);
    assert!(r["received"].as_u64().unwrap() >= 3, "the student's whole history: {r}");
    let incoming = b.json(&["student", "list", "--json"]);
    assert_eq!(count(&incoming), 13, "12 of 白沙 + 1 incoming: {incoming}");
    let shown = b.json(&["student", "show", &kid.student_no, "--json"]);
    assert_eq!(shown["status_key"], "transferred_out", "{shown}");
    assert!(count(&shown["history"]) >= 3, "{shown}");
    b.ok(&["student", "accept", &kid.student_no, "--date", "2026-10-21"]);
    assert_eq!(b.sync(&hub)["sent"], 1);
    assert!(a.sync(&hub)["received"].as_u64().unwrap() >= 1);
    let at_a = a.json(&["student", "show", &kid.student_no, "--json"]);
    assert_eq!(at_a["school"], "白沙小学", "{at_a}");
    let refused = a.fails(&["absence", &kid.student_no, "--date", "2026-10-22", "--kind", "unexcused"]);
    assert!(refused.contains("只能查看"), "{refused}");

    // The hub holds every revision exactly once and knows both nodes' last sync.
    let stats: Value = serde_json::from_str(&{
        hub.stop();
        hub.ok(&["stats", "--json"])
    })
    .unwrap();
    let a_revs = a.json(&["status", "--json"])["revisions"].as_u64().unwrap();
    assert_eq!(stats["revisions"].as_u64().unwrap(), a_revs + 12, "{stats}");
    let nodes: Value = serde_json::from_str(&hub.ok(&["node", "list", "--json"])).unwrap();
    assert_eq!(count(&nodes), 2, "{nodes}");
    for n in nodes.as_array().unwrap() {
        assert!(n["last_sync"].is_string(), "{n}");
        assert!(n["pending_alerts"].is_u64(), "alerts counted while the store is free: {n}");
    }
}

#[test]
fn init_bundle_refuses_a_bad_bundle_and_an_initialised_directory() {
    let hub = Hub::new();
    let bundle = hub.bundle("鸦岭中心校", "鸦岭");
    let n = Node::from_bundle(&bundle);
    let again = n.fails(&["init", "--bundle", &bundle.to_string_lossy()]);
    assert!(again.contains("已初始化"), "{again}");
    // A damaged bundle: refused before anything is created.
    let tmp = baoxue::TempDir::new().unwrap();
    let broken = tmp.path().join("broken.bundle");
    let text = std::fs::read_to_string(&bundle).unwrap();
    std::fs::write(&broken, &text[..text.len() / 2]).unwrap();
    let data = tmp.path().join("data");
    let out = std::process::Command::new(baoxue::bin("baoxue-node"))
        .arg("--data")
        .arg(&data)
        .args(["init", "--bundle", &broken.to_string_lossy()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("配置包"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists(), "nothing created for a bad bundle");
}

/// `run` stays up as a service but leaves the data directory free between syncs: the staff's
/// commands work while it runs, and SIGTERM stops it cleanly.
#[test]
fn run_syncs_and_leaves_the_ledger_usable_meanwhile() {
    let mut hub = Hub::new();
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let file = a.file("a.csv", roster(&kids(5)).as_bytes());
    a.ok(&["student", "import", &file.to_string_lossy()]);
    hub.serve();
    let run = a
        .command(&["run", "--now", "--hub", &hub.addr])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let started = Instant::now();
    loop {
        let s = a.json(&["status", "--json"]);
        if s["unacknowledged"] == 0 && s["last_sync"].is_string() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "run never synced: {s}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // A command while `run` waits for the nightly hour.
    a.ok(&["absence", &kids(5)[1].student_no, "--date", "2026-10-12", "--kind", "sick"]);
    let pid = run.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success(), "run exits 0 on SIGTERM: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(a.json(&["status", "--json"])["unacknowledged"], 1);
}
