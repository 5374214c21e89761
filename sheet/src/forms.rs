//! The forms values take in other systems' exports, brought to the forms our files use before
//! the domain validates them: the national 学籍 system writes 性别 as 1/2, dates as YYYYMMDD,
//! 入学年月 as YYYYMM, grades as 一年级 or 初一; a police list writes 男性. Nothing is guessed:
//! a value in no known form is passed on as written, and the domain's validation names it.
//!
//! One value is never passed on: an ID number that Excel turned into a number. Excel keeps 15
//! significant digits, so an 18-digit 身份证号 typed into a General cell loses its last three
//! (shown as 4.10329E+17, or 410329201603090000 once widened). Such a cell is refused with a line
//! saying how to fix the column, so a child is never imported under a wrong number.

use thiserror::Error;

use crate::read::{number_text, In};

/// The form of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Text,
    /// 身份证号: text only, Excel's damage detected.
    IdNumber,
    /// 学籍号: text only (G/L/J + 18 characters).
    StudentNo,
    /// 男/女; 1/2 and 男性/女性 accepted.
    Sex,
    /// YYYY-MM-DD; YYYYMMDD, YYYY/M/D, YYYY.M.D, YYYY年M月D日 and date cells accepted.
    Date,
    /// A four-digit year; YYYYMM (入学年月), YYYY-MM, YYYY-YYYY (a school year), dates accepted.
    Year,
    /// 1–9; 一年级…九年级, 初一…初三 (7–9) accepted.
    Grade,
    /// A whole number; Excel's `12.0` accepted.
    Integer,
    /// A phone number: digits as written; a number cell as its digits.
    Phone,
}

/// The form of a column, by its canonical name.
pub fn form_of(canonical: &str) -> Form {
    match canonical {
        "身份证号" => Form::IdNumber,
        "学籍号" => Form::StudentNo,
        "性别" => Form::Sex,
        "出生日期" => Form::Date,
        "入学年份" | "入学学年" => Form::Year,
        "年级" | "入学年级" => Form::Grade,
        "入学人数" | "转入" | "转出" | "死亡" => Form::Integer,
        "监护人电话" => Form::Phone,
        _ => Form::Text,
    }
}

/// A value that must not be passed on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormError {
    #[error("被 Excel 存成了数字（显示为 {shown}，第 15 位以后的数字已丢失）：请把该列单元格格式设为「文本」，重新录入（或从原系统按文本重新导出）这些号码后再导入")]
    StoredAsNumber { shown: String },
    #[error("疑似被 Excel 截断（第 15 位以后变成了 0，校验位不符）：请把该列单元格格式设为「文本」，重新录入这些号码后再导入")]
    Truncated,
}

/// A cell in its column's form.
pub fn normalise(form: Form, cell: &In) -> Result<String, FormError> {
    match form {
        Form::Text => Ok(cell.text().trim().to_string()),
        Form::IdNumber | Form::StudentNo => id_text(cell),
        Form::Sex => Ok(sex(&cell.text())),
        Form::Date => Ok(date(cell)),
        Form::Year => Ok(year(cell)),
        Form::Grade => Ok(grade(&cell.text())),
        Form::Integer | Form::Phone => Ok(cell.text().trim().to_string()),
    }
}

/// How Excel's General format shows a large number: `4.10329E+17`.
pub fn excel_shown(f: f64) -> String {
    if f.abs() < 1e11 {
        return number_text(f);
    }
    let s = format!("{f:.5E}");
    let (m, e) = s.split_once('E').unwrap_or((&s, "0"));
    let m = m.trim_end_matches('0').trim_end_matches('.');
    format!("{m}E+{e}")
}

fn is_scientific(t: &str) -> bool {
    let Some((m, e)) = t.split_once(['E', 'e']) else {
        return false;
    };
    let e = e.strip_prefix('+').unwrap_or(e);
    !m.is_empty()
        && m.chars().all(|c| c.is_ascii_digit() || c == '.')
        && m.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !e.is_empty()
        && e.chars().all(|c| c.is_ascii_digit())
}

/// Full-width digits and letters (typed with a Chinese input method) to ASCII, spaces dropped.
fn half_width(t: &str) -> String {
    t.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// GB 11643's check character of 17 digits.
fn check_char(digits17: &[u8]) -> u8 {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = digits17.iter().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
    b"10X98765432"[(s % 11) as usize]
}

fn id_text(cell: &In) -> Result<String, FormError> {
    match cell {
        In::Int(i) if i.unsigned_abs() >= 100_000 => Err(FormError::StoredAsNumber { shown: excel_shown(*i as f64) }),
        In::Float(f) if f.abs() >= 100_000.0 => Err(FormError::StoredAsNumber { shown: excel_shown(*f) }),
        _ => {
            let t = half_width(&cell.text());
            if is_scientific(&t) {
                return Err(FormError::StoredAsNumber { shown: t });
            }
            // 18 digits ending in 000 whose check fails: digits 16–18 zeroed by Excel.
            let b = t.trim_start_matches(['G', 'g']).as_bytes();
            if b.len() == 18 && b.iter().all(u8::is_ascii_digit) && b.ends_with(b"000") && check_char(&b[..17]) != b[17]
            {
                return Err(FormError::Truncated);
            }
            Ok(t)
        }
    }
}

fn sex(t: &str) -> String {
    match t.trim() {
        "1" | "男性" | "1.0" => "男".into(),
        "2" | "女性" | "2.0" => "女".into(),
        other => other.to_string(),
    }
}

fn digits(t: &str) -> Option<u32> {
    (!t.is_empty() && t.len() <= 4 && t.chars().all(|c| c.is_ascii_digit())).then(|| t.parse().ok()).flatten()
}

fn date(cell: &In) -> String {
    let t = half_width(&cell.text());
    let t = t.split(['T', ' ']).next().unwrap_or("").to_string();
    if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
        return format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]);
    }
    let parts: Vec<&str> = t.trim_end_matches('日').split(['-', '/', '.', '年', '月']).collect();
    if let [y, m, d] = parts.as_slice() {
        if let (Some(y), Some(m), Some(d)) = (digits(y), digits(m), digits(d)) {
            if y >= 1000 {
                return format!("{y:04}-{m:02}-{d:02}");
            }
        }
    }
    t
}

