//! `baoxue-hub demo`: a synthetic county shaped like 伊川, run end to end.
//!
//! 1. A county of `--townships` townships (伊川's fifteen by default) and about `--students`
//!    pupils ([`synth`]): a center primary school, village primary schools and teaching points
//!    and a junior middle school in each township, a few nine-year schools, responsible people,
//!    valid 身份证号 of 410329 (伊川县), special groups at plausible rates.
//! 2. The hub (CA, certificates, policy, org) and one node per township from its bundle; the hub
//!    listens on loopback and every node syncs with it over QUIC.
//! 3. The 2025 school year, 2025-09-01 … 2026-07-10, day by day at each node: the roster; sick and
//!    personal leave; unexcused absences that open cases (their rate follows 伊川's 2019 table);
//!    calls, home visits, the school's persuasion, confirmation as 辍学 on day 7, notices;
//!    returns (复学), some late, some never; transfers between townships (转出 at one node,
//!    accepted at the other after a sync), out of the county, deaths; concurrent edits of one
//!    field at a node and at the hub (→ conflicts); two children on two rolls (重复学籍). At the
//!    hub: the baseline of earlier cohorts, the Ministry's suspected-out-of-school list (with
//!    one mistyped ID) and the police's July census, whose 失学 cases sync to the 户籍 township's
//!    node, which acts on them. A sync round and the nightly run at every month's end (one
//!    township, 白元 or in a smaller county the last one, misses June's report).
//! 4. Prints, in Chinese: the consolidation report, the township table (001 附件1), the monthly
//!    ranking, the ten most urgent alerts, and the time each step took.

pub mod synth;

mod infra;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use baoxue_node::cmd::case::new_roll_case;
use baoxue_node::cmd::student::{self as node_student, ImportArgs, Stamp, TransferTo};
use baoxue_node::ledger::{assign, placement_change, Item};
use baoxue_node::Ledger;
use baoxue_shared::alerts::{Alert, SyncDays};
use baoxue_shared::census::CensusCounts;
use baoxue_shared::dates::Date;
use baoxue_shared::indicators::{Baseline, BaselineRow, Indicators};
use baoxue_shared::model::{
    Action, ActionKind, CaseSource, CaseState, Cause, Notice, Outcome, Placement, Sex, Stage, Status,
};
use baoxue_shared::policy::Policy;
use baoxue_shared::report::{render, Format};
use baoxue_shared::revision::StudentInit;
use baoxue_shared::roster::{StudentInput, ROSTER_COLUMNS};
use baoxue_shared::{Change, Field, Record, RecordId, RecordKind, Value};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::county::{County, NodeSeen};
use crate::nightly::{self, NightlyRun};

/// 伊川县's code and name.
pub const COUNTY_CODE: &str = "410329";
pub const COUNTY_NAME: &str = "伊川县（模拟）";

/// 伊川's 2019 table (001 附件1): per township, unreturned dropouts from the roll and from the
/// Ministry's list. The demo's dropout rates and the Ministry list follow these proportions.
const YICHUAN_2019: [(u32, u32); 15] = [
    (3, 2),
    (16, 2),
    (75, 6),
    (63, 2),
    (30, 0),
    (71, 2),
    (43, 0),
    (20, 0),
    (100, 0),
    (19, 3),
    (47, 2),
    (9, 1),
    (49, 1),
    (60, 0),
    (92, 0),
];

/// The township that misses June's report, when the county has it (伊川's fifteen).
const LATE_TOWNSHIP: &str = "白元";

/// The index of the township that misses June's report: 白元, or in a smaller county the last
/// township (so that a demo of any size shows the missed-report alert). A county of one
/// township has none: its only node must report for the demo to show anything.
fn late_township(names: &[String]) -> Option<usize> {
    names.iter().position(|t| t == LATE_TOWNSHIP).or_else(|| (names.len() >= 2).then(|| names.len() - 1))
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub townships: usize,
    pub students: usize,
    /// Keep the data directories here (default: a temporary directory, removed afterwards).
    pub keep: Option<PathBuf>,
    pub seed: u64,
    /// A preset or policy file; default: 沙坡头's ladder and accountability with 伊川's monthly
    /// reporting (see [`demo_policy`]).
    pub policy: Option<String>,
    /// Progress lines on stderr.
    pub progress: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { townships: 15, students: 60_000, keep: None, seed: 2019, policy: None, progress: true }
    }
}

/// What the demo did, for the printout and for tests.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub dir: PathBuf,
    pub kept: bool,
    pub as_of: Date,
    pub townships: usize,
    pub schools: usize,
    pub students: usize,
    pub hub_revisions: u64,
    pub sync_rounds: usize,
    pub indicators: Indicators,
    pub alerts: Vec<Alert>,
    pub ministry: CensusCounts,
    pub police: CensusCounts,
    /// The township whose node misses June's report (and the final sync).
    pub late_township: Option<String>,
    pub nightly: Vec<NightlyRun>,
    /// Every report of the final day in every format: (name, text).
    pub rendered: Vec<(String, String)>,
    /// (step, seconds)
    pub timings: Vec<(String, f64)>,
    pub total_seconds: f64,
    /// The Chinese printout.
    pub text: String,
}

/// Progress on stderr: step and elapsed time.
struct Progress {
    t0: Instant,
    last: Instant,
    on: bool,
    timings: Vec<(String, f64)>,
}

impl Progress {
    fn new(on: bool) -> Progress {
        let now = Instant::now();
        Progress { t0: now, last: now, on, timings: Vec::new() }
    }
    fn say(&self, msg: &str) {
        if self.on {
            eprintln!("[演示 {:>6.1}s] {msg}", self.t0.elapsed().as_secs_f64());
        }
    }
    /// Ends a timed step.
    fn done(&mut self, step: &str) {
        let now = Instant::now();
        let s = (now - self.last).as_secs_f64();
        self.timings.push((step.to_string(), s));
        self.last = now;
        self.say(&format!("{step}：完成（{s:.2} 秒）"));
    }
}

/// The demo's default policy: 沙坡头's day-by-day ladder and accountability rules (004, the
/// sharpest of the five documents) with 伊川's reporting rule (monthly, the last day).
pub fn demo_policy() -> Result<Policy> {
    let mut p = Policy::preset("shapotou")?;
    let y = Policy::preset("yichuan")?;
    p.name = "demo".into();
    p.title = format!("演示：{}（个案与问责）＋ {}（月报）", p.title, y.title);
    p.source = format!("{}；{}", p.source, y.source);
    p.reporting = y.reporting;
    Ok(p)
}

