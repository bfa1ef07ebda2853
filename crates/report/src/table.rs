//! The results table: one row per run of a [`RunSet`] (finished, failed or pending), in the
//! order the runs were planned, written as CSV (for pandas: one column per field, numbers
//! unformatted, empty cells where a value is missing) and as a JSON array of objects.
//!
//! The same rows feed the tables of the HTML and Markdown reports, together with the
//! small number-formatting helpers every renderer of this crate shares.

use std::path::Path;

use serde_json::{Map, Value};
use textclf_core::Task;

use crate::error::{ReportError, Result};
use crate::runs::{Family, RunSet, RunStatus, RunSummary};
use crate::select::Selection;
use crate::testsets::labels_by_run;

/// Settings that get a column whenever at least one run knows them, varied or not.
pub const ALWAYS_SHOWN: [&str; 4] = ["max_len", "lr", "train_fraction", "layers"];

/// Fixed columns before the settings.
const HEAD: [&str; 3] = ["id", "model", "family"];

/// Fixed columns after the settings, before the task's measures.
const STATUS: [&str; 4] = ["status", "error", "selected", "near_tie"];

/// The measures of single-label runs.
const SINGLE_LABEL: [&str; 11] = [
    "val_accuracy",
    "val_acc_at_min_val_loss",
    "val_macro_f1",
    "val_loss",
    "test_accuracy",
    "test_accuracy_ci_low",
    "test_accuracy_ci_high",
    "test_macro_f1",
    "test_macro_f1_ci_low",
    "test_macro_f1_ci_high",
    "test_mcc",
];

/// The measures of multi-label runs.
const MULTI_LABEL: [&str; 10] = [
    "val_micro_f1",
    "val_macro_f1",
    "val_loss",
    "test_micro_f1",
    "test_micro_f1_ci_low",
    "test_micro_f1_ci_high",
    "test_macro_f1",
    "test_macro_f1_ci_low",
    "test_macro_f1_ci_high",
    "test_subset_accuracy",
];

/// The measures of regression runs.
const REGRESSION: [&str; 7] = [
    "val_pearson",
    "val_loss",
    "test_pearson",
    "test_pearson_ci_low",
    "test_pearson_ci_high",
    "test_spearman",
    "test_mse",
];

/// Fixed columns after the measures.
const RUNTIME: [&str; 7] = [
    "best_epoch",
    "seconds_per_epoch",
    "train_seconds",
    "total_seconds",
    "samples_per_s",
    "val_n",
    "parameters",
];

/// The measure columns of `task`.
fn measures(task: Task) -> &'static [&'static str] {
    match task {
        Task::SingleLabel => &SINGLE_LABEL,
        Task::MultiLabel => &MULTI_LABEL,
        Task::Regression => &REGRESSION,
    }
}

/// One run as a row of the results table.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    pub id: String,
    pub model: String,
    pub family: Family,
    /// The test set the run was scored on, when the runs hold several (see
    /// [`crate::testsets`]); `None` with one test set, or for an unfinished run.
    pub test_set: Option<String>,
    /// The values of [`ResultsTable::settings`], in that order (`None`: not known).
    pub settings: Vec<Option<Value>>,
    pub status: RunStatus,
    /// The best run under the selection rule (of its test set, when there are several).
    pub selected: bool,
    /// Not distinguishable from the best run of its test set on validation (the best run
    /// itself excluded).
    pub near_tie: bool,
    pub val_accuracy: Option<f64>,
    pub val_acc_at_min_val_loss: Option<f64>,
    pub val_macro_f1: Option<f64>,
    pub val_micro_f1: Option<f64>,
    pub val_pearson: Option<f64>,
    pub val_loss: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Bootstrap interval `[low, high]` of the test accuracy.
    pub test_accuracy_ci: Option<[f64; 2]>,
    /// Single-label or multi-label macro F1.
    pub test_macro_f1: Option<f64>,
    pub test_macro_f1_ci: Option<[f64; 2]>,
    /// Single-label: Matthews correlation coefficient (from the confusion matrix).
    pub test_mcc: Option<f64>,
    pub test_micro_f1: Option<f64>,
    pub test_micro_f1_ci: Option<[f64; 2]>,
    pub test_subset_accuracy: Option<f64>,
    pub test_pearson: Option<f64>,
    pub test_pearson_ci: Option<[f64; 2]>,
    pub test_spearman: Option<f64>,
    pub test_mse: Option<f64>,
    pub best_epoch: Option<usize>,
    pub seconds_per_epoch: Option<f64>,
    pub train_seconds: Option<f64>,
    pub total_seconds: Option<f64>,
    pub samples_per_s: Option<f64>,
    pub val_n: Option<usize>,
    pub parameters: Option<u64>,
}

