//! The training engine: AdamW parity with PyTorch, overfitting, determinism, exact resume,
//! save → load → same predictions, divergence detection. Uses the tiny BERT of
//! ../shared/fixtures/parity (1M parameters) so every test runs in seconds on a CPU.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use textclf_core::{Classifier, Dataset, LabelSet};
use textclf_models::{cross_entropy, EncodedBatch, LoadOptions, SequenceClassifier};
use textclf_train::batch::Padding;
use textclf_train::optim::{AdamW, AdamWConfig, Grad};
use textclf_train::tokenize::{TextEncoder, Truncation};
use textclf_train::{
    InferenceSettings, Progress, Silent, TrainConfig, TrainError, Trainer, TransformerClassifier,
};

fn shared() -> PathBuf {
    match std::env::var_os("TEXTCLF_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn tiny_dir() -> PathBuf {
    shared().join("fixtures/parity/bert-tiny")
}

fn load_tiny(num_labels: usize, seed: u64) -> SequenceClassifier {
    let opts = LoadOptions {
        num_labels,
        layers: None,
        seed,
        device: Device::Cpu,
    };
    SequenceClassifier::load(&tiny_dir(), &opts).unwrap().0
}

fn ints(t: &Tensor) -> Vec<u32> {
    t.to_dtype(DType::I64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b
        .to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn one_adamw_step_matches_pytorch() {
    // Host state is the CPU path; tensor state is the accelerator path, run here on the CPU.
    for tensor_state in [false, true] {
        adamw_step_matches_pytorch(tensor_state);
    }
}

fn adamw_step_matches_pytorch(tensor_state: bool) {
    let io =
        candle_core::safetensors::load(tiny_dir().join("io.safetensors"), &Device::Cpu).unwrap();
    let tol: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("fixtures/parity/tolerances.json")).unwrap(),
    )
    .unwrap();
    let model = load_tiny(3, 0);
    let (b, l) = io["input_ids"].dims2().unwrap();
    let batch = EncodedBatch {
        batch: b,
        len: l,
        ids: ints(&io["input_ids"]),
        mask: ints(&io["attention_mask"]),
        type_ids: ints(&io["token_type_ids"]),
    };
    let out = model.forward(&batch, None, false).unwrap();
    let loss = cross_entropy(&out.logits, &ints(&io["labels"]), None).unwrap();
    let mut opt = AdamW::with_state(&model.params, AdamWConfig::default(), tensor_state).unwrap();
    let grads = opt
        .collect_grads(&model.params, &model.backward(&out, &loss).unwrap())
        .unwrap();
    opt.step(&model.params, &grads, 1e-3, 1.0).unwrap();
    for p in [
        "bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.1.output.LayerNorm.weight",
        "bert.pooler.dense.weight",
        "classifier.weight",
        "classifier.bias",
    ] {
        let key = format!("after_step.{p}");
        let atol = tol["fixtures"]["bert-tiny"]["tensors"][&key]["recommended_atol"]
            .as_f64()
            .unwrap() as f32;
        let d = max_diff(model.params.t(p).unwrap(), &io[&key]);
        assert!(
            d <= atol,
            "{key} (tensor state {tensor_state}): {d:e} > {atol:e}"
        );
    }
    // Embedding rows, including never-used rows that are only decayed.
    let word = "bert.embeddings.word_embeddings.weight";
    let rows = Tensor::from_vec(ints(&io[&format!("row_ids.{word}")]), 41, &Device::Cpu).unwrap();
    let got = model
        .params
        .t(word)
        .unwrap()
        .index_select(&rows, 0)
        .unwrap();
    let key = format!("after_step_rows.{word}");
    let atol = tol["fixtures"]["bert-tiny"]["tensors"][&key]["recommended_atol"]
        .as_f64()
        .unwrap() as f32;
    assert!(max_diff(&got, &io[&key]) <= atol);
}

#[test]
fn sparse_embedding_rows_update_like_the_dense_gradient() {
    // Three steps on different single sentences, so later steps leave rows untouched that
    // earlier ones moved: those rows must keep moving with their decaying moments, as
    // they do with PyTorch's dense gradient.
    let io =
        candle_core::safetensors::load(tiny_dir().join("io.safetensors"), &Device::Cpu).unwrap();
    let (rows, len) = io["input_ids"].dims2().unwrap();
    let (ids, mask, types) = (
        ints(&io["input_ids"]),
        ints(&io["attention_mask"]),
        ints(&io["token_type_ids"]),
    );
    let word = "bert.embeddings.word_embeddings.weight";
    let (sparse, dense) = (load_tiny(3, 0), load_tiny(3, 0));
    let mut opt_s = AdamW::new(&sparse.params, AdamWConfig::default()).unwrap();
    let mut opt_d = AdamW::new(&dense.params, AdamWConfig::default()).unwrap();
    for step in 0..3 {
        let r = step % rows;
        let b = EncodedBatch {
            batch: 1,
            len,
            ids: ids[r * len..][..len].to_vec(),
            mask: mask[r * len..][..len].to_vec(),
            type_ids: types[r * len..][..len].to_vec(),
        };
        let grads = |m: &SequenceClassifier, opt: &AdamW| {
            let out = m.forward(&b, None, false).unwrap();
            let loss = cross_entropy(&out.logits, &[step as u32 % 3], None).unwrap();
            opt.collect_grads(&m.params, &m.backward(&out, &loss).unwrap())
                .unwrap()
        };
        let gs = grads(&sparse, &opt_s);
        let mut gd = grads(&dense, &opt_d);
        let i = sparse
            .params
            .vars()
            .iter()
            .position(|(n, _)| n == word)
            .unwrap();
        let Some(Grad::Rows(r)) = &gs[i] else {
            panic!("the word embeddings' gradient should be sparse rows on the CPU")
        };
        assert!(r.rows.len() < r.height / 2, "only the sentence's rows");
        gd[i] = Some(Grad::Host(r.to_dense(&Device::Cpu).unwrap()));
        opt_s.step(&sparse.params, &gs, 1e-2, 0.5).unwrap();
        opt_d.step(&dense.params, &gd, 1e-2, 0.5).unwrap();
    }
    for (name, v) in sparse.params.vars() {
        let d = max_diff(v.as_tensor(), dense.params.t(name).unwrap());
        assert!(
            d <= 1e-7,
            "{name}: sparse and dense updates differ by {d:e}"
        );
    }
}

/// A small two-class corpus with a clear signal.
fn corpus(n: usize) -> Dataset {
    let pos = [
        "a wonderful film",
        "great acting and a great story",
        "loved it, superb",
        "brilliant and moving",
        "an excellent movie",
    ];
    let neg = [
        "a terrible film",
        "awful acting and a dull story",
        "hated it, boring",
        "dreadful and tedious",
        "a horrible movie",
    ];
    let mut texts = vec![];
    let mut labels = vec![];
    for i in 0..n {
        let (t, l) = if i % 2 == 0 {
            (pos[i / 2 % 5], 1)
        } else {
            (neg[i / 2 % 5], 0)
        };
        texts.push(format!(
            "{t} {}",
            ["", "indeed", "really", "truly"][i / 10 % 4]
        ));
        labels.push(l);
    }
    let ls = LabelSet::new(vec!["neg".into(), "pos".into()]).unwrap();
    Dataset::new(
        "toy",
        (0..n).map(|i| i.to_string()).collect(),
        texts,
        labels,
        ls,
    )
    .unwrap()
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 8,
        eval_batch_size: 16,
        lr: 1e-3,
        seed: 3,
        ..TrainConfig::default()
    }
}

