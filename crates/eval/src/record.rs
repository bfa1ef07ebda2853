//! Run folders: every run — linear or transformer — writes `metrics.json` and
//! `predictions.csv` into its folder, and `textclf compare` reads two of them back.
//!
//! The files' formats, writers and readers are `textclf-runs`'; this module puts the
//! evaluation's [`Report`] into `metrics.json` ([`Metrics`]) and turns a
//! [`Predictions`] matrix into the rows of a predictions file.

use std::path::{Path, PathBuf};

use textclf_core::{LabelSet, Predictions, Task};
pub use textclf_runs::{
    read_predictions, PredictionRow, Timing, METRICS_FILE, METRICS_FORMAT, PREDICTIONS_FILE,
    VALID_PREDICTIONS_FILE,
};
use textclf_runs::{MetricsRecord, PredictionsWriter};

use crate::cells::check_ids;
use crate::{EvalError, Report};

/// `metrics.json` with the evaluation's single-label test report (see
/// [`textclf_runs::MetricsRecord`]).
pub type Metrics = MetricsRecord<Report>;

/// `metrics.json` with the test report of any task ([`crate::TestReport`]).
pub type ShapedMetrics = MetricsRecord<crate::TestReport>;

/// Writes `<dir>/predictions.csv` (creating `dir` if needed) with the header
/// `id,gold,predicted,p_<label1>,p_<label2>,…`: one row per prediction, the gold label
/// name (empty without `gold`), the most probable label and the probabilities with 6
/// decimals. Written atomically.
pub fn write_predictions(
    dir: &Path,
    ids: &[String],
    gold: Option<&[usize]>,
    probs: &Predictions,
    labels: &LabelSet,
) -> Result<(), EvalError> {
    write_predictions_file(&dir.join(PREDICTIONS_FILE), ids, gold, probs, labels)
}

/// [`write_predictions`] to any file name (e.g. [`VALID_PREDICTIONS_FILE`]).
pub fn write_predictions_file(
    path: &Path,
    ids: &[String],
    gold: Option<&[usize]>,
    probs: &Predictions,
    labels: &LabelSet,
) -> Result<(), EvalError> {
    let k = labels.len();
    if probs.num_classes() != k {
        return Err(EvalError::ColumnMismatch {
            columns: probs.num_classes(),
            labels: k,
        });
    }
    if ids.len() != probs.len() {
        return Err(EvalError::LengthMismatch {
            what: "row ids vs probability rows".into(),
            left: ids.len(),
            right: probs.len(),
        });
    }
    if let Some(g) = gold {
        if g.len() != ids.len() {
            return Err(EvalError::LengthMismatch {
                what: "gold labels vs row ids".into(),
                left: g.len(),
                right: ids.len(),
            });
        }
        check_ids(g, k, "the gold label")?;
    }
    let names = labels.names();
    let mut w = PredictionsWriter::new(names)?;
    let pred = probs.argmax();
    for (i, id) in ids.iter().enumerate() {
        let g = gold.map(|g| names[g[i]].as_str());
        w.row(id, g, &names[pred[i]], probs.row(i))?;
    }
    Ok(w.finish(path)?)
}

/// The separator of label names in a multi-label predictions file's `gold` and
/// `predicted` cells.
pub const LABEL_JOIN: char = '|';

/// Writes a multi-label predictions file to `path`: `id,gold,predicted,p_<label>,…` with
/// the gold and predicted label sets' names joined by [`LABEL_JOIN`] (empty for no
/// label) and each label's score (sigmoid probability, row-major `n × k` in `scores`).
pub fn write_multilabel_predictions(
    path: &Path,
    ids: &[String],
    gold: Option<&[Vec<usize>]>,
    predicted: &[Vec<usize>],
    scores: &[f32],
    labels: &LabelSet,
) -> Result<(), EvalError> {
    let k = labels.len();
    let n = ids.len();
    let mismatch = |what: &str, left: usize, right: usize| EvalError::LengthMismatch {
        what: what.into(),
        left,
        right,
    };
    if predicted.len() != n {
        return Err(mismatch(
            "predicted label sets vs row ids",
            predicted.len(),
            n,
        ));
    }
    if scores.len() != n * k {
        return Err(mismatch("scores vs rows × labels", scores.len(), n * k));
    }
    if let Some(g) = gold {
        if g.len() != n {
            return Err(mismatch("gold label sets vs row ids", g.len(), n));
        }
    }
    let names = labels.names();
    let join = |set: &[usize]| -> Result<String, EvalError> {
        let mut out = String::new();
        for (j, &c) in set.iter().enumerate() {
            let name = names.get(c).ok_or(EvalError::ColumnMismatch {
                columns: c + 1,
                labels: k,
            })?;
            if j > 0 {
                out.push(LABEL_JOIN);
            }
            out.push_str(name);
        }
        Ok(out)
    };
    let mut w = PredictionsWriter::new(names)?;
    for (i, id) in ids.iter().enumerate() {
        let g = gold.map(|g| join(&g[i])).transpose()?;
        w.row(
            id,
            g.as_deref(),
            &join(&predicted[i])?,
            &scores[i * k..(i + 1) * k],
        )?;
    }
    Ok(w.finish(path)?)
}

