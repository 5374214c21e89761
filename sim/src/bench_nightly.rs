//! `bench nightly`: the nightly recompute on a county of a given size.
//!
//! Builds a hub store directly with [`Store::apply`] in large batches (a synthetic county from
//! [`crate::demo::synth`], each student with its roster revision, absences, and a share of
//! cases, actions, confirmations, returns, transfers and deaths), then measures, with the
//! generation time excluded:
//!
//! - `cold`: the first nightly on that store (no summary yet: every record is read);
//! - `incremental`: the next nightly after a day's worth of new revisions (only those are read);
//!
//! with wall time and the process's peak resident memory (`VmHWM`, reset before each phase via
//! `/proc/self/clear_refs`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use baoxue_shared::dates::{Date, SchoolYear};
use baoxue_shared::model::{
    AbsenceKind, Action, ActionKind, CaseSource, CaseState, Cause, Notice, Outcome, Placement, Status, TransferTarget,
};
use baoxue_shared::org::Org;
use baoxue_shared::revision::{Assign, CaseInit, Child, StudentInit};
use baoxue_shared::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
use baoxue_store::Store;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::demo::synth;
use baoxue_hub::county::County;
use baoxue_hub::nightly::{self, Snapshot};
use baoxue_shared::policy::Policy;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub students: usize,
    pub revisions: usize,
    pub seed: u64,
    /// Where to build the store (default: a temporary directory, removed afterwards).
    pub dir: Option<PathBuf>,
    /// Print progress on stderr.
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions { students: 300_000, revisions: 3_000_000, seed: 2019, dir: None, progress: true }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub seconds: f64,
    pub peak_rss_mib: f64,
    /// Revisions the phase had to read from the log (incremental) or records it read (cold).
    pub read: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub students: usize,
    pub revisions: u64,
    pub cases: usize,
    pub townships: usize,
    pub schools: usize,
    pub build_seconds: f64,
    pub store_mib: f64,
    pub cold: Phase,
    pub incremental: Phase,
    pub incremental_new_revisions: usize,
    /// The snapshot file the runs keep between nights.
    pub snapshot_mib: f64,
    pub target_seconds: f64,
    pub target_mib: f64,
    /// The nightly run (incremental, the normal case) within both targets.
    pub within_target: bool,
    /// The rebuild from scratch (first run, or after a restore) within both targets too.
    pub cold_within_target: bool,
    /// Encryption at rest, estimated (the store has no clear mode to compare against): the
    /// time to open every value a phase reads (as 512-byte values) and to seal and open the
    /// snapshot file, measured on their own with a store key; and their share of the phase.
    pub aead_cold_seconds: f64,
    pub aead_cold_share: f64,
    pub aead_incremental_seconds: f64,
    pub aead_incremental_share: f64,
}

/// The estimated AEAD time of a phase that opens `values` values and seals and opens a
/// snapshot of `snapshot_mib`.
fn aead_estimate(values: u64, snapshot_mib: f64) -> f64 {
    let small = crate::bench::aead_cost(100_000, 512);
    let per_value = small.open_seconds / 100_000.0;
    let big = crate::bench::aead_cost(16, 1 << 20);
    let per_mib = (big.seal_seconds + big.open_seconds) / 16.0;
    values as f64 * per_value + snapshot_mib * per_mib
}

/// Peak resident set size of this process so far, MiB (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    proc_status_kib("VmHWM:").map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN)
}

/// Current resident set size, MiB (`VmRSS`).
pub fn rss_mib() -> f64 {
    proc_status_kib("VmRSS:").map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN)
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0); harmless elsewhere.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A synthetic activity generator: one origin (a township node) making revisions in order.
struct Origin {
    name: String,
    seq: u64,
    ms: u64,
}

impl Origin {
    fn rev(&mut self, record: RecordId, kind: RecordKind, date: Date, change: Change) -> Revision {
        self.seq += 1;
        self.ms += 1;
        let id = if matches!(change, Change::CreateStudent(_) | Change::CreateCase(_)) {
            record.creating_revision()
        } else {
            RevId::random()
        };
        Revision {
            id,
            record,
            kind,
            origin: self.name.clone(),
            seq: self.seq,
            hlc: Hlc { ms: self.ms, n: 0 },
            author: "bench".into(),
            date,
            change,
        }
    }
}

