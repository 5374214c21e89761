//! Property test: the two models of "state on day D" agree (issue 10 point 4).
//!
//! Alerts read a student's placement and a case's state on a day from the folded record
//! ([`Record::value_on`](crate::state::Record::value_on): among the writes dated on or before
//! the day, those no other such write replaced, the latest clock winning). Indicators read them
//! from the [`History`] timelines (a write replaced by one dated on or before it is dropped; the
//! last remaining event dated on or before the day holds). Over a generated school year of
//! students and cases — each written by one node in turn, later writes sometimes back-dated to
//! correct an earlier one, the revisions arriving in any order — both give the same placement
//! and the same case state on every day.
//!
//! Not covered, on purpose: concurrent writes (two nodes replacing the same value, a conflict).
//! There the models differ until the conflict is resolved: the record shows the interim winner
//! by clock, the timeline the value dated last (see ARCHITECTURE.md, "State on a day").
//!
//! Cases: 8 by default; `BAOXUE_PROPTEST_CASES=500 cargo test -p baoxue-shared two_models`
//! runs longer.

use proptest::prelude::*;

use super::history::{CaseStatus, History, DEFAULT_YEAR_START};
use super::sim::Sim;
use crate::dates::Date;
use crate::model::{CaseSource, CaseState, Outcome, Placement, Status, TransferTarget};
use crate::revision::RecordId;
use crate::state::fold_all;

fn cases() -> u32 {
    std::env::var("BAOXUE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(8)
}

const SCHOOLS: [&str; 3] = ["鸦岭小学", "白沙小学", "鸦岭初中"];
const STATUSES: [Status; 5] =
    [Status::Enrolled, Status::Suspended, Status::DroppedOut, Status::HomeDelivered, Status::TransferredOut];

/// The first day of the generated school year; every write is dated within it.
fn year_start() -> Date {
    Date::ymd(2026, 9, 1)
}

/// One write in call order: its business date (days into the year) and what it writes (an
/// index into the statuses or case states, and a school).
type Write = (i64, usize, usize);

fn writes() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0i64..365, 0usize..8, 0usize..SCHOOLS.len()), 0..6)
}

#[derive(Debug, Clone)]
struct Year {
    /// Per student: the day it was created and its later placement writes.
    students: Vec<(i64, Vec<Write>)>,
    /// Per case: the day it was opened and its later state writes.
    cases: Vec<(i64, Vec<Write>)>,
    /// The arrival order at the history (a permutation seed).
    shuffle: u64,
}

fn year() -> impl Strategy<Value = Year> {
    (
        prop::collection::vec((0i64..365, writes()), 1..6),
        prop::collection::vec((0i64..365, writes()), 0..4),
        any::<u64>(),
    )
        .prop_map(|(students, cases, shuffle)| Year { students, cases, shuffle })
}

fn case_state(k: usize, on: Date) -> CaseState {
    match k % 4 {
        0 => CaseState::Suspected,
        1 => CaseState::Confirmed,
        _ => CaseState::Closed { outcome: Outcome::ALL[k % Outcome::ALL.len()], evidence: None, on },
    }
}

fn as_status(s: &CaseState) -> CaseStatus {
    match s {
        CaseState::Suspected => CaseStatus::Suspected,
        CaseState::Confirmed => CaseStatus::Confirmed,
        CaseState::Closed { outcome, .. } => CaseStatus::Closed(*outcome),
    }
}

/// The timeline keeps no out-of-county place name.
fn without_place_name(p: &Placement) -> Placement {
    let mut p = p.clone();
    if let Some(TransferTarget::OutOfCounty(name)) = &mut p.transfer {
        name.clear();
    }
    p
}

fn build(y: &Year) -> (Sim, Vec<RecordId>, Vec<RecordId>) {
    let mut s = Sim::new();
    let start = year_start();
    let mut students = Vec::new();
    for (created, ws) in &y.students {
        let id = s.student(start.add_days(*created), SCHOOLS[0], 3);
        for &(day, k, school) in ws {
            let on = start.add_days(day);
            let status = STATUSES[k % STATUSES.len()];
            if status == Status::TransferredOut {
                let to = if k % 2 == 0 { Some(SCHOOLS[(school + 1) % SCHOOLS.len()]) } else { None };
                s.transfer(id, on, SCHOOLS[school], to);
            } else {
                s.place(id, on, status, SCHOOLS[school]);
            }
        }
        students.push(id);
    }
    let mut cases = Vec::new();
    for (opened, ws) in &y.cases {
        let c = s.simple_case(start.add_days(*opened), "鸦岭镇", CaseSource::Roll);
        for &(day, k, _) in ws {
            let on = start.add_days(day);
            s.case_state(c, on, case_state(k, on));
        }
        cases.push(c);
    }
    (s, students, cases)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn records_and_timelines_agree_on_every_day(y in year()) {
        let (sim, students, cases) = build(&y);
        let records = fold_all(&sim.revs);
        // Any arrival order.
        let mut revs = sim.revs.clone();
        let mut x = y.shuffle | 1;
        for i in (1..revs.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            revs.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let h = History::from_revisions(DEFAULT_YEAR_START, &revs);
        let start = year_start();
        for day in -1..=366 {
            let d = start.add_days(day);
            for id in &students {
                let by_record = records[id].placement_on(d).map(without_place_name);
                let by_timeline = h.placement_on(*id, d);
                prop_assert_eq!(by_record, by_timeline, "student {} on {}", id, d);
            }
            for id in &cases {
                let by_record = records[id].case_state_on(d).map(as_status);
                let by_timeline = h.case_state_on(*id, d);
                prop_assert_eq!(by_record, by_timeline, "case {} on {}", id, d);
            }
        }
    }
}
