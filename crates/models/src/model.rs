//! The sequence classifier every family shares: loading a Hugging Face folder, the
//! forward pass (embeddings → encoder layers → head on the first token), the backward
//! pass with optional activation checkpointing, batched inference, int8 quantization and
//! saving. What differs between families (names, embeddings, layers, head) comes from
//! their [`Family`], chosen by `model_type` in the registry ([`crate::families`]).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{backprop::GradStore, Device, Tensor, Var, D};
use rand_chacha::ChaCha8Rng;

pub use crate::batch::EncodedBatch;
use crate::config::ModelConfig;
use crate::families::family;
use crate::family::Family;
use crate::grads::{gather_sparse, Gradients, SparseLookup};
use crate::layer::GradSink;
use crate::layers::attention_bias;
use crate::params::{evenly_spaced_layers, read_checkpoint, LoadReport, ParamStore};
use crate::profile::{span, Phase};
use crate::quant::QuantLinear;
use crate::weights::Weights;
use crate::{ModelError, Result};

/// Tokens per slice of [`SequenceClassifier::infer`].
pub const INFER_TOKENS: usize = 1024;

/// What a forward pass returns.
pub struct Forward {
    /// `[batch, num_labels]` raw scores.
    pub logits: Tensor,
    /// `[batch, hidden]` input of the final linear layer.
    pub classifier_input: Tensor,
    /// Embedding output then each layer's output, when requested.
    pub hidden_states: Vec<Tensor>,
    /// Embedding lookups whose gradient [`SequenceClassifier::backward`] gathers sparsely.
    pub(crate) lookups: Vec<SparseLookup>,
    /// With activation checkpointing: what the backward pass needs to recompute each layer.
    pub(crate) checkpoints: Option<Checkpoints>,
    /// Parameter gradients the fused encoder layers compute themselves.
    pub(crate) sink: GradSink,
}

/// What a checkpointed forward pass keeps instead of every layer's activations: each
/// encoder layer's input, the dropout generator's state before the layer, the embedding
/// output (with its small autograd graph) and the leaf the head was run on.
pub(crate) struct Checkpoints {
    embedded: Tensor,
    inputs: Vec<Tensor>,
    rngs: Vec<Option<ChaCha8Rng>>,
    top: Var,
    bias: Tensor,
    /// The rows the last layer computes (see [`SequenceClassifier::encoder_layer`]).
    last_rows: usize,
}

/// Options of [`SequenceClassifier::load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Number of classes of the head.
    pub num_labels: usize,
    /// Keep this many evenly spaced encoder layers.
    pub layers: Option<usize>,
    /// Seed of the fresh head's initialisation.
    pub seed: u64,
    pub device: Device,
}

/// A sequence classifier of one of the registered families, with trainable parameters.
pub struct SequenceClassifier {
    pub config: ModelConfig,
    family: &'static dyn Family,
    pub num_labels: usize,
    pub params: ParamStore,
    device: Device,
    /// int8 copies of the encoder's linear layers, used by [`Self::infer`] once
    /// [`Self::quantize_int8`] has made them.
    quant: Option<HashMap<String, QuantLinear>>,
    /// Activation checkpointing for training (see [`Self::set_grad_checkpoint`]).
    grad_checkpoint: bool,
    /// One node per encoder layer on the CPU (see [`Self::set_fused_layers`]).
    fused_layers: bool,
    /// Families that can run the linear layers on the packed real tokens do (see
    /// [`Self::set_unpadded`]).
    unpadded: bool,
}

