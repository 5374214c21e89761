//! The hub's data directory: the county's configuration, its PKI, its nodes, and the store.
//!
//! ```text
//! DATA/
//!   hub.toml          county code and name, the address nodes reach the hub at, the policy's
//!                     name, the configuration version (raised by every `org import`)
//!   ca.pem            the county CA: certificate and PRIVATE KEY, sealed with the store's key
//!                     (mode 0600; `backup` carries it)
//!   hub.pem           the hub's server certificate and key, sealed likewise
//!   org.csv           townships and schools (as last imported)
//!   policy.toml       the county policy, self-contained TOML
//!   nodes.toml        every node issued: name, township, issue date, certificate expiry,
//!                     revoked or not
//!   node-status.json  each node's syncs as seen by `serve`: the last one, and the days of
//!                     all successful ones (runs of days), for the reporting deadlines
//!   store/            the sled store (revisions, derived records, sync cursors), sealed
//!   nightly/, reports/ the nightly snapshot and dated archives, sealed
//! ```
//!
//! The key of the store seals the PEM files and the nightly's files too (see
//! `baoxue_store::crypt`); without a systemd credential or a passphrase it lies in a plain key
//! file beside the data directory, `<DATA>.key` (see [`HubDir::key`]). The directory is 0700
//! and its files 0600.
//!
//! Everything but `store/` is a small text file written atomically, so `node add`,
//! `node revoke`, `org import` and `node list` work while `serve` holds the store: the server
//! reads them again at every connection (revocations) or session (configuration).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use baoxue_net::{
    issue_hub_cert, issue_node_cert, write_file_atomic, CountyCa, Credentials, NetError, HUB_SERVER_NAME,
};
use baoxue_shared::alerts::SyncDays;
use baoxue_shared::org::{Org, OrgError};
use baoxue_shared::policy::{Policy, PolicyError, DEFAULT_PRESET};
use baoxue_shared::revision::now_ms;
use baoxue_shared::sync::{clock_text, Bundle, BundleError, CountyConfig, BUNDLE_FORMAT};
use baoxue_shared::Date;
use baoxue_store::crypt::{create_private_dir, default_key_file};
use baoxue_store::{KeyOrigin, Store, StoreError, StoreKey, StoreOptions};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub const STORE_DIR: &str = "store";
pub const CONFIG_FILE: &str = "hub.toml";
pub const CA_FILE: &str = "ca.pem";
pub const HUB_CERT_FILE: &str = "hub.pem";
pub const ORG_FILE: &str = "org.csv";
pub const POLICY_FILE: &str = "policy.toml";
pub const NODES_FILE: &str = "nodes.toml";
pub const STATUS_FILE: &str = "node-status.json";
/// Store meta key prefix of a revoked node (`revoked/<name>` = the revocation date).
pub const META_REVOKED: &str = "revoked/";
/// The port of docs/CLI.md's examples and the service unit.
pub const DEFAULT_PORT: u16 = 7443;
pub const DEFAULT_ADDR: &str = "127.0.0.1:7443";

#[derive(Debug, Error)]
pub enum HubError {
    #[error("读写 {path} 失败：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} 内容无效：{reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("数据目录 {0} 尚未初始化（请先执行 baoxue-hub init）")]
    NotInitialised(PathBuf),
    #[error("数据目录 {0} 已经初始化过，不能再次 init")]
    AlreadyInitialised(PathBuf),
    #[error("数据目录 {0} 正被另一个 baoxue-hub 进程（通常是 serve）使用；请先停止它再执行此命令")]
    Locked(PathBuf),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("组织机构文件 {path}：{source}")]
    Org { path: PathBuf, source: OrgError },
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = HubError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl Fn(std::io::Error) -> HubError + '_ {
    move |source| HubError::Io { path: path.to_path_buf(), source }
}

/// `hub.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubConfig {
    pub county_code: String,
    pub county_name: String,
    /// The name in the hub's certificate.
    pub hub_name: String,
    /// `host:port` nodes use to reach the hub (goes into every bundle).
    pub addr: String,
    /// The policy's preset name or the county's own name for it.
    pub policy: String,
    /// Raised by every change nodes must receive (org, policy).
    pub config_version: u64,
    pub created: String,
    /// The county's backup public key (age `age1…`): every backup, the hub's and the nodes',
    /// is encrypted to it; its identity is kept offline by the bureau.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_recipient: Option<String>,
    /// A second place (another disk) where the hub writes a backup after each nightly run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_dir: Option<String>,
}

