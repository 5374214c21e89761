//! What can go wrong in a node command. Every message is one Chinese line that names the item
//! (the student, the case, the row and column, the date); the binary prints it and exits 1.

use baoxue_shared::table::RowError;
use baoxue_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("无法读取文件 {path}：{source}")]
    Read { path: String, source: std::io::Error },
    #[error("数据目录 {0} 尚未初始化：请先运行 baoxue-node init（或用 --data 指定已初始化的数据目录）")]
    NotInitialised(String),
    /// Input that cannot be accepted as given (a bad date, an unknown school, an illegal value).
    #[error("{0}")]
    Invalid(String),
    /// A student, case or file that does not exist here.
    #[error("{0}")]
    NotFound(String),
    /// A legal or scope rule refuses the change (毕业 → 辍学, another township's student …).
    #[error("{0}")]
    Refused(String),
    /// A file with bad rows: every problem is reported (see [`NodeError::details`]), then the
    /// summary, which names the first one. A single problem is the summary alone (one line).
    #[error("{summary}")]
    Rows { summary: String, rows: Vec<RowError> },
    /// Joining the county, syncing, staying up (the message names the hub and what to do).
    #[error(transparent)]
    Sync(#[from] crate::sync::NodeSyncError),
}

impl NodeError {
    /// Lines to print before the summary line (one per bad row of a file).
    pub fn details(&self) -> Vec<String> {
        match self {
            NodeError::Rows { rows, .. } if rows.len() > 1 => rows.iter().map(|r| r.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

pub type Result<T> = std::result::Result<T, NodeError>;

pub fn invalid(msg: impl Into<String>) -> NodeError {
    NodeError::Invalid(msg.into())
}

pub fn refused(msg: impl Into<String>) -> NodeError {
    NodeError::Refused(msg.into())
}

pub fn not_found(msg: impl Into<String>) -> NodeError {
    NodeError::NotFound(msg.into())
}
