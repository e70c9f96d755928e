//! Customer self-service: the help centre (`help`: articles with versions, locales and
//! audiences, sanitised on save, searched with an in-memory tantivy index filtered by
//! what the Cedar policies let the reader see); redaction of what customers should never have typed
//! (card numbers and their security codes, IBANs, US social security numbers,
//! passwords and one-time codes typed as such, private keys, API keys, JWTs, and the
//! organisation's own patterns), applied on arrival — before anything is stored,
//! indexed, logged or notified — to every message written through the web and the API.
//! Also the strict verification of the identity tokens the organisation's own site
//! issues for its signed-in users (`site_token`), for the assistant's verified mode.

pub mod assistant;
mod error;
pub mod help;
pub mod mask;
mod redact;
mod site_token;

pub use error::AssistError;

/// A regular expression from the source code (never from configuration or input);
/// every one is exercised by the unit tests beside it, so a bad one cannot ship.
pub(crate) fn constant_regex(source: &str) -> regex::Regex {
    match regex::Regex::new(source) {
        Ok(regex) => regex,
        Err(e) => unreachable!("built-in pattern {source:?}: {e}"),
    }
}
pub use help::{ArticleInput, HelpCentre, SearchHit, SearchResults};
pub use redact::{CustomPattern, Following, Redacted, RedactionKind, Redactor};
pub use site_token::{
    LEEWAY_SECS as SITE_TOKEN_LEEWAY_SECS, MAX_SITE_TOKEN_LIFETIME, SiteClaims, SiteKey, SiteTokenRejection,
    SiteTokenVerifier, ed25519_key,
};
