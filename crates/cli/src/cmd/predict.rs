//! `textclf predict` and `textclf eval`: use a saved model on new data.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::{json, Map};
use textclf_core::{check_inputs, Inputs, LabelSet, Model, Outputs, Task};
use textclf_data::read_table;
use textclf_experiment::{
    ClassWeights, DataSource, DataSpec, EvalSpec, ExperimentSpec, ModelSpec, TrainEnv,
};

use super::common::{begin_run, columns, finish_run, read_options, refuse_foreign_run};
use crate::args::{EvalArgs, PredictArgs};
use crate::ui::Ui;

/// Loads any saved textclf model folder; `int8` quantizes a transformer's encoder
/// layers for faster CPU inference.
pub fn load_model(dir: &Path, int8: bool, ui: &Ui) -> anyhow::Result<Box<dyn Model>> {
    Ok(textclf_experiment::load_saved_model(dir, int8, ui)?)
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

/// The CSV header of `predict` for `model`: `id,predicted` and one score column per
/// class or label (`p_<name>`); regression has only the value.
fn header(model: &dyn Model, labels: &LabelSet) -> Vec<String> {
    let mut h = vec!["id".to_string(), "predicted".to_string()];
    if model.task() != Task::Regression {
        h.extend(labels.names().iter().map(|n| format!("p_{n}")));
    }
    h
}

/// The label names of a set, joined as in predictions files.
fn join_labels(set: &[usize], labels: &LabelSet) -> String {
    set.iter()
        .map(|&l| labels.name(l))
        .collect::<Vec<_>>()
        .join(&textclf_eval::LABEL_JOIN.to_string())
}

/// The CSV rows of `outputs` for rows `ids`.
fn csv_rows(ids: &[String], outputs: &Outputs, labels: &LabelSet) -> Vec<Vec<String>> {
    let k = labels.len();
    match outputs {
        Outputs::Classes(p) => p
            .argmax()
            .into_iter()
            .enumerate()
            .map(|(i, pred)| {
                let mut rec = vec![ids[i].clone(), labels.name(pred).to_string()];
                rec.extend(p.row(i).iter().map(|p| format!("{p:.6}")));
                rec
            })
            .collect(),
        Outputs::LabelSets { scores, predicted } => predicted
            .iter()
            .enumerate()
            .map(|(i, set)| {
                let mut rec = vec![ids[i].clone(), join_labels(set, labels)];
                rec.extend(scores[i * k..(i + 1) * k].iter().map(|p| format!("{p:.6}")));
                rec
            })
            .collect(),
        Outputs::Values(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| vec![ids[i].clone(), format!("{x:.6}")])
            .collect(),
    }
}

/// The JSON rows of `outputs` for rows `ids`.
fn json_rows(ids: &[String], outputs: &Outputs, labels: &LabelSet) -> Vec<serde_json::Value> {
    let k = labels.len();
    let named = |row: &[f32]| -> Map<String, serde_json::Value> {
        labels
            .names()
            .iter()
            .zip(row)
            .map(|(n, &p)| (n.clone(), json!(p)))
            .collect()
    };
    match outputs {
        Outputs::Classes(p) => p
            .argmax()
            .into_iter()
            .enumerate()
            .map(|(i, pred)| {
                json!({"id": ids[i], "predicted": labels.name(pred), "probabilities": named(p.row(i))})
            })
            .collect(),
        Outputs::LabelSets { scores, predicted } => predicted
            .iter()
            .enumerate()
            .map(|(i, set)| {
                let names: Vec<&str> = set.iter().map(|&l| labels.name(l)).collect();
                json!({"id": ids[i], "predicted": names, "scores": named(&scores[i * k..(i + 1) * k])})
            })
            .collect(),
        Outputs::Values(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| json!({"id": ids[i], "predicted": x}))
            .collect(),
    }
}

/// Predicts rows with `model`, refusing inputs of the other shape.
fn predict_rows(
    model: &dyn Model,
    texts: &[String],
    pairs: Option<&[String]>,
) -> anyhow::Result<Outputs> {
    let a: Vec<&str> = texts.iter().map(String::as_str).collect();
    let b: Option<Vec<&str>> = pairs.map(|p| p.iter().map(String::as_str).collect());
    let inputs = match &b {
        Some(b) => Inputs::Pairs(&a, b),
        None => Inputs::Texts(&a),
    };
    check_inputs(model, &inputs)?;
    Ok(model.predict(inputs)?)
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
    let model = model.as_ref();
    let labels = model.labels();
    let stdin = a.input.as_os_str() == "-";
    if stdin && model.takes_pairs() {
        bail!(
            "the {} model reads text pairs, and stdin gives one text per line: give a file with both columns (--input FILE; --text-pair-col NAME if it is not auto-detected)",
            model.kind()
        );
    }
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
        let (ids, texts, pairs) = if stdin {
            let (ids, texts) = read_stdin()?;
            (ids, texts, None)
        } else {
            let t = read_table(&a.input, &read_options(&a.columns, false))
                .with_context(|| format!("cannot read {}", a.input.display()))?;
            (t.ids, t.texts, t.pairs)
        };
        let outputs = predict_rows(model, &texts, pairs.as_deref())?;
        let rows = json_rows(&ids, &outputs, &labels);
        let mut doc = json!({"labels": labels.names(), "predictions": rows});
        if model.task() != Task::SingleLabel {
            doc["task"] = json!(model.task().name());
        }
        return ui.print_json(&doc);
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
        w.write_record(header(model, &labels))?;
        let mut write_chunk = |ids: Vec<String>,
                               texts: Vec<String>,
                               pairs: Option<Vec<String>>|
         -> anyhow::Result<()> {
            ui.phase(&format!(
                "predicting {} {}–{}",
                if pairs.is_some() { "pairs" } else { "texts" },
                done + 1,
                done + texts.len()
            ));
            let outputs = predict_rows(model, &texts, pairs.as_deref())?;
            for rec in csv_rows(&ids, &outputs, &labels) {
                w.write_record(&rec)?;
            }
            done += texts.len();
            Ok(())
        };
        const CHUNK: usize = 8192;
        if stdin {
            // One text per line, a chunk at a time like a file.
            let mut texts = Vec::with_capacity(CHUNK);
            let mut lines = std::io::stdin().lock().lines();
            let (mut n, mut bytes) = (0usize, 0usize);
            loop {
                let line = lines
                    .next()
                    .transpose()
                    .context("cannot read stdin (UTF-8 text, one text per line)")?;
                let end = line.is_none();
                if let Some(l) = line {
                    bytes += l.len();
                    texts.push(l);
                }
                let full = texts.len() == CHUNK || bytes >= textclf_data::CHUNK_BYTES;
                if full || (end && !texts.is_empty()) {
                    bytes = 0;
                    let ids = (n + 1..=n + texts.len())
                        .map(|i| format!("stdin:{i}"))
                        .collect();
                    n += texts.len();
                    write_chunk(ids, std::mem::take(&mut texts), None)?;
                }
                if end {
                    break;
                }
            }
        } else {
            let mut failed: Option<anyhow::Error> = None;
            let read = textclf_data::read_table_chunked(
                &a.input,
                &read_options(&a.columns, false),
                CHUNK,
                &mut |c| {
                    write_chunk(c.ids, c.texts, c.pairs).map_err(|e| {
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

pub fn eval(a: EvalArgs, ui: &Ui) -> anyhow::Result<()> {
    refuse_foreign_run(&a.out, "eval")?;
    let mut folder = begin_run(&a.out, "textclf eval")?;
    if folder.has_leftover() && !a.out.in_place {
        folder.clear()?;
    }
    let spec = ExperimentSpec {
        format: ExperimentSpec::FORMAT,
        data: DataSpec {
            source: DataSource::Test {
                file: a.data.clone(),
            },
            columns: columns(&a.columns),
            seed: a.seed,
            subset_frac: None,
            per_class: None,
            valid_frac: textclf_experiment::default_valid_frac(),
        },
        model: ModelSpec::Saved {
            path: a.model.clone(),
            int8: a.int8,
        },
        eval: EvalSpec {
            bootstrap: a.eval.bootstrap,
        },
        class_weights: ClassWeights::None,
        save_model: false,
    };
    finish_run(folder, ui, |f| {
        Ok(textclf_experiment::run(
            &spec,
            f.work(),
            f.target(),
            ui,
            &TrainEnv::plain(),
        )?)
    })
}
