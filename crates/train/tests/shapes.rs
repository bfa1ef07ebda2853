//! Training every problem shape end to end on the tiny BERT of ../shared/fixtures/parity:
//! sentence pairs, multi-label (BCE, per-label thresholds) and regression (MSE, Pearson);
//! saving with `problem_type` and loading back to the same scores.

use std::path::{Path, PathBuf};

use candle_core::Device;
use textclf_core::{Classifier, Dataset, LabelSet, Targets, Task};
use textclf_models::{LoadOptions, SequenceClassifier};
use textclf_train::tokenize::{PairTruncation, TextEncoder, Truncation};
use textclf_train::{
    balanced_pos_weights, outputs_for, EarlyStopping, InferenceSettings, Monitor, Silent,
    TrainConfig, TrainOutcome, Trainer, TransformerClassifier,
};

fn tiny_dir() -> PathBuf {
    let shared = match std::env::var_os("TEXTCLF_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    shared.join("fixtures/parity/bert-tiny")
}

fn load_tiny(num_labels: usize) -> SequenceClassifier {
    let opts = LoadOptions {
        num_labels,
        layers: None,
        seed: 1,
        device: Device::Cpu,
    };
    SequenceClassifier::load(&tiny_dir(), &opts).unwrap().0
}

fn encoder() -> TextEncoder {
    TextEncoder::from_dir(&tiny_dir(), 32, Truncation::Head).unwrap()
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 8,
        eval_batch_size: 16,
        lr: 3e-3,
        warmup_ratio: 0.0,
        seed: 3,
        early_stopping: None,
        ..TrainConfig::default()
    }
}

const WORDS: [&str; 6] = ["great", "awful", "acting", "story", "music", "long"];

/// Row `i`'s text: two or three of WORDS picked by `i`.
fn text(i: usize) -> String {
    let a = WORDS[i % 6];
    let b = WORDS[(i / 6 + 1 + i % 6) % 6];
    format!("the {a} and the {b}")
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// Multi-label: a row carries label `w` when the word `w` is in its text (labels: the
/// first four words).
fn multi_label(n: usize) -> Dataset {
    let texts: Vec<String> = (0..n).map(text).collect();
    let sets = texts
        .iter()
        .map(|t| (0..4).filter(|&c| t.contains(WORDS[c])).collect())
        .collect();
    let labels = LabelSet::new(WORDS[..4].iter().map(|w| w.to_string()).collect()).unwrap();
    Dataset::with_targets(
        "multi",
        ids(n),
        texts,
        None,
        Targets::LabelSets(sets),
        labels,
    )
    .unwrap()
}

/// Regression: +1 per "great", −1 per "awful".
fn regression(n: usize) -> Dataset {
    let texts: Vec<String> = (0..n).map(text).collect();
    let scores = texts
        .iter()
        .map(|t| t.contains("great") as i32 as f32 - t.contains("awful") as i32 as f32)
        .collect();
    let labels = LabelSet::new(vec!["score".into()]).unwrap();
    Dataset::with_targets("reg", ids(n), texts, None, Targets::Scores(scores), labels).unwrap()
}

/// Pairs: "same" when both texts hold the same first word, else "different".
fn pairs(n: usize) -> Dataset {
    let (mut a, mut b, mut y) = (vec![], vec![], vec![]);
    for i in 0..n {
        let same = i % 2 == 0;
        let w = WORDS[i % 6];
        let v = if same { w } else { WORDS[(i + 1 + i / 6) % 6] };
        a.push(format!("it is {w}"));
        b.push(format!("{v} it is"));
        y.push(usize::from(same));
    }
    let labels = LabelSet::new(vec!["different".into(), "same".into()]).unwrap();
    Dataset::with_targets("pairs", ids(n), a, Some(b), Targets::Classes(y), labels).unwrap()
}

fn fit(
    model: &mut SequenceClassifier,
    enc: &TextEncoder,
    cfg: TrainConfig,
    train: &Dataset,
    valid: &Dataset,
    ckpt: &Path,
) -> TrainOutcome {
    Trainer {
        model,
        encoder: enc,
        config: cfg,
        ckpt_dir: ckpt.to_path_buf(),
    }
    .fit(train, Some(valid), false, &Silent)
    .unwrap()
}

fn settings() -> InferenceSettings {
    InferenceSettings {
        max_len: 32,
        truncation: Truncation::Head,
        eval_batch_size: 4,
    }
}

fn config_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{x} vs {y}");
    }
}

