//! The hub's checks of a pushed revision (clock, scope, origin, legal status changes, conflicts):
//! what it accepts and why it refuses.

use std::collections::{BTreeSet, HashMap};

use super::error::StoreFault;
use super::replica::HubReplica;
use super::scope::placement_townships;
use super::HUB_ORIGIN;
use thiserror::Error;

use crate::model::{Placement, Status, TransferTarget};
use crate::org::Org;
use crate::revision::{Assign, Change, Field, Hlc, RecordId, RecordKind, Revision, Value};
use crate::state::Record;

/// Who is pushing, and what the hub holds against it.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// The node's name and township, from its certificate.
    pub node: &'a str,
    pub township: &'a str,
    pub org: &'a Org,
    pub now_ms: u64,
    pub future_bound_ms: u64,
    /// Every other node's name: a node may not push revisions in another node's name.
    pub other_nodes: &'a BTreeSet<String>,
    /// The node's own clock as its Hello said (named when a revision is refused for its clock).
    pub node_clock_ms: Option<u64>,
}

/// `YYYY-MM-DD HH:MM:SS` of a wall-clock millisecond (UTC+8).
pub fn clock_text(ms: u64) -> String {
    Hlc { ms, n: 0 }.display()
}

fn duration_text(ms: u64) -> String {
    let mins = ms / 60_000;
    if mins >= 24 * 60 {
        format!("{} 天 {} 小时", mins / (24 * 60), mins % (24 * 60) / 60)
    } else if mins >= 60 {
        format!("{} 小时 {} 分钟", mins / 60, mins % 60)
    } else {
        format!("{} 分钟", mins.max(1))
    }
}

/// Why a revision stamped `rev_ms` is refused: its stamp, the hub's clock, and the node's own
/// clock (from its Hello), so the operator can tell a clock that is still wrong from one that
/// was wrong when the revision was recorded.
pub fn future_clock_text(node: &str, rev_ms: u64, hub_ms: u64, node_clock_ms: Option<u64>, bound_ms: u64) -> String {
    let mut s = format!(
        "修订时间 {} 超前县级平台的时钟 {}（超前 {}，允许 {}）",
        clock_text(rev_ms),
        clock_text(hub_ms),
        duration_text(rev_ms.saturating_sub(hub_ms)),
        duration_text(bound_ms),
    );
    match node_clock_ms {
        Some(n) if n > hub_ms.saturating_add(bound_ms) => s.push_str(&format!(
            "；节点 {node} 的时钟为 {}，仍超前平台 {}：请校准该节点电脑的时钟后重新录入",
            clock_text(n),
            duration_text(n - hub_ms)
        )),
        Some(n) if n.saturating_add(bound_ms) < hub_ms => s.push_str(&format!(
            "；节点 {node} 的时钟为 {}，落后平台 {}：请校准该节点电脑的时钟，核对后重新录入",
            clock_text(n),
            duration_text(hub_ms - n)
        )),
        Some(n) => s.push_str(&format!(
            "；节点 {node} 的时钟为 {}，与平台相符：此修订是在该节点时钟不准时录入的，请核对后重新录入",
            clock_text(n)
        )),
        None => s.push_str(&format!("；请校准节点 {node} 电脑的时钟后重新录入")),
    }
    s
}

