//! The county's commands over the hub's store: `report`, `alerts`, `baseline import` and
//! `census import`, as library functions (the binary only parses arguments and prints).
//!
//! - Reports come from `shared::indicators` over the nightly [`Snapshot`] (brought up to date
//!   incrementally first, so an on-demand report sees everything received so far), rendered by
//!   `shared::report` (`json` = the docs/CLI.md contract, `csv` with BOM, `md`).
//! - Alerts: the case, school and township rules of `shared::alerts` over every case, plus what
//!   only the hub can see: a unit losing more than 1% and a township above the national
//!   辍学率 limit (from the dropout report), nodes past the reporting deadline (from the days
//!   they synced), 重复学籍 (on the as-of day) and unresolved conflicts.
//! - `baseline import` keeps the parsed baseline in the hub's meta tree.
//! - `census import` matches a list against every roll (`shared::census`) and opens the 失学
//!   cases it finds at the hub (origin `hub`); each syncs to the node of the child's 户籍 township.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use baoxue_shared::alerts::{
    all_alerts, calendar_alert, conflict_alert, dropout_rate_alerts, duplicate_enrolment_alert, duplicate_since,
    loss_alerts, overdue_unconfirmed, report_deadline_alerts_issued, sort_alerts, Alert, StageCounts, SubjectKind,
    SyncDays, UnitCounts,
};
use baoxue_shared::census::{match_census, parse_census_with, CensusIndex, CensusOutcome, MatchContext};
use baoxue_shared::dates::{SchoolYear, SchoolYearStart};
use baoxue_shared::handover::HandoverReport;
use baoxue_shared::indicators::{
    compute_all, consolidation_report, dropout_report, ranking, township_table, Baseline, CohortStage, DropoutReport,
    DropoutUnit, Indicators,
};
use baoxue_shared::model::CaseSource;
use baoxue_shared::org::Org;
use baoxue_shared::policy::Policy;
use baoxue_shared::report::{render, render_bytes, Format, Render};
use baoxue_shared::state::Register;
use baoxue_shared::{Change, Date, Field, Hlc, Record, RecordId, RecordKind, RevId};
use baoxue_store::Store;
use serde::{Deserialize, Serialize};

use crate::snapshot::{Refresh, Snapshot};

/// Meta key of the imported [`Baseline`].
pub const META_BASELINE: &str = "county_baseline";
/// The origin of revisions the hub makes itself (cases opened by a census).
pub use baoxue_shared::sync::HUB_ORIGIN;

/// A node as the reporting rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSeen {
    pub name: String,
    pub township: String,
    /// The days (UTC+8) of its successful syncs.
    pub sync_days: SyncDays,
    /// The day it was issued: deadlines before it are not owed (none: always owed).
    pub issued: Option<Date>,
}

/// The hub's data as the county commands need it.
pub struct County {
    pub store: Store,
    pub org: Org,
    pub policy: Policy,
    /// The hub's data directory (snapshot, report archive).
    pub data: PathBuf,
    /// Active (not revoked) nodes.
    pub nodes: Vec<NodeSeen>,
    /// The county's name, heading the title row of .xlsx reports.
    pub unit: Option<String>,
    /// Column names of imported files: the built-in aliases plus the county's (`columns.toml`).
    pub aliases: baoxue_shared::table::Aliases,
}

/// The reports of `report …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Consolidation,
    Dropout,
    TownshipTable,
    Ranking,
    /// 非户籍辍学学生通报移交清单 (000 §三(二), shared::handover).
    Handover,
}

impl std::str::FromStr for ReportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "consolidation" | "巩固率" => Ok(ReportKind::Consolidation),
            "dropout" | "辍学率" => Ok(ReportKind::Dropout),
            "township-table" | "township_table" | "乡镇统计表" => Ok(ReportKind::TownshipTable),
            "ranking" | "排名" => Ok(ReportKind::Ranking),
            "handover" | "通报移交" => Ok(ReportKind::Handover),
            t => Err(format!("报表「{t}」无效，可选：consolidation、dropout、township-table、ranking、handover")),
        }
    }
}

impl ReportKind {
    pub fn file_stem(self) -> &'static str {
        match self {
            ReportKind::Consolidation => "consolidation",
            ReportKind::Dropout => "dropout",
            ReportKind::TownshipTable => "township-table",
            ReportKind::Ranking => "ranking",
            ReportKind::Handover => "handover",
        }
    }
}

