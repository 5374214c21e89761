//! One module per command group.

pub mod absence;
pub mod alerts;
pub mod backup;
pub mod bench;
pub mod case;
pub mod init;
pub mod promote;
pub mod serve;
pub mod status;
pub mod student;
pub mod sync;
pub mod user;
