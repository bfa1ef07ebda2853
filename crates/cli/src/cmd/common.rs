//! Pieces shared by subcommands: data loading from flags, evaluation, and the run folder
//! (built in `<out>.partial/`, moved into place when complete; metrics.json,
//! predictions.csv).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};
use textclf_core::{Classifier, Dataset};
use textclf_data::{prepare, Format, PrepareOptions, ReadOptions, Source, Splits};
use textclf_eval::{evaluate, write_metrics, write_predictions, EvalOptions, Report, Timing};

use textclf_runs::{describe_occupant, Begin, Outcome, RunFolder, RunStatus};

use crate::args::{ColumnArgs, DataArgs, EvalOpts, FormatArg, OutArgs};
use crate::ui::Ui;

pub fn read_options(c: &ColumnArgs, labelled: bool) -> ReadOptions {
    let mut o = if labelled {
        ReadOptions::labelled()
    } else {
        ReadOptions::unlabelled()
    };
    o.text_col = c.text_col.clone();
    o.label_col = c.label_col.clone();
    o.id_col = c.id_col.clone();
    o.pair_col = c.text_pair_col.clone();
    o.label_cols = c.label_cols.clone();
    o.format = c.format.map(|f| match f {
        FormatArg::Csv => Format::Csv,
        FormatArg::Tsv => Format::Tsv,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Parquet => Format::Parquet,
        FormatArg::Folder => Format::Folder,
    });
    o
}

/// How label strings become targets (`--task`, `--label-sep`).
pub fn target_options(c: &ColumnArgs) -> textclf_data::TargetOptions {
    textclf_data::TargetOptions {
        task: c.task,
        label_sep: c.label_sep.clone(),
    }
}

