//! The node's side of sync: joining a county from the hub's bundle, one sync now
//! ([`sync_once`]), and staying up to sync nightly ([`run_forever`]).
//!
//! The protocol itself is `baoxue_shared::sync` (sans-IO); this module drives a
//! [`NodeSession`] over a `baoxue-net` QUIC connection and implements its [`NodeReplica`] over
//! the store. What the node keeps about its syncs lives in the store's meta tree (keys `sync_*`
//! below), so a data directory is self-contained.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baoxue_net::{Credentials, FramedStream, NetError};
use baoxue_shared::org::Org;
use baoxue_shared::policy::{Policy, SyncSettings};
use baoxue_shared::revision::now_ms;
use baoxue_shared::sync::{
    backoff_ms, clock_text, decode_frame, encode_frame, next_sync_at, night_jitter_ms, ApplyOutcome, Bundle,
    BundleError, CountyConfig, Cursor, LogItem, Message, NodeOutcome, NodeReplica, NodeSession, NodeSyncState,
    Rejected, Side, StoreFault, SyncError, DEFAULT_RETRY_BASE_MS,
};
use baoxue_shared::{RecordId, Revision};
use baoxue_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tracing::{info, warn};

use crate::config::{HubLink, NodeConfig, META_CONFIG};

/// Meta keys this module owns.
pub const META_PULL: &str = "sync_pull";
pub const META_REFETCH: &str = "sync_refetch_own_below";
pub const META_CONFIG_VERSION: &str = "sync_config_version";
pub const META_PUSH_ACKED: &str = "sync_push_acked";
pub const META_REJECTED: &str = "sync_rejected";
pub const META_LAST: &str = "sync_last";

/// How long to wait for any one frame from the hub before giving up on the session.
const FRAME_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Error)]
pub enum NodeSyncError {
    #[error("本节点尚未加入县级平台（离线节点请先执行 baoxue-node join --bundle 配置包）")]
    NotJoined,
    #[error("本节点尚未初始化（请先执行 baoxue-node init）")]
    NotInitialised,
    #[error("县级平台地址“{addr}”无效：{reason}")]
    Addr { addr: String, reason: String },
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("与县级平台 {hub} 同步失败：{source}")]
    Session { hub: String, source: SyncError },
    #[error("县级平台 {hub} 在 {secs} 秒内没有回应，本次同步中止（下次同步会从断点继续）")]
    Timeout { hub: String, secs: u64 },
    #[error("县级平台 {hub} 提前结束了会话（下次同步会从断点继续）")]
    Ended { hub: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("配置包无效：{0}")]
    BadBundle(String),
    #[error("{0}")]
    Join(String),
    #[error("编码失败：{0}")]
    Encode(String),
    #[error("内部错误：{0}")]
    Internal(String),
}

impl NodeSyncError {
    /// The hub deliberately refused this node (revoked, wrong county, bad certificate): retrying
    /// will not help; the operator must act.
    pub fn is_refusal(&self) -> bool {
        match self {
            NodeSyncError::Net(e) => e.is_refusal(),
            NodeSyncError::NotJoined | NodeSyncError::NotInitialised => true,
            _ => false,
        }
    }
}

// ---- reports ----------------------------------------------------------------------------------

/// One revision the hub refused, as `sync --json` and `status --json` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedItem {
    /// The revision's id (32 hex digits).
    pub revision: String,
    pub record: String,
    pub reason: String,
    /// When the hub refused it (`YYYY-MM-DD HH:MM:SS`, UTC+8).
    #[serde(default)]
    pub at: String,
}

impl RejectedItem {
    fn from_rejected(r: &Rejected, at: &str) -> RejectedItem {
        RejectedItem {
            revision: r.revision.hex(),
            record: r.record.hex(),
            reason: r.reason.clone(),
            at: at.to_string(),
        }
    }
}

