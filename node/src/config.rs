//! The node's configuration, kept in the store's meta tree so that a data directory is
//! self-contained (copy it, back it up, restore it).

use baoxue_shared::org::Org;
use serde::{Deserialize, Serialize};

/// Meta key of [`NodeConfig`].
pub const META_CONFIG: &str = "node_config";

/// How this node reaches the county hub (from the bundle the hub issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubLink {
    /// `host:port` of the hub.
    pub addr: String,
    /// The name in the hub's certificate.
    pub server_name: String,
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    pub county_code: String,
    pub county_name: String,
    /// The township this node serves: it only ever sees and changes its own children.
    pub township: String,
    /// The name revisions made here carry as their origin (the node name from the bundle, or
    /// `<township>-offline-<hex>` for a node set up before any hub existed).
    pub origin: String,
    pub org: Org,
    /// The county policy as TOML text (a preset's text or the county's own file).
    pub policy_toml: String,
    pub hub: Option<HubLink>,
}
