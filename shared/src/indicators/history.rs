//! Timelines: every student and case revision folded into one dated history per record, the one
//! input of every indicator.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::dates::{Date, SchoolYear, SchoolYearStart};
use crate::model::{CaseSource, CaseState, Outcome, Placement, Stage, Status, TransferTarget};
use crate::org::Org;
use crate::revision::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};

/// The school year's first day when the policy says nothing else.
pub const DEFAULT_YEAR_START: SchoolYearStart = SchoolYearStart::DEFAULT;

/// Days after a school year's first day, or after a school's first student record, within
/// which a new record still describes the roll of the first day (see the module
/// documentation: one month, as a school has to register a new entrant).
pub const REGISTRATION_WINDOW_DAYS: i64 = 30;

// ---------------------------------------------------------------------------------------------
// Interning
// ---------------------------------------------------------------------------------------------

/// Names as `u32` indices. The map is rebuilt after deserialisation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Interner {
    pub(super) names: Vec<String>,
    #[serde(skip)]
    map: HashMap<String, u32>,
}

impl Interner {
    fn ensure_map(&mut self) {
        if self.map.len() != self.names.len() {
            self.map = self.names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        }
    }
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.map.insert(s.to_string(), i);
        i
    }
    pub(super) fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
    fn len(&self) -> usize {
        self.names.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Compact events
// ---------------------------------------------------------------------------------------------

/// `target` codes of a placement: none, out of the county, or school `k` as `k + 2`.
pub(super) const TARGET_NONE: u32 = 0;
pub(super) const TARGET_OUT: u32 = 1;

/// Case state codes: 0 suspected, 1 confirmed, `2 + outcome` closed.
const CASE_SUSPECTED: u8 = 0;
pub(super) const CASE_CONFIRMED: u8 = 1;
pub(super) const CASE_CLOSED: u8 = 2;

fn case_code(s: &CaseState) -> u8 {
    match s {
        CaseState::Suspected => CASE_SUSPECTED,
        CaseState::Confirmed => CASE_CONFIRMED,
        CaseState::Closed { outcome, .. } => CASE_CLOSED + *outcome as u8,
    }
}

/// What one timeline event says. `Place.status` is `Status as u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum What {
    Place { status: u8, school: u32, target: u32 },
    Grade(u8),
    Case(u8),
}

impl What {
    /// Which register the event belongs to (supersedes name a revision; this names the field).
    fn tag(&self) -> u8 {
        match self {
            What::Place { .. } => 0,
            What::Grade(_) => 1,
            What::Case(_) => 2,
        }
    }
}

/// An event as added: enough to order, deduplicate and resolve corrections.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RawEv {
    rev_hi: u64,
    rev_lo: u64,
    hlc: Hlc,
    date: Date,
    /// Student or case index (by `what`).
    rec: u32,
    origin: u32,
    /// The superseded revisions: `sups[sup .. sup + nsup]`.
    sup: u32,
    nsup: u32,
    what: What,
}

impl RawEv {
    fn key(&self) -> (u64, u64, u8) {
        (self.rev_hi, self.rev_lo, self.what.tag())
    }
}

fn split(id: RevId) -> (u64, u64) {
    ((id.0 >> 64) as u64, id.0 as u64)
}

