//! The engine without a network: in-memory replicas, sessions pumped by hand, cut, duplicated
//! and reordered at will.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::*;
use crate::dates::Date;
use crate::ids::{make_id, StudentNo};
use crate::model::{AbsenceKind, CaseSource, Cause, Sex};
use crate::model::{Placement, Status, TransferTarget};
use crate::org::Org;
use crate::revision::{Assign, Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use crate::revision::{CaseInit, Child, StudentInit};
use crate::state::fold_all;
use crate::state::Record;

use super::testkit::*;

// ---- in-memory replicas -----------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct Mem {
    epoch: u64,
    log: Vec<(RevId, Option<String>)>,
    revs: HashMap<RevId, Revision>,
    recs: BTreeMap<RecordId, Record>,
    by_record: HashMap<RecordId, Vec<RevId>>,
    /// Student records by 学籍号.
    by_no: HashMap<String, Vec<RecordId>>,
}

impl Mem {
    fn new(epoch: u64) -> Mem {
        Mem { epoch, ..Default::default() }
    }
    fn apply(&mut self, revs: &[Revision], from: Option<&str>) -> ApplyOutcome {
        let mut out = ApplyOutcome::default();
        let mut touched = BTreeSet::new();
        for r in revs {
            if let std::collections::hash_map::Entry::Vacant(e) = self.revs.entry(r.id) {
                e.insert(r.clone());
                self.log.push((r.id, from.map(str::to_string)));
                self.recs.entry(r.record).or_insert_with(|| Record::new(r.record, r.kind)).apply(r);
                self.by_record.entry(r.record).or_default().push(r.id);
                if let Change::CreateStudent(init) = &r.change {
                    self.by_no.entry(init.student_no.as_str().to_string()).or_default().push(r.record);
                }
                out.new += 1;
                touched.insert(r.record);
            }
        }
        out.conflicts =
            touched.into_iter().filter(|id| self.recs.get(id).is_some_and(|r| !r.conflicts().is_empty())).collect();
        out
    }
    fn log_range(&self, from: u64, max: usize) -> Vec<LogItem> {
        self.log
            .iter()
            .enumerate()
            .skip(from as usize)
            .take(max)
            .map(|(i, (rev, from))| LogItem {
                pos: i as u64,
                rev: *rev,
                from: from.clone(),
                record: self.revs[rev].record,
                at: (*rev, 0),
            })
            .collect()
    }
    fn records(&self) -> BTreeMap<RecordId, Record> {
        // Folded afresh from the revisions in another order: the same state whatever the order.
        let mut revs: Vec<&Revision> = self.revs.values().collect();
        revs.sort_by_key(|r| std::cmp::Reverse(r.id));
        let folded = fold_all(revs);
        assert_eq!(folded, self.recs);
        folded
    }
    fn record(&self, id: RecordId) -> Option<Record> {
        self.recs.get(&id).cloned()
    }
    /// Every revision is held once and logged once.
    fn assert_exactly_once(&self) {
        let distinct: BTreeSet<RevId> = self.log.iter().map(|(id, _)| *id).collect();
        assert_eq!(distinct.len(), self.log.len(), "a revision was logged twice");
        assert_eq!(self.revs.len(), self.log.len());
    }
}

#[derive(Debug, Clone)]
struct MemHub {
    m: Mem,
    org: Org,
    cursors: HashMap<String, Cursor>,
    owners: HashMap<String, String>,
    incarnations: HashMap<String, NodeIncarnations>,
}

impl MemHub {
    fn new() -> MemHub {
        MemHub {
            m: Mem::new(rand::random()),
            org: org(),
            cursors: HashMap::new(),
            owners: HashMap::new(),
            incarnations: HashMap::new(),
        }
    }
    fn own_scope(&self, id: RecordId) -> Option<RecordScope> {
        self.m.record(id).map(|r| record_scope(&r, &self.org))
    }
}

impl HubReplica for MemHub {
    fn epoch(&self) -> Result<u64, StoreFault> {
        Ok(self.m.epoch)
    }
    fn rotate_epoch(&mut self) -> Result<u64, StoreFault> {
        self.m.epoch = rand::random();
        Ok(self.m.epoch)
    }
    fn log_end(&self) -> Result<u64, StoreFault> {
        Ok(self.m.log.len() as u64)
    }
    fn log_range(&self, from: u64, max: usize) -> Result<Vec<LogItem>, StoreFault> {
        Ok(self.m.log_range(from, max))
    }
    fn log_revision(&self, item: &LogItem) -> Result<Option<Revision>, StoreFault> {
        Ok(self.m.revs.get(&item.rev).cloned())
    }
    fn revision(&self, record: RecordId, id: RevId) -> Result<Option<Revision>, StoreFault> {
        Ok(self.m.revs.get(&id).filter(|r| r.record == record).cloned())
    }
    fn contains(&self, rev: &Revision) -> Result<bool, StoreFault> {
        Ok(self.m.revs.contains_key(&rev.id))
    }
    fn scope(&self, record: RecordId) -> Result<Option<BTreeSet<String>>, StoreFault> {
        Ok(self.own_scope(record).map(|s| {
            let mut t = s.townships;
            if let Some(st) = s.student.and_then(|st| self.own_scope(st)) {
                t.extend(st.townships);
            }
            t
        }))
    }
    fn history(&self, record: RecordId) -> Result<Vec<Revision>, StoreFault> {
        Ok(self.m.by_record.get(&record).into_iter().flatten().map(|id| self.m.revs[id].clone()).collect())
    }
    fn cases_of(&self, student: RecordId) -> Result<Vec<RecordId>, StoreFault> {
        Ok(self
            .m
            .recs
            .values()
            .filter(|r| r.case.as_ref().is_some_and(|c| c.student == Some(student)))
            .map(|r| r.id)
            .collect())
    }
    fn org(&self) -> &Org {
        &self.org
    }
    fn record(&self, id: RecordId) -> Result<Option<Record>, StoreFault> {
        Ok(self.m.record(id))
    }
    fn apply(&mut self, revs: &[Revision], from: &str) -> Result<ApplyOutcome, StoreFault> {
        Ok(self.m.apply(revs, Some(from)))
    }
    fn push_cursor(&self, node: &str) -> Result<Option<Cursor>, StoreFault> {
        Ok(self.cursors.get(node).copied())
    }
    fn set_push_cursor(&mut self, node: &str, cursor: &Cursor) -> Result<(), StoreFault> {
        self.cursors.insert(node.to_string(), *cursor);
        Ok(())
    }
    fn origin_owner(&self, origin: &str) -> Result<Option<String>, StoreFault> {
        Ok(self.owners.get(origin).cloned())
    }
    fn claim_origin(&mut self, origin: &str, node: &str) -> Result<(), StoreFault> {
        self.owners.insert(origin.to_string(), node.to_string());
        Ok(())
    }
    fn incarnations(&self, node: &str) -> Result<NodeIncarnations, StoreFault> {
        Ok(self.incarnations.get(node).cloned().unwrap_or_default())
    }
    fn set_incarnations(&mut self, node: &str, inc: &NodeIncarnations) -> Result<(), StoreFault> {
        self.incarnations.insert(node.to_string(), inc.clone());
        Ok(())
    }
    fn students_numbered(&self, no: &str) -> Result<Vec<RecordId>, StoreFault> {
        Ok(self.m.by_no.get(no).cloned().unwrap_or_default())
    }
}

#[derive(Debug, Clone)]
struct MemNode {
    name: String,
    township: String,
    m: Mem,
    st: NodeSyncState,
    push_acked: (u64, u64),
    rejected: Vec<Rejected>,
    config: Option<CountyConfig>,
    seq: u64,
    clock: u64,
}

