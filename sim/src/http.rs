//! A minimal HTTP/1.1 client over `TcpStream`, for `bench web` on loopback only: one connection
//! per request (`Connection: close`), cookies kept by name, chunked bodies decoded. Enough to log
//! in to the dashboard and time its pages without adding an HTTP client crate to the workspace.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One response: status, headers (names lower-cased), body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client for one server (`127.0.0.1:PORT`), with its cookie jar.
pub struct Client {
    addr: String,
    cookies: BTreeMap<String, String>,
}

fn bad(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

impl Client {
    pub fn new(addr: &str) -> Client {
        Client { addr: addr.to_string(), cookies: BTreeMap::new() }
    }

    pub fn get(&mut self, path: &str) -> std::io::Result<Response> {
        self.request("GET", path, None)
    }

    /// `POST` of a url-encoded form.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> std::io::Result<Response> {
        let mut s = String::new();
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                s.push('&');
            }
            s.push_str(&enc(k));
            s.push('=');
            s.push_str(&enc(v));
        }
        self.request("POST", path, Some(("application/x-www-form-urlencoded", s.as_bytes())))
    }

    pub fn request(&mut self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> std::io::Result<Response> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        s.set_nodelay(true)?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            head.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        if let Some((ctype, b)) = body {
            head.push_str(&format!("Content-Type: {ctype}\r\nContent-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if let Some((_, b)) = body {
            out.extend_from_slice(b);
        }
        s.write_all(&out)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let res = parse(&raw)?;
        for (k, v) in &res.headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    let expired = v.to_ascii_lowercase().contains("max-age=0");
                    if value.is_empty() || expired {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies.insert(name.trim().to_string(), value.trim().to_string());
                    }
                }
            }
        }
        Ok(res)
    }
}

/// Percent-encodes a form value.
fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("响应不完整"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("状态行无效"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Ok(Response { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").ok_or_else(|| bad("分块长度缺失"))?;
        let size_text = String::from_utf8_lossy(&b[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("分块长度无效"))?;
        b = &b[nl + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err(bad("分块不完整"));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_plain_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1; Path=/\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = parse(raw).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abcde"[..]));
        assert_eq!(r.header("set-cookie"), Some("a=1; Path=/"));
        let r = parse(b"HTTP/1.1 303 See Other\r\nLocation: /x\r\n\r\nhi").unwrap();
        assert_eq!((r.status, r.header("location"), r.body.as_slice()), (303, Some("/x"), &b"hi"[..]));
        assert_eq!(enc("城 a&b"), "%E5%9F%8E%20a%26b");
    }
}
