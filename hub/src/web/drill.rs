//! Drill-down, read-only at the hub: county → township → school → the list of cases → one case
//! with its full history and its ladder. Every count links to the records behind it; a 乡镇
//! user reaches only their own township (other townships are "not found").

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use baoxue_shared::alerts::case_alerts;
use baoxue_shared::model::{CaseSource, Notice, ResponsibleRole};
use baoxue_shared::policy::Anchor;
use baoxue_shared::report::{Book, Cell, Column, Kind};
use baoxue_shared::{Date, Field, Record, RecordId, RecordKind};
use baoxue_web::layout::{csrf_field, level_badge};
use baoxue_web::{html, CurrentUser, Markup, WebError};

use super::access::{Access, Perm};
use super::dashboard::web_level;
use super::reports::counted_href;
use super::view::View;
use super::{access_of, download, pct, seg, App, XLSX};

fn crumbs(parts: &[(String, Option<String>)]) -> Markup {
    html! {
        nav.crumbs aria-label="位置" {
            @for (label, href) in parts {
                @match href { Some(h) => a href=(h) { (label) }, None => span { (label) } }
            }
        }
    }
}

fn county_crumb(v: &View) -> (String, Option<String>) {
    (v.unit.clone().unwrap_or_else(|| "全县".into()), Some("/t".into()))
}

/// A case's township, school and state as the lists show them.
pub struct CaseRow<'a> {
    pub rec: &'a Record,
    pub township: &'a str,
    pub school: Option<&'a str>,
    pub open: bool,
}

pub fn case_row(rec: &Record) -> CaseRow<'_> {
    let i = rec.case.as_deref();
    CaseRow {
        rec,
        township: i.map(|c| c.township.as_str()).unwrap_or(""),
        school: i.and_then(|c| c.school.as_deref()),
        open: rec.case_state().map(|s| s.is_open()).unwrap_or(false),
    }
}

/// Open cases per township / school (the unreturned the pages count).
fn open_counts<'a>(v: &'a View, a: &Access) -> Vec<CaseRow<'a>> {
    v.cases.values().map(case_row).filter(|r| a.sees_township(r.township)).collect()
}

/// `/t`: every township in scope with its figures.
pub async fn townships(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    if let Some(t) = &a.township {
        return Ok(axum::response::Redirect::to(&format!("/t/{}", seg(t))).into_response());
    }
    let v = app.view()?;
    let ind = &v.computed.indicators;
    let rows = open_counts(&v, &a);
    let body = html! {
        (crumbs(&[(v.unit.clone().unwrap_or_else(|| "全县".into()), None)]))
        h1 { "各乡镇" }
        div.table-wrap { table {
            thead { tr { th { "乡镇" } th.right { "学校" } th.right { "在办案件" } th.right { "未返校" } th.right { "九年巩固率" } th.right { "辍学率" } th.right { "排名" } } }
            tbody {
                @for (name, _) in &v.org.townships {
                    @let open = rows.iter().filter(|r| r.township == name && r.open).count();
                    @let unret = ind.township_table.rows.iter().find(|r| &r.township == name).map(|r| r.total).unwrap_or(0);
                    @let cons = ind.consolidation[0].townships.iter().find(|u| &u.name == name).and_then(|u| u.rate);
                    @let drop = ind.dropout.townships.iter().find(|u| &u.name == name).and_then(|u| u.rate);
                    @let rank = ind.ranking.rows.iter().find(|r| &r.township == name).map(|r| r.rank.to_string()).unwrap_or_default();
                    tr {
                        td { a href={ "/t/" (seg(name)) } { (name) } }
                        td.right { (v.org.schools_in(name).count()) }
                        td.right { a href={ "/cases?township=" (seg(name)) "&open=1" } { (open) } }
                        td.right { a href=(counted_href(&v.as_of.to_string(), Some(name), None)) { (unret) } }
                        td.right { (pct(cons)) }
                        td.right { (pct(drop)) }
                        td.right { (rank) }
                    }
                }
            }
        } }
    };
    Ok(app.page("各乡镇", &user, "/t", None, body))
}

