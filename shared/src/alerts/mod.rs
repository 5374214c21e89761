//! Alerts: what is overdue, for whom, under which clause. One implementation, used by a
//! township node offline (its own township's records) and by the county hub (every record), so
//! the two can never disagree about what is in force.
//!
//! Everything is a pure function of the policy, the org, the records and an as-of date: an
//! alert is *in force* on the as-of date when its due date has come and nothing recorded on or
//! before that date meets it. Re-running with an earlier as-of date gives that day's alerts
//! exactly: actions, closures, confirmations and status changes are all read by their business
//! dates ([`Record::value_on`]), never by what the record says today.
//!
//! - [`case_alerts`]: the county's escalation ladder for one open case (004 第七条, 000 §三(二),
//!   002 §四(一), 003 §二(五), 001 附件2).
//! - [`school_alerts`], [`township_alerts`]: accountability (004 第八条, 000 §五(三)).
//! - [`loss_alerts`]: a unit losing more than 1% of its students in a school year (004 第八条);
//!   [`dropout_rate_alerts`]: a township above the national 辍学率 limit (000 §五(三)).
//! - [`report_deadline_alerts`]: nodes that have not reported by the policy's deadline, from
//!   the days they synced ([`SyncDays`]).
//! - [`duplicate_enrolment_alert`], [`conflict_alert`]: data problems the hub finds
//!   ([`duplicate_since`] says whether two records were both on a roll on a day).
//! - [`cloned_identity_alert`], [`trouble_alert`]: the system itself (an identity on two
//!   machines; a certificate, disk or backup about to cause trouble).
//! - [`all_alerts`]: case + school + township rules over a set of records, most urgent first.
//! - [`overdue_unconfirmed`] ([`confirmation_overdue`] for one case): the cases past the day
//!   their confirmation fell due and still unconfirmed (逾期未确认), which the township table
//!   counts as 在籍辍学.

mod accountability;
mod case;
#[cfg(test)]
mod clock_props;
mod data_quality;
mod deadlines;
mod facts;
mod handover;
mod operations;
mod rates;
#[cfg(test)]
mod testkit;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::org::Org;
pub use crate::policy::Level;
use crate::policy::Policy;
use crate::revision::{RecordId, RecordKind};
use crate::state::Record;

use accountability::{notification_alerts, school_dropout_alerts, township_alerts_in};
use case::case_alerts_in;
use facts::{index_students, student_of};

pub use accountability::{school_alerts, township_alerts};
pub use case::{case_alerts, confirmation_overdue};
pub use data_quality::{conflict_alert, duplicate_enrolment_alert, duplicate_since};
pub use deadlines::{calendar_alert, report_deadline_alerts, report_deadline_alerts_issued, SyncDays};
pub use handover::RESPONSIBLE as HANDOVER_RESPONSIBLE;
pub use operations::{
    backup_is_stale, cert_expires_soon, cloned_identity_alert, disk_is_low, trouble_alert, CertExpiry, DiskFacts,
    OperationsFacts, Trouble, BACKUP_MAX_DAYS, CERT_WARN_DAYS,
};
pub use rates::{dropout_rate_alerts, loss_alerts, StageCounts, UnitCounts};

/// What an alert is about (docs/CLI.md `subject_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Case,
    Student,
    School,
    Township,
    Node,
}

impl SubjectKind {
    pub fn label(self) -> &'static str {
        match self {
            SubjectKind::Case => "个案",
            SubjectKind::Student => "学生",
            SubjectKind::School => "学校",
            SubjectKind::Township => "乡镇",
            SubjectKind::Node => "节点",
        }
    }
}

/// One alert in force. Serialises to exactly the keys of docs/CLI.md (`alerts --json`), with
/// `since`/`due` as `YYYY-MM-DD` strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `rule:subject-key`: deterministic, the same on the node and the hub and from one run to
    /// the next, so operators and scripts can follow an alert over days.
    pub id: String,
    /// The rule's id in the policy (a ladder rung's id, `school_dropouts_primary`, …).
    pub rule: String,
    pub level: Level,
    pub subject_kind: SubjectKind,
    /// Case: its short id; student: masked ID number; school/township/node: its name.
    pub subject: String,
    /// The township the alert belongs to (empty for the county as a whole).
    pub township: String,
    /// The people who must act, from the org file; generic titles where it names nobody.
    pub responsible: String,
    /// When the condition began: day 0 of the clock, the notice date, the day a school passed
    /// a threshold, a node's last sync.
    pub since: Date,
    /// The day the action fell due; the alert is in force from this day.
    pub due: Date,
    /// The source, e.g. `004 第七条`.
    pub clause: String,
    /// Chinese, naming the child by name only (never an ID number), the days elapsed and what
    /// to do.
    pub message: String,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {} 责任人：{}（{} 起应办，依据 {}）",
            self.level, self.message, self.responsible, self.due, self.clause
        )
    }
}

/// Most urgent first: level, then the oldest due date, then id (a total, stable order).
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| b.level.cmp(&a.level).then(a.due.cmp(&b.due)).then_with(|| a.id.cmp(&b.id)));
}

