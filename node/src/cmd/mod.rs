//! One module per command group.

pub mod absence;
pub mod alerts;
pub mod backup;
pub mod case;
pub mod init;
pub mod status;
pub mod student;
pub mod sync;