/// One issued node (`nodes.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    pub name: String,
    pub township: String,
    pub issued: String,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_on: Option<String>,
    /// The last day its certificate is valid (`YYYY-MM-DD`, its notAfter), for the warning
    /// 30 days before; absent for nodes issued by an earlier version (issue day + validity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_expires: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct NodesFile {
    #[serde(default)]
    node: Vec<NodeEntry>,
}

/// What `serve` knows of a node's syncs (`node-status.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Last successful sync (wall clock ms, and as text UTC+8).
    pub last_sync_ms: Option<u64>,
    pub last_sync: Option<String>,
    pub last_attempt: Option<String>,
    /// The last failed session's reason, cleared by a success.
    pub last_error: Option<String>,
    /// Revisions received from this node, in total.
    pub received: u64,
    pub rejected: u64,
    pub sessions: u64,
    /// The days (UTC+8) of every successful sync, as runs of consecutive days: a report
    /// deadline is judged on these for any past day (a file written before they were kept has
    /// only `last_sync_ms`).
    #[serde(default)]
    pub sync_days: SyncDays,
    /// How far into the hub's log the node has confirmed holding what concerns it (its own
    /// cursor and pull acknowledgements, as of its last session).
    #[serde(default)]
    pub pulled: Option<baoxue_shared::sync::Pulled>,
}

impl NodeStatus {
    /// Notes a successful sync at wall-clock `now_ms`.
    pub fn mark_synced(&mut self, now_ms: u64) {
        self.last_sync_ms = Some(now_ms);
        self.last_sync = Some(clock_text(now_ms));
        self.last_error = None;
        if let Some(d) = day_of(now_ms) {
            self.sync_days.insert(d);
        }
    }

    /// The days the node synced, including the last sync of a file from before they were kept.
    pub fn sync_days(&self) -> SyncDays {
        let mut days = self.sync_days.clone();
        if let Some(d) = self.last_sync_ms.and_then(day_of) {
            days.insert(d);
        }
        days
    }
}

/// A hub data directory.
#[derive(Clone)]
pub struct HubDir {
    pub root: PathBuf,
    /// The data key of the store already open, when a command runs inside `serve`
    /// ([`HubDir::with_key`]): used rather than resolved again.
    lent_key: Option<StoreKey>,
}

impl std::fmt::Debug for HubDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubDir").field("root", &self.root).finish_non_exhaustive()
    }
}

/// What `init` produced.
#[derive(Debug, Clone)]
pub struct Initialised {
    pub config: HubConfig,
    pub ca_path: PathBuf,
    /// Where the data key came from (a plain file is printed with a warning).
    pub key_origin: KeyOrigin,
    /// The county's backup identity, written beside the directory for the operator to move
    /// offline.
    pub backup_identity: Option<PathBuf>,
}

impl HubDir {
    pub fn new(root: &Path) -> HubDir {
        HubDir { root: root.to_path_buf(), lent_key: None }
    }

    /// This directory with the data key of its store, already open (inside `serve`).
    pub fn with_key(mut self, key: Option<StoreKey>) -> HubDir {
        self.lent_key = key;
        self
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.root.join(file)
    }

    pub fn is_initialised(&self) -> bool {
        self.path(CONFIG_FILE).is_file()
    }

