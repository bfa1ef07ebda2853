//! Row-resampling bootstrap: over confusion cells for the counting metrics
//! ([`bootstrap_counts`]), over row weights for metrics that are not sums over cells
//! (multi-label F1, correlations; [`bootstrap_weights`]), the percentile interval of
//! either, and a paired difference of one metric between two models.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Nonparametric bootstrap over `n` rows (Efron 1979): each resample draws `n` row
/// indices uniformly with replacement, and `visit` receives `weights[i]`, the number of
/// times row `i` was drawn (the weights sum to `n`). Deterministic for a given `seed`.
///
/// The draws are the very ones [`bootstrap_counts`] makes for the same
/// `n`, `resamples` and `seed`, so an interval computed here and one computed there with
/// the same options come from the same resamples. Passing the same weights to two
/// models' metrics makes the bootstrap *paired*.
pub(crate) fn bootstrap_weights(
    n: usize,
    resamples: usize,
    seed: u64,
    mut visit: impl FnMut(&[u32]),
) {
    if n == 0 {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = vec![0u32; n];
    for _ in 0..resamples {
        weights.fill(0);
        for _ in 0..n {
            weights[rng.random_range(0..n)] += 1;
        }
        visit(&weights);
    }
}

/// The percentile interval of the resamples on which a metric is defined (`Some`);
/// `None` when it is defined on none of them.
pub(crate) fn defined_interval(values: Vec<Option<f64>>, level: f64) -> Option<[f64; 2]> {
    let mut v: Vec<f64> = values.into_iter().flatten().collect();
    if v.is_empty() {
        None
    } else {
        Some(percentile_interval(&mut v, level))
    }
}

/// One metric of two models on the same rows. Differences are B − A.
///
/// A metric that is undefined on some input (a correlation of a constant column, for
/// instance) is `None` there; its difference is then `None` as well, and the interval
/// uses only the resamples on which both models' metric is defined.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MetricDiff {
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// `b - a`.
    pub diff: Option<f64>,
    /// Paired percentile-bootstrap interval of `diff` (every resample draws the same rows
    /// for both models); collapses onto `diff` when the bootstrap was skipped.
    pub diff_ci: Option<[f64; 2]>,
}

/// Collects one metric of A and B over the paired resamples and builds its
/// [`MetricDiff`].
pub(crate) struct DiffCollector {
    a: Option<f64>,
    b: Option<f64>,
    diffs: Vec<Option<f64>>,
}

impl DiffCollector {
    pub(crate) fn new(a: Option<f64>, b: Option<f64>, resamples: usize) -> Self {
        Self {
            a,
            b,
            diffs: Vec::with_capacity(resamples),
        }
    }

    /// Records one resample's values of A and B.
    pub(crate) fn push(&mut self, a: Option<f64>, b: Option<f64>) {
        self.diffs.push(a.zip(b).map(|(a, b)| b - a));
    }

    /// The result; with no resamples recorded the interval collapses onto the difference.
    pub(crate) fn finish(self, level: f64) -> MetricDiff {
        let diff = self.a.zip(self.b).map(|(a, b)| b - a);
        let diff_ci = if self.diffs.is_empty() {
            diff.map(|d| [d, d])
        } else {
            diff.and(defined_interval(self.diffs, level))
        };
        MetricDiff {
            a: self.a,
            b: self.b,
            diff,
            diff_ci,
        }
    }
}

/// Nonparametric bootstrap over rows (Efron 1979): each resample draws `n` row indices
/// uniformly with replacement and counts, for every table in `tables`, how often each
/// cell id occurs among the drawn rows. The same drawn rows are used for every table,
/// which makes the bootstrap *paired* when several tables are given. `visit` receives the
/// counts of each resample. Deterministic for a given `seed`.
pub(crate) fn bootstrap_counts(
    tables: &[&[u32]],
    n_cells: usize,
    resamples: usize,
    seed: u64,
    mut visit: impl FnMut(&[Vec<u64>]),
) {
    let n = tables.first().map_or(0, |t| t.len());
    if n == 0 {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut counts = vec![vec![0u64; n_cells]; tables.len()];
    for _ in 0..resamples {
        for c in &mut counts {
            c.fill(0);
        }
        match tables {
            [t] => {
                let c = &mut counts[0];
                for _ in 0..n {
                    c[t[rng.random_range(0..n)] as usize] += 1;
                }
            }
            _ => {
                for _ in 0..n {
                    let i = rng.random_range(0..n);
                    for (t, c) in tables.iter().zip(counts.iter_mut()) {
                        c[t[i] as usize] += 1;
                    }
                }
            }
        }
        visit(&counts);
    }
}

/// The `(1 − level)/2` and `(1 + level)/2` quantiles of `values` (linear interpolation
/// between order statistics, Hyndman & Fan 1996 type 7). Sorts `values`.
pub(crate) fn percentile_interval(values: &mut [f64], level: f64) -> [f64; 2] {
    values.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    [quantile(values, alpha), quantile(values, 1.0 - alpha)]
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        m => {
            let h = (m - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(m - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn quantiles_interpolate() {
        let mut v: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        let [lo, hi] = percentile_interval(&mut v, 0.9);
        close(lo, 5.0, 1e-9);
        close(hi, 95.0, 1e-9);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
    }

    #[test]
    fn weights_are_the_draws_of_bootstrap_counts() {
        // Cell id = row index, so the counts of bootstrap_counts are the weights.
        let n = 37;
        let cells: Vec<u32> = (0..n as u32).collect();
        let mut from_counts = Vec::new();
        bootstrap_counts(&[&cells], n, 5, 9, |c| from_counts.push(c[0].clone()));
        let mut from_weights = Vec::new();
        bootstrap_weights(n, 5, 9, |w| {
            from_weights.push(w.iter().map(|&x| u64::from(x)).collect::<Vec<u64>>())
        });
        assert_eq!(from_counts, from_weights);
        assert!(from_weights
            .iter()
            .all(|w| w.iter().sum::<u64>() == n as u64));
        let mut calls = 0;
        bootstrap_weights(0, 5, 9, |_| calls += 1);
        assert_eq!(calls, 0);
    }

    #[test]
    fn undefined_values_are_left_out_of_intervals() {
        assert_eq!(defined_interval(vec![None, None], 0.9), None);
        let [lo, hi] = defined_interval(vec![Some(1.0), None, Some(3.0)], 0.5).unwrap();
        assert_eq!((lo, hi), (1.5, 2.5));
        let mut d = DiffCollector::new(Some(0.5), Some(0.7), 2);
        d.push(Some(0.5), None);
        d.push(Some(0.4), Some(0.8));
        let m = d.finish(0.95);
        assert!((m.diff.unwrap() - 0.2).abs() < 1e-12);
        let ci = m.diff_ci.unwrap();
        assert!((ci[0] - 0.4).abs() < 1e-12 && (ci[1] - 0.4).abs() < 1e-12);
        let m = DiffCollector::new(None, Some(0.7), 0).finish(0.95);
        assert_eq!((m.diff, m.diff_ci), (None, None));
        let m = DiffCollector::new(Some(0.1), Some(0.7), 0).finish(0.95);
        assert_eq!(m.diff_ci, m.diff.map(|d| [d, d]));
    }
}
