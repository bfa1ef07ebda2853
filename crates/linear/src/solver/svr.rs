//! L2-loss linear support vector regression by dual coordinate descent.
//!
//! Ho & Lin, "Large-scale Linear Support Vector Regression", JMLR 13, 2012 (Algorithm 3;
//! LIBLINEAR's `-s 12`). The primal problem is
//! `min ½‖w‖² + C Σᵢ max(0, |yᵢ − w·xᵢ| − ε)²`; its dual, over one unbounded `βᵢ` per row
//! with `w = Σᵢ βᵢ xᵢ`, is
//! `min ½ βᵀ(Q + λI)β − yᵀβ + ε‖β‖₁` with `Q = XXᵀ` and `λ = 1/(2C)`. Each coordinate
//! step solves its one-variable problem exactly (a Newton step on a piecewise quadratic);
//! the descent stops when the summed violation of the optimality conditions has fallen
//! below `tol` times its value after the first pass, as LIBLINEAR does.
//!
//! The intercept is the weight of a constant feature `bias` and is regularised, as in
//! LIBLINEAR.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::SolverOptions;
use crate::sparse::{axpy, dot, CsrMatrix};

/// A fitted SVR: prediction `w·x + b`, and the passes used.
#[derive(Debug, Clone)]
pub struct SvrModel {
    pub w: Vec<f64>,
    pub b: f64,
    pub iterations: usize,
}

/// Solves the L2-loss SVR with cost `c` and insensitivity `epsilon`.
pub fn svr_l2_loss(
    x: &CsrMatrix,
    y: &[f64],
    c: f64,
    epsilon: f64,
    bias: f64,
    opt: &SolverOptions,
) -> SvrModel {
    let l = y.len();
    let mut w = vec![0f64; x.ncols];
    let mut wb = 0f64;
    let mut beta = vec![0f64; l];
    let lambda = 0.5 / c;
    let qd: Vec<f64> = x
        .row_sq_norms()
        .iter()
        .map(|n| n + bias * bias + lambda)
        .collect();
    let mut index: Vec<usize> = (0..l).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(opt.seed);
    let mut first_violation = None;
    let mut iter = 0;
    while iter < opt.max_iter {
        iter += 1;
        index.shuffle(&mut rng);
        let mut violation = 0f64;
        for &i in &index {
            let (idx, val) = x.row(i);
            let g = dot(idx, val, &w) + wb * bias - y[i] + lambda * beta[i];
            let h = qd[i];
            let (gp, gn) = (g + epsilon, g - epsilon);
            violation += if beta[i] == 0.0 {
                if gp < 0.0 {
                    -gp
                } else if gn > 0.0 {
                    gn
                } else {
                    0.0
                }
            } else if beta[i] > 0.0 {
                gp.abs()
            } else {
                gn.abs()
            };
            let d = if gp < h * beta[i] {
                -gp / h
            } else if gn > h * beta[i] {
                -gn / h
            } else {
                -beta[i]
            };
            if d.abs() < 1e-12 {
                continue;
            }
            beta[i] += d;
            axpy(d, idx, val, &mut w);
            wb += d * bias;
        }
        let first = *first_violation.get_or_insert(violation);
        if violation <= opt.tol * first {
            break;
        }
    }
    SvrModel {
        w,
        b: wb * bias,
        iterations: iter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (CsrMatrix, Vec<f64>) {
        // y = 2·x0 − x1 + 0.5 exactly, on 60 rows.
        let mut rows = vec![];
        let mut y = vec![];
        for i in 0..60 {
            let a = ((i * 7) % 11) as f32 / 5.0;
            let b = ((i * 5) % 13) as f32 / 6.0;
            rows.push(vec![(0, a), (1, b)]);
            y.push(2.0 * a as f64 - b as f64 + 0.5);
        }
        (CsrMatrix::from_rows(rows, 2), y)
    }

    #[test]
    fn recovers_a_linear_target() {
        let (x, y) = data();
        let opt = SolverOptions {
            tol: 1e-6,
            max_iter: 5000,
            seed: 3,
        };
        let m = svr_l2_loss(&x, &y, 100.0, 0.0, 1.0, &opt);
        assert!((m.w[0] - 2.0).abs() < 0.02, "{:?}", m.w);
        assert!((m.w[1] + 1.0).abs() < 0.02, "{:?}", m.w);
        assert!((m.b - 0.5).abs() < 0.05, "{}", m.b);
    }

    #[test]
    fn the_tube_leaves_small_residuals_unpenalised() {
        // With ε larger than every |y|, w = 0 is optimal: nothing moves.
        let (x, y) = data();
        let big = y.iter().fold(0f64, |m, v| m.max(v.abs())) + 1.0;
        let m = svr_l2_loss(&x, &y, 1.0, big, 1.0, &SolverOptions::default());
        assert!(m.w.iter().all(|&v| v == 0.0) && m.b == 0.0);
        // A small C shrinks the weights towards 0 compared with a large one.
        let opt = SolverOptions {
            tol: 1e-6,
            ..Default::default()
        };
        let small = svr_l2_loss(&x, &y, 0.001, 0.0, 1.0, &opt);
        let large = svr_l2_loss(&x, &y, 10.0, 0.0, 1.0, &opt);
        assert!(small.w[0].abs() < large.w[0].abs());
    }
}
