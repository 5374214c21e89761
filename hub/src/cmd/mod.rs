//! The hub's command layer: every command is a function of an explicit [`Context`] (the data
//! directory and, inside `serve`, its open store; the caller's working directory and operator;
//! the business date) that returns a typed, serde-serialisable result. Whoever called renders
//! it: the command line as Chinese text ([`Output::text`]) or `--json` ([`Output::json`], the
//! JSON keys of docs/CLI.md), the control socket by sending the result itself, a web handler
//! as HTML from the fields.
//!
//! - [`Request`]: one command with its arguments (what the control socket carries); [`run`]
//!   runs one and returns its [`Output`].
//! - [`admin`]: `init`, `org import`, `policy set|holidays|closure`, `node add/revoke/list`.
//! - [`review`]: `stats`, `conflicts`, `conflicts resolve`.
//! - [`county`]: `report`, `alerts`, `baseline import`, `census import`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use baoxue_control::Caller;
use baoxue_shared::Date;
use baoxue_store::Store;
use serde::{Deserialize, Serialize};

use crate::county::County;
use crate::data::HubDir;

pub mod admin;
pub mod county;
pub mod review;

/// What a command runs with. Built by the command line for this process
/// ([`Context::local`]) or by `serve` for a caller of its control socket ([`Context::lent`]).
#[derive(Clone)]
pub struct Context {
    pub dir: HubDir,
    /// The store, when the caller already holds it open (`serve`); else each command opens it.
    pub store: Option<Store>,
    /// Where a relative path the operator typed is relative to.
    pub cwd: PathBuf,
    /// The operator's `BAOXUE_OPERATOR` (a command's `--by` wins over it).
    pub operator: Option<String>,
    /// The business date a command uses when not given one (`--date`, `--as-of`).
    pub today: Date,
}

impl Context {
    /// This process: its working directory, its `BAOXUE_OPERATOR`, today; the store opened
    /// by each command.
    pub fn local(dir: HubDir) -> Context {
        Context::of_caller(dir, None, Caller::this_process())
    }

    /// On behalf of `caller`, over a store already open.
    pub fn lent(dir: HubDir, store: Store, caller: Caller) -> Context {
        let dir = dir.with_key(store.key().cloned());
        Context::of_caller(dir, Some(store), caller)
    }

    fn of_caller(dir: HubDir, store: Option<Store>, caller: Caller) -> Context {
        Context { dir, store, cwd: caller.cwd, operator: caller.operator, today: Date::today() }
    }

    /// The store: the one lent, else opened (fails clearly while `serve` holds it).
    pub fn store(&self) -> Result<Store> {
        match &self.store {
            Some(s) => Ok(s.clone()),
            None => Ok(self.dir.open_store()?),
        }
    }

    /// The store `serve` lent, if any (a command that opens the store only sometimes).
    pub fn lent_store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The county's data for reports and alerts.
    pub fn county(&self) -> Result<County> {
        Ok(self.dir.county(self.store()?)?)
    }

    /// A path the operator typed, relative to the operator's working directory.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_relative() {
            self.cwd.join(p)
        } else {
            p.to_path_buf()
        }
    }

    /// `--date`/`--as-of` as given, else the context's business date.
    pub fn date(&self, given: Option<&str>, flag: &str) -> Result<Date> {
        match given {
            None => Ok(self.today),
            Some(s) => Date::parse(s).map_err(|e| anyhow!("{flag}：{e}")),
        }
    }

    /// Who records: `--by`, else `BAOXUE_OPERATOR`, else `fallback`.
    pub fn operator_or(&self, by: Option<&str>, fallback: impl FnOnce() -> String) -> String {
        by.map(str::to_string)
            .or_else(|| self.operator.clone())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(fallback)
    }

    /// Reads a file named by the operator, naming it (as typed) in the error.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>> {
        use anyhow::Context as _;
        std::fs::read(self.path(path)).with_context(|| format!("无法读取文件 {}", path.display()))
    }
}

/// One hub command with its arguments: every command but `serve`, `demo` and `bench`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    Init(admin::InitArgs),
    OrgImport { file: PathBuf, remove: Vec<String> },
    PolicySet { policy: String },
    PolicyHolidays { file: PathBuf },
    PolicyClosure(admin::ClosureArgs),
    NodeAdd(admin::NodeAddArgs),
    NodeRevoke { name: String },
    NodeList,
    Backup { out: PathBuf },
    Restore { file: PathBuf, identity: PathBuf },
    BackupKey,
    Stats,
    Conflicts,
    ConflictsResolve(review::ResolveArgs),
    Report(county::ReportArgs),
    Alerts(county::AlertsArgs),
    BaselineImport(county::BaselineArgs),
    CensusImport(county::CensusArgs),
}

impl Request {
    /// The command's name as typed (for logs: never its arguments, which may hold an ID number).
    pub fn name(&self) -> &'static str {
        match self {
            Request::Init(_) => "init",
            Request::OrgImport { .. } => "org import",
            Request::PolicySet { .. } => "policy set",
            Request::PolicyHolidays { .. } => "policy holidays",
            Request::PolicyClosure(_) => "policy closure",
            Request::NodeAdd(_) => "node add",
            Request::NodeRevoke { .. } => "node revoke",
            Request::NodeList => "node list",
            Request::Backup { .. } => "backup",
            Request::Restore { .. } => "restore",
            Request::BackupKey => "backup-key",
            Request::Stats => "stats",
            Request::Conflicts => "conflicts",
            Request::ConflictsResolve(_) => "conflicts resolve",
            Request::Report(_) => "report",
            Request::Alerts(_) => "alerts",
            Request::BaselineImport(_) => "baseline import",
            Request::CensusImport(_) => "census import",
        }
    }

    /// Commands that need the store, which `serve` runs for a caller while it holds it
    /// (`org import` checks what the store still holds; `node revoke` takes effect in the
    /// running server at once). `init`, `policy` and `node add` work on files beside the store.
    pub fn forwardable(&self) -> bool {
        !matches!(
            self,
            Request::Init(_)
                | Request::PolicySet { .. }
                | Request::PolicyHolidays { .. }
                | Request::PolicyClosure(_)
                | Request::NodeAdd(_)
                | Request::Restore { .. }
                | Request::BackupKey
        )
    }
}

