//! Multi-label metrics: micro, macro, weighted and samples precision/recall/F1, subset
//! accuracy, Hamming loss, per-label metrics, ROC-AUC and bootstrap intervals.
//!
//! Conventions, chosen to match scikit-learn (checked against it by
//! `tests/shape_metrics.rs` on a committed fixture):
//!
//! * **Zero division gives 0**, as `zero_division=0`: a precision with no predicted
//!   positive, a recall with no gold positive and an F1 with neither are 0.
//! * **Macro averages run over every label column**, including a label that is neither
//!   in the gold labels nor predicted (its F1 is 0 and pulls the mean down). This is what
//!   scikit-learn does for indicator matrices; it differs on purpose from the single-label
//!   [`crate::Report`], whose macro F1 skips classes absent from both gold and predictions
//!   (scikit-learn's behaviour for class-id vectors).
//! * **Samples averages** compute P/R/F1 per row and average over rows; a row with no
//!   gold and no predicted label scores 0 (scikit-learn with `zero_division=0`).
//! * **Weighted averages** weight each label by its gold support; with no gold positive
//!   at all they are 0.

use serde::{Deserialize, Serialize};
use textclf_core::LabelSet;

use crate::bootstrap::bootstrap_weights;
use crate::bootstrap::percentile_interval;
use crate::label_matrix::{check_same_shape, check_scores};
use crate::rank::roc_auc;
use crate::{EvalError, EvalOptions, LabelMatrix};

/// Precision, recall and F1 under one averaging.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Averaged {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Metrics of one label, treated as its own binary problem.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LabelMetrics {
    pub label: String,
    /// True positives / predicted positives (0 when nothing was predicted).
    pub precision: f64,
    /// True positives / gold positives (0 when there is no gold positive).
    pub recall: f64,
    /// `2·tp / (2·tp + fp + fn)`, 0 when the label is neither gold nor predicted anywhere.
    pub f1: f64,
    /// Rows whose gold labels include this label.
    pub support: u64,
    /// Rows predicted to carry this label.
    pub predicted: u64,
    /// ROC-AUC of this label's scores; `None` without scores, or when every gold row has
    /// the label or none has (then it is undefined).
    pub roc_auc: Option<f64>,
}

/// ROC-AUC of the scores (before thresholds).
///
/// scikit-learn's `roc_auc_score(average="macro")` raises an error when any label column
/// of the gold matrix is constant; here such labels are left out of the macro mean and
/// listed in `skipped`, so `macro_auc` equals scikit-learn's macro ROC-AUC on the other
/// columns. `micro` pools every cell of every label (constant ones included), as
/// scikit-learn's `average="micro"`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RocAuc {
    /// Mean of the per-label ROC-AUCs over the labels where it is defined; `None` when it
    /// is defined for none.
    #[serde(rename = "macro")]
    pub macro_auc: Option<f64>,
    /// ROC-AUC of all `n × k` (gold, score) cells pooled; `None` when the gold matrix is
    /// all 0 or all 1.
    pub micro: Option<f64>,
    /// Labels that entered the macro mean.
    pub labels_scored: usize,
    /// Labels left out of the macro mean because their gold column is constant.
    pub skipped: Vec<String>,
}

/// Percentile-bootstrap intervals of the headline multi-label metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MultiLabelIntervals {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Number of resamples (0 when the bootstrap was skipped).
    pub resamples: usize,
    /// `[low, high]` of the micro F1.
    pub micro_f1: [f64; 2],
    /// `[low, high]` of the macro F1.
    pub macro_f1: [f64; 2],
}

