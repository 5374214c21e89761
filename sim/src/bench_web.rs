//! `bench web`: the county dashboard's server time on a large county (issue 12 point 9).
//!
//! Builds a hub data directory (`baoxue-hub init`'s files, 伊川's policy) whose keyed store is
//! filled with the synthetic county of `bench nightly` ([`bench_nightly::build_into`]), starts a
//! real hub process serving the app (`baoxue-sim hub serve --web …`, as `bench sync` runs its
//! hubs; `BAOXUE_TODAY` set to the day the synthetic year's figures are for), adds an account,
//! logs in over HTTP (login form, CSRF, the first-login password change) and requests each page
//! K times on loopback: the dashboard, the township list, the township table, a township, a
//! school's page with its cases, the school's case list, a case page, and the township table as
//! .xlsx. It prints p50/p95/max per page (wall time from sending the request to the last byte,
//! one connection per request: on loopback that is the server's time plus well under a
//! millisecond). Figures, not a timed test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use baoxue_hub::data::HubDir;
use serde::Serialize;

use crate::bench::{cpu_seconds_of, load_average, HubProcess};
use crate::bench_nightly;
use crate::http::Client;

/// The day the synthetic school year's figures are read for (as `bench nightly`'s last run).
pub const BENCH_DAY: &str = "2026-07-07";
const LOGIN: &str = "bench";
const PASSWORD: &str = "bench-web-Passw0rd";

#[derive(Debug, Clone)]
pub struct WebBenchOptions {
    pub students: usize,
    pub revisions: usize,
    /// Requests per page (after one warm-up request each).
    pub rounds: usize,
    /// Where to build the hub directory and keep it (reused when it already holds one);
    /// default: a temporary directory, removed afterwards.
    pub dir: Option<PathBuf>,
    pub progress: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageTiming {
    pub page: String,
    pub path: String,
    pub requests: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Size of the response body.
    pub bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebBench {
    /// Students and cases built (0 when `--dir` reused a built directory).
    pub students: usize,
    pub revisions: u64,
    pub cases: usize,
    pub townships: usize,
    pub schools: usize,
    /// 0 when an existing directory was reused.
    pub build_seconds: f64,
    /// From starting the hub to the first page with figures (the view's first computation:
    /// the snapshot rebuilt from the store when there is none yet).
    pub first_view_seconds: f64,
    pub rounds: usize,
    pub pages: Vec<PageTiming>,
    /// The township table as .xlsx (download of `/reports/township-table/xlsx`).
    pub township_table_xlsx: PageTiming,
    pub target_p95_ms: f64,
    /// Every page's p95 (the .xlsx included) under the target.
    pub within_target: bool,
    /// CPU seconds the hub process spent serving the timed requests.
    pub hub_cpu_seconds: f64,
    /// 1-minute load average (`/proc/loadavg`) before and after the timed requests.
    pub load_average_before: f64,
    pub load_average_after: f64,
}

fn say(opts: &WebBenchOptions, m: &str) {
    if opts.progress {
        eprintln!("[bench web] {m}");
    }
}

/// The hub directory of a bench directory, built unless already there. Returns what was built.
fn prepare(root: &Path, opts: &WebBenchOptions) -> Result<Option<bench_nightly::Built>> {
    let dir = HubDir::new(&root.join("hub"));
    if dir.is_initialised() && !dir.org()?.townships.is_empty() {
        say(opts, &format!("使用已有的基准数据 {}", dir.root.display()));
        return Ok(None);
    }
    if dir.root.exists() {
        // A build cut short: start over.
        std::fs::remove_dir_all(&dir.root).with_context(|| format!("无法清除 {}", dir.root.display()))?;
    }
    std::fs::create_dir_all(root).with_context(|| format!("无法创建目录 {}", root.display()))?;
    dir.init(bench_nightly_area(), "伊川县", Some("yichuan"), Some("127.0.0.1:7443"))?;
    let store = dir.open_store()?;
    say(opts, &format!("生成 {} 名学生、约 {} 条修订的县……", opts.students, opts.revisions));
    let built = bench_nightly::build_into(&store, opts.students, opts.revisions, 2019, opts.progress)?;
    store.flush()?;
    drop(store);
    let csv = built.org.to_csv();
    dir.import_org(None, csv.as_bytes(), Path::new("org.csv"), &[])?;
    Ok(Some(built))
}

fn bench_nightly_area() -> &'static str {
    crate::demo::synth::AREA
}

/// A free loopback TCP port.
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("无法分配本机端口")?;
    Ok(l.local_addr()?.port())
}

/// The value of `name="NAME" value="…"` in a page (the CSRF field).
fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_string())
}