/// The rows of all runs plus the setting columns they share.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultsTable {
    /// The runs' task: it decides the measure columns.
    pub task: Task,
    /// Setting keys with a column: the sweep's varied keys, then [`ALWAYS_SHOWN`] ones
    /// some run knows (`model` is left out: the `model` column names it already).
    pub settings: Vec<String>,
    pub rows: Vec<ResultRow>,
    /// Whether the runs hold several test sets: then a `test_set` column follows
    /// `family`.
    pub several_test_sets: bool,
}

impl ResultsTable {
    /// Builds the table of `set`, marking the best run and the near ties of `selection`.
    pub fn new(set: &RunSet, selection: Option<&Selection>) -> ResultsTable {
        let settings = setting_keys(set);
        let test_sets = labels_by_run(&set.runs);
        let rows = set
            .runs
            .iter()
            .map(|r| {
                let mut row = row(r, &settings, selection);
                row.test_set = test_sets
                    .iter()
                    .flatten()
                    .find(|(id, _)| *id == r.id)
                    .map(|(_, label)| label.clone());
                row
            })
            .collect();
        ResultsTable {
            task: set.task(),
            settings,
            rows,
            several_test_sets: test_sets.is_some(),
        }
    }

    /// Column names in order, as the CSV header and the JSON keys use them. A setting
    /// whose key clashes with a fixed column is named `param_<key>`.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = HEAD.iter().map(|s| s.to_string()).collect();
        if self.several_test_sets {
            cols.push("test_set".into());
        }
        cols.extend(self.settings.iter().map(|k| setting_column(k)));
        cols.extend(
            STATUS
                .iter()
                .chain(measures(self.task))
                .chain(&RUNTIME)
                .map(|s| s.to_string()),
        );
        cols
    }

    /// The row of the selected best run, if any.
    pub fn selected(&self) -> Option<&ResultRow> {
        self.rows.iter().find(|r| r.selected)
    }

    /// Every row as JSON values, one per column of [`ResultsTable::columns`].
    pub fn values(&self) -> Vec<Vec<Value>> {
        self.rows
            .iter()
            .map(|r| {
                let mut v = row_values(r, self.task);
                if self.several_test_sets {
                    let t = r.test_set.clone().map_or(Value::Null, Value::String);
                    v.insert(HEAD.len(), t);
                }
                v
            })
            .collect()
    }

    /// The table as CSV text: a header and one line per run.
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let bad = |e: csv::Error| ReportError::Invalid(format!("cannot write CSV: {e}"));
        w.write_record(self.columns()).map_err(bad)?;
        for values in self.values() {
            w.write_record(values.iter().map(csv_cell)).map_err(bad)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ReportError::Invalid(format!("cannot write CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| ReportError::Invalid(e.to_string()))
    }

    /// The table as a JSON array with one object per run (missing values are `null`).
    pub fn to_json(&self) -> Value {
        let cols = self.columns();
        Value::Array(
            self.values()
                .into_iter()
                .map(|values| {
                    let map: Map<String, Value> = cols.iter().cloned().zip(values).collect();
                    Value::Object(map)
                })
                .collect(),
        )
    }
}

/// Columns of the results table as people read it (HTML and Markdown reports).
impl ResultsTable {
    /// Column headers of [`ResultsTable::display_row`]; the first is the marker column.
    pub fn display_header(&self) -> Vec<String> {
        let mut h: Vec<String> = ["", "run", "model", "family"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if self.several_test_sets {
            h.push("test set".into());
        }
        h.extend(self.settings.iter().cloned());
        h.push("status".into());
        h.extend(self.display_measures().iter().map(|s| s.to_string()));
        h.extend(
            ["best epoch", "s / epoch", "total time", "samples / s"]
                .iter()
                .map(|s| s.to_string()),
        );
        h
    }

    /// The headers of the task's measures in the display table.
    fn display_measures(&self) -> &'static [&'static str] {
        match self.task {
            Task::SingleLabel => &[
                "val acc",
                "val acc @ min loss",
                "val macro F1",
                "test acc (95 % CI)",
                "test macro F1",
                "test MCC",
            ],
            Task::MultiLabel => &[
                "val micro F1",
                "val macro F1",
                "test micro F1 (95 % CI)",
                "test macro F1",
                "test subset acc",
            ],
            Task::Regression => &[
                "val Pearson",
                "val loss",
                "test Pearson (95 % CI)",
                "test Spearman",
                "test MSE",
            ],
        }
    }

    /// Whether each display column holds numbers (right-aligned).
    pub fn display_numeric(&self) -> Vec<bool> {
        let mut v = vec![false; if self.several_test_sets { 5 } else { 4 }];
        v.extend((0..self.settings.len()).map(|i| {
            self.rows
                .iter()
                .all(|r| r.settings[i].as_ref().is_none_or(Value::is_number))
        }));
        v.push(false);
        v.extend(std::iter::repeat_n(true, self.display_measures().len() + 4));
        v
    }

    /// One row as text (not escaped): marker (`★` best, `≈` near tie), id, model, family,
    /// settings, status and the formatted numbers; `–` where a value is missing.
    pub fn display_row(&self, r: &ResultRow) -> Vec<String> {
        let marker = if r.selected {
            "★"
        } else if r.near_tie {
            "≈"
        } else {
            ""
        };
        let mut v = vec![
            marker.to_string(),
            r.id.clone(),
            r.model.clone(),
            family_name(r.family).to_string(),
        ];
        if self.several_test_sets {
            v.push(r.test_set.clone().unwrap_or_else(|| "–".into()));
        }
        v.extend(
            self.settings
                .iter()
                .zip(&r.settings)
                .map(|(k, s)| s.as_ref().map_or("–".into(), |s| fmt_setting(k, s))),
        );
        let with_ci = |x: Option<f64>, ci: Option<[f64; 2]>| match (x, ci) {
            (Some(a), Some(ci)) => format!("{a:.3} ({})", fmt_interval(ci)),
            (a, _) => fmt_share(a),
        };
        v.push(status_name(&r.status).to_string());
        match self.task {
            Task::SingleLabel => v.extend([
                fmt_share(r.val_accuracy),
                fmt_share(r.val_acc_at_min_val_loss),
                fmt_share(r.val_macro_f1),
                with_ci(r.test_accuracy, r.test_accuracy_ci),
                fmt_share(r.test_macro_f1),
                fmt_share(r.test_mcc),
            ]),
            Task::MultiLabel => v.extend([
                fmt_share(r.val_micro_f1),
                fmt_share(r.val_macro_f1),
                with_ci(r.test_micro_f1, r.test_micro_f1_ci),
                fmt_share(r.test_macro_f1),
                fmt_share(r.test_subset_accuracy),
            ]),
            Task::Regression => v.extend([
                fmt_share(r.val_pearson),
                fmt_loss(r.val_loss),
                with_ci(r.test_pearson, r.test_pearson_ci),
                fmt_share(r.test_spearman),
                fmt_loss(r.test_mse),
            ]),
        }
        v.extend([
            r.best_epoch.map_or("–".into(), |e| e.to_string()),
            fmt_seconds(r.seconds_per_epoch),
            fmt_seconds(r.total_seconds),
            fmt_rate(r.samples_per_s),
        ]);
        v
    }
}

/// The setting keys of `set` that get a column (see [`ResultsTable::settings`]).
pub fn setting_keys(set: &RunSet) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let known = |k: &str| set.runs.iter().any(|r| r.params.contains_key(k));
    for k in set.varied.iter().map(String::as_str).chain(ALWAYS_SHOWN) {
        if k != "model" && !keys.iter().any(|x| x == k) && known(k) {
            keys.push(k.to_string());
        }
    }
    keys
}

