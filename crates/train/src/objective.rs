//! What the model learns, by task: the targets of a batch, its loss, and the figures a
//! validation reports.
//!
//! | task | head | training loss | validation figures |
//! |---|---|---|---|
//! | single-label | one logit per class | cross-entropy (class-weighted with `class_weights`) | loss, accuracy, macro-F1 |
//! | multi-label | one logit per label | BCE-with-logits, mean over every row × label (`class_weights` are per-label positive weights, torch's `pos_weight`) | loss (unweighted BCE), subset accuracy, macro-F1 and micro-F1 with every label at threshold 0.5 |
//! | regression | one output | mean squared error | loss (MSE), Pearson correlation |
//!
//! The task's *score* ([`crate::Monitor::ValScore`]) is accuracy, micro-F1 or Pearson.

use candle_core::Tensor;
use textclf_core::{Dataset, LabelSet, Targets, Task};
use textclf_models::{bce_with_logits, cross_entropy, mse_loss};

use crate::{Result, TrainError};

/// The gold answers of one batch, in the form the loss takes.
pub(crate) enum BatchTargets {
    Classes(Vec<u32>),
    /// Row-major 0/1, `rows × labels`.
    LabelSets(Vec<f32>),
    Scores(Vec<f32>),
}

/// The training targets with the loss weights.
pub(crate) struct Objective<'a> {
    pub targets: &'a Targets,
    /// Number of model outputs.
    pub k: usize,
    /// Class weights (single-label) or positive weights (multi-label).
    pub weights: Option<&'a [f32]>,
}

