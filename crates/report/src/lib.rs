//! Reports over finished runs: what `textclf report`, `textclf advise` and the sweep's
//! selection read and write.
//!
//! * [`runs`] reads run folders and sweep folders back into [`RunSummary`] values.
//! * [`select`] picks the best run by a declared [`Rule`] and flags near ties.

pub mod error;
pub mod runs;
pub mod select;

pub use error::{ReportError, Result};
pub use runs::{
    collect, load_summary, EpochPoint, Family, RunSet, RunStatus, RunSummary, TruncationInfo,
    RUNS_DIR, RUN_FILE, SWEEP_FILE,
};
pub use select::{select, Ranked, Rule, Selection};
