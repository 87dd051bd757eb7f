//! The `trust` family: authorization that trusts where a request seems to
//! come from, identities the caller asserts, TLS without verification and
//! token claims read without checking their signature.

pub mod caller_asserted_identity;
pub mod helpers;
pub mod network_location_auth;
pub mod tls_verification_disabled;
pub mod unverified_token;

pub use caller_asserted_identity::CallerAssertedIdentity;
pub use network_location_auth::NetworkLocationAuth;
pub use tls_verification_disabled::TlsVerificationDisabled;
pub use unverified_token::UnverifiedToken;
