//! # baoxue-store
//!
//! The only crate that knows sled. One store per node and one at the hub, same layout. Everything
//! that [`Store::apply`] and [`Store::commit`] write lives in one tree, `data`, under a one-byte
//! tag, so that one write is one atomic sled batch:
//!
//! - `g` ++ record id ++ revision id → a **group**: the revisions of one record that one call
//!   wrote (the key names the first of them), each encoded and length-prefixed. The groups of
//!   a record are its history and hold the immutable facts; one key per record per write, not
//!   one per revision (sled's cost is per key: this is what makes a large initial sync fast);
//! - `o` ++ first position (u64, big-endian) → a chunk of the log: who sent them and, for up to
//!   [`LOG_CHUNK`] revisions at consecutive positions, each one's id, record, group and slot
//!   in it. The log is the order this store learnt things in; sync cursors point into it;
//! - `s` ++ record id → derived state (the merge of its revisions, see `shared::state`),
//!   followed, once the creating revision has been folded in, by that revision's date (so that
//!   the hub's nightly rebuild need not read every roster revision). The derived record names
//!   every revision it folded (`Record::holds`), which is how a replayed revision is known;
//! - `i` ++ index tag ++ key ++ 0 ++ record id → (): secondary indexes (学籍号, 身份证号, cases of
//!   a student);
//! - `c` ++ name → the counters `log_end`, `hlc` and `seq`.
//!
//! A second tree, `meta`, holds the epoch, the layout and derived-state versions
//! ([`LAYOUT_VERSION`], [`DERIVED_VERSION`]) and other crates' values ([`Store::get_meta`]).
//! Stores of earlier layouts are migrated when opened.
//!
//! # Modules
//! - this file: [`Store`] — open, apply, commit, reads, indexes, the log;
//! - [`crypt`]: encryption at rest (the store's key, per-value AEAD, keyed index hashes);
//! - `sealing`: the sealed-store marker and sealing a store written in clear;
//! - `migrate`: moving stores of earlier layouts to the current one, safely if interrupted;
//! - `dump` and [`backup`]: the store as a stream of facts, and age-encrypted archives of it;
//! - `damage`: opening a damaged store gives one clear error instead of sled's panic.
//!
//! **Invariant**: a call that returns `Ok` from [`Store::apply`] or [`Store::commit`] has
//! flushed to disk, and each such call writes everything it changes — revisions, log, log end,
//! clock and sequence, derived records and indexes — in one sled batch on one tree, which sled
//! recovers all or nothing. A crash at any point leaves either none of a call's revisions or
//! all of them, each held, logged below `log_end` and folded exactly once.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use baoxue_shared::codec::{self, CodecError};
use baoxue_shared::revision::now_ms;
use baoxue_shared::{Change, Date, Hlc, Record, RecordId, RecordKind, RevId, Revision};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod backup;
pub mod crypt;
mod damage;
pub mod disk;
mod dump;
mod migrate;
mod sealing;

pub use crypt::{KeyError, KeyOrigin, StoreKey};
pub use dump::DumpCount;

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
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("备份：{0}")]
    Backup(String),
    /// A revision larger than the sync allows (`REVISION_MAX_BYTES`): refused before writing.
    #[error("修订过大：{bytes} 字节，上限 {max} 字节（记录 {record}），未写入")]
    TooLarge { record: String, bytes: usize, max: usize },
    #[error("数据目录 {path} 中的数据库已损坏或不完整（{detail}），无法打开：请把该目录移到别处，再用最近的备份恢复到新目录（restore），或用配置包重新初始化后从县级平台重新同步")]
    Damaged { path: String, detail: String },
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

/// One position of the log: which revision, where the store learnt it from, and where it is
/// kept (see [`Store::log_revision`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub rev: RevId,
    /// `None`: made here. `Some(name)`: received from that peer.
    pub from: Option<String>,
    pub record: RecordId,
    /// The record's group holding it (the group's first revision) and its slot there.
    pub group: RevId,
    pub slot: u32,
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

/// How to open a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// sled's page cache, bytes.
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { cache_bytes: 256 * 1024 * 1024 }
    }
}

/// The store's writer (see [`Store::writer`]).
pub struct StoreWriter<'a> {
    store: &'a Store,
    _one_at_a_time: MutexGuard<'a, ()>,
    /// Records read through this writer (`None`: absent), which its apply reuses: no one else
    /// writes meanwhile.
    read: HashMap<RecordId, Option<(Record, Option<Date>)>>,
}

