//! [`TestReport`]: the test evaluation a run records in `metrics.json`, of whichever task
//! the run had. The single-label report is written exactly as before (no `task` key), so
//! older files and single-label runs read and compare unchanged; a multi-label or
//! regression report adds `"task": "multi-label"` / `"task": "regression"` beside its
//! fields, and readers pick the report type by that key.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use textclf_core::Task;

use crate::{MultiLabelReport, RegressionReport, Report};

/// The key that tells a multi-label or regression report from a single-label one.
pub const TASK_KEY: &str = "task";

/// The test report of a run.
// One per run: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum TestReport {
    SingleLabel(Report),
    MultiLabel(MultiLabelReport),
    Regression(RegressionReport),
}

impl TestReport {
    /// The task the report measures.
    pub fn task(&self) -> Task {
        match self {
            TestReport::SingleLabel(_) => Task::SingleLabel,
            TestReport::MultiLabel(_) => Task::MultiLabel,
            TestReport::Regression(_) => Task::Regression,
        }
    }

    /// Number of test rows.
    pub fn n(&self) -> usize {
        match self {
            TestReport::SingleLabel(r) => r.n,
            TestReport::MultiLabel(r) => r.n,
            TestReport::Regression(r) => r.n,
        }
    }

    /// The task's headline measure, by name and value: accuracy (single-label), micro F1
    /// (multi-label) or Pearson's r (regression; `None` when undefined, e.g. constant
    /// predictions). The names are [`crate::RunComparison::headline`]'s.
    pub fn headline(&self) -> (&'static str, Option<f64>) {
        match self {
            TestReport::SingleLabel(r) => ("accuracy", Some(r.accuracy)),
            TestReport::MultiLabel(r) => ("micro F1", Some(r.micro.f1)),
            TestReport::Regression(r) => ("Pearson r", r.pearson),
        }
    }

    /// The single-label report, if the run was single-label.
    pub fn single(&self) -> Option<&Report> {
        match self {
            TestReport::SingleLabel(r) => Some(r),
            _ => None,
        }
    }

    /// The multi-label report, if the run was multi-label.
    pub fn multi_label(&self) -> Option<&MultiLabelReport> {
        match self {
            TestReport::MultiLabel(r) => Some(r),
            _ => None,
        }
    }

    /// The regression report, if the run was a regression.
    pub fn regression(&self) -> Option<&RegressionReport> {
        match self {
            TestReport::Regression(r) => Some(r),
            _ => None,
        }
    }
}

impl From<Report> for TestReport {
    fn from(r: Report) -> Self {
        TestReport::SingleLabel(r)
    }
}

impl From<MultiLabelReport> for TestReport {
    fn from(r: MultiLabelReport) -> Self {
        TestReport::MultiLabel(r)
    }
}

impl From<RegressionReport> for TestReport {
    fn from(r: RegressionReport) -> Self {
        TestReport::Regression(r)
    }
}

fn with_task<S: Serializer, T: Serialize>(s: S, task: Task, report: &T) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    let mut m = match serde_json::to_value(report).map_err(S::Error::custom)? {
        Value::Object(m) => m,
        _ => return Err(S::Error::custom("a test report must be a JSON object")),
    };
    let mut out = Map::new();
    out.insert(TASK_KEY.into(), Value::from(task.name()));
    out.append(&mut m);
    out.serialize(s)
}

impl Serialize for TestReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TestReport::SingleLabel(r) => r.serialize(s),
            TestReport::MultiLabel(r) => with_task(s, Task::MultiLabel, r),
            TestReport::Regression(r) => with_task(s, Task::Regression, r),
        }
    }
}

impl<'de> Deserialize<'de> for TestReport {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut m = Map::<String, Value>::deserialize(d)?;
        let task = match m.remove(TASK_KEY) {
            None => Task::SingleLabel,
            Some(Value::String(s)) => s.parse::<Task>().map_err(D::Error::custom)?,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "field `{TASK_KEY}`: {other} is not a task name (single-label, multi-label or regression)"
                )))
            }
        };
        let v = Value::Object(m);
        let err = |e: serde_json::Error| D::Error::custom(format!("a {task} test report: {e}"));
        Ok(match task {
            Task::SingleLabel => TestReport::SingleLabel(serde_json::from_value(v).map_err(err)?),
            Task::MultiLabel => TestReport::MultiLabel(serde_json::from_value(v).map_err(err)?),
            Task::Regression => TestReport::Regression(serde_json::from_value(v).map_err(err)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, evaluate_multilabel, evaluate_regression, EvalOptions, LabelMatrix};
    use textclf_core::{LabelSet, Predictions};

    fn opts() -> EvalOptions {
        EvalOptions {
            bootstrap: 0,
            ..EvalOptions::default()
        }
    }

    #[test]
    fn a_single_label_report_is_written_as_before_and_each_task_round_trips() {
        let labels = LabelSet::new(vec!["a".into(), "b".into()]).unwrap();
        let probs = Predictions::new(2, vec![0.9, 0.1, 0.2, 0.8, 0.6, 0.4]).unwrap();
        let single = evaluate(&[0, 1, 1], &probs, &labels, &opts()).unwrap();
        let plain = serde_json::to_value(&single).unwrap();
        let t = TestReport::from(single);
        assert_eq!(serde_json::to_value(&t).unwrap(), plain);
        let back: TestReport = serde_json::from_value(plain).unwrap();
        assert_eq!(back.task(), Task::SingleLabel);
        assert_eq!(back.n(), 3);

        let gold = LabelMatrix::from_sets(2, &[vec![0], vec![0, 1], vec![]]).unwrap();
        let pred = LabelMatrix::from_sets(2, &[vec![0], vec![1], vec![]]).unwrap();
        let ml = evaluate_multilabel(&gold, &pred, None, &labels, &opts()).unwrap();
        let j = serde_json::to_value(TestReport::from(ml)).unwrap();
        assert_eq!(j[TASK_KEY], "multi-label");
        let back: TestReport = serde_json::from_value(j).unwrap();
        assert_eq!(back.task(), Task::MultiLabel);
        assert!(back.multi_label().is_some() && back.single().is_none());

        let rg = evaluate_regression(&[1.0, 2.0, 3.0], &[1.1, 1.9, 3.2], &opts()).unwrap();
        let j = serde_json::to_value(TestReport::from(rg)).unwrap();
        assert_eq!(j[TASK_KEY], "regression");
        let back: TestReport = serde_json::from_value(j.clone()).unwrap();
        assert_eq!(back.regression().unwrap().n, 3);

        let mut bad = j;
        bad[TASK_KEY] = Value::from("ranking");
        let e = serde_json::from_value::<TestReport>(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ranking"), "{e}");
    }
}
