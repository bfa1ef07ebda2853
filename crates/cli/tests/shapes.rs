//! Every command that fits, scores or predicts, on every shape of data: sentence pairs
//! (GLUE RTE), pair regression (GLUE STS-B), multi-label (GoEmotions) and single-label
//! single sentences (GLUE CoLA), on small samples of the shared data.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use textclf_eval::{read_predictions, ShapedMetrics, TestReport};

/// Data rows of a CSV file.
fn rows_in(p: &Path) -> usize {
    csv::Reader::from_path(p).unwrap().records().count()
}

fn metrics(run: &Path) -> ShapedMetrics {
    ShapedMetrics::read(run).unwrap()
}

/// The `baseline` command line of train `tr`, test `te` and run folder `out`, plus `extra`.
fn baseline_args<'a>(tr: &'a Path, te: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "baseline",
        "--train",
        s(tr),
        "--test",
        s(te),
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

fn baseline(tr: &Path, te: &Path, out: &Path, extra: &[&str]) {
    ok(&baseline_args(tr, te, out, extra));
    record_reads_back_what_the_run_wrote(out);
}

/// The record's typed `model` (the linear crate's settings and fit report, chosen by the
/// model's kind) reads back everything the run wrote, for every model kind and shape the
/// tests run: written again, it is the file's `model` exactly.
fn record_reads_back_what_the_run_wrote(run: &Path) {
    let raw = json_file(&run.join("metrics.json"))["model"].clone();
    let textclf_runs::RunBody::Baseline(b) = &metrics(run).run else {
        panic!("not a baseline run")
    };
    assert!(b.model.params.is_some() && b.model.fit.is_some(), "{raw}");
    assert_eq!(serde_json::to_value(&b.model).unwrap(), raw);
}

/// `baseline` that must fail; returns its error output.
fn baseline_fails(tr: &Path, te: &Path, out: &Path, extra: &[&str]) -> String {
    fails(&baseline_args(tr, te, out, extra))
}

fn eval(model: &Path, data: &Path, out: &Path) -> ShapedMetrics {
    ok(&[
        "eval",
        "--model",
        s(model),
        "--data",
        s(data),
        "--out",
        s(out),
        "--quiet",
    ]);
    metrics(out)
}

#[test]
fn baseline_eval_and_predict_on_sentence_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = samples(tmp.path(), "glue/rte", 400, 100);
    let run = tmp.path().join("run");
    baseline(&tr, &te, &run, &[]);
    let m = metrics(&run);
    let TestReport::SingleLabel(r) = &m.test else {
        panic!("RTE is single-label: {:?}", m.test.task())
    };
    assert_eq!(r.n, 100);
    let text = std::fs::read_to_string(run.join("metrics.json")).unwrap();
    assert!(!text.contains("\"task\""), "single-label keeps no task key");
    let model_json = json_file(&run.join("model/model.json"));
    assert_eq!(model_json["format"], "textclf-linear-pair");
    let (labels, rows) = read_predictions(&run.join("predictions.csv")).unwrap();
    assert_eq!(labels, ["entailment", "not_entailment"]);
    assert_eq!(rows.len(), 100);

    // eval of the saved model reproduces the run's test figures.
    let ev = eval(&run.join("model"), &te, &tmp.path().join("ev"));
    let e = ev.test.single().unwrap();
    assert_eq!(e.accuracy, r.accuracy);
    assert_eq!(e.macro_f1, r.macro_f1);

    // predict reads both columns; a file of single texts is refused, and so is stdin.
    let out = tmp.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&run.join("model")),
        "--input",
        s(&te),
        "--output",
        s(&out),
        "--quiet",
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("id,predicted,p_entailment,p_not_entailment\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 101);
    let single = tmp.path().join("single.csv");
    std::fs::write(&single, "text\nA man is eating.\n").unwrap();
    let e = fails(&[
        "predict",
        "--model",
        s(&run.join("model")),
        "--input",
        s(&single),
        "--quiet",
    ]);
    assert!(
        e.contains("trained on text pairs but was given single texts")
            && e.contains("--text-pair-col"),
        "{e}"
    );
}

