//! Finding a pretrained model: a local folder, or a Hugging Face Hub id resolved through
//! the standard HF cache (`HF_HOME`, `HF_HUB_CACHE`), downloading only when allowed
//! (`HF_HUB_OFFLINE` unset).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

const FILES: [&str; 7] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "merges.txt",
];

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The local folder holding the model `spec` (a path, or a Hub id like `org/name`).
pub fn resolve(spec: &str) -> anyhow::Result<PathBuf> {
    let p = Path::new(spec);
    if p.is_dir() {
        return Ok(p.to_path_buf());
    }
    if p.exists() {
        bail!("{spec} is a file: --model takes a model folder (config.json, model.safetensors, tokenizer) or a Hub id");
    }
    let looks_like_id =
        spec.split('/').count() <= 2 && !spec.starts_with('.') && !spec.contains('\\');
    if !looks_like_id {
        bail!("no model folder at {spec}");
    }
    let cache = hf_hub::Cache::from_env();
    let repo = cache.model(spec.to_string());
    if let Some(cfg) = repo.get("config.json") {
        if repo.get("model.safetensors").is_some() {
            return Ok(cfg.parent().map(Path::to_path_buf).unwrap_or_default());
        }
    }
    if offline() {
        bail!(
            "{spec} is neither a local folder nor in the Hugging Face cache, and HF_HUB_OFFLINE is set: \
             download it first (unset HF_HUB_OFFLINE) or pass a local folder"
        );
    }
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .build()
        .context("cannot set up the Hugging Face Hub client")?;
    let remote = api.model(spec.to_string());
    let mut dir = None;
    for f in FILES {
        match remote.get(f) {
            Ok(path) => dir = path.parent().map(Path::to_path_buf),
            Err(e) if matches!(f, "config.json" | "model.safetensors") => {
                return Err(anyhow::anyhow!("{e}")).with_context(|| {
                    format!("cannot download {f} of {spec} from the Hugging Face Hub (a model without model.safetensors cannot be used: textclf never loads pickle files)")
                })
            }
            Err(_) => {}
        }
    }
    dir.with_context(|| format!("nothing downloaded for {spec}"))
}
