//! Rendering the reports of [`indicators`](crate::indicators) and [`census`](crate::census):
//!
//! - `json`: the docs/CLI.md contract, pretty-printed;
//! - `csv`: UTF-8 **with BOM** (so Excel and WPS open the Chinese intact), CRLF line ends, rates
//!   as percentages (`97.31%`, empty when undefined). A CSV file is archived and sent upward on
//!   its own, so it says what it is: line 1 is the title (one cell), line 2 `统计日期,YYYY-MM-DD`
//!   (the as-of date), line 3 the Chinese header row, then one row per unit. A program reading
//!   it skips two lines (or reads them as the title and the date);
//! - `md`: a Chinese title, the as-of date, a table, and notes;
//! - `xlsx`: the layout the bureau sends upward (title row with the county, `统计日期`, frozen
//!   header, counts as numbers, rates as percentages, a 合计 row where the paper form has one,
//!   the 填报单位（盖章） footer; the township table as 001 附件1 prints it).
//!
//! CSV and .xlsx are both written by `baoxue_sheet::write`, which owns the escaping rule (no
//! cell is ever a formula). Reports carry no ID numbers; the census lists carry masked ones only.

use std::fmt;
use std::str::FromStr;

pub use baoxue_sheet::write::WriteError;
pub use baoxue_sheet::{Book, Cell, Column, Kind};
use serde::Serialize;

use crate::census::CensusOutcome;
use crate::dates::Date;
use crate::indicators::{
    ConsolidationReport, ConsolidationUnit, DropoutReport, DropoutUnit, Ranking, TownshipRow, TownshipTable,
};

/// Output format of `report … --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Csv,
    Md,
    /// Excel workbook (binary: see [`render_bytes`]).
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Md => "md",
            Format::Xlsx => "xlsx",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "md" | "markdown" => Ok(Format::Md),
            "xlsx" | "excel" => Ok(Format::Xlsx),
            t => Err(format!("输出格式「{t}」无效，可选：json、csv、md、xlsx")),
        }
    }
}

/// A report as a table: what CSV and Markdown are made of (and .xlsx, unless the report has a
/// paper layout of its own: [`Render::book`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub title: String,
    /// The date the figures are for (CSV line 2).
    pub as_of: Option<Date>,
    /// Lines under the title (the as-of date first).
    pub subtitle: Vec<String>,
    pub header: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Lines after the table (Markdown and .xlsx).
    pub notes: Vec<String>,
}

impl Sheet {
    /// The sheet as the writer takes it.
    pub fn book(&self) -> Book {
        Book {
            title: self.title.clone(),
            as_of: self.as_of.map(|d| d.to_string()),
            columns: self.header.clone(),
            rows: self.rows.clone(),
            notes: self.notes.clone(),
            ..Book::default()
        }
    }
}

/// A report that can be rendered.
pub trait Render {
    /// The JSON of the docs/CLI.md contract.
    fn json(&self) -> String;
    fn sheet(&self) -> Sheet;
    /// The .xlsx layout (by default the sheet's).
    fn book(&self) -> Book {
        self.sheet().book()
    }
}

/// Renders a report in a text format. `Xlsx` is binary: use [`render_bytes`] (given `Xlsx`, this
/// returns the CSV text, the nearest text form).
pub fn render<R: Render + ?Sized>(report: &R, format: Format) -> String {
    match format {
        Format::Json => report.json(),
        Format::Csv | Format::Xlsx => csv(&report.sheet()),
        Format::Md => md(&report.sheet()),
    }
}

/// Renders a report in any format as the bytes of a file; `unit` (the county's name) heads the
/// .xlsx title row.
pub fn render_bytes<R: Render + ?Sized>(report: &R, format: Format, unit: Option<&str>) -> Result<Vec<u8>, WriteError> {
    match format {
        Format::Xlsx => {
            let mut b = report.book();
            b.unit = unit.map(str::to_string);
            baoxue_sheet::write::xlsx(&b)
        }
        Format::Csv => Ok(baoxue_sheet::write::csv(&report.sheet().book())),
        f => Ok(render(report, f).into_bytes()),
    }
}

