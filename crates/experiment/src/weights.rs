//! Class weights, one setting for every family: the linear model takes them as they are;
//! a transformer's loss takes one weight per class, computed here.

use crate::error::{ExperimentError, Result};
use crate::spec::ClassWeights;

/// Checks that `weights` give one weight per class (of `k`).
pub fn check_class_weights(weights: &ClassWeights, k: usize) -> Result<()> {
    if let ClassWeights::Explicit(w) = weights {
        if w.len() != k {
            return Err(ExperimentError::Invalid(format!(
                "--class-weights gives {} weights but the data has {k} classes (in label order)",
                w.len()
            )));
        }
    }
    Ok(())
}

/// Per-class loss weights for a transformer's loss from `weights` and the training rows
/// per class (`counts`): `balanced` is n / (k · n_c). `None` without class weights.
pub fn class_weight_vector(weights: &ClassWeights, counts: &[usize]) -> Option<Vec<f32>> {
    let k = counts.len();
    let n: usize = counts.iter().sum();
    match weights {
        ClassWeights::None => None,
        ClassWeights::Balanced => Some(
            counts
                .iter()
                .map(|&c| n as f32 / (k as f32 * c.max(1) as f32))
                .collect(),
        ),
        ClassWeights::Explicit(w) => Some(w.iter().map(|&x| x as f32).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_are_n_over_k_n_c_and_counts_are_checked() {
        assert_eq!(class_weight_vector(&ClassWeights::None, &[3, 1]), None);
        assert_eq!(
            class_weight_vector(&ClassWeights::Balanced, &[3, 1]),
            Some(vec![4.0 / 6.0, 2.0])
        );
        let w = ClassWeights::Explicit(vec![1.0, 3.0]);
        assert_eq!(class_weight_vector(&w, &[3, 1]), Some(vec![1.0, 3.0]));
        assert!(check_class_weights(&w, 2).is_ok());
        let e = check_class_weights(&w, 3).unwrap_err().to_string();
        assert!(e.contains("2 weights but the data has 3 classes"), "{e}");
    }
}
