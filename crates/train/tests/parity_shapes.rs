//! Parity with PyTorch/transformers for the problem shapes beyond single texts with one
//! label (fixture README sections 8.6 and 8.7): sentence pairs through BERT (token types),
//! DistilBERT (no token types) and RoBERTa (`<s> A </s></s> B </s>`), and the multi-label
//! (BCE-with-logits) and regression (MSE) heads on the tiny BERT. For each: eval logits,
//! the classifier input and last hidden state, the loss, the stored gradients and the
//! weights after one AdamW step (lr 1e-3, HF grouping), within tolerances.json.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use textclf_models::{
    bce_with_logits, cross_entropy, mse_loss, EncodedBatch, LoadOptions, SequenceClassifier,
};
use textclf_train::optim::{AdamW, AdamWConfig};

fn shared() -> PathBuf {
    match std::env::var_os("TEXTCLF_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures/parity").join(name)
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

fn floats(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Max |got − want| over the rows where `keep` (same leading shape) is 1, and over the
/// elements where `only` holds (all when `None`).
fn max_diff(got: &Tensor, want: &Tensor, keep: Option<&[u32]>, only: Option<&[bool]>) -> f32 {
    assert_eq!(got.dims(), want.dims(), "shape");
    let (g, w) = (floats(got), floats(want));
    let inner = keep.map_or(1, |k| g.len() / k.len());
    g.iter()
        .zip(&w)
        .enumerate()
        .filter(|(i, _)| keep.is_none_or(|k| k[i / inner] == 1))
        .filter(|(i, _)| only.is_none_or(|o| o[*i]))
        .map(|(_, (a, b))| (a - b).abs())
        .fold(0.0, f32::max)
}

/// The loss a fixture was made with.
#[derive(Clone, Copy)]
enum Loss {
    CrossEntropy,
    Bce,
    Mse,
}

struct Case {
    /// Folder of the weights and config.
    dir: &'static str,
    /// The io file in it.
    io: &'static str,
    /// Its key in tolerances.json.
    tol_key: &'static str,
    num_labels: usize,
    loss: Loss,
    word_emb: &'static str,
}

fn run(case: &Case) {
    let tol: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("tolerances.json")).unwrap())
            .unwrap();
    let tensors = &tol["fixtures"][case.tol_key]["tensors"];
    let atol = |name: &str| -> f32 {
        let t = &tensors[name];
        // After a step, compare on the well-conditioned elements (README 8.8).
        let v = t["well_conditioned"]["recommended_atol"]
            .as_f64()
            .or_else(|| t["recommended_atol"].as_f64());
        v.unwrap_or_else(|| panic!("{}: no tolerance for {name}", case.tol_key)) as f32
    };
    let what = case.tol_key;
    let io = candle_core::safetensors::load(fixture(case.dir).join(case.io), &Device::Cpu)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let opts = LoadOptions {
        num_labels: case.num_labels,
        layers: None,
        seed: 0,
        device: Device::Cpu,
    };
    let (model, report) = SequenceClassifier::load(&fixture(case.dir), &opts).unwrap();
    assert!(report.fresh.is_empty(), "{what}: fresh {:?}", report.fresh);
    let (b, l) = io["input_ids"].dims2().unwrap();
    let ids = ints(&io["input_ids"]);
    let batch = EncodedBatch {
        batch: b,
        len: l,
        mask: ints(&io["attention_mask"]),
        // DistilBERT's fixture has none: it has no token-type embedding.
        type_ids: io
            .get("token_type_ids")
            .map(ints)
            .unwrap_or(vec![0; ids.len()]),
        ids,
    };
    let check = |name: &str, got: &Tensor, keep: Option<&[u32]>| {
        let d = max_diff(got, &io[name], keep, None);
        let a = atol(name);
        assert!(d <= a, "{what} {name}: max |diff| {d:e} > atol {a:e}");
    };
    let out = model.forward(&batch, None, true).unwrap();
    check("logits", &out.logits, None);
    check("classifier_input", &out.classifier_input, None);
    check(
        "last_hidden_state",
        out.hidden_states.last().unwrap(),
        Some(&batch.mask),
    );
    let labels = &io["labels"];
    let loss = match case.loss {
        Loss::CrossEntropy => cross_entropy(&out.logits, &ints(labels), None),
        Loss::Bce => bce_with_logits(&out.logits, &floats(labels), None),
        Loss::Mse => mse_loss(&out.logits, &floats(labels)),
    }
    .unwrap();
    check("loss", &loss.reshape(1).unwrap(), None);

    let mut opt = AdamW::new(&model.params, AdamWConfig::default()).unwrap();
    let grads = model.backward(&out, &loss).unwrap();
    let dense = |name: &str| {
        grads
            .dense(name, model.params.get(name).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: no gradient for {name}"))
    };
    let stored: Vec<String> = io
        .keys()
        .filter_map(|k| k.strip_prefix("grad.").map(str::to_string))
        .collect();
    assert!(stored.len() >= 5, "{what}: stored gradients {stored:?}");
    let rows_key = format!("row_ids.{}", case.word_emb);
    let rows = Tensor::from_vec(
        ints(&io[&rows_key]),
        io[&rows_key].dims1().unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let mut grad_of: HashMap<String, Tensor> = HashMap::new();
    for p in &stored {
        let g = dense(p);
        check(&format!("grad.{p}"), &g, None);
        grad_of.insert(format!("after_step.{p}"), g);
    }
    let g_rows = dense(case.word_emb).index_select(&rows, 0).unwrap();
    check(&format!("grad_rows.{}", case.word_emb), &g_rows, None);
    grad_of.insert(format!("after_step_rows.{}", case.word_emb), g_rows);

    // One AdamW step from a fresh optimizer, compared on the well-conditioned elements:
    // |stored gradient| >= 1e-6, or a whole all-zero row of a 2-D tensor.
    let collected = opt.collect_grads(&model.params, &grads).unwrap();
    opt.step(&model.params, &collected, 1e-3, 1.0).unwrap();
    let mut after: Vec<(String, Tensor)> = stored
        .iter()
        .map(|p| {
            (
                format!("after_step.{p}"),
                model.params.t(p).unwrap().clone(),
            )
        })
        .collect();
    after.push((
        format!("after_step_rows.{}", case.word_emb),
        model
            .params
            .t(case.word_emb)
            .unwrap()
            .index_select(&rows, 0)
            .unwrap(),
    ));
    for (key, got) in after {
        let g = &grad_of[&key];
        let gv = floats(g);
        let width = if g.rank() == 2 { g.dims()[1] } else { gv.len() };
        let zero_row: Vec<bool> = gv
            .chunks(width)
            .map(|r| g.rank() == 2 && r.iter().all(|&x| x == 0.0))
            .collect();
        let only: Vec<bool> = gv
            .iter()
            .enumerate()
            .map(|(i, &x)| x.abs() >= 1e-6 || zero_row[i / width])
            .collect();
        let d = max_diff(&got, &io[&key], None, Some(&only));
        let a = atol(&key);
        assert!(d <= a, "{what} {key}: max |diff| {d:e} > atol {a:e}");
    }
}

#[test]
fn bert_pairs_match_transformers() {
    run(&Case {
        dir: "bert-tiny",
        io: "io_pair.safetensors",
        tol_key: "bert-tiny/io_pair",
        num_labels: 3,
        loss: Loss::CrossEntropy,
        word_emb: "bert.embeddings.word_embeddings.weight",
    });
}

#[test]
fn distilbert_pairs_match_transformers() {
    run(&Case {
        dir: "distilbert-tiny",
        io: "io_pair.safetensors",
        tol_key: "distilbert-tiny/io_pair",
        num_labels: 3,
        loss: Loss::CrossEntropy,
        word_emb: "distilbert.embeddings.word_embeddings.weight",
    });
}

#[test]
fn roberta_pairs_match_transformers() {
    run(&Case {
        dir: "roberta-tiny",
        io: "io_pair.safetensors",
        tol_key: "roberta-tiny/io_pair",
        num_labels: 3,
        loss: Loss::CrossEntropy,
        word_emb: "roberta.embeddings.word_embeddings.weight",
    });
}

#[test]
fn multi_label_head_matches_transformers() {
    run(&Case {
        dir: "bert-tiny-multilabel",
        io: "io.safetensors",
        tol_key: "bert-tiny-multilabel",
        num_labels: 5,
        loss: Loss::Bce,
        word_emb: "bert.embeddings.word_embeddings.weight",
    });
}

#[test]
fn regression_head_matches_transformers() {
    run(&Case {
        dir: "bert-tiny-regression",
        io: "io.safetensors",
        tol_key: "bert-tiny-regression",
        num_labels: 1,
        loss: Loss::Mse,
        word_emb: "bert.embeddings.word_embeddings.weight",
    });
}

/// Positive weights scale the positive term of each label, as torch's `pos_weight`:
/// checked against the closed form on a small logit matrix.
#[test]
fn bce_positive_weights_follow_torch() {
    let z = [0.3f32, -1.2, 2.0, 0.0, -0.4, 5.0];
    let y = [1.0f32, 0.0, 1.0, 0.0, 1.0, 1.0];
    let w = [2.0f32, 0.5, 3.0];
    let logits = Tensor::from_slice(&z, (2, 3), &Device::Cpu).unwrap();
    let got: f32 = bce_with_logits(&logits, &y, Some(&w))
        .unwrap()
        .to_scalar()
        .unwrap();
    let sp = |x: f64| x.max(0.0) + (1.0 + (-x.abs()).exp()).ln();
    let want: f64 = (0..6)
        .map(|i| {
            let (z, y, p) = (z[i] as f64, y[i] as f64, w[i % 3] as f64);
            p * y * sp(-z) + (1.0 - y) * sp(z)
        })
        .sum::<f64>()
        / 6.0;
    assert!((got as f64 - want).abs() < 1e-6, "{got} vs {want}");
    let plain: f32 = bce_with_logits(&logits, &y, None)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(
        (plain - got).abs() > 1e-2,
        "the weights change the loss: {plain} vs {got}"
    );
    assert!(bce_with_logits(&logits, &y[..5], None).is_err());
    assert!(mse_loss(&logits, &y[..2]).is_err(), "one output only");
}
