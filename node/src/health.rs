//! The warnings before trouble at a node (issue 14, point 7): its certificates that expire
//! within 30 days, a disk with less than 10% or 1 GiB free, a backup older than a week. The
//! facts are gathered here (the certificates from the node's configuration, the disk by a
//! probe, the backup day from the store); the thresholds and wording are `shared`'s
//! (`alerts::operations`), the same as the hub's. Shown by `status`, `alerts` (for today)
//! and the school app's home and alerts pages.

use std::path::Path;

use baoxue_shared::alerts::{Alert, CertExpiry, DiskFacts, OperationsFacts};
use baoxue_shared::Date;
use baoxue_store::disk::{disk_space, DiskSpace};

use crate::ledger::Ledger;

/// Measures the free space of the filesystem holding a path.
pub type DiskProbe<'a> = &'a dyn Fn(&Path) -> std::io::Result<DiskSpace>;

/// The facts of this node, the disk measured by statvfs (or `BAOXUE_DISK_SPACE`).
pub fn facts(l: &Ledger) -> OperationsFacts {
    facts_with(l, &disk_space)
}

/// The facts of this node, the disk measured by `probe`.
pub fn facts_with(l: &Ledger, probe: DiskProbe<'_>) -> OperationsFacts {
    let mut certificates = Vec::new();
    if let Some(hub) = &l.config.hub {
        for (what, pem) in [("节点证书", &hub.cert_pem), ("县 CA 证书", &hub.ca_pem)] {
            match baoxue_net::cert_expiry(pem, what) {
                Ok(expires) => certificates.push(CertExpiry { what: what.into(), expires }),
                Err(e) => tracing::warn!("{what}无法读取有效期：{e}"),
            }
        }
    }
    let disk =
        probe(&l.dir).ok().map(|s| DiskFacts { path: l.dir.display().to_string(), free: s.free, total: s.total });
    let (last_backup, set_up) = l.store.backup_days().unwrap_or((None, None));
    OperationsFacts { certificates, disk, last_backup, set_up }
}

/// The alerts these facts give on `today`, about this node.
pub fn alerts(l: &Ledger, facts: &OperationsFacts, today: Date) -> Vec<Alert> {
    facts.alerts(&l.config.origin, l.township(), today)
}
