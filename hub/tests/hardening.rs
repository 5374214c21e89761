//! Issue 14, the hub's side: ordinary accidents that used to brick the county, each reproduced
//! first — an org name with a comma, an org re-import that drops a township still in use, an
//! emptied or missing node registry.

use std::path::{Path, PathBuf};

use baoxue_hub::data::{HubDir, NODES_FILE, ORG_FILE};
use baoxue_hub::server::HubServer;
use baoxue_node::sync::{init_from_bundle, sync_once};
use baoxue_shared::dates::Date;
use baoxue_shared::ids::{make_id, StudentNo};
use baoxue_shared::model::{Placement, Sex, Status};
use baoxue_shared::org::Org;
use baoxue_shared::revision::StudentInit;
use baoxue_shared::sync::Bundle;
use baoxue_shared::{Change, RecordId, RecordKind};
use baoxue_store::Store;

const ORG: &str =
    "乡镇,学校,类型\n鸦岭,\"鸦岭小学,东校区\",小学\n鸦岭,鸦岭初中,初中\n高山,高山小学,小学\n平等,平等小学,小学\n";

fn hub() -> (tempfile::TempDir, HubDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = HubDir::new(&tmp.path().join("hub"));
    dir.init("410329", "伊川县", None, Some("127.0.0.1:7443")).unwrap();
    dir.import_org(ORG.as_bytes(), Path::new("org.csv"), &[]).unwrap();
    (tmp, dir)
}

fn student(i: u16, school: &str) -> StudentInit {
    let birth = Date::ymd(2016, 3, 9);
    let id = make_id("410329", birth.0, i);
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
        id_number: Some(id),
        name: format!("学生{i}"),
        sex: Sex::Male,
        birth,
        grade: 3,
        class: None,
        hukou_township: None,
        hukou_village: None,
        entry_year: None,
        groups: vec![],
        guardian: None,
        phone: None,
        placement: Placement { status: Status::Enrolled, school: school.into(), transfer: None },
    }
}

#[test]
fn an_org_name_with_a_comma_round_trips_through_the_hub_and_the_bundle() {
    let (_tmp, dir) = hub();
    // The hub reads back its own configuration (it could not: every sync refused, no serve).
    let org = dir.org().unwrap();
    assert!(org.schools.contains_key("鸦岭小学,东校区"), "{:?}", org.schools.keys());
    assert_eq!(org, Org::parse_csv(ORG.as_bytes()).unwrap());
    dir.county_config().unwrap();
    // The node's copy too.
    let bundle = Bundle::parse(&dir.add_node("鸦岭中心校", "鸦岭", None).unwrap()).unwrap();
    assert_eq!(Org::parse_csv(bundle.org_csv.as_bytes()).unwrap(), org);
    // And the file itself is the csv crate's quoting.
    let text = std::fs::read_to_string(dir.path(ORG_FILE)).unwrap();
    assert!(text.contains("\"鸦岭小学,东校区\""), "{text}");
}

