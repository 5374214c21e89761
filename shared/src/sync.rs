//! The sync engine, sans-IO: messages, frames, the decisions, and the two session state machines.
//!
//! Nothing here touches a socket or a clock. The node's and the hub's drivers (`node::sync`,
//! `hub::server`) read frames from the network, hand the decoded [`Message`]s to a
//! [`NodeSession`] or [`HubSession`], and write back what the session returns. The sessions
//! reach their replica's data through the small [`NodeReplica`] and [`HubReplica`] traits, which
//! the drivers implement over `baoxue-store` and the tests implement in memory, so every
//! protocol path — epochs, cursors, duplicates, cuts at any point — is tested here without a
//! network.
//!
//! # The protocol (version [`PROTO_VERSION`])
//!
//! One bidirectional stream per session; every frame is a 2-byte protocol version followed by
//! one [`Message`] in the codec's encoding (see [`encode_frame`]). An error frame uses the tag
//! `0xFFFF` and plain UTF-8, so that two different versions can still tell each other why they
//! cannot talk.
//!
//! ```text
//! node                                         hub
//!  Hello {epoch, log_end, pull cursor, …}  ──▶
//!                                          ◀──  Welcome {push_from, reset_epoch, pull_from, config}
//!  (reset_epoch: new epoch, Hello again)
//!  PushBatch × n (window of WINDOW)        ──▶  check, apply durably, move the push cursor
//!  PushDone                                ◀──  PushAck × n {up_to, rejected, conflicts}
//!                                          ◀──  PullBatch × m (window of WINDOW) {up_to, done}
//!  apply durably, move the pull cursor     ──▶  PullAck × m
//!  Bye                                     ──▶
//!                                          ◀──  Bye (the hub has recorded the sync)
//! ```
//!
//! # Invariants
//!
//! - **Every replay is harmless.** A revision is named by its random id; both sides apply with
//!   deduplication, so a batch delivered twice, or a session cut and run again, adds nothing.
//! - **Cursors belong to the receiver and move only over durable data.** The hub keeps, per node
//!   (by certificate name), how far into the node's log it has applied ([`Cursor`]); the node
//!   keeps how far into the hub's log it has applied. A cursor moves only after the batch it
//!   covers was applied (flushed), and only over a contiguous prefix: a batch that arrives out of
//!   order is applied but does not move the cursor past a gap.
//! - **Epochs and fingerprints catch restored replicas.** A cursor names the log's epoch and
//!   the id of the last entry it covers. A node restored from backup (the hub's cursor is beyond
//!   its log end, or the entry there differs) starts a new epoch, pushes all it made and pulls
//!   everything again, including its own revisions it lost; a hub restored from backup (a node's
//!   cursor beyond the hub's log end, or pointing at a different entry) rotates its epoch, so
//!   every node pulls from the start. Both are deduplicated by id.
//! - **The hub decides what it accepts** ([`check_revision`], [`check_origin`], [`check_assign`]):
//!   clock not beyond a bound in the hub's future, record in the node's township (from its
//!   certificate), origin the node's own (its certificate name, or the offline name it used
//!   before joining, owned first come first served), status changes legal from every value they
//!   replace, and no conflict settled by a node. Rejected revisions are reported back and kept
//!   at the node.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{self, CodecError};
use crate::model::{Placement, Status, TransferTarget};
use crate::org::Org;
use crate::revision::{Assign, Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use crate::state::Record;

// ---- constants --------------------------------------------------------------------------------

/// The protocol version both sides must speak. Bump on any change to [`Message`].
pub const PROTO_VERSION: u16 = 1;
/// The origin of revisions made at the hub (conflict resolutions, census cases).
pub const HUB_ORIGIN: &str = "hub";
/// At most this many revisions per batch … (each batch costs the receiver a durable commit,
/// two fsyncs at the hub and one for the node's acknowledgement: fewer, larger batches make an
/// initial sync faster; the byte bound keeps a batch lost to a cut link small)
pub const BATCH_MAX_REVISIONS: usize = 8_192;
/// … and about this many encoded bytes (a batch stops after the revision that crosses it).
pub const BATCH_MAX_BYTES: usize = 1 << 20;
/// A pull batch scans at most this many hub log entries, so a node that has nothing to receive
/// from a long stretch of the hub's log still sees its cursor move in bounded steps.
pub const PULL_SCAN_MAX: usize = 20_000;
/// Batches sent ahead of their acknowledgement, each way.
pub const WINDOW: usize = 4;
/// Default bound on how far in the hub's future a revision's clock may be (policy setting).
pub const DEFAULT_FUTURE_BOUND_MS: u64 = 10 * 60 * 1000;
/// Tag of an error frame, understood by every protocol version.
const ERROR_TAG: u16 = 0xFFFF;
/// Error texts from the other side are cut to this many characters.
const MAX_ERROR_CHARS: usize = 2_000;
/// How many log entries are read from a replica at a time.
const LOG_CHUNK: usize = 1_024;

// ---- cursors and messages ---------------------------------------------------------------------

/// A position in one replica's log: entries `[0, pos)` of epoch `epoch` are covered; `last` is
/// the id of entry `pos - 1`, a fingerprint that catches a log rewritten since (a restore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub epoch: u64,
    pub pos: u64,
    pub last: Option<RevId>,
}

/// What the hub sends a node whose county configuration is older than the hub's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountyConfig {
    /// Raised by the hub on every `org import` or policy change.
    pub version: u64,
    pub county_code: String,
    pub county_name: String,
    /// The org CSV (`Org::to_csv`).
    pub org_csv: String,
    /// The policy as TOML (`Policy::to_toml`).
    pub policy_toml: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub node_epoch: u64,
    pub node_log_end: u64,
    /// The node's cursor into the hub's log, if it has one.
    pub pull: Option<Cursor>,
    /// After a reset: also send back this node's own revisions held by the hub below this hub
    /// log position (the node lost them with its disk).
    pub refetch_own_below: u64,
    pub node_clock_ms: u64,
    /// The version of the county configuration the node holds.
    pub config_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The node as the hub knows it, from its certificate.
    pub node: String,
    pub township: String,
    pub hub_epoch: u64,
    pub hub_log_end: u64,
    /// Push the node's own revisions from this log position …
    pub push_from: u64,
    /// … where the node's entry `push_from - 1` should be this one (else it was restored).
    pub push_check: Option<RevId>,
    /// The hub's cursor is beyond the node's log: the node was restored from backup and must
    /// start a new epoch.
    pub reset_epoch: bool,
    /// The hub will send its log from this position.
    pub pull_from: u64,
    /// The hub does not know this node's epoch (a new, rebuilt or restored node): it will also
    /// send back the node's own revisions below this position; the node keeps asking for them
    /// (`Hello::refetch_own_below`) until its pull cursor has passed it.
    pub refetch_own_below: u64,
    pub hub_clock_ms: u64,
    /// How far in the hub's future a revision may be stamped.
    pub future_bound_ms: u64,
    /// The county configuration, when the node's is older.
    pub config: Option<CountyConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushBatch {
    /// Node log positions `[from, up_to)` were scanned; `revisions` are the node's own among them.
    pub from: u64,
    pub up_to: u64,
    /// Id of node log entry `up_to - 1`.
    pub last: Option<RevId>,
    pub revisions: Vec<Revision>,
}

/// A revision the hub refused, and why (Chinese, for the operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub revision: RevId,
    pub record: RecordId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAck {
    /// The hub's durable push cursor for this node after the batch.
    pub up_to: u64,
    /// Revisions new to the hub.
    pub new: u32,
    /// Revisions the hub already held.
    pub known: u32,
    pub rejected: Vec<Rejected>,
    /// Records touched by the batch that now hold concurrent values in some field.
    pub conflicts: Vec<RecordId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullBatch {
    /// Hub log positions `[from, up_to)` were scanned for this node.
    pub from: u64,
    pub up_to: u64,
    /// Id of hub log entry `up_to - 1`.
    pub last: Option<RevId>,
    pub revisions: Vec<Revision>,
    /// The last batch of this session.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullAck {
    pub up_to: u64,
}

/// Everything either side says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Hello(Hello),
    Welcome(Box<Welcome>),
    PushBatch(PushBatch),
    PushDone,
    PushAck(PushAck),
    PullBatch(PullBatch),
    PullAck(PullAck),
    Bye,
    /// The session cannot go on; the text says why (Chinese). Sent as a version-independent
    /// error frame.
    Error(String),
}

