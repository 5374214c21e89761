//! Derived state: the merge. A record's state is a join of its revisions — every operation here
//! is a set insertion, so the same set of revisions gives the same state whatever the order of
//! arrival, and applying a revision twice changes nothing.
//!
//! - Registers are multi-value: a write names the values it replaces; values nobody replaced are
//!   the heads. One head: the field is settled. Several distinct heads: a conflict, kept until a
//!   resolving write replaces them all; meanwhile the interim winner is the head with the
//!   greatest (clock, origin node, id).
//! - Absences and actions are append-only sets keyed by revision id.
//! - The writes of the fields whose past values the rules ask for (a student's status, a case's
//!   state) are also kept as a set of dated writes ([`DatedWrite`], keyed by field and revision
//!   id), so "what was it on day D" is answered from the revisions' business dates
//!   ([`Record::value_on`]): the value on D is the value the merge gives over the writes dated
//!   on or before D.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::ids::{IdNumber, StudentNo};
use crate::model::{
    AbsenceKind, Action, ActionKind, CaseState, Cause, Placement, Responsible, Sex, SpecialGroup, Status,
};
use crate::revision::{CaseInit, Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, StudentInit, Value};
use crate::visit::{VisitDetails, VisitRecord};

/// A candidate value of a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub value: Value,
    pub hlc: Hlc,
    pub origin: String,
    pub author: String,
}

/// A multi-value register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// Values not (yet) known to be replaced.
    pub heads: BTreeMap<RevId, Candidate>,
    /// Ids of writes known to be replaced; remembered so a late arrival stays replaced.
    pub replaced: BTreeSet<RevId>,
}

impl Register {
    fn add(&mut self, id: RevId, cand: Candidate, supersedes: &[RevId]) {
        for s in supersedes {
            self.replaced.insert(*s);
            self.heads.remove(s);
        }
        if !self.replaced.contains(&id) {
            self.heads.insert(id, cand);
        }
    }

    /// The interim winner: greatest (clock, origin node, id).
    pub fn winner(&self) -> Option<(&RevId, &Candidate)> {
        self.heads.iter().max_by(|a, b| (a.1.hlc, &a.1.origin, a.0).cmp(&(b.1.hlc, &b.1.origin, b.0)))
    }

    pub fn value(&self) -> Option<&Value> {
        self.winner().map(|(_, c)| &c.value)
    }

    /// Several heads with different values.
    pub fn in_conflict(&self) -> bool {
        let mut vals = self.heads.values().map(|c| &c.value);
        match vals.next() {
            Some(first) => vals.any(|v| v != first),
            None => false,
        }
    }

    /// What a new write must name as replaced: every current head.
    pub fn head_ids(&self) -> Vec<RevId> {
        self.heads.keys().copied().collect()
    }
}

/// The fields kept with their dated writes ([`Record::dated`]): the ones the alerts and rates
/// evaluate on past days.
pub const DATED_FIELDS: [Field; 2] = [Field::Placement, Field::CaseState];

/// One write of a [`DATED_FIELDS`] field, with what the merge needs to replay it as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedWrite {
    /// The revision's business date (`--date`): the day the change happened.
    pub date: Date,
    pub hlc: Hlc,
    pub origin: String,
    pub value: Value,
    pub supersedes: Vec<RevId>,
}

/// The derived state of one record (student or case).
///
/// Encoded compactly ([`RecordRepr`]): a register that holds nothing but the creating
/// revision's value — most of a student's fields, most of the time — is not written out but
/// rebuilt from the creating revision's content, which the record keeps anyway. Decoding gives
/// back exactly the record that was encoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RecordRepr")]
pub struct Record {
    pub id: RecordId,
    pub kind: RecordKind,
    /// The creating revision's content, once it has arrived.
    pub student: Option<Box<StudentInit>>,
    pub case: Option<Box<CaseInit>>,
    pub created: Option<(Hlc, String)>,
    pub registers: BTreeMap<Field, Register>,
    pub absences: BTreeMap<RevId, (Date, AbsenceKind)>,
    pub actions: BTreeMap<RevId, Action>,
    /// The 家访记录表 fields of the visit actions recorded with them (`Change::Visit`), keyed
    /// like `actions`.
    pub visits: BTreeMap<RevId, VisitDetails>,
    /// Every write of the [`DATED_FIELDS`], keyed by (field, revision id): a set, so the join
    /// stays order-independent.
    pub dated: BTreeMap<(Field, RevId), DatedWrite>,
    /// Ids of the creating and update revisions folded in (absences and actions are keyed by
    /// id already), so that the record itself tells which revisions it holds ([`Record::holds`]):
    /// the store needs no index of revision ids to deduplicate.
    pub folded: BTreeSet<RevId>,
    /// How many distinct revisions the record holds.
    pub revisions: u32,
    /// Greatest clock seen, for "last changed".
    pub last: Hlc,
}

