//! The baseline CSV: cohort history (intake, transfers, deaths) from before the county used the
//! system.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dates::{Date, SchoolYear};
use crate::org::Org;
use crate::table::{RowError, Table, TableError};

pub const BASELINE_COLUMNS: [&str; 7] = ["学校", "入学学年", "入学年级", "入学人数", "转入", "转出", "死亡"];

/// One school's counts for one cohort, up to the import date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineRow {
    pub school: String,
    pub entry_year: SchoolYear,
    pub entry_grade: u8,
    pub intake: u32,
    pub transfers_in: u32,
    pub transfers_out: u32,
    pub deaths: u32,
}

/// Cohort history from before the system (docs/CLI.md "Baseline CSV"), keyed by
/// (school, entry year, entry grade). `imported` is the date the counts run up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub imported: Date,
    /// Sorted by key, keys unique.
    pub(super) rows: Vec<BaselineRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BaselineError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("基线文件有 {} 处错误：\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
}

fn parse_school_year(s: &str) -> Option<SchoolYear> {
    let t = s.trim().trim_end_matches("学年").trim_end_matches('年');
    let (first, second) = match t.split_once(['-', '—', '–', '/']) {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (t, None),
    };
    let y: i32 = first.parse().ok().filter(|y| (1990..=2100).contains(y))?;
    match second {
        None => Some(SchoolYear(y)),
        Some(b) => (b.parse::<i32>().ok() == Some(y + 1)).then_some(SchoolYear(y)),
    }
}

fn parse_grade(s: &str) -> Option<u8> {
    let t = s.trim().trim_end_matches("年级");
    let g = match t {
        "一" => 1,
        "二" => 2,
        "三" => 3,
        "四" => 4,
        "五" => 5,
        "六" => 6,
        "七" | "初一" => 7,
        "八" | "初二" => 8,
        "九" | "初三" => 9,
        _ => t.parse().ok()?,
    };
    (1..=9).contains(&g).then_some(g)
}

impl Baseline {
    /// An empty baseline (no history before `imported`).
    pub fn empty(imported: Date) -> Baseline {
        Baseline { imported, rows: Vec::new() }
    }

    /// Reads the baseline CSV, reporting every bad cell. With an org, schools must be the
    /// county's and teach the entry grade. 转入/转出/死亡 may be left empty (0).
    pub fn parse_csv(bytes: &[u8], imported: Date, org: Option<&Org>) -> Result<Baseline, BaselineError> {
        Baseline::parse_with(bytes, imported, org, &crate::table::Aliases::builtin())
    }

