//! `bench sync`: the sync over real loopback QUIC with real sled stores.
//!
//! 1. Initial sync of N revisions from one node to an empty hub: revisions per second, over the
//!    whole sync (connect to done) and over the transfer alone (after the QUIC/TLS handshake),
//!    with the CPU time the node and the hub (each in its own process, as deployed) spent on it,
//!    which other load on the machine inflates less than wall time.
//! 2. Bytes: frame bytes (length prefixes included, both directions) and, through a counting
//!    UDP relay, the UDP payload bytes, each per revision, against the codec's encoded size of a
//!    revision. The UDP payload ratio is the headline figure (`wire_ratio`): everything QUIC and
//!    TLS add is in it; the IP and UDP headers (28 bytes a datagram over IPv4) are not, and are
//!    reported with them in `ip_ratio`.
//! 3. The wall time of a sync with nothing new (connect, handshake, session, close), at 10,000
//!    revisions and at N: it must not grow with the store.

use std::path::Path;
use std::time::{Duration, Instant};

use baoxue_node::config::NodeConfig;
use baoxue_node::sync::{init_from_bundle, sync_once};
use baoxue_shared::codec;
use baoxue_shared::dates::Date;
use baoxue_shared::ids::{make_id, StudentNo};
use baoxue_shared::model::{AbsenceKind, Placement, Sex, Status};
use baoxue_shared::revision::{Assign, StudentInit};
use baoxue_shared::{Change, Field, RecordId, RecordKind, RevId, Value};
use baoxue_store::crypt::default_key_file;
use baoxue_store::Store;
use serde::Serialize;

use baoxue_hub::data::{HubDir, HubError, Result, STORE_DIR};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub revisions: usize,
    /// Where to build the stores (a temporary directory if none).
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncBench {
    pub revisions: u64,
    /// Wall time of the initial sync (connect to done).
    pub seconds: f64,
    /// `revisions / seconds` (handshake included).
    pub revisions_per_sec: f64,
    /// Of `seconds`: connecting, the QUIC and TLS handshake with client certificates.
    pub handshake_ms: f64,
    /// `seconds` without the handshake: the session itself (push, pull, Bye).
    pub transfer_seconds: f64,
    /// `revisions / transfer_seconds`.
    pub transfer_revisions_per_sec: f64,
    /// CPU time (user + system), node and hub processes together, during the initial sync;
    /// with `load_average` it tells a slow sync from a busy machine.
    pub cpu_seconds: f64,
    /// Of `cpu_seconds`: the node's (this process).
    pub node_cpu_seconds: f64,
    /// Of `cpu_seconds`: the hub process's.
    pub hub_cpu_seconds: f64,
    /// The 1-minute load average (`/proc/loadavg`) when the initial sync ended.
    pub load_average: f64,
    /// Frame bytes both ways, per revision.
    pub wire_bytes_per_revision: f64,
    /// The codec's size of one revision, on average.
    pub encoded_bytes_per_revision: f64,
    /// Frame bytes / encoded (the sync protocol's own overhead only).
    pub ratio: f64,
    /// UDP payload bytes both ways (frames plus QUIC and TLS overhead and acknowledgements;
    /// without the IP and UDP headers, 28 bytes a datagram), per revision, measured on a second
    /// initial sync through a counting relay.
    pub udp_bytes_per_revision: f64,
    /// UDP payload / encoded.
    pub udp_ratio: f64,
    /// The headline wire ratio, against the 1.3× target: `udp_ratio`.
    pub wire_ratio: f64,
    /// Datagrams through the relay, both ways.
    pub udp_datagrams: u64,
    /// UDP payload plus 28 bytes of IPv4 and UDP headers a datagram, per revision.
    pub ip_bytes_per_revision: f64,
    /// IP bytes / encoded.
    pub ip_ratio: f64,
    pub relay_seconds: f64,
    /// Median of 7 syncs with nothing new.
    pub empty_sync_ms_at_10k: f64,
    pub empty_sync_ms_at_100k: f64,
    /// The store size the second figure was taken at (N).
    pub empty_sync_at_revisions: u64,
    /// Encryption at rest, estimated (the store has no clear mode to compare against): for
    /// every revision of the initial sync, the node opens it, the hub seals it and seals and
    /// opens its record, and hashes one index key — measured on their own with a store key at
    /// the revisions' encoded size.
    pub aead_seconds: f64,
    /// `aead_seconds / cpu_seconds`.
    pub aead_share_of_cpu: f64,
}

