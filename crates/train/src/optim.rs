//! AdamW with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
//! Regularization", ICLR 2019), exactly as `torch.optim.AdamW` computes it:
//!
//! ```text
//! w ← w·(1 − lr·wd)
//! m ← β₁m + (1−β₁)g        v ← β₂v + (1−β₂)g²
//! w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
//! ```
//!
//! Weight decay applies only to parameters for which [`textclf_models::decays`] is true
//! (no biases, no LayerNorm), as transformers' Trainer groups them. Gradient-norm clipping
//! is folded into the update (the gradients are scaled while they are read).
//!
//! On the CPU the update is one fused pass over flat host vectors. On an accelerator the
//! gradients and both moments stay on the device and the same formula runs as tensor
//! operations, so a step never copies the model across the bus.

use std::collections::HashMap;

use candle_core::{backprop::GradStore, DType, Device, Tensor};
use rayon::prelude::*;
use textclf_models::{decays, ParamStore};

use crate::{Result, TrainError};

/// Hyper-parameters of AdamW.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Optimizer state: first and second moments of every parameter, and the step count.
pub struct AdamW {
    pub config: AdamWConfig,
    pub step: u64,
    moments: Moments,
    decay: Vec<bool>,
}

/// Where the moments live: flat host vectors (CPU training) or tensors on the parameters'
/// device (accelerators).
enum Moments {
    Host { m: Vec<Vec<f32>>, v: Vec<Vec<f32>> },
    Device { m: Vec<Tensor>, v: Vec<Tensor> },
}

/// One parameter's gradient: a flat host vector for the fused CPU update, or a tensor left
/// on the accelerator.
#[derive(Debug, Clone)]
pub enum Grad {
    Host(Vec<f32>),
    Device(Tensor),
}

/// The gradients of all parameters (`None` when a parameter got none), in store order.
pub type Grads = Vec<Option<Grad>>;

/// Adds `b` into `a` (gradient accumulation).
pub fn accumulate(a: &mut Grads, b: Grads) -> Result<()> {
    for (x, y) in a.iter_mut().zip(b) {
        match (x.as_mut(), y) {
            (Some(Grad::Host(x)), Some(Grad::Host(y))) => {
                x.iter_mut().zip(&y).for_each(|(p, q)| *p += q)
            }
            (Some(Grad::Device(x)), Some(Grad::Device(y))) => *x = (&*x + &y)?,
            (Some(_), Some(_)) => {
                return Err(TrainError::Checkpoint(
                    "internal: host and device gradients cannot be accumulated together".into(),
                ))
            }
            (None, Some(y)) => *x = Some(y),
            _ => {}
        }
    }
    Ok(())
}

/// Global L2 norm of all gradients. Per-parameter sums run in parallel but are added in a
/// fixed order, so the result (and therefore training) is bit-for-bit reproducible. Device
/// gradients are reduced on the device and read back once.
pub fn grad_norm(g: &Grads) -> Result<f64> {
    let parts: Vec<f64> = g
        .par_iter()
        .map(|v| match v {
            Some(Grad::Host(v)) => v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>(),
            _ => 0.0,
        })
        .collect();
    let mut total = parts.iter().sum::<f64>();
    let device: Vec<Tensor> = g
        .iter()
        .filter_map(|v| match v {
            Some(Grad::Device(t)) => Some(t.sqr().and_then(|t| t.sum_all())),
            _ => None,
        })
        .collect::<candle_core::Result<_>>()?;
    if !device.is_empty() {
        let sum = Tensor::stack(&device, 0)?.sum_all()?.to_dtype(DType::F64)?;
        total += sum.to_scalar::<f64>()?;
    }
    Ok(total.sqrt())
}

/// The factor `clip_grad_norm_(max_norm)` multiplies gradients by: `min(1, max/(norm+1e-6))`.
pub fn clip_factor(norm: f64, max_norm: Option<f64>) -> f64 {
    match max_norm {
        Some(m) if norm > m => m / (norm + 1e-6),
        _ => 1.0,
    }
}

