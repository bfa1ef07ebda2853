//! Dual coordinate descent for multinomial logistic regression without intercepts: the
//! maximum-entropy dual of Yu, Huang & Lin (2011, "Dual coordinate descent methods for
//! logistic regression and maximum entropy models", Machine Learning 85), solved one row
//! at a time. Measured against [`super::lbfgs`] by `bench/multinomial_solvers.sh`; the
//! `baseline` command does not use it (see BENCHMARKS.md for why).
//!
//! **Problem.** The primal is L-BFGS's objective with `b = 0`:
//! `½‖W‖² + Σ_i C_i · CE(softmax(W x_i), y_i)`, `C_i = C · weight_i`. Its dual has one
//! variable per row and class, `α_ic ≥ 0` with `Σ_c α_ic = C_i`, and
//! `w_c = Σ_i x_i (C_i [c = y_i] − α_ic)`; it minimises
//! `½‖W(α)‖² + Σ_ic α_ic log α_ic`. At the optimum `α_ic = C_i · p_c(x_i)`.
//!
//! **One row's block.** With `a = ‖x_i‖²` and the current scores `s_c = w_c · x_i`,
//! moving `α_i` to `z` changes the dual by
//! `Σ_c [½ a (z_c − α_ic)² − (z_c − α_ic) s_c + z_c log z_c] − …`; its minimiser on the
//! simplex `Σ z = C_i` satisfies `a z_c + log z_c = t_c + λ` with `t_c = s_c + a α_ic` and
//! one multiplier `λ`. Each `z_c(λ)` is the root of an increasing convex function (found
//! by Newton's method in `log z`), and `Σ_c z_c(λ)` is increasing and convex in `λ`, so
//! Newton's method from a `λ` where the sum is at least `C_i` converges monotonically.
//! The block is solved to machine precision; then `W` moves by `−(z_c − α_ic) x_i` per
//! class. An epoch visits every row once, in a seeded random order, and costs about two
//! passes over the non-zeros times `k` (one for the scores, one for the update): about
//! what one L-BFGS evaluation costs, on one core.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::lbfgs::{SoftmaxModel, SoftmaxProblem};

/// When the dual solver stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftmaxDualOptions {
    /// Stop when no row's block moved by more than `tol · C_i` (largest `|z_c − α_ic|`)
    /// in an epoch.
    pub tol: f64,
    pub max_epochs: usize,
    pub seed: u64,
}

impl Default for SoftmaxDualOptions {
    fn default() -> Self {
        Self {
            tol: 1e-3,
            max_epochs: 100,
            seed: 1,
        }
    }
}

/// Root `v` of `a·e^v + v = u` (`a ≥ 0`) by Newton's method, from `start` when it is
/// finite. `f(v) = a e^v + v − u` is increasing and convex, so a Newton step from any
/// point lands at or right of the root, and the steps from there decrease monotonically
/// onto it.
fn log_root(a: f64, u: f64, start: f64) -> f64 {
    if a <= 0.0 {
        return u;
    }
    // A point right of the root: f(u) = a e^u ≥ 0, and when u ≥ a, f(ln(u/a)) = ln(u/a)
    // ≥ 0 is much nearer. Steps are capped there, so that one from far left of the root
    // cannot overshoot into overflow.
    let right = if u > a { (u / a).ln().min(u) } else { u };
    let mut v = if start.is_finite() {
        start.min(right)
    } else {
        right
    };
    for _ in 0..100 {
        let e = a * v.exp();
        let step = (e + v - u) / (e + 1.0);
        v = (v - step).min(right);
        if step.abs() <= 1e-13 * (1.0 + v.abs()) {
            break;
        }
    }
    v
}

