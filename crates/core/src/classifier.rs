use std::path::Path;

use crate::{LabelSet, Predictions, Result};

/// The interface shared by every textclf model — TF-IDF linear models and fine-tuned
/// transformers alike. Evaluation, reports, sweeps and ensembles only see this trait.
///
/// Implementers write [`Classifier::predict_proba`]; [`Classifier::predict`] derives from it.
/// Probabilities are produced once, at this boundary: models keep raw scores inside.
pub trait Classifier: Send + Sync {
    /// A short name of the model family, e.g. `"tfidf-lr"` or `"bert"`.
    fn kind(&self) -> &str;

    /// The classes this model predicts, in the column order of its probabilities.
    fn labels(&self) -> &LabelSet;

    /// Row-stochastic class probabilities for a batch of texts.
    fn predict_proba(&self, texts: &[&str]) -> Result<Predictions>;

    /// Writes the fitted model into `dir` (created if needed) so it can be loaded again.
    fn save(&self, dir: &Path) -> Result<()>;

    /// The most probable class id of each text.
    fn predict(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self.predict_proba(texts)?.argmax())
    }
}
