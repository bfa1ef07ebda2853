//! Regression metrics: Pearson and Spearman correlation, MSE, MAE and R², with
//! bootstrap intervals for the two correlations.
//!
//! Conventions (checked against scipy and scikit-learn by `tests/shape_metrics.rs`):
//!
//! * **Pearson** is scipy's `pearsonr` statistic; **Spearman** is scipy's `spearmanr`:
//!   Pearson's correlation of the ranks, tied values sharing their average rank. Both
//!   are `None` where scipy gives NaN: fewer than two rows, or a constant gold or
//!   predicted column.
//! * **R²** is scikit-learn's `r2_score`: `1 − Σ(y − ŷ)² / Σ(y − ȳ)²`; with a constant
//!   gold column it is 1 for perfect predictions and 0 otherwise (`force_finite=True`);
//!   `None` below two rows (scikit-learn's NaN). A constant gold column is detected
//!   exactly (all values equal), where scikit-learn tests its computed denominator
//!   against 0 — which rounding of the mean can miss.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{bootstrap_weights, defined_interval};
use crate::rank::{ascending_order, weighted_average_ranks};
use crate::{EvalError, EvalOptions};

/// Percentile-bootstrap intervals of the correlations, over the resamples on which the
/// correlation is defined (a resample that drew a constant column has none).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RegressionIntervals {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Number of resamples (0 when the bootstrap was skipped).
    pub resamples: usize,
    /// `[low, high]` of Pearson's r; `None` when r is undefined.
    pub pearson: Option<[f64; 2]>,
    /// `[low, high]` of Spearman's ρ; `None` when ρ is undefined.
    pub spearman: Option<[f64; 2]>,
}

/// Everything [`evaluate_regression`] measures on one test set.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct RegressionReport {
    /// Number of test rows.
    pub n: usize,
    /// Pearson's correlation of predictions and gold values.
    pub pearson: Option<f64>,
    /// Spearman's rank correlation.
    pub spearman: Option<f64>,
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination.
    pub r2: Option<f64>,
    /// Mean of the gold values.
    pub gold_mean: f64,
    /// Mean of the predictions.
    pub predicted_mean: f64,
    pub ci: RegressionIntervals,
}

/// Evaluates predicted values against gold values.
///
/// Errors when the lengths differ, a value is not finite, or there are no rows.
pub fn evaluate_regression(
    gold: &[f64],
    pred: &[f64],
    opts: &EvalOptions,
) -> Result<RegressionReport, EvalError> {
    opts.validate()?;
    check_regression_input(gold, pred, "gold values vs predictions", "prediction")?;
    let n = gold.len();
    let ones = vec![1u32; n];
    let pair = Paired::new(gold, pred);
    let pearson = pair.pearson(&ones);
    let spearman = pair.spearman(&ones);
    let mse = gold
        .iter()
        .zip(pred)
        .map(|(g, p)| (g - p) * (g - p))
        .sum::<f64>()
        / n as f64;
    let mae = gold
        .iter()
        .zip(pred)
        .map(|(g, p)| (g - p).abs())
        .sum::<f64>()
        / n as f64;
    let gold_mean = gold.iter().sum::<f64>() / n as f64;
    let predicted_mean = pred.iter().sum::<f64>() / n as f64;
    let r2 = r2_score(gold, pred, gold_mean);

    let ci = if opts.bootstrap == 0 {
        RegressionIntervals {
            level: opts.confidence,
            resamples: 0,
            pearson: pearson.map(|r| [r, r]),
            spearman: spearman.map(|r| [r, r]),
        }
    } else {
        let mut ps = Vec::with_capacity(opts.bootstrap);
        let mut ss = Vec::with_capacity(opts.bootstrap);
        bootstrap_weights(n, opts.bootstrap, opts.seed, |w| {
            ps.push(pair.pearson(w));
            ss.push(pair.spearman(w));
        });
        RegressionIntervals {
            level: opts.confidence,
            resamples: opts.bootstrap,
            pearson: pearson.and(defined_interval(ps, opts.confidence)),
            spearman: spearman.and(defined_interval(ss, opts.confidence)),
        }
    };

    Ok(RegressionReport {
        n,
        pearson,
        spearman,
        mse,
        mae,
        r2,
        gold_mean,
        predicted_mean,
        ci,
    })
}

