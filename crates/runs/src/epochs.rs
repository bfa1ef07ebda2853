//! `epochs.csv`: a transformer run's validations, one row each, for spreadsheets (the
//! same records as `epochs` of `metrics.json`, rounded). Format 1, told by its header.

use std::path::Path;

use crate::atomic::write_atomic;
use crate::error::{Result, RunsError};
use crate::metrics::EpochRecord;

/// The file name.
pub const EPOCHS_FILE: &str = "epochs.csv";

const HEADER: [&str; 13] = [
    "epoch",
    "step",
    "epoch_end",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "val_macro_f1",
    "lr",
    "train_seconds",
    "samples_per_s",
    "tokens_per_s",
    "padding_waste",
];

/// Writes `<dir>/epochs.csv` atomically (epochs 1-based, as in the records).
pub fn write_epochs_csv(dir: &Path, records: &[EpochRecord]) -> Result<()> {
    let path = dir.join(EPOCHS_FILE);
    let err = |e: csv::Error| RunsError::Csv {
        path: path.clone(),
        line: e.position().map_or(0, |p| p.line()),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).map_err(err)?;
    for r in records {
        w.write_record([
            r.epoch.to_string(),
            r.step.to_string(),
            r.epoch_end.to_string(),
            format!("{:.6}", r.train_loss),
            format!("{:.6}", r.train_accuracy),
            format!("{:.6}", r.val_loss),
            format!("{:.6}", r.val_accuracy),
            format!("{:.6}", r.val_macro_f1),
            format!("{:.3e}", r.lr),
            format!("{:.3}", r.train_seconds),
            format!("{:.3}", r.samples_per_s),
            format!("{:.1}", r.tokens_per_s),
            format!("{:.4}", r.padding_waste),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| RunsError::io(&path, e.into_error()))?;
    write_atomic(&path, &bytes)
}

/// Reads `<dir>/epochs.csv`. Errors name the file, the line and the column.
pub fn read_epochs_csv(dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = dir.join(EPOCHS_FILE);
    let bad = |line: u64, reason: String| RunsError::Csv {
        path: path.clone(),
        line,
        reason,
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(&path)
        .map_err(|e| bad(0, e.to_string()))?;
    let header = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    if header.iter().ne(HEADER) {
        return Err(bad(1, format!("the header must be {}", HEADER.join(","))));
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let num = |i: usize| -> Result<f64> {
            rec[i].parse::<f64>().map_err(|_| {
                bad(
                    line,
                    format!("{} is '{}', not a number", HEADER[i], &rec[i]),
                )
            })
        };
        let whole = |i: usize| -> Result<u64> {
            rec[i].parse::<u64>().map_err(|_| {
                bad(
                    line,
                    format!("{} is '{}', not a whole number", HEADER[i], &rec[i]),
                )
            })
        };
        out.push(EpochRecord {
            epoch: whole(0)? as usize,
            step: whole(1)?,
            epoch_end: rec[2].parse::<bool>().map_err(|_| {
                bad(
                    line,
                    format!("epoch_end is '{}', not true or false", &rec[2]),
                )
            })?,
            train_loss: num(3)?,
            train_accuracy: num(4)?,
            val_loss: num(5)?,
            val_accuracy: num(6)?,
            val_macro_f1: num(7)?,
            // epochs.csv has the figures every task shares; metrics.json has these.
            val_micro_f1: None,
            val_pearson: None,
            lr: num(8)?,
            train_seconds: num(9)?,
            samples_per_s: num(10)?,
            tokens_per_s: num(11)?,
            padding_waste: num(12)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_round_trip_rounded() {
        let t = tempfile::tempdir().unwrap();
        let r = EpochRecord {
            epoch: 1,
            step: 12,
            epoch_end: false,
            train_loss: 0.5,
            train_accuracy: 0.75,
            val_loss: f64::NAN,
            val_accuracy: 0.625,
            val_macro_f1: 0.5,
            val_micro_f1: None,
            val_pearson: None,
            lr: 2e-5,
            train_seconds: 1.5,
            samples_per_s: 10.0,
            tokens_per_s: 100.0,
            padding_waste: 0.25,
        };
        write_epochs_csv(t.path(), std::slice::from_ref(&r)).unwrap();
        let text = std::fs::read_to_string(t.path().join(EPOCHS_FILE)).unwrap();
        assert!(
            text.ends_with("1,12,false,0.500000,0.750000,NaN,0.625000,0.500000,2.000e-5,1.500,10.000,100.0,0.2500\n"),
            "{text}"
        );
        let back = read_epochs_csv(t.path()).unwrap();
        assert_eq!(back[0].step, 12);
        assert!(back[0].val_loss.is_nan());
        assert_eq!(back[0].lr, 2e-5);
        std::fs::write(t.path().join(EPOCHS_FILE), text.replace("0.750000", "x")).unwrap();
        let e = read_epochs_csv(t.path()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("train_accuracy"), "{e}");
    }
}
