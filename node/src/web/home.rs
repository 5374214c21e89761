//! 今日待办: what this user must do today — the alerts on the children in their scope, most
//! urgent first, each one click from the case that clears it — and, for those who take or
//! oversee the roll, which classes have done today's roll call. Township staff and the school
//! administrator also see the warnings before trouble about the node itself (certificates,
//! disk, backup: `crate::health`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use baoxue_web::layout::{level_badge, Flash};
use baoxue_web::{html, CurrentUser, WebError};

use super::access::{Role, Scope};
use super::cases::{visible_cases, web_level};
use super::roll::{class_counts, done_on, status_table};
use super::{access_of, flash_of, App};

pub async fn page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let today = app.today();
    let (rows, classes, done) =
        app.with_index(|l, idx| Ok((visible_cases(l, idx, &a, today)?, class_counts(idx, &a), done_on(l, today))))?;
    let mut alerts: Vec<(&super::cases::CaseRow, &baoxue_shared::alerts::Alert)> =
        rows.iter().flat_map(|r| r.alerts.iter().map(move |x| (r, x))).collect();
    alerts.sort_by(|x, y| (y.1.level, x.1.due).cmp(&(x.1.level, y.1.due)));
    let operations = if matches!(a.role, Role::Township | Role::Admin) {
        let l = app.ledger()?;
        crate::health::alerts(&l, &crate::health::facts(&l), today)
    } else {
        Vec::new()
    };
    let open = rows.iter().filter(|r| r.is_open()).count();
    let not_done = classes.keys().filter(|k| !done.iter().any(|d| d.class == k.key())).count();
    let body = html! {
        h1 { (user.name) "，今天是 " (today) }
        div.cards {
            div.card { div.muted.small { "今日待办" } div.figure { (alerts.len()) " 件" } }
            div.card { div.muted.small { "未销号案件" } div.figure { (open) " 件" } a href="/cases" { "查看台账" } }
            div.card { div.muted.small { "今日未点名的班级" } div.figure { (not_done) " 个" } a href="/roll" { "去点名" } }
        }
        @if !operations.is_empty() {
            h2 { "运行预警（本机）" }
            @for x in &operations {
                div class={ "alert-item " (web_level(x.level).class()) } {
                    (level_badge(web_level(x.level))) " " (x.message)
                    div.small.muted { "责任人：" (x.responsible) "；依据 " (x.clause) }
                }
            }
        }
        h2 { "今日待办（最紧急的在前）" }
        @if alerts.is_empty() { p.flash.flash-ok { "今天没有待办的预警。" } }
        @for (r, x) in &alerts {
            div class={ "alert-item " (web_level(x.level).class()) } {
                (level_badge(web_level(x.level))) " " (x.message)
                div.small.muted { "责任人：" (x.responsible) "；" (x.due) " 起应办；依据 " (x.clause) }
                div { a.button.secondary href={ "/cases/" (r.case.id.hex()) } { "办理：" (r.case.name()) } }
            }
        }
        @if !matches!(a.scope, Scope::Classes(ref c) if c.is_empty()) && !classes.is_empty() {
            h2 { "今日点名" }
            (status_table(&classes, &done))
        }
    };
    let flash = if q.get("flash").map(String::as_str) == Some("password") {
        Some(Flash::Ok("新密码已保存".into()))
    } else {
        flash_of(&q)
    };
    Ok(app.auth.page("今日", &user, "/", flash.as_ref(), body).into_response())
}

/// The township's alerts as the CLI lists them (township-wide roles), or the user's own.
pub async fn alerts(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let l = app.ledger()?;
    let today = app.today();
    let list = if matches!(a.scope, Scope::Township) {
        crate::cmd::alerts::with_operations(&l, today).map_err(super::node_error)?
    } else {
        app.with_index(|l, idx| visible_cases(l, idx, &a, today))?.into_iter().flat_map(|r| r.alerts).collect()
    };
    let body = html! {
        h1 { "预警 · " (today) }
        p.muted { "共 " (list.len()) " 条，按紧急程度排列。" }
        @for x in &list {
            div class={ "alert-item " (web_level(x.level).class()) } {
                (level_badge(web_level(x.level))) " " (x.message)
                div.small.muted { "责任人：" (x.responsible) "；" (x.due) " 起应办；依据 " (x.clause) "；" (x.subject_kind.label()) " " (x.subject) }
            }
        }
    };
    Ok(app.auth.page("预警", &user, "/alerts", None, body).into_response())
}
