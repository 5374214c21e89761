//! Whether the bureau's conflict resolutions have reached each township's node: the
//! resolutions found in the hub's log (revisions made at the hub that replace several
//! concurrent values, as `conflicts resolve` writes them), each with the townships it concerns,
//! compared with the hub-log position each node has confirmed holding (`NodeStatus::pulled`,
//! recorded from the node's own cursor and pull acknowledgements, never from what was only sent).
//!
//! Finding them reads the log's entries and decodes only the revisions made at the hub (the log
//! names each entry's sender), so a county's log of millions of node revisions costs one pass
//! over its entries; [`Resolutions::refresh`] then reads only what was logged since.

use std::collections::BTreeSet;

use baoxue_shared::org::Org;
use baoxue_shared::sync::{record_scope, Pulled, HUB_ORIGIN};
use baoxue_shared::{Change, Date, RecordId, Revision};
use baoxue_store::Store;
use serde::{Deserialize, Serialize};

use crate::data::Result;

/// Log entries read at a time.
const SCAN: usize = 10_000;

/// One resolution in the hub's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Its position in the hub's log: a node holds it once it confirmed a position beyond.
    pub pos: u64,
    pub record: RecordId,
    /// Its business date (`conflicts resolve --date`).
    pub date: Date,
    /// The townships whose nodes receive it (the record's scope now; a case's includes its
    /// student's), as the pull decides.
    pub townships: BTreeSet<String>,
}

/// Every resolution of the hub's log up to `scanned_to`, for one store epoch.
#[derive(Debug, Clone, Default)]
pub struct Resolutions {
    pub epoch: u64,
    pub scanned_to: u64,
    pub items: Vec<Resolution>,
}

/// Whether a revision is a conflict resolution: made at the hub, writing a field over more than
/// one concurrent value (a node's write never replaces several values: the hub refuses it).
pub fn is_resolution(rev: &Revision) -> bool {
    rev.origin == HUB_ORIGIN
        && matches!(&rev.change, Change::Update(assigns) if assigns.iter().any(|a| a.supersedes.len() > 1))
}

impl Resolutions {
    /// Every resolution in the store's log.
    pub fn scan(store: &Store, org: &Org) -> Result<Resolutions> {
        let mut r = Resolutions::default();
        r.refresh(store, org)?;
        Ok(r)
    }

    /// Reads what was logged since the last scan (from the start if the store's epoch changed
    /// or its log is shorter: a restore), and recomputes every resolution's townships (records
    /// move between townships; resolutions are few). Returns the log entries read.
    pub fn refresh(&mut self, store: &Store, org: &Org) -> Result<u64> {
        let epoch = store.epoch()?;
        let end = store.log_end()?;
        if epoch != self.epoch || self.scanned_to > end {
            *self = Resolutions { epoch, ..Default::default() };
        }
        let mut read = 0u64;
        let mut pos = self.scanned_to;
        while pos < end {
            let entries = store.log_range(pos, SCAN)?;
            if entries.is_empty() {
                break;
            }
            for (p, e) in entries {
                pos = p + 1;
                read += 1;
                // Made here (not received from a node): the only entries that can be one.
                if e.from.is_some() {
                    continue;
                }
                if let Some(rev) = store.log_revision(&e)? {
                    if is_resolution(&rev) {
                        self.items.push(Resolution {
                            pos: p,
                            record: rev.record,
                            date: rev.date,
                            townships: BTreeSet::new(),
                        });
                    }
                }
            }
        }
        self.scanned_to = pos;
        for item in &mut self.items {
            item.townships = scope_of(store, org, item.record)?;
        }
        Ok(read)
    }

    /// How the resolutions concerning `township` stand for a node that confirmed `pulled`.
    pub fn delivery(&self, township: &str, pulled: Option<Pulled>) -> Delivery {
        // A position of another epoch (the hub restored since) confirms nothing.
        let held = pulled.filter(|p| p.epoch == self.epoch).map(|p| p.pos).unwrap_or(0);
        let mut d = Delivery { confirmed_to: held, ..Default::default() };
        for r in self.items.iter().filter(|r| r.townships.contains(township)) {
            d.total += 1;
            if r.pos >= held {
                d.pending += 1;
                d.latest_pending = d.latest_pending.max(Some(r.date));
            }
        }
        d
    }
}

/// A record's townships as the pull sees them.
fn scope_of(store: &Store, org: &Org, id: RecordId) -> Result<BTreeSet<String>> {
    let Some(rec) = store.record(id)? else {
        return Ok(BTreeSet::new());
    };
    let scope = record_scope(&rec, org);
    let mut t = scope.townships;
    if let Some(student) = scope.student {
        if let Some(s) = store.record(student)? {
            t.extend(record_scope(&s, org).townships);
        }
    }
    Ok(t)
}

/// Whether one node has received the resolutions that concern its township.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Resolutions concerning the township, in all.
    pub total: usize,
    /// Those the node has not confirmed receiving.
    pub pending: usize,
    /// The business date of the latest of those.
    pub latest_pending: Option<Date>,
    /// The hub-log position the node confirmed holding (0: nothing confirmed).
    pub confirmed_to: u64,
}

impl Delivery {
    pub fn received(&self) -> bool {
        self.pending == 0
    }

    /// 「已收到最新裁决」 or 「未收到：N 条裁决待下发（最新 YYYY-MM-DD）」.
    pub fn text(&self) -> String {
        match self.latest_pending {
            Some(d) if self.pending > 0 => format!("未收到：{} 条裁决待下发（最新 {d}）", self.pending),
            _ => "已收到最新裁决".into(),
        }
    }
}