/// What one sync did: `sync --json` prints this (`sent`, `received`, `rejected`, `conflicts`
/// are the keys of docs/CLI.md; the rest are extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Own revisions sent to the hub.
    pub sent: u64,
    /// Revisions received from the hub that were new here.
    pub received: u64,
    pub rejected: Vec<RejectedItem>,
    /// How many records touched by this sync are in conflict (at the hub or here).
    pub conflicts: usize,
    pub conflict_records: Vec<String>,
    pub hub: String,
    /// This node as the hub knows it (from its certificate).
    pub node: String,
    pub township: String,
    /// The node had been restored from backup and started over with a new epoch.
    pub reset_epoch: bool,
    /// The county configuration (schools, policy) was updated to this version.
    pub config_version: Option<u64>,
    /// Set when this computer's clock differs from the hub's by more than the allowed bound.
    pub clock_warning: Option<String>,
    pub seconds: f64,
    /// Of `seconds`, the connection and its TLS handshake (before any sync message).
    #[serde(default)]
    pub handshake_seconds: f64,
    /// Frame bytes sent and received (length prefixes included).
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl SyncReport {
    /// The Chinese summary the CLI prints.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "已与县级平台 {} 同步：发送 {} 条，接收 {} 条，用时 {:.2} 秒",
            self.hub, self.sent, self.received, self.seconds
        );
        if self.reset_epoch {
            s.push_str("\n注意：本节点数据曾从备份恢复，已重新完整同步");
        }
        if let Some(v) = self.config_version {
            s.push_str(&format!("\n已更新全县学校名单与政策（第 {v} 版）"));
        }
        if !self.rejected.is_empty() {
            s.push_str(&format!("\n被平台拒绝 {} 条（已保留在本节点，见 baoxue-node status）：", self.rejected.len()));
            for r in &self.rejected {
                s.push_str(&format!("\n  {}：{}", &r.revision[..8], r.reason));
            }
        }
        if self.conflicts > 0 {
            s.push_str(&format!(
                "\n有 {} 条记录存在并发修改冲突，待县级平台裁定（baoxue-hub conflicts）",
                self.conflicts
            ));
        }
        if let Some(w) = &self.clock_warning {
            s.push_str(&format!("\n{w}"));
        }
        s
    }
}

/// What the node remembers of its last successful sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    pub at_ms: u64,
    /// `YYYY-MM-DD HH:MM:SS` (UTC+8).
    pub at: String,
    pub hub: String,
    pub sent: u64,
    pub received: u64,
    pub rejected: u64,
}

/// The sync part of `baoxue-node status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub joined: bool,
    pub last_sync: Option<String>,
    /// Own revisions the hub has not acknowledged yet.
    pub unacknowledged: u64,
    pub rejected: Vec<RejectedItem>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PushAcked {
    epoch: u64,
    pos: u64,
}

/// The node's sync status, read from its store.
pub fn sync_status(store: &Store) -> Result<SyncStatus, StoreError> {
    let cfg: Option<NodeConfig> = store.get_meta(META_CONFIG)?;
    let last: Option<LastSync> = store.get_meta(META_LAST)?;
    let acked: PushAcked = store.get_meta(META_PUSH_ACKED)?.unwrap_or_default();
    let from = if acked.epoch == store.epoch()? { acked.pos } else { 0 };
    let mut unacknowledged = 0;
    let mut pos = from;
    loop {
        let chunk = store.log_range(pos, 4096)?;
        let Some((last_pos, _)) = chunk.last() else {
            break;
        };
        pos = last_pos + 1;
        unacknowledged += chunk.iter().filter(|(_, e)| e.from.is_none()).count() as u64;
    }
    Ok(SyncStatus {
        joined: cfg.is_some_and(|c| c.hub.is_some()),
        last_sync: last.map(|l| l.at),
        unacknowledged,
        rejected: store.get_meta(META_REJECTED)?.unwrap_or_default(),
    })
}

// ---- joining ----------------------------------------------------------------------------------

/// The node configuration a bundle describes (checked: certificate, key, identity, schools,
/// policy).
pub fn config_from_bundle(text: &str) -> Result<NodeConfig, NodeSyncError> {
    Ok(parse_bundle(text)?.1)
}

