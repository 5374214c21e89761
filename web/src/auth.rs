//! Login, logout and password change, and the middleware that turns a session cookie into the
//! [`CurrentUser`] of a request. [`app`] assembles a front end: public routes (login, assets),
//! the app's protected routes (never reached without a live session), the CSRF check, and the
//! security headers, in that order of nesting.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::html;
use serde::Deserialize;

use crate::accounts::{check_new_password, hash_password, verify_password, AccountStore, HashCost};
use crate::audit::Audit;
use crate::clock::Clock;
use crate::cookies;
use crate::error::WebError;
use crate::layout::{self, csrf_field, Chrome, Flash};
use crate::ratelimit::LoginLimiter;
use crate::session::{token, Lifetimes, Sessions};

/// How the app authenticates.
#[derive(Debug, Clone, Copy)]
pub struct AuthConfig {
    /// Mark cookies `Secure` (the app is served over HTTPS).
    pub secure_cookies: bool,
    pub lifetimes: Lifetimes,
    pub hash_cost: HashCost,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { secure_cookies: false, lifetimes: Lifetimes::default(), hash_cost: HashCost::from_env() }
    }
}

/// The app's chrome for a user (navigation depends on the role).
pub type ChromeFn = dyn Fn(Option<&CurrentUser>) -> Chrome + Send + Sync;
/// The Chinese label of a role key.
pub type RoleLabelFn = dyn Fn(&str) -> String + Send + Sync;

/// Everything login needs; shared by every request.
pub struct Auth {
    pub accounts: Arc<dyn AccountStore>,
    pub sessions: Sessions,
    pub limiter: LoginLimiter,
    pub audit: Audit,
    pub config: AuthConfig,
    pub clock: Clock,
    pub app_name: String,
    pub chrome: Box<ChromeFn>,
    pub role_label: Box<RoleLabelFn>,
    /// Verified against when the login is unknown, so timing does not reveal which logins exist.
    dummy_hash: String,
}

impl Auth {
    pub fn new(
        app_name: &str,
        accounts: Arc<dyn AccountStore>,
        audit: Audit,
        config: AuthConfig,
        chrome: Box<ChromeFn>,
        role_label: Box<RoleLabelFn>,
    ) -> Auth {
        let clock = Clock::default();
        Auth {
            accounts,
            sessions: Sessions::new(config.lifetimes, clock.clone()),
            limiter: LoginLimiter::default(),
            audit,
            config,
            clock,
            app_name: app_name.into(),
            chrome,
            role_label,
            dummy_hash: hash_password("dummy password", config.hash_cost),
        }
    }

    /// A page with the app's chrome for this user.
    pub fn page(
        &self,
        title: &str,
        user: &CurrentUser,
        path: &str,
        flash: Option<&Flash>,
        body: maud::Markup,
    ) -> Html<String> {
        let chrome = (self.chrome)(Some(user));
        let body = html! { @if let Some(f) = flash { (layout::flash(f)) } (body) };
        Html(layout::page(title, &chrome, Some(user), path, body).into_string())
    }
}

/// The logged-in user of a request (an extension put there by the session middleware).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub login: String,
    pub name: String,
    pub role: String,
    pub role_label: String,
    pub scope: Vec<String>,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The client's address (for logs).
    pub address: String,
    pub must_change: bool,
}

/// The client's address, as the connection reports it.
fn address(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<crate::serve::ClientAddr>>()
        .map(|c| c.0 .0.ip().to_string())
        .unwrap_or_else(|| "本机".into())
}

/// Resolves the session cookie into a [`CurrentUser`] extension (if the session is live and
/// the account enabled) and sends a user who must change their password to that page first.
async fn load_user(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let addr = address(&req);
    let mut had_cookie = false;
    if let Some(tok) = cookies::get(req.headers(), cookies::SESSION) {
        had_cookie = true;
        if let Some(s) = auth.sessions.get(&tok) {
            match auth.accounts.load().map(|a| a.find(&s.login).cloned()) {
                Ok(Some(acc)) if !acc.disabled => {
                    let user = CurrentUser {
                        role_label: (auth.role_label)(&acc.role),
                        login: acc.login,
                        name: acc.name,
                        role: acc.role,
                        scope: acc.scope,
                        csrf: s.csrf,
                        address: addr.clone(),
                        must_change: acc.must_change,
                    };
                    req.extensions_mut().insert(user);
                }
                Ok(_) => auth.sessions.remove(&tok),
                Err(e) => return e.into_response(),
            }
        }
    }
    req.extensions_mut().insert(SessionCookie(had_cookie));
    next.run(req).await
}

/// Whether the request came with a session cookie (live or not).
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie(pub bool);

/// Protected routes: no live session → the login page (GET) or a "log in again" page.
async fn require_user(req: Request, next: Next) -> Response {
    let Some(user) = req.extensions().get::<CurrentUser>() else {
        if req.method() == Method::GET {
            let next_path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("next", next_path).finish();
            return Redirect::to(&format!("/login?{q}")).into_response();
        }
        return WebError::LoginRequired.into_response();
    };
    let path = req.uri().path();
    if user.must_change && path != "/password" && path != "/logout" {
        return Redirect::to("/password").into_response();
    }
    next.run(req).await
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
}

/// Only local paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