/// School days of the 2025 school year (Monday–Friday, 2025-09-01 … 2026-07-10).
fn school_days() -> Vec<Date> {
    use chrono::Datelike;
    let mut d = Date::ymd(2025, 9, 1);
    let end = Date::ymd(2026, 7, 10);
    let mut v = Vec::new();
    while d <= end {
        if d.0.weekday().number_from_monday() <= 5 {
            v.push(d);
        }
        d = d.add_days(1);
    }
    v
}

fn set(field: Field, value: Value, supersedes: RevId) -> Assign {
    Assign { field, value, supersedes: vec![supersedes] }
}

/// The revisions of one student over a school year: its roster row, `absences` absences, and,
/// for some, a case (with actions, confirmation and often a return), a transfer or a death.
#[allow(clippy::too_many_arguments)]
fn student_revisions(
    rng: &mut StdRng,
    o: &mut Origin,
    days: &[Date],
    org: &Org,
    township: &str,
    s: StudentInit,
    absences: usize,
    out: &mut Vec<Revision>,
) -> usize {
    let sid = RecordId::created_by(RevId::random());
    let start = days[0];
    let school = s.placement.school.clone();
    let child = Child {
        name: s.name.clone(),
        id_number: s.id_number.clone(),
        student_no: Some(s.student_no.clone()),
        sex: s.sex,
        birth: s.birth,
        hukou_township: s.hukou_township.clone(),
        hukou_village: s.hukou_village.clone(),
        groups: s.groups.clone(),
    };
    let grade = s.grade;
    let enrolled = s.placement.status == Status::Enrolled;
    out.push(o.rev(sid, RecordKind::Student, start, Change::CreateStudent(Box::new(s))));
    let mut placement_head = sid.creating_revision();
    let mut cases = 0;
    let mut picked: Vec<Date> = (0..absences).map(|_| *days.choose(rng).unwrap()).collect();
    picked.sort();
    for d in &picked {
        let kind = if rng.gen_bool(0.7) { AbsenceKind::Sick } else { AbsenceKind::Personal };
        out.push(o.rev(sid, RecordKind::Student, *d, Change::Absence { day: *d, kind }));
    }
    if !enrolled {
        return 0;
    }
    let roll: f64 = rng.gen();
    if roll < 0.012 {
        // An unexcused episode → a case: calls, a visit, confirmation at day 7, notices; most return.
        let i = rng.gen_range(0..days.len() - 30);
        let d0 = days[i];
        out.push(o.rev(sid, RecordKind::Student, d0, Change::Absence { day: d0, kind: AbsenceKind::Unexcused }));
        let cid = RecordId::created_by(RevId::random());
        let init = CaseInit {
            student: Some(sid),
            child,
            township: township.to_string(),
            school: Some(school.clone()),
            grade: Some(grade),
            source: CaseSource::Roll,
            opened: d0,
            clock_start: d0,
            cause: *[Cause::LearningDifficulty, Cause::Poverty, Cause::Work, Cause::Illness, Cause::Uselessness]
                .choose(rng)
                .unwrap(),
            previous: None,
        };
        out.push(o.rev(cid, RecordKind::Case, d0, Change::CreateCase(Box::new(init))));
        let act = |date: Date, kind: ActionKind, notice: Option<Notice>| {
            Change::Act(Action { date, kind, by: "班主任".into(), notice, text: None })
        };
        out.push(o.rev(cid, RecordKind::Case, d0, act(d0, ActionKind::Call, None)));
        out.push(o.rev(cid, RecordKind::Case, days[i + 2], act(days[i + 2], ActionKind::Visit, None)));
        let d7 = days[i + 5];
        let confirm = o.rev(
            cid,
            RecordKind::Case,
            d7,
            Change::Update(vec![set(
                Field::CaseState,
                Value::CaseState(CaseState::Confirmed),
                cid.creating_revision(),
            )]),
        );
        let confirm_id = confirm.id;
        out.push(confirm);
        let drop = o.rev(
            sid,
            RecordKind::Student,
            d7,
            Change::Update(vec![set(
                Field::Placement,
                Value::Placement(Placement { status: Status::DroppedOut, school: school.clone(), transfer: None }),
                placement_head,
            )]),
        );
        placement_head = drop.id;
        out.push(drop);
        out.push(o.rev(
            cid,
            RecordKind::Case,
            days[i + 8],
            act(days[i + 8], ActionKind::Notice, Some(Notice::PersuadeReturn)),
        ));
        cases += 1;
        if rng.gen_bool(0.65) {
            let back = days[i + rng.gen_range(10..25)];
            out.push(o.rev(
                cid,
                RecordKind::Case,
                back,
                Change::Update(vec![set(
                    Field::CaseState,
                    Value::CaseState(CaseState::Closed {
                        outcome: Outcome::Returned,
                        evidence: Some("已返校".into()),
                        on: back,
                    }),
                    confirm_id,
                )]),
            ));
            out.push(o.rev(
                sid,
                RecordKind::Student,
                back,
                Change::Update(vec![set(
                    Field::Placement,
                    Value::Placement(Placement { status: Status::Enrolled, school: school.clone(), transfer: None }),
                    placement_head,
                )]),
            ));
        }
    } else if roll < 0.017 {
        // A transfer: out of the county, or to another school of the county.
        let d = *days.choose(rng).unwrap();
        let target = if rng.gen_bool(0.5) {
            TransferTarget::OutOfCounty("郑州市金水区".into())
        } else {
            let other = org.schools.values().filter(|x| x.teaches(grade) && x.name != school).collect::<Vec<_>>();
            match other.choose(rng) {
                Some(x) => TransferTarget::School(x.name.clone()),
                None => TransferTarget::OutOfCounty("洛阳市".into()),
            }
        };
        out.push(o.rev(
            sid,
            RecordKind::Student,
            d,
            Change::Update(vec![set(
                Field::Placement,
                Value::Placement(Placement {
                    status: Status::TransferredOut,
                    school: school.clone(),
                    transfer: Some(target),
                }),
                placement_head,
            )]),
        ));
    } else if roll < 0.0171 {
        let d = *days.choose(rng).unwrap();
        out.push(o.rev(
            sid,
            RecordKind::Student,
            d,
            Change::Update(vec![set(
                Field::Placement,
                Value::Placement(Placement { status: Status::Deceased, school, transfer: None }),
                placement_head,
            )]),
        ));
    }
    cases
}

