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

/// Runs a command that must fail; checks that all it printed is one line (stderr, nothing on
/// stdout) naming `names`, and that nothing changed.
#[track_caller]
fn rejected(node: &Node, args: &[&str], names: &[&str]) -> String {
    let before = node.snapshot();
    let line = node.fails(args);
    assert_eq!(line.lines().count(), 1, "{args:?} should print exactly one line on stderr:\n{line}");
    assert!(line.starts_with("错误："), "{line}");
    for n in names {
        assert!(line.contains(n), "message should name {n:?}: {line}");
    }
    assert_eq!(node.snapshot(), before, "{args:?} changed the store");
    line
}

/// Imports a roster of one good child and then `bad` (so `bad` is row 3): it must fail with one
/// line naming row 3, `column` and `names`, and import nothing (the good row neither).
#[track_caller]
fn rejected_roster(node: &Node, bad: &Kid, column: &str, names: &[&str]) -> String {
    let good = Kid::new(90, "鸦岭中心小学", 3);
    let f = node.file("bad-row.csv", roster(&[good, bad.clone()]).as_bytes());
    let at = format!("第 3 行，列「{column}」");
    let mut all = vec![at.as_str(), "未导入任何学生"];
    all.extend_from_slice(names);
    rejected(node, &["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"], &all)
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
    // The same in a roster: the row, the column and the reason; nothing imported. (The usual
    // typing slip: the 学籍号 is right, the 身份证号 column has a wrong last character.)
    let mut k = Kid::new(3, "鸦岭中心小学", 3);
    k.id = wrong_check(&k.id);
    let line = rejected_roster(&node, &k, "身份证号", &["校验位"]);
    assert!(!line.contains(&k.id), "the full ID is masked in messages: {line}");
}

#[test]
fn roster_rows_disagreeing_with_their_id() {
    let (node, _, _) = node();
    let mut k = Kid::new(5, "鸦岭中心小学", 3);
    let real_birth = k.birth.clone();
    k.birth = "2017-12-31".into();
    rejected_roster(&node, &k, "出生日期", &["2017-12-31", &real_birth]);
    let mut k = Kid::new(5, "鸦岭中心小学", 3);
    let real = k.sex;
    k.sex = if real == "男" { "女" } else { "男" };
    rejected_roster(&node, &k, "性别", &[real, k.sex]);
}

#[test]
fn roster_rows_with_bad_school_grade_or_date() {
    let (node, _, _) = node();
    let mut k = Kid::new(6, "鸦岭中心小学", 3);
    k.school = "不存在小学".into();
    rejected_roster(&node, &k, "学校", &["不存在小学"]);
    let mut k = Kid::new(7, "鸦岭中心小学", 3);
    k.grade = 10;
    rejected_roster(&node, &k, "年级", &["10", "1–9"]);
    let mut k = Kid::new(7, "鸦岭中心小学", 3);
    k.grade = 7;
    rejected_roster(&node, &k, "年级", &["7", "鸦岭中心小学"]);
    let mut k = Kid::new(12, "鸦岭中心小学", 2);
    k.birth = "2026-02-30".into();
    rejected_roster(&node, &k, "出生日期", &["2026-02-30"]);
}

