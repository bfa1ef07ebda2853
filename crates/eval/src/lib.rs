//! Evaluation shared by every textclf model — linear baselines and fine-tuned
//! transformers are measured by exactly the same code.
//!
//! * [`evaluate`] turns gold class ids and a probability matrix into a [`Report`]:
//!   accuracy, macro/weighted (and, for two classes, binary) F1, log loss, per-class
//!   precision/recall/F1, the confusion matrix, the largest confusions and
//!   percentile-bootstrap confidence intervals for accuracy and macro F1.
//! * [`compare`] compares two models on the same test rows: the differences with
//!   paired-bootstrap intervals and McNemar's test, summed up in a one-sentence verdict.
//! * [`render_report`] / [`render_comparison`] format both for the terminal.
//! * The other problem shapes (issue 18), each checked against scikit-learn/scipy by
//!   `tests/shape_metrics.rs`:
//!   * single-label MCC: [`matthews_corrcoef`], [`evaluate_mcc`] (with its interval) and
//!     [`compare_mcc`];
//!   * multi-label: [`evaluate_multilabel`] on a [`LabelMatrix`] of gold and predicted
//!     label sets gives a [`MultiLabelReport`] (micro/macro/weighted/samples P/R/F1,
//!     subset accuracy, Hamming loss, per-label metrics, ROC-AUC, intervals of micro and
//!     macro F1); [`tune_thresholds`] / [`tune_global_threshold`] choose decision
//!     thresholds on validation rows and [`apply_thresholds`] applies them;
//!     [`compare_multilabel`] compares two models, McNemar on exact matches included;
//!   * regression: [`evaluate_regression`] gives a [`RegressionReport`] (Pearson,
//!     Spearman, MSE, MAE, R², intervals of both correlations) and
//!     [`compare_regression`] compares two models;
//!   * [`render_multilabel_report`], [`render_regression_report`], [`render_mcc`] and the
//!     matching comparison renderers format them for the terminal.
//! * [`Metrics`] (`metrics.json` with the test [`Report`]), [`write_predictions`],
//!   [`load_run`] and [`align_runs`] write and read the run folders every run produces,
//!   so runs can be compared later; the files' formats are `textclf-runs`'. A run of any
//!   task reads back ([`RunRecord::task`]); [`compare_runs`] compares two runs of the same
//!   task by its measures ([`RunComparison`]) and refuses runs of different tasks, rows or
//!   labels, saying what differs.
//!
//! ```
//! use textclf_core::{LabelSet, Predictions};
//! use textclf_eval::{evaluate, render_report, EvalOptions};
//!
//! let labels = LabelSet::new(vec!["neg".into(), "pos".into()]).unwrap();
//! let probs = Predictions::new(2, vec![0.9, 0.1, 0.3, 0.7, 0.6, 0.4, 0.2, 0.8]).unwrap();
//! let gold = [0, 1, 1, 1];
//! let report = evaluate(&gold, &probs, &labels, &EvalOptions::default()).unwrap();
//! assert_eq!(report.accuracy, 0.75);
//! assert_eq!(report.per_class[1].recall, 2.0 / 3.0);
//! assert!(report.ci.accuracy[0] <= 0.75 && 0.75 <= report.ci.accuracy[1]);
//! println!("{}", render_report(&report, "example", None));
//! ```

mod align;
mod bootstrap;
mod cells;
mod compare;
mod error;
mod label_matrix;
mod mcc;
mod metrics;
mod multilabel;
mod options;
mod paired;
mod rank;
mod record;
mod regression;
mod render;
mod render_shapes;
mod run_comparison;
mod test_report;
mod thresholds;

pub use align::{
    align_runs, check_same_labels, check_same_task, label_set_ids, multilabel_gold,
    multilabel_gold_rows, value_of, AlignedRuns,
};
pub use bootstrap::MetricDiff;
pub use compare::{compare, mcnemar, Comparison, McNemar, EXACT_BELOW};
pub use error::EvalError;
pub use label_matrix::LabelMatrix;
pub use mcc::{evaluate_mcc, matthews_corrcoef, Mcc};
pub use metrics::{
    evaluate, ClassMetrics, ConfidenceIntervals, Confusion, ConfusionLine, Report, LOG_LOSS_EPS,
    TOP_CONFUSIONS,
};
pub use multilabel::{
    evaluate_multilabel, Averaged, LabelMetrics, MultiLabelIntervals, MultiLabelReport, RocAuc,
};
pub use options::EvalOptions;
pub use paired::{
    compare_mcc, compare_multilabel, compare_regression, MultiLabelComparison, RegressionComparison,
};
pub use record::{
    load_run, read_predictions, write_multilabel_predictions, write_predictions,
    write_predictions_file, write_regression_predictions, Metrics, PredictionRow, RunRecord,
    ShapedMetrics, Timing, LABEL_JOIN, METRICS_FILE, METRICS_FORMAT, PREDICTIONS_FILE,
    VALID_PREDICTIONS_FILE,
};
pub use regression::{evaluate_regression, RegressionIntervals, RegressionReport};
pub use render::{render_comparison, render_report, render_timing};
pub use render_shapes::{
    render_mcc, render_mcc_comparison, render_multilabel_comparison, render_multilabel_report,
    render_regression_comparison, render_regression_report,
};
pub use run_comparison::{compare_aligned, compare_runs, RunComparison};
pub use test_report::{TestReport, TASK_KEY};
pub use thresholds::{
    apply_thresholds, tune_global_threshold, tune_thresholds, LabelThreshold, Thresholds,
};
