//! Non-local pupils (非户籍学生, 000 §三(二)): 「非户籍学生流失辍学的，向县教育局报告后，由教育行政部门
//! 向学生户籍所在地教育行政部门通报，并将学生电子学籍档案转交其户籍所在地教育行政部门，配合做好劝返复学
//! 工作」. When such a child's case is confirmed as 辍学, the bureau owes the 户籍 county a
//! handover: one item per case, from the day of confirmation until the case records it (an
//! action of kind 户籍地通报移交, `case act --kind handover`) or stops being a confirmed open
//! case. The same items make the node's and the hub's alert (`alerts`) and the bureau's export
//! (`baoxue-hub report handover`), so the two can never disagree.
//!
//! A student is non-local when their record names a 户籍所在县 (`Field::HukouCounty`): the field
//! is written only for a 户籍 in another county (`student edit --hukou-county`); empty — every
//! student recorded before it existed — is the county's own.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dates::Date;
use crate::model::{ActionKind, CaseState};
use crate::report::{Cell, Column, Kind, Render, Sheet};
use crate::revision::{Field, RecordId, RecordKind, Value};
use crate::state::Record;

/// What the 户籍 county needs from the bureau (000 §三(二)).
pub const NEEDS: &str = "通报该生流失辍学情况；转交学生电子学籍档案；配合做好劝返复学";
/// The clause.
pub const CLAUSE: &str = "000 §三(二)";

/// One handover the bureau owes (or, in the export, has made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverItem {
    /// The case's short id.
    pub case: String,
    pub township: String,
    pub school: Option<String>,
    pub grade: Option<u8>,
    /// The child's name, masked (`张*明`).
    pub name: String,
    /// The masked ID number, when known.
    pub id_number: Option<String>,
    /// The masked 学籍号, when known.
    pub student_no: Option<String>,
    /// 户籍所在县.
    pub hukou_county: String,
    pub hukou_township: Option<String>,
    pub hukou_village: Option<String>,
    /// The day the case was confirmed as 辍学.
    pub confirmed: Date,
    /// The day the handover was recorded, if it was (on or before the report's day).
    pub handed_over: Option<Date>,
    pub needs: &'static str,
}

