//! `init --county-code CODE --township T --org FILE [--policy PRESET|FILE]`: an offline-only
//! node, set up before any hub exists. Refuses a data directory that already holds anything.

use std::path::Path;

use baoxue_shared::org::Org;
use baoxue_store::Store;

use crate::config::{NodeConfig, META_CONFIG};
use crate::error::{invalid, refused, NodeError, Result};
use crate::output::Output;
use crate::policy;

pub struct InitArgs<'a> {
    pub county_code: &'a str,
    pub county_name: Option<&'a str>,
    pub township: &'a str,
    pub org: &'a Path,
    pub policy: Option<&'a str>,
}

pub fn init(dir: &Path, a: &InitArgs) -> Result<Output> {
    let code = a.county_code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("县代码「{code}」无效：应为 6 位行政区划代码（如 410329）")));
    }
    ensure_fresh(dir)?;
    let bytes = std::fs::read(a.org).map_err(|source| NodeError::Read { path: a.org.display().to_string(), source })?;
    let org = Org::parse_csv(&bytes)
        .map_err(|e| invalid(format!("组织机构文件 {}：{}", a.org.display(), one_line(&e.to_string()))))?;
    let township = a.township.trim();
    if !org.townships.contains_key(township) {
        return Err(invalid(format!(
            "乡镇「{township}」不在组织机构文件 {} 中（文件中的乡镇：{}）",
            a.org.display(),
            org.townships.keys().cloned().collect::<Vec<_>>().join("、")
        )));
    }
    let policy = policy::resolve(a.policy.unwrap_or(policy::DEFAULT_PRESET))?;
    let suffix: u16 = rand::random();
    let origin = format!("{township}-offline-{suffix:04x}");
    let schools = org.schools_in(township).count();
    let config = NodeConfig {
        county_code: code.to_string(),
        county_name: a.county_name.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(code).to_string(),
        township: township.to_string(),
        origin: origin.clone(),
        org,
        policy_toml: policy.stored.clone(),
        hub: None,
    };
    let store = Store::open(dir)?;
    store.put_meta(META_CONFIG, &config)?;
    store.flush()?;
    let mut out: Output = format!(
        "已初始化离线节点 {origin}：{}{township}，本乡镇学校 {schools} 所，政策 {}\n数据目录：{}\n",
        county_label(&config),
        policy.label,
        dir.display()
    )
    .into();
    key_notice(&store, &mut out);
    Ok(out)
}

/// Says where the data key is, and warns when it lies in a plain file.
pub fn key_notice(store: &Store, out: &mut Output) {
    if let Some(origin) = store.key().map(|k| k.origin()) {
        out.text.push_str(&format!("数据加密密钥：{origin}\n"));
        out.warnings.extend(origin.warning());
    }
}

/// Refuses a data directory that already holds anything (an initialised node above all).
pub fn ensure_fresh(dir: &Path) -> Result<()> {
    if dir.exists() {
        let non_empty = std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true);
        if non_empty {
            if let Some(store) = Store::exists(dir).then(|| Store::open(dir).ok()).flatten() {
                if let Ok(Some(c)) = store.get_meta::<NodeConfig>(META_CONFIG) {
                    return Err(refused(format!(
                        "数据目录 {} 已初始化（乡镇 {}，节点 {}），不能重复初始化",
                        dir.display(),
                        c.township,
                        c.origin
                    )));
                }
            }
            return Err(refused(format!("数据目录 {} 不是空目录，不能在其中初始化节点", dir.display())));
        }
    }
    Ok(())
}

/// Multi-line library messages folded into the one line the binary prints.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("；")
}

/// `姚安县（532325）`, or just the code when no name was given.
pub fn county_label(c: &NodeConfig) -> String {
    if c.county_name == c.county_code {
        format!("县（区）{} ", c.county_code)
    } else {
        format!("{}（{}）", c.county_name, c.county_code)
    }
}
