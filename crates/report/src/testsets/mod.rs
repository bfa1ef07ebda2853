//! Which runs share a test set. Scores on different test sets are not comparable, and
//! runs on different rows cannot be paired, so the selection, its near ties, the paired
//! tests (McNemar) and the advisor only ever compare runs of one test set.
//!
//! A run's test set is known from its folder (see [`TestSet`]): the rows of its
//! `predictions.csv` (their ids and gold labels), and `data.test.name` and
//! `data.test.rows` of its `metrics.json`. When every finished run with a test report
//! has readable predictions, runs are grouped by those rows (the same rows under another
//! file name are the same test set; another split of the same file with the same size is
//! not). Otherwise they are grouped by name and size. Finished runs without a test report
//! form a group of their own.

use serde::Serialize;

use crate::runs::{RunSet, RunSummary, TestSet};

/// One test set of a run set and the finished runs scored on it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TestSetGroup {
    /// For people: `data/test.csv (760 rows)`; unique within a run set.
    pub label: String,
    /// `data.test.name` of the runs' metrics.json, when recorded.
    pub name: Option<String>,
    /// Test rows (`None`: the runs have no test report).
    pub rows: Option<usize>,
    /// Ids of the finished runs scored on it, in plan order.
    pub runs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Rows(u64),
    Meta(Option<String>, usize),
    NoTest,
}

/// The finished runs of `runs` grouped by test set: the group with the most runs first
/// (ties: the one whose first run comes first in plan order), runs in plan order within
/// each group.
pub fn group_runs(runs: &[RunSummary]) -> Vec<(TestSetGroup, Vec<&RunSummary>)> {
    let done: Vec<&RunSummary> = runs.iter().filter(|r| r.is_done()).collect();
    let by_rows = done
        .iter()
        .filter_map(|r| r.test_set.as_ref())
        .all(|t| t.fingerprint.is_some());
    let key = |t: Option<&TestSet>| match t {
        None => Key::NoTest,
        Some(t) => match t.fingerprint {
            Some(f) if by_rows => Key::Rows(f),
            _ => Key::Meta(t.name.clone(), t.rows),
        },
    };
    let mut groups: Vec<(Key, Vec<&RunSummary>)> = Vec::new();
    for r in done {
        let k = key(r.test_set.as_ref());
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(r),
            None => groups.push((k, vec![r])),
        }
    }
    // Stable: equal sizes keep the order of their first runs.
    groups.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    let mut labels: Vec<String> = Vec::new();
    groups
        .into_iter()
        .map(|(_, members)| {
            let t = members[0].test_set.as_ref();
            let base = match t {
                Some(t) => format!(
                    "{} ({} rows)",
                    t.name.as_deref().unwrap_or("unnamed test set"),
                    t.rows
                ),
                None => "no test report".to_string(),
            };
            let mut label = base.clone();
            let mut i = 2;
            while labels.contains(&label) {
                label = format!("{base}, other rows #{i}");
                i += 1;
            }
            labels.push(label.clone());
            let group = TestSetGroup {
                label,
                name: t.and_then(|t| t.name.clone()),
                rows: t.map(|t| t.rows),
                runs: members.iter().map(|r| r.id.clone()).collect(),
            };
            (group, members)
        })
        .collect()
}

/// The label of the test set each finished run belongs to, when `runs` hold more than
/// one test set (`None` otherwise: then there is nothing to tell apart).
pub fn labels_by_run(runs: &[RunSummary]) -> Option<Vec<(String, String)>> {
    let groups = group_runs(runs);
    (groups.len() > 1).then(|| {
        groups
            .iter()
            .flat_map(|(g, members)| members.iter().map(|r| (r.id.clone(), g.label.clone())))
            .collect()
    })
}

/// When `set` holds several test sets: a copy holding only the finished runs of the test
/// set `wanted` (the one a selection ranks first; without it, the largest), with that test set's
/// label. `None` with one test set.
pub fn comparable_subset(set: &RunSet, wanted: Option<&str>) -> Option<(RunSet, String)> {
    let groups = group_runs(&set.runs);
    if groups.len() <= 1 {
        return None;
    }
    let (group, _) = groups
        .iter()
        .find(|(g, _)| Some(g.label.as_str()) == wanted)
        .unwrap_or(&groups[0]);
    let mut subset = set.clone();
    subset.runs.retain(|r| group.runs.contains(&r.id));
    Some((subset, group.label.clone()))
}

/// One sentence for people naming the groups and their sizes:
/// `` `data/test.csv (760 rows)`: 5 runs; `small.csv (40 rows)`: 2 runs ``, with `code`
/// marking up each label.
pub fn describe_groups(groups: &[TestSetGroup], code: impl Fn(&str) -> String) -> String {
    groups
        .iter()
        .map(|g| {
            format!(
                "{}: {} run{}",
                code(&g.label),
                g.runs.len(),
                if g.runs.len() == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
pub(crate) mod tests;
