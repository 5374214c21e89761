//! The roster CSV (docs/CLI.md "Files") and the validation of one student, shared by `student add`
//! and `student import`: every bad field of a row is reported, not just the first.

use crate::dates::{age_at_reference, is_school_age, Date, SchoolYear};
use crate::ids::{IdNumber, StudentNo, StudentNoKind};
use crate::model::{Placement, Sex, SpecialGroup, Status};
use crate::org::Org;
use crate::revision::StudentInit;
use crate::table::{RowError, Table, TableError};
use crate::text;

pub const ROSTER_COLUMNS: [&str; 14] = [
    "学籍号",
    "身份证号",
    "姓名",
    "性别",
    "出生日期",
    "学校",
    "年级",
    "班级",
    "户籍乡镇",
    "户籍村",
    "入学年份",
    "特殊群体",
    "监护人",
    "监护人电话",
];

/// The largest roster file one `student import` reads (bytes): about 150,000 rows, several
/// times the largest township's roll, and checked and imported in well under 1 GiB. A larger
/// file is refused before it is read.
pub const MAX_ROSTER_BYTES: u64 = 20_000_000;
/// The rows [`MAX_ROSTER_BYTES`] holds, roughly (for the refusal's message).
pub const MAX_ROSTER_ROWS_HINT: usize = 150_000;

/// One student as typed or read, before validation: every field a string.
#[derive(Debug, Clone, Default)]
pub struct StudentInput {
    pub student_no: String,
    pub id_number: String,
    pub name: String,
    pub sex: String,
    pub birth: String,
    pub school: String,
    pub grade: String,
    pub class: String,
    pub hukou_township: String,
    pub hukou_village: String,
    pub entry_year: String,
    pub groups: String,
    pub guardian: String,
    pub phone: String,
}

/// A field-level problem: (column, value, reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub column: &'static str,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}「{}」：{}", self.column, self.value, self.reason)
    }
}