#[test]
fn multi_label_trains_with_bce_tunes_thresholds_and_saves_its_problem_type() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, valid) = (multi_label(48), multi_label(24));
    let k = outputs_for(Task::MultiLabel, &train.label_set);
    assert_eq!(k, 4);
    let mut model = load_tiny(k);
    let enc = encoder();
    let cfg = TrainConfig {
        class_weights: Some(balanced_pos_weights(&train).unwrap()),
        ..config(6)
    };
    let out = fit(
        &mut model,
        &enc,
        cfg,
        &train,
        &valid,
        &tmp.path().join("ckpt"),
    );
    let (first, last) = (&out.history[0], out.history.last().unwrap());
    assert!(
        last.train_loss < first.train_loss,
        "BCE falls: {} → {}",
        first.train_loss,
        last.train_loss
    );
    let micro = last.val_micro_f1.expect("multi-label records micro-F1");
    assert!(micro > 0.6, "val micro-F1 {micro}");
    assert!(last.val_pearson.is_none());
    let th = out.thresholds.expect("thresholds tuned on validation");
    assert_eq!(th.method, "per-label");
    assert_eq!(th.labels.len(), 4);
    assert_eq!(th.labels[2].label, "acting");
    assert!(th.micro_f1.unwrap() >= micro - 1e-9, "tuning never loses");

    let clf = TransformerClassifier::new(model, enc, train.label_set.clone(), settings())
        .with_task(Task::MultiLabel);
    let texts = ["the great and the acting", "nothing here"];
    let before = clf.predict_proba(&texts).unwrap();
    // Sigmoid scores: one per label, not a distribution.
    let logits = clf.logits(&texts).unwrap();
    let sig: Vec<f32> = logits.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
    close(before.as_slice(), &sig, 1e-6);
    let dir = tmp.path().join("model");
    clf.save(&dir).unwrap();
    let cfg = config_json(&dir);
    assert_eq!(cfg["problem_type"], "multi_label_classification");
    assert_eq!(cfg["id2label"]["3"], "story");
    assert_eq!(cfg["label2id"]["great"], 0);
    let loaded = TransformerClassifier::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(loaded.task(), Task::MultiLabel);
    close(
        loaded.predict_proba(&texts).unwrap().as_slice(),
        before.as_slice(),
        1e-6,
    );
}

#[test]
fn regression_trains_with_mse_and_loads_back_as_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, valid) = (regression(48), regression(24));
    assert_eq!(outputs_for(Task::Regression, &train.label_set), 1);
    let mut model = load_tiny(1);
    let enc = encoder();
    let cfg = TrainConfig {
        early_stopping: Some(EarlyStopping {
            monitor: Monitor::ValScore,
            patience: 10,
            min_delta: 0.0,
        }),
        ..config(6)
    };
    let out = fit(
        &mut model,
        &enc,
        cfg,
        &train,
        &valid,
        &tmp.path().join("ckpt"),
    );
    let last = out.history.last().unwrap();
    assert!(last.train_accuracy.is_nan() && last.val_accuracy.is_nan());
    let best = &out.history[out.best.unwrap()];
    let r = best.val_pearson.expect("regression records Pearson");
    assert!(r > 0.8, "val Pearson {r}");
    assert!(
        best.val_loss < out.history[0].val_loss,
        "the MSE falls on validation"
    );
    assert!(out.thresholds.is_none());
    assert!(out.val_accuracy_at_min_val_loss.is_none());

    let clf = TransformerClassifier::new(model, enc, train.label_set.clone(), settings())
        .with_task(Task::Regression);
    let texts = ["the great and the music", "the awful and the long"];
    let before = clf.predict_proba(&texts).unwrap();
    assert_eq!(before.num_classes(), 1);
    // The raw value.
    close(before.as_slice(), &clf.logits(&texts).unwrap(), 0.0);
    assert!(before.as_slice()[0] > before.as_slice()[1]);
    let dir = tmp.path().join("model");
    clf.save(&dir).unwrap();
    let cfg = config_json(&dir);
    assert_eq!(cfg["problem_type"], "regression");
    assert_eq!(cfg["id2label"].as_object().unwrap().len(), 1);
    assert_eq!(cfg["id2label"]["0"], "score");
    let loaded = TransformerClassifier::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(loaded.task(), Task::Regression);
    close(
        loaded.predict_proba(&texts).unwrap().as_slice(),
        before.as_slice(),
        1e-6,
    );
    // transformers' rule without problem_type: one output is regression.
    let mut m = cfg.as_object().unwrap().clone();
    m.remove("problem_type");
    std::fs::write(dir.join("config.json"), serde_json::to_string(&m).unwrap()).unwrap();
    let loaded = TransformerClassifier::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(loaded.task(), Task::Regression);
}

