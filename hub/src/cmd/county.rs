//! The county commands: `report`, `alerts`, `baseline import`, `census import` — their
//! arguments (clap on the command line, serde on the control socket), each a function of a
//! [`Context`] returning a typed result, and that result's Chinese text.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use baoxue_shared::alerts::Alert;
use baoxue_shared::census::CensusCounts;
use baoxue_shared::indicators::CohortStage;
use baoxue_shared::model::CaseSource;
use baoxue_shared::report::Format;
use baoxue_shared::Date;
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use super::{Context, Printed};
use crate::county::{ReportKind, ReportOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum ReportName {
    /// 巩固率（--stage nine_year|junior|primary）
    Consolidation,
    /// 辍学率（小学、初中分列）
    Dropout,
    /// 各乡镇未返校情况统计表（伊川 001 附件1）
    TownshipTable,
    /// 月度排名
    Ranking,
    /// 非户籍辍学学生通报移交清单（000 §三(二)）
    Handover,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum FormatArg {
    Json,
    Csv,
    Md,
    /// Excel 工作簿（上报版式；不写 --out 时写入当前目录的「报表名-日期.xlsx」）
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum StageArg {
    #[value(name = "nine_year", alias = "nine-year")]
    NineYear,
    Junior,
    Primary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
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
    Import(BaselineArgs),
}

/// `baseline import`
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct BaselineArgs {
    pub file: PathBuf,
    /// 基线数据统计截至的日期（默认今天）
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CensusCmd {
    /// 比对名单（身份证号,姓名,性别,出生日期,户籍乡镇,户籍村,特殊群体），未在籍的适龄儿童立失学案件
    Import(CensusArgs),
}

/// `census import`
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct CensusArgs {
    pub file: PathBuf,
    #[arg(long, value_enum)]
    pub source: SourceArg,
    #[arg(long)]
    pub json: bool,
    /// 比对日期，即失学案件的立案日期（默认今天）
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    #[arg(long, visible_alias = "operator", value_name = "NAME")]
    pub by: Option<String>,
    /// 疑似匹配的候选学籍显示完整身份证号
    #[arg(long)]
    pub unmasked: bool,
}

/// What `report` produced: its text, or the file it was written to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportOutput {
    pub kind: String,
    pub format: String,
    pub as_of: Date,
    /// The report (none when written to `--out`).
    pub text: Option<String>,
    /// `--out` as the operator typed it.
    pub written: Option<PathBuf>,
}

impl ReportOutput {
    pub(super) fn printed(&self) -> Printed {
        match (&self.text, &self.written) {
            (Some(t), _) => Printed { stdout: t.clone(), stderr: String::new() },
            (None, Some(p)) => Printed { stdout: String::new(), stderr: format!("已写入 {}\n", p.display()) },
            (None, None) => Printed::default(),
        }
    }
}

/// `report`: one report as of a day, rendered (md, csv or json), or written to `--out`.
pub fn report(ctx: &Context, a: &ReportArgs) -> Result<ReportOutput> {
    let as_of = ctx.date(a.as_of.as_deref(), "--as-of")?;
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
        ReportName::Handover => ReportKind::Handover,
    };
    let stage = match a.stage {
        None | Some(StageArg::NineYear) => CohortStage::NineYear,
        Some(StageArg::Junior) => CohortStage::Junior,
        Some(StageArg::Primary) => CohortStage::Primary,
    };
    let c = ctx.county()?;
    let (snap, _) = c.snapshot()?;
    let opts =
        ReportOptions { kind, format, as_of, stage, school_year: a.school_year.map(baoxue_shared::dates::SchoolYear) };
    let mut out = ReportOutput {
        kind: kind.file_stem().to_string(),
        format: format.to_string(),
        as_of,
        text: None,
        written: None,
    };
    if format == Format::Xlsx {
        // Binary: always to a file (never to a terminal).
        let p = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}-{as_of}.xlsx", kind.file_stem())));
        let bytes = c.report_bytes(&snap, &opts)?;
        std::fs::write(ctx.path(&p), bytes).with_context(|| format!("无法写入 {}", p.display()))?;
        out.written = Some(p);
        return Ok(out);
    }
    let text = c.report(&snap, &opts)?;
    match &a.out {
        Some(p) => {
            std::fs::write(ctx.path(p), &text).with_context(|| format!("无法写入 {}", p.display()))?;
            out.written = Some(p.clone());
        }
        None => out.text = Some(text),
    }
    Ok(out)
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

/// What `alerts` found: every alert in force on `as_of`, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertList {
    pub as_of: Date,
    pub alerts: Vec<Alert>,
}

impl AlertList {
    pub fn text(&self) -> String {
        if self.alerts.is_empty() {
            return format!("截至 {} 没有在办的预警\n", self.as_of);
        }
        let mut o = format!("截至 {} 共 {} 条预警（最紧急的在前）：\n", self.as_of, self.alerts.len());
        for x in &self.alerts {
            o.push_str(&alert_text(x));
            o.push('\n');
        }
        o
    }
}

/// `alerts`: every alert in force on a day, most urgent first.
pub fn alerts(ctx: &Context, a: &AlertsArgs) -> Result<AlertList> {
    let as_of = ctx.date(a.as_of.as_deref(), "--as-of")?;
    let c = ctx.county()?;
    let (snap, _) = c.snapshot()?;
    let mut list = c.alerts(&snap, as_of)?;
    // The warnings before trouble are about the machines now: on today's list only.
    if as_of == ctx.today {
        list.extend(crate::health::alerts(&ctx.dir, &c.store, as_of));
        baoxue_shared::alerts::sort_alerts(&mut list);
    }
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
    Ok(AlertList { as_of, alerts: list })
}

/// What `baseline import` kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineImported {
    pub rows: usize,
    pub schools: usize,
    /// The day its counts run up to.
    pub date: Date,
}

