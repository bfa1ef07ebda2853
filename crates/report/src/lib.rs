//! Reports over finished runs: what `textclf report`, `textclf advise` and the sweep's
//! selection read and write.
//!
//! * [`runs`] reads run folders and sweep folders back into [`RunSummary`] values.
//! * [`select`] picks the best run by a declared [`Rule`] and flags near ties.

pub mod advise;
pub mod error;
pub mod html;
pub mod markdown;
pub mod plots;
pub mod runs;
pub mod select;
pub mod table;

pub use advise::{
    advise, Advice, Basis, BestRun, Check, Finding, Impact, LookedAt, NotFired, Recommendation,
};
pub use error::{ReportError, Result};
pub use runs::{
    collect, load_summary, EpochPoint, Family, RunSet, RunStatus, RunSummary, TruncationInfo,
    RUNS_DIR, RUN_FILE, SWEEP_FILE,
};
pub use select::{select, Ranked, Rule, Selection};

pub use html::{report_rule, write_report, WrittenReport};
pub use plots::Plot;
pub use table::{ResultRow, ResultsTable};
