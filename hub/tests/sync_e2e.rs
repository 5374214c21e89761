//! Sync end to end: a real hub (`HubServer` over its data directory) and real nodes
//! (`baoxue_node::sync`), real QUIC with the county's certificates on loopback, real sled
//! stores in temporary directories. The crash tests kill real processes with SIGKILL: a node
//! (this test binary re-run as a child) and the hub (`baoxue-hub serve`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baoxue_hub::data::HubDir;
use baoxue_hub::replica::{META_ORIGIN_OWNER, META_PUSH_CURSOR};
use baoxue_hub::resolutions::Resolutions;
use baoxue_hub::server::{HubServer, RunningHub};
use baoxue_net::FramedStream;
use baoxue_net::{issue_node_cert, CountyCa, Credentials};
use baoxue_node::config::NodeConfig;
use baoxue_node::sync::{init_from_bundle, sync_once, sync_status, NodeSyncError, SyncReport};
use baoxue_shared::dates::Date;
use baoxue_shared::model::{AbsenceKind, CaseSource, Cause, Placement, Sex, Status, TransferTarget};
use baoxue_shared::org::Org;
use baoxue_shared::revision::{now_ms, Assign, CaseInit, Child as CaseChild, StudentInit};
use baoxue_shared::sync::{
    decode_frame, encode_frame, record_scope, Cursor, Hello, Message, PushAck, PushBatch, Side, PROTO_VERSION,
};
use baoxue_shared::testkit::pupil;
use baoxue_shared::{Change, Field, Hlc, Record, RecordId, RecordKind, RevId, Revision, Value};
use baoxue_store::Store;

/// The simulator's lossy UDP relay (its own crate links the node; this test needs only the file).
#[path = "../../sim/src/relay.rs"]
#[allow(dead_code)]
mod relay;

const ORG: &str = "乡镇,学校,类型\n鸦岭,鸦岭小学,小学\n鸦岭,鸦岭初中,初中\n高山,高山小学,小学\n平等,平等小学,小学\n";
const A: &str = "鸦岭";
const B: &str = "高山";

fn student(i: usize, school: &str) -> StudentInit {
    let birth = Date::ymd(2013, 1, 1).add_days((i / 1000) as i64);
    StudentInit {
        sex: Sex::Male,
        entry_year: Some(2021),
        ..pupil(&format!("学生{i}"), birth, (i % 1000) as u16, school, 3)
    }
}

struct County {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: HubDir,
    hub: Option<RunningHub>,
    addr: String,
}

struct Node {
    name: String,
    store: Store,
    cfg: NodeConfig,
    next: usize,
}

impl County {
    fn new_offline() -> County {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let dir = HubDir::new(&root.join("hub"));
        dir.init("410329", "伊川县", None, Some("127.0.0.1:7443")).unwrap();
        dir.import_org(None, ORG.as_bytes(), Path::new("org.csv"), &[]).unwrap();
        County { _tmp: tmp, root, dir, hub: None, addr: String::new() }
    }

    async fn new() -> County {
        let mut c = County::new_offline();
        c.start();
        c
    }

    fn start(&mut self) {
        let hub = HubServer::bind(&self.dir, "127.0.0.1:0".parse().unwrap()).unwrap().spawn().unwrap();
        self.addr = hub.addr.to_string();
        self.hub = Some(hub);
    }

    fn hub_store(&self) -> &Store {
        &self.hub.as_ref().unwrap().store
    }

    fn node(&self, name: &str, township: &str) -> Node {
        let bundle = self.dir.add_node(name, township, None).unwrap();
        let store = Store::open(&self.root.join(format!("node-{name}"))).unwrap();
        let cfg = init_from_bundle(&store, &bundle).unwrap();
        Node { name: name.into(), store, cfg, next: 0 }
    }

    /// The hub's records a node of `township` should hold.
    fn in_scope(&self, township: &str) -> BTreeMap<RecordId, Record> {
        let org = self.dir.org().unwrap();
        let all: BTreeMap<RecordId, Record> =
            self.hub_store().records(None).map(|r| r.unwrap()).map(|r| (r.id, r)).collect();
        all.iter()
            .filter(|(_, r)| {
                let s = record_scope(r, &org);
                s.townships.contains(township)
                    || s.student
                        .and_then(|st| all.get(&st))
                        .is_some_and(|st| record_scope(st, &org).townships.contains(township))
            })
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }
}

impl Node {
    fn commit(&self, items: Vec<(RecordId, RecordKind, Change)>) -> Vec<Revision> {
        self.store.commit(&self.cfg.origin, "王老师", Date::ymd(2026, 3, 2), items).unwrap()
    }

    fn add_students(&mut self, n: usize, school: &str, base: usize) -> Vec<RecordId> {
        let ids: Vec<RecordId> = (0..n).map(|_| RecordId::created_by(RevId::random())).collect();
        let items = ids
            .iter()
            .enumerate()
            .map(|(k, id)| {
                (*id, RecordKind::Student, Change::CreateStudent(Box::new(student(base + self.next + k, school))))
            })
            .collect();
        self.next += n;
        self.commit(items);
        ids
    }

    fn set(&self, rec: RecordId, field: Field, value: Value) -> Revision {
        let heads = self.store.record(rec).unwrap().unwrap().register(field).map(|r| r.head_ids()).unwrap_or_default();
        self.commit(vec![(rec, RecordKind::Student, Change::Update(vec![Assign { field, value, supersedes: heads }]))])
            .remove(0)
    }

    fn absences(&self, rec: RecordId, days: std::ops::Range<u32>) {
        self.commit(
            days.map(|d| {
                (rec, RecordKind::Student, Change::Absence { day: Date::ymd(2026, 3, d), kind: AbsenceKind::Unexcused })
            })
            .collect(),
        );
    }

    async fn sync(&self, c: &County) -> SyncReport {
        sync_once(&self.store, &self.cfg, Some(&c.addr)).await.unwrap_or_else(|e| panic!("sync of {}: {e}", self.name))
    }

    fn records(&self) -> BTreeMap<RecordId, Record> {
        self.store.records(None).map(|r| r.unwrap()).map(|r| (r.id, r)).collect()
    }

    /// Every revision held once, logged once.
    fn assert_exactly_once(&self) {
        assert_exactly_once(&self.store);
    }
}

/// Compares record sets without printing them whole (they are large).
#[track_caller]
fn assert_same(got: &BTreeMap<RecordId, Record>, want: &BTreeMap<RecordId, Record>, what: &str) {
    if got == want {
        return;
    }
    let missing = want.keys().filter(|k| !got.contains_key(k)).count();
    let extra = got.keys().filter(|k| !want.contains_key(k)).count();
    let differ: Vec<String> = want
        .iter()
        .filter_map(|(k, w)| got.get(k).filter(|g| *g != w).map(|g| (k, g, w)))
        .take(3)
        .map(|(k, g, w)| {
            format!(
                "{k:?}: revisions {} vs {}, absences {} vs {}",
                g.revisions,
                w.revisions,
                g.absences.len(),
                w.absences.len()
            )
        })
        .collect();
    panic!("{what}: {} records vs {}; {missing} missing, {extra} extra; differing: {differ:?}", got.len(), want.len());
}

