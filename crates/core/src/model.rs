//! [`Model`]: the task-aware face of every fitted model — what evaluation, run records,
//! `predict`, ensembles and the Python API see, whichever family made the model and
//! whichever task it was trained for.
//!
//! A model reads [`Inputs`] (single texts, or text pairs) and gives [`Outputs`] in the
//! form of its [`Task`]: class probabilities, per-label scores with the predicted label
//! sets, or predicted values. [`crate::Classifier`] stays as the narrower single-label,
//! single-text interface.

use std::path::Path;

use crate::{Error, LabelSet, Predictions, Result, Task};

/// What a model reads: one text per row, or a pair of texts per row.
#[derive(Debug, Clone, Copy)]
pub enum Inputs<'a> {
    Texts(&'a [&'a str]),
    /// First and second texts of each pair (same length).
    Pairs(&'a [&'a str], &'a [&'a str]),
}

impl Inputs<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Texts(t) | Inputs::Pairs(t, _) => t.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for text pairs.
    pub fn is_pairs(&self) -> bool {
        matches!(self, Inputs::Pairs(..))
    }

    /// "single texts" or "text pairs", for messages.
    pub fn shape(&self) -> &'static str {
        shape_name(self.is_pairs())
    }
}

/// "text pairs" or "single texts".
pub fn shape_name(pairs: bool) -> &'static str {
    if pairs {
        "text pairs"
    } else {
        "single texts"
    }
}

/// What a model predicts for a batch of rows, by task.
#[derive(Debug, Clone, PartialEq)]
pub enum Outputs {
    /// Single-label: row-stochastic class probabilities.
    Classes(Predictions),
    /// Multi-label: each label's score (a probability, row-major `rows × labels`) and the
    /// labels predicted for each row (the score reached the label's threshold), ascending.
    LabelSets {
        scores: Vec<f32>,
        predicted: Vec<Vec<usize>>,
    },
    /// Regression: the predicted value of each row.
    Values(Vec<f32>),
}

impl Outputs {
    /// The task these outputs belong to.
    pub fn task(&self) -> Task {
        match self {
            Outputs::Classes(_) => Task::SingleLabel,
            Outputs::LabelSets { .. } => Task::MultiLabel,
            Outputs::Values(_) => Task::Regression,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Outputs::Classes(p) => p.len(),
            Outputs::LabelSets { predicted, .. } => predicted.len(),
            Outputs::Values(v) => v.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Multi-label outputs from per-label scores and one threshold per label: a label is
    /// predicted where its score is at least its threshold.
    pub fn from_label_scores(scores: Vec<f32>, thresholds: &[f32]) -> Result<Outputs> {
        let k = thresholds.len();
        if k == 0 || !scores.len().is_multiple_of(k) {
            return Err(Error::Invalid(format!(
                "{} scores cannot be split into rows of {k} labels",
                scores.len()
            )));
        }
        let predicted = scores
            .chunks(k)
            .map(|r| {
                r.iter()
                    .zip(thresholds)
                    .enumerate()
                    .filter(|(_, (s, t))| s >= t)
                    .map(|(l, _)| l)
                    .collect()
            })
            .collect();
        Ok(Outputs::LabelSets { scores, predicted })
    }

    /// Appends the rows of `other` (same task and width).
    pub fn extend(&mut self, other: Outputs) -> Result<()> {
        match (self, other) {
            (Outputs::Classes(a), Outputs::Classes(b)) => {
                if a.num_classes() != b.num_classes() {
                    return Err(Error::Invalid(
                        "cannot join class probabilities of different widths".into(),
                    ));
                }
                let mut v = a.as_slice().to_vec();
                v.extend_from_slice(b.as_slice());
                *a = Predictions::new(a.num_classes(), v)?;
            }
            (
                Outputs::LabelSets { scores, predicted },
                Outputs::LabelSets {
                    scores: s,
                    predicted: p,
                },
            ) => {
                scores.extend(s);
                predicted.extend(p);
            }
            (Outputs::Values(a), Outputs::Values(b)) => a.extend(b),
            (a, b) => {
                return Err(Error::Invalid(format!(
                    "cannot join {} outputs to {} outputs",
                    b.task(),
                    a.task()
                )))
            }
        }
        Ok(())
    }
}

/// The interface of every fitted model, of any family and any task.
pub trait Model: Send + Sync {
    /// A short name of the model family, e.g. `"tfidf-lr"`, `"tfidf-ridge-pair"` or `"bert"`.
    fn kind(&self) -> String;

    /// What the model predicts.
    fn task(&self) -> Task;

    /// The classes (single-label) or labels (multi-label) in output column order; for
    /// regression the one target's name.
    fn labels(&self) -> LabelSet;

    /// True when the model reads text pairs, false when it reads single texts.
    fn takes_pairs(&self) -> bool;

    /// Predicts a batch of rows, which must have the shape the model reads
    /// ([`check_inputs`] says so in words).
    fn predict(&self, inputs: Inputs<'_>) -> Result<Outputs>;

    /// Writes the fitted model into `dir` (created if needed) so it can be loaded again.
    fn save(&self, dir: &Path) -> Result<()>;

    /// Multi-label: each label's decision threshold, in label order. `None` otherwise.
    fn thresholds(&self) -> Option<Vec<f32>> {
        None
    }
}

/// Refuses inputs of the other shape than `model` reads, with a message that says which
/// columns to give.
pub fn check_inputs(model: &dyn Model, inputs: &Inputs<'_>) -> Result<()> {
    if model.takes_pairs() == inputs.is_pairs() {
        Ok(())
    } else {
        Err(input_refusal(model, inputs))
    }
}

/// The error for inputs of the shape `model` does not read (see [`check_inputs`]).
pub fn input_refusal(model: &dyn Model, inputs: &Inputs<'_>) -> Error {
    let hint = if model.takes_pairs() {
        "give the second text's column too (--text-pair-col NAME, auto-detected from \
         sentence1/sentence2, premise/hypothesis, question/sentence, text_a/text_b)"
    } else {
        "give one text column (--text-col NAME)"
    };
    Error::Invalid(format!(
        "this {} model was trained on {} but was given {}: {hint}",
        model.kind(),
        shape_name(model.takes_pairs()),
        inputs.shape()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_scores_become_sets_by_threshold_and_outputs_join() {
        let mut o = Outputs::from_label_scores(vec![0.9, 0.1, 0.4, 0.6], &[0.5, 0.6]).unwrap();
        assert_eq!(
            o,
            Outputs::LabelSets {
                scores: vec![0.9, 0.1, 0.4, 0.6],
                predicted: vec![vec![0], vec![1]]
            }
        );
        o.extend(Outputs::from_label_scores(vec![0.0, 0.0], &[0.5, 0.5]).unwrap())
            .unwrap();
        assert_eq!(o.len(), 3);
        assert!(o.extend(Outputs::Values(vec![1.0])).is_err());
        assert!(Outputs::from_label_scores(vec![0.1; 3], &[0.5, 0.5]).is_err());
    }
}
