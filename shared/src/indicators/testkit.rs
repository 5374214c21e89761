//! Fixtures of the indicator tests: a county's org, histories built from revisions, and small
//! counties whose figures are worked out by hand.

use crate::dates::Date;
use crate::indicators::sim::Sim;
use crate::indicators::*;
use crate::model::{Outcome, Status};
use crate::revision::{Change, RecordId, Revision};

pub(super) fn d(y: i32, m: u32, day: u32) -> Date {
    Date::ymd(y, m, day)
}

pub(super) fn org() -> Org {
    Org::parse_csv(
        "乡镇,学校,类型\n鸦岭,鸦岭小学,小学\n鸦岭,鸦岭初中,初中\n白沙,白沙小学,小学\n白沙,白沙初中,初中\n城关,城关初中,初中\n"
            .as_bytes(),
    )
    .unwrap()
}

pub(super) fn history(revs: &[Revision]) -> History {
    History::from_revisions(DEFAULT_YEAR_START, revs)
}

pub(super) fn unit<'a, T>(units: &'a [T], name: &str, get: impl Fn(&T) -> &str) -> &'a T {
    units.iter().find(|u| get(u) == name).unwrap_or_else(|| panic!("no unit {name}"))
}

pub(super) fn baseline_junior() -> Baseline {
    let csv = "学校,入学学年,入学年级,入学人数,转入,转出,死亡\n\
               鸦岭初中,2024,7,5,1,1,0\n\
               白沙初中,2024-2025,7,4,,,1\n\
               城关初中,2024,七年级,2,0,0,0\n\
               鸦岭初中,2025,7,9,0,0,0\n\
               鸦岭小学,2018,1,7,2,3,0\n";
    Baseline::parse_csv(csv.as_bytes(), d(2025, 9, 10), Some(&org())).unwrap()
}

/// 初中三年巩固率 for school year 2026 (cohort entered grade 7 in 2024), as of 2027-03-01.
/// Baseline imported 2025-09-10 (counts up to then); roster entered 2025-09-01 in grade 8:
/// 鸦岭初中 a1–a5, 白沙初中 b1–b3, 城关初中 c1–c3, and x (grade 7: the next cohort).
///
/// - a4 转出 out of the county 2025-09-05: before the baseline date → already in its 转出.
/// - a1 转出 to 白沙初中 2025-11-01, accepted 11-05: out for 鸦岭, in for 白沙, not county.
/// - a2 转出 out of the county 2026-03-01: out for 鸦岭 and the county.
/// - b1 死亡 2026-01-10. n1 arrives 2026-02-01 at 鸦岭初中 in grade 8 (in for 鸦岭, county).
/// - a3 辍学 2026-10-01 (not a graduate). x 转出 out of county: another cohort, ignored.
///
/// 鸦岭: G 2 (a5 n1); I 5; Tin 1+1; Tout 1+1+1; X 0 → 2 / (5+2−3) = 0.5.
/// 白沙: G 3 (b2 b3 a1); I 4; Tin 0+1; Tout 0; X 1+1 → 3 / (4+1−0−2) = 1.0.
/// 城关: G 3 (c1–c3); I 2 → 3 / 2 = 1.5, shown and flagged.
/// County: G 8; I 11; Tin 1+1 (n1); Tout 1+1 (a2); X 1+1 → 8 / (11+2−2−2) = 8/9.
pub(super) fn junior_county() -> Sim {
    let mut s = Sim::new();
    let roster = d(2025, 9, 1);
    let a: Vec<RecordId> = (0..5).map(|_| s.student(roster, "鸦岭初中", 8)).collect();
    let b: Vec<RecordId> = (0..3).map(|_| s.student(roster, "白沙初中", 8)).collect();
    for _ in 0..3 {
        s.student(roster, "城关初中", 8);
    }
    let x = s.student(roster, "鸦岭初中", 7);
    s.transfer(a[3], d(2025, 9, 5), "鸦岭初中", None);
    s.transfer(a[0], d(2025, 11, 1), "鸦岭初中", Some("白沙初中"));
    s.place(a[0], d(2025, 11, 5), Status::Enrolled, "白沙初中");
    s.transfer(a[1], d(2026, 3, 1), "鸦岭初中", None);
    s.place(b[0], d(2026, 1, 10), Status::Deceased, "白沙初中");
    s.student(d(2026, 2, 1), "鸦岭初中", 8);
    s.place(a[2], d(2026, 10, 1), Status::DroppedOut, "鸦岭初中");
    s.transfer(x, d(2026, 4, 1), "鸦岭初中", None);
    s
}

