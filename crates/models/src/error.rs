use std::path::PathBuf;

/// Errors of model loading and computation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("{0}")]
    Weights(String),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
