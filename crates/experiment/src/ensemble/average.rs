//! Averaging the members' outputs in the form of the task and evaluating the average:
//!
//! * Single-label: the class probabilities are averaged; the most probable class wins.
//! * Multi-label: the per-label scores are averaged; the decision thresholds are re-tuned
//!   on the averaged validation scores when every member wrote `valid_predictions.csv`,
//!   else each label gets the members' mean threshold (see [`super::thresholds`]).
//! * Regression: the predicted values are averaged.
//!
//! Each also compares the ensemble with its best member on the same test rows.

use textclf_core::{LabelSet, Outputs, Predictions, Targets, Task};
use textclf_eval::{
    apply_thresholds, compare, compare_multilabel, compare_regression, evaluate_regression,
    tune_thresholds, EvalOptions, LabelMatrix, RunRecord, TestReport, Thresholds,
};

use super::members::{gold_ids, gold_sets, gold_values, headline, predicted_sets, Member};
use super::select::{mix, mse};
use super::thresholds::mean_member_thresholds;
use crate::error::Result;
use crate::evaluate::evaluate_outputs;

/// The members' outputs and how they are averaged.
pub(crate) struct Ensemble<'a> {
    pub runs: &'a [RunRecord],
    pub test: &'a [Member],
    pub valid: Option<&'a [Member]>,
    pub weights: &'a [f64],
    pub labels: &'a LabelSet,
    /// How the test average is evaluated (validation: the same without bootstrap).
    pub opts: &'a EvalOptions,
}

/// One split's averaged outputs, its gold answers and their evaluation.
pub(crate) struct Split {
    pub gold: Targets,
    pub outputs: Outputs,
    pub report: TestReport,
}

impl Split {
    fn evaluated(
        gold: Targets,
        outputs: Outputs,
        labels: &LabelSet,
        opts: &EvalOptions,
    ) -> Result<Split> {
        let report = evaluate_outputs(&gold, &outputs, labels, opts)?;
        Ok(Split {
            gold,
            outputs,
            report,
        })
    }
}

/// The averaged test (and validation) outputs, the thresholds of a multi-label ensemble
/// (with how they were chosen), and how the ensemble compares with its best member.
pub(crate) struct Averaged {
    pub test: Split,
    pub valid: Option<Split>,
    pub thresholds: Option<(Thresholds, String)>,
    /// The best member's index.
    pub best: usize,
    pub verdict: String,
}

fn argmax_by<T>(items: &[T], score: impl Fn(&T) -> f64) -> usize {
    (0..items.len())
        .max_by(|&i, &j| score(&items[i]).total_cmp(&score(&items[j])))
        .unwrap_or(0)
}

fn as64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn as32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

