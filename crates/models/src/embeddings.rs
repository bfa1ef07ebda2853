//! The embeddings block of BERT-style encoders: word + position (+ token-type) embeddings,
//! LayerNorm, dropout, under transformers' names `{prefix}.embeddings.…`. Families choose
//! the position ids.

use candle_core::{Tensor, Var};
use rand_chacha::ChaCha8Rng;

use crate::batch::EncodedBatch;
use crate::config::ModelConfig;
use crate::fused::fusable;
use crate::grads::SparseLookup;
use crate::layers::dropout;
use crate::params::Specs;
use crate::profile::{span, Phase};
use crate::weights::Weights;
use crate::Result;

/// The parameters of the block, with tables `h` wide (the hidden size, or ELECTRA's
/// `embedding_size`).
pub(crate) fn specs_width(s: &mut Specs, prefix: &str, cfg: &ModelConfig, h: usize) {
    s.table(
        &format!("{prefix}.embeddings.word_embeddings"),
        cfg.vocab_size,
        h,
    );
    s.table(
        &format!("{prefix}.embeddings.position_embeddings"),
        cfg.max_positions,
        h,
    );
    if cfg.type_vocab_size > 0 {
        s.table(
            &format!("{prefix}.embeddings.token_type_embeddings"),
            cfg.type_vocab_size,
            h,
        );
    }
    s.layer_norm(&format!("{prefix}.embeddings.LayerNorm"), h);
}

/// Position ids 0, 1, … of every sequence (BERT, DistilBERT).
pub(crate) fn positions_from_zero(b: &EncodedBatch) -> Vec<u32> {
    (0..b.batch).flat_map(|_| 0..b.len as u32).collect()
}

/// The embedded batch `[B, L, H]` with position ids `positions`. Training on the CPU, the
/// word lookup is recorded in `lookups` so its gradient is gathered as sparse rows.
pub(crate) fn forward(
    w: &Weights,
    prefix: &str,
    b: &EncodedBatch,
    positions: Vec<u32>,
    rng: Option<&mut ChaCha8Rng>,
    lookups: &mut Vec<SparseLookup>,
) -> Result<Tensor> {
    let cfg = w.cfg;
    let p = prefix;
    let dev = w.device;
    let shape = (b.batch, b.len);
    let pos = Tensor::from_vec(positions, shape, dev)?;
    let emb_span = span("embeddings", Phase::Forward);
    let word_name = format!("{p}.embeddings.word_embeddings.weight");
    let table = w.params.t(&word_name)?;
    let words = lookup(w, &word_name, b, lookups)?;
    let posw = w.w(&format!("{p}.embeddings.position_embeddings.weight"))?;
    // The table's width: the hidden size, or ELECTRA's smaller `embedding_size`.
    let h = table.dim(1)?;
    let mut x = words.add(&posw.embedding(&pos.flatten_all()?)?)?;
    if cfg.type_vocab_size > 0 {
        let tt = Tensor::from_slice(&b.type_ids, b.ids.len(), dev)?;
        let tw = w.w(&format!("{p}.embeddings.token_type_embeddings.weight"))?;
        x = x.add(&tw.embedding(&tt)?)?;
    }
    let x = x.reshape((b.batch, b.len, h))?;
    drop(emb_span);
    let x = w.ln(&x, &format!("{p}.embeddings.LayerNorm"))?;
    dropout(&x, cfg.hidden_dropout, rng)
}

/// The rows of the table `name` for the batch's ids, `[B·L, width]`. Training on the CPU,
/// the lookup's output is an autograd leaf recorded in `lookups`, so the table's gradient
/// is gathered as sparse rows instead of a dense scatter.
pub(crate) fn lookup(
    w: &Weights,
    name: &str,
    b: &EncodedBatch,
    lookups: &mut Vec<SparseLookup>,
) -> Result<Tensor> {
    let table = w.params.t(name)?;
    let flat_ids = Tensor::from_slice(&b.ids, b.ids.len(), w.device)?;
    Ok(if w.track && fusable(&[table]) {
        let leaf = Var::from_tensor(&table.detach().embedding(&flat_ids)?)?;
        lookups.push(SparseLookup {
            param: name.to_string(),
            ids: b.ids.clone(),
            leaf: leaf.clone(),
            height: table.dim(0)?,
        });
        leaf.as_tensor().clone()
    } else {
        w.w(name)?.embedding(&flat_ids)?
    })
}