/// A settled timeline event: 16 bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ev {
    pub(super) date: Date,
    pub(super) what: What,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StudentMeta {
    id: RecordId,
    /// The creating revision's date; `None` until it arrives (the record is then left out).
    pub(super) created: Option<Date>,
    pub(super) grade0: u8,
    /// The school of the placement as created (interned): whose first roster this may be.
    school0: u32,
    /// 入学年份 as created, with the creating revision's clock (later updates are [`EntryCand`]s).
    entry0: Option<i32>,
    created_clock: (Hlc, u32),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CaseMeta {
    pub(super) id: RecordId,
    pub(super) created: bool,
    pub(super) township: u32,
    pub(super) source: CaseSource,
    /// Interned child key: its ID number, else its student record, else the case itself.
    pub(super) child: u32,
}

/// A candidate value of 入学年份 (a register: the greatest clock wins).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryCand {
    student: u32,
    hlc: Hlc,
    origin: u32,
    rev: RevId,
    year: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Slot {
    Student(u32),
    Case(u32),
}

#[derive(Debug, Clone, Default)]
struct Built {
    stu_off: Vec<u32>,
    stu_ev: Vec<Ev>,
    case_off: Vec<u32>,
    case_ev: Vec<Ev>,
    entry: Vec<Option<i32>>,
    /// Per interned school: the first day a student was placed there.
    school_first: Vec<Option<Date>>,
}

/// The timelines of every student and case of a county (see the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    pub(super) year_start: SchoolYearStart,
    pub(super) schools: Interner,
    origins: Interner,
    pub(super) townships: Interner,
    children: Interner,
    pub(super) students: Vec<StudentMeta>,
    pub(super) cases: Vec<CaseMeta>,
    raw: Vec<RawEv>,
    sups: Vec<(u64, u64)>,
    entries: Vec<EntryCand>,
    #[serde(skip)]
    index: HashMap<RecordId, Slot>,
    #[serde(skip)]
    built: Option<Built>,
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

/// A placement on a day, with the day it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PlaceEv {
    pub(super) date: Date,
    pub(super) status: Status,
    pub(super) school: u32,
    pub(super) target: u32,
}

impl History {
    /// An empty history; school years start on 1 September.
    pub fn new() -> History {
        History::with_year_start(DEFAULT_YEAR_START)
    }

    /// An empty history whose school years start on `start` (the county's policy).
    pub fn with_year_start(start: SchoolYearStart) -> History {
        History {
            year_start: start,
            schools: Interner::default(),
            origins: Interner::default(),
            townships: Interner::default(),
            children: Interner::default(),
            students: Vec::new(),
            cases: Vec::new(),
            raw: Vec::new(),
            sups: Vec::new(),
            entries: Vec::new(),
            index: HashMap::new(),
            built: None,
        }
    }

