//! From label strings to [`Targets`]: which task the labels describe, and each row's answer.
//!
//! A table's labels arrive as strings ([`crate::RawTable::labels`]). Their task is given by
//! `--task`, or inferred from the training labels as `transformers` infers `problem_type`
//! from its labels, and the inference is reported:
//!
//! * any label written as a JSON list (`["joy","love"]`, also what JSON-lines arrays and
//!   `--label-cols` give) → multi-label;
//! * every label a finite number and at least one not whole (`3.8`) → regression;
//! * any label containing the separator (`--label-sep`, default `|`: `joy|love`) → multi-label;
//! * otherwise single-label (whole numbers such as CoLA's `0`/`1` are class names).

use std::path::Path;

use textclf_core::{LabelSet, Targets, Task};

use crate::read::RawTable;
use crate::DataError;

/// How label strings become targets.
#[derive(Clone, Debug)]
pub struct TargetOptions {
    /// The task (`--task`); inferred from the training labels when `None`.
    pub task: Option<Task>,
    /// The separator of a multi-label string (`--label-sep`, default `|`).
    pub label_sep: String,
}

impl Default for TargetOptions {
    fn default() -> Self {
        Self {
            task: None,
            label_sep: "|".into(),
        }
    }
}

/// A task and why it was chosen, for the notes a command prints.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskGuess {
    pub task: Task,
    /// `given by --task`, or what in the labels decided it.
    pub reason: String,
}

fn is_json_list(label: &str) -> bool {
    let t = label.trim();
    t.starts_with('[') && serde_json::from_str::<Vec<serde_json::Value>>(t).is_ok()
}

/// Picks the task of `labels` (the training labels), as described in the module docs.
pub fn infer_task(labels: &[String], opts: &TargetOptions) -> TaskGuess {
    if let Some(task) = opts.task {
        return TaskGuess {
            task,
            reason: "given by --task".into(),
        };
    }
    let override_hint = "pass --task to choose another";
    if let Some(l) = labels.iter().find(|l| is_json_list(l)) {
        return TaskGuess {
            task: Task::MultiLabel,
            reason: format!(
                "labels are lists, e.g. {}; {override_hint}",
                crate::read::clip(l.trim(), 40)
            ),
        };
    }
    let numbers: Option<Vec<f64>> = labels
        .iter()
        .map(|l| l.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    if let Some(x) = numbers
        .as_ref()
        .and_then(|v| v.iter().position(|x| x.fract() != 0.0))
    {
        return TaskGuess {
            task: Task::Regression,
            reason: format!(
                "labels are numbers, not all whole (e.g. {}); {override_hint}",
                labels[x].trim()
            ),
        };
    }
    let sep = opts.label_sep.as_str();
    if !sep.is_empty() {
        let with_sep: Vec<&String> = labels.iter().filter(|l| l.contains(sep)).collect();
        if let Some(first) = with_sep.first() {
            return TaskGuess {
                task: Task::MultiLabel,
                reason: format!(
                    "{} of {} labels hold several names separated by '{sep}', e.g. '{}'; \
                     {override_hint} (or --label-sep)",
                    with_sep.len(),
                    labels.len(),
                    crate::read::clip(first.trim(), 40)
                ),
            };
        }
    }
    let reason = if numbers.is_some() {
        "labels are whole numbers, read as class names; pass --task regression for scores"
            .to_string()
    } else {
        format!("one class name per row; {override_hint}")
    };
    TaskGuess {
        task: Task::SingleLabel,
        reason,
    }
}

/// The label names of one multi-label row: a JSON list of names, or names separated by
/// `sep` (spaces around names are dropped, as are empty parts and repeats; `[]` or an empty
/// string is a row to which no label applies).
pub fn parse_label_list(raw: &str, sep: &str) -> Result<Vec<String>, String> {
    let t = raw.trim();
    let mut names: Vec<String> = if t.starts_with('[') {
        let items: Vec<serde_json::Value> = serde_json::from_str(t).map_err(|e| {
            format!(
                "'{}' starts like a JSON list but is not one ({e})",
                crate::read::clip(t, 60)
            )
        })?;
        items
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s.trim().to_string()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                serde_json::Value::Bool(b) => Ok(b.to_string()),
                other => Err(format!(
                    "a label list must hold names, but '{}' holds {other}",
                    crate::read::clip(t, 60)
                )),
            })
            .collect::<Result<_, _>>()?
    } else if sep.is_empty() {
        vec![t.to_string()]
    } else {
        t.split(sep).map(|p| p.trim().to_string()).collect()
    };
    names.retain(|n| !n.is_empty());
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

