//! The nightly snapshot: the hub's compact, incremental view of the county that every report
//! and alert is computed from (the nightly run, [`crate::nightly`], and on-demand commands).
//!
//! # Incremental by design
//!
//! Every indicator is computed from a [`History`] (the dated timelines of every student and case,
//! `shared::indicators`), and every alert from the case records plus a few data problems
//! (unresolved conflicts, 重复学籍). The hub keeps all of that in a [`Snapshot`] file in its data
//! directory, together with the store's epoch and the log position it covers. Each run folds in
//! only the revisions logged since (`Store::log_range`) and re-reads only the records they
//! touched, so a night with a few thousand new revisions costs a few thousand reads whatever
//! the county's size. Without a usable snapshot (first run, damaged file, a store restored from
//! backup) the run rebuilds it from the derived records in one pass.
//!
//! The students the cases name are not kept here: the case rules and the township table's
//! 逾期未确认 count (a roll case past the day its confirmation fell due is 在籍辍学) read them
//! from the store when computing (`County::case_students`), so that rule needed no change of
//! this file's layout. A layout change bumps `SNAPSHOT_VERSION`; a file of another version
//! fails to load and the next refresh rebuilds it from the records.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use anyhow::{Context, Result};
use baoxue_shared::codec;
use baoxue_shared::dates::SchoolYearStart;
use baoxue_shared::indicators::History;
use baoxue_shared::{Change, Date, Field, Record, RecordId, RecordKind, RevId, Revision};
use baoxue_store::{Store, StoreKey};
use serde::{Deserialize, Serialize};

/// Bump when the snapshot's layout changes: an old file is then rebuilt, not misread.
/// 3: records carry dated writes (store derived version 2), and `History` keeps schools'
/// first placements (first-roster intake). 4: case records carry the 家访记录表 fields of
/// their visits (store derived version 5).
const SNAPSHOT_VERSION: u32 = 4;
/// Case records per encoded frame of the snapshot file.
const CHUNK: usize = 10_000;

/// The hub's compact view of the county, folded up to `log_pos`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub epoch: u64,
    /// Log positions below this are folded in.
    pub log_pos: u64,
    /// Timelines of every student and case, built.
    pub history: History,
    /// Cases are few: kept whole, complete ones only.
    pub cases: BTreeMap<RecordId, Record>,
    /// Records (students and cases) with a field in conflict.
    pub conflicts: BTreeSet<RecordId>,
    /// ID numbers held by more than one student record (重复学籍 candidates; the alerts judge
    /// each day).
    pub duplicates: BTreeSet<String>,
}

/// What one refresh read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    /// Built from the derived records (no usable snapshot).
    pub rebuilt: bool,
    /// Revisions read (from the log when incremental; roster rows and histories when rebuilt).
    pub revisions: u64,
    /// Records read.
    pub records: u64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    epoch: u64,
    log_pos: u64,
    cases: u32,
    conflicts: Vec<RecordId>,
    duplicates: Vec<String>,
}

/// A student record that counts as being on a roll, for 重复学籍.
/// A student record that counts towards 重复学籍: any complete one, whatever its status now,
/// since two records may have been on a roll together on a past day the alerts are asked
/// about (`shared::alerts::duplicate_since` decides per day).
fn live(rec: &Record) -> bool {
    rec.kind == RecordKind::Student && rec.is_complete()
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            epoch: 0,
            log_pos: 0,
            history: History::new(),
            cases: BTreeMap::new(),
            conflicts: BTreeSet::new(),
            duplicates: BTreeSet::new(),
        }
    }
}

impl Snapshot {
    /// `<data>/nightly/snapshot.bin`
    pub fn path(data: &Path) -> PathBuf {
        data.join("nightly").join("snapshot.bin")
    }

