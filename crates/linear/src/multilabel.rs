//! Multi-label classification: one binary model per label (one-vs-rest) over the same
//! TF-IDF (or pair) features, with per-label probabilities and decision thresholds.
//!
//! * **Models**: for every label, logistic regression, L2-loss SVM or NBSVM (the same
//!   solvers and settings as the single-label models, [`crate::model`]) on "the row
//!   carries this label" vs "it does not". NBSVM's log-count ratios are computed per
//!   label. Costs: every row costs C, except with [`ClassWeights::Balanced`] (a label's
//!   positive rows cost `C·n/(2·n₊)`, its negative rows `C·n/(2·n₋)`, scikit-learn's
//!   "balanced" for each binary problem) and [`ClassWeights::Explicit`] (one weight per
//!   label, multiplying the cost of its positive rows).
//! * **Probabilities**: logistic regression's sigmoid; for SVM and NBSVM a Platt sigmoid
//!   per label fitted on the selection rows.
//! * **Thresholds**: a label is predicted when its probability is at least its threshold.
//!   Each label's threshold maximises that label's F1 on the selection rows, searched
//!   exactly: the rows are sorted by probability and every cut between two distinct
//!   probabilities is scored, the threshold being the midpoint of the two (above the
//!   highest: halfway to 1; below the lowest: half of it). Ties in F1 go to the threshold
//!   nearest 0.5. A label without a positive selection row keeps 0.5 (every threshold
//!   has F1 0 there). F1 is 0 when there is no true positive.
//! * **C**: chosen from a grid by the **micro-F1 on the selection rows with the tuned
//!   thresholds** of each C (ties: the smaller C), the grid extended at an edge as for
//!   the single-label models.
//! * **Selection rows**: the validation set; without one, a seeded random
//!   `holdout_frac` of train, after which the model is refit on all of train at the
//!   chosen C and keeps the sigmoids and thresholds fitted on the holdout. Thresholds
//!   are always needed, so this holds even when C is given.

use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use textclf_core::LabelSet;

use crate::features::{FeatureParams, Featurizer, TextInput};
use crate::model::{
    fit_binary, linear_scores, ClassWeights, GridExtension, LinearKind, LinearParams,
};
use crate::pairs::PairParams;
use crate::solver::platt::Platt;
use crate::solver::SolverOptions;
use crate::sparse::CsrMatrix;
use crate::store::{self, Loaded, SavedFeatures};
use crate::{LinearError, Result};

/// Everything that decides how a multi-label baseline is trained: the single-label
/// settings (kind, TF-IDF, C or its grid, NBSVM's α and β, weights, solver stops,
/// holdout share) and the pair features used when the input is pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiLabelParams {
    pub linear: LinearParams,
    #[serde(default)]
    pub pair: PairParams,
}

impl MultiLabelParams {
    pub fn new(kind: LinearKind) -> Self {
        Self {
            linear: LinearParams::new(kind),
            pair: PairParams::default(),
        }
    }

    fn features(&self) -> FeatureParams {
        FeatureParams {
            tfidf: self.linear.features.clone(),
            pair: self.pair.clone(),
        }
    }

    pub fn check(&self) -> Result<()> {
        self.linear.check_classifier()?;
        self.pair.check()
    }
}

/// Rows with their sets of label ids.
#[derive(Debug, Clone, Copy)]
pub struct MultiLabelSet<'a> {
    pub input: TextInput<'a>,
    pub labels: &'a [Vec<usize>],
}

impl MultiLabelSet<'_> {
    /// Row-major membership (`rows × num_labels`), checking the ids.
    fn membership(&self, names: &[String], what: &str) -> Result<Vec<bool>> {
        let l = names.len();
        if self.input.len() != self.labels.len() {
            return Err(LinearError::Data(format!(
                "{what} has {} rows of text but {} label sets",
                self.input.len(),
                self.labels.len()
            )));
        }
        if self.labels.is_empty() {
            return Err(LinearError::Data(format!("{what} has no rows")));
        }
        let mut m = vec![false; self.labels.len() * l];
        for (i, set) in self.labels.iter().enumerate() {
            for &id in set {
                if id >= l {
                    return Err(LinearError::Data(format!(
                        "{what} row {i}: label id {id} is out of range for {l} labels"
                    )));
                }
                m[i * l + id] = true;
            }
        }
        Ok(m)
    }
}

