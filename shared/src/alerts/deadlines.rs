//! Reporting deadlines: nodes that have not synced by the policy's cadence, judged from the days
//! they synced.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::facts::{first_of_month, People};
use super::{Alert, SubjectKind};
use crate::calendar::Calendar;
use crate::dates::Date;
use crate::org::Org;
use crate::policy::{Cadence, Policy, Role};

/// The days a node synced with the hub successfully, kept compactly as runs of consecutive
/// days (a node that syncs every night is one run), so that a report deadline can be judged
/// for any past day: a sync after that day does not hide a deadline missed before it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<(Date, Date)>", into = "Vec<(Date, Date)>")]
pub struct SyncDays {
    /// First day of each run → its last day; runs are disjoint and never adjacent.
    runs: BTreeMap<Date, Date>,
}

impl From<Vec<(Date, Date)>> for SyncDays {
    fn from(v: Vec<(Date, Date)>) -> SyncDays {
        let mut s = SyncDays::default();
        for (a, b) in v {
            let mut d = a;
            // Runs as written are already merged; inserting day by day also repairs a
            // hand-edited file (bounded: one run covers at most a few years of days).
            for _ in 0..3660 {
                if d > b {
                    break;
                }
                s.insert(d);
                d = d.add_days(1);
            }
        }
        s
    }
}

impl From<SyncDays> for Vec<(Date, Date)> {
    fn from(s: SyncDays) -> Vec<(Date, Date)> {
        s.runs.into_iter().collect()
    }
}

impl SyncDays {
    pub fn of(days: impl IntoIterator<Item = Date>) -> SyncDays {
        let mut s = SyncDays::default();
        for d in days {
            s.insert(d);
        }
        s
    }

    pub fn insert(&mut self, d: Date) {
        let before = self.runs.range(..=d).next_back().map(|(a, b)| (*a, *b));
        if let Some((_, end)) = before {
            if end >= d {
                return;
            }
        }
        let mut start = d;
        let mut end = d;
        if let Some((a, b)) = before {
            if b.add_days(1) == d {
                start = a;
            }
        }
        if let Some(next_end) = self.runs.get(&d.add_days(1)).copied() {
            self.runs.remove(&d.add_days(1));
            end = next_end;
        }
        self.runs.insert(start, end);
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Runs of consecutive days, oldest first.
    pub fn runs(&self) -> impl Iterator<Item = (Date, Date)> + '_ {
        self.runs.iter().map(|(a, b)| (*a, *b))
    }

    /// Whether the node synced on some day from `from` to `to` (inclusive).
    pub fn any_between(&self, from: Date, to: Date) -> bool {
        from <= to && self.runs.range(..=to).next_back().is_some_and(|(_, end)| *end >= from)
    }

    /// The latest sync day on or before `d`.
    pub fn last_on_or_before(&self, d: Date) -> Option<Date> {
        self.runs.range(..=d).next_back().map(|(_, end)| (*end).min(d))
    }
}

/// The latest deadline of a cadence strictly before `as_of`, and the first day a sync counts
/// towards it; none when no deadline has passed yet.
fn last_deadline(cal: &Calendar, cadence: Cadence, as_of: Date) -> Option<(Date, Date)> {
    match cadence {
        Cadence::Daily => {
            let d = cal.previous_school_day(as_of);
            Some((d, d))
        }
        Cadence::Weekly { weekday } => {
            let wd = Weekday::try_from(weekday.saturating_sub(1)).ok()?;
            let d = (1..=7).map(|i| as_of.add_days(-i)).find(|d| d.0.weekday() == wd)?;
            Some((d, d.add_days(-6)))
        }
        Cadence::MonthEnd { window_days } => {
            let d = first_of_month(as_of).add_days(-1);
            Some((d, d.add_days(-(i64::from(window_days.max(1)) - 1))))
        }
        Cadence::MonthDay { day } => {
            let this = Date(NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), day)?);
            let d = if as_of > this {
                this
            } else {
                let prev = first_of_month(as_of).add_days(-1);
                Date(NaiveDate::from_ymd_opt(prev.year(), prev.month(), day)?)
            };
            Some((d, first_of_month(d)))
        }
        Cadence::AfterTermStart { days } => {
            let start = cal.term_start_on_or_before(as_of);
            let d = start.add_days(i64::from(days));
            (d < as_of).then_some((d, start))
        }
    }
}

