//! Issue 2 point 8: each bad input exits 1 with one clear Chinese line naming the item, and
//! leaves the store exactly as it was (status, students and cases compared before and after).

use baoxue::{roster, Kid, Node, ROSTER_HEADER};

/// A node with two students: a 4th grader and a 6th grader.
fn node() -> (Node, Kid, Kid) {
    let node = Node::new();
    let a = Kid::new(1, "鸦岭中心小学", 4);
    let b = Kid::new(2, "鸦岭中心小学", 6);
    let f = node.file("base.csv", roster(&[a.clone(), b.clone()]).as_bytes());
    node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    (node, a, b)
}

/// Runs a command that must fail; checks the message names `names`, and that nothing changed.
#[track_caller]
fn rejected(node: &Node, args: &[&str], names: &[&str]) -> String {
    let before = node.snapshot();
    let line = node.fails(args);
    assert!(line.starts_with("错误："), "{line}");
    for n in names {
        assert!(line.contains(n), "message should name {n:?}: {line}");
    }
    assert!(!line.contains('\n'));
    assert_eq!(node.snapshot(), before, "{args:?} changed the store");
    line
}

fn add_args<'a>(k: &'a Kid, grade: &'a str) -> Vec<&'a str> {
    vec![
        "student",
        "add",
        "--student-no",
        &k.student_no,
        "--id",
        &k.id,
        "--name",
        &k.name,
        "--sex",
        k.sex,
        "--birth",
        &k.birth,
        "--school",
        &k.school,
        "--grade",
        grade,
    ]
}

/// Swaps the check character of an ID for a wrong one.
fn wrong_check(id: &str) -> String {
    let last = id.chars().last().unwrap();
    let wrong = if last == '1' { '2' } else { '1' };
    format!("{}{wrong}", &id[..17])
}

