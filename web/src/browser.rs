//! A real browser for tests and screenshots: Debian's Chromium, headless, driven over the
//! DevTools protocol (one WebSocket to the page, JSON commands). Small on purpose — navigate,
//! fill, click, read the text, print to PDF, take a PNG — so it compiles in seconds, unlike a
//! generated CDP client. A missing Chromium is an error (a test using it fails, never skips).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("找不到 Chromium（试过 $BAOXUE_CHROMIUM、chromium、chromium-browser、google-chrome）：请安装，例如 apt-get install chromium fonts-noto-cjk")]
    NotInstalled,
    #[error("Chromium 启动失败：{0}")]
    Launch(String),
    #[error("与 Chromium 通信失败：{0}")]
    Protocol(String),
    #[error("等待 Chromium 超时：{0}")]
    Timeout(String),
    #[error("页面脚本出错：{0}")]
    Script(String),
}

type Result<T> = std::result::Result<T, BrowserError>;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The Chromium executable to run.
pub fn chromium_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BAOXUE_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
    profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn proto(e: impl std::fmt::Display) -> BrowserError {
    BrowserError::Protocol(e.to_string())
}

/// `GET path` on the DevTools HTTP endpoint.
fn http_get(port: u16, path: &str) -> Result<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(proto)?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(proto)?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").map_err(proto)?;
    // Chromium keeps the connection open: read the head, then Content-Length bytes.
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return serde_json::from_slice(&buf[end + 4..end + 4 + len]).map_err(proto);
            }
        }
        let n = s.read(&mut chunk).map_err(proto)?;
        if n == 0 {
            return Err(proto("DevTools 连接被关闭"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Standard base64 (what CDP returns PDFs and PNGs in).
pub fn base64_decode(s: &str) -> Result<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n: u32 = 0;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c).ok_or_else(|| proto("base64 数据无效"))? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    Ok(out)
}

impl Browser {
    /// Starts headless Chromium with a fresh profile, a 1280×900 window, Chinese as the language.
    pub fn launch() -> Result<Browser> {
        let exe = chromium_path().ok_or(BrowserError::NotInstalled)?;
        let profile =
            std::env::temp_dir().join(format!("baoxue-chromium-{}-{:x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&profile).map_err(|e| BrowserError::Launch(e.to_string()))?;
        let mut child = Command::new(&exe)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-sync",
                "--hide-scrollbars",
                "--lang=zh-CN",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BrowserError::Launch(format!("{}：{e}", exe.display())))?;
        // Whatever fails from here on, the browser just started must not outlive this call.
        let ws = match Self::connect(&mut child) {
            Ok(ws) => ws,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&profile);
                return Err(e);
            }
        };
        let mut b = Browser { child, ws, next_id: 0, events: Vec::new(), profile };
        b.call("Page.enable", json!({}))?;
        b.call("Runtime.enable", json!({}))?;
        Ok(b)
    }

    /// Reads the DevTools port from the browser's stderr and opens the page's WebSocket.
    fn connect(child: &mut Child) -> Result<WebSocket<TcpStream>> {
        let stderr = child.stderr.take().ok_or_else(|| BrowserError::Launch("无法读取输出".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(std::result::Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                        let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                        let _ = tx.send(port);
                        sent = true;
                    }
                }
            }
        });
        let port: u16 = match rx.recv_timeout(TIMEOUT) {
            Ok(p) => p.parse().map_err(|_| BrowserError::Launch("调试端口无效".into()))?,
            Err(_) => return Err(BrowserError::Launch("未输出调试端口（DevTools listening …）".into())),
        };
        let start = Instant::now();
        let ws_url = loop {
            let list = http_get(port, "/json/list")?;
            let page = list.as_array().and_then(|a| {
                a.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
            });
            if let Some(u) = page {
                break u;
            }
            if start.elapsed() > TIMEOUT {
                return Err(BrowserError::Timeout("没有页面".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(proto)?;
        stream.set_read_timeout(Some(TIMEOUT)).map_err(proto)?;
        let (ws, _) = tungstenite::client(ws_url.as_str(), stream).map_err(proto)?;
        Ok(ws)
    }

    fn read_message(&mut self) -> Result<Value> {
        loop {
            let msg = self.ws.read().map_err(|e| match e {
                tungstenite::Error::Io(io)
                    if matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    BrowserError::Timeout("无响应".into())
                }
                e => proto(e),
            })?;
            if let Message::Text(t) = msg {
                return serde_json::from_str(t.as_str()).map_err(proto);
            }
        }
    }

    /// Sends one CDP command and returns its result (events that arrive meanwhile are kept).
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::Text(text.into())).map_err(proto)?;
        loop {
            let v = self.read_message()?;
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    return Err(BrowserError::Protocol(format!("{method}: {e}")));
                }
                return Ok(v["result"].clone());
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn wait_event(&mut self, method: &str) -> Result<Value> {
        let start = Instant::now();
        loop {
            if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
                return Ok(self.events.remove(i));
            }
            if start.elapsed() > TIMEOUT {
                return Err(BrowserError::Timeout(method.into()));
            }
            let v = self.read_message()?;
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Runs `trigger`, then waits until the page it leads to has loaded.
    pub fn navigating<T>(&mut self, trigger: impl FnOnce(&mut Browser) -> Result<T>) -> Result<T> {
        self.events.retain(|e| e["method"] != "Page.loadEventFired");
        let out = trigger(self)?;
        self.wait_event("Page.loadEventFired")?;
        Ok(out)
    }

    pub fn goto(&mut self, url: &str) -> Result<()> {
        let url = url.to_string();
        self.navigating(|b| {
            let r = b.call("Page.navigate", json!({"url": url}))?;
            if let Some(e) = r.get("errorText").and_then(Value::as_str) {
                return Err(BrowserError::Protocol(format!("打开 {url}：{e}")));
            }
            Ok(())
        })
    }

    /// Evaluates an expression in the page (promises awaited) and returns its JSON value.
    pub fn eval(&mut self, expr: &str) -> Result<Value> {
        let r =
            self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true, "awaitPromise": true}))?;
        if let Some(e) = r.get("exceptionDetails") {
            let msg = e["exception"]["description"].as_str().map(str::to_string).unwrap_or_else(|| e.to_string());
            return Err(BrowserError::Script(msg));
        }
        Ok(r["result"]["value"].clone())
    }

    fn q(selector: &str) -> String {
        serde_json::to_string(selector).unwrap_or_else(|_| "\"\"".into())
    }

    /// Sets an input's, select's or textarea's value (and fires `input`/`change`).
    pub fn fill(&mut self, selector: &str, value: &str) -> Result<()> {
        let js = format!(
            "(()=>{{const e=document.querySelector({});if(!e)throw new Error('没有元素 '+{});e.value={};\
             e.dispatchEvent(new Event('input',{{bubbles:true}}));e.dispatchEvent(new Event('change',{{bubbles:true}}));}})()",
            Self::q(selector),
            Self::q(selector),
            Self::q(value)
        );
        self.eval(&js).map(|_| ())
    }

    /// Clicks an element (no navigation expected).
    pub fn click(&mut self, selector: &str) -> Result<()> {
        let js = format!(
            "(()=>{{const e=document.querySelector({});if(!e)throw new Error('没有元素 '+{});e.click();}})()",
            Self::q(selector),
            Self::q(selector)
        );
        self.eval(&js).map(|_| ())
    }

    /// Clicks an element and waits for the page it leads to.
    pub fn click_and_wait(&mut self, selector: &str) -> Result<()> {
        let s = selector.to_string();
        self.navigating(|b| b.click(&s))
    }

    /// The visible text of the first element matching `selector` ("" if none).
    pub fn text(&mut self, selector: &str) -> Result<String> {
        let js = format!("(()=>{{const e=document.querySelector({});return e?e.innerText:''}})()", Self::q(selector));
        Ok(self.eval(&js)?.as_str().unwrap_or("").to_string())
    }

    pub fn url(&mut self) -> Result<String> {
        Ok(self.eval("location.href")?.as_str().unwrap_or("").to_string())
    }

    /// The page printed to PDF as the print CSS lays it out (A4 from `@page`).
    pub fn pdf(&mut self) -> Result<Vec<u8>> {
        let r = self.call("Page.printToPDF", json!({"printBackground": true, "preferCSSPageSize": true}))?;
        base64_decode(r["data"].as_str().unwrap_or(""))
    }

    /// Sets the viewport (e.g. 390×844 with `mobile` for a phone).
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) -> Result<()> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )?;
        Ok(())
    }

    /// A PNG of the whole page at the current width.
    pub fn screenshot(&mut self) -> Result<Vec<u8>> {
        let m = self.call("Page.getLayoutMetrics", json!({}))?;
        let w = m["cssContentSize"]["width"].as_f64().unwrap_or(1280.0);
        let h = m["cssContentSize"]["height"].as_f64().unwrap_or(900.0).min(6000.0);
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}),
        )?;
        base64_decode(r["data"].as_str().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_round_trip_of_known_values() {
        assert_eq!(super::base64_decode("aGVsbG8=").expect("b64"), b"hello");
        assert_eq!(super::base64_decode("aGVsbG8h").expect("b64"), b"hello!");
        assert_eq!(super::base64_decode("aA==").expect("b64"), b"h");
    }
}
