//! [`TransformerClassifier`]: a fine-tuned encoder with its tokenizer, behind the shared
//! [`Classifier`] interface, saved in the Hugging Face layout.

use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use textclf_core::{check_inputs, Classifier, Inputs, LabelSet, Outputs, Predictions, Task};
use textclf_models::{LoadOptions, SequenceClassifier};

use crate::error::io_err;
use crate::infer::{batched_logits, batched_logits_typed};
use crate::objective::scores_from_logits;
use crate::tokenize::{PairTruncation, TextEncoder, Truncation};
use crate::{Result, TrainError};

/// textclf's own settings saved beside the HF files (`textclf.json`), so `predict`
/// tokenises exactly as training did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InferenceSettings {
    pub max_len: usize,
    pub truncation: Truncation,
    pub eval_batch_size: usize,
}

/// A fine-tuned sequence classifier ready to predict, for any task: its outputs are
/// class probabilities (single-label), one sigmoid probability per label (multi-label) or
/// the predicted value (regression; `labels` then holds the one target's name). Inputs
/// are single texts ([`Classifier::predict_proba`]) or sentence pairs
/// ([`Self::predict_pairs`]).
pub struct TransformerClassifier {
    pub model: SequenceClassifier,
    pub encoder: TextEncoder,
    pub labels: LabelSet,
    pub settings: InferenceSettings,
    kind: String,
    task: Task,
    /// Multi-label: each label's decision threshold (0.5 each when `None`).
    thresholds: Option<Vec<f32>>,
    /// True when the model was trained on sentence pairs.
    pairs: bool,
}

impl TransformerClassifier {
    pub fn new(
        model: SequenceClassifier,
        encoder: TextEncoder,
        labels: LabelSet,
        settings: InferenceSettings,
    ) -> Self {
        let kind = model.config.model_type.clone();
        Self {
            model,
            encoder,
            labels,
            settings,
            kind,
            task: Task::SingleLabel,
            thresholds: None,
            pairs: false,
        }
    }

    /// The same classifier with per-label decision thresholds (multi-label), saved in
    /// textclf.json.
    pub fn with_thresholds(mut self, thresholds: Option<Vec<f32>>) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// The same classifier reading sentence pairs (`true`) or single texts; saved in
    /// textclf.json.
    pub fn with_pairs(mut self, pairs: bool) -> Self {
        self.pairs = pairs;
        self
    }

    /// True when the model reads sentence pairs.
    pub fn takes_pairs(&self) -> bool {
        self.pairs
    }

    /// Multi-label decision thresholds, one per label (0.5 where none were tuned).
    pub fn label_thresholds(&self) -> Vec<f32> {
        self.thresholds
            .clone()
            .unwrap_or_else(|| vec![0.5; self.labels.len()])
    }

    /// The same classifier for `task` (single-label unless set): what its scores mean and
    /// the `problem_type` it is saved with.
    pub fn with_task(mut self, task: Task) -> Self {
        self.task = task;
        self
    }

