//! What every rule reads from the records: where a case stands on a day, its day 0, and the people
//! responsible for a school or township.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};

use crate::calendar::Calendar;
use crate::dates::Date;
use crate::model::{AbsenceKind, Action, CaseSource, CaseState, Outcome, ResponsibleRole, SchoolType, Stage, Status};
use crate::org::{Org, School};
use crate::policy::Role;
use crate::revision::{CaseInit, Field, RecordId, RecordKind, Value};
use crate::state::Record;

/// Where a case stands on a given day, from the business dates of its state changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// Closed (销号) on or before the day: nothing is owed.
    Closed,
    /// Open, not (yet) confirmed as 辍学.
    Suspected,
    /// Open and confirmed.
    Confirmed,
}

pub(super) fn standing(case: &Record, on: Date) -> Standing {
    match case.case_state_on(on) {
        Some(CaseState::Closed { .. }) => Standing::Closed,
        Some(CaseState::Confirmed) => Standing::Confirmed,
        Some(CaseState::Suspected) | None => Standing::Suspected,
    }
}

/// Day 0 of a case's clock: its first unexcused absence, or the next school day when that
/// fell on a day with no school (vacation, weekend, holiday) — no child can be absent from a
/// closed school, so such an absence starts no clock before school reopens.
pub(super) fn day_zero(cal: &Calendar, init: &CaseInit) -> Date {
    cal.next_school_day(init.clock_start)
}

/// The run of unexcused days a roll case's clock measures on `as_of`, as (the run's first
/// unexcused absence, day 0). "连续" (000 §三(二)) and "无故" (004 第七条): an excused day
/// (病假, 事假) recorded on or after the clock start ends the run, at every preset; the clock
/// then runs again from the first unexcused absence after the latest excused day, and not at
/// all until there is one. Without the student's record (a 失学 case, a record not here) the
/// run starts at the case's clock start.
pub(super) fn current_run(
    cal: &Calendar,
    init: &CaseInit,
    student: Option<&Record>,
    as_of: Date,
) -> Option<(Date, Date)> {
    let mut raw = init.clock_start;
    if let (CaseSource::Roll, Some(s)) = (init.source, student) {
        let absences = s.absences_sorted();
        let last_excused = absences
            .iter()
            .filter(|(d, k)| *k != AbsenceKind::Unexcused && *d >= init.clock_start && *d <= as_of)
            .map(|(d, _)| *d)
            .max();
        if let Some(e) = last_excused {
            raw = absences
                .iter()
                .find(|(d, k)| *k == AbsenceKind::Unexcused && *d > e && *d <= as_of)
                .map(|(d, _)| *d)?;
        }
    }
    Some((raw, cal.next_school_day(raw)))
}

/// When a case closed as 休学 or 延缓入学 has run out (issue 13, 002 §四(一)): the child is
/// expected on the first school day after the end date (`--until`), and if not back the
/// first-absence ladder runs again from that day, as its day 0. Gives that day 0 when it has
/// come by `on` and the child is not back: the student (if the record is here) is still 休学
/// on `on`. A 延缓入学 child has no roll record: the ladder runs until the case is reopened
/// and closed again (复学 once enrolled).
pub(super) fn resumed_on(cal: &Calendar, case: &Record, student: Option<&Record>, on: Date) -> Option<Date> {
    let Some(CaseState::Closed { outcome, .. }) = case.case_state_on(on) else {
        return None;
    };
    if !matches!(outcome, Outcome::Suspended | Outcome::Deferred) {
        return None;
    }
    let until = match case.register(Field::Closure).and_then(|r| r.value()) {
        Some(Value::Closure(e)) => e.until?,
        _ => return None,
    };
    let day0 = cal.next_school_day(until.add_days(1));
    if on < day0 {
        return None;
    }
    if let Some(s) = student {
        if s.status_on(on) != Some(Status::Suspended) {
            return None;
        }
    }
    Some(day0)
}

/// A 辍学 (dropout) for 004 第八条 and 000 §五(三) on day `on`: the case was open and
/// confirmed on that day. Gives (day 0 of its clock, the day it became a dropout — its
/// confirmation, in the run of confirmed days that includes `on`).
pub(super) fn dropout_on(cal: &Calendar, case: &Record, on: Date) -> Option<(Date, Date)> {
    let init = case.case.as_deref()?;
    let since = case.confirmed_since(on)?;
    Some((day_zero(cal, init), since))
}

pub(super) fn actions_until(case: &Record, as_of: Date) -> Vec<&Action> {
    case.actions_sorted().into_iter().filter(|a| a.date <= as_of && is_measure(a)).collect()
}

/// Whether an action is a persuasion measure the rules count. The bureau's handover of a
/// non-local pupil to the 户籍 county (户籍地通报移交, 000 §三(二)) is paperwork between bureaus,
/// not a measure taken with the child: it satisfies no rung and is no "劝返措施".
pub(super) fn is_measure(a: &Action) -> bool {
    a.kind != crate::model::ActionKind::Handover
}

pub(super) fn add_months(d: Date, n: u32) -> Date {
    // chrono clamps to the end of a shorter month: 01-31 + 1 month = 02-28 (02-29).
    d.0.checked_add_months(Months::new(n)).map(Date).unwrap_or(d)
}

pub(super) fn first_of_month(d: Date) -> Date {
    Date(NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d.0))
}

