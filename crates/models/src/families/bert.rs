//! BERT (Devlin et al. 2019; transformers `modeling_bert.py`), also MiniLM and other
//! BERT-architecture checkpoints: word + position + token-type embeddings, post-LN
//! encoder; head = pooler `tanh(dense(h₀))` → dropout → classifier.

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

pub(crate) struct Bert;

const PREFIX: &str = "bert";

const ENCODER: PostLnEncoder = PostLnEncoder {
    prefix: PREFIX,
    names: BERT_NAMES,
    attn_out_dropout: true,
};

const HEAD: DenseHead = DenseHead {
    dropout_first: false,
    dense: "bert.pooler.dense",
    activation: HeadActivation::Tanh,
    out: "classifier",
};

impl Family for Bert {
    fn model_types(&self) -> &'static [&'static str] {
        &["bert"]
    }

    fn hf_class(&self) -> &'static str {
        "BertForSequenceClassification"
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        bert_style(m, common, 0)
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
        let positions = embeddings::positions_from_zero(b);
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
