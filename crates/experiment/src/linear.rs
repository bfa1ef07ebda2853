//! The linear family: TF-IDF features and a linear model for every shape, C chosen on the
//! validation split (or, without one, on a holdout of train, then refit on all of it).
//!
//! | data | model (`--model lr / svm / nbsvm`) |
//! |---|---|
//! | single-label, single texts | `LinearClassifier` |
//! | single-label, text pairs | `PairClassifier` over the pair features |
//! | multi-label (texts or pairs) | one-vs-rest LR / SVM / NBSVM with per-label thresholds |
//! | regression (texts or pairs) | `lr` → ridge, `svm` → linear SVR (L2 loss); NBSVM has no regression form |
//! | regression, text pairs | `cosine` → the TF-IDF cosine of the two texts, scaled by least squares |

use std::path::Path;

use textclf_core::{Dataset, Targets, Task};
use textclf_data::Splits;
use textclf_eval::Timing;
use textclf_linear::{
    fit_multilabel, fit_pairs, fit_regression, fit_with_progress, Featurizer, FitProgress,
    FitReport, FitStep, LinearKind, LinearParams, MultiLabelParams, MultiLabelReport,
    MultiLabelSet, PairLabelSet, PairParams, RecordedFit, RecordedParams, RegressionKind,
    RegressionParams, RegressionReport, RegressionSet, TextInput,
};
use textclf_runs::{BaselineData, BaselineRun, LinearModel, RunBody, SplitInfo, ValidSummary};

use crate::error::{ExperimentError, Result, Step};
use crate::fine_tune::TrainEnv;
use crate::fit::{Fit, Fitted};
use crate::observer::Observer;
use crate::record::split_info;
use crate::spec::{ClassWeights, ExperimentSpec};
use crate::weights::check_class_weights;

/// The linear family with its settings (the experiment sets their seed and class weights).
pub struct LinearFit<'a>(pub &'a LinearParams);

/// What one shape's fit gives: the model, its settings and fit report for the record, the
/// holdout summary (when C was chosen on a holdout of train) and what to say.
struct Shaped {
    model: Box<dyn textclf_core::Model>,
    params: RecordedParams,
    fit: RecordedFit,
    holdout: Option<ValidSummary>,
    trailer: String,
}

