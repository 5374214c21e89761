//! Layout migrations: a store written by an earlier version (one tree per kind of key; then a
//! key per revision) is moved to the current layout when opened, safely if interrupted.

use std::collections::HashMap;

use baoxue_shared::codec;
use baoxue_shared::{RecordId, RevId};
use serde::{Deserialize, Serialize};

use crate::{
    ctr_key, group_key, LogChunk, Result, Store, StoreError, CTR_HLC, CTR_LOG_END, CTR_SEQ, LAYOUT_VERSION,
    META_DERIVED, META_LAYOUT, T_IDX, T_LOG, T_REC,
};

/// Tags of the second layout (a key per revision, id lists as history, id-only log chunks).
const T_V2_REV: u8 = b'r';
const T_V2_LOG: u8 = b'l';
const T_V2_HIST: u8 = b'h';

/// Trees of the first layout (one tree per kind of key), which a store no longer has.
const OLD_TREES: [&str; 5] = ["revs", "log", "by_record", "records", "idx"];

/// A log chunk of the second layout (and of the first, one entry at a time).
#[derive(Serialize, Deserialize)]
struct V2LogChunk {
    from: Option<String>,
    revs: Vec<RevId>,
}

/// A log entry of the first layout.
#[derive(Serialize, Deserialize)]
struct V1LogEntry {
    rev: RevId,
    from: Option<String>,
}

impl Store {
    /// Moves a store of the second layout (a key per revision under `r`, a record's history as
    /// lists of ids under `h`, log chunks of ids under `l`) to groups and located log entries.
    /// Safe to interrupt: the new keys are written first (a second run writes the same ones),
    /// the layout version is recorded once they are durable, and only then do the old keys go.
    pub(crate) fn migrate_v2_layout(&self) -> Result<()> {
        let has_old = |tag: u8| -> Result<bool> { Ok(self.data.scan_prefix([tag]).next().transpose()?.is_some()) };
        let recorded: Option<u32> = self.get_meta(META_LAYOUT)?;
        if recorded.is_none() && !has_old(T_V2_REV)? && !has_old(T_V2_LOG)? && !has_old(T_V2_HIST)? {
            // A new store (or one that never held anything).
            self.put_meta(META_LAYOUT, &LAYOUT_VERSION)?;
            return self.flush();
        }
        const BATCH: usize = 5_000;
        if recorded.unwrap_or(2) < LAYOUT_VERSION {
            let corrupt = |what: &str| StoreError::Corrupt { what: what.into() };
            let mut batch = sled::Batch::default();
            let mut n = 0usize;
            // Groups from the history keys; where each revision went.
            let mut placed: HashMap<RevId, (RecordId, RevId, u32)> = HashMap::new();
            for kv in self.data.scan_prefix([T_V2_HIST]) {
                let (k, v) = kv?;
                if k.len() != 33 || v.len() % 16 != 0 {
                    return Err(corrupt("history key"));
                }
                let rec = RecordId::from_bytes(&k[1..17]).ok_or_else(|| corrupt("history key"))?;
                let first = RevId::from_bytes(&k[17..]).ok_or_else(|| corrupt("history key"))?;
                let mut group = Vec::new();
                let mut slot = 0u32;
                for b in std::iter::once(&k[17..]).chain(v.chunks(16)) {
                    let id = RevId::from_bytes(b).ok_or_else(|| corrupt("history key"))?;
                    let mut rk = vec![T_V2_REV];
                    rk.extend_from_slice(&id.to_bytes());
                    if let Some(bytes) = self.data.get(rk)? {
                        group.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                        group.extend_from_slice(&bytes);
                        placed.insert(id, (rec, first, slot));
                        slot += 1;
                    }
                }
                if slot > 0 {
                    batch.insert(&group_key(rec, first)[..], group);
                    n += 1;
                    if n.is_multiple_of(BATCH) {
                        self.data.apply_batch(std::mem::take(&mut batch))?;
                    }
                }
            }
            for kv in self.data.scan_prefix([T_V2_LOG]) {
                let (k, v) = kv?;
                let old: V2LogChunk = codec::decode(&v)?;
                let mut entries = Vec::with_capacity(old.revs.len());
                for id in old.revs {
                    let (rec, g, slot) =
                        *placed.get(&id).ok_or_else(|| corrupt(&format!("logged revision {id} missing")))?;
                    entries.push((id, rec, g, slot));
                }
                let mut nk = k.to_vec();
                nk[0] = T_LOG;
                batch.insert(nk, codec::encode(&LogChunk { from: old.from, entries })?);
                n += 1;
                if n.is_multiple_of(BATCH) {
                    self.data.apply_batch(std::mem::take(&mut batch))?;
                }
            }
            self.data.apply_batch(batch)?;
            self.flush()?;
            self.put_meta(META_LAYOUT, &LAYOUT_VERSION)?;
            // Records are rebuilt from the groups (they now name what they hold).
            self.remove_meta(META_DERIVED)?;
            self.flush()?;
        }
        // The old keys, once the new layout is durable.
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for tag in [T_V2_REV, T_V2_HIST, T_V2_LOG] {
            for k in self.data.scan_prefix([tag]).keys() {
                batch.remove(k?);
                n += 1;
                if n.is_multiple_of(BATCH * 4) {
                    self.data.apply_batch(std::mem::take(&mut batch))?;
                }
            }
        }
        if n > 0 {
            self.data.apply_batch(batch)?;
            self.flush()?;
        }
        Ok(())
    }

