//! `absence STUDENT --kind unexcused|sick|personal [--date D]`: one day's absence.
//!
//! **An unexcused absence starts the clock.** When the student has no open case, an unexcused
//! absence opens a 疑似辍学 case in the same commit (day 0 = that date; linked to the
//! student's last closed case, if any). docs/DOMAIN.md "A case's life": 004 第七条 makes day 0
//! the class teacher's first call — so the case exists from day 0 and
//! the day-3/7/16 alerts run from it without anyone having to remember to open it. Further
//! unexcused absences while a case is open are only recorded. An absence dated on or before
//! the day the last case was closed belongs to that episode and opens nothing, and a 送教上门
//! pupil (home-delivered teaching, not a dropout) gets no case from a missed session.
//!
//! An absence recorded by mistake is withdrawn by a correcting revision with a reason
//! ([`withdraw`]); the case it started, if any, follows.

use baoxue_shared::model::{AbsenceKind, CaseState, Cause, Outcome, Status};
use baoxue_shared::{Change, Date, Field, Record, RecordId, RecordKind, Value};

use crate::cmd::case::{may_open, new_roll_case};
use crate::cmd::student::Stamp;
use crate::error::{invalid, refused, Result};
use crate::ledger::{assign, who, Item, Ledger};
use crate::output::Output;

/// The revisions of one absence (and of the case it opens, if any), checked against the ledger.
/// `school_open`: the reason the school held classes on a day the calendar has none.
fn absence_items(
    l: &Ledger,
    s: &Record,
    kind: AbsenceKind,
    day: Date,
    school_open: Option<&str>,
) -> Result<(Vec<Item>, Option<RecordId>)> {
    l.ensure_writable(s)?;
    let status = s.status().unwrap_or(Status::Enrolled);
    if !matches!(status, Status::Enrolled | Status::HomeDelivered | Status::DroppedOut) {
        return Err(refused(format!("{} 当前状态为{status}，不能记录缺勤", who(s))));
    }
    l.check_write_date(day, Some(s), None)?;
    // No child can be absent from a closed school: an absence on a day with no school is a
    // wrong date unless the school says it held classes that day (`--school-open REASON`).
    let cal = l.policy()?.calendar();
    let open_reason = school_open.map(str::trim).filter(|r| !r.is_empty());
    if let Some(why) = cal.no_school_reason(day) {
        if open_reason.is_none() {
            return Err(refused(format!(
                "{day} 不上学（{why}），不能为{} 记录缺勤；请核对日期，若该日确实上课（如补课），请加 --school-open \"原因\"",
                who(s)
            )));
        }
    }
    if let Some((_, k)) = s.absences_sorted().into_iter().find(|(d, _)| *d == day) {
        return Err(refused(format!("{} 在 {day} 已记录缺勤（{k}），同一天不能重复记录", who(s))));
    }
    let mut items: Vec<Item> = vec![(s.id, RecordKind::Student, Change::Absence { day, kind })];
    let mut opened = None;
    if kind == AbsenceKind::Unexcused && may_open(status) && l.open_case_of(s)?.is_none() {
        let after_last = l.last_closed_case_of(s)?.map(|(_, closed)| day > closed).unwrap_or(true);
        if after_last {
            let (id, item) = new_roll_case(l, s, day, day, Cause::Unknown)?;
            items.push(item);
            opened = Some(id);
        }
    }
    Ok((items, opened))
}

pub fn absence(l: &Ledger, arg: &str, kind: &str, school_open: Option<&str>, stamp: &Stamp) -> Result<Output> {
    let kind: AbsenceKind = kind.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string()))?;
    let s = l.student(arg)?;
    let day = stamp.date;
    let (items, opened) = absence_items(l, &s, kind, day, school_open)?;
    l.commit(&stamp.author, stamp.date, items)?;
    let mut text = format!("已记录缺勤：{} {day} {kind}\n", who(&s));
    if let Some(id) = opened {
        text.push_str(&format!(
            "无故缺勤，已自动立案：案件 {}（疑似辍学），起算日 {day}；请班主任立即电话联系监护人并家访\n",
            id.short()
        ));
    }
    Ok(text.into())
}

/// What a roll call recorded.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RollCall {
    /// Absences recorded.
    pub recorded: usize,
    /// Cases opened by unexcused absences: (child's name, case id).
    pub opened: Vec<(String, RecordId)>,
}

