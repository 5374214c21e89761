//! Property test of the clock rules (issue 13 point 9): adding an excused day or a day with no
//! school never makes a case alert appear earlier, at any preset.
//!
//! Cases: 16 by default; `BAOXUE_PROPTEST_CASES=2000 cargo test -p baoxue-shared clock_props`
//! runs longer.

use proptest::prelude::*;

use super::case::case_alerts_in;
use super::testkit::*;
use super::Alert;
use crate::calendar::Closure;
use crate::dates::Date;
use crate::model::AbsenceKind;
use crate::policy::Policy;

const PRESETS: [&str; 5] = ["shapotou", "yaoan", "lipu", "feicheng", "yichuan"];

fn cases() -> u32 {
    std::env::var("BAOXUE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16)
}

/// One unexcused episode: day 0 and the further unexcused days (offsets from day 0).
#[derive(Debug, Clone)]
struct Episode {
    preset: usize,
    day0: i64,
    unexcused: Vec<i64>,
}

fn episode() -> impl Strategy<Value = Episode> {
    (0..PRESETS.len(), 0i64..700, prop::collection::vec(1i64..40, 0..8)).prop_map(|(preset, day0, unexcused)| Episode {
        preset,
        day0,
        unexcused,
    })
}

fn start() -> Date {
    Date::parse("2025-09-01").unwrap()
}

/// The alerts of the episode's case on each day from day 0 to 60 days after it, with the
/// calendar given and the absences given (day, kind).
fn alerts_by_day(
    p: &Policy,
    cal: &crate::calendar::Calendar,
    e: &Episode,
    extra: &[(i64, AbsenceKind)],
) -> Vec<Vec<Alert>> {
    let day0 = start().add_days(e.day0);
    let mut absences: Vec<(String, AbsenceKind)> = vec![(day0.to_string(), AbsenceKind::Unexcused)];
    for off in &e.unexcused {
        if !extra.iter().any(|(x, _)| x == off) {
            absences.push((day0.add_days(*off).to_string(), AbsenceKind::Unexcused));
        }
    }
    for (off, k) in extra {
        absences.push((day0.add_days(*off).to_string(), *k));
    }
    let refs: Vec<(&str, AbsenceKind)> = absences.iter().map(|(d, k)| (d.as_str(), *k)).collect();
    let student = student_with_absences(&refs);
    let case = primary_case(&day0.to_string()).build();
    (0..=60).map(|i| case_alerts_in(p, cal, &org(), &case, Some(&student), day0.add_days(i))).collect()
}

/// Every alert of `with` is in `without` on the same day, falling due no earlier.
fn never_earlier(with: &[Vec<Alert>], without: &[Vec<Alert>]) -> Result<(), TestCaseError> {
    for (day, (w, o)) in with.iter().zip(without).enumerate() {
        for a in w {
            let same = o.iter().find(|b| b.rule == a.rule);
            prop_assert!(same.is_some(), "day +{day}: {} appeared: {:?} vs {:?}", a.rule, w, o);
            prop_assert!(a.due >= same.map(|b| b.due).unwrap_or(a.due), "day +{day}: {} earlier", a.rule);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn an_excused_day_never_brings_an_alert_earlier(e in episode(), off in 1i64..40, personal in any::<bool>()) {
        let p = Policy::preset(PRESETS[e.preset]).unwrap();
        let cal = p.calendar();
        let kind = if personal { AbsenceKind::Personal } else { AbsenceKind::Sick };
        let without = alerts_by_day(&p, &cal, &e, &[(off, AbsenceKind::Unexcused)]);
        let with = alerts_by_day(&p, &cal, &e, &[(off, kind)]);
        never_earlier(&with, &without)?;
    }

    #[test]
    fn a_day_with_no_school_never_brings_an_alert_earlier(e in episode(), off in 0i64..40, len in 0i64..3) {
        let p = Policy::preset(PRESETS[e.preset]).unwrap();
        let cal = p.calendar();
        let from = start().add_days(e.day0 + off);
        let closed = cal.clone().with_closures(&[Closure::new("雪天停课", from, from.add_days(len)).unwrap()]).unwrap();
        let without = alerts_by_day(&p, &cal, &e, &[]);
        let with = alerts_by_day(&p, &closed, &e, &[]);
        never_earlier(&with, &without)?;
    }
}
