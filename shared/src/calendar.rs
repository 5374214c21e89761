//! Calendars: which days count when a rule says "3 days", "3 working days" or "one week".
//!
//! The rules of the source documents count in different units: 沙坡头 counts plain days
//! (004 第七条 "3天内", "7天", "超过15日"), 姚安 counts working days of the school term
//! (000 §三(二) "上学期间连续超过3个工作日"), 荔浦 a week (002 §四(一) "一周内"). A
//! [`Calendar`] knows China's statutory holidays and make-up working days (调休) from an embedded
//! table (`data/holidays-cn.toml`, replaceable by a file), the county's school vacations, and
//! the day the school year starts, and counts and adds days in the unit its [`DayKind`] names.
//!
//! Day counting is *elapsed* counting everywhere: day 0 is the anchor (the first unexcused
//! absence, or the day a notice was served) and on day `k` the child has missed `k` whole days.
//! "Not back after 3 days" is day 3; "more than 15 days" (超过15日) is day 16.
//!
//! Days with no school stop every clock, whatever the unit (issue 13): no child misses school
//! while it is closed, so weekends, statutory holidays, vacations and local closures are never
//! counted, and an absence on the last days before the summer vacation reaches day 7 only in
//! the autumn term. Make-up working days (调休上班日) are school days and count.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::dates::{Date, SchoolYear, SchoolYearStart};

/// The statutory holiday table shipped with the program (see the file's header).
pub const BUILTIN_HOLIDAYS: &str = include_str!("../data/holidays-cn.toml");

/// No rule counts further than this; it bounds every scan so that a misconfigured calendar (a
/// vacation covering the whole year) degrades to a wrong date instead of a hang.
const MAX_SCAN_DAYS: i64 = 3660;

#[derive(Debug, Error)]
pub enum CalendarError {
    #[error("节假日文件 {path} 无法读取：{source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("节假日文件格式错误：{0}")]
    Toml(#[from] toml::de::Error),
    #[error("节假日数据错误（{year} 年）：{reason}")]
    Invalid { year: i32, reason: String },
    #[error("月日「{0}」无效：应为 MM-DD 格式的真实月日（如 09-01）")]
    MonthDay(String),
    #[error("日期「{0}」无效：应为 MM-DD（每年重复）或 YYYY-MM-DD（某一年）")]
    DayRef(String),
    #[error("假期「{name}」无效：{reason}")]
    Vacation { name: String, reason: String },
    #[error("停课「{name}」无效：{reason}")]
    Closure { name: String, reason: String },
}

// --- month-day and day references --------------------------------------------------------------

/// A day of the year without a year (`MM-DD`), for things that recur every year: the start of
/// the school year, a typical vacation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    /// Checked constructor; 02-29 is allowed (it falls on 02-28 in common years).
    pub fn new(month: u32, day: u32) -> Result<MonthDay, CalendarError> {
        // 2000 is a leap year, so every real month-day is a valid date in it.
        if NaiveDate::from_ymd_opt(2000, month, day).is_none() {
            return Err(CalendarError::MonthDay(format!("{month:02}-{day:02}")));
        }
        Ok(MonthDay { month, day })
    }

    pub fn parse(s: &str) -> Result<MonthDay, CalendarError> {
        let t = s.trim();
        let bad = || CalendarError::MonthDay(t.to_string());
        let ok_shape =
            t.len() == 5 && t.bytes().enumerate().all(|(i, b)| if i == 2 { b == b'-' } else { b.is_ascii_digit() });
        if !ok_shape {
            return Err(bad());
        }
        let month = t[..2].parse().map_err(|_| bad())?;
        let day = t[3..].parse().map_err(|_| bad())?;
        MonthDay::new(month, day).map_err(|_| bad())
    }

    pub fn tuple(self) -> (u32, u32) {
        (self.month, self.day)
    }

    /// This month-day in a given year (02-29 becomes 02-28 in a common year).
    pub fn in_year(self, year: i32) -> Date {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
            .map(Date)
            .unwrap_or_else(|| Date::ymd(year, 1, 1))
    }

    pub fn of(d: Date) -> MonthDay {
        MonthDay { month: d.month(), day: d.day() }
    }
}

