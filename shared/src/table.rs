//! Reading the files operators hand us (roster, org, baseline, census): CSV (UTF-8 with or
//! without BOM, or GB18030/GBK as Excel and WPS save it), .xlsx or .xls, a header row (possibly
//! under a title row) whose columns may come in any order and under any name of the alias table
//! (`baoxue_sheet::columns`, docs/columns.md), values in the forms of the national 学籍 system's
//! exports (`baoxue_sheet::forms`). Errors name the row (as Excel numbers it), the column and the
//! value; an ID number Excel stored as a number is such an error, never a wrong number.

use std::collections::HashMap;
use std::fmt;

use baoxue_sheet::columns::{find_header, HeaderError};
use baoxue_sheet::forms::{form_of, is_resident_id_type, normalise, Form, FormError};
use baoxue_sheet::read::{read, ReadError};
pub use baoxue_sheet::{Aliases, Encoding, Source};
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
    #[error("文件既不是 UTF-8 也不是 GB18030/GBK 编码（第 {line} 行起出现无法识别的字节）：请在 Excel 或 WPS 中另存为「CSV UTF-8」或 Excel 工作簿（.xlsx）后重试")]
    Encoding { line: usize },
    #[error("文件为空，缺少表头行")]
    Empty,
    #[error("表头缺少必需的列「{0}」（应包含：{1}；列名对照见 docs/columns.md）")]
    MissingColumn(String, String),
    #[error("表头中列「{0}」重复")]
    DuplicateColumn(String),
    #[error("第 {row} 行无法解析：{reason}")]
    Malformed { row: usize, reason: String },
    /// A workbook that cannot be opened, or a UTF-16 text file.
    #[error("{0}")]
    Unreadable(String),
}

impl From<ReadError> for TableError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Encoding(baoxue_sheet::decode::DecodeError::Unknown { line }) => TableError::Encoding { line },
            ReadError::Csv { row, reason } => TableError::Malformed { row, reason },
            other => TableError::Unreadable(other.to_string()),
        }
    }
}

impl From<HeaderError> for TableError {
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::Empty => TableError::Empty,
            HeaderError::Missing(c, all) => TableError::MissingColumn(c, all),
            HeaderError::Duplicate(c, _) => TableError::DuplicateColumn(c),
        }
    }
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

/// A parsed file: header map (canonical column names) plus rows of values in our forms; rows
/// that cannot be read as they stand (ragged, or a cell Excel damaged) are reported, not guessed at.
#[derive(Debug)]
pub struct Table {
    pub columns: HashMap<String, usize>,
    rows: Vec<(usize, Vec<String>)>,
    /// Rows left out, with the reason: ragged rows, a cell Excel damaged (an ID stored as a
    /// number), and cells holding control characters, bidi controls or more than
    /// [`text::MAX_CELL`] characters (named by row and column).
    pub ragged: Vec<RowError>,
    /// Rows read with a remark (a 身份证件类型 other than 居民身份证: its number is not taken
    /// as a 身份证号).
    pub remarks: Vec<RowError>,
    /// What was read: CSV in which encoding, .xlsx or .xls.
    pub source: Source,
}

/// A footer or note under a table (as our own .xlsx reports and many official forms end):
/// text in the first cell only, beginning as such lines do. Not a data row.
fn is_footer(cells: &[baoxue_sheet::In]) -> bool {
    let first = cells.first().map(|c| c.text()).unwrap_or_default();
    let first = first.trim();
    ["填报单位", "填表单位", "制表人", "说明：", "注："].iter().any(|p| first.starts_with(p))
        && cells[1..].iter().all(|c| c.is_empty())
}

/// The column holding the kind of ID document in national exports.
const ID_TYPE: &str = "身份证件类型";

impl Table {
    /// Parses `bytes` (CSV, .xlsx or .xls), requiring every column in `required`, with the
    /// built-in column aliases.
    pub fn parse(bytes: &[u8], required: &[&str]) -> Result<Table, TableError> {
        Table::parse_with(bytes, required, &Aliases::builtin())
    }

