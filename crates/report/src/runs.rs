//! Reading finished runs back: one [`RunSummary`] per run folder, whether the run was made
//! by hand (`textclf train` / `textclf baseline`) or by a sweep.
//!
//! A run folder holds `metrics.json` and `predictions.csv` (see `textclf-eval`); a sweep
//! adds `run.json` with the settings it chose and the run's status, so runs that failed or
//! are not finished yet are listed too. A sweep folder holds `sweep.json` and `runs/<id>/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use textclf_eval::{Report, METRICS_FILE};
use textclf_runs::{RecordedStatus, SweepRunRecord};

use crate::error::{ReportError, Result};

/// The file a sweep writes into every run folder: settings and status.
pub use textclf_runs::RUN_FILE;
/// The file at the root of a sweep folder: the plan of all its runs.
pub const SWEEP_FILE: &str = "sweep.json";
/// Where a sweep keeps its run folders.
pub const RUNS_DIR: &str = "runs";

/// Linear baseline or fine-tuned transformer (owned by the run record).
pub use textclf_runs::Family;

/// Where a run stands.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunStatus {
    /// Finished: metrics.json and predictions.csv are there.
    Done,
    /// Gave up with this error (after any retries).
    Failed { error: String },
    /// Planned by a sweep but not finished (not started, running, or interrupted).
    Pending,
}

/// One validation of a transformer run (at an epoch end, or every N steps).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EpochPoint {
    /// 1-based epoch.
    pub epoch: usize,
    /// Optimizer steps so far.
    pub step: u64,
    /// Whether this validation closed its epoch.
    pub epoch_end: bool,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_macro_f1: f64,
    /// Training seconds since the start of the run (validation excluded).
    pub train_seconds: f64,
    pub samples_per_s: f64,
}

/// How many texts the run's max length cut (measured on a sample of its training texts).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TruncationInfo {
    pub max_len: usize,
    /// Texts whose token lengths were counted.
    pub sampled: usize,
    /// Share of those longer than `max_len` tokens (special tokens included).
    pub truncated_share: f64,
    /// Median, 90th percentile and maximum token length of the sample.
    pub p50: usize,
    pub p90: usize,
    pub max: usize,
}

/// The test set a run was scored on. Runs are only compared (selection, near ties, paired
/// tests) with runs of the same test set; see [`crate::testsets`].
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TestSet {
    /// `data.test.name` of metrics.json (the file or split the rows came from), when
    /// recorded.
    pub name: Option<String>,
    /// Test rows.
    pub rows: usize,
    /// A fingerprint of the sorted (row id, gold label) pairs of `predictions.csv`, when
    /// that file could be read: the same rows give the same fingerprint, whatever the
    /// file was called. Only compared within one report, never written.
    #[serde(skip)]
    pub fingerprint: Option<u64>,
}

/// How a linear baseline chose its C (metrics.json `model.fit`).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LinearFit {
    pub chosen_c: f64,
    /// (C, accuracy on the selection split) for every C tried, by increasing C.
    pub c_search: Vec<(f64, f64)>,
    /// Where C was chosen: "valid", "holdout" or "none".
    pub selection_split: Option<String>,
    /// Set when the best C was at an edge of the grid and the grid was extended.
    pub extension: Option<CGridExtension>,
}

/// metrics.json `model.fit.c_grid_extension`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct CGridExtension {
    /// "up" or "down".
    pub direction: String,
    /// The C values added, in the order they were tried.
    pub added: Vec<f64>,
    /// The best C was still at the edge when the extension's bound stopped it.
    pub stopped_by_bound: bool,
}

