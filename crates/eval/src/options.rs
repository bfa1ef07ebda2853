//! The settings of an evaluation, shared by every task's metrics.

use crate::EvalError;

/// Settings of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Number of bootstrap resamples for the confidence intervals (default 1000).
    /// `0` skips the bootstrap: the intervals then collapse onto the point estimates.
    pub bootstrap: usize,
    /// Seed of the resampling; the same seed gives the same intervals.
    pub seed: u64,
    /// Confidence level of the intervals, strictly between 0 and 1 (default 0.95).
    pub confidence: f64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            bootstrap: 1000,
            seed: 42,
            confidence: 0.95,
        }
    }
}

impl EvalOptions {
    pub(crate) fn validate(&self) -> Result<(), EvalError> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(EvalError::Invalid(format!(
                "the confidence level must be strictly between 0 and 1 (e.g. 0.95), not {}",
                self.confidence
            )));
        }
        Ok(())
    }
}
