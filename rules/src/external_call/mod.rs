//! The `external-call` family: failures of network, database, subprocess and
//! file calls that are not handled.

pub mod floating_promise;
pub mod helpers;
pub mod missing_timeout;
pub mod panic_on_failure;
pub mod swallowed_error;
pub mod unchecked_status;

pub use floating_promise::FloatingPromise;
pub use missing_timeout::MissingTimeout;
pub use panic_on_failure::PanicOnFailure;
pub use swallowed_error::SwallowedError;
pub use unchecked_status::UncheckedStatus;
