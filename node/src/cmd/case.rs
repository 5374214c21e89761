//! `case open|confirm|act|close|list|show`: the 一人一案 ledger of this township.

use baoxue_shared::model::{
    Action, ActionKind, CaseSource, CaseState, Cause, ClosureEvidence, Ground, Notice, Outcome, Placement,
    ResponsibleRole, Status, TransferTarget,
};
use baoxue_shared::revision::{CaseInit, Child};
use baoxue_shared::{Change, Date, Field, Record, RecordId, RecordKind, RevId, Value};
use serde_json::json;

use crate::cmd::student::Stamp;
use crate::error::{invalid, refused, Result};
use crate::ledger::{assign, ensure_settled, first_unexcused, placement_change, who, Item, Ledger, PLACEMENT_FIELDS};
use crate::output::{class_of, closed_of, history_json, history_lines, ident, json_text, Output};

/// Whether a student in this status can be the subject of a new dropout case (not one who is
/// 送教上门, graduated, transferred out or deceased).
pub fn may_open(status: Status) -> bool {
    status == Status::DroppedOut || status.can_become(Status::DroppedOut)
}

/// The creating change of a new roll case (在籍辍学) for `student`. `previous` links the
/// student's last closed case, so a relapse after 复学 is a new episode of the same child.
pub fn new_roll_case(
    l: &Ledger,
    student: &Record,
    opened: Date,
    clock_start: Date,
    cause: Cause,
) -> Result<(RecordId, Item)> {
    let init = student.student.as_ref();
    let township = l.township_of(student).unwrap_or(l.township()).to_string();
    let previous = l.last_closed_case_of(student)?.map(|(c, _)| c.id);
    let child = Child {
        name: student.name().to_string(),
        id_number: student.id_number().cloned(),
        student_no: student.student_no().cloned(),
        sex: student.sex().or(init.map(|i| i.sex)).unwrap_or(baoxue_shared::model::Sex::Male),
        birth: student.birth().or(init.map(|i| i.birth)).unwrap_or(opened),
        hukou_township: student.text(Field::HukouTownship).map(str::to_string),
        hukou_village: student.text(Field::HukouVillage).map(str::to_string),
        groups: student.groups().to_vec(),
    };
    let ci = CaseInit {
        student: Some(student.id),
        child,
        township,
        school: student.school().map(str::to_string),
        grade: student.grade(),
        source: CaseSource::Roll,
        opened,
        clock_start,
        cause,
        previous,
    };
    let id = RecordId::created_by(RevId::random());
    Ok((id, (id, RecordKind::Case, Change::CreateCase(Box::new(ci)))))
}

pub fn open(l: &Ledger, arg: &str, cause: Option<&str>, stamp: &Stamp) -> Result<Output> {
    let cause: Cause = match cause {
        Some(c) => c.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string()))?,
        None => Cause::Unknown,
    };
    let s = l.student(arg)?;
    l.ensure_writable(&s)?;
    if let Some(c) = l.open_case_of(&s)? {
        return Err(refused(format!(
            "{} 已有未销号案件 {}（{}），不能重复立案；要填写辍学原因、劝返方案或责任人，请用 case edit {} --cause … --plan … --teacher …",
            who(&s),
            c.id.short(),
            c.case_state().map(|x| x.label()).unwrap_or_default(),
            c.id.short()
        )));
    }
    let status = s.status().unwrap_or(Status::Enrolled);
    if !may_open(status) {
        return Err(refused(format!("{} 当前状态为{status}，不能立辍学案件", who(&s))));
    }
    l.check_write_date(stamp.date, Some(&s), None)?;
    let since = l.last_closed_case_of(&s)?.map(|(_, d)| d);
    let clock_start = first_unexcused(&s, since, stamp.date).unwrap_or(stamp.date);
    let (id, item) = new_roll_case(l, &s, stamp.date, clock_start, cause)?;
    l.commit(&stamp.author, stamp.date, vec![item])?;
    Ok(format!("已立案：案件 {}，{} 疑似辍学，起算日 {clock_start}，原因 {cause}\n", id.short(), who(&s)).into())
}

/// What `case edit` changes; `None` leaves a detail as it is, an empty text clears it.
#[derive(Default)]
pub struct EditArgs<'a> {
    pub cause: Option<&'a str>,
    pub plan: Option<&'a str>,
    pub teacher: Option<&'a str>,
    pub mentor: Option<&'a str>,
    pub cadre: Option<&'a str>,
    pub village_cadre: Option<&'a str>,
}

