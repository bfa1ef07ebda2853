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

pub(crate) fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z ^= z >> 31;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 29)
}