fn setting_column(key: &str) -> String {
    let fixed = HEAD
        .iter()
        .chain(&STATUS)
        .chain(&SINGLE_LABEL)
        .chain(&MULTI_LABEL)
        .chain(&REGRESSION)
        .chain(&RUNTIME);
    if fixed.into_iter().any(|c| *c == key) {
        format!("param_{key}")
    } else {
        key.to_string()
    }
}

fn row(r: &RunSummary, settings: &[String], selection: Option<&Selection>) -> ResultRow {
    let selected = selection.is_some_and(|s| s.is_best(&r.id));
    let near_tie = !selected && selection.is_some_and(|s| s.is_near_tie(&r.id));
    let ml = r.test.as_ref().and_then(|t| t.multi_label());
    let rg = r.test.as_ref().and_then(|t| t.regression());
    ResultRow {
        id: r.id.clone(),
        model: r.model.clone(),
        family: r.family,
        test_set: None,
        settings: settings
            .iter()
            .map(|k| r.params.get(k).filter(|v| !v.is_null()).cloned())
            .collect(),
        status: r.status.clone(),
        selected,
        near_tie,
        val_accuracy: r.val_accuracy,
        val_acc_at_min_val_loss: r.val_acc_at_min_val_loss,
        val_macro_f1: r.val_macro_f1,
        val_micro_f1: r.val_micro_f1,
        val_pearson: r.val_pearson,
        val_loss: r.val_loss,
        test_accuracy: r.test_accuracy(),
        test_accuracy_ci: r.single().map(|t| t.ci.accuracy),
        test_macro_f1: r.test_macro_f1().or(ml.map(|t| t.macro_avg.f1)),
        test_macro_f1_ci: r
            .single()
            .map(|t| t.ci.macro_f1)
            .or(ml.map(|t| t.ci.macro_f1)),
        test_mcc: r.single().and_then(|t| t.mcc_summary()).map(|m| m.mcc),
        test_micro_f1: ml.map(|t| t.micro.f1),
        test_micro_f1_ci: ml.map(|t| t.ci.micro_f1),
        test_subset_accuracy: ml.map(|t| t.subset_accuracy),
        test_pearson: rg.and_then(|t| t.pearson),
        test_pearson_ci: rg.and_then(|t| t.ci.pearson),
        test_spearman: rg.and_then(|t| t.spearman),
        test_mse: rg.map(|t| t.mse),
        best_epoch: r.best_epoch,
        seconds_per_epoch: r.seconds_per_epoch,
        train_seconds: r.train_seconds,
        total_seconds: r.total_seconds,
        samples_per_s: r.samples_per_s,
        val_n: r.val_n,
        parameters: r.parameters,
    }
}

