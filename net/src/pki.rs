//! The county PKI: one self-signed CA per county, a server certificate for the hub, a client
//! certificate per township node.
//!
//! Why a private CA and not passwords: the hub must know *which* node is talking before it
//! accepts a single revision, and nodes sit on township networks nobody controls. Mutual TLS
//! against a county CA gives both sides a verified identity, and revoking a node is one name in
//! a list on the hub.
//!
//! # What goes into the certificates
//!
//! | certificate | subject | SAN | usage |
//! |---|---|---|---|
//! | CA | `CN=baoxue county CA <code>`, `O=<county name>`, `OU=baoxue` | — | CA, path length 0 |
//! | hub | `CN=<hub name>`, `O=<county name>`, `OU=hub` | the given names and IPs, plus [`HUB_SERVER_NAME`] | serverAuth |
//! | node | `CN=<node name>`, `O=<county name>`, `OU=<township>` | URI `baoxue://node/<name>?township=<t>&county=<code>` | clientAuth |
//!
//! The node's identity is read from the URI (percent-encoded UTF-8, so Chinese township names
//! survive the IA5String SAN); the subject fields repeat it for people reading the certificate
//! with `openssl x509 -text`. Serial numbers are 126 random bits. Leaves are valid for 10 years,
//! the CA for 20 so that it always outlives what it signs; all start a day in the past so that
//! a node whose clock runs a little behind still accepts the hub.

use std::fmt;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::error::NetError;

/// A DNS name every hub certificate carries, whatever other names it is given. Nodes connect
/// with this as the TLS server name, so the hub's IP address can change (a new server, a new
/// NAT) without reissuing anything: the CA, not the address, says who the hub is.
pub const HUB_SERVER_NAME: &str = "baoxue-hub";

const CA_CN_PREFIX: &str = "baoxue county CA ";
const NODE_URI_PREFIX: &str = "baoxue://node/";
const LEAF_DAYS: i64 = 3652;
/// How long a node's or the hub's certificate is valid from its issue (days).
pub const LEAF_VALIDITY_DAYS: i64 = LEAF_DAYS;
const CA_DAYS: i64 = 2 * 3652;
const BACKDATE_DAYS: i64 = 1;
/// X.520 upper bound for a common name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Who a node is, as certified by the county CA. Only ever built from a certificate that
/// rustls verified (see [`peer_identity`]); nothing the peer says later can change it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeIdentity {
    pub name: String,
    pub township: String,
    pub county_code: String,
}

impl fmt::Display for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}（{}）", self.name, self.township)
    }
}

/// A certificate and its private key, both PEM. What the hub hands a node (inside its bundle)
/// and what the hub keeps for itself.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for Credentials {
    /// The key is never printed: these structs end up in logs and panic messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("cert_pem", &format!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"[elided]")
            .finish()
    }
}

impl Credentials {
    /// Certificate then key, as one PEM text: what goes into a bundle or a single file.
    pub fn to_pem_string(&self) -> String {
        let mut s = String::with_capacity(self.cert_pem.len() + self.key_pem.len() + 1);
        s.push_str(self.cert_pem.trim_end());
        s.push('\n');
        s.push_str(self.key_pem.trim_end());
        s.push('\n');
        s
    }

    /// Reads back [`Credentials::to_pem_string`]. Text outside the PEM blocks is ignored, so the
    /// blocks may sit inside a larger file; exactly one certificate and one private key are
    /// required, and the key must belong to the certificate (a swapped file is caught here, not
    /// as a confusing handshake failure later).
    pub fn from_pem_string(text: &str) -> Result<Credentials, NetError> {
        let blocks = pem_blocks(text);
        let certs: Vec<_> = blocks.iter().filter(|b| b.label == "CERTIFICATE").collect();
        let keys: Vec<_> = blocks.iter().filter(|b| b.label.ends_with("PRIVATE KEY")).collect();
        let pem_err = |reason: String| NetError::Pem { what: "证书与私钥".into(), reason };
        if certs.len() != 1 {
            return Err(pem_err(format!("应有 1 个证书，找到 {} 个", certs.len())));
        }
        if keys.len() != 1 {
            return Err(pem_err(format!("应有 1 个私钥，找到 {} 个", keys.len())));
        }
        let cred = Credentials { cert_pem: certs[0].pem.clone(), key_pem: keys[0].pem.clone() };
        cred.check()?;
        Ok(cred)
    }