#[track_caller]
fn assert_exactly_once(s: &Store) {
    let end = s.log_end().unwrap();
    assert_eq!(s.revision_count() as u64, end, "revisions held vs logged");
    let ids: BTreeSet<RevId> = s.log_range(0, usize::MAX).unwrap().into_iter().map(|(_, e)| e.rev).collect();
    assert_eq!(ids.len() as u64, end, "a revision was logged twice");
}

// ---- convergence and merge --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_and_three_nodes_converge_after_concurrent_edits() {
    let c = County::new().await;
    let mut a1 = c.node("鸦岭中心校", A);
    let a2 = c.node("鸦岭初中", A);
    let mut b = c.node("高山中心校", B);
    let s = a1.add_students(50, "鸦岭小学", 0);
    let t = b.add_students(30, "高山小学", 10_000);
    a1.sync(&c).await;
    b.sync(&c).await;
    let r = a2.sync(&c).await;
    assert_eq!(r.received, 50);
    // Concurrent edits to different fields, and absences, on the two nodes of 鸦岭; 高山 works too.
    for (i, id) in s.iter().enumerate() {
        a1.set(*id, Field::Phone, Value::OptText(Some(format!("1390000{i:04}"))));
        a2.set(*id, Field::Guardian, Value::OptText(Some(format!("家长{i}"))));
        a1.absences(*id, 3..4);
        a2.absences(*id, 4..5);
    }
    for id in &t {
        b.absences(*id, 5..7);
    }
    // All three at once, twice.
    for _ in 0..2 {
        let (x, y, z) = tokio::join!(a1.sync(&c), a2.sync(&c), b.sync(&c));
        for r in [x, y, z] {
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        }
    }
    a1.sync(&c).await;
    assert_exactly_once(c.hub_store());
    for n in [&a1, &a2, &b] {
        n.assert_exactly_once();
        let township = &n.cfg.township;
        assert_same(&n.records(), &c.in_scope(township), &n.name);
    }
    let rec = &a2.records()[&s[7]];
    assert_eq!(rec.text(Field::Guardian), Some("家长7"));
    assert_eq!(rec.text(Field::Phone), Some("13900000007"));
    assert_eq!(rec.absences.len(), 2);
    assert!(c.hub_store().records(None).all(|r| r.unwrap().conflicts().is_empty()));
    assert!(s.iter().all(|id| b.store.record(*id).unwrap().is_none()), "高山 sees nothing of 鸦岭");
    assert_eq!(c.hub_store().revision_count(), 50 + 30 + 50 * 4 + 30 * 2);
    // node list: each node's last successful sync.
    let rows = c.dir.node_rows().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.last_sync.is_some()), "{rows:?}");
    let st = baoxue_hub::stats::stats(&c.dir, c.hub_store()).unwrap();
    assert_eq!((st.students, st.revisions), (80, 340));
    assert_eq!(st.nodes.iter().map(|n| n.revisions).sum::<u64>(), 340);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_same_field_conflict_is_listed_at_the_hub_and_its_resolution_reaches_the_nodes() {
    let c = County::new().await;
    let mut a1 = c.node("鸦岭中心校", A);
    let a2 = c.node("鸦岭初中", A);
    let s = a1.add_students(1, "鸦岭小学", 0)[0];
    a1.sync(&c).await;
    a2.sync(&c).await;
    let mine = a1.set(s, Field::Phone, Value::OptText(Some("13900000001".into())));
    a2.set(s, Field::Phone, Value::OptText(Some("13900000002".into())));
    a1.sync(&c).await;
    let r = a2.sync(&c).await;
    assert_eq!(r.conflicts, 1, "the pushing node hears of it");
    let r = a1.sync(&c).await;
    assert_eq!(r.conflicts, 1, "and so does the other, when it pulls");
    let org = c.dir.org().unwrap();
    let rows = baoxue_hub::conflicts::list(c.hub_store(), &org).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].fields[0].field, "phone");
    assert_eq!(rows[0].fields[0].values.len(), 2);
    assert_eq!(rows[0].fields[0].values.iter().filter(|v| v.interim).count(), 1);
    // Keep a1's value, named by its revision.
    let done = baoxue_hub::conflicts::resolve(
        c.hub_store(),
        &s.hex()[..10],
        &mine.id.hex()[..8],
        None,
        "县教育局",
        Date::ymd(2026, 3, 3),
    )
    .unwrap();
    assert_eq!(done.value, "13900000001");
    assert!(baoxue_hub::conflicts::list(c.hub_store(), &org).unwrap().is_empty());
    // Neither node has confirmed receiving the resolution yet.
    let pending = |c: &County| -> Vec<(String, usize, String)> {
        let res = Resolutions::scan(c.hub_store(), &org).unwrap();
        let statuses = c.dir.statuses().unwrap();
        ["鸦岭中心校", "鸦岭初中"]
            .iter()
            .map(|n| {
                let d = res.delivery(A, statuses.get(*n).and_then(|s| s.pulled));
                (n.to_string(), d.pending, d.text())
            })
            .collect()
    };
    for (node, n, text) in pending(&c) {
        assert_eq!((n, text.as_str()), (1, "未收到：1 条裁决待下发（最新 2026-03-03）"), "{node}");
    }
    // 鸦岭中心校 syncs: it has it, the other does not.
    assert_eq!(a1.sync(&c).await.received, 1);
    let p = pending(&c);
    assert_eq!((p[0].1, p[0].2.as_str()), (0, "已收到最新裁决"));
    assert_eq!(p[1].1, 1);
    // (What was only sent, unacknowledged, never counts: shared::sync's tests cut the acks.)
    let y = a2.sync(&c).await;
    assert_eq!(y.received, 1);
    assert!(pending(&c).iter().all(|(_, n, t)| *n == 0 && t == "已收到最新裁决"), "{:?}", pending(&c));
    // The township's other nodes (none) and another township see nothing to receive.
    assert_eq!(Resolutions::scan(c.hub_store(), &org).unwrap().delivery(B, None).total, 0);
    let (x, y) = tokio::join!(a1.sync(&c), a2.sync(&c));
    assert_eq!((x.received, y.received), (0, 0));
    for n in [&a1, &a2] {
        let r = n.store.record(s).unwrap().unwrap();
        assert!(r.conflicts().is_empty());
        assert_eq!(r.text(Field::Phone), Some("13900000001"));
    }
    // Resolving by value text works the same way.
    a1.set(s, Field::Class, Value::OptText(Some("1班".into())));
    a2.set(s, Field::Class, Value::OptText(Some("2班".into())));
    a1.sync(&c).await;
    a2.sync(&c).await;
    baoxue_hub::conflicts::resolve(c.hub_store(), &s.hex(), "2班", None, "县教育局", Date::ymd(2026, 3, 3)).unwrap();
    a1.sync(&c).await;
    assert_eq!(a1.store.record(s).unwrap().unwrap().text(Field::Class), Some("2班"));
}

// ---- clocks -----------------------------------------------------------------------------------

