//! Student search (by name, 学籍号 or 身份证号: a full number is looked up exactly in the index,
//! names and partial numbers are matched in memory) and the student page (status, absences,
//! cases, full history). ID numbers are masked; a role allowed to may reveal one, and that is
//! logged in the audit log.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use baoxue_shared::{Date, Field, Record, RecordKind};
use baoxue_web::layout::{csrf_field, Flash};
use baoxue_web::{html, CurrentUser, Markup, WebError};
use serde::Deserialize;

use super::access::{Access, ClassKey, Perm};
use super::{access_of, flash_of, node_error, record, with_ok, App};
use crate::cmd::absence;
use crate::cmd::student::Stamp;
use crate::ledger::Ledger;
use crate::output::{ident, status_text};

fn find(l: &Ledger, a: &Access, q: &str) -> Result<Vec<Record>, WebError> {
    let key = q.trim().to_ascii_uppercase();
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let n = key.chars().count();
    if (n == 19 && key.starts_with(['G', 'L', 'J'])) || n == 18 {
        return Ok(l.student(&key).ok().filter(|r| a.sees_student(r)).into_iter().collect());
    }
    let mut out: Vec<Record> = l
        .all(RecordKind::Student)
        .map_err(node_error)?
        .into_iter()
        .filter(|r| l.is_ours(r) && a.sees_student(r))
        .filter(|r| {
            r.name().contains(q.trim())
                || r.student_no().map(|s| s.as_str().contains(&key)).unwrap_or(false)
                || r.id_number().map(|s| s.as_str().contains(&key)).unwrap_or(false)
        })
        .collect();
    out.sort_by(|x, y| (x.school(), x.grade(), x.name()).cmp(&(y.school(), y.grade(), y.name())));
    out.truncate(200);
    Ok(out)
}

pub async fn search(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let l = app.ledger()?;
    let text = q.get("q").cloned().unwrap_or_default();
    let found = find(&l, &a, &text)?;
    let body = html! {
        h1 { "学生" }
        p.actions {
            @if a.may(Perm::Roster) { a.button.secondary href="/students/import" { "导入花名册" } " " }
            @if a.may(Perm::Export) { a.button.secondary href="/students/export.xlsx" { "下载花名册 Excel" } }
        }
        form.inline.card method="get" action="/students" {
            label { "姓名、学籍号或身份证号" input type="search" name="q" value=(text) autofocus; }
            button type="submit" { "查找" }
        }
        @if !text.is_empty() {
            p.muted { "找到 " (found.len()) " 名学生" }
            div.table-wrap { table {
                thead { tr { th { "姓名" } th { "学籍号" } th { "班级" } th { "状态" } } }
                tbody { @for r in &found {
                    tr {
                        td { a href={ "/students/" (r.id.hex()) } { (r.name()) } }
                        td { (r.student_no().map(|s| ident(s.as_str(), false)).unwrap_or_default()) }
                        td { (ClassKey::of(r).map(|k| k.label()).unwrap_or_default()) }
                        td { (status_text(r)) }
                    }
                } }
            } }
        }
    };
    Ok(app.auth.page("学生", &user, "/students", None, body).into_response())
}

/// The class teacher may withdraw only the same day's absence (a roll-call slip); the school
/// admin may withdraw any.
pub fn may_withdraw(a: &Access, day: Date, today: Date) -> bool {
    a.may(Perm::WithdrawLate) || (a.may(Perm::RollCall) && day == today)
}

