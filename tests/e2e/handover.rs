//! Non-local pupils (000 §三(二), issue 13 point 7): a child whose 户籍 is in another county,
//! once their case is confirmed, is a handover item for the bureau — an alert at the node and,
//! after a real QUIC sync, at the hub; a row of `report handover` (CSV) — until the case records
//! the handover (`case act --kind handover`), which stops the alert everywhere.

use baoxue::{kids, roster, Hub, Node};
use serde_json::Value;

fn node_alerts(node: &Node, as_of: &str) -> Vec<Value> {
    node.json(&["alerts", "--as-of", as_of, "--json"]).as_array().cloned().unwrap_or_default()
}

fn hub_alerts(hub: &Hub, as_of: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(&hub.ok(&["alerts", "--as-of", as_of, "--json"]))
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn handovers(list: &[Value]) -> Vec<&Value> {
    list.iter().filter(|a| a["rule"] == "handover").collect()
}

#[test]
fn a_non_local_pupil_is_handed_over_once_confirmed() {
    let mut hub = Hub::new();
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let all = kids(6);
    let r = a.file("r.csv", roster(&all).as_bytes());
    a.ok(&["student", "import", &r.to_string_lossy(), "--date", "2026-09-01"]);
    let (kid, local) = (&all[1], &all[2]);
    a.ok(&[
        "student",
        "edit",
        &kid.student_no,
        "--hukou-county",
        "嵩县",
        "--hukou-township",
        "德亭镇",
        "--date",
        "2026-09-02",
    ]);
    let shown = a.json(&["student", "show", &kid.student_no, "--json"]);
    assert_eq!(shown["hukou_county"], "嵩县");
    assert!(a.ok(&["student", "show", &kid.student_no]).contains("户籍所在县 嵩县"));
    assert!(a.json(&["student", "show", &local.student_no, "--json"])["hukou_county"].is_null());
    for k in [kid, local] {
        a.ok(&["absence", &k.student_no, "--kind", "unexcused", "--date", "2026-09-07"]);
    }
    let cases = a.json(&["case", "list", "--open", "--json"]);
    let case_of = |name: &str| {
        cases.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].as_str().unwrap().to_string()
    };
    let (case, local_case) = (case_of(&kid.name), case_of(&local.name));
    a.ok(&["case", "confirm", &case, "--date", "2026-09-14"]);
    a.ok(&["case", "confirm", &local_case, "--date", "2026-09-14"]);

    // At the node: the day before confirmation, the day of, the day after.
    assert!(handovers(&node_alerts(&a, "2026-09-13")).is_empty());
    for day in ["2026-09-14", "2026-09-15"] {
        let list = node_alerts(&a, day);
        let h = handovers(&list);
        assert_eq!(h.len(), 1, "only the non-local pupil, on {day}: {h:?}");
        assert_eq!(h[0]["subject"], case.as_str());
        let msg = h[0]["message"].as_str().unwrap();
        assert!(msg.contains("嵩县") && msg.contains("德亭镇") && msg.contains("电子学籍档案"), "{msg}");
        assert!(!msg.contains(&kid.name), "the child is named masked: {msg}");
        assert!(h[0]["responsible"].as_str().unwrap().contains("教育局"));
    }

    // At the hub, over QUIC.
    hub.serve();
    a.sync(&hub);
    hub.stop();
    assert!(handovers(&hub_alerts(&hub, "2026-09-13")).is_empty());
    let h = hub_alerts(&hub, "2026-09-14");
    assert_eq!(handovers(&h).len(), 1);
    assert_eq!(handovers(&h)[0]["subject"], case.as_str());
    // The bureau's export: one row with what the 户籍 county needs.
    let csv = hub.ok(&["report", "handover", "--as-of", "2026-09-15", "--format", "csv"]);
    let rows: Vec<&str> = csv.lines().filter(|l| l.starts_with(&case)).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    for want in ["嵩县", "德亭镇", "2026-09-14", "电子学籍档案", "未移交"] {
        assert!(rows[0].contains(want), "{want} in {}", rows[0]);
    }
    assert!(!csv.contains(&local_case), "a local pupil owes no handover: {csv}");
    assert!(!csv.contains(&kid.id), "the ID number is masked: {csv}");

    // The handover recorded on 09-16 stops the alert there and, once synced, at the hub.
    a.ok(&[
        "case",
        "act",
        &case,
        "--kind",
        "handover",
        "--by",
        "基教股",
        "--text",
        "已函告嵩县教育局并转交学籍档案",
        "--date",
        "2026-09-16",
    ]);
    assert_eq!(handovers(&node_alerts(&a, "2026-09-15")).len(), 1);
    assert!(handovers(&node_alerts(&a, "2026-09-16")).is_empty());
    hub.serve();
    a.sync(&hub);
    hub.stop();
    assert!(handovers(&hub_alerts(&hub, "2026-09-16")).is_empty());
    let csv = hub.ok(&["report", "handover", "--as-of", "2026-09-16", "--format", "csv"]);
    let row = csv.lines().find(|l| l.starts_with(&case)).expect("the row stays, with its date");
    assert!(row.contains("2026-09-16") && !row.contains("未移交"), "{row}");

    // 户籍所在县 is only for another county.
    let line = a.fails(&["student", "edit", &local.student_no, "--hukou-county", "测试县", "--date", "2026-09-16"]);
    assert!(line.contains("--hukou-county") && line.contains("本县"), "{line}");
}
