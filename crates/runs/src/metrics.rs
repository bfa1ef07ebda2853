//! `metrics.json`: what a run measured and how it was made, typed, with one writer
//! ([`MetricsRecord::write`]) and one reader ([`MetricsRecord::read`]).
//!
//! The file is one JSON object: the test report's fields at the top level (the report
//! type `R` is the evaluation's, e.g. `textclf_eval::Report`; this crate only places
//! it), then `timing`, `format`, `command` and the sections of the command that wrote
//! it ([`RunBody`]). The trainer's settings (`train_config`) are typed by
//! `textclf-settings`, which declares them; a linear model's `params` and `fit` by the
//! linear crate, whose four model shapes hold different settings ([`LinearModel`]).
//!
//! Format 1 (files without `format`) counted `epochs[].epoch` from 0; the reader turns
//! them into format 2's 1-based numbers, as `best_epoch`, `epochs.csv` and the console
//! count.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use textclf_linear::{RecordedFit, RecordedParams, Shape};
use textclf_settings::train::TrainConfig;

use crate::thresholds::Thresholds;

use crate::atomic::write_atomic;
use crate::error::{Result, RunsError};
use crate::record::Family;
use crate::timing::Timing;
use crate::typed::{check_format, parse, read_text};
use textclf_core::null_as_nan;

/// The file name of a run's metrics.
pub const METRICS_FILE: &str = "metrics.json";
/// The version of `metrics.json` this textclf writes (its `format` key).
pub const METRICS_FORMAT: u32 = 2;

/// `metrics.json`.
#[derive(Clone, Debug)]
pub struct MetricsRecord<R> {
    /// The version the file was written in (1 for files without `format`).
    pub format: u32,
    /// The test report (top-level keys).
    pub test: R,
    pub timing: Timing,
    /// The command that wrote the run, and its sections.
    pub run: RunBody,
}

/// The command that wrote a run (`command`) and what only that command records.
// One per file read: its size does not matter, and unboxed sections are simpler to build.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum RunBody {
    Train(TrainRun),
    Baseline(BaselineRun),
    Eval(EvalRun),
    Ensemble(EnsembleRun),
}

impl RunBody {
    /// A multi-label run's per-label decision thresholds as `(label, threshold)`, from
    /// where its command records them: a fine-tuned run's `thresholds` (per label `label`
    /// and `threshold`), a linear run's `model.fit.thresholds` (one per label, in
    /// `data.labels` order), an ensemble's `model.thresholds`. `None` for other tasks, for
    /// `eval` runs and when the record holds none.
    pub fn decision_thresholds(&self) -> Option<Vec<(String, f64)>> {
        match self {
            RunBody::Train(t) => Some(
                t.thresholds
                    .as_ref()?
                    .labels
                    .iter()
                    .map(|l| (l.label.clone(), f64::from(l.threshold)))
                    .collect(),
            ),
            RunBody::Baseline(b) => {
                let values = b.model.fit.as_ref()?.thresholds()?.to_vec();
                (values.len() == b.data.labels.len())
                    .then(|| b.data.labels.iter().cloned().zip(values).collect())
            }
            RunBody::Ensemble(e) => {
                let t = e.model.thresholds.as_ref()?;
                Some(
                    t.labels
                        .iter()
                        .cloned()
                        .zip(t.values.iter().copied())
                        .collect(),
                )
            }
            RunBody::Eval(_) => None,
        }
    }

    /// The `command` key.
    pub fn command(&self) -> &'static str {
        match self {
            RunBody::Train(_) => "train",
            RunBody::Baseline(_) => "baseline",
            RunBody::Eval(_) => "eval",
            RunBody::Ensemble(_) => "ensemble",
        }
    }
}

/// One validation of a transformer run (at an epoch end, or every N steps), as the trainer
/// makes it and `metrics.json` records it. Without validation data the `val_*` fields are
/// NaN (null in JSON).
///
/// By task: `val_loss` is cross-entropy, BCE or MSE; `val_accuracy` and `val_macro_f1`
/// are accuracy and macro-F1 (single-label), subset accuracy and macro-F1 at threshold 0.5
/// (multi-label) or NaN (regression); `train_accuracy` is likewise the share of exactly
/// right training rows (NaN for regression).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Optimizer steps so far.
    pub step: u64,
    /// True at the end of an epoch (false for a mid-epoch validation).
    #[serde(default = "yes")]
    pub epoch_end: bool,
    #[serde(deserialize_with = "null_as_nan")]
    pub train_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub train_accuracy: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_accuracy: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_macro_f1: f64,
    /// Multi-label: micro-F1 with every label at threshold 0.5 (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_micro_f1: Option<f64>,
    /// Regression: Pearson's r (absent for other tasks; null when it is not a number,
    /// as for constant predictions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_pearson: Option<f64>,
    #[serde(default, deserialize_with = "null_as_nan")]
    pub lr: f64,
    /// Training seconds since the start of the run (validation excluded).
    #[serde(default, deserialize_with = "null_as_nan")]
    pub train_seconds: f64,
    #[serde(default, deserialize_with = "null_as_nan")]
    pub samples_per_s: f64,
    #[serde(default, deserialize_with = "null_as_nan")]
    pub tokens_per_s: f64,
    /// Share of padded positions in the epoch's batches.
    #[serde(default, deserialize_with = "null_as_nan")]
    pub padding_waste: f64,
}

