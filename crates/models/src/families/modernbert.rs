//! ModernBERT (Warner et al. 2024, "Smarter, better, faster, longer"; transformers
//! `modeling_modernbert.py`): token embeddings and a bias-free LayerNorm (no position or
//! token-type embeddings); pre-norm layers `x + Wo(attn(attn_norm(x)))`, `x +
//! mlp(mlp_norm(x))` (layer 0 has no attention norm) with rotary position embeddings
//! (rotate-half, one base for global layers and one for local ones), global attention
//! every `global_attn_every_n_layers` layers and a sliding window `|i − j| ≤
//! local_attention / 2` in the others, a GeGLU feed-forward `Wo(gelu(a) ⊙ g)` with `[a;
//! g] = Wi x`, and no biases; a final norm; head = `norm(gelu(head.dense(pooled)))`,
//! dropout, `classifier` (with a bias), pooling the first token (`cls`) or the masked mean
//! (`mean`).
//!
//! On the CPU in f32 a layer runs as one node with a hand-written backward pass
//! ([`crate::modern_layer`]) on the packed real tokens of the batch, attention per
//! sequence over its real tokens and, in local layers, over the window's band only.
//! Elsewhere (other devices, int8, a GELU other than the exact one, the one-node layers
//! turned off, or unpadding turned off on a padded batch) it is built from candle's ops, every one of which has a backward pass; unpadded by default (see
//! [`crate::SequenceClassifier::set_unpadded`]): the norms, projections and feed-forward
//! run on the packed real tokens, and attention on the padded layout. Either way padded
//! positions of the layers' outputs are zeros.

use candle_core::{DType, Tensor, D};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{get_activation, get_f64, get_usize, Activation, Common, ModelConfig};
use crate::embeddings;
use crate::family::Family;
use crate::fused::{activation, layer_norm, linear, masked_softmax};
use crate::grads::SparseLookup;
use crate::layer::GradSink;
use crate::layers::{dropout, dropout_keep, real_rows};
use crate::modern_layer::{ModernAttention, ModernLayer, ModernMasks, ModernWeights, Tokens};
use crate::params::{Init, ParamSpec, Specs};
use crate::weights::Weights;
use crate::{ModelError, Result};

pub(crate) struct ModernBert;

const PREFIX: &str = "model";
const LAYERS: &str = "model.layers";
const WORDS: &str = "model.embeddings.tok_embeddings.weight";
const EMB_NORM: &str = "model.embeddings.norm";
const FINAL_NORM: &str = "model.final_norm";
const HEAD_DENSE: &str = "head.dense";
const HEAD_NORM: &str = "head.norm";
const CLASSIFIER: &str = "classifier";

/// What ModernBERT's config adds to the common keys.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    /// Per layer: global (full) attention, or the sliding window.
    global: Vec<bool>,
    global_theta: f64,
    local_theta: f64,
    /// `local_attention`: the total window; keys with `|i − j| ≤ window / 2` are seen.
    window: usize,
    /// `classifier_pooling` is `mean`.
    mean_pooling: bool,
    embedding_dropout: f32,
}

/// A `rope_theta` of `rope_parameters[kind]` (transformers ≥ 5), else the flat key `flat`
/// (Hub configs of ModernBERT-base/large), else `default`.
fn theta(m: &Map<String, Value>, kind: &str, flat: &str, default: f64) -> Result<f64, String> {
    if let Some(t) = m
        .get("rope_parameters")
        .and_then(|r| r.get(kind))
        .and_then(|r| r.get("rope_theta"))
    {
        return t
            .as_f64()
            .ok_or_else(|| format!("rope_parameters.{kind}.rope_theta must be a number"));
    }
    get_f64(m, flat, default)
}