#[test]
fn a_single_text_model_refuses_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, run) = toy_baseline_run(tmp.path());
    let pairs = tmp.path().join("pairs.csv");
    std::fs::write(
        &pairs,
        "sentence1,sentence2,label\na great film,so good,pos\n",
    )
    .unwrap();
    let e = fails(&[
        "eval",
        "--model",
        s(&run.join("model")),
        "--data",
        s(&pairs),
        "--out",
        s(&tmp.path().join("ev")),
        "--quiet",
    ]);
    assert!(
        e.contains("trained on single texts but was given text pairs") && e.contains("--text-col"),
        "{e}"
    );
}

#[test]
fn baseline_eval_and_predict_a_pair_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = samples(tmp.path(), "glue/stsb", 500, 120);
    let run = tmp.path().join("run");
    baseline(&tr, &te, &run, &[]);
    let m = metrics(&run);
    let r = m.test.regression().expect("STS-B is a regression");
    assert_eq!(r.n, 120);
    assert!(r.pearson.unwrap() > 0.2, "pearson {:?}", r.pearson);
    let text = std::fs::read_to_string(run.join("metrics.json")).unwrap();
    assert!(text.contains("\"task\": \"regression\""), "{text}");
    let preds = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    assert!(preds.starts_with("id,gold,predicted\n"), "{preds}");
    assert_eq!(
        json_file(&run.join("model/model.json"))["format"],
        "textclf-linear-regression"
    );
    let ev = eval(&run.join("model"), &te, &tmp.path().join("ev"));
    assert_eq!(ev.test.regression().unwrap().pearson, r.pearson);
    let out = tmp.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&run.join("model")),
        "--input",
        s(&te),
        "--output",
        s(&out),
        "--quiet",
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("id,predicted\n"), "{text}");
    let second: f64 = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(second.is_finite());

    // NBSVM has no regression form; a regression of class names is refused.
    let e = baseline_fails(&tr, &te, &tmp.path().join("nb"), &["--model", "nbsvm"]);
    assert!(e.contains("no regression form"), "{e}");
    let (rtr, rte) = samples(&tmp.path().join("rte"), "glue/rte", 50, 20);
    let e = baseline_fails(
        &rtr,
        &rte,
        &tmp.path().join("bad"),
        &["--task", "regression"],
    );
    assert!(e.contains("not a finite number"), "{e}");
}

/// Pearson's r of two equally long series.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The two texts and the score of every row of a STS-B sample.
fn stsb_rows(p: &Path) -> (Vec<String>, Vec<String>, Vec<f64>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (a, b, y) = (col("sentence1"), col("sentence2"), col("score"));
    let (mut va, mut vb, mut vy) = (vec![], vec![], vec![]);
    for rec in r.records() {
        let rec = rec.unwrap();
        va.push(rec[a].to_string());
        vb.push(rec[b].to_string());
        vy.push(rec[y].parse().unwrap());
    }
    (va, vb, vy)
}

