//! Fine-tuning: [`Trainer::fit`] checks the inputs, tokenizes, fingerprints the run,
//! resumes from a checkpoint, runs the loop over epochs (`epochs.rs`; one optimisation
//! step is `step.rs`, validation cadence and early stopping `validation.rs`), then
//! restores the best weights and decides on the weight average (`averaging.rs`).
//!
//! **Reproducible and resumable by construction.** The batch order of epoch `e` and the
//! dropout masks of batch `b` derive from `(seed, e, b)` alone, so a run resumed from a
//! checkpoint (saved at an optimizer-step boundary) performs exactly the same updates as
//! one that was never interrupted.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::Tensor;
use textclf_core::Dataset;
use textclf_models::SequenceClassifier;

use crate::averaging::try_average;
use crate::checkpoint::load_checkpoint;
use crate::config::TrainConfig;
use crate::epochs::{self, Carry, Run};
use crate::infer::Validation;
use crate::optim::AdamW;
use crate::progress::Progress;
use crate::record::TrainOutcome;
use crate::state::State;
use crate::tokenize::TextEncoder;
use crate::validation::restore_best;
use crate::{Result, TrainError};

/// Fine-tunes `model` on `train`, validating on `valid`. Checkpoints go to `ckpt_dir`;
/// with `resume`, training continues from the checkpoint there.
pub struct Trainer<'a> {
    pub model: &'a mut SequenceClassifier,
    pub encoder: &'a TextEncoder,
    pub config: TrainConfig,
    pub ckpt_dir: PathBuf,
}

