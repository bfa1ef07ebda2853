//! Paired comparison of two models on the same rows for the shapes beyond single-label
//! accuracy: multi-label (micro/macro F1, subset accuracy, McNemar on exact matches),
//! regression (Pearson, Spearman, MSE) and the single-label MCC.
//!
//! Every interval comes from a paired bootstrap: each resample draws the same rows for
//! both models, so the correlation between their errors is kept. For the same options
//! the resamples are those of [`crate::compare`].

use serde::{Deserialize, Serialize};

use crate::bootstrap::bootstrap_counts;
use crate::bootstrap::{bootstrap_weights, DiffCollector, MetricDiff};
use crate::cells::count_cells;
use crate::compare::{format_level, format_p};
use crate::label_matrix::check_same_shape;
use crate::mcc::{checked_cells, mcc_from_counts};
use crate::multilabel::{label_counts, micro_macro_f1, LabelCounts, RowEvents};
use crate::regression::{check_regression_input, Paired};
use crate::{mcnemar, EvalError, EvalOptions, LabelMatrix, McNemar};

/// Two multi-label models evaluated on the same rows. Differences are B − A.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct MultiLabelComparison {
    pub n: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Number of paired resamples (0 when the bootstrap was skipped).
    pub resamples: usize,
    pub micro_f1: MetricDiff,
    pub macro_f1: MetricDiff,
    pub subset_accuracy: MetricDiff,
    /// McNemar's test on exact matches: a row counts as right when its predicted label
    /// set equals the gold set.
    pub mcnemar: McNemar,
    /// One sentence on micro F1 and McNemar's test.
    pub verdict: String,
}

/// Two regression models evaluated on the same rows. Differences are B − A.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct RegressionComparison {
    pub n: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Number of paired resamples (0 when the bootstrap was skipped).
    pub resamples: usize,
    pub pearson: MetricDiff,
    pub spearman: MetricDiff,
    /// Lower is better.
    pub mse: MetricDiff,
    /// One sentence on Pearson's r.
    pub verdict: String,
}

/// Compares the label sets predicted by two models against the same gold label sets.
pub fn compare_multilabel(
    gold: &LabelMatrix,
    pred_a: &LabelMatrix,
    pred_b: &LabelMatrix,
    opts: &EvalOptions,
) -> Result<MultiLabelComparison, EvalError> {
    opts.validate()?;
    let k = gold.num_labels();
    let names: Vec<String> = (0..k).map(|c| c.to_string()).collect();
    check_same_shape(gold, pred_a, &names, "gold labels vs predictions of A")?;
    check_same_shape(gold, pred_b, &names, "gold labels vs predictions of B")?;
    if gold.is_empty() {
        return Err(EvalError::Empty);
    }
    let n = gold.len();
    let exact =
        |p: &LabelMatrix| -> Vec<bool> { (0..n).map(|i| gold.row(i) == p.row(i)).collect() };
    let (exact_a, exact_b) = (exact(pred_a), exact(pred_b));
    let share = |e: &[bool], w: &[u32]| -> f64 {
        e.iter()
            .zip(w)
            .filter(|(x, _)| **x)
            .map(|(_, &wi)| f64::from(wi))
            .sum::<f64>()
            / n as f64
    };
    let ones = vec![1u32; n];
    let (mi_a, ma_a) = micro_macro_f1(&label_counts(gold, pred_a));
    let (mi_b, ma_b) = micro_macro_f1(&label_counts(gold, pred_b));
    let mut micro = DiffCollector::new(Some(mi_a), Some(mi_b), opts.bootstrap);
    let mut macro_ = DiffCollector::new(Some(ma_a), Some(ma_b), opts.bootstrap);
    let mut subset = DiffCollector::new(
        Some(share(&exact_a, &ones)),
        Some(share(&exact_b, &ones)),
        opts.bootstrap,
    );
    let (ev_a, ev_b) = (RowEvents::new(gold, pred_a), RowEvents::new(gold, pred_b));
    let mut buf_a = vec![LabelCounts::default(); k];
    let mut buf_b = vec![LabelCounts::default(); k];
    bootstrap_weights(n, opts.bootstrap, opts.seed, |w| {
        ev_a.counts_into(w, &mut buf_a);
        ev_b.counts_into(w, &mut buf_b);
        let (mia, maa) = micro_macro_f1(&buf_a);
        let (mib, mab) = micro_macro_f1(&buf_b);
        micro.push(Some(mia), Some(mib));
        macro_.push(Some(maa), Some(mab));
        subset.push(Some(share(&exact_a, w)), Some(share(&exact_b, w)));
    });
    let (mut a_only, mut b_only) = (0u64, 0u64);
    for (&a, &b) in exact_a.iter().zip(&exact_b) {
        match (a, b) {
            (true, false) => a_only += 1,
            (false, true) => b_only += 1,
            _ => {}
        }
    }
    let mcnemar = mcnemar(a_only, b_only);
    let micro_f1 = micro.finish(opts.confidence);
    let verdict = verdict("micro F1", &micro_f1, true, opts.confidence, Some(&mcnemar));
    Ok(MultiLabelComparison {
        n,
        level: opts.confidence,
        resamples: opts.bootstrap,
        micro_f1,
        macro_f1: macro_.finish(opts.confidence),
        subset_accuracy: subset.finish(opts.confidence),
        mcnemar,
        verdict,
    })
}