    /// `baoxue-hub init`: the county CA, the hub's certificate, the policy, an empty org.
    /// `policy` is a preset name or a policy file (default: the default preset); `addr` is the
    /// `host:port` nodes will use (default [`DEFAULT_ADDR`]).
    pub fn init(
        &self,
        county_code: &str,
        county_name: &str,
        policy: Option<&str>,
        addr: Option<&str>,
    ) -> Result<Initialised> {
        if self.is_initialised() {
            return Err(HubError::AlreadyInitialised(self.root.clone()));
        }
        let code = county_code.trim();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(HubError::Invalid(format!("县代码“{county_code}”无效（应为行政区划代码，如 410329）")));
        }
        let policy_src = policy.unwrap_or(DEFAULT_PRESET);
        let pol = Policy::load(policy_src)?;
        let addr = addr.unwrap_or(DEFAULT_ADDR).trim().to_string();
        let host =
            addr_host(&addr).ok_or_else(|| HubError::Invalid(format!("平台地址“{addr}”无效（应为 主机:端口）")))?;
        create_private_dir(&self.root).map_err(io(&self.root))?;
        // The store first: its key seals the files below.
        let key = self.open_store_unchecked()?.key().cloned().ok_or_else(|| HubError::Invalid("存储未加密".into()))?;
        let ca = CountyCa::generate(code, county_name.trim())?;
        let hub_name = format!("{}县级平台", county_name.trim());
        let mut sans = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        if !sans.contains(&host) {
            sans.push(host);
        }
        let hub_cred = issue_hub_cert(&ca, &hub_name, &sans)?;
        let ca_path = self.path(CA_FILE);
        key.write_file(&ca_path, ca.to_pem_string().as_bytes()).map_err(io(&ca_path))?;
        let hub_path = self.path(HUB_CERT_FILE);
        key.write_file(&hub_path, hub_cred.to_pem_string().as_bytes()).map_err(io(&hub_path))?;
        write_file_atomic(&self.path(POLICY_FILE), pol.to_toml()?.as_bytes(), false)?;
        write_file_atomic(&self.path(ORG_FILE), Org::default().to_csv().as_bytes(), false)?;
        self.write_nodes(&[])?;
        let config = HubConfig {
            county_code: code.to_string(),
            county_name: county_name.trim().to_string(),
            hub_name,
            addr,
            policy: pol.name.clone(),
            config_version: 1,
            created: Date::today().to_string(),
            backup_recipient: None,
            backup_dir: None,
        };
        // Last: its presence means "initialised".
        self.write_config(&config)?;
        // The county's backup key pair (the identity beside the directory, to move offline).
        let (_, backup_identity) = self.backup_recipient()?;
        let config = self.config()?;
        Ok(Initialised { config, ca_path: self.path(CA_FILE), key_origin: key.origin().clone(), backup_identity })
    }

    fn require(&self) -> Result<()> {
        if self.is_initialised() {
            Ok(())
        } else {
            Err(HubError::NotInitialised(self.root.clone()))
        }
    }

    pub fn config(&self) -> Result<HubConfig> {
        self.require()?;
        let p = self.path(CONFIG_FILE);
        let text = std::fs::read_to_string(&p).map_err(io(&p))?;
        toml::from_str(&text).map_err(|e| HubError::BadFile { path: p, reason: e.to_string() })
    }

    pub fn write_config(&self, c: &HubConfig) -> Result<()> {
        let text = toml::to_string(c).map_err(|e| HubError::Invalid(e.to_string()))?;
        let text = format!("# baoxue 县级平台配置（由 baoxue-hub 维护）\n{text}");
        write_file_atomic(&self.path(CONFIG_FILE), text.as_bytes(), false)?;
        Ok(())
    }

    pub fn ca(&self) -> Result<CountyCa> {
        self.require()?;
        Ok(CountyCa::from_pem_string(&self.read_sealed_text(CA_FILE)?)?)
    }

    pub fn hub_credentials(&self) -> Result<Credentials> {
        self.require()?;
        Ok(Credentials::from_pem_string(&self.read_sealed_text(HUB_CERT_FILE)?)?)
    }

    /// The data key: the serving store's when this runs inside `serve`, else found as
    /// [`StoreKey::resolve`] says (a new hub's plain key file is `<DATA>.key`, outside it).
    pub fn key(&self) -> Result<StoreKey> {
        if let Some(k) = &self.lent_key {
            return Ok(k.clone());
        }
        Ok(StoreKey::resolve(&self.path(STORE_DIR), Some(&default_key_file(&self.root))).map_err(StoreError::from)?)
    }

    /// A file of the data directory sealed with the data key (files in clear, written by an
    /// earlier version, are read as they are).
    pub fn read_sealed_text(&self, file: &str) -> Result<String> {
        let p = self.path(file);
        let bytes = self.key()?.read_file(&p).map_err(io(&p))?;
        String::from_utf8(bytes).map_err(|_| HubError::BadFile { path: p, reason: "不是 UTF-8 文本".into() })
    }

    /// Seals the files an earlier version wrote in clear (the PEM files) and makes the
    /// directory private.
    fn seal_legacy_files(&self, key: &StoreKey) -> Result<()> {
        let mut sealed_now = false;
        for f in [CA_FILE, HUB_CERT_FILE] {
            let p = self.path(f);
            if p.is_file() && !StoreKey::is_sealed_file(&p) {
                key.seal_file(&p).map_err(io(&p))?;
                sealed_now = true;
            }
        }
        // Once, for a directory an earlier version wrote under the caller's umask.
        if sealed_now {
            let root = &self.root;
            baoxue_store::crypt::restrict_tree(root).map_err(io(root))?;
        }
        Ok(())
    }

    pub fn org(&self) -> Result<Org> {
        self.require()?;
        let p = self.path(ORG_FILE);
        let bytes = std::fs::read(&p).map_err(io(&p))?;
        if String::from_utf8_lossy(&bytes).lines().filter(|l| !l.trim().is_empty()).count() <= 1 {
            return Ok(Org::default());
        }
        Org::parse_csv(&bytes).map_err(|source| HubError::Org { path: p, source })
    }

    pub fn policy_toml(&self) -> Result<String> {
        self.require()?;
        let p = self.path(POLICY_FILE);
        std::fs::read_to_string(&p).map_err(io(&p))
    }

    pub fn policy(&self) -> Result<Policy> {
        Ok(Policy::from_toml_str(&self.policy_toml()?)?)
    }

    /// `baoxue-hub org import`: replaces the county's townships and schools; nodes receive them
    /// at their next sync. A township or school the file drops while it still has nodes,
    /// students or cases is refused unless `remove` names it ([`crate::org_guard`]). The file
    /// written is read back and compared before it replaces the old one, so the hub never
    /// writes a configuration it cannot read. Returns (townships, schools, new configuration
    /// version).
    /// `lent`: the store when `serve` holds it (else opened here, only when a township or
    /// school would go).
    pub fn import_org(
        &self,
        lent: Option<&Store>,
        bytes: &[u8],
        source: &Path,
        remove: &[String],
    ) -> Result<(usize, usize, u64)> {
        let mut cfg = self.config()?;
        let aliases = crate::columns::load(&self.root).map_err(|e| HubError::Invalid(format!("{e:#}")))?;
        let org =
            Org::parse_with(bytes, &aliases).map_err(|e| HubError::Org { path: source.to_path_buf(), source: e })?;
        let old = self.org()?;
        if old.townships.keys().any(|t| !org.townships.contains_key(t))
            || old.schools.keys().any(|s| !org.schools.contains_key(s))
            || !remove.is_empty()
        {
            let opened;
            let store = match lent {
                Some(s) => s,
                None => {
                    opened = self.open_store()?;
                    &opened
                }
            };
            crate::org_guard::check(&old, &org, &self.nodes()?, store, remove)?;
        }
        let text = org.to_csv();
        match Org::parse_csv(text.as_bytes()) {
            Ok(back) if back == org => {}
            _ => {
                return Err(HubError::Invalid(format!(
                    "组织机构文件 {} 写出后无法原样读回，未导入（请检查学校、乡镇名称中的特殊字符）",
                    source.display()
                )))
            }
        }
        write_file_atomic(&self.path(ORG_FILE), text.as_bytes(), false)?;
        cfg.config_version += 1;
        self.write_config(&cfg)?;
        Ok((org.townships.len(), org.schools.len(), cfg.config_version))
    }

    /// Replaces the county policy (a preset name or file); nodes receive it at their next sync.
    pub fn set_policy(&self, preset_or_path: &str) -> Result<u64> {
        let mut cfg = self.config()?;
        let pol = Policy::load(preset_or_path)?;
        write_file_atomic(&self.path(POLICY_FILE), pol.to_toml()?.as_bytes(), false)?;
        cfg.policy = pol.name;
        cfg.config_version += 1;
        self.write_config(&cfg)?;
        Ok(cfg.config_version)
    }

    /// Changes the county policy in place (a holiday notice, a closure); nodes receive it at
    /// their next sync. Returns the new configuration version.
    pub fn update_policy(
        &self,
        f: impl FnOnce(Policy) -> std::result::Result<Policy, baoxue_shared::policy::PolicyError>,
    ) -> Result<u64> {
        let mut cfg = self.config()?;
        let pol = f(self.policy()?)?;
        write_file_atomic(&self.path(POLICY_FILE), pol.to_toml()?.as_bytes(), false)?;
        cfg.config_version += 1;
        self.write_config(&cfg)?;
        Ok(cfg.config_version)
    }

    /// What nodes holding an older configuration version receive.
    pub fn county_config(&self) -> Result<CountyConfig> {
        let cfg = self.config()?;
        Ok(CountyConfig {
            version: cfg.config_version,
            county_code: cfg.county_code,
            county_name: cfg.county_name,
            org_csv: self.org()?.to_csv(),
            policy_toml: self.policy_toml()?,
        })
    }

    // ---- nodes ------------------------------------------------------------------------------

    /// The node registry. A missing `nodes.toml` is an error, not an empty registry: `init`
    /// writes it, so its absence means damage, and the server must then refuse every node
    /// rather than forget its revocations.
    pub fn nodes(&self) -> Result<Vec<NodeEntry>> {
        self.require()?;
        let p = self.path(NODES_FILE);
        let text = std::fs::read_to_string(&p).map_err(io(&p))?;
        let f: NodesFile = toml::from_str(&text).map_err(|e| HubError::BadFile { path: p, reason: e.to_string() })?;
        Ok(f.node)
    }

    fn write_nodes(&self, nodes: &[NodeEntry]) -> Result<()> {
        let text =
            toml::to_string(&NodesFile { node: nodes.to_vec() }).map_err(|e| HubError::Invalid(e.to_string()))?;
        let text = format!("# 已签发的节点（由 baoxue-hub node add / node revoke 维护）\n{text}");
        write_file_atomic(&self.path(NODES_FILE), text.as_bytes(), false)?;
        Ok(())
    }

    /// `baoxue-hub node add`: issues the node's certificate and returns its bundle (TOML text).
    /// `hub_addr` overrides the configured address in the bundle.
    pub fn add_node(&self, name: &str, township: &str, hub_addr: Option<&str>) -> Result<String> {
        let cfg = self.config()?;
        let name = name.trim();
        let township = township.trim();
        if name.is_empty() || name.eq_ignore_ascii_case(baoxue_shared::sync::HUB_ORIGIN) {
            return Err(HubError::Invalid(format!("节点名称“{name}”不可用")));
        }
        let org = self.org()?;
        if !org.townships.is_empty() && !org.townships.contains_key(township) {
            return Err(HubError::Invalid(format!(
                "乡镇“{township}”不在本县组织机构中（可选：{}）",
                org.townships.keys().cloned().collect::<Vec<_>>().join("、")
            )));
        }
        let mut nodes = self.nodes()?;
        if let Some(n) = nodes.iter().find(|n| n.name == name) {
            return Err(HubError::Invalid(if n.revoked {
                format!("节点名称“{name}”曾被使用并已吊销；请换一个名称")
            } else {
                format!("节点“{name}”已经存在（{}，签发于 {}）", n.township, n.issued)
            }));
        }
        let ca = self.ca()?;
        let cred = issue_node_cert(&ca, name, township)?;
        let cert_expires = baoxue_net::cert_expiry(&cred.cert_pem, "节点证书")?.to_string();
        let bundle = Bundle {
            format: BUNDLE_FORMAT.into(),
            node: name.into(),
            township: township.into(),
            county_code: cfg.county_code.clone(),
            county_name: cfg.county_name.clone(),
            hub_addr: hub_addr.unwrap_or(&cfg.addr).trim().to_string(),
            server_name: HUB_SERVER_NAME.into(),
            issued: Date::today().to_string(),
            config_version: cfg.config_version,
            ca_cert: ca.cert_pem().to_string(),
            node_cert: cred.cert_pem,
            node_key: cred.key_pem,
            org_csv: org.to_csv(),
            policy_toml: self.policy_toml()?,
            // The county's backup key (made now if an earlier version set the hub up without
            // one): the node's backups are encrypted to it.
            backup_recipient: Some(self.backup_recipient()?.0),
        };
        let text = bundle.to_text()?;
        nodes.push(NodeEntry {
            name: name.into(),
            township: township.into(),
            issued: bundle.issued.clone(),
            revoked: false,
            revoked_on: None,
            cert_expires: Some(cert_expires),
        });
        self.write_nodes(&nodes)?;
        Ok(text)
    }

    /// `baoxue-hub node revoke`: the node can no longer connect (checked at every connection).
    /// The revocation is written to the store first (durable, [`META_REVOKED`]), then to
    /// `nodes.toml`: emptying or losing that file cannot let the node back in.
    pub fn revoke_node(&self, name: &str) -> Result<NodeEntry> {
        let store = self.open_store()?;
        self.revoke_node_in(&store, name)
    }

    /// [`HubDir::revoke_node`] over a store already open (`serve`'s own, in tests and the demo).
    pub fn revoke_node_in(&self, store: &Store, name: &str) -> Result<NodeEntry> {
        let mut nodes = self.nodes()?;
        let Some(n) = nodes.iter_mut().find(|n| n.name == name.trim()) else {
            return Err(HubError::Invalid(format!("没有名为“{}”的节点", name.trim())));
        };
        n.revoked = true;
        n.revoked_on.get_or_insert_with(|| Date::today().to_string());
        let out = n.clone();
        store.put_meta(&format!("{META_REVOKED}{}", out.name), &out.revoked_on)?;
        store.flush()?;
        self.write_nodes(&nodes)?;
        Ok(out)
    }

    /// Whether `name` may sync: listed in `nodes.toml` and revoked neither there nor in the
    /// store. Fails closed: a missing or unreadable registry, or a store that cannot be read,
    /// refuses every node. Returns the reason for a refusal.
    pub fn refusal(&self, store: &Store, name: &str) -> Option<String> {
        match store.get_meta::<Option<String>>(&format!("{META_REVOKED}{name}")) {
            Ok(Some(_)) => return Some("节点已被吊销".into()),
            Ok(None) => {}
            Err(e) => return Some(format!("无法读取吊销记录（{e}）")),
        }
        match self.nodes() {
            Err(e) => Some(format!("无法读取节点名单（{e}）")),
            Ok(nodes) => match nodes.iter().find(|n| n.name == name) {
                None => Some("节点不在已签发名单 nodes.toml 中".into()),
                Some(n) if n.revoked => {
                    // Revoked in the file only (edited by hand, or revoked while the store was
                    // unavailable): made durable now.
                    let _ = store.put_meta(&format!("{META_REVOKED}{name}"), &n.revoked_on);
                    let _ = store.flush();
                    Some("节点已被吊销".into())
                }
                Some(_) => None,
            },
        }
    }

    /// Copies the revocations of `nodes.toml` into the store (hubs from before the store kept
    /// them); done when `serve` starts.
    pub fn persist_revocations(&self, store: &Store) -> Result<()> {
        let mut any = false;
        for n in self.nodes()?.into_iter().filter(|n| n.revoked) {
            let key = format!("{META_REVOKED}{}", n.name);
            if store.get_meta::<Option<String>>(&key)?.is_none() {
                store.put_meta(&key, &n.revoked_on)?;
                any = true;
            }
        }
        if any {
            store.flush()?;
        }
        Ok(())
    }

    pub fn statuses(&self) -> Result<BTreeMap<String, NodeStatus>> {
        let p = self.path(STATUS_FILE);
        if !p.exists() {
            return Ok(BTreeMap::new());
        }
        let text = std::fs::read_to_string(&p).map_err(io(&p))?;
        serde_json::from_str(&text).map_err(|e| HubError::BadFile { path: p, reason: e.to_string() })
    }

    pub fn write_statuses(&self, s: &BTreeMap<String, NodeStatus>) -> Result<()> {
        let text = serde_json::to_string_pretty(s).map_err(|e| HubError::Invalid(e.to_string()))?;
        write_file_atomic(&self.path(STATUS_FILE), text.as_bytes(), false)?;
        Ok(())
    }

    /// Opens the store (fails clearly while `serve` holds it).
    pub fn open_store(&self) -> Result<Store> {
        self.require()?;
        let store = self.open_store_unchecked()?;
        if let Some(key) = store.key() {
            self.seal_legacy_files(key)?;
        }
        Ok(store)
    }

    fn open_store_unchecked(&self) -> Result<Store> {
        let p = self.path(STORE_DIR);
        Store::open_keyed(&p, StoreOptions::default(), Some(&default_key_file(&self.root))).map_err(|e| match &e {
            StoreError::Open { source, .. } if is_lock_error(source) => HubError::Locked(self.root.clone()),
            _ => HubError::Store(e),
        })
    }
}

