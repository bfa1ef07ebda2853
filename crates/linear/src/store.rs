//! Saving and loading the multi-label, regression and pair models: `model.json` (format,
//! version, settings, labels) beside `model.safetensors` (vocabularies, weights), both
//! written to a temporary file and renamed, and every part checked on loading (format,
//! version, tensor types and sizes, finite values, ascending vocabulary hashes) so a
//! damaged or edited folder is refused with a message instead of predicting nonsense.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use textclf_core::atomic;

use crate::features::{FeatureParams, Featurizer};
use crate::tfidf::Tfidf;
use crate::{LinearError, Result};

/// One tensor to write.
pub(crate) struct TensorOut {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

pub(crate) fn f32_tensor(name: &str, shape: Vec<usize>, v: &[f32]) -> TensorOut {
    TensorOut {
        name: name.into(),
        dtype: Dtype::F32,
        shape,
        data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn u64_tensor(name: &str, v: &[u64]) -> TensorOut {
    TensorOut {
        name: name.into(),
        dtype: Dtype::U64,
        shape: vec![v.len()],
        data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// How the features were built, as saved in `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SavedFeatures {
    /// "single" or "pair".
    pub shape: String,
    pub params: FeatureParams,
    /// Columns of each vocabulary, in the order of [`Featurizer::expected_parts`].
    pub vocab_sizes: Vec<usize>,
    pub num_features: usize,
}

impl SavedFeatures {
    pub fn of(f: &Featurizer, params: &FeatureParams) -> Self {
        Self {
            shape: match f {
                Featurizer::Single(_) => "single",
                Featurizer::Pair(_) => "pair",
            }
            .into(),
            params: params.clone(),
            vocab_sizes: f.parts().iter().map(|(_, v)| v.num_features()).collect(),
            num_features: f.num_features(),
        }
    }
}

/// The tensors of a featurizer's vocabularies: `<part>.vocab_hashes` and `<part>.idf`.
pub(crate) fn featurizer_tensors(f: &Featurizer) -> Vec<TensorOut> {
    f.parts()
        .into_iter()
        .flat_map(|(name, v)| {
            [
                u64_tensor(&format!("{name}.vocab_hashes"), &v.hashes),
                f32_tensor(&format!("{name}.idf"), vec![v.idf.len()], &v.idf),
            ]
        })
        .collect()
}

/// Writes `model.json` and `model.safetensors` into `dir` (created if needed).
pub(crate) fn write<M: Serialize>(
    dir: &Path,
    format: &str,
    manifest: &M,
    tensors: Vec<TensorOut>,
) -> Result<()> {
    let io = |e| LinearError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let views = tensors
        .iter()
        .map(|t| {
            TensorView::new(t.dtype, t.shape.clone(), &t.data)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| LinearError::Data(format!("tensor {}: {e}", t.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([("format".to_string(), format.to_string())]);
    atomic::replace_with(&dir.join("model.safetensors"), |tmp| {
        safetensors::serialize_to_file(views, Some(meta), tmp).map_err(std::io::Error::other)
    })
    .map_err(io)?;
    let json =
        serde_json::to_string_pretty(manifest).map_err(|e| LinearError::Data(e.to_string()))?;
    atomic::write_atomic(&dir.join("model.json"), json.as_bytes()).map_err(io)?;
    Ok(())
}

/// A saved model being read: its folder, for messages, and the tensor file's bytes.
pub(crate) struct Loaded {
    pub dir: PathBuf,
    bytes: Vec<u8>,
}

impl Loaded {
    /// Reads `model.json` (checking its format and version first, so that a model of
    /// another kind gets a message naming both) and the tensor file.
    pub fn open<M: DeserializeOwned>(
        dir: &Path,
        format: &str,
        version: u32,
        what: &str,
    ) -> Result<(Self, M)> {
        let fail = |reason: String| LinearError::Load {
            path: dir.to_path_buf(),
            reason,
        };
        let mpath = dir.join("model.json");
        let text = std::fs::read_to_string(&mpath).map_err(|e| {
            fail(format!(
                "cannot read {}: {e} (is this the folder a {what} was saved in?)",
                mpath.display()
            ))
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("model.json: {e}")))?;
        let found = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if found != format {
            return Err(fail(format!(
                "model.json has format '{found}', expected '{format}' (a {what}): load it with the loader of its own kind"
            )));
        }
        let v = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if v == 0 || v > version as u64 {
            return Err(fail(format!(
                "model version {v} is not one this textclf understands (1 to {version}): upgrade textclf, or the file is damaged"
            )));
        }
        let manifest: M =
            serde_json::from_value(value).map_err(|e| fail(format!("model.json: {e}")))?;
        let spath = dir.join("model.safetensors");
        let bytes = std::fs::read(&spath)
            .map_err(|e| fail(format!("cannot read {}: {e}", spath.display())))?;
        SafeTensors::deserialize(&bytes).map_err(|e| fail(format!("model.safetensors: {e}")))?;
        Ok((
            Self {
                dir: dir.to_path_buf(),
                bytes,
            },
            manifest,
        ))
    }

    pub fn fail(&self, reason: impl Into<String>) -> LinearError {
        LinearError::Load {
            path: self.dir.clone(),
            reason: reason.into(),
        }
    }

    fn raw(&self, name: &str, dt: Dtype, len: usize) -> Result<Vec<u8>> {
        let st = SafeTensors::deserialize(&self.bytes)
            .map_err(|e| self.fail(format!("model.safetensors: {e}")))?;
        let t = st
            .tensor(name)
            .map_err(|e| self.fail(format!("model.safetensors: tensor {name}: {e}")))?;
        let n: usize = t.shape().iter().product();
        if t.dtype() != dt || n != len {
            return Err(self.fail(format!(
                "model.safetensors: tensor {name} has {:?} {:?}, expected {dt:?} with {len} values; the file does not match model.json: restore it or retrain",
                t.dtype(),
                t.shape()
            )));
        }
        Ok(t.data().to_vec())
    }

    /// A tensor of `len` finite `f32` values.
    pub fn f32s(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        let v: Vec<f32> = self
            .raw(name, Dtype::F32, len)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(self.fail(format!(
                "model.safetensors: tensor {name} holds values that are not finite numbers (NaN or infinity); the file is damaged: restore it or retrain"
            )));
        }
        Ok(v)
    }

    fn u64s(&self, name: &str, len: usize) -> Result<Vec<u64>> {
        Ok(self
            .raw(name, Dtype::U64, len)?
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect())
    }

    /// The featurizer described by `saved`, checked against the tensors.
    pub fn featurizer(&self, saved: &SavedFeatures) -> Result<Featurizer> {
        saved.params.check().map_err(|e| {
            self.fail(format!(
                "model.json holds feature settings no fit could have made ({e}); the file was edited or damaged: restore it or retrain"
            ))
        })?;
        let pair = match saved.shape.as_str() {
            "single" => false,
            "pair" => true,
            other => {
                return Err(self.fail(format!(
                    "model.json: feature shape '{other}' is neither 'single' nor 'pair'; the file is damaged"
                )))
            }
        };
        let names = Featurizer::expected_parts(pair, &saved.params.pair);
        if names.len() != saved.vocab_sizes.len() {
            return Err(self.fail(format!(
                "model.json lists {} vocabularies where its settings need {}; the file is damaged",
                saved.vocab_sizes.len(),
                names.len()
            )));
        }
        let mut parts = vec![];
        for (name, &d) in names.iter().zip(&saved.vocab_sizes) {
            let hashes = self.u64s(&format!("{name}.vocab_hashes"), d)?;
            if hashes.windows(2).any(|w| w[0] >= w[1]) {
                return Err(self.fail(format!(
                    "model.safetensors: vocabulary {name} is not in ascending hash order; the file is damaged"
                )));
            }
            let idf = self.f32s(&format!("{name}.idf"), d)?;
            let mut tfidf = saved.params.tfidf.clone();
            if *name == "shared" {
                tfidf.l2_norm = true;
            }
            parts.push(Tfidf::from_parts(tfidf, hashes, idf)?);
        }
        let f = Featurizer::from_parts(pair, &saved.params, parts)?;
        if f.num_features() != saved.num_features {
            return Err(self.fail(format!(
                "model.json says {} features but its vocabularies make {}; the file is damaged",
                saved.num_features,
                f.num_features()
            )));
        }
        Ok(f)
    }
}
