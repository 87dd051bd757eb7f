//! One module per subcommand.

pub mod explain;
pub mod rules;
pub mod scan;