/// `/t/{township}`: its schools with their figures.
pub async fn township(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(t): Path<String>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.check_township(&t)?;
    let v = app.view()?;
    if !v.org.townships.contains_key(&t) {
        return Err(WebError::NotFound(format!("没有乡镇「{t}」")));
    }
    let ind = &v.computed.indicators;
    let rows = open_counts(&v, &a);
    let unit = |name: &str| ind.dropout.schools.iter().find(|u| u.name == name);
    let cons = |name: &str| ind.consolidation[0].schools.iter().find(|u| u.name == name).and_then(|u| u.rate);
    let trow = ind.township_table.rows.iter().find(|r| r.township == t);
    let body = html! {
        (crumbs(&[county_crumb(&v), (t.clone(), None)]))
        h1 { (t) }
        div.cards {
            div.card.kpi { div.muted.small { "九年巩固率" } div.figure { (pct(ind.consolidation[0].townships.iter().find(|u| u.name == t).and_then(|u| u.rate))) } }
            div.card.kpi { div.muted.small { "辍学率" } div.figure { (pct(ind.dropout.townships.iter().find(|u| u.name == t).and_then(|u| u.rate))) } }
            div.card.kpi {
                div.muted.small { "未返校" }
                @let day = v.as_of.to_string();
                div.figure { a href=(counted_href(&day, Some(&t), None)) { (trow.map(|r| r.total).unwrap_or(0)) " 人" } }
                @if let Some(r) = trow { div.terms {
                    "学籍 " a href=(counted_href(&day, Some(&t), Some(0))) { (r.roll_unreturned) }
                    "、疑似名单 " a href=(counted_href(&day, Some(&t), Some(1))) { (r.suspected_list_unreturned) }
                    "、普查比对 " a href=(counted_href(&day, Some(&t), Some(2))) { (r.census_unreturned) }
                } }
            }
        }
        h2 { "学校" }
        div.table-wrap { table {
            thead { tr { th { "学校" } th.right { "学年初在校" } th.right { "辍学" } th.right { "辍学率" } th.right { "九年巩固率" } th.right { "在办案件" } } }
            tbody {
                @for s in v.org.schools_in(&t) {
                    @let u = unit(&s.name);
                    @let open = rows.iter().filter(|r| r.school == Some(s.name.as_str()) && r.open).count();
                    tr {
                        td { a href={ "/t/" (seg(&t)) "/" (seg(&s.name)) } { (s.name) } }
                        td.right { (u.map(|u| u.enrolled_at_start).unwrap_or(0)) }
                        td.right { (u.map(|u| u.dropouts).unwrap_or(0)) }
                        td.right { (pct(u.and_then(|u| u.rate))) }
                        td.right { (pct(cons(&s.name))) }
                        td.right { a href={ "/cases?school=" (seg(&s.name)) "&open=1" } { (open) } }
                    }
                }
            }
        } }
        @let out_of_school = rows.iter().filter(|r| r.township == t && r.school.is_none() && r.open).count();
        @if out_of_school > 0 {
            p { "不在籍（失学）儿童：" a href={ "/cases?township=" (seg(&t)) "&school=-&open=1" } { (out_of_school) " 人" } }
        }
    };
    Ok(app.page(&t, &user, "/t", None, body))
}

/// `/t/{township}/{school}`: the school's figures and its cases.
pub async fn school(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path((t, s)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.check_township(&t)?;
    let v = app.view()?;
    if v.org.township_of(&s) != Some(t.as_str()) {
        return Err(WebError::NotFound(format!("乡镇「{t}」没有学校「{s}」")));
    }
    let ind = &v.computed.indicators;
    let u = ind.dropout.schools.iter().find(|u| u.name == s);
    let cases: Vec<CaseRow> = open_counts(&v, &a).into_iter().filter(|r| r.school == Some(s.as_str())).collect();
    let body = html! {
        (crumbs(&[county_crumb(&v), (t.clone(), Some(format!("/t/{}", seg(&t)))), (s.clone(), None)]))
        h1 { (s) }
        div.cards {
            div.card.kpi { div.muted.small { "学年初在校" } div.figure { (u.map(|u| u.enrolled_at_start).unwrap_or(0)) " 人" } }
            div.card.kpi { div.muted.small { "辍学率" } div.figure { (pct(u.and_then(|u| u.rate))) } div.terms { "辍学 " (u.map(|u| u.dropouts).unwrap_or(0)) " 人" } }
            div.card.kpi { div.muted.small { "九年巩固率" } div.figure { (pct(ind.consolidation[0].schools.iter().find(|x| x.name == s).and_then(|x| x.rate))) } }
        }
        h2 { "案件（" (cases.len()) " 件）" }
        (case_table(&v, &cases))
    };
    Ok(app.page(&s, &user, "/t", None, body))
}

fn state_text(r: &Record) -> String {
    r.case_state().map(|s| s.label()).unwrap_or_default()
}

fn source_text(r: &Record) -> &'static str {
    r.case.as_deref().map(|c| c.source.label()).unwrap_or("")
}

