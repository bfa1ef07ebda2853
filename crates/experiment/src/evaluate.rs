//! Predicting a labelled split with a fitted model of any task and evaluating the
//! predictions: the one evaluation every family's runs and `textclf eval` go through.

use std::time::Instant;

use textclf_core::{check_inputs, Dataset, Inputs, LabelSet, Model, Outputs, Targets, Task};
use textclf_eval::{
    evaluate, evaluate_multilabel, evaluate_regression, EvalOptions, LabelMatrix, TestReport,
    Timing,
};
use textclf_runs::ValidSummary;

use crate::error::{ExperimentError, Result};
use crate::observer::Observer;

/// A model's predictions on a labelled split, and their evaluation.
pub struct Evaluated {
    pub report: TestReport,
    pub outputs: Outputs,
    /// The split's gold answers, label ids mapped onto the model's.
    pub gold: Targets,
}

/// The model's inputs for `data`: its texts, or its text pairs.
pub fn with_inputs<T>(data: &Dataset, f: impl FnOnce(Inputs<'_>) -> T) -> T {
    let a = data.text_refs();
    match &data.pairs {
        Some(p) => {
            let b: Vec<&str> = p.iter().map(String::as_str).collect();
            f(Inputs::Pairs(&a, &b))
        }
        None => f(Inputs::Texts(&a)),
    }
}

/// Refuses a model and data of different tasks (never evaluated as if they matched).
pub fn check_task(model: &dyn Model, task: Task, what: &str) -> Result<()> {
    if model.task() != task {
        return Err(ExperimentError::Invalid(format!(
            "the {} model is {} but {what} is {task}: evaluate it on data of its own task \
             (pass --task {} if the labels were read as the wrong task)",
            model.kind(),
            model.task(),
            model.task()
        )));
    }
    Ok(())
}

/// `data`'s gold answers with label ids mapped onto `model_labels` (they may order
/// classes differently); a label the model does not know is an error naming it.
pub fn gold_for(data: &Dataset, model_labels: &LabelSet) -> Result<Targets> {
    let map = |l: usize| -> Result<usize> {
        let name = data.label_set.name(l);
        model_labels.id(name).ok_or_else(|| {
            ExperimentError::Invalid(format!(
                "{}: label '{name}' is not among the model's {} {:?}",
                data.name,
                if data.task() == Task::MultiLabel {
                    "labels"
                } else {
                    "classes"
                },
                model_labels.names()
            ))
        })
    };
    Ok(match &data.targets {
        Targets::Classes(v) => Targets::Classes(v.iter().map(|&l| map(l)).collect::<Result<_>>()?),
        Targets::LabelSets(v) => Targets::LabelSets(
            v.iter()
                .map(|set| {
                    let mut s = set.iter().map(|&l| map(l)).collect::<Result<Vec<_>>>()?;
                    s.sort_unstable();
                    Ok(s)
                })
                .collect::<Result<_>>()?,
        ),
        Targets::Scores(v) => Targets::Scores(v.clone()),
    })
}

/// Evaluates `outputs` against `gold` (same task) for a model with `labels`.
pub fn evaluate_outputs(
    gold: &Targets,
    outputs: &Outputs,
    labels: &LabelSet,
    opts: &EvalOptions,
) -> Result<TestReport> {
    Ok(match (gold, outputs) {
        (Targets::Classes(g), Outputs::Classes(p)) => evaluate(g, p, labels, opts)?.into(),
        (Targets::LabelSets(g), Outputs::LabelSets { scores, predicted }) => {
            let k = labels.len();
            let gm = LabelMatrix::from_sets(k, g)?;
            let pm = LabelMatrix::from_sets(k, predicted)?;
            evaluate_multilabel(&gm, &pm, Some(scores.as_slice()), labels, opts)?.into()
        }
        (Targets::Scores(g), Outputs::Values(p)) => {
            let g: Vec<f64> = g.iter().map(|&x| x as f64).collect();
            let p: Vec<f64> = p.iter().map(|&x| x as f64).collect();
            evaluate_regression(&g, &p, opts)?.into()
        }
        (g, o) => {
            return Err(ExperimentError::Invalid(format!(
                "cannot evaluate {} predictions against {} gold answers",
                o.task(),
                g.task()
            )))
        }
    })
}

/// Predicts `data` with `model` and evaluates it (`bootstrap` resamples for the CIs),
/// timing both as `predict_<what>` and `evaluate_<what>`.
pub fn predict_and_evaluate(
    model: &dyn Model,
    data: &Dataset,
    bootstrap: usize,
    seed: u64,
    timing: &mut Timing,
    obs: &dyn Observer,
    what: &str,
) -> Result<Evaluated> {
    check_task(model, data.task(), &data.name)?;
    let labels = model.labels();
    let gold = gold_for(data, &labels)?;
    obs.phase(&format!(
        "predicting {what} ({} {})",
        data.len(),
        if data.pairs.is_some() {
            "pairs"
        } else {
            "texts"
        }
    ));
    let t = Instant::now();
    let outputs = with_inputs(data, |inputs| {
        check_inputs(model, &inputs)?;
        model.predict(inputs)
    })?;
    timing.add(format!("predict_{what}"), t.elapsed().as_secs_f64());
    obs.phase(&format!("evaluating {what}"));
    let t = Instant::now();
    let opts = EvalOptions {
        bootstrap,
        seed,
        ..EvalOptions::default()
    };
    let report = evaluate_outputs(&gold, &outputs, &labels, &opts)?;
    timing.add(format!("evaluate_{what}"), t.elapsed().as_secs_f64());
    obs.finish();
    Ok(Evaluated {
        report,
        outputs,
        gold,
    })
}

/// The validation summary metrics.json keeps (`valid`), by task (see
/// [`textclf_runs::ValidSummary`]).
pub fn valid_summary(r: &TestReport) -> ValidSummary {
    match r {
        TestReport::SingleLabel(r) => ValidSummary {
            accuracy: r.accuracy,
            macro_f1: Some(r.macro_f1),
            log_loss: r.log_loss,
            n: r.n,
            split: None,
            ..ValidSummary::default()
        },
        TestReport::MultiLabel(r) => ValidSummary {
            accuracy: r.subset_accuracy,
            macro_f1: Some(r.macro_avg.f1),
            log_loss: f64::NAN,
            n: r.n,
            micro_f1: Some(r.micro.f1),
            ..ValidSummary::default()
        },
        TestReport::Regression(r) => ValidSummary {
            accuracy: f64::NAN,
            macro_f1: None,
            log_loss: f64::NAN,
            n: r.n,
            pearson: r.pearson,
            spearman: r.spearman,
            ..ValidSummary::default()
        },
    }
}
