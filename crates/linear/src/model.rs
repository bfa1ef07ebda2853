//! The fitted linear classifiers and how they are trained.

use std::path::Path;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use textclf_core::{Classifier, Dataset, LabelSet, Predictions};

use crate::solver::lbfgs::{LbfgsOptions, SoftmaxProblem, SoftmaxSolver};
use crate::solver::platt::Platt;
use crate::solver::{dual_cd, temperature, BinaryProblem, SolverOptions};
use crate::sparse::CsrMatrix;
use crate::tfidf::{Tfidf, TfidfParams};
use crate::{LinearError, Result};

/// Which linear model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinearKind {
    /// Logistic regression (binary, or multinomial softmax for more than two classes).
    Lr,
    /// Linear SVM with the squared hinge loss (one-vs-rest), temperature-calibrated.
    Svm,
    /// NBSVM (Wang & Manning 2012): SVM on naive-Bayes log-count-ratio scaled binary
    /// n-gram features, interpolated towards the mean weight, temperature-calibrated.
    Nbsvm,
    /// The TF-IDF cosine of the two texts of a pair, scaled to the targets by least
    /// squares: a similarity baseline for sentence-pair regression only (STS-B), with no
    /// classifier form.
    Cosine,
}

impl LinearKind {
    /// Refuses [`LinearKind::Cosine`] where a classifier is fitted or loaded.
    pub fn check_classifier(self) -> Result<()> {
        if self == LinearKind::Cosine {
            return Err(LinearError::Param(
                "the cosine baseline scores the similarity of sentence pairs (regression, e.g. STS-B) and is no classifier: for classes use lr, svm or nbsvm".into(),
            ));
        }
        Ok(())
    }

    pub fn name(self) -> &'static str {
        match self {
            LinearKind::Lr => "lr",
            LinearKind::Svm => "svm",
            LinearKind::Nbsvm => "nbsvm",
            LinearKind::Cosine => "cosine",
        }
    }

    /// The C values tried on the validation split when C is not given.
    pub fn default_c_grid(self) -> Vec<f64> {
        match self {
            LinearKind::Lr => vec![1.0, 4.0, 16.0, 64.0],
            LinearKind::Svm => vec![0.0625, 0.25, 1.0, 4.0],
            LinearKind::Nbsvm => vec![0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
            // Nothing is regularised: the grid is never searched.
            LinearKind::Cosine => vec![1.0],
        }
    }

    /// The feature settings that suit the model: TF-IDF (sublinear, L2) for LR and SVM;
    /// binarised counts for NBSVM.
    pub fn default_features(self) -> TfidfParams {
        match self {
            LinearKind::Lr | LinearKind::Svm | LinearKind::Cosine => TfidfParams::default(),
            LinearKind::Nbsvm => TfidfParams {
                min_df: 1,
                sublinear_tf: false,
                use_idf: false,
                binary: true,
                l2_norm: false,
                ..TfidfParams::default()
            },
        }
    }
}

/// `baseline --model lr|svm|nbsvm|cosine`.
impl textclf_core::Choices for LinearKind {
    const VALUES: &'static [LinearKind] = &[
        LinearKind::Lr,
        LinearKind::Svm,
        LinearKind::Nbsvm,
        LinearKind::Cosine,
    ];

    fn name(self) -> &'static str {
        LinearKind::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            LinearKind::Lr => {
                "Logistic regression on TF-IDF (multinomial for more than two classes)"
            }
            LinearKind::Svm => "Linear SVM (squared hinge) on TF-IDF",
            LinearKind::Nbsvm => "NBSVM (Wang & Manning 2012) on binarised n-gram counts",
            LinearKind::Cosine => {
                "TF-IDF cosine of the two texts, scaled to the scores (sentence-pair regression only)"
            }
        }
    }
}

/// How much each class counts in the loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeights {
    #[default]
    None,
    /// `n / (k · n_c)`, as scikit-learn's `class_weight="balanced"`.
    Balanced,
    /// One weight per class id.
    Explicit(Vec<f64>),
}

impl ClassWeights {
    /// Refuses explicit weights that are not positive numbers (inf and NaN included: a
    /// run records its settings in JSON, which holds neither).
    fn check(&self) -> Result<()> {
        match self {
            ClassWeights::Explicit(w) if w.iter().any(|&x| !(x.is_finite() && x > 0.0)) => Err(
                LinearError::Param("class weights must be positive numbers".into()),
            ),
            _ => Ok(()),
        }
    }

    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        let k = counts.len();
        let n: usize = counts.iter().sum();
        Ok(match self {
            ClassWeights::None => vec![1.0; k],
            ClassWeights::Balanced => counts
                .iter()
                .map(|&c| n as f64 / (k as f64 * c.max(1) as f64))
                .collect(),
            ClassWeights::Explicit(w) => {
                if w.len() != k {
                    return Err(LinearError::Param(format!(
                        "{} class weights given for {k} classes",
                        w.len()
                    )));
                }
                self.check()?;
                w.clone()
            }
        })
    }
}

/// Everything that decides how a linear baseline is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearParams {
    pub kind: LinearKind,
    pub features: TfidfParams,
    /// Inverse regularisation strength; `None` = choose from `c_grid` on validation data.
    pub c: Option<f64>,
    pub c_grid: Vec<f64>,
    /// NBSVM interpolation β (weight on the SVM solution vs the mean weight).
    pub nb_beta: f64,
    /// NBSVM smoothing α of the count ratios.
    pub nb_alpha: f64,
    pub class_weights: ClassWeights,
    pub tol: f64,
    pub max_iter: usize,
    pub seed: u64,
    /// Share of train held out for choosing C and calibrating when no validation split
    /// is given; the final model is then refit on all of train.
    pub holdout_frac: f64,
    /// Multinomial LR: start each C of the grid (and the refit) from the previous
    /// solution. Off by default: with scikit-learn's 100-iteration cap, warm-started fits
    /// end nearer the optimum than cold ones, which on GoEmotions scored 0.6 points lower
    /// than scikit-learn's early-stopped fits (BENCHMARKS.md).
    #[serde(default)]
    pub warm_start: bool,
}

impl LinearParams {
    /// Defaults of a model kind.
    pub fn new(kind: LinearKind) -> Self {
        Self {
            kind,
            features: kind.default_features(),
            c: None,
            c_grid: kind.default_c_grid(),
            nb_beta: 0.25,
            nb_alpha: 1.0,
            class_weights: ClassWeights::None,
            tol: 0.01,
            max_iter: 1000,
            seed: 42,
            holdout_frac: 0.1,
            warm_start: false,
        }
    }

    /// [`Self::check`] for a classifier (single-label, pairs or multi-label): also
    /// refuses [`LinearKind::Cosine`], which only scores sentence pairs.
    pub fn check_classifier(&self) -> Result<()> {
        self.kind.check_classifier()?;
        self.check()
    }

