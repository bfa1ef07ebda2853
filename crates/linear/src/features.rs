//! The inputs of the multi-label, regression and pair models: single texts or text
//! pairs, and the fitted vectorizer that turns either into sparse rows.

use serde::{Deserialize, Serialize};

use crate::pairs::{PairParams, PairVectorizer};
use crate::sparse::CsrMatrix;
use crate::tfidf::{Tfidf, TfidfParams};
use crate::{LinearError, Result};

/// The texts of a data set: one per row, or a pair per row.
#[derive(Debug, Clone, Copy)]
pub enum TextInput<'a> {
    Single(&'a [&'a str]),
    /// First and second texts (same length).
    Pair(&'a [&'a str], &'a [&'a str]),
}

impl TextInput<'_> {
    /// Number of rows (of the first texts, for pairs).
    pub fn len(&self) -> usize {
        match self {
            TextInput::Single(t) | TextInput::Pair(t, _) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// "single texts" or "text pairs", for messages.
    pub fn shape(&self) -> &'static str {
        match self {
            TextInput::Single(_) => "single texts",
            TextInput::Pair(..) => "text pairs",
        }
    }
}

/// Settings of the features: TF-IDF, and which pair blocks to build when the input is
/// pairs (see [`crate::pairs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FeatureParams {
    pub tfidf: TfidfParams,
    #[serde(default)]
    pub pair: PairParams,
}

impl FeatureParams {
    pub fn check(&self) -> Result<()> {
        self.tfidf.check()?;
        self.pair.check()
    }
}

/// A fitted vectorizer for single texts or for pairs.
#[derive(Debug, Clone)]
pub enum Featurizer {
    Single(Tfidf),
    /// Boxed: much larger than a single vectorizer.
    Pair(Box<PairVectorizer>),
}

impl Featurizer {
    /// Fits on the training input (its shape decides which kind) and returns its rows.
    pub fn fit_transform(params: &FeatureParams, input: TextInput) -> Result<(Self, CsrMatrix)> {
        params.check()?;
        match input {
            TextInput::Single(t) => {
                let (v, x) = params.tfidf.fit_transform(t)?;
                Ok((Featurizer::Single(v), x))
            }
            TextInput::Pair(a, b) => {
                let (v, x) = PairVectorizer::fit_transform(&params.tfidf, &params.pair, a, b)?;
                Ok((Featurizer::Pair(Box::new(v)), x))
            }
        }
    }

    /// Rows of `input`, which must have the shape the vectorizer was fitted on.
    pub fn transform(&self, input: TextInput) -> Result<CsrMatrix> {
        match (self, input) {
            (Featurizer::Single(v), TextInput::Single(t)) => Ok(v.transform(t)),
            (Featurizer::Pair(v), TextInput::Pair(a, b)) => v.transform(a, b),
            (me, other) => Err(LinearError::Data(format!(
                "this model was trained on {} but was given {}: give the same columns it was trained with",
                me.shape(),
                other.shape()
            ))),
        }
    }

    /// "single texts" or "text pairs".
    pub fn shape(&self) -> &'static str {
        match self {
            Featurizer::Single(_) => "single texts",
            Featurizer::Pair(_) => "text pairs",
        }
    }

    pub fn num_features(&self) -> usize {
        match self {
            Featurizer::Single(v) => v.num_features(),
            Featurizer::Pair(v) => v.num_features(),
        }
    }

    /// The vocabularies by saved name: `text` for single texts; `a`, `b`, `shared` for
    /// the pair blocks that are on.
    pub(crate) fn parts(&self) -> Vec<(&'static str, &Tfidf)> {
        match self {
            Featurizer::Single(v) => vec![("text", v)],
            Featurizer::Pair(p) => [("a", &p.side_a), ("b", &p.side_b), ("shared", &p.shared)]
                .into_iter()
                .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
                .collect(),
        }
    }

    /// The part names a featurizer of this shape and these settings has.
    pub(crate) fn expected_parts(pair: bool, params: &PairParams) -> Vec<&'static str> {
        if !pair {
            return vec!["text"];
        }
        let mut v = vec![];
        if params.sides {
            v.extend(["a", "b"]);
        }
        if params.product || params.similarity {
            v.push("shared");
        }
        v
    }

    /// Rebuilds a featurizer from its saved parts (in [`Self::expected_parts`] order).
    pub(crate) fn from_parts(
        pair: bool,
        params: &FeatureParams,
        mut parts: Vec<Tfidf>,
    ) -> Result<Self> {
        if !pair {
            return match parts.pop() {
                Some(v) if parts.is_empty() => Ok(Featurizer::Single(v)),
                _ => Err(LinearError::Data(
                    "a single-text model has exactly one vocabulary".into(),
                )),
            };
        }
        let mut it = parts.into_iter();
        let p = &params.pair;
        let (side_a, side_b) = if p.sides {
            (it.next(), it.next())
        } else {
            (None, None)
        };
        let shared = if p.product || p.similarity {
            it.next()
        } else {
            None
        };
        Ok(Featurizer::Pair(Box::new(PairVectorizer {
            params: p.clone(),
            side_a,
            side_b,
            shared,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_must_match() {
        let p = FeatureParams {
            tfidf: TfidfParams {
                min_df: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        let (f, x) = Featurizer::fit_transform(&p, TextInput::Single(&["a b", "b c"])).unwrap();
        assert_eq!(x.nrows(), 2);
        let e = f
            .transform(TextInput::Pair(&["a"], &["b"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("trained on single texts but was given text pairs"),
            "{e}"
        );
        let (f, _) =
            Featurizer::fit_transform(&p, TextInput::Pair(&["a b", "c"], &["b", "c d"])).unwrap();
        assert_eq!(f.parts().len(), 3);
        assert!(f.transform(TextInput::Single(&["a"])).is_err());
    }
}