fn yes() -> bool {
    true
}

/// The weight average of a transformer run and its validation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AveragedRecord {
    /// The first optimizer step whose validation point entered the average.
    pub from_step: u64,
    /// How many validation points were averaged.
    pub count: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_accuracy: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub val_macro_f1: f64,
    /// Multi-label micro-F1 at threshold 0.5 (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_micro_f1: Option<f64>,
    /// Regression: Pearson's r (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_pearson: Option<f64>,
    /// The run ends with the averaged weights: they validated better than the best single
    /// checkpoint, or there was no validation data to compare on.
    pub kept: bool,
}

/// `valid`: the validation figures of the model that was kept.
///
/// By task: single-label runs give accuracy, macro-F1 and log loss; multi-label runs give
/// subset accuracy as `accuracy`, macro-F1 and `micro_f1` (with the decision thresholds
/// the model predicts with), and null `log_loss`; regression runs give `pearson` and
/// `spearman`, with null `accuracy` and `log_loss`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ValidSummary {
    #[serde(deserialize_with = "null_as_nan")]
    pub accuracy: f64,
    /// Not known for a linear model's holdout (null).
    pub macro_f1: Option<f64>,
    #[serde(deserialize_with = "null_as_nan")]
    pub log_loss: f64,
    pub n: usize,
    /// `holdout` when C was chosen on a holdout of train (no validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Multi-label: micro-F1 (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_f1: Option<f64>,
    /// Regression: Pearson's r (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pearson: Option<f64>,
    /// Regression: Spearman's ρ (absent for other tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spearman: Option<f64>,
}

/// Rows per class, in label order (a JSON object from label to count).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassCounts(pub Vec<(String, u64)>);

impl Serialize for ClassCounts {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for ClassCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        m.into_iter()
            .map(|(k, v)| match v.as_u64() {
                Some(n) => Ok((k, n)),
                None => Err(serde::de::Error::custom(format!(
                    "the count of class '{k}' is {v}, not a whole number"
                ))),
            })
            .collect::<std::result::Result<_, _>>()
            .map(ClassCounts)
    }
}

/// A split of the data: its name, rows and rows per class (what is known).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SplitInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub rows: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<ClassCounts>,
}

/// Token lengths (untruncated) of a sample of the training texts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TokenLengths {
    pub max_len: usize,
    /// Texts whose token lengths were counted.
    pub sampled: usize,
    /// Share of those longer than `max_len` tokens (special tokens included).
    pub truncated_share: f64,
    pub p50: usize,
    pub p90: usize,
    pub max: usize,
    /// Sentence pairs only: how truncation to `max_len` fell on the two texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<PairTruncation>,
}

/// How truncating sentence pairs to `max_len` fell on their two texts (shares of the
/// sampled pairs; a pair can lose tokens of both).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PairTruncation {
    /// The truncation strategy (`longest_first`, `only_first`, `only_second`).
    pub strategy: String,
    /// Share of pairs whose first text lost tokens.
    pub first_cut_share: f64,
    /// Share of pairs whose second text lost tokens.
    pub second_cut_share: f64,
    /// Median token length of the first and of the second texts (untruncated).
    pub first_p50: usize,
    pub second_p50: usize,
}

/// `textclf train`: a fine-tuned transformer.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TrainRun {
    /// Every validation, in order.
    pub epochs: Vec<EpochRecord>,
    /// 1-based epoch of the best validation.
    #[serde(default)]
    pub best_epoch: Option<usize>,
    #[serde(default)]
    pub best: Option<EpochRecord>,
    #[serde(default)]
    pub val_accuracy_at_min_val_loss: Option<f64>,
    #[serde(default)]
    pub valid: Option<ValidSummary>,
    #[serde(default)]
    pub stopped_early: bool,
    #[serde(default)]
    pub restored_best_weights: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub averaged: Option<AveragedRecord>,
    /// Multi-label: the per-label decision thresholds tuned on validation after training,
    /// as the evaluation tuned them. Absent for other tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    pub model: TransformerModel,
    pub data: TrainData,
}

