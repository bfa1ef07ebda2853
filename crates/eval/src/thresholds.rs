//! Decision thresholds for multi-label scores, tuned on validation rows: one per label
//! (each maximising that label's F1) or one for all labels (maximising micro F1).
//!
//! * A row is predicted to carry label `c` when its score is **at or above** the
//!   label's threshold (`score >= t`).
//! * The candidate thresholds are the **distinct scores** on the validation rows (for the
//!   global threshold, of every label's column), so every distinct cut of the validation
//!   rows is tried, no grid is needed and the best F1 found is the best any threshold
//!   can reach there. They are the thresholds of scikit-learn's
//!   `precision_recall_curve`.
//! * **Ties:** among candidates with the same best F1 the **highest** wins (the one
//!   predicting fewest positives).
//! * A label without any positive validation row has F1 0 at every threshold; it is not
//!   tuned and keeps the given `fallback` threshold (`tuned: false` in the record).

use crate::label_matrix::check_scores;
use crate::{EvalError, LabelMatrix};

use textclf_core::LabelSet;

// The record types are `textclf-runs`' (a run's `metrics.json` holds them); the tuning
// that makes them is here.
pub use textclf_runs::{LabelThreshold, Thresholds};

/// Chooses, for each label, the threshold that maximises its F1 on the given validation
/// rows (see the module documentation for candidates, ties and the fallback).
pub fn tune_thresholds(
    gold: &LabelMatrix,
    scores: &[f32],
    labels: &LabelSet,
    fallback: f32,
) -> Result<Thresholds, EvalError> {
    check_tuning_input(gold, scores, labels, fallback)?;
    let (n, k) = (gold.len(), gold.num_labels());
    let mut chosen = Vec::with_capacity(k);
    for c in 0..k {
        let cells: Vec<(f32, bool)> = (0..n)
            .map(|i| (scores[i * k + c], gold.get(i, c)))
            .collect();
        let (threshold, f1, tuned) = match best_cut(cells) {
            Some((t, f1)) => (t, f1, true),
            None => (fallback, 0.0, false),
        };
        chosen.push(LabelThreshold {
            label: labels.name(c).to_string(),
            threshold,
            f1,
            tuned,
        });
    }
    let values: Vec<f32> = chosen.iter().map(|l| l.threshold).collect();
    let micro_f1 = micro_f1_at(gold, scores, &values);
    Ok(Thresholds {
        method: "per-label".into(),
        micro_f1: Some(micro_f1),
        labels: chosen,
    })
}

/// Chooses one threshold for all labels, the one that maximises micro F1 on the given
/// validation rows; candidates are the distinct scores of all cells. With no positive
/// cell at all it keeps `fallback`.
pub fn tune_global_threshold(
    gold: &LabelMatrix,
    scores: &[f32],
    labels: &LabelSet,
    fallback: f32,
) -> Result<Thresholds, EvalError> {
    check_tuning_input(gold, scores, labels, fallback)?;
    let cells: Vec<(f32, bool)> = scores
        .iter()
        .copied()
        .zip(gold.as_slice().iter().copied())
        .collect();
    let (t, tuned) = match best_cut(cells) {
        Some((t, _)) => (t, true),
        None => (fallback, false),
    };
    let k = gold.num_labels();
    let values = vec![t; k];
    let micro_f1 = micro_f1_at(gold, scores, &values);
    let per_label = per_label_f1_at(gold, scores, &values);
    Ok(Thresholds {
        method: "global".into(),
        micro_f1: Some(micro_f1),
        labels: (0..k)
            .map(|c| LabelThreshold {
                label: labels.name(c).to_string(),
                threshold: t,
                f1: per_label[c],
                tuned,
            })
            .collect(),
    })
}

