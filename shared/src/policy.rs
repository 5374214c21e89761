//! County policies as data: which clock a county counts in, what each rung of a case's
//! escalation ladder asks of whom, the accountability thresholds and the reporting cadence.
//!
//! The five source documents disagree on almost every number (docs/DOMAIN.md "The escalation
//! ladder of one case"), so none of them is hard-coded: each is a preset TOML file under
//! `shared/data/policies/`, embedded in the program, and a county may write its own. The hub
//! ships its policy to the nodes as TOML text ([`Policy::to_toml`]) so that a township node,
//! offline, raises exactly the alerts the county does. Every rule carries the clause of the
//! document it comes from (`clause = "004 第七条"`), and every alert repeats it.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::calendar::{
    default_vacations, Calendar, CalendarError, Closure, DayKind, HolidayTable, HolidayYear, MonthDay, Vacation,
    DEFAULT_SCHOOL_YEAR_START,
};
use crate::dates::Date;
use crate::model::{Action, ActionKind, Notice};

/// The presets, one per source document, in the order docs/CLI.md lists them (the first is the
/// default).
pub const PRESETS: &[(&str, &str)] = &[
    ("shapotou", include_str!("../data/policies/shapotou.toml")),
    ("yaoan", include_str!("../data/policies/yaoan.toml")),
    ("lipu", include_str!("../data/policies/lipu.toml")),
    ("feicheng", include_str!("../data/policies/feicheng.toml")),
    ("yichuan", include_str!("../data/policies/yichuan.toml")),
];

/// The preset a county gets when it names none (docs/CLI.md `init --policy`).
pub const DEFAULT_PRESET: &str = "shapotou";

#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("「{0}」既不是策略预设（可选：shapotou、yaoan、lipu、feicheng、yichuan），也不是存在的策略文件")]
    Unknown(String),
    #[error("策略文件 {path} 无法读取：{source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("策略文件格式错误：{0}")]
    Toml(#[from] toml::de::Error),
    #[error("策略无法写成 TOML：{0}")]
    Serialize(#[from] toml::ser::Error),
    #[error("策略「{policy}」无效：{reason}")]
    Invalid { policy: String, reason: String },
    #[error("策略的日历设置无效：{0}")]
    Calendar(#[from] CalendarError),
}

// --- vocabulary -----------------------------------------------------------------------------------

/// How pressing an alert is. Ordered: `Urgent` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warning,
    Urgent,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Info => "提示",
            Level::Warning => "警告",
            Level::Urgent => "紧急",
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Who must act: the people the org file names (docs/CLI.md org CSV), resolved per alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 班主任: first to act on an absence (004 第七条; 002 §四(二)1 "班主任包班").
    ClassTeacher,
    /// The school, through its principal, the first responsible person (004 第四条, 003 §一(三)).
    #[serde(alias = "school")]
    Principal,
    /// 包校领导: the education-bureau leader who owns the school (002 附件, "局领导包学校").
    BureauLeader,
    /// 乡镇分管领导 (004 第八条).
    TownshipDeputy,
    /// 乡镇主要领导 (004 第八条).
    TownshipHead,
    /// 包保教师: the teacher a case's 责任人 names as mentor (002 "包保责任制"); when the case
    /// names none the role is left out (it has no generic holder).
    Mentor,
    /// The principal of the township's center school (中心学校), which reports for the
    /// township (000 §五(三), 001 §三(三)2).
    CenterSchoolPrincipal,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::ClassTeacher => "班主任",
            Role::Principal => "校长",
            Role::BureauLeader => "包校领导",
            Role::TownshipDeputy => "乡镇分管领导",
            Role::TownshipHead => "乡镇主要领导",
            Role::Mentor => "包保教师",
            Role::CenterSchoolPrincipal => "中心学校校长",
        }
    }
}

/// What starts a rung's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The case's clock start: the first unexcused absence (day 0). An absence on a day that
    /// is no school day (a vacation, a weekend, a holiday) starts the clock on the next school
    /// day, since no child can be absent from a school that is closed.
    FirstAbsence,
    /// The day the first notice of this kind was served on the guardian (002 §四(一)); the rung
    /// is dormant until one is. A second notice does not restart the clock.
    Notice(#[serde(with = "vocab_serde")] Notice),
    /// The day of the n-th persuasion attempt on the case (a phone call or a home visit, see
    /// [`Anchor::ATTEMPT_KINDS`]): 002 §四(一) "对经多次动员仍不返校的学生" has a count, not a day
    /// count. The rung is dormant until that many are recorded. `anchor = { attempts = 2 }`.
    Attempts(u32),
}

impl Anchor {
    /// What counts as one persuasion attempt (动员) of the family.
    pub const ATTEMPT_KINDS: &'static [ActionKind] = &[ActionKind::Call, ActionKind::Visit];

    /// The date of the `n`-th persuasion attempt among `actions` (in date order), if made.
    pub fn nth_attempt<'a>(n: u32, actions: impl IntoIterator<Item = &'a Action>) -> Option<Date> {
        let n = usize::try_from(n).ok()?.checked_sub(1)?;
        actions.into_iter().filter(|a| Anchor::ATTEMPT_KINDS.contains(&a.kind)).nth(n).map(|a| a.date)
    }
}

