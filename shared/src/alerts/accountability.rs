//! Accountability of schools and townships for their dropouts (004 第八条, 000 §五(三)).

use std::collections::BTreeMap;

use chrono::Months;

use super::facts::{
    actions_until, add_months, dropout_on, first_of_month, index_students, is_measure, school_of, stage_of, student_of,
    People,
};
use super::{Alert, SubjectKind};
use crate::calendar::Calendar;
use crate::dates::Date;
use crate::model::Stage;
use crate::org::Org;
use crate::policy::{NotifiedUnit, Period, Policy, Role};
use crate::revision::RecordKind;
use crate::state::Record;

/// One counted dropout of a school.
pub(super) struct Dropout<'a> {
    case: &'a Record,
    school: String,
    township: String,
    stage: Option<Stage>,
    /// The day it became a dropout (its confirmation).
    since: Date,
}

/// The dropouts on day `on` (see [`dropout_on`]), by school, then the day each became one.
/// Children on no roll (失学, found by a census) belong to no school and are not counted.
pub(super) fn dropouts<'a>(cal: &Calendar, org: &Org, records: &[&'a Record], on: Date) -> Vec<Dropout<'a>> {
    let students = index_students(records);
    let mut out = Vec::new();
    for case in records.iter().filter(|r| r.kind == RecordKind::Case) {
        let Some((_, since)) = dropout_on(cal, case, on) else {
            continue;
        };
        let student = student_of(case, &students);
        let Some(school) = school_of(case, student) else {
            continue;
        };
        let township = org
            .township_of(&school)
            .map(str::to_string)
            .or_else(|| case.case.as_ref().map(|c| c.township.clone()))
            .unwrap_or_default();
        let stage = stage_of(case, student, org, Some(&school));
        out.push(Dropout { case, school, township, stage, since });
    }
    out.sort_by(|a, b| (&a.school, a.since, a.case.id).cmp(&(&b.school, b.since, b.case.id)));
    out
}

/// The children's names, at most ten (a township may have many).
fn names(ds: &[&Dropout]) -> String {
    let mut s = ds.iter().take(10).map(|d| d.case.name().to_string()).collect::<Vec<_>>().join("、");
    if ds.len() > 10 {
        s.push_str(&format!("等 {} 名", ds.len()));
    }
    s
}

/// 004 第八条 per school: a primary school with `primary` (1) dropouts in the school year of
/// `as_of`, or a junior middle school with `junior` (2), on which no persuasion measure at all
/// is recorded. A dropout is a case confirmed on or before `as_of` and not closed by then,
/// that became a dropout (was confirmed) in the school year; "no measures" is no action of
/// any kind recorded on or before `as_of`. A nine-year school is judged per stage by the
/// child's grade. The consequence (lowest annual rating, allowances withheld) is decided at the
/// year-end assessment; the alert stands while the condition holds, so the school can still
/// act. Also runs 000 §五(三) when the policy has it.
pub fn school_alerts(policy: &Policy, org: &Org, records: &[&Record], as_of: Date) -> Vec<Alert> {
    let cal = policy.calendar();
    let mut out = school_dropout_alerts(policy, &cal, org, records, as_of);
    out.extend(notification_alerts(policy, &cal, org, records, as_of));
    out
}

