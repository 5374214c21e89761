//! The command line (docs/CLI.md "Node"): argument definitions and dispatch to the commands.
//! Dates are taken as text and checked here, so that `2026-02-30` is a failed command (exit 1)
//! with a clear message rather than a usage error.
//!
//! A parsed command ([`Cmd`]) is also the request of the node's control socket
//! ([`crate::control`]): while a server of this node holds the store, a command that needs it is
//! sent there as it was parsed (with the caller's defaults filled in by [`for_server`]) and run
//! by the same dispatch ([`run_in`]) on the server's open ledger.

use std::path::PathBuf;

use baoxue_shared::roster::StudentInput;
use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use crate::cmd::{self, student::Stamp};
use crate::defaults;
use crate::error::Result;
use crate::ledger::Ledger;
use crate::output::Output;

#[derive(Debug, Parser)]
#[command(
    name = "baoxue-node",
    version,
    about = "控辍保学 乡镇节点：本乡镇学生、缺勤与辍学台账，离线可用",
    long_about = None
)]
pub struct Cli {
    /// 数据目录（默认：环境变量 BAOXUE_DATA，否则用户数据目录下的 baoxue-node）
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The 家访记录表 fields of `case act --kind visit` (001 附件2): 时间 is `--date` and `--time`,
/// 家访教师 `--by`, 家访内容 `--text` (or `--content`).
#[derive(Debug, Args, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitCli {
    /// 家访时刻 HH:MM（仅家访）
    #[arg(long, value_name = "HH:MM")]
    pub time: Option<String>,
    /// 陪同教师（仅家访）
    #[arg(long, value_name = "NAME")]
    pub companion: Option<String>,
    /// 家访原因（仅家访）
    #[arg(long, value_name = "T")]
    pub reason: Option<String>,
    /// 住址（仅家访）
    #[arg(long, value_name = "T")]
    pub address: Option<String>,
    /// 家访内容（仅家访；与 --text 相同，二者只写一个）
    #[arg(long, value_name = "T")]
    pub content: Option<String>,
    /// 学校意见（仅家访）
    #[arg(long, value_name = "T")]
    pub school_opinion: Option<String>,
    /// 家长意见（仅家访）
    #[arg(long, value_name = "T")]
    pub parent_opinion: Option<String>,
}

/// Who records and on which day (every recording command).
#[derive(Debug, Args, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// 业务日期 YYYY-MM-DD（默认今天）
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// 操作员（默认：环境变量 BAOXUE_OPERATOR，否则系统用户名）
    #[arg(long, visible_alias = "by", value_name = "NAME")]
    pub operator: Option<String>,
}

impl Recording {
    pub fn stamp(&self) -> Result<Stamp> {
        Ok(Stamp {
            author: defaults::operator(self.operator.clone())?,
            date: defaults::date(self.date.as_deref(), "--date")?,
        })
    }
}

