use textclf_data::DataError;

/// What can end an experiment. Each message says what failed; its source says why.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A setting or an input that cannot work, and what to do instead.
    #[error("{0}")]
    Invalid(String),
    /// A step of the experiment failed (the source says why).
    #[error("{what}")]
    Step {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Training was interrupted (Ctrl-C, SIGTERM); its checkpoint is saved.
    #[error(transparent)]
    Interrupted(textclf_train::TrainError),
    /// The device ran out of memory (a sweep retries with a smaller batch).
    #[error(transparent)]
    OutOfMemory(#[from] OutOfMemory),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Eval(#[from] textclf_eval::EvalError),
    #[error(transparent)]
    Runs(#[from] textclf_runs::RunsError),
    #[error(transparent)]
    Core(#[from] textclf_core::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// An out-of-memory failure, as a type: a sweep retries such a run with a smaller batch.
#[derive(Debug, thiserror::Error)]
#[error("out of memory: {0}")]
pub struct OutOfMemory(pub String);

pub type Result<T> = std::result::Result<T, ExperimentError>;

/// Names the step an error ended: `.step("cannot prepare the data")?`.
pub trait Step<T> {
    fn step(self, what: impl Into<String>) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Step<T> for std::result::Result<T, E> {
    fn step(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|e| ExperimentError::Step {
            what: what.into(),
            source: Box::new(e),
        })
    }
}
