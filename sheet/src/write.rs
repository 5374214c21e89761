//! The one writer of reports, for CSV and .xlsx, and the escaping rule both obey.
//!
//! **Escaping.** A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some
//! versions, tab or CR) as a formula, so a school named `=HYPERLINK(…)` in a report would become
//! a link on the bureau's PC. Text cells are therefore never written as formulas: in .xlsx every
//! text cell is a string cell (never a formula record); in CSV a text cell that begins with one of
//! those characters is prefixed with `'` (the OWASP rule), which [`read`](crate::read) strips
//! again. Numbers ([`Cell::Int`], [`Cell::Number`], [`Cell::Rate`]) stay numbers: `-3` as a
//! count is the number −3.
//!
//! **Layout** (the bureau's files that go upward): a title row (the county and the report), a
//! `统计日期` row, the header, the data, a 合计 row where the form has one, notes, and the footer
//! `填报单位（盖章）：…　填报人：…　审核人：…　联系电话：…`. In .xlsx the header is frozen and
//! repeated on every printed page, the page is A4 landscape fitted to one page wide, counts are
//! numbers, rates percentages with two decimals, ID columns text; column widths fit the Chinese
//! headers. CSV keeps the reports' existing form: UTF-8 with BOM, CRLF, title line, `统计日期`
//! line, header, rows (the 合计 row included), nothing after.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook};
use thiserror::Error;

/// The characters that make a spreadsheet read a cell as a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The label of the date row.
pub const DATE_LABEL: &str = "统计日期";

/// The footer row of a file sent upward.
pub const FOOTER: &str = "填报单位（盖章）：　　　　　　　　填报人：　　　　　　审核人：　　　　　　联系电话：";

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// 身份证号, 学籍号: text in every form, even when all digits.
    Id,
    /// Counts (人, 件, 所): whole numbers.
    Count,
    /// Fractions shown as percentages with two decimals.
    Rate,
    /// Any other number.
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: Kind) -> Column {
        Column { name: name.into(), kind }
    }
    pub fn text(name: impl Into<String>) -> Column {
        Column::new(name, Kind::Text)
    }
    pub fn count(name: impl Into<String>) -> Column {
        Column::new(name, Kind::Count)
    }
    pub fn rate(name: impl Into<String>) -> Column {
        Column::new(name, Kind::Rate)
    }
}

/// One cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    /// A fraction (0.9731), shown as 97.31%; `None` when undefined (an empty cell).
    Rate(Option<f64>),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<usize> for Cell {
    fn from(n: usize) -> Cell {
        Cell::Int(n as i64)
    }
}
impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Int(i64::from(n))
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl Cell {
    /// The cell as text (CSV, Markdown, HTML): rates as `97.31%`, empty when undefined. Not
    /// escaped: see [`csv`].
    pub fn display(&self) -> String {
        match self {
            Cell::Empty | Cell::Rate(None) => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Number(f) => crate::read::number_text(*f),
            Cell::Rate(Some(r)) => format!("{:.2}%", r * 100.0),
        }
    }
}

/// A report as written: everything both forms carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Book {
    /// The report's name (`各乡镇辍学学生未返校情况统计表`).
    pub title: String,
    /// The issuing unit put before the title in .xlsx (the county's name), if known.
    pub unit: Option<String>,
    /// The date the figures are for (`YYYY-MM-DD`).
    pub as_of: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// The 合计 row, when the paper form has one.
    pub total: Option<Vec<Cell>>,
    /// Lines under the table (.xlsx only).
    pub notes: Vec<String>,
    /// The sheet's tab name (default: the title, cut to Excel's 31 characters).
    pub sheet_name: Option<String>,
}

/// The .xlsx could not be produced.
#[derive(Debug, Error)]
pub enum WriteError {
    #[error("无法生成 Excel 文件：{0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// A text cell made safe for a spreadsheet that would run it as a formula.
pub fn escape_text(t: &str) -> std::borrow::Cow<'_, str> {
    if t.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{t}"))
    } else {
        std::borrow::Cow::Borrowed(t)
    }
}

fn csv_cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => escape_text(t).into_owned(),
        other => other.display(),
    }
}

