//! The `baoxue-hub` binary end to end, on temporary data directories: `census import --json`
//! (with a mistyped ID) whose 失学 case reaches the 户籍 township's node over QUIC and no other,
//! `baseline import` then `report consolidation --json` against numbers computed by hand, and
//! the CSV reports (BOM, title and date lines, no full ID number anywhere). Also makes cargo
//! build the binary before the workspace's end-to-end tests run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use baoxue_hub::data::HubDir;
use baoxue_node::cmd::student::{import as roster_import, ImportArgs, Stamp};
use baoxue_node::config::NodeConfig;
use baoxue_node::sync::{init_from_bundle, sync_once, SyncReport};
use baoxue_node::Ledger;
use baoxue_shared::ids::{make_id, IdNumber};
use baoxue_shared::model::{CaseSource, CaseState, Cause, Placement, Sex, Status, TransferTarget};
use baoxue_shared::revision::{Assign, CaseInit, Child as CaseChild, StudentInit};
use baoxue_shared::testkit::pupil;
use baoxue_shared::{Change, Date, Field, RecordId, RecordKind, RevId, Value};
use baoxue_store::Store;
use serde_json::Value as Json;

#[test]
fn help_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_baoxue-hub")).arg("--help").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs the hub binary on `data`; returns (exit code, stdout, stderr).
fn hub(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baoxue-hub"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("BAOXUE_OPERATOR", "县教育局基教股")
        .env_remove("BAOXUE_DATA")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs and requires success; returns stdout.
#[track_caller]
fn ok(data: &Path, args: &[&str]) -> String {
    let (code, out, err) = hub(data, args);
    assert_eq!(code, 0, "baoxue-hub {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

const ORG: &str = "乡镇,学校,类型\n鸦岭,鸦岭小学,小学\n鸦岭,鸦岭初中,初中\n白沙,白沙小学,小学\n城关,城关初中,初中\n";

/// `init` and `org import` in `<tmp>/hub`.
fn new_county(tmp: &Path) -> PathBuf {
    let data = tmp.join("hub");
    ok(&data, &["init", "--county-code", "410329", "--name", "伊川县", "--policy", "yichuan"]);
    let org = tmp.join("org.csv");
    std::fs::write(&org, ORG).unwrap();
    ok(&data, &["org", "import", &org.to_string_lossy()]);
    data
}

/// 18 digits (or 17 and X) standing alone: a full ID number.
fn full_ids(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_ascii_digit() && (i == 0 || !c[i - 1].is_ascii_alphanumeric() || c[i - 1] == 'G') {
            let mut j = i;
            while j < c.len() && c[j].is_ascii_digit() {
                j += 1;
            }
            if j - i == 17 && j < c.len() && c[j] == 'X' {
                j += 1;
            }
            if j - i == 18 && (j == c.len() || !c[j].is_ascii_alphanumeric()) {
                out.push(c[i..j].iter().collect());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

// ---- census import at the hub, routed to the 户籍 township's node -------------------------------

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `baoxue-hub serve`, killed when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, port: u16) -> Serve {
    Serve(
        Command::new(env!("CARGO_BIN_EXE_baoxue-hub"))
            .args(["--data", &data.to_string_lossy(), "serve", "--listen", &format!("127.0.0.1:{port}"), "--no-web"])
            .env("BAOXUE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// A node set up from the bundle `node add` wrote.
fn node(tmp: &Path, bundle: &Path, name: &str) -> Ledger {
    let dir = tmp.join(format!("node-{name}"));
    let store = Store::open(&dir).unwrap();
    let config: NodeConfig = init_from_bundle(&store, &std::fs::read_to_string(bundle).unwrap()).unwrap();
    Ledger { store, config, dir }
}

/// Syncs, retrying while the hub process starts.
async fn sync(l: &Ledger, addr: &str) -> SyncReport {
    let mut last = None;
    for _ in 0..80 {
        match sync_once(&l.store, &l.config, Some(addr)).await {
            Ok(r) => return r,
            Err(e) => last = Some(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("sync of {} never succeeded: {last:?}", l.config.origin);
}

/// A roster line (docs/CLI.md "Roster CSV") for a child with a G 学籍号.
fn roster_line(id: &IdNumber, name: &str, sex: &str, birth: &str, school: &str, grade: u8) -> String {
    format!("G{id},{id},{name},{sex},{birth},{school},{grade},1班,鸦岭,东庄村,,,,\n", id = id.as_str())
}

/// Every case of a node's own township, as `case list --json` prints them.
fn case_list(l: &Ledger) -> Vec<Json> {
    let out = baoxue_node::cmd::case::list(l, false, true, false).unwrap();
    serde_json::from_str::<Json>(&out.text).unwrap().as_array().unwrap().clone()
}

/// Names of the children of every case record a node holds (whatever its township).
fn held_case_children(l: &Ledger) -> Vec<String> {
    l.store
        .records(Some(RecordKind::Case))
        .map(|r| r.unwrap())
        .filter_map(|r| r.case.as_ref().map(|c| c.child.name.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn census_import_json_counts_and_the_case_reaches_only_the_hukou_townships_node() {
    let tmp = tempfile::tempdir().unwrap();
    let data = new_county(tmp.path());
    let mut ledgers = Vec::new();
    for (name, township) in [("鸦岭中心校", "鸦岭"), ("白沙中心校", "白沙"), ("城关中心校", "城关")]
    {
        let bundle = tmp.path().join(format!("{township}.bundle"));
        ok(&data, &["node", "add", name, "--township", township, "--out", &bundle.to_string_lossy()]);
        ledgers.push(node(tmp.path(), &bundle, name));
    }
    let (yaling, baisha, chengguan) = (&ledgers[0], &ledgers[1], &ledgers[2]);

    // 鸦岭's roll: 张伟 and 李娜, imported by the node's own `student import`.
    let zhang = make_id("410329", Date::ymd(2016, 3, 9).0, 123);
    let li = make_id("410329", Date::ymd(2012, 5, 2).0, 222);
    let roster = format!(
        "{}\n{}{}",
        baoxue_shared::roster::ROSTER_COLUMNS.join(","),
        roster_line(&zhang, "张伟", "男", "2016-03-09", "鸦岭小学", 3),
        roster_line(&li, "李娜", "女", "2012-05-02", "鸦岭初中", 7)
    );
    let roster_path = tmp.path().join("roster.csv");
    std::fs::write(&roster_path, roster).unwrap();
    let stamp = Stamp { author: "王老师".into(), date: Date::ymd(2025, 9, 1) };
    roster_import(yaling, &ImportArgs { file: &roster_path, dry_run: false, skip_bad: false }, &stamp).unwrap();

    let port = free_udp_port();
    let addr = format!("127.0.0.1:{port}");
    let _serve = serve(&data, port);
    assert_eq!(sync(yaling, &addr).await.sent, 2);

    // The police list: 张伟 with the last digit of his ID mistyped (suggested), 李娜 exact
    // (matched), 王强 of 白沙 on no roll (a 失学 case for 白沙), 赵大 aged 17 (no case).
    let mut wrong = zhang.as_str().to_string();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '1' { '2' } else { '1' });
    let wang = make_id("410329", Date::ymd(2014, 7, 7).0, 301);
    let zhao = make_id("410329", Date::ymd(2008, 1, 1).0, 303);
    let census = format!(
        "身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n\
         {wrong},张伟,男,2016-03-09,鸦岭,东庄村,\n\
         {li},李娜,女,2012-05-02,鸦岭,,\n\
         {wang},王强,男,2014-07-07,白沙,西沟村,留守儿童\n\
         {zhao},赵大,男,2008-01-01,城关,,\n",
        li = li.as_str(),
        wang = wang.as_str(),
        zhao = zhao.as_str()
    );
    let census_path = tmp.path().join("police.csv");
    std::fs::write(&census_path, census).unwrap();
    let file = census_path.to_string_lossy().to_string();
    // While `serve` holds the store, the command runs in the server (control.sock).
    let json: Json = serde_json::from_str(&ok(
        &data,
        &["census", "import", &file, "--source", "police", "--json", "--date", "2026-03-16"],
    ))
    .unwrap();
    assert_eq!(json, serde_json::json!({"matched": 1, "suggested": 1, "unmatched": 2, "cases_opened": 1}));

    // The same list again: nothing new opened (王强 has an open case); the human output names the
    // suggestion with masked IDs only.
    let human = ok(&data, &["census", "import", &file, "--source", "police", "--date", "2026-03-17"]);
    assert!(human.contains("匹配 1，疑似匹配 1，未匹配 2，立失学案件 0"), "{human}");
    assert!(human.contains("张伟") && human.contains(&zhang.masked()), "{human}");
    assert!(full_ids(&human).is_empty(), "{human}");

    for l in &ledgers {
        sync(l, &addr).await;
    }
    // 白沙's node holds the case and lists it; it is the Police's, opened on the import's date.
    let cases = case_list(baisha);
    assert_eq!(cases.len(), 1, "{cases:?}");
    let c = &cases[0];
    assert_eq!((c["name"].as_str(), c["township"].as_str()), (Some("王强"), Some("白沙")));
    assert_eq!((c["source"].as_str(), c["state"].as_str()), (Some("police"), Some("suspected")));
    assert_eq!(c["opened"], "2026-03-16");
    let text = baoxue_node::cmd::case::list(baisha, true, false, false).unwrap().text;
    assert!(text.contains("王强") && text.contains("共 1 个案件"), "{text}");
    // No other township's node received it (nor any case at all).
    for other in [yaling, chengguan] {
        assert!(case_list(other).is_empty(), "{}", other.config.origin);
        assert!(held_case_children(other).is_empty(), "{}: {:?}", other.config.origin, held_case_children(other));
    }
    // The hub's township table counts it in 白沙's census column.
    let table: Json =
        serde_json::from_str(&ok(&data, &["report", "township-table", "--json", "--as-of", "2026-03-31"])).unwrap();
    let row = table["rows"].as_array().unwrap().iter().find(|r| r["township"] == "白沙").unwrap().clone();
    assert_eq!((row["census_unreturned"].as_u64(), row["total"].as_u64()), (Some(1), Some(1)), "{table}");
}

// ---- baseline, consolidation and the CSV reports ------------------------------------------------

/// Writes to the hub's store directly (no `serve` running), the way a node's sync would.
struct Writer {
    store: Store,
    next: u16,
}

impl Writer {
    fn student(&mut self, date: Date, school: &str, grade: u8) -> RecordId {
        self.next += 2;
        let birth = Date::ymd(2025 - 5 - i32::from(grade), 3, 1);
        let init = StudentInit {
            sex: Sex::Male,
            ..pupil(&format!("学生{}", self.next), birth, self.next + 1, school, grade)
        };
        let r = self
            .store
            .commit(
                "鸦岭中心校",
                "王老师",
                date,
                vec![(
                    RecordId::created_by(RevId::random()),
                    RecordKind::Student,
                    Change::CreateStudent(Box::new(init)),
                )],
            )
            .unwrap();
        r[0].record
    }

    fn set(&self, rec: RecordId, kind: RecordKind, date: Date, field: Field, value: Value) {
        let heads = self.store.record(rec).unwrap().unwrap().register(field).map(|r| r.head_ids()).unwrap_or_default();
        let change = Change::Update(vec![Assign { field, value, supersedes: heads }]);
        self.store.commit("鸦岭中心校", "王老师", date, vec![(rec, kind, change)]).unwrap();
    }

    fn place(&self, s: RecordId, date: Date, status: Status, school: &str, transfer: Option<TransferTarget>) {
        let p = Placement { status, school: school.into(), transfer };
        self.set(s, RecordKind::Student, date, Field::Placement, Value::Placement(p));
    }
}

/// A rate read back from JSON (serde_json's parser may be one ulp off the printed value).
#[track_caller]
fn assert_rate(v: &Json, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("no rate: {v}"));
    assert!((got - want).abs() < 1e-12, "rate {got}, want {want}");
}

fn terms(u: &Json) -> [u64; 5] {
    ["graduates", "intake", "transfers_in", "transfers_out", "deaths"].map(|k| u[k].as_u64().unwrap())
}

fn township<'a>(r: &'a Json, name: &str) -> &'a Json {
    r["townships"].as_array().unwrap().iter().find(|u| u["name"] == name).unwrap()
}

/// 初中三年巩固率 for school year 2025 (grade 7 in 2023), as of 2026-06-30.
///
/// Roster of 2025-09-01, grade 9: 鸦岭初中 y1–y9, 城关初中 c1–c3. Then: y1 转出 out of the county
/// 2025-11-01; y2 转出 to 城关初中 2026-01-10, accepted 01-12; n1 arrives at 城关初中 in grade 9
/// 2026-02-01; c1 死亡 2026-03-01; y3 辍学 2026-04-01 (a roll case, confirmed).
/// G (grade 9, 在读, 2026-06-30): 鸦岭 y4–y9 (6); 城关 c2 c3 y2 n1 (4).
///
/// Without a baseline the roster is the cohort's first sight: I 12 (9 + 3, from the first
/// roster), Tin 1 (n1), Tout 1 (y1), X 1 (c1) → 10 / 11 at county level.
///
/// Baseline (counts up to 2025-09-10): 鸦岭初中 2023 grade 7: intake 10, in 1, out 2;
/// 城关初中: intake 4, death 1. With it, the roster predates the cutover and the terms are:
/// 鸦岭 G 6, I 10, Tin 1, Tout 2 + 1 (y1) + 1 (y2) = 4, X 0 → 6 / 7;
/// 城关 G 4, I 4, Tin 0 + 1 (y2) + 1 (n1) = 2, Tout 0, X 1 + 1 (c1) = 2 → 4 / 4;
/// county G 10, I 14, Tin 1 + 1 (n1) = 2, Tout 2 + 1 (y1) = 3, X 2 → 10 / 11.
fn junior_county(data: &Path) {
    let store = HubDir::new(data).open_store().unwrap();
    let mut w = Writer { store, next: 0 };
    let roster = Date::ymd(2025, 9, 1);
    let y: Vec<RecordId> = (0..9).map(|_| w.student(roster, "鸦岭初中", 9)).collect();
    let c: Vec<RecordId> = (0..3).map(|_| w.student(roster, "城关初中", 9)).collect();
    w.place(
        y[0],
        Date::ymd(2025, 11, 1),
        Status::TransferredOut,
        "鸦岭初中",
        Some(TransferTarget::OutOfCounty("郑州市".into())),
    );
    w.place(
        y[1],
        Date::ymd(2026, 1, 10),
        Status::TransferredOut,
        "鸦岭初中",
        Some(TransferTarget::School("城关初中".into())),
    );
    w.place(y[1], Date::ymd(2026, 1, 12), Status::Enrolled, "城关初中", None);
    w.student(Date::ymd(2026, 2, 1), "城关初中", 9);
    w.place(c[0], Date::ymd(2026, 3, 1), Status::Deceased, "城关初中", None);
    let case = w.store.record(y[2]).unwrap().unwrap();
    let init = CaseInit {
        student: Some(y[2]),
        child: CaseChild {
            name: case.name().to_string(),
            id_number: case.id_number().cloned(),
            student_no: case.student_no().cloned(),
            sex: Sex::Male,
            birth: case.birth().unwrap(),
            hukou_township: None,
            hukou_village: None,
            groups: vec![],
        },
        township: "鸦岭".into(),
        school: Some("鸦岭初中".into()),
        grade: Some(9),
        source: CaseSource::Roll,
        opened: Date::ymd(2026, 3, 25),
        clock_start: Date::ymd(2026, 3, 25),
        cause: Cause::Work,
        previous: None,
    };
    let k = w
        .store
        .commit(
            "鸦岭中心校",
            "王老师",
            Date::ymd(2026, 3, 25),
            vec![(RecordId::created_by(RevId::random()), RecordKind::Case, Change::CreateCase(Box::new(init)))],
        )
        .unwrap()[0]
        .record;
    w.set(k, RecordKind::Case, Date::ymd(2026, 4, 1), Field::CaseState, Value::CaseState(CaseState::Confirmed));
    w.place(y[2], Date::ymd(2026, 4, 1), Status::DroppedOut, "鸦岭初中", None);
}

#[test]
fn baseline_import_then_consolidation_and_csv_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let data = new_county(tmp.path());
    junior_county(&data);
    let report = |args: &[&str]| -> Json {
        let mut a = vec!["report", "consolidation", "--stage", "junior", "--json", "--as-of", "2026-06-30"];
        a.extend_from_slice(args);
        serde_json::from_str(&ok(&data, &a)).unwrap()
    };

    // No baseline: the first roster is the intake, marked so; the roster is not 转入.
    let r = report(&[]);
    assert_eq!((r["school_year"].as_i64(), r["stage"].as_str()), (Some(2025), Some("junior")));
    assert_eq!(terms(&r["county"]), [10, 12, 1, 1, 1], "{r}");
    assert_eq!(r["county"]["intake_from_first_roster"], 12);
    assert_rate(&r["county"]["rate"], 10.0 / 11.0);
    let md = ok(&data, &["report", "consolidation", "--stage", "junior", "--as-of", "2026-06-30"]);
    assert!(md.contains("入学人数取自系统首次花名册（无基线）"), "{md}");

    let baseline = tmp.path().join("baseline.csv");
    std::fs::write(
        &baseline,
        "学校,入学学年,入学年级,入学人数,转入,转出,死亡\n鸦岭初中,2023,7,10,1,2,0\n城关初中,2023-2024,七年级,4,,,1\n",
    )
    .unwrap();
    let out = ok(&data, &["baseline", "import", &baseline.to_string_lossy(), "--date", "2025-09-10"]);
    assert!(out.contains("2 行") && out.contains("2025-09-10"), "{out}");

    let r = report(&[]);
    assert_eq!(terms(&r["county"]), [10, 14, 2, 3, 2], "{r}");
    assert_rate(&r["county"]["rate"], 10.0 / 11.0);
    assert_eq!(r["county"]["intake_from_first_roster"], 0);
    assert_eq!(terms(township(&r, "鸦岭")), [6, 10, 1, 4, 0]);
    assert_rate(&township(&r, "鸦岭")["rate"], 6.0 / 7.0);
    assert_eq!(terms(township(&r, "城关")), [4, 4, 2, 0, 2]);
    assert_rate(&township(&r, "城关")["rate"], 1.0);
    assert!(township(&r, "城关").get("flag").is_none());
    assert_eq!(terms(township(&r, "白沙")), [0; 5]);

    // The CSV reports: BOM, the title and the date, then the header; no full ID anywhere.
    let csv = |name: &str| ok(&data, &["report", name, "--format", "csv", "--as-of", "2026-06-30"]);
    let dropout = csv("dropout");
    assert!(
        dropout.starts_with("\u{feff}2025学年辍学率统计\r\n统计日期,2026-06-30\r\n级别,单位,学年初在籍人数,"),
        "{dropout}"
    );
    // E is the first day's roll (n1 arrived in February: not in it); y3 is the one dropout.
    assert!(dropout.contains("\r\n全县,全县,12,1,8.33%,0,0,,12,1,8.33%\r\n"), "{dropout}");
    assert!(dropout.contains("\r\n乡镇,鸦岭,9,1,11.11%,"), "{dropout}");
    let table = csv("township-table");
    assert!(table.starts_with("\u{feff}各乡镇辍学学生未返校情况统计表\r\n统计日期,2026-06-30\r\n乡镇,"), "{table}");
    assert!(table.contains("\r\n鸦岭,1,0,0,1\r\n") && table.ends_with("全县合计,1,0,0,1\r\n"), "{table}");
    let ranking = csv("ranking");
    assert!(
        ranking
            .starts_with("\u{feff}2026年6月控辍保学工作排名\r\n统计日期,2026-06-30\r\n排名,乡镇,未返校人数,辍学率\r\n"),
        "{ranking}"
    );
    assert!(ranking.contains("\r\n3,鸦岭,1,11.11%\r\n"), "{ranking}");
    let consolidation = csv("consolidation");
    assert!(
        consolidation.starts_with("\u{feff}2025学年九年义务教育巩固率\r\n统计日期,2026-06-30\r\n"),
        "{consolidation}"
    );
    // --out writes the same bytes to a file.
    let out_file = tmp.path().join("dropout.csv");
    ok(&data, &["report", "dropout", "--format", "csv", "--as-of", "2026-06-30", "--out", &out_file.to_string_lossy()]);
    assert_eq!(std::fs::read(&out_file).unwrap(), dropout.as_bytes());
    for text in [&dropout, &table, &ranking, &consolidation] {
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.last(), Some(&""), "ends with a line end");
        assert!(lines[..lines.len() - 1].iter().all(|l| l.ends_with('\r')), "CRLF line ends: {text:?}");
        assert!(full_ids(text).is_empty(), "{text}");
    }
    let alerts = ok(&data, &["alerts", "--json", "--as-of", "2026-06-30"]);
    assert!(full_ids(&alerts).is_empty(), "{alerts}");
}

/// 逾期未确认 in `report township-table` and `report ranking` (issue 13 point 6), through the
/// binary and its snapshot. 沙坡头's ladder: a roll case opened Mon 2026-03-02 must be
/// confirmed on day 7, Wed 03-11 (the weekend does not count). 鸦岭's case is confirmed on the
/// day; 白沙's never is. On 03-10 neither township counts; on 03-11 only 鸦岭 (confirmed);
/// from 03-12 白沙's unconfirmed case counts as 在籍辍学 too, so not confirming does not rank
/// 白沙 above 鸦岭. A report on a later day after a write is computed from the refreshed snapshot.
#[test]
fn an_overdue_unconfirmed_roll_case_counts_in_the_township_table_and_the_ranking() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    ok(&data, &["init", "--county-code", "410329", "--name", "伊川县", "--policy", "shapotou"]);
    let org = tmp.path().join("org.csv");
    std::fs::write(&org, ORG).unwrap();
    ok(&data, &["org", "import", &org.to_string_lossy()]);
    let store = HubDir::new(&data).open_store().unwrap();
    let mut w = Writer { store, next: 0 };
    let roster = Date::ymd(2025, 9, 1);
    let a = w.student(roster, "鸦岭小学", 5);
    let b = w.student(roster, "白沙小学", 5);
    let open = |w: &Writer, s: RecordId, township: &str, school: &str| -> RecordId {
        let rec = w.store.record(s).unwrap().unwrap();
        let init = CaseInit {
            student: Some(s),
            child: CaseChild {
                name: rec.name().to_string(),
                id_number: rec.id_number().cloned(),
                student_no: rec.student_no().cloned(),
                sex: Sex::Male,
                birth: rec.birth().unwrap(),
                hukou_township: None,
                hukou_village: None,
                groups: vec![],
            },
            township: township.into(),
            school: Some(school.into()),
            grade: Some(5),
            source: CaseSource::Roll,
            opened: Date::ymd(2026, 3, 2),
            clock_start: Date::ymd(2026, 3, 2),
            cause: Cause::Unknown,
            previous: None,
        };
        let item = (RecordId::created_by(RevId::random()), RecordKind::Case, Change::CreateCase(Box::new(init)));
        w.store.commit("鸦岭中心校", "王老师", Date::ymd(2026, 3, 2), vec![item]).unwrap()[0].record
    };
    let ka = open(&w, a, "鸦岭", "鸦岭小学");
    let kb = open(&w, b, "白沙", "白沙小学");
    w.set(ka, RecordKind::Case, Date::ymd(2026, 3, 11), Field::CaseState, Value::CaseState(CaseState::Confirmed));
    drop(w);

    let table = |day: &str| -> Vec<(String, u64, u64)> {
        let v: Json =
            serde_json::from_str(&ok(&data, &["report", "township-table", "--json", "--as-of", day])).unwrap();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let n = |k: &str| r[k].as_u64().unwrap();
                (r["township"].as_str().unwrap().to_string(), n("roll_unreturned"), n("total"))
            })
            .collect()
    };
    let ranking = |day: &str| -> Vec<(u64, String, u64)> {
        let v: Json = serde_json::from_str(&ok(&data, &["report", "ranking", "--json", "--as-of", day])).unwrap();
        assert_eq!(v["month"], "2026-03", "{v}");
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["rank"].as_u64().unwrap(),
                    r["township"].as_str().unwrap().to_string(),
                    r["unreturned"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let row = |t: &[(String, u64, u64)], name: &str| t.iter().find(|r| r.0 == name).map(|r| (r.1, r.2)).unwrap();
    // Day − 1: nothing counts yet.
    let t = table("2026-03-10");
    assert_eq!((row(&t, "鸦岭"), row(&t, "白沙")), ((0, 0), (0, 0)), "{t:?}");
    // The day: confirming is still on time; only the confirmed case counts.
    let t = table("2026-03-11");
    assert_eq!((row(&t, "鸦岭"), row(&t, "白沙")), ((1, 1), (0, 0)), "{t:?}");
    let r = ranking("2026-03-11");
    assert!(r.iter().any(|x| x.1 == "白沙" && x.2 == 0), "{r:?}");
    // Day + 1: 白沙's overdue case counts whether or not anyone confirmed it.
    let t = table("2026-03-12");
    assert_eq!((row(&t, "鸦岭"), row(&t, "白沙")), ((1, 1), (1, 1)), "{t:?}");
    let r = ranking("2026-03-12");
    let rank_of = |name: &str| r.iter().find(|x| x.1 == name).map(|x| (x.0, x.2)).unwrap();
    assert_eq!(rank_of("白沙").1, 1, "{r:?}");
    assert!(rank_of("白沙").0 >= rank_of("鸦岭").0, "not confirming does not rank higher: {r:?}");
    // The alert names the same deadline.
    let alerts = ok(&data, &["alerts", "--json", "--as-of", "2026-03-12"]);
    assert!(alerts.contains("逾期未确认（应于 2026-03-11 确认）"), "{alerts}");
    // The CSV table says so too, and the county total adds it.
    let csv = ok(&data, &["report", "township-table", "--format", "csv", "--as-of", "2026-03-12"]);
    assert!(csv.contains("\r\n白沙,1,0,0,1\r\n") && csv.ends_with("全县合计,2,0,0,2\r\n"), "{csv}");

    // Closed as 复学 on 03-20 (written after the snapshot was saved): it stops counting then.
    let store = HubDir::new(&data).open_store().unwrap();
    let w = Writer { store, next: 100 };
    let closed = CaseState::Closed {
        outcome: baoxue_shared::model::Outcome::Returned,
        evidence: None,
        on: Date::ymd(2026, 3, 20),
    };
    w.set(kb, RecordKind::Case, Date::ymd(2026, 3, 20), Field::CaseState, Value::CaseState(closed));
    drop(w);
    assert_eq!(row(&table("2026-03-19"), "白沙"), (1, 1));
    assert_eq!(row(&table("2026-03-20"), "白沙"), (0, 0));
}
