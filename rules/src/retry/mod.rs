//! The `retry` family: operations that are not safe to repeat, run inside
//! something that repeats them when they fail.

pub mod helpers;
pub mod non_idempotent;

pub use non_idempotent::NonIdempotent;
