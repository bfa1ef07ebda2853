//! Linear regression baselines over TF-IDF (or pair) features: ridge and L2-loss linear
//! SVR, with the regularisation strength chosen on validation data, and for sentence
//! pairs the TF-IDF cosine.
//!
//! * **Ridge**: `min ½ Σᵢ (yᵢ − w·xᵢ − b)² + ½ (1/C) ‖w‖²`, intercept not penalised,
//!   solved by conjugate gradients ([`crate::solver::ridge`]); the same model as
//!   scikit-learn's `Ridge(alpha = 1/C)`.
//! * **Cosine** (pairs only): `a + b · cos(A, B)`, the cosine of the two sides' TF-IDF
//!   rows in one vocabulary fitted on both (the pair features' similarity column,
//!   [`crate::pairs`]), with `a` and `b` fitted by least squares on train. Nothing is
//!   regularised, so no C is chosen; the scaling puts the scores in the targets' units
//!   and leaves the correlations those of the plain cosine (unless train's own
//!   correlation is negative, which flips the sign).
//! * **SVR**: `min ½‖w‖² + C Σᵢ max(0, |yᵢ − ȳ − w·xᵢ − b| − ε)²`, LIBLINEAR's L2-loss
//!   SVR solved in the dual by coordinate descent (Ho & Lin 2012,
//!   [`crate::solver::svr`]). The targets are centred on their training mean `ȳ` first
//!   (added back when predicting), so the regularised intercept only has to carry the
//!   rest.
//!
//! C is chosen from a grid by the **mean squared error** on the validation rows (the
//! loss both models minimise; lower wins, ties go to the smaller C), or, with
//! [`Criterion::Pearson`], by the Pearson correlation (higher wins; a constant
//! prediction scores worst). Without validation rows, a seeded random
//! [`RegressionParams::holdout_frac`] of train is held out for the choice and the model
//! is then refit on all of train at the chosen C. As for the classifiers, the grid is
//! extended when the best C is at its edge.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::features::{FeatureParams, Featurizer, TextInput};
use crate::model::GridExtension;
use crate::pairs::PairParams;
use crate::solver::{ridge, svr, SolverOptions};
use crate::sparse::{dot, CsrMatrix};
use crate::store::{self, Loaded, SavedFeatures};
use crate::{LinearError, Result};

/// Which regression model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegressionKind {
    Ridge,
    Svr,
    Cosine,
}

impl RegressionKind {
    pub fn name(self) -> &'static str {
        match self {
            RegressionKind::Ridge => "ridge",
            RegressionKind::Svr => "svr",
            RegressionKind::Cosine => "cosine",
        }
    }

    /// The pair features the cosine model reads: the similarity columns alone (cosine,
    /// then Jaccard).
    pub fn cosine_features() -> PairParams {
        PairParams {
            sides: false,
            product: false,
            similarity: true,
        }
    }
}

/// How C is chosen on the validation rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    /// Lowest mean squared error.
    #[default]
    Mse,
    /// Highest Pearson correlation.
    Pearson,
}

/// Everything that decides how a regression baseline is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionParams {
    pub kind: RegressionKind,
    pub features: FeatureParams,
    /// Inverse regularisation strength (ridge: scikit-learn's `alpha` is 1/C); `None` =
    /// choose from `c_grid` on validation rows.
    pub c: Option<f64>,
    pub c_grid: Vec<f64>,
    /// SVR: half-width of the insensitive tube, in target units.
    pub epsilon: f64,
    pub select_by: Criterion,
    /// Ridge: relative residual of conjugate gradients; SVR: the drop of the optimality
    /// violation that stops the descent.
    pub tol: f64,
    pub max_iter: usize,
    pub seed: u64,
    /// Share of train held out for choosing C when no validation rows are given.
    pub holdout_frac: f64,
}

impl RegressionParams {
    pub fn new(kind: RegressionKind) -> Self {
        Self {
            kind,
            features: FeatureParams::default(),
            c: None,
            c_grid: vec![0.0625, 0.25, 1.0, 4.0, 16.0],
            epsilon: 0.0,
            select_by: Criterion::Mse,
            tol: match kind {
                RegressionKind::Ridge | RegressionKind::Cosine => 1e-6,
                RegressionKind::Svr => 1e-3,
            },
            max_iter: 1000,
            seed: 42,
            holdout_frac: 0.1,
        }
    }