    /// The node identity in this certificate (a node reading its own bundle). Parsing only: this
    /// does not verify the certificate.
    pub fn node_identity(&self) -> Result<NodeIdentity, NetError> {
        peer_identity(self.cert_der()?.as_ref())
    }

    /// Both parse, and the key belongs to the certificate.
    fn check(&self) -> Result<(), NetError> {
        let der = self.cert_der()?;
        let key = parse_key_pair(&self.key_pem, "私钥")?;
        check_key_matches(der.as_ref(), &key, "证书")
    }

    pub(crate) fn cert_der(&self) -> Result<CertificateDer<'static>, NetError> {
        single_cert_der(&self.cert_pem, "证书")
    }

    pub(crate) fn key_der(&self) -> Result<PrivateKeyDer<'static>, NetError> {
        let mut reader = self.key_pem.as_bytes();
        match rustls_pemfile::private_key(&mut reader) {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(NetError::Pem { what: "私钥".into(), reason: "没有找到 PRIVATE KEY 块".into() }),
            Err(e) => Err(NetError::Pem { what: "私钥".into(), reason: e.to_string() }),
        }
    }
}

/// A county's certificate authority: the root of trust for its hub and every node.
///
/// Held by the hub only (in its data directory); nodes get just the certificate
/// ([`CountyCa::cert_pem`]).
#[derive(Clone, PartialEq, Eq)]
pub struct CountyCa {
    county_code: String,
    county_name: String,
    cert_pem: String,
    key_pem: String,
}

impl fmt::Debug for CountyCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountyCa")
            .field("county_code", &self.county_code)
            .field("county_name", &self.county_name)
            .field("key_pem", &"[elided]")
            .finish()
    }
}

