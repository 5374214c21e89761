//! The test student every store test builds: one place, so the store's test crates agree on it.

use baoxue_shared::ids::{make_id, StudentNo};
use baoxue_shared::model::{Placement, Sex, Status};
use baoxue_shared::revision::StudentInit;
use baoxue_shared::{Date, RecordId, RevId};

/// The id of a new record: the id of the (random) revision that will create it.
pub fn new_record() -> RecordId {
    RecordId::created_by(RevId::random())
}

/// Student `i` of 鸦岭小学, grade 4, born 2016-05-01; the sex agrees with the ID's sequence
/// (odd: male), as the ID check does.
pub fn student(i: u16) -> StudentInit {
    let id = make_id("410329", Date::ymd(2016, 5, 1).0, i);
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
        id_number: Some(id),
        name: format!("学生{i}"),
        sex: if i % 2 == 1 { Sex::Male } else { Sex::Female },
        birth: Date::ymd(2016, 5, 1),
        grade: 4,
        class: None,
        hukou_township: None,
        hukou_village: None,
        entry_year: Some(2023),
        groups: vec![],
        guardian: None,
        phone: None,
        placement: Placement { status: Status::Enrolled, school: "鸦岭小学".into(), transfer: None },
    }
}
