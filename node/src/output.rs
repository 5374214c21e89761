//! What commands print: Chinese lines for people, JSON with the English keys of docs/CLI.md for
//! scripts. ID numbers are masked in list views and JSON unless the operator asks otherwise.

use baoxue_shared::ids::mask;
use baoxue_shared::model::{CaseState, TransferTarget};
use baoxue_shared::{Record, Revision};
use serde_json::{json, Value as Json};

use crate::ledger::Ledger;

/// A command's result: what goes to stdout, and warnings for stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Output {
    pub text: String,
    pub warnings: Vec<String>,
}

impl From<String> for Output {
    fn from(text: String) -> Output {
        Output { text, warnings: Vec::new() }
    }
}

/// Pretty JSON with a trailing newline.
pub fn json_text(v: &Json) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s
}

/// A 学籍号 or 身份证号 as a view shows it.
pub fn ident(s: &str, unmasked: bool) -> String {
    if unmasked {
        s.to_string()
    } else {
        mask(s)
    }
}

/// One line per revision: when (clock, UTC+8), who, where, the business date, what.
pub fn history_lines(history: &[Revision]) -> Vec<String> {
    history
        .iter()
        .map(|r| format!("{}  {}（{}）  业务日期 {}  {}", r.hlc.display(), r.author, r.origin, r.date, r.describe()))
        .collect()
}

pub fn history_json(history: &[Revision]) -> Json {
    Json::Array(
        history
            .iter()
            .map(|r| {
                json!({
                    "revision": r.id.hex(),
                    "when": r.hlc.display(),
                    "author": r.author,
                    "origin": r.origin,
                    "seq": r.seq,
                    "date": r.date.to_string(),
                    "what": r.describe(),
                })
            })
            .collect(),
    )
}

/// The conflicts of a record, as lines (`字段：值A（作者，来源） | 值B（…）`).
pub fn conflict_lines(rec: &Record) -> Vec<String> {
    rec.conflicts()
        .into_iter()
        .map(|(f, reg)| {
            let vals: Vec<String> = reg
                .heads
                .iter()
                .map(|(id, c)| format!("{}（{}，{}，修订 {}）", c.value, c.author, c.origin, id.short()))
                .collect();
            format!("{}：{}", f.label(), vals.join(" | "))
        })
        .collect()
}

/// `鸦岭小学 4年级2班`.
pub fn class_of(rec: &Record) -> String {
    let mut s = rec.school().unwrap_or("").to_string();
    if let Some(g) = rec.grade() {
        s.push_str(&format!(" {g}年级"));
    }
    if let Some(c) = rec.text(baoxue_shared::Field::Class) {
        s.push_str(c);
        if !c.ends_with('班') {
            s.push('班');
        }
    }
    s
}

/// A student's status as a list shows it: `在读`, `转出 → 白沙小学`, `转出 → 县外：东莞`.
pub fn status_text(rec: &Record) -> String {
    let Some(p) = rec.placement() else { return String::new() };
    match &p.transfer {
        Some(TransferTarget::School(s)) => format!("{} → {s}", p.status),
        Some(TransferTarget::OutOfCounty(place)) => format!("{} → 县外：{place}", p.status),
        None => p.status.to_string(),
    }
}

/// The summary of a student used by `student list --json` (and embedded in `show`).
pub fn student_json(l: &Ledger, rec: &Record, unmasked: bool) -> Json {
    let p = rec.placement();
    let transfer = p.and_then(|p| p.transfer.as_ref()).map(|t| match t {
        TransferTarget::School(s) => json!({"school": s, "township": l.config.org.township_of(s)}),
        TransferTarget::OutOfCounty(place) => json!({"out_of_county": place}),
    });
    json!({
        "id": rec.id.short(),
        "student_no": rec.student_no().map(|s| ident(s.as_str(), unmasked)),
        "id_number": rec.id_number().map(|s| ident(s.as_str(), unmasked)),
        "name": rec.name(),
        "sex": rec.sex().map(|s| s.label()),
        "birth": rec.birth().map(|d| d.to_string()),
        "school": rec.school(),
        "township": l.township_of(rec),
        "grade": rec.grade(),
        "class": rec.text(baoxue_shared::Field::Class),
        "status": rec.status().map(|s| s.label()),
        "status_key": rec.status().map(|s| s.key()),
        "transfer": transfer,
        "reason": rec.text(baoxue_shared::Field::Reason),
        "groups": rec.groups().iter().map(|g| g.label()).collect::<Vec<_>>(),
        "guardian": rec.text(baoxue_shared::Field::Guardian),
        "phone": rec.text(baoxue_shared::Field::Phone),
        "hukou_township": rec.text(baoxue_shared::Field::HukouTownship),
        "hukou_village": rec.text(baoxue_shared::Field::HukouVillage),
        "hukou_county": rec.text(baoxue_shared::Field::HukouCounty),
        "entry_year": rec.entry_year(),
        "absences": rec.absences.len(),
        "conflicts": rec.conflicts().iter().map(|(f, _)| f.key()).collect::<Vec<_>>(),
    })
}

/// The closing date and outcome of a case, if closed.
pub fn closed_of(state: Option<&CaseState>) -> (Option<String>, Option<&'static str>, Option<String>) {
    match state {
        Some(CaseState::Closed { outcome, evidence, on }) => {
            (Some(on.to_string()), Some(outcome.key()), evidence.clone())
        }
        _ => (None, None, None),
    }
}