fn pretty<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("reports serialise");
    s.push('\n');
    s
}

/// A rate as a percentage with two decimals; empty when undefined.
pub fn percent(rate: Option<f64>) -> String {
    Cell::Rate(rate).display()
}

/// The label of CSV line 2.
pub const CSV_DATE_LABEL: &str = baoxue_sheet::write::DATE_LABEL;

/// The CSV text of a sheet: BOM, title, `统计日期` (empty if the sheet has none), header, rows;
/// text cells that a spreadsheet would run as a formula are escaped (`baoxue_sheet::write`).
pub fn csv(sheet: &Sheet) -> String {
    String::from_utf8(baoxue_sheet::write::csv(&sheet.book())).expect("UTF-8 in, UTF-8 out")
}

fn md_cell(s: &str) -> String {
    if s.is_empty() {
        "—".into()
    } else {
        s.replace('|', "\\|").replace('\n', " ")
    }
}

/// The Markdown text of a sheet.
pub fn md(sheet: &Sheet) -> String {
    let mut s = format!("# {}\n\n", sheet.title);
    for l in &sheet.subtitle {
        s.push_str(l);
        s.push_str("  \n");
    }
    if !sheet.subtitle.is_empty() {
        s.push('\n');
    }
    let line =
        |cells: Vec<String>| format!("| {} |\n", cells.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "));
    s.push_str(&line(sheet.header.iter().map(|c| c.name.clone()).collect()));
    s.push_str(&format!("|{}\n", "---|".repeat(sheet.header.len())));
    for r in &sheet.rows {
        s.push_str(&line(r.iter().map(Cell::display).collect()));
    }
    if !sheet.notes.is_empty() {
        s.push('\n');
        for n in &sheet.notes {
            s.push_str(&format!("- {}\n", n.replace('\n', " ")));
        }
    }
    s
}

/// A header: each name with its kind, `#` marking counts and `%` rates (`"辍学人数#"`).
fn columns<const N: usize>(a: [&str; N]) -> Vec<Column> {
    a.iter()
        .map(|s| match (s.strip_suffix('#'), s.strip_suffix('%')) {
            (Some(n), _) => Column::count(n),
            (_, Some(n)) => Column::rate(n),
            _ => Column::text(*s),
        })
        .collect()
}

fn n(v: impl TryInto<i64>) -> Cell {
    v.try_into().map(Cell::Int).unwrap_or(Cell::Empty)
}

// --- 辍学率 --------------------------------------------------------------------------------------

fn dropout_row(level: &str, u: &DropoutUnit) -> Vec<Cell> {
    vec![
        level.into(),
        u.name.clone().into(),
        n(u.enrolled_at_start),
        n(u.dropouts),
        Cell::Rate(u.rate),
        n(u.primary.enrolled_at_start),
        n(u.primary.dropouts),
        Cell::Rate(u.primary.rate),
        n(u.junior.enrolled_at_start),
        n(u.junior.dropouts),
        Cell::Rate(u.junior.rate),
    ]
}

impl Render for DropoutReport {
    fn json(&self) -> String {
        pretty(self)
    }
    fn sheet(&self) -> Sheet {
        let mut rows = vec![dropout_row("全县", &self.county)];
        rows.extend(self.townships.iter().map(|u| dropout_row("乡镇", u)));
        rows.extend(self.schools.iter().map(|u| dropout_row("学校", u)));
        Sheet {
            title: format!("{}学年辍学率统计", self.school_year),
            as_of: Some(self.as_of),
            subtitle: vec![
                format!("统计截至：{}", self.as_of),
                "辍学率 = 本学年内辍学且截至统计日仍未返校人数 ÷ 学年初在籍人数（在读 + 休学 + 送教上门）".into(),
            ],
            header: columns([
                "级别",
                "单位",
                "学年初在籍人数#",
                "辍学人数#",
                "辍学率%",
                "小学在籍人数#",
                "小学辍学人数#",
                "小学辍学率%",
                "初中在籍人数#",
                "初中辍学人数#",
                "初中辍学率%",
            ]),
            rows,
            notes: Vec::new(),
        }
    }
}

// --- 巩固率 --------------------------------------------------------------------------------------

/// The Chinese remark for a consolidation flag.
pub fn flag_label(flag: &str) -> &'static str {
    match flag {
        "rate_above_100" => "巩固率超过100%，数据有误，请核查入学人数与转入转出",
        "denominator_negative" => "分母为负，数据有误，请核查",
        "no_denominator" => "有毕业生但无入学基数，请导入基线数据",
        _ => "数据异常",
    }
}

