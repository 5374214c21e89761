//! The county: its townships, schools and the people each alert names. Comes from the org CSV
//! (`乡镇,学校,类型[,校长,包校领导,乡镇分管领导,乡镇主要领导]`) and travels to every node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{SchoolType, Stage};
use crate::table::{RowError, Table, TableError};
use crate::text;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    pub name: String,
    pub township: String,
    pub kind: SchoolType,
    /// 校长: first responsible person (004 第四条).
    pub principal: Option<String>,
    /// 包校领导: the bureau leader who owns the school (002 附件).
    pub bureau_leader: Option<String>,
}

impl School {
    pub fn teaches(&self, grade: u8) -> bool {
        self.kind.grades().contains(&grade)
    }
    pub fn stages(&self) -> Vec<Stage> {
        match self.kind {
            SchoolType::Junior => vec![Stage::Junior],
            SchoolType::NineYear => vec![Stage::Primary, Stage::Junior],
            _ => vec![Stage::Primary],
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Township {
    pub name: String,
    /// 乡镇分管领导 (004 第八条: summoned at month 1, criticised at month 2).
    pub deputy: Option<String>,
    /// 乡镇主要领导 (accountable at month 3).
    pub head: Option<String>,
}

/// Townships and schools of one county.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub townships: BTreeMap<String, Township>,
    pub schools: BTreeMap<String, School>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrgError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("组织机构文件有 {} 处错误：\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
}

pub const ORG_COLUMNS: [&str; 3] = ["乡镇", "学校", "类型"];

impl Org {
    /// Reads an org file (CSV, .xlsx or .xls; the name is historical).
    pub fn parse_csv(bytes: &[u8]) -> Result<Org, OrgError> {
        Org::parse_with(bytes, &crate::table::Aliases::builtin())
    }

    /// [`Org::parse_csv`] with a county's column aliases.
    pub fn parse_with(bytes: &[u8], aliases: &crate::table::Aliases) -> Result<Org, OrgError> {
        let table = Table::parse_with(bytes, &ORG_COLUMNS, aliases)?;
        let mut errors = table.ragged.clone();
        let mut org = Org::default();
        for row in table.rows() {
            let township = row.get("乡镇").to_string();
            let name = row.get("学校").to_string();
            let mut bad = false;
            for (column, max) in [
                ("乡镇", text::MAX_TOWNSHIP),
                ("学校", text::MAX_SCHOOL),
                ("校长", text::MAX_NAME),
                ("包校领导", text::MAX_NAME),
                ("乡镇分管领导", text::MAX_NAME),
                ("乡镇主要领导", text::MAX_NAME),
            ] {
                if let Err(e) = text::check(row.get(column), max) {
                    let mut re = row.error(column, e.to_string());
                    re.value = text::shown(&re.value);
                    errors.push(re);
                    bad = true;
                }
            }
            if bad {
                continue;
            }
            if township.is_empty() {
                errors.push(row.error("乡镇", "不能为空"));
                continue;
            }
            if name.is_empty() {
                errors.push(row.error("学校", "不能为空"));
                continue;
            }
            let kind: SchoolType = match row.get("类型").parse() {
                Ok(k) => k,
                Err(e) => {
                    errors.push(row.error("类型", e.to_string()));
                    continue;
                }
            };
            let t = org
                .townships
                .entry(township.clone())
                .or_insert_with(|| Township { name: township.clone(), ..Default::default() });
            if let Some(d) = row.opt("乡镇分管领导") {
                t.deputy = Some(d);
            }
            if let Some(h) = row.opt("乡镇主要领导") {
                t.head = Some(h);
            }
            if org.schools.contains_key(&name) {
                errors.push(row.error("学校", "学校名称重复（全县内学校名称须唯一）"));
                continue;
            }
            org.schools.insert(
                name.clone(),
                School { name, township, kind, principal: row.opt("校长"), bureau_leader: row.opt("包校领导") },
            );
        }
        if errors.is_empty() {
            Ok(org)
        } else {
            errors.sort_by_key(|e| e.row);
            Err(OrgError::Rows(errors))
        }
    }

    /// The org CSV text of this county, written with the `csv` crate's writer so that any name
    /// `parse_csv` accepts (a comma, a quote) is quoted and reads back the same.
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        let header = ["乡镇", "学校", "类型", "校长", "包校领导", "乡镇分管领导", "乡镇主要领导"];
        // Writing to a Vec cannot fail.
        let _ = w.write_record(header);
        for sc in self.schools.values() {
            let t = self.townships.get(&sc.township);
            let opt = |o: Option<&String>| o.cloned().unwrap_or_default();
            let _ = w.write_record([
                sc.township.clone(),
                sc.name.clone(),
                sc.kind.to_string(),
                opt(sc.principal.as_ref()),
                opt(sc.bureau_leader.as_ref()),
                opt(t.and_then(|t| t.deputy.as_ref())),
                opt(t.and_then(|t| t.head.as_ref())),
            ]);
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    pub fn school(&self, name: &str) -> Option<&School> {
        self.schools.get(name)
    }

    pub fn township_of(&self, school: &str) -> Option<&str> {
        self.schools.get(school).map(|s| s.township.as_str())
    }

    pub fn schools_in<'a>(&'a self, township: &'a str) -> impl Iterator<Item = &'a School> + 'a {
        self.schools.values().filter(move |s| s.township == township)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_round_trip() {
        let csv = "乡镇,学校,类型,校长,乡镇分管领导\n鸦岭,鸦岭中心小学,小学,王校长,李副镇长\n鸦岭,鸦岭初中,初中,,\n";
        let org = Org::parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(org.schools.len(), 2);
        assert_eq!(org.townships["鸦岭"].deputy.as_deref(), Some("李副镇长"));
        assert_eq!(Org::parse_csv(org.to_csv().as_bytes()).unwrap(), org);
    }

    #[test]
    fn names_with_commas_and_quotes_round_trip() {
        // Issue 14: "鸦岭小学,东校区" was written back unquoted and the hub could no longer read
        // its own configuration.
        let csv = "乡镇,学校,类型,校长\n鸦岭,\"鸦岭小学,东校区\",小学,\"王\"\"大\"\"校长\"\n鸦岭,鸦岭初中,初中,\n";
        let org = Org::parse_csv(csv.as_bytes()).unwrap();
        assert!(org.schools.contains_key("鸦岭小学,东校区"));
        let written = org.to_csv();
        assert_eq!(Org::parse_csv(written.as_bytes()).unwrap(), org, "{written}");
    }

    #[test]
    fn an_oversized_name_is_refused() {
        let csv = format!("乡镇,学校,类型\n鸦岭,{},小学\n", "校".repeat(text::MAX_SCHOOL + 1));
        let OrgError::Rows(e) = Org::parse_csv(csv.as_bytes()).unwrap_err() else { panic!() };
        assert_eq!((e[0].row, e[0].column.as_str()), (2, "学校"));
    }

    #[test]
    fn bad_type_names_row() {
        let csv = "乡镇,学校,类型\n鸦岭,鸦岭中心小学,高中\n";
        let OrgError::Rows(e) = Org::parse_csv(csv.as_bytes()).unwrap_err() else { panic!() };
        assert_eq!(e[0].row, 2);
        assert_eq!(e[0].column, "类型");
    }
}