#[test]
fn an_org_reimport_that_drops_a_township_in_use_is_refused_unless_removed() {
    let (_tmp, dir) = hub();
    dir.add_node("高山中心校", "高山", None).unwrap();
    {
        let store = dir.open_store().unwrap();
        store
            .commit(
                "平等-offline",
                "王老师",
                Date::ymd(2026, 3, 2),
                vec![(
                    RecordId::random(),
                    RecordKind::Student,
                    Change::CreateStudent(Box::new(student(1, "平等小学"))),
                )],
            )
            .unwrap();
    }
    let before = std::fs::read_to_string(dir.path(ORG_FILE)).unwrap();
    // 高山 has a node, 平等 a student.
    let without = "乡镇,学校,类型\n鸦岭,\"鸦岭小学,东校区\",小学\n鸦岭,鸦岭初中,初中\n";
    let e = dir.import_org(without.as_bytes(), Path::new("new.csv"), &[]).unwrap_err().to_string();
    assert!(e.contains("高山") && e.contains("节点 1 个"), "{e}");
    assert!(e.contains("平等") && e.contains("学生 1 人"), "{e}");
    assert!(e.contains("--remove"), "{e}");
    assert_eq!(std::fs::read_to_string(dir.path(ORG_FILE)).unwrap(), before, "nothing imported");
    // Naming one is not enough.
    let e = dir.import_org(without.as_bytes(), Path::new("new.csv"), &["高山".into()]).unwrap_err().to_string();
    assert!(e.contains("平等") && !e.contains("高山"), "{e}");
    // A school dropped with its students, too.
    let no_school =
        "乡镇,学校,类型\n鸦岭,\"鸦岭小学,东校区\",小学\n鸦岭,鸦岭初中,初中\n高山,高山小学,小学\n平等,平等二小,小学\n";
    let e = dir.import_org(no_school.as_bytes(), Path::new("new.csv"), &[]).unwrap_err().to_string();
    assert!(e.contains("学校“平等小学”"), "{e}");
    // Named: done. A school or township nobody uses goes without a word.
    dir.import_org(without.as_bytes(), Path::new("new.csv"), &["高山".into(), "平等".into()]).unwrap();
    assert_eq!(dir.org().unwrap().townships.len(), 1);
    let only = "乡镇,学校,类型\n鸦岭,\"鸦岭小学,东校区\",小学\n";
    dir.import_org(only.as_bytes(), Path::new("new.csv"), &[]).unwrap();
    // --remove of a name still in the file is a mistake, not a licence.
    let e = dir.import_org(only.as_bytes(), Path::new("new.csv"), &["鸦岭".into()]).unwrap_err().to_string();
    assert!(e.contains("--remove"), "{e}");
}

fn node_store(root: &Path, dir: &HubDir, name: &str, township: &str) -> (Store, baoxue_node::config::NodeConfig) {
    let bundle = dir.add_node(name, township, None).unwrap();
    let store = Store::open(&root.join(format!("node-{name}"))).unwrap();
    let cfg = init_from_bundle(&store, &bundle).unwrap();
    (store, cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_fails_closed_and_survives_an_emptied_registry() {
    let (tmp, dir) = hub();
    let root: PathBuf = tmp.path().to_path_buf();
    let (a, a_cfg) = node_store(&root, &dir, "鸦岭中心校", "鸦岭");
    let (b, b_cfg) = node_store(&root, &dir, "高山中心校", "高山");
    let hub = HubServer::bind(&dir, "127.0.0.1:0".parse().unwrap()).unwrap().spawn().unwrap();
    let addr = hub.addr.to_string();
    sync_once(&a, &a_cfg, Some(&addr)).await.unwrap();
    dir.revoke_node_in(&hub.store, "高山中心校").unwrap();
    assert!(sync_once(&b, &b_cfg, Some(&addr)).await.unwrap_err().is_refusal());

    // Someone empties nodes.toml: the revoked node stays out (the store remembers), and so does
    // everyone else (the registry is gone: fail closed).
    std::fs::write(dir.path(NODES_FILE), "").unwrap();
    let e = sync_once(&b, &b_cfg, Some(&addr)).await.unwrap_err();
    assert!(e.is_refusal(), "{e}");
    let e = sync_once(&a, &a_cfg, Some(&addr)).await.unwrap_err();
    assert!(e.is_refusal(), "an unknown node is refused: {e}");
    // Missing altogether: the same.
    std::fs::remove_file(dir.path(NODES_FILE)).unwrap();
    assert!(sync_once(&a, &a_cfg, Some(&addr)).await.unwrap_err().is_refusal());
    hub.stop().await;

    // Restored with the node listed as not revoked: the store still refuses it, also after a
    // restart of the server.
    let restored = "[[node]]\nname = \"鸦岭中心校\"\ntownship = \"鸦岭\"\nissued = \"2026-01-01\"\n\n[[node]]\nname = \"高山中心校\"\ntownship = \"高山\"\nissued = \"2026-01-01\"\n";
    std::fs::write(dir.path(NODES_FILE), restored).unwrap();
    let hub = HubServer::bind(&dir, "127.0.0.1:0".parse().unwrap()).unwrap().spawn().unwrap();
    let addr = hub.addr.to_string();
    assert!(sync_once(&b, &b_cfg, Some(&addr)).await.unwrap_err().is_refusal());
    sync_once(&a, &a_cfg, Some(&addr)).await.unwrap();
    hub.stop().await;
}
