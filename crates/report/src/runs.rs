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
use textclf_core::{LabelSet, Task};
use textclf_eval::{
    evaluate_multilabel, evaluate_regression, label_set_ids, multilabel_gold_rows, value_of,
    EvalOptions, LabelMatrix, Report, ShapedMetrics, TestReport, METRICS_FILE,
    VALID_PREDICTIONS_FILE,
};
use textclf_runs::{PlannedRun, RecordedStatus, RunBody, SweepRecord, SweepRunRecord};

use crate::error::{ReportError, Result};

/// The file a sweep writes into every run folder: settings and status.
pub use textclf_runs::RUN_FILE;
/// The file at the root of a sweep folder: the plan of all its runs.
pub use textclf_runs::SWEEP_FILE;
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

/// One validation of a transformer run (the run record's type).
pub use textclf_runs::EpochRecord as EpochPoint;

/// How many texts the run's max length cut (the run record's `data.token_lengths`).
pub use textclf_runs::TokenLengths as TruncationInfo;

/// metrics.json `model.fit.c_grid_extension` (the run record's type).
pub use textclf_runs::GridExtension;

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
    /// (C, the share C was chosen by on the selection split: accuracy, micro F1 or
    /// Pearson's r) for every C tried, by increasing C.
    pub c_search: Vec<(f64, f64)>,
    /// Where C was chosen: "valid", "holdout" or "none".
    pub selection_split: Option<String>,
    /// Set when the best C was at an edge of the grid and the grid was extended.
    pub extension: Option<GridExtension>,
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
    /// The test report of the run's task (finished runs only).
    pub test: Option<TestReport>,
    /// Validation accuracy of the model that was kept (best epoch for transformers).
    pub val_accuracy: Option<f64>,
    /// Multi-label runs: measured on `valid_predictions.csv` when the run wrote it (the
    /// label sets it predicts there, thresholds applied), else as recorded.
    pub val_macro_f1: Option<f64>,
    /// Multi-label runs: validation micro F1, from `valid_predictions.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_micro_f1: Option<f64>,
    /// Regression runs: validation Pearson's r, from `valid_predictions.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_pearson: Option<f64>,
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
    /// The run's task, if finished.
    pub fn task(&self) -> Option<Task> {
        self.test.as_ref().map(TestReport::task)
    }

    /// The single-label test report, if finished and single-label.
    pub fn single(&self) -> Option<&Report> {
        self.test.as_ref().and_then(TestReport::single)
    }

    /// Test accuracy, if finished and single-label.
    pub fn test_accuracy(&self) -> Option<f64> {
        self.single().map(|r| r.accuracy)
    }

    /// Test macro F1, if finished and single-label.
    pub fn test_macro_f1(&self) -> Option<f64> {
        self.single().map(|r| r.macro_f1)
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

    /// The task of the finished runs ([`collect`] refuses a set that mixes tasks);
    /// single-label when none is finished.
    pub fn task(&self) -> Task {
        self.runs
            .iter()
            .find_map(RunSummary::task)
            .unwrap_or(Task::SingleLabel)
    }
}

/// Refuses runs of several tasks: their measures cannot be ranked or compared together.
/// The message names the runs of each task.
fn check_one_task(dir: &Path, runs: &[RunSummary]) -> Result<()> {
    let mut by_task: Vec<(Task, Vec<&str>)> = Vec::new();
    for r in runs {
        let Some(t) = r.task() else { continue };
        match by_task.iter_mut().find(|(x, _)| *x == t) {
            Some((_, ids)) => ids.push(&r.id),
            None => by_task.push((t, vec![&r.id])),
        }
    }
    if by_task.len() > 1 {
        let list = by_task
            .iter()
            .map(|(t, ids)| format!("{t}: {}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ReportError::Invalid(format!(
            "{} holds runs of {} tasks ({list}); a report ranks and compares runs of one task. \
             Put each task's runs in a folder of their own and report on each.",
            dir.display(),
            by_task.len()
        )));
    }
    Ok(())
}

fn runs_err(e: textclf_runs::RunsError) -> ReportError {
    match e {
        textclf_runs::RunsError::Json { path, source } => ReportError::Json { path, source },
        textclf_runs::RunsError::Io { path, source } => ReportError::io(path, source),
        other => ReportError::Invalid(other.to_string()),
    }
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
    check_one_task(dir, &runs)?;
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
    let plan = SweepRecord::read(dir).map_err(runs_err)?;
    let mut runs = Vec::with_capacity(plan.runs.len());
    for entry in &plan.runs {
        let run_dir = dir.join(RUNS_DIR).join(&entry.id);
        let summary = if run_dir.join(RUN_FILE).is_file() || run_dir.join(METRICS_FILE).is_file() {
            load_summary(&run_dir)?
        } else {
            // Not started (or its folder is still the unfinished temporary one).
            pending(entry, &run_dir, &plan.varied)
        };
        runs.push(summary);
    }
    check_one_task(dir, &runs)?;
    Ok(RunSet {
        dir: dir.to_path_buf(),
        sweep: Some(plan.name),
        selection: Some(plan.selection),
        varied: plan.varied,
        runs,
    })
}

