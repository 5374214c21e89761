//! What the two sides say to each other: cursors, the county configuration and the session's
//! messages.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::revision::{RecordId, RevId, Revision};

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

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}@{}", self.epoch, self.pos)
    }
}