    /// Validates every setting before any work starts.
    pub fn check(&self) -> Result<()> {
        self.features.check()?;
        check_c(self.c, &self.c_grid)?;
        if !(0.0..=1.0).contains(&self.nb_beta) {
            return Err(LinearError::Param("NBSVM beta must be in [0, 1]".into()));
        }
        if !(self.nb_alpha.is_finite() && self.nb_alpha > 0.0) {
            return Err(LinearError::Param(
                "NBSVM alpha must be a positive number".into(),
            ));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) || self.max_iter == 0 {
            return Err(LinearError::Param(
                "tol must be a number > 0 and max_iter ≥ 1".into(),
            ));
        }
        self.class_weights.check()?;
        if !(self.holdout_frac > 0.0 && self.holdout_frac < 0.5) {
            return Err(LinearError::Param(
                "the share of train held out for validation (--valid-frac) must be above 0 and below 0.5".into(),
            ));
        }
        Ok(())
    }
}

/// Refuses a C, or a C grid, that is not made of positive numbers, and an empty grid
/// without a C. The grid is checked even when C is given: the run records it either way.
pub(crate) fn check_c(c: Option<f64>, grid: &[f64]) -> Result<()> {
    let bad = |c: f64| !(c.is_finite() && c > 0.0);
    if let Some(c) = c.filter(|&c| bad(c)) {
        return Err(LinearError::Param(format!(
            "C = {c} must be a positive number"
        )));
    }
    if (c.is_none() && grid.is_empty()) || grid.iter().any(|&g| bad(g)) {
        return Err(LinearError::Param(
            "the C grid must hold positive numbers (or give C)".into(),
        ));
    }
    Ok(())
}

/// How scores become probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Calibration {
    /// Logistic regression's own sigmoid (binary) or softmax.
    Logistic,
    /// One Platt sigmoid per output (normalised to sum to one over classes with several
    /// outputs). No model gets it any more: its most probable class can differ from the
    /// highest score's (with two classes, a sigmoid `1/(1+exp(A·f+B))` with `B ≠ 0` puts
    /// the boundary at `f = −B/A`, not 0). Saved models that have it still load.
    Platt { sigmoids: Vec<Platt> },
    /// `softmax(scores / temperature)` (two classes: `sigmoid(f / temperature)`), fitted on
    /// the selection split: the most probable class is the one with the highest score.
    /// SVM and NBSVM.
    Temperature { temperature: f64 },
}

/// A fitted TF-IDF + linear model. With two classes it keeps one weight vector whose
/// score favours class 1; with more, one per class.
#[derive(Debug, Clone)]
pub struct LinearClassifier {
    pub params: LinearParams,
    pub labels: LabelSet,
    pub vectorizer: Tfidf,
    /// `outputs × num_features`, row-major.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub calibration: Calibration,
    /// The C the final model was trained with.
    pub c: f64,
    kind_name: String,
}

/// What happened during `fit`, for the run report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitReport {
    pub chosen_c: f64,
    /// Accuracy on the selection split for every C tried, by increasing C (empty when C
    /// was given).
    #[serde(default)]
    pub c_search: Vec<CSearchPoint>,
    /// Set when the best C was at an edge of the grid, so the grid was extended that way.
    pub c_grid_extension: Option<GridExtension>,
    /// Where C was chosen and calibration fitted: "valid", "holdout" or "none".
    #[serde(default)]
    pub selection_split: String,
    /// How probabilities are made, and how well they fit the selection split.
    pub calibration: Option<CalibrationReport>,
    #[serde(default)]
    pub num_features: usize,
    #[serde(default)]
    pub train_nnz: usize,
    #[serde(default)]
    pub refit_on_full_train: bool,
    #[serde(default)]
    pub vectorize_s: f64,
    #[serde(default)]
    pub fit_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CSearchPoint {
    pub c: f64,
    #[serde(deserialize_with = "textclf_core::null_as_nan")]
    pub accuracy: f64,
    #[serde(default)]
    pub fit_s: f64,
    /// L-BFGS iterations (multinomial logistic regression only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<usize>,
}

/// The grid was extended because the best C was at its edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridExtension {
    /// "up" (best C was the largest) or "down" (the smallest).
    pub direction: String,
    /// The C values added, in the order they were tried (each ×4 or ÷4 the last).
    #[serde(default)]
    pub added: Vec<f64>,
    /// The best C is still at the edge, and the bound stopped the search: at most
    /// [`MAX_GRID_EXTENSIONS`] added values, C within [[`C_MIN`], [`C_MAX`]].
    #[serde(default)]
    pub stopped_by_bound: bool,
}

/// Bounds of the grid extension.
pub const MAX_GRID_EXTENSIONS: usize = 3;
pub const GRID_EXTENSION_FACTOR: f64 = 4.0;
pub const C_MIN: f64 = 1e-4;
pub const C_MAX: f64 = 1e4;

/// Calibration quality on the selection split (for a holdout, measured with the model
/// fitted without it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// "logistic", "platt" or "temperature".
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub split: String,
    #[serde(default)]
    pub rows: usize,
    /// Mean negative log-probability of the gold class.
    #[serde(deserialize_with = "textclf_core::null_as_nan")]
    pub log_loss: f64,
    /// Expected calibration error of the top class over [`ECE_BINS`] equal-width bins of
    /// confidence (Guo et al. 2017).
    #[serde(deserialize_with = "textclf_core::null_as_nan")]
    pub ece: f64,
    /// Log loss of `softmax(scores)` (temperature 1), for comparison (temperature only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_loss_uncalibrated: Option<f64>,
}

pub const ECE_BINS: usize = 15;

/// Progress of [`fit_with_progress`], reported after each fit of the C search.
#[derive(Debug, Clone)]
pub struct FitProgress {
    pub step: FitStep,
    /// Steps finished, including this one.
    pub done: usize,
    /// Steps planned so far (grows when the grid is extended).
    pub planned: usize,
    /// Seconds since fitting started (after vectorizing).
    pub elapsed_s: f64,
}

#[derive(Debug, Clone)]
pub enum FitStep {
    /// A C was fitted and scored on the selection split (`added`: by the grid extension).
    GridPoint {
        c: f64,
        accuracy: f64,
        fit_s: f64,
        added: bool,
    },
    /// The final model, fitted on all of train at the chosen C: after a search on a
    /// holdout, or as the only fit when C is given and nothing is held out.
    Final { c: f64, fit_s: f64 },
}

impl FitProgress {
    /// Seconds left if the remaining steps take as long as the finished ones on average.
    pub fn eta_s(&self) -> f64 {
        self.elapsed_s / self.done.max(1) as f64 * self.planned.saturating_sub(self.done) as f64
    }
}

/// The rows C is chosen and the calibration fitted on.
struct Selection {
    x: CsrMatrix,
    y: Vec<usize>,
    split: &'static str,
}

/// Raw weights: class-major (`w[c * d + j]`) or, from the multinomial solver,
/// feature-major (`w[j * outputs + c]`).
struct RawModel {
    outputs: usize,
    w: Vec<f64>,
    b: Vec<f64>,
    feature_major: bool,
    iterations: Option<usize>,
}

