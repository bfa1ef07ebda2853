//! ELECTRA's discriminator (Clark et al. 2020; transformers `modeling_electra.py`): BERT's
//! embeddings at `embedding_size` (LayerNorm and dropout at that width), projected to the
//! hidden size by `embeddings_project` when the two differ; BERT's post-LN encoder; head =
//! dropout → `gelu(classifier.dense(h₀))` → dropout → `classifier.out_proj` (the GELU is
//! hard-coded in transformers, whatever `hidden_act` says).

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{bert_style, get_usize, Common, ModelConfig};
use crate::embeddings;
use crate::encoder::{PostLnEncoder, BERT_NAMES};
use crate::family::Family;
use crate::grads::SparseLookup;
use crate::heads::{DenseHead, HeadActivation};
use crate::layer::GradSink;
use crate::params::{ParamSpec, Specs};
use crate::weights::Weights;
use crate::Result;

pub(crate) struct Electra;

const PREFIX: &str = "electra";

const PROJECT: &str = "electra.embeddings_project";

const ENCODER: PostLnEncoder = PostLnEncoder {
    prefix: PREFIX,
    names: BERT_NAMES,
    attn_out_dropout: true,
};

const HEAD: DenseHead = DenseHead {
    dropout_first: true,
    dense: "classifier.dense",
    activation: HeadActivation::Gelu,
    out: "classifier.out_proj",
};

/// The width of the embedding tables (`embedding_size`, default the hidden size).
fn embedding_size(cfg: &ModelConfig) -> usize {
    get_usize(&cfg.raw, "embedding_size", Some(cfg.hidden_size)).unwrap_or(cfg.hidden_size)
}

impl Family for Electra {
    fn model_types(&self) -> &'static [&'static str] {
        &["electra"]
    }

    fn hf_class(&self) -> &'static str {
        "ElectraForSequenceClassification"
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        let hidden = get_usize(&m, "hidden_size", None)?;
        let e = get_usize(&m, "embedding_size", Some(hidden))?;
        if e == 0 {
            return Err("'embedding_size' must be positive".into());
        }
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
        let e = embedding_size(cfg);
        embeddings::specs_width(&mut s, PREFIX, cfg, e);
        if e != cfg.hidden_size {
            s.linear(PROJECT, cfg.hidden_size, e, false);
        }
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
        let x = embeddings::forward(w, PREFIX, b, positions, rng, lookups)?;
        if embedding_size(w.cfg) != w.cfg.hidden_size {
            w.lin(&x, PROJECT)
        } else {
            Ok(x)
        }
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