/// Parsed once per process: the size of the larger variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
pub enum Cmd {
    /// 初始化本节点：离线节点（--county-code --township --org）或用县级平台签发的配置包（--bundle）
    Init(InitCli),
    /// 备份：本节点数据写成一个用县级备份公钥加密的文件（age 格式）
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// 县级备份公钥 age1…（第一次需要，之后记住；也可用环境变量 BAOXUE_BACKUP_RECIPIENT）
        #[arg(long, value_name = "AGE1…")]
        recipient: Option<String>,
    },
    /// 从备份恢复到新的或空的数据目录（需县级备份私钥）；下次同步时与县级平台重新核对
    Restore {
        file: PathBuf,
        /// 县级备份私钥文件
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
    },
    /// 将离线节点加入县级平台，保留全部数据
    Join {
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
    },
    /// 学生：导入、添加、列表、查看、状态、转学
    #[command(subcommand)]
    Student(StudentCmd),
    /// 记录一天缺勤（无故缺勤且无未销号案件时自动立案）
    Absence(AbsenceCli),
    /// 辍学台账：立案、填写详情、确认、措施、销号、列表、查看
    #[command(subcommand)]
    Case(CaseCmd),
    /// 本乡镇的预警（离线计算）
    Alerts {
        /// 评估日期 YYYY-MM-DD（默认今天）
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// 与县级平台同步
    Sync {
        #[arg(long, value_name = "ADDR")]
        hub: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// 常驻运行：按政策时间同步，平台不可达时退避重试（Ctrl-C 或 SIGTERM 停止）
    Run {
        /// 县级平台地址 host:port（默认用配置包中的地址）
        #[arg(long, value_name = "ADDR")]
        hub: Option<String>,
        /// 启动时先同步一次，再等待每日同步时间
        #[arg(long)]
        now: bool,
        /// 平台连不上时首次重试前等待的秒数（此后逐次加倍并随机错开，最长 30 分钟；默认 30）
        #[arg(long, value_name = "SECS", env = "BAOXUE_RETRY_BASE_SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        retry_base_secs: Option<u64>,
        /// 同时提供校园应用（见 serve；此时本进程一直占用数据目录）
        #[arg(long)]
        serve: bool,
        #[command(flatten)]
        web: WebCli,
    },
    /// 校园应用：在本机（默认 127.0.0.1:7080）或校园网（--lan，HTTPS）提供网页服务
    Serve(ServeCli),
    /// 性能测试（打印 JSON，不是计时测试）：web 为校园应用在 N 名学生时的服务器耗时
    #[command(subcommand)]
    Bench(BenchCmd),
    /// 校园应用的用户：添加、重置密码、停用、列表
    #[command(subcommand)]
    User(UserCmd),
    /// 本节点概况：修订、学生、案件、未上报、上次同步、冲突、被拒
    Status {
        #[arg(long)]
        json: bool,
    },
}

/// Where the school app listens.
#[derive(Debug, Args, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebCli {
    /// 监听地址（默认 127.0.0.1:7080；--lan 时 0.0.0.0:7443）
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// 向校园网提供服务（HTTPS，证书由本节点自己的 CA 签发，可在 /lan 下载安装）
    #[arg(long)]
    pub lan: bool,
    /// 证书中另外写入的地址或域名（如 192.168.1.20、baoxue.local），可重复
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct ServeCli {
    #[command(flatten)]
    pub web: WebCli,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
pub enum BenchCmd {
    /// 校园应用：点名页、案件列表、案件页（p50/p95）和 50 人点名保存
    Web {
        #[arg(long, default_value_t = 20_000)]
        students: usize,
        /// 每项请求次数
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
pub enum UserCmd {
    /// 添加用户，打印一次性密码（首次登录须修改）
    Add {
        /// 登录名（英文字母、数字）
        login: String,
        /// 姓名（作为录入人写入台账）
        #[arg(long)]
        name: String,
        /// 角色：班主任(teacher)、校长(principal)、乡镇(township)、管理员(admin)
        #[arg(long)]
        role: String,
        /// 学校（校长、班主任）
        #[arg(long)]
        school: Option<String>,
        /// 班主任所带班级：年级/班，多个用逗号分隔，如 4/2,5/1
        #[arg(long = "class", value_name = "G/C")]
        classes: Option<String>,
    },
    /// 重置密码（打印一次性密码）
    Reset { login: String },
    /// 停用用户
    Disable { login: String },
    /// 列出用户
    List,
}

#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct InitCli {
    /// 县级平台签发的节点配置包
    #[arg(long, value_name = "FILE", conflicts_with_all = ["county_code", "township", "org"])]
    pub bundle: Option<PathBuf>,
    /// 县（区）行政区划代码，6 位
    #[arg(long, value_name = "CODE", required_unless_present = "bundle")]
    pub county_code: Option<String>,
    /// 县（区）名称（默认用代码）
    #[arg(long, value_name = "NAME")]
    pub county_name: Option<String>,
    /// 本节点服务的乡镇（须在组织机构文件中）
    #[arg(long, value_name = "T", required_unless_present = "bundle")]
    pub township: Option<String>,
    /// 组织机构 CSV：乡镇,学校,类型[,校长,包校领导,乡镇分管领导,乡镇主要领导]
    #[arg(long, value_name = "FILE", required_unless_present = "bundle")]
    pub org: Option<PathBuf>,
    /// 政策预设（shapotou、yaoan、lipu、feicheng、yichuan）或政策文件，默认 shapotou
    #[arg(long, value_name = "PRESET|FILE")]
    pub policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
pub enum StudentCmd {
    /// 导入花名册 CSV（有错误行则全部不导入，除非 --skip-bad）
    Import {
        file: PathBuf,
        /// 只检查，不写入
        #[arg(long)]
        dry_run: bool,
        /// 跳过有错误的行，导入其余各行
        #[arg(long)]
        skip_bad: bool,
        #[command(flatten)]
        rec: Recording,
    },
    /// 添加一名学生
    Add(AddCli),
    /// 学生列表（身份证号、学籍号打码显示，--unmasked 显示完整号码）
    List {
        #[arg(long, value_name = "S")]
        school: Option<String>,
        /// 在读、休学、送教上门、辍学、转出、毕业、死亡
        #[arg(long, value_name = "S")]
        status: Option<String>,
        /// 包括已转到其他乡镇的学生
        #[arg(long)]
        all: bool,
        #[arg(long)]
        unmasked: bool,
        #[arg(long)]
        json: bool,
    },
    /// 查看一名学生：当前信息、缺勤、案件和全部修改历史
    Show {
        /// 学籍号或身份证号
        student: String,
        #[arg(long)]
        json: bool,
        /// JSON 中显示完整号码
        #[arg(long)]
        unmasked: bool,
    },
    /// 学籍状态变更：在读、休学、送教上门、毕业、死亡
    Status {
        /// 学籍号或身份证号
        student: String,
        /// 在读、休学、送教上门、毕业、死亡
        status: String,
        #[arg(long, value_name = "R")]
        /// 异动原因
        reason: Option<String>,
        #[command(flatten)]
        rec: Recording,
    },
    /// 转出：转往本县另一所学校，或转往县外
    Transfer {
        /// 学籍号或身份证号
        student: String,
        /// 转入本县的学校
        #[arg(long, value_name = "S", required_unless_present = "out_of_county", conflicts_with = "out_of_county")]
        to_school: Option<String>,
        /// 转往县外（写明省市县或学校）
        #[arg(long, value_name = "PLACE")]
        out_of_county: Option<String>,
        #[command(flatten)]
        rec: Recording,
    },
    /// 确认转入本乡镇
    Accept {
        /// 学籍号或身份证号
        student: String,
        #[command(flatten)]
        rec: Recording,
    },
    /// 修改学生信息（姓名、班级、年级、监护人、电话、特殊群体、户籍）
    Edit(EditCli),
}

#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct AddCli {
    /// 全国学籍号（G/L/J 加 18 位）
    #[arg(long, value_name = "N")]
    pub student_no: String,
    /// 身份证号（G 学籍号可省略）
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// 姓名
    #[arg(long, value_name = "N")]
    pub name: String,
    /// 男 或 女
    #[arg(long)]
    pub sex: String,
    /// 出生日期 YYYY-MM-DD
    #[arg(long, value_name = "D")]
    pub birth: String,
    /// 学校（须在组织机构中、属于本乡镇）
    #[arg(long, value_name = "S")]
    pub school: String,
    /// 年级 1–9（须为该校所设年级）
    #[arg(long, value_name = "G")]
    pub grade: String,
    /// 班级
    #[arg(long, value_name = "C")]
    pub class: Option<String>,
    /// 特殊群体，以逗号或顿号分隔
    #[arg(long, value_name = "G1,G2")]
    pub groups: Option<String>,
    /// 监护人
    #[arg(long, value_name = "N")]
    pub guardian: Option<String>,
    /// 监护人电话
    #[arg(long, value_name = "P")]
    pub phone: Option<String>,
    /// 户籍乡镇
    #[arg(long, value_name = "T")]
    pub hukou_township: Option<String>,
    /// 户籍村
    #[arg(long, value_name = "V")]
    pub hukou_village: Option<String>,
    /// 入学年份
    #[arg(long, value_name = "Y")]
    pub entry_year: Option<String>,
    #[command(flatten)]
    pub rec: Recording,
}

#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct EditCli {
    /// 学籍号或身份证号
    pub student: String,
    /// 姓名
    #[arg(long)]
    pub name: Option<String>,
    /// 班级
    #[arg(long)]
    pub class: Option<String>,
    /// 年级 1–9（须为该校所设年级）
    #[arg(long)]
    pub grade: Option<String>,
    /// 监护人
    #[arg(long)]
    pub guardian: Option<String>,
    /// 监护人电话
    #[arg(long)]
    pub phone: Option<String>,
    /// 特殊群体，以逗号或顿号分隔（空字符串清除）
    #[arg(long)]
    pub groups: Option<String>,
    /// 户籍乡镇
    #[arg(long)]
    pub hukou_township: Option<String>,
    /// 户籍村
    #[arg(long)]
    pub hukou_village: Option<String>,
    /// 户籍所在县（仅外县户籍填写；空字符串清除）
    #[arg(long, value_name = "COUNTY")]
    pub hukou_county: Option<String>,
    #[command(flatten)]
    pub rec: Recording,
}

#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct AbsenceCli {
    /// 学籍号或身份证号
    pub student: String,
    /// unexcused（无故缺勤）、sick（病假）、personal（事假）
    #[arg(long, required_unless_present = "withdraw")]
    pub kind: Option<String>,
    /// 该日按日历不上学（周末、节假日、假期、停课）但学校确实上课时，写明原因后仍可记录
    #[arg(long, value_name = "REASON")]
    pub school_open: Option<String>,
    /// 撤回 --date 当天误记的缺勤（写明原因）；若它是案件的起算日，案件以「误记撤销」销号
    #[arg(long, value_name = "REASON", conflicts_with_all = ["kind", "school_open"])]
    pub withdraw: Option<String>,
    #[command(flatten)]
    pub rec: Recording,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
pub enum CaseCmd {
    /// 立案（疑似辍学）；起算日为上次销号后第一次无故缺勤，否则为立案日
    Open {
        /// 学籍号或身份证号
        student: String,
        /// 辍学原因：因贫、学习困难/厌学、因病、因残、外出务工、早婚、监护缺失、读书无用论、其他
        #[arg(long, value_name = "C")]
        cause: Option<String>,
        #[command(flatten)]
        rec: Recording,
    },
    /// 填写或修改案件详情：辍学原因、劝返方案、责任人（只改所给的项，其余保留）
    Edit(CaseEditCli),
    /// 确认辍学（学籍状态同时改为辍学）
    Confirm {
        /// 案件编号或学籍号/身份证号（指该生未销号的案件）
        case: String,
        #[command(flatten)]
        rec: Recording,
    },
    /// 记录一项劝返措施
    Act {
        /// 案件编号（如 1a2b3c4d）或学籍号/身份证号（指该生未销号的案件）
        case: String,
        /// call、visit、notice、referral、search、other
        #[arg(long)]
        kind: String,
        /// 经办人（默认为操作员）
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// 送达的文书：劝返复学通知书、限期入学通知书、敦促返校通知书、行政处罚决定书、司法文书
        #[arg(long, value_name = "N")]
        notice: Option<String>,
        #[arg(long, value_name = "T")]
        /// 情况说明（家访：家访内容）
        text: Option<String>,
        #[command(flatten)]
        visit: VisitCli,
        /// 业务日期 YYYY-MM-DD（默认今天；家访：家访时间）
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// 操作员（默认：环境变量 BAOXUE_OPERATOR，否则系统用户名）
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
    },
    /// 销号：returned（复学）、transferred（转学核实）、exempt（豁免）、suspended（休学）、deferred（延缓入学）、deceased（死亡）、moved_away（迁往县外）、abroad（出国）、special_school（特殊教育学校）、home_delivered（送教上门）
    Close {
        /// 案件编号（如 1a2b3c4d）或学籍号/身份证号（指该生未销号的案件）
        case: String,
        /// returned、transferred、exempt、suspended、deferred、deceased、moved_away、abroad、special_school、home_delivered
        #[arg(long)]
        outcome: String,
        #[arg(long, value_name = "T")]
        /// 销号依据（如返校核实、转入学校证明、豁免审批文件）
        evidence: Option<String>,
        /// 监护人书面申请日期（豁免、休学、延缓入学必填）
        #[arg(long, value_name = "YYYY-MM-DD")]
        applied: Option<String>,
        /// 申请人（监护人）
        #[arg(long, value_name = "NAME")]
        applicant: Option<String>,
        /// 批准机关（如：鸦岭镇人民政府）
        #[arg(long, value_name = "BODY")]
        approved_by: Option<String>,
        /// 批准人
        #[arg(long, value_name = "NAME")]
        approver: Option<String>,
        /// 理由：因病、因残、其他（豁免须为因病或因残）
        #[arg(long, value_name = "G")]
        ground: Option<String>,
        /// 截止日期（休学、延缓入学必填；次一上学日起应返校）
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<String>,
        /// 就读或安置学校（转学核实、特殊教育学校、送教上门必填）
        #[arg(long, value_name = "S")]
        school: Option<String>,
        /// 迁往地或国家（迁往县外、出国必填）
        #[arg(long, value_name = "PLACE")]
        place: Option<String>,
        /// 证明材料（死亡必填：死亡证明、户籍注销证明等）
        #[arg(long, value_name = "T")]
        document: Option<String>,
        #[command(flatten)]
        rec: Recording,
    },
    /// 重新打开误销号的案件（须写明原因）；时限仍自原起算日计
    Reopen {
        /// 案件编号（如 1a2b3c4d）
        case: String,
        /// 重新打开的原因
        #[arg(long, value_name = "R")]
        reason: String,
        #[command(flatten)]
        rec: Recording,
    },
    /// 案件列表
    List {
        /// 只列未销号的案件
        #[arg(long)]
        open: bool,
        #[arg(long)]
        unmasked: bool,
        #[arg(long)]
        json: bool,
    },
    /// 查看一个案件及其全部历史
    Show {
        /// 案件编号（如 1a2b3c4d）或学籍号/身份证号（指该生未销号的案件）
        case: String,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        unmasked: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct CaseEditCli {
    /// 案件编号（如 1a2b3c4d）或学籍号/身份证号（指该生未销号的案件）
    pub case: String,
    /// 辍学原因：因贫、学习困难/厌学、因病、因残、外出务工、早婚、监护缺失、读书无用论、其他、不详
    #[arg(long, value_name = "C")]
    pub cause: Option<String>,
    /// 劝返方案（一人一案；空字符串清除）
    #[arg(long, value_name = "T")]
    pub plan: Option<String>,
    /// 责任人：班主任（空字符串清除，下同）
    #[arg(long, value_name = "NAME")]
    pub teacher: Option<String>,
    /// 责任人：包保科任教师（"科任教师包人"，002 §四(二)1）
    #[arg(long, value_name = "NAME")]
    pub mentor: Option<String>,
    /// 责任人：乡镇包村干部（"三包"，004 第五条）
    #[arg(long, value_name = "NAME")]
    pub cadre: Option<String>,
    /// 责任人：村组干部（"三包"，004 第五条）
    #[arg(long, value_name = "NAME")]
    pub village_cadre: Option<String>,
    #[command(flatten)]
    pub rec: Recording,
}

fn s(o: &Option<String>) -> String {
    o.clone().unwrap_or_default()
}

/// The length limit of a flag's value (docs/limits.md); `None`: any length, characters checked.
fn flag_limit(flag: &str) -> Option<usize> {
    use baoxue_shared::text::*;
    Some(match flag {
        "--name" | "--guardian" | "--by" | "--teacher" | "--mentor" | "--cadre" | "--village-cadre" | "--operator" => {
            MAX_NAME
        }
        "--phone" => MAX_PHONE,
        "--class" => MAX_CLASS,
        "--school" | "--to-school" => MAX_SCHOOL,
        "--hukou-township" | "--township" | "--hukou-county" => MAX_TOWNSHIP,
        "--hukou-village" => MAX_VILLAGE,
        "--groups" => MAX_GROUPS,
        "--reason" | "--out-of-county" | "--notice" | "--cause" => MAX_SHORT,
        "--text" | "--plan" | "--evidence" | "--content" | "--school-opinion" | "--parent-opinion" => MAX_TEXT,
        "--companion" => MAX_NAME,
        "--address" => MAX_SHORT,
        _ => return None,
    })
}

/// Checks every value on the command line (and `BAOXUE_OPERATOR`) before anything runs: no
/// control characters or bidi controls anywhere, and each flag's length limit. One line naming
/// the flag; nothing is recorded.
pub fn check_text_args(args: &[String]) -> Result<()> {
    use baoxue_shared::text;
    let mut flag: Option<&str> = None;
    let mut checks: Vec<(String, &str)> = Vec::new();
    for a in args {
        if let Some(f) = a.strip_prefix("--").map(|_| a.as_str()) {
            match f.split_once('=') {
                Some((name, value)) => {
                    checks.push((name.to_string(), value));
                    flag = None;
                }
                None => flag = Some(f),
            }
        } else {
            checks.push((flag.take().unwrap_or("参数").to_string(), a.as_str()));
        }
    }
    let operator = std::env::var("BAOXUE_OPERATOR").unwrap_or_default();
    checks.push(("BAOXUE_OPERATOR".into(), &operator));
    for (name, value) in checks {
        let limit = if name == "BAOXUE_OPERATOR" { Some(text::MAX_NAME) } else { flag_limit(&name) };
        let r = match limit {
            Some(max) => text::check(value, max),
            None => text::check_chars(value),
        };
        if let Err(e) = r {
            return Err(crate::error::invalid(format!("{name}「{}」{e}", text::shown(value))));
        }
    }
    Ok(())
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Output> {
    let dir = defaults::data_dir(cli.data);
    run_in(&Context { dir, lent: None }, cli.cmd)
}

/// Where a command finds its ledger: the data directory, or a ledger already open (a server's).
pub struct Context<'a> {
    pub dir: PathBuf,
    pub lent: Option<&'a Ledger>,
}

/// A ledger opened for one command, or the one lent (one per command: its size does not
/// matter).
#[allow(clippy::large_enum_variant)]
pub enum Held<'a> {
    Own(Ledger),
    Lent(&'a Ledger),
}

impl std::ops::Deref for Held<'_> {
    type Target = Ledger;
    fn deref(&self) -> &Ledger {
        match self {
            Held::Own(l) => l,
            Held::Lent(l) => l,
        }
    }
}

impl Context<'_> {
    /// The ledger: the one lent, else opened from the data directory.
    pub fn ledger(&self) -> Result<Held<'_>> {
        match self.lent {
            Some(l) => Ok(Held::Lent(l)),
            None => Ok(Held::Own(Ledger::open(&self.dir)?)),
        }
    }
}

/// Commands that need the store and that a server holding it runs for the command line:
/// every one but `init`, `join`, `sync`, `run`, `serve` and `bench`.
pub fn forwardable(cmd: &Cmd) -> bool {
    !matches!(
        cmd,
        Cmd::Init(_)
            | Cmd::Join { .. }
            | Cmd::Sync { .. }
            | Cmd::Run { .. }
            | Cmd::Serve(_)
            | Cmd::Bench(_)
            | Cmd::Restore { .. }
    )
}

/// The command as a server should run it for this process: the operator named (from
/// `BAOXUE_OPERATOR` or the system user, as here), the business date fixed, a file path made
/// absolute against this process's working directory.
pub fn for_server(mut cmd: Cmd) -> Result<Cmd> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let fill = |rec: &mut Recording| -> Result<()> {
        rec.operator = Some(defaults::operator(rec.operator.take())?);
        rec.date = Some(defaults::date(rec.date.as_deref(), "--date")?.to_string());
        Ok(())
    };
    match &mut cmd {
        Cmd::Absence(a) => fill(&mut a.rec)?,
        Cmd::Student(StudentCmd::Import { file, rec, .. }) => {
            if file.is_relative() {
                *file = cwd.join(&*file);
            }
            fill(rec)?
        }
        Cmd::Student(
            StudentCmd::Status { rec, .. } | StudentCmd::Transfer { rec, .. } | StudentCmd::Accept { rec, .. },
        ) => fill(rec)?,
        Cmd::Student(StudentCmd::Add(a)) => fill(&mut a.rec)?,
        Cmd::Student(StudentCmd::Edit(e)) => fill(&mut e.rec)?,
        Cmd::Case(
            CaseCmd::Open { rec, .. }
            | CaseCmd::Confirm { rec, .. }
            | CaseCmd::Close { rec, .. }
            | CaseCmd::Reopen { rec, .. },
        ) => fill(rec)?,
        Cmd::Case(CaseCmd::Edit(e)) => fill(&mut e.rec)?,
        Cmd::Case(CaseCmd::Act { date, operator, .. }) => {
            let mut rec = Recording { date: date.take(), operator: operator.take() };
            fill(&mut rec)?;
            (*date, *operator) = (rec.date, rec.operator);
        }
        Cmd::Alerts { as_of, .. } => *as_of = Some(defaults::date(as_of.as_deref(), "--as-of")?.to_string()),
        Cmd::Student(StudentCmd::List { .. } | StudentCmd::Show { .. })
        | Cmd::Case(CaseCmd::List { .. } | CaseCmd::Show { .. })
        | Cmd::Status { .. }
        | Cmd::User(_)
        | Cmd::Backup { .. }
        | Cmd::Restore { .. }
        | Cmd::Serve(_)
        | Cmd::Bench(_)
        | Cmd::Init(_)
        | Cmd::Join { .. }
        | Cmd::Sync { .. }
        | Cmd::Run { .. } => {}
    }
    Ok(cmd)
}

