//! The nightly run and the dated report archive: once a day `serve` brings the
//! [`Snapshot`](crate::snapshot::Snapshot) up to date, computes every report and alert for the
//! day just ended, and archives them.
//!
//! # The archive
//!
//! `<data>/reports/YYYY-MM-DD/`: `consolidation.{json,csv,md}` (nine-year),
//! `consolidation-junior.*`, `consolidation-primary.*`, `dropout.*`, `township-table.*`,
//! `ranking.*`, `alerts.json`, and `summary.json` (what the run read and how long it took).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use baoxue_shared::report::{render_bytes, Format, Render};
use baoxue_shared::Date;
use baoxue_store::StoreKey;
use serde::{Deserialize, Serialize};

use crate::county::County;
pub use crate::snapshot::{Refresh, Snapshot};

/// Meta key: the date of the last nightly run (so `serve` runs once a day).
pub const META_LAST_RUN: &str = "nightly_last_run";

/// What one nightly run did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NightlyRun {
    pub as_of: Date,
    pub dir: PathBuf,
    pub refresh: Refresh,
    /// Seconds: bringing the snapshot up to date; computing the reports (while the snapshot is
    /// saved); writing them.
    pub refresh_seconds: f64,
    pub compute_seconds: f64,
    pub write_seconds: f64,
    pub total_seconds: f64,
    pub files: Vec<String>,
    pub alerts: usize,
    pub students: usize,
    pub cases: usize,
}

/// `<data>/reports/YYYY-MM-DD`
pub fn archive_dir(data: &Path, as_of: Date) -> PathBuf {
    data.join("reports").join(as_of.to_string())
}

/// Writes an archived report, sealed with the data key when there is one (the archives name
/// children); read back with `StoreKey::read_file`.
fn write_archived(key: Option<&StoreKey>, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match key {
        Some(k) => k.write_file(path, bytes),
        None => std::fs::write(path, bytes),
    }
}

/// Recomputes everything for `as_of` and archives the dated reports. Incremental: see the
/// module documentation.
pub fn run(county: &County, as_of: Date) -> Result<NightlyRun> {
    let t0 = Instant::now();
    let key = county.store.key();
    let mut snap = Snapshot::load(&county.data, key);
    let refresh = snap.refresh(&county.store, county.year_start())?;
    let t1 = Instant::now();
    // The snapshot is written while the reports are computed from it (both only read it).
    let (saved, computed) = std::thread::scope(|s| {
        let saving = s.spawn(|| snap.save(&county.data, key));
        let computed = county.compute(&snap, as_of);
        (saving.join().unwrap_or_else(|_| Err(anyhow::anyhow!("快照写入线程异常退出"))), computed)
    });
    saved?;
    let computed = computed?;
    let t2 = Instant::now();
    let dir = archive_dir(&county.data, as_of);
    std::fs::create_dir_all(&dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    let mut files = Vec::new();
    let mut put = |name: &str, text: &[u8]| -> Result<()> {
        let p = dir.join(name);
        write_archived(key, &p, text).with_context(|| format!("无法写入 {}", p.display()))?;
        files.push(name.to_string());
        Ok(())
    };
    let ind = &computed.indicators;
    let reports: Vec<(&str, &dyn Render)> = vec![
        ("consolidation", &ind.consolidation[0]),
        ("consolidation-junior", &ind.consolidation[1]),
        ("consolidation-primary", &ind.consolidation[2]),
        ("dropout", &ind.dropout),
        ("township-table", &ind.township_table),
        ("ranking", &ind.ranking),
    ];
    for (name, r) in reports {
        for f in [Format::Json, Format::Csv, Format::Md, Format::Xlsx] {
            put(&format!("{name}.{}", f.extension()), &render_bytes(r, f, county.unit.as_deref())?)?;
        }
    }
    put("alerts.json", (serde_json::to_string_pretty(&computed.alerts)? + "\n").as_bytes())?;
    let t3 = Instant::now();
    let mut run = NightlyRun {
        as_of,
        dir: dir.clone(),
        refresh,
        refresh_seconds: (t1 - t0).as_secs_f64(),
        compute_seconds: (t2 - t1).as_secs_f64(),
        write_seconds: (t3 - t2).as_secs_f64(),
        total_seconds: 0.0,
        files,
        alerts: computed.alerts.len(),
        students: snap.history.students().count(),
        cases: snap.cases.len(),
    };
    run.files.push("summary.json".into());
    run.total_seconds = t0.elapsed().as_secs_f64();
    let summary = dir.join("summary.json");
    write_archived(key, &summary, (serde_json::to_string_pretty(&run)? + "\n").as_bytes())
        .with_context(|| format!("无法写入 {}", summary.display()))?;
    county.store.put_meta(META_LAST_RUN, &as_of)?;
    county.store.flush()?;
    Ok(run)
}

/// Whether the nightly run is due at local time `now`: once a day, from the policy's hour
/// plus the nodes' jitter window (so the night's syncs are in), for the day just ended.
pub fn due(county: &County, now: chrono::NaiveDateTime) -> Result<Option<Date>> {
    use chrono::Timelike;
    let sync = &county.policy.sync;
    let minutes = now.hour() * 60 + now.minute();
    if minutes < u32::from(sync.hour) * 60 + sync.jitter_minutes {
        return Ok(None);
    }
    let today = Date(now.date());
    let last: Option<Date> = county.store.get_meta(META_LAST_RUN)?;
    Ok(due_after(last, today).then_some(today))
}

/// Whether a run is due today after the last run recorded: whenever the last run was on another
/// day — before today, or *after* it. A last run in the future means the clock was ahead then
/// (or moved back since); waiting for that day would disable the nightly for as long, so the
/// run goes ahead and records today.
pub fn due_after(last: Option<Date>, today: Date) -> bool {
    last != Some(today)
}

/// For `serve`: runs the nightly if it is due now (the users' time, UTC+8). Returns the run, if any.
pub fn run_if_due(county: &County) -> Result<Option<NightlyRun>> {
    match due(county, baoxue_shared::dates::users_now())? {
        Some(d) => Ok(Some(run(county, d)?)),
        None => Ok(None),
    }
}

/// One line of Chinese about a run (for logs and the demo).
pub fn describe(r: &NightlyRun) -> String {
    format!(
        "夜间汇总 {}：{}读取 {} 条修订、{} 条记录，学生 {} 人、个案 {} 件、预警 {} 条，用时 {:.2} 秒（更新 {:.2} / 计算 {:.2} / 写出 {:.2}），报表存于 {}",
        r.as_of,
        if r.refresh.rebuilt { "全量重建，" } else { "增量，" },
        r.refresh.revisions,
        r.refresh.records,
        r.students,
        r.cases,
        r.alerts,
        r.total_seconds,
        r.refresh_seconds,
        r.compute_seconds,
        r.write_seconds,
        r.dir.display()
    )
}
