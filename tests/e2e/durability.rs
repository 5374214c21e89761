//! Issue 2 point 7: a command that reported success has already flushed. Run the real binary,
//! wait for its success line, `kill -9` it at once, reopen and find every reported item. And,
//! since a process that exits normally closes its store (sled flushes on close), also abort the
//! process the instant a commit returns (`BAOXUE_TEST_ABORT_AFTER_COMMIT`): no output, no close,
//! so what survives is only what the commit itself made durable.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use baoxue::{kids, roster, Node};

/// Spawns a command, waits for a stdout line containing `marker`, then kills it with SIGKILL.
fn run_and_kill(node: &Node, args: &[&str], marker: &str) -> String {
    let mut child = node.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut seen = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read stdout");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            break;
        }
    }
    let _ = child.kill(); // SIGKILL on Unix; the process may already have exited
    let _ = child.wait();
    assert!(seen.contains(marker), "{args:?} never printed {marker:?}: {seen}");
    seen
}

#[test]
fn import_then_kill_9_loses_nothing() {
    let node = Node::new();
    let kids = kids(3000);
    let f = node.file("big.csv", roster(&kids).as_bytes());
    let out = run_and_kill(&node, &["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"], "已导入");
    assert!(out.contains("已导入 3000 名学生"), "{out}");
    let list = node.json(&["student", "list", "--unmasked", "--json"]);
    let got: std::collections::BTreeSet<&str> =
        list.as_array().unwrap().iter().map(|s| s["student_no"].as_str().unwrap()).collect();
    assert_eq!(got.len(), 3000);
    for k in &kids {
        assert!(got.contains(k.student_no.as_str()), "{} lost", k.name);
    }
    assert_eq!(node.json(&["status", "--json"])["revisions"], 3000);
}

#[test]
fn absences_then_kill_9_lose_nothing() {
    let node = Node::new();
    let kids = kids(20);
    let f = node.file("r.csv", roster(&kids).as_bytes());
    node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    for (i, k) in kids.iter().enumerate() {
        let kind = if i % 2 == 0 { "unexcused" } else { "sick" };
        run_and_kill(&node, &["absence", &k.student_no, "--kind", kind, "--date", "2026-09-07"], "已记录缺勤");
    }
    for (i, k) in kids.iter().enumerate() {
        let j = node.json(&["student", "show", &k.student_no, "--json"]);
        assert_eq!(j["absences"], 1, "{}: {j}", k.name);
        assert_eq!(j["cases"].as_array().unwrap().len(), usize::from(i % 2 == 0), "{}", k.name);
    }
    let st = node.json(&["status", "--json"]);
    assert_eq!(st["cases"], 10);
    assert_eq!(st["revisions"], 20 + 20 + 10);
}

/// Runs a command that aborts as soon as its commit returns; requires that it died by SIGABRT
/// before printing anything (so nothing after the commit ran).
fn run_aborting_after_commit(node: &Node, args: &[&str]) {
    let out = node.command(args).env("BAOXUE_TEST_ABORT_AFTER_COMMIT", "1").output().expect("spawn");
    assert_eq!(out.status.signal(), Some(6), "{args:?} did not abort after its commit: {:?}", out.status);
    assert!(out.stdout.is_empty(), "{args:?} printed before aborting: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_commit_is_durable_the_moment_it_returns() {
    let node = Node::new();
    let kids = kids(2000);
    let f = node.file("r.csv", roster(&kids).as_bytes());
    run_aborting_after_commit(&node, &["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    let st = node.json(&["status", "--json"]);
    assert_eq!((st["students"].as_u64(), st["revisions"].as_u64()), (Some(2000), Some(2000)), "{st}");

    // An unexcused absence commits the absence and the case it opens in one go.
    let k = &kids[7].student_no;
    run_aborting_after_commit(&node, &["absence", k, "--kind", "unexcused", "--date", "2026-09-07"]);
    let j = node.json(&["student", "show", k, "--json"]);
    assert_eq!(j["absences"], 1, "{j}");
    assert_eq!(j["cases"].as_array().unwrap().len(), 1, "{j}");

    for args in [
        vec!["case", "act", k.as_str(), "--kind", "call", "--by", "刘老师", "--date", "2026-09-07"],
        vec!["case", "confirm", k.as_str(), "--date", "2026-09-14"],
        vec!["case", "close", k.as_str(), "--outcome", "returned", "--date", "2026-09-25"],
    ] {
        run_aborting_after_commit(&node, &args);
    }
    let cases = node.json(&["case", "list", "--json"]);
    let case = &cases.as_array().unwrap()[0];
    let shown = node.json(&["case", "show", case["id"].as_str().unwrap(), "--json"]);
    assert_eq!(shown["actions"].as_array().unwrap().len(), 1, "{shown}");
    assert_eq!(shown["outcome"], "returned", "{shown}");
    // Roster, absence + case, the call, then confirm and close each write the case and the
    // student's status.
    assert_eq!(node.json(&["status", "--json"])["revisions"], 2000 + 2 + 1 + 2 + 2);
    assert_eq!(node.json(&["student", "show", k, "--json"])["status"], "在读");
}