pub(super) fn school_dropout_alerts(
    policy: &Policy,
    cal: &Calendar,
    org: &Org,
    records: &[&Record],
    as_of: Date,
) -> Vec<Alert> {
    let Some(rule) = &policy.accountability.school_dropouts else {
        return Vec::new();
    };
    let year = cal.school_year_of(as_of);
    let all = dropouts(cal, org, records, as_of);
    let mut groups: BTreeMap<(&str, Stage), Vec<&Dropout>> = BTreeMap::new();
    for d in &all {
        let Some(stage) = d.stage else { continue };
        if cal.school_year_of(d.since) != year || !actions_until(d.case, as_of).is_empty() {
            continue;
        }
        groups.entry((d.school.as_str(), stage)).or_default().push(d);
    }
    let people = People::new(org);
    let mut out = Vec::new();
    for ((school, stage), ds) in groups {
        let threshold = match stage {
            Stage::Primary => rule.primary,
            Stage::Junior => rule.junior,
        } as usize;
        if ds.len() < threshold {
            continue;
        }
        let since = ds[threshold - 1].since;
        let key = match stage {
            Stage::Primary => "school_dropouts_primary",
            Stage::Junior => "school_dropouts_junior",
        };
        let township = ds[0].township.clone();
        out.push(Alert {
            id: format!("{key}:{school}"),
            rule: key.to_string(),
            level: rule.level,
            subject_kind: SubjectKind::School,
            subject: school.to_string(),
            township: township.clone(),
            responsible: people.all(&[Role::Principal], Some(school), &township),
            since,
            due: since,
            clause: rule.clause.clone(),
            message: format!(
                "{school}{year}学年有 {} 名{}辍学学生未采取任何劝返措施（{}），达到{}{}名的标准：{}。应立即组织劝返并记录措施。",
                ds.len(),
                stage.label(),
                names(&ds),
                stage.label(),
                threshold,
                rule.title
            ),
        });
    }
    out
}

/// The last days of the `n` latest periods that ended before `as_of`, latest first.
fn period_ends(cal: &Calendar, period: Period, as_of: Date, n: usize) -> Vec<Date> {
    let mut ends: Vec<Date> = match period {
        Period::Month => {
            let first = first_of_month(as_of);
            (0..n as u32)
                .map(|i| Date(first.0.checked_sub_months(Months::new(i)).unwrap_or(first.0)).add_days(-1))
                .collect()
        }
        Period::Term => cal.terms_around(as_of).into_iter().map(|(_, end)| end).collect(),
        Period::HalfTerm => cal
            .terms_around(as_of)
            .into_iter()
            .flat_map(|(start, end)| [start.add_days(end.days_since(start) / 2), end])
            .collect(),
    };
    ends.retain(|e| *e < as_of);
    ends.sort_unstable_by(|a, b| b.cmp(a));
    ends.dedup();
    ends.truncate(n);
    ends
}

/// Dropouts grouped by the unit a notification names: (unit name) → (township, dropouts).
fn by_unit<'d, 'a>(ds: &'d [Dropout<'a>], unit: NotifiedUnit) -> BTreeMap<&'d str, (&'d str, Vec<&'d Dropout<'a>>)> {
    let mut m: BTreeMap<&str, (&str, Vec<&Dropout>)> = BTreeMap::new();
    for d in ds {
        let key = match unit {
            NotifiedUnit::School => d.school.as_str(),
            NotifiedUnit::Township => d.township.as_str(),
        };
        m.entry(key).or_insert((d.township.as_str(), Vec::new())).1.push(d);
    }
    m
}

