//! Ensembles of finished runs of one task (any mix of transformers and linear
//! baselines): an [`EnsembleSpec`] says which runs and how to weight them; [`run_ensemble`]
//! reads the runs and aligns their rows ([`members`]), chooses the weights ([`select`]),
//! averages and evaluates in the form of the task ([`average`], [`thresholds`]) and
//! writes the run record (`metrics.json` as `ShapedMetrics`, the predictions files) with
//! the experiment's writers.
//!
//! Runs of different tasks, labels or rows are refused, saying what differs.

mod average;
mod members;
mod select;
mod spec;
mod thresholds;

use std::path::Path;
use std::time::Instant;

use textclf_core::LabelSet;
use textclf_eval::{
    EvalOptions, ShapedMetrics, Timing, METRICS_FILE, PREDICTIONS_FILE, VALID_PREDICTIONS_FILE,
};
use textclf_runs::{
    EnsembleData, EnsembleMember, EnsembleModel, EnsembleRun, EnsembleThresholds, RunBody,
    SplitInfo,
};

pub use spec::{EnsembleSpec, EnsembleWeights};

use crate::error::{ExperimentError, Result, Step};
use crate::evaluate::valid_summary;
use crate::finished::Finished;
use crate::observer::Observer;
use crate::record::write_outputs;
use average::Ensemble;
use members::{headline, read_runs, test_members, valid_members};
use select::choose_weights;

/// Runs the ensemble `spec`, writing its record into `out` (the working folder); `target`
/// is where the run lands when complete, for the closing message.
pub fn run_ensemble(
    spec: &EnsembleSpec,
    out: &Path,
    target: &Path,
    obs: &dyn Observer,
) -> Result<Finished> {
    if spec.runs.len() < 2 {
        return Err(ExperimentError::Invalid(format!(
            "an ensemble needs two or more runs, got {}; name the run folders to combine",
            spec.runs.len()
        )));
    }
    let started = Instant::now();
    let mut timing = Timing::new();
    obs.phase("reading runs");
    let runs = read_runs(&spec.runs)?;
    let task = runs[0].task();
    let labels = LabelSet::new(runs[0].labels.clone())?;
    let test = test_members(task, &runs, &labels)?;
    let valid = valid_members(task, &runs, &labels)?;
    timing.add("read", started.elapsed().as_secs_f64());
    obs.finish();

    let m = runs.len();
    let (weights, how) = choose_weights(&spec.weights, m, task, valid.as_deref(), &labels)?;
    let t = Instant::now();
    let opts = EvalOptions {
        bootstrap: spec.eval.bootstrap,
        seed: spec.seed,
        ..EvalOptions::default()
    };
    let ens = Ensemble {
        runs: &runs,
        test: &test,
        valid: valid.as_deref(),
        weights: &weights,
        labels: &labels,
        opts: &opts,
    };
    let avg = ens.average(task)?;
    std::fs::create_dir_all(out).step(format!("cannot create {}", out.display()))?;
    if let (Some(s), Some(v)) = (&avg.valid, &valid) {
        let path = out.join(VALID_PREDICTIONS_FILE);
        write_outputs(&path, &v[0].ids, Some(&s.gold), &s.outputs, &labels)?;
    }
    let path = out.join(PREDICTIONS_FILE);
    write_outputs(
        &path,
        &test[0].ids,
        Some(&avg.test.gold),
        &avg.test.outputs,
        &labels,
    )?;
    timing.add("evaluate_test", t.elapsed().as_secs_f64());

    let members: Vec<EnsembleMember> = runs
        .iter()
        .zip(&weights)
        .map(|(r, &w)| {
            let (metric, score) = headline(r);
            EnsembleMember {
                run: r.dir.display().to_string(),
                kind: Some(r.metrics.model_kind().to_string()),
                weight: w,
                test_accuracy: r.metrics.test.single().map(|t| t.accuracy),
                test_metric: Some(metric.to_string()),
                test_score: score,
            }
        })
        .collect();
    let run = RunBody::Ensemble(EnsembleRun {
        model: EnsembleModel {
            kind: "ensemble".into(),
            weights: how.clone(),
            members,
            thresholds: avg
                .thresholds
                .as_ref()
                .map(|(t, chosen)| EnsembleThresholds {
                    chosen: chosen.clone(),
                    labels: labels.names().to_vec(),
                    // f32 thresholds, written to the 6 decimals of the scores.
                    values: t
                        .values()
                        .iter()
                        .map(|&x| (f64::from(x) * 1e6).round() / 1e6)
                        .collect(),
                }),
        },
        valid: avg.valid.as_ref().map(|s| valid_summary(&s.report)),
        data: EnsembleData {
            labels: labels.names().to_vec(),
            test: SplitInfo {
                name: None,
                rows: test[0].ids.len(),
                per_class: None,
            },
        },
    });
    timing.add("total", started.elapsed().as_secs_f64());
    ShapedMetrics::new(avg.test.report.clone(), timing.clone(), run)
        .write(out)
        .step(format!(
            "cannot write {METRICS_FILE} into {}",
            out.display()
        ))?;

    let title = format!(
        "ensemble of {m} runs (weights {})",
        weights
            .iter()
            .map(|w| format!("{w:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let thresholds_line = avg
        .thresholds
        .as_ref()
        .map(|(_, chosen)| format!("\nthresholds: {chosen}"))
        .unwrap_or_default();
    let trailer = format!(
        "weights: {how}{thresholds_line}\nA = the best member ({}), B = the ensemble: {}\nwrote {}/metrics.json and predictions.csv",
        spec.runs[avg.best].display(),
        avg.verdict,
        target.display()
    );
    Ok(Finished {
        report: avg.test.report,
        thresholds: avg.thresholds.map(|(t, _)| t),
        title,
        timing,
        trailer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::EvalSpec;

    #[test]
    fn an_ensemble_of_fewer_than_two_runs_is_refused_before_reading_anything() {
        let t = tempfile::tempdir().unwrap();
        let spec = EnsembleSpec {
            format: EnsembleSpec::FORMAT,
            runs: vec![t.path().join("only")],
            weights: EnsembleWeights::Equal,
            eval: EvalSpec { bootstrap: 0 },
            seed: 42,
        };
        let out = t.path().join("out");
        let Err(e) = run_ensemble(&spec, &out, &out, &crate::Silent) else {
            panic!("one run was ensembled");
        };
        let e = e.to_string();
        assert!(e.contains("two or more runs, got 1"), "{e}");
        assert!(!out.exists());
    }
}