impl MemNode {
    fn new(name: &str, township: &str) -> MemNode {
        MemNode {
            name: name.into(),
            township: township.into(),
            m: Mem::new(rand::random()),
            st: NodeSyncState::default(),
            push_acked: (0, 0),
            rejected: Vec::new(),
            config: None,
            seq: 0,
            clock: NOW - 3_600_000,
        }
    }
    fn ctx(&self, others: &[&MemNode]) -> HubContext {
        HubContext {
            node: self.name.clone(),
            township: self.township.clone(),
            other_nodes: others.iter().map(|n| n.name.clone()).collect(),
            future_bound_ms: DEFAULT_FUTURE_BOUND_MS,
            config: None,
        }
    }
    fn make(&mut self, record: RecordId, kind: RecordKind, change: Change) -> Revision {
        self.seq += 1;
        // A tenth of a second apart: the big cut tests make tens of thousands of revisions, all
        // still in the past when the hub (at NOW) checks their clocks.
        self.clock += 100;
        let id = if matches!(change, Change::CreateStudent(_) | Change::CreateCase(_)) {
            record.creating_revision()
        } else {
            RevId::random()
        };
        Revision {
            id,
            record,
            kind,
            origin: self.name.clone(),
            seq: self.seq,
            hlc: Hlc { ms: self.clock, n: 0 },
            author: "王老师".into(),
            date: Date::ymd(2026, 3, 1),
            change,
        }
    }
    fn commit(&mut self, record: RecordId, kind: RecordKind, change: Change) -> Revision {
        let rev = self.make(record, kind, change);
        self.m.apply(std::slice::from_ref(&rev), None);
        rev
    }
    fn add_student(&mut self, i: u16, school: &str) -> RecordId {
        let id = RecordId::created_by(RevId::random());
        self.commit(id, RecordKind::Student, Change::CreateStudent(Box::new(student(i, school))));
        id
    }
    fn set(&mut self, record: RecordId, field: Field, value: Value) -> Revision {
        let heads = self.m.record(record).and_then(|r| r.register(field).map(|g| g.head_ids())).unwrap_or_default();
        self.commit(record, RecordKind::Student, Change::Update(vec![Assign { field, value, supersedes: heads }]))
    }
    fn absence(&mut self, record: RecordId, day: u32) -> Revision {
        self.commit(
            record,
            RecordKind::Student,
            Change::Absence { day: Date::ymd(2026, 3, day), kind: AbsenceKind::Unexcused },
        )
    }
}

impl NodeReplica for MemNode {
    fn epoch(&self) -> Result<u64, StoreFault> {
        Ok(self.m.epoch)
    }
    fn log_end(&self) -> Result<u64, StoreFault> {
        Ok(self.m.log.len() as u64)
    }
    fn log_range(&self, from: u64, max: usize) -> Result<Vec<LogItem>, StoreFault> {
        Ok(self.m.log_range(from, max))
    }
    fn log_revision(&self, item: &LogItem) -> Result<Option<Revision>, StoreFault> {
        Ok(self.m.revs.get(&item.rev).cloned())
    }
    fn sync_state(&self) -> Result<NodeSyncState, StoreFault> {
        Ok(self.st.clone())
    }
    fn start_new_epoch(&mut self) -> Result<u64, StoreFault> {
        self.m.epoch = rand::random();
        self.st.pull = None;
        self.push_acked = (self.m.epoch, 0);
        Ok(self.m.epoch)
    }
    fn set_refetch_own_below(&mut self, below: u64) -> Result<(), StoreFault> {
        self.st.refetch_own_below = below;
        Ok(())
    }
    fn apply_pulled(&mut self, revs: &[Revision]) -> Result<ApplyOutcome, StoreFault> {
        Ok(self.m.apply(revs, Some("hub")))
    }
    fn save_pull_cursor(&mut self, cursor: &Cursor, refetch_done: bool) -> Result<(), StoreFault> {
        self.st.pull = Some(*cursor);
        if refetch_done {
            self.st.refetch_own_below = 0;
        }
        Ok(())
    }
    fn save_push_ack(&mut self, epoch: u64, up_to: u64, rejected: &[Rejected]) -> Result<(), StoreFault> {
        if self.push_acked.0 != epoch || self.push_acked.1 < up_to {
            self.push_acked = (epoch, up_to);
        }
        for r in rejected {
            if !self.rejected.iter().any(|x| x.revision == r.revision) {
                self.rejected.push(r.clone());
            }
        }
        Ok(())
    }
    fn apply_config(&mut self, config: &CountyConfig) -> Result<(), StoreFault> {
        self.config = Some(config.clone());
        self.st.config_version = config.version;
        Ok(())
    }
}

fn student(i: u16, school: &str) -> StudentInit {
    // Distinct for every i: the sequence gives i % 1000, the month and day the rest.
    let birth = Date::ymd(2015, 1 + u32::from(i / 1000) % 12, 1 + u32::from(i / 12_000));
    StudentInit {
        sex: Sex::Female,
        entry_year: Some(2022),
        ..crate::testkit::pupil(&format!("学生{i}"), birth, i, school, 4)
    }
}

fn case_for(student: RecordId, township: &str) -> Change {
    Change::CreateCase(Box::new(CaseInit {
        student: Some(student),
        child: Child {
            name: "学生".into(),
            id_number: None,
            student_no: None,
            sex: Sex::Female,
            birth: Date::ymd(2015, 1, 1),
            hukou_township: None,
            hukou_village: None,
            groups: vec![],
        },
        township: township.into(),
        school: None,
        grade: Some(4),
        source: CaseSource::Roll,
        opened: Date::ymd(2026, 3, 2),
        clock_start: Date::ymd(2026, 3, 1),
        cause: Cause::Unknown,
        previous: None,
    }))
}

// ---- the pump ---------------------------------------------------------------------------------

/// Runs one session between a node and the hub, every message through the frame codec. `cut`
/// ends it after that many delivered messages (a dropped connection). Returns the outcomes.
fn session(
    hub: &mut MemHub,
    node: &mut MemNode,
    ctx: HubContext,
    cut: Option<usize>,
) -> Result<(NodeOutcome, HubOutcome), String> {
    let (mut ns, hello) = NodeSession::start(node, node.clock).map_err(|e| e.to_string())?;
    let mut hs = HubSession::new(ctx);
    let mut to_hub: VecDeque<Message> = hello.into();
    let mut to_node: VecDeque<Message> = VecDeque::new();
    let mut delivered = 0usize;
    let wire = |m: &Message, side: Side| decode_frame(&encode_frame(m).unwrap(), side).unwrap();
    for _ in 0..100_000 {
        if cut.is_some_and(|c| delivered >= c) {
            return Err("cut".into());
        }
        if let Some(m) = to_hub.pop_front() {
            delivered += 1;
            let m = wire(&m, Side::Hub);
            let out = hs.handle(hub, m, NOW).map_err(|e| e.to_string())?;
            to_node.extend(out);
        } else if let Some(m) = to_node.pop_front() {
            delivered += 1;
            let m = wire(&m, Side::Node);
            let out = ns.handle(node, m).map_err(|e| e.to_string())?;
            to_hub.extend(out);
        } else {
            break;
        }
        if ns.is_done() && hs.is_done() && to_hub.is_empty() && to_node.is_empty() {
            return Ok((ns.outcome().clone(), hs.outcome().clone()));
        }
    }
    Err(format!("session stalled: node done {}, hub done {}", ns.is_done(), hs.is_done()))
}

fn sync(hub: &mut MemHub, node: &mut MemNode) -> (NodeOutcome, HubOutcome) {
    let ctx = node.ctx(&[]);
    session(hub, node, ctx, None).expect("sync")
}

/// The records a node should hold: the hub's records in its township's scope.
fn in_scope(hub: &MemHub, township: &str) -> BTreeMap<RecordId, Record> {
    hub.m
        .recs
        .clone()
        .into_iter()
        .filter(|(id, _)| hub.scope(*id).unwrap().is_some_and(|s| s.contains(township)))
        .collect()
}

// ---- frames -----------------------------------------------------------------------------------

#[test]
fn frames_round_trip_and_never_panic() {
    let msgs = vec![
        Message::Hello(Hello {
            node_epoch: 7,
            node_log_end: 3,
            pull: Some(Cursor { epoch: 1, pos: 2, last: Some(RevId(9)) }),
            refetch_own_below: 0,
            node_clock_ms: NOW,
            config_version: 1,
        }),
        Message::PushDone,
        Message::PullAck(PullAck { up_to: 5 }),
        Message::Bye,
        Message::Error("出错了".into()),
    ];
    for m in msgs {
        assert_eq!(decode_frame(&encode_frame(&m).unwrap(), Side::Hub).unwrap(), m);
    }
    let mut rng = StdRng::seed_from_u64(7);
    for len in 0..2_000usize {
        let mut bytes: Vec<u8> = (0..len % 300).map(|_| rng.gen()).collect();
        if len % 2 == 0 && bytes.len() >= 2 {
            bytes[..2].copy_from_slice(&PROTO_VERSION.to_be_bytes());
        }
        let _ = decode_frame(&bytes, Side::Hub);
    }
    // Truncations of a real frame are errors, never panics.
    let mut node = MemNode::new("a", A);
    let s = node.add_student(1, SCHOOL_A);
    node.absence(s, 2);
    let batch = Message::PushBatch(PushBatch {
        from: 0,
        up_to: 2,
        last: None,
        revisions: node.m.revs.values().cloned().collect(),
    });
    let frame = encode_frame(&batch).unwrap();
    for cut in 0..frame.len() {
        assert!(decode_frame(&frame[..cut], Side::Hub).is_err());
    }
}

