//! The hub's command line (docs/CLI.md "Hub"): argument definitions, their translation into a
//! [`Request`] of the command layer ([`crate::cmd`]), and printing its [`Output`]. A command
//! that finds the store held by `serve` is sent to it over the control socket
//! ([`crate::control`]) as that same request. Exit status: 0 success, 1 the command failed (one
//! clear line on stderr), 2 bad usage (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context as _, Result};
use baoxue_control::Reply;
use clap::{Parser, Subcommand};

use crate::cmd::county::{AlertsArgs, BaselineCmd, CensusCmd, ReportArgs};
use crate::cmd::{self, error_line, Context, Output, Printed, Request};
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
    Report(ReportArgs),
    /// 截至某日在办的全部预警（个案、学校、乡镇、报送、重复学籍、冲突）
    Alerts(AlertsArgs),
    /// 基线：系统启用前各届的入学、转入、转出、死亡
    Baseline {
        #[command(subcommand)]
        cmd: BaselineCmd,
    },
    /// 名单比对（三比对）：公安、民政、扶贫、残联名单或教育部疑似失学儿童名单
    Census {
        #[command(subcommand)]
        cmd: CensusCmd,
    },
    /// 演示：模拟伊川县，县级平台与各乡镇节点经本机 QUIC 同步，运行一个学年（由 baoxue-sim 执行）
    #[command(disable_help_flag = true)]
    Demo(Simulator),
    /// 基准测试：bench sync、bench nightly、bench web（由 baoxue-sim 执行）
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("无法启动异步运行时")
}

fn parse_listen(s: &str) -> Result<SocketAddr> {
    s.parse().map_err(|_| anyhow!("监听地址“{s}”无效（应为 IP:端口，如 0.0.0.0:7443）"))
}

/// What the command line asks for: a command of the command layer (with whether to print its
/// JSON), or one of the commands that are not (`serve`, `demo`, `bench`).
pub enum Parsed {
    Command {
        request: Request,
        json: bool,
    },
    Serve {
        listen: String,
        no_nightly: bool,
        web: crate::web::WebArgs,
    },
    /// `user …`: the dashboard's accounts file (no store needed, works while `serve` runs).
    User(crate::web::accounts::UserCmd),
    Simulator {
        cmd: &'static str,
        args: Simulator,
    },
}

/// The command-layer request of a parsed command line.
pub fn parsed(cmd: Cmd) -> Parsed {
    let command = |request: Request, json: bool| Parsed::Command { request, json };
    match cmd {
        Cmd::Init { county_code, name, policy, addr } => {
            command(Request::Init(cmd::admin::InitArgs { county_code, name, policy, addr }), false)
        }
        Cmd::Org { cmd: OrgCmd::Import { file, remove } } => command(Request::OrgImport { file, remove }, false),
        Cmd::Policy { cmd: PolicyCmd::Set { policy } } => command(Request::PolicySet { policy }, false),
        Cmd::Policy { cmd: PolicyCmd::Holidays { file } } => command(Request::PolicyHolidays { file }, false),
        Cmd::Policy { cmd: PolicyCmd::Closure { name, from, to } } => {
            command(Request::PolicyClosure(cmd::admin::ClosureArgs { name, from, to }), false)
        }
        Cmd::Node { cmd: NodeCmd::Add { name, township, out, hub } } => {
            command(Request::NodeAdd(cmd::admin::NodeAddArgs { name, township, out, hub }), false)
        }
        Cmd::Node { cmd: NodeCmd::Revoke { name } } => command(Request::NodeRevoke { name }, false),
        Cmd::Node { cmd: NodeCmd::List { json } } => command(Request::NodeList, json),
        Cmd::Stats { json } => command(Request::Stats, json),
        Cmd::Backup { out } => command(Request::Backup { out }, false),
        Cmd::Restore { file, identity } => command(Request::Restore { file, identity }, false),
        Cmd::BackupKey => command(Request::BackupKey, false),
        Cmd::Conflicts { json, cmd: None } => command(Request::Conflicts, json),
        Cmd::Conflicts { cmd: Some(ConflictsCmd::Resolve { id, keep, field, by, date, json }), .. } => {
            command(Request::ConflictsResolve(cmd::review::ResolveArgs { id, keep, field, by, date }), json)
        }
        Cmd::Report(a) => command(Request::Report(a), false),
        Cmd::Alerts(a) => {
            let json = a.json;
            command(Request::Alerts(a), json)
        }
        Cmd::Baseline { cmd: BaselineCmd::Import(a) } => command(Request::BaselineImport(a), false),
        Cmd::Census { cmd: CensusCmd::Import(a) } => {
            let json = a.json;
            command(Request::CensusImport(a), json)
        }
        Cmd::Serve { listen, no_nightly, web } => Parsed::Serve { listen, no_nightly, web },
        Cmd::User(u) => Parsed::User(u),
        Cmd::Demo(args) => Parsed::Simulator { cmd: "demo", args },
        Cmd::Bench(args) => Parsed::Simulator { cmd: "bench", args },
    }
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

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BAOXUE_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref::<crate::data::HubError>(), Some(crate::data::HubError::Locked(_))))
}

