//! `cargo run -p baoxue --example screenshots`: the README's screenshots of the school app,
//! made with the real binary and headless Chromium (desktop 1280 px and phone 390 px wide),
//! written to `docs/screenshots/`. Not part of `cargo test`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use baoxue::{roster, Kid, Node};
use baoxue_web::browser::Browser;

/// The day the screenshots take as today (a Monday in term).
const TODAY: &str = "2026-12-07";

fn main() {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join("screenshots");
    std::fs::create_dir_all(&out).expect("docs/screenshots");
    let node = Node::new();
    let names = ["张小明", "李小红", "王小刚", "赵小丽", "孙小军", "周小燕", "吴小龙", "郑小梅"];
    let kids: Vec<Kid> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut k = Kid::new(i as u32 + 1, "鸦岭中心小学", 4);
            k.class = "2班".into();
            k.name = (*n).into();
            k
        })
        .collect();
    let f = node.file("roster.csv", roster(&kids).as_bytes());
    node.ok(&["student", "import", &f.to_string_lossy(), "--date", "2026-09-01"]);
    // A case three days old, so the ladder has something due.
    let today = baoxue_shared::Date::parse(TODAY).expect("TODAY");
    let three_days_ago = today.add_days(-7).to_string(); // a week ago: five school days
    let friday = today.add_days(-3).to_string();
    node.ok(&["absence", &kids[2].student_no, "--kind", "unexcused", "--date", &three_days_ago]);
    node.ok(&["absence", &kids[0].student_no, "--kind", "sick", "--date", &friday]);
    node.ok(&[
        "case",
        "act",
        &kids[2].student_no,
        "--kind",
        "call",
        "--by",
        "刘老师",
        "--text",
        "监护人称孩子不愿上学",
        "--date",
        &three_days_ago,
    ]);
    let otp = |args: &[&str]| -> String {
        let mut all = vec!["user", "add"];
        all.extend_from_slice(args);
        let text = node.ok(&all);
        text.lines().find_map(|l| l.strip_prefix("一次性密码：")).expect("otp").trim().to_string()
    };
    let teacher = otp(&["liu", "--name", "刘老师", "--role", "teacher", "--school", "鸦岭中心小学", "--class", "4/2"]);
    let mut child = node
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .env("BAOXUE_TODAY", TODAY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address");
    let url = line.split('：').nth(1).expect("url").trim().trim_end_matches('/').to_string();
    let mut b = Browser::launch().expect("Chromium");
    let shot = |b: &mut Browser, name: &str| {
        // The whole page in one viewport, so a sticky bar sits at the page's foot as on screen
        // (a capture beyond the viewport would leave it in the middle of the picture).
        let (w, h, mobile) = b
            .eval("[innerWidth, document.documentElement.scrollHeight, innerWidth < 700]")
            .ok()
            .and_then(|v| v.as_array().cloned())
            .map(|v| (v[0].as_u64().unwrap_or(1280), v[2].as_bool().unwrap_or(false), v[1].as_u64().unwrap_or(900)))
            .map(|(w, m, h)| (w as u32, h as u32, m))
            .unwrap_or((1280, 900, false));
        b.viewport(w, h, mobile).expect("fit");
        let png = b.screenshot().expect("png");
        b.viewport(w, if mobile { 844 } else { 900 }, mobile).expect("back");
        std::fs::write(out.join(name), png).expect("write png");
        println!("docs/screenshots/{name}");
    };
    b.goto(&format!("{url}/login")).expect("login");
    shot(&mut b, "01-login.png");
    b.fill("input[name=login]", "liu").expect("login");
    b.fill("input[name=password]", &teacher).expect("pw");
    b.click_and_wait("form[action='/login'] button").expect("submit");
    b.fill("input[name=new]", "liu-new-pass").expect("new");
    b.fill("input[name=again]", "liu-new-pass").expect("again");
    b.click_and_wait("form[action='/password'] button").expect("password");
    shot(&mut b, "02-home.png");
    b.goto(&format!("{url}/roll")).expect("roll");
    b.eval("document.querySelectorAll('.roll-row')[0].querySelector('input[value=unexcused]').click();document.querySelectorAll('.roll-row')[4].querySelector('input[value=sick]').click()").expect("mark");
    b.viewport(390, 844, true).expect("phone");
    let here = b.url().expect("url");
    b.goto(&here).expect("reload");
    b.eval("document.querySelectorAll('.roll-row')[0].querySelector('input[value=unexcused]').click();document.querySelectorAll('.roll-row')[4].querySelector('input[value=sick]').click()").expect("mark");
    shot(&mut b, "03-roll-call-phone.png");
    b.click_and_wait(".sticky-save button").expect("save");
    shot(&mut b, "04-roll-call-saved-phone.png");
    b.viewport(1280, 900, false).expect("desktop");
    b.goto(&format!("{url}/cases")).expect("cases");
    shot(&mut b, "05-cases.png");
    b.click_and_wait("tbody a").expect("case");
    shot(&mut b, "06-case.png");
    let case = b.url().expect("url");
    let case = case.split('?').next().unwrap_or("").to_string();
    b.goto(&format!("{case}/print/persuade")).expect("print");
    shot(&mut b, "07-notice.png");
    // A home visit with the 001 附件2 fields, then its 家访记录表.
    b.goto(&case).expect("case");
    b.fill("form[action$='/act'] select[name=kind]", "visit").expect("kind");
    b.fill("form[action$='/act'] textarea[name=text]", "见到孩子母亲。孩子因跟不上功课不愿上学，在家玩手机。")
        .expect("text");
    b.fill("form[action$='/act'] input[name=companion]", "陈老师").expect("companion");
    b.fill("form[action$='/act'] textarea[name=school_opinion]", "安排数学老师每周两次课后辅导。").expect("school");
    b.fill("form[action$='/act'] textarea[name=parent_opinion]", "同意下周一送孩子返校。").expect("parent");
    b.click_and_wait("form[action$='/act'] button[type=submit]").expect("save visit");
    b.goto(&format!("{case}/print/visit")).expect("visit form");
    shot(&mut b, "08-visit-record.png");
    // The student page on a phone: absences, each with its withdraw form.
    b.viewport(390, 844, true).expect("phone");
    b.goto(&format!("{url}/students?q={}", kids[0].name)).expect("search");
    b.click_and_wait("tbody a").expect("student");
    b.eval("document.getElementById('absences').scrollIntoView()").expect("scroll");
    shot(&mut b, "09-student-phone.png");
    drop(b);
    let _ = child.kill();
    let _ = child.wait();
}
