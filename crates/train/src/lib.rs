//! Fine-tuning BERT-family classifiers, on top of `textclf-models`:
//!
//! * [`tokenize`]: the Hugging Face tokenizer of a model folder (or its `vocab.txt`), with
//!   head / tail / head+tail truncation.
//! * [`batch`]: length-bucketed batches with dynamic padding.
//! * [`optim`]: AdamW with decoupled weight decay (none on biases and LayerNorm), linear
//!   warmup and decay, gradient clipping and accumulation.
//! * [`trainer`]: fine-tuning — validation, early stopping with best-weight restore, exact
//!   resume from checkpoints, divergence detection; the loop over epochs, one optimisation
//!   step, and validation cadence with early stopping are modules of their own.
//! * [`objective`]: what each task learns — cross-entropy (single-label), BCE-with-logits
//!   (multi-label), MSE (regression) — and what its validation measures.
//! * [`classifier`]: [`TransformerClassifier`], the shared `Classifier` interface over a
//!   fine-tuned model, saved in the Hugging Face layout.

mod averaging;
pub mod batch;
mod checkpoint;
pub mod classifier;
pub mod config;
mod epochs;
mod error;
pub mod infer;
pub mod objective;
pub mod optim;
pub mod progress;
pub mod record;
mod state;
mod step;
pub mod tokenize;
pub mod trainer;
mod validation;

pub use classifier::{InferenceSettings, TransformerClassifier};
pub use config::{EarlyStopping, Monitor, TrainConfig};
pub use error::{Result, TrainError};
pub use objective::{balanced_pos_weights, outputs_for, scores_from_logits};
pub use progress::{Progress, Silent};
pub use record::{AveragedRecord, EpochRecord, TrainOutcome};
pub use trainer::Trainer;