    /// Adds and builds in one go.
    pub fn from_revisions<'a>(start: SchoolYearStart, revs: impl IntoIterator<Item = &'a Revision>) -> History {
        let mut h = History::with_year_start(start);
        for r in revs {
            h.add(r);
        }
        h.build();
        h
    }

    pub fn year_start(&self) -> SchoolYearStart {
        self.year_start
    }

    /// The school year a day falls in, under this history's start day: [`SchoolYear::of`].
    pub fn school_year_of(&self, d: Date) -> SchoolYear {
        SchoolYear::of(d, self.year_start)
    }

    pub(super) fn start_of(&self, y: SchoolYear) -> Date {
        y.first_day(self.year_start)
    }

    fn ensure_maps(&mut self) {
        self.schools.ensure_map();
        self.origins.ensure_map();
        self.townships.ensure_map();
        self.children.ensure_map();
        if self.index.len() != self.students.len() + self.cases.len() {
            self.index = self
                .students
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id, Slot::Student(i as u32)))
                .chain(self.cases.iter().enumerate().map(|(i, c)| (c.id, Slot::Case(i as u32))))
                .collect();
        }
    }

    fn slot(&mut self, id: RecordId, kind: RecordKind) -> Slot {
        if let Some(s) = self.index.get(&id) {
            return *s;
        }
        let slot = match kind {
            RecordKind::Student => {
                self.students.push(StudentMeta {
                    id,
                    created: None,
                    grade0: 0,
                    school0: 0,
                    entry0: None,
                    created_clock: (Hlc::default(), 0),
                });
                Slot::Student(self.students.len() as u32 - 1)
            }
            RecordKind::Case => {
                self.cases.push(CaseMeta { id, created: false, township: 0, source: CaseSource::Roll, child: 0 });
                Slot::Case(self.cases.len() as u32 - 1)
            }
        };
        self.index.insert(id, slot);
        slot
    }

    fn place_what(&mut self, p: &Placement) -> What {
        let school = self.schools.intern(&p.school);
        let target = match &p.transfer {
            None => TARGET_NONE,
            Some(TransferTarget::OutOfCounty(_)) => TARGET_OUT,
            Some(TransferTarget::School(x)) => self.schools.intern(x) + 2,
        };
        What::Place { status: p.status as u8, school, target }
    }

    fn push(&mut self, rev: &Revision, rec: u32, origin: u32, supersedes: &[RevId], what: What) {
        let (rev_hi, rev_lo) = split(rev.id);
        // No supersedes (every creation): 0, which encodes in one byte.
        let sup = if supersedes.is_empty() { 0 } else { self.sups.len() as u32 };
        self.sups.extend(supersedes.iter().map(|s| split(*s)));
        self.raw.push(RawEv {
            rev_hi,
            rev_lo,
            hlc: rev.hlc,
            date: rev.date,
            rec,
            origin,
            sup,
            nsup: supersedes.len() as u32,
            what,
        });
    }

    /// Folds one revision in. Any order, duplicates allowed; queries need [`History::build`].
    /// Absences and actions are ignored (no indicator uses them).
    pub fn add(&mut self, rev: &Revision) {
        let relevant = match &rev.change {
            Change::CreateStudent(_) | Change::CreateCase(_) => true,
            Change::Update(a) => a
                .iter()
                .any(|a| matches!(a.field, Field::Placement | Field::Grade | Field::EntryYear | Field::CaseState)),
            Change::Absence { .. } | Change::WithdrawAbsence { .. } | Change::Act(_) | Change::Visit { .. } => false,
        };
        if !relevant {
            return;
        }
        self.ensure_maps();
        self.built = None;
        let slot = self.slot(rev.record, rev.kind);
        let origin = self.origins.intern(&rev.origin);
        match (&rev.change, slot) {
            (Change::CreateStudent(init), Slot::Student(i)) => {
                let m = &mut self.students[i as usize];
                m.created = Some(rev.date);
                m.grade0 = init.grade;
                m.entry0 = init.entry_year;
                m.created_clock = (rev.hlc, origin);
                let what = self.place_what(&init.placement);
                if let What::Place { school, .. } = what {
                    self.students[i as usize].school0 = school;
                }
                self.push(rev, i, origin, &[], what);
                self.push(rev, i, origin, &[], What::Grade(init.grade));
            }
            (Change::CreateCase(init), Slot::Case(i)) => {
                let township = self.townships.intern(&init.township);
                let key = match (&init.child.id_number, init.student) {
                    (Some(id), _) => format!("i:{}", id.as_str()),
                    (None, Some(s)) => format!("r:{}", s.hex()),
                    (None, None) => format!("c:{}", rev.record.hex()),
                };
                let child = self.children.intern(&key);
                let m = &mut self.cases[i as usize];
                m.created = true;
                m.township = township;
                m.source = init.source;
                m.child = child;
                self.push(rev, i, origin, &[], What::Case(CASE_SUSPECTED));
            }
            (Change::Update(assigns), Slot::Student(i)) => {
                for a in assigns {
                    match (a.field, &a.value) {
                        (Field::Placement, Value::Placement(p)) => {
                            let what = self.place_what(p);
                            self.push(rev, i, origin, &a.supersedes, what);
                        }
                        (Field::Grade, Value::Grade(g)) => self.push(rev, i, origin, &a.supersedes, What::Grade(*g)),
                        (Field::EntryYear, Value::Year(y)) => {
                            self.entries.push(EntryCand { student: i, hlc: rev.hlc, origin, rev: rev.id, year: *y })
                        }
                        _ => {}
                    }
                }
            }
            (Change::Update(assigns), Slot::Case(i)) => {
                for a in assigns {
                    if let (Field::CaseState, Value::CaseState(s)) = (a.field, &a.value) {
                        self.push(rev, i, origin, &a.supersedes, What::Case(case_code(s)));
                    }
                }
            }
            _ => {}
        }
    }

    /// Sorts, deduplicates and resolves corrections. Idempotent; adding more afterwards is
    /// allowed (build again before querying).
    pub fn build(&mut self) {
        self.ensure_maps();
        self.raw.sort_unstable_by_key(RawEv::key);
        self.raw.dedup_by_key(|e| e.key());
        let raw = &self.raw;
        let n = raw.len();

        // Origins by name, so the order never depends on arrival order.
        let mut by_name: Vec<u32> = (0..self.origins.len() as u32).collect();
        by_name.sort_by(|a, b| self.origins.name(*a).cmp(self.origins.name(*b)));
        let mut rank = vec![0u32; by_name.len()];
        for (r, o) in by_name.into_iter().enumerate() {
            rank[o as usize] = r as u32;
        }
        let clock = |e: &RawEv| (e.hlc, rank[e.origin as usize], e.rev_hi, e.rev_lo);

        // Corrections: the earliest date among a value's (transitive) replacers. A replacer has
        // a later clock than what it replaces, so one pass in descending clock order suffices.
        let mut claim: Vec<Option<Date>> = vec![None; n];
        let mut by_clock: Vec<u32> = (0..n as u32).filter(|&i| raw[i as usize].nsup > 0).collect();
        by_clock.sort_unstable_by(|&a, &b| clock(&raw[b as usize]).cmp(&clock(&raw[a as usize])));
        for &i in &by_clock {
            let e = &raw[i as usize];
            let m = claim[i as usize].map_or(e.date, |c| c.min(e.date));
            for &(hi, lo) in &self.sups[e.sup as usize..(e.sup + e.nsup) as usize] {
                if let Ok(j) = raw.binary_search_by_key(&(hi, lo, e.what.tag()), RawEv::key) {
                    claim[j] = Some(claim[j].map_or(m, |c| c.min(m)));
                }
            }
        }
        drop(by_clock);

        let order = |a: &RawEv, b: &RawEv| (a.rec, a.date).cmp(&(b.rec, b.date)).then_with(|| clock(a).cmp(&clock(b)));
        let mut stu: Vec<u32> = Vec::with_capacity(n);
        let mut cas: Vec<u32> = Vec::new();
        for (i, e) in raw.iter().enumerate() {
            if claim[i].is_some_and(|c| c <= e.date) {
                continue;
            }
            if matches!(e.what, What::Case(_)) {
                cas.push(i as u32);
            } else {
                stu.push(i as u32);
            }
        }
        drop(claim);
        stu.sort_unstable_by(|&a, &b| order(&raw[a as usize], &raw[b as usize]));
        cas.sort_unstable_by(|&a, &b| order(&raw[a as usize], &raw[b as usize]));
        let csr = |idx: &[u32], len: usize| {
            let mut off = vec![0u32; len + 1];
            let mut ev = Vec::with_capacity(idx.len());
            for &i in idx {
                let e = &raw[i as usize];
                off[e.rec as usize + 1] += 1;
                ev.push(Ev { date: e.date, what: e.what });
            }
            for k in 0..len {
                off[k + 1] += off[k];
            }
            (off, ev)
        };
        let (stu_off, stu_ev) = csr(&stu, self.students.len());
        let (case_off, case_ev) = csr(&cas, self.cases.len());

        let mut entry: Vec<Option<i32>> = self.students.iter().map(|m| m.entry0).collect();
        let mut best: Vec<Option<(Hlc, u32, RevId)>> = self
            .students
            .iter()
            .map(|m| m.created.map(|_| (m.created_clock.0, rank[m.created_clock.1 as usize], m.id.creating_revision())))
            .collect();
        for c in &self.entries {
            let k = (c.hlc, rank[c.origin as usize], c.rev);
            let b = &mut best[c.student as usize];
            if *b < Some(k) {
                *b = Some(k);
                entry[c.student as usize] = c.year;
            }
        }
        // When each school first had a pupil placed at it (created there, moved there, accepted).
        let mut school_first: Vec<Option<Date>> = vec![None; self.schools.len()];
        for e in &stu_ev {
            if let What::Place { school, .. } = e.what {
                let f = &mut school_first[school as usize];
                *f = Some(f.map_or(e.date, |x| x.min(e.date)));
            }
        }
        self.built = Some(Built { stu_off, stu_ev, case_off, case_ev, entry, school_first });
    }

    fn b(&self) -> &Built {
        self.built.as_ref().expect("History::build must be called after the last History::add")
    }

    /// Approximate heap use in bytes (for the nightly benchmark's budget).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let names = |i: &Interner| i.names.iter().map(|s| s.capacity() + 2 * size_of::<String>() + 8).sum::<usize>();
        let b = self.built.as_ref().map_or(0, |b| {
            (b.stu_off.capacity() + b.case_off.capacity()) * 4
                + (b.stu_ev.capacity() + b.case_ev.capacity()) * size_of::<Ev>()
                + b.entry.capacity() * size_of::<Option<i32>>()
                + b.school_first.capacity() * size_of::<Option<Date>>()
        });
        names(&self.schools)
            + names(&self.origins)
            + names(&self.townships)
            + names(&self.children)
            + self.students.capacity() * size_of::<StudentMeta>()
            + self.cases.capacity() * size_of::<CaseMeta>()
            + self.raw.capacity() * size_of::<RawEv>()
            + self.sups.capacity() * size_of::<(u64, u64)>()
            + self.entries.capacity() * size_of::<EntryCand>()
            + self.index.capacity() * (size_of::<RecordId>() + size_of::<Slot>() + 8)
            + b
    }

    /// Number of student records seen (complete or not).
    pub fn student_count(&self) -> usize {
        self.students.len()
    }

    /// Number of case records seen.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// Student records whose creating revision has arrived.
    pub fn students(&self) -> impl Iterator<Item = RecordId> + '_ {
        self.students.iter().filter(|s| s.created.is_some()).map(|s| s.id)
    }

    fn stu_events(&self, s: u32) -> &[Ev] {
        let b = self.b();
        &b.stu_ev[b.stu_off[s as usize] as usize..b.stu_off[s as usize + 1] as usize]
    }

    pub(super) fn case_events(&self, c: u32) -> &[Ev] {
        let b = self.b();
        &b.case_ev[b.case_off[c as usize] as usize..b.case_off[c as usize + 1] as usize]
    }

    fn student_ix(&self, id: RecordId) -> Option<u32> {
        match self.index.get(&id) {
            Some(Slot::Student(i)) => Some(*i),
            _ => None,
        }
    }

    /// Fills `places` and `grades` with a student's timeline.
    pub(super) fn timeline(&self, s: u32, places: &mut Vec<PlaceEv>, grades: &mut Vec<(Date, u8)>) {
        places.clear();
        grades.clear();
        for e in self.stu_events(s) {
            match e.what {
                What::Place { status, school, target } => {
                    places.push(PlaceEv { date: e.date, status: Status::ALL[status as usize], school, target })
                }
                What::Grade(g) => grades.push((e.date, g)),
                What::Case(_) => {}
            }
        }
    }

    fn materialise(&self, p: &PlaceEv) -> Placement {
        let transfer = match p.target {
            TARGET_NONE => None,
            TARGET_OUT => Some(TransferTarget::OutOfCounty(String::new())),
            k => Some(TransferTarget::School(self.schools.name(k - 2).to_string())),
        };
        Placement { status: p.status, school: self.schools.name(p.school).to_string(), transfer }
    }

    /// The placement a student had on `d` (the last event dated on or before it). An
    /// out-of-county target comes back without its place name (the timeline does not keep it).
    pub fn placement_on(&self, student: RecordId, d: Date) -> Option<Placement> {
        let s = self.student_ix(student)?;
        let (mut p, mut g) = (Vec::new(), Vec::new());
        self.timeline(s, &mut p, &mut g);
        place_at(&p, d).map(|x| self.materialise(x))
    }

    /// The grade a student was in on `d` (recorded grade plus normal promotion, see above).
    pub fn grade_on(&self, student: RecordId, d: Date) -> Option<i32> {
        let s = self.student_ix(student)?;
        let (mut p, mut g) = (Vec::new(), Vec::new());
        self.timeline(s, &mut p, &mut g);
        grade_at(&g, d, self.year_start)
    }

    /// Students on the roll (在读, 休学, 送教上门) on `d`, strictly by dated events.
    pub fn on_roll_at(&self, d: Date) -> Vec<RecordId> {
        let (mut p, mut g) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        for (i, m) in self.students.iter().enumerate() {
            if m.created.is_none() {
                continue;
            }
            self.timeline(i as u32, &mut p, &mut g);
            if place_at(&p, d).is_some_and(|x| x.status.on_roll()) {
                out.push(m.id);
            }
        }
        out
    }

    /// Students counted on the roll on the first day of school year `y` (E of 辍学率: records
    /// created during `y` count only as registration at the year's start or a school's first
    /// roster, see the module documentation).
    pub fn enrolled_at_start(&self, y: SchoolYear) -> Vec<RecordId> {
        let (mut p, mut g) = (Vec::new(), Vec::new());
        let (y0, y1) = (self.start_of(y), self.start_of(y + 1));
        let mut out = Vec::new();
        for (i, m) in self.students.iter().enumerate() {
            if m.created.is_none() {
                continue;
            }
            self.timeline(i as u32, &mut p, &mut g);
            if self.place_at_start(i as u32, &p, y0, y1).is_some_and(|x| x.status.on_roll()) {
                out.push(m.id);
            }
        }
        out
    }

    /// Was student `s` created within the registration window of the first day any student was
    /// placed at its school (that school's first roster)?
    pub(super) fn in_first_roster(&self, s: u32) -> bool {
        let m = &self.students[s as usize];
        match (m.created, self.b().school_first.get(m.school0 as usize).copied().flatten()) {
            (Some(c), Some(first)) => c <= first.add_days(REGISTRATION_WINDOW_DAYS - 1),
            _ => false,
        }
    }

    /// Does student `s`, created in `[y0, y1)`, count on the roll from `y0` (registration at the
    /// year's start, or a school's first roster)? `false` for a record created outside it.
    fn counts_from_start(&self, s: u32, y0: Date, y1: Date) -> bool {
        match self.students[s as usize].created {
            Some(c) if c >= y0 && c < y1 => c <= y0.add_days(REGISTRATION_WINDOW_DAYS - 1) || self.in_first_roster(s),
            _ => false,
        }
    }

    /// The placement of student `s` on a year's first day `y0`: its placement then, or, for a
    /// record created during the year that counts from its first day, its first placement.
    pub(super) fn place_at_start<'p>(&self, s: u32, places: &'p [PlaceEv], y0: Date, y1: Date) -> Option<&'p PlaceEv> {
        place_at(places, y0).or_else(|| places.first().filter(|p| p.date < y1 && self.counts_from_start(s, y0, y1)))
    }

    /// The units a school belongs to: itself and its township (via the org).
    pub fn units_of<'o>(&self, org: &'o Org, school: &str) -> SchoolUnits<'o> {
        match org.school(school) {
            Some(s) => SchoolUnits { school: Some(&s.name), township: Some(&s.township) },
            None => SchoolUnits { school: None, township: None },
        }
    }

    /// A case's state on `d`: `None` if it was not yet opened.
    pub fn case_state_on(&self, case: RecordId, d: Date) -> Option<CaseStatus> {
        let Some(Slot::Case(c)) = self.index.get(&case) else {
            return None;
        };
        self.case_events(*c).iter().rev().find(|e| e.date <= d).and_then(|e| match e.what {
            What::Case(code) => Some(CaseStatus::from_code(code)),
            _ => None,
        })
    }

    /// The grade-1 entry school year of a student's cohort.
    pub(super) fn cohort(&self, s: u32) -> Option<SchoolYear> {
        let m = &self.students[s as usize];
        let created = m.created?;
        let g0 = i32::from(m.grade0);
        let sy0 = self.school_year_of(created);
        Some(match self.b().entry[s as usize] {
            Some(ey) if g0 >= 7 => {
                let ey = SchoolYear(ey);
                let as_grade1 = (sy0 - ey) - (g0 - 1);
                let as_grade7 = (sy0 - ey) - (g0 - 7);
                if as_grade7.abs() < as_grade1.abs() {
                    ey - 6
                } else {
                    ey
                }
            }
            Some(ey) => SchoolYear(ey),
            None => sy0 - (g0 - 1),
        })
    }
}

