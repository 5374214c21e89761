//! Column names. Other systems name the same column differently (the national 学籍 system's
//! export says 全国学籍号 and 身份证件号, a police list 公民身份号码, a school's own sheet 学校名称),
//! so a header cell is matched through an alias table to the name our files use (the canonical
//! name). The built-in table is documented in `docs/columns.md`; a county adds its own aliases
//! in its configuration. Names are compared after dropping spaces, a leading `*` (the required
//! marker of import templates) and the difference between full- and half-width brackets.
//!
//! The header row need not be the first: an export often starts with a title row or two, so the
//! header is the first of the first [`HEADER_SEARCH_ROWS`] rows that names every required column.

use std::collections::HashMap;

use thiserror::Error;

use crate::read::{Grid, GridRow};

/// How many rows from the top are searched for the header.
pub const HEADER_SEARCH_ROWS: usize = 10;

/// The built-in aliases: canonical name, then the other names it goes by.
pub const BUILTIN: &[(&str, &[&str])] = &[
    ("学籍号", &["全国学籍号", "个人标识码", "学生学籍号", "学籍编号", "全国学籍号码"]),
    ("身份证号", &["身份证件号", "身份证件号码", "身份证号码", "公民身份号码", "公民身份证号", "证件号码", "证件号"]),
    ("身份证件类型", &["证件类型", "身份证件类别"]),
    ("姓名", &["学生姓名", "儿童姓名", "儿童少年姓名"]),
    ("性别", &["性别码"]),
    ("出生日期", &["出生年月日", "出生年月", "生日"]),
    ("学校", &["学校名称", "就读学校", "所在学校", "学校（单位）名称"]),
    ("年级", &["年级名称", "所在年级", "当前年级"]),
    ("班级", &["班级名称", "班号", "所在班级"]),
    ("户籍乡镇", &["户口所在地", "户籍所在乡镇", "户籍所在地", "户口所在乡镇"]),
    ("户籍村", &["户籍所在村", "户口所在村", "户籍村（社区）", "户籍所在村（社区）"]),
    ("入学年份", &["入学年月", "入学时间", "入学年度"]),
    ("特殊群体", &["特殊群体类型", "困难类型", "帮扶类别"]),
    ("监护人", &["监护人姓名", "家长姓名", "监护人1姓名"]),
    ("监护人电话", &["监护人联系电话", "监护人手机号", "家长电话", "家长联系电话", "联系电话", "监护人1联系电话"]),
    ("乡镇", &["乡镇名称", "所属乡镇", "乡镇（街道）", "乡镇街道"]),
    ("类型", &["学校类型", "办学类型", "学段"]),
    ("校长", &["校长姓名"]),
    ("包校领导", &["包校局领导", "县教育局包校领导"]),
    ("乡镇分管领导", &["分管领导", "乡镇分管负责人"]),
    ("乡镇主要领导", &["主要领导", "乡镇主要负责人"]),
    ("入学学年", &["入学学年度", "招生学年"]),
    ("入学年级", &["招生年级"]),
    ("入学人数", &["招生人数", "招生数", "入学学生数"]),
    ("转入", &["转入人数", "转入学生数"]),
    ("转出", &["转出人数", "转出学生数"]),
    ("死亡", &["死亡人数", "死亡学生数"]),
];

/// An alias the county's configuration cannot add.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AliasError {
    #[error("列名别名「{alias}」已用于「{existing}」，不能再用于「{canonical}」")]
    Taken { alias: String, existing: String, canonical: String },
    #[error("列名别名不能为空（「{0}」）")]
    Empty(String),
}

/// The alias table: normalised header text → canonical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aliases {
    map: HashMap<String, String>,
}

impl Default for Aliases {
    fn default() -> Self {
        Aliases::builtin()
    }
}

/// A header cell as compared: no spaces, no leading `*`, half-width brackets.
pub fn normalise(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .trim_start_matches(['*', '＊'])
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect()
}

impl Aliases {
    /// The built-in table ([`BUILTIN`]); every canonical name maps to itself.
    pub fn builtin() -> Aliases {
        let mut map = HashMap::new();
        for (canonical, others) in BUILTIN {
            map.insert(normalise(canonical), canonical.to_string());
            for o in *others {
                map.insert(normalise(o), canonical.to_string());
            }
        }
        Aliases { map }
    }

    /// Adds a county's alias. A name already meaning another column is refused (a header must
    /// never be ambiguous); adding an alias a second time is harmless.
    pub fn add(&mut self, canonical: &str, alias: &str) -> Result<(), AliasError> {
        let key = normalise(alias);
        if key.is_empty() || normalise(canonical).is_empty() {
            return Err(AliasError::Empty(alias.to_string()));
        }
        match self.map.get(&key) {
            Some(existing) if existing != canonical => Err(AliasError::Taken {
                alias: alias.to_string(),
                existing: existing.clone(),
                canonical: canonical.to_string(),
            }),
            _ => {
                self.map.insert(key, canonical.to_string());
                self.map.entry(normalise(canonical)).or_insert_with(|| canonical.to_string());
                Ok(())
            }
        }
    }