/// Several bad rows: one line per problem, then a summary line that still names the first bad
/// row and column (a script that reads only the last line knows where to look).
#[test]
fn roster_with_several_bad_rows() {
    let (node, _, _) = node();
    let mut a = Kid::new(13, "鸦岭中心小学", 3);
    a.grade = 10;
    let mut b = Kid::new(14, "鸦岭中心小学", 3);
    b.school = "不存在小学".into();
    let good = Kid::new(15, "鸦岭中心小学", 3);
    let f = node.file("many.csv", roster(&[good, a, b]).as_bytes());
    let before = node.snapshot();
    let out = node.fails(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("第 3 行，列「年级」"), "{out}");
    assert!(lines[1].starts_with("第 4 行，列「学校」"), "{out}");
    let last = lines[2];
    assert!(last.starts_with("错误："), "{out}");
    for n in ["2 处错误", "涉及 2 行", "第一处在第 3 行，列「年级」", "未导入任何学生", "--skip-bad"]
    {
        assert!(last.contains(n), "the summary should name {n:?}: {last}");
    }
    assert_eq!(node.snapshot(), before);
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

/// Issue 13 point 5: one plausible-date rule for writes. Today is fixed (2027-08-31, see
/// `TEST_TODAY`): day +3 is accepted, day +4 refused naming both dates; a date before the
/// school year the roster began in is refused; `--as-of` stays free.
#[test]
fn implausible_business_dates() {
    let (node, a, b) = node();
    let s = a.student_no.as_str();
    // 2027-09-03 (a Friday) is 3 days after today: recorded.
    node.ok(&["absence", s, "--kind", "sick", "--date", "2027-09-03"]);
    rejected(&node, &["absence", s, "--kind", "sick", "--date", "2027-09-06"], &["2027-09-06", "2027-08-31", "3 天"]);
    rejected(&node, &["student", "status", b.student_no.as_str(), "休学", "--date", "2062-09-01"], &["2062-09-01"]);
    // The roster began on 2026-09-01: nothing before that school year.
    rejected(&node, &["absence", s, "--kind", "sick", "--date", "2026-06-30"], &["2026-06-30", "2026-09-01"]);
    node.ok(&["alerts", "--as-of", "2031-01-01"]);
    node.ok(&["alerts", "--as-of", "2020-01-01"]);
}

/// Issue 13 point 3: an absence on a day with no school (a Saturday, 国庆, the summer
/// vacation) is refused naming the day; `--school-open` records it with a reason; a make-up
/// Saturday is a school day.
#[test]
fn absences_on_days_without_school() {
    let (node, a, _) = node();
    let s = a.student_no.as_str();
    rejected(
        &node,
        &["absence", s, "--kind", "unexcused", "--date", "2026-09-12"],
        &["2026-09-12", "星期六", "--school-open"],
    );
    rejected(&node, &["absence", s, "--kind", "sick", "--date", "2026-10-05"], &["2026-10-05", "国庆节"]);
    rejected(&node, &["absence", s, "--kind", "sick", "--date", "2027-07-20"], &["2027-07-20", "暑假"]);
    // Friday and Monday around that Saturday are school days; 2026-10-10 is a make-up Saturday.
    node.ok(&["absence", s, "--kind", "sick", "--date", "2026-09-11"]);
    node.ok(&["absence", s, "--kind", "sick", "--date", "2026-09-14"]);
    node.ok(&["absence", s, "--kind", "sick", "--date", "2026-10-10"]);
    node.ok(&["absence", s, "--kind", "sick", "--date", "2026-09-12", "--school-open", "周六补课"]);
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

/// A child with no usable ID: a J number (valid check character) and an empty 身份证号.
fn j_kid(n: u32, school: &str, grade: u8) -> Kid {
    let mut k = Kid::new(n, school, grade);
    let birth = baoxue_shared::Date::parse(&k.birth).unwrap();
    k.student_no = baoxue_shared::ids::make_j_no("410329", birth.0, (n % 1000) as u16).as_str().to_string();
    k.id = String::new();
    k
}

#[test]
fn g_number_not_g_plus_the_id() {
    let (node, _, _) = node();
    let mut k = Kid::new(20, "鸦岭中心小学", 3);
    k.student_no = Kid::new(21, "鸦岭中心小学", 3).student_no;
    let line = rejected(&node, &add_args(&k, "3"), &["学籍号", "G 学籍号应为 G + 身份证号", &k.name]);
    assert!(!line.contains(&k.student_no[1..]), "the full number is masked: {line}");
    let line = rejected_roster(&node, &k, "学籍号", &["G 学籍号应为 G + 身份证号"]);
    assert!(!line.contains(&k.student_no[1..]), "the full number is masked: {line}");
}

#[test]
fn j_number_with_a_wrong_check_character() {
    let (node, _, _) = node();
    let mut k = j_kid(22, "鸦岭中心小学", 3);
    k.student_no = wrong_check(&k.student_no[1..]);
    k.student_no.insert(0, 'J');
    rejected(&node, &add_args(&k, "3"), &["学籍号", "J 学籍号校验位错误"]);
    rejected_roster(&node, &k, "学籍号", &["J 学籍号校验位错误"]);
    // The same child with the right check character is accepted.
    let good = j_kid(22, "鸦岭中心小学", 3);
    let out = node.ok(&add_args(&good, "3"));
    assert!(out.contains("已添加学生"), "{out}");
}

#[test]
fn l_or_j_number_birth_date_disagreeing() {
    let (node, _, _) = node();
    let mut j = j_kid(23, "鸦岭中心小学", 3);
    let carried = j.birth.clone();
    j.birth = "2017-12-30".into();
    rejected(&node, &add_args(&j, "3"), &["出生日期", "学籍号中的出生日期", &carried, "2017-12-30"]);
    rejected_roster(&node, &j, "出生日期", &["学籍号中的出生日期", &carried, "2017-12-30"]);
    // An L number (temporary: area + birth date + 4 digits, no check character).
    let mut l = j_kid(24, "鸦岭中心小学", 3);
    let carried = l.birth.replace('-', "");
    l.student_no = format!("L410329{carried}0024");
    let carried = l.birth.clone();
    l.birth = "2017-12-29".into();
    rejected(&node, &add_args(&l, "3"), &["出生日期", "学籍号中的出生日期", &carried, "2017-12-29"]);
    rejected_roster(&node, &l, "出生日期", &["学籍号中的出生日期", &carried, "2017-12-29"]);
}

/// Imports one good child and `k` with its name (only the 姓名 column) replaced by `name`.
#[track_caller]
fn rejected_name(node: &Node, k: &Kid, name: &str, names: &[&str]) -> String {
    let good = Kid::new(90, "鸦岭中心小学", 3);
    let text = roster(&[good, k.clone()]).replace(&format!(",{},", k.name), &format!(",{name},"));
    let f = node.file("bad-name.csv", text.as_bytes());
    let mut all = vec!["第 3 行，列「姓名」", "未导入任何学生"];
    all.extend_from_slice(names);
    rejected(node, &["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"], &all)
}

fn shows_raw(line: &str) -> bool {
    line.chars().any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c))
}