impl RawModel {
    /// Scores (rows × outputs).
    fn scores(&self, x: &CsrMatrix) -> Vec<f64> {
        let d = x.ncols;
        let o = self.outputs;
        let mut s = vec![0f64; x.nrows() * o];
        s.par_chunks_mut(o).enumerate().for_each(|(i, r)| {
            let (idx, val) = x.row(i);
            if self.feature_major {
                r.copy_from_slice(&self.b);
                for (&j, &v) in idx.iter().zip(val) {
                    let wj = &self.w[j as usize * o..(j as usize + 1) * o];
                    for (rv, &wv) in r.iter_mut().zip(wj) {
                        *rv += v as f64 * wv;
                    }
                }
            } else {
                for (c, v) in r.iter_mut().enumerate() {
                    *v = self.b[c] + crate::sparse::dot(idx, val, &self.w[c * d..(c + 1) * d]);
                }
            }
        });
        s
    }

    /// The weights class-major.
    fn into_class_major(self, d: usize) -> (Vec<f64>, Vec<f64>) {
        if !self.feature_major {
            return (self.w, self.b);
        }
        let o = self.outputs;
        let mut w = vec![0f64; d * o];
        for (j, row) in self.w.chunks(o).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                w[c * d + j] = v;
            }
        }
        (w, self.b)
    }
}

/// The class with the highest score (one output: class 1 when the score is positive).
/// Ties go to the lowest class id, as [`Predictions::argmax`].
fn score_argmax(r: &[f64]) -> usize {
    if r.len() == 1 {
        return usize::from(r[0] > 0.0);
    }
    let mut best = 0;
    for (c, &v) in r.iter().enumerate() {
        if v > r[best] {
            best = c;
        }
    }
    best
}

fn predict_from_scores(scores: &[f64], outputs: usize) -> Vec<usize> {
    scores.chunks(outputs).map(score_argmax).collect()
}

/// Probabilities (rows × k) of scores (rows × outputs) under a calibration.
fn calibrated_probs(cal: &Calibration, scores: &[f64], outputs: usize, k: usize) -> Vec<f64> {
    let mut out = vec![0f64; scores.len() / outputs * k];
    out.par_chunks_mut(k)
        .zip(scores.par_chunks(outputs))
        .for_each(|(p, r)| match (cal, outputs) {
            (Calibration::Logistic, 1) => {
                let p1 = 1.0 / (1.0 + (-r[0]).exp());
                p[0] = 1.0 - p1;
                p[1] = p1;
            }
            (Calibration::Logistic, _) => temperature::softmax_scaled(r, 1.0, p),
            (Calibration::Temperature { temperature }, 1) => {
                let p1 = 1.0 / (1.0 + (-r[0] / temperature).exp());
                p[0] = 1.0 - p1;
                p[1] = p1;
            }
            (Calibration::Temperature { temperature }, _) => {
                temperature::softmax_scaled(r, *temperature, p)
            }
            (Calibration::Platt { sigmoids }, 1) => {
                let p1 = sigmoids[0].prob(r[0]);
                p[0] = 1.0 - p1;
                p[1] = p1;
            }
            (Calibration::Platt { sigmoids }, _) => {
                for ((pv, &v), s) in p.iter_mut().zip(r).zip(sigmoids) {
                    *pv = s.prob(v).max(1e-12);
                }
                let z: f64 = p.iter().sum();
                p.iter_mut().for_each(|v| *v /= z);
            }
        });
    out
}

