//! Why an `org import` may not drop a township or school silently: a township left out of the
//! file locks its node out of its own students (their records fall out of every scope), and a
//! school left out orphans its roll. A re-import that drops one still holding nodes, students or
//! cases is refused unless `--remove` names it.

use std::collections::{BTreeMap, BTreeSet};

use baoxue_shared::model::TransferTarget;
use baoxue_shared::org::Org;
use baoxue_shared::{Field, RecordKind, Value};
use baoxue_store::Store;

use crate::data::{HubError, NodeEntry, Result};

/// What still refers to one township or school.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub nodes: usize,
    pub students: usize,
    pub cases: usize,
}

impl Usage {
    fn is_empty(&self) -> bool {
        self.nodes == 0 && self.students == 0 && self.cases == 0
    }

    fn text(&self) -> String {
        let mut parts = Vec::new();
        if self.nodes > 0 {
            parts.push(format!("节点 {} 个", self.nodes));
        }
        if self.students > 0 {
            parts.push(format!("学生 {} 人", self.students));
        }
        if self.cases > 0 {
            parts.push(format!("个案 {} 件", self.cases));
        }
        parts.join("、")
    }
}

/// Students per school (every current placement head, its transfer target, and the creating
/// placement) and cases per township, counted over the store.
fn count(store: &Store) -> Result<(BTreeMap<String, usize>, BTreeMap<String, usize>)> {
    let mut schools: BTreeMap<String, usize> = BTreeMap::new();
    let mut cases: BTreeMap<String, usize> = BTreeMap::new();
    for rec in store.records(None) {
        let rec = rec?;
        match rec.kind {
            RecordKind::Student => {
                let mut names = BTreeSet::new();
                if let Some(init) = &rec.student {
                    names.insert(init.placement.school.clone());
                }
                if let Some(reg) = rec.register(Field::Placement) {
                    for cand in reg.heads.values() {
                        if let Value::Placement(p) = &cand.value {
                            names.insert(p.school.clone());
                            if let Some(TransferTarget::School(t)) = &p.transfer {
                                names.insert(t.clone());
                            }
                        }
                    }
                }
                for n in names {
                    *schools.entry(n).or_default() += 1;
                }
            }
            RecordKind::Case => {
                if let Some(init) = &rec.case {
                    *cases.entry(init.township.clone()).or_default() += 1;
                }
            }
        }
    }
    Ok((schools, cases))
}

/// Checks a re-import from `old` to `new`: every township or school it drops that is still in
/// use must be named in `remove`. Returns the names dropped (in use or not).
pub fn check(old: &Org, new: &Org, nodes: &[NodeEntry], store: &Store, remove: &[String]) -> Result<Vec<String>> {
    let dropped_townships: Vec<&String> = old.townships.keys().filter(|t| !new.townships.contains_key(*t)).collect();
    let dropped_schools: Vec<&String> = old.schools.keys().filter(|s| !new.schools.contains_key(*s)).collect();
    let mut dropped: Vec<String> =
        dropped_townships.iter().chain(dropped_schools.iter()).map(|s| s.to_string()).collect();
    for r in remove {
        if !dropped.contains(r) {
            return Err(HubError::Invalid(format!(
                "--remove 指定的“{r}”仍在新的组织机构文件中（或本来就不存在），未导入；只有文件中删去的乡镇或学校才能用 --remove 指定"
            )));
        }
    }
    if dropped.is_empty() {
        return Ok(dropped);
    }
    let (students, cases) = count(store)?;
    let mut refused = Vec::new();
    for t in &dropped_townships {
        let mut u = Usage {
            nodes: nodes.iter().filter(|n| !n.revoked && &n.township == *t).count(),
            students: 0,
            cases: cases.get(*t).copied().unwrap_or(0),
        };
        for s in old.schools_in(t) {
            u.students += students.get(&s.name).copied().unwrap_or(0);
        }
        if !u.is_empty() && !remove.contains(t) {
            refused.push(format!("乡镇“{t}”（仍有{}）", u.text()));
        }
    }
    for s in &dropped_schools {
        let u = Usage { students: students.get(*s).copied().unwrap_or(0), ..Usage::default() };
        let township_removed = old.township_of(s).is_some_and(|t| remove.iter().any(|r| r == t));
        if !u.is_empty() && !remove.contains(s) && !township_removed {
            refused.push(format!("学校“{s}”（仍有{}）", u.text()));
        }
    }
    if !refused.is_empty() {
        let names: Vec<&str> =
            refused.iter().map(|r| r.split('”').next().unwrap_or("").rsplit('“').next().unwrap_or("")).collect();
        return Err(HubError::Invalid(format!(
            "新的组织机构文件删去了仍在使用的{}，未导入（删去后这些学生和个案将不属于任何乡镇，节点无法再同步它们）；确需删除请加 {}",
            refused.join("、"),
            names.iter().map(|n| format!("--remove {n}")).collect::<Vec<_>>().join(" ")
        )));
    }
    dropped.sort();
    Ok(dropped)
}
