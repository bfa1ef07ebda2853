//! Parity with PyTorch/transformers on the golden fixtures in ../shared/fixtures/parity
//! (see its README): eval logits, hidden states, loss and gradients of tiny BERT,
//! DistilBERT and RoBERTa classifiers, and the real MiniLM encoder's outputs. Tolerances
//! are the recommended ones from the fixtures' tolerances.json.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use textclf_models::{cross_entropy, EncodedBatch, LoadOptions, SequenceClassifier};

fn shared() -> PathBuf {
    match std::env::var_os("TEXTCLF_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures/parity").join(name)
}

fn tolerances() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("tolerances.json")).expect("tolerances.json");
    serde_json::from_str(&text).unwrap()
}

fn atol(tol: &serde_json::Value, fix: &str, tensor: &str) -> f32 {
    tol["fixtures"][fix]["tensors"][tensor]["recommended_atol"]
        .as_f64()
        .unwrap_or_else(|| panic!("no tolerance for {fix}/{tensor}")) as f32
}

fn load_io(fix: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(fix).join("io.safetensors"), &Device::Cpu).unwrap()
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

fn batch(io: &HashMap<String, Tensor>) -> EncodedBatch {
    let (b, l) = io["input_ids"].dims2().unwrap();
    let ids = ints(&io["input_ids"]);
    EncodedBatch {
        batch: b,
        len: l,
        mask: ints(&io["attention_mask"]),
        type_ids: io
            .get("token_type_ids")
            .map(ints)
            .unwrap_or(vec![0; ids.len()]),
        ids,
    }
}

/// Max |got − want| over the positions where `keep` (same leading shape) is 1.
fn max_diff(got: &Tensor, want: &Tensor, keep: Option<&[u32]>) -> f32 {
    assert_eq!(got.dims(), want.dims(), "shape");
    let g: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
    let w: Vec<f32> = want
        .to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let inner = match keep {
        Some(k) => g.len() / k.len(),
        None => 1,
    };
    g.iter()
        .zip(&w)
        .enumerate()
        .filter(|(i, _)| keep.is_none_or(|k| k[i / inner] == 1))
        .map(|(_, (a, b))| (a - b).abs())
        .fold(0.0, f32::max)
}

fn check(name: &str, got: &Tensor, want: &Tensor, tol: f32, keep: Option<&[u32]>) {
    let d = max_diff(got, want, keep);
    assert!(d <= tol, "{name}: max |diff| {d:e} > atol {tol:e}");
}