/// Records a case's details (cause, 劝返方案, responsible people) — a case opened automatically
/// by an absence starts with cause 不详 and nobody named. Each write replaces the values the
/// record holds (like every edit), so a concurrent edit elsewhere stays visible as a conflict.
/// The responsible people are one register: only the roles given change, the others are kept.
pub fn edit(l: &Ledger, arg: &str, a: &EditArgs, stamp: &Stamp) -> Result<Output> {
    let roles = [
        (ResponsibleRole::ClassTeacher, a.teacher),
        (ResponsibleRole::Mentor, a.mentor),
        (ResponsibleRole::TownshipCadre, a.cadre),
        (ResponsibleRole::VillageCadre, a.village_cadre),
    ];
    if a.cause.is_none() && a.plan.is_none() && roles.iter().all(|(_, n)| n.is_none()) {
        return Err(invalid(
            "没有要填写的内容：请用 --cause、--plan、--teacher、--mentor、--cadre、--village-cadre 指定",
        ));
    }
    let cause: Option<Cause> = a
        .cause
        .map(|c| c.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string())))
        .transpose()?;
    let c = l.case(arg)?;
    l.ensure_case_writable(&c)?;
    l.check_write_date(stamp.date, Some(&c), None)?;
    let mut wanted: Vec<(Field, Value)> = Vec::new();
    if let Some(cause) = cause {
        wanted.push((Field::Cause, Value::Cause(cause)));
    }
    if let Some(p) = a.plan {
        let p = p.trim();
        wanted.push((Field::Plan, Value::OptText((!p.is_empty()).then(|| p.to_string()))));
    }
    if roles.iter().any(|(_, n)| n.is_some()) {
        let mut people = c.responsible();
        for (role, name) in roles {
            if let Some(name) = name {
                people
                    .set(role, Some(name))
                    .map_err(|e| invalid(format!("案件 {}（{}）：{e}", c.id.short(), c.name())))?;
            }
        }
        wanted.push((Field::Responsible, Value::OptText(people.format())));
    }
    let assigns: Vec<_> = wanted
        .into_iter()
        .filter(|(f, v)| !c.register(*f).map(|g| !g.in_conflict() && g.value() == Some(v)).unwrap_or(false))
        .map(|(f, v)| assign(&c, f, v))
        .collect::<Result<_>>()?;
    if assigns.is_empty() {
        return Ok(format!("案件 {}（{}）的详情没有变化，未记录\n", c.id.short(), c.name()).into());
    }
    let what = assigns.iter().map(|a| format!("{} → {}", a.field.label(), a.value)).collect::<Vec<_>>().join("；");
    let closed = !c.case_state().map(CaseState::is_open).unwrap_or(true);
    l.commit(&stamp.author, stamp.date, vec![(c.id, RecordKind::Case, Change::Update(assigns))])?;
    let note = if closed { "（案件已销号）" } else { "" };
    Ok(format!("已填写案件 {}（{}）{note}：{what}\n", c.id.short(), c.name()).into())
}

fn ensure_open(case: &Record, what: &str) -> Result<()> {
    if let Some(CaseState::Closed { outcome, on, .. }) = case.case_state() {
        return Err(refused(format!(
            "案件 {}（{}）已于 {on} 销号（{outcome}），不能{what}",
            case.id.short(),
            case.name()
        )));
    }
    Ok(())
}

fn student_of(l: &Ledger, case: &Record) -> Result<Option<Record>> {
    match case.case.as_ref().and_then(|c| c.student) {
        Some(id) => Ok(l.store.record(id)?.filter(|r| r.is_complete())),
        None => Ok(None),
    }
}