#[test]
fn sentence_pairs_train_with_token_types_and_predict_as_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, valid) = (pairs(48), pairs(16));
    let mut model = load_tiny(2);
    let enc = encoder().with_pair_truncation(PairTruncation::OnlyFirst);
    let out = fit(
        &mut model,
        &enc,
        config(4),
        &train,
        &valid,
        &tmp.path().join("ckpt"),
    );
    let (first, last) = (&out.history[0], out.history.last().unwrap());
    assert!(last.train_loss < first.train_loss);
    assert!(last.val_accuracy.is_finite() && last.val_micro_f1.is_none());

    let clf = TransformerClassifier::new(model, enc, train.label_set.clone(), settings());
    let (a, b) = (
        ["it is great", "it is music"],
        ["great it is", "long it is"],
    );
    let before = clf.predict_pairs(&a, &b).unwrap();
    // A pair is not the concatenated text: the segments differ.
    let joined = clf
        .predict_proba(&["it is great great it is", "it is music long it is"])
        .unwrap();
    assert!(before
        .as_slice()
        .iter()
        .zip(joined.as_slice())
        .any(|(x, y)| (x - y).abs() > 1e-4));
    let dir = tmp.path().join("model");
    clf.save(&dir).unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("textclf.json")).unwrap()).unwrap();
    assert_eq!(saved["pair_truncation"], "only_first");
    assert_eq!(
        config_json(&dir)["problem_type"],
        "single_label_classification"
    );
    let loaded = TransformerClassifier::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(loaded.encoder.pair_truncation(), PairTruncation::OnlyFirst);
    close(
        loaded.predict_pairs(&a, &b).unwrap().as_slice(),
        before.as_slice(),
        1e-6,
    );
}

#[test]
fn shapes_that_do_not_fit_are_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let enc = encoder();
    let run = |model: &mut SequenceClassifier, cfg: TrainConfig, t: &Dataset, v: &Dataset| {
        Trainer {
            model,
            encoder: &enc,
            config: cfg,
            ckpt_dir: tmp.path().join("ckpt"),
        }
        .fit(t, Some(v), false, &Silent)
        .expect_err("refused")
        .to_string()
    };
    let reg = regression(8);
    let err = run(&mut load_tiny(2), config(1), &reg, &reg);
    assert!(err.contains("2 outputs for 1 target"), "{err}");
    let cfg = TrainConfig {
        early_stopping: Some(EarlyStopping {
            monitor: Monitor::ValAccuracy,
            patience: 1,
            min_delta: 0.0,
        }),
        ..config(1)
    };
    let err = run(&mut load_tiny(1), cfg, &reg, &reg);
    assert!(err.contains("val_score"), "{err}");
    let cfg = TrainConfig {
        class_weights: Some(vec![1.0]),
        ..config(1)
    };
    let err = run(&mut load_tiny(1), cfg, &reg, &reg);
    assert!(err.contains("regression has none"), "{err}");
    let ml = multi_label(8);
    let err = run(&mut load_tiny(4), config(1), &ml, &reg);
    assert!(err.contains("validation data is regression"), "{err}");
    let p = pairs(8);
    let single = Dataset::with_targets(
        "single",
        ids(8),
        p.texts.clone(),
        None,
        p.targets.clone(),
        p.label_set.clone(),
    )
    .unwrap();
    let err = run(&mut load_tiny(2), config(1), &p, &single);
    assert!(err.contains("text pairs"), "{err}");
}
