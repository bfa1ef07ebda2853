//! The predictions files of a run: `predictions.csv` (the test rows) and
//! `valid_predictions.csv` (the validation rows, which ensembles weight members by).
//!
//! Format 1, the only one so far, is told by its header: `id,gold,predicted,p_<label>,…`:
//! one row per text, the gold label name (empty when the data had none), the most
//! probable label and one probability per label with 6 decimals. The same columns hold
//! the other tasks: a multi-label run's `gold` and `predicted` are label sets joined by
//! `|` (empty for none) and its `p_` columns the per-label scores; a regression run has
//! no `p_` columns and numbers in `gold` and `predicted`. One writer
//! ([`PredictionsWriter`]) and one reader ([`read_predictions`]).

use std::path::Path;

use crate::atomic::write_atomic;
use crate::error::{Result, RunsError};

/// The file name of a run's per-row test predictions.
pub const PREDICTIONS_FILE: &str = "predictions.csv";
/// The file name of a run's predictions on its validation split (used to weight ensembles).
pub const VALID_PREDICTIONS_FILE: &str = "valid_predictions.csv";
/// The version of the predictions files this textclf writes (told by their header).
pub const PREDICTIONS_FORMAT: u32 = 1;

/// The fixed columns before the `p_<label>` ones.
const FIXED: [&str; 3] = ["id", "gold", "predicted"];

/// One row of a predictions file.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionRow {
    pub id: String,
    /// The gold label name, when the data had labels.
    pub gold: Option<String>,
    /// The predicted label name.
    pub predicted: String,
    /// One probability per label, in the order of the file's `p_` columns.
    pub probs: Vec<f32>,
}

/// Builds a predictions file row by row and writes it atomically with [`Self::finish`].
pub struct PredictionsWriter {
    labels: usize,
    w: csv::Writer<Vec<u8>>,
    record: Vec<String>,
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> RunsError + '_ {
    move |e: csv::Error| RunsError::Csv {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        reason: e.to_string(),
    }
}

impl PredictionsWriter {
    /// A file with one `p_<label>` column per label, in this order.
    pub fn new(labels: &[String]) -> Result<Self> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
        header.extend(labels.iter().map(|n| format!("p_{n}")));
        w.write_record(&header)
            .map_err(csv_err(Path::new(PREDICTIONS_FILE)))?;
        Ok(PredictionsWriter {
            labels: labels.len(),
            w,
            record: Vec::with_capacity(labels.len() + 3),
        })
    }

    /// Appends one row; `probs` has one probability per label.
    pub fn row(
        &mut self,
        id: &str,
        gold: Option<&str>,
        predicted: &str,
        probs: &[f32],
    ) -> Result<()> {
        if probs.len() != self.labels {
            return Err(RunsError::Invalid(format!(
                "row '{id}' has {} probabilities for {} labels",
                probs.len(),
                self.labels
            )));
        }
        self.record.clear();
        self.record.push(id.to_string());
        self.record.push(gold.unwrap_or("").to_string());
        self.record.push(predicted.to_string());
        self.record.extend(probs.iter().map(|p| format!("{p:.6}")));
        self.w
            .write_record(&self.record)
            .map_err(csv_err(Path::new(PREDICTIONS_FILE)))
    }

    /// Writes the file to `path` atomically.
    pub fn finish(self, path: &Path) -> Result<()> {
        let bytes = self
            .w
            .into_inner()
            .map_err(|e| RunsError::io(path, e.into_error()))?;
        write_atomic(path, &bytes)
    }
}

/// Reads a predictions file: the label names (from the `p_<label>` columns) and the rows.
/// Errors name the file and the line.
pub fn read_predictions(path: &Path) -> Result<(Vec<String>, Vec<PredictionRow>)> {
    let bad = |line: u64, reason: String| RunsError::Csv {
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
    let file = std::fs::File::open(path).map_err(|e| RunsError::io(path, e))?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let header = r.headers().map_err(csv_err)?.clone();
    if header.len() < 3 || header.iter().take(3).ne(FIXED) {
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
            .collect::<Result<Vec<f32>>>()?;
        let predicted = rec[2].to_string();
        let known = if labels.is_empty() {
            predicted.trim().parse::<f64>().is_ok_and(f64::is_finite)
        } else {
            labels.contains(&predicted)
                || predicted.is_empty()
                || predicted.split('|').all(|p| labels.iter().any(|l| l == p))
        };
        if !known {
            let reason = if labels.is_empty() {
                format!("predicted value '{predicted}' is not a number (a file without p_ columns holds a regression's values)")
            } else {
                format!("predicted label '{predicted}' has no p_ column in the header")
            };
            return Err(bad(line, reason));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_rows_read_back() {
        let t = tempfile::tempdir().unwrap();
        let labels = vec!["neg".to_string(), "mixed, odd".to_string()];
        let mut w = PredictionsWriter::new(&labels).unwrap();
        w.row("r0", Some("neg"), "neg", &[0.75, 0.25]).unwrap();
        w.row("r1", None, "mixed, odd", &[0.125, 0.875]).unwrap();
        assert!(w.row("r2", None, "neg", &[1.0]).is_err());
        let p = t.path().join(PREDICTIONS_FILE);
        w.finish(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "id,gold,predicted,p_neg,\"p_mixed, odd\"\nr0,neg,neg,0.750000,0.250000\nr1,,\"mixed, odd\",0.125000,0.875000\n"
        );
        let (l, rows) = read_predictions(&p).unwrap();
        assert_eq!(l, labels);
        assert_eq!(rows[1].gold, None);
        assert_eq!(rows[1].probs, vec![0.125, 0.875]);
        std::fs::write(&p, "id,gold,predicted,p_a\nr0,a,b,1.0\n").unwrap();
        let e = read_predictions(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("'b'"), "{e}");
        std::fs::write(
            &p,
            "id,gold,predicted,p_a,p_b\nr0,a|b,b|a,1.0,0.5\nr1,,,0.1,0.2\n",
        )
        .unwrap();
        let (_, rows) = read_predictions(&p).unwrap();
        assert_eq!(rows[0].predicted, "b|a");
        assert_eq!(rows[1].predicted, "");
        std::fs::write(&p, "id,gold,predicted,p_a,p_b\nr0,a,a|c,1.0,0.5\n").unwrap();
        assert!(read_predictions(&p).is_err());
        std::fs::write(&p, "id,gold,predicted\nr0,1.5,2.25\n").unwrap();
        let (l, rows) = read_predictions(&p).unwrap();
        assert!(l.is_empty() && rows[0].probs.is_empty());
        std::fs::write(&p, "id,gold,predicted\nr0,1.5,high\n").unwrap();
        let e = read_predictions(&p).unwrap_err().to_string();
        assert!(e.contains("not a number"), "{e}");
    }
}
