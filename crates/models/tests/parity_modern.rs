//! Parity with PyTorch/transformers on the second batch of golden fixtures in
//! ../shared/fixtures/parity (its README, section 8): ELECTRA, DeBERTa-v3 and ModernBERT,
//! single sentences and sentence pairs. For each io file: eval logits, loss, the classifier
//! input, every hidden state on real tokens, every stored gradient, and the weights after
//! one AdamW step (torch's closed form from zero state applied to our gradients, with the
//! weight-decay grouping of `textclf_models::decays`), on the well-conditioned elements the
//! README defines, within the recommended tolerances of tolerances.json.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use textclf_models::{cross_entropy, decays, EncodedBatch, LoadOptions, SequenceClassifier};

fn shared() -> PathBuf {
    match std::env::var_os("TEXTCLF_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures/parity").join(name)
}

/// The fixture folder `dir`, or, with `weights`, a temporary folder (removed when the
/// returned guard drops) holding the config of `dir` beside the weights of `weights`.
fn model_folder(dir: &str, weights: Option<&str>) -> (PathBuf, Option<tempfile::TempDir>) {
    let Some(w) = weights else {
        return (fixture(dir), None);
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture(dir).join("config.json"),
        tmp.path().join("config.json"),
    )
    .unwrap();
    std::fs::copy(
        fixture(w).join("model.safetensors"),
        tmp.path().join("model.safetensors"),
    )
    .unwrap();
    (tmp.path().to_path_buf(), Some(tmp))
}

fn tolerances() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("tolerances.json")).expect("tolerances.json");
    serde_json::from_str(&text).unwrap()
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

/// Every parameter's dense gradient, by name, of the cross-entropy of `out` at `labels`.
fn named_grads(
    model: &SequenceClassifier,
    out: &textclf_models::Forward,
    labels: &[u32],
) -> Vec<(String, Vec<f32>)> {
    let loss = cross_entropy(&out.logits, labels, None).unwrap();
    let grads = model.backward(out, &loss).unwrap();
    model
        .params
        .vars()
        .iter()
        .map(|(n, v)| (n.clone(), floats(&grads.dense(n, v).unwrap().unwrap())))
        .collect()
}

/// Max |got − want| over the elements where `keep(i)`.
fn max_diff_where(got: &[f32], want: &[f32], keep: impl Fn(usize) -> bool) -> f32 {
    assert_eq!(got.len(), want.len(), "length");
    got.iter()
        .zip(want)
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, (a, b))| (a - b).abs())
        .fold(0.0, f32::max)
}

/// The parity checker of one io file.
struct Case<'a> {
    tol: &'a serde_json::Value,
    /// The key of tolerances.json (`electra-tiny`, `electra-tiny/io_pair`).
    key: String,
    checked: usize,
}

impl Case<'_> {
    fn entry(&self, tensor: &str) -> &serde_json::Value {
        &self.tol["fixtures"][&self.key]["tensors"][tensor]
    }

    fn atol(&self, tensor: &str) -> f32 {
        self.entry(tensor)["recommended_atol"]
            .as_f64()
            .unwrap_or_else(|| panic!("no tolerance for {}/{tensor}", self.key)) as f32
    }

    /// `got` against `want` (same shape) within the recommended atol, on the rows of the
    /// leading `[B, L]` where `mask` is 1 when given.
    fn check(&mut self, name: &str, got: &Tensor, want: &Tensor, mask: Option<&[u32]>) {
        assert_eq!(got.dims(), want.dims(), "{}: {name} shape", self.key);
        let (g, w) = (floats(got), floats(want));
        // Elements of one position: the last dimension ([.., B, L, H] tensors).
        let inner = got.dims().last().copied().unwrap_or(1);
        let d = max_diff_where(&g, &w, |i| mask.is_none_or(|m| m[i / inner % m.len()] == 1));
        let tol = self.atol(name);
        assert!(
            d <= tol,
            "{}: {name}: max |diff| {d:e} > atol {tol:e}",
            self.key
        );
        self.checked += 1;
    }
}