/// Every `href="PREFIX…"` of a page, in order, without repeats.
fn links(html: &str, prefix: &str) -> Vec<String> {
    let pat = format!("href=\"{prefix}");
    let mut out: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(i) = html[from..].find(&pat) {
        let start = from + i + 6;
        let Some(len) = html[start..].find('"') else { break };
        let l = html[start..start + len].replace("&amp;", "&");
        if !out.contains(&l) {
            out.push(l);
        }
        from = start + len;
    }
    out
}

/// Logs in with the one-time password and sets the bench password (the first-login change).
fn log_in(c: &mut Client, otp: &str) -> Result<()> {
    let page = c.get("/login")?;
    let csrf = field_value(&page.text(), "_csrf").ok_or_else(|| anyhow!("登录页没有 CSRF 字段"))?;
    let r = c.post_form("/login", &[("_csrf", &csrf), ("login", LOGIN), ("password", otp), ("next", "/")])?;
    anyhow::ensure!(r.status == 303 || r.status == 302, "登录失败：HTTP {}", r.status);
    let page = c.get("/password")?;
    let csrf = field_value(&page.text(), "_csrf").ok_or_else(|| anyhow!("改密页没有 CSRF 字段"))?;
    let r = c.post_form("/password", &[("_csrf", &csrf), ("new", PASSWORD), ("again", PASSWORD)])?;
    anyhow::ensure!(r.status == 303 || r.status == 302, "修改密码失败：HTTP {}：{}", r.status, r.text());
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn time_page(c: &mut Client, page: &str, path: &str, rounds: usize) -> Result<PageTiming> {
    let warm = c.get(path)?;
    anyhow::ensure!(warm.status == 200, "{page}（{path}）：HTTP {}", warm.status);
    // A page with the county's figures (it carries their time), or a workbook (a zip).
    let is_xlsx = path.ends_with("/xlsx");
    anyhow::ensure!(
        if is_xlsx { warm.body.starts_with(b"PK") } else { warm.text().contains("data-log=") },
        "{page}（{path}）不是预期的页面或文件"
    );
    let mut ms = Vec::with_capacity(rounds);
    let mut bytes = warm.body.len();
    for _ in 0..rounds {
        let t = Instant::now();
        let r = c.get(path)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(r.status == 200, "{page}（{path}）：HTTP {}", r.status);
        bytes = r.body.len();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok(PageTiming {
        page: page.to_string(),
        path: path.to_string(),
        requests: rounds,
        p50_ms: percentile(&ms, 0.50),
        p95_ms: percentile(&ms, 0.95),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
        bytes,
    })
}

/// Runs the benchmark.
pub fn run(opts: &WebBenchOptions) -> Result<WebBench> {
    let (root, temporary) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("baoxue-bench-web-{}", std::process::id())), true),
    };
    let result = run_in(&root, opts);
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn run_in(root: &Path, opts: &WebBenchOptions) -> Result<WebBench> {
    let t = Instant::now();
    let built = prepare(root, opts)?;
    let build_seconds = if built.is_some() { t.elapsed().as_secs_f64() } else { 0.0 };
    let dir = HubDir::new(&root.join("hub"));
    // The account: added, or reset when a reused directory has it already.
    let cmd = baoxue_hub::web::accounts::UserCmd::Add {
        login: LOGIN.into(),
        name: "基准测试".into(),
        role: "admin".into(),
        township: None,
    };
    let out = match baoxue_hub::web::accounts::run(&dir, &cmd) {
        Ok(o) => o,
        Err(_) => {
            baoxue_hub::web::accounts::run(&dir, &baoxue_hub::web::accounts::UserCmd::Reset { login: LOGIN.into() })?
        }
    };
    let otp = out
        .lines()
        .find_map(|l| l.strip_prefix("一次性密码："))
        .map(str::trim)
        .ok_or_else(|| anyhow!("添加账户未给出一次性密码"))?
        .to_string();

    let web = format!("127.0.0.1:{}", free_port()?);
    say(opts, &format!("启动县级平台（看板 {web}）……"));
    let t = Instant::now();
    let hub = HubProcess::start_with(&dir, Some(&web), &[(baoxue_shared::dates::TODAY_ENV, BENCH_DAY)])?;
    let mut c = Client::new(&web);
    // The web port opens after the sync endpoint.
    loop {
        if std::net::TcpStream::connect(&web).is_ok() {
            break;
        }
        anyhow::ensure!(t.elapsed() < Duration::from_secs(60), "看板 60 秒内未开始监听");
        std::thread::sleep(Duration::from_millis(50));
    }
    log_in(&mut c, &otp)?;
    say(opts, "等待首次计算完成……");
    loop {
        let r = c.get("/")?;
        if r.status == 200 && r.text().contains("data-log=") {
            break;
        }
        anyhow::ensure!(t.elapsed() < Duration::from_secs(1800), "首次计算 30 分钟内未完成（HTTP {}）", r.status);
        std::thread::sleep(Duration::from_millis(200));
    }
    let first_view_seconds = t.elapsed().as_secs_f64();

    // What to request: the first township; its school with the most cases; that school's first case.
    let towns = c.get("/t")?.text();
    let town = links(&towns, "/t/")
        .into_iter()
        .find(|l| l.matches('/').count() == 2)
        .ok_or_else(|| anyhow!("乡镇列表没有乡镇"))?;
    let town_page = c.get(&town)?.text();
    let mut best: Option<(usize, String, String)> = None;
    for s in links(&town_page, &format!("{town}/")) {
        let page = c.get(&s)?.text();
        let cases = links(&page, "/case/");
        if let Some(first) = cases.first() {
            if best.as_ref().is_none_or(|b| cases.len() > b.0) {
                best = Some((cases.len(), s.clone(), first.clone()));
            }
        }
    }
    let (_, school, case) = best.ok_or_else(|| anyhow!("{town} 的学校都没有案件"))?;
    // Names in links are already percent-encoded.
    let school_name = school.rsplit('/').next().unwrap_or("").to_string();
    let school_cases = format!("/cases?school={school_name}");

    say(opts, &format!("计时：每页 {} 次……", opts.rounds));
    let load_average_before = load_average();
    let cpu = |h: &HubProcess| cpu_seconds_of(&format!("/proc/{}/stat", h.child.id()));
    let cpu0 = cpu(&hub);
    let mut pages = Vec::new();
    for (name, path) in [
        ("dashboard", "/".to_string()),
        ("townships", "/t".to_string()),
        ("township_table", "/reports/township-table".to_string()),
        ("township", town.clone()),
        ("school", school.clone()),
        ("school_case_list", school_cases),
        ("case", case.clone()),
    ] {
        pages.push(time_page(&mut c, name, &path, opts.rounds)?);
    }
    let xlsx = time_page(&mut c, "township_table_xlsx", "/reports/township-table/xlsx", opts.rounds)?;
    let hub_cpu_seconds = cpu(&hub) - cpu0;
    let load_average_after = load_average();
    hub.stop();

    let target_p95_ms = 100.0;
    let within_target = pages.iter().chain([&xlsx]).all(|p| p.p95_ms < target_p95_ms);
    let (students, revisions, cases, townships, schools) = match &built {
        Some(b) => (b.students, b.revisions, b.cases, b.org.townships.len(), b.org.schools.len()),
        None => {
            let org = dir.org()?;
            let store = dir.open_store()?;
            (0, store.revision_count() as u64, 0, org.townships.len(), org.schools.len())
        }
    };
    Ok(WebBench {
        students,
        revisions,
        cases,
        townships,
        schools,
        build_seconds,
        first_view_seconds,
        rounds: opts.rounds,
        pages,
        township_table_xlsx: xlsx,
        target_p95_ms,
        within_target,
        hub_cpu_seconds,
        load_average_before,
        load_average_after,
    })
}

