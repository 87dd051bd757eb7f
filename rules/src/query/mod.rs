//! The `query` family: queries whose whole result is loaded with no bound,
//! and queries issued once per element of a collection.

pub mod helpers;
pub mod in_loop;
pub mod unbounded;

pub use in_loop::InLoop;
pub use unbounded::Unbounded;
