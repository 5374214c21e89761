//! The county's dashboard: the web app `baoxue-hub serve` serves on its own TCP port next to
//! the QUIC sync, to the education bureau (教育局管理员, 基教股), the townships (乡镇, their own
//! township only) and the inspectors (督导, read only). It stands on the same foundation as the
//! node's school app (`baoxue-web`: look, sessions, CSRF, login limits, audit, security
//! headers, HTTPS). Handlers are thin: they check access ([`access`], the one place roles are
//! decided), read the current [`view::View`] (computed in the background, never per request)
//! or the store, and render.
//!
//! # Screens (one module each)
//! - [`dashboard`]: 总览 — the county's rates with their terms, charts, alerts, nodes' health.
//! - [`drill`]: county → township → school → case list → one case (read-only).
//! - [`reports`]: the township table, the ranking, the consolidation and dropout reports as
//!   pages and as .xlsx (the writer of `baoxue-sheet`), masked per role and logged.
//! - [`work`]: the bureau's work: conflicts (both values, resolve), census upload.
//! - [`admin`]: nodes' health, the audit log.
//! - [`bureau`]: the policy preset, issuing and revoking nodes, the dated archives and which
//!   reports were sent upward.
//! - [`view`]: the background computation the pages read.
//! - [`accounts`]: the accounts file and `baoxue-hub user …`.
//! - [`access`]: roles, permissions and scopes.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod bureau;
pub mod dashboard;
pub mod drill;
pub mod reports;
pub mod view;
pub mod work;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use baoxue_web::audit::Audit;
use baoxue_web::layout::{Chrome, Flash, NavItem};
use baoxue_web::{html, Auth, AuthConfig, CurrentUser, Markup, WebError};
use clap::Args;

use crate::data::{HubError, Result};
use crate::server::HubState;
use access::{Access, Perm, Role};
use view::{View, Views};

/// Where the dashboard listens (`serve` flags).
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// 县级看板（网页）监听地址；未提供证书时只能是 127.0.0.1
    #[arg(long = "web", value_name = "ADDR:PORT", default_value = "127.0.0.1:7480")]
    pub web: String,
    /// 网页 HTTPS 证书链（PEM，由运维提供）
    #[arg(long, value_name = "FILE", requires = "web_key")]
    pub web_cert: Option<PathBuf>,
    /// 网页 HTTPS 私钥（PEM）
    #[arg(long, value_name = "FILE", requires = "web_cert")]
    pub web_key: Option<PathBuf>,
    /// 不提供网页看板
    #[arg(long)]
    pub no_web: bool,
}

/// The serving process's state for the app.
pub struct App {
    pub state: Arc<HubState>,
    pub auth: Arc<Auth>,
    pub views: Arc<Views>,
    /// Census uploads awaiting decisions on their suggested matches.
    pub reviews: work::Reviews,
}

impl App {
    /// The current view, or a page saying the first computation is still running.
    pub fn view(&self) -> std::result::Result<Arc<View>, WebError> {
        self.views.get().ok_or_else(|| match self.views.last_error() {
            Some(e) => WebError::Internal(format!("县级数据计算失败：{e}")),
            None => WebError::Internal("县级数据正在计算（首次启动需要片刻），请稍后刷新本页".into()),
        })
    }

    /// Runs a write on the store with pushes held off (as the control socket does), then waits
    /// for the pages' figures to include it.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&HubState) -> std::result::Result<T, WebError> + Send + 'static,
    ) -> std::result::Result<T, WebError> {
        let st = self.state.clone();
        let r = tokio::task::spawn_blocking(move || {
            let _exclusive = st.exclusive();
            f(&st)
        })
        .await
        .map_err(|e| WebError::Internal(format!("写入任务异常结束：{e}")))??;
        self.views.refreshed(Duration::from_secs(20)).await;
        Ok(r)
    }

    /// A page with the chrome and the time of its figures.
    pub fn page(&self, title: &str, user: &CurrentUser, path: &str, flash: Option<&Flash>, body: Markup) -> Response {
        let view = self.views.get();
        let body = html! {
            // The log position the figures include (tests wait for it).
            @if let Some(v) = &view { p.asof data-log=(v.log_pos) { (v.stamp()) } }
            (body)
        };
        self.auth.page(title, user, path, flash, body).into_response()
    }

    pub fn audit(&self, kind: &str, user: &CurrentUser, detail: &str) {
        self.auth.audit.record(kind, &user.login, &user.address, detail);
    }
}