fn parse_bundle(text: &str) -> Result<(Bundle, NodeConfig), NodeSyncError> {
    let b = Bundle::parse(text)?;
    let bad = |what: String| NodeSyncError::BadBundle(what);
    let cred = Credentials { cert_pem: b.node_cert.clone(), key_pem: b.node_key.clone() };
    let checked = Credentials::from_pem_string(&cred.to_pem_string()).map_err(|e| bad(e.to_string()))?;
    let id = checked.node_identity().map_err(|e| bad(e.to_string()))?;
    if id.name != b.node || id.township != b.township || id.county_code != b.county_code {
        return Err(bad(format!(
            "证书身份（{}，{}，县代码 {}）与配置包（{}，{}，县代码 {}）不一致",
            id.name, id.township, id.county_code, b.node, b.township, b.county_code
        )));
    }
    let org = Org::parse_csv(b.org_csv.as_bytes()).map_err(|e| bad(format!("学校名单：{e}")))?;
    if !b.policy_toml.trim().is_empty() {
        Policy::from_toml_str(&b.policy_toml).map_err(|e| bad(format!("政策：{e}")))?;
    }
    let cfg = NodeConfig {
        county_code: b.county_code.clone(),
        county_name: b.county_name.clone(),
        township: b.township.clone(),
        origin: b.node.clone(),
        org,
        policy_toml: b.policy_toml.clone(),
        hub: Some(HubLink {
            addr: b.hub_addr.clone(),
            server_name: b.server_name.clone(),
            ca_pem: b.ca_cert.clone(),
            cert_pem: checked.cert_pem,
            key_pem: checked.key_pem,
        }),
    };
    Ok((b, cfg))
}

/// The county's backup public key the bundle carries, remembered for `backup` (the node's
/// backups are encrypted to it without `--recipient`).
fn save_backup_recipient(store: &Store, b: &Bundle) -> Result<(), NodeSyncError> {
    if let Some(r) = b.backup_recipient.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        baoxue_store::backup::parse_recipient(r)
            .map_err(|e| NodeSyncError::BadBundle(format!("县级备份公钥（backup_recipient）：{e}")))?;
        store.put_meta(crate::cmd::backup::META_BACKUP_RECIPIENT, &r.to_string())?;
    }
    Ok(())
}

fn save_config(store: &Store, cfg: &NodeConfig, version: u64) -> Result<(), StoreError> {
    store.put_meta(META_CONFIG, cfg)?;
    store.put_meta(META_CONFIG_VERSION, &version)?;
    store.flush()
}

/// `baoxue-node init --bundle`: a new node set up from the bundle the hub issued.
pub fn init_from_bundle(store: &Store, bundle_text: &str) -> Result<NodeConfig, NodeSyncError> {
    if store.get_meta::<NodeConfig>(META_CONFIG)?.is_some() {
        return Err(NodeSyncError::Join(
            "数据目录已经初始化过；离线节点加入县级平台请用 baoxue-node join --bundle".into(),
        ));
    }
    let (b, cfg) = parse_bundle(bundle_text)?;
    save_backup_recipient(store, &b)?;
    save_config(store, &cfg, b.config_version)?;
    Ok(cfg)
}

/// `baoxue-node join --bundle`: an offline node (or one whose certificate was reissued) joins the
/// hub, keeping all its data; everything it made is pushed at the next sync.
pub fn join(store: &Store, bundle_text: &str) -> Result<NodeConfig, NodeSyncError> {
    let Some(old) = store.get_meta::<NodeConfig>(META_CONFIG)? else {
        return Err(NodeSyncError::Join("本节点尚未初始化；新节点请用 baoxue-node init --bundle".into()));
    };
    let (b, cfg) = parse_bundle(bundle_text)?;
    if old.county_code != cfg.county_code {
        return Err(NodeSyncError::Join(format!(
            "本节点属于县代码 {}，配置包属于县代码 {}，不能加入",
            old.county_code, cfg.county_code
        )));
    }
    if old.township != cfg.township {
        return Err(NodeSyncError::Join(format!(
            "本节点服务 {}，配置包是为 {} 签发的，不能加入",
            old.township, cfg.township
        )));
    }
    let version: u64 = store.get_meta(META_CONFIG_VERSION)?.unwrap_or(0);
    save_backup_recipient(store, &b)?;
    save_config(store, &cfg, version.max(b.config_version))?;
    Ok(cfg)
}

/// The node's configuration from its store.
/// Starts a new store epoch (durably): the store was restored from backup, so the hub must
/// treat it as a new incarnation of the node (it resyncs fully, deduplicated by id) and a copy
/// still running under the old epoch is recognised as a clone.
pub fn start_new_incarnation(s: &Store) -> Result<u64, StoreError> {
    s.remove_meta(META_PULL)?;
    let epoch = s.new_epoch()?;
    s.put_meta(META_PUSH_ACKED, &PushAcked { epoch, pos: 0 })?;
    s.flush()?;
    Ok(epoch)
}

pub fn load_config(store: &Store) -> Result<Option<NodeConfig>, StoreError> {
    store.get_meta(META_CONFIG)
}

