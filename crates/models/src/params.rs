//! Parameters by their Hugging Face names: which ones a model needs, loading them from a
//! safetensors checkpoint (with or without the `bert.`/`distilbert.`/`roberta.` prefix),
//! initialising a fresh classification head, and saving under the same names.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::{ModelError, Result};

/// How a parameter is initialised when the checkpoint lacks it (transformers'
/// `_init_weights`: normal(0, initializer_range) for weights, zeros for biases).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    Normal,
    Zeros,
    Ones,
}

/// One parameter the model needs.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
    /// Part of the classification head (may be missing from an encoder checkpoint).
    pub head: bool,
}

/// The list of parameters a model needs, in order, built block by block.
#[derive(Default)]
pub struct Specs(Vec<ParamSpec>);

impl Specs {
    pub fn add(&mut self, name: String, shape: Vec<usize>, init: Init, head: bool) {
        self.0.push(ParamSpec {
            name,
            shape,
            init,
            head,
        });
    }

    /// A linear layer `n` (`n.weight [out, inp]`, `n.bias [out]`).
    pub fn linear(&mut self, n: &str, out: usize, inp: usize, head: bool) {
        self.add(format!("{n}.weight"), vec![out, inp], Init::Normal, head);
        self.add(format!("{n}.bias"), vec![out], Init::Zeros, head);
    }

    /// A LayerNorm `n` over `h` features.
    pub fn layer_norm(&mut self, n: &str, h: usize) {
        self.add(format!("{n}.weight"), vec![h], Init::Ones, false);
        self.add(format!("{n}.bias"), vec![h], Init::Zeros, false);
    }

    /// An embedding table `n.weight [rows, h]`.
    pub fn table(&mut self, n: &str, rows: usize, h: usize) {
        self.add(format!("{n}.weight"), vec![rows, h], Init::Normal, false);
    }

    pub fn into_vec(self) -> Vec<ParamSpec> {
        self.0
    }
}

/// Whether AdamW decays this parameter: every weight except normalisation layers'
/// (transformers' `Trainer.get_decay_parameter_names`: no decay for names matching `bias`,
/// `layernorm`, `rmsnorm`, `(^|\.)norm($|\.)` or `_norm($|\.)`, lower-cased); never biases.
pub fn decays(name: &str) -> bool {
    let lower = name.to_lowercase();
    let norm_part = lower
        .split('.')
        .any(|part| part == "norm" || part.ends_with("_norm"));
    !(lower.contains("bias")
        || lower.contains("layernorm")
        || lower.contains("rmsnorm")
        || lower.contains("layer_norm")
        || norm_part)
}

/// The parameters of a model, in the order of their [`Specs`].
pub struct ParamStore {
    vars: Vec<(String, Var)>,
    index: HashMap<String, usize>,
}

/// What loading a checkpoint did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Parameters initialised fresh (seeded) because the checkpoint lacked them.
    pub fresh: Vec<String>,
    /// Checkpoint tensors the model does not use (e.g. `embeddings.position_ids`, MLM heads).
    pub unused: Vec<String>,
    /// Encoder layers of the checkpoint that were kept (`--layers`).
    pub kept_layers: Vec<usize>,
}

impl ParamStore {
    /// The variable of `name`.
    pub fn get(&self, name: &str) -> Result<&Var> {
        self.index
            .get(name)
            .map(|&i| &self.vars[i].1)
            .ok_or_else(|| ModelError::Weights(format!("the model has no parameter '{name}'")))
    }

    /// Whether the model has a parameter `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The tensor of `name` (shares storage with the variable).
    pub fn t(&self, name: &str) -> Result<&Tensor> {
        Ok(self.get(name)?.as_tensor())
    }

    /// All parameters by name, in a fixed order.
    pub fn vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Builds the store from `specs`, taking values from `tensors` (already renamed to the
    /// spec names) and initialising the rest with `seed`.
    pub fn build(
        specs: &[ParamSpec],
        mut tensors: HashMap<String, Tensor>,
        init_std: f64,
        seed: u64,
        device: &Device,
    ) -> Result<(Self, Vec<String>)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, init_std as f32)
            .map_err(|e| ModelError::Weights(format!("initializer_range {init_std}: {e}")))?;
        let mut vars = Vec::with_capacity(specs.len());
        let mut fresh = vec![];
        for s in specs {
            let t = match tensors.remove(&s.name) {
                Some(t) => {
                    if t.dims() != s.shape.as_slice() {
                        return Err(ModelError::Weights(format!(
                            "checkpoint tensor {} has shape {:?}, the config implies {:?}",
                            s.name,
                            t.dims(),
                            s.shape
                        )));
                    }
                    t.to_dtype(DType::F32)?.to_device(device)?
                }
                None => {
                    if !s.head {
                        return Err(ModelError::Weights(format!(
                            "the checkpoint lacks '{}' (is config.json's model_type right for these weights?)",
                            s.name
                        )));
                    }
                    fresh.push(s.name.clone());
                    let n: usize = s.shape.iter().product();
                    let data: Vec<f32> = match s.init {
                        Init::Normal => (0..n).map(|_| normal.sample(&mut rng)).collect(),
                        Init::Zeros => vec![0.0; n],
                        Init::Ones => vec![1.0; n],
                    };
                    Tensor::from_vec(data, s.shape.clone(), device)?
                }
            };
            vars.push((s.name.clone(), Var::from_tensor(&t)?));
        }
        let index = vars
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        Ok((Self { vars, index }, fresh))
    }

    /// Writes every parameter into a safetensors file under its Hugging Face name.
    pub fn save(&self, path: &Path) -> Result<()> {
        let map: HashMap<String, Tensor> = self
            .vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        textclf_core::atomic::replace_with(path, |tmp| {
            candle_core::safetensors::save(&map, tmp).map_err(std::io::Error::other)
        })
        .map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Replaces every parameter's value with the tensors of `map` (same names and shapes).
    pub fn assign(&self, map: &HashMap<String, Tensor>) -> Result<()> {
        for (n, v) in &self.vars {
            let t = map
                .get(n)
                .ok_or_else(|| ModelError::Weights(format!("checkpoint lacks '{n}'")))?;
            v.set(&t.to_device(v.device())?)?;
        }
        Ok(())
    }
}

