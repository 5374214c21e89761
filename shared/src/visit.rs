//! A home visit's 家访记录表 (001 附件2): 时间, 家访教师, 陪同教师, 家访原因, 住址, 家访内容,
//! 学校意见, 家长意见 as typed data of the visit action, one implementation for the node's
//! command line, the school app, its printed form and the hub.
//!
//! How it is stored (docs/DOMAIN.md "Home visits"): the action keeps its shape — 时间 is its
//! `date` (plus an optional time of day here), 家访教师 its `by`, 家访内容 its `text` — and the
//! other fields travel beside it in [`VisitDetails`], in the revision variant
//! `Change::Visit`, appended after every earlier variant so that stored revisions keep
//! decoding. Visits recorded before these fields existed carry them as labelled lines in the
//! text (`住址：东村3组`); they are read back from there ([`VisitRecord::of`]), never rewritten.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dates::Date;
use crate::model::Action;
use crate::text;

/// The 附件2 fields a visit action carries beyond its date, `by` and text. Empty fields are
/// `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VisitDetails {
    /// Time of day of the visit, `HH:MM` (时间 is the action's date and this).
    pub time: Option<String>,
    /// 陪同教师.
    pub companion: Option<String>,
    /// 家访原因.
    pub reason: Option<String>,
    /// 住址.
    pub address: Option<String>,
    /// 学校意见.
    pub school_opinion: Option<String>,
    /// 家长意见.
    pub parent_opinion: Option<String>,
}

