//! The domain vocabulary (docs/DOMAIN.md, docs/FORMULAS.md): sexes, statuses and their legal transitions,
//! special groups, absences, case states, causes, actions, notices and outcomes.
//!
//! Every enum parses from and prints as the Chinese word the users write (`FromStr`/`Display`),
//! and the English key the JSON contract uses (`key`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dates::Date;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what}「{value}」无效，可选：{allowed}")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub value: String,
    pub allowed: String,
}

/// Declares an enum with its Chinese label, its English key and extra accepted spellings.
macro_rules! vocab {
    ($(#[$m:meta])* $name:ident, $what:literal { $($var:ident => $zh:literal, $key:literal $(| $alias:literal)*;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The Chinese label shown to users.
            pub fn label(self) -> &'static str {
                match self { $($name::$var => $zh),+ }
            }
            /// The English key of the JSON contract.
            pub fn key(self) -> &'static str {
                match self { $($name::$var => $key),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(if t == $zh || t.eq_ignore_ascii_case($key) $(|| t == $alias)* { return Ok($name::$var); })+
                Err(ParseEnumError {
                    what: $what,
                    value: t.to_string(),
                    allowed: [$($zh),+].join("、"),
                })
            }
        }
    };
}

vocab!(Sex, "性别" {
    Male => "男", "male" | "M";
    Female => "女", "female" | "F";
});

vocab!(
    /// School types of the org file; they bound the grades a school may teach.
    SchoolType, "学校类型" {
    Primary => "小学", "primary" | "完小";
    Junior => "初中", "junior";
    NineYear => "九年一贯制", "nine_year";
    TeachingPoint => "教学点", "teaching_point";
});

impl SchoolType {
    pub fn grades(self) -> std::ops::RangeInclusive<u8> {
        match self {
            SchoolType::Primary | SchoolType::TeachingPoint => 1..=6,
            SchoolType::Junior => 7..=9,
            SchoolType::NineYear => 1..=9,
        }
    }
}

/// Primary (grades 1–6) or junior middle (7–9): 004 第八条 treats them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    Primary,
    Junior,
}

impl Stage {
    pub fn of_grade(grade: u8) -> Stage {
        if grade <= 6 {
            Stage::Primary
        } else {
            Stage::Junior
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Stage::Primary => "小学",
            Stage::Junior => "初中",
        }
    }
}

vocab!(
    /// A student's status (docs/DOMAIN.md "Students").
    Status, "学籍状态" {
    Enrolled => "在读", "enrolled" | "复学";
    Suspended => "休学", "suspended";
    HomeDelivered => "送教上门", "home_delivered";
    DroppedOut => "辍学", "dropped_out";
    TransferredOut => "转出", "transferred_out";
    Graduated => "毕业", "graduated";
    Deceased => "死亡", "deceased";
});

impl Status {
    /// On the roll for 辍学率's denominator: 在读 + 休学 + 送教上门.
    pub fn on_roll(self) -> bool {
        matches!(self, Status::Enrolled | Status::Suspended | Status::HomeDelivered)
    }

    /// The legal status changes (学籍异动, 002 §四(二)2). Graduation and death are final.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        if self == to {
            return false;
        }
        match self {
            Enrolled => true,
            Suspended => matches!(to, Enrolled | DroppedOut | TransferredOut | Deceased | HomeDelivered),
            HomeDelivered => matches!(to, Enrolled | Suspended | TransferredOut | Graduated | Deceased),
            DroppedOut => matches!(to, Enrolled | TransferredOut | Deceased | HomeDelivered | Suspended),
            TransferredOut => matches!(to, Enrolled | Deceased),
            Graduated | Deceased => false,
        }
    }
}

