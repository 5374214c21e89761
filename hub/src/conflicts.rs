//! `baoxue-hub conflicts`: records whose fields were edited concurrently with different values,
//! and their resolution by a revision made at the hub that replaces every competing value. The
//! resolution reaches the nodes through the normal pull.

use baoxue_shared::org::Org;
use baoxue_shared::revision::Assign;
use baoxue_shared::state::Register;
use baoxue_shared::sync::HUB_ORIGIN;
use baoxue_shared::{Change, Date, Field, Record, RecordId, RecordKind, RevId, Value};
use baoxue_store::Store;
use serde::{Deserialize, Serialize};

use crate::data::{HubError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The revision that wrote this value (32 hex digits; the first 8 identify it for `--keep`).
    pub revision: String,
    pub value: String,
    pub origin: String,
    pub author: String,
    pub at: String,
    /// The value shown meanwhile (greatest clock, then node, then id).
    pub interim: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: String,
    pub label: String,
    pub values: Vec<ConflictValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictRow {
    pub record: String,
    pub kind: String,
    pub name: String,
    pub school: Option<String>,
    pub township: Option<String>,
    pub fields: Vec<FieldConflict>,
}

fn field_conflict(field: Field, reg: &Register) -> FieldConflict {
    let winner = reg.winner().map(|(id, _)| *id);
    let mut values: Vec<ConflictValue> = reg
        .heads
        .iter()
        .map(|(id, c)| ConflictValue {
            revision: id.hex(),
            value: c.value.to_string(),
            origin: c.origin.clone(),
            author: c.author.clone(),
            at: c.hlc.display(),
            interim: Some(*id) == winner,
        })
        .collect();
    values.sort_by(|a, b| a.at.cmp(&b.at).then(a.revision.cmp(&b.revision)));
    FieldConflict { field: field.key().into(), label: field.label().into(), values }
}

pub fn row(rec: &Record, org: &Org) -> ConflictRow {
    let (school, township) = match rec.kind {
        RecordKind::Student => {
            let s = rec.school().map(str::to_string);
            let t = s.as_deref().and_then(|s| org.township_of(s)).map(str::to_string);
            (s, t)
        }
        RecordKind::Case => {
            let init = rec.case.as_deref();
            (init.and_then(|c| c.school.clone()), init.map(|c| c.township.clone()))
        }
    };
    ConflictRow {
        record: rec.id.hex(),
        kind: match rec.kind {
            RecordKind::Student => "student".into(),
            RecordKind::Case => "case".into(),
        },
        name: rec.name().to_string(),
        school,
        township,
        fields: rec.conflicts().into_iter().map(|(f, r)| field_conflict(f, r)).collect(),
    }
}

/// Every record with a field in conflict.
pub fn list(store: &Store, org: &Org) -> Result<Vec<ConflictRow>> {
    let mut out = Vec::new();
    for r in store.records(None) {
        let r = r?;
        if !r.conflicts().is_empty() {
            out.push(row(&r, org));
        }
    }
    Ok(out)
}

/// The Chinese listing.
pub fn to_text(rows: &[ConflictRow]) -> String {
    if rows.is_empty() {
        return "没有待裁定的并发修改冲突".into();
    }
    let mut s = format!("待裁定的并发修改冲突：{} 条记录\n", rows.len());
    for r in rows {
        s.push_str(&format!(
            "\n{} {}（{}{}）\n",
            &r.record[..8],
            r.name,
            r.township.as_deref().unwrap_or("—"),
            r.school.as_deref().map(|x| format!("，{x}")).unwrap_or_default()
        ));
        for f in &r.fields {
            s.push_str(&format!("  {}：\n", f.label));
            for v in &f.values {
                s.push_str(&format!(
                    "    [{}] {}  —— {} {}，{}{}\n",
                    &v.revision[..8],
                    v.value,
                    v.origin,
                    v.author,
                    v.at,
                    if v.interim { "（暂显示此值）" } else { "" }
                ));
            }
        }
    }
    s.push_str("\n裁定：baoxue-hub conflicts resolve 记录编号 --keep 修订编号或取值");
    s
}

/// What `conflicts resolve` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub record: String,
    pub field: String,
    pub value: String,
    pub revision: String,
    pub replaced: Vec<String>,
}