/// The predicted label sets of row-major `n × k` scores: label `c` when the score is at
/// or above `thresholds[c]`. Errors when the scores are not `k` per row or not finite.
pub fn apply_thresholds(scores: &[f32], thresholds: &[f32]) -> Result<LabelMatrix, EvalError> {
    let k = thresholds.len();
    if k == 0 {
        return Err(EvalError::Invalid(
            "no thresholds given; there must be one per label".into(),
        ));
    }
    if let Some(c) = thresholds.iter().position(|t| !t.is_finite()) {
        return Err(EvalError::Invalid(format!(
            "the threshold of label id {c} is {}, not a finite number",
            thresholds[c]
        )));
    }
    if !scores.len().is_multiple_of(k) {
        return Err(EvalError::Invalid(format!(
            "{} scores cannot be split into rows of {k} (one score per label and threshold)",
            scores.len()
        )));
    }
    let names: Vec<String> = (0..k).map(|c| format!("id {c}")).collect();
    check_scores(scores, scores.len() / k, k, &names)?;
    LabelMatrix::new(
        k,
        scores
            .iter()
            .enumerate()
            .map(|(i, &s)| s >= thresholds[i % k])
            .collect(),
    )
}

fn check_tuning_input(
    gold: &LabelMatrix,
    scores: &[f32],
    labels: &LabelSet,
    fallback: f32,
) -> Result<(), EvalError> {
    if gold.num_labels() != labels.len() {
        return Err(EvalError::Invalid(format!(
            "the gold label matrix has {} columns but the label set has {} labels",
            gold.num_labels(),
            labels.len()
        )));
    }
    if gold.is_empty() {
        return Err(EvalError::Invalid(
            "cannot tune thresholds on 0 validation rows; give a validation split with rows".into(),
        ));
    }
    if !fallback.is_finite() {
        return Err(EvalError::Invalid(format!(
            "the fallback threshold must be a finite number, not {fallback}"
        )));
    }
    check_scores(scores, gold.len(), gold.num_labels(), labels.names())
}

