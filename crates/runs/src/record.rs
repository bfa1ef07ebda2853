//! `run.json`: the record a sweep keeps of each of its runs, typed, with one writer and one
//! reader. Read errors name the file and the field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::atomic::write_json;
use crate::error::Result;
use crate::typed::{check_format, read_json_file};

/// The file name of a sweep run's record.
pub const RUN_FILE: &str = "run.json";

/// Fine-tuned transformer or linear baseline.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Transformer,
    Linear,
}

/// How a sweep run ended, as `run.json` records it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RecordedStatus {
    Done,
    Failed,
}

/// One attempt that did not finish (an out-of-memory retry, or the final failure).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Attempt {
    pub batch_size: usize,
    pub grad_accum: usize,
    pub error: String,
}

/// `run.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepRunRecord {
    /// Format version (absent in records written before it was added: read as 0, the same
    /// fields).
    #[serde(default)]
    pub format: u32,
    pub id: String,
    /// Position in the plan.
    pub index: usize,
    /// The sweep's name.
    pub sweep: String,
    pub family: Family,
    /// The model entry's name (or model / baseline setting).
    pub model: String,
    /// Every setting of the run, as run (after any out-of-memory retry).
    pub params: BTreeMap<String, Value>,
    /// The settings that differ between the sweep's runs.
    pub varied: Vec<String>,
    /// The command line that reproduces the run.
    pub command: String,
    pub shard: String,
    pub host: String,
    /// Wall time of all attempts.
    pub seconds: f64,
    pub finished_at_unix: u64,
    pub status: RecordedStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl SweepRunRecord {
    /// The version this textclf writes.
    pub const FORMAT: u32 = 1;

    /// Reads `<dir>/run.json`. An unreadable file, bad JSON, a missing or mistyped field,
    /// or a newer format are errors that name the file (and the field, with its line).
    pub fn read(dir: &Path) -> Result<SweepRunRecord> {
        let path = dir.join(RUN_FILE);
        let rec: SweepRunRecord = read_json_file(&path)?;
        check_format(&path, rec.format, Self::FORMAT)?;
        Ok(rec)
    }

    /// Writes `<dir>/run.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(RUN_FILE), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SweepRunRecord {
        SweepRunRecord {
            format: SweepRunRecord::FORMAT,
            id: "tiny__lr-0.001".into(),
            index: 0,
            sweep: "s".into(),
            family: Family::Transformer,
            model: "tiny".into(),
            params: BTreeMap::from([("lr".to_string(), serde_json::json!(0.001))]),
            varied: vec!["lr".into()],
            command: "textclf train --lr 0.001".into(),
            shard: "0/1".into(),
            host: "h".into(),
            seconds: 1.5,
            finished_at_unix: 7,
            status: RecordedStatus::Failed,
            error: Some("boom".into()),
            attempts: vec![Attempt {
                batch_size: 16,
                grad_accum: 1,
                error: "boom".into(),
            }],
        }
    }

    #[test]
    fn a_record_round_trips_and_errors_name_the_file_and_field() {
        let t = tempfile::tempdir().unwrap();
        let r = record();
        r.write(t.path()).unwrap();
        assert_eq!(SweepRunRecord::read(t.path()).unwrap(), r);
        let text = std::fs::read_to_string(t.path().join(RUN_FILE)).unwrap();
        assert!(text.contains("\"status\": \"failed\""), "{text}");
        // Records written before `format` existed still read.
        let old = text.replace("\"format\": 1,", "");
        std::fs::write(t.path().join(RUN_FILE), old).unwrap();
        assert_eq!(SweepRunRecord::read(t.path()).unwrap().format, 0);
        let broken = text.replace("\"status\": \"failed\",", "");
        std::fs::write(t.path().join(RUN_FILE), broken).unwrap();
        let e = SweepRunRecord::read(t.path()).unwrap_err().to_string();
        assert!(
            e.contains("run.json") && e.contains("missing field `status`"),
            "{e}"
        );
        let newer = text.replace("\"format\": 1,", "\"format\": 9,");
        std::fs::write(t.path().join(RUN_FILE), newer).unwrap();
        let e = SweepRunRecord::read(t.path()).unwrap_err().to_string();
        assert!(e.contains("newer textclf"), "{e}");
    }
}