/// The highest level among a case's alerts in force.
fn case_level(v: &View, r: &Record) -> Option<baoxue_shared::policy::Level> {
    v.case_levels.get(&r.id).copied()
}

fn case_table(v: &View, rows: &[CaseRow]) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { "没有符合条件的案件。" } }
        @else {
            div.table-wrap { table {
                thead { tr { th { "预警" } th { "姓名" } th { "学校" } th { "年级" } th { "来源" } th { "状态" } th { "立案" } th { "起算日" } } }
                tbody {
                    @for r in rows {
                        @let lvl = case_level(v, r.rec);
                        @let i = r.rec.case.as_deref();
                        tr class=[lvl.map(|l| format!("row-{}", web_level(l).class()))] {
                            td { @if let Some(l) = lvl { (level_badge(web_level(l))) } }
                            td { a href={ "/case/" (r.rec.id.hex()) } { (r.rec.name()) } }
                            td { (r.school.unwrap_or("（不在籍）")) }
                            td { (i.and_then(|c| c.grade).map(|g| format!("{g} 年级")).unwrap_or_default()) }
                            td { (source_text(r.rec)) }
                            td { (state_text(r.rec)) }
                            td.nowrap { (i.map(|c| c.opened.to_string()).unwrap_or_default()) }
                            td.nowrap { (i.map(|c| c.clock_start.to_string()).unwrap_or_default()) }
                        }
                    }
                }
            } }
        }
    }
}

/// The township table's columns, as the case list names them.
const COLUMNS: [&str; 3] = ["在籍辍学未返校", "疑似失学儿童名单未返校", "其他部门比对未返校"];

/// The case list's filters (`/cases?township=&school=&open=1&source=`; `counted=DAY`: the
/// children the township table counts on the view's day, each by the case that puts them in
/// their column, `column=0|1|2` one column of it — what every count of the table and the
/// ranking links to).
fn filtered<'a>(v: &'a View, a: &Access, q: &HashMap<String, String>) -> Vec<CaseRow<'a>> {
    let get = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let counted = &v.computed.indicators.township_table.counted;
    let column = get("column").map(|c| c.parse::<u8>().unwrap_or(u8::MAX));
    let mut rows: Vec<CaseRow> = open_counts(v, a)
        .into_iter()
        .filter(|r| get("township").is_none_or(|t| r.township == t))
        .filter(|r| match get("school") {
            None => true,
            Some("-") => r.school.is_none(),
            Some(s) => r.school == Some(s),
        })
        .filter(|r| get("open").is_none() || r.open)
        .filter(|r| get("source").is_none_or(|s| r.rec.case.as_deref().map(|c| c.source.key()) == Some(s)))
        .filter(|r| (get("counted").is_none() && column.is_none()) || counted.contains_key(&r.rec.id))
        .filter(|r| column.is_none_or(|c| counted.get(&r.rec.id) == Some(&c)))
        .collect();
    rows.sort_by(|x, y| {
        case_level(v, y.rec)
            .cmp(&case_level(v, x.rec))
            .then_with(|| x.township.cmp(y.township))
            .then_with(|| x.school.cmp(&y.school))
            .then_with(|| x.rec.name().cmp(y.rec.name()))
    });
    rows
}

fn query_string(q: &HashMap<String, String>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    let mut keys: Vec<_> = q.iter().collect();
    keys.sort();
    for (k, v) in keys {
        s.append_pair(k, v);
    }
    s.finish()
}