/// Everything [`evaluate_multilabel`] measures on one test set.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MultiLabelReport {
    /// Number of test rows.
    pub n: usize,
    /// From the true/false positives and negatives summed over every label.
    pub micro: Averaged,
    /// Unweighted mean of the per-label metrics over every label column.
    #[serde(rename = "macro")]
    pub macro_avg: Averaged,
    /// Mean of the per-label metrics weighted by gold support.
    pub weighted: Averaged,
    /// Mean over rows of each row's precision, recall and F1.
    pub samples: Averaged,
    /// Share of rows whose predicted label set equals the gold set exactly.
    pub subset_accuracy: f64,
    /// Share of the `n × k` cells predicted wrongly.
    pub hamming_loss: f64,
    /// Mean number of gold labels per row.
    pub gold_cardinality: f64,
    /// Mean number of predicted labels per row.
    pub predicted_cardinality: f64,
    /// Metrics of every label, by label id.
    pub per_label: Vec<LabelMetrics>,
    /// `None` when no scores were given.
    pub roc_auc: Option<RocAuc>,
    pub ci: MultiLabelIntervals,
}

/// Evaluates predicted label sets (and, if given, the scores they came from) against gold
/// label sets.
///
/// `scores` is the row-major `n × k` matrix of per-label scores (probabilities), used only
/// for ROC-AUC. Errors when the shapes differ, `labels` does not name every column, a
/// score is not finite, or there are no rows.
pub fn evaluate_multilabel(
    gold: &LabelMatrix,
    pred: &LabelMatrix,
    scores: Option<&[f32]>,
    labels: &LabelSet,
    opts: &EvalOptions,
) -> Result<MultiLabelReport, EvalError> {
    opts.validate()?;
    let names = labels.names();
    check_same_shape(gold, pred, names, "gold labels vs predicted labels")?;
    if gold.is_empty() {
        return Err(EvalError::Empty);
    }
    let (n, k) = (gold.len(), gold.num_labels());
    if let Some(s) = scores {
        check_scores(s, n, k, names)?;
    }

    let counts = label_counts(gold, pred);
    let per_label_prf: Vec<Averaged> = counts.iter().map(LabelCounts::prf).collect();
    let total = counts.iter().fold(LabelCounts::default(), |a, c| a.add(c));
    let micro = total.prf();
    let mean = |weights: &dyn Fn(usize) -> f64| {
        let wsum: f64 = (0..k).map(weights).sum();
        if wsum == 0.0 {
            return Averaged {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0,
            };
        }
        let avg = |f: &dyn Fn(&Averaged) -> f64| {
            per_label_prf
                .iter()
                .enumerate()
                .map(|(c, m)| weights(c) * f(m))
                .sum::<f64>()
                / wsum
        };
        Averaged {
            precision: avg(&|m| m.precision),
            recall: avg(&|m| m.recall),
            f1: avg(&|m| m.f1),
        }
    };
    let macro_avg = mean(&|_| 1.0);
    let weighted = mean(&|c| counts[c].support() as f64);

    let mut samples = [0.0f64; 3];
    let mut exact = 0u64;
    let mut wrong_cells = 0u64;
    let mut gold_labels = 0u64;
    let mut pred_labels = 0u64;
    for i in 0..n {
        let (g, p) = (gold.row(i), pred.row(i));
        let both = g.iter().zip(p).filter(|(a, b)| **a && **b).count() as u64;
        let ng = g.iter().filter(|&&x| x).count() as u64;
        let np = p.iter().filter(|&&x| x).count() as u64;
        samples[0] += ratio(both, np);
        samples[1] += ratio(both, ng);
        samples[2] += ratio(2 * both, ng + np);
        let diff = g.iter().zip(p).filter(|(a, b)| a != b).count() as u64;
        exact += u64::from(diff == 0);
        wrong_cells += diff;
        gold_labels += ng;
        pred_labels += np;
    }
    let samples = Averaged {
        precision: samples[0] / n as f64,
        recall: samples[1] / n as f64,
        f1: samples[2] / n as f64,
    };

    let scores64: Option<Vec<f64>> = scores.map(|s| s.iter().map(|&x| f64::from(x)).collect());
    let label_auc: Vec<Option<f64>> = match &scores64 {
        Some(s) => (0..k)
            .map(|c| {
                let col: Vec<f64> = (0..n).map(|i| s[i * k + c]).collect();
                roc_auc((0..n).map(|i| gold.get(i, c)), &col)
            })
            .collect(),
        None => vec![None; k],
    };
    let roc = scores64.as_ref().map(|s| {
        let defined: Vec<f64> = label_auc.iter().flatten().copied().collect();
        RocAuc {
            macro_auc: (!defined.is_empty())
                .then(|| defined.iter().sum::<f64>() / defined.len() as f64),
            micro: roc_auc(gold.as_slice().iter().copied(), s),
            labels_scored: defined.len(),
            skipped: (0..k)
                .filter(|&c| label_auc[c].is_none())
                .map(|c| names[c].clone())
                .collect(),
        }
    });

    let per_label = (0..k)
        .map(|c| LabelMetrics {
            label: names[c].clone(),
            precision: per_label_prf[c].precision,
            recall: per_label_prf[c].recall,
            f1: per_label_prf[c].f1,
            support: counts[c].support(),
            predicted: counts[c].predicted(),
            roc_auc: label_auc[c],
        })
        .collect();

    let ci = if opts.bootstrap == 0 {
        MultiLabelIntervals {
            level: opts.confidence,
            resamples: 0,
            micro_f1: [micro.f1, micro.f1],
            macro_f1: [macro_avg.f1, macro_avg.f1],
        }
    } else {
        let events = RowEvents::new(gold, pred);
        let mut micros = Vec::with_capacity(opts.bootstrap);
        let mut macros = Vec::with_capacity(opts.bootstrap);
        let mut buf = vec![LabelCounts::default(); k];
        bootstrap_weights(n, opts.bootstrap, opts.seed, |w| {
            events.counts_into(w, &mut buf);
            let (mi, ma) = micro_macro_f1(&buf);
            micros.push(mi);
            macros.push(ma);
        });
        MultiLabelIntervals {
            level: opts.confidence,
            resamples: opts.bootstrap,
            micro_f1: percentile_interval(&mut micros, opts.confidence),
            macro_f1: percentile_interval(&mut macros, opts.confidence),
        }
    };

    Ok(MultiLabelReport {
        n,
        micro,
        macro_avg,
        weighted,
        samples,
        subset_accuracy: exact as f64 / n as f64,
        hamming_loss: wrong_cells as f64 / (n * k) as f64,
        gold_cardinality: gold_labels as f64 / n as f64,
        predicted_cardinality: pred_labels as f64 / n as f64,
        per_label,
        roc_auc: roc,
        ci,
    })
}

