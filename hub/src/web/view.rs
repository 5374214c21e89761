//! What the dashboard's pages read: the county computed once, in the background, from the
//! nightly snapshot brought up to date incrementally — never per request. A page takes the
//! current [`View`] (an `Arc`, swapped whole), so reading never waits for a computation, a
//! write, or a node's push (no lock a push holds is ever taken on the way to a page).
//!
//! The refresher starts from the nightly snapshot file, folds in what the store logged since
//! ([`Snapshot::refresh`] reads only the revisions logged after its position and the records
//! they touched), recomputes the indicators and alerts for today, and publishes a new view. It
//! runs when the store's log has moved (checked every [`CHECK_EVERY`]), when the day changes,
//! and at once when the app itself wrote something ([`Views::kick`]), so a resolved conflict or
//! a confirmed census match shows within seconds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use baoxue_shared::indicators::TownshipTable;
use baoxue_shared::org::Org;
use baoxue_shared::policy::Policy;
use baoxue_shared::{Date, Record, RecordId};
use tokio::sync::{watch, Notify};
use tracing::{info, warn};

use crate::county::Computed;
use crate::nightly::{Refresh, Snapshot};
use crate::resolutions::Resolutions;
use crate::server::HubState;

/// How often the refresher looks whether the store's log moved.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);

/// The unreturned children at the end of one month (from the dated archives).
#[derive(Debug, Clone)]
pub struct MonthPoint {
    /// `YYYY-MM`
    pub month: String,
    /// The archive's day (or today's view for the current month).
    pub day: Date,
    pub total: u64,
    pub by_township: BTreeMap<String, u64>,
}

/// The county as the pages show it.
pub struct View {
    /// Raised by every refresh.
    pub generation: u64,
    /// The day the figures are for.
    pub as_of: Date,
    /// When they were computed (UTC+8, `YYYY-MM-DD HH:MM:SS`).
    pub computed_at: String,
    /// The store's log position folded in.
    pub log_pos: u64,
    pub org: Org,
    pub policy: Policy,
    /// The county's name.
    pub unit: Option<String>,
    pub computed: Computed,
    /// Every complete case record.
    pub cases: BTreeMap<RecordId, Record>,
    /// Records with a field in conflict.
    pub conflicts: BTreeSet<RecordId>,
    /// The highest level among each case's alerts in force.
    pub case_levels: HashMap<RecordId, baoxue_shared::policy::Level>,
    /// Unreturned children by month, this school year.
    pub monthly: Vec<MonthPoint>,
    /// The latest nightly archive.
    pub last_archive: Option<Date>,
    /// The bureau's conflict resolutions in the store's log, with their townships (to tell
    /// whether each node has received them).
    pub resolutions: Resolutions,
    /// What the refresh read and how long it took.
    pub refresh: Refresh,
    pub seconds: f64,
}

impl View {
    /// The line every page carries.
    pub fn stamp(&self) -> String {
        format!("统计日期 {}，数据截至 {}", self.as_of, self.computed_at)
    }
}

/// The current view and the refresher's signals.
pub struct Views {
    current: RwLock<Option<Arc<View>>>,
    kick: Notify,
    generation: watch::Sender<u64>,
    last_error: Mutex<Option<String>>,
}

impl Default for Views {
    fn default() -> Self {
        Views {
            current: RwLock::new(None),
            kick: Notify::new(),
            generation: watch::channel(0).0,
            last_error: Mutex::new(None),
        }
    }
}

impl Views {
    /// The current view, if the first computation is done.
    pub fn get(&self) -> Option<Arc<View>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asks for a refresh now (after a write made from the app).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Asks for a refresh and waits (up to `limit`) until a view computed after this call is
    /// published.
    pub async fn refreshed(&self, limit: Duration) {
        let mut rx = self.generation.subscribe();
        let seen = *rx.borrow_and_update();
        self.kick();
        let _ = tokio::time::timeout(limit, async {
            while rx.changed().await.is_ok() {
                if *rx.borrow() > seen {
                    break;
                }
            }
        })
        .await;
    }

    fn publish(&self, v: View) {
        let g = v.generation;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(v));
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.generation.send_replace(g);
    }
}

