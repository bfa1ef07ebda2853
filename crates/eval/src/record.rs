//! Run folders: every run — linear or transformer — writes `metrics.json` and
//! `predictions.csv` into its folder, and `textclf compare` reads two of them back.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use textclf_core::{LabelSet, Predictions};

use crate::metrics::check_ids;
use crate::{EvalError, Report};

/// The file name of a run's metrics.
pub const METRICS_FILE: &str = "metrics.json";
/// The file name of a run's per-row predictions.
pub const PREDICTIONS_FILE: &str = "predictions.csv";
/// The file name of a run's predictions on its validation split (used to weight ensembles).
pub const VALID_PREDICTIONS_FILE: &str = "valid_predictions.csv";

/// Wall-clock seconds of the phases of a run, in the order they happened.
///
/// Serialized as one JSON object in phase order with a final `"total"` key, e.g.
/// `{"read": 0.4, "vectorize": 1.2, "total": 1.6}`. `total` is the sum of the phases
/// unless a phase named `"total"` was added explicitly (e.g. a wall-clock total that
/// also covers untimed work); then that value is used and not written twice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    pub phases: Vec<(String, f64)>,
}

impl Timing {
    /// No phases yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a phase of `secs` seconds.
    pub fn add(&mut self, name: impl Into<String>, secs: f64) {
        self.phases.push((name.into(), secs));
    }

    /// The explicit `"total"` phase if there is one, else the sum of all phases.
    pub fn total(&self) -> f64 {
        self.explicit_total()
            .unwrap_or_else(|| self.phases.iter().map(|(_, s)| s).sum())
    }

    fn explicit_total(&self) -> Option<f64> {
        self.phases
            .iter()
            .find(|(n, _)| n == "total")
            .map(|&(_, s)| s)
    }
}

impl Serialize for Timing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let explicit = self.explicit_total().is_some();
        let mut map = s.serialize_map(Some(self.phases.len() + usize::from(!explicit)))?;
        for (name, secs) in &self.phases {
            map.serialize_entry(name, secs)?;
        }
        if !explicit {
            map.serialize_entry("total", &self.total())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Timing {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PhasesVisitor;
        impl<'de> Visitor<'de> for PhasesVisitor {
            type Value = Timing;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of phase names to seconds")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Timing, A::Error> {
                let mut phases = Vec::new();
                while let Some((name, secs)) = access.next_entry::<String, f64>()? {
                    phases.push((name, secs));
                }
                // A trailing "total" that is just the sum was added by `serialize`: drop
                // it so the round trip gives back the same phases.
                if let Some(pos) = phases.iter().position(|(n, _)| n == "total") {
                    let total = phases[pos].1;
                    let rest: f64 = phases
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != pos)
                        .map(|(_, (_, s))| s)
                        .sum();
                    if pos + 1 == phases.len() && (total - rest).abs() <= 1e-9 * rest.abs().max(1.0)
                    {
                        phases.remove(pos);
                    }
                }
                Ok(Timing { phases })
            }
        }
        d.deserialize_map(PhasesVisitor)
    }
}

/// One row of `predictions.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionRow {
    pub id: String,
    /// The gold label name, when the test set had labels.
    pub gold: Option<String>,
    /// The predicted label name.
    pub predicted: String,
    /// One probability per label, in the order of [`RunRecord::labels`].
    pub probs: Vec<f32>,
}

/// The version of `metrics.json` this textclf writes (its `format` key). Files without it
/// are version 1, whose per-epoch records count epochs from 0; from version 2 every epoch
/// number counts from 1, as `best_epoch`, `epochs.csv` and the console do.
pub const METRICS_FORMAT: u32 = 2;

