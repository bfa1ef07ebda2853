//! Point metrics (accuracy, precision/recall/F1, log loss), the confusion matrix and
//! percentile-bootstrap confidence intervals.

use serde::{Deserialize, Serialize};
use textclf_core::{LabelSet, Predictions};

use crate::bootstrap::{bootstrap_counts, percentile_interval};
use crate::cells::{cell_ids, check_ids, count_cells};
use crate::mcc::mcc_from_counts;
use crate::options::EvalOptions;
use crate::{EvalError, Mcc};

/// Probabilities are clamped to at least this before taking logs in [`Report::log_loss`].
pub const LOG_LOSS_EPS: f64 = 1e-12;

/// How many of the largest confusions [`Report::top_confusions`] keeps.
pub const TOP_CONFUSIONS: usize = 5;

/// Metrics of one class. Divisions by zero give 0, as scikit-learn's `zero_division=0`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClassMetrics {
    pub label: String,
    /// Correct predictions of this class / all predictions of this class.
    pub precision: f64,
    /// Correct predictions of this class / gold rows of this class.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Gold rows of this class.
    pub support: u64,
    /// Rows predicted as this class.
    pub predicted: u64,
}

/// The confusion matrix: rows are gold classes, columns predicted classes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Confusion {
    pub labels: Vec<String>,
    /// `counts[gold][predicted]`.
    pub counts: Vec<Vec<u64>>,
    /// Each row divided by its sum (the share of a gold class predicted as each class);
    /// a row with no gold rows is all zeros.
    pub row_normalized: Vec<Vec<f64>>,
}

/// One off-diagonal cell of the confusion matrix.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfusionLine {
    pub gold: String,
    pub predicted: String,
    pub count: u64,
    /// `count` / number of gold rows of `gold`.
    pub share_of_gold: f64,
}

/// Percentile-bootstrap confidence intervals (Efron & Tibshirani 1993, ch. 13) over the
/// test rows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfidenceIntervals {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Number of resamples (0 when the bootstrap was skipped).
    pub resamples: usize,
    /// `[low, high]` of the accuracy.
    pub accuracy: [f64; 2],
    /// `[low, high]` of the macro F1.
    pub macro_f1: [f64; 2],
    /// `[low, high]` of the Matthews correlation, from the same resamples; `None` only
    /// in a `metrics.json` written before the key existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcc: Option<[f64; 2]>,
}

/// Everything [`evaluate`] measures on one test set.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Report {
    /// Number of test rows.
    pub n: usize,
    /// Share of rows whose most probable class is the gold class.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 over the classes that occur in the gold labels
    /// or the predictions — what scikit-learn's `f1_score(average="macro",
    /// zero_division=0)` gives. A class of the label set that is neither in the test set
    /// nor ever predicted does not drag the mean down.
    pub macro_f1: f64,
    /// Mean of the per-class F1 weighted by support.
    pub weighted_f1: f64,
    /// Only for exactly two classes: the F1 of class id 1, taken as the positive class
    /// (with labels ordered as [`LabelSet`] orders them, e.g. `"0" < "1"`,
    /// `"neg" < "pos"`). `None` for more classes.
    pub binary_f1: Option<f64>,
    /// Mean cross-entropy `-ln p(gold)` of the probabilities, with `p` clamped to at
    /// least [`LOG_LOSS_EPS`].
    pub log_loss: f64,
    /// Metrics of every class of the label set, by class id.
    pub per_class: Vec<ClassMetrics>,
    pub confusion: Confusion,
    /// The largest off-diagonal cells by share of their gold class, at most
    /// [`TOP_CONFUSIONS`], only cells with a count above 0.
    pub top_confusions: Vec<ConfusionLine>,
    /// Matthews correlation coefficient of the predicted classes (as scikit-learn's
    /// `matthews_corrcoef`, [`crate::matthews_corrcoef`]); `None` only in a
    /// `metrics.json` written before the key existed ([`Report::mcc_summary`] then
    /// derives it from the confusion matrix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcc: Option<f64>,
    pub ci: ConfidenceIntervals,
}

