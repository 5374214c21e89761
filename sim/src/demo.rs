//! `demo`: a synthetic county shaped like 伊川, run end to end.
//!
//! 1. A county of `--townships` townships (伊川's fifteen by default) and about `--students`
//!    pupils ([`synth`]): a center primary school, village primary schools and teaching points
//!    and a junior middle school in each township, a few nine-year schools, responsible people,
//!    valid 身份证号 of 410329 (伊川县), special groups at plausible rates.
//! 2. The hub (CA, certificates, policy, org) and one node per township from its bundle; the hub
//!    listens on loopback and every node syncs with it over QUIC.
//! 3. The 2025 school year, 2025-09-01 … 2026-07-10, day by day at each node: the roster; sick and
//!    personal leave; unexcused absences that open cases (their rate follows 伊川's 2019 table);
//!    calls, home visits, the school's persuasion, confirmation as 辍学 on day 7, notices;
//!    returns (复学), some late, some never; transfers between townships (转出 at one node,
//!    accepted at the other after a sync), out of the county, deaths; concurrent edits of one
//!    field at a node and at the hub (→ conflicts); two children on two rolls (重复学籍). At the
//!    hub: the baseline of earlier cohorts, the Ministry's suspected-out-of-school list (with
//!    one mistyped ID) and the police's July census, whose 失学 cases sync to the 户籍 township's
//!    node, which acts on them. A sync round and the nightly run at every month's end (one
//!    township, 白元 or in a smaller county the last one, misses June's report).
//! 4. Prints, in Chinese: the consolidation report, the township table (001 附件1), the monthly
//!    ranking, the ten most urgent alerts, and the time each step took.

pub mod synth;

mod files;
mod infra;
mod printout;
mod town;

use files::{baseline_csv, baseline_rows, census_csv, roster_csv, table_row};
use printout::printout;
use town::{no_of, node_err, Town, TownStats};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use baoxue_node::cmd::student::{self as node_student, TransferTo};
use baoxue_node::ledger::assign;
use baoxue_node::Ledger;
use baoxue_shared::alerts::Alert;
use baoxue_shared::census::CensusCounts;
use baoxue_shared::dates::{Date, SchoolYear};
use baoxue_shared::indicators::{Baseline, Indicators};
use baoxue_shared::model::CaseSource;
use baoxue_shared::policy::Policy;
use baoxue_shared::report::{render, Format};
use baoxue_shared::revision::StudentInit;
use baoxue_shared::{Change, Field, RecordKind, Value};
use rand::rngs::StdRng;
use rand::SeedableRng;

use baoxue_hub::county::{County, NodeSeen};
use baoxue_hub::nightly::{self, NightlyRun};

/// 伊川县's code and name.
pub const COUNTY_CODE: &str = "410329";
pub const COUNTY_NAME: &str = "伊川县（模拟）";

/// 伊川's 2019 table (001 附件1): per township, unreturned dropouts from the roll and from the
/// Ministry's list. The demo's dropout rates and the Ministry list follow these proportions.
pub(crate) const YICHUAN_2019: [(u32, u32); 15] = [
    (3, 2),
    (16, 2),
    (75, 6),
    (63, 2),
    (30, 0),
    (71, 2),
    (43, 0),
    (20, 0),
    (100, 0),
    (19, 3),
    (47, 2),
    (9, 1),
    (49, 1),
    (60, 0),
    (92, 0),
];

/// The township that misses June's report, when the county has it (伊川's fifteen).
const LATE_TOWNSHIP: &str = "白元";

/// The index of the township that misses June's report: 白元, or in a smaller county the last
/// township (so that a demo of any size shows the missed-report alert). A county of one
/// township has none: its only node must report for the demo to show anything.
fn late_township(names: &[String]) -> Option<usize> {
    names.iter().position(|t| t == LATE_TOWNSHIP).or_else(|| (names.len() >= 2).then(|| names.len() - 1))
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub townships: usize,
    pub students: usize,
    /// Keep the data directories here (default: a temporary directory, removed afterwards).
    pub keep: Option<PathBuf>,
    pub seed: u64,
    /// A preset or policy file; default: 沙坡头's ladder and accountability with 伊川's monthly
    /// reporting (see [`demo_policy`]).
    pub policy: Option<String>,
    /// Progress lines on stderr.
    pub progress: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { townships: 15, students: 60_000, keep: None, seed: 2019, policy: None, progress: true }
    }
}