/// Issue 14: an 18 MB name used to import and then block the node's sync for ever; NUL, terminal
/// escapes and bidi overrides were printed raw. Each is refused naming row and column (roster)
/// or the flag (add), without printing the character.
#[test]
fn oversized_and_control_character_names_are_refused() {
    let (node, a, _) = node();
    let k = Kid::new(30, "鸦岭中心小学", 3);
    let line = rejected_name(&node, &k, &"张".repeat(100_000), &["过长"]);
    assert!(line.chars().count() < 300, "the value is shortened: {} chars", line.chars().count());
    rejected_name(&node, &k, &"张".repeat(51), &["过长", "最多 50 个"]);
    for bad in ["张\u{1b}[2J三", "\u{202E}三张", "张\u{7}三"] {
        let line = rejected_name(&node, &k, bad, &["U+"]);
        assert!(!shows_raw(&line), "{line:?}");
        let mut k = k.clone();
        k.name = bad.into();
        let line = rejected(&node, &add_args(&k, "3"), &["--name", "U+"]);
        assert!(!shows_raw(&line), "{line:?}");
    }
    let long = "字".repeat(2_001);
    rejected(
        &node,
        &["case", "act", &a.student_no, "--kind", "call", "--by", "王", "--text", &long],
        &["--text", "过长"],
    );
}

/// Issue 14: a 100 MB roster took 16 GB to import. A file above the import limit is refused
/// before it is read, with one line saying what to do.
#[test]
fn a_roster_too_large_is_refused_by_size_at_once() {
    let (node, _, _) = node();
    let mut text = roster(&[Kid::new(40, "鸦岭中心小学", 3)]);
    let row = Kid::new(41, "鸦岭中心小学", 3).row() + "\n";
    while text.len() <= 20_000_000 {
        text.push_str(&row.repeat(10_000));
    }
    let f = node.file("huge.csv", text.as_bytes());
    rejected(
        &node,
        &["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"],
        &["超过单次导入上限", "分批导入"],
    );
}
