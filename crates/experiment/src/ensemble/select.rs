//! The members' weights: equal, given, or chosen on the validation predictions by greedy
//! forward selection with replacement (Caruana et al., "Ensemble selection from
//! libraries of models", ICML 2004), minimising the task's validation loss (log loss,
//! binary cross-entropy over the label cells, mean squared error) — never on the test set.

use textclf_core::{LabelSet, Task};
use textclf_eval::{LabelMatrix, LOG_LOSS_EPS, VALID_PREDICTIONS_FILE};

use super::members::{gold_ids, gold_sets, gold_values, Member};
use super::spec::EnsembleWeights;
use crate::error::{ExperimentError, Result};

/// The weighted average of the members' outputs, cell by cell.
pub(crate) fn mix(members: &[Member], weights: &[f64]) -> Vec<f32> {
    let n = members[0].probs.len();
    let mut out = vec![0f32; n];
    for (m, &w) in members.iter().zip(weights) {
        for (o, p) in out.iter_mut().zip(&m.probs) {
            *o += (w as f32) * p;
        }
    }
    out
}

fn log_loss(probs: &[f32], k: usize, gold: &[usize]) -> f64 {
    gold.iter()
        .enumerate()
        .map(|(i, &g)| -(probs[i * k + g] as f64).max(LOG_LOSS_EPS).ln())
        .sum::<f64>()
        / gold.len().max(1) as f64
}

/// Mean binary cross-entropy over every (row, label) cell.
fn bce(scores: &[f32], gold: &LabelMatrix) -> f64 {
    let eps = LOG_LOSS_EPS;
    let cells = gold.as_slice();
    scores
        .iter()
        .zip(cells)
        .map(|(&s, &y)| {
            let p = f64::from(s).clamp(eps, 1.0 - eps);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / cells.len().max(1) as f64
}

/// Mean squared error of predicted values.
pub(crate) fn mse(pred: &[f32], gold: &[f64]) -> f64 {
    pred.iter()
        .zip(gold)
        .map(|(&p, g)| (f64::from(p) - g).powi(2))
        .sum::<f64>()
        / gold.len().max(1) as f64
}

/// Greedy forward selection with replacement, minimising `loss` of the average; returns
/// weights (selection counts / rounds) and the loss reached. `members` is not empty.
fn select_weights(
    members: &[Member],
    rounds: usize,
    loss: impl Fn(&[f32]) -> f64,
) -> (Vec<f64>, f64) {
    let m = members.len();
    let n = members[0].probs.len();
    let mut counts = vec![0usize; m];
    let mut sum = vec![0f64; n];
    let mut best_loss = f64::INFINITY;
    for round in 1..=rounds {
        let mut choice: Option<(usize, f64)> = None;
        for (j, mem) in members.iter().enumerate() {
            let avg: Vec<f32> = sum
                .iter()
                .zip(&mem.probs)
                .map(|(s, &p)| ((s + p as f64) / round as f64) as f32)
                .collect();
            let l = loss(&avg);
            if choice.is_none_or(|(_, bl)| l < bl) {
                choice = Some((j, l));
            }
        }
        let Some((j, l)) = choice else { break };
        counts[j] += 1;
        for (s, &p) in sum.iter_mut().zip(&members[j].probs) {
            *s += p as f64;
        }
        best_loss = l;
    }
    let total: usize = counts.iter().sum::<usize>().max(1);
    (
        counts.iter().map(|&c| c as f64 / total as f64).collect(),
        best_loss,
    )
}

/// The validation gold answers, scoring an averaged output by the task's loss.
enum ValidGold {
    Classes(Vec<usize>, usize),
    Sets(LabelMatrix),
    Values(Vec<f64>),
}

impl ValidGold {
    fn of(task: Task, valid: &[Member], labels: &LabelSet) -> Result<ValidGold> {
        let what = "validation";
        Ok(match task {
            Task::SingleLabel => {
                ValidGold::Classes(gold_ids(&valid[0], labels, what)?, labels.len())
            }
            Task::MultiLabel => ValidGold::Sets(gold_sets(&valid[0], labels, what)?),
            Task::Regression => ValidGold::Values(gold_values(&valid[0], what)?),
        })
    }

    fn loss(&self, avg: &[f32]) -> f64 {
        match self {
            ValidGold::Classes(g, k) => log_loss(avg, *k, g),
            ValidGold::Sets(g) => bce(avg, g),
            ValidGold::Values(g) => mse(avg, g),
        }
    }

    fn loss_name(&self) -> &'static str {
        match self {
            ValidGold::Classes(..) => "log loss",
            ValidGold::Sets(_) => "binary cross-entropy",
            ValidGold::Values(_) => "MSE",
        }
    }
}

/// Given weights, checked (one non-negative number per member, a positive sum) and
/// normalised to sum 1.
fn given_weights(w: &[f64], m: usize) -> Result<Vec<f64>> {
    if w.len() != m {
        return Err(ExperimentError::Invalid(format!(
            "--weights gives {} numbers for {m} runs",
            w.len()
        )));
    }
    if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
        return Err(ExperimentError::Invalid(
            "--weights must be non-negative with a positive sum".into(),
        ));
    }
    let s: f64 = w.iter().sum();
    Ok(w.iter().map(|x| x / s).collect())
}

