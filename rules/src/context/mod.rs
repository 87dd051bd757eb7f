//! The request context: which functions are request handlers, and which
//! expressions hold what the client claims about itself (its address,
//! forwarding headers, the Host, any other header). Framework knowledge
//! comes from `rules/models/<lang>/request_context.toml`.

pub mod handlers;
pub mod model;
pub mod sources;

pub use handlers::mark_handlers;
pub use sources::{RequestFacts, Source, SourceKind, root_needles};
