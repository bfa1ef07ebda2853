//! Sentence-pair features (entailment, paraphrase, similarity) and the zero-training
//! TF-IDF cosine baseline.
//!
//! For a pair (A, B), [`PairVectorizer`] builds one sparse row from up to three blocks,
//! laid out in this column order:
//!
//! 1. **Sides** ([`PairParams::sides`]): the TF-IDF row of A in a vocabulary fitted on
//!    the A texts only, then the TF-IDF row of B in a vocabulary fitted on the B texts
//!    only. The two spaces are separate: "dog" in A and "dog" in B are different
//!    columns, so a model can weigh a word by the side it appears on.
//! 2. **Product** ([`PairParams::product`]): in a third, *shared* vocabulary fitted on the
//!    A and B texts together (each side one document), the elementwise product
//!    `â ⊙ b̂` of the two sides' L2-normalised TF-IDF rows. It is non-zero only on the
//!    n-grams both sides contain, weighted by how rare they are, and it sums to the
//!    cosine similarity of the two rows: a linear model on it learns which shared
//!    n-grams matter.
//! 3. **Similarity** ([`PairParams::similarity`]): two dense columns, the cosine
//!    `â · b̂` and the Jaccard index `|A ∩ B| / |A ∪ B|` of the sets of shared-vocabulary
//!    n-grams of the two sides (0 when both are empty).
//!
//! The sides use the TF-IDF settings given (so NBSVM's binary counts apply to them); the
//! shared vocabulary uses the same settings but always L2-normalises its rows, so the
//! product and the cosine are what their names say.
//!
//! [`PairCosine`] is the plain cosine of the shared-vocabulary rows, with no training: a
//! similarity baseline for sentence-pair regression.

use serde::{Deserialize, Serialize};

use crate::sparse::CsrMatrix;
use crate::tfidf::{Tfidf, TfidfParams};
use crate::{LinearError, Result};

/// Which blocks of pair features are built (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairParams {
    /// TF-IDF of A and of B, in separate vocabularies.
    pub sides: bool,
    /// Elementwise product of the L2-normalised shared-vocabulary rows of A and B.
    pub product: bool,
    /// Cosine and Jaccard index of the two sides (two dense columns).
    pub similarity: bool,
}

impl Default for PairParams {
    fn default() -> Self {
        Self {
            sides: true,
            product: true,
            similarity: true,
        }
    }
}

impl PairParams {
    /// At least one block must be on.
    pub fn check(&self) -> Result<()> {
        if !(self.sides || self.product || self.similarity) {
            return Err(LinearError::Param(
                "pair features: turn on at least one of sides, product and similarity".into(),
            ));
        }
        Ok(())
    }

    fn needs_shared(&self) -> bool {
        self.product || self.similarity
    }
}

/// Number of dense similarity columns.
pub const SIMILARITY_COLUMNS: usize = 2;

/// A fitted pair vectorizer: the vocabularies of side A, side B and the shared one
/// (each present only when its block is on).
#[derive(Debug, Clone)]
pub struct PairVectorizer {
    pub params: PairParams,
    pub side_a: Option<Tfidf>,
    pub side_b: Option<Tfidf>,
    pub shared: Option<Tfidf>,
}

/// The shared vocabulary's settings: the given ones, L2-normalised.
fn shared_params(tfidf: &TfidfParams) -> TfidfParams {
    TfidfParams {
        l2_norm: true,
        ..tfidf.clone()
    }
}

fn check_pair_lengths(a: &[&str], b: &[&str]) -> Result<()> {
    if a.len() != b.len() {
        return Err(LinearError::Data(format!(
            "a pair input has {} first texts and {} second texts: every row needs both",
            a.len(),
            b.len()
        )));
    }
    Ok(())
}

fn side_context(side: &str) -> impl Fn(LinearError) -> LinearError + '_ {
    move |e| match e {
        LinearError::Data(m) => LinearError::Data(format!("{side}: {m}")),
        other => other,
    }
}

impl PairVectorizer {
    /// Fits the vocabularies on the training pairs and returns their feature rows.
    pub fn fit_transform(
        tfidf: &TfidfParams,
        params: &PairParams,
        a: &[&str],
        b: &[&str],
    ) -> Result<(Self, CsrMatrix)> {
        params.check()?;
        tfidf.check()?;
        check_pair_lengths(a, b)?;
        let (mut side_a, mut side_b, mut shared) = (None, None, None);
        let (mut xa, mut xb, mut xs) = (None, None, None);
        if params.sides {
            let (v, x) = tfidf
                .fit_transform(a)
                .map_err(side_context("first texts of the pairs"))?;
            side_a = Some(v);
            xa = Some(x);
            let (v, x) = tfidf
                .fit_transform(b)
                .map_err(side_context("second texts of the pairs"))?;
            side_b = Some(v);
            xb = Some(x);
        }
        if params.needs_shared() {
            let both: Vec<&str> = a.iter().chain(b).copied().collect();
            let (v, x) = shared_params(tfidf)
                .fit_transform(&both)
                .map_err(side_context("both texts of the pairs"))?;
            shared = Some(v);
            xs = Some(x);
        }
        let me = Self {
            params: params.clone(),
            side_a,
            side_b,
            shared,
        };
        let x = me.assemble(a.len(), xa.as_ref(), xb.as_ref(), xs.as_ref());
        Ok((me, x))
    }