fn encoder() -> TextEncoder {
    TextEncoder::from_dir(&tiny_dir(), 32, Truncation::Head).unwrap()
}

fn train(
    cfg: TrainConfig,
    ckpt: &Path,
    resume: bool,
    progress: &dyn Progress,
) -> (
    Result<textclf_train::TrainOutcome, TrainError>,
    SequenceClassifier,
) {
    train_with(cfg, ckpt, resume, progress, false)
}

fn train_with(
    cfg: TrainConfig,
    ckpt: &Path,
    resume: bool,
    progress: &dyn Progress,
    grad_checkpoint: bool,
) -> (
    Result<textclf_train::TrainOutcome, TrainError>,
    SequenceClassifier,
) {
    let mut model = load_tiny(2, 1);
    model.set_grad_checkpoint(grad_checkpoint);
    let enc = encoder();
    let data = corpus(40);
    let valid = corpus(12);
    let out = Trainer {
        model: &mut model,
        encoder: &enc,
        config: cfg,
        ckpt_dir: ckpt.to_path_buf(),
    }
    .fit(&data, Some(&valid), resume, progress);
    (out, model)
}

fn weights(m: &SequenceClassifier) -> HashMap<String, Vec<f32>> {
    m.params
        .vars()
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                v.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_tiny_dataset_is_overfit() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        early_stopping: None,
        warmup_ratio: 0.0,
        lr: 3e-3,
        ..config(30)
    };
    let (out, _) = train(cfg, &tmp.path().join("ckpt"), false, &Silent);
    let out = out.unwrap();
    let first = out.history.first().unwrap().train_loss;
    let last = out.history.last().unwrap();
    assert!(
        last.train_loss < 0.05,
        "train loss {} (first epoch {first})",
        last.train_loss
    );
    assert!(last.train_loss < first / 5.0);
    assert_eq!(last.val_accuracy, 1.0);
}

