//! A case's details: the cause, the 劝返方案 and the responsible people of both lines, recorded
//! with `case edit` (a case opened automatically by an absence starts with cause 不详 and nobody
//! named), shown by `case show` and kept in the history.

use baoxue::{roster, Kid, Node};

fn node_with_auto_case() -> (Node, Kid, String) {
    let node = Node::new();
    let kid = Kid::new(101, "鸦岭中心小学", 4);
    let f = node.file("r.csv", roster(std::slice::from_ref(&kid)).as_bytes());
    node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    node.ok(&["absence", &kid.student_no, "--kind", "unexcused", "--date", "2026-09-07"]);
    let case = node.json(&["case", "list", "--json"])[0]["id"].as_str().unwrap().to_string();
    (node, kid, case)
}

#[test]
fn an_automatic_case_gets_its_details() {
    let (node, kid, case) = node_with_auto_case();
    let j = node.json(&["case", "show", &case, "--json"]);
    assert_eq!(j["cause"], "unknown");
    assert!(j["plan"].is_null() && j["responsible"].is_null(), "{j}");
    // `case open` refuses a second case, says why and points to `case edit`.
    let line = node.fails(&["case", "open", &kid.student_no, "--cause", "厌学", "--date", "2026-09-08"]);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("已有未销号案件") && line.contains(&case) && line.contains("case edit"), "{line}");

    let out = node.ok(&[
        "case",
        "edit",
        &kid.student_no,
        "--cause",
        "厌学",
        "--plan",
        "班主任每周家访，学习困难科目结对辅导",
        "--teacher",
        "刘老师",
        "--village-cadre",
        "王书记",
        "--date",
        "2026-09-08",
        "--by",
        "刘老师",
    ]);
    assert!(
        out.contains("辍学原因 → 学习困难/厌学") && out.contains("责任人 → 班主任 刘老师、村组干部 王书记"),
        "{out}"
    );
    // Only the roles given change: the mentor and the township cadre are added, the others kept.
    node.ok(&["case", "edit", &case, "--mentor", "张老师", "--cadre", "李主任", "--date", "2026-09-09"]);
    let j = node.json(&["case", "show", &case, "--json"]);
    assert_eq!(j["cause"], "learning");
    assert_eq!(j["plan"], "班主任每周家访，学习困难科目结对辅导");
    assert_eq!(j["responsible"], "班主任 刘老师、包保教师 张老师、包村干部 李主任、村组干部 王书记");
    let roles = &j["responsible_roles"];
    assert_eq!(
        (&roles["class_teacher"], &roles["mentor"], &roles["township_cadre"], &roles["village_cadre"]),
        (&"刘老师".into(), &"张老师".into(), &"李主任".into(), &"王书记".into())
    );
    // Every key the contract names is still there.
    for key in ["id", "student", "state", "opened", "cause", "actions", "closed", "outcome"] {
        assert!(j.get(key).is_some(), "case show --json lacks {key}: {j}");
    }
    // Replacing one role, clearing another.
    node.ok(&["case", "edit", &case, "--teacher", "陈老师", "--cadre", "", "--date", "2026-09-10"]);
    let j = node.json(&["case", "show", &case, "--json"]);
    assert_eq!(j["responsible"], "班主任 陈老师、包保教师 张老师、村组干部 王书记");
    assert!(j["responsible_roles"]["township_cadre"].is_null());
    // Each edit is one revision that replaced the one before (no conflict is left).
    assert!(j["conflicts"].as_array().unwrap().is_empty(), "{j}");
    let history = j["history"].as_array().unwrap();
    assert_eq!(history.len(), 4, "created + three edits: {j}");
    // Nothing new: nothing recorded.
    let out = node.ok(&["case", "edit", &case, "--teacher", "陈老师"]);
    assert!(out.contains("没有变化"), "{out}");
    assert_eq!(node.json(&["case", "show", &case, "--json"])["history"].as_array().unwrap().len(), 4);

    let human = node.ok(&["case", "show", &case]);
    assert!(human.contains("原因 学习困难/厌学"), "{human}");
    assert!(human.contains("劝返方案 班主任每周家访，学习困难科目结对辅导"), "{human}");
    assert!(human.contains("责任人 班主任 陈老师、包保教师 张老师、村组干部 王书记"), "{human}");
    assert!(human.contains("责任人 → 班主任 刘老师、村组干部 王书记"), "the history keeps the old value: {human}");
}

#[test]
fn bad_edits_change_nothing() {
    let (node, kid, case) = node_with_auto_case();
    let before = node.snapshot();
    for (args, names) in [
        (vec!["case", "edit", case.as_str()], vec!["--cause", "--teacher"]),
        (vec!["case", "edit", case.as_str(), "--cause", "外星"], vec!["外星", "辍学原因"]),
        (vec!["case", "edit", case.as_str(), "--teacher", "刘、陈"], vec!["班主任", "刘、陈", &case]),
        (vec!["case", "edit", "deadbeef", "--teacher", "刘老师"], vec!["未找到案件", "deadbeef"]),
    ] {
        let line = node.fails(&args);
        assert_eq!(line.lines().count(), 1, "{args:?}: {line}");
        for n in names {
            assert!(line.contains(n), "{args:?} should name {n:?}: {line}");
        }
        assert_eq!(node.snapshot(), before, "{args:?} changed the store");
    }
    // A student with no open case.
    node.ok(&["case", "close", &case, "--outcome", "returned", "--date", "2026-09-08"]);
    let line = node.fails(&["case", "edit", &kid.student_no, "--teacher", "刘老师"]);
    assert!(line.contains("没有未销号的案件"), "{line}");
    // By its id, a closed case's details can still be completed (the ledger keeps them).
    let out = node.ok(&["case", "edit", &case, "--plan", "返校后每周回访", "--date", "2026-09-09"]);
    assert!(out.contains("案件已销号") && out.contains("劝返方案 → 返校后每周回访"), "{out}");
}
