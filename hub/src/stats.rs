//! `baoxue-hub stats`: what the hub holds, per node, and the duplicate enrolments (重复学籍) it
//! can see because it holds every township's rolls.

use std::collections::BTreeMap;

use baoxue_shared::model::Status;
use baoxue_shared::org::Org;
use baoxue_shared::RecordKind;
use baoxue_store::Store;
use serde::{Deserialize, Serialize};

use crate::data::{HubDir, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStat {
    pub name: String,
    pub township: String,
    /// Revisions the hub holds that this node sent.
    pub revisions: u64,
    pub last_sync: Option<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub record: String,
    pub name: String,
    pub student_no: Option<String>,
    pub school: Option<String>,
    pub township: Option<String>,
    pub status: Option<String>,
}

/// 重复学籍: one ID number on the roll of more than one student record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// Masked.
    pub id_number: String,
    pub records: Vec<Enrolment>,
    pub message: String,
}

/// `stats --json`: `{revisions, students, cases, conflicts, nodes: [{name, township, revisions,
/// last_sync}]}` (docs/CLI.md), plus the duplicates and what the hub itself made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub revisions: u64,
    pub students: u64,
    pub cases: u64,
    pub conflicts: u64,
    pub nodes: Vec<NodeStat>,
    pub hub_revisions: u64,
    pub duplicates: Vec<Duplicate>,
    /// The hub's own facts for the warnings before trouble (certificates, disk, last backup).
    #[serde(default)]
    pub operations: baoxue_shared::alerts::OperationsFacts,
    /// The warnings before trouble in force today: the hub's own and the nodes' certificates.
    #[serde(default)]
    pub warnings: Vec<baoxue_shared::alerts::Alert>,
}

/// Counts everything (one pass over the records and one over the log).
pub fn stats(dir: &HubDir, store: &Store) -> Result<Stats> {
    let org = dir.org()?;
    let mut s = Stats {
        revisions: store.revision_count() as u64,
        students: 0,
        cases: 0,
        conflicts: 0,
        nodes: Vec::new(),
        hub_revisions: 0,
        duplicates: Vec::new(),
        operations: crate::health::facts(dir, store),
        warnings: crate::health::alerts(dir, store, baoxue_shared::Date::today()),
    };
    let mut by_id: BTreeMap<String, Vec<Enrolment>> = BTreeMap::new();
    for r in store.records(None) {
        let r = r?;
        match r.kind {
            RecordKind::Student => s.students += 1,
            RecordKind::Case => s.cases += 1,
        }
        if !r.conflicts().is_empty() {
            s.conflicts += 1;
        }
        if r.kind == RecordKind::Student && r.is_complete() {
            let live = r.status().is_some_and(|st| st.on_roll() || st == Status::DroppedOut);
            if let (true, Some(id)) = (live, r.id_number()) {
                by_id.entry(id.as_str().to_string()).or_default().push(enrolment(&r, &org));
            }
        }
    }
    for (id, records) in by_id {
        if records.len() > 1 {
            let where_: Vec<String> = records
                .iter()
                .map(|e| {
                    format!(
                        "{}（{}）",
                        e.school.as_deref().unwrap_or("未知学校"),
                        e.township.as_deref().unwrap_or("未知乡镇")
                    )
                })
                .collect();
            s.duplicates.push(Duplicate {
                id_number: baoxue_shared::ids::mask(&id),
                message: format!(
                    "重复学籍：身份证号 {} 同时在 {} 在籍",
                    baoxue_shared::ids::mask(&id),
                    where_.join(" 和 ")
                ),
                records,
            });
        }
    }
    // Revisions per sender, from the log.
    let mut per: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let mut pos = 0;
    loop {
        let chunk = store.log_range(pos, 8192)?;
        let Some((last, _)) = chunk.last() else { break };
        pos = last + 1;
        for (_, e) in chunk {
            *per.entry(e.from).or_default() += 1;
        }
    }
    s.hub_revisions = per.get(&None).copied().unwrap_or(0);
    let statuses = dir.statuses()?;
    for n in dir.nodes()? {
        s.nodes.push(NodeStat {
            revisions: per.get(&Some(n.name.clone())).copied().unwrap_or(0),
            last_sync: statuses.get(&n.name).and_then(|st| st.last_sync.clone()),
            name: n.name,
            township: n.township,
            revoked: n.revoked,
        });
    }
    Ok(s)
}

fn enrolment(r: &baoxue_shared::Record, org: &Org) -> Enrolment {
    let school = r.school().map(str::to_string);
    Enrolment {
        record: r.id.hex(),
        name: r.name().to_string(),
        student_no: r.student_no().map(|n| n.masked()),
        township: school.as_deref().and_then(|s| org.township_of(s)).map(str::to_string),
        school,
        status: r.status().map(|st| st.label().to_string()),
    }
}

/// The Chinese summary.
pub fn to_text(s: &Stats) -> String {
    let mut t = format!(
        "县级平台共有修订 {} 条：学生 {} 人，个案 {} 件，待裁定冲突 {} 条，平台自身修订 {} 条\n",
        s.revisions, s.students, s.cases, s.conflicts, s.hub_revisions
    );
    if s.nodes.is_empty() {
        t.push_str("尚未签发任何节点\n");
    }
    for n in &s.nodes {
        t.push_str(&format!(
            "  {}（{}）：{} 条，最近同步 {}{}\n",
            n.name,
            n.township,
            n.revisions,
            n.last_sync.as_deref().unwrap_or("从未"),
            if n.revoked { "（已吊销）" } else { "" }
        ));
    }
    for d in &s.duplicates {
        t.push_str(&format!("{}\n", d.message));
    }
    let ops = &s.operations;
    let mut parts: Vec<String> = ops.certificates.iter().map(|c| format!("{}至 {}", c.what, c.expires)).collect();
    if let Some(d) = &ops.disk {
        parts.push(format!("磁盘剩余 {:.1} GiB", d.free as f64 / (1u64 << 30) as f64));
    }
    parts.push(format!("上次备份 {}", ops.last_backup.map(|d| d.to_string()).unwrap_or_else(|| "从未".into())));
    t.push_str(&format!("运行：{}\n", parts.join("  ")));
    for a in &s.warnings {
        t.push_str(&format!("[{}] {}\n", a.level, a.message));
    }
    t.trim_end().to_string()
}
