//! Administration: user accounts (add, with a one-time password), the manual sync with the
//! county hub and its result, and — public, so a phone can fetch it before trusting the node —
//! the LAN certificate with instructions and a QR code of the app's address.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use baoxue_web::accounts::{check_login, hash_password, one_time_password, Account};
use baoxue_web::layout::{bare_page, csrf_field};
use baoxue_web::{html, CurrentUser, WebError};
use serde::Deserialize;

use super::access::{ClassKey, Perm, Role};
use super::{access_of, flash_of, with_ok, App};

pub async fn page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::Users)?;
    let l = app.ledger()?;
    let accounts = app.auth.accounts.load()?;
    let last = app.last_sync.lock().map(|s| s.clone()).unwrap_or(None);
    let schools: Vec<String> = l.config.org.schools_in(l.township()).map(|s| s.name.clone()).collect();
    let body = html! {
        h1 { "管理" }
        h2 { "与县级平台同步" }
        @if l.config.hub.is_some() {
            form method="post" action="/admin/sync" {
                (csrf_field(&user.csrf))
                p.will-write { "立即把本节点未上报的修订发送到县级平台，并接收平台的更新（通常几秒钟）。" }
                button type="submit" { "立即同步" }
            }
            @if let Some(s) = last { pre.card { (s) } }
        } @else {
            p.muted { "本节点尚未加入县级平台（离线节点）：收到县教育局签发的配置包后，在服务器上运行 baoxue-node join --bundle 文件。" }
        }
        h2 { "用户" }
        div.table-wrap { table {
            thead { tr { th { "登录名" } th { "姓名" } th { "角色" } th { "范围" } th { "状态" } } }
            tbody { @for u in &accounts.users {
                tr {
                    td { (u.login) } td { (u.name) }
                    td { (Role::parse(&u.role).map(|r| r.label()).unwrap_or(&u.role)) }
                    td { (u.scope.join("；")) }
                    td { @if u.disabled { "已停用" } @else if u.must_change { "待首次登录改密" } @else { "正常" } }
                }
            } }
        } }
        h3 { "添加用户" }
        form.stack method="post" action="/admin/users" {
            (csrf_field(&user.csrf))
            label { "登录名 " span.hint { "英文字母或数字，如 liu" } input type="text" name="login" required; }
            label { "姓名" input type="text" name="name" required; }
            label { "角色" select name="role" { @for r in Role::ALL { option value=(r.key()) { (r.label()) } } } }
            label { "学校 " span.hint { "校长/学校管理员、班主任填写" } select name="school" { option value="" { "—" } @for s in &schools { option value=(s) { (s) } } } }
            label { "班级 " span.hint { "班主任填写，如 4/2 表示四年级2班；多个班用逗号分隔" } input type="text" name="classes"; }
            p.will-write { "将创建账户并生成一次性密码，请当面告知本人；首次登录时须设置新密码。" }
            button type="submit" { "添加" }
        }
        p.muted.small { "重置密码、停用账户：在服务器上运行 baoxue-node user reset 登录名 / baoxue-node user disable 登录名。" }
    };
    Ok(app.auth.page("管理", &user, "/admin", flash_of(&q).as_ref(), body).into_response())
}

#[derive(Deserialize)]
pub struct AddUser {
    login: String,
    name: String,
    role: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    classes: String,
}

/// The scope entries of a new account from the form (or the CLI).
pub fn scope_of(role: Role, school: &str, classes: &str) -> Result<Vec<String>, String> {
    match role {
        Role::Principal if school.trim().is_empty() => Err("校长/学校管理员须选择学校".into()),
        Role::Principal => Ok(vec![school.trim().to_string()]),
        Role::Teacher => {
            let mut v = Vec::new();
            for part in classes.split([',', '，', '、', ';', '；']).map(str::trim).filter(|s| !s.is_empty()) {
                let full =
                    if part.matches('/').count() >= 2 { part.to_string() } else { format!("{}/{part}", school.trim()) };
                let k = ClassKey::parse(&full).ok_or_else(|| format!("班级「{part}」无效：应为 年级/班，如 4/2"))?;
                v.push(k.key());
            }
            if v.is_empty() {
                return Err("班主任须填写所带班级，如 4/2".into());
            }
            Ok(v)
        }
        Role::Township | Role::Admin => Ok(Vec::new()),
    }
}