impl Message {
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "Hello",
            Message::Welcome(_) => "Welcome",
            Message::PushBatch(_) => "PushBatch",
            Message::PushDone => "PushDone",
            Message::PushAck(_) => "PushAck",
            Message::PullBatch(_) => "PullBatch",
            Message::PullAck(_) => "PullAck",
            Message::Bye => "Bye",
            Message::Error(_) => "Error",
        }
    }
}

// ---- frames -----------------------------------------------------------------------------------

/// Which side is decoding (for the wording of a version mismatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Node,
    Hub,
}

#[derive(Debug, Error)]
pub enum FrameError {
    #[error("帧太短（{0} 字节），不是同步协议的帧")]
    TooShort(usize),
    #[error("{}", version_mismatch(*.node, *.hub))]
    Version { node: u16, hub: u16 },
    #[error("帧内容无法解码：{0}")]
    Codec(#[from] CodecError),
}

/// The message both sides show when their protocol versions differ.
pub fn version_mismatch(node: u16, hub: u16) -> String {
    format!("协议版本不一致：节点 v{node}，平台 v{hub}，请升级")
}

/// The bytes of one frame: protocol version, then the message (or an error frame).
pub fn encode_frame(msg: &Message) -> Result<Vec<u8>, CodecError> {
    if let Message::Error(text) = msg {
        let mut out = Vec::with_capacity(2 + text.len());
        out.extend_from_slice(&ERROR_TAG.to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        return Ok(out);
    }
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&PROTO_VERSION.to_be_bytes());
    codec::encode_into(msg, &mut out)?;
    Ok(out)
}

/// Decodes one frame received by `side`. Never panics, whatever the bytes.
pub fn decode_frame(bytes: &[u8], side: Side) -> Result<Message, FrameError> {
    if bytes.len() < 2 {
        return Err(FrameError::TooShort(bytes.len()));
    }
    let version = u16::from_be_bytes([bytes[0], bytes[1]]);
    if version == ERROR_TAG {
        let text: String = String::from_utf8_lossy(&bytes[2..]).chars().take(MAX_ERROR_CHARS).collect();
        return Ok(Message::Error(text));
    }
    if version != PROTO_VERSION {
        return Err(match side {
            Side::Hub => FrameError::Version { node: version, hub: PROTO_VERSION },
            Side::Node => FrameError::Version { node: PROTO_VERSION, hub: version },
        });
    }
    let msg: Message = codec::decode(&bytes[2..])?;
    if let Message::Error(_) = msg {
        // Errors travel only as error frames.
        return Err(FrameError::Codec(CodecError::Decode("错误消息必须以错误帧发送".into())));
    }
    Ok(msg)
}

// ---- errors -----------------------------------------------------------------------------------

/// A failure of the replica's storage, as text (the engine only reports it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct StoreFault(pub String);

#[derive(Debug, Error)]
pub enum SyncError {
    /// The other side ended the session with this message.
    #[error("{0}")]
    Remote(String),
    /// The other side broke the protocol.
    #[error("同步协议错误：{0}")]
    Protocol(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("本地数据库错误：{0}")]
    Store(#[from] StoreFault),
    #[error("编码失败：{0}")]
    Codec(#[from] CodecError),
}

impl SyncError {
    /// The error frame to send the other side before ending the session (none when the other
    /// side is the one that ended it).
    pub fn to_peer(&self) -> Option<Message> {
        match self {
            SyncError::Remote(_) => None,
            SyncError::Frame(FrameError::Version { node, hub }) => Some(Message::Error(version_mismatch(*node, *hub))),
            SyncError::Store(_) => {
                Some(Message::Error("对方本地数据库出错，本次同步中止，下次同步会从断点继续".into()))
            }
            other => Some(Message::Error(other.to_string())),
        }
    }
}

fn protocol(what: impl Into<String>) -> SyncError {
    SyncError::Protocol(what.into())
}

// ---- scope ------------------------------------------------------------------------------------

/// Which townships a record belongs to, for sync: the node of each may see and change it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordScope {
    pub townships: BTreeSet<String>,
    /// A case's student: the case also belongs wherever the student does (籍随人走).
    pub student: Option<RecordId>,
}

/// The townships a placement concerns: its school's, and the target school's while a transfer
/// to another school of the county is pending.
pub fn placement_townships(p: &crate::model::Placement, org: &Org) -> Vec<String> {
    let mut out = Vec::with_capacity(2);
    if let Some(t) = org.township_of(&p.school) {
        out.push(t.to_string());
    }
    if p.status == Status::TransferredOut {
        if let Some(TransferTarget::School(target)) = &p.transfer {
            if let Some(t) = org.township_of(target) {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// The scope of a record from its derived state. For a student: every current placement head
/// (concurrent placements keep both townships in scope until resolved).
pub fn record_scope(rec: &Record, org: &Org) -> RecordScope {
    let mut scope = RecordScope::default();
    match rec.kind {
        RecordKind::Student => {
            let mut any = false;
            if let Some(reg) = rec.register(Field::Placement) {
                for cand in reg.heads.values() {
                    if let Value::Placement(p) = &cand.value {
                        any = true;
                        scope.townships.extend(placement_townships(p, org));
                    }
                }
            }
            if !any {
                if let Some(init) = &rec.student {
                    scope.townships.extend(placement_townships(&init.placement, org));
                }
            }
        }
        RecordKind::Case => {
            if let Some(init) = &rec.case {
                scope.townships.insert(init.township.clone());
                scope.student = init.student;
            }
        }
    }
    scope
}

/// The scope a creating revision gives its record (before the record exists anywhere).
pub fn create_scope(rev: &Revision, org: &Org) -> Option<RecordScope> {
    match &rev.change {
        Change::CreateStudent(init) => Some(RecordScope {
            townships: placement_townships(&init.placement, org).into_iter().collect(),
            student: None,
        }),
        Change::CreateCase(init) => {
            Some(RecordScope { townships: BTreeSet::from([init.township.clone()]), student: init.student })
        }
        _ => None,
    }
}

pub fn is_create(rev: &Revision) -> bool {
    matches!(rev.change, Change::CreateStudent(_) | Change::CreateCase(_))
}

/// Whether applying this revision can change its record's scope (a create or a placement write).
pub fn affects_scope(rev: &Revision) -> bool {
    match &rev.change {
        Change::CreateStudent(_) | Change::CreateCase(_) => true,
        Change::Update(assigns) => assigns.iter().any(|a| a.field == Field::Placement),
        _ => false,
    }
}

/// Whether a placement write replaces a placement that concerned `township` (its school's, or a
/// pending transfer's): the write that completes a transfer out of that township.
fn moves_out_of(r: &impl HubReplica, rev: &Revision, township: &str) -> Result<bool, StoreFault> {
    let Change::Update(assigns) = &rev.change else { return Ok(false) };
    for a in assigns.iter().filter(|a| a.field == Field::Placement) {
        for old in &a.supersedes {
            let Some(prev) = r.revision(rev.record, *old)? else { continue };
            let placement = match &prev.change {
                Change::CreateStudent(init) => Some(&init.placement),
                Change::Update(pa) => pa.iter().find_map(|x| match (&x.field, &x.value) {
                    (Field::Placement, Value::Placement(p)) => Some(p),
                    _ => None,
                }),
                _ => None,
            };
            if placement.is_some_and(|p| placement_townships(p, r.org()).iter().any(|t| t == township)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether the revision writes a student's placement (a transfer, an acceptance, a status).
fn writes_placement(rev: &Revision) -> bool {
    rev.kind == RecordKind::Student
        && matches!(&rev.change, Change::Update(assigns) if assigns.iter().any(|a| a.field == Field::Placement))
}

// ---- the hub's checks -------------------------------------------------------------------------

/// Who is pushing, and what the hub holds against it.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// The node's name and township, from its certificate.
    pub node: &'a str,
    pub township: &'a str,
    pub org: &'a Org,
    pub now_ms: u64,
    pub future_bound_ms: u64,
    /// Every other node's name: a node may not push revisions in another node's name.
    pub other_nodes: &'a BTreeSet<String>,
    /// The node's own clock as its Hello said (named when a revision is refused for its clock).
    pub node_clock_ms: Option<u64>,
}

/// `YYYY-MM-DD HH:MM:SS` of a wall-clock millisecond (UTC+8).
pub fn clock_text(ms: u64) -> String {
    Hlc { ms, n: 0 }.display()
}

fn duration_text(ms: u64) -> String {
    let mins = ms / 60_000;
    if mins >= 24 * 60 {
        format!("{} 天 {} 小时", mins / (24 * 60), mins % (24 * 60) / 60)
    } else if mins >= 60 {
        format!("{} 小时 {} 分钟", mins / 60, mins % 60)
    } else {
        format!("{} 分钟", mins.max(1))
    }
}

/// Why a revision stamped `rev_ms` is refused: its stamp, the hub's clock, and the node's own
/// clock (from its Hello), so the operator can tell a clock that is still wrong from one that
/// was wrong when the revision was recorded.
pub fn future_clock_text(node: &str, rev_ms: u64, hub_ms: u64, node_clock_ms: Option<u64>, bound_ms: u64) -> String {
    let mut s = format!(
        "修订时间 {} 超前县级平台的时钟 {}（超前 {}，允许 {}）",
        clock_text(rev_ms),
        clock_text(hub_ms),
        duration_text(rev_ms.saturating_sub(hub_ms)),
        duration_text(bound_ms),
    );
    match node_clock_ms {
        Some(n) if n > hub_ms.saturating_add(bound_ms) => s.push_str(&format!(
            "；节点 {node} 的时钟为 {}，仍超前平台 {}：请校准该节点电脑的时钟后重新录入",
            clock_text(n),
            duration_text(n - hub_ms)
        )),
        Some(n) if n.saturating_add(bound_ms) < hub_ms => s.push_str(&format!(
            "；节点 {node} 的时钟为 {}，落后平台 {}：请校准该节点电脑的时钟，核对后重新录入",
            clock_text(n),
            duration_text(hub_ms - n)
        )),
        Some(n) => s.push_str(&format!(
            "；节点 {node} 的时钟为 {}，与平台相符：此修订是在该节点时钟不准时录入的，请核对后重新录入",
            clock_text(n)
        )),
        None => s.push_str(&format!("；请校准节点 {node} 电脑的时钟后重新录入")),
    }
    s
}

/// Whether a name is the offline origin a node of `township` used before it joined the county
/// (`<township>-offline-<4 hex digits>`, see `baoxue-node init`).
pub fn is_offline_origin(origin: &str, township: &str) -> bool {
    origin
        .strip_prefix(township)
        .and_then(|rest| rest.strip_prefix("-offline-"))
        .is_some_and(|hex| hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What accepting a revision's origin means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginUse {
    /// The node's own name, or an origin it already owns.
    Owned,
    /// An offline origin nobody owns yet: it becomes this node's (first come, first served).
    Claim,
}

/// Decides whether a node may push a revision with this origin: its certificate name; or the
/// name it used before joining (an offline origin of its township), owned by the first node that
/// pushes it. `owner` is the node the hub has recorded as owning `origin`, if any. Anything else
/// would let a node write in someone else's name or win tie-breaks with a made-up one.
pub fn check_origin(origin: &str, owner: Option<&str>, ctx: &CheckContext<'_>) -> Result<OriginUse, String> {
    if origin == ctx.node {
        return Ok(OriginUse::Owned);
    }
    if origin == HUB_ORIGIN {
        return Err(format!("修订的来源为县级平台（{HUB_ORIGIN}），节点 {} 不能以县级平台的名义上报", ctx.node));
    }
    if ctx.other_nodes.contains(origin) {
        return Err(format!("修订的来源“{origin}”是另一个节点，节点 {} 不能以其名义上报", ctx.node));
    }
    match owner {
        Some(o) if o == ctx.node => Ok(OriginUse::Owned),
        Some(o) => Err(format!("修订的来源“{origin}”已属于节点 {o}（由其最先上报），节点 {} 不能使用", ctx.node)),
        None if is_offline_origin(origin, ctx.township) => Ok(OriginUse::Claim),
        None => Err(format!(
            "修订的来源“{origin}”既不是本节点 {}，也不是本乡镇节点加入县级平台前的离线名称（{}-offline-xxxx）",
            ctx.node, ctx.township
        )),
    }
}

/// The value a revision writes to `field`, if it writes one (a create writes every field).
pub fn value_written(rev: &Revision, field: Field) -> Option<Value> {
    match &rev.change {
        Change::CreateStudent(init) => init.fields().into_iter().find(|(f, _)| *f == field).map(|(_, v)| v),
        Change::CreateCase(init) => init.fields().into_iter().find(|(f, _)| *f == field).map(|(_, v)| v),
        Change::Update(assigns) => assigns.iter().find(|a| a.field == field).map(|a| a.value.clone()),
        _ => None,
    }
}

/// Whether placement `to` may follow `from` (学籍异动, 002 §四(二)2): no change at all; a legal
/// status change ([`Status::can_become`]) at the same school; or the acceptance of a transfer at
/// the school it was addressed to. A school changes only through a transfer.
pub fn legal_placement_change(from: &Placement, to: &Placement) -> bool {
    if from == to {
        return true;
    }
    if !from.status.can_become(to.status) {
        return false;
    }
    if to.school == from.school {
        return true;
    }
    from.status == Status::TransferredOut
        && to.status == Status::Enrolled
        && matches!(&from.transfer, Some(TransferTarget::School(t)) if *t == to.school)
}

/// Whether a revision's register writes need [`check_writes`] (it reads the record at the hub):
/// placement writes, and writes that name several values they replace.
pub fn needs_write_check(rev: &Revision) -> bool {
    matches!(&rev.change, Change::Update(assigns)
        if assigns.iter().any(|a| a.field == Field::Placement || a.supersedes.len() > 1))
}

/// Checks one register write of a node against what the hub holds: `replaced` are the values of
/// the writes it supersedes that the hub knows; `current` the field's current values at the hub
/// (its heads). A node may not settle a conflict — only `conflicts resolve` at the hub does — and
/// a placement must be a legal change from every value it replaces (from the current values when
/// it replaces none the hub knows: it will stand beside them).
pub fn check_assign(who: &str, a: &Assign, replaced: &[Value], current: &[Value]) -> Result<(), String> {
    let mut distinct: Vec<&Value> = Vec::new();
    for v in replaced {
        if !distinct.contains(&v) {
            distinct.push(v);
        }
    }
    if distinct.len() > 1 {
        return Err(format!(
            "{who}的{}有并发修改冲突（{}），节点不能自行裁定；请由县级平台用 baoxue-hub conflicts resolve 裁定",
            a.field.label(),
            distinct.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("／")
        ));
    }
    if a.field != Field::Placement {
        return Ok(());
    }
    let Value::Placement(to) = &a.value else {
        return Err("学籍状态字段的值类型不对".into());
    };
    let from = if replaced.is_empty() { current } else { replaced };
    for v in from {
        if let Value::Placement(p) = v {
            if !legal_placement_change(p, to) {
                return Err(format!("{who}的学籍状态不能由{p}改为{to}：不是合法的学籍异动"));
            }
        }
    }
    Ok(())
}

/// Decides whether the hub accepts a revision new to it. `scope` is the record's effective scope
/// at the hub (none: the hub does not hold the record). The origin ([`check_origin`]) and the
/// writes against the record's state ([`check_writes`]) are decided by the session, which
/// can read the hub's store.
pub fn check_revision(rev: &Revision, scope: Option<&BTreeSet<String>>, ctx: &CheckContext<'_>) -> Result<(), String> {
    // 1. The clock: a node whose clock runs ahead must not win every merge.
    if rev.hlc.ms > ctx.now_ms.saturating_add(ctx.future_bound_ms) {
        return Err(future_clock_text(ctx.node, rev.hlc.ms, ctx.now_ms, ctx.node_clock_ms, ctx.future_bound_ms));
    }
    // 2. Shape.
    match (&rev.change, rev.kind) {
        (Change::CreateStudent(_), RecordKind::Student) | (Change::CreateCase(_), RecordKind::Case)
            if rev.id != rev.record =>
        {
            return Err("建立记录的修订编号与记录编号不一致".into());
        }
        (Change::CreateStudent(_), RecordKind::Student) | (Change::CreateCase(_), RecordKind::Case) => {}
        (Change::CreateStudent(_), _) | (Change::CreateCase(_), _) => {
            return Err("建立记录的修订与记录类型不一致".into());
        }
        _ => {}
    }
    // 3. Scope.
    let mine = ctx.township;
    match scope {
        Some(townships) => {
            if !townships.contains(mine) {
                let whose = if townships.is_empty() {
                    "不属于任何乡镇（学校不在本县组织机构中）".to_string()
                } else {
                    format!("属于 {}", townships.iter().cloned().collect::<Vec<_>>().join("、"))
                };
                return Err(format!("记录 {} {whose}，不在本节点（{mine}）的范围内", rev.record));
            }
        }
        None => match &rev.change {
            Change::CreateStudent(init) => match ctx.org.township_of(&init.placement.school) {
                None => return Err(format!("学校“{}”不在本县组织机构中", init.placement.school)),
                Some(t) if t != mine => {
                    return Err(format!("学校“{}”属于 {t}，不属于本节点的乡镇 {mine}", init.placement.school))
                }
                Some(_) => {}
            },
            Change::CreateCase(init) => {
                if init.township != mine {
                    return Err(format!("案件属于乡镇 {}，不属于本节点的乡镇 {mine}", init.township));
                }
            }
            _ => return Err(format!("记录 {} 在县级平台上不存在（建立该记录的修订未同步或已被拒绝）", rev.record)),
        },
    }
    // 4. Placement writes: the school must be the node's own (a transfer out names the node's
    //    school and the target; an acceptance names the node's school), and only 转出 names
    //    where the child goes.
    if let Change::Update(assigns) = &rev.change {
        for a in assigns {
            match (a.field, &a.value) {
                (Field::Placement, Value::Placement(p)) => {
                    if (p.status == Status::TransferredOut) != p.transfer.is_some() {
                        return Err(format!("学籍状态“{p}”无效：只有转出才写明转往何处，转出必须写明"));
                    }
                    match ctx.org.township_of(&p.school) {
                        Some(t) if t == mine => {}
                        Some(t) => return Err(format!("学籍学校“{}”属于 {t}，不属于本节点的乡镇 {mine}", p.school)),
                        None => return Err(format!("学校“{}”不在本县组织机构中", p.school)),
                    }
                    if let Some(TransferTarget::School(target)) = &p.transfer {
                        if ctx.org.school(target).is_none() {
                            return Err(format!("转入学校“{target}”不在本县组织机构中（县外请用县外转出）"));
                        }
                    }
                }
                (Field::Placement, _) => return Err("学籍状态字段的值类型不对".into()),
                _ => {}
            }
        }
    }
    Ok(())
}

/// What the hub knows of a revision's register writes: for each, the values of the writes it
/// replaces and the field's current values, from the record as the hub holds it plus what this
/// batch accepted before it (`accepted`; `states` caches the records read).
struct Writes {
    /// How the record is named in a refusal.
    who: String,
    /// `(replaced, current)` per assign, in order.
    values: Vec<(Vec<Value>, Vec<Value>)>,
}

fn writes_of(
    r: &impl HubReplica,
    rev: &Revision,
    accepted: &[Revision],
    states: &mut HashMap<RecordId, Record>,
) -> Result<Writes, StoreFault> {
    let Change::Update(assigns) = &rev.change else { return Ok(Writes { who: String::new(), values: Vec::new() }) };
    let rec = match states.entry(rev.record) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let mut rec = r.record(rev.record)?.unwrap_or_else(|| Record::new(rev.record, rev.kind));
            for a in accepted.iter().filter(|a| a.record == rev.record) {
                rec.apply(a);
            }
            e.insert(rec)
        }
    };
    let rec = &*rec;
    let who = if rec.name().is_empty() {
        format!("记录 {}", rec.id)
    } else {
        format!("{}（记录 {}）", rec.name(), rec.id)
    };
    let mut values = Vec::with_capacity(assigns.len());
    for a in assigns {
        let reg = rec.register(a.field);
        let mut replaced = Vec::with_capacity(a.supersedes.len());
        for id in &a.supersedes {
            let value = match reg.and_then(|g| g.heads.get(id)) {
                Some(c) => Some(c.value.clone()),
                None => match accepted.iter().find(|x| x.id == *id) {
                    Some(x) => value_written(x, a.field),
                    None => r.revision(rev.record, *id)?.and_then(|x| value_written(&x, a.field)),
                },
            };
            replaced.extend(value);
        }
        let current: Vec<Value> = reg.map(|g| g.heads.values().map(|c| c.value.clone()).collect()).unwrap_or_default();
        values.push((replaced, current));
    }
    Ok(Writes { who, values })
}

/// [`check_assign`] for every register write of `rev`.
fn check_writes(rev: &Revision, w: &Writes) -> Result<(), String> {
    let Change::Update(assigns) = &rev.change else { return Ok(()) };
    for (a, (replaced, current)) in assigns.iter().zip(&w.values) {
        check_assign(&w.who, a, replaced, current)?;
    }
    Ok(())
}

/// The townships of the placements a revision's placement write replaces: a node that wrote
/// over a placement concerning its township was within its rights, even if a concurrent write
/// has since moved the record out of its scope (its write then stands beside that one as a
/// conflict, listed at the hub, rather than being refused).
fn replaced_townships(rev: &Revision, w: &Writes, org: &Org) -> Vec<String> {
    let Change::Update(assigns) = &rev.change else { return Vec::new() };
    let mut out = Vec::new();
    for (a, (replaced, _)) in assigns.iter().zip(&w.values) {
        if a.field == Field::Placement {
            for v in replaced {
                if let Value::Placement(p) = v {
                    out.extend(placement_townships(p, org));
                }
            }
        }
    }
    out
}

// ---- the welcome decision ---------------------------------------------------------------------

/// What the hub answers a Hello with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WelcomePlan {
    pub push_from: u64,
    pub push_check: Option<RevId>,
    pub reset_epoch: bool,
    pub pull_from: u64,
    /// The hub does not know the node's epoch: everything is pushed, and everything in scope is
    /// pulled, the node's own revisions included (it may have lost them).
    pub fresh: bool,
    pub refetch_own_below: u64,
    /// The node holds a cursor the hub's log cannot have produced: the hub was restored from
    /// backup. It must take a new epoch (so every node pulls again from the start).
    pub rotate_hub_epoch: bool,
}

/// The hub's decision on a Hello. `recorded` is the hub's durable push cursor for this node;
/// `hub_entry_at_pull` is the id of the hub's log entry just before the node's pull cursor
/// (looked up by the caller when that position is inside the hub's log).
pub fn plan_welcome(
    recorded: Option<&Cursor>,
    hello: &Hello,
    hub_epoch: u64,
    hub_log_end: u64,
    hub_entry_at_pull: Option<RevId>,
) -> WelcomePlan {
    let mut plan = WelcomePlan {
        push_from: 0,
        push_check: None,
        reset_epoch: false,
        pull_from: 0,
        fresh: false,
        refetch_own_below: 0,
        rotate_hub_epoch: false,
    };
    match recorded {
        Some(c) if c.epoch == hello.node_epoch => {
            if c.pos > hello.node_log_end {
                plan.reset_epoch = true;
                return plan;
            }
            plan.push_from = c.pos;
            plan.push_check = c.last;
        }
        // Unknown epoch (a new node, a rebuilt one, one restored from an older backup, or one
        // that just started a new epoch): everything, both ways.
        _ => {
            plan.fresh = true;
            plan.refetch_own_below = hub_log_end;
        }
    }
    if let Some(p) = &hello.pull {
        if plan.fresh {
            // Pull from the start, but still notice a hub restored from backup.
            if p.epoch == hub_epoch && (p.pos > hub_log_end || (p.pos > 0 && hub_entry_at_pull != p.last)) {
                plan.rotate_hub_epoch = true;
            }
        } else if p.epoch == hub_epoch {
            if p.pos > hub_log_end || (p.pos > 0 && hub_entry_at_pull != p.last) {
                plan.rotate_hub_epoch = true;
            } else {
                plan.pull_from = p.pos;
            }
        }
    }
    plan
}

/// Whether a node must start a new epoch on this Welcome: the hub says so, or the hub's cursor
/// does not point at the node's own log entry (`my_entry_at_check` is the node's entry at
/// `push_from - 1`, if the node has one there).
pub fn node_must_reset(w: &Welcome, my_log_end: u64, my_entry_at_check: Option<RevId>) -> bool {
    if w.reset_epoch {
        return true;
    }
    if w.push_from == 0 {
        return false;
    }
    w.push_from > my_log_end || my_entry_at_check != w.push_check
}

// ---- scheduling -------------------------------------------------------------------------------

/// The users' time zone (UTC+8), in milliseconds.
pub const TZ_OFFSET_MS: u64 = crate::dates::USERS_UTC_OFFSET_SECS as u64 * 1000;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The night (a day number in UTC+8, days since 1970-01-01) a wall-clock millisecond falls in.
pub fn night_of(ms: u64) -> u64 {
    (ms + TZ_OFFSET_MS) / DAY_MS
}

/// A node's delay after the nightly hour on `night`: spread over `[0, jitter_minutes)` so the
/// county's nodes do not all call at once, and fixed for the night (the same after a restart of
/// `run`), so a night has one slot.
pub fn night_jitter_ms(node: &str, night: u64, jitter_minutes: u32) -> u64 {
    let range = u64::from(jitter_minutes) * 60_000;
    if range == 0 {
        return 0;
    }
    // FNV-1a of the name, then splitmix64 with the night: stable across builds and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.as_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ night.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z % range
}

/// The sync slot of `night`: `hour`:00 (UTC+8) of that day plus the night's jitter.
pub fn night_slot(night: u64, hour: u8, jitter_ms: u64) -> u64 {
    (night * DAY_MS + u64::from(hour.min(23)) * 3600 * 1000 + jitter_ms).saturating_sub(TZ_OFFSET_MS)
}

/// The next scheduled sync: `(night, at)` of the first night whose slot is after `now_ms` and
/// that is after `done` (the night of the last scheduled sync, once it succeeded or was given
/// up), so a node syncs once a night whatever the jitter. `jitter(night)` gives each night's
/// delay ([`night_jitter_ms`]).
pub fn next_sync_at(now_ms: u64, hour: u8, jitter: impl Fn(u64) -> u64, done: Option<u64>) -> (u64, u64) {
    // The night before today's may still be ahead when its jitter runs past midnight.
    let mut night = night_of(now_ms).saturating_sub(1);
    if let Some(d) = done {
        night = night.max(d + 1);
    }
    loop {
        let at = night_slot(night, hour, jitter(night));
        if at > now_ms {
            return (night, at);
        }
        night += 1;
    }
}

/// The first wait of the retry back-off while the hub is unreachable (`run --retry-base-secs`).
pub const DEFAULT_RETRY_BASE_MS: u64 = 30_000;
/// The longest wait between two retries.
pub const RETRY_MAX_MS: u64 = 30 * 60_000;

/// Wait before retry number `attempt` (0-based) while the hub is unreachable: `base_ms`,
/// doubling, at most [`RETRY_MAX_MS`] (or `base_ms` if larger); of that, the first half fixed and
/// the second half drawn from `random`, so that nodes cut off together do not retry in lockstep.
pub fn backoff_ms(attempt: u32, base_ms: u64, random: u64) -> u64 {
    let cap = base_ms.max(1).saturating_mul(1u64 << attempt.min(32)).min(RETRY_MAX_MS.max(base_ms));
    let fixed = cap / 2;
    fixed + random % (cap - fixed + 1)
}

// ---- the replicas as the engine sees them -----------------------------------------------------

/// One entry of a replica's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogItem {
    pub pos: u64,
    pub rev: RevId,
    /// `None`: made at this replica; `Some(peer)`: received from that peer.
    pub from: Option<String>,
    pub record: RecordId,
    /// Where the replica keeps the revision (its own business, handed back to
    /// [`HubReplica::log_revision`] / [`NodeReplica::log_revision`]).
    pub at: (RevId, u32),
}

/// What applying a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Revisions new to the replica.
    pub new: usize,
    /// Records touched by the batch that now have a field in conflict.
    pub conflicts: Vec<RecordId>,
}

/// The hub's store, as a session needs it. Every write is durable when it returns.
pub trait HubReplica {
    fn epoch(&self) -> Result<u64, StoreFault>;
    /// Starts a new epoch (durably) and returns it.
    fn rotate_epoch(&mut self) -> Result<u64, StoreFault>;
    fn log_end(&self) -> Result<u64, StoreFault>;
    fn log_range(&self, from: u64, max: usize) -> Result<Vec<LogItem>, StoreFault>;
    /// The revision at a log position.
    fn log_revision(&self, item: &LogItem) -> Result<Option<Revision>, StoreFault>;
    /// Revision `id` of `record`, if held.
    fn revision(&self, record: RecordId, id: RevId) -> Result<Option<Revision>, StoreFault>;
    fn contains(&self, rev: &Revision) -> Result<bool, StoreFault>;
    /// The record's effective scope (a case's includes its student's); none if unknown.
    fn scope(&self, record: RecordId) -> Result<Option<BTreeSet<String>>, StoreFault>;
    /// Every revision of a record.
    fn history(&self, record: RecordId) -> Result<Vec<Revision>, StoreFault>;
    /// The cases of a student.
    fn cases_of(&self, student: RecordId) -> Result<Vec<RecordId>, StoreFault>;
    fn org(&self) -> &Org;
    /// The record's derived state; none if unknown.
    fn record(&self, id: RecordId) -> Result<Option<Record>, StoreFault>;
    /// Applies revisions received from `from` (deduplicated, durable).
    fn apply(&mut self, revs: &[Revision], from: &str) -> Result<ApplyOutcome, StoreFault>;
    fn push_cursor(&self, node: &str) -> Result<Option<Cursor>, StoreFault>;
    fn set_push_cursor(&mut self, node: &str, cursor: &Cursor) -> Result<(), StoreFault>;
    /// The node that owns an origin other than its own name (an offline name), if any.
    fn origin_owner(&self, origin: &str) -> Result<Option<String>, StoreFault>;
    /// Records (durably) that `node` owns `origin`.
    fn claim_origin(&mut self, origin: &str, node: &str) -> Result<(), StoreFault>;
}

/// What a node keeps about its syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSyncState {
    pub pull: Option<Cursor>,
    pub refetch_own_below: u64,
    pub config_version: u64,
}

/// The node's store, as a session needs it. Every write is durable when it returns.
pub trait NodeReplica {
    fn epoch(&self) -> Result<u64, StoreFault>;
    fn log_end(&self) -> Result<u64, StoreFault>;
    fn log_range(&self, from: u64, max: usize) -> Result<Vec<LogItem>, StoreFault>;
    /// The revision at a log position.
    fn log_revision(&self, item: &LogItem) -> Result<Option<Revision>, StoreFault>;
    fn sync_state(&self) -> Result<NodeSyncState, StoreFault>;
    /// The node was restored from backup: take a new epoch, forget the pull cursor and the
    /// acknowledged push position.
    fn start_new_epoch(&mut self) -> Result<u64, StoreFault>;
    /// Remember (durably) to ask for own revisions below this hub position.
    fn set_refetch_own_below(&mut self, below: u64) -> Result<(), StoreFault>;
    /// Applies revisions pulled from the hub (deduplicated, durable).
    fn apply_pulled(&mut self, revs: &[Revision]) -> Result<ApplyOutcome, StoreFault>;
    fn save_pull_cursor(&mut self, cursor: &Cursor, refetch_done: bool) -> Result<(), StoreFault>;
    /// The hub has durably received this node's log up to `up_to` (of `epoch`); `rejected` are
    /// kept for the operator.
    fn save_push_ack(&mut self, epoch: u64, up_to: u64, rejected: &[Rejected]) -> Result<(), StoreFault>;
    fn apply_config(&mut self, config: &CountyConfig) -> Result<(), StoreFault>;
}

fn encoded_len(rev: &Revision) -> Result<usize, CodecError> {
    codec::encoded_len(rev)
}

// ---- the node's session -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeStage {
    AwaitWelcome,
    Pushing,
    Pulling,
    AwaitBye,
    Done,
}

/// What a node's session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeOutcome {
    /// The node as the hub knows it.
    pub node: String,
    pub township: String,
    /// Own revisions sent.
    pub sent: u64,
    /// Of those, new to the hub.
    pub accepted_new: u64,
    /// Revisions received that were new here.
    pub received: u64,
    pub rejected: Vec<Rejected>,
    /// Records in conflict, at the hub after the push or here after the pull.
    pub conflicts: BTreeSet<RecordId>,
    /// The node started a new epoch (restored from backup).
    pub reset_epoch: bool,
    /// The county configuration was updated to this version.
    pub config_updated: Option<u64>,
    pub hub_clock_ms: Option<u64>,
    pub future_bound_ms: u64,
}

/// A node's side of one session.
#[derive(Debug)]
pub struct NodeSession {
    stage: NodeStage,
    hellos: u8,
    node_clock_ms: u64,
    epoch: u64,
    hello_pull: Option<Cursor>,
    refetch_own_below: u64,
    hub_epoch: u64,
    push_next: u64,
    push_end: u64,
    push_last: Option<RevId>,
    inflight: usize,
    push_done_sent: bool,
    pull: Option<Cursor>,
    outcome: NodeOutcome,
    /// Make at most one push batch per message handled; the driver asks for the rest of the
    /// window with [`NodeSession::next_push`] (see [`NodeSession::one_batch_at_a_time`]).
    one_at_a_time: bool,
}

impl NodeSession {
    /// A new session; send the returned Hello.
    pub fn start(r: &mut impl NodeReplica, now_ms: u64) -> Result<(NodeSession, Vec<Message>), SyncError> {
        let mut s = NodeSession {
            stage: NodeStage::AwaitWelcome,
            hellos: 0,
            node_clock_ms: now_ms,
            epoch: 0,
            hello_pull: None,
            refetch_own_below: 0,
            hub_epoch: 0,
            push_next: 0,
            push_end: 0,
            push_last: None,
            inflight: 0,
            push_done_sent: false,
            pull: None,
            outcome: NodeOutcome { future_bound_ms: DEFAULT_FUTURE_BOUND_MS, ..Default::default() },
            one_at_a_time: false,
        };
        let hello = s.hello(r)?;
        Ok((s, vec![hello]))
    }