    /// Brings the snapshot up to the store's log end: folds in what was logged since, or
    /// rebuilds if the store is another replica (epoch changed), the snapshot is ahead of the
    /// log, or it was never built.
    pub fn refresh(&mut self, store: &Store, year_start: SchoolYearStart) -> Result<Refresh> {
        let epoch = store.epoch()?;
        let end = store.log_end()?;
        if epoch != self.epoch
            || self.log_pos > end
            || self.history.year_start() != year_start
            || (self.log_pos == 0 && end > 0)
        {
            return self.rebuild(store, year_start);
        }
        let mut out = Refresh::default();
        let mut students: BTreeSet<RecordId> = BTreeSet::new();
        let mut cases: BTreeSet<RecordId> = BTreeSet::new();
        let mut pos = self.log_pos;
        while pos < end {
            let entries = store.log_range(pos, 10_000)?;
            if entries.is_empty() {
                break;
            }
            for (p, e) in &entries {
                pos = p + 1;
                let Some(rev) = store.log_revision(e)? else {
                    continue;
                };
                out.revisions += 1;
                self.history.add(&rev);
                match (rev.kind, &rev.change) {
                    (RecordKind::Case, _) => {
                        cases.insert(rev.record);
                    }
                    (RecordKind::Student, Change::CreateStudent(_) | Change::Update(_)) => {
                        students.insert(rev.record);
                    }
                    _ => {}
                }
            }
        }
        self.history.build();
        let mut ids_to_check: BTreeSet<String> = self.duplicates.clone();
        for id in students {
            out.records += 1;
            let Some(rec) = store.record(id)? else {
                continue;
            };
            self.note_conflict(&rec);
            if let Some(n) = rec.id_number() {
                ids_to_check.insert(n.as_str().to_string());
            }
        }
        for id in cases {
            out.records += 1;
            let Some(rec) = store.record(id)? else {
                continue;
            };
            self.note_conflict(&rec);
            if rec.is_complete() {
                self.cases.insert(id, rec);
            }
        }
        self.duplicates.clear();
        for n in ids_to_check {
            let mut count = 0;
            for rid in store.by_id_number(&n)? {
                if let Some(r) = store.record(rid)? {
                    count += usize::from(live(&r));
                }
            }
            if count > 1 {
                self.duplicates.insert(n);
            }
        }
        self.log_pos = pos;
        Ok(out)
    }

    fn note_conflict(&mut self, rec: &Record) {
        if rec.conflicts().is_empty() {
            self.conflicts.remove(&rec.id);
        } else {
            self.conflicts.insert(rec.id);
        }
    }

    /// Builds the snapshot from the derived records in one pass. For a student whose status,
    /// grade and entry year were never changed after its roster row, only that row is folded
    /// in: rebuilt from the record itself when the store keeps the row's date with it
    /// ([`Store::records_dated`]), else read. For other students and for cases, the revisions
    /// the timelines use (the creating one, and every write of status, grade, entry year or
    /// case state, which the record's registers name) are read, not the whole history
    /// (absences and actions are most of it). Two threads scan the two halves of the record
    /// ids (decoding records is most of the work) while a third folds into the timelines and
    /// reads what must be read.
    pub fn rebuild(&mut self, store: &Store, year_start: SchoolYearStart) -> Result<Refresh> {
        self.rebuild_with(store, year_start, true)
    }

    /// [`Snapshot::rebuild`]; `rows_from_records`: rebuild roster rows from dated records
    /// (false: read every one, as for a store written before records were dated).
    pub fn rebuild_with(
        &mut self,
        store: &Store,
        year_start: SchoolYearStart,
        rows_from_records: bool,
    ) -> Result<Refresh> {
        // Take the log end first: anything logged meanwhile is folded in again next time
        // (folding is idempotent).
        let end = store.log_end()?;
        let epoch = store.epoch()?;
        let mut out = Refresh { rebuilt: true, ..Default::default() };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Fold>(4096);
        let half = u128::MAX >> 1;
        let halves = [(RecordId(0), RecordId(half)), (RecordId(half + 1), RecordId(u128::MAX))];
        let (history, revisions, scans) = std::thread::scope(|s| -> Result<(History, u64, Vec<Scanned>)> {
            let worker = s.spawn(move || -> Result<(History, u64)> {
                let mut h = History::with_year_start(year_start);
                let mut n = 0u64;
                for job in rx {
                    match job {
                        Fold::Row(rev) => {
                            n += 1;
                            h.add(&rev);
                        }
                        Fold::Read(id) => {
                            if let Some(rev) = store.revision(id, id.creating_revision())? {
                                n += 1;
                                h.add(&rev);
                            }
                        }
                        Fold::Writes(id, revs) => {
                            // A register may name a revision not (yet) held: only those the
                            // record's history has are folded.
                            for rev in store.revisions_of(id, &revs)? {
                                n += 1;
                                h.add(&rev);
                            }
                        }
                    }
                }
                h.build();
                Ok((h, n))
            });
            let scanners: Vec<_> = halves
                .into_iter()
                .map(|(lo, hi)| {
                    let tx = tx.clone();
                    s.spawn(move || scan_records(store, lo, hi, rows_from_records, &tx))
                })
                .collect();
            drop(tx);
            // Every thread is joined before any error is returned.
            let scans: Vec<_> = scanners
                .into_iter()
                .map(|t| t.join().map_err(|_| anyhow::anyhow!("快照重建线程异常退出")).and_then(|r| r))
                .collect();
            let joined = worker.join().map_err(|_| anyhow::anyhow!("快照重建线程异常退出"))?;
            let scans = scans.into_iter().collect::<Result<Vec<_>>>()?;
            let (h, n) = joined?;
            Ok((h, n, scans))
        })?;
        out.revisions = revisions;
        let mut cases = BTreeMap::new();
        let mut conflicts = BTreeSet::new();
        let mut by_id: HashMap<String, u32> = HashMap::new();
        for scan in scans {
            out.records += scan.records;
            cases.extend(scan.cases);
            conflicts.extend(scan.conflicts);
            for (k, n) in scan.by_id {
                *by_id.entry(k).or_default() += n;
            }
        }
        let duplicates = by_id.into_iter().filter(|(_, n)| *n > 1).map(|(k, _)| k).collect();
        *self = Snapshot { epoch, log_pos: end, history, cases, conflicts, duplicates };
        Ok(out)
    }

