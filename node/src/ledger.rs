//! The township's ledger as the commands see it: the store plus this node's configuration, and
//! the rules every command shares — how a STUDENT or CASE argument is resolved, which records
//! this node may change, and how a change is written (one durable commit per command).

use std::path::{Path, PathBuf};

use baoxue_shared::dates::{plausible_write_date, SchoolYear, SchoolYearStart, WriteSubject};
use baoxue_shared::ids::mask;
use baoxue_shared::model::{AbsenceKind, CaseState, Placement, Status, TransferTarget};
use baoxue_shared::policy::Policy;
use baoxue_shared::revision::Assign;
use baoxue_shared::{Change, Date, Field, Record, RecordId, RecordKind, Revision, Value};
use baoxue_store::Store;

use crate::config::{NodeConfig, META_CONFIG};
use crate::error::{invalid, not_found, refused, NodeError, Result};

/// An open ledger: the store of one data directory and the node's configuration.
pub struct Ledger {
    pub store: Store,
    pub config: NodeConfig,
    pub dir: PathBuf,
}

/// One item of a commit: which record, of which kind, and what changes.
pub type Item = (RecordId, RecordKind, Change);

impl Ledger {
    /// Opens an initialised data directory. A missing or empty directory is an error (and is
    /// left as it was): only `init` creates one.
    pub fn open(dir: &Path) -> Result<Ledger> {
        if !Store::exists(dir) {
            return Err(NodeError::NotInitialised(dir.display().to_string()));
        }
        let store = open_waiting(dir)?;
        let config: NodeConfig =
            store.get_meta(META_CONFIG)?.ok_or_else(|| NodeError::NotInitialised(dir.display().to_string()))?;
        Ok(Ledger { store, config, dir: dir.to_path_buf() })
    }

    pub fn township(&self) -> &str {
        &self.config.township
    }

    /// The policy in force (see [`crate::policy::of`]).
    pub fn policy(&self) -> Result<Policy> {
        crate::policy::of(&self.config)
    }

    /// The school year a business date falls in (the policy's start day, default 1 September).
    pub fn school_year(&self, d: Date) -> SchoolYear {
        SchoolYear::of(d, self.year_start())
    }

    /// The first day of every school year under the policy (09-01 without one).
    pub fn year_start(&self) -> SchoolYearStart {
        self.policy().map(|p| p.calendar.school_year_start.into()).unwrap_or_default()
    }

    /// The plausible-date rule (`shared::dates::plausible_write_date`) for a write dated `date`
    /// about `subject` (a student or a case; none for a new record, then `birth` if known).
    /// Every recording command calls it before it commits; `--as-of` is never checked.
    pub fn check_write_date(&self, date: Date, subject: Option<&Record>, birth: Option<Date>) -> Result<()> {
        let year_start = self.year_start();
        let (birth, begins) = match subject {
            Some(r) => match r.kind {
                RecordKind::Student => {
                    (r.birth().or(birth), r.dated.get(&(Field::Placement, r.id.creating_revision())).map(|w| w.date))
                }
                RecordKind::Case => {
                    let init = r.case.as_deref();
                    (init.map(|c| c.child.birth).or(birth), init.map(|c| c.opened))
                }
            },
            None => (birth, None),
        };
        let who = subject.map(|r| format!("{}：", label(r))).unwrap_or_default();
        plausible_write_date(date, Date::today(), &WriteSubject { birth, begins, year_start })
            .map_err(|e| invalid(format!("{who}{e}")))
    }

    /// Makes the revisions of one command, durably (flushed before this returns).
    pub fn commit(&self, author: &str, date: Date, items: Vec<Item>) -> Result<Vec<Revision>> {
        let revs = self.store.commit(&self.config.origin, author, date, items)?;
        abort_if_testing_durability();
        Ok(revs)
    }

    // --- resolving arguments --------------------------------------------------------------

