//! The simulator's command line: `demo`, `bench sync`, `bench nightly`, `bench web`, `bench control`, `fuzz`, `soak` (docs/CLI.md: reached also as
//! `baoxue-hub demo …` and `baoxue-hub bench …`, which run this binary with the same arguments),
//! and the hidden `hub …`, the hub's own command line, so that the sync benchmark can run a hub
//! in its own process from this binary alone. Exit status: 0 success, 1 the command failed (one
//! clear line on stderr), 2 bad usage (clap).

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::bench_nightly::{self, PhaseKind};
use crate::demo::{self, DemoOptions};

#[derive(Debug, Parser)]
#[command(name = "baoxue-sim", version, about = "控辍保学 模拟器：演示县、同步与夜间汇总基准测试", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// 演示：模拟伊川县，县级平台与各乡镇节点经本机 QUIC 同步，运行一个学年
    Demo(DemoArgs),
    /// 基准测试
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
    /// 模糊测试：变异与生成的输入投给同步帧、名册/组织机构/人口普查读取器（CSV 与 Excel）、配置包与政策解析器，任一 panic 即失败
    Fuzz(FuzzArgs),
    /// 浸泡测试：真实的平台与节点进程经丢包乱序的中继同步 N 分钟，随机 kill -9 节点与平台、时钟偏移，最后检查不变量
    Soak(SoakArgs),
    /// （内部）县级平台的命令行，如 hub --data DIR serve：基准测试在单独的进程中运行平台
    #[command(hide = true)]
    Hub {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<OsString>,
    },
}

/// `demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// 乡镇数（默认 15，伊川县的乡镇）
    #[arg(long, default_value_t = 15)]
    pub townships: usize,
    /// 学生数（约数）
    #[arg(long, default_value_t = 60_000)]
    pub students: usize,
    /// 保留数据目录于此（默认用临时目录，结束后删除）
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// 随机种子（同一种子得到同一个县）
    #[arg(long, default_value_t = 2019)]
    pub seed: u64,
    /// 政策预设或政策文件（默认：沙坡头的个案与问责规则＋伊川的月报）
    #[arg(long, value_name = "PRESET|FILE")]
    pub policy: Option<String>,
    /// 演示结束后继续运行县级平台与县级看板，打印登录名与一次性密码（Ctrl-C 结束）
    #[arg(long)]
    pub serve: bool,
    /// 县级看板地址（与 --serve 同用）
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7480")]
    pub web: String,
}

