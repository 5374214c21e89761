//! 辍学率: the roll on the school year's first day against the students out of school since.

use serde::{Deserialize, Serialize};

use super::history::{grade_at, rate, stage_of, History};
use super::units::{Acc, Units};
use crate::dates::{Date, SchoolYear};
use crate::model::{Stage, Status};
use crate::org::Org;

/// E, D and the rate for one stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageRate {
    pub enrolled_at_start: u64,
    pub dropouts: u64,
    pub rate: Option<f64>,
}

impl StageRate {
    fn of(e: u64, d: u64) -> StageRate {
        StageRate { enrolled_at_start: e, dropouts: d, rate: rate(d, e) }
    }
}

/// One unit of the dropout report (docs/CLI.md `report dropout --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutUnit {
    pub name: String,
    pub enrolled_at_start: u64,
    pub dropouts: u64,
    pub rate: Option<f64>,
    pub primary: StageRate,
    pub junior: StageRate,
}

/// 辍学率 for school year `school_year` as of `as_of`: county, each township, each school.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutReport {
    pub as_of: Date,
    pub school_year: SchoolYear,
    pub county: DropoutUnit,
    pub townships: Vec<DropoutUnit>,
    pub schools: Vec<DropoutUnit>,
}

/// The terms of 辍学率 for one stage of a unit, as FORMULAS.md names them.
#[derive(Debug, Clone, Copy, Default)]
struct Terms {
    /// E: on the roll on the school year's first day.
    enrolled_at_start: u64,
    /// D: out of school since a day within the year.
    dropouts: u64,
}

/// The terms of one unit, by stage.
#[derive(Debug, Clone, Copy, Default)]
struct StageTerms {
    primary: Terms,
    junior: Terms,
}

impl StageTerms {
    fn of(&mut self, s: Stage) -> &mut Terms {
        match s {
            Stage::Primary => &mut self.primary,
            Stage::Junior => &mut self.junior,
        }
    }
}

fn dropout_unit(name: &str, c: &StageTerms) -> DropoutUnit {
    let (p, j) = (c.primary, c.junior);
    let (e, d) = (p.enrolled_at_start + j.enrolled_at_start, p.dropouts + j.dropouts);
    DropoutUnit {
        name: name.to_string(),
        enrolled_at_start: e,
        dropouts: d,
        rate: rate(d, e),
        primary: StageRate::of(p.enrolled_at_start, p.dropouts),
        junior: StageRate::of(j.enrolled_at_start, j.dropouts),
    }
}

