//! The daily roll call: pick a class, mark who is absent today and why (无故/病假/事假), save
//! once. The whole class goes in one request and one durable commit (`cmd::absence::roll_call`,
//! the CLI's `absence` rules: an unexcused absence opens a case at once). Which classes have
//! done today's roll call is kept in the node's meta (local bookkeeping, not a revision).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use baoxue_shared::model::{AbsenceKind, CaseState};
use baoxue_shared::{Date, Record};
use baoxue_web::layout::csrf_field;
use baoxue_web::{html, CurrentUser, WebError};
use serde::{Deserialize, Serialize};

use super::access::{Access, ClassKey, Perm};
use super::index::{on_roll, LedgerIndex};
use super::{access_of, flash_of, node_error, with_ok, App};
use crate::cmd::absence::roll_call;
use crate::cmd::student::Stamp;
use crate::ledger::Ledger;

/// A class's roll call of one day: who took it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollDone {
    pub class: String,
    pub by: String,
    pub at: String,
    pub absent: usize,
}

fn meta_key(day: Date) -> String {
    format!("web_roll_{day}")
}

pub fn done_on(l: &Ledger, day: Date) -> Vec<RollDone> {
    l.store.get_meta(&meta_key(day)).ok().flatten().unwrap_or_default()
}

/// The classes the user may see, with their number of students.
pub fn class_counts(idx: &LedgerIndex, a: &Access) -> BTreeMap<ClassKey, usize> {
    idx.by_class.iter().filter(|(k, _)| a.sees_class(k)).map(|(k, v)| (k.clone(), v.len())).collect()
}

/// The students of one class, in 学籍号 order.
pub fn class_students(l: &Ledger, idx: &LedgerIndex, k: &ClassKey) -> Result<Vec<Record>, WebError> {
    let mut out = Vec::new();
    for id in idx.by_class.get(k).into_iter().flatten() {
        if let Some(r) = l.store.record(*id).map_err(|e| WebError::Internal(e.to_string()))? {
            if r.is_complete() && l.is_ours(&r) && on_roll(&r) && ClassKey::of(&r).as_ref() == Some(k) {
                out.push(r);
            }
        }
    }
    out.sort_by(|x, y| (x.student_no(), x.name()).cmp(&(y.student_no(), y.name())));
    Ok(out)
}

pub async fn classes(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let today = app.today();
    let (classes, done) = app.with_index(|l, idx| Ok((class_counts(idx, &a), done_on(l, today))))?;
    if classes.len() == 1 && a.may(Perm::RollCall) && q.is_empty() {
        if let Some(k) = classes.keys().next() {
            return Ok(Redirect::to(&class_url(k)).into_response());
        }
    }
    let body = html! {
        h1 { "今日点名 · " (today) }
        (status_table(&classes, &done))
    };
    Ok(app.auth.page("点名", &user, "/roll", flash_of(&q).as_ref(), body).into_response())
}

pub fn class_url(k: &ClassKey) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("c", &k.key()).finish();
    format!("/roll/class?{q}")
}

/// Which classes have and have not taken today's roll call.
pub fn status_table(classes: &BTreeMap<ClassKey, usize>, done: &[RollDone]) -> baoxue_web::Markup {
    let not_done = classes.keys().filter(|k| !done.iter().any(|d| d.class == k.key())).count();
    html! {
        p { "共 " (classes.len()) " 个班，已点名 " (classes.len() - not_done) " 个，未点名 " strong { (not_done) } " 个。" }
        div.table-wrap { table {
            thead { tr { th { "班级" } th { "人数" } th { "今日点名" } th {} } }
            tbody {
                @for (k, students) in classes {
                    @let d = done.iter().find(|d| d.class == k.key());
                    tr class=[d.is_none().then_some("row-warning")] {
                        td { (k.label()) }
                        td.right { (students) " 人" }
                        td { @if let Some(d) = d { span.level.level-ok { "已点名" } " " (d.by) " " (d.at) "，缺勤 " (d.absent) " 人" } @else { span.level.level-warning { "未点名" } } }
                        td { a.button.secondary href=(class_url(k)) { "点名" } }
                    }
                }
            }
        } }
    }
}

#[derive(Deserialize)]
pub struct ClassQuery {
    c: String,
    #[serde(default)]
    ok: Option<String>,
}

fn class_in_scope(l: &Ledger, idx: &LedgerIndex, a: &Access, c: &str) -> Result<(ClassKey, Vec<Record>), WebError> {
    let k = ClassKey::parse(c).ok_or_else(|| WebError::BadRequest(format!("班级「{c}」无效")))?;
    if !a.sees_class(&k) {
        return Err(WebError::NotFound("未找到该班级（或不在您负责的范围内）".into()));
    }
    let students = class_students(l, idx, &k)?;
    if students.is_empty() {
        return Err(WebError::NotFound(format!("{} 没有在读学生", k.label())));
    }
    Ok((k, students))
}

