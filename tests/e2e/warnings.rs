//! Warnings before trouble (issue 14, point 7) through the real binaries: a certificate that
//! expires within 30 days, a disk with less than 10% or 1 GiB free, a backup older than a week
//! — at the node (`status`, `alerts`) and the hub (`stats`, `alerts`, with the nodes'
//! certificates from its registry). "Today" is fixed with `BAOXUE_TODAY`, the disk with
//! `BAOXUE_DISK_SPACE`: nothing here touches the clock or fills a disk.

use baoxue::{Hub, Node, TEST_TODAY};
use baoxue_shared::Date;
use serde_json::Value;

fn day(s: &str, n: i64) -> String {
    Date::parse(s).unwrap().add_days(n).to_string()
}

/// The `rule/subject/...` ids of a node's `alerts --json` on `today`.
fn node_ids(node: &Node, today: &str, disk: Option<&str>) -> Vec<String> {
    let mut c = node.command(&["alerts", "--json"]);
    c.env("BAOXUE_TODAY", today);
    if let Some(d) = disk {
        c.env("BAOXUE_DISK_SPACE", d);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

fn hub_ids(hub: &Hub, today: &str) -> Vec<String> {
    let out = hub.command(&["alerts", "--json"]).env("BAOXUE_TODAY", today).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["alerts"].as_array().or(v.as_array()).unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

fn has(ids: &[String], prefix: &str) -> bool {
    ids.iter().any(|i| i.starts_with(prefix))
}

#[test]
fn node_warns_of_expiring_certificates_a_full_disk_and_an_old_backup() {
    let hub = Hub::new();
    let node = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    // Set up today: nothing to warn about yet (a week's grace before the first backup).
    let s = node.json(&["status", "--json"]);
    assert_eq!(s["warnings"].as_array().map(Vec::len), Some(0), "{s}");
    let certs = s["operations"]["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "the node's and the county CA's: {s}");
    let expires = certs.iter().find(|c| c["what"] == "节点证书").unwrap()["expires"].as_str().unwrap().to_string();
    assert!(s["operations"]["disk"]["total"].as_u64().unwrap() > 0, "{s}");
    assert!(!has(&node_ids(&node, &day(TEST_TODAY, 7), None), "stale_backup"));
    assert!(has(&node_ids(&node, &day(TEST_TODAY, 8), None), "stale_backup:鸦岭中心校"), "never backed up, 8 days");

    // The bundle carried the county's backup key: `backup` needs no --recipient.
    let out = node.tmp.path().join("n.age");
    node.ok(&["backup", "--out", &out.to_string_lossy()]);
    let s = node.json(&["status", "--json"]);
    assert_eq!(s["operations"]["last_backup"], TEST_TODAY, "{s}");
    // A backup older than a week: the day before, of, and after the threshold.
    assert!(!has(&node_ids(&node, &day(TEST_TODAY, 6), None), "stale_backup"));
    assert!(!has(&node_ids(&node, &day(TEST_TODAY, 7), None), "stale_backup"));
    assert!(has(&node_ids(&node, &day(TEST_TODAY, 8), None), "stale_backup:鸦岭中心校"));
    // Only today's list carries them: not a past day's.
    let past = node.json(&["alerts", "--json", "--as-of", "2026-09-01"]);
    assert!(!past.to_string().contains("stale_backup"), "{past}");

    // The node's certificate: 31, 30 and 29 days before it expires (backed up "that week").
    let cert = "certificate_expiry:鸦岭中心校/节点证书";
    for (n, warned) in [(-31, false), (-30, true), (-29, true), (1, true)] {
        let today = day(&expires, n);
        let mut c = node.command(&["backup", "--out", &out.to_string_lossy()]);
        c.env("BAOXUE_TODAY", &today);
        assert!(c.output().unwrap().status.success());
        let ids = node_ids(&node, &today, None);
        assert_eq!(has(&ids, cert), warned, "{today}: {ids:?}");
        assert!(!has(&ids, "stale_backup"), "{ids:?}");
    }

    // A disk with less than 10% or 1 GiB free (measured through the probe's test hook).
    let today = day(&expires, -40);
    let mut c = node.command(&["backup", "--out", &out.to_string_lossy()]);
    c.env("BAOXUE_TODAY", &today);
    assert!(c.output().unwrap().status.success());
    assert!(!has(&node_ids(&node, &today, Some("20000000000/100000000000")), "low_disk"));
    assert!(has(&node_ids(&node, &today, Some("9000000000/100000000000")), "low_disk:鸦岭中心校"));
    assert!(has(&node_ids(&node, &today, Some("900000000/2000000000")), "low_disk:鸦岭中心校"));
    let text = node
        .command(&["status"])
        .env("BAOXUE_TODAY", &today)
        .env("BAOXUE_DISK_SPACE", "900000000/2000000000")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains("运行：") && text.contains("低于 10% 或 1 GiB"), "{text}");
}

#[test]
fn hub_warns_of_its_own_troubles_and_of_nodes_whose_certificates_expire() {
    let hub = Hub::new();
    hub.bundle("鸦岭中心校", "鸦岭");
    let stats: Value = serde_json::from_str(&hub.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["warnings"].as_array().map(Vec::len), Some(0), "{stats}");
    let certs = stats["operations"]["certificates"].as_array().unwrap();
    let expires = certs.iter().find(|c| c["what"] == "平台证书").unwrap()["expires"].as_str().unwrap().to_string();
    // The node was issued the same day as the hub's certificate: both expire then.
    let backup = hub.tmp.path().join("h.age");
    for (n, warned) in [(-31, false), (-30, true), (-29, true)] {
        let today = day(&expires, n);
        let b = hub.command(&["backup", "--out", &backup.to_string_lossy()]).env("BAOXUE_TODAY", &today).output();
        assert!(b.unwrap().status.success());
        let ids = hub_ids(&hub, &today);
        assert_eq!(has(&ids, "certificate_expiry:县级平台/平台证书"), warned, "{today}: {ids:?}");
        assert_eq!(has(&ids, "certificate_expiry:鸦岭中心校/"), warned, "{today}: {ids:?}");
        assert!(!has(&ids, "stale_backup"), "{ids:?}");
    }
    let today = day(&expires, -29);
    assert!(has(&hub_ids(&hub, &day(&today, 8)), "stale_backup:县级平台"), "a week after the last backup");
    let text = hub.command(&["stats"]).env("BAOXUE_TODAY", &today).env("BAOXUE_DISK_SPACE", "1/100").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(
        text.contains("平台证书将于") && text.contains("节点 鸦岭中心校 的证书") && text.contains("磁盘"),
        "{text}"
    );
}

/// The hub's backup carries its dated nightly archives, its dashboard's accounts and audit log;
/// a restore puts them back, the archives and the log sealed under the new key.
#[test]
fn hub_backup_carries_archives_and_the_audit_log() {
    let hub = Hub::new();
    let web = hub.data.join("web");
    std::fs::create_dir_all(&web).unwrap();
    let line = r#"{"at":"2026-12-05 08:00:00","kind":"full_id","login":"li","address":"10.0.0.9","detail":"查看 欧阳晓珺 的完整号码"}"#;
    std::fs::write(web.join("audit.jsonl"), format!("{line}\n")).unwrap();
    let day_dir = hub.data.join("reports").join("2026-12-01");
    std::fs::create_dir_all(&day_dir).unwrap();
    std::fs::write(day_dir.join("summary.json"), "{\"as_of\":\"2026-12-01\",\"school\":\"欧阳\"}\n").unwrap();
    let backup = hub.tmp.path().join("h.age");
    hub.ok(&["backup", "--out", &backup.to_string_lossy()]);
    let mut identity = hub.data.as_os_str().to_owned();
    identity.push(".backup-identity.txt");
    let restored = Hub::restored_from(&hub, &backup, std::path::Path::new(&identity));
    let archive = std::fs::read(restored.data.join("reports").join("2026-12-01").join("summary.json")).unwrap();
    assert!(!archive.windows(6).any(|w| w == "欧阳".as_bytes()), "sealed under the new key");
    let audit = std::fs::read_to_string(restored.data.join("web").join("audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 1, "{audit}");
    assert!(audit.starts_with('~') && !audit.contains("欧阳"), "{audit}");
}
