//! The paired comparison of two runs of any task: [`compare_runs`] lines them up
//! ([`crate::align_runs`]) and applies the task's comparison: accuracy, macro F1 and
//! McNemar plus MCC (single-label), micro/macro F1, subset accuracy and McNemar on exact
//! matches (multi-label), Pearson, Spearman and MSE (regression).

use serde_json::Value;
use textclf_core::Task;

use crate::align::AlignedRuns;
use crate::bootstrap::MetricDiff;
use crate::record::RunRecord;
use crate::{
    align_runs, compare, compare_mcc, compare_multilabel, compare_regression, render_comparison,
    render_mcc_comparison, render_multilabel_comparison, render_regression_comparison, Comparison,
    EvalError, EvalOptions, MultiLabelComparison, RegressionComparison, TASK_KEY,
};

/// Two runs compared on the same rows, by their task's measures. Differences are B − A.
#[derive(Clone, Debug)]
pub enum RunComparison {
    SingleLabel {
        comparison: Comparison,
        /// MCC of both runs and B − A.
        mcc: MetricDiff,
    },
    MultiLabel(MultiLabelComparison),
    Regression(RegressionComparison),
}

/// Compares two runs of the same task on the same rows (refused, saying what differs,
/// when the task, the rows or the labels differ).
pub fn compare_runs(
    a: &RunRecord,
    b: &RunRecord,
    opts: &EvalOptions,
) -> Result<RunComparison, EvalError> {
    compare_aligned(&align_runs(a, b)?, opts)
}

/// The task's comparison of two runs already lined up.
pub fn compare_aligned(
    aligned: &AlignedRuns,
    opts: &EvalOptions,
) -> Result<RunComparison, EvalError> {
    Ok(match aligned {
        AlignedRuns::SingleLabel { gold, a, b, labels } => RunComparison::SingleLabel {
            comparison: compare(gold, a, b, labels.len(), opts)?,
            mcc: compare_mcc(gold, a, b, labels.len(), opts)?,
        },
        AlignedRuns::MultiLabel { gold, a, b, .. } => {
            RunComparison::MultiLabel(compare_multilabel(gold, a, b, opts)?)
        }
        AlignedRuns::Regression { gold, a, b } => {
            RunComparison::Regression(compare_regression(gold, a, b, opts)?)
        }
    })
}

impl RunComparison {
    /// The task of the two runs.
    pub fn task(&self) -> Task {
        match self {
            RunComparison::SingleLabel { .. } => Task::SingleLabel,
            RunComparison::MultiLabel(_) => Task::MultiLabel,
            RunComparison::Regression(_) => Task::Regression,
        }
    }

    /// The name of the headline measure: accuracy, micro F1 or Pearson r.
    pub fn headline(&self) -> &'static str {
        match self {
            RunComparison::SingleLabel { .. } => "accuracy",
            RunComparison::MultiLabel(_) => "micro F1",
            RunComparison::Regression(_) => "Pearson r",
        }
    }

    /// B − A of the headline measure (`None` when it is undefined for a run).
    pub fn headline_diff(&self) -> Option<f64> {
        match self {
            RunComparison::SingleLabel { comparison, .. } => Some(comparison.diff),
            RunComparison::MultiLabel(c) => c.micro_f1.diff,
            RunComparison::Regression(c) => c.pearson.diff,
        }
    }

    /// The paired-bootstrap interval of [`Self::headline_diff`].
    pub fn headline_ci(&self) -> Option<[f64; 2]> {
        match self {
            RunComparison::SingleLabel { comparison, .. } => Some(comparison.diff_ci),
            RunComparison::MultiLabel(c) => c.micro_f1.diff_ci,
            RunComparison::Regression(c) => c.pearson.diff_ci,
        }
    }

    /// McNemar's p-value (on exact matches for multi-label); `None` for a regression,
    /// which has no right/wrong rows.
    pub fn mcnemar_p(&self) -> Option<f64> {
        match self {
            RunComparison::SingleLabel { comparison, .. } => Some(comparison.mcnemar.p_value),
            RunComparison::MultiLabel(c) => Some(c.mcnemar.p_value),
            RunComparison::Regression(_) => None,
        }
    }

    /// The one-sentence verdict.
    pub fn verdict(&self) -> &str {
        match self {
            RunComparison::SingleLabel { comparison, .. } => &comparison.verdict,
            RunComparison::MultiLabel(c) => &c.verdict,
            RunComparison::Regression(c) => &c.verdict,
        }
    }

    /// For the terminal: the task's comparison table; single-label adds the MCC row
    /// under macro F1.
    pub fn render(&self, name_a: &str, name_b: &str) -> String {
        match self {
            RunComparison::SingleLabel { comparison, mcc } => {
                let text = render_comparison(comparison, name_a, name_b);
                let row = render_mcc_comparison(mcc, name_a, name_b);
                let mut out = String::with_capacity(text.len() + row.len());
                let mut placed = false;
                for line in text.lines() {
                    out.push_str(line);
                    out.push('\n');
                    if !placed && line.starts_with("macro F1") {
                        out.push_str(&row);
                        placed = true;
                    }
                }
                out
            }
            RunComparison::MultiLabel(c) => render_multilabel_comparison(c, name_a, name_b),
            RunComparison::Regression(c) => render_regression_comparison(c, name_a, name_b),
        }
    }

    /// As JSON: single-label, the comparison's fields as before plus `mcc`; the other
    /// tasks, their comparison's fields with `task` beside them.
    pub fn to_json(&self) -> Result<Value, EvalError> {
        let json = |v: Result<Value, serde_json::Error>| {
            v.map_err(|e| EvalError::Invalid(format!("cannot write the comparison as JSON: {e}")))
        };
        let (mut v, extra) = match self {
            RunComparison::SingleLabel { comparison, mcc } => (
                json(serde_json::to_value(comparison))?,
                ("mcc", json(serde_json::to_value(mcc))?),
            ),
            RunComparison::MultiLabel(c) => (
                json(serde_json::to_value(c))?,
                (TASK_KEY, Value::from(Task::MultiLabel.name())),
            ),
            RunComparison::Regression(c) => (
                json(serde_json::to_value(c))?,
                (TASK_KEY, Value::from(Task::Regression.name())),
            ),
        };
        if let Value::Object(m) = &mut v {
            m.insert(extra.0.to_string(), extra.1);
        }
        Ok(v)
    }
}
