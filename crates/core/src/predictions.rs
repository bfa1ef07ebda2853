use crate::{Error, Result};

/// Class probabilities for `n` texts and `k` classes, row-major (`probs[i * k + c]`).
/// Every row sums to 1 (within float rounding).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    k: usize,
    probs: Vec<f32>,
}

impl Predictions {
    /// Wraps a row-major probability matrix with `k` columns.
    pub fn new(k: usize, probs: Vec<f32>) -> Result<Self> {
        if k == 0 || !probs.len().is_multiple_of(k) {
            return Err(Error::Invalid(format!(
                "a probability matrix of {} values cannot have {k} columns",
                probs.len()
            )));
        }
        Ok(Self { k, probs })
    }

    /// Turns raw scores (logits) into probabilities with a numerically stable softmax.
    pub fn from_logits(k: usize, mut logits: Vec<f32>) -> Result<Self> {
        if k == 0 || !logits.len().is_multiple_of(k) {
            return Err(Error::Invalid(format!(
                "a score matrix of {} values cannot have {k} columns",
                logits.len()
            )));
        }
        for row in logits.chunks_mut(k) {
            softmax_in_place(row);
        }
        Ok(Self { k, probs: logits })
    }

    /// Number of rows (texts).
    pub fn len(&self) -> usize {
        self.probs.len() / self.k
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.probs.is_empty()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.k
    }

    /// The probabilities of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.probs[i * self.k..(i + 1) * self.k]
    }

    /// All probabilities, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.probs
    }

    /// The most probable class of every row (the lowest id wins ties).
    pub fn argmax(&self) -> Vec<usize> {
        self.probs
            .chunks(self.k)
            .map(|r| {
                let mut best = 0;
                for (c, &p) in r.iter().enumerate() {
                    if p > r[best] {
                        best = c;
                    }
                }
                best
            })
            .collect()
    }

    /// Weighted average of several prediction matrices of the same shape (for ensembles).
    pub fn weighted_mean(parts: &[(&Predictions, f32)]) -> Result<Self> {
        let Some((first, _)) = parts.first() else {
            return Err(Error::Invalid("nothing to average".into()));
        };
        let total: f32 = parts.iter().map(|(_, w)| *w).sum();
        if total <= 0.0 {
            return Err(Error::Invalid(
                "ensemble weights must sum to more than 0".into(),
            ));
        }
        let mut out = vec![0f32; first.probs.len()];
        for (p, w) in parts {
            if p.k != first.k || p.probs.len() != first.probs.len() {
                return Err(Error::Invalid(format!(
                    "cannot average predictions of shape {}×{} and {}×{}",
                    first.len(),
                    first.k,
                    p.len(),
                    p.k
                )));
            }
            for (o, &v) in out.iter_mut().zip(&p.probs) {
                *o += v * w / total;
            }
        }
        Ok(Self {
            k: first.k,
            probs: out,
        })
    }
}

/// Softmax of one row of scores, in place.
pub(crate) fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_keep_order() {
        let p = Predictions::from_logits(3, vec![1.0, 2.0, 3.0, 1000.0, 0.0, -1000.0]).unwrap();
        for i in 0..p.len() {
            let s: f32 = p.row(i).iter().sum();
            assert!((s - 1.0).abs() < 1e-6);
        }
        assert_eq!(p.argmax(), vec![2, 0]);
    }

    #[test]
    fn shape_errors_are_reported() {
        assert!(Predictions::new(3, vec![0.5; 4]).is_err());
        let a = Predictions::new(2, vec![0.5; 4]).unwrap();
        let b = Predictions::new(2, vec![0.5; 6]).unwrap();
        assert!(Predictions::weighted_mean(&[(&a, 1.0), (&b, 1.0)]).is_err());
    }

    #[test]
    fn weighted_mean_averages() {
        let a = Predictions::new(2, vec![1.0, 0.0]).unwrap();
        let b = Predictions::new(2, vec![0.0, 1.0]).unwrap();
        let m = Predictions::weighted_mean(&[(&a, 3.0), (&b, 1.0)]).unwrap();
        assert!((m.row(0)[0] - 0.75).abs() < 1e-6);
    }
}
