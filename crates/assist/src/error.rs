use thiserror::Error;

#[derive(Debug, Error)]
pub enum AssistError {
    #[error("redaction pattern {name:?}: {reason}")]
    BadPattern { name: String, reason: String },
    #[error("site token keys: {0}")]
    BadSiteKey(String),
}