/// The report in Chinese, for the terminal.
pub fn describe(r: &WebBench) -> String {
    let mut s = format!(
        "县级看板基准：{} 名学生、{} 条修订、{} 件个案、{} 个乡镇、{} 所学校（生成 {:.1} 秒；首次计算 {:.1} 秒）\n每页 {} 次请求（本机回环，每次新连接）：\n",
        r.students,
        r.revisions,
        r.cases,
        r.townships,
        r.schools,
        r.build_seconds,
        r.first_view_seconds,
        r.rounds
    );
    for p in r.pages.iter().chain([&r.township_table_xlsx]) {
        s.push_str(&format!(
            "  {:<20} p50 {:>7.1} 毫秒  p95 {:>7.1} 毫秒  最长 {:>7.1} 毫秒  {} 字节  {}\n",
            p.page, p.p50_ms, p.p95_ms, p.max_ms, p.bytes, p.path
        ));
    }
    s.push_str(&format!(
        "目标 p95 < {} 毫秒：{}；平台 CPU {:.1} 秒；负载 {:.2} → {:.2}",
        r.target_p95_ms,
        if r.within_target { "达标" } else { "未达标" },
        r.hub_cpu_seconds,
        r.load_average_before,
        r.load_average_after
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_and_links() {
        let html = r#"<input type="hidden" name="_csrf" value="abc123"><a href="/t/%E5%9F%8E">城</a>
            <a href="/t/%E5%9F%8E/x">x</a><a href="/t/%E5%9F%8E">again</a><a href="/cases?a=1&amp;b=2">c</a>"#;
        assert_eq!(field_value(html, "_csrf").as_deref(), Some("abc123"));
        assert_eq!(links(html, "/t/"), vec!["/t/%E5%9F%8E", "/t/%E5%9F%8E/x"]);
        assert_eq!(links(html, "/cases"), vec!["/cases?a=1&b=2"]);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.95), 4.0);
    }
}
