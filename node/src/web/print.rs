//! The printable documents of a case, filled from the ledger, on A4 with the conventions of
//! official documents (centred title, 仿宋 body, issuer and date bottom right, a seal blank):
//! 劝返复学通知书 (002 §四(一)), 限期入学通知书 (004 第七条), 家访记录表 (001 附件2) and the
//! child's 一人一案. ID numbers print masked.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use baoxue_shared::model::{CaseState, ResponsibleRole};
use baoxue_shared::{Date, Field, Record, RecordKind};
use baoxue_web::layout::document as a4_document;
use baoxue_web::{html, CurrentUser, Markup, WebError};

use super::access::ClassKey;
use super::cases::student_of;
use super::{access_of, record, App};
use crate::ledger::Ledger;
use crate::output::ident;

struct Facts {
    name: String,
    sex: String,
    age: String,
    school: String,
    class: String,
    id_masked: String,
    guardian: String,
    phone: String,
    address: String,
    since: Date,
    principal: String,
}

fn facts(l: &Ledger, c: &Record, student: Option<&Record>, on: Date) -> Facts {
    let i = c.case.as_ref();
    let school = student.and_then(|s| s.school()).or(i.and_then(|i| i.school.as_deref())).unwrap_or("").to_string();
    let class = match student.and_then(ClassKey::of) {
        Some(k) if k.class.is_empty() => format!("{}年级", k.grade),
        Some(k) => format!("{}年级{}班", k.grade, k.class),
        None => i.and_then(|i| i.grade).map(|g| format!("{g}年级")).unwrap_or_default(),
    };
    let birth = student.and_then(|s| s.birth()).or(i.map(|i| i.child.birth));
    let age = birth
        .map(|b| {
            let mut y = on.year() - b.year();
            if (on.month(), on.day()) < (b.month(), b.day()) {
                y -= 1;
            }
            format!("{y}")
        })
        .unwrap_or_default();
    let text = |f: Field| student.and_then(|s| s.text(f)).unwrap_or("").to_string();
    let address = {
        let t = text(Field::HukouTownship);
        let v = text(Field::HukouVillage);
        format!("{t}{v}")
    };
    Facts {
        name: c.name().to_string(),
        sex: student
            .and_then(|s| s.sex())
            .or(i.map(|i| i.child.sex))
            .map(|s| s.label().to_string())
            .unwrap_or_default(),
        age,
        principal: l.config.org.school(&school).and_then(|s| s.principal.clone()).unwrap_or_default(),
        school,
        class,
        id_masked: i
            .and_then(|i| i.child.id_number.as_ref().map(|n| n.as_str().to_string()))
            .map(|n| ident(&n, false))
            .unwrap_or_default(),
        guardian: text(Field::Guardian),
        phone: text(Field::Phone),
        address,
        since: i.map(|i| i.clock_start).unwrap_or(on),
    }
}

fn blank(s: &str) -> Markup {
    html! { span.blank { (s) } }
}

fn steps_taken(c: &Record) -> String {
    let acts = c.actions_sorted();
    if acts.is_empty() {
        return "学校已多次联系".into();
    }
    acts.iter()
        .map(|a| match a.notice {
            Some(n) => format!("{} 送达《{n}》", a.date),
            None => format!("{} {}（{}）", a.date, a.kind.label(), a.by),
        })
        .collect::<Vec<_>>()
        .join("；")
}

