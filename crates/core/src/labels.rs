use serde::{Deserialize, Serialize};

/// The classes of a task: id `i` (a row index into probability matrices) ↔ a name.
///
/// Built from the labels seen in training data. Integer-looking labels are ordered
/// numerically (`"2" < "10"`), anything else lexicographically, so the same data always
/// gives the same ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSet {
    names: Vec<String>,
}

impl LabelSet {
    /// A label set with exactly these names, in this order (ids `0..names.len()`).
    pub fn new(names: Vec<String>) -> crate::Result<Self> {
        let mut seen = std::collections::HashSet::new();
        for n in &names {
            if !seen.insert(n.as_str()) {
                return Err(crate::Error::Invalid(format!(
                    "label '{n}' appears twice in the label set"
                )));
            }
        }
        Ok(Self { names })
    }

    /// A label set of one name: the one output of a regression.
    pub fn single(name: impl Into<String>) -> Self {
        Self {
            names: vec![name.into()],
        }
    }

    /// The distinct values of `raw`, ordered numerically when all are integers, else by text.
    pub fn from_raw<S: AsRef<str>>(raw: impl IntoIterator<Item = S>) -> Self {
        let mut names: Vec<String> = raw
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if names.iter().all(|n| n.parse::<i64>().is_ok()) {
            names.sort_by_key(|n| n.parse::<i64>().unwrap_or(0));
        }
        Self { names }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Class names by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name of class `id`.
    pub fn name(&self, id: usize) -> &str {
        &self.names[id]
    }

    /// The id of a class name, if it is in the set.
    pub fn id(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}
