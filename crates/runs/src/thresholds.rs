//! The decision thresholds a multi-label run records (`thresholds` in a fine-tuned run's
//! `metrics.json`, and in a saved model's `textclf.json`); `textclf-eval` tunes them.

use serde::{Deserialize, Serialize};
use textclf_core::LabelSet;

/// The threshold of one label.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LabelThreshold {
    pub label: String,
    /// Scores at or above this predict the label.
    pub threshold: f32,
    /// F1 of the label on the tuning rows with this threshold.
    pub f1: f64,
    /// False when the tuning rows held no positive of the label and the fallback was
    /// kept.
    pub tuned: bool,
}

/// Decision thresholds of every label, with how they were chosen; what a run records.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// `"per-label"` (each label's F1 maximised), `"global"` (one threshold maximising
    /// micro F1) or `"fixed"`.
    pub method: String,
    /// Micro F1 on the tuning rows with these thresholds (`None` for `"fixed"`).
    pub micro_f1: Option<f64>,
    /// One per label, by label id.
    pub labels: Vec<LabelThreshold>,
}

impl Thresholds {
    /// The same threshold `t` for every label, not tuned (e.g. 0.5).
    pub fn fixed(labels: &LabelSet, t: f32) -> Self {
        Self {
            method: "fixed".into(),
            micro_f1: None,
            labels: labels
                .names()
                .iter()
                .map(|l| LabelThreshold {
                    label: l.clone(),
                    threshold: t,
                    f1: 0.0,
                    tuned: false,
                })
                .collect(),
        }
    }

    /// The threshold of every label, by label id.
    pub fn values(&self) -> Vec<f32> {
        self.labels.iter().map(|l| l.threshold).collect()
    }
}