impl SequenceClassifier {
    /// Loads `config.json` and `model.safetensors` from a Hugging Face-layout folder. A
    /// head missing from the checkpoint (a bare encoder such as all-MiniLM-L6-v2) is
    /// initialised from `opts.seed`, as is an existing head with a different number of
    /// classes.
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<(Self, LoadReport)> {
        let cfg_path = dir.join("config.json");
        if !cfg_path.is_file() {
            return Err(ModelError::Config {
                path: cfg_path,
                reason: "not found: a model folder needs config.json and model.safetensors (Hugging Face layout)".into(),
            });
        }
        let mut config = ModelConfig::from_file(&cfg_path)?;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            let pickle = ["pytorch_model.bin", "model.bin", "pytorch_model.pt"]
                .iter()
                .find(|f| dir.join(f).is_file());
            let hint = match pickle {
                Some(f) => format!(
                    "{f} is a pickle file, which textclf never loads (pickle can run arbitrary code). Convert it once in Python: \
                     `from transformers import AutoModel; AutoModel.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)`"
                ),
                None => "no weights found".into(),
            };
            return Err(ModelError::Weights(format!(
                "{} has no model.safetensors: {hint}",
                dir.display()
            )));
        }
        let keep = match opts.layers {
            Some(k) if k == 0 || k > config.num_layers => {
                return Err(ModelError::Weights(format!(
                    "--layers {k}: the checkpoint has {} encoder layers; choose 1..={}",
                    config.num_layers, config.num_layers
                )))
            }
            Some(k) => evenly_spaced_layers(config.num_layers, k),
            None => (0..config.num_layers).collect(),
        };
        let fam = family(&config.model_type).map_err(|reason| ModelError::Config {
            path: cfg_path.clone(),
            reason,
        })?;
        config.num_layers = keep.len();
        fam.keep_layers(&mut config, &keep)
            .map_err(|reason| ModelError::Config {
                path: cfg_path.clone(),
                reason,
            })?;
        let specs = fam.param_specs(&config, opts.num_labels);
        let (mut tensors, mut unused) = read_checkpoint(
            &weights,
            &specs,
            fam.prefix(),
            &fam.layers(),
            &keep,
            &opts.device,
        )?;
        // A head trained for another number of classes cannot be reused.
        for s in specs.iter().filter(|s| s.head) {
            if let Some(t) = tensors.get(&s.name) {
                if t.dims() != s.shape.as_slice() {
                    tensors.remove(&s.name);
                }
            }
        }
        let known: std::collections::HashSet<&str> =
            specs.iter().map(|s| s.name.as_str()).collect();
        unused.extend(
            tensors
                .keys()
                .filter(|k| !known.contains(k.as_str()))
                .cloned(),
        );
        unused.sort();
        let (params, fresh) = ParamStore::build(
            &specs,
            tensors,
            config.initializer_range,
            opts.seed,
            &opts.device,
        )?;
        let report = LoadReport {
            fresh,
            unused,
            kept_layers: keep,
        };
        Ok((
            Self {
                config,
                family: fam,
                num_labels: opts.num_labels,
                params,
                device: opts.device.clone(),
                quant: None,
                grad_checkpoint: false,
                fused_layers: true,
                unpadded: true,
            },
            report,
        ))
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Activation checkpointing (Chen et al. 2016, "Training deep nets with sublinear
    /// memory cost"): a training forward pass keeps only each encoder layer's input, and
    /// [`Self::backward`] recomputes one layer at a time, with the same dropout masks,
    /// before backpropagating through it. Peak activation memory drops from all layers'
    /// to one layer's for about one extra encoder forward pass per step; the gradients
    /// are those of the plain pass (up to the order of floating-point sums).
    pub fn set_grad_checkpoint(&mut self, on: bool) {
        self.grad_checkpoint = on;
    }

    pub fn grad_checkpoint(&self) -> bool {
        self.grad_checkpoint
    }

    /// Whether each encoder layer runs as one node with a hand-written backward on the
    /// CPU in f32, in training and in inference without int8 (on by default; see
    /// `layer.rs` and `modern_layer.rs`). Off, the layer is built from its separate
    /// nodes, as on other devices: slower, the same function, for checking one against
    /// the other.
    pub fn set_fused_layers(&mut self, on: bool) {
        self.fused_layers = on;
    }

    /// Whether the encoder runs the linear layers, norms and feed-forward on the packed
    /// real tokens of a batch, without its padding rows (on by default; ModernBERT always
    /// can, the other families in their one-node layers). Off, every row is computed: the
    /// same logits and gradients, for checking one against the other.
    pub fn set_unpadded(&mut self, on: bool) {
        self.unpadded = on;
    }

    /// Writes `config.json` (with `architectures`, `id2label`, `label2id`) and
    /// `model.safetensors` with transformers' key names into `dir`.
    pub fn save(&self, dir: &Path, labels: &[String]) -> Result<()> {
        self.save_as(dir, labels, "single_label_classification")
    }

    /// [`Self::save`] for any task: `problem_type` is transformers' name of it
    /// (`single_label_classification`, `multi_label_classification`, `regression`), and
    /// `labels` the output names (for regression, the one target's name).
    pub fn save_as(&self, dir: &Path, labels: &[String], problem_type: &str) -> Result<()> {
        if labels.len() != self.num_labels {
            return Err(ModelError::Weights(format!(
                "{} output names for a head of {} outputs",
                labels.len(),
                self.num_labels
            )));
        }
        let io = |e| ModelError::Io {
            path: dir.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        self.params.save(&dir.join("model.safetensors"))?;
        let hf = self.config.to_hf_json_as(
            labels,
            self.family.hf_class(),
            self.family.layers_key(),
            problem_type,
        );
        let json =
            serde_json::to_string_pretty(&hf).map_err(|e| ModelError::Weights(e.to_string()))?;
        textclf_core::atomic::write_atomic(&dir.join("config.json"), json.as_bytes()).map_err(io)
    }

    /// The transformers class a saved classifier declares (`BertForSequenceClassification`, …).
    pub fn hf_class(&self) -> &'static str {
        self.family.hf_class()
    }

    /// The longest sequence, in tokens, the model's positions allow (RoBERTa's start
    /// after the padding id).
    pub fn max_tokens(&self) -> usize {
        self.family.max_tokens(&self.config)
    }

    /// The parameters as a pass reads them, tracked by autograd when `track`.
    fn weights(&self, track: bool) -> Weights<'_> {
        Weights {
            cfg: &self.config,
            params: &self.params,
            device: &self.device,
            quant: self.quant.as_ref(),
            track,
            fused_layers: self.fused_layers,
            unpadded: self.unpadded,
        }
    }