impl Objective<'_> {
    /// The targets of the rows `idx`.
    pub fn batch(&self, idx: &[usize]) -> BatchTargets {
        match self.targets {
            Targets::Classes(v) => {
                BatchTargets::Classes(idx.iter().map(|&i| v[i] as u32).collect())
            }
            Targets::LabelSets(v) => {
                let mut y = vec![0f32; idx.len() * self.k];
                for (r, &i) in idx.iter().enumerate() {
                    for &l in &v[i] {
                        y[r * self.k + l] = 1.0;
                    }
                }
                BatchTargets::LabelSets(y)
            }
            Targets::Scores(v) => BatchTargets::Scores(idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// The batch's mean loss.
    pub fn loss(&self, logits: &Tensor, y: &BatchTargets) -> Result<Tensor> {
        Ok(match y {
            BatchTargets::Classes(y) => cross_entropy(logits, y, self.weights)?,
            BatchTargets::LabelSets(y) => bce_with_logits(logits, y, self.weights)?,
            BatchTargets::Scores(y) => mse_loss(logits, y)?,
        })
    }

    /// Rows predicted right: the argmax is the gold class (single-label), every label's
    /// logit is ≥ 0 exactly where the label applies (multi-label); 0 for regression.
    pub fn correct(&self, logits: &Tensor, y: &BatchTargets) -> Result<usize> {
        Ok(match y {
            BatchTargets::Classes(y) => {
                let preds = logits.argmax(1)?.to_vec1::<u32>()?;
                preds.iter().zip(y).filter(|(a, b)| a == b).count()
            }
            BatchTargets::LabelSets(y) => {
                let z: Vec<f32> = logits.flatten_all()?.to_vec1()?;
                z.chunks(self.k)
                    .zip(y.chunks(self.k))
                    .filter(|(z, y)| z.iter().zip(*y).all(|(z, y)| (*z >= 0.0) == (*y > 0.5)))
                    .count()
            }
            BatchTargets::Scores(_) => 0,
        })
    }
}

/// What one validation measured. Figures that do not apply to the task are NaN (loss,
/// accuracy, macro-F1) or `None` (micro-F1, Pearson).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValFigures {
    pub loss: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub micro_f1: Option<f64>,
    pub pearson: Option<f64>,
}

impl ValFigures {
    pub const NONE: ValFigures = ValFigures {
        loss: f64::NAN,
        accuracy: f64::NAN,
        macro_f1: f64::NAN,
        micro_f1: None,
        pearson: None,
    };

    /// The task's score: Pearson (regression), micro-F1 (multi-label), else accuracy.
    pub fn score(&self) -> f64 {
        self.pearson.or(self.micro_f1).unwrap_or(self.accuracy)
    }
}

/// `log(1 + exp(x))` in f64, stable.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Multi-label figures of `logits` (`n × k`, row-major) against the label sets: mean BCE
/// over every element, subset accuracy, and macro- and micro-F1 with each label predicted
/// when its probability is ≥ 0.5 (logit ≥ 0). A label with no gold and no predicted row
/// has F1 0 in the macro average, as scikit-learn's `zero_division=0`.
pub(crate) fn multi_label_figures(logits: &[f32], sets: &[Vec<usize>], k: usize) -> ValFigures {
    let n = sets.len();
    let (mut tp, mut fp, mut fnn) = (vec![0u64; k], vec![0u64; k], vec![0u64; k]);
    let (mut loss, mut exact) = (0f64, 0usize);
    for (i, set) in sets.iter().enumerate() {
        let row = &logits[i * k..(i + 1) * k];
        let mut all = true;
        for (c, &z) in row.iter().enumerate() {
            let gold = set.contains(&c);
            let pred = z >= 0.0;
            let z = z as f64;
            loss += if gold { softplus(-z) } else { softplus(z) };
            match (gold, pred) {
                (true, true) => tp[c] += 1,
                (false, true) => fp[c] += 1,
                (true, false) => fnn[c] += 1,
                _ => {}
            }
            all &= gold == pred;
        }
        exact += usize::from(all);
    }
    let f1 = |tp: u64, fp: u64, fnn: u64| {
        let d = 2 * tp + fp + fnn;
        if d == 0 {
            0.0
        } else {
            2.0 * tp as f64 / d as f64
        }
    };
    let macro_f1 = (0..k).map(|c| f1(tp[c], fp[c], fnn[c])).sum::<f64>() / k.max(1) as f64;
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    ValFigures {
        loss: loss / (n * k).max(1) as f64,
        accuracy: exact as f64 / n.max(1) as f64,
        macro_f1,
        micro_f1: Some(f1(sum(&tp), sum(&fp), sum(&fnn))),
        pearson: None,
    }
}

/// Regression figures of one-output `predictions` against `gold`: MSE and Pearson's r
/// (NaN when either side is constant).
pub(crate) fn regression_figures(predictions: &[f32], gold: &[f32]) -> ValFigures {
    let n = gold.len().max(1) as f64;
    let mse = predictions
        .iter()
        .zip(gold)
        .map(|(p, g)| (*p as f64 - *g as f64).powi(2))
        .sum::<f64>()
        / n;
    let mp = predictions.iter().map(|&p| p as f64).sum::<f64>() / n;
    let mg = gold.iter().map(|&g| g as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0f64, 0f64, 0f64);
    for (p, g) in predictions.iter().zip(gold) {
        let (dx, dy) = (*p as f64 - mp, *g as f64 - mg);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let r = sxy / (sxx * syy).sqrt();
    ValFigures {
        loss: mse,
        accuracy: f64::NAN,
        macro_f1: f64::NAN,
        micro_f1: None,
        pearson: Some(if r.is_finite() { r } else { f64::NAN }),
    }
}

/// Per-label positive weights for `--class-weights balanced` on multi-label data, as
/// torch's `BCEWithLogitsLoss(pos_weight=…)` takes them: for each label, the training
/// rows without it over the rows with it. A label that no row carries, or that every row
/// carries, gets 1 (there is no positive term to weigh, or nothing to balance).
pub fn balanced_pos_weights(train: &Dataset) -> Result<Vec<f32>> {
    let Targets::LabelSets(sets) = &train.targets else {
        return Err(TrainError::Data(format!(
            "{}: positive weights are for multi-label data; this data is {}",
            train.name,
            train.task()
        )));
    };
    let n = sets.len();
    Ok(train
        .class_counts()
        .iter()
        .map(|&pos| {
            if pos == 0 || pos == n {
                1.0
            } else {
                (n - pos) as f32 / pos as f32
            }
        })
        .collect())
}

/// Number of model outputs the task needs for `labels`: one per class or label, one for
/// regression.
pub fn outputs_for(task: Task, labels: &LabelSet) -> usize {
    match task {
        Task::Regression => 1,
        _ => labels.len(),
    }
}

/// The scores a trained model gives each row, from its logits (`n × k`, row-major):
/// softmax probabilities (single-label), one sigmoid probability per label (multi-label),
/// or the raw predicted value (regression), as transformers' pipelines report them.
pub fn scores_from_logits(task: Task, k: usize, mut logits: Vec<f32>) -> Vec<f32> {
    match task {
        Task::SingleLabel => {
            for row in logits.chunks_mut(k.max(1)) {
                let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut s = 0f32;
                for z in row.iter_mut() {
                    *z = (*z - m).exp();
                    s += *z;
                }
                row.iter_mut().for_each(|z| *z /= s);
            }
            logits
        }
        Task::MultiLabel => logits
            .into_iter()
            .map(|z| 1.0 / (1.0 + (-z).exp()))
            .collect(),
        Task::Regression => logits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_label_figures_by_hand() {
        // 2 rows × 3 labels: row 0 gold {0, 2}, predicted {0}; row 1 gold {}, predicted {}.
        let z = [2.0f32, -1.0, -0.5, -3.0, -2.0, -1.0];
        let f = multi_label_figures(&z, &[vec![0, 2], vec![]], 3);
        assert_eq!(f.accuracy, 0.5);
        // tp 1, fp 0, fn 1 → micro F1 2/3; per label 1, 0, 0 → macro 1/3.
        assert!((f.micro_f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((f.macro_f1 - 1.0 / 3.0).abs() < 1e-12);
        let want: f64 = [
            softplus(-2.0),
            softplus(-1.0),
            softplus(0.5),
            softplus(-3.0),
            softplus(-2.0),
            softplus(-1.0),
        ]
        .iter()
        .sum::<f64>()
            / 6.0;
        assert!((f.loss - want).abs() < 1e-12);
        assert_eq!(f.score(), f.micro_f1.unwrap());
    }

    #[test]
    fn regression_figures_by_hand() {
        let f = regression_figures(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]);
        assert!((f.loss - (1.0 + 4.0 + 12.25) / 3.0).abs() < 1e-9);
        let r = f.pearson.unwrap();
        assert!(r > 0.99 && r < 1.0, "{r}");
        assert_eq!(f.score(), r);
        assert!(regression_figures(&[1.0, 1.0], &[0.0, 2.0])
            .pearson
            .unwrap()
            .is_nan());
    }

    #[test]
    fn scores_follow_the_task() {
        let s = scores_from_logits(Task::SingleLabel, 2, vec![0.0, 0.0, 1.0, 1.0]);
        assert_eq!(s, vec![0.5; 4]);
        let s = scores_from_logits(Task::MultiLabel, 2, vec![0.0, 100.0]);
        assert_eq!(s, vec![0.5, 1.0]);
        assert_eq!(
            scores_from_logits(Task::Regression, 1, vec![-3.5]),
            vec![-3.5]
        );
    }

    #[test]
    fn balanced_positive_weights() {
        let labels = LabelSet::new(vec!["a".into(), "b".into(), "c".into()]).unwrap();
        let d = Dataset::with_targets(
            "t",
            vec!["0".into(), "1".into(), "2".into(), "3".into()],
            vec!["x".into(); 4],
            None,
            Targets::LabelSets(vec![vec![0], vec![0, 1], vec![], vec![]]),
            labels,
        )
        .unwrap();
        assert_eq!(balanced_pos_weights(&d).unwrap(), vec![1.0, 3.0, 1.0]);
    }
}
