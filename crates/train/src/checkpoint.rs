//! Checkpoints: saved atomically (a new folder swapped in) with a manifest, and loaded
//! back with their manifest verified.

use std::collections::HashMap;
use std::path::Path;

use candle_core::Tensor;
use textclf_models::SequenceClassifier;

use crate::error::io_err;
use crate::optim::AdamW;
use crate::{Result, TrainError};

use crate::state::State;

pub(crate) fn save_checkpoint(
    dir: &Path,
    model: &SequenceClassifier,
    opt: &AdamW,
    st: &State,
    best: Option<&HashMap<String, Tensor>>,
    avg: Option<&HashMap<String, Tensor>>,
) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = dir.with_extension("new");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    model.params.save(&tmp.join("model.safetensors"))?;
    candle_core::safetensors::save(
        &opt.state_tensors(&model.params)?,
        tmp.join("optimizer.safetensors"),
    )?;
    if let Some(b) = best {
        candle_core::safetensors::save(b, tmp.join("best.safetensors"))?;
    }
    if let Some(a) = avg {
        candle_core::safetensors::save(a, tmp.join("average.safetensors"))?;
    }
    let state = serde_json::json!({ "optimizer_step": opt.step, "state": st });
    std::fs::write(
        tmp.join("state.json"),
        serde_json::to_string(&state).unwrap_or_default(),
    )
    .map_err(io_err(&tmp))?;
    // Sizes and checksums of every file, with the run's fingerprint: a resume refuses a
    // checkpoint whose files changed since (another run's weights, a flipped bit).
    textclf_runs::write_manifest(&tmp, Some(&st.fingerprint))
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    // Swap in the new checkpoint; the old one is kept until the new one is in place.
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(io_err(dir))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// A checkpoint: the loop state, the best weights so far and the weight average.
pub(crate) type Loaded = (
    State,
    Option<HashMap<String, Tensor>>,
    Option<HashMap<String, Tensor>>,
);

pub(crate) fn load_checkpoint(
    dir: &Path,
    model: &SequenceClassifier,
    opt: &mut AdamW,
) -> Result<Option<Loaded>> {
    let dir = if dir.join("state.json").is_file() {
        dir.to_path_buf()
    } else if dir.with_extension("old").join("state.json").is_file() {
        dir.with_extension("old")
    } else {
        return Ok(None);
    };
    textclf_runs::verify_manifest(&dir, "the checkpoint")
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    let text = std::fs::read_to_string(dir.join("state.json")).map_err(io_err(&dir))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    let st: State = serde_json::from_value(v["state"].clone())
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    let step = v["optimizer_step"].as_u64().unwrap_or(st.global_step);
    let dev = model.device();
    let weights = candle_core::safetensors::load(dir.join("model.safetensors"), dev)?;
    model.params.assign(&weights)?;
    let ostate = candle_core::safetensors::load(
        dir.join("optimizer.safetensors"),
        &candle_core::Device::Cpu,
    )?;
    opt.load_state(&model.params, &ostate, step)?;
    let load_opt = |name: &str| -> Result<Option<HashMap<String, Tensor>>> {
        let p = dir.join(name);
        Ok(if p.is_file() {
            Some(candle_core::safetensors::load(p, dev)?)
        } else {
            None
        })
    };
    Ok(Some((
        st,
        load_opt("best.safetensors")?,
        load_opt("average.safetensors")?,
    )))
}
