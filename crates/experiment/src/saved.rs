//! Scoring a saved model (linear or fine-tuned) on a labelled file: the file is read and
//! predicted a chunk at a time, and the run record is written as for any run.

use std::path::Path;
use std::time::Instant;

use textclf_core::{check_inputs, Inputs, LabelSet, Model, Outputs, Targets, Task};
use textclf_eval::{ShapedMetrics, Timing, PREDICTIONS_FILE};
use textclf_runs::{EvalData, EvalRun, RunBody, SavedModel};

use crate::error::{ExperimentError, Result, Step};
use crate::evaluate::evaluate_outputs;
use crate::finished::Finished;
use crate::observer::Observer;
use crate::record::{split_counts, write_outputs};
use crate::spec::{DataSource, ExperimentSpec};

/// Loads a saved model folder: a linear baseline of any shape (`model.json`, its kind
/// named by its `format`) or a fine-tuned transformer (`config.json`, its task by
/// `problem_type`), checked against its manifest; `int8` quantizes a transformer's linear
/// layers.
pub fn load_saved_model(dir: &Path, int8: bool, obs: &dyn Observer) -> Result<Box<dyn Model>> {
    if std::fs::metadata(dir).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Err(ExperimentError::Invalid(format!(
            "no model folder at {}: check the path (a saved model is the `model` folder inside a run, e.g. runs/lr/model)",
            dir.display()
        )));
    }
    if dir.is_dir() {
        textclf_runs::verify_manifest(dir, "the model")?;
    }
    if dir.join("model.json").is_file() {
        if int8 {
            return Err(ExperimentError::Invalid(format!("--int8 applies to fine-tuned transformer models; {} is a linear baseline (already fast): drop --int8", dir.display())));
        }
        let m = textclf_linear::load_any(dir).step(format!("cannot load {}", dir.display()))?;
        return Ok(m);
    }
    if dir.join("config.json").is_file() {
        let (mut m, notes) =
            textclf_train::TransformerClassifier::load_noting(dir, &candle_core::Device::Cpu)
                .step(format!("cannot load {}", dir.display()))?;
        for n in notes {
            obs.warn(&n);
        }
        if int8 {
            m.model
                .quantize_int8()
                .step("cannot quantize the model to int8")?;
        }
        return Ok(Box::new(m));
    }
    Err(ExperimentError::Invalid(format!(
        "{} is not a saved textclf model: expected model.json (a `textclf baseline` model) or config.json (a `textclf train` model), as in <run>/model",
        dir.display()
    )))
}