/// Now in UTC+8 as `YYYY-MM-DD HH:MM:SS`.
pub fn now_text() -> String {
    baoxue_shared::dates::users_now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Starts the refresher on the current runtime.
pub fn spawn(state: Arc<HubState>, views: Arc<Views>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut snap: Option<Snapshot> = None;
        let mut res = Resolutions::default();
        let mut generation = 0u64;
        let mut kicked = true;
        loop {
            let current = views.get();
            let due = kicked
                || match &current {
                    None => true,
                    Some(v) => {
                        v.as_of != Date::today() || state.store.log_end().map(|e| e != v.log_pos).unwrap_or(true)
                    }
                };
            if due {
                generation += 1;
                let st = state.clone();
                let taken = snap.take();
                let res_taken = std::mem::take(&mut res);
                let g = generation;
                let r = tokio::task::spawn_blocking(move || compute(&st, taken, res_taken, g)).await;
                match r {
                    Ok(Ok((s, rs, v))) => {
                        info!(
                            generation = v.generation,
                            revisions = v.refresh.revisions,
                            records = v.refresh.records,
                            seconds = v.seconds,
                            "县级看板数据已更新"
                        );
                        snap = Some(s);
                        res = rs;
                        views.publish(v);
                    }
                    Ok(Err(e)) => {
                        warn!(error = %e, "县级看板数据更新失败，稍后重试");
                        *views.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    }
                    Err(e) => warn!(error = %e, "县级看板数据更新任务异常结束"),
                }
            }
            kicked = false;
            tokio::select! {
                _ = views.kick.notified() => kicked = true,
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
    })
}

/// One refresh: the snapshot (loaded from the nightly file the first time) brought up to the
/// store's log end, and everything computed for today.
fn compute(
    state: &HubState,
    snap: Option<Snapshot>,
    mut res: Resolutions,
    generation: u64,
) -> Result<(Snapshot, Resolutions, View), String> {
    let t0 = Instant::now();
    let county = state.dir.county(state.store.clone()).map_err(|e| e.to_string())?;
    let mut snap = snap.unwrap_or_else(|| Snapshot::load(&county.data, county.store.key()));
    let refresh = snap.refresh(&county.store, county.year_start()).map_err(|e| format!("{e:#}"))?;
    res.refresh(&county.store, &county.org).map_err(|e| e.to_string())?;
    let as_of = Date::today();
    let computed = county.compute(&snap, as_of).map_err(|e| format!("{e:#}"))?;
    let year_start = county.year_start();
    let (monthly, last_archive) = monthly(&county, as_of, year_start, &computed.indicators.township_table);
    let shorts: HashMap<String, RecordId> = snap.cases.keys().map(|id| (id.short(), *id)).collect();
    let mut case_levels: HashMap<RecordId, baoxue_shared::policy::Level> = HashMap::new();
    for a in computed.alerts.iter().filter(|a| a.subject_kind == baoxue_shared::alerts::SubjectKind::Case) {
        if let Some(id) = shorts.get(&a.subject) {
            let e = case_levels.entry(*id).or_insert(a.level);
            *e = (*e).max(a.level);
        }
    }
    let view = View {
        generation,
        as_of,
        computed_at: now_text(),
        log_pos: snap.log_pos,
        org: county.org.clone(),
        policy: county.policy.clone(),
        unit: county.unit.clone(),
        computed,
        cases: snap.cases.clone(),
        conflicts: snap.conflicts.clone(),
        case_levels,
        monthly,
        last_archive,
        resolutions: res.clone(),
        refresh,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((snap, res, view))
}

/// The month-end unreturned counts of this school year from the dated archives
/// (`reports/YYYY-MM-DD/township-table.json`, the latest day of each month), with today's
/// figures for the current month.
fn monthly(
    county: &crate::county::County,
    as_of: Date,
    year_start: baoxue_shared::dates::SchoolYearStart,
    today: &TownshipTable,
) -> (Vec<MonthPoint>, Option<Date>) {
    let start = baoxue_shared::dates::SchoolYear::of(as_of, year_start).first_day(year_start);
    let mut days: Vec<Date> = std::fs::read_dir(county.data.join("reports"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()).filter_map(|e| Date::parse(&e.file_name().to_string_lossy()).ok()).collect()
        })
        .unwrap_or_default();
    days.sort();
    let last_archive = days.last().copied();
    let mut by_month: BTreeMap<String, Date> = BTreeMap::new();
    for d in days.into_iter().filter(|d| *d >= start && *d <= as_of) {
        by_month.insert(d.to_string()[..7].to_string(), d);
    }
    let point = |month: String, day: Date, t: &TownshipTable| MonthPoint {
        month,
        day,
        total: t.total.total,
        by_township: t.rows.iter().map(|r| (r.township.clone(), r.total)).collect(),
    };
    let this_month = as_of.to_string()[..7].to_string();
    // The current month is today's figures (and its archive may be being written).
    by_month.remove(&this_month);
    let mut out = Vec::new();
    for (month, day) in by_month {
        let path = crate::nightly::archive_dir(&county.data, day).join("township-table.json");
        let bytes = match county.store.key() {
            Some(k) => k.read_file(&path),
            None => std::fs::read(&path),
        };
        match bytes.ok().and_then(|b| serde_json::from_slice::<TownshipTable>(&b).ok()) {
            Some(t) => out.push(point(month, day, &t)),
            None => warn!(path = %path.display(), "存档的乡镇统计表无法读取，月度曲线略过该月"),
        }
    }
    out.push(point(this_month, as_of, today));
    (out, last_archive)
}
