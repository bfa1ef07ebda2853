//! The [`Progress`] callbacks a training loop reports to (a bar, a notebook, nothing).

use crate::record::EpochRecord;

/// Receives progress events (the CLI draws a progress bar from them).
pub trait Progress {
    fn start_epoch(&self, _epoch: usize, _epochs: usize, _batches: usize, _first_batch: usize) {}
    fn batch(&self, _done: usize, _loss: f64, _lr: f64, _samples_per_s: f64) {}
    fn evaluated(&self, _rec: &EpochRecord) {}
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
