//! Temperature scaling (Guo, Pleiss, Sun & Weinberger, "On calibration of modern neural
//! networks", ICML 2017): probabilities `softmax(s / T)` of a score vector `s`, with one
//! `T > 0` fitted by maximum likelihood on held-out rows. Dividing every score by the
//! same positive number keeps their order, so the most probable class is always the
//! class with the highest score: the decision rule C was chosen by.

/// Bounds of the fitted temperature.
pub const T_MIN: f64 = 1e-4;
pub const T_MAX: f64 = 1e4;

/// Fills `out` with `softmax(s / t)`.
pub fn softmax_scaled(s: &[f64], t: f64, out: &mut [f64]) {
    let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for (o, &v) in out.iter_mut().zip(s) {
        *o = ((v - m) / t).exp();
        z += *o;
    }
    out.iter_mut().for_each(|o| *o /= z);
}

/// Derivative in `a = 1/T` of the summed negative log-likelihood
/// `Σ_i [log Σ_c exp(a s_ic) − a s_{i,y_i}]`: `Σ_i (E_p[s_i] − s_{i,y_i})`, increasing in `a`.
fn nll_slope(scores: &[f64], k: usize, y: &[usize], a: f64) -> f64 {
    let mut p = vec![0f64; k];
    scores
        .chunks(k)
        .zip(y)
        .map(|(s, &yi)| {
            softmax_scaled(s, 1.0 / a, &mut p);
            let mean: f64 = p.iter().zip(s).map(|(p, s)| p * s).sum();
            mean - s[yi]
        })
        .sum()
}

/// The temperature that maximises the likelihood of labels `y` under `softmax(s / T)`
/// (`scores` row-major, `k` per row), found by bisection on the derivative in `log(1/T)`
/// (the likelihood is concave in `1/T`), within [[`T_MIN`], [`T_MAX`]].
pub fn fit(scores: &[f64], k: usize, y: &[usize]) -> f64 {
    if y.is_empty() || k < 2 {
        return 1.0;
    }
    let (mut lo, mut hi) = ((1.0 / T_MAX).ln(), (1.0 / T_MIN).ln());
    if nll_slope(scores, k, y, hi.exp()) <= 0.0 {
        return T_MIN;
    }
    if nll_slope(scores, k, y, lo.exp()) >= 0.0 {
        return T_MAX;
    }
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if nll_slope(scores, k, y, mid.exp()) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    1.0 / (0.5 * (lo + hi)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_temperature_of_synthetic_scores() {
        // Labels drawn (deterministically) from softmax(s / 2): the fit should find T ≈ 2.
        let k = 3;
        let mut scores = vec![];
        let mut y = vec![];
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut p = vec![0.0; k];
        for _ in 0..4000 {
            let s: Vec<f64> = (0..k).map(|_| 6.0 * next() - 3.0).collect();
            softmax_scaled(&s, 2.0, &mut p);
            let u = next();
            let label = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            scores.extend(s);
            y.push(label);
        }
        let t = fit(&scores, k, &y);
        assert!((t - 2.0).abs() < 0.25, "T = {t}");
    }

    #[test]
    fn scaling_keeps_the_order_of_the_scores() {
        let s = [0.3, -1.0, 2.5, 2.4];
        let mut p = vec![0.0; 4];
        for t in [T_MIN, 0.01, 1.0, 7.0, T_MAX] {
            softmax_scaled(&s, t, &mut p);
            assert!(
                p[2] >= p[3] && p[3] >= p[0] && p[0] >= p[1],
                "T = {t}: {p:?}"
            );
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