/// What the demo did, for the printout and for tests.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub dir: PathBuf,
    pub kept: bool,
    pub as_of: Date,
    pub townships: usize,
    pub schools: usize,
    pub students: usize,
    pub hub_revisions: u64,
    pub sync_rounds: usize,
    pub indicators: Indicators,
    pub alerts: Vec<Alert>,
    pub ministry: CensusCounts,
    pub police: CensusCounts,
    /// The township whose node misses June's report (and the final sync).
    pub late_township: Option<String>,
    pub nightly: Vec<NightlyRun>,
    /// Every report of the final day in every format: (name, text).
    pub rendered: Vec<(String, String)>,
    /// (step, seconds)
    pub timings: Vec<(String, f64)>,
    pub total_seconds: f64,
    /// The Chinese printout.
    pub text: String,
}

/// Progress on stderr: step and elapsed time.
struct Progress {
    t0: Instant,
    last: Instant,
    on: bool,
    timings: Vec<(String, f64)>,
}

impl Progress {
    fn new(on: bool) -> Progress {
        let now = Instant::now();
        Progress { t0: now, last: now, on, timings: Vec::new() }
    }
    fn say(&self, msg: &str) {
        if self.on {
            eprintln!("[演示 {:>6.1}s] {msg}", self.t0.elapsed().as_secs_f64());
        }
    }
    /// Ends a timed step.
    fn done(&mut self, step: &str) {
        let now = Instant::now();
        let s = (now - self.last).as_secs_f64();
        self.timings.push((step.to_string(), s));
        self.last = now;
        self.say(&format!("{step}：完成（{s:.2} 秒）"));
    }
}

/// The demo's default policy: 沙坡头's day-by-day ladder and accountability rules (004, the
/// sharpest of the five documents) with 伊川's reporting rule (monthly, the last day).
pub fn demo_policy() -> Result<Policy> {
    let mut p = Policy::preset("shapotou")?;
    let y = Policy::preset("yichuan")?;
    p.name = "demo".into();
    p.title = format!("演示：{}（个案与问责）＋ {}（月报）", p.title, y.title);
    p.source = format!("{}；{}", p.source, y.source);
    p.reporting = y.reporting;
    Ok(p)
}

const YEAR_END: (i32, u32, u32) = (2026, 7, 10);

pub(crate) fn year_end() -> Date {
    Date::ymd(YEAR_END.0, YEAR_END.1, YEAR_END.2)
}

// --- the run -------------------------------------------------------------------------------

fn month_ends() -> Vec<Date> {
    let mut v = Vec::new();
    let mut y = 2025;
    let mut m = 9;
    loop {
        let next = if m == 12 { Date::ymd(y + 1, 1, 1) } else { Date::ymd(y, m + 1, 1) };
        let end = next.add_days(-1);
        if end >= year_end() {
            v.push(year_end());
            break;
        }
        v.push(end);
        y = next.year();
        m = next.month();
    }
    v
}

/// Runs the demo. The printout is in the outcome's `text`.
pub fn run(opts: &DemoOptions) -> Result<DemoOutcome> {
    let mut pr = Progress::new(opts.progress);
    let (dir, kept) = match &opts.keep {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d).map(|mut r| r.next().is_some()).unwrap_or(false) {
                anyhow::bail!("--keep 目录 {} 不是空目录", d.display());
            }
            (d.clone(), true)
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            (std::env::temp_dir().join(format!("baoxue-demo-{}-{nanos}", std::process::id())), false)
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    let result = run_in(opts, &dir, &mut pr);
    if !kept {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut out = result?;
    out.kept = kept;
    Ok(out)
}

/// The demo between its steps: the synthetic county, the hub and the nodes, and what the
/// school year has produced so far. [`run_in`] calls its steps in order.
struct Year<'p> {
    dir: PathBuf,
    pr: &'p mut Progress,
    rng: StdRng,
    county: synth::County,
    rolls: BTreeMap<String, Vec<StudentInit>>,
    names: Vec<String>,
    students: usize,
    policy: Policy,
    infra: infra::Infra,
    towns: Vec<Town>,
    rounds: usize,
    mint: synth::IdMint,
    nightly: Vec<NightlyRun>,
    ministry: Option<CensusCounts>,
    police: Option<CensusCounts>,
    /// Transfers between townships waiting for the receiving node: (town, 学籍号).
    pending_accepts: Vec<(usize, String)>,
    transfers: usize,
}

