//! What a text value operators type or import may hold: a length limit per field, and no
//! control characters or bidirectional overrides (a NUL, a terminal escape or a right-to-left
//! override in a name would be printed raw by the CLI, break CSV reports, or make one name look
//! like another). Every value that becomes part of a revision passes here, so no revision can
//! grow towards the sync frame limit (see `docs/limits.md` for the table of limits).

use thiserror::Error;

/// A person's name (student, guardian, responsible people, operator).
pub const MAX_NAME: usize = 50;
/// A school's name.
pub const MAX_SCHOOL: usize = 60;
/// A township's name.
pub const MAX_TOWNSHIP: usize = 30;
/// A village's name.
pub const MAX_VILLAGE: usize = 60;
/// A class (班级).
pub const MAX_CLASS: usize = 30;
/// A telephone number as typed (several numbers, separators, an extension).
pub const MAX_PHONE: usize = 40;
/// A list of special groups as typed.
pub const MAX_GROUPS: usize = 100;
/// A short label: a reason, a place outside the county, a notice's name.
pub const MAX_SHORT: usize = 200;
/// Free text: an action's notes, a plan, a closing evidence.
pub const MAX_TEXT: usize = 2_000;
/// Any cell of any CSV file, before the column's own limit.
pub const MAX_CELL: usize = 2_000;

/// Why a value was refused (without the field's name: the caller names row and column).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    #[error("过长：{len} 个字符，最多 {max} 个")]
    TooLong { len: usize, max: usize },
    #[error("含有控制字符 {0}（不可见字符，请删除后重试）")]
    Control(String),
    #[error("含有文字方向控制符 {0}（会使显示的文字与实际不同，请删除后重试）")]
    Bidi(String),
}

/// Whether `c` is a bidirectional formatting character (embeddings, overrides, isolates, marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks one value: at most `max` characters, no control characters (C0, DEL, C1, the line and
/// paragraph separators) and no bidi controls.
pub fn check(value: &str, max: usize) -> Result<(), TextError> {
    check_chars(value)?;
    let len = value.chars().count();
    if len > max {
        return Err(TextError::TooLong { len, max });
    }
    Ok(())
}

/// [`check`] without a length limit.
pub fn check_chars(value: &str) -> Result<(), TextError> {
    for c in value.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            return Err(TextError::Control(format!("U+{:04X}", c as u32)));
        }
        if is_bidi_control(c) {
            return Err(TextError::Bidi(format!("U+{:04X}", c as u32)));
        }
    }
    Ok(())
}

/// A value for display in an error line: at most 40 characters, control characters shown as
/// `U+XXXX` (the refused value itself must not reach the terminal raw).
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == 40 {
            out.push('…');
            break;
        }
        if c.is_control() || is_bidi_control(c) || c == '\u{2028}' || c == '\u{2029}' {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_bidi_and_length() {
        assert!(check("张小明", MAX_NAME).is_ok());
        assert!(check("阿卜杜热合曼·买买提依明", MAX_NAME).is_ok());
        assert_eq!(check("张\0明", MAX_NAME), Err(TextError::Control("U+0000".into())));
        assert_eq!(check("张\u{1b}[31m明", MAX_NAME), Err(TextError::Control("U+001B".into())));
        assert_eq!(check("张\u{202E}明", MAX_NAME), Err(TextError::Bidi("U+202E".into())));
        assert_eq!(check("a\u{2067}b", MAX_NAME), Err(TextError::Bidi("U+2067".into())));
        assert_eq!(check("\u{85}", MAX_NAME), Err(TextError::Control("U+0085".into())));
        let long = "张".repeat(MAX_NAME + 1);
        assert_eq!(check(&long, MAX_NAME), Err(TextError::TooLong { len: MAX_NAME + 1, max: MAX_NAME }));
        assert!(check(&"张".repeat(MAX_NAME), MAX_NAME).is_ok());
    }

    #[test]
    fn shown_never_prints_raw_controls() {
        let s = shown("a\u{1b}]0;x\u{7}\u{202E}b");
        assert!(!s.chars().any(|c| c.is_control() || is_bidi_control(c)), "{s}");
        assert_eq!(shown(&"字".repeat(100)).chars().count(), 41);
    }
}
