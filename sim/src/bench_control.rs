//! `bench control`: what stalled clients on a serving hub's control socket do to a staff
//! command (issue 14, point 3: 500 of them once delayed `stats` by 21 s). Opens N connections
//! that never send a request, then times `stats --json` — the real command line, in its own
//! process — once at once (answered or refused), and retrying until it is answered.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use baoxue_hub::data::{HubDir, HubError, Result};
use serde::Serialize;

use crate::bench::HubProcess;

#[derive(Debug, Clone, Serialize)]
pub struct ControlBench {
    pub stalled: usize,
    /// Stalled connections the socket accepted.
    pub connected: usize,
    /// `stats` with no stalled client, ms (median of 5).
    pub idle_ms: f64,
    /// The first `stats` among the stalled clients: its wall time, ms, and whether it was
    /// answered (false: refused at once as busy).
    pub first_ms: f64,
    pub first_answered: bool,
    /// Its one line on stderr, if refused.
    pub first_refusal: Option<String>,
    /// Retrying every 200 ms: time until `stats` is answered, ms.
    pub answered_after_ms: f64,
    pub attempts: u32,
}

fn stats_call(exe: &std::path::Path, dir: &HubDir) -> Result<(f64, bool, String)> {
    let t = Instant::now();
    let out = std::process::Command::new(exe)
        .args(["hub", "--data"])
        .arg(&dir.root)
        .args(["stats", "--json"])
        .env("BAOXUE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| HubError::Io { path: exe.to_path_buf(), source })?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    Ok((ms, out.status.success(), String::from_utf8_lossy(&out.stderr).trim().to_string()))
}

/// Runs it on a small county in a temporary directory.
pub fn run(stalled: usize, progress: impl Fn(&str)) -> Result<ControlBench> {
    let root = std::env::temp_dir().join(format!("baoxue-bench-control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let result = run_in(&root, stalled, progress);
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn run_in(root: &std::path::Path, stalled: usize, progress: impl Fn(&str)) -> Result<ControlBench> {
    let io = |source| HubError::Io { path: root.to_path_buf(), source };
    let exe = std::env::current_exe().map_err(io)?;
    let dir = HubDir::new(&root.join("hub"));
    dir.init("410329", "基准县", None, Some("127.0.0.1:7443"))?;
    let org = "乡镇,学校,类型\n城关,城关小学,小学\n";
    dir.import_org(None, org.as_bytes(), std::path::Path::new("org.csv"), &[])?;
    let hub = HubProcess::start_with(&dir, None, &[])?;
    let sock = dir.root.join(baoxue_hub::control::SOCKET);

    let mut idle = Vec::new();
    for _ in 0..5 {
        let (ms, ok, err) = stats_call(&exe, &dir)?;
        if !ok {
            return Err(HubError::Invalid(format!("stats 未成功：{err}")));
        }
        idle.push(ms);
    }
    idle.sort_by(|a, b| a.total_cmp(b));

    progress(&format!("打开 {stalled} 个不发请求的连接……"));
    let mut held = Vec::with_capacity(stalled);
    for _ in 0..stalled {
        match UnixStream::connect(&sock) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    let connected = held.len();
    let (first_ms, first_answered, refusal) = stats_call(&exe, &dir)?;
    let t = Instant::now();
    let mut attempts = 1u32;
    let mut answered = first_answered;
    while !answered && t.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(200));
        attempts += 1;
        answered = stats_call(&exe, &dir)?.1;
    }
    let answered_after_ms = if first_answered { first_ms } else { first_ms + t.elapsed().as_secs_f64() * 1000.0 };
    drop(held);
    hub.stop();
    Ok(ControlBench {
        stalled,
        connected,
        idle_ms: idle[idle.len() / 2],
        first_ms,
        first_answered,
        first_refusal: (!first_answered).then_some(refusal),
        answered_after_ms,
        attempts,
    })
}

/// The Chinese summary.
pub fn describe(b: &ControlBench) -> String {
    format!(
        "控制通道基准：{} 个不发请求的连接（接受 {}）；无干扰时 stats {:.0} 毫秒；有干扰时首次 stats {:.0} 毫秒{}；每 200 毫秒重试，{:.1} 秒后得到答复（{} 次）",
        b.stalled,
        b.connected,
        b.idle_ms,
        b.first_ms,
        if b.first_answered {
            "，已答复".to_string()
        } else {
            format!("，立即拒绝（{}）", b.first_refusal.clone().unwrap_or_default())
        },
        b.answered_after_ms / 1000.0,
        b.attempts
    )
}