/// `soak`
#[derive(Debug, Args)]
pub struct SoakArgs {
    #[arg(long, default_value_t = 15)]
    pub nodes: usize,
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    #[arg(long, default_value_t = 14)]
    pub seed: u64,
    /// 保留数据目录于此（默认临时目录，结束后删除）
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// `fuzz`
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// 每个对象的用例数
    #[arg(long, default_value_t = 10_000)]
    pub cases: u64,
    /// 随机种子（同一种子得到同样的用例）
    #[arg(long, default_value_t = 14)]
    pub seed: u64,
    /// 对象：frame、roster、org、census、xlsx、bundle、policy（逗号分隔）或 all
    #[arg(long, default_value = "all")]
    pub target: String,
    /// 复现输入保存到此目录（默认当前目录下 fuzz-findings）
    #[arg(long, value_name = "DIR", default_value = "fuzz-findings")]
    pub out: PathBuf,
    /// 只运行一个保存的输入（与 --target 的单个对象同用）
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// 夜间汇总基准：N 名学生、M 条修订的县，测量汇总耗时与峰值内存
    Nightly(BenchNightlyArgs),
    /// 县级看板基准：N 名学生的县，各页面服务端耗时 p50/p95 与乡镇表 .xlsx 生成耗时
    Web(BenchWebArgs),
    /// 同步基准：N 条修订首次同步到空平台、线上字节、空同步耗时
    Sync {
        #[arg(long, default_value_t = 100_000)]
        revisions: usize,
        #[arg(long)]
        json: bool,
        /// 在此目录建库（默认临时目录，结束后删除）
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// 经 UDP 中继、每个方向丢弃此百分比的数据报做首次同步（只测这一项；如 --revisions 2000 --loss 10）
        #[arg(long, value_name = "PCT", value_parser = percent)]
        loss: Option<f64>,
        /// 与 --loss 同用：每个方向此百分比的数据报延后 1–30 毫秒（乱序）
        #[arg(long, value_name = "PCT", value_parser = percent, default_value_t = 0.0)]
        reorder: f64,
        /// 中继的随机种子（与 --loss 同用）
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// 控制通道基准：N 个不发请求的连接占着平台的本机命令通道时，stats 的耗时
    Control {
        #[arg(long, default_value_t = 500)]
        stalled: usize,
        #[arg(long)]
        json: bool,
    },
}

/// A percentage 0–100 as a share 0.0–1.0.
fn percent(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim_end_matches('%').parse().map_err(|_| format!("不是百分数：{s}"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("百分数须在 0 到 100 之间：{s}"));
    }
    Ok(v / 100.0)
}

/// `bench nightly`
#[derive(Debug, Args)]
pub struct BenchNightlyArgs {
    #[arg(long, default_value_t = 300_000)]
    pub students: usize,
    #[arg(long, default_value_t = 3_000_000)]
    pub revisions: usize,
    #[arg(long)]
    pub json: bool,
    /// 在此目录建库并保留（已有则直接测量）；默认临时目录，结束后删除
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// （内部）只在已建好的目录上执行一个阶段，输出 JSON
    #[arg(long, value_name = "DIR", hide = true)]
    pub measure: Option<PathBuf>,
    #[arg(long, hide = true, default_value = "cold")]
    pub phase: String,
}

/// `bench web`
#[derive(Debug, Args)]
pub struct BenchWebArgs {
    #[arg(long, default_value_t = 300_000)]
    pub students: usize,
    #[arg(long, default_value_t = 3_000_000)]
    pub revisions: usize,
    /// 每页请求次数（另有一次预热）
    #[arg(long, default_value_t = 100)]
    pub rounds: usize,
    #[arg(long)]
    pub json: bool,
    /// 在此目录建库并保留（已有则直接测量）；默认临时目录，结束后删除
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn demo(a: DemoArgs) -> Result<()> {
    // Serving needs the data kept: a directory of its own unless --keep names one.
    let keep = match (&a.keep, a.serve) {
        (None, true) => Some(std::env::temp_dir().join(format!("baoxue-demo-serve-{}", std::process::id()))),
        (k, _) => k.clone(),
    };
    let out = demo::run(&DemoOptions {
        townships: a.townships,
        students: a.students,
        keep: keep.clone(),
        seed: a.seed,
        policy: a.policy,
        progress: true,
    })?;
    emit(&out.text);
    if let (true, Some(dir)) = (a.serve, keep) {
        let hub = dir.join("hub");
        let user = baoxue_hub::web::accounts::UserCmd::Add {
            login: "demo".into(),
            name: "演示用户".into(),
            role: "admin".into(),
            township: None,
        };
        let added = baoxue_hub::web::accounts::run(&baoxue_hub::data::HubDir::new(&hub), &user)?;
        emit(&format!("\n演示数据保留在 {}\n县级看板登录名 demo（教育局管理员）\n{added}", dir.display()));
        let argv =
            ["baoxue-hub", "--data", &hub.to_string_lossy(), "serve", "--listen", "127.0.0.1:0", "--web", &a.web];
        let code = baoxue_hub::cli::main_from(argv.iter().map(OsString::from));
        if code != std::process::ExitCode::SUCCESS {
            return Err(anyhow!("县级平台未能启动"));
        }
    }
    Ok(())
}

fn bench_nightly(a: BenchNightlyArgs) -> Result<()> {
    if let Some(dir) = &a.measure {
        let phase: PhaseKind = a.phase.parse().map_err(|e: String| anyhow!(e))?;
        let m = bench_nightly::measure(dir, phase)?;
        emit(&(serde_json::to_string(&m)? + "\n"));
        return Ok(());
    }
    let opts = bench_nightly::BenchOptions {
        students: a.students,
        revisions: a.revisions,
        seed: 2019,
        dir: a.dir,
        progress: !a.json,
    };
    let exe = std::env::current_exe().ok();
    let r = bench_nightly::run(&opts, exe.as_deref())?;
    if a.json {
        emit(&(serde_json::to_string_pretty(&r)? + "\n"));
    } else {
        emit(&(bench_nightly::describe(&r) + "\n"));
    }
    Ok(())
}

fn bench_web(a: BenchWebArgs) -> Result<()> {
    let opts = crate::bench_web::WebBenchOptions {
        students: a.students,
        revisions: a.revisions,
        rounds: a.rounds.max(1),
        dir: a.dir,
        progress: !a.json,
    };
    let r = crate::bench_web::run(&opts)?;
    if a.json {
        emit(&(serde_json::to_string_pretty(&r)? + "\n"));
    } else {
        emit(&(crate::bench_web::describe(&r) + "\n"));
    }
    Ok(())
}

fn bench_sync(revisions: usize, json: bool, dir: Option<PathBuf>) -> Result<()> {
    let opts = crate::bench::BenchOptions { revisions, dir };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("无法启动异步运行时")?;
    let b = rt.block_on(crate::bench::run(&opts, |m| {
        if !json {
            eprintln!("{m}");
        }
    }))?;
    if json {
        emit(&(serde_json::to_string_pretty(&b)? + "\n"));
    } else {
        emit(&(crate::bench::to_text(&b) + "\n"));
    }
    Ok(())
}

fn fuzz(a: FuzzArgs) -> Result<()> {
    let targets = crate::fuzz::Target::parse_list(&a.target).map_err(|e| anyhow!(e))?;
    if let Some(file) = &a.replay {
        let [t] = targets[..] else {
            return Err(anyhow!("--replay 须与单个 --target 同用"));
        };
        let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
        return match crate::fuzz::replay(t, &bytes) {
            None => {
                emit(&format!("{}：{} 未触发 panic\n", t.name(), file.display()));
                Ok(())
            }
            Some(m) => Err(anyhow!("{}：{} 触发 panic：{m}", t.name(), file.display())),
        };
    }
    let opts = crate::fuzz::FuzzOptions { cases: a.cases, seed: a.seed, targets, out: a.out, progress: !a.json };
    let r = crate::fuzz::run(&opts, |m| eprintln!("{m}")).context("模糊测试无法运行")?;
    if a.json {
        emit(&(serde_json::to_string_pretty(&r)? + "\n"));
    } else {
        emit(&(crate::fuzz::describe(&r) + "\n"));
    }
    if r.total_panics > 0 {
        return Err(anyhow!("模糊测试发现 {} 个 panic（复现输入已保存）", r.total_panics));
    }
    Ok(())
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Demo(a) => demo(a),
        Cmd::Bench { cmd: BenchCmd::Nightly(a) } => bench_nightly(a),
        Cmd::Bench { cmd: BenchCmd::Web(a) } => bench_web(a),
        Cmd::Bench { cmd: BenchCmd::Sync { revisions, json, dir, loss: Some(loss), reorder, seed } } => {
            let opts = crate::bench::LossOptions { revisions, loss, reorder, seed, dir };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("无法启动异步运行时")?;
            let b = rt.block_on(crate::bench::run_loss(&opts, |m| {
                if !json {
                    eprintln!("{m}");
                }
            }))?;
            emit(&(if json { serde_json::to_string_pretty(&b)? } else { crate::bench::loss_text(&b) } + "\n"));
            Ok(())
        }
        Cmd::Bench { cmd: BenchCmd::Sync { revisions, json, dir, loss: None, .. } } => bench_sync(revisions, json, dir),
        Cmd::Bench { cmd: BenchCmd::Control { stalled, json } } => {
            let b = crate::bench_control::run(stalled, |m| {
                if !json {
                    eprintln!("{m}");
                }
            })?;
            emit(&(if json { serde_json::to_string_pretty(&b)? } else { crate::bench_control::describe(&b) } + "\n"));
            Ok(())
        }
        Cmd::Fuzz(a) => fuzz(a),
        Cmd::Soak(a) => {
            let opts = crate::soak::SoakOptions {
                nodes: a.nodes,
                minutes: a.minutes,
                seed: a.seed,
                keep: a.keep,
                progress: !a.json,
            };
            let r = crate::soak::run(&opts, |m| eprintln!("{m}"))?;
            emit(&(if a.json { serde_json::to_string_pretty(&r)? } else { crate::soak::describe(&r) } + "\n"));
            if !r.violations.is_empty() {
                return Err(anyhow!("浸泡测试发现 {} 处违反不变量", r.violations.len()));
            }
            Ok(())
        }
        Cmd::Hub { .. } => Err(anyhow!("hub 子命令只能从命令行运行")),
    }
}

/// The binary's entry: parse, run, print one clear line on failure.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Cmd::Hub { args } = cli.cmd {
        let argv = std::iter::once(OsString::from("baoxue-hub")).chain(args);
        return baoxue_hub::cli::main_from(argv);
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{}", format!("{e:#}").lines().collect::<Vec<_>>().join("；"));
            std::process::ExitCode::from(1)
        }
    }
}