impl Fit for LinearFit<'_> {
    fn fit(
        &self,
        spec: &ExperimentSpec,
        splits: &Splits,
        _out: &Path,
        obs: &dyn Observer,
        _env: &TrainEnv,
        timing: &mut Timing,
    ) -> Result<Fitted> {
        let task = splits.train.task();
        if task == Task::Regression {
            if spec.class_weights != ClassWeights::None {
                return Err(ExperimentError::Invalid(
                    "class weights are for classification; a regression has none (drop --class-weights)".into(),
                ));
            }
        } else {
            check_class_weights(&spec.class_weights, splits.label_set.len())?;
        }
        let pairs = splits.train.pairs.is_some();
        if self.0.kind == LinearKind::Cosine && (task != Task::Regression || !pairs) {
            return Err(ExperimentError::Invalid(format!(
                "--model cosine scores the similarity of two texts against a numeric score (sentence-pair regression, e.g. STS-B); this data is {}{}: use --model lr, svm or nbsvm",
                task,
                if pairs { " pairs" } else { " single texts" }
            )));
        }
        let mut params = self.0.clone();
        params.seed = spec.data.seed;
        params.holdout_frac = spec.data.valid_frac;
        params.class_weights = spec.class_weights.clone();
        params.check().step("invalid baseline settings")?;
        obs.phase(&format!(
            "vectorizing and fitting {} on {} {}",
            params.kind.name(),
            splits.train.len(),
            if pairs { "pairs" } else { "texts" }
        ));
        let valid = splits.valid.as_ref();
        let s = match (task, pairs) {
            (Task::SingleLabel, false) => single(&params, &splits.train, valid, obs, timing)?,
            (Task::SingleLabel, true) => pair_classes(&params, &splits.train, valid, timing)?,
            (Task::MultiLabel, _) => multi_label(&params, &splits.train, valid, timing)?,
            (Task::Regression, _) => regression(&params, &splits.train, valid, timing)?,
        };
        obs.finish();
        if let Some(w) = s.holdout.as_ref().and_then(|v| {
            textclf_data::small_validation(
                v.n,
                "the share of train held out to choose C (--valid-frac; or give --valid)",
            )
        }) {
            obs.warn(&w);
        }
        let holdout_info = s.holdout.as_ref().map(|v| SplitInfo {
            name: Some(format!(
                "{} (a {}holdout, refit after choosing C)",
                splits.train.name,
                if task == Task::SingleLabel {
                    "stratified "
                } else {
                    ""
                }
            )),
            rows: v.n,
            per_class: None,
        });
        let kind = s.model.kind();
        let body = RunBody::Baseline(BaselineRun {
            model: LinearModel {
                kind: kind.clone(),
                params: Some(s.params),
                fit: Some(s.fit),
            },
            valid: None,
            data: BaselineData {
                labels: splits.label_set.names().to_vec(),
                train: split_info(&splits.train),
                valid: splits.valid.as_ref().map(split_info),
                test: split_info(&splits.test),
                seed: spec.data.seed,
                notes: splits.notes.clone(),
            },
        });
        let title = format!(
            "{kind} on {} ({} {})",
            splits.test.name,
            splits.test.len(),
            if pairs { "pairs" } else { "texts" }
        );
        Ok(Fitted {
            model: s.model,
            valid: splits.valid.clone(),
            holdout: s
                .holdout
                .zip(holdout_info)
                .filter(|_| splits.valid.is_none()),
            body,
            title,
            trailer: s.trailer,
            extra_files: vec![],
            files_note: String::new(),
            remove_checkpoints: false,
        })
    }
}

