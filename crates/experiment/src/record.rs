//! Writing an experiment's run record: metrics.json, the predictions files (in the form
//! of the task) and the model.

use std::path::Path;
use std::time::Instant;

use textclf_core::{Dataset, LabelSet, Model, Outputs, Targets};
use textclf_eval::{
    write_multilabel_predictions, write_predictions_file, write_regression_predictions,
    ShapedMetrics, Timing, PREDICTIONS_FILE, VALID_PREDICTIONS_FILE,
};
use textclf_runs::{ClassCounts, RunBody, SplitInfo};

use crate::error::{Result, Step};
use crate::evaluate::Evaluated;
use crate::observer::Observer;

/// Summary of a split for metrics.json: its rows, and rows per class (single-label) or
/// per label (multi-label; a row counts for each of its labels). Regression has no
/// classes: no `per_class`.
pub fn split_info(d: &Dataset) -> SplitInfo {
    let counts = d.class_counts();
    let mut info = split_counts(&d.name, d.label_set.names(), &counts);
    info.rows = d.len();
    if counts.is_empty() {
        info.per_class = None;
    }
    info
}

/// A split named `name` with `counts` rows per class (in the order of `labels`).
pub fn split_counts(name: &str, labels: &[String], counts: &[usize]) -> SplitInfo {
    SplitInfo {
        name: Some(name.to_string()),
        rows: counts.iter().sum(),
        per_class: Some(ClassCounts(
            labels
                .iter()
                .zip(counts)
                .map(|(n, &c)| (n.clone(), c as u64))
                .collect(),
        )),
    }
}

/// Writes a predictions file of `ev` (rows `ids`) to `path`, in the form of its task:
/// class probabilities, label sets with per-label scores, or values.
pub fn write_predictions_of(
    path: &Path,
    ids: &[String],
    ev: &Evaluated,
    labels: &LabelSet,
) -> Result<()> {
    write_outputs(path, ids, Some(&ev.gold), &ev.outputs, labels)
}

/// Writes a predictions file of `outputs` (with `gold` when known) to `path`.
pub fn write_outputs(
    path: &Path,
    ids: &[String],
    gold: Option<&Targets>,
    outputs: &Outputs,
    labels: &LabelSet,
) -> Result<()> {
    let r = match outputs {
        Outputs::Classes(p) => {
            write_predictions_file(path, ids, gold.and_then(Targets::classes), p, labels)
        }
        Outputs::LabelSets { scores, predicted } => write_multilabel_predictions(
            path,
            ids,
            gold.and_then(Targets::label_sets),
            predicted,
            scores,
            labels,
        ),
        Outputs::Values(v) => {
            write_regression_predictions(path, ids, gold.and_then(Targets::scores), v)
        }
    };
    r.step(format!("cannot write {}", path.display()))
}

/// Writes metrics.json (the test evaluation `ev`, `timing` and the command's sections
/// `run`) and predictions.csv into `out`.
pub fn write_run(
    out: &Path,
    labels: &LabelSet,
    test: &Dataset,
    ev: &Evaluated,
    timing: &Timing,
    run: RunBody,
) -> Result<()> {
    std::fs::create_dir_all(out).step(format!("cannot create {}", out.display()))?;
    write_predictions_of(&out.join(PREDICTIONS_FILE), &test.ids, ev, labels)?;
    ShapedMetrics::new(ev.report.clone(), timing.clone(), run)
        .write(out)
        .step(format!("cannot write metrics into {}", out.display()))?;
    Ok(())
}

/// Writes `valid_predictions.csv` (the validation split's predictions, which
/// `textclf ensemble` uses to weight members) into `out`.
pub fn write_valid_predictions(
    out: &Path,
    labels: &LabelSet,
    valid: &Dataset,
    ev: &Evaluated,
) -> Result<()> {
    write_predictions_of(&out.join(VALID_PREDICTIONS_FILE), &valid.ids, ev, labels)
}

/// Saves `model` into `<out>/model` with its manifest, timing it as the `save` phase.
pub fn save_model(
    model: &dyn Model,
    out: &Path,
    timing: &mut Timing,
    obs: &dyn Observer,
) -> Result<()> {
    obs.phase("saving model");
    let t = Instant::now();
    let dir = out.join("model");
    model
        .save(&dir)
        .step(format!("cannot save the model into {}", dir.display()))?;
    textclf_runs::honour_umask(&dir)?;
    textclf_runs::write_manifest(&dir, None)?;
    timing.add("save", t.elapsed().as_secs_f64());
    obs.finish();
    Ok(())
}
