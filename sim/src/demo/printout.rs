//! The demo's Chinese printout: scale, the school year's events, the reports and the most
//! urgent alerts, and the time each step took.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use baoxue_shared::policy::Policy;
use baoxue_shared::report::{render, Format};

use super::town::TownStats;
use super::{DemoOutcome, COUNTY_NAME};

pub(super) fn printout(o: &DemoOutcome, policy: &Policy, stats: &[&TownStats], transfers: usize, addr: &str) -> String {
    let mut s = String::new();
    let sum = |f: fn(&TownStats) -> usize| stats.iter().map(|x| f(x)).sum::<usize>();
    let _ = writeln!(s, "══ {COUNTY_NAME} 控辍保学 2025 学年演示 ══");
    let _ = writeln!(
        s,
        "规模：{} 个乡镇、{} 所学校、{} 名学生；{} 个乡镇节点经 {addr} 与县级平台同步 {} 轮；县级库共 {} 条修订",
        o.townships, o.schools, o.students, o.townships, o.sync_rounds, o.hub_revisions
    );
    let _ = writeln!(
        s,
        "一学年：请假 {} 人次，无故缺勤立案 {} 件（复学销号 {} 件），失学儿童入学 {} 人，措施 {} 项，县内外转学 {} 人；节点提交 {} 次",
        sum(|x| x.absences),
        sum(|x| x.cases),
        sum(|x| x.returned),
        sum(|x| x.enrolled),
        sum(|x| x.actions),
        transfers,
        sum(|x| x.commits)
    );
    let _ = writeln!(
        s,
        "教育部疑似失学名单：匹配 {}、疑似匹配 {}、未匹配 {}、立案 {}；公安户籍比对：匹配 {}、未匹配 {}、立案 {}",
        o.ministry.matched,
        o.ministry.suggested,
        o.ministry.unmatched,
        o.ministry.cases_opened,
        o.police.matched,
        o.police.unmatched,
        o.police.cases_opened
    );
    let ind = &o.indicators;
    let _ = writeln!(s, "\n一、{}", md_body(&render(&ind.consolidation[0], Format::Md)));
    let _ = writeln!(s, "二、{}", md_body(&render(&ind.township_table, Format::Md)));
    let _ = writeln!(s, "三、{}", md_body(&render(&ind.ranking, Format::Md)));
    let _ = writeln!(s, "四、最紧急的 10 条预警（共 {} 条，截至 {}）\n", o.alerts.len(), o.as_of);
    let mut by_rule: BTreeMap<(std::cmp::Reverse<baoxue_shared::alerts::Level>, String), (usize, String)> =
        BTreeMap::new();
    for a in &o.alerts {
        let key = (std::cmp::Reverse(a.level), rule_label(policy, &a.rule));
        by_rule.entry(key).or_insert((0, a.clause.clone())).0 += 1;
    }
    for ((level, label), (n, clause)) in &by_rule {
        let _ = writeln!(s, "  {}  {n:>4} 条  {label}（{clause}）", level.0.label());
    }
    let _ = writeln!(s);
    for (i, a) in o.alerts.iter().take(10).enumerate() {
        let _ = writeln!(s, "{:>2}. [{}] {}", i + 1, a.level.label(), a.message);
        let _ = writeln!(s, "    责任人：{}；{} 起应办；依据 {}", a.responsible, a.due, a.clause);
    }
    let _ = writeln!(s, "\n五、用时");
    for (step, secs) in &o.timings {
        let _ = writeln!(s, "  {secs:>7.2} 秒  {step}");
    }
    if let Some(last) = o.nightly.last() {
        let _ = writeln!(
            s,
            "  最后一次夜间汇总：{:.2} 秒（{}）",
            last.total_seconds,
            if last.refresh.rebuilt { "全量" } else { "增量" }
        );
    }
    let _ = writeln!(s, "  合计 {:.1} 秒", o.total_seconds);
    if o.kept {
        let _ =
            writeln!(s, "\n数据目录：{}（县级平台 hub/，各乡镇节点 nodes/，归档报表 hub/reports/）", o.dir.display());
    }
    s
}

/// What an alert rule asks, in Chinese: the policy's own title where it has one.
pub(super) fn rule_label(policy: &Policy, rule: &str) -> String {
    if let Some(r) = policy.rung(rule) {
        return r.title.clone();
    }
    if let Some(r) = policy.reporting.iter().find(|r| r.id == rule) {
        return r.title.clone();
    }
    let a = &policy.accountability;
    match rule {
        "unit_loss" => a.unit_loss.as_ref().map(|r| r.title.clone()).unwrap_or_else(|| rule.into()),
        r if r.starts_with("school_dropouts") => a
            .school_dropouts
            .as_ref()
            .map(|x| format!("学校有辍学学生而未采取劝返措施：{}", x.title))
            .unwrap_or_else(|| r.into()),
        r if r.starts_with("township_ladder_m") => {
            let m: u32 = r.trim_start_matches("township_ladder_m").parse().unwrap_or(0);
            a.township_ladder
                .as_ref()
                .and_then(|l| l.steps.iter().find(|s| s.months == m))
                .map(|s| format!("学校辍学未劝返超过2名满{m}个月：{}", s.title))
                .unwrap_or_else(|| r.into())
        }
        "repeated_notification" => {
            a.repeated_notification.as_ref().map(|x| x.title.clone()).unwrap_or_else(|| rule.into())
        }
        "dropout_rate_over_limit" => a.dropout_rate.as_ref().map(|x| x.title.clone()).unwrap_or_else(|| rule.into()),
        r if a.notifications.iter().any(|n| n.id == r) => {
            a.notifications.iter().find(|n| n.id == r).map(|n| n.title.clone()).unwrap_or_else(|| r.into())
        }
        "duplicate_enrolment" => "重复学籍（一人两籍）".into(),
        "unresolved_conflict" => "并发修改未裁定".into(),
        r => r.into(),
    }
}

/// A Markdown report without its leading `# `, for the printout's numbered sections.
pub(super) fn md_body(md: &str) -> String {
    md.trim_start_matches('#').trim_start().to_string()
}
