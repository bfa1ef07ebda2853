//! Matthews correlation coefficient of single-label predictions (any number of classes),
//! with its bootstrap interval — the metric CoLA is scored by.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{bootstrap_counts, percentile_interval};
use crate::cells::{cell_ids, check_ids, count_cells};
use crate::options::EvalOptions;
use crate::EvalError;

/// The MCC of a test set with its percentile-bootstrap interval. The interval is drawn
/// from the same resamples as [`crate::Report::ci`] for the same options, so the three
/// single-label headline intervals (accuracy, macro F1, MCC) describe the same resamples.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Mcc {
    /// Matthews correlation coefficient, in [−1, 1].
    pub mcc: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Number of resamples (0 when the bootstrap was skipped).
    pub resamples: usize,
    /// `[low, high]` of the MCC; collapses onto `mcc` without a bootstrap.
    pub ci: [f64; 2],
}

/// The Matthews correlation coefficient of predicted class ids against gold ids, as
/// scikit-learn's `matthews_corrcoef` (Gorodkin's 2004 multiclass form, which is the
/// usual φ coefficient for two classes): with `t` the gold count of each class, `p` the
/// predicted count, `c` the correct rows and `s` all rows,
/// `(c·s − t·p) / √((s² − p·p)(s² − t·t))`, and 0 when either factor under the root is 0
/// (all gold rows or all predictions in one class).
pub fn matthews_corrcoef(
    gold: &[usize],
    pred: &[usize],
    num_classes: usize,
) -> Result<f64, EvalError> {
    let cells = checked_cells(gold, pred, num_classes)?;
    Ok(mcc_from_counts(
        &count_cells(&cells, num_classes),
        num_classes,
    ))
}

/// MCC with a percentile-bootstrap interval over the test rows.
pub fn evaluate_mcc(
    gold: &[usize],
    pred: &[usize],
    num_classes: usize,
    opts: &EvalOptions,
) -> Result<Mcc, EvalError> {
    opts.validate()?;
    let k = num_classes;
    let cells = checked_cells(gold, pred, k)?;
    let mcc = mcc_from_counts(&count_cells(&cells, k), k);
    let ci = if opts.bootstrap == 0 {
        [mcc, mcc]
    } else {
        let mut values = Vec::with_capacity(opts.bootstrap);
        bootstrap_counts(&[&cells], k * k, opts.bootstrap, opts.seed, |c| {
            values.push(mcc_from_counts(&c[0], k));
        });
        percentile_interval(&mut values, opts.confidence)
    };
    Ok(Mcc {
        mcc,
        level: opts.confidence,
        resamples: opts.bootstrap,
        ci,
    })
}

/// Checks the ids and returns the confusion cell of every row.
pub(crate) fn checked_cells(
    gold: &[usize],
    pred: &[usize],
    k: usize,
) -> Result<Vec<u32>, EvalError> {
    if gold.len() != pred.len() {
        return Err(EvalError::LengthMismatch {
            what: "gold labels vs predictions".into(),
            left: gold.len(),
            right: pred.len(),
        });
    }
    if gold.is_empty() {
        return Err(EvalError::Empty);
    }
    check_ids(gold, k, "the gold label")?;
    check_ids(pred, k, "the prediction")?;
    Ok(cell_ids(gold, pred, k))
}