    /// The built-in table plus a county's aliases (canonical name → its extra names).
    pub fn with(extra: &std::collections::BTreeMap<String, Vec<String>>) -> Result<Aliases, AliasError> {
        let mut a = Aliases::builtin();
        for (canonical, names) in extra {
            for n in names {
                a.add(canonical, n)?;
            }
        }
        Ok(a)
    }

    /// The canonical name of a header cell (the cell itself, trimmed, when it is no alias).
    pub fn canonical(&self, header: &str) -> String {
        let n = normalise(header);
        self.map.get(&n).cloned().unwrap_or(n)
    }
}

/// The header as found: its row's index in the grid and canonical name → column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Index into `Grid::rows`.
    pub index: usize,
    /// Excel's row number of the header.
    pub number: usize,
    pub columns: HashMap<String, usize>,
    /// The header text as written in the file, by canonical name (for messages).
    pub written: HashMap<String, String>,
}

/// The header row cannot be found or is ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    #[error("文件为空，缺少表头行")]
    Empty,
    #[error("表头缺少必需的列「{0}」（应包含：{1}；列名对照见 docs/columns.md）")]
    Missing(String, String),
    #[error("表头中列「{0}」重复（第 {1} 行）")]
    Duplicate(String, usize),
}

/// A header row's columns (canonical name → index) and the names as written.
type HeaderMaps = (HashMap<String, usize>, HashMap<String, String>);

fn header_of(row: &GridRow, aliases: &Aliases) -> Result<HeaderMaps, String> {
    let mut columns = HashMap::new();
    let mut written = HashMap::new();
    for (i, c) in row.cells.iter().enumerate() {
        let text = c.text();
        if normalise(&text).is_empty() {
            continue;
        }
        let canonical = aliases.canonical(&text);
        if columns.insert(canonical.clone(), i).is_some() {
            return Err(canonical);
        }
        written.insert(canonical, text.trim().to_string());
    }
    Ok((columns, written))
}

/// Finds the header: the first of the top rows naming every required column; failing that, the
/// row naming most of them (the first non-empty row if none names any), and the first required
/// column it lacks is reported.
pub fn find_header(grid: &Grid, required: &[&str], aliases: &Aliases) -> Result<Header, HeaderError> {
    let mut best: Option<(usize, usize, &GridRow)> = None;
    for (index, row) in grid.rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        if row.cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        let Ok((columns, written)) = header_of(row, aliases) else {
            best.get_or_insert((0, index, row));
            continue;
        };
        let found = required.iter().filter(|r| columns.contains_key(**r)).count();
        if found == required.len() {
            return Ok(Header { index, number: row.number, columns, written });
        }
        if best.is_none_or(|(n, ..)| found > n) {
            best = Some((found, index, row));
        }
    }
    let (_, index, row) = best.ok_or(HeaderError::Empty)?;
    let (columns, written) = header_of(row, aliases).map_err(|c| HeaderError::Duplicate(c, row.number))?;
    if let Some(missing) = required.iter().find(|r| !columns.contains_key(**r)) {
        return Err(HeaderError::Missing(missing.to_string(), required.join(",")));
    }
    Ok(Header { index, number: row.number, columns, written })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read;

    #[test]
    fn national_export_headers_map_to_ours() {
        let a = Aliases::builtin();
        assert_eq!(a.canonical("全国学籍号"), "学籍号");
        assert_eq!(a.canonical(" *身份证件号 "), "身份证号");
        assert_eq!(a.canonical("户籍所在村（社区）"), "户籍村");
        assert_eq!(a.canonical("学校名称"), "学校");
        assert_eq!(a.canonical("备注"), "备注");
    }

    #[test]
    fn county_aliases_extend_but_never_make_a_header_ambiguous() {
        let mut a = Aliases::builtin();
        a.add("学籍号", "考籍号").unwrap();
        assert_eq!(a.canonical("考籍号"), "学籍号");
        assert!(matches!(a.add("姓名", "学校名称"), Err(AliasError::Taken { .. })));
        assert_eq!(a.canonical("学校名称"), "学校");
    }

    #[test]
    fn header_below_a_title_row() {
        let g = read("学生名单\n\n姓名,学校名称\n张三,鸦岭小学\n".as_bytes()).unwrap();
        let h = find_header(&g, &["姓名", "学校"], &Aliases::builtin()).unwrap();
        assert_eq!(h.number, 3);
        assert_eq!(h.columns["学校"], 1);
        assert_eq!(h.written["学校"], "学校名称");
        let e = find_header(&g, &["姓名", "年级"], &Aliases::builtin()).unwrap_err();
        assert!(matches!(&e, HeaderError::Missing(c, _) if c == "年级"), "the row naming most is the header: {e}");
    }
}
