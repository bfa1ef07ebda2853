//! The three shapes of problem textclf handles, and the targets each one carries.

use serde::{Deserialize, Serialize};

/// What is predicted for each row.
///
/// The names follow the CLI (`--task single-label|multi-label|regression`); the
/// [`Task::problem_type`] strings are the ones `transformers` keeps in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Exactly one class per row (softmax, cross-entropy).
    SingleLabel,
    /// Any number of labels per row, including none (one sigmoid per label, BCE).
    MultiLabel,
    /// One real-valued target per row (one output, mean squared error).
    Regression,
}

impl Task {
    /// Every task, in the order the CLI lists them.
    pub const ALL: [Task; 3] = [Task::SingleLabel, Task::MultiLabel, Task::Regression];

    /// The CLI name: `single-label`, `multi-label` or `regression`.
    pub fn name(self) -> &'static str {
        match self {
            Task::SingleLabel => "single-label",
            Task::MultiLabel => "multi-label",
            Task::Regression => "regression",
        }
    }

    /// The `problem_type` string of a transformers `config.json`.
    pub fn problem_type(self) -> &'static str {
        match self {
            Task::SingleLabel => "single_label_classification",
            Task::MultiLabel => "multi_label_classification",
            Task::Regression => "regression",
        }
    }

    /// The task of a transformers `problem_type`, if it is one of the three.
    pub fn from_problem_type(s: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.problem_type() == s)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Task {
    type Err = crate::Error;

    /// Accepts the CLI names (also with `_`) and the transformers `problem_type` strings.
    fn from_str(s: &str) -> crate::Result<Task> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        let found = match t.as_str() {
            "single-label" | "single-label-classification" | "single" | "classification" => {
                Some(Task::SingleLabel)
            }
            "multi-label" | "multi-label-classification" | "multilabel" => Some(Task::MultiLabel),
            "regression" => Some(Task::Regression),
            _ => None,
        };
        found.ok_or_else(|| {
            crate::Error::Invalid(format!(
                "unknown task '{s}'; use single-label, multi-label or regression"
            ))
        })
    }
}

/// The gold answers of a dataset, one per row, in the form its [`Task`] needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Single-label: a class id per row, an index into the dataset's label set.
    Classes(Vec<usize>),
    /// Multi-label: the ids of the labels that apply to each row, ascending, no repeats;
    /// an empty set is allowed (no label applies).
    LabelSets(Vec<Vec<usize>>),
    /// Regression: a finite target per row.
    Scores(Vec<f32>),
}

impl Targets {
    /// The task these targets belong to.
    pub fn task(&self) -> Task {
        match self {
            Targets::Classes(_) => Task::SingleLabel,
            Targets::LabelSets(_) => Task::MultiLabel,
            Targets::Scores(_) => Task::Regression,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(v) => v.len(),
            Targets::LabelSets(v) => v.len(),
            Targets::Scores(v) => v.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Classes(v) => Targets::Classes(idx.iter().map(|&i| v[i]).collect()),
            Targets::LabelSets(v) => {
                Targets::LabelSets(idx.iter().map(|&i| v[i].clone()).collect())
            }
            Targets::Scores(v) => Targets::Scores(idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// Appends the rows of `other`, which must be of the same task.
    pub fn extend(&mut self, other: Targets) -> crate::Result<()> {
        match (self, other) {
            (Targets::Classes(a), Targets::Classes(b)) => a.extend(b),
            (Targets::LabelSets(a), Targets::LabelSets(b)) => a.extend(b),
            (Targets::Scores(a), Targets::Scores(b)) => a.extend(b),
            (a, b) => {
                return Err(crate::Error::Invalid(format!(
                    "cannot join {} rows to {} rows; every file must hold the same kind of \
                     label",
                    b.task(),
                    a.task()
                )))
            }
        }
        Ok(())
    }

    /// The class id of each row, for single-label targets.
    pub fn classes(&self) -> Option<&[usize]> {
        match self {
            Targets::Classes(v) => Some(v),
            _ => None,
        }
    }

    /// The label sets, for multi-label targets.
    pub fn label_sets(&self) -> Option<&[Vec<usize>]> {
        match self {
            Targets::LabelSets(v) => Some(v),
            _ => None,
        }
    }

    /// The scores, for regression targets.
    pub fn scores(&self) -> Option<&[f32]> {
        match self {
            Targets::Scores(v) => Some(v),
            _ => None,
        }
    }

    /// Rows per class (single-label) or per label (multi-label: rows where it applies),
    /// for `k` classes or labels. Empty for regression, which has no classes.
    pub fn counts(&self, k: usize) -> Vec<usize> {
        let mut c = vec![0; k];
        match self {
            Targets::Classes(v) => v.iter().for_each(|&l| c[l] += 1),
            Targets::LabelSets(v) => v.iter().flatten().for_each(|&l| c[l] += 1),
            Targets::Scores(_) => return Vec::new(),
        }
        c
    }

    /// Checks ids against a label set of `k` names and scores for finiteness.
    pub(crate) fn check(&self, k: usize, name: &str) -> crate::Result<()> {
        let bad = |what: String| Err(crate::Error::Invalid(format!("{name}: {what}")));
        match self {
            Targets::Classes(v) => {
                if let Some(&l) = v.iter().find(|&&l| l >= k) {
                    return bad(format!(
                        "label id {l} is outside the label set of {k} classes"
                    ));
                }
            }
            Targets::LabelSets(v) => {
                for (row, set) in v.iter().enumerate() {
                    if let Some(&l) = set.iter().find(|&&l| l >= k) {
                        return bad(format!(
                            "row {row}: label id {l} is outside the label set of {k} labels"
                        ));
                    }
                    if set.windows(2).any(|w| w[0] >= w[1]) {
                        return bad(format!(
                            "row {row}: label ids {set:?} are not ascending and distinct"
                        ));
                    }
                }
            }
            Targets::Scores(v) => {
                if let Some(row) = v.iter().position(|s| !s.is_finite()) {
                    return bad(format!("row {row}: the target {} is not finite", v[row]));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_round_trip() {
        for t in Task::ALL {
            assert_eq!(t.name().parse::<Task>().unwrap(), t);
            assert_eq!(t.problem_type().parse::<Task>().unwrap(), t);
            assert_eq!(Task::from_problem_type(t.problem_type()), Some(t));
        }
        let err = "multiclass".parse::<Task>().unwrap_err().to_string();
        assert!(
            err.contains("single-label, multi-label or regression"),
            "{err}"
        );
    }

    #[test]
    fn targets_select_and_extend() {
        let mut t = Targets::LabelSets(vec![vec![0, 2], vec![], vec![1]]);
        assert_eq!(
            t.select(&[2, 0]),
            Targets::LabelSets(vec![vec![1], vec![0, 2]])
        );
        assert!(t.extend(Targets::Scores(vec![1.0])).is_err());
        t.extend(Targets::LabelSets(vec![vec![3]])).unwrap();
        assert_eq!(t.len(), 4);
        assert!(t.check(3, "x").is_err());
        assert!(Targets::LabelSets(vec![vec![1, 0]]).check(3, "x").is_err());
        assert!(Targets::Scores(vec![f32::NAN]).check(1, "x").is_err());
    }
}
