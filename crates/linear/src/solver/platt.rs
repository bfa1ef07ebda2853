//! Platt scaling: maps decision values to probabilities `1 / (1 + exp(A·f + B))`.
//!
//! Platt, "Probabilistic outputs for support vector machines", 1999, with the
//! numerically robust Newton method and smoothed targets of Lin, Lin & Weng, "A note on
//! Platt's probabilistic outputs for support vector machines", Machine Learning 68, 2007.

use serde::{Deserialize, Serialize};

/// A fitted sigmoid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    /// Probability of the positive class for decision value `f`.
    pub fn prob(&self, f: f64) -> f64 {
        let z = self.a * f + self.b;
        if z >= 0.0 {
            (-z).exp() / (1.0 + (-z).exp())
        } else {
            1.0 / (1.0 + z.exp())
        }
    }

    /// Fits A and B on decision values `f` with labels `positive`.
    pub fn fit(f: &[f64], positive: &[bool]) -> Platt {
        let prior1 = positive.iter().filter(|&&p| p).count() as f64;
        let prior0 = positive.len() as f64 - prior1;
        let hi = (prior1 + 1.0) / (prior1 + 2.0);
        let lo = 1.0 / (prior0 + 2.0);
        let t: Vec<f64> = positive.iter().map(|&p| if p { hi } else { lo }).collect();
        let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
        let objective = |a: f64, b: f64| -> f64 {
            f.iter()
                .zip(&t)
                .map(|(&fi, &ti)| {
                    let z = fi * a + b;
                    if z >= 0.0 {
                        ti * z + (1.0 + (-z).exp()).ln()
                    } else {
                        (ti - 1.0) * z + (1.0 + z.exp()).ln()
                    }
                })
                .sum()
        };
        let mut fval = objective(a, b);
        let sigma = 1e-12;
        for _ in 0..100 {
            let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
            for (&fi, &ti) in f.iter().zip(&t) {
                let z = fi * a + b;
                let (p, q) = if z >= 0.0 {
                    ((-z).exp() / (1.0 + (-z).exp()), 1.0 / (1.0 + (-z).exp()))
                } else {
                    (1.0 / (1.0 + z.exp()), z.exp() / (1.0 + z.exp()))
                };
                let d2 = p * q;
                h11 += fi * fi * d2;
                h22 += d2;
                h21 += fi * d2;
                let d1 = ti - p;
                g1 += fi * d1;
                g2 += d1;
            }
            if g1.abs() < 1e-5 && g2.abs() < 1e-5 {
                break;
            }
            let det = h11 * h22 - h21 * h21;
            let da = -(h22 * g1 - h21 * g2) / det;
            let db = -(-h21 * g1 + h11 * g2) / det;
            let gd = g1 * da + g2 * db;
            let mut step = 1.0;
            let mut moved = false;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = objective(na, nb);
                if nf < fval + 1e-4 * step * gd {
                    a = na;
                    b = nb;
                    fval = nf;
                    moved = true;
                    break;
                }
                step /= 2.0;
            }
            if !moved {
                break;
            }
        }
        Platt { a, b }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scores_get_higher_probability_and_fit_is_calibrated() {
        // Scores whose true positive rate is sigmoid(2f).
        let mut f = vec![];
        let mut y = vec![];
        for i in 0..2000 {
            let fi = (i as f64 / 1000.0) - 1.0;
            let p = 1.0 / (1.0 + (-2.0 * fi).exp());
            f.push(fi);
            y.push(((i * 7919) % 1000) as f64 / 1000.0 < p);
        }
        let s = Platt::fit(&f, &y);
        assert!(s.prob(1.0) > s.prob(0.0) && s.prob(0.0) > s.prob(-1.0));
        assert!((s.a + 2.0).abs() < 0.3, "A = {}", s.a);
        assert!((s.prob(0.0) - 0.5).abs() < 0.05);
    }
}
