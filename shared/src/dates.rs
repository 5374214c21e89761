//! Dates as the domain uses them: strict `YYYY-MM-DD`, school years and ages (docs/FORMULAS.md).

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
    /// zone the computer is set to; or the day [`TODAY_ENV`] names, so that tests (and a
    /// rehearsal of a past day) can fix "today" without touching the system clock.
    pub fn today() -> Date {
        std::env::var(TODAY_ENV).ok().and_then(|s| Date::parse(&s).ok()).unwrap_or_else(|| Date(users_now().date()))
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

/// The environment variable that fixes "today" (`BAOXUE_TODAY=2026-09-07`): read by
/// [`Date::today`] only, so every default date and the plausible-date rule follow it.
pub const TODAY_ENV: &str = "BAOXUE_TODAY";

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

/// The first day of every school year, as a month and day (the policy's
/// `calendar.school_year_start`; 09-01 unless a county says otherwise). Encoded as the pair
/// `(month, day)`, as the bare pair it replaces was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "(u32, u32)", into = "(u32, u32)")]
pub struct SchoolYearStart {
    month: u32,
    day: u32,
}

impl SchoolYearStart {
    /// 1 September.
    pub const DEFAULT: SchoolYearStart = SchoolYearStart { month: 9, day: 1 };

    /// `None` unless `month-day` is a day of some year (02-29 is: it falls on 02-28 in common
    /// years).
    pub fn new(month: u32, day: u32) -> Option<SchoolYearStart> {
        // 2000 is a leap year, so every real month-day is a valid date in it.
        NaiveDate::from_ymd_opt(2000, month, day).map(|_| SchoolYearStart { month, day })
    }
    pub fn month(self) -> u32 {
        self.month
    }
    pub fn day(self) -> u32 {
        self.day
    }
}

impl Default for SchoolYearStart {
    fn default() -> Self {
        SchoolYearStart::DEFAULT
    }
}

impl From<(u32, u32)> for SchoolYearStart {
    fn from((month, day): (u32, u32)) -> Self {
        SchoolYearStart { month, day }
    }
}

impl From<SchoolYearStart> for (u32, u32) {
    fn from(s: SchoolYearStart) -> Self {
        (s.month, s.day)
    }
}

/// A school year, named by its first calendar year (2026 = 2026-09-01 … 2027-08-31 under the
/// default start). Encoded as that bare year, in JSON and on disk alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SchoolYear(pub i32);

impl SchoolYear {
    /// The school year `d` falls in: the one definition (every other `school_year_of` asks
    /// this one). A day belongs to the year whose first day it is not before.
    pub fn of(d: Date, start: SchoolYearStart) -> SchoolYear {
        let y = SchoolYear(d.year());
        if d >= y.first_day(start) {
            y
        } else {
            y - 1
        }
    }

    /// The first day of this school year (02-29 becomes 02-28 in a common year).
    pub fn first_day(self, start: SchoolYearStart) -> Date {
        NaiveDate::from_ymd_opt(self.0, start.month, start.day)
            .or_else(|| NaiveDate::from_ymd_opt(self.0, start.month, start.day - 1))
            .map(Date)
            .unwrap_or_else(|| Date::ymd(self.0, 1, 1))
    }

    /// The calendar year it begins in.
    pub fn first_calendar_year(self) -> i32 {
        self.0
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `y + n`: the school year `n` years later.
impl std::ops::Add<i32> for SchoolYear {
    type Output = SchoolYear;
    fn add(self, n: i32) -> SchoolYear {
        SchoolYear(self.0 + n)
    }
}

/// `y - n`: the school year `n` years earlier.
impl std::ops::Sub<i32> for SchoolYear {
    type Output = SchoolYear;
    fn sub(self, n: i32) -> SchoolYear {
        SchoolYear(self.0 - n)
    }
}

/// `a - b`: how many school years `b` is before `a`.
impl std::ops::Sub for SchoolYear {
    type Output = i32;
    fn sub(self, b: SchoolYear) -> i32 {
        self.0 - b.0
    }
}

/// Whole years (周岁) on the reference date 31 August of the school year's first year.
pub fn age_at_reference(birth: Date, y: SchoolYear) -> i32 {
    y.first_calendar_year() - birth.year() - i32::from((birth.month(), birth.day()) > (8, 31))
}

/// 适龄: 6–15 at the reference date; 16 for home-delivered teaching (送教上门).
pub fn is_school_age(birth: Date, y: SchoolYear, home_delivered: bool) -> bool {
    let age = age_at_reference(birth, y);
    let max = if home_delivered { 16 } else { 15 };
    (6..=max).contains(&age)
}

// --- the plausible-date rule for writes ---------------------------------------------------------

/// How far after today (users' time zone) a recorded business date may be: 3 days, so that a
/// leave approved on a Friday can be entered for the Monday, while a mistyped year (2062) or
/// month is refused.
pub const MAX_DAYS_AHEAD: i64 = 3;

/// The youngest a child can be on a day something is recorded about them: 5 whole years (a
/// child who is 6 on 31 August starts school the next day, 5 years and some months old).
pub const MIN_AGE_YEARS: u32 = 5;

/// The oldest: 20 whole years. Compulsory schooling ends at 15 (16 for 送教上门, 002 §四(三)3);
/// repeated grades and late records leave room, a record about an adult does not.
pub const MAX_AGE_YEARS: u32 = 20;

/// What a write's business date is checked against: today, and what is known of the record it
/// writes (see [`plausible_write_date`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSubject {
    /// The child's birth date, if the record has one.
    pub birth: Option<Date>,
    /// The business date the record begins (a student's roster date, a case's opening day):
    /// nothing about it happens before the school year of that day.
    pub begins: Option<Date>,
    /// The school year's first day of the county's policy; default 09-01.
    pub year_start: SchoolYearStart,
}

impl WriteSubject {
    pub fn none() -> WriteSubject {
        WriteSubject { birth: None, begins: None, year_start: SchoolYearStart::DEFAULT }
    }
}

/// Why a business date cannot be recorded. Each message names the date and the bound.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImplausibleDate {
    #[error("业务日期 {date} 晚于今天（{today}）超过 {MAX_DAYS_AHEAD} 天，不能预先记录；请核对日期")]
    Future { date: Date, today: Date },
    #[error("业务日期 {date} 早于该记录的起始学年（{start} 起；记录建立于 {begins}）；请核对日期")]
    BeforeRecords { date: Date, start: Date, begins: Date },
    #[error("业务日期 {date} 时该学生未满 {MIN_AGE_YEARS} 周岁（出生日期 {birth}），不在就学年龄；请核对日期")]
    TooYoung { date: Date, birth: Date },
    #[error("业务日期 {date} 时该学生已满 {MAX_AGE_YEARS} 周岁（出生日期 {birth}），已过义务教育年龄；请核对日期")]
    TooOld { date: Date, birth: Date },
}

/// The one definition of a plausible business date for a write (`--date` of every recording
/// command, at the node and the hub). `today` is passed in (normally [`Date::today`], in the
/// users' time zone), so a test fixes it without the system clock.
///
/// - not more than [`MAX_DAYS_AHEAD`] days after `today`;
/// - not before the first day of the school year in which the record begins
///   ([`WriteSubject::begins`]): a roster entered in November may take the absences of that
///   September, not of an earlier year;
/// - within the child's plausible school years: at least [`MIN_AGE_YEARS`] and under
///   [`MAX_AGE_YEARS`] whole years old on that day.
///
/// Reports and alerts (`--as-of`) are free, past or future: this rule is for writes only.
pub fn plausible_write_date(date: Date, today: Date, subject: &WriteSubject) -> Result<(), ImplausibleDate> {
    if date.days_since(today) > MAX_DAYS_AHEAD {
        return Err(ImplausibleDate::Future { date, today });
    }
    if let Some(begins) = subject.begins {
        let start = SchoolYear::of(begins, subject.year_start).first_day(subject.year_start);
        if date < start {
            return Err(ImplausibleDate::BeforeRecords { date, start, begins });
        }
    }
    if let Some(birth) = subject.birth {
        let age = whole_years(birth, date);
        if age < i64::from(MIN_AGE_YEARS) {
            return Err(ImplausibleDate::TooYoung { date, birth });
        }
        if age >= i64::from(MAX_AGE_YEARS) {
            return Err(ImplausibleDate::TooOld { date, birth });
        }
    }
    Ok(())
}

/// Whole years (周岁) from `birth` to `on`.
pub fn whole_years(birth: Date, on: Date) -> i64 {
    i64::from(on.year() - birth.year()) - i64::from((on.month(), on.day()) < (birth.month(), birth.day()))
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
        let start = SchoolYearStart::DEFAULT;
        assert_eq!(SchoolYear::of(Date::ymd(2026, 8, 31), start), SchoolYear(2025));
        assert_eq!(SchoolYear::of(Date::ymd(2026, 9, 1), start), SchoolYear(2026));
        // Born 2020-08-31: 6 on 2026-08-31. Born 2020-09-01: still 5.
        assert_eq!(age_at_reference(Date::ymd(2020, 8, 31), SchoolYear(2026)), 6);
        assert_eq!(age_at_reference(Date::ymd(2020, 9, 1), SchoolYear(2026)), 5);
        assert!(is_school_age(Date::ymd(2010, 8, 31), SchoolYear(2026), true));
        assert!(!is_school_age(Date::ymd(2010, 8, 31), SchoolYear(2026), false));
    }

    /// A school year's first day is the first day of the school year it names, for every
    /// start the policy allows (02-29 included), and the types encode as the bare values they
    /// replaced (JSON, and the snapshot file's codec).
    #[test]
    fn one_definition_of_the_school_year_and_its_encoding() {
        for (m, d) in [(9, 1), (8, 15), (2, 29), (1, 1), (12, 31)] {
            let start = SchoolYearStart::new(m, d).unwrap();
            for y in 2023..2029 {
                let first = SchoolYear(y).first_day(start);
                assert_eq!(SchoolYear::of(first, start), SchoolYear(y), "{m:02}-{d:02} {y}");
                assert_eq!(SchoolYear::of(first.add_days(-1), start), SchoolYear(y - 1), "{m:02}-{d:02} {y}");
            }
        }
        assert!(SchoolYearStart::new(2, 30).is_none());
        assert_eq!(serde_json::to_string(&SchoolYear(2026)).unwrap(), "2026");
        assert_eq!(serde_json::from_str::<SchoolYear>("2026").unwrap(), SchoolYear(2026));
        let start = SchoolYearStart::DEFAULT;
        assert_eq!(crate::codec::encode(&start).unwrap(), crate::codec::encode(&(9u32, 1u32)).unwrap());
        assert_eq!(crate::codec::encode(&SchoolYear(2026)).unwrap(), crate::codec::encode(&2026i32).unwrap());
        assert_eq!(
            crate::codec::decode::<SchoolYearStart>(&crate::codec::encode(&(8u32, 20u32)).unwrap()).unwrap(),
            SchoolYearStart::new(8, 20).unwrap()
        );
    }

    /// Day −1 / day / day +1 around each bound of the plausible-date rule.
    #[test]
    fn plausible_write_dates() {
        let today = Date::ymd(2026, 9, 7);
        let none = WriteSubject::none();
        assert!(plausible_write_date(today.add_days(MAX_DAYS_AHEAD - 1), today, &none).is_ok());
        assert!(plausible_write_date(today.add_days(MAX_DAYS_AHEAD), today, &none).is_ok());
        let e = plausible_write_date(today.add_days(MAX_DAYS_AHEAD + 1), today, &none).unwrap_err();
        assert!(e.to_string().contains("2026-09-11") && e.to_string().contains("2026-09-07"), "{e}");
        // Far past with nothing known: allowed (history may be entered).
        assert!(plausible_write_date(Date::ymd(2019, 3, 1), today, &none).is_ok());

        // A record that begins on 2026-11-22 takes dates from 2026-09-01 on.
        let rec = WriteSubject { begins: Some(Date::ymd(2026, 11, 22)), ..none };
        assert!(plausible_write_date(Date::ymd(2026, 9, 1), Date::ymd(2026, 11, 22), &rec).is_ok());
        assert!(plausible_write_date(Date::ymd(2026, 9, 2), Date::ymd(2026, 11, 22), &rec).is_ok());
        let e = plausible_write_date(Date::ymd(2026, 8, 31), Date::ymd(2026, 11, 22), &rec).unwrap_err();
        assert!(matches!(e, ImplausibleDate::BeforeRecords { .. }) && e.to_string().contains("2026-09-01"), "{e}");

        // Born 2016-03-09: 5 on 2021-03-09, 20 on 2036-03-09.
        let child = WriteSubject { birth: Some(Date::ymd(2016, 3, 9)), ..none };
        let far = Date::ymd(2040, 1, 1);
        assert!(matches!(
            plausible_write_date(Date::ymd(2021, 3, 8), far, &child),
            Err(ImplausibleDate::TooYoung { .. })
        ));
        assert!(plausible_write_date(Date::ymd(2021, 3, 9), far, &child).is_ok());
        assert!(plausible_write_date(Date::ymd(2036, 3, 8), far, &child).is_ok());
        assert!(matches!(
            plausible_write_date(Date::ymd(2036, 3, 9), far, &child),
            Err(ImplausibleDate::TooOld { .. })
        ));
        assert_eq!(whole_years(Date::ymd(2016, 2, 29), Date::ymd(2017, 2, 28)), 0);
        assert_eq!(whole_years(Date::ymd(2016, 2, 29), Date::ymd(2017, 3, 1)), 1);
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
