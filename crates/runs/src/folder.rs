//! A run folder built in `<out>.partial/` and renamed to `<out>` when complete.
//!
//! - A folder under its final name is always a whole run: an interrupted run leaves only
//!   its `.partial` folder behind (with its checkpoint, when it has one).
//! - An `--out` that holds another run is refused; with `overwrite` the old run is replaced
//!   whole at the moment the new one is complete, so no file of it survives and it is not
//!   lost if the new run fails.
//! - The working folder is locked: a second process on the same `--out` is refused and
//!   told which process holds it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Result, RunsError};
use crate::lock::FolderLock;
use crate::status::{RunStatus, STATUS_FILE};

/// The lock file inside a working folder (removed when the run is moved into place).
pub const LOCK_FILE: &str = ".textclf.lock";
const PARTIAL: &str = ".partial";

/// `<out>.partial`: the working folder of a run bound for `out`.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    // `runs/x/` and `runs/x` share one working folder.
    while s.to_string_lossy().ends_with('/') && s.len() > 1 {
        let t = s.to_string_lossy().trim_end_matches('/').to_string();
        s = t.into();
    }
    s.push(PARTIAL);
    PathBuf::from(s)
}

/// Whether `dir` is a folder with nothing in it.
pub fn is_empty_dir(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// What a folder that a run would be written to holds already.
#[derive(Clone, Debug, PartialEq)]
pub enum Occupant {
    /// Nothing: it does not exist or is an empty folder.
    Nothing,
    /// A file, not a folder.
    File,
    /// A textclf run: `metrics.json` (with the command that wrote it) or a sweep's `run.json`.
    Run { command: Option<String> },
    /// A sweep folder (`sweep.json`).
    Sweep,
    /// Other files: `entries` names a few of them.
    Other { entries: Vec<String> },
}

/// Looks at what `dir` holds.
pub fn describe_occupant(dir: &Path) -> Occupant {
    if !dir.exists() {
        return Occupant::Nothing;
    }
    if !dir.is_dir() {
        return Occupant::File;
    }
    if is_empty_dir(dir) {
        return Occupant::Nothing;
    }
    if dir.join("sweep.json").is_file() {
        return Occupant::Sweep;
    }
    let metrics = dir.join("metrics.json");
    if metrics.is_file() {
        let command = fs::read_to_string(&metrics)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v.get("command").and_then(Value::as_str).map(str::to_string));
        return Occupant::Run { command };
    }
    if dir.join("run.json").is_file() {
        return Occupant::Run { command: None };
    }
    let mut entries: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries.truncate(4);
    Occupant::Other { entries }
}

impl Occupant {
    fn describe(&self) -> String {
        match self {
            Occupant::Nothing => "nothing".into(),
            Occupant::File => "a file (not a folder)".into(),
            Occupant::Run { command: Some(c) } => format!("a finished `textclf {c}` run"),
            Occupant::Run { command: None } => "a textclf run".into(),
            Occupant::Sweep => "a sweep folder".into(),
            Occupant::Other { entries } => {
                format!(
                    "files that are not a textclf run ({}, …)",
                    entries.join(", ")
                )
            }
        }
    }
}

/// How to start a run folder.
#[derive(Clone, Debug)]
pub struct Begin<'a> {
    /// Replace a run already at `out`, whole, when this one is complete.
    pub overwrite: bool,
    /// What this process does (for the lock holder's message), e.g. `textclf train`.
    pub what: &'a str,
    /// Work directly in `out`, which the caller (a sweep) already made as a working folder
    /// and moves into place itself.
    pub in_place: bool,
}

/// A run being written. Create it with [`RunFolder::begin`], write into [`RunFolder::work`],
/// then [`RunFolder::commit`].
#[derive(Debug)]
pub struct RunFolder {
    target: PathBuf,
    work: PathBuf,
    overwrite: bool,
    in_place: bool,
    leftover: bool,
    lock: Option<FolderLock>,
}

