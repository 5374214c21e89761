//! The case list (alert level, filters by rung, school, class, overdue) and the case page: the
//! county's ladder as a timeline, the responsible people of both lines, the actions taken, and
//! a form for every action the CLI has (call, visit, notice, confirm 辍学, close, details).
//! Every form calls the same `cmd::case` function as the CLI.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use baoxue_shared::alerts::{case_alerts, Alert};
use baoxue_shared::model::{ActionKind, CaseState, Cause, Notice, Outcome, ResponsibleRole};
use baoxue_shared::policy::{Anchor, Level as PolicyLevel, Policy};
use baoxue_shared::{Date, Field, Record, RecordKind};
use baoxue_web::layout::{csrf_field, level_badge, Level};
use baoxue_web::{html, CurrentUser, Markup, WebError};
use serde::Deserialize;

use super::access::{Access, ClassKey, Perm};
use super::index::LedgerIndex;
use super::{access_of, flash_of, node_error, record, with_ok, App};
use crate::cmd::case as cmd;
use crate::cmd::student::Stamp;
use crate::ledger::Ledger;
use crate::output::ident;

/// A case with its student and today's alerts.
pub struct CaseRow {
    pub case: Record,
    pub student: Option<Record>,
    pub alerts: Vec<Alert>,
}

impl CaseRow {
    pub fn level(&self) -> Option<PolicyLevel> {
        self.alerts.iter().map(|a| a.level).max()
    }
    pub fn is_open(&self) -> bool {
        self.case.case_state().map(CaseState::is_open).unwrap_or(false)
    }
    pub fn class(&self) -> Option<ClassKey> {
        self.student.as_ref().and_then(ClassKey::of)
    }
}

pub fn web_level(l: PolicyLevel) -> Level {
    match l {
        PolicyLevel::Urgent => Level::Urgent,
        PolicyLevel::Warning => Level::Warning,
        PolicyLevel::Info => Level::Info,
    }
}

pub fn student_of(l: &Ledger, case: &Record) -> Option<Record> {
    let id = case.case.as_ref()?.student?;
    l.store.record(id).ok().flatten().filter(|r| r.is_complete())
}

/// Every case of this township the user may see, with today's alerts.
pub fn visible_cases(l: &Ledger, idx: &LedgerIndex, a: &Access, today: Date) -> Result<Vec<CaseRow>, WebError> {
    let policy = l.policy().map_err(node_error)?;
    let mut out = Vec::new();
    for id in &idx.cases {
        let Some(c) = l.store.record(*id).map_err(|e| WebError::Internal(e.to_string()))?.filter(Record::is_complete)
        else {
            continue;
        };
        if c.case.as_ref().map(|i| i.township.as_str()) != Some(l.township()) {
            continue;
        }
        let student = student_of(l, &c);
        if !a.sees_case(&c, student.as_ref()) {
            continue;
        }
        let alerts = case_alerts(&policy, &l.config.org, &c, student.as_ref(), today);
        out.push(CaseRow { case: c, student, alerts });
    }
    out.sort_by(|x, y| {
        (y.is_open(), y.level(), x.case.case.as_ref().map(|i| i.opened)).cmp(&(
            x.is_open(),
            x.level(),
            y.case.case.as_ref().map(|i| i.opened),
        ))
    });
    Ok(out)
}

pub fn place(row: &CaseRow) -> String {
    match row.class() {
        Some(c) => c.label(),
        None => row.case.case.as_ref().and_then(|i| i.school.clone()).unwrap_or_else(|| "（不在籍）".into()),
    }
}

pub fn state_label(c: &Record) -> String {
    match c.case_state() {
        Some(CaseState::Closed { outcome, on, .. }) => format!("已销号（{outcome}，{on}）"),
        Some(s) => s.label().to_string(),
        None => String::new(),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub rung: String,
    #[serde(default)]
    pub school: String,
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub ok: Option<String>,
}

/// The rows the list's filters keep (the page and its .xlsx download show the same rows).
pub fn filtered<'a>(rows: &'a [CaseRow], q: &ListQuery, today: Date) -> Vec<&'a CaseRow> {
    let state = if q.state.is_empty() { "open" } else { q.state.as_str() };
    rows.iter()
        .filter(|r| match state {
            "open" => r.is_open(),
            "closed" => !r.is_open(),
            _ => true,
        })
        .filter(|r| q.rung.is_empty() || r.alerts.iter().any(|x| x.rule == q.rung))
        .filter(|r| q.school.is_empty() || r.case.case.as_ref().and_then(|i| i.school.as_deref()) == Some(&q.school))
        .filter(|r| q.class.is_empty() || r.class().map(|c| c.key()) == Some(q.class.clone()))
        .filter(|r| q.overdue.is_empty() || r.alerts.iter().any(|x| x.due < today))
        .collect()
}

