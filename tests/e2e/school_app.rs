//! The school app (`baoxue-node serve`) end to end: the real binary serving a real data
//! directory, driven by headless Chromium through a teacher's day — first login with a one-time
//! password, a class roll call with two unexcused absences, the cases opening, a home visit, a
//! notice printed to PDF and read back, a 销号 as 复学 — then the ledger checked with the CLI.
//! HTTP-level tests cover every role boundary, CSRF refusal and a wrong-scope request.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use baoxue::{roster, Kid, Node};
use baoxue_web::browser::Browser;
use serde_json::Value;

/// The school day these tests take as today (a Monday in term; the support's fixed today is in
/// the summer vacation, when no roll call is taken).
const SCHOOL_DAY: &str = "2026-10-12";

/// A running `serve` on 127.0.0.1 (stopped when dropped).
pub(crate) struct Served {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn serve(node: &Node) -> Served {
    let mut child = node
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .env("BAOXUE_TEST_CHEAP_ARGON2", "1")
        .env("BAOXUE_TODAY", SCHOOL_DAY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("first line");
    let url = line.split('：').nth(1).map(|u| u.trim().trim_end_matches('/').to_string()).unwrap_or_default();
    assert!(url.starts_with("http://127.0.0.1:"), "serve prints its address: {line}");
    Served { child, url }
}

/// `user add …` and its one-time password.
pub(crate) fn add_user(node: &Node, args: &[&str]) -> String {
    let mut all = vec!["user", "add"];
    all.extend_from_slice(args);
    let out = node.command(&all).env("BAOXUE_TEST_CHEAP_ARGON2", "1").output().expect("user add");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "user add: {text} {}", String::from_utf8_lossy(&out.stderr));
    text.lines().find_map(|l| l.strip_prefix("一次性密码：")).expect("one-time password").trim().to_string()
}

/// A class of 鸦岭中心小学 4年级2班 and one child in another school.
fn school() -> (Node, Vec<Kid>) {
    let node = Node::new();
    let mut kids: Vec<Kid> = (1..=5)
        .map(|n| {
            let mut k = Kid::new(n, "鸦岭中心小学", 4);
            k.class = "2班".into();
            k.name = ["张小明", "李小红", "王小刚", "赵小丽", "孙小军"][n as usize - 1].into();
            k
        })
        .collect();
    let mut other = Kid::new(40, "鸦岭二小", 3);
    other.name = "周外校".into();
    kids.push(other);
    let f = node.file("roster.csv", roster(&kids).as_bytes());
    node.ok(&["student", "import", &f.to_string_lossy()]);
    (node, kids)
}

fn login(b: &mut Browser, url: &str, login: &str, password: &str) {
    b.goto(&format!("{url}/login")).expect("login page");
    b.fill("input[name=login]", login).expect("login");
    b.fill("input[name=password]", password).expect("password");
    b.click_and_wait("form[action='/login'] button[type=submit]").expect("submit");
}

fn pdf_text(pdf: &[u8], dir: &std::path::Path) -> String {
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", &path.to_string_lossy(), "-"])
        .output()
        .expect("pdftotext (apt-get install poppler-utils)");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_teachers_day_in_chromium() {
    let (node, kids) = school();
    let otp = add_user(
        &node,
        &["liu", "--name", "刘老师", "--role", "teacher", "--school", "鸦岭中心小学", "--class", "4/2"],
    );
    let principal = add_user(&node, &["wang", "--name", "王校长", "--role", "principal", "--school", "鸦岭中心小学"]);
    let s = serve(&node);
    let mut b = Browser::launch().expect("Chromium (apt-get install chromium fonts-noto-cjk)");

    // First login: the one-time password leads to choosing a new one.
    login(&mut b, &s.url, "liu", &otp);
    assert!(b.url().expect("url").ends_with("/password"), "must change the one-time password");
    b.fill("input[name=new]", "liu-new-pass").expect("new");
    b.fill("input[name=again]", "liu-new-pass").expect("again");
    b.click_and_wait("form[action='/password'] button[type=submit]").expect("save password");
    assert!(b.text("main").expect("home").contains("新密码已保存"));

    // The roll call of her one class: two children absent without excuse.
    b.goto(&format!("{}/roll", s.url)).expect("roll");
    let rows = b.eval("document.querySelectorAll('.roll-row').length").expect("rows");
    assert_eq!(rows, 5, "her class only");
    let zhang = &kids[0];
    let li = &kids[1];
    for k in [zhang, li] {
        let id = b
            .eval(&format!(
                "[...document.querySelectorAll('.roll-row')].find(r=>r.querySelector('.name').innerText=='{}').querySelector('input[value=unexcused]').name",
                k.name
            ))
            .expect("radio");
        b.click(&format!("input[name='{}'][value=unexcused]", id.as_str().expect("name"))).expect("mark");
    }
    assert_eq!(b.text("#absent-count").expect("count"), "2", "the counter follows the marks");
    b.click_and_wait(".sticky-save button[type=submit]").expect("save roll");
    let flash = b.text(".flash-ok").expect("flash");
    assert!(flash.contains("缺勤 2 人") && flash.contains("已立案 2 件"), "{flash}");
    assert!(b.text("main").expect("main").contains("案件：疑似辍学"), "the open cases show on the roll");

    // The case page: a home visit.
    b.click_and_wait(".roll-row a.level").expect("open the case");
    assert!(b.text("h1").expect("h1").contains("案件"));
    b.fill("form[action$='/act'] select[name=kind]", "visit").expect("kind");
    b.fill("form[action$='/act'] textarea[name=text]", "见到母亲，孩子在家玩手机，答应下周一送回").expect("text");
    b.fill("form[action$='/act'] input[name=companion]", "陈老师").expect("companion");
    b.fill("form[action$='/act'] textarea[name=parent_opinion]", "同意周一送孩子返校").expect("parent");
    b.click_and_wait("form[action$='/act'] button[type=submit]").expect("save visit");
    let main = b.text("main").expect("main");
    assert!(main.contains("已记录措施") && main.contains("家访"), "{main}");
    // The case page reads the visit's typed 附件2 fields (shared::visit), one a line.
    assert!(main.contains("陪同教师：陈老师") && main.contains("家长意见：同意周一送孩子返校"), "{main}");
    assert!(main.contains("家访内容：见到母亲"), "{main}");
    let case_url = b.url().expect("url");
    let case_path = case_url.split('?').next().unwrap_or("").to_string();

    // The 家访记录表 and the 劝返复学通知书, printed to PDF by Chromium and read back.
    let dir = tempfile::tempdir().expect("tmp");
    b.goto(&format!("{case_path}/print/visit")).expect("visit form");
    let text = pdf_text(&b.pdf().expect("pdf"), dir.path());
    assert!(text.contains("家访记录表") && text.contains("答应下周一送回") && text.contains("刘老师"), "{text}");
    assert!(text.contains("陈老师") && text.contains("同意周一送孩子返校"), "the 附件2 fields: {text}");
    assert!(text.contains("鸦岭东村") && text.contains("起无故缺勤"), "住址 and 家访原因 filled: {text}");
    b.goto(&format!("{case_path}/print/persuade")).expect("notice");
    let text = pdf_text(&b.pdf().expect("pdf"), dir.path());
    assert!(text.contains("劝返复学通知书") && text.contains("第五十八条") && text.contains("回"), "{text}");
    assert!(text.contains(&zhang.name) || text.contains(&li.name), "{text}");

    // The teacher may not close a case: the principal does, as 复学.
    b.goto(&case_path).expect("case");
    assert_eq!(b.eval("document.querySelectorAll(\"form[action$='/close']\").length").expect("forms"), 0);
    b.click_and_wait("form[action='/logout'] button").expect("logout");
    assert!(b.url().expect("url").ends_with("/login"), "logged out");
    login(&mut b, &s.url, "wang", &principal);
    b.fill("input[name=new]", "wang-new-pass").expect("new");
    b.fill("input[name=again]", "wang-new-pass").expect("again");
    b.click_and_wait("form[action='/password'] button[type=submit]").expect("save password");
    b.goto(&case_path).expect("case");
    b.eval("window.confirm = () => true").expect("no dialog");
    b.fill("form[action$='/close'] select[name=outcome]", "returned").expect("outcome");
    b.fill("form[action$='/close'] textarea[name=evidence]", "已返校，班主任核实").expect("evidence");
    b.click_and_wait("form[action$='/close'] button[type=submit]").expect("close");
    let main = b.text("main").expect("main");
    assert!(main.contains("已销号") && main.contains("复学"), "{main}");
    drop(b);
    drop(s);

    // The ledger holds it all, written by the logged-in users.
    let cases: Value = node.json(&["case", "list", "--json"]);
    let cases = cases.as_array().expect("cases");
    assert_eq!(cases.len(), 2, "two cases opened by the roll call");
    let closed: Vec<&Value> = cases.iter().filter(|c| c["outcome"] == "returned").collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["evidence"], "已返校，班主任核实");
    let visits = cases
        .iter()
        .flat_map(|c| c["actions"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["kind"] == "visit" && a["by"] == "刘老师")
        .count();
    assert_eq!(visits, 1, "the home visit, by the logged-in teacher");
    let visited =
        cases.iter().find(|c| c["actions"].as_array().map(|a| !a.is_empty()).unwrap_or(false)).expect("visited");
    let shown: Value = node.json(&["case", "show", visited["id"].as_str().expect("id"), "--json"]);
    let history = shown["history"].as_array().expect("history");
    let by = |what: &str| {
        history.iter().find(|h| h["what"].as_str().unwrap_or("").contains(what)).map(|h| h["author"].clone())
    };
    assert_eq!(by("家访"), Some(Value::from("刘老师")), "录入人 is the logged-in user");
    assert_eq!(by("立案"), Some(Value::from("刘老师")), "the roll call opened the case in her name");
    let student: Value = node.json(&["student", "show", &zhang.student_no, "--json"]);
    assert_eq!(student["absences"], 1);
}

/// A tiny HTTP client for the role-boundary tests.
pub(crate) fn http(url: &str, method: &str, path: &str, cookie: &str, body: &str) -> (u16, String, String) {
    http_typed(url, method, path, cookie, "application/x-www-form-urlencoded", body)
}

/// An upload of one file as `multipart/form-data`.
fn upload(url: &str, path: &str, cookie: &str, file: &str, contents: &str) -> (u16, String, String) {
    let body = format!(
        "--XbxX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n{contents}\r\n--XbxX--\r\n"
    );
    http_typed(url, "POST", path, cookie, "multipart/form-data; boundary=XbxX", &body)
}

pub(crate) fn http_typed(
    url: &str,
    method: &str,
    path: &str,
    cookie: &str,
    ctype: &str,
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

pub(crate) fn cookie_of(head: &str, name: &str) -> String {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .to_string()
}

pub(crate) fn field(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    body.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string()
}

/// Logs in over HTTP, sets a new password, returns (cookie, csrf).
pub(crate) fn http_login(url: &str, login: &str, otp: &str) -> (String, String) {
    let (_, head, body) = http(url, "GET", "/login", "", "");
    let pre = cookie_of(&head, "bx_pre");
    let csrf = field(&body, "_csrf");
    let (status, head, _) = http(url, "POST", "/login", &pre, &format!("_csrf={csrf}&login={login}&password={otp}"));
    assert_eq!(status, 303, "login {login}");
    let session = cookie_of(&head, "bx_session");
    let (_, _, body) = http(url, "GET", "/password", &session, "");
    let csrf = field(&body, "_csrf");
    let (status, _, _) =
        http(url, "POST", "/password", &session, &format!("_csrf={csrf}&new=abcdefgh-{login}&again=abcdefgh-{login}"));
    assert_eq!(status, 303, "password {login}");
    (session, csrf)
}

#[test]
fn role_boundaries_and_csrf_over_http() {
    let (node, kids) = school();
    // Cases in two schools: one in the teacher's class, one in 鸦岭二小.
    node.ok(&["absence", &kids[0].student_no, "--kind", "unexcused", "--date", SCHOOL_DAY]);
    node.ok(&["absence", &kids[5].student_no, "--kind", "unexcused", "--date", SCHOOL_DAY]);
    let list: Value = node.json(&["case", "list", "--json"]);
    let record_of = |no: &str| -> String {
        let mask = &no[..6];
        list.as_array()
            .expect("cases")
            .iter()
            .find(|c| {
                c["student"].as_str().map(|s| s.starts_with(mask) && s.ends_with(&no[no.len() - 4..])).unwrap_or(false)
            })
            .and_then(|c| c["record"].as_str())
            .expect("case of student")
            .to_string()
    };
    let own_case = record_of(&kids[0].student_no);
    let other_case = record_of(&kids[5].student_no);
    let t = add_user(
        &node,
        &["liu", "--name", "刘老师", "--role", "teacher", "--school", "鸦岭中心小学", "--class", "4/2"],
    );
    let p = add_user(&node, &["wang", "--name", "王校长", "--role", "principal", "--school", "鸦岭中心小学"]);
    let z = add_user(&node, &["zhao", "--name", "赵副镇长", "--role", "township"]);
    let a = add_user(&node, &["admin", "--name", "管理员", "--role", "admin"]);
    let s = serve(&node);
    let (teacher, tcsrf) = http_login(&s.url, "liu", &t);
    let (principal, pcsrf) = http_login(&s.url, "wang", &p);
    let (township, _) = http_login(&s.url, "zhao", &z);
    let (admin, _) = http_login(&s.url, "admin", &a);

    // Seeing: the teacher and the principal see their own school's case, not the other school's.
    for who in [&teacher, &principal] {
        assert_eq!(http(&s.url, "GET", &format!("/cases/{own_case}"), who, "").0, 200);
        assert_eq!(http(&s.url, "GET", &format!("/cases/{other_case}"), who, "").0, 404);
        let (_, _, body) = http(&s.url, "GET", "/cases", who, "");
        assert!(body.contains(&kids[0].name) && !body.contains(&kids[5].name), "the list is scoped");
    }
    for who in [&township, &admin] {
        assert_eq!(http(&s.url, "GET", &format!("/cases/{other_case}"), who, "").0, 200);
    }
    // Printing follows the same scope.
    assert_eq!(http(&s.url, "GET", &format!("/cases/{other_case}/print/persuade"), &teacher, "").0, 404);
    // Doing: a teacher may record a call but not confirm 辍学 or serve a notice; the principal may.
    let call = format!("_csrf={tcsrf}&kind=call&by=%E5%88%98%E8%80%81%E5%B8%88&date=&text=x");
    assert_eq!(http(&s.url, "POST", &format!("/cases/{own_case}/act"), &teacher, &call).0, 303);
    assert_eq!(http(&s.url, "POST", &format!("/cases/{own_case}/confirm"), &teacher, &format!("_csrf={tcsrf}")).0, 403);
    let notice = format!("_csrf={tcsrf}&kind=notice&notice=persuade_return&by=x&date=");
    assert_eq!(http(&s.url, "POST", &format!("/cases/{own_case}/act"), &teacher, &notice).0, 403);
    assert_eq!(http(&s.url, "POST", &format!("/cases/{other_case}/act"), &teacher, &call).0, 404);
    // The admin pages are the admin's.
    for who in [&teacher, &principal, &township] {
        assert_eq!(http(&s.url, "GET", "/admin", who, "").0, 403);
    }
    assert_eq!(http(&s.url, "GET", "/admin", &admin, "").0, 200);
    // CSRF: the principal's confirm without a token, or with the teacher's, is refused.
    assert_eq!(http(&s.url, "POST", &format!("/cases/{own_case}/confirm"), &principal, "").0, 403);
    assert_eq!(
        http(&s.url, "POST", &format!("/cases/{own_case}/confirm"), &principal, &format!("_csrf={tcsrf}")).0,
        403
    );
    assert_eq!(
        http(&s.url, "POST", &format!("/cases/{own_case}/confirm"), &principal, &format!("_csrf={pcsrf}")).0,
        303
    );
    // A roster upload with a bad row: every problem in a table, nothing imported; the teacher
    // may not upload at all; the upload's CSRF token travels in its URL.
    let mut bad = Kid::new(77, "鸦岭中心小学", 4);
    bad.id = "410329201001010000".into();
    let good = Kid::new(78, "鸦岭中心小学", 4);
    let csv = roster(&[good.clone(), bad]);
    let (status, _, body) = upload(&s.url, &format!("/students/import?_csrf={pcsrf}"), &principal, "roster.csv", &csv);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<td class=\"right\">3</td>") && body.contains("身份证号"),
        "the bad row (line 3) in a table: {body}"
    );
    assert!(body.contains("未导入任何学生"), "{body}");
    assert_eq!(upload(&s.url, &format!("/students/import?_csrf={tcsrf}"), &teacher, "roster.csv", &csv).0, 403);
    assert_eq!(upload(&s.url, "/students/import", &principal, "roster.csv", &csv).0, 403, "no token, no upload");
    // Year-end promotion: the principal previews and confirms; the teacher may not.
    assert_eq!(http(&s.url, "GET", "/promote", &teacher, "").0, 403);
    let (status, _, body) = http(&s.url, "GET", "/promote", &principal, "");
    assert_eq!(status, 200);
    assert!(body.contains("升一个年级") && body.contains("有未销号案件"), "the preview names who is left out: {body}");
    let promote = format!("_csrf={pcsrf}&school=%E9%B8%A6%E5%B2%AD%E4%B8%AD%E5%BF%83%E5%B0%8F%E5%AD%A6");
    assert_eq!(http(&s.url, "POST", "/promote", &principal, &promote).0, 303);
    // No session: pages send to login, writes are refused.
    assert_eq!(http(&s.url, "GET", "/cases", "", "").0, 303);
    assert_eq!(http(&s.url, "POST", &format!("/cases/{own_case}/confirm"), "", "_csrf=x").0, 401);
    drop(s);
    let list: Value = node.json(&["student", "list", "--json"]);
    assert!(
        !list.as_array().expect("students").iter().any(|st| st["name"] == good.name),
        "the good row of a file with a bad row was not imported"
    );
    let moved: Value = node.json(&["student", "show", &kids[2].student_no, "--json"]);
    assert_eq!(moved["grade"], 5, "promoted from 4 to 5");
    let kept: Value = node.json(&["student", "show", &kids[0].student_no, "--json"]);
    assert_eq!(kept["grade"], 4, "a child with an open case is left for the case to decide");
    let shown: Value = node.json(&["case", "show", &own_case[..12], "--json"]);
    assert_eq!(shown["state"], "confirmed", "the principal's confirm was written");
    assert_eq!(shown["actions"].as_array().map(Vec::len), Some(1), "only the teacher's call was recorded");
}

/// An upload of raw bytes as `multipart/form-data`; the response body as bytes.
fn upload_bytes(url: &str, path: &str, cookie: &str, file: &str, contents: &[u8]) -> (u16, Vec<u8>) {
    let mut body = format!(
        "--XbxX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(contents);
    body.extend_from_slice(b"\r\n--XbxX--\r\n");
    raw(url, "POST", path, cookie, "multipart/form-data; boundary=XbxX", &body)
}

/// One request; (status, head + body as bytes after the head).
fn raw(url: &str, method: &str, path: &str, cookie: &str, ctype: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    (status, buf[split..].to_vec())
}

/// A roster workbook as the national 学籍 system exports it: a title row above the header, its
/// column names (身份证件号), and IDs as text — or, for `number_id`, one ID Excel stored as a
/// number (which would lose its last digits).
fn roster_xlsx(kids: &[Kid], number_id: Option<usize>) -> Vec<u8> {
    use baoxue_sheet::{Book, Cell, Column, Kind};
    let columns = baoxue::ROSTER_HEADER
        .split(',')
        .map(|h| match h {
            "身份证号" => Column::new("身份证件号", Kind::Id),
            "学籍号" => Column::new(h, Kind::Id),
            _ => Column::text(h),
        })
        .collect();
    let rows = kids
        .iter()
        .enumerate()
        .map(|(n, k)| {
            k.row()
                .split(',')
                .enumerate()
                .map(|(c, v)| match (c, number_id == Some(n)) {
                    (1, true) => Cell::Number(v.parse().expect("digits")),
                    _ if v.is_empty() => Cell::Empty,
                    _ => Cell::Text(v.to_string()),
                })
                .collect()
        })
        .collect();
    let book = Book { title: "学生名单".into(), columns, rows, ..Default::default() };
    baoxue_sheet::write::xlsx(&book).expect("xlsx")
}

/// Every cell of a workbook as text, row by row.
fn xlsx_text(bytes: &[u8]) -> String {
    let grid = baoxue_sheet::read::read(bytes).expect("a workbook");
    grid.rows
        .iter()
        .map(|r| r.cells.iter().map(|c| c.text()).collect::<Vec<_>>().join("|"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn excel_in_and_out_over_http() {
    let (node, kids) = school();
    node.ok(&["absence", &kids[0].student_no, "--kind", "unexcused", "--date", SCHOOL_DAY]);
    let p = add_user(&node, &["wang", "--name", "王校长", "--role", "principal", "--school", "鸦岭中心小学"]);
    let t = add_user(
        &node,
        &["liu", "--name", "刘老师", "--role", "teacher", "--school", "鸦岭中心小学", "--class", "4/2"],
    );
    let s = serve(&node);
    let (principal, pcsrf) = http_login(&s.url, "wang", &p);
    let (teacher, _) = http_login(&s.url, "liu", &t);
    let new: Vec<Kid> = (81..=83).map(|n| Kid::new(n, "鸦岭中心小学", 3)).collect();

    // An ID number stored as a number: caught, the row named, nothing written.
    let path = format!("/students/import?_csrf={pcsrf}");
    let bad = roster_xlsx(&new, Some(1));
    let grid = baoxue_sheet::read::read(&bad).expect("workbook");
    let row = grid.rows.iter().find(|r| r.cells.iter().any(|c| c.text() == new[1].name)).expect("row").number;
    let (status, body) = upload_bytes(&s.url, &path, &principal, "花名册.xlsx", &bad);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(&format!("<td class=\"right\">{row}</td>")) && body.contains("未导入任何学生"),
        "Excel row {row} named: {body}"
    );
    // The same children with their IDs as text: imported from the .xlsx, the aliases understood.
    let (status, body) = upload_bytes(&s.url, &path, &principal, "花名册.xlsx", &roster_xlsx(&new, None));
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("3"), "{body}");

    // The roster download: title, 统计日期, the new children, IDs masked; the teacher may not.
    let (status, xlsx) = raw(&s.url, "GET", "/students/export.xlsx", &principal, "", b"");
    assert_eq!(status, 200);
    let text = xlsx_text(&xlsx);
    assert!(text.contains("学生花名册") && text.contains("统计日期"), "{text}");
    for k in new.iter().chain(&kids[..5]) {
        assert!(text.contains(&k.name), "{} in the roster: {text}", k.name);
        assert!(!text.contains(&k.id) && !text.contains(&k.student_no), "IDs are masked: {text}");
    }
    assert!(!text.contains(&kids[5].name), "only the principal's school");
    assert_eq!(raw(&s.url, "GET", "/students/export.xlsx", &teacher, "", b"").0, 403);
    // The case ledger download.
    let (status, xlsx) = raw(&s.url, "GET", "/cases/export.xlsx?state=all", &principal, "", b"");
    assert_eq!(status, 200);
    let text = xlsx_text(&xlsx);
    assert!(text.contains("控辍保学台账") && text.contains(&kids[0].name) && text.contains("疑似辍学"), "{text}");
    assert!(!text.contains(&kids[0].student_no), "masked: {text}");
    drop(s);
    // The log is sealed (it names users and pupils): read with the node's key.
    let sealed = std::fs::read_to_string(node.data.join("web").join("audit.jsonl")).expect("audit log");
    assert!(!sealed.contains("\"export\"") && sealed.lines().all(|l| l.starts_with('~')), "{sealed}");
    let audit = baoxue_node::web::read_audit_log(&node.data).expect("audit log");
    assert_eq!(audit.lines().filter(|l| l.contains("\"export\"")).count(), 2, "both downloads logged: {audit}");
    let list: Value = node.json(&["student", "list", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(kids.len() + new.len()), "the three imported once");
}

/// The full record id of a student, from the app's search.
fn student_hex(url: &str, cookie: &str, student_no: &str) -> String {
    let (_, _, body) = http(url, "GET", &format!("/students?q={student_no}"), cookie, "");
    body.split("href=\"/students/").nth(1).and_then(|r| r.split('"').next()).expect("a search hit").to_string()
}

#[test]
fn a_mistaken_absence_is_withdrawn_and_the_cli_works_while_serving() {
    let (node, kids) = school();
    let friday = "2026-10-09";
    // 张小明: unexcused on Friday (his case's day 0) and again today; 李小红: today only.
    node.ok(&["absence", &kids[0].student_no, "--kind", "unexcused", "--date", friday]);
    node.ok(&["absence", &kids[0].student_no, "--kind", "unexcused", "--date", SCHOOL_DAY]);
    node.ok(&["absence", &kids[1].student_no, "--kind", "unexcused", "--date", SCHOOL_DAY]);
    let t = add_user(
        &node,
        &["liu", "--name", "刘老师", "--role", "teacher", "--school", "鸦岭中心小学", "--class", "4/2"],
    );
    let p = add_user(&node, &["wang", "--name", "王校长", "--role", "principal", "--school", "鸦岭中心小学"]);
    let s = serve(&node);
    let (teacher, tcsrf) = http_login(&s.url, "liu", &t);
    let (principal, pcsrf) = http_login(&s.url, "wang", &p);
    let zhang = student_hex(&s.url, &teacher, &kids[0].student_no);
    let li = student_hex(&s.url, &teacher, &kids[1].student_no);
    let post =
        |who: &str, hex: &str, body: String| http(&s.url, "POST", &format!("/students/{hex}/withdraw"), who, &body).0;

    // The teacher, the same day: a reason is required; then the absence and its case go.
    assert_eq!(post(&teacher, &li, format!("_csrf={tcsrf}&day={SCHOOL_DAY}&reason=")), 400);
    let reason = "%E7%82%B9%E5%90%8D%E8%AF%AF%E7%82%B9"; // 点名误点
    assert_eq!(post(&teacher, &li, format!("_csrf={tcsrf}&day={SCHOOL_DAY}&reason={reason}")), 303);
    // Not an earlier day's absence, and not without the token.
    assert_eq!(post(&teacher, &zhang, format!("_csrf={tcsrf}&day={friday}&reason={reason}")), 403);
    assert_eq!(post(&principal, &zhang, format!("day={friday}&reason={reason}")), 403);
    // The school admin later: Friday was a mistake, so the clock runs from today's absence.
    assert_eq!(post(&principal, &zhang, format!("_csrf={pcsrf}&day={friday}&reason={reason}")), 303);
    let (_, _, page) = http(&s.url, "GET", &format!("/students/{zhang}"), &principal, "");
    assert!(page.contains("撤回缺勤 2026-10-09") && page.contains("点名误点"), "the correction in the history");
    // Today's absence of 李小红 can be recorded again, as what it was — from the command line
    // while the app holds the store: the command runs in the server (its control socket).
    node.ok(&["absence", &kids[1].student_no, "--kind", "sick", "--date", SCHOOL_DAY]);
    let (_, _, page) = http(&s.url, "GET", &format!("/students/{li}"), &teacher, "");
    assert!(page.contains("病假"), "the CLI's write is in the app's store: {page}");
    let shown: Value = node.json(&["student", "show", &kids[1].student_no, "--json"]);
    assert_eq!(shown["absences"], 1, "a read through the server");

    let li_shown: Value = node.json(&["student", "show", &kids[1].student_no, "--json"]);
    assert_eq!(li_shown["absences"], 1, "the withdrawn one does not count; the sick day does");
    let zhang_shown: Value = node.json(&["student", "show", &kids[0].student_no, "--json"]);
    assert_eq!(zhang_shown["absences"], 1, "only today's");
    let cases: Value = node.json(&["case", "list", "--json"]);
    let cases = cases.as_array().expect("cases");
    let of = |k: &Kid| -> Vec<&Value> { cases.iter().filter(|c| c["name"] == k.name.as_str()).collect() };
    let li_cases = of(&kids[1]);
    assert_eq!(li_cases.len(), 1);
    assert_eq!(li_cases[0]["outcome"], "mistaken", "her case rested on the mistake: {li_cases:?}");
    let zhang_cases = of(&kids[0]);
    assert_eq!(zhang_cases.len(), 2, "{zhang_cases:?}");
    let old = zhang_cases.iter().find(|c| c["clock_start"] == friday).expect("Friday's case");
    assert_eq!(old["outcome"], "mistaken");
    let new = zhang_cases.iter().find(|c| c["state"] != "closed").expect("an open case");
    assert_eq!(new["clock_start"], SCHOOL_DAY, "the clock now runs from the real absence");
    // The alerts follow: nothing for 李小红, and 张小明's clock is today's.
    let alerts = node.ok(&["alerts", "--as-of", "2026-10-20"]);
    assert!(!alerts.contains(&kids[1].name), "{alerts}");
    assert!(alerts.contains(&kids[0].name), "{alerts}");

    // A case closed by mistake is reopened by the school admin, with a reason; not by the
    // teacher, and not while the child has another open case.
    let li_case = li_cases[0]["record"].as_str().expect("record").to_string();
    let old_zhang = old["record"].as_str().expect("record").to_string();
    let why = "%E5%AE%B6%E9%95%BF%E6%9D%A5%E7%94%B5"; // 家长来电
    let reopen =
        |who: &str, case: &str, body: String| http(&s.url, "POST", &format!("/cases/{case}/reopen"), who, &body).0;
    assert_eq!(reopen(&teacher, &li_case, format!("_csrf={tcsrf}&reason={why}")), 403);
    assert_eq!(reopen(&principal, &li_case, format!("_csrf={pcsrf}&reason=")), 400, "a reason is required");
    assert_eq!(reopen(&principal, &old_zhang, format!("_csrf={pcsrf}&reason={why}")), 400, "he has an open case");
    assert_eq!(reopen(&principal, &li_case, format!("_csrf={pcsrf}&reason={why}")), 303);
    let (_, _, page) = http(&s.url, "GET", &format!("/cases/{li_case}"), &principal, "");
    assert!(page.contains("疑似辍学") && page.contains("家长来电"), "reopened, the reason in its history");
    // A non-local pupil's 户籍所在县 (000 §三(二)) is set from the student page by the
    // principal, not by a class teacher, and not without the token.
    let county = "county=%E5%B5%A9%E5%8E%BF"; // 嵩县
    let set = |who: &str, body: String| http(&s.url, "POST", &format!("/students/{li}/hukou-county"), who, &body).0;
    assert_eq!(set(&teacher, format!("_csrf={tcsrf}&{county}")), 403);
    assert_eq!(set(&principal, county.to_string()), 403);
    assert!(node.json(&["student", "show", &kids[1].student_no, "--json"])["hukou_county"].is_null());
    assert_eq!(set(&principal, format!("_csrf={pcsrf}&{county}")), 303);
    assert_eq!(node.json(&["student", "show", &kids[1].student_no, "--json"])["hukou_county"], "嵩县");
    let (_, _, page) = http(&s.url, "GET", &format!("/students/{li}"), &principal, "");
    assert!(page.contains("户籍所在县 <strong>嵩县</strong>"), "shown on the student page");
    // Emptied again: a local pupil.
    assert_eq!(set(&principal, format!("_csrf={pcsrf}&county=")), 303);
    assert!(node.json(&["student", "show", &kids[1].student_no, "--json"])["hukou_county"].is_null());
    drop(s);
    let shown: Value = node.json(&["case", "show", &li_case[..12], "--json"]);
    assert_eq!(shown["state"], "suspected");
    // The command line withdraws too: today's absence was 张小明's new day 0.
    let out = node.ok(&["absence", &kids[0].student_no, "--withdraw", "点名误点", "--date", SCHOOL_DAY]);
    assert!(out.contains("误记撤销"), "{out}");
    let zhang_shown: Value = node.json(&["student", "show", &kids[0].student_no, "--json"]);
    assert_eq!(zhang_shown["absences"], 0);
    let r = node.run(&["absence", &kids[0].student_no]);
    assert!(r.code != 0 && r.stderr.contains("--kind"), "a kind or a withdrawal: {r:?}");
}

/// DER bytes as a PEM certificate (what curl's `--cacert` reads).
fn pem_of(der: &[u8]) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            b64.push(if i <= chunk.len() { B64[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// `curl` with these arguments: (exit code, headers and body).
fn curl(args: &[&str]) -> (i32, Vec<u8>) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "-i", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl (apt-get install curl)");
    (out.status.code().unwrap_or(-1), out.stdout)
}

#[test]
fn lan_mode_is_https_with_the_nodes_own_ca() {
    let (node, _) = school();
    let mut child = node
        .command(&["serve", "--lan", "--listen", "127.0.0.1:0", "--host", "baoxue.lan"])
        .env("BAOXUE_TEST_CHEAP_ARGON2", "1")
        .env("BAOXUE_TODAY", SCHOOL_DAY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve --lan");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let second = lines.next().and_then(Result::ok).unwrap_or_default();
    let s = Served { child, url: first.clone() };
    assert!(first.contains("https://"), "LAN mode serves HTTPS: {first}");
    assert!(second.contains("/lan"), "and names the certificate page: {second}");
    let port = first.rsplit(':').next().map(|p| p.trim().trim_end_matches('/')).unwrap_or("").to_string();
    let resolve = format!("baoxue.lan:{port}:127.0.0.1");
    let base = format!("https://baoxue.lan:{port}");

    // A device that does not trust the node's CA yet is refused by TLS (no click-through here).
    let (code, _) = curl(&["--resolve", &resolve, &format!("{base}/login")]);
    assert_ne!(code, 0, "an unknown CA must not be trusted");
    // The first visit: the certificate page (instructions and a QR code) and the CA download.
    let (_, page) = curl(&["-k", "--resolve", &resolve, &format!("{base}/lan")]);
    let page = String::from_utf8_lossy(&page);
    for what in ["安卓", "iOS", "Windows", "data:image/svg+xml;base64,", "/lan/ca.crt"] {
        assert!(page.contains(what), "the certificate page names {what}: {page}");
    }
    let (_, ca) = curl(&["-k", "--resolve", &resolve, &format!("{base}/lan/ca.crt")]);
    let split = ca.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).expect("head");
    let head = String::from_utf8_lossy(&ca[..split]).to_lowercase();
    assert!(head.contains("application/x-x509-ca-cert") && head.contains("baoxue-ca.crt"), "{head}");
    let pem = node.file("ca.pem", pem_of(&ca[split..]).as_bytes());
    // Trusting only that CA, a real TLS client gets the app, and its cookies are Secure.
    let (code, body) = curl(&["--cacert", &pem.to_string_lossy(), "--resolve", &resolve, &format!("{base}/login")]);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(code, 0, "trusted through the downloaded CA: {text}");
    assert!(text.starts_with("HTTP/") && text.contains(" 200") && text.contains("name=\"password\""), "{text}");
    assert!(text.to_lowercase().lines().any(|l| l.starts_with("set-cookie") && l.contains("secure")), "{text}");
    // The certificate vouches for the names it was issued for, and no other.
    let resolve_other = format!("elsewhere.lan:{port}:127.0.0.1");
    let (code, _) = curl(&[
        "--cacert",
        &pem.to_string_lossy(),
        "--resolve",
        &resolve_other,
        &format!("https://elsewhere.lan:{port}/login"),
    ]);
    assert_ne!(code, 0, "a name the certificate was not issued for is refused");
    drop(s);
}
