use std::path::PathBuf;

/// Errors of fine-tuning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    #[error(transparent)]
    Model(#[from] textclf_models::ModelError),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Tokenize(#[from] crate::tokenize::TokenizeError),
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("{0}")]
    Data(String),
    #[error(
        "the training loss became {value} at step {step} (epoch {epoch}); the model is diverging. \
         The learning rate {lr:e} is probably too high: try --lr {suggest:e}. \
         Nothing was saved from this step; the last checkpoint is intact"
    )]
    Diverged {
        value: f32,
        step: u64,
        epoch: usize,
        lr: f64,
        suggest: f64,
    },
    #[error("interrupted at step {step}; a checkpoint was saved in {dir}: run the same command with --resume to continue")]
    Interrupted { step: u64, dir: PathBuf },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Eval(#[from] textclf_eval::EvalError),
}

impl From<TrainError> for textclf_core::Error {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Io { path, source } => textclf_core::Error::Io { path, source },
            other => textclf_core::Error::Invalid(other.to_string()),
        }
    }
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}
