//! The families built like BERT: word + position (+ token-type) embeddings, a stack of
//! post-LN layers ([`PostLnEncoder`]) and a dense head on the first token ([`DenseHead`]).
//! BERT, DistilBERT, RoBERTa and ELECTRA are each one [`PostLnFamily`] value (in their own
//! files) that says only what is theirs: `model_type`s and class, how `config.json` is
//! read, parameter names, position ids and, for ELECTRA, the projection of narrower
//! embeddings; the [`Family`] methods are written once, here.

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::batch::EncodedBatch;
use crate::config::{Common, ModelConfig};
use crate::embeddings;
use crate::encoder::PostLnEncoder;
use crate::family::Family;
use crate::grads::SparseLookup;
use crate::heads::DenseHead;
use crate::layer::GradSink;
use crate::params::{ParamSpec, Specs};
use crate::weights::Weights;
use crate::Result;

/// A family with BERT's embeddings, post-LN encoder and dense head.
pub(crate) struct PostLnFamily {
    /// The `model_type` values of `config.json` it reads.
    pub model_types: &'static [&'static str],
    /// The transformers class a saved classifier declares.
    pub hf_class: &'static str,
    /// The `config.json` key of the number of encoder layers.
    pub layers_key: &'static str,
    /// Reads the family's keys of `config.json`.
    pub read_config: fn(Map<String, Value>, Common) -> Result<ModelConfig, String>,
    pub positions: Positions,
    /// Embedding tables narrower than the hidden size, and the layer that widens them.
    pub projection: Option<Projection>,
    /// The encoder, under the family's checkpoint prefix (`bert`, …).
    pub encoder: PostLnEncoder,
    pub head: DenseHead,
}

/// How a family numbers the positions of its tokens.
pub(crate) struct Positions {
    /// The position id of every token of the batch, row by row.
    pub ids: fn(&EncodedBatch, &ModelConfig) -> Vec<u32>,
    /// The longest sequence, in tokens, the position table allows.
    pub max_tokens: fn(&ModelConfig) -> usize,
}

/// Positions 0, 1, … in every sequence, as many as the table has rows (BERT, DistilBERT).
pub(crate) const FROM_ZERO: Positions = Positions {
    ids: |b, _| embeddings::positions_from_zero(b),
    max_tokens: |cfg| cfg.max_positions,
};

/// Embeddings of their own width, projected to the hidden size when the widths differ.
pub(crate) struct Projection {
    /// The width of the embedding tables.
    pub width: fn(&ModelConfig) -> usize,
    /// The linear layer from that width to the hidden size.
    pub name: &'static str,
}

impl PostLnFamily {
    /// The width of the embedding tables, and the projection when it is not the hidden
    /// size.
    fn embedding_width(&self, cfg: &ModelConfig) -> (usize, Option<&'static str>) {
        match &self.projection {
            Some(p) if (p.width)(cfg) != cfg.hidden_size => ((p.width)(cfg), Some(p.name)),
            _ => (cfg.hidden_size, None),
        }
    }
}

impl Family for PostLnFamily {
    fn model_types(&self) -> &'static [&'static str] {
        self.model_types
    }

    fn hf_class(&self) -> &'static str {
        self.hf_class
    }

    fn read_config(&self, m: Map<String, Value>, common: Common) -> Result<ModelConfig, String> {
        (self.read_config)(m, common)
    }

    fn layers_key(&self) -> &'static str {
        self.layers_key
    }

    fn max_tokens(&self, cfg: &ModelConfig) -> usize {
        (self.positions.max_tokens)(cfg)
    }

    fn prefix(&self) -> &'static str {
        self.encoder.prefix
    }

    fn layers(&self) -> String {
        self.encoder.layers()
    }

    fn param_specs(&self, cfg: &ModelConfig, num_labels: usize) -> Vec<ParamSpec> {
        let mut s = Specs::default();
        let (width, projection) = self.embedding_width(cfg);
        embeddings::specs_width(&mut s, self.encoder.prefix, cfg, width);
        if let Some(name) = projection {
            s.linear(name, cfg.hidden_size, width, false);
        }
        self.encoder.specs(&mut s, cfg);
        self.head.specs(&mut s, cfg.hidden_size, num_labels);
        s.into_vec()
    }

    fn linear_layers(&self, cfg: &ModelConfig) -> Vec<String> {
        self.encoder.linear_layers(cfg)
    }

    fn embed(
        &self,
        w: &Weights,
        b: &EncodedBatch,
        rng: Option<&mut ChaCha8Rng>,
        lookups: &mut Vec<SparseLookup>,
    ) -> Result<Tensor> {
        let positions = (self.positions.ids)(b, w.cfg);
        let x = embeddings::forward(w, self.encoder.prefix, b, positions, rng, lookups)?;
        match self.embedding_width(w.cfg).1 {
            Some(name) => w.lin(&x, name),
            None => Ok(x),
        }
    }

    fn encoder_layer(
        &self,
        w: &Weights,
        i: usize,
        x: &Tensor,
        bias: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
        rows: usize,
        sink: &GradSink,
    ) -> Result<Tensor> {
        self.encoder.forward(w, i, x, bias, rng, rows, sink)
    }

    fn head(
        &self,
        w: &Weights,
        first: &Tensor,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Tensor, Tensor)> {
        self.head.forward(w, first, rng)
    }
}
