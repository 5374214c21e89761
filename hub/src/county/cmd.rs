//! The command line of the county commands (`report`, `alerts`, `baseline import`,
//! `census import`): their arguments (clap) and what each prints.
//! `cli.rs` holds one variant per command and calls the function of the same name here.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use baoxue_shared::alerts::Alert;
use baoxue_shared::indicators::CohortStage;
use baoxue_shared::model::CaseSource;
use baoxue_shared::report::Format;
use baoxue_shared::Date;
use clap::{Args, Subcommand, ValueEnum};

use super::{read_input, write_output, ReportKind, ReportOptions};
use crate::data::HubDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportName {
    /// 巩固率（--stage nine_year|junior|primary）
    Consolidation,
    /// 辍学率（小学、初中分列）
    Dropout,
    /// 各乡镇未返校情况统计表（伊川 001 附件1）
    TownshipTable,
    /// 月度排名
    Ranking,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Json,
    Csv,
    Md,
    /// Excel 工作簿（上报版式；不写 --out 时写入当前目录的「报表名-日期.xlsx」）
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    #[value(name = "nine_year", alias = "nine-year")]
    NineYear,
    Junior,
    Primary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// 公安户籍
    Police,
    /// 民政
    Civil,
    /// 扶贫（乡村振兴）
    Poverty,
    /// 残联
    Disability,
    /// 教育部疑似失学儿童名单
    Ministry,
}

/// `report consolidation|dropout|township-table|ranking`
#[derive(Debug, Args)]
pub struct ReportArgs {
    pub report: ReportName,
    /// 输出格式（默认 md；csv 为带 BOM 的 UTF-8，可直接用 Excel 打开；xlsx 为上报用 Excel 表）
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// 同 --format json
    #[arg(long)]
    pub json: bool,
    /// 写入文件而不是输出到屏幕
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// 统计截至日期（默认今天）
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// 巩固率类别（默认 nine_year）
    #[arg(long, value_enum)]
    pub stage: Option<StageArg>,
    /// 学年（起始年份，默认 --as-of 所在学年）
    #[arg(long, value_name = "YEAR")]
    pub school_year: Option<i32>,
    /// 不遮盖身份证号（报表本身只含汇总数，不含身份证号）
    #[arg(long)]
    pub unmasked: bool,
}