impl Settings {
    fn read(m: &Map<String, Value>) -> Result<Self, String> {
        for key in ["norm_bias", "attention_bias", "mlp_bias", "classifier_bias"] {
            if m.get(key).and_then(Value::as_bool) == Some(true) {
                return Err(format!(
                    "ModernBERT with {key} = true is not supported (ModernBERT-base has no biases)"
                ));
            }
        }
        let layers = get_usize(m, "num_hidden_layers", None)?;
        let global = match m.get("layer_types") {
            Some(Value::Array(types)) => {
                if types.len() != layers {
                    return Err(format!(
                        "layer_types has {} entries for {layers} layers",
                        types.len()
                    ));
                }
                types
                    .iter()
                    .map(|t| match t.as_str() {
                        Some("full_attention") => Ok(true),
                        Some("sliding_attention") => Ok(false),
                        _ => Err(format!(
                            "layer_types entry {t} is not full_attention or sliding_attention"
                        )),
                    })
                    .collect::<Result<Vec<_>, String>>()?
            }
            _ => {
                let every = get_usize(m, "global_attn_every_n_layers", Some(3))?.max(1);
                (0..layers).map(|i| i % every == 0).collect()
            }
        };
        let pooling = m
            .get("classifier_pooling")
            .and_then(Value::as_str)
            .unwrap_or("cls");
        let mean_pooling = match pooling {
            "cls" => false,
            "mean" => true,
            o => {
                return Err(format!(
                    "classifier_pooling '{o}' is not supported (cls, mean)"
                ))
            }
        };
        if get_activation(m, "classifier_activation")? != Activation::GeluErf {
            return Err("classifier_activation other than gelu is not supported".into());
        }
        Ok(Settings {
            global,
            global_theta: theta(m, "full_attention", "global_rope_theta", 160_000.0)?,
            local_theta: theta(m, "sliding_attention", "local_rope_theta", 10_000.0)?,
            window: get_usize(m, "local_attention", Some(128))?,
            mean_pooling,
            embedding_dropout: get_f64(m, "embedding_dropout", 0.0)? as f32,
        })
    }
}

impl ModernBert {
    fn settings(cfg: &ModelConfig) -> Result<Settings> {
        Settings::read(&cfg.raw).map_err(ModelError::Weights)
    }

    /// A linear layer without a bias (int8 when inference quantized it).
    fn lin(w: &Weights, x: &Tensor, name: &str) -> Result<Tensor> {
        if let Some(q) = w.quantized(name) {
            return w.lin_int8(x, q);
        }
        let wt = w.w(&format!("{name}.weight"))?;
        let zero = Tensor::zeros(wt.dim(0)?, wt.dtype(), wt.device())?;
        linear(x, &wt, &zero)
    }

    /// A LayerNorm without a bias.
    fn norm(w: &Weights, x: &Tensor, name: &str) -> Result<Tensor> {
        let g = w.w(&format!("{name}.weight"))?;
        let zero = Tensor::zeros(g.dims(), g.dtype(), g.device())?;
        layer_norm(x, &g, &zero, w.cfg.layer_norm_eps)
    }

    /// `cos` and `sin` of the rotary embedding for positions `0..len`, `[len, d]` each
    /// (rotate-half layout: the `d/2` frequencies `θ^(−2i/d)` twice).
    fn rope(
        len: usize,
        d: usize,
        theta: f64,
        dev: &candle_core::Device,
    ) -> Result<(Tensor, Tensor)> {
        let half = d / 2;
        let (c, s) = Self::rope_half(len, d, theta);
        let twice = |v: Vec<f32>| -> Vec<f32> {
            v.chunks(half.max(1))
                .flat_map(|r| r.iter().chain(r.iter()).copied())
                .collect()
        };
        Ok((
            Tensor::from_vec(twice(c), (len, d), dev)?,
            Tensor::from_vec(twice(s), (len, d), dev)?,
        ))
    }

