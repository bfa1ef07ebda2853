use std::path::PathBuf;

/// What can go wrong with a run folder. Each message names the path and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
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
    /// A field of a typed file is missing or has the wrong type.
    #[error("{path}: field `{field}`: {source}")]
    Field {
        path: PathBuf,
        field: String,
        #[source]
        source: serde_json::Error,
    },
    /// A CSV file of the run (predictions, epochs) is malformed at `line`.
    #[error("{path}, line {line}: {reason}")]
    Csv {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// `--out` already holds something that this run would mix with or destroy.
    #[error("{path} already holds {what}; {hint}")]
    Occupied {
        path: PathBuf,
        what: String,
        hint: String,
    },
    /// Another process works in the folder.
    #[error("{path} is in use by {holder}; wait for it to finish (or stop it), then run again")]
    Locked { path: PathBuf, holder: String },
    #[error("{0}")]
    Invalid(String),
}

impl RunsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RunsError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, RunsError>;
