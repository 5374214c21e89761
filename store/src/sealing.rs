//! Sealing a store: the marker that says its values are sealed (and checks the key), and the
//! migration of a store written in clear by an earlier version. Kept apart from the layout
//! migrations because it is orthogonal to them: any layout can be sealed.

use crate::crypt::StoreKey;
use crate::{meta_aad, Result, Store, StoreError, META_DERIVED, T_GROUP};

/// Meta key of the seal marker: a value sealed with the store's key (stored as it is, not
/// through `put_meta`), so that a wrong key is told apart from damage.
pub(crate) const META_SEALED: &str = "sealed";
const CHECK_AAD: &[u8] = b"baoxue key check";
const CHECK_PLAIN: &[u8] = b"baoxue";
/// Values re-written per batch while sealing.
const BATCH: usize = 2_000;

impl Store {
    /// Whether this store's values are sealed (it carries the marker).
    pub(crate) fn is_sealed(&self) -> Result<bool> {
        Ok(self.meta.get(META_SEALED)?.is_some())
    }

    /// Fails with [`crate::KeyError::WrongKey`] unless `key` opens the marker.
    pub(crate) fn check_key(&self, dir: &std::path::Path, key: &StoreKey) -> Result<()> {
        let marker = self.meta.get(META_SEALED)?.ok_or_else(|| StoreError::Corrupt { what: "seal marker".into() })?;
        match key.open(CHECK_AAD, &marker) {
            Ok(v) if v == CHECK_PLAIN => Ok(()),
            _ => Err(crate::KeyError::WrongKey { dir: dir.to_path_buf(), origin: key.origin().to_string() }.into()),
        }
    }

    /// Seals every meta value and revision group still in clear, has derived records and
    /// indexes (clear, and keyed by ID numbers) rebuilt sealed and hashed, and writes the
    /// marker last. Safe to interrupt: a value already sealed is recognised (its tag checks)
    /// and left alone, and until the marker is written the next open does this again.
    pub(crate) fn seal_existing(&self, key: &StoreKey) -> Result<()> {
        let mut batch = sled::Batch::default();
        for kv in self.meta.iter() {
            let (k, v) = kv?;
            if &*k == META_SEALED.as_bytes() {
                continue;
            }
            let aad = meta_aad(&k);
            if key.open(&aad, &v).is_err() {
                batch.insert(k, key.seal(&aad, &v));
            }
        }
        self.meta.apply_batch(batch)?;
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for kv in self.data.scan_prefix([T_GROUP]) {
            let (k, v) = kv?;
            if key.open(&k, &v).is_err() {
                batch.insert(&*k, key.seal(&k, &v));
                n += 1;
                if n.is_multiple_of(BATCH) {
                    self.data.apply_batch(std::mem::take(&mut batch))?;
                }
            }
        }
        self.data.apply_batch(batch)?;
        // Derived records and indexes are rebuilt (sealed, hashed) when the store opens.
        self.meta.remove(META_DERIVED)?;
        self.flush()?;
        self.meta.insert(META_SEALED, key.seal(CHECK_AAD, CHECK_PLAIN))?;
        self.flush()
    }
}