/// The command layer's context for a write made from the app: the server's store, on behalf
/// of the logged-in user (as the control socket lends it to a command-line caller).
pub fn context(st: &HubState, user_name: &str) -> crate::cmd::Context {
    let caller = baoxue_control::Caller { cwd: st.dir.root.clone(), operator: Some(user_name.to_string()) };
    crate::cmd::Context::lent(st.dir.clone(), st.store.clone(), caller)
}

/// A flash message from the `?ok=` / `?err=` of a redirect after a save.
pub fn flash_of(q: &std::collections::HashMap<String, String>) -> Option<Flash> {
    if let Some(m) = q.get("ok") {
        return Some(Flash::Ok(m.clone()));
    }
    q.get("err").map(|m| Flash::Error(m.clone()))
}

/// `path?ok=message`.
pub fn with_ok(path: &str, msg: &str) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("ok", msg).finish();
    format!("{path}{}{q}", if path.contains('?') { "&" } else { "?" })
}

/// A path segment (a township or school name) for a URL.
pub fn seg(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A file download (`attachment`, the name in UTF-8 as RFC 6266 allows).
pub fn download(bytes: Vec<u8>, name: &str, mime: &'static str) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    let disp = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", seg(name));
    if let Ok(v) = HeaderValue::from_str(&disp) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The navigation a role sees, and the footer with the figures' time.
fn chrome(views: &Views, county: &str, user: Option<&CurrentUser>) -> Chrome {
    let mut nav = Vec::new();
    if let Some(a) = user.and_then(|u| Access::of(u).ok()) {
        nav.push(NavItem::new("/", "总览"));
        match &a.township {
            Some(t) => nav.push(NavItem::new(&format!("/t/{}", seg(t)), "本乡镇")),
            None => nav.push(NavItem::new("/t", "乡镇")),
        }
        nav.push(NavItem::new("/reports", "报表"));
        nav.push(NavItem::new("/alerts", "预警"));
        if a.county_wide() {
            nav.push(NavItem::new("/conflicts", "冲突"));
            nav.push(NavItem::new("/nodes", "节点"));
            nav.push(NavItem::new("/archives", "存档"));
        }
        nav.push(NavItem::new("/policy", "政策"));
        if a.may(Perm::Write) {
            nav.push(NavItem::new("/census", "普查比对"));
        }
        if a.may(Perm::Audit) {
            nav.push(NavItem::new("/audit", "审计"));
        }
    }
    let mut footer = vec![format!("{county} 控辍保学县级平台")];
    if let Some(v) = views.get() {
        footer.push(v.stamp());
        if let Some(d) = v.last_archive {
            footer.push(format!("最近夜间汇总：{d}"));
        }
    }
    Chrome { app_name: format!("保学 · {county}"), nav, footer }
}

/// The routes of the app (all behind login; see `baoxue_web::auth::app`).
pub fn router(app: Arc<App>) -> Router {
    let protected = Router::new()
        .route("/", get(dashboard::page))
        .route("/alerts", get(dashboard::alerts))
        .route("/t", get(drill::townships))
        .route("/t/{township}", get(drill::township))
        .route("/t/{township}/{school}", get(drill::school))
        .route("/cases", get(drill::cases))
        .route("/cases.xlsx", get(drill::cases_xlsx))
        .route("/case/{id}", get(drill::case))
        .route("/case/{id}/full-id", post(drill::full_id))
        .route("/reports", get(reports::index))
        .route("/reports/{kind}", get(reports::page))
        .route("/reports/{kind}/xlsx", get(reports::xlsx))
        .route("/conflicts", get(work::conflicts))
        .route("/conflicts/resolve", post(work::resolve))
        .route(
            "/census",
            get(work::census_page)
                .post(work::census_upload)
                .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/census/decide", post(work::census_decide))
        .route("/baseline", post(work::baseline_upload).layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)))
        .route("/nodes", get(admin::nodes))
        .route("/nodes/add", post(bureau::node_add))
        .route("/nodes/revoke", post(bureau::node_revoke))
        .route("/policy", get(bureau::policy).post(bureau::policy_set))
        .route("/archives", get(bureau::archives))
        .route("/archives/{day}/{file}", get(bureau::archive_file))
        .route("/archives/{day}/{file}/sent", post(bureau::mark_sent))
        .route("/audit", get(admin::audit))
        .with_state(app.clone());
    baoxue_web::auth::app(app.auth.clone(), protected)
}

/// The running dashboard.
pub struct RunningWeb {
    pub addr: SocketAddr,
    pub url: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningWeb {
    pub fn abort(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The dashboard's address and TLS, checked before `serve` binds anything.
pub struct Prepared {
    listen: SocketAddr,
    tls: Option<baoxue_net::lan::HttpsAcceptor>,
}

/// Checks the flags: the address, the certificate and key (read and parsed), and that without
/// a certificate only a loopback address is used.
pub fn prepare(args: &WebArgs) -> Result<Prepared> {
    let listen: SocketAddr = args
        .web
        .parse()
        .map_err(|_| HubError::Invalid(format!("--web 地址「{}」无效，应为 IP:端口，如 127.0.0.1:7480", args.web)))?;
    let tls = match (&args.web_cert, &args.web_key) {
        (Some(c), Some(k)) => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).map_err(|e| HubError::Invalid(format!("无法读取 {}：{e}", p.display())))
            };
            Some(
                baoxue_net::lan::HttpsAcceptor::new(&read(c)?, &read(k)?)
                    .map_err(|e| HubError::Invalid(format!("网页证书或私钥无效：{e}")))?,
            )
        }
        _ => None,
    };
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(HubError::Invalid(format!(
            "未提供 HTTPS 证书时，网页看板只能监听本机（127.0.0.1）；要在 {listen} 上提供，请用 --web-cert 和 --web-key 指定证书"
        )));
    }
    Ok(Prepared { listen, tls })
}