/// As of 2027-03-31 (school year 2026).
///
/// 鸦岭: c1 roll, confirmed (counts); c2 roll, only suspected (not yet a dropout); c3 roll,
/// confirmed then returned 2026-12-01 (not); c6 roll confirmed, returned only 2027-04-10
/// (still out on the day: counts); c4 Ministry list (counts); c8 a poverty-office case of the
/// same child as c4 (counted once, as Ministry); c5 police (counts); c7 civil, opened
/// 2027-04-05 (not yet). → roll 2, list 1, census 1, total 4.
/// 白沙: one police case → census 1. 城关: one disability case → census 1.
/// Rates: 白沙 1 dropout of 2 → 0.5; 城关 0 of 2 → 0; 鸦岭 no students → none.
/// Ranking: 城关 (1, 0.0) 1st, 白沙 (1, 0.5) 2nd, 鸦岭 (4) 3rd.
pub(super) fn cases_county() -> Sim {
    use crate::model::{CaseSource::*, CaseState::*};
    let mut s = Sim::new();
    let closed = |o, on| Closed { outcome: o, evidence: None, on };
    let c1 = s.simple_case(d(2027, 1, 3), "鸦岭", Roll);
    s.case_state(c1, d(2027, 1, 10), Confirmed);
    s.simple_case(d(2027, 3, 28), "鸦岭", Roll);
    let c3 = s.simple_case(d(2026, 10, 25), "鸦岭", Roll);
    s.case_state(c3, d(2026, 11, 1), Confirmed);
    s.case_state(c3, d(2026, 12, 1), closed(Outcome::Returned, d(2026, 12, 1)));
    let c6 = s.simple_case(d(2027, 1, 25), "鸦岭", Roll);
    s.case_state(c6, d(2027, 2, 1), Confirmed);
    s.case_state(c6, d(2027, 4, 10), closed(Outcome::Returned, d(2027, 4, 10)));
    let c4 = s.simple_case(d(2026, 11, 1), "鸦岭", Ministry);
    let child = s.revs.iter().rev().find(|r| r.record == c4).and_then(|r| match &r.change {
        Change::CreateCase(i) => Some(i.child.clone()),
        _ => None,
    });
    s.case(d(2026, 11, 20), "鸦岭", Poverty, child.unwrap(), None);
    s.simple_case(d(2026, 12, 1), "鸦岭", Police);
    s.simple_case(d(2027, 4, 5), "鸦岭", Civil);
    s.simple_case(d(2026, 12, 1), "白沙", Police);
    s.simple_case(d(2026, 12, 1), "城关", Disability);
    let w1 = s.student(d(2026, 9, 1), "白沙小学", 3);
    s.student(d(2026, 9, 1), "白沙小学", 3);
    s.place(w1, d(2026, 10, 1), Status::DroppedOut, "白沙小学");
    s.student(d(2026, 9, 1), "城关初中", 8);
    s.student(d(2026, 9, 1), "城关初中", 8);
    s
}