/// The units of a school (see [`History::units_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchoolUnits<'o> {
    pub school: Option<&'o str>,
    pub township: Option<&'o str>,
}

/// A case's state on a day (see [`History::case_state_on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Suspected,
    Confirmed,
    Closed(Outcome),
}

impl CaseStatus {
    fn from_code(c: u8) -> CaseStatus {
        match c {
            CASE_SUSPECTED => CaseStatus::Suspected,
            CASE_CONFIRMED => CaseStatus::Confirmed,
            k => CaseStatus::Closed(Outcome::ALL[(k - CASE_CLOSED) as usize]),
        }
    }
    pub fn is_open(self) -> bool {
        !matches!(self, CaseStatus::Closed(_))
    }
}

pub(super) fn place_at(places: &[PlaceEv], d: Date) -> Option<&PlaceEv> {
    places.iter().rev().find(|p| p.date <= d)
}

pub(super) fn grade_at(grades: &[(Date, u8)], d: Date, start: SchoolYearStart) -> Option<i32> {
    let &(gd, g) = grades.iter().rev().find(|(x, _)| *x <= d).or_else(|| grades.first())?;
    Some(i32::from(g) + (SchoolYear::of(d, start) - SchoolYear::of(gd, start)))
}

pub(super) fn stage_of(g: i32) -> Stage {
    Stage::of_grade(g.clamp(1, 9) as u8)
}

