//! 巩固率 (nine-year, junior, primary): graduates against the cohort's intake, transfers and deaths.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::baseline::{Baseline, BaselineRow};
use super::history::{grade_at, place_at, History, PlaceEv, TARGET_NONE, TARGET_OUT};
use super::units::{Acc, Units};
use crate::dates::{Date, SchoolYear};
use crate::model::Status;
use crate::org::Org;

/// Which 巩固率: `nine_year` (grade 1 → 9), `junior` (7 → 9) or `primary` (1 → 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortStage {
    NineYear,
    Junior,
    Primary,
}

impl CohortStage {
    pub const ALL: [CohortStage; 3] = [CohortStage::NineYear, CohortStage::Junior, CohortStage::Primary];

    /// (first grade, last grade).
    pub fn grades(self) -> (u8, u8) {
        match self {
            CohortStage::NineYear => (1, 9),
            CohortStage::Junior => (7, 9),
            CohortStage::Primary => (1, 6),
        }
    }
    /// School years from intake to completion (9, 3, 6).
    pub fn span(self) -> i32 {
        let (f, l) = self.grades();
        i32::from(l - f) + 1
    }
    pub fn key(self) -> &'static str {
        match self {
            CohortStage::NineYear => "nine_year",
            CohortStage::Junior => "junior",
            CohortStage::Primary => "primary",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CohortStage::NineYear => "九年义务教育巩固率",
            CohortStage::Junior => "初中三年巩固率",
            CohortStage::Primary => "小学六年巩固率",
        }
    }
    /// Does a baseline row of entry grade `g` belong to this stage?
    fn takes_row_grade(self, g: u8) -> bool {
        match self {
            CohortStage::NineYear => true,
            CohortStage::Junior => g >= 7,
            CohortStage::Primary => g <= 6,
        }
    }
}

impl fmt::Display for CohortStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for CohortStage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "nine_year" | "nine-year" | "九年" | "九年义务教育巩固率" => Ok(CohortStage::NineYear),
            "junior" | "初中" | "初中三年巩固率" => Ok(CohortStage::Junior),
            "primary" | "小学" | "小学六年巩固率" => Ok(CohortStage::Primary),
            t => Err(format!("巩固率类别「{t}」无效，可选：nine_year、junior、primary")),
        }
    }
}

/// One unit of the consolidation report (docs/CLI.md `report consolidation --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationUnit {
    pub name: String,
    pub graduates: u64,
    pub intake: u64,
    pub transfers_in: u64,
    pub transfers_out: u64,
    pub deaths: u64,
    pub rate: Option<f64>,
    /// A data problem: `rate_above_100`, `denominator_negative` or `no_denominator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// How many of `intake` are the cohort as the system's first roster found it, for want of a
    /// baseline (see the module documentation); more than 0 marks the unit's intake as such.
    #[serde(default)]
    pub intake_from_first_roster: u64,
}

impl ConsolidationUnit {
    /// `I + Tin − Tout − X`.
    pub fn denominator(&self) -> i64 {
        self.intake as i64 + self.transfers_in as i64 - self.transfers_out as i64 - self.deaths as i64
    }
}

/// 巩固率 of the cohort completing `stage` in `school_year`, as of `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationReport {
    pub as_of: Date,
    pub school_year: SchoolYear,
    pub stage: CohortStage,
    pub county: ConsolidationUnit,
    pub townships: Vec<ConsolidationUnit>,
    pub schools: Vec<ConsolidationUnit>,
}

impl ConsolidationReport {
    /// The school year the cohort entered the stage's first grade.
    pub fn entry_year(&self) -> SchoolYear {
        self.school_year - (self.stage.span() - 1)
    }
}

/// The terms of 巩固率 for one unit, as FORMULAS.md names them.
#[derive(Debug, Clone, Copy, Default)]
struct Terms {
    /// G: graduates.
    graduates: u64,
    /// I: intake.
    intake: u64,
    /// Tin: transfers in.
    transfers_in: u64,
    /// Tout: transfers out.
    transfers_out: u64,
    /// X: deaths.
    deaths: u64,
    /// R: the part of I taken from a first roster.
    intake_from_first_roster: u64,
}

