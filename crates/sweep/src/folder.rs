//! The sweep folder on disk:
//!
//! ```text
//! <out>/sweep.json          the plan: every run's id, settings and flags
//! <out>/data/               the one split every run uses (train/valid/test.jsonl)
//! <out>/runs/<id>/          a finished run (run.json says done or failed)
//! <out>/runs/<id>.partial/  a run in progress or interrupted (resumed next time)
//! <out>/damaged/<id>-<time>/ a final folder that could not be trusted, set aside
//! <out>/.lock-<shard>       held by the process running that shard
//! ```
//!
//! A run works in its `.partial` folder and is renamed to its final name only when it is
//! complete, so a folder under its final name is always whole. Several shard processes
//! may share one sweep folder: each writes only its own runs, and the shared files are
//! written atomically with identical content.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use textclf_runs::{RecordedStatus, SweepRecord, SweepRunRecord};

use crate::error::{Result, SweepError};
use crate::plan::Plan;

pub use textclf_runs::RUN_FILE;
pub use textclf_runs::SWEEP_FILE;
pub const RUNS_DIR: &str = "runs";
pub const DATA_DIR: &str = "data";
/// Where damaged run folders are moved before their run is redone.
pub const DAMAGED_DIR: &str = "damaged";

/// Where a run stands on disk.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// Finished successfully.
    Done,
    /// Finished with this error.
    Failed(String),
    /// Started but not finished (interrupted or running in another process).
    Partial,
    /// Its final folder cannot be trusted: `run.json` is unreadable, or says done while
    /// `metrics.json` is missing. The reason names the file. The run is redone.
    Damaged(String),
    /// Not started.
    Pending,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn runs_err(e: textclf_runs::RunsError) -> SweepError {
    match e {
        textclf_runs::RunsError::Io { path, source } => SweepError::Io { path, source },
        textclf_runs::RunsError::Json { path, source } => SweepError::Json { path, source },
        other => SweepError::Mismatch(other.to_string()),
    }
}

