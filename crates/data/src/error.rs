use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading, splitting or describing data.
///
/// Every message names the file concerned, the line or row where that makes sense, what is
/// wrong, and what to do about it, so the CLI can print it as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The path does not exist.
    #[error("{}: no such file or directory (check the path; relative paths are resolved from {})", .path.display(), current_dir())]
    NotFound { path: PathBuf },

    /// Any other I/O failure (permissions, a broken gzip stream, …).
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The format could not be inferred from the file name, or is not available.
    #[error("{}: {reason}", .path.display())]
    Format { path: PathBuf, reason: String },

    /// The file is syntactically broken (bad CSV quoting, wrong field count, invalid JSON…).
    #[error("{}{}: {message}", .path.display(), location(*.line))]
    Malformed {
        path: PathBuf,
        /// 1-based line (or, for Parquet, data row) where the problem starts.
        line: Option<u64>,
        message: String,
    },

    /// The file contains bytes that are not UTF-8.
    #[error("{}{}: {what} is not valid UTF-8; convert the file to UTF-8 first, e.g. `iconv -f latin1 -t utf-8 IN > OUT`", .path.display(), location(*.line))]
    NotUtf8 {
        path: PathBuf,
        line: Option<u64>,
        /// What held the bad bytes, e.g. "field 'text'".
        what: String,
    },

    /// A required column (or JSON field) is absent.
    #[error("{}: {message}", .path.display())]
    MissingColumn { path: PathBuf, message: String },

    /// The file holds no data rows.
    #[error("{}: {message}", .path.display())]
    Empty { path: PathBuf, message: String },

    /// A row has an empty (or null) label.
    #[error("{}{}: row {row} has an empty label in column '{column}'; fill it in or remove the row", .path.display(), location(*.line))]
    EmptyLabel {
        path: PathBuf,
        line: Option<u64>,
        /// The row's id (`file:row` or the id column's value).
        row: String,
        column: String,
    },

    /// A label occurs in a validation/test file but never in the training data.
    #[error("{}: label '{label}' (first at row {row}) never occurs in the training data {}; a model cannot predict a class it never saw: add training examples of '{label}' or remove these rows", .path.display(), .train.display())]
    UnseenLabel {
        path: PathBuf,
        label: String,
        row: String,
        train: PathBuf,
    },

    /// A label cannot be read as the task needs (a regression target that is no number, a
    /// broken label list).
    #[error("{}: row {row}: {message}", .path.display())]
    BadLabel {
        path: PathBuf,
        row: String,
        message: String,
    },

    /// A class has too few examples to be learned and evaluated.
    #[error("{source_desc}: class '{label}' has only {count} example(s) (row {row}); add more examples of it or remove that class")]
    TooFewExamples {
        source_desc: String,
        label: String,
        count: usize,
        row: String,
    },

    /// The data cannot give a meaningful run (one class, no text, an empty split).
    #[error("{0}")]
    Unusable(String),

    /// An option value is out of range or contradictory.
    #[error("{0}")]
    InvalidOption(String),

    /// An error from textclf-core (e.g. building a dataset).
    #[error(transparent)]
    Core(#[from] textclf_core::Error),
}

impl DataError {
    /// Wraps an I/O error, turning "not found" into [`DataError::NotFound`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        let text = source.to_string();
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound { path }
        } else if text.contains("deflate") || text.contains("gzip") || text.contains("corrupt") {
            // flate2's messages ("incomplete deflate stream", "corrupt deflate stream").
            DataError::Malformed {
                path,
                line: None,
                message: format!(
                    "the gzip data is cut off or damaged ({text}); the file was probably not completely downloaded or copied: fetch it again (`gzip -t FILE` checks a file)"
                ),
            }
        } else {
            DataError::Io { path, source }
        }
    }

    pub(crate) fn malformed(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        DataError::Malformed {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

impl From<DataError> for textclf_core::Error {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Core(c) => c,
            DataError::Io { path, source } => textclf_core::Error::Io { path, source },
            other => textclf_core::Error::Invalid(other.to_string()),
        }
    }
}

fn location(line: Option<u64>) -> String {
    match line {
        Some(l) => format!(", line {l}"),
        None => String::new(),
    }
}

fn current_dir() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "the current directory".into())
}
