//! Revisions: the only way anything changes. A revision is immutable and globally unique; the
//! current state of a record is derived from the set of its revisions (see `state`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::ids::{IdNumber, StudentNo};
use crate::model::{AbsenceKind, Action, CaseSource, CaseState, Cause, ClosureEvidence, Placement, Sex, SpecialGroup};
use crate::visit::VisitDetails;

/// A globally unique revision id: 128 random bits, so a node restored from backup can never
/// mint an id that collides with one it minted before.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RevId(pub u128);

/// A record id: a record is named by the revision that created it, so a record id holds the
/// same 128 bits as that revision's id (and encodes exactly like it on disk and on the wire).
/// It is a type of its own so that a record id and a revision id cannot be swapped.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordId(pub u128);

impl RevId {
    pub fn random() -> RevId {
        RevId(rand::random())
    }
    /// The 8 leading hex digits: what people read and type (prefix lookup accepts more).
    pub fn short(&self) -> String {
        format!("{:032x}", self.0)[..8].to_string()
    }
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
    pub fn parse_hex(s: &str) -> Option<RevId> {
        u128::from_str_radix(s, 16).ok().map(RevId).filter(|_| s.len() == 32)
    }
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
    pub fn from_bytes(b: &[u8]) -> Option<RevId> {
        Some(RevId(u128::from_be_bytes(b.try_into().ok()?)))
    }
}

impl fmt::Debug for RevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl fmt::Display for RevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

impl RecordId {
    /// The id of the record that revision `rev` creates.
    pub fn created_by(rev: RevId) -> RecordId {
        RecordId(rev.0)
    }
    /// The revision that created this record (its `CreateStudent`/`CreateCase`).
    pub fn creating_revision(self) -> RevId {
        RevId(self.0)
    }
    /// The 8 leading hex digits: what people read and type (prefix lookup accepts more).
    pub fn short(&self) -> String {
        self.creating_revision().short()
    }
    pub fn hex(&self) -> String {
        self.creating_revision().hex()
    }
    pub fn parse_hex(s: &str) -> Option<RecordId> {
        RevId::parse_hex(s).map(RecordId::created_by)
    }
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
    pub fn from_bytes(b: &[u8]) -> Option<RecordId> {
        RevId::from_bytes(b).map(RecordId::created_by)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

/// Hybrid logical clock: wall milliseconds plus a counter, so that stamps of one node are
/// strictly increasing even when its wall clock stalls or steps back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc {
    pub ms: u64,
    pub n: u32,
}

impl Hlc {
    /// The next local stamp after `last`, given the wall clock.
    pub fn tick(last: Hlc, now_ms: u64) -> Hlc {
        if now_ms > last.ms {
            Hlc { ms: now_ms, n: 0 }
        } else {
            Hlc { ms: last.ms, n: last.n + 1 }
        }
    }
    /// Local clock after seeing a remote stamp (a later local tick orders after it).
    pub fn observe(local: Hlc, remote: Hlc) -> Hlc {
        local.max(remote)
    }
    /// `YYYY-MM-DD HH:MM:SS` (UTC+8, the users' time zone).
    pub fn display(&self) -> String {
        crate::dates::users_time_of_ms(self.ms).format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKind {
    Student,
    Case,
}

/// One immutable change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub id: RevId,
    pub record: RecordId,
    pub kind: RecordKind,
    /// The node (or `hub`) that made it.
    pub origin: String,
    /// Per-origin sequence number, 1, 2, 3, … in the order the origin made them.
    pub seq: u64,
    pub hlc: Hlc,
    /// The operator who made it.
    pub author: String,
    /// The business date (`--date`): the day the thing happened.
    pub date: Date,
    pub change: Change,
}

/// What a revision changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    CreateStudent(Box<StudentInit>),
    CreateCase(Box<CaseInit>),
    /// Register writes; each names the values it replaces (what its author saw).
    Update(Vec<Assign>),
    /// Append-only: one day's absence.
    Absence {
        day: Date,
        kind: AbsenceKind,
    },
    /// Append-only: one action on a case.
    Act(Action),
    /// A correction: the absence written by revision `absence` (of `day`, `kind`) was recorded
    /// by mistake. The absence stops counting everywhere; both revisions stay in the history.
    WithdrawAbsence {
        absence: RevId,
        day: Date,
        kind: AbsenceKind,
        reason: String,
    },
    /// Append-only: a home visit with its 家访记录表 fields (001 附件2, [`VisitDetails`]).
    /// Appended after every earlier variant: bincode writes a variant's index, so revisions
    /// stored before it existed decode unchanged (docs/DOMAIN.md "Home visits").
    Visit {
        action: Action,
        details: Box<VisitDetails>,
    },
}

/// One register write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assign {
    pub field: Field,
    pub value: Value,
    /// The revisions whose values of this field this write replaces. Writes that do not
    /// replace each other are concurrent: both values are kept and the field is in conflict.
    pub supersedes: Vec<RevId>,
}