/// Everything a report, the selection rule or the advisor needs to know about one run.
#[derive(Serialize, Clone, Debug)]
pub struct RunSummary {
    /// The run's name: its folder name (sweep runs: their id).
    pub id: String,
    pub dir: PathBuf,
    pub status: RunStatus,
    pub family: Family,
    /// What was trained, for people: the sweep's model name, else the model source or
    /// the baseline kind (e.g. `tfidf-nbsvm`).
    pub model: String,
    /// The settings that describe the run: `model`, `layers`, `max_len`, `lr`,
    /// `batch_size`, `epochs`, `train_fraction`, `seed`, … (whatever is known).
    pub params: BTreeMap<String, Value>,
    /// Of those, the ones the sweep varied (empty for a run made by hand).
    pub varied: Vec<String>,
    /// Class names in label order (empty when not finished).
    pub labels: Vec<String>,
    /// The test report (finished runs only).
    pub test: Option<Report>,
    /// Validation accuracy of the model that was kept (best epoch for transformers).
    pub val_accuracy: Option<f64>,
    pub val_macro_f1: Option<f64>,
    pub val_loss: Option<f64>,
    /// Rows in the validation split.
    pub val_n: Option<usize>,
    /// The homework's selection score: validation accuracy at the validation of minimum
    /// loss (linear runs: their validation accuracy).
    pub val_acc_at_min_val_loss: Option<f64>,
    /// Every validation, in order (transformers only).
    pub epochs: Vec<EpochPoint>,
    /// 1-based epoch of the kept weights.
    pub best_epoch: Option<usize>,
    pub stopped_early: bool,
    pub train_rows: Option<usize>,
    /// Wall-clock seconds of the whole run, and of training (fitting) alone.
    pub total_seconds: Option<f64>,
    pub train_seconds: Option<f64>,
    /// Training seconds per completed epoch (transformers).
    pub seconds_per_epoch: Option<f64>,
    /// Training throughput (transformers: samples/s of the last validation; linear:
    /// training rows / fit seconds).
    pub samples_per_s: Option<f64>,
    pub parameters: Option<u64>,
    pub truncation: Option<TruncationInfo>,
    /// The test set of the test report (finished runs with a test report only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_set: Option<TestSet>,
    /// Rows per class of the validation split (metrics.json `data.valid.per_class`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub val_per_class: Vec<(String, u64)>,
    /// How a linear baseline chose its C.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_fit: Option<LinearFit>,
}

impl RunSummary {
    /// Test accuracy, if finished.
    pub fn test_accuracy(&self) -> Option<f64> {
        self.test.as_ref().map(|r| r.accuracy)
    }

    /// Test macro F1, if finished.
    pub fn test_macro_f1(&self) -> Option<f64> {
        self.test.as_ref().map(|r| r.macro_f1)
    }

    /// A setting as a number (e.g. `lr`, `max_len`, `train_fraction`).
    pub fn param_f64(&self, key: &str) -> Option<f64> {
        self.params.get(key).and_then(Value::as_f64)
    }