    /// [`Table::parse`] with a county's alias table.
    pub fn parse_with(bytes: &[u8], required: &[&str], aliases: &Aliases) -> Result<Table, TableError> {
        let grid = read(bytes)?;
        let header = find_header(&grid, required, aliases)?;
        let width = grid.rows[header.index].cells.len();
        let is_csv = matches!(grid.source, Source::Csv(_));
        let forms: Vec<(usize, Form, String)> = header
            .columns
            .iter()
            .map(|(name, &i)| (i, form_of(name), header.written.get(name).cloned().unwrap_or_else(|| name.clone())))
            .collect();
        let written_at: HashMap<usize, String> = forms.iter().map(|(i, _, w)| (*i, w.clone())).collect();
        let id_col = header.columns.get("身份证号").copied();
        let id_type_col = header.columns.get(ID_TYPE).copied();
        let mut rows = Vec::new();
        let mut ragged = Vec::new();
        let mut remarks = Vec::new();
        for r in &grid.rows[header.index + 1..] {
            if r.cells.iter().all(|c| c.is_empty()) || is_footer(&r.cells) {
                continue;
            }
            if is_csv && r.cells.len() != width {
                ragged.push(RowError {
                    row: r.number,
                    column: String::new(),
                    value: String::new(),
                    reason: format!("列数不符：表头有 {width} 列，此行有 {} 列", r.cells.len()),
                });
                continue;
            }
            let mut bad = false;
            for (i, c) in r.cells.iter().enumerate() {
                let t = c.text();
                if let Err(e) = text::check(t.trim(), text::MAX_CELL) {
                    ragged.push(RowError {
                        row: r.number,
                        column: written_at.get(&i).cloned().unwrap_or_default(),
                        value: text::shown(t.trim()),
                        reason: e.to_string(),
                    });
                    bad = true;
                }
            }
            if bad {
                continue;
            }
            let mut cells = vec![String::new(); width.max(r.cells.len())];
            for (i, form, written) in &forms {
                let Some(c) = r.cells.get(*i) else { continue };
                match normalise(*form, c) {
                    Ok(v) => cells[*i] = v,
                    Err(e) => {
                        let value = match e {
                            FormError::Truncated => crate::ids::mask(c.text().trim()),
                            FormError::StoredAsNumber { ref shown } => shown.clone(),
                        };
                        ragged.push(RowError { row: r.number, column: written.clone(), value, reason: e.to_string() });
                        bad = true;
                    }
                }
            }
            if bad {
                continue;
            }
            if let (Some(t), Some(id)) = (id_type_col, id_col) {
                let kind = cells[t].trim().to_string();
                if !is_resident_id_type(&kind) && !cells[id].is_empty() {
                    remarks.push(RowError {
                        row: r.number,
                        column: ID_TYPE.into(),
                        value: kind,
                        reason: "不是居民身份证，证件号不作为身份证号导入（以学籍号识别）".into(),
                    });
                    cells[id].clear();
                }
            }
            rows.push((r.number, cells));
        }
        Ok(Table { columns: header.columns, rows, ragged, remarks, source: grid.source })
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
    fn missing_column_gbk_and_neither() {
        assert!(matches!(Table::parse(b"a\n1\n", &["a", "b"]), Err(TableError::MissingColumn(c, _)) if c == "b"));
        // "姓名" in GBK, as Excel saves it on a Chinese Windows: read, and said so.
        let gbk = [b'a', b'\n', 0xd0, 0xd5, 0xc3, 0xfb, b'\n'];
        let t = Table::parse(&gbk, &["a"]).unwrap();
        assert_eq!(t.source, Source::Csv(baoxue_sheet::Encoding::Gb18030));
        assert_eq!(t.rows().next().unwrap().get("a"), "姓名");
        assert_eq!(Table::parse(b"a\n\xff\xff\n", &["a"]).unwrap_err(), TableError::Encoding { line: 2 });
    }

    #[test]
    fn aliases_forms_and_a_damaged_id() {
        let csv = "学生名单\n全国学籍号,身份证件类型,身份证件号,性别,出生日期,入学年月\n\
                   G11010519491231002X,居民身份证,11010519491231002X,1,19491231,201909\n\
                   L1101051949123100201,护照,E12345678,2,19491231,201909\n\
                   G440524188001010014,居民身份证,4.40524E+17,男,18800101,201909\n";
        let t = Table::parse(csv.as_bytes(), &["学籍号", "身份证号"]).unwrap();
        let rows: Vec<_> = t.rows().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("性别"), "男");
        assert_eq!(rows[0].get("出生日期"), "1949-12-31");
        assert_eq!(rows[0].get("入学年份"), "2019");
        assert_eq!(rows[1].get("性别"), "女");
        assert_eq!(rows[1].get("身份证号"), "", "a passport number is not a 身份证号");
        assert_eq!(t.remarks.len(), 1);
        assert_eq!(t.ragged.len(), 1);
        let e = &t.ragged[0];
        assert_eq!((e.row, e.column.as_str(), e.value.as_str()), (5, "身份证件号", "4.40524E+17"));
        assert!(e.reason.contains("文本"), "{e}");
    }
}