#[test]
fn version_mismatch_is_explained_on_both_sides() {
    let mut frame = encode_frame(&Message::Bye).unwrap();
    frame[..2].copy_from_slice(&2u16.to_be_bytes());
    let at_hub = decode_frame(&frame, Side::Hub).unwrap_err();
    assert_eq!(at_hub.to_string(), "协议版本不一致：节点 v2，平台 v1，请升级");
    let at_node = decode_frame(&frame, Side::Node).unwrap_err();
    assert_eq!(at_node.to_string(), "协议版本不一致：节点 v1，平台 v2，请升级");
    // What the hub sends back reaches the node whatever its version.
    let reply = SyncError::Frame(at_hub).to_peer().unwrap();
    let back = decode_frame(&encode_frame(&reply).unwrap(), Side::Node).unwrap();
    assert_eq!(back, Message::Error("协议版本不一致：节点 v2，平台 v1，请升级".into()));
}

// ---- decisions --------------------------------------------------------------------------------

fn hello(epoch: u64, log_end: u64, pull: Option<Cursor>) -> Hello {
    Hello {
        node_epoch: epoch,
        node_log_end: log_end,
        pull,
        refetch_own_below: 0,
        node_clock_ms: NOW,
        config_version: 0,
    }
}

#[test]
fn welcome_plans() {
    // A node the hub never saw: everything, both ways.
    let p = plan_welcome(None, &hello(1, 10, None), 5, 100, None);
    assert_eq!((p.push_from, p.reset_epoch, p.pull_from, p.rotate_hub_epoch), (0, false, 0, false));
    assert_eq!((p.fresh, p.refetch_own_below), (true, 100));
    // Resuming.
    let rec = Cursor { epoch: 1, pos: 8, last: Some(RevId(8)) };
    let pull = Cursor { epoch: 5, pos: 40, last: Some(RevId(40)) };
    let p = plan_welcome(Some(&rec), &hello(1, 10, Some(pull)), 5, 100, Some(RevId(40)));
    assert_eq!((p.push_from, p.push_check, p.reset_epoch, p.pull_from), (8, Some(RevId(8)), false, 40));
    assert_eq!((p.fresh, p.refetch_own_below), (false, 0));
    // The node's log is shorter than what the hub received: restored from backup.
    let p = plan_welcome(Some(&rec), &hello(1, 5, None), 5, 100, None);
    assert!(p.reset_epoch);
    assert_eq!(p.push_from, 0);
    // A new node epoch (rebuilt, restored from an older backup, or just reset): everything both
    // ways, own revisions included.
    let p = plan_welcome(Some(&rec), &hello(2, 10, Some(pull)), 5, 100, Some(RevId(40)));
    assert_eq!((p.push_from, p.reset_epoch, p.pull_from, p.fresh, p.refetch_own_below), (0, false, 0, true, 100));
    // Another hub epoch: pull everything.
    let p = plan_welcome(Some(&rec), &hello(1, 10, Some(Cursor { epoch: 4, pos: 40, last: None })), 5, 100, None);
    assert_eq!((p.pull_from, p.rotate_hub_epoch), (0, false));
    // The node's cursor is beyond the hub's log, or points at another entry: the hub was restored.
    let p = plan_welcome(Some(&rec), &hello(1, 10, Some(pull)), 5, 30, None);
    assert_eq!((p.pull_from, p.rotate_hub_epoch), (0, true));
    let p = plan_welcome(Some(&rec), &hello(1, 10, Some(pull)), 5, 100, Some(RevId(41)));
    assert_eq!((p.pull_from, p.rotate_hub_epoch), (0, true));
}

#[test]
fn node_reset_decision() {
    let w = |from, check, reset| Welcome {
        node: "a".into(),
        township: A.into(),
        hub_epoch: 1,
        hub_log_end: 0,
        push_from: from,
        push_check: check,
        reset_epoch: reset,
        pull_from: 0,
        refetch_own_below: 0,
        hub_clock_ms: NOW,
        future_bound_ms: DEFAULT_FUTURE_BOUND_MS,
        config: None,
    };
    assert!(!node_must_reset(&w(0, None, false), 0, None));
    assert!(node_must_reset(&w(0, None, true), 10, None));
    assert!(!node_must_reset(&w(5, Some(RevId(4)), false), 10, Some(RevId(4))));
    assert!(node_must_reset(&w(5, Some(RevId(4)), false), 10, Some(RevId(99))));
    assert!(node_must_reset(&w(11, Some(RevId(4)), false), 10, None));
}

fn ctx_for<'a>(org: &'a Org, others: &'a BTreeSet<String>, township: &'a str) -> CheckContext<'a> {
    CheckContext {
        node: "鸦岭中心校",
        township,
        org,
        now_ms: NOW,
        future_bound_ms: DEFAULT_FUTURE_BOUND_MS,
        other_nodes: others,
        node_clock_ms: Some(NOW),
    }
}

#[test]
fn checks_clock_scope_origin_and_placement() {
    let org = org();
    let others: BTreeSet<String> = ["高山中心校".to_string()].into();
    let ctx = ctx_for(&org, &others, A);
    let mut node = MemNode::new("鸦岭中心校", A);
    let sid = RecordId::created_by(RevId::random());
    let mut create = node.make(sid, RecordKind::Student, Change::CreateStudent(Box::new(student(1, SCHOOL_A))));
    assert_eq!(check_revision(&create, None, &ctx), Ok(()));

    // An hour in the hub's future: refused, naming the revision's stamp, the hub's clock and the
    // node's own clock (here right again: the revision was recorded while it was wrong).
    create.hlc.ms = NOW + 3_600_000;
    let e = check_revision(&create, None, &ctx).unwrap_err();
    assert!(matches!(e, Refusal::FutureClock { rev_ms, hub_ms: NOW, .. } if rev_ms == NOW + 3_600_000), "{e:?}");
    // Rendered for the operator: the stamps and both clocks.
    let e = e.to_string();
    assert!(e.contains("修订时间 2026-03-01 09:00:00 超前县级平台的时钟 2026-03-01 08:00:00"), "{e}");
    assert!(e.contains("超前 1 小时 0 分钟"), "{e}");
    assert!(e.contains("节点 鸦岭中心校 的时钟为 2026-03-01 08:00:00，与平台相符"), "{e}");
    // The node's clock still two hours ahead: said so, with its reading.
    let ahead = CheckContext { node_clock_ms: Some(NOW + 2 * 3_600_000), ..ctx.clone() };
    let e = check_revision(&create, None, &ahead).unwrap_err().to_string();
    assert!(e.contains("节点 鸦岭中心校 的时钟为 2026-03-01 10:00:00，仍超前平台 2 小时 0 分钟"), "{e}");
    assert!(e.contains("请校准该节点电脑的时钟"), "{e}");
    // Behind by a day.
    let behind = CheckContext { node_clock_ms: Some(NOW - 24 * 3_600_000), ..ctx.clone() };
    let e = check_revision(&create, None, &behind).unwrap_err().to_string();
    assert!(e.contains("节点 鸦岭中心校 的时钟为 2026-02-28 08:00:00，落后平台 1 天 0 小时"), "{e}");
    // Nine minutes ahead is within the bound; weeks behind is simply old.
    create.hlc.ms = NOW + 9 * 60_000;
    assert_eq!(check_revision(&create, None, &ctx), Ok(()));
    create.hlc.ms = NOW - 40 * 24 * 3_600_000;
    assert_eq!(check_revision(&create, None, &ctx), Ok(()));

    // A student of another township's school.
    let other = node.make(
        RecordId::created_by(RevId::random()),
        RecordKind::Student,
        Change::CreateStudent(Box::new(student(2, SCHOOL_B))),
    );
    let e = check_revision(&other, None, &ctx).unwrap_err();
    assert!(matches!(&e, Refusal::SchoolOfOtherTownship { owner, .. } if owner == "高山"), "{e:?}");
    // Not in the county.
    let nowhere = node.make(
        RecordId::created_by(RevId::random()),
        RecordKind::Student,
        Change::CreateStudent(Box::new(student(3, "不存在小学"))),
    );
    assert!(matches!(check_revision(&nowhere, None, &ctx), Err(Refusal::SchoolNotInOrg { .. })));
    // An edit to a record of another township.
    let edit =
        node.make(sid, RecordKind::Student, Change::Absence { day: Date::ymd(2026, 3, 2), kind: AbsenceKind::Sick });
    let scope_b: BTreeSet<String> = [B.to_string()].into();
    assert!(matches!(
        check_revision(&edit, Some(&scope_b), &ctx),
        Err(Refusal::OutOfScope { township, .. }) if township == "鸦岭"
    ));
    // An edit of a record the hub does not hold.
    assert!(matches!(check_revision(&edit, None, &ctx), Err(Refusal::UnknownRecord { .. })));
    // Another node's name as origin; the hub's; a made-up one; the offline names.
    assert_eq!(check_origin("鸦岭中心校", None, &ctx), Ok(OriginUse::Owned));
    assert!(matches!(check_origin("高山中心校", None, &ctx), Err(Refusal::OtherNodesOrigin { .. })));
    assert!(matches!(check_origin(HUB_ORIGIN, None, &ctx), Err(Refusal::HubOrigin { .. })));
    assert!(matches!(check_origin("zzzz", None, &ctx), Err(Refusal::UnknownOrigin { .. })));
    assert_eq!(check_origin("鸦岭-offline-1a2b", None, &ctx), Ok(OriginUse::Claim));
    assert_eq!(check_origin("鸦岭-offline-1a2b", Some("鸦岭中心校"), &ctx), Ok(OriginUse::Owned));
    let e = check_origin("鸦岭-offline-1a2b", Some("鸦岭初中"), &ctx).unwrap_err();
    assert!(matches!(&e, Refusal::OriginOwned { owner, .. } if owner == "鸦岭初中"), "{e:?}");
    assert!(check_origin("高山-offline-1a2b", None, &ctx).is_err(), "another township's offline name");
    assert!(check_origin("鸦岭-offline-1a2b3", None, &ctx).is_err());
    let scope_a: BTreeSet<String> = [A.to_string()].into();
    // Moving a student into another township's school directly (not by transfer).
    let mv = node.make(
        sid,
        RecordKind::Student,
        Change::Update(vec![Assign {
            field: Field::Placement,
            value: Value::Placement(Placement { status: Status::Enrolled, school: SCHOOL_B.into(), transfer: None }),
            supersedes: vec![sid.creating_revision()],
        }]),
    );
    assert!(matches!(check_revision(&mv, Some(&scope_a), &ctx), Err(Refusal::PlacementOfOtherTownship { .. })));
    // A transfer out to another township's school is the node's to make.
    let out = node.make(
        sid,
        RecordKind::Student,
        Change::Update(vec![Assign {
            field: Field::Placement,
            value: Value::Placement(Placement {
                status: Status::TransferredOut,
                school: SCHOOL_A.into(),
                transfer: Some(TransferTarget::School(SCHOOL_B.into())),
            }),
            supersedes: vec![sid.creating_revision()],
        }]),
    );
    assert_eq!(check_revision(&out, Some(&scope_a), &ctx), Ok(()));
    // A case for another township.
    let case = node.make(RecordId::created_by(RevId::random()), RecordKind::Case, case_for(sid, B));
    let mut case = case;
    case.id = case.record.creating_revision();
    assert!(matches!(check_revision(&case, None, &ctx), Err(Refusal::CaseOfOtherTownship { .. })));
}

