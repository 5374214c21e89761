//! Alerts about the system itself rather than a child: an identity in use on two machines,
//! and the warnings an operator needs before trouble (a certificate about to expire, a disk
//! nearly full, a backup too old). The checks that gather the facts live in the binaries; the
//! wording and ids live here so the node and the hub say the same thing.

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
}
