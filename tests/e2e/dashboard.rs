//! The county's dashboard in a real Chromium against a real `baoxue-hub serve` fed by two real
//! nodes: each role logs in; the bureau sees the charts drawn, drills from the county to a
//! case, views a full ID number (logged), resolves a conflict, uploads a census list and
//! confirms its suggested match, and downloads the township table as .xlsx (read back: cells,
//! no formula); a 乡镇 user sees only their township with masked IDs and gets 404 for another
//! township's pages; an inspector cannot write; a request without the CSRF token is refused.
//! `BAOXUE_SHOTS=DIR` also saves screenshots of the pages.

use baoxue::{kids, roster, Hub, Kid, Node};
use baoxue_web::browser::Browser;
use serde_json::Value;

/// The one-time password printed by `user add`.
fn otp(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("一次性密码：")).expect("a one-time password").trim().to_string()
}

/// Logs in with a one-time password and sets `new` as the password.
fn first_login(b: &mut Browser, url: &str, login: &str, otp: &str, new: &str) {
    b.goto(&format!("{url}/login")).expect("login page");
    b.fill("input[name=login]", login).expect("login");
    b.fill("input[name=password]", otp).expect("password");
    b.click_and_wait("form[action='/login'] button[type=submit]").expect("submit");
    assert!(b.url().unwrap().ends_with("/password"), "a one-time password leads to the password page");
    b.fill("input[name=new]", new).unwrap();
    b.fill("input[name=again]", new).unwrap();
    b.click_and_wait("form[action='/password'] button[type=submit]").unwrap();
}

fn logout(b: &mut Browser) {
    b.click_and_wait("form[action='/logout'] button").expect("logout");
}

/// `fetch` from the page (the session's cookie goes along): status and body.
fn fetch(b: &mut Browser, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let init = match body {
        Some(x) => format!(
            "{{method:'{method}',headers:{{'content-type':'application/x-www-form-urlencoded'}},body:{}}}",
            serde_json::to_string(x).unwrap()
        ),
        None => format!("{{method:'{method}'}}"),
    };
    let v = b
        .eval(&format!(
            "fetch({}, {init}).then(async r => [r.status, await r.text()])",
            serde_json::to_string(path).unwrap()
        ))
        .expect("fetch");
    (v[0].as_u64().unwrap() as u16, v[1].as_str().unwrap_or("").to_string())
}

fn csrf(b: &mut Browser) -> String {
    b.eval("document.querySelector('input[name=_csrf]').value").unwrap().as_str().unwrap().to_string()
}

fn shot(b: &mut Browser, name: &str) {
    if let Some(dir) = std::env::var_os("BAOXUE_SHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), b.screenshot().unwrap()).unwrap();
    }
}

/// A census row for a child: 身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体.
fn census_row(id: &str, name: &str, sex: &str, birth: &str, township: &str) -> String {
    format!("{id},{name},{sex},{birth},{township},东村,\n")
}