/// Nodes that have not reported by the policy's deadlines (a node reports by syncing with the
/// hub). `nodes` are (node name, township, the days it synced successfully).
///
/// For each reporting rule, the latest deadline before `as_of` is owed when the node did not
/// sync on any day from that deadline's window opening (see [`Cadence`]) up to `as_of`; a
/// late sync clears it, a sync after `as_of` does not count. One alert per node and rule,
/// naming the township's center-school principal and deputy in charge from the org file.
pub fn report_deadline_alerts<S: AsRef<str>>(
    policy: &Policy,
    org: &Org,
    nodes: &[(S, S, &SyncDays)],
    as_of: Date,
) -> Vec<Alert> {
    let issued: Vec<(&str, &str, &SyncDays, Option<Date>)> =
        nodes.iter().map(|(n, t, d)| (n.as_ref(), t.as_ref(), *d, None)).collect();
    report_deadline_alerts_issued(policy, org, &issued, as_of)
}

/// As [`report_deadline_alerts`], with each node's issue date (issue 13 point 6): a deadline
/// that fell before the node was issued is not owed — a node issued after the as-of date, or
/// in the middle of a month, is not reported missing for what came before it.
pub fn report_deadline_alerts_issued(
    policy: &Policy,
    org: &Org,
    nodes: &[(&str, &str, &SyncDays, Option<Date>)],
    as_of: Date,
) -> Vec<Alert> {
    let cal = policy.calendar();
    let people = People::new(org);
    let mut out = Vec::new();
    for (name, township, days, issued) in nodes {
        let (name, township) = (*name, *township);
        let last = days.last_on_or_before(as_of);
        for rule in &policy.reporting {
            let Some((due, window)) = last_deadline(&cal, rule.cadence, as_of) else {
                continue;
            };
            if issued.is_some_and(|i| due < i) {
                continue;
            }
            if days.any_between(window, as_of) {
                continue;
            }
            let last_text = match last {
                Some(l) => format!("最后一次同步在 {l}"),
                None => "从未同步".to_string(),
            };
            out.push(Alert {
                id: format!("{}:{name}", rule.id),
                rule: rule.id.clone(),
                level: rule.level,
                subject_kind: SubjectKind::Node,
                subject: name.to_string(),
                township: township.to_string(),
                responsible: people.all(&[Role::CenterSchoolPrincipal, Role::TownshipDeputy], None, township),
                since: last.unwrap_or(window),
                due,
                clause: rule.clause.clone(),
                message: format!("节点「{name}」（{township}）{last_text}，未按时报送：{}（截止 {due}）。", rule.title),
            });
        }
    }
    out
}

/// The county's calendar needs updating (issue 13 point 3): the holiday table does not cover
/// the as-of date's year (weekends alone are then days off) or only provisionally, or — from
/// December — the coming year. One alert for the county (township empty), naming the bureau,
/// from `Calendar::needs_update`; rule id `calendar_needs_update`.
pub fn calendar_alert(policy: &Policy, as_of: Date) -> Option<Alert> {
    let cal = policy.calendar();
    let soon = as_of.add_days(31);
    let (year, line) = match cal.needs_update(as_of) {
        Some(l) => (as_of.year(), l),
        None if soon.year() != as_of.year() => (soon.year(), cal.needs_update(soon)?),
        None => return None,
    };
    let due = if year == as_of.year() { Date::ymd(year, 1, 1) } else { Date::ymd(as_of.year(), 12, 1) };
    Some(Alert {
        id: format!("calendar_needs_update:{year}"),
        rule: "calendar_needs_update".into(),
        level: crate::policy::Level::Warning,
        subject_kind: SubjectKind::Township,
        subject: format!("{year} 年节假日日历"),
        township: String::new(),
        responsible: "县教育局".into(),
        since: due,
        due,
        clause: "000 §三(二)".into(),
        message: format!("{line}。"),
    })
}

#[cfg(test)]
mod tests {

    use crate::policy::Policy;

    use super::*;
    use crate::alerts::testkit::*;
    use crate::alerts::*;

    // --- reporting cadence ----------------------------------------------------------------------

    fn report_rules(p: &Policy, synced: &[&str], as_of: &str) -> Vec<String> {
        let days = SyncDays::of(synced.iter().map(|s| d(s)));
        let nodes = [("node-yaling", "鸦岭镇", &days)];
        report_deadline_alerts(p, &org(), &nodes, d(as_of)).into_iter().map(|a| a.rule).collect()
    }

    #[test]
    fn sync_days_are_kept_as_runs() {
        let mut s = SyncDays::of(["2026-03-01", "2026-03-02", "2026-03-04"].map(d));
        assert_eq!(s.runs().count(), 2);
        s.insert(d("2026-03-03"));
        assert_eq!(s.runs().collect::<Vec<_>>(), vec![(d("2026-03-01"), d("2026-03-04"))]);
        s.insert(d("2026-02-28"));
        s.insert(d("2026-03-02"));
        assert_eq!(s.runs().collect::<Vec<_>>(), vec![(d("2026-02-28"), d("2026-03-04"))]);
        assert!(s.any_between(d("2026-03-04"), d("2026-03-09")));
        assert!(!s.any_between(d("2026-03-05"), d("2026-03-09")));
        assert!(!s.any_between(d("2026-02-01"), d("2026-02-27")));
        assert_eq!(s.last_on_or_before(d("2026-03-02")), Some(d("2026-03-02")));
        assert_eq!(s.last_on_or_before(d("2026-02-27")), None);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"[["2026-02-28","2026-03-04"]]"#);
        assert_eq!(serde_json::from_str::<SyncDays>(&json).unwrap(), s);
    }

