//! The indicators of FORMULAS.md: 辍学率, 巩固率 (nine-year, junior, primary), 伊川's monthly
//! township table and the monthly ranking, plus the baseline CSV that supplies cohort history
//! from before a county used the system.
//!
//! # History, not state
//!
//! Derived [`Record`](crate::state::Record) state holds current values only, but the rates need
//! events over time (who was on the roll on the school year's first day, when a spell of 辍学
//! began, transfers, deaths). So everything here is computed from a [`History`]: the student and
//! case revisions folded into one timeline per record, ordered by the revision's business
//! `date`, then its clock (hlc, origin, id). [`History::add`] takes revisions in any order, any
//! number of times; [`History::build`] sorts and settles them.
//!
//! A write that replaces (`supersedes`) an earlier value and is dated on or before it is a
//! **correction**: the earlier value is dropped from the timeline (transitively), so a backdated
//! entry or a same-day fix does not leave a phantom event behind. A write dated after the value
//! it replaces is a **change**, and the earlier value stays as history. With this rule the end of
//! a timeline equals the register's value whenever the field is not in conflict.
//!
//! # Choices where FORMULAS.md is silent
//!
//! - **Grade over time.** The grade recorded at a date holds for that school year; later school
//!   years assume normal promotion (+1 a year) until another grade is recorded (a repeat is
//!   recorded by writing the same grade again in the new year).
//! - **Roll at the year's start** (E of 辍学率, the system's part of I). A record created before
//!   Y's first day counts by its placement on that day. A record created during Y counts as on
//!   the roll from the first day only if it is **registration at the year's start** or part of
//!   a school's **first roster**; any other record created during Y is a **mid-year arrival**
//!   (a transfer in from another county, a child found and enrolled, a late addition to a school
//!   already in the system) and is not in E:
//!   - *registration at the year's start*: created within [`REGISTRATION_WINDOW_DAYS`] days of
//!     Y's first day (new entrants are registered in the first weeks: 《中小学生学籍管理办法》
//!     gives a school one month from entry to create a 学籍);
//!   - *first roster*: created within [`REGISTRATION_WINDOW_DAYS`] days of the first day any
//!     student was placed at the school of its initial placement (created there, moved there by
//!     小升初 or a transfer). A school that starts
//!     using the system in the middle of a year imports the roll as it is; that roster describes
//!     who was there, so it is the best evidence of the first day's roll. A record created later
//!     at a school already in the system is an arrival, whatever command created it.
//!
//!   The window is a rule about records, not about revisions: nothing in a revision says which
//!   command made it, and an import spread over a few days (one class at a time, bad rows fixed
//!   and re-imported) still belongs to the first roster.
//! - **辍学率.** E is the roll on the first day; D counts a student whose placement on `as_of` is
//!   辍学 and whose current spell of 辍学 began within Y. Stage (primary/junior) is the grade on
//!   the first day for E and on the day the spell began for D; the unit is the school of the
//!   placement (on the first day for E, on `as_of` for D).
//! - **Cohorts.** A student's cohort is fixed: 入学年份 where given (read as the year of entering
//!   grade 1, or grade 7 when that fits the grade at creation better — junior schools record
//!   their own intake year), otherwise derived from the grade at creation and the school year it
//!   was created in. The grade-7 entry of a cohort is its grade-1 entry + 6.
//! - **G** is evaluated on `t = min(as_of, last day of Y)`: cohort students in the last grade of
//!   the stage, at a school of the unit, whose placement on `t` is 在读 or 送教上门, or 毕业 dated
//!   within Y. For a finished year this counts graduates whose 毕业 was never recorded too.
//! - **I** (system part) = cohort students on the roll (with the year-start rule above) on the
//!   first day of the entry year. Only for entry years that began after the baseline's import.
//! - **A cohort without a baseline** (no baseline imported, or none of its rows is of this cohort
//!   and stage): the system has no record of the cohort's intake if it started using the
//!   system after the cohort entered the stage. Then I is the cohort's size when the system
//!   first saw it: each cohort student of a school's first roster created after the entry
//!   year's first day, on the roll on the day it was created, counts in I (at its school then),
//!   and the unit says so (`intake_from_first_roster`: how many of I are such; reports print
//!   「入学人数取自系统首次花名册（无基线）」). Tin, Tout and X then count only what the system
//!   recorded after that. Without this, the roster would show up as transfers in (转入), which is
//!   wrong in the table sent upward. With a baseline of the cohort the baseline is used (below).
//! - **Transfers** are the 转出 events: a student in transit to another school of the county is
//!   counted at the destination from the day of the 转出 (so a move between townships is out for
//!   one and in for the other on the same day; at county level it is nothing). 转出 out of the
//!   county is out for every unit; a later return to any school is in for that school's units. A
//!   cancelled transfer (转出 then back at the same school) shows as out and in for both
//!   schools, net zero. Changing school without 转出 (小升初, a correction) is not a transfer.
//! - **Arrivals.** A record created after the baseline's import, within the stage's years, that
//!   is not intake is a transfer in from outside the county. For the nine-year rate a record
//!   created in grade 7 in the cohort's junior entry year continues the cohort (小升初 as a new
//!   record): neither intake nor transfer. Without a baseline this holds only if the system saw
//!   the cohort before that year (otherwise the junior school's roster is the first sight of the
//!   cohort, and its first roster is the intake).
//! - **No double counting with the baseline.** The baseline is the county's history up to its
//!   import date `C`: its intake, transfers and deaths are summed for the schools of each unit;
//!   the system's own events count only when dated after `C` (creations and intake likewise).
//!   The roster must therefore be imported on or before the baseline's date. Baseline transfers
//!   are per school: moves between two schools of one unit before `C` show in both transfers_in
//!   and transfers_out of that unit (net zero in the denominator).
//! - **Baseline rows and stages.** A row `(school, entry year, entry grade g)` belongs to the
//!   cohort whose grade-1 entry is `entry year − (g − 1)`; primary rates use rows with g ≤ 6,
//!   junior rates rows with g ≥ 7, nine-year rates all; only rows with g = the stage's first
//!   grade contribute intake (a grade-7 row's intake is 小升初 for the nine-year rate).
//! - **Schools in the consolidation report** are those whose type teaches both the stage's first
//!   and last grade. A rate above 100% is reported as it is with `flag: "rate_above_100"`; a
//!   negative denominator gives `rate: null` with `flag: "denominator_negative"`, and graduates
//!   with a zero denominator `flag: "no_denominator"`.
//! - **Township table.** roll_unreturned = open cases from the roll in state 辍学 (confirmed);
//!   suspected_list_unreturned = open cases from the Ministry's list (any open state);
//!   census_unreturned = open cases from the other departments' lists. Open means: opened on or
//!   before `as_of` and not closed on `as_of`. A child counts once (in the first of these
//!   columns that applies). Cases of a township not in the org get a row of their own after the
//!   org's townships, so the total is the sum of the rows.
//! - **Ranking.** Townships of the org by unreturned total, then 辍学率 of the school year of
//!   `as_of` (a township without a rate after those with one), then name; equal keys share a rank
//!   (1, 1, 3).
//! - Students at schools not in the org count for the county only.
//!
//! # Size
//!
//! Compact by design for a county of 300,000 students and 3,000,000 revisions: school, origin,
//! township and child names are interned as `u32`; a timeline event is 16 bytes after
//! [`History::build`]; absences and actions are not kept at all. `History` is `Serialize` so a
//! hub can keep it between nightly runs and only [`add`](History::add) the new revisions.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dates::{school_year_of, school_year_start, Date, SchoolYear};
use crate::model::{CaseSource, CaseState, Outcome, Placement, Stage, Status, TransferTarget};
use crate::org::Org;
use crate::revision::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use crate::table::{RowError, Table, TableError};

/// The school year's first day when the policy says nothing else.
pub const DEFAULT_YEAR_START: (u32, u32) = (9, 1);

/// Days after a school year's first day, or after a school's first student record, within
/// which a new record still describes the roll of the first day (see the module
/// documentation: one month, as a school has to register a new entrant).
pub const REGISTRATION_WINDOW_DAYS: i64 = 30;

// ---------------------------------------------------------------------------------------------
// Interning
// ---------------------------------------------------------------------------------------------