    /// Loads the snapshot file; a missing, foreign or damaged file gives an empty snapshot
    /// (the next refresh rebuilds it).
    pub fn load(data: &Path, key: Option<&StoreKey>) -> Snapshot {
        let path = Self::path(data);
        match Self::try_load(&path, key) {
            Ok(s) => s,
            Err(e) => {
                // A snapshot that cannot be read means a cold rebuild: say so, never silently.
                if path.exists() {
                    tracing::warn!(error = %format!("{e:#}"), "夜间快照无法读取，将从全部记录重建");
                }
                Snapshot::default()
            }
        }
    }

    fn try_load(path: &Path, key: Option<&StoreKey>) -> Result<Snapshot> {
        let bytes = match key {
            Some(k) => k.read_file(path)?,
            None => std::fs::read(path)?,
        };
        let mut f = bytes.as_slice();
        let header: Header = codec::decode_local(&read_frame(&mut f)?)?;
        anyhow::ensure!(header.version == SNAPSHOT_VERSION, "snapshot version {}", header.version);
        // The history of a large county exceeds the network's 64 MiB frame limit.
        let mut history: History = codec::decode_local(&read_frame(&mut f)?)?;
        history.build();
        let mut cases = BTreeMap::new();
        for _ in 0..(header.cases as usize).div_ceil(CHUNK) {
            let chunk: Vec<Record> = codec::decode_local(&read_frame(&mut f)?)?;
            cases.extend(chunk.into_iter().map(|c| (c.id, c)));
        }
        Ok(Snapshot {
            epoch: header.epoch,
            log_pos: header.log_pos,
            history,
            cases,
            conflicts: header.conflicts.into_iter().collect(),
            duplicates: header.duplicates.into_iter().collect(),
        })
    }