pub async fn add_user(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<AddUser>,
) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Users)?;
    let role = Role::parse(&f.role).ok_or_else(|| WebError::BadRequest("角色无效".into()))?;
    let login = f.login.trim().to_string();
    check_login(&login).map_err(WebError::BadRequest)?;
    if f.name.trim().is_empty() {
        return Err(WebError::BadRequest("姓名不能为空".into()));
    }
    let scope = scope_of(role, &f.school, &f.classes).map_err(WebError::BadRequest)?;
    let otp = one_time_password();
    let mut accounts = app.auth.accounts.load()?;
    if accounts.find(&login).is_some() {
        return Err(WebError::BadRequest(format!("登录名「{login}」已存在")));
    }
    accounts.users.push(Account {
        login: login.clone(),
        name: f.name.trim().to_string(),
        role: role.key().into(),
        scope,
        hash: hash_password(&otp, app.auth.config.hash_cost),
        disabled: false,
        must_change: true,
        created: app.today().to_string(),
    });
    app.auth.accounts.save(&accounts)?;
    app.auth.audit.record("user_add", &user.login, &user.address, &format!("添加用户 {login}（{}）", role.label()));
    Ok(Redirect::to(&with_ok("/admin", &format!("已添加用户 {login}，一次性密码：{otp}（首次登录须修改）")))
        .into_response())
}

pub async fn sync(State(app): State<Arc<App>>, Extension(user): Extension<CurrentUser>) -> Result<Response, WebError> {
    access_of(&user)?.require(Perm::Sync)?;
    let l = app.ledger()?;
    let report = crate::sync::sync_once(&l.store, &l.config, None).await;
    let text = match &report {
        Ok(r) => r.to_text(),
        Err(e) => format!("同步失败：{e}"),
    };
    if let Ok(mut s) = app.last_sync.lock() {
        *s = Some(text.clone());
    }
    app.auth.audit.record("sync", &user.login, &user.address, &text);
    let flash = match report {
        Ok(_) => with_ok("/admin", &text),
        Err(_) => format!("/admin?err={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()),
    };
    Ok(Redirect::to(&flash).into_response())
}

/// Public: how to trust this node's certificate on a phone or PC.
pub async fn lan_page(State(app): State<Arc<App>>) -> Response {
    let url = app.url.lock().map(|u| u.clone()).unwrap_or_default();
    let qr = qrcode::QrCode::new(url.as_bytes())
        .map(|c| c.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
        .unwrap_or_default();
    let qr_src = format!("data:image/svg+xml;base64,{}", base64(qr.as_bytes()));
    let body = html! {
        main { div.card {
            h1 { "在手机和电脑上信任本校的保学服务器" }
            @if app.lan_ca_pem.is_none() { p.flash.flash-info { "本服务器只在本机提供服务（未开启校园网 HTTPS），无需安装证书。" } }
            p { "用手机扫描二维码打开：" strong { (url) } }
            img src=(qr_src) alt={ "二维码：" (url) } width="200" height="200";
            @if app.lan_ca_pem.is_some() {
                p { a.button href="/lan/ca.crt" { "下载本校证书（baoxue-ca.crt）" } }
                h2 { "安卓手机" }
                p { "下载证书后，打开“设置 → 安全 → 加密与凭据 → 安装证书 → CA 证书”，选择刚下载的 baoxue-ca.crt，按提示确认。" }
                h2 { "苹果手机（iOS）" }
                p { "用 Safari 下载证书，允许安装描述文件；到“设置 → 通用 → VPN与设备管理”安装；再到“设置 → 通用 → 关于本机 → 证书信任设置”打开对本证书的完全信任。" }
                h2 { "Windows 电脑" }
                p { "双击下载的 baoxue-ca.crt → 安装证书 → 当前用户 → 将所有证书放入下列存储 → 受信任的根证书颁发机构 → 完成。然后重新打开浏览器。" }
                p.muted.small { "此证书只能用于校园网内的地址（192.168.x.x、10.x.x.x 等），不能为互联网网站作证。" }
            }
        } }
    };
    Html(bare_page("安装证书", body).into_string()).into_response()
}

pub async fn lan_ca(State(app): State<Arc<App>>) -> Response {
    match &app.lan_ca_pem {
        Some(pem) => match baoxue_net::lan::cert_der(pem) {
            Ok(der) => (
                [
                    (header::CONTENT_TYPE, "application/x-x509-ca-cert"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"baoxue-ca.crt\""),
                ],
                der,
            )
                .into_response(),
            Err(e) => WebError::Internal(e.to_string()).into_response(),
        },
        None => WebError::NotFound("本服务器未开启校园网 HTTPS，没有证书可下载".into()).into_response(),
    }
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
