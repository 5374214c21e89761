//! Encryption at rest: the store's key, where it comes from, and the per-value AEAD and keyed
//! index hashes built on it (ring). Exists so that a lost or stolen disk reveals no child: the
//! sensitive values of the store, the meta values (a node's private key among them) and the
//! files other crates seal with [`StoreKey::seal`] are unreadable without the key, and index
//! keys are HMACs, not ID numbers.
//!
//! Where the key comes from (see [`StoreKey::resolve`]):
//! - `BAOXUE_KEY_FILE`, if set: a key file named by the caller (scripts, tests);
//! - otherwise the source the store was created with, which `keyref` in the store directory
//!   records (never the key itself): a key file, the systemd credential
//!   (`$CREDENTIALS_DIRECTORY/baoxue-key`; the shipped units load it with
//!   `LoadCredentialEncrypted=`, sealed to the TPM2 where there is one), or a passphrase
//!   (`BAOXUE_PASSPHRASE`; PBKDF2-HMAC-SHA256, its salt in `keyref`);
//! - for a new store: the credential if the process has one, else the passphrase if given,
//!   else a new random key in a plain key file OUTSIDE the data directory (mode 0600), the
//!   fallback for tests and machines without systemd, which callers report with a warning.

use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use thiserror::Error;

/// Name of the systemd credential (and of the key inside `$CREDENTIALS_DIRECTORY`).
pub const CREDENTIAL_NAME: &str = "baoxue-key";
/// Environment variable naming a key file.
pub const ENV_KEY_FILE: &str = "BAOXUE_KEY_FILE";
/// Environment variable holding a passphrase.
pub const ENV_PASSPHRASE: &str = "BAOXUE_PASSPHRASE";
/// The file in a store directory saying where its key comes from.
pub const KEYREF_FILE: &str = "keyref";

/// First byte of a sealed value (the format, should it ever change).
const SEALED_V1: u8 = 1;
/// Magic at the start of a sealed file.
const FILE_MAGIC: &[u8; 8] = b"BXSEAL1\n";
const PBKDF2_ROUNDS: u32 = 200_000;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("读取密钥文件 {path} 失败：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("密钥文件 {0} 内容无效（应为 64 位十六进制数）")]
    BadKeyFile(PathBuf),
    #[error("数据目录 {dir} 的密钥来自{what}，但现在无法取得它（{hint}）")]
    Unavailable { dir: PathBuf, what: String, hint: String },
    #[error("数据目录 {dir} 的密钥不对（来源：{origin}）：无法解密。若密钥已丢失，只能用新的配置包重新初始化本节点并从县级平台重新同步（见 docs/SECURITY.md）")]
    WrongKey { dir: PathBuf, origin: String },
    #[error("数据已损坏或密钥不对：无法解密（{0}）")]
    Decrypt(String),
}

/// Where a store's key came from (shown to the operator; never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// A key file; `created`: made just now (plain key on disk: warn).
    File { path: PathBuf, created: bool },
    /// A systemd credential.
    Credential,
    /// A passphrase.
    Passphrase,
}

impl std::fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyOrigin::File { path, .. } => write!(f, "密钥文件 {}", path.display()),
            KeyOrigin::Credential => write!(f, "systemd 凭据 {CREDENTIAL_NAME}"),
            KeyOrigin::Passphrase => write!(f, "口令（{ENV_PASSPHRASE}）"),
        }
    }
}

impl KeyOrigin {
    /// The warning to print when the key lies in a plain file (None otherwise).
    pub fn warning(&self) -> Option<String> {
        match self {
            KeyOrigin::File { path, .. } => Some(format!(
                "警告：数据加密密钥以明文保存在 {}（权限 0600，位于数据目录之外）；仅适用于测试或没有 systemd 的机器，\
                 正式部署请改用 systemd 凭据（见 deploy/install.sh）；密钥丢失则本机数据无法读取",
                path.display()
            )),
            _ => None,
        }
    }
}

/// What `keyref` records.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyRef {
    File { path: PathBuf },
    Credential,
    Passphrase { salt: String },
}

/// The store's 256-bit key and the two keys derived from it (AEAD for values, HMAC for index
/// keys), so that neither use weakens the other.
#[derive(Clone)]
pub struct StoreKey {
    aead: std::sync::Arc<LessSafeKey>,
    mac: hmac::Key,
    origin: KeyOrigin,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreKey({})", self.origin)
    }
}