    /// A setting as text (strings unquoted; numbers as JSON writes them).
    pub fn param_text(&self, key: &str) -> Option<String> {
        self.params.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    pub fn is_done(&self) -> bool {
        self.status == RunStatus::Done
    }
}

/// A set of runs read from a folder.
#[derive(Serialize, Clone, Debug)]
pub struct RunSet {
    /// The folder that was read.
    pub dir: PathBuf,
    /// The sweep's name, when it is a sweep.
    pub sweep: Option<String>,
    /// The sweep's selection rule, as written in sweep.json (e.g. `val_acc_at_min_val_loss`).
    pub selection: Option<String>,
    /// Settings varied by the sweep, in its order.
    pub varied: Vec<String>,
    pub runs: Vec<RunSummary>,
}

impl RunSet {
    /// Finished runs only.
    pub fn done(&self) -> impl Iterator<Item = &RunSummary> {
        self.runs.iter().filter(|r| r.is_done())
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).map_err(|e| ReportError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| ReportError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads what `dir` holds: one run (it has `metrics.json` or `run.json`), a sweep (it has
/// `sweep.json`), or a plain folder of run folders (each sub-folder with `metrics.json`).
pub fn collect(dir: &Path) -> Result<RunSet> {
    if !dir.is_dir() {
        return Err(ReportError::NotARun {
            path: dir.to_path_buf(),
            reason: if dir.exists() {
                "is a file; give a run or sweep folder".into()
            } else {
                "no such folder".into()
            },
        });
    }
    if dir.join(SWEEP_FILE).is_file() {
        return collect_sweep(dir);
    }
    if dir.join(METRICS_FILE).is_file() || dir.join(RUN_FILE).is_file() {
        let run = load_summary(dir)?;
        return Ok(RunSet {
            dir: dir.to_path_buf(),
            sweep: None,
            selection: None,
            varied: Vec::new(),
            runs: vec![run],
        });
    }
    let mut subdirs: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| ReportError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(METRICS_FILE).is_file())
        .collect();
    subdirs.sort();
    if subdirs.is_empty() {
        return Err(ReportError::NotARun {
            path: dir.to_path_buf(),
            reason: format!(
                "no {METRICS_FILE}, {SWEEP_FILE} or run sub-folders here; give the --out folder of a run or a sweep"
            ),
        });
    }
    let runs = subdirs
        .iter()
        .map(|d| load_summary(d))
        .collect::<Result<Vec<_>>>()?;
    Ok(RunSet {
        dir: dir.to_path_buf(),
        sweep: None,
        selection: None,
        varied: varied_keys(&runs),
        runs,
    })
}

/// Settings whose values differ between runs, in a stable order.
fn varied_keys(runs: &[RunSummary]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in runs {
        for k in r.params.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys.retain(|k| {
        let first = runs[0].params.get(k);
        runs.iter().any(|r| r.params.get(k) != first)
    });
    keys
}

fn collect_sweep(dir: &Path) -> Result<RunSet> {
    let plan = read_json(&dir.join(SWEEP_FILE))?;
    let bad = |reason: &str| ReportError::NotARun {
        path: dir.join(SWEEP_FILE),
        reason: reason.to_string(),
    };
    let ids: Vec<String> = plan
        .get("runs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("has no \"runs\" list"))?
        .iter()
        .map(|r| {
            r.get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad("a run has no \"id\""))
        })
        .collect::<Result<_>>()?;
    let varied: Vec<String> = plan
        .get("varied")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let planned: BTreeMap<String, &Value> = plan
        .get("runs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.get("id")?.as_str()?.to_string(), r)))
        .collect();
    let mut runs = Vec::with_capacity(ids.len());
    for id in &ids {
        let run_dir = dir.join(RUNS_DIR).join(id);
        let summary = if run_dir.join(RUN_FILE).is_file() || run_dir.join(METRICS_FILE).is_file() {
            load_summary(&run_dir)?
        } else {
            // Not started (or its folder is still the unfinished temporary one).
            let entry = planned[id];
            pending(id, &run_dir, entry, &varied)
        };
        runs.push(summary);
    }
    Ok(RunSet {
        dir: dir.to_path_buf(),
        sweep: plan.get("name").and_then(Value::as_str).map(str::to_string),
        selection: plan
            .get("selection")
            .and_then(Value::as_str)
            .map(str::to_string),
        varied,
        runs,
    })
}

fn params_of(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn family_of(v: Option<&Value>) -> Family {
    match v.and_then(Value::as_str) {
        Some("linear") => Family::Linear,
        _ => Family::Transformer,
    }
}

fn pending(id: &str, dir: &Path, entry: &Value, varied: &[String]) -> RunSummary {
    RunSummary {
        id: id.to_string(),
        dir: dir.to_path_buf(),
        status: RunStatus::Pending,
        family: family_of(entry.get("family")),
        model: entry
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_string(),
        params: params_of(entry.get("params")),
        varied: varied.to_vec(),
        labels: Vec::new(),
        test: None,
        val_accuracy: None,
        val_macro_f1: None,
        val_loss: None,
        val_n: None,
        val_acc_at_min_val_loss: None,
        epochs: Vec::new(),
        best_epoch: None,
        stopped_early: false,
        train_rows: None,
        total_seconds: None,
        train_seconds: None,
        seconds_per_epoch: None,
        samples_per_s: None,
        parameters: None,
        truncation: None,
        test_set: None,
        val_per_class: Vec::new(),
        linear_fit: None,
    }
}

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

fn u(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_u64()
}

/// Reads one run folder: `run.json` (if a sweep made it) and `metrics.json` (if finished).
pub fn load_summary(dir: &Path) -> Result<RunSummary> {
    let id = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    let run = if dir.join(RUN_FILE).is_file() {
        Some(SweepRunRecord::read(dir).map_err(|e| match e {
            textclf_runs::RunsError::Json { path, source } => ReportError::Json { path, source },
            textclf_runs::RunsError::Io { path, source } => ReportError::io(path, source),
            other => ReportError::Invalid(other.to_string()),
        })?)
    } else {
        None
    };
    let metrics = if dir.join(METRICS_FILE).is_file() {
        Some(read_json(&dir.join(METRICS_FILE))?)
    } else {
        None
    };
    let status = match (&run, &metrics) {
        (Some(r), _) if r.status == RecordedStatus::Failed => RunStatus::Failed {
            error: r.error.clone().unwrap_or_else(|| "unknown error".into()),
        },
        (_, Some(_)) => RunStatus::Done,
        _ => RunStatus::Pending,
    };
    let varied = run.as_ref().map(|r| r.varied.clone()).unwrap_or_default();
    let empty = Value::Null;
    let m = metrics.as_ref().unwrap_or(&empty);
    let command = m.get("command").and_then(Value::as_str);
    let family = match (&run, command) {
        (Some(r), _) => r.family,
        (_, Some("baseline")) => Family::Linear,
        _ => Family::Transformer,
    };
    let mut params = run.as_ref().map(|r| r.params.clone()).unwrap_or_default();
    if metrics.is_some() {
        derive_params(m, family, &mut params);
    }
    let model = run
        .as_ref()
        .map(|r| r.model.clone())
        .or_else(|| match family {
            Family::Linear => m
                .pointer("/model/kind")
                .and_then(Value::as_str)
                .map(str::to_string),
            Family::Transformer => {
                let src = m.pointer("/model/source").and_then(Value::as_str)?;
                let name = Path::new(src)
                    .file_name()
                    .map_or(src.to_string(), |n| n.to_string_lossy().into_owned());
                Some(match params.get("layers").and_then(Value::as_u64) {
                    Some(l) if m.pointer("/model/kept_layers").is_some() => {
                        format!("{name} ({l} layers)")
                    }
                    _ => name,
                })
            }
        })
        .unwrap_or_else(|| id.clone());
    let test = match m.get("accuracy") {
        Some(_) => Some(
            serde_json::from_value::<Report>(m.clone()).map_err(|source| ReportError::Json {
                path: dir.join(METRICS_FILE),
                source,
            })?,
        ),
        None => None,
    };
    let labels = m
        .pointer("/data/labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .or_else(|| test.as_ref().map(|t| t.confusion.labels.clone()))
        .unwrap_or_default();
    // metrics.json before format 2 counted epochs[].epoch from 0.
    let first_epoch_offset = match m.get("format").and_then(Value::as_u64) {
        Some(f) if f >= 2 => 0,
        _ => 1,
    };
    let epochs: Vec<EpochPoint> = m
        .get("epochs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some(EpochPoint {
                        epoch: e.get("epoch")?.as_u64()? as usize + first_epoch_offset,
                        step: e.get("step")?.as_u64()?,
                        epoch_end: e.get("epoch_end").and_then(Value::as_bool).unwrap_or(true),
                        train_loss: e.get("train_loss")?.as_f64()?,
                        train_accuracy: e.get("train_accuracy")?.as_f64()?,
                        val_loss: e.get("val_loss")?.as_f64()?,
                        val_accuracy: e.get("val_accuracy")?.as_f64()?,
                        val_macro_f1: e.get("val_macro_f1")?.as_f64()?,
                        train_seconds: e.get("train_seconds")?.as_f64()?,
                        samples_per_s: e.get("samples_per_s")?.as_f64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let (val_accuracy, val_macro_f1, val_loss) = match family {
        // A run that kept its averaged weights is judged by them.
        Family::Transformer if m.pointer("/averaged/kept") == Some(&Value::Bool(true)) => (
            f(m, &["averaged", "val_accuracy"]),
            f(m, &["averaged", "val_macro_f1"]),
            f(m, &["averaged", "val_loss"]),
        ),
        Family::Transformer => (
            f(m, &["best", "val_accuracy"]),
            f(m, &["best", "val_macro_f1"]),
            f(m, &["best", "val_loss"]),
        ),
        Family::Linear => (
            f(m, &["valid", "accuracy"]),
            f(m, &["valid", "macro_f1"]),
            f(m, &["valid", "log_loss"]),
        ),
    };
    let val_acc_at_min_val_loss = match family {
        Family::Transformer => f(m, &["val_accuracy_at_min_val_loss"]),
        Family::Linear => val_accuracy,
    };
    let train_seconds = match family {
        Family::Transformer => f(m, &["timing", "train"]),
        Family::Linear => match (f(m, &["timing", "vectorize"]), f(m, &["timing", "fit"])) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        },
    };
    let train_rows = u(m, &["data", "train", "rows"]).map(|n| n as usize);
    let full_epochs = epochs.iter().filter(|e| e.epoch_end).count();
    let seconds_per_epoch = epochs
        .iter()
        .rev()
        .find(|e| e.epoch_end)
        .map(|e| e.train_seconds / full_epochs.max(1) as f64);
    let samples_per_s = match family {
        Family::Transformer => epochs.last().map(|e| e.samples_per_s),
        Family::Linear => match (train_rows, f(m, &["timing", "fit"])) {
            (Some(n), Some(s)) if s > 0.0 => Some(n as f64 / s),
            _ => None,
        },
    };
    let test_set = test.as_ref().map(|t| TestSet {
        name: m
            .pointer("/data/test/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        rows: u(m, &["data", "test", "rows"]).map_or(t.n, |n| n as usize),
        fingerprint: predictions_fingerprint(dir),
    });
    let truncation = m
        .pointer("/data/token_lengths")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    Ok(RunSummary {
        id,
        dir: dir.to_path_buf(),
        status,
        family,
        model,
        params,
        varied,
        labels,
        test,
        val_accuracy,
        val_macro_f1,
        val_loss,
        val_n: u(m, &["data", "valid", "rows"]).map(|n| n as usize),
        val_acc_at_min_val_loss,
        epochs,
        best_epoch: u(m, &["best_epoch"]).map(|n| n as usize),
        stopped_early: m
            .get("stopped_early")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        train_rows,
        total_seconds: f(m, &["timing", "total"]),
        train_seconds,
        seconds_per_epoch,
        samples_per_s,
        parameters: u(m, &["model", "parameters"]),
        truncation,
        test_set,
        val_per_class: per_class(m, "/data/valid/per_class"),
        linear_fit: match family {
            Family::Linear => linear_fit(m),
            Family::Transformer => None,
        },
    })
}

/// Rows per class from a `per_class` object of metrics.json.
fn per_class(m: &Value, pointer: &str) -> Vec<(String, u64)> {
    m.pointer(pointer)
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn linear_fit(m: &Value) -> Option<LinearFit> {
    let fit = m.pointer("/model/fit")?;
    let chosen_c = fit.get("chosen_c")?.as_f64()?;
    let c_search = fit
        .get("c_search")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p.get("c")?.as_f64()?, p.get("accuracy")?.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let extension = fit
        .get("c_grid_extension")
        .filter(|x| !x.is_null())
        .and_then(|x| {
            Some(CGridExtension {
                direction: x.get("direction")?.as_str()?.to_string(),
                added: x
                    .get("added")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default(),
                stopped_by_bound: x
                    .get("stopped_by_bound")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        });
    Some(LinearFit {
        chosen_c,
        c_search,
        selection_split: fit
            .get("selection_split")
            .and_then(Value::as_str)
            .map(str::to_string),
        extension,
    })
}

/// FNV-1a over the sorted (id, gold) pairs of a run's `predictions.csv`; `None` when the
/// file is missing or unreadable.
fn predictions_fingerprint(dir: &Path) -> Option<u64> {
    let path = dir.join(textclf_eval::PREDICTIONS_FILE);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(&path)
        .ok()?;
    let header = r.headers().ok()?.clone();
    if header.get(0) != Some("id") || header.get(1) != Some("gold") {
        return None;
    }
    let mut pairs = Vec::new();
    for rec in r.records() {
        let rec = rec.ok()?;
        pairs.push((rec.get(0)?.to_string(), rec.get(1)?.to_string()));
    }
    pairs.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (id, gold) in &pairs {
        eat(id.as_bytes());
        eat(&[0x1f]);
        eat(gold.as_bytes());
        eat(&[0x1e]);
    }
    Some(h)
}

/// Fills settings a run made by hand records only inside metrics.json.
fn derive_params(m: &Value, family: Family, p: &mut BTreeMap<String, Value>) {
    let mut put = |k: &str, v: Option<&Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            p.entry(k.to_string()).or_insert_with(|| v.clone());
        }
    };
    match family {
        Family::Transformer => {
            put("model", m.pointer("/model/source"));
            put("layers", m.pointer("/model/layers"));
            put("max_len", m.pointer("/model/max_len"));
            put("lr", m.pointer("/model/train_config/lr"));
            put("batch_size", m.pointer("/model/train_config/batch_size"));
            put("epochs", m.pointer("/model/train_config/epochs"));
            put("truncation", m.pointer("/model/truncation"));
        }
        Family::Linear => {
            put("model", m.pointer("/model/kind"));
            put("C", m.pointer("/model/fit/chosen_c"));
        }
    }
    put("seed", m.pointer("/data/seed"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, v: &Value) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    fn report_json(acc: f64) -> Value {
        serde_json::json!({
            "n": 4, "accuracy": acc, "macro_f1": acc, "weighted_f1": acc, "binary_f1": acc,
            "log_loss": 0.5,
            "per_class": [
                {"label": "neg", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted": 2},
                {"label": "pos", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted": 2}],
            "confusion": {"labels": ["neg", "pos"], "counts": [[1, 1], [1, 1]],
                          "row_normalized": [[0.5, 0.5], [0.5, 0.5]]},
            "top_confusions": [],
            "ci": {"level": 0.95, "resamples": 0, "accuracy": [acc, acc], "macro_f1": [acc, acc]}
        })
    }

    #[test]
    fn reads_a_transformer_run_made_by_hand() {
        let t = tempfile::tempdir().unwrap();
        let mut m = report_json(0.75);
        let o = m.as_object_mut().unwrap();
        o.insert(
            "timing".into(),
            serde_json::json!({"train": 20.0, "total": 25.0}),
        );
        o.insert("command".into(), "train".into());
        o.insert(
            "epochs".into(),
            serde_json::json!([
            {"epoch": 0, "step": 10, "epoch_end": true, "train_loss": 0.7, "train_accuracy": 0.5,
             "val_loss": 0.6, "val_accuracy": 0.6, "val_macro_f1": 0.6, "lr": 1e-5,
             "train_seconds": 10.0, "samples_per_s": 32.0},
            {"epoch": 1, "step": 20, "epoch_end": true, "train_loss": 0.5, "train_accuracy": 0.7,
             "val_loss": 0.5, "val_accuracy": 0.7, "val_macro_f1": 0.7, "lr": 0.0,
             "train_seconds": 20.0, "samples_per_s": 33.0}]),
        );
        o.insert("best_epoch".into(), 2.into());
        o.insert(
            "best".into(),
            serde_json::json!({"val_accuracy": 0.7, "val_loss": 0.5, "val_macro_f1": 0.7}),
        );
        o.insert("val_accuracy_at_min_val_loss".into(), 0.7.into());
        o.insert(
            "model".into(),
            serde_json::json!({"source": "models/minilm", "layers": 6,
            "max_len": 128, "train_config": {"lr": 2e-5, "batch_size": 32, "epochs": 2}}),
        );
        o.insert(
            "data".into(),
            serde_json::json!({"labels": ["neg", "pos"], "seed": 42,
            "train": {"rows": 320}, "valid": {"rows": 40},
            "token_lengths": {"max_len": 128, "sampled": 320, "truncated_share": 0.25,
                              "p50": 90, "p90": 200, "max": 400}}),
        );
        write(t.path(), METRICS_FILE, &m);
        let set = collect(t.path()).unwrap();
        let r = &set.runs[0];
        assert_eq!(r.status, RunStatus::Done);
        assert_eq!(r.family, Family::Transformer);
        assert_eq!(r.model, "minilm");
        assert_eq!(r.epochs.len(), 2);
        // Format 1 (no `format` key) counted epochs from 0.
        assert_eq!(r.epochs[1].epoch, 2);
        assert_eq!(r.seconds_per_epoch, Some(10.0));
        // Format 2 counts them from 1, as written.
        let mut m2 = m.clone();
        m2["format"] = 2.into();
        m2["epochs"][0]["epoch"] = 1.into();
        m2["epochs"][1]["epoch"] = 2.into();
        let t2 = tempfile::tempdir().unwrap();
        write(t2.path(), METRICS_FILE, &m2);
        let r2 = &collect(t2.path()).unwrap().runs[0];
        assert_eq!(r2.epochs[0].epoch, 1);
        assert_eq!(r2.epochs[1].epoch, 2);
        assert_eq!(r.val_acc_at_min_val_loss, Some(0.7));
        assert_eq!(r.param_f64("lr"), Some(2e-5));
        assert_eq!(r.param_f64("max_len"), Some(128.0));
        assert_eq!(r.test_accuracy(), Some(0.75));
        assert_eq!(r.truncation.as_ref().unwrap().truncated_share, 0.25);
        assert_eq!(r.labels, vec!["neg", "pos"]);
        assert_eq!(r.val_accuracy, Some(0.7));

        // A run that kept its averaged weights is judged by their validation.
        for (kept, want) in [(false, 0.7), (true, 0.72)] {
            m["averaged"] = serde_json::json!({"from_step": 10, "count": 2, "val_loss": 0.45,
                "val_accuracy": 0.72, "val_macro_f1": 0.71, "kept": kept});
            write(t.path(), METRICS_FILE, &m);
            let set = collect(t.path()).unwrap();
            assert_eq!(set.runs[0].val_accuracy, Some(want), "kept {kept}");
        }
    }

    #[test]
    fn reads_a_sweep_with_failed_and_pending_runs() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            SWEEP_FILE,
            &serde_json::json!({
            "name": "demo", "selection": "val_acc_at_min_val_loss", "varied": ["model"],
            "runs": [
                {"id": "lr", "model": "tfidf-lr", "family": "linear", "params": {"model": "lr"}},
                {"id": "svm", "model": "tfidf-svm", "family": "linear", "params": {"model": "svm"}},
                {"id": "nb", "model": "tfidf-nbsvm", "family": "linear", "params": {"model": "nbsvm"}}]}),
        );
        let mut m = report_json(0.8);
        let o = m.as_object_mut().unwrap();
        o.insert("command".into(), "baseline".into());
        o.insert(
            "valid".into(),
            serde_json::json!({"accuracy": 0.79, "macro_f1": 0.78, "log_loss": 0.4, "n": 40}),
        );
        o.insert(
            "timing".into(),
            serde_json::json!({"vectorize": 1.0, "fit": 2.0, "total": 3.5}),
        );
        o.insert(
            "data".into(),
            serde_json::json!({"labels": ["neg", "pos"], "train": {"rows": 400}}),
        );
        let runs = t.path().join(RUNS_DIR);
        write(&runs.join("lr"), METRICS_FILE, &m);
        let record = |id: &str, model: &str, status: &str, error: Option<&str>| {
            serde_json::json!({"id": id, "index": 0, "sweep": "demo", "family": "linear",
            "model": model, "params": {"model": id}, "varied": ["model"],
            "command": "textclf baseline", "shard": "0/1", "host": "", "seconds": 1.0,
            "finished_at_unix": 0, "status": status, "error": error, "attempts": []})
        };
        write(
            &runs.join("lr"),
            RUN_FILE,
            &record("lr", "tfidf-lr", "done", None),
        );
        write(
            &runs.join("svm"),
            RUN_FILE,
            &record("svm", "tfidf-svm", "failed", Some("boom")),
        );
        let set = collect(t.path()).unwrap();
        assert_eq!(set.sweep.as_deref(), Some("demo"));
        assert_eq!(set.runs.len(), 3);
        assert_eq!(set.runs[0].status, RunStatus::Done);
        assert_eq!(set.runs[0].val_acc_at_min_val_loss, Some(0.79));
        assert_eq!(set.runs[0].train_seconds, Some(3.0));
        assert_eq!(set.runs[0].samples_per_s, Some(200.0));
        assert_eq!(
            set.runs[1].status,
            RunStatus::Failed {
                error: "boom".into()
            }
        );
        assert_eq!(set.runs[2].status, RunStatus::Pending);
        assert_eq!(set.runs[2].model, "tfidf-nbsvm");
        assert_eq!(set.done().count(), 1);
    }

    #[test]
    fn a_folder_without_runs_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        let e = collect(t.path()).unwrap_err().to_string();
        assert!(e.contains("give the --out folder"), "{e}");
        let e = collect(&t.path().join("nope")).unwrap_err().to_string();
        assert!(e.contains("no such folder"), "{e}");
    }
}