/// A class's roll call: every absence of the day, and the cases they open, in ONE durable
/// commit; nothing is written if any entry is refused (the message names the child).
pub fn roll_call(l: &Ledger, entries: &[(Record, AbsenceKind)], stamp: &Stamp) -> Result<RollCall> {
    let mut items = Vec::new();
    let mut out = RollCall::default();
    for (s, kind) in entries {
        let (its, opened) = absence_items(l, s, *kind, stamp.date, None)?;
        items.extend(its);
        out.recorded += 1;
        if let Some(id) = opened {
            out.opened.push((s.name().to_string(), id));
        }
    }
    if !items.is_empty() {
        l.commit(&stamp.author, stamp.date, items)?;
    }
    Ok(out)
}

/// What withdrawing an absence did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Withdrawn {
    /// The one-line result the user sees.
    pub text: String,
    /// The case the absence had opened, closed as 误记撤销.
    pub closed: Option<RecordId>,
    /// The case opened instead from the student's next unexcused absence of that episode.
    pub reopened_from: Option<(RecordId, Date)>,
}

/// Withdraws the absence of `day` recorded by mistake: a correcting revision with the reason
/// (the absence stays in the history, and stops counting). **The case clock follows**: when
/// the absence was the day 0 of the student's open case, that case is closed as 误记撤销 in the
/// same commit, and if the student has a later unexcused absence, a new case runs from the
/// first of them (the clock starts on a day the child really was absent). A case already
/// confirmed as 辍学 is not undone here: the school admin closes it on its evidence.
pub fn withdraw(l: &Ledger, s: &Record, day: Date, reason: &str, stamp: &Stamp) -> Result<Withdrawn> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid("请填写撤回原因（如：点名时误点，该生当天在校）".to_string()));
    }
    l.ensure_writable(s)?;
    l.check_write_date(stamp.date, Some(s), None)?;
    let (absence, kind) = s
        .absences
        .iter()
        .find(|(_, (d, _))| *d == day)
        .map(|(id, (_, k))| (*id, *k))
        .ok_or_else(|| crate::error::not_found(format!("{} 在 {day} 没有缺勤记录，无需撤回", who(s))))?;
    let mut items: Vec<Item> =
        vec![(s.id, RecordKind::Student, Change::WithdrawAbsence { absence, day, kind, reason: reason.to_string() })];
    let mut out = Withdrawn {
        text: format!("已撤回 {} {day} 的缺勤（{kind}）：{reason}", who(s)),
        ..Default::default()
    };
    let started_case = match l.open_case_of(s)? {
        Some(c) if kind == AbsenceKind::Unexcused && c.case.as_ref().map(|i| i.clock_start) == Some(day) => Some(c),
        _ => None,
    };
    if let Some(c) = started_case {
        if c.case_state() == Some(&CaseState::Confirmed) {
            return Err(refused(format!(
                "{} 的案件 {} 已确认辍学，起算日正是 {day}：不能只撤回这次缺勤；如确属误记，请学校管理员核实后销号",
                who(s),
                c.id.short()
            )));
        }
        let state =
            CaseState::Closed { outcome: Outcome::Mistaken, evidence: Some(reason.to_string()), on: stamp.date };
        items.push((
            c.id,
            RecordKind::Case,
            Change::Update(vec![assign(&c, Field::CaseState, Value::CaseState(state))?]),
        ));
        out.closed = Some(c.id);
        out.text.push_str(&format!("；案件 {} 由这次缺勤立案，已以「误记撤销」销号", c.id.short()));
        let next = s
            .absences_sorted()
            .into_iter()
            .find(|(d, k)| *d > day && *k == AbsenceKind::Unexcused && *d <= stamp.date)
            .map(|(d, _)| d);
        if let Some(next) = next {
            let (id, item) = new_roll_case(l, s, next, next, c.cause().unwrap_or(Cause::Unknown))?;
            items.push(item);
            out.reopened_from = Some((id, next));
            out.text.push_str(&format!("；该生 {next} 仍无故缺勤，已从该日重新立案（案件 {}）", id.short()));
        }
    }
    l.commit(&stamp.author, stamp.date, items)?;
    Ok(out)
}
