//! Scoring a saved model (linear or fine-tuned) on a labelled file: the file is read and
//! predicted a chunk at a time, and the run record is written as for any run.

use std::path::Path;
use std::time::Instant;

use textclf_core::Classifier;
use textclf_eval::Timing;
use textclf_linear::LinearClassifier;
use textclf_runs::{EvalData, EvalRun, RunBody, SavedModel};

use crate::error::{ExperimentError, Result, Step};
use crate::observer::Observer;
use crate::record::split_counts;
use crate::spec::{DataSource, ExperimentSpec};
use crate::Finished;

/// Loads a saved model folder: a linear baseline (`model.json`) or a fine-tuned
/// transformer (`config.json`), checked against its manifest; `int8` quantizes a
/// transformer's linear layers.
pub fn load_saved_model(dir: &Path, int8: bool, obs: &dyn Observer) -> Result<Box<dyn Classifier>> {
    if dir.is_dir() {
        textclf_runs::verify_manifest(dir, "the model")?;
    }
    if dir.join("model.json").is_file() {
        if int8 {
            return Err(ExperimentError::Invalid(format!("--int8 applies to fine-tuned transformer models; {} is a linear baseline (already fast): drop --int8", dir.display())));
        }
        let m = LinearClassifier::load(dir).step(format!("cannot load {}", dir.display()))?;
        return Ok(Box::new(m));
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
    // The file is read and predicted a chunk at a time: only ids, gold labels and
    // probabilities are kept (what the report and its bootstrap need), never all texts.
    let labels = model.labels().clone();
    let k = labels.len();
    let t = Instant::now();
    let (mut ids, mut gold, mut probs) = (Vec::new(), Vec::new(), Vec::<f32>::new());
    let mut predict_s = 0.0;
    let mut failed: Option<ExperimentError> = None;
    let read = textclf_data::read_table_chunked(
        file,
        &spec.data.columns.read_options(true),
        8192,
        &mut |c| {
            let stop = |e: ExperimentError, failed: &mut Option<ExperimentError>| {
                *failed = Some(e);
                textclf_data::DataError::Unusable("evaluation stopped".into())
            };
            if c.pairs.is_some() {
                return Err(stop(pairs_refused(file), &mut failed));
            }
            let (chunk_ids, texts, chunk_labels) = (c.ids, c.texts, c.labels);
            let chunk_labels = chunk_labels.unwrap_or_default();
            for (row, l) in chunk_labels.iter().enumerate() {
                match labels.id(l) {
                    Some(i) => gold.push(i),
                    None => {
                        let e = ExperimentError::Invalid(format!(
                            "{}: row {} has label '{l}', which the model never saw (its classes: {:?})",
                            file.display(),
                            chunk_ids.get(row).cloned().unwrap_or_default(),
                            labels.names()
                        ));
                        return Err(stop(e, &mut failed));
                    }
                }
            }
            obs.phase(&format!(
                "predicting texts {}–{}",
                ids.len() + 1,
                ids.len() + texts.len()
            ));
            let tp = Instant::now();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let p = model
                .predict_proba(&refs)
                .map_err(|e| stop(e.into(), &mut failed))?;
            predict_s += tp.elapsed().as_secs_f64();
            for i in 0..p.len() {
                probs.extend_from_slice(p.row(i));
            }
            ids.extend(chunk_ids);
            Ok(())
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    read.step(format!("cannot read {}", file.display()))?;
    obs.finish();
    timing.add("read", t.elapsed().as_secs_f64() - predict_s);
    timing.add("predict_test", predict_s);
    let probs = textclf_core::Predictions::new(k, probs)?;
    obs.phase("evaluating test");
    let t = Instant::now();
    let opts = textclf_eval::EvalOptions {
        bootstrap: spec.eval.bootstrap,
        seed: spec.data.seed,
        ..textclf_eval::EvalOptions::default()
    };
    let report = textclf_eval::evaluate(&gold, &probs, &labels, &opts)?;
    timing.add("evaluate_test", t.elapsed().as_secs_f64());
    obs.finish();
    let mut counts = vec![0usize; k];
    for &g in &gold {
        counts[g] += 1;
    }
    let name = file.display().to_string();
    let test_info = split_counts(&name, labels.names(), &counts);
    timing.add("total", started.elapsed().as_secs_f64());
    let run = RunBody::Eval(EvalRun {
        model: SavedModel {
            kind: model.kind().to_string(),
            path: path.display().to_string(),
            int8,
        },
        data: EvalData { test: test_info },
    });
    std::fs::create_dir_all(out).step(format!("cannot create {}", out.display()))?;
    textclf_eval::write_predictions(out, &ids, Some(&gold), &probs, &labels)
        .step(format!("cannot write predictions into {}", out.display()))?;
    textclf_eval::Metrics::new(report.clone(), timing.clone(), run)
        .write(out)
        .step(format!("cannot write metrics into {}", out.display()))?;
    let title = format!("{} on {} ({} texts)", model.kind(), name, ids.len());
    Ok(Finished {
        report,
        title,
        timing,
        trailer: String::new(),
    })
}

/// Saved models read single texts so far: a file of text pairs is refused, never read as
/// its first column alone (`eval` here, `predict` in the CLI).
pub fn pairs_refused(file: &Path) -> ExperimentError {
    ExperimentError::Invalid(format!(
        "{}: the file holds text pairs, but saved models read single texts so far; pass \
         --text-col NAME to use one column",
        file.display()
    ))
}
