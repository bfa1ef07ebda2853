//! Reading a typed JSON file: errors name the file and the field (`epochs[3].val_loss`),
//! with the line and column where serde_json found the problem.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Result, RunsError};

/// Reads `path` as text.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| RunsError::io(path, e))
}

/// Deserializes `text` (the content of `path`) into `T`, naming the field on error.
pub(crate) fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| field_error(path, e))?;
    de.end().map_err(|source| RunsError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(value)
}

fn field_error(path: &Path, e: serde_path_to_error::Error<serde_json::Error>) -> RunsError {
    let field = e.path().to_string();
    let source = e.into_inner();
    if field == "." || source.is_syntax() || source.is_eof() {
        RunsError::Json {
            path: path.to_path_buf(),
            source,
        }
    } else {
        RunsError::Field {
            path: path.to_path_buf(),
            field,
            source,
        }
    }
}

/// Reads and deserializes the JSON file `path`.
pub(crate) fn read_json_file<T: DeserializeOwned>(path: &Path) -> Result<T> {
    parse(path, &read_text(path)?)
}

/// Refuses a file written by a newer textclf.
pub(crate) fn check_format(path: &Path, format: u32, newest: u32) -> Result<()> {
    if format > newest {
        return Err(RunsError::Invalid(format!(
            "{}: format {format} was written by a newer textclf (this one reads up to {newest}); upgrade textclf",
            path.display()
        )));
    }
    Ok(())
}