// ---- sessions ---------------------------------------------------------------------------------

#[test]
fn empty_sync_then_incremental() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let (n, h) = sync(&mut hub, &mut a);
    assert_eq!((n.sent, n.received, h.complete), (0, 0, true));
    let s = a.add_student(1, SCHOOL_A);
    a.absence(s, 2);
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!((n.sent, n.accepted_new), (2, 2));
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!((n.sent, n.received), (0, 0));
    hub.m.assert_exactly_once();
    assert_eq!(a.m.records(), in_scope(&hub, A));
}

#[test]
fn hub_and_three_nodes_converge_after_concurrent_edits() {
    let mut hub = MemHub::new();
    let mut a1 = MemNode::new("a1", A);
    let mut a2 = MemNode::new("a2", A);
    let mut b = MemNode::new("b", B);
    let s: Vec<RecordId> = (0..20).map(|i| a1.add_student(i, SCHOOL_A)).collect();
    let t: Vec<RecordId> = (0..10).map(|i| b.add_student(100 + i, SCHOOL_B)).collect();
    sync(&mut hub, &mut a1);
    sync(&mut hub, &mut b);
    sync(&mut hub, &mut a2);
    assert_eq!(a2.m.records(), a1.m.records());
    // Concurrent edits to different fields of the same records, and absences, on both A nodes.
    for (i, id) in s.iter().enumerate() {
        a1.set(*id, Field::Phone, Value::OptText(Some(format!("1390000{i:04}"))));
        a2.set(*id, Field::Guardian, Value::OptText(Some(format!("家长{i}"))));
        a1.absence(*id, 3);
        a2.absence(*id, 4);
    }
    for id in &t {
        b.absence(*id, 5);
    }
    for _ in 0..2 {
        sync(&mut hub, &mut a2);
        sync(&mut hub, &mut b);
        sync(&mut hub, &mut a1);
    }
    hub.m.assert_exactly_once();
    for n in [&a1, &a2, &b] {
        n.m.assert_exactly_once();
        assert_eq!(n.m.records(), in_scope(&hub, &n.township), "node {}", n.name);
    }
    // Different fields merged by themselves: no conflicts.
    assert!(hub.m.records().values().all(|r| r.conflicts().is_empty()));
    let r = &a1.m.records()[&s[3]];
    assert_eq!(r.text(Field::Guardian), Some("家长3"));
    assert_eq!(r.absences.len(), 2);
    // Node b sees none of A's children.
    assert!(s.iter().all(|id| !b.m.records().contains_key(id)));
}

/// A student of A that two nodes of A, both up to date, have each given a different value of
/// `field` (text) without syncing since: a conflict once both have pushed.
fn edited_apart(field: Field, one: &str, other: &str) -> (MemHub, MemNode, MemNode, RecordId) {
    let mut hub = MemHub::new();
    let mut a1 = MemNode::new("a1", A);
    let mut a2 = MemNode::new("a2", A);
    let s = a1.add_student(1, SCHOOL_A);
    sync(&mut hub, &mut a1);
    sync(&mut hub, &mut a2);
    a1.set(s, field, Value::OptText(Some(one.into())));
    a2.set(s, field, Value::OptText(Some(other.into())));
    (hub, a1, a2, s)
}

#[test]
fn same_field_conflict_is_kept_and_resolution_reaches_the_nodes() {
    let (mut hub, mut a1, mut a2, s) = edited_apart(Field::Phone, "13900000001", "13900000002");
    sync(&mut hub, &mut a1);
    let (n, _) = sync(&mut hub, &mut a2);
    assert!(n.conflicts.contains(&s), "the hub reports the conflict to the pushing node");
    let rec = hub.m.record(s).unwrap();
    assert_eq!(rec.conflicts().len(), 1);
    let heads = rec.register(Field::Phone).unwrap().head_ids();
    assert_eq!(heads.len(), 2);
    // Resolution at the hub: replaces every head.
    let res = Revision {
        id: RevId::random(),
        record: s,
        kind: RecordKind::Student,
        origin: HUB_ORIGIN.into(),
        seq: 1,
        hlc: Hlc { ms: NOW, n: 0 },
        author: "县级平台".into(),
        date: Date::ymd(2026, 3, 1),
        change: Change::Update(vec![Assign {
            field: Field::Phone,
            value: Value::OptText(Some("13900000002".into())),
            supersedes: heads,
        }]),
    };
    hub.m.apply(&[res], None);
    sync(&mut hub, &mut a1);
    sync(&mut hub, &mut a2);
    for n in [&a1, &a2] {
        let r = n.m.record(s).unwrap();
        assert!(r.conflicts().is_empty());
        assert_eq!(r.text(Field::Phone), Some("13900000002"));
    }
}

/// What the hub records of how far a node has pulled is what the node confirmed: its Hello's
/// cursor or its pull acknowledgements, never what was only sent.
#[test]
fn the_hub_learns_how_far_a_node_pulled_only_from_the_node() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut b = MemNode::new("b", B);
    for i in 0..5 {
        b.add_student(100 + i, SCHOOL_B);
    }
    sync(&mut hub, &mut b);
    let (_, h) = sync(&mut hub, &mut a);
    let end = hub.m.log.len() as u64;
    assert_eq!(h.pulled, Some(Pulled { epoch: hub.m.epoch, pos: end }), "a complete sync confirms the log end");
    // New revisions in A's scope: the hub sends them, but the node's acknowledgements are lost.
    let mut a1 = MemNode::new("a1", A);
    let s = a1.add_student(1, SCHOOL_A);
    sync(&mut hub, &mut a1);
    let end2 = hub.m.log.len() as u64;
    assert!(end2 > end);
    let clock = a.clock;
    let (mut ns, hello) = NodeSession::start(&mut a, clock).unwrap();
    let mut hs = HubSession::new(a.ctx(&[]));
    let mut to_hub: VecDeque<Message> = hello.into();
    let mut sent_pull = false;
    while let Some(m) = to_hub.pop_front() {
        for out in hs.handle(&mut hub, m, NOW).unwrap() {
            sent_pull |= matches!(out, Message::PullBatch(_));
            let replies = ns.handle(&mut a, out).unwrap();
            // The node's acknowledgements of pulled batches never reach the hub.
            to_hub.extend(replies.into_iter().filter(|r| !matches!(r, Message::PullAck(_) | Message::Bye)));
        }
    }
    assert!(sent_pull && a.m.record(s).is_some(), "the node did receive the new student");
    assert_eq!(
        hs.outcome().pulled,
        Some(Pulled { epoch: hub.m.epoch, pos: end }),
        "sent but not acknowledged: the hub still knows only the cursor the Hello carried"
    );
    // The next session's Hello carries the node's durable cursor: now the hub knows.
    let (_, h) = sync(&mut hub, &mut a);
    assert_eq!(h.pulled, Some(Pulled { epoch: hub.m.epoch, pos: end2 }));
}

