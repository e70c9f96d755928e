use thiserror::Error;

#[derive(Debug, Error)]
pub enum SiemError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("the collector at {0} did not answer in time")]
    Timeout(String),
    #[error(transparent)]
    Store(#[from] palisade_store::StoreError),
}
