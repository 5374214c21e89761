//! The node's session: hello, push in windows, pull and apply, bye.

use std::collections::BTreeSet;

use super::error::{protocol, StoreFault, SyncError};
use super::messages::{Cursor, Hello, Message, PullAck, PullBatch, PushBatch, Rejected, Welcome};
use super::replica::{encoded_len, NodeReplica};
use super::welcome::node_must_reset;
use super::{BATCH_MAX_BYTES, BATCH_MAX_REVISIONS, DEFAULT_FUTURE_BOUND_MS, LOG_CHUNK, REVISION_MAX_BYTES, WINDOW};
use crate::revision::{RecordId, RevId};

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
        // The hub holds this node's log durably up to `push_from`: recorded as acknowledged, so
        // a session cut after the hub applied a batch but before its PushAck arrived does not
        // leave those revisions counted as unacknowledged for ever (issue 14).
        if w.push_from > 0 {
            r.save_push_ack(self.epoch, w.push_from, &[])?;
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
                    let size = encoded_len(&rev)?;
                    if size > REVISION_MAX_BYTES {
                        // Written before the limit existed: never sent (it could not pass), kept
                        // here with its reason like a refusal; what follows syncs normally.
                        let rej = Rejected {
                            revision: rev.id,
                            record: rev.record,
                            reason: format!("修订过大：{size} 字节，上限 {REVISION_MAX_BYTES} 字节，未上报"),
                        };
                        r.save_push_ack(self.epoch, 0, std::slice::from_ref(&rej))?;
                        if !self.outcome.rejected.iter().any(|x| x.revision == rej.revision) {
                            self.outcome.rejected.push(rej);
                        }
                        continue;
                    }
                    bytes += size;
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
