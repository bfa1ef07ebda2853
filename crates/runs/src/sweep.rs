//! `sweep.json`: a sweep's plan (every run's id, family, settings and flags), the sweep
//! file it came from and the fingerprint of its data, typed, with one writer and one
//! reader. The sweep crate makes the plan; this is how it is kept on disk.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::atomic::write_json;
use crate::error::Result;
use crate::record::Family;
use crate::typed::{check_format, read_json_file};

/// The file name at the root of a sweep folder.
pub const SWEEP_FILE: &str = "sweep.json";

/// One run of a sweep's plan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlannedRun {
    /// Stable id: the folder name under `runs/`.
    pub id: String,
    /// Position in the plan (sharding deals runs out by it).
    pub index: usize,
    pub family: Family,
    /// The model entry's name (or the model / baseline setting when there are no entries).
    pub model: String,
    /// Every setting of the run (after base, model entry, grid and ties).
    pub params: BTreeMap<String, Value>,
    /// The subcommand (`train` or `baseline`) and its flags, without data and --out.
    pub args: Vec<String>,
}

/// `sweep.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepRecord {
    pub name: String,
    /// The selection rule (e.g. `val_acc_at_min_val_loss`).
    pub selection: String,
    /// Settings that differ between runs, in the order they were declared.
    #[serde(default)]
    pub varied: Vec<String>,
    pub runs: Vec<PlannedRun>,
    /// The sweep file the plan was made from.
    #[serde(default)]
    pub config: String,
    /// Identifies the data and its split: runs of one folder are always comparable.
    #[serde(default)]
    pub data_fingerprint: String,
    /// Format version (absent before it was added: read as 0, the same fields).
    #[serde(default)]
    pub format: u32,
}

impl SweepRecord {
    /// The version this textclf writes.
    pub const FORMAT: u32 = 1;

    /// Reads `<dir>/sweep.json`. Errors name the file and the field.
    pub fn read(dir: &Path) -> Result<SweepRecord> {
        let path = dir.join(SWEEP_FILE);
        let rec: SweepRecord = read_json_file(&path)?;
        check_format(&path, rec.format, Self::FORMAT)?;
        Ok(rec)
    }

    /// Writes `<dir>/sweep.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(SWEEP_FILE), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_round_trips_and_errors_name_the_field() {
        let t = tempfile::tempdir().unwrap();
        let r = SweepRecord {
            name: "demo".into(),
            selection: "val_acc_at_min_val_loss".into(),
            varied: vec!["model".into()],
            runs: vec![PlannedRun {
                id: "lr".into(),
                index: 0,
                family: Family::Linear,
                model: "tfidf-lr".into(),
                params: BTreeMap::from([("model".to_string(), Value::from("lr"))]),
                args: vec!["baseline".into(), "--model".into(), "lr".into()],
            }],
            config: "s.toml".into(),
            data_fingerprint: "abc".into(),
            format: SweepRecord::FORMAT,
        };
        r.write(t.path()).unwrap();
        assert_eq!(SweepRecord::read(t.path()).unwrap(), r);
        let text = std::fs::read_to_string(t.path().join(SWEEP_FILE)).unwrap();
        std::fs::write(
            t.path().join(SWEEP_FILE),
            text.replace("\"family\": \"linear\"", "\"family\": \"quantum\""),
        )
        .unwrap();
        let e = SweepRecord::read(t.path()).unwrap_err().to_string();
        assert!(
            e.contains("sweep.json") && e.contains("runs[0].family"),
            "{e}"
        );
    }
}
