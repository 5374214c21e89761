//! Two nodes exchanging revisions with `Store::apply`, as sync does:
//! - two nodes of one township editing a student offline: edits of different fields merge;
//!   edits of the same field stay a visible conflict, which the nodes refuse to write over,
//!   until the county's resolving revision (`conflicts resolve`) reaches them;
//! - a transfer to another township: the target township's node accepts it, after which the
//!   student is read-only at the old township.

use std::path::Path;

use baoxue_node::cli::{run, Cli};
use baoxue_node::Ledger;
use baoxue_shared::revision::Assign;
use baoxue_shared::sync::HUB_ORIGIN;
use baoxue_shared::{Change, Date, Field, RecordKind, Value as V};
use clap::Parser;
use serde_json::Value;

const ORG: &str = "乡镇,学校,类型\n鸦岭,鸦岭中心小学,小学\n白沙,白沙小学,小学\n";
const ROSTER: &str =
    "学籍号,身份证号,姓名,性别,出生日期,学校,年级,班级,户籍乡镇,户籍村,入学年份,特殊群体,监护人,监护人电话\n\
G11010520160309002X,,张三,女,2016-03-09,鸦岭中心小学,4,1班,鸦岭,东村,2022,,张父,13900000000\n";
const STUDENT: &str = "G11010520160309002X";

fn try_cli(data: &Path, args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["baoxue-node", "--data", data.to_str().unwrap()];
    argv.extend_from_slice(args);
    run(Cli::parse_from(argv)).map(|o| o.text).map_err(|e| e.to_string())
}

fn cli(data: &Path, args: &[&str]) -> String {
    try_cli(data, args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Two initialised nodes (townships given) sharing the org file, and the roster's path.
fn two(tmp: &Path, ta: &str, tb: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let org = tmp.join("org.csv");
    std::fs::write(&org, ORG).unwrap();
    let roster = tmp.join("r.csv");
    std::fs::write(&roster, ROSTER).unwrap();
    for (d, t) in [(&a, ta), (&b, tb)] {
        cli(d, &["init", "--county-code", "110105", "--township", t, "--org", org.to_str().unwrap()]);
    }
    (a, b, roster)
}

fn show(data: &Path) -> Value {
    serde_json::from_str(&cli(data, &["student", "show", STUDENT, "--json"])).unwrap()
}

/// Sends every revision `from` holds to `to`.
fn exchange(from: &Path, to: &Path) {
    let revs = {
        let a = Ledger::open(from).unwrap();
        let log = a.store.log_range(0, usize::MAX).unwrap();
        log.into_iter().map(|(_, e)| a.store.log_revision(&e).unwrap().unwrap()).collect::<Vec<_>>()
    };
    let b = Ledger::open(to).unwrap();
    b.store.apply(&revs, Some("peer")).unwrap();
}

#[test]
fn different_fields_merge_same_field_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, roster) = two(tmp.path(), "鸦岭", "鸦岭");
    cli(&a, &["student", "import", roster.to_str().unwrap(), "--date", "2026-09-01", "--by", "甲"]);
    exchange(&a, &b);
    assert_eq!(show(&b)["name"], "张三");

    // Different fields, concurrently: both survive.
    cli(&a, &["student", "edit", STUDENT, "--class", "2班", "--by", "甲"]);
    cli(&b, &["student", "edit", STUDENT, "--phone", "13811112222", "--by", "乙"]);
    exchange(&a, &b);
    exchange(&b, &a);
    for d in [&a, &b] {
        let s = show(d);
        assert_eq!((s["class"].as_str(), s["phone"].as_str()), (Some("2班"), Some("13811112222")));
        assert!(s["conflicts"].as_array().unwrap().is_empty());
    }

    // The same field, concurrently: a conflict, visible, on both sides.
    cli(&a, &["student", "edit", STUDENT, "--guardian", "张母", "--by", "甲"]);
    cli(&b, &["student", "edit", STUDENT, "--guardian", "张奶奶", "--by", "乙"]);
    exchange(&a, &b);
    exchange(&b, &a);
    for d in [&a, &b] {
        assert_eq!(show(d)["conflicts"], serde_json::json!(["guardian"]));
        let human = cli(d, &["student", "show", STUDENT]);
        assert!(human.contains("张母") && human.contains("张奶奶") && human.contains("冲突"), "{human}");
        let st: Value = serde_json::from_str(&cli(d, &["status", "--json"])).unwrap();
        assert_eq!(st["conflicts"], 1);
        let alerts: Value = serde_json::from_str(&cli(d, &["alerts", "--json"])).unwrap();
        assert!(
            alerts.as_array().unwrap().iter().any(|x| x["message"].as_str().unwrap().contains("监护人")),
            "{alerts}"
        );
    }

    // Neither node may settle it by writing over both values, not even with one of them; other
    // fields stay editable.
    for (d, v) in [(&a, "张母"), (&b, "张外婆")] {
        let e = try_cli(d, &["student", "edit", STUDENT, "--guardian", v, "--by", "甲"]).unwrap_err();
        assert!(e.contains("G11010") && e.contains("张三") && e.contains("监护人"), "{e}");
        assert!(e.contains("县级平台") && e.contains("conflicts resolve"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        cli(d, &["student", "edit", STUDENT, "--class", "3班", "--by", "甲"]);
    }
    assert_eq!(show(&a)["conflicts"], serde_json::json!(["guardian"]));

    // The county's resolution (what `baoxue-hub conflicts resolve` commits) settles it everywhere.
    let county = tmp.path().join("county");
    let org = tmp.path().join("org.csv");
    cli(&county, &["init", "--county-code", "110105", "--township", "鸦岭", "--org", org.to_str().unwrap()]);
    exchange(&a, &county);
    exchange(&b, &county);
    {
        let c = Ledger::open(&county).unwrap();
        let rec = c.store.record(Ledger::open(&a).map(|l| l.student(STUDENT).unwrap().id).unwrap()).unwrap().unwrap();
        let heads = rec.register(Field::Guardian).unwrap().head_ids();
        assert_eq!(heads.len(), 2);
        let keep = Assign { field: Field::Guardian, value: V::OptText(Some("张母".into())), supersedes: heads };
        c.store
            .commit(
                HUB_ORIGIN,
                "县教育局",
                Date::ymd(2026, 9, 20),
                vec![(rec.id, RecordKind::Student, Change::Update(vec![keep]))],
            )
            .unwrap();
    }
    exchange(&county, &a);
    exchange(&county, &b);
    for d in [&a, &b] {
        let s = show(d);
        assert!(s["conflicts"].as_array().unwrap().is_empty(), "{s}");
        assert_eq!(s["guardian"], "张母");
    }
    cli(&a, &["student", "edit", STUDENT, "--guardian", "张父", "--by", "甲"]);
}

/// A status in conflict (the child came back at 鸦岭 while 白沙 accepted the transfer): every
/// command that would write the status refuses, naming the student and the field.
#[test]
fn a_status_in_conflict_is_refused_by_every_status_command() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, roster) = two(tmp.path(), "鸦岭", "白沙");
    cli(&a, &["student", "import", roster.to_str().unwrap(), "--date", "2026-09-01"]);
    cli(&a, &["student", "transfer", STUDENT, "--to-school", "白沙小学", "--date", "2026-10-08"]);
    exchange(&a, &b);
    cli(&a, &["student", "status", STUDENT, "在读", "--date", "2026-10-09"]);
    cli(&b, &["student", "accept", STUDENT, "--date", "2026-10-09"]);
    exchange(&a, &b);
    exchange(&b, &a);
    for d in [&a, &b] {
        assert_eq!(show(d)["conflicts"], serde_json::json!(["status"]), "{}", d.display());
        for args in [
            vec!["student", "status", STUDENT, "休学"],
            vec!["student", "transfer", STUDENT, "--out-of-county", "广东省东莞市"],
            vec!["student", "accept", STUDENT],
        ] {
            let e = try_cli(d, &args).unwrap_err();
            assert!(e.contains("张三") && e.contains("学籍状态有并发修改冲突"), "{args:?}: {e}");
            assert!(e.contains("conflicts resolve"), "{args:?}: {e}");
        }
    }
}

