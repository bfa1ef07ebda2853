//! Writing an experiment's run record: metrics.json, the predictions files and the model.

use std::path::Path;
use std::time::Instant;

use textclf_core::{Classifier, Dataset};
use textclf_eval::{write_predictions, write_predictions_file, Metrics, Report, Timing};
use textclf_runs::{ClassCounts, RunBody, SplitInfo, ValidSummary};

use crate::error::{Result, Step};
use crate::evaluate::Evaluated;
use crate::observer::Observer;

/// Summary of a split for metrics.json.
pub fn split_info(d: &Dataset) -> SplitInfo {
    split_counts(&d.name, d.label_set.names(), &d.class_counts())
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

/// The validation summary metrics.json keeps (`valid`).
pub fn valid_summary(r: &Report) -> ValidSummary {
    ValidSummary {
        accuracy: r.accuracy,
        macro_f1: Some(r.macro_f1),
        log_loss: r.log_loss,
        n: r.n,
        split: None,
    }
}

/// Writes metrics.json (the test evaluation `ev`, `timing` and the command's sections
/// `run`) and predictions.csv into `out`.
pub fn write_run(
    out: &Path,
    model: &dyn Classifier,
    test: &Dataset,
    ev: &Evaluated,
    timing: &Timing,
    run: RunBody,
) -> Result<()> {
    std::fs::create_dir_all(out).step(format!("cannot create {}", out.display()))?;
    write_predictions(out, &test.ids, Some(&ev.gold), &ev.probs, model.labels())
        .step(format!("cannot write predictions into {}", out.display()))?;
    Metrics::new(ev.report.clone(), timing.clone(), run)
        .write(out)
        .step(format!("cannot write metrics into {}", out.display()))?;
    Ok(())
}

/// Writes `valid_predictions.csv` (the validation split's probabilities, which
/// `textclf ensemble` uses to weight members) into `out`.
pub fn write_valid_predictions(
    out: &Path,
    model: &dyn Classifier,
    valid: &Dataset,
    ev: &Evaluated,
) -> Result<()> {
    let path = out.join(textclf_eval::VALID_PREDICTIONS_FILE);
    write_predictions_file(&path, &valid.ids, Some(&ev.gold), &ev.probs, model.labels())
        .step(format!("cannot write {}", path.display()))
}

/// Saves `model` into `<out>/model` with its manifest, timing it as the `save` phase.
pub fn save_model(
    model: &dyn Classifier,
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
