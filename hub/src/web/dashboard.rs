//! 总览: the county's 巩固率 (nine-year, primary, junior) and 辍学率 with their terms; 巩固率 by
//! township against the county's target (bars); the unreturned children by month (line, from
//! the dated archives); alerts by level and rung; the nodes' health. A 乡镇 user sees their
//! own township's figures in the same places.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use baoxue_shared::alerts::{Alert, SubjectKind};
use baoxue_shared::indicators::{ConsolidationReport, ConsolidationUnit, DropoutUnit};
use baoxue_shared::policy::Level as PolicyLevel;
use baoxue_web::chart::{self, Bar, Point};
use baoxue_web::layout::{level_badge, Level};
use baoxue_web::{html, CurrentUser, Markup, WebError};

use super::access::Access;
use super::view::View;
use super::{access_of, pct, seg, App};

/// The county's target for the nine-year 巩固率: 96% (seed 000: 「确保…全县九年义务教育巩固率
/// 达到96%的目标」, the national goal of 国办发〔2017〕72号 as the county adopted it).
pub const TARGET: f64 = 0.96;

pub fn web_level(l: PolicyLevel) -> Level {
    match l {
        PolicyLevel::Urgent => Level::Urgent,
        PolicyLevel::Warning => Level::Warning,
        PolicyLevel::Info => Level::Info,
    }
}

/// The unit of a report a user's figures come from: the county, or their township.
fn consolidation_unit<'a>(r: &'a ConsolidationReport, a: &Access) -> Option<&'a ConsolidationUnit> {
    match &a.township {
        None => Some(&r.county),
        Some(t) => r.townships.iter().find(|u| &u.name == t),
    }
}

fn dropout_unit<'a>(v: &'a View, a: &Access) -> Option<&'a DropoutUnit> {
    let d = &v.computed.indicators.dropout;
    match &a.township {
        None => Some(&d.county),
        Some(t) => d.townships.iter().find(|u| &u.name == t),
    }
}

/// 巩固率 with its terms (FORMULAS.md: G ÷ (I + Tin − Tout − X)).
fn consolidation_card(title: &str, r: &ConsolidationReport, a: &Access) -> Markup {
    let u = consolidation_unit(r, a);
    html! {
        div.card.kpi {
            div.muted.small { (title) "（" (r.school_year) "学年毕业届）" }
            @match u {
                Some(u) => {
                    div.figure { (pct(u.rate)) }
                    div.terms {
                        "= 毕业 " (u.graduates) " ÷ (入学 " (u.intake) " + 转入 " (u.transfers_in) " − 转出 " (u.transfers_out) " − 死亡 " (u.deaths) ")"
                    }
                    @if let Some(f) = &u.flag { div.small { span.level.level-warning { "数据问题" } " " (flag_text(f)) } }
                    @if u.intake_from_first_roster > 0 { div.small.muted { "其中 " (u.intake_from_first_roster) " 人的入学数取自系统首份名册（无基线）" } }
                }
                None => div.figure { "—" },
            }
        }
    }
}

pub fn flag_text(f: &str) -> &'static str {
    match f {
        "rate_above_100" => "巩固率超过 100%，请核对转入与基线",
        "denominator_negative" => "分母为负，请核对转出与死亡人数",
        "no_denominator" => "没有入学数（请导入基线）",
        _ => "数据待核对",
    }
}

fn dropout_card(v: &View, a: &Access) -> Markup {
    let d = &v.computed.indicators.dropout;
    html! {
        div.card.kpi {
            div.muted.small { "辍学率（" (d.school_year) "学年）" }
            @match dropout_unit(v, a) {
                Some(u) => {
                    div.figure { (pct(u.rate)) }
                    div.terms { "= 辍学 " (u.dropouts) " 人 ÷ 学年初在校 " (u.enrolled_at_start) " 人" }
                    div.terms { "小学 " (pct(u.primary.rate)) "（" (u.primary.dropouts) "/" (u.primary.enrolled_at_start) "）；初中 " (pct(u.junior.rate)) "（" (u.junior.dropouts) "/" (u.junior.enrolled_at_start) "）" }
                }
                None => div.figure { "—" },
            }
        }
    }
}