    /// The task the model was trained for.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Loads a model saved by [`Classifier::save`] (or any HF sequence-classification
    /// folder with `id2label`).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_noting(dir, device).map(|(m, _)| m)
    }

    /// [`Self::load`], also returning what the caller should tell the user (a setting
    /// recovered because `textclf.json` is missing).
    pub fn load_noting(dir: &Path, device: &Device) -> Result<(Self, Vec<String>)> {
        let mut notes = Vec::new();
        let cfg = textclf_models::ModelConfig::from_file(&dir.join("config.json"))?;
        let names = cfg.id2label.clone().ok_or_else(|| {
            TrainError::Config(format!(
                "{}/config.json has no id2label: this is an encoder, not a fine-tuned classifier (train one with `textclf train`)",
                dir.display()
            ))
        })?;
        let shapes = safetensors_shapes(&dir.join("model.safetensors"))?;
        let task = task_of(&cfg, names.len())
            .map_err(|e| TrainError::Config(format!("{}/config.json: {e}", dir.display())))?;
        let mut pair_truncation = PairTruncation::default();
        let mut thresholds: Option<Vec<f32>> = None;
        let mut pairs = false;
        let settings: InferenceSettings = match std::fs::read_to_string(dir.join("textclf.json")) {
            Ok(t) => {
                let bad = |e: serde_json::Error| {
                    TrainError::Config(format!("{}: {e}", dir.join("textclf.json").display()))
                };
                let v: serde_json::Value = serde_json::from_str(&t).map_err(bad)?;
                if let Some(p) = v.get(PAIR_TRUNCATION_KEY) {
                    pair_truncation = serde_json::from_value(p.clone()).map_err(bad)?;
                }
                if let Some(t) = v.get(THRESHOLDS_KEY) {
                    thresholds = Some(serde_json::from_value(t.clone()).map_err(bad)?);
                }
                if let Some(p) = v.get(PAIRS_KEY) {
                    pairs = serde_json::from_value(p.clone()).map_err(bad)?;
                }
                serde_json::from_value(v).map_err(bad)?
            }
            Err(_) => {
                let (max_len, from) = match trained_length(dir) {
                    Some(n) => (n, "tokenizer_config.json's model_max_length"),
                    None => (cfg.max_positions, "the model's position count"),
                };
                notes.push(format!(
                    "{} has no textclf.json (the length and truncation it was trained with): using max-len {max_len} from {from} and head truncation; results may differ from training if it was trained otherwise",
                    dir.display()
                ));
                InferenceSettings {
                    max_len,
                    truncation: Truncation::Head,
                    eval_batch_size: 32,
                }
            }
        };
        let labels = LabelSet::new(names).map_err(|e| TrainError::Config(e.to_string()))?;
        let opts = LoadOptions {
            num_labels: labels.len(),
            layers: None,
            seed: 0,
            device: device.clone(),
        };
        let (model, report) = SequenceClassifier::load(dir, &opts)?;
        if !report.fresh.is_empty() {
            // A head of another size is a config that does not belong to these weights.
            for name in &report.fresh {
                if let Some(shape) = shapes.get(name) {
                    return Err(TrainError::Config(format!(
                        "{}: config.json's id2label has {} labels, but {name} in model.safetensors has shape {shape:?} ({} classes): the two files do not belong together; restore the config.json saved with these weights",
                        dir.display(),
                        labels.len(),
                        shape.first().copied().unwrap_or(0)
                    )));
                }
            }
            return Err(TrainError::Config(format!(
                "{} lacks trained head weights {:?}: it is not a fine-tuned classifier",
                dir.display(),
                report.fresh
            )));
        }
        let max_len = settings.max_len.min(model.config.max_positions);
        let encoder = TextEncoder::from_dir(dir, max_len, settings.truncation)?
            .with_pair_truncation(pair_truncation);
        if let Some(t) = &thresholds {
            if task != Task::MultiLabel
                || t.len() != labels.len()
                || t.iter().any(|x| !(0.0..=1.0).contains(x))
            {
                return Err(TrainError::Config(format!(
                    "{}/textclf.json: {} thresholds for a {task} model with {} labels (or one outside [0, 1]); the file was edited or damaged: restore it or retrain",
                    dir.display(),
                    t.len(),
                    labels.len()
                )));
            }
        }
        Ok((
            Self::new(model, encoder, labels, settings)
                .with_task(task)
                .with_thresholds(thresholds)
                .with_pairs(pairs),
            notes,
        ))
    }

    /// Logits for texts, in input order.
    pub fn logits(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let seqs = self.encoder.encode_batch(texts)?;
        batched_logits(
            &self.model,
            &self.encoder,
            &seqs,
            self.settings.eval_batch_size.max(1),
        )
    }

    /// Logits for sentence pairs `(first[i], second[i])`, in input order, encoded as in
    /// training (the encoder's pair truncation).
    pub fn pair_logits(&self, first: &[&str], second: &[&str]) -> Result<Vec<f32>> {
        let pairs =
            self.encoder
                .encode_pair_batch(first, second, self.encoder.pair_truncation())?;
        let (seqs, types): (Vec<_>, Vec<_>) =
            pairs.into_iter().map(|p| (p.ids, p.type_ids)).unzip();
        batched_logits_typed(
            &self.model,
            &self.encoder,
            &seqs,
            Some(&types),
            self.settings.eval_batch_size.max(1),
        )
    }

    /// The task's scores for sentence pairs, row-major (`rows × outputs`): class
    /// probabilities, per-label sigmoid probabilities, or the predicted value (see
    /// [`scores_from_logits`]). The pair counterpart of [`Classifier::predict_proba`].
    pub fn predict_pairs(
        &self,
        first: &[&str],
        second: &[&str],
    ) -> textclf_core::Result<Predictions> {
        let logits = self.pair_logits(first, second)?;
        self.to_predictions(logits)
    }

    fn to_predictions(&self, logits: Vec<f32>) -> textclf_core::Result<Predictions> {
        let k = self.model.num_labels;
        match self.task {
            Task::SingleLabel => Predictions::from_logits(k, logits),
            t => Predictions::new(k, scores_from_logits(t, k, logits)),
        }
    }

    /// Writes the HF-layout folder: config.json (with the task's `problem_type`),
    /// model.safetensors, tokenizer files and textclf.json.
    pub fn save_dir(&self, dir: &Path) -> Result<()> {
        self.model
            .save_as(dir, self.labels.names(), self.task.problem_type())?;
        self.encoder.save_files(dir)?;
        let mut v =
            serde_json::to_value(&self.settings).map_err(|e| TrainError::Config(e.to_string()))?;
        let pt = self.encoder.pair_truncation();
        if let Some(m) = v.as_object_mut() {
            if pt != PairTruncation::default() {
                m.insert(PAIR_TRUNCATION_KEY.into(), serde_json::json!(pt));
            }
            if let Some(t) = &self.thresholds {
                m.insert(THRESHOLDS_KEY.into(), serde_json::json!(t));
            }
            if self.pairs {
                m.insert(PAIRS_KEY.into(), serde_json::json!(true));
            }
        }
        let json =
            serde_json::to_string_pretty(&v).map_err(|e| TrainError::Config(e.to_string()))?;
        std::fs::write(dir.join("textclf.json"), json).map_err(io_err(dir))
    }
}

