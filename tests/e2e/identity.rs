//! One node identity on two machines (issue 14, point 1): a second machine set up from a bundle
//! already in use is accepted once (it may be a PC rebuilt after a disk loss), but its copies
//! of children the township already has are refused by 学籍号, and when the two machines then
//! alternate, the one that comes back with a superseded store epoch is refused with a 克隆身份
//! alert naming the node. Every child stays addressable by 学籍号 on both machines.

use baoxue::{kids, roster, Hub, Node};
use serde_json::Value;

fn alerts(hub: &Hub) -> Vec<Value> {
    let v: Value = serde_json::from_str(&hub.ok(&["alerts", "--json"])).unwrap();
    v.as_array().cloned().unwrap_or_default()
}

#[test]
fn a_cloned_identity_is_refused_and_alerted_and_no_child_becomes_unaddressable() {
    let mut hub = Hub::new();
    let bundle = hub.bundle("鸦岭中心校", "鸦岭");
    let a = Node::from_bundle(&bundle);
    let children = kids(6);
    let list = roster(&children);
    let f = a.file("r.csv", list.as_bytes());
    a.ok(&["student", "import", &f.to_string_lossy(), "--date", "2026-09-01"]);
    hub.serve();
    a.sync(&hub);

    // A second machine from the same bundle imports the same roster before its first sync.
    let b = Node::from_bundle(&bundle);
    let f = b.file("r.csv", list.as_bytes());
    b.ok(&["student", "import", &f.to_string_lossy(), "--date", "2026-09-01"]);
    let r = b.sync(&hub);
    let rejected = r["rejected"].as_array().cloned().unwrap_or_default();
    assert_eq!(rejected.len(), 6, "its duplicates of the township's children are refused: {r}");
    assert!(rejected[0]["reason"].as_str().unwrap_or("").contains("学籍号"), "{r}");
    let stats: Value = serde_json::from_str(&hub.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["students"], 6, "no child twice at the hub: {stats}");
    for k in &children {
        b.ok(&["student", "show", &k.student_no]);
    }

    // The first machine comes back with its (now superseded) epoch: refused, alerted.
    let again = a.run(&["sync", "--hub", &hub.addr]);
    assert_ne!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("克隆身份"), "{}", again.stderr);
    assert_eq!(again.stderr.trim().lines().count(), 1, "{}", again.stderr);
    let clone: Vec<Value> = alerts(&hub).into_iter().filter(|a| a["rule"] == "cloned_identity").collect();
    assert_eq!(clone.len(), 1, "{clone:?}");
    assert_eq!(clone[0]["subject"], "鸦岭中心校");
    assert_eq!(clone[0]["subject_kind"], "node");
    assert!(clone[0]["message"].as_str().unwrap_or("").contains("克隆身份"), "{clone:?}");
    // Refused again on every try, and nothing it holds is lost or becomes unaddressable.
    assert_ne!(a.run(&["sync", "--hub", &hub.addr]).code, 0);
    for k in &children {
        a.ok(&["student", "show", &k.student_no]);
    }
    // The machine the hub accepted goes on syncing.
    b.sync(&hub);
}