/// The minimiser `z` of one row's block (see the module documentation): `Σ z = total`,
/// `a z_c + log z_c = t_c + λ`. On entry `z` holds positive starting guesses (the current
/// `α_i`) and `lambda` the row's multiplier from its last visit (NaN on the first);
/// Newton's method on the convex increasing `Σ z(λ)` lands at or right of the root from
/// any start, so both are only starting points.
fn solve_block(a: f64, t: &[f64], total: f64, lambda: &mut f64, z: &mut [f64]) {
    let tmax = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if a <= 0.0 {
        // An empty row: z is the softmax of t, scaled to the total.
        let mut sum = 0.0;
        for (zc, &tc) in z.iter_mut().zip(t) {
            *zc = (tc - tmax).exp();
            sum += *zc;
        }
        for zc in z.iter_mut() {
            *zc *= total / sum;
        }
        return;
    }
    // At this λ the largest class alone reaches the total, so it is right of the root;
    // steps are capped there, as in `log_root`.
    let right = a * total + total.ln() - tmax;
    let mut lam = if lambda.is_finite() {
        lambda.min(right)
    } else {
        right
    };
    for _ in 0..100 {
        let (mut sum, mut slope) = (0.0, 0.0);
        for (zc, &tc) in z.iter_mut().zip(t) {
            let start = if *zc > 0.0 { zc.ln() } else { f64::NAN };
            *zc = log_root(a, tc + lam, start).exp();
            sum += *zc;
            slope += *zc / (a * *zc + 1.0);
        }
        let excess = sum - total;
        if excess.abs() <= 1e-12 * total || slope <= 0.0 {
            break;
        }
        let step = excess / slope;
        lam = (lam - step).min(right);
        if step.abs() <= 1e-15 * (1.0 + lam.abs()) {
            break;
        }
    }
    *lambda = lam;
    // Spread the last rounding error so that the block sums to its total exactly.
    let sum: f64 = z.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        for zc in z.iter_mut() {
            *zc *= total / sum;
        }
    }
}