/// What [`build`] made.
#[derive(Debug, Clone)]
pub struct Built {
    pub org: Org,
    pub revisions: u64,
    pub students: usize,
    pub cases: usize,
}

/// Builds a hub store of `students` students and about `revisions` revisions in `dir`.
pub fn build(dir: &Path, students: usize, revisions: usize, seed: u64, progress: bool) -> Result<(Store, Built)> {
    let store = Store::open(dir).with_context(|| format!("打开 {}", dir.display()))?;
    let built = build_into(&store, students, revisions, seed, progress)?;
    Ok((store, built))
}

/// Fills `store` (a plain one, or a hub's keyed store for `bench web`) as [`build`] does.
pub fn build_into(store: &Store, students: usize, revisions: usize, seed: u64, progress: bool) -> Result<Built> {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    // A large county: ~7,500 pupils a township.
    let n_t = (students / 7_500).clamp(1, 60);
    let county = synth::county(n_t, &mut rng);
    let rolls = synth::rolls(&mut rng, &county, students, SchoolYear(2025));
    let n_students: usize = rolls.values().map(Vec::len).sum();
    // Roster rows, cases and the rest are about 1.1 revisions a student; absences fill the rest.
    let per_student = (revisions as f64 / n_students.max(1) as f64 - 1.1).max(0.0);
    let days = school_days();
    let mut cases = 0;
    let mut total = 0u64;
    let mut batch: Vec<Revision> = Vec::with_capacity(120_000);
    let mut ms = 1_756_684_800_000u64; // 2025-09-01
    for (t, students) in rolls {
        let mut o = Origin { name: format!("{t}-node"), seq: 0, ms };
        for s in students {
            // Poisson-like spread: most pupils a few absences, some many.
            let base = per_student.floor() as usize;
            let n =
                (base + usize::from(rng.gen_bool(per_student - base as f64)) + rng.gen_range(0..3)).saturating_sub(1);
            cases += student_revisions(&mut rng, &mut o, &days, &county.org, &t, s, n.min(days.len()), &mut batch);
            if batch.len() >= 100_000 {
                total += batch.len() as u64;
                store.apply(&batch, Some(&o.name))?;
                batch.clear();
                if progress {
                    eprintln!("[bench {:>6.1}s] 已写入 {total} 条修订", t0.elapsed().as_secs_f64());
                }
            }
        }
        ms = o.ms;
        if !batch.is_empty() {
            total += batch.len() as u64;
            store.apply(&batch, Some(&o.name))?;
            batch.clear();
        }
    }
    Ok(Built { org: county.org, revisions: total, students: n_students, cases })
}

