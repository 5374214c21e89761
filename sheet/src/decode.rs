//! CSV bytes to text. Excel and WPS on a Chinese Windows save "CSV" in the system's code page
//! (GBK, a subset of GB18030) unless told "CSV UTF-8"; operators should not have to know. A file
//! that is valid UTF-8 is read as UTF-8 (a leading BOM dropped); otherwise, if it is valid
//! GB18030 it is read as that; otherwise it is refused with the line where it stops making
//! sense. The caller is told which encoding was read so it can say so.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

/// The encoding a CSV file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a BOM (Excel's "CSV UTF-8", and what our reports write).
    Utf8Bom,
    /// GB18030 (which includes GBK and GB2312): Excel's and WPS's default on a Chinese Windows.
    Gb18030,
}

impl Encoding {
    /// The Chinese name shown to operators.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8（带 BOM）",
            Encoding::Gb18030 => "GB18030/GBK",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The file is neither UTF-8 nor GB18030.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("文件既不是 UTF-8 也不是 GB18030/GBK 编码（第 {line} 行起出现无法识别的字节）：请在 Excel 或 WPS 中另存为「CSV UTF-8」或 Excel 工作簿（.xlsx）后重试")]
    Unknown { line: usize },
    #[error(
        "文件是 UTF-16（「Unicode 文本」）：请在 Excel 或 WPS 中另存为「CSV UTF-8」或 Excel 工作簿（.xlsx）后重试"
    )]
    Utf16,
}

/// Decodes a CSV file's bytes.
pub fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, Encoding), DecodeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(t) => Ok((Cow::Borrowed(t), Encoding::Utf8Bom)),
            Err(e) => Err(DecodeError::Unknown { line: line_of(rest, e.valid_up_to()) }),
        };
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(DecodeError::Utf16);
    }
    let utf8_err = match std::str::from_utf8(bytes) {
        Ok(t) => return Ok((Cow::Borrowed(t), Encoding::Utf8)),
        Err(e) => e,
    };
    match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(t) => Ok((Cow::Owned(t.into_owned()), Encoding::Gb18030)),
        None => Err(DecodeError::Unknown {
            line: line_of(bytes, first_bad_gb18030(bytes).unwrap_or(utf8_err.valid_up_to())),
        }),
    }
}

/// The 1-based line of a byte offset.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The offset of the first line GB18030 cannot decode (line by line: a bad byte never spans a
/// newline in either encoding).
fn first_bad_gb18030(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(line).is_none() {
            return Some(start);
        }
        start += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode("姓名\n".as_bytes()).unwrap(), (Cow::Borrowed("姓名\n"), Encoding::Utf8));
        assert_eq!(decode("\u{feff}姓名\n".as_bytes()).unwrap(), (Cow::Borrowed("姓名\n"), Encoding::Utf8Bom));
    }

    #[test]
    fn gbk_is_read_as_gb18030() {
        // "姓名,鸦岭" in GBK, as Excel saves it on a Chinese Windows.
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,鸦岭\n张三,白沙\n");
        let (t, e) = decode(&gbk).unwrap();
        assert_eq!(e, Encoding::Gb18030);
        assert_eq!(t, "姓名,鸦岭\n张三,白沙\n");
    }

    #[test]
    fn neither_is_refused_with_its_line() {
        // 0xFF is neither UTF-8 nor a GB18030 lead byte.
        let bytes = b"a,b\n1,2\n\xFF\xFF,3\n";
        assert_eq!(decode(bytes).unwrap_err(), DecodeError::Unknown { line: 3 });
        assert_eq!(decode(b"\xFF\xFEa\x00").unwrap_err(), DecodeError::Utf16);
    }
}
