//! Fine-tuning BERT-family classifiers, on top of `textclf-models`:
//!
//! * [`tokenize`]: the Hugging Face tokenizer of a model folder (or its `vocab.txt`), with
//!   head / tail / head+tail truncation.
//! * [`batch`]: length-bucketed batches with dynamic padding.
//! * [`optim`]: AdamW with decoupled weight decay (none on biases and LayerNorm), linear
//!   warmup and decay, gradient clipping and accumulation.
//! * [`trainer`]: the loop — validation, early stopping with best-weight restore, exact
//!   resume from checkpoints, divergence detection.
//! * [`classifier`]: [`TransformerClassifier`], the shared `Classifier` interface over a
//!   fine-tuned model, saved in the Hugging Face layout.

pub mod batch;
pub mod classifier;
mod error;
pub mod optim;
pub mod tokenize;
pub mod trainer;

pub use classifier::{InferenceSettings, TransformerClassifier};
pub use error::{Result, TrainError};
pub use trainer::{
    AveragedWeights, EarlyStopping, EvalRecord, Monitor, Progress, Silent, TrainConfig,
    TrainOutcome, Trainer,
};