    /// Quantizes the encoder's linear layers (attention projections and feed-forward) to
    /// int8 for inference on the CPU: [`Self::infer`] then runs them with dynamic int8
    /// activations (see [`crate::quant`]); training and [`Self::forward`] keep f32. The
    /// embeddings, LayerNorms and the classification head stay f32. Returns the number of
    /// layers quantized.
    pub fn quantize_int8(&mut self) -> Result<usize> {
        if !self.device.is_cpu() {
            return Err(ModelError::Weights(
                "int8 inference runs on the CPU only: drop --int8 or use --device cpu".into(),
            ));
        }
        let mut out = HashMap::new();
        for name in self.family.linear_layers(&self.config) {
            let w = self.params.t(&format!("{name}.weight"))?;
            let (o, k) = w.dims2()?;
            let wv: Vec<f32> = w
                .to_dtype(candle_core::DType::F32)?
                .flatten_all()?
                .to_vec1()?;
            // A family whose layers have no bias (ModernBERT) declares none.
            let bias = format!("{name}.bias");
            let bv: Vec<f32> = if self.params.contains(&bias) {
                self.params
                    .t(&bias)?
                    .to_dtype(candle_core::DType::F32)?
                    .to_vec1()?
            } else {
                vec![0.0; o]
            };
            out.insert(name, QuantLinear::new(&wv, &bv, o, k));
        }
        let n = out.len();
        self.quant = Some(out);
        Ok(n)
    }

    /// Whether [`Self::quantize_int8`] has been applied.
    pub fn is_int8(&self) -> bool {
        self.quant.is_some()
    }

    /// Runs the model with gradient tracking. `rng` turns dropout on (training); `None`
    /// is evaluation.
    pub fn forward(
        &self,
        b: &EncodedBatch,
        rng: Option<&mut ChaCha8Rng>,
        want_hidden: bool,
    ) -> Result<Forward> {
        self.forward_impl(b, rng, want_hidden, true)
    }