fn check_target(out: &Path, overwrite: bool) -> Result<()> {
    let occupant = describe_occupant(out);
    let refuse = |hint: &str| {
        Err(RunsError::Occupied {
            path: out.to_path_buf(),
            what: occupant.describe(),
            hint: hint.to_string(),
        })
    };
    match &occupant {
        Occupant::Nothing => Ok(()),
        Occupant::Run { .. } if overwrite => Ok(()),
        Occupant::Run { .. } => refuse(
            "choose a new --out, or add --overwrite to replace that run whole (none of its files is kept)",
        ),
        Occupant::File | Occupant::Sweep | Occupant::Other { .. } => {
            refuse("choose another --out (--overwrite replaces only a textclf run folder)")
        }
    }
}

impl RunFolder {
    /// Starts a run bound for `out`: checks that `out` can take it, creates and locks the
    /// working folder `<out>.partial/` (or `out` itself with `in_place`).
    pub fn begin(out: &Path, b: &Begin) -> Result<RunFolder> {
        let raw = out.to_string_lossy();
        let raw = raw.trim_end_matches('/');
        let dots = [".", ".."]
            .iter()
            .any(|d| raw == *d || raw.ends_with(&format!("/{d}")));
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name.filter(|_| !dots && !raw.is_empty()) else {
            return Err(RunsError::Invalid(format!(
                "--out '{}' must name a run folder, e.g. runs/my-run",
                out.display()
            )));
        };
        if b.in_place {
            fs::create_dir_all(out).map_err(|e| RunsError::io(out, e))?;
            let lock = FolderLock::acquire(&out.join(LOCK_FILE), b.what)?;
            return Ok(RunFolder {
                target: out.to_path_buf(),
                work: out.to_path_buf(),
                overwrite: false,
                in_place: true,
                leftover: has_files(out, &[LOCK_FILE]),
                lock: Some(lock),
            });
        }
        if name.ends_with(PARTIAL) {
            return Err(RunsError::Invalid(format!(
                "--out '{}' ends in '{PARTIAL}', the name textclf gives the working folder of a run in progress; choose a name without it",
                out.display()
            )));
        }
        check_target(out, b.overwrite)?;
        let work = partial_path(out);
        if work.exists() && !work.is_dir() {
            return Err(RunsError::Occupied {
                path: work,
                what: "a file".into(),
                hint: "remove it or choose another --out".into(),
            });
        }
        fs::create_dir_all(&work).map_err(|e| RunsError::io(&work, e))?;
        let lock = FolderLock::acquire(&work.join(LOCK_FILE), b.what)?;
        let leftover = has_files(&work, &[LOCK_FILE]);
        Ok(RunFolder {
            target: out.to_path_buf(),
            work,
            overwrite: b.overwrite,
            in_place: false,
            leftover,
            lock: Some(lock),
        })
    }

    /// The folder to write the run into.
    pub fn work(&self) -> &Path {
        &self.work
    }

    /// Where the finished run will be.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether the working folder held files of an earlier, unfinished attempt when this
    /// run began (a checkpoint to resume, say).
    pub fn has_leftover(&self) -> bool {
        self.leftover
    }

    /// Removes everything an earlier attempt left in the working folder, to start afresh.
    pub fn clear(&mut self) -> Result<()> {
        let entries = fs::read_dir(&self.work).map_err(|e| RunsError::io(&self.work, e))?;
        for e in entries {
            let e = e.map_err(|e| RunsError::io(&self.work, e))?;
            if e.file_name() == LOCK_FILE {
                continue;
            }
            let p = e.path();
            let res = if p.is_dir() && !p.is_symlink() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            res.map_err(|err| RunsError::io(&p, err))?;
        }
        self.leftover = false;
        Ok(())
    }

    /// Records why the run did not finish (`status.json` in the working folder).
    pub fn write_status(&self, status: &RunStatus) -> Result<()> {
        status.write(&self.work)
    }