// --- the county's people and events -------------------------------------------------------

#[derive(Debug, Clone)]
enum Task {
    Act {
        case: RecordId,
        kind: ActionKind,
        notice: Option<Notice>,
        by: String,
        text: Option<String>,
    },
    Confirm {
        case: RecordId,
    },
    Return {
        case: RecordId,
        evidence: String,
    },
    /// Back to the pool of pupils who may have a new episode.
    Release {
        student: RecordId,
    },
}

#[derive(Debug, Clone, Default)]
struct TownStats {
    absences: usize,
    cases: usize,
    commits: usize,
    actions: usize,
    returned: usize,
    /// 失学 children (found by a census) enrolled.
    enrolled: usize,
}

/// One township's node and what its school year holds.
struct Town {
    name: String,
    ledger: Ledger,
    rng: StdRng,
    /// Pupils who may be absent or start an episode.
    pool: Vec<RecordId>,
    busy: HashSet<RecordId>,
    agenda: BTreeMap<Date, Vec<Task>>,
    /// Probability of an unexcused episode per pupil and school day (junior pupils ×3).
    episode_p: f64,
    teachers: Vec<String>,
    stats: TownStats,
    /// The days the town's node synced (for the reporting rules).
    sync_days: SyncDays,
}

const YEAR_END: (i32, u32, u32) = (2026, 7, 10);

fn year_end() -> Date {
    Date::ymd(YEAR_END.0, YEAR_END.1, YEAR_END.2)
}

fn cause(rng: &mut StdRng, junior: bool) -> Cause {
    let r: f64 = rng.gen();
    match r {
        x if x < 0.34 => Cause::LearningDifficulty,
        x if x < 0.48 => Cause::Work,
        x if x < 0.58 => Cause::Poverty,
        x if x < 0.67 => Cause::Illness,
        x if x < 0.77 => Cause::NoGuardian,
        x if x < 0.87 => Cause::Uselessness,
        x if x < 0.90 && junior => Cause::EarlyMarriage,
        x if x < 0.92 => Cause::Disability,
        _ => Cause::Other,
    }
}

impl Town {
    fn stamp(&self, date: Date) -> Stamp {
        Stamp { author: format!("{}中心学校", self.name), date }
    }

    fn schedule(&mut self, d: Date, t: Task) {
        if d <= year_end() {
            self.agenda.entry(d).or_default().push(t);
        }
    }

    fn teacher(&mut self) -> String {
        self.teachers.choose(&mut self.rng).cloned().unwrap_or_else(|| "班主任".into())
    }

    /// A new episode for `s` on `d`: the absence and the case in one commit (the node's own
    /// rule), the call the same day, and what follows.
    fn episode(&mut self, s: &Record, d: Date, items: &mut Vec<Item>) -> Result<()> {
        let junior = s.grade().is_some_and(|g| Stage::of_grade(g) == Stage::Junior);
        let c = cause(&mut self.rng, junior);
        let (case, item) = new_roll_case(&self.ledger, s, d, d, c).map_err(|e| anyhow!("{e}"))?;
        items.push((
            s.id,
            RecordKind::Student,
            Change::Absence { day: d, kind: baoxue_shared::model::AbsenceKind::Unexcused },
        ));
        items.push(item);
        self.busy.insert(s.id);
        self.stats.cases += 1;
        let school = s.school().unwrap_or("").to_string();
        let neglected = self.rng.gen_bool(0.03);
        if !neglected && self.rng.gen_bool(0.95) {
            let by = self.teacher();
            items.push((
                case,
                RecordKind::Case,
                Change::Act(Action {
                    date: d,
                    kind: ActionKind::Call,
                    by,
                    notice: None,
                    text: Some("电话联系监护人，了解缺勤原因".into()),
                }),
            ));
            self.stats.actions += 1;
        }
        if !neglected && self.rng.gen_bool(0.85) {
            let by = self.teacher();
            let when = d.add_days(self.rng.gen_range(1..=3));
            self.schedule(
                when,
                Task::Act {
                    case,
                    kind: ActionKind::Visit,
                    notice: None,
                    by,
                    text: Some("家访，填写家访记录表".into()),
                },
            );
        }
        if !neglected && self.rng.gen_bool(0.8) {
            let when = d.add_days(self.rng.gen_range(3..=4));
            self.schedule(
                when,
                Task::Act {
                    case,
                    kind: ActionKind::Visit,
                    notice: None,
                    by: format!("{school}校长"),
                    text: Some("学校组织力量上门劝返".into()),
                },
            );
        }
        if self.rng.gen_bool(0.4) {
            let back = d.add_days(self.rng.gen_range(1..=6));
            self.schedule(back, Task::Return { case, evidence: "已返校上课".into() });
            self.schedule(back.add_days(30), Task::Release { student: s.id });
            return Ok(());
        }
        let confirm = d.add_days(if self.rng.gen_bool(0.85) { 7 } else { self.rng.gen_range(9..=12) });
        self.schedule(confirm, Task::Confirm { case });
        if !neglected && self.rng.gen_bool(0.8) {
            let when = d.add_days(self.rng.gen_range(8..=10));
            self.schedule(
                when,
                Task::Act {
                    case,
                    kind: ActionKind::Notice,
                    notice: Some(Notice::PersuadeReturn),
                    by: school.clone(),
                    text: None,
                },
            );
        }
        if !neglected && self.rng.gen_bool(0.65) {
            let when = d.add_days(self.rng.gen_range(16..=18));
            self.schedule(
                when,
                Task::Act {
                    case,
                    kind: ActionKind::Notice,
                    notice: Some(Notice::EnrolByDeadline),
                    by: format!("县教育局、{}人民政府", self.name),
                    text: None,
                },
            );
        }
        if self.rng.gen_bool(0.5) {
            let back = d.add_days(self.rng.gen_range(13..=75));
            self.schedule(back, Task::Return { case, evidence: "经劝返已复学".into() });
            self.schedule(back.add_days(30), Task::Release { student: s.id });
        }
        Ok(())
    }

