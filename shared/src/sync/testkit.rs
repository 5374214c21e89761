//! Fixtures of the sync tests: two townships, three schools, and the tests' "now".

use crate::model::SchoolType;
use crate::org::{Org, School, Township};

pub(super) const A: &str = "鸦岭";
pub(super) const B: &str = "高山";
pub(super) const SCHOOL_A: &str = "鸦岭小学";
pub(super) const SCHOOL_A2: &str = "鸦岭初中";
pub(super) const SCHOOL_B: &str = "高山小学";
/// 2026-03-01 00:00 UTC, the tests' "now".
pub(super) const NOW: u64 = 1_772_323_200_000;

pub(super) fn org() -> Org {
    let mut org = Org::default();
    for t in [A, B] {
        org.townships.insert(t.into(), Township { name: t.into(), ..Default::default() });
    }
    for (s, t, k) in
        [(SCHOOL_A, A, SchoolType::Primary), (SCHOOL_A2, A, SchoolType::Junior), (SCHOOL_B, B, SchoolType::Primary)]
    {
        org.schools.insert(
            s.into(),
            School { name: s.into(), township: t.into(), kind: k, principal: None, bureau_leader: None },
        );
    }
    org
}