#[test]
fn the_county_dashboard_per_role_in_chromium() {
    let mut hub = Hub::new();
    let a = Node::from_bundle(&hub.bundle("鸦岭中心校", "鸦岭"));
    let b_node = Node::from_bundle(&hub.bundle("白沙中心校", "白沙"));
    let kids = kids(30);
    let file = a.file("r.csv", roster(&kids).as_bytes());
    a.ok(&["student", "import", &file.to_string_lossy(), "--date", "2026-09-01"]);
    // A case at 鸦岭: a child absent without leave.
    let absent = &kids[4];
    a.ok(&["absence", &absent.student_no, "--kind", "unexcused", "--date", "2026-11-02"]);
    // A status conflict (as in e2e::sync): 鸦岭 takes the child back while 白沙 accepts them.
    let moved = kids[0].student_no.clone();
    let url = hub.serve_web();
    a.sync(&hub);
    b_node.sync(&hub);
    a.ok(&["student", "transfer", &moved, "--to-school", "白沙小学", "--date", "2026-10-08"]);
    a.sync(&hub);
    b_node.sync(&hub);
    a.ok(&["student", "status", &moved, "在读", "--date", "2026-10-09"]);
    b_node.ok(&["student", "accept", &moved, "--date", "2026-10-09"]);
    a.sync(&hub);
    assert_eq!(b_node.sync(&hub)["conflicts"], 1);

    let bureau = otp(&hub.ok(&["user", "add", "jjg", "--name", "李基教", "--role", "基教股"]));
    let town = otp(&hub.ok(&["user", "add", "yaling", "--name", "赵乡镇", "--role", "乡镇", "--township", "鸦岭"]));
    let inspector = otp(&hub.ok(&["user", "add", "dudao", "--name", "钱督导", "--role", "督导"]));
    assert!(hub.run(&["user", "add", "xiang", "--name", "某", "--role", "乡镇"]).stderr.contains("--township"));

    let mut b = Browser::launch().expect("Chromium (apt-get install chromium fonts-noto-cjk)");

    // --- 基教股: the dashboard with its charts ------------------------------------------------
    first_login(&mut b, &url, "jjg", &bureau, "Jijiao-2026-pass");
    settle(&mut b, &hub, &url);
    let page = b.text("main").unwrap();
    assert!(page.contains("九年义务教育巩固率") && page.contains("辍学率") && page.contains("统计日期"), "{page}");
    assert!(page.contains("毕业") && page.contains("入学"), "the rates show their terms: {page}");
    let bars = b.eval("document.querySelectorAll('svg.chart-svg rect.chart-bar').length").unwrap();
    assert!(bars.as_u64().unwrap() >= 1, "the township bars are drawn");
    let labels = b.eval("[...document.querySelectorAll('svg .chart-label')].map(e => e.textContent)").unwrap();
    assert!(labels.to_string().contains("鸦岭") && labels.to_string().contains("白沙"), "{labels}");
    assert!(b.eval("document.querySelectorAll('svg circle.chart-dot').length").unwrap().as_u64().unwrap() >= 1);
    assert!(page.contains("节点运行情况") && page.contains("鸦岭中心校"), "{page}");
    shot(&mut b, "dashboard");

    // Drill down: county → 鸦岭 → the absent child's school → the case.
    b.goto(&format!("{url}/t")).unwrap();
    b.click_and_wait("a[href='/t/%E9%B8%A6%E5%B2%AD']").unwrap();
    assert!(b.text("h1").unwrap().contains("鸦岭"));
    let school_link = format!("a[href^='/t/%E9%B8%A6%E5%B2%AD/'][href$='{}']", url_seg(&absent.school));
    b.click_and_wait(&school_link).unwrap();
    assert!(b.text("h1").unwrap().contains(&absent.school));
    b.click_and_wait("main table a[href^='/case/']").unwrap();
    let case_url = b.url().unwrap();
    let case_page = b.text("main").unwrap();
    assert!(case_page.contains(&absent.name) && case_page.contains("劝返流程") && case_page.contains("修改历史"));
    assert!(!case_page.contains(&absent.id), "the ID number is masked by default");
    assert!(case_page.contains(&absent.id[..6]) && case_page.contains('*'));
    shot(&mut b, "case");
    // The full number, on request, logged.
    b.click_and_wait("form[action$='/full-id'] button").unwrap();
    assert!(b.text("main").unwrap().contains(&absent.id));

    // A conflict resolved from the page: 白沙's acceptance kept.
    b.goto(&format!("{url}/conflicts")).unwrap();
    let c = b.text("main").unwrap();
    assert!(c.contains("白沙小学") && c.contains("鸦岭"), "both values side by side: {c}");
    shot(&mut b, "conflicts");
    b.eval("window.confirm = () => true").unwrap();
    b.eval("[...document.querySelectorAll('.side .card')].find(d => d.innerText.includes('白沙小学')).querySelector('button').setAttribute('id','keep')").unwrap();
    b.click_and_wait("#keep").unwrap();
    let after = b.text("main").unwrap();
    assert!(after.contains("已裁定") && after.contains("没有待裁定的冲突"), "{after}");
    let rows: Value = serde_json::from_str(&hub.ok(&["conflicts", "--json"])).unwrap();
    assert_eq!(rows, serde_json::json!([]), "the resolution is in the store");
    // It has not reached 白沙's node yet (the child is 白沙's now); it has once the node synced.
    let node_row = |b: &mut Browser, name: &str| -> String {
        b.goto(&format!("{url}/nodes")).unwrap();
        let js = format!(
            "[...document.querySelectorAll('main tr')].find(r => r.innerText.includes('{name}'))?.innerText ?? ''"
        );
        b.eval(&js).unwrap().as_str().unwrap_or_default().to_string()
    };
    let before = node_row(&mut b, "白沙中心校");
    assert!(before.contains("未收到：1 条裁决待下发（最新 "), "{before}");
    assert!(node_row(&mut b, "鸦岭中心校").contains("已收到最新裁决"), "nothing of 鸦岭's to receive");
    b_node.sync(&hub);
    let after = node_row(&mut b, "白沙中心校");
    assert!(after.contains("已收到最新裁决") && !after.contains("未收到"), "{after}");
    let nodes: Value = serde_json::from_str(&hub.ok(&["node", "list", "--json"])).unwrap();
    let baisha = nodes.as_array().unwrap().iter().find(|n| n["name"] == "白沙中心校").unwrap();
    assert_eq!(baisha["resolutions"]["pending"], 0, "{baisha}");
    assert_eq!(baisha["resolutions"]["total"], 1, "{baisha}");

    // A census list: one child on the roll by ID, one suggested (same name, sex and birth,
    // another ID number), one nobody knows (a 失学 case for 白沙).
    let on_roll = &kids[7];
    let twin = &kids[9];
    let other = (700..800)
        .map(|n| Kid::born(n, &twin.school, twin.grade, &twin.birth))
        .find(|k| k.sex == twin.sex && k.id != twin.id)
        .unwrap();
    let twin2 = &kids[11];
    let other2 = (800..900)
        .map(|n| Kid::born(n, &twin2.school, twin2.grade, &twin2.birth))
        .find(|k| k.sex == twin2.sex && k.id != twin2.id)
        .unwrap();
    let stranger = Kid::new(512, "白沙小学", 3);
    let mut csv = String::from("身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体\n");
    csv.push_str(&census_row(&on_roll.id, &on_roll.name, on_roll.sex, &on_roll.birth, "鸦岭"));
    csv.push_str(&census_row(&other.id, &twin.name, twin.sex, &twin.birth, "鸦岭"));
    csv.push_str(&census_row(&stranger.id, "失学儿童甲", stranger.sex, &stranger.birth, "白沙"));
    csv.push_str(&census_row(&other2.id, &twin2.name, twin2.sex, &twin2.birth, "鸦岭"));
    b.goto(&format!("{url}/census")).unwrap();
    let token = b
        .eval("document.querySelector('form[enctype]').getAttribute('action').split('_csrf=')[1]")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let js = format!(
        "(async () => {{ const f = new FormData(); f.append('file', new Blob([{}], {{type:'text/csv'}}), '公安名单.csv'); \
         f.append('source', 'police'); f.append('date', '2026-11-20'); \
         const r = await fetch('/census?_csrf={token}', {{method:'POST', body:f}}); return r.url; }})()",
        serde_json::to_string(&csv).unwrap()
    );
    let review = b.eval(&js).unwrap().as_str().unwrap().to_string();
    assert!(review.contains("/census?review="), "{review}");
    b.goto(&review).unwrap();
    let r = b.text("main").unwrap();
    assert!(r.contains("疑似同一人") && r.contains(&twin.name), "{r}");
    shot(&mut b, "census");
    // Confirm the first (the child on the roll), reject the second (another child: a 失学 case).
    b.click_and_wait("button[value=confirm]").unwrap();
    assert!(b.text("main").unwrap().contains("已确认为在籍学生"));
    b.click_and_wait("button[value=reject]").unwrap();
    assert!(b.text("main").unwrap().contains("已否认，立为失学案件"), "{}", b.text("main").unwrap());
    let (_, yaling) = fetch(&mut b, "GET", "/cases?township=%E9%B8%A6%E5%B2%AD&source=police", None);
    assert!(yaling.contains(&twin2.name) && !yaling.contains(&format!(">{}<", twin.name)), "only the rejected one");
    // The baseline uploaded from the same page.
    let base = "学校,入学学年,入学年级,入学人数,转入,转出,死亡\n鸦岭中心小学,2018,1,5,0,0,0\n";
    let js = format!(
        "(async () => {{ const f = new FormData(); f.append('file', new Blob([{}], {{type:'text/csv'}}), '基线.csv'); \
         f.append('date', '2026-09-01'); const r = await fetch('/baseline?_csrf={token}', {{method:'POST', body:f}}); \
         return [r.status, await r.text()]; }})()",
        serde_json::to_string(base).unwrap()
    );
    let r = b.eval(&js).unwrap();
    assert!(r[0] == 200 && r[1].as_str().unwrap().contains("已导入基线"), "{r}");
    // The stranger is a 失学 case of 白沙, on the pages within seconds.
    b.goto(&format!("{url}/cases?township=%E7%99%BD%E6%B2%99")).unwrap();
    assert!(b.text("main").unwrap().contains("失学儿童甲"), "the census case is listed");
    b.click_and_wait("main table a[href^='/case/']").unwrap();
    let baisha_case = b.url().unwrap();

    // Every count of the township table and the ranking leads to the list of exactly the
    // children it counts (the census cases of 鸦岭 and 白沙 are in its census column).
    // Two townships: 4 counts each and the 合计 row's 4; the ranking's one each.
    for (report, cells) in [("township-table", 12), ("ranking", 2)] {
        let nonzero = counts_match_their_lists(&mut b, &url, report);
        assert_eq!(nonzero.0, cells, "{report}: every count cell is a link ({nonzero:?})");
        assert!(nonzero.1 >= 2, "{report}: at least two cells count someone ({nonzero:?})");
    }

    // The township table as .xlsx: read back, numbers as numbers, no formula.
    let xlsx = download(&mut b, "/reports/township-table/xlsx");
    let grid = baoxue_sheet::read::read(&xlsx).expect("an .xlsx the sheet reader opens");
    let text: Vec<String> = grid.rows.iter().flat_map(|r| r.cells.iter().map(|c| c.text())).collect();
    assert!(text.iter().any(|t| t.contains("各乡镇辍学学生未返校情况统计表")), "{text:?}");
    assert!(text.iter().any(|t| t == "序号") && text.iter().any(|t| t == "白沙") && text.iter().any(|t| t == "合计"));
    assert!(baoxue_sheet::read::formula_cells(&xlsx).unwrap().is_empty(), "no cell is a formula");
    let cases_xlsx = download(&mut b, "/cases.xlsx?open=1");
    let cases_grid = baoxue_sheet::read::read(&cases_xlsx).unwrap();
    let all: String = cases_grid.rows.iter().flat_map(|r| r.cells.iter().map(|c| c.text())).collect();
    assert!(all.contains(&absent.name) && !all.contains(&absent.id), "downloads are masked");

    // The audit page: the login, the full-ID view, the exports.
    b.goto(&format!("{url}/audit")).unwrap();
    let audit = b.text("main").unwrap();
    for what in ["登录", "查看完整身份证号", "下载", "裁定冲突", "普查比对"] {
        assert!(audit.contains(what), "{what}: {audit}");
    }
    // The county's policy switched from the page (as `policy set`).
    b.goto(&format!("{url}/policy")).unwrap();
    b.eval("window.confirm = () => true").unwrap();
    b.fill("select[name=preset]", "yichuan").unwrap();
    b.click_and_wait("form[action='/policy'] button[type=submit]").unwrap();
    assert!(b.text("main").unwrap().contains("已更换政策为 yichuan"), "{}", b.text("main").unwrap());
    // Nodes' health: the new policy reaches 鸦岭 at its next sync, 白沙 has not synced since.
    a.sync(&hub);
    b.goto(&format!("{url}/nodes")).unwrap();
    let row = |b: &mut Browser, node: &str| {
        let js = format!(
            "[...document.querySelectorAll('tbody tr')].find(r => r.innerText.includes('{node}'))?.innerText ?? ''"
        );
        b.eval(&js).unwrap().as_str().unwrap().to_string()
    };
    assert!(row(&mut b, "鸦岭中心校").contains("已送达"), "{}", row(&mut b, "鸦岭中心校"));
    assert!(row(&mut b, "白沙中心校").contains("未送达"), "{}", row(&mut b, "白沙中心校"));
    // CSRF: a write without the token is refused.
    let (status, _) = fetch(&mut b, "POST", "/conflicts/resolve", Some("record=x&field=status&keep=y"));
    assert_eq!(status, 403);
    logout(&mut b);

    // --- 乡镇 (鸦岭): own township only, masked, no writes ------------------------------------
    first_login(&mut b, &url, "yaling", &town, "Yaling-2026-pass");
    let labels = b.eval("[...document.querySelectorAll('svg .chart-label')].map(e => e.textContent)").unwrap();
    assert!(labels.to_string().contains("鸦岭") && !labels.to_string().contains("白沙"), "{labels}");
    shot(&mut b, "township");
    assert_eq!(fetch(&mut b, "GET", "/t/%E7%99%BD%E6%B2%99", None).0, 404, "another township");
    assert_eq!(fetch(&mut b, "GET", &path_of(&baisha_case), None).0, 404, "another township's case");
    assert_eq!(fetch(&mut b, "GET", "/cases?township=%E7%99%BD%E6%B2%99", None).0, 404);
    let (s, body) = fetch(&mut b, "GET", "/cases", None);
    assert!(s == 200 && body.contains(&absent.name) && !body.contains("失学儿童甲"), "only 鸦岭's cases");
    let (s, body) = fetch(&mut b, "GET", &path_of(&case_url), None);
    assert!(s == 200 && !body.contains(&absent.id) && !body.contains("full-id"), "masked, no full-ID action");
    let table = download(&mut b, "/reports/township-table/xlsx");
    let t: String =
        baoxue_sheet::read::read(&table).unwrap().rows.iter().flat_map(|r| r.cells.iter().map(|c| c.text())).collect();
    assert!(t.contains("鸦岭") && !t.contains("白沙"), "the township's download holds its own row: {t}");
    let (cells, nonzero) = counts_match_their_lists(&mut b, &url, "township-table");
    assert!(cells == 8 && nonzero >= 2, "鸦岭's row and its 合计: {cells} cells, {nonzero} non-zero");
    assert_eq!(fetch(&mut b, "GET", "/conflicts", None).0, 403);
    assert_eq!(fetch(&mut b, "GET", "/census", None).0, 403);
    logout(&mut b);

    // --- 督导: reads everything, writes nothing -------------------------------------------------
    first_login(&mut b, &url, "dudao", &inspector, "Dudao-2026-pass");
    assert_eq!(fetch(&mut b, "GET", "/t/%E7%99%BD%E6%B2%99", None).0, 200);
    assert_eq!(fetch(&mut b, "GET", &path_of(&baisha_case), None).0, 200);
    let token = csrf(&mut b);
    let (s, _) =
        fetch(&mut b, "POST", "/conflicts/resolve", Some(&format!("_csrf={token}&record=x&field=status&keep=y")));
    assert_eq!(s, 403, "an inspector cannot resolve");
    let (s, _) = fetch(&mut b, "POST", &format!("{}/full-id", path_of(&case_url)), Some(&format!("_csrf={token}")));
    assert_eq!(s, 403, "nor see a full ID number");
    assert_eq!(fetch(&mut b, "GET", "/audit", None).0, 403);
    let (s, _) = fetch(&mut b, "POST", "/policy", Some(&format!("_csrf={token}&preset=feicheng")));
    assert_eq!(s, 403, "nor change the policy");
    hub.stop();
}

