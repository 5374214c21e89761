//! Roster import by upload: the file goes through the CLI's `student import` (same checks, same
//! row-level errors, one durable commit); a file with bad rows writes nothing unless the user
//! chooses to skip them, and every bad row is shown in a table (row, column, value, reason).
//! The file may be .xlsx, .xls or .csv (UTF-8 or GB18030): the roster reader tells them apart by
//! their first bytes and knows the column aliases of the national 学籍 system's exports.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use baoxue_web::upload::{TempFile, Upload};
use baoxue_web::{html, CurrentUser, Markup, WebError};

use super::access::Perm;
use super::{access_of, App};
use crate::cmd::student::{import, ImportArgs, Stamp};
use crate::NodeError;

fn form(user: &CurrentUser) -> Markup {
    html! {
        form.stack method="post" enctype="multipart/form-data" action={ "/students/import?_csrf=" (user.csrf) } {
            label { "花名册文件（Excel .xlsx/.xls 或 CSV；列：学籍号、身份证号、姓名、性别、出生日期、学校、年级、班级……，学籍系统导出的列名也可识别）" input type="file" name="file" accept=".xlsx,.xls,.csv,text/csv,application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required; }
            label { input type="checkbox" name="skip_bad" value="1"; " 跳过有错误的行，只导入正确的行" }
            label { input type="checkbox" name="dry_run" value="1"; " 只检查，不写入" }
            p.will-write { "将逐行检查；有错误的行全部列出，除非勾选“跳过”，否则一行也不写入。录入人 " (user.name) "。" }
            button type="submit" { "上传并导入" }
        }
    }
}

pub async fn page(State(app): State<Arc<App>>, Extension(user): Extension<CurrentUser>) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Roster)?;
    let body = html! { h1 { "导入花名册" } (form(&user)) };
    Ok(app.auth.page("导入花名册", &user, "/students", None, body).into_response())
}

pub async fn upload(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    mp: Multipart,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Roster)?;
    let up = Upload::read(mp, "花名册").await?;
    let (skip_bad, dry_run) = (up.has("skip_bad"), up.has("dry_run"));
    let name = up.name.clone();
    let ext = up.extension(&["xlsx", "xls", "csv"], "csv");
    let tmp = TempFile::write(&app.dir.join("web").join("uploads"), ext, up.file("请选择花名册文件")?, &name)?;
    let path = tmp.path();
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    let result = {
        let _guard = app.writer.lock().map_err(|_| WebError::Internal("写入锁失效".into()))?;
        let l = app.ledger()?;
        import(&l, &ImportArgs { file: path, dry_run, skip_bad }, &stamp)
    };
    let shown = |s: &str| tmp.shown(s);
    let (status, body) = match result {
        Ok(out) => (
            StatusCode::OK,
            html! {
                h1 { "导入花名册" }
                p.flash.flash-ok { (shown(out.text.trim())) }
                @if !out.warnings.is_empty() { ul { @for w in &out.warnings { li { (w) } } } }
                (form(&user))
            },
        ),
        Err(NodeError::Rows { summary, rows }) => (
            StatusCode::BAD_REQUEST,
            html! {
                h1 { "导入花名册" }
                p.flash.flash-error { (shown(&summary)) }
                div.table-wrap { table {
                    thead { tr { th { "行" } th { "列" } th { "值" } th { "原因" } } }
                    tbody { @for r in &rows { tr { td.right { (r.row) } td { (r.column) } td { (r.value) } td { (r.reason) } } } }
                } }
                (form(&user))
            },
        ),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            html! { h1 { "导入花名册" } p.flash.flash-error { (shown(&e.to_string())) } (form(&user)) },
        ),
    };
    Ok((status, app.auth.page("导入花名册", &user, "/students", None, body)).into_response())
}
