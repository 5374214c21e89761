//! # baoxue-store
//!
//! The only crate that knows sled. One store per node and one at the hub, same layout:
//!
//! - `revs`: revision id → encoded revision (the immutable facts);
//! - `log`: local position → (revision id, who sent it): the order this store learnt things in,
//!   which sync cursors point into;
//! - `by_record`: record id ++ revision id → () (a record's history);
//! - `records`: record id → derived state (the merge of its revisions, see `shared::state`);
//! - `idx`: secondary indexes (学籍号, 身份证号, cases of a student);
//! - `meta`: epoch, clock, sequence counters, cursors and configuration.
//!
//! **Invariant**: a call that returns `Ok` from [`Store::apply`] or [`Store::commit`] has
//! flushed to disk. Writes go in an order that makes a crash at any point harmless: derived
//! state first (folding is idempotent), the "known" marker (`revs`, `log`) last, so a revision
//! half-applied before a crash is simply applied again.

use std::collections::BTreeMap;
use std::path::Path;

use baoxue_shared::codec::{self, CodecError};
use baoxue_shared::revision::now_ms;
use baoxue_shared::{Change, Date, Hlc, Record, RecordId, RecordKind, RevId, Revision};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Sled(#[from] sled::Error),
    #[error("数据目录 {path} 无法打开：{source}")]
    Open { path: String, source: sled::Error },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("数据目录中的记录已损坏（{what}）")]
    Corrupt { what: String },
}

impl StoreError {
    /// The data directory is in use by another process (sled holds an exclusive lock on it
    /// while a store is open), so a caller may wait and retry.
    pub fn is_locked(&self) -> bool {
        match self {
            // sled 0.34 reports the failed `flock` as an `Other` I/O error with this text.
            StoreError::Open { source: sled::Error::Io(e), .. } | StoreError::Sled(sled::Error::Io(e)) => {
                e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
            }
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Where the store learnt a revision from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub rev: RevId,
    /// `None`: made here. `Some(name)`: received from that peer.
    pub from: Option<String>,
}

/// What one `apply` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Revisions new to this store, in input order.
    pub new: Vec<RevId>,
    /// Revisions it already held (duplicates are harmless).
    pub known: usize,
    /// Records touched.
    pub records: Vec<RecordId>,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    revs: sled::Tree,
    log: sled::Tree,
    by_record: sled::Tree,
    records: sled::Tree,
    idx: sled::Tree,
    meta: sled::Tree,
}

const META_EPOCH: &str = "epoch";
const META_LOG_END: &str = "log_end";
const META_SEQ: &str = "seq";
const META_HLC: &str = "hlc";

/// Index key prefixes.
const IDX_STUDENT_NO: u8 = b'n';
const IDX_ID_NUMBER: u8 = b'i';
const IDX_CASE_OF: u8 = b'c';

impl Store {
    /// Opens (or creates) the store in `dir`. A new store gets a random epoch.
    pub fn open(dir: &Path) -> Result<Store> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(256 * 1024 * 1024)
            .open()
            .map_err(|source| StoreError::Open { path: dir.display().to_string(), source })?;
        let store = Store {
            revs: db.open_tree("revs")?,
            log: db.open_tree("log")?,
            by_record: db.open_tree("by_record")?,
            records: db.open_tree("records")?,
            idx: db.open_tree("idx")?,
            meta: db.open_tree("meta")?,
            db,
        };
        if store.get_meta::<u64>(META_EPOCH)?.is_none() {
            store.put_meta(META_EPOCH, &rand::random::<u64>())?;
            store.flush()?;
        }
        Ok(store)
    }

