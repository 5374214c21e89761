//! Building revisions for tests: one origin, clocks increasing in call order, each write
//! superseding the current head of its field (what a real node does).

use std::collections::HashMap;

use crate::dates::Date;
use crate::ids::{make_id, IdNumber};
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
            record: record.unwrap_or(RecordId::created_by(id)),
            kind,
            origin: "鸦岭-node".into(),
            seq: self.next as u64,
            hlc: Hlc { ms: 1_000 + self.next as u64, n: 0 },
            author: "测试".into(),
            date,
            change,
        }
    }

    /// A fresh ID sequence number agreeing with `sex` (odd: male).
    fn seq(&mut self, sex: Sex) -> u16 {
        self.ids += 2;
        if sex == Sex::Male {
            self.ids + 1
        } else {
            self.ids
        }
    }

    /// A fresh valid ID number for a birth date and sex.
    pub fn id(&mut self, birth: Date, sex: Sex) -> IdNumber {
        let seq = self.seq(sex);
        make_id("410329", birth.0, seq)
    }

    pub fn init(&mut self, name: &str, school: &str, grade: u8, birth: Date, sex: Sex) -> StudentInit {
        let seq = self.seq(sex);
        StudentInit { sex, ..crate::testkit::pupil(name, birth, seq, school, grade) }
    }

    pub fn create(&mut self, date: Date, init: StudentInit) -> RecordId {
        let r = self.rev(None, RecordKind::Student, date, Change::CreateStudent(Box::new(init.clone())));
        let id = RecordId::created_by(r.id);
        for (f, _) in init.fields() {
            self.heads.insert((id, f), r.id);
        }
        self.revs.push(r);
        id
    }

    /// A pupil of `grade` in the school year of `date`, 在读 at `school`.
    pub fn student(&mut self, date: Date, school: &str, grade: u8) -> RecordId {
        let y = crate::dates::SchoolYear::of(date, crate::dates::SchoolYearStart::DEFAULT);
        let birth = Date::ymd(y.first_calendar_year() - 5 - i32::from(grade), 3, 1);
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
        let id = RecordId::created_by(r.id);
        for (f, _) in init.fields() {
            self.heads.insert((id, f), r.id);
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
