//! `baoxue-hub backup`, `restore`, `backup-key`, and the backup after each nightly: an archive
//! of the store and the county's files, encrypted to the county's backup public key (age), so
//! that the bureau restores the hub with its offline backup identity even when the machine and
//! its data key are gone (see `baoxue_store::backup`). An archive carries the county's files,
//! the dashboard's accounts and audit log, and every dated nightly archive (`reports/`).

use std::path::{Path, PathBuf};

use baoxue_store::backup::{new_backup_identity, parse_recipient, read_backup, write_backup, BackupHeader};
use baoxue_store::crypt::{create_private_dir, default_key_file, write_private};
use baoxue_store::{DumpCount, Store, StoreOptions};

use crate::data::{
    HubDir, HubError, Result, CA_FILE, CONFIG_FILE, HUB_CERT_FILE, NODES_FILE, ORG_FILE, POLICY_FILE, STATUS_FILE,
    STORE_DIR,
};
use crate::web::{audit_sealer, AUDIT_FILE};

/// Files an archive carries besides the store (the PEM files in clear inside the encryption).
const FILES: [&str; 7] = [CONFIG_FILE, ORG_FILE, POLICY_FILE, NODES_FILE, STATUS_FILE, CA_FILE, HUB_CERT_FILE];
/// Files sealed with the data key in the data directory.
const SEALED: [&str; 2] = [CA_FILE, HUB_CERT_FILE];
/// The dashboard's accounts and the reports marked as sent upward (restored as they are).
const WEB_PLAIN: [&str; 2] = ["web/accounts.json", "web/sent.jsonl"];
/// The dated nightly archives, `reports/YYYY-MM-DD/*` (sealed with the data key).
const REPORTS: &str = "reports";

/// Where a new backup identity is written: beside the data directory, for the operator to
/// move offline.
pub fn identity_path(root: &Path) -> PathBuf {
    let mut s = root.as_os_str().to_owned();
    s.push(".backup-identity.txt");
    s.into()
}

impl HubDir {
    /// The county's backup public key, creating the key pair if the county has none (a hub
    /// set up by an earlier version): the identity goes beside the data directory (0600) and
    /// its path is returned with the key, for the operator to move it offline.
    pub fn backup_recipient(&self) -> Result<(String, Option<PathBuf>)> {
        let mut cfg = self.config()?;
        if let Some(r) = cfg.backup_recipient.clone() {
            return Ok((r, None));
        }
        let (identity, public) = new_backup_identity();
        let path = identity_path(&self.root);
        if path.exists() {
            return Err(HubError::Invalid(format!(
                "{} 已存在但县级配置中没有备份公钥：请核对后删除或移走该文件再试",
                path.display()
            )));
        }
        write_private(&path, identity.as_bytes()).map_err(|source| HubError::Io { path: path.clone(), source })?;
        cfg.backup_recipient = Some(public.clone());
        self.write_config(&cfg)?;
        Ok((public, Some(path)))
    }

    /// Writes a backup of the hub's `store` to `out` (while `serve` holds the store the
    /// command runs there, over the store it holds, with the writer held for the dump).
    pub fn backup(&self, store: &Store, out: &Path) -> Result<(DumpCount, String)> {
        let (recipient, _) = self.backup_recipient()?;
        let key = self.key()?;
        let mut files = Vec::new();
        for f in FILES {
            let p = self.path(f);
            if p.is_file() {
                let bytes = key.read_file(&p).map_err(|source| HubError::Io { path: p.clone(), source })?;
                files.push((f.to_string(), bytes));
            }
        }
        for f in WEB_PLAIN {
            let p = self.path(f);
            if p.is_file() {
                let bytes = std::fs::read(&p).map_err(|source| HubError::Io { path: p.clone(), source })?;
                files.push((f.to_string(), bytes));
            }
        }
        // The audit log and the archives in clear inside the archive (encrypted to the county's
        // key); a restore seals them again under the new machine's key.
        let audit = self.path(AUDIT_FILE);
        if audit.is_file() {
            let bytes = std::fs::read(&audit).map_err(|source| HubError::Io { path: audit.clone(), source })?;
            files.push((AUDIT_FILE.to_string(), audit_sealer(key.clone()).open_log(&bytes)));
        }
        for (name, path) in self.archive_files()? {
            let bytes = key.read_file(&path).map_err(|source| HubError::Io { path: path.clone(), source })?;
            files.push((name, bytes));
        }
        let header = BackupHeader { kind: "hub".into(), created: crate::data::now_text(), epoch: store.epoch()? };
        let count = write_backup(store, &header, &files, &recipient, out)?;
        Ok((count, recipient))
    }

