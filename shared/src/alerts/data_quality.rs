//! Data problems the hub finds: one child enrolled twice, a field edited apart on two nodes.

use super::facts::People;
use super::{Alert, SubjectKind};
use crate::dates::Date;
use crate::model::Status;
use crate::org::Org;
use crate::policy::Level;
use crate::policy::Role;
use crate::revision::{Field, RecordKind};
use crate::state::Record;

/// The day from which two student records (of one child) were both on a roll — or marked 辍学,
/// which keeps the record (004 第七条) — without a break up to `as_of`; none when they were not
/// both so on `as_of`. Read from the business dates of their status changes.
pub fn duplicate_since(a: &Record, b: &Record, as_of: Date) -> Option<Date> {
    let live = |s: Status| s.on_roll() || s == Status::DroppedOut;
    Some(a.status_since(as_of, live)?.max(b.status_since(as_of, live)?))
}

/// 重复学籍: one child on two rolls (003 §一(四) "人籍一致，籍随人走 … 杜绝空挂学籍"). Names both
/// schools (where each record was on `since`); the subject is the masked ID number (or masked
/// student number), never the full one.
pub fn duplicate_enrolment_alert(org: &Org, a: &Record, b: &Record, since: Date) -> Alert {
    let subject = a
        .id_number()
        .map(|i| i.masked())
        .or_else(|| a.student_no().map(|s| s.masked()))
        .unwrap_or_else(|| a.id.short());
    let school = |r: &'_ Record| -> String {
        r.placement_on(since)
            .map(|p| p.school.clone())
            .or_else(|| r.school().map(str::to_string))
            .unwrap_or_else(|| "（未知学校）".into())
    };
    let (sa, sb) = (school(a), school(b));
    let (sa, sb) = (sa.as_str(), sb.as_str());
    let township = org.township_of(sa).unwrap_or("").to_string();
    let people = People::new(org);
    let mut responsible = people.one(Role::Principal, Some(sa), &township);
    let tb = org.township_of(sb).unwrap_or("").to_string();
    let other = people.one(Role::Principal, Some(sb), &tb);
    if other != responsible {
        responsible = format!("{responsible}、{other}");
    }
    let (first, second) = if a.id <= b.id { (a, b) } else { (b, a) };
    Alert {
        id: format!("duplicate_enrolment:{}/{}", first.id.hex(), second.id.hex()),
        rule: "duplicate_enrolment".into(),
        level: Level::Warning,
        subject_kind: SubjectKind::Student,
        subject,
        township,
        responsible,
        since,
        due: since,
        clause: "003 §一(四)".into(),
        message: format!(
            "{}同时在 {sa} 和 {sb} 有学籍（重复学籍）：两校核实就读情况后注销空挂的学籍，做到人籍一致。",
            a.name()
        ),
    }
}

/// A field edited concurrently on two sides and not yet resolved (docs/CLI.md `conflicts`). The
/// ledger must be true (003 §一(二) "三细三实": 数据登记真实) so the conflict is an alert
/// until someone at the hub keeps one value.
pub fn conflict_alert(org: &Org, record: &Record, field: Field, since: Date) -> Alert {
    let values = record
        .register(field)
        .map(|r| {
            let mut v: Vec<String> = r.heads.values().map(|c| c.value.to_string()).collect();
            v.sort();
            v.dedup();
            v.join(" / ")
        })
        .unwrap_or_default();
    let (kind, subject, school, township) = match record.kind {
        RecordKind::Case => {
            let init = record.case.as_deref();
            (
                SubjectKind::Case,
                record.id.short(),
                init.and_then(|c| c.school.clone()),
                init.map(|c| c.township.clone()).unwrap_or_default(),
            )
        }
        RecordKind::Student => {
            let school = record.school().map(str::to_string);
            let township = school.as_deref().and_then(|s| org.township_of(s)).unwrap_or("").to_string();
            let subject = record.student_no().map(|s| s.masked()).unwrap_or_else(|| record.id.short());
            (SubjectKind::Student, subject, school, township)
        }
    };
    let people = People::new(org);
    Alert {
        id: format!("unresolved_conflict:{}/{}", record.id.hex(), field.key()),
        rule: "unresolved_conflict".into(),
        level: Level::Warning,
        subject_kind: kind,
        subject,
        township: township.clone(),
        responsible: people.one(Role::Principal, school.as_deref(), &township),
        since,
        due: since,
        clause: "003 §一(二)".into(),
        message: format!(
            "{}的「{}」有并发修改未解决：{values}。请在县级平台确认保留的值（conflicts resolve）。",
            record.name(),
            field.label()
        ),
    }
}

#[cfg(test)]
mod tests {

    use crate::dates::Date;
    use crate::model::Status;

    use super::*;
    use crate::alerts::testkit::*;
    use crate::alerts::*;

    use crate::model::{Cause, Sex};
    use crate::revision::{Assign, Change, RecordId, Revision, StudentInit, Value};
    use crate::revision::{Field, RecordKind};
    use crate::state::fold;
    use crate::state::Record;