/// The texts of `d` as the linear models take them.
fn with_input<T>(d: &Dataset, f: impl FnOnce(TextInput<'_>) -> T) -> T {
    let a = d.text_refs();
    match &d.pairs {
        Some(p) => {
            let b: Vec<&str> = p.iter().map(String::as_str).collect();
            f(TextInput::Pair(&a, &b))
        }
        None => f(TextInput::Single(&a)),
    }
}

fn warn_grid_edge(r: &FitReport, obs: &dyn Observer) {
    if let Some(x) = &r.c_grid_extension {
        if x.stopped_by_bound {
            obs.warn(&format!(
                "the best C ({}) is still at the {} edge of the grid after extending it; give a wider --c-grid",
                r.chosen_c,
                if x.direction == "up" { "top" } else { "bottom" }
            ));
        }
    }
}

fn chosen_note(features: usize, c: f64, refit: bool) -> String {
    format!(
        "{features} features; C = {c}{}",
        if refit {
            " (refit on all of train)"
        } else {
            ""
        }
    )
}

/// Single-label single texts: the C search with a progress line per fit.
fn single(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
    obs: &dyn Observer,
    timing: &mut Timing,
) -> Result<Shaped> {
    // One line per fit as it ends: C, its validation accuracy, elapsed time and an ETA.
    let split = if valid.is_some() { "valid" } else { "holdout" };
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
    let (model, r) = fit_with_progress(params, train, valid, &on_progress)
        .step("training the baseline failed")?;
    timing.add("vectorize", r.vectorize_s);
    timing.add("fit", r.fit_s);
    obs.finish();
    warn_grid_edge(&r, obs);
    obs.note(&chosen_note(
        r.num_features,
        r.chosen_c,
        r.refit_on_full_train,
    ));
    Ok(Shaped {
        params: RecordedParams::Single(model.params.clone()),
        holdout: holdout_summary(&r),
        fit: RecordedFit::Classifier(r),
        model: Box::new(model),
        trailer: String::new(),
    })
}

/// Single-label pairs: the same models over the pair features.
fn pair_classes(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
    timing: &mut Timing,
) -> Result<Shaped> {
    let (ta, tb) = (train.text_refs(), second(train));
    let vt = valid.map(|v| (v.text_refs(), second(v)));
    let tr = PairLabelSet {
        a: &ta,
        b: &tb,
        labels: train.labels()?,
    };
    let va = match (&vt, valid) {
        (Some((a, b)), Some(v)) => Some(PairLabelSet {
            a,
            b,
            labels: v.labels()?,
        }),
        _ => None,
    };
    let (model, r) = fit_pairs(
        params,
        &PairParams::default(),
        &train.label_set,
        &tr,
        va.as_ref(),
    )
    .step("training the pair baseline failed")?;
    timing.add("vectorize", r.vectorize_s);
    timing.add("fit", r.fit_s);
    let trailer = format!(
        "{}\n",
        chosen_note(r.num_features, r.chosen_c, r.refit_on_full_train)
    );
    Ok(Shaped {
        params: RecordedParams::Pair(model.recorded_params()),
        holdout: holdout_summary(&r),
        fit: RecordedFit::Classifier(r),
        model: Box::new(model),
        trailer,
    })
}

/// The second texts of `d` (empty without pairs).
fn second(d: &Dataset) -> Vec<&str> {
    d.pairs.iter().flatten().map(String::as_str).collect()
}

/// Multi-label: one-vs-rest with per-label thresholds tuned where C is chosen.
fn multi_label(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
    timing: &mut Timing,
) -> Result<Shaped> {
    let mp = MultiLabelParams {
        linear: params.clone(),
        pair: PairParams::default(),
    };
    let sets = |d: &Dataset| -> Result<Vec<Vec<usize>>> {
        d.targets
            .label_sets()
            .map(<[_]>::to_vec)
            .ok_or_else(|| ExperimentError::Invalid(format!("{}: not multi-label data", d.name)))
    };
    let train_sets = sets(train)?;
    let valid_sets = valid.map(sets).transpose()?;
    let names = train.label_set.names();
    let fitted = with_input(train, |ti| {
        let tr = MultiLabelSet {
            input: ti,
            labels: &train_sets,
        };
        match (valid, &valid_sets) {
            (Some(v), Some(vs)) => with_input(v, |vi| {
                let va = MultiLabelSet {
                    input: vi,
                    labels: vs,
                };
                fit_multilabel(&mp, names, &tr, Some(&va))
            }),
            _ => fit_multilabel(&mp, names, &tr, None),
        }
    });
    let (model, r) = fitted.step("training the multi-label baseline failed")?;
    timing.add("vectorize", r.vectorize_s);
    timing.add("fit", r.fit_s);
    let holdout = multilabel_holdout(&r, train.len(), params.holdout_frac);
    let trailer = format!(
        "{}; per-label thresholds tuned on {} (from {:.2} to {:.2})\n",
        chosen_note(r.num_features, r.chosen_c, r.refit_on_full_train),
        r.selection_split,
        r.thresholds.iter().copied().fold(f64::INFINITY, f64::min),
        r.thresholds
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max),
    );
    Ok(Shaped {
        params: RecordedParams::MultiLabel(model.params.clone()),
        fit: RecordedFit::MultiLabel(r),
        holdout,
        model: Box::new(model),
        trailer,
    })
}