/// What a record is stored and sent as. `implicit`: the creating revision's author and the
/// fields whose register holds only that revision's value (the candidate is rebuilt from the
/// creating revision's content, clock and origin, under the record's id).
#[derive(Serialize, Deserialize)]
struct RecordRepr {
    id: RecordId,
    kind: RecordKind,
    student: Option<Box<StudentInit>>,
    case: Option<Box<CaseInit>>,
    created: Option<(Hlc, String)>,
    registers: BTreeMap<Field, Register>,
    implicit: Option<(String, Vec<Field>)>,
    absences: BTreeMap<RevId, (Date, AbsenceKind)>,
    actions: BTreeMap<RevId, Action>,
    visits: BTreeMap<RevId, VisitDetails>,
    dated: BTreeMap<(Field, RevId), DatedWrite>,
    folded: BTreeSet<RevId>,
    revisions: u32,
    last: Hlc,
}

/// [`RecordRepr`] borrowed from a record, for encoding without a copy.
#[derive(Serialize)]
struct RecordReprRef<'a> {
    id: RecordId,
    kind: RecordKind,
    student: &'a Option<Box<StudentInit>>,
    case: &'a Option<Box<CaseInit>>,
    created: &'a Option<(Hlc, String)>,
    registers: BTreeMap<Field, &'a Register>,
    implicit: Option<(&'a str, Vec<Field>)>,
    absences: &'a BTreeMap<RevId, (Date, AbsenceKind)>,
    actions: &'a BTreeMap<RevId, Action>,
    visits: &'a BTreeMap<RevId, VisitDetails>,
    dated: &'a BTreeMap<(Field, RevId), DatedWrite>,
    folded: &'a BTreeSet<RevId>,
    revisions: u32,
    last: Hlc,
}

impl Record {
    /// The creating revision's initial values, if it has arrived.
    fn initial_fields(&self) -> Vec<(Field, Value)> {
        match (&self.student, &self.case) {
            (Some(s), _) => s.fields(),
            (None, Some(c)) => c.fields(),
            (None, None) => Vec::new(),
        }
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut registers: BTreeMap<Field, &Register> = self.registers.iter().map(|(f, r)| (*f, r)).collect();
        let mut implicit: Option<(&str, Vec<Field>)> = None;
        if let Some((hlc, origin)) = &self.created {
            for (f, v) in self.initial_fields() {
                let Some(reg) = self.registers.get(&f) else { continue };
                let Some(c) = reg.heads.get(&self.id.creating_revision()) else { continue };
                let author = implicit.as_ref().map_or(c.author.as_str(), |(a, _)| *a);
                let only_initial = reg.heads.len() == 1
                    && reg.replaced.is_empty()
                    && c.value == v
                    && c.hlc == *hlc
                    && c.origin == *origin
                    && c.author == author;
                if only_initial {
                    registers.remove(&f);
                    implicit.get_or_insert_with(|| (author, Vec::new())).1.push(f);
                }
            }
        }
        RecordReprRef {
            id: self.id,
            kind: self.kind,
            student: &self.student,
            case: &self.case,
            created: &self.created,
            registers,
            implicit,
            absences: &self.absences,
            actions: &self.actions,
            visits: &self.visits,
            dated: &self.dated,
            folded: &self.folded,
            revisions: self.revisions,
            last: self.last,
        }
        .serialize(serializer)
    }
}

impl From<RecordRepr> for Record {
    fn from(r: RecordRepr) -> Record {
        let mut rec = Record {
            id: r.id,
            kind: r.kind,
            student: r.student,
            case: r.case,
            created: r.created,
            registers: r.registers,
            absences: r.absences,
            actions: r.actions,
            visits: r.visits,
            dated: r.dated,
            folded: r.folded,
            revisions: r.revisions,
            last: r.last,
        };
        if let (Some((author, fields)), Some((hlc, origin))) = (r.implicit, rec.created.clone()) {
            for (f, value) in rec.initial_fields() {
                if fields.contains(&f) {
                    let c = Candidate { value, hlc, origin: origin.clone(), author: author.clone() };
                    rec.registers.insert(
                        f,
                        Register {
                            heads: BTreeMap::from([(rec.id.creating_revision(), c)]),
                            replaced: BTreeSet::new(),
                        },
                    );
                }
            }
        }
        rec
    }
}