    /// One day at the node: due tasks, leave and new episodes, in one commit.
    fn day(&mut self, d: Date, school_day: bool) -> Result<()> {
        let mut items: Vec<Item> = Vec::new();
        let mut updated: HashSet<RecordId> = HashSet::new();
        for task in self.agenda.remove(&d).unwrap_or_default() {
            match task {
                Task::Act { case, kind, notice, by, text } => {
                    items.push((case, RecordKind::Case, Change::Act(Action { date: d, kind, by, notice, text })));
                    self.stats.actions += 1;
                }
                Task::Confirm { case } => {
                    let Some(c) = self.ledger.store.record(case)? else {
                        continue;
                    };
                    if c.case_state() != Some(&CaseState::Suspected) || !updated.insert(case) {
                        continue;
                    }
                    items.push((
                        case,
                        RecordKind::Case,
                        Change::Update(vec![
                            assign(&c, Field::CaseState, Value::CaseState(CaseState::Confirmed)).map_err(node_err)?
                        ]),
                    ));
                    if let Some(s) = self.student_of(&c)? {
                        if let Some(p) = s.placement().filter(|p| p.status.can_become(Status::DroppedOut)) {
                            if updated.insert(s.id) {
                                let p =
                                    Placement { status: Status::DroppedOut, school: p.school.clone(), transfer: None };
                                items.push((
                                    s.id,
                                    RecordKind::Student,
                                    placement_change(&s, p, None).map_err(node_err)?,
                                ));
                            }
                        }
                    }
                }
                Task::Return { case, evidence } => {
                    let Some(c) = self.ledger.store.record(case)? else {
                        continue;
                    };
                    if !c.case_state().is_some_and(CaseState::is_open) || !updated.insert(case) {
                        continue;
                    }
                    let st = CaseState::Closed { outcome: Outcome::Returned, evidence: Some(evidence), on: d };
                    items.push((
                        case,
                        RecordKind::Case,
                        Change::Update(vec![assign(&c, Field::CaseState, Value::CaseState(st)).map_err(node_err)?]),
                    ));
                    if c.case.as_ref().is_some_and(|i| i.student.is_some()) {
                        self.stats.returned += 1;
                    } else {
                        self.stats.enrolled += 1;
                    }
                    if let Some(s) = self.student_of(&c)? {
                        if let Some(p) = s.placement().filter(|p| p.status == Status::DroppedOut) {
                            if updated.insert(s.id) {
                                let p =
                                    Placement { status: Status::Enrolled, school: p.school.clone(), transfer: None };
                                items.push((
                                    s.id,
                                    RecordKind::Student,
                                    placement_change(&s, p, None).map_err(node_err)?,
                                ));
                            }
                        }
                    }
                }
                Task::Release { student } => {
                    self.busy.remove(&student);
                }
            }
        }
        if school_day && !self.pool.is_empty() {
            // Sick and personal leave: about 0.06% of pupils a day.
            let n = (self.pool.len() as f64 * 0.0006).round() as usize + usize::from(self.rng.gen_bool(0.5));
            for _ in 0..n {
                let id = *self.pool.choose(&mut self.rng).unwrap();
                if self.busy.contains(&id) || updated.contains(&id) {
                    continue;
                }
                let kind = if self.rng.gen_bool(0.7) {
                    baoxue_shared::model::AbsenceKind::Sick
                } else {
                    baoxue_shared::model::AbsenceKind::Personal
                };
                items.push((id, RecordKind::Student, Change::Absence { day: d, kind }));
                updated.insert(id);
                self.stats.absences += 1;
            }
            // New unexcused episodes.
            let expected = self.pool.len() as f64 * self.episode_p;
            let n = expected.floor() as usize + usize::from(self.rng.gen_bool(expected.fract()));
            for _ in 0..n {
                let id = *self.pool.choose(&mut self.rng).unwrap();
                if self.busy.contains(&id) || updated.contains(&id) {
                    continue;
                }
                let Some(s) = self.ledger.store.record(id)? else {
                    continue;
                };
                let junior = s.grade().is_some_and(|g| g >= 7);
                // Junior middle is the key stage (000 §三(二)): three times the rate.
                if !junior && !self.rng.gen_bool(0.34) {
                    continue;
                }
                if s.status() != Some(Status::Enrolled) || !self.ledger.is_ours(&s) {
                    continue;
                }
                updated.insert(id);
                self.episode(&s, d, &mut items)?;
            }
        }
        if !items.is_empty() {
            let stamp = self.stamp(d);
            self.ledger.commit(&stamp.author, d, items).map_err(|e| anyhow!("{e}"))?;
            self.stats.commits += 1;
        }
        Ok(())
    }

    fn student_of(&self, case: &Record) -> Result<Option<Record>> {
        match case.case.as_ref().and_then(|c| c.student) {
            Some(id) => Ok(self.ledger.store.record(id)?.filter(|r| r.is_complete() && self.ledger.is_ours(r))),
            None => Ok(None),
        }
    }

    /// Simulates the days `from ..= to` at this node.
    fn run(&mut self, from: Date, to: Date, policy: &Policy) -> Result<()> {
        let cal = policy.calendar();
        let mut d = from;
        while d <= to {
            self.day(d, cal.is_school_day(d))?;
            d = d.add_days(1);
        }
        Ok(())
    }