vocab!(
    /// Special groups (特殊群体) that get priority monitoring (docs/DOMAIN.md).
    SpecialGroup, "特殊群体" {
    RegisteredPoor => "建档立卡贫困家庭", "registered_poor" | "脱贫户" | "建档立卡" | "建档立卡贫困家庭/脱贫户";
    UnstablePoor => "脱贫不稳定户", "unstable_poor";
    LowIncome => "农村低保户", "low_income" | "低保户";
    SuddenHardship => "突发严重困难户", "sudden_hardship";
    Disabled => "残疾儿童少年", "disabled" | "残疾儿童";
    ChildOfDisabled => "残疾人子女", "child_of_disabled";
    Orphan => "孤儿", "orphan";
    Unsupported => "事实无人抚养儿童", "unsupported";
    DistressedChild => "重点困境儿童", "distressed";
    LeftBehind => "留守儿童", "left_behind";
    Migrant => "流动/随迁子女", "migrant" | "随迁子女" | "流动儿童";
    PrisonersChild => "服刑人员未成年子女", "prisoners_child";
    SingleParent => "单亲家庭子女", "single_parent";
});

impl SpecialGroup {
    /// Parses `A、B;C` (docs/CLI.md: separated by `、` or `;`).
    pub fn parse_list(s: &str) -> Result<Vec<SpecialGroup>, ParseEnumError> {
        let mut out: Vec<SpecialGroup> = s
            .split(['、', ';', '；', ','])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        out.sort();
        out.dedup();
        Ok(out)
    }
}

vocab!(AbsenceKind, "缺勤类型" {
    Unexcused => "无故缺勤", "unexcused" | "旷课";
    Sick => "病假", "sick";
    Personal => "事假", "personal";
});

vocab!(
    /// Causes of dropping out (docs/DOMAIN.md "Cases").
    Cause, "辍学原因" {
    Poverty => "因贫", "poverty";
    LearningDifficulty => "学习困难/厌学", "learning" | "厌学" | "学习困难";
    Illness => "因病", "illness";
    Disability => "因残", "disability";
    Work => "外出务工", "work" | "务工";
    EarlyMarriage => "早婚", "early_marriage";
    NoGuardian => "监护缺失", "no_guardian";
    Uselessness => "读书无用论", "uselessness";
    Other => "其他", "other";
    Unknown => "不详", "unknown";
});

vocab!(
    /// How a case came to the ledger.
    CaseSource, "来源" {
    Roll => "在籍辍学", "roll";
    Police => "公安户籍比对", "police";
    Civil => "民政比对", "civil";
    Poverty => "扶贫比对", "poverty";
    Disability => "残联比对", "disability";
    Ministry => "疑似失学儿童名单", "ministry";
});

vocab!(
    /// One kind of action on a case.
    ActionKind, "措施类型" {
    Call => "电话", "call";
    Visit => "家访", "visit";
    Notice => "送达通知书", "notice";
    Referral => "上报/移交", "referral" | "上报";
    Search => "查找", "search";
    Other => "其他", "other";
    // Appended (stored actions keep their index): the bureau's 通报 and 学籍档案 handover to
    // the 户籍 county of a non-local pupil (000 §三(二); shared::handover).
    Handover => "户籍地通报移交", "handover" | "通报移交";
});

vocab!(
    /// Notices served on guardians, in escalating order.
    Notice, "通知书" {
    PersuadeReturn => "劝返复学通知书", "persuade_return" | "辍学学生劝返通知书";
    EnrolByDeadline => "限期入学通知书", "enrol_by_deadline";
    UrgeReturn => "敦促返校通知书", "urge_return" | "敦促辍学学生返校通知书";
    Penalty => "行政处罚决定书", "penalty";
    Judicial => "司法文书", "judicial";
});

vocab!(
    /// How a case leaves the ledger (台账销号, 003 §二(五)). `Mistaken`: the case rested on an
    /// absence recorded by mistake and since withdrawn (written only by withdrawing that
    /// absence, never chosen on `case close`).
    Outcome, "销号原因" {
    Returned => "复学", "returned";
    Transferred => "转学核实", "transferred";
    Exempt => "豁免", "exempt";
    Deceased => "死亡", "deceased";
    Suspended => "休学", "suspended";
    Deferred => "延缓入学", "deferred";
    MovedAway => "迁往县外", "moved_away" | "迁出";
    Abroad => "出国", "abroad";
    SpecialSchool => "特殊教育学校", "special_school" | "特教学校";
    HomeDelivered => "送教上门", "home_delivered";
    Mistaken => "误记撤销", "mistaken";
});