/// Writes a regression predictions file to `path`: `id,gold,predicted`, the values with
/// 6 significant decimals (gold empty without `gold`).
pub fn write_regression_predictions(
    path: &Path,
    ids: &[String],
    gold: Option<&[f32]>,
    predicted: &[f32],
) -> Result<(), EvalError> {
    let n = ids.len();
    if predicted.len() != n {
        return Err(EvalError::LengthMismatch {
            what: "predictions vs row ids".into(),
            left: predicted.len(),
            right: n,
        });
    }
    if let Some(g) = gold {
        if g.len() != n {
            return Err(EvalError::LengthMismatch {
                what: "gold values vs row ids".into(),
                left: g.len(),
                right: n,
            });
        }
    }
    let mut w = PredictionsWriter::new(&[])?;
    for (i, id) in ids.iter().enumerate() {
        let g = gold.map(|g| format!("{:.6}", g[i]));
        w.row(id, g.as_deref(), &format!("{:.6}", predicted[i]), &[])?;
    }
    Ok(w.finish(path)?)
}

/// A run folder read back by [`load_run`].
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub dir: PathBuf,
    /// Its `metrics.json`, with the test report of the run's task.
    pub metrics: ShapedMetrics,
    /// Label names, from the `p_` columns of the `predictions.csv` header (none for a
    /// regression).
    pub labels: Vec<String>,
    pub predictions: Vec<PredictionRow>,
}

impl RunRecord {
    /// The run's task, told by its test report.
    pub fn task(&self) -> Task {
        self.metrics.test.task()
    }
}

