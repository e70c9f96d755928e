use thiserror::Error;

#[derive(Debug, Error)]
pub enum SupplyError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{path}: not a RustSec advisory ({why})")]
    Advisory { path: String, why: String },
    #[error("{0} is not a RustSec advisory database (no crates/ directory)")]
    NotADatabase(String),
}