/// Refuses data of a shape `what` cannot handle yet: sentence pairs, multi-label or
/// regression. Nothing is dropped silently: a pair's second text is never ignored.
pub fn require_single_text_single_label(
    splits: &textclf_data::Splits,
    what: &str,
) -> anyhow::Result<()> {
    let task = splits.train.task();
    if task != textclf_core::Task::SingleLabel {
        anyhow::bail!(
            "{what} handles single-label data only so far, and this data is {task} (see the \
             'task:' note above); pass --task single-label if each label is one class"
        );
    }
    if splits.train.pairs.is_some() {
        anyhow::bail!(
            "{what} handles single texts only so far, and this data holds text pairs (see the \
             'second text column' note above); pass --text-col NAME to use one column"
        );
    }
    Ok(())
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

/// Reads and splits the data the flags describe.
pub fn load_splits(d: &DataArgs, ui: &Ui) -> anyhow::Result<Splits> {
    let source = match (&d.train, &d.test) {
        (Some(train), Some(test)) => Source::Files {
            train: train.clone(),
            valid: d.valid.clone(),
            test: test.clone(),
        },
        (Some(_), None) => bail!("--train needs --test (or use --data to split one pool)"),
        _ => {
            if d.data.is_empty() {
                bail!("give --train/--test files, or --data to split one pool");
            }
            Source::Pool {
                files: d.data.clone(),
                fractions: parse_split(&d.split)?,
            }
        }
    };
    let opts = PrepareOptions {
        read: read_options(&d.columns, true),
        seed: d.seed,
        subset_frac: d.subset_frac,
        per_class: d.per_class,
        targets: target_options(&d.columns),
    };
    let splits = prepare(&source, &opts).context("cannot prepare the data")?;
    for n in &splits.notes {
        ui.note(n);
    }
    for w in textclf_data::check_splits(&splits)? {
        ui.warn(&w);
    }
    Ok(splits)
}

/// Splits a stratified share `frac` of `train` off for validation: (rest, held out).
pub fn holdout_valid(train: &Dataset, frac: f64, seed: u64) -> (Dataset, Dataset) {
    let parts = textclf_data::stratified_split(
        train.labels().unwrap_or_default(),
        train.label_set.len(),
        &[1.0 - frac, frac],
        seed,
    );
    let name = &train.name;
    let pct = |f: f64| format!("{:.0} %", 100.0 * f);
    (
        train.select(&parts[0], format!("{name} ({})", pct(1.0 - frac))),
        train.select(
            &parts[1],
            format!("{name} ({} held out for validation)", pct(frac)),
        ),
    )
}

/// Summary of a split for metrics.json.
pub fn split_info(d: &Dataset) -> Value {
    let counts = d.class_counts();
    let per_class: Map<String, Value> = d
        .label_set
        .names()
        .iter()
        .zip(counts)
        .map(|(n, c)| (n.clone(), json!(c)))
        .collect();
    json!({ "name": d.name, "rows": d.len(), "per_class": per_class })
}

/// A model's predictions on a labelled split, and their evaluation.
pub struct Evaluated {
    pub report: Report,
    pub probs: textclf_core::Predictions,
    /// The split's gold labels as ids of the model's classes.
    pub gold: Vec<usize>,
}

/// Predicts `data` with `model` and evaluates it.
pub fn predict_and_evaluate(
    model: &dyn Classifier,
    data: &Dataset,
    eval: &EvalOpts,
    seed: u64,
    timing: &mut Timing,
    ui: &Ui,
    what: &str,
) -> anyhow::Result<Evaluated> {
    if model.labels() != &data.label_set {
        let unknown: Vec<&String> = data
            .label_set
            .names()
            .iter()
            .filter(|n| model.labels().id(n).is_none())
            .collect();
        if !unknown.is_empty() {
            bail!(
                "{}: labels {unknown:?} are not among the model's classes {:?}",
                data.name,
                model.labels().names()
            );
        }
    }
    ui.phase(&format!("predicting {what} ({} texts)", data.len()));
    let t = Instant::now();
    let probs = model.predict_proba(&data.text_refs())?;
    timing.add(format!("predict_{what}"), t.elapsed().as_secs_f64());
    // Map the data's label ids onto the model's (they may order classes differently).
    let gold: Vec<usize> = data
        .labels()?
        .iter()
        .map(|&l| model.labels().id(data.label_set.name(l)).unwrap_or(0))
        .collect();
    ui.phase(&format!("evaluating {what}"));
    let t = Instant::now();
    let opts = EvalOptions {
        bootstrap: eval.bootstrap,
        seed,
        ..EvalOptions::default()
    };
    let report = evaluate(&gold, &probs, model.labels(), &opts)?;
    timing.add(format!("evaluate_{what}"), t.elapsed().as_secs_f64());
    ui.finish();
    Ok(Evaluated {
        report,
        probs,
        gold,
    })
}

/// Writes metrics.json and predictions.csv of the test evaluation `ev` into `out`.
pub fn write_run(
    out: &Path,
    model: &dyn Classifier,
    test: &Dataset,
    ev: &Evaluated,
    timing: &Timing,
    extra: Map<String, Value>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_predictions(out, &test.ids, Some(&ev.gold), &ev.probs, model.labels())
        .with_context(|| format!("cannot write predictions into {}", out.display()))?;
    write_metrics(out, &ev.report, timing, extra)
        .with_context(|| format!("cannot write metrics into {}", out.display()))?;
    Ok(())
}

/// Writes `valid_predictions.csv` (the validation split's probabilities, which
/// `textclf ensemble` uses to weight members) into `out`.
pub fn write_valid_predictions(
    out: &Path,
    model: &dyn Classifier,
    valid: &Dataset,
    ev: &Evaluated,
) -> anyhow::Result<()> {
    let path = out.join(textclf_eval::VALID_PREDICTIONS_FILE);
    textclf_eval::write_predictions_file(
        &path,
        &valid.ids,
        Some(&ev.gold),
        &ev.probs,
        model.labels(),
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

/// The validation summary metrics.json keeps (`valid`).
pub fn valid_summary(r: &Report) -> Value {
    json!({ "accuracy": r.accuracy, "macro_f1": r.macro_f1, "log_loss": r.log_loss, "n": r.n })
}

/// Saves `model` into `<out>/model`, timing it as the `save` phase.
pub fn save_model(
    model: &dyn Classifier,
    out: &Path,
    timing: &mut Timing,
    ui: &Ui,
) -> anyhow::Result<()> {
    ui.phase("saving model");
    let t = Instant::now();
    let dir = out.join("model");
    model
        .save(&dir)
        .with_context(|| format!("cannot save the model into {}", dir.display()))?;
    textclf_runs::honour_umask(&dir)?;
    textclf_runs::write_manifest(&dir, None)?;
    timing.add("save", t.elapsed().as_secs_f64());
    ui.finish();
    Ok(())
}

/// Prints the test report (or, with --json, the whole metrics.json) at the end of a run.
pub fn print_run(
    ui: &Ui,
    report: &Report,
    title: &str,
    timing: &Timing,
    out: &Path,
    trailer: &str,
) -> anyhow::Result<()> {
    ui.print(&textclf_eval::render_report(report, title, Some(timing)));
    if !trailer.is_empty() {
        ui.print(trailer);
    }
    if ui.json {
        let text = std::fs::read_to_string(out.join("metrics.json"))?;
        ui.print_json(&serde_json::from_str(&text)?)?;
    }
    Ok(())
}

/// How `--class-weights` asked to weight the classes.
pub enum WeightSpec {
    Balanced,
    Explicit(Vec<f64>),
}

/// Parses `--class-weights`: `balanced`, or one positive number per class in label order.
pub fn parse_class_weights(
    spec: Option<&str>,
    num_classes: usize,
) -> anyhow::Result<Option<WeightSpec>> {
    match spec {
        None => Ok(None),
        Some("balanced") => Ok(Some(WeightSpec::Balanced)),
        Some(list) => {
            let w: Vec<f64> = list
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| {
                    format!("--class-weights '{list}': use 'balanced' or numbers like 1,3")
                })?;
            if w.len() != num_classes {
                bail!(
                    "--class-weights gives {} weights but the data has {num_classes} classes (in label order)",
                    w.len()
                );
            }
            if w.iter().any(|x| x.is_nan() || *x <= 0.0) {
                bail!("--class-weights must all be positive");
            }
            Ok(Some(WeightSpec::Explicit(w)))
        }
    }
}

/// An out-of-memory failure, as a type: the sweep retries such a run with a smaller batch.
#[derive(Debug, thiserror::Error)]
#[error("out of memory: {0}")]
pub struct OutOfMemory(pub String);

/// How a command's error ends its run, for `status.json`.
pub fn classify(e: &anyhow::Error) -> Outcome {
    let interrupted = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<textclf_train::TrainError>(),
            Some(textclf_train::TrainError::Interrupted { .. })
        )
    });
    if interrupted {
        return Outcome::Interrupted;
    }
    // A device allocator's own error (CUDA reports CUDA_ERROR_OUT_OF_MEMORY).
    let oom = e.chain().any(|c| {
        c.is::<OutOfMemory>() || {
            let t = c.to_string();
            t.contains("CUDA_ERROR_OUT_OF_MEMORY") || t.to_lowercase().contains("out of memory")
        }
    });
    if oom {
        Outcome::OutOfMemory
    } else {
        Outcome::Failed
    }
}

/// What a finished run prints once it is in place.
pub struct Finished {
    pub report: Report,
    pub title: String,
    pub timing: Timing,
    pub trailer: String,
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
            print_run(ui, &f.report, &f.title, &f.timing, &target, &f.trailer)
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
