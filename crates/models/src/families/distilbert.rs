//! DistilBERT (Sanh et al. 2019; transformers `modeling_distilbert.py`): its own config
//! keys and layer names, no token types, no dropout after the attention output
//! projection; head = `relu(pre_classifier(h₀))` → dropout → classifier.

use serde_json::{Map, Value};

use super::post_ln::{PostLnFamily, FROM_ZERO};
use crate::config::{get_activation, get_f64, get_usize, Common, ModelConfig};
use crate::encoder::{LayerNames, PostLnEncoder};
use crate::heads::{DenseHead, HeadActivation};

pub(crate) static DISTILBERT: PostLnFamily = PostLnFamily {
    model_types: &["distilbert"],
    hf_class: "DistilBertForSequenceClassification",
    layers_key: "n_layers",
    read_config,
    positions: FROM_ZERO,
    projection: None,
    encoder: PostLnEncoder {
        prefix: "distilbert",
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
    },
    head: DenseHead {
        dropout_first: false,
        dense: "pre_classifier",
        activation: HeadActivation::Relu,
        out: "classifier",
    },
};

fn read_config(m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
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
