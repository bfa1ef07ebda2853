//! Finding a pretrained model: a local folder, or a Hugging Face Hub id resolved through
//! the standard HF cache (`HF_HOME`, `HF_HUB_CACHE`), downloading only when allowed
//! (`HF_HUB_OFFLINE` unset).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// What is fetched of a Hub model. `spm.model` too, so that a DeBERTa-v3 checkpoint with
/// only a SentencePiece model gets the message that says how to convert it.
const FILES: [&str; 8] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "merges.txt",
    "spm.model",
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
    // A path whose folder exists here (`runs/minilm` beside `runs/`) is a mistyped path,
    // not a Hub id: say so instead of asking the network.
    let parent_exists = p
        .parent()
        .is_some_and(|d| !d.as_os_str().is_empty() && d.is_dir());
    let looks_like_id = spec.split('/').count() <= 2
        && !spec.starts_with(['.', '/', '~'])
        && !spec.contains('\\')
        && !parent_exists;
    if !looks_like_id {
        bail!("no model folder at {spec}{}", did_you_mean(p));
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
            Err(e) if f == "config.json" => {
                bail!(
                    "{spec} is not a folder here, and fetching it from the Hugging Face Hub failed ({e}): if it is a local folder, check the path{}; if it is a Hub id, check its spelling and the network (or set HF_HUB_OFFLINE=1 to use the cache only)",
                    did_you_mean(p)
                )
            }
            Err(e) if f == "model.safetensors" => {
                bail!(
                    "cannot download model.safetensors of {spec} from the Hugging Face Hub ({e}): textclf loads weights only from safetensors files, so a Hub model that has only pickle (.bin) weights cannot be used"
                )
            }
            Err(_) => {}
        }
    }
    dir.with_context(|| format!("nothing downloaded for {spec}"))
}

/// " (did you mean …?)" with up to three names beside `p` that look like its last part.
fn did_you_mean(p: &Path) -> String {
    let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
        return String::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy().to_lowercase();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    let dirs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let close = textclf_core::similar::closest(
        &name,
        dirs.iter().map(String::as_str),
        3.max(name.len() / 4),
    );
    if close.is_empty() {
        return String::new();
    }
    let names: Vec<String> = close
        .into_iter()
        .take(3)
        .map(|n| dir.join(n).display().to_string())
        .collect();
    format!(" (did you mean {}?)", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_local_path_is_reported_as_a_path_with_suggestions() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("models/all-MiniLM-L6-v2")).unwrap();
        let spec = t.path().join("models/all-MiniLM-L6-v3");
        let e = resolve(spec.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("no model folder at"), "{e}");
        assert!(
            e.contains("did you mean") && e.contains("all-MiniLM-L6-v2"),
            "{e}"
        );
        // Relative, two parts, its folder exists here: a path, not a Hub id.
        let cwd = std::env::current_dir().unwrap();
        let rel = "src/no-such-model";
        if cwd.join("src").is_dir() {
            let e = resolve(rel).unwrap_err().to_string();
            assert!(e.starts_with("no model folder at src/no-such-model"), "{e}");
        }
    }
}