/// A day's worth of new activity after the first nightly: absences of random students and a
/// few status changes (what the second, incremental, nightly folds in). Returns how many.
fn next_day(store: &Store, n: usize, seed: u64) -> Result<usize> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let day = Date::ymd(2026, 7, 7);
    let mut ids = Vec::new();
    let end = store.log_end()?;
    // Students from across the log (roster rows), without reading all of it.
    let step = (end / (n as u64).max(1)).max(1);
    let mut pos = 0;
    while pos < end && ids.len() < n {
        if let Some((_, e)) = store.log_range(pos, 1)?.into_iter().next() {
            if let Some(r) = store.log_revision(&e)? {
                if r.kind == RecordKind::Student {
                    ids.push(r.record);
                }
            }
        }
        pos += step;
    }
    let mut o = Origin { name: "bench-day".into(), seq: 0, ms: 1_783_382_400_000 };
    let mut revs = Vec::with_capacity(n);
    for (k, sid) in ids.iter().enumerate() {
        if k % 50 == 0 {
            let rec = store.record(*sid)?.context("bench student")?;
            if let Some(p) = rec.placement() {
                let heads = rec.register(Field::Placement).map(|r| r.head_ids()).unwrap_or_default();
                let p = Placement { status: Status::Suspended, school: p.school.clone(), transfer: None };
                revs.push(o.rev(
                    *sid,
                    RecordKind::Student,
                    day,
                    Change::Update(vec![Assign {
                        field: Field::Placement,
                        value: Value::Placement(p),
                        supersedes: heads,
                    }]),
                ));
                continue;
            }
        }
        let kind = if rng.gen_bool(0.8) { AbsenceKind::Sick } else { AbsenceKind::Personal };
        revs.push(o.rev(*sid, RecordKind::Student, day, Change::Absence { day, kind }));
    }
    store.apply(&revs, Some("bench-day"))?;
    Ok(revs.len())
}

/// Which step a (child) process makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    /// Measured: no snapshot, the run rebuilds it from every record.
    Cold,
    /// Not measured: a day of new revisions lands in the store.
    Day,
    /// Measured: the next run folds in only that day.
    Incremental,
}

impl PhaseKind {
    pub fn key(self) -> &'static str {
        match self {
            PhaseKind::Cold => "cold",
            PhaseKind::Day => "day",
            PhaseKind::Incremental => "incremental",
        }
    }
}

impl std::str::FromStr for PhaseKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cold" => Ok(PhaseKind::Cold),
            "day" => Ok(PhaseKind::Day),
            "incremental" => Ok(PhaseKind::Incremental),
            t => Err(format!("阶段「{t}」无效，可选：cold、day、incremental")),
        }
    }
}

/// One measured phase (what `--measure` prints as JSON).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Measured {
    pub seconds: f64,
    pub peak_rss_mib: f64,
    /// Revisions and records the run read.
    pub revisions_read: u64,
    pub records_read: u64,
    pub new_revisions: usize,
    pub students: usize,
    pub cases: usize,
    pub alerts: usize,
    pub snapshot_mib: f64,
}