pub fn confirm(l: &Ledger, arg: &str, stamp: &Stamp) -> Result<Output> {
    let c = l.case(arg)?;
    l.ensure_case_writable(&c)?;
    ensure_open(&c, "确认辍学")?;
    l.check_write_date(stamp.date, Some(&c), None)?;
    if c.case_state() == Some(&CaseState::Confirmed) {
        return Err(refused(format!("案件 {}（{}）已确认为辍学，无需重复确认", c.id.short(), c.name())));
    }
    let mut items: Vec<Item> = vec![(
        c.id,
        RecordKind::Case,
        Change::Update(vec![assign(&c, Field::CaseState, Value::CaseState(CaseState::Confirmed))?]),
    )];
    let mut extra = String::new();
    if let Some(s) = student_of(l, &c)? {
        if s.status() != Some(Status::DroppedOut) {
            ensure_settled(&s, PLACEMENT_FIELDS)?;
        }
        l.ensure_writable(&s)?;
        let cur = s.placement().cloned();
        if let Some(cur) = cur {
            if cur.status != Status::DroppedOut {
                if !cur.status.can_become(Status::DroppedOut) {
                    return Err(refused(format!("{} 当前状态为{}，不能改为辍学", who(&s), cur.status)));
                }
                let p = Placement { status: Status::DroppedOut, school: cur.school.clone(), transfer: None };
                items.push((s.id, RecordKind::Student, placement_change(&s, p, None)?));
                extra = format!("，学籍状态由{}改为辍学（保留学籍）", cur.status);
            }
        }
    }
    l.commit(&stamp.author, stamp.date, items)?;
    Ok(format!("已确认辍学：案件 {}（{}）{extra}；请向教育局和乡镇政府报告\n", c.id.short(), c.name()).into())
}

pub struct ActArgs<'a> {
    pub kind: &'a str,
    pub by: &'a str,
    pub notice: Option<&'a str>,
    pub text: Option<&'a str>,
    /// The 家访记录表 fields (only with `--kind visit`).
    pub visit: VisitArgs<'a>,
}

/// The 家访记录表 fields of a visit as typed (001 附件2; see `shared::visit`). 时间 is the
/// business date and `time`, 家访教师 `by`, 家访内容 `content` or the action's text.
#[derive(Default)]
pub struct VisitArgs<'a> {
    pub time: Option<&'a str>,
    pub companion: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub address: Option<&'a str>,
    pub content: Option<&'a str>,
    pub school_opinion: Option<&'a str>,
    pub parent_opinion: Option<&'a str>,
}

impl VisitArgs<'_> {
    /// The flags given, by name (to refuse them on an action that is not a visit).
    fn given(&self) -> Vec<&'static str> {
        [
            ("--time", self.time),
            ("--companion", self.companion),
            ("--reason", self.reason),
            ("--address", self.address),
            ("--content", self.content),
            ("--school-opinion", self.school_opinion),
            ("--parent-opinion", self.parent_opinion),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some_and(|v| !v.trim().is_empty()))
        .map(|(f, _)| f)
        .collect()
    }
}

pub fn act(l: &Ledger, arg: &str, a: &ActArgs, stamp: &Stamp) -> Result<Output> {
    let kind: ActionKind = a.kind.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string()))?;
    let notice: Option<Notice> = a
        .notice
        .map(|n| n.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string())))
        .transpose()?;
    match (kind, notice) {
        (ActionKind::Notice, None) => {
            return Err(invalid(format!("送达通知书（--kind notice）必须用 --notice 写明文书：{}", all_notices())))
        }
        (k, Some(n)) if k != ActionKind::Notice => {
            return Err(invalid(format!("只有送达通知书（--kind notice）才能带 --notice「{n}」")))
        }
        _ => {}
    }
    let by = a.by.trim();
    if by.is_empty() {
        return Err(invalid("--by 经办人不能为空"));
    }
    let c = l.case(arg)?;
    l.ensure_case_writable(&c)?;
    let opened = c.case.as_ref().map(|i| i.opened);
    if let Some(o) = opened {
        if stamp.date < o {
            return Err(invalid(format!("措施日期 {} 早于案件 {} 的立案日期 {o}", stamp.date, c.id.short())));
        }
    }
    l.check_write_date(stamp.date, Some(&c), None)?;
    let given = a.visit.given();
    if kind != ActionKind::Visit && !given.is_empty() {
        return Err(invalid(format!("{} 只用于家访（--kind visit）", given.join("、"))));
    }
    let nonempty = |t: Option<&str>| t.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
    let text = match (nonempty(a.text), nonempty(a.visit.content)) {
        (Some(_), Some(_)) => return Err(invalid("--text 与 --content 都是家访内容，只写一个")),
        (t, c) => t.or(c),
    };
    if let Some(t) = &text {
        // Line breaks come from the school app's text areas; other control characters never.
        baoxue_shared::text::check(&t.replace("\r\n", "\n").replace('\n', " "), baoxue_shared::text::MAX_TEXT)
            .map_err(|e| invalid(format!("家访内容/情况说明（--text）{e}")))?;
    }
    let details = baoxue_shared::visit::VisitDetails::new(
        a.visit.time,
        a.visit.companion,
        a.visit.reason,
        a.visit.address,
        a.visit.school_opinion,
        a.visit.parent_opinion,
    )
    .map_err(|e| invalid(e.to_string()))?;
    let action = Action { date: stamp.date, kind, by: by.to_string(), notice, text };
    let closed = !c.case_state().map(CaseState::is_open).unwrap_or(true);
    // A visit with 附件2 fields is written as `Change::Visit`; an action without them (every
    // other kind, and a visit with its text only) keeps the form it always had.
    let change =
        if details.is_empty() { Change::Act(action) } else { Change::Visit { action, details: Box::new(details) } };
    l.commit(&stamp.author, stamp.date, vec![(c.id, RecordKind::Case, change)])?;
    let what = match notice {
        Some(n) => format!("送达《{n}》"),
        None => kind.label().to_string(),
    };
    let follow = if closed { "（案件已销号，记为跟踪回访）" } else { "" };
    Ok(format!("已记录措施：案件 {}（{}）{} {what}，经办 {by}{follow}\n", c.id.short(), c.name(), stamp.date).into())
}

