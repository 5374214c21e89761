//! `soak`: a county of N township nodes and a hub, the real binaries (`baoxue-hub`,
//! `baoxue-node`, found next to this one) syncing over real QUIC through the lossy, reordering
//! [`relay`](crate::relay), for a given number of minutes under faults (issue 14, point 8):
//! random `kill -9` of node processes (mid-write, mid-sync) and of the hub (restarted at
//! once), dropped and reordered datagrams, and clock skew (each process's "today",
//! `BAOXUE_TODAY`, moved a few days either way). Then the faults stop, every node syncs
//! directly with the hub, and the invariants are checked on the stores themselves:
//! - every revision a node made is at the hub exactly once (or kept at the node as refused,
//!   with its reason), counted by node, and the hub holds no revision twice;
//! - every node converged on its scope: each of its records equals the hub's, and the hub
//!   holds no record of that node's making that the node lacks;
//! - no alert lost: the hub's alerts from the snapshot it kept up to date across the kills
//!   equal the alerts recomputed from its store from scratch.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use baoxue_shared::dates::TODAY_ENV;
use baoxue_shared::ids::make_id;
use baoxue_shared::Date;
use chrono::Datelike;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// The township names (伊川县's).
const TOWNSHIPS: [&str; 15] = [
    "城关", "鸣皋", "水寨", "彭婆", "白沙", "江左", "高山", "吕店", "半坡", "酒后", "平等", "白元", "葛寨", "鸦岭",
    "白杨",
];

/// "Today" of the soak county: a Friday in term; business dates are the weekdays before it.
fn base_day() -> Date {
    Date::ymd(2026, 11, 20)
}

#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub nodes: usize,
    pub minutes: f64,
    pub seed: u64,
    /// Keep the data directories here (default: a temporary directory, removed).
    pub keep: Option<PathBuf>,
    pub progress: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Faults {
    /// Node processes killed with SIGKILL while writing or syncing.
    pub node_kills: u64,
    /// Hub processes killed with SIGKILL (each restarted).
    pub hub_kills: u64,
    pub datagrams_dropped: u64,
    pub datagrams_reordered: u64,
    /// Processes run with their "today" moved off the county's (nodes and hub).
    pub clock_skews: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct SoakReport {
    pub nodes: usize,
    pub minutes: f64,
    pub seed: u64,
    pub writes: u64,
    /// Writes the node refused (not a fault: e.g. a date after a skewed "today").
    pub writes_refused: u64,
    pub syncs: u64,
    pub syncs_failed: u64,
    pub hub_alert_runs: u64,
    pub faults: Faults,
    /// Revisions at the hub at the end, and per node.
    pub hub_revisions: u64,
    pub revisions_by_node: BTreeMap<String, u64>,
    /// Revisions kept at a node as refused by the hub.
    pub refused_by_hub: u64,
    pub hub_alerts: usize,
    pub final_sync_seconds: f64,
    /// Examples of what the nodes refused or what failed (first distinct lines).
    pub refusals: Vec<String>,
    pub violations: Vec<String>,
}

fn bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("找不到本程序的路径")?;
    let dir = exe.parent().ok_or_else(|| anyhow!("找不到本程序的目录"))?;
    let p = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !p.is_file() {
        bail!("找不到 {}（先 cargo build --release -p baoxue-node -p baoxue-hub）", p.display());
    }
    Ok(p)
}