impl Record {
    pub fn new(id: RecordId, kind: RecordKind) -> Record {
        Record {
            id,
            kind,
            student: None,
            case: None,
            created: None,
            registers: BTreeMap::new(),
            absences: BTreeMap::new(),
            actions: BTreeMap::new(),
            visits: BTreeMap::new(),
            dated: BTreeMap::new(),
            folded: BTreeSet::new(),
            revisions: 0,
            last: Hlc::default(),
        }
    }

    /// Folds one revision in. Callers skip revisions the record already holds (the store knows
    /// which); applying one twice is harmless all the same, but `revisions` would over-count.
    pub fn apply(&mut self, rev: &Revision) {
        debug_assert_eq!(rev.record, self.id);
        if matches!(rev.change, Change::Absence { .. }) && self.folded.contains(&rev.id) {
            // Withdrawn before it arrived (see `Change::WithdrawAbsence` below): already counted.
            return;
        }
        self.revisions += 1;
        self.last = self.last.max(rev.hlc);
        let cand =
            |value: Value| Candidate { value, hlc: rev.hlc, origin: rev.origin.clone(), author: rev.author.clone() };
        let dated = |value: &Value, supersedes: &[RevId]| DatedWrite {
            date: rev.date,
            hlc: rev.hlc,
            origin: rev.origin.clone(),
            value: value.clone(),
            supersedes: supersedes.to_vec(),
        };
        if matches!(rev.change, Change::CreateStudent(_) | Change::CreateCase(_) | Change::Update(_)) {
            self.folded.insert(rev.id);
        }
        match &rev.change {
            Change::CreateStudent(init) => {
                for (f, v) in init.fields() {
                    if DATED_FIELDS.contains(&f) {
                        self.dated.insert((f, rev.id), dated(&v, &[]));
                    }
                    self.registers.entry(f).or_default().add(rev.id, cand(v), &[]);
                }
                self.student = Some(init.clone());
                self.created = Some((rev.hlc, rev.origin.clone()));
            }
            Change::CreateCase(init) => {
                for (f, v) in init.fields() {
                    if DATED_FIELDS.contains(&f) {
                        self.dated.insert((f, rev.id), dated(&v, &[]));
                    }
                    self.registers.entry(f).or_default().add(rev.id, cand(v), &[]);
                }
                self.case = Some(init.clone());
                self.created = Some((rev.hlc, rev.origin.clone()));
            }
            Change::Update(assigns) => {
                for a in assigns {
                    if DATED_FIELDS.contains(&a.field) {
                        self.dated.insert((a.field, rev.id), dated(&a.value, &a.supersedes));
                    }
                    self.registers.entry(a.field).or_default().add(rev.id, cand(a.value.clone()), &a.supersedes);
                }
            }
            Change::Absence { day, kind } => {
                self.absences.insert(rev.id, (*day, *kind));
            }
            // The withdrawn absence's id is kept as held (in `folded`), so an absence that
            // arrives after its withdrawal is skipped as already folded: any order, same record.
            Change::WithdrawAbsence { absence, .. } => {
                if self.absences.remove(absence).is_none() && !self.folded.contains(absence) {
                    // The absence has not arrived yet: it counts as held from now on.
                    self.revisions += 1;
                }
                self.folded.insert(*absence);
                self.folded.insert(rev.id);
            }
            Change::Act(action) => {
                self.actions.insert(rev.id, action.clone());
            }
            Change::Visit { action, details } => {
                self.actions.insert(rev.id, action.clone());
                self.visits.insert(rev.id, (**details).clone());
            }
        }
    }

    /// Whether revision `rev` has been folded into this record.
    pub fn holds(&self, rev: RevId) -> bool {
        self.folded.contains(&rev) || self.absences.contains_key(&rev) || self.actions.contains_key(&rev)
    }

    pub fn register(&self, f: Field) -> Option<&Register> {
        self.registers.get(&f)
    }

    fn val(&self, f: Field) -> Option<&Value> {
        self.registers.get(&f).and_then(Register::value)
    }