/// The list's query string without the flash message (for the download link).
fn list_query(q: &ListQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in
        [("state", &q.state), ("rung", &q.rung), ("school", &q.school), ("class", &q.class), ("overdue", &q.overdue)]
    {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

pub async fn list(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let l = app.ledger()?;
    let today = app.today();
    let policy = l.policy().map_err(node_error)?;
    let rows = app.with_index(|l, idx| visible_cases(l, idx, &a, today))?;
    let schools: BTreeSet<String> =
        rows.iter().filter_map(|r| r.case.case.as_ref().and_then(|i| i.school.clone())).collect();
    let classes: BTreeSet<ClassKey> = rows.iter().filter_map(CaseRow::class).collect();
    let state = if q.state.is_empty() { "open" } else { q.state.as_str() };
    let shown = filtered(&rows, &q, today);
    let body = html! {
        h1 { "辍学台账 · 案件" }
        form.inline.card method="get" action="/cases" {
            label { "状态" select name="state" {
                option value="open" selected[state == "open"] { "未销号" }
                option value="closed" selected[state == "closed"] { "已销号" }
                option value="all" selected[state == "all"] { "全部" }
            } }
            label { "应办事项" select name="rung" {
                option value="" { "全部" }
                @for r in &policy.ladder { option value=(r.id) selected[q.rung == r.id] { (r.title.chars().take(18).collect::<String>()) } }
            } }
            @if schools.len() > 1 {
                label { "学校" select name="school" {
                    option value="" { "全部" }
                    @for s in &schools { option value=(s) selected[&q.school == s] { (s) } }
                } }
            }
            @if classes.len() > 1 {
                label { "班级" select name="class" {
                    option value="" { "全部" }
                    @for c in &classes { option value=(c.key()) selected[q.class == c.key()] { (c.label()) } }
                } }
            }
            label { input type="checkbox" name="overdue" value="1" checked[!q.overdue.is_empty()]; " 只看已逾期" }
            button type="submit" { "筛选" }
        }
        p.muted { "共 " (shown.len()) " 件　" @if a.may(Perm::Export) { a.button.secondary href={ "/cases/export.xlsx?" (list_query(&q)) } { "下载台账 Excel" } } }
        div.table-wrap { table {
            thead { tr { th { "级别" } th { "学生" } th { "学校班级" } th { "状态" } th { "立案" } th { "起算日" } th { "当前应办" } th { "措施" } } }
            tbody {
                @for r in &shown {
                    @let lv = r.level().map(web_level);
                    tr class=[lv.map(|l| format!("row-{}", l.class()))] {
                        td { @if let Some(l) = lv { (level_badge(l)) } @else { span.muted { "—" } } }
                        td { a href={ "/cases/" (r.case.id.hex()) } { (r.case.name()) } }
                        td { (place(r)) }
                        td { (state_label(&r.case)) }
                        td.nowrap { (r.case.case.as_ref().map(|i| i.opened.to_string()).unwrap_or_default()) }
                        td.nowrap { (r.case.case.as_ref().map(|i| i.clock_start.to_string()).unwrap_or_default()) }
                        td { @for x in &r.alerts { div.small { (rung_title(&policy, &x.rule)) "（" (x.due) " 起）" } } }
                        td.right { (r.case.actions.len()) " 项" }
                    }
                }
            }
        } }
    };
    let flash = q.ok.map(baoxue_web::layout::Flash::Ok);
    Ok(app.auth.page("案件", &user, "/cases", flash.as_ref(), body).into_response())
}

pub fn rung_title(policy: &Policy, id: &str) -> String {
    policy.ladder.iter().find(|r| r.id == id).map(|r| r.title.clone()).unwrap_or_else(|| id.to_string())
}

/// One rung of the ladder as the timeline shows it.
struct Step {
    title: String,
    clause: String,
    /// `done`, `due`, `overdue`, `later`, `waiting`.
    state: &'static str,
    text: String,
}

/// The ladder of a case: rungs in force today are due (today) or overdue; rungs that would be
/// in force later show their due date; the rest are done (or wait for the notice they count
/// from).
fn ladder(policy: &Policy, l: &Ledger, case: &Record, student: Option<&Record>, today: Date) -> Vec<Step> {
    let now = case_alerts(policy, &l.config.org, case, student, today);
    let later = case_alerts(policy, &l.config.org, case, student, today.add_days(3650));
    let served: Vec<Notice> = case.actions_sorted().iter().filter_map(|a| a.notice).collect();
    let mut out = Vec::new();
    for r in &policy.ladder {
        let (state, text) = if let Some(x) = now.iter().find(|x| x.rule == r.id) {
            let st = if x.due < today { "overdue" } else { "due" };
            let when = if x.due < today {
                format!("已逾期：{} 起应办", x.due)
            } else {
                format!("今日应办（{}）", x.due)
            };
            (st, format!("{when}；责任人 {}", x.responsible))
        } else if let Some(x) = later.iter().find(|x| x.rule == r.id) {
            ("later", format!("{} 起应办；责任人 {}", x.due, x.responsible))
        } else if let Anchor::Notice(n) = r.anchor {
            if served.contains(&n) {
                ("done", "已办".to_string())
            } else {
                ("waiting", format!("《{n}》送达后开始计时"))
            }
        } else {
            ("done", "已办".to_string())
        };
        out.push(Step { title: r.title.clone(), clause: r.clause.clone(), state, text });
    }
    out
}

/// The township's people, for the 经办人 suggestions: principals, leaders, the case's
/// responsible people, and the app's users.
fn people(app: &App, l: &Ledger, case: &Record) -> Vec<String> {
    let mut v: BTreeSet<String> = BTreeSet::new();
    for s in l.config.org.schools_in(l.township()) {
        v.extend(s.principal.clone());
        v.extend(s.bureau_leader.clone());
    }
    if let Some(t) = l.config.org.townships.get(l.township()) {
        v.extend(t.deputy.clone());
        v.extend(t.head.clone());
    }
    let resp = case.responsible();
    for r in ResponsibleRole::ALL {
        v.extend(resp.get(*r).map(str::to_string));
    }
    if let Ok(accs) = app.auth.accounts.load() {
        v.extend(accs.users.iter().filter(|u| !u.disabled).map(|u| u.name.clone()));
    }
    v.into_iter().filter(|s| !s.is_empty()).collect()
}

fn will_write(what: &str, user: &CurrentUser) -> Markup {
    html! { p.will-write { "将记录：" (what) "；录入人 " (user.name) "（" (user.role_label) "）；保存后立即写入本节点台账，下次同步时上报县级平台。" } }
}

pub async fn page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let l = app.ledger()?;
    let c = record(&l, &id, RecordKind::Case)?;
    let student = student_of(&l, &c);
    a.check_case(&c, student.as_ref())?;
    let today = app.today();
    let policy = l.policy().map_err(node_error)?;
    let alerts = case_alerts(&policy, &l.config.org, &c, student.as_ref(), today);
    let steps = ladder(&policy, &l, &c, student.as_ref(), today);
    let i = c.case.as_ref();
    let open = c.case_state().map(CaseState::is_open).unwrap_or(false);
    let confirmed = c.case_state() == Some(&CaseState::Confirmed);
    let resp = c.responsible();
    let people = people(&app, &l, &c);
    let hex = c.id.hex();
    let history = l.store.history(c.id).map_err(|e| WebError::Internal(e.to_string()))?;
    let place = match student.as_ref().and_then(ClassKey::of) {
        Some(k) => k.label(),
        None => i.and_then(|i| i.school.clone()).unwrap_or_else(|| "（不在籍）".into()),
    };
    let visit_reason = format!("{} 起无故缺勤，未返校", i.map(|i| i.clock_start.to_string()).unwrap_or_default());
    let address = student
        .as_ref()
        .map(|s| [s.text(Field::HukouTownship), s.text(Field::HukouVillage)].into_iter().flatten().collect::<String>())
        .unwrap_or_default();
    let guardian = student.as_ref().and_then(|s| s.text(Field::Guardian)).unwrap_or("—");
    let phone = student.as_ref().and_then(|s| s.text(Field::Phone)).unwrap_or("—");
    // A non-local pupil (000 §三(二)): the handover to the 户籍 county, once confirmed.
    let non_local = student.as_ref().and_then(|s| baoxue_shared::handover::hukou_county(s)).map(str::to_string);
    let handover = baoxue_shared::handover::item(&c, student.as_ref(), today);
    let body = html! {
        h1 { (c.name()) " · 案件 " (c.id.short()) }
        div.cards {
            div.card {
                div.muted.small { "状态" }
                div.figure { (state_label(&c)) }
                div { (i.map(|i| i.source.label()).unwrap_or("")) }
            }
            div.card {
                div { "学籍号 " (i.and_then(|i| i.child.student_no.as_ref()).map(|n| ident(n.as_str(), false)).unwrap_or_else(|| "（无）".into())) }
                div { (place) }
                div { "监护人 " (guardian) "　电话 " (phone) }
            }
            div.card {
                div { "立案 " (i.map(|i| i.opened.to_string()).unwrap_or_default()) "　起算日 " (i.map(|i| i.clock_start.to_string()).unwrap_or_default()) }
                div { "辍学原因 " (c.cause().map(|x| x.label()).unwrap_or("不详")) }
                div { "劝返方案 " (c.plan().unwrap_or("（未填写）")) }
            }
        }
        @if let Some(h) = &handover {
            div.alert-item.warning {
                "非户籍学生：户籍在 " (h.hukou_place()) "。"
                @match h.handed_over {
                    Some(d) => { (d) " 已向户籍所在县通报移交。" }
                    None => { "确认辍学（" (h.confirmed) "）后应由县教育局向" (h.hukou_county) "教育行政部门" (baoxue_shared::handover::NEEDS) "；办结后在下方记录「" (ActionKind::Handover.label()) "」。" }
                }
                div.small.muted { "依据 " (baoxue_shared::handover::CLAUSE) }
            }
        }
        @if !alerts.is_empty() {
            h2 { "今日应办" }
            @for x in &alerts {
                div class={ "alert-item " (web_level(x.level).class()) } {
                    (level_badge(web_level(x.level))) " " (x.message)
                    div.small.muted { "责任人：" (x.responsible) "；" (x.due) " 起应办；依据 " (x.clause) }
                }
            }
        }
        h2 { "劝返流程（" (policy.title) "）" }
        ol.timeline {
            @for s in &steps {
                li class=(s.state) {
                    strong { (s.title) }
                    div.small { (s.text) "；依据 " (s.clause) }
                }
            }
        }
        h2 { "责任人（双线）" }
        table { tbody {
            tr { th { "教育线 · 班主任" } td { (resp.get(ResponsibleRole::ClassTeacher).unwrap_or("未填写")) } th { "政府线 · 包村干部" } td { (resp.get(ResponsibleRole::TownshipCadre).unwrap_or("未填写")) } }
            tr { th { "教育线 · 包保教师" } td { (resp.get(ResponsibleRole::Mentor).unwrap_or("未填写")) } th { "政府线 · 村组干部" } td { (resp.get(ResponsibleRole::VillageCadre).unwrap_or("未填写")) } }
        } }
        h2 { "已采取的措施（" (c.actions.len()) " 项）" }
        @if c.actions.is_empty() { p.muted { "尚无措施。" } }
        @else {
            table { thead { tr { th { "日期" } th { "措施" } th { "经办人" } th { "情况" } } } tbody {
                @for (rev, act) in c.actions_with_ids() {
                    @if let Some(v) = c.visit(rev) {
                        tr { td.nowrap { (v.when()) } td { (act.kind.label()) } td { (act.by) } td.pre-line {
                            @for (label, value) in v.labelled() {
                                @if !value.is_empty() { div { strong { (label) "：" } (value) } }
                            }
                        } }
                    } @else {
                        tr { td.nowrap { (act.date) } td { (act.kind.label()) @if let Some(n) = act.notice { "《" (n) "》" } } td { (act.by) } td.pre-line { (act.text.clone().unwrap_or_default()) } }
                    }
                }
            } }
        }
        h2 { "打印" }
        div.actions {
            a.button.secondary href={ "/cases/" (hex) "/print/visit" } { "家访记录表" }
            a.button.secondary href={ "/cases/" (hex) "/print/persuade" } { "劝返复学通知书" }
            a.button.secondary href={ "/cases/" (hex) "/print/deadline" } { "限期入学通知书" }
            a.button.secondary href={ "/cases/" (hex) "/print/ledger" } { "一人一案" }
        }
        h2 { "办理" }
        @if a.may(Perm::CaseWrite) {
            datalist #people { @for p in &people { option value=(p) {} } }
            details.form open[open] {
                summary { "记录电话、家访等措施" }
                div { form.stack method="post" action={ "/cases/" (hex) "/act" } {
                    (csrf_field(&user.csrf))
                    label { "措施" select name="kind" {
                        @for k in [ActionKind::Call, ActionKind::Visit, ActionKind::Referral, ActionKind::Search, ActionKind::Other] {
                            option value=(k.key()) { (k.label()) }
                        }
                        @if non_local.is_some() {
                            option value=(ActionKind::Handover.key()) { (ActionKind::Handover.label()) "（向户籍所在县通报、转交学籍档案）" }
                        }
                    } }
                    label { "经办人 " span.hint { "默认为您本人，可从本乡镇人员中选择" } input type="text" name="by" value=(user.name) list="people" required; }
                    label { "日期" input type="date" name="date" value=(today) max=(today) required; }
                    label { "情况说明（家访时即家访内容：见到谁、谈了什么、家长态度）" textarea name="text" {} }
                    fieldset.visit-fields {
                        legend { "家访记录表（001 附件2）：家访时填写" }
                        label { "时刻 " span.hint { "可不填" } input type="time" name="time"; }
                        label { "陪同教师" input type="text" name="companion" list="people"; }
                        label { "家访原因" input type="text" name="visit_reason" value=(visit_reason); }
                        label { "住址" input type="text" name="address" value=(address); }
                        label { "学校意见" textarea name="school_opinion" {} }
                        label { "家长意见" textarea name="parent_opinion" {} }
                    }
                    (will_write("一项劝返措施", &user))
                    button type="submit" { "保存措施" }
                } }
            }
        }
        @if a.may(Perm::CaseDecide) {
            details.form {
                summary { "送达通知书" }
                div { form.stack method="post" action={ "/cases/" (hex) "/act" } {
                    (csrf_field(&user.csrf))
                    input type="hidden" name="kind" value="notice";
                    label { "文书" select name="notice" { @for n in Notice::ALL { option value=(n.key()) { (n.label()) } } } }
                    label { "经办人" input type="text" name="by" value=(user.name) list="people" required; }
                    label { "送达日期" input type="date" name="date" value=(today) max=(today) required; }
                    label { "说明" textarea name="text" {} }
                    (will_write("通知书已送达监护人", &user))
                    button type="submit" { "记录送达" }
                } }
            }
            @if open && !confirmed {
                details.form {
                    summary { "确认辍学（学籍标注辍学，保留学籍）" }
                    div { form.stack method="post" action={ "/cases/" (hex) "/confirm" } data-confirm="确认该生辍学？学籍状态将改为辍学（保留学籍）。" {
                        (csrf_field(&user.csrf))
                        (will_write("案件确认辍学，学籍状态由在读改为辍学（保留学籍）；请同时报告教育局和乡镇政府", &user))
                        button.danger type="submit" { "确认辍学" }
                    } }
                }
            }
            @if open {
                details.form {
                    summary { "销号（复学、转学核实、豁免、休学、迁出等）" }
                    div { form.stack method="post" action={ "/cases/" (hex) "/close" } data-confirm="确认销号？" {
                        (csrf_field(&user.csrf))
                        label { "销号原因" select name="outcome" { @for o in Outcome::ALL.iter().filter(|o| **o != Outcome::Mistaken) { option value=(o.key()) { (o.label()) } } } }
                        label { "销号依据 " span.hint { "如：9月25日返校，班主任核实" } textarea name="evidence" required {} }
                        fieldset {
                            legend { "销号材料（按销号原因填写）" }
                            p.hint { "豁免、休学、延缓入学：监护人书面申请日期和申请人、审批单位和审批人、理由（休学、延缓入学另填截止日期）；转学核实、特殊教育学校、送教上门：学校；迁往县外、出国：去向；死亡：证明材料。" }
                            label { "申请日期" input type="date" name="applied" max=(today); }
                            label { "申请人（监护人）" input type="text" name="applicant"; }
                            label { "审批单位" input type="text" name="approved_by"; }
                            label { "审批人" input type="text" name="approver" list="people"; }
                            label { "理由" select name="ground" {
                                option value="" { "—" }
                                option value="illness" { "因病" }
                                option value="disability" { "因残" }
                                option value="other" { "其他" }
                            } }
                            label { "截止日期" input type="date" name="until"; }
                            label { "学校" input type="text" name="school"; }
                            label { "去向" input type="text" name="place"; }
                            label { "证明材料" input type="text" name="document"; }
                        }
                        (will_write("案件销号；复学的学生学籍状态改回在读", &user))
                        button type="submit" { "销号" }
                    } }
                }
            }
        }
        @if !open && a.may(Perm::Reopen) {
            details.form {
                summary { "重新打开（销号有误时）" }
                div { form.stack method="post" action={ "/cases/" (hex) "/reopen" } data-confirm="确认重新打开该案件？" {
                    (csrf_field(&user.csrf))
                    label { "重新打开的原因" textarea name="reason" required placeholder="如：误以为已返校，实际仍未到校" {} }
                    (will_write("案件重新打开（恢复销号前的状态，时钟仍从原起算日计）", &user))
                    button.danger type="submit" { "重新打开" }
                } }
            }
        }
        @if a.may(Perm::CaseWrite) {
            details.form {
                summary { "填写详情：原因、劝返方案、责任人" }
                div { form.stack method="post" action={ "/cases/" (hex) "/edit" } {
                    (csrf_field(&user.csrf))
                    label { "辍学原因" select name="cause" {
                        @for x in Cause::ALL { option value=(x.key()) selected[c.cause() == Some(*x)] { (x.label()) } }
                    } }
                    label { "劝返方案（一人一案）" textarea name="plan" { (c.plan().unwrap_or("")) } }
                    label { "班主任" input type="text" name="teacher" value=(resp.get(ResponsibleRole::ClassTeacher).unwrap_or("")) list="people"; }
                    label { "包保教师" input type="text" name="mentor" value=(resp.get(ResponsibleRole::Mentor).unwrap_or("")) list="people"; }
                    label { "包村干部" input type="text" name="cadre" value=(resp.get(ResponsibleRole::TownshipCadre).unwrap_or("")) list="people"; }
                    label { "村组干部" input type="text" name="village_cadre" value=(resp.get(ResponsibleRole::VillageCadre).unwrap_or("")) list="people"; }
                    (will_write("案件详情（只写有变化的项）", &user))
                    button type="submit" { "保存详情" }
                } }
            }
        }
        h2 { "修改历史（" (history.len()) " 条）" }
        div.table-wrap { table.small { tbody {
            @for line in crate::output::history_lines(&history) { tr { td { (line) } } }
        } } }
    };
    let flash = flash_of(&q);
    Ok(app.auth.page(&format!("案件 {}", c.name()), &user, "/cases", flash.as_ref(), body).into_response())
}

/// Loads a case the user may write.
fn writable_case(app: &App, user: &CurrentUser, id: &str, perm: Perm) -> Result<(Access, Record), WebError> {
    let a = access_of(user)?;
    a.require(perm)?;
    let l = app.ledger()?;
    let c = record(&l, id, RecordKind::Case)?;
    let student = student_of(&l, &c);
    a.check_case(&c, student.as_ref())?;
    Ok((a, c))
}

fn back(id: &str, msg: &str) -> Response {
    Redirect::to(&with_ok(&format!("/cases/{id}"), msg)).into_response()
}

fn parse_date(s: &str, today: Date) -> Result<Date, WebError> {
    if s.trim().is_empty() {
        return Ok(today);
    }
    let d = Date::parse(s).map_err(|_| WebError::BadRequest(format!("日期「{s}」无效：应为 YYYY-MM-DD")))?;
    if d > today {
        return Err(WebError::BadRequest(format!("日期 {d} 晚于今天（{today}），不能预先记录")));
    }
    Ok(d)
}

#[derive(Deserialize)]
pub struct ActForm {
    kind: String,
    by: String,
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    companion: String,
    #[serde(default)]
    visit_reason: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    school_opinion: String,
    #[serde(default)]
    parent_opinion: String,
}

pub async fn act(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, WebError> {
    let perm = if f.kind == "notice" { Perm::CaseDecide } else { Perm::CaseWrite };
    let (_, c) = writable_case(&app, &user, &id, perm)?;
    let date = parse_date(&f.date, app.today())?;
    let stamp = Stamp { author: user.name.clone(), date };
    let by = if f.by.trim().is_empty() { user.name.clone() } else { f.by.trim().to_string() };
    let is_visit = f.kind.parse::<ActionKind>().map(|k| k == ActionKind::Visit).unwrap_or(false);
    // The 附件2 fields are typed data of a visit (shared::visit); the form prefills some of
    // them, so they are passed only when the action is a visit.
    let visit = if is_visit {
        cmd::VisitArgs {
            time: Some(f.time.as_str()),
            companion: Some(f.companion.as_str()),
            reason: Some(f.visit_reason.as_str()),
            address: Some(f.address.as_str()),
            content: None,
            school_opinion: Some(f.school_opinion.as_str()),
            parent_opinion: Some(f.parent_opinion.as_str()),
        }
    } else {
        cmd::VisitArgs::default()
    };
    let args = cmd::ActArgs { kind: &f.kind, by: &by, notice: f.notice.as_deref(), text: f.text.as_deref(), visit };
    let out = app.write(|l| cmd::act(l, &c.id.hex(), &args, &stamp))?;
    Ok(back(&id, out.text.trim()))
}

#[derive(Deserialize)]
pub struct EditForm {
    cause: Option<String>,
    plan: Option<String>,
    teacher: Option<String>,
    mentor: Option<String>,
    cadre: Option<String>,
    village_cadre: Option<String>,
}

pub async fn edit(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Result<Response, WebError> {
    let (_, c) = writable_case(&app, &user, &id, Perm::CaseWrite)?;
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    let args = cmd::EditArgs {
        cause: f.cause.as_deref(),
        plan: f.plan.as_deref(),
        teacher: f.teacher.as_deref(),
        mentor: f.mentor.as_deref(),
        cadre: f.cadre.as_deref(),
        village_cadre: f.village_cadre.as_deref(),
    };
    let out = app.write(|l| cmd::edit(l, &c.id.hex(), &args, &stamp))?;
    Ok(back(&id, out.text.trim()))
}

pub async fn confirm(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (_, c) = writable_case(&app, &user, &id, Perm::CaseDecide)?;
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    let out = app.write(|l| cmd::confirm(l, &c.id.hex(), &stamp))?;
    Ok(back(&id, out.text.trim()))
}

#[derive(Deserialize)]
pub struct CloseForm {
    outcome: String,
    #[serde(default)]
    evidence: Option<String>,
    #[serde(default)]
    applied: Option<String>,
    #[serde(default)]
    applicant: Option<String>,
    #[serde(default)]
    approved_by: Option<String>,
    #[serde(default)]
    approver: Option<String>,
    #[serde(default)]
    ground: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    school: Option<String>,
    #[serde(default)]
    place: Option<String>,
    #[serde(default)]
    document: Option<String>,
}

pub async fn close(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(f): Form<CloseForm>,
) -> Result<Response, WebError> {
    let (_, c) = writable_case(&app, &user, &id, Perm::CaseDecide)?;
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    fn some(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }
    let args = cmd::CloseArgs {
        evidence: some(&f.evidence),
        applied: some(&f.applied),
        applicant: some(&f.applicant),
        approved_by: some(&f.approved_by),
        approver: some(&f.approver),
        ground: some(&f.ground),
        until: some(&f.until),
        school: some(&f.school),
        place: some(&f.place),
        document: some(&f.document),
    };
    let out = app.write(|l| cmd::close(l, &c.id.hex(), &f.outcome, &args, &stamp))?;
    Ok(back(&id, out.text.trim()))
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    reason: String,
}

/// Reopens a case closed by mistake (`case reopen --reason`): the school admin, with a reason.
pub async fn reopen(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(f): Form<ReopenForm>,
) -> Result<Response, WebError> {
    let (_, c) = writable_case(&app, &user, &id, Perm::Reopen)?;
    let stamp = Stamp { author: user.name.clone(), date: app.today() };
    let out = app.write(|l| cmd::reopen(l, &c.id.hex(), &f.reason, &stamp))?;
    Ok(back(&id, out.text.trim()))
}