/// Follows every count link of a report page (`/cases?counted=…`) and checks that the list
/// it leads to has as many rows as the cell says. Returns (cells, cells above zero).
fn counts_match_their_lists(b: &mut Browser, url: &str, report: &str) -> (usize, usize) {
    b.goto(&format!("{url}/reports/{report}")).unwrap();
    let js = "[...document.querySelectorAll('main table a[href^=\"/cases?counted=\"]')].map(a => [a.getAttribute('href'), a.textContent.trim()])";
    let cells = b.eval(js).unwrap().as_array().cloned().unwrap_or_default();
    let mut nonzero = 0;
    for c in &cells {
        let href = c[0].as_str().unwrap();
        let n: u64 = c[1].as_str().unwrap().parse().unwrap_or_else(|_| panic!("{report}: a count cell {c}"));
        b.goto(&format!("{url}{href}")).unwrap();
        let rows = b.eval("document.querySelectorAll('main table tbody tr').length").unwrap().as_u64().unwrap();
        assert_eq!(rows, n, "{report}: the cell linking to {href} says {n}, its list has {rows} rows");
        let h1 = b.text("h1").unwrap();
        assert!(h1.contains(&format!("{n} 人")), "{h1}");
        nonzero += usize::from(n > 0);
    }
    (cells.len(), nonzero)
}

