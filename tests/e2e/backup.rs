//! Backup and restore drill (issue 14, point 5): a node and the hub are backed up at different
//! times while they work (the hub while serving), then each is restored from an older backup
//! into a new directory with the county's backup identity; after syncing, every child is there
//! exactly once, at the node and at the hub. A corrupt store is refused in one line.

use std::path::PathBuf;

use baoxue::{roster, Hub, Kid, Node};
use serde_json::Value;

fn kids(from: u32, n: u32) -> Vec<Kid> {
    (from..from + n).map(|i| Kid::new(900 + i, "鸦岭中心小学", 1 + (i % 6) as u8)).collect()
}

fn import(node: &Node, name: &str, k: &[Kid]) {
    let f = node.file(name, roster(k).as_bytes());
    node.ok(&["student", "import", &f.to_string_lossy(), "--date", "2026-09-01"]);
}

fn students_at_node(node: &Node) -> usize {
    node.json(&["student", "list", "--json"]).as_array().map(Vec::len).unwrap_or(0)
}

fn hub_stats(hub: &Hub) -> Value {
    serde_json::from_str(&hub.ok(&["stats", "--json"])).unwrap()
}

/// The line of `init` output naming the backup identity file.
fn identity_of(hub: &Hub) -> PathBuf {
    let mut s = hub.data.as_os_str().to_owned();
    s.push(".backup-identity.txt");
    PathBuf::from(s)
}

#[test]
fn node_and_hub_restored_from_backups_of_different_ages_lose_and_double_nothing() {
    let mut hub = Hub::new();
    let identity = identity_of(&hub);
    assert!(std::fs::read_to_string(&identity).unwrap().contains("AGE-SECRET-KEY-"));
    let recipient = hub.ok(&["backup-key"]).trim().rsplit('：').next().unwrap().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");

    let node = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    hub.serve();
    import(&node, "a.csv", &kids(0, 10));
    node.sync(&hub);
    // Old backups: the hub's (taken while it serves) and the node's, with 10 children.
    let backups = tempfile::tempdir().unwrap();
    let hub_old = backups.path().join("hub-old.age");
    hub.ok(&["backup", "--out", &hub_old.to_string_lossy()]);
    let node_old = backups.path().join("node-old.age");
    node.ok(&["backup", "--out", &node_old.to_string_lossy(), "--recipient", &recipient]);
    // The archive is encrypted: no child's ID in it.
    let raw = std::fs::read(&hub_old).unwrap();
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(!raw.windows(18).any(|w| w == kids(0, 1)[0].id.as_bytes()));

    // More work after the backups: 6 more children, synced.
    import(&node, "b.csv", &kids(10, 6));
    node.sync(&hub);
    let before = hub_stats(&hub);
    assert_eq!(students_at_node(&node), 16);
    // A newer node backup (remembers the recipient).
    let node_new = backups.path().join("node-new.age");
    node.ok(&["backup", "--out", &node_new.to_string_lossy()]);
    hub.stop();

    // The hub's disk dies: restore the OLD hub backup into a new directory.
    let mut hub2 = Hub::restored_from(&hub, &hub_old, &identity);
    hub2.serve();
    // The node resyncs: the hub gets back what it lacked from the node, nothing twice.
    node.sync(&hub2);
    let after = hub_stats(&hub2);
    assert_eq!(after["revisions"], before["revisions"], "before {before} after {after}");
    assert_eq!(after["students"], before["students"], "before {before} after {after}");

    // The node's PC dies: restore its OLD backup (10 children) into a new directory, sync.
    let node2 = Node::restored_from(&node_old, &identity);
    assert_eq!(students_at_node(&node2), 10);
    node2.sync(&hub2);
    assert_eq!(students_at_node(&node2), 16, "the 6 newer children come back from the hub, once each");
    let s = node2.json(&["status", "--json"]);
    assert_eq!(s["unacknowledged"], 0, "{s}");
    let again = hub_stats(&hub2);
    assert_eq!(again["revisions"], before["revisions"], "nothing doubled at the hub: {again}");
    // A restore is a new incarnation the hub accepts once: no 克隆身份 alert.
    let alerts = hub2.ok(&["alerts", "--json"]);
    assert!(!alerts.contains("cloned_identity"), "{alerts}");

    // The newer node backup restores too, into yet another directory.
    let node3 = Node::restored_from(&node_new, &identity);
    assert_eq!(students_at_node(&node3), 16);
    hub2.stop();

    // A restore refuses a directory that holds something, and a wrong identity.
    let busy = node.run(&["restore", &node_old.to_string_lossy(), "--identity", &identity.to_string_lossy()]);
    assert_eq!(busy.code, 1, "{busy:?}");
    let other = backups.path().join("other.txt");
    std::fs::write(&other, "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n").unwrap();
    let fresh = backups.path().join("fresh");
    let wrong = std::process::Command::new(baoxue::bin("baoxue-node"))
        .arg("--data")
        .arg(&fresh)
        .args(["restore", &node_old.to_string_lossy(), "--identity", &other.to_string_lossy()])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&wrong.stderr).lines().count(), 1, "{}", String::from_utf8_lossy(&wrong.stderr));
}

#[test]
fn a_truncated_node_store_says_what_to_restore_from() {
    let node = Node::new();
    import(&node, "a.csv", &kids(0, 5));
    let db = node.data.join("db");
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(0).unwrap();
    drop(f);
    let r = node.run(&["student", "list"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("已损坏") && r.stderr.contains("restore"), "{}", r.stderr);
}
