//! Weight averaging: the running mean of the weights at validation points, and the
//! choice at the end between the average and the single checkpoint.

use std::collections::HashMap;

use candle_core::Tensor;
use textclf_models::SequenceClassifier;

use crate::config::{Monitor, TrainConfig, Watch};
use crate::infer::Validation;
use crate::objective::ValFigures;
use crate::progress::Progress;
use crate::record::AveragedRecord;
use crate::state::State;
use crate::tokenize::TextEncoder;
use crate::{Result, TrainError};

/// Adds the model's current weights to the running mean of `count` earlier snapshots.
pub(crate) fn add_to_average(
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

pub(crate) fn snapshot(model: &SequenceClassifier) -> Result<HashMap<String, Tensor>> {
    model
        .params
        .vars()
        .iter()
        .map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?)))
        .collect()
}

/// Validates the averaged weights and keeps them when they beat the weights the run
/// would otherwise end with (the restored best checkpoint, or the final weights) on the
/// monitor (validation loss without early stopping); ties keep the single checkpoint.
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_average(
    model: &mut SequenceClassifier,
    encoder: &TextEncoder,
    config: &TrainConfig,
    avg: &HashMap<String, Tensor>,
    count: usize,
    from_step: u64,
    st: &State,
    restored: bool,
    val: Validation,
    progress: &dyn Progress,
) -> Result<AveragedRecord> {
    let current = snapshot(model)?;
    model.params.assign(avg)?;
    let (f, kept) = match (val.data, val.seqs) {
        (Some(_), Some(_)) => {
            let f = val.figures(model, encoder, config.eval_batch_size)?;
            let (vl, va) = (f.loss, f.accuracy);
            let single = match (restored, st.best) {
                (true, Some(b)) => &st.history[b],
                _ => st
                    .history
                    .last()
                    .ok_or_else(|| TrainError::Config("no validation was recorded".into()))?,
            };
            let monitor = config
                .early_stopping
                .map_or(Monitor::ValLoss, |e| e.monitor);
            let kept = monitor.better(monitor.pick(&f), monitor.value(single), 0.0);
            progress.message(&format!(
                "averaged weights of {count} validation points from step {from_step}: val loss {vl:.4}, val accuracy {va:.4} against {:.4} / {:.4} for the single checkpoint (step {}): {}",
                single.val_loss,
                single.val_accuracy,
                single.step,
                if kept { "keeping the average" } else { "keeping the single checkpoint" }
            ));
            (f, kept)
        }
        _ => {
            progress.message(&format!(
                "keeping the averaged weights of {count} checkpoints from step {from_step} (no validation data to compare on)"
            ));
            (ValFigures::NONE, true)
        }
    };
    if !kept {
        model.params.assign(&current)?;
    }
    Ok(AveragedRecord {
        from_step,
        count,
        val_loss: f.loss,
        val_accuracy: f.accuracy,
        val_macro_f1: f.macro_f1,
        val_micro_f1: f.micro_f1,
        val_pearson: f.pearson,
        kept,
    })
}
