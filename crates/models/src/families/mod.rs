//! The registry of model families: `model_type` → `Family`. Each family is one file
//! here, built from the shared blocks; adding one is adding its file and its line in
//! `FAMILIES`. The families built like BERT are values of one type (`post_ln`) that say
//! only what is theirs.

mod bert;
mod deberta_v2;
mod distilbert;
mod electra;
mod modernbert;
mod post_ln;
mod roberta;

use std::path::Path;

use serde_json::Value;

use crate::config::{self, Common, ModelConfig};
use crate::family::Family;
use crate::{ModelError, Result};

/// Every family textclf can fine-tune, in the order error messages list them.
static FAMILIES: &[&dyn Family] = &[
    &bert::BERT,
    &distilbert::DISTILBERT,
    &roberta::ROBERTA,
    &electra::ELECTRA,
    &deberta_v2::DebertaV2,
    &modernbert::ModernBert,
];

/// The `model_type` values accepted, for error messages.
pub fn supported() -> String {
    FAMILIES
        .iter()
        .flat_map(|f| f.model_types().iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The family that reads `model_type`.
pub(crate) fn family(model_type: &str) -> Result<&'static dyn Family, String> {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.model_types().contains(&model_type))
        .ok_or_else(|| {
            format!(
                "model_type '{model_type}' is not supported; supported: {}",
                supported()
            )
        })
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

    /// Interprets a parsed `config.json`: `model_type` picks the family, which reads the
    /// rest.
    pub fn from_json(v: Value) -> Result<Self, String> {
        let Value::Object(m) = v else {
            return Err("config.json must hold a JSON object".into());
        };
        let model_type = config::model_type(&m)?;
        let fam = family(&model_type)?;
        let common = Common {
            id2label: config::id2label(&m)?,
            model_type,
        };
        fam.read_config(m, common)?.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_type_has_one_family() {
        assert_eq!(
            supported(),
            "bert, distilbert, roberta, xlm-roberta, electra, deberta-v2, modernbert"
        );
        for (t, class) in [
            ("bert", "BertForSequenceClassification"),
            ("distilbert", "DistilBertForSequenceClassification"),
            ("roberta", "RobertaForSequenceClassification"),
            ("xlm-roberta", "RobertaForSequenceClassification"),
            ("electra", "ElectraForSequenceClassification"),
            ("deberta-v2", "DebertaV2ForSequenceClassification"),
            ("modernbert", "ModernBertForSequenceClassification"),
        ] {
            assert_eq!(family(t).map(|f| f.hf_class()), Ok(class));
        }
        let err = family("gpt2").err().unwrap_or_default();
        assert!(err.contains("'gpt2' is not supported"), "{err}");
        let types: Vec<_> = FAMILIES.iter().flat_map(|f| f.model_types()).collect();
        let distinct: std::collections::HashSet<_> = types.iter().collect();
        assert_eq!(distinct.len(), types.len(), "a model_type claimed twice");
    }

    #[test]
    fn each_family_reads_its_own_keys_and_writes_its_layer_count_back() {
        let bert = serde_json::json!({"model_type": "bert", "vocab_size": 10, "hidden_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16});
        let distil = serde_json::json!({"model_type": "distilbert", "vocab_size": 10, "dim": 8,
            "n_layers": 2, "n_heads": 2, "hidden_dim": 16});
        for (v, key, pad) in [(bert, "num_hidden_layers", 0), (distil, "n_layers", 0)] {
            let mut cfg = ModelConfig::from_json(v.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (cfg.hidden_size, cfg.num_layers, cfg.pad_token_id),
                (8, 2, pad)
            );
            let fam = family(&cfg.model_type).unwrap_or_else(|e| panic!("{e}"));
            cfg.num_layers = 1;
            let out = cfg.to_hf_json(&["a".into()], fam.hf_class(), fam.layers_key());
            assert_eq!(out[key], 1);
        }
        let roberta = serde_json::json!({"model_type": "xlm-roberta", "vocab_size": 10,
            "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 16, "max_position_embeddings": 514});
        let cfg = ModelConfig::from_json(roberta.clone()).unwrap_or_else(|e| panic!("{e}"));
        let fam = family(&cfg.model_type).unwrap_or_else(|e| panic!("{e}"));
        // Positions start after the padding id (default 1): 514 rows hold 512 tokens.
        assert_eq!((cfg.pad_token_id, fam.max_tokens(&cfg)), (1, 512));
        let mut bad = roberta;
        bad["num_attention_heads"] = 3.into();
        let err = ModelConfig::from_json(bad).err().unwrap_or_default();
        assert!(err.contains("not divisible by 3 attention heads"), "{err}");
    }
}
