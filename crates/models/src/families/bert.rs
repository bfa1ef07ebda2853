//! BERT (Devlin et al. 2019; transformers `modeling_bert.py`), also MiniLM and other
//! BERT-architecture checkpoints: word + position + token-type embeddings, post-LN
//! encoder; head = pooler `tanh(dense(h₀))` → dropout → classifier.

use super::post_ln::{PostLnFamily, FROM_ZERO};
use crate::config::bert_style;
use crate::encoder::{PostLnEncoder, BERT_NAMES};
use crate::heads::{DenseHead, HeadActivation};

pub(crate) static BERT: PostLnFamily = PostLnFamily {
    model_types: &["bert"],
    hf_class: "BertForSequenceClassification",
    layers_key: "num_hidden_layers",
    read_config: |m, common| bert_style(m, common, 0),
    positions: FROM_ZERO,
    projection: None,
    encoder: PostLnEncoder {
        prefix: "bert",
        names: BERT_NAMES,
        attn_out_dropout: true,
    },
    head: DenseHead {
        dropout_first: false,
        dense: "bert.pooler.dense",
        activation: HeadActivation::Tanh,
        out: "classifier",
    },
};
