use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data could not be decrypted: {0}")]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    #[error("invalid stored value: {0}")]
    Corrupt(String),
    #[error("write was not authorised for this object")]
    Unauthorized,
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("this master key was retired by a master-key rotation: start with the new key file")]
    RetiredMasterKey,
    #[error("this master key's root was retired by a root rotation: start with the new key file")]
    RetiredRoot,
    #[error(
        "a root rotation is under way: no node serves until it finishes (run the same keys rotate-root \
         command again if it stopped)"
    )]
    RootRotationUnderWay,
    #[error(
        "this audit signing key was retired at audit entry {retired_seq}: configure [audit] signing_key_file \
         with the key that replaced it"
    )]
    RetiredAuditKey { retired_seq: i64 },
    #[error(
        "the latest audit checkpoint is signed with key {key}, which this configuration does not trust: \
         list it in [audit] retired_public_keys to hand signing over from it"
    )]
    UnknownAuditSigner { key: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("the master key does not open this database's keys (wrong key file?)")]
    WrongMasterKey,
    #[error("audit trail verification failed: {0}")]
    AuditTrail(#[from] palisade_audit::AuditError),
}

impl StoreError {
    /// Unique-constraint violations surface as `Conflict` so callers can answer 409.
    pub(crate) fn from_insert(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}

impl From<palisade_core::CoreError> for StoreError {
    fn from(e: palisade_core::CoreError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
