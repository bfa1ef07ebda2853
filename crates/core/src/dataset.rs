use crate::{Error, LabelSet, Result, Targets, Task};

/// Labelled texts: one text (or a pair of texts) per row and its gold answer.
///
/// `ids[i]` names the row in its source (an id column, or `file:row`), so predictions can be
/// traced back. `pairs[i]`, when present, is the second text of row `i` (a hypothesis, a
/// second sentence, a passage). `targets` holds the gold answers in the form of the task:
/// class ids into `label_set` (single-label), sets of label ids into `label_set`
/// (multi-label), or scores (regression, where `label_set` names the one output).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where the rows came from (a file name, or "train split of pool.csv").
    pub name: String,
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    /// The second text of each row, for sentence-pair tasks.
    pub pairs: Option<Vec<String>>,
    pub targets: Targets,
    pub label_set: LabelSet,
}

impl Dataset {
    /// A single-label dataset of single texts. Checks that the columns have the same length
    /// and that every label id is valid.
    pub fn new(
        name: impl Into<String>,
        ids: Vec<String>,
        texts: Vec<String>,
        labels: Vec<usize>,
        label_set: LabelSet,
    ) -> Result<Self> {
        Self::with_targets(name, ids, texts, None, Targets::Classes(labels), label_set)
    }

    /// A dataset of any task, with or without text pairs. Checks lengths, label ids
    /// (ascending and distinct within a multi-label row) and that scores are finite.
    pub fn with_targets(
        name: impl Into<String>,
        ids: Vec<String>,
        texts: Vec<String>,
        pairs: Option<Vec<String>>,
        targets: Targets,
        label_set: LabelSet,
    ) -> Result<Self> {
        let name = name.into();
        let pair_len = pairs.as_ref().map_or(texts.len(), Vec::len);
        if ids.len() != texts.len() || texts.len() != targets.len() || pair_len != texts.len() {
            return Err(Error::Invalid(format!(
                "{name}: {} ids, {} texts, {pair_len} second texts and {} targets differ in \
                 length",
                ids.len(),
                texts.len(),
                targets.len()
            )));
        }
        targets.check(label_set.len(), &name)?;
        Ok(Self {
            name,
            ids,
            texts,
            pairs,
            targets,
            label_set,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The task of the targets.
    pub fn task(&self) -> Task {
        self.targets.task()
    }

    /// The class id of each row. Fails, naming `what`, for multi-label and regression
    /// data: the caller handles single-label data only.
    pub fn labels(&self) -> Result<&[usize]> {
        self.targets.classes().ok_or_else(|| {
            Error::Invalid(format!(
                "{}: this step handles single-label data only, but the data is {}",
                self.name,
                self.task()
            ))
        })
    }

    /// The rows at `idx`, in that order, as a new dataset with the same label set.
    pub fn select(&self, idx: &[usize], name: impl Into<String>) -> Dataset {
        let pick = |v: &Vec<String>| idx.iter().map(|&i| v[i].clone()).collect();
        Dataset {
            name: name.into(),
            ids: pick(&self.ids),
            texts: pick(&self.texts),
            pairs: self.pairs.as_ref().map(pick),
            targets: self.targets.select(idx),
            label_set: self.label_set.clone(),
        }
    }

    /// Rows per class (single-label) or per label (multi-label: rows where it applies).
    /// Empty for regression, which has no classes.
    pub fn class_counts(&self) -> Vec<usize> {
        self.targets.counts(self.label_set.len())
    }

    /// Borrowed texts, the form [`crate::Classifier::predict_proba`] takes.
    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}
