//! `user add|reset|disable|list`: the app's accounts, managed at the PC's console — how the
//! first administrator is created and a forgotten password recovered (a one-time password is
//! printed here; the user must choose their own at the next login).

use baoxue_web::accounts::{check_login, hash_password, one_time_password, Account, AccountStore, HashCost};

use crate::error::{invalid, not_found, Result};
use crate::ledger::Ledger;
use crate::output::Output;
use crate::web::access::Role;
use crate::web::accounts::StoreAccounts;

fn store_err(e: baoxue_web::WebError) -> crate::NodeError {
    crate::NodeError::Refused(e.to_string())
}

pub struct AddArgs<'a> {
    pub login: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub school: Option<&'a str>,
    pub classes: Option<&'a str>,
}

pub fn add(l: &Ledger, a: &AddArgs, today: &str) -> Result<Output> {
    let role = Role::parse(a.role).ok_or_else(|| {
        invalid(format!(
            "角色「{}」无效：应为 班主任(teacher)、校长(principal)、乡镇(township) 或 管理员(admin)",
            a.role
        ))
    })?;
    let login = a.login.trim();
    check_login(login).map_err(invalid)?;
    if a.name.trim().is_empty() {
        return Err(invalid("--name 姓名不能为空"));
    }
    let school = a.school.unwrap_or("").trim();
    if !school.is_empty() && l.config.org.school(school).map(|s| s.township != l.township()).unwrap_or(true) {
        return Err(invalid(format!("学校「{school}」不是本乡镇（{}）的学校", l.township())));
    }
    let scope = crate::web::admin::scope_of(role, school, a.classes.unwrap_or("")).map_err(invalid)?;
    let store = StoreAccounts(l.store.clone());
    let mut accounts = store.load().map_err(store_err)?;
    if accounts.find(login).is_some() {
        return Err(invalid(format!("登录名「{login}」已存在；忘记密码请用 user reset {login}")));
    }
    let otp = one_time_password();
    accounts.users.push(Account {
        login: login.to_string(),
        name: a.name.trim().to_string(),
        role: role.key().into(),
        scope: scope.clone(),
        hash: hash_password(&otp, HashCost::from_env()),
        disabled: false,
        must_change: true,
        created: today.to_string(),
    });
    store.save(&accounts).map_err(store_err)?;
    let scope_text = if scope.is_empty() { "全乡镇".to_string() } else { scope.join("、") };
    Ok(format!(
        "已添加用户 {login}（{}，{}，范围：{scope_text}）\n一次性密码：{otp}\n请当面告知本人；首次登录后须设置新密码。\n",
        a.name.trim(),
        role.label()
    )
    .into())
}

pub fn reset(l: &Ledger, login: &str) -> Result<Output> {
    let store = StoreAccounts(l.store.clone());
    let mut accounts = store.load().map_err(store_err)?;
    let acc = accounts.find_mut(login).ok_or_else(|| not_found(format!("没有用户「{}」", login.trim())))?;
    let otp = one_time_password();
    acc.hash = hash_password(&otp, HashCost::from_env());
    acc.must_change = true;
    acc.disabled = false;
    let name = format!("{}（{}）", acc.login, acc.name);
    store.save(&accounts).map_err(store_err)?;
    Ok(format!("已重置用户 {name} 的密码\n一次性密码：{otp}\n首次登录后须设置新密码。\n").into())
}

pub fn disable(l: &Ledger, login: &str) -> Result<Output> {
    let store = StoreAccounts(l.store.clone());
    let mut accounts = store.load().map_err(store_err)?;
    let acc = accounts.find_mut(login).ok_or_else(|| not_found(format!("没有用户「{}」", login.trim())))?;
    acc.disabled = true;
    let name = format!("{}（{}）", acc.login, acc.name);
    store.save(&accounts).map_err(store_err)?;
    Ok(format!("已停用用户 {name}：不能再登录，已登录的会话在下一次请求时结束\n").into())
}

pub fn list(l: &Ledger) -> Result<Output> {
    let accounts = StoreAccounts(l.store.clone()).load().map_err(store_err)?;
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
        o.push_str(&format!("{}  {}  {role}  {}  {state}\n", u.login, u.name, u.scope.join("、")));
    }
    o.push_str(&format!("共 {} 个用户\n", accounts.users.len()));
    Ok(o.into())
}
