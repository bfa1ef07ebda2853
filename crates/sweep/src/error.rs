use std::path::PathBuf;

/// Errors of reading a sweep file, planning it and keeping its folder.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Shard(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Mismatch(String),
}

pub type Result<T> = std::result::Result<T, SweepError>;