fn stamped(n: &Node, record: RecordId, ms: u64, day: u32) -> Revision {
    Revision {
        id: RevId::random(),
        record,
        kind: RecordKind::Student,
        origin: n.cfg.origin.clone(),
        seq: 0,
        hlc: Hlc { ms, n: 0 },
        author: "王老师".into(),
        date: Date::ymd(2026, 3, day),
        change: Change::Absence { day: Date::ymd(2026, 3, day), kind: AbsenceKind::Sick },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revision_an_hour_in_the_future_is_rejected_naming_the_nodes_clock() {
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    let s = a.add_students(1, "鸦岭小学", 0)[0];
    let future = stamped(&a, s, now_ms() + 3_600_000, 9);
    a.store.apply(std::slice::from_ref(&future), None).unwrap();
    let before = baoxue_shared::sync::clock_text(now_ms());
    let r = a.sync(&c).await;
    let after = baoxue_shared::sync::clock_text(now_ms());
    assert_eq!(r.sent, 2);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].revision, future.id.hex());
    // The reason names the revision's stamp, the hub's clock and the node's own clock (right
    // now, at the minute: the revision was made while it ran an hour ahead).
    let reason = &r.rejected[0].reason;
    let stamp = baoxue_shared::sync::clock_text(future.hlc.ms);
    assert!(reason.contains(&format!("修订时间 {stamp} 超前县级平台的时钟 ")), "{reason}");
    let node_clock = reason.split("节点 鸦岭中心校 的时钟为 ").nth(1).unwrap_or_else(|| panic!("{reason}"));
    let shown: String = node_clock.chars().take(19).collect();
    assert!(before <= shown && shown <= after, "node clock {shown} not in [{before}, {after}]: {reason}");
    assert!(node_clock.contains("与平台相符"), "{reason}");
    assert!(!c.hub_store().contains(future.record, future.id).unwrap());
    // Kept at the node and shown by `status`; not sent again.
    let st = sync_status(&a.store).unwrap();
    assert_eq!(st.rejected.len(), 1);
    assert_eq!(st.unacknowledged, 0);
    assert!(a.store.contains(future.record, future.id).unwrap());
    // The node's revision clock was pulled an hour ahead by that revision; the hub's clock
    // brought it back, so what the node records next is not refused in turn.
    assert!(r.clock_warning.as_deref().unwrap_or("").contains("已回拨"), "{:?}", r.clock_warning);
    assert!(a.store.clock().unwrap().ms < now_ms() + 60_000);
    a.add_students(1, "鸦岭小学", 50);
    let r = a.sync(&c).await;
    assert_eq!((r.sent, r.rejected.len()), (1, 0), "{:?}", r.rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_offline_for_weeks_syncs_normally() {
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    let s = a.add_students(1, "鸦岭小学", 0)[0];
    let weeks_ago = now_ms() - 42 * 24 * 3_600_000;
    let old: Vec<Revision> = (1..20).map(|d| stamped(&a, s, weeks_ago + u64::from(d) * 60_000, d)).collect();
    a.store.apply(&old, None).unwrap();
    let r = a.sync(&c).await;
    assert_eq!((r.sent, r.rejected.len()), (20, 0));
    assert_eq!(c.hub_store().record(s).unwrap().unwrap().absences.len(), 19);
}

// ---- scope and transfers ----------------------------------------------------------------------

fn case_for(student: RecordId, township: &str) -> Change {
    Change::CreateCase(Box::new(CaseInit {
        student: Some(student),
        child: CaseChild {
            name: "学生0".into(),
            id_number: None,
            student_no: None,
            sex: Sex::Male,
            birth: Date::ymd(2013, 1, 1),
            hukou_township: None,
            hukou_village: None,
            groups: vec![],
        },
        township: township.into(),
        school: Some("鸦岭小学".into()),
        grade: Some(3),
        source: CaseSource::Roll,
        opened: Date::ymd(2026, 3, 6),
        clock_start: Date::ymd(2026, 3, 2),
        cause: Cause::Unknown,
        previous: None,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transfer_from_a_to_b_arrives_with_the_whole_history() {
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    let b = c.node("高山中心校", B);
    let s = a.add_students(3, "鸦岭小学", 0)[0];
    a.absences(s, 2..7);
    let case = RecordId::created_by(RevId::random());
    a.commit(vec![(case, RecordKind::Case, case_for(s, A))]);
    a.sync(&c).await;
    let r = b.sync(&c).await;
    assert_eq!(r.received, 0, "nothing of 鸦岭 before the transfer");
    a.set(
        s,
        Field::Placement,
        Value::Placement(Placement {
            status: Status::TransferredOut,
            school: "鸦岭小学".into(),
            transfer: Some(TransferTarget::School("高山小学".into())),
        }),
    );
    a.sync(&c).await;
    let r = b.sync(&c).await;
    assert_eq!(r.received, 1 + 5 + 1 + 1, "create, absences, transfer, case");
    let got = b.store.record(s).unwrap().unwrap();
    assert_eq!(got.status(), Some(Status::TransferredOut));
    assert_eq!(got.absences.len(), 5);
    assert!(b.store.record(case).unwrap().is_some());
    // B accepts: the student is B's; A's copy is read-only (the hub refuses A's edits).
    b.set(
        s,
        Field::Placement,
        Value::Placement(Placement { status: Status::Enrolled, school: "高山小学".into(), transfer: None }),
    );
    let r = b.sync(&c).await;
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    a.absences(s, 9..10);
    let r = a.sync(&c).await;
    assert_eq!(r.rejected.len(), 1);
    assert!(r.rejected[0].reason.contains("不在本节点"), "{}", r.rejected[0].reason);
    // And A may not create students in B's schools.
    a.add_students(1, "高山小学", 500);
    let r = a.sync(&c).await;
    assert_eq!(r.rejected.len(), 1);
    assert!(r.rejected[0].reason.contains("高山"), "{}", r.rejected[0].reason);
}

// ---- a lossy link -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_completes_through_a_relay_dropping_ten_percent_of_datagrams() {
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    let mut seed = c.node("鸦岭初中", A);
    for k in 0..4 {
        a.add_students(1_000, "鸦岭小学", k * 1_000);
    }
    seed.add_students(1_000, "鸦岭初中", 50_000);
    seed.sync(&c).await;
    let relay = relay::start(c.hub.as_ref().unwrap().addr, 0.10, 7, Duration::from_secs(120)).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(100), sync_once(&a.store, &a.cfg, Some(&relay.addr.to_string())))
        .await
        .expect("the sync finished in time")
        .expect("the sync succeeded");
    assert_eq!((r.sent, r.received), (4_000, 1_000));
    assert!(relay.stats.dropped() > 10, "the relay dropped {} datagrams", relay.stats.dropped());
    assert_same(&a.records(), &c.in_scope(A), "鸦岭");
    assert_exactly_once(c.hub_store());
    a.assert_exactly_once();
}

// ---- bad peers --------------------------------------------------------------------------------

async fn raw_session(c: &County, name: &str, frames: Vec<Vec<u8>>) -> Vec<Message> {
    let bundle = c.dir.add_node(name, A, None).unwrap();
    let b = baoxue_shared::sync::Bundle::parse(&bundle).unwrap();
    let cred = Credentials { cert_pem: b.node_cert, key_pem: b.node_key };
    let conn = baoxue_net::connect(c.addr.parse().unwrap(), &b.server_name, &b.ca_cert, &cred).await.unwrap();
    let mut s = conn.open_stream().await.unwrap();
    let mut got = Vec::new();
    for f in frames {
        if s.send_frame(&f).await.is_err() {
            break;
        }
    }
    let _ = s.finish();
    while let Ok(Ok(Some(f))) = tokio::time::timeout(Duration::from_secs(10), s.recv_frame()).await {
        match decode_frame(&f, Side::Node) {
            Ok(m) => got.push(m),
            Err(e) => got.push(Message::Error(format!("undecodable: {e}"))),
        }
    }
    got
}

fn hello_frame() -> Vec<u8> {
    encode_frame(&Message::Hello(Hello {
        node_epoch: 1,
        node_log_end: 0,
        pull: None,
        refetch_own_below: 0,
        node_clock_ms: now_ms(),
        config_version: 0,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_truncated_oversized_frames_and_random_bytes_never_disturb_the_hub() {
    let c = County::new().await;
    let mut good = c.node("高山中心校", B);
    good.add_students(3_000, "高山小学", 0);
    let hub_addr: SocketAddr = c.addr.parse().unwrap();

    // Random datagrams at the port, all along.
    let spray = tokio::spawn(async move {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..3_000u32 {
            let len = 1 + (i as usize * 7919) % 1400;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = sock.send_to(&bytes, hub_addr).await;
            if i % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });

    let mut garbage = vec![0u8; 5_000];
    for (i, b) in garbage.iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    let mut wrong_version = hello_frame();
    wrong_version[..2].copy_from_slice(&99u16.to_be_bytes());
    let mut truncated = hello_frame();
    truncated.truncate(truncated.len() / 2);
    let mut oversized = vec![0xA5u8; baoxue_net::MAX_FRAME];
    oversized[..2].copy_from_slice(&PROTO_VERSION.to_be_bytes());

    let (bad1, bad2, bad3, bad4, bad5, r) = tokio::join!(
        raw_session(&c, "捣乱一", vec![garbage.clone()]),
        raw_session(&c, "捣乱二", vec![wrong_version]),
        raw_session(&c, "捣乱三", vec![hello_frame(), truncated]),
        raw_session(&c, "捣乱四", vec![oversized]),
        raw_session(&c, "捣乱五", vec![vec![], vec![1], hello_frame(), hello_frame(), hello_frame()]),
        good.sync(&c),
    );
    assert_eq!(r.sent, 3_000, "the well-behaved node's sync went through meanwhile");
    for (name, got) in [("garbage", &bad1), ("truncated", &bad3), ("oversized", &bad4), ("nonsense", &bad5)] {
        assert!(
            matches!(got.last(), Some(Message::Error(_))),
            "{name}: the hub explains and ends the session: {got:?}"
        );
    }
    assert_eq!(
        bad2,
        vec![Message::Error("协议版本不一致：节点 v99，平台 v1，请升级".into())],
        "a version mismatch is explained"
    );
    // A certificate from another county's CA is refused; the hub keeps serving.
    let other = CountyCa::generate("640502", "沙坡头区").unwrap();
    let cred = issue_node_cert(&other, "冒充者", A).unwrap();
    let ca = c.dir.ca().unwrap();
    let refused = match baoxue_net::connect(hub_addr, baoxue_net::HUB_SERVER_NAME, ca.cert_pem(), &cred).await {
        Err(e) => e.is_refusal(),
        Ok(conn) => match conn.open_stream().await {
            Err(e) => e.is_refusal(),
            Ok(mut s) => {
                let _ = s.send_frame(&hello_frame()).await;
                matches!(s.recv_frame().await, Err(e) if e.is_refusal())
            }
        },
    };
    assert!(refused, "a foreign certificate is refused");
    spray.await.unwrap();
    good.add_students(10, "高山小学", 9_000);
    let r = good.sync(&c).await;
    assert_eq!(r.sent, 10, "the hub still serves after all that");
    assert_exactly_once(c.hub_store());
}

// ---- a node's side played by hand ---------------------------------------------------------------

/// A connection with a node's own certificate (from its bundle), for a test to play the node's
/// side of the protocol by hand.
async fn hand_connect(c: &County, n: &Node) -> (baoxue_net::Conn, FramedStream) {
    let link = n.cfg.hub.as_ref().expect("joined");
    let cred = Credentials { cert_pem: link.cert_pem.clone(), key_pem: link.key_pem.clone() };
    let conn = baoxue_net::connect(c.addr.parse().unwrap(), &link.server_name, &link.ca_pem, &cred).await.unwrap();
    let stream = conn.open_stream().await.unwrap();
    (conn, stream)
}

async fn send_msg(s: &mut FramedStream, m: &Message) {
    s.send_frame(&encode_frame(m).unwrap()).await.unwrap();
}

/// The next message from the hub (`None`: the stream ended).
async fn recv_msg(s: &mut FramedStream) -> Option<Message> {
    match tokio::time::timeout(Duration::from_secs(30), s.recv_frame()).await {
        Ok(Ok(Some(f))) => Some(decode_frame(&f, Side::Node).unwrap_or_else(|e| Message::Error(format!("{e}")))),
        _ => None,
    }
}

fn node_hello(n: &Node) -> Message {
    Message::Hello(Hello {
        node_epoch: n.store.epoch().unwrap(),
        node_log_end: n.store.log_end().unwrap(),
        pull: None,
        refetch_own_below: 0,
        node_clock_ms: now_ms(),
        config_version: 0,
    })
}

/// Node log positions `[from, up_to)` as the push batch a node would send.
fn push_batch(n: &Node, from: u64, up_to: u64) -> PushBatch {
    let log = n.store.log_range(from, (up_to - from) as usize).unwrap();
    PushBatch {
        from,
        up_to,
        last: log.last().map(|(_, e)| e.rev),
        revisions: log
            .iter()
            .filter(|(_, e)| e.from.is_none())
            .map(|(_, e)| n.store.log_revision(e).unwrap().unwrap())
            .collect(),
    }
}

/// Pushes a batch and returns the hub's acknowledgement.
async fn push_and_ack(s: &mut FramedStream, b: PushBatch) -> PushAck {
    send_msg(s, &Message::PushBatch(b)).await;
    match recv_msg(s).await {
        Some(Message::PushAck(a)) => a,
        other => panic!("expected PushAck, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_and_reordered_push_batches_over_quic_are_held_once_and_the_cursor_stays_right() {
    let c = County::new().await;
    let mut n = c.node("鸦岭中心校", A);
    let first = n.add_students(600, "鸦岭小学", 0);
    n.add_students(600, "鸦岭小学", 0);
    // Chained status changes of students the first batch creates: 休学, then back to 在读.
    for id in &first[..50] {
        let at = |s| Value::Placement(Placement { status: s, school: "鸦岭小学".into(), transfer: None });
        n.set(*id, Field::Placement, at(Status::Suspended));
        n.set(*id, Field::Placement, at(Status::Enrolled));
    }
    n.add_students(300, "鸦岭小学", 0);
    let end = n.store.log_end().unwrap();
    assert_eq!(end, 1_600);
    let (b1, b2, b3) = (push_batch(&n, 0, 600), push_batch(&n, 600, 1_200), push_batch(&n, 1_200, end));

    let (conn, mut s) = hand_connect(&c, &n).await;
    send_msg(&mut s, &node_hello(&n)).await;
    match recv_msg(&mut s).await {
        Some(Message::Welcome(w)) => assert_eq!(w.push_from, 0),
        other => panic!("expected Welcome, got {other:?}"),
    }
    // The last batch first: its students are new, its status changes concern records the hub
    // does not hold yet (refused for now); the cursor does not move past the gap.
    let a = push_and_ack(&mut s, b3.clone()).await;
    assert_eq!((a.up_to, a.new, a.known, a.rejected.len()), (0, 300, 0, 100), "{:?}", a.rejected.first());
    assert!(a.rejected.iter().all(|r| r.reason.contains("不存在")), "{:?}", a.rejected[0]);
    let a = push_and_ack(&mut s, b1.clone()).await;
    assert_eq!((a.up_to, a.new, a.known), (600, 600, 0));
    let a = push_and_ack(&mut s, b1).await;
    assert_eq!((a.up_to, a.new, a.known), (600, 0, 600), "a duplicate adds nothing");
    // The middle batch, each revision in it twice.
    let mut doubled = b2.clone();
    doubled.revisions.extend(b2.revisions.iter().cloned());
    let a = push_and_ack(&mut s, doubled).await;
    assert_eq!((a.up_to, a.new, a.known), (1_200, 600, 0));
    // The last batch again: what it had refused is accepted now (each change chained on the one
    // before, within the batch), the rest is known.
    let a = push_and_ack(&mut s, b3).await;
    assert_eq!((a.up_to, a.new, a.known, a.rejected.len()), (end, 100, 300, 0), "{:?}", a.rejected.first());
    let _ = s.finish();
    drop(s);
    conn.close().await;

    let hub = c.hub_store();
    assert_eq!(hub.revision_count() as u64, end);
    assert_exactly_once(hub);
    let cursor: Cursor = hub.get_meta(&format!("{META_PUSH_CURSOR}鸦岭中心校")).unwrap().expect("push cursor");
    let last = n.store.log_range(end - 1, 1).unwrap()[0].1.rev;
    assert_eq!(cursor, Cursor { epoch: n.store.epoch().unwrap(), pos: end, last: Some(last) });
    // A normal sync of the node then has nothing to send, or to receive.
    let r = n.sync(&c).await;
    assert_eq!((r.sent, r.received, r.rejected.len()), (0, 0, 0), "{:?}", r.rejected);
    assert_eq!(hub.revision_count() as u64, end);
    assert_exactly_once(hub);
    n.assert_exactly_once();
    assert_same(&n.records(), &c.in_scope(A), "鸦岭");
    assert!(first[..50].iter().all(|id| hub.record(*id).unwrap().unwrap().status() == Some(Status::Enrolled)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_length_beyond_the_maximum_and_streams_cut_inside_a_frame_end_only_their_own_session() {
    let c = County::new().await;
    let mut good = c.node("高山中心校", B);
    good.add_students(4_000, "高山小学", 0);
    let mut bad = c.node("鸦岭中心校", A);
    bad.add_students(50, "鸦岭小学", 100_000);
    let pushed = push_batch(&bad, 0, bad.store.log_end().unwrap());
    let ids: Vec<(RecordId, RevId)> = pushed.revisions.iter().map(|r| (r.record, r.id)).collect();
    let frame = encode_frame(&Message::PushBatch(pushed)).unwrap();
    // A frame's length prefix and the first half of it.
    let mut cut = (frame.len() as u32).to_be_bytes().to_vec();
    cut.extend_from_slice(&frame[..frame.len() / 2]);

    let hostile = async {
        let mut heard = Vec::new();
        for _ in 0..3 {
            // A length prefix beyond the maximum: refused before anything is read or allocated.
            let (conn, mut s) = hand_connect(&c, &bad).await;
            s.send_raw(&((baoxue_net::MAX_FRAME as u32) + 1).to_be_bytes()).await.unwrap();
            let _ = s.send_raw(&[0xA5; 1_000]).await;
            heard.push(("oversized", recv_msg(&mut s).await));
            conn.close().await;
            // A push batch cut in the middle, the stream then finished.
            let (conn, mut s) = hand_connect(&c, &bad).await;
            send_msg(&mut s, &node_hello(&bad)).await;
            assert!(matches!(recv_msg(&mut s).await, Some(Message::Welcome(_))));
            s.send_raw(&cut).await.unwrap();
            let _ = s.finish();
            heard.push(("finished", recv_msg(&mut s).await));
            conn.close().await;
            // The same, the connection dropped without a word.
            let (conn, mut s) = hand_connect(&c, &bad).await;
            send_msg(&mut s, &node_hello(&bad)).await;
            assert!(matches!(recv_msg(&mut s).await, Some(Message::Welcome(_))));
            s.send_raw(&cut).await.unwrap();
            drop(s);
            drop(conn);
        }
        heard
    };
    let (r, heard) = tokio::join!(good.sync(&c), hostile);
    assert_eq!((r.sent, r.rejected.len()), (4_000, 0), "the other node's sync went through meanwhile");
    for (what, msg) in &heard {
        let Some(Message::Error(text)) = msg else { panic!("{what}: the hub explains, got {msg:?}") };
        let want = if *what == "oversized" { "帧过大" } else { "帧被截断" };
        assert!(text.contains(want), "{what}: {text}");
    }
    // Nothing of a cut frame was applied.
    let hub = c.hub_store();
    assert!(ids.iter().all(|(rec, id)| !hub.contains(*rec, *id).unwrap()));
    assert_eq!(hub.revision_count(), 4_000);
    assert_exactly_once(hub);
    // The hub keeps serving both.
    good.add_students(10, "高山小学", 9_000);
    assert_eq!(good.sync(&c).await.sent, 10);
    let r = bad.sync(&c).await;
    assert_eq!((r.sent, r.rejected.len()), (50, 0));
    assert_exactly_once(c.hub_store());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_pushes_only_in_its_own_names_and_the_hub_remembers_who_owns_an_offline_name() {
    let mut c = County::new().await;
    let mut a1 = c.node("鸦岭中心校", A);
    let a2 = c.node("鸦岭初中", A);
    // 鸦岭中心校 worked offline as 鸦岭-offline-1f2e before it joined.
    const OFFLINE: &str = "鸦岭-offline-1f2e";
    let s = RecordId::created_by(RevId::random());
    a1.store
        .commit(
            OFFLINE,
            "王老师",
            Date::ymd(2026, 3, 2),
            vec![(s, RecordKind::Student, Change::CreateStudent(Box::new(student(1, "鸦岭小学"))))],
        )
        .unwrap();
    a1.absences(s, 2..4);
    let r = a1.sync(&c).await;
    assert_eq!((r.sent, r.rejected.len()), (3, 0), "{:?}", r.rejected);
    let owner: Option<String> = c.hub_store().get_meta(&format!("{META_ORIGIN_OWNER}{OFFLINE}")).unwrap();
    assert_eq!(owner.as_deref(), Some("鸦岭中心校"));
    a1.next = 10;
    // 鸦岭初中 stamps revisions with 鸦岭中心校's offline name, its certificate name, the hub's,
    // and a name of its own making.
    a2.sync(&c).await;
    let forge = |origin: &str, day: u32| {
        a2.store
            .commit(
                origin,
                "李老师",
                Date::ymd(2026, 3, day),
                vec![(
                    s,
                    RecordKind::Student,
                    Change::Absence { day: Date::ymd(2026, 3, day), kind: AbsenceKind::Sick },
                )],
            )
            .unwrap()
            .remove(0)
    };
    let forged =
        [forge(OFFLINE, 5), forge("鸦岭中心校", 6), forge(baoxue_shared::sync::HUB_ORIGIN, 7), forge("zzz", 8)];
    let r = a2.sync(&c).await;
    assert_eq!(r.rejected.len(), 4, "{:?}", r.rejected);
    for f in &forged {
        let why = &r.rejected.iter().find(|x| x.revision == f.id.hex()).expect("refused").reason;
        assert!(why.contains(&f.origin), "{why}");
        assert!(!c.hub_store().contains(f.record, f.id).unwrap());
    }
    // Who owns the offline name survives a restart of the hub.
    c.hub.take().unwrap().stop().await;
    c.start();
    let again = forge(OFFLINE, 9);
    let r = a2.sync(&c).await;
    assert_eq!(r.rejected.len(), 1, "{:?}", r.rejected);
    assert!(r.rejected[0].reason.contains("已属于节点 鸦岭中心校"), "{}", r.rejected[0].reason);
    assert!(!c.hub_store().contains(again.record, again.id).unwrap());
    // Its owner may still use it (a revision of its offline days found later in its log).
    let late = a1
        .store
        .commit(
            OFFLINE,
            "王老师",
            Date::ymd(2026, 3, 10),
            vec![(s, RecordKind::Student, Change::Absence { day: Date::ymd(2026, 3, 10), kind: AbsenceKind::Sick })],
        )
        .unwrap()
        .remove(0);
    let r = a1.sync(&c).await;
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(c.hub_store().contains(late.record, late.id).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_node_is_refused_and_the_others_carry_on() {
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    let mut b = c.node("高山中心校", B);
    a.add_students(2, "鸦岭小学", 0);
    b.add_students(2, "高山小学", 100);
    a.sync(&c).await;
    b.sync(&c).await;
    c.dir.revoke_node_in(c.hub_store(), "高山中心校").unwrap();
    b.add_students(1, "高山小学", 200);
    let e = sync_once(&b.store, &b.cfg, Some(&c.addr)).await.unwrap_err();
    assert!(e.is_refusal(), "{e}");
    assert!(matches!(e, NodeSyncError::Net(_)), "{e}");
    a.add_students(1, "鸦岭小学", 300);
    assert_eq!(a.sync(&c).await.sent, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_revoked_while_connected_gets_nothing_more() {
    let c = County::new().await;
    let bundle = c.dir.add_node("鸦岭中心校", A, None).unwrap();
    let b = baoxue_shared::sync::Bundle::parse(&bundle).unwrap();
    let cred = Credentials { cert_pem: b.node_cert, key_pem: b.node_key };
    let conn = baoxue_net::connect(c.addr.parse().unwrap(), &b.server_name, &b.ca_cert, &cred).await.unwrap();
    let mut s = conn.open_stream().await.unwrap();
    // Connected and authenticated; then the bureau revokes the node.
    c.dir.revoke_node_in(c.hub_store(), "鸦岭中心校").unwrap();
    // The hub may already have closed the connection with its reason before the hello is out.
    if let Err(e) = s.send_frame(&hello_frame()).await {
        assert!(e.to_string().contains("吊销"), "{e}");
    }
    let mut got = Vec::new();
    while let Ok(Ok(Some(f))) = tokio::time::timeout(Duration::from_secs(10), s.recv_frame()).await {
        got.push(f);
    }
    assert!(got.is_empty(), "a revoked node got {} frames", got.len());
    assert_eq!(c.hub_store().revision_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuilt_node_gets_its_township_back_from_the_hub() {
    let c = County::new().await;
    let bundle = c.dir.add_node("鸦岭中心校", A, None).unwrap();
    let store = Store::open(&c.root.join("first")).unwrap();
    let cfg = init_from_bundle(&store, &bundle).unwrap();
    let mut a = Node { name: "鸦岭中心校".into(), store, cfg, next: 0 };
    let ids = a.add_students(500, "鸦岭小学", 0);
    a.absences(ids[0], 2..5);
    a.sync(&c).await;
    let want = a.records();
    drop(a);
    // The disk died; the same bundle on a new one.
    let store = Store::open(&c.root.join("second")).unwrap();
    let cfg = init_from_bundle(&store, &bundle).unwrap();
    let r = sync_once(&store, &cfg, Some(&c.addr)).await.unwrap();
    assert_eq!(r.received, 503);
    let got: BTreeMap<RecordId, Record> = store.records(None).map(|r| r.unwrap()).map(|r| (r.id, r)).collect();
    assert_same(&got, &want, "rebuilt");
    assert_exactly_once(&store);
    assert_exactly_once(c.hub_store());
}

// ---- kill -9 ----------------------------------------------------------------------------------

const CHILD_ENV: &str = "BAOXUE_TEST_CHILD_NODE";

/// Not a test of its own: the node process the crash test kills. Runs only when the parent sets
/// the environment.
#[test]
#[ignore]
fn child_node_sync() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let hub = std::env::var("BAOXUE_TEST_CHILD_HUB").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(Path::new(&dir)).unwrap();
        let cfg = baoxue_node::sync::load_config(&store).unwrap().unwrap();
        sync_once(&store, &cfg, Some(&hub)).await.unwrap();
    });
}

fn spawn_child_node(dir: &Path, hub: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_node_sync", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir)
        .env("BAOXUE_TEST_CHILD_HUB", hub)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn kill9(child: &mut Child) {
    let _ = Command::new("kill").args(["-9", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// Waits until `cond` holds (polling), at most `secs`.
async fn until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_a_node_in_the_middle_of_a_sync_loses_and_doubles_nothing() {
    const N: usize = 40_000;
    let c = County::new().await;
    let node_dir = c.root.join("node-killed");
    {
        let bundle = c.dir.add_node("鸦岭中心校", A, None).unwrap();
        let store = Store::open(&node_dir).unwrap();
        let cfg = init_from_bundle(&store, &bundle).unwrap();
        let mut n = Node { name: "鸦岭中心校".into(), store, cfg, next: 0 };
        for k in 0..N / 10_000 {
            n.add_students(10_000, "鸦岭小学", k * 10_000);
        }
    } // The store is closed: the child process opens it.
    let hub = c.hub_store().clone();
    // Killed while pushing.
    let mut child = spawn_child_node(&node_dir, &c.addr);
    let mid = until(60, || {
        let n = hub.log_end().unwrap();
        n > 0 && n < N as u64
    })
    .await;
    kill9(&mut child);
    assert!(mid, "the push was caught in the middle");
    let partial = hub.log_end().unwrap();
    assert!(partial < N as u64, "killed before the end ({partial})");
    assert_exactly_once(&hub);

    // It resumes to completion.
    let store = Store::open(&node_dir).unwrap();
    let cfg = baoxue_node::sync::load_config(&store).unwrap().unwrap();
    let r = sync_once(&store, &cfg, Some(&c.addr)).await.unwrap();
    assert!((r.sent as usize) < N, "resumed, not restarted");
    assert_eq!(hub.revision_count(), N);
    assert_exactly_once(&hub);
    assert_exactly_once(&store);

    // A second node of the township, killed while pulling all of it.
    let puller_dir = c.root.join("node-puller");
    {
        let bundle = c.dir.add_node("鸦岭初中", A, None).unwrap();
        let store = Store::open(&puller_dir).unwrap();
        init_from_bundle(&store, &bundle).unwrap();
    }
    let empty = dir_size(&puller_dir);
    let mut child = spawn_child_node(&puller_dir, &c.addr);
    // The child holds the store's lock; watch its files grow instead.
    let mid = until(60, || dir_size(&puller_dir) > empty + 12_000_000).await;
    kill9(&mut child);
    assert!(mid, "the pull was caught in the middle");
    let puller = Store::open(&puller_dir).unwrap();
    let before = puller.revision_count();
    eprintln!("puller held {before} of {N} revisions when killed");
    let pcfg = baoxue_node::sync::load_config(&puller).unwrap().unwrap();
    sync_once(&puller, &pcfg, Some(&c.addr)).await.unwrap();
    assert_exactly_once(&puller);
    assert_eq!(puller.revision_count(), N, "the puller had {before} before resuming");
    assert!(before < N, "killed before the end of the pull");
    let again = sync_once(&store, &cfg, Some(&c.addr)).await.unwrap();
    assert_eq!((again.sent, again.received), (0, 0));
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        total += if p.is_dir() { dir_size(&p) } else { e.metadata().map(|m| m.len()).unwrap_or(0) };
    }
    total
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_hub(data: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_baoxue-hub"))
        .args(["--data", &data.to_string_lossy(), "serve", "--listen", &format!("127.0.0.1:{port}"), "--no-web"])
        .env("BAOXUE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Syncs, retrying while the hub process starts.
async fn sync_retrying(store: &Store, cfg: &NodeConfig, addr: &str) -> SyncReport {
    let mut last = None;
    for _ in 0..60 {
        match sync_once(store, cfg, Some(addr)).await {
            Ok(r) => return r,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("sync never succeeded: {:?}", last.map(|e| e.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_the_hub_in_the_middle_of_a_sync_loses_and_doubles_nothing() {
    const N: usize = 40_000;
    let c = County::new_offline();
    let bundle = c.dir.add_node("鸦岭中心校", A, None).unwrap();
    let store = Store::open(&c.root.join("node")).unwrap();
    let cfg = init_from_bundle(&store, &bundle).unwrap();
    let mut n = Node { name: "鸦岭中心校".into(), store: store.clone(), cfg: cfg.clone(), next: 0 };
    for k in 0..N / 10_000 {
        n.add_students(10_000, "鸦岭小学", k * 10_000);
    }
    let port = free_udp_port();
    let addr = format!("127.0.0.1:{port}");
    let mut hub = spawn_hub(&c.dir.root, port);
    // A first small sync to be sure the hub is up.
    let mut b = c.node("高山中心校", B);
    b.add_students(5, "高山小学", 90_000);
    sync_retrying(&b.store, &b.cfg, &addr).await;

    let (s2, c2, a2) = (store.clone(), cfg.clone(), addr.clone());
    let task = tokio::spawn(async move { sync_once(&s2, &c2, Some(&a2)).await });
    let mid = until(60, || {
        let acked: Option<(u64, u64)> = store.get_meta(baoxue_node::sync::META_PUSH_ACKED).unwrap();
        acked.is_some_and(|(_, pos)| pos > 0 && pos < N as u64)
    })
    .await;
    kill9(&mut hub);
    assert!(mid, "the hub was killed in the middle of the push");
    // The restarted hub answers the old connection with a reset, so the cut sync ends quickly.
    let mut hub = spawn_hub(&c.dir.root, port);
    let cut = tokio::time::timeout(Duration::from_secs(60), task).await.expect("the cut sync ended").unwrap();
    assert!(cut.is_err(), "the sync was cut");
    let r = sync_retrying(&store, &cfg, &addr).await;
    assert!(r.sent > 0 && (r.sent as usize) < N, "resumed, not restarted: sent {}", r.sent);
    let again = sync_retrying(&store, &cfg, &addr).await;
    assert_eq!((again.sent, again.received), (0, 0));
    kill9(&mut hub);
    let hub_store = c.dir.open_store().unwrap();
    assert_eq!(hub_store.revision_count(), N + 5);
    assert_exactly_once(&hub_store);
    assert_exactly_once(&store);
    let org: Org = c.dir.org().unwrap();
    assert!(org.townships.contains_key(A));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_the_hub_in_the_middle_of_a_pull_then_sync_again_holds_every_revision_once() {
    // Several pull batches' worth (at most 8,192 revisions each): the kill falls between
    // them or inside one.
    const N: usize = 39_000;
    let c = County::new_offline();
    let mut a = c.node("鸦岭中心校", A);
    for k in 0..N / 3_000 {
        let ids = a.add_students(3_000, "鸦岭小学", k * 3_000);
        a.absences(ids[k], 2..4);
    }
    let total = N + 2 * (N / 3_000);
    let port = free_udp_port();
    let addr = format!("127.0.0.1:{port}");
    let mut hub = spawn_hub(&c.dir.root, port);
    let r = sync_retrying(&a.store, &a.cfg, &addr).await;
    assert_eq!(r.sent as usize, total);

    // A second node of the township pulls all of it; the hub is killed while it sends.
    let b = c.node("鸦岭初中", A);
    let (s2, c2, a2) = (b.store.clone(), b.cfg.clone(), addr.clone());
    let task = tokio::spawn(async move { sync_once(&s2, &c2, Some(&a2)).await });
    let mid = until(60, || {
        let n = b.store.revision_count();
        n > 0 && n < total
    })
    .await;
    kill9(&mut hub);
    assert!(mid, "the hub was killed in the middle of the pull");
    // The restarted hub answers the old connection with a reset, so the cut sync ends quickly.
    let mut hub = spawn_hub(&c.dir.root, port);
    let cut = tokio::time::timeout(Duration::from_secs(150), task).await.expect("the cut sync ended").unwrap();
    assert!(cut.is_err(), "the sync was cut");
    let before = b.store.revision_count();
    assert!(before > 0 && before < total, "held {before} of {total} when the hub died");
    assert_exactly_once(&b.store);

    let r = sync_retrying(&b.store, &b.cfg, &addr).await;
    assert!((r.received as usize) <= total - before, "resumed, not restarted: received {} after {before}", r.received);
    // Count them: every revision of the hub's, once, and nothing else.
    assert_eq!(b.store.revision_count(), total);
    assert_exactly_once(&b.store);
    let records = b.records();
    assert_eq!(records.len(), N);
    assert_eq!(records.values().map(|r| r.revisions as usize).sum::<usize>(), total);
    assert_same(&records, &a.records(), "pulled after the hub's crash");
    let again = sync_retrying(&b.store, &b.cfg, &addr).await;
    assert_eq!((again.sent, again.received), (0, 0));
    kill9(&mut hub);
    assert_exactly_once(&c.dir.open_store().unwrap());
}

/// Kills a pulling node at six points of its sync and checks the store after each kill: every
/// revision held is logged once (`Store::apply` writes revisions, log, log end and derived state
/// in one atomic batch), and the resumed sync ends with exactly the records of the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_a_pulling_node_at_random_points_then_resume() {
    const N: usize = 30_000;
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    for k in 0..N / 10_000 {
        let ids = a.add_students(10_000, "鸦岭小学", k * 10_000);
        a.absences(ids[k], 2..4);
    }
    a.sync(&c).await;
    let dir = c.root.join("node-killed-often");
    {
        let bundle = c.dir.add_node("鸦岭初中", A, None).unwrap();
        init_from_bundle(&Store::open(&dir).unwrap(), &bundle).unwrap();
    }
    let mut seen = Vec::new();
    for k in 0..6u64 {
        let start = dir_size(&dir);
        let mut child = spawn_child_node(&dir, &c.addr);
        let grow = 500_000 + (k * 7_919_993) % 6_000_000;
        let _ = until(30, || dir_size(&dir) > start + grow).await;
        kill9(&mut child);
        let store = Store::open(&dir).unwrap();
        seen.push(store.revision_count());
        // Whatever was cut, the store holds each revision once, logged once.
        assert_exactly_once(&store);
    }
    let store = Store::open(&dir).unwrap();
    let cfg = baoxue_node::sync::load_config(&store).unwrap().unwrap();
    sync_once(&store, &cfg, Some(&c.addr)).await.unwrap();
    assert_exactly_once(&store);
    assert_eq!(store.revision_count(), N + 2 * (N / 10_000), "held after each kill: {seen:?}");
    let got: BTreeMap<RecordId, Record> = store.records(None).map(|r| r.unwrap()).map(|r| (r.id, r)).collect();
    assert_same(&got, &a.records(), "killed and resumed");
}

// ---- the command line -------------------------------------------------------------------------

fn hub_cmd(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baoxue-hub")).arg("--data").arg(data).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hub_commands_of_cli_md() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let ok = |r: (i32, String, String)| {
        assert_eq!(r.0, 0, "stdout: {}\nstderr: {}", r.1, r.2);
        r.1
    };
    ok(hub_cmd(&data, &["init", "--county-code", "410329", "--name", "伊川县", "--policy", "yichuan"]));
    let again = hub_cmd(&data, &["init", "--county-code", "410329", "--name", "伊川县"]);
    assert_eq!(again.0, 1, "a second init fails");
    assert!(again.2.contains("已经初始化"), "{}", again.2);
    let org = tmp.path().join("org.csv");
    std::fs::write(&org, ORG).unwrap();
    ok(hub_cmd(&data, &["org", "import", &org.to_string_lossy()]));
    let bundle = tmp.path().join("yaling.toml");
    ok(hub_cmd(&data, &["node", "add", "鸦岭中心校", "--township", A, "--out", &bundle.to_string_lossy()]));
    let bad = hub_cmd(
        &data,
        &["node", "add", "外县", "--township", "不存在镇", "--out", &tmp.path().join("x").to_string_lossy()],
    );
    assert_eq!(bad.0, 1);
    assert!(bad.2.contains("不存在镇"), "{}", bad.2);
    assert_eq!(hub_cmd(&data, &["node", "add"]).0, 2, "bad usage exits 2");

    // A node from the bundle syncs with `serve`.
    let port = free_udp_port();
    let addr = format!("127.0.0.1:{port}");
    let mut serve = spawn_hub(&data, port);
    let store = Store::open(&tmp.path().join("node")).unwrap();
    let cfg = init_from_bundle(&store, &std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let mut n = Node { name: "鸦岭中心校".into(), store: store.clone(), cfg: cfg.clone(), next: 0 };
    n.add_students(3, "鸦岭小学", 0);
    let r = sync_retrying(&store, &cfg, &addr).await;
    assert_eq!(r.sent, 3);
    let rows: serde_json::Value = serde_json::from_str(&ok(hub_cmd(&data, &["node", "list", "--json"]))).unwrap();
    assert_eq!(rows[0]["name"], "鸦岭中心校");
    assert_eq!(rows[0]["township"], A);
    assert!(rows[0]["last_sync"].is_string(), "{rows}");
    // The store is the server's while it runs: the command is run by the server for us.
    let busy: serde_json::Value = serde_json::from_str(&ok(hub_cmd(&data, &["stats", "--json"]))).unwrap();
    assert_eq!(busy["revisions"], 3, "{busy}");
    ok(hub_cmd(&data, &["node", "revoke", "鸦岭中心校"]));
    let e = sync_once(&store, &cfg, Some(&addr)).await.unwrap_err();
    assert!(e.is_refusal(), "{e}");
    kill9(&mut serve);

    let stats: serde_json::Value = serde_json::from_str(&ok(hub_cmd(&data, &["stats", "--json"]))).unwrap();
    for key in ["revisions", "students", "cases", "conflicts", "nodes"] {
        assert!(stats.get(key).is_some(), "stats has {key}: {stats}");
    }
    assert_eq!(stats["revisions"], 3);
    assert_eq!(stats["nodes"][0]["revisions"], 3);
    assert!(stats["nodes"][0]["last_sync"].is_string());
    let conflicts: serde_json::Value = serde_json::from_str(&ok(hub_cmd(&data, &["conflicts", "--json"]))).unwrap();
    assert_eq!(conflicts, serde_json::json!([]));
    let human = ok(hub_cmd(&data, &["node", "list"]));
    assert!(human.contains("已吊销"), "{human}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_syncs_at_start_then_waits_for_the_nightly_hour_and_stops_on_refusal() {
    let c = County::new().await;
    let mut a = c.node("鸦岭中心校", A);
    a.add_students(2, "鸦岭小学", 0);
    let opts =
        baoxue_node::sync::RunOptions { hub_override: Some(c.addr.clone()), sync_at_start: true, ..Default::default() };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let store = a.store.clone();
    let run = tokio::spawn(baoxue_node::sync::run_forever(store.clone(), opts.clone(), async move {
        let _ = rx.await;
    }));
    assert!(until(20, || sync_status(&store).unwrap().last_sync.is_some()).await, "synced at start");
    assert_eq!(c.hub_store().revision_count(), 2);
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(5), run).await.expect("stops on shutdown").unwrap().unwrap();
    // Revoked: `run` stops and says why instead of retrying for ever.
    c.dir.revoke_node_in(c.hub_store(), "鸦岭中心校").unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        baoxue_node::sync::run_forever(a.store.clone(), opts, std::future::pending::<()>()),
    )
    .await
    .expect("gave up on a refusal");
    assert!(r.unwrap_err().is_refusal());
}
