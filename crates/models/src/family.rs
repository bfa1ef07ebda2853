//! What a model family is to the rest of the crate: how it reads `config.json`, which
//! parameters it has under which names, and its embeddings, encoder layer and head. The
//! generic classifier (`SequenceClassifier`, in `model.rs`) drives a family through this
//! trait (loading, forward and checkpointed backward passes, int8, saving); the families
//! (`families/`, one file each) implement it with the shared blocks (`embeddings.rs`,
//! `encoder.rs`, `heads.rs`, `weights.rs`, `params.rs`). This trait names none of them
//! but the ones its methods take, so no block depends on a family.

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{Common, ModelConfig};
use crate::grads::SparseLookup;
use crate::layer::GradSink;
use crate::params::ParamSpec;
use crate::weights::Weights;
use crate::Result;

/// A family of `*ForSequenceClassification` models.
pub(crate) trait Family: Sync {
    /// The `model_type` values of `config.json` this family reads.
    fn model_types(&self) -> &'static [&'static str];

    /// The transformers class a saved classifier declares in `architectures`.
    fn hf_class(&self) -> &'static str;

    /// Reads the family's keys of `config.json` (`common` holds the keys all share).
    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String>;

    /// The `config.json` key of the number of encoder layers.
    fn layers_key(&self) -> &'static str {
        "num_hidden_layers"
    }

    /// Records in `cfg` that only the checkpoint's layers `keep` are used (`--layers`),
    /// for families whose config describes layers one by one (ModernBERT's layer types);
    /// `cfg.num_layers` is already `keep.len()`.
    fn keep_layers(&self, _cfg: &mut ModelConfig, _keep: &[usize]) -> Result<(), String> {
        Ok(())
    }

    /// The longest sequence, in tokens, the position embeddings allow.
    fn max_tokens(&self, cfg: &ModelConfig) -> usize {
        cfg.max_positions
    }

    /// The encoder's key prefix in checkpoints (`bert`, …): a checkpoint of the bare
    /// encoder lacks it.
    fn prefix(&self) -> &'static str;

    /// The common prefix of the encoder layers' names, `{layers}.{i}.…`, for keeping some
    /// of the layers (`--layers`).
    fn layers(&self) -> String;

    /// Every parameter of a classifier with `num_labels` outputs, in a fixed order.
    fn param_specs(&self, cfg: &ModelConfig, num_labels: usize) -> Vec<ParamSpec>;

    /// The linear layers int8 inference quantizes.
    fn linear_layers(&self, cfg: &ModelConfig) -> Vec<String>;

    /// The embedded batch `[B, L, H]`, after the embeddings' dropout.
    fn embed(
        &self,
        w: &Weights,
        b: &EncodedBatch,
        rng: Option<&mut ChaCha8Rng>,
        lookups: &mut Vec<SparseLookup>,
    ) -> Result<Tensor>;

    /// Encoder layer `i` on `x [B, L, H]` with the additive attention `bias`, returning
    /// the first `rows` rows of each sequence. Dropout draws from `rng` in a fixed order,
    /// the same for any `rows`, so that a layer rerun from a saved generator state (the
    /// checkpointed backward) gets the same masks (see `PostLnEncoder::forward`).
    #[allow(clippy::too_many_arguments)]
    fn encoder_layer(
        &self,
        w: &Weights,
        i: usize,
        x: &Tensor,
        bias: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
        rows: usize,
        sink: &GradSink,
    ) -> Result<Tensor>;

    /// Whether the head reads every row of the last layer's output (mean pooling), so the
    /// last layer must compute them all; by default it reads the first token only.
    fn pools_all_rows(&self, _cfg: &ModelConfig) -> bool {
        false
    }

    /// The vector the head reads, `[B, H]`, from the last layer's output `x [B, rows, H]`:
    /// by default the first token's.
    fn pool(&self, _w: &Weights, x: &Tensor, _b: &EncodedBatch) -> Result<Tensor> {
        Ok(x.narrow(1, 0, 1)?.squeeze(1)?)
    }

    /// `(input of the final linear layer, logits)` from the pooled final hidden states
    /// `first [B, H]` (see [`Family::pool`]).
    fn head(
        &self,
        w: &Weights,
        first: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Tensor, Tensor)>;
}