/// The start of the school year is a month-day of the policy's calendar.
impl From<MonthDay> for SchoolYearStart {
    fn from(md: MonthDay) -> SchoolYearStart {
        (md.month, md.day).into()
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl Serialize for MonthDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MonthDay::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One end of a vacation: recurring (`MM-DD`, every year) or a dated day (`YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayRef {
    Every(MonthDay),
    On(Date),
}

impl DayRef {
    pub fn parse(s: &str) -> Result<DayRef, CalendarError> {
        let t = s.trim();
        match t.len() {
            5 => MonthDay::parse(t).map(DayRef::Every),
            10 => Date::parse(t).map(DayRef::On).map_err(|_| CalendarError::DayRef(t.to_string())),
            _ => Err(CalendarError::DayRef(t.to_string())),
        }
    }
}

impl fmt::Display for DayRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayRef::Every(md) => write!(f, "{md}"),
            DayRef::On(d) => write!(f, "{d}"),
        }
    }
}

impl Serialize for DayRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DayRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DayRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A school vacation (寒假, 暑假 …), inclusive at both ends. Either both ends recur every year
/// (`01-20` … `02-15`; a range may wrap the year end, `12-28` … `01-03`) or both are dated
/// (`2026-01-24` … `2026-02-28`) so a county can enter its education bureau's exact calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vacation {
    pub name: String,
    pub from: DayRef,
    pub to: DayRef,
}

impl Vacation {
    pub fn recurring(name: &str, from: (u32, u32), to: (u32, u32)) -> Result<Vacation, CalendarError> {
        let v = Vacation {
            name: name.to_string(),
            from: DayRef::Every(MonthDay::new(from.0, from.1)?),
            to: DayRef::Every(MonthDay::new(to.0, to.1)?),
        };
        v.validate()?;
        Ok(v)
    }

    pub fn dated(name: &str, from: Date, to: Date) -> Result<Vacation, CalendarError> {
        let v = Vacation { name: name.to_string(), from: DayRef::On(from), to: DayRef::On(to) };
        v.validate()?;
        Ok(v)
    }

    /// Both ends of one kind; a dated range in order; no vacation longer than 200 days (a longer
    /// one is a typo, and would leave no school days to count).
    pub fn validate(&self) -> Result<(), CalendarError> {
        let err = |reason: &str| CalendarError::Vacation { name: self.name.clone(), reason: reason.to_string() };
        let len = match (self.from, self.to) {
            (DayRef::Every(a), DayRef::Every(b)) => {
                let start = a.in_year(2001);
                let end = if b >= a { b.in_year(2001) } else { b.in_year(2002) };
                end.days_since(start)
            }
            (DayRef::On(a), DayRef::On(b)) => {
                if b < a {
                    return Err(err("结束日期早于开始日期"));
                }
                b.days_since(a)
            }
            _ => return Err(err("起止日期须同为 MM-DD（每年）或同为 YYYY-MM-DD")),
        };
        if len > 200 {
            return Err(err("假期超过 200 天"));
        }
        Ok(())
    }

    pub fn contains(&self, d: Date) -> bool {
        match (self.from, self.to) {
            (DayRef::On(a), DayRef::On(b)) => a <= d && d <= b,
            (DayRef::Every(a), DayRef::Every(b)) => {
                let md = MonthDay::of(d);
                if a <= b {
                    a <= md && md <= b
                } else {
                    md >= a || md <= b
                }
            }
            _ => false,
        }
    }

    /// The occurrence that starts in `year`, as dated bounds.
    pub fn occurrence(&self, year: i32) -> Option<(Date, Date)> {
        match (self.from, self.to) {
            (DayRef::On(a), DayRef::On(b)) => (a.year() == year).then_some((a, b)),
            (DayRef::Every(a), DayRef::Every(b)) => {
                let end_year = if b >= a { year } else { year + 1 };
                Some((a.in_year(year), b.in_year(end_year)))
            }
            _ => None,
        }
    }
}

/// The default vacations when a policy names none. The source documents give no vacation dates
/// (they vary by province and year), so these are the typical ones for rural schools: 寒假 from
/// late January to mid February, 暑假 from mid July to 31 August. A county should replace them
/// with its bureau's dated calendar.
pub fn default_vacations() -> Vec<Vacation> {
    vec![
        Vacation {
            name: "寒假".into(),
            from: DayRef::Every(MonthDay { month: 1, day: 20 }),
            to: DayRef::Every(MonthDay { month: 2, day: 15 }),
        },
        Vacation {
            name: "暑假".into(),
            from: DayRef::Every(MonthDay { month: 7, day: 15 }),
            to: DayRef::Every(MonthDay { month: 8, day: 31 }),
        },
    ]
}

/// A local closure (停课): days the county's schools do not open although the State Council
/// calendar says they are working days — a snow day, a flood, an epidemic. Entered by the
/// county (`baoxue-hub policy closure`), shipped to the nodes with the policy; like a
/// vacation it stops every clock, and an absence on it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Closure {
    pub name: String,
    pub from: Date,
    pub to: Date,
}

impl Closure {
    /// Named, in order, at most 60 days (a longer one is a vacation or a typo).
    pub fn new(name: &str, from: Date, to: Date) -> Result<Closure, CalendarError> {
        let c = Closure { name: name.trim().to_string(), from, to };
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), CalendarError> {
        let err = |reason: &str| CalendarError::Closure { name: self.name.clone(), reason: reason.to_string() };
        if self.name.is_empty() {
            return Err(err("须写明停课原因（如：雪天停课）"));
        }
        if self.to < self.from {
            return Err(err("结束日期早于开始日期"));
        }
        if self.to.days_since(self.from) >= 60 {
            return Err(err("停课超过 60 天（长假请设为假期）"));
        }
        Ok(())
    }
}

/// The school year starts on 1 September (docs/FORMULAS.md); a policy may say otherwise.
pub const DEFAULT_SCHOOL_YEAR_START: MonthDay = MonthDay { month: 9, day: 1 };

// --- the statutory holiday table ----------------------------------------------------------------

/// One block of statutory rest days (the festival and the weekend days folded into it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub name: String,
    pub from: Date,
    pub to: Date,
}

/// One year's arrangement as the State Council publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayYear {
    pub year: i32,
    /// Not yet published when written: festival days only, no bridging or make-up days.
    #[serde(default)]
    pub provisional: bool,
    #[serde(default)]
    pub source: String,
    pub holidays: Vec<Holiday>,
    /// 调休上班日: weekend days that are working days (and school days).
    #[serde(default)]
    pub makeup_workdays: Vec<Date>,
}

impl HolidayYear {
    fn validate(&self) -> Result<(), CalendarError> {
        let err = |reason: String| CalendarError::Invalid { year: self.year, reason };
        let mut days = BTreeSet::new();
        for h in &self.holidays {
            if h.to < h.from {
                return Err(err(format!("「{}」结束日期 {} 早于开始日期 {}", h.name, h.to, h.from)));
            }
            if h.from.year() != self.year {
                return Err(err(format!("「{}」开始日期 {} 不在 {} 年", h.name, h.from, self.year)));
            }
            if h.to.days_since(h.from) > 15 {
                return Err(err(format!("「{}」超过 15 天", h.name)));
            }
            let mut d = h.from;
            while d <= h.to {
                days.insert(d);
                d = d.add_days(1);
            }
        }
        for m in &self.makeup_workdays {
            if m.year() != self.year {
                return Err(err(format!("调休上班日 {m} 不在 {} 年", self.year)));
            }
            if !matches!(m.0.weekday(), Weekday::Sat | Weekday::Sun) {
                return Err(err(format!("调休上班日 {m} 不是周末（周一至周五本来就上班）")));
            }
            if days.contains(m) {
                return Err(err(format!("{m} 既是放假日又是调休上班日")));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize, Serialize)]
struct HolidayFile {
    #[serde(default)]
    year: Vec<HolidayYear>,
}

/// Statutory holidays and make-up working days by year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayTable {
    pub years: BTreeMap<i32, HolidayYear>,
}

impl HolidayTable {
    /// The embedded table (`data/holidays-cn.toml`), parsed once.
    pub fn builtin() -> &'static HolidayTable {
        static TABLE: OnceLock<HolidayTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            // The embedded file is checked by the tests; failing here is a build defect.
            HolidayTable::from_toml_str(BUILTIN_HOLIDAYS).expect("embedded holidays-cn.toml is valid")
        })
    }

    pub fn from_toml_str(s: &str) -> Result<HolidayTable, CalendarError> {
        let file: HolidayFile = toml::from_str(s)?;
        HolidayTable::from_years(file.year)
    }

    /// Reads a replacement table in the format of `data/holidays-cn.toml`.
    pub fn load(path: &Path) -> Result<HolidayTable, CalendarError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CalendarError::Io { path: path.to_path_buf(), source })?;
        HolidayTable::from_toml_str(&text)
    }

    pub fn from_years(years: Vec<HolidayYear>) -> Result<HolidayTable, CalendarError> {
        let mut t = HolidayTable::default();
        for y in years {
            y.validate()?;
            let year = y.year;
            if t.years.insert(year, y).is_some() {
                return Err(CalendarError::Invalid { year, reason: "年份重复".into() });
            }
        }
        Ok(t)
    }

    /// This table with whole years replaced or added by `over` (a county's own data wins).
    pub fn overlaid(&self, over: &[HolidayYear]) -> Result<HolidayTable, CalendarError> {
        let mut t = self.clone();
        for y in over {
            y.validate()?;
            t.years.insert(y.year, y.clone());
        }
        Ok(t)
    }

    pub fn to_toml(&self) -> String {
        let file = HolidayFile { year: self.years.values().cloned().collect() };
        toml::to_string(&file).unwrap_or_default()
    }
}

// --- the calendar -------------------------------------------------------------------------------

/// The unit a rule counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// The days of 004 第七条 and 002 §四(一) ("3天", "一周"). Since issue 13 a day with no
    /// school never counts toward a clock, so this counts school days like the others; the
    /// name is kept so that policy files naming it still load.
    CalendarDays,
    /// Statutory working days: Monday–Friday and make-up days, less statutory holidays; like
    /// every unit it stops in school vacations, so for counting it is the same as `SchoolDays`
    /// (kept so that policy files naming it still load).
    WorkingDays,
    /// Working days outside school vacations: the days a child is expected at school
    /// (000 §三(二) "上学期间 … 工作日"). A make-up Saturday in term time counts.
    SchoolDays,
}

impl DayKind {
    /// The unit in messages ("已 4 个上学日"): every kind counts school days.
    pub fn unit(self) -> &'static str {
        "个上学日"
    }
}

/// A county's calendar: statutory holidays, make-up days, vacations, school-year start, and the
/// unit its rules count in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub kind: DayKind,
    /// Statutory rest days, each with its holiday's name.
    pub holidays: BTreeMap<Date, String>,
    pub makeup_workdays: BTreeSet<Date>,
    pub vacations: Vec<Vacation>,
    pub school_year_start: MonthDay,
    /// Years the holiday table covers, and whether each is provisional.
    pub years: BTreeMap<i32, bool>,
    /// Local closures (停课), day by day, each with its name.
    pub closures: BTreeMap<Date, String>,
}

impl Calendar {
    pub fn new(
        kind: DayKind,
        table: &HolidayTable,
        vacations: Vec<Vacation>,
        school_year_start: MonthDay,
    ) -> Result<Calendar, CalendarError> {
        for v in &vacations {
            v.validate()?;
        }
        let mut holidays = BTreeMap::new();
        let mut makeup_workdays = BTreeSet::new();
        let mut years = BTreeMap::new();
        for y in table.years.values() {
            years.insert(y.year, y.provisional);
            for h in &y.holidays {
                let mut d = h.from;
                while d <= h.to {
                    holidays.insert(d, h.name.clone());
                    d = d.add_days(1);
                }
            }
            makeup_workdays.extend(y.makeup_workdays.iter().copied());
        }
        Ok(Calendar { kind, holidays, makeup_workdays, vacations, school_year_start, years, closures: BTreeMap::new() })
    }

    /// This calendar with local closures ([`Closure`]) added.
    pub fn with_closures(mut self, closures: &[Closure]) -> Result<Calendar, CalendarError> {
        for c in closures {
            c.validate()?;
            let mut d = c.from;
            while d <= c.to {
                self.closures.insert(d, c.name.clone());
                d = d.add_days(1);
            }
        }
        Ok(self)
    }

    /// The built-in holidays, the default vacations and a 1 September school year.
    pub fn standard(kind: DayKind) -> Calendar {
        Calendar::new(kind, HolidayTable::builtin(), default_vacations(), DEFAULT_SCHOOL_YEAR_START)
            .expect("default vacations are valid")
    }

    /// A statutory working day: a make-up day, or Monday–Friday that is not a holiday.
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.makeup_workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains_key(&d) {
            return false;
        }
        !matches!(d.0.weekday(), Weekday::Sat | Weekday::Sun)
    }

    pub fn holiday_name(&self, d: Date) -> Option<&str> {
        self.holidays.get(&d).map(String::as_str)
    }

    pub fn in_vacation(&self, d: Date) -> bool {
        self.vacation_of(d).is_some()
    }

    pub fn vacation_of(&self, d: Date) -> Option<&Vacation> {
        self.vacations.iter().find(|v| v.contains(d))
    }

    /// A day a child is expected at school: a working day (make-up Saturdays included) outside
    /// every vacation and local closure.
    pub fn is_school_day(&self, d: Date) -> bool {
        self.is_working_day(d) && !self.in_vacation(d) && !self.closures.contains_key(&d)
    }

    /// Why `d` is no school day, in words for a message ("星期六", "国庆节", "暑假", "雪天停课");
    /// none on a school day.
    pub fn no_school_reason(&self, d: Date) -> Option<String> {
        if self.is_school_day(d) {
            return None;
        }
        if let Some(c) = self.closures.get(&d) {
            return Some(format!("停课：{c}"));
        }
        if let Some(v) = self.vacation_of(d) {
            return Some(v.name.clone());
        }
        if let Some(h) = self.holiday_name(d) {
            return Some(format!("{h}放假"));
        }
        Some(match d.0.weekday() {
            Weekday::Sat => "星期六".into(),
            Weekday::Sun => "星期日".into(),
            _ => "非上学日".into(),
        })
    }

    /// Whether `d` is one of the days a clock counts.
    ///
    /// Every kind counts school days only (issue 13): a day with no school — weekend,
    /// statutory holiday, vacation, local closure — never counts toward any clock, in any
    /// preset; a make-up working day in term counts.
    pub fn counts(&self, d: Date) -> bool {
        self.is_school_day(d)
    }

    /// Whether the holiday table covers `year` (published or provisional). For a year it does
    /// not, weekends alone are days off and the county must load the State Council's notice
    /// (`baoxue-hub policy holidays FILE`).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// A line saying the calendar needs updating for `d`'s year, if it does: the year is not
    /// in the holiday table, or only provisionally (festival days, no make-up days).
    pub fn needs_update(&self, d: Date) -> Option<String> {
        let y = d.year();
        match self.years.get(&y) {
            None => Some(format!(
                "节假日日历未收录 {y} 年：目前只按周末计算不上学日，请载入国务院办公厅 {y} 年节假日安排通知（baoxue-hub policy holidays 文件）"
            )),
            Some(true) => Some(format!(
                "{y} 年节假日安排为暂定（仅含法定节日，未含调休）：国务院通知发布后请载入（baoxue-hub policy holidays 文件）"
            )),
            Some(false) => None,
        }
    }

    /// Days elapsed from day 0 (`from`) to `to`, in this calendar's unit: the number of counted
    /// days after `from` up to and including `to`. Zero when `to <= from`.
    pub fn count_days(&self, from: Date, to: Date) -> i64 {
        if to <= from {
            return 0;
        }
        let span = to.days_since(from).min(MAX_SCAN_DAYS);
        (1..=span).filter(|&i| self.counts(from.add_days(i))).count() as i64
    }

    /// The day on which `n` days (in this calendar's unit) have elapsed since `from`: the
    /// `n`-th counted day after `from` (`n = 0` gives `from`).
    pub fn add_days(&self, from: Date, n: u32) -> Date {
        if n == 0 {
            return from;
        }
        let mut left = n;
        let mut d = from;
        for _ in 0..MAX_SCAN_DAYS {
            d = d.add_days(1);
            if self.counts(d) {
                left -= 1;
                if left == 0 {
                    return d;
                }
            }
        }
        d
    }

    /// The first school day on or after `d`.
    pub fn next_school_day(&self, d: Date) -> Date {
        let mut x = d;
        for _ in 0..MAX_SCAN_DAYS {
            if self.is_school_day(x) {
                return x;
            }
            x = x.add_days(1);
        }
        d
    }

    /// The last school day strictly before `d`.
    pub fn previous_school_day(&self, d: Date) -> Date {
        let mut x = d.add_days(-1);
        for _ in 0..MAX_SCAN_DAYS {
            if self.is_school_day(x) {
                return x;
            }
            x = x.add_days(-1);
        }
        d.add_days(-1)
    }

    /// The first day of every school year under this calendar.
    pub fn year_start(&self) -> SchoolYearStart {
        self.school_year_start.into()
    }

    /// The school year `d` falls in (named by its first calendar year): [`SchoolYear::of`].
    pub fn school_year_of(&self, d: Date) -> SchoolYear {
        SchoolYear::of(d, self.year_start())
    }

    pub fn school_year_start_date(&self, y: SchoolYear) -> Date {
        y.first_day(self.year_start())
    }

    /// The start of the term `d` is in (开学): the first school day after the latest vacation
    /// that ended before `d`, or of the school year if that is later. Used by "within N days of
    /// term start" rules (000 §三(二), 003 §二(五)).
    pub fn term_start_on_or_before(&self, d: Date) -> Date {
        let mut best = self.next_school_day(self.school_year_start_date(self.school_year_of(d)));
        if best > d {
            best = self.school_year_start_date(self.school_year_of(d));
        }
        for y in [d.year() - 1, d.year()] {
            for v in &self.vacations {
                if let Some((_, end)) = v.occurrence(y) {
                    if end < d {
                        let start = self.next_school_day(end.add_days(1));
                        if start <= d && start > best {
                            best = start;
                        }
                    }
                }
            }
        }
        best
    }

    /// True when the holiday arrangement of `d`'s year is provisional or unknown, so counts
    /// across it may change once the State Council publishes the year.
    pub fn is_provisional(&self, d: Date) -> bool {
        self.years.get(&d.year()).copied().unwrap_or(true)
    }

    /// True when a count of school days from `from` to `to` relies on a provisional or
    /// unknown year of the holiday table.
    pub fn provisional_between(&self, from: Date, to: Date) -> bool {
        let (a, b) = if from <= to { (from, to) } else { (to, from) };
        (a.year()..=b.year()).any(|y| self.years.get(&y).copied().unwrap_or(true))
    }

    /// The terms (学期) around `d`, oldest first, as (first school day, last day before the
    /// next vacation): a term runs from the end of one vacation to the start of the next.
    /// Without vacations there are no terms.
    pub fn terms_around(&self, d: Date) -> Vec<(Date, Date)> {
        let mut vs: Vec<(Date, Date)> = (d.year() - 2..=d.year() + 1)
            .flat_map(|y| self.vacations.iter().filter_map(move |v| v.occurrence(y)))
            .collect();
        vs.sort();
        vs.dedup();
        vs.windows(2)
            .filter_map(|w| {
                let start = self.next_school_day(w[0].1.add_days(1));
                let end = w[1].0.add_days(-1);
                (start <= end).then_some((start, end))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn working() -> Calendar {
        Calendar::standard(DayKind::WorkingDays)
    }

    #[test]
    fn embedded_table_parses_and_covers_three_years() {
        let t = HolidayTable::builtin();
        assert_eq!(t.years.keys().copied().collect::<Vec<_>>(), vec![2025, 2026, 2027]);
        assert!(!t.years[&2025].provisional);
        assert!(!t.years[&2026].provisional);
        assert!(t.years[&2027].provisional);
        assert!(t.years[&2027].makeup_workdays.is_empty());
        // 2027: the statutory festival days only (2025 revision: 元旦 1, 春节 4, 清明 1, 劳动节 2,
        // 端午 1, 中秋 1, 国庆 3 = 13 days), by the lunar calendar.
        let days: Vec<(String, i64)> =
            t.years[&2027].holidays.iter().map(|h| (h.name.clone(), h.to.days_since(h.from) + 1)).collect();
        let total: i64 = days.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 13, "{days:?}");
        let c = working();
        for day in ["2027-01-01", "2027-02-05", "2027-02-08", "2027-04-05", "2027-06-09", "2027-09-15", "2027-10-01"] {
            assert!(c.holiday_name(d(day)).is_some(), "{day}");
        }
        for day in ["2027-02-04", "2027-02-09", "2027-05-03", "2027-10-04", "2027-06-10", "2027-09-16"] {
            assert!(c.holiday_name(d(day)).is_none(), "{day} is no statutory day");
        }
        // 2025 and 2026 as published (国办发明电〔2024〕12号, 〔2025〕7号): days off in total.
        let off = |y: i32| t.years[&y].holidays.iter().map(|h| h.to.days_since(h.from) + 1).sum::<i64>();
        assert_eq!((off(2025), off(2026)), (28, 33));
        assert_eq!(t.years[&2025].makeup_workdays.len(), 5);
        assert_eq!(t.years[&2026].makeup_workdays.len(), 6);
        // Round trip through the writer.
        assert_eq!(&HolidayTable::from_toml_str(&t.to_toml()).unwrap(), t);
    }

    #[test]
    fn weekends_are_not_working_days() {
        let c = working();
        assert!(c.is_working_day(d("2026-03-06"))); // Friday
        assert!(!c.is_working_day(d("2026-03-07"))); // Saturday
        assert!(!c.is_working_day(d("2026-03-08"))); // Sunday
        assert!(c.is_working_day(d("2026-03-09"))); // Monday
    }

    #[test]
    fn holidays_are_not_working_days() {
        let c = working();
        assert!(!c.is_working_day(d("2026-10-05"))); // 国庆, a Monday
        assert_eq!(c.holiday_name(d("2026-10-05")), Some("国庆节"));
        assert!(!c.is_working_day(d("2025-10-08"))); // 国庆中秋 2025, a Wednesday
        assert!(!c.is_working_day(d("2026-01-02"))); // 元旦 2026, a Friday
        assert!(c.is_working_day(d("2026-10-08"))); // back to work
                                                    // 2027 is provisional: the statutory festival days only (端午 2027-06-09, a Wednesday).
        assert!(!c.is_working_day(d("2027-06-09")));
        assert!(c.is_working_day(d("2027-06-10")));
        assert!(c.is_provisional(d("2027-06-09")));
        assert!(!c.is_provisional(d("2026-06-09")));
        assert!(c.is_provisional(d("2030-01-01"))); // unknown year: weekends only
        assert!(c.is_working_day(d("2030-01-01")));
    }

    #[test]
    fn makeup_saturday_is_a_working_and_school_day() {
        let c = working();
        // 2026-10-10 is a Saturday make-up day for 国庆.
        assert!(c.is_working_day(d("2026-10-10")));
        assert!(c.is_school_day(d("2026-10-10")));
        // 2026-09-20 is a Sunday make-up day.
        assert!(c.is_working_day(d("2026-09-20")));
        // 2026-02-14 is a make-up Saturday, but inside the default winter vacation.
        assert!(c.is_working_day(d("2026-02-14")));
        assert!(!c.is_school_day(d("2026-02-14")));
        // 2025-01-26 (Sunday) and 2025-02-08 (Saturday) for 春节 2025.
        assert!(c.is_working_day(d("2025-01-26")));
        assert!(c.is_working_day(d("2025-02-08")));
    }

    #[test]
    fn vacations() {
        let c = Calendar::standard(DayKind::SchoolDays);
        assert!(c.in_vacation(d("2026-07-20")));
        assert!(c.in_vacation(d("2026-08-31")));
        assert!(!c.in_vacation(d("2026-09-01")));
        assert!(c.in_vacation(d("2026-01-20")));
        assert!(!c.in_vacation(d("2026-01-19")));
        assert!(!c.is_school_day(d("2026-07-20"))); // a Monday in the summer vacation
        assert!(c.is_working_day(d("2026-07-20")));
        // Wrapping and dated vacations.
        let w = Vacation::recurring("年末", (12, 28), (1, 3)).unwrap();
        assert!(w.contains(d("2026-12-30")) && w.contains(d("2027-01-02")) && !w.contains(d("2027-01-04")));
        let x = Vacation::dated("寒假", d("2026-01-24"), d("2026-02-28")).unwrap();
        assert!(x.contains(d("2026-02-01")) && !x.contains(d("2027-02-01")));
        assert!(Vacation::dated("错", d("2026-02-01"), d("2026-01-01")).is_err());
        assert!(Vacation::recurring("错", (2, 30), (3, 1)).is_err());
        assert!(Vacation::recurring("太长", (1, 1), (12, 1)).is_err());
    }

    /// Issue 13: "calendar_days" no longer counts weekends or holidays. Day 0 Mon 2026-03-02:
    /// the 3rd counted day is Thu 03-05, the 5th Mon 03-09 (the weekend skipped), the 16th Mon
    /// 03-23; 清明 (04-04 … 04-06) and 暑假 are skipped; the day before, of and after each.
    #[test]
    fn calendar_days_count_school_days_only() {
        let c = Calendar::standard(DayKind::CalendarDays);
        assert_eq!(c.count_days(d("2026-03-02"), d("2026-03-05")), 3);
        assert_eq!(c.count_days(d("2026-03-05"), d("2026-03-02")), 0);
        assert_eq!(c.add_days(d("2026-03-02"), 4), d("2026-03-06"));
        assert_eq!(c.add_days(d("2026-03-02"), 5), d("2026-03-09"));
        assert_eq!(c.count_days(d("2026-03-02"), d("2026-03-07")), 4, "Saturday does not count");
        assert_eq!(c.count_days(d("2026-03-02"), d("2026-03-08")), 4, "Sunday does not count");
        assert_eq!(c.count_days(d("2026-03-02"), d("2026-03-09")), 5);
        assert_eq!(c.add_days(d("2026-03-02"), 16), d("2026-03-24"));
        // Holidays: Fri 04-03 then Tue 04-07.
        assert_eq!(c.add_days(d("2026-04-02"), 1), d("2026-04-03"));
        assert_eq!(c.add_days(d("2026-04-02"), 2), d("2026-04-07"));
        // Vacations (暑假 07-15 … 08-31): Fri 07-10, Mon 13, Tue 14, then Tue 09-01.
        assert_eq!(c.add_days(d("2026-07-10"), 2), d("2026-07-14"));
        assert_eq!(c.add_days(d("2026-07-10"), 3), d("2026-09-01"));
        assert_eq!(c.count_days(d("2026-07-10"), d("2026-08-31")), 2);
        assert_eq!(c.count_days(d("2026-07-10"), d("2026-09-01")), 3);
        // A make-up Saturday (2026-10-10) counts; a local closure does not.
        assert_eq!(c.count_days(d("2026-10-09"), d("2026-10-10")), 1);
        let snow =
            c.clone().with_closures(&[Closure::new("雪天停课", d("2026-03-03"), d("2026-03-03")).unwrap()]).unwrap();
        assert_eq!(snow.count_days(d("2026-03-02"), d("2026-03-02")), 0);
        assert_eq!(snow.count_days(d("2026-03-02"), d("2026-03-03")), 0);
        assert_eq!(snow.count_days(d("2026-03-02"), d("2026-03-04")), 1);
        // Every kind counts the same days.
        for k in [DayKind::WorkingDays, DayKind::SchoolDays] {
            assert_eq!(Calendar::standard(k).add_days(d("2026-03-02"), 16), d("2026-03-24"));
        }
    }

    #[test]
    fn provisional_years_show_whatever_the_kind() {
        for k in [DayKind::SchoolDays, DayKind::CalendarDays] {
            let s = Calendar::standard(k);
            assert!(s.provisional_between(d("2026-12-28"), d("2027-01-05")));
            assert!(!s.provisional_between(d("2026-03-01"), d("2026-04-01")));
        }
    }

    #[test]
    fn terms_run_between_vacations() {
        let c = Calendar::standard(DayKind::CalendarDays);
        let terms = c.terms_around(d("2026-03-10"));
        // Autumn 2025: Mon 09-01 … 01-19. Spring 2026: 寒假 ends 02-15 but 春节 runs to 02-23,
        // so the first school day is 02-24; the term ends the day before 暑假 (07-15).
        assert!(terms.contains(&(d("2025-09-01"), d("2026-01-19"))), "{terms:?}");
        assert!(terms.contains(&(d("2026-02-24"), d("2026-07-14"))), "{terms:?}");
        assert!(Calendar::new(DayKind::CalendarDays, HolidayTable::builtin(), vec![], DEFAULT_SCHOOL_YEAR_START)
            .unwrap()
            .terms_around(d("2026-03-10"))
            .is_empty());
    }

    #[test]
    fn count_and_add_working_days_across_weekend_and_holiday() {
        let c = working();
        // Wed 2026-04-01: Thu 2, Fri 3, (Sat 4 – Mon 6 清明), Tue 7.
        assert_eq!(c.add_days(d("2026-04-01"), 1), d("2026-04-02"));
        assert_eq!(c.add_days(d("2026-04-01"), 2), d("2026-04-03"));
        assert_eq!(c.add_days(d("2026-04-01"), 3), d("2026-04-07"));
        assert_eq!(c.count_days(d("2026-04-01"), d("2026-04-06")), 2);
        assert_eq!(c.count_days(d("2026-04-01"), d("2026-04-07")), 3);
        // Across 国庆 2026 and the make-up Saturday 10-10.
        assert_eq!(c.add_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(c.add_days(d("2026-09-30"), 3), d("2026-10-10"));
        assert_eq!(c.count_days(d("2026-09-30"), d("2026-10-11")), 3);
        assert_eq!(c.add_days(d("2026-04-01"), 0), d("2026-04-01"));
    }

    #[test]
    fn school_days_skip_vacations() {
        let c = Calendar::standard(DayKind::SchoolDays);
        // Fri 2026-07-10, Mon 13, Tue 14, then the summer vacation from 07-15; school resumes
        // Tue 2026-09-01.
        assert_eq!(c.add_days(d("2026-07-10"), 2), d("2026-07-14"));
        assert_eq!(c.add_days(d("2026-07-10"), 3), d("2026-09-01"));
        assert_eq!(c.count_days(d("2026-07-10"), d("2026-08-31")), 2);
        assert_eq!(c.next_school_day(d("2026-07-20")), d("2026-09-01"));
        assert_eq!(c.previous_school_day(d("2026-09-01")), d("2026-07-14"));
    }

    #[test]
    fn term_starts() {
        let c = Calendar::standard(DayKind::SchoolDays);
        assert_eq!(c.term_start_on_or_before(d("2026-09-20")), d("2026-09-01"));
        // Winter vacation ends 02-15, but 春节 2026 runs to 02-23: school resumes 02-24.
        assert_eq!(c.term_start_on_or_before(d("2026-03-10")), d("2026-02-24"));
        assert_eq!(c.term_start_on_or_before(d("2025-03-10")), d("2025-02-17"));
        assert_eq!(c.school_year_of(d("2026-08-31")), SchoolYear(2025));
    }

    /// A snow day closes school: no school day, a reason for messages, not counted; the days
    /// around it unchanged (day −1 / day / day +1).
    #[test]
    fn closures_and_reasons() {
        let snow = Closure::new("雪天停课", d("2026-12-09"), d("2026-12-09")).unwrap();
        let c = Calendar::standard(DayKind::SchoolDays).with_closures(&[snow]).unwrap();
        assert!(c.is_school_day(d("2026-12-08")));
        assert!(!c.is_school_day(d("2026-12-09")));
        assert!(c.is_school_day(d("2026-12-10")));
        assert_eq!(c.no_school_reason(d("2026-12-09")).as_deref(), Some("停课：雪天停课"));
        assert_eq!(c.no_school_reason(d("2026-12-08")), None);
        assert_eq!(c.no_school_reason(d("2026-12-12")).as_deref(), Some("星期六"));
        assert_eq!(c.no_school_reason(d("2026-10-05")).as_deref(), Some("国庆节放假"));
        assert_eq!(c.no_school_reason(d("2026-07-20")).as_deref(), Some("暑假"));
        assert_eq!(c.no_school_reason(d("2026-10-10")), None, "a make-up Saturday is a school day");
        // Mon 12-07 + 2 school days skips the closed Wednesday.
        assert_eq!(c.add_days(d("2026-12-07"), 2), d("2026-12-10"));
        assert!(Closure::new("", d("2026-12-09"), d("2026-12-09")).is_err());
        assert!(Closure::new("x", d("2026-12-09"), d("2026-12-08")).is_err());
        // Years: 2026 published, 2027 provisional, 2030 unknown.
        assert_eq!(c.needs_update(d("2026-06-01")), None);
        assert!(c.needs_update(d("2027-06-01")).unwrap().contains("暂定"));
        assert!(c.needs_update(d("2030-06-01")).unwrap().contains("未收录 2030"));
        assert!(c.covers(2027) && !c.covers(2030));
    }

    #[test]
    fn bad_tables_are_rejected() {
        let bad = r#"
[[year]]
year = 2026
holidays = [{ name = "x", from = "2026-05-01", to = "2026-05-02" }]
makeup_workdays = ["2026-05-06"]
"#;
        let e = HolidayTable::from_toml_str(bad).unwrap_err();
        assert!(e.to_string().contains("不是周末"), "{e}");
        assert!(HolidayTable::from_toml_str(
            "[[year]]\nyear = 2026\nholidays = [{ name = \"x\", from = \"2025-05-01\", to = \"2025-05-02\" }]\n"
        )
        .is_err());
        assert!(matches!(HolidayTable::from_toml_str("year = ["), Err(CalendarError::Toml(_))));
        assert!(matches!(HolidayTable::load(Path::new("/nonexistent/h.toml")), Err(CalendarError::Io { .. })));
        assert!(MonthDay::parse("9-1").is_err());
        assert_eq!(MonthDay::parse("09-01").unwrap(), DEFAULT_SCHOOL_YEAR_START);
    }
}
