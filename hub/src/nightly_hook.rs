//! Glue between `serve` and the nightly aggregation ([`crate::nightly`]): every few minutes the
//! server asks whether the night's run is due (the policy's hour) and runs it on its own store.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::county::{open_with, County, NodeSeen};
use crate::data::{HubDir, Result};
use crate::server::HubState;

const CHECK_EVERY: Duration = Duration::from_secs(300);

impl HubDir {
    /// Nodes as the reporting rules see them: not revoked, with the days they synced.
    pub fn nodes_seen(&self) -> Result<Vec<NodeSeen>> {
        let statuses = self.statuses()?;
        Ok(self
            .nodes()?
            .into_iter()
            .filter(|n| !n.revoked)
            .map(|n| {
                let sync_days = statuses.get(&n.name).map(|s| s.sync_days()).unwrap_or_default();
                let issued = n.issued.get(..10).and_then(|d| baoxue_shared::Date::parse(d).ok());
                NodeSeen { name: n.name, township: n.township, sync_days, issued }
            })
            .collect())
    }

    /// The county's data for reports and alerts over an open store.
    pub fn county(&self, store: baoxue_store::Store) -> Result<County> {
        let mut c = open_with(&self.root, store, self.org()?, self.policy()?, self.nodes_seen()?);
        c.unit = self.config().ok().map(|cfg| cfg.county_name);
        c.aliases = crate::columns::load(&self.root).map_err(|e| crate::data::HubError::Invalid(format!("{e:#}")))?;
        Ok(c)
    }
}

/// Starts the periodic check on the current runtime.
pub fn spawn(state: Arc<HubState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let st = state.clone();
            let r = tokio::task::spawn_blocking(move || -> std::result::Result<Option<String>, String> {
                // Not at the same time as a report asked for through `control` (both save the
                // snapshot).
                let _exclusive = st.exclusive();
                let county = st.dir.county(st.store.clone()).map_err(|e| e.to_string())?;
                let run = crate::nightly::run_if_due(&county).map_err(|e| format!("{e:#}"))?;
                let Some(run) = run else { return Ok(None) };
                let mut text = crate::nightly::describe(&run);
                // Then a backup to the second configured place.
                match st.dir.backup_after_nightly(&st.store, &run.as_of.to_string()) {
                    Ok(Some(p)) => text.push_str(&format!("；备份已写入 {}", p.display())),
                    Ok(None) => {}
                    Err(e) => warn!(error = %e, "夜间备份失败"),
                }
                Ok(Some(text))
            })
            .await;
            match r {
                Ok(Ok(Some(text))) => info!("{text}"),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => warn!(error = %e, "夜间汇总失败，稍后重试"),
                Err(e) => warn!(error = %e, "夜间汇总任务异常结束"),
            }
            tokio::time::sleep(CHECK_EVERY).await;
        }
    })
}
