//! Saving and loading linear models: `model.json` (settings, labels, calibration) beside
//! `model.safetensors` (vocabulary hashes, IDF, weights, intercepts).

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use textclf_core::{atomic, LabelSet};

use crate::model::{Calibration, LinearClassifier, LinearParams};
use crate::tfidf::Tfidf;
use crate::{LinearError, Result};

const FORMAT: &str = "textclf-linear";
/// The newest format version this build reads. Version 2 added the temperature
/// calibration; models without it are still written as version 1, so older builds
/// keep loading them.
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    params: LinearParams,
    labels: Vec<String>,
    calibration: Calibration,
    num_features: usize,
    outputs: usize,
}

fn bytes_of_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl LinearClassifier {
    /// Loads a model written by [`Classifier::save`](textclf_core::Classifier::save).
    pub fn load(dir: &Path) -> Result<Self> {
        load(dir)
    }

    /// Writes `model.json` and `model.safetensors` into `dir` (the model's
    /// `Classifier::save`).
    pub(crate) fn write_to(&self, dir: &Path) -> Result<()> {
        save(self, dir)
    }
}

fn save(m: &LinearClassifier, dir: &Path) -> Result<()> {
    let io = |e| LinearError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: match m.calibration {
            Calibration::Temperature { .. } => 2,
            _ => 1,
        },
        params: m.params.clone(),
        labels: m.labels.names().to_vec(),
        calibration: m.calibration.clone(),
        num_features: m.vectorizer.num_features(),
        outputs: m.outputs(),
    };
    let d = m.vectorizer.num_features();
    let hashes: Vec<u8> = m
        .vectorizer
        .hashes
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect();
    let idf = bytes_of_f32(&m.vectorizer.idf);
    let w = bytes_of_f32(&m.weights);
    let b = bytes_of_f32(&m.bias);
    let view = |dt, shape, data| {
        TensorView::new(dt, shape, data).map_err(|e| LinearError::Data(e.to_string()))
    };
    let tensors = vec![
        ("vocab_hashes", view(Dtype::U64, vec![d], &hashes)?),
        ("idf", view(Dtype::F32, vec![d], &idf)?),
        ("weight", view(Dtype::F32, vec![m.outputs(), d], &w)?),
        ("bias", view(Dtype::F32, vec![m.outputs()], &b)?),
    ];
    let meta = HashMap::from([("format".to_string(), FORMAT.to_string())]);
    atomic::replace_with(&dir.join("model.safetensors"), |tmp| {
        safetensors::serialize_to_file(tensors, Some(meta), tmp).map_err(std::io::Error::other)
    })
    .map_err(io)?;
    let json =
        serde_json::to_string_pretty(&manifest).map_err(|e| LinearError::Data(e.to_string()))?;
    atomic::write_atomic(&dir.join("model.json"), json.as_bytes()).map_err(io)?;
    Ok(())
}

fn load(dir: &Path) -> Result<LinearClassifier> {
    let fail = |reason: String| LinearError::Load {
        path: dir.to_path_buf(),
        reason,
    };
    let mpath = dir.join("model.json");
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        fail(format!(
            "cannot read {}: {e} (is this the folder a `textclf baseline` run saved its model in, e.g. <run>/model?)",
            mpath.display()
        ))
    })?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| fail(format!("model.json: {e}")))?;
    if m.format != FORMAT {
        return Err(fail(format!(
            "model.json has format '{}', expected '{FORMAT}'",
            m.format
        )));
    }
    if m.version > VERSION {
        return Err(fail(format!(
            "model version {} is newer than this textclf understands ({VERSION}): upgrade textclf",
            m.version
        )));
    }
    let spath = dir.join("model.safetensors");
    let bytes =
        std::fs::read(&spath).map_err(|e| fail(format!("cannot read {}: {e}", spath.display())))?;
    let st =
        SafeTensors::deserialize(&bytes).map_err(|e| fail(format!("model.safetensors: {e}")))?;
    let get = |name: &str, dt: Dtype, len: usize| -> Result<&[u8]> {
        let t = st
            .tensor(name)
            .map_err(|e| fail(format!("tensor {name}: {e}")))?;
        let n: usize = t.shape().iter().product();
        if t.dtype() != dt || n != len {
            return Err(fail(format!(
                "tensor {name} has {:?} {:?}, expected {dt:?} with {len} values",
                t.dtype(),
                t.shape()
            )));
        }
        Ok(t.data())
    };
    let d = m.num_features;
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let hashes: Vec<u64> = get("vocab_hashes", Dtype::U64, d)?
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let idf = f32s(get("idf", Dtype::F32, d)?);
    let weights = f32s(get("weight", Dtype::F32, m.outputs * d)?);
    let bias = f32s(get("bias", Dtype::F32, m.outputs)?);
    if let Some(bad) = [("weight", &weights), ("bias", &bias), ("idf", &idf)]
        .iter()
        .find(|(_, v)| v.iter().any(|x| !x.is_finite()))
    {
        return Err(fail(format!(
            "model.safetensors: tensor {} holds values that are not finite numbers (NaN or infinity), so every prediction would be meaningless; the file is damaged: restore it or retrain",
            bad.0
        )));
    }
    m.params
        .features
        .check()
        .and_then(|_| m.params.kind.check_classifier())
        .map_err(|e| fail(format!("model.json holds settings no fit could have made ({e}); the file was edited or damaged: restore it or retrain")))?;
    let labels = LabelSet::new(m.labels).map_err(|e| fail(e.to_string()))?;
    if labels.len() < 2 {
        return Err(fail(format!(
            "model.json lists {} class(es); a classifier has at least two: the file is damaged",
            labels.len()
        )));
    }
    let calibration_ok = match &m.calibration {
        Calibration::Logistic => true,
        Calibration::Platt { sigmoids } => {
            sigmoids.len() == m.outputs
                && sigmoids.iter().all(|p| p.a.is_finite() && p.b.is_finite())
        }
        Calibration::Temperature { temperature } => temperature.is_finite() && *temperature > 0.0,
    };
    if !calibration_ok {
        return Err(fail(
            "model.json's calibration does not fit the model (wrong number of sigmoids, or a temperature that is not a positive number): the file is damaged".into(),
        ));
    }
    let expected_outputs = if labels.len() == 2 { 1 } else { labels.len() };
    if m.outputs != expected_outputs {
        return Err(fail(format!(
            "{} outputs for {} classes",
            m.outputs,
            labels.len()
        )));
    }
    let vectorizer = Tfidf::from_parts(m.params.features.clone(), hashes, idf)?;
    Ok(LinearClassifier::from_saved(
        m.params,
        labels,
        vectorizer,
        weights,
        bias,
        m.calibration,
    ))
}