/// Names as `u32` indices. The map is rebuilt after deserialisation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Interner {
    names: Vec<String>,
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
    fn name(&self, i: u32) -> &str {
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
const TARGET_NONE: u32 = 0;
const TARGET_OUT: u32 = 1;

/// Case state codes: 0 suspected, 1 confirmed, `2 + outcome` closed.
const CASE_SUSPECTED: u8 = 0;
const CASE_CONFIRMED: u8 = 1;
const CASE_CLOSED: u8 = 2;

fn case_code(s: &CaseState) -> u8 {
    match s {
        CaseState::Suspected => CASE_SUSPECTED,
        CaseState::Confirmed => CASE_CONFIRMED,
        CaseState::Closed { outcome, .. } => CASE_CLOSED + *outcome as u8,
    }
}

/// What one timeline event says. `Place.status` is `Status as u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum What {
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
struct Ev {
    date: Date,
    what: What,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StudentMeta {
    id: RevId,
    /// The creating revision's date; `None` until it arrives (the record is then left out).
    created: Option<Date>,
    grade0: u8,
    /// The school of the placement as created (interned): whose first roster this may be.
    school0: u32,
    /// 入学年份 as created, with the creating revision's clock (later updates are [`EntryCand`]s).
    entry0: Option<i32>,
    created_clock: (Hlc, u32),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseMeta {
    id: RevId,
    created: bool,
    township: u32,
    source: CaseSource,
    /// Interned child key: its ID number, else its student record, else the case itself.
    child: u32,
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
    year_start: (u32, u32),
    schools: Interner,
    origins: Interner,
    townships: Interner,
    children: Interner,
    students: Vec<StudentMeta>,
    cases: Vec<CaseMeta>,
    raw: Vec<RawEv>,
    sups: Vec<(u64, u64)>,
    entries: Vec<EntryCand>,
    #[serde(skip)]
    index: HashMap<RevId, Slot>,
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
struct PlaceEv {
    date: Date,
    status: Status,
    school: u32,
    target: u32,
}

impl History {
    /// An empty history; school years start on 1 September.
    pub fn new() -> History {
        History::with_year_start(DEFAULT_YEAR_START)
    }

    /// An empty history whose school years start on `(month, day)` (the county's policy).
    pub fn with_year_start(start: (u32, u32)) -> History {
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
    pub fn from_revisions<'a>(start: (u32, u32), revs: impl IntoIterator<Item = &'a Revision>) -> History {
        let mut h = History::with_year_start(start);
        for r in revs {
            h.add(r);
        }
        h.build();
        h
    }

    pub fn year_start(&self) -> (u32, u32) {
        self.year_start
    }

    /// The school year a day falls in, under this history's start day.
    pub fn school_year_of(&self, d: Date) -> SchoolYear {
        school_year_of(d, self.year_start)
    }

    fn start_of(&self, y: SchoolYear) -> Date {
        school_year_start(y, self.year_start)
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
            Change::Absence { .. } | Change::Act(_) => false,
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
            .map(|m| m.created.map(|_| (m.created_clock.0, rank[m.created_clock.1 as usize], m.id)))
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
            + self.index.capacity() * (size_of::<RevId>() + size_of::<Slot>() + 8)
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

    fn case_events(&self, c: u32) -> &[Ev] {
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
    fn timeline(&self, s: u32, places: &mut Vec<PlaceEv>, grades: &mut Vec<(Date, u8)>) {
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
    fn in_first_roster(&self, s: u32) -> bool {
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
    fn place_at_start<'p>(&self, s: u32, places: &'p [PlaceEv], y0: Date, y1: Date) -> Option<&'p PlaceEv> {
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
    fn cohort(&self, s: u32) -> Option<SchoolYear> {
        let m = &self.students[s as usize];
        let created = m.created?;
        let g0 = i32::from(m.grade0);
        let sy0 = self.school_year_of(created);
        Some(match self.b().entry[s as usize] {
            Some(ey) if g0 >= 7 => {
                let as_grade1 = (sy0 - ey) - (g0 - 1);
                let as_grade7 = (sy0 - ey) - (g0 - 7);
                if as_grade7.abs() < as_grade1.abs() {
                    ey - 6
                } else {
                    ey
                }
            }
            Some(ey) => ey,
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

fn place_at(places: &[PlaceEv], d: Date) -> Option<&PlaceEv> {
    places.iter().rev().find(|p| p.date <= d)
}

fn grade_at(grades: &[(Date, u8)], d: Date, start: (u32, u32)) -> Option<i32> {
    let &(gd, g) = grades.iter().rev().find(|(x, _)| *x <= d).or_else(|| grades.first())?;
    Some(i32::from(g) + school_year_of(d, start) - school_year_of(gd, start))
}

fn stage_of(g: i32) -> Stage {
    Stage::of_grade(g.clamp(1, 9) as u8)
}

fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

// ---------------------------------------------------------------------------------------------
// Units of the reports
// ---------------------------------------------------------------------------------------------

/// The county's townships and schools in report order, and where each interned school belongs.
struct Units<'o> {
    townships: Vec<&'o str>,
    schools: Vec<&'o str>,
    /// (township, school) report indices by school name.
    by_name: HashMap<&'o str, (u32, u32)>,
    /// The same by interned school index.
    interned: Vec<(Option<u32>, Option<u32>)>,
}

impl<'o> Units<'o> {
    fn new(h: &History, org: &'o Org) -> Units<'o> {
        let townships: Vec<&str> = org.townships.keys().map(String::as_str).collect();
        let t_ix: HashMap<&str, u32> = townships.iter().enumerate().map(|(i, t)| (*t, i as u32)).collect();
        let mut sch: Vec<&crate::org::School> = org.schools.values().collect();
        sch.sort_by(|a, b| (&a.township, &a.name).cmp(&(&b.township, &b.name)));
        let mut by_name = HashMap::new();
        for (i, s) in sch.iter().enumerate() {
            // A school whose township is missing from the township list (cannot come from the
            // org CSV) still counts for itself and the county.
            let t = t_ix.get(s.township.as_str()).copied().unwrap_or(u32::MAX);
            by_name.insert(s.name.as_str(), (t, i as u32));
        }
        let interned = h
            .schools
            .names
            .iter()
            .map(|n| match by_name.get(n.as_str()) {
                Some(&(t, s)) => ((t != u32::MAX).then_some(t), Some(s)),
                None => (None, None),
            })
            .collect();
        Units { townships, schools: sch.iter().map(|s| s.name.as_str()).collect(), by_name, interned }
    }

    fn of(&self, school: u32) -> (Option<u32>, Option<u32>) {
        self.interned.get(school as usize).copied().unwrap_or((None, None))
    }

    fn of_name(&self, name: &str) -> (Option<u32>, Option<u32>) {
        match self.by_name.get(name) {
            Some(&(t, s)) => ((t != u32::MAX).then_some(t), Some(s)),
            None => (None, None),
        }
    }
}

/// One accumulator per unit.
struct Acc<T> {
    county: T,
    townships: Vec<T>,
    schools: Vec<T>,
}

impl<T: Default + Clone> Acc<T> {
    fn new(u: &Units) -> Acc<T> {
        Acc {
            county: T::default(),
            townships: vec![T::default(); u.townships.len()],
            schools: vec![T::default(); u.schools.len()],
        }
    }
    /// Applies `f` to the county and the school's township and school.
    fn each(&mut self, (t, s): (Option<u32>, Option<u32>), mut f: impl FnMut(&mut T)) {
        f(&mut self.county);
        if let Some(t) = t {
            f(&mut self.townships[t as usize]);
        }
        if let Some(s) = s {
            f(&mut self.schools[s as usize]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 辍学率
// ---------------------------------------------------------------------------------------------

/// E, D and the rate for one stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageRate {
    pub enrolled_at_start: u64,
    pub dropouts: u64,
    pub rate: Option<f64>,
}

impl StageRate {
    fn of(e: u64, d: u64) -> StageRate {
        StageRate { enrolled_at_start: e, dropouts: d, rate: rate(d, e) }
    }
}

/// One unit of the dropout report (CLI.md `report dropout --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutUnit {
    pub name: String,
    pub enrolled_at_start: u64,
    pub dropouts: u64,
    pub rate: Option<f64>,
    pub primary: StageRate,
    pub junior: StageRate,
}

/// 辍学率 for school year `school_year` as of `as_of`: county, each township, each school.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutReport {
    pub as_of: Date,
    pub school_year: SchoolYear,
    pub county: DropoutUnit,
    pub townships: Vec<DropoutUnit>,
    pub schools: Vec<DropoutUnit>,
}

/// [E, D] by stage (primary, junior).
type ED = [[u64; 2]; 2];

fn dropout_unit(name: &str, c: &ED) -> DropoutUnit {
    let (e, d) = (c[0][0] + c[1][0], c[0][1] + c[1][1]);
    DropoutUnit {
        name: name.to_string(),
        enrolled_at_start: e,
        dropouts: d,
        rate: rate(d, e),
        primary: StageRate::of(c[0][0], c[0][1]),
        junior: StageRate::of(c[1][0], c[1][1]),
    }
}

fn stage_ix(s: Stage) -> usize {
    match s {
        Stage::Primary => 0,
        Stage::Junior => 1,
    }
}

/// 辍学率 = D / E (FORMULAS.md), per unit, split primary/junior.
pub fn dropout_report(h: &History, org: &Org, school_year: SchoolYear, as_of: Date) -> DropoutReport {
    let u = Units::new(h, org);
    let mut acc: Acc<ED> = Acc::new(&u);
    let (y0, y1) = (h.start_of(school_year), h.start_of(school_year + 1));
    let (mut places, mut grades) = (Vec::new(), Vec::new());
    for (i, m) in h.students.iter().enumerate() {
        if m.created.is_none() {
            continue;
        }
        h.timeline(i as u32, &mut places, &mut grades);
        if let Some(p) = h.place_at_start(i as u32, &places, y0, y1) {
            if p.status.on_roll() {
                let st = stage_ix(stage_of(grade_at(&grades, y0, h.year_start).unwrap_or(1)));
                acc.each(u.of(p.school), |c| c[st][0] += 1);
            }
        }
        let Some(last) = places.iter().rposition(|p| p.date <= as_of) else {
            continue;
        };
        if places[last].status != Status::DroppedOut {
            continue;
        }
        let mut first = last;
        while first > 0 && places[first - 1].status == Status::DroppedOut {
            first -= 1;
        }
        let began = places[first].date;
        if began >= y0 && began < y1 {
            let st = stage_ix(stage_of(grade_at(&grades, began, h.year_start).unwrap_or(1)));
            acc.each(u.of(places[last].school), |c| c[st][1] += 1);
        }
    }
    DropoutReport {
        as_of,
        school_year,
        county: dropout_unit("全县", &acc.county),
        townships: u.townships.iter().zip(&acc.townships).map(|(n, c)| dropout_unit(n, c)).collect(),
        schools: u.schools.iter().zip(&acc.schools).map(|(n, c)| dropout_unit(n, c)).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Baseline
// ---------------------------------------------------------------------------------------------

pub const BASELINE_COLUMNS: [&str; 7] = ["学校", "入学学年", "入学年级", "入学人数", "转入", "转出", "死亡"];

/// One school's counts for one cohort, up to the import date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineRow {
    pub school: String,
    pub entry_year: SchoolYear,
    pub entry_grade: u8,
    pub intake: u32,
    pub transfers_in: u32,
    pub transfers_out: u32,
    pub deaths: u32,
}

/// Cohort history from before the system (CLI.md "Baseline CSV"), keyed by
/// (school, entry year, entry grade). `imported` is the date the counts run up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub imported: Date,
    /// Sorted by key, keys unique.
    rows: Vec<BaselineRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BaselineError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("基线文件有 {} 处错误：\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
}

fn parse_school_year(s: &str) -> Option<SchoolYear> {
    let t = s.trim().trim_end_matches("学年").trim_end_matches('年');
    let (first, second) = match t.split_once(['-', '—', '–', '/']) {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (t, None),
    };
    let y: i32 = first.parse().ok().filter(|y| (1990..=2100).contains(y))?;
    match second {
        None => Some(y),
        Some(b) => (b.parse::<i32>().ok() == Some(y + 1)).then_some(y),
    }
}

fn parse_grade(s: &str) -> Option<u8> {
    let t = s.trim().trim_end_matches("年级");
    let g = match t {
        "一" => 1,
        "二" => 2,
        "三" => 3,
        "四" => 4,
        "五" => 5,
        "六" => 6,
        "七" | "初一" => 7,
        "八" | "初二" => 8,
        "九" | "初三" => 9,
        _ => t.parse().ok()?,
    };
    (1..=9).contains(&g).then_some(g)
}

impl Baseline {
    /// An empty baseline (no history before `imported`).
    pub fn empty(imported: Date) -> Baseline {
        Baseline { imported, rows: Vec::new() }
    }

    /// Reads the baseline CSV, reporting every bad cell. With an org, schools must be the
    /// county's and teach the entry grade. 转入/转出/死亡 may be left empty (0).
    pub fn parse_csv(bytes: &[u8], imported: Date, org: Option<&Org>) -> Result<Baseline, BaselineError> {
        Baseline::parse_with(bytes, imported, org, &crate::table::Aliases::builtin())
    }

    /// [`Baseline::parse_csv`] (CSV, .xlsx or .xls) with a county's column aliases.
    pub fn parse_with(
        bytes: &[u8],
        imported: Date,
        org: Option<&Org>,
        aliases: &crate::table::Aliases,
    ) -> Result<Baseline, BaselineError> {
        let table = Table::parse_with(bytes, &BASELINE_COLUMNS, aliases)?;
        let mut errors = table.ragged.clone();
        let mut rows: Vec<BaselineRow> = Vec::with_capacity(table.len());
        let mut seen: HashMap<(String, SchoolYear, u8), usize> = HashMap::new();
        for row in table.rows() {
            let before = errors.len();
            let school = row.get("学校").to_string();
            if school.is_empty() {
                errors.push(row.error("学校", "不能为空"));
            }
            let known = org.map(|o| o.school(&school));
            if let Some(None) = known {
                if !school.is_empty() {
                    errors.push(row.error("学校", "不是本县组织机构中的学校"));
                }
            }
            let entry_year = parse_school_year(row.get("入学学年"));
            match entry_year {
                None => errors.push(row.error("入学学年", "应为学年的起始年份，如 2018 或 2018-2019")),
                Some(y) if y > imported.year() => {
                    errors.push(row.error("入学学年", format!("晚于基线截止日期 {imported}，不可能已有统计")))
                }
                _ => {}
            }
            let grade = parse_grade(row.get("入学年级"));
            match (grade, known) {
                (None, _) => errors.push(row.error("入学年级", "应为 1–9")),
                (Some(g), Some(Some(s))) if !s.teaches(g) => {
                    errors.push(row.error("入学年级", format!("{}是{}，不设 {g} 年级", s.name, s.kind)))
                }
                _ => {}
            }
            let mut count = |col: &str, required: bool| -> u32 {
                let v = row.get(col);
                if v.is_empty() && !required {
                    return 0;
                }
                match v.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        errors.push(row.error(col, "应为非负整数"));
                        0
                    }
                }
            };
            let intake = count("入学人数", true);
            let transfers_in = count("转入", false);
            let transfers_out = count("转出", false);
            let deaths = count("死亡", false);
            if errors.len() > before {
                continue;
            }
            let (Some(entry_year), Some(entry_grade)) = (entry_year, grade) else {
                continue;
            };
            if let Some(first) = seen.insert((school.clone(), entry_year, entry_grade), row.number) {
                errors.push(RowError {
                    row: row.number,
                    column: "学校".into(),
                    value: school.clone(),
                    reason: format!("同一学校、入学学年、入学年级与第 {first} 行重复"),
                });
                continue;
            }
            rows.push(BaselineRow { school, entry_year, entry_grade, intake, transfers_in, transfers_out, deaths });
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Err(BaselineError::Rows(errors));
        }
        Ok(Baseline::from_rows(imported, rows))
    }

    /// A baseline from rows (a later row with the same key replaces an earlier one).
    pub fn from_rows(imported: Date, rows: Vec<BaselineRow>) -> Baseline {
        let mut map: BTreeMap<(String, SchoolYear, u8), BaselineRow> = BTreeMap::new();
        for r in rows {
            map.insert((r.school.clone(), r.entry_year, r.entry_grade), r);
        }
        Baseline { imported, rows: map.into_values().collect() }
    }

    pub fn get(&self, school: &str, entry_year: SchoolYear, entry_grade: u8) -> Option<&BaselineRow> {
        self.rows
            .binary_search_by(|r| {
                (r.school.as_str(), r.entry_year, r.entry_grade).cmp(&(school, entry_year, entry_grade))
            })
            .ok()
            .map(|i| &self.rows[i])
    }

    pub fn rows(&self) -> &[BaselineRow] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// 巩固率
// ---------------------------------------------------------------------------------------------

/// Which 巩固率: `nine_year` (grade 1 → 9), `junior` (7 → 9) or `primary` (1 → 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortStage {
    NineYear,
    Junior,
    Primary,
}

impl CohortStage {
    pub const ALL: [CohortStage; 3] = [CohortStage::NineYear, CohortStage::Junior, CohortStage::Primary];

    /// (first grade, last grade).
    pub fn grades(self) -> (u8, u8) {
        match self {
            CohortStage::NineYear => (1, 9),
            CohortStage::Junior => (7, 9),
            CohortStage::Primary => (1, 6),
        }
    }
    /// School years from intake to completion (9, 3, 6).
    pub fn span(self) -> i32 {
        let (f, l) = self.grades();
        i32::from(l - f) + 1
    }
    pub fn key(self) -> &'static str {
        match self {
            CohortStage::NineYear => "nine_year",
            CohortStage::Junior => "junior",
            CohortStage::Primary => "primary",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CohortStage::NineYear => "九年义务教育巩固率",
            CohortStage::Junior => "初中三年巩固率",
            CohortStage::Primary => "小学六年巩固率",
        }
    }
    /// Does a baseline row of entry grade `g` belong to this stage?
    fn takes_row_grade(self, g: u8) -> bool {
        match self {
            CohortStage::NineYear => true,
            CohortStage::Junior => g >= 7,
            CohortStage::Primary => g <= 6,
        }
    }
}

impl fmt::Display for CohortStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for CohortStage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "nine_year" | "nine-year" | "九年" | "九年义务教育巩固率" => Ok(CohortStage::NineYear),
            "junior" | "初中" | "初中三年巩固率" => Ok(CohortStage::Junior),
            "primary" | "小学" | "小学六年巩固率" => Ok(CohortStage::Primary),
            t => Err(format!("巩固率类别「{t}」无效，可选：nine_year、junior、primary")),
        }
    }
}

/// One unit of the consolidation report (CLI.md `report consolidation --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationUnit {
    pub name: String,
    pub graduates: u64,
    pub intake: u64,
    pub transfers_in: u64,
    pub transfers_out: u64,
    pub deaths: u64,
    pub rate: Option<f64>,
    /// A data problem: `rate_above_100`, `denominator_negative` or `no_denominator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// How many of `intake` are the cohort as the system's first roster found it, for want of a
    /// baseline (see the module documentation); more than 0 marks the unit's intake as such.
    #[serde(default)]
    pub intake_from_first_roster: u64,
}

impl ConsolidationUnit {
    /// `I + Tin − Tout − X`.
    pub fn denominator(&self) -> i64 {
        self.intake as i64 + self.transfers_in as i64 - self.transfers_out as i64 - self.deaths as i64
    }
}

/// 巩固率 of the cohort completing `stage` in `school_year`, as of `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationReport {
    pub as_of: Date,
    pub school_year: SchoolYear,
    pub stage: CohortStage,
    pub county: ConsolidationUnit,
    pub townships: Vec<ConsolidationUnit>,
    pub schools: Vec<ConsolidationUnit>,
}

impl ConsolidationReport {
    /// The school year the cohort entered the stage's first grade.
    pub fn entry_year(&self) -> SchoolYear {
        self.school_year - (self.stage.span() - 1)
    }
}

/// [G, I, Tin, Tout, X, R] with R the part of I taken from a first roster.
type Terms = [u64; 6];
const G: usize = 0;
const I: usize = 1;
const TIN: usize = 2;
const TOUT: usize = 3;
const X: usize = 4;
const R: usize = 5;

fn consolidation_unit(name: &str, t: &Terms) -> ConsolidationUnit {
    let mut u = ConsolidationUnit {
        name: name.to_string(),
        graduates: t[G],
        intake: t[I],
        transfers_in: t[TIN],
        transfers_out: t[TOUT],
        deaths: t[X],
        rate: None,
        flag: None,
        intake_from_first_roster: t[R],
    };
    let den = u.denominator();
    match den.cmp(&0) {
        Ordering::Greater => {
            let r = u.graduates as f64 / den as f64;
            u.rate = Some(r);
            if r > 1.0 {
                u.flag = Some("rate_above_100".into());
            }
        }
        Ordering::Less => u.flag = Some("denominator_negative".into()),
        Ordering::Equal if u.graduates > 0 => u.flag = Some("no_denominator".into()),
        Ordering::Equal => {}
    }
    u
}

/// How a cohort student entered a unit's count (at the school given).
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// On the roll on the entry year's first day: I.
    Intake(u32),
    /// Part of its school's first roster, no baseline: I, marked.
    FirstRoster(u32),
    /// Created later, from outside the county: Tin.
    Arrival(u32),
}

/// Where a student belongs for transfers: a school of the county (in transit counts at the
/// destination) or outside the county.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    At(u32),
    Outside,
}

fn member(p: &PlaceEv) -> Member {
    if p.status == Status::TransferredOut {
        match p.target {
            TARGET_NONE | TARGET_OUT => Member::Outside,
            k => Member::At(k - 2),
        }
    } else {
        Member::At(p.school)
    }
}

/// Counts a move between memberships: out for the units left, in for the units joined.
fn count_move(acc: &mut Acc<Terms>, u: &Units, from: Member, to: Member) {
    let units = |m: Member| match m {
        Member::At(s) => (true, u.of(s)),
        Member::Outside => (false, (None, None)),
    };
    let (c0, (t0, s0)) = units(from);
    let (c1, (t1, s1)) = units(to);
    if c0 && !c1 {
        acc.county[TOUT] += 1;
    }
    if !c0 && c1 {
        acc.county[TIN] += 1;
    }
    if t0 != t1 {
        if let Some(t) = t0 {
            acc.townships[t as usize][TOUT] += 1;
        }
        if let Some(t) = t1 {
            acc.townships[t as usize][TIN] += 1;
        }
    }
    if s0 != s1 {
        if let Some(s) = s0 {
            acc.schools[s as usize][TOUT] += 1;
        }
        if let Some(s) = s1 {
            acc.schools[s as usize][TIN] += 1;
        }
    }
}

/// 巩固率 = G / (I + Tin − Tout − X) (FORMULAS.md), per unit, every term shown. The baseline
/// (if any) supplies the terms up to its import date; see the module documentation.
pub fn consolidation_report(
    h: &History,
    org: &Org,
    baseline: Option<&Baseline>,
    stage: CohortStage,
    school_year: SchoolYear,
    as_of: Date,
) -> ConsolidationReport {
    let u = Units::new(h, org);
    let mut acc: Acc<Terms> = Acc::new(&u);
    let (f, l) = stage.grades();
    let e = school_year - (stage.span() - 1);
    let e0 = h.start_of(e);
    let e1 = h.start_of(e + 1);
    let y0 = h.start_of(school_year);
    let t_end = as_of.min(h.start_of(school_year + 1).add_days(-1));
    let grade1_entry = e - (i32::from(f) - 1);
    let of_cohort = |r: &BaselineRow| {
        stage.takes_row_grade(r.entry_grade) && r.entry_year - (i32::from(r.entry_grade) - 1) == grade1_entry
    };
    // The baseline counts only for a cohort it has rows of; otherwise the first roster stands in.
    let baseline = baseline.filter(|b| b.rows.iter().any(of_cohort));
    let cutover = baseline.map(|b| b.imported);
    let after_cutover = |d: Date| !matches!(cutover, Some(c) if d <= c);

    // The baseline: rows of this cohort and stage, summed over each unit's schools.
    if let Some(b) = baseline {
        for r in b.rows.iter().filter(|r| of_cohort(r)) {
            let intake = if r.entry_grade == f { u64::from(r.intake) } else { 0 };
            acc.each(u.of_name(&r.school), |t| {
                t[I] += intake;
                t[TIN] += u64::from(r.transfers_in);
                t[TOUT] += u64::from(r.transfers_out);
                t[X] += u64::from(r.deaths);
            });
        }
    }

    // The cohort's students, and when the system first saw any of them.
    let mut members: Vec<u32> = Vec::new();
    let mut first_seen: Option<Date> = None;
    for (i, m) in h.students.iter().enumerate() {
        let Some(created) = m.created else { continue };
        if h.cohort(i as u32).is_some_and(|c1| c1 + (i32::from(f) - 1) == e) {
            members.push(i as u32);
            first_seen = Some(first_seen.map_or(created, |x| x.min(created)));
        }
    }
    let junior_year0 = h.start_of(grade1_entry + 6);

    let (mut places, mut grades) = (Vec::new(), Vec::new());
    for &i in &members {
        let m = &h.students[i as usize];
        let Some(created) = m.created else { continue };
        h.timeline(i, &mut places, &mut grades);
        let Some(first) = places.first() else {
            continue;
        };

        // G: in the last grade on t, on the roll or graduated within the year.
        if let Some(p) = place_at(&places, t_end) {
            let done = match p.status {
                Status::Enrolled | Status::HomeDelivered => true,
                Status::Graduated => p.date >= y0,
                _ => false,
            };
            if done && grade_at(&grades, t_end, h.year_start) == Some(i32::from(l)) {
                acc.each(u.of(p.school), |t| t[G] += 1);
            }
        }

        // Intake, first roster, or arrival. For the nine-year rate a grade-7 record of the
        // junior entry year continues the cohort (小升初): neither, if the cohort was seen
        // before (always, with a baseline: its primary years are there).
        let continuing = stage == CohortStage::NineYear
            && m.grade0 == 7
            && h.school_year_of(created) == e + 6
            && (baseline.is_some() || first_seen.is_some_and(|x| x < junior_year0));
        let at_entry = if after_cutover(e0) { h.place_at_start(i, &places, e0, e1) } else { None };
        let created_within = created >= e0 && created <= t_end && after_cutover(created);
        let entry = if continuing {
            None
        } else if let Some(p) = at_entry {
            // On the entry year's roll (or not on it that day: neither intake nor arrival).
            p.status.on_roll().then_some(Entry::Intake(p.school))
        } else if !created_within {
            None
        } else if baseline.is_none() && h.in_first_roster(i) {
            // The system's first sight of the cohort (no baseline): the roster is the intake.
            place_at(&places, created).filter(|p| p.status.on_roll()).map(|p| Entry::FirstRoster(p.school))
        } else {
            match member(first) {
                Member::At(s) => Some(Entry::Arrival(s)),
                Member::Outside => None,
            }
        };
        match entry {
            Some(Entry::Intake(s)) => acc.each(u.of(s), |t| t[I] += 1),
            Some(Entry::FirstRoster(s)) => acc.each(u.of(s), |t| {
                t[I] += 1;
                t[R] += 1;
            }),
            Some(Entry::Arrival(s)) => acc.each(u.of(s), |t| t[TIN] += 1),
            None => {}
        }

        // Transfers (转出 events) and deaths within the stage's years, after the cutover.
        for w in places.windows(2) {
            let (prev, cur) = (&w[0], &w[1]);
            if cur.date < e0 || cur.date > t_end || !after_cutover(cur.date) {
                continue;
            }
            if prev.status == Status::TransferredOut || cur.status == Status::TransferredOut {
                let (a, b) = (member(prev), member(cur));
                if a != b {
                    count_move(&mut acc, &u, a, b);
                }
            }
            if cur.status == Status::Deceased && prev.status != Status::Deceased {
                acc.each(u.of(cur.school), |t| t[X] += 1);
            }
        }
    }

    let kind_ok = |name: &str| org.school(name).is_some_and(|s| s.teaches(f) && s.teaches(l));
    ConsolidationReport {
        as_of,
        school_year,
        stage,
        county: consolidation_unit("全县", &acc.county),
        townships: u.townships.iter().zip(&acc.townships).map(|(n, t)| consolidation_unit(n, t)).collect(),
        schools: u
            .schools
            .iter()
            .zip(&acc.schools)
            .filter(|(n, _)| kind_ok(n))
            .map(|(n, t)| consolidation_unit(n, t))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// The township table and the ranking
// ---------------------------------------------------------------------------------------------

/// One row of 伊川's table (001 附件1); the total row has `township` = "合计".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TownshipRow {
    pub township: String,
    pub roll_unreturned: u64,
    pub suspected_list_unreturned: u64,
    pub census_unreturned: u64,
    pub total: u64,
}

/// CLI.md `report township-table --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TownshipTable {
    pub as_of: Date,
    pub rows: Vec<TownshipRow>,
    pub total: TownshipRow,
}

/// Children still out, per township, on `as_of`.
pub fn township_table(h: &History, org: &Org, as_of: Date) -> TownshipTable {
    // Each child once: the first column that applies (0 roll, 1 Ministry list, 2 census).
    let mut child: HashMap<u32, (u8, u32)> = HashMap::new();
    for (i, m) in h.cases.iter().enumerate() {
        if !m.created {
            continue;
        }
        let Some(code) = h.case_events(i as u32).iter().rev().find(|e| e.date <= as_of).and_then(|e| match e.what {
            What::Case(c) => Some(c),
            _ => None,
        }) else {
            continue;
        };
        let col = match (m.source, code) {
            (_, c) if c >= CASE_CLOSED => continue,
            (CaseSource::Roll, CASE_CONFIRMED) => 0,
            (CaseSource::Roll, _) => continue,
            (CaseSource::Ministry, _) => 1,
            _ => 2,
        };
        let entry = child.entry(m.child).or_insert((col, m.township));
        if col < entry.0 {
            *entry = (col, m.township);
        }
    }
    let mut counts: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for (col, t) in child.values() {
        counts.entry(h.townships.name(*t)).or_default()[*col as usize] += 1;
    }
    let row = |name: &str, c: [u64; 3]| TownshipRow {
        township: name.to_string(),
        roll_unreturned: c[0],
        suspected_list_unreturned: c[1],
        census_unreturned: c[2],
        total: c.iter().sum(),
    };
    let mut rows: Vec<TownshipRow> =
        org.townships.keys().map(|t| row(t, counts.get(t.as_str()).copied().unwrap_or_default())).collect();
    for (t, c) in &counts {
        if !org.townships.contains_key(*t) {
            rows.push(row(t, *c));
        }
    }
    let mut sum = [0u64; 3];
    for r in &rows {
        sum[0] += r.roll_unreturned;
        sum[1] += r.suspected_list_unreturned;
        sum[2] += r.census_unreturned;
    }
    TownshipTable { as_of, rows, total: row("合计", sum) }
}

/// One row of the monthly ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingRow {
    pub rank: u32,
    pub township: String,
    pub unreturned: u64,
    pub dropout_rate: Option<f64>,
}

/// CLI.md `report ranking --json`: 一月一排名 (001 §三(三)2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub as_of: Date,
    /// `YYYY-MM`.
    pub month: String,
    pub rows: Vec<RankingRow>,
}

/// Ranks the org's townships from a table and a dropout report of the same day.
pub fn ranking_from(org: &Org, table: &TownshipTable, dropout: &DropoutReport) -> Ranking {
    let unreturned: HashMap<&str, u64> = table.rows.iter().map(|r| (r.township.as_str(), r.total)).collect();
    let rates: HashMap<&str, Option<f64>> = dropout.townships.iter().map(|u| (u.name.as_str(), u.rate)).collect();
    let mut rows: Vec<RankingRow> = org
        .townships
        .keys()
        .map(|t| RankingRow {
            rank: 0,
            township: t.clone(),
            unreturned: unreturned.get(t.as_str()).copied().unwrap_or(0),
            dropout_rate: rates.get(t.as_str()).copied().flatten(),
        })
        .collect();
    let key_cmp = |a: &RankingRow, b: &RankingRow| {
        a.unreturned.cmp(&b.unreturned).then_with(|| match (a.dropout_rate, b.dropout_rate) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
    };
    rows.sort_by(|a, b| key_cmp(a, b).then_with(|| a.township.cmp(&b.township)));
    for i in 0..rows.len() {
        rows[i].rank =
            if i > 0 && key_cmp(&rows[i - 1], &rows[i]) == Ordering::Equal { rows[i - 1].rank } else { i as u32 + 1 };
    }
    let as_of = table.as_of;
    Ranking { as_of, month: format!("{:04}-{:02}", as_of.year(), as_of.month()), rows }
}

/// The monthly ranking on `as_of` (辍学率 of the school year `as_of` falls in).
pub fn ranking(h: &History, org: &Org, as_of: Date) -> Ranking {
    let table = township_table(h, org, as_of);
    let dropout = dropout_report(h, org, h.school_year_of(as_of), as_of);
    ranking_from(org, &table, &dropout)
}

/// Every report of the nightly run, for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub dropout: DropoutReport,
    /// nine_year, junior, primary (in [`CohortStage::ALL`] order).
    pub consolidation: Vec<ConsolidationReport>,
    pub township_table: TownshipTable,
    pub ranking: Ranking,
}

/// Computes every indicator for the school year `as_of` falls in.
pub fn compute_all(h: &History, org: &Org, baseline: Option<&Baseline>, as_of: Date) -> Indicators {
    let y = h.school_year_of(as_of);
    let dropout = dropout_report(h, org, y, as_of);
    let consolidation = CohortStage::ALL.iter().map(|s| consolidation_report(h, org, baseline, *s, y, as_of)).collect();
    let township_table = township_table(h, org, as_of);
    let ranking = ranking_from(org, &township_table, &dropout);
    Indicators { dropout, consolidation, township_table, ranking }
}

/// Building revisions for tests: one origin, clocks increasing in call order, each write
/// superseding the current head of its field (what a real node does).
#[cfg(test)]
pub(crate) mod sim {
    use std::collections::HashMap;

    use crate::dates::Date;
    use crate::ids::{make_id, IdNumber, StudentNo};
    use crate::model::{CaseSource, CaseState, Cause, Placement, Sex, Status, TransferTarget};
    use crate::revision::{Assign, CaseInit, Child, StudentInit};
    use crate::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};

    #[derive(Default)]
    pub struct Sim {
        pub revs: Vec<Revision>,
        next: u128,
        heads: HashMap<(RecordId, Field), RevId>,
        ids: u16,
    }

    impl Sim {
        pub fn new() -> Sim {
            Sim { next: 1, ..Default::default() }
        }

        fn rev(&mut self, record: Option<RecordId>, kind: RecordKind, date: Date, change: Change) -> Revision {
            let id = RevId(self.next * 7919);
            self.next += 1;
            Revision {
                id,
                record: record.unwrap_or(id),
                kind,
                origin: "鸦岭-node".into(),
                seq: self.next as u64,
                hlc: Hlc { ms: 1_000 + self.next as u64, n: 0 },
                author: "测试".into(),
                date,
                change,
            }
        }

        /// A fresh valid ID number for a birth date and sex.
        pub fn id(&mut self, birth: Date, sex: Sex) -> IdNumber {
            self.ids += 2;
            let seq = if sex == Sex::Male { self.ids + 1 } else { self.ids };
            make_id("410329", birth.0, seq)
        }

        pub fn init(&mut self, name: &str, school: &str, grade: u8, birth: Date, sex: Sex) -> StudentInit {
            let id = self.id(birth, sex);
            StudentInit {
                student_no: StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
                id_number: Some(id),
                name: name.into(),
                sex,
                birth,
                grade,
                class: None,
                hukou_township: None,
                hukou_village: None,
                entry_year: None,
                groups: vec![],
                guardian: None,
                phone: None,
                placement: Placement { status: Status::Enrolled, school: school.into(), transfer: None },
            }
        }

        pub fn create(&mut self, date: Date, init: StudentInit) -> RecordId {
            let r = self.rev(None, RecordKind::Student, date, Change::CreateStudent(Box::new(init.clone())));
            let id = r.id;
            for (f, _) in init.fields() {
                self.heads.insert((id, f), id);
            }
            self.revs.push(r);
            id
        }

        /// A pupil of `grade` in the school year of `date`, 在读 at `school`.
        pub fn student(&mut self, date: Date, school: &str, grade: u8) -> RecordId {
            let y = crate::dates::school_year_of(date, (9, 1));
            let birth = Date::ymd(y - 5 - i32::from(grade), 3, 1);
            let name = format!("学生{}", self.next);
            let init = self.init(&name, school, grade, birth, Sex::Male);
            self.create(date, init)
        }

        pub fn set(&mut self, record: RecordId, kind: RecordKind, date: Date, field: Field, value: Value) -> RevId {
            let supersedes = self.heads.get(&(record, field)).copied().into_iter().collect();
            let r = self.rev(Some(record), kind, date, Change::Update(vec![Assign { field, value, supersedes }]));
            let id = r.id;
            self.heads.insert((record, field), id);
            self.revs.push(r);
            id
        }

        pub fn place(&mut self, s: RecordId, date: Date, status: Status, school: &str) -> RevId {
            let p = Placement { status, school: school.into(), transfer: None };
            self.set(s, RecordKind::Student, date, Field::Placement, Value::Placement(p))
        }

        pub fn transfer(&mut self, s: RecordId, date: Date, from: &str, to: Option<&str>) -> RevId {
            let transfer = Some(match to {
                Some(x) => TransferTarget::School(x.into()),
                None => TransferTarget::OutOfCounty("郑州市".into()),
            });
            let p = Placement { status: Status::TransferredOut, school: from.into(), transfer };
            self.set(s, RecordKind::Student, date, Field::Placement, Value::Placement(p))
        }

        pub fn child(&mut self, name: &str, birth: Date, sex: Sex, id: Option<IdNumber>) -> Child {
            Child {
                name: name.into(),
                id_number: id,
                student_no: None,
                sex,
                birth,
                hukou_township: None,
                hukou_village: None,
                groups: vec![],
            }
        }

        pub fn case(
            &mut self,
            date: Date,
            township: &str,
            source: CaseSource,
            child: Child,
            student: Option<RecordId>,
        ) -> RecordId {
            let init = CaseInit {
                student,
                child,
                township: township.into(),
                school: None,
                grade: None,
                source,
                opened: date,
                clock_start: date,
                cause: Cause::Unknown,
                previous: None,
            };
            let r = self.rev(None, RecordKind::Case, date, Change::CreateCase(Box::new(init.clone())));
            let id = r.id;
            for (f, _) in init.fields() {
                self.heads.insert((id, f), id);
            }
            self.revs.push(r);
            id
        }

        /// A case about a made-up child of this township (a fresh ID number).
        pub fn simple_case(&mut self, date: Date, township: &str, source: CaseSource) -> RecordId {
            let birth = Date::ymd(2014, 5, 5);
            let id = self.id(birth, Sex::Female);
            let name = format!("儿童{}", self.next);
            let child = self.child(&name, birth, Sex::Female, Some(id));
            self.case(date, township, source, child, None)
        }

        pub fn case_state(&mut self, c: RecordId, date: Date, state: CaseState) -> RevId {
            self.set(c, RecordKind::Case, date, Field::CaseState, Value::CaseState(state))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sim::Sim;
    use super::*;
    use crate::model::Outcome;
    use crate::report::{render, Format};
    use crate::state::fold_all;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::ymd(y, m, day)
    }

    fn org() -> Org {
        Org::parse_csv(
            "乡镇,学校,类型\n鸦岭,鸦岭小学,小学\n鸦岭,鸦岭初中,初中\n白沙,白沙小学,小学\n白沙,白沙初中,初中\n城关,城关初中,初中\n"
                .as_bytes(),
        )
        .unwrap()
    }

    fn history(revs: &[Revision]) -> History {
        History::from_revisions(DEFAULT_YEAR_START, revs)
    }

    fn unit<'a, T>(units: &'a [T], name: &str, get: impl Fn(&T) -> &str) -> &'a T {
        units.iter().find(|u| get(u) == name).unwrap_or_else(|| panic!("no unit {name}"))
    }

    /// School year 2026, as of 2027-03-01. Each student below is created 2026-09-01 unless said.
    ///
    /// | who | school, grade | what happens | E | D |
    /// |---|---|---|---|---|
    /// | A | 鸦岭小学 3 | 辍学 10-10, back 11-01 | prim | no (returned) |
    /// | B | 鸦岭小学 5 | 辍学 12-01, still out | prim | prim |
    /// | C | 鸦岭初中 7 (created 2025-09-01) | 辍学 2026-03-01, still out | no (out on day 1) | no (before the year) |
    /// | D | 鸦岭初中 7 | 休学 10-01 | jun | no (休学 is not a dropout) |
    /// | E | 白沙小学 1 | created 送教上门 | prim | no |
    /// | F | 白沙小学 2 | 死亡 12-01 | prim | no |
    /// | G | 鸦岭初中 9 | 辍学 2027-01-05 | jun | jun |
    /// | H | 鸦岭小学 4 | 转出 out of county 10-01 | prim | no |
    /// | I | 鸦岭初中 8 | 辍学 2027-04-01 (after as-of) | jun | no |
    /// | J | 鸦岭小学 6, created 2026-10-20 | — (a mid-year arrival) | no | no |
    /// | K | 鸦岭小学 2, created 2026-09-25 | — (registered in the first month) | prim | no |
    /// | L | 鸦岭初中 7 (created 2025-09-01) | 辍学 2026-05-01, back 09-10, 辍学 11-11 | no | jun (grade 8) |
    ///
    /// 鸦岭小学 E 4 (A B H K), D 1 (B) → 0.25. 鸦岭初中 E 3 (D G I), D 2 (G L) → 2/3.
    /// 白沙小学 E 2 (E F), D 0 → 0. 鸦岭 E 7 D 3 → 3/7 (primary 1/4, junior 2/3).
    /// 白沙 E 2 D 0 → 0; junior none → null. County E 9 D 3 → 1/3; primary 1/6; junior 2/3.
    fn dropout_county() -> Sim {
        let mut s = Sim::new();
        let day1 = d(2026, 9, 1);
        let a = s.student(day1, "鸦岭小学", 3);
        s.place(a, d(2026, 10, 10), Status::DroppedOut, "鸦岭小学");
        s.place(a, d(2026, 11, 1), Status::Enrolled, "鸦岭小学");
        let b = s.student(day1, "鸦岭小学", 5);
        s.place(b, d(2026, 12, 1), Status::DroppedOut, "鸦岭小学");
        let c = s.student(d(2025, 9, 1), "鸦岭初中", 7);
        s.place(c, d(2026, 3, 1), Status::DroppedOut, "鸦岭初中");
        let dd = s.student(day1, "鸦岭初中", 7);
        s.place(dd, d(2026, 10, 1), Status::Suspended, "鸦岭初中");
        let mut init = s.init("送教生", "白沙小学", 1, d(2020, 3, 1), crate::model::Sex::Female);
        init.placement.status = Status::HomeDelivered;
        s.create(day1, init);
        let f = s.student(day1, "白沙小学", 2);
        s.place(f, d(2026, 12, 1), Status::Deceased, "白沙小学");
        let g = s.student(day1, "鸦岭初中", 9);
        s.place(g, d(2027, 1, 5), Status::DroppedOut, "鸦岭初中");
        let h = s.student(day1, "鸦岭小学", 4);
        s.transfer(h, d(2026, 10, 1), "鸦岭小学", None);
        let i = s.student(day1, "鸦岭初中", 8);
        s.place(i, d(2027, 4, 1), Status::DroppedOut, "鸦岭初中");
        s.student(d(2026, 10, 20), "鸦岭小学", 6);
        s.student(d(2026, 9, 25), "鸦岭小学", 2);
        let l = s.student(d(2025, 9, 1), "鸦岭初中", 7);
        s.place(l, d(2026, 5, 1), Status::DroppedOut, "鸦岭初中");
        s.place(l, d(2026, 9, 10), Status::Enrolled, "鸦岭初中");
        s.place(l, d(2026, 11, 11), Status::DroppedOut, "鸦岭初中");
        s
    }

    #[test]
    fn dropout_rate_by_hand() {
        let s = dropout_county();
        let org = org();
        let r = dropout_report(&history(&s.revs), &org, 2026, d(2027, 3, 1));
        let c = &r.county;
        assert_eq!((c.enrolled_at_start, c.dropouts), (9, 3));
        assert_eq!(c.rate, Some(1.0 / 3.0));
        assert_eq!(c.primary, StageRate { enrolled_at_start: 6, dropouts: 1, rate: Some(1.0 / 6.0) });
        assert_eq!(c.junior, StageRate { enrolled_at_start: 3, dropouts: 2, rate: Some(2.0 / 3.0) });

        let t = |n| unit(&r.townships, n, |u: &DropoutUnit| &u.name);
        assert_eq!((t("鸦岭").enrolled_at_start, t("鸦岭").dropouts, t("鸦岭").rate), (7, 3, Some(3.0 / 7.0)));
        assert_eq!(t("鸦岭").primary.rate, Some(0.25));
        assert_eq!((t("白沙").enrolled_at_start, t("白沙").dropouts, t("白沙").rate), (2, 0, Some(0.0)));
        assert_eq!(t("白沙").junior.rate, None);
        assert_eq!((t("城关").enrolled_at_start, t("城关").rate), (0, None));

        let sc = |n| unit(&r.schools, n, |u: &DropoutUnit| &u.name);
        assert_eq!((sc("鸦岭小学").enrolled_at_start, sc("鸦岭小学").dropouts), (4, 1));
        assert_eq!((sc("鸦岭初中").enrolled_at_start, sc("鸦岭初中").dropouts), (3, 2));
        assert_eq!(sc("鸦岭初中").junior.rate, Some(2.0 / 3.0));
        assert_eq!((sc("白沙小学").enrolled_at_start, sc("白沙小学").dropouts), (2, 0));
        // Every township and school of the org appears, in a stable order.
        assert_eq!(r.townships.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["城关", "白沙", "鸦岭"]);
        assert_eq!(r.schools.len(), 5);

        // Later, on 2027-04-02, I's dropout (2027-04-01) counts too.
        let later = dropout_report(&history(&s.revs), &org, 2026, d(2027, 4, 2));
        assert_eq!(later.county.dropouts, 4);
        // The school year before: C and L dropped out in 2025 (both still out on 2026-08-31).
        let before = dropout_report(&history(&s.revs), &org, 2025, d(2026, 8, 31));
        assert_eq!((before.county.enrolled_at_start, before.county.dropouts), (2, 2));
    }

    #[test]
    fn dropout_json_keys() {
        let s = dropout_county();
        let r = dropout_report(&history(&s.revs), &org(), 2026, d(2027, 3, 1));
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let mut top = keys(&v);
        top.sort();
        assert_eq!(top, ["as_of", "county", "school_year", "schools", "townships"]);
        assert_eq!(v["as_of"], "2027-03-01");
        assert_eq!(v["school_year"], 2026);
        let mut u = keys(&v["county"]);
        u.sort();
        assert_eq!(u, ["dropouts", "enrolled_at_start", "junior", "name", "primary", "rate"]);
        let mut st = keys(&v["county"]["primary"]);
        st.sort();
        assert_eq!(st, ["dropouts", "enrolled_at_start", "rate"]);
        assert!(v["townships"][0]["junior"]["rate"].is_null());
    }

    #[test]
    fn order_duplicates_and_state_agree() {
        let s = dropout_county();
        let org = org();
        let base = history(&s.revs);
        let want = render(&dropout_report(&base, &org, 2026, d(2027, 3, 1)), Format::Json);
        // Reversed and rotated, with every revision twice: the same history.
        let mut revs: Vec<Revision> = s.revs.iter().rev().cloned().collect();
        revs.rotate_left(7);
        revs.extend(s.revs.iter().cloned());
        let h = history(&revs);
        assert_eq!(render(&dropout_report(&h, &org, 2026, d(2027, 3, 1)), Format::Json), want);
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
        assert_eq!(render(&dropout_report(&h2, &org, 2026, d(2027, 3, 1)), Format::Json), want);
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
        let r = dropout_report(&back, &org, 2026, d(2027, 3, 1));
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
        let r = dropout_report(&h, &org(), 2026, d(2026, 12, 1));
        assert_eq!((r.county.enrolled_at_start, r.county.dropouts), (3, 1));
        let records = fold_all(&s.revs);
        assert_eq!(records[&a].status(), Some(Status::DroppedOut));
        assert_eq!(h.on_roll_at(d(2026, 10, 15)), vec![b]);
        assert_eq!(h.enrolled_at_start(2026).len(), 3);
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
        assert_eq!(cohort(junior_style), Some(2018));
        assert_eq!(cohort(grade1_style), Some(2018));
        assert_eq!(cohort(derived), Some(2018));
        assert_eq!(cohort(updated), Some(2017));
    }

    fn baseline_junior() -> Baseline {
        let csv = "学校,入学学年,入学年级,入学人数,转入,转出,死亡\n\
                   鸦岭初中,2024,7,5,1,1,0\n\
                   白沙初中,2024-2025,7,4,,,1\n\
                   城关初中,2024,七年级,2,0,0,0\n\
                   鸦岭初中,2025,7,9,0,0,0\n\
                   鸦岭小学,2018,1,7,2,3,0\n";
        Baseline::parse_csv(csv.as_bytes(), d(2025, 9, 10), Some(&org())).unwrap()
    }

    /// 初中三年巩固率 for school year 2026 (cohort entered grade 7 in 2024), as of 2027-03-01.
    /// Baseline imported 2025-09-10 (counts up to then); roster entered 2025-09-01 in grade 8:
    /// 鸦岭初中 a1–a5, 白沙初中 b1–b3, 城关初中 c1–c3, and x (grade 7: the next cohort).
    ///
    /// - a4 转出 out of the county 2025-09-05: before the baseline date → already in its 转出.
    /// - a1 转出 to 白沙初中 2025-11-01, accepted 11-05: out for 鸦岭, in for 白沙, not county.
    /// - a2 转出 out of the county 2026-03-01: out for 鸦岭 and the county.
    /// - b1 死亡 2026-01-10. n1 arrives 2026-02-01 at 鸦岭初中 in grade 8 (in for 鸦岭, county).
    /// - a3 辍学 2026-10-01 (not a graduate). x 转出 out of county: another cohort, ignored.
    ///
    /// 鸦岭: G 2 (a5 n1); I 5; Tin 1+1; Tout 1+1+1; X 0 → 2 / (5+2−3) = 0.5.
    /// 白沙: G 3 (b2 b3 a1); I 4; Tin 0+1; Tout 0; X 1+1 → 3 / (4+1−0−2) = 1.0.
    /// 城关: G 3 (c1–c3); I 2 → 3 / 2 = 1.5, shown and flagged.
    /// County: G 8; I 11; Tin 1+1 (n1); Tout 1+1 (a2); X 1+1 → 8 / (11+2−2−2) = 8/9.
    fn junior_county() -> Sim {
        let mut s = Sim::new();
        let roster = d(2025, 9, 1);
        let a: Vec<RecordId> = (0..5).map(|_| s.student(roster, "鸦岭初中", 8)).collect();
        let b: Vec<RecordId> = (0..3).map(|_| s.student(roster, "白沙初中", 8)).collect();
        for _ in 0..3 {
            s.student(roster, "城关初中", 8);
        }
        let x = s.student(roster, "鸦岭初中", 7);
        s.transfer(a[3], d(2025, 9, 5), "鸦岭初中", None);
        s.transfer(a[0], d(2025, 11, 1), "鸦岭初中", Some("白沙初中"));
        s.place(a[0], d(2025, 11, 5), Status::Enrolled, "白沙初中");
        s.transfer(a[1], d(2026, 3, 1), "鸦岭初中", None);
        s.place(b[0], d(2026, 1, 10), Status::Deceased, "白沙初中");
        s.student(d(2026, 2, 1), "鸦岭初中", 8);
        s.place(a[2], d(2026, 10, 1), Status::DroppedOut, "鸦岭初中");
        s.transfer(x, d(2026, 4, 1), "鸦岭初中", None);
        s
    }

    fn terms(u: &ConsolidationUnit) -> [u64; 5] {
        [u.graduates, u.intake, u.transfers_in, u.transfers_out, u.deaths]
    }

    #[test]
    fn junior_consolidation_by_hand() {
        let s = junior_county();
        let org = org();
        let base = baseline_junior();
        let r = consolidation_report(&history(&s.revs), &org, Some(&base), CohortStage::Junior, 2026, d(2027, 3, 1));
        assert_eq!(r.entry_year(), 2024);
        let t = |n| unit(&r.townships, n, |u: &ConsolidationUnit| &u.name);
        assert_eq!(terms(t("鸦岭")), [2, 5, 2, 3, 0]);
        assert_eq!(t("鸦岭").rate, Some(0.5));
        assert_eq!(terms(t("白沙")), [3, 4, 1, 0, 2]);
        assert_eq!((t("白沙").rate, t("白沙").flag.as_deref()), (Some(1.0), None));
        assert_eq!(terms(t("城关")), [3, 2, 0, 0, 0]);
        assert_eq!((t("城关").rate, t("城关").flag.as_deref()), (Some(1.5), Some("rate_above_100")));
        assert_eq!(terms(&r.county), [8, 11, 2, 2, 2]);
        assert_eq!(r.county.rate, Some(8.0 / 9.0));
        assert_eq!(r.county.flag, None);
        // Schools: only those teaching grades 7 and 9; the junior schools equal their townships.
        assert_eq!(r.schools.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["城关初中", "白沙初中", "鸦岭初中"]);
        assert_eq!(terms(unit(&r.schools, "鸦岭初中", |u: &ConsolidationUnit| &u.name)), [2, 5, 2, 3, 0]);

        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["stage"], "junior");
        assert_eq!(v["townships"][0]["flag"], "rate_above_100");
        assert!(v["county"].get("flag").is_none());
        for k in [
            "name",
            "graduates",
            "intake",
            "transfers_in",
            "transfers_out",
            "deaths",
            "rate",
            "intake_from_first_roster",
        ] {
            assert!(v["county"].get(k).is_some(), "{k}");
        }

        for x in std::iter::once(&r.county).chain(&r.townships).chain(&r.schools) {
            assert_eq!(x.intake_from_first_roster, 0, "the baseline is used: {x:?}");
        }

        // Without the baseline the system's own records are all there is. The roster of
        // 2025-09-01 is the system's first sight of the cohort (it entered grade 7 in 2024), so
        // it is the intake, marked as such: a1–a5 at 鸦岭, b1–b3 at 白沙, c1–c3 at 城关. n1
        // (2026-02-01, long after 鸦岭初中's first roster) is a transfer in; a4 (2025-09-05) and
        // a2 leave the county; a1 moves 鸦岭 → 白沙; b1 dies.
        // 鸦岭: G 2 / (I 5 + Tin 1 − Tout 3 (a4 a1 a2) − X 0) = 2/3.
        // 白沙: G 3 / (I 3 + Tin 1 (a1) − 0 − X 1) = 1. 城关: 3 / 3 = 1.
        // County: G 8 / (I 11 + Tin 1 − Tout 2 − X 1) = 8/9.
        let r = consolidation_report(&history(&s.revs), &org, None, CohortStage::Junior, 2026, d(2027, 3, 1));
        let t = |n| unit(&r.townships, n, |u: &ConsolidationUnit| &u.name);
        assert_eq!(terms(&r.county), [8, 11, 1, 2, 1]);
        assert_eq!(r.county.rate, Some(8.0 / 9.0));
        assert_eq!(r.county.intake_from_first_roster, 11);
        assert_eq!(terms(t("鸦岭")), [2, 5, 1, 3, 0]);
        assert_eq!(t("鸦岭").rate, Some(2.0 / 3.0));
        assert_eq!(t("鸦岭").intake_from_first_roster, 5);
        assert_eq!(terms(t("白沙")), [3, 3, 1, 0, 1]);
        assert_eq!((t("白沙").rate, t("白沙").flag.as_deref()), (Some(1.0), None));
        assert_eq!(terms(t("城关")), [3, 3, 0, 0, 0]);
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["county"]["intake_from_first_roster"], 11);
        assert_eq!(v["county"]["transfers_in"], 1, "the roster is not sent upward as 转入");
        // The marking shows in every format.
        let csv = render(&r, Format::Csv);
        assert!(csv.contains("\r\n全县,全县,8,11,1,2,1,88.89%,入学人数取自系统首次花名册（无基线）\r\n"), "{csv}");
        let md = render(&r, Format::Md);
        assert!(
            md.contains("| 全县 | 全县 | 8 | 11 | 1 | 2 | 1 | 88.89% | 入学人数取自系统首次花名册（无基线） |"),
            "{md}"
        );
        // The nine-year cohort completing in 2026 is the same children (grade 1 in 2018), first
        // seen in grade 8: the same terms.
        let nine = consolidation_report(&history(&s.revs), &org, None, CohortStage::NineYear, 2026, d(2027, 3, 1));
        assert_eq!(terms(&nine.county), [8, 11, 1, 2, 1]);
        assert_eq!(nine.county.intake_from_first_roster, 11);
    }

    /// 辍学率's E is the roll on the first day: school year 2026, as of 2027-06-30, no roll before.
    ///
    /// - 鸦岭小学: roster of 2026-09-01, p1 p2 p3 (grade 2); p4 registered 2026-09-20 (grade 1,
    ///   within the first month: on the first day's roll). p5 arrives from another county on
    ///   2026-11-15 (grade 3) and drops out 2027-03-01: in D, not in E. p1 drops out 2026-12-01.
    ///   p2 moves to 白沙小学 2027-02-01 (accepted 02-03): in E at 鸦岭小学, its first-day school.
    /// - 白沙小学 starts using the system in the middle of the year: its first roster, b1 b2 b3
    ///   on 2027-01-10 and b4 on 2027-01-25 (a second batch within the month), describes the
    ///   roll, so all four are in E. b5 arrives 2027-03-20 (a school already in the system): not
    ///   in E. b2 drops out 2027-04-01.
    ///
    /// 鸦岭小学: E 4 (p1–p4), D 2 (p1 p5) → 1/2. 白沙小学: E 4 (b1–b4), D 1 (b2) → 1/4.
    /// County: E 8, D 3 → 3/8 (counting every record created in the year, E would be 10).
    #[test]
    fn dropout_e_is_the_first_day_roll_not_mid_year_arrivals() {
        let mut s = Sim::new();
        let p: Vec<RecordId> = (0..3).map(|_| s.student(d(2026, 9, 1), "鸦岭小学", 2)).collect();
        let p4 = s.student(d(2026, 9, 20), "鸦岭小学", 1);
        let p5 = s.student(d(2026, 11, 15), "鸦岭小学", 3);
        s.place(p5, d(2027, 3, 1), Status::DroppedOut, "鸦岭小学");
        s.place(p[0], d(2026, 12, 1), Status::DroppedOut, "鸦岭小学");
        s.transfer(p[1], d(2027, 2, 1), "鸦岭小学", Some("白沙小学"));
        s.place(p[1], d(2027, 2, 3), Status::Enrolled, "白沙小学");
        let b: Vec<RecordId> = (0..3).map(|_| s.student(d(2027, 1, 10), "白沙小学", 4)).collect();
        let b4 = s.student(d(2027, 1, 25), "白沙小学", 4);
        let b5 = s.student(d(2027, 3, 20), "白沙小学", 4);
        s.place(b[1], d(2027, 4, 1), Status::DroppedOut, "白沙小学");
        let h = history(&s.revs);
        let r = dropout_report(&h, &org(), 2026, d(2027, 6, 30));
        let sc = |n| unit(&r.schools, n, |u: &DropoutUnit| &u.name);
        assert_eq!((sc("鸦岭小学").enrolled_at_start, sc("鸦岭小学").dropouts, sc("鸦岭小学").rate), (4, 2, Some(0.5)));
        assert_eq!(
            (sc("白沙小学").enrolled_at_start, sc("白沙小学").dropouts, sc("白沙小学").rate),
            (4, 1, Some(0.25))
        );
        assert_eq!((r.county.enrolled_at_start, r.county.dropouts, r.county.rate), (8, 3, Some(3.0 / 8.0)));
        assert_eq!(r.county.primary.enrolled_at_start, 8);
        let mut e = h.enrolled_at_start(2026);
        e.sort();
        let mut want = vec![p[0], p[1], p[2], p4, b[0], b[1], b[2], b4];
        want.sort();
        assert_eq!(e, want);
        assert!(!e.contains(&p5) && !e.contains(&b5));
        // The window's edges: day 30 after the year's first day still counts, day 31 does not.
        let mut s2 = Sim::new();
        s2.student(d(2026, 9, 1), "鸦岭小学", 2);
        s2.student(d(2026, 9, 30), "鸦岭小学", 2);
        s2.student(d(2026, 10, 1), "鸦岭小学", 2);
        assert_eq!(history(&s2.revs).enrolled_at_start(2026).len(), 2);
    }

    /// 小学六年巩固率 for the finished school year 2025 (cohort entered grade 1 in 2020), no
    /// baseline, as of 2026-10-01. Created 2020-09-01 in grade 1: p1 p2 p3 at 鸦岭小学, q1 d1 at
    /// 白沙小学.
    ///
    /// - p1 毕业 2026-07-01; p2 never marked 毕业 but 在读 in grade 6 to the year's end: both G.
    /// - p3 辍学 2023-03-01. d1 死亡 2021-05-01.
    /// - q1 转出 to 鸦岭小学 2022-03-01, accepted 03-03, 毕业 there 2026-07-01.
    /// - r1 arrives at 白沙小学 in grade 3 on 2022-09-01, 毕业 2026-07-01.
    /// - s1 (grade 1 in 2021) is another cohort.
    ///
    /// 鸦岭: G 3 (p1 p2 q1); I 3; Tin 1 (q1) → 3/4. 白沙: G 1 (r1); I 2 (q1 d1); Tin 1 (r1);
    /// Tout 1 (q1); X 1 (d1) → 1/1. County: G 4; I 5; Tin 1; Tout 0; X 1 → 4/5.
    #[test]
    fn primary_consolidation_finished_year() {
        let mut s = Sim::new();
        let e0 = d(2020, 9, 1);
        let p: Vec<RecordId> = (0..3).map(|_| s.student(e0, "鸦岭小学", 1)).collect();
        let q1 = s.student(e0, "白沙小学", 1);
        let d1 = s.student(e0, "白沙小学", 1);
        s.place(p[0], d(2026, 7, 1), Status::Graduated, "鸦岭小学");
        s.place(p[2], d(2023, 3, 1), Status::DroppedOut, "鸦岭小学");
        s.place(d1, d(2021, 5, 1), Status::Deceased, "白沙小学");
        s.transfer(q1, d(2022, 3, 1), "白沙小学", Some("鸦岭小学"));
        s.place(q1, d(2022, 3, 3), Status::Enrolled, "鸦岭小学");
        s.place(q1, d(2026, 7, 1), Status::Graduated, "鸦岭小学");
        let r1 = s.student(d(2022, 9, 1), "白沙小学", 3);
        s.place(r1, d(2026, 7, 1), Status::Graduated, "白沙小学");
        s.student(d(2021, 9, 1), "鸦岭小学", 1);
        let r = consolidation_report(&history(&s.revs), &org(), None, CohortStage::Primary, 2025, d(2026, 10, 1));
        let t = |n| unit(&r.townships, n, |u: &ConsolidationUnit| &u.name);
        assert_eq!(terms(t("鸦岭")), [3, 3, 1, 0, 0]);
        assert_eq!(t("鸦岭").rate, Some(0.75));
        assert_eq!(terms(t("白沙")), [1, 2, 1, 1, 1]);
        assert_eq!(t("白沙").rate, Some(1.0));
        assert_eq!(terms(&r.county), [4, 5, 1, 0, 1]);
        assert_eq!(r.county.rate, Some(0.8));
        assert_eq!(terms(t("城关")), [0; 5]);
        assert_eq!((t("城关").rate, t("城关").flag.as_deref()), (None, None));
        // Primary schools only.
        assert_eq!(r.schools.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["白沙小学", "鸦岭小学"]);
        // The nine-year rate completing in 2026 is the cohort that entered grade 1 in 2018: the
        // baseline's 2018 grade-1 row (I 7, Tin 2, Tout 3) and its grade-7 rows of 2024 (Tin 1,
        // Tout 1, X 1; their intake is 小升初, not intake). None of this sim's pupils is in it.
        let nine = consolidation_report(
            &history(&s.revs),
            &org(),
            Some(&baseline_junior()),
            CohortStage::NineYear,
            2026,
            d(2027, 3, 1),
        );
        assert_eq!(terms(&nine.county), [0, 7, 3, 4, 1]);
        assert_eq!(nine.county.rate, Some(0.0));
    }

    /// All three 巩固率 from the system's own records, no baseline: a cohort entering grade 1 on
    /// 2018-09-01, recorded since (a county using the system for nine years).
    ///
    /// Grade 1 on 2018-09-01: a1–a6 at 鸦岭小学, b1–b4 at 白沙小学. Then:
    /// - a1 转出 鸦岭小学 → 白沙小学 2020-03-01, accepted 03-05 (between townships);
    /// - b1 转出 out of the county 2021-10-10; n1 arrives at 白沙小学 in grade 4 on 2021-11-01;
    /// - a2 死亡 2022-05-01; a3 辍学 2022-12-01, never back;
    /// - 小升初: a4 a5 a6 move on their own records to 鸦岭初中 on 2024-09-01 (no 转出: not a
    ///   transfer); b2 b3 b4 a1 n1 毕业 at 白沙小学 2024-07-01 and get new records at 白沙初中
    ///   in grade 7 on 2024-09-01 (b2j b3j b4j a1j n1j);
    /// - a4 转出 鸦岭初中 → 白沙初中 2025-03-01, accepted 03-04; m1 arrives at 鸦岭初中 in grade 8
    ///   on 2025-10-01 (鸦岭初中 had pupils since 2024-09-01: not a first roster);
    /// - b2j 转出 out of the county 2025-11-01; b3j 死亡 2026-01-15; a5 辍学 2026-11-01.
    ///
    /// **Nine-year, school year 2026** (as of 2027-06-30): G = in grade 9 and 在读: 鸦岭 a6 m1
    /// (2); 白沙 a4 a1j b4j n1j (4). I = the grade-1 roll of 2018-09-01: 鸦岭 6, 白沙 4. The
    /// junior records continue the cohort (neither I nor Tin). Tin: n1, m1 (county, and their
    /// townships), a1 and a4 (白沙 only). Tout: b1, b2j (county, 白沙), a1 and a4 (鸦岭 only).
    /// X: a2 (鸦岭), b3j (白沙).
    /// 鸦岭 2 / (6 + 1 − 2 − 1) = 2/4; 白沙 4 / (4 + 3 − 2 − 1) = 4/4; county 6 / (10 + 2 − 2 − 2) = 6/8.
    ///
    /// **Junior, school year 2026** (grade 7 in 2024): G as above. I = on the roll on
    /// 2024-09-01: 鸦岭 a4 a5 a6 (3; a3 is 辍学 that day); 白沙 the five new records (5). Tin: m1
    /// (鸦岭, county), a4 (白沙). Tout: a4 (鸦岭), b2j (白沙, county). X: b3j.
    /// 鸦岭 2 / (3 + 1 − 1) = 2/3; 白沙 4 / (5 + 1 − 1 − 1) = 4/4; county 6 / (8 + 1 − 1 − 1) = 6/7.
    ///
    /// **Primary, school year 2023** (evaluated on 2024-08-31): G = grade 6, 在读 or 毕业 within
    /// the year: 鸦岭 a4 a5 a6 (3); 白沙 b2 b3 b4 a1 n1 (5). I 6 and 4. Tin: n1 (白沙, county),
    /// a1 (白沙). Tout: b1 (白沙, county), a1 (鸦岭). X: a2 (鸦岭).
    /// 鸦岭 3 / (6 − 1 − 1) = 3/4; 白沙 5 / (4 + 2 − 1) = 5/5; county 8 / (10 + 1 − 1 − 1) = 8/9.
    #[test]
    fn consolidation_from_the_systems_own_records_by_hand() {
        let mut s = Sim::new();
        let e0 = d(2018, 9, 1);
        let a: Vec<RecordId> = (0..6).map(|_| s.student(e0, "鸦岭小学", 1)).collect();
        let b: Vec<RecordId> = (0..4).map(|_| s.student(e0, "白沙小学", 1)).collect();
        s.transfer(a[0], d(2020, 3, 1), "鸦岭小学", Some("白沙小学"));
        s.place(a[0], d(2020, 3, 5), Status::Enrolled, "白沙小学");
        s.transfer(b[0], d(2021, 10, 10), "白沙小学", None);
        let n1 = s.student(d(2021, 11, 1), "白沙小学", 4);
        s.place(a[1], d(2022, 5, 1), Status::Deceased, "鸦岭小学");
        s.place(a[2], d(2022, 12, 1), Status::DroppedOut, "鸦岭小学");
        for &x in &a[3..6] {
            s.place(x, d(2024, 9, 1), Status::Enrolled, "鸦岭初中");
        }
        let mut junior = Vec::new();
        for &x in [b[1], b[2], b[3], a[0], n1].iter() {
            s.place(x, d(2024, 7, 1), Status::Graduated, "白沙小学");
            junior.push(s.student(d(2024, 9, 1), "白沙初中", 7));
        }
        s.transfer(a[3], d(2025, 3, 1), "鸦岭初中", Some("白沙初中"));
        s.place(a[3], d(2025, 3, 4), Status::Enrolled, "白沙初中");
        s.student(d(2025, 10, 1), "鸦岭初中", 8);
        s.transfer(junior[0], d(2025, 11, 1), "白沙初中", None);
        s.place(junior[1], d(2026, 1, 15), Status::Deceased, "白沙初中");
        s.place(a[4], d(2026, 11, 1), Status::DroppedOut, "鸦岭初中");
        let h = history(&s.revs);
        let org = org();
        let as_of = d(2027, 6, 30);
        let check = |r: &ConsolidationReport, want: [(&str, [u64; 5], Option<f64>); 3]| {
            for (name, terms_want, rate_want) in want {
                let u = if name == "全县" {
                    &r.county
                } else {
                    unit(&r.townships, name, |u: &ConsolidationUnit| &u.name)
                };
                assert_eq!((terms(u), u.rate), (terms_want, rate_want), "{} {name}", r.stage.key());
                assert_eq!(u.flag, None, "{name}");
                assert_eq!(u.intake_from_first_roster, 0, "the grade-1 roll is recorded: {name}");
            }
        };

        let nine = consolidation_report(&h, &org, None, CohortStage::NineYear, 2026, as_of);
        check(
            &nine,
            [
                ("鸦岭", [2, 6, 1, 2, 1], Some(0.5)),
                ("白沙", [4, 4, 3, 2, 1], Some(1.0)),
                ("全县", [6, 10, 2, 2, 2], Some(0.75)),
            ],
        );
        let jun = consolidation_report(&h, &org, None, CohortStage::Junior, 2026, as_of);
        check(
            &jun,
            [
                ("鸦岭", [2, 3, 1, 1, 0], Some(2.0 / 3.0)),
                ("白沙", [4, 5, 1, 1, 1], Some(1.0)),
                ("全县", [6, 8, 1, 1, 1], Some(6.0 / 7.0)),
            ],
        );
        assert_eq!(terms(unit(&jun.schools, "鸦岭初中", |u: &ConsolidationUnit| &u.name)), [2, 3, 1, 1, 0]);
        let pri = consolidation_report(&h, &org, None, CohortStage::Primary, 2023, as_of);
        check(
            &pri,
            [
                ("鸦岭", [3, 6, 0, 1, 1], Some(0.75)),
                ("白沙", [5, 4, 2, 1, 0], Some(1.0)),
                ("全县", [8, 10, 1, 1, 1], Some(8.0 / 9.0)),
            ],
        );
        assert_eq!(terms(unit(&pri.schools, "白沙小学", |u: &ConsolidationUnit| &u.name)), [5, 4, 2, 1, 0]);
    }

    #[test]
    fn baseline_rows_and_errors() {
        let b = baseline_junior();
        assert_eq!(b.len(), 5);
        let row = b.get("白沙初中", 2024, 7).unwrap();
        assert_eq!((row.intake, row.transfers_in, row.transfers_out, row.deaths), (4, 0, 0, 1));
        assert_eq!(b.get("城关初中", 2024, 7).unwrap().intake, 2);
        assert!(b.get("城关初中", 2023, 7).is_none());

        let bad = "学校,入学学年,入学年级,入学人数,转入,转出,死亡\n\
                   鸦岭初中,2024,7,5,1,1,0\n\
                   不存在中学,2024,7,5,0,0,0\n\
                   鸦岭初中,2030,7,5,0,0,0\n\
                   鸦岭小学,2024,7,5,0,0,0\n\
                   鸦岭初中,2024,7,6,0,0,0\n\
                   白沙初中,2024,7,,x,0,0\n\
                   白沙初中,2024\n";
        let BaselineError::Rows(e) = Baseline::parse_csv(bad.as_bytes(), d(2025, 9, 10), Some(&org())).unwrap_err()
        else {
            panic!()
        };
        let got: Vec<(usize, &str)> = e.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            got,
            [(3, "学校"), (4, "入学学年"), (5, "入学年级"), (6, "学校"), (7, "入学人数"), (7, "转入"), (8, "")]
        );
        assert!(e[3].reason.contains("第 2 行"), "{}", e[3]);
        assert!(matches!(
            Baseline::parse_csv("学校,入学学年\n".as_bytes(), d(2025, 1, 1), None),
            Err(BaselineError::Table(_))
        ));
    }

    /// As of 2027-03-31 (school year 2026).
    ///
    /// 鸦岭: c1 roll, confirmed (counts); c2 roll, only suspected (not yet a dropout); c3 roll,
    /// confirmed then returned 2026-12-01 (not); c6 roll confirmed, returned only 2027-04-10
    /// (still out on the day: counts); c4 Ministry list (counts); c8 a poverty-office case of the
    /// same child as c4 (counted once, as Ministry); c5 police (counts); c7 civil, opened
    /// 2027-04-05 (not yet). → roll 2, list 1, census 1, total 4.
    /// 白沙: one police case → census 1. 城关: one disability case → census 1.
    /// Rates: 白沙 1 dropout of 2 → 0.5; 城关 0 of 2 → 0; 鸦岭 no students → none.
    /// Ranking: 城关 (1, 0.0) 1st, 白沙 (1, 0.5) 2nd, 鸦岭 (4) 3rd.
    fn cases_county() -> Sim {
        use crate::model::{CaseSource::*, CaseState::*};
        let mut s = Sim::new();
        let closed = |o, on| Closed { outcome: o, evidence: None, on };
        let c1 = s.simple_case(d(2027, 1, 3), "鸦岭", Roll);
        s.case_state(c1, d(2027, 1, 10), Confirmed);
        s.simple_case(d(2027, 3, 28), "鸦岭", Roll);
        let c3 = s.simple_case(d(2026, 10, 25), "鸦岭", Roll);
        s.case_state(c3, d(2026, 11, 1), Confirmed);
        s.case_state(c3, d(2026, 12, 1), closed(Outcome::Returned, d(2026, 12, 1)));
        let c6 = s.simple_case(d(2027, 1, 25), "鸦岭", Roll);
        s.case_state(c6, d(2027, 2, 1), Confirmed);
        s.case_state(c6, d(2027, 4, 10), closed(Outcome::Returned, d(2027, 4, 10)));
        let c4 = s.simple_case(d(2026, 11, 1), "鸦岭", Ministry);
        let child = s.revs.iter().rev().find(|r| r.record == c4).and_then(|r| match &r.change {
            Change::CreateCase(i) => Some(i.child.clone()),
            _ => None,
        });
        s.case(d(2026, 11, 20), "鸦岭", Poverty, child.unwrap(), None);
        s.simple_case(d(2026, 12, 1), "鸦岭", Police);
        s.simple_case(d(2027, 4, 5), "鸦岭", Civil);
        s.simple_case(d(2026, 12, 1), "白沙", Police);
        s.simple_case(d(2026, 12, 1), "城关", Disability);
        let w1 = s.student(d(2026, 9, 1), "白沙小学", 3);
        s.student(d(2026, 9, 1), "白沙小学", 3);
        s.place(w1, d(2026, 10, 1), Status::DroppedOut, "白沙小学");
        s.student(d(2026, 9, 1), "城关初中", 8);
        s.student(d(2026, 9, 1), "城关初中", 8);
        s
    }

    #[test]
    fn township_table_by_hand() {
        let s = cases_county();
        let org = org();
        let h = history(&s.revs);
        let t = township_table(&h, &org, d(2027, 3, 31));
        let rows: Vec<(&str, [u64; 4])> = t
            .rows
            .iter()
            .map(|r| {
                (r.township.as_str(), [r.roll_unreturned, r.suspected_list_unreturned, r.census_unreturned, r.total])
            })
            .collect();
        assert_eq!(rows, [("城关", [0, 0, 1, 1]), ("白沙", [0, 0, 1, 1]), ("鸦岭", [2, 1, 1, 4])]);
        assert_eq!(
            [t.total.roll_unreturned, t.total.suspected_list_unreturned, t.total.census_unreturned, t.total.total],
            [2, 1, 3, 6]
        );
        // On 2027-04-30: c6 returned (roll 1), c7 opened (census +1).
        let later = township_table(&h, &org, d(2027, 4, 30));
        assert_eq!(later.rows[2].roll_unreturned, 1);
        assert_eq!(later.rows[2].census_unreturned, 2);
        // A case of a township the org does not know gets its own row, so the total adds up.
        let mut s2 = cases_county();
        s2.simple_case(d(2026, 12, 1), "外县", crate::model::CaseSource::Police);
        let t2 = township_table(&history(&s2.revs), &org, d(2027, 3, 31));
        assert_eq!(t2.rows.last().unwrap().township, "外县");
        assert_eq!(t2.total.total, 7);

        let v: serde_json::Value = serde_json::from_str(&render(&t, Format::Json)).unwrap();
        assert_eq!(v["rows"][2]["township"], "鸦岭");
        assert_eq!(v["rows"][2]["suspected_list_unreturned"], 1);
        assert_eq!(v["total"]["total"], 6);
    }

    #[test]
    fn ranking_by_hand() {
        let s = cases_county();
        let org = org();
        let h = history(&s.revs);
        let r = ranking(&h, &org, d(2027, 3, 31));
        assert_eq!(r.month, "2027-03");
        let rows: Vec<(u32, &str, u64, Option<f64>)> =
            r.rows.iter().map(|x| (x.rank, x.township.as_str(), x.unreturned, x.dropout_rate)).collect();
        assert_eq!(rows, [(1, "城关", 1, Some(0.0)), (2, "白沙", 1, Some(0.5)), (3, "鸦岭", 4, None)]);
        // Equal on both keys: equal rank, the next one skips.
        let table = township_table(&h, &org, d(2027, 3, 31));
        let mut dr = dropout_report(&h, &org, 2026, d(2027, 3, 31));
        dr.townships.iter_mut().find(|u| u.name == "白沙").unwrap().rate = Some(0.0);
        let ranks: Vec<u32> = ranking_from(&org, &table, &dr).rows.iter().map(|x| x.rank).collect();
        assert_eq!(ranks, [1, 1, 3]);
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["rows"][0]["rank"], 1);
        assert!(v["rows"][2]["dropout_rate"].is_null());
        assert_eq!(h.case_count(), 10);
    }

    #[test]
    fn csv_and_markdown() {
        let s = junior_county();
        let r = consolidation_report(
            &history(&s.revs),
            &org(),
            Some(&baseline_junior()),
            CohortStage::Junior,
            2026,
            d(2027, 3, 1),
        );
        let csv = render(&r, Format::Csv);
        // What it is and which day it covers, before the header: an archived file says so itself.
        assert!(
            csv.starts_with(
                "\u{feff}2026学年初中三年巩固率\r\n统计日期,2027-03-01\r\n级别,单位,毕业生数,入学人数,转入,转出,死亡,巩固率,备注\r\n"
            ),
            "{csv}"
        );
        // Machine-readable: skip two lines, and the rest is one header and a row per unit.
        let body = csv.trim_start_matches('\u{feff}').splitn(3, "\r\n").nth(2).unwrap();
        let mut rdr = ::csv::Reader::from_reader(body.as_bytes());
        assert_eq!(rdr.headers().unwrap().len(), 9);
        let rows: Vec<::csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1 + 3 + 3);
        assert_eq!(&rows[0][1], "全县");
        assert!(csv.contains("\r\n全县,全县,8,11,2,2,2,88.89%,\r\n"), "{csv}");
        assert!(csv.contains("城关,3,2,0,0,0,150.00%,巩固率超过100%"), "{csv}");
        let md = render(&r, Format::Md);
        assert!(md.starts_with("# 2026学年初中三年巩固率\n\n统计截至：2027-03-01"), "{md}");
        assert!(md.contains("| 全县 | 全县 | 8 | 11 | 2 | 2 | 2 | 88.89% | — |"), "{md}");

        let s = cases_county();
        let h = history(&s.revs);
        let t = township_table(&h, &org(), d(2027, 3, 31));
        let csv = render(&t, Format::Csv);
        assert!(csv.starts_with("\u{feff}各乡镇辍学学生未返校情况统计表\r\n统计日期,2027-03-31\r\n乡镇,"), "{csv}");
        assert!(csv.ends_with("全县合计,2,1,3,6\r\n"), "{csv}");
        let md = render(&t, Format::Md);
        assert!(md.starts_with("# 各乡镇辍学学生未返校情况统计表\n\n统计截至：2027-03-31"), "{md}");
        let csv = render(&ranking(&h, &org(), d(2027, 3, 31)), Format::Csv);
        assert!(csv.starts_with("\u{feff}2027年3月控辍保学工作排名\r\n统计日期,2027-03-31\r\n排名,乡镇,"), "{csv}");
        let md = render(&ranking(&h, &org(), d(2027, 3, 31)), Format::Md);
        assert!(md.starts_with("# 2027年3月控辍保学工作排名"), "{md}");
        assert!(md.contains("| 3 | 鸦岭 | 4 | — |"), "{md}");
        let dr = render(&dropout_report(&h, &org(), 2026, d(2027, 3, 31)), Format::Csv);
        assert!(dr.starts_with("\u{feff}2026学年辍学率统计\r\n统计日期,2027-03-31\r\n级别,单位,"), "{dr}");
        assert!(dr.contains("\r\n乡镇,白沙,2,1,50.00%,2,1,50.00%,0,0,\r\n"), "{dr}");
        let md = render(&dropout_report(&h, &org(), 2026, d(2027, 3, 31)), Format::Md);
        assert!(md.starts_with("# 2026学年辍学率统计\n\n统计截至：2027-03-31"), "{md}");
        assert_eq!("markdown".parse::<Format>().unwrap(), Format::Md);
        assert!("pdf".parse::<Format>().is_err());
    }

    /// The nightly budget (300,000 students, 3,000,000 revisions: < 5 s, < 1 GiB). Revisions are
    /// streamed in as a hub reads them from its log, never all held at once. Run with
    /// `cargo test --release -p baoxue-shared --lib scale -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn scale_300k_students_3m_revisions() {
        use crate::model::{AbsenceKind, CaseSource, Cause, Placement, Sex, TransferTarget};
        use crate::revision::{Assign, CaseInit, Child, StudentInit};
        use std::time::Instant;

        let kib = |key: &str| -> u64 {
            let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l[key.len()..].trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        let mut csv = String::from("乡镇,学校,类型\n");
        for t in 0..40 {
            for k in 0..6 {
                csv.push_str(&format!("乡镇{t},乡镇{t}小学{k},小学\n"));
            }
            csv.push_str(&format!("乡镇{t},乡镇{t}初中,初中\n"));
        }
        let org = Org::parse_csv(csv.as_bytes()).unwrap();
        let rss0 = kib("VmRSS:");
        let t0 = Instant::now();
        let mut h = History::new();
        let (mut n, mut next) = (0u64, 1u128);
        let mut rev = |record: Option<RevId>, kind: RecordKind, date: Date, change: Change, h: &mut History| {
            next += 1;
            let id = RevId(next.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let r = Revision {
                id,
                record: record.unwrap_or(id),
                kind,
                origin: format!("node{}", next % 40),
                seq: next as u64,
                hlc: Hlc { ms: next as u64, n: 0 },
                author: "bench".into(),
                date,
                change,
            };
            h.add(&r);
            n += 1;
            id
        };
        let id = crate::ids::make_id("410329", Date::ymd(2015, 1, 1).0, 1);
        let start = d(2025, 9, 1);
        for i in 0..300_000u32 {
            let t = i % 40;
            let grade = (i % 9) as u8 + 1;
            let school = if grade >= 7 { format!("乡镇{t}初中") } else { format!("乡镇{t}小学{}", i % 6) };
            let init = StudentInit {
                student_no: crate::ids::StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
                id_number: Some(id.clone()),
                name: "学生".into(),
                sex: Sex::Male,
                birth: Date::ymd(2015, 1, 1),
                grade,
                class: None,
                hukou_township: None,
                hukou_village: None,
                entry_year: Some(2025 - i32::from(grade) + 1),
                groups: vec![],
                guardian: None,
                phone: None,
                placement: Placement { status: Status::Enrolled, school: school.clone(), transfer: None },
            };
            let sid = rev(None, RecordKind::Student, start, Change::CreateStudent(Box::new(init)), &mut h);
            for k in 0..9 {
                let day = start.add_days(7 + i64::from(k) * 20 + i64::from(i % 5));
                rev(Some(sid), RecordKind::Student, day, Change::Absence { day, kind: AbsenceKind::Sick }, &mut h);
            }
            let place = |status, transfer| Value::Placement(Placement { status, school: school.clone(), transfer });
            if i % 50 == 0 {
                let day = start.add_days(40 + i64::from(i % 90));
                let child = Child {
                    name: "学生".into(),
                    id_number: None,
                    student_no: None,
                    sex: Sex::Male,
                    birth: Date::ymd(2015, 1, 1),
                    hukou_township: None,
                    hukou_village: None,
                    groups: vec![],
                };
                let init = CaseInit {
                    student: Some(sid),
                    child,
                    township: format!("乡镇{t}"),
                    school: None,
                    grade: None,
                    source: CaseSource::Roll,
                    opened: day,
                    clock_start: day,
                    cause: Cause::Unknown,
                    previous: None,
                };
                let cid = rev(None, RecordKind::Case, day, Change::CreateCase(Box::new(init)), &mut h);
                let conf = rev(
                    Some(cid),
                    RecordKind::Case,
                    day.add_days(7),
                    Change::Update(vec![Assign {
                        field: Field::CaseState,
                        value: Value::CaseState(CaseState::Confirmed),
                        supersedes: vec![cid],
                    }]),
                    &mut h,
                );
                let drop = rev(
                    Some(sid),
                    RecordKind::Student,
                    day.add_days(7),
                    Change::Update(vec![Assign {
                        field: Field::Placement,
                        value: place(Status::DroppedOut, None),
                        supersedes: vec![sid],
                    }]),
                    &mut h,
                );
                if i % 100 == 0 {
                    let back = day.add_days(20);
                    rev(
                        Some(cid),
                        RecordKind::Case,
                        back,
                        Change::Update(vec![Assign {
                            field: Field::CaseState,
                            value: Value::CaseState(CaseState::Closed {
                                outcome: Outcome::Returned,
                                evidence: None,
                                on: back,
                            }),
                            supersedes: vec![conf],
                        }]),
                        &mut h,
                    );
                    rev(
                        Some(sid),
                        RecordKind::Student,
                        back,
                        Change::Update(vec![Assign {
                            field: Field::Placement,
                            value: place(Status::Enrolled, None),
                            supersedes: vec![drop],
                        }]),
                        &mut h,
                    );
                }
            } else if i % 97 == 0 {
                let target = if i % 2 == 0 {
                    TransferTarget::OutOfCounty("外县".into())
                } else {
                    TransferTarget::School(format!("乡镇{}小学0", (t + 1) % 40))
                };
                rev(
                    Some(sid),
                    RecordKind::Student,
                    start.add_days(100),
                    Change::Update(vec![Assign {
                        field: Field::Placement,
                        value: place(Status::TransferredOut, Some(target)),
                        supersedes: vec![sid],
                    }]),
                    &mut h,
                );
            }
        }
        let t_add = t0.elapsed();
        h.build();
        let t_build = t0.elapsed();
        let all = compute_all(&h, &org, None, d(2026, 3, 31));
        let t_all = t0.elapsed();
        let hwm = kib("VmHWM:");
        eprintln!(
            "{n} revisions: add {:.2}s, build {:.2}s, reports {:.2}s, total {:.2}s; History ≈ {} MiB; RSS {} → peak {} MiB",
            t_add.as_secs_f64(),
            (t_build - t_add).as_secs_f64(),
            (t_all - t_build).as_secs_f64(),
            t_all.as_secs_f64(),
            h.heap_bytes() >> 20,
            rss0 >> 10,
            hwm >> 10
        );
        let t_enc = Instant::now();
        let bytes = crate::codec::encode(&h).unwrap();
        let mut back: History = crate::codec::decode(&bytes).unwrap();
        back.build();
        eprintln!("encoded {} MiB; encode + decode + build {:.2}s", bytes.len() >> 20, t_enc.elapsed().as_secs_f64());
        assert!(bytes.len() < 48 << 20, "the hub's snapshot goes through codec (64 MiB limit)");
        assert!(n >= 2_800_000, "{n}");
        assert_eq!(all.dropout.county.enrolled_at_start, 300_000);
        assert!(all.township_table.total.roll_unreturned > 0);
        assert!(h.heap_bytes() < 512 << 20);
        assert!(t_all.as_secs_f64() < 5.0, "{:?}", t_all);
    }

    #[test]
    fn compute_all_runs_every_report() {
        let s = junior_county();
        let all = compute_all(&history(&s.revs), &org(), Some(&baseline_junior()), d(2027, 3, 1));
        assert_eq!(all.consolidation.len(), 3);
        assert_eq!(
            all.consolidation[1],
            consolidation_report(
                &history(&s.revs),
                &org(),
                Some(&baseline_junior()),
                CohortStage::Junior,
                2026,
                d(2027, 3, 1)
            )
        );
        assert_eq!(all.ranking.rows.len(), 3);
        assert_eq!(all.dropout.school_year, 2026);
    }
}
