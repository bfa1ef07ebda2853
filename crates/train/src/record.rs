//! What training reports: one [`EvalRecord`] per validation, the [`TrainOutcome`] and
//! the weight average's figures.

use serde::{Deserialize, Serialize};

/// JSON has no NaN (serde_json writes it as null): read null back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One validation (at an epoch end, or every N steps). Without validation data the
/// `val_*` fields are NaN (null in JSON).
///
/// By task (see [`crate::objective`]): `val_loss` is cross-entropy, BCE or MSE;
/// `val_accuracy` and `val_macro_f1` are accuracy and macro-F1 (single-label), subset
/// accuracy and macro-F1 at threshold 0.5 (multi-label) or NaN (regression);
/// `train_accuracy` is likewise the share of exactly right training rows (NaN for
/// regression).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalRecord {
    pub epoch: usize,
    pub step: u64,
    /// True at the end of an epoch (false for a mid-epoch validation).
    pub epoch_end: bool,
    pub train_loss: f64,
    pub train_accuracy: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_accuracy: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_macro_f1: f64,
    /// Multi-label: micro-F1 with every label at threshold 0.5 (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_micro_f1: Option<f64>,
    /// Regression: Pearson's r (absent for other tasks; null when not a number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_pearson: Option<f64>,
    pub lr: f64,
    /// Training time of the epoch so far (validation excluded).
    pub train_seconds: f64,
    pub samples_per_s: f64,
    pub tokens_per_s: f64,
    /// Share of padded positions in the epoch's batches.
    pub padding_waste: f64,
}

/// How the run ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOutcome {
    pub history: Vec<EvalRecord>,
    /// Index into `history` of the best validation by the monitor.
    pub best: Option<usize>,
    pub stopped_early: bool,
    pub steps: u64,
    /// The validation accuracy at the evaluation with the lowest validation loss.
    pub val_accuracy_at_min_val_loss: Option<f64>,
    pub restored_best_weights: bool,
    /// The averaged weights, when `average_from` was set.
    #[serde(default)]
    pub averaged: Option<AveragedWeights>,
    /// Multi-label with validation data: each label's decision threshold, tuned on the
    /// validation split after training (the weights the run ends with) to maximise that
    /// label's F1 (`textclf_eval::tune_thresholds`; a label without a positive validation
    /// row keeps 0.5). Apply them to the sigmoid scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<textclf_eval::Thresholds>,
}

/// The weight average of a run (see [`TrainConfig::average_from`]) and its validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AveragedWeights {
    /// The first optimizer step whose validation point entered the average.
    pub from_step: u64,
    /// How many validation points were averaged.
    pub count: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_accuracy: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_macro_f1: f64,
    /// Multi-label micro-F1 at threshold 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_micro_f1: Option<f64>,
    /// Regression: Pearson's r.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_pearson: Option<f64>,
    /// True when the run ends with the averaged weights: they validated better than the
    /// best single checkpoint, or there was no validation data to compare on.
    pub kept: bool,
}