    /// A pupil of this township not in any episode, optionally of a primary grade.
    fn idle_pupil(&mut self, primary: bool) -> Result<Option<Record>> {
        for _ in 0..200 {
            let id = *self.pool.choose(&mut self.rng).ok_or_else(|| anyhow!("{} 没有学生", self.name))?;
            if self.busy.contains(&id) {
                continue;
            }
            let Some(r) = self.ledger.store.record(id)? else {
                continue;
            };
            if r.status() == Some(Status::Enrolled)
                && self.ledger.is_ours(&r)
                && (!primary || r.grade().is_some_and(|g| g <= 5))
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

fn no_of(r: &Record) -> String {
    r.student_no().map(|n| n.as_str().to_string()).unwrap_or_default()
}

fn node_err(e: baoxue_node::NodeError) -> anyhow::Error {
    anyhow!("{e}")
}

// --- files the demo hands to the system ---------------------------------------------------

fn roster_csv(rows: &[StudentInit]) -> String {
    let mut s = ROSTER_COLUMNS.join(",");
    s.push('\n');
    for r in rows {
        let o = |x: &Option<String>| x.clone().unwrap_or_default();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.student_no.as_str(),
            r.id_number.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default(),
            r.name,
            r.sex,
            r.birth,
            r.placement.school,
            r.grade,
            o(&r.class),
            o(&r.hukou_township),
            o(&r.hukou_village),
            r.entry_year.map(|y| y.to_string()).unwrap_or_default(),
            r.groups.iter().map(|g| g.label()).collect::<Vec<_>>().join("、"),
            o(&r.guardian),
            o(&r.phone),
        );
    }
    s
}

/// 伊川's 2019 row of a township (a township past the fifteen: the row it repeats).
fn table_row(township: &str) -> (u32, u32) {
    let base = township.trim_end_matches(|c: char| c.is_ascii_digit());
    synth::YICHUAN_TOWNSHIPS.iter().position(|t| *t == base).map(|i| YICHUAN_2019[i]).unwrap_or((47, 1))
}

/// The cohort history before the system (up to 2025-09-01): per township and cohort (grade-1
/// entry 2017–2024), an intake such that the cohort's present size is 94–99.5% of its
/// denominator (lower where 伊川's 2019 table had more dropouts), and transfers in (0.2% a
/// year), out (0.4%) and deaths (0.01%) for the years elapsed, on the grade-1 rows for the
/// primary years and on the grade-7 rows for the junior years; split over the stage's schools.
fn baseline_rows(
    rng: &mut StdRng,
    county: &synth::County,
    rolls: &BTreeMap<String, Vec<StudentInit>>,
) -> Vec<BaselineRow> {
    const TIN: f64 = 0.002;
    const TOUT: f64 = 0.004;
    const DEATH: f64 = 0.0001;
    let mut rows = Vec::new();
    for (t, plan) in &county.plan {
        let mut cohort: BTreeMap<i32, u32> = BTreeMap::new();
        for s in &rolls[t] {
            if let Some(y) = s.entry_year {
                *cohort.entry(y).or_default() += 1;
            }
        }
        let weight = f64::from(table_row(t).0) / 100.0;
        let rate = 0.995 - 0.05 * weight - rng.gen_range(0.0..0.01);
        let mut split =
            |schools: &[(String, u32)], entry_year: i32, grade: u8, intake: f64, years: i32, rng: &mut StdRng| {
                let total: u32 = schools.iter().map(|s| s.1).sum();
                let y = f64::from(years);
                for (school, w) in schools {
                    let f = f64::from(*w) / f64::from(total);
                    let n = |x: f64, rng: &mut StdRng| (x + rng.gen_range(-0.5..0.5)).round().max(0.0) as u32;
                    rows.push(BaselineRow {
                        school: school.clone(),
                        entry_year,
                        entry_grade: grade,
                        intake: (intake * f).round() as u32,
                        transfers_in: n(intake * f * TIN * y, rng),
                        transfers_out: n(intake * f * TOUT * y, rng),
                        deaths: n(intake * f * DEATH * y, rng),
                    });
                }
            };
        let drift = TIN - TOUT - DEATH;
        for (&c, &n) in &cohort {
            if c > 2024 {
                continue;
            }
            let years = 2025 - c;
            let (p_years, j_years) = (years.min(6), (years - 6).max(0));
            let intake = f64::from(n) / (rate * (1.0 + drift * f64::from(years)));
            split(&plan.lower, c, 1, intake, p_years, rng);
            if j_years > 0 {
                let j_rate = 1.0 - (1.0 - rate) / 3.0;
                let j_intake = f64::from(n) / (j_rate * (1.0 + drift * f64::from(j_years)));
                split(&plan.junior, c + 6, 7, j_intake, j_years, rng);
            }
        }
    }
    rows
}

fn baseline_csv(rows: &[BaselineRow]) -> String {
    let mut s = String::from("学校,入学学年,入学年级,入学人数,转入,转出,死亡\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.school, r.entry_year, r.entry_grade, r.intake, r.transfers_in, r.transfers_out, r.deaths
        );
    }
    s
}

/// A census list: `matched` children from the rolls (one with a mistyped ID when
/// `mistype`), and unmatched school-age children per township, plus one too old.
fn census_csv(
    rng: &mut StdRng,
    mint: &mut synth::IdMint,
    county: &synth::County,
    on_rolls: &[StudentInit],
    unmatched: &[(String, u32)],
    mistype: bool,
) -> String {
    let mut s = String::from("身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n");
    for (k, r) in on_rolls.iter().enumerate() {
        let mut id = r.id_number.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default();
        if mistype && k == 0 {
            // A wrong check character: the list's clerk mistyped the last digit.
            let last = id.pop().unwrap_or('0');
            let wrong = if last == '1' { '2' } else { '1' };
            id.push(wrong);
        }
        let _ = writeln!(
            s,
            "{id},{},{},{},{},{},",
            r.name,
            r.sex,
            r.birth,
            r.hukou_township.clone().unwrap_or_default(),
            r.hukou_village.clone().unwrap_or_default()
        );
    }
    for (t, n) in unmatched {
        for _ in 0..*n {
            let sex = if rng.gen_bool(0.5) { Sex::Male } else { Sex::Female };
            let grade = rng.gen_range(2..=9);
            let birth = synth::birth_for(rng, grade, 2025);
            let id = mint.mint(rng, synth::AREA, birth.0, sex);
            let village = county.villages.get(t).and_then(|v| v.choose(rng).cloned()).unwrap_or_default();
            let groups = if rng.gen_bool(0.3) { "留守儿童" } else { "" };
            let _ =
                writeln!(s, "{},{},{},{},{t},{village},{groups}", id.as_str(), synth::child_name(rng, sex), sex, birth);
        }
    }
    // One young adult the list should not have carried (17): matched to nothing, no case.
    if let Some(t) = unmatched.first().map(|u| u.0.clone()) {
        let birth = Date::ymd(2008, 3, 3);
        let id = mint.mint(rng, synth::AREA, birth.0, Sex::Male);
        let _ = writeln!(s, "{},{},男,{birth},{t},,", id.as_str(), synth::child_name(rng, Sex::Male));
    }
    s
}

// --- the run -------------------------------------------------------------------------------

fn month_ends() -> Vec<Date> {
    let mut v = Vec::new();
    let mut y = 2025;
    let mut m = 9;
    loop {
        let next = if m == 12 { Date::ymd(y + 1, 1, 1) } else { Date::ymd(y, m + 1, 1) };
        let end = next.add_days(-1);
        if end >= year_end() {
            v.push(year_end());
            break;
        }
        v.push(end);
        y = next.year();
        m = next.month();
    }
    v
}

/// Runs the demo. The printout is in the outcome's `text`.
pub fn run(opts: &DemoOptions) -> Result<DemoOutcome> {
    let mut pr = Progress::new(opts.progress);
    let (dir, kept) = match &opts.keep {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d).map(|mut r| r.next().is_some()).unwrap_or(false) {
                anyhow::bail!("--keep 目录 {} 不是空目录", d.display());
            }
            (d.clone(), true)
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            (std::env::temp_dir().join(format!("baoxue-demo-{}-{nanos}", std::process::id())), false)
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    let result = run_in(opts, &dir, &mut pr);
    if !kept {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut out = result?;
    out.kept = kept;
    Ok(out)
}

fn run_in(opts: &DemoOptions, dir: &Path, pr: &mut Progress) -> Result<DemoOutcome> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let n_towns = opts.townships.clamp(1, 60);
    pr.say(&format!("生成模拟县：{n_towns} 个乡镇，约 {} 名学生", opts.students));
    let county = synth::county(n_towns, &mut rng);
    let mut rolls = synth::rolls(&mut rng, &county, opts.students, 2025);
    let names: Vec<String> = county.plan.keys().cloned().collect();
    // 重复学籍: two children on a second township's roll too (a migrant child registered both
    // where the family works and at home).
    if names.len() >= 2 {
        for k in 0..2 {
            let (a, b) = (&names[k], &names[(k + 1) % names.len()]);
            let mut s = rolls[a]
                .iter()
                .find(|s| s.grade <= 6 && !s.groups.is_empty())
                .cloned()
                .unwrap_or_else(|| rolls[a][0].clone());
            s.placement.school = format!("{b}中心小学");
            if s.grade > 6 {
                s.grade = 6;
            }
            rolls.get_mut(b).unwrap().push(s);
        }
    }
    let students: usize = rolls.values().map(Vec::len).sum();
    let org = county.org.clone();
    let policy = match &opts.policy {
        Some(p) => Policy::load(p)?,
        None => demo_policy()?,
    };
    let policy_path = dir.join("policy.toml");
    std::fs::write(&policy_path, policy.to_toml()?)?;
    let org_path = dir.join("org.csv");
    std::fs::write(&org_path, org.to_csv())?;
    pr.done("生成模拟数据");

    // The hub and the nodes.
    let mut infra = infra::Infra::init_hub(&dir.join("hub"), &org_path, &policy_path, COUNTY_CODE, COUNTY_NAME)?;
    let mut towns: Vec<Town> = Vec::new();
    for (i, t) in names.iter().enumerate() {
        let ledger = infra.add_node(t, &dir.join("nodes").join(t))?;
        let w = f64::from(table_row(t).0) / 47.9;
        // ≈ 1.3% of pupils a year have an unexcused episode, by 伊川's 2019 proportions.
        let episode_p = 0.013 * w.powf(0.8) / 200.0 * 1.9;
        let mut trng = StdRng::seed_from_u64(opts.seed ^ ((i as u64 + 1) * 0x9e37_79b9));
        let teachers = (0..12).map(|_| synth::person(&mut trng)).collect();
        towns.push(Town {
            name: t.clone(),
            ledger,
            rng: trng,
            pool: Vec::new(),
            busy: HashSet::new(),
            agenda: BTreeMap::new(),
            episode_p,
            teachers,
            stats: TownStats::default(),
            sync_days: SyncDays::default(),
        });
    }
    infra.start()?;
    pr.done(&format!(
        "县级平台与 {} 个乡镇节点初始化（县 CA、证书、政策、组织机构、配置包），平台监听 {}",
        towns.len(),
        infra.addr
    ));

    let start = Date::ymd(2025, 9, 1);
    let county_view = |infra: &infra::Infra, towns: &[Town]| {
        let nodes = towns
            .iter()
            .map(|t| NodeSeen {
                name: t.ledger.config.origin.clone(),
                township: t.name.clone(),
                sync_days: t.sync_days.clone(),
            })
            .collect();
        County::new(infra.hub.clone(), org.clone(), policy.clone(), &infra.dir.root, nodes)
    };

    // Baseline of the earlier cohorts, at the hub.
    let rows = baseline_rows(&mut rng, &county, &rolls);
    let baseline_path = dir.join("baseline.csv");
    std::fs::write(&baseline_path, baseline_csv(&rows))?;
    let b: Baseline = county_view(&infra, &towns).import_baseline(&std::fs::read(&baseline_path)?, start)?;
    pr.say(&format!("基线导入：{} 行（各校 2017–2024 级入学、转入、转出、死亡）", b.len()));

    // Rosters, one commit per township, in parallel.
    let roster_dir = dir.join("rosters");
    std::fs::create_dir_all(&roster_dir)?;
    std::thread::scope(|s| -> Result<()> {
        let mut handles = Vec::new();
        for town in towns.iter_mut() {
            let rows = &rolls[&town.name];
            let path = roster_dir.join(format!("{}.csv", town.name));
            handles.push(s.spawn(move || -> Result<()> {
                std::fs::write(&path, roster_csv(rows))?;
                node_student::import(
                    &town.ledger,
                    &ImportArgs { file: &path, dry_run: false, skip_bad: false },
                    &town.stamp(start),
                )
                .map_err(node_err)?;
                // Statuses the roster file has no column for (送教上门, 休学): one commit.
                let mut items = Vec::new();
                let status: std::collections::HashMap<&str, Status> =
                    rows.iter().map(|x| (x.student_no.as_str(), x.placement.status)).collect();
                let mut recs = town.ledger.all(RecordKind::Student).map_err(node_err)?;
                // In roll order, so that a seed always gives the same school year.
                recs.sort_by(|a, b| a.student_no().cmp(&b.student_no()));
                for r in recs {
                    let want = r.student_no().and_then(|n| status.get(n.as_str()).copied());
                    match want {
                        Some(st) if st != Status::Enrolled => {
                            let p =
                                Placement { status: st, school: r.school().unwrap_or("").to_string(), transfer: None };
                            let why = if st == Status::HomeDelivered {
                                "重度残疾，送教上门（一人一案）"
                            } else {
                                "因病休学"
                            };
                            items.push((
                                r.id,
                                RecordKind::Student,
                                placement_change(&r, p, Some(why.into())).map_err(node_err)?,
                            ));
                        }
                        _ => town.pool.push(r.id),
                    }
                }
                if !items.is_empty() {
                    town.ledger.commit(&town.stamp(start).author, start, items).map_err(node_err)?;
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join().map_err(|_| anyhow!("导入线程异常退出"))??;
        }
        Ok(())
    })?;
    pr.done(&format!("各乡镇导入学籍：{students} 名学生"));

    let mut rounds = 0;
    let mut sync_all =
        |infra: &mut infra::Infra, towns: &mut [Town], on: Date, skip: Option<usize>, pr: &Progress| -> Result<()> {
            let who: Vec<&Ledger> =
                towns.iter().enumerate().filter(|(i, _)| Some(*i) != skip).map(|(_, t)| &t.ledger).collect();
            let reports = infra.sync(&who)?;
            let sent: u64 = reports.iter().map(|r| r.sent).sum();
            let received: u64 = reports.iter().map(|r| r.received).sum();
            let rejected: usize = reports.iter().map(|r| r.rejected.len()).sum();
            let bytes: u64 = reports.iter().map(|r| r.bytes_sent + r.bytes_received).sum();
            for (i, t) in towns.iter_mut().enumerate() {
                if Some(i) != skip {
                    t.sync_days.insert(on);
                }
            }
            rounds += 1;
            let mut line = format!(
                "{on} 同步（QUIC）：{} 个节点上传 {sent} 条、接收 {received} 条，{:.1} MiB",
                reports.len(),
                bytes as f64 / 1048576.0
            );
            if rejected > 0 {
                line.push_str(&format!("，被拒绝 {rejected} 条"));
            }
            if let Some(i) = skip {
                line.push_str(&format!("；{}未按时报送", towns[i].name));
            }
            pr.say(&line);
            Ok(())
        };
    sync_all(&mut infra, &mut towns, start, None, pr)?;
    pr.done("首次同步（全部学籍上传县级平台）");

    // The school year, month by month.
    let mut mint = synth::IdMint::default();
    let mut nightly_runs = Vec::new();
    let mut ministry = None;
    let mut police = None;
    let mut pending_accepts: Vec<(usize, String)> = Vec::new();
    let mut transfers = 0;
    let ends = month_ends();
    let mut from = start;
    for (m, &end) in ends.iter().enumerate() {
        // Node-side special events of this month, before the days run.
        let month = (end.year(), end.month());
        // Accept the transfers that reached their new township at the last sync.
        // (A transfer made after the new township's node synced reaches it a month later.)
        for (ti, no) in std::mem::take(&mut pending_accepts) {
            let t = &towns[ti];
            if t.ledger.student(&no).is_err() {
                pending_accepts.push((ti, no));
                continue;
            }
            node_student::accept(&t.ledger, &no, &t.stamp(from))
                .map_err(node_err)
                .with_context(|| format!("{} 确认转入", t.name))?;
        }
        // The days, every township in parallel (nodes are independent between syncs).
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = towns
                .iter_mut()
                .map(|t| {
                    let p = &policy;
                    s.spawn(move || t.run(from, end, p))
                })
                .collect();
            for h in handles {
                h.join().map_err(|_| anyhow!("节点线程异常退出"))??;
            }
            Ok(())
        })?;
        let nt = towns.len();
        // Transfers between townships (October, March), out of the county (November).
        if (month == (2025, 10) || month == (2026, 3)) && nt >= 2 {
            for k in 0..3 {
                let (a, b) = (k % nt, (k + 4) % nt);
                if a == b {
                    continue;
                }
                let day = end.add_days(-10);
                let Some(s) = towns[a].idle_pupil(true)? else {
                    continue;
                };
                let to = format!("{}中心小学", towns[b].name);
                node_student::transfer(&towns[a].ledger, &no_of(&s), TransferTo::School(&to), &towns[a].stamp(day))
                    .map_err(node_err)?;
                towns[a].busy.insert(s.id);
                pending_accepts.push((b, no_of(&s)));
                transfers += 1;
            }
        }
        if month == (2025, 11) {
            for t in towns.iter_mut().take(2) {
                let Some(s) = t.idle_pupil(false)? else {
                    continue;
                };
                node_student::transfer(
                    &t.ledger,
                    &no_of(&s),
                    TransferTo::OutOfCounty("广东省东莞市"),
                    &t.stamp(end.add_days(-12)),
                )
                .map_err(node_err)?;
                t.busy.insert(s.id);
                transfers += 1;
            }
            // Concurrent edits: the same guardian phone changed at the node and at the hub.
            for t in towns.iter_mut().take(3) {
                let Some(s) = t.idle_pupil(false)? else {
                    continue;
                };
                let args = node_student::EditArgs { phone: Some("13903790000"), ..Default::default() };
                node_student::edit(&t.ledger, &no_of(&s), &args, &t.stamp(end.add_days(-10))).map_err(node_err)?;
                let at_hub = infra.hub.record(s.id)?.context("hub copy of the student")?;
                let change =
                    Change::Update(vec![
                        assign(&at_hub, Field::Phone, Value::OptText(Some("13837900000".into()))).map_err(node_err)?
                    ]);
                infra.hub.commit(
                    baoxue_shared::sync::HUB_ORIGIN,
                    "县教育局基教股",
                    end.add_days(-9),
                    vec![(s.id, RecordKind::Student, change)],
                )?;
            }
        }
        if month == (2025, 12) || month == (2026, 4) {
            let k = if month.1 == 12 { 2 % nt } else { 5 % nt };
            if let Some(s) = towns[k].idle_pupil(false)? {
                node_student::set_status(
                    &towns[k].ledger,
                    &no_of(&s),
                    "死亡",
                    Some("因病去世"),
                    &towns[k].stamp(end.add_days(-15)),
                )
                .map_err(node_err)?;
                towns[k].busy.insert(s.id);
            }
        }
        // Hub-side: the Ministry's suspected list in March, the police census in July.
        if month == (2026, 3) {
            let view = county_view(&infra, &towns);
            let all: Vec<&StudentInit> = rolls.values().flatten().filter(|s| s.hukou_township.is_some()).collect();
            let matched: Vec<StudentInit> =
                all.iter().step_by((all.len() / 11).max(1)).take(10).map(|s| (*s).clone()).collect();
            let unmatched: Vec<(String, u32)> =
                names.iter().map(|t| (t.clone(), table_row(t).1)).filter(|x| x.1 > 0).collect();
            let csv = census_csv(&mut rng, &mut mint, &county, &matched, &unmatched, true);
            let path = dir.join("census-ministry.csv");
            std::fs::write(&path, &csv)?;
            let r =
                view.import_census(csv.as_bytes(), CaseSource::Ministry, Date::ymd(2026, 3, 16), "县教育局基教股")?;
            pr.say(&format!(
                "2026-03-16 教育部疑似失学儿童名单比对：匹配 {}，疑似匹配 {}（身份证号录入有误），未匹配 {}，立案 {}",
                r.outcome.matched,
                r.outcome.suggested.len(),
                r.outcome.unmatched,
                r.opened.len()
            ));
            ministry = Some(r.outcome.counts());
        }
        if month == (2026, 7) {
            let view = county_view(&infra, &towns);
            let all: Vec<&StudentInit> = rolls.values().flatten().filter(|s| s.hukou_township.is_some()).collect();
            let matched: Vec<StudentInit> =
                all.iter().skip(all.len() / 3).step_by((all.len() / 7).max(1)).take(5).map(|s| (*s).clone()).collect();
            let unmatched: Vec<(String, u32)> = names.iter().take(3).map(|t| (t.clone(), 1)).collect();
            let csv = census_csv(&mut rng, &mut mint, &county, &matched, &unmatched, false);
            std::fs::write(dir.join("census-police.csv"), &csv)?;
            let r = view.import_census(csv.as_bytes(), CaseSource::Police, Date::ymd(2026, 7, 1), "县教育局基教股")?;
            pr.say(&format!(
                "2026-07-01 公安户籍比对：匹配 {}，未匹配 {}，立案 {}",
                r.outcome.matched,
                r.outcome.unmatched,
                r.opened.len()
            ));
            police = Some(r.outcome.counts());
        }
        // The month's report: every node syncs (one misses June's and stays silent).
        let skip = if end >= Date::ymd(2026, 6, 30) { late_township(&names) } else { None };
        sync_all(&mut infra, &mut towns, end, skip, pr)?;
        // 失学 cases that reached the nodes: visits, and some children enrolled.
        if month == (2026, 3) {
            for t in towns.iter_mut() {
                let mut cases = t.ledger.all(RecordKind::Case).map_err(node_err)?;
                cases.sort_by(|a, b| a.name().cmp(b.name()).then(a.id.cmp(&b.id)));
                for c in cases {
                    let Some(init) = c.case.as_deref() else {
                        continue;
                    };
                    if init.source == CaseSource::Roll || !c.case_state().is_some_and(CaseState::is_open) {
                        continue;
                    }
                    let by = format!("{}政府驻村干部", t.name);
                    let visit = Date::ymd(2026, 4, 8).add_days(t.rng.gen_range(0..10));
                    t.schedule(
                        visit,
                        Task::Act {
                            case: c.id,
                            kind: ActionKind::Search,
                            notice: None,
                            by,
                            text: Some("会同派出所、村委会查找，入户核实".into()),
                        },
                    );
                    if t.rng.gen_bool(0.35) {
                        // Enrolled at the center school in May: a roster entry and the case closed.
                        let grade =
                            (baoxue_shared::dates::age_at_reference(init.child.birth, 2025) - 5).clamp(1, 6) as u8;
                        let id = init.child.id_number.clone();
                        let input = StudentInput {
                            student_no: id.as_ref().map(|i| format!("G{}", i.as_str())).unwrap_or_default(),
                            id_number: id.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default(),
                            name: init.child.name.clone(),
                            sex: init.child.sex.to_string(),
                            birth: init.child.birth.to_string(),
                            school: format!("{}中心小学", t.name),
                            grade: grade.to_string(),
                            hukou_township: t.name.clone(),
                            entry_year: (2025 - i32::from(grade) + 1).to_string(),
                            ..Default::default()
                        };
                        let day = Date::ymd(2026, 5, 11);
                        if node_student::add(&t.ledger, &input, &t.stamp(day)).is_ok() {
                            t.schedule(day, Task::Return { case: c.id, evidence: "已入学（中心小学）".into() });
                        }
                    }
                }
            }
        }
        // The hub's nightly run for the month's last day.
        let view = county_view(&infra, &towns);
        let run = nightly::run(&view, end)?;
        pr.say(&nightly::describe(&run));
        nightly_runs.push(run);
        pr.done(&format!("{}年{}月", month.0, month.1));
        from = end.add_days(1);
        let _ = m;
    }

    // The county's reports on the last day.
    let as_of = year_end();
    let view = county_view(&infra, &towns);
    let (snap, _) = view.snapshot()?;
    let computed = view.compute(&snap, as_of)?;
    let mut rendered = Vec::new();
    let ind = &computed.indicators;
    for f in [Format::Json, Format::Csv, Format::Md] {
        rendered.push((format!("consolidation.{f}"), render(&ind.consolidation[0], f)));
        rendered.push((format!("dropout.{f}"), render(&ind.dropout, f)));
        rendered.push((format!("township-table.{f}"), render(&ind.township_table, f)));
        rendered.push((format!("ranking.{f}"), render(&ind.ranking, f)));
    }
    rendered.push(("alerts.json".into(), serde_json::to_string_pretty(&computed.alerts)?));
    infra.stop();
    pr.done("县级汇总与报表");

    let hub_revisions = infra.hub.revision_count() as u64;
    let schools = org.schools.len();
    let total_seconds = pr.t0.elapsed().as_secs_f64();
    let mut out = DemoOutcome {
        dir: dir.to_path_buf(),
        kept: false,
        as_of,
        townships: towns.len(),
        schools,
        students,
        hub_revisions,
        sync_rounds: rounds,
        indicators: computed.indicators,
        alerts: computed.alerts,
        ministry: ministry.unwrap_or(CensusCounts { matched: 0, suggested: 0, unmatched: 0, cases_opened: 0 }),
        police: police.unwrap_or(CensusCounts { matched: 0, suggested: 0, unmatched: 0, cases_opened: 0 }),
        late_township: late_township(&names).map(|i| names[i].clone()),
        nightly: nightly_runs,
        rendered,
        timings: pr.timings.clone(),
        total_seconds,
        text: String::new(),
    };
    let stats: Vec<&TownStats> = towns.iter().map(|t| &t.stats).collect();
    out.text = printout(&out, &policy, &stats, transfers, &infra.addr);
    Ok(out)
}

fn printout(o: &DemoOutcome, policy: &Policy, stats: &[&TownStats], transfers: usize, addr: &str) -> String {
    let mut s = String::new();
    let sum = |f: fn(&TownStats) -> usize| stats.iter().map(|x| f(x)).sum::<usize>();
    let _ = writeln!(s, "══ {COUNTY_NAME} 控辍保学 2025 学年演示 ══");
    let _ = writeln!(
        s,
        "规模：{} 个乡镇、{} 所学校、{} 名学生；{} 个乡镇节点经 {addr} 与县级平台同步 {} 轮；县级库共 {} 条修订",
        o.townships, o.schools, o.students, o.townships, o.sync_rounds, o.hub_revisions
    );
    let _ = writeln!(
        s,
        "一学年：请假 {} 人次，无故缺勤立案 {} 件（复学销号 {} 件），失学儿童入学 {} 人，措施 {} 项，县内外转学 {} 人；节点提交 {} 次",
        sum(|x| x.absences),
        sum(|x| x.cases),
        sum(|x| x.returned),
        sum(|x| x.enrolled),
        sum(|x| x.actions),
        transfers,
        sum(|x| x.commits)
    );
    let _ = writeln!(
        s,
        "教育部疑似失学名单：匹配 {}、疑似匹配 {}、未匹配 {}、立案 {}；公安户籍比对：匹配 {}、未匹配 {}、立案 {}",
        o.ministry.matched,
        o.ministry.suggested,
        o.ministry.unmatched,
        o.ministry.cases_opened,
        o.police.matched,
        o.police.unmatched,
        o.police.cases_opened
    );
    let ind = &o.indicators;
    let _ = writeln!(s, "\n一、{}", md_body(&render(&ind.consolidation[0], Format::Md)));
    let _ = writeln!(s, "二、{}", md_body(&render(&ind.township_table, Format::Md)));
    let _ = writeln!(s, "三、{}", md_body(&render(&ind.ranking, Format::Md)));
    let _ = writeln!(s, "四、最紧急的 10 条预警（共 {} 条，截至 {}）\n", o.alerts.len(), o.as_of);
    let mut by_rule: BTreeMap<(std::cmp::Reverse<baoxue_shared::alerts::Level>, String), (usize, String)> =
        BTreeMap::new();
    for a in &o.alerts {
        let key = (std::cmp::Reverse(a.level), rule_label(policy, &a.rule));
        by_rule.entry(key).or_insert((0, a.clause.clone())).0 += 1;
    }
    for ((level, label), (n, clause)) in &by_rule {
        let _ = writeln!(s, "  {}  {n:>4} 条  {label}（{clause}）", level.0.label());
    }
    let _ = writeln!(s);
    for (i, a) in o.alerts.iter().take(10).enumerate() {
        let _ = writeln!(s, "{:>2}. [{}] {}", i + 1, a.level.label(), a.message);
        let _ = writeln!(s, "    责任人：{}；{} 起应办；依据 {}", a.responsible, a.due, a.clause);
    }
    let _ = writeln!(s, "\n五、用时");
    for (step, secs) in &o.timings {
        let _ = writeln!(s, "  {secs:>7.2} 秒  {step}");
    }
    if let Some(last) = o.nightly.last() {
        let _ = writeln!(
            s,
            "  最后一次夜间汇总：{:.2} 秒（{}）",
            last.total_seconds,
            if last.refresh.rebuilt { "全量" } else { "增量" }
        );
    }
    let _ = writeln!(s, "  合计 {:.1} 秒", o.total_seconds);
    if o.kept {
        let _ =
            writeln!(s, "\n数据目录：{}（县级平台 hub/，各乡镇节点 nodes/，归档报表 hub/reports/）", o.dir.display());
    }
    s
}

/// What an alert rule asks, in Chinese: the policy's own title where it has one.
fn rule_label(policy: &Policy, rule: &str) -> String {
    if let Some(r) = policy.rung(rule) {
        return r.title.clone();
    }
    if let Some(r) = policy.reporting.iter().find(|r| r.id == rule) {
        return r.title.clone();
    }
    let a = &policy.accountability;
    match rule {
        "unit_loss" => a.unit_loss.as_ref().map(|r| r.title.clone()).unwrap_or_else(|| rule.into()),
        r if r.starts_with("school_dropouts") => a
            .school_dropouts
            .as_ref()
            .map(|x| format!("学校有辍学学生而未采取劝返措施：{}", x.title))
            .unwrap_or_else(|| r.into()),
        r if r.starts_with("township_ladder_m") => {
            let m: u32 = r.trim_start_matches("township_ladder_m").parse().unwrap_or(0);
            a.township_ladder
                .as_ref()
                .and_then(|l| l.steps.iter().find(|s| s.months == m))
                .map(|s| format!("学校辍学未劝返超过2名满{m}个月：{}", s.title))
                .unwrap_or_else(|| r.into())
        }
        "repeated_notification" => {
            a.repeated_notification.as_ref().map(|x| x.title.clone()).unwrap_or_else(|| rule.into())
        }
        "dropout_rate_over_limit" => a.dropout_rate.as_ref().map(|x| x.title.clone()).unwrap_or_else(|| rule.into()),
        r if a.notifications.iter().any(|n| n.id == r) => {
            a.notifications.iter().find(|n| n.id == r).map(|n| n.title.clone()).unwrap_or_else(|| r.into())
        }
        "duplicate_enrolment" => "重复学籍（一人两籍）".into(),
        "unresolved_conflict" => "并发修改未裁定".into(),
        r => r.into(),
    }
}

/// A Markdown report without its leading `# `, for the printout's numbered sections.
fn md_body(md: &str) -> String {
    md.trim_start_matches('#').trim_start().to_string()
}
