//! The node's control socket: while a server of the node holds the store (here this test, as
//! the node's web app will), the `baoxue-node` binary's commands run there — a write (an
//! absence, from a relative roster path and the caller's operator) lands in the held store, a
//! read sees it, a bad command fails with its own line and exit 1; `init` is not sent.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use baoxue_node::cli::{run, Cli};
use baoxue_node::Ledger;
use baoxue_shared::RecordKind;
use clap::Parser;

const ORG: &str = "乡镇,学校,类型\n鸦岭,鸦岭中心小学,小学\n";
const ROSTER: &str =
    "学籍号,身份证号,姓名,性别,出生日期,学校,年级,班级,户籍乡镇,户籍村,入学年份,特殊群体,监护人,监护人电话\n\
G11010520160309002X,,张三,女,2016-03-09,鸦岭中心小学,4,1班,鸦岭,东村,2022,,张父,13900000000\n";

fn node(data: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baoxue-node"))
        .arg("--data")
        .arg(data)
        .args(args)
        .current_dir(cwd)
        .env("BAOXUE_OPERATOR", "刘老师")
        .output()
        .unwrap()
}

#[test]
fn commands_run_in_the_server_that_holds_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    std::fs::write(tmp.path().join("org.csv"), ORG).unwrap();
    std::fs::write(tmp.path().join("r.csv"), ROSTER).unwrap();
    let org = tmp.path().join("org.csv");
    let argv = ["baoxue-node", "--data", data.to_str().unwrap(), "init", "--county-code", "110105"];
    run(Cli::parse_from(argv.iter().copied().chain(["--township", "鸦岭", "--org", org.to_str().unwrap()]))).unwrap();

    // The server: holds the store and listens.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ledger = Arc::new(Ledger::open(&data).unwrap());
    let listener =
        rt.block_on(async { baoxue_node::control::serve(ledger.clone(), Arc::new(Mutex::new(()))) }).unwrap();

    // A roster named relative to the caller's directory, imported by the server.
    let out = node(&data, tmp.path(), &["student", "import", "r.csv", "--date", "2026-09-01"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("已导入 1 名学生"), "{out:?}");
    let out =
        node(&data, tmp.path(), &["absence", "G11010520160309002X", "--kind", "unexcused", "--date", "2026-09-07"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Written in the held store, by the caller's operator.
    let cases = ledger.all(RecordKind::Case).unwrap();
    assert_eq!(cases.len(), 1, "the unexcused absence opened a case");
    let student = ledger.student("G11010520160309002X").unwrap();
    let history = ledger.store.history(student.id).unwrap();
    assert!(
        history.iter().all(|r| r.author == "刘老师"),
        "{:?}",
        history.iter().map(|r| &r.author).collect::<Vec<_>>()
    );

    // A read, as JSON.
    let out = node(&data, tmp.path(), &["case", "list", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");

    // A failing command: its own line, exit 1.
    let out = node(&data, tmp.path(), &["student", "show", "G000000000000000000"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("错误："), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // `init`, `join`, `sync` and `run` are never sent.
    let init = Cli::parse_from(["baoxue-node", "init", "--bundle", "b"]).cmd;
    assert!(!baoxue_node::cli::forwardable(&init));
    let alerts = Cli::parse_from(["baoxue-node", "alerts"]).cmd;
    assert!(baoxue_node::cli::forwardable(&alerts));

    // The server gone (socket removed), a command opens the store itself.
    listener.stop();
    drop(ledger);
    assert!(!data.join(baoxue_node::control::SOCKET).exists());
    let out = node(&data, tmp.path(), &["status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
