//! The school app: the web front end `baoxue-node serve` (and `run --serve`) serves to class
//! teachers, principals and township staff, on the same ledger and command functions as the
//! CLI. Handlers are thin: they check access ([`access`], the one place roles are decided), call
//! the command layer (`crate::cmd`), and render (maud, via `baoxue_web::layout`).
//!
//! # Screens (one module each)
//! - [`home`]: 今日待办 — the alerts in the user's scope, most urgent first, and which classes
//!   have done today's roll call.
//! - [`roll`]: the daily roll call of one class, saved in one request and one durable commit.
//! - [`cases`]: the case list with alert levels and filters; the case page with the ladder as
//!   a timeline and a form for every CLI action.
//! - [`students`]: search by name, 学籍号 or 身份证号; the student page.
//! - [`import`]: roster import by upload (.xlsx, .xls, .csv), every bad row in a table.
//! - [`export`]: the roster and the case ledger as .xlsx downloads (masked, logged).
//! - [`print`]: the printable documents (劝返复学通知书, 限期入学通知书, 家访记录表, 一人一案).
//! - [`promote`]: year-end promotion and graduation, previewed, then one commit.
//! - [`admin`]: users, the sync button, the LAN certificate download.
//! - [`visit`]: the 家访记录表 (001 附件2) fields of a home visit, in the action's text.
//! - [`index`]: the township's classes and cases in memory, kept current from the log.
//! - [`accounts`]: where the node keeps its accounts (its store's meta; never synced).
//! - [`access`]: roles, permissions and scopes.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod cases;
pub mod export;
pub mod home;
pub mod import;
pub mod index;
pub mod print;
pub mod promote;
pub mod roll;
pub mod students;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use baoxue_shared::{Date, Record, RecordKind};
use baoxue_store::Store;
use baoxue_web::layout::{Chrome, Flash, NavItem};
use baoxue_web::{Auth, CurrentUser, WebError};

use crate::config::META_CONFIG;

/// The school app's audit log, `<data>/web/audit.jsonl`.
pub fn audit_path(dir: &Path) -> PathBuf {
    dir.join("web").join(AUDIT_FILE)
}

/// The audit log's file name (also its name inside a backup).
pub const AUDIT_FILE: &str = "audit.jsonl";
const AUDIT_AAD: &[u8] = b"baoxue audit line";

/// Seals the audit log's lines with the data key (they name users and pupils).
pub fn audit_sealer(store: &Store) -> Option<baoxue_web::audit::Sealer> {
    store.key().cloned().map(sealer_of)
}

fn sealer_of(key: baoxue_store::StoreKey) -> baoxue_web::audit::Sealer {
    let k2 = key.clone();
    baoxue_web::audit::Sealer::new(move |p| key.seal(AUDIT_AAD, p), move |s| k2.open(AUDIT_AAD, s).ok())
}

/// The audit log of the data directory `dir` in clear (JSON lines), read with the data key
/// found as the store finds it, without opening the store (for inspection and tests).
pub fn read_audit_log(dir: &Path) -> std::io::Result<String> {
    let key = baoxue_store::StoreKey::resolve(dir, None).map_err(std::io::Error::other)?;
    let bytes = std::fs::read(audit_path(dir))?;
    Ok(String::from_utf8_lossy(&sealer_of(key).open_log(&bytes)).into_owned())
}

/// The audit log of the app over `store` in `dir`: sealed, 0600 in a 0700 directory.
pub fn audit_log(store: &Store, dir: &Path) -> baoxue_web::audit::Audit {
    match audit_sealer(store) {
        Some(s) => baoxue_web::audit::Audit::sealed(audit_path(dir), s),
        None => baoxue_web::audit::Audit::new(Some(audit_path(dir))),
    }
}
use crate::ledger::Ledger;
use access::{Access, Perm};

/// The serving process's state: it owns the store.
pub struct App {
    pub store: Store,
    pub dir: PathBuf,
    pub auth: Arc<Auth>,
    /// One write at a time in this process: a command validates against the ledger and commits
    /// with nobody else writing in between. Shared with the control socket, whose commands
    /// (the CLI's, while the app holds the store) take it too.
    pub writer: Arc<Mutex<()>>,
    /// The last manual sync's result (shown on the sync page).
    pub last_sync: Mutex<Option<String>>,
    /// The LAN CA certificate offered for download (PEM), when serving over HTTPS.
    pub lan_ca_pem: Option<String>,
    /// The address the app is served at (shown with the certificate instructions).
    pub url: Mutex<String>,
    /// Classes and cases of the township, kept current from the log.
    pub index: Mutex<index::LedgerIndex>,
}

impl App {
    /// The ledger as of now (configuration re-read: a sync may have brought a new one).
    pub fn ledger(&self) -> Result<Ledger, WebError> {
        let config = self
            .store
            .get_meta(META_CONFIG)
            .map_err(|e| WebError::Internal(e.to_string()))?
            .ok_or_else(|| WebError::Internal("节点尚未初始化".into()))?;
        Ok(Ledger { store: self.store.clone(), config, dir: self.dir.clone() })
    }

    /// The ledger and the index, refreshed from the log, for one page.
    pub fn with_index<T>(
        &self,
        f: impl FnOnce(&Ledger, &index::LedgerIndex) -> Result<T, WebError>,
    ) -> Result<T, WebError> {
        let l = self.ledger()?;
        let mut idx = self.index.lock().map_err(|_| WebError::Internal("索引锁失效".into()))?;
        idx.refresh(&l)?;
        f(&l, &idx)
    }

    pub fn today(&self) -> Date {
        Date::today()
    }