/// From which day a recorded action counts towards a rung.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Since {
    /// From the anchor (day 0, or the notice date): "the teacher phoned at once".
    #[default]
    Anchor,
    /// From the rung's due date: a new effort is asked at that point ("3天内未返校的，由学校
    /// 组织力量劝返" is not met by the class teacher's call on day 0).
    Due,
}

/// One way a rung can be met. A rung lists several; any one suffices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Satisfier {
    /// An action of one of these kinds (any kind when the list is empty), dated from `since`
    /// up to the as-of date.
    Action {
        #[serde(default, with = "vocab_serde::list")]
        kinds: Vec<ActionKind>,
        #[serde(default)]
        since: Since,
    },
    /// The case is confirmed as 辍学 (marked in the student-status system, 004 第七条).
    Confirmed,
    /// A notice of this kind served, dated from `since` up to the as-of date.
    Notice {
        #[serde(with = "vocab_serde")]
        notice: Notice,
        #[serde(default)]
        since: Since,
    },
}

/// One rung of a case's escalation ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// Stable id; it is the alert's `rule`.
    pub id: String,
    /// What must be done (Chinese, shown in the alert).
    pub title: String,
    /// Days (in the policy calendar's unit) after the anchor.
    pub after_days: u32,
    /// "More than" (超过): the rung falls due one day later, on day `after_days + 1`. So
    /// 004 第七条 "超过15日" is day 16 (the issue text said "day-15"; the seed wins).
    #[serde(default)]
    pub strict: bool,
    pub anchor: Anchor,
    pub responsible: Vec<Role>,
    pub level: Level,
    pub clause: String,
    pub satisfied_by: Vec<Satisfier>,
}

impl Rung {
    /// The elapsed-day count at which the rung falls due.
    pub fn due_offset(&self) -> u32 {
        self.after_days + u32::from(self.strict)
    }
}

/// A notice in a county's escalation order with no day count (000 §三(三), 002 §四(一),
/// 004 第七条): guidance for what to serve next, not a timed rung.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeStep {
    #[serde(with = "vocab_serde")]
    pub notice: Notice,
    pub by: Vec<Role>,
    pub title: String,
    pub clause: String,
}

/// When a node's report (its sync with the hub) is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Cadence {
    /// Every school day (日报, 002 §五(一)): a sync on or after the last school day.
    Daily,
    /// Every week on `weekday` (1 = Monday … 7 = Sunday): a sync in the 7 days up to it.
    Weekly { weekday: u8 },
    /// The last day of each month (001 §三(三)2): a sync in the last `window_days` days of the
    /// month, so a month ending on a weekend can report on the Friday.
    MonthEnd { window_days: u32 },
    /// By day `day` of each month, for the month just ended (003 §二(五) "每月5日前"): a sync
    /// from the 1st to that day.
    MonthDay { day: u32 },
    /// Within `days` calendar days of term start (000 §三(二) "开学后15日内"): a sync from the
    /// first school day of the term.
    AfterTermStart { days: u32 },
}

/// A reporting obligation of each node (township center school).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportingRule {
    pub id: String,
    pub title: String,
    pub cadence: Cadence,
    pub level: Level,
    pub clause: String,
}

/// 004 第八条: a unit whose students fall away by more than this share in a school year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitLossRule {
    /// 1.0 = 1%. Compared exactly, in hundredths of a percent.
    pub more_than_percent: f64,
    pub title: String,
    pub level: Level,
    pub clause: String,
}

impl UnitLossRule {
    /// True when `dropouts / enrolled` exceeds the threshold (exact integer comparison).
    pub fn exceeded(&self, enrolled: u64, dropouts: u64) -> bool {
        exceeds_percent(enrolled, dropouts, self.more_than_percent)
    }
}

/// 004 第八条: a school with this many dropouts in the school year and no persuasion measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolDropoutRule {
    /// Dropouts (at least) of primary grades: 1.
    pub primary: u32,
    /// Dropouts (at least) of junior middle grades: 2.
    pub junior: u32,
    pub title: String,
    pub level: Level,
    pub clause: String,
}

/// One month of the township ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderStep {
    pub months: u32,
    pub title: String,
    pub responsible: Vec<Role>,
    pub level: Level,
    /// The step asks whether measures were taken at all ("第一个月内未采取措施劝返的"): it is
    /// in force only when more than `more_than` of the dropouts had no persuasion measure
    /// recorded within the months before it. Later steps ask only whether the children are
    /// still not back ("第二个月仍未劝返的").
    #[serde(default, skip_serializing_if = "is_false")]
    pub without_measures: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// 004 第八条: a school of the township with more than `more_than` dropouts not back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TownshipLadder {
    pub more_than: u32,
    pub clause: String,
    pub steps: Vec<LadderStep>,
}

/// The period of a regular notification (000 §五(三) "县级一学期、乡镇半学期、中心学校一个月").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar months; a period ends on the month's last day.
    Month,
    /// Half a term: a term (see [`crate::calendar::Calendar::terms`]) split at its middle day.
    HalfTerm,
    /// A term: from the first school day after a vacation to the day before the next one.
    Term,
}

impl Period {
    pub fn label(self) -> &'static str {
        match self {
            Period::Month => "月度",
            Period::HalfTerm => "半学期",
            Period::Term => "学期",
        }
    }
}

