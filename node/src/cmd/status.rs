//! `status [--json]`: `{revisions, students, cases, unacknowledged, last_sync, conflicts,
//! rejected}` — what this node holds and what the hub has not yet acknowledged.

use baoxue_shared::model::CaseState;
use baoxue_shared::RecordKind;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::Result;
use crate::ledger::Ledger;
use crate::output::{json_text, Output};

/// Meta key: how far into this node's log the hub has durably acknowledged (every local
/// revision at a smaller log position has been received by the hub). Written by sync, as a
/// `u64` position or as `(epoch, position)` (an acknowledgement of another epoch of this
/// store — before a restore from backup — counts as none).
pub const META_PUSH_ACKED: &str = "push_acked";
/// Meta key (String): when the last successful sync ended, as shown to people.
pub const META_LAST_SYNC: &str = "last_sync";
/// Meta key (`Vec<Rejected>`): revisions the hub refused at the last sync, and why.
pub const META_REJECTED: &str = "rejected";

/// A revision the hub refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// The revision id (hex).
    pub revision: String,
    pub reason: String,
}

/// The figures of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub revisions: u64,
    pub students: u64,
    pub cases: u64,
    pub unacknowledged: u64,
    pub last_sync: Option<String>,
    pub conflicts: u64,
    pub rejected: Vec<Rejected>,
}

pub fn figures(l: &Ledger) -> Result<(Status, u64, u64)> {
    let mut students = 0;
    let mut own_students = 0;
    let mut cases = 0;
    let mut open_cases = 0;
    let mut conflicts = 0;
    for r in l.store.records(None) {
        let r = r?;
        if !r.conflicts().is_empty() {
            conflicts += 1;
        }
        if !r.is_complete() {
            continue;
        }
        match r.kind {
            RecordKind::Student => {
                students += 1;
                if l.is_ours(&r) {
                    own_students += 1;
                }
            }
            RecordKind::Case => {
                cases += 1;
                if r.case_state().map(CaseState::is_open).unwrap_or(false) {
                    open_cases += 1;
                }
            }
        }
    }
    let acked = push_acked(l)?;
    let mut unacknowledged = 0;
    let mut pos = acked;
    loop {
        let batch = l.store.log_range(pos, 10_000)?;
        let Some((last, _)) = batch.last() else { break };
        pos = last + 1;
        unacknowledged += batch.iter().filter(|(_, e)| e.from.is_none()).count() as u64;
    }
    let last_sync: Option<String> = l.store.get_meta(META_LAST_SYNC).ok().flatten();
    let rejected: Vec<Rejected> = l.store.get_meta(META_REJECTED).ok().flatten().unwrap_or_default();
    let s = Status {
        revisions: l.store.revision_count() as u64,
        students,
        cases,
        unacknowledged,
        last_sync,
        conflicts,
        rejected,
    };
    Ok((s, own_students, open_cases))
}

/// The acknowledged log position (see [`META_PUSH_ACKED`]).
fn push_acked(l: &Ledger) -> Result<u64> {
    if let Ok(Some(pos)) = l.store.get_meta::<u64>(META_PUSH_ACKED) {
        return Ok(pos);
    }
    if let Ok(Some((epoch, pos))) = l.store.get_meta::<(u64, u64)>(META_PUSH_ACKED) {
        return Ok(if epoch == l.store.epoch()? { pos } else { 0 });
    }
    Ok(0)
}

pub fn status(l: &Ledger, json: bool) -> Result<Output> {
    let (s, own, open) = figures(l)?;
    if json {
        let mut v = serde_json::to_value(&s).unwrap_or_else(|_| json!({}));
        v["node"] = json!(l.config.origin);
        v["township"] = json!(l.config.township);
        v["county_code"] = json!(l.config.county_code);
        v["own_students"] = json!(own);
        v["open_cases"] = json!(open);
        v["hub"] = json!(l.config.hub.as_ref().map(|h| h.addr.clone()));
        return Ok(json_text(&v).into());
    }
    let mut o = format!(
        "节点 {}：{}{}  数据目录 {}\n",
        l.config.origin,
        crate::cmd::init::county_label(&l.config),
        l.config.township,
        l.dir.display()
    );
    o.push_str(&format!(
        "修订 {}  学生 {}（本乡镇 {own}）  案件 {}（未销号 {open}）\n",
        s.revisions, s.students, s.cases
    ));
    let hub = match &l.config.hub {
        Some(h) => format!("县级平台 {}", h.addr),
        None => "离线节点（尚未加入县级平台）".to_string(),
    };
    o.push_str(&format!(
        "{hub}  未上报修订 {}  上次同步 {}  冲突 {}  被拒 {}\n",
        s.unacknowledged,
        s.last_sync.as_deref().unwrap_or("从未"),
        s.conflicts,
        s.rejected.len()
    ));
    for r in &s.rejected {
        o.push_str(&format!("  被拒修订 {}：{}\n", &r.revision[..r.revision.len().min(8)], r.reason));
    }
    Ok(o.into())
}
