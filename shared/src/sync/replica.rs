//! The replicas as the engine sees them: the traits the drivers implement over the store (and the
//! tests in memory).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::error::StoreFault;
use super::messages::{CountyConfig, Cursor, Rejected};
use crate::codec::{self, CodecError};
use crate::org::Org;
use crate::revision::{RecordId, RevId, Revision};
use crate::state::Record;

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

/// The store epochs a node has used, as the hub keeps them: a node that takes a new epoch (a
/// restore, a rebuilt PC) moves forward once; an epoch it left behind that comes back means two
/// machines share one identity (克隆身份).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIncarnations {
    /// Epochs this node used before its current one (the newest last, at most
    /// [`MAX_RETIRED_EPOCHS`]).
    pub retired: Vec<u64>,
    /// When (hub clock, ms) a retired epoch first came back, and which: the identity is in use
    /// on two machines; that machine is refused until the bureau re-issues the node.
    pub clone_seen_ms: Option<u64>,
    pub clone_epoch: Option<u64>,
}

/// How many superseded epochs the hub remembers per node.
pub const MAX_RETIRED_EPOCHS: usize = 32;

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
    /// The store epochs `node` has used (none recorded: default).
    fn incarnations(&self, node: &str) -> Result<NodeIncarnations, StoreFault>;
    /// Records (durably) the store epochs of `node`.
    fn set_incarnations(&mut self, node: &str, inc: &NodeIncarnations) -> Result<(), StoreFault>;
    /// Student records whose 学籍号 is `no`.
    fn students_numbered(&self, no: &str) -> Result<Vec<RecordId>, StoreFault>;
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

pub(super) fn encoded_len(rev: &Revision) -> Result<usize, CodecError> {
    codec::encoded_len(rev)
}