/// MCC from flat `k × k` confusion counts (`counts[gold * k + pred]`).
pub(crate) fn mcc_from_counts(counts: &[u64], k: usize) -> f64 {
    let (mut correct, mut total) = (0i128, 0i128);
    let (mut tp, mut pp, mut tt) = (0i128, 0i128, 0i128);
    for c in 0..k {
        let t: u64 = counts[c * k..(c + 1) * k].iter().sum();
        let p: u64 = (0..k).map(|g| counts[g * k + c]).sum();
        let (t, p) = (i128::from(t), i128::from(p));
        correct += i128::from(counts[c * k + c]);
        total += t;
        tp += t * p;
        pp += p * p;
        tt += t * t;
    }
    let cov_tp = correct * total - tp;
    let cov_pp = total * total - pp;
    let cov_tt = total * total - tt;
    if cov_pp == 0 || cov_tt == 0 {
        return 0.0;
    }
    (cov_tp as f64 / ((cov_tt as f64).sqrt() * (cov_pp as f64).sqrt())).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn a_report_confusion_gives_the_same_mcc() {
        let labels = textclf_core::LabelSet::new(vec!["a".into(), "b".into(), "c".into()]).unwrap();
        let gold = [0, 1, 2, 0, 1, 2, 0];
        let pred = [0, 2, 2, 1, 1, 0, 0];
        let mut v = Vec::new();
        for &p in &pred {
            let mut row = [0.1f32; 3];
            row[p] = 0.8;
            v.extend(row);
        }
        let probs = textclf_core::Predictions::new(3, v).unwrap();
        let r = crate::evaluate(&gold, &probs, &labels, &EvalOptions::default()).unwrap();
        close(
            r.confusion.mcc().unwrap(),
            matthews_corrcoef(&gold, &pred, 3).unwrap(),
        );
    }

    #[test]
    fn binary_mcc_is_phi() {
        // tp 3, tn 4, fp 1, fn 2: (12 − 2) / √(4·6·5·5)
        let gold = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
        let pred = [1, 1, 1, 0, 0, 0, 0, 0, 0, 1];
        let expected = (3.0 * 4.0 - 1.0 * 2.0) / (4.0f64 * 6.0 * 5.0 * 5.0).sqrt();
        close(matthews_corrcoef(&gold, &pred, 2).unwrap(), expected);
    }

    #[test]
    fn multiclass_mcc_matches_sklearn() {
        // sklearn.metrics.matthews_corrcoef([0,0,1,1,2,2],[0,1,1,1,2,0]) = 0.5222329678670935
        let m = matthews_corrcoef(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 2, 0], 3).unwrap();
        close(m, 0.522_232_967_867_093_5);
        // Perfect and perfectly inverted binary predictions.
        close(
            matthews_corrcoef(&[0, 1, 0, 1], &[0, 1, 0, 1], 2).unwrap(),
            1.0,
        );
        close(
            matthews_corrcoef(&[0, 1, 0, 1], &[1, 0, 1, 0], 2).unwrap(),
            -1.0,
        );
    }

    #[test]
    fn constant_predictions_or_gold_give_zero() {
        assert_eq!(matthews_corrcoef(&[0, 1, 1], &[1, 1, 1], 2).unwrap(), 0.0);
        assert_eq!(matthews_corrcoef(&[1, 1, 1], &[0, 1, 1], 2).unwrap(), 0.0);
        assert_eq!(matthews_corrcoef(&[2], &[2], 3).unwrap(), 0.0);
    }

    #[test]
    fn interval_and_errors() {
        let gold: Vec<usize> = (0..300).map(|i| i % 3).collect();
        let pred: Vec<usize> = (0..300)
            .map(|i| if i % 5 == 0 { (i + 1) % 3 } else { i % 3 })
            .collect();
        let o = EvalOptions::default();
        let m = evaluate_mcc(&gold, &pred, 3, &o).unwrap();
        assert!(m.ci[0] < m.mcc && m.mcc < m.ci[1], "{m:?}");
        assert_eq!(m, evaluate_mcc(&gold, &pred, 3, &o).unwrap());
        let none = evaluate_mcc(
            &gold,
            &pred,
            3,
            &EvalOptions {
                bootstrap: 0,
                ..o.clone()
            },
        )
        .unwrap();
        assert_eq!(none.ci, [none.mcc, none.mcc]);
        assert!(matches!(
            evaluate_mcc(&[], &[], 2, &o),
            Err(EvalError::Empty)
        ));
        assert!(matches!(
            evaluate_mcc(&[0], &[0, 1], 2, &o),
            Err(EvalError::LengthMismatch { .. })
        ));
        let e = evaluate_mcc(&[0, 1], &[0, 2], 2, &o).unwrap_err();
        assert!(e.to_string().contains("prediction at row 1"), "{e}");
    }
}