    /// Moves a store of the first layout (one tree each for revisions, log, history, records
    /// and indexes; counters in `meta`) into `data`, in the second layout (which
    /// [`Store::migrate_v2_layout`] then moves on). Only what the old log covers below its end
    /// is kept: a revision held but not logged (a crash of the old `apply`) is dropped, so that
    /// it is received again (its record may then count it twice in `Record::revisions`, which
    /// the old layout could not avoid). Safe to interrupt: the old trees go only after the copy
    /// is durable, and a second run copies the same keys again.
    pub(crate) fn migrate_old_layout(&self) -> Result<()> {
        let names = self.db.tree_names();
        let present: Vec<&str> =
            OLD_TREES.iter().copied().filter(|n| names.iter().any(|t| t == n.as_bytes())).collect();
        if present.is_empty() {
            return Ok(());
        }
        let tree = |name: &str| -> Result<Option<sled::Tree>> {
            Ok(if present.contains(&name) { Some(self.db.open_tree(name)?) } else { None })
        };
        // In batches of this many keys (re-done whole if interrupted: the keys are the same).
        const BATCH: usize = 10_000;
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        let mut put = |batch: &mut sled::Batch, k: &[u8], v: sled::IVec| -> Result<()> {
            batch.insert(k, v);
            n += 1;
            if n.is_multiple_of(BATCH) {
                self.data.apply_batch(std::mem::take(batch))?;
            }
            Ok(())
        };
        for name in [CTR_LOG_END, CTR_HLC, CTR_SEQ] {
            if let Some(v) = self.meta.get(name)? {
                put(&mut batch, &ctr_key(name), v)?;
            }
        }
        let end: u64 = match self.meta.get(CTR_LOG_END)? {
            Some(v) => codec::decode(&v)?,
            None => self.log_end()?,
        };
        if let (Some(log), Some(revs)) = (tree("log")?, tree("revs")?) {
            for kv in log.range(0u64.to_be_bytes()..end.to_be_bytes()) {
                let (k, v) = kv?;
                let pos = u64::from_be_bytes(
                    k.as_ref().try_into().map_err(|_| StoreError::Corrupt { what: "log key".into() })?,
                );
                let e: V1LogEntry = codec::decode(&v)?;
                let Some(rev) = revs.get(e.rev.to_bytes())? else {
                    return Err(StoreError::Corrupt { what: format!("logged revision {} missing", e.rev) });
                };
                put(&mut batch, &v2_key(T_V2_REV, &e.rev.to_bytes()), rev)?;
                let chunk = codec::encode(&V2LogChunk { from: e.from, revs: vec![e.rev] })?;
                put(&mut batch, &v2_key(T_V2_LOG, &pos.to_be_bytes()), chunk.into())?;
            }
        }
        for (name, tag) in [("by_record", T_V2_HIST), ("records", T_REC), ("idx", T_IDX)] {
            if let Some(t) = tree(name)? {
                for kv in t.iter() {
                    let (k, v) = kv?;
                    let mut key = Vec::with_capacity(k.len() + 1);
                    key.push(tag);
                    key.extend_from_slice(&k);
                    put(&mut batch, &key, v)?;
                }
            }
        }
        self.data.apply_batch(batch)?;
        self.flush()?;
        for name in present {
            self.db.drop_tree(name)?;
        }
        for name in [CTR_LOG_END, CTR_HLC, CTR_SEQ] {
            self.meta.remove(name)?;
        }
        self.flush()
    }
}

/// A key of the second layout: its tag, then `rest`.
fn v2_key(tag: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(tag);
    k.extend_from_slice(rest);
    k
}
