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

use std::collections::HashMap;

use candle_core::{backprop::GradStore, Device, Tensor};
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
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    decay: Vec<bool>,
}

/// The gradients of all parameters (`None` when a parameter got none), in store order.
pub type Grads = Vec<Option<Vec<f32>>>;

/// Reads the gradients of `params` out of a `GradStore` as flat f32 vectors.
pub fn collect_grads(params: &ParamStore, store: &GradStore) -> Result<Grads> {
    params
        .vars()
        .iter()
        .map(|(_, v)| {
            store
                .get(v.as_tensor())
                .map(|g| g.flatten_all().and_then(|g| g.to_vec1::<f32>()))
                .transpose()
                .map_err(TrainError::from)
        })
        .collect()
}

/// Adds `b` into `a` (gradient accumulation).
pub fn accumulate(a: &mut Grads, b: Grads) {
    for (x, y) in a.iter_mut().zip(b) {
        match (x.as_mut(), y) {
            (Some(x), Some(y)) => x.iter_mut().zip(&y).for_each(|(p, q)| *p += q),
            (None, Some(y)) => *x = Some(y),
            _ => {}
        }
    }
}

/// Global L2 norm of all gradients.
/// Global L2 norm of all gradients. Per-parameter sums run in parallel but are added in a
/// fixed order, so the result (and therefore training) is bit-for-bit reproducible.
pub fn grad_norm(g: &Grads) -> f64 {
    let parts: Vec<f64> = g
        .par_iter()
        .map(|v| {
            v.as_ref().map_or(0.0, |v| {
                v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>()
            })
        })
        .collect();
    parts.iter().sum::<f64>().sqrt()
}

/// The factor `clip_grad_norm_(max_norm)` multiplies gradients by: `min(1, max/(norm+1e-6))`.
pub fn clip_factor(norm: f64, max_norm: Option<f64>) -> f64 {
    match max_norm {
        Some(m) if norm > m => m / (norm + 1e-6),
        _ => 1.0,
    }
}

impl AdamW {
    /// Zero state for the parameters of `params`.
    pub fn new(params: &ParamStore, config: AdamWConfig) -> Self {
        let sizes: Vec<usize> = params.vars().iter().map(|(_, v)| v.elem_count()).collect();
        Self {
            config,
            step: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            decay: params.vars().iter().map(|(n, _)| decays(n)).collect(),
        }
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
            let shape = var.dims().to_vec();
            let mut w: Vec<f32> = var.as_tensor().flatten_all()?.to_vec1()?;
            let decay_factor = if self.decay[i] {
                (1.0 - lr * c.weight_decay) as f32
            } else {
                1.0
            };
            let bc2_sqrt = bc2_sqrt as f32;
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
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
            out.insert(
                format!("m.{name}"),
                Tensor::from_slice(&self.m[i], shape.clone(), &Device::Cpu)?,
            );
            out.insert(
                format!("v.{name}"),
                Tensor::from_slice(&self.v[i], shape, &Device::Cpu)?,
            );
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
        for (i, (name, _)) in params.vars().iter().enumerate() {
            for (key, dst) in [
                (format!("m.{name}"), &mut self.m[i]),
                (format!("v.{name}"), &mut self.v[i]),
            ] {
                let src = t.get(&key).ok_or_else(|| {
                    TrainError::Checkpoint(format!("optimizer state lacks {key}"))
                })?;
                let vals: Vec<f32> = src.flatten_all()?.to_vec1()?;
                if vals.len() != dst.len() {
                    return Err(TrainError::Checkpoint(format!(
                        "optimizer state {key} has the wrong size"
                    )));
                }
                *dst = vals;
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