    fn hello(&mut self, r: &mut impl NodeReplica) -> Result<Message, SyncError> {
        let st = r.sync_state()?;
        self.epoch = r.epoch()?;
        self.hello_pull = st.pull;
        self.refetch_own_below = st.refetch_own_below;
        self.hellos += 1;
        Ok(Message::Hello(Hello {
            node_epoch: self.epoch,
            node_log_end: r.log_end()?,
            pull: st.pull,
            refetch_own_below: st.refetch_own_below,
            node_clock_ms: self.node_clock_ms,
            config_version: st.config_version,
        }))
    }

    pub fn is_done(&self) -> bool {
        self.stage == NodeStage::Done
    }

    pub fn outcome(&self) -> &NodeOutcome {
        &self.outcome
    }

    /// From now on [`NodeSession::handle`] makes at most one push batch, and the driver takes
    /// the rest of the window from [`NodeSession::next_push`], sending each batch as soon as it
    /// is made: the hub starts on the first batch while the node reads the next, instead of
    /// waiting for a whole window to be read from the node's log.
    pub fn one_batch_at_a_time(&mut self) {
        self.one_at_a_time = true;
    }

    /// The next push batch the window allows (followed by `PushDone` after the last one), if
    /// any; call after sending what `handle` returned, and again after sending each batch,
    /// until it returns nothing.
    pub fn next_push(&mut self, r: &mut impl NodeReplica) -> Result<Vec<Message>, SyncError> {
        if self.stage != NodeStage::Pushing {
            return Ok(Vec::new());
        }
        self.fill_push_window(r, 1)
    }