impl StoreWriter<'_> {
    /// Whether the store holds `rev` (its record folded it in).
    pub fn contains(&mut self, rev: &Revision) -> Result<bool> {
        Ok(self.cached(rev.record)?.is_some_and(|(r, _)| r.holds(rev.id)))
    }

    /// [`Store::record`], remembered for the apply.
    pub fn record(&mut self, id: RecordId) -> Result<Option<Record>> {
        Ok(self.cached(id)?.map(|(r, _)| r.clone()))
    }

    fn cached(&mut self, id: RecordId) -> Result<Option<&(Record, Option<Date>)>> {
        if !self.read.contains_key(&id) {
            let v = self.store.record_dated(id)?;
            self.read.insert(id, v);
        }
        Ok(self.read.get(&id).and_then(Option::as_ref))
    }

    /// [`Store::apply_with`].
    pub fn apply_with(
        &mut self,
        revs: &[Revision],
        from: Option<&str>,
        visit: impl FnMut(&Record, &[&Revision]),
    ) -> Result<Applied> {
        // Whatever happens, what was read may be stale afterwards.
        let mut read = std::mem::take(&mut self.read);
        self.store.write(revs, from, None, &mut read, visit)
    }
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    data: sled::Tree,
    meta: sled::Tree,
    writer: Arc<Mutex<()>>,
    /// Seals values and hashes index keys. `None` only while a store written in clear by an
    /// earlier version is migrated (see `sealing`).
    key: Option<Arc<StoreKey>>,
    /// During that migration: the key that values already sealed (by an interrupted earlier
    /// run) open with; values it does not open are read as they are.
    unsealing: Option<Arc<StoreKey>>,
}

/// Most revisions one log chunk covers.
pub const LOG_CHUNK: usize = 1_024;

/// Key tags in `data`.
const T_GROUP: u8 = b'g';
const T_LOG: u8 = b'o';
const T_REC: u8 = b's';
const T_IDX: u8 = b'i';
const T_CTR: u8 = b'c';

const CTR_LOG_END: &str = "log_end";
const CTR_SEQ: &str = "seq";
const CTR_HLC: &str = "hlc";

const META_EPOCH: &str = "epoch";
/// Meta key of the day (`YYYY-MM-DD`) the store was created, or first opened by a version
/// that records it: a directory never backed up is warned about a week after it.
pub const META_SET_UP: &str = "set_up";
/// Meta key of the day (`YYYY-MM-DD`) of the last successful backup ([`backup::write_backup`]).
pub const META_LAST_BACKUP: &str = "last_backup";
/// Meta key of the layout version of `data`.
const META_LAYOUT: &str = "layout_version";

/// The layout of `data`: 2 = a key per revision; 3 = revisions kept in per-record groups. A
/// store of layout 2 is migrated when opened ([`Store::migrate_v2_layout`]).
pub const LAYOUT_VERSION: u32 = 3;
/// Meta key of the derived-state version the `s` and `i` keys were written with.
const META_DERIVED: &str = "derived_version";

/// The encoding of derived records (`shared::state::Record`) and of the indexes. Raised
/// whenever `Record` changes shape; a store written with a lower one (none recorded: 1) has
/// its derived records and indexes rebuilt from its revisions when opened
/// ([`Store::rebuild_derived`]). 2: dated writes of status and case state. 3: the ids of the
/// revisions folded in. 4: no 学籍号 key for a national number (G + 身份证号). 5: the
/// 家访记录表 fields of visit actions (`Record::visits`).
pub const DERIVED_VERSION: u32 = 5;

/// Index key tags (after `T_IDX`).
const IDX_STUDENT_NO: u8 = b'n';
const IDX_ID_NUMBER: u8 = b'i';
const IDX_CASE_OF: u8 = b'c';

/// A stored chunk of the log: (revision, record, group, slot) per position.
#[derive(Serialize, Deserialize)]
struct LogChunk {
    from: Option<String>,
    entries: Vec<(RevId, RecordId, RevId, u32)>,
}

impl Store {
    /// Opens (or creates) the store in `dir` with the default options. A new store gets a
    /// random epoch.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// Opens (or creates) the store in `dir`.
    pub fn open_with(dir: &Path, opts: StoreOptions) -> Result<Store> {
        Store::open_keyed(dir, opts, None)
    }

