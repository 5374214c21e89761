//! `serve` (and `run --serve`): the school app on this node. By default on 127.0.0.1 only
//! (the PC it runs on); `--lan` serves the school's network over HTTPS with a certificate from
//! the node's own CA (kept in the store's meta), which the app offers for download at `/lan`.
//! The serving process owns the store for as long as it runs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use baoxue_net::Credentials;
use baoxue_web::{Auth, AuthConfig};

use crate::error::{invalid, NodeError, Result};
use crate::ledger::Ledger;
use crate::output::Output;
use crate::web::accounts::StoreAccounts;
use crate::web::{self, App};

/// Meta key of the LAN CA (certificate and key, PEM).
pub const META_LAN_CA: &str = "web_lan_ca";
/// Where the app listens by default (this PC only).
pub const DEFAULT_LOCAL: &str = "127.0.0.1:7080";
/// Where `--lan` listens by default.
pub const DEFAULT_LAN: &str = "0.0.0.0:7443";

pub struct ServeArgs {
    pub listen: Option<String>,
    pub lan: bool,
    /// Extra names or addresses for the LAN certificate.
    pub hosts: Vec<String>,
    /// Also sync at the policy's hour (`run --serve`).
    pub sync: Option<crate::sync::RunOptions>,
}

/// This PC's address on the LAN (the route a packet to the outside would take; nothing is sent).
fn lan_ip() -> Option<String> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:80").ok()?;
    s.local_addr().ok().map(|a| a.ip().to_string()).filter(|ip| ip != "0.0.0.0")
}

/// A name the LAN CA may vouch for (see `baoxue_net::lan`).
fn lan_name(h: &str) -> bool {
    match h.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_private() || v4.is_loopback(),
        Ok(_) => false,
        Err(_) => h == "localhost" || h.ends_with(".local") || h.ends_with(".lan"),
    }
}

fn lan_ca(l: &Ledger) -> Result<Credentials> {
    let stored: Option<String> = l.store.get_meta(META_LAN_CA)?;
    if let Some(text) = stored {
        if let Ok(c) = Credentials::from_pem_string(&text) {
            return Ok(c);
        }
    }
    let ca = baoxue_net::lan::generate_lan_ca(&l.config.origin).map_err(|e| invalid(e.to_string()))?;
    l.store.put_meta(META_LAN_CA, &ca.to_pem_string())?;
    l.store.flush()?;
    Ok(ca)
}

