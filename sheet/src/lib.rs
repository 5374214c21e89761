//! # baoxue-sheet
//!
//! Spreadsheets in and out, for every file an operator hands the system or takes away from it:
//! rosters, org lists, baselines, census lists in; reports out. It knows file formats, encodings,
//! column names and the forms values take in other systems' exports; it knows nothing of the
//! ledger (the domain crate turns the rows into students, schools and counts).
//!
//! # Layout
//! - [`decode`]: CSV bytes to text — UTF-8 with or without BOM, else GB18030/GBK (what Excel and
//!   WPS save by default on a Chinese Windows); anything else is refused. Says which it read.
//! - [`read`]: a file (CSV, .xlsx, .xls; told apart by their first bytes) as a [`read::Grid`] of
//!   typed cells with the row numbers Excel shows.
//! - [`columns`]: the alias table (学籍号 / 全国学籍号 / 个人标识码 …, see `docs/columns.md`),
//!   extendable by the county, and finding the header row.
//! - [`forms`]: the value forms of the national 学籍 system's and other departments' exports
//!   (性别 1/2, YYYYMMDD dates, 入学年月, 身份证件类型), and an ID number Excel stored as a
//!   number caught before it is imported wrong.
//! - [`write`]: the one writer of reports, CSV and .xlsx, which owns the escaping rule: a text
//!   cell beginning with `=`, `+`, `-`, `@`, tab or CR is written as text, never as a formula.
//!
//! **Invariants.** No cell read is ever guessed at: a value that cannot be read in its column's
//! form is an error naming the row and column. No cell written is ever a formula.

pub mod columns;
pub mod decode;
pub mod forms;
pub mod read;
pub mod write;

pub use columns::Aliases;
pub use decode::Encoding;
pub use read::{Grid, In, Source};
pub use write::{Book, Cell, Column, Kind};
