//! The indicators of docs/FORMULAS.md: 辍学率, 巩固率 (nine-year, junior, primary), 伊川's monthly
//! township table and the monthly ranking, plus the baseline CSV that supplies cohort history
//! from before a county used the system.
//!
//! # History, not state
//!
//! Derived [`Record`](crate::state::Record) state holds current values only, but the rates need
//! events over time (who was on the roll on the school year's first day, when a spell of 辍学
//! began, transfers, deaths). So everything here is computed from a [`History`]: the student and
//! case revisions folded into one timeline per record, ordered by the revision's business
//! `date`, then its clock (hlc, origin, id). [`History::add`] takes revisions in any order, any
//! number of times; [`History::build`] sorts and settles them.
//!
//! A write that replaces (`supersedes`) an earlier value and is dated on or before it is a
//! **correction**: the earlier value is dropped from the timeline (transitively), so a backdated
//! entry or a same-day fix does not leave a phantom event behind. A write dated after the value
//! it replaces is a **change**, and the earlier value stays as history. With this rule the end of
//! a timeline equals the register's value whenever the field is not in conflict.
//!
//! # Choices the brief left open (docs/FORMULAS.md states them)
//!
//! - **Grade over time.** The grade recorded at a date holds for that school year; later school
//!   years assume normal promotion (+1 a year) until another grade is recorded (a repeat is
//!   recorded by writing the same grade again in the new year).
//! - **Roll at the year's start** (E of 辍学率, the system's part of I). A record created before
//!   Y's first day counts by its placement on that day. A record created during Y counts as on
//!   the roll from the first day only if it is **registration at the year's start** or part of
//!   a school's **first roster**; any other record created during Y is a **mid-year arrival**
//!   (a transfer in from another county, a child found and enrolled, a late addition to a school
//!   already in the system) and is not in E:
//!   - *registration at the year's start*: created within [`REGISTRATION_WINDOW_DAYS`] days of
//!     Y's first day (new entrants are registered in the first weeks: 《中小学生学籍管理办法》
//!     gives a school one month from entry to create a 学籍);
//!   - *first roster*: created within [`REGISTRATION_WINDOW_DAYS`] days of the first day any
//!     student was placed at the school of its initial placement (created there, moved there by
//!     小升初 or a transfer). A school that starts
//!     using the system in the middle of a year imports the roll as it is; that roster describes
//!     who was there, so it is the best evidence of the first day's roll. A record created later
//!     at a school already in the system is an arrival, whatever command created it.
//!
//!   The window is a rule about records, not about revisions: nothing in a revision says which
//!   command made it, and an import spread over a few days (one class at a time, bad rows fixed
//!   and re-imported) still belongs to the first roster.
//! - **辍学率.** E is the roll on the first day; D counts a student whose placement on `as_of` is
//!   辍学 and whose current spell of 辍学 began within Y. Stage (primary/junior) is the grade on
//!   the first day for E and on the day the spell began for D; the unit is the school of the
//!   placement (on the first day for E, on `as_of` for D).
//! - **Cohorts.** A student's cohort is fixed: 入学年份 where given (read as the year of entering
//!   grade 1, or grade 7 when that fits the grade at creation better — junior schools record
//!   their own intake year), otherwise derived from the grade at creation and the school year it
//!   was created in. The grade-7 entry of a cohort is its grade-1 entry + 6.
//! - **G** is evaluated on `t = min(as_of, last day of Y)`: cohort students in the last grade of
//!   the stage, at a school of the unit, whose placement on `t` is 在读 or 送教上门, or 毕业 dated
//!   within Y. For a finished year this counts graduates whose 毕业 was never recorded too.
//! - **I** (system part) = cohort students on the roll (with the year-start rule above) on the
//!   first day of the entry year. Only for entry years that began after the baseline's import.
//! - **A cohort without a baseline** (no baseline imported, or none of its rows is of this cohort
//!   and stage): the system has no record of the cohort's intake if it started using the
//!   system after the cohort entered the stage. Then I is the cohort's size when the system
//!   first saw it: each cohort student of a school's first roster created after the entry
//!   year's first day, on the roll on the day it was created, counts in I (at its school then),
//!   and the unit says so (`intake_from_first_roster`: how many of I are such; reports print
//!   「入学人数取自系统首次花名册（无基线）」). Tin, Tout and X then count only what the system
//!   recorded after that. Without this, the roster would show up as transfers in (转入), which is
//!   wrong in the table sent upward. With a baseline of the cohort the baseline is used (below).
//! - **Transfers** are the 转出 events: a student in transit to another school of the county is
//!   counted at the destination from the day of the 转出 (so a move between townships is out for
//!   one and in for the other on the same day; at county level it is nothing). 转出 out of the
//!   county is out for every unit; a later return to any school is in for that school's units. A
//!   cancelled transfer (转出 then back at the same school) shows as out and in for both
//!   schools, net zero. Changing school without 转出 (小升初, a correction) is not a transfer.
//! - **Arrivals.** A record created after the baseline's import, within the stage's years, that
//!   is not intake is a transfer in from outside the county. For the nine-year rate a record
//!   created in grade 7 in the cohort's junior entry year continues the cohort (小升初 as a new
//!   record): neither intake nor transfer. Without a baseline this holds only if the system saw
//!   the cohort before that year (otherwise the junior school's roster is the first sight of the
//!   cohort, and its first roster is the intake).
//! - **No double counting with the baseline.** The baseline is the county's history up to its
//!   import date `C`: its intake, transfers and deaths are summed for the schools of each unit;
//!   the system's own events count only when dated after `C` (creations and intake likewise).
//!   The roster must therefore be imported on or before the baseline's date. Baseline transfers
//!   are per school: moves between two schools of one unit before `C` show in both transfers_in
//!   and transfers_out of that unit (net zero in the denominator).
//! - **Baseline rows and stages.** A row `(school, entry year, entry grade g)` belongs to the
//!   cohort whose grade-1 entry is `entry year − (g − 1)`; primary rates use rows with g ≤ 6,
//!   junior rates rows with g ≥ 7, nine-year rates all; only rows with g = the stage's first
//!   grade contribute intake (a grade-7 row's intake is 小升初 for the nine-year rate).
//! - **Schools in the consolidation report** are those whose type teaches both the stage's first
//!   and last grade. A rate above 100% is reported as it is with `flag: "rate_above_100"`; a
//!   negative denominator gives `rate: null` with `flag: "denominator_negative"`, and graduates
//!   with a zero denominator `flag: "no_denominator"`.
//! - **Township table.** roll_unreturned = open cases from the roll in state 辍学 (confirmed),
//!   or still 疑似辍学 past the day their confirmation fell due (逾期未确认, the caller's
//!   `overdue` set from `alerts::overdue_unconfirmed`: the ladder's deadline, which this history
//!   of states cannot compute);
//!   suspected_list_unreturned = open cases from the Ministry's list (any open state);
//!   census_unreturned = open cases from the other departments' lists. Open means: opened on or
//!   before `as_of` and not closed on `as_of`. A child counts once (in the first of these
//!   columns that applies). Cases of a township not in the org get a row of their own after the
//!   org's townships, so the total is the sum of the rows.
//! - **Ranking.** Townships of the org by unreturned total, then 辍学率 of the school year of
//!   `as_of` (a township without a rate after those with one), then name; equal keys share a rank
//!   (1, 1, 3).
//! - Students at schools not in the org count for the county only.
//!
//! # Size
//!
//! Compact by design for a county of 300,000 students and 3,000,000 revisions: school, origin,
//! township and child names are interned as `u32`; a timeline event is 16 bytes after
//! [`History::build`]; absences and actions are not kept at all. `History` is `Serialize` so a
//! hub can keep it between nightly runs and only [`add`](History::add) the new revisions.