const TOWNSHIP: &str = "城关";
const SCHOOL: &str = "城关小学";

pub(crate) fn student(i: usize) -> StudentInit {
    let birth = Date::ymd(2012, 1, 1).add_days((i / 1000) as i64 % 3000);
    let id = make_id("410329", birth.0, (i % 1000) as u16);
    StudentInit {
        student_no: StudentNo::parse(&format!("G{}", id.as_str())).expect("valid generated number"),
        id_number: Some(id),
        name: format!("学生{i}"),
        sex: if i.is_multiple_of(2) { Sex::Male } else { Sex::Female },
        birth,
        grade: 1 + (i % 6) as u8,
        class: Some(format!("{}班", 1 + i % 4)),
        hukou_township: Some(TOWNSHIP.into()),
        hukou_village: Some("东村".into()),
        entry_year: Some(2020),
        groups: vec![],
        guardian: Some("家长".into()),
        phone: None,
        placement: Placement { status: Status::Enrolled, school: SCHOOL.into(), transfer: None },
    }
}

/// Commits `n` revisions at the node: per student a create, three absences and a phone number.
/// Returns the total encoded size.
pub fn fill(store: &Store, origin: &str, n: usize) -> Result<u64> {
    let mut encoded = 0u64;
    let mut items = Vec::with_capacity(10_000);
    let mut made = 0usize;
    let mut i = store.record_count();
    let flush = |items: &mut Vec<(RecordId, RecordKind, Change)>, encoded: &mut u64| -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        for r in store.commit(origin, "王老师", Date::ymd(2026, 3, 2), std::mem::take(items))? {
            *encoded += codec::encode(&r).map(|b| b.len() as u64).unwrap_or(0);
        }
        Ok(())
    };
    while made < n {
        let id = RecordId::created_by(RevId::random());
        let mut per = vec![(id, RecordKind::Student, Change::CreateStudent(Box::new(student(i))))];
        for d in 0..3u32 {
            per.push((
                id,
                RecordKind::Student,
                Change::Absence { day: Date::ymd(2026, 3, 2 + d), kind: AbsenceKind::Unexcused },
            ));
        }
        per.push((
            id,
            RecordKind::Student,
            Change::Update(vec![Assign {
                field: Field::Phone,
                value: Value::OptText(Some(format!("139{:08}", i))),
                supersedes: vec![id.creating_revision()],
            }]),
        ));
        per.truncate(n - made);
        made += per.len();
        items.extend(per);
        i += 1;
        if items.len() >= 10_000 {
            flush(&mut items, &mut encoded)?;
        }
    }
    flush(&mut items, &mut encoded)?;
    Ok(encoded)
}

/// A second hub of the same county: its files and data key, a store of its own.
fn copy_hub_without_store(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|source| HubError::Io { path: to.to_path_buf(), source })?;
    let entries = std::fs::read_dir(from).map_err(|source| HubError::Io { path: from.to_path_buf(), source })?;
    for e in entries.flatten() {
        if e.file_name() == STORE_DIR || !e.path().is_file() {
            continue;
        }
        let dst = to.join(e.file_name());
        std::fs::copy(e.path(), &dst).map_err(|source| HubError::Io { path: dst, source })?;
    }
    // The same data key (the copied files are sealed with it; the new store gets it too).
    let (key_from, key_to) = (default_key_file(from), default_key_file(to));
    if key_from.is_file() {
        std::fs::copy(&key_from, &key_to).map_err(|source| HubError::Io { path: key_to, source })?;
    }
    Ok(())
}

struct Pair {
    hub_dir: HubDir,
    node: Store,
    cfg: NodeConfig,
}