/// 000 §五(三): "建立县级一学期、乡镇半学期、中心学校一个月控辍保学定期通报制度，对辍学问题
/// 突出的乡镇、学校进行通报 … 对连续2次被通报，经整改仍未达到要求的 … 予以组织调整".
///
/// For each notification rule of the policy: at the end of each period (month, half-term,
/// term; see [`period_ends`]) a unit (school or township) with at least `min_unreturned`
/// dropouts is notified. In force from the day after the period end while the unit still has
/// that many now (整改 not done): the latest notification; or, when the unit was notified at
/// each of the last `times` period ends in a row, the repeated-notification rule instead.
pub(super) fn notification_alerts(
    policy: &Policy,
    cal: &Calendar,
    org: &Org,
    records: &[&Record],
    as_of: Date,
) -> Vec<Alert> {
    let acc = &policy.accountability;
    if acc.notifications.is_empty() {
        return Vec::new();
    }
    let now = dropouts(cal, org, records, as_of);
    let times = acc.repeated_notification.as_ref().map(|r| r.times as usize).unwrap_or(1).max(1);
    let people = People::new(org);
    let mut out = Vec::new();
    for rule in &acc.notifications {
        let ends = period_ends(cal, rule.period, as_of, times);
        if ends.is_empty() {
            continue;
        }
        let then: Vec<Vec<Dropout>> = ends.iter().map(|e| dropouts(cal, org, records, *e)).collect();
        let then: Vec<_> = then.iter().map(|ds| by_unit(ds, rule.unit)).collect();
        let min = rule.min_unreturned as usize;
        for (unit, (township, ds)) in by_unit(&now, rule.unit) {
            if ds.len() < min {
                continue;
            }
            // Consecutive notifications, latest first.
            let run = then.iter().take_while(|m| m.get(unit).is_some_and(|(_, v)| v.len() >= min)).count();
            if run == 0 {
                continue;
            }
            let (school, kind) = match rule.unit {
                NotifiedUnit::School => (Some(unit), SubjectKind::School),
                NotifiedUnit::Township => (None, SubjectKind::Township),
            };
            out.push(match &acc.repeated_notification {
                Some(rep) if run >= times => {
                    let listed: Vec<String> = ends[..times].iter().rev().map(Date::to_string).collect();
                    Alert {
                        id: format!("repeated_notification:{}/{unit}", rule.id),
                        rule: "repeated_notification".into(),
                        level: rep.level,
                        subject_kind: kind,
                        subject: unit.to_string(),
                        township: township.to_string(),
                        responsible: people.all(&rule.responsible, school, township),
                        since: ends[times - 1],
                        due: ends[0].add_days(1),
                        clause: rep.clause.clone(),
                        message: format!(
                            "{unit}连续 {times} 次被{}{}通报（{}期末有未劝返的辍学学生），经整改至 {as_of} 仍有 {} 名未劝返（{}）：{}。",
                            rule.by,
                            rule.period.label(),
                            listed.join("、"),
                            ds.len(),
                            names(&ds),
                            rep.title
                        ),
                    }
                }
                _ => {
                    let at = then[0].get(unit).map(|(_, v)| v.len()).unwrap_or(0);
                    Alert {
                        id: format!("{}:{unit}", rule.id),
                        rule: rule.id.clone(),
                        level: rule.level,
                        subject_kind: kind,
                        subject: unit.to_string(),
                        township: township.to_string(),
                        responsible: people.all(&rule.responsible, school, township),
                        since: ends[0],
                        due: ends[0].add_days(1),
                        clause: rule.clause.clone(),
                        message: format!(
                            "{}{}通报：{unit}至 {}（期末）有 {at} 名未劝返的辍学学生，至 {as_of} 仍有 {} 名（{}）：{}。",
                            rule.by,
                            rule.period.label(),
                            ends[0],
                            ds.len(),
                            names(&ds),
                            rule.title
                        ),
                    }
                }
            });
        }
    }
    out
}

/// 004 第八条 per township: "乡镇辖区内每个学校辍学学生超过两名，第一个月内未采取措施劝返的，
/// 对分管领导进行约谈；第二个月仍未劝返的 … 通报批评；第三个月还未劝返的 … 行政处分 …
/// 乡镇主要领导予以问责".
///
/// The months run from T, the day the school's *current* dropouts first numbered more than
/// `more_than` (2): the day the third of them, in order of confirmation, became a dropout.
/// Children already back are left out, so a return can delay the ladder or stop it, never
/// advance it. Step k falls due on T + k calendar months (chrono month arithmetic: 03-31 + 1
/// month = 04-30). A step marked `without_measures` (month 1) is in force only when more than
/// `more_than` of those children had no persuasion measure (an action of any kind) recorded
/// from T to the day before it fell due; the later steps whenever the children are still not
/// back. Only the highest step in force is reported, one alert per school.
pub fn township_alerts(policy: &Policy, org: &Org, records: &[&Record], as_of: Date) -> Vec<Alert> {
    let cal = policy.calendar();
    township_alerts_in(policy, &cal, org, records, as_of)
}

