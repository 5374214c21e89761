//! Identifiers of a child: the resident ID number (身份证号, GB 11643) and the national student
//! number (全国学籍号). Validation here is the single source of truth for both sides.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::Sex;

/// Weights of ISO 7064 MOD 11-2 over the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// `S mod 11` → check character.
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("身份证号应为18位，实际为{0}位")]
    Length(usize),
    #[error("身份证号第{0}位不是数字")]
    NotDigit(usize),
    #[error("身份证号校验位错误：应为 {expected}，实际为 {got}")]
    Check { expected: char, got: char },
    #[error("身份证号中的出生日期 {0} 不是有效日期")]
    BirthDate(String),
    #[error("学籍号格式错误：{0}")]
    StudentNo(String),
    #[error("学籍号 {no} 与身份证号不一致（G 学籍号应为 G + 身份证号）")]
    StudentNoMismatch { no: String },
}

/// A validated 18-character resident ID number. Never log it unmasked: use [`IdNumber::masked`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses and fully validates: length, digits, birth date, check character.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(IdError::Length(chars.len()));
        }
        for (i, c) in chars[..17].iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(IdError::NotDigit(i + 1));
            }
        }
        let expected = check_char(&s[..17]);
        if chars[17] != expected {
            return Err(IdError::Check { expected, got: chars[17] });
        }
        let id = IdNumber(s);
        id.birth()?;
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date the number encodes.
    pub fn birth(&self) -> Result<NaiveDate, IdError> {
        let d = &self.0[6..14];
        let y = d[0..4].parse().unwrap_or(0);
        let m = d[4..6].parse().unwrap_or(0);
        let day = d[6..8].parse().unwrap_or(0);
        NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| IdError::BirthDate(d.to_string()))
    }

    /// The sex the sequence digit encodes: odd male, even female.
    pub fn sex(&self) -> Sex {
        let digit = self.0.as_bytes()[16] - b'0';
        if digit % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The area code (first 6 digits).
    pub fn area(&self) -> &str {
        &self.0[..6]
    }

    /// `410329********1234`: what reports and logs show.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks the middle of any identifier-like string (keeps 6 leading, 4 trailing characters).
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// Deliberately prints the masked form: a full ID must be asked for with `as_str`.
impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// The MOD 11-2 check character of 17 digits.
pub fn check_char(first17: &str) -> char {
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

/// Builds a valid ID number from area, birth date and 3-digit sequence (demo data, tests).
pub fn make_id(area: &str, birth: NaiveDate, seq: u16) -> IdNumber {
    let first17 = format!("{area}{:04}{:02}{:02}{:03}", birth.year(), birth.month(), birth.day(), seq % 1000);
    IdNumber(format!("{first17}{}", check_char(&first17)))
}

/// The `YYYYMMDD` at characters 7–14 of an 18-character body (after the area code).
fn embedded_birth(body: &str) -> Option<NaiveDate> {
    let d = body.get(6..14)?;
    NaiveDate::from_ymd_opt(d[0..4].parse().ok()?, d[4..6].parse().ok()?, d[6..8].parse().ok()?)
}

/// Builds a valid J number (no usable ID) from area, birth date and 3-digit sequence (demo data,
/// tests).
pub fn make_j_no(area: &str, birth: NaiveDate, seq: u16) -> StudentNo {
    let first17 = format!("{area}{:04}{:02}{:02}{:03}", birth.year(), birth.month(), birth.day(), seq % 1000);
    StudentNo(format!("J{first17}{}", check_char(&first17)))
}

/// The three forms of 全国学籍号.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StudentNoKind {
    /// G + the 18-character ID number (the formal number).
    G,
    /// L + area + birth date + 4 digits (temporary).
    L,
    /// J + area + birth date + 3-digit sequence + check digit (no usable ID).
    J,
}

/// A validated national student number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StudentNo(String);

impl StudentNo {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 19 {
            return Err(IdError::StudentNo(format!("应为19位（G/L/J + 18位），实际为{}位", chars.len())));
        }
        let body: String = chars[1..].iter().collect();
        match chars[0] {
            'G' => {
                IdNumber::parse(&body).map_err(|e| IdError::StudentNo(format!("G 学籍号中的身份证号无效：{e}")))?;
            }
            'L' | 'J' => {
                let last_ok = chars[0] == 'J' && matches!(chars[18], 'X');
                if !body.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 17 && last_ok)) {
                    return Err(IdError::StudentNo("L/J 学籍号除首字母外应为数字".into()));
                }
                if embedded_birth(&body).is_none() {
                    return Err(IdError::StudentNo(format!("学籍号中的出生日期 {} 无效", &body[6..14])));
                }
                // J: the same MOD 11-2 check character as an ID number, over the 17 characters
                // after the letter (docs/FORMULAS.md).
                if chars[0] == 'J' {
                    let expected = check_char(&body[..17]);
                    if chars[18] != expected {
                        return Err(IdError::StudentNo(format!(
                            "J 学籍号校验位错误：应为 {expected}，实际为 {}",
                            chars[18]
                        )));
                    }
                }
            }
            c => return Err(IdError::StudentNo(format!("首字母应为 G、L 或 J，实际为 {c}"))),
        }
        Ok(StudentNo(s))
    }

    pub fn kind(&self) -> StudentNoKind {
        match self.0.as_bytes()[0] {
            b'G' => StudentNoKind::G,
            b'L' => StudentNoKind::L,
            _ => StudentNoKind::J,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ID number inside a G number.
    pub fn id_number(&self) -> Option<IdNumber> {
        match self.kind() {
            StudentNoKind::G => IdNumber::parse(&self.0[1..]).ok(),
            _ => None,
        }
    }

    /// The birth date the number carries: the ID's for a G number, characters 7–14 after the
    /// letter for L and J.
    pub fn birth(&self) -> Option<NaiveDate> {
        match self.kind() {
            StudentNoKind::G => self.id_number().and_then(|id| id.birth().ok()),
            StudentNoKind::L | StudentNoKind::J => embedded_birth(&self.0[1..]),
        }
    }

    /// A G number must equal G + the ID; other forms cannot be cross-checked.
    pub fn check_against(&self, id: &IdNumber) -> Result<(), IdError> {
        if self.kind() == StudentNoKind::G && self.0[1..] != *id.as_str() {
            return Err(IdError::StudentNoMismatch { no: mask(&self.0) });
        }
        Ok(())
    }

    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Display for StudentNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_examples_are_valid() {
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("440524188001010014").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
    }

    #[test]
    fn wrong_check_character_names_both() {
        let e = IdNumber::parse("110105194912310021").unwrap_err();
        assert_eq!(e, IdError::Check { expected: 'X', got: '1' });
        assert!(e.to_string().contains('X'));
    }

    #[test]
    fn birth_and_sex() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth().unwrap(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.sex(), Sex::Female);
        let id = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(id.sex(), Sex::Male);
    }

    #[test]
    fn masking() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(format!("{id}"), "110105********002X");
    }

    #[test]
    fn make_id_round_trips() {
        let b = NaiveDate::from_ymd_opt(2015, 3, 9).unwrap();
        for seq in [1u16, 2, 999] {
            let id = make_id("410329", b, seq);
            let p = IdNumber::parse(id.as_str()).unwrap();
            assert_eq!(p.birth().unwrap(), b);
        }
    }

    #[test]
    fn student_numbers() {
        let g = StudentNo::parse("G11010519491231002X").unwrap();
        assert_eq!(g.kind(), StudentNoKind::G);
        assert!(g.check_against(&IdNumber::parse("11010519491231002X").unwrap()).is_ok());
        assert!(g.check_against(&IdNumber::parse("440524188001010014").unwrap()).is_err());
        assert!(StudentNo::parse("L4103292015030912345").is_err());
        assert!(StudentNo::parse("L410329201503091234").is_ok());
        assert!(StudentNo::parse("L410329201502301234").is_err());
        assert!(StudentNo::parse("X410329201503091234").is_err());
        assert_eq!(g.birth(), NaiveDate::from_ymd_opt(1949, 12, 31));
        let l = StudentNo::parse("L410329201503091234").unwrap();
        assert_eq!(l.birth(), NaiveDate::from_ymd_opt(2015, 3, 9));
    }

    #[test]
    fn j_numbers_carry_a_check_character() {
        // The docs/FORMULAS.md ID examples with a J in front are valid J numbers (same check).
        assert!(StudentNo::parse("J11010519491231002X").is_ok());
        assert!(StudentNo::parse("J440524188001010014").is_ok());
        let e = StudentNo::parse("J110105194912310021").unwrap_err();
        assert!(e.to_string().contains("校验位") && e.to_string().contains("应为 X"), "{e}");
        assert!(StudentNo::parse("J440524188001010015").is_err());
        let b = NaiveDate::from_ymd_opt(2015, 3, 9).unwrap();
        for seq in [0u16, 7, 123, 999] {
            let j = make_j_no("410329", b, seq);
            let back = StudentNo::parse(j.as_str()).unwrap();
            assert_eq!((back.kind(), back.birth()), (StudentNoKind::J, Some(b)));
        }
        // An L number has no check character: only digits are asked of its last four.
        assert!(StudentNo::parse("L440524188001010015").is_ok());
        assert!(StudentNo::parse("L44052418800101001X").is_err());
    }
}
