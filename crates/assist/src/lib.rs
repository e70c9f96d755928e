//! Customer self-service. Today: redaction of what customers should never have typed
//! (card numbers and their security codes, IBANs, US social security numbers,
//! passwords and one-time codes typed as such, private keys, API keys, JWTs, and the
//! organisation's own patterns), applied on arrival — before anything is stored,
//! indexed, logged or notified — to every message written through the web and the API.
//! Also the strict verification of the identity tokens the organisation's own site
//! issues for its signed-in users (`site_token`), for the assistant's verified mode.
//! The help centre and the assistant (issue 6) will live here too.

mod error;
mod redact;
mod site_token;

pub use error::AssistError;
pub use redact::{CustomPattern, Redacted, RedactionKind, Redactor};
pub use site_token::{MAX_SITE_TOKEN_LIFETIME, SiteClaims, SiteKey, SiteTokenRejection, SiteTokenVerifier};