/// Case, school and township rules over `records` (students and cases, any order) on `as_of`,
/// most urgent first. A node passes its own township as `township_filter` and sees only its
/// cases and the alerts of its township; the hub passes none. Report-deadline, loss, duplicate
/// and conflict alerts need inputs the records do not hold; callers add them.
pub fn all_alerts<'a>(
    policy: &Policy,
    org: &Org,
    records: impl IntoIterator<Item = &'a Record>,
    as_of: Date,
    township_filter: Option<&str>,
) -> Vec<Alert> {
    let cal = policy.calendar();
    let records: Vec<&Record> = records
        .into_iter()
        .filter(|r| match (township_filter, r.kind, r.case.as_deref()) {
            (Some(t), RecordKind::Case, Some(c)) => c.township == t,
            _ => true,
        })
        .collect();
    let students = index_students(&records);
    let mut out = Vec::new();
    for case in records.iter().filter(|r| r.kind == RecordKind::Case) {
        out.extend(case_alerts_in(policy, &cal, org, case, student_of(case, &students), as_of));
    }
    out.extend(school_dropout_alerts(policy, &cal, org, &records, as_of));
    out.extend(notification_alerts(policy, &cal, org, &records, as_of));
    out.extend(township_alerts_in(policy, &cal, org, &records, as_of));
    out.extend(handover::handover_alerts(&records, as_of));
    if let Some(t) = township_filter {
        out.retain(|a| a.township == t);
    }
    sort_alerts(&mut out);
    out
}

/// The cases among `records` (students and cases, any order; a case finds its student among
/// them) whose confirmation is overdue on `as_of` ([`confirmation_overdue`], 逾期未确认): what
/// the township table and the ranking count as 在籍辍学 beside the confirmed roll cases
/// (`indicators::township_table`).
pub fn overdue_unconfirmed<'a>(
    policy: &Policy,
    records: impl IntoIterator<Item = &'a Record>,
    as_of: Date,
) -> BTreeSet<RecordId> {
    let cal = policy.calendar();
    let records: Vec<&Record> = records.into_iter().collect();
    let students = index_students(&records);
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Case)
        .filter(|c| confirmation_overdue(policy, &cal, c, student_of(c, &students), as_of).is_some())
        .map(|c| c.id)
        .collect()
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::alerts::testkit::*;
    use crate::revision::{RecordId, RecordKind};
    use crate::state::Record;

    // --- all together -----------------------------------------------------------------------------

    #[test]
    fn all_alerts_filters_by_township_and_sorts_most_urgent_first() {
        let p = shapotou();
        let ours = primary_case("2026-03-02").build();
        let theirs = CaseBuilder::new("赵六", "高山乡", Some("高山九年制学校"), Some(4), d("2026-03-02")).build();
        let juniors: Vec<Record> = three_junior_dropouts().iter().map(CaseBuilder::build).collect();
        let mut records = vec![&ours, &theirs];
        records.extend(juniors.iter());
        let as_of = d("2026-05-08");
        let county = all_alerts(&p, &org(), records.iter().copied(), as_of, None);
        assert!(county.iter().any(|a| a.township == "高山乡"));
        assert!(county.iter().any(|a| a.rule == "township_ladder_m1"));
        assert!(county.iter().any(|a| a.rule == "school_dropouts_junior"));
        for w in county.windows(2) {
            assert!(w[0].level > w[1].level || (w[0].level == w[1].level && w[0].due <= w[1].due), "{w:?}");
        }
        assert_eq!(county[0].level, Level::Urgent);
        let node = all_alerts(&p, &org(), records.iter().copied(), as_of, Some("鸦岭镇"));
        assert!(!node.is_empty() && node.iter().all(|a| a.township == "鸦岭镇"));
        assert_eq!(node.len(), county.iter().filter(|a| a.township == "鸦岭镇").count());
        // Deterministic: the same input gives the same list.
        assert_eq!(node, all_alerts(&p, &org(), records.iter().copied(), as_of, Some("鸦岭镇")));
        // Incomplete records (creating revision not arrived) are skipped.
        let empty = Record::new(RecordId::created_by(next_id()), RecordKind::Case);
        assert!(all_alerts(&p, &org(), [&empty], as_of, None).is_empty());
    }

    #[test]
    fn json_has_exactly_the_cli_keys() {
        let p = shapotou();
        let a = case_alerts(&p, &org(), &primary_case("2026-03-02").build(), None, d("2026-03-02")).remove(0);
        let v = serde_json::to_value(&a).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut want = vec![
            "id",
            "rule",
            "level",
            "subject_kind",
            "subject",
            "township",
            "responsible",
            "since",
            "due",
            "clause",
            "message",
        ];
        want.sort();
        assert_eq!(keys, want);
        assert_eq!(v["since"], "2026-03-02");
        assert_eq!(v["due"], "2026-03-02");
        assert_eq!(v["level"], "info");
        assert_eq!(v["subject_kind"], "case");
        let back: Alert = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }
}
