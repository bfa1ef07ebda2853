//! The post-LN transformer encoder layer of BERT (Vaswani et al. 2017; Devlin et al. 2019):
//! self-attention, residual + LayerNorm, feed-forward, residual + LayerNorm. Families that
//! use it name its parameters ([`LayerNames`]) and say whether dropout follows the
//! attention output projection.
//!
//! On the CPU in f32 (with the exact GELU; training, or inference without int8) a layer
//! runs as one node ([`crate::layer::EncoderLayer`]) on the batch's real tokens; elsewhere
//! it is built from the separate nodes of [`crate::fused`], which compute the same.

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;

use crate::config::{Activation, ModelConfig};
use crate::fused::activation;
use crate::fused::{attention, attention_packed, kernel, linear, linear_gelu, Heads};
use crate::layer::{EncoderLayer, GradSink, LayerMasks, LayerWeights};
use crate::layers::{dropout_rows, dropout_rows_keep};
use crate::params::Specs;
use crate::weights::Weights;
use crate::Result;

/// The names of the sub-modules of one encoder layer.
pub(crate) struct LayerNames {
    pub q: &'static str,
    pub k: &'static str,
    pub v: &'static str,
    pub attn_out: &'static str,
    pub attn_ln: &'static str,
    pub ffn_in: &'static str,
    pub ffn_out: &'static str,
    pub out_ln: &'static str,
    /// The layers are `{prefix}.{layers}.{i}`.
    pub layers: &'static str,
}

/// transformers' `BertLayer` names, kept by the families derived from BERT.
pub(crate) const BERT_NAMES: LayerNames = LayerNames {
    q: "attention.self.query",
    k: "attention.self.key",
    v: "attention.self.value",
    attn_out: "attention.output.dense",
    attn_ln: "attention.output.LayerNorm",
    ffn_in: "intermediate.dense",
    ffn_out: "output.dense",
    out_ln: "output.LayerNorm",
    layers: "encoder.layer",
};

/// A stack of post-LN layers under the encoder prefix `prefix` (`bert`, …).
pub(crate) struct PostLnEncoder {
    pub prefix: &'static str,
    pub names: LayerNames,
    /// Dropout on the attention output projection (not in DistilBERT).
    pub attn_out_dropout: bool,
}

impl PostLnEncoder {
    /// The common prefix of the layers' names, `{prefix}.{layers}`.
    pub fn layers(&self) -> String {
        format!("{}.{}", self.prefix, self.names.layers)
    }

    fn layer(&self, i: usize) -> String {
        format!("{}.{i}", self.layers())
    }

    /// The parameters of every layer.
    pub fn specs(&self, s: &mut Specs, cfg: &ModelConfig) {
        let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
        let n = &self.names;
        for i in 0..cfg.num_layers {
            let l = self.layer(i);
            for part in [n.q, n.k, n.v, n.attn_out] {
                s.linear(&format!("{l}.{part}"), h, h, false);
            }
            s.layer_norm(&format!("{l}.{}", n.attn_ln), h);
            s.linear(&format!("{l}.{}", n.ffn_in), f, h, false);
            s.linear(&format!("{l}.{}", n.ffn_out), h, f, false);
            s.layer_norm(&format!("{l}.{}", n.out_ln), h);
        }
    }

    /// The linear layers int8 inference may quantize: attention projections and
    /// feed-forward of every layer.
    pub fn linear_layers(&self, cfg: &ModelConfig) -> Vec<String> {
        let n = &self.names;
        (0..cfg.num_layers)
            .flat_map(|i| {
                let l = self.layer(i);
                [n.q, n.k, n.v, n.attn_out, n.ffn_in, n.ffn_out].map(|p| format!("{l}.{p}"))
            })
            .collect()
    }

