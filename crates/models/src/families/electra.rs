//! ELECTRA's discriminator (Clark et al. 2020; transformers `modeling_electra.py`): BERT's
//! embeddings at `embedding_size` (LayerNorm and dropout at that width), projected to the
//! hidden size by `embeddings_project` when the two differ; BERT's post-LN encoder; head =
//! dropout → `gelu(classifier.dense(h₀))` → dropout → `classifier.out_proj` (the GELU is
//! hard-coded in transformers, whatever `hidden_act` says).

use serde_json::{Map, Value};

use super::post_ln::{PostLnFamily, Projection, FROM_ZERO};
use crate::config::{bert_style, get_usize, Common, ModelConfig};
use crate::encoder::{PostLnEncoder, BERT_NAMES};
use crate::heads::{DenseHead, HeadActivation};

pub(crate) static ELECTRA: PostLnFamily = PostLnFamily {
    model_types: &["electra"],
    hf_class: "ElectraForSequenceClassification",
    layers_key: "num_hidden_layers",
    read_config,
    positions: FROM_ZERO,
    projection: Some(Projection {
        width: embedding_size,
        name: "electra.embeddings_project",
    }),
    encoder: PostLnEncoder {
        prefix: "electra",
        names: BERT_NAMES,
        attn_out_dropout: true,
    },
    head: DenseHead {
        dropout_first: true,
        dense: "classifier.dense",
        activation: HeadActivation::Gelu,
        out: "classifier.out_proj",
    },
};

fn read_config(m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
    let hidden = get_usize(&m, "hidden_size", None)?;
    let e = get_usize(&m, "embedding_size", Some(hidden))?;
    if e == 0 {
        return Err("'embedding_size' must be positive".into());
    }
    bert_style(m, common, 0)
}

/// The width of the embedding tables (`embedding_size`, default the hidden size).
fn embedding_size(cfg: &ModelConfig) -> usize {
    get_usize(&cfg.raw, "embedding_size", Some(cfg.hidden_size)).unwrap_or(cfg.hidden_size)
}