/// Evaluates class probabilities against gold class ids.
///
/// The predicted class of a row is its most probable column ([`Predictions::argmax`]).
/// Errors when the lengths differ, a gold id is out of range, the probability matrix does
/// not have one column per label, a probability is not finite, or there are no rows.
pub fn evaluate(
    gold: &[usize],
    probs: &Predictions,
    labels: &LabelSet,
    opts: &EvalOptions,
) -> Result<Report, EvalError> {
    opts.validate()?;
    let k = labels.len();
    if probs.num_classes() != k {
        return Err(EvalError::ColumnMismatch {
            columns: probs.num_classes(),
            labels: k,
        });
    }
    if gold.len() != probs.len() {
        return Err(EvalError::LengthMismatch {
            what: "gold labels vs probability rows".into(),
            left: gold.len(),
            right: probs.len(),
        });
    }
    if gold.is_empty() {
        return Err(EvalError::Empty);
    }
    check_ids(gold, k, "the gold label")?;
    if let Some(pos) = probs.as_slice().iter().position(|p| !p.is_finite()) {
        return Err(EvalError::Invalid(format!(
            "the probability of class {} at row {} is {}, not a finite number",
            labels.name(pos % k),
            pos / k,
            probs.as_slice()[pos]
        )));
    }

    let pred = probs.argmax();
    let n = gold.len();
    let cells = cell_ids(gold, &pred, k);
    let counts = count_cells(&cells, k);

    let per_class: Vec<ClassMetrics> = class_metrics(&counts, k)
        .into_iter()
        .enumerate()
        .map(|(c, m)| ClassMetrics {
            label: labels.name(c).to_string(),
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            support: m.support,
            predicted: m.predicted,
        })
        .collect();
    let (accuracy, macro_f1) = accuracy_macro_f1(&counts, k);
    let weighted_f1 = per_class
        .iter()
        .map(|m| m.f1 * m.support as f64)
        .sum::<f64>()
        / n as f64;
    let binary_f1 = (k == 2).then(|| per_class[1].f1);

    let log_loss = gold
        .iter()
        .enumerate()
        .map(|(i, &g)| -(f64::from(probs.row(i)[g])).clamp(LOG_LOSS_EPS, 1.0).ln())
        .sum::<f64>()
        / n as f64;

    let confusion = confusion_matrix(&counts, labels);
    let top_confusions = top_confusions(&confusion);
    let mcc = mcc_from_counts(&counts, k);

    let ci = if opts.bootstrap == 0 {
        ConfidenceIntervals {
            level: opts.confidence,
            resamples: 0,
            accuracy: [accuracy, accuracy],
            macro_f1: [macro_f1, macro_f1],
            mcc: Some([mcc, mcc]),
        }
    } else {
        let mut accs = Vec::with_capacity(opts.bootstrap);
        let mut f1s = Vec::with_capacity(opts.bootstrap);
        let mut mccs = Vec::with_capacity(opts.bootstrap);
        bootstrap_counts(&[&cells], k * k, opts.bootstrap, opts.seed, |c| {
            let (a, f) = accuracy_macro_f1(&c[0], k);
            accs.push(a);
            f1s.push(f);
            mccs.push(mcc_from_counts(&c[0], k));
        });
        ConfidenceIntervals {
            level: opts.confidence,
            resamples: opts.bootstrap,
            accuracy: percentile_interval(&mut accs, opts.confidence),
            macro_f1: percentile_interval(&mut f1s, opts.confidence),
            mcc: Some(percentile_interval(&mut mccs, opts.confidence)),
        }
    };

    Ok(Report {
        n,
        accuracy,
        macro_f1,
        weighted_f1,
        binary_f1,
        log_loss,
        per_class,
        confusion,
        top_confusions,
        mcc: Some(mcc),
        ci,
    })
}

impl Report {
    /// The MCC with its interval: the recorded one, or for a `metrics.json` written
    /// before MCC was recorded, the point value derived from the confusion matrix (its
    /// interval then collapses onto it, with `resamples` 0). `None` only when an old
    /// record's confusion matrix is not square.
    pub fn mcc_summary(&self) -> Option<Mcc> {
        match (self.mcc, self.ci.mcc) {
            (Some(mcc), Some(ci)) => Some(Mcc {
                mcc,
                level: self.ci.level,
                resamples: self.ci.resamples,
                ci,
            }),
            _ => {
                let mcc = self.mcc.or_else(|| self.confusion.mcc())?;
                Some(Mcc {
                    mcc,
                    level: self.ci.level,
                    resamples: 0,
                    ci: [mcc, mcc],
                })
            }
        }
    }
}