/// The conflicted record an argument names: a record id (prefix), a 学籍号 or a 身份证号.
fn find(store: &Store, arg: &str) -> Result<Record> {
    let arg = arg.trim();
    let mut ids: Vec<RecordId> = store.by_id_prefix(arg)?;
    ids.extend(store.by_student_no(arg)?);
    ids.extend(store.by_id_number(&arg.to_ascii_uppercase())?);
    ids.sort();
    ids.dedup();
    let mut recs = Vec::new();
    for id in ids {
        if let Some(r) = store.record(id)? {
            recs.push(r);
        }
    }
    if recs.len() > 1 {
        let conflicted: Vec<Record> = recs.iter().filter(|r| !r.conflicts().is_empty()).cloned().collect();
        if conflicted.len() == 1 {
            recs = conflicted;
        }
    }
    match recs.len() {
        0 => Err(HubError::Invalid(format!("找不到记录“{arg}”（可用记录编号、学籍号或身份证号）"))),
        1 => Ok(recs.remove(0)),
        n => Err(HubError::Invalid(format!("“{arg}”对应 {n} 条记录，请写更长的记录编号"))),
    }
}

fn matches_value(v: &Value, keep: &str) -> bool {
    if v.to_string() == keep {
        return true;
    }
    match v {
        Value::Text(s) | Value::OptText(Some(s)) => s == keep,
        Value::Placement(p) => p.status.label() == keep || p.status.key() == keep,
        Value::CaseState(s) => s.label() == keep || s.key() == keep,
        _ => false,
    }
}

/// `baoxue-hub conflicts resolve ID --keep VALUE-OR-REVISION [--field F]`: commits, at the hub,
/// a write of the kept value that replaces every competing value of that field.
pub fn resolve(store: &Store, id: &str, keep: &str, field: Option<&str>, author: &str, date: Date) -> Result<Resolved> {
    let rec = find(store, id)?;
    let only = match field {
        Some(f) => Some(Field::from_key(f.trim()).ok_or_else(|| HubError::Invalid(format!("没有字段“{f}”")))?),
        None => None,
    };
    let conflicts: Vec<(Field, &Register)> =
        rec.conflicts().into_iter().filter(|(f, _)| only.is_none_or(|o| o == *f)).collect();
    if conflicts.is_empty() {
        return Err(HubError::Invalid(format!("记录 {} {} 没有待裁定的冲突", rec.id.short(), rec.name())));
    }
    let keep_t = keep.trim();
    let keep_hex = keep_t.to_ascii_lowercase();
    let by_rev = keep_hex.len() >= 4 && keep_hex.bytes().all(|b| b.is_ascii_hexdigit());
    let mut found: Vec<(Field, RevId, Value, Vec<RevId>)> = Vec::new();
    for (f, reg) in &conflicts {
        let mut hits: Vec<(&RevId, &Value)> = reg
            .heads
            .iter()
            .filter(|(id, _)| by_rev && id.hex().starts_with(&keep_hex))
            .map(|(id, c)| (id, &c.value))
            .collect();
        if hits.is_empty() {
            hits = reg
                .heads
                .iter()
                .filter(|(_, c)| matches_value(&c.value, keep_t))
                .map(|(id, c)| (id, &c.value))
                .collect();
        }
        // Several heads may hold the same value: any of them will do.
        if let Some((id, v)) = hits.first() {
            found.push((*f, **id, (*v).clone(), reg.head_ids()));
        }
    }
    let (f, rev, value, heads) = match found.len() {
        1 => found.remove(0),
        0 => {
            let choices: Vec<String> = conflicts
                .iter()
                .flat_map(|(f, reg)| {
                    reg.heads.iter().map(move |(id, c)| format!("{}：[{}] {}", f.label(), id.short(), c.value))
                })
                .collect();
            return Err(HubError::Invalid(format!("“{keep_t}”不是冲突中的任何一个值；可选：{}", choices.join("；"))));
        }
        _ => {
            return Err(HubError::Invalid(format!(
                "“{keep_t}”在多个字段中都出现（{}），请用 --field 指明",
                found.iter().map(|x| x.0.key()).collect::<Vec<_>>().join("、")
            )))
        }
    };
    let _ = rev;
    let made = store.commit(
        HUB_ORIGIN,
        author,
        date,
        vec![(
            rec.id,
            rec.kind,
            Change::Update(vec![Assign { field: f, value: value.clone(), supersedes: heads.clone() }]),
        )],
    )?;
    Ok(Resolved {
        record: rec.id.hex(),
        field: f.key().into(),
        value: value.to_string(),
        revision: made.first().map(|r| r.id.hex()).unwrap_or_default(),
        replaced: heads.iter().map(|h| h.hex()).collect(),
    })
}