impl BaselineImported {
    pub fn text(&self) -> String {
        format!(
            "已导入基线：{} 行，{} 所学校，数据截至 {}（此后的入学、转学、死亡以系统记录为准）\n",
            self.rows, self.schools, self.date
        )
    }
}

/// `baseline import FILE`: the cohorts before the system, replacing any earlier baseline.
pub fn baseline_import(ctx: &Context, a: &BaselineArgs) -> Result<BaselineImported> {
    let date = ctx.date(a.date.as_deref(), "--date")?;
    let bytes = ctx.read(&a.file)?;
    let c = ctx.county()?;
    let b = c.import_baseline(&bytes, date).with_context(|| format!("基线文件 {}", a.file.display()))?;
    let schools: std::collections::BTreeSet<&str> = b.rows().iter().map(|r| r.school.as_str()).collect();
    Ok(BaselineImported { rows: b.len(), schools: schools.len(), date })
}

/// A census row that may be a child already on a roll, with its candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub row: usize,
    pub name: String,
    /// The row's ID number, or why there is none.
    pub id_number: String,
    pub sex: String,
    pub birth: String,
    pub candidates: Vec<Candidate>,
}

/// A student on a roll a census row may be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub name: String,
    /// Masked unless `--unmasked`.
    pub id_number: Option<String>,
    pub school: Option<String>,
    pub grade: Option<u8>,
    /// The status's Chinese label.
    pub status: Option<String>,
}

/// What `census import` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CensusImported {
    /// The list's source (Chinese label).
    pub source: String,
    /// The file as the operator typed it.
    pub file: PathBuf,
    /// docs/CLI.md `census import --json`.
    pub counts: CensusCounts,
    pub suggested: Vec<Suggestion>,
    /// 失学 cases opened, per township whose node receives them.
    pub opened_by_township: std::collections::BTreeMap<String, usize>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    /// How the file was read when it was not plain UTF-8 CSV (e.g. "Excel 工作簿").
    pub read_as: Option<String>,
}

