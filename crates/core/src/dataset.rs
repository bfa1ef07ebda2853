use crate::{Error, LabelSet, Result};

/// Labelled texts. `labels[i]` is an id into `label_set`; `ids[i]` names the row in its
/// source (an id column, or `file:row`), so predictions can be traced back.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where the rows came from (a file name, or "train split of pool.csv").
    pub name: String,
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    pub labels: Vec<usize>,
    pub label_set: LabelSet,
}

impl Dataset {
    /// Checks that the columns have the same length and that every label id is valid.
    pub fn new(
        name: impl Into<String>,
        ids: Vec<String>,
        texts: Vec<String>,
        labels: Vec<usize>,
        label_set: LabelSet,
    ) -> Result<Self> {
        let name = name.into();
        if ids.len() != texts.len() || texts.len() != labels.len() {
            return Err(Error::Invalid(format!(
                "{name}: {} ids, {} texts and {} labels differ in length",
                ids.len(),
                texts.len(),
                labels.len()
            )));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l >= label_set.len()) {
            return Err(Error::Invalid(format!(
                "{name}: label id {bad} is outside the label set of {} classes",
                label_set.len()
            )));
        }
        Ok(Self {
            name,
            ids,
            texts,
            labels,
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

    /// The rows at `idx`, in that order, as a new dataset with the same label set.
    pub fn select(&self, idx: &[usize], name: impl Into<String>) -> Dataset {
        Dataset {
            name: name.into(),
            ids: idx.iter().map(|&i| self.ids[i].clone()).collect(),
            texts: idx.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            label_set: self.label_set.clone(),
        }
    }

    /// Rows per class id.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.label_set.len()];
        for &l in &self.labels {
            c[l] += 1;
        }
        c
    }

    /// Borrowed texts, the form [`crate::Classifier::predict_proba`] takes.
    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}