/// Reads `metrics.json` (a test report of any task) and `predictions.csv` of a run
/// folder, and checks that the two describe the same task: a regression's predictions
/// have no `p_` columns, a classification's have one per label.
pub fn load_run(dir: &Path) -> Result<RunRecord, EvalError> {
    if !dir.is_dir() {
        let reason = if dir.exists() {
            "is a file, not a run folder"
        } else {
            "no such run folder"
        };
        return Err(EvalError::NotARun {
            path: dir.to_path_buf(),
            reason: reason.into(),
        });
    }
    let metrics_path = dir.join(METRICS_FILE);
    if !metrics_path.is_file() {
        return Err(EvalError::NotARun {
            path: dir.to_path_buf(),
            reason: format!("there is no {METRICS_FILE} here; is this a textclf run folder?"),
        });
    }
    let metrics = ShapedMetrics::read(dir)?;

    let pred_path = dir.join(PREDICTIONS_FILE);
    if !pred_path.is_file() {
        return Err(EvalError::NotARun {
            path: dir.to_path_buf(),
            reason: format!(
                "there is {METRICS_FILE} but no {PREDICTIONS_FILE}; the run must have \
                 written its predictions to be compared"
            ),
        });
    }
    let (labels, predictions) = read_predictions(&pred_path)?;
    let task = metrics.test.task();
    let consistent = match task {
        Task::Regression => labels.is_empty(),
        Task::SingleLabel | Task::MultiLabel => !labels.is_empty(),
    };
    if !consistent {
        let has = if labels.is_empty() {
            "no p_<label> columns (a regression's file)".to_string()
        } else {
            format!("p_ columns for the labels [{}]", labels.join(", "))
        };
        return Err(EvalError::NotARun {
            path: dir.to_path_buf(),
            reason: format!(
                "{METRICS_FILE} holds a {task} report but {PREDICTIONS_FILE} has {has}; \
                 the two files come from different runs"
            ),
        });
    }
    Ok(RunRecord {
        dir: dir.to_path_buf(),
        metrics,
        labels,
        predictions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, EvalOptions};
    use serde_json::Value;
    use std::fs;
    use textclf_runs::{EvalData, EvalRun, RunBody, SavedModel, SplitInfo};

    fn labels() -> LabelSet {
        LabelSet::new(vec!["neg".into(), "pos".into(), "mixed, odd".into()]).unwrap()
    }

    fn sample(pred_flip: bool) -> (Vec<String>, Vec<usize>, Predictions) {
        let ids: Vec<String> = (0..6).map(|i| format!("r{i}")).collect();
        let gold = vec![0, 1, 2, 0, 1, 2];
        let mut v = Vec::new();
        for (i, &g) in gold.iter().enumerate() {
            let p = if pred_flip && i % 2 == 0 {
                (g + 1) % 3
            } else {
                g
            };
            let mut row = [0.1f32, 0.1, 0.1];
            row[p] = 0.8;
            v.extend(row);
        }
        (ids, gold, Predictions::new(3, v).unwrap())
    }

    fn write_run(dir: &Path, flip: bool) -> Report {
        let (ids, gold, probs) = sample(flip);
        let report = evaluate(&gold, &probs, &labels(), &EvalOptions::default()).unwrap();
        let mut t = Timing::new();
        t.add("read", 0.25);
        t.add("predict", 1.5);
        let run = RunBody::Eval(EvalRun {
            model: SavedModel {
                kind: "tfidf-lr".into(),
                path: "model".into(),
                int8: false,
            },
            data: EvalData {
                test: SplitInfo {
                    name: Some("test.csv".into()),
                    rows: ids.len(),
                    per_class: None,
                },
            },
        });
        Metrics::new(report.clone(), t, run).write(dir).unwrap();
        write_predictions(dir, &ids, Some(&gold), &probs, &labels()).unwrap();
        report
    }

    #[test]
    fn write_then_load_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run-1");
        let report = write_run(&dir, false);
        let run = load_run(&dir).unwrap();
        assert_eq!(run.labels, labels().names());
        assert_eq!(run.predictions.len(), 6);
        let r0 = &run.predictions[0];
        assert_eq!(r0.id, "r0");
        assert_eq!(r0.gold.as_deref(), Some("neg"));
        assert_eq!(r0.predicted, "neg");
        assert_eq!(r0.probs, vec![0.8, 0.1, 0.1]);
        assert_eq!(run.predictions[2].predicted, "mixed, odd");
        assert_eq!(run.task(), Task::SingleLabel);
        let back = run.metrics.test.single().unwrap();
        assert!((back.accuracy - report.accuracy).abs() < 1e-12);
        assert_eq!(run.metrics.model_kind(), "tfidf-lr");
        assert_eq!(back.confusion.counts, report.confusion.counts);
        assert_eq!(back.per_class.len(), report.per_class.len());
        assert_eq!(run.metrics.timing.total(), 1.75);
        // No temporary files are left behind.
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn metrics_json_has_top_level_keys() {
        let tmp = tempfile::tempdir().unwrap();
        write_run(tmp.path(), false);
        let text = fs::read_to_string(tmp.path().join(METRICS_FILE)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let obj = v.as_object().unwrap();
        for key in [
            "n",
            "accuracy",
            "macro_f1",
            "weighted_f1",
            "binary_f1",
            "log_loss",
            "per_class",
            "confusion",
            "top_confusions",
            "ci",
            "timing",
            "model",
        ] {
            assert!(obj.contains_key(key), "missing {key}");
        }
        assert_eq!(v["timing"]["total"], 1.75);
        assert_eq!(v["format"], METRICS_FORMAT);
        assert_eq!(v["command"], "eval");
    }

    #[test]
    fn predictions_without_gold_and_header() {
        let tmp = tempfile::tempdir().unwrap();
        let (ids, _, probs) = sample(false);
        write_predictions(tmp.path(), &ids, None, &probs, &labels()).unwrap();
        let text = fs::read_to_string(tmp.path().join(PREDICTIONS_FILE)).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,gold,predicted,p_neg,p_pos,\"p_mixed, odd\""
        );
        assert_eq!(lines.next().unwrap(), "r0,,neg,0.800000,0.100000,0.100000");
        let e = write_predictions(tmp.path(), &ids[..2], None, &probs, &labels()).unwrap_err();
        assert!(matches!(e, EvalError::LengthMismatch { .. }));
    }

    #[test]
    fn load_errors_are_clear() {
        let tmp = tempfile::tempdir().unwrap();
        let e = load_run(&tmp.path().join("nope")).unwrap_err();
        assert!(e.to_string().contains("no such run folder"), "{e}");
        let e = load_run(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("textclf run folder"), "{e}");

        let dir = tmp.path().join("run");
        write_run(&dir, false);
        let path = dir.join(PREDICTIONS_FILE);
        let text = fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[3] = "r2,mixed, odd,neg,0.1,0.1,0.8".into(); // unquoted comma: 7 fields
        fs::write(&path, lines.join("\n")).unwrap();
        let e = load_run(&dir).unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
        assert!(e.to_string().contains("7 fields"), "{e}");

        lines[3] = "r2,neg,neg,0.1,abc,0.8".into();
        fs::write(&path, lines.join("\n")).unwrap();
        let e = load_run(&dir).unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
        assert!(e.to_string().contains("'abc'"), "{e}");
    }

    #[test]
    fn align_and_compare_two_runs() {
        let tmp = tempfile::tempdir().unwrap();
        write_run(&tmp.path().join("a"), false);
        write_run(&tmp.path().join("b"), true);
        let a = load_run(&tmp.path().join("a")).unwrap();
        let b = load_run(&tmp.path().join("b")).unwrap();
        let crate::AlignedRuns::SingleLabel {
            gold,
            a: pa,
            b: pb,
            labels: set,
        } = crate::align_runs(&a, &b).unwrap()
        else {
            panic!("not single-label")
        };
        assert_eq!(gold, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(pa, gold);
        assert_eq!(pb, vec![1, 1, 0, 0, 2, 2]);
        assert_eq!(set, labels());
        let c = crate::compare(&gold, &pa, &pb, set.len(), &EvalOptions::default()).unwrap();
        assert_eq!(c.mcnemar.a_right_b_wrong, 3);
    }

    #[test]
    fn align_rejects_different_test_sets() {
        let tmp = tempfile::tempdir().unwrap();
        write_run(&tmp.path().join("a"), false);
        let a = load_run(&tmp.path().join("a")).unwrap();
        let mut b = a.clone();
        b.predictions[1].id = "other".into();
        b.predictions[4].id = "x".into();
        let e = crate::align_runs(&a, &b).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("2 row ids differ"), "{msg}");
        assert!(msg.contains("same test set"), "{msg}");

        let mut c = a.clone();
        c.predictions.pop();
        let e = crate::align_runs(&a, &c).unwrap_err();
        assert!(e.to_string().contains("1 row ids differ"), "{e}");

        let mut d = a.clone();
        d.labels[0] = "negative".into();
        let e = crate::align_runs(&a, &d).unwrap_err();
        assert!(e.to_string().contains("different labels"), "{e}");
    }

    #[test]
    fn multilabel_and_regression_predictions_files_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let labels = LabelSet::new(vec!["joy".into(), "anger".into(), "fear".into()]).unwrap();
        let ids: Vec<String> = vec!["r1".into(), "r2".into()];
        let p = tmp.path().join("ml.csv");
        write_multilabel_predictions(
            &p,
            &ids,
            Some(&[vec![0, 2], vec![]]),
            &[vec![0], vec![1, 2]],
            &[0.9, 0.1, 0.4, 0.2, 0.7, 0.6],
            &labels,
        )
        .unwrap();
        let (names, rows) = read_predictions(&p).unwrap();
        assert_eq!(names, labels.names());
        assert_eq!(rows[0].gold.as_deref(), Some("joy|fear"));
        assert_eq!(rows[0].predicted, "joy");
        assert_eq!(rows[1].gold, None);
        assert_eq!(rows[1].predicted, "anger|fear");
        assert_eq!(rows[1].probs, vec![0.2, 0.7, 0.6]);
        let e = write_multilabel_predictions(&p, &ids, None, &[vec![0]], &[0.0; 6], &labels);
        assert!(e.is_err());

        let p = tmp.path().join("rg.csv");
        write_regression_predictions(&p, &ids, Some(&[1.5, 0.25]), &[1.25, 0.5]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "id,gold,predicted\nr1,1.500000,1.250000\nr2,0.250000,0.500000\n"
        );
        let (names, rows) = read_predictions(&p).unwrap();
        assert!(names.is_empty());
        assert_eq!(rows[1].predicted, "0.500000");
    }
}
