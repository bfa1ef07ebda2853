//! `textclf predict` and `textclf eval`: use a saved model on new data.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Map};
use textclf_core::Classifier;
use textclf_data::read_table;
use textclf_eval::Timing;
use textclf_linear::LinearClassifier;
use textclf_runs::{EvalData, EvalRun, RunBody, SavedModel};

use super::common::{begin_run, finish_run, read_options, refuse_foreign_run, Finished};
use crate::args::{EvalArgs, PredictArgs};
use crate::ui::Ui;

/// Loads any saved textclf model folder; `int8` quantizes a transformer's encoder
/// layers for faster CPU inference.
pub fn load_model(dir: &Path, int8: bool, ui: &Ui) -> anyhow::Result<Box<dyn Classifier>> {
    if dir.is_dir() {
        textclf_runs::verify_manifest(dir, "the model")?;
    }
    if dir.join("model.json").is_file() {
        if int8 {
            bail!("--int8 applies to fine-tuned transformer models; {} is a linear baseline (already fast): drop --int8", dir.display());
        }
        let m = LinearClassifier::load(dir)?;
        return Ok(Box::new(m));
    }
    if dir.join("config.json").is_file() {
        let (mut m, notes) =
            textclf_train::TransformerClassifier::load_noting(dir, &candle_core::Device::Cpu)?;
        for n in notes {
            ui.warn(&n);
        }
        if int8 {
            m.model.quantize_int8()?;
        }
        return Ok(Box::new(m));
    }
    bail!(
        "{} is not a saved textclf model: expected model.json (a `textclf baseline` model) or config.json (a `textclf train` model), as in <run>/model",
        dir.display()
    )
}

/// Whether two paths name the same file (the same inode when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        _ => match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        },
    }
}

pub fn predict(a: PredictArgs, ui: &Ui) -> anyhow::Result<()> {
    if let Some(o) = &a.output {
        if same_file(o, &a.input) {
            bail!(
                "--output {} is the --input file: the predictions would overwrite the texts; write them to another file",
                o.display()
            );
        }
        if o.is_dir() {
            bail!(
                "--output {} is a folder; give a file name such as predictions.csv",
                o.display()
            );
        }
    }
    ui.phase("loading model");
    let model = load_model(&a.model, a.int8, ui)?;
    let labels = model.labels().clone();
    let stdin = a.input.as_os_str() == "-";
    let read_stdin = || -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let mut texts = vec![];
        for line in std::io::stdin().lock().lines() {
            texts.push(line.context("cannot read stdin (UTF-8 text, one text per line)")?);
        }
        Ok((
            (1..=texts.len()).map(|i| format!("stdin:{i}")).collect(),
            texts,
        ))
    };
    // --json to stdout: the predictions as one JSON document instead of CSV.
    if a.output.is_none() && ui.json {
        ui.phase("reading texts");
        let (ids, texts) = if stdin {
            read_stdin()?
        } else {
            let t = read_table(&a.input, &read_options(&a.columns, false))
                .with_context(|| format!("cannot read {}", a.input.display()))?;
            (t.ids, t.texts)
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let probs = model.predict_proba(&refs)?;
        let rows: Vec<serde_json::Value> = probs
            .argmax()
            .into_iter()
            .enumerate()
            .map(|(i, pred)| {
                let p: Map<String, serde_json::Value> = labels
                    .names()
                    .iter()
                    .zip(probs.row(i))
                    .map(|(n, &p)| (n.clone(), json!(p)))
                    .collect();
                json!({"id": ids[i], "predicted": labels.name(pred), "probabilities": p})
            })
            .collect();
        return ui.print_json(&json!({"labels": labels.names(), "predictions": rows}));
    }
    // CSV, streamed: the input is read, predicted and written a chunk at a time, so memory
    // stays bounded whatever the input's size (CSV, TSV and JSON lines; Parquet files and
    // folders are read whole first). A file output is atomic: it appears whole, or the old
    // file stays.
    let mut file = match &a.output {
        Some(p) => Some(
            textclf_runs::AtomicFile::create(p)
                .with_context(|| format!("cannot write {}", p.display()))?,
        ),
        None => None,
    };
    let stdout = std::io::stdout();
    let mut done = 0usize;
    {
        let sink: Box<dyn Write + '_> = match &mut file {
            Some(f) => Box::new(f),
            None => Box::new(std::io::BufWriter::new(stdout.lock())),
        };
        let mut w = csv::Writer::from_writer(sink);
        let mut header = vec!["id".to_string(), "predicted".to_string()];
        header.extend(labels.names().iter().map(|n| format!("p_{n}")));
        w.write_record(&header)?;
        let mut write_chunk = |ids: Vec<String>, texts: Vec<String>| -> anyhow::Result<()> {
            ui.phase(&format!(
                "predicting texts {}–{}",
                done + 1,
                done + texts.len()
            ));
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let probs = model.predict_proba(&refs)?;
            for (i, pred) in probs.argmax().into_iter().enumerate() {
                let mut rec = vec![ids[i].clone(), labels.name(pred).to_string()];
                rec.extend(probs.row(i).iter().map(|p| format!("{p:.6}")));
                w.write_record(&rec)?;
            }
            done += texts.len();
            Ok(())
        };
        const CHUNK: usize = 8192;
        if stdin {
            let (ids, texts) = read_stdin()?;
            for (i, t) in ids.chunks(CHUNK).zip(texts.chunks(CHUNK)) {
                write_chunk(i.to_vec(), t.to_vec())?;
            }
        } else {
            let mut failed: Option<anyhow::Error> = None;
            let read = textclf_data::read_table_chunked(
                &a.input,
                &read_options(&a.columns, false),
                CHUNK,
                &mut |c| {
                    if c.pairs.is_some() {
                        failed = Some(single_texts_only(&a.input));
                        return Err(textclf_data::DataError::Unusable(
                            "prediction failed".into(),
                        ));
                    }
                    write_chunk(c.ids, c.texts).map_err(|e| {
                        failed = Some(e);
                        textclf_data::DataError::Unusable("prediction failed".into())
                    })
                },
            );
            if let Some(e) = failed {
                return Err(e);
            }
            read.with_context(|| format!("cannot read {}", a.input.display()))?;
        }
        ui.finish();
        w.flush()?;
    }
    if let (Some(f), Some(p)) = (file, &a.output) {
        f.commit()
            .with_context(|| format!("cannot write {}", p.display()))?;
        ui.note(&format!("wrote {done} predictions to {}", p.display()));
        ui.print_json(&json!({"output": p, "rows": done, "labels": labels.names()}))?;
    }
    Ok(())
}

