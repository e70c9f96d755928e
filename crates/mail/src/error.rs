use thiserror::Error;

#[derive(Debug, Error)]
pub enum MailError {
    /// Worth retrying later: the relay was unreachable, answered 4xx, or TLS failed.
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Retrying will not help: the relay refused with 5xx or the message is invalid.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
    /// A use case refused the message's content (a release a reviewer may not make, a
    /// sender who may not open tickets): as permanent as [`MailError::Permanent`], with
    /// words a person can be shown.
    #[error("refused: {0}")]
    Refused(palisade_i18n::Refusal),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
}