/// Writes `<dir>/metrics.json` (creating `dir` if needed): the [`Report`]'s fields at the
/// top level, then `"timing"` (see [`Timing`]), then every key of `extra` (model, params,
/// data, labels…). A key of `extra` that would overwrite a metric or the timing is an
/// error. Written atomically: a reader never sees a half-written file.
pub fn write_metrics(
    dir: &Path,
    report: &Report,
    timing: &Timing,
    extra: Map<String, Value>,
) -> Result<(), EvalError> {
    let path = dir.join(METRICS_FILE);
    let json_err = |source| EvalError::Json {
        path: path.clone(),
        source,
    };
    let mut top = match serde_json::to_value(report).map_err(json_err)? {
        Value::Object(m) => m,
        _ => unreachable!("a Report serializes to a JSON object"),
    };
    top.insert(
        "timing".into(),
        serde_json::to_value(timing).map_err(json_err)?,
    );
    top.insert("format".into(), Value::from(METRICS_FORMAT));
    for (key, value) in extra {
        if top.contains_key(&key) {
            return Err(EvalError::Invalid(format!(
                "extra metrics.json key '{key}' would overwrite a metric of the same name"
            )));
        }
        top.insert(key, value);
    }
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(top)).map_err(json_err)?;
    bytes.push(b'\n');
    write_atomic(&path, &bytes)
}

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
    let path = path.to_path_buf();
    let csv_err = |e: csv::Error| EvalError::Csv {
        path: path.clone(),
        line: e.position().map_or(0, |p| p.line()),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_string(), "gold".into(), "predicted".into()];
    header.extend(labels.names().iter().map(|n| format!("p_{n}")));
    w.write_record(&header).map_err(csv_err)?;
    let pred = probs.argmax();
    let mut record: Vec<String> = Vec::with_capacity(k + 3);
    for (i, id) in ids.iter().enumerate() {
        record.clear();
        record.push(id.clone());
        record.push(gold.map_or(String::new(), |g| labels.name(g[i]).to_string()));
        record.push(labels.name(pred[i]).to_string());
        record.extend(probs.row(i).iter().map(|p| format!("{p:.6}")));
        w.write_record(&record).map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| EvalError::io(&path, e.into_error()))?;
    write_atomic(&path, &bytes)
}

/// Writes `bytes` atomically (one implementation for every run file:
/// [`textclf_runs::write_atomic`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EvalError> {
    textclf_runs::write_atomic(path, bytes).map_err(|e| match e {
        textclf_runs::RunsError::Io { path, source } => EvalError::Io { path, source },
        other => EvalError::Invalid(other.to_string()),
    })
}

/// A run folder read back by [`load_run`].
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub dir: PathBuf,
    /// The whole `metrics.json`.
    pub metrics: Value,
    /// Label names, from the `p_` columns of the `predictions.csv` header.
    pub labels: Vec<String>,
    pub predictions: Vec<PredictionRow>,
}

/// Reads `metrics.json` and `predictions.csv` of a run folder.
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
    let text = fs::read_to_string(&metrics_path).map_err(|e| EvalError::io(&metrics_path, e))?;
    let metrics: Value = serde_json::from_str(&text).map_err(|source| EvalError::Json {
        path: metrics_path.clone(),
        source,
    })?;

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
    Ok(RunRecord {
        dir: dir.to_path_buf(),
        metrics,
        labels,
        predictions,
    })
}