impl CountyCa {
    /// A new CA for one county. The county code is in the CA's common name, so that a
    /// certificate shown to an operator says which county it trusts.
    pub fn generate(county_code: &str, county_name: &str) -> Result<CountyCa, NetError> {
        check_name("县代码", county_code)?;
        check_name("县名", county_name)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(&[
            (DnType::CommonName, format!("{CA_CN_PREFIX}{county_code}")),
            (DnType::OrganizationName, county_name.to_string()),
            (DnType::OrganizationalUnitName, "baoxue".to_string()),
        ]);
        // Path length 0: the CA signs hub and node certificates, never another CA.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        set_validity(&mut params, CA_DAYS);
        params.serial_number = Some(random_serial());
        let key = KeyPair::generate().map_err(|e| NetError::gen("县 CA 密钥", e))?;
        let cert = params.self_signed(&key).map_err(|e| NetError::gen("县 CA 证书", e))?;
        Ok(CountyCa {
            county_code: county_code.to_string(),
            county_name: county_name.to_string(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Reloads a CA persisted with [`CountyCa::cert_pem`] and [`CountyCa::key_pem`]. The county
    /// code and name come back out of the certificate; the key must belong to it.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<CountyCa, NetError> {
        let der = single_cert_der(cert_pem, "县 CA 证书")?;
        let (county_code, county_name) = {
            let cert = parse_x509(der.as_ref(), "县 CA 证书")?;
            if !cert.is_ca() {
                return Err(NetError::BadCert { what: "县 CA 证书".into(), reason: "不是 CA 证书".into() });
            }
            let code = county_code_of(&cert).ok_or_else(|| NetError::BadCert {
                what: "县 CA 证书".into(),
                reason: format!("通用名不是“{CA_CN_PREFIX}<县代码>”"),
            })?;
            let name = first_attr(cert.subject().iter_organization()).unwrap_or_default();
            (code, name)
        };
        let key = parse_key_pair(key_pem, "县 CA 私钥")?;
        check_key_matches(der.as_ref(), &key, "县 CA 证书")?;
        Ok(CountyCa { county_code, county_name, cert_pem: cert_pem.to_string(), key_pem: key_pem.to_string() })
    }

    /// [`CountyCa::from_pem`] from the single text of [`CountyCa::to_pem_string`].
    pub fn from_pem_string(text: &str) -> Result<CountyCa, NetError> {
        let cred = Credentials::from_pem_string(text)?;
        CountyCa::from_pem(&cred.cert_pem, &cred.key_pem)
    }

    /// Certificate then key, as one PEM text.
    pub fn to_pem_string(&self) -> String {
        self.credentials().to_pem_string()
    }

    /// The CA certificate and key as [`Credentials`], e.g. for [`write_pem_files`].
    pub fn credentials(&self) -> Credentials {
        Credentials { cert_pem: self.cert_pem.clone(), key_pem: self.key_pem.clone() }
    }

    pub fn county_code(&self) -> &str {
        &self.county_code
    }

    pub fn county_name(&self) -> &str {
        &self.county_name
    }

    /// The CA certificate: what hub and nodes trust. Public; goes into every node bundle.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key. Stays on the hub.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The issuer rebuilt from the persisted certificate, so that the issuer name of every leaf
    /// is the CA subject exactly as encoded (chain building compares them byte for byte).
    fn issuer(&self) -> Result<Issuer<'static, KeyPair>, NetError> {
        let key = parse_key_pair(&self.key_pem, "县 CA 私钥")?;
        let der = single_cert_der(&self.cert_pem, "县 CA 证书")?;
        Issuer::from_ca_cert_der(&der, key).map_err(|e| NetError::gen("县 CA 签发者", e))
    }
}

/// The hub's server certificate. `sans` are DNS names or IP addresses (`"localhost"`,
/// `"127.0.0.1"`, `"hub.example.cn"`) the hub may be reached under; [`HUB_SERVER_NAME`] is
/// always added.
pub fn issue_hub_cert(ca: &CountyCa, hub_name: &str, sans: &[String]) -> Result<Credentials, NetError> {
    check_name("县级平台名称", hub_name)?;
    let mut names: Vec<&str> = vec![HUB_SERVER_NAME];
    for s in sans {
        let s = s.trim();
        if !s.is_empty() && !names.contains(&s) {
            names.push(s);
        }
    }
    let mut params = CertificateParams::default();
    for name in names {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(name.try_into().map_err(|e| NetError::BadName {
                what: "县级平台地址",
                value: name.to_string(),
                reason: bad_ia5(e),
            })?),
        };
        params.subject_alt_names.push(san);
    }
    params.distinguished_name = dn(&[
        (DnType::CommonName, hub_name.to_string()),
        (DnType::OrganizationName, ca.county_name.clone()),
        (DnType::OrganizationalUnitName, "hub".to_string()),
    ]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    issue_leaf(ca, params, "县级平台证书")
}

/// A node's client certificate, carrying its identity (see the module docs). The node name
/// must be unique in the county: it is what the hub logs, attributes revisions to and revokes.
pub fn issue_node_cert(ca: &CountyCa, node_name: &str, township: &str) -> Result<Credentials, NetError> {
    check_name("节点名称", node_name)?;
    check_name("乡镇", township)?;
    let uri = format!(
        "{NODE_URI_PREFIX}{}?township={}&county={}",
        pct_encode(node_name),
        pct_encode(township),
        pct_encode(&ca.county_code)
    );
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![SanType::URI(uri.try_into().map_err(|e| NetError::BadName {
        what: "节点名称",
        value: node_name.to_string(),
        reason: bad_ia5(e),
    })?)];
    params.distinguished_name = dn(&[
        (DnType::CommonName, node_name.to_string()),
        (DnType::OrganizationName, ca.county_name.clone()),
        (DnType::OrganizationalUnitName, township.to_string()),
    ]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    issue_leaf(ca, params, &format!("节点 {node_name} 的证书"))
}

/// The node identity in a certificate (DER).
///
/// This only *parses*: call it on a certificate that rustls has verified against the county CA
/// (the transport does exactly that with the certificate of an established connection), never
/// on one taken from a message, or anyone could claim to be any node.
pub fn peer_identity(cert_der: &[u8]) -> Result<NodeIdentity, NetError> {
    let no_id = |reason: String| NetError::NoIdentity { reason };
    let cert = parse_x509(cert_der, "节点证书")?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| no_id(format!("备用名称扩展无效：{e}")))?
        .ok_or_else(|| no_id("没有备用名称扩展".into()))?;
    let uri = san
        .value
        .general_names
        .iter()
        .find_map(|g| match g {
            GeneralName::URI(u) if u.starts_with(NODE_URI_PREFIX) => Some(*u),
            _ => None,
        })
        .ok_or_else(|| no_id(format!("没有 {NODE_URI_PREFIX}… 形式的 URI")))?;
    parse_node_uri(uri).ok_or_else(|| no_id(format!("URI 格式不对：{uri}")))
}

/// The name a certificate *claims* (node name, else common name), without verifying anything.
/// Only for logging who was refused.
pub(crate) fn claimed_name(cert_der: &[u8]) -> Option<String> {
    if let Ok(id) = peer_identity(cert_der) {
        return Some(id.name);
    }
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    first_attr(cert.subject().iter_common_name())
}

/// The county code of a CA certificate (PEM), as put there by [`CountyCa::generate`].
pub fn ca_county_code(ca_cert_pem: &str) -> Result<String, NetError> {
    let der = single_cert_der(ca_cert_pem, "县 CA 证书")?;
    let cert = parse_x509(der.as_ref(), "县 CA 证书")?;
    county_code_of(&cert).ok_or_else(|| NetError::BadCert {
        what: "县 CA 证书".into(),
        reason: format!("通用名不是“{CA_CN_PREFIX}<县代码>”"),
    })
}

/// One `-----BEGIN …-----` … `-----END …-----` block of a PEM text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// `CERTIFICATE`, `PRIVATE KEY`, …
    pub label: String,
    /// The block itself, BEGIN and END lines included, `\n` line ends, final newline.
    pub pem: String,
}

/// The PEM blocks in a text, in order, ignoring everything between them. Lets a bundle file
/// mix PEM blocks with other content; an unterminated block is dropped.
pub fn pem_blocks(text: &str) -> Vec<PemBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r').trim();
        match current.take() {
            None => {
                if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
                    current = Some((label.to_string(), format!("{line}\n")));
                }
            }
            Some((label, mut pem)) => {
                pem.push_str(line);
                pem.push('\n');
                if line.starts_with("-----END ") {
                    if line == format!("-----END {label}-----") {
                        blocks.push(PemBlock { label, pem });
                    }
                } else {
                    current = Some((label, pem));
                }
            }
        }
    }
    blocks
}