    pub fn check(&self) -> Result<()> {
        self.features.check()?;
        if self.kind == RegressionKind::Cosine
            && self.features.pair != RegressionKind::cosine_features()
        {
            return Err(LinearError::Param(
                "the cosine model reads the pair similarity columns alone (no side or product features)".into(),
            ));
        }
        if self.kind == RegressionKind::Cosine && self.c.is_some() {
            return Err(LinearError::Param(
                "the cosine model has nothing to regularise: drop C".into(),
            ));
        }
        crate::model::check_c(self.c, &self.c_grid)?;
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return Err(LinearError::Param(format!(
                "SVR epsilon {} must be a number ≥ 0",
                self.epsilon
            )));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) || self.max_iter == 0 {
            return Err(LinearError::Param(
                "tol must be > 0 and max_iter ≥ 1".into(),
            ));
        }
        if !(self.holdout_frac > 0.0 && self.holdout_frac < 0.5) {
            return Err(LinearError::Param(
                "the share of train held out for validation (--valid-frac) must be above 0 and below 0.5".into(),
            ));
        }
        Ok(())
    }
}

/// Rows with real-valued targets.
#[derive(Debug, Clone, Copy)]
pub struct RegressionSet<'a> {
    pub input: TextInput<'a>,
    pub targets: &'a [f64],
}

impl RegressionSet<'_> {
    fn check(&self, name: &str) -> Result<()> {
        if self.input.len() != self.targets.len() {
            return Err(LinearError::Data(format!(
                "{name} has {} rows of text but {} targets",
                self.input.len(),
                self.targets.len()
            )));
        }
        if self.targets.is_empty() {
            return Err(LinearError::Data(format!("{name} has no rows")));
        }
        if let Some(i) = self.targets.iter().position(|t| !t.is_finite()) {
            return Err(LinearError::Data(format!(
                "{name} row {i}: target {} is not a finite number: fix or drop the row",
                self.targets[i]
            )));
        }
        Ok(())
    }
}

/// One C of the search, scored on the selection rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegressionPoint {
    pub c: f64,
    #[serde(deserialize_with = "textclf_core::null_as_nan")]
    pub mse: f64,
    #[serde(deserialize_with = "textclf_core::null_as_nan")]
    pub pearson: f64,
    #[serde(default)]
    pub fit_s: f64,
    /// Conjugate-gradient iterations or coordinate-descent passes.
    #[serde(default)]
    pub iterations: usize,
}

/// What happened during [`fit_regression`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegressionReport {
    /// `None` for the cosine model, which has nothing to regularise.
    pub chosen_c: Option<f64>,
    /// "mse" or "pearson".
    #[serde(default)]
    pub select_by: Criterion,
    #[serde(default)]
    pub c_search: Vec<RegressionPoint>,
    pub c_grid_extension: Option<GridExtension>,
    /// "valid", "holdout" or "none".
    #[serde(default)]
    pub selection_split: String,
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

/// A fitted linear regressor: prediction `w·x + bias`.
#[derive(Debug, Clone)]
pub struct LinearRegressor {
    pub params: RegressionParams,
    pub features: Featurizer,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// The C it was fitted at; `None` for the cosine model.
    pub c: Option<f64>,
}

/// Mean squared error.
pub fn mse(pred: &[f64], gold: &[f64]) -> f64 {
    pred.iter()
        .zip(gold)
        .map(|(p, g)| (p - g) * (p - g))
        .sum::<f64>()
        / gold.len().max(1) as f64
}

/// Pearson correlation; NaN when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// (w, b, iterations) at C on (x, y).
fn fit_at(params: &RegressionParams, x: &CsrMatrix, y: &[f64], c: f64) -> (Vec<f64>, f64, usize) {
    match params.kind {
        RegressionKind::Ridge => {
            let m = ridge::ridge(x, y, 1.0 / c, params.tol, params.max_iter);
            (m.w, m.b, m.iterations)
        }
        RegressionKind::Cosine => {
            let (w, b) = cosine_fit(x, y);
            (w, b, 1)
        }
        RegressionKind::Svr => {
            let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
            let centred: Vec<f64> = y.iter().map(|v| v - mean).collect();
            let opt = SolverOptions {
                tol: params.tol,
                max_iter: params.max_iter,
                seed: params.seed,
            };
            let m = svr::svr_l2_loss(x, &centred, c, params.epsilon, 1.0, &opt);
            (m.w, m.b + mean, m.iterations)
        }
    }
}

