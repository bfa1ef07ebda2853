//! The members of an ensemble: finished runs of one task and label set, read and
//! aligned row by row, their scores in the ensemble's label order.

use std::path::{Path, PathBuf};

use textclf_core::{LabelSet, Task};
use textclf_eval::{
    check_same_labels, check_same_task, label_set_ids, load_run, multilabel_gold_rows,
    read_predictions, value_of, LabelMatrix, PredictionRow, RunRecord, TestReport,
    PREDICTIONS_FILE, VALID_PREDICTIONS_FILE,
};

use crate::error::{ExperimentError, Result, Step};

/// One member's rows: scores in the ensemble's label order (regression: one value per
/// row), and its own predicted cells.
pub(crate) struct Member {
    pub ids: Vec<String>,
    pub gold: Vec<Option<String>>,
    /// Row-major, one column per label (regression: one).
    pub probs: Vec<f32>,
    pub predicted: Vec<String>,
}

fn invalid(msg: String) -> ExperimentError {
    ExperimentError::Invalid(msg)
}

impl Member {
    fn new(rows: &[PredictionRow], probs: Vec<f32>) -> Member {
        Member {
            ids: rows.iter().map(|r| r.id.clone()).collect(),
            gold: rows.iter().map(|r| r.gold.clone()).collect(),
            probs,
            predicted: rows.iter().map(|r| r.predicted.clone()).collect(),
        }
    }

    /// A classifier's rows with its probability columns (`labels`) put in `order`.
    fn reordered(
        dir: &Path,
        labels: &[String],
        rows: &[PredictionRow],
        order: &LabelSet,
    ) -> Result<Member> {
        let mut cols = Vec::with_capacity(order.len());
        for name in order.names() {
            match labels.iter().position(|l| l == name) {
                Some(c) => cols.push(c),
                None => {
                    return Err(invalid(format!(
                        "{} has no probability for class '{name}'; all runs must be trained on the same classes",
                        dir.display()
                    )))
                }
            }
        }
        if labels.len() != order.len() {
            return Err(invalid(format!(
                "{} predicts classes [{}], the first run [{}]; all runs must be trained on the same classes",
                dir.display(),
                labels.join(", "),
                order.names().join(", ")
            )));
        }
        let mut probs = Vec::with_capacity(rows.len() * order.len());
        for r in rows {
            probs.extend(cols.iter().map(|&c| r.probs[c]));
        }
        Ok(Member::new(rows, probs))
    }

    /// A regression's rows: its predicted values.
    fn values(dir: &Path, file: &str, rows: &[PredictionRow]) -> Result<Member> {
        let probs = rows
            .iter()
            .map(|r| {
                value_of(&r.predicted).map(|v| v as f32).ok_or_else(|| {
                    invalid(format!(
                        "{}: row '{}' predicts '{}', not a number",
                        dir.join(file).display(),
                        r.id,
                        r.predicted
                    ))
                })
            })
            .collect::<Result<_>>()?;
        Ok(Member::new(rows, probs))
    }

    /// The rows of `file` in the run `dir`, as a member of a `task` ensemble.
    fn of(
        task: Task,
        dir: &Path,
        file: &str,
        labels: &[String],
        rows: &[PredictionRow],
        order: &LabelSet,
    ) -> Result<Member> {
        match task {
            Task::Regression => Member::values(dir, file, rows),
            Task::SingleLabel | Task::MultiLabel => Member::reordered(dir, labels, rows, order),
        }
    }
}

/// The runs, read and checked to share one task and label set.
pub(crate) fn read_runs(dirs: &[PathBuf]) -> Result<Vec<RunRecord>> {
    let runs: Vec<RunRecord> = dirs
        .iter()
        .map(|d| load_run(d).step(format!("cannot read the run {}", d.display())))
        .collect::<Result<_>>()?;
    for r in &runs[1..] {
        check_same_task(&runs[0], r)?;
        if r.task() != Task::Regression {
            check_same_labels(&runs[0], r)?;
        }
    }
    Ok(runs)
}

/// Each run's test rows (`predictions.csv`), checked to be the same rows.
pub(crate) fn test_members(
    task: Task,
    runs: &[RunRecord],
    labels: &LabelSet,
) -> Result<Vec<Member>> {
    let test: Vec<Member> = runs
        .iter()
        .map(|r| {
            Member::of(
                task,
                &r.dir,
                PREDICTIONS_FILE,
                &r.labels,
                &r.predictions,
                labels,
            )
        })
        .collect::<Result<_>>()?;
    check_same_rows(&test, runs, "test")?;
    Ok(test)
}

