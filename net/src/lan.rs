//! HTTPS on the school's LAN: a certificate authority of the node's own, the server certificate
//! it issues for the node's LAN addresses, and a TLS acceptor for the web app.
//!
//! Why a CA of the node's own and not a self-signed leaf: a phone or PC trusts the CA once (the
//! app offers it for download) and keeps trusting the node when its certificate is renewed or
//! its address changes. The CA carries name constraints (private IPv4 ranges, loopback and
//! `.local`/`.lan` names only), so a device that installs it lets it vouch for nothing on the
//! internet. Leaves live 800 days, under the 825 Apple platforms accept.
//!
//! This module is here because `net` is the only crate that knows rustls and rcgen; the web
//! crate sees PEM text and an accepted stream.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;

use crate::error::NetError;
use crate::pki::{dn, parse_key_pair, random_serial, set_validity, single_cert_der, Credentials};

/// Days a LAN server certificate is valid (Apple platforms refuse more than 825).
pub const LAN_LEAF_DAYS: i64 = 800;
const LAN_CA_DAYS: i64 = 20 * 365;

/// The node's own CA for its LAN web app. `cert_pem` is what devices install.
pub fn generate_lan_ca(node_name: &str) -> Result<Credentials, NetError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&[
        (DnType::CommonName, format!("保学 {node_name} 校园网证书")),
        (DnType::OrganizationName, node_name.to_string()),
        (DnType::OrganizationalUnitName, "baoxue-lan".to_string()),
    ]);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::V4([10, 0, 0, 0], [255, 0, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V4([172, 16, 0, 0], [255, 240, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V4([192, 168, 0, 0], [255, 255, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::DnsName("local".into()),
            GeneralSubtree::DnsName("lan".into()),
        ],
        excluded_subtrees: vec![],
    });
    set_validity(&mut params, LAN_CA_DAYS);
    params.serial_number = Some(random_serial());
    let key = KeyPair::generate().map_err(|e| NetError::gen("校园网 CA 密钥", e))?;
    let cert = params.self_signed(&key).map_err(|e| NetError::gen("校园网 CA 证书", e))?;
    Ok(Credentials { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// A server certificate from the LAN CA for the given addresses and names (`192.168.1.20`,
/// `baoxue.local`); `localhost` and `127.0.0.1` are always added.
pub fn issue_lan_server_cert(ca: &Credentials, names: &[String]) -> Result<Credentials, NetError> {
    let mut params = CertificateParams::default();
    let mut all: Vec<String> = vec!["localhost".into(), Ipv4Addr::LOCALHOST.to_string()];
    for n in names {
        let n = n.trim();
        if !n.is_empty() && !all.iter().any(|a| a == n) {
            all.push(n.to_string());
        }
    }
    for name in &all {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(name.as_str().try_into().map_err(|_| NetError::BadName {
                what: "校园网地址",
                value: name.clone(),
                reason: "只能是 IP 地址或英文域名",
            })?),
        };
        params.subject_alt_names.push(san);
    }
    // Not a host name: verifiers that check a host-like CN against the CA's name constraints
    // (OpenSSL does) would refuse an address CN such as `127.0.0.1`; the SANs carry the names.
    params.distinguished_name = dn(&[(DnType::CommonName, "保学校园应用".to_string())]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    set_validity(&mut params, LAN_LEAF_DAYS);
    let ca_key = parse_key_pair(&ca.key_pem, "校园网 CA 私钥")?;
    let ca_der = single_cert_der(&ca.cert_pem, "校园网 CA 证书")?;
    let issuer = Issuer::from_ca_cert_der(&ca_der, ca_key).map_err(|e| NetError::gen("校园网 CA 签发者", e))?;
    let key = KeyPair::generate().map_err(|e| NetError::gen("校园网证书密钥", e))?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| NetError::gen("校园网证书", e))?;
    Ok(Credentials { cert_pem: format!("{}{}", cert.pem(), ca.cert_pem), key_pem: key.serialize_pem() })
}

/// The DER form of the first certificate in `pem` (what `.crt`/`.cer` downloads carry).
pub fn cert_der(pem: &str) -> Result<Vec<u8>, NetError> {
    Ok(single_cert_der(pem, "证书")?.as_ref().to_vec())
}

/// An accepted TLS connection of the web app.
pub type HttpsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// Accepts TLS on TCP connections with one server certificate (TLS 1.2 and 1.3, *ring*).
#[derive(Clone)]
pub struct HttpsAcceptor {
    inner: tokio_rustls::TlsAcceptor,
}

impl HttpsAcceptor {
    /// `chain_pem`: the server certificate, then its CA; `key_pem`: the server key.
    pub fn new(chain_pem: &str, key_pem: &str) -> Result<HttpsAcceptor, NetError> {
        let certs: Vec<CertificateDer<'static>> = crate::pki::all_cert_ders(chain_pem, "服务器证书")?;
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .ok()
            .flatten()
            .ok_or(NetError::Tls { what: "服务器私钥", reason: "不是 PEM 私钥".into() })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| NetError::Tls { what: "HTTPS 配置", reason: e.to_string() })?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| NetError::Tls { what: "HTTPS 证书", reason: e.to_string() })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsAcceptor { inner: tokio_rustls::TlsAcceptor::from(Arc::new(config)) })
    }

    /// Completes the TLS handshake on an accepted TCP connection.
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<HttpsStream> {
        self.inner.accept(tcp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_leaf_chains_to_its_ca_and_names_the_address() {
        let ca = generate_lan_ca("鸦岭中心校").expect("ca");
        let leaf = issue_lan_server_cert(&ca, &["192.168.1.20".into()]).expect("leaf");
        let ders = crate::pki::all_cert_ders(&leaf.cert_pem, "leaf").expect("ders");
        assert_eq!(ders.len(), 2, "leaf then CA");
        let (_, cert) = x509_parser::parse_x509_certificate(ders[0].as_ref()).expect("parse");
        let san = cert.subject_alternative_name().expect("ext").expect("san");
        let text = format!("{:?}", san.value.general_names);
        assert!(text.contains("192.168.1.20") || text.contains("[192, 168, 1, 20]"), "{text}");
        HttpsAcceptor::new(&leaf.cert_pem, &leaf.key_pem).expect("acceptor");
    }
}
