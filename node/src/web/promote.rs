//! Year-end promotion as one reviewed step: the preview lists every student who moves up, who
//! graduates and who is left out (and why); confirming writes it all in one commit.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use baoxue_web::layout::csrf_field;
use baoxue_web::{html, CurrentUser, WebError};
use serde::Deserialize;

use super::access::{Perm, Scope};
use super::{access_of, flash_of, node_error, with_ok, App};
use crate::cmd::promote::{plan, promote};
use crate::cmd::student::Stamp;

fn school_of(app: &App, user: &CurrentUser, q: &HashMap<String, String>) -> Result<String, WebError> {
    let a = access_of(user)?;
    a.require(Perm::Promote)?;
    match &a.scope {
        Scope::School(s) => Ok(s.clone()),
        _ => {
            let l = app.ledger()?;
            let first = l.config.org.schools_in(l.township()).next().map(|s| s.name.clone()).unwrap_or_default();
            Ok(q.get("school").cloned().filter(|s| !s.is_empty()).unwrap_or(first))
        }
    }
}

pub async fn page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let school = school_of(&app, &user, &q)?;
    let l = app.ledger()?;
    let (p, _) = plan(&l, &school).map_err(node_error)?;
    let schools: Vec<String> = l.config.org.schools_in(l.township()).map(|s| s.name.clone()).collect();
    let a = access_of(&user)?;
    let body = html! {
        h1 { "学年升级与毕业 · " (school) }
        @if matches!(a.scope, Scope::Township) {
            form.inline method="get" action="/promote" {
                label { "学校" select name="school" { @for s in &schools { option value=(s) selected[*s == school] { (s) } } } }
                button.secondary type="submit" { "查看" }
            }
        }
        div.cards {
            div.card { div.muted.small { "升一个年级" } div.figure { (p.promoted.len()) " 人" } }
            div.card { div.muted.small { "毕业" } div.figure { (p.graduated.len()) " 人" } }
            div.card { div.muted.small { "暂不处理" } div.figure { (p.skipped.len()) " 人" } }
        }
        @if !p.skipped.is_empty() {
            h2 { "暂不处理" }
            table { tbody { @for (who, why) in &p.skipped { tr { td { (who) } td { (why) } } } } }
        }
        form.stack method="post" action="/promote" data-confirm="确认为全校学生升级和毕业？" {
            (csrf_field(&user.csrf))
            input type="hidden" name="school" value=(school);
            p.will-write { "将一次写入：" (p.promoted.len()) " 名学生升一个年级（班级名称不变，请随后调整），" (p.graduated.len()) " 名学生改为毕业；录入人 " (user.name) "。" }
            button type="submit" { "确认升级和毕业" }
        }
        h2 { "明细" }
        div.table-wrap { table {
            thead { tr { th { "学生" } th { "变化" } } }
            tbody {
                @for (who, from, to) in &p.promoted { tr { td { (who) } td { (from) "年级 → " (to) "年级" } } }
                @for (who, g) in &p.graduated { tr { td { (who) } td { (g) "年级 → 毕业" } } }
            }
        } }
    };
    Ok(app.auth.page("升级与毕业", &user, "/promote", flash_of(&q).as_ref(), body).into_response())
}

#[derive(Deserialize)]
pub struct PromoteForm {
    school: String,
}

pub async fn confirm(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<PromoteForm>,
) -> Result<Response, WebError> {
    let q: HashMap<String, String> = [("school".to_string(), f.school.clone())].into();
    let school = school_of(&app, &user, &q)?;
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    let p = app.write(|l| promote(l, &school, &stamp))?;
    let msg = format!("{school}：{} 名学生已升级，{} 名学生已毕业（一次写入）", p.promoted.len(), p.graduated.len());
    Ok(Redirect::to(&with_ok(
        &format!("/promote?school={}", form_urlencoded::byte_serialize(school.as_bytes()).collect::<String>()),
        &msg,
    ))
    .into_response())
}