/// The hub: its data directory, its port, its `serve` process (restarted after a kill).
struct Hub {
    exe: PathBuf,
    dir: PathBuf,
    addr: String,
    log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Hub {
    fn command(&self, args: &[&str], today: Date) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("--data").arg(&self.dir).args(args);
        c.env(TODAY_ENV, today.to_string()).env("BAOXUE_LOG", "warn").env_remove("BAOXUE_DATA");
        c.stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self.command(args, base_day()).output().context("无法运行 baoxue-hub")?;
        if !out.status.success() {
            bail!("baoxue-hub {args:?}：{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `serve`, with "today" `today`; waits for its control socket.
    fn start(&self, today: Date) -> Result<()> {
        let sock = self.dir.join(baoxue_hub::control::SOCKET);
        let _ = std::fs::remove_file(&sock);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        let child = self
            .command(&["serve", "--listen", &self.addr, "--no-web", "--no-nightly"], today)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("无法启动 baoxue-hub serve")?;
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let t = Instant::now();
        while !sock.exists() {
            if t.elapsed() > Duration::from_secs(60) {
                bail!("县级平台 60 秒内未就绪（日志 {}）", self.log.display());
            }
            if let Some(c) = self.child.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    bail!("县级平台退出（{st}；日志 {}）", self.log.display());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGKILL (`kill -9`), and wait for it.
    fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, as a service manager stops it.
    fn stop(&self) {
        if let Some(mut c) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(30) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One township node and what the soak did at it.
struct Node {
    exe: PathBuf,
    index: usize,
    name: String,
    township: String,
    dir: PathBuf,
    /// 学籍号 of students whose `student add` succeeded.
    students: Vec<String>,
    made: u32,
}

impl Node {
    fn command(&self, args: &[&str], today: Date) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("--data").arg(&self.dir).args(args);
        c.env(TODAY_ENV, today.to_string())
            .env("BAOXUE_OPERATOR", "测试员")
            .env("BAOXUE_LOG", "warn")
            .env_remove("BAOXUE_DATA");
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    /// A new student's `student add` arguments.
    fn new_student(&mut self, rng: &mut StdRng) -> Vec<String> {
        let c = self.made;
        self.made += 1;
        let grade: u8 = rng.gen_range(1..=6);
        let birth = Date::ymd(2026 - 6 - i32::from(grade), 1 + (c / 28) % 12, 1 + c % 28);
        let id = make_id(&format!("4103{:02}", 20 + self.index), birth.0, ((c / 336) % 1000) as u16);
        let male = (id.as_str().as_bytes()[16] - b'0') % 2 == 1;
        let school = if rng.gen_bool(0.5) {
            format!("{}小学", self.township)
        } else {
            format!("{}中心小学", self.township)
        };
        vec![
            "student".into(),
            "add".into(),
            "--student-no".into(),
            format!("G{}", id.as_str()),
            "--id".into(),
            id.as_str().into(),
            "--name".into(),
            format!("{}学生{c}", self.township),
            "--sex".into(),
            if male { "男" } else { "女" }.into(),
            "--birth".into(),
            birth.to_string(),
            "--school".into(),
            school,
            "--grade".into(),
            grade.to_string(),
        ]
    }
}

/// A weekday in the four weeks before the base day.
fn business_day(rng: &mut StdRng) -> Date {
    loop {
        let d = base_day().add_days(-rng.gen_range(3..28));
        if d.0.weekday().num_days_from_monday() < 5 {
            return d;
        }
    }
}

#[derive(Default)]
struct Counters {
    writes: AtomicU64,
    writes_refused: AtomicU64,
    syncs: AtomicU64,
    syncs_failed: AtomicU64,
    node_kills: AtomicU64,
    hub_kills: AtomicU64,
    skews: AtomicU64,
    alert_runs: AtomicU64,
    /// The first distinct lines of refused writes and failed syncs.
    refusals: Mutex<Vec<String>>,
}

/// Runs `cmd`; with `kill_after`, SIGKILLs it then if still running (true: it was killed).
/// A process still running after `limit` is killed too (not counted as a fault).
fn run_child(mut cmd: Command, kill_after: Option<Duration>, limit: Duration) -> Result<(bool, bool, String)> {
    let mut child = cmd.spawn().context("无法启动 baoxue-node")?;
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read as _;
                let _ = e.read_to_string(&mut err);
            }
            return Ok((false, st.success(), err));
        }
        let elapsed = t.elapsed();
        if kill_after.is_some_and(|k| elapsed >= k) || elapsed >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((kill_after.is_some_and(|k| elapsed >= k), false, String::new()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A node's life during the soak: writes, syncs through the relay, some of them killed.
fn node_loop(node: &mut Node, relay: &str, seed: u64, stop: &AtomicBool, k: &Counters) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    while !stop.load(Ordering::SeqCst) {
        let skew = if rng.gen_ratio(1, 4) { rng.gen_range(-2i64..=2) } else { 0 };
        if skew != 0 {
            k.skews.fetch_add(1, Ordering::Relaxed);
        }
        let today = base_day().add_days(skew);
        let roll: f64 = rng.gen();
        let kill = rng.gen_ratio(1, 5).then(|| Duration::from_millis(rng.gen_range(0..150)));
        let (args, is_sync, added): (Vec<String>, bool, Option<String>) = if roll < 0.5 || node.students.is_empty() {
            let a = node.new_student(&mut rng);
            let no = a[3].clone();
            let mut a = a;
            a.extend(["--date".into(), business_day(&mut rng).to_string()]);
            (a, false, Some(no))
        } else if roll < 0.8 {
            let no = node.students[rng.gen_range(0..node.students.len())].clone();
            let kind = ["unexcused", "sick", "personal"][rng.gen_range(0..3)];
            let a = vec![
                "absence".into(),
                no,
                "--kind".into(),
                kind.into(),
                "--date".into(),
                business_day(&mut rng).to_string(),
            ];
            (a, false, None)
        } else {
            (vec!["sync".into(), "--hub".into(), relay.into(), "--json".into()], true, None)
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (killed, ok, err) = run_child(node.command(&argv, today), kill, Duration::from_secs(120))?;
        if !killed && !ok && !err.is_empty() {
            let mut seen = k.refusals.lock().unwrap_or_else(|p| p.into_inner());
            let line = err.lines().next().unwrap_or_default().to_string();
            if seen.len() < 8 && !seen.contains(&line) {
                seen.push(line);
            }
        }
        if killed {
            k.node_kills.fetch_add(1, Ordering::Relaxed);
        } else if is_sync {
            k.syncs.fetch_add(1, Ordering::Relaxed);
            if !ok {
                k.syncs_failed.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            k.writes.fetch_add(1, Ordering::Relaxed);
            if !ok {
                k.writes_refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let (false, true, Some(no)) = (killed, ok, added) {
            node.students.push(no);
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
    }
    Ok(())
}

/// The hub's faults: kill -9 every 20–60 s, restarted after up to 3 s with a skewed clock
/// now and then; meanwhile `alerts` runs through the control socket, keeping its snapshot
/// up to date across the kills.
fn hub_loop(hub: &Hub, seed: u64, stop: &AtomicBool, k: &Counters) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut next_kill = Instant::now() + Duration::from_secs(rng.gen_range(20..60));
    let mut next_alerts = Instant::now() + Duration::from_secs(15);
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        if Instant::now() >= next_alerts {
            let _ = hub.command(&["alerts", "--json", "--as-of", &base_day().to_string()], base_day()).output();
            k.alert_runs.fetch_add(1, Ordering::Relaxed);
            next_alerts = Instant::now() + Duration::from_secs(rng.gen_range(15..45));
        }
        if Instant::now() >= next_kill {
            hub.kill();
            k.hub_kills.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..3000)));
            let skew = if rng.gen_ratio(1, 3) { rng.gen_range(-2i64..=2) } else { 0 };
            if skew != 0 {
                k.skews.fetch_add(1, Ordering::Relaxed);
            }
            hub.start(base_day().add_days(skew))?;
            next_kill = Instant::now() + Duration::from_secs(rng.gen_range(20..60));
        }
    }
    Ok(())
}

/// Runs the soak.
pub fn run(opts: &SoakOptions, progress: impl Fn(&str) + Sync) -> Result<SoakReport> {
    let tmp = std::env::temp_dir().join(format!("baoxue-soak-{}-{}", std::process::id(), rand::random::<u32>()));
    let root = opts.keep.clone().unwrap_or_else(|| tmp.clone());
    std::fs::create_dir_all(&root)?;
    let result = run_in(&root, opts, &progress);
    if opts.keep.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn run_in(root: &Path, opts: &SoakOptions, progress: &(impl Fn(&str) + Sync)) -> Result<SoakReport> {
    let n = opts.nodes.clamp(1, TOWNSHIPS.len());
    let (hub_exe, node_exe) = (bin("baoxue-hub")?, bin("baoxue-node")?);
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let hub = Hub {
        exe: hub_exe,
        dir: root.join("hub"),
        addr: format!("127.0.0.1:{port}"),
        log: root.join("hub.log"),
        child: Mutex::new(None),
    };
    progress(&format!("初始化县级平台与 {n} 个乡镇节点……"));
    hub.ok(&["init", "--county-code", "410329", "--name", "浸泡县"])?;
    let mut org = String::from("乡镇,学校,类型\n");
    for t in &TOWNSHIPS[..n] {
        org.push_str(&format!("{t},{t}小学,小学\n{t},{t}中心小学,小学\n{t},{t}初中,初中\n"));
    }
    let org_path = root.join("org.csv");
    std::fs::write(&org_path, org)?;
    hub.ok(&["org", "import", &org_path.to_string_lossy()])?;
    let mut nodes = Vec::new();
    for (i, t) in TOWNSHIPS[..n].iter().enumerate() {
        let name = format!("{t}节点");
        let bundle = root.join(format!("{t}.bundle"));
        hub.ok(&["node", "add", &name, "--township", t, "--out", &bundle.to_string_lossy()])?;
        let node = Node {
            exe: node_exe.clone(),
            index: i,
            name,
            township: t.to_string(),
            dir: root.join("nodes").join(t),
            students: vec![],
            made: 0,
        };
        let out = node.command(&["init", "--bundle", &bundle.to_string_lossy()], base_day()).output()?;
        if !out.status.success() {
            bail!("{} init：{}", node.name, String::from_utf8_lossy(&out.stderr).trim());
        }
        nodes.push(node);
    }
    hub.start(base_day())?;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let hub_addr: std::net::SocketAddr = hub.addr.parse()?;
    let lifetime = Duration::from_secs_f64(opts.minutes * 60.0 + 3600.0);
    let relay = rt.block_on(crate::relay::start_with(hub_addr, 0.05, 0.05, opts.seed, lifetime))?;
    let relay_addr = relay.addr.to_string();

    progress(&format!(
        "浸泡 {} 分钟：节点写入与同步（经丢包 5%、乱序 5% 的中继），随机 kill -9 节点与平台，时钟偏移……",
        opts.minutes
    ));
    let k = Counters::default();
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs_f64(opts.minutes * 60.0);
    let failures: Mutex<Vec<String>> = Mutex::new(vec![]);
    std::thread::scope(|s| {
        for node in nodes.iter_mut() {
            let (relay_addr, stop, k, failures) = (&relay_addr, &stop, &k, &failures);
            let seed = opts.seed.wrapping_mul(31).wrapping_add(node.index as u64);
            s.spawn(move || {
                if let Err(e) = node_loop(node, relay_addr, seed, stop, k) {
                    failures.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{}：{e:#}", node.name));
                }
            });
        }
        let (hub, stop, k, failures) = (&hub, &stop, &k, &failures);
        s.spawn(move || {
            if let Err(e) = hub_loop(hub, opts.seed ^ 0x5eed, stop, k) {
                failures.lock().unwrap_or_else(|p| p.into_inner()).push(format!("平台：{e:#}"));
                stop.store(true, Ordering::SeqCst);
            }
        });
        let mut last = Instant::now();
        while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(500));
            if opts.progress && last.elapsed() > Duration::from_secs(60) {
                last = Instant::now();
                progress(&format!(
                    "  写入 {}，同步 {}（失败 {}），kill -9 节点 {}、平台 {}，丢弃数据报 {}",
                    k.writes.load(Ordering::Relaxed),
                    k.syncs.load(Ordering::Relaxed),
                    k.syncs_failed.load(Ordering::Relaxed),
                    k.node_kills.load(Ordering::Relaxed),
                    k.hub_kills.load(Ordering::Relaxed),
                    relay.stats.dropped()
                ));
            }
        }
        stop.store(true, Ordering::SeqCst);
    });
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    if !failures.is_empty() {
        bail!("浸泡未能进行到底：{}", failures.join("；"));
    }
    let mut report = SoakReport {
        nodes: n,
        minutes: opts.minutes,
        seed: opts.seed,
        writes: k.writes.load(Ordering::Relaxed),
        writes_refused: k.writes_refused.load(Ordering::Relaxed),
        syncs: k.syncs.load(Ordering::Relaxed),
        syncs_failed: k.syncs_failed.load(Ordering::Relaxed),
        hub_alert_runs: k.alert_runs.load(Ordering::Relaxed),
        refusals: std::mem::take(&mut *k.refusals.lock().unwrap_or_else(|p| p.into_inner())),
        faults: Faults {
            node_kills: k.node_kills.load(Ordering::Relaxed),
            hub_kills: k.hub_kills.load(Ordering::Relaxed),
            datagrams_dropped: relay.stats.dropped(),
            datagrams_reordered: relay.stats.reordered(),
            clock_skews: k.skews.load(Ordering::Relaxed),
        },
        ..Default::default()
    };
    drop(relay);

    // The faults stop: the hub on the county's clock, every node syncs with it directly, twice
    // (the second pulls what the first pushed elsewhere).
    progress("故障停止，各节点直接与平台同步……");
    hub.kill();
    hub.start(base_day())?;
    let t = Instant::now();
    for round in 0..2 {
        for node in &nodes {
            let mut tries = 0;
            loop {
                tries += 1;
                let out = node.command(&["sync", "--hub", &hub.addr, "--json"], base_day()).output()?;
                if out.status.success() {
                    break;
                }
                if tries >= 20 {
                    report.violations.push(format!(
                        "{}：第 {} 轮最终同步 20 次均失败：{}",
                        node.name,
                        round + 1,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    report.final_sync_seconds = t.elapsed().as_secs_f64();

    // Alerts: from the snapshot kept up to date while serving, and recomputed from scratch.
    progress("检查不变量……");
    let as_of = base_day().to_string();
    let kept = hub.ok(&["alerts", "--json", "--as-of", &as_of])?;
    hub.stop();
    let snapshot = hub.dir.join("nightly").join("snapshot.bin");
    if snapshot.is_file() {
        std::fs::rename(&snapshot, snapshot.with_extension("bin.soak"))?;
    }
    let fresh = hub.ok(&["alerts", "--json", "--as-of", &as_of])?;
    let (kept, fresh) = (alert_set(&kept)?, alert_set(&fresh)?);
    report.hub_alerts = fresh.len();
    for a in fresh.difference(&kept) {
        report.violations.push(format!("预警丢失（重算有、平台无）：{a}"));
    }
    for a in kept.difference(&fresh) {
        report.violations.push(format!("多余预警（平台有、重算无）：{a}"));
    }

    check_stores(&hub.dir, &nodes, &mut report)?;
    Ok(report)
}

/// The alerts of `alerts --json` as a set of their JSON texts.
fn alert_set(json: &str) -> Result<HashSet<String>> {
    let v: serde_json::Value = serde_json::from_str(json).context("alerts --json 不是 JSON")?;
    let list =
        v.get("alerts").and_then(|a| a.as_array()).cloned().or_else(|| v.as_array().cloned()).unwrap_or_default();
    Ok(list.iter().map(|a| a.to_string()).collect())
}

/// The revision and record invariants, on the stores themselves.
fn check_stores(hub_dir: &Path, nodes: &[Node], report: &mut SoakReport) -> Result<()> {
    let hub = baoxue_hub::data::HubDir::new(hub_dir).open_store().context("打开平台库")?;
    let mut by_origin: HashMap<String, HashSet<baoxue_shared::RevId>> = HashMap::new();
    let mut seen = HashSet::new();
    let mut pos = 0;
    loop {
        let chunk = hub.log_range(pos, 4096)?;
        let Some((last, _)) = chunk.last() else { break };
        pos = last + 1;
        for (_, e) in &chunk {
            if !seen.insert(e.rev) {
                report.violations.push(format!("平台重复存有修订 {}", e.rev.hex()));
            }
            match hub.log_revision(e)? {
                Some(r) => {
                    by_origin.entry(r.origin.clone()).or_default().insert(r.id);
                }
                None => report.violations.push(format!("平台日志中的修订 {} 找不到内容", e.rev.hex())),
            }
        }
    }
    report.hub_revisions = seen.len() as u64;
    for node in nodes {
        let store = baoxue_store::Store::open(&node.dir).with_context(|| format!("打开{}的库", node.name))?;
        let cfg = baoxue_node::sync::load_config(&store)?.ok_or_else(|| anyhow!("{} 未初始化", node.name))?;
        let refused: HashSet<String> =
            baoxue_node::sync::sync_status(&store)?.rejected.into_iter().map(|r| r.revision).collect();
        report.refused_by_hub += refused.len() as u64;
        let mut own = HashSet::new();
        let mut pos = 0;
        loop {
            let chunk = store.log_range(pos, 4096)?;
            let Some((last, _)) = chunk.last() else { break };
            pos = last + 1;
            for (_, e) in chunk {
                if e.from.is_none() && !refused.contains(&e.rev.hex()) {
                    own.insert(e.rev);
                }
            }
        }
        let at_hub = by_origin.get(&cfg.origin).cloned().unwrap_or_default();
        report.revisions_by_node.insert(node.name.clone(), at_hub.len() as u64);
        let missing = own.difference(&at_hub).count();
        let foreign = at_hub.difference(&own).count();
        if missing > 0 {
            report.violations.push(format!("{}：{missing} 条自己的修订不在平台", node.name));
        }
        if foreign > 0 {
            report.violations.push(format!("{}：平台有 {foreign} 条署名本节点、本节点却没有的修订", node.name));
        }
        // Converged on its scope: its records are the hub's, and the hub has none of its
        // making that it lacks.
        let mut mine = HashSet::new();
        let mut differ = 0;
        for rec in store.records(None) {
            let rec = rec?;
            mine.insert(rec.id);
            if hub.record(rec.id)?.as_ref() != Some(&rec) {
                differ += 1;
            }
        }
        if differ > 0 {
            report.violations.push(format!("{}：{differ} 条记录与平台不一致", node.name));
        }
        let mut lacking = 0;
        for rec in hub.records(None) {
            let rec = rec?;
            if rec.created.as_ref().is_some_and(|(_, o)| *o == cfg.origin) && !mine.contains(&rec.id) {
                lacking += 1;
            }
        }
        if lacking > 0 {
            report.violations.push(format!("{}：平台有 {lacking} 条本节点建立、本节点却没有的记录", node.name));
        }
    }
    Ok(())
}

/// The Chinese summary.
pub fn describe(r: &SoakReport) -> String {
    let mut s = format!(
        "浸泡测试：{} 个乡镇节点，{} 分钟（种子 {}）\n  写入 {}（节点拒绝 {}），经中继同步 {}（失败 {}），平台 alerts {} 次\n  故障：kill -9 节点进程 {}，kill -9 平台 {}（均重启），丢弃数据报 {}，乱序数据报 {}，时钟偏移的进程 {}\n  结束时：平台 {} 条修订，被平台拒绝而留在节点 {} 条，预警 {} 条；最终同步 {:.1} 秒\n  违反不变量：{}",
        r.nodes,
        r.minutes,
        r.seed,
        r.writes,
        r.writes_refused,
        r.syncs,
        r.syncs_failed,
        r.hub_alert_runs,
        r.faults.node_kills,
        r.faults.hub_kills,
        r.faults.datagrams_dropped,
        r.faults.datagrams_reordered,
        r.faults.clock_skews,
        r.hub_revisions,
        r.refused_by_hub,
        r.hub_alerts,
        r.final_sync_seconds,
        r.violations.len()
    );
    for v in &r.refusals {
        s.push_str(&format!("\n    （节点拒绝或失败的例子）{v}"));
    }
    for v in &r.violations {
        s.push_str(&format!("\n    {v}"));
    }
    s
}