impl Confusion {
    /// The MCC of the predictions this confusion matrix counts (as
    /// [`matthews_corrcoef`] of the same predictions); `None` when the matrix is not
    /// square.
    pub fn mcc(&self) -> Option<f64> {
        let k = self.counts.len();
        if self.counts.iter().any(|r| r.len() != k) {
            return None;
        }
        let flat: Vec<u64> = self.counts.iter().flatten().copied().collect();
        Some(mcc_from_counts(&flat, k))
    }
}

pub(crate) struct RawClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
    pub predicted: u64,
}

/// Per-class precision, recall and F1 from flat `k × k` confusion counts, with 0 for
/// every division by zero.
pub(crate) fn class_metrics(counts: &[u64], k: usize) -> Vec<RawClassMetrics> {
    (0..k)
        .map(|c| {
            let tp = counts[c * k + c];
            let support: u64 = counts[c * k..(c + 1) * k].iter().sum();
            let predicted: u64 = (0..k).map(|g| counts[g * k + c]).sum();
            let ratio = |num: u64, den: u64| {
                if den == 0 {
                    0.0
                } else {
                    num as f64 / den as f64
                }
            };
            RawClassMetrics {
                precision: ratio(tp, predicted),
                recall: ratio(tp, support),
                // 2PR/(P+R) = 2·tp / (2·tp + fp + fn) = 2·tp / (support + predicted).
                f1: ratio(2 * tp, support + predicted),
                support,
                predicted,
            }
        })
        .collect()
}

/// Accuracy and macro F1 (over classes present in gold or predictions) from flat counts.
/// Used both for the point estimates and for every bootstrap resample, so the two agree.
pub(crate) fn accuracy_macro_f1(counts: &[u64], k: usize) -> (f64, f64) {
    let mut correct = 0u64;
    let mut total = 0u64;
    let mut f1_sum = 0.0;
    let mut present = 0usize;
    for c in 0..k {
        let tp = counts[c * k + c];
        let mut support = 0u64;
        let mut predicted = 0u64;
        for o in 0..k {
            support += counts[c * k + o];
            predicted += counts[o * k + c];
        }
        correct += tp;
        total += support;
        if support + predicted > 0 {
            present += 1;
            f1_sum += 2.0 * tp as f64 / (support + predicted) as f64;
        }
    }
    let acc = if total == 0 {
        0.0
    } else {
        correct as f64 / total as f64
    };
    let macro_f1 = if present == 0 {
        0.0
    } else {
        f1_sum / present as f64
    };
    (acc, macro_f1)
}

fn confusion_matrix(counts: &[u64], labels: &LabelSet) -> Confusion {
    let k = labels.len();
    let rows: Vec<Vec<u64>> = counts.chunks(k).map(<[u64]>::to_vec).collect();
    let row_normalized = rows
        .iter()
        .map(|r| {
            let s: u64 = r.iter().sum();
            r.iter()
                .map(|&v| if s == 0 { 0.0 } else { v as f64 / s as f64 })
                .collect()
        })
        .collect();
    Confusion {
        labels: labels.names().to_vec(),
        counts: rows,
        row_normalized,
    }
}

