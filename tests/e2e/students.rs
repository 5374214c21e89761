//! Students: add, list (masked), show, edits that merge per field, status changes with a
//! reason, transfers within the township and out of it, and the scope rule.

use baoxue::{roster, Kid, Node};

fn with(kids: &[Kid]) -> Node {
    let node = Node::new();
    let f = node.file("r.csv", roster(kids).as_bytes());
    node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    node
}

#[test]
fn add_list_show_masked() {
    let node = Node::new();
    let k = Kid::new(31, "鸦岭九年制学校", 8);
    let out = node.ok(&[
        "student",
        "add",
        "--student-no",
        &k.student_no,
        "--id",
        &k.id,
        "--name",
        "张三",
        "--sex",
        k.sex,
        "--birth",
        &k.birth,
        "--school",
        &k.school,
        "--grade",
        "8",
        "--class",
        "2班",
        "--groups",
        "留守儿童,孤儿",
        "--guardian",
        "张父",
        "--phone",
        "13900001111",
        "--date",
        "2026-09-01",
    ]);
    assert!(out.contains("已添加学生") && out.contains("张三"), "{out}");
    assert!(!out.contains(&k.id), "success lines mask the ID: {out}");
    // The same student twice is refused, by 学籍号 or by 身份证号.
    let line = node.fails(&[
        "student",
        "add",
        "--student-no",
        &k.student_no,
        "--name",
        "张三",
        "--sex",
        k.sex,
        "--birth",
        &k.birth,
        "--school",
        &k.school,
        "--grade",
        "8",
    ]);
    assert!(line.contains("已有"), "{line}");
    let list = node.ok(&["student", "list"]);
    assert!(list.contains("张三") && !list.contains(&k.id), "list masks IDs: {list}");
    let j = node.json(&["student", "list", "--json"]);
    assert_eq!(j[0]["id_number"], format!("{}********{}", &k.id[..6], &k.id[14..]));
    assert_eq!(j[0]["groups"].as_array().unwrap().len(), 2);
    let j = node.json(&["student", "list", "--json", "--unmasked"]);
    assert_eq!(j[0]["student_no"], k.student_no.as_str());
    // Filters.
    assert_eq!(node.json(&["student", "list", "--school", "鸦岭初中", "--json"]).as_array().unwrap().len(), 0);
    assert_eq!(node.json(&["student", "list", "--status", "在读", "--json"]).as_array().unwrap().len(), 1);
    assert_eq!(node.json(&["student", "list", "--status", "休学", "--json"]).as_array().unwrap().len(), 0);
    assert!(node.fails(&["student", "list", "--status", "放假"]).contains("放假"));
    // Show by either identifier.
    let by_id = node.json(&["student", "show", &k.id, "--json"]);
    assert_eq!(by_id["name"], "张三");
    assert_eq!(by_id["class"], "2班");
}

#[test]
fn edits_and_status_with_reason() {
    let k = Kid::new(41, "鸦岭二小", 3);
    let node = with(std::slice::from_ref(&k));
    let s = k.student_no.as_str();
    let out = node.ok(&["student", "edit", s, "--class", "1班", "--phone", "13800000000", "--by", "李老师"]);
    assert!(out.contains("班级") && out.contains("监护人电话"), "{out}");
    node.ok(&["student", "edit", s, "--grade", "4"]);
    assert!(node.fails(&["student", "edit", s, "--grade", "8"]).contains("8"));
    let j = node.json(&["student", "show", s, "--json"]);
    assert_eq!(
        (j["class"].as_str(), j["grade"].as_u64(), j["phone"].as_str()),
        (Some("1班"), Some(4), Some("13800000000"))
    );
    let out = node.ok(&["student", "status", s, "休学", "--reason", "因病住院", "--date", "2026-10-08"]);
    assert!(out.contains("休学") && out.contains("因病住院"), "{out}");
    // No absences while suspended.
    assert!(node.fails(&["absence", s, "--kind", "unexcused", "--date", "2026-10-09"]).contains("休学"));
    node.ok(&["student", "status", s, "在读", "--date", "2026-11-02"]);
    let show = node.ok(&["student", "show", s]);
    assert!(show.contains("异动原因 → 因病住院") && show.contains("李老师"), "{show}");
    let j = node.json(&["student", "show", s, "--json"]);
    assert_eq!(j["status"], "在读");
    assert!(j["reason"].is_null(), "the reason goes with the status it explained");
    assert_eq!(j["history"].as_array().unwrap().len(), 5);
}

