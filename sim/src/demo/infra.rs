//! The demo's plumbing, all real: the hub's data directory (`init`: county CA, the hub's
//! certificate, the policy; `org import`; `node add` → a bundle per township), each node set
//! up from its bundle, the hub serving QUIC with mutual TLS on 127.0.0.1 (a free port), and
//! every node syncing with it through `baoxue_node::sync::sync_once`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use baoxue_node::sync::{init_from_bundle, sync_once, SyncReport};
use baoxue_node::Ledger;
use baoxue_store::{Store, StoreOptions};

use baoxue_hub::data::HubDir;
use baoxue_hub::server::{HubServer, RunningHub};

/// A node's store in the demo: a small cache (15+ stores share one process).
const NODE_STORE: StoreOptions = StoreOptions { cache_bytes: 32 * 1024 * 1024 };

pub struct Infra {
    pub dir: HubDir,
    /// The hub's store (shared with the server while it runs).
    pub hub: Store,
    rt: tokio::runtime::Runtime,
    running: Option<RunningHub>,
    pub addr: String,
}

impl Infra {
    /// `init` and `org import` in `hub_dir`.
    pub fn init_hub(hub_dir: &Path, org_csv: &Path, policy: &Path, county_code: &str, name: &str) -> Result<Infra> {
        let dir = HubDir::new(hub_dir);
        dir.init(county_code, name, Some(&policy.to_string_lossy()), Some("127.0.0.1:7443"))?;
        let bytes = std::fs::read(org_csv).with_context(|| format!("无法读取 {}", org_csv.display()))?;
        dir.import_org(None, &bytes, org_csv, &[])?;
        let hub = dir.open_store()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("无法启动异步运行时")?;
        Ok(Infra { dir, hub, rt, running: None, addr: String::new() })
    }

    /// `node add` at the hub, the bundle written to `<dir>.bundle`, `init --bundle` in `dir`.
    pub fn add_node(&mut self, township: &str, dir: &Path) -> Result<Ledger> {
        let name = format!("{township}中心校");
        let bundle = self.dir.add_node(&name, township, None)?;
        let bundle_path = PathBuf::from(format!("{}.bundle", dir.display()));
        if let Some(p) = bundle_path.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&bundle_path, &bundle)?;
        std::fs::create_dir_all(dir)?;
        let store = Store::open_with(dir, NODE_STORE)?;
        let config = init_from_bundle(&store, &bundle).map_err(|e| anyhow!("{e}"))?;
        Ok(Ledger { store, config, dir: dir.to_path_buf() })
    }

    /// The hub starts listening on loopback.
    pub fn start(&mut self) -> Result<()> {
        let dir = self.dir.clone();
        let store = self.hub.clone();
        let running = self.rt.block_on(async move {
            let listen: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
            HubServer::bind_with(&dir, store, listen)?.spawn()
        })?;
        self.addr = running.addr.to_string();
        self.running = Some(running);
        Ok(())
    }

    /// Every node in `nodes` syncs with the hub over QUIC, concurrently.
    pub fn sync(&mut self, nodes: &[&Ledger]) -> Result<Vec<SyncReport>> {
        let addr = self.addr.clone();
        let jobs: Vec<_> = nodes.iter().map(|l| (l.store.clone(), l.config.clone())).collect();
        self.rt.block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            for (i, (store, cfg)) in jobs.into_iter().enumerate() {
                let addr = addr.clone();
                set.spawn(async move {
                    let r = sync_once(&store, &cfg, Some(&addr))
                        .await
                        .map_err(|e| anyhow!("节点 {} 同步失败：{e}", cfg.origin));
                    (i, r)
                });
            }
            let mut out: Vec<Option<SyncReport>> = vec![None; set.len()];
            while let Some(j) = set.join_next().await {
                let (i, r) = j.map_err(|e| anyhow!("同步任务异常结束：{e}"))?;
                out[i] = Some(r?);
            }
            Ok(out.into_iter().flatten().collect())
        })
    }

    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

impl Drop for Infra {
    fn drop(&mut self) {
        self.stop();
    }
}