    /// Handles one message from the hub; returns the messages to send.
    pub fn handle(&mut self, r: &mut impl NodeReplica, msg: Message) -> Result<Vec<Message>, SyncError> {
        match (self.stage, msg) {
            (_, Message::Error(text)) => Err(SyncError::Remote(text)),
            (NodeStage::AwaitWelcome, Message::Welcome(w)) => self.on_welcome(r, *w),
            (NodeStage::Pushing, Message::PushAck(a)) => {
                self.inflight = self.inflight.saturating_sub(1);
                r.save_push_ack(self.epoch, a.up_to, &a.rejected)?;
                self.outcome.accepted_new += u64::from(a.new);
                self.outcome.conflicts.extend(a.conflicts);
                for rej in a.rejected {
                    if !self.outcome.rejected.iter().any(|x| x.revision == rej.revision) {
                        self.outcome.rejected.push(rej);
                    }
                }
                self.fill_push_window(r, self.batches_per_step())
            }
            (NodeStage::Pushing | NodeStage::Pulling | NodeStage::AwaitBye, Message::PullBatch(b)) => {
                if self.stage == NodeStage::Pushing && !self.push_done_sent {
                    return Err(protocol("推送尚未结束，平台就开始发送数据"));
                }
                self.on_pull_batch(r, b)
            }
            (NodeStage::AwaitBye, Message::Bye) => {
                self.stage = NodeStage::Done;
                Ok(Vec::new())
            }
            (stage, msg) => Err(protocol(format!("意外的消息 {}（本方阶段 {stage:?}）", msg.name()))),
        }
    }

