//! `bench web [--students N]`: the school app's server time at a township's size (not a
//! timed test: it prints figures). A temporary node gets N students in classes of 50, a day of
//! unexcused absences (about one child in a hundred, each opening a case); then the app's
//! router is called in-process, as the server calls it, for the roll-call page of a class, the
//! case list and a case page (p50/p95 over repeated requests) and for 50-student roll-call saves
//! (each one request and one durable commit). Prints JSON.

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use baoxue_shared::ids::make_id;
use baoxue_shared::{Date, RecordKind};
use baoxue_web::accounts::{hash_password, Account, AccountStore, Accounts, HashCost};
use baoxue_web::AuthConfig;
use serde_json::json;
use tower::ServiceExt;

use crate::cmd::student::Stamp;
use crate::error::{invalid, Result};
use crate::ledger::Ledger;
use crate::output::{json_text, Output};
use crate::web::accounts::StoreAccounts;
use crate::web::roll::class_url;

const ORG: &str = "乡镇,学校,类型,校长,包校领导,乡镇分管领导,乡镇主要领导\n\
鸦岭,鸦岭中心小学,小学,王校长,李局长,赵副镇长,钱镇长\n\
鸦岭,鸦岭二小,小学,周校长,李局长,赵副镇长,钱镇长\n\
鸦岭,鸦岭三小,小学,郑校长,李局长,赵副镇长,钱镇长\n\
鸦岭,鸦岭初中,初中,孙校长,李局长,赵副镇长,钱镇长\n";

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    (sorted[i.min(sorted.len() - 1)] * 100.0).round() / 100.0
}

fn figures(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    json!({"n": ms.len(), "p50_ms": pct(&ms, 0.5), "p95_ms": pct(&ms, 0.95), "max_ms": pct(&ms, 1.0)})
}

