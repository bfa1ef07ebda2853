//! The linear family: TF-IDF features and a linear model, C chosen on the validation
//! split (or, without one, on a stratified holdout of train, then refit on all of it).

use std::path::Path;
use std::time::Instant;

use textclf_core::Classifier;
use textclf_eval::Timing;
use textclf_linear::{fit_with_progress, FitProgress, FitReport, FitStep, LinearParams};
use textclf_runs::{BaselineData, BaselineRun, LinearModel, RunBody, SplitInfo, ValidSummary};

use crate::error::{Result, Step};
use crate::evaluate::predict_and_evaluate;
use crate::observer::Observer;
use crate::record::{save_model, split_info, valid_summary, write_run, write_valid_predictions};
use crate::spec::ExperimentSpec;
use crate::weights::check_class_weights;
use crate::Finished;

/// Runs a linear experiment with `params`, writing its record into `out` (`target` is
/// where the run lands, for the closing message).
pub fn run_linear(
    spec: &ExperimentSpec,
    params: &LinearParams,
    out: &Path,
    target: &Path,
    obs: &dyn Observer,
) -> Result<Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    obs.phase("reading data");
    let t = Instant::now();
    let splits = crate::data::prepare_splits(&spec.data, obs)?;
    crate::data::require_single_text_single_label(&splits, "`textclf baseline`")?;
    timing.add("read", t.elapsed().as_secs_f64());
    check_class_weights(&spec.class_weights, splits.label_set.len())?;
    let mut params = params.clone();
    params.seed = spec.data.seed;
    params.class_weights = spec.class_weights.clone();
    params.check().step("invalid baseline settings")?;

    obs.phase(&format!(
        "vectorizing and fitting {} on {} texts",
        params.kind.name(),
        splits.train.len()
    ));
    // One line per fit as it ends: C, its validation accuracy, elapsed time and an ETA.
    let split = if splits.valid.is_some() {
        "valid"
    } else {
        "holdout"
    };
    let on_progress = |e: &FitProgress| {
        let what = match &e.step {
            FitStep::GridPoint {
                c,
                accuracy,
                fit_s,
                added,
            } => format!(
                "C = {c:<8} {split} accuracy {:.2} % ({fit_s:.1} s){}",
                100.0 * accuracy,
                if *added { ", grid extended" } else { "" }
            ),
            FitStep::Final { c, fit_s } => {
                format!("C = {c:<8} final fit on all of train ({fit_s:.1} s)")
            }
        };
        obs.note(&format!(
            "[{}/{}] {what}; {:.0} s elapsed{}",
            e.done,
            e.planned,
            e.elapsed_s,
            if e.done < e.planned {
                format!(", ETA {:.0} s", e.eta_s())
            } else {
                String::new()
            }
        ));
    };
    let (model, fit_report) =
        fit_with_progress(&params, &splits.train, splits.valid.as_ref(), &on_progress)
            .step("training the baseline failed")?;
    timing.add("vectorize", fit_report.vectorize_s);
    timing.add("fit", fit_report.fit_s);
    obs.finish();
    if let Some(x) = &fit_report.c_grid_extension {
        if x.stopped_by_bound {
            obs.warn(&format!(
                "the best C ({}) is still at the {} edge of the grid after extending it; give a wider --c-grid",
                fit_report.chosen_c,
                if x.direction == "up" { "top" } else { "bottom" }
            ));
        }
    }
    obs.note(&format!(
        "{} features; C = {}{}",
        fit_report.num_features,
        fit_report.chosen_c,
        if fit_report.refit_on_full_train {
            " (refit on all of train)"
        } else {
            ""
        }
    ));

    let linear_model = LinearModel {
        kind: model.kind().to_string(),
        params: serde_json::to_value(&model.params)?,
        fit: serde_json::to_value(&fit_report)?,
    };
    let bootstrap = spec.eval.bootstrap;
    let seed = spec.data.seed;
    let valid_summary = match &splits.valid {
        Some(v) => {
            let ev = predict_and_evaluate(&model, v, bootstrap, seed, &mut timing, obs, "valid")?;
            write_valid_predictions(out, &model, v, &ev)?;
            Some(valid_summary(&ev.report))
        }
        // Without a validation split, C was chosen on a stratified holdout of train: its
        // score at the chosen C is the run's validation score (the final model is then
        // refit on all of train), so runs without one can be ranked too.
        None => holdout_summary(&fit_report),
    };
    let holdout_info = match (&splits.valid, &valid_summary) {
        (None, Some(v)) => Some(SplitInfo {
            name: Some(format!(
                "{} (a stratified holdout, refit after choosing C)",
                splits.train.name
            )),
            rows: v.n,
            per_class: None,
        }),
        _ => None,
    };
    let test_eval = predict_and_evaluate(
        &model,
        &splits.test,
        bootstrap,
        seed,
        &mut timing,
        obs,
        "test",
    )?;

    if spec.save_model {
        save_model(&model, out, &mut timing, obs)?;
    }
    timing.add("total", started.elapsed().as_secs_f64());

    let run = RunBody::Baseline(BaselineRun {
        model: linear_model,
        valid: valid_summary,
        data: BaselineData {
            labels: splits.label_set.names().to_vec(),
            train: split_info(&splits.train),
            valid: splits.valid.as_ref().map(split_info).or(holdout_info),
            test: split_info(&splits.test),
            seed,
            notes: splits.notes.clone(),
        },
    });
    write_run(out, &model, &splits.test, &test_eval, &timing, run)?;

    let title = format!(
        "{} on {} ({} texts)",
        model.kind(),
        splits.test.name,
        splits.test.len()
    );
    let trailer = format!(
        "wrote {}/metrics.json, predictions.csv{}",
        target.display(),
        if spec.save_model { " and model/" } else { "" }
    );
    Ok(Finished {
        report: test_eval.report,
        title,
        timing,
        trailer,
    })
}

/// The validation summary of a fit whose C was chosen on a holdout of train: the accuracy
/// at the chosen C and the calibrated log loss there. `None` when nothing was held out.
fn holdout_summary(r: &FitReport) -> Option<ValidSummary> {
    let cal = r.calibration.as_ref().filter(|c| c.split == "holdout")?;
    let acc = r.c_search.iter().find(|p| p.c == r.chosen_c)?.accuracy;
    Some(ValidSummary {
        accuracy: acc,
        macro_f1: None,
        log_loss: cal.log_loss,
        n: cal.rows,
        split: Some("holdout".into()),
    })
}