/// The remark on a unit whose intake is the system's first roster (no baseline).
pub const FIRST_ROSTER_LABEL: &str = "入学人数取自系统首次花名册（无基线）";

/// The 备注 of a consolidation unit: where its intake comes from, and any data problem.
fn consolidation_remark(u: &ConsolidationUnit) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if u.intake_from_first_roster > 0 {
        parts.push(FIRST_ROSTER_LABEL);
    }
    if let Some(f) = u.flag.as_deref() {
        parts.push(flag_label(f));
    }
    parts.join("；")
}

fn consolidation_row(level: &str, u: &ConsolidationUnit) -> Vec<Cell> {
    vec![
        level.into(),
        u.name.clone().into(),
        n(u.graduates),
        n(u.intake),
        n(u.transfers_in),
        n(u.transfers_out),
        n(u.deaths),
        Cell::Rate(u.rate),
        consolidation_remark(u).into(),
    ]
}

impl Render for ConsolidationReport {
    fn json(&self) -> String {
        pretty(self)
    }
    fn sheet(&self) -> Sheet {
        let (f, l) = self.stage.grades();
        let mut rows = vec![consolidation_row("全县", &self.county)];
        rows.extend(self.townships.iter().map(|u| consolidation_row("乡镇", u)));
        rows.extend(self.schools.iter().map(|u| consolidation_row("学校", u)));
        let units = || std::iter::once(&self.county).chain(&self.townships).chain(&self.schools);
        let mut notes: Vec<String> =
            units().filter_map(|u| u.flag.as_deref().map(|f| format!("{}：{}", u.name, flag_label(f)))).collect();
        if self.county.intake_from_first_roster > 0 {
            notes.push(format!(
                "本队列无基线数据：入学人数中有 {} 人为系统首次导入花名册时的在籍人数（此前的转入、转出、死亡未计），                 导入基线（baseline import）后按基线计算",
                self.county.intake_from_first_roster
            ));
        }
        Sheet {
            title: format!("{}学年{}", self.school_year, self.stage.label()),
            as_of: Some(self.as_of),
            subtitle: vec![
                format!("统计截至：{}", self.as_of),
                format!("入学学年：{}（{f}年级入学），{l}年级毕业于 {} 学年", self.entry_year(), self.school_year),
                "巩固率 = 毕业生数 ÷（入学人数 + 转入 − 转出 − 死亡）".into(),
            ],
            header: columns(["级别", "单位", "毕业生数#", "入学人数#", "转入#", "转出#", "死亡#", "巩固率%", "备注"]),
            rows,
            notes,
        }
    }
}

// --- 伊川 township table and ranking ---------------------------------------------------------------

fn township_row(r: &TownshipRow) -> Vec<Cell> {
    vec![
        r.township.clone().into(),
        n(r.roll_unreturned),
        n(r.suspected_list_unreturned),
        n(r.census_unreturned),
        n(r.total),
    ]
}

/// The township table's title.
pub const TOWNSHIP_TABLE_TITLE: &str = "各乡镇辍学学生未返校情况统计表";

