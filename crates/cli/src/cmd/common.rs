//! Pieces shared by subcommands: data loading from flags, evaluation, and the run folder
//! (built in `<out>.partial/`, moved into place when complete; metrics.json,
//! predictions.csv).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use textclf_data::ReadOptions;
use textclf_eval::{TestReport, Thresholds, Timing};
pub use textclf_experiment::{holdout_valid, Finished};
use textclf_experiment::{ClassWeights, Columns, DataSource, DataSpec};

use textclf_runs::{describe_occupant, Begin, Outcome, RunFolder, RunStatus};

use crate::args::{ColumnArgs, DataArgs, OutArgs};
use crate::ui::Ui;

/// The column flags as the experiment's [`Columns`].
pub fn columns(c: &ColumnArgs) -> Columns {
    Columns {
        text_col: c.text_col.clone(),
        label_col: c.label_col.clone(),
        id_col: c.id_col.clone(),
        format: c.format,
        pair_col: c.text_pair_col.clone(),
        label_cols: c.label_cols.clone(),
        label_sep: c.label_sep.clone(),
        task: c.task,
    }
}

/// How label strings become targets (`--task`, `--label-sep`).
pub fn target_options(c: &ColumnArgs) -> textclf_data::TargetOptions {
    columns(c).target_options()
}

pub fn read_options(c: &ColumnArgs, labelled: bool) -> ReadOptions {
    columns(c).read_options(labelled)
}

/// Parses "80/10/10" (percentages or fractions) into fractions summing to one.
pub fn parse_split(s: &str) -> anyhow::Result<[f64; 3]> {
    let parts: Vec<f64> = s
        .split('/')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--split '{s}': expected three numbers like 80/10/10"))?;
    let [a, b, c] = parts[..] else {
        bail!("--split '{s}': expected three numbers TRAIN/VALID/TEST like 80/10/10");
    };
    let total = a + b + c;
    if a.is_nan() || b.is_nan() || c.is_nan() || a <= 0.0 || c <= 0.0 || b < 0.0 {
        bail!("--split '{s}': train and test must be positive and valid not negative");
    }
    // Percentages add up to 100, fractions to 1; anything else is a typo, not a ratio.
    if (total - 100.0).abs() > 1e-6 && (total - 1.0).abs() > 1e-9 {
        bail!(
            "--split '{s}' adds up to {total}: give percentages that add up to 100 (e.g. 80/10/10) or fractions that add up to 1"
        );
    }
    Ok([a / total, b / total, c / total])
}

/// The data flags as the experiment's [`DataSpec`].
pub fn data_spec(d: &DataArgs) -> anyhow::Result<DataSpec> {
    let source = match (&d.train, &d.test) {
        (Some(train), Some(test)) => DataSource::Files {
            train: train.clone(),
            valid: d.valid.clone(),
            test: test.clone(),
        },
        (Some(_), None) => bail!("--train needs --test (or use --data to split one pool)"),
        _ => {
            if d.data.is_empty() {
                bail!("give --train/--test files, or --data to split one pool");
            }
            DataSource::Pool {
                files: d.data.clone(),
                fractions: parse_split(&d.split)?,
            }
        }
    };
    Ok(DataSpec {
        source,
        columns: columns(&d.columns),
        seed: d.seed,
        subset_frac: d.subset_frac,
        per_class: d.per_class,
        valid_frac: d.valid_frac,
    })
}

/// Renders a test report of any task, with the timing (and a multi-label report's
/// decision thresholds, when given).
pub fn render_test_report(
    report: &TestReport,
    thresholds: Option<&Thresholds>,
    title: &str,
    timing: &Timing,
) -> String {
    match report {
        TestReport::SingleLabel(r) => textclf_eval::render_report(r, title, Some(timing)),
        TestReport::MultiLabel(r) => format!(
            "{}\n{}",
            textclf_eval::render_multilabel_report(r, title, thresholds),
            textclf_eval::render_timing(timing)
        ),
        TestReport::Regression(r) => format!(
            "{}\n{}",
            textclf_eval::render_regression_report(r, title),
            textclf_eval::render_timing(timing)
        ),
    }
}

/// Prints the test report (or, with --json, the whole metrics.json) at the end of a run.
pub fn print_run(ui: &Ui, f: &Finished, out: &Path) -> anyhow::Result<()> {
    let (title, trailer) = (&f.title, &f.trailer);
    ui.print(&render_test_report(
        &f.report,
        f.thresholds.as_ref(),
        title,
        &f.timing,
    ));
    if !trailer.is_empty() {
        ui.print(trailer);
    }
    if ui.json {
        let text = std::fs::read_to_string(out.join(textclf_eval::METRICS_FILE))?;
        ui.print_json(&serde_json::from_str(&text)?)?;
    }
    Ok(())
}

