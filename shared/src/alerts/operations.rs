//! Alerts about the system itself rather than a child: an identity in use on two machines,
//! and the warnings an operator needs before trouble (a certificate about to expire, a disk
//! nearly full, a backup too old). The checks that gather the facts live in the binaries; the
//! wording and ids live here so the node and the hub say the same thing.

use serde::{Deserialize, Serialize};

use super::{Alert, SubjectKind};
use crate::dates::Date;
use crate::policy::Level;

/// Who acts on a system alert at the county.
const BUREAU: &str = "县教育局（县级平台管理员）";
/// The clause column of a system alert: the project's own operating rules (docs/SECURITY.md).
const OPERATIONS: &str = "运行安全（docs/SECURITY.md）";

/// A node's identity in use on two machines: a store epoch it had left behind came back on `since`.
pub fn cloned_identity_alert(node: &str, township: &str, since: Date) -> Alert {
    Alert {
        id: format!("cloned_identity:{node}"),
        rule: "cloned_identity".into(),
        level: Level::Urgent,
        subject_kind: SubjectKind::Node,
        subject: node.to_string(),
        township: township.to_string(),
        responsible: BUREAU.into(),
        since,
        due: since,
        clause: OPERATIONS.into(),
        message: format!(
            "克隆身份：节点 {node}（{township}）的身份在两台机器上使用，后来的一台已被拒绝同步。请核实哪台是正式节点：吊销该节点（baoxue-hub node revoke {node}），为正式机器重新签发（node add）并从新配置包初始化；被拒绝的机器上未同步的记录请先导出核对。"
        ),
    }
}

/// What a warning before trouble is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// A certificate (`what`: whose) expires on `expires`.
    CertificateExpiry { what: String, expires: Date },
    /// The disk holding the data directory has `free` of `total` bytes free.
    LowDisk { path: String, free: u64, total: u64 },
    /// The newest backup was written on `last` (none: never).
    StaleBackup { last: Option<Date>, max_days: u32 },
}

/// Certificates expiring within this many days are warned about.
pub const CERT_WARN_DAYS: i64 = 30;
/// A disk with less than this share free (percent) …
pub const DISK_MIN_FREE_PERCENT: u64 = 10;
/// … or less than this many bytes free is warned about.
pub const DISK_MIN_FREE_BYTES: u64 = 1 << 30;
/// A backup older than this many days is warned about.
pub const BACKUP_MAX_DAYS: u32 = 7;

/// Whether a disk with `free` of `total` bytes free is low.
pub fn disk_is_low(free: u64, total: u64) -> bool {
    free < DISK_MIN_FREE_BYTES || (total > 0 && free.saturating_mul(100) < total.saturating_mul(DISK_MIN_FREE_PERCENT))
}

/// Whether a certificate expiring on `expires` deserves a warning on `today`.
pub fn cert_expires_soon(expires: Date, today: Date) -> bool {
    expires.days_since(today) <= CERT_WARN_DAYS
}

/// Whether the newest backup (`last`) is older than `max_days` on `today` (never: yes).
pub fn backup_is_stale(last: Option<Date>, max_days: u32, today: Date) -> bool {
    last.is_none_or(|d| today.days_since(d) > i64::from(max_days))
}

/// One certificate's last valid day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertExpiry {
    /// Whose (Chinese, e.g. 节点证书, 县 CA 证书).
    pub what: String,
    /// Its notAfter, as a day (UTC+8).
    pub expires: Date,
}

/// Free space of the filesystem holding a data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFacts {
    pub path: String,
    pub free: u64,
    pub total: u64,
}

/// What the warnings before trouble are computed from, as the node or the hub gathered it
/// (certificates from its PEM files, the disk from statvfs, the backup day from its store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationsFacts {
    pub certificates: Vec<CertExpiry>,
    /// None: the disk could not be measured (said as a warning of its own by the caller).
    pub disk: Option<DiskFacts>,
    /// The day of the last successful backup (none: never).
    pub last_backup: Option<Date>,
    /// The day the data directory was set up: a directory never backed up is not warned about
    /// until it is older than [`BACKUP_MAX_DAYS`].
    pub set_up: Option<Date>,
}

