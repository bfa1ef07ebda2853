//! Validation cadence and early stopping: when the loop validates, the record of a
//! validation point, the best point and patience (with a snapshot of the best weights),
//! and restoring those weights at the end.

use std::collections::HashMap;

use candle_core::Tensor;
use textclf_core::Task;
use textclf_models::SequenceClassifier;

use crate::averaging::snapshot;
use crate::config::{EarlyStopping, TrainConfig, Watch};
use crate::infer::Validation;
use crate::progress::Progress;
use crate::record::EpochRecord;
use crate::state::State;
use crate::tokenize::TextEncoder;
use crate::Result;

/// Whether the loop validates after the optimizer step that made `global_step`: at the
/// end of every epoch and every `--eval-every-steps` steps.
pub(crate) fn due(cfg: &TrainConfig, global_step: u64, epoch_end: bool) -> bool {
    epoch_end
        || cfg
            .eval_every_steps
            .is_some_and(|n| global_step.is_multiple_of(n))
}

/// The record of a validation point: the training figures since the epoch began and,
/// with validation data, the model's figures on it (by task: [`crate::objective`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluation(
    model: &SequenceClassifier,
    encoder: &TextEncoder,
    eval_batch_size: usize,
    val: Validation,
    task: Task,
    st: &State,
    epoch: usize,
    epoch_end: bool,
    lr: f64,
    waste: f64,
) -> Result<EpochRecord> {
    let f = val.figures(model, encoder, eval_batch_size)?;
    let secs = st.train_seconds.max(1e-9);
    Ok(EpochRecord {
        // Records count epochs from 1, as the console and epochs.csv do.
        epoch: epoch + 1,
        step: st.global_step,
        epoch_end,
        train_loss: st.loss_sum / st.seen.max(1) as f64,
        train_accuracy: match task {
            Task::Regression => f64::NAN,
            _ => st.correct as f64 / st.seen.max(1) as f64,
        },
        val_loss: f.loss,
        val_accuracy: f.accuracy,
        val_macro_f1: f.macro_f1,
        val_micro_f1: f.micro_f1,
        val_pearson: f.pearson,
        lr,
        train_seconds: st.train_seconds,
        samples_per_s: st.seen as f64 / secs,
        tokens_per_s: st.tokens as f64 / secs,
        padding_waste: waste,
    })
}

/// Updates the best evaluation and patience after the last record of `st.history`; true
/// when training should stop.
pub(crate) fn update_best(
    model: &SequenceClassifier,
    early_stopping: Option<EarlyStopping>,
    st: &mut State,
    best_weights: &mut Option<HashMap<String, Tensor>>,
) -> Result<bool> {
    let Some(es) = early_stopping else {
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
        *best_weights = Some(snapshot(model)?);
    } else {
        st.bad_evals += 1;
    }
    Ok(st.bad_evals >= es.patience)
}

/// With early stopping, puts the best validation point's weights back when it was not
/// the last one; true when it did.
pub(crate) fn restore_best(
    model: &mut SequenceClassifier,
    early_stopping: Option<EarlyStopping>,
    st: &State,
    best_weights: Option<&HashMap<String, Tensor>>,
    progress: &dyn Progress,
) -> Result<bool> {
    let mut restored = false;
    if let (Some(best), Some(weights)) = (st.best, best_weights) {
        if early_stopping.is_some() && best + 1 != st.history.len() {
            model.params.assign(weights)?;
            restored = true;
            progress.message(&format!(
                "restored the best weights (epoch {}, step {})",
                st.history[best].epoch, st.history[best].step
            ));
        }
    }
    Ok(restored)
}
