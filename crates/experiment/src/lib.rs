//! One experiment path for every model family: an [`ExperimentSpec`] says what to run;
//! [`run`] prepares the data, fits, evaluates and writes the run record (`metrics.json`,
//! the predictions files, the model) into a run folder.
//!
//! `textclf baseline` only turns its flags into a spec; a sweep writes one per run
//! (`spec.json`). The run folder's lifecycle (`<out>.partial/`, moved into place when
//! complete) is the caller's, through `textclf_runs::RunFolder`.

mod data;
mod error;
mod evaluate;
mod linear;
mod observer;
mod record;
mod saved;
mod spec;
mod transformer;
mod weights;

use std::path::Path;

pub use data::{holdout_valid, prepare_splits, require_single_text_single_label};
pub use error::{ExperimentError, Result, Step};
pub use evaluate::{predict_and_evaluate, Evaluated};
pub use linear::run_linear;
pub use observer::{Observer, Silent};
pub use record::{
    save_model, split_counts, split_info, valid_summary, write_run, write_valid_predictions,
};
pub use saved::{load_saved_model, pairs_refused, run_saved};
pub use spec::{
    ClassWeights, Columns, DataSource, DataSpec, EvalSpec, ExperimentSpec, ModelSpec, SPEC_FILE,
};
pub use transformer::{
    has_checkpoint, remove_checkpoints, run_transformer, DeviceSpec, OutOfMemory, TrainEnv,
    TransformerSpec, CHECKPOINT_DIRS, HOLDOUT_FRAC,
};
pub use weights::{check_class_weights, class_weight_vector};

use textclf_eval::{Report, Timing};

/// What a finished experiment reports once its run is in place.
pub struct Finished {
    /// The test report.
    pub report: Report,
    pub title: String,
    pub timing: Timing,
    /// Lines printed after the report (what was written, where).
    pub trailer: String,
}

/// Runs `spec`, writing the run into `out` (the working folder); `target` is where the
/// run lands when complete, for the closing message. `env` serves fine-tuning runs.
pub fn run(
    spec: &ExperimentSpec,
    out: &Path,
    target: &Path,
    obs: &dyn Observer,
    env: &TrainEnv,
) -> Result<Finished> {
    match &spec.model {
        ModelSpec::Linear { params } => run_linear(spec, params, out, target, obs),
        ModelSpec::Transformer { settings } => {
            run_transformer(spec, settings, out, target, obs, env)
        }
        ModelSpec::Saved { path, int8 } => run_saved(spec, path, *int8, out, obs),
    }
}
