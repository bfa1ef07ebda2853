//! The fine-tuning loop: bucketed batches, dropout, class-weighted cross-entropy,
//! gradient accumulation and clipping, AdamW with warmup + linear decay, validation,
//! early stopping with restore of the best weights, and resumable checkpoints.
//!
//! **Reproducible and resumable by construction.** The batch order of epoch `e` and the
//! dropout masks of batch `b` derive from `(seed, e, b)` alone, so a run resumed from a
//! checkpoint (saved at an optimizer-step boundary) performs exactly the same updates as
//! one that was never interrupted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use textclf_core::{Dataset, Predictions};
use textclf_eval::{evaluate, EvalOptions};
use textclf_models::{cross_entropy, SequenceClassifier};

use crate::batch::{collate, eval_batches, padding_waste, train_batches, Padding};
use crate::error::io_err;
use crate::optim::{
    accumulate, clip_factor, grad_norm, linear_schedule, AdamW, AdamWConfig, Grads,
};
use crate::tokenize::TextEncoder;
use crate::{Result, TrainError};

/// What early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
    ValMacroF1,
}

impl Monitor {
    fn value(self, r: &EvalRecord) -> f64 {
        self.pick(r.val_loss, r.val_accuracy, r.val_macro_f1)
    }

    /// The watched figure among a validation's loss, accuracy and macro-F1.
    fn pick(self, loss: f64, accuracy: f64, macro_f1: f64) -> f64 {
        match self {
            Monitor::ValLoss => loss,
            Monitor::ValAccuracy => accuracy,
            Monitor::ValMacroF1 => macro_f1,
        }
    }

    fn better(self, new: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Monitor::ValLoss => new < best - min_delta,
            _ => new > best + min_delta,
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

/// JSON has no NaN (serde_json writes it as null): read null back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One validation (at an epoch end, or every N steps). Without validation data the
/// `val_*` fields are NaN (null in JSON).
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
    /// True when the run ends with the averaged weights: they validated better than the
    /// best single checkpoint, or there was no validation data to compare on.
    pub kept: bool,
}

/// Receives progress events (the CLI draws a progress bar from them).
pub trait Progress {
    fn start_epoch(&self, _epoch: usize, _epochs: usize, _batches: usize, _first_batch: usize) {}
    fn batch(&self, _done: usize, _loss: f64, _lr: f64, _samples_per_s: f64) {}
    fn evaluated(&self, _rec: &EvalRecord) {}
    fn message(&self, _msg: &str) {}
    /// Polled after every optimizer step: true asks the trainer to save a checkpoint and
    /// stop with [`TrainError::Interrupted`] (the CLI answers Ctrl-C this way).
    fn should_stop(&self) -> bool {
        false
    }
}

/// Progress that reports nothing.
pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct State {
    epoch: usize,
    next_batch: usize,
    global_step: u64,
    loss_sum: f64,
    seen: usize,
    correct: usize,
    tokens: usize,
    train_seconds: f64,
    history: Vec<EvalRecord>,
    best: Option<usize>,
    bad_evals: usize,
    stopped_early: bool,
    finished: bool,
    fingerprint: String,
    /// Validation points in the weight average so far.
    #[serde(default)]
    avg_count: usize,
}

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z ^= z >> 31;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 29)
}

/// Adds the model's current weights to the running mean of `count` earlier snapshots.
fn add_to_average(
    avg: &mut Option<HashMap<String, Tensor>>,
    count: usize,
    model: &SequenceClassifier,
) -> Result<()> {
    let Some(a) = avg.as_mut().filter(|_| count > 0) else {
        *avg = Some(snapshot(model)?);
        return Ok(());
    };
    let keep = count as f64 / (count + 1) as f64;
    for (name, v) in model.params.vars() {
        let m = a.get_mut(name).ok_or_else(|| {
            TrainError::Checkpoint(format!("the weight average has no tensor `{name}`"))
        })?;
        *m = (m.affine(keep, 0.0)? + v.as_tensor().affine(1.0 - keep, 0.0)?)?;
    }
    Ok(())
}