#[test]
fn a_future_clock_is_rejected_and_kept_at_the_node() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let s = a.add_student(1, SCHOOL_A);
    a.clock = NOW + 3_600_000;
    let bad = a.absence(s, 6);
    a.clock = NOW - 1_000;
    let good = a.absence(s, 7);
    let (n, h) = sync(&mut hub, &mut a);
    assert_eq!(n.rejected.len(), 1);
    assert_eq!(n.rejected[0].revision, bad.id);
    assert!(n.rejected[0].reason.contains("节点 a 的时钟为"), "{}", n.rejected[0].reason);
    assert_eq!(h.rejected.len(), 1);
    assert!(hub.m.revs.contains_key(&good.id) && !hub.m.revs.contains_key(&bad.id));
    assert_eq!(a.rejected.len(), 1, "kept at the node for `status`");
    assert!(a.m.revs.contains_key(&bad.id), "the node keeps the revision itself");
    // Not sent again.
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!((n.sent, n.rejected.len()), (0, 0));
}

#[test]
fn a_node_offline_for_weeks_syncs_normally() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    a.clock = NOW - 45 * 24 * 3_600_000;
    let s = a.add_student(1, SCHOOL_A);
    for d in 1..20 {
        a.absence(s, d);
    }
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!((n.sent, n.accepted_new, n.rejected.len()), (20, 20, 0));
}

#[test]
fn a_transfer_brings_the_whole_history_to_the_new_township() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut b = MemNode::new("b", B);
    let s = a.add_student(1, SCHOOL_A);
    for d in 2..6 {
        a.absence(s, d);
    }
    let case = RecordId::created_by(RevId::random());
    a.commit(case, RecordKind::Case, case_for(s, A));
    a.commit(
        case,
        RecordKind::Case,
        Change::Act(crate::model::Action {
            date: Date::ymd(2026, 3, 6),
            kind: crate::model::ActionKind::Visit,
            by: "李老师".into(),
            notice: None,
            text: None,
        }),
    );
    // B syncs before the transfer: sees nothing of A.
    sync(&mut hub, &mut a);
    sync(&mut hub, &mut b);
    assert!(b.m.records().is_empty());
    let transfer = a.set(
        s,
        Field::Placement,
        Value::Placement(Placement {
            status: Status::TransferredOut,
            school: SCHOOL_A.into(),
            transfer: Some(TransferTarget::School(SCHOOL_B.into())),
        }),
    );
    sync(&mut hub, &mut a);
    let (n, _) = sync(&mut hub, &mut b);
    assert!(n.received >= 8, "received {}", n.received);
    let got = b.m.record(s).expect("B has the student");
    assert_eq!(got.absences.len(), 4);
    assert_eq!(got.status(), Some(Status::TransferredOut));
    assert!(b.m.revs.contains_key(&transfer.id));
    let c = b.m.record(case).expect("B has the case with its history");
    assert_eq!(c.actions.len(), 1);
    // B accepts; then it is B's. A can no longer change it.
    b.set(
        s,
        Field::Placement,
        Value::Placement(Placement { status: Status::Enrolled, school: SCHOOL_B.into(), transfer: None }),
    );
    let (n, _) = sync(&mut hub, &mut b);
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
    assert_eq!(hub.m.record(s).unwrap().school(), Some(SCHOOL_B));
    let late = a.absence(s, 9);
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!(n.rejected.len(), 1);
    assert_eq!(n.rejected[0].revision, late.id);
    hub.m.assert_exactly_once();
    b.m.assert_exactly_once();
}

fn placement(status: Status, school: &str) -> Value {
    Value::Placement(Placement { status, school: school.into(), transfer: None })
}

fn transfer_to(from: &str, to: &str) -> Value {
    Value::Placement(Placement {
        status: Status::TransferredOut,
        school: from.into(),
        transfer: Some(TransferTarget::School(to.into())),
    })
}

#[test]
fn legal_placement_changes() {
    let p = |s: Status, school: &str| Placement { status: s, school: school.into(), transfer: None };
    let out = Placement {
        status: Status::TransferredOut,
        school: SCHOOL_A.into(),
        transfer: Some(TransferTarget::School(SCHOOL_B.into())),
    };
    assert!(legal_placement_change(&p(Status::Enrolled, SCHOOL_A), &p(Status::DroppedOut, SCHOOL_A)));
    assert!(legal_placement_change(&p(Status::DroppedOut, SCHOOL_A), &p(Status::Enrolled, SCHOOL_A)));
    assert!(!legal_placement_change(&p(Status::Graduated, SCHOOL_A), &p(Status::DroppedOut, SCHOOL_A)));
    assert!(!legal_placement_change(&p(Status::Deceased, SCHOOL_A), &p(Status::Enrolled, SCHOOL_A)));
    assert!(legal_placement_change(&p(Status::Graduated, SCHOOL_A), &p(Status::Graduated, SCHOOL_A)), "no change");
    // A school changes only by accepting a transfer addressed to it; cancelling one stays put.
    assert!(legal_placement_change(&out, &p(Status::Enrolled, SCHOOL_B)));
    assert!(legal_placement_change(&out, &p(Status::Enrolled, SCHOOL_A)));
    assert!(!legal_placement_change(&out, &p(Status::Enrolled, SCHOOL_A2)));
    assert!(!legal_placement_change(&out, &p(Status::DroppedOut, SCHOOL_A)));
    assert!(!legal_placement_change(&p(Status::Enrolled, SCHOOL_A), &p(Status::Suspended, SCHOOL_A2)));
}

#[test]
fn the_hub_refuses_illegal_status_changes_but_not_chains_transfers_or_its_own_resolutions() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut b = MemNode::new("b", B);
    // In one batch: created, 休学, back to 在读, 毕业 — each legal from the one before.
    let s = a.add_student(1, SCHOOL_A);
    a.set(s, Field::Placement, placement(Status::Suspended, SCHOOL_A));
    a.set(s, Field::Placement, placement(Status::Enrolled, SCHOOL_A));
    a.set(s, Field::Placement, placement(Status::Graduated, SCHOOL_A));
    let (n, _) = sync(&mut hub, &mut a);
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
    assert_eq!(hub.m.record(s).unwrap().status(), Some(Status::Graduated));
    // A buggy node pushes 毕业 → 辍学: refused with the reason, kept at the node.
    let bad = a.set(s, Field::Placement, placement(Status::DroppedOut, SCHOOL_A));
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!(n.rejected.len(), 1);
    assert_eq!(n.rejected[0].revision, bad.id);
    assert!(n.rejected[0].reason.contains("不能由毕业（鸦岭小学）改为辍学（鸦岭小学）"), "{}", n.rejected[0].reason);
    assert_eq!(hub.m.record(s).unwrap().status(), Some(Status::Graduated));
    // A placement write naming nothing it replaces stands beside the current value: it must be
    // a legal change from that value too.
    let mut loose = a.make(
        s,
        RecordKind::Student,
        Change::Update(vec![Assign {
            field: Field::Placement,
            value: placement(Status::Enrolled, SCHOOL_A),
            supersedes: vec![],
        }]),
    );
    a.m.apply(std::slice::from_ref(&loose), None);
    let (n, _) = sync(&mut hub, &mut a);
    assert!(n.rejected.iter().any(|r| r.revision == loose.id), "{:?}", n.rejected);
    // Nor may it name a revision of another record to escape the check.
    loose.id = RevId::random();
    let Change::Update(ref mut assigns) = loose.change else { unreachable!() };
    assigns[0].supersedes = vec![RevId::random()];
    a.m.apply(std::slice::from_ref(&loose), None);
    let (n, _) = sync(&mut hub, &mut a);
    assert!(n.rejected.iter().any(|r| r.revision == loose.id), "{:?}", n.rejected);

    // A transfer to B, accepted at B; then a status change at B.
    let t = a.add_student(2, SCHOOL_A);
    a.set(t, Field::Placement, transfer_to(SCHOOL_A, SCHOOL_B));
    sync(&mut hub, &mut a);
    sync(&mut hub, &mut b);
    b.set(t, Field::Placement, placement(Status::Enrolled, SCHOOL_B));
    b.set(t, Field::Placement, placement(Status::Suspended, SCHOOL_B));
    let (n, _) = sync(&mut hub, &mut b);
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
    assert_eq!(hub.m.record(t).unwrap().placement().unwrap().school, SCHOOL_B);

    // A status conflict (two nodes of A), resolved at the hub; a later change from the
    // resolution is legal, and reaches the hub.
    let mut a2 = MemNode::new("a2", A);
    let u = a.add_student(3, SCHOOL_A);
    sync(&mut hub, &mut a);
    sync(&mut hub, &mut a2);
    a.set(u, Field::Placement, placement(Status::Suspended, SCHOOL_A));
    a2.set(u, Field::Placement, placement(Status::Deceased, SCHOOL_A));
    sync(&mut hub, &mut a);
    let (n, _) = sync(&mut hub, &mut a2);
    assert!(n.rejected.is_empty() && n.conflicts.contains(&u), "{n:?}");
    let heads = hub.m.record(u).unwrap().register(Field::Placement).unwrap().head_ids();
    let resolve = Revision {
        id: RevId::random(),
        record: u,
        kind: RecordKind::Student,
        origin: HUB_ORIGIN.into(),
        seq: 1,
        hlc: Hlc { ms: NOW, n: 0 },
        author: "县级平台".into(),
        date: Date::ymd(2026, 3, 1),
        change: Change::Update(vec![Assign {
            field: Field::Placement,
            value: placement(Status::Suspended, SCHOOL_A),
            supersedes: heads,
        }]),
    };
    hub.m.apply(&[resolve], None);
    sync(&mut hub, &mut a);
    a.set(u, Field::Placement, placement(Status::Enrolled, SCHOOL_A));
    let (n, _) = sync(&mut hub, &mut a);
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
    assert_eq!(hub.m.record(u).unwrap().status(), Some(Status::Enrolled));
    hub.m.assert_exactly_once();
}