fn all_notices() -> String {
    Notice::ALL.iter().map(|n| n.label()).collect::<Vec<_>>().join("、")
}

/// The evidence flags of `case close` (see `ClosureEvidence`), as typed.
#[derive(Default)]
pub struct CloseArgs<'a> {
    pub evidence: Option<&'a str>,
    pub applied: Option<&'a str>,
    pub applicant: Option<&'a str>,
    pub approved_by: Option<&'a str>,
    pub approver: Option<&'a str>,
    pub ground: Option<&'a str>,
    pub until: Option<&'a str>,
    pub school: Option<&'a str>,
    pub place: Option<&'a str>,
    pub document: Option<&'a str>,
}

fn text(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

fn flag_date(s: Option<&str>, flag: &str) -> Result<Option<Date>> {
    s.map(|x| Date::parse(x).map_err(|_| invalid(format!("{flag} 日期「{x}」无效：应为 YYYY-MM-DD 格式的真实日期"))))
        .transpose()
}

impl CloseArgs<'_> {
    fn evidence(&self) -> Result<ClosureEvidence> {
        Ok(ClosureEvidence {
            applied: flag_date(self.applied, "--applied")?,
            applicant: text(self.applicant),
            approved_by: text(self.approved_by),
            approver: text(self.approver),
            ground: self.ground.map(|g| g.parse::<Ground>().map_err(|e| invalid(e.to_string()))).transpose()?,
            until: flag_date(self.until, "--until")?,
            school: text(self.school),
            place: text(self.place),
            document: text(self.document),
        })
    }
}

