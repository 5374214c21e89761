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
    let half = (0..=text.len() / 2).rev().find(|i| text.is_char_boundary(*i)).unwrap();
    std::fs::write(&broken, &text[..half]).unwrap();
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

/// `run` closes a 籍随人走 case after its syncs as `sync` does (one code path,
/// `sync::after_sync`). 鸦岭 transfers the child to 白沙小学 (Wed 10-14); 白沙 accepts on Thu
/// 10-15, while 鸦岭, not knowing, takes the child back the same day and records an unexcused
/// absence for 10-14, which opens a case. The two statuses conflict, so at 白沙 the child is
/// not (yet) its own and nothing closes; the county keeps 白沙's acceptance. The resolution
/// reaches 白沙 through `run`, which then closes the case as 转学核实 on 10-15; the next syncs
/// carry the closing to the hub and to 鸦岭.
#[test]
fn run_closes_a_case_once_the_acceptance_it_depends_on_arrives() {
    let (hub, a, b, kids) = two_townships();
    let no = kids[0].student_no.as_str();
    a.ok(&["student", "transfer", no, "--to-school", "白沙小学", "--date", "2026-10-14"]);
    a.sync(&hub);
    b.sync(&hub);
    b.ok(&["student", "accept", no, "--date", "2026-10-15"]);
    a.ok(&["student", "status", no, "在读", "--date", "2026-10-15"]);
    let out = a.ok(&["absence", no, "--kind", "unexcused", "--date", "2026-10-14"]);
    assert!(out.contains("已自动立案"), "{out}");
    let case = a.json(&["case", "list", "--open", "--json"])[0]["id"].as_str().unwrap().to_string();
    a.sync(&hub);
    let r = b.sync(&hub);
    assert_eq!((r["conflicts"].as_u64(), r["closed_transferred"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!(b.json(&["case", "show", &case, "--json"])["state"], "suspected");
    // The county keeps 白沙's acceptance.
    let rows: Value = serde_json::from_str(&hub.ok(&["conflicts", "--json"])).unwrap();
    let keep = rows[0]["fields"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"].as_str().unwrap().contains("白沙小学"))
        .unwrap()["revision"]
        .as_str()
        .unwrap()[..8]
        .to_string();
    hub.ok(&["conflicts", "resolve", no, "--keep", &keep]);

    let mut run = b
        .command(&["run", "--now", "--hub", &hub.addr])
        .env("BAOXUE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let started = Instant::now();
    let shown = loop {
        let shown = b.json(&["case", "show", &case, "--json"]);
        if shown["outcome"] == "transferred" {
            break shown;
        }
        let synced = b.json(&["status", "--json"])["conflicts"] == 0;
        if synced && started.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            let out = run.wait_with_output().unwrap();
            panic!("run synced but never closed the case: {shown}\n{}", String::from_utf8_lossy(&out.stderr));
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = run.kill();
            let _ = run.wait();
            panic!("run never synced");
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let pid = run.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success(), "run exits 0 on SIGTERM");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("同步后自动销号") && log.contains(&case), "{log}");
    // Closed on the day the acceptance holds by the child's placement history: the county's
    // resolution is written on its own business day (today), which is when 白沙小学's 在读 is
    // the placement beyond dispute (on 10-15 itself the two writes still both stand).
    let closed = shown["closed"].as_str().unwrap().to_string();
    assert!(closed.as_str() >= "2026-10-15", "{shown}");
    assert_eq!(shown["evidence"], "白沙小学已确认接收（籍随人走）", "{shown}");
    // The closing is 白沙's to push: at the hub and at 鸦岭 after the next syncs.
    assert_eq!(b.json(&["status", "--json"])["unacknowledged"], 1);
    b.sync(&hub);
    a.sync(&hub);
    let at_a = a.json(&["case", "show", &case, "--json"]);
    assert_eq!(
        (at_a["outcome"].as_str(), at_a["closed"].as_str()),
        (Some("transferred"), Some(closed.as_str())),
        "{at_a}"
    );
    let hub_case: Value = serde_json::from_str(&hub.ok(&["alerts", "--as-of", &closed, "--json"])).unwrap();
    assert!(
        !hub_case.as_array().unwrap().iter().any(|x| x["subject"].as_str() == Some(case.as_str())),
        "the hub raises nothing about the closed case: {hub_case}"
    );
}

/// Two status changes that cannot both hold, made with the CLI on two townships: 鸦岭 takes the
/// child back (the transfer cancelled, 在读 at its school) while 白沙 accepts the transfer. The
/// hub lists the conflict, both nodes refuse to write the status over it, and the county's
/// `conflicts resolve` reaches both and settles them.
#[test]
fn a_status_conflict_is_listed_refused_at_both_nodes_and_settled_by_the_county() {
    let mut hub = Hub::new();
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let b = Node::from_bundle(&hub.bundle("白沙中心校", "白沙"));
    let kids = kids(3);
    let file = a.file("a.csv", roster(&kids).as_bytes());
    a.ok(&["student", "import", &file.to_string_lossy()]);
    hub.serve();
    a.sync(&hub);
    b.sync(&hub);
    let no = kids[0].student_no.as_str();
    a.ok(&["student", "transfer", no, "--to-school", "白沙小学", "--date", "2026-10-08"]);
    a.sync(&hub);
    b.sync(&hub);
    // Each side, without the other's news.
    a.ok(&["student", "status", no, "在读", "--date", "2026-10-09"]);
    b.ok(&["student", "accept", no, "--date", "2026-10-09"]);
    assert_eq!(a.sync(&hub)["conflicts"], 0, "the hub had only 鸦岭's change");
    let r = b.sync(&hub);
    assert_eq!((r["conflicts"].as_u64(), count(&r["rejected"])), (Some(1), 0), "{r}");
    assert_eq!(a.sync(&hub)["conflicts"], 1);

    // Listed at the county: one record, its status, both values.
    let rows: Value = serde_json::from_str(&hub.ok(&["conflicts", "--json"])).unwrap();
    assert_eq!(count(&rows), 1, "{rows}");
    let field = &rows[0]["fields"][0];
    assert_eq!(field["field"], "status", "{rows}");
    let values: Vec<&str> = field["values"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap()).collect();
    assert_eq!(values.len(), 2, "{rows}");
    assert!(values.iter().any(|v| v.contains("鸦岭中心小学")) && values.iter().any(|v| v.contains("白沙小学")));
    // Neither node may write the status over it; both show it.
    for n in [&a, &b] {
        for args in
            [vec!["student", "status", no, "休学"], vec!["student", "transfer", no, "--out-of-county", "广东省"]]
        {
            let e = n.fails(&args);
            assert!(e.contains("学籍状态有并发修改冲突") && e.contains("conflicts resolve"), "{args:?}: {e}");
        }
        assert_eq!(n.json(&["status", "--json"])["conflicts"], 1);
    }

    // The county keeps 白沙's acceptance; both nodes receive it and settle.
    let keep =
        field["values"].as_array().unwrap().iter().find(|v| v["value"].as_str().unwrap().contains("白沙小学")).unwrap()
            ["revision"]
            .as_str()
            .unwrap()[..8]
            .to_string();
    hub.ok(&["conflicts", "resolve", no, "--keep", &keep]);
    assert_eq!(serde_json::from_str::<Value>(&hub.ok(&["conflicts", "--json"])).unwrap(), serde_json::json!([]));
    assert!(a.sync(&hub)["received"].as_u64().unwrap() >= 1);
    assert!(b.sync(&hub)["received"].as_u64().unwrap() >= 1);
    for n in [&a, &b] {
        let s = n.json(&["student", "show", no, "--json"]);
        assert_eq!(count(&s["conflicts"]), 0, "{s}");
        assert_eq!((s["status"].as_str(), s["school"].as_str()), (Some("在读"), Some("白沙小学")), "{s}");
        assert_eq!(n.json(&["status", "--json"])["conflicts"], 0);
    }
    // 白沙's again; 鸦岭's copy is read-only.
    b.ok(&["student", "status", no, "休学", "--reason", "因病"]);
    let r = b.sync(&hub);
    assert_eq!((r["sent"].as_u64(), count(&r["rejected"])), (Some(1), 0), "{r}");
    assert!(a.fails(&["student", "status", no, "休学"]).contains("只能查看"));
}

/// `run` started while the hub is down keeps retrying (a short back-off base for the test) and
/// syncs once the hub comes up: the hub's `node list` and `stats` show it.
#[test]
fn run_started_while_the_hub_is_down_syncs_after_a_retry_once_it_is_up() {
    use std::io::{BufRead, BufReader};
    let mut hub = Hub::new();
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let file = a.file("a.csv", roster(&kids(4)).as_bytes());
    a.ok(&["student", "import", &file.to_string_lossy()]);
    let mut run = a
        .command(&["run", "--now", "--hub", &hub.addr, "--retry-base-secs", "1"])
        .env("BAOXUE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = run.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Its first attempt fails: the hub is not there.
    let mut log = Vec::new();
    while !log.iter().any(|l: &String| l.contains("同步失败，稍后重试")) {
        let line = rx.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}: {log:?}"));
        log.push(line);
    }
    let nodes: Value = serde_json::from_str(&hub.ok(&["node", "list", "--json"])).unwrap();
    assert!(nodes[0]["last_sync"].is_null(), "{nodes}");
    hub.serve();
    // Until `serve` holds the store (and answers for it on its control socket), a command would
    // take the store from under it.
    let started = Instant::now();
    while !hub.data.join("control.sock").exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    loop {
        let nodes: Value = serde_json::from_str(&hub.ok(&["node", "list", "--json"])).unwrap();
        if nodes[0]["last_sync"].is_string() {
            assert_eq!(nodes[0]["received"], 4, "{nodes}");
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            while let Ok(line) = rx.try_recv() {
                log.push(line);
            }
            panic!("run never synced after the hub came up: {nodes}\n{}", log.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let stats: Value = serde_json::from_str(&hub.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["revisions"], 4, "{stats}");
    let pid = run.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(run.wait().unwrap().success(), "run exits 0 on SIGTERM");
    while let Ok(line) = rx.try_recv() {
        log.push(line);
    }
    assert!(log.iter().filter(|l| l.contains("同步失败，稍后重试")).count() >= 1, "{log:?}");
}

/// Issue 13 point 1 (籍随人走, 003 §一(四)) over real QUIC between two townships: 鸦岭 has an open
/// case when it transfers the child to 白沙小学; 白沙's `student accept` closes it as 转学核实 on
/// the acceptance date, and the clock stops there at 白沙, at the hub and at 鸦岭 once synced
/// (day before, of and after the acceptance). An unexcused absence at the new school after
/// the acceptance, recorded before the closing reached 鸦岭 or the hub, is kept and opens a new
/// case at 白沙 from that absence.
#[test]
fn a_transfer_mid_case_closes_it_everywhere_and_a_new_absence_opens_a_case_at_the_new_township() {
    let (hub, a, b, kids) = two_townships();
    let no = kids[0].student_no.as_str();
    // Mon 10-12: unexcused, the case opens at 鸦岭; Wed 10-14: transferred to 白沙小学.
    a.ok(&["absence", no, "--kind", "unexcused", "--date", "2026-10-12"]);
    let old = a.json(&["case", "list", "--open", "--json"])[0]["id"].as_str().unwrap().to_string();
    a.ok(&["student", "transfer", no, "--to-school", "白沙小学", "--date", "2026-10-14"]);
    a.sync(&hub);
    b.sync(&hub);
    // Thu 10-15: 白沙 accepts; the case closes as 转学核实 that day.
    let out = b.ok(&["student", "accept", no, "--date", "2026-10-15"]);
    assert!(out.contains("转学核实") && out.contains(&old), "{out}");
    let shown = b.json(&["case", "show", &old, "--json"]);
    assert_eq!(
        (shown["outcome"].as_str(), shown["closed"].as_str()),
        (Some("transferred"), Some("2026-10-15")),
        "{shown}"
    );
    // Fri 10-16 at the new school, before the closing reached anyone else: kept, and a new case
    // at 白沙 whose clock runs from it.
    let out = b.ok(&["absence", no, "--kind", "unexcused", "--date", "2026-10-16"]);
    assert!(out.contains("已自动立案"), "{out}");
    let open_b = b.json(&["case", "list", "--open", "--json"]);
    assert_eq!(count(&open_b), 1, "{open_b}");
    assert_eq!(open_b[0]["clock_start"], "2026-10-16", "{open_b}");
    let new = open_b[0]["id"].as_str().unwrap().to_string();
    assert_ne!(new, old);

    // 鸦岭 has not synced yet: its own alerts still show the old case on the day before.
    let rules_at = |n: &Node, d: &str| -> Vec<String> {
        n.json(&["alerts", "--as-of", d, "--json"])
            .as_array()
            .unwrap()
            .iter()
            .map(|x| format!("{}@{}", x["subject"].as_str().unwrap(), x["township"].as_str().unwrap()))
            .collect()
    };
    b.sync(&hub);
    a.sync(&hub);
    // At 鸦岭, once synced: closed 转学核实 on 10-15; alerts on the day before, none from the day of.
    let at_a = a.json(&["case", "show", &old, "--json"]);
    assert_eq!(
        (at_a["outcome"].as_str(), at_a["closed"].as_str()),
        (Some("transferred"), Some("2026-10-15")),
        "{at_a}"
    );
    assert!(rules_at(&a, "2026-10-14").iter().any(|s| s.starts_with(&old)), "the day before the acceptance");
    for d in ["2026-10-15", "2026-10-16", "2026-11-30"] {
        assert!(rules_at(&a, d).is_empty(), "鸦岭 on {d}: {:?}", rules_at(&a, d));
    }
    // At the hub: the old case raises nothing from the acceptance on; the new one is 白沙's,
    // from its own day 0.
    let hub_alerts = |d: &str| -> Value { serde_json::from_str(&hub.ok(&["alerts", "--as-of", d, "--json"])).unwrap() };
    for d in ["2026-10-15", "2026-10-16", "2026-11-30"] {
        let all = hub_alerts(d);
        let about_old: Vec<&Value> =
            all.as_array().unwrap().iter().filter(|x| x["subject"].as_str() == Some(old.as_str())).collect();
        assert!(about_old.is_empty(), "hub on {d}: {about_old:?}");
    }
    let later = hub_alerts("2026-11-30");
    let about_new: Vec<&Value> =
        later.as_array().unwrap().iter().filter(|x| x["subject"].as_str() == Some(new.as_str())).collect();
    assert!(!about_new.is_empty(), "{later}");
    assert!(about_new.iter().all(|x| x["township"] == "白沙" && x["since"] == "2026-10-16"), "{about_new:?}");
    // 白沙 sees its new case's alerts; the child in school at the new school raises none before it.
    assert!(rules_at(&b, "2026-10-15").is_empty(), "{:?}", rules_at(&b, "2026-10-15"));
    assert!(rules_at(&b, "2026-10-16").iter().any(|s| s.starts_with(&new)));
}

/// A served hub with two township nodes, 鸦岭 (two pupils imported on 2026-09-01) and 白沙
/// (none yet): the setting of the transfer tests.
fn two_townships() -> (Hub, Node, Node, Vec<Kid>) {
    let mut hub = Hub::new();
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let b = Node::from_bundle(&hub.bundle("白沙中心校", "白沙"));
    let kids = kids(2);
    let file = a.file("a.csv", roster(&kids).as_bytes());
    a.ok(&["student", "import", &file.to_string_lossy(), "--date", "2026-09-01"]);
    hub.serve();
    (hub, a, b, kids)
}