fn student_page(
    app: &App,
    user: &CurrentUser,
    id: &str,
    reveal: bool,
    q_flash: Option<Flash>,
) -> Result<Response, WebError> {
    let a = access_of(user)?;
    let l = app.ledger()?;
    let r = record(&l, id, RecordKind::Student)?;
    a.check_student(&r)?;
    let cases = l.cases_of(&r).map_err(node_error)?;
    let history = l.store.history(r.id).map_err(|e| WebError::Internal(e.to_string()))?;
    let today = app.today();
    let show = |s: Option<&str>| s.map(|s| ident(s, reveal)).unwrap_or_else(|| "（无）".into());
    let opt = |f: Field| r.text(f).unwrap_or("—").to_string();
    let body: Markup = html! {
        h1 { (r.name()) }
        div.cards {
            div.card {
                div { "学籍号 " (show(r.student_no().map(|s| s.as_str()))) }
                div { "身份证号 " (show(r.id_number().map(|s| s.as_str()))) }
                @if a.may(Perm::FullId) && !reveal {
                    form method="post" action={ "/students/" (r.id.hex()) "/full-id" } {
                        (csrf_field(&user.csrf))
                        button.secondary type="submit" { "显示完整号码（将记入日志）" }
                    }
                }
            }
            div.card {
                div { (ClassKey::of(&r).map(|k| k.label()).unwrap_or_default()) }
                div { "学籍状态 " strong { (status_text(&r)) } }
                div { "性别 " (r.sex().map(|s| s.label()).unwrap_or("")) "　出生 " (r.birth().map(|d| d.to_string()).unwrap_or_default()) }
            }
            div.card {
                div { "监护人 " (opt(Field::Guardian)) "　电话 " (opt(Field::Phone)) }
                div { "户籍 " (opt(Field::HukouTownship)) " " (opt(Field::HukouVillage)) }
                @if let Some(c) = baoxue_shared::handover::hukou_county(&r) {
                    div { "户籍所在县 " strong { (c) } "（外县户籍：确认辍学后由县教育局通报移交）" }
                }
                @if a.may(Perm::Roster) && r.student_no().is_some() {
                    details.form {
                        summary { "设置外县户籍" }
                        form.stack method="post" action={ "/students/" (r.id.hex()) "/hukou-county" } {
                            (csrf_field(&user.csrf))
                            label { "户籍所在县（本县户籍留空）"
                                input type="text" name="county" maxlength="40" value=(baoxue_shared::handover::hukou_county(&r).unwrap_or("")) placeholder="如：河南省洛阳市嵩县"; }
                            p.will-write { "外县户籍的学生确认辍学后，县教育局应向其户籍所在县通报移交（000 §三(二)）。录入人 " (user.name) "。" }
                            button.secondary type="submit" { "保存" }
                        }
                    }
                }
            }
        }
        h2 { "案件（" (cases.len()) "）" }
        @for c in &cases {
            p { a href={ "/cases/" (c.id.hex()) } { "案件 " (c.id.short()) } "　" (c.case_state().map(|s| s.label()).unwrap_or_default()) "　立案 " (c.case.as_ref().map(|i| i.opened.to_string()).unwrap_or_default()) }
        }
        h2 #absences { "缺勤（" (r.absences.len()) " 天）" }
        @let absences = r.absences_sorted();
        @if absences.is_empty() { p.muted { "无缺勤记录。" } }
        @else {
            div.table-wrap { table {
                thead { tr { th { "日期" } th { "类型" } th { "误记时撤回" } } }
                tbody { @for (d, k) in absences.iter().rev() {
                    tr {
                        td.nowrap { (d) } td { (k.label()) }
                        td { @if may_withdraw(&a, *d, today) {
                            details.form {
                                summary { "撤回" }
                                form.stack method="post" action={ "/students/" (r.id.hex()) "/withdraw" } data-confirm="确认撤回这次缺勤？" {
                                    (csrf_field(&user.csrf))
                                    input type="hidden" name="day" value=(d);
                                    label { "撤回原因" input type="text" name="reason" required placeholder="如：点名时误点，该生当天在校"; }
                                    p.will-write { "将记录一条更正（原记录保留在修改历史中）；若这次缺勤是案件的起算日，该案件以「误记撤销」销号。录入人 " (user.name) "。" }
                                    button.danger type="submit" { "撤回这次缺勤" }
                                }
                            }
                        } @else { span.muted.small { "—" } } }
                    }
                } }
            } }
        }
        h2 { "修改历史（" (history.len()) " 条）" }
        div.table-wrap { table.small { tbody { @for line in crate::output::history_lines(&history) { tr { td { (line) } } } } } }
    };
    let flash = match (reveal, q_flash) {
        (true, _) => Some(Flash::Info("已显示完整号码；此次查看已记入审计日志。".into())),
        (false, f) => f,
    };
    Ok(app.auth.page(r.name(), user, "/students", flash.as_ref(), body).into_response())
}

pub async fn page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    student_page(&app, &user, &id, false, flash_of(&q))
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    day: String,
    #[serde(default)]
    reason: String,
}

/// Withdraws an absence recorded by mistake (`cmd::absence::withdraw`): the class teacher the
/// same day, the school admin later.
pub async fn withdraw(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<WithdrawForm>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let today = app.today();
    let day = Date::parse(f.day.trim()).map_err(|_| WebError::BadRequest(format!("日期「{}」无效", f.day)))?;
    if !may_withdraw(&a, day, today) {
        return Err(WebError::Forbidden(format!(
            "{}只能撤回当天（{today}）的缺勤；更早的缺勤请学校管理员撤回",
            a.role.label()
        )));
    }
    let stamp = Stamp { author: user.name.clone(), date: today };
    let out = app.write(|l| {
        let r = writable_student(l, &a, &id)?;
        absence::withdraw(l, &r, day, &f.reason, &stamp)
    })?;
    Ok(Redirect::to(&with_ok(&format!("/students/{id}#absences"), &out.text)).into_response())
}

/// Reveals the full numbers (roles with [`Perm::FullId`]); logged.
pub async fn full_id(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::FullId)?;
    let l = app.ledger()?;
    let r = record(&l, &id, RecordKind::Student)?;
    a.check_student(&r)?;
    app.auth.audit.record(
        "full_id",
        &user.login,
        &user.address,
        &format!("查看学生 {}（{}）的完整号码", r.name(), r.id.short()),
    );
    student_page(&app, &user, &id, true, None)
}

#[derive(Deserialize)]
pub struct HukouCountyForm {
    #[serde(default)]
    county: String,
}

/// Sets or clears the 户籍所在县 of a pupil whose 户籍 is in another county (the handover of
/// 000 §三(二)), through `cmd::student::edit` as `student edit --hukou-county` does.
pub async fn hukou_county(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<HukouCountyForm>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::Roster)?;
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    let out = app.write(|l| {
        let r = writable_student(l, &a, &id)?;
        let gone = || crate::error::not_found("该学生没有学籍号".to_string());
        let no = r.student_no().map(|n| n.as_str().to_string()).ok_or_else(gone)?;
        let args = crate::cmd::student::EditArgs { hukou_county: Some(f.county.as_str()), ..Default::default() };
        crate::cmd::student::edit(l, &no, &args, &stamp)
    })?;
    Ok(Redirect::to(&with_ok(&format!("/students/{id}"), &out.text)).into_response())
}

/// The student a write from a page names (its record id in hex), inside the write lock: the
/// same "not found" for a wrong id and for a student outside the user's scope.
fn writable_student(l: &Ledger, a: &Access, id: &str) -> crate::error::Result<Record> {
    let gone = || crate::error::not_found("未找到该学生（或不在您负责的范围内）".to_string());
    let rid = baoxue_shared::RecordId::parse_hex(id).ok_or_else(gone)?;
    l.store
        .record(rid)?
        .filter(|r| r.kind == RecordKind::Student && r.is_complete() && a.sees_student(r))
        .ok_or_else(gone)
}
