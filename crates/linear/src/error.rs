use std::path::PathBuf;

/// Errors of the linear models.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinearError {
    #[error("invalid parameter: {0}")]
    Param(String),
    #[error("{0}")]
    Data(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load linear model from {path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

impl From<LinearError> for textclf_core::Error {
    fn from(e: LinearError) -> Self {
        match e {
            LinearError::Io { path, source } => textclf_core::Error::Io { path, source },
            LinearError::Load { path, reason } => textclf_core::Error::Load { path, reason },
            other => textclf_core::Error::Invalid(other.to_string()),
        }
    }
}

impl From<textclf_core::Error> for LinearError {
    fn from(e: textclf_core::Error) -> Self {
        LinearError::Data(e.to_string())
    }
}

pub type Result<T, E = LinearError> = std::result::Result<T, E>;