/// Why the hub refuses a pushed revision. The refusal travels to the node as text
/// ([`Rejected::reason`](super::Rejected)): it is rendered in Chinese (`Display`) only there.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The revision's clock is beyond the bound in the hub's future.
    #[error("{}", future_clock_text(node, *rev_ms, *hub_ms, *node_clock_ms, *bound_ms))]
    FutureClock { node: String, rev_ms: u64, hub_ms: u64, node_clock_ms: Option<u64>, bound_ms: u64 },
    #[error("建立记录的修订编号与记录编号不一致")]
    CreateIdMismatch,
    #[error("建立记录的修订与记录类型不一致")]
    CreateKindMismatch,
    /// The hub holds the record, in the scope of other townships (`owners`; none: no township).
    #[error("记录 {record} {}，不在本节点（{township}）的范围内", whose(owners))]
    OutOfScope { record: RecordId, owners: Vec<String>, township: String },
    #[error("学校“{school}”不在本县组织机构中")]
    SchoolNotInOrg { school: String },
    #[error("学校“{school}”属于 {owner}，不属于本节点的乡镇 {township}")]
    SchoolOfOtherTownship { school: String, owner: String, township: String },
    #[error("案件属于乡镇 {owner}，不属于本节点的乡镇 {township}")]
    CaseOfOtherTownship { owner: String, township: String },
    /// An edit of a record the hub does not hold.
    #[error("记录 {record} 在县级平台上不存在（建立该记录的修订未同步或已被拒绝）")]
    UnknownRecord { record: RecordId },
    /// Only 转出 names where the child goes, and 转出 must.
    #[error("学籍状态“{placement}”无效：只有转出才写明转往何处，转出必须写明")]
    TransferTarget { placement: Box<Placement> },
    #[error("学籍学校“{school}”属于 {owner}，不属于本节点的乡镇 {township}")]
    PlacementOfOtherTownship { school: String, owner: String, township: String },
    #[error("转入学校“{school}”不在本县组织机构中（县外请用县外转出）")]
    TransferSchoolNotInOrg { school: String },
    #[error("学籍状态字段的值类型不对")]
    PlacementValueType,
    #[error("修订的来源为县级平台（{HUB_ORIGIN}），节点 {node} 不能以县级平台的名义上报")]
    HubOrigin { node: String },
    #[error("修订的来源“{origin}”是另一个节点，节点 {node} 不能以其名义上报")]
    OtherNodesOrigin { origin: String, node: String },
    #[error("修订的来源“{origin}”已属于节点 {owner}（由其最先上报），节点 {node} 不能使用")]
    OriginOwned { origin: String, owner: String, node: String },
    #[error(
        "修订的来源“{origin}”既不是本节点 {node}，也不是本乡镇节点加入县级平台前的离线名称（{township}-offline-xxxx）"
    )]
    UnknownOrigin { origin: String, node: String, township: String },
    /// A node's write names several values it replaces: only the hub settles a conflict.
    #[error("{who}的{}有并发修改冲突（{}），节点不能自行裁定；请由县级平台用 baoxue-hub conflicts resolve 裁定", field.label(), values.join("／"))]
    SettlesConflict { who: String, field: Field, values: Vec<String> },
    /// Larger than any replica may write ([`super::REVISION_MAX_BYTES`]).
    #[error("修订过大：{bytes} 字节，上限 {max} 字节")]
    TooLarge { bytes: usize, max: usize },
    /// A node creates a student its township already has under the same 学籍号 (a second
    /// machine with the same identity imported the same roster).
    #[error("学籍号 {no} 在本乡镇已有学籍（记录 {existing}），不重复建立；请使用已有的学籍")]
    DuplicateStudentNo { no: String, existing: RecordId },
    #[error("{who}的学籍状态不能由{from}改为{to}：不是合法的学籍异动")]
    IllegalPlacementChange { who: String, from: Box<Placement>, to: Box<Placement> },
}

fn whose(owners: &[String]) -> String {
    if owners.is_empty() {
        "不属于任何乡镇（学校不在本县组织机构中）".to_string()
    } else {
        format!("属于 {}", owners.join("、"))
    }
}

