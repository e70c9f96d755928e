use thiserror::Error;

#[derive(Debug, Error)]
pub enum PolicyError {
    /// The request is not permitted (or could not be evaluated, which is the same).
    #[error("access denied")]
    Denied,
    /// The policy files themselves are broken; the server must not start.
    #[error("policy set is invalid: {0}")]
    InvalidPolicies(String),
}
