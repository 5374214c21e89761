//! The hub's command line (docs/CLI.md "Hub"): argument definitions and dispatch. Exit status: 0
//! success, 1 the command failed (one clear line on stderr), 2 bad usage (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};

use crate::data::HubDir;

#[derive(Debug, Parser)]
#[command(name = "baoxue-hub", version, about = "控辍保学 县级平台：汇总各乡镇节点、冲突裁定、报表与预警", long_about = None)]
pub struct Cli {
    /// 数据目录（默认：环境变量 BAOXUE_DATA，否则用户数据目录下的 baoxue-hub）
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// 新建县级平台：县 CA、平台证书、政策
    Init {
        #[arg(long, value_name = "CODE")]
        county_code: String,
        #[arg(long, value_name = "NAME")]
        name: String,
        /// 政策预设（shapotou、yaoan、lipu、feicheng、yichuan）或政策文件
        #[arg(long, value_name = "PRESET|FILE")]
        policy: Option<String>,
        /// 节点连接平台所用的 主机:端口（写入每个节点的配置包）
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
    },
    /// 组织机构（乡镇与学校）
    Org {
        #[command(subcommand)]
        cmd: OrgCmd,
    },
    /// 更换全县政策（节点在下次同步时收到）
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// 节点：签发、吊销、列表
    Node {
        #[command(subcommand)]
        cmd: NodeCmd,
    },
    /// 备份：数据库与配置写成一个加密文件（县级备份公钥，age 格式）；平台运行中也可执行
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// 从备份恢复到新的或空的数据目录（需县级备份私钥）；各节点下次同步时自动重新核对
    Restore {
        file: PathBuf,
        /// 县级备份私钥文件（init 时生成）
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
    },
    /// 显示县级备份公钥（没有则生成一对，私钥写在数据目录旁，请移到离线介质）
    BackupKey,
    /// 平台数据统计
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// 接受各节点同步（QUIC，双向证书），并在政策规定的时间做夜间汇总
    Serve {
        #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:7443")]
        listen: String,
        /// 不做夜间汇总（仅供基准测试：只测同步）
        #[arg(long, hide = true)]
        no_nightly: bool,
        #[command(flatten)]
        web: crate::web::WebArgs,
    },
    /// 县级看板的网页账户：添加、重置密码、停用、列出
    #[command(subcommand)]
    User(crate::web::accounts::UserCmd),
    /// 并发修改冲突：列出，或裁定（conflicts resolve）
    Conflicts {
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        cmd: Option<ConflictsCmd>,
    },
    /// 报表：巩固率、辍学率、各乡镇未返校统计表、月度排名
    Report(crate::county::cmd::ReportArgs),
    /// 截至某日在办的全部预警（个案、学校、乡镇、报送、重复学籍、冲突）
    Alerts(crate::county::cmd::AlertsArgs),
    /// 基线：系统启用前各届的入学、转入、转出、死亡
    Baseline {
        #[command(subcommand)]
        cmd: crate::county::cmd::BaselineCmd,
    },
    /// 名单比对（三比对）：公安、民政、扶贫、残联名单或教育部疑似失学儿童名单
    Census {
        #[command(subcommand)]
        cmd: crate::county::cmd::CensusCmd,
    },
    /// 演示：模拟伊川县，县级平台与各乡镇节点经本机 QUIC 同步，运行一个学年（由 baoxue-sim 执行）
    #[command(disable_help_flag = true)]
    Demo(Simulator),
    /// 基准测试：bench sync、bench nightly（由 baoxue-sim 执行）
    #[command(disable_help_flag = true)]
    Bench(Simulator),
}