/// The first day of the demo's school year.
fn year_start() -> Date {
    Date::ymd(2025, 9, 1)
}

fn run_in(opts: &DemoOptions, dir: &Path, pr: &mut Progress) -> Result<DemoOutcome> {
    let mut y = Year::set_up(opts, dir, pr)?;
    y.import_baseline()?;
    y.import_rosters()?;
    y.sync_all(year_start(), None)?;
    y.pr.done("首次同步（全部学籍上传县级平台）");
    let mut from = year_start();
    for end in month_ends() {
        y.month(from, end)?;
        from = end.add_days(1);
    }
    y.finish()
}

impl<'p> Year<'p> {
    /// The synthetic county and its files; the hub and one node per township, listening.
    fn set_up(opts: &DemoOptions, dir: &Path, pr: &'p mut Progress) -> Result<Year<'p>> {
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let n_towns = opts.townships.clamp(1, 60);
        pr.say(&format!("生成模拟县：{n_towns} 个乡镇，约 {} 名学生", opts.students));
        let county = synth::county(n_towns, &mut rng);
        let mut rolls = synth::rolls(&mut rng, &county, opts.students, SchoolYear(2025));
        let names: Vec<String> = county.plan.keys().cloned().collect();
        double_enrol(&names, &mut rolls);
        let students: usize = rolls.values().map(Vec::len).sum();
        let policy = match &opts.policy {
            Some(p) => Policy::load(p)?,
            None => demo_policy()?,
        };
        let policy_path = dir.join("policy.toml");
        std::fs::write(&policy_path, policy.to_toml()?)?;
        let org_path = dir.join("org.csv");
        std::fs::write(&org_path, county.org.to_csv())?;
        pr.done("生成模拟数据");

        let mut infra = infra::Infra::init_hub(&dir.join("hub"), &org_path, &policy_path, COUNTY_CODE, COUNTY_NAME)?;
        let mut towns: Vec<Town> = Vec::new();
        for (i, t) in names.iter().enumerate() {
            let ledger = infra.add_node(t, &dir.join("nodes").join(t))?;
            towns.push(Town::new(t, ledger, opts.seed, i));
        }
        infra.start()?;
        pr.done(&format!(
            "县级平台与 {} 个乡镇节点初始化（县 CA、证书、政策、组织机构、配置包），平台监听 {}",
            towns.len(),
            infra.addr
        ));
        Ok(Year {
            dir: dir.to_path_buf(),
            pr,
            rng,
            county,
            rolls,
            names,
            students,
            policy,
            infra,
            towns,
            rounds: 0,
            mint: synth::IdMint::default(),
            nightly: Vec::new(),
            ministry: None,
            police: None,
            pending_accepts: Vec::new(),
            transfers: 0,
        })
    }

    /// The county as the hub's commands see it, with the days each node has synced.
    fn view(&self) -> County {
        let nodes = self
            .towns
            .iter()
            .map(|t| NodeSeen {
                name: t.ledger.config.origin.clone(),
                township: t.name.clone(),
                sync_days: t.sync_days.clone(),
                issued: None,
            })
            .collect();
        County::new(self.infra.hub.clone(), self.county.org.clone(), self.policy.clone(), &self.infra.dir.root, nodes)
    }

    /// The baseline of the earlier cohorts, at the hub.
    fn import_baseline(&mut self) -> Result<()> {
        let rows = baseline_rows(&mut self.rng, &self.county, &self.rolls);
        let path = self.dir.join("baseline.csv");
        std::fs::write(&path, baseline_csv(&rows))?;
        let b: Baseline = self.view().import_baseline(&std::fs::read(&path)?, year_start())?;
        self.pr.say(&format!("基线导入：{} 行（各校 2017–2024 级入学、转入、转出、死亡）", b.len()));
        Ok(())
    }

    /// The rosters, one commit per township, in parallel.
    fn import_rosters(&mut self) -> Result<()> {
        let roster_dir = self.dir.join("rosters");
        std::fs::create_dir_all(&roster_dir)?;
        let rolls = &self.rolls;
        std::thread::scope(|s| -> Result<()> {
            let mut handles = Vec::new();
            for town in self.towns.iter_mut() {
                let rows = &rolls[&town.name];
                let path = roster_dir.join(format!("{}.csv", town.name));
                handles.push(s.spawn(move || town.import_roster(rows, &path, year_start())));
            }
            for h in handles {
                h.join().map_err(|_| anyhow!("导入线程异常退出"))??;
            }
            Ok(())
        })?;
        self.pr.done(&format!("各乡镇导入学籍：{} 名学生", self.students));
        Ok(())
    }

    /// Every node (but `skip`) syncs with the hub on `on`.
    fn sync_all(&mut self, on: Date, skip: Option<usize>) -> Result<()> {
        let who: Vec<&Ledger> =
            self.towns.iter().enumerate().filter(|(i, _)| Some(*i) != skip).map(|(_, t)| &t.ledger).collect();
        let reports = self.infra.sync(&who)?;
        let sent: u64 = reports.iter().map(|r| r.sent).sum();
        let received: u64 = reports.iter().map(|r| r.received).sum();
        let rejected: usize = reports.iter().map(|r| r.rejected.len()).sum();
        let bytes: u64 = reports.iter().map(|r| r.bytes_sent + r.bytes_received).sum();
        for (i, t) in self.towns.iter_mut().enumerate() {
            if Some(i) != skip {
                t.sync_days.insert(on);
            }
        }
        self.rounds += 1;
        let mut line = format!(
            "{on} 同步（QUIC）：{} 个节点上传 {sent} 条、接收 {received} 条，{:.1} MiB",
            reports.len(),
            bytes as f64 / 1048576.0
        );
        if rejected > 0 {
            line.push_str(&format!("，被拒绝 {rejected} 条"));
        }
        if let Some(i) = skip {
            line.push_str(&format!("；{}未按时报送", self.towns[i].name));
        }
        self.pr.say(&line);
        Ok(())
    }

    /// One month of the school year, `from` to `end` (its last day): the days at every node,
    /// the month's special events, the month's report (a sync) and the hub's nightly run.
    fn month(&mut self, from: Date, end: Date) -> Result<()> {
        let month = (end.year(), end.month());
        self.accept_transfers(from)?;
        self.run_days(from, end)?;
        match month {
            (2025, 10) | (2026, 3) => self.transfer_between_townships(end)?,
            (2025, 11) => {
                self.transfer_out_of_county(end)?;
                self.edit_concurrently(end)?;
            }
            _ => {}
        }
        if month == (2025, 12) || month == (2026, 4) {
            self.death(month, end)?;
        }
        // Hub-side: the Ministry's suspected list in March, the police census in July.
        if month == (2026, 3) {
            self.ministry_list()?;
        }
        if month == (2026, 7) {
            self.police_census()?;
        }
        // The month's report: every node syncs (one misses June's and stays silent).
        let skip = if end >= Date::ymd(2026, 6, 30) { late_township(&self.names) } else { None };
        self.sync_all(end, skip)?;
        if month == (2026, 3) {
            self.act_on_census_cases()?;
        }
        // The hub's nightly run for the month's last day.
        let run = nightly::run(&self.view(), end)?;
        self.pr.say(&nightly::describe(&run));
        self.nightly.push(run);
        self.pr.done(&format!("{}年{}月", month.0, month.1));
        Ok(())
    }

    /// Accepts the transfers that reached their new township at the last sync. (A transfer
    /// made after the new township's node synced reaches it a month later.)
    fn accept_transfers(&mut self, on: Date) -> Result<()> {
        for (ti, no) in std::mem::take(&mut self.pending_accepts) {
            let t = &self.towns[ti];
            if t.ledger.student(&no).is_err() {
                self.pending_accepts.push((ti, no));
                continue;
            }
            node_student::accept(&t.ledger, &no, &t.stamp(on))
                .map_err(node_err)
                .with_context(|| format!("{} 确认转入", t.name))?;
        }
        Ok(())
    }

    /// The days, every township in parallel (nodes are independent between syncs).
    fn run_days(&mut self, from: Date, end: Date) -> Result<()> {
        let policy = &self.policy;
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = self.towns.iter_mut().map(|t| s.spawn(move || t.run(from, end, policy))).collect();
            for h in handles {
                h.join().map_err(|_| anyhow!("节点线程异常退出"))??;
            }
            Ok(())
        })
    }

    /// Transfers between townships (October, March): 转出 here, accepted there after a sync.
    fn transfer_between_townships(&mut self, end: Date) -> Result<()> {
        let nt = self.towns.len();
        if nt < 2 {
            return Ok(());
        }
        for k in 0..3 {
            let (a, b) = (k % nt, (k + 4) % nt);
            if a == b {
                continue;
            }
            let day = end.add_days(-10);
            let Some(s) = self.towns[a].idle_pupil(true)? else {
                continue;
            };
            let to = format!("{}中心小学", self.towns[b].name);
            let from = &self.towns[a];
            node_student::transfer(&from.ledger, &no_of(&s), TransferTo::School(&to), &from.stamp(day))
                .map_err(node_err)?;
            self.towns[a].busy.insert(s.id);
            self.pending_accepts.push((b, no_of(&s)));
            self.transfers += 1;
        }
        Ok(())
    }

    /// Transfers out of the county (November).
    fn transfer_out_of_county(&mut self, end: Date) -> Result<()> {
        for t in self.towns.iter_mut().take(2) {
            let Some(s) = t.idle_pupil(false)? else {
                continue;
            };
            node_student::transfer(
                &t.ledger,
                &no_of(&s),
                TransferTo::OutOfCounty("广东省东莞市"),
                &t.stamp(end.add_days(-12)),
            )
            .map_err(node_err)?;
            t.busy.insert(s.id);
            self.transfers += 1;
        }
        Ok(())
    }

    /// Concurrent edits: the same guardian phone changed at the node and at the hub.
    fn edit_concurrently(&mut self, end: Date) -> Result<()> {
        for t in self.towns.iter_mut().take(3) {
            let Some(s) = t.idle_pupil(false)? else {
                continue;
            };
            let args = node_student::EditArgs { phone: Some("13903790000"), ..Default::default() };
            node_student::edit(&t.ledger, &no_of(&s), &args, &t.stamp(end.add_days(-10))).map_err(node_err)?;
            let at_hub = self.infra.hub.record(s.id)?.context("hub copy of the student")?;
            let change =
                Change::Update(vec![
                    assign(&at_hub, Field::Phone, Value::OptText(Some("13837900000".into()))).map_err(node_err)?
                ]);
            self.infra.hub.commit(
                baoxue_shared::sync::HUB_ORIGIN,
                "县教育局基教股",
                end.add_days(-9),
                vec![(s.id, RecordKind::Student, change)],
            )?;
        }
        Ok(())
    }

    /// A pupil dies (December, April).
    fn death(&mut self, month: (i32, u32), end: Date) -> Result<()> {
        let nt = self.towns.len();
        let k = if month.1 == 12 { 2 % nt } else { 5 % nt };
        let t = &mut self.towns[k];
        if let Some(s) = t.idle_pupil(false)? {
            node_student::set_status(&t.ledger, &no_of(&s), "死亡", Some("因病去世"), &t.stamp(end.add_days(-15)))
                .map_err(node_err)?;
            t.busy.insert(s.id);
        }
        Ok(())
    }

    /// The Ministry's suspected-out-of-school list, matched at the hub (March).
    fn ministry_list(&mut self) -> Result<()> {
        let view = self.view();
        let all: Vec<&StudentInit> = self.rolls.values().flatten().filter(|s| s.hukou_township.is_some()).collect();
        let matched: Vec<StudentInit> =
            all.iter().step_by((all.len() / 11).max(1)).take(10).map(|s| (*s).clone()).collect();
        let unmatched: Vec<(String, u32)> =
            self.names.iter().map(|t| (t.clone(), table_row(t).1)).filter(|x| x.1 > 0).collect();
        let csv = census_csv(&mut self.rng, &mut self.mint, &self.county, &matched, &unmatched, true);
        std::fs::write(self.dir.join("census-ministry.csv"), &csv)?;
        let r = view.import_census(csv.as_bytes(), CaseSource::Ministry, Date::ymd(2026, 3, 16), "县教育局基教股")?;
        self.pr.say(&format!(
            "2026-03-16 教育部疑似失学儿童名单比对：匹配 {}，疑似匹配 {}（身份证号录入有误），未匹配 {}，立案 {}",
            r.outcome.matched,
            r.outcome.suggested.len(),
            r.outcome.unmatched,
            r.opened.len()
        ));
        self.ministry = Some(r.outcome.counts());
        Ok(())
    }

    /// The police's census, matched at the hub (July).
    fn police_census(&mut self) -> Result<()> {
        let view = self.view();
        let all: Vec<&StudentInit> = self.rolls.values().flatten().filter(|s| s.hukou_township.is_some()).collect();
        let matched: Vec<StudentInit> =
            all.iter().skip(all.len() / 3).step_by((all.len() / 7).max(1)).take(5).map(|s| (*s).clone()).collect();
        let unmatched: Vec<(String, u32)> = self.names.iter().take(3).map(|t| (t.clone(), 1)).collect();
        let csv = census_csv(&mut self.rng, &mut self.mint, &self.county, &matched, &unmatched, false);
        std::fs::write(self.dir.join("census-police.csv"), &csv)?;
        let r = view.import_census(csv.as_bytes(), CaseSource::Police, Date::ymd(2026, 7, 1), "县教育局基教股")?;
        self.pr.say(&format!(
            "2026-07-01 公安户籍比对：匹配 {}，未匹配 {}，立案 {}",
            r.outcome.matched,
            r.outcome.unmatched,
            r.opened.len()
        ));
        self.police = Some(r.outcome.counts());
        Ok(())
    }

    /// 失学 cases that reached the nodes: visits, and some children enrolled.
    fn act_on_census_cases(&mut self) -> Result<()> {
        for t in self.towns.iter_mut() {
            t.act_on_census_cases()?;
        }
        Ok(())
    }

    /// The county's reports on the last day, and the printout.
    fn finish(mut self) -> Result<DemoOutcome> {
        let as_of = year_end();
        let view = self.view();
        let (snap, _) = view.snapshot()?;
        let computed = view.compute(&snap, as_of)?;
        let mut rendered = Vec::new();
        let ind = &computed.indicators;
        for f in [Format::Json, Format::Csv, Format::Md] {
            rendered.push((format!("consolidation.{f}"), render(&ind.consolidation[0], f)));
            rendered.push((format!("dropout.{f}"), render(&ind.dropout, f)));
            rendered.push((format!("township-table.{f}"), render(&ind.township_table, f)));
            rendered.push((format!("ranking.{f}"), render(&ind.ranking, f)));
        }
        rendered.push(("alerts.json".into(), serde_json::to_string_pretty(&computed.alerts)?));
        self.infra.stop();
        self.pr.done("县级汇总与报表");

        let never = || CensusCounts { matched: 0, suggested: 0, unmatched: 0, cases_opened: 0 };
        let mut out = DemoOutcome {
            dir: self.dir.clone(),
            kept: false,
            as_of,
            townships: self.towns.len(),
            schools: self.county.org.schools.len(),
            students: self.students,
            hub_revisions: self.infra.hub.revision_count() as u64,
            sync_rounds: self.rounds,
            indicators: computed.indicators,
            alerts: computed.alerts,
            ministry: self.ministry.unwrap_or_else(never),
            police: self.police.unwrap_or_else(never),
            late_township: late_township(&self.names).map(|i| self.names[i].clone()),
            nightly: std::mem::take(&mut self.nightly),
            rendered,
            timings: self.pr.timings.clone(),
            total_seconds: self.pr.t0.elapsed().as_secs_f64(),
            text: String::new(),
        };
        let stats: Vec<&TownStats> = self.towns.iter().map(|t| &t.stats).collect();
        out.text = printout(&out, &self.policy, &stats, self.transfers, &self.infra.addr);
        Ok(out)
    }
}

/// 重复学籍: two children on a second township's roll too (a migrant child registered both
/// where the family works and at home).
fn double_enrol(names: &[String], rolls: &mut BTreeMap<String, Vec<StudentInit>>) {
    if names.len() < 2 {
        return;
    }
    for k in 0..2 {
        let (a, b) = (&names[k], &names[(k + 1) % names.len()]);
        let mut s = rolls[a]
            .iter()
            .find(|s| s.grade <= 6 && !s.groups.is_empty())
            .cloned()
            .unwrap_or_else(|| rolls[a][0].clone());
        s.placement.school = format!("{b}中心小学");
        if s.grade > 6 {
            s.grade = 6;
        }
        if let Some(roll) = rolls.get_mut(b) {
            roll.push(s);
        }
    }
}
