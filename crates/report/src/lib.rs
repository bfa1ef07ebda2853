//! Reports over finished runs: what `textclf report`, `textclf advise` and the sweep's
//! selection read and write.
//!
//! * [`runs`] reads run folders and sweep folders back into [`RunSummary`] values.
//! * [`select`](mod@select) picks the best run by a declared [`Rule`] and flags near ties.
//! * [`testsets`] tells which runs share a test set: only those are compared.
//! * [`table`] is the results table (CSV and JSON) and the number formats the reports share.
//! * [`plots`] draws the charts as SVG.
//! * [`html`] and [`markdown`] write the report page and the Markdown report, both from
//!   one document model of the report's content (`document.rs`), so neither renderer
//!   depends on the other; [`write`](mod@write) writes every report file of a run set.
//! * [`advise`](mod@advise) is the improvement advisor.

pub mod advise;
mod document;
pub mod error;
pub mod html;
pub mod markdown;
pub mod plots;
pub mod runs;
pub mod select;
pub mod table;
pub mod testsets;
pub mod write;

pub use advise::{
    advise, Advice, Basis, BestRun, Check, Finding, Impact, LookedAt, NotFired, Recommendation,
};
pub use document::{Block, Item, List};
pub use error::{ReportError, Result};
pub use runs::{
    collect, load_summary, EpochPoint, Family, GridExtension, LinearFit, RunSet, RunStatus,
    RunSummary, TestSet, TruncationInfo, RUNS_DIR, RUN_FILE, SWEEP_FILE,
};
pub use select::{report_rule, select, Ranked, Rule, Selection};

pub use plots::Plot;
pub use table::{ResultRow, ResultsTable};
pub use testsets::TestSetGroup;
pub use write::{write_report, WrittenReport};
