//! The bureau's settings and records at the hub: the county's policy preset, issuing and
//! revoking nodes, and the dated nightly archives — each archived file downloadable and a
//! monthly report markable as sent upward (who, when, which file), so the bureau can show what
//! it reported and when. Writes go through the command layer (`crate::cmd::admin`), as the
//! command line's do.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use baoxue_shared::policy::Policy;
use baoxue_shared::Date;
use baoxue_web::layout::csrf_field;
use baoxue_web::{html, CurrentUser, WebError};
use serde::{Deserialize, Serialize};

use super::access::Perm;
use super::{access_of, download, flash_of, with_ok, App, XLSX};

fn refused(e: anyhow::Error) -> WebError {
    WebError::BadRequest(crate::cmd::error_line(&e))
}

/// `/policy`: the county's policy, and (基教股, 管理员) a preset to switch to.
pub async fn policy(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let p = &v.policy;
    let body = html! {
        h1 { "全县政策：" (p.title) }
        p.muted.small { "依据：" (p.source) }
        h2 { "劝返流程（" (p.ladder.len()) " 个环节）" }
        div.table-wrap { table {
            thead { tr { th { "环节" } th.right { "时限（天）" } th { "级别" } th { "依据" } } }
            tbody { @for r in &p.ladder { tr { td { (r.title) } td.right { (r.after_days) @if r.strict { "（超过）" } } td { (r.level.label()) } td { (r.clause) } } } }
        } }
        @if !p.reporting.is_empty() {
            h2 { "报送要求" }
            ul { @for r in &p.reporting { li { (r.title) "（" (r.clause) "）" } } }
        }
        @if a.may(Perm::Write) {
            h2 { "更换政策预设" }
            form.stack method="post" action="/policy" data-confirm="更换全县政策？各节点下次同步时收到，预警按新规则计算。" {
                (csrf_field(&user.csrf))
                label { "预设" select name="preset" {
                    @for name in Policy::preset_names() {
                        @let title = Policy::preset(name).map(|x| x.title).unwrap_or_default();
                        option value=(name) selected[name == p.name] { (name) "：" (title) }
                    }
                } }
                p.will-write { "将记录：全县政策改为所选预设（配置版本加一）；操作人 " (user.name) "。" }
                button type="submit" { "更换政策" }
            }
        }
    };
    let flash = flash_of(&q);
    Ok(app.page("政策", &user, "/policy", flash.as_ref(), body))
}

#[derive(Deserialize)]
pub struct PolicyForm {
    preset: String,
}

/// `POST /policy`: `policy set PRESET`.
pub async fn policy_set(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<PolicyForm>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Write)?;
    if !Policy::preset_names().contains(&f.preset.as_str()) {
        return Err(WebError::BadRequest(format!("政策预设「{}」不存在", f.preset)));
    }
    let by = user.name.clone();
    let done = app
        .write(move |st| crate::cmd::admin::policy_set(&super::context(st, &by), &f.preset).map_err(refused))
        .await?;
    app.audit("policy", &user, &done.text());
    Ok(Redirect::to(&with_ok("/policy", &done.text())).into_response())
}

#[derive(Deserialize)]
pub struct NodeForm {
    name: String,
    township: Option<String>,
}

/// `POST /nodes/add`: `node add NAME --township T`; the bundle (it holds the node's private
/// key) is downloaded once and not kept.
pub async fn node_add(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<NodeForm>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Users)?;
    let township = f.township.clone().unwrap_or_default();
    let name = f.name.trim().to_string();
    let by = user.name.clone();
    let (added, bytes) = app
        .write(move |st| {
            let ctx = super::context(st, &by);
            let dir = super::accounts::web_dir(&st.dir.root).join("tmp");
            std::fs::create_dir_all(&dir).map_err(|e| WebError::Internal(e.to_string()))?;
            let out = dir.join(format!("{:016x}.bundle", rand::random::<u64>()));
            let args = crate::cmd::admin::NodeAddArgs { name, township, out: out.clone(), hub: None };
            let added = crate::cmd::admin::node_add(&ctx, &args).map_err(refused)?;
            let bytes = std::fs::read(&out).map_err(|e| WebError::Internal(e.to_string()));
            let _ = std::fs::remove_file(&out);
            Ok((added, bytes?))
        })
        .await?;
    app.audit("node", &user, &format!("签发节点 {}（{}），配置包已下载", added.name, added.township));
    Ok(download(bytes, &format!("{}.bundle", added.name), "application/octet-stream"))
}

/// `POST /nodes/revoke`: `node revoke NAME`.
pub async fn node_revoke(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<NodeForm>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Users)?;
    let by = user.name.clone();
    let done =
        app.write(move |st| crate::cmd::admin::node_revoke(&super::context(st, &by), &f.name).map_err(refused)).await?;
    app.audit("node", &user, &done.text());
    Ok(Redirect::to(&with_ok("/nodes", &done.text())).into_response())
}

// --- archives ---------------------------------------------------------------------------------

/// A report marked as sent upward.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sent {
    pub day: String,
    pub file: String,
    pub by: String,
    pub at: String,
    #[serde(default)]
    pub note: String,
}

fn sent_path(app: &App) -> std::path::PathBuf {
    super::accounts::web_dir(&app.state.dir.root).join("sent.jsonl")
}