#[test]
fn same_seed_same_run_and_resume_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, ma) = train(config(3), &tmp.path().join("a"), false, &Silent);
    let a = a.unwrap();
    let (b, mb) = train(config(3), &tmp.path().join("b"), false, &Silent);
    let b = b.unwrap();
    assert_eq!(
        serde_json::to_string(
            &a.history
                .iter()
                .map(|r| (r.train_loss, r.val_loss))
                .collect::<Vec<_>>()
        )
        .unwrap(),
        serde_json::to_string(
            &b.history
                .iter()
                .map(|r| (r.train_loss, r.val_loss))
                .collect::<Vec<_>>()
        )
        .unwrap()
    );
    assert_eq!(weights(&ma), weights(&mb));

    // Interrupt after 4 optimizer steps (mid-epoch 1), then resume.
    struct StopAfter(Cell<u32>);
    impl Progress for StopAfter {
        fn should_stop(&self) -> bool {
            self.0.set(self.0.get() + 1);
            self.0.get() >= 4
        }
    }
    let dir = tmp.path().join("c");
    let (err, _) = train(config(3), &dir, false, &StopAfter(Cell::new(0)));
    assert!(
        matches!(err, Err(TrainError::Interrupted { step: 4, .. })),
        "{:?}",
        err.err()
    );
    let (c, mc) = train(config(3), &dir, true, &Silent);
    let c = c.unwrap();
    assert_eq!(c.steps, a.steps);
    assert_eq!(c.history.len(), a.history.len());
    for (x, y) in c.history.iter().zip(&a.history) {
        assert_eq!(
            (x.train_loss, x.val_loss, x.val_accuracy),
            (y.train_loss, y.val_loss, y.val_accuracy)
        );
    }
    assert_eq!(
        weights(&mc),
        weights(&ma),
        "resumed weights differ from the uninterrupted run"
    );

    // A different configuration refuses the checkpoint.
    let other = TrainConfig {
        lr: 5e-4,
        ..config(3)
    };
    let (err, _) = train(other, &dir, true, &Silent);
    assert!(matches!(err, Err(TrainError::Checkpoint(_))));
}

#[test]
fn saved_model_predicts_the_same_after_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, model) = train(config(2), &tmp.path().join("ckpt"), false, &Silent);
    out.unwrap();
    let labels = LabelSet::new(vec!["neg".into(), "pos".into()]).unwrap();
    let settings = InferenceSettings {
        max_len: 32,
        truncation: Truncation::Head,
        eval_batch_size: 4,
    };
    let clf = TransformerClassifier::new(model, encoder(), labels, settings);
    let texts = [
        "a wonderful film",
        "hated it",
        "something else entirely, with more words than the others",
    ];
    let before = clf.predict_proba(&texts).unwrap();
    let dir = tmp.path().join("model");
    clf.save(&dir).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "vocab.txt",
        "textclf.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["architectures"][0], "BertForSequenceClassification");
    assert_eq!(cfg["id2label"]["1"], "pos");
    assert_eq!(cfg["label2id"]["neg"], 0);
    let loaded = TransformerClassifier::load(&dir, &Device::Cpu).unwrap();
    let after = loaded.predict_proba(&texts).unwrap();
    for (x, y) in before.as_slice().iter().zip(after.as_slice()) {
        assert!((x - y).abs() < 1e-6);
    }
    // Batched prediction equals one-by-one prediction.
    for (i, t) in texts.iter().enumerate() {
        let one = loaded.predict_proba(&[t]).unwrap();
        for (x, y) in one.row(0).iter().zip(after.row(i)) {
            assert!((x - y).abs() < 1e-5);
        }
    }
}

