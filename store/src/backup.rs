//! Backup archives: a store's facts ([`Store::dump`]) and a few files of the data directory,
//! encrypted with age (age-encryption.org/v1) to the county's backup public key, so that the
//! county bureau can restore any node or the hub with its backup identity even when the
//! machine, and the key that sealed its store, are gone. Restoring builds a new store sealed
//! with the new machine's key, with a new epoch (peers resync with it).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use baoxue_shared::codec;
use serde::{Deserialize, Serialize};

use crate::dump::DumpCount;
use crate::{Result, Store, StoreError, StoreOptions};

const MAGIC: &[u8; 10] = b"BXBACKUP1\n";
const T_HEADER: u8 = b'h';
const T_FILE: u8 = b'f';
const T_STORE: u8 = b's';
const T_END: u8 = b'.';
/// The largest file an archive carries (the data directory's files are small).
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// What an archive says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// `node` or `hub`.
    pub kind: String,
    /// When it was written (text, the writer's choice).
    pub created: String,
    /// The store's epoch when it was written.
    pub epoch: u64,
}

/// A restored archive.
pub struct Restored {
    pub store: Store,
    pub header: BackupHeader,
    /// The files it carried (name, contents in clear).
    pub files: Vec<(String, Vec<u8>)>,
    pub count: DumpCount,
}

fn bad(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(what.to_string())
}

/// A new backup key pair: (identity file text, public key `age1…`). The identity is the
/// county's to keep offline; the public key goes into the hub's configuration and to nodes.
pub fn new_backup_identity() -> (String, String) {
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let text = format!(
        "# baoxue 县级备份私钥（age 格式）：恢复任何节点或平台的备份都需要它。请离线保存，勿留在服务器上。\n# public key: {public}\n{}\n",
        id.to_string().expose_secret()
    );
    (text, public)
}

/// Checks a backup public key (`age1…`).
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient> {
    text.trim().parse::<age::x25519::Recipient>().map_err(|e| bad(format!("备份公钥“{}”无效：{e}", text.trim())))
}

fn parse_identity(text: &str) -> Result<age::x25519::Identity> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .ok_or_else(|| bad("备份私钥文件中没有 AGE-SECRET-KEY 行"))?;
    line.parse::<age::x25519::Identity>().map_err(|e| bad(format!("备份私钥无效：{e}")))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| bad(format!("{}：{e}", path.display()))
}

/// Writes an archive of `store` and `files` to `out` (atomically, mode 0600), encrypted to
/// `recipient`, and records the day in the store ([`crate::META_LAST_BACKUP`]). The store is dumped with its writer held: one consistent state, while readers
/// (and a serving hub's other work) go on.
pub fn write_backup(
    store: &Store,
    header: &BackupHeader,
    files: &[(String, Vec<u8>)],
    recipient: &str,
    out: &Path,
) -> Result<DumpCount> {
    let recipient = parse_recipient(recipient)?;
    let tmp: PathBuf = {
        let mut s = out.as_os_str().to_owned();
        s.push(".tmp");
        s.into()
    };
    let file = {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        o.open(&tmp).map_err(io(&tmp))?
    };
    let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .map_err(|e| bad(format!("加密失败：{e}")))?;
    let mut w = enc.wrap_output(BufWriter::new(file)).map_err(io(&tmp))?;
    let count = (|| -> Result<DumpCount> {
        w.write_all(MAGIC).map_err(io(&tmp))?;
        let h = codec::encode(header)?;
        w.write_all(&[T_HEADER]).map_err(io(&tmp))?;
        w.write_all(&(h.len() as u64).to_le_bytes()).map_err(io(&tmp))?;
        w.write_all(&h).map_err(io(&tmp))?;
        for (name, bytes) in files {
            w.write_all(&[T_FILE]).map_err(io(&tmp))?;
            w.write_all(&(name.len() as u64).to_le_bytes()).map_err(io(&tmp))?;
            w.write_all(name.as_bytes()).map_err(io(&tmp))?;
            w.write_all(&(bytes.len() as u64).to_le_bytes()).map_err(io(&tmp))?;
            w.write_all(bytes).map_err(io(&tmp))?;
        }
        w.write_all(&[T_STORE]).map_err(io(&tmp))?;
        let count = store.dump(&mut w)?;
        w.write_all(&[T_END]).map_err(io(&tmp))?;
        Ok(count)
    })()?;
    let buf = w.finish().map_err(io(&tmp))?;
    let file = buf.into_inner().map_err(|e| bad(format!("{}：{}", tmp.display(), e.error())))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, out).map_err(io(out))?;
    // Durably, for the warning when the last backup is more than a week old.
    store.put_meta(crate::META_LAST_BACKUP, &baoxue_shared::Date::today().to_string())?;
    store.flush()?;
    Ok(count)
}