impl Ensemble<'_> {
    /// Averages and evaluates the members of a `task` ensemble.
    pub fn average(&self, task: Task) -> Result<Averaged> {
        match task {
            Task::SingleLabel => self.single_label(),
            Task::MultiLabel => self.multi_label(),
            Task::Regression => self.regression(),
        }
    }

    fn no_bootstrap(&self) -> EvalOptions {
        EvalOptions {
            bootstrap: 0,
            ..*self.opts
        }
    }

    fn single_label(&self) -> Result<Averaged> {
        let (labels, k) = (self.labels, self.labels.len());
        let gold = gold_ids(&self.test[0], labels, "test")?;
        let probs = Predictions::new(k, mix(self.test, self.weights))?;
        // How the ensemble compares with its best member, on the same rows.
        let member_preds: Vec<Vec<usize>> = self
            .test
            .iter()
            .map(|mm| Predictions::new(k, mm.probs.clone()).map(|p| p.argmax()))
            .collect::<std::result::Result<_, _>>()?;
        let best = argmax_by(&member_preds, |p| {
            p.iter().zip(&gold).filter(|(a, b)| a == b).count() as f64
        });
        let cmp = compare(&gold, &member_preds[best], &probs.argmax(), k, self.opts)?;
        let test = Split::evaluated(
            Targets::Classes(gold),
            Outputs::Classes(probs),
            labels,
            self.opts,
        )?;
        let valid = match self.valid {
            Some(v) => Some(Split::evaluated(
                Targets::Classes(gold_ids(&v[0], labels, "validation")?),
                Outputs::Classes(Predictions::new(k, mix(v, self.weights))?),
                labels,
                &self.no_bootstrap(),
            )?),
            None => None,
        };
        Ok(Averaged {
            test,
            valid,
            thresholds: None,
            best,
            verdict: cmp.verdict,
        })
    }

    fn multi_label(&self) -> Result<Averaged> {
        let labels = self.labels;
        let gold = gold_sets(&self.test[0], labels, "test")?;
        let scores = mix(self.test, self.weights);
        let valid_mix = match self.valid {
            Some(v) => Some((
                gold_sets(&v[0], labels, "validation")?,
                mix(v, self.weights),
            )),
            None => None,
        };
        let (thresholds, chosen) = match &valid_mix {
            Some((g, s)) => (
                tune_thresholds(g, s, labels, 0.5)?,
                "tuned on the averaged validation scores (per label, best F1)".to_string(),
            ),
            None => mean_member_thresholds(self.runs, self.test, labels, self.weights)?,
        };
        let cut = thresholds.values();
        let pred = apply_thresholds(&scores, &cut)?;
        let member_preds: Vec<LabelMatrix> = self
            .test
            .iter()
            .map(|mm| predicted_sets(mm, labels))
            .collect::<Result<_>>()?;
        let best = argmax_by(self.runs, |r| headline(r).1.unwrap_or(f64::NEG_INFINITY));
        let cmp = compare_multilabel(&gold, &member_preds[best], &pred, self.opts)?;
        let test = Split::evaluated(
            Targets::LabelSets(gold.to_sets()),
            Outputs::LabelSets {
                scores,
                predicted: pred.to_sets(),
            },
            labels,
            self.opts,
        )?;
        let valid = match valid_mix {
            Some((g, s)) => {
                let predicted = apply_thresholds(&s, &cut)?.to_sets();
                Some(Split::evaluated(
                    Targets::LabelSets(g.to_sets()),
                    Outputs::LabelSets {
                        scores: s,
                        predicted,
                    },
                    labels,
                    &self.no_bootstrap(),
                )?)
            }
            None => None,
        };
        Ok(Averaged {
            test,
            valid,
            thresholds: Some((thresholds, chosen)),
            best,
            verdict: cmp.verdict,
        })
    }

    /// Evaluated against the gold values as the members' files give them (read as f64,
    /// not narrowed to f32 first); written with the f32 values of a predictions file.
    fn regression(&self) -> Result<Averaged> {
        let gold = gold_values(&self.test[0], "test")?;
        let avg = mix(self.test, self.weights);
        let report = evaluate_regression(&gold, &as64(&avg), self.opts)?;
        // The best member by test MSE (defined even for constant predictions).
        let best = argmax_by(self.test, |mm| -mse(&mm.probs, &gold));
        let cmp = compare_regression(&gold, &as64(&self.test[best].probs), &as64(&avg), self.opts)?;
        let test = Split {
            gold: Targets::Scores(as32(&gold)),
            outputs: Outputs::Values(avg),
            report: report.into(),
        };
        let valid = match self.valid {
            Some(v) => {
                let g = gold_values(&v[0], "validation")?;
                let vp = mix(v, self.weights);
                let report = evaluate_regression(&g, &as64(&vp), &self.no_bootstrap())?;
                Some(Split {
                    gold: Targets::Scores(as32(&g)),
                    outputs: Outputs::Values(vp),
                    report: report.into(),
                })
            }
            None => None,
        };
        Ok(Averaged {
            test,
            valid,
            thresholds: None,
            best,
            verdict: cmp.verdict,
        })
    }
}