    // --- data problems ----------------------------------------------------------------------------

    fn student(name: &str, school: &str, seq: u16) -> Record {
        fold_student(&student_revs(name, school, seq, "2025-09-01"))
    }

    fn fold_student(revs: &[Revision]) -> Record {
        fold(revs[0].record, RecordKind::Student, revs)
    }

    /// A status change of a student, replacing its current placement.
    fn placement(revs: &mut Vec<Revision>, date: &str, status: Status) {
        let rec = fold_student(revs);
        let mut p = rec.placement().unwrap().clone();
        p.status = status;
        revs.push(revision(
            rec.id,
            RecordKind::Student,
            d(date),
            Change::Update(vec![Assign {
                field: Field::Placement,
                value: Value::Placement(p),
                supersedes: rec.register(Field::Placement).unwrap().head_ids(),
            }]),
        ));
    }

    /// 重复学籍 on a day: both records on a roll on that day, since the later of the two.
    #[test]
    fn duplicate_enrolment_by_the_dates() {
        let a = student_revs("王芳", "鸦岭初中", 124, "2025-09-01");
        let mut b = student_revs("王芳", "高山九年制学校", 124, "2026-03-01");
        placement(&mut b, "2026-04-01", Status::TransferredOut);
        let (ra, rb) = (fold_student(&a), fold_student(&b));
        assert_eq!(duplicate_since(&ra, &rb, d("2026-02-28")), None, "b not yet on a roll");
        assert_eq!(duplicate_since(&ra, &rb, d("2026-03-01")), Some(d("2026-03-01")));
        assert_eq!(duplicate_since(&rb, &ra, d("2026-03-31")), Some(d("2026-03-01")));
        assert_eq!(duplicate_since(&ra, &rb, d("2026-04-01")), None, "transferred out: one roll only");
        // Marked 辍学 still keeps the record (004 第七条): still two rolls.
        let mut c = student_revs("王芳", "鸦岭中心小学", 124, "2026-03-01");
        placement(&mut c, "2026-03-10", Status::DroppedOut);
        placement(&mut c, "2026-03-20", Status::Graduated);
        let rc = fold_student(&c);
        assert_eq!(duplicate_since(&ra, &rc, d("2026-03-15")), Some(d("2026-03-01")));
        assert_eq!(duplicate_since(&ra, &rc, d("2026-03-20")), None);
        // The alert names the school each record was at on the day.
        let al = duplicate_enrolment_alert(&org(), &ra, &rb, d("2026-03-01"));
        assert!(al.message.contains("高山九年制学校"), "{}", al.message);
    }

    fn student_revs(name: &str, school: &str, seq: u16, date: &str) -> Vec<Revision> {
        let sid = RecordId::created_by(next_id());
        let birth = Date::ymd(2013, 9, 9);
        let init = StudentInit { sex: Sex::Female, ..crate::testkit::pupil(name, birth, seq, school, 7) };
        vec![revision(sid, RecordKind::Student, d(date), Change::CreateStudent(Box::new(init)))]
    }

    #[test]
    fn duplicate_enrolment_names_both_schools() {
        let a = student("王芳", "鸦岭初中", 124);
        let b = student("王芳", "高山九年制学校", 124);
        let al = duplicate_enrolment_alert(&org(), &a, &b, d("2026-03-01"));
        assert!(al.message.contains("鸦岭初中") && al.message.contains("高山九年制学校"));
        assert!(!al.message.contains(a.id_number().unwrap().as_str()));
        assert!(!al.subject.contains(a.id_number().unwrap().as_str()));
        assert_eq!(al.subject_kind, SubjectKind::Student);
        assert_eq!(al.responsible, "陈校长（鸦岭初中校长）、高山九年制学校校长");
        assert_eq!(al.id, duplicate_enrolment_alert(&org(), &b, &a, d("2026-03-01")).id, "order-independent id");
    }

    #[test]
    fn conflict_alert_shows_both_values() {
        let c = primary_case("2026-03-02");
        let mut revs = c.revs.clone();
        for cause in [Cause::Poverty, Cause::Work] {
            revs.push(revision(
                c.id,
                RecordKind::Case,
                d("2026-03-03"),
                Change::Update(vec![Assign {
                    field: Field::Cause,
                    value: Value::Cause(cause),
                    supersedes: vec![c.id.creating_revision()],
                }]),
            ));
        }
        let r = fold(c.id, RecordKind::Case, &revs);
        assert!(r.register(Field::Cause).unwrap().in_conflict());
        let a = conflict_alert(&org(), &r, Field::Cause, d("2026-03-03"));
        assert!(a.message.contains("因贫") && a.message.contains("外出务工"), "{}", a.message);
        assert_eq!(a.township, "鸦岭镇");
        assert_eq!(a.subject_kind, SubjectKind::Case);
    }
}
