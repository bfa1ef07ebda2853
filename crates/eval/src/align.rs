//! Lining up the predictions of two runs of the same task on the same rows, for paired
//! comparison ([`crate::compare_runs`], the report's selection, the advisor), and
//! decoding the cells of a predictions file of each task.
//!
//! A predictions file holds, per task (see `textclf-runs`): single-label, one label name
//! in `gold` and `predicted`; multi-label, label sets joined by [`LABEL_JOIN`] (an empty
//! cell is the empty set); regression, numbers.

use textclf_core::{LabelSet, Task};

use crate::record::{PredictionRow, RunRecord, LABEL_JOIN};
use crate::{EvalError, LabelMatrix};

/// Two runs' predictions on the same rows, with the gold answers, in the form their task
/// needs. Label ids follow run A's label order.
#[derive(Clone, Debug, PartialEq)]
pub enum AlignedRuns {
    SingleLabel {
        gold: Vec<usize>,
        a: Vec<usize>,
        b: Vec<usize>,
        labels: LabelSet,
    },
    MultiLabel {
        gold: LabelMatrix,
        a: LabelMatrix,
        b: LabelMatrix,
        labels: LabelSet,
    },
    Regression {
        gold: Vec<f64>,
        a: Vec<f64>,
        b: Vec<f64>,
    },
}