/// Compares the values predicted by two regression models against the same gold values.
pub fn compare_regression(
    gold: &[f64],
    pred_a: &[f64],
    pred_b: &[f64],
    opts: &EvalOptions,
) -> Result<RegressionComparison, EvalError> {
    opts.validate()?;
    check_regression_input(
        gold,
        pred_a,
        "gold values vs predictions of A",
        "prediction of A",
    )?;
    check_regression_input(
        gold,
        pred_b,
        "gold values vs predictions of B",
        "prediction of B",
    )?;
    let n = gold.len();
    let (pa, pb) = (Paired::new(gold, pred_a), Paired::new(gold, pred_b));
    let sq_a: Vec<f64> = gold
        .iter()
        .zip(pred_a)
        .map(|(g, p)| (g - p) * (g - p))
        .collect();
    let sq_b: Vec<f64> = gold
        .iter()
        .zip(pred_b)
        .map(|(g, p)| (g - p) * (g - p))
        .collect();
    let mse = |sq: &[f64], w: &[u32]| -> f64 {
        sq.iter()
            .zip(w)
            .map(|(s, &wi)| s * f64::from(wi))
            .sum::<f64>()
            / n as f64
    };
    let ones = vec![1u32; n];
    let mut pearson = DiffCollector::new(pa.pearson(&ones), pb.pearson(&ones), opts.bootstrap);
    let mut spearman = DiffCollector::new(pa.spearman(&ones), pb.spearman(&ones), opts.bootstrap);
    let mut mse_d = DiffCollector::new(
        Some(mse(&sq_a, &ones)),
        Some(mse(&sq_b, &ones)),
        opts.bootstrap,
    );
    bootstrap_weights(n, opts.bootstrap, opts.seed, |w| {
        pearson.push(pa.pearson(w), pb.pearson(w));
        spearman.push(pa.spearman(w), pb.spearman(w));
        mse_d.push(Some(mse(&sq_a, w)), Some(mse(&sq_b, w)));
    });
    let pearson = pearson.finish(opts.confidence);
    let verdict = verdict("Pearson r", &pearson, false, opts.confidence, None);
    Ok(RegressionComparison {
        n,
        level: opts.confidence,
        resamples: opts.bootstrap,
        pearson,
        spearman: spearman.finish(opts.confidence),
        mse: mse_d.finish(opts.confidence),
        verdict,
    })
}

