//! `config.json` of a Hugging Face checkpoint, read into one [`ModelConfig`] whatever the
//! family. The original JSON is kept so saving changes only what we own (labels,
//! architectures, layer count) and keeps every other field.
//!
//! This module knows no family: `model_type` picks one in the registry (the `families`
//! module, where `ModelConfig::from_file` lives), and the family reads its own keys with
//! the readers here.

use serde_json::{json, Map, Value};

/// The activation of the feed-forward blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU, `0.5·x·(1 + erf(x/√2))` (`"gelu"`).
    GeluErf,
    /// tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    GeluTanh,
    Relu,
}

/// Everything the model code needs from `config.json`.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub intermediate_size: usize,
    pub max_positions: usize,
    /// 0 for DistilBERT (no token-type embedding).
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    pub hidden_dropout: f32,
    pub attention_dropout: f32,
    pub classifier_dropout: f32,
    pub activation: Activation,
    pub initializer_range: f64,
    /// Class names from `id2label`, when present.
    pub id2label: Option<Vec<String>>,
    /// The file as read.
    pub raw: Map<String, Value>,
}

/// What every family's config has in the same keys, read before the family reads its own.
pub(crate) struct Common {
    pub model_type: String,
    pub id2label: Option<Vec<String>>,
}

/// An integer field, `default` when absent or null (`None`: required).
pub(crate) fn get_usize(
    m: &Map<String, Value>,
    key: &str,
    default: Option<usize>,
) -> Result<usize, String> {
    match m.get(key) {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| format!("'{key}' must be a non-negative integer")),
        Some(Value::Null) | None => default.ok_or_else(|| format!("'{key}' is missing")),
        Some(_) => Err(format!("'{key}' must be a number")),
    }
}

/// A number field, `default` when absent or null.
pub(crate) fn get_f64(m: &Map<String, Value>, key: &str, default: f64) -> Result<f64, String> {
    match m.get(key) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("'{key}' is not a number")),
        Some(Value::Null) | None => Ok(default),
        Some(_) => Err(format!("'{key}' must be a number")),
    }
}

/// The activation named by field `key` (`"gelu"` when absent).
pub(crate) fn get_activation(m: &Map<String, Value>, key: &str) -> Result<Activation, String> {
    match m.get(key).and_then(Value::as_str).unwrap_or("gelu") {
        "gelu" => Ok(Activation::GeluErf),
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
        "relu" => Ok(Activation::Relu),
        o => Err(format!(
            "activation '{o}' is not supported (gelu, gelu_new, relu)"
        )),
    }
}

/// `model_type`, required.
pub(crate) fn model_type(m: &Map<String, Value>) -> Result<String, String> {
    Ok(m.get("model_type")
        .and_then(Value::as_str)
        .ok_or("'model_type' is missing")?
        .to_string())
}

/// `id2label` as class names by id, when present.
pub(crate) fn id2label(m: &Map<String, Value>) -> Result<Option<Vec<String>>, String> {
    Ok(match m.get("id2label") {
        Some(Value::Object(o)) => {
            let mut pairs: Vec<(usize, String)> = o
                .iter()
                .map(|(k, v)| {
                    let id = k
                        .parse::<usize>()
                        .map_err(|_| format!("id2label key '{k}' is not an integer"))?;
                    Ok((id, v.as_str().unwrap_or_default().to_string()))
                })
                .collect::<Result<_, String>>()?;
            pairs.sort();
            if pairs.iter().enumerate().any(|(i, (id, _))| i != *id) {
                return Err("id2label ids must be 0..n-1".into());
            }
            Some(pairs.into_iter().map(|(_, n)| n).collect())
        }
        _ => None,
    })
}

/// The keys of transformers' `BertConfig`, which the families derived from BERT (RoBERTa,
/// XLM-RoBERTa) keep; `pad_default` is the family's `pad_token_id` default.
pub(crate) fn bert_style(
    m: Map<String, Value>,
    common: Common,
    pad_default: usize,
) -> Result<ModelConfig, String> {
    let hidden_dropout = get_f64(&m, "hidden_dropout_prob", 0.1)? as f32;
    Ok(ModelConfig {
        vocab_size: get_usize(&m, "vocab_size", None)?,
        hidden_size: get_usize(&m, "hidden_size", None)?,
        num_layers: get_usize(&m, "num_hidden_layers", None)?,
        num_heads: get_usize(&m, "num_attention_heads", None)?,
        intermediate_size: get_usize(&m, "intermediate_size", None)?,
        max_positions: get_usize(&m, "max_position_embeddings", Some(512))?,
        type_vocab_size: get_usize(&m, "type_vocab_size", Some(2))?,
        layer_norm_eps: get_f64(&m, "layer_norm_eps", 1e-12)?,
        pad_token_id: get_usize(&m, "pad_token_id", Some(pad_default))? as u32,
        hidden_dropout,
        attention_dropout: get_f64(&m, "attention_probs_dropout_prob", 0.1)? as f32,
        classifier_dropout: get_f64(&m, "classifier_dropout", hidden_dropout as f64)? as f32,
        activation: get_activation(&m, "hidden_act")?,
        initializer_range: get_f64(&m, "initializer_range", 0.02)?,
        id2label: common.id2label,
        model_type: common.model_type,
        raw: m,
    })
}

impl ModelConfig {
    /// Checks what every family needs: whole attention heads.
    pub(crate) fn check(self) -> Result<Self, String> {
        if self.num_heads == 0 || !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(format!(
                "hidden size {} is not divisible by {} attention heads",
                self.hidden_size, self.num_heads
            ));
        }
        Ok(self)
    }

    /// `problem_type` as the file gives it (`single_label_classification`,
    /// `multi_label_classification` or `regression`), when present and not null.
    /// transformers' rule when it is absent: one output is regression, otherwise
    /// single-label classification unless told.
    pub fn problem_type(&self) -> Option<&str> {
        self.raw.get("problem_type").and_then(Value::as_str)
    }

    /// The config.json of a fine-tuned single-label classifier: [`Self::to_hf_json_as`]
    /// with `single_label_classification`.
    pub fn to_hf_json(&self, labels: &[String], class: &str, layers_key: &str) -> Value {
        self.to_hf_json_as(labels, class, layers_key, "single_label_classification")
    }

    /// The config.json of a fine-tuned classifier with these output names (class names;
    /// for regression the one target's name) and transformers' `problem_type`, keeping
    /// every field of the original that we do not own: `class` goes into `architectures`,
    /// the layer count into the family's `layers_key`. `num_labels` follows from
    /// `id2label`, as transformers reads it.
    pub fn to_hf_json_as(
        &self,
        labels: &[String],
        class: &str,
        layers_key: &str,
        problem_type: &str,
    ) -> Value {
        let mut m = self.raw.clone();
        m.insert("architectures".into(), json!([class]));
        let id2label: Map<String, Value> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), json!(l)))
            .collect();
        let label2id: Map<String, Value> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), json!(i)))
            .collect();
        m.insert("id2label".into(), Value::Object(id2label));
        m.insert("label2id".into(), Value::Object(label2id));
        m.insert("problem_type".into(), json!(problem_type));
        m.insert(layers_key.into(), json!(self.num_layers));
        m.remove("_name_or_path");
        Value::Object(m)
    }
}
