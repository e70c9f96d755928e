use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
    #[error(transparent)]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error(transparent)]
    Identity(#[from] palisade_identity::IdentityError),
    #[error(transparent)]
    Policy(#[from] palisade_policy::PolicyError),
    #[error(transparent)]
    Service(palisade_service::ServiceError),
    #[error(transparent)]
    Assist(#[from] palisade_assist::AssistError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("audit trail verification failed: {0}")]
    AuditInvalid(#[from] palisade_audit::AuditError),
    #[error(transparent)]
    Backup(#[from] palisade_backup::BackupError),
    #[error("HSM: {0}")]
    Hsm(#[from] palisade_hsm::HsmError),
    #[error("{0}")]
    Invalid(String),
    /// A refusal to report with an exit status of its own (`ingest`): the SMTP reply.
    #[error("{reply}")]
    Refused { exit: u8, reply: String },
}
