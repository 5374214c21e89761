//! Free space of the filesystem that holds a data directory (statvfs), for the warning before
//! a disk fills up (a full disk stops every write). `BAOXUE_DISK_SPACE=FREE/TOTAL` (bytes)
//! replaces the measurement: the hook that lets a test see the warning without filling a disk.

use std::path::Path;

/// The environment variable that replaces the measurement (tests).
pub const ENV_DISK_SPACE: &str = "BAOXUE_DISK_SPACE";

/// Bytes free (to an unprivileged user) and in all, of one filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub free: u64,
    pub total: u64,
}

/// The space of the filesystem holding `path` (`BAOXUE_DISK_SPACE` if set and well-formed).
pub fn disk_space(path: &Path) -> std::io::Result<DiskSpace> {
    if let Some(s) = std::env::var(ENV_DISK_SPACE).ok().as_deref().and_then(parse_override) {
        return Ok(s);
    }
    measure(path)
}

fn parse_override(text: &str) -> Option<DiskSpace> {
    let (free, total) = text.trim().split_once('/')?;
    Some(DiskSpace { free: free.trim().parse().ok()?, total: total.trim().parse().ok()? })
}

#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn measure(path: &Path) -> std::io::Result<DiskSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "路径中含 NUL"))?;
    // SAFETY: `statvfs` is plain old data; all zeroes is a valid value for it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statvfs that outlives the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = if st.f_frsize > 0 { st.f_frsize as u64 } else { st.f_bsize as u64 };
    Ok(DiskSpace { free: (st.f_bavail as u64).saturating_mul(unit), total: (st.f_blocks as u64).saturating_mul(unit) })
}

#[cfg(not(unix))]
fn measure(_path: &Path) -> std::io::Result<DiskSpace> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "本系统无法查询磁盘空间"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_real_filesystem_and_reads_the_override() {
        let tmp = tempfile::tempdir().unwrap();
        let s = measure(tmp.path()).unwrap();
        assert!(s.total > 0 && s.free <= s.total, "{s:?}");
        assert!(measure(&tmp.path().join("missing")).is_err());
        assert_eq!(parse_override("100/1000"), Some(DiskSpace { free: 100, total: 1000 }));
        assert_eq!(parse_override("lots"), None);
    }
}