/// Fits the model at `c` (no intercepts: the returned `b` is zero). `after_epoch` is
/// called after every epoch with the epoch number and the current weights
/// (feature-major); returning `false` stops the solver there.
pub fn softmax_dual(
    p: SoftmaxProblem,
    c: f64,
    opt: &SoftmaxDualOptions,
    after_epoch: &mut dyn FnMut(usize, &[f64]) -> bool,
) -> SoftmaxModel {
    let (n, k, d) = (p.x.nrows(), p.k, p.x.ncols);
    let totals: Vec<f64> = p.weight.iter().map(|&w| c * w).collect();
    // Start near W = 0: almost all of each row's total on its own class.
    let mut alpha = vec![0f64; n * k];
    let mut w = vec![0f64; d * k];
    let eps = 1e-3 / k as f64;
    for i in 0..n {
        let row = &mut alpha[i * k..(i + 1) * k];
        for (cl, a) in row.iter_mut().enumerate() {
            *a = if cl == p.y[i] {
                totals[i] * (1.0 - eps * (k - 1) as f64)
            } else {
                totals[i] * eps
            };
        }
        let (idx, val) = p.x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            let wj = &mut w[j as usize * k..(j as usize + 1) * k];
            for (cl, o) in wj.iter_mut().enumerate() {
                let target = if cl == p.y[i] { totals[i] } else { 0.0 };
                *o += v as f64 * (target - row[cl]);
            }
        }
    }
    let sq_norm: Vec<f64> = (0..n)
        .map(|i| p.x.row(i).1.iter().map(|&v| (v as f64) * (v as f64)).sum())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(opt.seed);
    let (mut t, mut z) = (vec![0f64; k], vec![0f64; k]);
    let mut lambdas = vec![f64::NAN; n];
    let mut epochs = 0;
    let mut converged = false;
    while epochs < opt.max_epochs {
        epochs += 1;
        order.shuffle(&mut rng);
        let mut largest = 0f64;
        for &i in &order {
            if totals[i] <= 0.0 {
                continue;
            }
            let (idx, val) = p.x.row(i);
            let a = sq_norm[i];
            let ai = &mut alpha[i * k..(i + 1) * k];
            for (tc, &ac) in t.iter_mut().zip(ai.iter()) {
                *tc = a * ac;
            }
            for (&j, &v) in idx.iter().zip(val) {
                let wj = &w[j as usize * k..(j as usize + 1) * k];
                for (tc, &wv) in t.iter_mut().zip(wj) {
                    *tc += v as f64 * wv;
                }
            }
            z.copy_from_slice(ai);
            solve_block(a, &t, totals[i], &mut lambdas[i], &mut z);
            let mut moved = 0f64;
            for (zc, ac) in z.iter_mut().zip(ai.iter_mut()) {
                let delta = *zc - *ac;
                *ac = *zc;
                *zc = delta;
                moved = moved.max(delta.abs());
            }
            largest = largest.max(moved / totals[i]);
            for (&j, &v) in idx.iter().zip(val) {
                let wj = &mut w[j as usize * k..(j as usize + 1) * k];
                for (o, &delta) in wj.iter_mut().zip(z.iter()) {
                    *o -= v as f64 * delta;
                }
            }
        }
        let go_on = after_epoch(epochs, &w);
        if largest <= opt.tol {
            converged = true;
            break;
        }
        if !go_on {
            break;
        }
    }
    let mut model = SoftmaxModel {
        k,
        d,
        w,
        b: vec![0.0; k],
        c,
        iterations: epochs,
        evaluations: epochs,
        objective: f64::NAN,
        grad_max: f64::NAN,
        converged,
    };
    model.objective = super::lbfgs::scaled_objective(&p, &model, c);
    model
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::lbfgs::{scaled_objective, softmax, LbfgsOptions};
    use crate::sparse::CsrMatrix;

    #[test]
    fn the_row_root_solves_its_equation() {
        for (a, u) in [
            (1.0, -30.0),
            (1.0, 0.0),
            (1.0, 50.0),
            (0.3, 5.0),
            (7.0, 2.0),
        ] {
            for start in [f64::NAN, -40.0, 0.0, 60.0] {
                let v = log_root(a, u, start);
                let f = a * f64::exp(v) + v - u;
                assert!(
                    f.abs() < 1e-9 * (1.0 + u.abs()),
                    "a {a} u {u} from {start}: residual {f}"
                );
            }
        }
    }

    #[test]
    fn a_block_is_on_the_simplex_and_stationary() {
        let t = [0.5, -2.0, 3.0, 0.0];
        for (a, total, start) in [
            (1.0, 4.0, f64::NAN),
            (0.5, 0.01, f64::NAN),
            (2.0, 300.0, f64::NAN),
            // From multipliers left and right of the root, and poor guesses of z.
            (1.0, 4.0, -50.0),
            (1.0, 4.0, 50.0),
            (2.0, 300.0, 0.0),
        ] {
            let mut z = [1e-9, 3.0, 0.5, 200.0];
            let mut lambda = start;
            solve_block(a, &t, total, &mut lambda, &mut z);
            let sum: f64 = z.iter().sum();
            assert!((sum - total).abs() < 1e-9 * total, "sum {sum} vs {total}");
            assert!(z.iter().all(|&v| v > 0.0));
            // a z_c + log z_c − t_c is the same for every class.
            let l: Vec<f64> = z
                .iter()
                .zip(&t)
                .map(|(&zc, &tc)| a * zc + zc.ln() - tc)
                .collect();
            for v in &l {
                assert!((v - l[0]).abs() < 1e-6, "not stationary: {l:?}");
            }
        }
    }

    fn problem() -> (CsrMatrix, Vec<usize>) {
        // 120 rows, 3 classes, 8 features, overlapping classes (not separable).
        let mut rows = vec![];
        let mut y = vec![];
        for i in 0..120usize {
            let cl = i % 3;
            let mut feats = vec![(cl as u32, 1.0f32), ((3 + (i * 7) % 5) as u32, 0.5)];
            if i % 4 == 0 {
                feats.push((((cl + 1) % 3) as u32, 0.8));
            }
            feats.sort_by_key(|f| f.0);
            let norm = feats.iter().map(|f| f.1 * f.1).sum::<f32>().sqrt();
            rows.push(feats.into_iter().map(|(j, v)| (j, v / norm)).collect());
            y.push(cl);
        }
        (CsrMatrix::from_rows(rows, 8), y)
    }

    #[test]
    fn reaches_the_lbfgs_optimum_without_intercepts() {
        let (x, y) = problem();
        let wt: Vec<f64> = (0..120).map(|i| 1.0 + (i % 2) as f64).collect();
        let p = SoftmaxProblem {
            x: &x,
            y: &y,
            weight: &wt,
            k: 3,
        };
        for c in [0.1, 1.0, 10.0] {
            let reference = softmax(
                p,
                c,
                &LbfgsOptions {
                    gtol: 1e-10,
                    max_iter: 10_000,
                    intercept: false,
                    ..Default::default()
                },
            );
            assert!(reference.b.iter().all(|&b| b == 0.0));
            let mut objectives = vec![];
            let dual = softmax_dual(
                p,
                c,
                &SoftmaxDualOptions {
                    tol: 1e-10,
                    max_epochs: 2000,
                    seed: 3,
                },
                &mut |_, w| {
                    let m = SoftmaxModel {
                        w: w.to_vec(),
                        ..reference.clone()
                    };
                    objectives.push(scaled_objective(&p, &m, c));
                    true
                },
            );
            assert!(dual.converged, "C {c}: not converged in 2000 epochs");
            let gap = (dual.objective - reference.objective) / reference.objective;
            assert!(
                gap.abs() < 1e-7,
                "C {c}: dual {} vs L-BFGS {}",
                dual.objective,
                reference.objective
            );
            for (a, b) in dual.w.iter().zip(&reference.w) {
                assert!(
                    (a - b).abs() < 1e-3 * (1.0 + b.abs()),
                    "C {c}: weight {a} vs {b}"
                );
            }
            // Each epoch lowers the dual, and the primal ends at the optimum: the first
            // epoch's primal is above the last.
            assert!(objectives[0] >= *objectives.last().unwrap() - 1e-12);
        }
    }
}