    fn on_welcome(&mut self, r: &mut impl NodeReplica, w: Welcome) -> Result<Vec<Message>, SyncError> {
        let log_end = r.log_end()?;
        let mine = if w.push_from > 0 && w.push_from <= log_end {
            r.log_range(w.push_from - 1, 1)?.into_iter().find(|e| e.pos == w.push_from - 1).map(|e| e.rev)
        } else {
            None
        };
        if node_must_reset(&w, log_end, mine) {
            if self.hellos >= 2 {
                return Err(protocol("平台再次要求本节点重新开始纪元"));
            }
            r.start_new_epoch()?;
            self.outcome.reset_epoch = true;
            return Ok(vec![self.hello(r)?]);
        }
        if w.refetch_own_below > self.refetch_own_below {
            r.set_refetch_own_below(w.refetch_own_below)?;
            self.refetch_own_below = w.refetch_own_below;
        }
        self.outcome.node = w.node.clone();
        self.outcome.township = w.township.clone();
        self.outcome.hub_clock_ms = Some(w.hub_clock_ms);
        self.outcome.future_bound_ms = w.future_bound_ms;
        if let Some(cfg) = &w.config {
            r.apply_config(cfg)?;
            self.outcome.config_updated = Some(cfg.version);
        }
        self.hub_epoch = w.hub_epoch;
        self.pull = match self.hello_pull {
            Some(c) if c.epoch == w.hub_epoch && c.pos == w.pull_from => Some(c),
            _ => Some(Cursor { epoch: w.hub_epoch, pos: w.pull_from, last: None }),
        };
        self.push_next = w.push_from;
        self.push_end = log_end;
        self.stage = NodeStage::Pushing;
        self.fill_push_window(r, self.batches_per_step())
    }