#[test]
fn wrong_check_character() {
    let (node, _, _) = node();
    let mut k = Kid::new(3, "鸦岭中心小学", 3);
    k.id = wrong_check(&k.id);
    k.student_no = format!("G{}", k.id);
    let line = rejected(&node, &add_args(&k, "3"), &["身份证号", "校验位", &k.id[14..]]);
    assert!(!line.contains(&k.id), "the full ID is masked in messages: {line}");
    // The same in a roster: the row, the column and the reason; nothing imported.
    let good = Kid::new(4, "鸦岭中心小学", 3);
    let f = node.file("bad.csv", roster(&[good, k]).as_bytes());
    let r = node.run(&["student", "import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("第 3 行") && r.stderr.contains("校验位"), "{}", r.stderr);
    assert!(r.stderr.contains("未导入任何学生"), "{}", r.stderr);
}

#[test]
fn id_birth_date_or_sex_disagreeing() {
    let (node, _, _) = node();
    let mut k = Kid::new(5, "鸦岭中心小学", 3);
    let real_birth = k.birth.clone();
    k.birth = "2017-12-31".into();
    rejected(&node, &add_args(&k, "3"), &["出生日期", "2017-12-31", &real_birth]);
    let mut k = Kid::new(5, "鸦岭中心小学", 3);
    let real = k.sex;
    k.sex = if real == "男" { "女" } else { "男" };
    rejected(&node, &add_args(&k, "3"), &["性别", real, k.sex]);
}

#[test]
fn unknown_school() {
    let (node, _, _) = node();
    let mut k = Kid::new(6, "鸦岭中心小学", 3);
    k.school = "不存在小学".into();
    rejected(&node, &add_args(&k, "3"), &["学校", "不存在小学"]);
    // Another township's school: not this node's to add.
    k.school = "白沙小学".into();
    rejected(&node, &add_args(&k, "3"), &["白沙小学", "白沙"]);
}

#[test]
fn grade_ten_or_not_taught() {
    let (node, _, _) = node();
    let k = Kid::new(7, "鸦岭中心小学", 3);
    rejected(&node, &add_args(&k, "10"), &["年级", "10"]);
    rejected(&node, &add_args(&k, "7"), &["年级", "7", "鸦岭中心小学"]);
}

#[test]
fn graduated_cannot_drop_out() {
    let (node, _, six) = node();
    let s = six.student_no.as_str();
    node.ok(&["student", "status", s, "毕业", "--date", "2027-07-01"]);
    rejected(&node, &["student", "status", s, "辍学"], &["毕业", "辍学", &six.name]);
    rejected(&node, &["case", "open", s], &["毕业", &six.name]);
    rejected(&node, &["absence", s, "--kind", "unexcused"], &["毕业", &six.name]);
    rejected(&node, &["student", "status", s, "在读"], &["毕业", "在读"]);
}

#[test]
fn closing_a_closed_case() {
    let (node, a, _) = node();
    let s = a.student_no.as_str();
    node.ok(&["absence", s, "--kind", "unexcused", "--date", "2026-09-07"]);
    let case = node.json(&["case", "list", "--json"])[0]["id"].as_str().unwrap().to_string();
    node.ok(&["case", "close", &case, "--outcome", "returned", "--date", "2026-09-08"]);
    rejected(
        &node,
        &["case", "close", &case, "--outcome", "returned", "--date", "2026-09-09"],
        &[&case, "已于 2026-09-08 销号"],
    );
    rejected(&node, &["case", "confirm", &case], &[&case, "已于 2026-09-08 销号"]);
    // By student: no open case any more.
    rejected(&node, &["case", "close", s, "--outcome", "returned"], &["没有未销号的案件"]);
}

#[test]
fn case_for_unknown_student() {
    let (node, _, _) = node();
    let stranger = Kid::new(99, "鸦岭中心小学", 4);
    rejected(&node, &["case", "open", &stranger.student_no], &["未找到学生"]);
    rejected(&node, &["case", "open", &stranger.id], &["未找到学生"]);
    rejected(&node, &["case", "act", "deadbeef", "--kind", "call", "--by", "某人"], &["未找到案件", "deadbeef"]);
    rejected(&node, &["absence", &stranger.student_no, "--kind", "sick"], &["未找到学生"]);
    rejected(&node, &["student", "status", &stranger.student_no, "休学"], &["未找到学生"]);
}

#[test]
fn csv_missing_column_gbk_ragged() {
    let (node, _, _) = node();
    let k = Kid::new(10, "鸦岭中心小学", 2);
    // Missing column.
    let header = ROSTER_HEADER.replace(",监护人电话", "");
    let row = k.row();
    let row = &row[..row.rfind(',').unwrap()];
    let f = node.file("missing.csv", format!("{header}\n{row}\n").as_bytes());
    rejected(&node, &["student", "import", f.to_str().unwrap()], &["监护人电话", "缺少"]);
    // GBK bytes: "姓名" in GBK inside an otherwise ASCII file.
    let mut bytes = roster(std::slice::from_ref(&k)).into_bytes();
    let pos = bytes.len() - 1;
    bytes.splice(pos..pos, [0xd0, 0xd5, 0xc3, 0xfb]);
    let f = node.file("gbk.csv", &bytes);
    rejected(&node, &["student", "import", f.to_str().unwrap()], &["UTF-8", "GBK"]);
    // Ragged row: one good row, one with a missing cell; all or nothing.
    let good = Kid::new(11, "鸦岭中心小学", 2);
    let f = node.file("ragged.csv", format!("{ROSTER_HEADER}\n{}\n{row}\n", good.row()).as_bytes());
    let before = node.snapshot();
    let r = node.run(&["student", "import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("第 3 行") && r.stderr.contains("列数"), "{}", r.stderr);
    assert_eq!(node.snapshot(), before);
    // --dry-run never writes; --skip-bad imports the good row only.
    let r = node.run(&["student", "import", f.to_str().unwrap(), "--dry-run", "--skip-bad"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(node.snapshot(), before);
    let out = node.ok(&["student", "import", f.to_str().unwrap(), "--skip-bad"]);
    assert!(out.contains("已导入 1 名"), "{out}");
}

#[test]
fn impossible_dates() {
    let (node, a, _) = node();
    let s = a.student_no.as_str();
    rejected(&node, &["absence", s, "--kind", "sick", "--date", "2026-02-30"], &["2026-02-30"]);
    rejected(&node, &["student", "status", s, "休学", "--date", "2026-13-01"], &["2026-13-01"]);
    rejected(&node, &["alerts", "--as-of", "2026-02-30"], &["2026-02-30"]);
    let mut k = Kid::new(12, "鸦岭中心小学", 2);
    k.birth = "2019-02-30".into();
    rejected(&node, &add_args(&k, "2"), &["出生日期", "2019-02-30"]);
}

#[test]
fn usage_errors_exit_2() {
    let (node, a, _) = node();
    let r = node.run(&["absence", &a.student_no]);
    assert_eq!(r.code, 2, "missing --kind is a usage error");
    let r = node.run(&["frobnicate"]);
    assert_eq!(r.code, 2);
}

#[test]
fn notice_required_iff_kind_notice() {
    let (node, a, _) = node();
    let s = a.student_no.as_str();
    node.ok(&["absence", s, "--kind", "unexcused", "--date", "2026-09-07"]);
    rejected(&node, &["case", "act", s, "--kind", "notice", "--by", "王校长"], &["--notice"]);
    rejected(
        &node,
        &["case", "act", s, "--kind", "call", "--by", "王校长", "--notice", "劝返复学通知书"],
        &["劝返复学通知书"],
    );
    rejected(&node, &["case", "act", s, "--kind", "fax", "--by", "王校长"], &["fax"]);
}

#[test]
fn uninitialised_or_reinitialised() {
    let (node, _, _) = node();
    let org = node.file("org2.csv", baoxue::ORG_CSV.as_bytes());
    let before = node.snapshot();
    let line = node.fails(&["init", "--county-code", "410329", "--township", "鸦岭", "--org", org.to_str().unwrap()]);
    assert!(line.contains("已初始化"), "{line}");
    assert_eq!(node.snapshot(), before);
    let empty = node.tmp.path().join("nothing-here");
    let r = std::process::Command::new(baoxue::bin("baoxue-node"))
        .arg("--data")
        .arg(&empty)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("尚未初始化"));
    assert!(!empty.exists(), "a status on a missing directory must not create it");
}
