//! The classification head of BERT-style `*ForSequenceClassification` models, on the
//! first token's final hidden state: (dropout →) dense → activation → dropout → output
//! projection. BERT's pooler + classifier, DistilBERT's pre-classifier + classifier and
//! RoBERTa's classification head are this block with different names and activations.

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;

use crate::layers::dropout;
use crate::params::Specs;
use crate::weights::Weights;
use crate::Result;

/// The activation after the head's dense layer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HeadActivation {
    Tanh,
    Relu,
    /// The exact (erf) GELU (ELECTRA, DeBERTa).
    Gelu,
}

/// A dense head, by its two linear layers' names.
pub(crate) struct DenseHead {
    /// Dropout on the head's input too (RoBERTa).
    pub dropout_first: bool,
    pub dense: &'static str,
    pub activation: HeadActivation,
    pub out: &'static str,
}

impl DenseHead {
    /// The head's parameters; all of them are initialised fresh when the checkpoint lacks
    /// them (BERT's pooler too, though it belongs to the encoder checkpoint).
    pub fn specs(&self, s: &mut Specs, hidden: usize, num_labels: usize) {
        s.linear(self.dense, hidden, hidden, true);
        s.linear(self.out, num_labels, hidden, true);
    }

    /// `(input of the output projection, logits)` for the first tokens `first [B, H]`,
    /// with dropout `classifier_dropout` drawn from `rng` when training.
    pub fn forward(
        &self,
        w: &Weights,
        first: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let p = w.cfg.classifier_dropout;
        let x = if self.dropout_first {
            dropout(first, p, rng.as_deref_mut())?
        } else {
            first.clone()
        };
        let dense = w.lin(&x, self.dense)?;
        let dense = match self.activation {
            HeadActivation::Tanh => dense.tanh()?,
            HeadActivation::Relu => dense.relu()?,
            HeadActivation::Gelu => crate::fused::gelu_erf(&dense)?,
        };
        let z = dropout(&dense, p, rng)?;
        let logits = w.lin(&z, self.out)?;
        Ok((dense, logits))
    }
}