/// The CSV form: BOM, CRLF, title, `统计日期,YYYY-MM-DD`, header, rows, the 合计 row.
pub fn csv(book: &Book) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).flexible(true).from_writer(Vec::new());
    let mut put = |cells: Vec<String>| w.write_record(&cells).expect("writing to memory");
    put(vec![escape_text(&book.title).into_owned()]);
    put(vec![DATE_LABEL.to_string(), book.as_of.clone().unwrap_or_default()]);
    put(book.columns.iter().map(|c| escape_text(&c.name).into_owned()).collect());
    for r in book.rows.iter().chain(&book.total) {
        put(r.iter().map(csv_cell).collect());
    }
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend(w.into_inner().expect("writing to memory"));
    out
}

/// Display width in Excel's character units: a CJK character counts two.
fn width_of(s: &str) -> f64 {
    s.chars().map(|c| if (c as u32) < 0x2E80 { 1.0 } else { 2.0 }).sum()
}

/// Excel's limit on a cell's text.
const MAX_CELL: usize = 32_767;

fn cut(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The .xlsx form (see the module doc for its layout).
pub fn xlsx(book: &Book) -> Result<Vec<u8>, WriteError> {
    const FONT: &str = "宋体";
    let ncols = book.columns.len().max(1) as u16;
    let last = ncols - 1;
    let base = Format::new().set_font_name(FONT).set_font_size(11);
    let title_f =
        base.clone().set_bold().set_font_size(16).set_align(FormatAlign::Center).set_align(FormatAlign::VerticalCenter);
    let plain = base.clone();
    let cell_f = base.clone().set_border(FormatBorder::Thin).set_align(FormatAlign::VerticalCenter);
    let header_f = cell_f
        .clone()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color(Color::RGB(0xD9E1F2));
    let text_f = cell_f.clone().set_num_format("@");
    let count_f = cell_f.clone().set_num_format("0").set_align(FormatAlign::Right);
    let number_f = cell_f.clone().set_num_format("General").set_align(FormatAlign::Right);
    let rate_f = cell_f.clone().set_num_format("0.00%").set_align(FormatAlign::Right);
    let bold = |f: &Format| f.clone().set_bold();

    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let name: String = book
        .sheet_name
        .clone()
        .unwrap_or_else(|| book.title.clone())
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if !name.trim().is_empty() {
        ws.set_name(name.trim())?;
    }

    // Title, date.
    let title = match &book.unit {
        Some(u) if !u.is_empty() => format!("{u}{}", book.title),
        _ => book.title.clone(),
    };
    if last > 0 {
        ws.merge_range(0, 0, 0, last, cut(&title), &title_f)?;
    } else {
        ws.write_string_with_format(0, 0, cut(&title), &title_f)?;
    }
    ws.set_row_height(0, 30)?;
    ws.write_string_with_format(1, 0, DATE_LABEL, &plain)?;
    ws.write_string_with_format(1, 1, book.as_of.as_deref().unwrap_or(""), &plain)?;

    // Header.
    const HEADER: u32 = 2;
    let mut widths: Vec<f64> = book.columns.iter().map(|c| width_of(&c.name).min(24.0)).collect();
    for (i, c) in book.columns.iter().enumerate() {
        ws.write_string_with_format(HEADER, i as u16, cut(&c.name), &header_f)?;
    }
    let header_lines = book.columns.iter().map(|c| (width_of(&c.name) / 24.0).ceil()).fold(1.0, f64::max);
    ws.set_row_height(HEADER, 15.0 * header_lines + 6.0)?;

    // Data and 合计.
    let mut row = HEADER + 1;
    let rows = book.rows.iter().map(|r| (r, false)).chain(book.total.iter().map(|r| (r, true)));
    for (cells, is_total) in rows {
        for (i, c) in cells.iter().enumerate() {
            let col = i as u16;
            let kind = book.columns.get(i).map(|c| c.kind).unwrap_or(Kind::Text);
            let f = match (c, kind) {
                (Cell::Rate(_), _) | (_, Kind::Rate) => &rate_f,
                (Cell::Int(_), _) => &count_f,
                (Cell::Number(_), _) => &number_f,
                _ => &text_f,
            };
            let f = if is_total { &bold(f) } else { f };
            match c {
                Cell::Empty | Cell::Rate(None) => {
                    ws.write_blank(row, col, f)?;
                }
                // A string cell: never a formula, whatever it begins with.
                Cell::Text(t) => {
                    ws.write_string_with_format(row, col, cut(t), f)?;
                }
                Cell::Int(n) => {
                    ws.write_number_with_format(row, col, *n as f64, f)?;
                }
                Cell::Number(x) | Cell::Rate(Some(x)) => {
                    ws.write_number_with_format(row, col, *x, f)?;
                }
            }
            if let Some(w) = widths.get_mut(i) {
                *w = w.max(width_of(&c.display()).min(40.0));
            }
        }
        // Cells the row lacks still get their border.
        for col in cells.len() as u16..ncols {
            ws.write_blank(row, col, &cell_f)?;
        }
        row += 1;
    }

    // Notes and footer.
    row += 1;
    for n in &book.notes {
        ws.write_string_with_format(row, 0, cut(n), &plain)?;
        row += 1;
    }
    if last > 0 {
        ws.merge_range(row, 0, row, last, FOOTER, &plain)?;
    } else {
        ws.write_string_with_format(row, 0, FOOTER, &plain)?;
    }

    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (w + 2.0).max(6.0))?;
    }
    ws.set_freeze_panes(HEADER + 1, 0)?;
    ws.set_repeat_rows(HEADER, HEADER)?;
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_margins(0.6, 0.6, 0.8, 0.8, 0.3, 0.3);
    ws.set_footer("&C第 &P 页，共 &N 页");
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};

    fn book() -> Book {
        Book {
            title: "各乡镇辍学学生未返校情况统计表".into(),
            unit: Some("示例县".into()),
            as_of: Some("2026-11-30".into()),
            columns: vec![
                Column::text("单位"),
                Column::count("合计"),
                Column::rate("辍学率"),
                Column::new("身份证号", Kind::Id),
            ],
            rows: vec![
                vec![
                    "=HYPERLINK(\"http://x\")".into(),
                    Cell::Int(-3),
                    Cell::Rate(Some(0.9731)),
                    "410329201603090014".into(),
                ],
                vec!["+cmd|' /C calc'!A0".into(), Cell::Int(2), Cell::Rate(None), "@SUM(A1)".into()],
            ],
            total: Some(vec!["合计".into(), Cell::Int(-1), Cell::Empty, Cell::Empty]),
            notes: vec!["说明".into()],
            sheet_name: None,
        }
    }

    #[test]
    fn csv_keeps_the_report_form_and_escapes_formulas() {
        let text = String::from_utf8(csv(&book())).unwrap();
        let want = "\u{feff}各乡镇辍学学生未返校情况统计表\r\n统计日期,2026-11-30\r\n单位,合计,辍学率,身份证号\r\n\
                    \"'=HYPERLINK(\"\"http://x\"\")\",-3,97.31%,410329201603090014\r\n\
                    '+cmd|' /C calc'!A0,2,,'@SUM(A1)\r\n合计,-1,,\r\n";
        assert_eq!(text, want);
        // Read back, the escaped cells are what was written.
        let g = crate::read::read(text.as_bytes()).unwrap();
        assert_eq!(g.rows[3].cells[0].text(), "=HYPERLINK(\"http://x\")");
        assert_eq!(g.rows[4].cells[3].text(), "@SUM(A1)");
    }

    #[test]
    fn xlsx_has_the_layout_numbers_as_numbers_and_no_formula() {
        let bytes = xlsx(&book()).unwrap();
        let mut wb = calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes)).unwrap();
        let name = wb.sheet_names()[0].clone();
        let r = wb.worksheet_range(&name).unwrap();
        assert_eq!(r.get_value((0, 0)), Some(&Data::String("示例县各乡镇辍学学生未返校情况统计表".into())));
        assert_eq!(r.get_value((1, 0)), Some(&Data::String("统计日期".into())));
        assert_eq!(r.get_value((1, 1)), Some(&Data::String("2026-11-30".into())));
        assert_eq!(r.get_value((2, 1)), Some(&Data::String("合计".into())));
        assert_eq!(r.get_value((3, 0)), Some(&Data::String("=HYPERLINK(\"http://x\")".into())));
        assert_eq!(r.get_value((3, 1)), Some(&Data::Float(-3.0)));
        assert_eq!(r.get_value((3, 2)), Some(&Data::Float(0.9731)));
        assert_eq!(r.get_value((3, 3)), Some(&Data::String("410329201603090014".into())));
        assert_eq!(r.get_value((5, 0)), Some(&Data::String("合计".into())));
        let last = r.end().unwrap().0;
        assert!(matches!(r.get_value((last, 0)), Some(Data::String(s)) if s.starts_with("填报单位（盖章）")));
        let formulas = wb.worksheet_formula(&name).unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no cell is a formula");
    }
}
