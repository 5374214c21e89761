//! `alerts [--as-of D] [--json]`: the alerts in force for this township on a day, computed
//! locally and offline with the county's policy (`baoxue_shared::alerts`, the same code the hub
//! runs), plus a data alert for every record here with concurrent edits still unresolved, and
//! — for today only — the warnings before trouble about the node itself (`crate::health`).

use baoxue_shared::alerts::{self, Alert};
use baoxue_shared::{Date, Record};

use crate::error::Result;
use crate::ledger::Ledger;
use crate::output::{json_text, Output};

/// The alerts in force on `as_of`, most urgent first.
pub fn compute(l: &Ledger, as_of: Date) -> Result<Vec<Alert>> {
    let policy = l.policy()?;
    let mut records: Vec<Record> = Vec::new();
    for r in l.store.records(None) {
        let r = r?;
        if r.is_complete() {
            records.push(r);
        }
    }
    let org = &l.config.org;
    let mut out = alerts::all_alerts(&policy, org, records.iter(), as_of, Some(l.township()));
    for r in &records {
        let ours = match r.kind {
            baoxue_shared::RecordKind::Student => l.is_ours(r),
            baoxue_shared::RecordKind::Case => r.case.as_ref().map(|c| c.township == l.township()).unwrap_or(false),
        };
        if !ours {
            continue;
        }
        for (field, reg) in r.conflicts() {
            let since_ms = reg.heads.values().map(|c| c.hlc.ms).max().unwrap_or(0);
            let since = Date::of_ms(since_ms);
            if since <= as_of {
                out.push(alerts::conflict_alert(org, r, field, since));
            }
        }
    }
    alerts::sort_alerts(&mut out);
    Ok(out)
}

/// [`compute`], plus the warnings before trouble when `as_of` is today (they are about the
/// machine now, not about a past day).
pub fn with_operations(l: &Ledger, as_of: Date) -> Result<Vec<Alert>> {
    let mut list = compute(l, as_of)?;
    if as_of == Date::today() {
        list.extend(crate::health::alerts(l, &crate::health::facts(l), as_of));
        alerts::sort_alerts(&mut list);
    }
    Ok(list)
}

pub fn alerts(l: &Ledger, as_of: Date, json: bool) -> Result<Output> {
    let list = with_operations(l, as_of)?;
    if json {
        let v = serde_json::to_value(&list).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()));
        return Ok(json_text(&v).into());
    }
    if list.is_empty() {
        return Ok(format!("{as_of} {}：没有预警\n", l.township()).into());
    }
    let mut o = format!("{as_of} {}：预警 {} 条\n", l.township(), list.len());
    for a in &list {
        o.push_str(&format!(
            "[{}] {}\n    责任人：{}；{} 起应办；依据 {}；{} {}\n",
            a.level,
            a.message,
            a.responsible,
            a.due,
            a.clause,
            a.subject_kind.label(),
            a.subject
        ));
    }
    Ok(o.into())
}