fn pending(entry: &PlannedRun, dir: &Path, varied: &[String]) -> RunSummary {
    RunSummary {
        varied: varied.to_vec(),
        ..pending_summary(
            entry.id.clone(),
            dir,
            entry.family,
            entry.model.clone(),
            entry.params.clone(),
        )
    }
}

/// Reads one run folder: `run.json` (if a sweep made it) and `metrics.json` (if finished).
pub fn load_summary(dir: &Path) -> Result<RunSummary> {
    let id = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    let run = if dir.join(RUN_FILE).is_file() {
        Some(SweepRunRecord::read(dir).map_err(runs_err)?)
    } else {
        None
    };
    let metrics = if dir.join(METRICS_FILE).is_file() {
        Some(ShapedMetrics::read(dir).map_err(runs_err)?)
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
    let family = match (&run, &metrics) {
        (Some(r), _) => r.family,
        (_, Some(m)) => m.family().unwrap_or(Family::Transformer),
        _ => Family::Transformer,
    };
    let mut params = run.as_ref().map(|r| r.params.clone()).unwrap_or_default();
    if let Some(m) = &metrics {
        derive_params(m, family, &mut params);
    }
    let model = run
        .as_ref()
        .map(|r| r.model.clone())
        .or_else(|| match (&metrics.as_ref()?.run, family) {
            (RunBody::Baseline(b), Family::Linear) => Some(b.model.kind.clone()),
            (RunBody::Train(t), Family::Transformer) => {
                let src = &t.model.source;
                let name = Path::new(src)
                    .file_name()
                    .map_or(src.to_string(), |n| n.to_string_lossy().into_owned());
                Some(match params.get("layers").and_then(Value::as_u64) {
                    Some(l) if t.model.kept_layers.is_some() => format!("{name} ({l} layers)"),
                    _ => name,
                })
            }
            _ => None,
        })
        .unwrap_or_else(|| id.clone());
    let Some(m) = metrics else {
        return Ok(RunSummary {
            status,
            varied,
            ..pending_summary(id, dir, family, model, params)
        });
    };
    let labels = m
        .labels()
        .map(<[String]>::to_vec)
        .unwrap_or_else(|| match &m.test {
            TestReport::SingleLabel(t) => t.confusion.labels.clone(),
            TestReport::MultiLabel(t) => t.per_label.iter().map(|l| l.label.clone()).collect(),
            TestReport::Regression(_) => Vec::new(),
        });
    let train_run = match &m.run {
        RunBody::Train(t) => Some(t),
        _ => None,
    };
    let epochs: Vec<EpochPoint> = train_run.map(|t| t.epochs.clone()).unwrap_or_default();
    let known = |x: f64| (!x.is_nan()).then_some(x);
    let (val_accuracy, val_macro_f1, val_loss) = match (family, train_run) {
        // A run that kept its averaged weights is judged by them.
        (Family::Transformer, Some(t)) => match (&t.averaged, &t.best) {
            (Some(a), _) if a.kept => (
                known(a.val_accuracy),
                known(a.val_macro_f1),
                known(a.val_loss),
            ),
            (_, Some(b)) => (
                known(b.val_accuracy),
                known(b.val_macro_f1),
                known(b.val_loss),
            ),
            _ => (None, None, None),
        },
        (Family::Transformer, None) => (None, None, None),
        (Family::Linear, _) => match m.valid() {
            Some(v) => (known(v.accuracy), v.macro_f1, known(v.log_loss)),
            None => (None, None, None),
        },
    };
    let task = m.test.task();
    let shaped = validation_scores(dir, task);
    let val_macro_f1 = shaped.macro_f1.or(val_macro_f1);
    let val_acc_at_min_val_loss = match family {
        Family::Transformer => train_run.and_then(|t| t.val_accuracy_at_min_val_loss),
        Family::Linear => val_accuracy,
    };
    let train_seconds = match family {
        Family::Transformer => m.timing.get("train"),
        Family::Linear => match (m.timing.get("vectorize"), m.timing.get("fit")) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        },
    };
    let train_rows = m.train_split().map(|s| s.rows);
    let full_epochs = epochs.iter().filter(|e| e.epoch_end).count();
    let seconds_per_epoch = epochs
        .iter()
        .rev()
        .find(|e| e.epoch_end)
        .map(|e| e.train_seconds / full_epochs.max(1) as f64);
    let samples_per_s = match family {
        Family::Transformer => epochs.last().map(|e| e.samples_per_s),
        Family::Linear => match (train_rows, m.timing.get("fit")) {
            (Some(n), Some(s)) if s > 0.0 => Some(n as f64 / s),
            _ => None,
        },
    };
    let test_split = m.test_split();
    let test_set = Some(TestSet {
        name: test_split.name.clone(),
        rows: test_split.rows,
        fingerprint: predictions_fingerprint(dir),
    });
    let linear_fit = match (&m.run, family) {
        (RunBody::Baseline(b), Family::Linear) => linear_fit(&b.model),
        _ => None,
    };
    Ok(RunSummary {
        id,
        dir: dir.to_path_buf(),
        status,
        family,
        model,
        params,
        varied,
        labels,
        val_accuracy,
        val_macro_f1,
        val_micro_f1: shaped.micro_f1,
        val_pearson: shaped.pearson,
        val_loss,
        val_n: m.valid_split().map(|s| s.rows),
        val_acc_at_min_val_loss,
        best_epoch: train_run.and_then(|t| t.best_epoch),
        stopped_early: train_run.is_some_and(|t| t.stopped_early),
        epochs,
        train_rows,
        total_seconds: (!m.timing.phases.is_empty()).then(|| m.timing.total()),
        train_seconds,
        seconds_per_epoch,
        samples_per_s,
        parameters: train_run.and_then(|t| t.model.parameters),
        truncation: train_run.and_then(|t| t.data.token_lengths.clone()),
        test_set,
        val_per_class: m
            .valid_split()
            .and_then(|s| s.per_class.clone())
            .map(|c| c.0)
            .unwrap_or_default(),
        linear_fit,
        test: Some(m.test),
    })
}