    /// A node issued on 04-10 owes no March report on 04-11 (its deadline, 03-31, came before
    /// it existed), nor anything on an as-of date before its issue; May's report it owes.
    #[test]
    fn a_node_owes_nothing_due_before_it_was_issued() {
        let p = Policy::preset("yichuan").unwrap();
        let days = SyncDays::default();
        let at = |issued: &str, as_of: &str| -> usize {
            report_deadline_alerts_issued(&p, &org(), &[("n1", "鸦岭镇", &days, Some(d(issued)))], d(as_of)).len()
        };
        assert_eq!(at("2026-03-30", "2026-04-11"), 1, "issued the day before the deadline");
        assert_eq!(at("2026-03-31", "2026-04-11"), 1, "issued on the deadline");
        assert_eq!(at("2026-04-01", "2026-04-11"), 0, "issued the day after");
        assert_eq!(at("2026-04-10", "2026-04-11"), 0);
        assert_eq!(at("2026-06-10", "2026-04-11"), 0, "issued after the as-of date");
        assert_eq!(at("2026-04-10", "2026-06-01"), 1, "May's is owed");
    }

    /// 2026 is published, 2027 provisional, 2030 unknown: no alert in June 2026, one from
    /// December 2026 (the coming year), one in 2027 and in 2030.
    #[test]
    fn the_hub_says_when_the_calendar_needs_updating() {
        let p = Policy::preset("shapotou").unwrap();
        assert!(calendar_alert(&p, d("2026-06-01")).is_none());
        assert!(calendar_alert(&p, d("2026-11-30")).is_none(), "the day before December");
        let dec = calendar_alert(&p, d("2026-12-01")).expect("December: the coming year");
        assert_eq!((dec.rule.as_str(), dec.id.as_str()), ("calendar_needs_update", "calendar_needs_update:2027"));
        assert!(dec.message.contains("2027") && dec.message.contains("暂定"), "{}", dec.message);
        let a = calendar_alert(&p, d("2030-03-02")).unwrap();
        assert!(a.message.contains("未收录 2030"), "{}", a.message);
        assert_eq!((a.township.as_str(), a.level), ("", Level::Warning));
    }

    #[test]
    fn yichuan_last_day_of_the_month() {
        let p = Policy::preset("yichuan").unwrap();
        // Deadline 03-31, window from 03-29.
        assert!(report_rules(&p, &["2026-03-28"], "2026-03-31").is_empty(), "February's was met");
        assert_eq!(report_rules(&p, &["2026-03-28"], "2026-04-01"), vec!["monthly_report"]);
        assert!(report_rules(&p, &["2026-03-29"], "2026-04-01").is_empty());
        assert!(report_rules(&p, &["2026-04-01"], "2026-04-01").is_empty(), "late, but arrived");
        let days = SyncDays::default();
        let a = &report_deadline_alerts(&p, &org(), &[("n1", "鸦岭镇", &days)], d("2026-04-02"))[0];
        assert_eq!((a.subject_kind, a.due), (SubjectKind::Node, d("2026-03-31")));
        assert!(a.message.contains("从未同步"));
        assert_eq!(a.clause, "001 §三(三)2");
        // The center school's principal and the deputy in charge, from the org file.
        assert_eq!(a.responsible, "王校长（鸦岭中心小学校长）、李副镇长（鸦岭镇分管领导）");
        let b = &report_deadline_alerts(&p, &org(), &[("n2", "高山乡", &days)], d("2026-04-02"))[0];
        assert_eq!(b.responsible, "高山乡中心学校校长、高山乡分管领导");
    }

    /// A later sync does not hide a deadline missed before the as-of day.
    #[test]
    fn a_later_sync_does_not_hide_a_missed_deadline() {
        let p = Policy::preset("yichuan").unwrap();
        let synced = ["2026-03-20", "2026-04-10"];
        assert_eq!(report_rules(&p, &synced, "2026-04-01"), vec!["monthly_report"]);
        assert_eq!(report_rules(&p, &synced, "2026-04-09"), vec!["monthly_report"]);
        assert!(report_rules(&p, &synced, "2026-04-10").is_empty());
        let days = SyncDays::of(synced.map(d));
        let a = &report_deadline_alerts(&p, &org(), &[("n1", "鸦岭镇", &days)], d("2026-04-01"))[0];
        assert!(a.message.contains("最后一次同步在 2026-03-20"), "{}", a.message);
        assert_eq!(a.since, d("2026-03-20"));
    }