/// Log loss and expected calibration error of probabilities (rows × k) against `y`.
fn calibration_quality(probs: &[f64], k: usize, y: &[usize]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let log_loss = probs
        .chunks(k)
        .zip(y)
        .map(|(p, &yi)| -p[yi].max(1e-12).ln())
        .sum::<f64>()
        / n;
    let mut conf = [0f64; ECE_BINS];
    let mut hits = [0f64; ECE_BINS];
    let mut count = [0usize; ECE_BINS];
    for (p, &yi) in probs.chunks(k).zip(y) {
        let top = score_argmax(p);
        let bin = ((p[top] * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        conf[bin] += p[top];
        hits[bin] += f64::from(u8::from(top == yi));
        count[bin] += 1;
    }
    let ece = (0..ECE_BINS)
        .filter(|&b| count[b] > 0)
        .map(|b| (hits[b] - conf[b]).abs())
        .sum::<f64>()
        / n;
    (log_loss, ece)
}

/// Naive-Bayes log-count ratios r = log((p/‖p‖₁)/(q/‖q‖₁)) for one class vs the rest.
/// An n-gram absent from these rows (the vocabulary may come from more rows than are being
/// fitted, e.g. with a holdout) gets r = 0, so it cannot move any score.
fn nb_ratio(x: &CsrMatrix, positive: &[bool], alpha: f64) -> Vec<f64> {
    let d = x.ncols;
    let mut p = vec![alpha; d];
    let mut q = vec![alpha; d];
    let mut seen = vec![false; d];
    for (i, &pos) in positive.iter().enumerate() {
        let (idx, val) = x.row(i);
        let target = if pos { &mut p } else { &mut q };
        for (&j, &v) in idx.iter().zip(val) {
            target[j as usize] += v as f64;
            seen[j as usize] = true;
        }
    }
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    p.iter()
        .zip(&q)
        .zip(&seen)
        .map(|((a, b), &s)| if s { ((a / sp) / (b / sq)).ln() } else { 0.0 })
        .collect()
}

/// Per-row costs of the binary problem "class `t` vs the rest", as LIBLINEAR (and so
/// scikit-learn's `LinearSVC` with `class_weight`) sets them: with two classes each row
/// costs C times its class's weight; with more, the rows of `t` cost C times `t`'s
/// weight and every other row costs C, whatever its class.
fn ovr_costs(y: &[usize], k: usize, t: usize, cost_per_class: &[f64], c: f64) -> Vec<f64> {
    if k == 2 {
        y.iter().map(|&l| c * cost_per_class[l]).collect()
    } else {
        let pos = c * cost_per_class[t];
        y.iter().map(|&l| if l == t { pos } else { c }).collect()
    }
}

/// One binary model of `params.kind` on (x, `positive`) with per-row costs: weights in the
/// original feature space (NBSVM ratios folded in), the intercept and, for LR, its dual
/// variables. LR starts from the duals `start` when given, and shrinks with `shrink`
/// ([`dual_cd::logistic_from`]). Shared by the one-vs-rest classifiers and the
/// multi-label models.
pub(crate) fn fit_binary(
    params: &LinearParams,
    x: &CsrMatrix,
    positive: &[bool],
    cost: &[f64],
    opt: &SolverOptions,
    start: Option<&[f64]>,
    shrink: bool,
) -> (Vec<f64>, f64, Option<Vec<f64>>) {
    let d = x.ncols;
    let ys: Vec<f64> = positive
        .iter()
        .map(|&p| if p { 1.0 } else { -1.0 })
        .collect();
    match params.kind {
        // Cosine has no classifier form; `check_classifier` refuses it before any fit
        // reaches this point.
        LinearKind::Lr | LinearKind::Cosine => {
            let (m, duals) = dual_cd::logistic_from(
                &BinaryProblem {
                    x,
                    y: &ys,
                    cost,
                    bias: 1.0,
                },
                opt,
                start,
                shrink,
            );
            (m.w, m.b, Some(duals))
        }
        LinearKind::Svm => {
            let m = dual_cd::svm_l2_loss(
                &BinaryProblem {
                    x,
                    y: &ys,
                    cost,
                    bias: 1.0,
                },
                opt,
            );
            (m.w, m.b, None)
        }
        LinearKind::Nbsvm => {
            let r = nb_ratio(x, positive, params.nb_alpha);
            let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
            let mut xs = x.clone();
            xs.scale_columns(&r32);
            let m = dual_cd::svm_l2_loss(
                &BinaryProblem {
                    x: &xs,
                    y: &ys,
                    cost,
                    bias: 1.0,
                },
                opt,
            );
            // w' = (1−β)·mean|w| + β·w; the intercept is scaled by β as well.
            let beta = params.nb_beta;
            let mean_abs = m.w.iter().map(|v| v.abs()).sum::<f64>() / d as f64;
            let w: Vec<f64> =
                m.w.iter()
                    .zip(&r)
                    .map(|(wj, rj)| ((1.0 - beta) * mean_abs + beta * wj) * rj)
                    .collect();
            (w, beta * m.b, None)
        }
    }
}

/// Trains one binary or one-vs-rest model (not the multinomial one) at a given C on
/// (x, y). Returns weights in the original feature space (NBSVM ratios folded in).
fn train_raw(
    params: &LinearParams,
    x: &CsrMatrix,
    y: &[usize],
    k: usize,
    cost_per_class: &[f64],
    c: f64,
) -> RawModel {
    let opt = SolverOptions {
        tol: params.tol,
        max_iter: params.max_iter,
        seed: params.seed,
    };
    // Binary: one output scoring class 1; otherwise one-vs-rest.
    let targets: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
    let d = x.ncols;
    let parts: Vec<(Vec<f64>, f64)> = targets
        .par_iter()
        .map(|&t| {
            let cost = ovr_costs(y, k, t, cost_per_class, c);
            let positive: Vec<bool> = y.iter().map(|&l| l == t).collect();
            let (w, b, _) = fit_binary(params, x, &positive, &cost, &opt, None, false);
            (w, b)
        })
        .collect();
    let outputs = parts.len();
    let mut w = Vec::with_capacity(outputs * d);
    let mut b = Vec::with_capacity(outputs);
    for (wi, bi) in parts {
        w.extend(wi);
        b.push(bi);
    }
    RawModel {
        outputs,
        w,
        b,
        feature_major: false,
        iterations: None,
    }
}

fn accuracy(pred: &[usize], gold: &[usize]) -> f64 {
    pred.iter().zip(gold).filter(|(a, b)| a == b).count() as f64 / gold.len().max(1) as f64
}

/// Stratified holdout of `frac` of the rows (at least one row of each class stays in
/// the fitting part).
fn holdout_split(y: &[usize], k: usize, frac: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x686f_6c64);
    let mut fit = vec![];
    let mut hold = vec![];
    for c in 0..k {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        idx.shuffle(&mut rng);
        let h = ((idx.len() as f64 * frac).round() as usize).min(idx.len().saturating_sub(1));
        hold.extend_from_slice(&idx[..h]);
        fit.extend_from_slice(&idx[h..]);
    }
    fit.sort_unstable();
    hold.sort_unstable();
    (fit, hold)
}

/// The multinomial solver's stopping rule: scikit-learn's defaults (see [`lbfgs`]).
fn lbfgs_options(params: &LinearParams) -> LbfgsOptions {
    LbfgsOptions {
        warm_start: params.warm_start,
        ..LbfgsOptions::default()
    }
}

fn is_multinomial(params: &LinearParams, k: usize) -> bool {
    params.kind == LinearKind::Lr && k > 2
}

/// One model at `c` on (x, y), for the multinomial model warm-started from `start`.
fn fit_once(
    params: &LinearParams,
    x: &CsrMatrix,
    y: &[usize],
    k: usize,
    cw: &[f64],
    c: f64,
    start: Option<&RawModel>,
) -> RawModel {
    if !is_multinomial(params, k) {
        return train_raw(params, x, y, k, cw, c);
    }
    let weight: Vec<f64> = y.iter().map(|&l| cw[l]).collect();
    let mut solver = SoftmaxSolver::new(
        SoftmaxProblem {
            x,
            y,
            weight: &weight,
            k,
        },
        lbfgs_options(params),
    );
    if let Some(m) = start.filter(|m| m.feature_major) {
        solver.start_from(&m.w, &m.b);
    }
    let m = solver.solve(c);
    RawModel {
        outputs: k,
        w: m.w,
        b: m.b,
        feature_major: true,
        iterations: Some(m.iterations),
    }
}

/// The C search: fits, scores on the selection split, keeps the best model only.
struct Search<'a, 'p> {
    params: &'a LinearParams,
    x: &'a CsrMatrix,
    y: &'a [usize],
    k: usize,
    cw: &'a [f64],
    sel: &'a Selection,
    /// The multinomial solver, warm-started from one C to the next.
    solver: Option<SoftmaxSolver<'a>>,
    progress: &'p dyn Fn(&FitProgress),
    started: Instant,
    done: usize,
    planned: usize,
    points: Vec<CSearchPoint>,
    /// (C, accuracy, model) of the best C so far: highest accuracy, then smallest C.
    best: Option<(f64, f64, RawModel)>,
}

impl Search<'_, '_> {
    fn best_c(&self) -> f64 {
        self.best.as_ref().map_or(f64::NAN, |b| b.0)
    }

    fn consider(&mut self, c: f64, acc: f64, secs: f64, m: RawModel, added: bool) {
        self.points.push(CSearchPoint {
            c,
            accuracy: acc,
            fit_s: secs,
            iterations: m.iterations,
        });
        let better = match &self.best {
            None => true,
            Some((bc, ba, _)) => acc > ba + 1e-12 || ((acc - ba).abs() <= 1e-12 && c < *bc),
        };
        if better {
            self.best = Some((c, acc, m));
        }
        self.done += 1;
        (self.progress)(&FitProgress {
            step: FitStep::GridPoint {
                c,
                accuracy: acc,
                fit_s: secs,
                added,
            },
            done: self.done,
            planned: self.planned,
            elapsed_s: self.started.elapsed().as_secs_f64(),
        });
    }

    /// Fits and scores every C of `cs`: in order, warm-started, for the multinomial
    /// model (its evaluations use every core); in parallel for the others. Progress is
    /// reported from the calling thread as each fit ends.
    fn run(&mut self, cs: &[f64], added: bool) {
        let (params, x, y, k, cw, sel) = (self.params, self.x, self.y, self.k, self.cw, self.sel);
        if self.solver.is_some() {
            for &c in cs {
                let solver = self.solver.as_mut().expect("checked");
                if added {
                    // An added C lies beyond the best one: start from there.
                    if let Some((_, _, m)) = &self.best {
                        solver.start_from(&m.w, &m.b);
                    }
                }
                let t = Instant::now();
                let m = solver.solve(c);
                let secs = t.elapsed().as_secs_f64();
                let raw = RawModel {
                    outputs: k,
                    w: m.w,
                    b: m.b,
                    feature_major: true,
                    iterations: Some(m.iterations),
                };
                let acc = accuracy(&predict_from_scores(&raw.scores(&sel.x), k), &sel.y);
                self.consider(c, acc, secs, raw, added);
            }
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(move || {
                cs.par_iter().for_each_with(tx, |tx, &c| {
                    let t = Instant::now();
                    let m = train_raw(params, x, y, k, cw, c);
                    let secs = t.elapsed().as_secs_f64();
                    let acc = accuracy(&predict_from_scores(&m.scores(&sel.x), m.outputs), &sel.y);
                    let _ = tx.send((c, acc, secs, m));
                });
            });
            for (c, acc, secs, m) in rx {
                self.consider(c, acc, secs, m, added);
            }
        });
    }
}