/// The least-squares line `a + b · cos` through the rows' cosine column (column 0 of
/// the similarity-only pair features), as weights over the columns and the intercept;
/// with a constant cosine the line is flat at the mean target.
fn cosine_fit(x: &CsrMatrix, y: &[f64]) -> (Vec<f64>, f64) {
    let cos: Vec<f64> = (0..x.nrows())
        .map(|i| {
            let (idx, val) = x.row(i);
            idx.iter()
                .zip(val)
                .find(|(&j, _)| j == 0)
                .map_or(0.0, |(_, &v)| f64::from(v))
        })
        .collect();
    let n = y.len().max(1) as f64;
    let (mc, my) = (cos.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut scy, mut scc) = (0.0, 0.0);
    for (c, t) in cos.iter().zip(y) {
        scy += (c - mc) * (t - my);
        scc += (c - mc) * (c - mc);
    }
    let slope = if scc > 0.0 { scy / scc } else { 0.0 };
    let mut w = vec![0.0; x.ncols];
    if let Some(first) = w.first_mut() {
        *first = slope;
    }
    (w, my - slope * mc)
}

fn predict_rows(w: &[f64], b: f64, x: &CsrMatrix) -> Vec<f64> {
    (0..x.nrows())
        .map(|i| {
            let (idx, val) = x.row(i);
            dot(idx, val, w) + b
        })
        .collect()
}

/// Trains a regression baseline; C is chosen on `valid` (or a holdout of train).
pub fn fit_regression(
    params: &RegressionParams,
    train: &RegressionSet,
    valid: Option<&RegressionSet>,
) -> Result<(LinearRegressor, RegressionReport)> {
    params.check()?;
    train.check("training data")?;
    if let Some(v) = valid {
        v.check("validation data")?;
    }
    let cosine = params.kind == RegressionKind::Cosine;
    if cosine && !matches!(train.input, TextInput::Pair(..)) {
        return Err(LinearError::Data(
            "the cosine model scores the similarity of two texts: give sentence pairs (a second text column) or use ridge or SVR".into(),
        ));
    }
    let t0 = Instant::now();
    let (features, x_all) = Featurizer::fit_transform(&params.features, train.input)?;
    // The cosine model chooses nothing on validation rows: they are not vectorized.
    let x_valid = valid
        .filter(|_| !cosine)
        .map(|v| features.transform(v.input).map(|x| (x, v.targets.to_vec())))
        .transpose()?;
    let vectorize_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let needs_selection = params.c.is_none() && !cosine;
    let mut holdout_fit: Option<(CsrMatrix, Vec<f64>)> = None;
    let sel: Option<((CsrMatrix, Vec<f64>), &str)> = match x_valid {
        Some(v) => Some((v, "valid")),
        None if needs_selection => {
            if train.targets.len() < 2 {
                return Err(LinearError::Data(
                    "training data is too small to hold out rows for choosing C: give C or validation data".into(),
                ));
            }
            let (fi, ho) = crate::select::random_holdout(
                train.targets.len(),
                params.holdout_frac,
                params.seed,
            );
            holdout_fit = Some((
                x_all.select_rows(&fi),
                fi.iter().map(|&i| train.targets[i]).collect(),
            ));
            Some((
                (
                    x_all.select_rows(&ho),
                    ho.iter().map(|&i| train.targets[i]).collect(),
                ),
                "holdout",
            ))
        }
        None => None,
    };
    let refit = holdout_fit.is_some();
    let (c, w, b, points, extension) = match &sel {
        _ if cosine => {
            let (w, b, _) = fit_at(params, &x_all, train.targets, 1.0);
            (None, w, b, vec![], None)
        }
        None => {
            let c = params.c.unwrap_or(1.0);
            let (w, b, _) = fit_at(params, &x_all, train.targets, c);
            (Some(c), w, b, vec![], None)
        }
        Some(((sx, sy), _)) => {
            let (fx, fy): (&CsrMatrix, &[f64]) = match &holdout_fit {
                Some((x, y)) => (x, y),
                None => (&x_all, train.targets),
            };
            let grid = params.c.map_or_else(|| params.c_grid.clone(), |c| vec![c]);
            let fit = |c: f64| {
                let t = Instant::now();
                let (w, b, iterations) = fit_at(params, fx, fy, c);
                let pred = predict_rows(&w, b, sx);
                let point = RegressionPoint {
                    c,
                    mse: mse(&pred, sy),
                    pearson: pearson(&pred, sy),
                    fit_s: t.elapsed().as_secs_f64(),
                    iterations,
                };
                let score = match params.select_by {
                    Criterion::Mse => -point.mse,
                    Criterion::Pearson => point.pearson,
                };
                ((w, b), point, score)
            };
            let s = crate::select::search(&grid, params.c.is_none(), false, &fit);
            let points = s.points.into_iter().map(|(_, p)| p).collect();
            (Some(s.c), s.model.0, s.model.1, points, s.extension)
        }
    };
    let (w, b) = if let (true, Some(c)) = (refit, c) {
        let (w, b, _) = fit_at(params, &x_all, train.targets, c);
        (w, b)
    } else {
        (w, b)
    };
    let report = RegressionReport {
        chosen_c: c,
        select_by: params.select_by,
        c_search: points,
        c_grid_extension: extension,
        selection_split: sel.as_ref().map_or("none", |s| s.1).to_string(),
        num_features: features.num_features(),
        train_nnz: x_all.nnz(),
        refit_on_full_train: refit,
        vectorize_s,
        fit_s: t1.elapsed().as_secs_f64(),
    };
    let model = LinearRegressor {
        params: RegressionParams {
            c,
            ..params.clone()
        },
        features,
        weights: w.iter().map(|&v| v as f32).collect(),
        bias: b as f32,
        c,
    };
    Ok((model, report))
}

