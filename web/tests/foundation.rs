//! The foundation end to end: an app of one protected page, served on a real socket, driven
//! by HTTP requests (login, CSRF, expiry, headers) and by headless Chromium (login, a printed
//! A4 document read back with pdftotext).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Extension;
use axum::response::Html;
use axum::routing::{get, post};
use axum::Router;
use baoxue_web::accounts::{hash_password, Account, Accounts, HashCost, MemoryAccounts};
use baoxue_web::audit::Audit;
use baoxue_web::layout::{self, Chrome, NavItem};
use baoxue_web::{html, Auth, AuthConfig, CurrentUser};

fn auth() -> Arc<Auth> {
    let accounts = MemoryAccounts::default();
    {
        let mut a = accounts.0.lock().expect("lock");
        *a = Accounts {
            users: vec![Account {
                login: "liu".into(),
                name: "刘老师".into(),
                role: "teacher".into(),
                scope: vec![],
                hash: hash_password("secret-pass", HashCost::Cheap),
                disabled: false,
                must_change: false,
                created: String::new(),
            }],
        };
    }
    let config = AuthConfig { hash_cost: HashCost::Cheap, ..AuthConfig::default() };
    Arc::new(Auth::new(
        "保学 · 测试",
        Arc::new(accounts),
        Audit::new(None),
        config,
        Box::new(|_| Chrome {
            app_name: "保学 · 测试".into(),
            nav: vec![NavItem::new("/", "首页")],
            footer: vec!["上次同步：从未".into()],
        }),
        Box::new(|r| if r == "teacher" { "班主任".into() } else { r.into() }),
    ))
}