/// One C of the search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiLabelPoint {
    pub c: f64,
    /// Micro-F1 on the selection rows with this C's tuned thresholds (the criterion).
    #[serde(deserialize_with = "textclf_core::null_as_nan")]
    pub micro_f1: f64,
    /// Micro-F1 there with every threshold at 0.5, for comparison.
    #[serde(default, deserialize_with = "textclf_core::null_as_nan")]
    pub micro_f1_at_half: f64,
    #[serde(default)]
    pub fit_s: f64,
}

/// What happened during [`fit_multilabel`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiLabelReport {
    pub chosen_c: f64,
    #[serde(default)]
    pub c_search: Vec<MultiLabelPoint>,
    pub c_grid_extension: Option<GridExtension>,
    /// "valid" or "holdout".
    #[serde(default)]
    pub selection_split: String,
    /// The tuned threshold and the selection-row F1 it gives, per label.
    #[serde(default)]
    pub thresholds: Vec<f64>,
    #[serde(default)]
    pub selection_f1: Vec<f64>,
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

/// A fitted one-vs-rest multi-label model.
#[derive(Debug, Clone)]
pub struct MultiLabelClassifier {
    pub params: MultiLabelParams,
    pub labels: LabelSet,
    pub features: Featurizer,
    /// `labels × num_features`, row-major.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Platt sigmoids per label (SVM, NBSVM); `None` for logistic regression.
    pub sigmoids: Option<Vec<Platt>>,
    pub thresholds: Vec<f32>,
    pub c: f64,
}

/// F1 from counts; 0 without a true positive.
fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if tp == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    }
}

/// The threshold on `probs` that maximises the F1 of `p ≥ t` against `positive`, and
/// that F1 (rule in the module documentation).
pub fn tune_threshold(probs: &[f64], positive: &[bool]) -> (f64, f64) {
    let total_pos = positive.iter().filter(|&&p| p).count();
    if total_pos == 0 {
        return (0.5, 0.0);
    }
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    let top = probs[order[0]];
    // Cut before any row: nothing predicted.
    let mut best = (((top + 1.0) / 2.0).min(1.0), 0.0);
    let mut tp = 0;
    let mut k = 0;
    while k < order.len() {
        // Take every row with this probability.
        let p = probs[order[k]];
        while k < order.len() && probs[order[k]] == p {
            tp += usize::from(positive[order[k]]);
            k += 1;
        }
        let score = f1(tp, k - tp, total_pos - tp);
        let t = if k < order.len() {
            (p + probs[order[k]]) / 2.0
        } else {
            p / 2.0
        };
        let nearer = (t - 0.5).abs() < (best.0 - 0.5).abs();
        if score > best.1 + 1e-12 || ((score - best.1).abs() <= 1e-12 && nearer) {
            best = (t, score);
        }
    }
    best
}

/// Micro-F1 of predicted vs gold membership (both `rows × labels`).
fn micro_f1_of(pred: &[bool], gold: &[bool]) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (&p, &g) in pred.iter().zip(gold) {
        match (p, g) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
    }
    f1(tp, fp, fn_)
}

/// Micro- and macro-F1 of predicted label sets against gold ones over `num_labels`
/// labels (macro: the unweighted mean of the per-label F1, a label with neither gold
/// nor predicted rows counting 0, as scikit-learn's `zero_division=0`).
pub fn f1_scores(gold: &[Vec<usize>], pred: &[Vec<usize>], num_labels: usize) -> (f64, f64) {
    let mut counts = vec![(0usize, 0usize, 0usize); num_labels];
    for (g, p) in gold.iter().zip(pred) {
        for &l in p {
            if l < num_labels {
                if g.contains(&l) {
                    counts[l].0 += 1;
                } else {
                    counts[l].1 += 1;
                }
            }
        }
        for &l in g {
            if l < num_labels && !p.contains(&l) {
                counts[l].2 += 1;
            }
        }
    }
    let (tp, fp, fn_) = counts
        .iter()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let macro_f1 =
        counts.iter().map(|&(a, b, c)| f1(a, b, c)).sum::<f64>() / num_labels.max(1) as f64;
    (f1(tp, fp, fn_), macro_f1)
}

/// Per-row costs of label `l`'s binary problem.
fn label_costs(cw: &ClassWeights, positive: &[bool], l: usize, c: f64) -> Vec<f64> {
    let n = positive.len() as f64;
    let n_pos = positive.iter().filter(|&&p| p).count().max(1) as f64;
    let n_neg = (n - n_pos).max(1.0);
    let (pos, neg) = match cw {
        ClassWeights::None => (c, c),
        ClassWeights::Balanced => (c * n / (2.0 * n_pos), c * n / (2.0 * n_neg)),
        ClassWeights::Explicit(w) => (c * w[l], c),
    };
    positive
        .iter()
        .map(|&p| if p { pos } else { neg })
        .collect()
}