/// torch's AdamW, one step from zero state (lr 1e-3, betas 0.9/0.999, eps 1e-8, decoupled
/// weight decay 0.01 when `decay`), element by element in f32 in torch's order.
fn adamw_first_step(w0: f32, g: f32, decay: bool) -> f32 {
    let (lr, b1, b2, eps, wd) = (1e-3f32, 0.9f32, 0.999f32, 1e-8f32, 0.01f32);
    let w = if decay { w0 * (1.0 - lr * wd) } else { w0 };
    let m = (1.0 - b1) * g;
    let v = (1.0 - b2) * g * g;
    let step = lr / (1.0 - b1);
    let denom = v.sqrt() / (1.0 - b2).sqrt() + eps;
    w - step * (m / denom)
}

/// A parameter's (name, initial values, our gradient, the stored gradient, row width).
type StepCheck = (String, Vec<f32>, Vec<f32>, Vec<f32>, usize);

/// Checks fixture folder `dir` (weights from `weights`, default the same folder) on the io
/// file `io_name`.
fn parity(dir: &str, weights: Option<&str>, io_name: &str) -> usize {
    let tol = tolerances();
    let io = candle_core::safetensors::load(fixture(dir).join(io_name), &Device::Cpu).unwrap();
    let key = match io_name {
        "io.safetensors" => dir.to_string(),
        other => format!("{dir}/{}", other.trim_end_matches(".safetensors")),
    };
    let mut case = Case {
        tol: &tol,
        key,
        checked: 0,
    };
    let (model_dir, _tmp) = model_folder(dir, weights);
    let opts = LoadOptions {
        num_labels: 3,
        layers: None,
        seed: 0,
        device: Device::Cpu,
    };
    let (model, report) = SequenceClassifier::load(&model_dir, &opts).unwrap();
    assert!(report.fresh.is_empty(), "{dir}: fresh {:?}", report.fresh);
    let initial: HashMap<String, Vec<f32>> = model
        .params
        .vars()
        .iter()
        .map(|(n, v)| (n.clone(), floats(v.as_tensor())))
        .collect();
    let b = batch(&io);
    let out = model.forward(&b, None, true).unwrap();
    case.check("logits", &out.logits, &io["logits"], None);
    case.check(
        "classifier_input",
        &out.classifier_input,
        &io["classifier_input"],
        None,
    );
    let hs = Tensor::stack(&out.hidden_states, 0).unwrap();
    case.check("hidden_states", &hs, &io["hidden_states"], Some(&b.mask));
    case.check(
        "last_hidden_state",
        out.hidden_states.last().unwrap(),
        &io["last_hidden_state"],
        Some(&b.mask),
    );
    let labels = ints(&io["labels"]);
    let loss = cross_entropy(&out.logits, &labels, None).unwrap();
    case.check("loss", &loss.reshape(1).unwrap(), &io["loss"], None);

    // A plain forward (the last layer computing the rows the head reads) gives the same
    // logits; its backward gives the gradients.
    let out = model.forward(&b, None, false).unwrap();
    case.check("logits", &out.logits, &io["logits"], None);
    let loss = cross_entropy(&out.logits, &labels, None).unwrap();
    case.check(
        "train_loss",
        &loss.reshape(1).unwrap(),
        &io["train_loss"],
        None,
    );
    let grads = model.backward(&out, &loss).unwrap();
    let dense = |name: &str| -> Tensor {
        grads
            .dense(name, model.params.get(name).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{dir}: parameter {name} received no gradient"))
    };
    let mut stored: Vec<&String> = io.keys().filter(|k| k.starts_with("grad.")).collect();
    stored.sort();
    for k in &stored {
        let p = k.trim_start_matches("grad.");
        case.check(k, &dense(p), &io[k.as_str()], None);
    }
    let row_key = io
        .keys()
        .find(|k| k.starts_with("row_ids."))
        .expect("row_ids")
        .clone();
    let word = row_key.trim_start_matches("row_ids.").to_string();
    let rows = Tensor::from_vec(
        ints(&io[&row_key]),
        io[&row_key].dims1().unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let word_grad = dense(&word).index_select(&rows, 0).unwrap();
    let k = format!("grad_rows.{word}");
    case.check(&k, &word_grad, &io[&k], None);

    // One AdamW step, checked on the well-conditioned elements (README 8.8): |stored grad|
    // >= 1e-6, plus whole rows of 2-D tensors whose stored gradient is all zero.
    let mut step_checks: Vec<StepCheck> = vec![];
    for k in &stored {
        let p = k.trim_start_matches("grad.");
        let width = io[k.as_str()].dims().get(1).copied().unwrap_or(0);
        step_checks.push((
            p.to_string(),
            initial[p].clone(),
            floats(&dense(p)),
            floats(&io[k.as_str()]),
            width,
        ));
    }
    {
        let ids = ints(&io[&row_key]);
        let w0 = &initial[&word];
        let width = w0.len() / model.params.t(&word).unwrap().dim(0).unwrap();
        let rows0: Vec<f32> = ids
            .iter()
            .flat_map(|&r| w0[r as usize * width..][..width].to_vec())
            .collect();
        step_checks.push((
            format!("rows.{word}"),
            rows0,
            floats(&word_grad),
            floats(&io[&format!("grad_rows.{word}")]),
            width,
        ));
    }
    for (p, w0, g, stored_g, width) in step_checks {
        let (name, key) = match p.strip_prefix("rows.") {
            Some(w) => (w.to_string(), format!("after_step_rows.{w}")),
            None => (p.clone(), format!("after_step.{p}")),
        };
        let Some(want) = io.get(&key) else { continue };
        let atol = case.entry(&key)["well_conditioned"]["recommended_atol"].as_f64();
        let Some(atol) = atol else { continue };
        let decay = decays(&name);
        let got: Vec<f32> = w0
            .iter()
            .zip(&g)
            .map(|(&w, &g)| adamw_first_step(w, g, decay))
            .collect();
        let zero_row = |i: usize| {
            width > 0
                && stored_g[i / width * width..][..width]
                    .iter()
                    .all(|&v| v == 0.0)
        };
        let d = max_diff_where(&got, &floats(want), |i| {
            stored_g[i].abs() >= 1e-6 || zero_row(i)
        });
        assert!(
            d <= atol as f32,
            "{}: {key}: max |diff| {d:e} > atol {atol:e}",
            case.key
        );
        case.checked += 1;
    }
    case.checked
}

/// `decays` groups the parameters as transformers' Trainer does (meta.json's lists).
fn decay_groups_match(dir: &str) {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(dir).join("meta.json")).unwrap())
            .unwrap();
    for (list, want) in [("decay_params", true), ("no_decay_params", false)] {
        let names = meta["train"][list].as_array().expect(list);
        assert!(!names.is_empty());
        for n in names {
            let n = n.as_str().unwrap();
            assert_eq!(decays(n), want, "{dir}: {n} in {list}");
        }
    }
}

