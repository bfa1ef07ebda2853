//! The fine-tuning loop: bucketed batches, dropout, class-weighted cross-entropy,
//! gradient accumulation and clipping, AdamW with warmup + linear decay, validation,
//! early stopping with restore of the best weights, and resumable checkpoints.
//!
//! **Reproducible and resumable by construction.** The batch order of epoch `e` and the
//! dropout masks of batch `b` derive from `(seed, e, b)` alone, so a run resumed from a
//! checkpoint (saved at an optimizer-step boundary) performs exactly the same updates as
//! one that was never interrupted.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textclf_core::Dataset;
use textclf_models::{cross_entropy, SequenceClassifier};

use crate::batch::{collate, padding_waste, train_batches};
use crate::optim::{accumulate, clip_factor, grad_norm, linear_schedule, AdamW, Grads};
use crate::tokenize::TextEncoder;
use crate::{Result, TrainError};

use crate::averaging::{add_to_average, snapshot};
use crate::checkpoint::{load_checkpoint, save_checkpoint};
use crate::config::{Monitor, TrainConfig};
use crate::infer::validate;
use crate::progress::Progress;
use crate::record::{AveragedWeights, EvalRecord, TrainOutcome};
use crate::state::{mix, State};

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
                let y: Vec<u32> = idx.iter().map(|&i| train_labels[i] as u32).collect();
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