impl AlignedRuns {
    /// The task of both runs.
    pub fn task(&self) -> Task {
        match self {
            AlignedRuns::SingleLabel { .. } => Task::SingleLabel,
            AlignedRuns::MultiLabel { .. } => Task::MultiLabel,
            AlignedRuns::Regression { .. } => Task::Regression,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            AlignedRuns::SingleLabel { gold, .. } => gold.len(),
            AlignedRuns::MultiLabel { gold, .. } => gold.len(),
            AlignedRuns::Regression { gold, .. } => gold.len(),
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The label ids of a multi-label cell (`a|b`, empty for none), or the name that is not
/// a label.
pub fn label_set_ids<'c>(cell: &'c str, labels: &LabelSet) -> Result<Vec<usize>, &'c str> {
    if cell.is_empty() {
        return Ok(Vec::new());
    }
    cell.split(LABEL_JOIN)
        .map(|name| labels.id(name).ok_or(name))
        .collect()
}

/// The number in a regression cell, if it is a finite one.
pub fn value_of(cell: &str) -> Option<f64> {
    cell.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Says how two runs differ in task, if they do.
pub fn check_same_task(a: &RunRecord, b: &RunRecord) -> Result<(), EvalError> {
    if a.task() != b.task() {
        return Err(EvalError::Mismatch(format!(
            "{} is a {} run and {} a {} run; only runs of the same task can be compared or \
             combined",
            a.dir.display(),
            a.task(),
            b.dir.display(),
            b.task()
        )));
    }
    Ok(())
}

/// Says how two classification runs' label sets differ, if they do (order does not
/// matter).
pub fn check_same_labels(a: &RunRecord, b: &RunRecord) -> Result<(), EvalError> {
    let mut sorted_a = a.labels.clone();
    let mut sorted_b = b.labels.clone();
    sorted_a.sort();
    sorted_b.sort();
    if sorted_a != sorted_b {
        let only = |x: &[String], y: &[String]| -> String {
            let v: Vec<&str> = x
                .iter()
                .filter(|l| !y.contains(l))
                .map(String::as_str)
                .collect();
            if v.is_empty() {
                "none".into()
            } else {
                v.join(", ")
            }
        };
        return Err(EvalError::Mismatch(format!(
            "the runs predict different labels: {} has [{}], {} has [{}] (only in the first: \
             {}; only in the second: {})",
            a.dir.display(),
            a.labels.join(", "),
            b.dir.display(),
            b.labels.join(", "),
            only(&a.labels, &b.labels),
            only(&b.labels, &a.labels)
        )));
    }
    Ok(())
}

/// Lines up two runs for a paired comparison: both must be of the same task, list the
/// same row ids in the same order and (classification) the same label names in any
/// order. The gold answers come from run `a` (run `b` must agree where it has them).
///
/// Single-label and regression rows need a gold answer. A multi-label row with an empty
/// gold cell has no gold label (the empty set); a file where every gold cell is empty is
/// taken to have no gold labels at all and refused.
pub fn align_runs(a: &RunRecord, b: &RunRecord) -> Result<AlignedRuns, EvalError> {
    check_same_task(a, b)?;
    if a.task() != Task::Regression {
        check_same_labels(a, b)?;
    }
    let (pa, pb) = (&a.predictions, &b.predictions);
    if pa.len() != pb.len() || pa.iter().zip(pb).any(|(x, y)| x.id != y.id) {
        let differing =
            pa.iter().zip(pb).filter(|(x, y)| x.id != y.id).count() + pa.len().abs_diff(pb.len());
        return Err(EvalError::Mismatch(format!(
            "{} has {} predictions and {} has {}; {differing} row ids differ (or are in a \
             different order). Both runs must be evaluated on the same test set.",
            a.dir.display(),
            pa.len(),
            b.dir.display(),
            pb.len()
        )));
    }
    for (ra, rb) in pa.iter().zip(pb) {
        if let (Some(g), Some(gb)) = (ra.gold.as_deref(), rb.gold.as_deref()) {
            if !same_gold(a.task(), g, gb) {
                return Err(EvalError::Mismatch(format!(
                    "row '{}' has gold label '{g}' in {} but '{gb}' in {}; both runs must be \
                     evaluated on the same test set",
                    ra.id,
                    a.dir.display(),
                    b.dir.display()
                )));
            }
        }
    }
    match a.task() {
        Task::SingleLabel => {
            let labels = LabelSet::new(a.labels.clone())?;
            let gold = pa
                .iter()
                .map(|r| class_id(required_gold(r, a)?, "gold label", r, a, &labels))
                .collect::<Result<_, _>>()?;
            let pred = |run: &RunRecord| -> Result<Vec<usize>, EvalError> {
                run.predictions
                    .iter()
                    .map(|r| class_id(&r.predicted, "predicted label", r, run, &labels))
                    .collect()
            };
            Ok(AlignedRuns::SingleLabel {
                gold,
                a: pred(a)?,
                b: pred(b)?,
                labels,
            })
        }
        Task::MultiLabel => {
            let labels = LabelSet::new(a.labels.clone())?;
            let gold = multilabel_gold(a, &labels)?;
            Ok(AlignedRuns::MultiLabel {
                gold,
                a: multilabel_predicted(a, &labels)?,
                b: multilabel_predicted(b, &labels)?,
                labels,
            })
        }
        Task::Regression => {
            let gold = pa
                .iter()
                .map(|r| number(required_gold(r, a)?, "gold value", r, a))
                .collect::<Result<_, _>>()?;
            let pred = |run: &RunRecord| -> Result<Vec<f64>, EvalError> {
                run.predictions
                    .iter()
                    .map(|r| number(&r.predicted, "predicted value", r, run))
                    .collect()
            };
            Ok(AlignedRuns::Regression {
                gold,
                a: pred(a)?,
                b: pred(b)?,
            })
        }
    }
}

/// Whether two gold cells say the same: multi-label sets in any order, regression values
/// to the file's precision.
fn same_gold(task: Task, x: &str, y: &str) -> bool {
    match task {
        Task::SingleLabel => x == y,
        Task::MultiLabel => {
            let mut sx: Vec<&str> = x.split(LABEL_JOIN).collect();
            let mut sy: Vec<&str> = y.split(LABEL_JOIN).collect();
            sx.sort_unstable();
            sy.sort_unstable();
            sx == sy
        }
        Task::Regression => match (value_of(x), value_of(y)) {
            (Some(u), Some(v)) => (u - v).abs() <= 1e-6 * u.abs().max(v.abs()).max(1.0),
            _ => x == y,
        },
    }
}

fn required_gold<'r>(row: &'r PredictionRow, run: &RunRecord) -> Result<&'r str, EvalError> {
    row.gold.as_deref().ok_or_else(|| {
        EvalError::Mismatch(format!(
            "{}: row '{}' has no gold label; runs can only be compared on a labelled test set",
            run.dir.display(),
            row.id
        ))
    })
}

fn class_id(
    name: &str,
    what: &str,
    row: &PredictionRow,
    run: &RunRecord,
    labels: &LabelSet,
) -> Result<usize, EvalError> {
    labels.id(name).ok_or_else(|| {
        EvalError::Mismatch(format!(
            "{}: {what} '{name}' of row '{}' is not one of the labels [{}]",
            run.dir.display(),
            row.id,
            labels.names().join(", ")
        ))
    })
}

fn number(cell: &str, what: &str, row: &PredictionRow, run: &RunRecord) -> Result<f64, EvalError> {
    value_of(cell).ok_or_else(|| {
        EvalError::Mismatch(format!(
            "{}: {what} '{cell}' of row '{}' is not a finite number",
            run.dir.display(),
            row.id
        ))
    })
}