/// Reads a predictions file written by [`write_predictions`] or
/// [`write_predictions_file`]: the label names (from the `p_<label>` columns) and the rows.
pub fn read_predictions(path: &Path) -> Result<(Vec<String>, Vec<PredictionRow>), EvalError> {
    let bad = |line: u64, reason: String| EvalError::Csv {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        let reason = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields, but the header has {expected_len}"),
            _ => e.to_string(),
        };
        bad(line, reason)
    };
    let file = fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let header = r.headers().map_err(csv_err)?.clone();
    let fixed = ["id", "gold", "predicted"];
    if header.len() < 4 || header.iter().take(3).ne(fixed) {
        return Err(bad(
            1,
            format!(
                "the header must be id,gold,predicted,p_<label>,…, not {}",
                header.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let mut labels = Vec::with_capacity(header.len() - 3);
    for col in header.iter().skip(3) {
        match col.strip_prefix("p_") {
            Some(name) => labels.push(name.to_string()),
            None => {
                return Err(bad(
                    1,
                    format!("column '{col}' should be a probability column named p_<label>"),
                ))
            }
        }
    }
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map_or(0, |p| p.line());
        let probs = rec
            .iter()
            .skip(3)
            .zip(&labels)
            .map(|(v, label)| {
                v.trim().parse::<f32>().map_err(|_| {
                    bad(
                        line,
                        format!("probability of '{label}' is '{v}', not a number"),
                    )
                })
            })
            .collect::<Result<Vec<f32>, _>>()?;
        let predicted = rec[2].to_string();
        if !labels.contains(&predicted) {
            return Err(bad(
                line,
                format!("predicted label '{predicted}' has no p_ column in the header"),
            ));
        }
        rows.push(PredictionRow {
            id: rec[0].to_string(),
            gold: (!rec[1].is_empty()).then(|| rec[1].to_string()),
            predicted,
            probs,
        });
    }
    Ok((labels, rows))
}

/// `(gold ids, predictions of run a, predictions of run b, label set)`, as
/// [`align_runs`] returns them.
pub type AlignedRuns = (Vec<usize>, Vec<usize>, Vec<usize>, LabelSet);

/// Lines up two runs for [`crate::compare`]: both must list the same row ids in the same
/// order and the same label names (in any order; ids follow run `a`'s order). Returns
/// `(gold ids, predictions of a, predictions of b, label set)`.
///
/// The gold labels come from run `a` (run `b` must agree where it has them); every row
/// needs one.
pub fn align_runs(a: &RunRecord, b: &RunRecord) -> Result<AlignedRuns, EvalError> {
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
    let mut sorted_a = a.labels.clone();
    let mut sorted_b = b.labels.clone();
    sorted_a.sort();
    sorted_b.sort();
    if sorted_a != sorted_b {
        return Err(EvalError::Mismatch(format!(
            "the runs predict different labels: {} has [{}], {} has [{}]",
            a.dir.display(),
            a.labels.join(", "),
            b.dir.display(),
            b.labels.join(", ")
        )));
    }
    let labels = LabelSet::new(a.labels.clone())?;
    let id_of = |name: &str, what: &str, row: &PredictionRow, run: &RunRecord| {
        labels.id(name).ok_or_else(|| {
            EvalError::Mismatch(format!(
                "{}: {what} '{name}' of row '{}' is not one of the labels [{}]",
                run.dir.display(),
                row.id,
                labels.names().join(", ")
            ))
        })
    };
    let mut gold = Vec::with_capacity(pa.len());
    let mut pred_a = Vec::with_capacity(pa.len());
    let mut pred_b = Vec::with_capacity(pa.len());
    for (ra, rb) in pa.iter().zip(pb) {
        let Some(g) = ra.gold.as_deref() else {
            return Err(EvalError::Mismatch(format!(
                "{}: row '{}' has no gold label; runs can only be compared on a labelled \
                 test set",
                a.dir.display(),
                ra.id
            )));
        };
        if let Some(gb) = rb.gold.as_deref() {
            if gb != g {
                return Err(EvalError::Mismatch(format!(
                    "row '{}' has gold label '{g}' in {} but '{gb}' in {}; both runs must be \
                     evaluated on the same test set",
                    ra.id,
                    a.dir.display(),
                    b.dir.display()
                )));
            }
        }
        gold.push(id_of(g, "gold label", ra, a)?);
        pred_a.push(id_of(&ra.predicted, "predicted label", ra, a)?);
        pred_b.push(id_of(&rb.predicted, "predicted label", rb, b)?);
    }
    Ok((gold, pred_a, pred_b, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, EvalOptions};

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
        let mut extra = Map::new();
        extra.insert("model".into(), Value::from("tfidf-lr"));
        write_metrics(dir, &report, &t, extra).unwrap();
        write_predictions(dir, &ids, Some(&gold), &probs, &labels()).unwrap();
        report
    }

    #[test]
    fn timing_serializes_as_ordered_object_with_total() {
        let mut t = Timing::new();
        t.add("read", 0.5);
        t.add("vectorize", 1.25);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, r#"{"read":0.5,"vectorize":1.25,"total":1.75}"#);
        let back: Timing = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
        // An explicit wall-clock total is kept, not doubled.
        t.add("total", 2.0);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, r#"{"read":0.5,"vectorize":1.25,"total":2.0}"#);
        let back: Timing = serde_json::from_str(&s).unwrap();
        assert_eq!(back.total(), 2.0);
        assert_eq!(back, t);
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
        let acc = run.metrics["accuracy"].as_f64().unwrap();
        assert!((acc - report.accuracy).abs() < 1e-12);
        assert_eq!(run.metrics["model"], "tfidf-lr");
        let back: Report = serde_json::from_value(run.metrics.clone()).unwrap();
        assert_eq!(back.confusion.counts, report.confusion.counts);
        assert_eq!(back.per_class.len(), report.per_class.len());
        let timing: Timing = serde_json::from_value(run.metrics["timing"].clone()).unwrap();
        assert_eq!(timing.total(), 1.75);
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
        // Extra keys must not shadow metrics.
        let report: Report = serde_json::from_value(v.clone()).unwrap();
        let mut extra = Map::new();
        extra.insert("accuracy".into(), Value::from(1.0));
        let e = write_metrics(tmp.path(), &report, &Timing::new(), extra).unwrap_err();
        assert!(e.to_string().contains("accuracy"), "{e}");
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
        let (gold, pa, pb, set) = align_runs(&a, &b).unwrap();
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
        let e = align_runs(&a, &b).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("2 row ids differ"), "{msg}");
        assert!(msg.contains("same test set"), "{msg}");

        let mut c = a.clone();
        c.predictions.pop();
        let e = align_runs(&a, &c).unwrap_err();
        assert!(e.to_string().contains("1 row ids differ"), "{e}");

        let mut d = a.clone();
        d.labels[0] = "negative".into();
        let e = align_runs(&a, &d).unwrap_err();
        assert!(e.to_string().contains("different labels"), "{e}");
    }
}
