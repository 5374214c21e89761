//! The teacher's walkthrough (README): absences → an automatic case → the alerts of 004 第七条
//! at increasing `--as-of` → actions that answer each one → 销号 as 复学 → no alerts left.

use baoxue::{roster, Kid, Node};
use serde_json::Value;

fn rules(alerts: &Value) -> Vec<String> {
    let mut r: Vec<String> =
        alerts.as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap().to_string()).collect();
    r.sort();
    r
}

fn alerts(node: &Node, as_of: &str) -> Value {
    node.json(&["alerts", "--as-of", as_of, "--json"])
}

#[test]
fn absences_to_case_to_alerts_to_return() {
    let node = Node::new();
    let kid = Kid::new(7, "鸦岭中心小学", 4);
    let other = Kid::new(8, "鸦岭中心小学", 4);
    let f = node.file("roster.csv", roster(&[kid.clone(), other.clone()]).as_bytes());
    let out = node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    assert!(out.contains("已导入 2 名学生"), "{out}");
    let s = kid.student_no.as_str();

    // Day 0: an unexcused absence opens a 疑似辍学 case at once.
    let out = node.ok(&["absence", s, "--kind", "unexcused", "--date", "2026-09-07", "--by", "刘老师"]);
    assert!(out.contains("已自动立案"), "{out}");
    node.ok(&["absence", s, "--kind", "unexcused", "--date", "2026-09-08"]);
    let cases = node.json(&["case", "list", "--open", "--json"]);
    assert_eq!(cases.as_array().unwrap().len(), 1);
    let case = cases[0]["id"].as_str().unwrap().to_string();
    assert_eq!(cases[0]["clock_start"], "2026-09-07");
    assert_eq!(cases[0]["state"], "suspected");

    // Before the clock: nothing. Day 0: the class teacher must call.
    assert!(alerts(&node, "2026-09-06").as_array().unwrap().is_empty());
    let a = alerts(&node, "2026-09-07");
    assert_eq!(rules(&a), ["d0_teacher_contact"]);
    for key in [
        "id",
        "rule",
        "level",
        "subject_kind",
        "subject",
        "township",
        "responsible",
        "since",
        "due",
        "clause",
        "message",
    ] {
        assert!(a[0].get(key).is_some(), "alert lacks {key}: {a}");
    }
    assert_eq!(a[0]["clause"], "004 第七条");
    assert_eq!(a[0]["subject"], case.as_str());
    assert_eq!(a[0]["township"], "鸦岭");
    let human = node.ok(&["alerts", "--as-of", "2026-09-07"]);
    assert!(human.contains("班主任") && human.contains("004 第七条"), "{human}");

    // The teacher calls the same day: the day-0 alert is answered.
    node.ok(&[
        "case",
        "act",
        &case,
        "--kind",
        "call",
        "--by",
        "刘老师",
        "--date",
        "2026-09-07",
        "--text",
        "监护人称孩子不愿上学",
    ]);
    assert!(alerts(&node, "2026-09-07").as_array().unwrap().is_empty());

    // Day 3: the school must organise persuasion; it names the principal.
    let a = alerts(&node, "2026-09-10");
    assert_eq!(rules(&a), ["d3_school_persuasion"]);
    assert!(a[0]["responsible"].as_str().unwrap().contains("王校长"), "{a}");
    node.ok(&["case", "act", &case, "--kind", "visit", "--by", "王校长", "--date", "2026-09-10"]);
    assert!(alerts(&node, "2026-09-10").as_array().unwrap().is_empty());

    // Day 7: mark 辍学 and report, while the case is not confirmed. The weekend of 09-12/13
    // does not count: day 7 is Wednesday 09-16, not Monday 09-14.
    assert!(alerts(&node, "2026-09-15").as_array().unwrap().is_empty());
    assert_eq!(rules(&alerts(&node, "2026-09-16")), ["d7_mark_and_report"]);
    let out = node.ok(&["case", "confirm", &case, "--date", "2026-09-16"]);
    assert!(out.contains("辍学"), "{out}");
    let st = node.json(&["student", "show", s, "--json"]);
    assert_eq!(st["status"], "辍学");
    assert!(alerts(&node, "2026-09-16").as_array().unwrap().is_empty());

    // Past 15 days: serve 限期入学通知书 (bureau and township). Day 16 is Tuesday 09-29: the
    // weekends and 中秋节 (09-25 … 09-27) do not count, the make-up Sunday 09-20 does.
    assert!(alerts(&node, "2026-09-28").as_array().unwrap().is_empty());
    let a = alerts(&node, "2026-09-29");
    assert_eq!(rules(&a), ["d16_enrol_notice"]);
    assert_eq!(a[0]["level"], "urgent");
    node.ok(&[
        "case",
        "act",
        s,
        "--kind",
        "notice",
        "--notice",
        "限期入学通知书",
        "--by",
        "赵副镇长",
        "--date",
        "2026-09-29",
    ]);
    assert!(alerts(&node, "2026-09-29").as_array().unwrap().is_empty());

    // Back at school: 销号 as 复学; the student is 在读 again; no alert remains.
    let out = node.ok(&[
        "case",
        "close",
        &case,
        "--outcome",
        "returned",
        "--evidence",
        "10月8日返校",
        "--date",
        "2026-10-08",
    ]);
    assert!(out.contains("复学") && out.contains("在读"), "{out}");
    for d in ["2026-10-08", "2026-10-15", "2027-01-10"] {
        assert!(alerts(&node, d).as_array().unwrap().is_empty(), "{d}");
    }
    assert!(node.ok(&["alerts", "--as-of", "2026-10-09"]).contains("没有预警"));
    let shown = node.json(&["case", "show", &case, "--json"]);
    for key in ["id", "student", "state", "opened", "cause", "actions", "closed", "outcome"] {
        assert!(shown.get(key).is_some(), "case show lacks {key}");
    }
    assert_eq!(shown["state"], "closed");
    assert_eq!(shown["outcome"], "returned");
    assert_eq!(shown["closed"], "2026-10-08");
    assert_eq!(shown["opened"], "2026-09-07");
    let actions = shown["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 3);
    assert_eq!(actions[2]["notice"], "限期入学通知书");
    assert_eq!(actions[0]["by"], "刘老师");
    assert_eq!(node.json(&["student", "show", s, "--json"])["status"], "在读");

    // The whole history: who, when, what — on the student and on the case.
    let show = node.ok(&["student", "show", s]);
    assert!(show.contains(&kid.id), "the local operator sees the full ID in show");
    for what in ["建立学籍", "缺勤 2026-09-07", "学籍状态 → 辍学", "学籍状态 → 在读", "测试员", "刘老师"]
    {
        assert!(show.contains(what), "student show lacks {what}:\n{show}");
    }
    let show = node.ok(&["case", "show", &case]);
    for what in ["立案", "措施 2026-09-07", "案件状态 → 辍学", "已销号（复学）", "限期入学通知书"]
    {
        assert!(show.contains(what), "case show lacks {what}:\n{show}");
    }

    // A new unexcused absence after the return opens a new episode linked to the old one.
    let out = node.ok(&["absence", s, "--kind", "unexcused", "--date", "2026-10-12"]);
    assert!(out.contains("已自动立案"), "{out}");
    let open = node.json(&["case", "list", "--open", "--json"]);
    assert_eq!(open[0]["previous"], case.as_str());
    // Sick leave opens nothing.
    node.ok(&["absence", &other.student_no, "--kind", "sick", "--date", "2026-10-12"]);
    assert_eq!(node.json(&["case", "list", "--open", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn case_opened_by_hand_counts_from_first_unexcused_absence() {
    let node = Node::new();
    let kid = Kid::new(21, "鸦岭初中", 8);
    let f = node.file("r.csv", roster(std::slice::from_ref(&kid)).as_bytes());
    node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    let s = kid.student_no.as_str();
    node.ok(&["absence", s, "--kind", "personal", "--date", "2026-09-02"]);
    assert!(node.json(&["case", "list", "--json"]).as_array().unwrap().is_empty());
    let out = node.ok(&["case", "open", &kid.id, "--cause", "厌学", "--date", "2026-09-03"]);
    assert!(out.contains("起算日 2026-09-03"), "{out}");
    let c = node.json(&["case", "show", s, "--json"]);
    assert_eq!(c["cause"], "learning");
    // A second case while one is open is refused.
    let e = node.fails(&["case", "open", s, "--date", "2026-09-04"]);
    assert!(e.contains("已有未销号案件"), "{e}");
    // 豁免 (exempt) closes the case and suspends the student with the reason. Since issue 13 it
    // needs the written application, its approval and a physical ground (002 §四(一)).
    node.ok(&[
        "case",
        "close",
        s,
        "--outcome",
        "exempt",
        "--evidence",
        "监护人书面申请，因病",
        "--applied",
        "2026-09-18",
        "--applicant",
        "学生21之父",
        "--approved-by",
        "鸦岭镇人民政府",
        "--approver",
        "赵副镇长",
        "--ground",
        "因病",
        "--date",
        "2026-09-20",
    ]);
    let st = node.json(&["student", "show", s, "--json"]);
    assert_eq!(st["status"], "休学");
    assert!(st["reason"].as_str().unwrap().contains("豁免"), "{st}");
}

#[test]
fn yaoan_counts_working_days() {
    let node = Node::with_policy(Some("yaoan"));
    let kid = Kid::new(33, "鸦岭中心小学", 5);
    let f = node.file("r.csv", roster(std::slice::from_ref(&kid)).as_bytes());
    node.ok(&["student", "import", f.to_str().unwrap(), "--date", "2026-09-01"]);
    // Day 0 is Friday 2026-09-11, the first working day missed; missing Fri 11, Mon 14, Tue 15
    // and Wed 16 is "more than 3 working days": due on Wednesday 09-16 (day 3), not on calendar
    // day 3 (Monday 09-14): the weekend does not count.
    node.ok(&["absence", &kid.student_no, "--kind", "unexcused", "--date", "2026-09-11"]);
    let has = |d: &str| rules(&alerts(&node, d)).iter().any(|r| r == "file_and_report");
    assert!(!has("2026-09-14"));
    assert!(!has("2026-09-15"));
    assert!(has("2026-09-16"));
    assert!(has("2026-09-17"));
    let a = alerts(&node, "2026-09-16");
    assert!(a.as_array().unwrap().iter().all(|x| x["clause"].as_str().unwrap().starts_with("000")), "{a}");
    // Filing (confirming) answers it.
    node.ok(&["case", "confirm", &kid.student_no, "--date", "2026-09-16"]);
    assert!(!has("2026-09-16"));
}
