use thiserror::Error;

#[derive(Debug, Error)]
pub enum CryptoError {
    /// Wrong key, wrong associated data or modified ciphertext: indistinguishable on purpose.
    #[error("ciphertext failed authentication")]
    Decrypt,
    #[error("ciphertext has an unknown format")]
    Format,
    #[error("master key file: {0}")]
    KeyFile(String),
    #[error("operating system random generator failed")]
    Random,
    /// A webhook secret that is not `whsec_` and 16 to 64 bytes of base64.
    #[error("not a webhook signing secret")]
    InvalidSecret,
}