    /// [`Baseline::parse_csv`] (CSV, .xlsx or .xls) with a county's column aliases.
    pub fn parse_with(
        bytes: &[u8],
        imported: Date,
        org: Option<&Org>,
        aliases: &crate::table::Aliases,
    ) -> Result<Baseline, BaselineError> {
        let table = Table::parse_with(bytes, &BASELINE_COLUMNS, aliases)?;
        let mut errors = table.ragged.clone();
        let mut rows: Vec<BaselineRow> = Vec::with_capacity(table.len());
        let mut seen: HashMap<(String, SchoolYear, u8), usize> = HashMap::new();
        for row in table.rows() {
            let before = errors.len();
            let school = row.get("学校").to_string();
            if school.is_empty() {
                errors.push(row.error("学校", "不能为空"));
            }
            let known = org.map(|o| o.school(&school));
            if let Some(None) = known {
                if !school.is_empty() {
                    errors.push(row.error("学校", "不是本县组织机构中的学校"));
                }
            }
            let entry_year = parse_school_year(row.get("入学学年"));
            match entry_year {
                None => errors.push(row.error("入学学年", "应为学年的起始年份，如 2018 或 2018-2019")),
                Some(y) if y.first_calendar_year() > imported.year() => {
                    errors.push(row.error("入学学年", format!("晚于基线截止日期 {imported}，不可能已有统计")))
                }
                _ => {}
            }
            let grade = parse_grade(row.get("入学年级"));
            match (grade, known) {
                (None, _) => errors.push(row.error("入学年级", "应为 1–9")),
                (Some(g), Some(Some(s))) if !s.teaches(g) => {
                    errors.push(row.error("入学年级", format!("{}是{}，不设 {g} 年级", s.name, s.kind)))
                }
                _ => {}
            }
            let mut count = |col: &str, required: bool| -> u32 {
                let v = row.get(col);
                if v.is_empty() && !required {
                    return 0;
                }
                match v.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        errors.push(row.error(col, "应为非负整数"));
                        0
                    }
                }
            };
            let intake = count("入学人数", true);
            let transfers_in = count("转入", false);
            let transfers_out = count("转出", false);
            let deaths = count("死亡", false);
            if errors.len() > before {
                continue;
            }
            let (Some(entry_year), Some(entry_grade)) = (entry_year, grade) else {
                continue;
            };
            if let Some(first) = seen.insert((school.clone(), entry_year, entry_grade), row.number) {
                errors.push(RowError {
                    row: row.number,
                    column: "学校".into(),
                    value: school.clone(),
                    reason: format!("同一学校、入学学年、入学年级与第 {first} 行重复"),
                });
                continue;
            }
            rows.push(BaselineRow { school, entry_year, entry_grade, intake, transfers_in, transfers_out, deaths });
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Err(BaselineError::Rows(errors));
        }
        Ok(Baseline::from_rows(imported, rows))
    }

    /// A baseline from rows (a later row with the same key replaces an earlier one).
    pub fn from_rows(imported: Date, rows: Vec<BaselineRow>) -> Baseline {
        let mut map: BTreeMap<(String, SchoolYear, u8), BaselineRow> = BTreeMap::new();
        for r in rows {
            map.insert((r.school.clone(), r.entry_year, r.entry_grade), r);
        }
        Baseline { imported, rows: map.into_values().collect() }
    }

    pub fn get(&self, school: &str, entry_year: SchoolYear, entry_grade: u8) -> Option<&BaselineRow> {
        self.rows
            .binary_search_by(|r| {
                (r.school.as_str(), r.entry_year, r.entry_grade).cmp(&(school, entry_year, entry_grade))
            })
            .ok()
            .map(|i| &self.rows[i])
    }

    pub fn rows(&self) -> &[BaselineRow] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::indicators::testkit::*;

    #[test]
    fn baseline_rows_and_errors() {
        let b = baseline_junior();
        assert_eq!(b.len(), 5);
        let row = b.get("白沙初中", SchoolYear(2024), 7).unwrap();
        assert_eq!((row.intake, row.transfers_in, row.transfers_out, row.deaths), (4, 0, 0, 1));
        assert_eq!(b.get("城关初中", SchoolYear(2024), 7).unwrap().intake, 2);
        assert!(b.get("城关初中", SchoolYear(2023), 7).is_none());

        let bad = "学校,入学学年,入学年级,入学人数,转入,转出,死亡\n\
                   鸦岭初中,2024,7,5,1,1,0\n\
                   不存在中学,2024,7,5,0,0,0\n\
                   鸦岭初中,2030,7,5,0,0,0\n\
                   鸦岭小学,2024,7,5,0,0,0\n\
                   鸦岭初中,2024,7,6,0,0,0\n\
                   白沙初中,2024,7,,x,0,0\n\
                   白沙初中,2024\n";
        let BaselineError::Rows(e) = Baseline::parse_csv(bad.as_bytes(), d(2025, 9, 10), Some(&org())).unwrap_err()
        else {
            panic!()
        };
        let got: Vec<(usize, &str)> = e.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            got,
            [(3, "学校"), (4, "入学学年"), (5, "入学年级"), (6, "学校"), (7, "入学人数"), (7, "转入"), (8, "")]
        );
        assert!(e[3].reason.contains("第 2 行"), "{}", e[3]);
        assert!(matches!(
            Baseline::parse_csv("学校,入学学年\n".as_bytes(), d(2025, 1, 1), None),
            Err(BaselineError::Table(_))
        ));
    }
}