/// Extends a sorted grid whose best C (`best`) is at an edge: tries ×/÷
/// [`GRID_EXTENSION_FACTOR`] beyond it with `try_c` (which returns the best C after
/// trying) while the newest C is the best, within the bounds. `None` when the best C is
/// inside the grid (or the grid has one value).
pub(crate) fn extend_grid(
    grid: &[f64],
    best: f64,
    mut try_c: impl FnMut(f64) -> f64,
) -> Option<GridExtension> {
    let (lo, hi) = (grid[0], grid[grid.len() - 1]);
    if grid.len() < 2 || (best != hi && best != lo) {
        return None;
    }
    let up = best == hi;
    let (mut edge, mut best) = (best, best);
    let mut added = vec![];
    let mut stopped_by_bound = false;
    while best == edge {
        let next = if up {
            edge * GRID_EXTENSION_FACTOR
        } else {
            edge / GRID_EXTENSION_FACTOR
        };
        if added.len() >= MAX_GRID_EXTENSIONS
            || !(C_MIN * (1.0 - 1e-9)..=C_MAX * (1.0 + 1e-9)).contains(&next)
        {
            stopped_by_bound = true;
            break;
        }
        best = try_c(next);
        added.push(next);
        edge = next;
    }
    Some(GridExtension {
        direction: if up { "up" } else { "down" }.into(),
        added,
        stopped_by_bound,
    })
}

/// Trains a linear baseline. C is chosen on `valid` (or on a stratified holdout of
/// train when there is none), probabilities are calibrated there, and with a holdout
/// the final model is refit on all of train.
pub fn fit(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
) -> Result<(LinearClassifier, FitReport)> {
    fit_with_progress(params, train, valid, &|_| {})
}

/// [`fit`], calling `progress` (on the calling thread) after each fit of the C search
/// and after the refit.
///
/// The grid is tried by increasing C. When the best C is the smallest or largest of the
/// grid, the grid is extended that way by factors of [`GRID_EXTENSION_FACTOR`] while the
/// newest C is the best, at most [`MAX_GRID_EXTENSIONS`] times and within
/// [[`C_MIN`], [`C_MAX`]]; [`FitReport::c_grid_extension`] records it. Predictions are
/// the class with the highest score, the rule C is chosen by; the probabilities keep that
/// order (softmax for logistic regression, a temperature fitted on the selection split
/// for SVM and NBSVM).
pub fn fit_with_progress(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
    progress: &dyn Fn(&FitProgress),
) -> Result<(LinearClassifier, FitReport)> {
    params.check_classifier()?;
    let k = train.label_set.len();
    if k < 2 {
        return Err(LinearError::Data(format!(
            "training data has {k} class(es); a classifier needs at least 2"
        )));
    }
    if let Some(v) = valid {
        if v.label_set != train.label_set {
            return Err(LinearError::Data(
                "validation and training data have different label sets".into(),
            ));
        }
    }
    let t0 = Instant::now();
    let (vectorizer, x_all) = params.features.fit_transform(&train.text_refs())?;
    let x_valid = match valid {
        Some(v) => Some((vectorizer.transform(&v.text_refs()), v.labels()?.to_vec())),
        None => None,
    };
    let vectorize_s = t0.elapsed().as_secs_f64();
    let (fitted, report) = fit_rows(params, &x_all, train.labels()?, k, x_valid, progress)?;
    let clf = LinearClassifier {
        kind_name: format!("tfidf-{}", params.kind.name()),
        params: LinearParams {
            c: Some(fitted.c),
            ..params.clone()
        },
        labels: train.label_set.clone(),
        vectorizer,
        weights: fitted.weights,
        bias: fitted.bias,
        calibration: fitted.calibration,
        c: fitted.c,
    };
    Ok((
        clf,
        FitReport {
            vectorize_s,
            ..report
        },
    ))
}

/// A single-label model fitted on already-vectorised rows (weights class-major,
/// `outputs × num_features`).
pub(crate) struct RowsFit {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub calibration: Calibration,
    pub c: f64,
}

