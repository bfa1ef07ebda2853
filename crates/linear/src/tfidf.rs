//! TF-IDF features: fitting a vocabulary with document frequencies, then turning texts
//! into L2-normalised sparse rows. Tokenising runs in parallel over documents.

use hashbrown::HashMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analyzer::AnalyzerParams;
use crate::sparse::CsrMatrix;
use crate::{LinearError, Result};

/// Hash map keyed by already-hashed n-grams: the key is its own hash.
pub(crate) type HashIndex = HashMap<u64, u32, std::hash::BuildHasherDefault<IdentityHasher>>;

#[derive(Default, Clone, Copy)]
pub(crate) struct IdentityHasher(u64);
impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Settings of the vectorizer (saved with the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TfidfParams {
    pub analyzer: AnalyzerParams,
    /// Ignore n-grams found in fewer documents than this.
    pub min_df: usize,
    /// Ignore n-grams found in more than this share of documents.
    pub max_df: f64,
    /// Keep only the most frequent n-grams (by document frequency).
    pub max_features: Option<usize>,
    /// `1 + ln(tf)` instead of raw counts.
    pub sublinear_tf: bool,
    /// Multiply by the smoothed IDF `ln((1+n)/(1+df)) + 1`.
    pub use_idf: bool,
    /// Count presence (1) instead of occurrences.
    pub binary: bool,
    /// Scale every row to unit L2 norm.
    pub l2_norm: bool,
}

impl Default for TfidfParams {
    fn default() -> Self {
        Self {
            analyzer: AnalyzerParams::default(),
            min_df: 2,
            max_df: 1.0,
            max_features: None,
            sublinear_tf: true,
            use_idf: true,
            binary: false,
            l2_norm: true,
        }
    }
}

impl TfidfParams {
    /// Validates the settings before any work.
    pub fn check(&self) -> Result<()> {
        self.analyzer.check().map_err(LinearError::Param)?;
        if self.min_df == 0 {
            return Err(LinearError::Param("min_df must be at least 1".into()));
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return Err(LinearError::Param(format!(
                "max_df {} must be in (0, 1] (a share of documents)",
                self.max_df
            )));
        }
        if self.max_features == Some(0) {
            return Err(LinearError::Param("max_features must be at least 1".into()));
        }
        Ok(())
    }

    /// Learns the vocabulary and IDF from `texts` and returns the vectorizer with the
    /// transformed matrix of those same texts (tokenised once).
    pub fn fit_transform(&self, texts: &[&str]) -> Result<(Tfidf, CsrMatrix)> {
        self.check()?;
        if texts.is_empty() {
            return Err(LinearError::Data("cannot fit TF-IDF on zero texts".into()));
        }
        let docs = count_docs(&self.analyzer, texts);
        // Document frequency of every n-gram, merged from per-thread maps.
        let df: HashIndex = docs
            .par_chunks(512)
            .fold(HashIndex::default, |mut m, chunk| {
                for d in chunk {
                    for &(h, _) in d {
                        *m.entry(h).or_insert(0) += 1;
                    }
                }
                m
            })
            .reduce(HashIndex::default, |mut a, b| {
                if a.len() < b.len() {
                    return merge_into(b, a);
                }
                for (h, c) in b {
                    *a.entry(h).or_insert(0) += c;
                }
                a
            });
        let n = texts.len();
        let max_df = (self.max_df * n as f64).floor().max(1.0) as u32;
        let mut kept: Vec<(u64, u32)> = df
            .into_iter()
            .filter(|&(_, c)| c as usize >= self.min_df && c <= max_df)
            .collect();
        if kept.is_empty() {
            return Err(LinearError::Data(format!(
                "no n-gram occurs in at least {} of the {n} training texts: lower --min-df",
                self.min_df
            )));
        }
        if let Some(maxf) = self.max_features {
            if kept.len() > maxf {
                kept.par_sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                kept.truncate(maxf);
            }
        }
        kept.par_sort_unstable_by_key(|&(h, _)| h);
        let hashes: Vec<u64> = kept.iter().map(|&(h, _)| h).collect();
        let idf: Vec<f32> = kept
            .iter()
            .map(|&(_, c)| {
                if self.use_idf {
                    (((1 + n) as f64 / (1 + c) as f64).ln() + 1.0) as f32
                } else {
                    1.0
                }
            })
            .collect();
        let tfidf = Tfidf::from_parts(self.clone(), hashes, idf)?;
        let x = tfidf.rows_from_counts(&docs);
        Ok((tfidf, x))
    }
}

fn merge_into(mut big: HashIndex, small: HashIndex) -> HashIndex {
    for (h, c) in small {
        *big.entry(h).or_insert(0) += c;
    }
    big
}

/// Per document, the sorted distinct feature hashes with their counts.
fn count_docs(analyzer: &AnalyzerParams, texts: &[&str]) -> Vec<Vec<(u64, u32)>> {
    texts
        .par_iter()
        .map_init(
            || (String::new(), Vec::new(), Vec::new()),
            |(buf, toks, feats), t| {
                feats.clear();
                analyzer.features(t, buf, toks, feats);
                feats.sort_unstable();
                let mut out: Vec<(u64, u32)> = Vec::with_capacity(feats.len());
                for &h in feats.iter() {
                    match out.last_mut() {
                        Some((last, c)) if *last == h => *c += 1,
                        _ => out.push((h, 1)),
                    }
                }
                out
            },
        )
        .collect()
}

/// A fitted TF-IDF vectorizer.
#[derive(Debug, Clone)]
pub struct Tfidf {
    pub params: TfidfParams,
    /// Feature hash of each column, ascending.
    pub hashes: Vec<u64>,
    /// IDF weight of each column (1 when IDF is off).
    pub idf: Vec<f32>,
    index: HashIndex,
}

impl Tfidf {
    /// Rebuilds a vectorizer from its saved parts.
    pub fn from_parts(params: TfidfParams, hashes: Vec<u64>, idf: Vec<f32>) -> Result<Self> {
        if hashes.len() != idf.len() {
            return Err(LinearError::Data(format!(
                "vocabulary of {} n-grams has {} IDF weights",
                hashes.len(),
                idf.len()
            )));
        }
        let mut index = HashIndex::with_capacity_and_hasher(hashes.len(), Default::default());
        for (i, &h) in hashes.iter().enumerate() {
            index.insert(h, i as u32);
        }
        Ok(Self {
            params,
            hashes,
            idf,
            index,
        })
    }

    /// Number of features (columns).
    pub fn num_features(&self) -> usize {
        self.hashes.len()
    }

    /// Turns texts into TF-IDF rows (n-grams outside the vocabulary are ignored).
    pub fn transform(&self, texts: &[&str]) -> CsrMatrix {
        let docs = count_docs(&self.params.analyzer, texts);
        self.rows_from_counts(&docs)
    }

    fn rows_from_counts(&self, docs: &[Vec<(u64, u32)>]) -> CsrMatrix {
        let p = &self.params;
        let rows: Vec<Vec<(u32, f32)>> = docs
            .par_iter()
            .map(|d| {
                let mut row: Vec<(u32, f32)> = d
                    .iter()
                    .filter_map(|&(h, c)| {
                        let j = *self.index.get(&h)?;
                        let tf = if p.binary {
                            1.0
                        } else if p.sublinear_tf {
                            1.0 + (c as f32).ln()
                        } else {
                            c as f32
                        };
                        Some((j, tf * self.idf[j as usize]))
                    })
                    .collect();
                row.sort_unstable_by_key(|&(j, _)| j);
                if p.l2_norm {
                    let norm = row.iter().map(|&(_, v)| v * v).sum::<f32>().sqrt();
                    if norm > 0.0 {
                        row.iter_mut().for_each(|(_, v)| *v /= norm);
                    }
                }
                row
            })
            .collect();
        CsrMatrix::from_rows(rows, self.num_features())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idf_and_norm_match_the_textbook_formula() {
        let p = TfidfParams {
            min_df: 1,
            sublinear_tf: false,
            analyzer: AnalyzerParams {
                ngram: (1, 1),
                ..Default::default()
            },
            ..Default::default()
        };
        let (v, x) = p.fit_transform(&["a b b", "a c"]).unwrap();
        assert_eq!(v.num_features(), 3);
        assert_eq!(x.nrows(), 2);
        // doc 0: a (df 2, idf 1), b (tf 2, df 1, idf ln(3/2)+1)
        let idf_b = (1.5f32).ln() + 1.0;
        let (_, vals) = x.row(0);
        let mut got: Vec<f32> = vals.to_vec();
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let (a, b) = (1.0f32, 2.0 * idf_b);
        let norm = (a * a + b * b).sqrt();
        assert!((got[0] - a / norm).abs() < 1e-6 && (got[1] - b / norm).abs() < 1e-6);
        // unseen words are ignored at transform time
        let y = v.transform(&["zzz a"]);
        assert_eq!(y.row(0).0.len(), 1);
    }

    #[test]
    fn min_df_filters_and_empty_vocab_errors() {
        let p = TfidfParams::default();
        let (v, _) = p.fit_transform(&["good film", "good plot", "bad"]).unwrap();
        assert_eq!(v.num_features(), 1); // only "good" is in 2 docs
        let p = TfidfParams {
            min_df: 5,
            ..Default::default()
        };
        let e = p.fit_transform(&["a", "b"]).unwrap_err().to_string();
        assert!(e.contains("lower --min-df"), "{e}");
    }
}
