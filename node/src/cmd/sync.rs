//! The sync commands of docs/CLI.md: `init --bundle`, `join --bundle`, `sync [--hub] [--json]` and
//! `run`. The work is in [`crate::sync`]; this module reads the bundle file, opens the data
//! directory and prints.

use std::path::Path;

use baoxue_store::Store;
use serde_json::json;

use crate::cmd::init::{county_label, ensure_fresh};
use crate::config::NodeConfig;
use crate::error::{invalid, NodeError, Result};
use crate::ledger::{open_waiting, Ledger};
use crate::output::{json_text, Output};
use crate::sync::{self as engine, RunOptions, StoreAccess};

fn read_bundle(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).map_err(|source| NodeError::Read { path: file.display().to_string(), source })?;
    String::from_utf8(bytes).map_err(|_| invalid(format!("配置包 {} 不是县级平台签发的文本文件", file.display())))
}

fn joined_text(verb: &str, cfg: &NodeConfig, schools: usize, dir: &Path) -> String {
    let hub = cfg.hub.as_ref().map(|h| h.addr.as_str()).unwrap_or("");
    format!(
        "{verb}节点 {}：{}{}，本乡镇学校 {schools} 所，县级平台 {hub}\n数据目录：{}\n下一步：baoxue-node sync（立即同步）或 baoxue-node run（常驻，按时同步）\n",
        cfg.origin,
        county_label(cfg),
        cfg.township,
        dir.display()
    )
}

/// `init --bundle FILE`: a new node set up from the bundle the hub issued. The bundle is
/// checked completely before the data directory is created, so a bad bundle leaves nothing.
pub fn init_bundle(dir: &Path, file: &Path) -> Result<Output> {
    ensure_fresh(dir)?;
    let text = read_bundle(file)?;
    engine::config_from_bundle(&text)?;
    let store = Store::open(dir)?;
    let cfg = engine::init_from_bundle(&store, &text)?;
    let schools = cfg.org.schools_in(&cfg.township).count();
    let mut out: Output = joined_text("已初始化", &cfg, schools, dir).into();
    crate::cmd::init::key_notice(&store, &mut out);
    Ok(out)
}

/// `join --bundle FILE`: an offline node joins the hub; every record it holds stays and is
/// pushed at the next sync.
pub fn join(dir: &Path, file: &Path) -> Result<Output> {
    let text = read_bundle(file)?;
    let ledger = Ledger::open(dir)?;
    let old_origin = ledger.config.origin.clone();
    let cfg = engine::join(&ledger.store, &text)?;
    let status = engine::sync_status(&ledger.store)?;
    let schools = cfg.org.schools_in(&cfg.township).count();
    let mut out = joined_text("已加入县级平台：", &cfg, schools, dir);
    out.push_str(&format!(
        "原有数据全部保留（本节点此前以 {old_origin} 的名义记录），{} 条修订将在下次同步时上报\n",
        status.unacknowledged
    ));
    Ok(out.into())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Refused(format!("无法启动网络运行时：{e}")))
}

/// `sync [--hub ADDR] [--json]`: one sync now.
pub fn sync_now(dir: &Path, hub: Option<&str>, json: bool) -> Result<Output> {
    let ledger = Ledger::open(dir)?;
    let report = runtime()?.block_on(engine::sync_once(&ledger.store, &ledger.config, hub))?;
    // 籍随人走: a case that arrived after its child was accepted here closes now (and goes
    // to the hub at the next sync); `run` does the same after each of its syncs.
    let closed = engine::after_sync(&ledger)?;
    if json {
        let mut v = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
        v["seconds"] = json!((report.seconds * 1000.0).round() / 1000.0);
        v["closed_transferred"] = json!(closed.len());
        return Ok(json_text(&v).into());
    }
    let mut text = report.to_text();
    text.push('\n');
    for line in closed {
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text.into())
}

/// `run [--hub ADDR] [--now] [--retry-base-secs N]`: stays up, syncing at the policy's hour,
/// until SIGINT or SIGTERM. The data directory is opened only while a sync runs, so the other
/// commands keep working.
pub fn run(dir: &Path, hub: Option<String>, now: bool, retry_base_secs: Option<u64>) -> Result<Output> {
    // Refuse a directory that is not a joined node before going into the background.
    {
        let store = open_waiting(dir)?;
        if engine::load_config(&store)?.is_none() {
            return Err(NodeError::NotInitialised(dir.display().to_string()));
        }
        if !engine::sync_status(&store)?.joined {
            return Err(engine::NodeSyncError::NotJoined.into());
        }
    }
    let mut opts = RunOptions { hub_override: hub, sync_at_start: now, ..RunOptions::default() };
    if let Some(secs) = retry_base_secs {
        opts.retry_base = std::time::Duration::from_secs(secs);
    }
    let rt = runtime()?;
    rt.block_on(engine::run_forever(StoreAccess::Dir(dir.to_path_buf()), opts, shutdown_signal()))?;
    Ok(Output::from("已停止常驻同步\n".to_string()))
}

pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