    /// Backpropagates `loss` (computed from `out`): candle's gradient store for the dense
    /// parameters, and the word-embedding gradient as sparse rows where the forward
    /// gathered it that way (f32 on the CPU; see [`crate::grads`]).
    pub fn backward(&self, out: &Forward, loss: &Tensor) -> Result<Gradients> {
        let mut store = {
            let _p = span("autograd", Phase::Backward);
            loss.backward()?
        };
        if let Some(c) = &out.checkpoints {
            let lost =
                || ModelError::Weights("checkpointed backward: a gradient is missing".into());
            // The gradient reaching each layer's output, from the top down. A segment is
            // backpropagated through `Σ (output ⊙ g)`, whose gradient at the output is
            // exactly `g`.
            let mut g = store.remove(c.top.as_tensor()).ok_or_else(lost)?.detach();
            for i in (0..self.config.num_layers).rev() {
                let leaf = Var::from_tensor(&c.inputs[i])?;
                let mut rng = c.rngs[i].clone();
                let rows = if i + 1 == self.config.num_layers {
                    c.last_rows
                } else {
                    c.inputs[i].dim(1)?
                };
                let y = {
                    let _p = span("recompute", Phase::Backward);
                    let x = leaf.as_tensor();
                    let w = self.weights(true);
                    self.family
                        .encoder_layer(&w, i, x, &c.bias, rng.as_mut(), rows, &out.sink)?
                };
                let mut seg = {
                    let _p = span("autograd", Phase::Backward);
                    y.mul(&g)?.sum_all()?.backward()?
                };
                seg.remove(&g);
                g = seg.remove(leaf.as_tensor()).ok_or_else(lost)?.detach();
                merge_detached(&mut store, seg)?;
            }
            let _p = span("autograd", Phase::Backward);
            let mut seg = c.embedded.mul(&g)?.sum_all()?.backward()?;
            seg.remove(&g);
            merge_detached(&mut store, seg)?;
        }
        for (name, g) in out.sink.take()? {
            let var = self.params.get(&name)?;
            let g = Tensor::from_vec(g, var.shape(), var.device())?;
            let g = match store.remove(var.as_tensor()) {
                Some(old) => old.add(&g)?,
                None => g,
            };
            store.insert(var.as_tensor(), g);
        }
        gather_sparse(&out.lookups, store)
    }

    /// An evaluation-mode pass (no dropout, no autograd bookkeeping, int8 layers if
    /// quantized) returning the classifier input and, when asked, the hidden states too.
    pub fn infer_forward(&self, b: &EncodedBatch, want_hidden: bool) -> Result<Forward> {
        self.forward_impl(b, None, want_hidden, false)
    }

    /// The tokens per slice of [`Self::infer`]: [`INFER_TOKENS`] times the square of the
    /// hidden size over 384, from 1 to 8 times. Small slices keep activations in cache: for
    /// MiniLM (384 wide; 25 MB per feed-forward tensor for a whole 32×128 batch, against a
    /// 16 MB L3) 1,024-token slices ran 3–4 % faster than 2,048-token ones on an AMD EPYC.
    /// But every GEMM call streams and packs its whole weight matrix, about 2 ms per call
    /// at a width of 768 (four times MiniLM's weights), so wider models need more rows per
    /// call: ELECTRA-base at 32×128 on an Intel Xeon ran 11.9 seq/s in 1,024-token slices
    /// and 13.8 seq/s in one 4,096-token slice, DeBERTa-v3-base 10.1 and 12.0 (ModernBERT-base
    /// the same either way).
    fn slice_tokens(&self) -> usize {
        let w = self.config.hidden_size as f64 / 384.0;
        let scale = (w * w).clamp(1.0, 8.0);
        (INFER_TOKENS as f64 * scale) as usize
    }

