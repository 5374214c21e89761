//! `baoxue-hub alerts --json` on a real hub data directory: the alerts only the hub can
//! assemble — a unit losing more than 1% (from the dropout report) and nodes past their report
//! deadline (from the days they synced) — next to the case ladder, for past and present days.

use baoxue::{kids, roster, Hub, Node};
use baoxue_shared::policy::PRESETS;
use baoxue_shared::Date;
use serde_json::Value;

fn alerts(hub: &Hub, as_of: &str) -> Vec<Value> {
    let text = hub.ok(&["alerts", "--as-of", as_of, "--json"]);
    serde_json::from_str::<Value>(&text).unwrap().as_array().cloned().unwrap_or_default()
}

fn find<'a>(list: &'a [Value], rule: &str, subject: &str) -> Option<&'a Value> {
    list.iter().find(|a| a["rule"] == rule && a["subject"] == subject)
}

#[test]
fn hub_alerts_assemble_unit_loss_and_report_deadlines() {
    let mut hub = Hub::new();
    // 沙坡头's rules plus 伊川's month-end report (001 §三(三)2).
    let shapotou = PRESETS.iter().find(|(n, _)| *n == "shapotou").unwrap().1;
    let policy = format!(
        "{shapotou}\n[[reporting]]\nid = \"monthly_report\"\ntitle = \"每月最后一天报送控辍保学月报\"\n\
         cadence = {{ type = \"month_end\", window_days = 3 }}\nlevel = \"warning\"\nclause = \"001 §三(三)2\"\n"
    )
    .replace("name = \"shapotou\"", "name = \"测试县\"");
    let file = hub.tmp.path().join("policy.toml");
    std::fs::write(&file, policy).unwrap();
    hub.ok(&["policy", "set", &file.to_string_lossy()]);
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    hub.bundle("白沙中心校", "白沙");

    // 鸦岭: 30 children, 10 of them at 鸦岭初中; one junior child absent from 09-07, confirmed
    // as 辍学 on 09-14.
    let r = a.file("r.csv", roster(&kids(30)).as_bytes());
    a.ok(&["student", "import", &r.to_string_lossy(), "--date", "2026-09-01"]);
    let kid = &kids(30)[2];
    assert_eq!(kid.school, "鸦岭初中");
    a.ok(&["absence", &kid.student_no, "--kind", "unexcused", "--date", "2026-09-07"]);
    let cases = a.json(&["case", "list", "--open", "--json"]);
    let case = cases[0]["id"].as_str().unwrap().to_string();
    a.ok(&["case", "confirm", &case, "--date", "2026-09-14"]);
    hub.serve();
    a.sync(&hub);
    hub.stop();
    let nodes: Value = serde_json::from_str(&hub.ok(&["node", "list", "--json"])).unwrap();
    let synced = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "鸦岭中心校")
        .and_then(|n| n["last_sync"].as_str())
        .map(|t| Date::parse(&t[..10]).unwrap())
        .expect("the hub noted 鸦岭's sync");

    // Loss above 1% (004 第八条): 1 of 10 at 鸦岭初中, 1 of 30 in 鸦岭 and in the county — from
    // the confirmation on, not before.
    let oct = alerts(&hub, "2026-10-01");
    let loss = find(&oct, "unit_loss", "鸦岭初中").unwrap_or_else(|| panic!("{oct:#?}"));
    assert_eq!(loss["responsible"], "孙校长（鸦岭初中校长）");
    assert_eq!(loss["clause"], "004 第八条");
    assert_eq!(loss["subject_kind"], "school");
    assert!(loss["message"].as_str().unwrap().contains("10.00%"), "{loss}");
    assert!(find(&oct, "unit_loss", "鸦岭").is_some(), "the township: {oct:#?}");
    assert!(oct.iter().any(|a| a["rule"] == "d16_enrol_notice" && a["subject"] == case[..8]), "{oct:#?}");
    let before = alerts(&hub, "2026-09-13");
    assert!(!before.iter().any(|a| a["rule"] == "unit_loss"), "not a dropout before 09-14: {before:#?}");

    // A year the holiday table does not cover: the hub says the calendar needs updating (the
    // node's `status` says it too); a covered year gives no such alert.
    let y2030 = alerts(&hub, "2030-03-04");
    let cal = y2030.iter().find(|a| a["rule"] == "calendar_needs_update").unwrap_or_else(|| panic!("{y2030:#?}"));
    assert!(cal["message"].as_str().unwrap().contains("未收录 2030"), "{cal}");
    assert!(!alerts(&hub, "2026-10-01").iter().any(|a| a["rule"] == "calendar_needs_update"));

    // Report deadlines (伊川: the last day of each month) from the days nodes synced. Both nodes
    // were issued today: the month-end before it is not owed by either (issue 13 point 6).
    let on = alerts(&hub, &synced.to_string());
    assert!(find(&on, "monthly_report", "鸦岭中心校").is_none(), "synced that day: {on:#?}");
    assert!(find(&on, "monthly_report", "白沙中心校").is_none(), "issued after the deadline: {on:#?}");
    // The day after this month's end: 白沙 never synced.
    let (y, m) = if synced.month() == 12 { (synced.year() + 1, 1) } else { (synced.year(), synced.month() + 1) };
    let next = Date::ymd(y, m, 1);
    let after = alerts(&hub, &next.to_string());
    let baisha = find(&after, "monthly_report", "白沙中心校").unwrap_or_else(|| panic!("{after:#?}"));
    assert_eq!(baisha["subject_kind"], "node");
    assert_eq!(baisha["township"], "白沙");
    assert_eq!(baisha["responsible"], "白沙中心学校校长、陈副镇长（白沙分管领导）");
    assert!(baisha["message"].as_str().unwrap().contains("从未同步"), "{baisha}");
    // 鸦岭 synced only on its first day: a sync before the window does not meet the month-end.
    if synced < next.add_days(-3) {
        let yaling = find(&after, "monthly_report", "鸦岭中心校").unwrap_or_else(|| panic!("{after:#?}"));
        assert_eq!(yaling["responsible"], "王校长（鸦岭中心小学校长）、赵副镇长（鸦岭分管领导）");
        assert!(yaling["message"].as_str().unwrap().contains(&synced.to_string()), "{yaling}");
        assert_eq!(yaling["clause"], "001 §三(三)2");
    }
}