/// The evidence fields a closure can carry (台账销号, 003 §二(五): "材料齐全真实"). Which are
/// required depends on the outcome ([`Outcome::required`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvidenceField {
    /// 书面申请日期 (002 §四(一) "由其法定监护人提出书面申请").
    Applied,
    /// 申请人 (the guardian).
    Applicant,
    /// 批准机关 (002 §四(一) "经乡镇批准").
    ApprovedBy,
    /// 批准人.
    Approver,
    /// 理由 (因病、因残、其他).
    Ground,
    /// 截止日期 (休学、延缓入学 end).
    Until,
    /// 就读或安置学校 (转学核实, 特殊教育学校, 送教上门).
    School,
    /// 迁往地或国家 (迁往县外, 出国).
    Place,
    /// 证明材料 (死亡证明、户籍注销证明 …).
    Document,
}

impl EvidenceField {
    /// The flag of `case close` that fills it, and its Chinese name.
    pub fn flag(self) -> (&'static str, &'static str) {
        match self {
            EvidenceField::Applied => ("--applied", "书面申请日期"),
            EvidenceField::Applicant => ("--applicant", "申请人"),
            EvidenceField::ApprovedBy => ("--approved-by", "批准机关"),
            EvidenceField::Approver => ("--approver", "批准人"),
            EvidenceField::Ground => ("--ground", "理由"),
            EvidenceField::Until => ("--until", "截止日期"),
            EvidenceField::School => ("--school", "就读或安置学校"),
            EvidenceField::Place => ("--place", "迁往地"),
            EvidenceField::Document => ("--document", "证明材料"),
        }
    }
}

impl Outcome {
    /// The evidence a closure with this outcome must record. 002 §四(一): an exemption (and a
    /// suspension or deferral, the same procedure) needs the guardian's written application,
    /// approved by the township; 003 §二(五) "材料齐全真实" for the others.
    pub fn required(self) -> &'static [EvidenceField] {
        use EvidenceField::*;
        match self {
            Outcome::Returned | Outcome::Mistaken => &[],
            Outcome::Transferred => &[School],
            Outcome::Exempt => &[Applied, Applicant, ApprovedBy, Approver, Ground],
            Outcome::Suspended | Outcome::Deferred => &[Applied, Applicant, ApprovedBy, Approver, Ground, Until],
            Outcome::Deceased => &[Document],
            Outcome::MovedAway | Outcome::Abroad => &[Place],
            Outcome::SpecialSchool | Outcome::HomeDelivered => &[School],
        }
    }

    /// Whether the child is expected back when the closure's end date passes (休学, 延缓入学).
    pub fn ends(self) -> bool {
        matches!(self, Outcome::Suspended | Outcome::Deferred)
    }
}

/// Why a child is exempt or suspended (004 第七条 "除身体原因不具备学习条件外").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ground {
    Illness,
    Disability,
    Other,
}

impl Ground {
    pub fn label(self) -> &'static str {
        match self {
            Ground::Illness => "因病",
            Ground::Disability => "因残",
            Ground::Other => "其他",
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Ground::Illness => "illness",
            Ground::Disability => "disability",
            Ground::Other => "other",
        }
    }
    /// A physical ground: the only one that exempts (004 第七条, 002 §二 "除身体原因").
    pub fn is_physical(self) -> bool {
        matches!(self, Ground::Illness | Ground::Disability)
    }
}

impl FromStr for Ground {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "因病" | "illness" | "疾病" | "health" => Ok(Ground::Illness),
            "因残" | "disability" | "残疾" => Ok(Ground::Disability),
            "其他" | "other" => Ok(Ground::Other),
            t => {
                Err(ParseEnumError { what: "理由", value: t.to_string(), allowed: "因病、因残、其他".into() })
            }
        }
    }
}

/// The evidence recorded with a closure (销号材料): written in the same revision as the closing
/// state, in the case's `Closure` register. A closure made before these fields existed has
/// none, and shows 「申请材料未记录」 — never back-filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClosureEvidence {
    pub applied: Option<Date>,
    pub applicant: Option<String>,
    pub approved_by: Option<String>,
    pub approver: Option<String>,
    pub ground: Option<Ground>,
    pub until: Option<Date>,
    pub school: Option<String>,
    pub place: Option<String>,
    pub document: Option<String>,
}