/// `/cases`: the case list with its filters.
pub async fn cases(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    if let Some(t) = q.get("township").filter(|t| !t.is_empty()) {
        a.check_township(t)?;
    }
    let v = app.view()?;
    let rows = filtered(&v, &a, &q);
    let open_only = q.contains_key("open");
    let counted = q.get("counted").filter(|d| !d.is_empty());
    let column = q.get("column").and_then(|c| c.parse::<usize>().ok()).and_then(|c| COLUMNS.get(c));
    let body = html! {
        @if let Some(day) = counted {
            h1 { "未返校儿童" @if let Some(c) = column { "（" (c) "）" } "：" (rows.len()) " 人" }
            p.muted.small {
                "统计日期 " (v.as_of) " 乡镇统计表计入的儿童，每人一行（按使其计入该栏的案件）。"
                @if day.as_str() != v.as_of.to_string() { "链接所指的统计日期 " (day) " 已更新为 " (v.as_of) "。" }
            }
        } @else {
            h1 { (if open_only { "在办案件" } else { "全部案件" }) "（" (rows.len()) " 件）" }
        }
        form.inline method="get" action="/cases" {
            @if let Some(day) = counted { input type="hidden" name="counted" value=(day); }
            @if let Some(c) = q.get("column").filter(|c| !c.is_empty()) { input type="hidden" name="column" value=(c); }
            @if a.county_wide() {
                label { "乡镇 " select name="township" {
                    option value="" { "全部" }
                    @for (t, _) in &v.org.townships { option value=(t) selected[q.get("township") == Some(t)] { (t) } }
                } }
            } @else if let Some(t) = &a.township { input type="hidden" name="township" value=(t); }
            label { "来源 " select name="source" {
                option value="" { "全部" }
                @for s in CaseSource::ALL { option value=(s.key()) selected[q.get("source").map(String::as_str) == Some(s.key())] { (s.label()) } }
            } }
            label { input type="checkbox" name="open" value="1" checked[open_only]; " 只看在办" }
            button.secondary type="submit" { "筛选" }
            a.button.secondary href={ "/cases.xlsx?" (query_string(&q)) } { "下载 Excel" }
        }
        (case_table(&v, &rows))
    };
    Ok(app.page("案件", &user, "/cases", None, body))
}

/// `/cases.xlsx`: the list as filtered, ID numbers masked for every role (a full number is
/// only ever shown, one at a time, by the logged full-ID action); the export is logged.
pub async fn cases_xlsx(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    if let Some(t) = q.get("township").filter(|t| !t.is_empty()) {
        a.check_township(t)?;
    }
    let v = app.view()?;
    let rows = filtered(&v, &a, &q);
    let mut book = Book {
        title: "控辍保学案件台账".into(),
        unit: v.unit.clone(),
        as_of: Some(v.as_of.to_string()),
        columns: vec![
            Column::count("序号"),
            Column::text("乡镇"),
            Column::text("学校"),
            Column::text("姓名"),
            Column::new("身份证号", Kind::Id),
            Column::new("学籍号", Kind::Id),
            Column::text("年级"),
            Column::text("来源"),
            Column::text("状态"),
            Column::text("立案日期"),
            Column::text("起算日"),
            Column::text("预警"),
        ],
        ..Book::default()
    };
    for (n, r) in rows.iter().enumerate() {
        let i = r.rec.case.as_deref();
        book.rows.push(vec![
            Cell::from(n + 1),
            Cell::from(r.township),
            Cell::from(r.school.unwrap_or("（不在籍）")),
            Cell::from(r.rec.name()),
            Cell::from(i.and_then(|c| c.child.id_number.as_ref()).map(|x| x.masked()).unwrap_or_default()),
            Cell::from(i.and_then(|c| c.child.student_no.as_ref()).map(|x| x.masked()).unwrap_or_default()),
            Cell::from(i.and_then(|c| c.grade).map(|g| format!("{g} 年级")).unwrap_or_default()),
            Cell::from(source_text(r.rec)),
            Cell::from(state_text(r.rec)),
            Cell::from(i.map(|c| c.opened.to_string()).unwrap_or_default()),
            Cell::from(i.map(|c| c.clock_start.to_string()).unwrap_or_default()),
            Cell::from(case_level(&v, r.rec).map(|l| l.label()).unwrap_or("")),
        ]);
    }
    book.notes.push("身份证号、学籍号已脱敏。".into());
    let bytes = baoxue_sheet::write::xlsx(&book).map_err(|e| WebError::Internal(e.to_string()))?;
    let scope = a.township.clone().unwrap_or_else(|| "全县".into());
    app.audit("export", &user, &format!("下载案件台账 .xlsx（{scope}，{} 件，{}）", rows.len(), query_string(&q)));
    Ok(download(bytes, &format!("案件台账-{}.xlsx", v.as_of), XLSX))
}

/// A case by its full id, in scope.
fn case_of(v: &View, a: &Access, hex: &str) -> Result<Record, WebError> {
    let id = RecordId::parse_hex(hex).ok_or_else(|| WebError::NotFound("链接无效".into()))?;
    let rec = v.cases.get(&id).ok_or_else(|| WebError::NotFound("未找到该案件".into()))?;
    a.check_case(rec)?;
    Ok(rec.clone())
}