    /// Fields with concurrent, different values.
    pub fn conflicts(&self) -> Vec<(Field, &Register)> {
        self.registers.iter().filter(|(_, r)| r.in_conflict()).map(|(f, r)| (*f, r)).collect()
    }

    /// Complete once its creating revision has arrived.
    pub fn is_complete(&self) -> bool {
        self.created.is_some()
    }

    // --- as of a day ------------------------------------------------------------------------

    /// The value of a [`DATED_FIELDS`] field on day `day`: the merge over the writes dated on
    /// or before it (the heads among them, interim winner by clock, origin, id — as
    /// [`Register::winner`]), so it equals folding only the revisions dated up to `day`. None
    /// before the first write (the record did not exist yet), and for other fields.
    pub fn value_on(&self, f: Field, day: Date) -> Option<&Value> {
        let writes: Vec<(&RevId, &DatedWrite)> = self
            .dated
            .range((f, RevId(0))..=(f, RevId(u128::MAX)))
            .map(|((_, id), w)| (id, w))
            .filter(|(_, w)| w.date <= day)
            .collect();
        let replaced: BTreeSet<RevId> = writes.iter().flat_map(|(_, w)| w.supersedes.iter().copied()).collect();
        writes
            .into_iter()
            .filter(|(id, _)| !replaced.contains(id))
            .max_by(|a, b| (a.1.hlc, &a.1.origin, a.0).cmp(&(b.1.hlc, &b.1.origin, b.0)))
            .map(|(_, w)| &w.value)
    }

    /// The first day of the unbroken run, ending on `day`, during which `holds` is true of the
    /// field's value (see [`Record::value_on`]); none when it does not hold on `day`. The value
    /// changes only on the dates of its writes, so those are the days to look at.
    pub fn run_start(&self, f: Field, day: Date, holds: impl Fn(&Value) -> bool) -> Option<Date> {
        let mut dates: Vec<Date> = self
            .dated
            .range((f, RevId(0))..=(f, RevId(u128::MAX)))
            .map(|(_, w)| w.date)
            .filter(|d| *d <= day)
            .collect();
        dates.sort_unstable();
        dates.dedup();
        let mut start = None;
        for d in dates.into_iter().rev() {
            if self.value_on(f, d).is_some_and(&holds) {
                start = Some(d);
            } else {
                break;
            }
        }
        start
    }

    /// The case's state on `day` (none before the case was opened).
    pub fn case_state_on(&self, day: Date) -> Option<&CaseState> {
        match self.value_on(Field::CaseState, day) {
            Some(Value::CaseState(s)) => Some(s),
            _ => None,
        }
    }

    /// The day the case became 辍学 in the run that includes `day`: none unless it is confirmed
    /// (and open) on `day`.
    pub fn confirmed_since(&self, day: Date) -> Option<Date> {
        self.run_start(Field::CaseState, day, |v| matches!(v, Value::CaseState(CaseState::Confirmed)))
    }

    /// The student's placement on `day` (none before the record's first dated write).
    pub fn placement_on(&self, day: Date) -> Option<&Placement> {
        match self.value_on(Field::Placement, day) {
            Some(Value::Placement(p)) => Some(p),
            _ => None,
        }
    }

    pub fn status_on(&self, day: Date) -> Option<Status> {
        self.placement_on(day).map(|p| p.status)
    }

    /// The first day of the run, ending on `day`, in which the student's status met `holds`.
    pub fn status_since(&self, day: Date, holds: impl Fn(Status) -> bool) -> Option<Date> {
        self.run_start(Field::Placement, day, |v| matches!(v, Value::Placement(p) if holds(p.status)))
    }

    // --- typed views -------------------------------------------------------------------------

