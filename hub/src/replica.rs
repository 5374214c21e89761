//! The hub's store as the sync engine sees it ([`HubReplica`]), with the per-record scope index
//! that lets the hub check and filter revisions without decoding every record.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use baoxue_shared::org::Org;
use baoxue_shared::sync::{
    create_scope, is_create, record_scope, ApplyOutcome, Cursor, HubReplica, LogItem, NodeIncarnations, RecordScope,
    StoreFault,
};
use baoxue_shared::{Change, Record, RecordId, RevId, Revision};
use baoxue_store::{Store, StoreError, StoreWriter};

/// Meta key prefix of the hub's push cursor for a node (`push_cursor/<node name>`).
pub const META_PUSH_CURSOR: &str = "push_cursor/";
/// Meta key prefix of the node that owns an origin other than its own name
/// (`origin_owner/<origin>`: the offline name it used before joining).
pub const META_ORIGIN_OWNER: &str = "origin_owner/";
/// `incarnations/<node>` → the store epochs the node has used ([`NodeIncarnations`]).
pub const META_INCARNATIONS: &str = "incarnations/";

/// Each record's own scope (its township(s); a case's student), kept in memory, filled on
/// first use from the derived record and updated whenever a revision that can change it is
/// applied. Cleared when the org changes (schools may have moved between townships).
#[derive(Debug, Default)]
pub struct ScopeIndex {
    map: Mutex<HashMap<RecordId, RecordScope>>,
}

impl ScopeIndex {
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RecordId, RecordScope>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn fault(e: StoreError) -> StoreFault {
    StoreFault(e.to_string())
}

/// The store's log entry behind an engine's log item.
pub fn log_entry(item: &LogItem) -> baoxue_store::LogEntry {
    baoxue_store::LogEntry {
        rev: item.rev,
        from: item.from.clone(),
        record: item.record,
        group: item.at.0,
        slot: item.at.1,
    }
}

/// [`HubReplica`] over the hub's store.
pub struct StoreHub<'a> {
    pub store: &'a Store,
    pub org: Arc<Org>,
    pub scopes: &'a ScopeIndex,
    /// The store's writer, taken by the first `contains` of a push batch and released by its
    /// `apply`, so that the apply does not look up again what the checks found absent.
    writer: RefCell<Option<StoreWriter<'a>>>,
}

impl<'a> StoreHub<'a> {
    pub fn new(store: &'a Store, org: Arc<Org>, scopes: &'a ScopeIndex) -> StoreHub<'a> {
        StoreHub { store, org, scopes, writer: RefCell::new(None) }
    }

    fn own_scope(&self, id: RecordId) -> Result<Option<RecordScope>, StoreFault> {
        if let Some(s) = self.scopes.lock().get(&id) {
            return Ok(Some(s.clone()));
        }
        // During a push batch, through the writer: the apply then need not read again a record
        // found absent here.
        let rec = match self.writer.borrow_mut().as_mut() {
            Some(w) => w.record(id),
            None => self.store.record(id),
        };
        let Some(rec) = rec.map_err(fault)? else {
            return Ok(None);
        };
        if !rec.is_complete() {
            return Ok(None);
        }
        let s = record_scope(&rec, &self.org);
        self.scopes.lock().insert(id, s.clone());
        Ok(Some(s))
    }
}

