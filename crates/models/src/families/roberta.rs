//! RoBERTa (Liu et al. 2019; transformers `modeling_roberta.py`), also XLM-RoBERTa: BERT's
//! encoder and config keys; positions start at `pad + 1` and skip padding; head = dropout
//! → `tanh(dense(h₀))` → dropout → `out_proj`.

use super::post_ln::{Positions, PostLnFamily};
use crate::batch::EncodedBatch;
use crate::config::bert_style;
use crate::encoder::{PostLnEncoder, BERT_NAMES};
use crate::heads::{DenseHead, HeadActivation};

pub(crate) static ROBERTA: PostLnFamily = PostLnFamily {
    model_types: &["roberta", "xlm-roberta"],
    hf_class: "RobertaForSequenceClassification",
    layers_key: "num_hidden_layers",
    read_config: |m, common| bert_style(m, common, 1),
    positions: Positions {
        ids: |b, cfg| positions_after_pad(b, cfg.pad_token_id),
        // The positions `pad + 1 ..= pad + L` need `pad + 1` more rows than tokens.
        max_tokens: |cfg| {
            cfg.max_positions
                .saturating_sub(cfg.pad_token_id as usize + 1)
        },
    },
    projection: None,
    encoder: PostLnEncoder {
        prefix: "roberta",
        names: BERT_NAMES,
        attn_out_dropout: true,
    },
    head: DenseHead {
        dropout_first: true,
        dense: "classifier.dense",
        activation: HeadActivation::Tanh,
        out: "classifier.out_proj",
    },
};

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
