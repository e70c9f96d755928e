use thiserror::Error;

#[derive(Debug, Error)]
pub enum AssistError {
    #[error("redaction pattern {name:?}: {reason}")]
    BadPattern { name: String, reason: String },
    #[error("site token keys: {0}")]
    BadSiteKey(String),
    #[error("{0}")]
    InvalidArticle(palisade_i18n::Refusal),
    /// Well formed, but not an article this help centre can publish (no text once
    /// sanitised, companies for an audience that has none).
    #[error("{0}")]
    UnusableArticle(palisade_i18n::Refusal),
    #[error("search index: {0}")]
    Search(String),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
}