// ---- the replica ------------------------------------------------------------------------------

fn fault(e: StoreError) -> StoreFault {
    StoreFault(e.to_string())
}

/// [`NodeReplica`] over the node's store.
pub struct StoreNode {
    store: Store,
}

impl StoreNode {
    pub fn new(store: Store) -> StoreNode {
        StoreNode { store }
    }

    fn conflicts(&self, records: &[RecordId]) -> Result<Vec<RecordId>, StoreFault> {
        let mut out = Vec::new();
        for id in records {
            if let Some(r) = self.store.record(*id).map_err(fault)? {
                if !r.conflicts().is_empty() {
                    out.push(*id);
                }
            }
        }
        Ok(out)
    }
}

impl NodeReplica for StoreNode {
    fn epoch(&self) -> Result<u64, StoreFault> {
        self.store.epoch().map_err(fault)
    }
    fn log_end(&self) -> Result<u64, StoreFault> {
        self.store.log_end().map_err(fault)
    }
    fn log_range(&self, from: u64, max: usize) -> Result<Vec<LogItem>, StoreFault> {
        Ok(self
            .store
            .log_range(from, max)
            .map_err(fault)?
            .into_iter()
            .map(|(pos, e)| LogItem { pos, rev: e.rev, from: e.from, record: e.record, at: (e.group, e.slot) })
            .collect())
    }
    fn log_revision(&self, item: &LogItem) -> Result<Option<Revision>, StoreFault> {
        let e = baoxue_store::LogEntry {
            rev: item.rev,
            from: item.from.clone(),
            record: item.record,
            group: item.at.0,
            slot: item.at.1,
        };
        self.store.log_revision(&e).map_err(fault)
    }
    fn sync_state(&self) -> Result<NodeSyncState, StoreFault> {
        let s = &self.store;
        Ok(NodeSyncState {
            pull: s.get_meta(META_PULL).map_err(fault)?,
            refetch_own_below: s.get_meta(META_REFETCH).map_err(fault)?.unwrap_or(0),
            config_version: s.get_meta(META_CONFIG_VERSION).map_err(fault)?.unwrap_or(0),
        })
    }
    fn start_new_epoch(&mut self) -> Result<u64, StoreFault> {
        let epoch = start_new_incarnation(&self.store).map_err(fault)?;
        warn!(epoch = format!("{epoch:016x}"), "本节点数据曾从备份恢复：开始新纪元，重新完整同步");
        Ok(epoch)
    }
    fn set_refetch_own_below(&mut self, below: u64) -> Result<(), StoreFault> {
        self.store.put_meta(META_REFETCH, &below).map_err(fault)?;
        self.store.flush().map_err(fault)
    }
    fn apply_pulled(&mut self, revs: &[Revision]) -> Result<ApplyOutcome, StoreFault> {
        let applied = self.store.apply(revs, Some("hub")).map_err(fault)?;
        let conflicts = self.conflicts(&applied.records)?;
        Ok(ApplyOutcome { new: applied.new.len(), conflicts })
    }
    fn save_pull_cursor(&mut self, cursor: &Cursor, refetch_done: bool) -> Result<(), StoreFault> {
        self.store.put_meta(META_PULL, cursor).map_err(fault)?;
        if refetch_done {
            self.store.put_meta(META_REFETCH, &0u64).map_err(fault)?;
        }
        self.store.flush().map_err(fault)
    }
    fn save_push_ack(&mut self, epoch: u64, up_to: u64, rejected: &[Rejected]) -> Result<(), StoreFault> {
        let s = &self.store;
        let acked: PushAcked = s.get_meta(META_PUSH_ACKED).map_err(fault)?.unwrap_or_default();
        if acked.epoch != epoch || acked.pos < up_to {
            s.put_meta(META_PUSH_ACKED, &PushAcked { epoch, pos: up_to }).map_err(fault)?;
        }
        if !rejected.is_empty() {
            let mut list: Vec<RejectedItem> = s.get_meta(META_REJECTED).map_err(fault)?.unwrap_or_default();
            let at = clock_text(now_ms());
            for r in rejected {
                let hex = r.revision.hex();
                if !list.iter().any(|x| x.revision == hex) {
                    list.push(RejectedItem::from_rejected(r, &at));
                }
            }
            s.put_meta(META_REJECTED, &list).map_err(fault)?;
        }
        s.flush().map_err(fault)
    }
    fn apply_config(&mut self, config: &CountyConfig) -> Result<(), StoreFault> {
        let s = &self.store;
        let Some(mut cfg) = s.get_meta::<NodeConfig>(META_CONFIG).map_err(fault)? else {
            return Ok(());
        };
        let org = match Org::parse_csv(config.org_csv.as_bytes()) {
            Ok(org) => org,
            Err(e) => {
                warn!(version = config.version, error = %e, "县级平台下发的学校名单无法读取，暂不更新");
                return Ok(());
            }
        };
        if !config.policy_toml.trim().is_empty() {
            if let Err(e) = Policy::from_toml_str(&config.policy_toml) {
                warn!(version = config.version, error = %e, "县级平台下发的政策无法读取，暂不更新");
                return Ok(());
            }
            cfg.policy_toml = config.policy_toml.clone();
        }
        cfg.org = org;
        if !config.county_name.is_empty() {
            cfg.county_name = config.county_name.clone();
        }
        save_config(s, &cfg, config.version).map_err(fault)?;
        info!(version = config.version, "已更新全县学校名单与政策");
        Ok(())
    }
}