/// The alerts a user sees: their township's, or all.
pub fn visible_alerts<'a>(v: &'a View, a: &Access) -> Vec<&'a Alert> {
    v.computed
        .alerts
        .iter()
        .filter(|x| a.county_wide() || a.sees_township(&x.township) && !x.township.is_empty())
        .collect()
}

/// A rung's title (the ladder's, else the rule id with what it is about).
pub fn rule_title(v: &View, x: &Alert) -> String {
    if let Some(r) = v.policy.ladder.iter().find(|r| r.id == x.rule) {
        return r.title.clone();
    }
    if let Some(r) = v.policy.reporting.iter().find(|r| r.id == x.rule) {
        return r.title.clone();
    }
    let fixed = match x.rule.as_str() {
        "unresolved_conflict" => Some("并发修改冲突待裁定"),
        "duplicate_enrolment" => Some("重复学籍"),
        "unit_loss" => Some("学年内流失超过 1%（004 第八条）"),
        "dropout_rate_over_limit" => Some("辍学率超过国家控制线"),
        "repeated_notification" => Some("多次被通报"),
        "school_dropouts_primary" => Some("学校小学辍学人数达到问责线"),
        "school_dropouts_junior" => Some("学校初中辍学人数达到问责线"),
        _ => None,
    };
    if let Some(t) = fixed {
        return t.to_string();
    }
    if let Some(m) = x.rule.strip_prefix("township_ladder_m") {
        return format!("乡镇辍学 {m} 个月仍未劝返（问责）");
    }
    format!("{}预警（{}）", x.subject_kind.label(), x.rule)
}

pub async fn page(State(app): State<Arc<App>>, Extension(user): Extension<CurrentUser>) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let ind = &v.computed.indicators;
    let nine = &ind.consolidation[0];
    // Bars: every township in scope against the target.
    let bars: Vec<Bar> = nine
        .townships
        .iter()
        .filter(|u| a.sees_township(&u.name))
        .map(|u| Bar {
            label: u.name.clone(),
            value: u.rate,
            text: pct(u.rate),
            href: Some(format!("/t/{}", seg(&u.name))),
            low: u.rate.is_some_and(|r| r < TARGET),
        })
        .collect();
    let lowest = bars.iter().filter_map(|b| b.value).fold(TARGET, f64::min);
    let highest = bars.iter().filter_map(|b| b.value).fold(1.0, f64::max);
    let min = ((lowest - 0.02) * 10.0).floor() / 10.0;
    let points: Vec<Point> = v
        .monthly
        .iter()
        .map(|p| Point {
            label: p.month.clone(),
            value: match &a.township {
                None => p.total as f64,
                Some(t) => p.by_township.get(t).copied().unwrap_or(0) as f64,
            },
        })
        .collect();
    // Alerts by rung and level.
    let alerts = visible_alerts(&v, &a);
    let mut by_rule: BTreeMap<String, (String, [usize; 3])> = BTreeMap::new();
    let mut totals = [0usize; 3];
    for x in &alerts {
        let i = match x.level {
            PolicyLevel::Urgent => 0,
            PolicyLevel::Warning => 1,
            PolicyLevel::Info => 2,
        };
        let e = by_rule.entry(x.rule.clone()).or_insert_with(|| (rule_title(&v, x), [0; 3]));
        e.1[i] += 1;
        totals[i] += 1;
    }
    let mut rules: Vec<(String, String, [usize; 3])> = by_rule.into_iter().map(|(k, (t, c))| (k, t, c)).collect();
    rules.sort_by_key(|x| std::cmp::Reverse(x.2));
    let scope_name = a.township.clone().unwrap_or_else(|| v.unit.clone().unwrap_or_else(|| "全县".into()));
    let table = &ind.township_table;
    let unreturned = match &a.township {
        None => table.total.total,
        Some(t) => table.rows.iter().find(|r| &r.township == t).map(|r| r.total).unwrap_or(0),
    };
    let nodes = if a.county_wide() { Some(super::admin::node_rows(&app, &v)?) } else { None };
    let body = html! {
        h1 { (scope_name) " 控辍保学总览" }
        div.cards {
            (consolidation_card("九年义务教育巩固率", nine, &a))
            (consolidation_card("小学六年巩固率", &ind.consolidation[2], &a))
            (consolidation_card("初中三年巩固率", &ind.consolidation[1], &a))
            (dropout_card(&v, &a))
            div.card.kpi {
                div.muted.small { "未返校（" (table.as_of) "）" }
                div.figure { a href=(super::reports::counted_href(&table.as_of.to_string(), a.township.as_deref(), None)) { (unreturned) " 人" } }
                div.terms { "在办预警 " (alerts.len()) " 条：紧急 " (totals[0]) "、警告 " (totals[1]) "、提示 " (totals[2]) }
            }
        }
        div.grid2 {
            (chart::bars(&format!("各乡镇九年义务教育巩固率（目标 {:.0}%）", TARGET * 100.0), &bars, min.min(0.9), highest, Some((TARGET, "目标 96%"))))
            (chart::line(&format!("未返校人数（{}学年，按月）", ind.dropout.school_year), "人", &points))
        }
        h2 { "预警（按流程环节与级别）" }
        @if rules.is_empty() { p.muted { "当前没有在办预警。" } }
        @else {
            div.table-wrap { table {
                thead { tr { th { "环节 / 规则" } th.right { (level_badge(Level::Urgent)) } th.right { (level_badge(Level::Warning)) } th.right { (level_badge(Level::Info)) } } }
                tbody {
                    @for (rule, title, c) in &rules {
                        tr {
                            td { a href={ "/alerts?rule=" (seg(rule)) } { (title) } }
                            @for (i, l) in [(0usize, "urgent"), (1, "warning"), (2, "info")] {
                                td.right { @if c[i] > 0 { a href={ "/alerts?rule=" (seg(rule)) "&level=" (l) } { (c[i]) } } @else { "0" } }
                            }
                        }
                    }
                    tr { th { "合计" } th.right { (totals[0]) } th.right { (totals[1]) } th.right { (totals[2]) } }
                }
            } }
        }
        @if let Some(rows) = nodes {
            h2 { "节点运行情况" }
            (super::admin::hub_warnings(&app))
            (super::admin::node_table(&rows))
        }
    };
    Ok(app.page("总览", &user, "/", None, body))
}