/// `model` of a fine-tuned transformer.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TransformerModel {
    pub kind: String,
    /// The model folder or Hub id it started from.
    pub source: String,
    /// The transformers class (e.g. `BertForSequenceClassification`).
    #[serde(default)]
    pub class: String,
    pub layers: usize,
    /// The encoder layers kept by `--layers` (all of them otherwise; absent in files
    /// written before it was recorded).
    #[serde(default)]
    pub kept_layers: Option<Vec<usize>>,
    #[serde(default)]
    pub parameters: Option<u64>,
    #[serde(default)]
    pub fresh_parameters: Vec<String>,
    pub max_len: usize,
    #[serde(default)]
    pub truncation: Option<String>,
    /// The trainer's settings (see [`TrainConfig::recorded`] for one setting by its key).
    pub train_config: TrainConfig,
    #[serde(default)]
    pub grad_checkpoint: bool,
    #[serde(default)]
    pub device: Option<String>,
}

/// `data` of a fine-tuned transformer run.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TrainData {
    pub labels: Vec<String>,
    pub train: SplitInfo,
    pub valid: Option<SplitInfo>,
    pub test: SplitInfo,
    pub seed: u64,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub token_lengths: Option<TokenLengths>,
}

/// `textclf baseline`: a linear model.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BaselineRun {
    pub model: LinearModel,
    /// Null when nothing was held out for validation.
    #[serde(default)]
    pub valid: Option<ValidSummary>,
    pub data: BaselineData,
}

/// `model` of a linear baseline: its kind, its settings (`params`) and how it was fitted
/// (`fit`), in the linear crate's own types. Which of their shapes a file holds follows
/// from `kind` ([`Shape::of_kind`]); a hand-made record may leave either out.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(try_from = "LinearModelFile")]
pub struct LinearModel {
    pub kind: String,
    pub params: Option<RecordedParams>,
    pub fit: Option<RecordedFit>,
}

/// A [`LinearModel`] as the file holds it, before `kind` says how to read the rest.
#[derive(Deserialize)]
struct LinearModelFile {
    kind: String,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    fit: Value,
}

impl TryFrom<LinearModelFile> for LinearModel {
    type Error = String;

    fn try_from(f: LinearModelFile) -> std::result::Result<Self, String> {
        /// `value` as a `T`, naming the field inside `model` (`fit.c_search[0].c`) when
        /// it is not (the reader adds the file and `model`).
        fn read<T: serde::de::DeserializeOwned>(
            value: Value,
            field: &str,
        ) -> std::result::Result<T, String> {
            serde_path_to_error::deserialize(value).map_err(|e| match e.path().to_string() {
                at if at == "." => format!("`{field}`: {}", e.inner()),
                at => format!("`{field}.{at}`: {}", e.inner()),
            })
        }
        let shape = || {
            Shape::of_kind(&f.kind).ok_or_else(|| {
                format!(
                    "kind '{}' is not a linear model this textclf makes (written by a newer textclf? upgrade it)",
                    f.kind
                )
            })
        };
        let params = match f.params {
            Value::Null => None,
            v => Some(match shape()? {
                Shape::Single => RecordedParams::Single(read(v, "params")?),
                Shape::Pair => RecordedParams::Pair(read(v, "params")?),
                Shape::MultiLabel => RecordedParams::MultiLabel(read(v, "params")?),
                Shape::Regression => RecordedParams::Regression(read(v, "params")?),
            }),
        };
        let fit = match f.fit {
            Value::Null => None,
            v => Some(match shape()? {
                Shape::Single | Shape::Pair => RecordedFit::Classifier(read(v, "fit")?),
                Shape::MultiLabel => RecordedFit::MultiLabel(read(v, "fit")?),
                Shape::Regression => RecordedFit::Regression(read(v, "fit")?),
            }),
        };
        Ok(LinearModel {
            kind: f.kind,
            params,
            fit,
        })
    }
}

/// `data` of a linear baseline run.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BaselineData {
    pub labels: Vec<String>,
    pub train: SplitInfo,
    /// The validation split, or the holdout C was chosen on; null when neither.
    #[serde(default)]
    pub valid: Option<SplitInfo>,
    pub test: SplitInfo,
    pub seed: u64,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// `textclf eval`: a saved model scored on a labelled file.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EvalRun {
    pub model: SavedModel,
    pub data: EvalData,
}

