use std::path::PathBuf;

/// Errors shared by every textclf crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input is well-formed but does not make sense (wrong shape, unknown label…).
    #[error("{0}")]
    Invalid(String),
    /// A saved model could not be read back.
    #[error("cannot load model from {path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