fn consolidation_unit(name: &str, t: &Terms) -> ConsolidationUnit {
    let mut u = ConsolidationUnit {
        name: name.to_string(),
        graduates: t.graduates,
        intake: t.intake,
        transfers_in: t.transfers_in,
        transfers_out: t.transfers_out,
        deaths: t.deaths,
        rate: None,
        flag: None,
        intake_from_first_roster: t.intake_from_first_roster,
    };
    let den = u.denominator();
    match den.cmp(&0) {
        Ordering::Greater => {
            let r = u.graduates as f64 / den as f64;
            u.rate = Some(r);
            if r > 1.0 {
                u.flag = Some("rate_above_100".into());
            }
        }
        Ordering::Less => u.flag = Some("denominator_negative".into()),
        Ordering::Equal if u.graduates > 0 => u.flag = Some("no_denominator".into()),
        Ordering::Equal => {}
    }
    u
}

/// How a cohort student entered a unit's count (at the school given).
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// On the roll on the entry year's first day: I.
    Intake(u32),
    /// Part of its school's first roster, no baseline: I, marked.
    FirstRoster(u32),
    /// Created later, from outside the county: Tin.
    Arrival(u32),
}

/// Where a student belongs for transfers: a school of the county (in transit counts at the
/// destination) or outside the county.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    At(u32),
    Outside,
}

fn member(p: &PlaceEv) -> Member {
    if p.status == Status::TransferredOut {
        match p.target {
            TARGET_NONE | TARGET_OUT => Member::Outside,
            k => Member::At(k - 2),
        }
    } else {
        Member::At(p.school)
    }
}

/// Counts a move between memberships: out for the units left, in for the units joined.
fn count_move(acc: &mut Acc<Terms>, u: &Units, from: Member, to: Member) {
    let units = |m: Member| match m {
        Member::At(s) => (true, u.of(s)),
        Member::Outside => (false, (None, None)),
    };
    let (c0, (t0, s0)) = units(from);
    let (c1, (t1, s1)) = units(to);
    if c0 && !c1 {
        acc.county.transfers_out += 1;
    }
    if !c0 && c1 {
        acc.county.transfers_in += 1;
    }
    if t0 != t1 {
        if let Some(t) = t0 {
            acc.townships[t as usize].transfers_out += 1;
        }
        if let Some(t) = t1 {
            acc.townships[t as usize].transfers_in += 1;
        }
    }
    if s0 != s1 {
        if let Some(s) = s0 {
            acc.schools[s as usize].transfers_out += 1;
        }
        if let Some(s) = s1 {
            acc.schools[s as usize].transfers_in += 1;
        }
    }
}

