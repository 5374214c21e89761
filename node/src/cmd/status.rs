//! `status [--json]`: `{revisions, students, cases, unacknowledged, last_sync, conflicts,
//! rejected}` — what this node holds and what the hub has not yet acknowledged — and the
//! warnings before trouble (`operations`: certificates, disk, last backup; `warnings`).

use baoxue_shared::model::CaseState;
use baoxue_shared::RecordKind;
use serde::Serialize;
use serde_json::json;

use crate::error::Result;
use crate::ledger::Ledger;
use crate::output::{json_text, Output};
use crate::sync::{sync_status, RejectedItem};

/// The figures of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub revisions: u64,
    pub students: u64,
    pub cases: u64,
    pub unacknowledged: u64,
    pub last_sync: Option<String>,
    pub conflicts: u64,
    /// Revisions the hub refused (kept here; see `sync::RejectedItem`).
    pub rejected: Vec<RejectedItem>,
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
    let sync = sync_status(&l.store)?;
    let s = Status {
        revisions: l.store.revision_count() as u64,
        students,
        cases,
        unacknowledged: sync.unacknowledged,
        last_sync: sync.last_sync,
        conflicts,
        rejected: sync.rejected,
    };
    Ok((s, own_students, open_cases))
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
        v["calendar_warning"] = json!(calendar_warning(l));
        let ops = crate::health::facts(l);
        v["warnings"] = json!(crate::health::alerts(l, &ops, baoxue_shared::Date::today()));
        v["operations"] = json!(ops);
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
    if let Some(w) = calendar_warning(l) {
        o.push_str(&format!("日历需更新：{w}\n"));
    }
    o.push_str(&operations_text(l));
    for r in &s.rejected {
        o.push_str(&format!(
            "  被拒修订 {}（记录 {}，{}）：{}\n",
            &r.revision[..r.revision.len().min(8)],
            &r.record[..r.record.len().min(8)],
            r.at,
            r.reason
        ));
    }
    Ok(o.into())
}

/// The operations lines of `status`: certificates, disk, last backup, then each warning.
fn operations_text(l: &Ledger) -> String {
    let today = baoxue_shared::Date::today();
    let ops = crate::health::facts(l);
    let mut parts = Vec::new();
    for c in &ops.certificates {
        parts.push(format!("{}至 {}", c.what, c.expires));
    }
    if let Some(d) = &ops.disk {
        parts.push(format!("磁盘剩余 {:.1} GiB（{}%）", d.free as f64 / (1u64 << 30) as f64, percent(d.free, d.total)));
    }
    parts.push(format!("上次备份 {}", ops.last_backup.map(|d| d.to_string()).unwrap_or_else(|| "从未".into())));
    let mut o = format!("运行：{}\n", parts.join("  "));
    for a in crate::health::alerts(l, &ops, today) {
        o.push_str(&format!("[{}] {}\n", a.level, a.message));
    }
    o
}

fn percent(free: u64, total: u64) -> u64 {
    if total == 0 {
        0
    } else {
        (u128::from(free) * 100 / u128::from(total)) as u64
    }
}

/// Whether the policy's calendar needs the State Council's notice for this year (or next,
/// from December, when it is usually published): `Calendar::needs_update`.
fn calendar_warning(l: &Ledger) -> Option<String> {
    let cal = l.policy().ok()?.calendar();
    let today = baoxue_shared::Date::today();
    let soon = today.add_days(31);
    cal.needs_update(today).or_else(|| if soon.year() != today.year() { cal.needs_update(soon) } else { None })
}
