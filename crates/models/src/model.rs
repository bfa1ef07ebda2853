//! `*ForSequenceClassification` for BERT, DistilBERT and RoBERTa, sharing one post-LN
//! transformer encoder; the families differ in parameter names, embeddings and heads:
//!
//! * BERT (Devlin et al. 2019; transformers `modeling_bert.py`): word + position +
//!   token-type embeddings; head = pooler `tanh(dense(h₀))` → dropout → classifier.
//! * DistilBERT (Sanh et al. 2019; `modeling_distilbert.py`): no token types, no dropout
//!   after the attention output projection; head = `relu(pre_classifier(h₀))` → dropout →
//!   classifier.
//! * RoBERTa (Liu et al. 2019; `modeling_roberta.py`): positions start at `pad + 1` and
//!   skip padding; head = dropout → `tanh(dense(h₀))` → dropout → `out_proj`.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{backprop::GradStore, Device, Tensor, Var, D};
use rand_chacha::ChaCha8Rng;

use crate::config::{Activation, Arch, ModelConfig};
use crate::fused::activation;
use crate::fused::{
    add_layer_norm, attention, attention_packed, fusable, kernel, layer_norm, linear, linear_gelu,
    Heads,
};
use crate::grads::{gather_sparse, Gradients, SparseLookup};
use crate::layer::{EncoderLayer, GradSink, LayerMasks, LayerWeights};
use crate::layers::{attention_bias, dropout, dropout_rows, dropout_rows_keep};
use crate::params::{
    evenly_spaced_layers, layer_names, param_specs, read_checkpoint, LoadReport, ParamStore,
};
use crate::profile::{span, Phase};
use crate::quant::QuantLinear;
use crate::{ModelError, Result};

/// Tokens per slice of [`SequenceClassifier::infer`].
pub const INFER_TOKENS: usize = 1024;

/// A padded batch of token ids, row-major `[batch, len]`.
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    pub batch: usize,
    pub len: usize,
    pub ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub mask: Vec<u32>,
    /// Segment ids (all 0 for single texts).
    pub type_ids: Vec<u32>,
}

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

/// A BERT-family sequence classifier with trainable parameters.
pub struct SequenceClassifier {
    pub config: ModelConfig,
    pub num_labels: usize,
    pub params: ParamStore,
    device: Device,
    /// int8 copies of the encoder's linear layers, used by [`Self::infer`] once
    /// [`Self::quantize_int8`] has made them.
    quant: Option<HashMap<String, QuantLinear>>,
    /// Activation checkpointing for training (see [`Self::set_grad_checkpoint`]).
    grad_checkpoint: bool,
    /// One node per encoder layer when training on the CPU (see [`Self::set_fused_layers`]).
    fused_layers: bool,
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
        let (mut tensors, mut unused) = read_checkpoint(&weights, &config, &keep, &opts.device)?;
        config.num_layers = keep.len();
        let specs = param_specs(&config, opts.num_labels);
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
                num_labels: opts.num_labels,
                params,
                device: opts.device.clone(),
                quant: None,
                grad_checkpoint: false,
                fused_layers: true,
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

    /// Whether training on the CPU in f32 runs each encoder layer as one autograd node with
    /// a hand-written backward (on by default; see `layer.rs`). Off, the layer is built
    /// from its separate nodes, as on other devices: slower, the same function, for
    /// checking one against the other.
    pub fn set_fused_layers(&mut self, on: bool) {
        self.fused_layers = on;
    }