    /// Logits for evaluation and prediction: no dropout and no autograd bookkeeping.
    ///
    /// A large batch runs in slices (same logits: rows are independent) of about
    /// [`INFER_TOKENS`] tokens for a 384-wide model, and more for wider ones (see
    /// [`Self::slice_tokens`]).
    pub fn infer(&self, b: &EncodedBatch) -> Result<Tensor> {
        let rows = (self.slice_tokens() / b.len.max(1)).max(1);
        if b.batch <= rows {
            return Ok(self.forward_impl(b, None, false, false)?.logits);
        }
        let mut parts = vec![];
        for start in (0..b.batch).step_by(rows) {
            let n = rows.min(b.batch - start);
            let r = start * b.len..(start + n) * b.len;
            let slice = EncodedBatch {
                batch: n,
                len: b.len,
                ids: b.ids[r.clone()].to_vec(),
                mask: b.mask[r.clone()].to_vec(),
                type_ids: b.type_ids[r].to_vec(),
            };
            parts.push(self.forward_impl(&slice, None, false, false)?.logits);
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    fn forward_impl(
        &self,
        b: &EncodedBatch,
        mut rng: Option<&mut ChaCha8Rng>,
        want_hidden: bool,
        track: bool,
    ) -> Result<Forward> {
        let cfg = &self.config;
        if b.len > self.max_tokens() {
            return Err(ModelError::Weights(format!(
                "sequences of {} tokens exceed the model's {} positions: lower --max-len",
                b.len, cfg.max_positions
            )));
        }
        if b.ids.len() != b.batch * b.len || b.mask.len() != b.ids.len() {
            return Err(ModelError::Weights(
                "batch ids/mask do not match its shape".into(),
            ));
        }
        let dev = &self.device;
        let shape = (b.batch, b.len);
        let w = self.weights(track);
        let mut lookups = vec![];
        let mut x = self.family.embed(&w, b, rng.as_deref_mut(), &mut lookups)?;
        let mut hidden = vec![];
        if want_hidden {
            hidden.push(x.clone());
        }
        let mask = Tensor::from_slice(&b.mask, shape, dev)?;
        let bias = attention_bias(&mask)?;
        let ckpt = track && self.grad_checkpoint;
        let (mut inputs, mut rngs) = (vec![], vec![]);
        let embedded = x.clone();
        if ckpt {
            // Layers run without autograd bookkeeping; backward recomputes them.
            x = x.detach();
        }
        // The head reads the first token only, so unless the hidden states are wanted the
        // last layer computes that row alone (its keys and values still span the sequence):
        // about a seventh of a 6-layer encoder's work, the same logits and gradients.
        let last_rows = if want_hidden || self.family.pools_all_rows(cfg) {
            b.len
        } else {
            1
        };
        let sink = GradSink::default();
        for i in 0..cfg.num_layers {
            if ckpt {
                inputs.push(x.clone());
                rngs.push(rng.as_deref().cloned());
            }
            let rows = if i + 1 == cfg.num_layers {
                last_rows
            } else {
                b.len
            };
            let t = track && !ckpt;
            let wl = w.tracking(t);
            x = self
                .family
                .encoder_layer(&wl, i, &x, &bias, rng.as_deref_mut(), rows, &sink)?;
            if want_hidden {
                hidden.push(x.clone());
            }
        }
        let checkpoints = if ckpt {
            let top = Var::from_tensor(&x)?;
            x = top.as_tensor().clone();
            Some(Checkpoints {
                embedded,
                inputs,
                rngs,
                top,
                bias: bias.clone(),
                last_rows,
            })
        } else {
            None
        };
        let head_span = span("head", Phase::Forward);
        let first = self.family.pool(&w, &x, b)?;
        let (classifier_input, logits) = self.family.head(&w, &first, rng)?;
        drop(head_span);
        Ok(Forward {
            logits,
            classifier_input,
            hidden_states: hidden,
            lookups,
            checkpoints,
            sink,
        })
    }
}

/// Adds the gradients of `seg` into `store`, detached: candle leaves a variable's
/// gradient attached to the backward computation that made it, and that graph holds the
/// segment's recomputed activations; kept, they would add up to what checkpointing saves.
fn merge_detached(store: &mut GradStore, seg: GradStore) -> Result<()> {
    let ids: Vec<_> = seg.get_ids().copied().collect();
    for id in ids {
        let Some(t) = seg.get_id(id) else { continue };
        let t = match store.get_id(id) {
            Some(old) => old.add(t)?.detach(),
            None => t.detach(),
        };
        store.insert_id(id, t);
    }
    Ok(())
}

/// Mean cross-entropy of `logits [B, K]` against `labels`, optionally class-weighted
/// (PyTorch semantics: `Σ w_y·(−log p_y) / Σ w_y`).
pub fn cross_entropy(logits: &Tensor, labels: &[u32], weights: Option<&[f32]>) -> Result<Tensor> {
    let _p = span("loss", Phase::Forward);
    let dev = logits.device();
    let (b, _) = logits.dims2()?;
    let m = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&m)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let logp = shifted.broadcast_sub(&lse)?;
    let idx = Tensor::from_slice(labels, (b, 1), dev)?;
    let picked = logp.gather(&idx, 1)?.squeeze(1)?;
    match weights {
        None => Ok(picked.mean_all()?.neg()?),
        Some(w) => {
            let wv: Vec<f32> = labels.iter().map(|&l| w[l as usize]).collect();
            let total: f32 = wv.iter().sum();
            let wt = Tensor::from_vec(wv, b, dev)?;
            Ok((picked.mul(&wt)?.sum_all()? / (-(total as f64)))?)
        }
    }
}

/// Softplus `log(1 + exp(x))`, stable for any `x`: `max(x, 0) + log(1 + exp(−|x|))`.
fn softplus(x: &Tensor) -> Result<Tensor> {
    Ok(x.relu()?
        .add(&x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?)
}

/// Mean binary cross-entropy with logits over every element of `logits [B, K]` against
/// the 0/1 `targets` (row-major `B × K`), as PyTorch's `BCEWithLogitsLoss`:
/// `p_c·y·softplus(−z) + (1 − y)·softplus(z)` averaged over all `B·K` elements, with the
/// positive weight `p_c` of label `c` from `pos_weight` (1 without).
pub fn bce_with_logits(
    logits: &Tensor,
    targets: &[f32],
    pos_weight: Option<&[f32]>,
) -> Result<Tensor> {
    let _p = span("loss", Phase::Forward);
    let dev = logits.device();
    let (b, k) = logits.dims2()?;
    if targets.len() != b * k || pos_weight.is_some_and(|w| w.len() != k) {
        return Err(ModelError::Weights(format!(
            "binary cross-entropy: {} targets and {} positive weights for {b} rows of {k} labels",
            targets.len(),
            pos_weight.map_or(k, <[f32]>::len)
        )));
    }
    let y = Tensor::from_slice(targets, (b, k), dev)?;
    let neg = y.affine(-1.0, 1.0)?.mul(&softplus(logits)?)?;
    let pos = y.mul(&softplus(&logits.neg()?)?)?;
    let pos = match pos_weight {
        Some(w) => pos.broadcast_mul(&Tensor::from_slice(w, (1, k), dev)?)?,
        None => pos,
    };
    Ok(pos.add(&neg)?.mean_all()?)
}

/// Mean squared error of one-output `logits [B, 1]` against `targets` (`B` values), as
/// transformers' regression loss (`MSELoss` on the squeezed logits).
pub fn mse_loss(logits: &Tensor, targets: &[f32]) -> Result<Tensor> {
    let _p = span("loss", Phase::Forward);
    let (b, k) = logits.dims2()?;
    if k != 1 || targets.len() != b {
        return Err(ModelError::Weights(format!(
            "mean squared error: a regression head has one output, and needs one target per \
             row; got {k} outputs and {} targets for {b} rows",
            targets.len()
        )));
    }
    let y = Tensor::from_slice(targets, (b, 1), logits.device())?;
    Ok(logits.sub(&y)?.sqr()?.mean_all()?)
}
