//! `config.json` of a Hugging Face checkpoint, read into one [`ModelConfig`] for the three
//! supported families. The original JSON is kept so saving changes only what we own
//! (labels, architectures, layer count) and keeps every other field.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::{ModelError, Result};

/// The encoder families textclf can fine-tune, chosen by `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `bert` (also MiniLM and other BERT-architecture checkpoints).
    Bert,
    /// `distilbert`.
    DistilBert,
    /// `roberta` and `xlm-roberta`.
    Roberta,
}

impl Arch {
    /// The `model_type` values accepted, for error messages.
    pub const SUPPORTED: &'static str = "bert, distilbert, roberta, xlm-roberta";

    /// The key prefix of the encoder in `*ForSequenceClassification` checkpoints.
    pub fn prefix(self) -> &'static str {
        match self {
            Arch::Bert => "bert",
            Arch::DistilBert => "distilbert",
            Arch::Roberta => "roberta",
        }
    }

    /// The transformers class a saved classifier declares in `architectures`.
    pub fn hf_class(self) -> &'static str {
        match self {
            Arch::Bert => "BertForSequenceClassification",
            Arch::DistilBert => "DistilBertForSequenceClassification",
            Arch::Roberta => "RobertaForSequenceClassification",
        }
    }
}

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
    pub arch: Arch,
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

fn get_usize(m: &Map<String, Value>, key: &str, default: Option<usize>) -> Result<usize, String> {
    match m.get(key) {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| format!("'{key}' must be a non-negative integer")),
        Some(Value::Null) | None => default.ok_or_else(|| format!("'{key}' is missing")),
        Some(_) => Err(format!("'{key}' must be a number")),
    }
}

fn get_f64(m: &Map<String, Value>, key: &str, default: f64) -> Result<f64, String> {
    match m.get(key) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("'{key}' is not a number")),
        Some(Value::Null) | None => Ok(default),
        Some(_) => Err(format!("'{key}' must be a number")),
    }
}

impl ModelConfig {
    /// Reads `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: path.to_path_buf(),
            reason: format!("not valid JSON: {e}"),
        })?;
        Self::from_json(v).map_err(|reason| ModelError::Config {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Interprets a parsed `config.json`.
    pub fn from_json(v: Value) -> Result<Self, String> {
        let Value::Object(m) = v else {
            return Err("config.json must hold a JSON object".into());
        };
        let model_type = m
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or("'model_type' is missing")?
            .to_string();
        let arch = match model_type.as_str() {
            "bert" => Arch::Bert,
            "distilbert" => Arch::DistilBert,
            "roberta" | "xlm-roberta" => Arch::Roberta,
            other => {
                return Err(format!(
                    "model_type '{other}' is not supported; supported: {}",
                    Arch::SUPPORTED
                ))
            }
        };
        let act = |name: &str| -> Result<Activation, String> {
            match name {
                "gelu" => Ok(Activation::GeluErf),
                "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
                "relu" => Ok(Activation::Relu),
                o => Err(format!(
                    "activation '{o}' is not supported (gelu, gelu_new, relu)"
                )),
            }
        };
        let id2label = match m.get("id2label") {
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
        };
        let cfg = match arch {
            Arch::Bert | Arch::Roberta => {
                let hidden_dropout = get_f64(&m, "hidden_dropout_prob", 0.1)? as f32;
                ModelConfig {
                    arch,
                    vocab_size: get_usize(&m, "vocab_size", None)?,
                    hidden_size: get_usize(&m, "hidden_size", None)?,
                    num_layers: get_usize(&m, "num_hidden_layers", None)?,
                    num_heads: get_usize(&m, "num_attention_heads", None)?,
                    intermediate_size: get_usize(&m, "intermediate_size", None)?,
                    max_positions: get_usize(&m, "max_position_embeddings", Some(512))?,
                    type_vocab_size: get_usize(&m, "type_vocab_size", Some(2))?,
                    layer_norm_eps: get_f64(&m, "layer_norm_eps", 1e-12)?,
                    pad_token_id: get_usize(
                        &m,
                        "pad_token_id",
                        Some(if arch == Arch::Roberta { 1 } else { 0 }),
                    )? as u32,
                    hidden_dropout,
                    attention_dropout: get_f64(&m, "attention_probs_dropout_prob", 0.1)? as f32,
                    classifier_dropout: get_f64(&m, "classifier_dropout", hidden_dropout as f64)?
                        as f32,
                    activation: act(m
                        .get("hidden_act")
                        .and_then(Value::as_str)
                        .unwrap_or("gelu"))?,
                    initializer_range: get_f64(&m, "initializer_range", 0.02)?,
                    id2label,
                    model_type,
                    raw: m,
                }
            }
            Arch::DistilBert => {
                if m.get("sinusoidal_pos_embds").and_then(Value::as_bool) == Some(true) {
                    return Err(
                        "DistilBERT with sinusoidal position embeddings is not supported".into(),
                    );
                }
                ModelConfig {
                    arch,
                    vocab_size: get_usize(&m, "vocab_size", None)?,
                    hidden_size: get_usize(&m, "dim", None)?,
                    num_layers: get_usize(&m, "n_layers", None)?,
                    num_heads: get_usize(&m, "n_heads", None)?,
                    intermediate_size: get_usize(&m, "hidden_dim", None)?,
                    max_positions: get_usize(&m, "max_position_embeddings", Some(512))?,
                    type_vocab_size: 0,
                    layer_norm_eps: 1e-12,
                    pad_token_id: get_usize(&m, "pad_token_id", Some(0))? as u32,
                    hidden_dropout: get_f64(&m, "dropout", 0.1)? as f32,
                    attention_dropout: get_f64(&m, "attention_dropout", 0.1)? as f32,
                    classifier_dropout: get_f64(&m, "seq_classif_dropout", 0.2)? as f32,
                    activation: act(m
                        .get("activation")
                        .and_then(Value::as_str)
                        .unwrap_or("gelu"))?,
                    initializer_range: get_f64(&m, "initializer_range", 0.02)?,
                    id2label,
                    model_type,
                    raw: m,
                }
            }
        };
        if cfg.num_heads == 0 || cfg.hidden_size % cfg.num_heads != 0 {
            return Err(format!(
                "hidden size {} is not divisible by {} attention heads",
                cfg.hidden_size, cfg.num_heads
            ));
        }
        Ok(cfg)
    }

    /// The config.json of a fine-tuned classifier with these class names, keeping every
    /// field of the original that we do not own.
    pub fn to_hf_json(&self, labels: &[String]) -> Value {
        let mut m = self.raw.clone();
        m.insert("architectures".into(), json!([self.arch.hf_class()]));
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
        m.insert("problem_type".into(), json!("single_label_classification"));
        let layers_key = if self.arch == Arch::DistilBert {
            "n_layers"
        } else {
            "num_hidden_layers"
        };
        m.insert(layers_key.into(), json!(self.num_layers));
        m.remove("_name_or_path");
        Value::Object(m)
    }
}
