use thiserror::Error;

/// Validation failures of domain values; each maps to a 4xx at the edge.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("not a valid {kind} identifier")]
    InvalidId { kind: &'static str },
    #[error("not a valid email address")]
    InvalidEmail,
    #[error("unknown {kind}: {value}")]
    UnknownVariant { kind: &'static str, value: String },
    #[error("tag names are 1 to 64 characters of letters, digits, '-' or '_'")]
    InvalidTag,
}