    pub fn student_no(&self) -> Option<&StudentNo> {
        match self.val(Field::StudentNo) {
            Some(Value::StudentNo(s)) => Some(s),
            _ => None,
        }
    }
    pub fn id_number(&self) -> Option<&IdNumber> {
        match self.val(Field::IdNumber) {
            Some(Value::Id(Some(id))) => Some(id),
            _ => None,
        }
    }
    pub fn text(&self, f: Field) -> Option<&str> {
        match self.val(f) {
            Some(Value::Text(s)) => Some(s),
            Some(Value::OptText(Some(s))) => Some(s),
            _ => None,
        }
    }
    pub fn name(&self) -> &str {
        self.text(Field::Name).or(self.case.as_ref().map(|c| c.child.name.as_str())).unwrap_or("")
    }
    pub fn sex(&self) -> Option<Sex> {
        match self.val(Field::Sex) {
            Some(Value::Sex(s)) => Some(*s),
            _ => None,
        }
    }
    pub fn birth(&self) -> Option<Date> {
        match self.val(Field::Birth) {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        }
    }
    pub fn grade(&self) -> Option<u8> {
        match self.val(Field::Grade) {
            Some(Value::Grade(g)) => Some(*g),
            _ => None,
        }
    }
    pub fn entry_year(&self) -> Option<i32> {
        match self.val(Field::EntryYear) {
            Some(Value::Year(y)) => *y,
            _ => None,
        }
    }
    pub fn groups(&self) -> &[SpecialGroup] {
        match self.val(Field::Groups) {
            Some(Value::Groups(g)) => g,
            _ => &[],
        }
    }
    pub fn placement(&self) -> Option<&Placement> {
        match self.val(Field::Placement) {
            Some(Value::Placement(p)) => Some(p),
            _ => None,
        }
    }
    pub fn status(&self) -> Option<Status> {
        self.placement().map(|p| p.status)
    }
    pub fn school(&self) -> Option<&str> {
        self.placement().map(|p| p.school.as_str())
    }
    pub fn case_state(&self) -> Option<&CaseState> {
        match self.val(Field::CaseState) {
            Some(Value::CaseState(s)) => Some(s),
            _ => None,
        }
    }
    pub fn cause(&self) -> Option<Cause> {
        match self.val(Field::Cause) {
            Some(Value::Cause(c)) => Some(*c),
            _ => None,
        }
    }
    /// A case's 劝返方案 (plan), if recorded.
    pub fn plan(&self) -> Option<&str> {
        self.text(Field::Plan)
    }
    /// A case's responsible people, read back from the `Responsible` register's text.
    pub fn responsible(&self) -> Responsible {
        self.text(Field::Responsible).map(Responsible::parse).unwrap_or_default()
    }
    /// Absences in date order.
    pub fn absences_sorted(&self) -> Vec<(Date, AbsenceKind)> {
        let mut v: Vec<_> = self.absences.values().copied().collect();
        v.sort();
        v
    }
    /// Actions in date order (ties: revision id, so the order is the same everywhere).
    pub fn actions_sorted(&self) -> Vec<&Action> {
        let mut v: Vec<(&RevId, &Action)> = self.actions.iter().collect();
        v.sort_by(|a, b| (a.1.date, a.0).cmp(&(b.1.date, b.0)));
        v.into_iter().map(|(_, a)| a).collect()
    }
    /// Actions in date order with their revision ids (the key of [`Record::visit`]).
    pub fn actions_with_ids(&self) -> Vec<(RevId, &Action)> {
        let mut v: Vec<(RevId, &Action)> = self.actions.iter().map(|(id, a)| (*id, a)).collect();
        v.sort_by_key(|(id, a)| (a.date, *id));
        v
    }
    /// The 家访记录表 of the visit action written by revision `id`: its typed fields, or for
    /// a visit recorded before they existed, the labelled lines of its text. `None` when that
    /// action is not a visit.
    pub fn visit(&self, id: RevId) -> Option<VisitRecord> {
        let a = self.actions.get(&id).filter(|a| a.kind == ActionKind::Visit)?;
        Some(VisitRecord::of(a, self.visits.get(&id)))
    }
    /// Every home visit in date order.
    pub fn visits_sorted(&self) -> Vec<VisitRecord> {
        self.actions_with_ids().into_iter().filter_map(|(id, _)| self.visit(id)).collect()
    }
}

/// Folds a list of revisions of one record (any order, duplicates allowed) into its state.
pub fn fold(id: RecordId, kind: RecordKind, revs: &[Revision]) -> Record {
    let mut seen = BTreeSet::new();
    let mut r = Record::new(id, kind);
    for rev in revs {
        if seen.insert(rev.id) {
            r.apply(rev);
        }
    }
    r
}

/// Folds a mixed stream of revisions into records, keeping only the first copy of each id.
pub fn fold_all<'a>(revs: impl IntoIterator<Item = &'a Revision>) -> BTreeMap<RecordId, Record> {
    let mut seen = BTreeSet::new();
    let mut out: BTreeMap<RecordId, Record> = BTreeMap::new();
    for rev in revs {
        if seen.insert(rev.id) {
            out.entry(rev.record).or_insert_with(|| Record::new(rev.record, rev.kind)).apply(rev);
        }
    }
    out
}
