//! Bench driver for `bench/baseline_shapes.sh` (until the CLI handles these shapes):
//! trains one linear baseline on CSV files and prints one JSON line with the task metric
//! and the time of each phase. Not a user-facing tool.
//!
//! ```text
//! shapes_bench multilabel TRAIN DEV TEST LABELS.txt lr|svm|nbsvm   # text, labels (a|b)
//! shapes_bench ridge      TRAIN VALID DEV                           # sentence1, sentence2, score
//! shapes_bench svr        TRAIN VALID DEV
//! shapes_bench cosine     TRAIN DEV                                 # IDF from train's sentences
//! shapes_bench pair-lr    TRAIN VALID DEV                           # sentence1, sentence2, label
//! shapes_bench single-lr  TRAIN VALID DEV                           # sentence, label
//! ```

use std::collections::HashMap;
use std::time::Instant;

use textclf_core::{Classifier, Dataset, LabelSet};
use textclf_linear::multilabel::f1_scores;
use textclf_linear::regression::pearson;
use textclf_linear::{
    fit, fit_multilabel, fit_pairs, fit_regression, LinearKind, LinearParams, MultiLabelParams,
    MultiLabelSet, PairCosine, PairLabelSet, PairParams, RegressionKind, RegressionParams,
    RegressionSet, TextInput,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The named columns of a CSV file.
fn read(path: &str, cols: &[&str]) -> Res<Vec<Vec<String>>> {
    let mut r = csv::Reader::from_path(path)?;
    let head = r.headers()?.clone();
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| {
            head.iter()
                .position(|h| h == *c)
                .ok_or_else(|| format!("{path}: no column {c}"))
        })
        .collect::<Result<_, _>>()?;
    let mut out = vec![vec![]; cols.len()];
    for rec in r.records() {
        let rec = rec?;
        for (o, &i) in out.iter_mut().zip(&idx) {
            o.push(rec.get(i).unwrap_or("").to_string());
        }
    }
    Ok(out)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn class_ids(raw: &[String], names: &[String]) -> Vec<usize> {
    raw.iter()
        .map(|r| names.iter().position(|n| n == r).unwrap_or(usize::MAX))
        .collect()
}

fn mcc(pred: &[usize], gold: &[usize]) -> f64 {
    let (mut tp, mut tn, mut fp, mut fn_) = (0f64, 0f64, 0f64, 0f64);
    for (&p, &g) in pred.iter().zip(gold) {
        match (p == 1, g == 1) {
            (true, true) => tp += 1.0,
            (false, false) => tn += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fn_ += 1.0,
        }
    }
    let d = ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt();
    if d == 0.0 {
        0.0
    } else {
        (tp * tn - fp * fn_) / d
    }
}

fn accuracy(pred: &[usize], gold: &[usize]) -> f64 {
    pred.iter().zip(gold).filter(|(a, b)| a == b).count() as f64 / gold.len() as f64
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let t0 = Instant::now();
    let out = match args.first().map(String::as_str) {
        Some("multilabel") => {
            let names: Vec<String> = std::fs::read_to_string(&args[4])?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            let id: HashMap<&str, usize> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), i))
                .collect();
            let load = |p: &str| -> Res<(Vec<String>, Vec<Vec<usize>>)> {
                let mut c = read(p, &["text", "labels"])?;
                let sets = c[1]
                    .iter()
                    .map(|s| {
                        s.split('|')
                            .map(|l| id.get(l).copied().ok_or_else(|| format!("label {l}")))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<_, _>>()?;
                Ok((c.swap_remove(0), sets))
            };
            let (tr, ytr) = load(&args[1])?;
            let (va, yva) = load(&args[2])?;
            let (te, yte) = load(&args[3])?;
            let kind = match args[5].as_str() {
                "svm" => LinearKind::Svm,
                "nbsvm" => LinearKind::Nbsvm,
                _ => LinearKind::Lr,
            };
            let read_s = t0.elapsed().as_secs_f64();
            let (tr, va, te) = (refs(&tr), refs(&va), refs(&te));
            let (m, rep) = fit_multilabel(
                &MultiLabelParams::new(kind),
                &names,
                &MultiLabelSet {
                    input: TextInput::Single(&tr),
                    labels: &ytr,
                },
                Some(&MultiLabelSet {
                    input: TextInput::Single(&va),
                    labels: &yva,
                }),
            )?;
            let pred = m.predict(TextInput::Single(&te))?;
            let (micro, macro_) = f1_scores(&yte, &pred, names.len());
            serde_json::json!({"micro_f1": micro, "macro_f1": macro_, "c": rep.chosen_c,
                "c_search": rep.c_search, "read_s": read_s, "vectorize_s": rep.vectorize_s,
                "fit_s": rep.fit_s, "features": rep.num_features})
        }
        Some(task @ ("ridge" | "svr")) => {
            let load = |p: &str| -> Res<(Vec<String>, Vec<String>, Vec<f64>)> {
                let mut c = read(p, &["sentence1", "sentence2", "score"])?;
                let y = c[2]
                    .iter()
                    .map(|s| s.parse::<f64>())
                    .collect::<Result<_, _>>()?;
                let b = c.swap_remove(1);
                Ok((c.swap_remove(0), b, y))
            };
            let (a, b, y) = load(&args[1])?;
            let (va, vb, vy) = load(&args[2])?;
            let (da, db, dy) = load(&args[3])?;
            let read_s = t0.elapsed().as_secs_f64();
            let kind = if task == "svr" {
                RegressionKind::Svr
            } else {
                RegressionKind::Ridge
            };
            let (a, b, va, vb, da, db) = (
                refs(&a),
                refs(&b),
                refs(&va),
                refs(&vb),
                refs(&da),
                refs(&db),
            );
            let (m, rep) = fit_regression(
                &RegressionParams::new(kind),
                &RegressionSet {
                    input: TextInput::Pair(&a, &b),
                    targets: &y,
                },
                Some(&RegressionSet {
                    input: TextInput::Pair(&va, &vb),
                    targets: &vy,
                }),
            )?;
            let pred = m.predict(TextInput::Pair(&da, &db))?;
            serde_json::json!({"pearson": pearson(&pred, &dy), "c": rep.chosen_c,
                "c_search": rep.c_search, "read_s": read_s, "vectorize_s": rep.vectorize_s,
                "fit_s": rep.fit_s, "features": rep.num_features})
        }
        Some("cosine") => {
            let tr = read(&args[1], &["sentence1", "sentence2"])?;
            let dev = read(&args[2], &["sentence1", "sentence2", "score"])?;
            let dy: Vec<f64> = dev[2]
                .iter()
                .map(|s| s.parse::<f64>())
                .collect::<Result<_, _>>()?;
            let both: Vec<&str> = tr[0].iter().chain(&tr[1]).map(String::as_str).collect();
            let c = PairCosine::fit(&Default::default(), &both)?;
            let s = c.score(&refs(&dev[0]), &refs(&dev[1]))?;
            serde_json::json!({"pearson": pearson(&s, &dy), "features": c.vectorizer.num_features()})
        }
        Some("pair-lr") => {
            let load = |p: &str| read(p, &["sentence1", "sentence2", "label"]);
            let (tr, va, dev) = (load(&args[1])?, load(&args[2])?, load(&args[3])?);
            let mut names = tr[2].clone();
            names.sort();
            names.dedup();
            let labels = LabelSet::new(names.clone())?;
            let (ytr, yva, ydev) = (
                class_ids(&tr[2], &names),
                class_ids(&va[2], &names),
                class_ids(&dev[2], &names),
            );
            let read_s = t0.elapsed().as_secs_f64();
            let (ta, tb, va_, vb, da, db) = (
                refs(&tr[0]),
                refs(&tr[1]),
                refs(&va[0]),
                refs(&va[1]),
                refs(&dev[0]),
                refs(&dev[1]),
            );
            let (m, rep) = fit_pairs(
                &LinearParams::new(LinearKind::Lr),
                &PairParams::default(),
                &labels,
                &PairLabelSet {
                    a: &ta,
                    b: &tb,
                    labels: &ytr,
                },
                Some(&PairLabelSet {
                    a: &va_,
                    b: &vb,
                    labels: &yva,
                }),
            )?;
            let pred = m.predict(&da, &db)?;
            let majority = (0..names.len())
                .map(|c| ydev.iter().filter(|&&y| y == c).count())
                .max()
                .unwrap_or(0) as f64
                / ydev.len() as f64;
            serde_json::json!({"accuracy": accuracy(&pred, &ydev), "majority": majority,
                "c": rep.chosen_c, "c_search": rep.c_search, "read_s": read_s, "vectorize_s": rep.vectorize_s,
                "fit_s": rep.fit_s, "features": rep.num_features})
        }
        Some("single-lr") => {
            let load = |p: &str| read(p, &["sentence", "label"]);
            let (tr, va, dev) = (load(&args[1])?, load(&args[2])?, load(&args[3])?);
            let labels = LabelSet::new(vec!["0".into(), "1".into()])?;
            let names = labels.names().to_vec();
            let ds = |c: &[Vec<String>], n: &str| -> Res<Dataset> {
                let ids = (0..c[0].len()).map(|i| i.to_string()).collect();
                Ok(Dataset::new(
                    n,
                    ids,
                    c[0].clone(),
                    class_ids(&c[1], &names),
                    labels.clone(),
                )?)
            };
            let (tr, va, dev) = (ds(&tr, "train")?, ds(&va, "valid")?, ds(&dev, "dev")?);
            let read_s = t0.elapsed().as_secs_f64();
            let (m, rep) = fit(&LinearParams::new(LinearKind::Lr), &tr, Some(&va))?;
            let pred = m.predict(&dev.text_refs())?;
            serde_json::json!({"mcc": mcc(&pred, dev.labels()?), "accuracy": accuracy(&pred, dev.labels()?),
                "c": rep.chosen_c, "c_search": rep.c_search, "read_s": read_s, "vectorize_s": rep.vectorize_s,
                "fit_s": rep.fit_s, "features": rep.num_features})
        }
        _ => return Err("usage: see the comment at the top of examples/shapes_bench.rs".into()),
    };
    let mut out = out;
    out["total_s"] = t0.elapsed().as_secs_f64().into();
    println!("{out}");
    Ok(())
}
