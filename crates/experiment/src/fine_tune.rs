//! What a fine-tuning run is given: its settings ([`TransformerSpec`], [`DeviceSpec`]),
//! what only the caller can provide ([`TrainEnv`]), and the checkpoint folders it leaves
//! behind while it runs.

use std::path::{Path, PathBuf};

use candle_core::Device;
use serde::{Deserialize, Serialize};
use textclf_train::tokenize::{PairTruncation, Truncation};
use textclf_train::{Progress, TrainConfig};

use crate::error::{ExperimentError, Result, Step};

/// The trainer's checkpoint folders (current, and the two of its atomic swap).
pub const CHECKPOINT_DIRS: [&str; 3] = ["checkpoint", "checkpoint.old", "checkpoint.new"];

/// A fine-tuning run's settings.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TransformerSpec {
    /// The model folder or Hub id to start from.
    pub source: String,
    /// Keep only this many encoder layers.
    #[serde(default)]
    pub layers: Option<usize>,
    pub max_len: usize,
    pub truncation: Truncation,
    /// How sentence pairs share `max_len` (`longest_first` unless set).
    #[serde(default)]
    pub pair_truncation: PairTruncation,
    /// The trainer's settings; its `seed` and `class_weights` are set from the
    /// experiment's.
    pub train: TrainConfig,
    #[serde(default)]
    pub grad_checkpoint: bool,
    pub device: DeviceSpec,
    /// Continue from the checkpoint of an interrupted run.
    #[serde(default)]
    pub resume: bool,
    /// Keep `checkpoint/` when the run finishes.
    #[serde(default)]
    pub keep_checkpoint: bool,
}

// The trainer's settings have no PartialEq of their own: two specs are equal when they
// record the same.
impl PartialEq for TransformerSpec {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

/// Where to compute.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeviceSpec {
    Cpu,
    Cuda,
}

impl DeviceSpec {
    /// The compute device.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda => {
                if !candle_core::utils::cuda_is_available() {
                    return Err(ExperimentError::Invalid("--device cuda: this textclf was built without CUDA support; rebuild with `cargo install --path crates/cli --features cuda` (needs the CUDA toolkit)".into()));
                }
                Device::new_cuda(0).step("cannot open CUDA device 0")
            }
        }
    }

    /// Its name in the run record (`cpu`, `cuda`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceSpec::Cpu => "cpu",
            DeviceSpec::Cuda => "cuda",
        }
    }
}

/// `--device cpu|cuda`.
impl textclf_core::Choices for DeviceSpec {
    const VALUES: &'static [DeviceSpec] = &[DeviceSpec::Cpu, DeviceSpec::Cuda];

    fn name(self) -> &'static str {
        DeviceSpec::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            DeviceSpec::Cpu => "",
            DeviceSpec::Cuda => "NVIDIA GPU 0 (needs a build with `--features cuda`)",
        }
    }
}

/// What only the caller can provide to a fine-tuning run: where a model name is found
/// (a folder, or the Hub), and how training progress is shown and stopped.
pub struct TrainEnv<'a> {
    pub resolve_model: &'a dyn Fn(&str) -> std::result::Result<PathBuf, String>,
    pub progress: &'a dyn Progress,
    /// Called when training ends (e.g. to clear a progress bar).
    pub training_done: &'a dyn Fn(),
}

impl TrainEnv<'static> {
    /// Models are folders; no progress is shown, and training is never stopped.
    pub fn plain() -> TrainEnv<'static> {
        fn as_folder(name: &str) -> std::result::Result<PathBuf, String> {
            Ok(PathBuf::from(name))
        }
        fn nothing() {}
        TrainEnv {
            resolve_model: &as_folder,
            progress: &textclf_train::Silent,
            training_done: &nothing,
        }
    }
}

/// Whether `dir` holds a checkpoint to resume (the current one, or the previous one of an
/// interrupted swap).
pub fn has_checkpoint(dir: &Path) -> bool {
    CHECKPOINT_DIRS[..2]
        .iter()
        .any(|d| dir.join(d).join("state.json").is_file())
}

/// Removes a finished run's checkpoints (optimizer state included, about 4× the model).
pub fn remove_checkpoints(dir: &Path) -> Result<()> {
    for d in CHECKPOINT_DIRS {
        let p = dir.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).step(format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(())
}