    /// The query, key and value weights (`part` = "weight") or biases of layer `l` (its
    /// name prefix) stacked in that order, for one fused QKV projection.
    fn stack_qkv(&self, w: &Weights, l: &str, part: &str, track: bool) -> Result<Tensor> {
        let n = &self.names;
        let ts = [n.q, n.k, n.v]
            .map(|p| w.w_as(&format!("{l}.{p}.{part}"), track))
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&ts, 0)?)
    }

    /// The parameters of layer `l` (its name prefix) for the one-node layer, detached
    /// (their gradients go to the node's sink), with the names those gradients are filed
    /// under.
    pub(crate) fn layer_weights(&self, w: &Weights, l: &str) -> Result<LayerWeights> {
        let n = &self.names;
        let pair = |p: &str| -> Result<(Tensor, Tensor)> {
            Ok((
                w.w_as(&format!("{l}.{p}.weight"), false)?,
                w.w_as(&format!("{l}.{p}.bias"), false)?,
            ))
        };
        let all = [
            n.q, n.k, n.v, n.attn_out, n.attn_ln, n.ffn_in, n.ffn_out, n.out_ln,
        ];
        Ok(LayerWeights {
            qkv: (
                self.stack_qkv(w, l, "weight", false)?,
                self.stack_qkv(w, l, "bias", false)?,
            ),
            attn_out: pair(n.attn_out)?,
            ln1: pair(n.attn_ln)?,
            ffn_in: pair(n.ffn_in)?,
            ffn_out: pair(n.ffn_out)?,
            ln2: pair(n.out_ln)?,
            names: all.map(|p| format!("{l}.{p}")),
            eps: w.cfg.layer_norm_eps as f32,
        })
    }

    /// Encoder layer `i` on `x [B, L, H]`, with the additive attention `bias`, returning
    /// the first `rows` rows of each sequence's output, `[B, rows, H]`: queries, output
    /// projection and feed-forward run on those rows only, keys and values on all `L`.
    /// Dropout draws from `rng` in a fixed order, the same for any `rows` (the masks of the
    /// rows not computed are drawn and dropped), so a layer rerun from a saved generator
    /// state gets the same masks.
    ///
    /// On the CPU in f32 with the exact GELU (training, or inference without int8) the
    /// layer runs as one node ([`EncoderLayer`]) whose parameter gradients go to `sink`,
    /// on the real tokens only unless `w.unpadded` is off; elsewhere it is built from the
    /// separate nodes, which compute the same.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
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
        let track = w.track;
        let names = &self.names;
        let (batch, len, h) = x.dims3()?;
        let (nh, dh) = (cfg.num_heads, h / cfg.num_heads);
        let scale = 1.0 / (dh as f64).sqrt();
        let l = self.layer(i);
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
        let parts = [
            names.q,
            names.k,
            names.v,
            names.attn_out,
            names.ffn_in,
            names.ffn_out,
        ];
        if w.one_node(x, &l, &parts) {
            let dims = (batch, rows, h);
            let p = cfg.hidden_dropout;
            let attn_out = if self.attn_out_dropout {
                dropout_rows_keep(dims, p, rng.as_deref_mut(), len)
            } else {
                None
            };
            let masks = LayerMasks {
                attn_out,
                ffn_out: dropout_rows_keep(dims, p, rng, len),
            };
            let weights = self.layer_weights(w, &l)?;
            let op =
                EncoderLayer::new(weights, kernel(bias, hs, keep, track)?, masks, sink.clone())
                    .unpadded(w.unpadded, len);
            return Ok(x.contiguous()?.apply_op1(op)?);
        }
        // int8 inference keeps three quantized projections; otherwise one fused QKV
        // projection feeds a packed attention node.
        let qkv = if w.quantized(&qn).is_some() {
            None
        } else {
            let (wq, bq) = (
                self.stack_qkv(w, &l, "weight", track)?,
                self.stack_qkv(w, &l, "bias", track)?,
            );
            Some(linear(x, &wq, &bq)?)
        };
        let ctx = match qkv {
            Some(qkv) => attention_packed(&qkv, bias, hs, keep)?,
            None => {
                let q = w.lin(x, &qn)?;
                let k = w.lin(x, &kn)?;
                let v = w.lin(x, &vn)?;
                attention(&q, &k, &v, bias, hs, keep)?
            }
        };
        let x = if rows < len {
            x.narrow(1, 0, rows)?
        } else {
            x.clone()
        };
        let mut attn = w.lin(&ctx, &format!("{l}.{}", names.attn_out))?;
        if self.attn_out_dropout {
            attn = dropout_rows(&attn, cfg.hidden_dropout, rng.as_deref_mut(), len)?;
        }
        let x1 = w.add_ln(&attn, &x, &format!("{l}.{}", names.attn_ln))?;
        let one_node = cfg.activation == Activation::GeluErf && w.quantized(&ffn_in).is_none();
        let f = if one_node {
            // One node for the projection and its activation (see `fused::linear_gelu`).
            linear_gelu(
                &x1,
                &w.w(&format!("{ffn_in}.weight"))?,
                &w.w(&format!("{ffn_in}.bias"))?,
            )?
        } else {
            activation(&w.lin(&x1, &ffn_in)?, cfg.activation)?
        };
        let f = dropout_rows(
            &w.lin(&f, &format!("{l}.{}", names.ffn_out))?,
            cfg.hidden_dropout,
            rng,
            len,
        )?;
        w.add_ln(&f, &x1, &format!("{l}.{}", names.out_ln))
    }
}
