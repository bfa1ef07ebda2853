//! One optimisation step: the forward and backward pass of each batch (with the
//! divergence check on its loss), then clipping and the AdamW update on the gradients
//! gathered over the step's batches.

use rand_chacha::ChaCha8Rng;
use textclf_models::{EncodedBatch, SequenceClassifier};

use crate::objective::{BatchTargets, Objective};

use crate::optim::{clip_factor, grad_norm, AdamW, Grads};
use crate::{Result, TrainError};

/// Where the run is, for the error that reports a diverged step.
pub(crate) struct At {
    pub step: u64,
    /// 0-based.
    pub epoch: usize,
    /// The learning rate of the last update.
    pub lr: f64,
    /// `--lr`, from which the suggested lower rate is derived.
    pub base_lr: f64,
}

impl At {
    fn diverged(&self, value: f32) -> TrainError {
        TrainError::Diverged {
            value,
            step: self.step,
            epoch: self.epoch + 1,
            lr: self.lr,
            suggest: (self.base_lr / 10.0).min(5e-5),
        }
    }
}

/// What one batch's forward and backward pass gave.
pub(crate) struct BatchPass {
    pub grads: Grads,
    /// The batch's mean loss.
    pub loss: f32,
    /// Rows predicted exactly right (see [`Objective::correct`]).
    pub correct: usize,
}

/// Forward pass of batch `b` with gold targets `y` (dropout from `rng`), the task's loss
/// (see [`crate::objective`]) and its backward pass; a loss that is not finite is an
/// error.
pub(crate) fn forward_backward(
    model: &SequenceClassifier,
    opt: &AdamW,
    b: &EncodedBatch,
    y: &BatchTargets,
    rng: &mut ChaCha8Rng,
    objective: &Objective,
    at: &At,
) -> Result<BatchPass> {
    let out = model.forward(b, Some(rng), false)?;
    let loss = objective.loss(&out.logits, y)?;
    let lv: f32 = loss.to_scalar()?;
    if !lv.is_finite() {
        return Err(at.diverged(lv));
    }
    let correct = objective.correct(&out.logits, y)?;
    let grads = opt.collect_grads(&model.params, &model.backward(&out, &loss)?)?;
    Ok(BatchPass {
        grads,
        loss: lv,
        correct,
    })
}

/// The update from `grads`, the sum of `in_group` batches' gradients: their mean,
/// clipped to a norm of `grad_clip`, applied at learning rate `lr`. A gradient norm
/// that is not finite is an error.
pub(crate) fn update(
    model: &SequenceClassifier,
    opt: &mut AdamW,
    grads: &Grads,
    in_group: usize,
    grad_clip: Option<f64>,
    lr: f64,
    at: &At,
) -> Result<()> {
    let scale = 1.0 / in_group as f64;
    let norm = grad_norm(grads)? * scale;
    if !norm.is_finite() {
        return Err(at.diverged(f32::NAN));
    }
    opt.step(
        &model.params,
        grads,
        lr,
        scale * clip_factor(norm, grad_clip),
    )?;
    Ok(())
}
