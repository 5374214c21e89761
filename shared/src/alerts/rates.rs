//! Whole-unit figures: a unit losing more than 1% of its students (004 第八条), a township above the
//! national 辍学率 limit (000 §五(三)).

use serde::{Deserialize, Serialize};

use super::facts::People;
use super::{Alert, SubjectKind};
use crate::dates::{Date, SchoolYear};
use crate::org::Org;
use crate::policy::{exceeds_percent, Policy, Role};

/// One stage's counts of a unit (docs/FORMULAS.md 辍学率, split primary/junior).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCounts {
    pub enrolled_at_start: u64,
    pub dropouts: u64,
}

/// One unit's counts for a school year, as the indicators module computes them
/// (docs/FORMULAS.md 辍学率: `enrolled_at_start` = E, `dropouts` = D).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCounts {
    /// `School` or `Township`; for the county as a whole, `Township` with an empty `township`.
    pub kind: SubjectKind,
    pub name: String,
    /// The township of a school or township unit; empty for the county.
    pub township: String,
    pub school_year: SchoolYear,
    pub enrolled_at_start: u64,
    pub dropouts: u64,
    #[serde(default)]
    pub primary: StageCounts,
    #[serde(default)]
    pub junior: StageCounts,
}

/// 004 第八条: a unit that lost more than the policy's share (1%) of its students in the school
/// year: "造成学生学年内流失超过1%的，对主要负责人进行问责". Compared exactly (2 of 200 is
/// not more than 1%; 3 of 200 is).
pub fn loss_alerts(policy: &Policy, org: &Org, units: &[UnitCounts], as_of: Date) -> Vec<Alert> {
    let Some(rule) = &policy.accountability.unit_loss else {
        return Vec::new();
    };
    let cal = policy.calendar();
    let people = People::new(org);
    let mut out = Vec::new();
    for u in units {
        if !rule.exceeded(u.enrolled_at_start, u.dropouts) {
            continue;
        }
        let responsible = if u.township.is_empty() {
            "县教育局主要负责人、分管负责人".to_string()
        } else if u.kind == SubjectKind::School {
            people.all(&[Role::Principal], Some(&u.name), &u.township)
        } else {
            people.all(&[Role::TownshipDeputy], None, &u.township)
        };
        let pct = u.dropouts as f64 * 100.0 / u.enrolled_at_start as f64;
        out.push(Alert {
            id: format!("unit_loss:{}/{}", u.name, u.school_year),
            rule: "unit_loss".into(),
            level: rule.level,
            subject_kind: u.kind,
            subject: u.name.clone(),
            township: u.township.clone(),
            responsible,
            since: cal.school_year_start_date(u.school_year),
            due: as_of,
            clause: rule.clause.clone(),
            message: format!(
                "{}{}学年流失 {} 人，学年初在籍 {} 人，流失率 {pct:.2}%，超过 {}%：{}。",
                u.name, u.school_year, u.dropouts, u.enrolled_at_start, rule.more_than_percent, rule.title
            ),
        });
    }
    out
}

/// 000 §五(三) "对辍学率超过国家规定要求的，根据干部管理权限对乡镇人民政府及中心学校主要领导、
/// 分管领导和有关责任人予以通报或诫勉问责": each township (not schools, not the county) whose
/// primary or junior 辍学率 of the school year (docs/FORMULAS.md) exceeds the policy's limit.
/// One alert per township naming the stages over the limit; compared exactly.
pub fn dropout_rate_alerts(policy: &Policy, org: &Org, units: &[UnitCounts], as_of: Date) -> Vec<Alert> {
    let Some(rule) = &policy.accountability.dropout_rate else {
        return Vec::new();
    };
    let cal = policy.calendar();
    let people = People::new(org);
    let mut out = Vec::new();
    for u in units.iter().filter(|u| u.kind == SubjectKind::Township && !u.township.is_empty()) {
        let mut over = Vec::new();
        for (label, c, limit) in [("小学", u.primary, rule.primary_percent), ("初中", u.junior, rule.junior_percent)]
        {
            if exceeds_percent(c.enrolled_at_start, c.dropouts, limit) {
                let pct = c.dropouts as f64 * 100.0 / c.enrolled_at_start as f64;
                over.push(format!(
                    "{label}辍学 {} 人、学年初在籍 {} 人，辍学率 {pct:.2}%，超过 {limit}%",
                    c.dropouts, c.enrolled_at_start
                ));
            }
        }
        if over.is_empty() {
            continue;
        }
        out.push(Alert {
            id: format!("dropout_rate_over_limit:{}/{}", u.name, u.school_year),
            rule: "dropout_rate_over_limit".into(),
            level: rule.level,
            subject_kind: SubjectKind::Township,
            subject: u.name.clone(),
            township: u.township.clone(),
            responsible: people.all(&rule.responsible, None, &u.township),
            since: cal.school_year_start_date(u.school_year),
            due: as_of,
            clause: rule.clause.clone(),
            message: format!("{}{}学年{}：{}。", u.name, u.school_year, over.join("；"), rule.title),
        });
    }
    out
}

#[cfg(test)]
mod tests {

    use crate::policy::Policy;

    use super::*;
    use crate::alerts::testkit::*;
    use crate::alerts::*;

    // --- unit loss ------------------------------------------------------------------------------

    #[test]
    fn unit_loss_above_one_percent() {
        let p = shapotou();
        let unit = |e, k| UnitCounts {
            kind: SubjectKind::School,
            name: "鸦岭初中".into(),
            township: "鸦岭镇".into(),
            school_year: SchoolYear(2025),
            enrolled_at_start: e,
            dropouts: k,
            primary: StageCounts::default(),
            junior: StageCounts { enrolled_at_start: e, dropouts: k },
        };
        assert!(loss_alerts(&p, &org(), &[unit(200, 2)], d("2026-03-01")).is_empty());
        let a = loss_alerts(&p, &org(), &[unit(200, 3)], d("2026-03-01"));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].clause, "004 第八条");
        assert_eq!(a[0].since, d("2025-09-01"));
        assert!(a[0].message.contains("1.50%"), "{}", a[0].message);
        assert!(loss_alerts(&p, &org(), &[unit(0, 0)], d("2026-03-01")).is_empty());
        let county = UnitCounts { kind: SubjectKind::Township, township: String::new(), ..unit(1000, 11) };
        assert_eq!(
            loss_alerts(&p, &org(), &[county], d("2026-03-01"))[0].responsible,
            "县教育局主要负责人、分管负责人"
        );
        assert!(loss_alerts(&Policy::preset("yichuan").unwrap(), &org(), &[unit(100, 50)], d("2026-03-01")).is_empty());
    }
}
