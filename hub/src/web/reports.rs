//! The reports as pages and as the Excel files the bureau sends upward: the township table (as
//! 001 附件1 prints it), the monthly ranking, the consolidation reports (nine-year, primary,
//! junior) and the dropout report. The page shows the same book the .xlsx is written from
//! (`shared::report`, `baoxue_sheet::write`), so the two never disagree. A 乡镇 user gets
//! their own township's rows only, on the page and in the file; every download is logged.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use baoxue_shared::indicators::{ConsolidationReport, DropoutReport, Ranking, TownshipTable};
use baoxue_shared::org::Org;
use baoxue_shared::report::{render_bytes, Book, Cell, Format, Kind, Render};
use baoxue_web::{html, CurrentUser, Markup, WebError};

use super::access::Access;
use super::view::View;
use super::{access_of, download, seg, App, XLSX};

/// The reports of the app: (path key, title).
pub const KINDS: [(&str, &str); 6] = [
    ("township-table", "各乡镇辍学学生未返校情况统计表（001 附件1）"),
    ("ranking", "月度控辍保学工作排名"),
    ("consolidation", "九年义务教育巩固率"),
    ("consolidation-primary", "小学六年巩固率"),
    ("consolidation-junior", "初中三年巩固率"),
    ("dropout", "辍学率"),
];

fn scope_township(t: &mut TownshipTable, town: &str) {
    t.rows.retain(|r| r.township == town);
    let name = t.total.township.clone();
    t.total = t.rows.first().cloned().unwrap_or_else(|| t.total.clone());
    t.total.township = name;
}

fn scope_consolidation(r: &mut ConsolidationReport, org: &Org, town: &str) {
    r.townships.retain(|u| u.name == town);
    r.schools.retain(|u| org.township_of(&u.name) == Some(town));
}

fn scope_dropout(r: &mut DropoutReport, org: &Org, town: &str) {
    r.townships.retain(|u| u.name == town);
    r.schools.retain(|u| org.township_of(&u.name) == Some(town));
}

fn scope_ranking(r: &mut Ranking, town: &str) {
    r.rows.retain(|x| x.township == town);
}

/// A report of the view, cut to the user's scope, as its renderer.
fn report(v: &View, a: &Access, kind: &str) -> Result<Box<dyn Render>, WebError> {
    let ind = &v.computed.indicators;
    let town = a.township.as_deref();
    Ok(match kind {
        "township-table" => {
            let mut t = ind.township_table.clone();
            if let Some(x) = town {
                scope_township(&mut t, x);
            }
            Box::new(t)
        }
        "ranking" => {
            let mut r = ind.ranking.clone();
            if let Some(x) = town {
                scope_ranking(&mut r, x);
            }
            Box::new(r)
        }
        "consolidation" | "consolidation-junior" | "consolidation-primary" => {
            let i = match kind {
                "consolidation" => 0,
                "consolidation-junior" => 1,
                _ => 2,
            };
            let mut r = ind.consolidation[i].clone();
            if let Some(x) = town {
                scope_consolidation(&mut r, &v.org, x);
            }
            Box::new(r)
        }
        "dropout" => {
            let mut r = ind.dropout.clone();
            if let Some(x) = town {
                scope_dropout(&mut r, &v.org, x);
            }
            Box::new(r)
        }
        other => return Err(WebError::NotFound(format!("没有报表「{other}」"))),
    })
}

fn title_of(kind: &str) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t).unwrap_or("报表")
}

/// Where a unit's name leads: its township or school page.
fn unit_link(org: &Org, name: &str) -> Option<String> {
    if org.townships.contains_key(name) {
        return Some(format!("/t/{}", seg(name)));
    }
    org.township_of(name).map(|t| format!("/t/{}/{}", seg(t), seg(name)))
}

/// The list of exactly the children counted on `as_of` (the township table's set, see
/// `TownshipTable::counted`): in `township` (none: every township in the user's scope) and,
/// when given, in one column (0 roll, 1 Ministry list, 2 census).
pub fn counted_href(as_of: &str, township: Option<&str>, column: Option<u8>) -> String {
    let mut s = format!("/cases?counted={as_of}");
    if let Some(t) = township {
        s.push_str(&format!("&township={}", seg(t)));
    }
    if let Some(c) = column {
        s.push_str(&format!("&column={c}"));
    }
    s
}