/// School year 2026, as of 2027-03-01. Each student below is created 2026-09-01 unless said.
///
/// | who | school, grade | what happens | E | D |
/// |---|---|---|---|---|
/// | A | 鸦岭小学 3 | 辍学 10-10, back 11-01 | prim | no (returned) |
/// | B | 鸦岭小学 5 | 辍学 12-01, still out | prim | prim |
/// | C | 鸦岭初中 7 (created 2025-09-01) | 辍学 2026-03-01, still out | no (out on day 1) | no (before the year) |
/// | D | 鸦岭初中 7 | 休学 10-01 | jun | no (休学 is not a dropout) |
/// | E | 白沙小学 1 | created 送教上门 | prim | no |
/// | F | 白沙小学 2 | 死亡 12-01 | prim | no |
/// | G | 鸦岭初中 9 | 辍学 2027-01-05 | jun | jun |
/// | H | 鸦岭小学 4 | 转出 out of county 10-01 | prim | no |
/// | I | 鸦岭初中 8 | 辍学 2027-04-01 (after as-of) | jun | no |
/// | J | 鸦岭小学 6, created 2026-10-20 | — (a mid-year arrival) | no | no |
/// | K | 鸦岭小学 2, created 2026-09-25 | — (registered in the first month) | prim | no |
/// | L | 鸦岭初中 7 (created 2025-09-01) | 辍学 2026-05-01, back 09-10, 辍学 11-11 | no | jun (grade 8) |
///
/// 鸦岭小学 E 4 (A B H K), D 1 (B) → 0.25. 鸦岭初中 E 3 (D G I), D 2 (G L) → 2/3.
/// 白沙小学 E 2 (E F), D 0 → 0. 鸦岭 E 7 D 3 → 3/7 (primary 1/4, junior 2/3).
/// 白沙 E 2 D 0 → 0; junior none → null. County E 9 D 3 → 1/3; primary 1/6; junior 2/3.
pub(super) fn dropout_county() -> Sim {
    let mut s = Sim::new();
    let day1 = d(2026, 9, 1);
    let a = s.student(day1, "鸦岭小学", 3);
    s.place(a, d(2026, 10, 10), Status::DroppedOut, "鸦岭小学");
    s.place(a, d(2026, 11, 1), Status::Enrolled, "鸦岭小学");
    let b = s.student(day1, "鸦岭小学", 5);
    s.place(b, d(2026, 12, 1), Status::DroppedOut, "鸦岭小学");
    let c = s.student(d(2025, 9, 1), "鸦岭初中", 7);
    s.place(c, d(2026, 3, 1), Status::DroppedOut, "鸦岭初中");
    let dd = s.student(day1, "鸦岭初中", 7);
    s.place(dd, d(2026, 10, 1), Status::Suspended, "鸦岭初中");
    let mut init = s.init("送教生", "白沙小学", 1, d(2020, 3, 1), crate::model::Sex::Female);
    init.placement.status = Status::HomeDelivered;
    s.create(day1, init);
    let f = s.student(day1, "白沙小学", 2);
    s.place(f, d(2026, 12, 1), Status::Deceased, "白沙小学");
    let g = s.student(day1, "鸦岭初中", 9);
    s.place(g, d(2027, 1, 5), Status::DroppedOut, "鸦岭初中");
    let h = s.student(day1, "鸦岭小学", 4);
    s.transfer(h, d(2026, 10, 1), "鸦岭小学", None);
    let i = s.student(day1, "鸦岭初中", 8);
    s.place(i, d(2027, 4, 1), Status::DroppedOut, "鸦岭初中");
    s.student(d(2026, 10, 20), "鸦岭小学", 6);
    s.student(d(2026, 9, 25), "鸦岭小学", 2);
    let l = s.student(d(2025, 9, 1), "鸦岭初中", 7);
    s.place(l, d(2026, 5, 1), Status::DroppedOut, "鸦岭初中");
    s.place(l, d(2026, 9, 10), Status::Enrolled, "鸦岭初中");
    s.place(l, d(2026, 11, 11), Status::DroppedOut, "鸦岭初中");
    s
}