/// `num / den`, 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// True positives, false positives and false negatives of one label.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct LabelCounts {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
}

impl LabelCounts {
    fn add(self, o: &LabelCounts) -> LabelCounts {
        LabelCounts {
            tp: self.tp + o.tp,
            fp: self.fp + o.fp,
            fn_: self.fn_ + o.fn_,
        }
    }

    fn support(&self) -> u64 {
        self.tp + self.fn_
    }

    fn predicted(&self) -> u64 {
        self.tp + self.fp
    }

    pub(crate) fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    fn prf(&self) -> Averaged {
        Averaged {
            precision: ratio(self.tp, self.predicted()),
            recall: ratio(self.tp, self.support()),
            f1: self.f1(),
        }
    }
}

/// Per-label counts of every label column.
pub(crate) fn label_counts(gold: &LabelMatrix, pred: &LabelMatrix) -> Vec<LabelCounts> {
    let k = gold.num_labels();
    let mut counts = vec![LabelCounts::default(); k];
    for (i, (&g, &p)) in gold.as_slice().iter().zip(pred.as_slice()).enumerate() {
        let c = &mut counts[i % k];
        match (g, p) {
            (true, true) => c.tp += 1,
            (false, true) => c.fp += 1,
            (true, false) => c.fn_ += 1,
            (false, false) => {}
        }
    }
    counts
}

