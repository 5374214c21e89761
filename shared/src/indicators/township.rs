//! 伊川's monthly township table of children not back at school, and the monthly ranking of
//! townships.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::dropout::{dropout_report, DropoutReport};
use super::history::{History, What, CASE_CLOSED, CASE_CONFIRMED};
use crate::dates::Date;
use crate::model::CaseSource;
use crate::org::Org;
use crate::revision::RecordId;

/// One row of 伊川's table (001 附件1); the total row has `township` = "合计".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TownshipRow {
    pub township: String,
    pub roll_unreturned: u64,
    pub suspected_list_unreturned: u64,
    pub census_unreturned: u64,
    pub total: u64,
}

/// docs/CLI.md `report township-table --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TownshipTable {
    pub as_of: Date,
    pub rows: Vec<TownshipRow>,
    pub total: TownshipRow,
    /// The records behind every cell: each counted child's case (the one that puts the child
    /// in its column) with that column — 0 roll, 1 Ministry list, 2 census. Not part of the
    /// report's forms (a table read back from an archive has none).
    #[serde(skip)]
    pub counted: BTreeMap<RecordId, u8>,
}

/// Children still out, per township, on `as_of`.
///
/// `overdue` holds the cases whose confirmation is overdue on `as_of`
/// (`alerts::overdue_unconfirmed`, 逾期未确认): an open roll case among them counts as 在籍辍学
/// as if confirmed (issue 13 point 6, 001 附件1; docs/FORMULAS.md), so a township that does
/// not confirm cannot look better than one that does.
pub fn township_table(h: &History, org: &Org, as_of: Date, overdue: &BTreeSet<RecordId>) -> TownshipTable {
    // Each child once: the first column that applies (0 roll, 1 Ministry list, 2 census).
    let mut child: HashMap<u32, (u8, u32, RecordId)> = HashMap::new();
    for (i, m) in h.cases.iter().enumerate() {
        if !m.created {
            continue;
        }
        let Some(code) = h.case_events(i as u32).iter().rev().find(|e| e.date <= as_of).and_then(|e| match e.what {
            What::Case(c) => Some(c),
            _ => None,
        }) else {
            continue;
        };
        let col = match (m.source, code) {
            (_, c) if c >= CASE_CLOSED => continue,
            (CaseSource::Roll, CASE_CONFIRMED) => 0,
            (CaseSource::Roll, _) if overdue.contains(&m.id) => 0,
            (CaseSource::Roll, _) => continue,
            (CaseSource::Ministry, _) => 1,
            _ => 2,
        };
        let entry = child.entry(m.child).or_insert((col, m.township, m.id));
        if col < entry.0 {
            *entry = (col, m.township, m.id);
        }
    }
    let mut counts: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    let mut counted = BTreeMap::new();
    for (col, t, case) in child.values() {
        counts.entry(h.townships.name(*t)).or_default()[*col as usize] += 1;
        counted.insert(*case, *col);
    }
    let row = |name: &str, c: [u64; 3]| TownshipRow {
        township: name.to_string(),
        roll_unreturned: c[0],
        suspected_list_unreturned: c[1],
        census_unreturned: c[2],
        total: c.iter().sum(),
    };
    let mut rows: Vec<TownshipRow> =
        org.townships.keys().map(|t| row(t, counts.get(t.as_str()).copied().unwrap_or_default())).collect();
    for (t, c) in &counts {
        if !org.townships.contains_key(*t) {
            rows.push(row(t, *c));
        }
    }
    let mut sum = [0u64; 3];
    for r in &rows {
        sum[0] += r.roll_unreturned;
        sum[1] += r.suspected_list_unreturned;
        sum[2] += r.census_unreturned;
    }
    TownshipTable { as_of, rows, total: row("合计", sum), counted }
}

/// One row of the monthly ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingRow {
    pub rank: u32,
    pub township: String,
    pub unreturned: u64,
    pub dropout_rate: Option<f64>,
}

