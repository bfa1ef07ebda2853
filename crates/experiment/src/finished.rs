//! What a finished experiment reports: [`Finished`].

use textclf_eval::{TestReport, Thresholds, Timing};

/// What a finished experiment reports once its run is in place.
pub struct Finished {
    /// The test report, of the run's task.
    pub report: TestReport,
    /// A multi-label report's decision thresholds, shown beside it (ensembles).
    pub thresholds: Option<Thresholds>,
    pub title: String,
    pub timing: Timing,
    /// Lines printed after the report (what was written, where).
    pub trailer: String,
}
