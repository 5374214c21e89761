//! Data at rest (issue 14, point 4): after real activity — a roster imported, absences, cases,
//! a sync, the hub's reports — no file of a node's or the hub's data directory holds an ID
//! number, a child's or guardian's name, a phone number or a PEM header; directories are 0700
//! and files 0600 though the commands ran under a umask of 022.

use std::path::{Path, PathBuf};

use baoxue::{roster, Hub, Kid, Node};

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let t = std::fs::symlink_metadata(&p).unwrap().file_type();
        if t.is_dir() {
            out.extend(files(&p));
        } else if t.is_file() {
            out.push(p);
        }
    }
    out
}

fn dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(dirs(&p));
        }
    }
    out
}

/// (file, needle) for every needle found in a file under `dir`.
fn leaks(dir: &Path, needles: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for p in files(dir) {
        let bytes = std::fs::read(&p).unwrap();
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((p.display().to_string(), n.clone()));
            }
        }
    }
    found
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn no_id_name_or_key_lies_in_clear_in_a_node_or_hub_data_directory() {
    let kids: Vec<Kid> = (0..12)
        .map(|i| {
            let mut k = Kid::new(700 + i, "鸦岭中心小学", 1 + (i % 6) as u8);
            k.name = format!("欧阳晓珺{i}");
            k
        })
        .collect();
    let mut needles: Vec<String> = kids.iter().flat_map(|k| [k.id.clone(), k.name.clone()]).collect();
    needles.extend(["欧阳晓珺".into(), "13900000".into(), "-----BEGIN".into(), "PRIVATE KEY".into()]);

    let mut hub = Hub::new();
    let node = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let file = node.file("roster.csv", roster(&kids).as_bytes());
    node.ok(&["student", "import", &file.to_string_lossy(), "--date", "2026-09-01"]);
    for day in ["2026-09-07", "2026-09-08"] {
        node.ok(&["absence", &kids[0].student_no, "--kind", "unexcused", "--date", day]);
    }
    node.ok(&["absence", &kids[1].student_no, "--kind", "sick", "--date", "2026-09-07"]);
    node.ok(&[
        "case",
        "act",
        &kids[0].student_no,
        "--kind",
        "call",
        "--by",
        "刘老师",
        "--text",
        "监护人欧阳晓珺家长称孩子不愿上学",
        "--date",
        "2026-09-07",
    ]);
    // The school app: a login and a full-ID view, both written to its audit log (which names
    // the child, so it must be sealed like the store).
    {
        use super::school_app::{add_user, http, http_login, serve};
        let p = add_user(&node, &["wang", "--name", "王校长", "--role", "principal", "--school", "鸦岭中心小学"]);
        let s = serve(&node);
        let (cookie, csrf) = http_login(&s.url, "wang", &p);
        let (_, _, page) = http(&s.url, "GET", &format!("/students?q={}", kids[0].student_no), &cookie, "");
        let hex = page
            .split("href=\"/students/")
            .skip(1)
            .filter_map(|r| r.split('"').next())
            .find(|h| h.len() >= 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .expect("the student's page")
            .to_string();
        let (status, _, _) =
            http(&s.url, "POST", &format!("/students/{hex}/full-id"), &cookie, &format!("_csrf={csrf}"));
        assert!(status == 200 || status == 303, "full-ID view: {status}");
        drop(s);
        let audit = baoxue_node::web::read_audit_log(&node.data).expect("audit log");
        assert!(audit.contains("full_id") && audit.contains(&kids[0].name), "{audit}");
        // `backup` carries the log (the bundle gave the county's key), `restore` brings it
        // back sealed under the new machine's key.
        let out = node.tmp.path().join("node.age");
        node.ok(&["backup", "--out", &out.to_string_lossy()]);
        let mut identity = hub.data.as_os_str().to_owned();
        identity.push(".backup-identity.txt");
        let back = Node::restored_from(&out, std::path::Path::new(&identity));
        let restored = baoxue_node::web::read_audit_log(&back.data).expect("restored audit log");
        assert!(restored.contains("full_id") && restored.contains(&kids[0].name), "{restored}");
        assert_eq!(leaks(&back.data, &needles), vec![], "restored node");
    }
    hub.serve();
    let r = node.sync(&hub);
    assert!(r["sent"].as_u64().unwrap() > 12, "{r}");
    assert_eq!(node.json(&["status", "--json"])["unacknowledged"], 0);
    // The bureau's views (the snapshot is saved) while serving, then once more on its own.
    hub.ok(&["report", "township-table", "--as-of", "2026-09-30"]);
    hub.ok(&["alerts", "--as-of", "2026-09-30"]);
    hub.stop();
    let alerts = hub.ok(&["alerts", "--as-of", "2026-09-30", "--json"]);
    assert!(alerts.contains("欧阳晓珺0"), "the hub reads what it sealed: {alerts}");
    assert!(node.ok(&["student", "list"]).contains("欧阳晓珺3"));
    assert!(hub.data.join("nightly").join("snapshot.bin").is_file());

    // The search finds what lies in clear (here: the roster the test wrote outside)…
    let outside = leaks(node.tmp.path(), &needles);
    assert!(outside.iter().any(|(f, n)| f.ends_with("roster.csv") && n == &kids[0].id), "{outside:?}");
    // …and nothing in the data directories.
    assert_eq!(leaks(&node.data, &needles), vec![], "node");
    assert_eq!(leaks(&hub.data, &needles), vec![], "hub");

    #[cfg(unix)]
    for root in [&node.data, &hub.data] {
        for d in dirs(root) {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
        }
        for f in files(root) {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }
    // The key files lie outside, private, and were named at init.
    #[cfg(unix)]
    {
        assert_eq!(mode(&hub.tmp.path().join("hub.key")), 0o600);
        assert_eq!(mode(&node.tmp.path().join("data.key")), 0o600);
    }
}

/// A hand-run `init` under a umask of 022 still makes the directory private (the binaries set
/// their own umask), and says where the key is.
#[test]
fn init_names_its_plain_key_file_and_warns() {
    let hub = Hub::new();
    let node = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("n2");
    let bundle = hub.bundle("白沙中心校", "白沙");
    let out = std::process::Command::new(baoxue::bin("baoxue-node"))
        .arg("--data")
        .arg(&data)
        .args(["init", "--bundle", &bundle.to_string_lossy()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = tmp.path().join("n2.key");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&key.display().to_string()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("警告"), "{}", String::from_utf8_lossy(&out.stderr));
    #[cfg(unix)]
    assert_eq!(mode(&data), 0o700);
    drop(node);
}