/// Where validation happens: the county's schools, the township the node serves (a node may only
/// add its own township's children), and the school year whose reference date sets ages.
pub struct Context<'a> {
    pub org: &'a Org,
    pub township: Option<&'a str>,
    pub school_year: SchoolYear,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Validates one student. Ages outside 6–15 are not errors here (a child may start a year early
/// or late, and over-age pupils are on real rolls: see [`age_warning`]); only an impossible age
/// (outside 3–20) is. Census matching applies the strict school-age rule.
pub fn validate(input: &StudentInput, ctx: &Context) -> Result<StudentInit, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut err = |column: &'static str, value: &str, reason: String| {
        errs.push(FieldError { column, value: value.trim().to_string(), reason })
    };

    let student_no = match StudentNo::parse(&input.student_no) {
        Ok(n) => Some(n),
        Err(e) => {
            err("学籍号", &input.student_no, e.to_string());
            None
        }
    };
    let id_number = if input.id_number.trim().is_empty() {
        match student_no.as_ref().map(StudentNo::kind) {
            Some(StudentNoKind::G) => student_no.as_ref().and_then(StudentNo::id_number),
            Some(_) => None,
            None => None,
        }
    } else {
        match IdNumber::parse(&input.id_number) {
            Ok(id) => Some(id),
            Err(e) => {
                err("身份证号", &input.id_number, e.to_string());
                None
            }
        }
    };
    if let (Some(no), Some(id)) = (&student_no, &id_number) {
        if let Err(e) = no.check_against(id) {
            err("学籍号", &input.student_no, e.to_string());
        }
    }
    // Free-text fields: length limits (docs/limits.md), no control or bidi characters. The
    // coded fields (numbers, dates, sex, grade) are parsed strictly below.
    for (column, value, max) in [
        ("姓名", &input.name, text::MAX_NAME),
        ("学校", &input.school, text::MAX_SCHOOL),
        ("班级", &input.class, text::MAX_CLASS),
        ("户籍乡镇", &input.hukou_township, text::MAX_TOWNSHIP),
        ("户籍村", &input.hukou_village, text::MAX_VILLAGE),
        ("特殊群体", &input.groups, text::MAX_GROUPS),
        ("监护人", &input.guardian, text::MAX_NAME),
        ("监护人电话", &input.phone, text::MAX_PHONE),
    ] {
        if let Err(e) = text::check(value.trim(), max) {
            err(column, &text::shown(value.trim()), e.to_string());
        }
    }
    let name = input.name.trim().to_string();
    if name.is_empty() {
        err("姓名", "", "不能为空".into());
    }
    let sex = match input.sex.parse::<Sex>() {
        Ok(s) => Some(s),
        Err(e) => {
            err("性别", &input.sex, e.to_string());
            None
        }
    };
    let birth = match Date::parse(&input.birth) {
        Ok(d) => Some(d),
        Err(e) => {
            err("出生日期", &input.birth, e.to_string());
            None
        }
    };
    if let (Some(id), Some(b)) = (&id_number, birth) {
        if let Ok(idb) = id.birth() {
            if idb != b.0 {
                err("出生日期", &input.birth, format!("与身份证号中的出生日期 {} 不一致（填写为 {}）", Date(idb), b));
            }
        }
    }
    // L and J numbers carry a birth date of their own (a G number's is the ID's, checked above).
    if let (Some(no), Some(b)) = (&student_no, birth) {
        if no.kind() != StudentNoKind::G {
            if let Some(nb) = no.birth() {
                if nb != b.0 {
                    err("出生日期", &input.birth, format!("与学籍号中的出生日期 {} 不一致（填写为 {}）", Date(nb), b));
                }
            }
        }
    }
    if let (Some(id), Some(s)) = (&id_number, sex) {
        if id.sex() != s {
            err("性别", &input.sex, format!("与身份证号所示性别「{}」不一致（填写为「{}」）", id.sex(), s));
        }
    }
    if let Some(b) = birth {
        let age = age_at_reference(b, ctx.school_year);
        if !(3..=20).contains(&age) {
            err("出生日期", &input.birth, format!("{} 学年的周岁为 {age}，不可能是义务教育学生", ctx.school_year));
        }
    }
    let school = ctx.org.school(input.school.trim());
    match school {
        None => err("学校", &input.school, "不是本县组织机构中的学校".into()),
        Some(s) => {
            if let Some(t) = ctx.township {
                if s.township != t {
                    err("学校", &input.school, format!("属于{}，不是本乡镇（{t}）的学校", s.township));
                }
            }
        }
    }
    let grade = match input.grade.trim().trim_end_matches("年级").parse::<u8>() {
        Ok(g) if (1..=9).contains(&g) => {
            if let Some(s) = school {
                if !s.teaches(g) {
                    let (lo, hi) = (*s.kind.grades().start(), *s.kind.grades().end());
                    err("年级", &input.grade, format!("{}是{}，只设 {lo}–{hi} 年级", s.name, s.kind));
                }
            }
            Some(g)
        }
        _ => {
            err("年级", &input.grade, "义务教育年级应为 1–9".into());
            None
        }
    };
    let entry_year = match input.entry_year.trim() {
        "" => None,
        y => match y.parse::<i32>() {
            Ok(v) if (1990..=2100).contains(&v) => Some(v),
            _ => {
                err("入学年份", &input.entry_year, "应为四位年份".into());
                None
            }
        },
    };
    let groups = match SpecialGroup::parse_list(&input.groups) {
        Ok(g) => g,
        Err(e) => {
            err("特殊群体", &input.groups, e.to_string());
            Vec::new()
        }
    };

    if !errs.is_empty() {
        return Err(errs);
    }
    let (Some(student_no), Some(sex), Some(birth), Some(school), Some(grade)) = (student_no, sex, birth, school, grade)
    else {
        unreachable!("every missing field pushed an error")
    };
    Ok(StudentInit {
        student_no,
        id_number,
        name,
        sex,
        birth,
        grade,
        class: opt(&input.class),
        hukou_township: opt(&input.hukou_township),
        hukou_village: opt(&input.hukou_village),
        entry_year,
        groups,
        guardian: opt(&input.guardian),
        phone: opt(&input.phone),
        placement: Placement { status: Status::Enrolled, school: school.name.clone(), transfer: None },
    })
}

/// A student accepted although not of school age (6–15 at 31 August of the school year's first
/// year, docs/FORMULAS.md): a line for the operator to check, naming the student (masked number,
/// name) and the age. `None` for a child of school age.
pub fn age_warning(s: &StudentInit, year: SchoolYear) -> Option<String> {
    if is_school_age(s.birth, year, false) {
        return None;
    }
    let age = age_at_reference(s.birth, year);
    let reference = Date::ymd(year.first_calendar_year(), 8, 31);
    Some(format!(
        "学生 {}（{}）出生日期 {}，{reference} 周岁 {age}，不在义务教育适龄 6–15 岁：已接受，请核实出生日期（提前或推迟入学的可不理会）",
        s.student_no.masked(),
        s.name,
        s.birth
    ))
}