/// The weights of `m` members as `how` asks, and how they were chosen (for the record).
/// `valid` are the members' validation rows, when every member has them.
pub(crate) fn choose_weights(
    how: &EnsembleWeights,
    m: usize,
    task: Task,
    valid: Option<&[Member]>,
    labels: &LabelSet,
) -> Result<(Vec<f64>, String)> {
    Ok(match how {
        EnsembleWeights::Equal => (vec![1.0 / m as f64; m], "equal".to_string()),
        EnsembleWeights::Val => {
            let Some(v) = valid else {
                return Err(ExperimentError::Invalid(format!(
                    "--weights val needs {VALID_PREDICTIONS_FILE} in every run (runs made by textclf train/baseline with a validation split write it); use --weights equal or explicit numbers"
                )));
            };
            let g = ValidGold::of(task, v, labels)?;
            let (w, loss) = select_weights(v, 10 * m, |avg| g.loss(avg));
            (
                w,
                format!(
                    "chosen on validation (greedy forward selection, validation {} {loss:.4})",
                    g.loss_name()
                ),
            )
        }
        EnsembleWeights::Explicit(w) => (given_weights(w, m)?, "given".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::members::member;

    #[test]
    fn greedy_selection_prefers_the_better_member() {
        // Member 0 is right and confident on every row; member 1 is always wrong.
        let good = member(vec![0.9, 0.1, 0.1, 0.9, 0.8, 0.2], 2);
        let bad = member(vec![0.2, 0.8, 0.7, 0.3, 0.4, 0.6], 2);
        let gold = [0, 1, 0];
        let (w, loss) = select_weights(&[good, bad], 10, |avg| log_loss(avg, 2, &gold));
        assert_eq!(w, vec![1.0, 0.0]);
        assert!(loss < 0.2, "{loss}");
    }

    #[test]
    fn mixing_averages_with_weights() {
        let a = member(vec![1.0, 0.0], 2);
        let b = member(vec![0.0, 1.0], 2);
        let p = mix(&[a, b], &[0.25, 0.75]);
        assert_eq!(p, vec![0.25, 0.75]);
    }

    #[test]
    fn validation_losses_of_each_task() {
        let g = LabelMatrix::from_sets(2, &[vec![0], vec![]]).unwrap();
        let perfect = bce(&[1.0, 0.0, 0.0, 0.0], &g);
        let wrong = bce(&[0.0, 1.0, 1.0, 1.0], &g);
        assert!(perfect < 1e-6 && wrong > 5.0, "{perfect} {wrong}");
        assert_eq!(mse(&[1.0, 3.0], &[2.0, 3.0]), 0.5);
    }

    #[test]
    fn given_weights_are_checked_and_normalised() {
        assert_eq!(given_weights(&[3.0, 1.0], 2).unwrap(), vec![0.75, 0.25]);
        let e = given_weights(&[1.0], 2).unwrap_err().to_string();
        assert!(e.contains("1 numbers for 2 runs"), "{e}");
        for bad in [[-1.0, 2.0], [0.0, 0.0], [f64::NAN, 1.0]] {
            let e = given_weights(&bad, 2).unwrap_err().to_string();
            assert!(e.contains("non-negative with a positive sum"), "{e}");
        }
    }
}