/// Who a notification names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifiedUnit {
    School,
    Township,
}

/// 000 §五(三): a regular notification (定期通报) of the schools or townships whose dropout
/// problem stands out ("辍学问题突出"): at each period end, a unit with at least
/// `min_unreturned` unreturned dropouts is notified, its responsible people talked to and given
/// a deadline to correct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRule {
    /// Stable id; it is the alert's `rule`.
    pub id: String,
    /// Who issues it (县教育局, 乡镇人民政府, 中心学校), for the message.
    pub by: String,
    pub period: Period,
    pub unit: NotifiedUnit,
    /// "辍学问题突出" has no number in the document; 1 is this project's reading.
    pub min_unreturned: u32,
    pub title: String,
    pub responsible: Vec<Role>,
    pub level: Level,
    pub clause: String,
}

/// 000 §五(三): notified `times` periods in a row (by one of the policy's notifications) and
/// still short → organisational adjustment of "有关责任人": the people that notification
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatedNotification {
    pub times: u32,
    pub title: String,
    pub level: Level,
    pub clause: String,
    /// Policy files written before `notifications` existed described one monthly series of
    /// schools here; read so that such a file keeps its rule (see [`Policy::validate`]).
    #[serde(default, skip_serializing)]
    pub period_months: Option<u32>,
    #[serde(default, skip_serializing)]
    pub min_unreturned: Option<u32>,
}

/// 000 §五(三) "辍学率超过国家规定要求的 … 予以通报或诫勉问责": a township whose 辍学率
/// (docs/FORMULAS.md, per stage) exceeds the national limit. Compared exactly, like
/// [`UnitLossRule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutRateRule {
    /// 1.0 = 1%.
    pub primary_percent: f64,
    pub junior_percent: f64,
    pub title: String,
    pub responsible: Vec<Role>,
    pub level: Level,
    pub clause: String,
}

/// True when `part / whole` exceeds `percent` (compared exactly, in hundredths of a percent).
pub fn exceeds_percent(whole: u64, part: u64, percent: f64) -> bool {
    if whole == 0 {
        return false;
    }
    let bp = (percent * 100.0).round().max(0.0) as u128;
    u128::from(part) * 10_000 > u128::from(whole) * bp
}

/// The accountability rules a county applies (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accountability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_loss: Option<UnitLossRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_dropouts: Option<SchoolDropoutRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub township_ladder: Option<TownshipLadder>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<NotificationRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeated_notification: Option<RepeatedNotification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropout_rate: Option<DropoutRateRule>,
}

/// The calendar part of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarSpec {
    pub kind: DayKind,
    #[serde(default = "default_school_year_start")]
    pub school_year_start: MonthDay,
    /// Omitted: the typical vacations of [`default_vacations`]. `vacations = []`: none.
    #[serde(default = "default_vacations")]
    pub vacations: Vec<Vacation>,
    /// A replacement holiday table, read when the policy is loaded and then carried inline in
    /// `holiday_years`, so the policy the hub ships to a node is self-contained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays_file: Option<PathBuf>,
    /// Years that replace or extend the built-in holiday table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holiday_years: Vec<HolidayYear>,
    /// Local closures (停课: a snow day), county-wide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
}

fn default_school_year_start() -> MonthDay {
    DEFAULT_SCHOOL_YEAR_START
}

/// When and how nodes sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// Local hour (0–23) of the nightly sync and aggregation, when the network is quiet.
    pub hour: u8,
    /// Each node adds a random delay up to this many minutes, so a county's nodes do not all
    /// call the hub in the same second.
    #[serde(default)]
    pub jitter_minutes: u32,
    /// A revision stamped more than this far in the hub's future is refused: a node with a
    /// wrong clock must not win every merge.
    #[serde(default = "default_future_bound")]
    pub future_clock_bound_minutes: u32,
}

fn default_future_bound() -> u32 {
    10
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings { hour: 2, jitter_minutes: 30, future_clock_bound_minutes: 10 }
    }
}

/// A county policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Preset name or the county's own name for it.
    pub name: String,
    pub title: String,
    /// The document the rules come from.
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reporting: Vec<ReportingRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ladder: Vec<Rung>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notice_order: Vec<NoticeStep>,
    pub calendar: CalendarSpec,
    #[serde(default)]
    pub sync: SyncSettings,
    #[serde(default)]
    pub accountability: Accountability,
}