#[test]
fn a_transfer_taken_back_at_a_while_b_accepts_it_is_a_conflict_not_a_refusal() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut b = MemNode::new("b", B);
    let s = a.add_student(1, SCHOOL_A);
    a.set(s, Field::Placement, transfer_to(SCHOOL_A, SCHOOL_B));
    sync(&mut hub, &mut a);
    sync(&mut hub, &mut b);
    // Neither hears of the other: the child is back at A (在读 there), and accepted at B, who
    // records an absence in the same batch.
    a.set(s, Field::Placement, placement(Status::Enrolled, SCHOOL_A));
    b.set(s, Field::Placement, placement(Status::Enrolled, SCHOOL_B));
    let absent = b.absence(s, 4);
    sync(&mut hub, &mut a);
    let (n, _) = sync(&mut hub, &mut b);
    assert!(n.rejected.is_empty(), "a conflict, not a refusal: {:?}", n.rejected);
    assert!(n.conflicts.contains(&s));
    assert!(hub.m.revs.contains_key(&absent.id));
    let rec = hub.m.record(s).unwrap();
    assert_eq!(rec.conflicts().len(), 1);
    assert_eq!(rec.register(Field::Placement).unwrap().heads.len(), 2);
    assert_eq!(hub.scope(s).unwrap().unwrap(), BTreeSet::from([A.to_string(), B.to_string()]));
    // Both townships see both values until the county decides.
    let (n, _) = sync(&mut hub, &mut a);
    assert!(n.conflicts.contains(&s));
    for node in [&a, &b] {
        assert_eq!(node.m.record(s).unwrap().register(Field::Placement).unwrap().heads.len(), 2, "{}", node.name);
    }
}

#[test]
fn a_node_cannot_settle_a_conflict_only_the_hub_can() {
    let (mut hub, mut a1, mut a2, s) = edited_apart(Field::Guardian, "张母", "张奶奶");
    sync(&mut hub, &mut a1);
    sync(&mut hub, &mut a2);
    sync(&mut hub, &mut a1);
    assert!(a1.m.record(s).unwrap().register(Field::Guardian).unwrap().in_conflict());
    // An old node writes over both values: refused; the conflict stays listed at the hub.
    let settle = a1.set(s, Field::Guardian, Value::OptText(Some("张母".into())));
    let (n, _) = sync(&mut hub, &mut a1);
    assert_eq!(n.rejected.len(), 1);
    assert_eq!(n.rejected[0].revision, settle.id);
    assert!(n.rejected[0].reason.contains("监护人有并发修改冲突"), "{}", n.rejected[0].reason);
    assert!(n.rejected[0].reason.contains("conflicts resolve"), "{}", n.rejected[0].reason);
    assert_eq!(hub.m.record(s).unwrap().conflicts().len(), 1);
    // Two heads of the same value are no conflict: replacing both is an ordinary edit.
    let t = a1.add_student(2, SCHOOL_A);
    sync(&mut hub, &mut a1);
    sync(&mut hub, &mut a2);
    a1.set(t, Field::Phone, Value::OptText(Some("1".into())));
    a2.set(t, Field::Phone, Value::OptText(Some("1".into())));
    sync(&mut hub, &mut a1);
    sync(&mut hub, &mut a2);
    sync(&mut hub, &mut a1);
    a1.set(t, Field::Phone, Value::OptText(Some("2".into())));
    let (n, _) = sync(&mut hub, &mut a1);
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
}

#[test]
fn a_node_pushes_only_in_its_own_names_first_come_first_served() {
    let mut hub = MemHub::new();
    // 鸦岭 worked offline as 鸦岭-offline-00aa, then joined as a1: both names are a1's.
    let mut a1 = MemNode::new("鸦岭-offline-00aa", A);
    let s = a1.add_student(1, SCHOOL_A);
    a1.name = "a1".into();
    a1.absence(s, 2);
    let mut a2 = MemNode::new("a2", A);
    let others = MemNode::new("b", B);
    let ctx1 = a1.ctx(&[&a2, &others]);
    let (n, _) = session(&mut hub, &mut a1, ctx1.clone(), None).unwrap();
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
    assert_eq!(hub.owners.get("鸦岭-offline-00aa").map(String::as_str), Some("a1"));
    // Later revisions in the offline name (kept in the node's log) are still a1's.
    a1.name = "鸦岭-offline-00aa".into();
    a1.absence(s, 3);
    a1.name = "a1".into();
    let (n, _) = session(&mut hub, &mut a1, ctx1, None).unwrap();
    assert_eq!((n.sent, n.rejected.len()), (1, 0), "{:?}", n.rejected);
    // a2 may not use a1's offline name, a made-up one, a1's own, or the hub's.
    let ctx2 = a2.ctx(&[&a1, &others]);
    sync(&mut hub, &mut a2);
    let mut forged = Vec::new();
    for origin in ["鸦岭-offline-00aa", "zzzz-a2", "a1", HUB_ORIGIN] {
        a2.name = origin.into();
        forged.push((origin, a2.absence(s, 10)));
    }
    a2.name = "a2".into();
    let own = a2.absence(s, 11);
    let (n, _) = session(&mut hub, &mut a2, ctx2, None).unwrap();
    assert_eq!(n.rejected.len(), 4, "{:?}", n.rejected);
    for (origin, rev) in &forged {
        let r = n.rejected.iter().find(|r| r.revision == rev.id).unwrap_or_else(|| panic!("{origin} accepted"));
        assert!(r.reason.contains(origin), "{}", r.reason);
        assert!(!hub.m.revs.contains_key(&rev.id));
    }
    assert!(n.rejected.iter().any(|r| r.reason.contains("已属于节点 a1")), "{:?}", n.rejected);
    assert!(hub.m.revs.contains_key(&own.id));
    // Another township's offline name is not 鸦岭's to claim at all.
    let mut a3 = MemNode::new("高山-offline-0001", A);
    a3.absence(s, 12);
    a3.name = "a3".into();
    let ctx3 = a3.ctx(&[&a1, &a2, &others]);
    let (n, _) = session(&mut hub, &mut a3, ctx3, None).unwrap();
    assert_eq!(n.rejected.len(), 1, "{:?}", n.rejected);
    assert!(!hub.owners.contains_key("高山-offline-0001"));
}

#[test]
fn a_refused_create_takes_its_edits_with_it() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let s = a.add_student(1, SCHOOL_B);
    a.absence(s, 2);
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!(n.rejected.len(), 2);
    assert!(n.rejected[1].reason.contains("已被拒绝"));
    assert!(hub.m.revs.is_empty());
}

/// The setup of the cut tests: a hub and two nodes with history on both sides.
fn busy_county() -> (MemHub, MemNode, MemNode) {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut b = MemNode::new("b", B);
    for i in 0..30 {
        let s = a.add_student(i, SCHOOL_A);
        a.absence(s, 2);
    }
    for i in 0..30 {
        b.add_student(200 + i, SCHOOL_B);
    }
    sync(&mut hub, &mut b);
    // More than one batch each way for node a.
    for i in 0..(BATCH_MAX_REVISIONS as u16 * 2 + 10) {
        a.add_student(1000 + i, if i % 2 == 0 { SCHOOL_A } else { SCHOOL_A2 });
    }
    hub.m.apply(
        &(0..(BATCH_MAX_REVISIONS as u16 + 500))
            .map(|i| {
                // Children of another area code: none shares a 学籍号 with node a's.
                let mut init = student(5000 + i, SCHOOL_A);
                let id = make_id("410330", init.birth.0, i);
                init.student_no = StudentNo::parse(&format!("G{}", id.as_str())).unwrap();
                init.id_number = Some(id);
                let mut r = b.make(
                    RecordId::created_by(RevId::random()),
                    RecordKind::Student,
                    Change::CreateStudent(Box::new(init)),
                );
                r.id = r.record.creating_revision();
                r.origin = "other-a".into();
                r
            })
            .collect::<Vec<_>>(),
        Some("other-a"),
    );
    (hub, a, b)
}