    /// Writes `config.json` (with `architectures`, `id2label`, `label2id`) and
    /// `model.safetensors` with transformers' key names into `dir`.
    pub fn save(&self, dir: &Path, labels: &[String]) -> Result<()> {
        let io = |e| ModelError::Io {
            path: dir.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        self.params.save(&dir.join("model.safetensors"))?;
        let json = serde_json::to_string_pretty(&self.config.to_hf_json(labels))
            .map_err(|e| ModelError::Weights(e.to_string()))?;
        let tmp = dir.join(".config.json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, dir.join("config.json")).map_err(io)
    }

    /// A parameter as a tensor; detached (no autograd bookkeeping) when not training.
    fn w(&self, name: &str, track: bool) -> Result<Tensor> {
        let t = self.params.t(name)?;
        Ok(if track { t.clone() } else { t.detach() })
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
        let p = self.config.arch.prefix();
        let names = layer_names(self.config.arch);
        let mut out = HashMap::new();
        for i in 0..self.config.num_layers {
            let l = format!("{p}.{}.{i}", names.layer_prefix);
            for part in [
                names.q,
                names.k,
                names.v,
                names.attn_out,
                names.ffn_in,
                names.ffn_out,
            ] {
                let name = format!("{l}.{part}");
                let w = self.params.t(&format!("{name}.weight"))?;
                let (o, k) = w.dims2()?;
                let wv: Vec<f32> = w
                    .to_dtype(candle_core::DType::F32)?
                    .flatten_all()?
                    .to_vec1()?;
                let bv: Vec<f32> = self
                    .params
                    .t(&format!("{name}.bias"))?
                    .to_dtype(candle_core::DType::F32)?
                    .to_vec1()?;
                out.insert(name, QuantLinear::new(&wv, &bv, o, k));
            }
        }
        let n = out.len();
        self.quant = Some(out);
        Ok(n)
    }

    /// Whether [`Self::quantize_int8`] has been applied.
    pub fn is_int8(&self) -> bool {
        self.quant.is_some()
    }

    /// The int8 layer `name` runs as: quantized layers serve inference only (`track` off).
    fn quantized(&self, name: &str, track: bool) -> Option<&QuantLinear> {
        self.quant.as_ref().filter(|_| !track)?.get(name)
    }

    fn lin(&self, x: &Tensor, name: &str, track: bool) -> Result<Tensor> {
        if let Some(q) = self.quantized(name, track) {
            let _p = span("linear-int8", Phase::Forward);
            let dims = x.dims().to_vec();
            let rows = x.elem_count() / q.in_features().max(1);
            let y = crate::fused::with_slice(&x.to_dtype(candle_core::DType::F32)?, |xv| {
                Ok(q.forward(xv, rows))
            })?;
            let mut od = dims;
            if let Some(last) = od.last_mut() {
                *last = q.out_features();
            }
            return Ok(Tensor::from_vec(y, od, x.device())?);
        }
        linear(
            x,
            &self.w(&format!("{name}.weight"), track)?,
            &self.w(&format!("{name}.bias"), track)?,
        )
    }

    /// `LayerNorm(a + b)`: a residual connection and the LayerNorm after it, one node on
    /// the CPU (see `fused::add_layer_norm`).
    fn add_ln(&self, a: &Tensor, b: &Tensor, name: &str, track: bool) -> Result<Tensor> {
        add_layer_norm(
            a,
            b,
            &self.w(&format!("{name}.weight"), track)?,
            &self.w(&format!("{name}.bias"), track)?,
            self.config.layer_norm_eps,
        )
    }

    fn ln(&self, x: &Tensor, name: &str, track: bool) -> Result<Tensor> {
        layer_norm(
            x,
            &self.w(&format!("{name}.weight"), track)?,
            &self.w(&format!("{name}.bias"), track)?,
            self.config.layer_norm_eps,
        )
    }

    /// Position ids: 0.. for BERT/DistilBERT; RoBERTa counts real tokens from `pad + 1`
    /// and gives padding the pad id.
    fn position_ids(&self, b: &EncodedBatch) -> Vec<u32> {
        match self.config.arch {
            Arch::Roberta => {
                let pad = self.config.pad_token_id;
                let mut out = Vec::with_capacity(b.ids.len());
                for row in b.ids.chunks(b.len) {
                    let mut count = 0;
                    for &id in row {
                        if id != pad {
                            count += 1;
                            out.push(pad + count);
                        } else {
                            out.push(pad);
                        }
                    }
                }
                out
            }
            _ => (0..b.batch).flat_map(|_| 0..b.len as u32).collect(),
        }
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
                    self.encoder_layer(i, x, &c.bias, rng.as_mut(), true, rows, &out.sink)?
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

    /// Logits for evaluation and prediction: no dropout and no autograd bookkeeping.
    ///
    /// A large batch runs in slices of about [`INFER_TOKENS`] tokens (same logits: rows are
    /// independent). The activations of a whole 32×128 batch are 25 MB per feed-forward
    /// tensor, past the size the allocator recycles and past this CPU's 16 MB L3; a slice's
    /// is 6 MB. At 32×128, 1,024-token slices ran 3–4 % faster than 2,048-token ones.
    pub fn infer(&self, b: &EncodedBatch) -> Result<Tensor> {
        let rows = (INFER_TOKENS / b.len.max(1)).max(1);
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
        if b.len > cfg.max_positions
            || (cfg.arch == Arch::Roberta && b.len + cfg.pad_token_id as usize >= cfg.max_positions)
        {
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
        let p = cfg.arch.prefix();
        let shape = (b.batch, b.len);
        let ids = Tensor::from_slice(&b.ids, shape, dev)?;
        let pos = Tensor::from_vec(self.position_ids(b), shape, dev)?;
        let emb_span = span("embeddings", Phase::Forward);
        let word_name = format!("{p}.embeddings.word_embeddings.weight");
        let table = self.params.t(&word_name)?;
        let flat_ids = ids.flatten_all()?;
        let mut lookups = vec![];
        // Training on the CPU: the lookup's output is an autograd leaf, so the table's
        // gradient can be gathered as sparse rows instead of a dense scatter.
        let words = if track && fusable(&[table]) {
            let leaf = Var::from_tensor(&table.detach().embedding(&flat_ids)?)?;
            lookups.push(SparseLookup {
                param: word_name,
                ids: b.ids.clone(),
                leaf: leaf.clone(),
                height: table.dim(0)?,
            });
            leaf.as_tensor().clone()
        } else {
            self.w(&word_name, track)?.embedding(&flat_ids)?
        };
        let posw = self.w(&format!("{p}.embeddings.position_embeddings.weight"), track)?;
        let h = cfg.hidden_size;
        let mut x = words.add(&posw.embedding(&pos.flatten_all()?)?)?;
        if cfg.type_vocab_size > 0 {
            let tt = Tensor::from_slice(&b.type_ids, b.ids.len(), dev)?;
            let tw = self.w(
                &format!("{p}.embeddings.token_type_embeddings.weight"),
                track,
            )?;
            x = x.add(&tw.embedding(&tt)?)?;
        }
        let x = x.reshape((b.batch, b.len, h))?;
        drop(emb_span);
        let x = self.ln(&x, &format!("{p}.embeddings.LayerNorm"), track)?;
        let mut x = dropout(&x, cfg.hidden_dropout, rng.as_deref_mut())?;
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
        let last_rows = if want_hidden { b.len } else { 1 };
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
            x = self.encoder_layer(i, &x, &bias, rng.as_deref_mut(), t, rows, &sink)?;
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
        let first = x.narrow(1, 0, 1)?.squeeze(1)?;
        let (classifier_input, logits) = match cfg.arch {
            Arch::Bert => {
                let pooled = self
                    .lin(&first, &format!("{p}.pooler.dense"), track)?
                    .tanh()?;
                let z = dropout(&pooled, cfg.classifier_dropout, rng.as_deref_mut())?;
                let logits = self.lin(&z, "classifier", track)?;
                (pooled, logits)
            }
            Arch::DistilBert => {
                let pre = self.lin(&first, "pre_classifier", track)?.relu()?;
                let z = dropout(&pre, cfg.classifier_dropout, rng.as_deref_mut())?;
                let logits = self.lin(&z, "classifier", track)?;
                (pre, logits)
            }
            Arch::Roberta => {
                let z = dropout(&first, cfg.classifier_dropout, rng.as_deref_mut())?;
                let dense = self.lin(&z, "classifier.dense", track)?.tanh()?;
                let z = dropout(&dense, cfg.classifier_dropout, rng)?;
                let logits = self.lin(&z, "classifier.out_proj", track)?;
                (dense, logits)
            }
        };
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

    /// The query, key and value weights (`part` = "weight") or biases of layer `l` (its
    /// name prefix) stacked in that order, for one fused QKV projection.
    fn stack_qkv(&self, l: &str, part: &str, track: bool) -> Result<Tensor> {
        let names = layer_names(self.config.arch);
        let ts = [names.q, names.k, names.v]
            .map(|n| self.w(&format!("{l}.{n}.{part}"), track))
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&ts, 0)?)
    }

    /// The parameters of layer `l` (its name prefix) for the one-node layer, detached (their
    /// gradients go to the node's sink), with the names those gradients are filed under.
    fn layer_weights(&self, l: &str) -> Result<LayerWeights> {
        let names = layer_names(self.config.arch);
        let pair = |n: &str| -> Result<(Tensor, Tensor)> {
            Ok((
                self.w(&format!("{l}.{n}.weight"), false)?,
                self.w(&format!("{l}.{n}.bias"), false)?,
            ))
        };
        let all = [
            names.q,
            names.k,
            names.v,
            names.attn_out,
            names.attn_ln,
            names.ffn_in,
            names.ffn_out,
            names.out_ln,
        ];
        Ok(LayerWeights {
            qkv: (
                self.stack_qkv(l, "weight", false)?,
                self.stack_qkv(l, "bias", false)?,
            ),
            attn_out: pair(names.attn_out)?,
            ln1: pair(names.attn_ln)?,
            ffn_in: pair(names.ffn_in)?,
            ffn_out: pair(names.ffn_out)?,
            ln2: pair(names.out_ln)?,
            names: all.map(|n| format!("{l}.{n}")),
            eps: self.config.layer_norm_eps as f32,
        })
    }

    /// Encoder layer `i` on `x [B, L, H]`, with the additive attention `bias`, returning the
    /// first `rows` rows of each sequence's output, `[B, rows, H]`: queries, output
    /// projection and feed-forward run on those rows only, keys and values on all `L`.
    /// Dropout draws from `rng` in a fixed order, the same for any `rows` (the masks of the
    /// rows not computed are drawn and dropped), so a layer rerun from a saved generator
    /// state gets the same masks.
    ///
    /// Training on the CPU in f32 (with the exact GELU) runs the layer as one node
    /// ([`EncoderLayer`]) whose parameter gradients go to `sink`; elsewhere it is built
    /// from the separate nodes, which compute the same.
    #[allow(clippy::too_many_arguments)]
    fn encoder_layer(
        &self,
        i: usize,
        x: &Tensor,
        bias: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
        track: bool,
        rows: usize,
        sink: &GradSink,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        let p = cfg.arch.prefix();
        let names = layer_names(cfg.arch);
        let (batch, len, h) = x.dims3()?;
        let (nh, dh) = (cfg.num_heads, h / cfg.num_heads);
        let scale = 1.0 / (dh as f64).sqrt();
        let l = format!("{p}.{}.{i}", names.layer_prefix);
        let [qn, kn, vn] = [names.q, names.k, names.v].map(|n| format!("{l}.{n}"));
        // Dropout on the attention probabilities, drawn here in the same order as an
        // explicit dropout on the [B, H, L, L] probabilities would draw it (for the first
        // `rows` query rows of each [L, L] block).
        let pd = cfg.attention_dropout;
        let keep = dropout_rows_keep((batch * nh, rows, len), pd, rng.as_deref_mut(), len);
        let hs = Heads {
            heads: nh,
            scale,
            queries: rows,
        };
        let ffn_in = format!("{l}.{}", names.ffn_in);
        if track && self.fused_layers && fusable(&[x]) && cfg.activation == Activation::GeluErf {
            let dims = (batch, rows, h);
            let p = cfg.hidden_dropout;
            let attn_out = match cfg.arch {
                Arch::DistilBert => None,
                _ => dropout_rows_keep(dims, p, rng.as_deref_mut(), len),
            };
            let masks = LayerMasks {
                attn_out,
                ffn_out: dropout_rows_keep(dims, p, rng, len),
            };
            let weights = self.layer_weights(&l)?;
            let op = EncoderLayer::new(weights, kernel(bias, hs, keep, true)?, masks, sink.clone());
            return Ok(x.contiguous()?.apply_op1(op)?);
        }
        // int8 inference keeps three quantized projections; otherwise one fused QKV
        // projection feeds a packed attention node.
        let qkv = if self.quantized(&qn, track).is_some() {
            None
        } else {
            let (w, b) = (
                self.stack_qkv(&l, "weight", track)?,
                self.stack_qkv(&l, "bias", track)?,
            );
            Some(linear(x, &w, &b)?)
        };
        let ctx = match qkv {
            Some(qkv) => attention_packed(&qkv, bias, hs, keep)?,
            None => {
                let q = self.lin(x, &qn, track)?;
                let k = self.lin(x, &kn, track)?;
                let v = self.lin(x, &vn, track)?;
                attention(&q, &k, &v, bias, hs, keep)?
            }
        };
        let x = if rows < len {
            x.narrow(1, 0, rows)?
        } else {
            x.clone()
        };
        let mut attn = self.lin(&ctx, &format!("{l}.{}", names.attn_out), track)?;
        if cfg.arch != Arch::DistilBert {
            attn = dropout_rows(&attn, cfg.hidden_dropout, rng.as_deref_mut(), len)?;
        }
        let x1 = self.add_ln(&attn, &x, &format!("{l}.{}", names.attn_ln), track)?;
        let one_node =
            cfg.activation == Activation::GeluErf && self.quantized(&ffn_in, track).is_none();
        let f = if one_node {
            // One node for the projection and its activation (see `fused::linear_gelu`).
            linear_gelu(
                &x1,
                &self.w(&format!("{ffn_in}.weight"), track)?,
                &self.w(&format!("{ffn_in}.bias"), track)?,
            )?
        } else {
            activation(&self.lin(&x1, &ffn_in, track)?, cfg.activation)?
        };
        let f = dropout_rows(
            &self.lin(&f, &format!("{l}.{}", names.ffn_out), track)?,
            cfg.hidden_dropout,
            rng,
            len,
        )?;
        self.add_ln(&f, &x1, &format!("{l}.{}", names.out_ln), track)
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