impl StoreKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(secret: &[u8; 32], origin: KeyOrigin) -> StoreKey {
        let derive = |label: &[u8]| -> [u8; 32] {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), label);
            let mut out = [0u8; 32];
            out.copy_from_slice(tag.as_ref());
            out
        };
        let aead_key = derive(b"baoxue store values v1");
        let mac_key = derive(b"baoxue store index v1");
        let unbound = UnboundKey::new(&AES_256_GCM, &aead_key).expect("a 32-byte AES-256 key");
        StoreKey {
            aead: std::sync::Arc::new(LessSafeKey::new(unbound)),
            mac: hmac::Key::new(hmac::HMAC_SHA256, &mac_key),
            origin,
        }
    }

    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }

    /// Finds the key of the store in `dir` (see the module documentation), creating one for a
    /// new store: `default_file` is where a new plain key file goes (None: beside `dir`, as
    /// `<dir>.key`). Records the source in `dir/keyref` when the store has none yet.
    pub fn resolve(dir: &Path, default_file: Option<&Path>) -> Result<StoreKey, KeyError> {
        let keyref_path = dir.join(KEYREF_FILE);
        let recorded: Option<KeyRef> = std::fs::read_to_string(&keyref_path).ok().and_then(|t| toml_lite_parse(&t));
        let unavailable = |what: String, hint: String| KeyError::Unavailable { dir: dir.to_path_buf(), what, hint };
        let file_key = |path: &Path| -> Result<(StoreKey, KeyRef), KeyError> {
            let (key, created) = read_or_create_key_file(path)?;
            let origin = KeyOrigin::File { path: path.to_path_buf(), created };
            Ok((StoreKey::from_bytes(&key, origin), KeyRef::File { path: path.to_path_buf() }))
        };
        let pass_key = |pass: std::ffi::OsString, salt: String| -> (StoreKey, KeyRef) {
            let secret = passphrase_key(pass.to_string_lossy().as_bytes(), salt.as_bytes());
            (StoreKey::from_bytes(&secret, KeyOrigin::Passphrase), KeyRef::Passphrase { salt })
        };
        let passphrase = std::env::var_os(ENV_PASSPHRASE).filter(|p| !p.is_empty());
        let (key, record) = if let Some(p) = std::env::var_os(ENV_KEY_FILE).filter(|p| !p.is_empty()) {
            file_key(Path::new(&p))?
        } else {
            match &recorded {
                Some(KeyRef::File { path }) => {
                    if !path.is_file() {
                        return Err(unavailable(
                            format!("密钥文件 {}", path.display()),
                            format!("文件不存在；可用 {ENV_KEY_FILE} 指明它的新位置"),
                        ));
                    }
                    file_key(path)?
                }
                Some(KeyRef::Credential) => match credential()? {
                    Some(secret) => (StoreKey::from_bytes(&secret, KeyOrigin::Credential), KeyRef::Credential),
                    None => {
                        return Err(unavailable(
                            format!("systemd 凭据 {CREDENTIAL_NAME}"),
                            format!(
                                "请通过服务或 deploy/install.sh 安装的包装命令运行，或用 {ENV_KEY_FILE} 指明解密后的密钥文件"
                            ),
                        ))
                    }
                },
                Some(KeyRef::Passphrase { salt }) => match passphrase {
                    Some(p) => pass_key(p, salt.clone()),
                    None => return Err(unavailable("口令".into(), format!("请在环境变量 {ENV_PASSPHRASE} 中提供口令"))),
                },
                None => {
                    if let Some(secret) = credential()? {
                        (StoreKey::from_bytes(&secret, KeyOrigin::Credential), KeyRef::Credential)
                    } else if let Some(p) = passphrase {
                        pass_key(p, hex(&rand::random::<[u8; 16]>()))
                    } else {
                        file_key(&default_file.map(Path::to_path_buf).unwrap_or_else(|| default_key_file(dir)))?
                    }
                }
            }
        };
        if recorded.is_none() && dir.is_dir() {
            write_private(&keyref_path, toml_lite_write(&record).as_bytes())
                .map_err(|source| KeyError::Io { path: keyref_path.clone(), source })?;
        }
        Ok(key)
    }

    /// Encrypts `plain` for storage under `aad` (the value's key, so that values cannot be
    /// swapped between keys): version byte, random nonce, ciphertext and tag.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plain.len() + 16);
        self.seal_into(aad, plain, &mut out);
        out
    }

    /// [`StoreKey::seal`] appending to `out`.
    pub fn seal_into(&self, aad: &[u8], plain: &[u8], out: &mut Vec<u8>) {
        let nonce: [u8; NONCE_LEN] = rand::random();
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plain);
        let mut body = out.split_off(start);
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut body)
            .expect("AES-GCM seals any value below 64 GiB");
        out.extend_from_slice(&body);
    }

    /// Decrypts a value sealed under `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != SEALED_V1 {
            return Err(KeyError::Decrypt("格式不对".into()));
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().expect("checked length");
        let mut body = sealed[1 + NONCE_LEN..].to_vec();
        let n = self
            .aead
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut body)
            .map_err(|_| KeyError::Decrypt("校验失败".into()))?
            .len();
        body.truncate(n);
        Ok(body)
    }

    /// The keyed hash an index uses instead of `key` (16 bytes of HMAC-SHA256).
    pub fn index_hash(&self, key: &[u8]) -> [u8; 16] {
        let tag = hmac::sign(&self.mac, key);
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        out
    }

    /// Writes `plain` to `path` sealed (atomically, mode 0600), named by its file name.
    pub fn write_file(&self, path: &Path, plain: &[u8]) -> std::io::Result<()> {
        let mut bytes = FILE_MAGIC.to_vec();
        self.seal_into(file_aad(path).as_bytes(), plain, &mut bytes);
        write_private(path, &bytes)
    }

    /// Reads a file written by [`StoreKey::write_file`]. A file without the seal (written by
    /// an earlier version) is returned as it is; [`StoreKey::seal_file`] seals it.
    pub fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let bytes = std::fs::read(path)?;
        match bytes.strip_prefix(FILE_MAGIC.as_slice()) {
            Some(sealed) => self
                .open(file_aad(path).as_bytes(), sealed)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}：{e}", path.display()))),
            None => Ok(bytes),
        }
    }

    /// Whether a file is sealed.
    pub fn is_sealed_file(path: &Path) -> bool {
        let mut head = [0u8; 8];
        std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok_and(|_| &head == FILE_MAGIC)
    }

    /// Seals a file written in clear by an earlier version (no-op if missing or sealed).
    pub fn seal_file(&self, path: &Path) -> std::io::Result<()> {
        if !path.is_file() || StoreKey::is_sealed_file(path) {
            return Ok(());
        }
        let plain = std::fs::read(path)?;
        self.write_file(path, &plain)
    }
}