// ---- one sync ---------------------------------------------------------------------------------

async fn resolve(addr: &str) -> Result<SocketAddr, NodeSyncError> {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bad = |reason: String| NodeSyncError::Addr { addr: addr.to_string(), reason };
    if !addr.contains(':') {
        return Err(bad("应为 主机:端口，例如 10.1.2.3:7443".into()));
    }
    let mut found = tokio::net::lookup_host(addr).await.map_err(|e| bad(format!("无法解析：{e}")))?;
    found.next().ok_or_else(|| bad("无法解析出地址".into()))
}

/// A session and its replica, moved to a blocking thread for each step (sled is synchronous).
type Shared = Arc<Mutex<(NodeSession, StoreNode)>>;

/// Handles `msg`, or (`None`) makes the next push batch the window allows.
async fn step(shared: &Shared, msg: Option<Message>) -> Result<Vec<Message>, SyncError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
        let (session, replica) = &mut *guard;
        match msg {
            Some(msg) => session.handle(replica, msg),
            None => session.next_push(replica),
        }
    })
    .await
    .unwrap_or_else(|e| Err(SyncError::Store(StoreFault(format!("同步线程异常结束：{e}")))))
}

struct Counted<'a> {
    stream: &'a mut FramedStream,
    sent: u64,
    received: u64,
}

impl Counted<'_> {
    async fn send(&mut self, msg: &Message) -> Result<(), NodeSyncError> {
        let frame = encode_frame(msg).map_err(|e| NodeSyncError::Encode(e.to_string()))?;
        self.stream.send_frame(&frame).await?;
        self.sent += 4 + frame.len() as u64;
        Ok(())
    }
}

/// Syncs with the hub now: pushes this node's revisions the hub has not acknowledged, pulls
/// what the hub holds for this township. `hub_override` replaces the bundle's `host:port`.
pub async fn sync_once(
    store: &Store,
    cfg: &NodeConfig,
    hub_override: Option<&str>,
) -> Result<SyncReport, NodeSyncError> {
    Connected::open(cfg, hub_override).await?.sync(store).await
}

/// A session's connection to the hub, made before the store is needed: `run` opens the data
/// directory only once the hub has answered, so a staff command is never kept waiting while
/// `run` waits on an unreachable hub.
pub struct Connected {
    conn: baoxue_net::Conn,
    hub_text: String,
    started: Instant,
    handshake_seconds: f64,
}

impl Connected {
    /// Resolves and connects to the hub (the override, else the joined address).
    pub async fn open(cfg: &NodeConfig, hub_override: Option<&str>) -> Result<Connected, NodeSyncError> {
        let link = cfg.hub.as_ref().ok_or(NodeSyncError::NotJoined)?;
        let hub_text = hub_override.unwrap_or(&link.addr).to_string();
        let addr = resolve(&hub_text).await?;
        let started = Instant::now();
        let cred = Credentials { cert_pem: link.cert_pem.clone(), key_pem: link.key_pem.clone() };
        let conn = baoxue_net::connect(addr, &link.server_name, &link.ca_pem, &cred).await?;
        let handshake_seconds = started.elapsed().as_secs_f64();
        Ok(Connected { conn, hub_text, started, handshake_seconds })
    }