impl AdamW {
    /// Zero state for the parameters of `params`: host vectors when they are on the CPU,
    /// tensors on their device otherwise.
    pub fn new(params: &ParamStore, config: AdamWConfig) -> Result<Self> {
        let on_cpu = params.vars().iter().all(|(_, v)| v.device().is_cpu());
        Self::with_state(params, config, !on_cpu)
    }

    /// Zero state, kept as device tensors when `tensor_state` (also on the CPU, which is how
    /// the accelerator path is tested without one).
    pub fn with_state(
        params: &ParamStore,
        config: AdamWConfig,
        tensor_state: bool,
    ) -> Result<Self> {
        let vars = params.vars();
        let moments = if tensor_state {
            let zeros = || -> Result<Vec<Tensor>> {
                vars.iter()
                    .map(|(_, v)| v.as_tensor().zeros_like().map_err(TrainError::from))
                    .collect()
            };
            Moments::Device {
                m: zeros()?,
                v: zeros()?,
            }
        } else {
            let sizes: Vec<usize> = vars.iter().map(|(_, v)| v.elem_count()).collect();
            Moments::Host {
                m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
                v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            }
        };
        Ok(Self {
            config,
            step: 0,
            moments,
            decay: vars.iter().map(|(n, _)| decays(n)).collect(),
        })
    }

    /// Reads the gradients of `params` out of a `GradStore`, in the form [`AdamW::step`]
    /// works on: flat host vectors for host state, tensors left in place otherwise.
    pub fn collect_grads(&self, params: &ParamStore, store: &GradStore) -> Result<Grads> {
        let host = matches!(self.moments, Moments::Host { .. });
        params
            .vars()
            .iter()
            .map(|(_, v)| {
                let Some(g) = store.get(v.as_tensor()) else {
                    return Ok(None);
                };
                Ok(Some(if host {
                    Grad::Host(g.flatten_all()?.to_vec1::<f32>()?)
                } else {
                    Grad::Device(g.clone())
                }))
            })
            .collect()
    }