#[test]
fn the_cosine_baseline_scores_pairs_as_the_plain_tfidf_cosine() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = samples(tmp.path(), "glue/stsb", 500, 120);
    let run = tmp.path().join("cos");
    baseline(&tr, &te, &run, &["--model", "cosine"]);
    let m = metrics(&run);
    let got = m.test.regression().unwrap().pearson.unwrap();

    // The same figure computed here from the library's zero-training cosine: the
    // scaling by least squares leaves Pearson's r unchanged.
    let (ta, tb, _) = stsb_rows(&tr);
    let (da, db, dy) = stsb_rows(&te);
    let both: Vec<&str> = ta.iter().chain(&tb).map(String::as_str).collect();
    let cos = textclf_linear::PairCosine::fit(&Default::default(), &both)
        .unwrap()
        .score(&strs(&da), &strs(&db))
        .unwrap();
    let want = pearson(&cos, &dy);
    assert!(want > 0.3, "the plain cosine's Pearson {want}");
    assert!((got - want).abs() < 1e-4, "{got} vs {want}");

    let j = json_file(&run.join("metrics.json"));
    assert_eq!(j["model"]["kind"], "tfidf-cosine-pair", "{j}");
    assert!(j["model"]["fit"]["chosen_c"].is_null(), "{j}");
    // Predictions are in the scores' units (0 to 5), not the cosine's (0 to 1).
    let mut r = csv::Reader::from_path(run.join("predictions.csv")).unwrap();
    assert_eq!(r.headers().unwrap(), vec!["id", "gold", "predicted"]);
    let top = r
        .records()
        .map(|rec| rec.unwrap()[2].parse::<f64>().unwrap())
        .fold(f64::MIN, f64::max);
    assert!(top > 1.5, "largest prediction {top}");
    let ev = eval(&run.join("model"), &te, &tmp.path().join("ev"));
    assert_eq!(ev.test.regression().unwrap().pearson, Some(got));
    // eval refuses a --task other than the model's.
    let e = fails(&[
        "eval",
        "--model",
        s(&run.join("model")),
        "--data",
        s(&te),
        "--task",
        "single-label",
        "--out",
        s(&tmp.path().join("ev-bad")),
        "--quiet",
    ]);
    assert!(
        e.contains("--task single-label") && e.contains("is regression"),
        "{e}"
    );
    // The report reads the run (no C to advise on).
    ok(&["report", s(&run), "--json"]);
    let table = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert!(table.contains("tfidf-cosine-pair"), "{table}");

    // Anything but pair regression, or a C, is refused with what to use instead.
    let (rtr, rte) = samples(&tmp.path().join("rte"), "glue/rte", 50, 20);
    let e = baseline_fails(&rtr, &rte, &tmp.path().join("bad"), &["--model", "cosine"]);
    assert!(e.contains("use --model lr, svm or nbsvm"), "{e}");
    let e = baseline_fails(
        &tr,
        &te,
        &tmp.path().join("bad2"),
        &["--model", "cosine", "--c", "1"],
    );
    assert!(e.contains("drop --C"), "{e}");
}