pub(super) fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::indicators::sim::Sim;
    use crate::indicators::testkit::*;
    use crate::indicators::*;
    use crate::model::Status;

    use crate::report::{render, Format};
    use crate::revision::{Field, RecordKind, Revision, Value};
    use crate::state::fold_all;

    #[test]
    fn order_duplicates_and_state_agree() {
        let s = dropout_county();
        let org = org();
        let base = history(&s.revs);
        let want = render(&dropout_report(&base, &org, SchoolYear(2026), d(2027, 3, 1)), Format::Json);
        // Reversed and rotated, with every revision twice: the same history.
        let mut revs: Vec<Revision> = s.revs.iter().rev().cloned().collect();
        revs.rotate_left(7);
        revs.extend(s.revs.iter().cloned());
        let h = history(&revs);
        assert_eq!(render(&dropout_report(&h, &org, SchoolYear(2026), d(2027, 3, 1)), Format::Json), want);
        // The end of every timeline is the merged state's placement.
        let records = fold_all(&s.revs);
        for r in records.values().filter(|r| r.kind == RecordKind::Student) {
            let p = h.placement_on(r.id, d(2030, 1, 1)).unwrap();
            let want = r.placement().unwrap();
            assert_eq!((p.status, &p.school), (want.status, &want.school), "{}", r.name());
        }
        assert_eq!(h.student_count(), 12);
        // The settled timeline stays compact (see the module documentation).
        assert_eq!(std::mem::size_of::<Ev>(), 16);
        // Adding after a build and building again changes nothing either.
        let mut h2 = h.clone();
        h2.add(&s.revs[3]);
        h2.build();
        assert_eq!(render(&dropout_report(&h2, &org, SchoolYear(2026), d(2027, 3, 1)), Format::Json), want);
    }

    #[test]
    fn history_survives_serialisation() {
        let s = dropout_county();
        let org = org();
        let h = history(&s.revs);
        let bytes = crate::codec::encode(&h).unwrap();
        let mut back: History = crate::codec::decode(&bytes).unwrap();
        let extra = {
            let mut s2 = dropout_county();
            s2.student(d(2026, 9, 1), "城关初中", 7);
            s2.revs.last().unwrap().clone()
        };
        back.add(&extra);
        back.build();
        let r = dropout_report(&back, &org, SchoolYear(2026), d(2027, 3, 1));
        assert_eq!(r.county.enrolled_at_start, 10);
        assert_eq!(unit(&r.townships, "城关", |u: &DropoutUnit| &u.name).enrolled_at_start, 1);
    }

    /// A backdated entry and a same-day fix replace what they supersede; a later change keeps
    /// history.
    #[test]
    fn corrections_and_changes() {
        let mut s = Sim::new();
        let a = s.student(d(2026, 9, 1), "鸦岭小学", 3);
        // Recorded 休学 on 10-01; then someone records (later clock) that the child actually
        // dropped out on 09-28: the 休学 is a mistake the 辍学 replaces.
        s.place(a, d(2026, 10, 1), Status::Suspended, "鸦岭小学");
        s.place(a, d(2026, 9, 28), Status::DroppedOut, "鸦岭小学");
        // B: 辍学 on 10-10 fixed the same day to 在读 (a slip): no dropout at all.
        let b = s.student(d(2026, 9, 1), "鸦岭小学", 3);
        s.place(b, d(2026, 10, 10), Status::DroppedOut, "鸦岭小学");
        s.place(b, d(2026, 10, 10), Status::Enrolled, "鸦岭小学");
        // C: 辍学 on 10-10, back on 10-20: both stay.
        let c = s.student(d(2026, 9, 1), "鸦岭小学", 3);
        s.place(c, d(2026, 10, 10), Status::DroppedOut, "鸦岭小学");
        s.place(c, d(2026, 10, 20), Status::Enrolled, "鸦岭小学");
        let h = history(&s.revs);
        let st = |x, day| h.placement_on(x, day).map(|p| p.status);
        assert_eq!(st(a, d(2026, 9, 30)), Some(Status::DroppedOut));
        assert_eq!(st(a, d(2026, 10, 5)), Some(Status::DroppedOut));
        assert_eq!(st(b, d(2026, 10, 10)), Some(Status::Enrolled));
        assert_eq!(st(c, d(2026, 10, 15)), Some(Status::DroppedOut));
        assert_eq!(st(c, d(2026, 10, 21)), Some(Status::Enrolled));
        assert_eq!(st(c, d(2026, 8, 1)), None);
        let r = dropout_report(&h, &org(), SchoolYear(2026), d(2026, 12, 1));
        assert_eq!((r.county.enrolled_at_start, r.county.dropouts), (3, 1));
        let records = fold_all(&s.revs);
        assert_eq!(records[&a].status(), Some(Status::DroppedOut));
        assert_eq!(h.on_roll_at(d(2026, 10, 15)), vec![b]);
        assert_eq!(h.enrolled_at_start(SchoolYear(2026)).len(), 3);
    }

    #[test]
    fn grades_promote_each_year_until_recorded_otherwise() {
        let mut s = Sim::new();
        let a = s.student(d(2024, 9, 1), "鸦岭小学", 5);
        let h = history(&s.revs);
        assert_eq!(h.grade_on(a, d(2024, 10, 1)), Some(5));
        assert_eq!(h.grade_on(a, d(2025, 9, 1)), Some(6));
        assert_eq!(h.grade_on(a, d(2026, 9, 1)), Some(7));
        assert_eq!(h.grade_on(a, d(2023, 9, 1)), Some(4));
        // A repeat: grade 6 recorded again in 2026.
        s.set(a, RecordKind::Student, d(2026, 9, 2), Field::Grade, Value::Grade(6));
        let h = history(&s.revs);
        assert_eq!(h.grade_on(a, d(2026, 9, 1)), Some(7));
        assert_eq!(h.grade_on(a, d(2026, 10, 1)), Some(6));
        assert_eq!(h.grade_on(a, d(2027, 10, 1)), Some(7));
    }

    /// 入学年份 is read as grade-1 or grade-7 entry, whichever fits the grade at creation; a later
    /// write of it wins; without it the cohort comes from the grade and year of creation.
    #[test]
    fn cohort_from_entry_year() {
        let mut s = Sim::new();
        let with_entry = |s: &mut Sim, grade: u8, entry: Option<i32>| {
            let mut init = s.init("甲", "鸦岭初中", grade, d(2012, 3, 1), crate::model::Sex::Male);
            init.entry_year = entry;
            s.create(d(2025, 9, 1), init)
        };
        let junior_style = with_entry(&mut s, 8, Some(2024));
        let grade1_style = with_entry(&mut s, 8, Some(2018));
        let derived = with_entry(&mut s, 8, None);
        let updated = with_entry(&mut s, 8, Some(2024));
        s.set(updated, RecordKind::Student, d(2025, 10, 1), Field::EntryYear, Value::Year(Some(2023)));
        let h = history(&s.revs);
        let cohort = |id| h.cohort(h.student_ix(id).unwrap());
        assert_eq!(cohort(junior_style), Some(SchoolYear(2018)));
        assert_eq!(cohort(grade1_style), Some(SchoolYear(2018)));
        assert_eq!(cohort(derived), Some(SchoolYear(2018)));
        assert_eq!(cohort(updated), Some(SchoolYear(2017)));
    }
}
