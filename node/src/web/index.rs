//! An in-memory index of the township's classes and cases, kept current from the store's log:
//! the pages that list a class or the cases read only the records they show, instead of
//! decoding every student on every request (a township has 20,000). Each access first folds in
//! the log entries written since the last one (a roll call's, a sync's), so the index is never
//! stale; the first access reads the whole log once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use baoxue_shared::model::{CaseState, Status};
use baoxue_shared::{Record, RecordId, RecordKind};
use baoxue_web::WebError;

use super::access::ClassKey;
use crate::ledger::Ledger;

#[derive(Default)]
pub struct LedgerIndex {
    /// Log entries folded in so far.
    pos: u64,
    class_of: HashMap<RecordId, ClassKey>,
    pub by_class: BTreeMap<ClassKey, BTreeSet<RecordId>>,
    /// Cases of this township.
    pub cases: BTreeSet<RecordId>,
    /// The open case of a student.
    pub open_case: HashMap<RecordId, RecordId>,
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// The students a roll call lists: this township's, in a status that attends school.
pub fn on_roll(r: &Record) -> bool {
    matches!(r.status(), Some(Status::Enrolled | Status::HomeDelivered | Status::DroppedOut))
}

impl LedgerIndex {
    /// Folds in what the log holds beyond what was read.
    pub fn refresh(&mut self, l: &Ledger) -> Result<(), WebError> {
        let end = l.store.log_end().map_err(internal)?;
        if end <= self.pos {
            return Ok(());
        }
        let mut touched: HashSet<RecordId> = HashSet::new();
        while self.pos < end {
            let chunk = l.store.log_range(self.pos, 8192).map_err(internal)?;
            let Some((last, _)) = chunk.last() else { break };
            let last = *last;
            touched.extend(chunk.into_iter().map(|(_, e)| e.record));
            self.pos = last + 1;
        }
        for id in touched {
            let rec = l.store.record(id).map_err(internal)?.filter(Record::is_complete);
            self.update(l, id, rec.as_ref());
        }
        Ok(())
    }

    fn update(&mut self, l: &Ledger, id: RecordId, rec: Option<&Record>) {
        let Some(r) = rec else { return };
        match r.kind {
            RecordKind::Student => {
                if let Some(old) = self.class_of.remove(&id) {
                    if let Some(set) = self.by_class.get_mut(&old) {
                        set.remove(&id);
                        if set.is_empty() {
                            self.by_class.remove(&old);
                        }
                    }
                }
                if l.is_ours(r) && on_roll(r) {
                    if let Some(k) = ClassKey::of(r) {
                        self.by_class.entry(k.clone()).or_default().insert(id);
                        self.class_of.insert(id, k);
                    }
                }
            }
            RecordKind::Case => {
                let Some(init) = r.case.as_ref() else { return };
                if init.township != l.township() {
                    return;
                }
                self.cases.insert(id);
                if let Some(student) = init.student {
                    let open = r.case_state().map(CaseState::is_open).unwrap_or(false);
                    if open {
                        self.open_case.insert(student, id);
                    } else if self.open_case.get(&student) == Some(&id) {
                        self.open_case.remove(&student);
                    }
                }
            }
        }
    }
}