impl HubReplica for StoreHub<'_> {
    fn epoch(&self) -> Result<u64, StoreFault> {
        self.store.epoch().map_err(fault)
    }
    fn rotate_epoch(&mut self) -> Result<u64, StoreFault> {
        let e = self.store.new_epoch().map_err(fault)?;
        tracing::warn!(epoch = format!("{e:016x}"), "县级平台的数据曾从备份恢复：开始新纪元，各节点将重新完整拉取");
        Ok(e)
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
        self.store.log_revision(&log_entry(item)).map_err(fault)
    }
    fn revision(&self, record: RecordId, id: RevId) -> Result<Option<Revision>, StoreFault> {
        self.store.revision(record, id).map_err(fault)
    }
    fn contains(&self, rev: &Revision) -> Result<bool, StoreFault> {
        self.writer.borrow_mut().get_or_insert_with(|| self.store.writer()).contains(rev).map_err(fault)
    }
    fn scope(&self, record: RecordId) -> Result<Option<BTreeSet<String>>, StoreFault> {
        let Some(own) = self.own_scope(record)? else {
            return Ok(None);
        };
        let mut t = own.townships;
        if let Some(student) = own.student {
            if let Some(s) = self.own_scope(student)? {
                t.extend(s.townships);
            }
        }
        Ok(Some(t))
    }
    fn history(&self, record: RecordId) -> Result<Vec<Revision>, StoreFault> {
        self.store.history(record).map_err(fault)
    }
    fn cases_of(&self, student: RecordId) -> Result<Vec<RecordId>, StoreFault> {
        self.store.cases_of(student).map_err(fault)
    }
    fn org(&self) -> &Org {
        &self.org
    }
    fn record(&self, id: RecordId) -> Result<Option<Record>, StoreFault> {
        // Through the writer during a push batch, like `own_scope`.
        match self.writer.borrow_mut().as_mut() {
            Some(w) => w.record(id),
            None => self.store.record(id),
        }
        .map_err(fault)
    }
    fn apply(&mut self, revs: &[Revision], from: &str) -> Result<ApplyOutcome, StoreFault> {
        // Scope changes and possible conflicts, from the records' new states as the store
        // writes them (no second read); the scope cache is updated once they are durable.
        let mut scopes: Vec<(RecordId, RecordScope, bool)> = Vec::new();
        let mut conflicts = Vec::new();
        let mut writer = self.writer.take().unwrap_or_else(|| self.store.writer());
        let applied = writer
            .apply_with(revs, Some(from), |rec, new| {
                if new.iter().any(|r| matches!(r.change, Change::Update(_))) {
                    if rec.is_complete() {
                        scopes.push((rec.id, record_scope(rec, &self.org), true));
                    }
                    if !rec.conflicts().is_empty() {
                        conflicts.push(rec.id);
                    }
                } else if let Some(s) = new.iter().find(|r| is_create(r)).and_then(|r| create_scope(r, &self.org)) {
                    scopes.push((rec.id, s, false));
                }
            })
            .map_err(fault)?;
        drop(writer);
        let mut cache = self.scopes.lock();
        for (id, s, replace) in scopes {
            if replace {
                cache.insert(id, s);
            } else {
                cache.entry(id).or_insert(s);
            }
        }
        Ok(ApplyOutcome { new: applied.new.len(), conflicts })
    }
    fn push_cursor(&self, node: &str) -> Result<Option<Cursor>, StoreFault> {
        self.store.get_meta(&format!("{META_PUSH_CURSOR}{node}")).map_err(fault)
    }
    fn set_push_cursor(&mut self, node: &str, cursor: &Cursor) -> Result<(), StoreFault> {
        self.store.put_meta(&format!("{META_PUSH_CURSOR}{node}"), cursor).map_err(fault)?;
        self.store.flush().map_err(fault)
    }
    fn origin_owner(&self, origin: &str) -> Result<Option<String>, StoreFault> {
        self.store.get_meta(&format!("{META_ORIGIN_OWNER}{origin}")).map_err(fault)
    }
    fn claim_origin(&mut self, origin: &str, node: &str) -> Result<(), StoreFault> {
        tracing::info!(origin, node, "节点加入前使用的离线名称登记为该节点所有");
        self.store.put_meta(&format!("{META_ORIGIN_OWNER}{origin}"), &node.to_string()).map_err(fault)?;
        self.store.flush().map_err(fault)
    }
    fn incarnations(&self, node: &str) -> Result<NodeIncarnations, StoreFault> {
        Ok(self.store.get_meta(&format!("{META_INCARNATIONS}{node}")).map_err(fault)?.unwrap_or_default())
    }
    fn set_incarnations(&mut self, node: &str, inc: &NodeIncarnations) -> Result<(), StoreFault> {
        if inc.clone_seen_ms.is_some() {
            tracing::warn!(node, "克隆身份：节点已被另一台机器取代的数据纪元再次连接，已拒绝");
        }
        self.store.put_meta(&format!("{META_INCARNATIONS}{node}"), inc).map_err(fault)?;
        self.store.flush().map_err(fault)
    }
    fn students_numbered(&self, no: &str) -> Result<Vec<RecordId>, StoreFault> {
        self.store.by_student_no(no).map_err(fault)
    }
}
