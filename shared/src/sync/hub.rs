//! The hub's session: welcome, check and apply pushes, serve the node's scope, bye.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::admission::{
    check_origin, check_revision, check_writes, needs_write_check, replaced_townships, writes_of, CheckContext,
    OriginUse, Refusal,
};
use super::error::{protocol, SyncError};
use super::messages::{CountyConfig, Cursor, Hello, Message, PullBatch, PushAck, PushBatch, Rejected, Welcome};
use super::replica::{encoded_len, ApplyOutcome, HubReplica, MAX_RETIRED_EPOCHS};
use super::scope::{create_scope, is_create, moves_out_of, record_scope, writes_placement};
use super::welcome::plan_welcome;
use super::{BATCH_MAX_BYTES, BATCH_MAX_REVISIONS, LOG_CHUNK, PULL_SCAN_MAX, REVISION_MAX_BYTES, WINDOW};
use crate::revision::{Change, Field, RecordId, RevId, Revision};
use crate::state::Record;

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
    /// How far into the hub's log the node has confirmed holding everything in its scope:
    /// the cursor its Hello carried (when the hub accepted it) or a later pull acknowledgement.
    /// What was only sent does not count.
    pub pulled: Option<Pulled>,
}

/// A position in the hub's log a node has confirmed holding: entries `[0, pos)` of hub epoch
/// `epoch` that are in the node's scope are durable at the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pulled {
    pub epoch: u64,
    pub pos: u64,
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
    /// The hub's epoch this session runs in.
    hub_epoch: u64,
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
            hub_epoch: 0,
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
            (HubStage::Pulling, Message::PullAck(a)) => {
                // The node acknowledges only after its cursor is durable; a position beyond
                // what was scanned for it is not believed.
                if a.up_to <= self.pull_pos {
                    self.confirm_pulled(a.up_to);
                }
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
        // A store epoch this node already left behind: a second machine under its identity.
        let mut inc = r.incarnations(&self.ctx.node)?;
        let moved = recorded.as_ref().is_some_and(|c| c.epoch != h.node_epoch);
        if moved && inc.retired.contains(&h.node_epoch) {
            if inc.clone_seen_ms.is_none() {
                inc.clone_seen_ms = Some(now_ms);
                inc.clone_epoch = Some(h.node_epoch);
                r.set_incarnations(&self.ctx.node, &inc)?;
            }
            return Err(SyncError::ClonedIdentity { node: self.ctx.node.clone(), epoch: h.node_epoch });
        }
        let plan = plan_welcome(recorded.as_ref(), &h, hub_epoch, hub_log_end, at_pull);
        if let (true, Some(old)) = (moved && plan.fresh, recorded.as_ref()) {
            // The node moved to a new epoch (restored, or a new machine): the old one is retired
            // for good, so a machine still using it is refused from now on.
            if !inc.retired.contains(&old.epoch) {
                inc.retired.push(old.epoch);
                let excess = inc.retired.len().saturating_sub(MAX_RETIRED_EPOCHS);
                inc.retired.drain(..excess);
                r.set_incarnations(&self.ctx.node, &inc)?;
            }
        }
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
        self.hub_epoch = hub_epoch;
        // Where the hub resumes is what the node holds for sure: its durable cursor when the
        // hub accepted it, else nothing (a new or restored node, a hub restored from backup).
        self.outcome.pulled = Some(Pulled { epoch: hub_epoch, pos: plan.pull_from });
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

    fn confirm_pulled(&mut self, pos: u64) {
        let epoch = self.hub_epoch;
        match &mut self.outcome.pulled {
            Some(p) if p.epoch == epoch => p.pos = p.pos.max(pos),
            other => *other = Some(Pulled { epoch, pos }),
        }
    }

    /// A student of this node's township the hub already holds under 学籍号 `no`.
    fn same_township_student(&self, r: &impl HubReplica, no: &str) -> Result<Option<RecordId>, SyncError> {
        for id in r.students_numbered(no)? {
            if r.scope(id)?.is_some_and(|t| t.contains(&self.ctx.township)) {
                return Ok(Some(id));
            }
        }
        Ok(None)
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
        // 学籍号 of the students this batch creates.
        let mut created_nos: HashMap<String, RecordId> = HashMap::new();
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
            if verdict.is_ok() {
                let bytes = encoded_len(&rev)?;
                if bytes > REVISION_MAX_BYTES {
                    verdict = Err(Refusal::TooLarge { bytes, max: REVISION_MAX_BYTES });
                }
            }
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
            if let (Ok(()), None, Change::CreateStudent(init)) = (&verdict, &scope, &rev.change) {
                // One 学籍号, one student in a township: a copy made by a second machine under
                // this identity would leave the child unaddressable by 学籍号.
                let no = init.student_no.as_str();
                let existing = match created_nos.get(no) {
                    Some(id) => Some(*id),
                    None => self.same_township_student(r, no)?,
                };
                if let Some(existing) = existing {
                    verdict = Err(Refusal::DuplicateStudentNo { no: init.student_no.masked(), existing });
                } else {
                    created_nos.insert(no.to_string(), rev.record);
                }
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
                    rejected.push(Rejected { revision: rev.id, record: rev.record, reason: reason.to_string() });
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