/// One rung of the ladder as the timeline shows it.
struct Step {
    title: String,
    clause: String,
    state: &'static str,
    text: String,
}

/// The ladder of a case (as the node's case page draws it): rungs in force are due or
/// overdue, later ones show their due day, the rest are done or wait for their notice.
fn ladder(v: &View, case: &Record, student: Option<&Record>, today: Date) -> Vec<Step> {
    let now = case_alerts(&v.policy, &v.org, case, student, today);
    let later = case_alerts(&v.policy, &v.org, case, student, today.add_days(3650));
    let served: Vec<Notice> = case.actions_sorted().iter().filter_map(|a| a.notice).collect();
    let open = case.case_state().map(|s| s.is_open()).unwrap_or(false);
    v.policy
        .ladder
        .iter()
        .map(|r| {
            let (state, text) = if let Some(x) = now.iter().find(|x| x.rule == r.id) {
                let st = if x.due < today { "overdue" } else { "due" };
                (st, format!("{} 起应办；责任人 {}", x.due, x.responsible))
            } else if let Some(x) = later.iter().find(|x| x.rule == r.id).filter(|_| open) {
                ("later", format!("{} 起应办；责任人 {}", x.due, x.responsible))
            } else if let Anchor::Notice(n) = r.anchor {
                if served.contains(&n) || !open {
                    ("done", "已办".to_string())
                } else {
                    ("waiting", format!("《{n}》送达后开始计时"))
                }
            } else {
                ("done", if open { "已办".to_string() } else { "已销号".to_string() })
            };
            Step { title: r.title.clone(), clause: r.clause.clone(), state, text }
        })
        .collect()
}