/// 销号. Every outcome has its evidence fields (`Outcome::required`); closing as 豁免, 休学
/// or 延缓入学 without the guardian's written application and its approval is refused with one
/// line naming what is missing (002 §四(一)), and 豁免 only on a physical ground (004 第七条
/// "除身体原因"). The evidence is written with the closing state, in the case's `Closure`
/// register; the student's status follows the outcome.
pub fn close(l: &Ledger, arg: &str, outcome: &str, a: &CloseArgs, stamp: &Stamp) -> Result<Output> {
    let outcome: Outcome = outcome.parse().map_err(|e: baoxue_shared::model::ParseEnumError| invalid(e.to_string()))?;
    if outcome == Outcome::Mistaken {
        return Err(refused("「误记撤销」不是销号原因：撤回误记的缺勤时，由它立的案件自动以此销号".to_string()));
    }
    let mut proof = a.evidence()?;
    // `--evidence` (the one evidence flag before issue 13) still fills the school, document or
    // place an outcome needs when its own flag is not given.
    let plain = text(a.evidence);
    for f in outcome.required() {
        let slot = match f {
            baoxue_shared::model::EvidenceField::School => &mut proof.school,
            baoxue_shared::model::EvidenceField::Document => &mut proof.document,
            baoxue_shared::model::EvidenceField::Place => &mut proof.place,
            _ => continue,
        };
        if slot.is_none() {
            slot.clone_from(&plain);
        }
    }
    let c = l.case(arg)?;
    l.ensure_case_writable(&c)?;
    ensure_open(&c, "重复销号")?;
    if let Some(o) = c.case.as_ref().map(|i| i.opened) {
        if stamp.date < o {
            return Err(invalid(format!("销号日期 {} 早于案件 {} 的立案日期 {o}", stamp.date, c.id.short())));
        }
    }
    l.check_write_date(stamp.date, Some(&c), None)?;
    proof
        .check(outcome, stamp.date, true)
        .map_err(|e| invalid(format!("案件 {}（{}）：{e}", c.id.short(), c.name())))?;
    let on_roll = c.case.as_ref().is_some_and(|i| i.student.is_some());
    if outcome == Outcome::Deferred && on_roll {
        return Err(refused(format!(
            "案件 {}（{}）：延缓入学只适用于尚未入学的适龄儿童（失学案件）；在籍学生请用 suspended（休学）",
            c.id.short(),
            c.name()
        )));
    }
    let evidence = text(a.evidence);
    let state = CaseState::Closed { outcome, evidence: evidence.clone(), on: stamp.date };
    let mut assigns = vec![assign(&c, Field::CaseState, Value::CaseState(state))?];
    if proof != ClosureEvidence::default() {
        assigns.push(assign(&c, Field::Closure, Value::Closure(Box::new(proof.clone())))?);
    }
    let mut items: Vec<Item> = vec![(c.id, RecordKind::Case, Change::Update(assigns))];
    let mut extra = String::new();
    if let Some(s) = student_of(l, &c)? {
        if let (true, Some(cur)) = (l.is_ours(&s), s.placement().cloned()) {
            let described = proof.describe();
            let why = |w: &str| Some(if described.is_empty() { w.to_string() } else { format!("{w}：{described}") });
            let away = |p: &str| Some(TransferTarget::OutOfCounty(p.to_string()));
            let (to, reason, transfer): (Option<Status>, Option<String>, Option<TransferTarget>) = match outcome {
                Outcome::Returned => (matches!(cur.status, Status::DroppedOut).then_some(Status::Enrolled), None, None),
                Outcome::Mistaken => (None, None, None),
                Outcome::Deceased => (Some(Status::Deceased), why("死亡"), None),
                Outcome::Exempt => (Some(Status::Suspended), why("豁免"), None),
                Outcome::Suspended | Outcome::Deferred => (Some(Status::Suspended), why("休学"), None),
                Outcome::HomeDelivered => (Some(Status::HomeDelivered), why("送教上门"), None),
                Outcome::Transferred | Outcome::SpecialSchool => {
                    let school = proof.school.clone().or(evidence.clone()).unwrap_or_else(|| "已核实在他处就读".into());
                    let target = match l.config.org.school(&school) {
                        Some(sc) if sc.name != cur.school => Some(TransferTarget::School(sc.name.clone())),
                        _ => away(&school),
                    };
                    (Some(Status::TransferredOut), None, target)
                }
                Outcome::MovedAway | Outcome::Abroad => {
                    let place = proof.place.clone().unwrap_or_default();
                    (Some(Status::TransferredOut), why(outcome.label()), away(&format!("{}：{place}", outcome.label())))
                }
            };
            if let Some(to) = to.filter(|t| *t != cur.status) {
                ensure_settled(&s, PLACEMENT_FIELDS)?;
                if !cur.status.can_become(to) {
                    return Err(refused(format!("{} 当前状态为{}，不能改为{to}", who(&s), cur.status)));
                }
                let p = Placement { status: to, school: cur.school.clone(), transfer };
                items.push((s.id, RecordKind::Student, placement_change(&s, p, reason)?));
                extra = format!("；学籍状态由{}改为{to}", cur.status);
            }
        }
    }
    l.commit(&stamp.author, stamp.date, items)?;
    Ok(format!("已销号：案件 {}（{}），{outcome}{extra}\n", c.id.short(), c.name()).into())
}