/// Duals of every label's LR problem at one C, to start the next C from.
type Duals = Vec<Vec<f64>>;

/// Weights (`labels × d`, class-major) and intercepts of every label at C, with each
/// label's LR duals; `warm`, the duals of every label at another C, starts LR there.
fn fit_labels(
    params: &LinearParams,
    x: &CsrMatrix,
    member: &[bool],
    num_labels: usize,
    c: f64,
    warm: Option<&Duals>,
) -> (Vec<f32>, Vec<f32>, Option<Duals>) {
    let opt = SolverOptions {
        tol: params.tol,
        max_iter: params.max_iter,
        seed: params.seed,
    };
    let parts: Vec<(Vec<f64>, f64, Option<Vec<f64>>)> = (0..num_labels)
        .into_par_iter()
        .map(|l| {
            let positive: Vec<bool> = member.chunks(num_labels).map(|r| r[l]).collect();
            let cost = label_costs(&params.class_weights, &positive, l, c);
            // LR: most rows of a label's problem are negatives fitted with a wide margin,
            // which shrinking sets aside.
            fit_binary(
                params,
                x,
                &positive,
                &cost,
                &opt,
                warm.map(|w| w[l].as_slice()),
                true,
            )
        })
        .collect();
    let mut w = Vec::with_capacity(num_labels * x.ncols);
    let mut b = Vec::with_capacity(num_labels);
    let mut duals = Vec::with_capacity(num_labels);
    for (wi, bi, di) in parts {
        w.extend(wi.iter().map(|&v| v as f32));
        b.push(bi as f32);
        duals.extend(di);
    }
    let duals = (duals.len() == num_labels).then_some(duals);
    (w, b, duals)
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        z.exp() / (1.0 + z.exp())
    }
}

/// Probabilities (`rows × labels`) of scores under the sigmoids (or the logistic one).
fn probs_of(scores: &[f64], sigmoids: Option<&[Platt]>, num_labels: usize) -> Vec<f64> {
    scores
        .chunks(num_labels)
        .flat_map(|r| {
            r.iter().enumerate().map(move |(l, &s)| match sigmoids {
                Some(sg) => sg[l].prob(s),
                None => sigmoid(s),
            })
        })
        .collect()
}

/// What one C gives on the selection rows.
struct Tuned {
    w: Vec<f32>,
    b: Vec<f32>,
    sigmoids: Option<Vec<Platt>>,
    thresholds: Vec<f64>,
    f1: Vec<f64>,
}

/// Sigmoids (SVM, NBSVM) and thresholds of a fitted C on the selection rows.
fn tune(
    kind: LinearKind,
    w: Vec<f32>,
    b: Vec<f32>,
    sx: &CsrMatrix,
    sy: &[bool],
    num_labels: usize,
) -> (Tuned, f64, f64) {
    let scores = linear_scores(&w, &b, sx.ncols, sx);
    let column = |v: &[f64], l: usize| v.chunks(num_labels).map(|r| r[l]).collect::<Vec<f64>>();
    let truth: Vec<Vec<bool>> = (0..num_labels)
        .map(|l| sy.chunks(num_labels).map(|r| r[l]).collect())
        .collect();
    let sigmoids = (kind != LinearKind::Lr).then(|| {
        (0..num_labels)
            .map(|l| Platt::fit(&column(&scores, l), &truth[l]))
            .collect::<Vec<_>>()
    });
    let probs = probs_of(&scores, sigmoids.as_deref(), num_labels);
    let (thresholds, f1): (Vec<f64>, Vec<f64>) = (0..num_labels)
        .map(|l| tune_threshold(&column(&probs, l), &truth[l]))
        .unzip();
    let pred: Vec<bool> = probs
        .chunks(num_labels)
        .flat_map(|r| r.iter().zip(&thresholds).map(|(p, t)| p >= t))
        .collect();
    let at_half: Vec<bool> = probs.iter().map(|&p| p >= 0.5).collect();
    let tuned = micro_f1_of(&pred, sy);
    let half = micro_f1_of(&at_half, sy);
    (
        Tuned {
            w,
            b,
            sigmoids,
            thresholds,
            f1,
        },
        tuned,
        half,
    )
}

