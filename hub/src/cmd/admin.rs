//! Setting the county up: `init`, `org import`, `policy set`, `node add`, `node revoke`,
//! `node list` — each a function of a [`Context`] returning what it did.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::data::{NodeRow, PendingAlerts};

/// `init`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitArgs {
    pub county_code: String,
    pub name: String,
    pub policy: Option<String>,
    pub addr: Option<String>,
}

/// What `init` made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initialised {
    pub county_code: String,
    pub county_name: String,
    pub data: PathBuf,
    pub policy: String,
    pub addr: String,
    /// The county CA's private key (to back up offline).
    pub ca_key: PathBuf,
    /// Where the data key came from.
    pub key_origin: String,
    /// A warning about it (a plain key file), for stderr.
    pub key_warning: Option<String>,
    /// The county backup key pair made (its lines).
    pub backup: Option<String>,
}

impl Initialised {
    pub fn text(&self) -> String {
        format!(
            "已建立 {}（{}）县级平台，数据目录 {}\n政策：{}；节点连接地址：{}\n县 CA 私钥在 {}（已加密），请用 backup 离线备份并妥善保管\n数据加密密钥：{}",
            self.county_name,
            self.county_code,
            self.data.display(),
            self.policy,
            self.addr,
            self.ca_key.display(),
            self.key_origin
        ) + &self.backup.as_ref().map(|b| format!("\n{b}")).unwrap_or_default()
    }

    /// For stderr.
    pub fn notes(&self) -> String {
        self.key_warning.as_ref().map(|w| format!("{w}\n")).unwrap_or_default()
    }
}

/// `init`: the county's CA, the hub's certificate, the policy, in the context's data directory.
pub fn init(ctx: &Context, a: &InitArgs) -> Result<Initialised> {
    let done = ctx.dir.init(&a.county_code, &a.name, a.policy.as_deref(), a.addr.as_deref())?;
    Ok(Initialised {
        county_code: done.config.county_code,
        county_name: done.config.county_name,
        data: ctx.dir.root.clone(),
        policy: done.config.policy,
        addr: done.config.addr,
        ca_key: done.ca_path,
        key_origin: done.key_origin.to_string(),
        key_warning: done.key_origin.warning(),
        backup: match (&done.backup_identity, &done.config.backup_recipient) {
            (Some(p), Some(r)) => Some(format!(
                "县级备份公钥：{r}\n县级备份私钥在 {}：请立即移到离线介质保存并从本机删除，恢复任何备份都需要它",
                p.display()
            )),
            _ => None,
        },
    })
}

/// What `org import` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgImported {
    pub townships: usize,
    pub schools: usize,
    /// The county configuration's new version (nodes receive it at their next sync).
    pub config_version: u64,
}

impl OrgImported {
    pub fn text(&self) -> String {
        format!(
            "已导入组织机构：{} 个乡镇，{} 所学校（配置第 {} 版，各节点下次同步时收到）",
            self.townships, self.schools, self.config_version
        )
    }
}

/// `org import FILE [--remove NAME]…` (FILE relative to the caller's directory): townships and
/// schools; removing one that still has nodes, students or cases needs `--remove`.
pub fn org_import(ctx: &Context, file: &std::path::Path, remove: &[String]) -> Result<OrgImported> {
    use anyhow::Context as _;
    let file = ctx.path(file);
    let bytes = std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
    let (townships, schools, config_version) = ctx.dir.import_org(ctx.lent_store(), &bytes, &file, remove)?;
    Ok(OrgImported { townships, schools, config_version })
}

/// What `policy set` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    /// As given: a preset name or a file.
    pub policy: String,
    pub config_version: u64,
}

impl PolicySet {
    pub fn text(&self) -> String {
        format!("已更换政策为 {}（配置第 {} 版，各节点下次同步时收到）", self.policy, self.config_version)
    }
}

/// `policy set PRESET|FILE`: the county's policy (nodes receive it at their next sync).
pub fn policy_set(ctx: &Context, policy: &str) -> Result<PolicySet> {
    let config_version = ctx.dir.set_policy(policy)?;
    Ok(PolicySet { policy: policy.to_string(), config_version })
}

/// What `policy holidays` loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidaysLoaded {
    pub years: Vec<String>,
    pub config_version: u64,
}