/// 籍随人走 (003 §一(四), `baoxue_shared::transfer`): closes as 转学核实, on the day the student
/// was accepted, every open case held here whose student is now 在读 at another school of this
/// township (the case may belong to the township the child left: it follows the child). Only
/// `students` are looked at (all of this township's when none). Run by `student accept` and
/// after every sync (for a case that reached this node after the child was accepted). Gives
/// one line per case closed.
pub fn close_transferred(l: &Ledger, students: Option<&[Record]>, author: &str) -> Result<Vec<String>> {
    let all;
    let students = match students {
        Some(s) => s,
        None => {
            all = l.all(RecordKind::Student)?;
            &all[..]
        }
    };
    let mut lines = Vec::new();
    for s in students.iter().filter(|s| l.is_ours(s)) {
        for c in l.cases_of(s)? {
            if !c.case_state().is_some_and(CaseState::is_open) {
                continue;
            }
            if c.register(Field::CaseState).is_some_and(|r| r.in_conflict()) {
                continue;
            }
            let Some((on, school)) = baoxue_shared::transfer::accepted_elsewhere(&c, s) else {
                continue;
            };
            let (state, proof) = baoxue_shared::transfer::transfer_closure(on, &school);
            let assigns = vec![
                assign(&c, Field::CaseState, Value::CaseState(state))?,
                assign(&c, Field::Closure, Value::Closure(Box::new(proof)))?,
            ];
            l.commit(author, on, vec![(c.id, RecordKind::Case, Change::Update(assigns))])?;
            lines.push(format!(
                "已销号：案件 {}（{}），转学核实（{on} 由{school}确认接收，籍随人走）",
                c.id.short(),
                c.name()
            ));
        }
    }
    Ok(lines)
}

/// Reopens a case closed by mistake (with a reason): its state goes back to what it was before
/// the closure (辍学 if it had been confirmed, else 疑似辍学) and its clock resumes from its
/// original day 0 — the days it stood closed are not forgiven. The reason is kept in the
/// case's `Reason` register and its history.
pub fn reopen(l: &Ledger, arg: &str, reason: &str, stamp: &Stamp) -> Result<Output> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid("--reason 重新打开的原因不能为空"));
    }
    let c = l.case(arg)?;
    l.ensure_case_writable(&c)?;
    let Some(CaseState::Closed { outcome, on, .. }) = c.case_state().cloned() else {
        return Err(refused(format!("案件 {}（{}）未销号，无需重新打开", c.id.short(), c.name())));
    };
    if stamp.date < on {
        return Err(invalid(format!("重新打开日期 {} 早于销号日期 {on}", stamp.date)));
    }
    l.check_write_date(stamp.date, Some(&c), None)?;
    if let Some(s) = student_of(l, &c)? {
        if let Some(other) = l.open_case_of(&s)? {
            return Err(refused(format!(
                "{} 已有未销号案件 {}，不能同时重新打开案件 {}",
                who(&s),
                other.id.short(),
                c.id.short()
            )));
        }
    }
    let was_confirmed = c.confirmed_since(on.add_days(-1)).is_some();
    let back = if was_confirmed { CaseState::Confirmed } else { CaseState::Suspected };
    let label = back.label();
    let why = format!("重新打开（原销号 {on} {outcome}）：{reason}");
    let assigns = vec![
        assign(&c, Field::CaseState, Value::CaseState(back))?,
        assign(&c, Field::Reason, Value::OptText(Some(why.clone())))?,
    ];
    let mut items: Vec<Item> = vec![(c.id, RecordKind::Case, Change::Update(assigns))];
    // The status the closure gave the student goes back with it (辍学 if the case had been
    // confirmed, else 在读), where that is a legal change.
    let mut extra = String::new();
    if let Some(s) = student_of(l, &c)? {
        let to = if was_confirmed { Status::DroppedOut } else { Status::Enrolled };
        if let (true, Some(cur)) = (l.is_ours(&s), s.placement().cloned()) {
            if cur.status != to && cur.status.can_become(to) && cur.status != Status::Graduated {
                ensure_settled(&s, PLACEMENT_FIELDS)?;
                let p = Placement { status: to, school: cur.school.clone(), transfer: None };
                items.push((s.id, RecordKind::Student, placement_change(&s, p, Some(why))?));
                extra = format!("；学籍状态由{}改回{to}", cur.status);
            }
        }
    }
    l.commit(&stamp.author, stamp.date, items)?;
    Ok(format!(
        "已重新打开：案件 {}（{}），状态 {label}{extra}，时限仍自起算日 {} 计；原因：{reason}\n",
        c.id.short(),
        c.name(),
        c.case.as_ref().map(|i| i.clock_start.to_string()).unwrap_or_default()
    )
    .into())
}

// --- list and show ------------------------------------------------------------------------