    /// Runs the session over `store`.
    pub async fn sync(self, store: &Store) -> Result<SyncReport, NodeSyncError> {
        let Connected { conn, hub_text, started, handshake_seconds } = self;
        session(conn, store, hub_text, started, handshake_seconds).await
    }
}

async fn session(
    conn: baoxue_net::Conn,
    store: &Store,
    hub_text: String,
    started: Instant,
    handshake_seconds: f64,
) -> Result<SyncReport, NodeSyncError> {
    let result = drive(&conn, store, &hub_text).await;
    // The hub has recorded the session before its Bye; the close need not hold the caller up.
    tokio::spawn(conn.close());
    let (outcome, bytes_sent, bytes_received) = result?;
    let seconds = started.elapsed().as_secs_f64();
    let at_ms = now_ms();
    let at = clock_text(at_ms);
    let clock_warning = outcome.hub_clock_ms.and_then(|hub| {
        let skew = at_ms.abs_diff(hub);
        (skew > outcome.future_bound_ms / 2).then(|| {
            format!(
                "注意：本机时钟为 {}，县级平台为 {}，相差超过 {} 分钟，请校准本机时钟",
                at,
                clock_text(hub),
                skew / 60_000
            )
        })
    });
    let mut clock_warning = clock_warning;
    if let Some(hub) = outcome.hub_clock_ms {
        // The hub's clock now, roughly: its reading at the start plus the session's length.
        let hub_now = hub + started.elapsed().as_millis() as u64;
        let stamped = store.clock()?.ms;
        if stamped > hub_now + outcome.future_bound_ms && store.rewind_clock(hub_now)? {
            warn!(
                was = clock_text(stamped),
                now = clock_text(hub_now),
                "本节点的修订时钟超前县级平台，已按平台时间回拨"
            );
            let note = format!(
                "注意：本节点此前的修订按 {} 的时钟记录（超前县级平台），已回拨到平台时间 {}；被拒的修订请核对后重新录入",
                clock_text(stamped),
                clock_text(hub_now)
            );
            clock_warning = Some(match clock_warning {
                Some(w) => format!("{w}\n{note}"),
                None => note,
            });
        }
    }
    let mut report = report_of(&outcome, &hub_text, &at, seconds, bytes_sent, bytes_received, clock_warning);
    report.handshake_seconds = handshake_seconds;
    store.put_meta(
        META_LAST,
        &LastSync {
            at_ms,
            at,
            hub: hub_text,
            sent: report.sent,
            received: report.received,
            rejected: report.rejected.len() as u64,
        },
    )?;
    store.flush()?;
    Ok(report)
}

fn report_of(
    o: &NodeOutcome,
    hub: &str,
    at: &str,
    seconds: f64,
    bytes_sent: u64,
    bytes_received: u64,
    clock_warning: Option<String>,
) -> SyncReport {
    SyncReport {
        sent: o.sent,
        received: o.received,
        rejected: o.rejected.iter().map(|r| RejectedItem::from_rejected(r, at)).collect(),
        conflicts: o.conflicts.len(),
        conflict_records: o.conflicts.iter().map(|r| r.hex()).collect(),
        hub: hub.to_string(),
        node: o.node.clone(),
        township: o.township.clone(),
        reset_epoch: o.reset_epoch,
        config_version: o.config_updated,
        clock_warning,
        seconds,
        handshake_seconds: 0.0,
        bytes_sent,
        bytes_received,
    }
}

