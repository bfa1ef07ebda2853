//! Inference over tokenized sequences (logits in length-sorted batches) and validation;
//! used by the training loop and by [`crate::TransformerClassifier`], which therefore does
//! not depend on the trainer.

use textclf_core::{Dataset, Predictions};
use textclf_eval::{evaluate, EvalOptions};
use textclf_models::SequenceClassifier;

use crate::batch::{collate, eval_batches, Padding};
use crate::tokenize::TextEncoder;
use crate::{Result, TrainError};

/// Logits of already tokenized sequences (`seqs.len() × num_labels`, input order), in
/// length-sorted batches with dynamic padding and no autograd bookkeeping.
pub fn batched_logits(
    model: &SequenceClassifier,
    encoder: &TextEncoder,
    seqs: &[Vec<u32>],
    batch_size: usize,
) -> Result<Vec<f32>> {
    let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let k = model.num_labels;
    let mut logits = vec![0f32; seqs.len() * k];
    for idx in eval_batches(&lens, batch_size) {
        let b = collate(
            seqs,
            &idx,
            encoder.pad_id(),
            Padding::Dynamic,
            encoder.max_len(),
        );
        let l: Vec<f32> = model.infer(&b)?.flatten_all()?.to_vec1()?;
        for (r, &i) in idx.iter().enumerate() {
            logits[i * k..(i + 1) * k].copy_from_slice(&l[r * k..(r + 1) * k]);
        }
    }
    Ok(logits)
}

/// Validation loss, accuracy and macro-F1 (loss unweighted, as reported by Keras/HF).
pub fn validate(
    model: &SequenceClassifier,
    seqs: &[Vec<u32>],
    labels: &[usize],
    label_set: &textclf_core::LabelSet,
    encoder: &TextEncoder,
    batch_size: usize,
) -> Result<(f64, f64, f64)> {
    let k = label_set.len();
    let logits = batched_logits(model, encoder, seqs, batch_size)?;
    // Cross-entropy from the logits in f64: log Σ exp(z) − z_y.
    let loss = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let row = &logits[i * k..(i + 1) * k];
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = m + row.iter().map(|&z| (z as f64 - m).exp()).sum::<f64>().ln();
            lse - row[y] as f64
        })
        .sum::<f64>()
        / labels.len().max(1) as f64;
    let probs = Predictions::from_logits(k, logits).map_err(|e| TrainError::Data(e.to_string()))?;
    let opts = EvalOptions {
        bootstrap: 0,
        ..EvalOptions::default()
    };
    let r = evaluate(labels, &probs, label_set, &opts)?;
    Ok((loss, r.accuracy, r.macro_f1))
}

/// The validation split, tokenized (all `None` / empty without one).
#[derive(Clone, Copy)]
pub(crate) struct Validation<'a> {
    pub data: Option<&'a Dataset>,
    pub seqs: Option<&'a [Vec<u32>]>,
    pub labels: &'a [usize],
}