impl CensusImported {
    pub fn text(&self) -> String {
        let c = &self.counts;
        let mut out = String::new();
        if let Some(src) = &self.read_as {
            let _ = writeln!(out, "已按 {} 读取 {}", src, self.file.display());
        }
        let _ = writeln!(
            out,
            "{}比对（{}）：匹配 {}，疑似匹配 {}，未匹配 {}，立失学案件 {}",
            self.source,
            self.file.display(),
            c.matched,
            self.suggested.len(),
            c.unmatched,
            self.opened_by_township.values().sum::<usize>()
        );
        for s in &self.suggested {
            let _ = writeln!(out, "  第 {} 行 {}（{}，{}，{}）疑似为：", s.row, s.name, s.id_number, s.sex, s.birth);
            for cand in &s.candidates {
                let _ = writeln!(
                    out,
                    "    {} {} {}{}（{}）",
                    cand.name,
                    cand.id_number.clone().unwrap_or_default(),
                    cand.school.clone().unwrap_or_default(),
                    cand.grade.map(|g| format!(" {g}年级")).unwrap_or_default(),
                    cand.status.as_deref().unwrap_or("")
                );
            }
        }
        if !self.opened_by_township.is_empty() {
            let parts: Vec<String> = self.opened_by_township.iter().map(|(t, n)| format!("{t} {n} 件")).collect();
            let _ = writeln!(out, "失学案件将在各乡镇节点下次同步时送达：{}", parts.join("、"));
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  {w}");
        }
        for e in &self.errors {
            let _ = writeln!(out, "  未处理：{e}");
        }
        out
    }
}

/// `census import FILE`: matches a list against every roll and opens the 失学 cases found.
pub fn census_import(ctx: &Context, a: &CensusArgs) -> Result<CensusImported> {
    let date = ctx.date(a.date.as_deref(), "--date")?;
    let source = match a.source {
        SourceArg::Police => CaseSource::Police,
        SourceArg::Civil => CaseSource::Civil,
        SourceArg::Poverty => CaseSource::Poverty,
        SourceArg::Disability => CaseSource::Disability,
        SourceArg::Ministry => CaseSource::Ministry,
    };
    let by = ctx.operator_or(a.by.as_deref(), || "县教育局".into());
    let bytes = ctx.read(&a.file)?;
    let c = ctx.county()?;
    let r = c.import_census(&bytes, source, date, &by).with_context(|| format!("比对名单 {}", a.file.display()))?;
    let o = &r.outcome;
    let mut suggested = Vec::new();
    for s in &o.suggested {
        let mut candidates = Vec::new();
        for cand in &s.candidates {
            let id_number = if a.unmasked {
                c.store.record(cand.record)?.and_then(|rec| rec.id_number().map(|i| i.as_str().to_string()))
            } else {
                cand.id_number.clone()
            };
            candidates.push(Candidate {
                name: cand.name.clone(),
                id_number,
                school: cand.school.clone(),
                grade: cand.grade,
                status: cand.status.map(|s| s.label().to_string()),
            });
        }
        suggested.push(Suggestion {
            row: s.row,
            name: s.name.clone(),
            id_number: s.id_number.clone().unwrap_or_else(|| "身份证号无效或缺失".into()),
            sex: s.sex.to_string(),
            birth: s.birth.to_string(),
            candidates,
        });
    }
    let mut opened_by_township = std::collections::BTreeMap::new();
    for (_, t) in &r.opened {
        *opened_by_township.entry(t.clone()).or_default() += 1;
    }
    Ok(CensusImported {
        source: source.label().to_string(),
        file: a.file.clone(),
        counts: o.counts(),
        suggested,
        opened_by_township,
        warnings: o.warnings.iter().chain(&o.skipped).map(|w| w.to_string()).collect(),
        errors: o.errors.iter().map(|e| e.to_string()).collect(),
        read_as: r.read_as.map(|s| s.label().to_string()),
    })
}