impl ClosureEvidence {
    fn has(&self, f: EvidenceField) -> bool {
        let t = |s: &Option<String>| s.as_deref().is_some_and(|x| !x.trim().is_empty());
        match f {
            EvidenceField::Applied => self.applied.is_some(),
            EvidenceField::Applicant => t(&self.applicant),
            EvidenceField::ApprovedBy => t(&self.approved_by),
            EvidenceField::Approver => t(&self.approver),
            EvidenceField::Ground => self.ground.is_some(),
            EvidenceField::Until => self.until.is_some(),
            EvidenceField::School => t(&self.school),
            EvidenceField::Place => t(&self.place),
            EvidenceField::Document => t(&self.document),
        }
    }

    /// Checks the evidence for closing with `outcome` on `on`: every required field present
    /// (one line naming every missing one with its flag), an exemption on a physical ground
    /// when `physical_only` (the county's policy says so), the application not after the
    /// closing day and the end date after it.
    pub fn check(&self, outcome: Outcome, on: Date, physical_only: bool) -> Result<(), String> {
        let missing: Vec<String> = outcome
            .required()
            .iter()
            .filter(|f| !self.has(**f))
            .map(|f| {
                let (flag, name) = f.flag();
                format!("{name}（{flag}）")
            })
            .collect();
        if !missing.is_empty() {
            return Err(format!("以「{outcome}」销号须记录：{}", missing.join("、")));
        }
        if outcome == Outcome::Exempt && physical_only && !self.ground.is_some_and(Ground::is_physical) {
            return Err("豁免只适用于身体原因（因病、因残）不具备学习条件的儿童（004 第七条、002 §四(一)），--ground 应为 因病 或 因残".into());
        }
        if let Some(a) = self.applied.filter(|a| *a > on) {
            return Err(format!("书面申请日期 {a} 晚于销号日期 {on}"));
        }
        if let Some(u) = self.until.filter(|u| *u <= on) {
            return Err(format!("截止日期 {u} 应晚于销号日期 {on}"));
        }
        Ok(())
    }

    /// One line for views: 「监护人张某 2026-09-01 书面申请，鸦岭镇人民政府（李镇长）批准，因病，至 2027-01-31」.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.applied.is_some() || self.applicant.is_some() {
            parts.push(format!(
                "{} {} 书面申请",
                self.applicant.as_deref().unwrap_or("（申请人未记录）"),
                self.applied.map(|d| d.to_string()).unwrap_or_default()
            ));
        }
        if let Some(b) = &self.approved_by {
            match &self.approver {
                Some(p) => parts.push(format!("{b}（{p}）批准")),
                None => parts.push(format!("{b}批准")),
            }
        }
        if let Some(g) = self.ground {
            parts.push(g.label().to_string());
        }
        if let Some(u) = self.until {
            parts.push(format!("至 {u}"));
        }
        if let Some(s) = &self.school {
            parts.push(format!("学校 {s}"));
        }
        if let Some(p) = &self.place {
            parts.push(format!("去向 {p}"));
        }
        if let Some(d) = &self.document {
            parts.push(format!("证明 {d}"));
        }
        parts.join("，")
    }
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TransferTarget {
    /// Another school of the county (by name); its township's node must accept.
    School(String),
    /// Outside the county; recorded as such, nothing to accept.
    OutOfCounty(String),
}

/// A student's status together with the school it holds at: one register, so that a status
/// change and the school it concerns can never be merged apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Placement {
    pub status: Status,
    pub school: String,
    /// Set while status is 转出.
    pub transfer: Option<TransferTarget>,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transfer {
            Some(TransferTarget::School(s)) => write!(f, "{}（{} → {}）", self.status, self.school, s),
            Some(TransferTarget::OutOfCounty(p)) => write!(f, "{}（{} → 县外：{}）", self.status, self.school, p),
            None => write!(f, "{}（{}）", self.status, self.school),
        }
    }
}

