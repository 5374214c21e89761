//! The audit log: logins (successful or not), logouts, password changes and sensitive views
//! (a full ID number shown, an export). One JSON object per line in a file of the app's data
//! directory, so it survives restarts and is carried by `backup`; the latest entries are also
//! kept in memory for an audit page. Its lines name people and pupils, so with a [`Sealer`]
//! (the data directory's key) each line is sealed (`~` and hex) and the file is 0600 in a 0700
//! directory whatever the umask; lines an earlier version wrote in clear are sealed on open.

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

type SealFn = Box<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;
type OpenFn = Box<dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// Seals and opens one line of the log (the app's data key; this crate knows no keys).
pub struct Sealer {
    seal: SealFn,
    open: OpenFn,
}

impl Sealer {
    pub fn new(
        seal: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
        open: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> Sealer {
        Sealer { seal: Box::new(seal), open: Box::new(open) }
    }

    fn seal_line(&self, line: &str) -> String {
        let mut out = String::from(SEALED_PREFIX);
        for b in (self.seal)(line.as_bytes()) {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// The clear text of a line (a line in clear is returned as it is; a line that does not
    /// open, None).
    fn open_line(&self, line: &str) -> Option<String> {
        match line.strip_prefix(SEALED_PREFIX) {
            None => Some(line.to_string()),
            Some(hex) => {
                let bytes: Option<Vec<u8>> = (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect();
                String::from_utf8((self.open)(&bytes?)?).ok()
            }
        }
    }

    /// A whole log in clear (for a backup, which is encrypted to the county's key instead).
    pub fn open_log(&self, sealed: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for line in String::from_utf8_lossy(sealed).lines().filter(|l| !l.trim().is_empty()) {
            if let Some(l) = self.open_line(line) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out.into_bytes()
    }

    /// A log in clear, sealed line by line (a restore under the new machine's key).
    pub fn seal_log(&self, clear: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for line in String::from_utf8_lossy(clear).lines().filter(|l| !l.trim().is_empty()) {
            let plain = self.open_line(line).unwrap_or_default();
            if !plain.is_empty() {
                out.push_str(&self.seal_line(&plain));
                out.push('\n');
            }
        }
        out.into_bytes()
    }
}

const SEALED_PREFIX: &str = "~";

pub struct Audit {
    path: Option<PathBuf>,
    sealer: Option<Sealer>,
    recent: Mutex<VecDeque<Event>>,
}

const KEEP: usize = 500;

impl Audit {
    /// An audit log appending to `path` (created with its directory if missing); None keeps it
    /// in memory only (tests).
    pub fn new(path: Option<PathBuf>) -> Audit {
        Audit::open(path, None)
    }

    /// An audit log at `path` whose lines are sealed by `sealer`; lines found in clear are
    /// sealed now.
    pub fn sealed(path: PathBuf, sealer: Sealer) -> Audit {
        Audit::open(Some(path), Some(sealer))
    }

    fn open(path: Option<PathBuf>, sealer: Option<Sealer>) -> Audit {
        let mut recent = VecDeque::new();
        if let Some(p) = &path {
            if let Ok(text) = std::fs::read_to_string(p) {
                let lines: Vec<String> = text
                    .lines()
                    .filter_map(|l| match &sealer {
                        Some(s) => s.open_line(l),
                        None => Some(l.to_string()),
                    })
                    .collect();
                for line in lines.iter().rev().take(KEEP) {
                    if let Ok(e) = serde_json::from_str::<Event>(line) {
                        recent.push_front(e);
                    }
                }
                if let Some(s) = &sealer {
                    if text.lines().any(|l| !l.starts_with(SEALED_PREFIX) && !l.trim().is_empty()) {
                        let sealed = s.seal_log(text.as_bytes());
                        if let Err(err) = write_private(p, &sealed) {
                            tracing::error!("审计日志 {} 无法加密：{err}", p.display());
                        }
                    }
                }
            }
            if let Err(err) = restrict(p) {
                tracing::error!("审计日志 {} 无法设置权限：{err}", p.display());
            }
        }
        Audit { path, sealer, recent: Mutex::new(recent) }
    }

    pub fn record(&self, kind: &str, login: &str, address: &str, detail: &str) {
        let at = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string();
        let e = Event { at, kind: kind.into(), login: login.into(), address: address.into(), detail: detail.into() };
        tracing::info!(kind = %e.kind, login = %e.login, address = %e.address, "{}", e.detail);
        if let Some(p) = &self.path {
            if let Err(err) = private_dir(p) {
                tracing::error!("审计日志目录无法建立：{err}");
            }
            let mut line = serde_json::to_string(&e).unwrap_or_default();
            if let Some(s) = &self.sealer {
                line = s.seal_line(&line);
            }
            let mut o = std::fs::OpenOptions::new();
            o.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            match o.open(p) {
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

/// Creates the log's directory 0700 (whatever the umask).
fn private_dir(p: &std::path::Path) -> std::io::Result<()> {
    let Some(dir) = p.parent() else { return Ok(()) };
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Makes the log 0600 in a 0700 directory (whatever umask an earlier version wrote it under).
fn restrict(p: &std::path::Path) -> std::io::Result<()> {
    private_dir(p)?;
    #[cfg(unix)]
    if p.is_file() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Replaces `p` with `bytes` (a temporary file renamed over it, 0600).
fn write_private(p: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = p.with_extension("jsonl.tmp");
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy sealer (XOR, with a check byte): what matters here is that nothing is written in clear.
    fn sealer() -> Sealer {
        Sealer::new(
            |p| std::iter::once(0xA5).chain(p.iter().map(|b| b ^ 0x5A)).collect(),
            |s| (s.first() == Some(&0xA5)).then(|| s[1..].iter().map(|b| b ^ 0x5A).collect()),
        )
    }

    #[test]
    fn sealed_log_is_private_and_holds_no_name_in_clear() {
        let tmp = std::env::temp_dir().join(format!("baoxue-audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let path = tmp.join("web").join("audit.jsonl");
        // A line an earlier version wrote in clear, under a lax umask.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"at\":\"2026-12-05 08:00:00\",\"kind\":\"login_ok\",\"login\":\"wang\",\"address\":\"10.0.0.2\",\"detail\":\"王老师\"}\n").unwrap();
        let a = Audit::sealed(path.clone(), sealer());
        a.record("full_id", "wang", "10.0.0.2", "查看 张小明 的完整身份证号");
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("张小明") && !text.contains("王老师") && !text.contains("wang"), "{text}");
        assert!(text.lines().all(|l| l.starts_with('~')), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        // Reopened: both events read back; the clear form (for a backup) and back.
        let again = Audit::sealed(path.clone(), sealer());
        let kinds: Vec<String> = again.recent(10).into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["full_id", "login_ok"]);
        let clear = sealer().open_log(&bytes);
        assert!(String::from_utf8_lossy(&clear).contains("张小明"));
        assert_eq!(sealer().open_log(&sealer().seal_log(&clear)), clear);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