    /// `x·cos + rotate_half(x)·sin` for `x [B, heads, L, d]`.
    fn rotate(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        let d = x.dim(D::Minus1)?;
        let half = d / 2;
        let x1 = x.narrow(D::Minus1, 0, half)?;
        let x2 = x.narrow(D::Minus1, half, half)?;
        let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        Ok((x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?)
    }

    /// Layer `i` (`global`: whether its attention is global) as one node ([`ModernLayer`])
    /// when it can run so: on the CPU in f32 (training, or inference without int8
    /// projections) with the exact GELU, unpadded (or a batch without padding). Draws the
    /// dropout multipliers in the order and shapes of the primitive-op layer below.
    #[allow(clippy::too_many_arguments)]
    fn one_node(
        w: &Weights,
        (i, global): (usize, bool),
        s: &Settings,
        x: &Tensor,
        bias: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
        rows: usize,
        sink: &GradSink,
    ) -> Result<Option<ModernLayer>> {
        let cfg = w.cfg;
        let l = format!("{LAYERS}.{i}");
        if !w.one_node(x, &l, &["attn.Wqkv", "attn.Wo", "mlp.Wi", "mlp.Wo"]) {
            return Ok(None);
        }
        let (b, len, h) = x.dims3()?;
        let tokens = Tokens::of(&bias.flatten_all()?.to_vec1::<f32>()?, b, len);
        if !w.unpadded && tokens.total() != b * len {
            return Ok(None);
        }
        let nh = cfg.num_heads;
        let theta = if global {
            s.global_theta
        } else {
            s.local_theta
        };
        let (cos, sin) = Self::rope_half(len, h / nh.max(1), theta);
        let mut keep = |n: usize, p: f32| match rng.as_deref_mut() {
            Some(r) if p > 0.0 => Some(dropout_keep(n, p, r)),
            _ => None,
        };
        let (t, pa) = (tokens.total(), cfg.attention_dropout);
        let masks = ModernMasks {
            probs: keep(b * nh * len * len, pa),
            attn_out: keep(t * h, pa),
            mlp: keep(t * cfg.intermediate_size, cfg.hidden_dropout),
        };
        let named = |n: &str| -> Result<(Tensor, String)> {
            Ok((w.w_as(&format!("{n}.weight"), false)?, n.to_string()))
        };
        let weights = ModernWeights {
            attn_norm: (i > 0)
                .then(|| named(&format!("{l}.attn_norm")))
                .transpose()?,
            wqkv: named(&format!("{l}.attn.Wqkv"))?,
            wo: named(&format!("{l}.attn.Wo"))?,
            mlp_norm: named(&format!("{l}.mlp_norm"))?,
            wi: named(&format!("{l}.mlp.Wi"))?,
            wo2: named(&format!("{l}.mlp.Wo"))?,
            final_norm: (i + 1 == cfg.num_layers)
                .then(|| named(FINAL_NORM))
                .transpose()?,
            eps: cfg.layer_norm_eps as f32,
        };
        let attn = ModernAttention {
            heads: nh,
            cos,
            sin,
            half_window: (!global).then_some(s.window / 2),
        };
        Ok(Some(ModernLayer {
            w: weights,
            attn,
            tokens,
            rows,
            masks,
            sink: sink.clone(),
            store: w.track,
            saved: Default::default(),
        }))
    }

    /// `cos` and `sin` of the rotary angles of positions `0..len`, `[len, d/2]` each (the
    /// values [`Self::rope`] repeats in both halves of a head).
    fn rope_half(len: usize, d: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
        let half = d / 2;
        let (mut cos, mut sin) = (
            Vec::with_capacity(len * half),
            Vec::with_capacity(len * half),
        );
        for p in 0..len {
            for i in 0..half {
                let f = 1.0 / theta.powf((2 * i) as f64 / d as f64);
                let a = p as f64 * f;
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
        (cos, sin)
    }

    /// What a local layer adds to the scores, `[1, 1, L, L]`: 0 inside the window
    /// (`|i − j| ≤ window / 2`), −1e30 outside: far enough below any score that its
    /// probability is exactly 0, and small enough that, scaled and added to the padding
    /// mask's lowest f32, it stays finite (the diagonal is always inside, so no row is
    /// entirely masked by the window).
    fn window(len: usize, window: usize, dev: &candle_core::Device) -> Result<Tensor> {
        let half = window / 2;
        let win: Vec<f32> = (0..len)
            .flat_map(|i| (0..len).map(move |j| if i.abs_diff(j) <= half { 0.0 } else { -1e30 }))
            .collect();
        Ok(Tensor::from_vec(win, (1, 1, len, len), dev)?)
    }
}

/// The real tokens of a padded batch (Portes et al. 2023 and the ModernBERT paper call
/// running only those "unpadding"): their rows in the flattened `[B·L, …]` batch, and for
/// each of the `B·L` positions its row in the packed `[T + 1, …]` tensor whose last row is
/// zeros (where padding reads from).
struct Packing {
    rows: Tensor,
    back: Tensor,
    batch: usize,
    len: usize,
}

impl Packing {
    /// The packing of the batch the additive mask `bias [B, 1, 1, L]` belongs to, or
    /// `None` when it has no padding (nothing to gain).
    fn of(bias: &Tensor) -> Result<Option<Self>> {
        let (batch, _, _, len) = bias.dims4()?;
        let m: Vec<f32> = bias.flatten_all()?.to_vec1()?;
        let real: Vec<u32> = real_rows(&m).into_iter().map(|i| i as u32).collect();
        if real.len() == m.len() {
            return Ok(None);
        }
        let t = real.len() as u32;
        let mut back = vec![t; m.len()];
        for (k, &i) in real.iter().enumerate() {
            back[i as usize] = k as u32;
        }
        let dev = bias.device();
        Ok(Some(Packing {
            rows: Tensor::from_vec(real, t as usize, dev)?,
            back: Tensor::from_vec(back, m.len(), dev)?,
            batch,
            len,
        }))
    }

    /// `x [B, L, n]` → the real tokens' rows `[T, n]`.
    fn pack(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(D::Minus1)?;
        Ok(x.reshape((self.batch * self.len, n))?
            .index_select(&self.rows, 0)?)
    }

    /// `x [T, n]` → `[B, L, n]` with zero rows at the padding.
    fn unpack(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(D::Minus1)?;
        let zero = Tensor::zeros((1, n), x.dtype(), x.device())?;
        Ok(Tensor::cat(&[x, &zero], 0)?
            .index_select(&self.back, 0)?
            .reshape((self.batch, self.len, n))?)
    }
}

impl Family for ModernBert {
    fn model_types(&self) -> &'static [&'static str] {
        &["modernbert"]
    }

    fn hf_class(&self) -> &'static str {
        "ModernBertForSequenceClassification"
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        let s = Settings::read(&m)?;
        if s.window == 0 && s.global.iter().any(|g| !g) {
            return Err("local_attention must be positive".into());
        }
        Ok(ModelConfig {
            vocab_size: get_usize(&m, "vocab_size", None)?,
            hidden_size: get_usize(&m, "hidden_size", None)?,
            num_layers: get_usize(&m, "num_hidden_layers", None)?,
            num_heads: get_usize(&m, "num_attention_heads", None)?,
            intermediate_size: get_usize(&m, "intermediate_size", None)?,
            max_positions: get_usize(&m, "max_position_embeddings", Some(8192))?,
            type_vocab_size: 0,
            layer_norm_eps: get_f64(&m, "norm_eps", 1e-5)?,
            pad_token_id: get_usize(&m, "pad_token_id", Some(50283))? as u32,
            hidden_dropout: get_f64(&m, "mlp_dropout", 0.0)? as f32,
            attention_dropout: get_f64(&m, "attention_dropout", 0.0)? as f32,
            classifier_dropout: get_f64(&m, "classifier_dropout", 0.0)? as f32,
            activation: get_activation(&m, "hidden_activation")?,
            initializer_range: get_f64(&m, "initializer_range", 0.02)?,
            id2label: common.id2label,
            model_type: common.model_type,
            raw: m,
        })
    }

    /// The kept layers keep their attention type: `layer_types` is rewritten for them
    /// (and written out so when the model is saved).
    fn keep_layers(&self, cfg: &mut ModelConfig, keep: &[usize]) -> Result<(), String> {
        let s = Settings::read(&cfg.raw)?;
        let types: Vec<Value> = keep
            .iter()
            .map(|&i| match s.global.get(i) {
                Some(true) => Ok(Value::from("full_attention")),
                Some(false) => Ok(Value::from("sliding_attention")),
                None => Err(format!("no layer {i} to keep")),
            })
            .collect::<Result<_, String>>()?;
        cfg.raw.insert("layer_types".into(), Value::Array(types));
        cfg.raw
            .insert("num_hidden_layers".into(), Value::from(keep.len()));
        Ok(())
    }

    fn prefix(&self) -> &'static str {
        PREFIX
    }

