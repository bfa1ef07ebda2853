//! Transformer-encoder sequence classifiers on candle tensors: BERT (and BERT-architecture
//! checkpoints such as MiniLM), DistilBERT, RoBERTa, ELECTRA, DeBERTa-v3 and ModernBERT,
//! with transformers' parameter names and heads, so checkpoints load from and save to the
//! Hugging Face layout.
//!
//! Every block has a backward pass: candle primitives on any device, and on the CPU in f32
//! fused nodes with hand-written backward passes ([`fused`]; in training, a whole encoder
//! layer is one node). Dropout uses our seeded generator, so fine-tuning updates every
//! parameter reproducibly.
//!
//! * [`families`]: one file per model family, registered in one list; `model_type` picks
//!   the family, which is built from the shared blocks (`embeddings`, `encoder`, `heads`,
//!   `weights`, [`params`]) and driven by the family-independent [`SequenceClassifier`].
//! * [`ModelConfig`] reads `config.json` (family chosen by `model_type`).
//! * [`SequenceClassifier::load`] reads `model.safetensors` with or without the family
//!   prefix, keeps `--layers K` evenly spaced layers, and initialises a missing head.
//! * [`SequenceClassifier::forward`] returns logits; [`cross_entropy`] (single-label),
//!   [`bce_with_logits`] (multi-label) and [`mse_loss`] (regression) the loss.

mod batch;
pub mod config;
mod embeddings;
mod encoder;
mod error;
pub mod families;
mod family;
pub mod fused;
pub mod grads;
mod heads;
mod layer;
pub mod layers;
pub mod model;
mod modern_layer;
pub mod params;
pub mod profile;
pub mod quant;
mod relative;
pub mod simd;
mod weights;

pub use config::{Activation, ModelConfig};
pub use error::{ModelError, Result};
pub use grads::{Gradients, SparseRows};
pub use model::{
    bce_with_logits, cross_entropy, mse_loss, EncodedBatch, Forward, LoadOptions,
    SequenceClassifier,
};
pub use params::{decays, LoadReport, ParamStore};
