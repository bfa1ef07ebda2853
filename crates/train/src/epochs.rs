//! The loop over epochs and batches: batch order and dropout seeds from `(seed, epoch,
//! batch)`, gradient accumulation, the learning-rate schedule, progress, when to validate
//! (see [`crate::validation`]), weight averaging, checkpoints and interrupts. It starts
//! from (and keeps up to date) the resumable [`State`], so a run resumed at an optimizer
//! step continues exactly as an uninterrupted one would.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textclf_core::Dataset;
use textclf_models::SequenceClassifier;

use crate::averaging::add_to_average;
use crate::batch::{collate_typed, padding_waste, train_batches};
use crate::checkpoint::save_checkpoint;
use crate::config::TrainConfig;
use crate::infer::Validation;
use crate::objective::Objective;
use crate::optim::{accumulate, linear_schedule, AdamW, Grads};
use crate::progress::Progress;
use crate::state::{mix, State};
use crate::step::{forward_backward, update, At};
use crate::tokenize::TextEncoder;
use crate::validation::{due, evaluation, update_best};
use crate::{Result, TrainError};

/// What the loop reads.
pub(crate) struct Run<'a> {
    pub encoder: &'a TextEncoder,
    pub cfg: &'a TrainConfig,
    pub ckpt_dir: &'a Path,
    pub train: &'a Dataset,
    /// The training texts' token ids (with their token types for pairs) and their
    /// lengths.
    pub seqs: &'a [Vec<u32>],
    pub types: Option<&'a [Vec<u32>]>,
    /// The targets and the loss.
    pub objective: &'a Objective<'a>,
    pub lens: &'a [usize],
    pub val: Validation<'a>,
    pub progress: &'a dyn Progress,
    pub warmup: u64,
    pub total_steps: u64,
    /// The first step whose validation point joins the weight average.
    pub avg_start: Option<u64>,
}

/// What the loop updates, all of it saved in checkpoints.
pub(crate) struct Carry {
    pub opt: AdamW,
    pub st: State,
    pub best_weights: Option<HashMap<String, Tensor>>,
    pub avg: Option<HashMap<String, Tensor>>,
}

/// Trains `model` until the last epoch or early stopping, from where `c.st` stands.
pub(crate) fn run(run: &Run, model: &mut SequenceClassifier, c: &mut Carry) -> Result<()> {
    let Run {
        encoder,
        cfg,
        ckpt_dir,
        train,
        seqs,
        types,
        objective,
        lens,
        val,
        progress,
        warmup,
        total_steps,
        avg_start,
    } = *run;
    let Carry {
        opt,
        st,
        best_weights,
        avg,
    } = c;
    let task = train.task();
    while !st.finished && st.epoch < cfg.epochs {
        let epoch = st.epoch;
        let batches = train_batches(lens, cfg.batch_size, cfg.bucketed, cfg.seed, epoch);
        let waste = padding_waste(lens, &batches, cfg.padding, encoder.max_len());
        progress.start_epoch(epoch, cfg.epochs, batches.len(), st.next_batch);
        let mut acc: Option<Grads> = None;
        let mut in_group = 0usize;
        let mut t_epoch = Instant::now();
        let mut lr = linear_schedule(cfg.lr, st.global_step, warmup, total_steps);
        let mut stop = false;
        for bi in st.next_batch..batches.len() {
            let idx = &batches[bi];
            let b = collate_typed(
                seqs,
                types,
                idx,
                encoder.pad_id(),
                cfg.padding,
                encoder.max_len(),
            );
            let y = objective.batch(idx);
            let mut rng = ChaCha8Rng::seed_from_u64(mix(cfg.seed, epoch as u64 + 1, bi as u64));
            let at = At {
                step: st.global_step,
                epoch,
                lr,
                base_lr: cfg.lr,
            };
            let pass = forward_backward(model, opt, &b, &y, &mut rng, objective, &at)?;
            st.correct += pass.correct;
            match acc.as_mut() {
                Some(a) => accumulate(a, pass.grads)?,
                None => acc = Some(pass.grads),
            }
            in_group += 1;
            st.loss_sum += pass.loss as f64 * idx.len() as f64;
            st.seen += idx.len();
            st.tokens += b.mask.iter().filter(|&&m| m == 1).count();
            if in_group == cfg.grad_accum || bi + 1 == batches.len() {
                let grads = acc.take().unwrap_or_default();
                // `at` holds the previous update's rate, which a diverged update reports.
                lr = linear_schedule(cfg.lr, st.global_step, warmup, total_steps);
                update(model, opt, &grads, in_group, cfg.grad_clip, lr, &at)?;
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
                if due(cfg, st.global_step, epoch_end) {
                    st.train_seconds += t_epoch.elapsed().as_secs_f64();
                    let rec = evaluation(
                        model,
                        encoder,
                        cfg.eval_batch_size,
                        val,
                        task,
                        st,
                        epoch,
                        epoch_end,
                        lr,
                        waste,
                    )?;
                    progress.evaluated(&rec);
                    st.history.push(rec);
                    if val.data.is_some() {
                        stop = update_best(model, cfg.early_stopping, st, best_weights)?;
                    }
                    if avg_start.is_some_and(|s| st.global_step >= s) {
                        add_to_average(avg, st.avg_count, model)?;
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
                        ckpt_dir,
                        model,
                        opt,
                        st,
                        best_weights.as_ref(),
                        avg.as_ref(),
                    )?;
                }
                if interrupted && !st.finished {
                    return Err(TrainError::Interrupted {
                        step: st.global_step,
                        dir: ckpt_dir.to_path_buf(),
                    });
                }
                if stop {
                    break;
                }
            }
        }
    }
    Ok(())
}