#[test]
fn electra_tiny_matches_transformers() {
    decay_groups_match("electra-tiny");
    let n = parity("electra-tiny", None, "io.safetensors");
    assert!(n > 90, "{n} checks");
    let n = parity("electra-tiny", None, "io_pair.safetensors");
    assert!(n > 20, "{n} checks");
}

/// Saving writes transformers' layout (config.json naming the class and the labels,
/// model.safetensors with the checkpoint's key names) and loading it back predicts the same.
fn round_trip(dir: &str, class: &str) {
    let opts = LoadOptions {
        num_labels: 3,
        layers: None,
        seed: 0,
        device: Device::Cpu,
    };
    let (model, _) = SequenceClassifier::load(&fixture(dir), &opts).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("saved");
    let labels: Vec<String> = ["bad", "meh", "good"].map(String::from).to_vec();
    model.save(&out, &labels).unwrap();
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let orig: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(dir).join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["model_type"], orig["model_type"]);
    assert_eq!(cfg["architectures"], serde_json::json!([class]));
    assert_eq!(cfg["id2label"]["2"], "good");
    assert_eq!(cfg["label2id"]["meh"], 1);
    let keys = |p: &Path| -> Vec<String> {
        let mut k: Vec<String> = candle_core::safetensors::load(p, &Device::Cpu)
            .unwrap()
            .into_keys()
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&out.join("model.safetensors")),
        keys(&fixture(dir).join("model.safetensors")),
        "{dir}: saved key names"
    );
    let (back, report) = SequenceClassifier::load(&out, &opts).unwrap();
    assert!(report.fresh.is_empty() && report.unused.is_empty());
    let io =
        candle_core::safetensors::load(fixture(dir).join("io.safetensors"), &Device::Cpu).unwrap();
    let b = batch(&io);
    let (a, c) = (
        floats(&model.infer(&b).unwrap()),
        floats(&back.infer(&b).unwrap()),
    );
    assert_eq!(a, c, "{dir}: logits after save and load");
}