mod baseline;
mod consolidation;
mod dropout;
mod history;
mod township;
mod units;

#[cfg(test)]
pub(crate) mod sim;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod two_models;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::org::Org;
use crate::revision::RecordId;

pub use baseline::{Baseline, BaselineError, BaselineRow, BASELINE_COLUMNS};
pub use consolidation::{consolidation_report, CohortStage, ConsolidationReport, ConsolidationUnit};
pub use dropout::{dropout_report, DropoutReport, DropoutUnit, StageRate};
pub use history::{CaseStatus, History, SchoolUnits, DEFAULT_YEAR_START, REGISTRATION_WINDOW_DAYS};
pub use township::{ranking, ranking_from, township_table, Ranking, RankingRow, TownshipRow, TownshipTable};

/// Every report of the nightly run, for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub dropout: DropoutReport,
    /// nine_year, junior, primary (in [`CohortStage::ALL`] order).
    pub consolidation: Vec<ConsolidationReport>,
    pub township_table: TownshipTable,
    pub ranking: Ranking,
}

/// Computes every indicator for the school year `as_of` falls in; `overdue`: the cases whose
/// confirmation is overdue on `as_of` ([`township_table`]).
pub fn compute_all(
    h: &History,
    org: &Org,
    baseline: Option<&Baseline>,
    as_of: Date,
    overdue: &BTreeSet<RecordId>,
) -> Indicators {
    let y = h.school_year_of(as_of);
    let dropout = dropout_report(h, org, y, as_of);
    let consolidation = CohortStage::ALL.iter().map(|s| consolidation_report(h, org, baseline, *s, y, as_of)).collect();
    let township_table = township_table(h, org, as_of, overdue);
    let ranking = ranking_from(org, &township_table, &dropout);
    Indicators { dropout, consolidation, township_table, ranking }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::{Date, SchoolYear};

    use crate::indicators::testkit::*;

    use crate::model::{CaseState, Outcome, Status};
    use crate::org::Org;
    use crate::report::{render, Format};
    use crate::revision::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};

    #[test]
    fn csv_and_markdown() {
        let s = junior_county();
        let r = consolidation_report(
            &history(&s.revs),
            &org(),
            Some(&baseline_junior()),
            CohortStage::Junior,
            SchoolYear(2026),
            d(2027, 3, 1),
        );
        let csv = render(&r, Format::Csv);
        // What it is and which day it covers, before the header: an archived file says so itself.
        assert!(
            csv.starts_with(
                "\u{feff}2026学年初中三年巩固率\r\n统计日期,2027-03-01\r\n级别,单位,毕业生数,入学人数,转入,转出,死亡,巩固率,备注\r\n"
            ),
            "{csv}"
        );
        // Machine-readable: skip two lines, and the rest is one header and a row per unit.
        let body = csv.trim_start_matches('\u{feff}').splitn(3, "\r\n").nth(2).unwrap();
        let mut rdr = ::csv::Reader::from_reader(body.as_bytes());
        assert_eq!(rdr.headers().unwrap().len(), 9);
        let rows: Vec<::csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1 + 3 + 3);
        assert_eq!(&rows[0][1], "全县");
        assert!(csv.contains("\r\n全县,全县,8,11,2,2,2,88.89%,\r\n"), "{csv}");
        assert!(csv.contains("城关,3,2,0,0,0,150.00%,巩固率超过100%"), "{csv}");
        let md = render(&r, Format::Md);
        assert!(md.starts_with("# 2026学年初中三年巩固率\n\n统计截至：2027-03-01"), "{md}");
        assert!(md.contains("| 全县 | 全县 | 8 | 11 | 2 | 2 | 2 | 88.89% | — |"), "{md}");

        let s = cases_county();
        let h = history(&s.revs);
        let t = township_table(&h, &org(), d(2027, 3, 31), &BTreeSet::new());
        let csv = render(&t, Format::Csv);
        assert!(csv.starts_with("\u{feff}各乡镇辍学学生未返校情况统计表\r\n统计日期,2027-03-31\r\n乡镇,"), "{csv}");
        assert!(csv.ends_with("全县合计,2,1,3,6\r\n"), "{csv}");
        let md = render(&t, Format::Md);
        assert!(md.starts_with("# 各乡镇辍学学生未返校情况统计表\n\n统计截至：2027-03-31"), "{md}");
        let csv = render(&ranking(&h, &org(), d(2027, 3, 31), &BTreeSet::new()), Format::Csv);
        assert!(csv.starts_with("\u{feff}2027年3月控辍保学工作排名\r\n统计日期,2027-03-31\r\n排名,乡镇,"), "{csv}");
        let md = render(&ranking(&h, &org(), d(2027, 3, 31), &BTreeSet::new()), Format::Md);
        assert!(md.starts_with("# 2027年3月控辍保学工作排名"), "{md}");
        assert!(md.contains("| 3 | 鸦岭 | 4 | — |"), "{md}");
        let dr = render(&dropout_report(&h, &org(), SchoolYear(2026), d(2027, 3, 31)), Format::Csv);
        assert!(dr.starts_with("\u{feff}2026学年辍学率统计\r\n统计日期,2027-03-31\r\n级别,单位,"), "{dr}");
        assert!(dr.contains("\r\n乡镇,白沙,2,1,50.00%,2,1,50.00%,0,0,\r\n"), "{dr}");
        let md = render(&dropout_report(&h, &org(), SchoolYear(2026), d(2027, 3, 31)), Format::Md);
        assert!(md.starts_with("# 2026学年辍学率统计\n\n统计截至：2027-03-31"), "{md}");
        assert_eq!("markdown".parse::<Format>().unwrap(), Format::Md);
        assert!("pdf".parse::<Format>().is_err());
    }

    /// The nightly budget (300,000 students, 3,000,000 revisions: < 5 s, < 1 GiB). Revisions are
    /// streamed in as a hub reads them from its log, never all held at once. Run with
    /// `cargo test --release -p baoxue-shared --lib scale -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn scale_300k_students_3m_revisions() {
        use crate::model::{AbsenceKind, CaseSource, Cause, Placement, Sex, TransferTarget};
        use crate::revision::{Assign, CaseInit, Child, StudentInit};
        use std::time::Instant;

        let kib = |key: &str| -> u64 {
            let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l[key.len()..].trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        let mut csv = String::from("乡镇,学校,类型\n");
        for t in 0..40 {
            for k in 0..6 {
                csv.push_str(&format!("乡镇{t},乡镇{t}小学{k},小学\n"));
            }
            csv.push_str(&format!("乡镇{t},乡镇{t}初中,初中\n"));
        }
        let org = Org::parse_csv(csv.as_bytes()).unwrap();
        let rss0 = kib("VmRSS:");
        let t0 = Instant::now();
        let mut h = History::new();
        let (mut n, mut next) = (0u64, 1u128);
        let mut rev = |record: Option<RecordId>, kind: RecordKind, date: Date, change: Change, h: &mut History| {
            next += 1;
            let id = RevId(next.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let r = Revision {
                id,
                record: record.unwrap_or(RecordId::created_by(id)),
                kind,
                origin: format!("node{}", next % 40),
                seq: next as u64,
                hlc: Hlc { ms: next as u64, n: 0 },
                author: "bench".into(),
                date,
                change,
            };
            h.add(&r);
            n += 1;
            id
        };
        let id = crate::ids::make_id("410329", Date::ymd(2015, 1, 1).0, 1);
        let start = d(2025, 9, 1);
        for i in 0..300_000u32 {
            let t = i % 40;
            let grade = (i % 9) as u8 + 1;
            let school = if grade >= 7 { format!("乡镇{t}初中") } else { format!("乡镇{t}小学{}", i % 6) };
            let init = StudentInit {
                student_no: crate::ids::StudentNo::parse(&format!("G{}", id.as_str())).unwrap(),
                id_number: Some(id.clone()),
                name: "学生".into(),
                sex: Sex::Male,
                birth: Date::ymd(2015, 1, 1),
                grade,
                class: None,
                hukou_township: None,
                hukou_village: None,
                entry_year: Some(2025 - i32::from(grade) + 1),
                groups: vec![],
                guardian: None,
                phone: None,
                placement: Placement { status: Status::Enrolled, school: school.clone(), transfer: None },
            };
            let sid = RecordId::created_by(rev(
                None,
                RecordKind::Student,
                start,
                Change::CreateStudent(Box::new(init)),
                &mut h,
            ));
            for k in 0..9 {
                let day = start.add_days(7 + i64::from(k) * 20 + i64::from(i % 5));
                rev(Some(sid), RecordKind::Student, day, Change::Absence { day, kind: AbsenceKind::Sick }, &mut h);
            }
            let place = |status, transfer| Value::Placement(Placement { status, school: school.clone(), transfer });
            if i % 50 == 0 {
                let day = start.add_days(40 + i64::from(i % 90));
                let child = Child {
                    name: "学生".into(),
                    id_number: None,
                    student_no: None,
                    sex: Sex::Male,
                    birth: Date::ymd(2015, 1, 1),
                    hukou_township: None,
                    hukou_village: None,
                    groups: vec![],
                };
                let init = CaseInit {
                    student: Some(sid),
                    child,
                    township: format!("乡镇{t}"),
                    school: None,
                    grade: None,
                    source: CaseSource::Roll,
                    opened: day,
                    clock_start: day,
                    cause: Cause::Unknown,
                    previous: None,
                };
                let cid =
                    RecordId::created_by(rev(None, RecordKind::Case, day, Change::CreateCase(Box::new(init)), &mut h));
                let conf = rev(
                    Some(cid),
                    RecordKind::Case,
                    day.add_days(7),
                    Change::Update(vec![Assign {
                        field: Field::CaseState,
                        value: Value::CaseState(CaseState::Confirmed),
                        supersedes: vec![cid.creating_revision()],
                    }]),
                    &mut h,
                );
                let drop = rev(
                    Some(sid),
                    RecordKind::Student,
                    day.add_days(7),
                    Change::Update(vec![Assign {
                        field: Field::Placement,
                        value: place(Status::DroppedOut, None),
                        supersedes: vec![sid.creating_revision()],
                    }]),
                    &mut h,
                );
                if i % 100 == 0 {
                    let back = day.add_days(20);
                    rev(
                        Some(cid),
                        RecordKind::Case,
                        back,
                        Change::Update(vec![Assign {
                            field: Field::CaseState,
                            value: Value::CaseState(CaseState::Closed {
                                outcome: Outcome::Returned,
                                evidence: None,
                                on: back,
                            }),
                            supersedes: vec![conf],
                        }]),
                        &mut h,
                    );
                    rev(
                        Some(sid),
                        RecordKind::Student,
                        back,
                        Change::Update(vec![Assign {
                            field: Field::Placement,
                            value: place(Status::Enrolled, None),
                            supersedes: vec![drop],
                        }]),
                        &mut h,
                    );
                }
            } else if i % 97 == 0 {
                let target = if i % 2 == 0 {
                    TransferTarget::OutOfCounty("外县".into())
                } else {
                    TransferTarget::School(format!("乡镇{}小学0", (t + 1) % 40))
                };
                rev(
                    Some(sid),
                    RecordKind::Student,
                    start.add_days(100),
                    Change::Update(vec![Assign {
                        field: Field::Placement,
                        value: place(Status::TransferredOut, Some(target)),
                        supersedes: vec![sid.creating_revision()],
                    }]),
                    &mut h,
                );
            }
        }
        let t_add = t0.elapsed();
        h.build();
        let t_build = t0.elapsed();
        let all = compute_all(&h, &org, None, d(2026, 3, 31), &BTreeSet::new());
        let t_all = t0.elapsed();
        let hwm = kib("VmHWM:");
        eprintln!(
            "{n} revisions: add {:.2}s, build {:.2}s, reports {:.2}s, total {:.2}s; History ≈ {} MiB; RSS {} → peak {} MiB",
            t_add.as_secs_f64(),
            (t_build - t_add).as_secs_f64(),
            (t_all - t_build).as_secs_f64(),
            t_all.as_secs_f64(),
            h.heap_bytes() >> 20,
            rss0 >> 10,
            hwm >> 10
        );
        let t_enc = Instant::now();
        let bytes = crate::codec::encode(&h).unwrap();
        let mut back: History = crate::codec::decode(&bytes).unwrap();
        back.build();
        eprintln!("encoded {} MiB; encode + decode + build {:.2}s", bytes.len() >> 20, t_enc.elapsed().as_secs_f64());
        assert!(bytes.len() < 48 << 20, "the hub's snapshot goes through codec (64 MiB limit)");
        assert!(n >= 2_800_000, "{n}");
        assert_eq!(all.dropout.county.enrolled_at_start, 300_000);
        assert!(all.township_table.total.roll_unreturned > 0);
        assert!(h.heap_bytes() < 512 << 20);
        assert!(t_all.as_secs_f64() < 5.0, "{:?}", t_all);
    }

    #[test]
    fn compute_all_runs_every_report() {
        let s = junior_county();
        let all = compute_all(&history(&s.revs), &org(), Some(&baseline_junior()), d(2027, 3, 1), &BTreeSet::new());
        assert_eq!(all.consolidation.len(), 3);
        assert_eq!(
            all.consolidation[1],
            consolidation_report(
                &history(&s.revs),
                &org(),
                Some(&baseline_junior()),
                CohortStage::Junior,
                SchoolYear(2026),
                d(2027, 3, 1)
            )
        );
        assert_eq!(all.ranking.rows.len(), 3);
        assert_eq!(all.dropout.school_year, SchoolYear(2026));
    }
}