    /// Every file of the dated nightly archives: (name inside a backup, path).
    fn archive_files(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        let root = self.path(REPORTS);
        let list = |p: &Path| -> Result<Vec<(String, PathBuf)>> {
            let mut v = Vec::new();
            for e in std::fs::read_dir(p).map_err(|source| HubError::Io { path: p.to_path_buf(), source })? {
                let e = e.map_err(|source| HubError::Io { path: p.to_path_buf(), source })?;
                v.push((e.file_name().to_string_lossy().into_owned(), e.path()));
            }
            v.sort();
            Ok(v)
        };
        if !root.is_dir() {
            return Ok(out);
        }
        for (day, dir) in list(&root)? {
            if !dir.is_dir() {
                continue;
            }
            for (file, path) in list(&dir)? {
                if path.is_file() && !file.ends_with(".tmp") {
                    out.push((format!("{REPORTS}/{day}/{file}"), path));
                }
            }
        }
        Ok(out)
    }

    /// The backup after a nightly run, into the configured directory (none configured: none).
    pub fn backup_after_nightly(&self, store: &Store, as_of: &str) -> Result<Option<PathBuf>> {
        let Some(dir) = self.config()?.backup_dir else { return Ok(None) };
        let dir = PathBuf::from(dir);
        create_private_dir(&dir).map_err(|source| HubError::Io { path: dir.clone(), source })?;
        let out = dir.join(format!("baoxue-hub-{as_of}.age"));
        self.backup(store, &out)?;
        Ok(Some(out))
    }

    /// `restore FILE --identity ID`: the hub rebuilt from an archive into this (new or empty)
    /// directory, under a new data key, its store in a new epoch (nodes resync with it).
    pub fn restore(&self, file: &Path, identity: &Path) -> Result<(DumpCount, BackupHeader)> {
        if self.root.exists() && std::fs::read_dir(&self.root).map(|mut d| d.next().is_some()).unwrap_or(true) {
            return Err(HubError::Invalid(format!("{} 不是空目录：只能恢复到新的或空的目录", self.root.display())));
        }
        let id = std::fs::read_to_string(identity)
            .map_err(|source| HubError::Io { path: identity.to_path_buf(), source })?;
        create_private_dir(&self.root).map_err(|source| HubError::Io { path: self.root.clone(), source })?;
        let restored = read_backup(
            file,
            &id,
            &self.path(STORE_DIR),
            StoreOptions::default(),
            Some(&default_key_file(&self.root)),
        )?;
        if restored.header.kind != "hub" {
            return Err(HubError::Invalid(format!("{} 是节点的备份，不是县级平台的", file.display())));
        }
        let key = restored.store.key().cloned().ok_or_else(|| HubError::Invalid("存储未加密".into()))?;
        let mut config = None;
        for (name, bytes) in &restored.files {
            let p = self.path(name);
            let io = |source| HubError::Io { path: p.clone(), source };
            if let Some(parent) = p.parent().filter(|d| *d != self.root) {
                create_private_dir(parent).map_err(|source| HubError::Io { path: parent.to_path_buf(), source })?;
            }
            if name == CONFIG_FILE {
                config = Some(bytes.clone());
            } else if SEALED.contains(&name.as_str()) || name.starts_with(&format!("{REPORTS}/")) {
                key.write_file(&p, bytes).map_err(io)?;
            } else if name == AUDIT_FILE {
                write_private(&p, &audit_sealer(key.clone()).seal_log(bytes)).map_err(io)?;
            } else {
                write_private(&p, bytes).map_err(io)?;
            }
        }
        // Last: its presence means "initialised".
        let config = config.ok_or_else(|| HubError::Invalid(format!("{} 中没有 {CONFIG_FILE}", file.display())))?;
        let p = self.path(CONFIG_FILE);
        write_private(&p, &config).map_err(|source| HubError::Io { path: p.clone(), source })?;
        Ok((restored.count, restored.header))
    }
}

/// Checks a recipient given on the command line.
pub fn check_recipient(r: &str) -> Result<()> {
    parse_recipient(r)?;
    Ok(())
}