fn login_response(auth: &Auth, status: StatusCode, error: Option<&str>, next: &str, login: &str) -> Response {
    let pre = token();
    let page = layout::login_page(&auth.app_name, error, &pre, next, login);
    let mut res = (status, Html(page.into_string())).into_response();
    let c = cookies::set(cookies::PRE_LOGIN, &pre, None, auth.config.secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_page(
    State(auth): State<Arc<Auth>>,
    user: Option<Extension<CurrentUser>>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    login_response(&auth, StatusCode::OK, None, &safe_next(q.next.as_deref()), "")
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(State(auth): State<Arc<Auth>>, req: Request) -> Response {
    let addr = address(&req);
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &()).await else {
        return WebError::BadRequest("登录表单不完整：请填写登录名和密码".into()).into_response();
    };
    let next = safe_next(f.next.as_deref());
    let login = f.login.trim().to_string();
    if let Err(wait) = auth.limiter.check(&auth.clock, &login, &addr) {
        auth.audit.record("login_limited", &login, &addr, "登录失败次数过多，已暂停");
        let msg = format!("登录失败次数过多，请 {} 分钟后再试", (wait + 59) / 60);
        return login_response(&auth, StatusCode::TOO_MANY_REQUESTS, Some(&msg), &next, &login);
    }
    let accounts = match auth.accounts.load() {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let account = accounts.find(&login).cloned();
    let hash_ok = match &account {
        Some(a) => verify_password(&f.password, &a.hash),
        None => {
            let _ = verify_password(&f.password, &auth.dummy_hash);
            false
        }
    };
    match account {
        Some(a) if hash_ok && !a.disabled => {
            auth.limiter.success(&a.login);
            let (tok, _) = auth.sessions.create(&a.login);
            auth.audit.record("login_ok", &a.login, &addr, "登录成功");
            let to = if a.must_change { "/password".to_string() } else { next };
            let mut res = Redirect::to(&to).into_response();
            let c = cookies::set(cookies::SESSION, &tok, Some(auth.config.lifetimes.max), auth.config.secure_cookies);
            let clear = cookies::set(cookies::PRE_LOGIN, "", Some(0), auth.config.secure_cookies);
            for v in [c, clear] {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Some(a) if hash_ok => {
            auth.audit.record("login_failed", &a.login, &addr, "账户已停用");
            login_response(&auth, StatusCode::FORBIDDEN, Some("该账户已停用，请联系本校管理员"), &next, &login)
        }
        _ => {
            auth.limiter.failure(&auth.clock, &login, &addr);
            auth.audit.record("login_failed", &login, &addr, "登录名或密码不正确");
            login_response(&auth, StatusCode::UNAUTHORIZED, Some("登录名或密码不正确"), &next, &login)
        }
    }
}

async fn logout(State(auth): State<Arc<Auth>>, Extension(user): Extension<CurrentUser>, req: Request) -> Response {
    if let Some(tok) = cookies::get(req.headers(), cookies::SESSION) {
        auth.sessions.remove(&tok);
    }
    auth.audit.record("logout", &user.login, &user.address, "退出登录");
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookies::set(cookies::SESSION, "", Some(0), auth.config.secure_cookies)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn password_page(auth: &Auth, user: &CurrentUser, error: Option<&str>) -> Response {
    let body = html! {
        h1 { "修改密码" }
        @if user.must_change { p.flash.flash-info { "您使用的是一次性密码，请先设置自己的新密码（至少 8 个字符）。" } }
        @if let Some(e) = error { p.flash.flash-error role="alert" { (e) } }
        form.stack method="post" action="/password" {
            (csrf_field(&user.csrf))
            @if !user.must_change {
                label { "当前密码" input type="password" name="current" autocomplete="current-password" required; }
            }
            label { "新密码 " span.hint { "至少 8 个字符" } input type="password" name="new" autocomplete="new-password" required; }
            label { "再输入一次新密码" input type="password" name="again" autocomplete="new-password" required; }
            button type="submit" { "保存新密码" }
        }
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, auth.page("修改密码", user, "/password", None, body)).into_response()
}

async fn password_form(State(auth): State<Arc<Auth>>, Extension(user): Extension<CurrentUser>) -> Response {
    password_page(&auth, &user, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    current: Option<String>,
    new: String,
    again: String,
}

async fn password_submit(
    State(auth): State<Arc<Auth>>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let mut accounts = match auth.accounts.load() {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let Some(acc) = accounts.find_mut(&user.login) else { return WebError::LoginRequired.into_response() };
    if !acc.must_change && !verify_password(f.current.as_deref().unwrap_or(""), &acc.hash) {
        return password_page(&auth, &user, Some("当前密码不正确"));
    }
    if f.new != f.again {
        return password_page(&auth, &user, Some("两次输入的新密码不一致"));
    }
    if let Err(e) = check_new_password(&acc.login, &f.new) {
        return password_page(&auth, &user, Some(&e));
    }
    acc.hash = hash_password(&f.new, auth.config.hash_cost);
    acc.must_change = false;
    if let Err(e) = auth.accounts.save(&accounts) {
        return e.into_response();
    }
    auth.audit.record("password", &user.login, &user.address, "修改密码");
    Redirect::to("/?flash=password").into_response()
}

use axum::extract::FromRequest;

/// Assembles a front end: `protected` routes run only with a live session; login, logout,
/// password change and the assets are added; CSRF is checked for every unsafe request and the
/// security headers are set on every response.
pub fn app(auth: Arc<Auth>, protected: Router) -> Router {
    let public = Router::new()
        .route("/login", get(login_page).post(login_submit))
        .with_state(auth.clone())
        .merge(crate::assets::routes());
    let own = Router::new()
        .route("/logout", post(logout))
        .route("/password", get(password_form).post(password_submit))
        .with_state(auth.clone());
    let protected = protected.merge(own).route_layer(from_fn(require_user));
    public
        .merge(protected)
        .layer(from_fn(crate::csrf::verify))
        .layer(from_fn_with_state(auth, load_user))
        .layer(from_fn(crate::headers::security))
}