/// Saved models read single texts so far: a file of text pairs is refused, never read as
/// its first column alone.
fn single_texts_only(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: the file holds text pairs, but saved models read single texts so far; pass \
         --text-col NAME to use one column",
        path.display()
    )
}

pub fn eval(a: EvalArgs, ui: &Ui) -> anyhow::Result<()> {
    refuse_foreign_run(&a.out, "eval")?;
    let mut folder = begin_run(&a.out, "textclf eval")?;
    if folder.has_leftover() && !a.out.in_place {
        folder.clear()?;
    }
    finish_run(folder, ui, |f| eval_and_write(&a, f.work(), ui))
}

fn eval_and_write(a: &EvalArgs, out: &Path, ui: &Ui) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    ui.phase("loading model");
    let t = Instant::now();
    let model = load_model(&a.model, a.int8, ui)?;
    timing.add("load_model", t.elapsed().as_secs_f64());
    // The file is read and predicted a chunk at a time: only ids, gold labels and
    // probabilities are kept (what the report and its bootstrap need), never all texts.
    let labels = model.labels().clone();
    let k = labels.len();
    let t = Instant::now();
    let (mut ids, mut gold, mut probs) = (Vec::new(), Vec::new(), Vec::<f32>::new());
    let mut predict_s = 0.0;
    let mut failed: Option<anyhow::Error> = None;
    let read = textclf_data::read_table_chunked(
        &a.data,
        &read_options(&a.columns, true),
        8192,
        &mut |c| {
            let stop = |e: anyhow::Error, failed: &mut Option<anyhow::Error>| {
                *failed = Some(e);
                textclf_data::DataError::Unusable("evaluation stopped".into())
            };
            if c.pairs.is_some() {
                return Err(stop(single_texts_only(&a.data), &mut failed));
            }
            let (chunk_ids, texts, chunk_labels) = (c.ids, c.texts, c.labels);
            let chunk_labels = chunk_labels.unwrap_or_default();
            for (row, l) in chunk_labels.iter().enumerate() {
                match labels.id(l) {
                    Some(i) => gold.push(i),
                    None => {
                        let e = anyhow::anyhow!(
                            "{}: row {} has label '{l}', which the model never saw (its classes: {:?})",
                            a.data.display(),
                            chunk_ids.get(row).cloned().unwrap_or_default(),
                            labels.names()
                        );
                        return Err(stop(e, &mut failed));
                    }
                }
            }
            ui.phase(&format!(
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
    read.with_context(|| format!("cannot read {}", a.data.display()))?;
    ui.finish();
    timing.add("read", t.elapsed().as_secs_f64() - predict_s);
    timing.add("predict_test", predict_s);
    let probs = textclf_core::Predictions::new(k, probs)?;
    ui.phase("evaluating test");
    let t = Instant::now();
    let opts = textclf_eval::EvalOptions {
        bootstrap: a.eval.bootstrap,
        seed: a.seed,
        ..textclf_eval::EvalOptions::default()
    };
    let report = textclf_eval::evaluate(&gold, &probs, &labels, &opts)?;
    timing.add("evaluate_test", t.elapsed().as_secs_f64());
    ui.finish();
    let mut counts = vec![0usize; k];
    for &g in &gold {
        counts[g] += 1;
    }
    let name = a.data.display().to_string();
    let test_info = super::common::split_counts(&name, labels.names(), &counts);
    timing.add("total", started.elapsed().as_secs_f64());
    let run = RunBody::Eval(EvalRun {
        model: SavedModel {
            kind: model.kind().to_string(),
            path: a.model.display().to_string(),
            int8: a.int8,
        },
        data: EvalData { test: test_info },
    });
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    textclf_eval::write_predictions(out, &ids, Some(&gold), &probs, &labels)
        .with_context(|| format!("cannot write predictions into {}", out.display()))?;
    textclf_eval::Metrics::new(report.clone(), timing.clone(), run)
        .write(out)
        .with_context(|| format!("cannot write metrics into {}", out.display()))?;
    let title = format!("{} on {} ({} texts)", model.kind(), name, ids.len());
    Ok(Finished {
        report,
        title,
        timing,
        trailer: String::new(),
    })
}
