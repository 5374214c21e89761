//! Test fixtures shared by every test crate (the `testkit` feature, and this crate's own
//! tests): the one builder of a test student, so that the store's, the hub's, the simulator's
//! and the sync engine's tests do not each keep a copy of a 20-field struct literal. Not part
//! of the shipped binaries: nothing outside a test enables the feature.

use crate::dates::Date;
use crate::ids::{make_id, StudentNo};
use crate::model::{Placement, Sex, Status};
use crate::revision::{RecordId, RevId, StudentInit};

/// A pupil on the roll (在读) of `school` in `grade`: ID number made from `birth` and `seq`
/// (county 410329), national 学籍号 (G + 身份证号), sex agreeing with the ID's sequence (odd:
/// male, as the ID check does); nothing optional filled in. Tests set what they need with
/// struct update syntax: `StudentInit { entry_year: Some(2021), ..pupil(…) }`.
pub fn pupil(name: &str, birth: Date, seq: u16, school: &str, grade: u8) -> StudentInit {
    let id = make_id("410329", birth.0, seq);
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).expect("a national number is valid"),
        id_number: Some(id),
        name: name.into(),
        sex: if seq % 2 == 1 { Sex::Male } else { Sex::Female },
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

/// The id of a new record: the id of the (random) revision that will create it.
pub fn new_record() -> RecordId {
    RecordId::created_by(RevId::random())
}