/// Each run's validation rows (`valid_predictions.csv`), checked to be the same rows;
/// `None` unless every run wrote them.
pub(crate) fn valid_members(
    task: Task,
    runs: &[RunRecord],
    labels: &LabelSet,
) -> Result<Option<Vec<Member>>> {
    let valid: Option<Vec<Member>> = runs
        .iter()
        .map(|r| {
            let p = r.dir.join(VALID_PREDICTIONS_FILE);
            p.is_file().then(|| {
                let (l, rows) = read_predictions(&p)?;
                Member::of(task, &r.dir, VALID_PREDICTIONS_FILE, &l, &rows, labels)
            })
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.into_iter().collect::<Result<Vec<_>>>())
        .transpose()?;
    if let Some(v) = &valid {
        check_same_rows(v, runs, "validation")?;
    }
    Ok(valid)
}

fn check_same_rows(members: &[Member], runs: &[RunRecord], what: &str) -> Result<()> {
    for (m, r) in members.iter().zip(runs).skip(1) {
        if m.ids != members[0].ids {
            let differing = m
                .ids
                .iter()
                .zip(&members[0].ids)
                .filter(|(a, b)| a != b)
                .count()
                + m.ids.len().abs_diff(members[0].ids.len());
            return Err(invalid(format!(
                "{} and {} were not evaluated on the same {what} rows ({differing} ids differ or are in another order); ensembles need runs on the same split",
                runs[0].dir.display(),
                r.dir.display()
            )));
        }
    }
    Ok(())
}

/// The gold class of each row of `m` (rows of the `what` split).
pub(crate) fn gold_ids(m: &Member, labels: &LabelSet, what: &str) -> Result<Vec<usize>> {
    gold_cells(m, what, "label")
        .map(|cell| {
            let (id, g) = cell?;
            labels.id(g).ok_or_else(|| {
                invalid(format!(
                    "{what} row '{id}': gold label '{g}' is not a class"
                ))
            })
        })
        .collect()
}

/// The gold value of each row of `m`, as its file gives it.
pub(crate) fn gold_values(m: &Member, what: &str) -> Result<Vec<f64>> {
    gold_cells(m, what, "value")
        .map(|cell| {
            let (id, g) = cell?;
            value_of(g).ok_or_else(|| {
                invalid(format!(
                    "{what} row '{id}': gold value '{g}' is not a number"
                ))
            })
        })
        .collect()
}

/// Each row's id and gold cell; a row without one is an error that names it (`kind`:
/// "label" or "value").
fn gold_cells<'a>(
    m: &'a Member,
    what: &'a str,
    kind: &'a str,
) -> impl Iterator<Item = Result<(&'a str, &'a str)>> + 'a {
    m.gold.iter().zip(&m.ids).map(move |(g, id)| {
        g.as_deref().map(|g| (id.as_str(), g)).ok_or_else(|| {
            invalid(format!("{what} row '{id}' has no gold {kind}; the ensemble can only be evaluated on labelled rows"))
        })
    })
}

/// The gold label set of each row of `m`.
pub(crate) fn gold_sets(m: &Member, labels: &LabelSet, what: &str) -> Result<LabelMatrix> {
    let rows: Vec<PredictionRow> = m
        .ids
        .iter()
        .zip(&m.gold)
        .map(|(id, g)| PredictionRow {
            id: id.clone(),
            gold: g.clone(),
            predicted: String::new(),
            probs: Vec::new(),
        })
        .collect();
    Ok(multilabel_gold_rows(
        &rows,
        labels,
        &format!("the {what} rows"),
    )?)
}

/// A member's predicted label sets, from its own predictions file.
pub(crate) fn predicted_sets(m: &Member, labels: &LabelSet) -> Result<LabelMatrix> {
    let sets = m
        .predicted
        .iter()
        .zip(&m.ids)
        .map(|(p, id)| {
            label_set_ids(p, labels)
                .map_err(|name| invalid(format!("row '{id}' predicts '{name}', not a label")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LabelMatrix::from_sets(labels.len(), &sets)?)
}

/// A run's headline test measure: its name and value.
pub(crate) fn headline(r: &RunRecord) -> (&'static str, Option<f64>) {
    match &r.metrics.test {
        TestReport::SingleLabel(t) => ("accuracy", Some(t.accuracy)),
        TestReport::MultiLabel(t) => ("micro_f1", Some(t.micro.f1)),
        TestReport::Regression(t) => ("pearson", t.pearson),
    }
}

#[cfg(test)]
pub(crate) fn member(probs: Vec<f32>, cols: usize) -> Member {
    let n = probs.len() / cols;
    Member {
        ids: (0..n).map(|i| i.to_string()).collect(),
        gold: vec![None; n],
        probs,
        predicted: vec![String::new(); n],
    }
}