/// The registers of a record. Student fields first, then case fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Field {
    StudentNo,
    IdNumber,
    Name,
    Sex,
    Birth,
    Grade,
    Class,
    HukouTownship,
    HukouVillage,
    EntryYear,
    Groups,
    Guardian,
    Phone,
    Placement,
    CaseState,
    Cause,
    Plan,
    Responsible,
    /// Why a student's status changed (休学 because of illness, 豁免 on written application …):
    /// written in the same revision as the `Placement` it explains; on a case, why it was
    /// reopened.
    Reason,
    /// A case's closure evidence (销号材料, [`ClosureEvidence`]): written with the closing state.
    Closure,
    /// A student's 户籍所在县 when it is another county (empty: the county's own, as every
    /// student recorded before it existed): a non-local pupil (000 §三(二), shared::handover).
    HukouCounty,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::StudentNo => "学籍号",
            Field::IdNumber => "身份证号",
            Field::Name => "姓名",
            Field::Sex => "性别",
            Field::Birth => "出生日期",
            Field::Grade => "年级",
            Field::Class => "班级",
            Field::HukouTownship => "户籍乡镇",
            Field::HukouVillage => "户籍村",
            Field::EntryYear => "入学年份",
            Field::Groups => "特殊群体",
            Field::Guardian => "监护人",
            Field::Phone => "监护人电话",
            Field::Placement => "学籍状态",
            Field::CaseState => "案件状态",
            Field::Cause => "辍学原因",
            Field::Plan => "劝返方案",
            Field::Responsible => "责任人",
            Field::Reason => "异动原因",
            Field::Closure => "销号材料",
            Field::HukouCounty => "户籍所在县",
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Field::StudentNo => "student_no",
            Field::IdNumber => "id_number",
            Field::Name => "name",
            Field::Sex => "sex",
            Field::Birth => "birth",
            Field::Grade => "grade",
            Field::Class => "class",
            Field::HukouTownship => "hukou_township",
            Field::HukouVillage => "hukou_village",
            Field::EntryYear => "entry_year",
            Field::Groups => "groups",
            Field::Guardian => "guardian",
            Field::Phone => "phone",
            Field::Placement => "status",
            Field::CaseState => "state",
            Field::Cause => "cause",
            Field::Plan => "plan",
            Field::Responsible => "responsible",
            Field::Reason => "reason",
            Field::Closure => "closure",
            Field::HukouCounty => "hukou_county",
        }
    }
    pub const ALL: &'static [Field] = &[
        Field::StudentNo,
        Field::IdNumber,
        Field::Name,
        Field::Sex,
        Field::Birth,
        Field::Grade,
        Field::Class,
        Field::HukouTownship,
        Field::HukouVillage,
        Field::EntryYear,
        Field::Groups,
        Field::Guardian,
        Field::Phone,
        Field::Placement,
        Field::CaseState,
        Field::Cause,
        Field::Plan,
        Field::Responsible,
        Field::Reason,
        Field::Closure,
        Field::HukouCounty,
    ];
    pub fn from_key(s: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.key() == s || f.label() == s)
    }
}

/// A register value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    Text(String),
    OptText(Option<String>),
    StudentNo(StudentNo),
    Id(Option<IdNumber>),
    Sex(Sex),
    Date(Date),
    Grade(u8),
    Year(Option<i32>),
    Groups(Vec<SpecialGroup>),
    Placement(Placement),
    CaseState(CaseState),
    Cause(Cause),
    Closure(Box<ClosureEvidence>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::OptText(s) => f.write_str(s.as_deref().unwrap_or("（空）")),
            Value::StudentNo(s) => f.write_str(&s.masked()),
            Value::Id(Some(id)) => f.write_str(&id.masked()),
            Value::Id(None) => f.write_str("（无）"),
            Value::Sex(s) => write!(f, "{s}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::Grade(g) => write!(f, "{g}年级"),
            Value::Year(y) => match y {
                Some(y) => write!(f, "{y}"),
                None => f.write_str("（空）"),
            },
            Value::Groups(g) => {
                if g.is_empty() {
                    f.write_str("（无）")
                } else {
                    f.write_str(&g.iter().map(|x| x.label()).collect::<Vec<_>>().join("、"))
                }
            }
            Value::Placement(p) => write!(f, "{p}"),
            Value::CaseState(s) => write!(f, "{s}"),
            Value::Cause(c) => write!(f, "{c}"),
            Value::Closure(e) => f.write_str(&e.describe()),
        }
    }
}