pub(super) fn township_alerts_in(
    policy: &Policy,
    cal: &Calendar,
    org: &Org,
    records: &[&Record],
    as_of: Date,
) -> Vec<Alert> {
    let Some(rule) = &policy.accountability.township_ladder else {
        return Vec::new();
    };
    let all = dropouts(cal, org, records, as_of);
    let mut by_school: BTreeMap<&str, Vec<&Dropout>> = BTreeMap::new();
    for d in &all {
        by_school.entry(d.school.as_str()).or_default().push(d);
    }
    let people = People::new(org);
    let over = rule.more_than as usize;
    let mut out = Vec::new();
    for (school, ds) in by_school {
        if ds.len() <= over {
            continue;
        }
        let t = ds[over].since;
        let unmeasured = |due: Date| -> Vec<&Dropout> {
            ds.iter()
                .copied()
                .filter(|d| !d.case.actions.values().any(|a| a.date >= t && a.date < due && is_measure(a)))
                .collect()
        };
        let in_force = rule.steps.iter().rev().find_map(|s| {
            let due = add_months(t, s.months);
            if as_of < due {
                return None;
            }
            if s.without_measures {
                let none = unmeasured(due);
                return (none.len() > over).then_some((s, due, Some(none)));
            }
            Some((s, due, None))
        });
        let Some((step, due, none)) = in_force else {
            continue;
        };
        let township = ds[0].township.clone();
        let rule_id = format!("township_ladder_m{}", step.months);
        let measures = match &none {
            Some(none) => {
                format!("，{t} 至 {} 有 {} 名未采取任何劝返措施（{}）", due.add_days(-1), none.len(), names(none))
            }
            None => String::new(),
        };
        out.push(Alert {
            id: format!("{rule_id}:{township}/{school}"),
            rule: rule_id,
            level: step.level,
            subject_kind: SubjectKind::Township,
            subject: township.clone(),
            township: township.clone(),
            responsible: people.all(&step.responsible, Some(school), &township),
            since: t,
            due,
            clause: rule.clause.clone(),
            message: format!(
                "{township}{school}有 {} 名辍学学生未劝返（{}），自 {t} 起超过{}名，已满 {} 个月{measures}：{}。",
                ds.len(),
                names(&ds),
                rule.more_than,
                step.months,
                step.title
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {

    use crate::dates::SchoolYear;
    use crate::policy::Policy;

    use super::*;
    use crate::alerts::testkit::*;
    use crate::alerts::*;
    use crate::state::Record;

    use crate::model::{ActionKind, Outcome};

    // --- 004 第八条: schools ----------------------------------------------------------------------

    fn school_rules(p: &Policy, cases: &[&Record], as_of: &str) -> Vec<String> {
        school_alerts(p, &org(), cases, d(as_of)).into_iter().map(|a| a.id).collect()
    }

    #[test]
    fn primary_school_one_dropout_without_measures() {
        let p = shapotou();
        let c = primary_case("2026-03-02");
        // Suspected only: not yet a dropout.
        assert!(school_rules(&p, &[&c.build()], "2026-03-10").is_empty());
        let c = c.confirm("2026-03-09");
        assert_eq!(school_rules(&p, &[&c.build()], "2026-03-10"), vec!["school_dropouts_primary:鸦岭中心小学"]);
        let a = &school_alerts(&p, &org(), &[&c.build()], d("2026-03-10"))[0];
        assert_eq!(a.responsible, "王校长（鸦岭中心小学校长）");
        assert_eq!(a.subject_kind, SubjectKind::School);
        assert!(a.message.contains("张小明") && a.message.contains("小学1名"), "{}", a.message);
        // Any recorded measure clears it.
        let c = c.act("2026-03-10", ActionKind::Call, None);
        assert!(school_rules(&p, &[&c.build()], "2026-03-10").is_empty());
        // Returned: no longer a dropout.
        let r = primary_case("2026-03-02").confirm("2026-03-09").close("2026-03-12", Outcome::Returned);
        assert!(school_rules(&p, &[&r.build()], "2026-03-12").is_empty());
        // Last school year's dropout does not count in this one.
        let old = primary_case("2025-05-06").confirm("2025-05-13");
        assert!(school_rules(&p, &[&old.build()], "2026-03-10").is_empty());
        assert_eq!(school_rules(&p, &[&old.build()], "2025-06-10").len(), 1);
    }

    /// 004 第八条 per school, by the business dates: the day before, of and after the
    /// confirmation, the return and the school-year end.
    #[test]
    fn school_rule_follows_the_dates() {
        let p = shapotou();
        let c = primary_case("2026-03-02").confirm("2026-03-09").close("2026-03-12", Outcome::Returned);
        let at = |as_of: &str| school_rules(&p, &[&c.build()], as_of).len();
        assert_eq!((at("2026-03-08"), at("2026-03-09"), at("2026-03-10")), (0, 1, 1));
        assert_eq!((at("2026-03-11"), at("2026-03-12"), at("2026-03-13")), (1, 0, 0));
        let a = &school_alerts(&p, &org(), &[&c.build()], d("2026-03-10"))[0];
        assert_eq!((a.since, a.due), (d("2026-03-09"), d("2026-03-09")), "since the confirmation");
        // A measure counts from its date.
        let m = primary_case("2026-03-02").confirm("2026-03-09").act("2026-03-11", ActionKind::Visit, None);
        let at = |as_of: &str| school_rules(&p, &[&m.build()], as_of).len();
        assert_eq!((at("2026-03-10"), at("2026-03-11"), at("2026-03-12")), (1, 0, 0));
        // Confirmed on the school year's last day: counted in that year, not the next.
        let y = primary_case("2026-08-24").confirm("2026-08-31");
        let at = |as_of: &str| school_rules(&p, &[&y.build()], as_of).len();
        assert_eq!((at("2026-08-30"), at("2026-08-31"), at("2026-09-01")), (0, 1, 0));
        // Two junior dropouts: from the second one's confirmation.
        let a = CaseBuilder::new("甲", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-02")).confirm("2026-03-09");
        let b = CaseBuilder::new("乙", "鸦岭镇", Some("鸦岭初中"), Some(7), d("2026-03-04")).confirm("2026-03-16");
        let at = |as_of: &str| school_rules(&p, &[&a.build(), &b.build()], as_of).len();
        assert_eq!((at("2026-03-15"), at("2026-03-16"), at("2026-03-17")), (0, 1, 1));
    }

    #[test]
    fn junior_school_two_dropouts_without_measures() {
        let p = shapotou();
        let a = CaseBuilder::new("甲", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-02")).confirm("2026-03-09");
        let b = CaseBuilder::new("乙", "鸦岭镇", Some("鸦岭初中"), Some(7), d("2026-03-04")).confirm("2026-03-11");
        assert!(school_rules(&p, &[&a.build()], "2026-03-20").is_empty());
        assert_eq!(school_rules(&p, &[&a.build(), &b.build()], "2026-03-20"), vec!["school_dropouts_junior:鸦岭初中"]);
        let al = &school_alerts(&p, &org(), &[&a.build(), &b.build()], d("2026-03-20"))[0];
        assert_eq!(al.since, d("2026-03-11"));
        let b = b.act("2026-03-12", ActionKind::Visit, None);
        assert!(school_rules(&p, &[&a.build(), &b.build()], "2026-03-20").is_empty());
    }

    #[test]
    fn nine_year_school_judged_per_stage() {
        let p = shapotou();
        let j =
            CaseBuilder::new("丙", "高山乡", Some("高山九年制学校"), Some(8), d("2026-03-02")).confirm("2026-03-09");
        assert!(school_rules(&p, &[&j.build()], "2026-03-20").is_empty());
        let pr =
            CaseBuilder::new("丁", "高山乡", Some("高山九年制学校"), Some(3), d("2026-03-02")).confirm("2026-03-09");
        let r = school_alerts(&p, &org(), &[&j.build(), &pr.build()], d("2026-03-20"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].rule, "school_dropouts_primary");
        assert_eq!(r[0].responsible, "高山九年制学校校长", "generic title when the org names nobody");
    }

    // --- 004 第八条: townships --------------------------------------------------------------------

    fn township_rules(p: &Policy, built: &[Record], as_of: &str) -> Vec<String> {
        let refs: Vec<&Record> = built.iter().collect();
        township_alerts(p, &org(), &refs, d(as_of)).into_iter().map(|a| a.rule).collect()
    }

    #[test]
    fn township_month_ladder() {
        let p = shapotou();
        let built: Vec<Record> = three_junior_dropouts().iter().map(CaseBuilder::build).collect();
        // T = 2026-04-07, the third's confirmation (not its first absence, 03-31);
        // +1 month = 05-07, +2 = 06-07, +3 = 07-07.
        let m = |as_of: &str| township_rules(&p, &built, as_of);
        assert!(m("2026-04-06").is_empty());
        assert!(m("2026-05-06").is_empty());
        assert_eq!(m("2026-05-07"), vec!["township_ladder_m1"]);
        assert_eq!(m("2026-05-08"), vec!["township_ladder_m1"]);
        assert_eq!(m("2026-06-06"), vec!["township_ladder_m1"]);
        assert_eq!(m("2026-06-07"), vec!["township_ladder_m2"]);
        assert_eq!(m("2026-06-08"), vec!["township_ladder_m2"]);
        assert_eq!(m("2026-07-06"), vec!["township_ladder_m2"]);
        assert_eq!(m("2026-07-07"), vec!["township_ladder_m3"]);
        assert_eq!(m("2026-07-08"), vec!["township_ladder_m3"]);
        let refs: Vec<&Record> = built.iter().collect();
        let a = &township_alerts(&p, &org(), &refs, d("2026-07-08"))[0];
        assert_eq!(a.responsible, "李副镇长（鸦岭镇分管领导）、张镇长（鸦岭镇主要领导）");
        assert_eq!((a.since, a.due), (d("2026-04-07"), d("2026-07-07")));
        assert_eq!(a.subject_kind, SubjectKind::Township);
        assert_eq!(a.id, "township_ladder_m3:鸦岭镇/鸦岭初中");
        let m1 = &township_alerts(&p, &org(), &refs, d("2026-05-08"))[0];
        assert_eq!(m1.responsible, "李副镇长（鸦岭镇分管领导）");
        assert_eq!(m1.level, Level::Warning);
        assert!(m1.message.contains("2026-04-07 至 2026-05-06 有 3 名未采取任何劝返措施"), "{}", m1.message);
    }

    /// Month 1 asks whether measures were taken in the first month; months 2 and 3 only
    /// whether the children are still not back.
    #[test]
    fn township_month_one_needs_no_measures_in_the_first_month() {
        let p = shapotou();
        let with_visit = |day: &str| -> Vec<Record> {
            let mut cs = three_junior_dropouts();
            let first = cs.remove(0).act(day, ActionKind::Visit, None);
            cs.push(first);
            cs.iter().map(CaseBuilder::build).collect()
        };
        // A visit within the first month (up to 05-06): two children left without measures,
        // not more than two — no 约谈; 通报批评 still comes at month 2.
        let b = with_visit("2026-05-06");
        assert!(township_rules(&p, &b, "2026-05-07").is_empty());
        assert!(township_rules(&p, &b, "2026-06-06").is_empty());
        assert_eq!(township_rules(&p, &b, "2026-06-07"), vec!["township_ladder_m2"]);
        // On the day the month is over, too late; before T, not in the first month.
        assert_eq!(township_rules(&p, &with_visit("2026-05-07"), "2026-05-07"), vec!["township_ladder_m1"]);
        assert_eq!(township_rules(&p, &with_visit("2026-04-06"), "2026-05-07"), vec!["township_ladder_m1"]);
        assert!(township_rules(&p, &with_visit("2026-04-07"), "2026-05-07").is_empty());
    }

    #[test]
    fn township_ladder_needs_more_than_two_and_stops_on_return() {
        let p = shapotou();
        let mut cases = three_junior_dropouts();
        let two: Vec<Record> = cases[..2].iter().map(CaseBuilder::build).collect();
        assert!(township_rules(&p, &two, "2026-07-08").is_empty());
        let back = cases.remove(0).close("2026-05-15", Outcome::Returned);
        let mut built: Vec<Record> = cases.iter().map(CaseBuilder::build).collect();
        built.push(back.build());
        assert_eq!(township_rules(&p, &built, "2026-05-14"), vec!["township_ladder_m1"]);
        assert!(township_rules(&p, &built, "2026-05-15").is_empty());
        // Suspected cases are not (yet) dropouts; a fourth confirmed later restarts T there.
        let s = CaseBuilder::new("丁", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-03"));
        built.push(s.build());
        assert!(township_rules(&p, &built, "2026-06-08").is_empty());
        built.pop();
        built.push(s.confirm("2026-05-20").build());
        assert!(township_rules(&p, &built, "2026-06-19").is_empty());
        assert_eq!(township_rules(&p, &built, "2026-06-20"), vec!["township_ladder_m1"]);
        // Other presets have no such rule.
        let all: Vec<Record> = three_junior_dropouts().iter().map(CaseBuilder::build).collect();
        assert!(township_rules(&Policy::preset("lipu").unwrap(), &all, "2026-07-08").is_empty());
    }

    // --- 000 §五(三) -----------------------------------------------------------------------------

    fn yaoan_rules(cases: &[&CaseBuilder], as_of: &str) -> Vec<String> {
        let p = Policy::preset("yaoan").unwrap();
        let built: Vec<Record> = cases.iter().map(|c| c.build()).collect();
        let refs: Vec<&Record> = built.iter().collect();
        let mut v: Vec<String> = school_alerts(&p, &org(), &refs, d(as_of)).into_iter().map(|a| a.id).collect();
        v.sort();
        v
    }

    /// The center school's monthly notification, and twice in a row (month ends 03-31, 04-30).
    #[test]
    fn yaoan_monthly_notice_and_notified_twice_in_a_row() {
        let c = CaseBuilder::new("甲", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-02"))
            .act("2026-03-09", ActionKind::Referral, None)
            .confirm("2026-03-09");
        // Month ends 03-31 and 02-28: notified at the first only.
        assert_eq!(yaoan_rules(&[&c], "2026-03-31"), Vec::<String>::new());
        assert_eq!(yaoan_rules(&[&c], "2026-04-01"), vec!["center_school_monthly_notice:鸦岭初中"]);
        assert_eq!(yaoan_rules(&[&c], "2026-04-30"), vec!["center_school_monthly_notice:鸦岭初中"]);
        // Month ends 04-30 and 03-31: twice in a row.
        assert_eq!(
            yaoan_rules(&[&c], "2026-05-01"),
            vec!["repeated_notification:center_school_monthly_notice/鸦岭初中"]
        );
        assert_eq!(
            yaoan_rules(&[&c], "2026-05-02"),
            vec!["repeated_notification:center_school_monthly_notice/鸦岭初中"]
        );
        let p = Policy::preset("yaoan").unwrap();
        let a = &school_alerts(&p, &org(), &[&c.build()], d("2026-05-01"))[0];
        assert_eq!((a.since, a.due, a.level), (d("2026-03-31"), d("2026-05-01"), Level::Urgent));
        assert_eq!(a.responsible, "陈校长（鸦岭初中校长）");
        assert!(a.message.contains("连续 2 次被中心学校月度通报（2026-03-31、2026-04-30"), "{}", a.message);
        // Back on 05-02 (整改 done): nothing from that day; the day before, still in force.
        let back = c.close("2026-05-02", Outcome::Returned);
        assert_eq!(yaoan_rules(&[&back], "2026-05-01").len(), 1);
        assert!(yaoan_rules(&[&back], "2026-05-02").is_empty());
        // A dropout only since April: notified once at 04-30, not twice in a row.
        let april = CaseBuilder::new("乙", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-04-01")).confirm("2026-04-10");
        assert_eq!(yaoan_rules(&[&april], "2026-05-01"), vec!["center_school_monthly_notice:鸦岭初中"]);
        // A school whose child came back in April and another who dropped out then: the school
        // was notified at both month ends all the same.
        let back = CaseBuilder::new("丙", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-02"))
            .confirm("2026-03-09")
            .close("2026-04-20", Outcome::Returned);
        assert_eq!(
            yaoan_rules(&[&april, &back], "2026-05-01"),
            vec!["repeated_notification:center_school_monthly_notice/鸦岭初中"]
        );
    }

    /// The township's half-term and the county's term notifications (default vacations:
    /// spring term 02-24 … 07-14, its middle day 05-05).
    #[test]
    fn yaoan_half_term_and_term_notices() {
        let c = CaseBuilder::new("甲", "鸦岭镇", Some("鸦岭初中"), Some(8), d("2026-03-02")).confirm("2026-03-09");
        let half = "township_half_term_notice:鸦岭初中".to_string();
        let has = |as_of: &str, id: &str| yaoan_rules(&[&c], as_of).iter().any(|x| x == id);
        assert!(!has("2026-05-05", &half));
        assert!(has("2026-05-06", &half));
        assert!(has("2026-05-07", &half));
        // The county's term notice names the township.
        let term = "county_term_notice:鸦岭镇";
        assert!(!has("2026-07-14", term));
        assert!(has("2026-07-15", term));
        assert!(has("2026-07-16", term));
        let p = Policy::preset("yaoan").unwrap();
        let a = school_alerts(&p, &org(), &[&c.build()], d("2026-07-15")).into_iter().find(|a| a.id == term).unwrap();
        assert_eq!(a.subject_kind, SubjectKind::Township);
        assert_eq!(a.responsible, "张镇长（鸦岭镇主要领导）、李副镇长（鸦岭镇分管领导）");
        assert_eq!((a.since, a.due), (d("2026-07-14"), d("2026-07-15")));
        // Half-term ends 05-05 and 07-14: twice in a row from 07-15.
        let rep = "repeated_notification:township_half_term_notice/鸦岭初中";
        assert!(!has("2026-07-14", rep));
        assert!(has("2026-07-15", rep));
        assert!(!has("2026-07-15", &half), "the repeated notice replaces the single one");
    }

    /// 000 §五(三): a township above the national 辍学率 limit (primary 1%, junior 3%).
    #[test]
    fn yaoan_dropout_rate_over_the_national_limit() {
        let p = Policy::preset("yaoan").unwrap();
        let town = |pd: u64, jd: u64| UnitCounts {
            kind: SubjectKind::Township,
            name: "鸦岭镇".into(),
            township: "鸦岭镇".into(),
            school_year: SchoolYear(2025),
            enrolled_at_start: 400,
            dropouts: pd + jd,
            primary: StageCounts { enrolled_at_start: 300, dropouts: pd },
            junior: StageCounts { enrolled_at_start: 100, dropouts: jd },
        };
        let rules = |u: UnitCounts| dropout_rate_alerts(&p, &org(), &[u], d("2026-03-01"));
        // 3 of 300 = 1%: not over; 4 of 300 is.
        assert!(rules(town(2, 0)).is_empty());
        assert!(rules(town(3, 0)).is_empty());
        assert_eq!(rules(town(4, 0)).len(), 1);
        // 3 of 100 = 3%: not over; 4 of 100 is.
        assert!(rules(town(0, 3)).is_empty());
        let a = &rules(town(0, 4))[0];
        assert_eq!(a.rule, "dropout_rate_over_limit");
        assert!(a.message.contains("初中辍学 4 人") && a.message.contains("4.00%"), "{}", a.message);
        assert_eq!(a.responsible, "张镇长（鸦岭镇主要领导）、李副镇长（鸦岭镇分管领导）、王校长（鸦岭中心小学校长）");
        assert_eq!(a.clause, "000 §五(三)");
        // Schools and the county are not judged by this rule; other presets have none.
        let school = UnitCounts { kind: SubjectKind::School, name: "鸦岭初中".into(), ..town(9, 9) };
        let county = UnitCounts { township: String::new(), ..town(9, 9) };
        assert!(dropout_rate_alerts(&p, &org(), &[school, county], d("2026-03-01")).is_empty());
        assert!(dropout_rate_alerts(&shapotou(), &org(), &[town(9, 9)], d("2026-03-01")).is_empty());
    }
}