/// `"done"`, `"failed"` or `"pending"`.
pub fn status_name(s: &RunStatus) -> &'static str {
    match s {
        RunStatus::Done => "done",
        RunStatus::Failed { .. } => "failed",
        RunStatus::Pending => "pending",
    }
}

/// `"transformer"` or `"linear"`.
pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::Transformer => "transformer",
        Family::Linear => "linear",
    }
}

fn num(x: Option<f64>) -> Value {
    x.filter(|x| x.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn row_values(r: &ResultRow, task: Task) -> Vec<Value> {
    let error = match &r.status {
        RunStatus::Failed { error } => Value::String(error.clone()),
        _ => Value::Null,
    };
    let ci = |c: Option<[f64; 2]>, i: usize| num(c.map(|c| c[i]));
    let mut v = vec![
        Value::String(r.id.clone()),
        Value::String(r.model.clone()),
        Value::String(family_name(r.family).into()),
    ];
    v.extend(r.settings.iter().map(|s| s.clone().unwrap_or(Value::Null)));
    v.extend([
        Value::String(status_name(&r.status).into()),
        error,
        Value::Bool(r.selected),
        Value::Bool(r.near_tie),
    ]);
    match task {
        Task::SingleLabel => v.extend([
            num(r.val_accuracy),
            num(r.val_acc_at_min_val_loss),
            num(r.val_macro_f1),
            num(r.val_loss),
            num(r.test_accuracy),
            ci(r.test_accuracy_ci, 0),
            ci(r.test_accuracy_ci, 1),
            num(r.test_macro_f1),
            ci(r.test_macro_f1_ci, 0),
            ci(r.test_macro_f1_ci, 1),
            num(r.test_mcc),
        ]),
        Task::MultiLabel => v.extend([
            num(r.val_micro_f1),
            num(r.val_macro_f1),
            num(r.val_loss),
            num(r.test_micro_f1),
            ci(r.test_micro_f1_ci, 0),
            ci(r.test_micro_f1_ci, 1),
            num(r.test_macro_f1),
            ci(r.test_macro_f1_ci, 0),
            ci(r.test_macro_f1_ci, 1),
            num(r.test_subset_accuracy),
        ]),
        Task::Regression => v.extend([
            num(r.val_pearson),
            num(r.val_loss),
            num(r.test_pearson),
            ci(r.test_pearson_ci, 0),
            ci(r.test_pearson_ci, 1),
            num(r.test_spearman),
            num(r.test_mse),
        ]),
    }
    v.extend([
        r.best_epoch.map_or(Value::Null, Value::from),
        num(r.seconds_per_epoch),
        num(r.train_seconds),
        num(r.total_seconds),
        num(r.samples_per_s),
        r.val_n.map_or(Value::Null, Value::from),
        r.parameters.map_or(Value::Null, Value::from),
    ]);
    debug_assert_eq!(
        v.len(),
        HEAD.len() + r.settings.len() + STATUS.len() + measures(task).len() + RUNTIME.len()
    );
    v
}

fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes the table as CSV to `path` (atomically).
pub fn write_csv(path: &Path, table: &ResultsTable) -> Result<()> {
    write_atomic(path, table.to_csv()?.as_bytes())
}

/// Writes the table as a JSON array of objects to `path` (atomically).
pub fn write_json(path: &Path, table: &ResultsTable) -> Result<()> {
    let mut text = serde_json::to_string_pretty(&table.to_json())
        .map_err(|e| ReportError::Invalid(format!("cannot write JSON: {e}")))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Writes `bytes` atomically (one implementation for every run file:
/// [`textclf_runs::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    textclf_runs::write_atomic(path, bytes).map_err(|e| match e {
        textclf_runs::RunsError::Io { path, source } => ReportError::io(path, source),
        other => ReportError::Invalid(other.to_string()),
    })
}

// ---------------------------------------------------------------------------------------
// Number formatting shared by the renderers.

/// A share such as an accuracy with three decimals (`0.912`), `–` when missing.
pub fn fmt_share(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:.3}"),
        _ => "–".into(),
    }
}

