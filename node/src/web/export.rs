//! The .xlsx downloads of the app's lists: the school's roster (学生花名册) and the case ledger
//! (辍学台账, the case list with the filters the user chose). Written by `baoxue_sheet::write`
//! (title row with the county and township, `统计日期`, frozen header, ID columns as text, no
//! cell ever a formula). ID numbers are masked; every download is written to the audit log.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use baoxue_shared::model::ResponsibleRole;
use baoxue_shared::{Field, Record};
use baoxue_sheet::{Book, Cell, Column, Kind};
use baoxue_web::{CurrentUser, WebError};

use super::access::{ClassKey, Perm};
use super::cases::{filtered, place, rung_title, state_label, visible_cases, ListQuery};
use super::roll::class_students;
use super::{access_of, node_error, App};
use crate::ledger::Ledger;
use crate::output::{ident, status_text};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn masked(s: Option<&str>) -> Cell {
    s.map(|s| Cell::Text(ident(s, false))).unwrap_or(Cell::Empty)
}

fn text(s: Option<&str>) -> Cell {
    s.map(|s| Cell::Text(s.to_string())).unwrap_or(Cell::Empty)
}

fn unit(l: &Ledger) -> String {
    format!("{}{}", l.config.county_name, l.township())
}

/// The workbook as a download named `name` (UTF-8 file name, RFC 5987).
fn download(book: &Book, name: &str) -> Result<Response, WebError> {
    let bytes = baoxue_sheet::write::xlsx(book).map_err(|e| WebError::Internal(e.to_string()))?;
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20");
    let disposition = format!("attachment; filename=\"export.xlsx\"; filename*=UTF-8''{encoded}");
    Ok(([(header::CONTENT_TYPE, XLSX.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

/// The roster of the classes the user sees, class by class.
pub async fn roster(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::Export)?;
    let today = app.today();
    let (students, unit) = app.with_index(|l, idx| {
        let mut out: Vec<Record> = Vec::new();
        for k in idx.by_class.keys().filter(|k| a.sees_class(k)) {
            out.extend(class_students(l, idx, k)?);
        }
        Ok((out, unit(l)))
    })?;
    let columns = vec![
        Column::count("序号"),
        Column::new("学籍号", Kind::Id),
        Column::new("身份证号", Kind::Id),
        Column::text("姓名"),
        Column::text("性别"),
        Column::text("出生日期"),
        Column::text("学校"),
        Column::count("年级"),
        Column::text("班级"),
        Column::text("学籍状态"),
        Column::text("监护人"),
        Column::text("联系电话"),
        Column::text("户籍"),
    ];
    let rows = students
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let hukou = [r.text(Field::HukouTownship), r.text(Field::HukouVillage)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                Cell::from(n + 1),
                masked(r.student_no().map(|s| s.as_str())),
                masked(r.id_number().map(|s| s.as_str())),
                Cell::from(r.name()),
                text(r.sex().map(|s| s.label())),
                r.birth().map(|d| Cell::Text(d.to_string())).unwrap_or(Cell::Empty),
                text(r.school()),
                r.grade().map(|g| Cell::Int(i64::from(g))).unwrap_or(Cell::Empty),
                text(ClassKey::of(r).map(|k| k.class).as_deref()),
                Cell::Text(status_text(r)),
                text(r.text(Field::Guardian)),
                text(r.text(Field::Phone)),
                Cell::Text(hukou),
            ]
        })
        .collect();
    let book = Book {
        title: "学生花名册".into(),
        unit: Some(unit),
        as_of: Some(today.to_string()),
        columns,
        rows,
        total: None,
        notes: vec![format!("身份证号、学籍号已脱敏。导出人：{}，{today}。", user.name)],
        sheet_name: Some("花名册".into()),
    };
    app.auth.audit.record("export", &user.login, &user.address, &format!("导出花名册 Excel（{} 人）", students.len()));
    download(&book, &format!("学生花名册-{today}.xlsx"))
}

/// The case ledger as the case list shows it (same filters).
pub async fn cases(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::Export)?;
    let today = app.today();
    let l = app.ledger()?;
    let policy = l.policy().map_err(node_error)?;
    let rows = app.with_index(|l, idx| visible_cases(l, idx, &a, today))?;
    let shown = filtered(&rows, &q, today);
    let columns = vec![
        Column::count("序号"),
        Column::text("姓名"),
        Column::new("学籍号", Kind::Id),
        Column::text("学校班级"),
        Column::text("案件状态"),
        Column::text("立案日期"),
        Column::text("起算日"),
        Column::text("辍学原因"),
        Column::text("劝返方案"),
        Column::text("班主任"),
        Column::text("包保教师"),
        Column::text("包村干部"),
        Column::text("村组干部"),
        Column::count("措施数"),
        Column::text("最近措施"),
        Column::text("当前应办"),
    ];
    let out = shown
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let c = &r.case;
            let i = c.case.as_deref();
            let resp = c.responsible();
            let last = c
                .actions_sorted()
                .last()
                .map(|x| format!("{} {} {}", x.date, x.kind.label(), x.by))
                .map(Cell::Text)
                .unwrap_or(Cell::Empty);
            let due = r
                .alerts
                .iter()
                .map(|x| format!("{}（{} 起）", rung_title(&policy, &x.rule), x.due))
                .collect::<Vec<_>>()
                .join("；");
            vec![
                Cell::from(n + 1),
                Cell::from(c.name()),
                masked(i.and_then(|i| i.child.student_no.as_ref()).map(|s| s.as_str())),
                Cell::Text(place(r)),
                Cell::Text(state_label(c)),
                i.map(|i| Cell::Text(i.opened.to_string())).unwrap_or(Cell::Empty),
                i.map(|i| Cell::Text(i.clock_start.to_string())).unwrap_or(Cell::Empty),
                text(c.cause().map(|x| x.label())),
                text(c.plan()),
                text(resp.get(ResponsibleRole::ClassTeacher)),
                text(resp.get(ResponsibleRole::Mentor)),
                text(resp.get(ResponsibleRole::TownshipCadre)),
                text(resp.get(ResponsibleRole::VillageCadre)),
                Cell::from(c.actions.len()),
                last,
                Cell::Text(due),
            ]
        })
        .collect();
    let book = Book {
        title: "控辍保学台账（一人一案）".into(),
        unit: Some(unit(&l)),
        as_of: Some(today.to_string()),
        columns,
        rows: out,
        total: None,
        notes: vec![format!("学籍号已脱敏。导出人：{}，{today}。", user.name)],
        sheet_name: Some("台账".into()),
    };
    app.auth.audit.record("export", &user.login, &user.address, &format!("导出案件台账 Excel（{} 件）", shown.len()));
    download(&book, &format!("控辍保学台账-{today}.xlsx"))
}