/// The gold answers of rows with label strings `raw` (row ids `ids`, for messages) for a
/// model of `task` with `labels`: class ids, label-id sets (`sep`-joined names or JSON
/// lists) or numbers. A label the model never saw, or a target that is not a number, is
/// an error naming the row.
pub fn targets_of(
    raw: &[String],
    ids: &[String],
    task: Task,
    labels: &LabelSet,
    sep: &str,
    file: &Path,
) -> Result<Targets> {
    let row = |i: usize| ids.get(i).cloned().unwrap_or_else(|| (i + 1).to_string());
    let unseen = |i: usize, l: &str| {
        ExperimentError::Invalid(format!(
            "{}: row {} has label '{l}', which the model never saw (its {}: {:?})",
            file.display(),
            row(i),
            if task == Task::MultiLabel {
                "labels"
            } else {
                "classes"
            },
            labels.names()
        ))
    };
    Ok(match task {
        Task::SingleLabel => Targets::Classes(
            raw.iter()
                .enumerate()
                .map(|(i, l)| labels.id(l).ok_or_else(|| unseen(i, l)))
                .collect::<Result<_>>()?,
        ),
        Task::MultiLabel => Targets::LabelSets(
            raw.iter()
                .enumerate()
                .map(|(i, l)| {
                    let names = textclf_data::parse_label_list(l, sep).map_err(|m| {
                        ExperimentError::Invalid(format!("{}: row {}: {m}", file.display(), row(i)))
                    })?;
                    let mut set = names
                        .iter()
                        .map(|n| labels.id(n).ok_or_else(|| unseen(i, n)))
                        .collect::<Result<Vec<_>>>()?;
                    set.sort_unstable();
                    Ok(set)
                })
                .collect::<Result<_>>()?,
        ),
        Task::Regression => Targets::Scores(
            raw.iter()
                .enumerate()
                .map(|(i, l)| match l.trim().parse::<f32>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => Err(ExperimentError::Invalid(format!(
                        "{}: row {} has the target '{}', which is not a number; the model is a regression and needs a number in every row",
                        file.display(),
                        row(i),
                        l.trim()
                    ))),
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// What `eval` keeps of the rows it has scored: ids, gold answers and outputs.
#[derive(Default)]
struct Scored {
    ids: Vec<String>,
    gold: Option<Targets>,
    outputs: Option<Outputs>,
    predict_s: f64,
}

impl Scored {
    /// Predicts one chunk of labelled rows with `model` and keeps what the report needs.
    fn add(
        &mut self,
        model: &dyn Model,
        c: textclf_data::Chunk,
        labels: &LabelSet,
        sep: &str,
        file: &Path,
    ) -> Result<()> {
        let a: Vec<&str> = c.texts.iter().map(String::as_str).collect();
        let b: Option<Vec<&str>> = c
            .pairs
            .as_ref()
            .map(|p| p.iter().map(String::as_str).collect());
        let inputs = match &b {
            Some(b) => Inputs::Pairs(&a, b),
            None => Inputs::Texts(&a),
        };
        check_inputs(model, &inputs)?;
        let raw = c.labels.as_deref().unwrap_or_default();
        let g = targets_of(raw, &c.ids, model.task(), labels, sep, file)?;
        let tp = Instant::now();
        let o = model.predict(inputs)?;
        self.predict_s += tp.elapsed().as_secs_f64();
        match &mut self.gold {
            Some(all) => all.extend(g)?,
            None => self.gold = Some(g),
        }
        match &mut self.outputs {
            Some(all) => all.extend(o)?,
            None => self.outputs = Some(o),
        }
        self.ids.extend(c.ids);
        Ok(())
    }
}

/// Scores the saved model `path` on the labelled file of `spec.data`, writing the record
/// into `out`.
pub fn run_saved(
    spec: &ExperimentSpec,
    path: &Path,
    int8: bool,
    out: &Path,
    obs: &dyn Observer,
) -> Result<Finished> {
    let DataSource::Test { file } = &spec.data.source else {
        return Err(ExperimentError::Invalid(
            "scoring a saved model needs one labelled file (data.source.kind = test)".into(),
        ));
    };
    let started = Instant::now();
    let mut timing = Timing::new();
    obs.phase("loading model");
    let t = Instant::now();
    let model = load_saved_model(path, int8, obs)?;
    timing.add("load_model", t.elapsed().as_secs_f64());
    let task = model.task();
    if let Some(given) = spec.data.columns.task {
        if given != task {
            return Err(ExperimentError::Invalid(format!(
                "--task {given}, but the {} model in {} is {task}: drop --task, or evaluate a {given} model",
                model.kind(),
                path.display()
            )));
        }
    }
    // The file is read and predicted a chunk at a time: only ids, gold answers and
    // outputs are kept (what the report and its bootstrap need), never all texts.
    let labels = model.labels();
    let t = Instant::now();
    let mut acc = Scored::default();
    let mut failed: Option<ExperimentError> = None;
    let sep = spec.data.columns.label_sep.clone();
    let read = textclf_data::read_table_chunked(
        file,
        &spec.data.columns.read_options(true),
        8192,
        &mut |c| {
            obs.phase(&format!(
                "predicting rows {}–{}",
                acc.ids.len() + 1,
                acc.ids.len() + c.texts.len()
            ));
            acc.add(model.as_ref(), c, &labels, &sep, file)
                .map_err(|e| {
                    failed = Some(e);
                    textclf_data::DataError::Unusable("evaluation stopped".into())
                })
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    read.step(format!("cannot read {}", file.display()))?;
    obs.finish();
    let Scored {
        ids,
        gold,
        outputs,
        predict_s,
    } = acc;
    let (Some(gold), Some(outputs)) = (gold, outputs) else {
        return Err(ExperimentError::Invalid(format!(
            "{}: no rows to evaluate",
            file.display()
        )));
    };
    timing.add("read", t.elapsed().as_secs_f64() - predict_s);
    timing.add("predict_test", predict_s);
    obs.phase("evaluating test");
    let t = Instant::now();
    let opts = textclf_eval::EvalOptions {
        bootstrap: spec.eval.bootstrap,
        seed: spec.data.seed,
        ..textclf_eval::EvalOptions::default()
    };
    let report = evaluate_outputs(&gold, &outputs, &labels, &opts)?;
    timing.add("evaluate_test", t.elapsed().as_secs_f64());
    obs.finish();
    let name = file.display().to_string();
    let counts = gold.counts(labels.len());
    let mut test_info = split_counts(&name, labels.names(), &counts);
    test_info.rows = ids.len();
    if counts.is_empty() {
        test_info.per_class = None;
    }
    timing.add("total", started.elapsed().as_secs_f64());
    let run = RunBody::Eval(EvalRun {
        model: SavedModel {
            kind: model.kind(),
            path: path.display().to_string(),
            int8,
        },
        data: EvalData { test: test_info },
    });
    std::fs::create_dir_all(out).step(format!("cannot create {}", out.display()))?;
    write_outputs(
        &out.join(PREDICTIONS_FILE),
        &ids,
        Some(&gold),
        &outputs,
        &labels,
    )?;
    ShapedMetrics::new(report.clone(), timing.clone(), run)
        .write(out)
        .step(format!("cannot write metrics into {}", out.display()))?;
    let title = format!(
        "{} on {} ({} {})",
        model.kind(),
        name,
        ids.len(),
        if model.takes_pairs() {
            "pairs"
        } else {
            "texts"
        }
    );
    Ok(Finished {
        thresholds: None,
        report,
        title,
        timing,
        trailer: String::new(),
    })
}
