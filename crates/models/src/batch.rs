//! The model's input: a padded batch of token ids.

/// A padded batch of token ids, row-major `[batch, len]`.
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    pub batch: usize,
    pub len: usize,
    pub ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub mask: Vec<u32>,
    /// Segment ids (all 0 for single texts).
    pub type_ids: Vec<u32>,
}