#[test]
fn transfer_to_another_township_is_accepted_there_then_read_only_here() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, roster) = two(tmp.path(), "鸦岭", "白沙");
    cli(&a, &["student", "import", roster.to_str().unwrap(), "--date", "2026-09-01"]);
    cli(&a, &["student", "transfer", STUDENT, "--to-school", "白沙小学", "--date", "2026-10-08"]);
    // The old township cannot accept for the new one.
    assert!(try_cli(&a, &["student", "accept", STUDENT]).unwrap_err().contains("白沙"));
    exchange(&a, &b);
    // At 白沙 the pending transfer is listed, and accepted.
    let listed: Value = serde_json::from_str(&cli(&b, &["student", "list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    cli(&b, &["student", "accept", STUDENT, "--date", "2026-10-09"]);
    cli(&b, &["absence", STUDENT, "--kind", "sick", "--date", "2026-10-12"]);
    exchange(&b, &a);
    // Back at 鸦岭: the student now belongs to 白沙 and is read-only here.
    let s = show(&a);
    assert_eq!((s["status"].as_str(), s["school"].as_str()), (Some("在读"), Some("白沙小学")));
    assert_eq!(s["read_only"], true);
    for args in [
        vec!["student", "edit", STUDENT, "--phone", "1"],
        vec!["absence", STUDENT, "--kind", "unexcused"],
        vec!["case", "open", STUDENT],
        vec!["student", "status", STUDENT, "休学"],
    ] {
        let e = try_cli(&a, &args).unwrap_err();
        assert!(e.contains("白沙") && e.contains("不能修改"), "{args:?}: {e}");
    }
    let human = cli(&a, &["student", "show", STUDENT]);
    assert!(human.contains("只读"), "{human}");
    let own: Value = serde_json::from_str(&cli(&a, &["student", "list", "--json"])).unwrap();
    assert!(own.as_array().unwrap().is_empty());
    let all: Value = serde_json::from_str(&cli(&a, &["student", "list", "--all", "--json"])).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
}