impl Trainer<'_> {
    pub fn fit(
        &mut self,
        train: &Dataset,
        valid: Option<&Dataset>,
        resume: bool,
        progress: &dyn Progress,
    ) -> Result<TrainOutcome> {
        let cfg = self.config.clone();
        cfg.check()?;
        if train.is_empty() {
            return Err(TrainError::Data("the training split is empty".into()));
        }
        let k = train.label_set.len();
        let train_labels = train
            .labels()
            .map_err(|e| TrainError::Data(e.to_string()))?;
        if self.model.num_labels != k {
            return Err(TrainError::Config(format!(
                "model has {} outputs for {k} classes",
                self.model.num_labels
            )));
        }
        if cfg.class_weights.as_ref().is_some_and(|w| w.len() != k) {
            return Err(TrainError::Config(format!(
                "{} class weights for {k} classes",
                cfg.class_weights.as_ref().map_or(0, Vec::len)
            )));
        }
        if let Some(v) = valid {
            if v.label_set != train.label_set {
                return Err(TrainError::Data(
                    "validation and training data have different label sets".into(),
                ));
            }
            if v.is_empty() {
                return Err(TrainError::Data(
                    "the validation split is empty: give a larger --valid file or more training data".into(),
                ));
            }
        }
        let has_ckpt = ["", "old"].iter().any(|ext| {
            let d = if ext.is_empty() {
                self.ckpt_dir.clone()
            } else {
                self.ckpt_dir.with_extension(ext)
            };
            d.join("state.json").is_file()
        });
        if has_ckpt && !resume {
            return Err(TrainError::Checkpoint(format!(
                "{} holds the checkpoint of an earlier run: add --resume to continue it, or use another --out folder (or delete that one) to start afresh",
                self.ckpt_dir.display()
            )));
        }
        progress.message(&format!("tokenizing {} training texts", train.len()));
        let seqs = self.encoder.encode_batch(&train.text_refs())?;
        let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
        let val_seqs = match valid {
            Some(v) => Some(self.encoder.encode_batch(&v.text_refs())?),
            None => None,
        };
        let n_batches = train.len().div_ceil(cfg.batch_size);
        let steps_per_epoch = n_batches.div_ceil(cfg.grad_accum) as u64;
        let total_steps = steps_per_epoch * cfg.epochs as u64;
        let warmup = (cfg.warmup_ratio * total_steps as f64).ceil() as u64;
        // Everything that decides the updates: settings, tokenization and the data itself.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |v: u64| h = (h ^ v).wrapping_mul(0x0100_0000_01b3);
        for (s, &y) in seqs.iter().zip(train_labels) {
            eat(s.len() as u64);
            s.iter().for_each(|&t| eat(t as u64));
            eat(y as u64);
        }
        for s in val_seqs.iter().flatten() {
            s.iter().for_each(|&t| eat(t as u64));
        }
        let fingerprint = format!(
            "{}|{}|{:?}|{}|{}|{}|{h:016x}",
            serde_json::to_string(&cfg).unwrap_or_default(),
            self.encoder.max_len(),
            self.encoder.truncation(),
            train.len(),
            valid.map_or(0, |v| v.len()),
            self.model.params.num_params()
        );

        let mut opt = AdamW::new(&self.model.params, cfg.adamw)?;
        let mut st = State {
            fingerprint: fingerprint.clone(),
            ..State::default()
        };
        let mut best_weights: Option<HashMap<String, Tensor>> = None;
        let mut avg: Option<HashMap<String, Tensor>> = None;
        let avg_start = cfg
            .average_from
            .map(|f| ((f * total_steps as f64).ceil() as u64).max(1));
        if resume {
            match load_checkpoint(&self.ckpt_dir, self.model, &mut opt)? {
                Some((s, best, average)) => {
                    if s.fingerprint != fingerprint {
                        return Err(TrainError::Checkpoint(format!(
                            "the checkpoint in {} was made with other settings or data; resume with the same command, or start afresh without --resume in a new --out folder",
                            self.ckpt_dir.display()
                        )));
                    }
                    progress.message(&format!(
                        "resuming at epoch {}, batch {} (step {})",
                        s.epoch + 1,
                        s.next_batch,
                        s.global_step
                    ));
                    if s.avg_count > 0 && average.is_none() {
                        return Err(TrainError::Checkpoint(format!(
                            "the checkpoint in {} lacks average.safetensors; start afresh without --resume in a new --out folder",
                            self.ckpt_dir.display()
                        )));
                    }
                    st = s;
                    best_weights = best;
                    avg = average;
                }
                None => progress.message("no checkpoint found: starting from the beginning"),
            }
        }
        let val_labels: Vec<usize> = match valid {
            Some(v) => v
                .labels()
                .map_err(|e| TrainError::Data(e.to_string()))?
                .to_vec(),
            None => Vec::new(),
        };
        let val = Validation {
            data: valid,
            seqs: val_seqs.as_deref(),
            labels: &val_labels,
        };
        let mut carry = Carry {
            opt,
            st,
            best_weights,
            avg,
        };
        let run = Run {
            encoder: self.encoder,
            cfg: &cfg,
            ckpt_dir: &self.ckpt_dir,
            train,
            seqs: &seqs,
            lens: &lens,
            val,
            progress,
            warmup,
            total_steps,
            avg_start,
        };
        epochs::run(&run, self.model, &mut carry)?;
        let Carry {
            st,
            best_weights,
            avg,
            ..
        } = carry;
        let restored = restore_best(
            self.model,
            cfg.early_stopping,
            &st,
            best_weights.as_ref(),
            progress,
        )?;
        let averaged = match (avg_start, avg.as_ref()) {
            (Some(from_step), Some(a)) if st.avg_count > 0 => Some(try_average(
                self.model,
                self.encoder,
                &cfg,
                a,
                st.avg_count,
                from_step,
                &st,
                restored,
                val,
                progress,
            )?),
            (Some(_), _) => {
                progress
                    .message("no validation point came after --average-from: nothing was averaged");
                None
            }
            _ => None,
        };
        let val_acc_at_min_loss = st
            .history
            .iter()
            .filter(|r| r.val_loss.is_finite())
            .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
            .map(|r| r.val_accuracy);
        Ok(TrainOutcome {
            history: st.history,
            best: st.best,
            stopped_early: st.stopped_early,
            steps: st.global_step,
            val_accuracy_at_min_val_loss: val_acc_at_min_loss,
            restored_best_weights: restored,
            averaged,
        })
    }
}
