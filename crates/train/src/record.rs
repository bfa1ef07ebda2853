//! What training reports: one [`EpochRecord`] per validation, the [`TrainOutcome`] and
//! the weight average's figures ([`AveragedRecord`]).

use serde::{Deserialize, Serialize};

// One validation and the weight average are recorded as they are in a run's
// `metrics.json`: the trainer makes the record's own types.
pub use textclf_runs::{AveragedRecord, EpochRecord};

/// How the run ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOutcome {
    pub history: Vec<EpochRecord>,
    /// Index into `history` of the best validation by the monitor.
    pub best: Option<usize>,
    pub stopped_early: bool,
    pub steps: u64,
    /// The validation accuracy at the evaluation with the lowest validation loss.
    pub val_accuracy_at_min_val_loss: Option<f64>,
    pub restored_best_weights: bool,
    /// The averaged weights, when `average_from` was set.
    #[serde(default)]
    pub averaged: Option<AveragedRecord>,
    /// Multi-label with validation data: each label's decision threshold, tuned on the
    /// validation split after training (the weights the run ends with) to maximise that
    /// label's F1 (`textclf_eval::tune_thresholds`; a label without a positive validation
    /// row keeps 0.5). Apply them to the sigmoid scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<textclf_eval::Thresholds>,
}
