//! Dates as the domain uses them: strict `YYYY-MM-DD`, school years and ages (FORMULAS.md).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("日期 {0} 无效（应为 YYYY-MM-DD 格式的真实日期）")]
pub struct DateError(pub String);

/// A calendar day. Serialised as a day number so revisions stay small on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl Date {
    /// Strict parse: `2026-02-30` and `2026-2-3` are errors.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let t = s.trim();
        let ok_shape = t.len() == 10
            && t.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !ok_shape {
            return Err(DateError(t.to_string()));
        }
        NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Date).map_err(|_| DateError(t.to_string()))
    }

    pub fn ymd(y: i32, m: u32, d: u32) -> Date {
        Date(NaiveDate::from_ymd_opt(y, m, d).expect("valid literal date"))
    }

    /// Today in the users' time zone (China Standard Time, see [`users_now`]), whatever
    /// zone the computer is set to.
    pub fn today() -> Date {
        Date(users_now().date())
    }

    /// The day (UTC+8) of a clock reading in milliseconds since the Unix epoch.
    pub fn of_ms(ms: u64) -> Date {
        Date(users_time_of_ms(ms).date())
    }

    pub fn add_days(self, n: i64) -> Date {
        Date(self.0 + chrono::Duration::days(n))
    }

    pub fn days_since(self, earlier: Date) -> i64 {
        (self.0 - earlier.0).num_days()
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }
    pub fn month(self) -> u32 {
        self.0.month()
    }
    pub fn day(self) -> u32 {
        self.0.day()
    }
}

/// The users' time zone: all of China keeps UTC+8. Business days, nightly hours and printed
/// clock readings use it, so that a hub or a PC whose system zone is UTC (common on servers)
/// still agrees with the townships about which day it is.
pub const USERS_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// The wall-clock time now in the users' time zone.
pub fn users_now() -> chrono::NaiveDateTime {
    users_time_of_ms(crate::revision::now_ms())
}

/// The users' wall-clock time of a clock reading (ms since the Unix epoch).
pub fn users_time_of_ms(ms: u64) -> chrono::NaiveDateTime {
    let secs = (ms / 1000) as i64 + USERS_UTC_OFFSET_SECS;
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.naive_utc()).unwrap_or_default()
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            s.serialize_i32(self.0.num_days_from_ce())
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Date::parse(&s).map_err(serde::de::Error::custom)
        } else {
            let n = i32::deserialize(d)?;
            NaiveDate::from_num_days_from_ce_opt(n)
                .map(Date)
                .ok_or_else(|| serde::de::Error::custom("day number out of range"))
        }
    }
}

/// A school year, named by its first calendar year (2026 = 2026-09-01 … 2027-08-31).
pub type SchoolYear = i32;

/// The school year a day falls in, given the year's start (month, day); default (9, 1).
pub fn school_year_of(d: Date, start: (u32, u32)) -> SchoolYear {
    if (d.month(), d.day()) >= start {
        d.year()
    } else {
        d.year() - 1
    }
}

/// The first day of a school year.
pub fn school_year_start(y: SchoolYear, start: (u32, u32)) -> Date {
    Date::ymd(y, start.0, start.1)
}

/// Whole years (周岁) on the reference date 31 August of the school year's first year.
pub fn age_at_reference(birth: Date, y: SchoolYear) -> i32 {
    y - birth.year() - i32::from((birth.month(), birth.day()) > (8, 31))
}

/// 适龄: 6–15 at the reference date; 16 for home-delivered teaching (送教上门).
pub fn is_school_age(birth: Date, y: SchoolYear, home_delivered: bool) -> bool {
    let age = age_at_reference(birth, y);
    let max = if home_delivered { 16 } else { 15 };
    (6..=max).contains(&age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse() {
        assert!(Date::parse("2026-02-30").is_err());
        assert!(Date::parse("2026-2-3").is_err());
        assert!(Date::parse("2026/02/03").is_err());
        assert_eq!(Date::parse("2024-02-29").unwrap(), Date::ymd(2024, 2, 29));
    }

    #[test]
    fn school_year_and_age() {
        assert_eq!(school_year_of(Date::ymd(2026, 8, 31), (9, 1)), 2025);
        assert_eq!(school_year_of(Date::ymd(2026, 9, 1), (9, 1)), 2026);
        // Born 2020-08-31: 6 on 2026-08-31. Born 2020-09-01: still 5.
        assert_eq!(age_at_reference(Date::ymd(2020, 8, 31), 2026), 6);
        assert_eq!(age_at_reference(Date::ymd(2020, 9, 1), 2026), 5);
        assert!(is_school_age(Date::ymd(2010, 8, 31), 2026, true));
        assert!(!is_school_age(Date::ymd(2010, 8, 31), 2026, false));
    }

    #[test]
    fn binary_and_text_serde() {
        let d = Date::ymd(2026, 11, 22);
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2026-11-22\"");
        let bytes = bincode::serde::encode_to_vec(d, bincode::config::standard()).unwrap();
        assert!(bytes.len() <= 5, "{} bytes", bytes.len());
        let (back, _): (Date, usize) = bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, d);
    }
}