/// What a command returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Output {
    Initialised(admin::Initialised),
    OrgImported(admin::OrgImported),
    PolicySet(admin::PolicySet),
    HolidaysLoaded(admin::HolidaysLoaded),
    ClosureSet(admin::ClosureSet),
    NodeAdded(admin::NodeAdded),
    NodeRevoked(admin::NodeRevoked),
    NodeList(admin::NodeList),
    Lines(admin::Lines),
    Stats(crate::stats::Stats),
    Conflicts(Vec<crate::conflicts::ConflictRow>),
    Resolved(crate::conflicts::Resolved),
    Report(county::ReportOutput),
    Alerts(county::AlertList),
    Baseline(county::BaselineImported),
    Census(county::CensusImported),
}

/// What the command line prints of an [`Output`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The Chinese text for stdout (with its final newline) and notes for stderr.
    pub fn text(&self) -> Printed {
        let line = |s: String| Printed { stdout: s + "\n", stderr: String::new() };
        match self {
            Output::Initialised(o) => Printed { stdout: o.text() + "\n", stderr: o.notes() },
            Output::OrgImported(o) => line(o.text()),
            Output::PolicySet(o) => line(o.text()),
            Output::HolidaysLoaded(o) => line(o.text()),
            Output::ClosureSet(o) => line(o.text()),
            Output::NodeAdded(o) => line(o.text()),
            Output::NodeRevoked(o) => line(o.text()),
            Output::NodeList(o) => Printed { stdout: o.text(), stderr: String::new() },
            Output::Lines(o) => line(o.0.clone()),
            Output::Stats(s) => line(crate::stats::to_text(s)),
            Output::Conflicts(rows) => line(crate::conflicts::to_text(rows)),
            Output::Resolved(r) => line(review::resolved_text(r)),
            Output::Report(r) => r.printed(),
            Output::Alerts(a) => Printed { stdout: a.text(), stderr: String::new() },
            Output::Baseline(b) => Printed { stdout: b.text(), stderr: String::new() },
            Output::Census(c) => Printed { stdout: c.text(), stderr: String::new() },
        }
    }

    /// The JSON of `--json` (docs/CLI.md's keys), pretty, with a final newline. A report's
    /// JSON is its text (`--format json`); commands without `--json` print their text.
    pub fn json(&self) -> Result<Printed> {
        let v = match self {
            Output::NodeList(o) => serde_json::to_string_pretty(&o.rows)?,
            Output::Stats(s) => serde_json::to_string_pretty(s)?,
            Output::Conflicts(rows) => serde_json::to_string_pretty(rows)?,
            Output::Resolved(r) => serde_json::to_string_pretty(r)?,
            Output::Alerts(a) => serde_json::to_string_pretty(&a.alerts)?,
            Output::Census(c) => serde_json::to_string_pretty(&c.counts)?,
            _ => return Ok(self.text()),
        };
        Ok(Printed { stdout: v + "\n", stderr: String::new() })
    }

    /// [`Output::json`] when `json`, else [`Output::text`].
    pub fn printed(&self, json: bool) -> Result<Printed> {
        if json {
            self.json()
        } else {
            Ok(self.text())
        }
    }
}

/// Runs one command.
pub fn run(ctx: &Context, req: Request) -> Result<Output> {
    Ok(match req {
        Request::Init(a) => Output::Initialised(admin::init(ctx, &a)?),
        Request::OrgImport { file, remove } => Output::OrgImported(admin::org_import(ctx, &file, &remove)?),
        Request::PolicySet { policy } => Output::PolicySet(admin::policy_set(ctx, &policy)?),
        Request::PolicyHolidays { file } => Output::HolidaysLoaded(admin::policy_holidays(ctx, &file)?),
        Request::PolicyClosure(a) => Output::ClosureSet(admin::policy_closure(ctx, &a)?),
        Request::NodeAdd(a) => Output::NodeAdded(admin::node_add(ctx, &a)?),
        Request::NodeRevoke { name } => Output::NodeRevoked(admin::node_revoke(ctx, &name)?),
        Request::NodeList => Output::NodeList(admin::node_list(ctx)?),
        Request::Backup { out } => Output::Lines(admin::backup(ctx, &out)?),
        Request::Restore { file, identity } => Output::Lines(admin::restore(ctx, &file, &identity)?),
        Request::BackupKey => Output::Lines(admin::backup_key(ctx)?),
        Request::Stats => Output::Stats(review::stats(ctx)?),
        Request::Conflicts => Output::Conflicts(review::conflicts(ctx)?),
        Request::ConflictsResolve(a) => Output::Resolved(review::resolve(ctx, &a)?),
        Request::Report(a) => Output::Report(county::report(ctx, &a)?),
        Request::Alerts(a) => Output::Alerts(county::alerts(ctx, &a)?),
        Request::BaselineImport(a) => Output::Baseline(county::baseline_import(ctx, &a)?),
        Request::CensusImport(a) => Output::Census(county::census_import(ctx, &a)?),
    })
}

/// An error as the one line the binary prints (context chain joined).
pub fn error_line(e: &anyhow::Error) -> String {
    format!("{e:#}").lines().collect::<Vec<_>>().join("；")
}
