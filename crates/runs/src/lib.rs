//! The run folder, owned in one place: its layout and every file in it.
//!
//! Every command that writes a run (`train`, `baseline`, `eval`, `ensemble`, and each run
//! of a sweep) goes through this crate, and every reader (report, advisor, sweep,
//! `compare`, `ensemble`) reads runs back through it:
//!
//! - [`write_atomic`]: a file is either its old or its new content, never a mix;
//! - [`FolderLock`]: one process at a time works in a folder, and a second one is told who
//!   holds it (pid, host);
//! - [`RunFolder`]: a run is built in `<out>.partial/` and renamed to `<out>` only when it
//!   is complete. An `--out` that holds another run is refused unless the caller asks to
//!   replace it whole;
//! - [`MetricsRecord`]: `metrics.json`, with the [`Timing`] of the run's phases;
//! - [`PredictionsWriter`] / [`read_predictions`]: `predictions.csv` and
//!   `valid_predictions.csv`; [`write_epochs_csv`] / [`read_epochs_csv`]: `epochs.csv`;
//! - [`SweepRecord`]: a sweep's `sweep.json`; [`SweepRunRecord`]: a sweep run's
//!   `run.json`;
//! - [`RunStatus`]: the typed outcome a run leaves in its folder (`status.json`), which a
//!   sweep reads instead of parsing its child's messages.
//!
//! Each file has one writer, one reader and a format version; read errors name the file
//! and the field. The crate has no dependency on the tensor stack: the test report inside
//! `metrics.json` is a type parameter (the evaluation's `Report`), and the settings and
//! fit reports that other crates own are typed by those owners (the trainer's settings by
//! `textclf-settings`, a linear baseline's by `textclf-linear`, which holds no tensors).

mod atomic;
mod epochs;
mod error;
mod folder;
mod lock;
mod manifest;
mod metrics;
mod predictions;
mod record;
mod status;
mod sweep;
mod thresholds;
mod timing;
mod typed;

pub use atomic::{honour_umask, write_atomic, write_json, AtomicFile};
pub use epochs::{read_epochs_csv, write_epochs_csv, EPOCHS_FILE};
pub use error::{Result, RunsError};
pub use folder::{
    describe_occupant, is_empty_dir, partial_path, Begin, Occupant, RunFolder, LOCK_FILE,
};
pub use lock::{host_name, now_unix, FolderLock, LockHolder};
pub use manifest::{verify_manifest, write_manifest, FileEntry, Manifest, MANIFEST_FILE};
pub use metrics::{
    AveragedRecord, BaselineData, BaselineRun, ClassCounts, EnsembleData, EnsembleMember,
    EnsembleModel, EnsembleRun, EnsembleThresholds, EpochRecord, EvalData, EvalRun, LinearModel,
    MetricsRecord, PairTruncation, RunBody, SavedModel, SplitInfo, TokenLengths, TrainData,
    TrainRun, TransformerModel, ValidSummary, METRICS_FILE, METRICS_FORMAT,
};
pub use predictions::{
    read_predictions, PredictionRow, PredictionsWriter, PREDICTIONS_FILE, PREDICTIONS_FORMAT,
    VALID_PREDICTIONS_FILE,
};
pub use record::{Attempt, Family, RecordedStatus, SweepRunRecord, RUN_FILE};
pub use status::{Outcome, RunStatus, STATUS_FILE};
pub use sweep::{PlannedRun, SweepRecord, SWEEP_FILE};
pub use textclf_linear::{GridExtension, RecordedFit, RecordedParams};
pub use thresholds::{LabelThreshold, Thresholds};
pub use timing::Timing;