async fn drive(conn: &baoxue_net::Conn, store: &Store, hub: &str) -> Result<(NodeOutcome, u64, u64), NodeSyncError> {
    let mut stream = conn.open_stream().await?;
    let mut io = Counted { stream: &mut stream, sent: 0, received: 0 };
    let session_err = |source: SyncError| NodeSyncError::Session { hub: hub.to_string(), source };
    let store2 = store.clone();
    let started = tokio::task::spawn_blocking(move || {
        let mut replica = StoreNode::new(store2);
        NodeSession::start(&mut replica, now_ms()).map(|(s, out)| (s, replica, out))
    })
    .await
    .map_err(|e| session_err(SyncError::Store(StoreFault(e.to_string()))))?
    .map_err(session_err)?;
    let (mut session, replica, hello) = started;
    session.one_batch_at_a_time();
    let shared: Shared = Arc::new(Mutex::new((session, replica)));
    for m in &hello {
        io.send(m).await?;
    }
    loop {
        let frame = match tokio::time::timeout(FRAME_TIMEOUT, io.stream.recv_frame()).await {
            Err(_) => return Err(NodeSyncError::Timeout { hub: hub.to_string(), secs: FRAME_TIMEOUT.as_secs() }),
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(None)) => return Err(NodeSyncError::Ended { hub: hub.to_string() }),
            Ok(Ok(Some(f))) => f,
        };
        io.received += 4 + frame.len() as u64;
        let mut result = match decode_frame(&frame, Side::Node) {
            Ok(msg) => step(&shared, Some(msg)).await,
            Err(e) => Err(SyncError::Frame(e)),
        };
        // Sends the replies, then each further push batch the window allows as soon as it is
        // made (the hub applies one while the next is read from the log).
        loop {
            match result {
                Ok(out) if out.is_empty() => break,
                Ok(out) => {
                    for m in &out {
                        io.send(m).await?;
                    }
                    result = step(&shared, None).await;
                }
                Err(e) => {
                    if let Some(reply) = e.to_peer() {
                        let _ = io.send(&reply).await;
                        let _ = io.stream.finish_and_wait().await;
                    }
                    return Err(session_err(e));
                }
            }
        }
        let guard = shared.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0.is_done() {
            let outcome = guard.0.outcome().clone();
            drop(guard);
            let _ = io.stream.finish();
            return Ok((outcome, io.sent, io.received));
        }
    }
}

// ---- staying up -------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Replaces the bundle's hub address.
    pub hub_override: Option<String>,
    /// Sync once right away, before waiting for the nightly hour.
    pub sync_at_start: bool,
    /// The first wait of the retry back-off (doubling, with jitter; default 30 s). Short in
    /// tests (`run --retry-base-secs`).
    pub retry_base: Duration,
    /// The school app's write lock when `run` shares its store with `serve` ([`after_sync`]
    /// writes under it, never between a teacher's read and write).
    pub writer: Option<Arc<Mutex<()>>>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            hub_override: None,
            sync_at_start: false,
            retry_base: Duration::from_millis(DEFAULT_RETRY_BASE_MS),
            writer: None,
        }
    }
}

/// The author of the revisions [`after_sync`] writes.
pub const AFTER_SYNC_AUTHOR: &str = "籍随人走（同步后自动销号）";

/// What follows every successful sync, at `sync` and at `run` alike (one code path): 籍随人走
/// (003 §一(四), `shared::transfer`) — an open case that reached this node after its child was
/// accepted at another school here closes as 转学核实 on the acceptance date; the closing goes
/// to the hub at the next sync. One line per case closed.
pub fn after_sync(ledger: &crate::ledger::Ledger) -> Result<Vec<String>, crate::error::NodeError> {
    crate::cmd::case::close_transferred(ledger, None, AFTER_SYNC_AUTHOR)
}

/// How [`run_forever`] reaches the store: held open for the whole run (tests, the demo), or
/// opened from the data directory for each sync only, so that the township's staff can go on
/// using the other commands while `baoxue-node run` stays up as a service (sled locks a data
/// directory while it is open).
#[derive(Clone)]
pub enum StoreAccess {
    Held(Store),
    Dir(PathBuf),
}

impl From<Store> for StoreAccess {
    fn from(s: Store) -> StoreAccess {
        StoreAccess::Held(s)
    }
}

/// How long `run` waits for a data directory a command is using before counting the attempt as
/// failed (and retrying with back-off).
const OPEN_WAIT: Duration = Duration::from_secs(60);

impl StoreAccess {
    /// The data directory, when known (a held store's is not needed by what `run` does
    /// with it: the store alone is read and written).
    fn dir(&self) -> PathBuf {
        match self {
            StoreAccess::Held(_) => PathBuf::new(),
            StoreAccess::Dir(d) => d.clone(),
        }
    }

    async fn open(&self) -> Result<Store, NodeSyncError> {
        match self {
            StoreAccess::Held(s) => Ok(s.clone()),
            StoreAccess::Dir(dir) => {
                let started = Instant::now();
                loop {
                    let d = dir.clone();
                    let r = tokio::task::spawn_blocking(move || Store::open(&d))
                        .await
                        .map_err(|e| NodeSyncError::Internal(e.to_string()))?;
                    match r {
                        Err(e) if e.is_locked() && started.elapsed() < OPEN_WAIT => {
                            tokio::time::sleep(Duration::from_millis(200)).await
                        }
                        r => return Ok(r?),
                    }
                }
            }
        }
    }
}