/// `model` of an `eval` run: the saved model that was scored.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SavedModel {
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub int8: bool,
}

/// `data` of an `eval` run.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EvalData {
    pub test: SplitInfo,
}

/// `textclf ensemble`: runs mixed by weights.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EnsembleRun {
    pub model: EnsembleModel,
    /// When every member wrote its validation predictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<ValidSummary>,
    pub data: EnsembleData,
}

/// `model` of an ensemble.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EnsembleModel {
    /// `ensemble`.
    pub kind: String,
    /// How the weights were chosen.
    pub weights: String,
    pub members: Vec<EnsembleMember>,
    /// Multi-label ensembles: the per-label decision thresholds applied to the averaged
    /// scores, and how they were chosen (absent for other tasks and in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<EnsembleThresholds>,
}

/// The decision thresholds of a multi-label ensemble.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EnsembleThresholds {
    /// How they were chosen: `tuned on the averaged validation scores` or `the members'
    /// mean threshold` (and where the members' came from).
    pub chosen: String,
    /// Label names, in the order of `values`.
    pub labels: Vec<String>,
    /// One threshold per label.
    pub values: Vec<f64>,
}

/// One member of an ensemble.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EnsembleMember {
    /// The member's run folder.
    pub run: String,
    /// Its `model.kind`.
    pub kind: Option<String>,
    pub weight: f64,
    /// Single-label members: test accuracy (null for the other tasks).
    pub test_accuracy: Option<f64>,
    /// The member's headline test measure under its task's name (`accuracy`,
    /// `micro_f1`, `pearson`), absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_metric: Option<String>,
    /// Its value (null when undefined, e.g. the correlation of constant predictions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_score: Option<f64>,
}

/// `data` of an ensemble.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EnsembleData {
    pub labels: Vec<String>,
    pub test: SplitInfo,
}

/// What every file has besides the report and the command's sections.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    format: Option<u32>,
    #[serde(default)]
    timing: Timing,
    command: String,
}

impl<R: Serialize + DeserializeOwned> MetricsRecord<R> {
    /// A record in the current format.
    pub fn new(test: R, timing: Timing, run: RunBody) -> Self {
        MetricsRecord {
            format: METRICS_FORMAT,
            test,
            timing,
            run,
        }
    }

    /// The file's JSON: the report's keys, `timing`, `format`, `command`, then the
    /// command's sections in their order. A section that would overwrite a report key is
    /// an error.
    pub fn to_json(&self) -> Result<Value> {
        let json_err = |source| RunsError::Json {
            path: METRICS_FILE.into(),
            source,
        };
        let mut top = match serde_json::to_value(&self.test).map_err(json_err)? {
            Value::Object(m) => m,
            _ => {
                return Err(RunsError::Invalid(
                    "the test report must serialize to a JSON object".into(),
                ))
            }
        };
        top.insert(
            "timing".into(),
            serde_json::to_value(&self.timing).map_err(json_err)?,
        );
        top.insert("format".into(), Value::from(self.format));
        let body = match &self.run {
            RunBody::Train(b) => serde_json::to_value(b),
            RunBody::Baseline(b) => serde_json::to_value(b),
            RunBody::Eval(b) => serde_json::to_value(b),
            RunBody::Ensemble(b) => serde_json::to_value(b),
        }
        .map_err(json_err)?;
        let mut extra = Map::new();
        extra.insert("command".into(), Value::from(self.run.command()));
        if let Value::Object(m) = body {
            extra.extend(m);
        }
        for (key, value) in extra {
            if top.contains_key(&key) {
                return Err(RunsError::Invalid(format!(
                    "{METRICS_FILE} key '{key}' would overwrite a metric of the same name"
                )));
            }
            top.insert(key, value);
        }
        Ok(Value::Object(top))
    }

