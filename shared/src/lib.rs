//! # baoxue-shared
//!
//! What the township node and the county hub both need, with no I/O of its own.
//!
//! # Layout
//! The domain (see `docs/DOMAIN.md` and `docs/FORMULAS.md`):
//! - [`ids`]: 身份证号 (GB 11643 check character, birth date, sex, masking) and 学籍号 (G/L/J).
//! - [`dates`]: strict `YYYY-MM-DD`, school years, ages at the reference date, today in UTC+8,
//!   the plausible-date rule of writes.
//! - [`model`]: the vocabulary: statuses and legal transitions, special groups, absences,
//!   case states, causes, actions, notices, outcomes, a case's responsible people.
//! - [`org`]: the county: townships, schools, responsible people; the org CSV.
//!
//! Records and the merge:
//! - [`revision`]: revisions (the only way anything changes), record and revision ids, fields,
//!   hybrid logical clocks.
//! - [`state`]: the merge: derived record state as a join of revisions; values on a past day.
//! - [`codec`]: the one module that knows bincode.
//!
//! Files operators hand in:
//! - [`table`]: reading operators' CSV files (encoding, header, ragged rows).
//! - [`text`]: what a text value may hold (length limits, no control or bidi characters).
//! - [`roster`]: the roster CSV, checked row by row.
//!
//! Rules and figures:
//! - [`calendar`], [`policy`]: county policies as data (five presets), the day counting of
//!   their rules (holidays, make-up days, vacations).
//! - [`alerts`]: the escalation ladders and accountability rules, one implementation for both
//!   sides — `case.rs` (one case's ladder), `accountability.rs` (schools and townships),
//!   `rates.rs` (unit loss, the rate limit), `deadlines.rs` (reporting), `data_quality.rs`
//!   (重复学籍, conflicts), `facts.rs` (what the rules read from a record).
//! - [`indicators`]: 巩固率, 辍学率, the township table and ranking over dated timelines —
//!   `history.rs` (the timelines), `units.rs`, `dropout.rs`, `consolidation.rs`,
//!   `baseline.rs` (the baseline CSV), `township.rs` (the table and the ranking).
//! - [`report`]: the reports rendered as JSON, CSV (with BOM) and Markdown.
//! - [`census`]: matching other departments' lists against the rolls (三比对).
//!
//! Sync:
//! - [`sync`]: the sans-IO sync engine — `messages.rs`, `frames.rs`, `welcome.rs` (where a
//!   session resumes), `admission.rs` (what the hub accepts), `scope.rs` (which township a
//!   record belongs to), `schedule.rs` (the nightly slot and back-off), `node.rs` and `hub.rs`
//!   (the two session state machines), `replica.rs` (the traits the drivers implement),
//!   `bundle.rs` (the node bundle), `error.rs`.

pub mod alerts;
pub mod calendar;
pub mod census;
pub mod codec;
pub mod dates;
pub mod handover;
pub mod ids;
pub mod indicators;
pub mod model;
pub mod org;
pub mod policy;
pub mod report;
pub mod revision;
pub mod roster;
pub mod state;
pub mod sync;
pub mod table;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod text;
pub mod transfer;
pub mod visit;

pub use dates::Date;
pub use revision::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
pub use state::Record;
