//! # baoxue-shared
//!
//! What the township node and the county hub both need, with no I/O of its own.
//!
//! # Layout
//! - [`ids`]: 身份证号 (GB 11643 check character, birth date, sex, masking) and 学籍号 (G/L/J).
//! - [`dates`]: strict `YYYY-MM-DD`, school years, ages at the reference date.
//! - [`model`]: the vocabulary: statuses and legal transitions, special groups, absences,
//!   case states, causes, actions, notices, outcomes.
//! - [`org`]: the county: townships, schools, responsible people; the org CSV.
//! - [`revision`]: revisions (the only way anything changes) and hybrid logical clocks.
//! - [`state`]: the merge: derived record state as a join of revisions.
//! - [`codec`]: the one module that knows bincode.
//! - [`table`]: reading operators' CSV files (encoding, header, ragged rows).
//! - [`text`]: what a text value may hold (length limits, no control or bidi characters).
//! - [`roster`]: the roster CSV, checked row by row.
//! - [`calendar`], [`policy`]: county policies as data (five presets), working-day calendars.
//! - [`alerts`]: the escalation ladders and accountability rules, one implementation for both sides.
//! - [`indicators`]: 巩固率, 辍学率, the township table and ranking.
//! - [`census`]: matching other departments' lists against the rolls (三比对).
//! - [`sync`]: the sans-IO sync engine and its messages.

pub mod alerts;
pub mod calendar;
pub mod census;
pub mod codec;
pub mod dates;
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
pub mod text;

pub use dates::Date;
pub use revision::{Change, Field, Hlc, RecordId, RecordKind, RevId, Revision, Value};
pub use state::Record;
