//! One module per subcommand.

pub mod debug;
pub mod explain;
pub mod init;
pub mod merge;
pub mod rules;
pub mod scan;