/// The C search, calibration and refit of [`fit_with_progress`] on rows already
/// vectorised: `x_all` with class ids `labels` (`k` classes), and the validation rows
/// with theirs. The report's `vectorize_s` is 0 (the caller knows it).
pub(crate) fn fit_rows(
    params: &LinearParams,
    x_all: &CsrMatrix,
    labels: &[usize],
    k: usize,
    x_valid: Option<(CsrMatrix, Vec<usize>)>,
    progress: &dyn Fn(&FitProgress),
) -> Result<(RowsFit, FitReport)> {
    params.check_classifier()?;
    if let Some(&bad) = labels.iter().find(|&&l| l >= k) {
        return Err(LinearError::Data(format!(
            "class id {bad} is out of range for {k} classes"
        )));
    }
    let t1 = Instant::now();
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    let cw = params.class_weights.weights(&counts)?;
    let d = x_all.ncols;

    let needs_selection = params.c.is_none() || params.kind != LinearKind::Lr;
    // The rows to fit on (a copy only for a holdout), and where C is chosen and
    // calibration fitted.
    let mut holdout_fit: Option<(CsrMatrix, Vec<usize>)> = None;
    let sel: Option<Selection> = match x_valid {
        Some((xv, yv)) => Some(Selection {
            x: xv,
            y: yv,
            split: "valid",
        }),
        None if needs_selection => {
            let (fi, ho) = holdout_split(labels, k, params.holdout_frac, params.seed);
            if ho.is_empty() {
                return Err(LinearError::Data(
                        "training data is too small to hold out rows for choosing C: give --C or a --valid file".into(),
                    ));
            }
            let fy = fi.iter().map(|&i| labels[i]).collect();
            holdout_fit = Some((x_all.select_rows(&fi), fy));
            Some(Selection {
                x: x_all.select_rows(&ho),
                y: ho.iter().map(|&i| labels[i]).collect(),
                split: "holdout",
            })
        }
        None => None,
    };
    let refit = sel.as_ref().is_some_and(|s| s.split == "holdout");

    // With C given, a one-vs-rest or binary model's refit on all of train does not depend
    // on the fit on the rest of the holdout split (only the multinomial solver starts from
    // it): the two run side by side, one per core, with the same result as one after the
    // other.
    let parallel_refit = refit && params.c.is_some() && !is_multinomial(params, k);
    std::thread::scope(|scope| {
        let cw = &cw;
        let early_refit = parallel_refit.then(|| {
            scope.spawn(move || {
                let t = Instant::now();
                let c = params.c.unwrap_or(1.0);
                let m = fit_once(params, x_all, labels, k, cw, c, None);
                (m, t.elapsed().as_secs_f64())
            })
        });

        let (chosen_c, model, search, extension, steps) = match &sel {
            None => {
                let c = params.c.unwrap_or(1.0);
                let t = Instant::now();
                let m = fit_once(params, x_all, labels, k, cw, c, None);
                progress(&FitProgress {
                    step: FitStep::Final {
                        c,
                        fit_s: t.elapsed().as_secs_f64(),
                    },
                    done: 1,
                    planned: 1,
                    elapsed_s: t1.elapsed().as_secs_f64(),
                });
                (c, m, vec![], None, 1)
            }
            Some(sel) => {
                let (fit_x, fit_y): (&CsrMatrix, &[usize]) = match &holdout_fit {
                    Some((x, y)) => (x, y),
                    None => (x_all, labels),
                };
                let mut grid: Vec<f64> = match params.c {
                    Some(c) => vec![c],
                    None => params.c_grid.clone(),
                };
                grid.sort_by(f64::total_cmp);
                grid.dedup();
                let weight: Vec<f64> = fit_y.iter().map(|&l| cw[l]).collect();
                let mut s = Search {
                    params,
                    x: fit_x,
                    y: fit_y,
                    k,
                    cw,
                    sel,
                    solver: is_multinomial(params, k).then(|| {
                        SoftmaxSolver::new(
                            SoftmaxProblem {
                                x: fit_x,
                                y: fit_y,
                                weight: &weight,
                                k,
                            },
                            lbfgs_options(params),
                        )
                    }),
                    progress,
                    started: t1,
                    done: 0,
                    planned: grid.len() + usize::from(refit),
                    points: vec![],
                    best: None,
                };
                s.run(&grid, false);
                let extension = if params.c.is_none() {
                    extend_grid(&grid, s.best_c(), |c| {
                        s.planned += 1;
                        s.run(&[c], true);
                        s.best_c()
                    })
                } else {
                    None
                };
                let mut points = std::mem::take(&mut s.points);
                points.sort_by(|a, b| a.c.total_cmp(&b.c));
                if params.c.is_some() {
                    points.clear();
                }
                let (c, _, m) = s.best.take().expect("the grid is not empty");
                (c, m, points, extension, s.done)
            }
        };

        // Calibration on the selection split, with the model fitted without it; when that
        // model is then refit on all of train at the same C, its scores are on a similar but
        // not identical scale (as scikit-learn's CalibratedClassifierCV with ensemble=False).
        let outputs = model.outputs;
        let (calibration, calibration_report) = match &sel {
            None => (Calibration::Logistic, None),
            Some(Selection {
                x: sx,
                y: sy,
                split,
            }) => {
                let s = model.scores(sx);
                let mut uncalibrated = None;
                let cal = match (params.kind, outputs) {
                    (LinearKind::Lr, _) => Calibration::Logistic,
                    _ => {
                        let raw = calibrated_probs(&Calibration::Logistic, &s, outputs, k);
                        uncalibrated = Some(calibration_quality(&raw, k, sy).0);
                        // Two classes: one score f per row is the score vector (0, f),
                        // whose softmax at T is the sigmoid of f / T.
                        let vectors: std::borrow::Cow<[f64]> = if outputs == 1 {
                            s.iter().flat_map(|&f| [0.0, f]).collect()
                        } else {
                            std::borrow::Cow::Borrowed(&s)
                        };
                        Calibration::Temperature {
                            temperature: temperature::fit(&vectors, k, sy),
                        }
                    }
                };
                let probs = calibrated_probs(&cal, &s, outputs, k);
                let (log_loss, ece) = calibration_quality(&probs, k, sy);
                let (method, t) = match &cal {
                    Calibration::Logistic => ("logistic", None),
                    Calibration::Platt { .. } => ("platt", None),
                    Calibration::Temperature { temperature } => ("temperature", Some(*temperature)),
                };
                let report = CalibrationReport {
                    method: method.into(),
                    temperature: t,
                    split: split.to_string(),
                    rows: sy.len(),
                    log_loss,
                    ece,
                    log_loss_uncalibrated: uncalibrated,
                };
                (cal, Some(report))
            }
        };
        let selection_split = sel.as_ref().map_or("none", |s| s.split).to_string();
        drop(sel);
        drop(holdout_fit);
        let model = if refit {
            let (m, secs) = match early_refit {
                Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                None => {
                    let t = Instant::now();
                    let m = fit_once(params, x_all, labels, k, cw, chosen_c, Some(&model));
                    (m, t.elapsed().as_secs_f64())
                }
            };
            let done = steps + 1;
            progress(&FitProgress {
                step: FitStep::Final {
                    c: chosen_c,
                    fit_s: secs,
                },
                done,
                planned: done,
                elapsed_s: t1.elapsed().as_secs_f64(),
            });
            m
        } else {
            model
        };
        let fit_s = t1.elapsed().as_secs_f64();
        let report = FitReport {
            chosen_c,
            c_search: search,
            c_grid_extension: extension,
            selection_split,
            calibration: calibration_report,
            num_features: d,
            train_nnz: x_all.nnz(),
            refit_on_full_train: refit,
            vectorize_s: 0.0,
            fit_s,
        };
        let (w, b) = model.into_class_major(d);
        let fitted = RowsFit {
            weights: w.iter().map(|&v| v as f32).collect(),
            bias: b.iter().map(|&v| v as f32).collect(),
            calibration,
            c: chosen_c,
        };
        Ok((fitted, report))
    })
}

/// Scores (`rows × outputs`) of class-major weights (`outputs × d`) on rows of `x`.
pub(crate) fn linear_scores(weights: &[f32], bias: &[f32], d: usize, x: &CsrMatrix) -> Vec<f64> {
    let o = bias.len();
    let mut s = vec![0f64; x.nrows() * o];
    s.par_chunks_mut(o).enumerate().for_each(|(i, r)| {
        let (idx, val) = x.row(i);
        for (c, v) in r.iter_mut().enumerate() {
            let w = &weights[c * d..(c + 1) * d];
            let mut acc = bias[c] as f64;
            for (&j, &x) in idx.iter().zip(val) {
                acc += w[j as usize] as f64 * x as f64;
            }
            *v = acc;
        }
    });
    s
}

/// Probabilities (rows × `k` classes) of raw scores (rows × `o` outputs). Except with the
/// two-class Platt sigmoid of models saved before temperatures, the most probable class
/// is the class with the highest score, also after rounding to `f32` (a probability tied
/// by rounding is raised by one ulp).
pub(crate) fn class_probabilities(
    cal: &Calibration,
    scores: &[f64],
    o: usize,
    k: usize,
) -> Vec<f32> {
    let p = calibrated_probs(cal, scores, o, k);
    let mut out: Vec<f32> = p.iter().map(|&v| v as f32).collect();
    if matches!(cal, Calibration::Platt { .. }) && o == 1 {
        return out;
    }
    for (row, r) in out.chunks_mut(k).zip(scores.chunks(o)) {
        let top = score_argmax(r);
        let rival = (0..k)
            .filter(|&c| c != top)
            .map(|c| row[c])
            .fold(f32::NEG_INFINITY, f32::max);
        let beaten =
            (0..k).any(|c| c != top && (row[c] > row[top] || (c < top && row[c] == row[top])));
        if beaten {
            row[top] = rival.next_up();
        }
    }
    out
}

