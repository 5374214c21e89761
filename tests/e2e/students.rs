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
