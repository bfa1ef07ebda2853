//! Ridge regression on a sparse matrix by conjugate gradients.
//!
//! Minimises `½ Σᵢ (yᵢ − w·xᵢ − b)² + ½ α ‖w‖²` with the intercept `b` not penalised.
//! As scikit-learn's `Ridge` does for sparse input, the columns are centred implicitly:
//! with column means `x̄` and target mean `ȳ`, `w` solves
//! `(X_cᵀ X_c + α I) w = X_cᵀ (y − ȳ)` where `X_c = X − 1 x̄ᵀ`, and `b = ȳ − x̄·w`. The
//! centred matrix is never formed: `X_c v = X v − (x̄·v) 1`, and since the entries of
//! `X_c v` (and of `y − ȳ`) sum to zero, `X_cᵀ u = Xᵀ u` for them. The system is
//! symmetric positive definite for α > 0, so conjugate gradients (Hestenes & Stiefel
//! 1952) converge; each iteration costs two passes over the non-zeros.

use rayon::prelude::*;

use crate::sparse::{axpy, dot, CsrMatrix};

/// A fitted ridge model and the iterations used.
#[derive(Debug, Clone)]
pub struct RidgeModel {
    pub w: Vec<f64>,
    pub b: f64,
    pub iterations: usize,
}

/// Solves ridge regression with penalty `alpha` until the residual norm of the normal
/// equations falls below `tol` times that of their right-hand side (or `max_iter`).
pub fn ridge(x: &CsrMatrix, y: &[f64], alpha: f64, tol: f64, max_iter: usize) -> RidgeModel {
    let n = x.nrows();
    let d = x.ncols;
    let nf = n.max(1) as f64;
    let y_mean = y.iter().sum::<f64>() / nf;
    let mut x_mean = vec![0f64; d];
    for i in 0..n {
        let (idx, val) = x.row(i);
        axpy(1.0 / nf, idx, val, &mut x_mean);
    }
    // Xᵀ u, for u summing to zero (= X_cᵀ u).
    let xt = |u: &[f64]| {
        let mut out = vec![0f64; d];
        for (i, &ui) in u.iter().enumerate() {
            if ui != 0.0 {
                let (idx, val) = x.row(i);
                axpy(ui, idx, val, &mut out);
            }
        }
        out
    };
    // (X_cᵀ X_c + α I) v.
    let normal = |v: &[f64]| {
        let shift = x_mean.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
        let u: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|i| {
                let (idx, val) = x.row(i);
                dot(idx, val, v) - shift
            })
            .collect();
        let mut out = xt(&u);
        for (o, &vi) in out.iter_mut().zip(v) {
            *o += alpha * vi;
        }
        out
    };
    let centred: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
    let rhs = xt(&centred);
    let dotv = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let rhs_norm = dotv(&rhs, &rhs).sqrt();
    let mut w = vec![0f64; d];
    let mut r = rhs;
    let mut p = r.clone();
    let mut rr = dotv(&r, &r);
    let mut iterations = 0;
    while iterations < max_iter && rr.sqrt() > tol * rhs_norm && rhs_norm > 0.0 {
        iterations += 1;
        let mp = normal(&p);
        let step = rr / dotv(&p, &mp);
        for ((wi, ri), (&pi, &mpi)) in w.iter_mut().zip(r.iter_mut()).zip(p.iter().zip(&mp)) {
            *wi += step * pi;
            *ri -= step * mpi;
        }
        let rr_new = dotv(&r, &r);
        let beta = rr_new / rr;
        rr = rr_new;
        for (pi, &ri) in p.iter_mut().zip(&r) {
            *pi = ri + beta * *pi;
        }
    }
    let b = y_mean - dotv(&x_mean, &w);
    RidgeModel { w, b, iterations }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_closed_form_in_one_dimension() {
        // One feature: w = Σ(x−x̄)(y−ȳ) / (Σ(x−x̄)² + α), b = ȳ − w x̄.
        let xs = [1.0f32, 2.0, 3.0, 0.0, 5.0];
        let ys = [2.0, 2.5, 4.5, 1.0, 6.0];
        let x = CsrMatrix::from_rows(
            xs.iter()
                .map(|&v| if v == 0.0 { vec![] } else { vec![(0, v)] })
                .collect(),
            1,
        );
        let alpha = 0.7;
        let m = ridge(&x, &ys, alpha, 1e-12, 100);
        let xm = xs.iter().map(|&v| v as f64).sum::<f64>() / 5.0;
        let ym = ys.iter().sum::<f64>() / 5.0;
        let sxy: f64 = xs
            .iter()
            .zip(&ys)
            .map(|(&a, b)| (a as f64 - xm) * (b - ym))
            .sum();
        let sxx: f64 = xs.iter().map(|&a| (a as f64 - xm).powi(2)).sum();
        let w = sxy / (sxx + alpha);
        assert!((m.w[0] - w).abs() < 1e-9, "{} vs {w}", m.w[0]);
        assert!((m.b - (ym - w * xm)).abs() < 1e-9);
    }

    #[test]
    fn normal_equations_hold_in_several_dimensions() {
        // Gradient of the objective at the solution: Xᵀ(Xw + b − y) + αw = 0 and Σ residual = 0.
        let rows: Vec<Vec<(u32, f32)>> = (0..40)
            .map(|i| {
                let mut r = vec![];
                for j in 0..6u32 {
                    if !(i * 7 + j as usize * 3).is_multiple_of(4) {
                        r.push((j, ((i * 13 + j as usize * 5) % 9) as f32 / 4.0));
                    }
                }
                r
            })
            .collect();
        let y: Vec<f64> = (0..40).map(|i| ((i * 31) % 17) as f64 / 3.0).collect();
        let x = CsrMatrix::from_rows(rows, 6);
        let alpha = 0.3;
        let m = ridge(&x, &y, alpha, 1e-12, 200);
        let res: Vec<f64> = (0..40)
            .map(|i| {
                let (a, b) = x.row(i);
                dot(a, b, &m.w) + m.b - y[i]
            })
            .collect();
        assert!(res.iter().sum::<f64>().abs() < 1e-8);
        let mut g: Vec<f64> = m.w.iter().map(|w| alpha * w).collect();
        for (i, &r) in res.iter().enumerate() {
            let (a, b) = x.row(i);
            axpy(r, a, b, &mut g);
        }
        assert!(g.iter().all(|v| v.abs() < 1e-7), "{g:?}");
        assert!(m.iterations <= 7 + 1);
    }
}