/// The additional data of a sealed file: its name (a file renamed to another's name does not
/// open as that one).
fn file_aad(path: &Path) -> String {
    format!("file:{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
}

/// `<dir>.key`, beside the directory.
pub fn default_key_file(dir: &Path) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    // `dir/` and `dir` give the same file.
    while s.len() > 1 && s.to_string_lossy().ends_with('/') {
        s = std::ffi::OsString::from(s.to_string_lossy().trim_end_matches('/').to_string());
    }
    s.push(".key");
    PathBuf::from(s)
}

/// The 32 bytes of a key file (64 hex digits), creating it with a random key (mode 0600) if
/// it does not exist. `true` if created.
fn read_or_create_key_file(path: &Path) -> Result<([u8; 32], bool), KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((parse_hex_key(&text).ok_or_else(|| KeyError::BadKeyFile(path.to_path_buf()))?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = ring_random()?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let mut f = std::fs::OpenOptions::new();
            f.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                f.mode(0o600);
            }
            let mut f = f.open(path).map_err(io)?;
            f.write_all(format!("{}\n", hex(&key)).as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok((key, true))
        }
        Err(e) => Err(io(e)),
    }
}

fn ring_random() -> Result<[u8; 32], KeyError> {
    use ring::rand::SecureRandom;
    let mut key = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut key).map_err(|_| KeyError::Decrypt("系统随机数不可用".into()))?;
    Ok(key)
}

