//! The test student every store test builds: one place, so the store's test crates agree on it
//! (built by `baoxue_shared::testkit`, the fixtures of every test crate).

use baoxue_shared::revision::StudentInit;
use baoxue_shared::testkit::pupil;
use baoxue_shared::Date;

pub use baoxue_shared::testkit::new_record;

/// Student `i` of 鸦岭小学, grade 4, born 2016-05-01; the sex agrees with the ID's sequence
/// (odd: male), as the ID check does.
pub fn student(i: u16) -> StudentInit {
    StudentInit { entry_year: Some(2023), ..pupil(&format!("学生{i}"), Date::ymd(2016, 5, 1), i, "鸦岭小学", 4) }
}