fn case_line(c: &Record, unmasked: bool) -> String {
    let i = c.case.as_ref();
    let who = match i.and_then(|i| i.child.student_no.as_ref()) {
        Some(no) => format!("{}（{}）", c.name(), ident(no.as_str(), unmasked)),
        None => c.name().to_string(),
    };
    let place = match (i.and_then(|i| i.school.as_deref()), i.and_then(|i| i.grade)) {
        (Some(s), Some(g)) => format!("{s} {g}年级"),
        (Some(s), None) => s.to_string(),
        _ => "（不在籍）".into(),
    };
    format!(
        "{}  {}  {who}  {place}  立案 {}  起算日 {}  措施 {} 项",
        c.id.short(),
        c.case_state().map(|s| s.label()).unwrap_or_default(),
        i.map(|i| i.opened.to_string()).unwrap_or_default(),
        i.map(|i| i.clock_start.to_string()).unwrap_or_default(),
        c.actions.len()
    )
}

fn case_json(c: &Record, unmasked: bool) -> serde_json::Value {
    let i = c.case.as_ref();
    let (closed, outcome, evidence) = closed_of(c.case_state());
    json!({
        "id": c.id.short(),
        "record": c.id.hex(),
        "student": i.and_then(|i| i.child.student_no.as_ref()).map(|n| ident(n.as_str(), unmasked)),
        "name": c.name(),
        "state": c.case_state().map(|s| s.key()),
        "state_label": c.case_state().map(|s| s.label()),
        "opened": i.map(|i| i.opened.to_string()),
        "clock_start": i.map(|i| i.clock_start.to_string()),
        "cause": c.cause().map(|x| x.key()),
        "cause_label": c.cause().map(|x| x.label()),
        "plan": c.plan(),
        "responsible": c.text(Field::Responsible),
        "responsible_roles": responsible_json(c),
        "source": i.map(|i| i.source.key()),
        "township": i.map(|i| i.township.clone()),
        "school": i.and_then(|i| i.school.clone()),
        "grade": i.and_then(|i| i.grade),
        "previous": i.and_then(|i| i.previous).map(|p| p.short()),
        "actions": c.actions_with_ids().into_iter().map(|(rev, a)| json!({
            "date": a.date.to_string(),
            "kind": a.kind.key(),
            "by": a.by,
            "notice": a.notice.map(|n| n.label()),
            "text": a.text,
            "visit": c.visit(rev).map(|v| v.to_json()),
        })).collect::<Vec<_>>(),
        "closed": closed,
        "outcome": outcome,
        "evidence": evidence,
        "closure": closure_json(c),
        "reason": c.text(Field::Reason),
        "conflicts": c.conflicts().iter().map(|(f, _)| f.key()).collect::<Vec<_>>(),
    })
}

/// The closure evidence of a case, if recorded.
fn closure_of(c: &Record) -> Option<&ClosureEvidence> {
    match c.register(Field::Closure).and_then(|r| r.value()) {
        Some(Value::Closure(e)) => Some(e),
        _ => None,
    }
}

/// The evidence line of `case show`. A closure that needed an application and has none on
/// record (closed before these fields existed) says so: 「申请材料未记录」, never back-filled.
fn closure_text(c: &Record, outcome: Outcome) -> String {
    match closure_of(c) {
        Some(e) => e.describe(),
        None if outcome.required().contains(&baoxue_shared::model::EvidenceField::Applied) => "申请材料未记录".into(),
        None if outcome.required().is_empty() => "（无需）".into(),
        None => "（未记录）".into(),
    }
}

/// `closure` of `case show --json`: the evidence fields, `recorded: false` when none were.
fn closure_json(c: &Record) -> serde_json::Value {
    let Some(CaseState::Closed { outcome, .. }) = c.case_state() else {
        return serde_json::Value::Null;
    };
    match closure_of(c) {
        Some(e) => json!({
            "recorded": true,
            "applied": e.applied.map(|d| d.to_string()),
            "applicant": e.applicant,
            "approved_by": e.approved_by,
            "approver": e.approver,
            "ground": e.ground.map(|g| g.key()),
            "until": e.until.map(|d| d.to_string()),
            "school": e.school,
            "place": e.place,
            "document": e.document,
        }),
        None => json!({"recorded": false, "note": closure_text(c, *outcome)}),
    }
}

/// `{class_teacher, mentor, township_cadre, village_cadre}` (null where nobody is recorded).
fn responsible_json(c: &Record) -> serde_json::Value {
    let people = c.responsible();
    let mut m = serde_json::Map::new();
    for role in ResponsibleRole::ALL {
        m.insert(role.key().into(), json!(people.get(*role)));
    }
    if !people.other.is_empty() {
        m.insert("other".into(), json!(people.other));
    }
    serde_json::Value::Object(m)
}