/// Runs one command in `ctx`.
pub fn run_in(ctx: &Context, cmd: Cmd) -> Result<Output> {
    let dir = ctx.dir.clone();
    match cmd {
        Cmd::Init(i) => {
            if let Some(bundle) = &i.bundle {
                return cmd::sync::init_bundle(&dir, bundle);
            }
            let args = cmd::init::InitArgs {
                county_code: i.county_code.as_deref().unwrap_or(""),
                county_name: i.county_name.as_deref(),
                township: i.township.as_deref().unwrap_or(""),
                org: i.org.as_deref().unwrap_or(std::path::Path::new("")),
                policy: i.policy.as_deref(),
            };
            cmd::init::init(&dir, &args)
        }
        Cmd::Backup { out, recipient } => cmd::backup::backup(&dir, &out, recipient.as_deref()),
        Cmd::Restore { file, identity } => cmd::backup::restore(&dir, &file, &identity),
        Cmd::Join { bundle } => cmd::sync::join(&dir, &bundle),
        Cmd::Sync { hub, json } => cmd::sync::sync_now(&dir, hub.as_deref(), json),
        Cmd::Run { hub, now, retry_base_secs, serve, web } => {
            if serve || web.lan || web.listen.is_some() {
                let mut opts = crate::sync::RunOptions { hub_override: hub, sync_at_start: now, ..Default::default() };
                if let Some(secs) = retry_base_secs {
                    opts.retry_base = std::time::Duration::from_secs(secs);
                }
                let args =
                    cmd::serve::ServeArgs { listen: web.listen, lan: web.lan, hosts: web.hosts, sync: Some(opts) };
                return cmd::serve::serve(&dir, args);
            }
            cmd::sync::run(&dir, hub, now, retry_base_secs)
        }
        Cmd::Serve(s) => {
            let args = cmd::serve::ServeArgs { listen: s.web.listen, lan: s.web.lan, hosts: s.web.hosts, sync: None };
            cmd::serve::serve(&dir, args)
        }
        Cmd::Bench(BenchCmd::Web { students, rounds }) => cmd::bench::web(students, rounds),
        Cmd::User(u) => {
            let l = ctx.ledger()?;
            match u {
                UserCmd::Add { login, name, role, school, classes } => {
                    let a = cmd::user::AddArgs {
                        login: &login,
                        name: &name,
                        role: &role,
                        school: school.as_deref(),
                        classes: classes.as_deref(),
                    };
                    cmd::user::add(&l, &a, &baoxue_shared::Date::today().to_string())
                }
                UserCmd::Reset { login } => cmd::user::reset(&l, &login),
                UserCmd::Disable { login } => cmd::user::disable(&l, &login),
                UserCmd::List => cmd::user::list(&l),
            }
        }
        Cmd::Status { json } => cmd::status::status(&*ctx.ledger()?, json),
        Cmd::Alerts { as_of, json } => {
            let as_of = defaults::date(as_of.as_deref(), "--as-of")?;
            cmd::alerts::alerts(&*ctx.ledger()?, as_of, json)
        }
        Cmd::Absence(a) => {
            let stamp = a.rec.stamp()?;
            let l = ctx.ledger()?;
            match (&a.withdraw, &a.kind) {
                (Some(reason), _) => {
                    let s = l.student(&a.student)?;
                    let out = cmd::absence::withdraw(&l, &s, stamp.date, reason, &stamp)?;
                    Ok(format!("{}\n", out.text).into())
                }
                (None, Some(kind)) => cmd::absence::absence(&l, &a.student, kind, a.school_open.as_deref(), &stamp),
                (None, None) => {
                    Err(crate::error::invalid("请用 --kind 给出缺勤类型，或用 --withdraw 撤回误记的缺勤".to_string()))
                }
            }
        }
        Cmd::Student(sc) => student(ctx, sc),
        Cmd::Case(cc) => case(ctx, cc),
    }
}

