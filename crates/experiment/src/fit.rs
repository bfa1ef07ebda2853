//! The fit face: every model family fits a [`Model`] from prepared splits ([`Fit`]);
//! everything after the fit — predicting the validation and test splits, evaluating them
//! for the task, saving the model and writing the run record — is [`run_fit`]'s, the same
//! for every family and written once.

use std::path::Path;
use std::time::Instant;

use textclf_core::{Dataset, Model};
use textclf_data::Splits;
use textclf_eval::{render_mcc, Timing};
use textclf_runs::{RunBody, SplitInfo, ValidSummary};

use crate::data::prepare_splits;
use crate::error::Result;
use crate::evaluate::{predict_and_evaluate, valid_summary};
use crate::fine_tune::{remove_checkpoints, TrainEnv};
use crate::finished::Finished;
use crate::observer::Observer;
use crate::record::{save_model, write_run, write_valid_predictions};
use crate::spec::ExperimentSpec;

/// What a family's fit hands to the shared rest of the run.
pub struct Fitted {
    pub model: Box<dyn Model>,
    /// The validation rows to predict and record (`valid_predictions.csv`, `valid`): the
    /// validation split, or the share of train a transformer held out. `None` when the
    /// fit chose its settings on rows it does not hand back (a linear model's holdout).
    pub valid: Option<Dataset>,
    /// Without `valid`: the summary of the rows the fit chose its settings on, and the
    /// split they came from.
    pub holdout: Option<(ValidSummary, SplitInfo)>,
    /// The run record's sections of this family; its `valid` summary is filled in by
    /// [`run_fit`].
    pub body: RunBody,
    /// The report's title.
    pub title: String,
    /// Lines printed after the report (what the fit chose).
    pub trailer: String,
    /// The files written besides metrics.json and predictions.csv (e.g. "epochs.csv").
    pub extra_files: Vec<String>,
    /// Said after the list of files written (e.g. " (checkpoint/ kept)").
    pub files_note: String,
    /// Remove the trainer's checkpoints once the run record is written.
    pub remove_checkpoints: bool,
}

/// A model family: fits a model of the splits' task and input shape.
pub trait Fit {
    /// Checks what can be checked before the data is read (devices, settings).
    fn check(&self, _spec: &ExperimentSpec, _obs: &dyn Observer) -> Result<()> {
        Ok(())
    }

    /// Fits on `splits`, writing what the family keeps by itself (checkpoints,
    /// `epochs.csv`) into `out` and adding its phases to `timing`.
    fn fit(
        &self,
        spec: &ExperimentSpec,
        splits: &Splits,
        out: &Path,
        obs: &dyn Observer,
        env: &TrainEnv,
        timing: &mut Timing,
    ) -> Result<Fitted>;
}

/// Runs `spec` with `family`: prepare the data → fit → predict and evaluate the
/// validation and test splits → save the model → write the run record into `out`
/// (`target` is where the run lands, for the closing message).
pub fn run_fit(
    spec: &ExperimentSpec,
    family: &dyn Fit,
    out: &Path,
    target: &Path,
    obs: &dyn Observer,
    env: &TrainEnv,
) -> Result<Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    spec.data.check()?;
    family.check(spec, obs)?;
    obs.phase("reading data");
    let t = Instant::now();
    let splits = prepare_splits(&spec.data, obs)?;
    timing.add("read", t.elapsed().as_secs_f64());

    let mut fitted = family.fit(spec, &splits, out, obs, env, &mut timing)?;
    let model = fitted.model.as_ref();
    let labels = model.labels();
    let seed = spec.data.seed;
    // Validation is only used for selection: its bootstrap intervals are not needed.
    let valid = match &fitted.valid {
        Some(v) => {
            let ev = predict_and_evaluate(model, v, 0, seed, &mut timing, obs, "valid")?;
            write_valid_predictions(out, &labels, v, &ev)?;
            Some(valid_summary(&ev.report))
        }
        None => fitted.holdout.as_ref().map(|(v, _)| v.clone()),
    };
    let test = predict_and_evaluate(
        model,
        &splits.test,
        spec.eval.bootstrap,
        seed,
        &mut timing,
        obs,
        "test",
    )?;
    if spec.save_model {
        save_model(model, out, &mut timing, obs)?;
    }
    timing.add("total", started.elapsed().as_secs_f64());
    match &mut fitted.body {
        RunBody::Train(r) => r.valid = valid,
        RunBody::Baseline(r) => {
            r.valid = valid;
            if r.data.valid.is_none() {
                r.data.valid = fitted.holdout.as_ref().map(|(_, s)| s.clone());
            }
        }
        RunBody::Eval(_) | RunBody::Ensemble(_) => {}
    }
    write_run(out, &labels, &splits.test, &test, &timing, fitted.body)?;
    if fitted.remove_checkpoints {
        remove_checkpoints(out)?;
    }

    let mut trailer = fitted.trailer;
    if let Some(m) = test.report.single().and_then(|r| r.mcc_summary()) {
        trailer.insert_str(0, &format!("{}\n", render_mcc(&m)));
    }
    let mut files = vec!["metrics.json".to_string()];
    files.extend(fitted.extra_files);
    files.push("predictions.csv".into());
    let mut line = format!("wrote {}/{}", target.display(), files.join(", "));
    if spec.save_model {
        line.push_str(" and model/");
    }
    line.push_str(&fitted.files_note);
    trailer.push_str(&line);
    Ok(Finished {
        thresholds: None,
        report: test.report,
        title: fitted.title,
        timing,
        trailer,
    })
}