fn persuade(f: &Facts, c: &Record, today: Date, township: &str) -> Markup {
    html! {
        h1.doc-title { "劝返复学通知书" }
        div.doc-no { "编号：" (today.year()) "-" (c.id.short()) }
        p.salutation { (blank(&f.guardian)) " 同志（家长/监护人）：" }
        p { "您的孩子 " (f.name) "（" (f.school) " " (f.class) " 学生）自 " (f.since) " 起未到校上学。学校已采取以下措施劝其返校：" (steps_taken(c)) "，但孩子至今仍未返校。" }
        p { "根据《中华人民共和国义务教育法》第五条，适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育。第五十八条规定，适龄儿童、少年的父母或者其他法定监护人无正当理由未依照本法规定送适龄儿童、少年入学接受义务教育的，由当地乡镇人民政府或者县级人民政府教育行政部门给予批评教育，责令限期改正。" }
        p { "请您在收到本通知书之日起一周内，送孩子返校复学。逾期仍未返校的，学校将报告" (township) "人民政府和县教育局，依法责令限期改正。" }
        p { "联系人：" (blank(&f.principal)) "　联系电话：" (blank("")) }
        div.issuer {
            span.seal { "（学校盖章）" } br;
            (f.school) br;
            (today)
        }
        div.receipt {
            p.noindent { strong { "回　执" } }
            p { "本人已收到 " (f.school) " 送达的关于 " (f.name) " 的《劝返复学通知书》（编号 " (today.year()) "-" (c.id.short()) "），将于一周内送孩子返校。" }
            p.noindent { "家长（监护人）签字：" (blank("")) "　　日期：" (blank("")) }
        }
    }
}

fn deadline(f: &Facts, c: &Record, today: Date, until: Date, county: &str, township: &str) -> Markup {
    html! {
        h1.doc-title { "限期入学通知书" }
        div.doc-no { "编号：" (today.year()) "-" (c.id.short()) }
        p.salutation { (blank(&f.guardian)) " 同志（家长/监护人）：" }
        p { "您的孩子 " (f.name) "（" (f.school) " " (f.class) "）自 " (f.since) " 起未到校接受义务教育，学校和乡镇已多次劝返（" (steps_taken(c)) "），至今未复学。" }
        p { "依据《中华人民共和国义务教育法》第五条、第五十八条，现责令您于 " strong { (until) } " 前送孩子到 " (f.school) " 报到复学。" }
        p { "逾期仍不送孩子入学的，将依法给予批评教育并作出行政处罚决定（《行政处罚决定书》）；情节严重的，依法申请人民法院处理（司法文书）。" }
        p { "联系人：" (blank(&f.principal)) "　联系电话：" (blank("")) }
        div.issuer {
            span.seal { "（乡镇人民政府盖章）" } "　" span.seal { "（县教育局盖章）" } br;
            (township) "人民政府　" (county) "教育局" br;
            (today)
        }
        div.receipt {
            p.noindent { strong { "送达回证" } }
            p.noindent { "受送达人（签字）：" (blank("")) "　　送达日期：" (blank("")) "　　送达人：" (blank("")) }
        }
    }
}

fn visit(f: &Facts, c: &Record, today: Date) -> Markup {
    // The latest visit's 家访记录表: typed fields, or the labelled lines of an older visit.
    let rec = c.visits_sorted().pop().unwrap_or_default();
    let date = rec.when();
    let by = rec.teacher.clone();
    let or = |s: &str, default: &str| if s.trim().is_empty() { default.to_string() } else { s.to_string() };
    let reason = or(&rec.reason, &format!("{} 起无故缺勤，未返校", f.since));
    let address = or(&rec.address, &f.address);
    html! {
        h1.doc-title { "家访记录表" }
        table.form-table { tbody {
            tr { th { "学校名称" } td colspan="5" { (f.school) } }
            tr { th { "学生姓名" } td { (f.name) } th { "性别" } td { (f.sex) } th { "年龄" } td { (f.age) } }
            tr { th { "年级（班级）" } td colspan="5" { (f.class) } }
            tr { th { "时间" } td { (date) } th { "家访教师" } td { (by) } th { "陪同教师" } td { (rec.companion) } }
            tr { th { "身份证号" } td colspan="5" { (f.id_masked) } }
            tr { th { "家访原因" } td colspan="5" { (reason) } }
            tr { th { "住址" } td colspan="5" { (address) } }
            tr { th { "家访内容" } td.tall.pre-line colspan="5" { (rec.content) } }
            tr { th { "学校意见" } td.tall colspan="5" { div.pre-line { (rec.school_opinion) } br; div.right { "学校（公章）　　　　　　年　　月　　日" } } }
            tr { th { "家长意见" } td.tall colspan="5" { div.pre-line { (rec.parent_opinion) } br; div.right { "家长（监护人）签字：" (blank("")) "　　年　　月　　日" } } }
        } }
        p.noindent.small { "（001 附件2；案件 " (c.id.short()) "，打印日期 " (today) "）" }
    }
}