/// A file name an archive may carry: a relative path inside the data directory (`reports/
/// 2026-12-01/dropout.csv`), with no empty, `.` or `..` component.
fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\\') && name.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

fn read_len(r: &mut impl Read, max: u64) -> Result<usize> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).map_err(|e| bad(format!("备份文件不完整：{e}")))?;
    let n = u64::from_le_bytes(b);
    if n > max {
        return Err(bad(format!("备份文件中的条目过大（{n} 字节）")));
    }
    Ok(n as usize)
}

fn read_exact_vec(r: &mut impl Read, n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v).map_err(|e| bad(format!("备份文件不完整：{e}")))?;
    Ok(v)
}

/// Decrypts the archive `file` with the county's backup identity (the text of its identity
/// file) and restores its store into `dir` (new or empty), sealed with `dir`'s key.
pub fn read_backup(
    file: &Path,
    identity: &str,
    dir: &Path,
    opts: StoreOptions,
    default_key_file: Option<&Path>,
) -> Result<Restored> {
    let id = parse_identity(identity)?;
    let f = std::fs::File::open(file).map_err(io(file))?;
    let dec =
        age::Decryptor::new(BufReader::new(f)).map_err(|e| bad(format!("{} 不是可识别的备份：{e}", file.display())))?;
    let mut r = dec
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .map_err(|e| bad(format!("无法用这把备份私钥解密 {}：{e}", file.display())))?;
    let mut magic = [0u8; 10];
    r.read_exact(&mut magic).map_err(|e| bad(format!("备份文件不完整：{e}")))?;
    if &magic != MAGIC {
        return Err(bad(format!("{} 不是 baoxue 的备份", file.display())));
    }
    let mut header = None;
    let mut files = Vec::new();
    let mut restored = None;
    loop {
        let mut t = [0u8; 1];
        r.read_exact(&mut t).map_err(|e| bad(format!("备份文件不完整：{e}")))?;
        match t[0] {
            T_HEADER => {
                let n = read_len(&mut r, 1 << 20)?;
                header = Some(codec::decode::<BackupHeader>(&read_exact_vec(&mut r, n)?)?);
            }
            T_FILE => {
                let n = read_len(&mut r, 4096)?;
                let name = String::from_utf8(read_exact_vec(&mut r, n)?).map_err(|_| bad("备份中的文件名无效"))?;
                if !safe_name(&name) {
                    return Err(bad(format!("备份中的文件名“{name}”无效")));
                }
                let n = read_len(&mut r, MAX_FILE)?;
                files.push((name, read_exact_vec(&mut r, n)?));
            }
            T_STORE => restored = Some(Store::load(dir, opts, default_key_file, &mut r)?),
            T_END => break,
            other => return Err(bad(format!("备份文件中的未知条目 {other}"))),
        }
    }
    let header = header.ok_or_else(|| bad("备份文件缺少文件头"))?;
    let (store, count) = restored.ok_or_else(|| bad("备份文件中没有数据库"))?;
    Ok(Restored { store, header, files, count })
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn archive_names_stay_inside_the_data_directory() {
        for ok in ["hub.toml", "reports/2026-12-01/dropout.csv", "web/audit.jsonl", "a..b"] {
            assert!(safe_name(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "reports/../../x", "a//b", "./x", "a/", "a\\b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}