/// Errors unless `gold` and `pred` are non-empty, equally long and finite.
pub(crate) fn check_regression_input(
    gold: &[f64],
    pred: &[f64],
    what: &str,
    pred_name: &str,
) -> Result<(), EvalError> {
    if gold.len() != pred.len() {
        return Err(EvalError::LengthMismatch {
            what: what.into(),
            left: gold.len(),
            right: pred.len(),
        });
    }
    if gold.is_empty() {
        return Err(EvalError::Empty);
    }
    for (name, v) in [("gold value", gold), (pred_name, pred)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(EvalError::Invalid(format!(
                "the {name} at row {i} is {}, not a finite number",
                v[i]
            )));
        }
    }
    Ok(())
}

fn r2_score(gold: &[f64], pred: &[f64], gold_mean: f64) -> Option<f64> {
    if gold.len() < 2 {
        return None;
    }
    let ss_res: f64 = gold.iter().zip(pred).map(|(g, p)| (g - p) * (g - p)).sum();
    if gold.iter().all(|&g| g == gold[0]) {
        return Some(if ss_res == 0.0 { 1.0 } else { 0.0 });
    }
    let ss_tot: f64 = gold.iter().map(|g| (g - gold_mean) * (g - gold_mean)).sum();
    Some(1.0 - ss_res / ss_tot)
}

/// Gold values and predictions with their sort orders, for correlations of resamples
/// given as row weights.
pub(crate) struct Paired<'a> {
    gold: &'a [f64],
    pred: &'a [f64],
    gold_order: Vec<usize>,
    pred_order: Vec<usize>,
}

impl<'a> Paired<'a> {
    pub(crate) fn new(gold: &'a [f64], pred: &'a [f64]) -> Self {
        Self {
            gold,
            pred,
            gold_order: ascending_order(gold),
            pred_order: ascending_order(pred),
        }
    }

    /// Pearson's r of the rows weighted by `w` (each row standing for `w[i]` copies).
    pub(crate) fn pearson(&self, w: &[u32]) -> Option<f64> {
        weighted_pearson(self.gold, self.pred, w)
    }

    /// Spearman's ρ of the rows weighted by `w`: copies of a row tie with each other.
    pub(crate) fn spearman(&self, w: &[u32]) -> Option<f64> {
        let rg = weighted_average_ranks(self.gold, &self.gold_order, w);
        let rp = weighted_average_ranks(self.pred, &self.pred_order, w);
        weighted_pearson(&rg, &rp, w)
    }
}

