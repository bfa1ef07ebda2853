//! The sweep folder on disk:
//!
//! ```text
//! <out>/sweep.json          the plan: every run's id, settings and flags
//! <out>/data/               the one split every run uses (train/valid/test.jsonl)
//! <out>/runs/<id>/          a finished run (run.json says done or failed)
//! <out>/runs/<id>.partial/  a run in progress or interrupted (resumed next time)
//! ```
//!
//! A run works in its `.partial` folder and is renamed to its final name only when it is
//! complete, so a folder under its final name is always whole. Several shard processes
//! may share one sweep folder: each writes only its own runs, and the shared files are
//! written atomically with identical content.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Result, SweepError};
use crate::plan::Plan;

pub const SWEEP_FILE: &str = "sweep.json";
pub const RUN_FILE: &str = "run.json";
pub const RUNS_DIR: &str = "runs";
pub const DATA_DIR: &str = "data";

/// Where a run stands on disk.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// Finished successfully.
    Done,
    /// Finished with this error.
    Failed(String),
    /// Started but not finished (interrupted or running in another process).
    Partial,
    /// Not started.
    Pending,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        SweepError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    })
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| SweepError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|source| SweepError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A sweep's folder.
#[derive(Clone, Debug)]
pub struct SweepFolder {
    pub root: PathBuf,
}

impl SweepFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SweepFolder { root: root.into() }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join(DATA_DIR)
    }

    /// The final folder of run `id`.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.root.join(RUNS_DIR).join(id)
    }

    /// The working folder of run `id` while it runs.
    pub fn partial_dir(&self, id: &str) -> PathBuf {
        self.root.join(RUNS_DIR).join(format!("{id}.partial"))
    }

    /// Records the plan in `sweep.json`. `data_fingerprint` identifies the data and split;
    /// an existing sweep folder made from other data is refused, so runs of one folder
    /// are always comparable. A changed plan (runs added or removed) is fine: finished
    /// runs are kept and the new ones run.
    pub fn write_plan(&self, plan: &Plan, config: &Path, data_fingerprint: &str) -> Result<()> {
        let path = self.root.join(SWEEP_FILE);
        if path.is_file() {
            let old = read_json(&path)?;
            let old_fp = old.get("data_fingerprint").and_then(Value::as_str);
            if old_fp.is_some_and(|fp| fp != data_fingerprint) {
                return Err(SweepError::Mismatch(format!(
                    "{} holds a sweep over other data or another split (the [data] section changed); use a new --out folder, or restore the old [data] section",
                    self.root.display()
                )));
            }
        }
        let mut v = serde_json::to_value(plan).map_err(|source| SweepError::Json {
            path: path.clone(),
            source,
        })?;
        if let Value::Object(m) = &mut v {
            m.insert("config".into(), Value::String(config.display().to_string()));
            m.insert(
                "data_fingerprint".into(),
                Value::String(data_fingerprint.to_string()),
            );
        }
        write_json(&path, &v)
    }

    /// Where run `id` stands.
    pub fn state(&self, id: &str) -> Result<RunState> {
        let dir = self.run_dir(id);
        let run_file = dir.join(RUN_FILE);
        if run_file.is_file() {
            let v = read_json(&run_file)?;
            return Ok(match v.get("status").and_then(Value::as_str) {
                Some("failed") => RunState::Failed(
                    v.get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_string(),
                ),
                _ => RunState::Done,
            });
        }
        if self.partial_dir(id).is_dir() {
            return Ok(RunState::Partial);
        }
        Ok(RunState::Pending)
    }

    /// Finishes run `id`: writes `run` as its run.json into the partial folder and renames
    /// that folder to the final name (replacing the record of an earlier failure).
    pub fn finish(&self, id: &str, run: &Value) -> Result<PathBuf> {
        let partial = self.partial_dir(id);
        fs::create_dir_all(&partial).map_err(io(&partial))?;
        write_json(&partial.join(RUN_FILE), run)?;
        let dir = self.run_dir(id);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        fs::rename(&partial, &dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// Clears the way to (re)start run `id` from scratch: removes its partial folder and
    /// any final folder (a recorded failure).
    pub fn reset(&self, id: &str) -> Result<()> {
        for d in [self.partial_dir(id), self.run_dir(id)] {
            if d.exists() {
                fs::remove_dir_all(&d).map_err(io(&d))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SweepConfig;
    use crate::plan::expand;

    #[test]
    fn runs_move_from_pending_to_partial_to_done_or_failed() {
        let t = tempfile::tempdir().unwrap();
        let f = SweepFolder::new(t.path());
        assert_eq!(f.state("a").unwrap(), RunState::Pending);
        fs::create_dir_all(f.partial_dir("a")).unwrap();
        fs::write(f.partial_dir("a").join("metrics.json"), "{}").unwrap();
        assert_eq!(f.state("a").unwrap(), RunState::Partial);
        let dir = f
            .finish("a", &serde_json::json!({"status": "done"}))
            .unwrap();
        assert!(dir.join("metrics.json").is_file());
        assert!(!f.partial_dir("a").exists());
        assert_eq!(f.state("a").unwrap(), RunState::Done);

        f.finish(
            "b",
            &serde_json::json!({"status": "failed", "error": "boom"}),
        )
        .unwrap();
        assert_eq!(f.state("b").unwrap(), RunState::Failed("boom".into()));
        f.reset("b").unwrap();
        assert_eq!(f.state("b").unwrap(), RunState::Pending);
    }

    #[test]
    fn a_sweep_folder_refuses_other_data_but_accepts_a_changed_grid() {
        let t = tempfile::tempdir().unwrap();
        let f = SweepFolder::new(t.path());
        let cfg = SweepConfig::parse(
            "[data]\ntrain = \"a\"\ntest = \"b\"\n[base]\nbaseline = \"lr\"\n[grid]\nseed = [1, 2]",
            "s",
            Path::new("."),
        )
        .unwrap();
        let plan = expand(&cfg).unwrap();
        f.write_plan(&plan, Path::new("s.toml"), "fp1").unwrap();
        f.write_plan(&plan, Path::new("s.toml"), "fp1").unwrap();
        let e = f.write_plan(&plan, Path::new("s.toml"), "fp2").unwrap_err();
        assert!(e.to_string().contains("other data"), "{e}");
        let v = read_json(&t.path().join(SWEEP_FILE)).unwrap();
        assert_eq!(v["runs"].as_array().unwrap().len(), 2);
        assert_eq!(v["varied"][0], "seed");
    }
}