fn student(ctx: &Context, sc: StudentCmd) -> Result<Output> {
    use cmd::student as st;
    match sc {
        StudentCmd::Import { file, dry_run, skip_bad, rec } => {
            let stamp = rec.stamp()?;
            st::import(&*ctx.ledger()?, &st::ImportArgs { file: &file, dry_run, skip_bad }, &stamp)
        }
        StudentCmd::Add(a) => {
            let stamp = a.rec.stamp()?;
            let input = StudentInput {
                student_no: a.student_no.clone(),
                id_number: s(&a.id),
                name: a.name.clone(),
                sex: a.sex.clone(),
                birth: a.birth.clone(),
                school: a.school.clone(),
                grade: a.grade.clone(),
                class: s(&a.class),
                hukou_township: s(&a.hukou_township),
                hukou_village: s(&a.hukou_village),
                entry_year: s(&a.entry_year),
                groups: s(&a.groups),
                guardian: s(&a.guardian),
                phone: s(&a.phone),
            };
            st::add(&*ctx.ledger()?, &input, &stamp)
        }
        StudentCmd::List { school, status, all, unmasked, json } => st::list(
            &*ctx.ledger()?,
            &st::ListArgs { school: school.as_deref(), status: status.as_deref(), all, json, unmasked },
        ),
        StudentCmd::Show { student, json, unmasked } => st::show(&*ctx.ledger()?, &student, json, unmasked),
        StudentCmd::Status { student, status, reason, rec } => {
            let stamp = rec.stamp()?;
            st::set_status(&*ctx.ledger()?, &student, &status, reason.as_deref(), &stamp)
        }
        StudentCmd::Transfer { student, to_school, out_of_county, rec } => {
            let stamp = rec.stamp()?;
            let to = match (&to_school, &out_of_county) {
                (Some(sch), _) => st::TransferTo::School(sch),
                (None, Some(place)) => st::TransferTo::OutOfCounty(place),
                (None, None) => return Err(crate::error::invalid("请用 --to-school 或 --out-of-county 指明转往何处")),
            };
            st::transfer(&*ctx.ledger()?, &student, to, &stamp)
        }
        StudentCmd::Accept { student, rec } => {
            let stamp = rec.stamp()?;
            st::accept(&*ctx.ledger()?, &student, &stamp)
        }
        StudentCmd::Edit(e) => {
            let stamp = e.rec.stamp()?;
            let args = st::EditArgs {
                name: e.name.as_deref(),
                class: e.class.as_deref(),
                grade: e.grade.as_deref(),
                guardian: e.guardian.as_deref(),
                phone: e.phone.as_deref(),
                groups: e.groups.as_deref(),
                hukou_township: e.hukou_township.as_deref(),
                hukou_village: e.hukou_village.as_deref(),
                hukou_county: e.hukou_county.as_deref(),
            };
            st::edit(&*ctx.ledger()?, &e.student, &args, &stamp)
        }
    }
}

