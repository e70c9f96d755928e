use palisade_i18n::Refusal;
use palisade_store::StoreError;

/// Why a use case did not happen. Adapters map these to their own answers (the API to
/// problem+json, mail to 4xx/5xx); none carries internal detail meant for a response
/// except the `Invalid`/`Conflict` refusals, which are written for the caller.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Missing, or not visible to the actor: the two are never told apart.
    #[error("not found")]
    NotFound,
    /// Visible, but this action is not allowed.
    #[error("forbidden")]
    Forbidden,
    /// The request itself is wrong (the caller can correct it); the refusal is written
    /// in the reader's language where the answer goes out.
    #[error("invalid: {0}")]
    Invalid(Refusal),
    /// The request is well formed but clashes with what is stored.
    #[error("conflict: {0}")]
    Conflict(Refusal),
    #[error(transparent)]
    Store(StoreError),
    /// Something that must happen with the change (its mail) could not be done; the
    /// change is rolled back.
    #[error("reaction failed: {0}")]
    Reaction(String),
    #[error(transparent)]
    Identity(#[from] palisade_identity::IdentityError),
    /// The file is waiting for the malware scanner (just stored, or the scanner is
    /// unreachable): it is not served until it is judged clean.
    #[error("waiting for the malware scan")]
    AwaitingScan,
    /// The malware scanner found something in the file: it is never served.
    #[error("blocked: the file matched a malware signature")]
    FileBlocked,
    /// The malware scanner did not answer (internal detail, for the log).
    #[error("malware scanner unavailable: {0}")]
    ScannerDown(String),
    /// The ticket changed since the version the caller based its update on; here it
    /// is as it is now, for the caller to see what changed and decide again.
    #[error("the ticket changed since it was read")]
    Stale(Box<palisade_store::TicketRecord>),
    /// The desk was built without what this use case needs (a wiring mistake).
    #[error("not available here: {0}")]
    Unavailable(&'static str),
}

impl ServiceError {
    /// [`ServiceError::Invalid`] with the catalogue's message `id`.
    pub fn invalid(id: &'static str) -> Self {
        Self::Invalid(Refusal::new(id))
    }

    /// [`ServiceError::Conflict`] with the catalogue's message `id`.
    pub fn conflict(id: &'static str) -> Self {
        Self::Conflict(Refusal::new(id))
    }

    /// A short name of what went wrong, for an audit entry (never the detail).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::Invalid(refusal) | Self::Conflict(refusal) => refusal.id(),
            Self::Store(_) => "store",
            Self::Reaction(_) => "reaction",
            Self::Identity(_) => "identity",
            Self::AwaitingScan | Self::FileBlocked | Self::ScannerDown(_) => "scan",
            Self::Stale(_) => "stale",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

impl From<palisade_core::CoreError> for ServiceError {
    fn from(e: palisade_core::CoreError) -> Self {
        Self::Invalid(core_refusal(e))
    }
}

/// The core's validation errors as refusals: one place for every adapter.
pub fn core_refusal(e: palisade_core::CoreError) -> Refusal {
    use palisade_core::CoreError;
    match e {
        CoreError::InvalidId { kind } => Refusal::new("refusal-invalid-id").with("kind", kind),
        CoreError::InvalidEmail => Refusal::new("refusal-invalid-email"),
        CoreError::UnknownVariant { kind, value } => Refusal::new("refusal-unknown-variant")
            .with("kind", kind)
            .with("value", value),
        CoreError::InvalidTag => Refusal::new("refusal-invalid-tag"),
    }
}