/// The candidate threshold with the best F1 of `(score, gold)` cells and that F1; the
/// highest threshold wins ties. `None` when no cell is positive.
fn best_cut(mut cells: Vec<(f32, bool)>) -> Option<(f32, f64)> {
    let positives = cells.iter().filter(|c| c.1).count() as u64;
    if positives == 0 {
        return None;
    }
    // Descending scores: lowering the threshold past each group of equal scores adds
    // the whole group to the predicted positives.
    cells.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut best: Option<(f32, f64)> = None;
    let mut i = 0;
    while i < cells.len() {
        let t = cells[i].0;
        while i < cells.len() && cells[i].0 == t {
            if cells[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let f1 = 2.0 * tp as f64 / (positives + tp + fp) as f64;
        if best.is_none_or(|(_, b)| f1 > b) {
            best = Some((t, f1));
        }
    }
    best
}

fn per_label_f1_at(gold: &LabelMatrix, scores: &[f32], t: &[f32]) -> Vec<f64> {
    let k = gold.num_labels();
    let mut c = vec![[0u64; 3]; k];
    for (i, (&g, &s)) in gold.as_slice().iter().zip(scores).enumerate() {
        let p = s >= t[i % k];
        match (g, p) {
            (true, true) => c[i % k][0] += 1,
            (false, true) => c[i % k][1] += 1,
            (true, false) => c[i % k][2] += 1,
            _ => {}
        }
    }
    c.iter().map(|&[tp, fp, fn_]| f1(tp, fp, fn_)).collect()
}

fn micro_f1_at(gold: &LabelMatrix, scores: &[f32], t: &[f32]) -> f64 {
    let k = gold.num_labels();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (i, (&g, &s)) in gold.as_slice().iter().zip(scores).enumerate() {
        match (g, s >= t[i % k]) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            _ => {}
        }
    }
    f1(tp, fp, fn_)
}

fn f1(tp: u64, fp: u64, fn_: u64) -> f64 {
    let den = 2 * tp + fp + fn_;
    if den == 0 {
        0.0
    } else {
        2.0 * tp as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> LabelSet {
        LabelSet::new(names.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    #[test]
    fn best_cut_by_hand_and_ties_take_the_highest() {
        // Positives at 0.9 and 0.4, negatives at 0.6 and 0.1.
        // t=0.9: F1 2/3; t=0.6: 2·1/(2+2) = 0.5; t=0.4: 2·2/(2+3) = 0.8; t=0.1: 4/6.
        let cells = vec![(0.9, true), (0.6, false), (0.4, true), (0.1, false)];
        assert_eq!(best_cut(cells), Some((0.4, 0.8)));
        // Positives 0.9 and 0.5, negatives 0.7 and 0.6: t=0.9 gives 2/3 and t=0.5 gives
        // 2·2/(2+4) = 2/3 as well; the higher threshold wins.
        let cells = vec![(0.9, true), (0.7, false), (0.6, false), (0.5, true)];
        let (t, f) = best_cut(cells).unwrap();
        assert_eq!(t, 0.9);
        assert!((f - 2.0 / 3.0).abs() < 1e-12);
        // Tied scores move together.
        let cells = vec![(0.5, true), (0.5, false), (0.2, true)];
        assert_eq!(best_cut(cells).unwrap().0, 0.2);
        assert_eq!(best_cut(vec![(0.3, false)]), None);
    }

    #[test]
    fn per_label_and_global_tuning() {
        let l = labels(&["a", "b", "none"]);
        let gold = LabelMatrix::from_sets(3, &[vec![0], vec![0, 1], vec![1], vec![]]).unwrap();
        let scores = [
            0.9, 0.2, 0.3, //
            0.6, 0.3, 0.1, //
            0.5, 0.25, 0.2, //
            0.1, 0.1, 0.4,
        ];
        let t = tune_thresholds(&gold, &scores, &l, 0.5).unwrap();
        assert_eq!(t.method, "per-label");
        assert_eq!(t.values(), vec![0.6, 0.25, 0.5]);
        assert!(t.labels[0].tuned && t.labels[1].tuned && !t.labels[2].tuned);
        assert_eq!(t.labels[0].f1, 1.0);
        // Tuned thresholds reproduce the gold matrix on these rows.
        assert_eq!(apply_thresholds(&scores, &t.values()).unwrap(), gold);
        assert_eq!(t.micro_f1, Some(1.0));

        let g = tune_global_threshold(&gold, &scores, &l, 0.5).unwrap();
        assert_eq!(g.method, "global");
        let v = g.values();
        assert!(v.iter().all(|&x| x == v[0]));
        // Every candidate cut, checked by brute force: none beats the chosen one.
        let best = g.micro_f1.unwrap();
        for &c in &scores {
            assert!(micro_f1_at(&gold, &scores, &[c; 3]) <= best);
        }
    }

    #[test]
    fn bad_inputs() {
        let l = labels(&["a"]);
        let gold = LabelMatrix::from_sets(1, &[vec![0]]).unwrap();
        assert!(tune_thresholds(&gold, &[0.1, 0.2], &l, 0.5).is_err());
        assert!(tune_thresholds(&gold, &[0.1], &l, f32::NAN).is_err());
        let empty = LabelMatrix::new(1, vec![]).unwrap();
        let e = tune_thresholds(&empty, &[], &l, 0.5).unwrap_err();
        assert!(e.to_string().contains("0 validation rows"), "{e}");
        assert!(apply_thresholds(&[0.1, 0.2, 0.3], &[0.5, 0.5]).is_err());
        assert!(apply_thresholds(&[0.1], &[]).is_err());
        assert!(apply_thresholds(&[f32::INFINITY], &[0.5]).is_err());
        assert!(apply_thresholds(&[0.1], &[f32::NAN]).is_err());
        let fixed = Thresholds::fixed(&labels(&["x", "y"]), 0.5);
        assert_eq!(fixed.values(), vec![0.5, 0.5]);
    }
}