    /// Feature rows of pairs (n-grams outside the vocabularies are ignored).
    pub fn transform(&self, a: &[&str], b: &[&str]) -> Result<CsrMatrix> {
        check_pair_lengths(a, b)?;
        let xa = self.side_a.as_ref().map(|v| v.transform(a));
        let xb = self.side_b.as_ref().map(|v| v.transform(b));
        let xs = self.shared.as_ref().map(|v| {
            let both: Vec<&str> = a.iter().chain(b).copied().collect();
            v.transform(&both)
        });
        Ok(self.assemble(a.len(), xa.as_ref(), xb.as_ref(), xs.as_ref()))
    }

    fn dims(&self) -> (usize, usize, usize) {
        let d = |v: &Option<Tfidf>| v.as_ref().map_or(0, Tfidf::num_features);
        (d(&self.side_a), d(&self.side_b), d(&self.shared))
    }

    /// Number of feature columns.
    pub fn num_features(&self) -> usize {
        let (da, db, ds) = self.dims();
        let product = if self.params.product { ds } else { 0 };
        let sim = if self.params.similarity {
            SIMILARITY_COLUMNS
        } else {
            0
        };
        da + db + product + sim
    }

    /// Joins the blocks; `xs` holds the shared rows of the n A texts, then of the B texts.
    fn assemble(
        &self,
        n: usize,
        xa: Option<&CsrMatrix>,
        xb: Option<&CsrMatrix>,
        xs: Option<&CsrMatrix>,
    ) -> CsrMatrix {
        let (da, db, ds) = self.dims();
        let ncols = self.num_features();
        let mut out = CsrMatrix::new(ncols);
        let mut row: Vec<(u32, f32)> = Vec::new();
        for i in 0..n {
            row.clear();
            if let (Some(xa), Some(xb)) = (xa, xb) {
                let (ci, cv) = xa.row(i);
                row.extend(ci.iter().copied().zip(cv.iter().copied()));
                let (ci, cv) = xb.row(i);
                row.extend(ci.iter().map(|&c| c + da as u32).zip(cv.iter().copied()));
            }
            if let Some(xs) = xs {
                let (ia, va) = xs.row(i);
                let (ib, vb) = xs.row(n + i);
                let off = (da + db) as u32;
                let (cos, shared) = sparse_product(ia, va, ib, vb, |c, v| {
                    if self.params.product {
                        row.push((c + off, v));
                    }
                });
                if self.params.similarity {
                    let union = ia.len() + ib.len() - shared;
                    let jaccard = if union == 0 {
                        0.0
                    } else {
                        shared as f32 / union as f32
                    };
                    let base = (da + db + if self.params.product { ds } else { 0 }) as u32;
                    row.push((base, cos as f32));
                    row.push((base + 1, jaccard));
                }
            }
            out.push_row(row.iter().copied());
        }
        out
    }
}

/// Walks the common columns of two sorted sparse rows, calling `each(column, product)`;
/// returns the dot product and the number of common columns.
fn sparse_product(
    ia: &[u32],
    va: &[f32],
    ib: &[u32],
    vb: &[f32],
    mut each: impl FnMut(u32, f32),
) -> (f64, usize) {
    let (mut p, mut q, mut dot, mut common) = (0, 0, 0f64, 0);
    while p < ia.len() && q < ib.len() {
        match ia[p].cmp(&ib[q]) {
            std::cmp::Ordering::Less => p += 1,
            std::cmp::Ordering::Greater => q += 1,
            std::cmp::Ordering::Equal => {
                let v = va[p] * vb[q];
                each(ia[p], v);
                dot += v as f64;
                common += 1;
                p += 1;
                q += 1;
            }
        }
    }
    (dot, common)
}

/// The zero-training similarity baseline: the cosine of the two sides' TF-IDF rows in
/// one vocabulary (the given settings, L2-normalised), in [0, 1] as TF-IDF values are
/// not negative; 0 when a side has no known n-gram.
#[derive(Debug, Clone)]
pub struct PairCosine {
    pub vectorizer: Tfidf,
}