impl OperationsFacts {
    /// The troubles these facts show on `today`.
    pub fn troubles(&self, today: Date) -> Vec<Trouble> {
        let mut out = Vec::new();
        for c in &self.certificates {
            if cert_expires_soon(c.expires, today) {
                out.push(Trouble::CertificateExpiry { what: c.what.clone(), expires: c.expires });
            }
        }
        if let Some(d) = &self.disk {
            if disk_is_low(d.free, d.total) {
                out.push(Trouble::LowDisk { path: d.path.clone(), free: d.free, total: d.total });
            }
        }
        if backup_is_stale(self.last_backup.or(self.set_up), BACKUP_MAX_DAYS, today) {
            out.push(Trouble::StaleBackup { last: self.last_backup, max_days: BACKUP_MAX_DAYS });
        }
        out
    }

    /// The alerts of [`OperationsFacts::troubles`] for `subject` (a node, or 县级平台).
    pub fn alerts(&self, subject: &str, township: &str, today: Date) -> Vec<Alert> {
        self.troubles(today).iter().map(|t| trouble_alert(subject, township, t, today)).collect()
    }
}

/// The alert for one trouble seen at `subject` (a node's name, or 县级平台) on `today`.
pub fn trouble_alert(subject: &str, township: &str, t: &Trouble, today: Date) -> Alert {
    let (rule, key, level, message) = match t {
        Trouble::CertificateExpiry { what, expires } => {
            let left = expires.days_since(today);
            let when = if left < 0 { format!("已于 {expires} 过期") } else { format!("将于 {expires} 过期（还有 {left} 天）") };
            (
                "certificate_expiry",
                what.clone(),
                if left < 7 { Level::Urgent } else { Level::Warning },
                format!("{what}{when}：过期后无法同步。请县级平台重新签发（node add）并在节点上从新配置包初始化。"),
            )
        }
        Trouble::LowDisk { path, free, total } => (
            "low_disk",
            path.clone(),
            Level::Warning,
            format!(
                "数据目录 {path} 所在磁盘剩余 {}（共 {}），低于 10% 或 1 GiB：磁盘写满后无法记录。请清理磁盘或迁移数据目录。",
                human_bytes(*free),
                human_bytes(*total)
            ),
        ),
        Trouble::StaleBackup { last, max_days } => (
            "stale_backup",
            String::new(),
            Level::Warning,
            match last {
                Some(d) => format!("最近一次备份在 {d}，已超过 {max_days} 天：请执行 backup --out FILE 并把备份存到另一处。"),
                None => "从未备份：请执行 backup --out FILE 并把备份存到另一处。".to_string(),
            },
        ),
    };
    Alert {
        id: if key.is_empty() { format!("{rule}:{subject}") } else { format!("{rule}:{subject}/{key}") },
        rule: rule.into(),
        level,
        subject_kind: SubjectKind::Node,
        subject: subject.to_string(),
        township: township.to_string(),
        responsible: BUREAU.into(),
        since: today,
        due: today,
        clause: OPERATIONS.into(),
        message,
    }
}

