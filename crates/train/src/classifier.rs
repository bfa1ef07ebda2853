//! [`TransformerClassifier`]: a fine-tuned encoder with its tokenizer, behind the shared
//! [`Classifier`] interface, saved in the Hugging Face layout.

use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use textclf_core::{Classifier, LabelSet, Predictions};
use textclf_models::{LoadOptions, SequenceClassifier};

use crate::error::io_err;
use crate::tokenize::{TextEncoder, Truncation};
use crate::trainer::batched_logits;
use crate::{Result, TrainError};

/// textclf's own settings saved beside the HF files (`textclf.json`), so `predict`
/// tokenises exactly as training did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InferenceSettings {
    pub max_len: usize,
    pub truncation: Truncation,
    pub eval_batch_size: usize,
}

/// A fine-tuned sequence classifier ready to predict.
pub struct TransformerClassifier {
    pub model: SequenceClassifier,
    pub encoder: TextEncoder,
    pub labels: LabelSet,
    pub settings: InferenceSettings,
    kind: String,
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
        }
    }

    /// Loads a model saved by [`Classifier::save`] (or any HF sequence-classification
    /// folder with `id2label`).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let settings: InferenceSettings = match std::fs::read_to_string(dir.join("textclf.json")) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| {
                TrainError::Config(format!("{}: {e}", dir.join("textclf.json").display()))
            })?,
            Err(_) => InferenceSettings {
                max_len: 512,
                truncation: Truncation::Head,
                eval_batch_size: 32,
            },
        };
        let cfg = textclf_models::ModelConfig::from_file(&dir.join("config.json"))?;
        let names = cfg.id2label.clone().ok_or_else(|| {
            TrainError::Config(format!(
                "{}/config.json has no id2label: this is an encoder, not a fine-tuned classifier (train one with `textclf train`)",
                dir.display()
            ))
        })?;
        let labels = LabelSet::new(names).map_err(|e| TrainError::Config(e.to_string()))?;
        let opts = LoadOptions {
            num_labels: labels.len(),
            layers: None,
            seed: 0,
            device: device.clone(),
        };
        let (model, report) = SequenceClassifier::load(dir, &opts)?;
        if !report.fresh.is_empty() {
            return Err(TrainError::Config(format!(
                "{} lacks trained head weights {:?}: it is not a fine-tuned classifier",
                dir.display(),
                report.fresh
            )));
        }
        let max_len = settings.max_len.min(model.config.max_positions);
        let encoder = TextEncoder::from_dir(dir, max_len, settings.truncation)?;
        Ok(Self::new(model, encoder, labels, settings))
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

    /// Writes the HF-layout folder: config.json, model.safetensors, tokenizer files and
    /// textclf.json.
    pub fn save_dir(&self, dir: &Path) -> Result<()> {
        self.model.save(dir, self.labels.names())?;
        self.encoder.save_files(dir)?;
        let json = serde_json::to_string_pretty(&self.settings)
            .map_err(|e| TrainError::Config(e.to_string()))?;
        std::fs::write(dir.join("textclf.json"), json).map_err(io_err(dir))
    }
}

impl Classifier for TransformerClassifier {
    fn kind(&self) -> &str {
        &self.kind
    }

    fn labels(&self) -> &LabelSet {
        &self.labels
    }

    fn predict_proba(&self, texts: &[&str]) -> textclf_core::Result<Predictions> {
        let logits = self.logits(texts)?;
        Predictions::from_logits(self.labels.len(), logits)
    }

    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        self.save_dir(dir).map_err(Into::into)
    }
}