pub fn web(students: usize, rounds: usize) -> Result<Output> {
    let tmp = std::env::temp_dir().join(format!("baoxue-bench-web-{}-{:x}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&tmp).map_err(|e| invalid(e.to_string()))?;
    let result = run(&tmp, students, rounds);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn run(tmp: &std::path::Path, students: usize, rounds: usize) -> Result<Output> {
    let dir = tmp.join("data");
    let org = tmp.join("org.csv");
    std::fs::write(&org, ORG).map_err(|e| invalid(e.to_string()))?;
    crate::cmd::init::init(
        &dir,
        &crate::cmd::init::InitArgs {
            county_code: "410329",
            county_name: Some("测试县"),
            township: "鸦岭",
            org: &org,
            policy: None,
        },
    )?;
    let today = Date::today();
    let year = today.year();
    // Students in classes of 50: primary schools grades 1–6, the junior school 7–9.
    let schools = [("鸦岭中心小学", 1u8, 6u8), ("鸦岭二小", 1, 6), ("鸦岭三小", 1, 6), ("鸦岭初中", 7, 9)];
    let mut csv = String::from(
        "学籍号,身份证号,姓名,性别,出生日期,学校,年级,班级,户籍乡镇,户籍村,入学年份,特殊群体,监护人,监护人电话\n",
    );
    let mut n = 0usize;
    'fill: for round in 0.. {
        for (school, lo, hi) in schools {
            for grade in lo..=hi {
                for i in 0..50 {
                    if n >= students {
                        break 'fill;
                    }
                    let birth = chrono::NaiveDate::from_ymd_opt(
                        year - 6 - i32::from(grade),
                        1 + (n % 12) as u32,
                        1 + (n % 28) as u32,
                    )
                    .ok_or_else(|| invalid("出生日期"))?;
                    let area = format!("4103{:02}", 10 + (n / 1000) % 90);
                    let id = make_id(&area, birth, (n % 1000) as u16);
                    let sex = if (id.as_str().as_bytes()[16] - b'0') % 2 == 1 { "男" } else { "女" };
                    csv.push_str(&format!(
                        "G{id},{id},学生{n},{sex},{},{school},{grade},{}班,鸦岭,东村,{},,学生{n}家长,13900000000\n",
                        birth.format("%Y-%m-%d"),
                        round + 1,
                        year - i32::from(grade) + 1,
                        id = id.as_str()
                    ));
                    let _ = i;
                    n += 1;
                }
            }
        }
    }
    let roster = tmp.join("roster.csv");
    std::fs::write(&roster, csv).map_err(|e| invalid(e.to_string()))?;
    let stamp = Stamp { author: "bench".into(), date: today.add_days(-3) };
    let l = Ledger::open(&dir)?;
    let t = Instant::now();
    crate::cmd::student::import(
        &l,
        &crate::cmd::student::ImportArgs { file: &roster, dry_run: false, skip_bad: false },
        &stamp,
    )?;
    let import_s = t.elapsed().as_secs_f64();
    // One child in a hundred absent without excuse three days ago: that many open cases.
    let all = l.all(RecordKind::Student)?;
    let absent: Vec<_> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 == 7)
        .map(|(_, r)| (r.clone(), baoxue_shared::model::AbsenceKind::Unexcused))
        .collect();
    crate::cmd::absence::roll_call(&l, &absent, &stamp)?;
    let accounts = StoreAccounts(l.store.clone());
    accounts
        .save(&Accounts {
            users: vec![Account {
                login: "admin".into(),
                name: "管理员".into(),
                role: "admin".into(),
                scope: vec![],
                hash: hash_password("bench-password", HashCost::Cheap),
                disabled: false,
                must_change: false,
                created: today.to_string(),
            }],
        })
        .map_err(|e| invalid(e.to_string()))?;
    let app = crate::cmd::serve::build_app(
        &l,
        &dir,
        None,
        AuthConfig { hash_cost: HashCost::Cheap, ..AuthConfig::default() },
    );
    let (token, session) = app.auth.sessions.create("admin");
    let cookie = format!("bx_session={token}");
    let router = crate::web::router(app.clone());
    let classes: std::collections::BTreeMap<_, Vec<baoxue_shared::Record>> = app
        .with_index(|l, idx| {
            let mut m = std::collections::BTreeMap::new();
            for k in idx.by_class.keys() {
                m.insert(k.clone(), crate::web::roll::class_students(l, idx, k)?);
            }
            Ok(m)
        })
        .map_err(|e| invalid(e.to_string()))?;
    let class_keys: Vec<_> = classes.keys().cloned().collect();
    let cases = l.all(RecordKind::Case)?;
    let case = cases.first().ok_or_else(|| invalid("没有案件"))?.id.hex();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let call = |method: &str, uri: &str, body: String| -> Result<(f64, u16)> {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .map_err(|e| invalid(e.to_string()))?;
        let r = router.clone();
        let t = Instant::now();
        let res = rt.block_on(async move {
            let res = r.oneshot(req).await.map_err(|e| invalid(format!("{e:?}")))?;
            let status = res.status().as_u16();
            axum::body::to_bytes(res.into_body(), usize::MAX).await.map_err(|e| invalid(e.to_string()))?;
            Ok::<u16, crate::NodeError>(status)
        })?;
        Ok((t.elapsed().as_secs_f64() * 1000.0, res))
    };
    let measure = |uri: &dyn Fn(usize) -> String| -> Result<serde_json::Value> {
        let mut ms = Vec::new();
        for i in 0..rounds {
            let (t, status) = call("GET", &uri(i), String::new())?;
            if status != 200 {
                return Err(invalid(format!("{} 返回 {status}", uri(i))));
            }
            ms.push(t);
        }
        Ok(figures(ms))
    };
    let roll_page = measure(&|i| class_url(&class_keys[i % class_keys.len()]))?;
    let case_list = measure(&|_| "/cases".to_string())?;
    let case_page = measure(&|_| format!("/cases/{case}"))?;
    // 50-student saves: each class once (a day's roll call is taken once per class).
    let mut saves = Vec::new();
    for k in class_keys.iter().take(rounds.min(class_keys.len())) {
        let students = &classes[k];
        let mut body = format!("_csrf={}", session.csrf);
        for (i, s) in students.iter().enumerate() {
            let v = if i % 25 == 3 { "sick" } else { "present" };
            body.push_str(&format!("&s_{}={v}", s.id.hex()));
        }
        let (t, status) = call("POST", &class_url(k), body)?;
        if status != 303 {
            return Err(invalid(format!("点名保存返回 {status}")));
        }
        saves.push(t);
    }
    let v = json!({
        "students": n,
        "open_cases": cases.len(),
        "classes": class_keys.len(),
        "import_seconds": (import_s * 100.0).round() / 100.0,
        "roll_call_page": roll_page,
        "case_list": case_list,
        "case_page": case_page,
        "roll_call_save_50": figures(saves),
        "targets": {"pages_p95_ms": 50, "save_p95_ms": 200},
    });
    Ok(json_text(&v).into())
}