fn label_set(
    cell: &str,
    what: &str,
    row: &PredictionRow,
    run: &RunRecord,
    labels: &LabelSet,
) -> Result<Vec<usize>, EvalError> {
    label_set_ids(cell, labels).map_err(|name| {
        EvalError::Mismatch(format!(
            "{}: {what} '{name}' of row '{}' is not one of the labels [{}]",
            run.dir.display(),
            row.id,
            labels.names().join(", ")
        ))
    })
}

/// The gold label sets of a multi-label run's rows (an empty cell is the empty set);
/// refused when no row has a gold label at all.
pub fn multilabel_gold(run: &RunRecord, labels: &LabelSet) -> Result<LabelMatrix, EvalError> {
    multilabel_gold_rows(&run.predictions, labels, &run.dir.display().to_string())
}

/// [`multilabel_gold`] of any rows; `source` names them in errors.
pub fn multilabel_gold_rows(
    rows: &[PredictionRow],
    labels: &LabelSet,
    source: &str,
) -> Result<LabelMatrix, EvalError> {
    if rows.iter().all(|r| r.gold.is_none()) {
        return Err(EvalError::Mismatch(format!(
            "{source}: no row has a gold label set; runs can only be compared or combined on \
             a labelled test set"
        )));
    }
    let sets = rows
        .iter()
        .map(|r| {
            label_set_ids(r.gold.as_deref().unwrap_or(""), labels).map_err(|name| {
                EvalError::Mismatch(format!(
                    "{source}: gold label '{name}' of row '{}' is not one of the labels [{}]",
                    r.id,
                    labels.names().join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    LabelMatrix::from_sets(labels.len(), &sets)
}

fn multilabel_predicted(run: &RunRecord, labels: &LabelSet) -> Result<LabelMatrix, EvalError> {
    let sets = run
        .predictions
        .iter()
        .map(|r| label_set(&r.predicted, "predicted label", r, run, labels))
        .collect::<Result<Vec<_>, _>>()?;
    LabelMatrix::from_sets(labels.len(), &sets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{
        write_multilabel_predictions, write_regression_predictions, ShapedMetrics, PREDICTIONS_FILE,
    };
    use crate::{evaluate_multilabel, evaluate_regression, EvalOptions, TestReport};
    use std::path::Path;
    use textclf_runs::{EvalData, EvalRun, RunBody, SavedModel, SplitInfo, Timing};

    fn body(rows: usize) -> RunBody {
        RunBody::Eval(EvalRun {
            model: SavedModel {
                kind: "tfidf-lr".into(),
                path: "model".into(),
                int8: false,
            },
            data: EvalData {
                test: SplitInfo {
                    name: Some("test.csv".into()),
                    rows,
                    per_class: None,
                },
            },
        })
    }

    fn opts() -> EvalOptions {
        EvalOptions {
            bootstrap: 0,
            ..EvalOptions::default()
        }
    }

    fn ml_run(dir: &Path, names: &[&str], pred: &[Vec<usize>]) {
        let labels = LabelSet::new(names.iter().map(|s| s.to_string()).collect()).unwrap();
        let gold_names: [&[&str]; 4] = [&["x"], &["x", "y"], &[], &["y"]];
        let gold_sets: Vec<Vec<usize>> = gold_names
            .iter()
            .map(|s| s.iter().filter_map(|n| labels.id(n)).collect())
            .collect();
        let ids: Vec<String> = (0..4).map(|i| format!("r{i}")).collect();
        let k = labels.len();
        let gold = LabelMatrix::from_sets(k, &gold_sets).unwrap();
        let pm = LabelMatrix::from_sets(k, pred).unwrap();
        let rep = evaluate_multilabel(&gold, &pm, None, &labels, &opts()).unwrap();
        ShapedMetrics::new(TestReport::from(rep), Timing::new(), body(4))
            .write(dir)
            .unwrap();
        write_multilabel_predictions(
            &dir.join(PREDICTIONS_FILE),
            &ids,
            Some(&gold_sets),
            pred,
            &vec![0.5; 4 * k],
            &labels,
        )
        .unwrap();
    }

    fn rg_run(dir: &Path, pred: &[f32]) {
        let gold = [1.0f32, 2.0, 3.0, 4.0];
        let ids: Vec<String> = (0..4).map(|i| format!("r{i}")).collect();
        let g64: Vec<f64> = gold.iter().map(|&x| f64::from(x)).collect();
        let p64: Vec<f64> = pred.iter().map(|&x| f64::from(x)).collect();
        let rep = evaluate_regression(&g64, &p64, &opts()).unwrap();
        ShapedMetrics::new(TestReport::from(rep), Timing::new(), body(4))
            .write(dir)
            .unwrap();
        write_regression_predictions(&dir.join(PREDICTIONS_FILE), &ids, Some(&gold), pred).unwrap();
    }

    #[test]
    fn multilabel_runs_align_into_label_matrices_in_a_order() {
        let t = tempfile::tempdir().unwrap();
        ml_run(
            &t.path().join("a"),
            &["x", "y"],
            &[vec![0], vec![0], vec![], vec![1]],
        );
        // Same labels in another order: ids follow A's order.
        ml_run(
            &t.path().join("b"),
            &["y", "x"],
            &[vec![1], vec![0, 1], vec![0], vec![0]],
        );
        let a = crate::load_run(&t.path().join("a")).unwrap();
        let b = crate::load_run(&t.path().join("b")).unwrap();
        assert_eq!(a.task(), Task::MultiLabel);
        let AlignedRuns::MultiLabel {
            gold,
            a: pa,
            b: pb,
            labels,
        } = align_runs(&a, &b).unwrap()
        else {
            panic!("not multi-label")
        };
        assert_eq!(labels.names(), ["x", "y"]);
        assert_eq!(gold.to_sets(), vec![vec![0], vec![0, 1], vec![], vec![1]]);
        assert_eq!(pa.to_sets(), vec![vec![0], vec![0], vec![], vec![1]]);
        // B's "y" (its id 0) is A's id 1.
        assert_eq!(pb.to_sets(), vec![vec![0], vec![0, 1], vec![1], vec![1]]);
    }

    #[test]
    fn runs_of_other_tasks_or_labels_are_refused_saying_what_differs() {
        let t = tempfile::tempdir().unwrap();
        ml_run(&t.path().join("ml"), &["x", "y"], &vec![vec![0]; 4]);
        ml_run(&t.path().join("ml2"), &["x", "z"], &vec![vec![0]; 4]);
        rg_run(&t.path().join("rg"), &[1.0, 2.0, 3.0, 4.5]);
        let ml = crate::load_run(&t.path().join("ml")).unwrap();
        let ml2 = crate::load_run(&t.path().join("ml2")).unwrap();
        let rg = crate::load_run(&t.path().join("rg")).unwrap();
        let e = align_runs(&ml, &rg).unwrap_err().to_string();
        assert!(
            e.contains("multi-label run") && e.contains("regression run"),
            "{e}"
        );
        let e = align_runs(&ml, &ml2).unwrap_err().to_string();
        assert!(e.contains("only in the first: y"), "{e}");
        assert!(e.contains("only in the second: z"), "{e}");
    }

    #[test]
    fn regression_runs_align_into_values() {
        let t = tempfile::tempdir().unwrap();
        rg_run(&t.path().join("a"), &[1.0, 2.0, 3.0, 4.5]);
        rg_run(&t.path().join("b"), &[1.5, 2.0, 2.5, 4.0]);
        let a = crate::load_run(&t.path().join("a")).unwrap();
        let b = crate::load_run(&t.path().join("b")).unwrap();
        let AlignedRuns::Regression { gold, a: pa, b: pb } = align_runs(&a, &b).unwrap() else {
            panic!("not a regression")
        };
        assert_eq!(gold, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(pa[3], 4.5);
        assert_eq!(pb[2], 2.5);
        // A predictions file with p_ columns cannot belong to a regression report.
        std::fs::write(
            t.path().join("a").join(PREDICTIONS_FILE),
            "id,gold,predicted,p_x\nr0,x,x,1.0\n",
        )
        .unwrap();
        let e = crate::load_run(&t.path().join("a"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("regression report"), "{e}");
    }

    #[test]
    fn cells_decode() {
        let labels = LabelSet::new(vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(label_set_ids("", &labels), Ok(vec![]));
        assert_eq!(label_set_ids("b|a", &labels), Ok(vec![1, 0]));
        assert_eq!(label_set_ids("a|c", &labels), Err("c"));
        assert_eq!(value_of(" 2.5"), Some(2.5));
        assert_eq!(value_of("nan"), None);
        assert!(same_gold(Task::MultiLabel, "a|b", "b|a"));
        assert!(same_gold(Task::Regression, "1.5", "1.500000"));
        assert!(!same_gold(Task::Regression, "1.5", "1.6"));
    }
}
