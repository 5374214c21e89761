//! One township's node through the demo's school year: its pupils, the days (absences, leave,
//! unexcused episodes that open cases), the ladder of actions on each case, and the odd events
//! (transfers, a death, census cases) the county's driver asks of it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, Result};
use baoxue_node::cmd::case::new_roll_case;
use baoxue_node::cmd::student::{self as node_student, ImportArgs, Stamp};
use baoxue_node::ledger::{assign, placement_change, Item};
use baoxue_node::Ledger;
use baoxue_shared::alerts::SyncDays;
use baoxue_shared::dates::{Date, SchoolYear};
use baoxue_shared::model::{
    Action, ActionKind, CaseSource, CaseState, Cause, Notice, Outcome, Placement, Stage, Status,
};
use baoxue_shared::policy::Policy;
use baoxue_shared::revision::StudentInit;
use baoxue_shared::roster::StudentInput;
use baoxue_shared::{Change, Field, Record, RecordId, RecordKind, Value};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::year_end;

use super::{roster_csv, synth, table_row};

#[derive(Debug, Clone)]
pub(super) enum Task {
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
pub(super) struct TownStats {
    pub(super) absences: usize,
    pub(super) cases: usize,
    pub(super) commits: usize,
    pub(super) actions: usize,
    pub(super) returned: usize,
    /// 失学 children (found by a census) enrolled.
    pub(super) enrolled: usize,
}

/// One township's node and what its school year holds.
pub(super) struct Town {
    pub(super) name: String,
    pub(super) ledger: Ledger,
    pub(super) rng: StdRng,
    /// Pupils who may be absent or start an episode.
    pub(super) pool: Vec<RecordId>,
    pub(super) busy: HashSet<RecordId>,
    pub(super) agenda: BTreeMap<Date, Vec<Task>>,
    /// Probability of an unexcused episode per pupil and school day (junior pupils ×3).
    pub(super) episode_p: f64,
    pub(super) teachers: Vec<String>,
    pub(super) stats: TownStats,
    /// The days the town's node synced (for the reporting rules).
    pub(super) sync_days: SyncDays,
}

pub(super) fn cause(rng: &mut StdRng, junior: bool) -> Cause {
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
    /// Township `name`'s node, the `i`-th of the county: its own random stream, its teachers,
    /// and its rate of unexcused episodes (伊川's 2019 proportions).
    pub(super) fn new(name: &str, ledger: Ledger, seed: u64, i: usize) -> Town {
        let w = f64::from(table_row(name).0) / 47.9;
        // ≈ 1.3% of pupils a year have an unexcused episode, by 伊川's 2019 proportions.
        let episode_p = 0.013 * w.powf(0.8) / 200.0 * 1.9;
        let mut rng = StdRng::seed_from_u64(seed ^ ((i as u64 + 1) * 0x9e37_79b9));
        let teachers = (0..12).map(|_| synth::person(&mut rng)).collect();
        Town {
            name: name.to_string(),
            ledger,
            rng,
            pool: Vec::new(),
            busy: HashSet::new(),
            agenda: BTreeMap::new(),
            episode_p,
            teachers,
            stats: TownStats::default(),
            sync_days: SyncDays::default(),
        }
    }

    /// The roster (written to `path` and imported, one commit), then the statuses the roster
    /// file has no column for (送教上门, 休学: one commit); every other pupil joins the pool.
    pub(super) fn import_roster(&mut self, rows: &[StudentInit], path: &Path, start: Date) -> Result<()> {
        std::fs::write(path, roster_csv(rows))?;
        node_student::import(
            &self.ledger,
            &ImportArgs { file: path, dry_run: false, skip_bad: false },
            &self.stamp(start),
        )
        .map_err(node_err)?;
        let mut items = Vec::new();
        let status: std::collections::HashMap<&str, Status> =
            rows.iter().map(|x| (x.student_no.as_str(), x.placement.status)).collect();
        let mut recs = self.ledger.all(RecordKind::Student).map_err(node_err)?;
        // In roll order, so that a seed always gives the same school year.
        recs.sort_by(|a, b| a.student_no().cmp(&b.student_no()));
        for r in recs {
            let want = r.student_no().and_then(|n| status.get(n.as_str()).copied());
            match want {
                Some(st) if st != Status::Enrolled => {
                    let p = Placement { status: st, school: r.school().unwrap_or("").to_string(), transfer: None };
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
                _ => self.pool.push(r.id),
            }
        }
        if !items.is_empty() {
            self.ledger.commit(&self.stamp(start).author, start, items).map_err(node_err)?;
        }
        Ok(())
    }

    /// 失学 cases (from a census) that reached this node: a search visit each, and some
    /// children enrolled at the center school in May (a roster entry, the case closed).
    pub(super) fn act_on_census_cases(&mut self) -> Result<()> {
        let mut cases = self.ledger.all(RecordKind::Case).map_err(node_err)?;
        cases.sort_by(|a, b| a.name().cmp(b.name()).then(a.id.cmp(&b.id)));
        for c in cases {
            let Some(init) = c.case.as_deref() else {
                continue;
            };
            if init.source == CaseSource::Roll || !c.case_state().is_some_and(CaseState::is_open) {
                continue;
            }
            let by = format!("{}政府驻村干部", self.name);
            let visit = Date::ymd(2026, 4, 8).add_days(self.rng.gen_range(0..10));
            self.schedule(
                visit,
                Task::Act {
                    case: c.id,
                    kind: ActionKind::Search,
                    notice: None,
                    by,
                    text: Some("会同派出所、村委会查找，入户核实".into()),
                },
            );
            if self.rng.gen_bool(0.35) {
                let grade =
                    (baoxue_shared::dates::age_at_reference(init.child.birth, SchoolYear(2025)) - 5).clamp(1, 6) as u8;
                let id = init.child.id_number.clone();
                let input = StudentInput {
                    student_no: id.as_ref().map(|i| format!("G{}", i.as_str())).unwrap_or_default(),
                    id_number: id.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default(),
                    name: init.child.name.clone(),
                    sex: init.child.sex.to_string(),
                    birth: init.child.birth.to_string(),
                    school: format!("{}中心小学", self.name),
                    grade: grade.to_string(),
                    hukou_township: self.name.clone(),
                    entry_year: (2025 - i32::from(grade) + 1).to_string(),
                    ..Default::default()
                };
                let day = Date::ymd(2026, 5, 11);
                if node_student::add(&self.ledger, &input, &self.stamp(day)).is_ok() {
                    self.schedule(day, Task::Return { case: c.id, evidence: "已入学（中心小学）".into() });
                }
            }
        }
        Ok(())
    }

    pub(super) fn stamp(&self, date: Date) -> Stamp {
        Stamp { author: format!("{}中心学校", self.name), date }
    }

    pub(super) fn schedule(&mut self, d: Date, t: Task) {
        if d <= year_end() {
            self.agenda.entry(d).or_default().push(t);
        }
    }

    pub(super) fn teacher(&mut self) -> String {
        self.teachers.choose(&mut self.rng).cloned().unwrap_or_else(|| "班主任".into())
    }

    /// A new episode for `s` on `d`: the absence and the case in one commit (the node's own
    /// rule), the call the same day, and what follows.
    pub(super) fn episode(&mut self, s: &Record, d: Date, items: &mut Vec<Item>) -> Result<()> {
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
    pub(super) fn day(&mut self, d: Date, school_day: bool) -> Result<()> {
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

    pub(super) fn student_of(&self, case: &Record) -> Result<Option<Record>> {
        match case.case.as_ref().and_then(|c| c.student) {
            Some(id) => Ok(self.ledger.store.record(id)?.filter(|r| r.is_complete() && self.ledger.is_ours(r))),
            None => Ok(None),
        }
    }

    /// Simulates the days `from ..= to` at this node.
    pub(super) fn run(&mut self, from: Date, to: Date, policy: &Policy) -> Result<()> {
        let cal = policy.calendar();
        let mut d = from;
        while d <= to {
            self.day(d, cal.is_school_day(d))?;
            d = d.add_days(1);
        }
        Ok(())
    }

    /// A pupil of this township not in any episode, optionally of a primary grade.
    pub(super) fn idle_pupil(&mut self, primary: bool) -> Result<Option<Record>> {
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

pub(super) fn no_of(r: &Record) -> String {
    r.student_no().map(|n| n.as_str().to_string()).unwrap_or_default()
}

pub(super) fn node_err(e: baoxue_node::NodeError) -> anyhow::Error {
    anyhow!("{e}")
}
