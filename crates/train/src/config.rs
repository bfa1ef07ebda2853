//! Training settings: [`TrainConfig`], early stopping and what it monitors. The types are
//! declared in `textclf-settings` (a run's `metrics.json` records them as they are); what
//! the trainer computes with them lives here.

pub use textclf_settings::train::{EarlyStopping, Monitor, TrainConfig};

use crate::objective::ValFigures;
use crate::record::EpochRecord;

/// How the trainer reads the figure a [`Monitor`] watches, and when it improved.
pub(crate) trait Watch: Copy {
    /// The watched figure of a validation record.
    fn value(self, r: &EpochRecord) -> f64;
    /// The watched figure of a validation.
    fn pick(self, f: &ValFigures) -> f64;
    /// Whether `new` beats `best` by more than `min_delta`; a figure that is not a number
    /// (Pearson's r of constant predictions) never does, and any number beats one.
    fn better(self, new: f64, best: f64, min_delta: f64) -> bool;
}

impl Watch for Monitor {
    fn value(self, r: &EpochRecord) -> f64 {
        self.pick(&ValFigures {
            loss: r.val_loss,
            accuracy: r.val_accuracy,
            macro_f1: r.val_macro_f1,
            micro_f1: r.val_micro_f1,
            pearson: r.val_pearson,
        })
    }

    fn pick(self, f: &ValFigures) -> f64 {
        match self {
            Monitor::ValLoss => f.loss,
            Monitor::ValAccuracy => f.accuracy,
            Monitor::ValMacroF1 => f.macro_f1,
            Monitor::ValScore => f.score(),
        }
    }

    fn better(self, new: f64, best: f64, min_delta: f64) -> bool {
        if best.is_nan() {
            return !new.is_nan();
        }
        match self {
            Monitor::ValLoss => new < best - min_delta,
            _ => new > best + min_delta,
        }
    }
}