/// Where [`write_pem_files`] put the two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl PemPaths {
    /// `<dir>/<stem>.crt` and `<dir>/<stem>.key`.
    pub fn new(dir: &Path, stem: &str) -> PemPaths {
        PemPaths { cert: dir.join(format!("{stem}.crt")), key: dir.join(format!("{stem}.key")) }
    }
}

/// Writes `<dir>/<stem>.crt` and `<dir>/<stem>.key` (the key readable by the owner only on
/// Unix). Each file is written to a temporary name, synced, then renamed, so that a crash never
/// leaves the hub with half a CA key.
pub fn write_pem_files(dir: &Path, stem: &str, cred: &Credentials) -> Result<PemPaths, NetError> {
    let paths = PemPaths::new(dir, stem);
    write_file_atomic(&paths.cert, cred.cert_pem.as_bytes(), false)?;
    write_file_atomic(&paths.key, cred.key_pem.as_bytes(), true)?;
    Ok(paths)
}

/// Reads what [`write_pem_files`] wrote, checking that the key belongs to the certificate.
pub fn read_pem_files(dir: &Path, stem: &str) -> Result<Credentials, NetError> {
    let paths = PemPaths::new(dir, stem);
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| NetError::io(p, e));
    let cred = Credentials { cert_pem: read(&paths.cert)?, key_pem: read(&paths.key)? };
    cred.check().map_err(|e| match e {
        NetError::Pem { reason, .. } | NetError::BadCert { reason, .. } => {
            NetError::Pem { what: format!("{} 与 {}", paths.cert.display(), paths.key.display()), reason }
        }
        other => other,
    })?;
    Ok(cred)
}

/// Writes a file atomically (temporary file, fsync, rename). `private`: mode 0600 on Unix, for
/// keys and bundles that hold a key.
pub fn write_file_atomic(path: &Path, contents: &[u8], private: bool) -> Result<(), NetError> {
    let file_name = path
        .file_name()
        .ok_or_else(|| NetError::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "不是文件路径")))?
        .to_string_lossy()
        .into_owned();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        NetError::io(path, e)
    })
}

// ---- internals ------------------------------------------------------------------------------