/// Pearson's r of `x` and `y` with row weights `w`; `None` when fewer than two copies
/// are weighted in, or either column is constant over them. Clamped to [−1, 1] against
/// rounding, as scipy does.
pub(crate) fn weighted_pearson(x: &[f64], y: &[f64], w: &[u32]) -> Option<f64> {
    let mut total = 0u64;
    let (mut sx, mut sy) = (0.0, 0.0);
    let mut first: Option<(f64, f64)> = None;
    let (mut x_varies, mut y_varies) = (false, false);
    for ((&a, &b), &wi) in x.iter().zip(y).zip(w) {
        if wi == 0 {
            continue;
        }
        let (fa, fb) = *first.get_or_insert((a, b));
        x_varies |= a != fa;
        y_varies |= b != fb;
        total += u64::from(wi);
        sx += f64::from(wi) * a;
        sy += f64::from(wi) * b;
    }
    if total < 2 || !x_varies || !y_varies {
        return None;
    }
    let (mx, my) = (sx / total as f64, sy / total as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for ((&a, &b), &wi) in x.iter().zip(y).zip(w) {
        if wi == 0 {
            continue;
        }
        let (da, db, wf) = (a - mx, b - my, f64::from(wi));
        sxy += wf * da * db;
        sxx += wf * da * da;
        syy += wf * db * db;
    }
    Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn small_example_by_hand() {
        let gold = [1.0, 2.0, 3.0, 4.0];
        let pred = [1.5, 1.5, 3.5, 5.0];
        let r = evaluate_regression(&gold, &pred, &EvalOptions::default()).unwrap();
        // errors: -0.5, 0.5, -0.5, -1 → MSE 1.75/4, MAE 2.5/4.
        close(r.mse, 0.4375);
        close(r.mae, 0.625);
        // SS_tot = 5, SS_res = 1.75.
        close(r.r2.unwrap(), 1.0 - 1.75 / 5.0);
        // Ranks of pred: 1.5, 1.5, 3, 4 vs 1..4.
        // scipy.stats.spearmanr([1,2,3,4],[1.5,1.5,3.5,5]).statistic = 0.9486832980505139
        close(r.spearman.unwrap(), 0.948_683_298_050_513_9);
        // scipy.stats.pearsonr(...).statistic = 0.9483040522636019
        close(r.pearson.unwrap(), 0.948_304_052_263_601_9);
        let [lo, hi] = r.ci.pearson.unwrap();
        assert!(lo <= hi && hi <= 1.0);
    }

    #[test]
    fn constant_columns_and_single_rows() {
        let o = EvalOptions::default();
        // Constant gold: correlations undefined, R² 0 unless perfect.
        let r = evaluate_regression(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0], &o).unwrap();
        assert_eq!((r.pearson, r.spearman), (None, None));
        assert_eq!(r.r2, Some(0.0));
        assert_eq!(r.ci.pearson, None);
        let r = evaluate_regression(&[2.0, 2.0], &[2.0, 2.0], &o).unwrap();
        assert_eq!(r.r2, Some(1.0));
        // Constant predictions: correlations undefined, R² defined.
        let r = evaluate_regression(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0], &o).unwrap();
        assert_eq!(r.pearson, None);
        close(r.r2.unwrap(), 0.0);
        // One row: MSE and MAE only.
        let r = evaluate_regression(&[1.0], &[3.0], &o).unwrap();
        assert_eq!((r.pearson, r.spearman, r.r2), (None, None, None));
        close(r.mse, 4.0);
        close(r.mae, 2.0);
    }

    #[test]
    fn input_errors() {
        let o = EvalOptions::default();
        assert!(matches!(
            evaluate_regression(&[], &[], &o),
            Err(EvalError::Empty)
        ));
        assert!(matches!(
            evaluate_regression(&[1.0], &[1.0, 2.0], &o),
            Err(EvalError::LengthMismatch { .. })
        ));
        let e = evaluate_regression(&[1.0, f64::NAN], &[1.0, 2.0], &o).unwrap_err();
        assert!(e.to_string().contains("gold value at row 1"), "{e}");
        let e = evaluate_regression(&[1.0, 2.0], &[1.0, f64::INFINITY], &o).unwrap_err();
        assert!(e.to_string().contains("prediction at row 1"), "{e}");
    }

    #[test]
    fn weights_are_copies() {
        // Doubling a row's weight is the same as repeating it.
        let x = [1.0, 2.0, 4.0];
        let y = [1.0, 3.0, 2.0];
        let w = weighted_pearson(&x, &y, &[2, 1, 1]).unwrap();
        let rep = weighted_pearson(&[1.0, 1.0, 2.0, 4.0], &[1.0, 1.0, 3.0, 2.0], &[1; 4]).unwrap();
        close(w, rep);
        let p = Paired::new(&x, &y);
        let q = Paired::new(&[1.0, 1.0, 2.0, 4.0], &[1.0, 1.0, 3.0, 2.0]);
        close(
            p.spearman(&[2, 1, 1]).unwrap(),
            q.spearman(&[1; 4]).unwrap(),
        );
        // A resample that drew one row only has no correlation.
        assert_eq!(weighted_pearson(&x, &y, &[0, 3, 0]), None);
    }

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_estimate() {
        let gold: Vec<f64> = (0..200).map(|i| f64::from(i % 17)).collect();
        let pred: Vec<f64> = gold
            .iter()
            .enumerate()
            .map(|(i, g)| g + ((i * 7919) % 13) as f64 / 4.0)
            .collect();
        let o = EvalOptions::default();
        let a = evaluate_regression(&gold, &pred, &o).unwrap();
        let b = evaluate_regression(&gold, &pred, &o).unwrap();
        assert_eq!(a.ci, b.ci);
        let [lo, hi] = a.ci.spearman.unwrap();
        let s = a.spearman.unwrap();
        assert!(lo < s && s < hi, "{lo} {s} {hi}");
        let c = evaluate_regression(&gold, &pred, &EvalOptions { seed: 1, ..o }).unwrap();
        assert_ne!(a.ci, c.ci);
    }
}
