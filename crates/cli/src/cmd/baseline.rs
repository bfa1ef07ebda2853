//! `textclf baseline`: TF-IDF + logistic regression / linear SVM / NBSVM.

use anyhow::Context;
use textclf_experiment::{EvalSpec, ExperimentSpec, ModelSpec};
use textclf_linear::LinearParams;

use super::common::{begin_run, data_spec, finish_run, parse_class_weights};
use crate::args::{BaselineArgs, OutArgs};
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

/// Turns the model flags into linear-model settings (the experiment sets their seed and
/// class weights, and checks them).
pub fn params_from_args(a: &BaselineArgs) -> anyhow::Result<LinearParams> {
    let mut p = LinearParams::new(a.model);
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
    f.analyzer.tokens = a.tokens;
    p.nb_beta = a.nb_beta;
    p.tol = a.tol;
    p.seed = a.data.seed;
    Ok(p)
}

/// The flags as an experiment.
pub fn spec_from_args(a: &BaselineArgs) -> anyhow::Result<ExperimentSpec> {
    Ok(ExperimentSpec {
        format: ExperimentSpec::FORMAT,
        data: data_spec(&a.data)?,
        model: ModelSpec::Linear {
            params: params_from_args(a)?,
        },
        eval: EvalSpec {
            bootstrap: a.eval.bootstrap,
        },
        class_weights: parse_class_weights(a.class_weights.as_deref())?,
        save_model: !a.no_save_model,
    })
}

pub fn run(a: BaselineArgs, ui: &Ui) -> anyhow::Result<()> {
    run_spec(&spec_from_args(&a)?, &a.out, ui)
}

/// Runs a linear experiment into the run folder `out`.
pub fn run_spec(spec: &ExperimentSpec, out: &OutArgs, ui: &Ui) -> anyhow::Result<()> {
    let mut folder = begin_run(out, "textclf baseline")?;
    if folder.has_leftover() && !out.in_place {
        // A baseline keeps no checkpoint: what an interrupted attempt left is discarded.
        folder.clear()?;
    }
    finish_run(folder, ui, |f| {
        Ok(textclf_experiment::run(
            spec,
            f.work(),
            f.target(),
            ui,
            &textclf_experiment::TrainEnv::plain(),
        )?)
    })
}