/// Regression: `lr` → ridge, `svm` → linear SVR; C chosen by validation MSE.
fn regression(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
    timing: &mut Timing,
) -> Result<Shaped> {
    let kind = match params.kind {
        LinearKind::Lr => RegressionKind::Ridge,
        LinearKind::Svm => RegressionKind::Svr,
        LinearKind::Cosine => RegressionKind::Cosine,
        LinearKind::Nbsvm => {
            return Err(ExperimentError::Invalid(
                "NBSVM is a classifier and has no regression form: use --model lr (ridge) or --model svm (linear SVR)".into(),
            ))
        }
    };
    let mut rp = RegressionParams::new(kind);
    rp.features.tfidf = params.features.clone();
    if kind == RegressionKind::Cosine {
        rp.features.pair = RegressionKind::cosine_features();
        if params.c.is_some() {
            return Err(ExperimentError::Invalid(
                "--model cosine has nothing to regularise: drop --C".into(),
            ));
        }
    }
    rp.c = params.c;
    if params.c_grid != LinearParams::new(params.kind).c_grid {
        rp.c_grid = params.c_grid.clone();
    }
    rp.seed = params.seed;
    rp.holdout_frac = params.holdout_frac;
    let scores = |d: &Dataset| -> Result<Vec<f64>> {
        match &d.targets {
            Targets::Scores(v) => Ok(v.iter().map(|&x| x as f64).collect()),
            _ => Err(ExperimentError::Invalid(format!(
                "{}: not regression data",
                d.name
            ))),
        }
    };
    let ty = scores(train)?;
    let vy = valid.map(scores).transpose()?;
    let fitted = with_input(train, |ti| {
        let tr = RegressionSet {
            input: ti,
            targets: &ty,
        };
        match (valid, &vy) {
            (Some(v), Some(y)) => with_input(v, |vi| {
                let va = RegressionSet {
                    input: vi,
                    targets: y,
                };
                fit_regression(&rp, &tr, Some(&va))
            }),
            _ => fit_regression(&rp, &tr, None),
        }
    });
    let (model, r) = fitted.step("training the regression baseline failed")?;
    timing.add("vectorize", r.vectorize_s);
    timing.add("fit", r.fit_s);
    let holdout = regression_holdout(&r, train.len(), rp.holdout_frac);
    let trailer = match r.chosen_c {
        Some(c) => format!(
            "{} ({}, chosen by validation {})\n",
            chosen_note(r.num_features, c, r.refit_on_full_train),
            kind.name(),
            serde_json::to_value(r.select_by)?.as_str().unwrap_or("mse")
        ),
        None => format!(
            "cosine of the two texts' TF-IDF rows (one vocabulary of {} n-grams fitted on both sides), scaled to the scores by least squares on train: {:.4} + {:.4} × cosine\n",
            match &model.features {
                Featurizer::Pair(v) => v.shared.as_ref().map_or(0, |t| t.num_features()),
                Featurizer::Single(_) => 0,
            },
            model.bias,
            model.weights.first().copied().unwrap_or(0.0)
        ),
    };
    Ok(Shaped {
        params: RecordedParams::Regression(model.params.clone()),
        fit: RecordedFit::Regression(r),
        holdout,
        model: Box::new(model),
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
        ..ValidSummary::default()
    })
}

/// Rows the linear models hold out of `n` training rows (as `textclf_linear` does).
fn holdout_rows(n: usize, frac: f64) -> usize {
    ((n as f64 * frac).round() as usize).clamp(1, n.saturating_sub(1).max(1))
}

/// A multi-label fit's holdout summary: the micro-F1 at the chosen C with the tuned
/// thresholds.
fn multilabel_holdout(r: &MultiLabelReport, n: usize, frac: f64) -> Option<ValidSummary> {
    if r.selection_split != "holdout" {
        return None;
    }
    let p = r.c_search.iter().find(|p| p.c == r.chosen_c)?;
    Some(ValidSummary {
        accuracy: f64::NAN,
        macro_f1: None,
        log_loss: f64::NAN,
        n: holdout_rows(n, frac),
        split: Some("holdout".into()),
        micro_f1: Some(p.micro_f1),
        ..ValidSummary::default()
    })
}

/// A regression fit's holdout summary: Pearson's r at the chosen C.
fn regression_holdout(r: &RegressionReport, n: usize, frac: f64) -> Option<ValidSummary> {
    if r.selection_split != "holdout" {
        return None;
    }
    let p = r.c_search.iter().find(|p| Some(p.c) == r.chosen_c)?;
    Some(ValidSummary {
        accuracy: f64::NAN,
        macro_f1: None,
        log_loss: f64::NAN,
        n: holdout_rows(n, frac),
        split: Some("holdout".into()),
        pearson: p.pearson.is_finite().then_some(p.pearson),
        ..ValidSummary::default()
    })
}