/// Parses `--class-weights`: `balanced`, or positive numbers, one per class in label
/// order (their count is checked against the data).
pub fn parse_class_weights(spec: Option<&str>) -> anyhow::Result<ClassWeights> {
    match spec {
        None => Ok(ClassWeights::None),
        Some("balanced") => Ok(ClassWeights::Balanced),
        Some(list) => {
            let w: Vec<f64> = list
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| {
                    format!("--class-weights '{list}': use 'balanced' or numbers like 1,3")
                })?;
            if w.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
                bail!("--class-weights must all be positive numbers (not inf or nan)");
            }
            Ok(ClassWeights::Explicit(w))
        }
    }
}

/// How a command's error ends its run, for `status.json`.
pub fn classify(e: &anyhow::Error) -> Outcome {
    use textclf_experiment::{ExperimentError, OutOfMemory};
    let interrupted = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<textclf_train::TrainError>(),
            Some(textclf_train::TrainError::Interrupted { .. })
        ) || matches!(
            c.downcast_ref::<ExperimentError>(),
            Some(ExperimentError::Interrupted(_))
        )
    });
    if interrupted {
        return Outcome::Interrupted;
    }
    // Only real evidence counts: the typed error, or the CUDA driver's own error code
    // (candle passes the driver's error on as text). A message that merely says "out of
    // memory" (a file name, a data value) does not.
    let oom = e.chain().any(|c| {
        c.is::<OutOfMemory>()
            || matches!(
                c.downcast_ref::<ExperimentError>(),
                Some(ExperimentError::OutOfMemory(_))
            )
            || c.to_string().contains("CUDA_ERROR_OUT_OF_MEMORY")
    });
    if oom {
        Outcome::OutOfMemory
    } else {
        Outcome::Failed
    }
}

/// Starts the run folder of `--out` (see [`RunFolder`]).
pub fn begin_run(o: &OutArgs, what: &str) -> anyhow::Result<RunFolder> {
    Ok(RunFolder::begin(
        &o.out,
        &Begin {
            overwrite: o.overwrite,
            what,
            in_place: o.in_place,
        },
    )?)
}

/// Runs `body` writing into `folder`'s working folder. A complete run is moved into place
/// and printed; a failed or interrupted one leaves its working folder with `status.json`
/// saying why.
pub fn finish_run(
    mut folder: RunFolder,
    ui: &Ui,
    body: impl FnOnce(&mut RunFolder) -> anyhow::Result<Finished>,
) -> anyhow::Result<()> {
    match body(&mut folder) {
        Ok(f) => {
            let target: PathBuf = folder.commit()?;
            print_run(ui, &f, &target)
        }
        Err(e) => {
            let outcome = classify(&e);
            let status = RunStatus::new(outcome, Some(format!("{e:#}")));
            if let Err(w) = folder.abandon(&status) {
                ui.warn(&format!("cannot record the run's status: {w}"));
            }
            Err(e)
        }
    }
}

/// Refuses an `eval` or `ensemble` `--out` that holds a run another command made: they
/// never write into (or replace) a run they did not create.
pub fn refuse_foreign_run(o: &OutArgs, own: &str) -> anyhow::Result<()> {
    if let textclf_runs::Occupant::Run { command } = describe_occupant(&o.out) {
        if command.as_deref() != Some(own) {
            bail!(
                "{} holds {}; `textclf {own}` never writes into a run it did not create: choose another --out (e.g. {}-{own})",
                o.out.display(),
                command.map_or("a textclf run".to_string(), |c| format!("a `textclf {c}` run")),
                o.out.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_needs_real_evidence() {
        let typed = anyhow::Error::from(textclf_experiment::OutOfMemory("batch 64".into()));
        assert_eq!(classify(&typed), Outcome::OutOfMemory);
        let cuda = anyhow::anyhow!("DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")")
            .context("training step failed");
        assert_eq!(classify(&cuda), Outcome::OutOfMemory);
        // Words alone are not evidence: a file or a value may say it.
        let words = anyhow::anyhow!("cannot read data/out of memory notes.csv: no such file");
        assert_eq!(classify(&words), Outcome::Failed);
    }
}
