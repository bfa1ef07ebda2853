//! DeBERTa-v2/v3 (He et al. 2021, "DeBERTa: decoding-enhanced BERT with disentangled
//! attention"; "DeBERTaV3"; transformers `modeling_deberta_v2.py`), in the v3 layout:
//! word embeddings only (no absolute positions, no token types), LayerNorm, times the
//! attention mask; BERT-like post-LN layers whose self-attention adds to the content score
//! `q_i·k_j` a content-to-position term `q_i·Kr[δ(i,j)]` and a position-to-content term
//! `k_j·Qr[δ(i,j)]`, all over `√(d·(1 + terms))`. `Kr`/`Qr` are the layer's own key and
//! query projections (`share_att_key`) of the relative embeddings, layer-normed once for
//! all layers (`norm_rel_ebd`); `δ(i,j)` is the log-bucketed `i − j` shifted into
//! `0..2·span`. Head: ContextPooler `gelu(pooler.dense(h₀))`, dropout, `classifier`.
//!
//! On the CPU in f32 a layer runs as BERT's one-node layer ([`crate::layer`]) whose
//! attention kernel adds the relative terms ([`crate::relative`]), projecting only the
//! table rows the batch's positions reach. Elsewhere (other devices, int8, or with the
//! one-node layers turned off) it is built from candle's ops, every one of which has a
//! backward pass (the gathers of the relative terms scatter their gradient back).

use std::sync::Arc;

use candle_core::{Tensor, D};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{bert_style, get_f64, get_usize, Common, ModelConfig};
use crate::embeddings;
use crate::encoder::{LayerNames, PostLnEncoder};
use crate::family::Family;
use crate::fused::{
    activation, gelu_erf, kernel, kernel_with_terms, masked_softmax, with_slices, Heads,
};
use crate::grads::SparseLookup;
use crate::layer::{EncoderLayer, GradSink, LayerMasks, RelativeNames};
use crate::layers::{dropout, dropout_rows, dropout_rows_keep};
use crate::params::{ParamSpec, Specs};
use crate::relative::{RelativeInputs, RelativeTerms};
use crate::weights::Weights;
use crate::{ModelError, Result};

pub(crate) struct DebertaV2;

const PREFIX: &str = "deberta";
const LAYERS: &str = "deberta.encoder.layer";
const REL: &str = "deberta.encoder.rel_embeddings";
const REL_NORM: &str = "deberta.encoder.LayerNorm";
const POOLER: &str = "pooler.dense";
const CLASSIFIER: &str = "classifier";

/// The layer's parameter names, for the one-node layer.
const ENCODER: PostLnEncoder = PostLnEncoder {
    prefix: PREFIX,
    names: LayerNames {
        q: Q,
        k: K,
        v: V,
        attn_out: ATTN_OUT,
        attn_ln: ATTN_LN,
        ffn_in: FFN_IN,
        ffn_out: FFN_OUT,
        out_ln: OUT_LN,
        layers: "encoder.layer",
    },
    attn_out_dropout: true,
};

/// The layer parts, after `{LAYERS}.{i}.`.
const Q: &str = "attention.self.query_proj";
const K: &str = "attention.self.key_proj";
const V: &str = "attention.self.value_proj";
const ATTN_OUT: &str = "attention.output.dense";
const ATTN_LN: &str = "attention.output.LayerNorm";
const FFN_IN: &str = "intermediate.dense";
const FFN_OUT: &str = "output.dense";
const OUT_LN: &str = "output.LayerNorm";

/// The relative-attention settings, from `config.json`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Relative {
    /// `position_buckets` (0: no log buckets).
    buckets: usize,
    /// `max_relative_positions` (a value < 1 means `max_position_embeddings`).
    max_relative: usize,
    c2p: bool,
    p2c: bool,
    /// `norm_rel_ebd` contains `layer_norm`.
    norm_rel: bool,
}

