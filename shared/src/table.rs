//! Reading the CSV files operators hand us (roster, org, baseline, census): UTF-8 with or without
//! BOM, a header row, columns in any order. Errors name the row (as Excel numbers it: the header
//! is row 1), the column and the value.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

use crate::text;

/// Something wrong with one cell or row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "第 {} 行：{}", self.row, self.reason)
        } else {
            write!(f, "第 {} 行，列「{}」，值「{}」：{}", self.row, self.column, self.value, self.reason)
        }
    }
}

/// The file as a whole cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    #[error("文件不是 UTF-8 编码（第 {line} 行起出现无法识别的字节，疑似 GBK/GB18030）：请在 Excel 或 WPS 中另存为「CSV UTF-8」后重试")]
    Encoding { line: usize },
    #[error("文件为空，缺少表头行")]
    Empty,
    #[error("表头缺少必需的列「{0}」（应包含：{1}）")]
    MissingColumn(String, String),
    #[error("表头中列「{0}」重复")]
    DuplicateColumn(String),
    #[error("第 {row} 行无法解析：{reason}")]
    Malformed { row: usize, reason: String },
}

/// One data row with access by column name.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// The row number as Excel shows it (header = 1).
    pub number: usize,
    cells: Vec<String>,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    /// The trimmed cell of a column; empty if the column is absent.
    pub fn get(&self, column: &str) -> &str {
        self.columns.get(column).and_then(|&i| self.cells.get(i)).map(|s| s.trim()).unwrap_or("")
    }

    pub fn opt(&self, column: &str) -> Option<String> {
        let v = self.get(column);
        (!v.is_empty()).then(|| v.to_string())
    }

    pub fn error(&self, column: &str, reason: impl Into<String>) -> RowError {
        RowError {
            row: self.number,
            column: column.to_string(),
            value: self.get(column).to_string(),
            reason: reason.into(),
        }
    }
}

/// A parsed file: header map plus rows; ragged rows are reported, not guessed at.
#[derive(Debug)]
pub struct Table {
    pub columns: HashMap<String, usize>,
    rows: Vec<(usize, Vec<String>)>,
    /// Rows refused as a whole: ragged rows, and rows with a cell holding control characters,
    /// bidi controls or more than [`text::MAX_CELL`] characters (named by row and column).
    pub ragged: Vec<RowError>,
}

impl Table {
    /// Parses `bytes`, requiring every column in `required`.
    pub fn parse(bytes: &[u8], required: &[&str]) -> Result<Table, TableError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
                return Err(TableError::Encoding { line });
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut records = rdr.records();
        let header = match records.next() {
            None => return Err(TableError::Empty),
            Some(Err(e)) => return Err(TableError::Malformed { row: 1, reason: e.to_string() }),
            Some(Ok(h)) => h,
        };
        let mut columns = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            let h = h.trim().trim_start_matches('\u{feff}').to_string();
            if h.is_empty() {
                continue;
            }
            if columns.insert(h.clone(), i).is_some() {
                return Err(TableError::DuplicateColumn(h));
            }
        }
        for r in required {
            if !columns.contains_key(*r) {
                return Err(TableError::MissingColumn(r.to_string(), required.join(",")));
            }
        }
        let width = header.len();
        let mut rows = Vec::new();
        let mut ragged = Vec::new();
        for rec in records {
            let rec = rec.map_err(|e| {
                let row = e.position().map(|p| p.line() as usize).unwrap_or(0);
                TableError::Malformed { row, reason: e.to_string() }
            })?;
            let number = rec.position().map(|p| p.line() as usize).unwrap_or(rows.len() + 2);
            if rec.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if rec.len() != width {
                ragged.push(RowError {
                    row: number,
                    column: String::new(),
                    value: String::new(),
                    reason: format!("列数不符：表头有 {width} 列，此行有 {} 列", rec.len()),
                });
                continue;
            }
            let mut bad = false;
            for (i, cell) in rec.iter().enumerate() {
                if let Err(e) = text::check(cell.trim(), text::MAX_CELL) {
                    let column = header.get(i).map(|h| h.trim().trim_start_matches('\u{feff}')).unwrap_or("");
                    ragged.push(RowError {
                        row: number,
                        column: column.to_string(),
                        value: text::shown(cell.trim()),
                        reason: e.to_string(),
                    });
                    bad = true;
                }
            }
            if bad {
                continue;
            }
            rows.push((number, rec.iter().map(str::to_string).collect()));
        }
        Ok(Table { columns, rows, ragged })
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|(n, cells)| Row { number: *n, cells: cells.clone(), columns: &self.columns })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_any_order_and_ragged() {
        let t = Table::parse("\u{feff}b,a\n1,2\n3\n4,5\n".as_bytes(), &["a", "b"]).unwrap();
        let rows: Vec<_> = t.rows().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("a"), "2");
        assert_eq!(rows[1].number, 4);
        assert_eq!(t.ragged.len(), 1);
        assert_eq!(t.ragged[0].row, 3);
    }

    #[test]
    fn control_characters_and_bidi_name_row_and_column() {
        let t = Table::parse("a,b\n1,ok\n2,x\u{1b}[2Jy\n3,\u{202E}gnp.exe\n4,fine\n".as_bytes(), &["a", "b"]).unwrap();
        assert_eq!(t.len(), 2, "the two bad rows are refused");
        assert_eq!(t.ragged.len(), 2);
        assert_eq!((t.ragged[0].row, t.ragged[0].column.as_str()), (3, "b"));
        assert_eq!((t.ragged[1].row, t.ragged[1].column.as_str()), (4, "b"));
        let line = t.ragged[0].to_string();
        assert!(!line.contains('\u{1b}'), "the escape is not printed raw: {line}");
        assert!(line.contains("控制字符"), "{line}");
        assert!(t.ragged[1].to_string().contains("文字方向"));
    }

    #[test]
    fn an_oversized_cell_is_refused() {
        let big = "名".repeat(text::MAX_CELL + 1);
        let t = Table::parse(format!("a,b\n1,{big}\n").as_bytes(), &["a", "b"]).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.ragged[0].column, "b");
        assert!(t.ragged[0].to_string().contains("过长"));
    }

    #[test]
    fn missing_column_and_gbk() {
        assert!(matches!(Table::parse(b"a\n1\n", &["a", "b"]), Err(TableError::MissingColumn(c, _)) if c == "b"));
        // "姓名" in GBK.
        let gbk = [b'a', b'\n', 0xd0, 0xd5, 0xc3, 0xfb, b'\n'];
        assert_eq!(Table::parse(&gbk, &["a"]).unwrap_err(), TableError::Encoding { line: 2 });
    }
}