fn case(ctx: &Context, cc: CaseCmd) -> Result<Output> {
    use cmd::case as c;
    match cc {
        CaseCmd::Open { student, cause, rec } => {
            let stamp = rec.stamp()?;
            c::open(&*ctx.ledger()?, &student, cause.as_deref(), &stamp)
        }
        CaseCmd::Edit(e) => {
            let stamp = e.rec.stamp()?;
            let args = c::EditArgs {
                cause: e.cause.as_deref(),
                plan: e.plan.as_deref(),
                teacher: e.teacher.as_deref(),
                mentor: e.mentor.as_deref(),
                cadre: e.cadre.as_deref(),
                village_cadre: e.village_cadre.as_deref(),
            };
            c::edit(&*ctx.ledger()?, &e.case, &args, &stamp)
        }
        CaseCmd::Confirm { case, rec } => {
            let stamp = rec.stamp()?;
            c::confirm(&*ctx.ledger()?, &case, &stamp)
        }
        CaseCmd::Act { case, kind, by, notice, text, visit, date, operator } => {
            let stamp = Recording { date, operator }.stamp()?;
            let by = by.unwrap_or_else(|| stamp.author.clone());
            let visit = c::VisitArgs {
                time: visit.time.as_deref(),
                companion: visit.companion.as_deref(),
                reason: visit.reason.as_deref(),
                address: visit.address.as_deref(),
                content: visit.content.as_deref(),
                school_opinion: visit.school_opinion.as_deref(),
                parent_opinion: visit.parent_opinion.as_deref(),
            };
            let args = c::ActArgs { kind: &kind, by: &by, notice: notice.as_deref(), text: text.as_deref(), visit };
            c::act(&*ctx.ledger()?, &case, &args, &stamp)
        }
        CaseCmd::Close {
            case,
            outcome,
            evidence,
            applied,
            applicant,
            approved_by,
            approver,
            ground,
            until,
            school,
            place,
            document,
            rec,
        } => {
            let stamp = rec.stamp()?;
            let args = c::CloseArgs {
                evidence: evidence.as_deref(),
                applied: applied.as_deref(),
                applicant: applicant.as_deref(),
                approved_by: approved_by.as_deref(),
                approver: approver.as_deref(),
                ground: ground.as_deref(),
                until: until.as_deref(),
                school: school.as_deref(),
                place: place.as_deref(),
                document: document.as_deref(),
            };
            c::close(&*ctx.ledger()?, &case, &outcome, &args, &stamp)
        }
        CaseCmd::Reopen { case, reason, rec } => {
            let stamp = rec.stamp()?;
            c::reopen(&*ctx.ledger()?, &case, &reason, &stamp)
        }
        CaseCmd::List { open, unmasked, json } => c::list(&*ctx.ledger()?, open, json, unmasked),
        CaseCmd::Show { case, json, unmasked } => c::show(&*ctx.ledger()?, &case, json, unmasked),
    }
}
