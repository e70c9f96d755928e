use thiserror::Error;

#[derive(Debug, Error)]
pub enum IdentityError {
    /// Unknown account, wrong password or disabled account: one variant on purpose, so
    /// callers cannot reveal which.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many failures from this source address; try again after the delay.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    /// The account already has its maximum of sessions and the policy refuses more.
    #[error("already signed in on another device; sign out there first")]
    SessionLimit,
    /// A wrong, replayed or unknown second-factor code or passkey answer.
    #[error("that code or security key was not accepted")]
    InvalidSecondFactor,
    /// The action needs the user to re-authenticate (within the step-up window).
    #[error("confirm it is you: re-enter your password and second factor, then try again")]
    StepUpRequired,
    /// The session is not at the stage this step belongs to (e.g. enrolling twice).
    #[error("this step does not apply to the current sign-in")]
    WrongStage,
    #[error("an authenticator app is already set up; remove it first")]
    AlreadyEnrolled,
    #[error("no authenticator app enrolment is in progress")]
    NotEnrolled,
    /// Staff must keep a second factor: the last one cannot be removed.
    #[error("this is your last second factor; add another before removing it")]
    LastFactor,
    /// The session ended while the request was in flight (signed out, rotated).
    #[error("the session has ended; sign in again")]
    SessionEnded,
    /// Single sign-on did not complete; the audit trail has the reason.
    #[error("single sign-on did not complete; try again")]
    SsoFailed,
    #[error("no such sign-in provider")]
    UnknownProvider,
    /// The identity provider could not be reached or answered with something unusable.
    #[error("identity provider: {0}")]
    Provider(String),
    #[error("this link is invalid, expired or already used")]
    InvalidLink,
    /// The request is wrong in a way the caller can correct.
    #[error("{0}")]
    InvalidRequest(palisade_i18n::Refusal),
    /// A new password that is refused: the catalogue's message id for why.
    #[error("password rejected: {}", palisade_i18n::text(palisade_i18n::Locale::En, .0))]
    WeakPassword(&'static str),
    /// Palisade's own setup is unusable (an origin, a provider's settings) or a library
    /// failed on its own data: internal detail for the log, never for a response.
    #[error("identity configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
    #[error(transparent)]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error("password hashing failed")]
    Hashing,
}

impl IdentityError {
    /// [`IdentityError::InvalidRequest`] with the catalogue's message `id`.
    pub fn invalid_request(id: &'static str) -> Self {
        Self::InvalidRequest(palisade_i18n::Refusal::new(id))
    }
}