    fn batches_per_step(&self) -> usize {
        if self.one_at_a_time {
            1
        } else {
            WINDOW
        }
    }

    /// Up to `max` new push batches while the window allows, then `PushDone` once everything
    /// is sent.
    fn fill_push_window(&mut self, r: &mut impl NodeReplica, max: usize) -> Result<Vec<Message>, SyncError> {
        let mut out = Vec::new();
        while self.inflight < WINDOW && out.len() < max {
            match self.next_push_batch(r)? {
                Some(b) => {
                    self.outcome.sent += b.revisions.len() as u64;
                    self.inflight += 1;
                    out.push(Message::PushBatch(b));
                }
                None => break,
            }
        }
        if self.push_next >= self.push_end && !self.push_done_sent {
            self.push_done_sent = true;
            out.push(Message::PushDone);
        }
        Ok(out)
    }

    fn next_push_batch(&mut self, r: &mut impl NodeReplica) -> Result<Option<PushBatch>, SyncError> {
        if self.push_next >= self.push_end {
            return Ok(None);
        }
        let from = self.push_next;
        let mut pos = from;
        let mut revisions = Vec::new();
        let mut bytes = 0usize;
        'scan: while pos < self.push_end {
            let want = (self.push_end - pos).min(LOG_CHUNK as u64) as usize;
            let entries = r.log_range(pos, want)?;
            if entries.is_empty() {
                // The log is shorter than its recorded end: nothing more to send.
                self.push_end = pos;
                break;
            }
            for e in entries {
                if e.pos >= self.push_end {
                    break 'scan;
                }
                pos = e.pos + 1;
                self.push_last = Some(e.rev);
                if e.from.is_none() {
                    let rev = r
                        .log_revision(&e)?
                        .ok_or_else(|| StoreFault(format!("日志第 {} 条指向不存在的修订 {}", e.pos, e.rev)))?;
                    bytes += encoded_len(&rev)?;
                    revisions.push(rev);
                    if revisions.len() >= BATCH_MAX_REVISIONS || bytes >= BATCH_MAX_BYTES {
                        break 'scan;
                    }
                }
            }
        }
        if pos == from {
            return Ok(None);
        }
        self.push_next = pos;
        Ok(Some(PushBatch { from, up_to: pos, last: self.push_last, revisions }))
    }

    fn on_pull_batch(&mut self, r: &mut impl NodeReplica, b: PullBatch) -> Result<Vec<Message>, SyncError> {
        if self.stage == NodeStage::Pushing {
            if self.inflight > 0 {
                return Err(protocol("还有推送批次未确认，平台就开始发送数据"));
            }
            self.stage = NodeStage::Pulling;
        }
        if !b.revisions.is_empty() {
            let applied = r.apply_pulled(&b.revisions)?;
            self.outcome.received += applied.new as u64;
            self.outcome.conflicts.extend(applied.conflicts);
        }
        let mut cur = self.pull.unwrap_or(Cursor { epoch: self.hub_epoch, pos: 0, last: None });
        if b.from <= cur.pos && b.up_to > cur.pos {
            cur.pos = b.up_to;
            cur.last = b.last;
            let refetch_done = self.refetch_own_below > 0 && cur.pos >= self.refetch_own_below;
            r.save_pull_cursor(&cur, refetch_done)?;
            if refetch_done {
                self.refetch_own_below = 0;
            }
            self.pull = Some(cur);
        }
        let mut out = vec![Message::PullAck(PullAck { up_to: cur.pos })];
        if b.done && self.stage != NodeStage::AwaitBye {
            self.stage = NodeStage::AwaitBye;
            out.push(Message::Bye);
        }
        Ok(out)
    }
}

// ---- the hub's session ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HubStage {
    AwaitHello,
    AwaitPush,
    Pulling,
    Done,
}