    #[test]
    fn feicheng_before_the_fifth() {
        let p = Policy::preset("feicheng").unwrap();
        let monthly =
            |last: &str, as_of: &str| report_rules(&p, &[last], as_of).contains(&"monthly_report".to_string());
        assert!(!monthly("2026-03-31", "2026-04-04"));
        assert!(!monthly("2026-03-31", "2026-04-05"), "the 5th itself is still in time");
        assert!(monthly("2026-03-31", "2026-04-06"));
        assert!(!monthly("2026-04-05", "2026-04-06"));
        assert!(!monthly("2026-04-01", "2026-04-07"));
    }

    #[test]
    fn yaoan_within_fifteen_days_of_term_start() {
        let p = Policy::preset("yaoan").unwrap();
        // Autumn term starts Tue 2026-09-01; due 09-16, owed from 09-17.
        assert!(report_rules(&p, &["2026-08-30"], "2026-09-16").is_empty());
        assert_eq!(report_rules(&p, &["2026-08-30"], "2026-09-17"), vec!["term_start_report"]);
        assert_eq!(report_rules(&p, &[], "2026-09-18"), vec!["term_start_report"]);
        assert!(report_rules(&p, &["2026-09-02"], "2026-09-17").is_empty());
        // The first day of term counts; the day before it does not.
        assert!(report_rules(&p, &["2026-09-01"], "2026-09-17").is_empty());
        assert_eq!(report_rules(&p, &["2026-08-31"], "2026-09-17"), vec!["term_start_report"]);
        // Spring term: school resumes 02-24 (after 春节); due 03-11.
        assert!(report_rules(&p, &[], "2026-03-11").is_empty());
        assert_eq!(report_rules(&p, &[], "2026-03-12"), vec!["term_start_report"]);
        assert_eq!(report_rules(&p, &["2026-03-11"], "2026-03-13"), Vec::<String>::new());
    }

    #[test]
    fn lipu_daily_weekly_monthly() {
        let p = Policy::preset("lipu").unwrap();
        // Mon 2026-03-09: last school day Fri 03-06; last Friday 03-06 (window from 02-28);
        // last month end 02-28 (window from 02-26).
        assert!(report_rules(&p, &["2026-03-06"], "2026-03-09").is_empty());
        assert_eq!(report_rules(&p, &["2026-03-05"], "2026-03-09"), vec!["daily_report"]);
        assert_eq!(report_rules(&p, &["2026-02-27"], "2026-03-09"), vec!["daily_report", "weekly_report"]);
        assert_eq!(report_rules(&p, &["2026-02-20"], "2026-03-09").len(), 3);
        assert!(report_rules(&Policy::preset("shapotou").unwrap(), &[], "2026-03-09").is_empty());
    }

    /// 荔浦 002 §五(一): each report the day before, of and after its deadline.
    #[test]
    fn lipu_report_boundaries() {
        let p = Policy::preset("lipu").unwrap();
        let has = |synced: &[&str], as_of: &str, rule: &str| report_rules(&p, synced, as_of).iter().any(|r| r == rule);
        // Daily, deadline Tue 03-10 (a school day): judged from Wed 03-11.
        assert!(has(&["2026-03-09"], "2026-03-11", "daily_report"), "synced the day before the deadline");
        assert!(!has(&["2026-03-10"], "2026-03-11", "daily_report"), "synced on the deadline");
        assert!(!has(&["2026-03-11"], "2026-03-11", "daily_report"), "synced the day after: late, arrived");
        assert!(!has(&["2026-03-09"], "2026-03-10", "daily_report"), "03-10 is not over yet; 03-09 was met");
        // Weekly (Friday 03-13; window 03-07 … 03-13): judged from Sat 03-14.
        assert!(has(&["2026-03-06"], "2026-03-14", "weekly_report"));
        assert!(!has(&["2026-03-07"], "2026-03-14", "weekly_report"));
        assert!(!has(&["2026-03-13"], "2026-03-14", "weekly_report"));
        assert!(!has(&["2026-03-06"], "2026-03-13", "weekly_report"), "the Friday itself is still in time");
        // Monthly (last day 03-31, window 03-29 … 03-31): judged from 04-01.
        assert!(has(&["2026-03-28"], "2026-04-01", "monthly_report"));
        assert!(!has(&["2026-03-29"], "2026-04-01", "monthly_report"));
        assert!(!has(&["2026-03-31"], "2026-04-01", "monthly_report"));
        assert!(!has(&["2026-02-28"], "2026-03-31", "monthly_report"), "03-31 is not over yet");
    }
}
