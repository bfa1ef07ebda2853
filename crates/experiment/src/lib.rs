//! One experiment path for every model family and every shape of data (single texts or
//! text pairs; single-label, multi-label or regression): an [`ExperimentSpec`] says what
//! to run; [`run`] prepares the data, fits (the family's part: [`Fit`], giving a
//! `textclf_core::Model`), then predicts, evaluates for the task and writes the run record
//! (`metrics.json` as `ShapedMetrics`, the predictions files in the task's form, the
//! model) into a run folder — that part written once, in [`run_fit`].
//!
//! `textclf baseline` only turns its flags into a spec; a sweep writes one per run
//! (`spec.json`). Ensembles of finished runs go the same way: an [`EnsembleSpec`], then
//! [`run_ensemble`] writes their run record with the same writers. The run folder's
//! lifecycle (`<out>.partial/`, moved into place when complete) is the caller's, through
//! `textclf_runs::RunFolder`.

mod data;
mod ensemble;
mod error;
mod evaluate;
mod fine_tune;
mod finished;
mod fit;
mod linear;
mod observer;
mod record;
mod saved;
mod spec;
mod transformer;
mod weights;

use std::path::Path;

pub use data::{holdout_valid, prepare_splits};
pub use ensemble::{run_ensemble, EnsembleSpec, EnsembleWeights};
pub use error::OutOfMemory;
pub use error::{ExperimentError, Result, Step};
pub use evaluate::{
    check_task, evaluate_outputs, gold_for, predict_and_evaluate, valid_summary, with_inputs,
    Evaluated,
};
pub use fine_tune::{
    has_checkpoint, remove_checkpoints, DeviceSpec, TrainEnv, TransformerSpec, CHECKPOINT_DIRS,
};
pub use finished::Finished;
pub use fit::{run_fit, Fit, Fitted};
pub use linear::LinearFit;
pub use observer::{Observer, Silent};
pub use record::{
    save_model, split_counts, split_info, write_outputs, write_predictions_of, write_run,
    write_valid_predictions,
};
pub use saved::{load_saved_model, run_saved, targets_of};
pub use spec::{
    default_valid_frac, ClassWeights, Columns, DataSource, DataSpec, EvalSpec, ExperimentSpec,
    ModelSpec, SPEC_FILE,
};
pub use weights::{check_class_weights, class_weight_vector};

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
        ModelSpec::Linear { params } => run_fit(spec, &LinearFit(params), out, target, obs, env),
        ModelSpec::Transformer { settings } => run_fit(spec, settings, out, target, obs, env),
        ModelSpec::Saved { path, int8 } => run_saved(spec, path, *int8, out, obs),
    }
}