impl HolidaysLoaded {
    pub fn text(&self) -> String {
        format!(
            "已载入 {} 年节假日安排（配置第 {} 版，各节点下次同步时收到）",
            self.years.join("、"),
            self.config_version
        )
    }
}

/// `policy holidays FILE`: the State Council's holiday notice, replacing its years.
pub fn policy_holidays(ctx: &Context, file: &std::path::Path) -> Result<HolidaysLoaded> {
    // Not forwarded: a relative path is this process's, and the error names the file as typed.
    let table = baoxue_shared::calendar::HolidayTable::load(file)?;
    let years: Vec<String> = table.years.keys().map(|y| y.to_string()).collect();
    let config_version = ctx.dir.update_policy(|p| p.with_holiday_notice(&table))?;
    Ok(HolidaysLoaded { years, config_version })
}

/// `policy closure`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureArgs {
    /// Why (雪天停课 …).
    pub name: String,
    pub from: String,
    /// Default: `from`.
    pub to: Option<String>,
}

/// What `policy closure` registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureSet {
    pub name: String,
    pub from: baoxue_shared::Date,
    pub to: baoxue_shared::Date,
    pub config_version: u64,
}

impl ClosureSet {
    pub fn text(&self) -> String {
        format!(
            "已登记停课「{}」{} 至 {}：不计入时限（配置第 {} 版，各节点下次同步时收到）",
            self.name, self.from, self.to, self.config_version
        )
    }
}

/// `policy closure --name --from [--to]`: days the county's schools are closed (no deadline
/// runs, no absence can be recorded).
pub fn policy_closure(ctx: &Context, a: &ClosureArgs) -> Result<ClosureSet> {
    let day = |s: &str, flag: &str| {
        baoxue_shared::Date::parse(s).map_err(|_| anyhow!("{flag} 日期「{s}」无效：应为 YYYY-MM-DD 格式的真实日期"))
    };
    let from = day(&a.from, "--from")?;
    let to = match &a.to {
        Some(t) => day(t, "--to")?,
        None => from,
    };
    let c = baoxue_shared::calendar::Closure::new(&a.name, from, to)?;
    let config_version = ctx.dir.update_policy(|p| p.with_closure(c))?;
    Ok(ClosureSet { name: a.name.clone(), from, to, config_version })
}

/// `node add`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddArgs {
    pub name: String,
    pub township: String,
    /// Where to write the bundle (never overwritten: it holds a private key).
    pub out: PathBuf,
    /// The hub address written into the bundle (default: `init --addr`).
    pub hub: Option<String>,
}

/// What `node add` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAdded {
    pub name: String,
    pub township: String,
    /// The bundle, as the operator named it.
    pub out: PathBuf,
    pub hub: String,
}

impl NodeAdded {
    pub fn text(&self) -> String {
        format!(
            "已签发节点 {}（{}），配置包写入 {}（含私钥，请安全送达该乡镇）\n节点上执行：baoxue-node init --bundle {}（平台地址 {}）",
            self.name,
            self.township,
            self.out.display(),
            self.out.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default(),
            self.hub
        )
    }
}

/// `node add`: issues a node's certificate and writes its bundle (never over an existing file).
pub fn node_add(ctx: &Context, a: &NodeAddArgs) -> Result<NodeAdded> {
    let out = ctx.path(&a.out);
    if out.exists() {
        return Err(anyhow!("{} 已存在，不覆盖（配置包含私钥，请换一个文件名）", a.out.display()));
    }
    let text = ctx.dir.add_node(&a.name, &a.township, a.hub.as_deref())?;
    baoxue_net::write_file_atomic(&out, text.as_bytes(), true)?;
    let cfg = ctx.dir.config()?;
    Ok(NodeAdded {
        name: a.name.clone(),
        township: a.township.clone(),
        out: a.out.clone(),
        hub: a.hub.clone().unwrap_or(cfg.addr),
    })
}

/// What `node revoke` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRevoked {
    pub name: String,
    pub township: String,
}

impl NodeRevoked {
    pub fn text(&self) -> String {
        format!("已吊销节点 {}（{}）：此后的连接一律拒绝", self.name, self.township)
    }
}

/// `node revoke NAME`: the node can no longer connect.
pub fn node_revoke(ctx: &Context, name: &str) -> Result<NodeRevoked> {
    let n = ctx.dir.revoke_node_in(&ctx.store()?, name)?;
    Ok(NodeRevoked { name: n.name, township: n.township })
}