/// The systemd credential, if this process was given one.
fn credential() -> Result<Option<[u8; 32]>, KeyError> {
    let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else { return Ok(None) };
    let path = Path::new(&dir).join(CREDENTIAL_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => {
            // 64 hex digits, or 32 raw bytes.
            if let Some(k) = std::str::from_utf8(&bytes).ok().and_then(parse_hex_key) {
                Ok(Some(k))
            } else if let Ok(k) = <[u8; 32]>::try_from(bytes.as_slice()) {
                Ok(Some(k))
            } else {
                Err(KeyError::BadKeyFile(path))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

fn passphrase_key(pass: &[u8], salt: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(PBKDF2_ROUNDS).expect("non-zero"),
        salt,
        pass,
        &mut out,
    );
    out
}

fn parse_hex_key(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    if t.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(t.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `keyref` is two lines, `source = …` and `path = …`/`salt = …` (no TOML dependency here).
fn toml_lite_write(r: &KeyRef) -> String {
    let head = "# baoxue：本数据目录的加密密钥从何处取得（不含密钥本身）\n";
    match r {
        KeyRef::File { path } => format!("{head}source = file\npath = {}\n", path.display()),
        KeyRef::Credential => format!("{head}source = credential\n"),
        KeyRef::Passphrase { salt } => format!("{head}source = passphrase\nsalt = {salt}\n"),
    }
}

fn toml_lite_parse(text: &str) -> Option<KeyRef> {
    let mut source = None;
    let mut path = None;
    let mut salt = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(" = ") else { continue };
        match k.trim() {
            "source" => source = Some(v.trim().to_string()),
            "path" => path = Some(PathBuf::from(v)),
            "salt" => salt = Some(v.trim().to_string()),
            _ => {}
        }
    }
    match source.as_deref()? {
        "file" => Some(KeyRef::File { path: path? }),
        "credential" => Some(KeyRef::Credential),
        "passphrase" => Some(KeyRef::Passphrase { salt: salt? }),
        _ => None,
    }
}

/// Writes a file atomically with mode 0600 (a temporary file renamed over it).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Creates `dir` (and its parents) and makes it 0700, whatever the umask.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(dir)?.permissions().mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Makes `dir` 0700 and every file under it 0600 (directories 0700), whatever the umask they
/// were created under.
pub fn restrict_tree(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.is_dir() {
            if meta.permissions().mode() & 0o777 != 0o700 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
            for e in std::fs::read_dir(dir)? {
                restrict_tree(&e?.path())?;
            }
        } else if meta.is_file() && meta.permissions().mode() & 0o777 != 0o600 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        StoreKey::from_bytes(&[7; 32], KeyOrigin::Passphrase)
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_aad() {
        let k = key();
        let s = k.seal(b"k1", "张小明".as_bytes());
        assert!(!s.windows(3).any(|w| w == &"张".as_bytes()[..3]));
        assert_eq!(k.open(b"k1", &s).unwrap(), "张小明".as_bytes());
        assert!(k.open(b"k2", &s).is_err());
        let other = StoreKey::from_bytes(&[8; 32], KeyOrigin::Passphrase);
        assert!(other.open(b"k1", &s).is_err());
        // Two seals of one value differ (random nonces).
        assert_ne!(k.seal(b"k1", b"x"), k.seal(b"k1", b"x"));
    }

    #[test]
    fn key_file_is_created_private_and_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        std::fs::create_dir(&dir).unwrap();
        let k = StoreKey::resolve(&dir, None).unwrap();
        let path = tmp.path().join("store.key");
        assert_eq!(k.origin(), &KeyOrigin::File { path: path.clone(), created: true });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = StoreKey::resolve(&dir, None).unwrap();
        let s = k.seal(b"a", b"b");
        assert_eq!(again.open(b"a", &s).unwrap(), b"b");
        assert!(std::fs::read_to_string(dir.join(KEYREF_FILE)).unwrap().contains("store.key"));
    }

    #[test]
    fn sealed_files_round_trip_and_legacy_files_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let k = key();
        let p = tmp.path().join("ca.pem");
        std::fs::write(&p, b"-----BEGIN PRIVATE KEY-----").unwrap();
        assert_eq!(k.read_file(&p).unwrap(), b"-----BEGIN PRIVATE KEY-----");
        k.seal_file(&p).unwrap();
        assert!(StoreKey::is_sealed_file(&p));
        assert!(!std::fs::read(&p).unwrap().windows(5).any(|w| w == b"BEGIN"));
        assert_eq!(k.read_file(&p).unwrap(), b"-----BEGIN PRIVATE KEY-----");
    }
}
