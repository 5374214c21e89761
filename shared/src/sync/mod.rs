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

mod admission;
mod bundle;
mod error;
mod frames;
mod hub;
mod messages;
mod node;
mod replica;
mod schedule;
mod scope;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
mod welcome;

pub use admission::{
    check_assign, check_origin, check_revision, clock_text, future_clock_text, is_offline_origin,
    legal_placement_change, needs_write_check, value_written, CheckContext, OriginUse, Refusal,
};
pub use bundle::{Bundle, BundleError, BUNDLE_FORMAT};
pub use error::{StoreFault, SyncError};
pub use frames::{decode_frame, encode_frame, version_mismatch, FrameError, Side};
pub use hub::{conflicts_of, HubContext, HubOutcome, HubSession, Pulled};
pub use messages::{CountyConfig, Cursor, Hello, Message, PullAck, PullBatch, PushAck, PushBatch, Rejected, Welcome};
pub use node::{NodeOutcome, NodeSession};
pub use replica::{
    ApplyOutcome, HubReplica, LogItem, NodeIncarnations, NodeReplica, NodeSyncState, MAX_RETIRED_EPOCHS,
};
pub use schedule::{
    backoff_ms, next_sync_at, night_jitter_ms, night_of, night_slot, DEFAULT_RETRY_BASE_MS, RETRY_MAX_MS, TZ_OFFSET_MS,
};
pub use scope::{affects_scope, create_scope, is_create, placement_townships, record_scope, RecordScope};
pub use welcome::{node_must_reset, plan_welcome, WelcomePlan};

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
/// The largest encoded revision any replica writes, sends or accepts: far below one batch and
/// the frame limit, and far above any revision of valid input (docs/limits.md), so one revision
/// can never block a sync.
pub const REVISION_MAX_BYTES: usize = 256 * 1024;
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