/// `node list`: the nodes, with the alerts in force in each township when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeList {
    /// Where the alert counts come from (none: unknown).
    pub alerts: Option<PendingAlerts>,
    pub rows: Vec<NodeRow>,
}

impl NodeList {
    pub fn text(&self) -> String {
        if self.rows.is_empty() {
            return "尚未签发任何节点（baoxue-hub node add）\n".into();
        }
        let mut s = String::new();
        if let Some(a) = &self.alerts {
            let how = if a.source == "live" { "当前计算" } else { "夜间汇总存档，serve 运行中" };
            s.push_str(&format!("在办预警截至 {}（{how}）\n", a.as_of));
        }
        for r in &self.rows {
            s.push_str(&format!(
                "{}（{}）  签发 {}  最近同步 {}  在办预警 {}  {}{}{}\n",
                r.name,
                r.township,
                r.issued,
                r.last_sync.as_deref().unwrap_or("从未"),
                r.pending_alerts.map(|n| n.to_string()).unwrap_or_else(|| "未知".into()),
                r.resolutions.as_ref().map(|d| d.text()).unwrap_or_else(|| "裁决送达情况未知".into()),
                if r.revoked { "  已吊销" } else { "" },
                r.last_error.as_ref().map(|e| format!("  上次失败：{e}")).unwrap_or_default()
            ));
        }
        s
    }
}

/// `node list`: every node issued, its last sync, and the alerts in force in its township.
pub fn node_list(ctx: &Context) -> Result<NodeList> {
    let alerts = pending_alerts(ctx);
    let mut rows = ctx.dir.node_rows_with(alerts.as_ref())?;
    // Whether the resolutions reached each node: unknown when the store cannot be had.
    let res =
        ctx.store().ok().and_then(|store| crate::resolutions::Resolutions::scan(&store, &ctx.dir.org().ok()?).ok());
    if let Some(res) = res {
        for r in &mut rows {
            r.resolutions = Some(res.delivery(&r.township, r.pulled));
        }
    }
    Ok(NodeList { alerts, rows })
}

/// Alerts in force per township: computed now when the store can be had, else the newest
/// nightly archive (while `serve` holds the store), else unknown.
fn pending_alerts(ctx: &Context) -> Option<PendingAlerts> {
    let live = || -> Result<PendingAlerts> {
        let county = ctx.county()?;
        let (snap, _) = county.snapshot()?;
        let mut by_township = BTreeMap::new();
        for a in county.alerts(&snap, ctx.today)? {
            *by_township.entry(a.township).or_insert(0) += 1;
        }
        Ok(PendingAlerts { as_of: ctx.today.to_string(), source: "live".into(), by_township })
    };
    match live() {
        Ok(a) => Some(a),
        Err(_) => ctx.dir.archived_alerts(),
    }
}

/// What `backup`, `restore` and `backup-key` did, as their lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lines(pub String);

/// `backup --out FILE`: the store and configuration in one file sealed to the county's backup key.
pub fn backup(ctx: &Context, out: &std::path::Path) -> Result<Lines> {
    let out = ctx.path(out);
    let (n, _) = ctx.dir.backup(&ctx.store()?, &out)?;
    Ok(Lines(format!(
        "已备份县级平台：{} 条修订及配置、证书，写入 {}（已用县级备份公钥加密）",
        n.revisions,
        out.display()
    )))
}

/// `restore FILE --identity KEY`: a backup into a new or empty data directory.
pub fn restore(ctx: &Context, file: &std::path::Path, identity: &std::path::Path) -> Result<Lines> {
    let (n, h) = ctx.dir.restore(file, identity)?;
    Ok(Lines(format!(
        "已恢复县级平台到 {}：{} 条修订（备份于 {}）；新的数据加密密钥：{}\n各节点下次同步时与平台重新核对，备份之后的记录由节点重新上报",
        ctx.dir.root.display(),
        n.revisions,
        h.created,
        ctx.dir.key()?.origin()
    )))
}

/// `backup-key`: the county's backup public key (a pair made if there is none).
pub fn backup_key(ctx: &Context) -> Result<Lines> {
    let (r, created) = ctx.dir.backup_recipient()?;
    let mut s = format!("县级备份公钥：{r}");
    if let Some(p) = created {
        s.push_str(&format!("\n已生成县级备份私钥 {}：请立即移到离线介质保存并从本机删除", p.display()));
    }
    Ok(Lines(s))
}
