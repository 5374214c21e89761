//! Which townships a record belongs to, and so which nodes receive it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::error::StoreFault;
use super::replica::HubReplica;
use crate::model::{Status, TransferTarget};
use crate::org::Org;
use crate::revision::{Change, Field, RecordId, RecordKind, Revision, Value};
use crate::state::Record;

/// Which townships a record belongs to, for sync: the node of each may see and change it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordScope {
    pub townships: BTreeSet<String>,
    /// A case's student: the case also belongs wherever the student does (籍随人走).
    pub student: Option<RecordId>,
}

/// The townships a placement concerns: its school's, and the target school's while a transfer
/// to another school of the county is pending.
pub fn placement_townships(p: &crate::model::Placement, org: &Org) -> Vec<String> {
    let mut out = Vec::with_capacity(2);
    if let Some(t) = org.township_of(&p.school) {
        out.push(t.to_string());
    }
    if p.status == Status::TransferredOut {
        if let Some(TransferTarget::School(target)) = &p.transfer {
            if let Some(t) = org.township_of(target) {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// The scope of a record from its derived state. For a student: every current placement head
/// (concurrent placements keep both townships in scope until resolved).
pub fn record_scope(rec: &Record, org: &Org) -> RecordScope {
    let mut scope = RecordScope::default();
    match rec.kind {
        RecordKind::Student => {
            let mut any = false;
            if let Some(reg) = rec.register(Field::Placement) {
                for cand in reg.heads.values() {
                    if let Value::Placement(p) = &cand.value {
                        any = true;
                        scope.townships.extend(placement_townships(p, org));
                    }
                }
            }
            if !any {
                if let Some(init) = &rec.student {
                    scope.townships.extend(placement_townships(&init.placement, org));
                }
            }
        }
        RecordKind::Case => {
            if let Some(init) = &rec.case {
                scope.townships.insert(init.township.clone());
                scope.student = init.student;
            }
        }
    }
    scope
}

/// The scope a creating revision gives its record (before the record exists anywhere).
pub fn create_scope(rev: &Revision, org: &Org) -> Option<RecordScope> {
    match &rev.change {
        Change::CreateStudent(init) => Some(RecordScope {
            townships: placement_townships(&init.placement, org).into_iter().collect(),
            student: None,
        }),
        Change::CreateCase(init) => {
            Some(RecordScope { townships: BTreeSet::from([init.township.clone()]), student: init.student })
        }
        _ => None,
    }
}

pub fn is_create(rev: &Revision) -> bool {
    matches!(rev.change, Change::CreateStudent(_) | Change::CreateCase(_))
}

/// Whether applying this revision can change its record's scope (a create or a placement write).
pub fn affects_scope(rev: &Revision) -> bool {
    match &rev.change {
        Change::CreateStudent(_) | Change::CreateCase(_) => true,
        Change::Update(assigns) => assigns.iter().any(|a| a.field == Field::Placement),
        _ => false,
    }
}

/// Whether a placement write replaces a placement that concerned `township` (its school's, or a
/// pending transfer's): the write that completes a transfer out of that township.
pub(super) fn moves_out_of(r: &impl HubReplica, rev: &Revision, township: &str) -> Result<bool, StoreFault> {
    let Change::Update(assigns) = &rev.change else { return Ok(false) };
    for a in assigns.iter().filter(|a| a.field == Field::Placement) {
        for old in &a.supersedes {
            let Some(prev) = r.revision(rev.record, *old)? else { continue };
            let placement = match &prev.change {
                Change::CreateStudent(init) => Some(&init.placement),
                Change::Update(pa) => pa.iter().find_map(|x| match (&x.field, &x.value) {
                    (Field::Placement, Value::Placement(p)) => Some(p),
                    _ => None,
                }),
                _ => None,
            };
            if placement.is_some_and(|p| placement_townships(p, r.org()).iter().any(|t| t == township)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether the revision writes a student's placement (a transfer, an acceptance, a status).
pub(super) fn writes_placement(rev: &Revision) -> bool {
    rev.kind == RecordKind::Student
        && matches!(&rev.change, Change::Update(assigns) if assigns.iter().any(|a| a.field == Field::Placement))
}