/// The MCC of two single-label models on the same rows, with the paired-bootstrap
/// interval of B − A (drawn from the same resamples as [`crate::compare`]'s intervals for
/// the same options).
pub fn compare_mcc(
    gold: &[usize],
    pred_a: &[usize],
    pred_b: &[usize],
    num_classes: usize,
    opts: &EvalOptions,
) -> Result<MetricDiff, EvalError> {
    opts.validate()?;
    let k = num_classes;
    let cells_a = checked_cells(gold, pred_a, k)?;
    let cells_b = checked_cells(gold, pred_b, k)?;
    let mut d = DiffCollector::new(
        Some(mcc_from_counts(&count_cells(&cells_a, k), k)),
        Some(mcc_from_counts(&count_cells(&cells_b, k), k)),
        opts.bootstrap,
    );
    bootstrap_counts(
        &[&cells_a, &cells_b],
        k * k,
        opts.bootstrap,
        opts.seed,
        |c| {
            d.push(
                Some(mcc_from_counts(&c[0], k)),
                Some(mcc_from_counts(&c[1], k)),
            );
        },
    );
    Ok(d.finish(opts.confidence))
}

/// "B's micro F1 is higher by 1.20 points (95% CI 0.40 to 2.00), an interval that
/// excludes 0; McNemar on exact matches p = 0.03." and the like.
fn verdict(metric: &str, d: &MetricDiff, points: bool, level: f64, m: Option<&McNemar>) -> String {
    let level_txt = format_level(level);
    let (scale, unit, dp) = if points {
        (100.0, " points", 2)
    } else {
        (1.0, "", 4)
    };
    let head = match (d.diff, d.diff_ci) {
        (Some(diff), Some(ci)) => {
            let excludes = ci[0] > 0.0 || ci[1] < 0.0;
            let (who, by, lo, hi) = if diff >= 0.0 {
                ("B", diff, ci[0], ci[1])
            } else {
                // Said from A's side: the interval of A − B is the negated, swapped one.
                ("A", -diff, -ci[1], -ci[0])
            };
            let tail = if excludes {
                "an interval that excludes 0"
            } else {
                "an interval that includes 0: no evidence of a real difference"
            };
            if diff == 0.0 {
                format!(
                    "A and B have the same {metric} ({level_txt} CI of B − A {:.dp$} to {:.dp$}{unit})",
                    lo * scale,
                    hi * scale
                )
            } else {
                format!(
                    "{who}'s {metric} is higher by {:.dp$}{unit} ({level_txt} CI {:.dp$} to {:.dp$}), {tail}",
                    by * scale,
                    lo * scale,
                    hi * scale
                )
            }
        }
        _ => format!("{metric} is undefined for at least one model (a constant column)"),
    };
    match m {
        Some(m) => format!("{head}; McNemar on exact matches {}.", format_p(m.p_value)),
        None => format!("{head}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compare, evaluate_mcc, evaluate_multilabel, evaluate_regression};
    use textclf_core::LabelSet;

    #[test]
    fn multilabel_comparison_counts_exact_matches() {
        let gold =
            LabelMatrix::from_sets(3, &[vec![0], vec![0, 1], vec![2], vec![1], vec![]]).unwrap();
        let a = LabelMatrix::from_sets(3, &[vec![0], vec![0], vec![2], vec![0], vec![]]).unwrap();
        let b = gold.clone();
        let c = compare_multilabel(&gold, &a, &b, &EvalOptions::default()).unwrap();
        assert_eq!(c.mcnemar.a_right_b_wrong, 0);
        assert_eq!(c.mcnemar.a_wrong_b_right, 2);
        assert_eq!(c.micro_f1.b, Some(1.0));
        let labels = LabelSet::new(vec!["x".into(), "y".into(), "z".into()]).unwrap();
        let ra = evaluate_multilabel(&gold, &a, None, &labels, &EvalOptions::default()).unwrap();
        assert_eq!(c.micro_f1.a, Some(ra.micro.f1));
        assert_eq!(c.macro_f1.a, Some(ra.macro_avg.f1));
        assert!((c.subset_accuracy.diff.unwrap() - 0.4).abs() < 1e-12);
        let ci = c.micro_f1.diff_ci.unwrap();
        assert!(ci[0] <= c.micro_f1.diff.unwrap() && c.micro_f1.diff.unwrap() <= ci[1]);
        assert!(
            c.verdict.starts_with("B's micro F1 is higher by"),
            "{}",
            c.verdict
        );
        assert!(
            c.verdict.contains("McNemar on exact matches p = 0.50"),
            "{}",
            c.verdict
        );
        // Same model twice: zero difference everywhere.
        let s = compare_multilabel(&gold, &a, &a, &EvalOptions::default()).unwrap();
        assert_eq!(s.micro_f1.diff_ci, Some([0.0, 0.0]));
        assert!(
            s.verdict.starts_with("A and B have the same micro F1"),
            "{}",
            s.verdict
        );
        assert!(compare_multilabel(
            &gold,
            &a,
            &LabelMatrix::new(3, vec![]).unwrap(),
            &EvalOptions::default()
        )
        .is_err());
    }

    #[test]
    fn regression_comparison_sees_a_clear_difference() {
        let n = 400;
        let gold: Vec<f64> = (0..n).map(|i| (i % 50) as f64).collect();
        let noise = |i: usize, s: f64| (((i * 7919) % 101) as f64 - 50.0) * s;
        let a: Vec<f64> = gold
            .iter()
            .enumerate()
            .map(|(i, g)| g + noise(i, 0.6))
            .collect();
        let b: Vec<f64> = gold
            .iter()
            .enumerate()
            .map(|(i, g)| g + noise(i, 0.1))
            .collect();
        let o = EvalOptions::default();
        let c = compare_regression(&gold, &a, &b, &o).unwrap();
        let ra = evaluate_regression(&gold, &a, &o).unwrap();
        assert_eq!(c.pearson.a, ra.pearson);
        assert!(c.pearson.diff_ci.unwrap()[0] > 0.0, "{:?}", c.pearson);
        assert!(c.mse.diff_ci.unwrap()[1] < 0.0, "{:?}", c.mse);
        assert!(c.verdict.contains("excludes 0"), "{}", c.verdict);
        let e = compare_regression(&gold, &a, &b[1..], &o).unwrap_err();
        assert!(e.to_string().contains("predictions of B"), "{e}");
        // A constant model has no correlation; the verdict says so.
        let flat = vec![1.0; n];
        let c = compare_regression(&gold, &flat, &b, &o).unwrap();
        assert_eq!(c.pearson.diff, None);
        assert!(c.verdict.contains("undefined"), "{}", c.verdict);
    }

    #[test]
    fn mcc_comparison_uses_the_compare_resamples() {
        let gold: Vec<usize> = (0..120).map(|i| i % 3).collect();
        let a: Vec<usize> = (0..120)
            .map(|i| if i % 4 == 0 { (i + 1) % 3 } else { i % 3 })
            .collect();
        let b: Vec<usize> = (0..120)
            .map(|i| if i % 9 == 0 { (i + 2) % 3 } else { i % 3 })
            .collect();
        let o = EvalOptions::default();
        let d = compare_mcc(&gold, &a, &b, 3, &o).unwrap();
        assert_eq!(d.a, Some(evaluate_mcc(&gold, &a, 3, &o).unwrap().mcc));
        let ci = d.diff_ci.unwrap();
        assert!(ci[0] <= d.diff.unwrap() && d.diff.unwrap() <= ci[1]);
        // Identical inputs to compare() give identical accuracy resamples, so with a
        // model compared to itself both collapse to 0.
        let same = compare_mcc(&gold, &a, &a, 3, &o).unwrap();
        assert_eq!(same.diff_ci, Some([0.0, 0.0]));
        assert_eq!(compare(&gold, &a, &a, 3, &o).unwrap().diff_ci, [0.0, 0.0]);
    }
}
