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
use textclf_core::{Dataset, Targets, Task};
use textclf_eval::{tune_thresholds, LabelMatrix, Thresholds};
use textclf_models::SequenceClassifier;

use crate::averaging::try_average;
use crate::checkpoint::load_checkpoint;
use crate::config::{Monitor, TrainConfig};
use crate::epochs::{self, Carry, Run};
use crate::infer::{batched_logits_typed, Validation};
use crate::objective::{outputs_for, scores_from_logits, Objective};
use crate::optim::AdamW;
use crate::progress::Progress;
use crate::record::TrainOutcome;
use crate::state::{Bounds, State};
use crate::tokenize::TextEncoder;
use crate::validation::restore_best;
use crate::{Result, TrainError};

/// Fine-tunes `model` on `train`, validating on `valid`. Checkpoints go to `ckpt_dir`;
/// with `resume`, training continues from the checkpoint there.
///
/// The task and the input shape come from the data: single texts or sentence pairs
/// (`Dataset::pairs`, encoded by [`TextEncoder::encode_pair_batch`] with the encoder's
/// pair truncation), and single-label, multi-label or regression targets, each with its
/// head size, loss and validation figures ([`crate::objective`]). The model must have
/// [`outputs_for`] outputs. For multi-label data with validation, the outcome carries
/// per-label decision thresholds tuned after training.
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
        cfg.check().map_err(TrainError::Config)?;
        if train.is_empty() {
            return Err(TrainError::Data("the training split is empty".into()));
        }
        let (task, k) = self.check_inputs(&cfg, train, valid, resume)?;
        progress.message(&format!(
            "tokenizing {} training {}",
            train.len(),
            if train.pairs.is_some() {
                "pairs"
            } else {
                "texts"
            }
        ));
        let (seqs, types) = encode(self.encoder, train)?;
        let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
        let (val_seqs, val_types) = match valid {
            Some(v) => {
                let (s, t) = encode(self.encoder, v)?;
                (Some(s), t)
            }
            None => (None, None),
        };
        let n_batches = train.len().div_ceil(cfg.batch_size);
        let steps_per_epoch = n_batches.div_ceil(cfg.grad_accum) as u64;
        let total_steps = steps_per_epoch * cfg.epochs as u64;
        let warmup = (cfg.warmup_ratio * total_steps as f64).ceil() as u64;
        let fingerprint = fingerprint(
            &cfg,
            self.encoder,
            self.model,
            train,
            valid,
            &seqs,
            types.as_deref(),
            val_seqs.as_deref(),
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
            let bounds = Bounds {
                epochs: cfg.epochs,
                batches_per_epoch: n_batches,
                total_steps,
                train_rows: train.len(),
                longest: lens.iter().copied().max().unwrap_or(0),
            };
            if let Some((s, best, average)) =
                self.resume_from(&fingerprint, &bounds, &mut opt, progress)?
            {
                st = s;
                best_weights = best;
                avg = average;
            }
        }
        let val_labels: Vec<usize> = valid
            .and_then(|v| v.targets.classes())
            .map(<[usize]>::to_vec)
            .unwrap_or_default();
        let val = Validation {
            data: valid,
            seqs: val_seqs.as_deref(),
            types: val_types.as_deref(),
            labels: &val_labels,
        };
        let objective = Objective {
            targets: &train.targets,
            k,
            weights: cfg.class_weights.as_deref(),
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
            types: types.as_deref(),
            objective: &objective,
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
            .map(|r| r.val_accuracy)
            .filter(|_| task != Task::Regression);
        let thresholds = match (task, valid, val_seqs.as_deref()) {
            (Task::MultiLabel, Some(v), Some(s)) => Some(tune_on(
                self.model,
                self.encoder,
                &cfg,
                v,
                s,
                val_types.as_deref(),
            )?),
            _ => None,
        };
        if let Some(t) = &thresholds {
            progress.message(&format!(
                "tuned per-label thresholds on validation: micro-F1 {:.4}",
                t.micro_f1.unwrap_or(f64::NAN)
            ));
        }
        Ok(TrainOutcome {
            history: st.history,
            best: st.best,
            stopped_early: st.stopped_early,
            steps: st.global_step,
            val_accuracy_at_min_val_loss: val_acc_at_min_loss,
            restored_best_weights: restored,
            averaged,
            thresholds,
        })
    }

    /// Refuses settings and data that cannot train together, and a checkpoint left by an
    /// earlier run without `resume`. Returns the task and the model's number of outputs.
    fn check_inputs(
        &self,
        cfg: &TrainConfig,
        train: &Dataset,
        valid: Option<&Dataset>,
        resume: bool,
    ) -> Result<(Task, usize)> {
        let task = train.task();
        let k = outputs_for(task, &train.label_set);
        let what = match task {
            Task::SingleLabel => "classes",
            Task::MultiLabel => "labels",
            Task::Regression => "target (regression)",
        };
        if self.model.num_labels != k {
            return Err(TrainError::Config(format!(
                "model has {} outputs for {k} {what}",
                self.model.num_labels
            )));
        }
        match (&cfg.class_weights, task) {
            (Some(_), Task::Regression) => return Err(TrainError::Config(
                "class weights are for classification; regression has none (drop --class-weights)"
                    .into(),
            )),
            (Some(w), _) if w.len() != k => {
                return Err(TrainError::Config(format!(
                    "{} class weights for {k} {what}",
                    w.len()
                )))
            }
            _ => {}
        }
        if let (Some(es), Task::Regression) = (cfg.early_stopping, task) {
            if matches!(es.monitor, Monitor::ValAccuracy | Monitor::ValMacroF1) {
                return Err(TrainError::Config(
                    "regression has no accuracy or macro-F1 to monitor: use val_loss (MSE) or val_score (Pearson)"
                        .into(),
                ));
            }
        }
        if let Some(v) = valid {
            if v.task() != task {
                return Err(TrainError::Data(format!(
                    "the validation data is {} but the training data is {task}",
                    v.task()
                )));
            }
            if v.pairs.is_some() != train.pairs.is_some() {
                return Err(TrainError::Data(
                    "one of the training and validation data has text pairs and the other not: give both the same columns".into(),
                ));
            }
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
        Ok((task, k))
    }

    /// The checkpoint to continue from, when there is one made by this run (same
    /// fingerprint) whose state fits the run (`bounds`); loads its weights into the model
    /// and its moments into `opt`.
    #[allow(clippy::type_complexity)]
    fn resume_from(
        &mut self,
        fingerprint: &str,
        bounds: &Bounds,
        opt: &mut AdamW,
        progress: &dyn Progress,
    ) -> Result<
        Option<(
            State,
            Option<HashMap<String, Tensor>>,
            Option<HashMap<String, Tensor>>,
        )>,
    > {
        match load_checkpoint(&self.ckpt_dir, self.model, opt)? {
            Some((s, best, average)) => {
                if s.fingerprint != fingerprint {
                    return Err(TrainError::Checkpoint(format!(
                        "the checkpoint in {} was made with other settings or data; resume with the same command, or start afresh without --resume in a new --out folder",
                        self.ckpt_dir.display()
                    )));
                }
                s.check(bounds, opt.step).map_err(|wrong| {
                    TrainError::Checkpoint(format!(
                        "the checkpoint in {} does not fit this run ({wrong}): its state.json is damaged; start afresh without --resume in a new --out folder",
                        self.ckpt_dir.display()
                    ))
                })?;
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
                Ok(Some((s, best, average)))
            }
            None => {
                progress.message("no checkpoint found: starting from the beginning");
                Ok(None)
            }
        }
    }
}

