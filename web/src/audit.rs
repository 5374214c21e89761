//! The audit log: logins (successful or not), logouts, password changes and sensitive views
//! (a full ID number shown, an export). One JSON object per line in a file of the app's data
//! directory, so it survives restarts and is covered by the same backups; the latest entries are
//! also kept in memory for an audit page.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `YYYY-MM-DD HH:MM:SS` (UTC+8).
    pub at: String,
    /// `login_ok`, `login_failed`, `login_limited`, `logout`, `password`, `full_id`, `export` …
    pub kind: String,
    pub login: String,
    pub address: String,
    pub detail: String,
}

pub struct Audit {
    path: Option<PathBuf>,
    recent: Mutex<VecDeque<Event>>,
}

const KEEP: usize = 500;

impl Audit {
    /// An audit log appending to `path` (created with its directory if missing); None keeps it
    /// in memory only (tests).
    pub fn new(path: Option<PathBuf>) -> Audit {
        let mut recent = VecDeque::new();
        if let Some(p) = &path {
            if let Ok(text) = std::fs::read_to_string(p) {
                for line in text.lines().rev().take(KEEP) {
                    if let Ok(e) = serde_json::from_str::<Event>(line) {
                        recent.push_front(e);
                    }
                }
            }
        }
        Audit { path, recent: Mutex::new(recent) }
    }

    pub fn record(&self, kind: &str, login: &str, address: &str, detail: &str) {
        let at = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string();
        let e = Event { at, kind: kind.into(), login: login.into(), address: address.into(), detail: detail.into() };
        tracing::info!(kind = %e.kind, login = %e.login, address = %e.address, "{}", e.detail);
        if let Some(p) = &self.path {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let line = serde_json::to_string(&e).unwrap_or_default();
            match std::fs::OpenOptions::new().create(true).append(true).open(p) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{line}");
                }
                Err(err) => tracing::error!("审计日志 {} 无法写入：{err}", p.display()),
            }
        }
        if let Ok(mut r) = self.recent.lock() {
            r.push_back(e);
            while r.len() > KEEP {
                r.pop_front();
            }
        }
    }

    /// The latest events, newest first.
    pub fn recent(&self, n: usize) -> Vec<Event> {
        self.recent.lock().map(|r| r.iter().rev().take(n).cloned().collect()).unwrap_or_default()
    }
}
