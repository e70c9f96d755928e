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
    #[error("this link is invalid, expired or already used")]
    InvalidLink,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("password rejected: {0}")]
    WeakPassword(&'static str),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
    #[error(transparent)]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error("password hashing failed")]
    Hashing,
}