/// Writes what a command printed (a closed pipe is not an error).
fn print(p: &Printed) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(p.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(p.stderr.as_bytes());
}

fn failed(line: &str) -> std::process::ExitCode {
    eprintln!("错误：{line}");
    std::process::ExitCode::from(1)
}

/// Prints a command's output; its status.
fn done(out: &Output, json: bool) -> std::process::ExitCode {
    match out.printed(json) {
        Ok(p) => {
            print(&p);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => failed(&error_line(&e)),
    }
}

/// Prints what `serve` answered; its status.
fn answered(reply: Reply<Output>, json: bool) -> std::process::ExitCode {
    match reply {
        Reply::Done(out) => done(&out, json),
        Reply::Failed(lines) => {
            let n = lines.len();
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == n {
                    eprintln!("错误：{l}");
                } else {
                    eprintln!("{l}");
                }
            }
            std::process::ExitCode::from(1)
        }
        Reply::Refused(why) => failed(&why),
    }
}

/// Runs a command of the command layer here, or, when `serve` holds the store, by `serve`.
fn command(data: &std::path::Path, request: Request, json: bool) -> std::process::ExitCode {
    // `node list` counts alerts only when the store is free; while serving, ask the server.
    if request == Request::NodeList && baoxue_control::present(data) {
        if let Ok(reply) = crate::control::forward(data, &request) {
            return answered(reply, json);
        }
    }
    let ctx = Context::local(HubDir::new(data));
    let forward = request.forwardable();
    match cmd::run(&ctx, request.clone()) {
        Ok(out) => done(&out, json),
        Err(e) if forward && is_locked(&e) => match crate::control::forward(data, &request) {
            Ok(reply) => answered(reply, json),
            Err(why) => failed(&format!("{}（{why}）", error_line(&e))),
        },
        Err(e) => failed(&error_line(&e)),
    }
}

/// The binary's entry: parse, run, print one clear line on failure.
pub fn main() -> std::process::ExitCode {
    main_from(std::env::args_os())
}

/// [`main`] over a given command line (program name first); `baoxue-sim hub …` runs the hub
/// this way.
pub fn main_from(argv: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    let cli = Cli::parse_from(argv);
    let data = data_dir(cli.data);
    match parsed(cli.cmd) {
        Parsed::Command { request, json } => command(&data, request, json),
        Parsed::Serve { listen, no_nightly, web } => {
            let r = parse_listen(&listen).and_then(|addr| {
                init_logging();
                Ok(runtime()?.block_on(crate::server::serve(&HubDir::new(&data), addr, !no_nightly, Some(&web)))?)
            });
            match r {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => failed(&error_line(&e)),
            }
        }
        Parsed::User(u) => match crate::web::accounts::run(&HubDir::new(&data), &u) {
            Ok(text) => {
                print!("{text}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => failed(&error_line(&anyhow::Error::from(e))),
        },
        Parsed::Simulator { cmd, args } => match simulator(cmd, &args) {
            Ok(code) => code,
            Err(e) => failed(&error_line(&e)),
        },
    }
}
