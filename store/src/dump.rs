//! A store as a stream, for backups: every fact (revision groups, log chunks, counters, meta
//! values) in clear, consistent (written with the writer held), and a store rebuilt from such
//! a stream under a new key. Derived records and indexes are not carried: they are rebuilt from
//! the revisions. Whoever writes the stream to disk encrypts it (`baoxue backup` does, to the
//! county's backup key); the stream is independent of the machine's key, so that the county
//! can restore it when that machine and its key are gone.

use std::io::{Read, Write};
use std::path::Path;

use crate::{Result, Store, StoreError, StoreOptions, META_DERIVED, T_CTR, T_GROUP, T_LOG};

const MAGIC: &[u8; 10] = b"BXSTORE1\n\0";
const TREE_DATA: u8 = b'd';
const TREE_META: u8 = b'm';
const END: u8 = b'.';
/// The largest key or value a stream may carry (a sled value is far smaller).
const MAX_ITEM: usize = 256 * 1024 * 1024;

/// What a dump or a load counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpCount {
    pub entries: u64,
    /// Revisions held (the log's end).
    pub revisions: u64,
}

fn item(w: &mut impl Write, tree: u8, k: &[u8], v: &[u8]) -> std::io::Result<()> {
    w.write_all(&[tree])?;
    w.write_all(&(k.len() as u32).to_le_bytes())?;
    w.write_all(k)?;
    w.write_all(&(v.len() as u32).to_le_bytes())?;
    w.write_all(v)
}

fn read_bytes(r: &mut impl Read) -> Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(io)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_ITEM {
        return Err(StoreError::Corrupt { what: format!("备份中的条目过大（{len} 字节）") });
    }
    let mut b = vec![0u8; len];
    r.read_exact(&mut b).map_err(io)?;
    Ok(b)
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Corrupt { what: format!("备份数据流：{e}") }
}

impl Store {
    /// Writes every fact of the store to `w`, in clear (see the module documentation). Holds
    /// the writer meanwhile: applies and commits wait, so the stream is one consistent state.
    pub fn dump(&self, w: &mut impl Write) -> Result<DumpCount> {
        let _one_at_a_time = self.writer();
        let mut n = DumpCount { entries: 0, revisions: self.log_end()? };
        w.write_all(MAGIC).map_err(io)?;
        for kv in self.meta.iter() {
            let (k, v) = kv?;
            if &*k == crate::sealing::META_SEALED.as_bytes() {
                continue;
            }
            let v = self.open_value(&crate::meta_aad(&k), &v)?;
            item(w, TREE_META, &k, &v).map_err(io)?;
            n.entries += 1;
        }
        for tag in [T_GROUP, T_LOG, T_CTR] {
            for kv in self.data.scan_prefix([tag]) {
                let (k, v) = kv?;
                let v = if tag == T_GROUP { self.open_value(&k, &v)? } else { std::borrow::Cow::Borrowed(&v[..]) };
                item(w, TREE_DATA, &k, &v).map_err(io)?;
                n.entries += 1;
            }
        }
        w.write_all(&[END]).map_err(io)?;
        w.flush().map_err(io)?;
        Ok(n)
    }

    /// Builds a store in `dir` (which must not hold one) from a [`Store::dump`] stream, sealed
    /// with `dir`'s key (found or created as [`Store::open_keyed`] does), its derived records
    /// and indexes rebuilt, and a new epoch: peers treat it as restored and resync with it.
    pub fn load(
        dir: &Path,
        opts: StoreOptions,
        default_key_file: Option<&Path>,
        r: &mut impl Read,
    ) -> Result<(Store, DumpCount)> {
        if Store::exists(dir) {
            return Err(StoreError::Corrupt {
                what: format!("目录 {} 已有数据，只能恢复到新的或空的目录", dir.display()),
            });
        }
        let mut magic = [0u8; 10];
        r.read_exact(&mut magic).map_err(io)?;
        if &magic != MAGIC {
            return Err(StoreError::Corrupt { what: "不是 baoxue 的存储备份".into() });
        }
        let store = Store::open_keyed(dir, opts, default_key_file)?;
        let mut n = DumpCount::default();
        let mut data = sled::Batch::default();
        let mut pending = 0usize;
        loop {
            let mut tree = [0u8; 1];
            r.read_exact(&mut tree).map_err(io)?;
            match tree[0] {
                END => break,
                TREE_META => {
                    let (k, v) = (read_bytes(r)?, read_bytes(r)?);
                    store.meta.insert(&k, &*store.seal_value(&crate::meta_aad(&k), &v))?;
                }
                TREE_DATA => {
                    let (k, v) = (read_bytes(r)?, read_bytes(r)?);
                    let v = if k.first() == Some(&T_GROUP) { store.seal_value(&k, &v).into_owned() } else { v };
                    data.insert(k, v);
                    pending += 1;
                    if pending >= 5_000 {
                        store.data.apply_batch(std::mem::take(&mut data))?;
                        pending = 0;
                    }
                }
                t => return Err(StoreError::Corrupt { what: format!("备份数据流中的未知条目 {t}") }),
            }
            n.entries += 1;
        }
        store.data.apply_batch(data)?;
        store.remove_meta(META_DERIVED)?;
        store.flush()?;
        store.rebuild_derived()?;
        store.put_meta(META_DERIVED, &crate::DERIVED_VERSION)?;
        store.new_epoch()?;
        n.revisions = store.log_end()?;
        Ok((store, n))
    }
}