    /// Whether `dir` already holds a store, so that a caller can refuse to create one by
    /// accident (opening a directory that holds none creates a new store in it).
    pub fn exists(dir: &Path) -> bool {
        dir.join("conf").is_file() && dir.join("db").is_file()
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// This store's epoch: changes when it must be treated as a new replica (restored from
    /// backup, rebuilt), so peers' cursors into its log are void.
    pub fn epoch(&self) -> Result<u64> {
        Ok(self.get_meta(META_EPOCH)?.unwrap_or(0))
    }

    /// Starts a new epoch (durably) and returns it.
    pub fn new_epoch(&self) -> Result<u64> {
        let e = rand::random::<u64>();
        self.put_meta(META_EPOCH, &e)?;
        self.flush()?;
        Ok(e)
    }

    /// The position the next logged revision gets (= number of revisions held).
    pub fn log_end(&self) -> Result<u64> {
        Ok(self.get_meta(META_LOG_END)?.unwrap_or(0))
    }

    pub fn revision_count(&self) -> usize {
        self.revs.len()
    }

    pub fn contains(&self, id: RevId) -> Result<bool> {
        Ok(self.revs.contains_key(id.to_bytes())?)
    }

    pub fn revision(&self, id: RevId) -> Result<Option<Revision>> {
        match self.revs.get(id.to_bytes())? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Applies revisions made elsewhere (or here, via `commit`). Unknown ones are folded into
    /// their records, indexed and logged; known ones are skipped. Durable when it returns.
    pub fn apply(&self, revs: &[Revision], from: Option<&str>) -> Result<Applied> {
        let mut out = Applied::default();
        let mut fresh: Vec<&Revision> = Vec::with_capacity(revs.len());
        let mut seen = std::collections::HashSet::with_capacity(revs.len());
        for r in revs {
            if !seen.insert(r.id) || self.revs.contains_key(r.id.to_bytes())? {
                out.known += 1;
            } else {
                fresh.push(r);
            }
        }
        if fresh.is_empty() {
            return Ok(out);
        }
        // 1. Derived state and indexes (idempotent).
        let mut by_rec: BTreeMap<RecordId, Vec<&Revision>> = BTreeMap::new();
        for r in &fresh {
            by_rec.entry(r.record).or_default().push(r);
        }
        let mut rec_batch = sled::Batch::default();
        let mut hist_batch = sled::Batch::default();
        let mut idx_batch = sled::Batch::default();
        for (id, rs) in &by_rec {
            let old = self.record(*id)?;
            let mut rec = old.clone().unwrap_or_else(|| Record::new(*id, rs[0].kind));
            for r in rs {
                rec.apply(r);
                hist_batch.insert(history_key(*id, r.id).as_slice(), &[] as &[u8]);
            }
            for k in index_keys(old.as_ref()) {
                idx_batch.remove(k);
            }
            for k in index_keys(Some(&rec)) {
                idx_batch.insert(k, &[] as &[u8]);
            }
            rec_batch.insert(&id.to_bytes(), codec::encode(&rec)?);
            out.records.push(*id);
        }
        self.records.apply_batch(rec_batch)?;
        self.by_record.apply_batch(hist_batch)?;
        self.idx.apply_batch(idx_batch)?;
        // 2. The facts and the log: after this they count as known.
        let mut pos = self.log_end()?;
        let mut rev_batch = sled::Batch::default();
        let mut log_batch = sled::Batch::default();
        let from = from.map(str::to_string);
        let mut clock: Hlc = self.get_meta(META_HLC)?.unwrap_or_default();
        for r in &fresh {
            rev_batch.insert(&r.id.to_bytes(), codec::encode(r)?);
            log_batch.insert(&pos.to_be_bytes(), codec::encode(&LogEntry { rev: r.id, from: from.clone() })?);
            pos += 1;
            clock = Hlc::observe(clock, r.hlc);
            out.new.push(r.id);
        }
        self.revs.apply_batch(rev_batch)?;
        self.log.apply_batch(log_batch)?;
        self.put_meta(META_LOG_END, &pos)?;
        self.put_meta(META_HLC, &clock)?;
        self.flush()?;
        Ok(out)
    }

    /// Makes new local revisions (stamping id, origin, sequence and clock) and applies them
    /// durably. Returns them as stored.
    pub fn commit(
        &self,
        origin: &str,
        author: &str,
        date: Date,
        items: Vec<(RecordId, RecordKind, Change)>,
    ) -> Result<Vec<Revision>> {
        let mut seq: u64 = self.get_meta(META_SEQ)?.unwrap_or(0);
        let mut clock: Hlc = self.get_meta(META_HLC)?.unwrap_or_default();
        let now = now_ms();
        let revs: Vec<Revision> = items
            .into_iter()
            .map(|(record, kind, change)| {
                seq += 1;
                clock = Hlc::tick(clock, now);
                let id = if matches!(change, Change::CreateStudent(_) | Change::CreateCase(_)) {
                    record
                } else {
                    RevId::random()
                };
                Revision {
                    id,
                    record,
                    kind,
                    origin: origin.to_string(),
                    seq,
                    hlc: clock,
                    author: author.to_string(),
                    date,
                    change,
                }
            })
            .collect();
        self.put_meta(META_SEQ, &seq)?;
        self.put_meta(META_HLC, &clock)?;
        self.apply(&revs, None)?;
        Ok(revs)
    }

    /// The clock the next local revision would be stamped after.
    pub fn clock(&self) -> Result<Hlc> {
        Ok(self.get_meta(META_HLC)?.unwrap_or_default())
    }

    pub fn record(&self, id: RecordId) -> Result<Option<Record>> {
        match self.records.get(id.to_bytes())? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Every record (of one kind, if given), in id order.
    pub fn records(&self, kind: Option<RecordKind>) -> impl Iterator<Item = Result<Record>> + '_ {
        self.records.iter().filter_map(move |kv| {
            let r = kv.map_err(StoreError::from).and_then(|(_, v)| Ok(codec::decode::<Record>(&v)?));
            match (r, kind) {
                (Ok(rec), Some(k)) if rec.kind != k => None,
                (r, _) => Some(r),
            }
        })
    }

    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// A record's revisions, oldest first (by clock, then origin, then id).
    pub fn history(&self, id: RecordId) -> Result<Vec<Revision>> {
        let mut out = Vec::new();
        for kv in self.by_record.scan_prefix(id.to_bytes()) {
            let (k, _) = kv?;
            let rid =
                RevId::from_bytes(&k[16..]).ok_or_else(|| StoreError::Corrupt { what: "by_record key".into() })?;
            if let Some(r) = self.revision(rid)? {
                out.push(r);
            }
        }
        out.sort_by(|a, b| (a.hlc, &a.origin, a.id).cmp(&(b.hlc, &b.origin, b.id)));
        Ok(out)
    }

    /// Up to `max` log entries from position `from`, with their revisions.
    pub fn log_range(&self, from: u64, max: usize) -> Result<Vec<(u64, LogEntry)>> {
        let mut out = Vec::new();
        for kv in self.log.range(from.to_be_bytes()..).take(max) {
            let (k, v) = kv?;
            let pos =
                u64::from_be_bytes(k.as_ref().try_into().map_err(|_| StoreError::Corrupt { what: "log key".into() })?);
            out.push((pos, codec::decode(&v)?));
        }
        Ok(out)
    }

    /// Records whose 学籍号 is `no`.
    pub fn by_student_no(&self, no: &str) -> Result<Vec<RecordId>> {
        self.index_lookup(IDX_STUDENT_NO, no.as_bytes())
    }

    /// Records whose 身份证号 is `id` (more than one: 重复学籍).
    pub fn by_id_number(&self, id: &str) -> Result<Vec<RecordId>> {
        self.index_lookup(IDX_ID_NUMBER, id.as_bytes())
    }

    /// Cases (any state) of a student record.
    pub fn cases_of(&self, student: RecordId) -> Result<Vec<RecordId>> {
        self.index_lookup(IDX_CASE_OF, &student.to_bytes())
    }

    /// Records whose id starts with the hex prefix (what people type).
    pub fn by_id_prefix(&self, prefix: &str) -> Result<Vec<RecordId>> {
        let p = prefix.to_ascii_lowercase();
        if p.is_empty() || p.len() > 32 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        // Scan the byte range that the hex prefix covers.
        let lo = u128::from_str_radix(&format!("{p:0<32}"), 16).unwrap_or(0);
        let hi = u128::from_str_radix(&format!("{p:f<32}"), 16).unwrap_or(u128::MAX);
        let mut out = Vec::new();
        for kv in self.records.range(lo.to_be_bytes()..=hi.to_be_bytes()) {
            let (k, _) = kv?;
            if let Some(id) = RevId::from_bytes(&k) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn index_lookup(&self, tag: u8, key: &[u8]) -> Result<Vec<RecordId>> {
        let mut prefix = Vec::with_capacity(key.len() + 2);
        prefix.push(tag);
        prefix.extend_from_slice(key);
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.idx.scan_prefix(&prefix) {
            let (k, _) = kv?;
            if let Some(id) = RevId::from_bytes(&k[prefix.len()..]) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn get_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.meta.get(key)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Writes a meta value (durable at the next flush; call `flush` to acknowledge).
    pub fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.meta.insert(key, codec::encode(value)?)?;
        Ok(())
    }

    pub fn remove_meta(&self, key: &str) -> Result<()> {
        self.meta.remove(key)?;
        Ok(())
    }

    /// Size of the store on disk, bytes.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

fn history_key(record: RecordId, rev: RevId) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..16].copy_from_slice(&record.to_bytes());
    k[16..].copy_from_slice(&rev.to_bytes());
    k
}

fn idx_key(tag: u8, key: &[u8], id: RecordId) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 18);
    k.push(tag);
    k.extend_from_slice(key);
    k.push(0);
    k.extend_from_slice(&id.to_bytes());
    k
}

fn index_keys(rec: Option<&Record>) -> Vec<Vec<u8>> {
    let Some(rec) = rec else { return Vec::new() };
    let mut keys = Vec::new();
    match rec.kind {
        RecordKind::Student => {
            if let Some(no) = rec.student_no() {
                keys.push(idx_key(IDX_STUDENT_NO, no.as_str().as_bytes(), rec.id));
            }
            if let Some(id) = rec.id_number() {
                keys.push(idx_key(IDX_ID_NUMBER, id.as_str().as_bytes(), rec.id));
            }
        }
        RecordKind::Case => {
            if let Some(init) = &rec.case {
                if let Some(s) = init.student {
                    keys.push(idx_key(IDX_CASE_OF, &s.to_bytes(), rec.id));
                }
                if let Some(id) = &init.child.id_number {
                    keys.push(idx_key(IDX_ID_NUMBER, id.as_str().as_bytes(), rec.id));
                }
            }
        }
    }
    keys
}

/// Decodes a value stored by this crate (for callers holding raw bytes).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(codec::decode(bytes)?)
}
