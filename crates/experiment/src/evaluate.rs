//! Predicting a labelled split with a fitted model and evaluating the predictions.

use std::time::Instant;

use textclf_core::{Classifier, Dataset, Predictions};
use textclf_eval::{evaluate, EvalOptions, Report, Timing};

use crate::error::{ExperimentError, Result};
use crate::observer::Observer;

/// A model's predictions on a labelled split, and their evaluation.
pub struct Evaluated {
    pub report: Report,
    pub probs: Predictions,
    /// The split's gold labels as ids of the model's classes.
    pub gold: Vec<usize>,
}

/// Predicts `data` with `model` and evaluates it (`bootstrap` resamples for the CIs),
/// timing both as `predict_<what>` and `evaluate_<what>`.
pub fn predict_and_evaluate(
    model: &dyn Classifier,
    data: &Dataset,
    bootstrap: usize,
    seed: u64,
    timing: &mut Timing,
    obs: &dyn Observer,
    what: &str,
) -> Result<Evaluated> {
    if model.labels() != &data.label_set {
        let unknown: Vec<&String> = data
            .label_set
            .names()
            .iter()
            .filter(|n| model.labels().id(n).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(ExperimentError::Invalid(format!(
                "{}: labels {unknown:?} are not among the model's classes {:?}",
                data.name,
                model.labels().names()
            )));
        }
    }
    obs.phase(&format!("predicting {what} ({} texts)", data.len()));
    let t = Instant::now();
    let probs = model.predict_proba(&data.text_refs())?;
    timing.add(format!("predict_{what}"), t.elapsed().as_secs_f64());
    // Map the data's label ids onto the model's (they may order classes differently).
    let gold: Vec<usize> = data
        .labels()?
        .iter()
        .map(|&l| model.labels().id(data.label_set.name(l)).unwrap_or(0))
        .collect();
    obs.phase(&format!("evaluating {what}"));
    let t = Instant::now();
    let opts = EvalOptions {
        bootstrap,
        seed,
        ..EvalOptions::default()
    };
    let report = evaluate(&gold, &probs, model.labels(), &opts)?;
    timing.add(format!("evaluate_{what}"), t.elapsed().as_secs_f64());
    obs.finish();
    Ok(Evaluated {
        report,
        probs,
        gold,
    })
}