/// Why a visit's fields cannot be recorded: one Chinese line naming the field (and its flag).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}（{flag}）「{value}」无效：{reason}")]
pub struct VisitError {
    pub field: &'static str,
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

/// The fields, their Chinese label, the flag of `case act` that fills them and their limit.
const TIME: (&str, &str) = ("时间", "--time");
const COMPANION: (&str, &str) = ("陪同教师", "--companion");
const REASON: (&str, &str) = ("家访原因", "--reason");
const ADDRESS: (&str, &str) = ("住址", "--address");
const SCHOOL: (&str, &str) = ("学校意见", "--school-opinion");
const PARENT: (&str, &str) = ("家长意见", "--parent-opinion");

/// Trims a value; empty is none.
fn clean(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Checks free text that may span lines (a form's textarea): each line as a value.
fn check_lines(value: &str, max: usize) -> Result<(), text::TextError> {
    text::check(&value.replace("\r\n", "\n").replace('\n', " "), max)
}

impl VisitDetails {
    /// Builds the details from what was typed (trimmed; empty is none) and checks them: the
    /// time is `HH:MM`, names at most [`text::MAX_NAME`] characters, reason and address
    /// [`text::MAX_SHORT`], opinions [`text::MAX_TEXT`]; no control characters (line breaks
    /// inside the opinions are allowed).
    pub fn new(
        time: Option<&str>,
        companion: Option<&str>,
        reason: Option<&str>,
        address: Option<&str>,
        school_opinion: Option<&str>,
        parent_opinion: Option<&str>,
    ) -> Result<VisitDetails, VisitError> {
        let d = VisitDetails {
            time: clean(time),
            companion: clean(companion),
            reason: clean(reason),
            address: clean(address),
            school_opinion: clean(school_opinion).map(|s| s.replace("\r\n", "\n")),
            parent_opinion: clean(parent_opinion).map(|s| s.replace("\r\n", "\n")),
        };
        let bad = |(field, flag): (&'static str, &'static str), value: &str, reason: String| VisitError {
            field,
            flag,
            value: text::shown(value),
            reason,
        };
        if let Some(t) = &d.time {
            if !valid_time(t) {
                return Err(bad(TIME, t, "应为 HH:MM（24 小时制，如 15:30）".into()));
            }
        }
        for (slot, value, max, lines) in [
            (COMPANION, &d.companion, text::MAX_NAME, false),
            (REASON, &d.reason, text::MAX_SHORT, false),
            (ADDRESS, &d.address, text::MAX_SHORT, false),
            (SCHOOL, &d.school_opinion, text::MAX_TEXT, true),
            (PARENT, &d.parent_opinion, text::MAX_TEXT, true),
        ] {
            if let Some(v) = value {
                let r = if lines { check_lines(v, max) } else { text::check(v, max) };
                r.map_err(|e| bad(slot, v, e.to_string()))?;
            }
        }
        Ok(d)
    }

    pub fn is_empty(&self) -> bool {
        *self == VisitDetails::default()
    }
}

/// `HH:MM`, 00:00–23:59.
fn valid_time(t: &str) -> bool {
    let Some((h, m)) = t.split_once(':') else { return false };
    let num = |s: &str, max: u32| {
        s.len() == 2 && s.chars().all(|c| c.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|v| v <= max)
    };
    num(h, 23) && num(m, 59)
}

/// One home visit as the 家访记录表 reads it: every field as text (empty: not recorded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VisitRecord {
    /// 时间: the visit's date.
    pub date: Option<Date>,
    /// Its time of day, when recorded.
    pub time: String,
    /// 家访教师 (the action's `by`).
    pub teacher: String,
    pub companion: String,
    pub reason: String,
    pub address: String,
    /// 家访内容 (the action's text).
    pub content: String,
    pub school_opinion: String,
    pub parent_opinion: String,
    /// Read from labelled lines of an action recorded before the typed fields existed.
    pub legacy: bool,
}

/// Labels of the lines a visit's text carried before the typed fields existed.
const LEGACY_LABELS: [&str; 6] = ["陪同教师", "家访原因", "住址", "家访内容", "学校意见", "家长意见"];

impl VisitRecord {
    /// The record of a visit action: from its typed details when it has them, otherwise read
    /// back from the labelled lines of its text (visits recorded before, or with `--text`
    /// only: text with no label is the 家访内容).
    pub fn of(action: &Action, details: Option<&VisitDetails>) -> VisitRecord {
        let mut v = match details {
            Some(d) => VisitRecord {
                time: d.time.clone().unwrap_or_default(),
                companion: d.companion.clone().unwrap_or_default(),
                reason: d.reason.clone().unwrap_or_default(),
                address: d.address.clone().unwrap_or_default(),
                content: action.text.clone().unwrap_or_default(),
                school_opinion: d.school_opinion.clone().unwrap_or_default(),
                parent_opinion: d.parent_opinion.clone().unwrap_or_default(),
                ..Default::default()
            },
            None => VisitRecord::parse_legacy(action.text.as_deref().unwrap_or("")),
        };
        v.date = Some(action.date);
        v.teacher = action.by.clone();
        v
    }

    /// 时间 as printed: `2026-09-10 15:30`, or the date alone.
    pub fn when(&self) -> String {
        let d = self.date.map(|d| d.to_string()).unwrap_or_default();
        if self.time.is_empty() {
            d
        } else {
            format!("{d} {}", self.time)
        }
    }

    /// The 附件2 fields after 时间 and 家访教师, labelled, in the form's order.
    pub fn labelled(&self) -> [(&'static str, &str); 6] {
        [
            ("陪同教师", &self.companion),
            ("家访原因", &self.reason),
            ("住址", &self.address),
            ("家访内容", &self.content),
            ("学校意见", &self.school_opinion),
            ("家长意见", &self.parent_opinion),
        ]
    }

    /// Reads a visit's text written as labelled lines (`住址：东村3组`). Lines that start with
    /// no label continue the field before them; text with no label at all is the 家访内容.
    pub fn parse_legacy(text: &str) -> VisitRecord {
        let mut v = VisitRecord { legacy: true, ..Default::default() };
        let mut current = "家访内容";
        for line in text.lines() {
            let labelled = line
                .split_once('：')
                .and_then(|(k, rest)| LEGACY_LABELS.iter().find(|l| **l == k.trim()).map(|l| (*l, rest)));
            let (label, rest) = labelled.unwrap_or((current, line));
            current = label;
            let slot = match current {
                "陪同教师" => &mut v.companion,
                "家访原因" => &mut v.reason,
                "住址" => &mut v.address,
                "学校意见" => &mut v.school_opinion,
                "家长意见" => &mut v.parent_opinion,
                _ => &mut v.content,
            };
            if !slot.is_empty() {
                slot.push('\n');
            }
            slot.push_str(rest.trim());
        }
        v
    }

    /// The named fields of `case show --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "date": self.date.map(|d| d.to_string()),
            "time": (!self.time.is_empty()).then_some(&self.time),
            "teacher": self.teacher,
            "companion": none_if_empty(&self.companion),
            "reason": none_if_empty(&self.reason),
            "address": none_if_empty(&self.address),
            "content": none_if_empty(&self.content),
            "school_opinion": none_if_empty(&self.school_opinion),
            "parent_opinion": none_if_empty(&self.parent_opinion),
            "legacy": self.legacy,
        })
    }
}