#[test]
fn electra_saves_and_loads_in_the_transformers_layout() {
    round_trip("electra-tiny", "ElectraForSequenceClassification");
}

#[test]
fn deberta_v2_tiny_matches_transformers() {
    decay_groups_match("deberta-v2-tiny");
    let n = parity("deberta-v2-tiny", None, "io.safetensors");
    assert!(n > 80, "{n} checks");
    let n = parity("deberta-v2-tiny", None, "io_pair.safetensors");
    assert!(n > 20, "{n} checks");
}

#[test]
fn deberta_v2_saves_and_loads_in_the_transformers_layout() {
    round_trip("deberta-v2-tiny", "DebertaV2ForSequenceClassification");
}

#[test]
fn modernbert_tiny_matches_transformers() {
    decay_groups_match("modernbert-tiny");
    let n = parity("modernbert-tiny", None, "io.safetensors");
    assert!(n > 60, "{n} checks");
    let n = parity("modernbert-tiny", None, "io_pair.safetensors");
    assert!(n > 20, "{n} checks");
}

#[test]
fn modernbert_mean_pooling_matches_transformers() {
    decay_groups_match("modernbert-tiny-mean");
    let n = parity(
        "modernbert-tiny-mean",
        Some("modernbert-tiny"),
        "io.safetensors",
    );
    assert!(n > 20, "{n} checks");
}

#[test]
fn modernbert_saves_and_loads_in_the_transformers_layout() {
    round_trip("modernbert-tiny", "ModernBertForSequenceClassification");
}

/// ModernBERT runs its token-wise layers on the packed real tokens (unpadded) by default:
/// the logits, hidden states on real tokens and every gradient equal those of the padded
/// run, for cls and mean pooling, and the padded positions of the unpadded run are zeros
/// (so the packed path was taken).
#[test]
fn modernbert_unpadded_matches_padded() {
    for (dir, weights) in [
        ("modernbert-tiny", None),
        ("modernbert-tiny-mean", Some("modernbert-tiny")),
    ] {
        let (model_dir, _tmp) = model_folder(dir, weights);
        let opts = LoadOptions {
            num_labels: 3,
            layers: None,
            seed: 0,
            device: Device::Cpu,
        };
        let (mut model, _) = SequenceClassifier::load(&model_dir, &opts).unwrap();
        let io = candle_core::safetensors::load(fixture(dir).join("io.safetensors"), &Device::Cpu)
            .unwrap();
        let b = batch(&io);
        assert!(b.mask.contains(&0), "the batch has padding");
        let labels = ints(&io["labels"]);
        let mut runs = vec![];
        for unpadded in [true, false] {
            model.set_unpadded(unpadded);
            let hidden = model.forward(&b, None, true).unwrap().hidden_states;
            let out = model.forward(&b, None, false).unwrap();
            let g = named_grads(&model, &out, &labels);
            runs.push((floats(&out.logits), hidden, g));
        }
        let (unpad, pad) = (&runs[0], &runs[1]);
        let d = max_diff_where(&unpad.0, &pad.0, |_| true);
        assert!(d <= 1e-6, "{dir}: logits differ by {d:e}");
        let (hu, hp) = (
            floats(unpad.1.last().unwrap()),
            floats(pad.1.last().unwrap()),
        );
        let h = hu.len() / b.mask.len();
        let d = max_diff_where(&hu, &hp, |i| b.mask[i / h] == 1);
        assert!(d <= 1e-5, "{dir}: last hidden state differs by {d:e}");
        let padded_rows = |v: &[f32]| {
            (0..v.len())
                .filter(|&i| b.mask[i / h] == 0)
                .map(|i| v[i].abs())
                .fold(0f32, f32::max)
        };
        assert_eq!(
            padded_rows(&hu),
            0.0,
            "{dir}: unpadded run leaves padding at 0"
        );
        assert!(
            padded_rows(&hp) > 0.0,
            "{dir}: the padded run computes padding rows"
        );
        for ((name, a), (_, c)) in unpad.2.iter().zip(&pad.2) {
            let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
            let d = max_diff_where(a, c, |_| true);
            assert!(
                d <= 1e-5 * scale,
                "{dir}: gradient of {name} differs by {d:e}"
            );
        }
    }
}

