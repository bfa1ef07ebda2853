//! Training settings: [`TrainConfig`], early stopping and what it monitors.

use serde::{Deserialize, Serialize};

use crate::batch::Padding;
use crate::optim::AdamWConfig;
use crate::{Result, TrainError};

use crate::objective::ValFigures;
use crate::record::EvalRecord;

/// What early stopping (and the choice of the best weights) watches.
///
/// Every task has a validation loss (cross-entropy, BCE or MSE: see
/// [`crate::objective`]), the default. `ValAccuracy` and `ValMacroF1` are the single-label
/// figures (for multi-label: subset accuracy and macro-F1 at threshold 0.5; they do not
/// exist for regression). `ValScore` is the task's score: accuracy (single-label),
/// micro-F1 with every label at threshold 0.5 (multi-label), Pearson's r (regression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
    ValMacroF1,
    ValScore,
}

impl Monitor {
    pub(crate) fn value(self, r: &EvalRecord) -> f64 {
        self.pick(&ValFigures {
            loss: r.val_loss,
            accuracy: r.val_accuracy,
            macro_f1: r.val_macro_f1,
            micro_f1: r.val_micro_f1,
            pearson: r.val_pearson,
        })
    }

    /// The watched figure of a validation.
    pub(crate) fn pick(self, f: &ValFigures) -> f64 {
        match self {
            Monitor::ValLoss => f.loss,
            Monitor::ValAccuracy => f.accuracy,
            Monitor::ValMacroF1 => f.macro_f1,
            Monitor::ValScore => f.score(),
        }
    }

    /// Whether `new` beats `best` by more than `min_delta`; a figure that is not a number
    /// (Pearson's r of constant predictions) never does, and any number beats one.
    pub(crate) fn better(self, new: f64, best: f64, min_delta: f64) -> bool {
        if best.is_nan() {
            return !new.is_nan();
        }
        match self {
            Monitor::ValLoss => new < best - min_delta,
            _ => new > best + min_delta,
        }
    }
}

/// `--monitor val-loss|val-accuracy|val-macro-f1`. The command line does not offer
/// [`Monitor::ValScore`] yet (it is not among [`Choices::VALUES`](textclf_core::Choices)).
impl textclf_core::Choices for Monitor {
    const VALUES: &'static [Monitor] =
        &[Monitor::ValLoss, Monitor::ValAccuracy, Monitor::ValMacroF1];

    fn name(self) -> &'static str {
        match self {
            Monitor::ValLoss => "val-loss",
            Monitor::ValAccuracy => "val-accuracy",
            Monitor::ValMacroF1 => "val-macro-f1",
            Monitor::ValScore => "val-score",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    pub patience: usize,
    pub min_delta: f64,
}

/// Every setting of a fine-tuning run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub lr: f64,
    pub adamw: AdamWConfig,
    pub warmup_ratio: f64,
    pub grad_clip: Option<f64>,
    pub grad_accum: usize,
    pub seed: u64,
    pub padding: Padding,
    pub bucketed: bool,
    /// Also validate every N optimizer steps (besides every epoch end).
    pub eval_every_steps: Option<u64>,
    /// Also checkpoint every N optimizer steps (besides every epoch end).
    pub checkpoint_every_steps: Option<u64>,
    pub early_stopping: Option<EarlyStopping>,
    /// Single-label: one weight per class (the loss is `Σ w_y·ℓ / Σ w_y`). Multi-label:
    /// one positive weight per label, torch's `pos_weight` (see
    /// [`crate::balanced_pos_weights`] for `--class-weights balanced`). Not for regression.
    pub class_weights: Option<Vec<f32>>,
    /// Average the weights of every validation point (epoch ends and every
    /// `eval_every_steps`) from this fraction of the optimizer steps on, in the manner of
    /// stochastic weight averaging (Izmailov et al. 2018). At the end the average is
    /// validated and kept when it beats the best single checkpoint on the monitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_from: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 32,
            eval_batch_size: 64,
            lr: 2e-5,
            adamw: AdamWConfig::default(),
            warmup_ratio: 0.1,
            grad_clip: Some(1.0),
            grad_accum: 1,
            seed: 42,
            padding: Padding::Dynamic,
            bucketed: true,
            eval_every_steps: None,
            checkpoint_every_steps: None,
            early_stopping: Some(EarlyStopping {
                monitor: Monitor::ValLoss,
                patience: 2,
                min_delta: 0.0,
            }),
            class_weights: None,
            average_from: None,
        }
    }
}

impl TrainConfig {
    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(TrainError::Config(m.to_string()));
        if self.epochs == 0
            || self.batch_size == 0
            || self.eval_batch_size == 0
            || self.grad_accum == 0
        {
            return bad(
                "epochs, batch size, eval batch size and gradient accumulation must be at least 1",
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("the learning rate must be a positive number (e.g. --lr 2e-5)");
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            return bad("--warmup-ratio must be in [0, 1)");
        }
        if !(self.adamw.weight_decay.is_finite() && self.adamw.weight_decay >= 0.0) {
            return bad("weight decay must be a number ≥ 0");
        }
        if self
            .early_stopping
            .is_some_and(|e| !(e.min_delta.is_finite() && e.min_delta >= 0.0))
        {
            return bad("--min-delta must be a number ≥ 0");
        }
        if self.average_from.is_some_and(|f| !(0.0..1.0).contains(&f)) {
            return bad("--average-from must be a fraction of training in [0, 1), e.g. 0.5");
        }
        if self.grad_clip.is_some_and(|c| c.is_nan() || c <= 0.0) {
            return bad("gradient clipping norm must be positive");
        }
        if let Some(w) = &self.class_weights {
            if w.iter().any(|x| x.is_nan() || *x <= 0.0) {
                return bad("class weights must be positive");
            }
        }
        Ok(())
    }
}