/// The pages read figures the server recomputes in the background once the nodes' pushes are
/// in (it looks every few seconds): waits until the dashboard's figures include every revision
/// the hub holds.
fn settle(b: &mut Browser, hub: &Hub, url: &str) {
    let stats: Value = serde_json::from_str(&hub.ok(&["stats", "--json"])).unwrap();
    let held = stats["revisions"].as_u64().expect("stats --json revisions");
    let mut shown = Value::Null;
    for _ in 0..240 {
        b.goto(&format!("{url}/")).unwrap();
        shown = b.eval("document.querySelector('.asof')?.dataset.log ?? ''").unwrap();
        if shown.as_str().and_then(|s| s.parse::<u64>().ok()).is_some_and(|n| n >= held) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("the dashboard never included the hub's {held} revisions (it shows {shown})");
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("//").map(|x| x.1).unwrap_or(url);
    rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_else(|| "/".into())
}

fn url_seg(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A download fetched by the page (with its session), as bytes.
fn download(b: &mut Browser, path: &str) -> Vec<u8> {
    let js = format!(
        "fetch({}).then(r => {{ if (!r.ok) throw new Error('HTTP ' + r.status); return r.arrayBuffer(); }}).then(buf => {{ \
         let s = ''; const u = new Uint8Array(buf); for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]); return btoa(s); }})",
        serde_json::to_string(path).unwrap()
    );
    let b64 = b.eval(&js).expect("download");
    baoxue_web::browser::base64_decode(b64.as_str().unwrap()).unwrap()
}