fn setup(root: &Path, node_name: &str) -> Result<Pair> {
    let hub_dir = HubDir::new(&root.join("hub"));
    hub_dir.init("410329", "基准县", None, Some("127.0.0.1:7443"))?;
    let org = format!("乡镇,学校,类型\n{TOWNSHIP},{SCHOOL},小学\n{TOWNSHIP},城关初中,初中\n");
    hub_dir.import_org(None, org.as_bytes(), Path::new("org.csv"), &[])?;
    let bundle = hub_dir.add_node(node_name, TOWNSHIP, None)?;
    let node = Store::open(&root.join("node"))?;
    let cfg = init_from_bundle(&node, &bundle).map_err(|e| HubError::Invalid(e.to_string()))?;
    Ok(Pair { hub_dir, node, cfg })
}

/// A hub in its own process (`baoxue-sim hub serve`: the hub's own command line), as deployed. In one process a node and a hub
/// would slow each other in ways no county sees: sled orders batch writes against reads
/// process-wide, and both would share one allocator.
pub(crate) struct HubProcess {
    pub(crate) child: std::process::Child,
    pub(crate) addr: String,
}

impl HubProcess {
    fn start(dir: &HubDir) -> Result<HubProcess> {
        HubProcess::start_with(dir, None, &[])
    }