fn issue_leaf(ca: &CountyCa, mut params: CertificateParams, what: &str) -> Result<Credentials, NetError> {
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    set_validity(&mut params, LEAF_DAYS);
    let issuer = ca.issuer()?;
    let key = KeyPair::generate().map_err(|e| NetError::gen(format!("{what}的密钥"), e))?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| NetError::gen(what, e))?;
    Ok(Credentials { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

pub(crate) fn dn(entries: &[(DnType, String)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in entries {
        dn.push(ty.clone(), value.as_str());
    }
    dn
}

pub(crate) fn set_validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(BACKDATE_DAYS);
    params.not_after = now + Duration::days(days);
}

/// 126 random bits, positive and without a leading zero byte (a minimal DER INTEGER), so that
/// two certificates never share a serial even when issued in the same second.
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn check_name(what: &'static str, value: &str) -> Result<(), NetError> {
    let bad = |reason| NetError::BadName { what, value: value.to_string(), reason };
    if value.trim().is_empty() {
        return Err(bad("不能为空"));
    }
    if value.trim() != value {
        return Err(bad("首尾不能有空白"));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(bad("太长（最多 64 个字符）"));
    }
    if value.chars().any(char::is_control) {
        return Err(bad("含有控制字符"));
    }
    Ok(())
}

fn bad_ia5(_: rcgen::Error) -> &'static str {
    "只能包含 ASCII 字符"
}

pub(crate) fn single_cert_der(pem: &str, what: &str) -> Result<CertificateDer<'static>, NetError> {
    let mut reader = pem.as_bytes();
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut reader) {
        certs.push(item.map_err(|e| NetError::Pem { what: what.into(), reason: e.to_string() })?);
    }
    match certs.len() {
        1 => Ok(certs.remove(0)),
        n => Err(NetError::Pem { what: what.into(), reason: format!("应有 1 个 CERTIFICATE 块，找到 {n} 个") }),
    }
}

pub(crate) fn all_cert_ders(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let mut reader = pem.as_bytes();
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut reader) {
        certs.push(item.map_err(|e| NetError::Pem { what: what.into(), reason: e.to_string() })?);
    }
    if certs.is_empty() {
        return Err(NetError::Pem { what: what.into(), reason: "没有找到 CERTIFICATE 块".into() });
    }
    Ok(certs)
}

/// The last day (UTC+8) the first certificate in `pem` is valid (its notAfter), for the
/// warning before it expires. `what` names the certificate in an error.
pub fn cert_expiry(pem: &str, what: &str) -> Result<baoxue_shared::Date, NetError> {
    let ders = all_cert_ders(pem, what)?;
    let cert = parse_x509(ders[0].as_ref(), what)?;
    let secs = cert.validity().not_after.timestamp();
    Ok(baoxue_shared::Date::of_ms(u64::try_from(secs).unwrap_or(0).saturating_mul(1000)))
}

pub(crate) fn parse_key_pair(pem: &str, what: &str) -> Result<KeyPair, NetError> {
    KeyPair::from_pem(pem).map_err(|e| NetError::Pem { what: what.into(), reason: e.to_string() })
}

fn parse_x509<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, NetError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(NetError::BadCert { what: what.into(), reason: format!("无法解析：{e}") }),
    }
}

fn check_key_matches(cert_der: &[u8], key: &KeyPair, what: &str) -> Result<(), NetError> {
    let cert = parse_x509(cert_der, what)?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(NetError::BadCert { what: what.into(), reason: "私钥与证书不匹配".into() });
    }
    Ok(())
}

fn county_code_of(cert: &X509Certificate<'_>) -> Option<String> {
    let cn = first_attr(cert.subject().iter_common_name())?;
    let code = cn.strip_prefix(CA_CN_PREFIX)?;
    (!code.is_empty()).then(|| code.to_string())
}

fn first_attr<'a>(mut it: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>) -> Option<String> {
    it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
}