    /// A STUDENT argument: a 学籍号 (G/L/J + 18) or a 身份证号 (18).
    pub fn student(&self, arg: &str) -> Result<Record> {
        let key = arg.trim().to_ascii_uppercase();
        let n = key.chars().count();
        let ids = if n == 19 && key.starts_with(['G', 'L', 'J']) {
            self.store.by_student_no(&key)?
        } else if n == 18 {
            self.store.by_id_number(&key)?
        } else {
            return Err(not_found(format!("「{}」不是学籍号（G/L/J 加 18 位）或身份证号（18 位）", shown(&key))));
        };
        let mut found = Vec::new();
        for id in ids {
            if let Some(r) = self.store.record(id)? {
                if r.kind == RecordKind::Student && r.is_complete() {
                    found.push(r);
                }
            }
        }
        if found.len() > 1 {
            // A copy whose creation the hub refused (the township already had the child, e.g.
            // made by a second machine under this node's identity) never hides the real one.
            let refused = self.refused_creations()?;
            if found.iter().any(|r| !refused.contains(&r.id.hex())) {
                found.retain(|r| !refused.contains(&r.id.hex()));
            }
        }
        match found.len() {
            0 => Err(not_found(format!("未找到学生「{}」：本节点没有此学籍号或身份证号", shown(&key)))),
            1 => Ok(found.remove(0)),
            _ => Err(refused(format!(
                "身份证号「{}」对应 {} 条学籍（重复学籍：{}），请改用学籍号",
                shown(&key),
                found.len(),
                found
                    .iter()
                    .map(|r| r.student_no().map(|s| s.masked()).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("、")
            ))),
        }
    }

    /// The records whose creation the hub refused (their ids, hex).
    fn refused_creations(&self) -> Result<std::collections::HashSet<String>> {
        let list: Vec<crate::sync::RejectedItem> = self.store.get_meta(crate::sync::META_REJECTED)?.unwrap_or_default();
        Ok(list.into_iter().filter(|r| r.revision == r.record).map(|r| r.record).collect())
    }

    /// A CASE argument: a case id (its leading hex digits, usually 8) or a STUDENT, meaning
    /// that student's open case.
    pub fn case(&self, arg: &str) -> Result<Record> {
        let key = arg.trim();
        let looks_like_student = {
            let u = key.to_ascii_uppercase();
            let n = u.chars().count();
            (n == 19 && u.starts_with(['G', 'L', 'J'])) || n == 18
        };
        if !looks_like_student {
            if key.len() < 4 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(not_found(format!("「{key}」既不是案件编号（如 1a2b3c4d），也不是学籍号或身份证号")));
            }
            let mut found = Vec::new();
            for id in self.store.by_id_prefix(key)? {
                if let Some(r) = self.store.record(id)? {
                    if r.kind == RecordKind::Case && r.is_complete() {
                        found.push(r);
                    }
                }
            }
            return match found.len() {
                0 => Err(not_found(format!("未找到案件「{key}」"))),
                1 => Ok(found.remove(0)),
                n => Err(not_found(format!("案件编号「{key}」对应 {n} 个案件，请多输入几位"))),
            };
        }
        let student = self.student(key)?;
        self.open_case_of(&student)?.ok_or_else(|| not_found(format!("{} 没有未销号的案件", who(&student))))
    }

    /// Every case of a student, oldest first.
    pub fn cases_of(&self, student: &Record) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for id in self.store.cases_of(student.id)? {
            if let Some(r) = self.store.record(id)? {
                if r.is_complete() {
                    out.push(r);
                }
            }
        }
        out.sort_by_key(|c| (c.case.as_ref().map(|i| i.opened), c.created.clone()));
        Ok(out)
    }

    pub fn open_case_of(&self, student: &Record) -> Result<Option<Record>> {
        Ok(self.cases_of(student)?.into_iter().rev().find(|c| c.case_state().map(CaseState::is_open).unwrap_or(false)))
    }

    /// The most recently closed case of a student, with the day it was closed.
    pub fn last_closed_case_of(&self, student: &Record) -> Result<Option<(Record, Date)>> {
        let mut best: Option<(Record, Date)> = None;
        for c in self.cases_of(student)? {
            if let Some(CaseState::Closed { on, .. }) = c.case_state() {
                let on = *on;
                if best.as_ref().map(|(_, d)| on >= *d).unwrap_or(true) {
                    best = Some((c, on));
                }
            }
        }
        Ok(best)
    }

    /// Every complete record of a kind.
    pub fn all(&self, kind: RecordKind) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for r in self.store.records(Some(kind)) {
            let r = r?;
            if r.is_complete() {
                out.push(r);
            }
        }
        Ok(out)
    }

    // --- scope ----------------------------------------------------------------------------

    /// The township a student currently belongs to (the township of the school they hold at).
    pub fn township_of(&self, student: &Record) -> Option<&str> {
        student.school().and_then(|s| self.config.org.township_of(s))
    }

    /// A student of this township (including one with a pending transfer out).
    pub fn is_ours(&self, student: &Record) -> bool {
        self.township_of(student) == Some(self.township())
    }

    /// A transfer addressed to a school of this township, not yet accepted.
    pub fn is_incoming(&self, student: &Record) -> bool {
        match student.placement() {
            Some(Placement { status: Status::TransferredOut, transfer: Some(TransferTarget::School(s)), .. }) => {
                self.config.org.township_of(s) == Some(self.township())
            }
            _ => false,
        }
    }

    /// This node changes only its own township's students; a student who has moved to another
    /// township is read-only here.
    pub fn ensure_writable(&self, student: &Record) -> Result<()> {
        if self.is_ours(student) {
            return Ok(());
        }
        let elsewhere = self.township_of(student).unwrap_or("外县或未知乡镇");
        Err(refused(format!(
            "{} 现属{}（{}），不是本乡镇（{}）的学生：本节点只能查看，不能修改",
            who(student),
            elsewhere,
            student.school().unwrap_or("未知学校"),
            self.township()
        )))
    }

    pub fn ensure_case_writable(&self, case: &Record) -> Result<()> {
        let t = case.case.as_ref().map(|c| c.township.as_str()).unwrap_or("");
        if t == self.township() {
            Ok(())
        } else {
            Err(refused(format!(
                "案件 {}（{}）属于{}，不是本乡镇（{}）的案件：本节点不能修改",
                case.id.short(),
                case.name(),
                t,
                self.township()
            )))
        }
    }
}