/// Who the hub is talking to, and the county's settings for the session.
#[derive(Debug, Clone)]
pub struct HubContext {
    /// From the node's certificate.
    pub node: String,
    pub township: String,
    /// Every other registered node's name.
    pub other_nodes: BTreeSet<String>,
    pub future_bound_ms: u64,
    /// The county configuration nodes should hold.
    pub config: Option<CountyConfig>,
}

/// What a hub's session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubOutcome {
    /// Revisions new to the hub.
    pub received: u64,
    /// Revisions the hub already held.
    pub known: u64,
    pub rejected: Vec<Rejected>,
    /// Revisions sent to the node.
    pub sent: u64,
    /// The node said Bye after receiving everything: a successful sync.
    pub complete: bool,
    pub reset_epoch: bool,
    pub rotated_hub_epoch: bool,
}

/// The hub's side of one session with one node.
#[derive(Debug)]
pub struct HubSession {
    ctx: HubContext,
    stage: HubStage,
    hellos: u8,
    batches: u64,
    push: Option<Cursor>,
    pull_pos: u64,
    pull_end: u64,
    pull_inflight: usize,
    pull_done_sent: bool,
    refetch_own_below: u64,
    /// The node's clock as its Hello said.
    node_clock_ms: Option<u64>,
    sent_ids: HashSet<RevId>,
    whole_sent: HashSet<RecordId>,
    outcome: HubOutcome,
}

impl HubSession {
    pub fn new(ctx: HubContext) -> HubSession {
        HubSession {
            ctx,
            stage: HubStage::AwaitHello,
            hellos: 0,
            batches: 0,
            push: None,
            pull_pos: 0,
            pull_end: 0,
            pull_inflight: 0,
            pull_done_sent: false,
            refetch_own_below: 0,
            node_clock_ms: None,
            sent_ids: HashSet::new(),
            whole_sent: HashSet::new(),
            outcome: HubOutcome::default(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.stage == HubStage::Done
    }

    pub fn outcome(&self) -> &HubOutcome {
        &self.outcome
    }

    pub fn context(&self) -> &HubContext {
        &self.ctx
    }

    /// Handles one message from the node at hub time `now_ms`; returns the messages to send.
    pub fn handle(&mut self, r: &mut impl HubReplica, msg: Message, now_ms: u64) -> Result<Vec<Message>, SyncError> {
        match (self.stage, msg) {
            (_, Message::Error(text)) => Err(SyncError::Remote(text)),
            (HubStage::AwaitHello, Message::Hello(h)) => self.on_hello(r, h, now_ms),
            (HubStage::AwaitPush, Message::Hello(h)) if self.batches == 0 && self.hellos < 2 => {
                self.on_hello(r, h, now_ms)
            }
            (HubStage::AwaitPush, Message::PushBatch(b)) => self.on_push(r, b, now_ms),
            (HubStage::AwaitPush, Message::PushDone) => {
                self.stage = HubStage::Pulling;
                self.pull_end = r.log_end()?;
                self.fill_pull_window(r)
            }
            (HubStage::Pulling, Message::PullAck(_)) => {
                self.pull_inflight = self.pull_inflight.saturating_sub(1);
                self.fill_pull_window(r)
            }
            (HubStage::Pulling, Message::Bye) if self.pull_done_sent => {
                self.outcome.complete = true;
                self.stage = HubStage::Done;
                Ok(vec![Message::Bye])
            }
            (stage, msg) => Err(protocol(format!("意外的消息 {}（平台阶段 {stage:?}）", msg.name()))),
        }
    }

    fn on_hello(&mut self, r: &mut impl HubReplica, h: Hello, now_ms: u64) -> Result<Vec<Message>, SyncError> {
        self.hellos += 1;
        self.node_clock_ms = Some(h.node_clock_ms);
        let recorded = r.push_cursor(&self.ctx.node)?;
        let mut hub_epoch = r.epoch()?;
        let hub_log_end = r.log_end()?;
        let at_pull = match &h.pull {
            Some(p) if p.pos > 0 && p.pos <= hub_log_end => {
                r.log_range(p.pos - 1, 1)?.into_iter().find(|e| e.pos == p.pos - 1).map(|e| e.rev)
            }
            _ => None,
        };
        let plan = plan_welcome(recorded.as_ref(), &h, hub_epoch, hub_log_end, at_pull);
        if plan.rotate_hub_epoch {
            hub_epoch = r.rotate_epoch()?;
            self.outcome.rotated_hub_epoch = true;
        }
        self.outcome.reset_epoch |= plan.reset_epoch;
        let push = Cursor { epoch: h.node_epoch, pos: plan.push_from, last: plan.push_check };
        if plan.fresh {
            // From now on this is the node's epoch: a later session resumes rather than starts
            // over (the node itself keeps asking for its own revisions until it has them).
            r.set_push_cursor(&self.ctx.node, &push)?;
        }
        self.push = Some(push);
        self.pull_pos = plan.pull_from;
        self.refetch_own_below = h.refetch_own_below.max(plan.refetch_own_below);
        self.stage = HubStage::AwaitPush;
        let config = match &self.ctx.config {
            Some(c) if c.version > h.config_version => Some(c.clone()),
            _ => None,
        };
        Ok(vec![Message::Welcome(Box::new(Welcome {
            node: self.ctx.node.clone(),
            township: self.ctx.township.clone(),
            hub_epoch,
            hub_log_end,
            push_from: plan.push_from,
            push_check: plan.push_check,
            reset_epoch: plan.reset_epoch,
            pull_from: plan.pull_from,
            refetch_own_below: plan.refetch_own_below,
            hub_clock_ms: now_ms,
            future_bound_ms: self.ctx.future_bound_ms,
            config,
        }))])
    }

    fn on_push(&mut self, r: &mut impl HubReplica, b: PushBatch, now_ms: u64) -> Result<Vec<Message>, SyncError> {
        self.batches += 1;
        let mut accepted: Vec<Revision> = Vec::with_capacity(b.revisions.len());
        let mut rejected = Vec::new();
        let mut known = 0u32;
        let mut seen: HashSet<RevId> = HashSet::with_capacity(b.revisions.len());
        // Scopes of records created earlier in this batch, and records whose creation was refused.
        let mut overlay: HashMap<RecordId, BTreeSet<String>> = HashMap::new();
        let mut refused: HashSet<RecordId> = HashSet::new();
        // Records read for the write checks, with what this batch accepted for them so far.
        let mut states: HashMap<RecordId, Record> = HashMap::new();
        // Origins this batch claims for the node (offline names nobody owned).
        let mut claims: BTreeSet<String> = BTreeSet::new();
        let org = r.org().clone();
        let ctx = CheckContext {
            node: &self.ctx.node,
            township: &self.ctx.township,
            org: &org,
            now_ms,
            future_bound_ms: self.ctx.future_bound_ms,
            other_nodes: &self.ctx.other_nodes,
            node_clock_ms: self.node_clock_ms,
        };
        for rev in b.revisions {
            if !seen.insert(rev.id) {
                continue;
            }
            if r.contains(&rev)? {
                // Already held: a replay, harmless whatever its scope is now.
                known += 1;
                continue;
            }
            if refused.contains(&rev.record) {
                rejected.push(Rejected {
                    revision: rev.id,
                    record: rev.record,
                    reason: format!("建立记录 {} 的修订已被拒绝，此修订随之拒绝", rev.record),
                });
                continue;
            }
            let mut scope = match overlay.get(&rev.record) {
                Some(s) => Some(s.clone()),
                None => r.scope(rev.record)?,
            };
            let writes = match &mut scope {
                Some(townships) if needs_write_check(&rev) => {
                    let w = writes_of(r, &rev, &accepted, &mut states)?;
                    townships.extend(replaced_townships(&rev, &w, &org));
                    Some(w)
                }
                _ => None,
            };
            let mut verdict = check_revision(&rev, scope.as_ref(), &ctx);
            if verdict.is_ok() && rev.origin != self.ctx.node && !claims.contains(&rev.origin) {
                let owner = r.origin_owner(&rev.origin)?;
                verdict = check_origin(&rev.origin, owner.as_deref(), &ctx).map(|u| {
                    if u == OriginUse::Claim {
                        claims.insert(rev.origin.clone());
                    }
                });
            }
            if let (Ok(()), Some(w)) = (&verdict, &writes) {
                verdict = check_writes(&rev, w);
            }
            match verdict {
                Ok(()) => {
                    if scope.is_none() {
                        if let Some(cs) = create_scope(&rev, &org) {
                            let mut eff = cs.townships;
                            if let Some(student) = cs.student {
                                let st = match overlay.get(&student) {
                                    Some(s) => Some(s.clone()),
                                    None => r.scope(student)?,
                                };
                                eff.extend(st.unwrap_or_default());
                            }
                            overlay.insert(rev.record, eff);
                        }
                    }
                    if let Some(state) = states.get_mut(&rev.record) {
                        state.apply(&rev);
                        if writes_placement(&rev) {
                            // What follows in the batch sees the student where this put it.
                            overlay.insert(rev.record, record_scope(state, &org).townships);
                        }
                    }
                    accepted.push(rev);
                }
                Err(reason) => {
                    if is_create(&rev) {
                        refused.insert(rev.record);
                    }
                    rejected.push(Rejected { revision: rev.id, record: rev.record, reason });
                }
            }
        }
        // The claims first: once a revision with a claimed origin is held, so is its owner.
        for origin in &claims {
            if accepted.iter().any(|a| a.origin == *origin) {
                r.claim_origin(origin, &self.ctx.node)?;
            }
        }
        let applied = if accepted.is_empty() { ApplyOutcome::default() } else { r.apply(&accepted, &self.ctx.node)? };
        self.outcome.received += applied.new as u64;
        self.outcome.known += u64::from(known);
        self.outcome.rejected.extend(rejected.iter().cloned());
        let cur = self.push.get_or_insert(Cursor { epoch: 0, pos: 0, last: None });
        if b.from <= cur.pos && b.up_to > cur.pos {
            cur.pos = b.up_to;
            cur.last = b.last;
            let c = *cur;
            r.set_push_cursor(&self.ctx.node, &c)?;
        }
        let up_to = self.push.map(|c| c.pos).unwrap_or(0);
        Ok(vec![Message::PushAck(PushAck {
            up_to,
            new: applied.new as u32,
            known,
            rejected,
            conflicts: applied.conflicts,
        })])
    }

    fn fill_pull_window(&mut self, r: &mut impl HubReplica) -> Result<Vec<Message>, SyncError> {
        let mut out = Vec::new();
        while self.pull_inflight < WINDOW && !self.pull_done_sent {
            let b = self.next_pull_batch(r)?;
            self.pull_inflight += 1;
            self.pull_done_sent = b.done;
            self.outcome.sent += b.revisions.len() as u64;
            out.push(Message::PullBatch(b));
        }
        Ok(out)
    }

    fn next_pull_batch(&mut self, r: &mut impl HubReplica) -> Result<PullBatch, SyncError> {
        let from = self.pull_pos;
        let mut pos = from;
        let mut last = None;
        let mut revisions: Vec<Revision> = Vec::new();
        let mut bytes = 0usize;
        let mut scanned = 0usize;
        let mut scopes: HashMap<RecordId, bool> = HashMap::new();
        'scan: while pos < self.pull_end {
            let want = (self.pull_end - pos).min(LOG_CHUNK as u64) as usize;
            let entries = r.log_range(pos, want)?;
            if entries.is_empty() {
                pos = self.pull_end;
                break;
            }
            for e in entries {
                if e.pos >= self.pull_end {
                    break 'scan;
                }
                pos = e.pos + 1;
                last = Some(e.rev);
                scanned += 1;
                let own = e.from.as_deref() == Some(self.ctx.node.as_str());
                // Own revisions are skipped, except those a restored node asks back.
                let skip_own = own && e.pos >= self.refetch_own_below;
                if !skip_own && !self.sent_ids.contains(&e.rev) {
                    if let Some(rev) = r.log_revision(&e)? {
                        let visible = match scopes.get(&rev.record) {
                            Some(v) => *v,
                            None => {
                                let v = r.scope(rev.record)?.is_some_and(|s| s.contains(&self.ctx.township));
                                scopes.insert(rev.record, v);
                                v
                            }
                        };
                        if visible {
                            if writes_placement(&rev) && self.whole_sent.insert(rev.record) {
                                // A transfer (or any placement) into this township: the student's
                                // whole history and cases go with it (籍随人走).
                                let mut whole = r.history(rev.record)?;
                                for case in r.cases_of(rev.record)? {
                                    whole.extend(r.history(case)?);
                                }
                                for h in whole {
                                    if self.sent_ids.insert(h.id) {
                                        bytes += encoded_len(&h)?;
                                        revisions.push(h);
                                    }
                                }
                            }
                            if self.sent_ids.insert(rev.id) {
                                bytes += encoded_len(&rev)?;
                                revisions.push(rev);
                            }
                        } else if writes_placement(&rev)
                            && moves_out_of(r, &rev, &self.ctx.township)?
                            && self.sent_ids.insert(rev.id)
                        {
                            // The acceptance of a transfer out of this township: the sending
                            // node learns where the child went (and its copy turns read-only);
                            // nothing the new township records afterwards comes here.
                            bytes += encoded_len(&rev)?;
                            revisions.push(rev);
                        }
                    }
                }
                if revisions.len() >= BATCH_MAX_REVISIONS || bytes >= BATCH_MAX_BYTES || scanned >= PULL_SCAN_MAX {
                    break 'scan;
                }
            }
        }
        self.pull_pos = pos;
        Ok(PullBatch { from, up_to: pos, last, revisions, done: pos >= self.pull_end })
    }
}

// ---- the bundle -------------------------------------------------------------------------------

/// The format tag of a node bundle.
pub const BUNDLE_FORMAT: &str = "baoxue-bundle/1";

/// Everything a node needs to join its county's hub, as one TOML text file issued by
/// `baoxue-hub node add`. It holds the node's private key: keep it like a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// The node's name (unique in the county; in its certificate).
    pub node: String,
    pub township: String,
    pub county_code: String,
    pub county_name: String,
    /// `host:port` of the hub.
    pub hub_addr: String,
    /// The name in the hub's certificate the node checks.
    pub server_name: String,
    pub issued: String,
    pub config_version: u64,
    pub ca_cert: String,
    pub node_cert: String,
    pub node_key: String,
    pub org_csv: String,
    pub policy_toml: String,
}

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("配置包不是有效的 TOML：{0}")]
    Toml(String),
    #[error("配置包格式“{0}”不受支持（应为 {BUNDLE_FORMAT}）")]
    Format(String),
    #[error("配置包缺少{0}")]
    Missing(&'static str),
    #[error("配置包无法写出：{0}")]
    Write(String),
}

