//! A file as rows of typed cells. CSV, .xlsx and .xls are told apart by their first bytes (a
//! ZIP archive is .xlsx, an OLE compound file is .xls, anything else is CSV text), so a file
//! renamed by hand is still read for what it is. Of a workbook, the first sheet is read. Every
//! row keeps the number Excel or a text editor shows for it, for error messages.

use std::io::Cursor;

use calamine::{Data, Reader};
use thiserror::Error;

use crate::decode::{decode, DecodeError, Encoding};

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub enum In {
    Empty,
    Text(String),
    Int(i64),
    /// A number (Excel stores every number as a double).
    Float(f64),
    Bool(bool),
    /// A date cell of a workbook (time of day dropped).
    Date {
        y: i32,
        m: u32,
        d: u32,
    },
    /// An error value such as `#N/A`.
    Error(String),
}

impl In {
    pub fn is_empty(&self) -> bool {
        match self {
            In::Empty => true,
            In::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as plain text: numbers without a spurious `.0`, dates as `YYYY-MM-DD`.
    pub fn text(&self) -> String {
        match self {
            In::Empty => String::new(),
            In::Text(t) => t.clone(),
            In::Int(i) => i.to_string(),
            In::Float(f) => number_text(*f),
            In::Bool(b) => if *b { "是" } else { "否" }.to_string(),
            In::Date { y, m, d } => format!("{y:04}-{m:02}-{d:02}"),
            In::Error(e) => e.clone(),
        }
    }
}

/// A number as a person would type it: integral values without a decimal point.
pub fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// What kind of file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Csv(Encoding),
    Xlsx,
    Xls,
}

impl Source {
    /// Chinese, for "已按 … 读取".
    pub fn label(self) -> String {
        match self {
            Source::Csv(e) => format!("CSV（{}）", e.label()),
            Source::Xlsx => "Excel 工作簿（.xlsx）".into(),
            Source::Xls => "Excel 97-2003 工作簿（.xls）".into(),
        }
    }
}

/// One row with its number as shown by Excel (or the line of a CSV file).
#[derive(Debug, Clone, PartialEq)]
pub struct GridRow {
    pub number: usize,
    pub cells: Vec<In>,
}

/// A whole file: its rows (blank rows kept, so header detection can skip them) and what it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub source: Source,
    /// The sheet read, for a workbook.
    pub sheet: Option<String>,
    pub rows: Vec<GridRow>,
}

/// The file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    #[error("{0}")]
    Encoding(#[from] DecodeError),
    #[error("第 {row} 行无法解析：{reason}")]
    Csv { row: usize, reason: String },
    #[error("无法读取 Excel 文件（{0}）：文件可能已损坏或加密，请用 Excel 或 WPS 打开后另存为 .xlsx 再试")]
    Workbook(String),
    #[error("Excel 文件中没有工作表")]
    NoSheet,
}

const ZIP: &[u8] = b"PK\x03\x04";
const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Reads a file's bytes, whatever of the three formats it is in.
pub fn read(bytes: &[u8]) -> Result<Grid, ReadError> {
    if bytes.starts_with(ZIP) {
        let wb = calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(Cursor::new(bytes))
            .map_err(|e| ReadError::Workbook(e.to_string()))?;
        workbook(wb, Source::Xlsx)
    } else if bytes.starts_with(OLE) {
        let wb = calamine::open_workbook_from_rs::<calamine::Xls<_>, _>(Cursor::new(bytes))
            .map_err(|e| ReadError::Workbook(e.to_string()))?;
        workbook(wb, Source::Xls)
    } else {
        csv_grid(bytes)
    }
}