/// The county of a bench directory: the store, the org written at build time, 伊川's policy.
fn bench_county(dir: &Path) -> Result<County> {
    let org_csv = std::fs::read(dir.join("org.csv")).with_context(|| format!("{} 不是基准测试目录", dir.display()))?;
    let org = Org::parse_csv(&org_csv)?;
    let store = Store::open(&dir.join("store"))?;
    let policy = Policy::preset("yichuan")?;
    Ok(County::new(store, org, policy, dir, Vec::new()))
}

/// Runs one step on a built bench directory, in this process. Run each in a fresh process
/// (`bench nightly --measure DIR --phase …`) for a meaningful peak memory.
pub fn measure(dir: &Path, phase: PhaseKind) -> Result<Measured> {
    let county = bench_county(dir)?;
    let as_of = match phase {
        PhaseKind::Cold => {
            let _ = std::fs::remove_file(Snapshot::path(dir));
            Date::ymd(2026, 7, 6)
        }
        PhaseKind::Day => {
            let t = Instant::now();
            let n = next_day(&county.store, 5_000, 1)?;
            return Ok(Measured {
                seconds: t.elapsed().as_secs_f64(),
                peak_rss_mib: peak_rss_mib(),
                revisions_read: 0,
                records_read: 0,
                new_revisions: n,
                students: 0,
                cases: 0,
                alerts: 0,
                snapshot_mib: 0.0,
            });
        }
        PhaseKind::Incremental => {
            anyhow::ensure!(Snapshot::path(dir).exists(), "先运行 cold 阶段");
            Date::ymd(2026, 7, 7)
        }
    };
    reset_peak_rss();
    let t = Instant::now();
    let run = nightly::run(&county, as_of)?;
    let seconds = t.elapsed().as_secs_f64();
    let snapshot_mib = std::fs::metadata(Snapshot::path(dir)).map(|m| m.len() as f64 / 1048576.0).unwrap_or(0.0);
    Ok(Measured {
        seconds,
        peak_rss_mib: peak_rss_mib(),
        revisions_read: run.refresh.revisions,
        records_read: run.refresh.records,
        new_revisions: 0,
        students: run.students,
        cases: run.cases,
        alerts: run.alerts,
        snapshot_mib,
    })
}

