//! Who is calling: password hashing (argon2id, bounded concurrency), sign-in with
//! uniform failures, second factors, OpenID Connect single sign-on, server-side sessions and one-time setup links. Every sign-in and
//! setup outcome is written to the audit trail here, so no caller can forget it.

mod account_events;
mod api_tokens;
mod credentials;
mod error;
mod mailer;
mod mfa;
mod oauth;
mod oidc;
mod passkeys;
mod password;
mod rate;
mod remembered_blocks;
mod reset;
mod reset_admission;
mod service;
mod session_cache;
mod throttle;

pub use account_events::{AccountEvent, queue_security_notice};
pub use api_tokens::{API_TOKEN_PREFIX, CreatedToken, DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS};
pub use error::IdentityError;
pub use mailer::{MAIL_INVITATION, MAIL_NOTICE, MAIL_PASSWORD_RESET};
pub use mfa::{
    Enrolled, Factors, RECOVERY_CODE_COUNT, STEP_UP_WINDOW_SECS, SecondFactor, TotpSetup, require_recent_auth,
};
pub use oauth::{
    ACCESS_TOKEN_SECS, AuthorizeCheck, AuthorizeParams, ClientCredentials, Introspection, IssuedTokens,
    OAUTH_ACCESS_PREFIX, OAUTH_REFRESH_PREFIX, OAUTH_SECRET_PREFIX, OAuthRefusal, PendingAuthorization,
    REFRESH_TOKEN_SECS, TokenRequest, acceptable_redirect_uri,
};
pub use oidc::{OidcCallback, OidcProviders, OidcSettings, OidcStart};
pub use palisade_store::SessionStage;
pub use passkeys::RelyingParty;
pub use password::{PasswordHasherPool, needs_rehash, validate_new_password};
pub use rate::{DEFAULT_TOKEN_REQUESTS_PER_MINUTE, TokenRateLimits};
pub use remembered_blocks::REMEMBERED_BLOCKS;
pub use reset::{INVITATION_SECS, RESET_LINK_SECS};
pub use service::{
    Authenticated, Identity, OnSessionLimit, SessionLimits, SessionState, SignedIn, mfa_required,
};
pub use session_cache::SESSION_CACHE_CAPACITY;
pub use throttle::ThrottlePolicy;
/// WebAuthn message types, for callers that (de)serialise the browser's side.
pub use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse,
};