/// Options of `report`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub kind: ReportKind,
    pub format: Format,
    pub as_of: Date,
    /// Consolidation only (default nine-year).
    pub stage: CohortStage,
    /// The school year (default: the one `as_of` falls in).
    pub school_year: Option<SchoolYear>,
}

/// Everything the nightly run computes for one day.
#[derive(Debug, Clone)]
pub struct Computed {
    pub indicators: Indicators,
    pub alerts: Vec<Alert>,
}

/// What `census import` did.
#[derive(Debug, Clone)]
pub struct CensusImport {
    pub outcome: CensusOutcome,
    /// The cases committed, with the township whose node receives each.
    pub opened: Vec<(RecordId, String)>,
    /// What the file was read as (CSV in which encoding, .xlsx, .xls).
    pub read_as: Option<baoxue_shared::table::Source>,
}

impl County {
    pub fn new(store: Store, org: Org, policy: Policy, data: &Path, nodes: Vec<NodeSeen>) -> County {
        County {
            store,
            org,
            policy,
            data: data.to_path_buf(),
            nodes,
            unit: None,
            aliases: baoxue_shared::table::Aliases::builtin(),
        }
    }

    /// The school year's first day of the county's policy.
    pub fn year_start(&self) -> SchoolYearStart {
        self.policy.calendar.school_year_start.into()
    }

    /// The school year `d` falls in under the county's policy: [`SchoolYear::of`].
    pub fn school_year_of(&self, d: Date) -> SchoolYear {
        SchoolYear::of(d, self.year_start())
    }

    // --- baseline ---------------------------------------------------------------------------

    pub fn baseline(&self) -> Result<Option<Baseline>> {
        Ok(self.store.get_meta(META_BASELINE)?)
    }

    /// Parses a baseline CSV (schools checked against the org) and keeps it, replacing any
    /// earlier one. `date` is the day its counts run up to.
    pub fn import_baseline(&self, bytes: &[u8], date: Date) -> Result<Baseline> {
        let b = Baseline::parse_with(bytes, date, Some(&self.org), &self.aliases)?;
        self.store.put_meta(META_BASELINE, &b)?;
        self.store.flush()?;
        Ok(b)
    }

    // --- snapshot and indicators ----------------------------------------------------------

    /// The snapshot brought up to date (and saved, so the next command starts from here).
    pub fn snapshot(&self) -> Result<(Snapshot, Refresh)> {
        let mut snap = Snapshot::load(&self.data, self.store.key());
        let r = snap.refresh(&self.store, self.year_start())?;
        snap.save(&self.data, self.store.key())?;
        Ok((snap, r))
    }

    /// Every indicator and every alert for `as_of`.
    pub fn compute(&self, snap: &Snapshot, as_of: Date) -> Result<Computed> {
        let baseline = self.baseline()?;
        let students = self.case_students(snap)?;
        let overdue = self.overdue(snap, &students, as_of);
        let indicators = compute_all(&snap.history, &self.org, baseline.as_ref(), as_of, &overdue);
        let alerts = self.alerts_with(snap, &students, &indicators.dropout, as_of)?;
        Ok(Computed { indicators, alerts })
    }

    /// The student records the snapshot's cases name: the case rules read them (absences for
    /// the run of unexcused days, placement for 籍随人走, class for the class teacher). Read
    /// from the store: the snapshot keeps cases whole but students only as timelines.
    fn case_students(&self, snap: &Snapshot) -> Result<BTreeMap<RecordId, Record>> {
        let mut students: BTreeMap<RecordId, Record> = BTreeMap::new();
        for c in snap.cases.values() {
            if let Some(s) = c.case.as_ref().and_then(|i| i.student) {
                if let std::collections::btree_map::Entry::Vacant(e) = students.entry(s) {
                    if let Some(r) = self.store.record(s)? {
                        e.insert(r);
                    }
                }
            }
        }
        Ok(students)
    }

    /// The cases whose confirmation is overdue on `as_of` (逾期未确认, by the alerts' own
    /// deadline): the township table and the ranking count such a roll case as 在籍辍学.
    fn overdue(&self, snap: &Snapshot, students: &BTreeMap<RecordId, Record>, as_of: Date) -> BTreeSet<RecordId> {
        overdue_unconfirmed(&self.policy, snap.cases.values().chain(students.values()), as_of)
    }

    /// One report, rendered as text (`xlsx` is binary: [`County::report_bytes`]).
    pub fn report(&self, snap: &Snapshot, o: &ReportOptions) -> Result<String> {
        self.with_report(snap, o, |r| Ok(render(r, o.format)))
    }