#[test]
fn transfers_and_scope() {
    let a = Kid::new(51, "鸦岭中心小学", 5);
    let b = Kid::new(52, "鸦岭中心小学", 5);
    let c = Kid::new(53, "鸦岭中心小学", 5);
    let node = with(&[a.clone(), b.clone(), c.clone()]);
    // Within the township: 转出, then accepted at the other school.
    let out = node.ok(&["student", "transfer", &a.student_no, "--to-school", "鸦岭二小", "--date", "2026-10-01"]);
    assert!(out.contains("鸦岭二小"), "{out}");
    assert_eq!(node.json(&["student", "show", &a.student_no, "--json"])["status"], "转出");
    node.ok(&["student", "accept", &a.student_no, "--date", "2026-10-02"]);
    let j = node.json(&["student", "show", &a.student_no, "--json"]);
    assert_eq!((j["status"].as_str(), j["school"].as_str()), (Some("在读"), Some("鸦岭二小")));
    assert!(node.fails(&["student", "accept", &a.student_no]).contains("没有待确认的转入"));
    // Unknown school, a school that does not teach the grade.
    assert!(node.fails(&["student", "transfer", &b.student_no, "--to-school", "火星小学"]).contains("火星小学"));
    assert!(node.fails(&["student", "transfer", &b.student_no, "--to-school", "鸦岭初中"]).contains("5 年级"));
    // To another township: this node cannot accept it (that township's node does, via the hub).
    node.ok(&["student", "transfer", &b.student_no, "--to-school", "白沙小学"]);
    let line = node.fails(&["student", "accept", &b.student_no]);
    assert!(line.contains("白沙"), "{line}");
    // Out of the county.
    node.ok(&["student", "transfer", &c.student_no, "--out-of-county", "广东省东莞市"]);
    let j = node.json(&["student", "show", &c.student_no, "--json"]);
    assert_eq!(j["transfer"]["out_of_county"], "广东省东莞市");
    assert!(node.fails(&["absence", &c.student_no, "--kind", "unexcused"]).contains("转出"));
    // Listing by status.
    assert_eq!(node.json(&["student", "list", "--status", "转出", "--json"]).as_array().unwrap().len(), 2);
}

#[test]
fn confirm_and_close_move_the_status() {
    let a = Kid::new(61, "鸦岭初中", 9);
    let b = Kid::new(62, "鸦岭初中", 9);
    let node = with(&[a.clone(), b.clone()]);
    node.ok(&["absence", &a.student_no, "--kind", "unexcused", "--date", "2026-09-07"]);
    node.ok(&["case", "confirm", &a.student_no, "--date", "2026-09-14"]);
    assert_eq!(node.json(&["student", "show", &a.student_no, "--json"])["status"], "辍学");
    // A status change while the case is open is refused: closing the case sets it.
    assert!(node.fails(&["student", "status", &a.student_no, "在读"]).contains("未销号案件"));
    node.ok(&[
        "case",
        "close",
        &a.student_no,
        "--outcome",
        "deceased",
        "--evidence",
        "死亡证明",
        "--date",
        "2026-09-30",
    ]);
    assert_eq!(node.json(&["student", "show", &a.student_no, "--json"])["status"], "死亡");
    node.ok(&["case", "open", &b.student_no, "--date", "2026-09-08"]);
    node.ok(&[
        "case",
        "close",
        &b.student_no,
        "--outcome",
        "transferred",
        "--evidence",
        "已在郑州市某校就读",
        "--date",
        "2026-09-30",
    ]);
    let j = node.json(&["student", "show", &b.student_no, "--json"]);
    assert_eq!(j["status"], "转出");
    let cases = node.json(&["case", "list", "--json"]);
    assert_eq!(cases.as_array().unwrap().len(), 2);
    assert!(node.json(&["case", "list", "--open", "--json"]).as_array().unwrap().is_empty());
    let st = node.json(&["status", "--json"]);
    for key in ["revisions", "students", "cases", "unacknowledged", "last_sync", "conflicts", "rejected"] {
        assert!(st.get(key).is_some(), "status lacks {key}");
    }
    assert_eq!(st["students"], 2);
    assert_eq!(st["cases"], 2);
    assert_eq!(st["conflicts"], 0);
    assert_eq!(st["unacknowledged"], st["revisions"], "an offline node has acknowledged nothing");
}