/// Everything that decides the updates: settings, tokenization and the data itself. A
/// checkpoint resumes only under the same fingerprint.
#[allow(clippy::too_many_arguments)]
fn fingerprint(
    cfg: &TrainConfig,
    encoder: &TextEncoder,
    model: &SequenceClassifier,
    train: &Dataset,
    valid: Option<&Dataset>,
    seqs: &[Vec<u32>],
    types: Option<&[Vec<u32>]>,
    val_seqs: Option<&[Vec<u32>]>,
) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| h = (h ^ v).wrapping_mul(0x0100_0000_01b3);
    for (i, s) in seqs.iter().enumerate() {
        eat(s.len() as u64);
        s.iter().for_each(|&t| eat(t as u64));
        match &train.targets {
            Targets::Classes(y) => eat(y[i] as u64),
            Targets::LabelSets(y) => {
                eat(u64::MAX - y[i].len() as u64);
                y[i].iter().for_each(|&l| eat(l as u64));
            }
            Targets::Scores(y) => eat(y[i].to_bits() as u64),
        }
    }
    for t in types.into_iter().flatten() {
        eat(t.iter().map(|&x| x as u64).sum());
    }
    for s in val_seqs.into_iter().flatten() {
        s.iter().for_each(|&t| eat(t as u64));
    }
    format!(
        "{}|{}|{:?}|{}|{}|{}|{h:016x}",
        serde_json::to_string(cfg).unwrap_or_default(),
        encoder.max_len(),
        encoder.truncation(),
        train.len(),
        valid.map_or(0, |v| v.len()),
        model.params.num_params()
    )
}

/// The token ids of every row (pairs: `[CLS] A [SEP] B [SEP]` or RoBERTa's layout, cut
/// by the encoder's pair truncation) and, for pairs, their token types.
#[allow(clippy::type_complexity)]
fn encode(encoder: &TextEncoder, data: &Dataset) -> Result<(Vec<Vec<u32>>, Option<Vec<Vec<u32>>>)> {
    match &data.pairs {
        None => Ok((encoder.encode_batch(&data.text_refs())?, None)),
        Some(b) => {
            let b: Vec<&str> = b.iter().map(String::as_str).collect();
            let pairs =
                encoder.encode_pair_batch(&data.text_refs(), &b, encoder.pair_truncation())?;
            let (ids, types) = pairs.into_iter().map(|p| (p.ids, p.type_ids)).unzip();
            Ok((ids, Some(types)))
        }
    }
}

/// Per-label thresholds maximising each label's F1 on the validation rows, from the
/// model's sigmoid scores (0.5 for a label without a positive validation row).
fn tune_on(
    model: &SequenceClassifier,
    encoder: &TextEncoder,
    cfg: &TrainConfig,
    valid: &Dataset,
    seqs: &[Vec<u32>],
    types: Option<&[Vec<u32>]>,
) -> Result<Thresholds> {
    let k = model.num_labels;
    let logits = batched_logits_typed(model, encoder, seqs, types, cfg.eval_batch_size)?;
    let scores = scores_from_logits(Task::MultiLabel, k, logits);
    let sets = valid.targets.label_sets().unwrap_or_default();
    let gold = LabelMatrix::from_sets(k, sets)?;
    Ok(tune_thresholds(&gold, &scores, &valid.label_set, 0.5)?)
}
