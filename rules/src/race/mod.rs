//! The `race` family: read-modify-write and check-then-act on shared state.

pub mod check_then_act;
pub mod helpers;
pub mod read_modify_write;

pub use check_then_act::CheckThenAct;
pub use read_modify_write::ReadModifyWrite;
