//! The typed values of a fine-tuning run's trainer settings: [`TrainConfig`] and its parts.
//!
//! The trainer (`textclf-train`) reads them, and a run's `metrics.json` records them as
//! they are (`model.train_config`), so the record and the trainer share one type. The
//! crate stays free of the tensor stack: what the trainer computes with a [`Monitor`]
//! lives in the trainer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What early stopping (and the choice of the best weights) watches.
///
/// Every task has a validation loss (cross-entropy, BCE or MSE), the default.
/// `ValAccuracy` and `ValMacroF1` are the single-label figures (for multi-label: subset
/// accuracy and macro-F1 at threshold 0.5; they do not exist for regression). `ValScore`
/// is the task's score: accuracy (single-label), micro-F1 with every label at threshold
/// 0.5 (multi-label), Pearson's r (regression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
    ValMacroF1,
    ValScore,
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

/// When training stops early, and which figure decides.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    pub patience: usize,
    pub min_delta: f64,
}

/// How far each batch is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Padding {
    /// Pad each batch to its longest sequence.
    Dynamic,
    /// Pad every batch to `max_len` (for comparison).
    MaxLen,
}

/// `--padding dynamic|max-len`.
impl textclf_core::Choices for Padding {
    const VALUES: &'static [Padding] = &[Padding::Dynamic, Padding::MaxLen];

    fn name(self) -> &'static str {
        match self {
            Padding::Dynamic => "dynamic",
            Padding::MaxLen => "max-len",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Padding::Dynamic => {
                "Pad each batch to its longest text (with length-bucketed batches: little waste)"
            }
            Padding::MaxLen => "Pad every batch to --max-len (for comparison)",
        }
    }
}

/// Hyper-parameters of AdamW.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
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
    /// one positive weight per label, torch's `pos_weight` (`--class-weights balanced`
    /// gives each label `negatives / positives`). Not for regression.
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
    /// Refuses settings that cannot train, with a message that names the setting.
    pub fn check(&self) -> Result<(), String> {
        let bad = |m: &str| Err(m.to_string());
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
        // Finite too: a run records these in metrics.json, where JSON has no inf or NaN.
        if self.grad_clip.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
            return bad("gradient clipping norm must be a positive number");
        }
        if let Some(w) = &self.class_weights {
            if w.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
                return bad("class weights must be positive numbers");
            }
        }
        Ok(())
    }

    /// The value of the setting `key` (a key of [`crate::ALL`]) as these settings hold it,
    /// as `metrics.json` writes it; `None` for a setting they do not hold, or hold unset
    /// (no `--eval-every`, early stopping off…). `no_bucketing` is `!bucketed`, and the
    /// early-stopping and AdamW settings are read from their parts.
    pub fn recorded(&self, key: &str) -> Option<Value> {
        let es = self.early_stopping.as_ref();
        let v = match key {
            "epochs" => Value::from(self.epochs),
            "batch_size" => Value::from(self.batch_size),
            "eval_batch_size" => Value::from(self.eval_batch_size),
            "lr" => Value::from(self.lr),
            "warmup_ratio" => Value::from(self.warmup_ratio),
            "weight_decay" => Value::from(self.adamw.weight_decay),
            "grad_clip" => Value::from(self.grad_clip?),
            "grad_accum" => Value::from(self.grad_accum),
            "seed" => Value::from(self.seed),
            "padding" => serde_json::to_value(self.padding).ok()?,
            "no_bucketing" => Value::from(!self.bucketed),
            "eval_every" => Value::from(self.eval_every_steps?),
            "checkpoint_every" => Value::from(self.checkpoint_every_steps?),
            "monitor" => serde_json::to_value(es?.monitor).ok()?,
            "patience" => Value::from(es?.patience),
            "min_delta" => Value::from(es?.min_delta),
            // Each weight as it is written (0.1, not 0.10000000149011612).
            "class_weights" => Value::from(
                self.class_weights
                    .as_ref()?
                    .iter()
                    .map(|w| {
                        w.to_string()
                            .parse::<f64>()
                            .map_or(Value::Null, Value::from)
                    })
                    .collect::<Vec<_>>(),
            ),
            "average_from" => Value::from(self.average_from?),
            _ => return None,
        };
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_keeps_the_field_order_and_reads_back() {
        let cfg = TrainConfig {
            class_weights: Some(vec![0.1, 2.5]),
            eval_every_steps: Some(50),
            ..TrainConfig::default()
        };
        let text = serde_json::to_string(&cfg).unwrap();
        assert!(
            text.starts_with(
                r#"{"epochs":3,"batch_size":32,"eval_batch_size":64,"lr":0.00002,"adamw":{"beta1":0.9"#
            ),
            "{text}"
        );
        assert!(!text.contains("average_from"), "{text}");
        let back: TrainConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn recorded_reads_each_setting_where_the_config_holds_it() {
        let mut cfg = TrainConfig {
            bucketed: false,
            class_weights: Some(vec![0.1, 2.5]),
            ..TrainConfig::default()
        };
        assert_eq!(cfg.recorded("lr"), Some(Value::from(2e-5)));
        assert_eq!(cfg.recorded("weight_decay"), Some(Value::from(0.01)));
        assert_eq!(cfg.recorded("no_bucketing"), Some(Value::from(true)));
        assert_eq!(cfg.recorded("monitor"), Some(Value::from("val_loss")));
        assert_eq!(cfg.recorded("padding"), Some(Value::from("dynamic")));
        assert_eq!(cfg.recorded("patience"), Some(Value::from(2)));
        assert_eq!(
            cfg.recorded("class_weights"),
            Some(serde_json::json!([0.1, 2.5]))
        );
        assert_eq!(cfg.recorded("eval_every"), None);
        assert_eq!(cfg.recorded("max_len"), None, "not a trainer setting");
        cfg.early_stopping = None;
        cfg.grad_clip = None;
        assert_eq!(cfg.recorded("patience"), None);
        assert_eq!(cfg.recorded("grad_clip"), None);
    }

    #[test]
    fn check_names_the_setting() {
        let cfg = TrainConfig {
            warmup_ratio: 1.0,
            ..TrainConfig::default()
        };
        assert!(cfg.check().unwrap_err().contains("--warmup-ratio"));
        assert!(TrainConfig::default().check().is_ok());
        // What metrics.json records must be a number JSON holds (inf would be null).
        let clip = TrainConfig {
            grad_clip: Some(f64::INFINITY),
            ..TrainConfig::default()
        };
        assert!(clip.check().unwrap_err().contains("clipping"));
        let weights = TrainConfig {
            class_weights: Some(vec![1.0, f32::INFINITY]),
            ..TrainConfig::default()
        };
        assert!(weights.check().unwrap_err().contains("class weights"));
    }
}
