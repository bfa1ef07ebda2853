use std::path::PathBuf;

/// Everything that can go wrong while evaluating predictions or reading and writing run
/// folders. Every message says what was wrong and, where it helps, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Two inputs that must describe the same rows have different lengths.
    #[error("{what}: {left} vs {right} rows; they must describe the same rows")]
    LengthMismatch {
        /// What was compared, e.g. "gold labels vs probability rows".
        what: String,
        left: usize,
        right: usize,
    },
    /// A class id is not below the number of classes.
    #[error("{what} at row {row} is class id {id}, but there are only {num_classes} classes (ids 0..{num_classes})")]
    ClassOutOfRange {
        /// Which column held the id ("gold label", "prediction of A", …).
        what: String,
        row: usize,
        id: usize,
        num_classes: usize,
    },
    /// The probability matrix does not have one column per label.
    #[error("the probability matrix has {columns} columns but the label set has {labels} labels")]
    ColumnMismatch { columns: usize, labels: usize },
    /// Nothing to evaluate.
    #[error("cannot evaluate on an empty test set (0 rows)")]
    Empty,
    /// Options or inputs that make no sense (bad confidence level, NaN probability…).
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be written or parsed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A CSV file is malformed; `line` is 1-based (the header is line 1).
    #[error("{path}, line {line}: {reason}")]
    Csv {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// A folder is missing or is not a textclf run folder.
    #[error("{path}: {reason}")]
    NotARun { path: PathBuf, reason: String },
    /// Two runs cannot be compared (different test rows or labels).
    #[error("{0}")]
    Mismatch(String),
    /// A run file could not be written or read (the message names it).
    #[error(transparent)]
    Runs(#[from] textclf_runs::RunsError),
    /// An error from the shared core types.
    #[error(transparent)]
    Core(#[from] textclf_core::Error),
}