    /// Writes `<dir>/metrics.json` atomically (creating `dir` if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(METRICS_FILE);
        let mut bytes =
            serde_json::to_vec_pretty(&self.to_json()?).map_err(|source| RunsError::Json {
                path: path.clone(),
                source,
            })?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes)
    }

    /// Reads `<dir>/metrics.json`. Errors name the file and the field; a file of a newer
    /// format is refused.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(METRICS_FILE);
        Self::parse(&path, &read_text(&path)?)
    }

    /// Parses the text of a `metrics.json` (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let head: Head = parse(path, text)?;
        let format = head.format.unwrap_or(1);
        check_format(path, format, METRICS_FORMAT)?;
        let test: R = parse(path, text)?;
        let mut run = match head.command.as_str() {
            "train" => RunBody::Train(parse(path, text)?),
            "baseline" => RunBody::Baseline(parse(path, text)?),
            "eval" => RunBody::Eval(parse(path, text)?),
            "ensemble" => RunBody::Ensemble(parse(path, text)?),
            other => {
                return Err(RunsError::Invalid(format!(
                    "{}: field `command`: '{other}' is not a textclf command that writes runs (train, baseline, eval, ensemble)",
                    path.display()
                )))
            }
        };
        if format < 2 {
            if let RunBody::Train(t) = &mut run {
                for e in t.epochs.iter_mut().chain(t.best.as_mut()) {
                    e.epoch += 1;
                }
            }
        }
        Ok(MetricsRecord {
            format,
            test,
            timing: head.timing,
            run,
        })
    }

    /// Fine-tuned transformer or linear baseline; `None` for `eval` and `ensemble` runs.
    pub fn family(&self) -> Option<Family> {
        match self.run {
            RunBody::Train(_) => Some(Family::Transformer),
            RunBody::Baseline(_) => Some(Family::Linear),
            _ => None,
        }
    }

    /// `model.kind`.
    pub fn model_kind(&self) -> &str {
        match &self.run {
            RunBody::Train(b) => &b.model.kind,
            RunBody::Baseline(b) => &b.model.kind,
            RunBody::Eval(b) => &b.model.kind,
            RunBody::Ensemble(b) => &b.model.kind,
        }
    }

    /// `data.labels`, when recorded.
    pub fn labels(&self) -> Option<&[String]> {
        match &self.run {
            RunBody::Train(b) => Some(&b.data.labels),
            RunBody::Baseline(b) => Some(&b.data.labels),
            RunBody::Eval(_) => None,
            RunBody::Ensemble(b) => Some(&b.data.labels),
        }
    }

    /// `data.train`, when recorded.
    pub fn train_split(&self) -> Option<&SplitInfo> {
        match &self.run {
            RunBody::Train(b) => Some(&b.data.train),
            RunBody::Baseline(b) => Some(&b.data.train),
            _ => None,
        }
    }

    /// `data.valid`, when recorded.
    pub fn valid_split(&self) -> Option<&SplitInfo> {
        match &self.run {
            RunBody::Train(b) => b.data.valid.as_ref(),
            RunBody::Baseline(b) => b.data.valid.as_ref(),
            _ => None,
        }
    }

    /// `data.test`.
    pub fn test_split(&self) -> &SplitInfo {
        match &self.run {
            RunBody::Train(b) => &b.data.test,
            RunBody::Baseline(b) => &b.data.test,
            RunBody::Eval(b) => &b.data.test,
            RunBody::Ensemble(b) => &b.data.test,
        }
    }

    /// `data.seed`, when recorded.
    pub fn seed(&self) -> Option<u64> {
        match &self.run {
            RunBody::Train(b) => Some(b.data.seed),
            RunBody::Baseline(b) => Some(b.data.seed),
            _ => None,
        }
    }

    /// `valid`: the validation summary, when there is one.
    pub fn valid(&self) -> Option<&ValidSummary> {
        match &self.run {
            RunBody::Train(b) => b.valid.as_ref(),
            RunBody::Baseline(b) => b.valid.as_ref(),
            RunBody::Eval(_) => None,
            RunBody::Ensemble(b) => b.valid.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    struct Toy {
        n: usize,
        accuracy: f64,
    }

    fn epoch(e: usize) -> EpochRecord {
        EpochRecord {
            epoch: e,
            step: 10 * e as u64,
            epoch_end: true,
            train_loss: 0.5,
            train_accuracy: 0.7,
            val_loss: f64::NAN,
            val_accuracy: 0.6,
            val_macro_f1: 0.6,
            val_micro_f1: None,
            val_pearson: None,
            lr: 1e-5,
            train_seconds: 3.0,
            samples_per_s: 30.0,
            tokens_per_s: 900.0,
            padding_waste: 0.1,
        }
    }

    fn split(rows: usize) -> SplitInfo {
        SplitInfo {
            name: Some("train.csv".into()),
            rows,
            per_class: Some(ClassCounts(vec![("pos".into(), 3), ("neg".into(), 1)])),
        }
    }

    fn train_record() -> MetricsRecord<Toy> {
        let mut timing = Timing::new();
        timing.add("train", 2.0);
        MetricsRecord::new(
            Toy {
                n: 4,
                accuracy: 0.75,
            },
            timing,
            RunBody::Train(TrainRun {
                epochs: vec![epoch(1), epoch(2)],
                best_epoch: Some(2),
                best: Some(epoch(2)),
                val_accuracy_at_min_val_loss: None,
                thresholds: None,
                valid: Some(ValidSummary {
                    accuracy: 0.6,
                    macro_f1: Some(0.6),
                    log_loss: 0.7,
                    n: 4,
                    split: None,
                    ..ValidSummary::default()
                }),
                stopped_early: false,
                restored_best_weights: true,
                averaged: None,
                model: TransformerModel {
                    kind: "bert".into(),
                    source: "models/tiny".into(),
                    class: "BertForSequenceClassification".into(),
                    layers: 2,
                    kept_layers: Some(vec![0, 1]),
                    parameters: Some(100),
                    fresh_parameters: vec![],
                    max_len: 64,
                    truncation: Some("head".into()),
                    train_config: TrainConfig {
                        epochs: 2,
                        lr: 5e-5,
                        ..TrainConfig::default()
                    },
                    grad_checkpoint: false,
                    device: Some("cpu".into()),
                },
                data: TrainData {
                    labels: vec!["pos".into(), "neg".into()],
                    train: split(4),
                    valid: Some(split(4)),
                    test: split(4),
                    seed: 42,
                    notes: vec![],
                    token_lengths: None,
                },
            }),
        )
    }

    #[test]
    fn decision_thresholds_are_read_where_each_command_records_them() {
        let mut train = train_record();
        assert_eq!(train.run.decision_thresholds(), None);
        if let RunBody::Train(t) = &mut train.run {
            t.thresholds = Some(
                serde_json::from_value(serde_json::json!({"method": "f1", "micro_f1": 0.5,
                "labels": [{"label": "pos", "threshold": 0.375, "f1": 0.5, "tuned": true},
                {"label": "neg", "threshold": 0.625, "f1": 0.4, "tuned": true}]}))
                .unwrap(),
            );
        }
        assert_eq!(
            train.run.decision_thresholds(),
            Some(vec![("pos".into(), 0.375), ("neg".into(), 0.625)])
        );
        let baseline = r#"{"n": 4, "accuracy": 0.75, "command": "baseline", "format": 2,
            "model": {"kind": "tfidf-lr-multilabel", "fit": {"chosen_c": 1.0, "thresholds": [0.25, 0.5]}},
            "data": {"labels": ["a", "b"], "train": {"rows": 4}, "test": {"rows": 4}, "seed": 1}}"#;
        let b = MetricsRecord::<Toy>::parse(Path::new("metrics.json"), baseline).unwrap();
        assert_eq!(
            b.run.decision_thresholds(),
            Some(vec![("a".into(), 0.25), ("b".into(), 0.5)])
        );
        // One threshold per label or none: a count that does not match is no record.
        let wrong = baseline.replace("[0.25, 0.5]", "[0.25]");
        let w = MetricsRecord::<Toy>::parse(Path::new("metrics.json"), &wrong).unwrap();
        assert_eq!(w.run.decision_thresholds(), None);
    }

    #[test]
    fn ensemble_records_read_with_and_without_the_task_neutral_fields() {
        let old = r#"{"n": 4, "accuracy": 0.75, "command": "ensemble", "format": 2,
            "model": {"kind": "ensemble", "weights": "equal", "members": [
                {"run": "a", "kind": "tfidf-lr", "weight": 0.5, "test_accuracy": 0.7}]},
            "data": {"labels": ["neg", "pos"], "test": {"rows": 4}}}"#;
        let m = MetricsRecord::<Toy>::parse(Path::new("metrics.json"), old).unwrap();
        let RunBody::Ensemble(e) = &m.run else {
            panic!("not an ensemble")
        };
        assert_eq!(e.model.members[0].test_metric, None);
        assert_eq!(e.model.thresholds, None);
        // The new fields are written only when set, and read back.
        let mut e = e.clone();
        e.model.members[0].test_metric = Some("micro_f1".into());
        e.model.members[0].test_score = Some(0.5);
        e.model.thresholds = Some(EnsembleThresholds {
            chosen: "tuned on the averaged validation scores".into(),
            labels: vec!["neg".into(), "pos".into()],
            values: vec![0.4, 0.6],
        });
        let rec = MetricsRecord::new(m.test.clone(), m.timing.clone(), RunBody::Ensemble(e));
        let back = MetricsRecord::<Toy>::parse(
            Path::new("metrics.json"),
            &rec.to_json().unwrap().to_string(),
        )
        .unwrap();
        let RunBody::Ensemble(b) = back.run else {
            panic!("not an ensemble")
        };
        assert_eq!(b.model.members[0].test_score, Some(0.5));
        assert_eq!(b.model.thresholds.unwrap().values, vec![0.4, 0.6]);
        let plain = MetricsRecord::<Toy>::parse(Path::new("metrics.json"), old).unwrap();
        let text = plain.to_json().unwrap().to_string();
        assert!(
            !text.contains("test_metric") && !text.contains("thresholds"),
            "{text}"
        );
    }

    #[test]
    fn a_record_round_trips_in_its_key_order() {
        let t = tempfile::tempdir().unwrap();
        let r = train_record();
        r.write(t.path()).unwrap();
        let text = std::fs::read_to_string(t.path().join(METRICS_FILE)).unwrap();
        let keys: Vec<String> = serde_json::from_str::<Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "n",
                "accuracy",
                "timing",
                "format",
                "command",
                "epochs",
                "best_epoch",
                "best",
                "val_accuracy_at_min_val_loss",
                "valid",
                "stopped_early",
                "restored_best_weights",
                "model",
                "data"
            ]
        );
        // NaN is written as null and read back as NaN; class counts keep their order.
        assert!(text.contains("\"val_loss\": null"), "{text}");
        assert!(text.find("\"pos\": 3").unwrap() < text.find("\"neg\": 1").unwrap());
        let back = MetricsRecord::<Toy>::read(t.path()).unwrap();
        assert_eq!(back.test, r.test);
        assert_eq!(back.format, METRICS_FORMAT);
        assert_eq!(back.timing.total(), 2.0);
        let RunBody::Train(b) = &back.run else {
            panic!("not a train run")
        };
        assert_eq!(b.epochs[1].epoch, 2);
        assert!(b.epochs[0].val_loss.is_nan());
        assert_eq!(
            b.model.train_config.recorded("lr"),
            Some(serde_json::json!(5e-5))
        );
        assert_eq!(back.family(), Some(Family::Transformer));
        assert_eq!(back.test_split().rows, 4);
        // Writing what was read gives the same bytes.
        back.write(t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.path().join(METRICS_FILE)).unwrap(),
            text
        );
    }

    #[test]
    fn format_1_epochs_count_from_0_and_newer_formats_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let mut v = train_record().to_json().unwrap();
        v.as_object_mut().unwrap().remove("format");
        v["epochs"][0]["epoch"] = 0.into();
        v["epochs"][1]["epoch"] = 1.into();
        v["best"]["epoch"] = 1.into();
        std::fs::write(t.path().join(METRICS_FILE), v.to_string()).unwrap();
        let back = MetricsRecord::<Toy>::read(t.path()).unwrap();
        assert_eq!(back.format, 1);
        let RunBody::Train(b) = &back.run else {
            panic!()
        };
        assert_eq!(b.epochs[0].epoch, 1);
        assert_eq!(b.best.as_ref().unwrap().epoch, 2);
        v["format"] = 9.into();
        std::fs::write(t.path().join(METRICS_FILE), v.to_string()).unwrap();
        let e = MetricsRecord::<Toy>::read(t.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("newer textclf"), "{e}");
    }

    #[test]
    fn read_errors_name_the_file_and_the_field() {
        let t = tempfile::tempdir().unwrap();
        let mut v = train_record().to_json().unwrap();
        v["epochs"][1]["step"] = "ten".into();
        std::fs::write(t.path().join(METRICS_FILE), v.to_string()).unwrap();
        let e = MetricsRecord::<Toy>::read(t.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("metrics.json") && e.contains("epochs[1].step"),
            "{e}"
        );
        let mut v = train_record().to_json().unwrap();
        v["data"].as_object_mut().unwrap().remove("test");
        std::fs::write(t.path().join(METRICS_FILE), v.to_string()).unwrap();
        let e = MetricsRecord::<Toy>::read(t.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data") && e.contains("missing field `test`"),
            "{e}"
        );
        let mut v = train_record().to_json().unwrap();
        v["command"] = "dance".into();
        std::fs::write(t.path().join(METRICS_FILE), v.to_string()).unwrap();
        let e = MetricsRecord::<Toy>::read(t.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `command`"), "{e}");
        std::fs::write(t.path().join(METRICS_FILE), "{\"n\": 4,").unwrap();
        let e = MetricsRecord::<Toy>::read(t.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("metrics.json"), "{e}");
    }

    #[test]
    fn a_section_may_not_overwrite_a_report_key() {
        #[derive(Serialize, Deserialize)]
        struct Clash {
            command: String,
        }
        let r = MetricsRecord::new(
            Clash {
                command: "x".into(),
            },
            Timing::new(),
            train_record().run,
        );
        let e = r.to_json().unwrap_err().to_string();
        assert!(e.contains("'command'"), "{e}");
    }

    /// A linear `model` as a file holds it, read by its kind.
    fn linear(kind: &str, fit: Value) -> std::result::Result<LinearModel, String> {
        serde_json::from_value(serde_json::json!({"kind": kind, "fit": fit}))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_c_search_of_every_task_reads_with_the_share_c_was_chosen_by() {
        let fit = |kind: &str, v: Value| linear(kind, v).unwrap().fit.unwrap();
        let single = fit(
            "tfidf-lr",
            serde_json::json!({"chosen_c": 1.0,
            "c_search": [{"c": 1.0, "accuracy": 0.8, "fit_s": 0.1}]}),
        );
        assert!(matches!(single, RecordedFit::Classifier(_)));
        assert_eq!(single.share_scores(), Some(vec![(1.0, 0.8)]));
        let multi = fit(
            "tfidf-svm-multilabel-pair",
            serde_json::json!({"chosen_c": 4.0, "thresholds": [0.3, 0.6], "c_search": [
            {"c": 1.0, "micro_f1": 0.3, "micro_f1_at_half": 0.2, "fit_s": 0.1},
            {"c": 4.0, "micro_f1": 0.4, "micro_f1_at_half": 0.2, "fit_s": 0.1}]}),
        );
        assert_eq!(multi.share_scores(), Some(vec![(1.0, 0.3), (4.0, 0.4)]));
        assert_eq!(multi.thresholds(), Some(&[0.3, 0.6][..]));
        let point = serde_json::json!({"c": 1.0, "mse": 1.5, "pearson": 0.6, "fit_s": 0.1, "iterations": 3});
        let by_pearson = fit(
            "tfidf-ridge",
            serde_json::json!({"chosen_c": 1.0, "select_by": "pearson", "c_search": [point]}),
        );
        assert_eq!(by_pearson.share_scores(), Some(vec![(1.0, 0.6)]));
        let by_mse = fit(
            "tfidf-svr-pair",
            serde_json::json!({"chosen_c": 1.0, "select_by": "mse", "c_search": [point]}),
        );
        assert_eq!(by_mse.share_scores(), None);
        assert_eq!(by_mse.chosen_c(), Some(1.0));
        // A correlation of constant scores is NaN, which JSON holds as null.
        let constant = fit(
            "tfidf-cosine-pair",
            serde_json::json!({"chosen_c": null, "select_by": "pearson",
                "c_search": [{"c": 1.0, "mse": 2.0, "pearson": null}]}),
        );
        assert_eq!(constant.chosen_c(), None);
        assert_eq!(constant.share_scores(), None, "an undefined r ranks no C");
    }

    #[test]
    fn a_linear_model_that_does_not_read_names_its_kind_or_field() {
        let e = linear(
            "tfidf-lr",
            serde_json::json!({"chosen_c": 1.0, "c_search": [{"c": "one"}]}),
        )
        .unwrap_err();
        assert!(e.contains("`fit.c_search[0].c`"), "{e}");
        // A point without its score is an error too, not a score of 0.
        let e = linear(
            "tfidf-lr",
            serde_json::json!({"chosen_c": 1.0, "c_search": [{"c": 1.0}]}),
        )
        .unwrap_err();
        assert!(
            e.contains("`fit.c_search[0]`") && e.contains("accuracy"),
            "{e}"
        );
        // Through the file reader: the file, `model`, then the field inside it.
        let text = r#"{"n": 4, "accuracy": 0.75, "command": "baseline", "format": 2,
            "model": {"kind": "tfidf-lr", "fit": {"chosen_c": "one"}},
            "data": {"labels": ["a", "b"], "train": {"rows": 4}, "test": {"rows": 4}, "seed": 1}}"#;
        let e = MetricsRecord::<Toy>::parse(Path::new("runs/x/metrics.json"), text)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("runs/x/metrics.json")
                && e.contains("`model`")
                && e.contains("`fit.chosen_c`"),
            "{e}"
        );
        let e = linear("tfidf-xgboost", serde_json::json!({"chosen_c": 1.0})).unwrap_err();
        assert!(e.contains("'tfidf-xgboost'"), "{e}");
        // A kind this textclf does not make still reads when it records no fit.
        let m: LinearModel =
            serde_json::from_value(serde_json::json!({"kind": "tfidf-xgboost"})).unwrap();
        assert!(m.params.is_none() && m.fit.is_none());
    }
}