fn parse_node_uri(uri: &str) -> Option<NodeIdentity> {
    let rest = uri.strip_prefix(NODE_URI_PREFIX)?;
    let (name, query) = rest.split_once('?')?;
    let mut township = None;
    let mut county = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=')?;
        match k {
            "township" => township = Some(pct_decode(v)?),
            "county" => county = Some(pct_decode(v)?),
            _ => {}
        }
    }
    let id = NodeIdentity { name: pct_decode(name)?, township: township?, county_code: county? };
    (!id.name.is_empty() && !id.township.is_empty() && !id.county_code.is_empty()).then_some(id)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_identity_round_trips_through_the_certificate() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let cred = issue_node_cert(&ca, "迎水桥镇中心校", "迎水桥镇").expect("node cert");
        let id = cred.node_identity().expect("identity");
        assert_eq!(
            id,
            NodeIdentity {
                name: "迎水桥镇中心校".into(), township: "迎水桥镇".into(), county_code: "640502".into()
            }
        );
    }

    #[test]
    fn awkward_names_survive_percent_encoding() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let name = "a?b&c=d%e f/镇";
        let cred = issue_node_cert(&ca, name, "x&township=evil").expect("node cert");
        let id = cred.node_identity().expect("identity");
        assert_eq!(id.name, name);
        assert_eq!(id.township, "x&township=evil");
    }

    #[test]
    fn hub_and_ca_certs_carry_no_node_identity() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let hub = issue_hub_cert(&ca, "hub", &["localhost".into()]).expect("hub");
        assert!(matches!(hub.node_identity(), Err(NetError::NoIdentity { .. })));
        assert!(matches!(ca.credentials().node_identity(), Err(NetError::NoIdentity { .. })));
    }

    #[test]
    fn ca_survives_pem_round_trip_and_keeps_signing() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let back = CountyCa::from_pem_string(&ca.to_pem_string()).expect("reload");
        assert_eq!(back.county_code(), "640502");
        assert_eq!(back.county_name(), "沙坡头区");
        assert_eq!(ca_county_code(back.cert_pem()).expect("code"), "640502");
        let cred = issue_node_cert(&back, "n1", "t1").expect("issue after reload");
        assert_eq!(cred.node_identity().expect("id").county_code, "640502");
    }

    #[test]
    fn credentials_round_trip_inside_a_larger_text() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let cred = issue_node_cert(&ca, "n1", "t1").expect("cred");
        let text = format!("# bundle\nhub = \"1.2.3.4:7000\"\n{}\ntrailer\n", cred.to_pem_string());
        let back = Credentials::from_pem_string(&text).expect("parse");
        assert_eq!(back.node_identity().expect("id").name, "n1");
        // Two certificates is ambiguous: refused, not guessed.
        let two = format!("{}{}", ca.cert_pem(), cred.to_pem_string());
        assert!(matches!(Credentials::from_pem_string(&two), Err(NetError::Pem { .. })));
    }

    #[test]
    fn mismatched_key_is_caught() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let a = issue_node_cert(&ca, "a", "t").expect("a");
        let b = issue_node_cert(&ca, "b", "t").expect("b");
        let swapped = format!("{}{}", a.cert_pem, b.key_pem);
        assert!(matches!(Credentials::from_pem_string(&swapped), Err(NetError::BadCert { .. })));
        assert!(CountyCa::from_pem(ca.cert_pem(), &a.key_pem).is_err());
    }

    #[test]
    fn serials_are_unique() {
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let mut serials = std::collections::HashSet::new();
        for i in 0..20 {
            let cred = issue_node_cert(&ca, &format!("n{i}"), "t").expect("cred");
            let der = cred.cert_der().expect("der");
            let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).expect("parse");
            assert!(serials.insert(cert.raw_serial().to_vec()));
        }
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(matches!(CountyCa::generate("", "x"), Err(NetError::BadName { .. })));
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        assert!(issue_node_cert(&ca, "a\nb", "t").is_err());
        assert!(issue_node_cert(&ca, &"长".repeat(65), "t").is_err());
        assert!(issue_hub_cert(&ca, "hub", &["县平台.cn".into()]).is_err());
    }

    #[test]
    fn pem_files_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = CountyCa::generate("640502", "沙坡头区").expect("ca");
        let paths = write_pem_files(dir.path(), "ca", &ca.credentials()).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&paths.key).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
        }
        let back = read_pem_files(dir.path(), "ca").expect("read");
        assert_eq!(back, ca.credentials());
        let missing = read_pem_files(dir.path(), "nope");
        assert!(matches!(missing, Err(NetError::Io { .. })));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(peer_identity(b"not a certificate").is_err());
        assert!(Credentials::from_pem_string("").is_err());
        let fake = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\
                    -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(Credentials::from_pem_string(fake).is_err());
        assert!(CountyCa::from_pem("x", "y").is_err());
    }

    #[test]
    fn cert_expiry_is_the_not_after_day() {
        let ca = CountyCa::generate("410329", "伊川县").unwrap();
        let node = issue_node_cert(&ca, "鸦岭中心校", "鸦岭").unwrap();
        let today = baoxue_shared::Date::of_ms(baoxue_shared::revision::now_ms());
        let left = cert_expiry(&node.to_pem_string(), "节点证书").unwrap().days_since(today);
        assert!((LEAF_DAYS - 1..=LEAF_DAYS + 1).contains(&left), "{left}");
        let ca_left = cert_expiry(ca.cert_pem(), "县 CA 证书").unwrap().days_since(today);
        assert!((CA_DAYS - 1..=CA_DAYS + 1).contains(&ca_left), "{ca_left}");
        assert!(cert_expiry("no pem here", "节点证书").is_err());
    }
}
