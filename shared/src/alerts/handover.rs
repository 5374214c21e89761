//! The alert of a non-local pupil's handover (000 §三(二)): from the day the case is confirmed
//! as 辍学 until the handover to the 户籍 county is recorded on the case. The items themselves
//! are `crate::handover`'s, shared with the bureau's export.

use super::{Alert, Level, SubjectKind};
use crate::dates::Date;
use crate::handover::{self, CLAUSE};
use crate::state::Record;

/// Who makes the handover: 000 §三(二) "由教育行政部门向学生户籍所在地教育行政部门通报".
pub const RESPONSIBLE: &str = "县教育局（基教股）";

/// One alert per handover item not yet recorded on `as_of`.
pub(super) fn handover_alerts(records: &[&Record], as_of: Date) -> Vec<Alert> {
    handover::items(records.iter().copied(), as_of)
        .into_iter()
        .filter(|i| i.handed_over.is_none())
        .map(|i| {
            let place = i.hukou_place();
            Alert {
                id: format!("handover:{}", i.case),
                rule: "handover".into(),
                level: Level::Warning,
                subject_kind: SubjectKind::Case,
                subject: i.case.clone(),
                township: i.township.clone(),
                responsible: RESPONSIBLE.into(),
                since: i.confirmed,
                due: i.confirmed,
                clause: CLAUSE.into(),
                message: format!(
                    "非户籍学生 {}（{}{}）{} 已确认辍学，户籍在 {place}：应向{}教育行政部门{}；办结后在个案中记录（case act {} --kind handover）",
                    i.name,
                    i.school.as_deref().unwrap_or(&i.township),
                    i.id_number.as_deref().map(|n| format!("，身份证号 {n}")).unwrap_or_default(),
                    i.confirmed,
                    i.hukou_county,
                    handover::NEEDS,
                    i.case
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::testkit::*;
    use crate::model::{ActionKind, Outcome};
    use crate::revision::{Assign, Change, Field, RecordKind, Value};

    /// A 5th-grader whose 户籍 is in 嵩县 (or in the county: `county` None), and a case of theirs
    /// confirmed on 2026-09-14.
    fn pupil(county: Option<&str>) -> (Record, CaseBuilder) {
        let mut s = student_with_absences(&[("2026-09-07", crate::model::AbsenceKind::Unexcused)]);
        if let Some(c) = county {
            let a = Assign { field: Field::HukouCounty, value: Value::OptText(Some(c.into())), supersedes: vec![] };
            s.apply(&revision(s.id, RecordKind::Student, d("2026-09-01"), Change::Update(vec![a])));
        }
        let case =
            CaseBuilder::with_student("张小明", "鸦岭镇", Some("鸦岭中心小学"), Some(5), d("2026-09-07"), Some(s.id))
                .confirm("2026-09-14");
        (s, case)
    }

    fn alerts_on(student: &Record, case: &Record, as_of: &str) -> Vec<Alert> {
        handover_alerts(&[case, student], d(as_of))
    }

    #[test]
    fn from_the_day_of_confirmation_until_recorded() {
        let (s, case) = pupil(Some("嵩县"));
        let c = case.build();
        assert!(alerts_on(&s, &c, "2026-09-13").is_empty(), "the day before confirmation");
        let on = alerts_on(&s, &c, "2026-09-14");
        assert_eq!(on.len(), 1, "the day of confirmation");
        let a = &on[0];
        assert_eq!((a.rule.as_str(), a.since, a.responsible.as_str()), ("handover", d("2026-09-14"), RESPONSIBLE));
        assert!(a.message.contains("张*明") && !a.message.contains("张小明"), "the name is masked: {}", a.message);
        assert!(a.message.contains("嵩县") && a.message.contains("电子学籍档案"), "{}", a.message);
        assert!(a.message.contains("****"), "the ID number is masked: {}", a.message);
        assert_eq!(alerts_on(&s, &c, "2026-09-15").len(), 1, "the day after");
        // Recorded on 09-16: still owed on 09-15, gone from 09-16.
        let done = case.clone().act("2026-09-16", ActionKind::Handover, None).build();
        assert_eq!(alerts_on(&s, &done, "2026-09-15").len(), 1);
        assert!(alerts_on(&s, &done, "2026-09-16").is_empty());
        assert!(alerts_on(&s, &done, "2026-09-17").is_empty());
        // The export keeps the row, with the day it was made.
        let rows = handover::items([&done, &s], d("2026-09-17"));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].handed_over, Some(d("2026-09-16")));
        // Any other action does not count as the handover.
        let other = case.clone().act("2026-09-15", ActionKind::Referral, None).build();
        assert_eq!(alerts_on(&s, &other, "2026-09-16").len(), 1);
    }

    #[test]
    fn only_non_local_confirmed_open_cases() {
        let (local, case) = pupil(None);
        assert!(alerts_on(&local, &case.build(), "2026-09-20").is_empty(), "a local pupil owes no handover");
        let (s, case) = pupil(Some("嵩县"));
        let closed = case.clone().close("2026-09-18", Outcome::Returned).build();
        assert_eq!(alerts_on(&s, &closed, "2026-09-17").len(), 1);
        assert!(alerts_on(&s, &closed, "2026-09-18").is_empty(), "back in school: nothing to hand over");
        // Without the student's record (not held here) nothing is known of the 户籍.
        assert!(handover_alerts(&[&case.build()], d("2026-09-20")).is_empty());
    }

    #[test]
    fn a_handover_is_no_persuasion_measure() {
        // 肥城's first rung is met by an action of any kind from day 0 — never by the bureau's
        // handover.
        let policy = crate::policy::Policy::preset("feicheng").unwrap();
        let case = primary_case("2026-03-02");
        let rung = "verify_and_persuade".to_string();
        assert!(rules(&policy, &case.build(), "2026-03-02").contains(&rung), "the test's premise");
        let other = case.clone().act("2026-03-02", ActionKind::Other, None);
        assert!(!rules(&policy, &other.build(), "2026-03-02").contains(&rung), "the test's premise");
        let with = case.act("2026-03-02", ActionKind::Handover, None);
        assert!(rules(&policy, &with.build(), "2026-03-02").contains(&rung));
        assert!(rules(&policy, &with.build(), "2026-03-03").contains(&rung));
    }
}