/// Reads a checkpoint's tensors and renames them to the names of `specs`: adds the
/// encoder's `prefix` where it is missing (a key is kept as it is when it starts with
/// the first part of a spec's name, such as `classifier`), maps old `gamma`/`beta`
/// LayerNorm names, and keeps only the layers in `keep` (renumbered 0..) of the layers
/// named `{layers}.{i}.…`.
pub fn read_checkpoint(
    path: &Path,
    specs: &[ParamSpec],
    prefix: &str,
    layers: &str,
    keep: &[usize],
    device: &Device,
) -> Result<(HashMap<String, Tensor>, Vec<String>)> {
    let raw = candle_core::safetensors::load(path, device)
        .map_err(|e| ModelError::Weights(format!("cannot read {}: {e}", path.display())))?;
    check_finite(&raw, path)?;
    let layer_prefix = format!("{layers}.");
    let new_index: BTreeMap<usize, usize> = keep
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new))
        .collect();
    let roots: HashSet<&str> = specs
        .iter()
        .filter_map(|s| s.name.split('.').next())
        .collect();
    let mut out = HashMap::new();
    let mut unused = vec![];
    for (key, t) in raw {
        let mut name = key
            .replace("LayerNorm.gamma", "LayerNorm.weight")
            .replace("LayerNorm.beta", "LayerNorm.bias");
        let root = name.split('.').next().unwrap_or("");
        if !roots.contains(root) {
            name = format!("{prefix}.{name}");
        }
        if let Some(rest) = name.strip_prefix(&layer_prefix) {
            let (idx, tail) = rest.split_once('.').unwrap_or((rest, ""));
            match idx.parse::<usize>().ok().and_then(|i| new_index.get(&i)) {
                Some(&new) => name = format!("{layer_prefix}{new}.{tail}"),
                None => {
                    if idx.parse::<usize>().is_err() {
                        unused.push(key);
                    }
                    continue;
                }
            }
        }
        out.insert(name, t);
    }
    Ok((out, unused))
}

/// Refuses weights read from `path` that hold NaN or infinite values (a damaged file, or
/// a model saved after it diverged): used as they are, they would make every prediction
/// and loss NaN, and training would then blame its learning rate.
pub fn check_finite(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let t = &tensors[name];
        if !t.dtype().is_float() {
            continue;
        }
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(ModelError::Weights(format!(
                "{}: tensor '{name}' holds {bad} values that are not numbers (NaN or infinity): the file is damaged or was saved from a diverged run; use another copy",
                path.display()
            )));
        }
    }
    Ok(())
}

/// `k` evenly spaced layers of `n` (`⌊i·n/k⌋`), e.g. 3 of 6 → 0, 2, 4, the way DistilBERT
/// was initialised from every other BERT layer.
pub fn evenly_spaced_layers(n: usize, k: usize) -> Vec<usize> {
    (0..k).map(|i| i * n / k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_that_are_not_numbers_are_refused_by_name() {
        let dev = Device::Cpu;
        let ok = Tensor::new(&[1f32, 2.0], &dev).unwrap();
        let nan = Tensor::new(&[1f32, f32::NAN, f32::INFINITY], &dev).unwrap();
        let ids = Tensor::new(&[1u32, 2], &dev).unwrap();
        let good: HashMap<String, Tensor> =
            [("a".to_string(), ok.clone()), ("ids".to_string(), ids)].into();
        assert!(check_finite(&good, Path::new("m.safetensors")).is_ok());
        let bad: HashMap<String, Tensor> = [("a".to_string(), ok), ("b".to_string(), nan)].into();
        let e = check_finite(&bad, Path::new("m.safetensors"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("'b' holds 2 values"),
            "{e}"
        );
    }

    #[test]
    fn decay_rule_matches_transformers_grouping() {
        assert!(decays("bert.embeddings.word_embeddings.weight"));
        assert!(decays("classifier.weight"));
        assert!(!decays("classifier.bias"));
        assert!(!decays("bert.embeddings.LayerNorm.weight"));
        assert!(!decays(
            "distilbert.transformer.layer.1.output_layer_norm.weight"
        ));
        assert!(!decays(
            "distilbert.transformer.layer.0.sa_layer_norm.weight"
        ));
        // ModernBERT's bias-free norms.
        for n in [
            "model.embeddings.norm.weight",
            "model.layers.1.attn_norm.weight",
            "model.final_norm.weight",
            "head.norm.weight",
        ] {
            assert!(!decays(n), "{n}");
        }
        assert!(decays("model.layers.1.attn.Wqkv.weight"));
        assert!(decays("head.dense.weight"));
        assert!(decays("deberta.encoder.rel_embeddings.weight"));
    }

    #[test]
    fn evenly_spaced() {
        assert_eq!(evenly_spaced_layers(6, 3), vec![0, 2, 4]);
        assert_eq!(evenly_spaced_layers(12, 6), vec![0, 2, 4, 6, 8, 10]);
        assert_eq!(evenly_spaced_layers(6, 6), (0..6).collect::<Vec<_>>());
    }
}
