//! The dashboard's accounts (the hub's own: a township official's node account is separate),
//! kept in `<data>/web/accounts.json` (mode 0600, replaced atomically), and `baoxue-hub user
//! add|reset|disable|list`, which work on the file whether or not `serve` is running (the
//! server reads it at every request, so a disabled account is out at its next click).

use std::path::{Path, PathBuf};

use baoxue_web::accounts::{check_login, hash_password, one_time_password, Account, AccountStore, Accounts, HashCost};
use baoxue_web::WebError;
use clap::Subcommand;

use super::access::Role;
use crate::data::{HubDir, HubError, Result};

/// `<data>/web/`: accounts and the audit log.
pub fn web_dir(data: &Path) -> PathBuf {
    data.join("web")
}

/// The accounts file of a data directory.
pub struct FileAccounts {
    path: PathBuf,
}

impl FileAccounts {
    pub fn new(data: &Path) -> FileAccounts {
        FileAccounts { path: web_dir(data).join("accounts.json") }
    }
}

impl AccountStore for FileAccounts {
    fn load(&self) -> std::result::Result<Accounts, WebError> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => serde_json::from_str(&t)
                .map_err(|e| WebError::Internal(format!("账户文件 {} 无法读取：{e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Accounts::default()),
            Err(e) => Err(WebError::Internal(format!("账户文件 {} 无法读取：{e}", self.path.display()))),
        }
    }

    fn save(&self, accounts: &Accounts) -> std::result::Result<(), WebError> {
        let text = serde_json::to_string_pretty(accounts).map_err(|e| WebError::Internal(e.to_string()))?;
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d).map_err(|e| WebError::Internal(format!("无法创建 {}：{e}", d.display())))?;
        }
        baoxue_net::write_file_atomic(&self.path, text.as_bytes(), true)
            .map_err(|e| WebError::Internal(format!("无法写入 {}：{e}", self.path.display())))
    }
}

/// `baoxue-hub user …`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// 添加网页账户，打印一次性密码（首次登录须修改）
    Add {
        /// 登录名（英文字母、数字）
        login: String,
        /// 姓名
        #[arg(long)]
        name: String,
        /// 角色：教育局管理员(admin)、基教股(bureau)、乡镇(township)、督导(inspector)
        #[arg(long)]
        role: String,
        /// 乡镇（乡镇账户必填：只能查看本乡镇）
        #[arg(long)]
        township: Option<String>,
    },
    /// 重置密码（打印新的一次性密码）并解除停用
    Reset { login: String },
    /// 停用账户
    Disable { login: String },
    /// 列出账户
    List,
}

fn refused(e: WebError) -> HubError {
    HubError::Invalid(e.to_string())
}

/// Runs a `user` command; returns what to print.
pub fn run(dir: &HubDir, cmd: &UserCmd) -> Result<String> {
    let store = FileAccounts::new(&dir.root);
    let mut accounts = store.load().map_err(refused)?;
    let today = baoxue_shared::Date::today().to_string();
    let out = match cmd {
        UserCmd::Add { login, name, role, township } => {
            let role = Role::parse(role).ok_or_else(|| {
                HubError::Invalid(format!(
                    "角色「{role}」无效：应为 教育局管理员(admin)、基教股(bureau)、乡镇(township) 或 督导(inspector)"
                ))
            })?;
            let login = login.trim();
            check_login(login).map_err(HubError::Invalid)?;
            if name.trim().is_empty() {
                return Err(HubError::Invalid("--name 姓名不能为空".into()));
            }
            let scope = match (role, township.as_deref().map(str::trim)) {
                (Role::Township, Some(t)) if !t.is_empty() => {
                    if !dir.org()?.townships.contains_key(t) {
                        return Err(HubError::Invalid(format!("乡镇「{t}」不在本县学校名单中")));
                    }
                    vec![t.to_string()]
                }
                (Role::Township, _) => return Err(HubError::Invalid("乡镇账户须用 --township 指定乡镇".into())),
                (_, Some(t)) if !t.is_empty() => {
                    return Err(HubError::Invalid(format!(
                        "只有乡镇账户可指定 --township（{}可查看全县）",
                        role.label()
                    )))
                }
                _ => Vec::new(),
            };
            if accounts.find(login).is_some() {
                return Err(HubError::Invalid(format!("登录名「{login}」已存在；忘记密码请用 user reset {login}")));
            }
            let otp = one_time_password();
            accounts.users.push(Account {
                login: login.to_string(),
                name: name.trim().to_string(),
                role: role.key().into(),
                scope: scope.clone(),
                hash: hash_password(&otp, HashCost::from_env()),
                disabled: false,
                must_change: true,
                created: today,
            });
            store.save(&accounts).map_err(refused)?;
            let scope_text = if scope.is_empty() { "全县".to_string() } else { scope.join("、") };
            format!(
                "已添加用户 {login}（{}，{}，范围：{scope_text}）\n一次性密码：{otp}\n请当面告知本人；首次登录后须设置新密码。\n",
                name.trim(),
                role.label()
            )
        }
        UserCmd::Reset { login } => {
            let acc =
                accounts.find_mut(login).ok_or_else(|| HubError::Invalid(format!("没有用户「{}」", login.trim())))?;
            let otp = one_time_password();
            acc.hash = hash_password(&otp, HashCost::from_env());
            acc.must_change = true;
            acc.disabled = false;
            let who = format!("{}（{}）", acc.login, acc.name);
            store.save(&accounts).map_err(refused)?;
            format!("已重置用户 {who} 的密码\n一次性密码：{otp}\n首次登录后须设置新密码。\n")
        }
        UserCmd::Disable { login } => {
            let acc =
                accounts.find_mut(login).ok_or_else(|| HubError::Invalid(format!("没有用户「{}」", login.trim())))?;
            acc.disabled = true;
            let who = format!("{}（{}）", acc.login, acc.name);
            store.save(&accounts).map_err(refused)?;
            format!("已停用用户 {who}：不能再登录，已登录的会话在下一次请求时结束\n")
        }
        UserCmd::List => {
            let mut o = String::new();
            for u in &accounts.users {
                let role = Role::parse(&u.role).map(|r| r.label()).unwrap_or(&u.role);
                let state = if u.disabled {
                    "已停用"
                } else if u.must_change {
                    "待改密"
                } else {
                    "正常"
                };
                let scope = if u.scope.is_empty() { "全县".to_string() } else { u.scope.join("、") };
                o.push_str(&format!("{}  {}  {role}  {scope}  {state}\n", u.login, u.name));
            }
            o.push_str(&format!("共 {} 个用户\n", accounts.users.len()));
            o
        }
    };
    Ok(out)
}