/// School age (docs/FORMULAS.md): 6–15 at 31 August of the school year's first year. A child outside
/// it is accepted (a year early or late is legitimate) with a warning naming the row, the student
/// and the age; an impossible age is still refused.
#[test]
fn ages_outside_school_age_are_accepted_with_a_warning() {
    let node = Node::new();
    // School year 2026 (reference 2026-08-31): born 2020-09-01 is 5, 2010-08-31 is 16.
    let young = Kid::born(71, "鸦岭中心小学", 1, "2020-09-01");
    let ok = Kid::born(72, "鸦岭中心小学", 1, "2020-08-31");
    let old = Kid::born(73, "鸦岭初中", 9, "2010-08-31");
    let f = node.file("ages.csv", roster(&[young.clone(), ok.clone(), old.clone()]).as_bytes());
    let dry = node.run(&["student", "import", f.to_str().unwrap(), "--dry-run", "--date", "2026-09-01"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stderr.lines().count(), 2, "a dry run shows the warnings too: {}", dry.stderr);
    let r = node.run(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("已导入 3 名学生"), "{}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    let masked = |k: &Kid| format!("{}*********{}", &k.student_no[..6], &k.student_no[15..]);
    for (line, row, k, age) in [(lines[0], 2, &young, 5), (lines[1], 4, &old, 16)] {
        assert!(line.contains(&format!("第 {row} 行")), "{line}");
        assert!(line.contains(&masked(k)) && line.contains(&k.name), "{line}");
        assert!(line.contains(&format!("周岁 {age}")) && line.contains("6–15"), "{line}");
        assert!(!line.contains(&k.id), "{line}");
    }
    // `student add` warns the same way.
    let early = Kid::born(74, "鸦岭中心小学", 1, "2021-03-01");
    let r = node.run(&[
        "student",
        "add",
        "--student-no",
        &early.student_no,
        "--name",
        &early.name,
        "--sex",
        early.sex,
        "--birth",
        &early.birth,
        "--school",
        &early.school,
        "--grade",
        "1",
        "--date",
        "2026-09-01",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("周岁 5") && r.stderr.contains(&early.name), "{}", r.stderr);
    assert_eq!(node.json(&["student", "list", "--json"]).as_array().unwrap().len(), 4);
    // Impossible: 2 years old.
    let baby = Kid::born(75, "鸦岭中心小学", 1, "2024-01-01");
    let f = node.file("baby.csv", roster(&[baby]).as_bytes());
    let line = node.fails(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    assert!(line.contains("第 2 行，列「出生日期」") && line.contains("不可能"), "{line}");
}

/// 送教上门 only for a disabled child (残疾儿童少年) of 6–16 at the reference date.
#[test]
fn home_delivered_teaching_needs_disability_and_age() {
    // 2010-08-31: 16 at 2026-08-31 (still in scope); 2009-08-31: 17.
    let sixteen = Kid::born(81, "鸦岭初中", 9, "2010-08-31");
    let seventeen = Kid::born(82, "鸦岭初中", 9, "2009-08-31");
    let plain = Kid::new(83, "鸦岭初中", 8);
    let node = with(&[sixteen.clone(), seventeen.clone(), plain.clone()]);
    let before = node.snapshot();
    // Not disabled: refused with one clear line, nothing changed.
    let line = node.fails(&["student", "status", &plain.student_no, "送教上门", "--date", "2026-10-08"]);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("残疾儿童少年") && line.contains(&plain.name), "{line}");
    assert_eq!(node.snapshot(), before);
    // Disabled but 17: refused, naming the age.
    node.ok(&["student", "edit", &seventeen.student_no, "--groups", "残疾儿童少年"]);
    let before = node.snapshot();
    let line = node.fails(&["student", "status", &seventeen.student_no, "送教上门", "--date", "2026-10-08"]);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("周岁 17") && line.contains("6–16") && line.contains(&seventeen.name), "{line}");
    assert_eq!(node.snapshot(), before);
    // Disabled and 16: accepted.
    node.ok(&["student", "edit", &sixteen.student_no, "--groups", "残疾儿童少年"]);
    let out = node.ok(&["student", "status", &sixteen.student_no, "送教上门", "--date", "2026-10-08"]);
    assert!(out.contains("送教上门"), "{out}");
    assert_eq!(node.json(&["student", "show", &sixteen.student_no, "--json"])["status"], "送教上门");
}