pub async fn form(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ClassQuery>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::RollCall)?;
    let today = app.today();
    let (k, students, done, open_cases) = app.with_index(|l, idx| {
        let (k, students) = class_in_scope(l, idx, &a, &q.c)?;
        let done = done_on(l, today).into_iter().find(|d| d.class == k.key());
        let mut open_cases: HashMap<baoxue_shared::RecordId, Record> = HashMap::new();
        for s in &students {
            if let Some(cid) = idx.open_case.get(&s.id) {
                if let Ok(Some(c)) = l.store.record(*cid) {
                    open_cases.insert(s.id, c);
                }
            }
        }
        Ok((k, students, done, open_cases))
    })?;
    let body = html! {
        h1 { (k.label()) " · " (today) " 点名" }
        @if let Some(d) = &done { p.flash.flash-info { "今日已由 " (d.by) " 于 " (d.at) " 点名（缺勤 " (d.absent) " 人）。可补记漏记的缺勤。" } }
        p.muted { "默认全部到校；只需为缺勤的学生选择原因。无故缺勤会立即立案（疑似辍学），请当天电话联系监护人。" }
        form method="post" action={ "/roll/class?c=" (form_urlencoded::byte_serialize(k.key().as_bytes()).collect::<String>()) } {
            (csrf_field(&user.csrf))
            div.roll {
                @for s in &students {
                    @let today_abs = s.absences_sorted().into_iter().find(|(d, _)| *d == today);
                    @let field = format!("s_{}", s.id.hex());
                    div.roll-row {
                        span.name { (s.name()) }
                        @if let Some(c) = open_cases.get(&s.id) {
                            a.level.level-warning href={ "/cases/" (c.id.hex()) } { "案件：" (c.case_state().map(CaseState::label).unwrap_or_default()) }
                        }
                        @if let Some((_, kind)) = today_abs {
                            span.choices {
                                span.level.level-info { "今日已记：" (kind.label()) }
                                " " a.small.nowrap href={ "/students/" (s.id.hex()) "#absences" } { "误记？撤回" }
                            }
                        } @else {
                            span.choices {
                                label { input type="radio" name=(field) value="present" checked; span { "到" } }
                                label { input type="radio" name=(field) value="unexcused"; span { "无故" } }
                                label { input type="radio" name=(field) value="sick"; span { "病假" } }
                                label { input type="radio" name=(field) value="personal"; span { "事假" } }
                            }
                        }
                    }
                }
            }
            div.sticky-save {
                span { "缺勤 " strong #absent-count { "0" } " 人" }
                span.muted.small { "录入人 " (user.name) "，业务日期 " (today) }
                button type="submit" { "保存点名" }
            }
        }
    };
    let flash = q.ok.map(baoxue_web::layout::Flash::Ok);
    Ok(app.auth.page("点名", &user, "/roll", flash.as_ref(), body).into_response())
}

pub async fn save(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ClassQuery>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::RollCall)?;
    let today = app.today();
    let stamp = Stamp { author: user.name.clone(), date: today };
    let (k, result, absent) = {
        let _guard = app.writer.lock().map_err(|_| WebError::Internal("写入锁失效".into()))?;
        let l = app.ledger()?;
        let (k, students) = app.with_index(|l, idx| class_in_scope(l, idx, &a, &q.c))?;
        let by_id: HashMap<String, &Record> = students.iter().map(|s| (format!("s_{}", s.id.hex()), s)).collect();
        let mut entries = Vec::new();
        for (name, value) in &fields {
            if !name.starts_with("s_") || value == "present" {
                continue;
            }
            let s = by_id
                .get(name)
                .ok_or_else(|| WebError::BadRequest("表单中有不属于该班的学生，请刷新后重新点名".into()))?;
            let kind: AbsenceKind =
                value.parse().map_err(|_| WebError::BadRequest(format!("{} 的缺勤类型「{value}」无效", s.name())))?;
            entries.push(((*s).clone(), kind));
        }
        let result = roll_call(&l, &entries, &stamp).map_err(node_error)?;
        let mut done = done_on(&l, today);
        let at = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%H:%M").to_string();
        let prev = done.iter().find(|d| d.class == k.key()).map(|d| d.absent).unwrap_or(0);
        done.retain(|d| d.class != k.key());
        done.push(RollDone { class: k.key(), by: user.name.clone(), at, absent: prev + entries.len() });
        l.store.put_meta(&meta_key(today), &done).map_err(|e| WebError::Internal(e.to_string()))?;
        l.store.flush().map_err(|e| WebError::Internal(e.to_string()))?;
        (k, result, entries.len())
    };
    let mut msg = format!("{} 点名已保存：缺勤 {absent} 人", k.label());
    if !result.opened.is_empty() {
        let names: Vec<String> = result.opened.iter().map(|(n, _)| n.clone()).collect();
        msg.push_str(&format!(
            "；无故缺勤已立案 {} 件（{}），请今天电话联系监护人并家访",
            names.len(),
            names.join("、")
        ));
    }
    Ok(Redirect::to(&with_ok(&class_url(&k), &msg)).into_response())
}