/// The formula cells of a workbook's first sheet (row, column, formula), for checking that a
/// file we wrote holds none. Empty for CSV.
pub fn formula_cells(bytes: &[u8]) -> Result<Vec<(u32, u32, String)>, ReadError> {
    fn of<R, W>(mut wb: W) -> Result<Vec<(u32, u32, String)>, ReadError>
    where
        R: std::io::Read + std::io::Seek,
        W: Reader<R>,
        W::Error: std::fmt::Display,
    {
        let name = wb.sheet_names().into_iter().next().ok_or(ReadError::NoSheet)?;
        let f = wb.worksheet_formula(&name).map_err(|e| ReadError::Workbook(e.to_string()))?;
        let (top, left) = f.start().unwrap_or((0, 0));
        Ok(f.used_cells()
            .filter(|(_, _, s)| !s.is_empty())
            .map(|(r, c, s)| (top + r as u32, left + c as u32, s.clone()))
            .collect())
    }
    if bytes.starts_with(ZIP) {
        of(calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(Cursor::new(bytes))
            .map_err(|e| ReadError::Workbook(e.to_string()))?)
    } else if bytes.starts_with(OLE) {
        of(calamine::open_workbook_from_rs::<calamine::Xls<_>, _>(Cursor::new(bytes))
            .map_err(|e| ReadError::Workbook(e.to_string()))?)
    } else {
        Ok(Vec::new())
    }
}

fn workbook<R, W>(mut wb: W, source: Source) -> Result<Grid, ReadError>
where
    R: std::io::Read + std::io::Seek,
    W: Reader<R>,
    W::Error: std::fmt::Display,
{
    let name = wb.sheet_names().into_iter().next().ok_or(ReadError::NoSheet)?;
    let range = wb.worksheet_range(&name).map_err(|e| ReadError::Workbook(e.to_string()))?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::with_capacity(range.height());
    for (i, r) in range.rows().enumerate() {
        // Cells left of the used range are empty; keep column positions as Excel shows them.
        let mut cells = vec![In::Empty; left as usize];
        cells.extend(r.iter().map(cell));
        rows.push(GridRow { number: top as usize + i + 1, cells });
    }
    Ok(Grid { source, sheet: Some(name), rows })
}

fn cell(d: &Data) -> In {
    match d {
        Data::Empty => In::Empty,
        Data::String(s) => In::Text(s.clone()),
        Data::Int(i) => In::Int(*i),
        Data::Float(f) => In::Float(*f),
        Data::Bool(b) => In::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            In::Date { y: y as i32, m: m as u32, d: d as u32 }
        }
        Data::DateTime(dt) => In::Float(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => In::Text(s.split('T').next().unwrap_or(s).to_string()),
        Data::Error(e) => In::Error(format!("#{e:?}")),
    }
}

fn csv_grid(bytes: &[u8]) -> Result<Grid, ReadError> {
    let (text, encoding) = decode(bytes)?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let row = e.position().map(|p| p.line() as usize).unwrap_or(0);
            ReadError::Csv { row, reason: e.to_string() }
        })?;
        let number = rec.position().map(|p| line_at(text.as_bytes(), p.byte() as usize)).unwrap_or(rows.len() + 1);
        rows.push(GridRow { number, cells: rec.iter().map(|c| In::Text(unescape(c).to_string())).collect() });
    }
    Ok(Grid { source: Source::Csv(encoding), sheet: None, rows })
}

/// The line a record starts on: its byte offset, past any blank lines the reader skipped (the
/// csv crate's own line count starts records at the blank line before them).
fn line_at(text: &[u8], mut offset: usize) -> usize {
    while offset < text.len() && matches!(text[offset], b'\r' | b'\n') {
        offset += 1;
    }
    text[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Undoes [`write`](crate::write)'s escaping of a text cell (`'=…` back to `=…`), so a file
/// written by this crate reads back as it was.
fn unescape(c: &str) -> &str {
    match c.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::write::FORMULA_STARTS) => rest,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_line_numbers() {
        let g = read("\u{feff}a,b\n\n1,\"x\ny\"\n2,3\n".as_bytes()).unwrap();
        assert_eq!(g.source, Source::Csv(Encoding::Utf8Bom));
        let numbers: Vec<usize> = g.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 3, 5]);
        assert_eq!(g.rows[1].cells[1], In::Text("x\ny".into()));
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(In::Float(2019.0).text(), "2019");
        assert_eq!(In::Float(0.5).text(), "0.5");
        assert_eq!(In::Date { y: 2016, m: 3, d: 9 }.text(), "2016-03-09");
    }

    #[test]
    fn escaped_text_reads_back() {
        let g = read("'=HYPERLINK(1),'-3,'x\n".as_bytes()).unwrap();
        let cells: Vec<String> = g.rows[0].cells.iter().map(In::text).collect();
        assert_eq!(cells, vec!["=HYPERLINK(1)", "-3", "'x"]);
    }
}