    /// Writes the snapshot atomically (a temporary file renamed over the old one), sealed with
    /// `key` when given (it holds every child's record).
    pub fn save(&self, data: &Path, key: Option<&StoreKey>) -> Result<()> {
        let path = Self::path(data);
        let dir = path.parent().expect("snapshot path has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
        let tmp = path.with_extension("tmp");
        let write = || -> Result<()> {
            let mut f = std::io::BufWriter::new(Vec::new());
            let header = Header {
                version: SNAPSHOT_VERSION,
                epoch: self.epoch,
                log_pos: self.log_pos,
                cases: self.cases.len() as u32,
                conflicts: self.conflicts.iter().copied().collect(),
                duplicates: self.duplicates.iter().cloned().collect(),
            };
            write_frame(&mut f, &codec::encode(&header)?)?;
            write_frame(&mut f, &codec::encode(&self.history)?)?;
            let cases: Vec<&Record> = self.cases.values().collect();
            for c in cases.chunks(CHUNK) {
                write_frame(&mut f, &codec::encode(&c)?)?;
            }
            let bytes = f.into_inner().map_err(|e| e.into_error())?;
            match key {
                Some(k) => k.write_file(&path, &bytes)?,
                None => {
                    baoxue_store::crypt::write_private(&tmp, &bytes)?;
                    std::fs::rename(&tmp, &path)?;
                }
            }
            Ok(())
        };
        write().with_context(|| format!("无法写入 {}", path.display()))?;
        Ok(())
    }
}

/// What the folding thread of [`Snapshot::rebuild`] is given.
enum Fold {
    /// A roster row rebuilt from its record.
    Row(Box<Revision>),
    /// A roster row to read.
    Read(RecordId),
    /// Revisions of a record to read and fold in.
    Writes(RecordId, Vec<RevId>),
}

/// What one scanning thread of [`Snapshot::rebuild`] found.
#[derive(Default)]
struct Scanned {
    records: u64,
    cases: BTreeMap<RecordId, Record>,
    conflicts: BTreeSet<RecordId>,
    /// Live student records per ID number.
    by_id: HashMap<String, u32>,
}

/// The creating revision of a student record, as far as [`History::add`] reads it, rebuilt from
/// the record (taking its roster row and creation stamp) and the date the store keeps with it.
fn roster_row(rec: &mut Record, date: Date) -> Option<Revision> {
    let (hlc, origin) = rec.created.take()?;
    let Some(init) = rec.student.take() else {
        rec.created = Some((hlc, origin));
        return None;
    };
    Some(Revision {
        id: rec.id.creating_revision(),
        record: rec.id,
        kind: RecordKind::Student,
        origin,
        seq: 0,
        hlc,
        author: String::new(),
        date,
        change: Change::CreateStudent(init),
    })
}

/// The revisions of `rec` that [`History::add`] folds in: the creating one and every write of
/// `fields` the record holds (each is a head of its field's register or among those it
/// replaced), once each.
fn timeline_writes(rec: &Record, fields: &[Field]) -> Vec<RevId> {
    let mut ids = BTreeSet::from([rec.id.creating_revision()]);
    for f in fields {
        if let Some(r) = rec.register(*f) {
            ids.extend(r.heads.keys().copied());
            ids.extend(r.replaced.iter().copied());
        }
    }
    ids.into_iter().collect()
}

/// Scans the records with ids in `lo..=hi` for [`Snapshot::rebuild`], sending what is to be
/// folded to `tx`.
fn scan_records(
    store: &Store,
    lo: RecordId,
    hi: RecordId,
    rows_from_records: bool,
    tx: &SyncSender<Fold>,
) -> Result<Scanned> {
    let mut out = Scanned::default();
    for item in store.records_dated(lo, hi) {
        let (mut rec, created_on) = item?;
        out.records += 1;
        if !rec.conflicts().is_empty() {
            out.conflicts.insert(rec.id);
        }
        let job = match rec.kind {
            RecordKind::Student => {
                // Written after the roster row (by anything but the row itself)?
                let changed = |f: Field| match rec.register(f) {
                    None => false,
                    Some(r) => {
                        !r.replaced.is_empty()
                            || r.heads.len() != 1
                            || !r.heads.contains_key(&rec.id.creating_revision())
                    }
                };
                let whole = !rec.is_complete()
                    || changed(Field::Placement)
                    || changed(Field::Grade)
                    || changed(Field::EntryYear);
                if live(&rec) {
                    if let Some(n) = rec.id_number() {
                        *out.by_id.entry(n.as_str().to_string()).or_default() += 1;
                    }
                }
                if whole {
                    Fold::Writes(rec.id, timeline_writes(&rec, &[Field::Placement, Field::Grade, Field::EntryYear]))
                } else {
                    // The record is not kept: its roster row moves into the rebuilt revision.
                    match created_on.filter(|_| rows_from_records).and_then(|d| roster_row(&mut rec, d)) {
                        Some(row) => Fold::Row(Box::new(row)),
                        None => Fold::Read(rec.id),
                    }
                }
            }
            RecordKind::Case => {
                let job = Fold::Writes(rec.id, timeline_writes(&rec, &[Field::CaseState]));
                if rec.is_complete() {
                    out.cases.insert(rec.id, rec);
                }
                job
            }
        };
        if tx.send(job).is_err() {
            // The folding thread failed; its error is reported.
            break;
        }
    }
    Ok(out)
}

fn write_frame(w: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&(bytes.len() as u64).to_le_bytes())?;
    w.write_all(bytes)
}

fn read_frame(r: &mut impl Read) -> Result<Vec<u8>> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len) as usize;
    // A bound against a corrupt length only (the file is our own): 16 GiB.
    anyhow::ensure!(len <= 16 << 30, "snapshot frame of {len} bytes");
    // Read as far as the file goes (a corrupt length allocates nothing it does not hold).
    let mut buf = Vec::new();
    r.take(len as u64).read_to_end(&mut buf)?;
    anyhow::ensure!(buf.len() == len, "snapshot frame cut short ({} of {len} bytes)", buf.len());
    Ok(buf)
}