fn none_if_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActionKind;

    fn visit(text: Option<&str>) -> Action {
        Action {
            date: Date::ymd(2026, 9, 10),
            kind: ActionKind::Visit,
            by: "刘老师".into(),
            notice: None,
            text: text.map(str::to_string),
        }
    }

    #[test]
    fn typed_fields_are_read_from_the_details_not_the_text() {
        let d = VisitDetails::new(
            Some("15:30"),
            Some(" 陈老师 "),
            Some("连续缺勤"),
            Some("东村3组"),
            Some("尽快返校"),
            None,
        )
        .unwrap();
        assert_eq!(d.companion.as_deref(), Some("陈老师"));
        // A typed visit whose content happens to contain a label is not re-read as labels.
        let v = VisitRecord::of(&visit(Some("住址：问到了新住址")), Some(&d));
        assert_eq!(v.address, "东村3组");
        assert_eq!(v.content, "住址：问到了新住址");
        assert_eq!(v.teacher, "刘老师");
        assert_eq!(v.when(), "2026-09-10 15:30");
        assert!(!v.legacy);
        assert_eq!(v.to_json()["parent_opinion"], serde_json::Value::Null);
        assert_eq!(v.to_json()["school_opinion"], "尽快返校");
    }

    #[test]
    fn legacy_labelled_lines_and_plain_text_still_read() {
        let text = "陪同教师：陈老师\n住址：东村3组\n家访内容：见到母亲\n孩子在家\n家长意见：同意下周一送回";
        let v = VisitRecord::of(&visit(Some(text)), None);
        assert!(v.legacy);
        assert_eq!(v.companion, "陈老师");
        assert_eq!(v.address, "东村3组");
        assert_eq!(v.content, "见到母亲\n孩子在家");
        assert_eq!(v.parent_opinion, "同意下周一送回");
        assert_eq!(v.when(), "2026-09-10");
        let plain = VisitRecord::of(&visit(Some("见到母亲，住址：不详")), None);
        assert_eq!(plain.content, "见到母亲，住址：不详");
        assert_eq!(plain.address, "");
    }

    #[test]
    fn bad_fields_are_refused_naming_the_flag() {
        for t in ["25:00", "9:30", "15-30", "12:60"] {
            let e = VisitDetails::new(Some(t), None, None, None, None, None).unwrap_err();
            assert!(e.to_string().contains("--time"), "{e}");
        }
        assert!(VisitDetails::new(Some("00:00"), None, None, None, None, None).is_ok());
        assert!(VisitDetails::new(Some("23:59"), None, None, None, None, None).is_ok());
        let e = VisitDetails::new(None, Some(&"陈".repeat(text::MAX_NAME + 1)), None, None, None, None).unwrap_err();
        assert!(e.to_string().contains("陪同教师") && e.to_string().contains("--companion"), "{e}");
        let e = VisitDetails::new(None, None, None, Some("东村\u{202E}3组"), None, None).unwrap_err();
        assert!(e.to_string().contains("--address"), "{e}");
        // Opinions may span lines; other control characters are refused.
        assert!(VisitDetails::new(None, None, None, None, Some("一\r\n二"), None).is_ok());
        assert!(VisitDetails::new(None, None, None, None, None, Some("一\u{7}二")).is_err());
        assert!(VisitDetails::new(None, Some("  "), None, None, None, None).unwrap().is_empty());
    }

    /// The revision format: `Change::Visit` is appended after every earlier variant, so a
    /// revision written before it existed (on disk, in a backup, from a node not yet upgraded)
    /// decodes to the same value, and an action without 附件2 fields is still written in the
    /// old bytes. `OldChange`/`OldRevision` are the shapes of before, copied verbatim.
    #[test]
    fn revisions_of_the_old_format_still_decode() {
        use crate::codec;
        use crate::model::AbsenceKind;
        use crate::revision::{Assign, CaseInit, Change, Hlc, RecordId, RecordKind, RevId, Revision, StudentInit};
        use serde::Serialize;

        #[allow(dead_code)]
        #[derive(Serialize)]
        enum OldChange {
            CreateStudent(Box<StudentInit>),
            CreateCase(Box<CaseInit>),
            Update(Vec<Assign>),
            Absence { day: Date, kind: AbsenceKind },
            Act(Action),
            WithdrawAbsence { absence: RevId, day: Date, kind: AbsenceKind, reason: String },
        }
        #[derive(Serialize)]
        struct OldRevision {
            id: RevId,
            record: RecordId,
            kind: RecordKind,
            origin: String,
            seq: u64,
            hlc: Hlc,
            author: String,
            date: Date,
            change: OldChange,
        }
        let old = |change: OldChange| OldRevision {
            id: RevId(7),
            record: RecordId(3),
            kind: RecordKind::Case,
            origin: "node-yaling".into(),
            seq: 9,
            hlc: Hlc { ms: 1_790_000_000_000, n: 1 },
            author: "王老师".into(),
            date: Date::ymd(2026, 9, 10),
            change,
        };
        let new = |change: Change| Revision {
            id: RevId(7),
            record: RecordId(3),
            kind: RecordKind::Case,
            origin: "node-yaling".into(),
            seq: 9,
            hlc: Hlc { ms: 1_790_000_000_000, n: 1 },
            author: "王老师".into(),
            date: Date::ymd(2026, 9, 10),
            change,
        };
        let legacy = "陪同教师：陈老师\n住址：东村3组\n家访内容：见到母亲";
        let old_bytes = codec::encode(&old(OldChange::Act(visit(Some(legacy))))).unwrap();
        // The fixture: these bytes were written by the old format (pinned, so a change to
        // `Action` or to the variants before `Visit` fails here).
        let hex: String = old_bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "0703010b6e6f64652d79616c696e6709fd006c50c4a00100000109e78e8be88081e5b888fc3a94160004fc3a94\
             16000109e58898e88081e5b888000148e999aae5908ce69599e5b888efbc9ae99988e88081e5b8880ae4bd8fe59d80\
             efbc9ae4b89ce69d9133e7bb840ae5aeb6e8aebfe58685e5aeb9efbc9ae8a781e588b0e6af8de4bab2",
            "the old encoding of a visit with labelled lines"
        );
        let back: Revision = codec::decode(&old_bytes).expect("an old revision decodes");
        assert_eq!(back, new(Change::Act(visit(Some(legacy)))));
        // Read back as before: the labelled lines, never rewritten.
        let rec = crate::state::fold(RecordId(3), RecordKind::Case, std::slice::from_ref(&back));
        let v = rec.visit(RevId(7)).expect("a visit");
        assert!(v.legacy);
        assert_eq!((v.companion.as_str(), v.address.as_str(), v.content.as_str()), ("陈老师", "东村3组", "见到母亲"));
        // The last old variant keeps its index too.
        let w = OldChange::WithdrawAbsence {
            absence: RevId(5),
            day: Date::ymd(2026, 9, 9),
            kind: AbsenceKind::Unexcused,
            reason: "误记".into(),
        };
        let back: Revision = codec::decode(&codec::encode(&old(w)).unwrap()).unwrap();
        assert!(matches!(back.change, Change::WithdrawAbsence { absence: RevId(5), .. }));
        // An action written today without 附件2 fields has exactly the old bytes.
        assert_eq!(codec::encode(&new(Change::Act(visit(Some(legacy))))).unwrap(), old_bytes);
        // A typed visit survives the codec and the fold, and the derived record's encoding.
        let details =
            VisitDetails::new(None, Some("陈老师"), Some("连续缺勤"), Some("东村3组"), None, Some("同意返校")).unwrap();
        let typed = new(Change::Visit { action: visit(Some("见到母亲")), details: Box::new(details.clone()) });
        let bytes = codec::encode(&typed).unwrap();
        assert_eq!(codec::decode::<Revision>(&bytes).unwrap(), typed);
        let rec = crate::state::fold(RecordId(3), RecordKind::Case, &[typed]);
        let rec: crate::state::Record = codec::decode(&codec::encode(&rec).unwrap()).unwrap();
        let v = rec.visit(RevId(7)).unwrap();
        assert!(!v.legacy);
        assert_eq!(
            (v.reason.as_str(), v.parent_opinion.as_str(), v.content.as_str()),
            ("连续缺勤", "同意返校", "见到母亲")
        );
        assert_eq!(rec.actions.len(), 1, "a typed visit is an action like any other (the ladder counts it)");
    }
}
