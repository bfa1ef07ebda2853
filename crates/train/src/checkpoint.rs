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

/// The version of `state.json` this textclf writes. Version 2 counts the epochs of the
/// validation history from 1, as `metrics.json` does; version 1 (files without the key)
/// counted them from 0.
const STATE_FORMAT: u32 = 2;

/// `state.json` of a checkpoint: the optimizer's step count and the loop state (`S` is
/// `&State` when written, `State` when read).
#[derive(serde::Serialize, serde::Deserialize)]
struct StateFile<S> {
    #[serde(default)]
    format: Option<u32>,
    /// Absent in checkpoints written before it was recorded: the loop's global step then.
    #[serde(default)]
    optimizer_step: Option<u64>,
    state: S,
}

/// The loop state of a `state.json`, its history's epochs counted from 1 whatever its
/// version.
fn read_state(text: &str) -> Result<(State, Option<u64>)> {
    let file: StateFile<State> = serde_json::from_str(text)
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    let mut st = file.state;
    match file.format {
        None | Some(1) => st.history.iter_mut().for_each(|r| r.epoch += 1),
        Some(STATE_FORMAT) => {}
        Some(v) => {
            return Err(TrainError::Checkpoint(format!(
                "state.json has format {v}, newer than this textclf reads ({STATE_FORMAT}); resume with the textclf that wrote it"
            )))
        }
    }
    Ok((st, file.optimizer_step))
}

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
    let state = StateFile {
        format: Some(STATE_FORMAT),
        optimizer_step: Some(opt.step),
        state: st,
    };
    let text = serde_json::to_string(&state)
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    std::fs::write(tmp.join("state.json"), text).map_err(io_err(&tmp))?;
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
    let (st, optimizer_step) = read_state(&text)?;
    let step = optimizer_step.unwrap_or(st.global_step);
    let dev = model.device();
    // Weights, refused when they hold values that are not numbers.
    let load_weights = |p: &Path| -> Result<HashMap<String, Tensor>> {
        let w = candle_core::safetensors::load(p, dev)?;
        textclf_models::params::check_finite(&w, p)?;
        Ok(w)
    };
    model
        .params
        .assign(&load_weights(&dir.join("model.safetensors"))?)?;
    let ostate = candle_core::safetensors::load(
        dir.join("optimizer.safetensors"),
        &candle_core::Device::Cpu,
    )?;
    opt.load_state(&model.params, &ostate, step)?;
    let load_opt = |name: &str| -> Result<Option<HashMap<String, Tensor>>> {
        let p = dir.join(name);
        Ok(if p.is_file() {
            Some(load_weights(&p)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_of_either_version_reads_with_epochs_counted_from_1() {
        let mut st = State::default();
        st.history.push(crate::state::record(2));
        let new = serde_json::to_string(&StateFile {
            format: Some(STATE_FORMAT),
            optimizer_step: Some(7),
            state: &st,
        })
        .unwrap();
        let (back, step) = read_state(&new).unwrap();
        assert_eq!((back.history[0].epoch, step), (2, Some(7)));
        // Version 1 had no `format` and counted from 0: the same validation read as 1.
        let old = new.replace(r#""format":2,"#, "");
        assert_ne!(old, new);
        assert_eq!(read_state(&old).unwrap().0.history[0].epoch, 3);
        let future = new.replace(r#""format":2,"#, r#""format":9,"#);
        let e = read_state(&future).unwrap_err().to_string();
        assert!(e.contains("format 9"), "{e}");
    }
}
