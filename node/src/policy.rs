//! Which county policy this node applies: a preset name or the county's own TOML file, chosen at
//! `init` (or shipped by the hub) and kept in the node's configuration as self-contained TOML.

use baoxue_shared::policy::Policy;

use crate::config::NodeConfig;
use crate::error::{invalid, Result};

pub use baoxue_shared::policy::DEFAULT_PRESET;

/// A `--policy` argument made ready to store.
pub struct Resolved {
    /// What `NodeConfig::policy_toml` keeps: the policy as TOML, holidays inline.
    pub stored: String,
    /// How the operator is told which policy is in force.
    pub label: String,
}

/// A preset name or a policy file, checked and turned into self-contained TOML.
pub fn resolve(arg: &str) -> Result<Resolved> {
    let policy = Policy::load(arg.trim()).map_err(|e| invalid(format!("政策「{}」：{e}", arg.trim())))?;
    let stored = policy.to_toml().map_err(|e| invalid(format!("政策「{}」：{e}", arg.trim())))?;
    Ok(Resolved { stored, label: format!("{}（{}）", policy.name, policy.title) })
}

/// The policy in force at this node. A configuration that holds only a preset's name (as an
/// early offline node may) is read as that preset.
pub fn of(config: &NodeConfig) -> Result<Policy> {
    let text = config.policy_toml.trim();
    let parsed = if !text.contains('\n') && !text.contains('=') {
        Policy::preset(if text.is_empty() { DEFAULT_PRESET } else { text })
    } else {
        Policy::from_toml_str(text)
    };
    parsed.map_err(|e| invalid(format!("本节点保存的政策无法读取：{e}")))
}
