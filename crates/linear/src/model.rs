//! The fitted linear classifiers and how they are trained.

use std::path::Path;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use textclf_core::{Classifier, Dataset, LabelSet, Predictions};

use crate::solver::platt::Platt;
use crate::solver::{dual_cd, lbfgs, BinaryProblem, SolverOptions};
use crate::sparse::CsrMatrix;
use crate::tfidf::{Tfidf, TfidfParams};
use crate::{LinearError, Result};

/// Which linear model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinearKind {
    /// Logistic regression (binary, or multinomial softmax for more than two classes).
    Lr,
    /// Linear SVM with the squared hinge loss (one-vs-rest), Platt-calibrated.
    Svm,
    /// NBSVM (Wang & Manning 2012): SVM on naive-Bayes log-count-ratio scaled binary
    /// n-gram features, interpolated towards the mean weight, Platt-calibrated.
    Nbsvm,
}

impl LinearKind {
    pub fn name(self) -> &'static str {
        match self {
            LinearKind::Lr => "lr",
            LinearKind::Svm => "svm",
            LinearKind::Nbsvm => "nbsvm",
        }
    }

    /// The C values tried on the validation split when C is not given.
    pub fn default_c_grid(self) -> Vec<f64> {
        match self {
            LinearKind::Lr => vec![1.0, 4.0, 16.0, 64.0],
            LinearKind::Svm => vec![0.0625, 0.25, 1.0, 4.0],
            LinearKind::Nbsvm => vec![0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
        }
    }

    /// The feature settings that suit the model: TF-IDF (sublinear, L2) for LR and SVM;
    /// binarised counts for NBSVM.
    pub fn default_features(self) -> TfidfParams {
        match self {
            LinearKind::Lr | LinearKind::Svm => TfidfParams::default(),
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
                if w.iter().any(|&x| x.is_nan() || x <= 0.0) {
                    return Err(LinearError::Param("class weights must be positive".into()));
                }
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
        }
    }

    /// Validates every setting before any work starts.
    pub fn check(&self) -> Result<()> {
        self.features.check()?;
        let bad_c = |c: f64| !(c.is_finite() && c > 0.0);
        if let Some(c) = self.c {
            if bad_c(c) {
                return Err(LinearError::Param(format!(
                    "C = {c} must be a positive number"
                )));
            }
        } else if self.c_grid.is_empty() || self.c_grid.iter().any(|&c| bad_c(c)) {
            return Err(LinearError::Param(
                "the C grid must hold positive numbers (or give C)".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.nb_beta) {
            return Err(LinearError::Param("NBSVM beta must be in [0, 1]".into()));
        }
        if self.nb_alpha.is_nan() || self.nb_alpha <= 0.0 {
            return Err(LinearError::Param("NBSVM alpha must be positive".into()));
        }
        if self.tol.is_nan() || self.tol <= 0.0 || self.max_iter == 0 {
            return Err(LinearError::Param(
                "tol must be > 0 and max_iter ≥ 1".into(),
            ));
        }
        if !(self.holdout_frac > 0.0 && self.holdout_frac < 0.5) {
            return Err(LinearError::Param(
                "holdout fraction must be in (0, 0.5)".into(),
            ));
        }
        Ok(())
    }
}

/// How scores become probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Calibration {
    /// Logistic regression's own sigmoid (binary) or softmax.
    Logistic,
    /// One Platt sigmoid per output, normalised to sum to one over classes.
    Platt { sigmoids: Vec<Platt> },
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
#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    pub chosen_c: f64,
    /// Accuracy on the selection split for every C tried (empty when C was given).
    pub c_search: Vec<CSearchPoint>,
    /// Where C was chosen and calibration fitted: "valid", "holdout" or "none".
    pub selection_split: String,
    pub num_features: usize,
    pub train_nnz: usize,
    pub refit_on_full_train: bool,
    pub vectorize_s: f64,
    pub fit_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CSearchPoint {
    pub c: f64,
    pub accuracy: f64,
    pub fit_s: f64,
}

/// The rows C is chosen and the calibration fitted on.
struct Selection {
    x: CsrMatrix,
    y: Vec<usize>,
    split: &'static str,
}

/// Scores (outputs × rows) of raw weights.
struct RawModel {
    outputs: usize,
    w: Vec<f64>,
    b: Vec<f64>,
}

impl RawModel {
    fn scores(&self, x: &CsrMatrix) -> Vec<f64> {
        let d = x.ncols;
        let o = self.outputs;
        let mut s = vec![0f64; x.nrows() * o];
        s.par_chunks_mut(o).enumerate().for_each(|(i, r)| {
            let (idx, val) = x.row(i);
            for (c, v) in r.iter_mut().enumerate() {
                *v = self.b[c] + crate::sparse::dot(idx, val, &self.w[c * d..(c + 1) * d]);
            }
        });
        s
    }
}

fn predict_from_scores(scores: &[f64], outputs: usize) -> Vec<usize> {
    if outputs == 1 {
        scores.iter().map(|&s| usize::from(s > 0.0)).collect()
    } else {
        scores
            .chunks(outputs)
            .map(|r| {
                (0..outputs)
                    .max_by(|&a, &b| r[a].total_cmp(&r[b]).then(b.cmp(&a)))
                    .unwrap_or(0)
            })
            .collect()
    }
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

/// Trains one model at a given C on (x, y). Returns weights in the original feature
/// space (NBSVM ratios folded in).
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
    let cost: Vec<f64> = y.iter().map(|&l| c * cost_per_class[l]).collect();
    if params.kind == LinearKind::Lr && k > 2 {
        let m = lbfgs::softmax(x, y, &cost, k, &SolverOptions { tol: 1e-4, ..opt });
        return RawModel {
            outputs: k,
            w: m.w,
            b: m.b,
        };
    }
    // Binary: one output scoring class 1; otherwise one-vs-rest.
    let targets: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
    let d = x.ncols;
    let parts: Vec<(Vec<f64>, f64)> = targets
        .par_iter()
        .map(|&t| {
            let positive: Vec<bool> = y.iter().map(|&l| l == t).collect();
            let ys: Vec<f64> = positive
                .iter()
                .map(|&p| if p { 1.0 } else { -1.0 })
                .collect();
            match params.kind {
                LinearKind::Lr => {
                    let m = dual_cd::logistic(
                        &BinaryProblem {
                            x,
                            y: &ys,
                            cost: &cost,
                            bias: 1.0,
                        },
                        &opt,
                    );
                    (m.w, m.b)
                }
                LinearKind::Svm => {
                    let m = dual_cd::svm_l2_loss(
                        &BinaryProblem {
                            x,
                            y: &ys,
                            cost: &cost,
                            bias: 1.0,
                        },
                        &opt,
                    );
                    (m.w, m.b)
                }
                LinearKind::Nbsvm => {
                    let r = nb_ratio(x, &positive, params.nb_alpha);
                    let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
                    let mut xs = x.clone();
                    xs.scale_columns(&r32);
                    let m = dual_cd::svm_l2_loss(
                        &BinaryProblem {
                            x: &xs,
                            y: &ys,
                            cost: &cost,
                            bias: 1.0,
                        },
                        &opt,
                    );
                    // w' = (1−β)·mean|w| + β·w; the intercept is scaled by β as well.
                    let beta = params.nb_beta;
                    let mean_abs = m.w.iter().map(|v| v.abs()).sum::<f64>() / d as f64;
                    let w: Vec<f64> =
                        m.w.iter()
                            .zip(&r)
                            .map(|(wj, rj)| ((1.0 - beta) * mean_abs + beta * wj) * rj)
                            .collect();
                    (w, beta * m.b)
                }
            }
        })
        .collect();
    let outputs = parts.len();
    let mut w = Vec::with_capacity(outputs * d);
    let mut b = Vec::with_capacity(outputs);
    for (wi, bi) in parts {
        w.extend(wi);
        b.push(bi);
    }
    RawModel { outputs, w, b }
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

/// Trains a linear baseline. C is chosen on `valid` (or on a stratified holdout of
/// train when there is none), SVM/NBSVM scores are Platt-calibrated there, and with a
/// holdout the final model is refit on all of train.
pub fn fit(
    params: &LinearParams,
    train: &Dataset,
    valid: Option<&Dataset>,
) -> Result<(LinearClassifier, FitReport)> {
    params.check()?;
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
    let x_valid = valid.map(|v| vectorizer.transform(&v.text_refs()));
    let vectorize_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let counts = train.class_counts();
    let cw = params.class_weights.weights(&counts)?;

    let needs_selection = params.c.is_none() || params.kind != LinearKind::Lr;
    // The rows to fit on, and where C is chosen and calibration fitted.
    let holdout: CsrMatrix;
    let (fit_x, fit_y, sel): (&CsrMatrix, Vec<usize>, Option<Selection>) = match x_valid.zip(valid)
    {
        Some((xv, v)) => (
            &x_all,
            train.labels.clone(),
            Some(Selection {
                x: xv,
                y: v.labels.clone(),
                split: "valid",
            }),
        ),
        None if needs_selection => {
            let (fi, ho) = holdout_split(&train.labels, k, params.holdout_frac, params.seed);
            if ho.is_empty() {
                return Err(LinearError::Data(
                        "training data is too small to hold out rows for choosing C: give --C or a --valid file".into(),
                    ));
            }
            holdout = x_all.select_rows(&fi);
            let fy = fi.iter().map(|&i| train.labels[i]).collect();
            let hy = ho.iter().map(|&i| train.labels[i]).collect();
            let sel = Selection {
                x: x_all.select_rows(&ho),
                y: hy,
                split: "holdout",
            };
            (&holdout, fy, Some(sel))
        }
        None => (&x_all, train.labels.clone(), None),
    };

    let mut search = vec![];
    let grid: Vec<f64> = match params.c {
        Some(c) => vec![c],
        None => params.c_grid.clone(),
    };
    let mut fitted: Vec<(f64, RawModel, f64)> = grid
        .par_iter()
        .map(|&c| {
            let t = Instant::now();
            let m = train_raw(params, fit_x, &fit_y, k, &cw, c);
            (c, m, t.elapsed().as_secs_f64())
        })
        .collect();
    let mut best = 0;
    if let Some(Selection { x: sx, y: sy, .. }) = &sel {
        let mut best_acc = f64::NEG_INFINITY;
        for (i, (c, m, secs)) in fitted.iter().enumerate() {
            let acc = accuracy(&predict_from_scores(&m.scores(sx), m.outputs), sy);
            if params.c.is_none() {
                search.push(CSearchPoint {
                    c: *c,
                    accuracy: acc,
                    fit_s: *secs,
                });
            }
            if acc > best_acc + 1e-12 {
                best_acc = acc;
                best = i;
            }
        }
    }
    let (chosen_c, mut model, _) = fitted.swap_remove(best);
    // SVM scores are calibrated on the selection split with the model fitted without it;
    // when that model is then refit on all of train at the same C, its scores are on a
    // similar but not identical scale (as scikit-learn's CalibratedClassifierCV with
    // ensemble=False).
    let calibration = match params.kind {
        LinearKind::Lr => Calibration::Logistic,
        _ => {
            let Selection { x: sx, y: sy, .. } = sel
                .as_ref()
                .ok_or_else(|| LinearError::Data("calibration needs validation data".into()))?;
            let s = model.scores(sx);
            let sigmoids = (0..model.outputs)
                .map(|o| {
                    let target = if model.outputs == 1 { 1 } else { o };
                    let f: Vec<f64> = (0..sy.len()).map(|i| s[i * model.outputs + o]).collect();
                    let pos: Vec<bool> = sy.iter().map(|&l| l == target).collect();
                    Platt::fit(&f, &pos)
                })
                .collect();
            Calibration::Platt { sigmoids }
        }
    };
    let refit = sel.as_ref().is_some_and(|s| s.split == "holdout");
    if refit {
        model = train_raw(params, &x_all, &train.labels, k, &cw, chosen_c);
    }
    let fit_s = t1.elapsed().as_secs_f64();
    let report = FitReport {
        chosen_c,
        c_search: search,
        selection_split: sel.as_ref().map_or("none", |s| s.split).to_string(),
        num_features: vectorizer.num_features(),
        train_nnz: x_all.nnz(),
        refit_on_full_train: refit,
        vectorize_s,
        fit_s,
    };
    let clf = LinearClassifier {
        kind_name: format!("tfidf-{}", params.kind.name()),
        params: LinearParams {
            c: Some(chosen_c),
            ..params.clone()
        },
        labels: train.label_set.clone(),
        vectorizer,
        weights: model.w.iter().map(|&v| v as f32).collect(),
        bias: model.b.iter().map(|&v| v as f32).collect(),
        calibration,
        c: chosen_c,
    };
    Ok((clf, report))
}

impl LinearClassifier {
    /// Number of score outputs (1 for two classes).
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Raw decision scores for already vectorised rows (`rows × outputs`).
    pub fn decision_function(&self, x: &CsrMatrix) -> Vec<f64> {
        let d = self.vectorizer.num_features();
        let o = self.outputs();
        let mut s = vec![0f64; x.nrows() * o];
        s.par_chunks_mut(o).enumerate().for_each(|(i, r)| {
            let (idx, val) = x.row(i);
            for (c, v) in r.iter_mut().enumerate() {
                let w = &self.weights[c * d..(c + 1) * d];
                let mut acc = self.bias[c] as f64;
                for (&j, &x) in idx.iter().zip(val) {
                    acc += w[j as usize] as f64 * x as f64;
                }
                *v = acc;
            }
        });
        s
    }

    fn probabilities(&self, scores: &[f64]) -> Vec<f32> {
        let o = self.outputs();
        let k = self.labels.len();
        let mut out = Vec::with_capacity(scores.len() / o * k);
        for r in scores.chunks(o) {
            match (&self.calibration, o) {
                (Calibration::Logistic, 1) => {
                    let p1 = 1.0 / (1.0 + (-r[0]).exp());
                    out.extend([(1.0 - p1) as f32, p1 as f32]);
                }
                (Calibration::Logistic, _) => {
                    let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = r.iter().map(|v| (v - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    out.extend(e.iter().map(|v| (v / z) as f32));
                }
                (Calibration::Platt { sigmoids }, 1) => {
                    let p1 = sigmoids[0].prob(r[0]);
                    out.extend([(1.0 - p1) as f32, p1 as f32]);
                }
                (Calibration::Platt { sigmoids }, _) => {
                    let p: Vec<f64> = r
                        .iter()
                        .zip(sigmoids)
                        .map(|(&v, s)| s.prob(v).max(1e-12))
                        .collect();
                    let z: f64 = p.iter().sum();
                    out.extend(p.iter().map(|v| (v / z) as f32));
                }
            }
        }
        out
    }

    /// Loads a model written by [`Classifier::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        crate::io::load(dir)
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
        crate::io::save(self, dir).map_err(Into::into)
    }
}