/// `data stats` of each shape, checked against what the test counts from the same file.
#[test]
fn data_stats_describe_every_shape() {
    let tmp = tempfile::tempdir().unwrap();
    // Multi-label: cardinality, rows by number of labels, the most frequent label pairs.
    let (ge, _) = samples(&tmp.path().join("ge"), "goemotions", 400, 10);
    let mut sets: Vec<Vec<String>> = vec![];
    let mut r = csv::Reader::from_path(&ge).unwrap();
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|c| c == "labels")
        .unwrap();
    for rec in r.records() {
        sets.push(rec.unwrap()[col].split('|').map(str::to_string).collect());
    }
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["data", "stats", s(&ge), "--json"])).unwrap();
    let sp = &j["splits"][0];
    assert_eq!(sp["task"], "multi-label", "{sp}");
    let ml = &sp["multi_label"];
    let mean = sets.iter().map(Vec::len).sum::<usize>() as f64 / sets.len() as f64;
    assert!(
        (ml["cardinality"].as_f64().unwrap() - mean).abs() < 1e-9,
        "{ml}"
    );
    let two = sets.iter().filter(|s| s.len() == 2).count();
    assert_eq!(ml["rows_with"][2].as_u64(), Some(two as u64), "{ml}");
    let top = &ml["co_occurrence"][0];
    let (a, b) = (top[0].as_str().unwrap(), top[1].as_str().unwrap());
    let together = sets
        .iter()
        .filter(|s| s.iter().any(|x| x == a) && s.iter().any(|x| x == b))
        .count();
    assert_eq!(top[2].as_u64(), Some(together as u64), "{top}");
    let text = ok(&["data", "stats", s(&ge)]);
    assert!(
        text.contains("cardinality") && text.contains("co-occurrence"),
        "{text}"
    );

    // Pair regression: the target distribution, both texts' lengths, and token lengths of
    // the pair as the model reads it ([CLS] A [SEP] B [SEP]).
    let (st, _) = samples(&tmp.path().join("stsb"), "glue/stsb", 200, 10);
    let (a, b, y) = stsb_rows(&st);
    let model = shared_dir().join("models/all-MiniLM-L6-v2");
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "data",
        "stats",
        s(&st),
        "--tokenizer",
        s(&model),
        "--json",
    ]))
    .unwrap();
    let sp = &j["splits"][0];
    assert_eq!(sp["task"], "regression", "{sp}");
    let max = y.iter().copied().fold(f64::MIN, f64::max);
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    assert_eq!(sp["target"]["max"].as_f64(), Some(max), "{sp}");
    assert!((sp["target"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    let words_b = b
        .iter()
        .map(|t| t.split_whitespace().count())
        .max()
        .unwrap();
    assert_eq!(
        sp["pair_words"]["max"].as_u64(),
        Some(words_b as u64),
        "{sp}"
    );
    let tok = &sp["token_lengths"];
    assert_eq!(tok["pairs"], true, "{tok}");
    // Every pair holds at least one token of each text plus three special tokens, and
    // is longer than its first text alone.
    let first_only = tmp.path().join("stsb/first.csv");
    let mut w = csv::Writer::from_path(&first_only).unwrap();
    w.write_record(["sentence", "score"]).unwrap();
    for (t, v) in a.iter().zip(&y) {
        w.write_record([t.as_str(), &v.to_string()]).unwrap();
    }
    w.flush().unwrap();
    let single: serde_json::Value = serde_json::from_str(&ok(&[
        "data",
        "stats",
        s(&first_only),
        "--tokenizer",
        s(&model),
        "--json",
    ]))
    .unwrap();
    let one = &single["splits"][0]["token_lengths"];
    assert_eq!(one["pairs"], false, "{one}");
    assert!(
        tok["summary"]["mean"].as_f64().unwrap() > one["summary"]["mean"].as_f64().unwrap() + 1.0,
        "pair {tok} vs first text {one}"
    );
    assert!(tok["summary"]["min"].as_u64().unwrap() >= 5, "{tok}");
    let text = ok(&["data", "stats", s(&st), "--tokenizer", s(&model)]);
    assert!(
        text.contains("tokens, pair") && text.contains("words, 2nd text"),
        "{text}"
    );
    assert!(text.contains("target"), "{text}");
    assert_eq!(a.len(), 200);
}

#[test]
fn baseline_eval_and_predict_multi_label() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = samples(tmp.path(), "goemotions", 3000, 300);
    let run = tmp.path().join("run");
    baseline(&tr, &te, &run, &["--C", "4"]);
    let m = metrics(&run);
    let r = m.test.multi_label().expect("GoEmotions is multi-label");
    let n = rows_in(&te);
    assert!(n > 250 && r.n == n, "{} of {n}", r.n);
    assert!(r.micro.f1 > 0.1, "micro-F1 {}", r.micro.f1);
    let text = std::fs::read_to_string(run.join("metrics.json")).unwrap();
    assert!(text.contains("\"task\": \"multi-label\""));
    // The per-label thresholds are recorded with the fit.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let labels = v["data"]["labels"].as_array().unwrap().len();
    assert_eq!(
        v["model"]["fit"]["thresholds"].as_array().unwrap().len(),
        labels
    );
    let (names, rows) = read_predictions(&run.join("predictions.csv")).unwrap();
    assert_eq!(names.len(), labels);
    assert_eq!(rows.len(), n);
    let ev = eval(&run.join("model"), &te, &tmp.path().join("ev"));
    let e = ev.test.multi_label().unwrap();
    assert_eq!(e.micro.f1, r.micro.f1);
    assert_eq!(e.macro_avg.f1, r.macro_avg.f1);
    let out = tmp.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&run.join("model")),
        "--input",
        s(&te),
        "--output",
        s(&out),
        "--quiet",
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("id,predicted,p_"), "{text}");
    assert_eq!(text.lines().count(), n + 1);
}