/// `/case/{id}`: one case, read-only: identity (masked), state, ladder, people of both lines,
/// actions, and every revision.
pub async fn case(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(hex): Path<String>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let c = case_of(&v, &a, &hex)?;
    let store = app.state.store.clone();
    let (c, student, history) = tokio::task::spawn_blocking(move || -> Result<_, WebError> {
        // The store's record is newer than the view's (a node may have pushed since).
        let fresh = store.record(c.id).map_err(|e| WebError::Internal(e.to_string()))?.unwrap_or(c);
        let student = match fresh.case.as_ref().and_then(|i| i.student) {
            Some(s) => store.record(s).map_err(|e| WebError::Internal(e.to_string()))?,
            None => None,
        };
        let history = store.history(fresh.id).map_err(|e| WebError::Internal(e.to_string()))?;
        Ok((fresh, student, history))
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))??;
    let today = v.as_of;
    let alerts = case_alerts(&v.policy, &v.org, &c, student.as_ref(), today);
    let steps = ladder(&v, &c, student.as_ref(), today);
    let i = c.case.as_deref();
    let resp = c.responsible();
    let township = i.map(|c| c.township.clone()).unwrap_or_default();
    let school = i.and_then(|c| c.school.clone());
    let id_number = i.and_then(|c| c.child.id_number.as_ref());
    let mut parts = vec![county_crumb(&v), (township.clone(), Some(format!("/t/{}", seg(&township))))];
    if let Some(s) = &school {
        parts.push((s.clone(), Some(format!("/t/{}/{}", seg(&township), seg(s)))));
    }
    parts.push((c.name().to_string(), None));
    let guardian = student.as_ref().and_then(|s| s.text(Field::Guardian)).unwrap_or("—");
    let body = html! {
        (crumbs(&parts))
        h1 { (c.name()) " · 案件 " (c.id.short()) }
        p.muted.small { "县级平台只读查看；办理在乡镇节点进行。" }
        div.cards {
            div.card {
                div.muted.small { "状态" }
                div.figure { (state_text(&c)) }
                div { (source_text(&c)) }
            }
            div.card {
                div { "身份证号 " (id_number.map(|x| a.masked(x)).unwrap_or_else(|| "（无）".into())) }
                @if id_number.is_some() && a.may(Perm::FullId) {
                    form.inline method="post" action={ "/case/" (c.id.hex()) "/full-id" } {
                        (csrf_field(&user.csrf))
                        button.secondary type="submit" { "查看完整身份证号（将记入审计）" }
                    }
                }
                div { "学籍号 " (i.and_then(|c| c.child.student_no.as_ref()).map(|n| n.masked()).unwrap_or_else(|| "（无）".into())) }
                div { (school.clone().unwrap_or_else(|| "（不在籍）".into())) @if let Some(g) = i.and_then(|c| c.grade) { " · " (g) " 年级" } }
                div { "监护人 " (guardian) }
            }
            div.card {
                div { "立案 " (i.map(|i| i.opened.to_string()).unwrap_or_default()) "　起算日 " (i.map(|i| i.clock_start.to_string()).unwrap_or_default()) }
                div { "辍学原因 " (c.cause().map(|x| x.label()).unwrap_or("不详")) }
                div { "劝返方案 " (c.plan().unwrap_or("（未填写）")) }
            }
        }
        @if !alerts.is_empty() {
            h2 { "在办预警" }
            @for x in &alerts {
                div class={ "alert-item " (web_level(x.level).class()) } {
                    (level_badge(web_level(x.level))) " " (x.message)
                    div.small.muted { "责任人：" (x.responsible) "；" (x.due) " 起应办；依据 " (x.clause) }
                }
            }
        }
        h2 { "劝返流程（" (v.policy.title) "）" }
        ol.timeline {
            @for s in &steps {
                li class=(s.state) { strong { (s.title) } div.small { (s.text) "；依据 " (s.clause) } }
            }
        }
        h2 { "责任人（双线）" }
        div.table-wrap { table { tbody {
            tr { th { "教育线 · 班主任" } td { (resp.get(ResponsibleRole::ClassTeacher).unwrap_or("未填写")) } th { "政府线 · 包村干部" } td { (resp.get(ResponsibleRole::TownshipCadre).unwrap_or("未填写")) } }
            tr { th { "教育线 · 包保教师" } td { (resp.get(ResponsibleRole::Mentor).unwrap_or("未填写")) } th { "政府线 · 村组干部" } td { (resp.get(ResponsibleRole::VillageCadre).unwrap_or("未填写")) } }
        } } }
        h2 { "已采取的措施（" (c.actions.len()) " 项）" }
        @if c.actions.is_empty() { p.muted { "尚无措施。" } }
        @else {
            div.table-wrap { table { thead { tr { th { "日期" } th { "措施" } th { "经办人" } th { "情况" } } } tbody {
                @for (rev, act) in c.actions_with_ids() {
                    @if let Some(v) = c.visit(rev) {
                        // The 家访记录表 fields (shared::visit), one a line.
                        tr { td.nowrap { (v.when()) } td { (act.kind.label()) } td { (act.by) } td {
                            @for (label, value) in v.labelled() {
                                @if !value.is_empty() { div { strong { (label) "：" } (value) } }
                            }
                        } }
                    } @else {
                        tr { td.nowrap { (act.date) } td { (act.kind.label()) @if let Some(n) = act.notice { "《" (n) "》" } } td { (act.by) } td { (act.text.clone().unwrap_or_default()) } }
                    }
                }
            } } }
        }
        h2 { "修改历史（" (history.len()) " 条）" }
        div.table-wrap { table.small {
            thead { tr { th { "时间" } th { "录入人（节点）" } th { "业务日期" } th { "内容" } } }
            tbody {
                @for r in &history {
                    tr { td.nowrap { (r.hlc.display()) } td { (r.author) "（" (r.origin) "）" } td.nowrap { (r.date) } td { (r.describe()) } }
                }
            }
        } }
    };
    let _ = RecordKind::Case;
    Ok(app.page(&format!("案件 {}", c.name()), &user, "/cases", None, body))
}

/// `POST /case/{id}/full-id`: shows the full 身份证号 to a role that may see it, and logs it.
pub async fn full_id(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(hex): Path<String>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    a.require(Perm::FullId)?;
    let v = app.view()?;
    let c = case_of(&v, &a, &hex)?;
    let Some(n) = c.case.as_deref().and_then(|i| i.child.id_number.clone()) else {
        return Err(WebError::NotFound("该案件没有身份证号".into()));
    };
    app.audit("full_id", &user, &format!("查看完整身份证号：案件 {} {}（{}）", c.id.short(), c.name(), n.masked()));
    let body = html! {
        h1 { (c.name()) " 的身份证号" }
        p.figure { (n.as_str()) }
        p.muted.small { "本次查看已记入审计日志（" (user.name) "，" (super::view::now_text()) "）。请勿抄录或外传。" }
        p { a href={ "/case/" (c.id.hex()) } { "返回案件" } }
    };
    Ok(app.page("完整身份证号", &user, "/cases", None, body))
}