    fn layers(&self) -> String {
        LAYERS.into()
    }

    fn param_specs(&self, cfg: &ModelConfig, num_labels: usize) -> Vec<ParamSpec> {
        let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
        let mut s = Specs::default();
        let weight = |s: &mut Specs, n: &str, shape: Vec<usize>, init: Init, head: bool| {
            s.add(format!("{n}.weight"), shape, init, head)
        };
        s.table("model.embeddings.tok_embeddings", cfg.vocab_size, h);
        weight(&mut s, EMB_NORM, vec![h], Init::Ones, false);
        for i in 0..cfg.num_layers {
            let l = format!("{LAYERS}.{i}");
            if i > 0 {
                weight(
                    &mut s,
                    &format!("{l}.attn_norm"),
                    vec![h],
                    Init::Ones,
                    false,
                );
            }
            weight(
                &mut s,
                &format!("{l}.attn.Wqkv"),
                vec![3 * h, h],
                Init::Normal,
                false,
            );
            weight(
                &mut s,
                &format!("{l}.attn.Wo"),
                vec![h, h],
                Init::Normal,
                false,
            );
            weight(&mut s, &format!("{l}.mlp_norm"), vec![h], Init::Ones, false);
            weight(
                &mut s,
                &format!("{l}.mlp.Wi"),
                vec![2 * f, h],
                Init::Normal,
                false,
            );
            weight(
                &mut s,
                &format!("{l}.mlp.Wo"),
                vec![h, f],
                Init::Normal,
                false,
            );
        }
        weight(&mut s, FINAL_NORM, vec![h], Init::Ones, false);
        weight(&mut s, HEAD_DENSE, vec![h, h], Init::Normal, true);
        weight(&mut s, HEAD_NORM, vec![h], Init::Ones, true);
        s.linear(CLASSIFIER, num_labels, h, true);
        s.into_vec()
    }