fn app(a: Arc<Auth>) -> Router {
    let a2 = a.clone();
    let protected = Router::new()
        .route(
            "/",
            get(move |Extension(u): Extension<CurrentUser>| {
                let a = a2.clone();
                async move {
                    a.page("首页", &u, "/", None, html! { h1 { "欢迎，" (u.name) } form method="post" action="/echo" { (layout::csrf_field(&u.csrf)) button #send type="submit" { "发送" } } })
                }
            }),
        )
        .route("/echo", post(|| async { "已收到" }))
        .route(
            "/doc",
            get(|| async {
                Html(layout::document("劝返复学通知书", "/", html! {
                    h1.doc-title { "劝返复学通知书" }
                    p.salutation { "张大山 同志：" }
                    p { "您的孩子张小明自 2026-09-07 起未到校上学。根据《中华人民共和国义务教育法》第五条，适龄儿童的父母应当保证其按时入学接受并完成义务教育。" }
                    div.issuer { span.seal { "（盖章）" } br; "鸦岭中心小学" br; "2026-09-20" }
                }).into_string())
            }),
        );
    baoxue_web::auth::app(a, protected)
}

async fn start(a: Arc<Auth>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app(a);
    tokio::spawn(baoxue_web::serve::serve(router, listener, None, std::future::pending()));
    addr
}

/// A tiny HTTP/1.1 client: enough for status, headers and body of the app's pages.
async fn request(addr: SocketAddr, method: &str, path: &str, cookie: &str, body: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn cookie_of(head: &str, name: &str) -> String {
    head.lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim()))
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .unwrap_or_default()
}

fn field(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    body.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string()
}

async fn login(addr: SocketAddr) -> (String, String) {
    let (_, head, body) = request(addr, "GET", "/login", "", "").await;
    let pre = cookie_of(&head, "bx_pre");
    let csrf = field(&body, "_csrf");
    let (status, head, _) =
        request(addr, "POST", "/login", &pre, &format!("_csrf={csrf}&login=liu&password=secret-pass&next=%2F")).await;
    assert_eq!(status, 303, "login redirects");
    let session = cookie_of(&head, "bx_session");
    assert!(head.contains("HttpOnly") && head.contains("SameSite=Strict"), "{head}");
    let (_, _, page) = request(addr, "GET", "/", &session, "").await;
    (session, field(&page, "_csrf"))
}

#[tokio::test]
async fn login_csrf_expiry_and_headers() {
    let a = auth();
    let addr = start(a.clone()).await;
    // Not logged in: the page sends to the login form, with the security headers.
    let (status, head, _) = request(addr, "GET", "/", "", "").await;
    assert_eq!(status, 303);
    assert!(head.contains("/login?next=%2F"), "{head}");
    assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
    assert!(head.contains("x-frame-options: DENY"));

    // A wrong password is refused and logged; the login page has no session cookie.
    let (_, h, body) = request(addr, "GET", "/login", "", "").await;
    let pre = cookie_of(&h, "bx_pre");
    let csrf = field(&body, "_csrf");
    let (status, _, body) =
        request(addr, "POST", "/login", &pre, &format!("_csrf={csrf}&login=liu&password=nope")).await;
    assert_eq!(status, 401);
    assert!(body.contains("登录名或密码不正确"));
    // The login form without its token is refused.
    let (status, _, _) = request(addr, "POST", "/login", &pre, "login=liu&password=secret-pass").await;
    assert_eq!(status, 403);

    let (session, csrf) = login(addr).await;
    let (status, _, body) = request(addr, "GET", "/", &session, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("欢迎，刘老师") && body.contains("班主任"), "{body}");
    // A form with the session's token passes; without it, or with another, it is refused.
    let (status, _, body) = request(addr, "POST", "/echo", &session, &format!("_csrf={csrf}")).await;
    assert_eq!((status, body.as_str()), (200, "已收到"));
    let (status, _, body) = request(addr, "POST", "/echo", &session, "_csrf=0000").await;
    assert_eq!(status, 403);
    assert!(body.contains("安全校验未通过"));
    let (status, _, _) = request(addr, "POST", "/echo", &session, "").await;
    assert_eq!(status, 403);

    // Two idle hours later the session is gone: GET goes to login, POST asks to log in again.
    a.clock.advance(2 * 3600 + 1);
    let (status, head, _) = request(addr, "GET", "/", &session, "").await;
    assert_eq!(status, 303);
    assert!(head.contains("/login"));
    let (status, _, body) = request(addr, "POST", "/echo", &session, &format!("_csrf={csrf}")).await;
    assert_eq!(status, 401);
    assert!(body.contains("登录已过期"));

    let events = a.audit.recent(10);
    assert!(events.iter().any(|e| e.kind == "login_failed" && e.login == "liu"));
    assert!(events.iter().any(|e| e.kind == "login_ok" && e.login == "liu"));
}

#[tokio::test]
async fn logins_are_rate_limited() {
    let addr = start(auth()).await;
    let (_, h, body) = request(addr, "GET", "/login", "", "").await;
    let pre = cookie_of(&h, "bx_pre");
    let csrf = field(&body, "_csrf");
    for _ in 0..5 {
        let (status, _, _) =
            request(addr, "POST", "/login", &pre, &format!("_csrf={csrf}&login=liu&password=bad")).await;
        assert_eq!(status, 401);
    }
    // Even the right password is refused now.
    let (status, _, body) =
        request(addr, "POST", "/login", &pre, &format!("_csrf={csrf}&login=liu&password=secret-pass")).await;
    assert_eq!(status, 429);
    assert!(body.contains("登录失败次数过多"));
}

#[test]
fn chromium_logs_in_and_prints_an_a4_document_with_chinese_text() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = rt.block_on(start(auth()));
    let mut b = baoxue_web::browser::Browser::launch().expect("Chromium (apt-get install chromium fonts-noto-cjk)");
    b.goto(&format!("http://{addr}/")).expect("open");
    assert!(b.url().expect("url").contains("/login"));
    b.fill("input[name=login]", "liu").expect("fill");
    b.fill("input[name=password]", "secret-pass").expect("fill");
    b.click_and_wait("button[type=submit]").expect("login");
    assert_eq!(b.text("h1").expect("h1"), "欢迎，刘老师");
    // The stylesheet applied (no CSP violation): the top bar has the brand colour.
    let bg = b.eval("getComputedStyle(document.querySelector('.topbar')).backgroundColor").expect("style");
    assert_eq!(bg, "rgb(11, 83, 148)");
    b.goto(&format!("http://{addr}/doc")).expect("doc");
    let pdf = b.pdf().expect("pdf");
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let dir = std::env::temp_dir().join(format!("bx-web-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("doc.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().expect("path"), "-"])
        .output()
        .expect("pdftotext (apt-get install poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("劝返复学通知书"), "{text}");
    assert!(text.contains("第五条"), "{text}");
    assert!(!text.contains("打印"), "the toolbar does not print: {text}");
    let info = std::process::Command::new("pdfinfo").arg(&path).output().expect("pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("(A4)"), "A4: {info}");
    let _ = std::fs::remove_dir_all(&dir);
}