/// Trains a one-vs-rest multi-label baseline over `label_names`; C, the sigmoids and the
/// thresholds are chosen on `valid` (or a holdout of train).
pub fn fit_multilabel(
    params: &MultiLabelParams,
    label_names: &[String],
    train: &MultiLabelSet,
    valid: Option<&MultiLabelSet>,
) -> Result<(MultiLabelClassifier, MultiLabelReport)> {
    params.check()?;
    let l = label_names.len();
    if l == 0 {
        return Err(LinearError::Data(
            "a multi-label model needs at least one label".into(),
        ));
    }
    let label_set = LabelSet::new(label_names.to_vec())?;
    if let ClassWeights::Explicit(w) = &params.linear.class_weights {
        if w.len() != l || w.iter().any(|&v| !(v.is_finite() && v > 0.0)) {
            return Err(LinearError::Param(format!(
                "{} class weights given for {l} labels: give one positive weight per label",
                w.len()
            )));
        }
    }
    let member = train.membership(label_names, "training data")?;
    let counts: Vec<usize> = (0..l)
        .map(|j| member.chunks(l).filter(|r| r[j]).count())
        .collect();
    if let Some(j) = counts.iter().position(|&c| c == 0) {
        return Err(LinearError::Data(format!(
            "label '{}' has no training row: drop it from the label list or add examples",
            label_names[j]
        )));
    }
    let valid_member = valid
        .map(|v| v.membership(label_names, "validation data"))
        .transpose()?;
    let t0 = Instant::now();
    let fparams = params.features();
    let (features, x_all) = Featurizer::fit_transform(&fparams, train.input)?;
    let x_valid = valid.map(|v| features.transform(v.input)).transpose()?;
    let vectorize_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();

    let n = train.labels.len();
    let (fit_x, fit_y, sel_x, sel_y, split) = match (x_valid, valid_member) {
        (Some(x), Some(y)) => (None, None, x, y, "valid"),
        _ => {
            if n < 2 {
                return Err(LinearError::Data(
                    "training data is too small to hold out rows for the thresholds: give validation data".into(),
                ));
            }
            let (fi, ho) =
                crate::select::random_holdout(n, params.linear.holdout_frac, params.linear.seed);
            let pick = |idx: &[usize]| -> Vec<bool> {
                idx.iter()
                    .flat_map(|&i| member[i * l..(i + 1) * l].iter().copied())
                    .collect()
            };
            (
                Some(x_all.select_rows(&fi)),
                Some(pick(&fi)),
                x_all.select_rows(&ho),
                pick(&ho),
                "holdout",
            )
        }
    };
    let refit = fit_x.is_some();
    let (fx, fy) = (
        fit_x.as_ref().unwrap_or(&x_all),
        fit_y.as_deref().unwrap_or(&member),
    );
    let lp = &params.linear;
    let grid = lp.c.map_or_else(|| lp.c_grid.clone(), |c| vec![c]);
    // LR starts each C from the duals of the nearest C fitted before, scaled by the ratio
    // of the two Cs (each row keeps its α_i / C_i, its share of the loss's slope): the
    // grid is then fitted in ascending order, each C's labels side by side. On
    // GoEmotions this halves the outer passes at C 16 and 64 (BENCHMARKS.md).
    let warm_on = lp.kind == LinearKind::Lr;
    let fitted: std::sync::Mutex<Vec<(f64, Duals)>> = std::sync::Mutex::new(Vec::new());
    let nearest = |c: f64| -> Option<Duals> {
        let f = fitted.lock().ok()?;
        f.iter()
            .min_by(|a, b| (a.0 / c).ln().abs().total_cmp(&(b.0 / c).ln().abs()))
            .map(|(c0, d)| {
                let r = c / c0;
                d.iter()
                    .map(|v| v.iter().map(|a| a * r).collect())
                    .collect()
            })
    };
    let fit = |c: f64| {
        let t = Instant::now();
        let start = if warm_on { nearest(c) } else { None };
        let (w, b, duals) = fit_labels(lp, fx, fy, l, c, start.as_ref());
        if let (true, Some(d), Ok(mut f)) = (warm_on, duals, fitted.lock()) {
            // The grid runs in ascending order and is extended at its ends, so the nearest
            // C fitted before is always the smallest or the largest: keep only those two.
            f.push((c, d));
            f.sort_by(|a, b| a.0.total_cmp(&b.0));
            if f.len() > 2 {
                let last = f.len() - 1;
                f.drain(1..last);
            }
        }
        let fit_s = t.elapsed().as_secs_f64();
        let (tuned, micro, half) = tune(lp.kind, w, b, &sel_x, &sel_y, l);
        let point = MultiLabelPoint {
            c,
            micro_f1: micro,
            micro_f1_at_half: half,
            fit_s,
        };
        (tuned, point, micro)
    };
    let s = crate::select::search(&grid, lp.c.is_none(), warm_on, &fit);
    let c = s.c;
    let mut best = s.model;
    if refit {
        let (w, b, _) = fit_labels(lp, &x_all, &member, l, c, None);
        best.w = w;
        best.b = b;
    }
    let report = MultiLabelReport {
        chosen_c: c,
        c_search: s.points.into_iter().map(|(_, p)| p).collect(),
        c_grid_extension: s.extension,
        selection_split: split.into(),
        thresholds: best.thresholds.clone(),
        selection_f1: best.f1.clone(),
        num_features: features.num_features(),
        train_nnz: x_all.nnz(),
        refit_on_full_train: refit,
        vectorize_s,
        fit_s: t1.elapsed().as_secs_f64(),
    };
    let model = MultiLabelClassifier {
        params: MultiLabelParams {
            linear: LinearParams {
                c: Some(c),
                ..lp.clone()
            },
            pair: params.pair.clone(),
        },
        labels: label_set,
        features,
        weights: best.w,
        bias: best.b,
        sigmoids: best.sigmoids,
        thresholds: best.thresholds.iter().map(|&t| t as f32).collect(),
        c,
    };
    Ok((model, report))
}