#[test]
fn a_huge_learning_rate_is_reported_not_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        lr: 1e9,
        grad_clip: None,
        warmup_ratio: 0.0,
        padding: Padding::MaxLen,
        ..config(3)
    };
    let (out, _) = train(cfg, &tmp.path().join("ckpt"), false, &Silent);
    match out {
        Err(e @ TrainError::Diverged { lr, suggest, .. }) => {
            // The advice is a lower rate in fine-tuning's range, never a higher one.
            assert!(suggest <= 5e-5 && suggest < lr, "{e}");
            assert!(e.to_string().contains("try --lr 5e-5"), "{e}");
        }
        other => panic!(
            "expected divergence, got {:?}",
            other.map(|o| o.history.last().map(|r| r.train_loss))
        ),
    }
}

#[test]
fn resume_without_validation_and_no_silent_overwrite() {
    struct StopAfter(Cell<u32>);
    impl Progress for StopAfter {
        fn should_stop(&self) -> bool {
            self.0.set(self.0.get() + 1);
            self.0.get() >= 3
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    let enc = encoder();
    let data = corpus(40);
    let run = |resume: bool, progress: &dyn Progress| {
        let mut model = load_tiny(2, 1);
        let cfg = TrainConfig {
            early_stopping: None,
            ..config(2)
        };
        let out = Trainer {
            model: &mut model,
            encoder: &enc,
            config: cfg,
            ckpt_dir: dir.clone(),
        }
        .fit(&data, None, resume, progress);
        (out, weights(&model))
    };
    let (first, _) = run(false, &StopAfter(Cell::new(0)));
    assert!(matches!(first, Err(TrainError::Interrupted { .. })));
    // Starting afresh over an existing checkpoint is refused rather than overwriting it.
    let (again, _) = run(false, &Silent);
    match again {
        Err(TrainError::Checkpoint(m)) => assert!(m.contains("--resume"), "{m}"),
        other => panic!("expected a refusal, got {:?}", other.map(|o| o.steps)),
    }
    // Validation metrics are NaN (null in state.json) and resuming still works.
    let (resumed, w) = run(true, &Silent);
    let resumed = resumed.unwrap();
    assert!(resumed.history.iter().all(|r| r.val_loss.is_nan()));
    let tmp2 = tempfile::tempdir().unwrap();
    let mut model = load_tiny(2, 1);
    let cfg = TrainConfig {
        early_stopping: None,
        ..config(2)
    };
    let straight = Trainer {
        model: &mut model,
        encoder: &enc,
        config: cfg,
        ckpt_dir: tmp2.path().join("c"),
    }
    .fit(&data, None, false, &Silent)
    .unwrap();
    assert_eq!(straight.steps, resumed.steps);
    assert_eq!(weights(&model), w);
}

/// A run with activation checkpointing (dropout on) follows the plain run: same
/// validation losses and final weights, up to the order of floating-point sums.
#[test]
fn grad_checkpointing_trains_like_the_plain_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = || TrainConfig {
        early_stopping: None,
        ..config(2)
    };
    let (plain, m1) = train_with(cfg(), &tmp.path().join("a"), false, &Silent, false);
    let (ckpt, m2) = train_with(cfg(), &tmp.path().join("b"), false, &Silent, true);
    let (plain, ckpt) = (plain.unwrap(), ckpt.unwrap());
    assert!(m2.grad_checkpoint() && !m1.grad_checkpoint());
    for (a, b) in plain.history.iter().zip(&ckpt.history) {
        assert!(
            (a.val_loss - b.val_loss).abs() < 1e-4,
            "val loss {} vs {}",
            a.val_loss,
            b.val_loss
        );
    }
    let (w1, w2) = (weights(&m1), weights(&m2));
    for (name, a) in &w1 {
        let d = a
            .iter()
            .zip(&w2[name])
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-4, "{name}: weights differ by {d:e}");
    }
}