/// The validation scores of a multi-label or regression run, measured on its
/// `valid_predictions.csv`.
#[derive(Default)]
struct ShapedValidation {
    micro_f1: Option<f64>,
    macro_f1: Option<f64>,
    pearson: Option<f64>,
}

/// Multi-label: micro and macro F1 of the label sets the run predicts on its validation
/// rows (its thresholds applied); regression: Pearson's r. Nothing for single-label runs
/// (their record has the validation figures) or when the file is missing or unreadable.
fn validation_scores(dir: &Path, task: Task) -> ShapedValidation {
    let path = dir.join(VALID_PREDICTIONS_FILE);
    if task == Task::SingleLabel || !path.is_file() {
        return ShapedValidation::default();
    }
    let measured = || -> Option<ShapedValidation> {
        let (names, rows) = textclf_runs::read_predictions(&path).ok()?;
        let opts = EvalOptions {
            bootstrap: 0,
            ..EvalOptions::default()
        };
        match task {
            Task::MultiLabel => {
                let labels = LabelSet::new(names).ok()?;
                let gold = multilabel_gold_rows(&rows, &labels, "").ok()?;
                let sets = rows
                    .iter()
                    .map(|r| label_set_ids(&r.predicted, &labels).ok())
                    .collect::<Option<Vec<_>>>()?;
                let pred = LabelMatrix::from_sets(labels.len(), &sets).ok()?;
                let rep = evaluate_multilabel(&gold, &pred, None, &labels, &opts).ok()?;
                Some(ShapedValidation {
                    micro_f1: Some(rep.micro.f1),
                    macro_f1: Some(rep.macro_avg.f1),
                    pearson: None,
                })
            }
            _ => {
                let gold = rows
                    .iter()
                    .map(|r| r.gold.as_deref().and_then(value_of))
                    .collect::<Option<Vec<_>>>()?;
                let pred = rows
                    .iter()
                    .map(|r| value_of(&r.predicted))
                    .collect::<Option<Vec<_>>>()?;
                let rep = evaluate_regression(&gold, &pred, &opts).ok()?;
                Some(ShapedValidation {
                    pearson: rep.pearson,
                    ..ShapedValidation::default()
                })
            }
        }
    };
    measured().unwrap_or_default()
}