fn human_bytes(n: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if n as f64 >= GIB {
        format!("{:.1} GiB", n as f64 / GIB)
    } else {
        format!("{:.0} MiB", n as f64 / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn thresholds() {
        assert!(disk_is_low(500 << 20, 100 << 30), "under 1 GiB");
        assert!(disk_is_low(5 << 30, 100 << 30), "under 10%");
        assert!(!disk_is_low(20 << 30, 100 << 30));
        assert!(cert_expires_soon(d("2026-12-30"), d("2026-12-05")));
        assert!(!cert_expires_soon(d("2027-03-01"), d("2026-12-05")));
        assert!(backup_is_stale(None, 7, d("2026-12-05")));
        assert!(backup_is_stale(Some(d("2026-11-27")), 7, d("2026-12-05")));
        assert!(!backup_is_stale(Some(d("2026-11-28")), 7, d("2026-12-05")));
    }

    #[test]
    fn alerts_name_what_and_when() {
        let a = trouble_alert(
            "鸦岭中心校",
            "鸦岭",
            &Trouble::CertificateExpiry { what: "节点证书".into(), expires: d("2026-12-20") },
            d("2026-12-05"),
        );
        assert_eq!(a.rule, "certificate_expiry");
        assert!(a.message.contains("2026-12-20") && a.message.contains("15 天"), "{}", a.message);
        let c = cloned_identity_alert("鸦岭中心校", "鸦岭", d("2026-12-05"));
        assert_eq!(c.level, Level::Urgent);
        assert!(c.message.contains("克隆身份") && c.message.contains("鸦岭中心校"));
    }

    fn facts(cert: &str, last_backup: Option<&str>) -> OperationsFacts {
        OperationsFacts {
            certificates: vec![CertExpiry { what: "节点证书".into(), expires: d(cert) }],
            disk: Some(DiskFacts { path: "/data".into(), free: 50 << 30, total: 100 << 30 }),
            last_backup: last_backup.map(d),
            set_up: Some(d("2026-01-01")),
        }
    }

    fn rules(f: &OperationsFacts, today: &str) -> Vec<&'static str> {
        f.troubles(d(today))
            .iter()
            .map(|t| match t {
                Trouble::CertificateExpiry { .. } => "cert",
                Trouble::LowDisk { .. } => "disk",
                Trouble::StaleBackup { .. } => "backup",
            })
            .collect()
    }

    #[test]
    fn certificate_warning_starts_thirty_days_before_expiry() {
        // Expires 2027-01-04: 30 days after 2026-12-05.
        let f = facts("2027-01-04", Some("2026-12-01"));
        assert!(rules(&f, "2026-12-04").is_empty(), "31 days before: no warning");
        assert_eq!(rules(&f, "2026-12-05"), ["cert"], "30 days before: warned");
        assert_eq!(rules(&f, "2026-12-06"), ["cert"], "29 days before: warned");
        let a = f.alerts("鸦岭中心校", "鸦岭", d("2026-12-05"));
        assert_eq!(a[0].level, Level::Warning);
        assert!(a[0].message.contains("还有 30 天"), "{}", a[0].message);
        let late = f.alerts("鸦岭中心校", "鸦岭", d("2027-01-05"));
        assert!(late.iter().any(|a| a.message.contains("已于 2027-01-04 过期") && a.level == Level::Urgent));
    }

    #[test]
    fn backup_warning_starts_after_seven_days() {
        let f = facts("2030-01-01", Some("2026-12-01"));
        assert!(rules(&f, "2026-12-07").is_empty(), "6 days old");
        assert!(rules(&f, "2026-12-08").is_empty(), "7 days old: not yet");
        assert_eq!(rules(&f, "2026-12-09"), ["backup"], "8 days old");
        // Never backed up: warned a week after the directory was set up, not before.
        let mut never = facts("2030-01-01", None);
        never.set_up = Some(d("2026-12-01"));
        assert!(rules(&never, "2026-12-08").is_empty());
        assert_eq!(rules(&never, "2026-12-09"), ["backup"]);
        assert!(never.alerts("x", "y", d("2026-12-09"))[0].message.contains("从未备份"));
    }

    #[test]
    fn disk_warning_below_ten_percent_or_one_gib() {
        let mut f = facts("2030-01-01", Some("2026-12-01"));
        let today = "2026-12-02";
        for (free, total, low) in [
            (10u64 << 30, 100u64 << 30, false),
            ((10u64 << 30) - 1, 100u64 << 30, true),
            (1u64 << 30, 4u64 << 30, false),
            ((1u64 << 30) - 1, 4u64 << 30, true),
        ] {
            f.disk = Some(DiskFacts { path: "/data".into(), free, total });
            assert_eq!(rules(&f, today) == ["disk"], low, "{free} of {total}");
        }
    }
}