const FORMAT: &str = "textclf-linear-multilabel";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    params: MultiLabelParams,
    labels: Vec<String>,
    c: f64,
    sigmoids: Option<Vec<Platt>>,
    thresholds: Vec<f32>,
    features: SavedFeatures,
}

impl MultiLabelClassifier {
    /// "tfidf-lr-multilabel", "tfidf-svm-multilabel" or "tfidf-nbsvm-multilabel".
    pub fn kind(&self) -> String {
        format!("tfidf-{}-multilabel", self.params.linear.kind.name())
    }

    /// Raw scores (`rows × labels`) of already vectorised rows.
    pub fn decision_function(&self, x: &CsrMatrix) -> Vec<f64> {
        linear_scores(&self.weights, &self.bias, self.features.num_features(), x)
    }

    /// Per-label probabilities (`rows × labels`, row-major), independent of each other.
    pub fn predict_proba(&self, input: TextInput) -> Result<Vec<f32>> {
        let x = self.features.transform(input)?;
        let s = self.decision_function(&x);
        Ok(probs_of(&s, self.sigmoids.as_deref(), self.labels.len())
            .iter()
            .map(|&p| p as f32)
            .collect())
    }

    /// The label ids of every row whose probability reaches the label's threshold
    /// (possibly none).
    pub fn predict(&self, input: TextInput) -> Result<Vec<Vec<usize>>> {
        let p = self.predict_proba(input)?;
        Ok(p.chunks(self.labels.len())
            .map(|r| {
                r.iter()
                    .zip(&self.thresholds)
                    .enumerate()
                    .filter(|(_, (p, t))| p >= t)
                    .map(|(l, _)| l)
                    .collect()
            })
            .collect())
    }