/// The state of a case (docs/DOMAIN.md "Cases").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CaseState {
    /// 疑似辍学
    Suspected,
    /// 辍学 confirmed (marked in the student-status system, 004 第七条 day 7).
    Confirmed,
    /// 销号, with outcome and evidence.
    Closed { outcome: Outcome, evidence: Option<String>, on: Date },
}

impl CaseState {
    pub fn is_open(&self) -> bool {
        !matches!(self, CaseState::Closed { .. })
    }
    pub fn label(&self) -> String {
        match self {
            CaseState::Suspected => "疑似辍学".into(),
            CaseState::Confirmed => "辍学".into(),
            CaseState::Closed { outcome, .. } => format!("已销号（{outcome}）"),
        }
    }
    pub fn key(&self) -> &'static str {
        match self {
            CaseState::Suspected => "suspected",
            CaseState::Confirmed => "confirmed",
            CaseState::Closed { .. } => "closed",
        }
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// One action taken on a case (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Action {
    pub date: Date,
    pub kind: ActionKind,
    pub by: String,
    pub notice: Option<Notice>,
    pub text: Option<String>,
}

/// One role of a case's responsible people (一人一案): the education line's 班主任 and the subject
/// teacher who owns the child (包保科任教师, "科任教师包人", 002 §四(二)1), and the government
/// line's township cadre who owns the village and the village or group cadre (乡镇干部包村、村干部
/// 包组, the "三包" of 004 第五条).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResponsibleRole {
    ClassTeacher,
    Mentor,
    TownshipCadre,
    VillageCadre,
}

impl ResponsibleRole {
    /// In the order they are written.
    pub const ALL: &'static [ResponsibleRole] = &[
        ResponsibleRole::ClassTeacher,
        ResponsibleRole::Mentor,
        ResponsibleRole::TownshipCadre,
        ResponsibleRole::VillageCadre,
    ];
    /// The word written before the name (`班主任 刘老师`).
    pub fn label(self) -> &'static str {
        match self {
            ResponsibleRole::ClassTeacher => "班主任",
            ResponsibleRole::Mentor => "包保教师",
            ResponsibleRole::TownshipCadre => "包村干部",
            ResponsibleRole::VillageCadre => "村组干部",
        }
    }
    /// The English key (JSON).
    pub fn key(self) -> &'static str {
        match self {
            ResponsibleRole::ClassTeacher => "class_teacher",
            ResponsibleRole::Mentor => "mentor",
            ResponsibleRole::TownshipCadre => "township_cadre",
            ResponsibleRole::VillageCadre => "village_cadre",
        }
    }
}

/// Separates the roles in the written form.
const RESPONSIBLE_SEP: char = '、';

/// Why a name cannot be recorded as a responsible person.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{role}姓名「{name}」无效：{reason}")]
pub struct ResponsibleNameError {
    pub role: &'static str,
    pub name: String,
    pub reason: &'static str,
}

/// The responsible people of a case. Stored in the case's `Responsible` register as one readable
/// text, `班主任 刘老师、包保教师 张老师、包村干部 李主任、村组干部 王书记` (only the roles known, in
/// this order): [`Responsible::format`] writes it, [`Responsible::parse`] reads it back, so the
/// ledger view, the history and the alerts all read the same people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Responsible {
    names: [Option<String>; 4],
    /// Parts of the text that name no known role (text written before roles existed), kept
    /// verbatim so that rewriting one role never loses them.
    pub other: Vec<String>,
}

impl Responsible {
    fn slot(role: ResponsibleRole) -> usize {
        ResponsibleRole::ALL.iter().position(|r| *r == role).unwrap_or(0)
    }

    pub fn get(&self, role: ResponsibleRole) -> Option<&str> {
        self.names[Self::slot(role)].as_deref()
    }

