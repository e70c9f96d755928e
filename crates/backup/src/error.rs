use thiserror::Error;

/// Why a backup could not be made, checked or restored. Each names what failed, since
/// the commands exit non-zero with it and an operator acts on it.
#[derive(Debug, Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
    #[error(transparent)]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("the archive does not decrypt with this identity, or it was changed: {0}")]
    Decrypt(String),
    #[error("encrypting the archive: {0}")]
    Encrypt(String),
    #[error("the archive is not a Palisade backup: {0}")]
    Format(String),
    #[error(
        "the manifest's signature does not verify with this master key (made with another key, or changed)"
    )]
    Signature,
    #[error("the restored copy does not match the manifest: {0}")]
    Mismatch(String),
    #[error("audit trail of the restored copy: {0}")]
    Audit(#[from] palisade_audit::AuditError),
    #[error("{0}")]
    Refused(String),
    #[error("the erasure ledger is damaged or was not written with this master key: {0}")]
    Ledger(String),
    #[error("{tool} failed: {detail}")]
    Tool { tool: String, detail: String },
}

pub(crate) fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.to_string();
    move |e| BackupError::Io(what, e)
}