    /// Writes `model.json` and `model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let d = self.features.num_features();
        let l = self.labels.len();
        let mut tensors = store::featurizer_tensors(&self.features);
        tensors.push(store::f32_tensor("weight", vec![l, d], &self.weights));
        tensors.push(store::f32_tensor("bias", vec![l], &self.bias));
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            params: self.params.clone(),
            labels: self.labels.names().to_vec(),
            c: self.c,
            sigmoids: self.sigmoids.clone(),
            thresholds: self.thresholds.clone(),
            features: SavedFeatures::of(&self.features, &self.params.features()),
        };
        store::write(dir, FORMAT, &manifest, tensors)
    }

    /// Loads a model written by [`Self::save`], refusing damaged or inconsistent files.
    pub fn load(dir: &Path) -> Result<Self> {
        let (ld, m): (Loaded, Manifest) =
            Loaded::open(dir, FORMAT, VERSION, "multi-label linear model")?;
        let damaged = |what: String| {
            ld.fail(format!(
                "model.json: {what}; the file was edited or damaged: restore it or retrain"
            ))
        };
        m.params
            .check()
            .map_err(|e| damaged(format!("settings no fit could have made ({e})")))?;
        let l = m.labels.len();
        if l == 0 {
            return Err(damaged("no labels".into()));
        }
        let label_set = LabelSet::new(m.labels.clone()).map_err(|e| damaged(e.to_string()))?;
        if m.thresholds.len() != l
            || m.thresholds
                .iter()
                .any(|t| !(t.is_finite() && (0.0..=1.0).contains(t)))
        {
            return Err(damaged(format!(
                "{} thresholds for {l} labels, or one outside [0, 1]",
                m.thresholds.len()
            )));
        }
        let sigmoids_ok = match (&m.sigmoids, m.params.linear.kind) {
            (None, LinearKind::Lr) => true,
            (Some(s), LinearKind::Svm | LinearKind::Nbsvm) => {
                s.len() == l && s.iter().all(|p| p.a.is_finite() && p.b.is_finite())
            }
            _ => false,
        };
        if !sigmoids_ok {
            return Err(damaged(
                "the sigmoids do not fit the model (SVM and NBSVM have one per label, logistic regression none)".into(),
            ));
        }
        if m.params.features() != m.features.params || m.params.linear.c != Some(m.c) {
            return Err(damaged(
                "the feature settings or C disagree with each other".into(),
            ));
        }
        let features = ld.featurizer(&m.features)?;
        let d = features.num_features();
        let weights = ld.f32s("weight", l * d)?;
        let bias = ld.f32s("bias", l)?;
        Ok(Self {
            params: m.params,
            labels: label_set,
            features,
            weights,
            bias,
            sigmoids: m.sigmoids,
            thresholds: m.thresholds,
            c: m.c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows over 4 labels: label j is present with probability ~0.35 and then adds one
    /// of its own words ("lj_k"); every row gets two filler words. Label 3 is rare.
    fn data(n: usize, seed: u64) -> (Vec<String>, Vec<Vec<usize>>) {
        let mut s = seed;
        let mut next = |m: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % m
        };
        let mut texts = vec![];
        let mut labels = vec![];
        for _ in 0..n {
            let mut words = vec![];
            let mut set = vec![];
            for j in 0..4 {
                let p = if j == 3 { 12 } else { 35 };
                if next(100) < p {
                    set.push(j);
                    words.push(format!("l{j}w{}", next(5)));
                }
            }
            words.push(format!("filler{}", next(40)));
            words.push(format!("filler{}", next(40)));
            texts.push(words.join(" "));
            labels.push(set);
        }
        (texts, labels)
    }

    fn names() -> Vec<String> {
        (0..4).map(|j| format!("label{j}")).collect()
    }

    fn params(kind: LinearKind) -> MultiLabelParams {
        let mut p = MultiLabelParams::new(kind);
        p.linear.features.min_df = 1;
        p
    }

    #[test]
    fn f1_scores_by_hand() {
        let gold = vec![vec![0], vec![0, 1], vec![]];
        let pred = vec![vec![0], vec![1], vec![1, 0]];
        // Label 0: tp 1, fp 1, fn 1 → 1/2; label 1: tp 1, fp 1 → 2/3; micro: 4/7.
        let (micro, macro_) = f1_scores(&gold, &pred, 2);
        assert!((micro - 4.0 / 7.0).abs() < 1e-12, "{micro}");
        assert!((macro_ - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12, "{macro_}");
        // A label never gold nor predicted counts 0 in the macro mean.
        let (_, macro3) = f1_scores(&gold, &pred, 3);
        assert!((macro3 - (0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn threshold_rule() {
        let probs = [0.9, 0.8, 0.6, 0.4, 0.3, 0.1];
        let pos = [true, true, false, true, false, false];
        // Cuts: top 2 → F1 0.8, top 4 → 6/7 ≈ 0.857 (best): threshold (0.4+0.3)/2.
        let (t, f) = tune_threshold(&probs, &pos);
        assert!(
            (t - 0.35).abs() < 1e-12 && (f - 6.0 / 7.0).abs() < 1e-12,
            "{t} {f}"
        );
        // A perfect cut: between the positives and the rest.
        let probs = [0.9, 0.8, 0.6, 0.4, 0.1];
        let pos = [true, true, false, false, false];
        let (t, f) = tune_threshold(&probs, &pos);
        assert!((t - 0.7).abs() < 1e-12 && f == 1.0);
        // Top 1 and top 4 both give F1 2/3: the threshold nearer 0.5 (0.175, not 0.925).
        let probs = [0.95, 0.9, 0.8, 0.3, 0.05];
        let pos = [true, false, false, true, false];
        let (t, f) = tune_threshold(&probs, &pos);
        assert!(
            (t - 0.175).abs() < 1e-12 && (f - 2.0 / 3.0).abs() < 1e-12,
            "{t} {f}"
        );
        // Equal probabilities are never split; no positives keeps 0.5.
        let (t, _) = tune_threshold(&[0.4, 0.4, 0.2], &[true, false, false]);
        assert!((t - 0.3).abs() < 1e-12);
        assert_eq!(tune_threshold(&[0.4, 0.2], &[false, false]), (0.5, 0.0));
        // Everything positive: below the lowest probability.
        let (t, f) = tune_threshold(&[0.3, 0.2], &[true, true]);
        assert!((t - 0.1).abs() < 1e-12 && f == 1.0);
    }

    #[test]
    fn every_kind_learns_the_labels_and_round_trips() {
        let (tr, ytr) = data(600, 1);
        let (va, yva) = data(300, 2);
        let (te, yte) = data(300, 3);
        let tr: Vec<&str> = tr.iter().map(String::as_str).collect();
        let va: Vec<&str> = va.iter().map(String::as_str).collect();
        let te: Vec<&str> = te.iter().map(String::as_str).collect();
        let train = MultiLabelSet {
            input: TextInput::Single(&tr),
            labels: &ytr,
        };
        let valid = MultiLabelSet {
            input: TextInput::Single(&va),
            labels: &yva,
        };
        for kind in [LinearKind::Lr, LinearKind::Svm, LinearKind::Nbsvm] {
            let (m, rep) = fit_multilabel(&params(kind), &names(), &train, Some(&valid)).unwrap();
            let pred = m.predict(TextInput::Single(&te)).unwrap();
            let (micro, macro_) = f1_scores(&yte, &pred, 4);
            assert!(micro > 0.95 && macro_ > 0.9, "{kind:?}: {micro} {macro_}");
            // C was chosen by the tuned micro-F1.
            let best = rep.c_search.iter().map(|p| p.micro_f1).fold(0.0, f64::max);
            assert!(rep
                .c_search
                .iter()
                .any(|p| p.c == rep.chosen_c && p.micro_f1 == best));
            assert_eq!(rep.thresholds.len(), 4);
            assert_eq!(m.sigmoids.is_some(), kind != LinearKind::Lr);
            let dir = tempfile::tempdir().unwrap();
            m.save(dir.path()).unwrap();
            let back = MultiLabelClassifier::load(dir.path()).unwrap();
            assert_eq!(back.predict(TextInput::Single(&te)).unwrap(), pred);
            assert_eq!(
                back.predict_proba(TextInput::Single(&te)).unwrap(),
                m.predict_proba(TextInput::Single(&te)).unwrap()
            );
            assert_eq!(back.thresholds, m.thresholds);
        }
    }

    #[test]
    fn pairs_where_only_the_relation_matters() {
        // Label 0: the two sides share their word; label 1: side B says "not". Each word
        // occurs as often in either role, so only the pair features can tell.
        let mut a = vec![];
        let mut b = vec![];
        let mut y = vec![];
        for i in 0..400usize {
            let w = format!("w{}", i % 37);
            let other = format!("w{}", (i * 7 + 3) % 37);
            let same = i % 2 == 0;
            let neg = (i / 2) % 3 == 0;
            a.push(w.clone());
            let mut rhs = if same { w } else { other };
            if neg {
                rhs.push_str(" not");
            }
            b.push(rhs);
            let mut set = vec![];
            if same {
                set.push(0);
            }
            if neg {
                set.push(1);
            }
            y.push(set);
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let (tr, va) = (0..300, 300..400);
        let names = vec!["same".to_string(), "negated".to_string()];
        let mut p = params(LinearKind::Lr);
        p.linear.features.analyzer.ngram = (1, 1);
        let (m, _) = fit_multilabel(
            &p,
            &names,
            &MultiLabelSet {
                input: TextInput::Pair(&a[tr.clone()], &b[tr]),
                labels: &y[..300],
            },
            None,
        )
        .unwrap();
        let pred = m.predict(TextInput::Pair(&a[va.clone()], &b[va])).unwrap();
        let (micro, _) = f1_scores(&y[300..], &pred, 2);
        assert!(micro > 0.95, "{micro}");
        // Without the pair blocks (sides only), "same" cannot be learnt.
        p.pair = PairParams {
            sides: true,
            product: false,
            similarity: false,
        };
        let (m, _) = fit_multilabel(
            &p,
            &names,
            &MultiLabelSet {
                input: TextInput::Pair(&a[..300], &b[..300]),
                labels: &y[..300],
            },
            None,
        )
        .unwrap();
        let pred = m.predict(TextInput::Pair(&a[300..], &b[300..])).unwrap();
        let gold0: Vec<Vec<usize>> = y[300..]
            .iter()
            .map(|s| s.iter().copied().filter(|&l| l == 0).collect())
            .collect();
        let pred0: Vec<Vec<usize>> = pred
            .iter()
            .map(|s| s.iter().copied().filter(|&l| l == 0).collect())
            .collect();
        let (f_same, _) = f1_scores(&gold0, &pred0, 1);
        assert!(f_same < 0.8, "{f_same}");
    }

    #[test]
    fn bad_input_and_damaged_files_are_refused() {
        fn set<'a>(tr: &'a [&'a str], labels: &'a [Vec<usize>]) -> MultiLabelSet<'a> {
            MultiLabelSet {
                input: TextInput::Single(tr),
                labels,
            }
        }
        let tr = ["a b", "b c", "c d"];
        let p = params(LinearKind::Lr);
        let names2 = vec!["x".to_string(), "y".to_string()];
        let err = |labels: &[Vec<usize>]| {
            fit_multilabel(&p, &names2, &set(&tr, labels), None)
                .unwrap_err()
                .to_string()
        };
        let e = err(&[vec![0], vec![2], vec![]]);
        assert!(e.contains("row 1") && e.contains("label id 2"), "{e}");
        let e = err(&[vec![0], vec![0], vec![]]);
        assert!(e.contains("label 'y' has no training row"), "{e}");
        let e = err(&[vec![0]]);
        assert!(e.contains("3 rows of text but 1 label sets"), "{e}");

        let (tr, ytr) = data(200, 5);
        let tr: Vec<&str> = tr.iter().map(String::as_str).collect();
        let (m, rep) = fit_multilabel(
            &params(LinearKind::Svm),
            &names(),
            &MultiLabelSet {
                input: TextInput::Single(&tr),
                labels: &ytr,
            },
            None,
        )
        .unwrap();
        assert_eq!(rep.selection_split, "holdout");
        assert!(rep.refit_on_full_train);
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        let json = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["thresholds"] = serde_json::json!([0.5, 0.5]);
        std::fs::write(dir.path().join("model.json"), v.to_string()).unwrap();
        let e = MultiLabelClassifier::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 thresholds for 4 labels"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["sigmoids"] = serde_json::Value::Null;
        std::fs::write(dir.path().join("model.json"), v.to_string()).unwrap();
        let e = MultiLabelClassifier::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("sigmoids"), "{e}");
        // A regression model's folder is not a multi-label one.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["format"] = "textclf-linear-regression".into();
        std::fs::write(dir.path().join("model.json"), v.to_string()).unwrap();
        let e = MultiLabelClassifier::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 'textclf-linear-multilabel'"), "{e}");
        // Weights that do not match the vocabulary.
        std::fs::write(dir.path().join("model.json"), &json).unwrap();
        let (other, _) = fit_multilabel(
            &params(LinearKind::Svm),
            &names(),
            &MultiLabelSet {
                input: TextInput::Single(&tr[..60]),
                labels: &ytr[..60],
            },
            None,
        )
        .unwrap();
        assert_ne!(other.features.num_features(), m.features.num_features());
        let st = tempfile::tempdir().unwrap();
        other.save(st.path()).unwrap();
        std::fs::copy(
            st.path().join("model.safetensors"),
            dir.path().join("model.safetensors"),
        )
        .unwrap();
        let e = MultiLabelClassifier::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tensor text.vocab_hashes"), "{e}");
    }
    #[test]
    fn balanced_weights_balance_each_labels_binary_problem() {
        // As scikit-learn's class_weight="balanced" on each one-vs-rest problem:
        // n / (2 · n_pos) on the positive rows, n / (2 · n_neg) on the others.
        let positive = [true, false, false, false];
        let c = 2.0;
        let costs = label_costs(&ClassWeights::Balanced, &positive, 0, c);
        assert_eq!(
            costs,
            vec![c * 4.0 / 2.0, c * 4.0 / 6.0, c * 4.0 / 6.0, c * 4.0 / 6.0]
        );
        // The two sides then weigh the same in total.
        let pos: f64 = costs[..1].iter().sum();
        let neg: f64 = costs[1..].iter().sum();
        assert!((pos - neg).abs() < 1e-12);
        assert_eq!(
            label_costs(&ClassWeights::None, &positive, 0, c),
            vec![c; 4]
        );
        // Explicit weights scale the positive rows of their label only.
        let w = ClassWeights::Explicit(vec![1.0, 3.0]);
        assert_eq!(label_costs(&w, &positive, 1, c), vec![3.0 * c, c, c, c]);
    }
}
