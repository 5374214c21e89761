//! The warnings before trouble at the hub (issue 14, point 7): the hub's own certificate and
//! the county CA's expiring within 30 days, a disk with less than 10% or 1 GiB free, a backup
//! (by hand or after the nightly) older than a week — and every node whose certificate, as
//! the hub issued it (`nodes.toml`), expires within 30 days. Thresholds and wording are
//! `shared`'s (`alerts::operations`), the same as the node's. Shown by `stats`, `alerts` (for
//! today), and the dashboard's nodes' health and alerts pages.

use std::path::Path;

use baoxue_shared::alerts::{cert_expires_soon, trouble_alert, Alert, CertExpiry, DiskFacts, OperationsFacts, Trouble};
use baoxue_shared::Date;
use baoxue_store::disk::{disk_space, DiskSpace};
use baoxue_store::Store;

use crate::data::{HubDir, NodeEntry, CA_FILE, HUB_CERT_FILE};

/// Who the hub's own alerts are about.
pub const HUB_SUBJECT: &str = "县级平台";

/// Measures the free space of the filesystem holding a path.
pub type DiskProbe<'a> = &'a dyn Fn(&Path) -> std::io::Result<DiskSpace>;

/// The hub's own facts, the disk measured by statvfs (or `BAOXUE_DISK_SPACE`).
pub fn facts(dir: &HubDir, store: &Store) -> OperationsFacts {
    facts_with(dir, store, &disk_space)
}

/// The hub's own facts, the disk measured by `probe`.
pub fn facts_with(dir: &HubDir, store: &Store, probe: DiskProbe<'_>) -> OperationsFacts {
    let mut certificates = Vec::new();
    for (what, file) in [("平台证书", HUB_CERT_FILE), ("县 CA 证书", CA_FILE)] {
        match dir
            .read_sealed_text(file)
            .map_err(|e| e.to_string())
            .and_then(|pem| baoxue_net::cert_expiry(&pem, what).map_err(|e| e.to_string()))
        {
            Ok(expires) => certificates.push(CertExpiry { what: what.into(), expires }),
            Err(e) => tracing::warn!("{what}无法读取有效期：{e}"),
        }
    }
    let disk =
        probe(&dir.root).ok().map(|s| DiskFacts { path: dir.root.display().to_string(), free: s.free, total: s.total });
    let (last_backup, set_up) = store.backup_days().unwrap_or((None, None));
    OperationsFacts { certificates, disk, last_backup, set_up }
}

/// The last day a node's certificate is valid: as recorded when it was issued, else (a node
/// issued by an earlier version) its issue day plus the validity every leaf is given.
pub fn node_cert_expiry(n: &NodeEntry) -> Option<Date> {
    if let Some(d) = n.cert_expires.as_deref().and_then(|s| Date::parse(s).ok()) {
        return Some(d);
    }
    Date::parse(&n.issued).ok().map(|d| d.add_days(baoxue_net::LEAF_VALIDITY_DAYS))
}

/// A warning for every node in service whose certificate expires within 30 days of `today`.
pub fn node_cert_alerts(nodes: &[NodeEntry], today: Date) -> Vec<Alert> {
    nodes
        .iter()
        .filter(|n| !n.revoked)
        .filter_map(|n| {
            let expires = node_cert_expiry(n)?;
            cert_expires_soon(expires, today).then(|| {
                let t = Trouble::CertificateExpiry { what: format!("节点 {} 的证书", n.name), expires };
                trouble_alert(&n.name, &n.township, &t, today)
            })
        })
        .collect()
}

/// Every warning before trouble at the county on `today`: the hub's own, then the nodes'.
pub fn alerts(dir: &HubDir, store: &Store, today: Date) -> Vec<Alert> {
    let mut out = facts(dir, store).alerts(HUB_SUBJECT, "", today);
    match dir.nodes() {
        Ok(nodes) => out.extend(node_cert_alerts(&nodes, today)),
        Err(e) => tracing::warn!("节点名单无法读取：{e}"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn node(name: &str, issued: &str, expires: Option<&str>, revoked: bool) -> NodeEntry {
        NodeEntry {
            name: name.into(),
            township: "鸦岭".into(),
            issued: issued.into(),
            revoked,
            revoked_on: None,
            cert_expires: expires.map(str::to_string),
        }
    }

    #[test]
    fn nodes_whose_certificates_expire_within_thirty_days_are_warned_about() {
        let nodes = [
            node("甲", "2020-01-01", Some("2027-01-04"), false),
            node("乙", "2020-01-01", Some("2027-01-04"), true),
            node("丙", "2020-01-01", Some("2030-01-04"), false),
        ];
        assert!(node_cert_alerts(&nodes, d("2026-12-04")).is_empty(), "31 days before");
        for today in ["2026-12-05", "2026-12-06", "2027-02-01"] {
            let a = node_cert_alerts(&nodes, d(today));
            assert_eq!(a.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(), ["甲"], "{today}");
            assert_eq!(a[0].township, "鸦岭");
            assert!(a[0].message.contains("节点 甲 的证书"), "{}", a[0].message);
        }
        // An entry from before expiry days were recorded: issue day + the leaf validity.
        let old = node("丁", "2017-01-01", None, false);
        assert_eq!(node_cert_expiry(&old), Some(d("2017-01-01").add_days(baoxue_net::LEAF_VALIDITY_DAYS)));
    }
}