pub fn serve(dir: &Path, args: ServeArgs) -> Result<Output> {
    let ledger = Ledger::open(dir)?;
    let listen = args.listen.clone().unwrap_or_else(|| if args.lan { DEFAULT_LAN } else { DEFAULT_LOCAL }.to_string());
    let addr: SocketAddr =
        listen.parse().map_err(|_| invalid(format!("--listen「{listen}」无效：应为 地址:端口，如 127.0.0.1:7080")))?;
    if !args.lan && !addr.ip().is_loopback() {
        return Err(invalid(format!(
            "--listen {addr} 不是本机地址：向校园网提供服务须加 --lan（使用 HTTPS 和本校证书）"
        )));
    }
    let (tls, ca_pem, host) = if args.lan {
        let ca = lan_ca(&ledger)?;
        // The CA vouches only for private addresses and .local/.lan names (its name
        // constraints): anything else would make every device refuse the certificate.
        for h in &args.hosts {
            if !lan_name(h) {
                return Err(invalid(format!(
                    "--host「{h}」不是校园网内部地址或域名：只能是 10.x.x.x、172.16–31.x.x、192.168.x.x，或以 .local、.lan 结尾的名称"
                )));
            }
        }
        let mut names = args.hosts.clone();
        let ip = lan_ip().filter(|ip| lan_name(ip));
        names.extend(ip.clone());
        if !addr.ip().is_unspecified() && lan_name(&addr.ip().to_string()) {
            names.push(addr.ip().to_string());
        }
        let leaf = baoxue_net::lan::issue_lan_server_cert(&ca, &names).map_err(|e| invalid(e.to_string()))?;
        let acceptor =
            baoxue_net::lan::HttpsAcceptor::new(&leaf.cert_pem, &leaf.key_pem).map_err(|e| invalid(e.to_string()))?;
        let host = args.hosts.first().cloned().or(ip).unwrap_or_else(|| addr.ip().to_string());
        (Some(acceptor), Some(ca.cert_pem), host)
    } else {
        (None, None, addr.ip().to_string())
    };
    let store = ledger.store.clone();
    let config = ledger.config.clone();
    let has_users = StoreAccountsCheck::any(&store);
    let app = build_app(&ledger, dir, ca_pem, AuthConfig { secure_cookies: args.lan, ..AuthConfig::default() });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Refused(format!("无法启动网络运行时：{e}")))?;
    let sync = args.sync;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| invalid(format!("无法在 {addr} 上提供服务：{e}（端口被占用？可用 --listen 换一个）")))?;
        let local = listener.local_addr().map_err(|e| invalid(e.to_string()))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!(
            "{scheme}://{}:{}/",
            if local.ip().is_unspecified() { host.clone() } else { local.ip().to_string() },
            local.port()
        );
        if let Ok(mut u) = app.url.lock() {
            *u = url.clone();
        }
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "保学校园应用已启动：{url}");
            if tls.is_some() {
                let _ = writeln!(out, "校园网 HTTPS：手机和电脑先打开 {url}lan 安装本校证书（只需一次）");
            } else {
                let _ = writeln!(out, "只在本机提供服务；向校园网提供请加 --lan");
            }
            if !has_users {
                let _ = writeln!(
                    out,
                    "尚无用户：请在本机运行 baoxue-node user add admin --name 姓名 --role admin 创建第一个管理员"
                );
            }
            let _ = out.flush();
        }
        // The command line keeps working while the app holds the store: its commands come
        // over the control socket and run here, one at a time with the app's own writes.
        let control_ledger = Arc::new(Ledger { store: store.clone(), config: config.clone(), dir: dir.to_path_buf() });
        let _control = crate::control::serve(control_ledger, app.writer.clone())
            .map_err(|e| NodeError::Refused(format!("无法打开本机命令通道（{}）：{e}", dir.display())))?;
        let router = web::router(app.clone());
        let server = baoxue_web::serve::serve(router, listener, tls, super::sync::shutdown_signal());
        match sync {
            Some(mut opts) => {
                // What `run` writes after a sync waits for the app's writes, as the control
                // socket's commands do.
                opts.writer = Some(app.writer.clone());
                let runner = crate::sync::run_forever(
                    crate::sync::StoreAccess::Held(store.clone()),
                    opts,
                    super::sync::shutdown_signal(),
                );
                let (served, synced) = tokio::join!(server, runner);
                served.map_err(|e| invalid(e.to_string()))?;
                synced?;
            }
            None => server.await.map_err(|e| invalid(e.to_string()))?,
        }
        Ok::<(), NodeError>(())
    })?;
    Ok(Output::from("已停止校园应用\n".to_string()))
}

/// The app over an open ledger (the serving process, the benchmark).
pub fn build_app(ledger: &Ledger, dir: &Path, lan_ca_pem: Option<String>, config: AuthConfig) -> Arc<App> {
    let store = ledger.store.clone();
    let chrome_store = store.clone();
    let auth = Arc::new(Auth::new(
        &format!("保学 · {}", ledger.config.township),
        Arc::new(StoreAccounts(store.clone())),
        web::audit_log(&store, dir),
        config,
        Box::new(move |u| web::chrome(&chrome_store, u)),
        Box::new(|r| web::access::Role::parse(r).map(|r| r.label().to_string()).unwrap_or_else(|| r.to_string())),
    ));
    Arc::new(App {
        store,
        dir: dir.to_path_buf(),
        auth,
        writer: Arc::new(Mutex::new(())),
        last_sync: Mutex::new(None),
        lan_ca_pem,
        url: Mutex::new(String::new()),
        index: Mutex::new(Default::default()),
    })
}

struct StoreAccountsCheck;

impl StoreAccountsCheck {
    fn any(store: &baoxue_store::Store) -> bool {
        use baoxue_web::accounts::AccountStore;
        StoreAccounts(store.clone()).load().map(|a| !a.users.is_empty()).unwrap_or(false)
    }
}