/// The arguments of a command the simulator runs, passed on as they are (`baoxue-sim --help`).
#[derive(Debug, clap::Args)]
pub struct Simulator {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "参数")]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// 导入组织机构 CSV（乡镇,学校,类型[,校长,包校领导,乡镇分管领导,乡镇主要领导]）；重新导入即更新
    Import {
        file: PathBuf,
        /// 确认删除文件中删去的、仍有节点/学生/个案的乡镇或学校（可多次给出）
        #[arg(long, value_name = "NAME")]
        remove: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// 预设名称或政策文件
    Set { policy: String },
    /// 载入国务院办公厅节假日安排通知（TOML，格式同内置 holidays-cn.toml），替换其中各年
    Holidays { file: PathBuf },
    /// 登记本县临时停课（如雪天停课）：这些天不上学，不计入任何时限，不能记缺勤
    Closure {
        /// 停课原因（如：雪天停课）
        #[arg(long, value_name = "NAME")]
        name: String,
        /// 第一天 YYYY-MM-DD
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: String,
        /// 最后一天 YYYY-MM-DD（默认同 --from）
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeCmd {
    /// 签发节点证书，写出节点配置包
    Add {
        name: String,
        #[arg(long, value_name = "T")]
        township: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// 配置包中的平台地址（默认用 init --addr）
        #[arg(long, value_name = "HOST:PORT")]
        hub: Option<String>,
    },
    /// 吊销节点：此后不能再连接
    Revoke { name: String },
    /// 节点列表：乡镇、最近同步
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// 裁定：保留一个值（修订编号或取值文字），写入一条取代所有并发值的修订
    Resolve {
        /// 记录编号（前缀）、学籍号或身份证号
        id: String,
        #[arg(long, value_name = "VALUE-OR-REVISION")]
        keep: String,
        /// 只看这个字段（如 phone、status）
        #[arg(long)]
        field: Option<String>,
        #[arg(long, visible_alias = "operator", value_name = "NAME")]
        by: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// `--data`, else `BAOXUE_DATA`, else the per-user data directory.
pub fn data_dir(given: Option<PathBuf>) -> PathBuf {
    if let Some(d) = given {
        return d;
    }
    if let Some(d) = std::env::var_os("BAOXUE_DATA").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("baoxue-hub");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local").join("share").join("baoxue-hub"),
        None => PathBuf::from("baoxue-hub-data"),
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    crate::out::stdout(&(serde_json::to_string_pretty(v)? + "\n"));
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("无法启动异步运行时")
}

fn operator(given: Option<String>) -> String {
    given
        .or_else(crate::out::operator_env)
        .or_else(|| std::env::var("USER").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "县级平台".into())
}

fn parse_listen(s: &str) -> Result<SocketAddr> {
    s.parse().map_err(|_| anyhow!("监听地址“{s}”无效（应为 IP:端口，如 0.0.0.0:7443）"))
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let dir = HubDir::new(&data_dir(cli.data));
    match cli.cmd {
        Cmd::Init { county_code, name, policy, addr } => {
            let done = dir.init(&county_code, &name, policy.as_deref(), addr.as_deref())?;
            crate::say!(
                "已建立 {}（{}）县级平台，数据目录 {}\n政策：{}；节点连接地址：{}\n县 CA 私钥在 {}（已加密），请用 backup 离线备份并妥善保管",
                done.config.county_name,
                done.config.county_code,
                dir.root.display(),
                done.config.policy,
                done.config.addr,
                done.ca_path.display()
            );
            crate::say!("数据加密密钥：{}", done.key_origin);
            if let Some(w) = done.key_origin.warning() {
                eprintln!("{w}");
            }
            if let (Some(p), Some(r)) = (&done.backup_identity, &done.config.backup_recipient) {
                crate::say!(
                    "县级备份公钥：{r}\n县级备份私钥在 {}：请立即移到离线介质保存并从本机删除，恢复任何备份都需要它",
                    p.display()
                );
            }
        }
        Cmd::Backup { out } => {
            let out = crate::out::resolve(&out);
            let (n, _) = dir.backup(&out)?;
            crate::say!(
                "已备份县级平台：{} 条修订及配置、证书，写入 {}（已用县级备份公钥加密）",
                n.revisions,
                out.display()
            );
        }
        Cmd::Restore { file, identity } => {
            let (n, h) = dir.restore(&file, &identity)?;
            crate::say!(
                "已恢复县级平台到 {}：{} 条修订（备份于 {}）；新的数据加密密钥：{}\n各节点下次同步时与平台重新核对，备份之后的记录由节点重新上报",
                dir.root.display(),
                n.revisions,
                h.created,
                dir.key()?.origin()
            );
        }
        Cmd::BackupKey => {
            let (r, created) = dir.backup_recipient()?;
            crate::say!("县级备份公钥：{r}");
            if let Some(p) = created {
                crate::say!("已生成县级备份私钥 {}：请立即移到离线介质保存并从本机删除", p.display());
            }
        }
        Cmd::Org { cmd: OrgCmd::Import { file, remove } } => {
            let file = crate::out::resolve(&file);
            let bytes = std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
            let (t, s, v) = dir.import_org(&bytes, &file, &remove)?;
            crate::say!("已导入组织机构：{t} 个乡镇，{s} 所学校（配置第 {v} 版，各节点下次同步时收到）");
        }
        Cmd::Policy { cmd: PolicyCmd::Set { policy } } => {
            let v = dir.set_policy(&policy)?;
            crate::say!("已更换政策为 {policy}（配置第 {v} 版，各节点下次同步时收到）");
        }
        Cmd::Policy { cmd: PolicyCmd::Holidays { file } } => {
            let table = baoxue_shared::calendar::HolidayTable::load(&file)?;
            let years: Vec<String> = table.years.keys().map(|y| y.to_string()).collect();
            let v = dir.update_policy(|p| p.with_holiday_notice(&table))?;
            crate::say!("已载入 {} 年节假日安排（配置第 {v} 版，各节点下次同步时收到）", years.join("、"));
        }
        Cmd::Policy { cmd: PolicyCmd::Closure { name, from, to } } => {
            let day = |s: &str, flag: &str| {
                baoxue_shared::Date::parse(s)
                    .map_err(|_| anyhow!("{flag} 日期「{s}」无效：应为 YYYY-MM-DD 格式的真实日期"))
            };
            let from_d = day(&from, "--from")?;
            let to_d = match &to {
                Some(t) => day(t, "--to")?,
                None => from_d,
            };
            let c = baoxue_shared::calendar::Closure::new(&name, from_d, to_d)?;
            let v = dir.update_policy(|p| p.with_closure(c))?;
            crate::say!("已登记停课「{name}」{from_d} 至 {to_d}：不计入时限（配置第 {v} 版，各节点下次同步时收到）");
        }
        Cmd::Node { cmd } => node(&dir, cmd)?,
        Cmd::Stats { json } => {
            let store = dir.open_store()?;
            let s = crate::stats::stats(&dir, &store)?;
            if json {
                print_json(&s)?;
            } else {
                crate::say!("{}", crate::stats::to_text(&s));
            }
        }
        Cmd::Serve { listen, no_nightly, web } => {
            let addr = parse_listen(&listen)?;
            init_logging();
            runtime()?.block_on(crate::server::serve(&dir, addr, !no_nightly, Some(&web)))?;
        }
        Cmd::User(u) => crate::say!("{}", crate::web::accounts::run(&dir, &u)?.trim_end()),
        Cmd::Conflicts { json, cmd: None } => {
            let store = dir.open_store()?;
            let rows = crate::conflicts::list(&store, &dir.org()?)?;
            if json {
                print_json(&rows)?;
            } else {
                crate::say!("{}", crate::conflicts::to_text(&rows));
            }
        }
        Cmd::Conflicts { cmd: Some(ConflictsCmd::Resolve { id, keep, field, by, date, json }), .. } => {
            let date = match date {
                Some(d) => baoxue_shared::Date::parse(&d).map_err(|e| anyhow!("--date：{e}"))?,
                None => baoxue_shared::Date::today(),
            };
            let store = dir.open_store()?;
            let r = crate::conflicts::resolve(&store, &id, &keep, field.as_deref(), &operator(by), date)?;
            if json {
                print_json(&r)?;
            } else {
                crate::say!(
                    "已裁定：记录 {} 的 {} 取值为 {}（修订 {}，取代 {} 个并发值）；各节点下次同步时收到",
                    &r.record[..8],
                    baoxue_shared::Field::from_key(&r.field).map(|f| f.label()).unwrap_or(&r.field),
                    r.value,
                    &r.revision[..8],
                    r.replaced.len()
                );
            }
        }
        Cmd::Report(a) => crate::county::cmd::report(&dir, a)?,
        Cmd::Alerts(a) => crate::county::cmd::alerts(&dir, a)?,
        Cmd::Baseline { cmd } => crate::county::cmd::baseline(&dir, cmd)?,
        Cmd::Census { cmd } => crate::county::cmd::census(&dir, cmd)?,
        Cmd::Demo(_) | Cmd::Bench(_) => return Err(anyhow!("demo 与 bench 由 baoxue-sim 执行")),
    }
    Ok(())
}

/// The simulator's executable: `baoxue-sim` next to this one.
fn simulator_exe() -> Result<PathBuf> {
    let me = std::env::current_exe().context("无法确定本程序的路径")?;
    let exe = me.with_file_name(format!("baoxue-sim{}", std::env::consts::EXE_SUFFIX));
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(anyhow!(
            "演示与基准测试由 baoxue-sim 执行，但 {} 不存在；请先构建：cargo build --release -p baoxue-sim",
            exe.display()
        ))
    }
}

/// `demo …` and `bench …`: runs `baoxue-sim` with the same arguments (output straight to this
/// process's stdout and stderr); its exit status is this command's.
fn simulator(cmd: &str, a: &Simulator) -> Result<std::process::ExitCode> {
    let exe = simulator_exe()?;
    let status = std::process::Command::new(&exe)
        .arg(cmd)
        .args(&a.args)
        .status()
        .with_context(|| format!("无法运行 {}", exe.display()))?;
    Ok(match status.code() {
        Some(0) => std::process::ExitCode::SUCCESS,
        Some(c) => std::process::ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => std::process::ExitCode::from(1),
    })
}

fn node(dir: &HubDir, cmd: NodeCmd) -> Result<()> {
    match cmd {
        NodeCmd::Add { name, township, out, hub } => {
            if out.exists() {
                return Err(anyhow!("{} 已存在，不覆盖（配置包含私钥，请换一个文件名）", out.display()));
            }
            let text = dir.add_node(&name, &township, hub.as_deref())?;
            baoxue_net::write_file_atomic(&out, text.as_bytes(), true)?;
            let cfg = dir.config()?;
            crate::say!(
                "已签发节点 {name}（{township}），配置包写入 {}（含私钥，请安全送达该乡镇）\n节点上执行：baoxue-node init --bundle {}（平台地址 {}）",
                out.display(),
                out.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default(),
                hub.unwrap_or(cfg.addr)
            );
        }
        NodeCmd::Revoke { name } => {
            let n = dir.revoke_node(&name)?;
            crate::say!("已吊销节点 {}（{}）：此后的连接一律拒绝", n.name, n.township);
        }
        NodeCmd::List { json } => {
            let alerts = pending_alerts(dir);
            let rows = dir.node_rows_with(alerts.as_ref())?;
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                crate::say!("尚未签发任何节点（baoxue-hub node add）");
            } else {
                if let Some(a) = &alerts {
                    let how = if a.source == "live" { "当前计算" } else { "夜间汇总存档，serve 运行中" };
                    crate::say!("在办预警截至 {}（{how}）", a.as_of);
                }
                for r in rows {
                    crate::say!(
                        "{}（{}）  签发 {}  最近同步 {}  在办预警 {}{}{}",
                        r.name,
                        r.township,
                        r.issued,
                        r.last_sync.as_deref().unwrap_or("从未"),
                        r.pending_alerts.map(|n| n.to_string()).unwrap_or_else(|| "未知".into()),
                        if r.revoked { "  已吊销" } else { "" },
                        r.last_error.map(|e| format!("  上次失败：{e}")).unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// Alerts in force per township for `node list`: computed now when the store is free, else
/// the newest nightly archive (while `serve` holds the store), else unknown.
fn pending_alerts(dir: &HubDir) -> Option<crate::data::PendingAlerts> {
    let live = || -> Result<crate::data::PendingAlerts> {
        let county = dir.county(dir.open_store()?)?;
        let (snap, _) = county.snapshot()?;
        let today = baoxue_shared::Date::today();
        let mut by_township = std::collections::BTreeMap::new();
        for a in county.alerts(&snap, today)? {
            *by_township.entry(a.township).or_insert(0) += 1;
        }
        Ok(crate::data::PendingAlerts { as_of: today.to_string(), source: "live", by_township })
    };
    match live() {
        Ok(a) => Some(a),
        Err(_) => dir.archived_alerts(),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BAOXUE_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Commands that need the store and may be run by `serve` on the caller's behalf while it
/// holds it (see [`crate::control`]); never `init`, `serve`, `demo` or `bench`.
pub fn forwardable(cmd: &Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Stats { .. }
            | Cmd::Backup { .. }
            | Cmd::Conflicts { .. }
            | Cmd::Report(_)
            | Cmd::Alerts(_)
            | Cmd::Baseline { .. }
            | Cmd::Census { .. }
            | Cmd::Node { cmd: NodeCmd::List { .. } | NodeCmd::Revoke { .. } }
            | Cmd::Org { .. }
    )
}

/// An error as the one line the binary prints (context chain joined).
pub fn error_line(e: &anyhow::Error) -> String {
    format!("{e:#}").lines().collect::<Vec<_>>().join("；")
}

fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref::<crate::data::HubError>(), Some(crate::data::HubError::Locked(_))))
}

/// The binary's entry: parse, run, print one clear line on failure. A command that finds the
/// store held by `serve` is handed to it.
pub fn main() -> std::process::ExitCode {
    main_from(std::env::args_os())
}

/// [`main`] over a given command line (program name first); `baoxue-sim hub …` runs the hub
/// this way.
pub fn main_from(argv: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    let argv: Vec<std::ffi::OsString> = argv.into_iter().collect();
    let args: Vec<String> = argv.iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let cli = Cli::parse_from(&argv);
    if let Cmd::Demo(a) | Cmd::Bench(a) = &cli.cmd {
        let cmd = if matches!(cli.cmd, Cmd::Demo(_)) { "demo" } else { "bench" };
        return match simulator(cmd, a) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("错误：{}", error_line(&e));
                std::process::ExitCode::from(1)
            }
        };
    }
    let data = data_dir(cli.data.clone());
    let forward = forwardable(&cli.cmd);
    // `node list` counts alerts only when the store is free; while serving, ask the server.
    let node_list = matches!(cli.cmd, Cmd::Node { cmd: NodeCmd::List { .. } });
    if node_list && data.join(crate::control::SOCKET).exists() {
        if let Ok(a) = crate::control::forward(&data, &args) {
            return answered(a);
        }
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if forward && is_locked(&e) => match crate::control::forward(&data, &args) {
            Ok(a) => answered(a),
            Err(why) => {
                eprintln!("错误：{}（{}）", error_line(&e), error_line(&why));
                std::process::ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("错误：{}", error_line(&e));
            std::process::ExitCode::from(1)
        }
    }
}

fn answered(a: crate::control::Answer) -> std::process::ExitCode {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(a.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(a.stderr.as_bytes());
    std::process::ExitCode::from(u8::try_from(a.code).unwrap_or(1))
}