fn year(cell: &In) -> String {
    if let In::Date { y, .. } = cell {
        return y.to_string();
    }
    let t = half_width(&cell.text());
    let b = t.as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    // YYYY, YYYYMM, YYYYMMDD, or YYYY followed by a separator (YYYY-MM, YYYY-YYYY, YYYY年…).
    if lead == 4 || ((lead == 6 || lead == 8) && lead == b.len()) {
        return t[..4].to_string();
    }
    t
}

fn grade(t: &str) -> String {
    const CN: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let t = t.trim();
    if let Some(n) = t.strip_prefix('初') {
        if let Some(i) = CN[..3].iter().position(|c| *c == n.trim_end_matches("年级")) {
            return (i + 7).to_string();
        }
    }
    let core = t.trim_start_matches("小学").trim_start_matches("初中").trim_end_matches("年级");
    if let Some(i) = CN.iter().position(|c| *c == core) {
        return (i + 1).to_string();
    }
    if let Ok(f) = core.parse::<f64>() {
        if f.fract() == 0.0 && (1.0..=9.0).contains(&f) {
            return (f as u32).to_string();
        }
    }
    t.to_string()
}

/// Whether a 身份证件类型 value means the number is a resident ID (GB 11643): 居民身份证 and
/// 户口簿 carry the same number; 港澳台 documents, passports and the rest do not.
pub fn is_resident_id_type(t: &str) -> bool {
    matches!(
        half_width(t).as_str(),
        "" | "1" | "01" | "B" | "居民身份证" | "身份证" | "中华人民共和国居民身份证" | "户口簿" | "居民户口簿"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> In {
        In::Text(s.into())
    }

    #[test]
    fn national_export_forms() {
        assert_eq!(normalise(Form::Sex, &t("1")).unwrap(), "男");
        assert_eq!(normalise(Form::Sex, &In::Float(2.0)).unwrap(), "女");
        assert_eq!(normalise(Form::Sex, &t("女")).unwrap(), "女");
        assert_eq!(normalise(Form::Date, &t("20160309")).unwrap(), "2016-03-09");
        assert_eq!(normalise(Form::Date, &t("2016/3/9")).unwrap(), "2016-03-09");
        assert_eq!(normalise(Form::Date, &t("2016年3月9日")).unwrap(), "2016-03-09");
        assert_eq!(normalise(Form::Date, &In::Date { y: 2016, m: 3, d: 9 }).unwrap(), "2016-03-09");
        assert_eq!(normalise(Form::Date, &t("2016-13")).unwrap(), "2016-13", "unknown forms pass as written");
        assert_eq!(normalise(Form::Year, &t("202209")).unwrap(), "2022");
        assert_eq!(normalise(Form::Year, &t("2022-09")).unwrap(), "2022");
        assert_eq!(normalise(Form::Year, &In::Float(2022.0)).unwrap(), "2022");
        assert_eq!(normalise(Form::Year, &t("22")).unwrap(), "22");
        assert_eq!(normalise(Form::Grade, &t("初二")).unwrap(), "8");
        assert_eq!(normalise(Form::Grade, &t("三年级")).unwrap(), "3");
        assert_eq!(normalise(Form::Grade, &In::Float(4.0)).unwrap(), "4");
        assert_eq!(normalise(Form::Integer, &In::Float(12.0)).unwrap(), "12");
        assert_eq!(normalise(Form::Phone, &In::Float(13800000000.0)).unwrap(), "13800000000");
    }

    #[test]
    fn an_id_excel_stored_as_a_number_is_refused() {
        let e = normalise(Form::IdNumber, &In::Float(410329201603090014.0)).unwrap_err();
        assert_eq!(e, FormError::StoredAsNumber { shown: "4.10329E+17".into() });
        assert!(e.to_string().contains("文本"), "the line says how to fix the column: {e}");
        assert!(matches!(normalise(Form::IdNumber, &t("4.10329E+17")), Err(FormError::StoredAsNumber { .. })));
        assert_eq!(normalise(Form::IdNumber, &t("410329201603090000")).unwrap_err(), FormError::Truncated);
        // A real number ending in 0 whose check holds is kept; full-width digits become ASCII.
        assert_eq!(normalise(Form::IdNumber, &t("11010519491231002X")).unwrap(), "11010519491231002X");
        assert_eq!(
            normalise(Form::IdNumber, &t("４４０５２４１８８００１０１００１４")).unwrap(),
            "440524188001010014"
        );
    }

    #[test]
    fn id_types() {
        assert!(is_resident_id_type("居民身份证"));
        assert!(is_resident_id_type(""));
        assert!(!is_resident_id_type("香港特区护照/身份证明"));
        assert!(!is_resident_id_type("护照"));
    }
}