impl Policy {
    pub fn preset_names() -> Vec<&'static str> {
        PRESETS.iter().map(|(n, _)| *n).collect()
    }

    /// One of the embedded presets by name.
    pub fn preset(name: &str) -> Result<Policy, PolicyError> {
        let text = PRESETS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, t)| *t)
            .ok_or_else(|| PolicyError::Unknown(name.to_string()))?;
        Policy::from_toml_str(text)
    }

    /// The default preset (沙坡头).
    pub fn default_preset() -> Policy {
        // The presets are checked by the tests; failing here is a build defect.
        Policy::preset(DEFAULT_PRESET).expect("the default preset is valid")
    }

    /// Parses and checks a policy. A `holidays_file` is read relative to the working directory.
    pub fn from_toml_str(s: &str) -> Result<Policy, PolicyError> {
        Policy::parse_in(s, None)
    }

    /// A preset name, or the path of a policy file (its `holidays_file` is read relative to
    /// the policy file's directory).
    pub fn load(preset_or_path: &str) -> Result<Policy, PolicyError> {
        if PRESETS.iter().any(|(n, _)| n.eq_ignore_ascii_case(preset_or_path.trim())) {
            return Policy::preset(preset_or_path);
        }
        let path = Path::new(preset_or_path);
        if !path.is_file() {
            return Err(PolicyError::Unknown(preset_or_path.to_string()));
        }
        let text =
            std::fs::read_to_string(path).map_err(|source| PolicyError::Io { path: path.to_path_buf(), source })?;
        Policy::parse_in(&text, path.parent())
    }

    fn parse_in(s: &str, base: Option<&Path>) -> Result<Policy, PolicyError> {
        let mut p: Policy = toml::from_str(s)?;
        if let Some(file) = p.calendar.holidays_file.take() {
            let path = match base {
                Some(b) if file.is_relative() => b.join(&file),
                _ => file,
            };
            let table = HolidayTable::load(&path)?;
            p = p.with_holidays(&table);
        }
        p.upgrade_legacy();
        p.validate()?;
        Ok(p)
    }

    /// This policy with its holiday table replaced by `table` (carried inline from now on).
    pub fn with_holidays(mut self, table: &HolidayTable) -> Policy {
        self.calendar.holidays_file = None;
        self.calendar.holiday_years = table.years.values().cloned().collect();
        self
    }

    /// This policy with the holiday table of a file (format of `data/holidays-cn.toml`).
    pub fn with_holidays_file(self, path: &Path) -> Result<Policy, PolicyError> {
        let table = HolidayTable::load(path)?;
        Ok(self.with_holidays(&table))
    }

    /// The policy as TOML, for the hub to ship to nodes. Self-contained: the holiday table in
    /// effect (the built-in one with this policy's own years over it) is written inline, so a
    /// node built from an older or newer release counts the same days as the hub that sent it.
    pub fn to_toml(&self) -> Result<String, PolicyError> {
        let mut p = self.clone();
        p.calendar.holidays_file = None;
        if let Ok(table) = HolidayTable::builtin().overlaid(&self.calendar.holiday_years) {
            p.calendar.holiday_years = table.years.into_values().collect();
        }
        Ok(toml::to_string(&p)?)
    }

    /// The calendar the rules count with. Infallible for a policy that passed [`validate`]
    /// (every constructor validates); a hand-built invalid one falls back to the standard
    /// calendar of its kind.
    ///
    /// [`validate`]: Policy::validate
    pub fn calendar(&self) -> Calendar {
        self.try_calendar().unwrap_or_else(|_| Calendar::standard(self.calendar.kind))
    }

    fn try_calendar(&self) -> Result<Calendar, CalendarError> {
        let table = HolidayTable::builtin().overlaid(&self.calendar.holiday_years)?;
        Calendar::new(self.calendar.kind, &table, self.calendar.vacations.clone(), self.calendar.school_year_start)?
            .with_closures(&self.calendar.closures)
    }

    /// This policy with the years of a State Council holiday notice (国务院办公厅关于某年部分
    /// 节假日安排的通知, in the format of `data/holidays-cn.toml`) replacing those years of its
    /// table: `baoxue-hub policy holidays FILE`. Other years are kept.
    pub fn with_holiday_notice(mut self, notice: &HolidayTable) -> Result<Policy, PolicyError> {
        if notice.years.is_empty() {
            return Err(PolicyError::Invalid {
                policy: self.name.clone(), reason: "节假日文件中没有任何年份".into()
            });
        }
        let table = HolidayTable::builtin().overlaid(&self.calendar.holiday_years)?;
        let merged = table.overlaid(&notice.years.values().cloned().collect::<Vec<_>>())?;
        self.calendar.holiday_years = merged.years.into_values().collect();
        self.validate()?;
        Ok(self)
    }

    /// This policy with a local closure added (`baoxue-hub policy closure`). A closure that
    /// overlaps one already entered is refused, naming it.
    pub fn with_closure(mut self, c: Closure) -> Result<Policy, PolicyError> {
        c.validate()?;
        if let Some(o) = self.calendar.closures.iter().find(|o| o.from <= c.to && c.from <= o.to) {
            return Err(PolicyError::Invalid {
                policy: self.name.clone(),
                reason: format!(
                    "停课「{}」（{} 至 {}）与已登记的「{}」（{} 至 {}）重叠",
                    c.name, c.from, c.to, o.name, o.from, o.to
                ),
            });
        }
        self.calendar.closures.push(c);
        self.calendar.closures.sort_by_key(|c| c.from);
        self.validate()?;
        Ok(self)
    }

    /// A policy file of the first format described the center school's monthly notification
    /// inside `repeated_notification` (`period_months`, `min_unreturned`): turned into the
    /// notification rule it meant.
    fn upgrade_legacy(&mut self) {
        let acc = &mut self.accountability;
        let Some(r) = &mut acc.repeated_notification else { return };
        let (months, min) = (r.period_months.take(), r.min_unreturned.take());
        if acc.notifications.is_empty() && months.is_some() {
            acc.notifications.push(NotificationRule {
                id: "center_school_monthly_notice".into(),
                by: "中心学校".into(),
                period: Period::Month,
                unit: NotifiedUnit::School,
                min_unreturned: min.unwrap_or(1).max(1),
                title: "中心学校月度通报：对主要责任人、直接责任人约谈或诫勉谈话，责令限期整改".into(),
                responsible: vec![Role::Principal],
                level: Level::Warning,
                clause: r.clause.clone(),
            });
        }
    }

    /// Every rule of every kind with its clause, named for messages: each must say where it
    /// comes from.
    pub fn clauses(&self) -> Vec<(String, &str)> {
        let mut v: Vec<(String, &str)> = Vec::new();
        for r in &self.ladder {
            v.push((format!("阶梯规则「{}」", r.id), &r.clause));
        }
        for r in &self.reporting {
            v.push((format!("报告规则「{}」", r.id), &r.clause));
        }
        for n in &self.notice_order {
            v.push((format!("文书顺序「{}」", n.notice), &n.clause));
        }
        let a = &self.accountability;
        if let Some(r) = &a.unit_loss {
            v.push(("问责规则 unit_loss".into(), &r.clause));
        }
        if let Some(r) = &a.school_dropouts {
            v.push(("问责规则 school_dropouts".into(), &r.clause));
        }
        if let Some(r) = &a.township_ladder {
            v.push(("问责规则 township_ladder".into(), &r.clause));
        }
        for r in &a.notifications {
            v.push((format!("通报规则「{}」", r.id), &r.clause));
        }
        if let Some(r) = &a.repeated_notification {
            v.push(("问责规则 repeated_notification".into(), &r.clause));
        }
        if let Some(r) = &a.dropout_rate {
            v.push(("问责规则 dropout_rate".into(), &r.clause));
        }
        v
    }

    pub fn rung(&self, id: &str) -> Option<&Rung> {
        self.ladder.iter().find(|r| r.id == id)
    }

    /// The next notice of the county's order not yet served, given those served so far.
    pub fn next_notice(&self, served: &[Notice]) -> Option<&NoticeStep> {
        self.notice_order.iter().find(|s| !served.contains(&s.notice))
    }

    /// Checks what the types cannot: unique ids, hours and days in range, rules that can fire.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |reason: String| PolicyError::Invalid { policy: self.name.clone(), reason };
        if self.name.trim().is_empty() {
            return Err(bad("name 不能为空".into()));
        }
        if self.sync.hour > 23 {
            return Err(bad(format!("sync.hour = {} 不在 0–23", self.sync.hour)));
        }
        if self.sync.jitter_minutes > 24 * 60 {
            return Err(bad("sync.jitter_minutes 超过一天".into()));
        }
        let mut ids = BTreeSet::new();
        for r in &self.ladder {
            if r.id.trim().is_empty() || !ids.insert(r.id.as_str()) {
                return Err(bad(format!("阶梯规则 id「{}」为空或重复", r.id)));
            }
            if r.responsible.is_empty() {
                return Err(bad(format!("阶梯规则「{}」未指定责任人（responsible）", r.id)));
            }
            if r.satisfied_by.is_empty() {
                return Err(bad(format!("阶梯规则「{}」未指定完成条件（satisfied_by）", r.id)));
            }
            if r.anchor == Anchor::Attempts(0) {
                return Err(bad(format!("阶梯规则「{}」的 anchor.attempts 须至少为 1", r.id)));
            }
            if r.after_days > 3650 {
                return Err(bad(format!("阶梯规则「{}」的天数 {} 过大", r.id, r.after_days)));
            }
        }
        for r in &self.reporting {
            if r.id.trim().is_empty() || !ids.insert(r.id.as_str()) {
                return Err(bad(format!("报告规则 id「{}」为空或与其他规则重复", r.id)));
            }
            match r.cadence {
                Cadence::Weekly { weekday } if !(1..=7).contains(&weekday) => {
                    return Err(bad(format!("报告规则「{}」的 weekday = {weekday} 不在 1–7", r.id)))
                }
                Cadence::MonthDay { day } if !(1..=28).contains(&day) => {
                    return Err(bad(format!("报告规则「{}」的 day = {day} 不在 1–28（须每月都有）", r.id)))
                }
                Cadence::MonthEnd { window_days } if !(1..=28).contains(&window_days) => {
                    return Err(bad(format!("报告规则「{}」的 window_days = {window_days} 不在 1–28", r.id)))
                }
                Cadence::AfterTermStart { days } if !(1..=120).contains(&days) => {
                    return Err(bad(format!("报告规则「{}」的 days = {days} 不在 1–120", r.id)))
                }
                _ => {}
            }
        }
        let acc = &self.accountability;
        if let Some(u) = &acc.unit_loss {
            if !(u.more_than_percent > 0.0 && u.more_than_percent < 100.0) {
                return Err(bad(format!("unit_loss.more_than_percent = {} 不在 (0, 100)", u.more_than_percent)));
            }
        }
        if let Some(s) = &acc.school_dropouts {
            if s.primary == 0 || s.junior == 0 {
                return Err(bad("school_dropouts 的人数须至少为 1".into()));
            }
        }
        if let Some(t) = &acc.township_ladder {
            if t.steps.is_empty() {
                return Err(bad("township_ladder 没有 steps".into()));
            }
            let mut last = 0;
            for s in &t.steps {
                if s.months <= last || s.responsible.is_empty() {
                    return Err(bad("township_ladder 的 months 须从 1 起递增且每步有责任人".into()));
                }
                last = s.months;
            }
        }
        for n in &acc.notifications {
            if n.id.trim().is_empty() || !ids.insert(n.id.as_str()) {
                return Err(bad(format!("通报规则 id「{}」为空或与其他规则重复", n.id)));
            }
            if n.min_unreturned == 0 || n.responsible.is_empty() {
                return Err(bad(format!("通报规则「{}」须 min_unreturned ≥ 1 且有责任人", n.id)));
            }
        }
        if let Some(n) = &acc.repeated_notification {
            if n.times < 2 {
                return Err(bad("repeated_notification 须 times ≥ 2".into()));
            }
            if acc.notifications.is_empty() {
                return Err(bad("repeated_notification 须有通报规则（accountability.notifications）".into()));
            }
        }
        if let Some(r) = &acc.dropout_rate {
            let ok = |p: f64| p > 0.0 && p < 100.0;
            if !ok(r.primary_percent) || !ok(r.junior_percent) || r.responsible.is_empty() {
                return Err(bad("dropout_rate 的比例须在 (0, 100) 之间且有责任人".into()));
            }
        }
        for (rule, clause) in self.clauses() {
            if clause.trim().is_empty() {
                return Err(bad(format!("{rule}未注明依据条款（clause）")));
            }
        }
        self.try_calendar()?;
        Ok(())
    }
}

