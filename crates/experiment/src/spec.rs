//! [`ExperimentSpec`]: everything that decides a run, typed. `textclf train` and
//! `textclf baseline` turn their flags into one; a sweep writes one per run
//! (`<run>/spec.json`) for its child to run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use textclf_data::{Format, ReadOptions};
pub use textclf_linear::ClassWeights;
use textclf_linear::LinearParams;

use crate::error::{ExperimentError, Result};
use crate::fine_tune::TransformerSpec;

/// The file a sweep writes into each run's folder.
pub const SPEC_FILE: &str = "spec.json";

/// One experiment: data, model family and its settings, evaluation and what to keep.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExperimentSpec {
    /// Format version of the spec file.
    #[serde(default)]
    pub format: u32,
    pub data: DataSpec,
    pub model: ModelSpec,
    pub eval: EvalSpec,
    /// How much each class counts in the loss, for every family (`balanced`: n / (k · n_c)).
    #[serde(default)]
    pub class_weights: ClassWeights,
    /// Save the fitted model into `<out>/model`.
    pub save_model: bool,
}

/// The model family and its settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum ModelSpec {
    /// A linear baseline (TF-IDF + LR / SVM / NBSVM). Its `class_weights` and `seed` are
    /// set from the experiment's (`class_weights`, `data.seed`).
    Linear { params: LinearParams },
    /// A fine-tuned transformer. Its trainer's `seed` and `class_weights` are set from
    /// the experiment's.
    Transformer { settings: TransformerSpec },
    /// A model saved by an earlier run, scored on one labelled file (`textclf eval`).
    Saved {
        path: PathBuf,
        #[serde(default)]
        int8: bool,
    },
}

/// Where the data comes from and how it is split.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DataSpec {
    pub source: DataSource,
    #[serde(default)]
    pub columns: Columns,
    /// Seed for splitting, subsetting and training.
    pub seed: u64,
    /// Keep a stratified fraction of the pool (or of train) before splitting.
    #[serde(default)]
    pub subset_frac: Option<f64>,
    /// Keep at most this many examples per class.
    #[serde(default)]
    pub per_class: Option<usize>,
    /// The stratified share of train held out for validation when there is no validation
    /// split (`--valid-frac`): a fine-tune validates on it, a baseline chooses C on it and
    /// then refits on all of train.
    #[serde(default = "default_valid_frac")]
    pub valid_frac: f64,
}

/// The declared default of `--valid-frac` (0.1).
pub fn default_valid_frac() -> f64 {
    0.1
}

impl DataSpec {
    /// Refuses a validation share that is not a share of train (a baseline's holdout
    /// must also be below one half: [`LinearParams::check`]).
    pub fn check(&self) -> Result<()> {
        if !(self.valid_frac > 0.0 && self.valid_frac < 1.0) {
            return Err(ExperimentError::Invalid(format!(
                "--valid-frac {} must be above 0 and below 1 (e.g. 0.1: a tenth of train held out for validation)",
                self.valid_frac
            )));
        }
        Ok(())
    }
}

/// Train/valid/test files, or one pool split by fractions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DataSource {
    Files {
        train: PathBuf,
        #[serde(default)]
        valid: Option<PathBuf>,
        test: PathBuf,
    },
    Pool {
        files: Vec<PathBuf>,
        /// Train, valid and test fractions, summing to one.
        fractions: [f64; 3],
    },
    /// One labelled file to score a saved model on.
    Test { file: PathBuf },
}

/// How to find the text, label and id in a file (auto-detected when not given).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Columns {
    #[serde(default)]
    pub text_col: Option<String>,
    #[serde(default)]
    pub label_col: Option<String>,
    #[serde(default)]
    pub id_col: Option<String>,
    #[serde(default)]
    pub format: Option<Format>,
    /// The second text's column of sentence pairs (auto-detected when `None`).
    #[serde(default)]
    pub pair_col: Option<String>,
    /// One 0/1 column per label, for multi-label data stored one-hot.
    #[serde(default)]
    pub label_cols: Option<Vec<String>>,
    /// The separator of several labels in one cell.
    #[serde(default = "default_label_sep")]
    pub label_sep: String,
    /// The task; inferred from the training labels when `None`.
    #[serde(default)]
    pub task: Option<textclf_core::Task>,
}

fn default_label_sep() -> String {
    "|".into()
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            text_col: None,
            label_col: None,
            id_col: None,
            format: None,
            pair_col: None,
            label_cols: None,
            label_sep: default_label_sep(),
            task: None,
        }
    }
}

impl Columns {
    /// How label strings become targets.
    pub fn target_options(&self) -> textclf_data::TargetOptions {
        textclf_data::TargetOptions {
            task: self.task,
            label_sep: self.label_sep.clone(),
        }
    }

    /// Read options for labelled (or unlabelled) data.
    pub fn read_options(&self, labelled: bool) -> ReadOptions {
        let mut o = if labelled {
            ReadOptions::labelled()
        } else {
            ReadOptions::unlabelled()
        };
        o.text_col = self.text_col.clone();
        o.label_col = self.label_col.clone();
        o.id_col = self.id_col.clone();
        o.pair_col = self.pair_col.clone();
        o.label_cols = self.label_cols.clone();
        o.format = self.format;
        o
    }
}

/// How runs are evaluated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvalSpec {
    /// Bootstrap resamples for the test report's confidence intervals.
    pub bootstrap: usize,
}

impl ExperimentSpec {
    /// The version this textclf writes.
    pub const FORMAT: u32 = 1;

    /// Reads a spec file. Errors name the file and the line.
    pub fn read(path: &Path) -> Result<ExperimentSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ExperimentError::Invalid(format!("cannot read {}: {e}", path.display()))
        })?;
        let spec: ExperimentSpec = serde_json::from_str(&text).map_err(|e| {
            ExperimentError::Invalid(format!("{}: not an experiment spec: {e}", path.display()))
        })?;
        if spec.format > Self::FORMAT {
            return Err(ExperimentError::Invalid(format!(
                "{}: format {} was written by a newer textclf (this one reads up to {}); upgrade textclf",
                path.display(),
                spec.format,
                Self::FORMAT
            )));
        }
        Ok(spec)
    }

    /// Writes the spec file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(textclf_runs::write_json(path, self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use textclf_linear::LinearKind;

    #[test]
    fn a_spec_round_trips_through_its_file() {
        let t = tempfile::tempdir().unwrap();
        let spec = ExperimentSpec {
            format: ExperimentSpec::FORMAT,
            data: DataSpec {
                source: DataSource::Pool {
                    files: vec!["a.csv".into()],
                    fractions: [0.8, 0.1, 0.1],
                },
                columns: Columns {
                    format: Some(Format::Csv),
                    ..Columns::default()
                },
                seed: 7,
                subset_frac: None,
                valid_frac: default_valid_frac(),
                per_class: Some(10),
            },
            model: ModelSpec::Linear {
                params: LinearParams::new(LinearKind::Nbsvm),
            },
            eval: EvalSpec { bootstrap: 0 },
            class_weights: ClassWeights::Explicit(vec![1.0, 2.0]),
            save_model: false,
        };
        let p = t.path().join(SPEC_FILE);
        spec.write(&p).unwrap();
        assert_eq!(ExperimentSpec::read(&p).unwrap(), spec);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("\"family\": \"linear\""), "{text}");
        std::fs::write(&p, text.replace("\"seed\": 7", "\"seed\": \"x\"")).unwrap();
        let e = ExperimentSpec::read(&p).unwrap_err().to_string();
        assert!(e.contains("spec.json") && e.contains("line"), "{e}");
    }
}