    /// Opens (or creates) the store in `dir`, its key found as [`StoreKey::resolve`] says;
    /// `default_key_file`: where a new store's plain key file goes (None: `<dir>.key`). The
    /// directory is made 0700 and its files 0600. A store sled cannot read (truncated,
    /// overwritten) is reported as [`StoreError::Damaged`], never a panic.
    pub fn open_keyed(dir: &Path, opts: StoreOptions, default_key_file: Option<&Path>) -> Result<Store> {
        crypt::create_private_dir(dir).map_err(|e| StoreError::Damaged {
            path: dir.display().to_string(),
            detail: format!("无法创建或设置权限：{e}"),
        })?;
        // A store this version created records its key's source first: one that then lacks
        // the seal marker lost its meta tree (sled opens a truncated file as empty or partial).
        let created_before = dir.join(crypt::KEYREF_FILE).is_file();
        let key = StoreKey::resolve(dir, default_key_file)?;
        damage::guard(dir, || {
            let db = open_db(dir, opts)?;
            let mut store = Store {
                data: db.open_tree("data")?,
                meta: db.open_tree("meta")?,
                db,
                writer: Arc::new(Mutex::new(())),
                key: None,
                unsealing: None,
            };
            if store.is_sealed()? {
                store.check_key(dir, &key)?;
                store.key = Some(Arc::new(key));
                store.migrate_old_layout()?;
                store.migrate_v2_layout()?;
            } else if created_before {
                return Err(StoreError::Damaged {
                    path: dir.display().to_string(),
                    detail: "数据库文件被截断或替换，加密标记已不在".into(),
                });
            } else {
                // Written in clear by an earlier version (or new): migrated, then sealed.
                store.unsealing = Some(Arc::new(key.clone()));
                store.migrate_old_layout()?;
                store.migrate_v2_layout()?;
                store.seal_existing(&key)?;
                store.unsealing = None;
                store.key = Some(Arc::new(key));
            }
            if store.get_meta::<u64>(META_EPOCH)?.is_none() {
                store.put_meta(META_EPOCH, &rand::random::<u64>())?;
                store.flush()?;
            }
            if store.get_meta::<String>(META_SET_UP)?.is_none() {
                store.put_meta(META_SET_UP, &baoxue_shared::Date::today().to_string())?;
                store.flush()?;
            }
            store.check_derived_version()?;
            Ok(store)
        })
        .and_then(|store| {
            crypt::restrict_tree(dir).map_err(|e| StoreError::Damaged {
                path: dir.display().to_string(),
                detail: format!("无法设置权限：{e}"),
            })?;
            Ok(store)
        })
    }

    /// The key this store's values are sealed with.
    pub fn key(&self) -> Option<&StoreKey> {
        self.key.as_deref()
    }