/// The dashboard's audit log, `<data>/web/audit.jsonl` (also its name inside a backup).
pub const AUDIT_FILE: &str = "web/audit.jsonl";
const AUDIT_AAD: &[u8] = b"baoxue audit line";

/// Seals the audit log's lines with the data key (they name users and pupils).
pub fn audit_sealer(key: baoxue_store::StoreKey) -> baoxue_web::audit::Sealer {
    let k2 = key.clone();
    baoxue_web::audit::Sealer::new(move |p| key.seal(AUDIT_AAD, p), move |s| k2.open(AUDIT_AAD, s).ok())
}

/// The audit log of the dashboard over `root`: sealed with `key`, 0600 in a 0700 directory.
pub fn audit_log(root: &std::path::Path, key: Option<baoxue_store::StoreKey>) -> Audit {
    match key {
        Some(k) => Audit::sealed(root.join(AUDIT_FILE), audit_sealer(k)),
        None => Audit::new(Some(root.join(AUDIT_FILE))),
    }
}

/// Binds the dashboard's port and starts serving it (and the background computation it reads)
/// on the current runtime.
pub async fn start(state: Arc<HubState>, prepared: Prepared) -> Result<RunningWeb> {
    let Prepared { listen, tls } = prepared;
    let county = state.dir.config()?.county_name;
    let views = Arc::new(Views::default());
    let accounts = Arc::new(accounts::FileAccounts::new(&state.dir.root));
    let audit = audit_log(&state.dir.root, state.store.key().cloned());
    let config = AuthConfig { secure_cookies: tls.is_some(), ..AuthConfig::default() };
    let (v, c) = (views.clone(), county.clone());
    let auth = Arc::new(Auth::new(
        &format!("保学 · {county} 县级平台"),
        accounts,
        audit,
        config,
        Box::new(move |u| chrome(&v, &c, u)),
        Box::new(|k| Role::parse(k).map(|r| r.label().to_string()).unwrap_or_else(|| k.to_string())),
    ));
    let refresher = view::spawn(state.clone(), views.clone());
    let app = Arc::new(App { state, auth, views, reviews: work::Reviews::default() });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| HubError::Invalid(format!("网页看板无法监听 {listen}：{e}")))?;
    let addr = listener.local_addr().map_err(|e| HubError::Invalid(e.to_string()))?;
    let url = format!("{}://{addr}/", if tls.is_some() { "https" } else { "http" });
    let router = router(app);
    let server = tokio::spawn(async move {
        if let Err(e) = baoxue_web::serve::serve(router, listener, tls, std::future::pending()).await {
            tracing::error!(error = %e, "网页看板停止服务");
        }
    });
    Ok(RunningWeb { addr, url, tasks: vec![refresher, server] })
}

/// The user's access, or the refusal page.
pub fn access_of(user: &CurrentUser) -> std::result::Result<Access, WebError> {
    Access::of(user)
}

/// A rate as the pages write it (two decimals), `—` when undefined.
pub fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.2}%", r * 100.0)).unwrap_or_else(|| "—".into())
}