/// Where a count cell of a report leads: the case list behind it. `row` is the book's row
/// (none: the 合计 row), `col` the column.
fn count_href(kind: &str, b: &Book, row: Option<&[Cell]>, col: usize) -> Option<String> {
    let as_of = b.as_of.as_deref()?;
    let town = |i: usize| match row.map(|r| r.get(i)) {
        Some(Some(Cell::Text(t))) => Some(Some(t.as_str())),
        Some(_) => None,
        None => Some(None),
    };
    match kind {
        // 序号, 单位, roll, Ministry list, census, 合计
        "township-table" => {
            let column = match col {
                2..=4 => Some(col as u8 - 2),
                5 => None,
                _ => return None,
            };
            Some(counted_href(as_of, town(1)?, column))
        }
        // 排名, 乡镇, 未返校人数, 辍学率
        "ranking" if col == 2 => Some(counted_href(as_of, town(1)?, None)),
        _ => None,
    }
}

/// A book as an HTML table (numbers right-aligned, the 合计 row in bold, every township and
/// school name a link to its page, and every count of the township table and the ranking a
/// link to the list of the children it counts).
pub fn book_table(b: &Book, org: &Org, kind: &str) -> Markup {
    let right = |k: Kind| matches!(k, Kind::Count | Kind::Rate | Kind::Number);
    html! {
        div.table-wrap { table {
            thead { tr { @for c in &b.columns { th class=[right(c.kind).then_some("right")] { (c.name.trim_end_matches(['#', '%'])) } } } }
            tbody {
                @for r in &b.rows {
                    tr { @for (i, cell) in r.iter().enumerate() {
                        td class=[b.columns.get(i).is_some_and(|c| right(c.kind)).then_some("right")] {
                            @match (cell, cell_link(org, cell).or_else(|| count_href(kind, b, Some(r), i))) {
                                (_, Some(href)) => a href=(href) { (cell.display()) },
                                _ => (cell.display()),
                            }
                        }
                    } }
                }
                @if let Some(t) = &b.total {
                    tr { @for (i, cell) in t.iter().enumerate() {
                        th class=[b.columns.get(i).is_some_and(|c| right(c.kind)).then_some("right")] {
                            @match count_href(kind, b, None, i) {
                                Some(href) => a href=(href) { (cell.display()) },
                                None => (cell.display()),
                            }
                        }
                    } }
                }
            }
        } }
        @for n in &b.notes { p.small.muted { (n) } }
    }
}

fn cell_link(org: &Org, cell: &Cell) -> Option<String> {
    match cell {
        Cell::Text(t) => unit_link(org, t),
        _ => None,
    }
}

/// `/reports`
pub async fn index(State(app): State<Arc<App>>, Extension(user): Extension<CurrentUser>) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let body = html! {
        h1 { "报表" }
        p.muted { "各报表按统计日期 " (v.as_of) " 的数据生成；Excel 文件按上报格式（标题、统计日期、冻结表头、合计行、落款）排版。" }
        @if !a.county_wide() { p.flash.flash-info { "乡镇账户的报表只含本乡镇（" (a.township.clone().unwrap_or_default()) "）。" } }
        div.table-wrap { table { tbody {
            @for (k, t) in KINDS {
                tr { td { a href={ "/reports/" (k) } { (t) } } td.right { a.button.secondary href={ "/reports/" (k) "/xlsx" } { "下载 Excel" } } }
            }
        } } }
        @if a.county_wide() {
            h2 { "夜间汇总存档" }
            p { a href="/archives" { "查看各日存档，标记已上报的报表" } }
        }
    };
    Ok(app.page("报表", &user, "/reports", None, body))
}

/// `/reports/{kind}`
pub async fn page(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(kind): Path<String>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let r = report(&v, &a, &kind)?;
    let mut book = r.book();
    book.unit = v.unit.clone();
    let body = html! {
        h1 { (book.title) }
        p { "统计日期 " (book.as_of.clone().unwrap_or_default()) "　" a.button href={ "/reports/" (kind) "/xlsx" } { "下载 Excel (.xlsx)" } }
        (book_table(&book, &v.org, &kind))
    };
    Ok(app.page(title_of(&kind), &user, "/reports", None, body))
}

/// `/reports/{kind}/xlsx`: logged.
pub async fn xlsx(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Path(kind): Path<String>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let r = report(&v, &a, &kind)?;
    let bytes =
        render_bytes(r.as_ref(), Format::Xlsx, v.unit.as_deref()).map_err(|e| WebError::Internal(e.to_string()))?;
    let scope = a.township.clone().unwrap_or_else(|| "全县".into());
    app.audit("export", &user, &format!("下载 {}（{scope}，统计日期 {}）.xlsx", title_of(&kind), v.as_of));
    Ok(download(bytes, &format!("{kind}-{}.xlsx", v.as_of), XLSX))
}