    /// One report as the bytes of its file, in any format (.xlsx headed by the county's name).
    pub fn report_bytes(&self, snap: &Snapshot, o: &ReportOptions) -> Result<Vec<u8>> {
        self.with_report(snap, o, |r| Ok(render_bytes(r, o.format, self.unit.as_deref())?))
    }

    fn with_report<T>(
        &self,
        snap: &Snapshot,
        o: &ReportOptions,
        f: impl FnOnce(&dyn Render) -> Result<T>,
    ) -> Result<T> {
        let h = &snap.history;
        let y = o.school_year.unwrap_or_else(|| self.school_year_of(o.as_of));
        match o.kind {
            ReportKind::Consolidation => {
                let baseline = self.baseline()?;
                f(&consolidation_report(h, &self.org, baseline.as_ref(), o.stage, y, o.as_of))
            }
            ReportKind::Dropout => f(&dropout_report(h, &self.org, y, o.as_of)),
            ReportKind::TownshipTable => {
                let overdue = self.overdue(snap, &self.case_students(snap)?, o.as_of);
                f(&township_table(h, &self.org, o.as_of, &overdue))
            }
            ReportKind::Ranking => {
                let overdue = self.overdue(snap, &self.case_students(snap)?, o.as_of);
                f(&ranking(h, &self.org, o.as_of, &overdue))
            }
            ReportKind::Handover => {
                let students = self.case_students(snap)?;
                f(&HandoverReport::new(snap.cases.values().chain(students.values()), o.as_of))
            }
        }
    }

    // --- alerts -----------------------------------------------------------------------------

    /// Every alert in force on `as_of`, most urgent first.
    pub fn alerts(&self, snap: &Snapshot, as_of: Date) -> Result<Vec<Alert>> {
        let dropout = dropout_report(&snap.history, &self.org, self.school_year_of(as_of), as_of);
        self.alerts_with(snap, &self.case_students(snap)?, &dropout, as_of)
    }

    fn alerts_with(
        &self,
        snap: &Snapshot,
        students: &BTreeMap<RecordId, Record>,
        dropout: &DropoutReport,
        as_of: Date,
    ) -> Result<Vec<Alert>> {
        // The case rules need the cases and their students.
        let records = snap.cases.values().chain(students.values());
        let mut out = all_alerts(&self.policy, &self.org, records, as_of, None);
        let units = self.unit_counts(dropout);
        out.extend(loss_alerts(&self.policy, &self.org, &units, as_of));
        out.extend(dropout_rate_alerts(&self.policy, &self.org, &units, as_of));
        let nodes: Vec<(&str, &str, &SyncDays, Option<Date>)> =
            self.nodes.iter().map(|n| (n.name.as_str(), n.township.as_str(), &n.sync_days, n.issued)).collect();
        out.extend(report_deadline_alerts_issued(&self.policy, &self.org, &nodes, as_of));
        out.extend(calendar_alert(&self.policy, as_of));
        out.extend(self.duplicate_alerts(snap, as_of)?);
        out.extend(self.conflict_alerts(snap)?);
        out.extend(self.clone_alerts()?);
        sort_alerts(&mut out);
        Ok(out)
    }

    /// 004 第八条 1% and 000 §五(三)'s rate limit: the county, each township and each school,
    /// from the dropout report.
    fn unit_counts(&self, d: &DropoutReport) -> Vec<UnitCounts> {
        let y = d.school_year;
        let unit = |kind: SubjectKind, township: String, u: &DropoutUnit| UnitCounts {
            kind,
            name: u.name.clone(),
            township,
            school_year: y,
            enrolled_at_start: u.enrolled_at_start,
            dropouts: u.dropouts,
            primary: StageCounts { enrolled_at_start: u.primary.enrolled_at_start, dropouts: u.primary.dropouts },
            junior: StageCounts { enrolled_at_start: u.junior.enrolled_at_start, dropouts: u.junior.dropouts },
        };
        let mut v = vec![unit(SubjectKind::Township, String::new(), &d.county)];
        for t in &d.townships {
            v.push(unit(SubjectKind::Township, t.name.clone(), t));
        }
        for s in &d.schools {
            v.push(unit(SubjectKind::School, self.org.township_of(&s.name).unwrap_or("").to_string(), s));
        }
        v
    }

