//! The node bundle: one TOML file with everything a node needs to join the county.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The format tag of a node bundle.
pub const BUNDLE_FORMAT: &str = "baoxue-bundle/1";

/// Everything a node needs to join its county's hub, as one TOML text file issued by
/// `baoxue-hub node add`. It holds the node's private key: keep it like a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// The node's name (unique in the county; in its certificate).
    pub node: String,
    pub township: String,
    pub county_code: String,
    pub county_name: String,
    /// `host:port` of the hub.
    pub hub_addr: String,
    /// The name in the hub's certificate the node checks.
    pub server_name: String,
    pub issued: String,
    pub config_version: u64,
    pub ca_cert: String,
    pub node_cert: String,
    pub node_key: String,
    pub org_csv: String,
    pub policy_toml: String,
    /// The county's backup public key (age `age1…`): the node's backups are encrypted to it,
    /// so the bureau can restore them. Absent in bundles of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_recipient: Option<String>,
}

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("配置包不是有效的 TOML：{0}")]
    Toml(String),
    #[error("配置包格式“{0}”不受支持（应为 {BUNDLE_FORMAT}）")]
    Format(String),
    #[error("配置包缺少{0}")]
    Missing(&'static str),
    #[error("配置包无法写出：{0}")]
    Write(String),
}

impl Bundle {
    pub fn to_text(&self) -> Result<String, BundleError> {
        let body = toml::to_string(self).map_err(|e| BundleError::Write(e.to_string()))?;
        Ok(format!(
            "# baoxue 节点配置包：节点 {}（{}），{}（{}）\n# 含节点私钥，请像密码一样保管；在节点上执行 baoxue-node init --bundle 本文件\n{body}",
            comment(&self.node),
            comment(&self.township),
            comment(&self.county_name),
            comment(&self.county_code)
        ))
    }

    pub fn parse(text: &str) -> Result<Bundle, BundleError> {
        let text = text.trim_start_matches('\u{feff}');
        let b: Bundle = toml::from_str(text).map_err(|e| BundleError::Toml(e.to_string()))?;
        if b.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(b.format));
        }
        let required: [(&str, &'static str); 8] = [
            (&b.node, "节点名称（node）"),
            (&b.township, "乡镇（township）"),
            (&b.county_code, "县代码（county_code）"),
            (&b.hub_addr, "平台地址（hub_addr）"),
            (&b.server_name, "平台证书名称（server_name）"),
            (&b.ca_cert, "县 CA 证书（ca_cert）"),
            (&b.node_cert, "节点证书（node_cert）"),
            (&b.node_key, "节点私钥（node_key）"),
        ];
        for (v, what) in required {
            if v.trim().is_empty() {
                return Err(BundleError::Missing(what));
            }
        }
        Ok(b)
    }
}

/// A value shown in the bundle's first line, a TOML comment: a control character (a NUL, a line
/// break) there would end the comment or break the file, so it is shown as a space. (The values
/// themselves are in the TOML body, escaped.) Found by `baoxue-sim fuzz --target bundle`.
fn comment(v: &str) -> String {
    v.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sync::testkit::*;

    #[test]
    fn bundle_round_trip() {
        let b = Bundle {
            format: BUNDLE_FORMAT.into(),
            node: "鸦岭中心校".into(),
            township: A.into(),
            county_code: "410329".into(),
            county_name: "伊川县".into(),
            hub_addr: "10.0.0.1:7443".into(),
            server_name: "baoxue-hub".into(),
            issued: "2026-03-01".into(),
            config_version: 2,
            ca_cert: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n".into(),
            node_cert: "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n".into(),
            node_key: "-----BEGIN PRIVATE KEY-----\nCCC\n-----END PRIVATE KEY-----\n".into(),
            org_csv: org().to_csv(),
            policy_toml: "name = \"shapotou\"\n[sync]\nhour = 2\n".into(),
            backup_recipient: Some("age1example".into()),
        };
        let text = b.to_text().unwrap();
        assert!(text.starts_with("# baoxue 节点配置包"));
        assert_eq!(Bundle::parse(&text).unwrap(), b);
        assert!(matches!(Bundle::parse("format = \"x\""), Err(BundleError::Toml(_)) | Err(BundleError::Format(_))));
        // A control character in a name shown in the comment line (a NUL broke the file; a line
        // break would have put the rest of the name into the TOML body).
        let mut odd = b.clone();
        odd.county_name = "测\0试县".into();
        odd.node = "鸦岭\nnode_key = \"x\"".into();
        let text = odd.to_text().unwrap();
        assert_eq!(Bundle::parse(&text).unwrap(), odd);
        let mut missing = b.clone();
        missing.node_key = String::new();
        assert!(matches!(Bundle::parse(&missing.to_text().unwrap()), Err(BundleError::Missing(_))));
    }
}