impl Relative {
    fn read(m: &Map<String, Value>) -> Result<Self, String> {
        if m.get("relative_attention").and_then(Value::as_bool) != Some(true) {
            return Err("DeBERTa without relative_attention is not supported (textclf reads the DeBERTa-v3 layout)".into());
        }
        if m.get("position_biased_input").and_then(Value::as_bool) != Some(false) {
            return Err("DeBERTa with position_biased_input (absolute position embeddings) is not supported; the DeBERTa-v3 layout sets it to false".into());
        }
        if m.get("share_att_key").and_then(Value::as_bool) != Some(true) {
            return Err("DeBERTa without share_att_key is not supported (DeBERTa-v3 shares the content projections with the relative embeddings)".into());
        }
        if get_usize(m, "conv_kernel_size", Some(0))? > 0 {
            return Err(
                "DeBERTa-v2 with a convolution layer (conv_kernel_size) is not supported".into(),
            );
        }
        let types: Vec<String> = match m.get("pos_att_type") {
            Some(Value::String(s)) => s.split('|').map(|t| t.trim().to_lowercase()).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(|t| t.trim().to_lowercase())
                .collect(),
            _ => vec![],
        };
        if let Some(t) = types.iter().find(|t| *t != "c2p" && *t != "p2c") {
            return Err(format!("pos_att_type '{t}' is not supported (c2p, p2c)"));
        }
        let buckets = get_usize(m, "position_buckets", Some(0))?;
        let max_relative = match m.get("max_relative_positions").and_then(Value::as_i64) {
            Some(v) if v >= 1 => v as usize,
            _ => get_usize(m, "max_position_embeddings", Some(512))?,
        };
        let norm = m
            .get("norm_rel_ebd")
            .and_then(Value::as_str)
            .unwrap_or("none");
        Ok(Relative {
            buckets,
            max_relative,
            c2p: types.iter().any(|t| t == "c2p"),
            p2c: types.iter().any(|t| t == "p2c"),
            norm_rel: norm.split('|').any(|t| t.trim() == "layer_norm"),
        })
    }

    /// Half the number of relative embeddings: the span of relative positions.
    fn span(&self) -> usize {
        if self.buckets > 0 {
            self.buckets
        } else {
            self.max_relative
        }
    }

    /// The index into the relative embeddings of query `i` and key `j`:
    /// `clamp(bucket(i − j) + span, 0, 2·span − 1)`.
    fn index(&self, i: usize, j: usize) -> u32 {
        let r = i as i64 - j as i64;
        let rel = if self.buckets > 0 {
            log_bucket(r, self.buckets, self.max_relative)
        } else {
            r
        };
        let span = self.span() as i64;
        (rel + span).clamp(0, 2 * span - 1) as u32
    }
}

/// transformers' `make_log_bucket_position`: relative positions within half the buckets
/// are kept, farther ones are put into logarithmically wider buckets (in f32, as
/// transformers computes them).
fn log_bucket(r: i64, buckets: usize, max_position: usize) -> i64 {
    let mid = (buckets / 2) as i64;
    let abs = r.abs();
    if abs <= mid {
        return r;
    }
    let midf = mid as f32;
    let scaled = ((abs as f32 / midf).ln() / ((max_position as f32 - 1.0) / midf).ln()
        * (midf - 1.0))
        .ceil() as i64;
    r.signum() * (scaled + mid)
}

impl DebertaV2 {
    fn relative(cfg: &ModelConfig) -> Result<Relative> {
        Relative::read(&cfg.raw).map_err(ModelError::Weights)
    }

    /// The width of the pooler (`pooler_hidden_size`, default the hidden size).
    fn pooler_size(cfg: &ModelConfig) -> usize {
        get_usize(&cfg.raw, "pooler_hidden_size", Some(cfg.hidden_size)).unwrap_or(cfg.hidden_size)
    }