    /// 重复学籍: every pair of student records sharing an ID number that were both on a roll
    /// on `as_of` (by the business dates of their status changes).
    fn duplicate_alerts(&self, snap: &Snapshot, as_of: Date) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        for n in &snap.duplicates {
            let mut recs = Vec::new();
            for id in self.store.by_id_number(n)? {
                if let Some(r) = self.store.record(id)? {
                    if r.kind == RecordKind::Student && r.is_complete() {
                        recs.push(r);
                    }
                }
            }
            recs.sort_by_key(|r| r.id);
            for (i, a) in recs.iter().enumerate() {
                for b in &recs[i + 1..] {
                    if let Some(since) = duplicate_since(a, b, as_of) {
                        out.push(duplicate_enrolment_alert(&self.org, a, b, since));
                    }
                }
            }
        }
        Ok(out)
    }

    /// One alert per record and field edited concurrently and not yet resolved.
    /// 克隆身份: active nodes whose identity the hub has seen on two machines.
    fn clone_alerts(&self) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        for n in &self.nodes {
            let key = format!("{}{}", crate::replica::META_INCARNATIONS, n.name);
            let inc: Option<baoxue_shared::sync::NodeIncarnations> = self.store.get_meta(&key)?;
            if let Some(ms) = inc.and_then(|i| i.clone_seen_ms) {
                let since = crate::data::day_of(ms).unwrap_or_else(Date::today);
                out.push(baoxue_shared::alerts::cloned_identity_alert(&n.name, &n.township, since));
            }
        }
        Ok(out)
    }

    fn conflict_alerts(&self, snap: &Snapshot) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        for id in &snap.conflicts {
            let Some(r) = self.store.record(*id)? else {
                continue;
            };
            for (field, reg) in r.conflicts() {
                out.push(conflict_alert(&self.org, &r, field, since_of(reg)));
            }
        }
        Ok(out)
    }

    // --- census -----------------------------------------------------------------------------

    /// Matches a census list against every roll of the county and opens the 失学 cases it
    /// finds (committed at the hub, durable when this returns). `date` is the business date of
    /// the import (the cases' opening day).
    pub fn import_census(&self, bytes: &[u8], source: CaseSource, date: Date, author: &str) -> Result<CensusImport> {
        if source == CaseSource::Roll {
            bail!("census import 的 --source 应为 police、civil、poverty、disability 或 ministry");
        }
        let file = parse_census_with(bytes, &self.aliases)?;
        let read_as = file.source;
        // Every record, slimmed to what matching reads (a county's rolls fit in memory this way).
        let mut records = Vec::new();
        for r in self.store.records(None) {
            let r = r?;
            if r.is_complete() {
                records.push(slim(r));
            }
        }
        let index = CensusIndex::new(records.iter());
        let ctx = MatchContext { org: &self.org, source, as_of: date, year_start: self.year_start() };
        let outcome = match_census(&file, &index, &ctx)?;
        let items: Vec<(RecordId, RecordKind, Change)> = outcome
            .cases
            .iter()
            .map(|c| (RecordId::created_by(RevId::random()), RecordKind::Case, Change::CreateCase(Box::new(c.clone()))))
            .collect();
        let mut opened = Vec::new();
        if !items.is_empty() {
            for rev in self.store.commit(HUB_ORIGIN, author, date, items)? {
                if let Change::CreateCase(c) = &rev.change {
                    opened.push((rev.record, c.township.clone()));
                }
            }
        }
        Ok(CensusImport { outcome, opened, read_as })
    }
}

/// Keeps what census matching reads of a record: identity registers, placement, grade and
/// case state; drops absences, actions and superseded ids.
fn slim(mut r: Record) -> Record {
    const KEEP: [Field; 8] = [
        Field::StudentNo,
        Field::IdNumber,
        Field::Name,
        Field::Sex,
        Field::Birth,
        Field::Grade,
        Field::Placement,
        Field::CaseState,
    ];
    r.registers.retain(|f, _| KEEP.contains(f));
    for reg in r.registers.values_mut() {
        reg.replaced.clear();
    }
    r.absences.clear();
    r.actions.clear();
    r.folded.clear();
    r
}

/// The day (UTC+8) of the latest of a register's conflicting values.
fn since_of(reg: &Register) -> Date {
    let ms = reg.heads.values().map(|c| c.hlc).max().unwrap_or(Hlc::default()).ms;
    Date::of_ms(ms)
}

/// Opens a county over an existing store and org/policy already in hand (the hub's loaders
/// read them from its meta tree).
pub fn open_with(data: &Path, store: Store, org: Org, policy: Policy, nodes: Vec<NodeSeen>) -> County {
    County::new(store, org, policy, data, nodes)
}