/// Names the people a role stands for, from the org file (and, for a case, its recorded
/// 责任人), with generic titles as fallback.
pub(super) struct People<'a> {
    pub(super) org: &'a Org,
    /// Who `ClassTeacher` is: the case's recorded 班主任, or the class's title.
    pub(super) class_teacher: String,
    /// The case's recorded 包保教师, if any.
    pub(super) mentor: Option<String>,
}

impl<'a> People<'a> {
    pub(super) fn new(org: &'a Org) -> People<'a> {
        People { org, class_teacher: "班主任".into(), mentor: None }
    }

    /// "" for a role nobody holds (a mentor the case does not name).
    pub(super) fn one(&self, role: Role, school: Option<&str>, township: &str) -> String {
        let sc = school.and_then(|s| self.org.school(s));
        let tw = self.org.townships.get(township);
        let school_name = school.unwrap_or("学校");
        match role {
            Role::ClassTeacher => self.class_teacher.clone(),
            Role::Mentor => self.mentor.clone().unwrap_or_default(),
            Role::CenterSchoolPrincipal => match center_school(self.org, township) {
                Some(School { name, principal: Some(p), .. }) => format!("{p}（{name}校长）"),
                Some(s) => format!("{}校长", s.name),
                None => format!("{township}中心学校校长"),
            },
            Role::Principal => match sc.and_then(|s| s.principal.as_deref()) {
                Some(p) => format!("{p}（{school_name}校长）"),
                None => format!("{school_name}校长"),
            },
            Role::BureauLeader => match sc.and_then(|s| s.bureau_leader.as_deref()) {
                Some(p) => format!("{p}（县教育局包校领导）"),
                None => "县教育局包校领导".to_string(),
            },
            Role::TownshipDeputy => match tw.and_then(|t| t.deputy.as_deref()) {
                Some(p) => format!("{p}（{township}分管领导）"),
                None => format!("{township}分管领导"),
            },
            Role::TownshipHead => match tw.and_then(|t| t.head.as_deref()) {
                Some(p) => format!("{p}（{township}主要领导）"),
                None => format!("{township}主要领导"),
            },
        }
    }

    pub(super) fn all(&self, roles: &[Role], school: Option<&str>, township: &str) -> String {
        let mut out: Vec<String> = Vec::new();
        for r in roles {
            let p = self.one(*r, school, township);
            if !p.is_empty() && !out.contains(&p) {
                out.push(p);
            }
        }
        if out.is_empty() {
            out = roles.iter().map(|r| r.label().to_string()).collect();
        }
        out.join("、")
    }
}

/// The township's center school (中心学校), which reports for the township: the org file has
/// no column for it, so it is found by name — 中心学校, then 中心校, then 中心小学.
fn center_school<'o>(org: &'o Org, township: &str) -> Option<&'o School> {
    let schools = org.schools.values().filter(|s| s.township == township);
    ["中心学校", "中心校", "中心小学"].iter().find_map(|key| schools.clone().find(|s| s.name.contains(key)))
}

/// The case's recorded 包保教师, as "张老师（包保教师）".
pub(super) fn recorded_mentor(case: &Record) -> Option<String> {
    case.responsible().get(ResponsibleRole::Mentor).map(|n| format!("{n}（包保教师）"))
}

/// The case's class teacher: the 班主任 its 责任人 names ("刘老师（班主任）"); a 责任人 text
/// in no role form (written before roles were recorded) as it is; else "school + grade + class
/// + 班主任" from the student record.
pub(super) fn class_teacher(case: &Record, student: Option<&Record>, school: Option<&str>) -> String {
    let recorded = case.responsible();
    if let Some(n) = recorded.get(ResponsibleRole::ClassTeacher) {
        return format!("{n}（班主任）");
    }
    if recorded.roles().is_empty() && !recorded.other.is_empty() {
        return recorded.other.join("、");
    }
    let grade = case.case.as_ref().and_then(|c| c.grade).or(student.and_then(Record::grade));
    let class = student.and_then(|s| s.text(Field::Class));
    let mut s = school.unwrap_or("").to_string();
    if let Some(g) = grade {
        s.push_str(&format!("{g}年级"));
    }
    if let Some(c) = class {
        s.push_str(c);
        if c.chars().all(|ch| ch.is_ascii_digit()) {
            s.push('班');
        }
    }
    s.push_str("班主任");
    s
}

pub(super) fn school_of(case: &Record, student: Option<&Record>) -> Option<String> {
    case.case.as_ref().and_then(|c| c.school.clone()).or_else(|| student.and_then(|s| s.school().map(str::to_string)))
}

pub(super) fn stage_of(case: &Record, student: Option<&Record>, org: &Org, school: Option<&str>) -> Option<Stage> {
    let grade = case.case.as_ref().and_then(|c| c.grade).or(student.and_then(Record::grade));
    if let Some(g) = grade {
        return Some(Stage::of_grade(g));
    }
    match school.and_then(|s| org.school(s)).map(|s| s.kind) {
        Some(SchoolType::Primary | SchoolType::TeachingPoint) => Some(Stage::Primary),
        Some(SchoolType::Junior) => Some(Stage::Junior),
        _ => None,
    }
}

/// Students by record id, so a case can find its student.
pub(super) fn index_students<'a>(records: &[&'a Record]) -> BTreeMap<RecordId, &'a Record> {
    records.iter().filter(|r| r.kind == RecordKind::Student).map(|r| (r.id, *r)).collect()
}

pub(super) fn student_of<'a>(case: &Record, students: &BTreeMap<RecordId, &'a Record>) -> Option<&'a Record> {
    case.case.as_ref().and_then(|c| c.student).and_then(|id| students.get(&id).copied())
}