/// Builds the store for `opts` (unless `opts.dir` already holds one) and measures both phases,
/// each in a fresh child process when `exe` is given (the `baoxue-sim` binary), else here.
pub fn run(opts: &BenchOptions, exe: Option<&Path>) -> Result<BenchReport> {
    let (dir, temporary) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("baoxue-bench-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    let t = Instant::now();
    let built_info = if dir.join("org.csv").exists() {
        if opts.progress {
            eprintln!("[bench] 使用已有的基准数据 {}", dir.display());
        }
        None
    } else {
        let (store, built) = build(&dir.join("store"), opts.students, opts.revisions, opts.seed, opts.progress)?;
        drop(store);
        std::fs::write(dir.join("org.csv"), built.org.to_csv())?;
        Some(built)
    };
    let build_seconds = t.elapsed().as_secs_f64();
    let phase = |p: PhaseKind| -> Result<Measured> {
        match exe {
            Some(exe) => {
                let name = p.key();
                let out = std::process::Command::new(exe)
                    .args(["bench", "nightly", "--measure"])
                    .arg(&dir)
                    .args(["--phase", name, "--json"])
                    .output()
                    .with_context(|| format!("无法运行 {}", exe.display()))?;
                anyhow::ensure!(out.status.success(), "测量进程失败：{}", String::from_utf8_lossy(&out.stderr));
                Ok(serde_json::from_slice(&out.stdout).context("测量进程的输出不是 JSON")?)
            }
            None => measure(&dir, p),
        }
    };
    if opts.progress {
        eprintln!("[bench] 测量：全量重建（冷启动）");
    }
    let cold = phase(PhaseKind::Cold)?;
    let day = phase(PhaseKind::Day)?;
    if opts.progress {
        eprintln!("[bench] 测量：增量（新增一天的 {} 条修订）", day.new_revisions);
    }
    let incremental = phase(PhaseKind::Incremental)?;
    let store_mib = dir_size(&dir.join("store")) as f64 / 1048576.0;
    let (students, revisions, cases, schools, townships) = match &built_info {
        Some(b) => (b.students, b.revisions, b.cases, b.org.schools.len(), b.org.townships.len()),
        None => {
            let c = bench_county(&dir)?;
            (cold.students, c.store.revision_count() as u64, cold.cases, c.org.schools.len(), c.org.townships.len())
        }
    };
    let target_seconds = 5.0;
    let target_mib = 1024.0;
    let ok = |m: &Measured| m.seconds < target_seconds && m.peak_rss_mib < target_mib;
    let (within, cold_within) = (ok(&incremental), ok(&cold));
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let aead_cold = aead_estimate(cold.records_read, incremental.snapshot_mib);
    let aead_incr = aead_estimate(incremental.revisions_read, incremental.snapshot_mib);
    Ok(BenchReport {
        students,
        revisions,
        cases,
        townships,
        schools,
        build_seconds,
        store_mib,
        cold: Phase { seconds: cold.seconds, peak_rss_mib: cold.peak_rss_mib, read: cold.records_read },
        incremental: Phase {
            seconds: incremental.seconds,
            peak_rss_mib: incremental.peak_rss_mib,
            read: incremental.revisions_read,
        },
        incremental_new_revisions: day.new_revisions,
        snapshot_mib: incremental.snapshot_mib,
        target_seconds,
        target_mib,
        within_target: within,
        cold_within_target: cold_within,
        aead_cold_seconds: aead_cold,
        aead_cold_share: aead_cold / cold.seconds.max(f64::MIN_POSITIVE),
        aead_incremental_seconds: aead_incr,
        aead_incremental_share: aead_incr / incremental.seconds.max(f64::MIN_POSITIVE),
    })
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The report in Chinese, for the terminal.
pub fn describe(r: &BenchReport) -> String {
    format!(
        "夜间汇总基准：{} 名学生、{} 条修订、{} 件个案、{} 个乡镇、{} 所学校（生成 {:.1} 秒，库 {:.0} MiB）\n\
         夜间汇总（增量，新增 {} 条修订）：{:.2} 秒，峰值内存 {:.0} MiB —— {}\n\
         全量重建（首次运行或恢复备份后）：{:.2} 秒，峰值内存 {:.0} MiB —— {}\n\
         快照文件 {:.0} MiB；目标：{} 秒、{} MiB 以内\n\
         静态加密（估算，单独测量 AES-256-GCM 开封与快照封装）：增量 {:.2} 秒（{:.1}%），全量 {:.2} 秒（{:.1}%）",
        r.students,
        r.revisions,
        r.cases,
        r.townships,
        r.schools,
        r.build_seconds,
        r.store_mib,
        r.incremental_new_revisions,
        r.incremental.seconds,
        r.incremental.peak_rss_mib,
        if r.within_target { "达标" } else { "未达标" },
        r.cold.seconds,
        r.cold.peak_rss_mib,
        if r.cold_within_target { "达标" } else { "未达标" },
        r.snapshot_mib,
        r.target_seconds,
        r.target_mib,
        r.aead_incremental_seconds,
        r.aead_incremental_share * 100.0,
        r.aead_cold_seconds,
        r.aead_cold_share * 100.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bench_runs_in_process() {
        let dir = tempfile::tempdir().unwrap();
        let opts = BenchOptions {
            students: 2_000,
            revisions: 12_000,
            seed: 3,
            dir: Some(dir.path().to_path_buf()),
            progress: false,
        };
        let r = run(&opts, None).unwrap();
        assert!(r.students > 1_000, "{r:?}");
        assert!(r.cold.read > 0 && r.incremental.read > 0 && r.incremental.read < r.revisions, "{r:?}");
        assert!(dir.path().join("reports/2026-07-07/ranking.json").exists());
    }

    /// The incremental snapshot gives exactly what a rebuild from scratch gives.
    #[test]
    fn incremental_equals_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let (store, built) = build(&dir.path().join("store"), 1_500, 9_000, 5, false).unwrap();
        drop(store);
        std::fs::write(dir.path().join("org.csv"), built.org.to_csv()).unwrap();
        let county = bench_county(dir.path()).unwrap();
        nightly::run(&county, Date::ymd(2026, 7, 6)).unwrap();
        next_day(&county.store, 300, 9).unwrap();
        let mut inc = Snapshot::load(dir.path(), county.store.key());
        let r = inc.refresh(&county.store, county.year_start()).unwrap();
        assert!(!r.rebuilt && r.revisions > 0);
        let mut full = Snapshot::default();
        full.rebuild(&county.store, county.year_start()).unwrap();
        assert_eq!((inc.log_pos, &inc.conflicts, &inc.duplicates), (full.log_pos, &full.conflicts, &full.duplicates));
        assert_eq!(inc.cases, full.cases);
        for as_of in [Date::ymd(2025, 12, 1), Date::ymd(2026, 7, 7)] {
            let (a, b) = (county.compute(&inc, as_of).unwrap(), county.compute(&full, as_of).unwrap());
            assert_eq!(a.indicators, b.indicators);
            assert_eq!(a.alerts, b.alerts);
        }
    }

    /// The rebuild folds roster rows rebuilt from dated records exactly as it folds the rows
    /// themselves (read from the store, as for records stored before they were dated), and
    /// reading only the writes the timelines use gives what folding the whole log gives.
    #[test]
    fn the_rebuild_gives_what_folding_the_whole_log_gives() {
        let dir = tempfile::tempdir().unwrap();
        let (store, built) = build(&dir.path().join("store"), 1_500, 9_000, 7, false).unwrap();
        drop(store);
        std::fs::write(dir.path().join("org.csv"), built.org.to_csv()).unwrap();
        let county = bench_county(dir.path()).unwrap();
        let all = RecordId(0)..=RecordId(u128::MAX);
        let dated =
            county.store.records_dated(*all.start(), *all.end()).filter(|r| r.as_ref().unwrap().1.is_some()).count();
        assert!(dated > 1_000, "records carry their roster row's date ({dated})");
        let ys = county.year_start();
        let (mut rows, mut read) = (Snapshot::default(), Snapshot::default());
        let a = rows.rebuild(&county.store, ys).unwrap();
        let b = read.rebuild_with(&county.store, ys, false).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            (rows.log_pos, &rows.conflicts, &rows.duplicates),
            (read.log_pos, &read.conflicts, &read.duplicates)
        );
        assert_eq!(rows.cases, read.cases);
        // And what it folds (roster rows, and of other records only the writes the timelines
        // use) gives the timelines of every revision in the log.
        let mut every = baoxue_shared::indicators::History::with_year_start(ys);
        for (_, e) in county.store.log_range(0, usize::MAX).unwrap() {
            every.add(&county.store.log_revision(&e).unwrap().unwrap());
        }
        every.build();
        let all = Snapshot { history: every, ..rows.clone() };
        let mut days = vec![Date::ymd(2025, 9, 1), Date::ymd(2026, 7, 7)];
        days.extend((0..10).map(|k| Date::ymd(2025, 9, 15).add_days(k * 28)));
        for as_of in days {
            let x = county.compute(&rows, as_of).unwrap();
            for other in [&read, &all] {
                let y = county.compute(other, as_of).unwrap();
                assert_eq!(x.indicators, y.indicators, "{as_of}");
                assert_eq!(x.alerts, y.alerts, "{as_of}");
            }
        }
    }

    /// Size from `BENCH_STUDENTS`/`BENCH_REVISIONS`; keeps the store in `BENCH_DIR`.
    #[test]
    #[ignore]
    fn bench_from_env() {
        let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(d);
        let opts = BenchOptions {
            students: env("BENCH_STUDENTS", 30_000),
            revisions: env("BENCH_REVISIONS", 300_000),
            seed: 1,
            dir: std::env::var("BENCH_DIR").ok().map(PathBuf::from),
            progress: true,
        };
        let phase = std::env::var("BENCH_PHASE").ok();
        if let (Some(p), Some(d)) = (phase, &opts.dir) {
            let m = measure(d, p.parse().unwrap()).unwrap();
            eprintln!("{}", serde_json::to_string(&m).unwrap());
            return;
        }
        let r = run(&opts, None).unwrap();
        eprintln!("{}", describe(&r));
    }
}