    /// Sets one role (`None` or an empty name clears it), after checking the name can be read
    /// back: not containing the separator `、`, at most 30 characters.
    pub fn set(&mut self, role: ResponsibleRole, name: Option<&str>) -> Result<(), ResponsibleNameError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = name {
            let bad = |reason| ResponsibleNameError { role: role.label(), name: n.to_string(), reason };
            if n.contains(RESPONSIBLE_SEP) {
                return Err(bad("不能含有顿号「、」（每个角色只写一人）"));
            }
            if n.chars().count() > 30 {
                return Err(bad("过长（最多 30 个字）"));
            }
        }
        self.names[Self::slot(role)] = name.map(str::to_string);
        Ok(())
    }

    /// The roles with a name, in the written order.
    pub fn roles(&self) -> Vec<(ResponsibleRole, &str)> {
        ResponsibleRole::ALL.iter().filter_map(|r| self.get(*r).map(|n| (*r, n))).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.names.iter().all(Option::is_none) && self.other.is_empty()
    }

    /// The stored text; `None` when nobody is recorded.
    pub fn format(&self) -> Option<String> {
        let mut parts: Vec<String> = self.roles().into_iter().map(|(r, n)| format!("{} {n}", r.label())).collect();
        parts.extend(self.other.iter().cloned());
        (!parts.is_empty()).then(|| parts.join(&RESPONSIBLE_SEP.to_string()))
    }

    /// Reads the stored text back. Never fails: a part that starts with no role word (or
    /// repeats a role already read) is kept in `other`.
    pub fn parse(text: &str) -> Responsible {
        let mut out = Responsible::default();
        for part in text.split(RESPONSIBLE_SEP).map(str::trim).filter(|p| !p.is_empty()) {
            let known = ResponsibleRole::ALL.iter().find_map(|r| {
                let rest = part.strip_prefix(r.label())?;
                let name = rest.trim_start_matches([' ', '\u{3000}', ':', '：']);
                // The role word must be followed by a separator: `班主任李四` is not read as a role.
                (name.len() < rest.len() && !name.trim().is_empty()).then_some((*r, name.trim()))
            });
            match known {
                Some((r, name)) if out.get(r).is_none() => out.names[Self::slot(r)] = Some(name.to_string()),
                _ => out.other.push(part.to_string()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.label().parse::<Status>().unwrap(), *s);
            assert_eq!(s.key().parse::<Status>().unwrap(), *s);
        }
        let e = "x".parse::<Status>().unwrap_err();
        assert!(e.to_string().contains("在读"));
    }

    #[test]
    fn transitions() {
        assert!(Status::Enrolled.can_become(Status::DroppedOut));
        assert!(!Status::Graduated.can_become(Status::DroppedOut));
        assert!(!Status::Deceased.can_become(Status::Enrolled));
        assert!(Status::DroppedOut.can_become(Status::Enrolled));
    }

    #[test]
    fn groups() {
        let g = SpecialGroup::parse_list("留守儿童、孤儿;留守儿童").unwrap();
        assert_eq!(g, vec![SpecialGroup::Orphan, SpecialGroup::LeftBehind]);
        assert!(SpecialGroup::parse_list("外星人").is_err());
        assert!(SpecialGroup::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn grades_by_type() {
        assert!(SchoolType::Primary.grades().contains(&6));
        assert!(!SchoolType::Primary.grades().contains(&7));
        assert!(!SchoolType::NineYear.grades().contains(&10));
    }

    #[test]
    fn responsible_round_trip_and_partial_updates() {
        let mut r = Responsible::default();
        assert_eq!(r.format(), None);
        r.set(ResponsibleRole::VillageCadre, Some(" 王书记 ")).unwrap();
        r.set(ResponsibleRole::ClassTeacher, Some("刘老师")).unwrap();
        let text = r.format().unwrap();
        assert_eq!(text, "班主任 刘老师、村组干部 王书记");
        let mut back = Responsible::parse(&text);
        assert_eq!(back, r);
        back.set(ResponsibleRole::Mentor, Some("张 辉")).unwrap();
        back.set(ResponsibleRole::TownshipCadre, Some("李主任")).unwrap();
        let all = back.format().unwrap();
        assert_eq!(all, "班主任 刘老师、包保教师 张 辉、包村干部 李主任、村组干部 王书记");
        let again = Responsible::parse(&all);
        assert_eq!(again.get(ResponsibleRole::Mentor), Some("张 辉"));
        assert_eq!(again.roles().len(), 4);
        // Clearing one role keeps the others.
        let mut cleared = again.clone();
        cleared.set(ResponsibleRole::ClassTeacher, Some("")).unwrap();
        assert_eq!(cleared.format().unwrap(), "包保教师 张 辉、包村干部 李主任、村组干部 王书记");
        // A name that could not be read back is refused.
        let e = cleared.set(ResponsibleRole::ClassTeacher, Some("刘、陈")).unwrap_err();
        assert!(e.to_string().contains("班主任") && e.to_string().contains("刘、陈"), "{e}");
    }

    /// Issue 13 point 2: what each outcome needs, the physical-ground rule, and day −1 / day /
    /// day +1 around the closing day for the application and the end date.
    #[test]
    fn closure_evidence_by_outcome() {
        let on = Date::ymd(2026, 9, 10);
        let none = ClosureEvidence::default();
        let e = none.check(Outcome::Exempt, on, true).unwrap_err();
        for flag in ["--applied", "--applicant", "--approved-by", "--approver", "--ground"] {
            assert!(e.contains(flag), "{e}");
        }
        assert!(none.check(Outcome::Returned, on, true).is_ok());
        assert!(none.check(Outcome::Deceased, on, true).unwrap_err().contains("--document"));
        assert!(none.check(Outcome::Abroad, on, true).unwrap_err().contains("--place"));
        assert!(none.check(Outcome::SpecialSchool, on, true).unwrap_err().contains("--school"));
        let full = ClosureEvidence {
            applied: Some(on),
            applicant: Some("张父".into()),
            approved_by: Some("鸦岭镇人民政府".into()),
            approver: Some("赵副镇长".into()),
            ground: Some(Ground::Other),
            until: Some(on.add_days(1)),
            ..Default::default()
        };
        assert!(full.check(Outcome::Exempt, on, true).unwrap_err().contains("身体原因"));
        assert!(full.check(Outcome::Exempt, on, false).is_ok(), "a policy without the physical rule");
        let ill = ClosureEvidence { ground: Some(Ground::Illness), ..full.clone() };
        assert!(ill.check(Outcome::Exempt, on, true).is_ok());
        // The application: on the closing day or before.
        let late = ClosureEvidence { applied: Some(on.add_days(1)), ..ill.clone() };
        assert!(late.check(Outcome::Suspended, on, true).is_err());
        let early = ClosureEvidence { applied: Some(on.add_days(-1)), ..ill.clone() };
        assert!(early.check(Outcome::Suspended, on, true).is_ok());
        // The end date: after the closing day.
        let same = ClosureEvidence { until: Some(on), ..ill.clone() };
        assert!(same.check(Outcome::Suspended, on, true).unwrap_err().contains("截止日期"));
        let before = ClosureEvidence { until: Some(on.add_days(-1)), ..ill.clone() };
        assert!(before.check(Outcome::Deferred, on, true).is_err());
        assert!(ill.check(Outcome::Deferred, on, true).is_ok());
        assert!(Outcome::Suspended.ends() && Outcome::Deferred.ends() && !Outcome::Exempt.ends());
        assert_eq!("因残".parse::<Ground>().unwrap(), Ground::Disability);
        assert!("厌学".parse::<Ground>().is_err());
        // The new outcomes parse from both spellings; the old four keep their positions.
        assert_eq!("延缓入学".parse::<Outcome>().unwrap(), Outcome::Deferred);
        assert_eq!("moved_away".parse::<Outcome>().unwrap(), Outcome::MovedAway);
        assert_eq!(&Outcome::ALL[..4], &[Outcome::Returned, Outcome::Transferred, Outcome::Exempt, Outcome::Deceased]);
    }

    #[test]
    fn responsible_free_text_is_kept() {
        // Text with no role word (or a role word glued to a name) is kept verbatim.
        let r = Responsible::parse("刘老师、班主任李四、班主任：陈老师");
        assert_eq!(r.get(ResponsibleRole::ClassTeacher), Some("陈老师"));
        assert_eq!(r.other, vec!["刘老师".to_string(), "班主任李四".to_string()]);
        let mut r2 = r.clone();
        r2.set(ResponsibleRole::Mentor, Some("张老师")).unwrap();
        assert_eq!(r2.format().unwrap(), "班主任 陈老师、包保教师 张老师、刘老师、班主任李四");
        assert!(Responsible::parse("").is_empty());
    }
}