/// A run without results yet (or failed): what its record says.
fn pending_summary(
    id: String,
    dir: &Path,
    family: Family,
    model: String,
    params: BTreeMap<String, Value>,
) -> RunSummary {
    RunSummary {
        id,
        dir: dir.to_path_buf(),
        status: RunStatus::Pending,
        family,
        model,
        params,
        varied: Vec::new(),
        labels: Vec::new(),
        test: None,
        val_accuracy: None,
        val_macro_f1: None,
        val_micro_f1: None,
        val_pearson: None,
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

/// How a linear baseline chose its C, from its `model.fit`.
fn linear_fit(model: &textclf_runs::LinearModel) -> Option<LinearFit> {
    let fit = model.fit.as_ref()?;
    // A search scored by a share (accuracy, micro F1, Pearson's r) only: the C-grid advice
    // reads gains in points of it.
    Some(LinearFit {
        chosen_c: fit.chosen_c()?,
        c_search: fit.share_scores()?,
        selection_split: Some(fit.selection_split())
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        extension: fit.c_grid_extension().cloned(),
    })
}

/// FNV-1a over the sorted (id, gold) pairs of a run's `predictions.csv`; `None` when the
/// file is missing or unreadable.
fn predictions_fingerprint(dir: &Path) -> Option<u64> {
    let (_, rows) =
        textclf_runs::read_predictions(&dir.join(textclf_eval::PREDICTIONS_FILE)).ok()?;
    let mut pairs: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r.id, r.gold.unwrap_or_default()))
        .collect();
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

/// Fills settings a run made by hand records only inside metrics.json (the keys are those
/// of `textclf-settings`).
fn derive_params(m: &ShapedMetrics, family: Family, p: &mut BTreeMap<String, Value>) {
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            p.entry(k.to_string()).or_insert(v);
        }
    };
    match (&m.run, family) {
        (RunBody::Train(t), Family::Transformer) => {
            let model = &t.model;
            put("model", Some(Value::from(model.source.clone())));
            put("layers", Some(Value::from(model.layers)));
            put("max_len", Some(Value::from(model.max_len)));
            put("truncation", model.truncation.clone().map(Value::from));
            let pairs = t.data.token_lengths.as_ref().and_then(|l| l.pairs.as_ref());
            put(
                "pair_truncation",
                pairs.map(|p| Value::from(p.strategy.clone())),
            );
            put("grad_checkpoint", Some(Value::from(model.grad_checkpoint)));
            put("device", model.device.clone().map(Value::from));
            // Every other transformer setting, where the trainer's typed settings hold it.
            for setting in textclf_settings::ALL.iter().filter(|s| s.transformer) {
                put(setting.key, model.train_config.recorded(setting.key));
            }
        }
        (RunBody::Baseline(b), Family::Linear) => {
            put("model", Some(Value::from(b.model.kind.clone())));
            let c = b.model.fit.as_ref().and_then(|f| f.chosen_c());
            put("C", c.map(Value::from));
        }
        _ => {}
    }
    put("seed", m.seed().map(Value::from));
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
            serde_json::json!({"epoch": 1, "step": 20, "train_loss": 0.5, "train_accuracy": 0.7,
             "val_accuracy": 0.7, "val_loss": 0.5, "val_macro_f1": 0.7}),
        );
        o.insert("val_accuracy_at_min_val_loss".into(), 0.7.into());
        o.insert(
            "model".into(),
            serde_json::json!({"kind": "bert", "source": "models/minilm", "layers": 6,
            "max_len": 128, "device": "cpu", "train_config": {"epochs": 2, "batch_size": 32,
            "eval_batch_size": 64, "lr": 2e-5, "adamw": {"beta1": 0.9, "beta2": 0.999,
            "eps": 1e-8, "weight_decay": 0.05}, "warmup_ratio": 0.1, "grad_clip": 1.0,
            "grad_accum": 1, "seed": 42, "padding": "dynamic", "bucketed": false,
            "eval_every_steps": 50, "checkpoint_every_steps": null,
            "early_stopping": {"monitor": "val_loss", "patience": 3, "min_delta": 0.0},
            "class_weights": null}}),
        );
        o.insert(
            "data".into(),
            serde_json::json!({"labels": ["neg", "pos"], "seed": 42,
            "train": {"rows": 320}, "valid": {"rows": 40}, "test": {"rows": 4},
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
        // Settings the trainer records away from their key are found where it puts them.
        assert_eq!(r.param_f64("weight_decay"), Some(0.05));
        assert_eq!(r.param_f64("patience"), Some(3.0));
        assert_eq!(r.param_f64("eval_every"), Some(50.0));
        assert_eq!(r.params.get("no_bucketing"), Some(&Value::from(true)));
        assert_eq!(r.param_text("monitor").as_deref(), Some("val_loss"));
        assert_eq!(r.param_text("device").as_deref(), Some("cpu"));
        assert_eq!(r.params.get("checkpoint_every"), None);
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
                {"id": "lr", "index": 0, "model": "tfidf-lr", "family": "linear", "params": {"model": "lr"}, "args": []},
                {"id": "svm", "index": 1, "model": "tfidf-svm", "family": "linear", "params": {"model": "svm"}, "args": []},
                {"id": "nb", "index": 2, "model": "tfidf-nbsvm", "family": "linear", "params": {"model": "nbsvm"}, "args": []}]}),
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
        o.insert("model".into(), serde_json::json!({"kind": "tfidf-lr"}));
        o.insert(
            "data".into(),
            serde_json::json!({"labels": ["neg", "pos"], "train": {"rows": 400},
                               "test": {"rows": 4}, "seed": 1}),
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