/// `--layers 2` of ModernBERT's 4 keeps layers 0 (global) and 2 (local): the kept layers
/// keep their attention types, and the saved config describes the 2 layers it has.
#[test]
fn modernbert_fewer_layers_keep_their_attention_types() {
    let opts = LoadOptions {
        num_labels: 3,
        layers: Some(2),
        seed: 0,
        device: Device::Cpu,
    };
    let (model, report) = SequenceClassifier::load(&fixture("modernbert-tiny"), &opts).unwrap();
    assert_eq!(report.kept_layers, vec![0, 2]);
    let types = serde_json::json!(["full_attention", "sliding_attention"]);
    assert_eq!(model.config.raw["layer_types"], types);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("saved");
    model
        .save(&out, &["a", "b", "c"].map(String::from))
        .unwrap();
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["num_hidden_layers"], 2);
    assert_eq!(cfg["layer_types"], types);
    let io = candle_core::safetensors::load(
        fixture("modernbert-tiny").join("io.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let b = batch(&io);
    let (back, _) = SequenceClassifier::load(
        &out,
        &LoadOptions {
            layers: None,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(
        floats(&model.infer(&b).unwrap()),
        floats(&back.infer(&b).unwrap())
    );
}

/// `--int8` quantizes the encoder projections of ELECTRA, DeBERTa and ModernBERT (whose
/// layers have no biases: four per layer, the fused QKV, the attention output and the
/// GeGLU's two) and stays close to f32.
#[test]
fn int8_inference_of_the_new_families() {
    for (dir, layers) in [
        ("electra-tiny", 12),
        ("deberta-v2-tiny", 12),
        ("modernbert-tiny", 16),
    ] {
        let opts = LoadOptions {
            num_labels: 3,
            layers: None,
            seed: 0,
            device: Device::Cpu,
        };
        let (mut model, _) = SequenceClassifier::load(&fixture(dir), &opts).unwrap();
        let io = candle_core::safetensors::load(fixture(dir).join("io.safetensors"), &Device::Cpu)
            .unwrap();
        let b = batch(&io);
        let f32_logits = floats(&model.infer(&b).unwrap());
        assert_eq!(model.quantize_int8().unwrap(), layers, "{dir}");
        let q = floats(&model.infer(&b).unwrap());
        let d = max_diff_where(&q, &f32_logits, |_| true);
        let range = f32_logits.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            d < 0.05 * range.max(0.1),
            "{dir}: int8 logits differ by {d}"
        );
        assert!(d > 0.0, "{dir}: the int8 path was not taken");
    }
}

/// ModernBERT's layer trains as one node with hand-written backward passes
/// (`modern_layer.rs`), DeBERTa's as BERT's one-node layer with the relative terms in its
/// attention kernel (`relative.rs`); with the one-node layers off they are built from
/// candle's ops. Both give the same logits and gradients, with attention, output and
/// feed-forward dropout on, for `cls` pooling (the last layer computes the first row only)
/// and ModernBERT's `mean` pooling, with gradient checkpointing, on a batch long enough
/// for several blocks of ModernBERT's local window and DeBERTa's far buckets, with right
/// padding, a short sequence and a hole in the mask.
#[test]
fn one_node_layers_match_the_primitive_ops_dropout_included() {
    for (dir, pooling) in [
        ("modernbert-tiny", Some("cls")),
        ("modernbert-tiny", Some("mean")),
        ("deberta-v2-tiny", None),
    ] {
        one_node_matches_primitive(dir, pooling);
    }
}

fn one_node_matches_primitive(dir: &str, pooling: Option<&str>) {
    use rand::{Rng, SeedableRng};
    let (b, len) = (3, 150);
    let mut ids_rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let ids: Vec<u32> = (0..b * len)
        .map(|_| ids_rng.random_range(3..1000))
        .collect();
    let mut mask = vec![1u32; b * len];
    mask[len + 97..2 * len].fill(0);
    mask[2 * len + 9..3 * len].fill(0);
    mask[2 * len + 3] = 0;
    let batch = EncodedBatch {
        batch: b,
        len,
        ids,
        type_ids: vec![0; b * len],
        mask,
    };
    let labels = [0u32, 2, 1];
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture(dir);
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    match pooling {
        Some(p) => {
            cfg["attention_dropout"] = 0.1.into();
            cfg["mlp_dropout"] = 0.1.into();
            cfg["classifier_pooling"] = p.into();
        }
        None => {
            cfg["attention_probs_dropout_prob"] = 0.1.into();
            cfg["hidden_dropout_prob"] = 0.1.into();
        }
    }
    cfg["max_position_embeddings"] = 1024.into();
    std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
    std::fs::copy(
        src.join("model.safetensors"),
        tmp.path().join("model.safetensors"),
    )
    .unwrap();
    let opts = LoadOptions {
        num_labels: 3,
        layers: None,
        seed: 0,
        device: Device::Cpu,
    };
    let (mut model, _) = SequenceClassifier::load(tmp.path(), &opts).unwrap();
    let (mut runs, mut infers) = (vec![], vec![]);
    for (fused, ckpt) in [(false, false), (true, false), (true, true)] {
        model.set_fused_layers(fused);
        model.set_grad_checkpoint(ckpt);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let out = model.forward(&batch, Some(&mut rng), false).unwrap();
        let g = named_grads(&model, &out, &labels);
        // The generator ends where the primitive layers leave it: the same draws.
        runs.push((floats(&out.logits), g, rng.random::<u64>()));
        infers.push(floats(&model.infer(&batch).unwrap()));
    }
    let reference = &runs[0];
    let case = format!("{dir} {}", pooling.unwrap_or("cls"));
    // Evaluation (no dropout, no graph) runs ModernBERT's one-node forward alone.
    for (k, inf) in infers.iter().enumerate().skip(1) {
        let d = max_diff_where(inf, &infers[0], |_| true);
        assert!(
            d <= 1e-5,
            "{case}, run {k}: inference logits differ by {d:e}"
        );
    }
    for (k, run) in runs.iter().enumerate().skip(1) {
        let what = format!("{case}, run {k}");
        assert_eq!(run.2, reference.2, "{what}: dropout draws");
        let d = max_diff_where(&run.0, &reference.0, |_| true);
        assert!(d <= 1e-5, "{what}: logits differ by {d:e}");
        assert_eq!(run.1.len(), reference.1.len());
        for ((name, a), (_, c)) in run.1.iter().zip(&reference.1) {
            let scale = c.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
            let d = max_diff_where(a, c, |_| true);
            assert!(
                d <= 2e-5 * scale,
                "{what}: gradient of {name} differs by {d:e} (scale {scale:e})"
            );
        }
    }
    // Dropout was on: a second seed moves the logits.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let other = floats(&model.forward(&batch, Some(&mut rng), false).unwrap().logits);
    assert!(max_diff_where(&other, &reference.0, |_| true) > 1e-4);
}