    /// Starts it serving also the dashboard on `web` (`--web ADDR`), unless `None`
    /// (`--no-web`), with `env` set for it.
    pub(crate) fn start_with(dir: &HubDir, web: Option<&str>, env: &[(&str, &str)]) -> Result<HubProcess> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| HubError::Io { path, source }
        };
        let exe = std::env::current_exe().map_err(io(Path::new("baoxue-sim")))?;
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map_err(io(Path::new("127.0.0.1:0")))?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let sock = dir.root.join(baoxue_hub::control::SOCKET);
        let _ = std::fs::remove_file(&sock);
        let child = std::process::Command::new(&exe)
            .args(["hub", "--data"])
            .arg(&dir.root)
            .args(["serve", "--listen", &addr, "--no-nightly"])
            .args(match web {
                Some(w) => vec!["--web", w],
                None => vec!["--no-web"],
            })
            .envs(env.iter().copied())
            .env("BAOXUE_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(io(&exe))?;
        let mut hub = HubProcess { child, addr };
        // The command socket opens once the QUIC endpoint is bound.
        let t = Instant::now();
        while !sock.exists() {
            if let Ok(Some(status)) = hub.child.try_wait() {
                return Err(HubError::Invalid(format!("平台进程未能启动（{status}）")));
            }
            if t.elapsed() > Duration::from_secs(60) {
                return Err(HubError::Invalid("平台进程 60 秒内未就绪".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(hub)
    }

    /// CPU seconds the hub process has used so far.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Stops it as a service manager would (SIGTERM), and waits.
    pub(crate) fn stop(mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn sync(p: &Pair, addr: &str) -> Result<baoxue_node::sync::SyncReport> {
    sync_once(&p.node, &p.cfg, Some(addr)).await.map_err(|e| HubError::Invalid(e.to_string()))
}

async fn empty_sync_ms(p: &Pair, addr: &str) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let r = sync(p, addr).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if r.sent != 0 || r.received != 0 {
            return Err(HubError::Invalid(format!("空同步不空：发送 {}，接收 {}", r.sent, r.received)));
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}

/// Runs the benchmark (inside a tokio runtime).
pub async fn run(opts: &BenchOptions, progress: impl Fn(&str)) -> Result<SyncBench> {
    let (_tmp, root) = work_dir(opts.dir.as_ref())?;
    let n = opts.revisions.max(1);

    // Empty sync at 10,000 revisions.
    progress("准备 10,000 条修订的节点……");
    let small = setup(&root.join("small"), "基准节点甲")?;
    fill(&small.node, &small.cfg.origin, 10_000)?;
    let hub = HubProcess::start(&small.hub_dir)?;
    let addr = hub.addr.clone();
    sync(&small, &addr).await?;
    let at_10k = empty_sync_ms(&small, &addr).await?;
    hub.stop();

    // The initial sync of N revisions.
    progress(&format!("准备 {n} 条修订的节点……"));
    let big = setup(&root.join("big"), "基准节点乙")?;
    let encoded = fill(&big.node, &big.cfg.origin, n)?;
    let hub = HubProcess::start(&big.hub_dir)?;
    let addr = hub.addr.clone();
    progress("首次同步……");
    let (node_cpu0, hub_cpu0) = (cpu_seconds(), hub.cpu_seconds());
    let t = Instant::now();
    let r = sync(&big, &addr).await?;
    let seconds = t.elapsed().as_secs_f64();
    let node_cpu = cpu_seconds() - node_cpu0;
    let hub_cpu = hub.cpu_seconds() - hub_cpu0;
    let load_average = load_average();
    if r.sent != n as u64 || !r.rejected.is_empty() {
        return Err(HubError::Invalid(format!(
            "首次同步发送 {} 条、拒绝 {} 条，应为 {n} 条、0 条",
            r.sent,
            r.rejected.len()
        )));
    }
    let wire = (r.bytes_sent + r.bytes_received) as f64;
    progress("空同步计时……");
    let at_n = empty_sync_ms(&big, &addr).await?;
    hub.stop();
    let held = big.hub_dir.open_store()?.revision_count();
    if held != n {
        return Err(HubError::Invalid(format!("平台收到 {held} 条修订，应为 {n} 条")));
    }

    // The same initial sync through a counting relay, to a second hub of the same county.
    progress("经 UDP 中继再做一次首次同步（统计 UDP 字节）……");
    let second = HubDir::new(&root.join("big").join("hub2"));
    copy_hub_without_store(&big.hub_dir.root, &second.root)?;
    let hub2 = HubProcess::start(&second)?;
    let hub2_addr = hub2.addr.parse().map_err(|_| HubError::Invalid(format!("地址无效：{}", hub2.addr)))?;
    let relay = crate::relay::start(hub2_addr, 0.0, 1, Duration::from_secs(3600))
        .await
        .map_err(|source| HubError::Io { path: root.clone(), source })?;
    let t = Instant::now();
    let r2 = sync(&big, &relay.addr.to_string()).await?;
    let relay_seconds = t.elapsed().as_secs_f64();
    if r2.sent != n as u64 {
        return Err(HubError::Invalid(format!("经中继同步发送 {} 条，应为 {n} 条", r2.sent)));
    }
    // The node's close travels after the session; let it pass before reading the counters.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let udp = relay.stats.bytes() as f64;
    let datagrams = relay.stats.datagrams();
    drop(relay);
    hub2.stop();

    let cost = aead_cost(n, (encoded / n as u64) as usize);
    let aead_seconds = 2.0 * (cost.seal_seconds + cost.open_seconds) + cost.hash_seconds;
    let per = |b: f64| b / n as f64;
    let ip = udp + (IP_UDP_HEADER_BYTES * datagrams) as f64;
    let transfer_seconds = (seconds - r.handshake_seconds).max(f64::MIN_POSITIVE);
    Ok(SyncBench {
        revisions: n as u64,
        seconds,
        revisions_per_sec: n as f64 / seconds,
        handshake_ms: r.handshake_seconds * 1000.0,
        transfer_seconds,
        transfer_revisions_per_sec: n as f64 / transfer_seconds,
        cpu_seconds: node_cpu + hub_cpu,
        node_cpu_seconds: node_cpu,
        hub_cpu_seconds: hub_cpu,
        load_average,
        wire_bytes_per_revision: per(wire),
        encoded_bytes_per_revision: per(encoded as f64),
        ratio: wire / encoded as f64,
        udp_bytes_per_revision: per(udp),
        udp_ratio: udp / encoded as f64,
        wire_ratio: udp / encoded as f64,
        udp_datagrams: datagrams,
        ip_bytes_per_revision: per(ip),
        ip_ratio: ip / encoded as f64,
        relay_seconds,
        empty_sync_ms_at_10k: at_10k,
        empty_sync_ms_at_100k: at_n,
        empty_sync_at_revisions: n as u64,
        aead_seconds,
        aead_share_of_cpu: aead_seconds / (node_cpu + hub_cpu).max(f64::MIN_POSITIVE),
    })
}

/// IPv4 (20 bytes) and UDP (8 bytes) headers of a datagram, which the relay's payload count
/// leaves out.
const IP_UDP_HEADER_BYTES: u64 = 28;

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`; 0 elsewhere).
fn cpu_seconds() -> f64 {
    cpu_seconds_of("/proc/self/stat")
}

/// User + system CPU seconds from a `/proc/PID/stat` file (0 if unreadable).
pub(crate) fn cpu_seconds_of(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // The kernel's USER_HZ, 100 on every Linux platform.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// The 1-minute load average (Linux; 0 elsewhere).
pub(crate) fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
        .unwrap_or(0.0)
}

/// Where a bench builds its stores: the `--dir` given, or a temporary directory removed when
/// the returned guard drops (hold it for the whole run).
fn work_dir(dir: Option<&std::path::PathBuf>) -> Result<(Option<TempDir>, std::path::PathBuf)> {
    match dir {
        Some(d) => Ok((None, d.clone())),
        None => {
            let tmp = tempdir()?;
            let root = tmp.path().to_path_buf();
            Ok((Some(tmp), root))
        }
    }
}

fn tempdir() -> Result<TempDir> {
    let base = std::env::temp_dir().join(format!("baoxue-bench-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&base).map_err(|source| HubError::Io { path: base.clone(), source })?;
    Ok(TempDir(base))
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Chinese summary.
pub fn to_text(b: &SyncBench) -> String {
    format!(
        "同步基准（回环 QUIC，真实 sled）：\n  首次同步 {} 条修订：{:.2} 秒，{:.0} 条/秒（其中握手 {:.1} 毫秒；传输 {:.2} 秒，{:.0} 条/秒；CPU {:.2} 秒，负载 {:.2}）\n  每条修订：编码 {:.1} 字节，线上 UDP 载荷 {:.1} 字节（{:.3} 倍；含 IP/UDP 头 {:.1} 字节，{:.3} 倍），其中同步帧 {:.1} 字节（{:.3} 倍）\n  空同步：{:.1} 毫秒（1 万条时），{:.1} 毫秒（{} 条时）\n  静态加密（估算，单独测量每条修订的封装与开封）：{:.2} 秒，占 CPU {:.1}%",
        b.revisions,
        b.seconds,
        b.revisions_per_sec,
        b.handshake_ms,
        b.transfer_seconds,
        b.transfer_revisions_per_sec,
        b.cpu_seconds,
        b.load_average,
        b.encoded_bytes_per_revision,
        b.udp_bytes_per_revision,
        b.wire_ratio,
        b.ip_bytes_per_revision,
        b.ip_ratio,
        b.wire_bytes_per_revision,
        b.ratio,
        b.empty_sync_ms_at_10k,
        b.empty_sync_ms_at_100k,
        b.empty_sync_at_revisions,
        b.aead_seconds,
        b.aead_share_of_cpu * 100.0
    )
}

/// `bench sync --loss PCT`: an initial sync through a relay that drops `loss` of the datagrams
/// each way (and holds back `reorder` of them), against the 30 s target of issue 14.
#[derive(Debug, Clone)]
pub struct LossOptions {
    pub revisions: usize,
    /// Share of datagrams dropped each way, 0.0–1.0.
    pub loss: f64,
    /// Share of datagrams held back 1–30 ms each way, 0.0–1.0.
    pub reorder: f64,
    pub seed: u64,
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LossBench {
    pub revisions: u64,
    pub loss_percent: f64,
    pub reorder_percent: f64,
    /// Wall time from the first connection attempt to the hub holding every revision.
    pub seconds: f64,
    /// Sync attempts (1 if the first succeeded).
    pub attempts: u32,
    pub datagrams_forwarded: u64,
    pub datagrams_dropped: u64,
    pub datagrams_reordered: u64,
    pub target_seconds: f64,
}

/// Runs the lossy-link benchmark (inside a tokio runtime).
pub async fn run_loss(opts: &LossOptions, progress: impl Fn(&str)) -> Result<LossBench> {
    let (_tmp, root) = work_dir(opts.dir.as_ref())?;
    let n = opts.revisions.max(1);
    progress(&format!("准备 {n} 条修订的节点……"));
    let pair = setup(&root.join("lossy"), "丢包节点")?;
    fill(&pair.node, &pair.cfg.origin, n)?;
    let hub = HubProcess::start(&pair.hub_dir)?;
    let hub_addr = hub.addr.parse().map_err(|_| HubError::Invalid(format!("地址无效：{}", hub.addr)))?;
    let relay = crate::relay::start_with(hub_addr, opts.loss, opts.reorder, opts.seed, Duration::from_secs(3600))
        .await
        .map_err(|source| HubError::Io { path: root.clone(), source })?;
    progress(&format!("经丢包 {:.0}% 的链路首次同步……", opts.loss * 100.0));
    let t = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match sync(&pair, &relay.addr.to_string()).await {
            // A sync that returned may still leave revisions unacknowledged (a push cut off by
            // the link): the next one sends only those.
            Ok(_) if nothing_unacknowledged(&pair) => break,
            Ok(_) => {}
            Err(e) if t.elapsed() > Duration::from_secs(300) => return Err(e),
            Err(e) => progress(&format!("第 {attempts} 次同步失败：{e}；重试")),
        }
    }
    let seconds = t.elapsed().as_secs_f64();
    let (forwarded, dropped, reordered) = (relay.stats.datagrams(), relay.stats.dropped(), relay.stats.reordered());
    drop(relay);
    hub.stop();
    let held = pair.hub_dir.open_store()?.revision_count();
    if held != n {
        return Err(HubError::Invalid(format!("平台收到 {held} 条修订，应为 {n} 条")));
    }
    Ok(LossBench {
        revisions: n as u64,
        loss_percent: opts.loss * 100.0,
        reorder_percent: opts.reorder * 100.0,
        seconds,
        attempts,
        datagrams_forwarded: forwarded,
        datagrams_dropped: dropped,
        datagrams_reordered: reordered,
        target_seconds: 30.0,
    })
}

/// Whether the node has nothing left to send (`status`'s derived `unacknowledged` is 0).
fn nothing_unacknowledged(p: &Pair) -> bool {
    baoxue_node::sync::sync_status(&p.node).map(|s| s.unacknowledged == 0).unwrap_or(false)
}

/// The Chinese summary of [`LossBench`].
pub fn loss_text(b: &LossBench) -> String {
    format!(
        "丢包链路同步基准（经 UDP 中继，每个方向丢弃 {:.0}%，乱序 {:.0}%）：{} 条修订首次同步 {:.2} 秒（目标 {:.0} 秒内），同步 {} 次；转发 {} 个数据报，丢弃 {}，乱序 {}",
        b.loss_percent,
        b.reorder_percent,
        b.revisions,
        b.seconds,
        b.target_seconds,
        b.attempts,
        b.datagrams_forwarded,
        b.datagrams_dropped,
        b.datagrams_reordered
    )
}

/// What the store's per-value AEAD costs, measured on its own: sealing and opening `n` values
/// of `bytes` each with a store key (AES-256-GCM, ring), and one keyed index hash a value.
#[derive(Debug, Clone, Serialize)]
pub struct AeadCost {
    pub values: u64,
    pub bytes_per_value: u64,
    pub seal_seconds: f64,
    pub open_seconds: f64,
    pub hash_seconds: f64,
}

pub fn aead_cost(n: usize, bytes: usize) -> AeadCost {
    let key = baoxue_store::crypt::StoreKey::from_bytes(
        &[7u8; 32],
        baoxue_store::crypt::KeyOrigin::File { path: "bench".into(), created: false },
    );
    let plain = vec![0x5au8; bytes.max(1)];
    let aad = b"r/0123456789abcdef";
    let t = Instant::now();
    let sealed: Vec<Vec<u8>> = (0..n).map(|_| key.seal(aad, &plain)).collect();
    let seal_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut ok = 0usize;
    for s in &sealed {
        ok += key.open(aad, s).map(|v| v.len()).unwrap_or(0);
    }
    let open_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut h = 0u8;
    for i in 0..n {
        h ^= key.index_hash(&(i as u64).to_le_bytes())[0];
    }
    let hash_seconds = t.elapsed().as_secs_f64();
    std::hint::black_box((ok, h));
    AeadCost { values: n as u64, bytes_per_value: bytes as u64, seal_seconds, open_seconds, hash_seconds }
}
