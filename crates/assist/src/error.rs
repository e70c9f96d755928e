use thiserror::Error;

#[derive(Debug, Error)]
pub enum AssistError {
    #[error("redaction pattern {name:?}: {reason}")]
    BadPattern { name: String, reason: String },
    #[error("site token keys: {0}")]
    BadSiteKey(String),
    #[error("{0}")]
    InvalidArticle(String),
    #[error("search index: {0}")]
    Search(String),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
}