const FORMAT: &str = "textclf-linear-regression";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    params: RegressionParams,
    #[serde(default)]
    c: Option<f64>,
    features: SavedFeatures,
}

impl LinearRegressor {
    /// Predictions for `input` (same shape as the training input).
    pub fn predict(&self, input: TextInput) -> Result<Vec<f64>> {
        let x = self.features.transform(input)?;
        Ok((0..x.nrows())
            .map(|i| {
                let (idx, val) = x.row(i);
                let mut acc = self.bias as f64;
                for (&j, &v) in idx.iter().zip(val) {
                    acc += self.weights[j as usize] as f64 * v as f64;
                }
                acc
            })
            .collect())
    }

    /// "tfidf-ridge", "tfidf-svr" or "tfidf-cosine".
    pub fn kind(&self) -> String {
        format!("tfidf-{}", self.params.kind.name())
    }

    /// Writes `model.json` and `model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let d = self.features.num_features();
        let mut tensors = store::featurizer_tensors(&self.features);
        tensors.push(store::f32_tensor("weight", vec![d], &self.weights));
        tensors.push(store::f32_tensor("bias", vec![1], &[self.bias]));
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            params: self.params.clone(),
            c: self.c,
            features: SavedFeatures::of(&self.features, &self.params.features),
        };
        store::write(dir, FORMAT, &manifest, tensors)
    }

    /// Loads a model written by [`Self::save`], refusing damaged or inconsistent files.
    pub fn load(dir: &Path) -> Result<Self> {
        let (l, m): (Loaded, Manifest) =
            Loaded::open(dir, FORMAT, VERSION, "linear regression model")?;
        m.params.check().map_err(|e| {
            l.fail(format!(
                "model.json holds settings no fit could have made ({e}); the file was edited or damaged: restore it or retrain"
            ))
        })?;
        if m.params.features != m.features.params
            || m.params.c != m.c
            || (m.c.is_none() != (m.params.kind == RegressionKind::Cosine))
        {
            return Err(l.fail(
                "model.json's feature settings or C disagree with each other; the file was edited or damaged",
            ));
        }
        let features = l.featurizer(&m.features)?;
        let d = features.num_features();
        let weights = l.f32s("weight", d)?;
        let bias = l.f32s("bias", 1)?[0];
        Ok(Self {
            params: m.params,
            features,
            weights,
            bias,
            c: m.c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::PairCosine;

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    /// Texts whose target is linear in word counts: each "up" adds 1, each "down"
    /// subtracts 1, on top of 2; filler words carry nothing.
    fn linear_data(n: usize, seed: u64) -> (Vec<String>, Vec<f64>) {
        let mut s = seed;
        let mut next = |m: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % m
        };
        let mut texts = vec![];
        let mut ys = vec![];
        for _ in 0..n {
            let (u, d) = (next(4), next(4));
            let mut words: Vec<String> = vec![];
            words.extend((0..u).map(|_| "up".to_string()));
            words.extend((0..d).map(|_| "down".to_string()));
            words.extend((0..3).map(|_| format!("filler{}", next(30))));
            texts.push(words.join(" "));
            ys.push(2.0 + u as f64 - d as f64);
        }
        (texts, ys)
    }

    fn plain_counts() -> FeatureParams {
        FeatureParams {
            tfidf: crate::TfidfParams {
                min_df: 1,
                sublinear_tf: false,
                use_idf: false,
                l2_norm: false,
                analyzer: crate::AnalyzerParams {
                    ngram: (1, 1),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn both_kinds_learn_a_linear_target_and_round_trip() {
        let (tr, ytr) = linear_data(300, 1);
        let (va, yva) = linear_data(100, 2);
        let (te, yte) = linear_data(100, 3);
        let (tr, va, te) = (refs(&tr), refs(&va), refs(&te));
        let train = RegressionSet {
            input: TextInput::Single(&tr),
            targets: &ytr,
        };
        let valid = RegressionSet {
            input: TextInput::Single(&va),
            targets: &yva,
        };
        for kind in [RegressionKind::Ridge, RegressionKind::Svr] {
            let mut p = RegressionParams::new(kind);
            p.features = plain_counts();
            let (m, report) = fit_regression(&p, &train, Some(&valid)).unwrap();
            let pred = m.predict(TextInput::Single(&te)).unwrap();
            let err = mse(&pred, &yte);
            assert!(err < 0.05, "{kind:?}: test MSE {err}");
            assert!(pearson(&pred, &yte) > 0.99, "{kind:?}");
            // A large C wins on noiseless data, and C is chosen by MSE.
            assert!(
                report.chosen_c.is_some_and(|c| c >= 1.0),
                "{kind:?} {report:?}"
            );
            let best = report
                .c_search
                .iter()
                .map(|p| p.mse)
                .fold(f64::INFINITY, f64::min);
            let at_c = report
                .c_search
                .iter()
                .find(|p| Some(p.c) == report.chosen_c)
                .unwrap();
            assert_eq!(at_c.mse, best);
            let dir = tempfile::tempdir().unwrap();
            m.save(dir.path()).unwrap();
            let back = LinearRegressor::load(dir.path()).unwrap();
            assert_eq!(back.predict(TextInput::Single(&te)).unwrap(), pred);
            assert_eq!(back.params, m.params);
        }
    }

    #[test]
    fn holdout_refit_and_pearson_criterion() {
        let (tr, ytr) = linear_data(200, 4);
        let tr: Vec<&str> = tr.iter().map(String::as_str).collect();
        let train = RegressionSet {
            input: TextInput::Single(&tr),
            targets: &ytr,
        };
        let mut p = RegressionParams::new(RegressionKind::Ridge);
        p.features = plain_counts();
        p.select_by = Criterion::Pearson;
        let (_, r) = fit_regression(&p, &train, None).unwrap();
        assert_eq!(r.selection_split, "holdout");
        assert!(r.refit_on_full_train);
        let best = r
            .c_search
            .iter()
            .map(|p| p.pearson)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(r
            .c_search
            .iter()
            .any(|q| Some(q.c) == r.chosen_c && q.pearson == best));
        // Fixed C: no search, no holdout.
        p.c = Some(2.0);
        let (m, r) = fit_regression(&p, &train, None).unwrap();
        assert_eq!((r.selection_split.as_str(), m.c), ("none", Some(2.0)));
    }

    #[test]
    fn bad_input_and_damaged_files_are_refused() {
        let tr = ["a b", "b c"];
        let y = [1.0, f64::NAN];
        let p = RegressionParams::new(RegressionKind::Svr);
        let e = fit_regression(
            &p,
            &RegressionSet {
                input: TextInput::Single(&tr),
                targets: &y,
            },
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("row 1") && e.contains("not a finite number"),
            "{e}"
        );
        let e = fit_regression(
            &p,
            &RegressionSet {
                input: TextInput::Single(&tr),
                targets: &[1.0],
            },
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("2 rows of text but 1 targets"), "{e}");
        let mut bad = RegressionParams::new(RegressionKind::Ridge);
        bad.epsilon = -1.0;
        assert!(bad.check().is_err());
        let mut bad = RegressionParams::new(RegressionKind::Ridge);
        bad.c = Some(1.0);
        bad.c_grid = vec![f64::INFINITY];
        assert!(bad.check().unwrap_err().to_string().contains("C grid"));

        // A model trained on pairs refuses single texts; damaged files are refused.
        let (a, b) = (
            ["red car", "blue sky", "red sky"],
            ["red car", "blue car", "sky"],
        );
        let ys = [5.0, 1.0, 2.0];
        let mut p = RegressionParams::new(RegressionKind::Ridge);
        p.features = plain_counts();
        p.c = Some(1.0);
        let (m, _) = fit_regression(
            &p,
            &RegressionSet {
                input: TextInput::Pair(&a, &b),
                targets: &ys,
            },
            None,
        )
        .unwrap();
        assert!(m.predict(TextInput::Single(&a)).is_err());
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        let want = m.predict(TextInput::Pair(&a, &b)).unwrap();
        let back = LinearRegressor::load(dir.path()).unwrap();
        assert_eq!(back.predict(TextInput::Pair(&a, &b)).unwrap(), want);
        let json = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
        for (from, to, says) in [
            (r#""num_features": "#, r#""num_features": 1"#, "features"),
            (
                r#""format": "textclf-linear-regression""#,
                r#""format": "textclf-linear""#,
                "expected 'textclf-linear-regression'",
            ),
            (r#""version": 1"#, r#""version": 9"#, "version 9"),
        ] {
            std::fs::write(dir.path().join("model.json"), json.replacen(from, to, 1)).unwrap();
            let e = LinearRegressor::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains(says), "{from}: {e}");
        }
        std::fs::write(dir.path().join("model.json"), &json).unwrap();
        std::fs::write(dir.path().join("model.safetensors"), b"garbage").unwrap();
        let e = LinearRegressor::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("model.safetensors"), "{e}");
    }

    #[test]
    fn the_cosine_model_is_the_pair_cosine_scaled_by_least_squares() {
        let a = [
            "red apple pie",
            "blue sky today",
            "a green apple",
            "the dog runs",
            "cold winter night",
            "red apple tart",
        ];
        let b = [
            "red apple cake",
            "grey sky today",
            "a red car",
            "the cat sleeps",
            "cold winter night",
            "green pear",
        ];
        let mut params = RegressionParams::new(RegressionKind::Cosine);
        params.features.pair = RegressionKind::cosine_features();
        params.features.tfidf = plain_counts().tfidf;
        let both: Vec<&str> = a.iter().chain(&b).copied().collect();
        let cos = PairCosine::fit(&params.features.tfidf, &both)
            .unwrap()
            .score(&a, &b)
            .unwrap();
        assert!(
            cos.iter().any(|&c| c > 0.9) && cos.contains(&0.0),
            "{cos:?}"
        );
        // Targets exactly on a line of the cosine: the fit recovers it.
        let ys: Vec<f64> = cos.iter().map(|c| 1.0 + 4.0 * c).collect();
        let train = RegressionSet {
            input: TextInput::Pair(&a, &b),
            targets: &ys,
        };
        let (m, r) = fit_regression(&params, &train, Some(&train)).unwrap();
        assert_eq!(
            (r.chosen_c, m.c, r.selection_split.as_str()),
            (None, None, "none")
        );
        assert!(r.c_search.is_empty() && !r.refit_on_full_train);
        assert_eq!(m.kind(), "tfidf-cosine");
        let pred = m.predict(TextInput::Pair(&a, &b)).unwrap();
        for (p, y) in pred.iter().zip(&ys) {
            assert!((p - y).abs() < 1e-5, "{pred:?} vs {ys:?}");
        }
        // Noisy targets: the Pearson of the predictions is the plain cosine's.
        let noisy: Vec<f64> = ys
            .iter()
            .enumerate()
            .map(|(i, y)| y + if i % 2 == 0 { 0.7 } else { -0.4 })
            .collect();
        let (m2, _) = fit_regression(
            &params,
            &RegressionSet {
                input: TextInput::Pair(&a, &b),
                targets: &noisy,
            },
            None,
        )
        .unwrap();
        let p2 = m2.predict(TextInput::Pair(&a, &b)).unwrap();
        assert!((pearson(&p2, &noisy) - pearson(&cos, &noisy)).abs() < 1e-6);

        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        let back = LinearRegressor::load(dir.path()).unwrap();
        assert_eq!(back.predict(TextInput::Pair(&a, &b)).unwrap(), pred);
        assert_eq!(back.c, None);

        // Single texts, a C, or other pair features are refused with what to do.
        let e = fit_regression(
            &params,
            &RegressionSet {
                input: TextInput::Single(&a),
                targets: &ys,
            },
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sentence pairs"), "{e}");
        let mut with_c = params.clone();
        with_c.c = Some(1.0);
        let e = fit_regression(&with_c, &train, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("drop C"), "{e}");
        let mut sides = params.clone();
        sides.features.pair = PairParams::default();
        let e = fit_regression(&sides, &train, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("similarity columns"), "{e}");
    }
}