/// `/alerts?rule=&level=&township=`: the alerts in scope, most urgent first.
pub async fn alerts(
    State(app): State<Arc<App>>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let a = access_of(&user)?;
    let v = app.view()?;
    let rule = q.get("rule").filter(|s| !s.is_empty());
    let level = q.get("level").filter(|s| !s.is_empty());
    let shorts: HashMap<String, String> = v.cases.keys().map(|id| (id.short(), id.hex())).collect();
    // The warnings before trouble (the hub's own, the nodes' certificates): county-wide roles.
    let operations = if a.county_wide() {
        crate::health::alerts(&app.state.dir, &app.state.store, baoxue_shared::Date::today())
    } else {
        Vec::new()
    };
    let list: Vec<&Alert> = operations
        .iter()
        .chain(visible_alerts(&v, &a))
        .filter(|x| rule.is_none_or(|r| &x.rule == r))
        .filter(|x| level.is_none_or(|l| x.level.key() == l))
        .collect();
    let body = html! {
        h1 { "在办预警（" (list.len()) " 条）" }
        @if rule.is_some() || level.is_some() { p { a href="/alerts" { "显示全部" } } }
        @for x in &list {
            div class={ "alert-item " (web_level(x.level).class()) } {
                (level_badge(web_level(x.level))) " "
                @if x.subject_kind == SubjectKind::Case {
                    @if let Some(hex) = shorts.get(&x.subject) { a href={ "/case/" (hex) } { (x.message) } } @else { (x.message) }
                } @else { (x.message) }
                div.small.muted { (x.subject_kind.label()) " " (x.subject) @if !x.township.is_empty() { "（" (x.township) "）" } "；责任人：" (x.responsible) "；" (x.due) " 起应办；依据 " (x.clause) }
            }
        }
    };
    Ok(app.page("预警", &user, "/alerts", None, body))
}