/// `alerts`
#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[arg(long)]
    pub json: bool,
    /// 评估日期（默认今天）
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// 只看一个乡镇
    #[arg(long, value_name = "T")]
    pub township: Option<String>,
    /// 重复学籍预警显示完整身份证号（仅限县教育局内部使用）
    #[arg(long)]
    pub unmasked: bool,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCmd {
    /// 导入基线 CSV（学校,入学学年,入学年级,入学人数,转入,转出,死亡），替换此前的基线
    Import {
        file: PathBuf,
        /// 基线数据统计截至的日期（默认今天）
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CensusCmd {
    /// 比对名单（身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体），未在籍的适龄儿童立失学案件
    Import {
        file: PathBuf,
        #[arg(long, value_enum)]
        source: SourceArg,
        #[arg(long)]
        json: bool,
        /// 比对日期，即失学案件的立案日期（默认今天）
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        #[arg(long, visible_alias = "operator", value_name = "NAME")]
        by: Option<String>,
        /// 疑似匹配的候选学籍显示完整身份证号
        #[arg(long)]
        unmasked: bool,
    },
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) {
    crate::out::stdout(text);
}

fn date_arg(given: Option<&str>, flag: &str) -> Result<Date> {
    match given {
        None => Ok(Date::today()),
        Some(s) => Date::parse(s).map_err(|e| anyhow!("{flag}：{e}")),
    }
}

fn county(dir: &HubDir) -> Result<super::County> {
    let store = dir.open_store()?;
    Ok(dir.county(store)?)
}

pub fn report(dir: &HubDir, a: ReportArgs) -> Result<()> {
    let as_of = date_arg(a.as_of.as_deref(), "--as-of")?;
    let format = match (a.json, a.format) {
        (true, _) | (false, Some(FormatArg::Json)) => Format::Json,
        (false, Some(FormatArg::Csv)) => Format::Csv,
        (false, Some(FormatArg::Md) | None) => Format::Md,
        (false, Some(FormatArg::Xlsx)) => Format::Xlsx,
    };
    let kind = match a.report {
        ReportName::Consolidation => ReportKind::Consolidation,
        ReportName::Dropout => ReportKind::Dropout,
        ReportName::TownshipTable => ReportKind::TownshipTable,
        ReportName::Ranking => ReportKind::Ranking,
    };
    let stage = match a.stage {
        None | Some(StageArg::NineYear) => CohortStage::NineYear,
        Some(StageArg::Junior) => CohortStage::Junior,
        Some(StageArg::Primary) => CohortStage::Primary,
    };
    let c = county(dir)?;
    let (snap, _) = c.snapshot()?;
    let opts = ReportOptions { kind, format, as_of, stage, school_year: a.school_year };
    if format == Format::Xlsx {
        // Binary: always to a file (never to a terminal).
        let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}-{as_of}.xlsx", kind.file_stem())));
        let bytes = c.report_bytes(&snap, &opts)?;
        std::fs::write(crate::out::resolve(&out), bytes).with_context(|| format!("无法写入 {}", out.display()))?;
        crate::note!("已写入 {}", out.display());
        return Ok(());
    }
    let text = c.report(&snap, &opts)?;
    if let Some(t) = write_output(&text, a.out.as_deref())? {
        emit(&t);
    } else if let Some(p) = &a.out {
        crate::note!("已写入 {}", p.display());
    }
    Ok(())
}

/// One alert as a line (two) of Chinese.
pub fn alert_text(a: &Alert) -> String {
    format!(
        "[{}] {}\n    责任人：{}；{} 起应办；依据 {}；编号 {}",
        a.level.label(),
        a.message,
        a.responsible,
        a.due,
        a.clause,
        a.id
    )
}

pub fn alerts(dir: &HubDir, a: AlertsArgs) -> Result<()> {
    let as_of = date_arg(a.as_of.as_deref(), "--as-of")?;
    let c = county(dir)?;
    let (snap, _) = c.snapshot()?;
    let mut list = c.alerts(&snap, as_of)?;
    if let Some(t) = &a.township {
        list.retain(|x| &x.township == t);
    }
    if a.unmasked {
        for x in list.iter_mut().filter(|x| x.rule == "duplicate_enrolment") {
            if let Some(full) = snap.duplicates.iter().find(|d| baoxue_shared::ids::mask(d) == x.subject) {
                x.subject = full.clone();
            }
        }
    }
    if a.json {
        emit(&(serde_json::to_string_pretty(&list)? + "\n"));
        return Ok(());
    }
    if list.is_empty() {
        emit(&format!("截至 {as_of} 没有在办的预警\n"));
        return Ok(());
    }
    let mut o = format!("截至 {as_of} 共 {} 条预警（最紧急的在前）：\n", list.len());
    for x in &list {
        o.push_str(&alert_text(x));
        o.push('\n');
    }
    emit(&o);
    Ok(())
}

pub fn baseline(dir: &HubDir, cmd: BaselineCmd) -> Result<()> {
    let BaselineCmd::Import { file, date } = cmd;
    let date = date_arg(date.as_deref(), "--date")?;
    let bytes = read_input(&file)?;
    let c = county(dir)?;
    let b = c.import_baseline(&bytes, date).with_context(|| format!("基线文件 {}", file.display()))?;
    let schools: std::collections::BTreeSet<&str> = b.rows().iter().map(|r| r.school.as_str()).collect();
    emit(&format!(
        "已导入基线：{} 行，{} 所学校，数据截至 {date}（此后的入学、转学、死亡以系统记录为准）\n",
        b.len(),
        schools.len()
    ));
    Ok(())
}

pub fn census(dir: &HubDir, cmd: CensusCmd) -> Result<()> {
    let CensusCmd::Import { file, source, json, date, by, unmasked } = cmd;
    let date = date_arg(date.as_deref(), "--date")?;
    let source = match source {
        SourceArg::Police => CaseSource::Police,
        SourceArg::Civil => CaseSource::Civil,
        SourceArg::Poverty => CaseSource::Poverty,
        SourceArg::Disability => CaseSource::Disability,
        SourceArg::Ministry => CaseSource::Ministry,
    };
    let by = by
        .or_else(crate::out::operator_env)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "县教育局".into());
    let bytes = read_input(&file)?;
    let c = county(dir)?;
    let r = c.import_census(&bytes, source, date, &by).with_context(|| format!("比对名单 {}", file.display()))?;
    let o = &r.outcome;
    if json {
        emit(&(serde_json::to_string_pretty(&o.counts())? + "\n"));
        return Ok(());
    }
    let mut out = String::new();
    if let Some(src) = r.read_as {
        let _ = writeln!(out, "已按 {} 读取 {}", src.label(), file.display());
    }
    let _ = writeln!(
        out,
        "{}比对（{}）：匹配 {}，疑似匹配 {}，未匹配 {}，立失学案件 {}",
        source.label(),
        file.display(),
        o.matched,
        o.suggested.len(),
        o.unmatched,
        r.opened.len()
    );
    for s in &o.suggested {
        let id = s.id_number.clone().unwrap_or_else(|| "身份证号无效或缺失".into());
        let _ = writeln!(out, "  第 {} 行 {}（{}，{}，{}）疑似为：", s.row, s.name, id, s.sex, s.birth);
        for cand in &s.candidates {
            let shown = if unmasked {
                c.store.record(cand.record)?.and_then(|rec| rec.id_number().map(|i| i.as_str().to_string()))
            } else {
                cand.id_number.clone()
            };
            let _ = writeln!(
                out,
                "    {} {} {}{}（{}）",
                cand.name,
                shown.unwrap_or_default(),
                cand.school.clone().unwrap_or_default(),
                cand.grade.map(|g| format!(" {g}年级")).unwrap_or_default(),
                cand.status.map(|s| s.label()).unwrap_or("")
            );
        }
    }
    let mut by_township: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (_, t) in &r.opened {
        *by_township.entry(t).or_default() += 1;
    }
    if !by_township.is_empty() {
        let parts: Vec<String> = by_township.iter().map(|(t, n)| format!("{t} {n} 件")).collect();
        let _ = writeln!(out, "失学案件将在各乡镇节点下次同步时送达：{}", parts.join("、"));
    }
    for w in o.warnings.iter().chain(&o.skipped) {
        let _ = writeln!(out, "  {w}");
    }
    for e in &o.errors {
        let _ = writeln!(out, "  未处理：{e}");
    }
    emit(&out);
    Ok(())
}