/// The label set of a task from its training labels: the classes (single-label), the
/// labels that occur in any row (multi-label; or the `--label-cols` in their given order),
/// or one output named after the label column (regression).
pub(crate) fn label_set_for(
    task: Task,
    labels: &[String],
    opts: &TargetOptions,
    label_cols: Option<&[String]>,
    label_col: &str,
) -> Result<LabelSet, DataError> {
    match task {
        Task::SingleLabel => Ok(LabelSet::from_raw(labels)),
        Task::MultiLabel => {
            if let Some(cols) = label_cols {
                return LabelSet::new(cols.to_vec())
                    .map_err(|e| DataError::InvalidOption(format!("--label-cols: {e}")));
            }
            let mut all = Vec::new();
            for l in labels {
                // Rows that fail to parse are reported with their row by `targets_for`.
                all.extend(parse_label_list(l, &opts.label_sep).unwrap_or_default());
            }
            Ok(LabelSet::from_raw(all))
        }
        Task::Regression => LabelSet::new(vec![label_col.to_string()])
            .map_err(|e| DataError::InvalidOption(e.to_string())),
    }
}

/// The targets of `table`'s rows (their label strings are `labels`) under `set`.
/// A class or label outside `set` is an error naming the file, row and training file.
pub(crate) fn targets_for(
    task: Task,
    table: &RawTable,
    labels: &[String],
    set: &LabelSet,
    opts: &TargetOptions,
    train: &Path,
) -> Result<Targets, DataError> {
    let unseen = |i: usize, label: &str| DataError::UnseenLabel {
        path: table.source.clone(),
        label: label.to_string(),
        row: table.ids[i].clone(),
        train: train.to_path_buf(),
    };
    let bad = |i: usize, message: String| DataError::BadLabel {
        path: table.source.clone(),
        row: table.ids[i].clone(),
        message,
    };
    match task {
        Task::SingleLabel => labels
            .iter()
            .enumerate()
            .map(|(i, l)| set.id(l).ok_or_else(|| unseen(i, l)))
            .collect::<Result<Vec<_>, _>>()
            .map(Targets::Classes),
        Task::MultiLabel => {
            let mut sets = Vec::with_capacity(labels.len());
            for (i, l) in labels.iter().enumerate() {
                let names = parse_label_list(l, &opts.label_sep).map_err(|m| bad(i, m))?;
                let mut ids = names
                    .iter()
                    .map(|n| set.id(n).ok_or_else(|| unseen(i, n)))
                    .collect::<Result<Vec<_>, _>>()?;
                ids.sort_unstable();
                sets.push(ids);
            }
            Ok(Targets::LabelSets(sets))
        }
        Task::Regression => labels
            .iter()
            .enumerate()
            .map(|(i, l)| match l.trim().parse::<f32>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(bad(
                    i,
                    format!(
                        "the target '{}' is not a finite number; a regression needs a number \
                         in every row (or pass --task single-label if these are classes)",
                        crate::read::clip(l.trim(), 40)
                    ),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Targets::Scores),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn infers_each_task_and_says_why() {
        let o = TargetOptions::default();
        let g = infer_task(&s(&["joy|love", "anger"]), &o);
        assert_eq!(g.task, Task::MultiLabel);
        assert!(g.reason.contains("1 of 2 labels"), "{}", g.reason);
        assert_eq!(
            infer_task(&s(&["[\"a\"]", "[]"]), &o).task,
            Task::MultiLabel
        );
        let g = infer_task(&s(&["5.0", "3.8", "0"]), &o);
        assert_eq!(g.task, Task::Regression);
        assert!(g.reason.contains("3.8"), "{}", g.reason);
        assert_eq!(infer_task(&s(&["0", "1", "1"]), &o).task, Task::SingleLabel);
        assert_eq!(infer_task(&s(&["pos", "neg"]), &o).task, Task::SingleLabel);
        let given = TargetOptions {
            task: Some(Task::SingleLabel),
            ..o
        };
        assert_eq!(infer_task(&s(&["a|b"]), &given).task, Task::SingleLabel);
    }

    #[test]
    fn label_lists_parse_both_ways() {
        assert_eq!(
            parse_label_list(" joy | love |joy", "|").unwrap(),
            s(&["joy", "love"])
        );
        assert_eq!(
            parse_label_list("[\"joy\", \"love\"]", "|").unwrap(),
            s(&["joy", "love"])
        );
        assert!(parse_label_list("[]", "|").unwrap().is_empty());
        assert!(parse_label_list("", "|").unwrap().is_empty());
        assert!(parse_label_list("[\"a\"", "|")
            .unwrap_err()
            .contains("not one"));
        assert!(parse_label_list("[{\"a\":1}]", "|").is_err());
    }
}