/// docs/CLI.md `report ranking --json`: 一月一排名 (001 §三(三)2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub as_of: Date,
    /// `YYYY-MM`.
    pub month: String,
    pub rows: Vec<RankingRow>,
}

/// Ranks the org's townships from a table and a dropout report of the same day.
pub fn ranking_from(org: &Org, table: &TownshipTable, dropout: &DropoutReport) -> Ranking {
    let unreturned: HashMap<&str, u64> = table.rows.iter().map(|r| (r.township.as_str(), r.total)).collect();
    let rates: HashMap<&str, Option<f64>> = dropout.townships.iter().map(|u| (u.name.as_str(), u.rate)).collect();
    let mut rows: Vec<RankingRow> = org
        .townships
        .keys()
        .map(|t| RankingRow {
            rank: 0,
            township: t.clone(),
            unreturned: unreturned.get(t.as_str()).copied().unwrap_or(0),
            dropout_rate: rates.get(t.as_str()).copied().flatten(),
        })
        .collect();
    let key_cmp = |a: &RankingRow, b: &RankingRow| {
        a.unreturned.cmp(&b.unreturned).then_with(|| match (a.dropout_rate, b.dropout_rate) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
    };
    rows.sort_by(|a, b| key_cmp(a, b).then_with(|| a.township.cmp(&b.township)));
    for i in 0..rows.len() {
        rows[i].rank =
            if i > 0 && key_cmp(&rows[i - 1], &rows[i]) == Ordering::Equal { rows[i - 1].rank } else { i as u32 + 1 };
    }
    let as_of = table.as_of;
    Ranking { as_of, month: format!("{:04}-{:02}", as_of.year(), as_of.month()), rows }
}

/// The monthly ranking on `as_of` (辍学率 of the school year `as_of` falls in); `overdue` as
/// for [`township_table`].
pub fn ranking(h: &History, org: &Org, as_of: Date, overdue: &BTreeSet<RecordId>) -> Ranking {
    let table = township_table(h, org, as_of, overdue);
    let dropout = dropout_report(h, org, h.school_year_of(as_of), as_of);
    ranking_from(org, &table, &dropout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::SchoolYear;

    use crate::indicators::sim::Sim;
    use crate::indicators::testkit::*;

    use crate::report::{render, Format};

    #[test]
    fn township_table_by_hand() {
        let s = cases_county();
        let org = org();
        let h = history(&s.revs);
        let t = township_table(&h, &org, d(2027, 3, 31), &none());
        let rows: Vec<(&str, [u64; 4])> = t
            .rows
            .iter()
            .map(|r| {
                (r.township.as_str(), [r.roll_unreturned, r.suspected_list_unreturned, r.census_unreturned, r.total])
            })
            .collect();
        assert_eq!(rows, [("城关", [0, 0, 1, 1]), ("白沙", [0, 0, 1, 1]), ("鸦岭", [2, 1, 1, 4])]);
        assert_eq!(
            [t.total.roll_unreturned, t.total.suspected_list_unreturned, t.total.census_unreturned, t.total.total],
            [2, 1, 3, 6]
        );
        // On 2027-04-30: c6 returned (roll 1), c7 opened (census +1).
        let later = township_table(&h, &org, d(2027, 4, 30), &none());
        assert_eq!(later.rows[2].roll_unreturned, 1);
        assert_eq!(later.rows[2].census_unreturned, 2);
        // A case of a township the org does not know gets its own row, so the total adds up.
        let mut s2 = cases_county();
        s2.simple_case(d(2026, 12, 1), "外县", crate::model::CaseSource::Police);
        let t2 = township_table(&history(&s2.revs), &org, d(2027, 3, 31), &none());
        assert_eq!(t2.rows.last().unwrap().township, "外县");
        assert_eq!(t2.total.total, 7);
        // The records behind the cells: one case per counted child, in its column.
        for t in [&t, &later, &t2] {
            let per_col = |c: u8| t.counted.values().filter(|x| **x == c).count() as u64;
            assert_eq!(
                [per_col(0), per_col(1), per_col(2)],
                [t.total.roll_unreturned, t.total.suspected_list_unreturned, t.total.census_unreturned]
            );
        }

        let v: serde_json::Value = serde_json::from_str(&render(&t, Format::Json)).unwrap();
        assert_eq!(v["rows"][2]["township"], "鸦岭");
        assert_eq!(v["rows"][2]["suspected_list_unreturned"], 1);
        assert_eq!(v["total"]["total"], 6);
    }

    #[test]
    fn ranking_by_hand() {
        let s = cases_county();
        let org = org();
        let h = history(&s.revs);
        let r = ranking(&h, &org, d(2027, 3, 31), &none());
        assert_eq!(r.month, "2027-03");
        let rows: Vec<(u32, &str, u64, Option<f64>)> =
            r.rows.iter().map(|x| (x.rank, x.township.as_str(), x.unreturned, x.dropout_rate)).collect();
        assert_eq!(rows, [(1, "城关", 1, Some(0.0)), (2, "白沙", 1, Some(0.5)), (3, "鸦岭", 4, None)]);
        // Equal on both keys: equal rank, the next one skips.
        let table = township_table(&h, &org, d(2027, 3, 31), &none());
        let mut dr = dropout_report(&h, &org, SchoolYear(2026), d(2027, 3, 31));
        dr.townships.iter_mut().find(|u| u.name == "白沙").unwrap().rate = Some(0.0);
        let ranks: Vec<u32> = ranking_from(&org, &table, &dr).rows.iter().map(|x| x.rank).collect();
        assert_eq!(ranks, [1, 1, 3]);
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["rows"][0]["rank"], 1);
        assert!(v["rows"][2]["dropout_rate"].is_null());
        assert_eq!(h.case_count(), 10);
    }

    fn none() -> BTreeSet<RecordId> {
        BTreeSet::new()
    }

    /// 逾期未确认 (issue 13 point 6) at 沙坡头 (the default preset): a roll case opened Mon
    /// 2026-03-02 must be confirmed on day 7, Wed 03-11 (the weekend does not count). 鸦岭's
    /// case is confirmed on the day; 白沙's never is; 城关's is confirmed two days late.
    fn overdue_county() -> (Sim, [RecordId; 3]) {
        use crate::model::{CaseSource::Roll, CaseState::Confirmed};
        let mut s = Sim::new();
        let on_time = s.simple_case(d(2026, 3, 2), "鸦岭", Roll);
        s.case_state(on_time, d(2026, 3, 11), Confirmed);
        let never = s.simple_case(d(2026, 3, 2), "白沙", Roll);
        let late = s.simple_case(d(2026, 3, 2), "城关", Roll);
        s.case_state(late, d(2026, 3, 13), Confirmed);
        (s, [on_time, never, late])
    }

    /// The table as the hub computes it: the overdue cases from the folded records (the
    /// alerts' deadline), the columns from the history.
    fn table_on(s: &Sim, day: Date) -> (BTreeSet<RecordId>, TownshipTable) {
        let policy = crate::policy::Policy::preset("shapotou").unwrap();
        let records = crate::state::fold_all(&s.revs);
        let overdue = crate::alerts::overdue_unconfirmed(&policy, records.values(), day);
        let t = township_table(&history(&s.revs), &org(), day, &overdue);
        (overdue, t)
    }

    fn roll(t: &TownshipTable) -> Vec<(&str, u64)> {
        t.rows.iter().map(|r| (r.township.as_str(), r.roll_unreturned)).collect()
    }

    #[test]
    fn an_unconfirmed_roll_case_counts_from_the_day_after_its_confirmation_fell_due() {
        let (s, [_, never, late]) = overdue_county();
        // Day − 1 (Tue 03-10): nobody is late yet; only confirmed cases count (none yet).
        let (overdue, t) = table_on(&s, d(2026, 3, 10));
        assert!(overdue.is_empty());
        assert_eq!(roll(&t), [("城关", 0), ("白沙", 0), ("鸦岭", 0)]);
        // The day itself (Wed 03-11): confirming is still on time; 鸦岭 confirmed and counts,
        // the others are owed but not yet overdue.
        let (overdue, t) = table_on(&s, d(2026, 3, 11));
        assert!(overdue.is_empty());
        assert_eq!(roll(&t), [("城关", 0), ("白沙", 0), ("鸦岭", 1)]);
        // Day + 1 (Thu 03-12): the unconfirmed cases count as 在籍辍学 whether or not anyone
        // confirmed them, so no township looks better for not confirming.
        let (overdue, t) = table_on(&s, d(2026, 3, 12));
        assert_eq!(overdue, BTreeSet::from([never, late]));
        assert_eq!(roll(&t), [("城关", 1), ("白沙", 1), ("鸦岭", 1)]);
        assert_eq!((t.total.roll_unreturned, t.total.total), (3, 3));
        // The records behind the cells (the dashboard's lists) name them, in the roll column.
        assert_eq!((t.counted.get(&never), t.counted.get(&late)), (Some(&0), Some(&0)));
        // Confirmed late (03-13): counted as confirmed from then on, no longer as overdue.
        let (overdue, t) = table_on(&s, d(2026, 3, 13));
        assert_eq!(overdue, BTreeSet::from([never]));
        assert_eq!(roll(&t), [("城关", 1), ("白沙", 1), ("鸦岭", 1)]);
    }

    #[test]
    fn an_overdue_case_stops_counting_when_it_closes_and_never_counts_twice() {
        use crate::model::{CaseSource, CaseState::Closed, Outcome};
        let (mut s, [_, never, _]) = overdue_county();
        s.case_state(never, d(2026, 3, 20), Closed { outcome: Outcome::Returned, evidence: None, on: d(2026, 3, 20) });
        let (_, t) = table_on(&s, d(2026, 3, 19));
        assert_eq!(roll(&t)[1], ("白沙", 1));
        let (overdue, t) = table_on(&s, d(2026, 3, 20));
        assert!(!overdue.contains(&never));
        assert_eq!(roll(&t)[1], ("白沙", 0));
        // A roll case of the same child as a list case: once, in the roll column, when overdue.
        let mut s = Sim::new();
        let birth = Date::ymd(2014, 5, 5);
        let id = s.id(birth, crate::model::Sex::Female);
        let child = s.child("王小红", birth, crate::model::Sex::Female, Some(id));
        s.case(d(2026, 3, 2), "白沙", CaseSource::Roll, child.clone(), None);
        s.case(d(2026, 3, 2), "白沙", CaseSource::Ministry, child, None);
        let row = |day| {
            let (_, t) = table_on(&s, day);
            let r = t.rows.into_iter().find(|r| r.township == "白沙").unwrap();
            (r.roll_unreturned, r.suspected_list_unreturned, r.total)
        };
        assert_eq!(row(d(2026, 3, 11)), (0, 1, 1));
        assert_eq!(row(d(2026, 3, 12)), (1, 0, 1));
    }

    /// The ranking reads the same column: on day + 1 the township that never confirmed no
    /// longer ranks above the one that confirmed on time.
    #[test]
    fn the_ranking_counts_the_overdue_case_too() {
        let (s, _) = overdue_county();
        let policy = crate::policy::Policy::preset("shapotou").unwrap();
        let records = crate::state::fold_all(&s.revs);
        let h = history(&s.revs);
        let unreturned = |day: Date| {
            let overdue = crate::alerts::overdue_unconfirmed(&policy, records.values(), day);
            let r = ranking(&h, &org(), day, &overdue);
            assert_eq!(r.month, "2026-03");
            r.rows.iter().map(|x| (x.township.clone(), x.unreturned)).collect::<BTreeMap<_, _>>()
        };
        assert_eq!(unreturned(d(2026, 3, 11))["白沙"], 0);
        assert_eq!(unreturned(d(2026, 3, 12))["白沙"], 1);
        assert_eq!(unreturned(d(2026, 3, 12))["鸦岭"], 1);
    }
}