    /// Layer `i` as one node ([`EncoderLayer`], BERT's post-LN layer, whose attention
    /// kernel adds the relative terms of [`RelativeTerms`]): on the CPU in f32, training
    /// or inference without int8 projections. Draws the dropout multipliers in the order
    /// and shapes of the primitive-op layer.
    #[allow(clippy::too_many_arguments)]
    fn one_node(
        w: &Weights,
        i: usize,
        rel: Relative,
        x: &Tensor,
        bias: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
        rows: usize,
        sink: &GradSink,
    ) -> Result<EncoderLayer> {
        let cfg = w.cfg;
        let (b, len, h) = x.dims3()?;
        let nh = cfg.num_heads;
        let d = h / nh.max(1);
        let terms = 1 + rel.c2p as usize + rel.p2c as usize;
        let hs = Heads {
            heads: nh,
            scale: 1.0 / ((d * terms) as f64).sqrt(),
            queries: rows,
        };
        let keep = dropout_rows_keep(
            (b * nh, rows, len),
            cfg.attention_dropout,
            rng.as_deref_mut(),
            len,
        );
        let dims = (b, rows, h);
        let p = cfg.hidden_dropout;
        let attn_out = dropout_rows_keep(dims, p, rng.as_deref_mut(), len);
        let masks = LayerMasks {
            attn_out,
            ffn_out: dropout_rows_keep(dims, p, rng, len),
        };
        let weights = ENCODER.layer_weights(w, &format!("{LAYERS}.{i}"))?;
        if !(rel.c2p || rel.p2c) {
            let attn = kernel(bias, hs, keep, w.track)?;
            return Ok(
                EncoderLayer::new(weights, attn, masks, sink.clone()).unpadded(w.unpadded, len)
            );
        }
        let table = w.w_as(&format!("{REL}.weight"), false)?;
        // Without the norm, the table stands in for its (unread) weight and bias.
        let (norm_w, norm_b) = if rel.norm_rel {
            (
                w.w_as(&format!("{REL_NORM}.weight"), false)?,
                w.w_as(&format!("{REL_NORM}.bias"), false)?,
            )
        } else {
            (table.clone(), table.clone())
        };
        let index = (0..rows)
            .flat_map(|i| (0..len).map(move |j| rel.index(i, j)))
            .collect();
        let eps = cfg.layer_norm_eps as f32;
        let read = [&table, &norm_w, &norm_b, &weights.qkv.0, &weights.qkv.1];
        let terms = with_slices(read, |[table, g, b, wqkv, bqkv]| {
            Ok(RelativeTerms::new(RelativeInputs {
                table,
                norm: rel.norm_rel.then_some((g, b, eps)),
                wqkv,
                bqkv,
                hidden: h,
                heads: nh,
                index,
                queries: rows,
                len,
                c2p: rel.c2p,
                p2c: rel.p2c,
            }))
        })?
        .map_err(ModelError::Weights)?;
        let terms = Arc::new(terms);
        let attn = kernel_with_terms(bias, hs, keep, w.track, terms.clone())?;
        let names = RelativeNames {
            table: REL.into(),
            norm: rel.norm_rel.then(|| REL_NORM.into()),
        };
        Ok(EncoderLayer::new(weights, attn, masks, sink.clone())
            .with_relative(terms, names)
            .unpadded(w.unpadded, len))
    }

    /// `[B, L, H]` → `[B, heads, L, d]`.
    fn heads(x: &Tensor, nh: usize) -> Result<Tensor> {
        let (b, l, h) = x.dims3()?;
        Ok(x.reshape((b, l, nh, h / nh))?
            .transpose(1, 2)?
            .contiguous()?)
    }
}