impl Render for TownshipTable {
    fn json(&self) -> String {
        pretty(self)
    }
    fn sheet(&self) -> Sheet {
        let mut rows: Vec<Vec<Cell>> = self.rows.iter().map(township_row).collect();
        let mut total = township_row(&self.total);
        total[0] = "全县合计".into();
        rows.push(total);
        Sheet {
            title: TOWNSHIP_TABLE_TITLE.into(),
            as_of: Some(self.as_of),
            subtitle: vec![format!("统计截至：{}", self.as_of)],
            header: columns([
                "乡镇",
                "在籍辍学未返校人数#",
                "疑似失学儿童名单未返校人数#",
                "其他部门比对未返校人数#",
                "合计#",
            ]),
            rows,
            notes: Vec::new(),
        }
    }
    /// 001 附件1 as printed: 序号, 单位, one column per source of unreturned children, 合计, and
    /// a 合计 row.
    fn book(&self) -> Book {
        let rows = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut cells = vec![n(i + 1)];
                cells.extend(township_row(r));
                cells
            })
            .collect();
        let mut total = vec![Cell::from("合计")];
        total.extend(township_row(&self.total));
        total[1] = Cell::Empty;
        Book {
            title: TOWNSHIP_TABLE_TITLE.into(),
            as_of: Some(self.as_of.to_string()),
            columns: columns([
                "序号",
                "单位",
                "在籍辍学未返校人数#",
                "疑似失学儿童名单未返校人数#",
                "其他部门比对未返校人数#",
                "合计#",
            ]),
            rows,
            total: Some(total),
            notes: vec![
                "说明：在籍辍学未返校人数为学籍在册学生辍学且截至统计日期仍未劝返复学的人数；疑似失学儿童名单未返校人数为教育部下发名单中排查仍未入学的人数；其他部门比对未返校人数为公安、民政、扶贫、残联名单比对中仍未入学的人数。".into(),
            ],
            sheet_name: Some("乡镇统计表".into()),
            ..Book::default()
        }
    }
}

impl Render for Ranking {
    fn json(&self) -> String {
        pretty(self)
    }
    fn sheet(&self) -> Sheet {
        let (y, m) = self.month.split_once('-').unwrap_or((&self.month, ""));
        Sheet {
            title: format!("{y}年{}月控辍保学工作排名", m.trim_start_matches('0')),
            as_of: Some(self.as_of),
            subtitle: vec![
                format!("统计截至：{}", self.as_of),
                "排名依据：未返校人数由少到多，相同时按辍学率由低到高；第 1 名为最好".into(),
            ],
            header: columns(["排名#", "乡镇", "未返校人数#", "辍学率%"]),
            rows: self
                .rows
                .iter()
                .map(|r| vec![n(r.rank), r.township.clone().into(), n(r.unreturned), Cell::Rate(r.dropout_rate)])
                .collect(),
            notes: Vec::new(),
        }
    }
}

// --- census --------------------------------------------------------------------------------------

/// A census import as a report: the counts as JSON (docs/CLI.md), the suggested matches as the table.
impl Render for CensusOutcome {
    fn json(&self) -> String {
        pretty(&self.counts())
    }
    fn sheet(&self) -> Sheet {
        let c = self.counts();
        let mut rows = Vec::new();
        for s in &self.suggested {
            for cand in &s.candidates {
                rows.push(vec![
                    n(s.row),
                    s.name.clone().into(),
                    s.id_number.clone().unwrap_or_default().into(),
                    s.sex.to_string().into(),
                    s.birth.to_string().into(),
                    s.hukou_township.clone().into(),
                    cand.record.short().into(),
                    cand.id_number.clone().unwrap_or_default().into(),
                    cand.school.clone().unwrap_or_default().into(),
                    cand.grade.map(n).unwrap_or(Cell::Empty),
                    cand.status.map(|s| s.to_string()).unwrap_or_default().into(),
                ]);
            }
        }
        let notes = self
            .errors
            .iter()
            .map(|e| format!("未导入：{e}"))
            .chain(self.warnings.iter().map(|e| format!("提示：{e}")))
            .chain(self.skipped.iter().map(|e| format!("未立案：{e}")))
            .collect();
        Sheet {
            title: "比对结果：疑似匹配待核实名单".into(),
            as_of: self.as_of,
            subtitle: vec![format!(
                "已匹配 {} 人，疑似匹配 {} 人，未匹配 {} 人，新立失学案件 {} 件",
                c.matched, c.suggested, c.unmatched, c.cases_opened
            )],
            header: columns([
                "行号#",
                "姓名",
                "身份证号",
                "性别",
                "出生日期",
                "户籍乡镇",
                "疑似对应学籍",
                "学籍身份证号",
                "学校",
                "年级",
                "学籍状态",
            ]),
            rows,
            notes,
        }
    }
}