fn sent_list(app: &App) -> Vec<Sent> {
    std::fs::read_to_string(sent_path(app))
        .map(|t| t.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
        .unwrap_or_default()
}

/// The archive days, newest first.
fn days(app: &App) -> Vec<Date> {
    let mut d: Vec<Date> = std::fs::read_dir(app.state.dir.root.join("reports"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()).filter_map(|e| Date::parse(&e.file_name().to_string_lossy()).ok()).collect()
        })
        .unwrap_or_default();
    d.sort();
    d.reverse();
    d
}

/// A file of an archive day, by a name the archive holds (never a path).
fn archived_file(app: &App, day: &str, file: &str) -> Result<std::path::PathBuf, WebError> {
    let day = Date::parse(day).map_err(|_| WebError::NotFound("存档日期无效".into()))?;
    let ok = !file.is_empty()
        && file.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !file.starts_with('.');
    let path = crate::nightly::archive_dir(&app.state.dir.root, day).join(file);
    if !ok || !path.is_file() {
        return Err(WebError::NotFound(format!("{day} 的存档中没有 {file}")));
    }
    Ok(path)
}

/// `/archives`: the nightly archives (county-wide roles).
pub async fn archives(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    if !a.county_wide() {
        return Err(WebError::Forbidden("乡镇账户不能查看全县存档".into()));
    }
    let days = days(&app);
    let sent = sent_list(&app);
    let files = |d: &Date| -> Vec<String> {
        let mut f: Vec<String> = std::fs::read_dir(crate::nightly::archive_dir(&app.state.dir.root, *d))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect())
            .unwrap_or_default();
        f.retain(|n| n.ends_with(".xlsx"));
        f.sort();
        f
    };
    let body = html! {
        h1 { "夜间汇总存档" }
        p.muted.small { "每天夜间汇总后写入一份；各报表另有 JSON、CSV、Markdown 形式在数据目录 reports/日期/ 下。" }
        @if !sent.is_empty() {
            h2 { "已上报记录" }
            div.table-wrap { table {
                thead { tr { th { "报表" } th { "统计日期" } th { "上报人" } th { "标记时间" } th { "说明" } } }
                tbody { @for s in sent.iter().rev() { tr { td { a href={ "/archives/" (s.day) "/" (s.file) } { (s.file) } } td { (s.day) } td { (s.by) } td.nowrap { (s.at) } td { (s.note) } } } }
            } }
        }
        @if days.is_empty() { p.muted { "尚无存档。" } }
        @for d in days.iter().take(31) {
            h3 { (d) }
            div.table-wrap { table.small { tbody {
                @for f in files(d) {
                    @let marked = sent.iter().find(|s| s.day == d.to_string() && s.file == f);
                    tr {
                        td { a href={ "/archives/" (d) "/" (f) } { (f) } }
                        td {
                            @match marked {
                                Some(s) => span.level.level-ok { "已上报 " (s.at) "（" (s.by) "）" },
                                None => @if a.may(Perm::Write) {
                                    form.inline method="post" action={ "/archives/" (d) "/" (f) "/sent" } {
                                        (csrf_field(&user.csrf))
                                        input type="text" name="note" placeholder="说明（如：报市教育局基教科）";
                                        button.secondary type="submit" { "标记为已上报" }
                                    }
                                },
                            }
                        }
                    }
                }
            } } }
        }
    };
    let flash = flash_of(&q);
    Ok(app.page("存档", &user, "/archives", flash.as_ref(), body))
}

/// `/archives/{day}/{file}`: an archived file (sealed files opened with the data key); logged.
pub async fn archive_file(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path((day, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    if !access_of(&user)?.county_wide() {
        return Err(WebError::Forbidden("乡镇账户不能下载全县存档".into()));
    }
    let path = archived_file(&app, &day, &file)?;
    let bytes = match app.state.store.key() {
        Some(k) => k.read_file(&path),
        None => std::fs::read(&path),
    }
    .map_err(|e| WebError::Internal(format!("存档 {file} 无法读取：{e}")))?;
    app.audit("export", &user, &format!("下载存档 {day}/{file}"));
    let mime = match file.rsplit('.').next() {
        Some("xlsx") => XLSX,
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    Ok(download(bytes, &format!("{day}-{file}"), mime))
}

#[derive(Deserialize)]
pub struct SentForm {
    #[serde(default)]
    note: String,
}

/// `POST /archives/{day}/{file}/sent`: marks a report as sent upward.
pub async fn mark_sent(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path((day, file)): Path<(String, String)>,
    Form(f): Form<SentForm>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Write)?;
    archived_file(&app, &day, &file)?;
    let note: String = f.note.trim().chars().filter(|c| !c.is_control()).take(200).collect();
    let s = Sent { day: day.clone(), file: file.clone(), by: user.name.clone(), at: super::view::now_text(), note };
    let line = serde_json::to_string(&s).map_err(|e| WebError::Internal(e.to_string()))?;
    let path = sent_path(&app);
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| WebError::Internal(e.to_string()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| WebError::Internal(format!("无法写入 {}：{e}", path.display())))?;
    writeln!(out, "{line}").and_then(|_| out.sync_all()).map_err(|e| WebError::Internal(e.to_string()))?;
    app.audit("sent", &user, &format!("标记已上报：{day}/{file}"));
    Ok(Redirect::to(&with_ok("/archives", &format!("已标记 {day} 的 {file} 为已上报"))).into_response())
}
