//! Inference over tokenized sequences (logits in length-sorted batches) and validation;
//! used by the training loop and by [`crate::TransformerClassifier`], which therefore does
//! not depend on the trainer.

use textclf_core::{Dataset, Predictions, Targets};
use textclf_eval::{evaluate, EvalOptions};
use textclf_models::SequenceClassifier;

use crate::batch::{collate_typed, eval_batches, Padding};
use crate::objective::{multi_label_figures, regression_figures, ValFigures};
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
    batched_logits_typed(model, encoder, seqs, None, batch_size)
}

/// [`batched_logits`] with each sequence's token types (the segments of sentence pairs,
/// from [`TextEncoder::encode_pair_batch`]).
pub fn batched_logits_typed(
    model: &SequenceClassifier,
    encoder: &TextEncoder,
    seqs: &[Vec<u32>],
    types: Option<&[Vec<u32>]>,
    batch_size: usize,
) -> Result<Vec<f32>> {
    let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let k = model.num_labels;
    let mut logits = vec![0f32; seqs.len() * k];
    for idx in eval_batches(&lens, batch_size) {
        let b = collate_typed(
            seqs,
            types,
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
    let logits = batched_logits(model, encoder, seqs, batch_size)?;
    figures_of_logits(logits, labels, label_set)
}

/// Loss, accuracy and macro-F1 of single-label `logits` against `labels`.
fn figures_of_logits(
    logits: Vec<f32>,
    labels: &[usize],
    label_set: &textclf_core::LabelSet,
) -> Result<(f64, f64, f64)> {
    let k = label_set.len();
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
    /// Token types of sentence pairs.
    pub types: Option<&'a [Vec<u32>]>,
    /// Class ids of single-label data (empty otherwise).
    pub labels: &'a [usize],
}

impl Validation<'_> {
    /// The model's figures on the validation split, by its task (see
    /// [`crate::objective`]); all NaN without one. Single-label figures are [`validate`]'s.
    pub fn figures(
        &self,
        model: &SequenceClassifier,
        encoder: &TextEncoder,
        batch_size: usize,
    ) -> Result<ValFigures> {
        let (Some(v), Some(s)) = (self.data, self.seqs) else {
            return Ok(ValFigures::NONE);
        };
        if let Targets::Classes(_) = v.targets {
            if self.types.is_none() {
                let (loss, accuracy, macro_f1) =
                    validate(model, s, self.labels, &v.label_set, encoder, batch_size)?;
                return Ok(ValFigures {
                    loss,
                    accuracy,
                    macro_f1,
                    micro_f1: None,
                    pearson: None,
                });
            }
        }
        let logits = batched_logits_typed(model, encoder, s, self.types, batch_size)?;
        Ok(match &v.targets {
            Targets::Classes(_) => {
                let (loss, accuracy, macro_f1) =
                    figures_of_logits(logits, self.labels, &v.label_set)?;
                ValFigures {
                    loss,
                    accuracy,
                    macro_f1,
                    micro_f1: None,
                    pearson: None,
                }
            }
            Targets::LabelSets(sets) => multi_label_figures(&logits, sets, model.num_labels),
            Targets::Scores(gold) => regression_figures(&logits, gold),
        })
    }
}