/// Micro F1 and macro F1 (over every label) from per-label counts. Used both for the
/// point estimates and for every bootstrap resample, so the two agree.
pub(crate) fn micro_macro_f1(counts: &[LabelCounts]) -> (f64, f64) {
    let mut total = LabelCounts::default();
    let mut f1_sum = 0.0;
    for c in counts {
        total = total.add(c);
        f1_sum += c.f1();
    }
    let macro_f1 = if counts.is_empty() {
        0.0
    } else {
        f1_sum / counts.len() as f64
    };
    (total.f1(), macro_f1)
}

/// The cells of each row that are not true negatives, kept sparse so that a bootstrap
/// resample's per-label counts cost one pass over them.
pub(crate) struct RowEvents {
    k: usize,
    /// `label * 3 + kind` (0 = tp, 1 = fp, 2 = fn) of each event, row after row.
    events: Vec<u32>,
    /// Row `i`'s events are `events[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

impl RowEvents {
    pub(crate) fn new(gold: &LabelMatrix, pred: &LabelMatrix) -> Self {
        let k = gold.num_labels();
        let mut events = Vec::new();
        let mut starts = Vec::with_capacity(gold.len() + 1);
        starts.push(0);
        for i in 0..gold.len() {
            for (c, (&g, &p)) in gold.row(i).iter().zip(pred.row(i)).enumerate() {
                let kind = match (g, p) {
                    (true, true) => 0,
                    (false, true) => 1,
                    (true, false) => 2,
                    (false, false) => continue,
                };
                events.push((c * 3 + kind) as u32);
            }
            starts.push(events.len());
        }
        Self { k, events, starts }
    }