fn is_lock_error(e: &impl std::fmt::Display) -> bool {
    let t = e.to_string().to_ascii_lowercase();
    t.contains("lock") || t.contains("resource temporarily unavailable") || t.contains("would block")
}

/// The host part of `host:port` (brackets of an IPv6 literal removed).
pub fn addr_host(addr: &str) -> Option<String> {
    let (host, port) = addr.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| host.to_string())
}

/// `node list` rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    pub name: String,
    pub township: String,
    pub issued: String,
    pub revoked: bool,
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
    pub received: u64,
    pub rejected: u64,
    /// Alerts in force in the node's township (see [`PendingAlerts`]); none if unknown.
    pub pending_alerts: Option<usize>,
    /// The day those alerts were computed for, and whether live or from the nightly archive.
    pub alerts_as_of: Option<String>,
    pub alerts_source: Option<String>,
    /// Whether the bureau's conflict resolutions concerning the node's township have reached
    /// it (none: unknown, the store could not be read).
    #[serde(default)]
    pub resolutions: Option<crate::resolutions::Delivery>,
    /// The node's confirmed position in the hub's log.
    #[serde(default)]
    pub pulled: Option<baoxue_shared::sync::Pulled>,
}

/// Alerts in force per township, and as of when: computed now, or read from the latest nightly
/// archive while `serve` holds the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAlerts {
    pub as_of: String,
    /// `live` (computed now) or `nightly` (the archived `alerts.json` of that day).
    pub source: String,
    pub by_township: BTreeMap<String, usize>,
}