fn snapshot(model: &SequenceClassifier) -> Result<HashMap<String, Tensor>> {
    model
        .params
        .vars()
        .iter()
        .map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?)))
        .collect()
}

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
        for (s, &y) in seqs.iter().zip(&train.labels) {
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
        let val_labels: Vec<usize> = valid.map(|v| v.labels.clone()).unwrap_or_default();
        let class_w = cfg.class_weights.clone();

        while !st.finished && st.epoch < cfg.epochs {
            let epoch = st.epoch;
            let batches = train_batches(&lens, cfg.batch_size, cfg.bucketed, cfg.seed, epoch);
            let waste = padding_waste(&lens, &batches, cfg.padding, self.encoder.max_len());
            progress.start_epoch(epoch, cfg.epochs, batches.len(), st.next_batch);
            let mut acc: Option<Grads> = None;
            let mut in_group = 0usize;
            let mut t_epoch = Instant::now();
            let mut lr = linear_schedule(cfg.lr, st.global_step, warmup, total_steps);
            let mut stop = false;
            for bi in st.next_batch..batches.len() {
                let idx = &batches[bi];
                let b = collate(
                    &seqs,
                    idx,
                    self.encoder.pad_id(),
                    cfg.padding,
                    self.encoder.max_len(),
                );
                let y: Vec<u32> = idx.iter().map(|&i| train.labels[i] as u32).collect();
                let mut rng = ChaCha8Rng::seed_from_u64(mix(cfg.seed, epoch as u64 + 1, bi as u64));
                let out = self.model.forward(&b, Some(&mut rng), false)?;
                let loss = cross_entropy(&out.logits, &y, class_w.as_deref())?;
                let lv: f32 = loss.to_scalar()?;
                if !lv.is_finite() {
                    return Err(TrainError::Diverged {
                        value: lv,
                        step: st.global_step,
                        epoch: epoch + 1,
                        lr,
                        suggest: (cfg.lr / 10.0).min(5e-5),
                    });
                }
                let preds = out.logits.argmax(1)?.to_vec1::<u32>()?;
                st.correct += preds.iter().zip(&y).filter(|(a, b)| a == b).count();
                let g =
                    opt.collect_grads(&self.model.params, &self.model.backward(&out, &loss)?)?;
                match acc.as_mut() {
                    Some(a) => accumulate(a, g)?,
                    None => acc = Some(g),
                }
                in_group += 1;
                st.loss_sum += lv as f64 * idx.len() as f64;
                st.seen += idx.len();
                st.tokens += b.mask.iter().filter(|&&m| m == 1).count();
                if in_group == cfg.grad_accum || bi + 1 == batches.len() {
                    let grads = acc.take().unwrap_or_default();
                    let scale = 1.0 / in_group as f64;
                    let norm = grad_norm(&grads)? * scale;
                    if !norm.is_finite() {
                        return Err(TrainError::Diverged {
                            value: f32::NAN,
                            step: st.global_step,
                            epoch: epoch + 1,
                            lr,
                            suggest: (cfg.lr / 10.0).min(5e-5),
                        });
                    }
                    lr = linear_schedule(cfg.lr, st.global_step, warmup, total_steps);
                    opt.step(
                        &self.model.params,
                        &grads,
                        lr,
                        scale * clip_factor(norm, cfg.grad_clip),
                    )?;
                    st.global_step += 1;
                    in_group = 0;
                    st.next_batch = bi + 1;
                    let secs = st.train_seconds + t_epoch.elapsed().as_secs_f64();
                    progress.batch(
                        bi + 1,
                        st.loss_sum / st.seen.max(1) as f64,
                        lr,
                        st.seen as f64 / secs.max(1e-9),
                    );
                    let epoch_end = bi + 1 == batches.len();
                    let eval_now = epoch_end
                        || cfg
                            .eval_every_steps
                            .is_some_and(|n| st.global_step.is_multiple_of(n));
                    if eval_now {
                        st.train_seconds += t_epoch.elapsed().as_secs_f64();
                        let rec = self.evaluation(
                            &st,
                            epoch,
                            epoch_end,
                            lr,
                            waste,
                            valid,
                            val_seqs.as_deref(),
                            &val_labels,
                        )?;
                        progress.evaluated(&rec);
                        st.history.push(rec);
                        if valid.is_some() {
                            stop = self.update_best(&mut st, &mut best_weights)?;
                        }
                        if avg_start.is_some_and(|s| st.global_step >= s) {
                            add_to_average(&mut avg, st.avg_count, self.model)?;
                            st.avg_count += 1;
                        }
                        t_epoch = Instant::now();
                    }
                    if epoch_end {
                        st.epoch += 1;
                        st.next_batch = 0;
                        st.loss_sum = 0.0;
                        st.seen = 0;
                        st.correct = 0;
                        st.tokens = 0;
                        st.train_seconds = 0.0;
                    }
                    if stop {
                        st.stopped_early = true;
                        st.finished = true;
                    }
                    let interrupted = !st.finished && progress.should_stop();
                    let ckpt_now = epoch_end
                        || stop
                        || interrupted
                        || cfg
                            .checkpoint_every_steps
                            .is_some_and(|n| st.global_step.is_multiple_of(n));
                    if ckpt_now {
                        if !epoch_end {
                            st.train_seconds += t_epoch.elapsed().as_secs_f64();
                            t_epoch = Instant::now();
                        }
                        if st.epoch >= cfg.epochs {
                            st.finished = true;
                        }
                        save_checkpoint(
                            &self.ckpt_dir,
                            self.model,
                            &opt,
                            &st,
                            best_weights.as_ref(),
                            avg.as_ref(),
                        )?;
                    }
                    if interrupted && !st.finished {
                        return Err(TrainError::Interrupted {
                            step: st.global_step,
                            dir: self.ckpt_dir.clone(),
                        });
                    }
                    if stop {
                        break;
                    }
                }
            }
        }
        let mut restored = false;
        if let (Some(best), Some(weights)) = (st.best, best_weights.as_ref()) {
            if cfg.early_stopping.is_some() && best + 1 != st.history.len() {
                self.model.params.assign(weights)?;
                restored = true;
                progress.message(&format!(
                    "restored the best weights (epoch {}, step {})",
                    st.history[best].epoch + 1,
                    st.history[best].step
                ));
            }
        }
        let averaged = match (avg_start, avg.as_ref()) {
            (Some(from_step), Some(a)) if st.avg_count > 0 => Some(self.try_average(
                a,
                st.avg_count,
                from_step,
                &st,
                restored,
                valid,
                val_seqs.as_deref(),
                &val_labels,
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

    /// Validates the averaged weights and keeps them when they beat the weights the run
    /// would otherwise end with (the restored best checkpoint, or the final weights) on the
    /// monitor (validation loss without early stopping); ties keep the single checkpoint.
    #[allow(clippy::too_many_arguments)]
    fn try_average(
        &mut self,
        avg: &HashMap<String, Tensor>,
        count: usize,
        from_step: u64,
        st: &State,
        restored: bool,
        valid: Option<&Dataset>,
        val_seqs: Option<&[Vec<u32>]>,
        val_labels: &[usize],
        progress: &dyn Progress,
    ) -> Result<AveragedWeights> {
        let current = snapshot(self.model)?;
        self.model.params.assign(avg)?;
        let (val_loss, val_accuracy, val_macro_f1, kept) = match (valid, val_seqs) {
            (Some(v), Some(s)) => {
                let (vl, va, vf) = validate(
                    self.model,
                    s,
                    val_labels,
                    &v.label_set,
                    self.encoder,
                    self.config.eval_batch_size,
                )?;
                let single = match (restored, st.best) {
                    (true, Some(b)) => &st.history[b],
                    _ => st
                        .history
                        .last()
                        .ok_or_else(|| TrainError::Config("no validation was recorded".into()))?,
                };
                let monitor = self
                    .config
                    .early_stopping
                    .map_or(Monitor::ValLoss, |e| e.monitor);
                let kept = monitor.better(monitor.pick(vl, va, vf), monitor.value(single), 0.0);
                progress.message(&format!(
                    "averaged weights of {count} validation points from step {from_step}: val loss {vl:.4}, val accuracy {va:.4} against {:.4} / {:.4} for the single checkpoint (step {}): {}",
                    single.val_loss,
                    single.val_accuracy,
                    single.step,
                    if kept { "keeping the average" } else { "keeping the single checkpoint" }
                ));
                (vl, va, vf, kept)
            }
            _ => {
                progress.message(&format!(
                    "keeping the averaged weights of {count} checkpoints from step {from_step} (no validation data to compare on)"
                ));
                (f64::NAN, f64::NAN, f64::NAN, true)
            }
        };
        if !kept {
            self.model.params.assign(&current)?;
        }
        Ok(AveragedWeights {
            from_step,
            count,
            val_loss,
            val_accuracy,
            val_macro_f1,
            kept,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluation(
        &self,
        st: &State,
        epoch: usize,
        epoch_end: bool,
        lr: f64,
        waste: f64,
        valid: Option<&Dataset>,
        val_seqs: Option<&[Vec<u32>]>,
        val_labels: &[usize],
    ) -> Result<EvalRecord> {
        let (vl, va, vf) = match (valid, val_seqs) {
            (Some(v), Some(s)) => validate(
                self.model,
                s,
                val_labels,
                &v.label_set,
                self.encoder,
                self.config.eval_batch_size,
            )?,
            _ => (f64::NAN, f64::NAN, f64::NAN),
        };
        let secs = st.train_seconds.max(1e-9);
        Ok(EvalRecord {
            epoch,
            step: st.global_step,
            epoch_end,
            train_loss: st.loss_sum / st.seen.max(1) as f64,
            train_accuracy: st.correct as f64 / st.seen.max(1) as f64,
            val_loss: vl,
            val_accuracy: va,
            val_macro_f1: vf,
            lr,
            train_seconds: st.train_seconds,
            samples_per_s: st.seen as f64 / secs,
            tokens_per_s: st.tokens as f64 / secs,
            padding_waste: waste,
        })
    }

    /// Updates the best evaluation and patience; true when training should stop.
    fn update_best(
        &self,
        st: &mut State,
        best_weights: &mut Option<HashMap<String, Tensor>>,
    ) -> Result<bool> {
        let Some(es) = self.config.early_stopping else {
            // Without early stopping the best is still tracked by validation loss.
            let last = st.history.len() - 1;
            if st
                .best
                .is_none_or(|b| st.history[last].val_loss < st.history[b].val_loss)
            {
                st.best = Some(last);
            }
            return Ok(false);
        };
        let last = st.history.len() - 1;
        let new = es.monitor.value(&st.history[last]);
        let improved = match st.best {
            None => true,
            Some(b) => es
                .monitor
                .better(new, es.monitor.value(&st.history[b]), es.min_delta),
        };
        if improved {
            st.best = Some(last);
            st.bad_evals = 0;
            *best_weights = Some(snapshot(self.model)?);
        } else {
            st.bad_evals += 1;
        }
        Ok(st.bad_evals >= es.patience)
    }
}

fn save_checkpoint(
    dir: &Path,
    model: &SequenceClassifier,
    opt: &AdamW,
    st: &State,
    best: Option<&HashMap<String, Tensor>>,
    avg: Option<&HashMap<String, Tensor>>,
) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = dir.with_extension("new");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    model.params.save(&tmp.join("model.safetensors"))?;
    candle_core::safetensors::save(
        &opt.state_tensors(&model.params)?,
        tmp.join("optimizer.safetensors"),
    )?;
    if let Some(b) = best {
        candle_core::safetensors::save(b, tmp.join("best.safetensors"))?;
    }
    if let Some(a) = avg {
        candle_core::safetensors::save(a, tmp.join("average.safetensors"))?;
    }
    let state = serde_json::json!({ "optimizer_step": opt.step, "state": st });
    std::fs::write(
        tmp.join("state.json"),
        serde_json::to_string(&state).unwrap_or_default(),
    )
    .map_err(io_err(&tmp))?;
    // Sizes and checksums of every file, with the run's fingerprint: a resume refuses a
    // checkpoint whose files changed since (another run's weights, a flipped bit).
    textclf_runs::write_manifest(&tmp, Some(&st.fingerprint))
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    // Swap in the new checkpoint; the old one is kept until the new one is in place.
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(io_err(dir))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// A checkpoint: the loop state, the best weights so far and the weight average.
type Loaded = (
    State,
    Option<HashMap<String, Tensor>>,
    Option<HashMap<String, Tensor>>,
);

fn load_checkpoint(
    dir: &Path,
    model: &SequenceClassifier,
    opt: &mut AdamW,
) -> Result<Option<Loaded>> {
    let dir = if dir.join("state.json").is_file() {
        dir.to_path_buf()
    } else if dir.with_extension("old").join("state.json").is_file() {
        dir.with_extension("old")
    } else {
        return Ok(None);
    };
    textclf_runs::verify_manifest(&dir, "the checkpoint")
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    let text = std::fs::read_to_string(dir.join("state.json")).map_err(io_err(&dir))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    let st: State = serde_json::from_value(v["state"].clone())
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    let step = v["optimizer_step"].as_u64().unwrap_or(st.global_step);
    let dev = model.device();
    let weights = candle_core::safetensors::load(dir.join("model.safetensors"), dev)?;
    model.params.assign(&weights)?;
    let ostate = candle_core::safetensors::load(
        dir.join("optimizer.safetensors"),
        &candle_core::Device::Cpu,
    )?;
    opt.load_state(&model.params, &ostate, step)?;
    let load_opt = |name: &str| -> Result<Option<HashMap<String, Tensor>>> {
        let p = dir.join(name);
        Ok(if p.is_file() {
            Some(candle_core::safetensors::load(p, dev)?)
        } else {
            None
        })
    };
    Ok(Some((
        st,
        load_opt("best.safetensors")?,
        load_opt("average.safetensors")?,
    )))
}