fn tiny(fix: &str, word_emb: &str, stored: &[&str]) {
    let tol = tolerances();
    let io = load_io(fix);
    let opts = LoadOptions {
        num_labels: 3,
        layers: None,
        seed: 0,
        device: Device::Cpu,
    };
    let (model, report) = SequenceClassifier::load(&fixture(fix), &opts).unwrap();
    assert!(
        report.fresh.is_empty(),
        "{fix}: fresh params {:?}",
        report.fresh
    );
    let b = batch(&io);
    let out = model.forward(&b, None, true).unwrap();
    check(
        "logits",
        &out.logits,
        &io["logits"],
        atol(&tol, fix, "logits"),
        None,
    );
    check(
        "classifier_input",
        &out.classifier_input,
        &io["classifier_input"],
        atol(&tol, fix, "classifier_input"),
        None,
    );
    let last = out.hidden_states.last().unwrap();
    check(
        "last_hidden_state",
        last,
        &io["last_hidden_state"],
        atol(&tol, fix, "last_hidden_state"),
        Some(&b.mask),
    );
    let hs = Tensor::stack(&out.hidden_states, 0).unwrap();
    let mask3: Vec<u32> = (0..out.hidden_states.len())
        .flat_map(|_| b.mask.clone())
        .collect();
    check(
        "hidden_states",
        &hs,
        &io["hidden_states"],
        atol(&tol, fix, "hidden_states"),
        Some(&mask3),
    );
    let labels: Vec<u32> = ints(&io["labels"]);
    let loss = cross_entropy(&out.logits, &labels, None).unwrap();
    check(
        "loss",
        &loss.reshape(1).unwrap(),
        &io["loss"],
        atol(&tol, fix, "loss"),
        None,
    );

    // Gradients (train mode with dropout 0 = forward without dropout).
    // The word-embedding gradient comes back as sparse rows (see `grads.rs`); `dense`
    // makes it the full table PyTorch reports.
    let grads = model.backward(&out, &loss).unwrap();
    assert!(
        grads.sparse.contains_key(word_emb),
        "{fix}: the word embeddings' gradient is gathered sparsely on the CPU"
    );
    let dense = |name: &str| {
        grads
            .dense(name, model.params.get(name).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{fix}: parameter {name} received no gradient"))
    };
    for p in stored {
        let key = format!("grad.{p}");
        check(&key, &dense(p), &io[&key], atol(&tol, fix, &key), None);
    }
    let rows_key = format!("row_ids.{word_emb}");
    let rows = Tensor::from_vec(
        ints(&io[&rows_key]),
        io[&rows_key].dims1().unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let g = dense(word_emb);
    let key = format!("grad_rows.{word_emb}");
    check(
        &key,
        &g.index_select(&rows, 0).unwrap(),
        &io[&key],
        atol(&tol, fix, &key),
        None,
    );

    // Every parameter receives a gradient, and only the unused rows of embeddings are zero.
    for (name, _) in model.params.vars() {
        let g = dense(name);
        let n: f32 = g.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
        assert!(n > 0.0, "{fix}: gradient of {name} is all zero");
    }
}

#[test]
fn bert_tiny_matches_transformers() {
    tiny(
        "bert-tiny",
        "bert.embeddings.word_embeddings.weight",
        &[
            "bert.encoder.layer.0.attention.self.query.weight",
            "bert.encoder.layer.1.output.LayerNorm.weight",
            "bert.pooler.dense.weight",
            "classifier.weight",
            "classifier.bias",
        ],
    );
}

#[test]
fn distilbert_tiny_matches_transformers() {
    tiny(
        "distilbert-tiny",
        "distilbert.embeddings.word_embeddings.weight",
        &[
            "distilbert.transformer.layer.0.attention.q_lin.weight",
            "distilbert.transformer.layer.1.output_layer_norm.weight",
            "pre_classifier.weight",
            "classifier.weight",
            "classifier.bias",
        ],
    );
}

#[test]
fn roberta_tiny_matches_transformers() {
    tiny(
        "roberta-tiny",
        "roberta.embeddings.word_embeddings.weight",
        &[
            "roberta.encoder.layer.0.attention.self.query.weight",
            "roberta.encoder.layer.1.output.LayerNorm.weight",
            "classifier.dense.weight",
            "classifier.out_proj.weight",
            "classifier.out_proj.bias",
        ],
    );
}

#[test]
fn minilm_encoder_matches_transformers() {
    let tol = tolerances();
    let io = load_io("minilm");
    let opts = LoadOptions {
        num_labels: 2,
        layers: None,
        seed: 7,
        device: Device::Cpu,
    };
    let dir = shared().join("models/all-MiniLM-L6-v2");
    let (model, report) = SequenceClassifier::load(&dir, &opts).unwrap();
    // A bare encoder: only the classifier is new; the position_ids buffer is unused.
    assert_eq!(report.fresh, vec!["classifier.weight", "classifier.bias"]);
    assert!(report.unused.iter().any(|u| u.contains("position_ids")));
    let b = batch(&io);
    let out = model.forward(&b, None, true).unwrap();
    let last = out.hidden_states.last().unwrap();
    check(
        "last_hidden_state",
        last,
        &io["last_hidden_state"],
        atol(&tol, "minilm", "last_hidden_state"),
        Some(&b.mask),
    );
    let first = last.narrow(1, 0, 1).unwrap().squeeze(1).unwrap();
    check(
        "first token",
        &first,
        &io["last_hidden_state_first_token"],
        atol(&tol, "minilm", "last_hidden_state_first_token"),
        None,
    );
    check(
        "pooler_output",
        &out.classifier_input,
        &io["pooler_output"],
        atol(&tol, "minilm", "pooler_output"),
        None,
    );
    let firsts: Vec<Tensor> = out
        .hidden_states
        .iter()
        .map(|h| h.narrow(1, 0, 1).unwrap().squeeze(1).unwrap())
        .collect();
    let firsts = Tensor::stack(&firsts, 0).unwrap();
    check(
        "hidden_states_first_token",
        &firsts,
        &io["hidden_states_first_token"],
        atol(&tol, "minilm", "hidden_states_first_token"),
        None,
    );
    // Mean pooling over real tokens (sentence-transformers).
    let m = Tensor::from_slice(&b.mask, (b.batch, b.len, 1), &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    let summed = last.broadcast_mul(&m).unwrap().sum(1).unwrap();
    let counts = m.sum(1).unwrap().clamp(1e-9, f64::MAX).unwrap();
    let mean = summed.broadcast_div(&counts).unwrap();
    check(
        "mean_pooled",
        &mean,
        &io["mean_pooled"],
        atol(&tol, "minilm", "mean_pooled"),
        None,
    );
}

#[test]
fn fewer_layers_keeps_evenly_spaced_ones() {
    let opts = LoadOptions {
        num_labels: 2,
        layers: Some(3),
        seed: 1,
        device: Device::Cpu,
    };
    let dir = shared().join("models/all-MiniLM-L6-v2");
    let (model, report) = SequenceClassifier::load(&dir, &opts).unwrap();
    assert_eq!(report.kept_layers, vec![0, 2, 4]);
    assert_eq!(model.config.num_layers, 3);
    // Layer 1 of the small model is layer 2 of the checkpoint.
    let full = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let want = &full["encoder.layer.2.attention.self.query.weight"];
    let got = model
        .params
        .t("bert.encoder.layer.1.attention.self.query.weight")
        .unwrap();
    assert_eq!(max_diff(got, want, None), 0.0);
    let bad = LoadOptions {
        layers: Some(7),
        ..opts
    };
    let err = SequenceClassifier::load(&dir, &bad)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--layers 7"), "{err}");
}

fn minilm() -> SequenceClassifier {
    let opts = LoadOptions {
        num_labels: 2,
        layers: None,
        seed: 7,
        device: Device::Cpu,
    };
    SequenceClassifier::load(&shared().join("models/all-MiniLM-L6-v2"), &opts)
        .unwrap()
        .0
}

#[test]
fn int8_inference_stays_close_to_f32() {
    let io = load_io("minilm");
    let b = batch(&io);
    let mut model = minilm();
    let f32_logits = model.infer(&b).unwrap();
    let f32_out = model.infer_forward(&b, true).unwrap();
    assert_eq!(
        model.quantize_int8().unwrap(),
        36,
        "6 layers × 6 linear layers"
    );
    assert!(model.is_int8());
    let q_out = model.infer_forward(&b, true).unwrap();
    let vals = |t: &Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
    // The pooler output (tanh, in [-1, 1]) and the last hidden state (masked).
    let pooled = max_diff(&q_out.classifier_input, &f32_out.classifier_input, None);
    assert!(pooled < 0.05, "int8 pooler output differs by {pooled}");
    // Last hidden state: the error relative to the values, as an RMS over real tokens
    // and as a maximum. (7-bit per-token activations blur outlier dimensions most.)
    let (h32, h8) = (
        vals(f32_out.hidden_states.last().unwrap()),
        vals(q_out.hidden_states.last().unwrap()),
    );
    let hidden = h32.len() / b.mask.len();
    let (mut se, mut sv, mut worst, mut range) = (0f64, 0f64, 0f32, 0f32);
    for (i, (x, y)) in h32.iter().zip(&h8).enumerate() {
        if b.mask[i / hidden] == 1 {
            se += ((x - y) as f64).powi(2);
            sv += (*x as f64).powi(2);
            worst = worst.max((x - y).abs());
            range = range.max(x.abs());
        }
    }
    let rel_rms = (se / sv).sqrt();
    eprintln!(
        "int8 vs f32: pooler {pooled:e}, last hidden RMS {rel_rms:e}, max {worst} of {range}"
    );
    assert!(worst > 0.0, "the int8 path was not taken");
    assert!(
        rel_rms < 0.05,
        "int8 last hidden state: relative RMS error {rel_rms}"
    );
    assert!(
        worst < 0.1 * range,
        "int8 last hidden state differs by up to {worst} (values up to {range})"
    );
    // Training-mode forward passes keep f32.
    let out = model.forward(&b, None, false).unwrap();
    let d = max_diff(&out.logits, &f32_logits, None);
    assert!(d < 1e-5, "forward after quantize_int8 changed by {d}");
}

#[test]
fn a_large_batch_is_inferred_in_slices_with_the_same_logits() {
    let model = minilm();
    // 40 × 64 tokens is past the slice size, so infer runs it in two slices.
    let (rows, len) = (40usize, 64usize);
    assert!(rows * len > textclf_models::model::INFER_TOKENS);
    let mut ids = vec![0u32; rows * len];
    let mut mask = vec![0u32; rows * len];
    for r in 0..rows {
        let n = 8 + (r * 7) % (len - 8);
        for c in 0..n {
            ids[r * len + c] = 1000 + ((r * 31 + c * 17) % 20000) as u32;
            mask[r * len + c] = 1;
        }
    }
    let b = EncodedBatch {
        batch: rows,
        len,
        ids,
        mask,
        type_ids: vec![0; rows * len],
    };
    let sliced = model.infer(&b).unwrap();
    let whole = model.forward(&b, None, false).unwrap().logits;
    assert_eq!(sliced.dims(), [rows, 2]);
    let d = max_diff(&sliced, &whole, None);
    assert!(d < 1e-5, "sliced inference differs by {d}");
}

/// Activation checkpointing recomputes each layer in the backward pass with the dropout
/// masks of the forward pass: the loss and every gradient match the plain pass, for every
/// family, with dropout on (a replay with other masks would be far off).
///
/// The same comparison covers the last layer's shortcut: without hidden states it computes
/// only the first token's row (all the head reads). Asking for the hidden states computes
/// every row; the loss, the gradients and the generator's state afterwards (the dropout
/// draws) must not change.
#[test]
fn checkpointed_backward_gives_the_plain_gradients() {
    for fix in [
        "bert-tiny",
        "distilbert-tiny",
        "roberta-tiny",
        "electra-tiny",
        "deberta-v2-tiny",
        "modernbert-tiny",
    ] {
        let (mut model, b, labels) = with_dropout(fix);
        let (plain_loss, plain, plain_next) = train_pass(&model, &b, &labels, 5, false);
        let no_dropout = {
            let out = model.forward(&b, None, false).unwrap();
            cross_entropy(&out.logits, &labels, None)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        assert!(
            (plain_loss - no_dropout).abs() > 1e-4,
            "{fix}: dropout changes the loss"
        );
        let full = train_pass(&model, &b, &labels, 5, true);
        model.set_grad_checkpoint(true);
        for (what, (loss, grads, next)) in [
            ("all rows", full),
            ("checkpointed", train_pass(&model, &b, &labels, 5, false)),
            (
                "checkpointed, all rows",
                train_pass(&model, &b, &labels, 5, true),
            ),
        ] {
            assert_eq!(next, plain_next, "{fix}, {what}: other dropout draws");
            assert!(
                (plain_loss - loss).abs() <= 1e-6,
                "{fix}: loss {plain_loss} vs {what} {loss}"
            );
            compare(fix, what, &plain, &grads);
        }
    }
}

/// Training on the CPU runs each encoder layer as one node with a hand-written backward.
/// With dropout on (every mask in play), its loss, its gradients and the generator's state
/// afterwards match the layer built from separate nodes, for the four families, with and
/// without the last layer's first-row shortcut; so do its inference logits.
#[test]
fn the_fused_encoder_layer_matches_the_separate_nodes() {
    for fix in [
        "bert-tiny",
        "distilbert-tiny",
        "roberta-tiny",
        "electra-tiny",
    ] {
        let (mut model, b, labels) = with_dropout(fix);
        // Inference runs the one-node layer's forward alone, on the real tokens.
        let mut logits = [true, false].map(|fused| {
            model.set_fused_layers(fused);
            let l = model.infer(&b).unwrap();
            l.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        });
        model.set_fused_layers(true);
        let plain_logits = std::mem::take(&mut logits[1]);
        let fused_logits = std::mem::take(&mut logits[0]);
        for (a, c) in fused_logits.iter().zip(&plain_logits) {
            assert!((a - c).abs() <= 1e-5, "{fix}: inference logits {a} vs {c}");
        }
        for all_rows in [true, false] {
            let (loss, fused, next) = train_pass(&model, &b, &labels, 11, all_rows);
            model.set_fused_layers(false);
            let (want_loss, plain, want_next) = train_pass(&model, &b, &labels, 11, all_rows);
            model.set_fused_layers(true);
            let what = format!("fused layers, all rows {all_rows}");
            assert_eq!(next, want_next, "{fix}, {what}: other dropout draws");
            assert!(
                (loss - want_loss).abs() <= 1e-6,
                "{fix}, {what}: loss {loss} vs {want_loss}"
            );
            compare(fix, &what, &plain, &fused);
        }
    }
}

/// Fixture `fix` with a 3-class head and every dropout at 0.1, its batch and its labels.
fn with_dropout(fix: &str) -> (SequenceClassifier, EncodedBatch, Vec<u32>) {
    let io = load_io(fix);
    let opts = LoadOptions {
        num_labels: 3,
        layers: None,
        seed: 0,
        device: Device::Cpu,
    };
    let (mut model, _) = SequenceClassifier::load(&fixture(fix), &opts).unwrap();
    model.config.hidden_dropout = 0.1;
    model.config.attention_dropout = 0.1;
    model.config.classifier_dropout = 0.1;
    (model, batch(&io), ints(&io["labels"]))
}

/// One training forward and backward pass with dropout drawn from `seed`: the loss, every
/// parameter's dense gradient by name, and the generator's next draw after the forward.
fn train_pass(
    model: &SequenceClassifier,
    b: &EncodedBatch,
    labels: &[u32],
    seed: u64,
    all_rows: bool,
) -> (f32, Vec<(String, Tensor)>, u64) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let out = model.forward(b, Some(&mut rng), all_rows).unwrap();
    let next: u64 = rng.random();
    let loss = cross_entropy(&out.logits, labels, None).unwrap();
    let grads = model.backward(&out, &loss).unwrap();
    let dense = model
        .params
        .vars()
        .iter()
        .map(|(n, v)| {
            let g = grads.dense(n, v).unwrap();
            (
                n.clone(),
                g.unwrap_or_else(|| panic!("no gradient for {n}")),
            )
        })
        .collect();
    (loss.to_scalar::<f32>().unwrap(), dense, next)
}

/// Asserts each gradient of `other` is within 1e-5 of its scale of the one in `plain`.
fn compare(fix: &str, what: &str, plain: &[(String, Tensor)], other: &[(String, Tensor)]) {
    assert_eq!(plain.len(), other.len());
    for ((name, a), (_, b)) in plain.iter().zip(other) {
        let scale = a
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let d = max_diff(b, a, None);
        assert!(
            d <= 1e-5 * scale.max(1e-3),
            "{fix}, {what}: gradient of {name} differs by {d:e} (scale {scale:e})"
        );
    }
}
