//! `textclf ensemble`: averages the outputs of finished runs of one task (any mix of
//! transformers and linear baselines) and evaluates the average with the task's report.
//! The flags become a [`EnsembleSpec`]; `textclf_experiment::run_ensemble` does the rest
//! (see there for how each task is averaged and how weights are chosen).

use anyhow::Context;
use textclf_experiment::{EnsembleSpec, EnsembleWeights, EvalSpec};

use super::common::{begin_run, finish_run, refuse_foreign_run};
use crate::args::EnsembleArgs;
use crate::ui::Ui;

/// `--weights`: `equal`, `val`, or one number per run (checked against the runs by the
/// ensemble).
fn parse_weights(list: &str) -> anyhow::Result<EnsembleWeights> {
    Ok(match list.trim() {
        "equal" => EnsembleWeights::Equal,
        "val" => EnsembleWeights::Val,
        list => EnsembleWeights::Explicit(
            list.split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| {
                    format!("--weights '{list}': use equal, val, or one number per run like 2,1")
                })?,
        ),
    })
}

/// The flags as an ensemble.
pub fn spec_from_args(a: &EnsembleArgs) -> anyhow::Result<EnsembleSpec> {
    Ok(EnsembleSpec {
        format: EnsembleSpec::FORMAT,
        runs: a.runs.clone(),
        weights: parse_weights(&a.weights)?,
        eval: EvalSpec {
            bootstrap: a.eval.bootstrap,
        },
        seed: a.seed,
    })
}

pub fn run(a: EnsembleArgs, ui: &Ui) -> anyhow::Result<()> {
    let spec = spec_from_args(&a)?;
    refuse_foreign_run(&a.out, "ensemble")?;
    let mut folder = begin_run(&a.out, "textclf ensemble")?;
    if folder.has_leftover() && !a.out.in_place {
        folder.clear()?;
    }
    finish_run(folder, ui, |f| {
        Ok(textclf_experiment::run_ensemble(
            &spec,
            f.work(),
            f.target(),
            ui,
        )?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_flag_becomes_the_spec_choice() {
        assert_eq!(parse_weights("equal").unwrap(), EnsembleWeights::Equal);
        assert_eq!(parse_weights(" val ").unwrap(), EnsembleWeights::Val);
        assert_eq!(
            parse_weights("2, 1").unwrap(),
            EnsembleWeights::Explicit(vec![2.0, 1.0])
        );
        let e = format!("{:#}", parse_weights("x,y").unwrap_err());
        assert!(e.contains("use equal, val, or one number per run"), "{e}");
    }
}