    /// The per-label counts of a resample with row weights `w`, written into `out`.
    pub(crate) fn counts_into(&self, w: &[u32], out: &mut [LabelCounts]) {
        debug_assert_eq!(out.len(), self.k);
        out.fill(LabelCounts::default());
        for (i, &wi) in w.iter().enumerate() {
            if wi == 0 {
                continue;
            }
            let wi = u64::from(wi);
            for &e in &self.events[self.starts[i]..self.starts[i + 1]] {
                let c = &mut out[e as usize / 3];
                match e % 3 {
                    0 => c.tp += wi,
                    1 => c.fp += wi,
                    _ => c.fn_ += wi,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> LabelSet {
        LabelSet::new(names.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn small_example_by_hand() {
        // 3 labels; label c is never gold nor predicted.
        let gold = LabelMatrix::from_sets(3, &[vec![0], vec![0, 1], vec![], vec![1]]).unwrap();
        let pred = LabelMatrix::from_sets(3, &[vec![0], vec![0], vec![1], vec![1]]).unwrap();
        let r = evaluate_multilabel(
            &gold,
            &pred,
            None,
            &labels(&["a", "b", "c"]),
            &EvalOptions::default(),
        )
        .unwrap();
        // a: tp 2; b: tp 1, fp 1, fn 1; c: nothing.
        close(r.per_label[0].f1, 1.0);
        close(r.per_label[1].f1, 0.5);
        assert_eq!(r.per_label[2].f1, 0.0);
        // micro: tp 3, fp 1, fn 1.
        close(r.micro.f1, 0.75);
        // macro over all three labels, the absent one included.
        close(r.macro_avg.f1, 0.5);
        // weighted by support 2, 2, 0.
        close(r.weighted.f1, 0.75);
        // rows: F1 1, 2/3, 0 (gold empty, one predicted), 1.
        close(r.samples.f1, (1.0 + 2.0 / 3.0 + 1.0) / 4.0);
        close(r.subset_accuracy, 0.5);
        close(r.hamming_loss, 2.0 / 12.0);
        close(r.gold_cardinality, 1.0);
        assert!(r.roc_auc.is_none());
        assert!(r.ci.micro_f1[0] <= r.micro.f1 && r.micro.f1 <= r.ci.micro_f1[1]);
    }

    #[test]
    fn empty_rows_and_no_gold_positive_give_zero() {
        let gold = LabelMatrix::from_sets(2, &[Vec::<usize>::new(), vec![]]).unwrap();
        let pred = gold.clone();
        let o = EvalOptions {
            bootstrap: 0,
            ..EvalOptions::default()
        };
        let r = evaluate_multilabel(&gold, &pred, None, &labels(&["a", "b"]), &o).unwrap();
        // scikit-learn with zero_division=0: every F1 is 0 although nothing is wrong.
        assert_eq!(r.micro.f1, 0.0);
        assert_eq!(r.samples.f1, 0.0);
        assert_eq!(r.weighted.f1, 0.0);
        assert_eq!(r.subset_accuracy, 1.0);
        assert_eq!(r.hamming_loss, 0.0);
        assert_eq!(r.ci.micro_f1, [0.0, 0.0]);
    }

    #[test]
    fn roc_auc_skips_constant_labels() {
        let gold = LabelMatrix::from_sets(3, &[vec![0, 2], vec![2], vec![0, 2], vec![2]]).unwrap();
        let pred = gold.clone();
        let scores = [
            0.9, 0.1, 0.8, //
            0.2, 0.3, 0.7, //
            0.6, 0.2, 0.9, //
            0.6, 0.4, 0.6,
        ];
        let r = evaluate_multilabel(
            &gold,
            &pred,
            Some(&scores),
            &labels(&["a", "never", "always"]),
            &EvalOptions::default(),
        )
        .unwrap();
        let roc = r.roc_auc.unwrap();
        // a: positives 0.9, 0.6 vs negatives 0.2, 0.6 → (2 + 1.5) / 4.
        close(r.per_label[0].roc_auc.unwrap(), 0.875);
        assert_eq!(r.per_label[1].roc_auc, None);
        assert_eq!(roc.skipped, vec!["never".to_string(), "always".to_string()]);
        assert_eq!(roc.labels_scored, 1);
        close(roc.macro_auc.unwrap(), 0.875);
        assert!(roc.micro.is_some());
    }

    #[test]
    fn input_errors() {
        let l = labels(&["a", "b"]);
        let o = EvalOptions::default();
        let g = LabelMatrix::from_sets(2, &[vec![0], vec![1]]).unwrap();
        let short = LabelMatrix::from_sets(2, &[vec![0]]).unwrap();
        let e = evaluate_multilabel(&g, &short, None, &l, &o).unwrap_err();
        assert!(matches!(e, EvalError::LengthMismatch { .. }), "{e}");
        let wide = LabelMatrix::from_sets(3, &[vec![0], vec![1]]).unwrap();
        let e = evaluate_multilabel(&g, &wide, None, &l, &o).unwrap_err();
        assert!(e.to_string().contains("2 label columns vs 3"), "{e}");
        let e = evaluate_multilabel(&g, &g, None, &labels(&["a"]), &o).unwrap_err();
        assert!(
            e.to_string()
                .contains("gold label matrix has 2 columns but the label set has 1"),
            "{e}"
        );
        let e = evaluate_multilabel(&g, &g, Some(&[0.1, 0.2, 0.3]), &l, &o).unwrap_err();
        assert!(e.to_string().contains("score matrix holds 3 values"), "{e}");
        let empty = LabelMatrix::new(2, vec![]).unwrap();
        let e = evaluate_multilabel(&empty, &empty, None, &l, &o).unwrap_err();
        assert!(matches!(e, EvalError::Empty), "{e}");
    }

    #[test]
    fn resample_counts_with_unit_weights_are_the_counts() {
        let gold = LabelMatrix::from_sets(3, &[vec![0, 1], vec![2], vec![], vec![1]]).unwrap();
        let pred = LabelMatrix::from_sets(3, &[vec![0], vec![1, 2], vec![0], vec![]]).unwrap();
        let ev = RowEvents::new(&gold, &pred);
        let mut out = vec![LabelCounts::default(); 3];
        ev.counts_into(&[1, 1, 1, 1], &mut out);
        assert_eq!(out, label_counts(&gold, &pred));
        ev.counts_into(&[0, 2, 0, 0], &mut out);
        assert_eq!(
            out[1],
            LabelCounts {
                tp: 0,
                fp: 2,
                fn_: 0
            }
        );
        assert_eq!(out[2].tp, 2);
    }
}