/// Everything a roster row says about a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentInit {
    pub student_no: StudentNo,
    pub id_number: Option<IdNumber>,
    pub name: String,
    pub sex: Sex,
    pub birth: Date,
    pub grade: u8,
    pub class: Option<String>,
    pub hukou_township: Option<String>,
    pub hukou_village: Option<String>,
    pub entry_year: Option<i32>,
    pub groups: Vec<SpecialGroup>,
    pub guardian: Option<String>,
    pub phone: Option<String>,
    pub placement: Placement,
}

impl StudentInit {
    /// The initial value of every student register.
    pub fn fields(&self) -> Vec<(Field, Value)> {
        vec![
            (Field::StudentNo, Value::StudentNo(self.student_no.clone())),
            (Field::IdNumber, Value::Id(self.id_number.clone())),
            (Field::Name, Value::Text(self.name.clone())),
            (Field::Sex, Value::Sex(self.sex)),
            (Field::Birth, Value::Date(self.birth)),
            (Field::Grade, Value::Grade(self.grade)),
            (Field::Class, Value::OptText(self.class.clone())),
            (Field::HukouTownship, Value::OptText(self.hukou_township.clone())),
            (Field::HukouVillage, Value::OptText(self.hukou_village.clone())),
            (Field::EntryYear, Value::Year(self.entry_year)),
            (Field::Groups, Value::Groups(self.groups.clone())),
            (Field::Guardian, Value::OptText(self.guardian.clone())),
            (Field::Phone, Value::OptText(self.phone.clone())),
            (Field::Placement, Value::Placement(self.placement.clone())),
        ]
    }
}

/// The child a case is about: a snapshot, so that a 失学 case (no roll anywhere) has one too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    pub name: String,
    pub id_number: Option<IdNumber>,
    pub student_no: Option<StudentNo>,
    pub sex: Sex,
    pub birth: Date,
    pub hukou_township: Option<String>,
    pub hukou_village: Option<String>,
    pub groups: Vec<SpecialGroup>,
}

/// How a case opens (一人一案).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseInit {
    /// The student record, for a case from the roll; none for a 失学 child.
    pub student: Option<RecordId>,
    pub child: Child,
    /// The township whose node owns the case.
    pub township: String,
    pub school: Option<String>,
    pub grade: Option<u8>,
    pub source: CaseSource,
    pub opened: Date,
    /// Day 0 of the escalation clock: the first unexcused absence of the episode.
    pub clock_start: Date,
    pub cause: Cause,
    /// The earlier episode of the same child, if any.
    pub previous: Option<RecordId>,
}

impl CaseInit {
    pub fn fields(&self) -> Vec<(Field, Value)> {
        vec![
            (Field::CaseState, Value::CaseState(CaseState::Suspected)),
            (Field::Cause, Value::Cause(self.cause)),
            (Field::Plan, Value::OptText(None)),
            (Field::Responsible, Value::OptText(None)),
        ]
    }
}

impl Revision {
    /// One line of Chinese saying what this revision did (history views).
    pub fn describe(&self) -> String {
        match &self.change {
            Change::CreateStudent(s) => format!(
                "建立学籍：{} {} {} {}年级（{}）",
                s.name,
                s.student_no.masked(),
                s.placement.school,
                s.grade,
                s.placement.status
            ),
            Change::CreateCase(c) => {
                format!("立案（{}）：{}，起算日 {}，原因 {}", c.source, c.child.name, c.clock_start, c.cause)
            }
            Change::Update(a) => {
                a.iter().map(|a| format!("{} → {}", a.field.label(), a.value)).collect::<Vec<_>>().join("；")
            }
            Change::Absence { day, kind } => format!("缺勤 {day}（{kind}）"),
            Change::WithdrawAbsence { day, kind, reason, .. } => format!("撤回缺勤 {day}（{kind}）：{reason}"),
            Change::Act(a) => {
                let mut s = format!("措施 {}：{}，经办 {}", a.date, a.kind, a.by);
                if let Some(n) = a.notice {
                    s.push_str(&format!("，送达《{n}》"));
                }
                if let Some(t) = &a.text {
                    s.push_str(&format!("，{t}"));
                }
                s
            }
            Change::Visit { action, details } => {
                let v = crate::visit::VisitRecord::of(action, Some(details));
                let mut s = format!("家访 {}，家访教师 {}", v.when(), v.teacher);
                for (label, value) in v.labelled() {
                    if !value.is_empty() {
                        s.push_str(&format!("，{label}：{value}"));
                    }
                }
                s
            }
        }
    }
}
