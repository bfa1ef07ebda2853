//! RoBERTa (Liu et al. 2019; transformers `modeling_roberta.py`), also XLM-RoBERTa: BERT's
//! encoder and config keys; positions start at `pad + 1` and skip padding; head = dropout
//! → `tanh(dense(h₀))` → dropout → `out_proj`.

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{bert_style, Common, ModelConfig};
use crate::embeddings;
use crate::encoder::{PostLnEncoder, BERT_NAMES};
use crate::family::Family;
use crate::grads::SparseLookup;
use crate::heads::{DenseHead, HeadActivation};
use crate::layer::GradSink;
use crate::params::{ParamSpec, Specs};
use crate::weights::Weights;
use crate::Result;

pub(crate) struct Roberta;

const PREFIX: &str = "roberta";

const ENCODER: PostLnEncoder = PostLnEncoder {
    prefix: PREFIX,
    names: BERT_NAMES,
    attn_out_dropout: true,
};

const HEAD: DenseHead = DenseHead {
    dropout_first: true,
    dense: "classifier.dense",
    activation: HeadActivation::Tanh,
    out: "classifier.out_proj",
};

impl Family for Roberta {
    fn model_types(&self) -> &'static [&'static str] {
        &["roberta", "xlm-roberta"]
    }

    fn hf_class(&self) -> &'static str {
        "RobertaForSequenceClassification"
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        bert_style(m, common, 1)
    }

    /// The positions `pad + 1 ..= pad + L` need `pad + 1` more rows than tokens.
    fn max_tokens(&self, cfg: &ModelConfig) -> usize {
        cfg.max_positions
            .saturating_sub(cfg.pad_token_id as usize + 1)
    }

    fn prefix(&self) -> &'static str {
        PREFIX
    }

    fn layers(&self) -> String {
        ENCODER.layers()
    }

    fn param_specs(&self, cfg: &ModelConfig, num_labels: usize) -> Vec<ParamSpec> {
        let mut s = Specs::default();
        embeddings::specs(&mut s, PREFIX, cfg);
        ENCODER.specs(&mut s, cfg);
        HEAD.specs(&mut s, cfg.hidden_size, num_labels);
        s.into_vec()
    }

    fn linear_layers(&self, cfg: &ModelConfig) -> Vec<String> {
        ENCODER.linear_layers(cfg)
    }

    fn embed(
        &self,
        w: &Weights,
        b: &EncodedBatch,
        rng: Option<&mut ChaCha8Rng>,
        lookups: &mut Vec<SparseLookup>,
    ) -> Result<Tensor> {
        let positions = positions_after_pad(b, w.cfg.pad_token_id);
        embeddings::forward(w, PREFIX, b, positions, rng, lookups)
    }

    fn encoder_layer(
        &self,
        w: &Weights,
        i: usize,
        x: &Tensor,
        bias: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
        rows: usize,
        sink: &GradSink,
    ) -> Result<Tensor> {
        ENCODER.forward(w, i, x, bias, rng, rows, sink)
    }

    fn head(
        &self,
        w: &Weights,
        first: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Tensor, Tensor)> {
        HEAD.forward(w, first, rng)
    }
}

/// Position ids of RoBERTa: real tokens are counted from `pad + 1`, padding gets `pad`.
fn positions_after_pad(b: &EncodedBatch, pad: u32) -> Vec<u32> {
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