impl Bundle {
    pub fn to_text(&self) -> Result<String, BundleError> {
        let body = toml::to_string(self).map_err(|e| BundleError::Write(e.to_string()))?;
        Ok(format!(
            "# baoxue 节点配置包：节点 {}（{}），{}（{}）\n# 含节点私钥，请像密码一样保管；在节点上执行 baoxue-node init --bundle 本文件\n{body}",
            self.node, self.township, self.county_name, self.county_code
        ))
    }

    pub fn parse(text: &str) -> Result<Bundle, BundleError> {
        let text = text.trim_start_matches('\u{feff}');
        let b: Bundle = toml::from_str(text).map_err(|e| BundleError::Toml(e.to_string()))?;
        if b.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(b.format));
        }
        let required: [(&str, &'static str); 8] = [
            (&b.node, "节点名称（node）"),
            (&b.township, "乡镇（township）"),
            (&b.county_code, "县代码（county_code）"),
            (&b.hub_addr, "平台地址（hub_addr）"),
            (&b.server_name, "平台证书名称（server_name）"),
            (&b.ca_cert, "县 CA 证书（ca_cert）"),
            (&b.node_cert, "节点证书（node_cert）"),
            (&b.node_key, "节点私钥（node_key）"),
        ];
        for (v, what) in required {
            if v.trim().is_empty() {
                return Err(BundleError::Missing(what));
            }
        }
        Ok(b)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}@{}", self.epoch, self.pos)
    }
}

/// Records in conflict among `records` (for reports): `(record, fields)`.
pub fn conflicts_of<'a>(records: impl IntoIterator<Item = &'a Record>) -> BTreeMap<RecordId, Vec<Field>> {
    records
        .into_iter()
        .filter_map(|r| {
            let f: Vec<Field> = r.conflicts().into_iter().map(|(f, _)| f).collect();
            (!f.is_empty()).then_some((r.id, f))
        })
        .collect()
}

#[cfg(test)]
mod tests;