/// Writes `bytes` to `path` atomically (see [`textclf_runs::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    textclf_runs::write_atomic(path, bytes).map_err(runs_err)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    textclf_runs::write_json(path, value).map_err(runs_err)
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
        if self.root.join(SWEEP_FILE).is_file() {
            let old = SweepRecord::read(&self.root).map_err(runs_err)?;
            if !old.data_fingerprint.is_empty() && old.data_fingerprint != data_fingerprint {
                return Err(SweepError::Mismatch(format!(
                    "{} holds a sweep over other data or another split (the [data] section changed); use a new --out folder, or restore the old [data] section",
                    self.root.display()
                )));
            }
        }
        SweepRecord {
            name: plan.name.clone(),
            selection: plan.selection.clone(),
            varied: plan.varied.clone(),
            runs: plan.runs.clone(),
            config: config.display().to_string(),
            data_fingerprint: data_fingerprint.to_string(),
            format: SweepRecord::FORMAT,
        }
        .write(&self.root)
        .map_err(runs_err)
    }

    /// Where run `id` stands. A final folder with a `run.json` that cannot be read, or
    /// that says done without a `metrics.json` that reads, is [`RunState::Damaged`]: never an error
    /// that stops the sweep, and never taken for a finished run.
    pub fn state(&self, id: &str) -> Result<RunState> {
        let dir = self.run_dir(id);
        let run_file = dir.join(RUN_FILE);
        if run_file.is_file() {
            let rec = match SweepRunRecord::read(&dir) {
                Ok(r) => r,
                Err(e) => return Ok(RunState::Damaged(e.to_string())),
            };
            return Ok(match rec.status {
                RecordedStatus::Failed => {
                    RunState::Failed(rec.error.unwrap_or_else(|| "unknown error".into()))
                }
                RecordedStatus::Done if !dir.join("metrics.json").is_file() => {
                    RunState::Damaged(format!(
                        "{} says the run is done but {} is missing",
                        run_file.display(),
                        dir.join("metrics.json").display()
                    ))
                }
                RecordedStatus::Done => {
                    // The record must read back too (its report part as any JSON value:
                    // the report is the evaluation crate's to type), or the summary and
                    // the report would fail on it at the end of the sweep.
                    match textclf_runs::MetricsRecord::<serde_json::Value>::read(&dir) {
                        Ok(_) => RunState::Done,
                        Err(e) => RunState::Damaged(e.to_string()),
                    }
                }
            });
        }
        if dir.is_dir() {
            return Ok(RunState::Damaged(format!(
                "{} has no {RUN_FILE}",
                dir.display()
            )));
        }
        if self.partial_dir(id).is_dir() {
            return Ok(RunState::Partial);
        }
        Ok(RunState::Pending)
    }

    /// Moves a damaged final folder of run `id` aside, to `<out>/damaged/<id>-<unix time>/`,
    /// so that the run can be redone without deleting what it held. Returns where it went.
    pub fn set_aside(&self, id: &str) -> Result<PathBuf> {
        let dir = self.run_dir(id);
        let stamp = textclf_runs::now_unix();
        let aside_root = self.root.join(DAMAGED_DIR);
        fs::create_dir_all(&aside_root).map_err(io(&aside_root))?;
        let mut to = aside_root.join(format!("{id}-{stamp}"));
        let mut k = 1;
        while to.exists() {
            to = aside_root.join(format!("{id}-{stamp}-{k}"));
            k += 1;
        }
        fs::rename(&dir, &to).map_err(io(&dir))?;
        Ok(to)
    }

    /// Finishes run `id`: writes `run` as its run.json into the partial folder and renames
    /// that folder to the final name (replacing the record of an earlier failure).
    pub fn finish(&self, id: &str, run: &SweepRunRecord) -> Result<PathBuf> {
        let partial = self.partial_dir(id);
        fs::create_dir_all(&partial).map_err(io(&partial))?;
        let _ = fs::remove_file(partial.join(textclf_runs::LOCK_FILE));
        run.write(&partial).map_err(runs_err)?;
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

    fn record(status: RecordedStatus, error: Option<&str>) -> SweepRunRecord {
        SweepRunRecord {
            format: SweepRunRecord::FORMAT,
            id: "a".into(),
            index: 0,
            sweep: "s".into(),
            family: crate::Family::Linear,
            model: "lr".into(),
            params: Default::default(),
            varied: vec![],
            command: "textclf baseline".into(),
            shard: "0/1".into(),
            host: String::new(),
            seconds: 0.0,
            finished_at_unix: 0,
            status,
            error: error.map(str::to_string),
            attempts: vec![],
        }
    }

    /// The smallest metrics.json a run can have (an ensemble's).
    const METRICS: &str = r#"{"n": 4, "accuracy": 0.75, "command": "ensemble", "format": 2,
        "model": {"kind": "ensemble", "weights": "equal", "members": [
            {"run": "a", "kind": "tfidf-lr", "weight": 0.5, "test_accuracy": 0.7}]},
        "data": {"labels": ["neg", "pos"], "test": {"rows": 4}}}"#;

    #[test]
    fn runs_move_from_pending_to_partial_to_done_or_failed() {
        let t = tempfile::tempdir().unwrap();
        let f = SweepFolder::new(t.path());
        assert_eq!(f.state("a").unwrap(), RunState::Pending);
        fs::create_dir_all(f.partial_dir("a")).unwrap();
        fs::write(f.partial_dir("a").join("metrics.json"), METRICS).unwrap();
        assert_eq!(f.state("a").unwrap(), RunState::Partial);
        let dir = f.finish("a", &record(RecordedStatus::Done, None)).unwrap();
        assert_eq!(f.state("a").unwrap(), RunState::Done);
        assert!(dir.join("metrics.json").is_file());
        assert!(!f.partial_dir("a").exists());
        assert_eq!(f.state("a").unwrap(), RunState::Done);

        f.finish("b", &record(RecordedStatus::Failed, Some("boom")))
            .unwrap();
        assert_eq!(f.state("b").unwrap(), RunState::Failed("boom".into()));
        f.reset("b").unwrap();
        assert_eq!(f.state("b").unwrap(), RunState::Pending);
    }

    #[test]
    fn a_damaged_or_incomplete_final_folder_is_redone_not_trusted_and_not_deleted() {
        let t = tempfile::tempdir().unwrap();
        let f = SweepFolder::new(t.path());
        fs::create_dir_all(f.run_dir("a")).unwrap();
        fs::write(f.run_dir("a").join(RUN_FILE), "{\"status\": \"do\x01ne\"").unwrap();
        fs::write(f.run_dir("a").join("metrics.json"), "{}").unwrap();
        match f.state("a").unwrap() {
            RunState::Damaged(why) => assert!(why.contains("run.json"), "{why}"),
            s => panic!("{s:?}"),
        }
        let aside = f.set_aside("a").unwrap();
        assert!(aside.join("metrics.json").is_file(), "what it held is kept");
        assert_eq!(f.state("a").unwrap(), RunState::Pending);
        // run.json says done, but there is no metrics.json: unfinished.
        fs::create_dir_all(f.run_dir("b")).unwrap();
        record(RecordedStatus::Done, None)
            .write(&f.run_dir("b"))
            .unwrap();
        assert!(
            matches!(f.state("b").unwrap(), RunState::Damaged(w) if w.contains("metrics.json"))
        );
        // A metrics.json that does not read back: unfinished too, and the reason names it.
        fs::write(f.run_dir("b").join("metrics.json"), "{\"n\": 4, \"accur").unwrap();
        match f.state("b").unwrap() {
            RunState::Damaged(why) => assert!(why.contains("metrics.json"), "{why}"),
            s => panic!("{s:?}"),
        }
        fs::write(f.run_dir("b").join("metrics.json"), METRICS).unwrap();
        assert_eq!(f.state("b").unwrap(), RunState::Done);
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
        let v = SweepRecord::read(t.path()).unwrap();
        assert_eq!(v.runs.len(), 2);
        assert_eq!(v.varied, ["seed"]);
        assert_eq!(v.data_fingerprint, "fp1");
    }
}
