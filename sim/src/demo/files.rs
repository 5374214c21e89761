//! The files the demo hands to the system as an operator would: rosters, the baseline of
//! earlier cohorts, census lists (with 伊川's 2019 proportions), written as CSV.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use baoxue_shared::dates::{Date, SchoolYear};
use baoxue_shared::indicators::BaselineRow;
use baoxue_shared::model::Sex;
use baoxue_shared::revision::StudentInit;
use baoxue_shared::roster::ROSTER_COLUMNS;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::{synth, YICHUAN_2019};

pub(super) fn roster_csv(rows: &[StudentInit]) -> String {
    let mut s = ROSTER_COLUMNS.join(",");
    s.push('\n');
    for r in rows {
        let o = |x: &Option<String>| x.clone().unwrap_or_default();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.student_no.as_str(),
            r.id_number.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default(),
            r.name,
            r.sex,
            r.birth,
            r.placement.school,
            r.grade,
            o(&r.class),
            o(&r.hukou_township),
            o(&r.hukou_village),
            r.entry_year.map(|y| y.to_string()).unwrap_or_default(),
            r.groups.iter().map(|g| g.label()).collect::<Vec<_>>().join("、"),
            o(&r.guardian),
            o(&r.phone),
        );
    }
    s
}

/// 伊川's 2019 row of a township (a township past the fifteen: the row it repeats).
pub(super) fn table_row(township: &str) -> (u32, u32) {
    let base = township.trim_end_matches(|c: char| c.is_ascii_digit());
    synth::YICHUAN_TOWNSHIPS.iter().position(|t| *t == base).map(|i| YICHUAN_2019[i]).unwrap_or((47, 1))
}

/// The cohort history before the system (up to 2025-09-01): per township and cohort (grade-1
/// entry 2017–2024), an intake such that the cohort's present size is 94–99.5% of its
/// denominator (lower where 伊川's 2019 table had more dropouts), and transfers in (0.2% a
/// year), out (0.4%) and deaths (0.01%) for the years elapsed, on the grade-1 rows for the
/// primary years and on the grade-7 rows for the junior years; split over the stage's schools.
pub(super) fn baseline_rows(
    rng: &mut StdRng,
    county: &synth::County,
    rolls: &BTreeMap<String, Vec<StudentInit>>,
) -> Vec<BaselineRow> {
    const TIN: f64 = 0.002;
    const TOUT: f64 = 0.004;
    const DEATH: f64 = 0.0001;
    let mut rows = Vec::new();
    for (t, plan) in &county.plan {
        let mut cohort: BTreeMap<i32, u32> = BTreeMap::new();
        for s in &rolls[t] {
            if let Some(y) = s.entry_year {
                *cohort.entry(y).or_default() += 1;
            }
        }
        let weight = f64::from(table_row(t).0) / 100.0;
        let rate = 0.995 - 0.05 * weight - rng.gen_range(0.0..0.01);
        let mut split =
            |schools: &[(String, u32)], entry_year: i32, grade: u8, intake: f64, years: i32, rng: &mut StdRng| {
                let total: u32 = schools.iter().map(|s| s.1).sum();
                let y = f64::from(years);
                for (school, w) in schools {
                    let f = f64::from(*w) / f64::from(total);
                    let n = |x: f64, rng: &mut StdRng| (x + rng.gen_range(-0.5..0.5)).round().max(0.0) as u32;
                    rows.push(BaselineRow {
                        school: school.clone(),
                        entry_year: SchoolYear(entry_year),
                        entry_grade: grade,
                        intake: (intake * f).round() as u32,
                        transfers_in: n(intake * f * TIN * y, rng),
                        transfers_out: n(intake * f * TOUT * y, rng),
                        deaths: n(intake * f * DEATH * y, rng),
                    });
                }
            };
        let drift = TIN - TOUT - DEATH;
        for (&c, &n) in &cohort {
            if c > 2024 {
                continue;
            }
            let years = 2025 - c;
            let (p_years, j_years) = (years.min(6), (years - 6).max(0));
            let intake = f64::from(n) / (rate * (1.0 + drift * f64::from(years)));
            split(&plan.lower, c, 1, intake, p_years, rng);
            if j_years > 0 {
                let j_rate = 1.0 - (1.0 - rate) / 3.0;
                let j_intake = f64::from(n) / (j_rate * (1.0 + drift * f64::from(j_years)));
                split(&plan.junior, c + 6, 7, j_intake, j_years, rng);
            }
        }
    }
    rows
}

pub(super) fn baseline_csv(rows: &[BaselineRow]) -> String {
    let mut s = String::from("学校,入学学年,入学年级,入学人数,转入,转出,死亡\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.school, r.entry_year, r.entry_grade, r.intake, r.transfers_in, r.transfers_out, r.deaths
        );
    }
    s
}

/// A census list: `matched` children from the rolls (one with a mistyped ID when
/// `mistype`), and unmatched school-age children per township, plus one too old.
pub(super) fn census_csv(
    rng: &mut StdRng,
    mint: &mut synth::IdMint,
    county: &synth::County,
    on_rolls: &[StudentInit],
    unmatched: &[(String, u32)],
    mistype: bool,
) -> String {
    let mut s = String::from("身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n");
    for (k, r) in on_rolls.iter().enumerate() {
        let mut id = r.id_number.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default();
        if mistype && k == 0 {
            // A wrong check character: the list's clerk mistyped the last digit.
            let last = id.pop().unwrap_or('0');
            let wrong = if last == '1' { '2' } else { '1' };
            id.push(wrong);
        }
        let _ = writeln!(
            s,
            "{id},{},{},{},{},{},",
            r.name,
            r.sex,
            r.birth,
            r.hukou_township.clone().unwrap_or_default(),
            r.hukou_village.clone().unwrap_or_default()
        );
    }
    for (t, n) in unmatched {
        for _ in 0..*n {
            let sex = if rng.gen_bool(0.5) { Sex::Male } else { Sex::Female };
            let grade = rng.gen_range(2..=9);
            let birth = synth::birth_for(rng, grade, SchoolYear(2025));
            let id = mint.mint(rng, synth::AREA, birth.0, sex);
            let village = county.villages.get(t).and_then(|v| v.choose(rng).cloned()).unwrap_or_default();
            let groups = if rng.gen_bool(0.3) { "留守儿童" } else { "" };
            let _ =
                writeln!(s, "{},{},{},{},{t},{village},{groups}", id.as_str(), synth::child_name(rng, sex), sex, birth);
        }
    }
    // One young adult the list should not have carried (17): matched to nothing, no case.
    if let Some(t) = unmatched.first().map(|u| u.0.clone()) {
        let birth = Date::ymd(2008, 3, 3);
        let id = mint.mint(rng, synth::AREA, birth.0, Sex::Male);
        let _ = writeln!(s, "{},{},男,{birth},{t},,", id.as_str(), synth::child_name(rng, Sex::Male));
    }
    s
}