impl HandoverItem {
    /// `嵩县 德亭镇 前村`.
    pub fn hukou_place(&self) -> String {
        [Some(self.hukou_county.as_str()), self.hukou_township.as_deref(), self.hukou_village.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A name masked for a notice that travels: the first and last characters kept (`张*明`, `李*`).
pub fn mask_name(name: &str) -> String {
    let c: Vec<char> = name.trim().chars().collect();
    match c.len() {
        0 => String::new(),
        1 => c[0].to_string(),
        2 => format!("{}*", c[0]),
        n => format!("{}{}{}", c[0], "*".repeat(n - 2), c[n - 1]),
    }
}

/// The 户籍所在县 a student record names (another county), if any.
pub fn hukou_county(student: &Record) -> Option<&str> {
    student.text(Field::HukouCounty).map(str::trim).filter(|c| !c.is_empty())
}

/// The first day on or before `as_of` on which the case's state was written 辍学 (confirmed).
fn confirmed_on(case: &Record, as_of: Date) -> Option<Date> {
    case.dated
        .iter()
        .filter(|((f, _), w)| {
            *f == Field::CaseState && w.date <= as_of && matches!(w.value, Value::CaseState(CaseState::Confirmed))
        })
        .map(|(_, w)| w.date)
        .min()
}

/// The first handover recorded on the case on or before `as_of`.
pub fn handed_over(case: &Record, as_of: Date) -> Option<Date> {
    case.actions.values().filter(|a| a.kind == ActionKind::Handover && a.date <= as_of).map(|a| a.date).min()
}

/// The handover item of one case on `as_of`: when the case stands confirmed (辍学, open) that
/// day and its student is non-local. `handed_over` is set when it was recorded by then.
pub fn item(case: &Record, student: Option<&Record>, as_of: Date) -> Option<HandoverItem> {
    let init = case.case.as_deref()?;
    if case.case_state_on(as_of) != Some(&CaseState::Confirmed) {
        return None;
    }
    let student = student?;
    let county = hukou_county(student)?;
    let confirmed = confirmed_on(case, as_of)?;
    Some(HandoverItem {
        case: case.id.short(),
        township: init.township.clone(),
        school: init.school.clone(),
        grade: init.grade,
        name: mask_name(case.name()),
        id_number: init.child.id_number.as_ref().map(|i| i.masked()),
        student_no: init.child.student_no.as_ref().map(|n| n.masked()),
        hukou_county: county.to_string(),
        hukou_township: student.text(Field::HukouTownship).map(str::to_string),
        hukou_village: student.text(Field::HukouVillage).map(str::to_string),
        confirmed,
        handed_over: handed_over(case, as_of),
        needs: NEEDS,
    })
}

/// Every handover item on `as_of` among `records` (cases and their students), open ones
/// (not yet recorded) first, then by confirmation day and case.
pub fn items<'a>(records: impl IntoIterator<Item = &'a Record>, as_of: Date) -> Vec<HandoverItem> {
    let records: Vec<&Record> = records.into_iter().collect();
    let students: BTreeMap<RecordId, &Record> =
        records.iter().filter(|r| r.kind == RecordKind::Student).map(|r| (r.id, *r)).collect();
    let mut out: Vec<HandoverItem> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Case)
        .filter_map(|c| {
            let s = c.case.as_ref().and_then(|i| i.student).and_then(|id| students.get(&id).copied());
            item(c, s, as_of)
        })
        .collect();
    out.sort_by(|a, b| {
        (a.handed_over.is_some(), a.confirmed, &a.case).cmp(&(b.handed_over.is_some(), b.confirmed, &b.case))
    });
    out
}

/// The bureau's export of handover items (`report handover`): one row per non-local pupil
/// confirmed as 辍学 and still so on the day, with what the 户籍 county needs and whether the
/// handover is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverReport {
    pub as_of: Date,
    pub rows: Vec<HandoverItem>,
}

impl HandoverReport {
    pub fn new<'a>(records: impl IntoIterator<Item = &'a Record>, as_of: Date) -> HandoverReport {
        HandoverReport { as_of, rows: items(records, as_of) }
    }
}

impl Render for HandoverReport {
    fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
    fn sheet(&self) -> Sheet {
        let text = |s: &str| Cell::Text(s.to_string());
        let opt = |s: &Option<String>| s.as_deref().map(text).unwrap_or(Cell::Empty);
        Sheet {
            title: "非户籍辍学学生通报移交清单".into(),
            as_of: Some(self.as_of),
            subtitle: vec![format!("统计截至：{}", self.as_of), format!("依据 {CLAUSE}：{NEEDS}")],
            header: vec![
                Column::text("案件"),
                Column::text("乡镇"),
                Column::text("学校"),
                Column::new("年级", Kind::Count),
                Column::text("姓名"),
                Column::new("身份证号", Kind::Id),
                Column::new("学籍号", Kind::Id),
                Column::text("户籍所在县"),
                Column::text("户籍乡镇"),
                Column::text("户籍村"),
                Column::text("确认辍学日期"),
                Column::text("户籍地需要"),
                Column::text("通报移交日期"),
            ],
            rows: self
                .rows
                .iter()
                .map(|r| {
                    vec![
                        text(&r.case),
                        text(&r.township),
                        opt(&r.school),
                        r.grade.map(|g| Cell::Int(g.into())).unwrap_or(Cell::Empty),
                        text(&r.name),
                        opt(&r.id_number),
                        opt(&r.student_no),
                        text(&r.hukou_county),
                        opt(&r.hukou_township),
                        opt(&r.hukou_village),
                        text(&r.confirmed.to_string()),
                        text(r.needs),
                        r.handed_over.map(|d| text(&d.to_string())).unwrap_or_else(|| text("未移交")),
                    ]
                })
                .collect(),
            notes: vec!["通报移交后在案件中记录：baoxue-node case act 案件 --kind handover".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("张小明"), "张*明");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_name("阿卜杜热合曼"), "阿****曼");
        assert_eq!(mask_name(" "), "");
    }
}