/// `average_from`: the kept weights are the mean of the weights at every validation point
/// from that share of training on, and an interrupted run resumes to the same average.
#[test]
fn weight_averaging_is_the_mean_of_the_validation_points_and_resumes_exactly() {
    struct StopAfter(Cell<u32>, u32);
    impl Progress for StopAfter {
        fn should_stop(&self) -> bool {
            self.0.set(self.0.get() + 1);
            self.0.get() >= self.1
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let enc = encoder();
    let data = corpus(40);
    // 40 texts in batches of 8: 5 steps per epoch, 10 in all; validation points at every
    // step, so the average takes steps 5..=10.
    let cfg = TrainConfig {
        early_stopping: None,
        eval_every_steps: Some(1),
        average_from: Some(0.45),
        ..config(2)
    };
    let plain = TrainConfig {
        average_from: None,
        ..cfg.clone()
    };
    let run_with = |cfg: &TrainConfig, dir: &str, resume: bool, progress: &dyn Progress| {
        let mut model = load_tiny(2, 1);
        let out = Trainer {
            model: &mut model,
            encoder: &enc,
            config: cfg.clone(),
            ckpt_dir: tmp.path().join(dir),
        }
        .fit(&data, None, resume, progress);
        (out, weights(&model))
    };
    let run =
        |dir: &str, resume: bool, progress: &dyn Progress| run_with(&cfg, dir, resume, progress);
    let (full, averaged) = run("full", false, &Silent);
    let full = full.unwrap();
    let avg = full.averaged.clone().expect("an average was taken");
    assert_eq!((avg.from_step, avg.count, avg.kept), (5, 6, true));
    assert!(avg.val_accuracy.is_nan(), "no validation data");

    // The weights after steps 5..=10, from runs without averaging stopped there (the
    // last one runs to its end).
    let mut sum: HashMap<String, Vec<f64>> = HashMap::new();
    let mut last = HashMap::new();
    for step in 5..=10u32 {
        let dir = format!("stop{step}");
        let (out, w) = run_with(&plain, &dir, false, &StopAfter(Cell::new(0), step));
        if step < 10 {
            assert!(matches!(out, Err(TrainError::Interrupted { .. })));
        } else {
            last = w.clone();
        }
        for (name, v) in w {
            let s = sum.entry(name).or_insert_with(|| vec![0.0; v.len()]);
            s.iter_mut().zip(&v).for_each(|(a, &b)| *a += b as f64);
        }
    }
    let mut worst = 0f64;
    for (name, s) in &sum {
        let got = &averaged[name];
        for (a, &b) in s.iter().zip(got) {
            worst = worst.max((a / 6.0 - b as f64).abs());
        }
    }
    assert!(worst < 1e-5, "kept weights differ from the mean by {worst}");
    // Without averaging, the run ends with the step-10 weights, which differ.
    assert_ne!(last, averaged);

    // Interrupted after the average began (step 7) and resumed: the same average.
    let (first, _) = run("resumed", false, &StopAfter(Cell::new(0), 7));
    assert!(matches!(
        first,
        Err(TrainError::Interrupted { step: 7, .. })
    ));
    let (resumed, w) = run("resumed", true, &Silent);
    assert_eq!(resumed.unwrap().averaged.unwrap().count, 6);
    assert_eq!(
        w, averaged,
        "resumed average differs from the uninterrupted one"
    );

    // A fraction outside [0, 1) is refused with the flag's name.
    let bad = TrainConfig {
        average_from: Some(1.0),
        ..config(1)
    };
    match bad.check() {
        Err(m) => assert!(m.contains("--average-from"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

/// With validation data the average competes with the best single checkpoint on the
/// monitor, and the model ends with whichever the outcome says was kept.
#[test]
fn the_average_is_kept_only_when_it_validates_better() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        eval_every_steps: Some(2),
        average_from: Some(0.3),
        early_stopping: Some(textclf_train::EarlyStopping {
            monitor: textclf_train::Monitor::ValLoss,
            patience: 100,
            min_delta: 0.0,
        }),
        ..config(3)
    };
    let (out, model) = train(cfg, &tmp.path().join("c"), false, &Silent);
    let out = out.unwrap();
    let avg = out.averaged.clone().unwrap();
    assert!(avg.count >= 5, "{avg:?}");
    let valid = corpus(12);
    let seqs = encoder().encode_batch(&valid.text_refs()).unwrap();
    let (vl, _, _) = textclf_train::infer::validate(
        &model,
        &seqs,
        valid.labels().unwrap(),
        &valid.label_set,
        &encoder(),
        16,
    )
    .unwrap();
    let best = &out.history[out.best.unwrap()];
    if avg.kept {
        assert!(avg.val_loss < best.val_loss);
        assert!((vl - avg.val_loss).abs() < 1e-9, "{vl} vs {}", avg.val_loss);
    } else {
        assert!(avg.val_loss >= best.val_loss);
        assert!(
            (vl - best.val_loss).abs() < 1e-9,
            "{vl} vs {}",
            best.val_loss
        );
    }
}