/// Give up retrying a night's sync after this long; the next night starts over.
const RETRY_FOR: Duration = Duration::from_secs(20 * 3600);

fn sync_settings(cfg: &NodeConfig) -> SyncSettings {
    Policy::from_toml_str(&cfg.policy_toml).map(|p| p.sync).unwrap_or_default()
}

/// When `run` next syncs (UTC+8 clock text), for the app's footer; None for an offline node.
pub fn next_sync_text(cfg: &NodeConfig) -> Option<String> {
    cfg.hub.as_ref()?;
    let s = sync_settings(cfg);
    let (_, at) = next_sync_at(now_ms(), s.hour, |n| night_jitter_ms(&cfg.origin, n, s.jitter_minutes), None);
    Some(clock_text(at))
}

/// `baoxue-node run`: syncs once a night at the policy's hour (plus that night's delay, up to
/// the policy's jitter), retrying with exponential back-off and jitter while the hub is
/// unreachable, until `shutdown` completes. Stops early only if the hub refuses this node
/// (revoked, wrong county).
pub async fn run_forever(
    store: impl Into<StoreAccess>,
    opts: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeSyncError> {
    let access: StoreAccess = store.into();
    tokio::pin!(shutdown);
    let mut first = true;
    // The night of the last scheduled sync done (succeeded, or given up): the next one is on a
    // later night, whatever the jitter.
    let mut done_night: Option<u64> = None;
    loop {
        let cfg = load_config(&access.open().await?)?.ok_or(NodeSyncError::NotInitialised)?;
        if cfg.hub.is_none() {
            return Err(NodeSyncError::NotJoined);
        }
        let mut night = None;
        if !(first && opts.sync_at_start) {
            let s = sync_settings(&cfg);
            let (n, at) =
                next_sync_at(now_ms(), s.hour, |n| night_jitter_ms(&cfg.origin, n, s.jitter_minutes), done_night);
            night = Some(n);
            info!(at = clock_text(at), "下次同步时间");
            let wait = Duration::from_millis(at.saturating_sub(now_ms()));
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
        first = false;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let once = async {
                // Opened for this attempt only (see `StoreAccess`), closed before the wait, and
                // not held while the hub is being reached.
                let cfg = {
                    let store = access.open().await?;
                    load_config(&store)?.ok_or(NodeSyncError::NotInitialised)?
                };
                let connected = Connected::open(&cfg, opts.hub_override.as_deref()).await?;
                let store = access.open().await?;
                let report = connected.sync(&store).await?;
                Ok::<_, NodeSyncError>((report, store, cfg))
            };
            let result = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                r = once => r,
            };
            match result {
                Ok((r, store, config)) => {
                    info!(sent = r.sent, received = r.received, rejected = r.rejected.len(), "同步完成");
                    // As `sync` does, on the store this sync used (the data directory is still
                    // open): a failure here is logged, the sync itself stands.
                    let dir = access.dir();
                    let writer = opts.writer.clone();
                    let settled = tokio::task::spawn_blocking(move || {
                        let _guard = writer.as_ref().map(|w| w.lock().unwrap_or_else(|p| p.into_inner()));
                        after_sync(&crate::ledger::Ledger { store, config, dir })
                    })
                    .await;
                    match settled {
                        Ok(Ok(lines)) => {
                            for line in lines {
                                info!(closed = %line, "同步后自动销号");
                            }
                        }
                        Ok(Err(e)) => warn!(error = %e, "同步后自动销号未能完成，下次同步后再试"),
                        Err(e) => warn!(error = %e, "同步后自动销号任务异常结束，下次同步后再试"),
                    }
                    break;
                }
                Err(e) if e.is_refusal() => {
                    tracing::error!(error = %e, "县级平台拒绝了本节点，停止重试；请联系县级平台管理员");
                    return Err(e);
                }
                Err(e) => {
                    let base = opts.retry_base.as_millis() as u64;
                    let wait = Duration::from_millis(backoff_ms(attempt, base, rand::random()));
                    attempt += 1;
                    if started.elapsed() + wait > RETRY_FOR {
                        warn!(error = %e, "今晚的同步未能完成，明晚再试");
                        break;
                    }
                    warn!(error = %e, retry_in_ms = wait.as_millis() as u64, attempt, "同步失败，稍后重试");
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        if night.is_some() {
            done_night = night;
        }
    }
}