#[test]
fn a_sync_cut_at_any_point_resumes_with_nothing_lost_or_doubled() {
    let (hub0, a0, _) = busy_county();
    // How many messages a full session takes.
    let (mut h, mut a) = (hub0.clone(), a0.clone());
    let ctx = a.ctx(&[]);
    let mut total = 0;
    for cut in 1.. {
        if session(&mut h.clone(), &mut a.clone(), ctx.clone(), Some(cut)).is_ok() {
            total = cut;
            break;
        }
    }
    sync(&mut h, &mut a);
    let want_hub = h.m.records();
    let want_a = a.m.records();
    assert!(total > 6, "{total}");
    for cut in 0..total {
        let (mut hub, mut a) = (hub0.clone(), a0.clone());
        let _ = session(&mut hub, &mut a, ctx.clone(), Some(cut));
        // And cut again somewhere else before a full run.
        let _ = session(&mut hub, &mut a, ctx.clone(), Some((cut * 7) % total));
        sync(&mut hub, &mut a);
        hub.m.assert_exactly_once();
        a.m.assert_exactly_once();
        assert!(hub.m.recs == want_hub, "cut after {cut}");
        assert!(a.m.recs == want_a, "cut after {cut}");
        // A further sync has nothing to do.
        let (n, _) = sync(&mut hub, &mut a);
        assert_eq!((n.sent, n.received), (0, 0), "cut after {cut}");
        // And the node knows the hub holds all of it (`unacknowledged` is 0).
        assert_eq!(a.push_acked, (a.m.epoch, a.m.log.len() as u64), "cut after {cut}: acknowledged");
    }
}

/// The driver's way (`baoxue-node`): one push batch per step, the rest of the window taken with
/// `next_push` and sent as each is made. Same result as whole windows, never more than
/// `WINDOW` batches unacknowledged, and the first batch goes out alone right after Welcome.
#[test]
fn pushing_one_batch_at_a_time_fills_the_same_window() {
    let (hub0, a0, _) = busy_county();
    let (mut want_hub, mut want_a) = (hub0.clone(), a0.clone());
    sync(&mut want_hub, &mut want_a);

    let (mut hub, mut a) = (hub0.clone(), a0.clone());
    let (mut ns, hello) = NodeSession::start(&mut a, NOW).unwrap();
    ns.one_batch_at_a_time();
    let mut hs = HubSession::new(a.ctx(&[]));
    let mut to_hub: VecDeque<Message> = hello.into();
    let mut to_node: VecDeque<Message> = VecDeque::new();
    let (mut unacked, mut most_unacked, mut batches) = (0usize, 0usize, 0usize);
    let mut after_welcome = None;
    for _ in 0..100_000 {
        if let Some(m) = to_hub.pop_front() {
            if matches!(m, Message::PushBatch(_)) {
                unacked += 1;
                batches += 1;
                most_unacked = most_unacked.max(unacked);
            }
            to_node.extend(hs.handle(&mut hub, m, NOW).unwrap());
        } else if let Some(m) = to_node.pop_front() {
            let welcome = matches!(m, Message::Welcome(_));
            if matches!(m, Message::PushAck(_)) {
                unacked -= 1;
            }
            let out = ns.handle(&mut a, m).unwrap();
            if welcome {
                after_welcome = Some(out.iter().filter(|m| matches!(m, Message::PushBatch(_))).count());
            }
            to_hub.extend(out);
            loop {
                let more = ns.next_push(&mut a).unwrap();
                if more.is_empty() {
                    break;
                }
                to_hub.extend(more);
            }
        } else {
            break;
        }
    }
    assert!(ns.is_done() && hs.is_done());
    assert_eq!(after_welcome, Some(1));
    assert!(batches >= 3 && most_unacked == WINDOW.min(batches), "{batches} batches, {most_unacked} unacknowledged");
    assert_eq!(ns.outcome().sent, a0.m.log.iter().filter(|(_, from)| from.is_none()).count() as u64);
    assert!(hub.m.recs == want_hub.m.recs);
    assert!(a.m.recs == want_a.m.recs);
    hub.m.assert_exactly_once();
    a.m.assert_exactly_once();
}

#[test]
fn duplicated_and_reordered_batches() {
    let (hub0, a0, _) = busy_county();
    let mut rng = StdRng::seed_from_u64(42);
    for round in 0..20 {
        let (mut hub, mut a) = (hub0.clone(), a0.clone());
        // Collect every push batch the node would send (acks fed back so the window advances).
        let (mut ns, hello) = NodeSession::start(&mut a, NOW).unwrap();
        let mut hs = HubSession::new(a.ctx(&[]));
        let welcome = hs.handle(&mut hub, hello[0].clone(), NOW).unwrap();
        let mut out = ns.handle(&mut a, welcome[0].clone()).unwrap();
        let mut batches = Vec::new();
        loop {
            let mut acks = Vec::new();
            for m in out.drain(..) {
                if let Message::PushBatch(b) = m {
                    acks.push(Message::PushAck(PushAck {
                        up_to: 0,
                        new: 0,
                        known: 0,
                        rejected: vec![],
                        conflicts: vec![],
                    }));
                    batches.push(b);
                }
            }
            if acks.is_empty() {
                break;
            }
            for ack in acks {
                out.extend(ns.handle(&mut a, ack).unwrap());
            }
        }
        assert!(batches.len() >= 3);
        // Deliver them duplicated and shuffled.
        let mut delivery: Vec<PushBatch> =
            batches.iter().cloned().chain(batches.iter().take(round % 3 + 1).cloned()).collect();
        delivery.shuffle(&mut rng);
        let mut hs = HubSession::new(a.ctx(&[]));
        hs.handle(&mut hub, Message::Hello(hello_of(&a)), NOW).unwrap();
        for b in delivery {
            hs.handle(&mut hub, Message::PushBatch(b), NOW).unwrap();
        }
        hub.m.assert_exactly_once();
        // The cursor covers a contiguous prefix only: never beyond a batch not yet applied.
        let cur = hub.cursors["a"];
        let end_of_applied_prefix = batches
            .iter()
            .take_while(|b| b.revisions.iter().all(|r| hub.m.revs.contains_key(&r.id)))
            .last()
            .map(|b| b.up_to)
            .unwrap_or(0);
        assert!(cur.pos <= end_of_applied_prefix);
        // Every batch arrived, so a normal session then has nothing to add but the cursor.
        let (n, _) = sync(&mut hub, &mut a);
        assert_eq!(n.accepted_new, 0);
        hub.m.assert_exactly_once();
        let (n, _) = sync(&mut hub, &mut a);
        assert_eq!(n.sent, 0);
    }
    // Pull batches duplicated and reordered at the node.
    let (mut hub, mut a, _) = busy_county();
    sync(&mut hub, &mut a);
    let mut fresh = MemNode::new("a-new", A);
    let (mut ns, hello) = NodeSession::start(&mut fresh, NOW).unwrap();
    let mut hs = HubSession::new(fresh.ctx(&[]));
    let welcome = hs.handle(&mut hub, hello[0].clone(), NOW).unwrap();
    ns.handle(&mut fresh, welcome[0].clone()).unwrap();
    let mut pulls = hs.handle(&mut hub, Message::PushDone, NOW).unwrap();
    let mut more = Vec::new();
    for _ in 0..pulls.len() {
        more.extend(hs.handle(&mut hub, Message::PullAck(PullAck { up_to: 0 }), NOW).unwrap());
    }
    pulls.extend(more);
    assert!(pulls.len() >= 2);
    let mut delivery = pulls.clone();
    delivery.extend(pulls.iter().take(2).cloned());
    delivery.shuffle(&mut rng);
    // Move `done` to the end so the node does not stop early.
    delivery.sort_by_key(|m| matches!(m, Message::PullBatch(b) if b.done));
    for m in delivery {
        ns.handle(&mut fresh, m).unwrap();
    }
    fresh.m.assert_exactly_once();
    sync(&mut hub, &mut fresh);
    fresh.m.assert_exactly_once();
    assert_eq!(fresh.m.records(), in_scope(&hub, A));
}

