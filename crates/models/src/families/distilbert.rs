//! DistilBERT (Sanh et al. 2019; transformers `modeling_distilbert.py`): its own config
//! keys and layer names, no token types, no dropout after the attention output
//! projection; head = `relu(pre_classifier(h₀))` → dropout → classifier.

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{get_activation, get_f64, get_usize, Common, ModelConfig};
use crate::embeddings;
use crate::encoder::{LayerNames, PostLnEncoder};
use crate::family::Family;
use crate::grads::SparseLookup;
use crate::heads::{DenseHead, HeadActivation};
use crate::layer::GradSink;
use crate::params::{ParamSpec, Specs};
use crate::weights::Weights;
use crate::Result;

pub(crate) struct DistilBert;

const PREFIX: &str = "distilbert";

const ENCODER: PostLnEncoder = PostLnEncoder {
    prefix: PREFIX,
    names: LayerNames {
        q: "attention.q_lin",
        k: "attention.k_lin",
        v: "attention.v_lin",
        attn_out: "attention.out_lin",
        attn_ln: "sa_layer_norm",
        ffn_in: "ffn.lin1",
        ffn_out: "ffn.lin2",
        out_ln: "output_layer_norm",
        layers: "transformer.layer",
    },
    attn_out_dropout: false,
};

const HEAD: DenseHead = DenseHead {
    dropout_first: false,
    dense: "pre_classifier",
    activation: HeadActivation::Relu,
    out: "classifier",
};

impl Family for DistilBert {
    fn model_types(&self) -> &'static [&'static str] {
        &["distilbert"]
    }

    fn hf_class(&self) -> &'static str {
        "DistilBertForSequenceClassification"
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        if m.get("sinusoidal_pos_embds").and_then(Value::as_bool) == Some(true) {
            return Err("DistilBERT with sinusoidal position embeddings is not supported".into());
        }
        Ok(ModelConfig {
            vocab_size: get_usize(&m, "vocab_size", None)?,
            hidden_size: get_usize(&m, "dim", None)?,
            num_layers: get_usize(&m, "n_layers", None)?,
            num_heads: get_usize(&m, "n_heads", None)?,
            intermediate_size: get_usize(&m, "hidden_dim", None)?,
            max_positions: get_usize(&m, "max_position_embeddings", Some(512))?,
            type_vocab_size: 0,
            layer_norm_eps: 1e-12,
            pad_token_id: get_usize(&m, "pad_token_id", Some(0))? as u32,
            hidden_dropout: get_f64(&m, "dropout", 0.1)? as f32,
            attention_dropout: get_f64(&m, "attention_dropout", 0.1)? as f32,
            classifier_dropout: get_f64(&m, "seq_classif_dropout", 0.2)? as f32,
            activation: get_activation(&m, "activation")?,
            initializer_range: get_f64(&m, "initializer_range", 0.02)?,
            id2label: common.id2label,
            model_type: common.model_type,
            raw: m,
        })
    }

    fn layers_key(&self) -> &'static str {
        "n_layers"
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
