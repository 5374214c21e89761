//! Fixtures of the alert tests: an org with responsible people, and cases built revision by
//! revision as a node writes them.

use chrono::NaiveDate;

use crate::alerts::*;
use crate::dates::Date;
use crate::ids::make_id;
use crate::model::{Action, CaseSource, CaseState, Notice};
use crate::model::{ActionKind, Cause, Outcome, Sex};
use crate::org::Org;
use crate::policy::Policy;
use crate::revision::{Assign, Change, Child, Hlc, RecordId, RevId, Revision, Value};
use crate::revision::{CaseInit, Field, RecordKind};
use crate::state::fold;
use crate::state::Record;

pub(super) fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

pub(super) fn org() -> Org {
    let csv = "乡镇,学校,类型,校长,包校领导,乡镇分管领导,乡镇主要领导\n\
               鸦岭镇,鸦岭中心小学,小学,王校长,赵局长,李副镇长,张镇长\n\
               鸦岭镇,鸦岭初中,初中,陈校长,赵局长,李副镇长,张镇长\n\
               高山乡,高山九年制学校,九年一贯制,,,,\n";
    Org::parse_csv(csv.as_bytes()).unwrap()
}

/// Builds the revisions of one case and folds them, as the store would.
#[derive(Clone)]
pub(super) struct CaseBuilder {
    pub(super) id: RecordId,
    pub(super) revs: Vec<Revision>,
    state_heads: Vec<RevId>,
}

pub(super) static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(super) fn next_id() -> RevId {
    RevId(u128::from(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) << 64 | 0xabc)
}

pub(super) fn revision(record: RecordId, kind: RecordKind, date: Date, change: Change) -> Revision {
    let id = if matches!(change, Change::CreateCase(_) | Change::CreateStudent(_)) {
        record.creating_revision()
    } else {
        next_id()
    };
    let seq = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Revision {
        id,
        record,
        kind,
        origin: "node-yaling".into(),
        seq,
        hlc: Hlc { ms: seq, n: 0 },
        author: "测试".into(),
        date,
        change,
    }
}

impl CaseBuilder {
    pub(super) fn new(
        name: &str,
        township: &str,
        school: Option<&str>,
        grade: Option<u8>,
        clock_start: Date,
    ) -> CaseBuilder {
        Self::with_student(name, township, school, grade, clock_start, None)
    }

    pub(super) fn with_student(
        name: &str,
        township: &str,
        school: Option<&str>,
        grade: Option<u8>,
        clock_start: Date,
        student: Option<RecordId>,
    ) -> CaseBuilder {
        let id = RecordId::created_by(next_id());
        let birth = NaiveDate::from_ymd_opt(2014, 5, 6).unwrap();
        let init = CaseInit {
            student,
            child: Child {
                name: name.into(),
                id_number: Some(make_id("410329", birth, 123)),
                student_no: None,
                sex: Sex::Male,
                birth: Date(birth),
                hukou_township: Some(township.into()),
                hukou_village: None,
                groups: vec![],
            },
            township: township.into(),
            school: school.map(str::to_string),
            grade,
            source: CaseSource::Roll,
            opened: clock_start,
            clock_start,
            cause: Cause::Unknown,
            previous: None,
        };
        let rev = revision(id, RecordKind::Case, clock_start, Change::CreateCase(Box::new(init)));
        CaseBuilder { id, revs: vec![rev], state_heads: vec![id.creating_revision()] }
    }

    pub(super) fn act(mut self, date: &str, kind: ActionKind, notice: Option<Notice>) -> Self {
        let a = Action { date: d(date), kind, by: "刘老师".into(), notice, text: None };
        self.revs.push(revision(self.id, RecordKind::Case, d(date), Change::Act(a)));
        self
    }

    pub(super) fn state(mut self, date: &str, state: CaseState) -> Self {
        let rev = revision(
            self.id,
            RecordKind::Case,
            d(date),
            Change::Update(vec![Assign {
                field: Field::CaseState,
                value: Value::CaseState(state),
                supersedes: self.state_heads.clone(),
            }]),
        );
        self.state_heads = vec![rev.id];
        self.revs.push(rev);
        self
    }

    pub(super) fn confirm(self, date: &str) -> Self {
        self.state(date, CaseState::Confirmed)
    }

    pub(super) fn responsible(mut self, date: &str, text: &str) -> Self {
        self.revs.push(revision(
            self.id,
            RecordKind::Case,
            d(date),
            Change::Update(vec![Assign {
                field: Field::Responsible,
                value: Value::OptText(Some(text.into())),
                supersedes: vec![],
            }]),
        ));
        self
    }

    pub(super) fn close(self, date: &str, outcome: Outcome) -> Self {
        self.state(date, CaseState::Closed { outcome, evidence: None, on: d(date) })
    }

    /// Closes as 休学 until `until` (with its evidence register, as `case close` writes it).
    pub(super) fn suspend_until(self, date: &str, until: &str) -> Self {
        let mut c = self.close(date, Outcome::Suspended);
        let proof = crate::model::ClosureEvidence { until: Some(d(until)), ..Default::default() };
        c.revs.push(revision(
            c.id,
            RecordKind::Case,
            d(date),
            Change::Update(vec![Assign {
                field: Field::Closure,
                value: Value::Closure(Box::new(proof)),
                supersedes: vec![],
            }]),
        ));
        c
    }

    pub(super) fn build(&self) -> Record {
        fold(self.id, RecordKind::Case, &self.revs)
    }
}

pub(super) fn primary_case(start: &str) -> CaseBuilder {
    CaseBuilder::new("张小明", "鸦岭镇", Some("鸦岭中心小学"), Some(5), d(start))
}

pub(super) fn rules(policy: &Policy, case: &Record, as_of: &str) -> Vec<String> {
    case_alerts(policy, &org(), case, None, d(as_of)).into_iter().map(|a| a.rule).collect()
}

pub(super) fn shapotou() -> Policy {
    Policy::preset("shapotou").unwrap()
}

/// Confirmed 03-09, 03-12 and 04-07: more than two from T = 04-07.
pub(super) fn three_junior_dropouts() -> Vec<CaseBuilder> {
    vec![
        CaseBuilder::new("甲", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-02")).confirm("2026-03-09"),
        CaseBuilder::new("乙", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-05")).confirm("2026-03-12"),
        CaseBuilder::new("丙", "鸦岭镇", Some("鸦岭初中"), Some(9), d("2026-03-31")).confirm("2026-04-07"),
    ]
}

/// A 5th-grader of 鸦岭中心小学 with these absences recorded (each on its own business date).
pub(super) fn student_with_absences(absences: &[(&str, crate::model::AbsenceKind)]) -> Record {
    use crate::revision::StudentInit;
    let sid = RecordId::created_by(next_id());
    let birth = Date::ymd(2014, 5, 6);
    let init = StudentInit {
        sex: Sex::Male,
        class: Some("2".into()),
        ..crate::testkit::pupil("张小明", birth, 123, "鸦岭中心小学", 5)
    };
    let mut revs = vec![revision(sid, RecordKind::Student, d("2025-09-01"), Change::CreateStudent(Box::new(init)))];
    for (day, kind) in absences {
        revs.push(revision(sid, RecordKind::Student, d(day), Change::Absence { day: d(day), kind: *kind }));
    }
    fold(sid, RecordKind::Student, &revs)
}