/// A loss or squared error with four significant digits, `–` when missing.
pub fn fmt_loss(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => fmt_number(x),
        _ => "–".into(),
    }
}

/// `[low, high]` as `0.905–0.919`.
pub fn fmt_interval(ci: [f64; 2]) -> String {
    format!("{:.3}–{:.3}", ci[0], ci[1])
}

/// A number in scientific notation with at most three significant digits: `2e-5`,
/// `1.5e-4`, `3e2`.
pub fn fmt_sci(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mut e = x.abs().log10().floor() as i32;
    let mut m = x / 10f64.powi(e);
    m = (m * 100.0).round() / 100.0;
    if m.abs() >= 10.0 {
        m /= 10.0;
        e += 1;
    }
    let ms = trim_zeros(&format!("{m:.2}"));
    format!("{ms}e{e}")
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// A plain number for people: integers as such, others with up to four significant
/// decimals, tiny ones (below 0.001) in scientific notation.
pub fn fmt_number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == x.round() && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    if x.abs() < 1e-3 {
        return fmt_sci(x);
    }
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    trim_zeros(&format!("{x:.decimals$}"))
}

/// A setting's value for people: learning rates in scientific notation (`2e-5`), other
/// numbers via [`fmt_number`], strings as they are.
pub fn fmt_setting(key: &str, v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if key == "lr" || key.ends_with("_lr") || key == "learning_rate" => fmt_sci(x),
            Some(x) => fmt_number(x),
            None => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

/// Seconds for people: `0.8 s`, `42 s`, `12.5 min`, `2.1 h`.
pub fn fmt_seconds(x: Option<f64>) -> String {
    match x {
        Some(s) if s.is_finite() && s < 10.0 => format!("{s:.1} s"),
        Some(s) if s.is_finite() && s < 600.0 => format!("{s:.0} s"),
        Some(s) if s.is_finite() && s < 3.0 * 3600.0 => format!("{:.1} min", s / 60.0),
        Some(s) if s.is_finite() => format!("{:.1} h", s / 3600.0),
        _ => "–".into(),
    }
}

/// A rate such as samples per second: no decimals from 100 on, one below.
pub fn fmt_rate(x: Option<f64>) -> String {
    match x {
        Some(r) if r.is_finite() && r >= 100.0 => format!("{r:.0}"),
        Some(r) if r.is_finite() => format!("{r:.1}"),
        _ => "–".into(),
    }
}

/// A p-value: `0.031`, `< 0.001`.
pub fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A run set built in memory, shared by the tests of the renderers.

    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde_json::{json, Value};
    use textclf_eval::{ClassMetrics, ConfidenceIntervals, Confusion, Report};

    use crate::runs::{EpochPoint, Family, RunSet, RunStatus, RunSummary};
    use crate::select::{Rule, Selection};

    pub fn report(acc: f64, labels: &[&str]) -> Report {
        let k = labels.len();
        let per = 100u64;
        let right = (acc * per as f64).round() as u64;
        let counts: Vec<Vec<u64>> = (0..k)
            .map(|i| {
                (0..k)
                    .map(|j| {
                        if i == j {
                            right
                        } else if j == (i + 1) % k {
                            per - right
                        } else {
                            0
                        }
                    })
                    .collect()
            })
            .collect();
        let row_normalized = counts
            .iter()
            .map(|r| r.iter().map(|&c| c as f64 / per as f64).collect())
            .collect();
        Report {
            n: per as usize * k,
            accuracy: acc,
            macro_f1: acc - 0.01,
            weighted_f1: acc - 0.01,
            binary_f1: None,
            log_loss: 0.4,
            per_class: labels
                .iter()
                .enumerate()
                .map(|(i, l)| ClassMetrics {
                    label: l.to_string(),
                    precision: acc,
                    recall: acc,
                    f1: acc - 0.02 * i as f64,
                    support: per,
                    predicted: per,
                })
                .collect(),
            confusion: Confusion {
                labels: labels.iter().map(|s| s.to_string()).collect(),
                counts,
                row_normalized,
            },
            top_confusions: vec![],
            mcc: None,
            ci: ConfidenceIntervals {
                level: 0.95,
                resamples: 1000,
                accuracy: [acc - 0.02, acc + 0.02],
                macro_f1: [acc - 0.03, acc + 0.01],
                mcc: None,
            },
        }
    }

    fn base(id: &str, family: Family, model: &str, params: Value) -> RunSummary {
        let params: BTreeMap<String, Value> = params
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        RunSummary {
            id: id.into(),
            dir: PathBuf::from("/nonexistent").join(id),
            status: RunStatus::Done,
            family,
            model: model.into(),
            params,
            varied: vec!["max_len".into(), "lr".into(), "model".into()],
            labels: vec![],
            test: None,
            val_accuracy: None,
            val_macro_f1: None,
            val_micro_f1: None,
            val_pearson: None,
            val_loss: None,
            val_n: None,
            val_acc_at_min_val_loss: None,
            epochs: vec![],
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

    /// A transformer run whose validation accuracy at minimum loss is `acc`.
    pub fn transformer(id: &str, max_len: u64, lr: f64, acc: f64, labels: &[&str]) -> RunSummary {
        let mut r = base(
            id,
            Family::Transformer,
            "minilm",
            json!({"model": "minilm", "layers": 6, "max_len": max_len, "lr": lr,
                   "batch_size": 32, "epochs": 3, "seed": 42}),
        );
        let secs_per_epoch = max_len as f64 * 0.5;
        r.epochs = (1..=3)
            .map(|e| EpochPoint {
                epoch: e,
                step: 100 * e as u64,
                epoch_end: true,
                train_loss: 0.7 / e as f64,
                train_accuracy: 0.7 + 0.05 * e as f64,
                val_loss: 0.45 + 0.03 * (e as f64 - 2.0).powi(2),
                val_accuracy: acc - 0.01 * (e as f64 - 2.0).abs(),
                val_macro_f1: acc - 0.01,
                val_micro_f1: None,
                val_pearson: None,
                train_seconds: secs_per_epoch * e as f64,
                samples_per_s: 3200.0 / secs_per_epoch,
                lr: 0.0,
                tokens_per_s: 0.0,
                padding_waste: 0.0,
            })
            .collect();
        r.labels = labels.iter().map(|s| s.to_string()).collect();
        r.val_accuracy = Some(acc);
        r.val_acc_at_min_val_loss = Some(acc);
        r.val_macro_f1 = Some(acc - 0.01);
        r.val_loss = Some(0.45);
        r.val_n = Some(872);
        r.best_epoch = Some(2);
        r.test = Some(report(acc - 0.005, labels).into());
        r.seconds_per_epoch = Some(secs_per_epoch);
        r.train_seconds = Some(secs_per_epoch * 3.0);
        r.total_seconds = Some(secs_per_epoch * 3.0 + 5.0);
        r.samples_per_s = Some(3200.0 / secs_per_epoch);
        r.parameters = Some(22_700_000);
        r
    }

    /// Transformer runs on a 2 × 3 grid of max_len × lr, a linear baseline, one failed
    /// run whose id needs escaping and one pending run.
    pub fn run_set() -> RunSet {
        let labels = ["neg", "pos"];
        let mut runs = Vec::new();
        let accs = [[0.861, 0.874, 0.869], [0.872, 0.889, 0.880]];
        for (i, len) in [64u64, 128].into_iter().enumerate() {
            for (j, lr) in [2e-5, 5e-5, 1e-4].into_iter().enumerate() {
                runs.push(transformer(
                    &format!("minilm-len{len}-lr{}", crate::table::fmt_sci(lr)),
                    len,
                    lr,
                    accs[i][j],
                    &labels,
                ));
            }
        }
        let mut lin = base(
            "tfidf-nbsvm",
            Family::Linear,
            "tfidf-nbsvm",
            json!({"model": "nbsvm", "C": 1.0, "seed": 42}),
        );
        lin.labels = labels.iter().map(|s| s.to_string()).collect();
        lin.val_accuracy = Some(0.842);
        lin.val_acc_at_min_val_loss = Some(0.842);
        lin.val_macro_f1 = Some(0.840);
        lin.val_loss = Some(0.38);
        lin.val_n = Some(872);
        lin.test = Some(report(0.838, &labels).into());
        lin.train_seconds = Some(1.5);
        lin.total_seconds = Some(2.25);
        lin.samples_per_s = Some(45000.0);
        runs.push(lin);
        let mut failed = base(
            "bad<b>&run",
            Family::Transformer,
            "minilm",
            json!({"model": "minilm", "max_len": 256, "lr": 1e-4}),
        );
        failed.status = RunStatus::Failed {
            error: "out of memory <alloc> & gave up".into(),
        };
        runs.push(failed);
        let mut pending = base(
            "minilm-len256-lr2e-5",
            Family::Transformer,
            "minilm",
            json!({"model": "minilm", "max_len": 256, "lr": 2e-5}),
        );
        pending.status = RunStatus::Pending;
        runs.push(pending);
        RunSet {
            dir: PathBuf::from("/tmp/sweeps/demo"),
            sweep: Some("demo sweep".into()),
            selection: Some("val_acc_at_min_val_loss".into()),
            varied: vec!["model".into(), "max_len".into(), "lr".into()],
            runs,
        }
    }

    /// A selection over [`run_set`] as `select` would make it (without test files).
    pub fn selection(set: &RunSet) -> Selection {
        let mut s = crate::select::select(&set.runs, Rule::ValAccAtMinValLoss).unwrap();
        // Give the near ties the test evidence that needs prediction files on disk.
        for r in s.ranking.iter_mut().skip(1) {
            r.test_diff = Some(-0.004);
            r.mcnemar_p = Some(0.41);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_one_row_per_run_with_raw_numbers() {
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        let table = ResultsTable::new(&set, Some(&sel));
        assert_eq!(table.settings, vec!["max_len", "lr", "layers"]);
        let csv = table.to_csv().unwrap();
        let mut rd = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, table.columns());
        let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), set.runs.len());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        // Plan order is kept.
        for (r, run) in rows.iter().zip(&set.runs) {
            assert_eq!(&r[col("id")], run.id);
        }
        let best = &rows[4];
        assert_eq!(&best[col("id")], "minilm-len128-lr5e-5");
        assert_eq!(&best[col("selected")], "true");
        assert_eq!(&best[col("max_len")], "128");
        assert_eq!(best[col("lr")].parse::<f64>().unwrap(), 5e-5);
        assert_eq!(&best[col("val_acc_at_min_val_loss")], "0.889");
        let test_acc: f64 = best[col("test_accuracy")].parse().unwrap();
        assert!((test_acc - 0.884).abs() < 1e-12);
        assert_eq!(&best[col("status")], "done");
        // 0.880 is within 1.96·sqrt(.889·.111/872) ≈ 0.021 of 0.889; 0.861 is not.
        assert_eq!(&rows[5][col("near_tie")], "true");
        assert_eq!(&rows[0][col("near_tie")], "false");
        // The linear run has no epochs, no max_len: empty cells, not "null" or "–".
        let lin = &rows[6];
        assert_eq!(&lin[col("family")], "linear");
        assert_eq!(&lin[col("max_len")], "");
        assert_eq!(&lin[col("best_epoch")], "");
        assert_eq!(&lin[col("seconds_per_epoch")], "");
        let failed = &rows[7];
        assert_eq!(&failed[col("status")], "failed");
        assert_eq!(&failed[col("error")], "out of memory <alloc> & gave up");
        assert_eq!(&failed[col("test_accuracy")], "");
        assert_eq!(&rows[8][col("status")], "pending");
    }

    #[test]
    fn json_is_an_array_of_objects_with_nulls_for_missing_values() {
        let set = fixture::run_set();
        let table = ResultsTable::new(&set, None);
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("sub").join("results.json");
        write_json(&path, &table).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), set.runs.len());
        assert_eq!(a[0]["lr"], Value::from(2e-5));
        let low = a[0]["test_accuracy_ci_low"].as_f64().unwrap();
        assert!((low - 0.836).abs() < 1e-12);
        assert_eq!(a[6]["max_len"], Value::Null);
        assert_eq!(a[8]["status"], "pending");
        assert!(a.iter().all(|o| o["selected"] == false));
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn a_setting_named_like_a_fixed_column_is_prefixed() {
        let mut set = fixture::run_set();
        set.varied.push("status".into());
        set.runs[0].params.insert("status".into(), Value::from("x"));
        let table = ResultsTable::new(&set, None);
        let cols = table.columns();
        assert!(cols.contains(&"param_status".to_string()));
        assert_eq!(cols.iter().filter(|c| *c == "status").count(), 1);
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(fmt_sci(2e-5), "2e-5");
        assert_eq!(fmt_sci(1.5e-4), "1.5e-4");
        assert_eq!(fmt_sci(0.000099999), "1e-4");
        assert_eq!(fmt_setting("lr", &Value::from(3e-4)), "3e-4");
        assert_eq!(fmt_setting("max_len", &Value::from(128)), "128");
        assert_eq!(fmt_setting("train_fraction", &Value::from(0.25)), "0.25");
        assert_eq!(fmt_number(1234.5678), "1235");
        assert_eq!(fmt_number(0.123456), "0.1235");
        assert_eq!(fmt_seconds(Some(95.0)), "95 s");
        assert_eq!(fmt_seconds(Some(1500.0)), "25.0 min");
        assert_eq!(fmt_p(0.0001), "< 0.001");
    }
}