impl Family for DebertaV2 {
    fn model_types(&self) -> &'static [&'static str] {
        &["deberta-v2"]
    }

    fn hf_class(&self) -> &'static str {
        "DebertaV2ForSequenceClassification"
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        Relative::read(&m)?;
        if let Some(e) = m.get("embedding_size").and_then(Value::as_u64) {
            if Some(e) != m.get("hidden_size").and_then(Value::as_u64) {
                return Err("DeBERTa with embedding_size != hidden_size is not supported".into());
            }
        }
        let type_vocab_size = get_usize(&m, "type_vocab_size", Some(0))?;
        if type_vocab_size > 0 {
            return Err("DeBERTa with token-type embeddings (type_vocab_size > 0) is not supported; the DeBERTa-v3 layout has none".into());
        }
        let pooler_act = m
            .get("pooler_hidden_act")
            .and_then(Value::as_str)
            .unwrap_or("gelu");
        if pooler_act != "gelu" {
            return Err(format!(
                "pooler_hidden_act '{pooler_act}' is not supported (gelu)"
            ));
        }
        let cls_dropout = m.get("cls_dropout").and_then(Value::as_f64);
        let mut cfg = bert_style(m, common, 0)?;
        cfg.type_vocab_size = 0;
        if let Some(p) = cls_dropout {
            cfg.classifier_dropout = p as f32;
        } else {
            cfg.classifier_dropout = cfg.hidden_dropout;
        }
        Ok(cfg)
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
        s.table("deberta.embeddings.word_embeddings", cfg.vocab_size, h);
        s.layer_norm("deberta.embeddings.LayerNorm", h);
        for i in 0..cfg.num_layers {
            let l = format!("{LAYERS}.{i}");
            for part in [Q, K, V, ATTN_OUT] {
                s.linear(&format!("{l}.{part}"), h, h, false);
            }
            s.layer_norm(&format!("{l}.{ATTN_LN}"), h);
            s.linear(&format!("{l}.{FFN_IN}"), f, h, false);
            s.linear(&format!("{l}.{FFN_OUT}"), h, f, false);
            s.layer_norm(&format!("{l}.{OUT_LN}"), h);
        }
        let rel = Self::relative(cfg).map(|r| r.span()).unwrap_or(0);
        s.table(REL, 2 * rel, h);
        if Self::relative(cfg).is_ok_and(|r| r.norm_rel) {
            s.layer_norm(REL_NORM, h);
        }
        let p = Self::pooler_size(cfg);
        s.linear(POOLER, p, h, true);
        s.linear(CLASSIFIER, num_labels, p, true);
        s.into_vec()
    }

    fn linear_layers(&self, cfg: &ModelConfig) -> Vec<String> {
        (0..cfg.num_layers)
            .flat_map(|i| [Q, K, V, ATTN_OUT, FFN_IN, FFN_OUT].map(|p| format!("{LAYERS}.{i}.{p}")))
            .collect()
    }

    fn embed(
        &self,
        w: &Weights,
        b: &EncodedBatch,
        rng: Option<&mut ChaCha8Rng>,
        lookups: &mut Vec<SparseLookup>,
    ) -> Result<Tensor> {
        let words = embeddings::lookup(w, "deberta.embeddings.word_embeddings.weight", b, lookups)?;
        let x = words.reshape((b.batch, b.len, w.cfg.hidden_size))?;
        let x = w.ln(&x, "deberta.embeddings.LayerNorm")?;
        // Padded positions are exactly zero.
        let mask =
            Tensor::from_slice(&b.mask, (b.batch, b.len, 1), w.device)?.to_dtype(x.dtype())?;
        let x = x.broadcast_mul(&mask)?;
        dropout(&x, w.cfg.hidden_dropout, rng)
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
        let rel = Self::relative(cfg)?;
        let (b, len, h) = x.dims3()?;
        let rows = rows.min(len);
        let l = format!("{LAYERS}.{i}");
        if w.one_node(x, &l, &[Q, K, V, ATTN_OUT, FFN_IN, FFN_OUT]) {
            let op = Self::one_node(w, i, rel, x, bias, rng, rows, sink)?;
            return Ok(x.contiguous()?.apply_op1(op)?);
        }
        let nh = cfg.num_heads;
        let d = h / nh;
        let (qn, kn) = (format!("{l}.{Q}"), format!("{l}.{K}"));
        // Queries, the output projection and the feed-forward run on the first `rows` rows
        // (all the head reads, in the last layer); keys and values on all `len`.
        let xq = if rows < len {
            x.narrow(1, 0, rows)?
        } else {
            x.clone()
        };
        let q = Self::heads(&w.lin(&xq, &qn)?, nh)?;
        let k = Self::heads(&w.lin(x, &kn)?, nh)?;
        let v = Self::heads(&w.lin(x, &format!("{l}.{V}"))?, nh)?;
        let terms = 1 + rel.c2p as usize + rel.p2c as usize;
        let scale = ((d * terms) as f64).sqrt();
        let mut scores = q.matmul(&k.t()?)?;
        if rel.c2p || rel.p2c {
            // The relative embeddings, layer-normed, projected by this layer's own query
            // and key projections: `[heads, 2·span, d]`.
            let span = rel.span();
            let table = w.w(&format!("{REL}.weight"))?.narrow(0, 0, 2 * span)?;
            let table = if rel.norm_rel {
                w.ln(&table, REL_NORM)?
            } else {
                table
            };
            let proj = |name: &str| -> Result<Tensor> {
                let p = w.lin(&table.unsqueeze(0)?, name)?;
                Ok(Self::heads(&p, nh)?.squeeze(0)?)
            };
            // δ(i, j) for the query rows i < rows and every key j.
            let index = |outer: usize, inner: usize, query_outer: bool| -> Result<Tensor> {
                let idx: Vec<u32> = (0..outer)
                    .flat_map(|o| (0..inner).map(move |n| (o, n)))
                    .map(|(o, n)| {
                        if query_outer {
                            rel.index(o, n)
                        } else {
                            rel.index(n, o)
                        }
                    })
                    .collect();
                Ok(Tensor::from_vec(idx, (1, 1, outer, inner), w.device)?
                    .broadcast_as((b, nh, outer, inner))?
                    .contiguous()?)
            };
            if rel.c2p {
                let kr = proj(&kn)?;
                // q_i · Kr[δ(i, j)]
                let c2p = q.broadcast_matmul(&kr.t()?.unsqueeze(0)?)?;
                let idx = index(rows, len, true)?;
                scores = (scores + c2p.contiguous()?.gather(&idx, D::Minus1)?)?;
            }
            if rel.p2c {
                let qr = proj(&qn)?;
                // k_j · Qr[δ(i, j)]: gathered per key row j at δ(i, j), then transposed.
                let p2c = k.broadcast_matmul(&qr.t()?.unsqueeze(0)?)?;
                let idx_t = index(len, rows, false)?;
                let g = p2c.contiguous()?.gather(&idx_t, D::Minus1)?;
                scores = (scores + g.transpose(2, 3)?)?;
            }
        }
        let probs = masked_softmax(&scores, bias, 1.0 / scale)?;
        // Dropout draws as for all `len` rows (see `dropout_rows`), so a layer gets the same
        // masks whatever `rows` is.
        let probs = dropout_rows(
            &probs.reshape((b * nh, rows, len))?,
            cfg.attention_dropout,
            rng.as_deref_mut(),
            len,
        )?
        .reshape((b, nh, rows, len))?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, rows, h))?;
        let a = w.lin(&ctx, &format!("{l}.{ATTN_OUT}"))?;
        let a = dropout_rows(&a, cfg.hidden_dropout, rng.as_deref_mut(), len)?;
        let x1 = w.add_ln(&a, &xq, &format!("{l}.{ATTN_LN}"))?;
        let f = w.lin(&x1, &format!("{l}.{FFN_IN}"))?;
        let f = activation(&f, cfg.activation)?;
        let f = w.lin(&f, &format!("{l}.{FFN_OUT}"))?;
        let f = dropout_rows(&f, cfg.hidden_dropout, rng, len)?;
        w.add_ln(&f, &x1, &format!("{l}.{OUT_LN}"))
    }

    fn head(
        &self,
        w: &Weights,
        first: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let pooler_dropout = get_f64(&w.cfg.raw, "pooler_dropout", 0.0).unwrap_or(0.0) as f32;
        let x = dropout(first, pooler_dropout, rng.as_deref_mut())?;
        let pooled = gelu_erf(&w.lin(&x, POOLER)?)?;
        let z = dropout(&pooled, w.cfg.classifier_dropout, rng)?;
        let logits = w.lin(&z, CLASSIFIER)?;
        Ok((pooled, logits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_positions_are_log_bucketed_as_transformers_does() {
        // position_buckets 16, max_relative_positions 32 (the tiny fixture): the table of
        // `i − j → index` in the fixtures' README (8.4).
        let rel = Relative {
            buckets: 16,
            max_relative: 32,
            c2p: true,
            p2c: true,
            norm_rel: true,
        };
        let idx = |r: i64| {
            if r >= 0 {
                rel.index(r as usize, 0)
            } else {
                rel.index(0, (-r) as usize)
            }
        };
        let table: &[(std::ops::RangeInclusive<i64>, u32)] = &[
            (-47..=-32, 0),
            (-31..=-26, 1),
            (-25..=-22, 2),
            (-21..=-18, 3),
            (-17..=-15, 4),
            (-14..=-12, 5),
            (-11..=-10, 6),
            (10..=11, 26),
            (12..=14, 27),
            (15..=17, 28),
            (18..=21, 29),
            (22..=25, 30),
            (26..=47, 31),
        ];
        for (range, want) in table {
            for r in range.clone() {
                assert_eq!(idx(r), *want, "i - j = {r}");
            }
        }
        for r in -9..=9 {
            assert_eq!(idx(r), (r + 16) as u32, "i - j = {r}");
        }
    }

    #[test]
    fn unsupported_layouts_are_refused_with_the_reason() {
        let base = serde_json::json!({"model_type": "deberta-v2", "vocab_size": 10,
            "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 16, "relative_attention": true, "position_biased_input": false,
            "share_att_key": true, "pos_att_type": "p2c|c2p", "position_buckets": 4,
            "max_relative_positions": -1, "norm_rel_ebd": "layer_norm"});
        let cfg = ModelConfig::from_json(base.clone()).unwrap_or_else(|e| panic!("{e}"));
        let r = DebertaV2::relative(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.span(), r.max_relative, r.c2p, r.p2c),
            (4, 512, true, true)
        );
        for (key, value, says) in [
            (
                "position_biased_input",
                serde_json::json!(true),
                "position_biased_input",
            ),
            ("share_att_key", serde_json::json!(false), "share_att_key"),
            ("pos_att_type", serde_json::json!("p2p"), "'p2p'"),
            ("conv_kernel_size", serde_json::json!(3), "conv_kernel_size"),
        ] {
            let mut bad = base.clone();
            bad[key] = value;
            let err = ModelConfig::from_json(bad).err().unwrap_or_default();
            assert!(err.contains(says), "{key}: {err}");
        }
    }
}