fn top_confusions(conf: &Confusion) -> Vec<ConfusionLine> {
    let k = conf.labels.len();
    let mut cells: Vec<(usize, usize)> = (0..k)
        .flat_map(|g| (0..k).map(move |p| (g, p)))
        .filter(|&(g, p)| g != p && conf.counts[g][p] > 0)
        .collect();
    // Largest share first; ties by larger count, then by class ids for a stable order.
    cells.sort_by(|&(g1, p1), &(g2, p2)| {
        conf.row_normalized[g2][p2]
            .total_cmp(&conf.row_normalized[g1][p1])
            .then(conf.counts[g2][p2].cmp(&conf.counts[g1][p1]))
            .then((g1, p1).cmp(&(g2, p2)))
    });
    cells
        .into_iter()
        .take(TOP_CONFUSIONS)
        .map(|(g, p)| ConfusionLine {
            gold: conf.labels[g].clone(),
            predicted: conf.labels[p].clone(),
            count: conf.counts[g][p],
            share_of_gold: conf.row_normalized[g][p],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn labels(names: &[&str]) -> LabelSet {
        LabelSet::new(names.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    /// One-hot-ish probabilities whose argmax is `pred`.
    fn probs_for(pred: &[usize], k: usize) -> Predictions {
        let mut v = vec![0.1 / (k as f32 - 1.0); pred.len() * k];
        for (i, &p) in pred.iter().enumerate() {
            v[i * k + p] = 0.9;
        }
        Predictions::new(k, v).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} != {b}");
    }

    #[test]
    fn three_class_example_matches_sklearn() {
        let gold = [0, 0, 1, 1, 2, 2];
        let pred = [0, 1, 1, 1, 2, 0];
        let r = evaluate(
            &gold,
            &probs_for(&pred, 3),
            &labels(&["a", "b", "c"]),
            &EvalOptions::default(),
        )
        .unwrap();
        assert_eq!(r.n, 6);
        close(r.accuracy, 4.0 / 6.0, 1e-12);
        let p: Vec<f64> = r.per_class.iter().map(|m| m.precision).collect();
        let rc: Vec<f64> = r.per_class.iter().map(|m| m.recall).collect();
        let f: Vec<f64> = r.per_class.iter().map(|m| m.f1).collect();
        for (x, y) in p.iter().zip([0.5, 2.0 / 3.0, 1.0]) {
            close(*x, y, 1e-12);
        }
        for (x, y) in rc.iter().zip([0.5, 1.0, 0.5]) {
            close(*x, y, 1e-12);
        }
        for (x, y) in f.iter().zip([0.5, 0.8, 2.0 / 3.0]) {
            close(*x, y, 1e-12);
        }
        // sklearn.metrics.f1_score(gold, pred, average="macro") = 0.6555555555555556
        close(r.macro_f1, 0.655_555_555_555_555_6, 1e-9);
        // average="weighted": every class has support 2, so it equals macro here.
        close(r.weighted_f1, 0.655_555_555_555_555_6, 1e-9);
        assert_eq!(r.binary_f1, None);
        assert_eq!(
            r.confusion.counts,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]
        );
        assert_eq!(r.per_class[1].support, 2);
        assert_eq!(r.per_class[1].predicted, 3);
        // log loss: 4 rows with p(gold) = 0.9, 2 with 0.05.
        close(
            r.log_loss,
            (4.0 * -(0.9f32 as f64).ln() + 2.0 * -(0.05f32 as f64).ln()) / 6.0,
            1e-9,
        );
        // Off-diagonal cells (a→b, c→a) both have a share of 0.5 and count 1.
        assert_eq!(r.top_confusions.len(), 2);
        assert_eq!(r.top_confusions[0].gold, "a");
        assert_eq!(r.top_confusions[0].predicted, "b");
        close(r.top_confusions[0].share_of_gold, 0.5, 1e-12);
    }

    #[test]
    fn weighted_and_binary_f1() {
        // gold: 3 neg, 1 pos; pred: neg,neg,pos,pos.
        let gold = [0, 0, 0, 1];
        let pred = [0, 0, 1, 1];
        let r = evaluate(
            &gold,
            &probs_for(&pred, 2),
            &labels(&["neg", "pos"]),
            &EvalOptions::default(),
        )
        .unwrap();
        // neg: P=1, R=2/3, F1=0.8; pos: P=0.5, R=1, F1=2/3.
        close(r.binary_f1.unwrap(), 2.0 / 3.0, 1e-12);
        close(r.macro_f1, (0.8 + 2.0 / 3.0) / 2.0, 1e-12);
        close(r.weighted_f1, (0.8 * 3.0 + 2.0 / 3.0) / 4.0, 1e-12);
    }

    #[test]
    fn zero_division_gives_zero_and_absent_classes_are_skipped_in_macro() {
        // Class 2 is in the label set but never gold nor predicted; class 1 is gold but
        // never predicted (precision 0/0 → 0).
        let gold = [0, 0, 1];
        let pred = [0, 0, 0];
        let r = evaluate(
            &gold,
            &probs_for(&pred, 3),
            &labels(&["x", "y", "z"]),
            &EvalOptions::default(),
        )
        .unwrap();
        assert_eq!(r.per_class[1].precision, 0.0);
        assert_eq!(r.per_class[1].f1, 0.0);
        assert_eq!(r.per_class[2].recall, 0.0);
        // sklearn f1_score([0,0,1],[0,0,0],average="macro",zero_division=0) = 0.4
        close(r.macro_f1, 0.4, 1e-12);
        assert_eq!(r.confusion.row_normalized[2], vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn log_loss_clamps_zero_probabilities() {
        let p = Predictions::new(2, vec![1.0, 0.0]).unwrap();
        let r = evaluate(&[1], &p, &labels(&["a", "b"]), &EvalOptions::default()).unwrap();
        close(r.log_loss, -(1e-12f64).ln(), 1e-9);
    }

    #[test]
    fn input_errors_are_reported() {
        let l = labels(&["a", "b"]);
        let o = EvalOptions::default();
        let p = probs_for(&[0, 1], 2);
        let e = evaluate(&[0], &p, &l, &o).unwrap_err();
        assert!(matches!(e, EvalError::LengthMismatch { .. }), "{e}");
        let e = evaluate(&[0, 2], &p, &l, &o).unwrap_err();
        assert!(e.to_string().contains("class id 2"), "{e}");
        let e = evaluate(&[0, 1], &p, &labels(&["a", "b", "c"]), &o).unwrap_err();
        assert!(e.to_string().contains("2 columns"), "{e}");
        let empty = Predictions::new(2, vec![]).unwrap();
        let e = evaluate(&[], &empty, &l, &o).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let bad = EvalOptions {
            confidence: 95.0,
            ..o.clone()
        };
        assert!(evaluate(&[0, 1], &p, &l, &bad).is_err());
        let nan = Predictions::new(2, vec![0.5, 0.5, f32::NAN, 0.5]).unwrap();
        let e = evaluate(&[0, 1], &nan, &l, &o).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
    }

    /// A deterministic synthetic test set of `n` rows, about 80 % correct, 4 classes.
    fn synthetic(n: usize, seed: u64) -> (Vec<usize>, Predictions) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = 4;
        let gold: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
        let pred: Vec<usize> = gold
            .iter()
            .map(|&g| {
                if rng.random_bool(0.8) {
                    g
                } else {
                    rng.random_range(0..k)
                }
            })
            .collect();
        (gold, probs_for(&pred, k))
    }

    #[test]
    fn ci_contains_point_estimate_and_narrows_with_more_data() {
        let l = labels(&["a", "b", "c", "d"]);
        let o = EvalOptions::default();
        let (g1, p1) = synthetic(200, 1);
        let (g2, p2) = synthetic(5000, 2);
        let small = evaluate(&g1, &p1, &l, &o).unwrap();
        let large = evaluate(&g2, &p2, &l, &o).unwrap();
        for r in [&small, &large] {
            assert_eq!(r.ci.resamples, 1000);
            assert!(r.ci.accuracy[0] <= r.accuracy && r.accuracy <= r.ci.accuracy[1]);
            assert!(r.ci.macro_f1[0] <= r.macro_f1 && r.macro_f1 <= r.ci.macro_f1[1]);
            assert!(r.ci.accuracy[0] < r.ci.accuracy[1]);
        }
        let width = |r: &Report| r.ci.accuracy[1] - r.ci.accuracy[0];
        let f1_width = |r: &Report| r.ci.macro_f1[1] - r.ci.macro_f1[0];
        assert!(width(&large) < width(&small) / 2.0);
        assert!(f1_width(&large) < f1_width(&small) / 2.0);
        // Roughly the normal-approximation width 2·1.96·sqrt(p(1-p)/n).
        let acc = large.accuracy;
        let normal = 2.0 * 1.96 * (acc * (1.0 - acc) / 5000.0).sqrt();
        assert!((width(&large) - normal).abs() < 0.3 * normal);
    }

    #[test]
    fn bootstrap_is_deterministic_from_the_seed() {
        let l = labels(&["a", "b", "c", "d"]);
        let (g, p) = synthetic(300, 3);
        let o = EvalOptions::default();
        let a = evaluate(&g, &p, &l, &o).unwrap();
        let b = evaluate(&g, &p, &l, &o).unwrap();
        assert_eq!(a.ci, b.ci);
        let c = evaluate(&g, &p, &l, &EvalOptions { seed: 7, ..o }).unwrap();
        assert_ne!(a.ci, c.ci);
    }

    #[test]
    fn no_bootstrap_collapses_interval() {
        let l = labels(&["a", "b", "c", "d"]);
        let (g, p) = synthetic(50, 4);
        let o = EvalOptions {
            bootstrap: 0,
            ..EvalOptions::default()
        };
        let r = evaluate(&g, &p, &l, &o).unwrap();
        assert_eq!(r.ci.accuracy, [r.accuracy, r.accuracy]);
        assert_eq!(r.ci.resamples, 0);
    }

    #[test]
    fn report_round_trips_through_json() {
        let l = labels(&["a", "b", "c", "d"]);
        let (g, p) = synthetic(40, 5);
        let r = evaluate(&g, &p, &l, &EvalOptions::default()).unwrap();
        let s = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&s).unwrap();
        // serde_json parses floats to within an ulp (exactly only with `float_roundtrip`).
        assert_eq!(back.confusion.counts, r.confusion.counts);
        for (x, y) in back.per_class.iter().zip(&r.per_class) {
            assert_eq!(
                (&x.label, x.support, x.predicted),
                (&y.label, y.support, y.predicted)
            );
            close(x.f1, y.f1, 1e-12);
            close(x.precision, y.precision, 1e-12);
        }
        close(back.accuracy, r.accuracy, 1e-12);
    }

    #[test]
    fn the_report_records_mcc_with_an_interval_from_its_own_resamples() {
        let l = labels(&["a", "b", "c", "d"]);
        let (g, p) = synthetic(300, 11);
        let o = EvalOptions::default();
        let r = evaluate(&g, &p, &l, &o).unwrap();
        let direct = crate::evaluate_mcc(&g, &p.argmax(), 4, &o).unwrap();
        // The same value and the same resamples as the stand-alone MCC evaluation.
        assert_eq!(r.mcc, Some(direct.mcc));
        assert_eq!(r.ci.mcc, Some(direct.ci));
        assert!(direct.mcc > 0.5 && direct.mcc < 0.95, "{}", direct.mcc);
        assert_eq!(r.mcc_summary(), Some(direct));
        let j = serde_json::to_value(&r).unwrap();
        assert!(j["mcc"].is_number() && j["ci"]["mcc"].is_array(), "{j}");

        // A record written before the key existed: the point value comes from the
        // confusion matrix, with no interval claimed.
        let mut old = j.clone();
        old.as_object_mut().unwrap().remove("mcc");
        old["ci"].as_object_mut().unwrap().remove("mcc");
        let back: Report = serde_json::from_value(old).unwrap();
        assert_eq!(back.mcc, None);
        let m = back.mcc_summary().unwrap();
        close(m.mcc, r.mcc.unwrap(), 1e-12);
        assert_eq!((m.resamples, m.ci), (0, [m.mcc, m.mcc]));
        // Written back, the old record stays without the key.
        let again = serde_json::to_value(&back).unwrap();
        assert!(again.get("mcc").is_none());
    }

    /// Run with `cargo test -p textclf-eval --release -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bootstrap_speed_25k_rows() {
        let l = labels(&["a", "b", "c", "d"]);
        let (g, p) = synthetic(25_000, 6);
        let t = std::time::Instant::now();
        let r = evaluate(&g, &p, &l, &EvalOptions::default()).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "25k rows × 1000 resamples: {s:.3} s (acc CI {:?})",
            r.ci.accuracy
        );
        assert!(s < 1.0);
    }
}