    /// Ends a run that did not finish: a working folder holding nothing worth resuming
    /// (no file but the lock and `status.json`) is removed, so a failed command leaves no
    /// litter; otherwise `status` is written beside what it holds. A caller's working
    /// folder (`in_place`) always gets the status. Returns the folder kept, if any.
    pub fn abandon(self, status: &RunStatus) -> Result<Option<PathBuf>> {
        let worth_keeping = has_files(&self.work, &[LOCK_FILE, STATUS_FILE]);
        if self.in_place || worth_keeping {
            status.write(&self.work)?;
            return Ok(Some(self.work.clone()));
        }
        fs::remove_dir_all(&self.work).map_err(|e| RunsError::io(&self.work, e))?;
        Ok(None)
    }

    /// Moves the complete run into place (replacing the old run when `overwrite` was
    /// asked), and releases the lock. Returns the final folder.
    pub fn commit(mut self) -> Result<PathBuf> {
        let _ = fs::remove_file(self.work.join(STATUS_FILE));
        let lock = self.lock.take();
        if self.in_place {
            if let Some(l) = lock {
                l.release();
            }
            return Ok(self.target.clone());
        }
        let replaced = match describe_occupant(&self.target) {
            Occupant::Nothing => {
                if self.target.is_dir() {
                    fs::remove_dir(&self.target).map_err(|e| RunsError::io(&self.target, e))?;
                }
                None
            }
            Occupant::Run { .. } if self.overwrite => {
                let old = sibling(&self.target, &format!(".replaced-{}", std::process::id()));
                fs::rename(&self.target, &old).map_err(|e| RunsError::io(&self.target, e))?;
                Some(old)
            }
            other => {
                return Err(RunsError::Occupied {
                    path: self.target.clone(),
                    what: other.describe(),
                    hint: format!(
                        "it appeared while this run worked; the finished run is kept in {}",
                        self.work.display()
                    ),
                })
            }
        };
        if let Some(parent) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| RunsError::io(parent, e))?;
        }
        fs::rename(&self.work, &self.target).map_err(|e| RunsError::io(&self.target, e))?;
        let _ = fs::remove_file(self.target.join(LOCK_FILE));
        drop(lock);
        if let Some(old) = replaced {
            fs::remove_dir_all(&old).map_err(|e| RunsError::io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

fn sibling(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Whether `dir` holds an entry whose name is not one of `besides`.
fn has_files(dir: &Path, besides: &[&str]) -> bool {
    fs::read_dir(dir).is_ok_and(|d| {
        d.filter_map(|e| e.ok())
            .any(|e| !besides.iter().any(|b| e.file_name() == *b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(out: &Path, overwrite: bool) -> Result<RunFolder> {
        RunFolder::begin(
            out,
            &Begin {
                overwrite,
                what: "test",
                in_place: false,
            },
        )
    }

    fn finished_run(dir: &Path, command: &str, files: &[&str]) {
        fs::create_dir_all(dir).unwrap();
        fs::write(
            dir.join("metrics.json"),
            format!("{{\"command\": \"{command}\"}}"),
        )
        .unwrap();
        for f in files {
            fs::write(dir.join(f), "x").unwrap();
        }
    }

    #[test]
    fn a_run_is_built_aside_and_moved_into_place_whole() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("runs/a");
        let f = begin(&out, false).unwrap();
        assert_eq!(f.work(), t.path().join("runs/a.partial"));
        assert!(!out.exists(), "nothing under the final name while it runs");
        fs::write(f.work().join("metrics.json"), "{}").unwrap();
        assert_eq!(f.commit().unwrap(), out);
        assert!(out.join("metrics.json").is_file());
        assert!(!out.join(LOCK_FILE).exists());
        assert!(!t.path().join("runs/a.partial").exists());
    }

    #[test]
    fn an_out_holding_a_run_is_refused_and_overwrite_replaces_it_whole() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("a");
        finished_run(&out, "train", &["valid_predictions.csv"]);
        let e = begin(&out, false).unwrap_err().to_string();
        assert!(
            e.contains("finished `textclf train` run") && e.contains("--overwrite"),
            "{e}"
        );
        let f = begin(&out, true).unwrap();
        // The old run is intact until the new one is complete.
        assert!(out.join("valid_predictions.csv").is_file());
        fs::write(f.work().join("metrics.json"), "{\"command\": \"baseline\"}").unwrap();
        f.commit().unwrap();
        assert!(
            !out.join("valid_predictions.csv").exists(),
            "no file of the old run survives"
        );
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            1,
            "no leftovers beside it"
        );
    }

    #[test]
    fn overwrite_never_deletes_what_is_not_a_run() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("mine");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("thesis.tex"), "x").unwrap();
        let e = begin(&out, true).unwrap_err().to_string();
        assert!(
            e.contains("thesis.tex") && e.contains("not a textclf run"),
            "{e}"
        );
        fs::write(t.path().join("f"), "x").unwrap();
        assert!(begin(&t.path().join("f"), true).is_err());
        let sweep = t.path().join("sw");
        fs::create_dir_all(&sweep).unwrap();
        fs::write(sweep.join("sweep.json"), "{}").unwrap();
        assert!(begin(&sweep, true)
            .unwrap_err()
            .to_string()
            .contains("sweep folder"));
    }

    #[test]
    fn bad_names_and_a_busy_folder_are_refused() {
        let t = tempfile::tempdir().unwrap();
        for bad in ["x.partial", ".", ".."] {
            assert!(begin(&t.path().join(bad), false).is_err(), "{bad}");
        }
        let out = t.path().join("b");
        let first = begin(&out, false).unwrap();
        let e = begin(&out, false).unwrap_err().to_string();
        assert!(e.contains("in use by test (pid"), "{e}");
        drop(first);
        let again = begin(&out, false).unwrap();
        assert!(!again.has_leftover());
    }

    #[test]
    fn leftovers_of_an_interrupted_attempt_are_seen_and_can_be_cleared() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("c");
        let f = begin(&out, false).unwrap();
        fs::create_dir_all(f.work().join("checkpoint")).unwrap();
        drop(f);
        let mut f = begin(&out, false).unwrap();
        assert!(f.has_leftover());
        f.clear().unwrap();
        assert!(!f.work().join("checkpoint").exists());
        assert!(f.work().join(LOCK_FILE).exists());
    }

    #[test]
    fn an_abandoned_run_leaves_no_litter_unless_it_holds_something_to_resume() {
        let t = tempfile::tempdir().unwrap();
        let st = RunStatus::new(crate::Outcome::Failed, Some("bad data".into()));
        let out = t.path().join("a");
        assert_eq!(begin(&out, false).unwrap().abandon(&st).unwrap(), None);
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
        let f = begin(&out, false).unwrap();
        fs::create_dir_all(f.work().join("checkpoint")).unwrap();
        let kept = f.abandon(&st).unwrap().unwrap();
        assert_eq!(RunStatus::read(&kept).unwrap(), Some(st));
    }

    #[test]
    fn in_place_works_in_the_given_folder() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("runs/x.partial");
        let f = RunFolder::begin(
            &out,
            &Begin {
                overwrite: false,
                what: "child",
                in_place: true,
            },
        )
        .unwrap();
        assert_eq!(f.work(), out);
        assert_eq!(f.commit().unwrap(), out);
        assert!(out.is_dir() && !out.join(LOCK_FILE).exists());
    }

    #[test]
    fn the_working_folder_of_a_path_with_a_trailing_slash_is_the_same() {
        assert_eq!(
            partial_path(Path::new("runs/x/")),
            Path::new("runs/x.partial")
        );
        assert_eq!(
            partial_path(Path::new("runs/x")),
            Path::new("runs/x.partial")
        );
    }
}