    /// One update with learning rate `lr`; gradients are multiplied by `scale` first
    /// (clipping, or 1/accumulation steps). Parameters without a gradient are left alone.
    pub fn step(&mut self, params: &ParamStore, grads: &Grads, lr: f64, scale: f64) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        let step_size = (lr / bc1) as f32;
        // 1−β is formed in f64 before rounding, as PyTorch does (0.999f32 − 1 is off by 1e-5).
        let (b1, b2, eps) = (c.beta1 as f32, c.beta2 as f32, c.eps as f32);
        let (omb1, omb2) = ((1.0 - c.beta1) as f32, (1.0 - c.beta2) as f32);
        let scale = scale as f32;
        for (i, (_, var)) in params.vars().iter().enumerate() {
            let Some(g) = &grads[i] else { continue };
            let decay_factor = if self.decay[i] {
                1.0 - lr * c.weight_decay
            } else {
                1.0
            };
            let (m, v, g) = match (&mut self.moments, g) {
                (Moments::Device { m, v }, Grad::Device(g)) => {
                    // The same update as the fused loop below, as tensor operations.
                    let g = g.affine(scale as f64, 0.0)?;
                    let mi =
                        ((m[i].affine(c.beta1, 0.0)? + g.affine(1.0 - c.beta1, 0.0)?)?).detach();
                    let vi = ((v[i].affine(c.beta2, 0.0)?
                        + g.sqr()?.affine(1.0 - c.beta2, 0.0)?)?)
                    .detach();
                    let denom = vi.sqrt()?.affine(1.0 / bc2_sqrt, c.eps)?;
                    let upd = (&mi / denom)?.affine(step_size as f64, 0.0)?;
                    let w = (var.as_tensor().affine(decay_factor, 0.0)? - upd)?;
                    var.set(&w)?;
                    m[i] = mi;
                    v[i] = vi;
                    continue;
                }
                (Moments::Host { m, v }, Grad::Host(g)) => (&mut m[i], &mut v[i], g),
                _ => {
                    return Err(TrainError::Checkpoint(
                        "internal: gradients and optimizer state are on different devices".into(),
                    ))
                }
            };
            let decay_factor = decay_factor as f32;
            let shape = var.dims().to_vec();
            let mut w: Vec<f32> = var.as_tensor().flatten_all()?.to_vec1()?;
            let bc2_sqrt = bc2_sqrt as f32;
            const CHUNK: usize = 1 << 14;
            w.par_chunks_mut(CHUNK)
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .zip(g.par_chunks(CHUNK))
                .for_each(|(((w, m), v), g)| {
                    for j in 0..w.len() {
                        let gj = g[j] * scale;
                        w[j] *= decay_factor;
                        m[j] = b1 * m[j] + omb1 * gj;
                        v[j] = b2 * v[j] + omb2 * gj * gj;
                        w[j] -= step_size * m[j] / (v[j].sqrt() / bc2_sqrt + eps);
                    }
                });
            var.set(&Tensor::from_vec(w, shape, var.device())?)?;
        }
        Ok(())
    }

    /// The moments as named tensors (`m.<param>`, `v.<param>`) for a checkpoint.
    pub fn state_tensors(&self, params: &ParamStore) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for (i, (name, var)) in params.vars().iter().enumerate() {
            let shape = var.dims().to_vec();
            let (m, v) = match &self.moments {
                Moments::Host { m, v } => (
                    Tensor::from_slice(&m[i], shape.clone(), &Device::Cpu)?,
                    Tensor::from_slice(&v[i], shape, &Device::Cpu)?,
                ),
                Moments::Device { m, v } => {
                    (m[i].to_device(&Device::Cpu)?, v[i].to_device(&Device::Cpu)?)
                }
            };
            out.insert(format!("m.{name}"), m);
            out.insert(format!("v.{name}"), v);
        }
        Ok(out)
    }

    /// Restores the moments saved by [`AdamW::state_tensors`].
    pub fn load_state(
        &mut self,
        params: &ParamStore,
        t: &HashMap<String, Tensor>,
        step: u64,
    ) -> Result<()> {
        for (i, (name, var)) in params.vars().iter().enumerate() {
            for (k, key) in [format!("m.{name}"), format!("v.{name}")]
                .iter()
                .enumerate()
            {
                let src = t.get(key).ok_or_else(|| {
                    TrainError::Checkpoint(format!("optimizer state lacks {key}"))
                })?;
                if src.elem_count() != var.elem_count() {
                    return Err(TrainError::Checkpoint(format!(
                        "optimizer state {key} has the wrong size"
                    )));
                }
                match &mut self.moments {
                    Moments::Host { m, v } => {
                        let dst = if k == 0 { &mut m[i] } else { &mut v[i] };
                        *dst = src.flatten_all()?.to_vec1()?;
                    }
                    Moments::Device { m, v } => {
                        let dst = if k == 0 { &mut m[i] } else { &mut v[i] };
                        *dst = src
                            .to_dtype(DType::F32)?
                            .reshape(var.dims())?
                            .to_device(var.device())?;
                    }
                }
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Linear warmup from 0 to the peak over `warmup` steps, then linear decay to 0 at
/// `total` (transformers' `get_linear_schedule_with_warmup`; step `s` is 0-based, so the
/// very first update uses `lr · 0/warmup` when there is warmup, as there).
pub fn linear_schedule(peak: f64, step: u64, warmup: u64, total: u64) -> f64 {
    if step < warmup {
        peak * step as f64 / warmup.max(1) as f64
    } else {
        peak * ((total.saturating_sub(step)) as f64 / (total.saturating_sub(warmup)).max(1) as f64)
            .max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        assert_eq!(linear_schedule(1.0, 0, 10, 100), 0.0);
        assert!((linear_schedule(1.0, 5, 10, 100) - 0.5).abs() < 1e-12);
        assert!((linear_schedule(1.0, 10, 10, 100) - 1.0).abs() < 1e-12);
        assert!((linear_schedule(1.0, 55, 10, 100) - 0.5).abs() < 1e-12);
        assert_eq!(linear_schedule(1.0, 100, 10, 100), 0.0);
        assert!((linear_schedule(2.0, 0, 0, 4) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn clipping_factor() {
        assert_eq!(clip_factor(0.5, Some(1.0)), 1.0);
        assert!((clip_factor(4.0, Some(1.0)) - 0.25).abs() < 1e-6);
        assert_eq!(clip_factor(4.0, None), 1.0);
    }
}
