//! Multinomial (softmax) logistic regression trained with L-BFGS (Nocedal 1980; Liu &
//! Nocedal 1989), two-loop recursion with an Armijo backtracking line search.
//!
//! Objective, as scikit-learn's `lbfgs` solver: `½‖W‖² + Σ_i cost_i · CE(softmax(W x_i + b), y_i)`
//! with the intercepts `b` not regularised.

use rayon::prelude::*;

use super::SolverOptions;
use crate::sparse::CsrMatrix;

/// Weights of a `k`-class softmax model: `w[c * d + j]`, intercepts `b[c]`.
#[derive(Debug, Clone)]
pub struct SoftmaxModel {
    pub k: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    pub iterations: usize,
}

struct Problem<'a> {
    x: &'a CsrMatrix,
    y: &'a [usize],
    cost: &'a [f64],
    k: usize,
}

impl Problem<'_> {
    /// Objective and gradient at `theta` = [W (k×d) | b (k)].
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (k, d, n) = (self.k, self.x.ncols, self.x.nrows());
        let (w, b) = theta.split_at(k * d);
        // Per row: the residual cost·(p − onehot) and the loss.
        let mut resid = vec![0f64; n * k];
        let loss: f64 = resid
            .par_chunks_mut(k)
            .enumerate()
            .map(|(i, r)| {
                let (idx, val) = self.x.row(i);
                for c in 0..k {
                    let wc = &w[c * d..(c + 1) * d];
                    r[c] = b[c] + crate::sparse::dot(idx, val, wc);
                }
                let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut z = 0.0;
                for v in r.iter_mut() {
                    *v = (*v - m).exp();
                    z += *v;
                }
                let yi = self.y[i];
                let loss = -(r[yi] / z).ln();
                for (c, v) in r.iter_mut().enumerate() {
                    *v = self.cost[i] * (*v / z - if c == yi { 1.0 } else { 0.0 });
                }
                self.cost[i] * loss
            })
            .sum();
        let (gw, gb) = grad.split_at_mut(k * d);
        gw.copy_from_slice(w);
        gw.par_chunks_mut(d).enumerate().for_each(|(c, g)| {
            for i in 0..n {
                let (idx, val) = self.x.row(i);
                crate::sparse::axpy(resid[i * k + c], idx, val, g);
            }
        });
        for (c, g) in gb.iter_mut().enumerate() {
            *g = (0..n).map(|i| resid[i * k + c]).sum();
        }
        loss + 0.5 * w.iter().map(|v| v * v).sum::<f64>()
    }
}

/// Fits the softmax model. `y[i] ∈ 0..k`.
pub fn softmax(
    x: &CsrMatrix,
    y: &[usize],
    cost: &[f64],
    k: usize,
    opt: &SolverOptions,
) -> SoftmaxModel {
    let d = x.ncols;
    let p = Problem { x, y, cost, k };
    let dim = k * d + k;
    let mem = 10;
    let mut theta = vec![0f64; dim];
    let mut g = vec![0f64; dim];
    let mut f = p.eval(&theta, &mut g);
    let g0 = inf_norm(&g).max(1e-12);
    let mut s_hist: Vec<Vec<f64>> = vec![];
    let mut y_hist: Vec<Vec<f64>> = vec![];
    let mut iter = 0;
    let mut new_g = vec![0f64; dim];
    while iter < opt.max_iter {
        iter += 1;
        // Two-loop recursion: direction = −H·g.
        let mut q = g.clone();
        let mut alphas = vec![0f64; s_hist.len()];
        for j in (0..s_hist.len()).rev() {
            let rho = 1.0 / dotv(&y_hist[j], &s_hist[j]);
            alphas[j] = rho * dotv(&s_hist[j], &q);
            axpyv(-alphas[j], &y_hist[j], &mut q);
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(yv)) => dotv(s, yv) / dotv(yv, yv),
            _ => 1.0 / inf_norm(&g).max(1.0),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for j in 0..s_hist.len() {
            let rho = 1.0 / dotv(&y_hist[j], &s_hist[j]);
            let beta = rho * dotv(&y_hist[j], &q);
            axpyv(alphas[j] - beta, &s_hist[j], &mut q);
        }
        let dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let slope = dotv(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            continue;
        }
        // Armijo backtracking.
        let mut step = 1.0;
        let mut trial = vec![0f64; dim];
        let mut f_new;
        loop {
            for ((t, th), dv) in trial.iter_mut().zip(&theta).zip(&dir) {
                *t = th + step * dv;
            }
            f_new = p.eval(&trial, &mut new_g);
            if f_new <= f + 1e-4 * step * slope || step < 1e-10 {
                break;
            }
            step *= 0.5;
        }
        let s: Vec<f64> = trial.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = new_g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let rel_decrease = (f - f_new) / f.abs().max(1.0);
        theta = trial;
        std::mem::swap(&mut g, &mut new_g);
        f = f_new;
        if dotv(&s, &yv) > 1e-12 {
            s_hist.push(s);
            y_hist.push(yv);
            if s_hist.len() > mem {
                s_hist.remove(0);
                y_hist.remove(0);
            }
        }
        if inf_norm(&g) <= opt.tol * 1e-2 * g0 || rel_decrease < 1e-10 {
            break;
        }
    }
    let b = theta.split_off(k * d);
    SoftmaxModel {
        k,
        w: theta,
        b,
        iterations: iter,
    }
}

fn dotv(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpyv(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_class_toy_is_learned_and_gradient_vanishes() {
        let mut rows = vec![];
        let mut y = vec![];
        for i in 0..90 {
            let c = i % 3;
            let j = ((i * 7) % 5) as f32 / 10.0;
            rows.push(vec![(c as u32, 1.0 + j), (3, 0.5)]);
            y.push(c);
        }
        let x = CsrMatrix::from_rows(rows, 4);
        let cost = vec![1.0; 90];
        let m = softmax(
            &x,
            &y,
            &cost,
            3,
            &SolverOptions {
                tol: 1e-6,
                max_iter: 500,
                seed: 0,
            },
        );
        for (i, &yi) in y.iter().enumerate() {
            let (idx, val) = x.row(i);
            let scores: Vec<f64> = (0..3)
                .map(|c| m.b[c] + crate::sparse::dot(idx, val, &m.w[c * 4..(c + 1) * 4]))
                .collect();
            let best = (0..3)
                .max_by(|&a, &b| scores[a].partial_cmp(&scores[b]).unwrap())
                .unwrap();
            assert_eq!(best, yi);
        }
        let p = Problem {
            x: &x,
            y: &y,
            cost: &cost,
            k: 3,
        };
        let mut theta = m.w.clone();
        theta.extend(&m.b);
        let mut g = vec![0.0; theta.len()];
        p.eval(&theta, &mut g);
        assert!(inf_norm(&g) < 1e-3, "gradient {}", inf_norm(&g));
    }
}