impl LinearClassifier {
    /// Number of score outputs (1 for two classes).
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Raw decision scores for already vectorised rows (`rows × outputs`).
    pub fn decision_function(&self, x: &CsrMatrix) -> Vec<f64> {
        linear_scores(&self.weights, &self.bias, self.vectorizer.num_features(), x)
    }

    /// Probabilities (rows × classes) of raw scores: [`class_probabilities`].
    fn probabilities(&self, scores: &[f64]) -> Vec<f32> {
        class_probabilities(&self.calibration, scores, self.outputs(), self.labels.len())
    }

    pub(crate) fn from_saved(
        params: LinearParams,
        labels: LabelSet,
        vectorizer: Tfidf,
        weights: Vec<f32>,
        bias: Vec<f32>,
        calibration: Calibration,
    ) -> Self {
        let c = params.c.unwrap_or(f64::NAN);
        Self {
            kind_name: format!("tfidf-{}", params.kind.name()),
            params,
            labels,
            vectorizer,
            weights,
            bias,
            calibration,
            c,
        }
    }
}

impl Classifier for LinearClassifier {
    fn kind(&self) -> &str {
        &self.kind_name
    }

    fn labels(&self) -> &LabelSet {
        &self.labels
    }

    fn predict_proba(&self, texts: &[&str]) -> textclf_core::Result<Predictions> {
        let x = self.vectorizer.transform(texts);
        let probs = self.probabilities(&self.decision_function(&x));
        Predictions::new(self.labels.len(), probs)
    }

    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        self.write_to(dir).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every number a run records must be one JSON can hold (it writes inf and NaN as
    /// null, which would not read back): settings that are not finite are refused.
    #[test]
    fn settings_that_are_not_finite_numbers_are_refused() {
        let ok = LinearParams::new(LinearKind::Nbsvm);
        assert!(ok.check().is_ok());
        let mut cases: Vec<(LinearParams, &str)> = vec![];
        let mut p = ok.clone();
        p.tol = f64::INFINITY;
        cases.push((p, "tol"));
        let mut p = ok.clone();
        p.nb_alpha = f64::INFINITY;
        cases.push((p, "alpha"));
        let mut p = ok.clone();
        p.c = Some(1.0);
        p.c_grid = vec![1.0, f64::NAN];
        cases.push((p, "C grid"));
        let mut p = ok.clone();
        p.class_weights = ClassWeights::Explicit(vec![1.0, f64::INFINITY]);
        cases.push((p, "class weights"));
        for (p, what) in cases {
            let e = p.check().unwrap_err().to_string();
            assert!(e.contains(what), "{what}: {e}");
        }
    }

    /// `n` short texts over `k` classes: each carries two of its class's words, one word
    /// of a random other class and two shared words, so the classes overlap a little.
    fn corpus(n: usize, k: usize, seed: u64) -> Dataset {
        let mut state = seed;
        let mut next = |m: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % m as u64) as usize
        };
        let mut texts = vec![];
        let mut labels = vec![];
        for i in 0..n {
            let c = i % k;
            let other = next(k);
            texts.push(format!(
                "c{c}w{} c{c}w{} c{other}w{} shared{} shared{}",
                next(6),
                next(6),
                next(6),
                next(20),
                next(20)
            ));
            labels.push(c);
        }
        let names: Vec<String> = (0..k).map(|c| format!("class{c}")).collect();
        let ids = (0..n).map(|i| i.to_string()).collect();
        Dataset::new("synthetic", ids, texts, labels, LabelSet::from_raw(names)).unwrap()
    }

    fn params(kind: LinearKind) -> LinearParams {
        let mut p = LinearParams::new(kind);
        p.features.min_df = 1;
        p
    }

    fn score_argmaxes(m: &LinearClassifier, texts: &[&str]) -> Vec<usize> {
        let s = m.decision_function(&m.vectorizer.transform(texts));
        predict_from_scores(&s, m.outputs())
    }

    #[test]
    fn with_c_given_the_final_model_is_the_fit_on_all_of_train() {
        // The holdout (for calibration) is fitted beside the refit on all rows: the final
        // weights must be exactly those of one fit on all rows at that C.
        for (kind, k) in [(LinearKind::Svm, 2), (LinearKind::Nbsvm, 3)] {
            let train = corpus(120, k, 5);
            let mut p = params(kind);
            p.c = Some(0.5);
            let (_, x) = p.features.fit_transform(&train.text_refs()).unwrap();
            let y = train.labels().unwrap();
            let (fitted, report) = fit_rows(&p, &x, y, k, None, &|_| {}).unwrap();
            assert!(report.refit_on_full_train && report.selection_split == "holdout");
            let ones = vec![1.0; k];
            let (w, b) = fit_once(&p, &x, y, k, &ones, 0.5, None).into_class_major(x.ncols);
            let w: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let b: Vec<f32> = b.iter().map(|&v| v as f32).collect();
            assert_eq!(fitted.weights, w, "{kind:?}");
            assert_eq!(fitted.bias, b, "{kind:?}");
        }
    }

    #[test]
    fn the_cosine_kind_is_no_classifier() {
        let train = corpus(60, 2, 3);
        let e = fit(&params(LinearKind::Cosine), &train, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no classifier") && e.contains("lr, svm or nbsvm"),
            "{e}"
        );
    }

    #[test]
    fn one_vs_rest_weights_only_the_positive_class_as_liblinear() {
        // Class 2 weighted ×5: the "class 0 vs rest" problem is the unweighted one (the
        // rest cost C, as in LIBLINEAR), the "class 2 vs rest" problem is not.
        let train = corpus(150, 3, 11);
        for kind in [LinearKind::Svm, LinearKind::Nbsvm] {
            let p = params(kind);
            let (_, x) = p.features.fit_transform(&train.text_refs()).unwrap();
            let d = x.ncols;
            let plain = train_raw(&p, &x, train.labels().unwrap(), 3, &[1.0, 1.0, 1.0], 0.5);
            let weighted = train_raw(&p, &x, train.labels().unwrap(), 3, &[1.0, 1.0, 5.0], 0.5);
            assert_eq!(plain.w[..d], weighted.w[..d], "{kind:?}");
            assert_eq!(plain.b[0], weighted.b[0], "{kind:?}");
            assert_ne!(plain.w[2 * d..], weighted.w[2 * d..], "{kind:?}");
        }
        // Two classes: each row costs C times its own class's weight.
        assert_eq!(
            ovr_costs(&[0, 1, 1], 2, 1, &[2.0, 3.0], 0.5),
            [1.0, 1.5, 1.5]
        );
        assert_eq!(
            ovr_costs(&[0, 1, 2], 3, 1, &[2.0, 3.0, 4.0], 0.5),
            [0.5, 1.5, 0.5]
        );
    }

    #[test]
    fn predictions_are_the_argmax_of_the_scores() {
        // Two classes (one score, class 1 when it is positive) and four.
        for classes in [2, 4] {
            let (train, valid, test) = (
                corpus(400, classes, 1),
                corpus(200, classes, 2),
                corpus(300, classes, 3),
            );
            predictions_follow_the_scores(&train, &valid, &test);
        }
    }

    fn predictions_follow_the_scores(train: &Dataset, valid: &Dataset, test: &Dataset) {
        let texts = test.text_refs();
        for kind in [LinearKind::Lr, LinearKind::Svm, LinearKind::Nbsvm] {
            let (m, report) = fit(&params(kind), train, Some(valid)).unwrap();
            let by_score = score_argmaxes(&m, &texts);
            assert_eq!(m.predict(&texts).unwrap(), by_score, "{kind:?}");
            // Better than chance, so the scores mean something.
            assert!(
                accuracy(&by_score, test.labels().unwrap()) > 0.6,
                "{kind:?}"
            );
            let cal = report.calibration.unwrap();
            assert!(cal.log_loss.is_finite() && cal.log_loss >= 0.0, "{kind:?}");
            assert!((0.0..=1.0).contains(&cal.ece));
            if kind != LinearKind::Lr {
                assert_eq!(cal.method, "temperature");
                assert!(matches!(m.calibration, Calibration::Temperature { .. }));
                assert!(cal.log_loss <= cal.log_loss_uncalibrated.unwrap() + 1e-12);
            }
        }
    }

    #[test]
    fn two_class_probabilities_put_the_boundary_at_score_zero() {
        let scores: Vec<f64> = (-50..=50)
            .filter(|&i| i != 0)
            .map(|i| f64::from(i) / 10.0)
            .collect();
        let want = predict_from_scores(&scores, 1);
        for t in [0.1, 1.0, 7.0] {
            let cal = Calibration::Temperature { temperature: t };
            let p = Predictions::new(2, class_probabilities(&cal, &scores, 1, 2)).unwrap();
            assert_eq!(p.argmax(), want, "T = {t}");
        }
        // The sigmoid with an intercept that two-class SVM and NBSVM had before moves the
        // boundary to f = −B/A = 0.5: rows scored in (0, 0.5] change class.
        let platt = Calibration::Platt {
            sigmoids: vec![Platt { a: -2.0, b: 1.0 }],
        };
        let p = Predictions::new(2, class_probabilities(&platt, &scores, 1, 2)).unwrap();
        assert_ne!(p.argmax(), want);
    }

    #[test]
    fn calibrated_probabilities_keep_the_argmax_of_the_scores() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let k = 5;
        let scores: Vec<f64> = (0..5000).map(|_| 8.0 * next() - 4.0).collect();
        let want = predict_from_scores(&scores, k);
        for t in [0.05, 0.7, 1.0, 3.0, 40.0] {
            let p = calibrated_probs(&Calibration::Temperature { temperature: t }, &scores, k, k);
            assert_eq!(predict_from_scores(&p, k), want, "T = {t}");
        }
        // Scores a hair apart give probabilities equal in f32: the classifier still
        // makes the higher-scoring class the most probable one.
        let (train, valid) = (corpus(120, 3, 4), corpus(60, 3, 5));
        let (m, _) = fit(&params(LinearKind::Svm), &train, Some(&valid)).unwrap();
        let near_ties = [
            0.5,
            0.5 + 1e-12,
            0.2,
            0.1,
            0.1 + 1e-13,
            0.1,
            -1.0,
            -1.0,
            -1.0,
        ];
        let probs = m.probabilities(&near_ties);
        let p = Predictions::new(3, probs).unwrap();
        assert_eq!(p.argmax(), vec![1, 1, 0]);
    }

    #[test]
    fn grid_extends_while_the_newest_c_is_best() {
        // Validation accuracy peaking at C = 50: [1, 4, 16] is extended up to 64 and 256.
        let acc = |c: f64| -(c.ln() - 50f64.ln()).powi(2);
        let mut best = (16.0, acc(16.0));
        let ext = extend_grid(&[1.0, 4.0, 16.0], 16.0, |c| {
            if acc(c) > best.1 {
                best = (c, acc(c));
            }
            best.0
        })
        .unwrap();
        assert_eq!(ext.direction, "up");
        assert_eq!(ext.added, vec![64.0, 256.0]);
        assert!(!ext.stopped_by_bound);
        // Always better with smaller C: three steps down, then the bound.
        let ext = extend_grid(&[0.01, 0.1], 0.01, |c| c).unwrap();
        assert_eq!(ext.added, vec![0.0025, 0.000625, 0.00015625]);
        assert!(ext.stopped_by_bound);
        // The C bound: nothing can be added above 1e4.
        let ext = extend_grid(&[1e3, 1e4], 1e4, |_| panic!("beyond the bound")).unwrap();
        assert!(ext.added.is_empty() && ext.stopped_by_bound);
        // Best inside: no extension.
        assert!(extend_grid(&[1.0, 4.0, 16.0], 4.0, |_| panic!("no extension")).is_none());
    }

    #[test]
    fn fit_extends_the_grid_and_records_it() {
        // Easy data, tiny C values: accuracy can only rise with C, so the top of the grid
        // wins and the grid is extended upwards.
        let (train, valid) = (corpus(300, 3, 6), corpus(150, 3, 7));
        let mut p = params(LinearKind::Lr);
        p.c_grid = vec![0.001, 0.002];
        let events = std::cell::RefCell::new(vec![]);
        let (_, report) = fit_with_progress(&p, &train, Some(&valid), &|e: &FitProgress| {
            events.borrow_mut().push(e.clone())
        })
        .unwrap();
        let ext = report.c_grid_extension.clone().expect("grid extended");
        let tried: Vec<f64> = report.c_search.iter().map(|s| s.c).collect();
        assert_eq!(
            ext.direction,
            if report.chosen_c >= 0.002 {
                "up"
            } else {
                "down"
            }
        );
        assert!(!ext.added.is_empty());
        for c in &ext.added {
            assert!(tried.contains(c), "{c} not in {tried:?}");
        }
        assert_eq!(tried.len(), 2 + ext.added.len());
        assert_eq!(
            ext.stopped_by_bound,
            report.chosen_c == *ext.added.last().unwrap(),
            "{report:?}"
        );
        // One progress line per fit, the planned count growing with the extension.
        let events = events.into_inner();
        assert_eq!(events.len(), tried.len());
        assert_eq!(events.last().unwrap().done, tried.len());
        assert_eq!(events.last().unwrap().planned, tried.len());
        // Time is left while planned fits remain (the extension plans one at a time), and
        // none after the last.
        assert_eq!(events.last().unwrap().eta_s(), 0.0);
        for e in &events {
            assert_eq!(
                e.eta_s() > 0.0,
                e.done < e.planned && e.elapsed_s > 0.0,
                "{e:?}"
            );
        }
    }

    #[test]
    fn the_eta_is_the_mean_time_so_far_times_the_fits_left() {
        let at = |done, planned, elapsed_s| FitProgress {
            step: FitStep::Final { c: 1.0, fit_s: 0.5 },
            done,
            planned,
            elapsed_s,
        };
        assert_eq!(at(1, 4, 2.0).eta_s(), 6.0);
        assert_eq!(at(3, 4, 9.0).eta_s(), 3.0);
        assert_eq!(at(4, 4, 9.0).eta_s(), 0.0);
        // A grid extended past its plan has nothing left, not a negative time.
        assert_eq!(at(5, 4, 9.0).eta_s(), 0.0);
    }
}
