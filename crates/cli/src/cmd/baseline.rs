//! `textclf baseline`: TF-IDF + logistic regression / linear SVM / NBSVM.

use std::time::Instant;

use anyhow::Context;
use serde_json::{json, Map};
use textclf_core::Classifier;
use textclf_eval::Timing;
use textclf_linear::{
    fit_with_progress, ClassWeights, FitProgress, FitStep, LinearKind, LinearParams, TokenMode,
};

use super::common::{
    begin_run, finish_run, load_splits, parse_class_weights, predict_and_evaluate, save_model,
    split_info, valid_summary, write_run, write_valid_predictions, Finished, WeightSpec,
};
use crate::args::{BaselineArgs, ModelArg, TokensArg};
use crate::ui::Ui;

fn parse_range(s: &str, flag: &str) -> anyhow::Result<(usize, usize)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a = a
        .trim()
        .parse()
        .with_context(|| format!("{flag} '{s}': expected MIN-MAX like 1-2"))?;
    let b = b
        .trim()
        .parse()
        .with_context(|| format!("{flag} '{s}': expected MIN-MAX like 1-2"))?;
    Ok((a, b))
}

/// Turns the flags into validated linear-model settings.
pub fn params_from_args(a: &BaselineArgs, num_classes: usize) -> anyhow::Result<LinearParams> {
    let kind = match a.model {
        ModelArg::Lr => LinearKind::Lr,
        ModelArg::Svm => LinearKind::Svm,
        ModelArg::Nbsvm => LinearKind::Nbsvm,
    };
    let mut p = LinearParams::new(kind);
    p.c = a.c;
    if !a.c_grid.is_empty() {
        p.c_grid = a.c_grid.clone();
    }
    let f = &mut p.features;
    if let Some(r) = &a.ngram {
        f.analyzer.ngram = parse_range(r, "--ngram")?;
    }
    if let Some(r) = &a.char_ngram {
        f.analyzer.char_ngram = Some(parse_range(r, "--char-ngram")?);
    }
    if let Some(v) = a.min_df {
        f.min_df = v;
    }
    if let Some(v) = a.max_df {
        f.max_df = v;
    }
    f.max_features = a.max_features;
    if a.no_sublinear_tf {
        f.sublinear_tf = false;
    }
    f.analyzer.lowercase = !a.no_lowercase;
    f.analyzer.strip_html = !a.keep_html;
    f.analyzer.tokens = match a.tokens {
        TokensArg::WordsPunct => TokenMode::WordsAndPunct,
        TokensArg::Words => TokenMode::Words,
    };
    p.nb_beta = a.nb_beta;
    p.tol = a.tol;
    p.seed = a.data.seed;
    p.class_weights = match parse_class_weights(a.class_weights.as_deref(), num_classes)? {
        None => ClassWeights::None,
        Some(WeightSpec::Balanced) => ClassWeights::Balanced,
        Some(WeightSpec::Explicit(w)) => ClassWeights::Explicit(w),
    };
    p.check().context("invalid baseline settings")?;
    Ok(p)
}

pub fn run(a: BaselineArgs, ui: &Ui) -> anyhow::Result<()> {
    let mut folder = begin_run(&a.out, "textclf baseline")?;
    if folder.has_leftover() && !a.out.in_place {
        // A baseline keeps no checkpoint: what an interrupted attempt left is discarded.
        folder.clear()?;
    }
    finish_run(folder, ui, |f| fit_and_write(&a, f.work(), f.target(), ui))
}

fn fit_and_write(
    a: &BaselineArgs,
    out: &std::path::Path,
    target: &std::path::Path,
    ui: &Ui,
) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    ui.phase("reading data");
    let t = Instant::now();
    let splits = load_splits(&a.data, ui)?;
    super::common::require_single_text_single_label(&splits, "`textclf baseline`")?;
    timing.add("read", t.elapsed().as_secs_f64());
    let params = params_from_args(a, splits.label_set.len())?;

    ui.phase(&format!(
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
        ui.note(&format!(
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
            .context("training the baseline failed")?;
    timing.add("vectorize", fit_report.vectorize_s);
    timing.add("fit", fit_report.fit_s);
    ui.finish();
    if let Some(x) = &fit_report.c_grid_extension {
        if x.stopped_by_bound {
            ui.warn(&format!(
                "the best C ({}) is still at the {} edge of the grid after extending it; give a wider --c-grid",
                fit_report.chosen_c,
                if x.direction == "up" { "top" } else { "bottom" }
            ));
        }
    }
    ui.note(&format!(
        "{} features; C = {}{}",
        fit_report.num_features,
        fit_report.chosen_c,
        if fit_report.refit_on_full_train {
            " (refit on all of train)"
        } else {
            ""
        }
    ));

    let mut extra = Map::new();
    extra.insert("command".into(), json!("baseline"));
    extra.insert(
        "model".into(),
        json!({ "kind": model.kind(), "params": model.params, "fit": fit_report }),
    );
    let valid_summary = match &splits.valid {
        Some(v) => {
            let ev =
                predict_and_evaluate(&model, v, &a.eval, a.data.seed, &mut timing, ui, "valid")?;
            write_valid_predictions(out, &model, v, &ev)?;
            Some(valid_summary(&ev.report))
        }
        // Without --valid, C was chosen on a stratified holdout of train: its score at the
        // chosen C is the run's validation score (the final model is then refit on all of
        // train), so runs without --valid can be ranked too.
        None => holdout_summary(&fit_report),
    };
    let holdout_info = match (&splits.valid, &valid_summary) {
        (None, Some(v)) => Some(json!({
            "name": format!("{} (a stratified holdout, refit after choosing C)", splits.train.name),
            "rows": v["n"],
        })),
        _ => None,
    };
    let test_eval = predict_and_evaluate(
        &model,
        &splits.test,
        &a.eval,
        a.data.seed,
        &mut timing,
        ui,
        "test",
    )?;

    if !a.no_save_model {
        save_model(&model, out, &mut timing, ui)?;
    }
    timing.add("total", started.elapsed().as_secs_f64());

    extra.insert("valid".into(), json!(valid_summary));
    extra.insert(
        "data".into(),
        json!({
            "labels": splits.label_set.names(),
            "train": split_info(&splits.train),
            "valid": splits.valid.as_ref().map(split_info).or(holdout_info),
            "test": split_info(&splits.test),
            "seed": a.data.seed,
            "notes": splits.notes,
        }),
    );
    write_run(out, &model, &splits.test, &test_eval, &timing, extra)?;

    let title = format!(
        "{} on {} ({} texts)",
        model.kind(),
        splits.test.name,
        splits.test.len()
    );
    let trailer = format!(
        "wrote {}/metrics.json, predictions.csv{}",
        target.display(),
        if a.no_save_model { "" } else { " and model/" }
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
fn holdout_summary(r: &textclf_linear::FitReport) -> Option<serde_json::Value> {
    let cal = r.calibration.as_ref().filter(|c| c.split == "holdout")?;
    let acc = r.c_search.iter().find(|p| p.c == r.chosen_c)?.accuracy;
    Some(json!({
        "accuracy": acc,
        "macro_f1": null,
        "log_loss": cal.log_loss,
        "n": cal.rows,
        "split": "holdout",
    }))
}