/// textclf.json's key for the pair truncation (written when it is not `longest_first`).
const PAIR_TRUNCATION_KEY: &str = "pair_truncation";
/// textclf.json's key for a multi-label model's per-label thresholds (written when tuned).
const THRESHOLDS_KEY: &str = "thresholds";
/// textclf.json's key saying the model reads sentence pairs (written only then).
const PAIRS_KEY: &str = "pairs";

/// The task of a saved classifier with `num_labels` outputs: `problem_type` when given,
/// else transformers' rule (one output is regression, more are single-label).
fn task_of(cfg: &textclf_models::ModelConfig, num_labels: usize) -> Result<Task, String> {
    match cfg.problem_type() {
        Some(p) => Task::from_problem_type(p).ok_or_else(|| {
            format!(
                "problem_type '{p}' is not one of single_label_classification, multi_label_classification, regression"
            )
        }),
        None if num_labels == 1 => Ok(Task::Regression),
        None => Ok(Task::SingleLabel),
    }
}

impl Classifier for TransformerClassifier {
    fn kind(&self) -> &str {
        &self.kind
    }

    fn labels(&self) -> &LabelSet {
        &self.labels
    }

    /// Class probabilities for a single-label model; for the other tasks the task's scores
    /// (per-label sigmoid probabilities, or the predicted value), which do not sum to 1.
    fn predict_proba(&self, texts: &[&str]) -> textclf_core::Result<Predictions> {
        let logits = self.logits(texts)?;
        self.to_predictions(logits)
    }

    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        self.save_dir(dir).map_err(Into::into)
    }
}

impl textclf_core::Model for TransformerClassifier {
    fn kind(&self) -> String {
        self.kind.clone()
    }

    fn task(&self) -> Task {
        self.task
    }

    fn labels(&self) -> LabelSet {
        self.labels.clone()
    }

    fn takes_pairs(&self) -> bool {
        self.pairs
    }

    fn predict(&self, inputs: Inputs<'_>) -> textclf_core::Result<Outputs> {
        check_inputs(self, &inputs)?;
        let p = match inputs {
            Inputs::Texts(t) => self.to_predictions(self.logits(t)?)?,
            Inputs::Pairs(a, b) => self.predict_pairs(a, b)?,
        };
        Ok(match self.task {
            Task::SingleLabel => Outputs::Classes(p),
            Task::MultiLabel => {
                Outputs::from_label_scores(p.as_slice().to_vec(), &self.label_thresholds())?
            }
            Task::Regression => Outputs::Values(p.as_slice().to_vec()),
        })
    }

    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        self.save_dir(dir).map_err(Into::into)
    }

    fn thresholds(&self) -> Option<Vec<f32>> {
        (self.task == Task::MultiLabel).then(|| self.label_thresholds())
    }
}

/// `model_max_length` from a saved `tokenizer_config.json`, when it is a real length (HF
/// writes a huge sentinel when there is none).
fn trained_length(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("tokenizer_config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let n = v.get("model_max_length")?.as_u64()?;
    (3..=1_000_000).contains(&n).then_some(n as usize)
}

/// The tensor shapes a safetensors file declares, after checking that the file is whole: a
/// file cut off (or padded) is reported as damaged, in words, before any tensor is read.
pub fn safetensors_shapes(path: &Path) -> Result<std::collections::HashMap<String, Vec<usize>>> {
    use std::io::Read;
    let damaged = |why: String| {
        TrainError::Config(format!(
            "{} is damaged ({why}): it was probably cut off while being copied or saved; copy it again, or retrain",
            path.display()
        ))
    };
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    let mut n = [0u8; 8];
    f.read_exact(&mut n)
        .map_err(|_| damaged(format!("{len} bytes, too short for a header")))?;
    let n = u64::from_le_bytes(n);
    if n > len.saturating_sub(8) || n > 100_000_000 {
        return Err(damaged(format!(
            "its header claims {n} bytes but the file has {len}"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|e| damaged(format!("cannot read its header: {e}")))?;
    let v: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| damaged(format!("its header is not valid JSON: {e}")))?;
    let Some(m) = v.as_object() else {
        return Err(damaged("its header is not a JSON object".into()));
    };
    let mut shapes = std::collections::HashMap::new();
    let mut end = 0u64;
    for (name, t) in m {
        if name == "__metadata__" {
            continue;
        }
        let shape: Vec<usize> = t
            .get("shape")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .ok_or_else(|| damaged(format!("tensor '{name}' has no shape")))?;
        let offs: Vec<u64> = t
            .get("data_offsets")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .ok_or_else(|| damaged(format!("tensor '{name}' has no data offsets")))?;
        end = end.max(offs.get(1).copied().unwrap_or(0));
        shapes.insert(name.clone(), shape);
    }
    if 8 + n + end != len {
        return Err(damaged(format!(
            "its tensors need {} bytes but the file has {len}",
            8 + n + end
        )));
    }
    Ok(shapes)
}
