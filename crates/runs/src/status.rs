//! The typed outcome a run leaves in its working folder when it does not finish
//! (`status.json`). A sweep reads it to learn why a child stopped, instead of parsing the
//! child's messages.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::write_json;
use crate::error::{Result, RunsError};

/// The file name of a run's status record.
pub const STATUS_FILE: &str = "status.json";

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Finished; the run folder is complete.
    Done,
    /// Stopped by an error that a retry with the same settings would meet again.
    Failed,
    /// The device or the allocator ran out of memory: a smaller batch may fit.
    OutOfMemory,
    /// Stopped on request (Ctrl-C or SIGTERM) after saving what it could: resumable.
    Interrupted,
}

/// `status.json`: the outcome, and the error message for a run that did not finish.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    /// Format version of this record.
    pub version: u32,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunStatus {
    pub const VERSION: u32 = 1;

    pub fn new(outcome: Outcome, error: Option<String>) -> Self {
        RunStatus {
            version: Self::VERSION,
            outcome,
            error,
        }
    }

    /// Writes `<dir>/status.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(STATUS_FILE), self)
    }

    /// Reads `<dir>/status.json`: `Ok(None)` when there is none, an error naming the file
    /// when it cannot be read or parsed.
    pub fn read(dir: &Path) -> Result<Option<RunStatus>> {
        let path = dir.join(STATUS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RunsError::io(&path, e)),
        };
        let status: RunStatus =
            serde_json::from_str(&text).map_err(|source| RunsError::Json { path, source })?;
        Ok(Some(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_round_trips_and_a_missing_one_is_none() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(RunStatus::read(t.path()).unwrap(), None);
        let s = RunStatus::new(Outcome::OutOfMemory, Some("CUDA out of memory".into()));
        s.write(t.path()).unwrap();
        assert_eq!(RunStatus::read(t.path()).unwrap(), Some(s));
        let text = std::fs::read_to_string(t.path().join(STATUS_FILE)).unwrap();
        assert!(text.contains("\"out_of_memory\""), "{text}");
        std::fs::write(t.path().join(STATUS_FILE), "{\"outcome\": 3").unwrap();
        let e = RunStatus::read(t.path()).unwrap_err().to_string();
        assert!(e.contains(STATUS_FILE), "{e}");
    }
}
