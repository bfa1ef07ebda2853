//! The loop's resumable state (saved in every checkpoint) and the seed mixing that makes
//! batch order and dropout depend on (seed, epoch, batch) alone.

use serde::{Deserialize, Serialize};

use crate::record::EpochRecord;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct State {
    pub(crate) epoch: usize,
    pub(crate) next_batch: usize,
    pub(crate) global_step: u64,
    pub(crate) loss_sum: f64,
    pub(crate) seen: usize,
    pub(crate) correct: usize,
    pub(crate) tokens: usize,
    pub(crate) train_seconds: f64,
    pub(crate) history: Vec<EpochRecord>,
    pub(crate) best: Option<usize>,
    pub(crate) bad_evals: usize,
    pub(crate) stopped_early: bool,
    pub(crate) finished: bool,
    pub(crate) fingerprint: String,
    /// Validation points in the weight average so far.
    #[serde(default)]
    pub(crate) avg_count: usize,
}

/// What a run's checkpoint state must fit: the run's shape.
pub(crate) struct Bounds {
    pub epochs: usize,
    pub batches_per_epoch: usize,
    pub total_steps: u64,
    pub train_rows: usize,
    /// Tokens in the longest training sequence.
    pub longest: usize,
}

impl State {
    /// Checks a loaded state, and the optimizer step saved with it, against the run it
    /// resumes: counts past the run's epochs, batches, steps or rows, indexes past the
    /// history, or losses and times that are not numbers can only come from a damaged
    /// `state.json`. Returns what is wrong.
    pub(crate) fn check(&self, b: &Bounds, optimizer_step: u64) -> Result<(), String> {
        let h = self.history.len();
        let wrong = if self.epoch > b.epochs {
            format!("epoch {} is past the run's {} epochs", self.epoch, b.epochs)
        } else if self.next_batch > 0 && self.next_batch >= b.batches_per_epoch {
            format!(
                "next batch {} is past the epoch's {} batches",
                self.next_batch, b.batches_per_epoch
            )
        } else if self.global_step > b.total_steps {
            format!(
                "step {} is past the run's {} steps",
                self.global_step, b.total_steps
            )
        } else if optimizer_step > b.total_steps {
            format!(
                "optimizer step {optimizer_step} is past the run's {} steps",
                b.total_steps
            )
        } else if self.seen > b.train_rows || self.correct > self.seen {
            format!(
                "{} rows seen ({} right) in an epoch of {} rows",
                self.seen, self.correct, b.train_rows
            )
        } else if self.tokens > self.seen.saturating_mul(b.longest) {
            format!(
                "{} tokens in {} rows of at most {}",
                self.tokens, self.seen, b.longest
            )
        } else if self.best.is_some_and(|i| i >= h) {
            format!("best validation {:?} of {h}", self.best)
        } else if self.avg_count > h || self.bad_evals > h {
            format!(
                "{} averaged and {} unimproved validations of {h}",
                self.avg_count, self.bad_evals
            )
        } else if !self.loss_sum.is_finite()
            || self.loss_sum < 0.0
            || !self.train_seconds.is_finite()
            || self.train_seconds < 0.0
        {
            format!(
                "loss sum {} and training time {} s",
                self.loss_sum, self.train_seconds
            )
        } else {
            return Ok(());
        };
        Err(wrong)
    }
}

pub(crate) fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z ^= z >> 31;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 29)
}

/// A validation record for tests, of `epoch` (counted from 1).
#[cfg(test)]
pub(crate) fn record(epoch: usize) -> EpochRecord {
    EpochRecord {
        epoch,
        step: 10,
        epoch_end: true,
        train_loss: 0.5,
        train_accuracy: 0.5,
        val_loss: 0.5,
        val_accuracy: 0.5,
        val_macro_f1: 0.5,
        val_micro_f1: None,
        val_pearson: None,
        lr: 0.0,
        train_seconds: 1.0,
        samples_per_s: 1.0,
        tokens_per_s: 1.0,
        padding_waste: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_that_does_not_fit_the_run_is_named() {
        let b = Bounds {
            epochs: 3,
            batches_per_epoch: 10,
            total_steps: 30,
            train_rows: 40,
            longest: 16,
        };
        let fits = State {
            epoch: 1,
            next_batch: 4,
            global_step: 14,
            seen: 16,
            correct: 9,
            tokens: 200,
            loss_sum: 9.5,
            ..State::default()
        };
        assert_eq!(fits.check(&b, 14), Ok(()));
        // What a run leaves at its end, and after stopping early mid-epoch, fits too.
        let history = vec![record(1); 3];
        let finished = State {
            epoch: 3,
            next_batch: 0,
            global_step: 30,
            history: history.clone(),
            best: Some(2),
            avg_count: 3,
            bad_evals: 3,
            finished: true,
            ..State::default()
        };
        assert_eq!(finished.check(&b, 30), Ok(()));
        let stopped = State {
            epoch: 1,
            next_batch: 9,
            global_step: 19,
            seen: 36,
            correct: 36,
            tokens: 36 * 16,
            history,
            best: Some(0),
            bad_evals: 2,
            stopped_early: true,
            finished: true,
            ..State::default()
        };
        assert_eq!(stopped.check(&b, 19), Ok(()));
        let wrong = |f: fn(&mut State)| {
            let mut s = fits.clone();
            f(&mut s);
            s.check(&b, 14).unwrap_err()
        };
        assert!(wrong(|s| s.epoch = 4).contains("epoch 4"));
        assert!(wrong(|s| s.next_batch = 10).contains("next batch 10"));
        assert!(wrong(|s| s.global_step = u64::MAX).contains("past the run's 30 steps"));
        assert!(wrong(|s| s.seen = usize::MAX).contains("rows seen"));
        assert!(wrong(|s| s.correct = 17).contains("rows seen"));
        assert!(wrong(|s| s.tokens = 16 * 16 + 1).contains("tokens"));
        assert!(wrong(|s| s.best = Some(0)).contains("best validation"));
        assert!(wrong(|s| s.avg_count = 1).contains("averaged"));
        assert!(wrong(|s| s.loss_sum = f64::NAN).contains("loss sum"));
        assert!(wrong(|s| s.train_seconds = -1.0).contains("training time"));
        let e = fits.check(&b, u64::MAX).unwrap_err();
        assert!(e.contains("optimizer step"), "{e}");
    }
}