    /// Runs a write with no other write of this process in between.
    pub fn write<T>(&self, f: impl FnOnce(&Ledger) -> crate::Result<T>) -> Result<T, WebError> {
        let _guard = self.writer.lock().map_err(|_| WebError::Internal("写入锁失效".into()))?;
        let l = self.ledger()?;
        f(&l).map_err(node_error)
    }
}

/// A command's refusal as the page shows it (one Chinese line).
pub fn node_error(e: crate::NodeError) -> WebError {
    use crate::NodeError as E;
    match e {
        E::Invalid(m) | E::Refused(m) => WebError::BadRequest(m),
        E::NotFound(m) => WebError::NotFound(m),
        E::Rows { summary, .. } => WebError::BadRequest(summary),
        other => WebError::Internal(other.to_string()),
    }
}

/// A record by its full hex id (the app's URLs carry full ids).
pub fn record(l: &Ledger, hex: &str, kind: RecordKind) -> Result<Record, WebError> {
    let id = baoxue_shared::RecordId::parse_hex(hex).ok_or_else(|| WebError::NotFound("链接无效".into()))?;
    let r = l.store.record(id).map_err(|e| WebError::Internal(e.to_string()))?;
    match r {
        Some(r) if r.kind == kind && r.is_complete() => Ok(r),
        _ => Err(WebError::NotFound("未找到该记录".into())),
    }
}

/// The navigation a role sees.
pub fn chrome(store: &Store, user: Option<&CurrentUser>) -> Chrome {
    let cfg: Option<crate::config::NodeConfig> = store.get_meta(META_CONFIG).ok().flatten();
    let app_name = match &cfg {
        Some(c) => format!("保学 · {}", c.township),
        None => "保学".into(),
    };
    let mut nav = Vec::new();
    if let Some(u) = user {
        nav.push(NavItem::new("/", "今日"));
        nav.push(NavItem::new("/roll", "点名"));
        nav.push(NavItem::new("/cases", "案件"));
        nav.push(NavItem::new("/students", "学生"));
        if let Ok(a) = Access::of(u) {
            if a.may(Perm::Promote) {
                nav.push(NavItem::new("/promote", "升级"));
            }
            if a.may(Perm::Users) {
                nav.push(NavItem::new("/admin", "管理"));
            }
        }
    }
    let mut footer = Vec::new();
    if let Some(c) = &cfg {
        let status = crate::sync::sync_status(store).ok();
        let last = status.as_ref().and_then(|s| s.last_sync.clone()).unwrap_or_else(|| "从未".into());
        footer.push(format!("{} {}（节点 {}）", c.county_name, c.township, c.origin));
        if c.hub.is_some() {
            footer.push(format!("上次同步：{last}"));
            footer.push(format!("下次同步：{}", crate::sync::next_sync_text(c).unwrap_or_else(|| "—".into())));
        } else {
            footer.push("离线节点（尚未加入县级平台）".into());
        }
        if let Some(s) = status.filter(|s| s.unacknowledged > 0) {
            footer.push(format!("未上报修订 {} 条", s.unacknowledged));
        }
    }
    Chrome { app_name, nav, footer }
}

/// A flash message from the `?ok=` / `?err=` of a redirect after a save.
pub fn flash_of(q: &std::collections::HashMap<String, String>) -> Option<Flash> {
    if let Some(m) = q.get("ok") {
        return Some(Flash::Ok(m.clone()));
    }
    q.get("err").map(|m| Flash::Error(m.clone()))
}

/// `path?ok=message` (url-encoded).
pub fn with_ok(path: &str, msg: &str) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("ok", msg).finish();
    format!("{path}{}{q}", if path.contains('?') { "&" } else { "?" })
}

/// The user's access, from the request.
pub fn access_of(user: &CurrentUser) -> Result<Access, WebError> {
    Access::of(user)
}

/// The routes of the app (all behind login; see `baoxue_web::auth::app`).
pub fn router(app: Arc<App>) -> Router {
    let protected = Router::new()
        .route("/", get(home::page))
        .route("/roll", get(roll::classes))
        .route("/roll/class", get(roll::form).post(roll::save))
        .route("/cases", get(cases::list))
        .route("/cases/export.xlsx", get(export::cases))
        .route("/cases/{id}", get(cases::page))
        .route("/cases/{id}/act", post(cases::act))
        .route("/cases/{id}/edit", post(cases::edit))
        .route("/cases/{id}/confirm", post(cases::confirm))
        .route("/cases/{id}/close", post(cases::close))
        .route("/cases/{id}/reopen", post(cases::reopen))
        .route("/cases/{id}/print/{doc}", get(print::document))
        .route("/students", get(students::search))
        .route(
            "/students/import",
            get(import::page).post(import::upload).layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/students/export.xlsx", get(export::roster))
        .route("/students/{id}", get(students::page))
        .route("/students/{id}/full-id", post(students::full_id))
        .route("/students/{id}/withdraw", post(students::withdraw))
        .route("/students/{id}/hukou-county", post(students::hukou_county))
        .route("/promote", get(promote::page).post(promote::confirm))
        .route("/admin", get(admin::page))
        .route("/admin/sync", post(admin::sync))
        .route("/admin/users", post(admin::add_user))
        .route("/alerts", get(home::alerts))
        .with_state(app.clone());
    let public = Router::new()
        .route("/lan", get(admin::lan_page))
        .route("/lan/ca.crt", get(admin::lan_ca))
        .with_state(app.clone());
    baoxue_web::auth::app(app.auth.clone(), protected).merge(public)
}

/// The path of the request (for the active navigation item).
pub fn path_of(req: &Request) -> String {
    req.uri().path().to_string()
}