/// Serde for the domain vocabularies inside policy files: action kinds by their English key
/// (`call`, as on the command line), notices by their Chinese name (`限期入学通知书`, as on
/// paper). Both parse either spelling.
mod vocab_serde {
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::model::{ActionKind, Notice};

    pub trait Word: Sized + Copy + FromStr<Err = crate::model::ParseEnumError> {
        fn word(self) -> &'static str;
    }
    impl Word for ActionKind {
        fn word(self) -> &'static str {
            self.key()
        }
    }
    impl Word for Notice {
        fn word(self) -> &'static str {
            self.label()
        }
    }

    pub fn serialize<T: Word, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.word())
    }

    pub fn deserialize<'de, T: Word, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }

    pub mod list {
        use super::*;

        pub fn serialize<T: Word, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
            v.iter().map(|x| x.word()).collect::<Vec<_>>().serialize(s)
        }

        pub fn deserialize<'de, T: Word, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
            Vec::<String>::deserialize(d)?.iter().map(|s| s.parse().map_err(serde::de::Error::custom)).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads_validates_and_round_trips() {
        for name in Policy::preset_names() {
            let p = Policy::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.name, name);
            assert!(p.source.contains(".txt"), "{name}: source names the seed file");
            let text = p.to_toml().unwrap();
            let back = Policy::from_toml_str(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(back.calendar(), p.calendar(), "{name}");
            assert_eq!(back.calendar.holiday_years.len(), 3, "{name}: holidays inline");
            let mut plain = back.clone();
            plain.calendar.holiday_years.clear();
            assert_eq!(plain, p, "{name}");
            assert_eq!(back.to_toml().unwrap(), text, "{name}: idempotent");
            assert_eq!(p.calendar.school_year_start, DEFAULT_SCHOOL_YEAR_START);
            assert_eq!(p.sync.future_clock_bound_minutes, 10);
            assert_eq!(p.calendar.vacations, default_vacations(), "{name}");
            for r in &p.ladder {
                assert!(!r.clause.is_empty());
            }
        }
        assert!(matches!(Policy::preset("nowhere"), Err(PolicyError::Unknown(_))));
        assert_eq!(Policy::default_preset().name, "shapotou");
    }

    #[test]
    fn preset_contents() {
        let s = Policy::preset("shapotou").unwrap();
        assert_eq!(s.calendar.kind, DayKind::CalendarDays);
        let offs: Vec<u32> = s.ladder.iter().map(Rung::due_offset).collect();
        assert_eq!(offs, vec![0, 3, 7, 16]);
        assert!(s.ladder.iter().all(|r| r.clause == "004 第七条"));
        let acc = &s.accountability;
        assert_eq!(acc.school_dropouts.as_ref().map(|r| (r.primary, r.junior)), Some((1, 2)));
        assert_eq!(acc.township_ladder.as_ref().map(|t| t.more_than), Some(2));
        assert!(acc.unit_loss.as_ref().unwrap().exceeded(100, 2));
        assert!(!acc.unit_loss.as_ref().unwrap().exceeded(100, 1));
        assert!(!acc.unit_loss.as_ref().unwrap().exceeded(700, 7));
        assert!(acc.unit_loss.as_ref().unwrap().exceeded(700, 8));

        let y = Policy::preset("yaoan").unwrap();
        assert_eq!(y.calendar.kind, DayKind::SchoolDays);
        assert!(y.ladder.iter().all(|r| r.due_offset() == 3 && r.clause == "000 §三(二)"));
        assert_eq!(y.notice_order.len(), 3);
        assert_eq!(y.next_notice(&[Notice::UrgeReturn]).map(|s| s.notice), Some(Notice::Penalty));
        assert_eq!(y.reporting[0].cadence, Cadence::AfterTermStart { days: 15 });
        assert_eq!(y.accountability.repeated_notification.as_ref().map(|r| r.times), Some(2));
        let periods: Vec<(Period, NotifiedUnit)> =
            y.accountability.notifications.iter().map(|n| (n.period, n.unit)).collect();
        assert_eq!(
            periods,
            vec![
                (Period::Term, NotifiedUnit::Township),
                (Period::HalfTerm, NotifiedUnit::School),
                (Period::Month, NotifiedUnit::School)
            ]
        );
        let r = y.accountability.dropout_rate.as_ref().unwrap();
        assert_eq!((r.primary_percent, r.junior_percent), (1.0, 3.0));
        let steps = &s.accountability.township_ladder.as_ref().unwrap().steps;
        assert_eq!(steps.iter().map(|s| s.without_measures).collect::<Vec<_>>(), vec![true, false, false]);

        let l = Policy::preset("lipu").unwrap();
        let lipu: Vec<(&str, Anchor, u32)> =
            l.ladder.iter().map(|r| (r.id.as_str(), r.anchor, r.due_offset())).collect();
        assert_eq!(
            lipu,
            vec![
                ("d0_home_visit", Anchor::FirstAbsence, 0),
                ("persuasion_failed_notice", Anchor::Attempts(2), 1),
                ("notice_week_report", Anchor::Notice(Notice::PersuadeReturn), 5),
            ]
        );
        assert!(l.ladder.iter().all(|r| r.clause.starts_with("002 ")));

        let f = Policy::preset("feicheng").unwrap();
        assert_eq!(f.reporting[0].cadence, Cadence::MonthDay { day: 5 });
        assert_eq!(f.ladder[0].satisfied_by, vec![Satisfier::Action { kinds: vec![], since: Since::Anchor }]);

        let i = Policy::preset("yichuan").unwrap();
        assert_eq!(i.reporting[0].cadence, Cadence::MonthEnd { window_days: 3 });
        assert_eq!(
            i.ladder[0].satisfied_by,
            vec![Satisfier::Action { kinds: vec![ActionKind::Visit], since: Since::Anchor }]
        );
    }

    /// Every rule of every kind must say where it comes from: blanking any one clause of any
    /// preset is refused, naming the rule.
    #[test]
    fn every_rule_of_every_preset_needs_a_clause() {
        for name in Policy::preset_names() {
            let p = Policy::preset(name).unwrap();
            let a = &p.accountability;
            let expected = p.ladder.len()
                + p.reporting.len()
                + p.notice_order.len()
                + a.notifications.len()
                + usize::from(a.unit_loss.is_some())
                + usize::from(a.school_dropouts.is_some())
                + usize::from(a.township_ladder.is_some())
                + usize::from(a.repeated_notification.is_some())
                + usize::from(a.dropout_rate.is_some());
            let listed: Vec<String> = p.clauses().into_iter().map(|(r, _)| r).collect();
            assert_eq!(listed.len(), expected, "{name}: {listed:?}");
            for (i, rule) in listed.iter().enumerate() {
                let mut q = p.clone();
                blank_clause(&mut q, i);
                let e = q.validate().expect_err(&format!("{name}: {rule} without a clause"));
                assert!(e.to_string().contains(rule.as_str()) && e.to_string().contains("clause"), "{e}");
            }
        }
    }

    /// Blanks the `i`-th clause in the order of [`Policy::clauses`].
    fn blank_clause(p: &mut Policy, i: usize) {
        let a = &mut p.accountability;
        let mut slots: Vec<&mut String> = Vec::new();
        slots.extend(p.ladder.iter_mut().map(|r| &mut r.clause));
        slots.extend(p.reporting.iter_mut().map(|r| &mut r.clause));
        slots.extend(p.notice_order.iter_mut().map(|r| &mut r.clause));
        slots.extend(a.unit_loss.iter_mut().map(|r| &mut r.clause));
        slots.extend(a.school_dropouts.iter_mut().map(|r| &mut r.clause));
        slots.extend(a.township_ladder.iter_mut().map(|r| &mut r.clause));
        slots.extend(a.notifications.iter_mut().map(|r| &mut r.clause));
        slots.extend(a.repeated_notification.iter_mut().map(|r| &mut r.clause));
        slots.extend(a.dropout_rate.iter_mut().map(|r| &mut r.clause));
        *slots.swap_remove(i) = " ".into();
    }

    /// A policy file of the first format (the monthly series inside `repeated_notification`)
    /// keeps its rule.
    #[test]
    fn legacy_repeated_notification_becomes_a_monthly_series() {
        let base = PRESETS[1].1;
        let start = base.find("[[accountability.notifications]]").unwrap();
        let legacy = format!(
            "{}[accountability.repeated_notification]\ntimes = 2\nperiod_months = 1\nmin_unreturned = 1\ntitle = \"组织调整\"\nresponsible = [\"principal\"]\nlevel = \"urgent\"\nclause = \"000 §五(三)\"\n",
            &base[..start]
        );
        let p = Policy::from_toml_str(&legacy).unwrap();
        let n = &p.accountability.notifications;
        assert_eq!(n.len(), 1);
        assert_eq!((n[0].period, n[0].unit, n[0].min_unreturned), (Period::Month, NotifiedUnit::School, 1));
        assert_eq!(n[0].clause, "000 §五(三)");
        // Written back in the current form, it reads the same.
        let mut back = Policy::from_toml_str(&p.to_toml().unwrap()).unwrap();
        back.calendar.holiday_years.clear();
        assert_eq!(back, p);
    }

    #[test]
    fn invalid_policies_are_refused_with_reasons() {
        let base = PRESETS[0].1;
        let e = Policy::from_toml_str(&base.replace("hour = 2", "hour = 25")).unwrap_err();
        assert!(e.to_string().contains("sync.hour"), "{e}");
        let e = Policy::from_toml_str(&base.replace("id = \"d3_school_persuasion\"", "id = \"d0_teacher_contact\""))
            .unwrap_err();
        assert!(e.to_string().contains("重复"), "{e}");
        let e = Policy::from_toml_str(&base.replace("\"09-01\"", "\"09-31\"")).unwrap_err();
        assert!(matches!(e, PolicyError::Toml(_)), "{e}");
        let lipu = PRESETS[2].1;
        let e = Policy::from_toml_str(&lipu.replace("attempts = 2", "attempts = 0")).unwrap_err();
        assert!(e.to_string().contains("attempts"), "{e}");
        let e = Policy::from_toml_str(&base.replace("\"限期入学通知书\", since", "\"通知\", since")).unwrap_err();
        assert!(e.to_string().contains("通知书"), "{e}");
        assert!(matches!(Policy::load("/nonexistent/policy.toml"), Err(PolicyError::Unknown(_))));
    }

    /// `policy holidays FILE` replaces the years of the notice and keeps the others; `policy
    /// closure` adds a closure, refuses an overlapping one, and both survive the trip to a node.
    #[test]
    fn holiday_notice_and_closures() {
        let p = Policy::preset("yaoan").unwrap();
        let notice = HolidayTable::from_toml_str(
            "[[year]]\nyear = 2030\nsource = \"国办发明电〔2029〕1号\"\nholidays = [{ name = \"元旦\", from = \"2030-01-01\", to = \"2030-01-01\" }]\nmakeup_workdays = [\"2030-01-05\"]\n",
        )
        .unwrap();
        assert!(p.calendar().needs_update(crate::dates::Date::ymd(2030, 3, 1)).is_some());
        let p = p.with_holiday_notice(&notice).unwrap();
        let cal = p.calendar();
        assert!(cal.covers(2030) && cal.covers(2026));
        assert_eq!(cal.needs_update(crate::dates::Date::ymd(2030, 3, 1)), None);
        assert!(!cal.is_working_day(crate::dates::Date::ymd(2030, 1, 1)));
        assert!(cal.is_working_day(crate::dates::Date::ymd(2030, 1, 5)), "a make-up Saturday");
        assert!(!cal.is_working_day(crate::dates::Date::ymd(2026, 10, 5)), "2026 kept");
        assert!(p.clone().with_holiday_notice(&HolidayTable::default()).is_err());

        let day = crate::dates::Date::ymd;
        let snow = Closure::new("雪天停课", day(2026, 12, 9), day(2026, 12, 10)).unwrap();
        let p = p.with_closure(snow).unwrap();
        let e =
            p.clone().with_closure(Closure::new("又停", day(2026, 12, 10), day(2026, 12, 11)).unwrap()).unwrap_err();
        assert!(e.to_string().contains("重叠") && e.to_string().contains("雪天停课"), "{e}");
        let shipped = Policy::from_toml_str(&p.to_toml().unwrap()).unwrap();
        assert_eq!(shipped.calendar(), p.calendar());
        assert!(!shipped.calendar().is_school_day(day(2026, 12, 10)));
        assert!(shipped.calendar().is_school_day(day(2026, 12, 11)));
    }

    #[test]
    fn load_from_file_with_holidays_file_inlines_the_table() {
        let dir = std::env::temp_dir().join(format!("baoxue-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let holidays =
            "[[year]]\nyear = 2026\nholidays = [{ name = \"县庆\", from = \"2026-03-10\", to = \"2026-03-10\" }]\n";
        std::fs::write(dir.join("h.toml"), holidays).unwrap();
        let text = PRESETS[1].1.replace("[calendar]\n", "[calendar]\nholidays_file = \"h.toml\"\n");
        let path = dir.join("county.toml");
        std::fs::write(&path, text).unwrap();
        let p = Policy::load(path.to_str().unwrap()).unwrap();
        assert_eq!(p.calendar.holiday_years.len(), 1);
        let cal = p.calendar();
        assert!(!cal.is_working_day(crate::dates::Date::ymd(2026, 3, 10)));
        // 2026's 国庆 is gone (the year was replaced); 2025 is still built in.
        assert!(cal.is_working_day(crate::dates::Date::ymd(2026, 10, 5)));
        assert!(!cal.is_working_day(crate::dates::Date::ymd(2025, 10, 8)));
        // Shipped self-contained.
        let shipped = Policy::from_toml_str(&p.to_toml().unwrap()).unwrap();
        assert_eq!(shipped.calendar(), cal);
        std::fs::remove_dir_all(&dir).ok();
    }
}