impl PairCosine {
    /// Fits the vocabulary and IDF on `texts` (for pairs: the first and second texts of
    /// the training pairs together, no targets needed).
    pub fn fit(tfidf: &TfidfParams, texts: &[&str]) -> Result<Self> {
        let (vectorizer, _) = shared_params(tfidf).fit_transform(texts)?;
        Ok(Self { vectorizer })
    }

    /// The cosine similarity of every pair.
    pub fn score(&self, a: &[&str], b: &[&str]) -> Result<Vec<f64>> {
        check_pair_lengths(a, b)?;
        let xa = self.vectorizer.transform(a);
        let xb = self.vectorizer.transform(b);
        Ok((0..a.len())
            .map(|i| {
                let (ia, va) = xa.row(i);
                let (ib, vb) = xb.row(i);
                sparse_product(ia, va, ib, vb, |_, _| {}).0
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unigram() -> TfidfParams {
        TfidfParams {
            min_df: 1,
            analyzer: crate::AnalyzerParams {
                ngram: (1, 1),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn blocks_are_laid_out_as_documented() {
        let a = ["the cat sat", "a dog ran"];
        let b = ["the cat ran", "birds fly"];
        let (v, x) =
            PairVectorizer::fit_transform(&unigram(), &PairParams::default(), &a, &b).unwrap();
        let (da, db, ds) = v.dims();
        assert_eq!((da, db, ds), (6, 5, 8));
        assert_eq!(x.ncols, da + db + ds + 2);
        assert_eq!(v.num_features(), x.ncols);
        // Row 0: 3 + 3 side entries, 2 shared n-grams ("the", "cat"), cosine, Jaccard.
        let (cols, vals) = x.row(0);
        assert_eq!(cols.len(), 3 + 3 + 2 + 2);
        assert!(cols[..3].iter().all(|&c| (c as usize) < da));
        assert!(cols[3..6]
            .iter()
            .all(|&c| (da..da + db).contains(&(c as usize))));
        assert!(cols[6..8]
            .iter()
            .all(|&c| (da + db..da + db + ds).contains(&(c as usize))));
        let product_sum: f32 = vals[6..8].iter().sum();
        let cosine = vals[8];
        assert!((product_sum - cosine).abs() < 1e-6);
        let shared = v
            .shared
            .as_ref()
            .unwrap()
            .transform(&["the cat sat", "the cat ran"]);
        let want = sparse_product(
            shared.row(0).0,
            shared.row(0).1,
            shared.row(1).0,
            shared.row(1).1,
            |_, _| {},
        )
        .0;
        assert!((cosine as f64 - want).abs() < 1e-6 && want > 0.1);
        assert_eq!(vals[9], 0.5); // {the, cat} of {the, cat, sat, ran}
                                  // Row 1 shares nothing: cosine and Jaccard 0, no product entries.
        let (cols, vals) = x.row(1);
        assert_eq!(cols.len(), 3 + 2 + 2);
        assert_eq!(&vals[5..], &[0.0, 0.0]);
        // transform gives the same rows as fit_transform.
        assert_eq!(v.transform(&a, &b).unwrap(), x);
    }

    #[test]
    fn blocks_can_be_turned_off_and_bad_input_is_refused() {
        let only_sim = PairParams {
            sides: false,
            product: false,
            similarity: true,
        };
        let (v, x) =
            PairVectorizer::fit_transform(&unigram(), &only_sim, &["a b"], &["b c"]).unwrap();
        assert!(v.side_a.is_none() && v.side_b.is_none());
        assert_eq!(x.ncols, 2);
        let none = PairParams {
            sides: false,
            product: false,
            similarity: false,
        };
        let e = PairVectorizer::fit_transform(&unigram(), &none, &["a"], &["b"]).unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
        let e = v.transform(&["a", "b"], &["c"]).unwrap_err().to_string();
        assert!(e.contains("2 first texts and 1 second"), "{e}");
        let e = PairVectorizer::fit_transform(
            &TfidfParams {
                min_df: 2,
                ..unigram()
            },
            &PairParams::default(),
            &["x y", "x z"],
            &["p", "q"],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("second texts of the pairs"), "{e}");
    }

    #[test]
    fn cosine_baseline() {
        let c = PairCosine::fit(&unigram(), &["red apple", "green apple", "blue sky"]).unwrap();
        let s = c
            .score(
                &["red apple", "red apple", "blue sky", "zzz"],
                &["red apple", "green apple", "red apple", "red"],
            )
            .unwrap();
        assert!((s[0] - 1.0).abs() < 1e-6);
        assert!(s[1] > 0.0 && s[1] < 1.0);
        assert_eq!(s[2], 0.0);
        assert_eq!(s[3], 0.0);
    }
}