/// 辍学率 = D / E (docs/FORMULAS.md), per unit, split primary/junior.
pub fn dropout_report(h: &History, org: &Org, school_year: SchoolYear, as_of: Date) -> DropoutReport {
    let u = Units::new(h, org);
    let mut acc: Acc<StageTerms> = Acc::new(&u);
    let (y0, y1) = (h.start_of(school_year), h.start_of(school_year + 1));
    let (mut places, mut grades) = (Vec::new(), Vec::new());
    for (i, m) in h.students.iter().enumerate() {
        if m.created.is_none() {
            continue;
        }
        h.timeline(i as u32, &mut places, &mut grades);
        if let Some(p) = h.place_at_start(i as u32, &places, y0, y1) {
            if p.status.on_roll() {
                let st = stage_of(grade_at(&grades, y0, h.year_start).unwrap_or(1));
                acc.each(u.of(p.school), |c| c.of(st).enrolled_at_start += 1);
            }
        }
        let Some(last) = places.iter().rposition(|p| p.date <= as_of) else {
            continue;
        };
        if places[last].status != Status::DroppedOut {
            continue;
        }
        let mut first = last;
        while first > 0 && places[first - 1].status == Status::DroppedOut {
            first -= 1;
        }
        let began = places[first].date;
        if began >= y0 && began < y1 {
            let st = stage_of(grade_at(&grades, began, h.year_start).unwrap_or(1));
            acc.each(u.of(places[last].school), |c| c.of(st).dropouts += 1);
        }
    }
    DropoutReport {
        as_of,
        school_year,
        county: dropout_unit("全县", &acc.county),
        townships: u.townships.iter().zip(&acc.townships).map(|(n, c)| dropout_unit(n, c)).collect(),
        schools: u.schools.iter().zip(&acc.schools).map(|(n, c)| dropout_unit(n, c)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::indicators::sim::Sim;
    use crate::indicators::testkit::*;

    use crate::model::Status;

    use crate::report::{render, Format};
    use crate::revision::RecordId;

    #[test]
    fn dropout_rate_by_hand() {
        let s = dropout_county();
        let org = org();
        let r = dropout_report(&history(&s.revs), &org, SchoolYear(2026), d(2027, 3, 1));
        let c = &r.county;
        assert_eq!((c.enrolled_at_start, c.dropouts), (9, 3));
        assert_eq!(c.rate, Some(1.0 / 3.0));
        assert_eq!(c.primary, StageRate { enrolled_at_start: 6, dropouts: 1, rate: Some(1.0 / 6.0) });
        assert_eq!(c.junior, StageRate { enrolled_at_start: 3, dropouts: 2, rate: Some(2.0 / 3.0) });

        let t = |n| unit(&r.townships, n, |u: &DropoutUnit| &u.name);
        assert_eq!((t("鸦岭").enrolled_at_start, t("鸦岭").dropouts, t("鸦岭").rate), (7, 3, Some(3.0 / 7.0)));
        assert_eq!(t("鸦岭").primary.rate, Some(0.25));
        assert_eq!((t("白沙").enrolled_at_start, t("白沙").dropouts, t("白沙").rate), (2, 0, Some(0.0)));
        assert_eq!(t("白沙").junior.rate, None);
        assert_eq!((t("城关").enrolled_at_start, t("城关").rate), (0, None));

        let sc = |n| unit(&r.schools, n, |u: &DropoutUnit| &u.name);
        assert_eq!((sc("鸦岭小学").enrolled_at_start, sc("鸦岭小学").dropouts), (4, 1));
        assert_eq!((sc("鸦岭初中").enrolled_at_start, sc("鸦岭初中").dropouts), (3, 2));
        assert_eq!(sc("鸦岭初中").junior.rate, Some(2.0 / 3.0));
        assert_eq!((sc("白沙小学").enrolled_at_start, sc("白沙小学").dropouts), (2, 0));
        // Every township and school of the org appears, in a stable order.
        assert_eq!(r.townships.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["城关", "白沙", "鸦岭"]);
        assert_eq!(r.schools.len(), 5);

        // Later, on 2027-04-02, I's dropout (2027-04-01) counts too.
        let later = dropout_report(&history(&s.revs), &org, SchoolYear(2026), d(2027, 4, 2));
        assert_eq!(later.county.dropouts, 4);
        // The school year before: C and L dropped out in 2025 (both still out on 2026-08-31).
        let before = dropout_report(&history(&s.revs), &org, SchoolYear(2025), d(2026, 8, 31));
        assert_eq!((before.county.enrolled_at_start, before.county.dropouts), (2, 2));
    }

    #[test]
    fn dropout_json_keys() {
        let s = dropout_county();
        let r = dropout_report(&history(&s.revs), &org(), SchoolYear(2026), d(2027, 3, 1));
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let mut top = keys(&v);
        top.sort();
        assert_eq!(top, ["as_of", "county", "school_year", "schools", "townships"]);
        assert_eq!(v["as_of"], "2027-03-01");
        assert_eq!(v["school_year"], 2026);
        let mut u = keys(&v["county"]);
        u.sort();
        assert_eq!(u, ["dropouts", "enrolled_at_start", "junior", "name", "primary", "rate"]);
        let mut st = keys(&v["county"]["primary"]);
        st.sort();
        assert_eq!(st, ["dropouts", "enrolled_at_start", "rate"]);
        assert!(v["townships"][0]["junior"]["rate"].is_null());
    }

    /// 辍学率's E is the roll on the first day: school year 2026, as of 2027-06-30, no roll before.
    ///
    /// - 鸦岭小学: roster of 2026-09-01, p1 p2 p3 (grade 2); p4 registered 2026-09-20 (grade 1,
    ///   within the first month: on the first day's roll). p5 arrives from another county on
    ///   2026-11-15 (grade 3) and drops out 2027-03-01: in D, not in E. p1 drops out 2026-12-01.
    ///   p2 moves to 白沙小学 2027-02-01 (accepted 02-03): in E at 鸦岭小学, its first-day school.
    /// - 白沙小学 starts using the system in the middle of the year: its first roster, b1 b2 b3
    ///   on 2027-01-10 and b4 on 2027-01-25 (a second batch within the month), describes the
    ///   roll, so all four are in E. b5 arrives 2027-03-20 (a school already in the system): not
    ///   in E. b2 drops out 2027-04-01.
    ///
    /// 鸦岭小学: E 4 (p1–p4), D 2 (p1 p5) → 1/2. 白沙小学: E 4 (b1–b4), D 1 (b2) → 1/4.
    /// County: E 8, D 3 → 3/8 (counting every record created in the year, E would be 10).
    #[test]
    fn dropout_e_is_the_first_day_roll_not_mid_year_arrivals() {
        let mut s = Sim::new();
        let p: Vec<RecordId> = (0..3).map(|_| s.student(d(2026, 9, 1), "鸦岭小学", 2)).collect();
        let p4 = s.student(d(2026, 9, 20), "鸦岭小学", 1);
        let p5 = s.student(d(2026, 11, 15), "鸦岭小学", 3);
        s.place(p5, d(2027, 3, 1), Status::DroppedOut, "鸦岭小学");
        s.place(p[0], d(2026, 12, 1), Status::DroppedOut, "鸦岭小学");
        s.transfer(p[1], d(2027, 2, 1), "鸦岭小学", Some("白沙小学"));
        s.place(p[1], d(2027, 2, 3), Status::Enrolled, "白沙小学");
        let b: Vec<RecordId> = (0..3).map(|_| s.student(d(2027, 1, 10), "白沙小学", 4)).collect();
        let b4 = s.student(d(2027, 1, 25), "白沙小学", 4);
        let b5 = s.student(d(2027, 3, 20), "白沙小学", 4);
        s.place(b[1], d(2027, 4, 1), Status::DroppedOut, "白沙小学");
        let h = history(&s.revs);
        let r = dropout_report(&h, &org(), SchoolYear(2026), d(2027, 6, 30));
        let sc = |n| unit(&r.schools, n, |u: &DropoutUnit| &u.name);
        assert_eq!((sc("鸦岭小学").enrolled_at_start, sc("鸦岭小学").dropouts, sc("鸦岭小学").rate), (4, 2, Some(0.5)));
        assert_eq!(
            (sc("白沙小学").enrolled_at_start, sc("白沙小学").dropouts, sc("白沙小学").rate),
            (4, 1, Some(0.25))
        );
        assert_eq!((r.county.enrolled_at_start, r.county.dropouts, r.county.rate), (8, 3, Some(3.0 / 8.0)));
        assert_eq!(r.county.primary.enrolled_at_start, 8);
        let mut e = h.enrolled_at_start(SchoolYear(2026));
        e.sort();
        let mut want = vec![p[0], p[1], p[2], p4, b[0], b[1], b[2], b4];
        want.sort();
        assert_eq!(e, want);
        assert!(!e.contains(&p5) && !e.contains(&b5));
        // The window's edges: day 30 after the year's first day still counts, day 31 does not.
        let mut s2 = Sim::new();
        s2.student(d(2026, 9, 1), "鸦岭小学", 2);
        s2.student(d(2026, 9, 30), "鸦岭小学", 2);
        s2.student(d(2026, 10, 1), "鸦岭小学", 2);
        assert_eq!(history(&s2.revs).enrolled_at_start(SchoolYear(2026)).len(), 2);
    }
}