/// The result of checking a whole roster file.
#[derive(Debug)]
pub struct Checked {
    /// Good rows with their row numbers.
    pub good: Vec<(usize, StudentInit)>,
    /// Every problem, by row.
    pub errors: Vec<RowError>,
    /// Good rows accepted with a remark ([`age_warning`], an ID document that is not a 居民身份证),
    /// by row: `第 N 行：…`.
    pub warnings: Vec<(usize, String)>,
    /// What the file was read as (CSV in which encoding, .xlsx, .xls).
    pub source: crate::table::Source,
}

/// Parses and validates a roster file; duplicates inside the file are errors too.
pub fn check(bytes: &[u8], ctx: &Context) -> Result<Checked, TableError> {
    let table = Table::parse(bytes, &ROSTER_COLUMNS)?;
    let mut errors = table.ragged.clone();
    let mut good = Vec::with_capacity(table.len());
    let mut seen_no = std::collections::HashMap::new();
    let mut seen_id = std::collections::HashMap::new();
    let mut warnings: Vec<(usize, String)> = table.remarks.iter().map(|r| (r.row, r.to_string())).collect();
    for row in table.rows() {
        let input = StudentInput {
            student_no: row.get("学籍号").into(),
            id_number: row.get("身份证号").into(),
            name: row.get("姓名").into(),
            sex: row.get("性别").into(),
            birth: row.get("出生日期").into(),
            school: row.get("学校").into(),
            grade: row.get("年级").into(),
            class: row.get("班级").into(),
            hukou_township: row.get("户籍乡镇").into(),
            hukou_village: row.get("户籍村").into(),
            entry_year: row.get("入学年份").into(),
            groups: row.get("特殊群体").into(),
            guardian: row.get("监护人").into(),
            phone: row.get("监护人电话").into(),
        };
        match validate(&input, ctx) {
            Ok(s) => {
                if let Some(first) = seen_no.insert(s.student_no.clone(), row.number) {
                    errors.push(row.error("学籍号", format!("与第 {first} 行重复")));
                    continue;
                }
                if let Some(id) = &s.id_number {
                    if let Some(first) = seen_id.insert(id.clone(), row.number) {
                        let mut e = row.error("身份证号", format!("与第 {first} 行重复"));
                        e.value = id.masked();
                        errors.push(e);
                        continue;
                    }
                }
                if let Some(w) = age_warning(&s, ctx.school_year) {
                    warnings.push((row.number, format!("第 {} 行：{w}", row.number)));
                }
                good.push((row.number, s))
            }
            Err(fes) => errors.extend(fes.into_iter().map(|fe| RowError {
                row: row.number,
                column: fe.column.to_string(),
                value: if fe.column == "身份证号" { crate::ids::mask(&fe.value) } else { fe.value },
                reason: fe.reason,
            })),
        }
    }
    errors.sort_by_key(|e| e.row);
    warnings.sort_by_key(|w| w.0);
    Ok(Checked { good, errors, warnings, source: table.source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        Org::parse_csv("乡镇,学校,类型\n鸦岭,鸦岭小学,小学\n鸦岭,鸦岭初中,初中\n白沙,白沙小学,小学\n".as_bytes())
            .unwrap()
    }

    fn input() -> StudentInput {
        let id = crate::ids::make_id("410329", Date::ymd(2016, 3, 9).0, 123);
        StudentInput {
            student_no: format!("G{}", id.as_str()),
            id_number: id.as_str().into(),
            name: "张三".into(),
            sex: "男".into(),
            birth: "2016-03-09".into(),
            school: "鸦岭小学".into(),
            grade: "4".into(),
            ..Default::default()
        }
    }

    fn ctx(org: &Org) -> Context<'_> {
        Context { org, township: Some("鸦岭"), school_year: SchoolYear(2026) }
    }

    #[test]
    fn good_student() {
        let org = org();
        let s = validate(&input(), &ctx(&org)).unwrap();
        assert_eq!(s.grade, 4);
        assert_eq!(s.placement.status, Status::Enrolled);
    }

    #[test]
    fn each_bad_field_is_named() {
        let org = org();
        type Spoil = fn(&mut StudentInput);
        let cases: Vec<(Spoil, &str)> = vec![
            (|i| i.birth = "2016-03-10".into(), "出生日期"),
            (|i| i.sex = "女".into(), "性别"),
            (|i| i.school = "不存在小学".into(), "学校"),
            (|i| i.school = "白沙小学".into(), "学校"),
            (|i| i.grade = "10".into(), "年级"),
            (|i| i.grade = "7".into(), "年级"),
            (|i| i.birth = "2016-02-30".into(), "出生日期"),
            (|i| i.groups = "外星人".into(), "特殊群体"),
        ];
        for (f, column) in cases {
            let mut i = input();
            f(&mut i);
            let e = validate(&i, &ctx(&org)).unwrap_err();
            assert!(e.iter().any(|e| e.column == column), "{column}: {e:?}");
        }
        let mut i = input();
        let mut id = i.id_number.clone();
        let last = if id.ends_with('1') { '2' } else { '1' };
        id.pop();
        id.push(last);
        i.id_number = id;
        let e = validate(&i, &ctx(&org)).unwrap_err();
        assert!(e.iter().any(|e| e.column == "身份证号" && e.reason.contains("校验位")));
    }

    #[test]
    fn oversized_and_control_fields_are_refused_by_column() {
        let org = org();
        type Spoil = fn(&mut StudentInput);
        let cases: Vec<(Spoil, &str)> = vec![
            (|i| i.name = "张".repeat(18 * 1024 * 1024 / 3), "姓名"),
            (|i| i.name = "张\0三".into(), "姓名"),
            (|i| i.name = "张\u{1b}[2J三".into(), "姓名"),
            (|i| i.name = "\u{202E}三张".into(), "姓名"),
            (|i| i.guardian = "李".repeat(text::MAX_NAME + 1), "监护人"),
            (|i| i.phone = "1".repeat(text::MAX_PHONE + 1), "监护人电话"),
            (|i| i.class = "\u{7}2班".into(), "班级"),
            (|i| i.hukou_village = "村".repeat(text::MAX_VILLAGE + 1), "户籍村"),
        ];
        for (f, column) in cases {
            let mut i = input();
            f(&mut i);
            let e = validate(&i, &ctx(&org)).unwrap_err();
            let hit = e.iter().find(|e| e.column == column).unwrap_or_else(|| panic!("{column}: {e:?}"));
            assert!(hit.value.chars().count() <= 41, "the value is shown shortened");
            assert!(!hit.to_string().chars().any(|c| c.is_control()), "{hit}");
        }
    }

    #[test]
    fn file_errors_by_row() {
        let org = org();
        let good = input();
        let header = ROSTER_COLUMNS.join(",");
        let line = |i: &StudentInput| {
            format!("{},{},{},{},{},{},{},,,,,,,", i.student_no, i.id_number, i.name, i.sex, i.birth, i.school, i.grade)
        };
        let mut bad = input();
        bad.grade = "10".into();
        let csv = format!("{header}\n{}\n{}\n{}\n", line(&good), line(&bad), line(&good));
        let c = check(csv.as_bytes(), &ctx(&org)).unwrap();
        assert_eq!(c.good.len(), 1);
        assert_eq!(c.errors.len(), 2);
        assert_eq!((c.errors[0].row, c.errors[0].column.as_str()), (3, "年级"));
        assert_eq!(c.errors[1].row, 4);
    }

    fn csv_of(rows: &[&StudentInput]) -> String {
        let mut csv = ROSTER_COLUMNS.join(",");
        for i in rows {
            csv.push_str(&format!(
                "\n{},{},{},{},{},{},{},,,,,{},,",
                i.student_no, i.id_number, i.name, i.sex, i.birth, i.school, i.grade, i.groups
            ));
        }
        csv.push('\n');
        csv
    }

    /// A child with no usable ID: a J number only.
    fn j_input() -> StudentInput {
        let no = crate::ids::make_j_no("410329", Date::ymd(2016, 3, 9).0, 45);
        StudentInput { student_no: no.as_str().into(), id_number: String::new(), ..input() }
    }

    #[test]
    fn student_numbers_checked_in_a_roster() {
        let org = org();
        // A G number that is not G + the ID (another valid ID).
        let mut g = input();
        let other = crate::ids::make_id("410329", Date::ymd(2016, 3, 9).0, 125);
        g.student_no = format!("G{}", other.as_str());
        // A J number with a wrong check character.
        let mut bad_j = j_input();
        let last = bad_j.student_no.pop().unwrap();
        bad_j.student_no.push(if last == '1' { '2' } else { '1' });
        // L and J numbers whose birth date disagrees with 出生日期.
        let mut l = j_input();
        l.student_no = "L410329201603091234".into();
        l.birth = "2016-03-10".into();
        let mut j = j_input();
        j.birth = "2016-04-09".into();
        let good_j = j_input();
        let good_l = StudentInput { student_no: "L410329201603095678".into(), ..j_input() };
        let csv = csv_of(&[&g, &bad_j, &l, &j, &good_j, &good_l]);
        let c = check(csv.as_bytes(), &ctx(&org)).unwrap();
        let by_row: Vec<(usize, &str, &str)> =
            c.errors.iter().map(|e| (e.row, e.column.as_str(), e.reason.as_str())).collect();
        assert_eq!(by_row.len(), 4, "{by_row:?}");
        assert_eq!((by_row[0].0, by_row[0].1), (2, "学籍号"));
        assert!(by_row[0].2.contains("G 学籍号应为 G + 身份证号"), "{}", by_row[0].2);
        assert_eq!((by_row[1].0, by_row[1].1), (3, "学籍号"));
        assert!(by_row[1].2.contains("校验位"), "{}", by_row[1].2);
        assert_eq!((by_row[2].0, by_row[2].1), (4, "出生日期"));
        assert!(by_row[2].2.contains("2016-03-09") && by_row[2].2.contains("2016-03-10"), "{}", by_row[2].2);
        assert_eq!((by_row[3].0, by_row[3].1), (5, "出生日期"));
        assert!(by_row[3].2.contains("2016-03-09") && by_row[3].2.contains("2016-04-09"), "{}", by_row[3].2);
        assert_eq!(c.good.iter().map(|(r, _)| *r).collect::<Vec<_>>(), vec![6, 7]);
        assert_eq!(c.good[0].1.id_number, None);
    }

    #[test]
    fn ages_outside_school_age_warn_but_impossible_ages_fail() {
        let org = org();
        let make = |birth: Date, seq: u16| {
            let id = crate::ids::make_id("410329", birth.0, seq);
            StudentInput {
                student_no: format!("G{}", id.as_str()),
                id_number: id.as_str().into(),
                sex: id.sex().label().into(),
                birth: birth.to_string(),
                ..input()
            }
        };
        // School year 2026, reference 2026-08-31: 2020-08-31 is 6, 2020-09-01 is 5;
        // 2010-09-01 is 15, 2010-08-31 is 16; 2023-01-01 is 3, 2022-08-31 is 4; 2005-09-01 is 20.
        let cases = [
            (Date::ymd(2020, 8, 31), None),
            (Date::ymd(2020, 9, 1), Some(5)),
            (Date::ymd(2010, 9, 1), None),
            (Date::ymd(2010, 8, 31), Some(16)),
            (Date::ymd(2005, 9, 1), Some(20)),
        ];
        for (i, (birth, warn)) in cases.iter().enumerate() {
            let mut s = make(*birth, 11 + i as u16);
            s.grade = "1".into();
            let v = validate(&s, &ctx(&org)).unwrap_or_else(|e| panic!("{birth}: {e:?}"));
            let w = age_warning(&v, SchoolYear(2026));
            match warn {
                None => assert!(w.is_none(), "{birth}: {w:?}"),
                Some(age) => {
                    let w = w.unwrap_or_else(|| panic!("{birth} should warn"));
                    assert!(w.contains(&format!("周岁 {age}")) && w.contains("张三"), "{w}");
                    assert!(w.contains(&v.student_no.masked()) && !w.contains(v.student_no.as_str()), "{w}");
                }
            }
        }
        // Impossible ages stay errors: 2 and 21.
        for birth in [Date::ymd(2023, 9, 1), Date::ymd(2005, 8, 31)] {
            let e = validate(&make(birth, 40), &ctx(&org)).unwrap_err();
            assert!(e.iter().any(|e| e.column == "出生日期" && e.reason.contains("不可能")), "{birth}: {e:?}");
        }
        // In a file: the warning names the row; the row is still good.
        let young = make(Date::ymd(2020, 9, 1), 50);
        let csv = csv_of(&[&input(), &young]);
        let c = check(csv.as_bytes(), &ctx(&org)).unwrap();
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.good.len(), 2);
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].0, 3);
        assert!(c.warnings[0].1.starts_with("第 3 行：") && c.warnings[0].1.contains("周岁 5"), "{:?}", c.warnings);
    }
}