/// 巩固率 = G / (I + Tin − Tout − X) (docs/FORMULAS.md), per unit, every term shown. The baseline
/// (if any) supplies the terms up to its import date; see the module documentation.
pub fn consolidation_report(
    h: &History,
    org: &Org,
    baseline: Option<&Baseline>,
    stage: CohortStage,
    school_year: SchoolYear,
    as_of: Date,
) -> ConsolidationReport {
    let u = Units::new(h, org);
    let mut acc: Acc<Terms> = Acc::new(&u);
    let (f, l) = stage.grades();
    let e = school_year - (stage.span() - 1);
    let e0 = h.start_of(e);
    let e1 = h.start_of(e + 1);
    let y0 = h.start_of(school_year);
    let t_end = as_of.min(h.start_of(school_year + 1).add_days(-1));
    let grade1_entry = e - (i32::from(f) - 1);
    let of_cohort = |r: &BaselineRow| {
        stage.takes_row_grade(r.entry_grade) && r.entry_year - (i32::from(r.entry_grade) - 1) == grade1_entry
    };
    // The baseline counts only for a cohort it has rows of; otherwise the first roster stands in.
    let baseline = baseline.filter(|b| b.rows.iter().any(of_cohort));
    let cutover = baseline.map(|b| b.imported);
    let after_cutover = |d: Date| !matches!(cutover, Some(c) if d <= c);

    // The baseline: rows of this cohort and stage, summed over each unit's schools.
    if let Some(b) = baseline {
        for r in b.rows.iter().filter(|r| of_cohort(r)) {
            let intake = if r.entry_grade == f { u64::from(r.intake) } else { 0 };
            acc.each(u.of_name(&r.school), |t| {
                t.intake += intake;
                t.transfers_in += u64::from(r.transfers_in);
                t.transfers_out += u64::from(r.transfers_out);
                t.deaths += u64::from(r.deaths);
            });
        }
    }

    // The cohort's students, and when the system first saw any of them.
    let mut members: Vec<u32> = Vec::new();
    let mut first_seen: Option<Date> = None;
    for (i, m) in h.students.iter().enumerate() {
        let Some(created) = m.created else { continue };
        if h.cohort(i as u32).is_some_and(|c1| c1 + (i32::from(f) - 1) == e) {
            members.push(i as u32);
            first_seen = Some(first_seen.map_or(created, |x| x.min(created)));
        }
    }
    let junior_year0 = h.start_of(grade1_entry + 6);

    let (mut places, mut grades) = (Vec::new(), Vec::new());
    for &i in &members {
        let m = &h.students[i as usize];
        let Some(created) = m.created else { continue };
        h.timeline(i, &mut places, &mut grades);
        let Some(first) = places.first() else {
            continue;
        };

        // G: in the last grade on t, on the roll or graduated within the year.
        if let Some(p) = place_at(&places, t_end) {
            let done = match p.status {
                Status::Enrolled | Status::HomeDelivered => true,
                Status::Graduated => p.date >= y0,
                _ => false,
            };
            if done && grade_at(&grades, t_end, h.year_start) == Some(i32::from(l)) {
                acc.each(u.of(p.school), |t| t.graduates += 1);
            }
        }

        // Intake, first roster, or arrival. For the nine-year rate a grade-7 record of the
        // junior entry year continues the cohort (小升初): neither, if the cohort was seen
        // before (always, with a baseline: its primary years are there).
        let continuing = stage == CohortStage::NineYear
            && m.grade0 == 7
            && h.school_year_of(created) == e + 6
            && (baseline.is_some() || first_seen.is_some_and(|x| x < junior_year0));
        let at_entry = if after_cutover(e0) { h.place_at_start(i, &places, e0, e1) } else { None };
        let created_within = created >= e0 && created <= t_end && after_cutover(created);
        let entry = if continuing {
            None
        } else if let Some(p) = at_entry {
            // On the entry year's roll (or not on it that day: neither intake nor arrival).
            p.status.on_roll().then_some(Entry::Intake(p.school))
        } else if !created_within {
            None
        } else if baseline.is_none() && h.in_first_roster(i) {
            // The system's first sight of the cohort (no baseline): the roster is the intake.
            place_at(&places, created).filter(|p| p.status.on_roll()).map(|p| Entry::FirstRoster(p.school))
        } else {
            match member(first) {
                Member::At(s) => Some(Entry::Arrival(s)),
                Member::Outside => None,
            }
        };
        match entry {
            Some(Entry::Intake(s)) => acc.each(u.of(s), |t| t.intake += 1),
            Some(Entry::FirstRoster(s)) => acc.each(u.of(s), |t| {
                t.intake += 1;
                t.intake_from_first_roster += 1;
            }),
            Some(Entry::Arrival(s)) => acc.each(u.of(s), |t| t.transfers_in += 1),
            None => {}
        }

        // Transfers (转出 events) and deaths within the stage's years, after the cutover.
        for w in places.windows(2) {
            let (prev, cur) = (&w[0], &w[1]);
            if cur.date < e0 || cur.date > t_end || !after_cutover(cur.date) {
                continue;
            }
            if prev.status == Status::TransferredOut || cur.status == Status::TransferredOut {
                let (a, b) = (member(prev), member(cur));
                if a != b {
                    count_move(&mut acc, &u, a, b);
                }
            }
            if cur.status == Status::Deceased && prev.status != Status::Deceased {
                acc.each(u.of(cur.school), |t| t.deaths += 1);
            }
        }
    }

    let kind_ok = |name: &str| org.school(name).is_some_and(|s| s.teaches(f) && s.teaches(l));
    ConsolidationReport {
        as_of,
        school_year,
        stage,
        county: consolidation_unit("全县", &acc.county),
        townships: u.townships.iter().zip(&acc.townships).map(|(n, t)| consolidation_unit(n, t)).collect(),
        schools: u
            .schools
            .iter()
            .zip(&acc.schools)
            .filter(|(n, _)| kind_ok(n))
            .map(|(n, t)| consolidation_unit(n, t))
            .collect(),
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

    fn terms(u: &ConsolidationUnit) -> [u64; 5] {
        [u.graduates, u.intake, u.transfers_in, u.transfers_out, u.deaths]
    }

    #[test]
    fn junior_consolidation_by_hand() {
        let s = junior_county();
        let org = org();
        let base = baseline_junior();
        let r = consolidation_report(
            &history(&s.revs),
            &org,
            Some(&base),
            CohortStage::Junior,
            SchoolYear(2026),
            d(2027, 3, 1),
        );
        assert_eq!(r.entry_year(), SchoolYear(2024));
        let t = |n| unit(&r.townships, n, |u: &ConsolidationUnit| &u.name);
        assert_eq!(terms(t("鸦岭")), [2, 5, 2, 3, 0]);
        assert_eq!(t("鸦岭").rate, Some(0.5));
        assert_eq!(terms(t("白沙")), [3, 4, 1, 0, 2]);
        assert_eq!((t("白沙").rate, t("白沙").flag.as_deref()), (Some(1.0), None));
        assert_eq!(terms(t("城关")), [3, 2, 0, 0, 0]);
        assert_eq!((t("城关").rate, t("城关").flag.as_deref()), (Some(1.5), Some("rate_above_100")));
        assert_eq!(terms(&r.county), [8, 11, 2, 2, 2]);
        assert_eq!(r.county.rate, Some(8.0 / 9.0));
        assert_eq!(r.county.flag, None);
        // Schools: only those teaching grades 7 and 9; the junior schools equal their townships.
        assert_eq!(r.schools.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["城关初中", "白沙初中", "鸦岭初中"]);
        assert_eq!(terms(unit(&r.schools, "鸦岭初中", |u: &ConsolidationUnit| &u.name)), [2, 5, 2, 3, 0]);

        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["stage"], "junior");
        assert_eq!(v["townships"][0]["flag"], "rate_above_100");
        assert!(v["county"].get("flag").is_none());
        for k in [
            "name",
            "graduates",
            "intake",
            "transfers_in",
            "transfers_out",
            "deaths",
            "rate",
            "intake_from_first_roster",
        ] {
            assert!(v["county"].get(k).is_some(), "{k}");
        }

        for x in std::iter::once(&r.county).chain(&r.townships).chain(&r.schools) {
            assert_eq!(x.intake_from_first_roster, 0, "the baseline is used: {x:?}");
        }

        // Without the baseline the system's own records are all there is. The roster of
        // 2025-09-01 is the system's first sight of the cohort (it entered grade 7 in 2024), so
        // it is the intake, marked as such: a1–a5 at 鸦岭, b1–b3 at 白沙, c1–c3 at 城关. n1
        // (2026-02-01, long after 鸦岭初中's first roster) is a transfer in; a4 (2025-09-05) and
        // a2 leave the county; a1 moves 鸦岭 → 白沙; b1 dies.
        // 鸦岭: G 2 / (I 5 + Tin 1 − Tout 3 (a4 a1 a2) − X 0) = 2/3.
        // 白沙: G 3 / (I 3 + Tin 1 (a1) − 0 − X 1) = 1. 城关: 3 / 3 = 1.
        // County: G 8 / (I 11 + Tin 1 − Tout 2 − X 1) = 8/9.
        let r =
            consolidation_report(&history(&s.revs), &org, None, CohortStage::Junior, SchoolYear(2026), d(2027, 3, 1));
        let t = |n| unit(&r.townships, n, |u: &ConsolidationUnit| &u.name);
        assert_eq!(terms(&r.county), [8, 11, 1, 2, 1]);
        assert_eq!(r.county.rate, Some(8.0 / 9.0));
        assert_eq!(r.county.intake_from_first_roster, 11);
        assert_eq!(terms(t("鸦岭")), [2, 5, 1, 3, 0]);
        assert_eq!(t("鸦岭").rate, Some(2.0 / 3.0));
        assert_eq!(t("鸦岭").intake_from_first_roster, 5);
        assert_eq!(terms(t("白沙")), [3, 3, 1, 0, 1]);
        assert_eq!((t("白沙").rate, t("白沙").flag.as_deref()), (Some(1.0), None));
        assert_eq!(terms(t("城关")), [3, 3, 0, 0, 0]);
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["county"]["intake_from_first_roster"], 11);
        assert_eq!(v["county"]["transfers_in"], 1, "the roster is not sent upward as 转入");
        // The marking shows in every format.
        let csv = render(&r, Format::Csv);
        assert!(csv.contains("\r\n全县,全县,8,11,1,2,1,88.89%,入学人数取自系统首次花名册（无基线）\r\n"), "{csv}");
        let md = render(&r, Format::Md);
        assert!(
            md.contains("| 全县 | 全县 | 8 | 11 | 1 | 2 | 1 | 88.89% | 入学人数取自系统首次花名册（无基线） |"),
            "{md}"
        );
        // The nine-year cohort completing in 2026 is the same children (grade 1 in 2018), first
        // seen in grade 8: the same terms.
        let nine =
            consolidation_report(&history(&s.revs), &org, None, CohortStage::NineYear, SchoolYear(2026), d(2027, 3, 1));
        assert_eq!(terms(&nine.county), [8, 11, 1, 2, 1]);
        assert_eq!(nine.county.intake_from_first_roster, 11);
    }

    /// 小学六年巩固率 for the finished school year 2025 (cohort entered grade 1 in 2020), no
    /// baseline, as of 2026-10-01. Created 2020-09-01 in grade 1: p1 p2 p3 at 鸦岭小学, q1 d1 at
    /// 白沙小学.
    ///
    /// - p1 毕业 2026-07-01; p2 never marked 毕业 but 在读 in grade 6 to the year's end: both G.
    /// - p3 辍学 2023-03-01. d1 死亡 2021-05-01.
    /// - q1 转出 to 鸦岭小学 2022-03-01, accepted 03-03, 毕业 there 2026-07-01.
    /// - r1 arrives at 白沙小学 in grade 3 on 2022-09-01, 毕业 2026-07-01.
    /// - s1 (grade 1 in 2021) is another cohort.
    ///
    /// 鸦岭: G 3 (p1 p2 q1); I 3; Tin 1 (q1) → 3/4. 白沙: G 1 (r1); I 2 (q1 d1); Tin 1 (r1);
    /// Tout 1 (q1); X 1 (d1) → 1/1. County: G 4; I 5; Tin 1; Tout 0; X 1 → 4/5.
    #[test]
    fn primary_consolidation_finished_year() {
        let mut s = Sim::new();
        let e0 = d(2020, 9, 1);
        let p: Vec<RecordId> = (0..3).map(|_| s.student(e0, "鸦岭小学", 1)).collect();
        let q1 = s.student(e0, "白沙小学", 1);
        let d1 = s.student(e0, "白沙小学", 1);
        s.place(p[0], d(2026, 7, 1), Status::Graduated, "鸦岭小学");
        s.place(p[2], d(2023, 3, 1), Status::DroppedOut, "鸦岭小学");
        s.place(d1, d(2021, 5, 1), Status::Deceased, "白沙小学");
        s.transfer(q1, d(2022, 3, 1), "白沙小学", Some("鸦岭小学"));
        s.place(q1, d(2022, 3, 3), Status::Enrolled, "鸦岭小学");
        s.place(q1, d(2026, 7, 1), Status::Graduated, "鸦岭小学");
        let r1 = s.student(d(2022, 9, 1), "白沙小学", 3);
        s.place(r1, d(2026, 7, 1), Status::Graduated, "白沙小学");
        s.student(d(2021, 9, 1), "鸦岭小学", 1);
        let r = consolidation_report(
            &history(&s.revs),
            &org(),
            None,
            CohortStage::Primary,
            SchoolYear(2025),
            d(2026, 10, 1),
        );
        let t = |n| unit(&r.townships, n, |u: &ConsolidationUnit| &u.name);
        assert_eq!(terms(t("鸦岭")), [3, 3, 1, 0, 0]);
        assert_eq!(t("鸦岭").rate, Some(0.75));
        assert_eq!(terms(t("白沙")), [1, 2, 1, 1, 1]);
        assert_eq!(t("白沙").rate, Some(1.0));
        assert_eq!(terms(&r.county), [4, 5, 1, 0, 1]);
        assert_eq!(r.county.rate, Some(0.8));
        assert_eq!(terms(t("城关")), [0; 5]);
        assert_eq!((t("城关").rate, t("城关").flag.as_deref()), (None, None));
        // Primary schools only.
        assert_eq!(r.schools.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["白沙小学", "鸦岭小学"]);
        // The nine-year rate completing in 2026 is the cohort that entered grade 1 in 2018: the
        // baseline's 2018 grade-1 row (I 7, Tin 2, Tout 3) and its grade-7 rows of 2024 (Tin 1,
        // Tout 1, X 1; their intake is 小升初, not intake). None of this sim's pupils is in it.
        let nine = consolidation_report(
            &history(&s.revs),
            &org(),
            Some(&baseline_junior()),
            CohortStage::NineYear,
            SchoolYear(2026),
            d(2027, 3, 1),
        );
        assert_eq!(terms(&nine.county), [0, 7, 3, 4, 1]);
        assert_eq!(nine.county.rate, Some(0.0));
    }

    /// All three 巩固率 from the system's own records, no baseline: a cohort entering grade 1 on
    /// 2018-09-01, recorded since (a county using the system for nine years).
    ///
    /// Grade 1 on 2018-09-01: a1–a6 at 鸦岭小学, b1–b4 at 白沙小学. Then:
    /// - a1 转出 鸦岭小学 → 白沙小学 2020-03-01, accepted 03-05 (between townships);
    /// - b1 转出 out of the county 2021-10-10; n1 arrives at 白沙小学 in grade 4 on 2021-11-01;
    /// - a2 死亡 2022-05-01; a3 辍学 2022-12-01, never back;
    /// - 小升初: a4 a5 a6 move on their own records to 鸦岭初中 on 2024-09-01 (no 转出: not a
    ///   transfer); b2 b3 b4 a1 n1 毕业 at 白沙小学 2024-07-01 and get new records at 白沙初中
    ///   in grade 7 on 2024-09-01 (b2j b3j b4j a1j n1j);
    /// - a4 转出 鸦岭初中 → 白沙初中 2025-03-01, accepted 03-04; m1 arrives at 鸦岭初中 in grade 8
    ///   on 2025-10-01 (鸦岭初中 had pupils since 2024-09-01: not a first roster);
    /// - b2j 转出 out of the county 2025-11-01; b3j 死亡 2026-01-15; a5 辍学 2026-11-01.
    ///
    /// **Nine-year, school year 2026** (as of 2027-06-30): G = in grade 9 and 在读: 鸦岭 a6 m1
    /// (2); 白沙 a4 a1j b4j n1j (4). I = the grade-1 roll of 2018-09-01: 鸦岭 6, 白沙 4. The
    /// junior records continue the cohort (neither I nor Tin). Tin: n1, m1 (county, and their
    /// townships), a1 and a4 (白沙 only). Tout: b1, b2j (county, 白沙), a1 and a4 (鸦岭 only).
    /// X: a2 (鸦岭), b3j (白沙).
    /// 鸦岭 2 / (6 + 1 − 2 − 1) = 2/4; 白沙 4 / (4 + 3 − 2 − 1) = 4/4; county 6 / (10 + 2 − 2 − 2) = 6/8.
    ///
    /// **Junior, school year 2026** (grade 7 in 2024): G as above. I = on the roll on
    /// 2024-09-01: 鸦岭 a4 a5 a6 (3; a3 is 辍学 that day); 白沙 the five new records (5). Tin: m1
    /// (鸦岭, county), a4 (白沙). Tout: a4 (鸦岭), b2j (白沙, county). X: b3j.
    /// 鸦岭 2 / (3 + 1 − 1) = 2/3; 白沙 4 / (5 + 1 − 1 − 1) = 4/4; county 6 / (8 + 1 − 1 − 1) = 6/7.
    ///
    /// **Primary, school year 2023** (evaluated on 2024-08-31): G = grade 6, 在读 or 毕业 within
    /// the year: 鸦岭 a4 a5 a6 (3); 白沙 b2 b3 b4 a1 n1 (5). I 6 and 4. Tin: n1 (白沙, county),
    /// a1 (白沙). Tout: b1 (白沙, county), a1 (鸦岭). X: a2 (鸦岭).
    /// 鸦岭 3 / (6 − 1 − 1) = 3/4; 白沙 5 / (4 + 2 − 1) = 5/5; county 8 / (10 + 1 − 1 − 1) = 8/9.
    #[test]
    fn consolidation_from_the_systems_own_records_by_hand() {
        let mut s = Sim::new();
        let e0 = d(2018, 9, 1);
        let a: Vec<RecordId> = (0..6).map(|_| s.student(e0, "鸦岭小学", 1)).collect();
        let b: Vec<RecordId> = (0..4).map(|_| s.student(e0, "白沙小学", 1)).collect();
        s.transfer(a[0], d(2020, 3, 1), "鸦岭小学", Some("白沙小学"));
        s.place(a[0], d(2020, 3, 5), Status::Enrolled, "白沙小学");
        s.transfer(b[0], d(2021, 10, 10), "白沙小学", None);
        let n1 = s.student(d(2021, 11, 1), "白沙小学", 4);
        s.place(a[1], d(2022, 5, 1), Status::Deceased, "鸦岭小学");
        s.place(a[2], d(2022, 12, 1), Status::DroppedOut, "鸦岭小学");
        for &x in &a[3..6] {
            s.place(x, d(2024, 9, 1), Status::Enrolled, "鸦岭初中");
        }
        let mut junior = Vec::new();
        for &x in [b[1], b[2], b[3], a[0], n1].iter() {
            s.place(x, d(2024, 7, 1), Status::Graduated, "白沙小学");
            junior.push(s.student(d(2024, 9, 1), "白沙初中", 7));
        }
        s.transfer(a[3], d(2025, 3, 1), "鸦岭初中", Some("白沙初中"));
        s.place(a[3], d(2025, 3, 4), Status::Enrolled, "白沙初中");
        s.student(d(2025, 10, 1), "鸦岭初中", 8);
        s.transfer(junior[0], d(2025, 11, 1), "白沙初中", None);
        s.place(junior[1], d(2026, 1, 15), Status::Deceased, "白沙初中");
        s.place(a[4], d(2026, 11, 1), Status::DroppedOut, "鸦岭初中");
        let h = history(&s.revs);
        let org = org();
        let as_of = d(2027, 6, 30);
        let check = |r: &ConsolidationReport, want: [(&str, [u64; 5], Option<f64>); 3]| {
            for (name, terms_want, rate_want) in want {
                let u = if name == "全县" {
                    &r.county
                } else {
                    unit(&r.townships, name, |u: &ConsolidationUnit| &u.name)
                };
                assert_eq!((terms(u), u.rate), (terms_want, rate_want), "{} {name}", r.stage.key());
                assert_eq!(u.flag, None, "{name}");
                assert_eq!(u.intake_from_first_roster, 0, "the grade-1 roll is recorded: {name}");
            }
        };

        let nine = consolidation_report(&h, &org, None, CohortStage::NineYear, SchoolYear(2026), as_of);
        check(
            &nine,
            [
                ("鸦岭", [2, 6, 1, 2, 1], Some(0.5)),
                ("白沙", [4, 4, 3, 2, 1], Some(1.0)),
                ("全县", [6, 10, 2, 2, 2], Some(0.75)),
            ],
        );
        let jun = consolidation_report(&h, &org, None, CohortStage::Junior, SchoolYear(2026), as_of);
        check(
            &jun,
            [
                ("鸦岭", [2, 3, 1, 1, 0], Some(2.0 / 3.0)),
                ("白沙", [4, 5, 1, 1, 1], Some(1.0)),
                ("全县", [6, 8, 1, 1, 1], Some(6.0 / 7.0)),
            ],
        );
        assert_eq!(terms(unit(&jun.schools, "鸦岭初中", |u: &ConsolidationUnit| &u.name)), [2, 3, 1, 1, 0]);
        let pri = consolidation_report(&h, &org, None, CohortStage::Primary, SchoolYear(2023), as_of);
        check(
            &pri,
            [
                ("鸦岭", [3, 6, 0, 1, 1], Some(0.75)),
                ("白沙", [5, 4, 2, 1, 0], Some(1.0)),
                ("全县", [8, 10, 1, 1, 1], Some(8.0 / 9.0)),
            ],
        );
        assert_eq!(terms(unit(&pri.schools, "白沙小学", |u: &ConsolidationUnit| &u.name)), [5, 4, 2, 1, 0]);
    }
}