    /// The four projections of every layer; they have no biases (quantized with zero ones).
    fn linear_layers(&self, cfg: &ModelConfig) -> Vec<String> {
        (0..cfg.num_layers)
            .flat_map(|i| {
                ["attn.Wqkv", "attn.Wo", "mlp.Wi", "mlp.Wo"].map(|p| format!("{LAYERS}.{i}.{p}"))
            })
            .collect()
    }

    fn embed(
        &self,
        w: &Weights,
        b: &EncodedBatch,
        rng: Option<&mut ChaCha8Rng>,
        lookups: &mut Vec<SparseLookup>,
    ) -> Result<Tensor> {
        let s = Self::settings(w.cfg)?;
        let words = embeddings::lookup(w, WORDS, b, lookups)?;
        let x = words.reshape((b.batch, b.len, w.cfg.hidden_size))?;
        let x = Self::norm(w, &x, EMB_NORM)?;
        dropout(&x, s.embedding_dropout, rng)
    }

    fn encoder_layer(
        &self,
        w: &Weights,
        i: usize,
        x: &Tensor,
        bias: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
        rows: usize,
        sink: &GradSink,
    ) -> Result<Tensor> {
        let cfg = w.cfg;
        let s = Self::settings(cfg)?;
        let global = *s
            .global
            .get(i)
            .ok_or_else(|| ModelError::Weights(format!("no layer type for layer {i}")))?;
        let (b, len, h) = x.dims3()?;
        let nh = cfg.num_heads;
        let d = h / nh;
        let l = format!("{LAYERS}.{i}");
        if let Some(op) =
            Self::one_node(w, (i, global), &s, x, bias, rng.as_deref_mut(), rows, sink)?
        {
            return Ok(x.contiguous()?.apply_op1(op)?);
        }
        // Unpadded: the token-wise parts (norms, projections, feed-forward) run on the
        // packed real tokens `[T, H]`; only attention sees the padded `[B, L, ·]` layout.
        let packing = if w.unpadded { Packing::of(bias)? } else { None };
        let x = match &packing {
            Some(p) => p.pack(x)?,
            None => x.clone(),
        };
        // Attention.
        let hn = if i == 0 {
            x.clone()
        } else {
            Self::norm(w, &x, &format!("{l}.attn_norm"))?
        };
        let qkv = Self::lin(w, &hn, &format!("{l}.attn.Wqkv"))?;
        let qkv = match &packing {
            Some(p) => p.unpack(&qkv)?,
            None => qkv,
        };
        let qkv = qkv.reshape((b, len, 3, nh, d))?;
        let part = |k: usize| -> Result<Tensor> {
            Ok(qkv
                .narrow(2, k, 1)?
                .squeeze(2)?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (q, k, v) = (part(0)?, part(1)?, part(2)?);
        let theta = if global {
            s.global_theta
        } else {
            s.local_theta
        };
        let (cos, sin) = Self::rope(len, d, theta, w.device)?;
        let q = Self::rotate(&q, &cos, &sin)?;
        let k = Self::rotate(&k, &cos, &sin)?;
        let scores = q.matmul(&k.t()?)?;
        let scores = if global {
            scores
        } else {
            scores.broadcast_add(&Self::window(len, s.window, w.device)?)?
        };
        let probs = masked_softmax(&scores, bias, 1.0 / (d as f64).sqrt())?;
        let probs = dropout(&probs, cfg.attention_dropout, rng.as_deref_mut())?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, len, h))?;
        let ctx = match &packing {
            Some(p) => p.pack(&ctx)?,
            None => ctx,
        };
        let a = Self::lin(w, &ctx, &format!("{l}.attn.Wo"))?;
        let a = dropout(&a, cfg.attention_dropout, rng.as_deref_mut())?;
        let x = (x + a)?;
        // GeGLU feed-forward.
        let hn = Self::norm(w, &x, &format!("{l}.mlp_norm"))?;
        let wi = Self::lin(w, &hn, &format!("{l}.mlp.Wi"))?;
        let f = cfg.intermediate_size;
        let input = wi.narrow(D::Minus1, 0, f)?;
        let gate = wi.narrow(D::Minus1, f, f)?;
        let g = (activation(&input, cfg.activation)? * gate)?;
        let g = dropout(&g, cfg.hidden_dropout, rng)?;
        let y = (x + Self::lin(w, &g, &format!("{l}.mlp.Wo"))?)?;
        let y = if i + 1 == cfg.num_layers {
            Self::norm(w, &y, FINAL_NORM)?
        } else {
            y
        };
        let y = match &packing {
            Some(p) => p.unpack(&y)?,
            None => y,
        };
        Ok(if rows < len { y.narrow(1, 0, rows)? } else { y })
    }