pub fn list(l: &Ledger, only_open: bool, json: bool, unmasked: bool) -> Result<Output> {
    let mut cases: Vec<Record> = l
        .all(RecordKind::Case)?
        .into_iter()
        .filter(|c| c.case.as_ref().map(|i| i.township == l.township()).unwrap_or(false))
        .filter(|c| !only_open || c.case_state().map(CaseState::is_open).unwrap_or(false))
        .collect();
    cases.sort_by_key(|c| (c.case.as_ref().map(|i| i.opened), c.id));
    if json {
        return Ok(json_text(&serde_json::Value::Array(cases.iter().map(|c| case_json(c, unmasked)).collect())).into());
    }
    let mut o = String::new();
    for c in &cases {
        o.push_str(&case_line(c, unmasked));
        o.push('\n');
    }
    let open = cases.iter().filter(|c| c.case_state().map(CaseState::is_open).unwrap_or(false)).count();
    o.push_str(&format!("共 {} 个案件（未销号 {open} 个）\n", cases.len()));
    Ok(o.into())
}

pub fn show(l: &Ledger, arg: &str, json: bool, unmasked: bool) -> Result<Output> {
    let c = l.case(arg)?;
    let history = l.store.history(c.id)?;
    if json {
        let mut v = case_json(&c, unmasked);
        v["history"] = history_json(&history);
        return Ok(json_text(&v).into());
    }
    let i = c.case.as_ref();
    let mut o = String::new();
    let mut p = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    p(format!("案件 {}（{}）", c.id.short(), i.map(|i| i.source.label()).unwrap_or("")));
    let student = student_of(l, &c)?;
    let place = student
        .as_ref()
        .map(class_of)
        .or_else(|| i.and_then(|i| i.school.clone()))
        .unwrap_or_else(|| "（不在籍）".into());
    p(format!(
        "学生 {}  学籍号 {}  {place}",
        c.name(),
        i.and_then(|i| i.child.student_no.as_ref())
            .map(|n| ident(n.as_str(), unmasked))
            .unwrap_or_else(|| "（无）".into())
    ));
    p(format!(
        "状态 {}  原因 {}  立案 {}  起算日 {}",
        c.case_state().map(|s| s.label()).unwrap_or_default(),
        c.cause().map(|x| x.label()).unwrap_or(""),
        i.map(|i| i.opened.to_string()).unwrap_or_default(),
        i.map(|i| i.clock_start.to_string()).unwrap_or_default()
    ));
    p(format!("劝返方案 {}", c.plan().unwrap_or("（未填写）")));
    p(format!("责任人 {}", c.text(Field::Responsible).unwrap_or("（未填写，用 case edit --teacher 等填写）")));
    if let Some(CaseState::Closed { outcome, evidence, on }) = c.case_state() {
        p(format!("销号 {on}（{outcome}）{}", evidence.as_deref().map(|e| format!("  证明：{e}")).unwrap_or_default()));
        p(format!("销号材料 {}", closure_text(&c, *outcome)));
    }
    if let Some(r) = c.text(Field::Reason) {
        p(format!("说明 {r}"));
    }
    if let Some(prev) = i.and_then(|i| i.previous) {
        p(format!("上一案件 {}", prev.short()));
    }
    let actions = c.actions_with_ids();
    p(format!("措施（{} 项）：", actions.len()));
    for (rev, a) in actions {
        if let Some(v) = c.visit(rev) {
            // The 家访记录表 (001 附件2), one field a line.
            p(format!("  {}  家访  家访教师 {}", v.when(), v.teacher));
            for (label, value) in v.labelled() {
                if !value.is_empty() {
                    p(format!("      {label}：{}", value.replace('\n', "\n        ")));
                }
            }
            continue;
        }
        let mut s = format!("  {}  {}  经办 {}", a.date, a.kind, a.by);
        if let Some(n) = a.notice {
            s.push_str(&format!("  《{n}》"));
        }
        if let Some(t) = &a.text {
            s.push_str(&format!("  {t}"));
        }
        p(s);
    }
    for line in crate::output::conflict_lines(&c) {
        p(format!("冲突：{line}"));
    }
    p(format!("历史（{} 条修订）：", history.len()));
    for h in history_lines(&history) {
        p(format!("  {h}"));
    }
    Ok(o.into())
}