/// How long a command waits for a data directory another process holds (a sync in progress).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Opens the store, waiting while another process (a sync, another command) holds it.
pub fn open_waiting(dir: &Path) -> Result<Store> {
    let start = std::time::Instant::now();
    loop {
        match Store::open(dir) {
            Ok(s) => return Ok(s),
            Err(e) if e.is_locked() && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) if e.is_locked() => {
                return Err(refused(format!(
                    "数据目录 {} 正被另一个 baoxue-node 进程使用（可能正在同步），等待 {} 秒后仍未释放，请稍后重试",
                    dir.display(),
                    LOCK_WAIT.as_secs()
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How a student is named in messages: `学生 G41032*********1234（张三）`. The number is masked
/// because a G number contains the full ID number.
pub fn who(student: &Record) -> String {
    format!("学生 {}（{}）", student.student_no().map(|s| s.masked()).unwrap_or_default(), student.name())
}

/// An identifier typed by the operator, as it may appear in a message (masked).
pub fn shown(key: &str) -> String {
    if key.chars().count() >= 18 {
        mask(key)
    } else {
        key.to_string()
    }
}

/// How a record is named in messages: a student by [`who`], a case by its id and child.
pub fn label(rec: &Record) -> String {
    match rec.kind {
        RecordKind::Student => who(rec),
        RecordKind::Case => format!("案件 {}（{}）", rec.id.short(), rec.name()),
    }
}

/// Refuses a write to any of `fields` while it holds concurrent values: only the county settles
/// a conflict (`baoxue-hub conflicts resolve`, which syncs back), never a later edit here.
pub fn ensure_settled(rec: &Record, fields: &[Field]) -> Result<()> {
    for f in fields {
        if let Some(reg) = rec.register(*f).filter(|r| r.in_conflict()) {
            let mut values: Vec<String> = Vec::new();
            for c in reg.heads.values() {
                let v = c.value.to_string();
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            return Err(refused(format!(
                "{} 的{}有并发修改冲突（{}），待县级平台裁定：请县级平台用 baoxue-hub conflicts resolve 裁定，同步后才能修改",
                label(rec),
                f.label(),
                values.join("／")
            )));
        }
    }
    Ok(())
}

/// A register write that replaces every value the record currently holds for that field (so a
/// concurrent write elsewhere stays visible as a conflict instead of being lost). Refused while
/// the field is in conflict ([`ensure_settled`]).
pub fn assign(rec: &Record, field: Field, value: Value) -> Result<Assign> {
    ensure_settled(rec, &[field])?;
    Ok(Assign { field, value, supersedes: rec.register(field).map(|r| r.head_ids()).unwrap_or_default() })
}

/// The fields a status change writes ([`placement_change`]).
pub const PLACEMENT_FIELDS: &[Field] = &[Field::Placement, Field::Reason];

/// A status change of a student, with its reason if given.
pub fn placement_change(student: &Record, p: Placement, reason: Option<String>) -> Result<Change> {
    let mut a = vec![assign(student, Field::Placement, Value::Placement(p))?];
    if reason.is_some() || student.register(Field::Reason).is_some() {
        a.push(assign(student, Field::Reason, Value::OptText(reason))?);
    }
    Ok(Change::Update(a))
}

/// The first unexcused absence after `after` (exclusive) and not after `until`.
pub fn first_unexcused(student: &Record, after: Option<Date>, until: Date) -> Option<Date> {
    student
        .absences_sorted()
        .into_iter()
        .filter(|(d, k)| *k == AbsenceKind::Unexcused && after.map(|a| *d > a).unwrap_or(true) && *d <= until)
        .map(|(d, _)| d)
        .next()
}

/// Test hook for the durability tests (`tests/e2e/durability.rs`): with
/// `BAOXUE_TEST_ABORT_AFTER_COMMIT` set, the process aborts the moment a commit returns — no
/// output, no destructors, so sled gets no chance to flush on close. What the next process then
/// finds on disk is exactly what `commit` had made durable before returning.
/// Compiled only with the `test-hooks` feature: a shipped binary ignores the variable.
fn abort_if_testing_durability() {
    #[cfg(feature = "test-hooks")]
    if std::env::var_os("BAOXUE_TEST_ABORT_AFTER_COMMIT").is_some() {
        std::process::abort();
    }
}
