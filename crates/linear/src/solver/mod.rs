//! Optimisers for the linear models. All take a [`BinaryProblem`] or the multinomial
//! equivalent and return weights in `f64`.

pub mod dual_cd;
pub mod lbfgs;
pub mod platt;
pub mod ridge;
pub mod softmax_dual;
pub mod svr;
pub mod temperature;

use crate::sparse::CsrMatrix;

/// A two-class problem: rows of `x` with targets `y[i] ∈ {-1, +1}` and a per-row cost
/// (C times the class weight). `bias` is the value of the constant feature that carries
/// the intercept (LIBLINEAR's `-B`; 0 means no intercept). As in LIBLINEAR, the
/// intercept is regularised like any other weight.
pub struct BinaryProblem<'a> {
    pub x: &'a CsrMatrix,
    pub y: &'a [f64],
    pub cost: &'a [f64],
    pub bias: f64,
}

/// Weights of a binary linear model: score = `w · x + b`.
#[derive(Debug, Clone)]
pub struct BinaryModel {
    pub w: Vec<f64>,
    pub b: f64,
    /// Outer iterations used.
    pub iterations: usize,
}

/// Stopping rules shared by the solvers.
#[derive(Debug, Clone, Copy)]
pub struct SolverOptions {
    pub tol: f64,
    pub max_iter: usize,
    pub seed: u64,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            tol: 0.01,
            max_iter: 1000,
            seed: 1,
        }
    }
}