    /// Seals a value stored under `k` (as it is while a clear store is being migrated).
    fn seal_value<'a>(&self, k: &[u8], v: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.key {
            Some(key) => Cow::Owned(key.seal(k, v)),
            None => Cow::Borrowed(v),
        }
    }

    /// Opens a value stored under `k`.
    fn open_value<'a>(&self, k: &[u8], v: &'a [u8]) -> Result<Cow<'a, [u8]>> {
        match (&self.key, &self.unsealing) {
            (Some(key), _) => Ok(Cow::Owned(key.open(k, v)?)),
            (None, Some(key)) => Ok(key.open(k, v).map_or(Cow::Borrowed(v), Cow::Owned)),
            (None, None) => Ok(Cow::Borrowed(v)),
        }
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

    /// The day of the last successful backup, and the day the store was set up.
    pub fn backup_days(&self) -> Result<(Option<baoxue_shared::Date>, Option<baoxue_shared::Date>)> {
        let day = |k: &str| -> Result<Option<baoxue_shared::Date>> {
            Ok(self.get_meta::<String>(k)?.and_then(|s| baoxue_shared::Date::parse(&s).ok()))
        };
        Ok((day(META_LAST_BACKUP)?, day(META_SET_UP)?))
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
        Ok(self.counter(CTR_LOG_END)?.unwrap_or(0))
    }

    /// Revisions held (each is logged once, so this is the log's end).
    pub fn revision_count(&self) -> usize {
        self.log_end().unwrap_or(0) as usize
    }

    /// Whether the store holds revision `id` of `record`.
    pub fn contains(&self, record: RecordId, id: RevId) -> Result<bool> {
        Ok(self.record(record)?.is_some_and(|r| r.holds(id)))
    }

    /// Revision `id` of `record`, looked for in the record's history.
    pub fn revision(&self, record: RecordId, id: RevId) -> Result<Option<Revision>> {
        Ok(self.revisions_of(record, &[id])?.pop())
    }

    /// The revisions of `record` among `ids`, in history order (one pass over its groups).
    pub fn revisions_of(&self, record: RecordId, ids: &[RevId]) -> Result<Vec<Revision>> {
        let want: HashSet<RevId> = ids.iter().copied().collect();
        let mut out = Vec::new();
        for kv in self.data.scan_prefix(group_prefix(record)) {
            let (k, v) = kv?;
            let v = self.open_value(&k, &v)?;
            for bytes in group_items(&v) {
                let r: Revision = codec::decode(bytes?)?;
                if want.contains(&r.id) {
                    out.push(r);
                }
            }
            if out.len() == want.len() {
                break;
            }
        }
        Ok(out)
    }

    /// The revision at a log position.
    pub fn log_revision(&self, e: &LogEntry) -> Result<Option<Revision>> {
        let k = group_key(e.record, e.group);
        let Some(v) = self.data.get(k)? else {
            return Ok(None);
        };
        let v = self.open_value(&k, &v)?;
        let found = match group_items(&v).nth(e.slot as usize) {
            Some(bytes) => Some(codec::decode::<Revision>(bytes?)?).filter(|r| r.id == e.rev),
            None => None,
        };
        Ok(found)
    }

    /// Applies revisions made elsewhere (or here, via `commit`). Unknown ones are folded into
    /// their records, indexed and logged; known ones are skipped. Durable when it returns.
    pub fn apply(&self, revs: &[Revision], from: Option<&str>) -> Result<Applied> {
        self.apply_with(revs, from, |_, _| {})
    }

    /// [`Store::apply`], showing `visit` each record it touched, in id order: its new state and
    /// the revisions new to the store that it folded in. `visit` runs before anything is
    /// written: if the call fails, nothing was.
    pub fn apply_with(
        &self,
        revs: &[Revision],
        from: Option<&str>,
        visit: impl FnMut(&Record, &[&Revision]),
    ) -> Result<Applied> {
        self.writer().apply_with(revs, from, visit)
    }

    /// The store's writer: `apply` and `commit` (of any clone of this store) wait until it is
    /// dropped. Holding it across checks ([`StoreWriter::contains`], [`StoreWriter::record`])
    /// and an apply saves the apply reading again the records the checks read.
    pub fn writer(&self) -> StoreWriter<'_> {
        StoreWriter {
            store: self,
            _one_at_a_time: self.writer.lock().unwrap_or_else(|p| p.into_inner()),
            read: HashMap::new(),
        }
    }

    /// Folds, indexes and logs those of `revs` this store does not hold (the first of each id;
    /// a record's state tells which it holds), in one batch, and flushes. `seq`: the local
    /// sequence counter's new value (`commit`). Call with the writer held. `read`: records
    /// already read (`None`: absent), used instead of reading them again.
    fn write(
        &self,
        revs: &[Revision],
        from: Option<&str>,
        seq: Option<u64>,
        read: &mut HashMap<RecordId, Option<(Record, Option<Date>)>>,
        mut visit: impl FnMut(&Record, &[&Revision]),
    ) -> Result<Applied> {
        let mut out = Applied::default();
        let mut seen = HashSet::with_capacity(revs.len());
        let mut by_rec: BTreeMap<RecordId, Vec<&Revision>> = BTreeMap::new();
        for r in revs {
            if seen.insert(r.id) {
                by_rec.entry(r.record).or_default().push(r);
            } else {
                out.known += 1;
            }
        }
        let mut batch = sled::Batch::default();
        // Where each new revision is kept: its record's group of this write, and its slot.
        let mut placed: HashMap<RevId, (RevId, u32)> = HashMap::new();
        let mut group: Vec<u8> = Vec::new();
        let mut encoded: Vec<u8> = Vec::new();
        for (id, rs) in &mut by_rec {
            let (old, mut created_on) = match read.remove(id) {
                Some(v) => v.map_or((None, None), |(r, d)| (Some(r), d)),
                None => self.record_dated(*id)?.map_or((None, None), |(r, d)| (Some(r), d)),
            };
            if let Some(old) = &old {
                let before = rs.len();
                rs.retain(|r| !old.holds(r.id));
                out.known += before - rs.len();
            }
            if rs.is_empty() {
                continue;
            }
            let old_keys = self.index_keys(old.as_ref());
            let mut rec = old.unwrap_or_else(|| Record::new(*id, rs[0].kind));
            if let Some(create) = rs.iter().find(|r| is_create(r)) {
                created_on = Some(create.date);
            }
            group.clear();
            for (slot, r) in rs.iter().enumerate() {
                rec.apply(r);
                encoded.clear();
                codec::encode_into(r, &mut encoded)?;
                group.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
                group.extend_from_slice(&encoded);
                placed.insert(r.id, (rs[0].id, slot as u32));
            }
            let gk = group_key(*id, rs[0].id);
            batch.insert(&gk[..], &*self.seal_value(&gk, &group));
            let new_keys = self.index_keys(Some(&rec));
            for k in old_keys.iter().filter(|k| !new_keys.contains(k)) {
                batch.remove(k.as_slice());
            }
            for k in new_keys.iter().filter(|k| !old_keys.contains(k)) {
                batch.insert(k.as_slice(), &[] as &[u8]);
            }
            visit(&rec, rs);
            batch.insert(&rec_key(*id)[..], self.encode_record(*id, &rec, created_on)?);
            out.records.push(*id);
        }
        if placed.is_empty() && seq.is_none() {
            return Ok(out);
        }
        // The log (in input order) and the counters.
        let start = self.log_end()?;
        let mut clock: Hlc = self.counter(CTR_HLC)?.unwrap_or_default();
        let mut entries = Vec::with_capacity(placed.len());
        for r in revs {
            // `remove`: a duplicate later in the input is not logged twice.
            if let Some((g, slot)) = placed.remove(&r.id) {
                clock = Hlc::observe(clock, r.hlc);
                out.new.push(r.id);
                entries.push((r.id, r.record, g, slot));
            }
        }
        let from = from.map(str::to_string);
        let mut pos = start;
        for chunk in entries.chunks(LOG_CHUNK) {
            let c = LogChunk { from: from.clone(), entries: chunk.to_vec() };
            batch.insert(&log_key(pos)[..], codec::encode(&c)?);
            pos += chunk.len() as u64;
        }
        batch.insert(&ctr_key(CTR_LOG_END)[..], codec::encode(&pos)?);
        batch.insert(&ctr_key(CTR_HLC)[..], codec::encode(&clock)?);
        if let Some(seq) = seq {
            batch.insert(&ctr_key(CTR_SEQ)[..], codec::encode(&seq)?);
        }
        self.data.apply_batch(batch)?;
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
        let _one_at_a_time = self.writer();
        let mut seq: u64 = self.counter(CTR_SEQ)?.unwrap_or(0);
        let mut clock: Hlc = self.counter(CTR_HLC)?.unwrap_or_default();
        let now = now_ms();
        let revs: Vec<Revision> = items
            .into_iter()
            .map(|(record, kind, change)| {
                seq += 1;
                clock = Hlc::tick(clock, now);
                let id = if matches!(change, Change::CreateStudent(_) | Change::CreateCase(_)) {
                    record.creating_revision()
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
        for r in &revs {
            let bytes = codec::encoded_len(r)?;
            if bytes > baoxue_shared::sync::REVISION_MAX_BYTES {
                return Err(StoreError::TooLarge {
                    record: r.record.short(),
                    bytes,
                    max: baoxue_shared::sync::REVISION_MAX_BYTES,
                });
            }
        }
        if !revs.is_empty() {
            self.write(&revs, None, Some(seq), &mut HashMap::new(), |_, _| {})?;
        }
        Ok(revs)
    }

    /// The clock the next local revision would be stamped after.
    pub fn clock(&self) -> Result<Hlc> {
        Ok(self.counter(CTR_HLC)?.unwrap_or_default())
    }

    /// Moves the clock back to `to_ms` if it is ahead of it; true if it moved. For a node whose
    /// computer clock ran ahead and has been corrected: the hub's clock is the evidence (see
    /// `baoxue-node`'s sync), and without this every later revision would still be stamped in
    /// the future and refused. Local revisions name the values they replace, so order among
    /// this node's own writes does not depend on the clock.
    pub fn rewind_clock(&self, to_ms: u64) -> Result<bool> {
        let _one_at_a_time = self.writer();
        let clock: Hlc = self.counter(CTR_HLC)?.unwrap_or_default();
        if clock.ms <= to_ms {
            return Ok(false);
        }
        self.data.insert(ctr_key(CTR_HLC), codec::encode(&Hlc { ms: to_ms, n: 0 })?)?;
        self.flush()?;
        Ok(true)
    }

    pub fn record(&self, id: RecordId) -> Result<Option<Record>> {
        Ok(self.record_dated(id)?.map(|(r, _)| r))
    }

    /// A record with the date of its creating revision (see [`Store::records_dated`]).
    pub fn record_dated(&self, id: RecordId) -> Result<Option<(Record, Option<Date>)>> {
        match self.data.get(rec_key(id))? {
            Some(v) => Ok(Some(self.decode_record(&rec_key(id), &v)?)),
            None => Ok(None),
        }
    }

    /// Every record (of one kind, if given), in id order.
    pub fn records(&self, kind: Option<RecordKind>) -> impl Iterator<Item = Result<Record>> + '_ {
        self.data.scan_prefix([T_REC]).filter_map(move |kv| {
            let r = kv.map_err(StoreError::from).and_then(|(k, v)| Ok(self.decode_record(&k, &v)?.0));
            match (r, kind) {
                (Ok(rec), Some(k)) if rec.kind != k => None,
                (r, _) => Some(r),
            }
        })
    }

    /// The records whose ids lie in `lo..=hi`, in id order, each with the date of its creating
    /// revision when the store knows it (records written since the store keeps it), so that a
    /// caller can rebuild that revision from the record (`shared::state::Record::student` and
    /// `created` hold the rest of it) instead of reading it.
    pub fn records_dated(
        &self,
        lo: RecordId,
        hi: RecordId,
    ) -> impl Iterator<Item = Result<(Record, Option<Date>)>> + '_ {
        self.data.range(rec_key(lo)..=rec_key(hi)).map(|kv| {
            let (k, v) = kv?;
            self.decode_record(&k, &v)
        })
    }

    pub fn record_count(&self) -> usize {
        self.data.scan_prefix([T_REC]).keys().count()
    }

    /// A record's revisions, oldest first (by clock, then origin, then id).
    pub fn history(&self, id: RecordId) -> Result<Vec<Revision>> {
        let mut out = Vec::new();
        for kv in self.data.scan_prefix(group_prefix(id)) {
            let (k, v) = kv?;
            let v = self.open_value(&k, &v)?;
            for bytes in group_items(&v) {
                out.push(codec::decode::<Revision>(bytes?)?);
            }
        }
        out.sort_by(|a, b| (a.hlc, &a.origin, a.id).cmp(&(b.hlc, &b.origin, b.id)));
        Ok(out)
    }

    /// Up to `max` log entries from position `from` (their revisions: [`Store::log_revision`]).
    pub fn log_range(&self, from: u64, max: usize) -> Result<Vec<(u64, LogEntry)>> {
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let end = self.log_end()?;
        // The chunk holding `from` starts at or before it.
        let first: sled::IVec = match self.data.range(log_key(0)..=log_key(from)).next_back() {
            Some(kv) => kv?.0,
            None => log_key(from)[..].into(),
        };
        for kv in self.data.range(first..=log_key(u64::MAX)[..].into()) {
            let (k, v) = kv?;
            let start =
                u64::from_be_bytes(k[1..].try_into().map_err(|_| StoreError::Corrupt { what: "log key".into() })?);
            let chunk: LogChunk = codec::decode(&v)?;
            for (i, (rev, record, group, slot)) in chunk.entries.into_iter().enumerate() {
                let pos = start + i as u64;
                if pos >= end {
                    return Ok(out);
                }
                if pos >= from {
                    out.push((pos, LogEntry { rev, from: chunk.from.clone(), record, group, slot }));
                    if out.len() >= max {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Records whose 学籍号 is `no`.
    pub fn by_student_no(&self, no: &str) -> Result<Vec<RecordId>> {
        let mut out = self.index_lookup(IDX_STUDENT_NO, no.as_bytes())?;
        // A national number (G + 身份证号) is found through the 身份证号 index.
        if let Some(id) = no.strip_prefix('G') {
            for rec in self.index_lookup(IDX_ID_NUMBER, id.as_bytes())? {
                if !out.contains(&rec)
                    && self.record(rec)?.is_some_and(|r| r.student_no().is_some_and(|n| n.as_str() == no))
                {
                    out.push(rec);
                }
            }
            out.sort();
        }
        Ok(out)
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
        for kv in self.data.range(rec_key(RecordId(lo))..=rec_key(RecordId(hi))) {
            let (k, _) = kv?;
            if let Some(id) = RecordId::from_bytes(&k[1..]) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn index_lookup(&self, tag: u8, key: &[u8]) -> Result<Vec<RecordId>> {
        let key = self.index_hash(key);
        let mut prefix = Vec::with_capacity(key.len() + 3);
        prefix.push(T_IDX);
        prefix.push(tag);
        prefix.extend_from_slice(&key);
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.data.scan_prefix(&prefix) {
            let (k, _) = kv?;
            if let Some(id) = RecordId::from_bytes(&k[prefix.len()..]) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn counter<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.data.get(ctr_key(name))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    pub fn get_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.meta.get(key)? {
            Some(v) => Ok(Some(codec::decode(&self.open_value(&meta_aad(key.as_bytes()), &v)?)?)),
            None => Ok(None),
        }
    }

    /// Writes a meta value (durable at the next flush; call `flush` to acknowledge).
    pub fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let v = codec::encode(value)?;
        self.meta.insert(key, &*self.seal_value(&meta_aad(key.as_bytes()), &v))?;
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

    /// The derived-state version this store's records were written with (1 when none is
    /// recorded: stores from before versioning).
    pub fn derived_version(&self) -> Result<u32> {
        Ok(self.get_meta(META_DERIVED)?.unwrap_or(1))
    }

    /// Rebuilds derived state when it was written by an older version; records the current
    /// version on a store that has none (a new one, or one that holds nothing yet).
    fn check_derived_version(&self) -> Result<()> {
        let v = self.derived_version()?;
        let recorded = self.get_meta::<u32>(META_DERIVED)?.is_some();
        if v == DERIVED_VERSION && recorded {
            return Ok(());
        }
        if v > DERIVED_VERSION {
            return Err(StoreError::Corrupt {
                what: format!("派生状态版本 {v} 高于本程序支持的 {DERIVED_VERSION}（请使用更新的版本）"),
            });
        }
        if self.data.scan_prefix([T_GROUP]).next().is_some() {
            self.rebuild_derived()?;
        }
        self.put_meta(META_DERIVED, &DERIVED_VERSION)?;
        self.flush()
    }

    /// Rebuilds every derived record and index from the stored revisions: state is derived,
    /// so nothing is lost. Record by record along the groups (memory holds one record's
    /// revisions at a time), in batches. Safe to interrupt: the version is recorded only after
    /// the rebuild is durable, and a second run writes the same keys again. Returns the
    /// number of records rebuilt.
    pub fn rebuild_derived(&self) -> Result<usize> {
        let _one_at_a_time = self.writer();
        // Old derived keys may not decode any more: drop them all first.
        const BATCH: usize = 2_000;
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for tag in [T_REC, T_IDX] {
            for k in self.data.scan_prefix([tag]).keys() {
                batch.remove(k?);
                n += 1;
                if n.is_multiple_of(BATCH * 10) {
                    self.data.apply_batch(std::mem::take(&mut batch))?;
                }
            }
        }
        self.data.apply_batch(std::mem::take(&mut batch))?;
        let mut current: Option<(RecordId, Vec<Revision>)> = None;
        let mut rebuilt = 0usize;
        let mut pending = 0usize;
        let mut flush_record = |batch: &mut sled::Batch, rec: RecordId, revs: &[Revision]| -> Result<()> {
            let Some(first) = revs.first() else {
                return Ok(());
            };
            let state = baoxue_shared::state::fold(rec, first.kind, revs);
            for k in self.index_keys(Some(&state)) {
                batch.insert(k, &[] as &[u8]);
            }
            let created_on = revs.iter().find(|r| is_create(r)).map(|r| r.date);
            batch.insert(&rec_key(rec)[..], self.encode_record(rec, &state, created_on)?);
            rebuilt += 1;
            pending += 1;
            if pending >= BATCH {
                self.data.apply_batch(std::mem::take(batch))?;
                pending = 0;
            }
            Ok(())
        };
        for kv in self.data.scan_prefix([T_GROUP]) {
            let (k, v) = kv?;
            let rec = group_record(&k)?;
            if current.as_ref().is_some_and(|(r, _)| *r != rec) {
                if let Some((r, revs)) = current.take() {
                    flush_record(&mut batch, r, &revs)?;
                }
            }
            let v = self.open_value(&k, &v)?;
            let revs = &mut current.get_or_insert_with(|| (rec, Vec::new())).1;
            for bytes in group_items(&v) {
                revs.push(codec::decode(bytes?)?);
            }
        }
        if let Some((r, revs)) = current.take() {
            flush_record(&mut batch, r, &revs)?;
        }
        self.data.apply_batch(batch)?;
        self.flush()?;
        Ok(rebuilt)
    }
}

/// How long [`open_db`] waits for a lock this process may still hold itself.
const REOPEN_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Opens sled in `dir`. A store closed a moment ago in this process can keep its file lock for
/// a few milliseconds while sled's background writes finish, so a lock error is retried
/// briefly before it is reported (another process holding the store is then reported as
/// locked, see [`StoreError::is_locked`]).
fn open_db(dir: &Path, opts: StoreOptions) -> Result<sled::Db> {
    let start = std::time::Instant::now();
    loop {
        match sled::Config::new().path(dir).cache_capacity(opts.cache_bytes).mode(sled::Mode::HighThroughput).open() {
            Ok(db) => return Ok(db),
            Err(source) => {
                let e = StoreError::Open { path: dir.display().to_string(), source };
                if !e.is_locked() || start.elapsed() >= REOPEN_GRACE {
                    return Err(e);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

fn rec_key(id: RecordId) -> [u8; 17] {
    let mut k = [T_REC; 17];
    k[1..].copy_from_slice(&id.to_bytes());
    k
}

fn log_key(pos: u64) -> [u8; 9] {
    let mut k = [T_LOG; 9];
    k[1..].copy_from_slice(&pos.to_be_bytes());
    k
}

fn ctr_key(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 1);
    k.push(T_CTR);
    k.extend_from_slice(name.as_bytes());
    k
}

impl Store {
    /// A stored record: the encoded record, then the encoded date of its creating revision if
    /// known; sealed under its key.
    fn encode_record(&self, id: RecordId, rec: &Record, created_on: Option<Date>) -> Result<Vec<u8>> {
        let mut v = codec::encode(rec)?;
        if let Some(d) = created_on {
            v.extend_from_slice(&codec::encode(&d)?);
        }
        Ok(self.seal_value(&rec_key(id), &v).into_owned())
    }

    fn decode_record(&self, k: &[u8], v: &[u8]) -> Result<(Record, Option<Date>)> {
        let v = self.open_value(k, v)?;
        let (rec, used) = codec::decode_prefix::<Record>(&v)?;
        let created_on = if used == v.len() { None } else { Some(codec::decode::<Date>(&v[used..])?) };
        Ok((rec, created_on))
    }

    /// The keyed hash an index key holds instead of an ID number (the bytes themselves while
    /// a clear store is migrated; its indexes are then rebuilt).
    fn index_hash(&self, key: &[u8]) -> Vec<u8> {
        match &self.key {
            Some(k) => k.index_hash(key).to_vec(),
            None => key.to_vec(),
        }
    }

    fn idx_key(&self, tag: u8, key: &[u8], id: RecordId) -> Vec<u8> {
        idx_key(tag, &self.index_hash(key), id)
    }
}

/// What a meta value is sealed under.
fn meta_aad(key: &[u8]) -> Vec<u8> {
    let mut a = b"meta:".to_vec();
    a.extend_from_slice(key);
    a
}

fn is_create(r: &Revision) -> bool {
    matches!(r.change, Change::CreateStudent(_) | Change::CreateCase(_))
}

fn group_key(record: RecordId, first: RevId) -> [u8; 33] {
    let mut k = [T_GROUP; 33];
    k[1..17].copy_from_slice(&record.to_bytes());
    k[17..].copy_from_slice(&first.to_bytes());
    k
}

fn group_prefix(record: RecordId) -> [u8; 17] {
    let mut k = [T_GROUP; 17];
    k[1..].copy_from_slice(&record.to_bytes());
    k
}

fn group_record(key: &[u8]) -> Result<RecordId> {
    (key.len() == 33)
        .then(|| RecordId::from_bytes(&key[1..17]))
        .flatten()
        .ok_or_else(|| StoreError::Corrupt { what: "group key".into() })
}

/// The encoded revisions of a group value (each prefixed by its length, u32 little-endian),
/// without decoding them.
fn group_items(v: &[u8]) -> impl Iterator<Item = Result<&[u8]>> + '_ {
    let mut rest = v;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let item = (|| {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let bytes = rest.get(4..4 + len)?;
            rest = &rest[4 + len..];
            Some(bytes)
        })();
        match item {
            Some(b) => Some(Ok(b)),
            None => {
                rest = &[];
                Some(Err(StoreError::Corrupt { what: "group value".into() }))
            }
        }
    })
}

fn idx_key(tag: u8, key: &[u8], id: RecordId) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 19);
    k.push(T_IDX);
    k.push(tag);
    k.extend_from_slice(key);
    k.push(0);
    k.extend_from_slice(&id.to_bytes());
    k
}

impl Store {
    fn index_keys(&self, rec: Option<&Record>) -> Vec<Vec<u8>> {
        let Some(rec) = rec else { return Vec::new() };
        let mut keys = Vec::new();
        match rec.kind {
            RecordKind::Student => {
                let id = rec.id_number();
                if let Some(id) = &id {
                    keys.push(self.idx_key(IDX_ID_NUMBER, id.as_str().as_bytes(), rec.id));
                }
                // Most numbers are national ones, G + 身份证号: the 身份证号 key serves both (one
                // key fewer per student; sled's cost is per key).
                if let Some(no) = rec.student_no() {
                    let national = id.as_ref().is_some_and(|id| no.as_str().strip_prefix('G') == Some(id.as_str()));
                    if !national {
                        keys.push(self.idx_key(IDX_STUDENT_NO, no.as_str().as_bytes(), rec.id));
                    }
                }
            }
            RecordKind::Case => {
                if let Some(init) = &rec.case {
                    if let Some(s) = init.student {
                        keys.push(self.idx_key(IDX_CASE_OF, &s.to_bytes(), rec.id));
                    }
                    if let Some(id) = &init.child.id_number {
                        keys.push(self.idx_key(IDX_ID_NUMBER, id.as_str().as_bytes(), rec.id));
                    }
                }
            }
        }
        keys
    }
}

/// Decodes a value stored by this crate (for callers holding raw bytes).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(codec::decode(bytes)?)
}