/// Whether a name is the offline origin a node of `township` used before it joined the county
/// (`<township>-offline-<4 hex digits>`, see `baoxue-node init`).
pub fn is_offline_origin(origin: &str, township: &str) -> bool {
    origin
        .strip_prefix(township)
        .and_then(|rest| rest.strip_prefix("-offline-"))
        .is_some_and(|hex| hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What accepting a revision's origin means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginUse {
    /// The node's own name, or an origin it already owns.
    Owned,
    /// An offline origin nobody owns yet: it becomes this node's (first come, first served).
    Claim,
}

/// Decides whether a node may push a revision with this origin: its certificate name; or the
/// name it used before joining (an offline origin of its township), owned by the first node that
/// pushes it. `owner` is the node the hub has recorded as owning `origin`, if any. Anything else
/// would let a node write in someone else's name or win tie-breaks with a made-up one.
pub fn check_origin(origin: &str, owner: Option<&str>, ctx: &CheckContext<'_>) -> Result<OriginUse, Refusal> {
    if origin == ctx.node {
        return Ok(OriginUse::Owned);
    }
    if origin == HUB_ORIGIN {
        return Err(Refusal::HubOrigin { node: ctx.node.into() });
    }
    if ctx.other_nodes.contains(origin) {
        return Err(Refusal::OtherNodesOrigin { origin: origin.into(), node: ctx.node.into() });
    }
    match owner {
        Some(o) if o == ctx.node => Ok(OriginUse::Owned),
        Some(o) => Err(Refusal::OriginOwned { origin: origin.into(), owner: o.into(), node: ctx.node.into() }),
        None if is_offline_origin(origin, ctx.township) => Ok(OriginUse::Claim),
        None => {
            Err(Refusal::UnknownOrigin { origin: origin.into(), node: ctx.node.into(), township: ctx.township.into() })
        }
    }
}

/// The value a revision writes to `field`, if it writes one (a create writes every field).
pub fn value_written(rev: &Revision, field: Field) -> Option<Value> {
    match &rev.change {
        Change::CreateStudent(init) => init.fields().into_iter().find(|(f, _)| *f == field).map(|(_, v)| v),
        Change::CreateCase(init) => init.fields().into_iter().find(|(f, _)| *f == field).map(|(_, v)| v),
        Change::Update(assigns) => assigns.iter().find(|a| a.field == field).map(|a| a.value.clone()),
        _ => None,
    }
}

/// Whether placement `to` may follow `from` (学籍异动, 002 §四(二)2): no change at all; a legal
/// status change ([`Status::can_become`]) at the same school; or the acceptance of a transfer at
/// the school it was addressed to. A school changes only through a transfer.
pub fn legal_placement_change(from: &Placement, to: &Placement) -> bool {
    if from == to {
        return true;
    }
    if !from.status.can_become(to.status) {
        return false;
    }
    if to.school == from.school {
        return true;
    }
    from.status == Status::TransferredOut
        && to.status == Status::Enrolled
        && matches!(&from.transfer, Some(TransferTarget::School(t)) if *t == to.school)
}

/// Whether a revision's register writes need [`check_writes`] (it reads the record at the hub):
/// placement writes, and writes that name several values they replace.
pub fn needs_write_check(rev: &Revision) -> bool {
    matches!(&rev.change, Change::Update(assigns)
        if assigns.iter().any(|a| a.field == Field::Placement || a.supersedes.len() > 1))
}

/// Checks one register write of a node against what the hub holds: `replaced` are the values of
/// the writes it supersedes that the hub knows; `current` the field's current values at the hub
/// (its heads). A node may not settle a conflict — only `conflicts resolve` at the hub does — and
/// a placement must be a legal change from every value it replaces (from the current values when
/// it replaces none the hub knows: it will stand beside them).
pub fn check_assign(who: &str, a: &Assign, replaced: &[Value], current: &[Value]) -> Result<(), Refusal> {
    let mut distinct: Vec<&Value> = Vec::new();
    for v in replaced {
        if !distinct.contains(&v) {
            distinct.push(v);
        }
    }
    if distinct.len() > 1 {
        return Err(Refusal::SettlesConflict {
            who: who.into(),
            field: a.field,
            values: distinct.iter().map(|v| v.to_string()).collect(),
        });
    }
    if a.field != Field::Placement {
        return Ok(());
    }
    let Value::Placement(to) = &a.value else {
        return Err(Refusal::PlacementValueType);
    };
    let from = if replaced.is_empty() { current } else { replaced };
    for v in from {
        if let Value::Placement(p) = v {
            if !legal_placement_change(p, to) {
                return Err(Refusal::IllegalPlacementChange {
                    who: who.into(),
                    from: Box::new(p.clone()),
                    to: Box::new(to.clone()),
                });
            }
        }
    }
    Ok(())
}

/// Decides whether the hub accepts a revision new to it. `scope` is the record's effective scope
/// at the hub (none: the hub does not hold the record). The origin ([`check_origin`]) and the
/// writes against the record's state ([`check_writes`]) are decided by the session, which
/// can read the hub's store.
pub fn check_revision(rev: &Revision, scope: Option<&BTreeSet<String>>, ctx: &CheckContext<'_>) -> Result<(), Refusal> {
    // 1. The clock: a node whose clock runs ahead must not win every merge.
    if rev.hlc.ms > ctx.now_ms.saturating_add(ctx.future_bound_ms) {
        return Err(Refusal::FutureClock {
            node: ctx.node.into(),
            rev_ms: rev.hlc.ms,
            hub_ms: ctx.now_ms,
            node_clock_ms: ctx.node_clock_ms,
            bound_ms: ctx.future_bound_ms,
        });
    }
    // 2. Shape.
    match (&rev.change, rev.kind) {
        (Change::CreateStudent(_), RecordKind::Student) | (Change::CreateCase(_), RecordKind::Case)
            if RecordId::created_by(rev.id) != rev.record =>
        {
            return Err(Refusal::CreateIdMismatch);
        }
        (Change::CreateStudent(_), RecordKind::Student) | (Change::CreateCase(_), RecordKind::Case) => {}
        (Change::CreateStudent(_), _) | (Change::CreateCase(_), _) => {
            return Err(Refusal::CreateKindMismatch);
        }
        _ => {}
    }
    // 3. Scope.
    let mine = ctx.township;
    match scope {
        Some(townships) => {
            if !townships.contains(mine) {
                return Err(Refusal::OutOfScope {
                    record: rev.record,
                    owners: townships.iter().cloned().collect(),
                    township: mine.into(),
                });
            }
        }
        None => match &rev.change {
            Change::CreateStudent(init) => match ctx.org.township_of(&init.placement.school) {
                None => return Err(Refusal::SchoolNotInOrg { school: init.placement.school.clone() }),
                Some(t) if t != mine => {
                    return Err(Refusal::SchoolOfOtherTownship {
                        school: init.placement.school.clone(),
                        owner: t.into(),
                        township: mine.into(),
                    })
                }
                Some(_) => {}
            },
            Change::CreateCase(init) => {
                if init.township != mine {
                    return Err(Refusal::CaseOfOtherTownship { owner: init.township.clone(), township: mine.into() });
                }
            }
            _ => return Err(Refusal::UnknownRecord { record: rev.record }),
        },
    }
    // 4. Placement writes: the school must be the node's own (a transfer out names the node's
    //    school and the target; an acceptance names the node's school), and only 转出 names
    //    where the child goes.
    if let Change::Update(assigns) = &rev.change {
        for a in assigns {
            match (a.field, &a.value) {
                (Field::Placement, Value::Placement(p)) => {
                    if (p.status == Status::TransferredOut) != p.transfer.is_some() {
                        return Err(Refusal::TransferTarget { placement: Box::new(p.clone()) });
                    }
                    match ctx.org.township_of(&p.school) {
                        Some(t) if t == mine => {}
                        Some(t) => {
                            return Err(Refusal::PlacementOfOtherTownship {
                                school: p.school.clone(),
                                owner: t.into(),
                                township: mine.into(),
                            })
                        }
                        None => return Err(Refusal::SchoolNotInOrg { school: p.school.clone() }),
                    }
                    if let Some(TransferTarget::School(target)) = &p.transfer {
                        if ctx.org.school(target).is_none() {
                            return Err(Refusal::TransferSchoolNotInOrg { school: target.clone() });
                        }
                    }
                }
                (Field::Placement, _) => return Err(Refusal::PlacementValueType),
                _ => {}
            }
        }
    }
    Ok(())
}

/// What the hub knows of a revision's register writes: for each, the values of the writes it
/// replaces and the field's current values, from the record as the hub holds it plus what this
/// batch accepted before it (`accepted`; `states` caches the records read).
pub(super) struct Writes {
    /// How the record is named in a refusal.
    who: String,
    /// `(replaced, current)` per assign, in order.
    values: Vec<(Vec<Value>, Vec<Value>)>,
}

pub(super) fn writes_of(
    r: &impl HubReplica,
    rev: &Revision,
    accepted: &[Revision],
    states: &mut HashMap<RecordId, Record>,
) -> Result<Writes, StoreFault> {
    let Change::Update(assigns) = &rev.change else { return Ok(Writes { who: String::new(), values: Vec::new() }) };
    let rec = match states.entry(rev.record) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let mut rec = r.record(rev.record)?.unwrap_or_else(|| Record::new(rev.record, rev.kind));
            for a in accepted.iter().filter(|a| a.record == rev.record) {
                rec.apply(a);
            }
            e.insert(rec)
        }
    };
    let rec = &*rec;
    let who = if rec.name().is_empty() {
        format!("记录 {}", rec.id)
    } else {
        format!("{}（记录 {}）", rec.name(), rec.id)
    };
    let mut values = Vec::with_capacity(assigns.len());
    for a in assigns {
        let reg = rec.register(a.field);
        let mut replaced = Vec::with_capacity(a.supersedes.len());
        for id in &a.supersedes {
            let value = match reg.and_then(|g| g.heads.get(id)) {
                Some(c) => Some(c.value.clone()),
                None => match accepted.iter().find(|x| x.id == *id) {
                    Some(x) => value_written(x, a.field),
                    None => r.revision(rev.record, *id)?.and_then(|x| value_written(&x, a.field)),
                },
            };
            replaced.extend(value);
        }
        let current: Vec<Value> = reg.map(|g| g.heads.values().map(|c| c.value.clone()).collect()).unwrap_or_default();
        values.push((replaced, current));
    }
    Ok(Writes { who, values })
}

/// [`check_assign`] for every register write of `rev`.
pub(super) fn check_writes(rev: &Revision, w: &Writes) -> Result<(), Refusal> {
    let Change::Update(assigns) = &rev.change else { return Ok(()) };
    for (a, (replaced, current)) in assigns.iter().zip(&w.values) {
        check_assign(&w.who, a, replaced, current)?;
    }
    Ok(())
}

/// The townships of the placements a revision's placement write replaces: a node that wrote
/// over a placement concerning its township was within its rights, even if a concurrent write
/// has since moved the record out of its scope (its write then stands beside that one as a
/// conflict, listed at the hub, rather than being refused).
pub(super) fn replaced_townships(rev: &Revision, w: &Writes, org: &Org) -> Vec<String> {
    let Change::Update(assigns) = &rev.change else { return Vec::new() };
    let mut out = Vec::new();
    for (a, (replaced, _)) in assigns.iter().zip(&w.values) {
        if a.field == Field::Placement {
            for v in replaced {
                if let Value::Placement(p) = v {
                    out.extend(placement_townships(p, org));
                }
            }
        }
    }
    out
}