    fn pools_all_rows(&self, cfg: &ModelConfig) -> bool {
        Self::settings(cfg).is_ok_and(|s| s.mean_pooling)
    }

    fn pool(&self, w: &Weights, x: &Tensor, b: &EncodedBatch) -> Result<Tensor> {
        if !Self::settings(w.cfg)?.mean_pooling {
            return Ok(x.narrow(1, 0, 1)?.squeeze(1)?);
        }
        // The mean over real tokens.
        let m = Tensor::from_slice(&b.mask, (b.batch, b.len, 1), w.device)?.to_dtype(DType::F32)?;
        let summed = x.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1.0, f64::MAX)?;
        Ok(summed.broadcast_div(&counts)?)
    }

    fn head(
        &self,
        w: &Weights,
        first: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let dense = Self::lin(w, first, HEAD_DENSE)?;
        let pooled = Self::norm(w, &activation(&dense, Activation::GeluErf)?, HEAD_NORM)?;
        let z = dropout(&pooled, w.cfg.classifier_dropout, rng)?;
        let logits = w.lin(&z, CLASSIFIER)?;
        Ok((pooled, logits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: serde_json::Value) -> Result<ModelConfig, String> {
        let mut v = serde_json::json!({"model_type": "modernbert", "vocab_size": 10,
            "hidden_size": 8, "num_hidden_layers": 4, "num_attention_heads": 2,
            "intermediate_size": 16});
        for (k, x) in extra.as_object().into_iter().flatten() {
            v[k] = x.clone();
        }
        ModelConfig::from_json(v)
    }

    #[test]
    fn hub_and_transformers_5_configs_give_the_same_settings() {
        let hub = config(serde_json::json!({"global_attn_every_n_layers": 3,
            "global_rope_theta": 160000.0, "local_rope_theta": 10000.0, "local_attention": 128}))
        .unwrap_or_else(|e| panic!("{e}"));
        let v5 = config(serde_json::json!({"layer_types": ["full_attention",
            "sliding_attention", "sliding_attention", "full_attention"], "rope_parameters": {
            "full_attention": {"rope_theta": 160000.0}, "sliding_attention": {"rope_theta": 10000.0}},
            "local_attention": 128}))
        .unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (
            ModernBert::settings(&hub).unwrap(),
            ModernBert::settings(&v5).unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.global, vec![true, false, false, true]);
        assert_eq!((hub.pad_token_id, hub.layer_norm_eps), (50283, 1e-5));
        for (extra, says) in [
            (serde_json::json!({"classifier_pooling": "max"}), "'max'"),
            (serde_json::json!({"mlp_bias": true}), "mlp_bias"),
            (
                serde_json::json!({"layer_types": ["full_attention"]}),
                "1 entries for 4 layers",
            ),
        ] {
            let err = config(extra).err().unwrap_or_default();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn the_local_window_is_inclusive_and_keeps_padding_masked() {
        let dev = candle_core::Device::Cpu;
        // One sequence of 6 with the last key padded; window 4 (|i - j| <= 2).
        let bias =
            Tensor::from_vec(vec![0f32, 0., 0., 0., 0., f32::MIN], (1, 1, 1, 6), &dev).unwrap();
        let scores = Tensor::ones((1, 1, 6, 6), DType::F32, &dev).unwrap();
        let scores = scores
            .broadcast_add(&ModernBert::window(6, 4, &dev).unwrap())
            .unwrap();
        let p: Vec<Vec<f32>> = masked_softmax(&scores, &bias, 0.25)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        for (i, row) in p.iter().enumerate() {
            let seen = (0..6).filter(|&j| i.abs_diff(j) <= 2 && j != 5).count() as f32;
            for (j, &v) in row.iter().enumerate() {
                let want = if i.abs_diff(j) <= 2 && j != 5 {
                    1.0 / seen
                } else {
                    0.0
                };
                assert!((v - want).abs() < 1e-6, "({i}, {j}): {v} vs {want}");
            }
        }
    }
}