fn hello_of(n: &MemNode) -> Hello {
    Hello {
        node_epoch: n.m.epoch,
        node_log_end: n.m.log.len() as u64,
        pull: n.st.pull,
        refetch_own_below: n.st.refetch_own_below,
        node_clock_ms: NOW,
        config_version: n.st.config_version,
    }
}

#[test]
fn a_node_restored_from_backup_resyncs_fully() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    for i in 0..10 {
        a.add_student(i, SCHOOL_A);
    }
    sync(&mut hub, &mut a);
    let backup = a.clone();
    let lost: Vec<RecordId> = (10..20).map(|i| a.add_student(i, SCHOOL_A)).collect();
    sync(&mut hub, &mut a);
    // Restored: the disk from before the last ten.
    let mut a = backup.clone();
    let (n, h) = sync(&mut hub, &mut a);
    assert!(n.reset_epoch && h.reset_epoch);
    assert!(lost.iter().all(|id| a.m.records().contains_key(id)), "own revisions come back");
    hub.m.assert_exactly_once();
    a.m.assert_exactly_once();
    assert_eq!(a.m.records(), in_scope(&hub, A));

    // The same backup copied back by hand again: its epoch was left behind by the first restore,
    // so to the hub it is a second machine under this identity (克隆身份), refused.
    let mut copy = backup.clone();
    let ctx = copy.ctx(&[]);
    let err = session(&mut hub, &mut copy, ctx, None).unwrap_err();
    assert!(err.contains("克隆身份"), "{err}");
    assert_eq!(hub.incarnations["a"].clone_epoch, Some(backup.m.epoch));
    hub.incarnations.clear();

    // Restored with `restore` (which takes a new epoch), then new work before the next sync: the
    // log grew past the hub's cursor with other entries.
    let mut a = backup.clone();
    a.start_new_epoch().unwrap();
    let more: Vec<RecordId> = (30..45).map(|i| a.add_student(i, SCHOOL_A)).collect();
    let (n, _) = sync(&mut hub, &mut a);
    // An epoch the hub no longer holds a cursor for: a fresh start (no reset needed).
    assert!(!n.reset_epoch);
    assert!(more.iter().all(|id| hub.m.records().contains_key(id)));
    assert!(lost.iter().all(|id| a.m.records().contains_key(id)));
    hub.m.assert_exactly_once();
    a.m.assert_exactly_once();
    assert_eq!(a.m.records(), in_scope(&hub, A));
    let (n, _) = sync(&mut hub, &mut a);
    assert!(!n.reset_epoch);
    assert_eq!((n.sent, n.received), (0, 0));
}

#[test]
fn a_restored_node_that_worked_before_syncing_is_caught_by_the_fingerprint() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    for i in 0..10 {
        a.add_student(i, SCHOOL_A);
    }
    sync(&mut hub, &mut a);
    let backup = a.clone();
    let lost: Vec<RecordId> = (10..20).map(|i| a.add_student(i, SCHOOL_A)).collect();
    sync(&mut hub, &mut a);
    // Same epoch as the hub's cursor, and a log as long as the hub's cursor, but other entries.
    let mut a = backup;
    let more: Vec<RecordId> = (30..45).map(|i| a.add_student(i, SCHOOL_A)).collect();
    let (n, _) = sync(&mut hub, &mut a);
    assert!(n.reset_epoch);
    assert!(more.iter().all(|id| hub.m.recs.contains_key(id)));
    assert!(lost.iter().all(|id| a.m.recs.contains_key(id)));
    hub.m.assert_exactly_once();
    a.m.assert_exactly_once();
    assert_eq!(a.m.records(), in_scope(&hub, A));
}

#[test]
fn a_rebuilt_node_gets_its_township_back_and_resumes_after_a_cut() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    for i in 0..(BATCH_MAX_REVISIONS as u16 + 500) {
        let s = a.add_student(i, SCHOOL_A);
        if i % 10 == 0 {
            a.absence(s, 3);
        }
    }
    sync(&mut hub, &mut a);
    let want = a.m.records();
    // A new disk, the same certificate; the first sync is cut in the middle of the pull.
    let mut rebuilt = MemNode::new("a", A);
    let ctx = rebuilt.ctx(&[]);
    assert!(session(&mut hub, &mut rebuilt, ctx, Some(5)).is_err());
    assert!(!rebuilt.m.recs.is_empty() && rebuilt.m.recs.len() < want.len());
    sync(&mut hub, &mut rebuilt);
    assert_eq!(rebuilt.m.records(), want);
    rebuilt.m.assert_exactly_once();
    hub.m.assert_exactly_once();
    let (n, _) = sync(&mut hub, &mut rebuilt);
    assert_eq!((n.sent, n.received), (0, 0));
}

#[test]
fn a_hub_restored_from_backup_gets_everything_again() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut b = MemNode::new("b", B);
    for i in 0..10 {
        a.add_student(i, SCHOOL_A);
        b.add_student(100 + i, SCHOOL_B);
    }
    sync(&mut hub, &mut a);
    sync(&mut hub, &mut b);
    let backup = hub.clone();
    for i in 10..20 {
        a.add_student(i, SCHOOL_A);
        b.add_student(100 + i, SCHOOL_B);
    }
    sync(&mut hub, &mut a);
    sync(&mut hub, &mut b);
    // Restore the hub; another node's work arrives first, so its log grows past a's cursor.
    let mut hub = backup;
    for i in 0..30 {
        hub.m.apply(
            &[{
                let mut r = b.make(
                    RecordId::created_by(RevId::random()),
                    RecordKind::Student,
                    Change::CreateStudent(Box::new(student(300 + i, SCHOOL_B))),
                );
                r.id = r.record.creating_revision();
                r.origin = "c".into();
                r
            }],
            Some("c"),
        );
    }
    let (_, h) = sync(&mut hub, &mut a);
    assert!(h.rotated_hub_epoch);
    sync(&mut hub, &mut b);
    sync(&mut hub, &mut a);
    hub.m.assert_exactly_once();
    for n in [&a, &b] {
        n.m.assert_exactly_once();
        assert_eq!(n.m.records(), in_scope(&hub, &n.township));
    }
    assert_eq!(hub.m.records().len(), 20 + 20 + 30);
}

#[test]
fn county_configuration_reaches_outdated_nodes() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let cfg = CountyConfig {
        version: 3,
        county_code: "410329".into(),
        county_name: "伊川县".into(),
        org_csv: org().to_csv(),
        policy_toml: "name = \"x\"".into(),
    };
    let mut ctx = a.ctx(&[]);
    ctx.config = Some(cfg.clone());
    let (n, _) = session(&mut hub, &mut a, ctx.clone(), None).unwrap();
    assert_eq!(n.config_updated, Some(3));
    assert_eq!(a.config, Some(cfg));
    let (n, _) = session(&mut hub, &mut a, ctx, None).unwrap();
    assert_eq!(n.config_updated, None);
}

#[test]
fn unexpected_messages_end_the_session_with_a_reason() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    let mut hs = HubSession::new(a.ctx(&[]));
    let e = hs.handle(&mut hub, Message::PushDone, NOW).unwrap_err();
    assert!(matches!(e, SyncError::Protocol(_)));
    assert!(matches!(e.to_peer(), Some(Message::Error(_))));
    let (mut ns, _) = NodeSession::start(&mut a, NOW).unwrap();
    let e = ns.handle(&mut a, Message::Bye).unwrap_err();
    assert!(e.to_string().contains("意外的消息"));
    let e = ns.handle(&mut a, Message::Error("平台维护中".into())).unwrap_err();
    assert!(e.to_peer().is_none());
}

#[test]
fn an_oversized_revision_is_kept_at_the_node_and_never_blocks_the_ones_behind_it() {
    let mut hub = MemHub::new();
    let mut a = MemNode::new("a", A);
    a.add_student(1, SCHOOL_A);
    // Written before any limit existed: a name of 18 MB would not even fit a frame.
    let mut big = student(2, SCHOOL_A);
    big.name = "名".repeat(REVISION_MAX_BYTES);
    let huge =
        a.commit(RecordId::created_by(RevId::random()), RecordKind::Student, Change::CreateStudent(Box::new(big)));
    let behind: Vec<RecordId> = (3..8).map(|i| a.add_student(i, SCHOOL_A)).collect();
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!(n.rejected.len(), 1, "{:?}", n.rejected);
    assert_eq!(n.rejected[0].revision, huge.id);
    assert!(n.rejected[0].reason.contains("修订过大"), "{}", n.rejected[0].reason);
    assert!(a.rejected.iter().any(|r| r.revision == huge.id), "kept at the node with its reason");
    assert!(!hub.m.revs.contains_key(&huge.id));
    assert!(behind.iter().all(|id| hub.m.records().contains_key(id)), "the ones behind it synced");
    let (n, _) = sync(&mut hub, &mut a);
    assert_eq!(n.sent, 0);
}