impl HubDir {
    /// The newest archived `reports/YYYY-MM-DD/alerts.json`, counted per township.
    pub fn archived_alerts(&self) -> Option<PendingAlerts> {
        let reports = self.root.join("reports");
        let mut days: Vec<String> = std::fs::read_dir(&reports)
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| Date::parse(n).is_ok() && reports.join(n).join("alerts.json").is_file())
            .collect();
        days.sort();
        let day = days.pop()?;
        let bytes = self.key().ok()?.read_file(&reports.join(&day).join("alerts.json")).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let list: Vec<serde_json::Value> = serde_json::from_str(&text).ok()?;
        let mut by_township = BTreeMap::new();
        for a in &list {
            if let Some(t) = a.get("township").and_then(|t| t.as_str()) {
                *by_township.entry(t.to_string()).or_insert(0) += 1;
            }
        }
        Some(PendingAlerts { as_of: day, source: "nightly".into(), by_township })
    }

    pub fn node_rows(&self) -> Result<Vec<NodeRow>> {
        self.node_rows_with(None)
    }

    pub fn node_rows_with(&self, alerts: Option<&PendingAlerts>) -> Result<Vec<NodeRow>> {
        let statuses = self.statuses()?;
        Ok(self
            .nodes()?
            .into_iter()
            .map(|n| {
                let s = statuses.get(&n.name).cloned().unwrap_or_default();
                let pending_alerts = alerts.map(|a| a.by_township.get(&n.township).copied().unwrap_or(0));
                NodeRow {
                    name: n.name,
                    township: n.township,
                    issued: n.issued,
                    revoked: n.revoked,
                    last_sync: s.last_sync,
                    last_error: s.last_error,
                    received: s.received,
                    rejected: s.rejected,
                    pending_alerts,
                    alerts_as_of: alerts.map(|a| a.as_of.clone()),
                    alerts_source: alerts.map(|a| a.source.clone()),
                    resolutions: None,
                    pulled: s.pulled,
                }
            })
            .collect())
    }
}

/// The day (UTC+8) of a wall-clock millisecond, for the reporting rules.
pub fn day_of(ms: u64) -> Option<Date> {
    Date::parse(&clock_text(ms)[..10]).ok()
}

/// Now as `YYYY-MM-DD HH:MM:SS` (UTC+8).
pub fn now_text() -> String {
    clock_text(now_ms())
}