/// Fine-tunes the tiny BERT fixture for a few steps on a sample of `set`: the run folder.
fn train_tiny(dir: &Path, set: &str, n: usize, extra: &[&str]) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (tr, te) = samples(dir, set, n, 24);
    let run = dir.join("run");
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    let mut args = vec![
        "train",
        "--model",
        s(&model),
        "--train",
        s(&tr),
        "--test",
        s(&te),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--max-len",
        "48",
        "--out",
        s(&run),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(&args);
    (run, te)
}

#[test]
fn train_eval_and_predict_every_task_with_a_tiny_bert() {
    let tmp = tempfile::tempdir().unwrap();

    // Sentence pairs, single-label.
    let (run, te) = train_tiny(&tmp.path().join("rte"), "glue/rte", 64, &[]);
    let m = metrics(&run);
    assert_eq!(m.test.task(), textclf_core::Task::SingleLabel);
    let v = json_file(&run.join("metrics.json"));
    let pairs = &v["data"]["token_lengths"]["pairs"];
    assert_eq!(pairs["strategy"], "longest_first");
    assert!(pairs["first_cut_share"].as_f64().unwrap() >= 0.0);
    let cfg = json_file(&run.join("model/config.json"));
    assert_eq!(cfg["problem_type"], "single_label_classification");
    assert_eq!(cfg["id2label"].as_object().unwrap().len(), 2);
    assert_eq!(json_file(&run.join("model/textclf.json"))["pairs"], true);
    assert!(run.join("valid_predictions.csv").is_file());
    assert!(
        v["epochs"][0].get("val_micro_f1").is_none() && v["epochs"][0].get("val_pearson").is_none()
    );
    let ev = eval(&run.join("model"), &te, &tmp.path().join("rte/ev"));
    assert_eq!(
        ev.test.single().unwrap().accuracy,
        m.test.single().unwrap().accuracy
    );

    // Pair regression.
    let (run, te) = train_tiny(&tmp.path().join("stsb"), "glue/stsb", 64, &[]);
    let m = metrics(&run);
    let r = m.test.regression().unwrap();
    // Each validation records the task's score beside the shared figures.
    let v = json_file(&run.join("metrics.json"));
    let epoch = &v["epochs"][0];
    assert!(
        epoch.get("val_pearson").is_some() && epoch.get("val_micro_f1").is_none(),
        "{epoch}"
    );
    let cfg = json_file(&run.join("model/config.json"));
    assert_eq!(cfg["problem_type"], "regression");
    assert_eq!(cfg["id2label"].as_object().unwrap().len(), 1);
    let preds = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    assert!(preds.starts_with("id,gold,predicted\n"));
    let ev = eval(&run.join("model"), &te, &tmp.path().join("stsb/ev"));
    let e = ev.test.regression().unwrap();
    assert!(
        (e.mse - r.mse).abs() < 1e-6 * r.mse.max(1.0),
        "{} vs {}",
        e.mse,
        r.mse
    );

    // Multi-label, single texts: thresholds tuned on validation, saved with the model.
    let (run, te) = train_tiny(&tmp.path().join("goemo"), "goemotions", 160, &[]);
    let m = metrics(&run);
    let r = m.test.multi_label().unwrap();
    let cfg = json_file(&run.join("model/config.json"));
    assert_eq!(cfg["problem_type"], "multi_label_classification");
    let k = cfg["id2label"].as_object().unwrap().len();
    assert!(k > 1);
    let v = json_file(&run.join("metrics.json"));
    assert_eq!(v["thresholds"]["labels"].as_array().unwrap().len(), k);
    let micro = v["epochs"][0]["val_micro_f1"]
        .as_f64()
        .expect("val_micro_f1");
    assert!((0.0..=1.0).contains(&micro));
    assert_eq!(
        json_file(&run.join("model/textclf.json"))["thresholds"]
            .as_array()
            .unwrap()
            .len(),
        k
    );
    let ev = eval(&run.join("model"), &te, &tmp.path().join("goemo/ev"));
    assert_eq!(ev.test.multi_label().unwrap().micro.f1, r.micro.f1);
    let out = tmp.path().join("goemo/pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&run.join("model")),
        "--input",
        s(&te),
        "--output",
        s(&out),
        "--quiet",
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().count(),
        rows_in(&te) + 1
    );
}