fn ledger_doc(f: &Facts, c: &Record) -> Markup {
    let i = c.case.as_ref();
    let resp = c.responsible();
    let who = |r: ResponsibleRole| resp.get(r).unwrap_or("").to_string();
    let notices: Vec<String> =
        c.actions_sorted().iter().filter_map(|a| a.notice.map(|n| format!("{} 《{n}》（{}）", a.date, a.by))).collect();
    let outcome = match c.case_state() {
        Some(CaseState::Closed { outcome, evidence, on }) => {
            format!("{on} 销号（{outcome}）{}", evidence.as_deref().map(|e| format!("；依据：{e}")).unwrap_or_default())
        }
        Some(s) => format!("未销号（{}）", s.label()),
        None => String::new(),
    };
    html! {
        h1.doc-title { "控辍保学“一人一案”" }
        table.form-table { tbody {
            tr { th { "姓名" } td { (f.name) } th { "性别" } td { (f.sex) } th { "年龄" } td { (f.age) } }
            tr { th { "身份证号" } td colspan="5" { (f.id_masked) } }
            tr { th { "学校" } td colspan="2" { (f.school) } th { "年级班级" } td colspan="2" { (f.class) } }
            tr { th { "监护人" } td colspan="2" { (f.guardian) } th { "联系电话" } td colspan="2" { (f.phone) } }
            tr { th { "类别" } td colspan="2" { (i.map(|i| i.source.label()).unwrap_or("")) } th { "辍学原因" } td colspan="2" { (c.cause().map(|x| x.label()).unwrap_or("不详")) } }
            tr { th { "立案日期" } td colspan="2" { (i.map(|i| i.opened.to_string()).unwrap_or_default()) } th { "起算日" } td colspan="2" { (f.since) } }
            tr { th { "劝返方案" } td.tall colspan="5" { (c.plan().unwrap_or("")) } }
            tr { th rowspan="2" { "双线责任人" } th { "班主任" } td { (who(ResponsibleRole::ClassTeacher)) } th { "包保教师" } td colspan="2" { (who(ResponsibleRole::Mentor)) } }
            tr { th { "包村干部" } td { (who(ResponsibleRole::TownshipCadre)) } th { "村组干部" } td colspan="2" { (who(ResponsibleRole::VillageCadre)) } }
            tr { th { "送达文书" } td colspan="5" { (notices.join("；")) } }
            tr { th { "结果" } td colspan="5" { (outcome) } }
        } }
        h3 { "劝返措施" }
        table.form-table {
            thead { tr { th { "日期" } th { "措施" } th { "经办人" } th { "情况" } } }
            tbody { @for a in c.actions_sorted() {
                tr { td.nowrap { (a.date) } td { (a.kind.label()) @if let Some(n) = a.notice { "《" (n) "》" } } td { (a.by) } td { (a.text.clone().unwrap_or_default()) } }
            } }
        }
    }
}

pub async fn document_page(
    app: &App,
    user: &CurrentUser,
    id: &str,
    doc: &str,
    q: &HashMap<String, String>,
) -> Result<Response, WebError> {
    let a = access_of(user)?;
    let l = app.ledger()?;
    let c = record(&l, id, RecordKind::Case)?;
    let student = student_of(&l, &c);
    a.check_case(&c, student.as_ref())?;
    let today = app.today();
    let f = facts(&l, &c, student.as_ref(), today);
    let back = format!("/cases/{}", c.id.hex());
    let (title, body) = match doc {
        "persuade" => ("劝返复学通知书", persuade(&f, &c, today, l.township())),
        "deadline" => {
            let until = q.get("until").and_then(|s| Date::parse(s).ok()).unwrap_or(today.add_days(7));
            ("限期入学通知书", deadline(&f, &c, today, until, &l.config.county_name, l.township()))
        }
        "visit" => ("家访记录表", visit(&f, &c, today)),
        "ledger" => ("一人一案", ledger_doc(&f, &c)),
        _ => return Err(WebError::NotFound(format!("没有文书「{doc}」"))),
    };
    Ok(Html(a4_document(title, &back, body).into_string()).into_response())
}

pub async fn document(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path((id, doc)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    document_page(&app, &user, &id, &doc, &q).await
}
