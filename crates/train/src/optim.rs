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
//! On the CPU the update is one fused pass that rewrites each parameter's storage in place
//! (no copy of the model out and back), reading the gradients where autograd left them.
//! The word-embedding gradient arrives as sparse rows ([`SparseRows`]); the rows it lacks
//! are updated with a zero gradient, exactly as the dense update would (their moments
//! decay and the weights keep moving with them), so the result does not change. On an accelerator the
//! gradients and both moments stay on the device and the same formula runs as tensor
//! operations, so a step never copies the model across the bus.

use std::collections::HashMap;

use std::sync::Mutex;

use candle_core::{CpuStorage, DType, Device, InplaceOp1, Layout, Tensor};
use rayon::prelude::*;
use textclf_models::fused::with_slice;
use textclf_models::profile::{span, Phase};
use textclf_models::{decays, Gradients, ParamStore, SparseRows};

use crate::{Result, TrainError};

/// Hyper-parameters of AdamW (declared with the other trainer settings).
pub use textclf_settings::train::AdamWConfig;

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

/// One parameter's gradient: a contiguous f32 CPU tensor for the fused CPU update, the
/// touched rows of an embedding table, or a tensor left on the accelerator.
#[derive(Debug, Clone)]
pub enum Grad {
    Host(Tensor),
    Rows(SparseRows),
    Device(Tensor),
}

/// The gradients of all parameters (`None` when a parameter got none), in store order.
pub type Grads = Vec<Option<Grad>>;

/// Adds `b` into `a` (gradient accumulation).
pub fn accumulate(a: &mut Grads, b: Grads) -> Result<()> {
    for (x, y) in a.iter_mut().zip(b) {
        match (x.as_mut(), y) {
            (Some(Grad::Host(x)), Some(Grad::Host(y)))
            | (Some(Grad::Device(x)), Some(Grad::Device(y))) => *x = (&*x + &y)?,
            (Some(Grad::Rows(x)), Some(Grad::Rows(y))) => x.add(&y),
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
    let _p = span("grad-norm", Phase::Optimizer);
    let parts: Vec<f64> = g
        .par_iter()
        .map(|v| match v {
            Some(Grad::Host(t)) => with_slice(t, |v| {
                Ok(v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>())
            }),
            Some(Grad::Rows(r)) => Ok(r.sum_sq()),
            _ => Ok(0.0),
        })
        .collect::<candle_core::Result<_>>()?;
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

    /// Picks the gradients of `params` out of a backward pass, in the form
    /// [`AdamW::step`] works on: CPU tensors and sparse rows for host state (nothing is
    /// copied), device tensors otherwise (sparse rows are then made dense).
    pub fn collect_grads(&self, params: &ParamStore, grads: &Gradients) -> Result<Grads> {
        let host = matches!(self.moments, Moments::Host { .. });
        params
            .vars()
            .iter()
            .map(|(name, v)| {
                if let Some(rows) = grads.sparse.get(name) {
                    return Ok(Some(if host {
                        Grad::Rows(rows.clone())
                    } else {
                        Grad::Device(rows.to_dense(v.device())?)
                    }));
                }
                let Some(g) = grads.store.get(v.as_tensor()) else {
                    return Ok(None);
                };
                Ok(Some(if host {
                    Grad::Host(g.to_dtype(DType::F32)?.contiguous()?)
                } else {
                    Grad::Device(g.clone())
                }))
            })
            .collect()
    }

    /// One update with learning rate `lr`; gradients are multiplied by `scale` first
    /// (clipping, or 1/accumulation steps). Parameters without a gradient are left alone.
    pub fn step(&mut self, params: &ParamStore, grads: &Grads, lr: f64, scale: f64) -> Result<()> {
        let _p = span("adamw", Phase::Optimizer);
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        let step_size = (lr / bc1) as f32;
        // The f32 scalars of the fused CPU update; only the decay differs per parameter.
        // 1−β is formed in f64 before rounding, as PyTorch does (0.999f32 − 1 is off by 1e-5).
        let base = Coeffs {
            scale: scale as f32,
            decay: 1.0,
            b1: c.beta1 as f32,
            b2: c.beta2 as f32,
            omb1: (1.0 - c.beta1) as f32,
            omb2: (1.0 - c.beta2) as f32,
            step_size,
            bc2_sqrt: bc2_sqrt as f32,
            eps: c.eps as f32,
        };
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
                    let g = g.affine(scale, 0.0)?;
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
                (Moments::Host { m, v }, g @ (Grad::Host(_) | Grad::Rows(_))) => {
                    (&mut m[i], &mut v[i], g)
                }
                _ => {
                    return Err(TrainError::Checkpoint(
                        "internal: gradients and optimizer state are on different devices".into(),
                    ))
                }
            };
            let k = Coeffs {
                decay: decay_factor as f32,
                ..base
            };
            let mut run = |grad: GradView| {
                var.as_tensor().inplace_op1(&InPlace {
                    m: Mutex::new(m.as_mut_slice()),
                    v: Mutex::new(v.as_mut_slice()),
                    grad,
                    k,
                })
            };
            match g {
                Grad::Host(t) => with_slice(t, |gv| run(GradView::Dense(gv)))?,
                Grad::Rows(r) => run(GradView::Rows(r))?,
                Grad::Device(_) => unreachable!("matched above"),
            }
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

/// The scalars of one AdamW update.
#[derive(Clone, Copy)]
struct Coeffs {
    scale: f32,
    decay: f32,
    b1: f32,
    b2: f32,
    omb1: f32,
    omb2: f32,
    step_size: f32,
    bc2_sqrt: f32,
    eps: f32,
}

impl Coeffs {
    /// Updates a run of weights and their moments with gradient `g` (`None`: zero).
    fn apply(&self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: Option<&[f32]>) {
        update::adamw(*self, w, m, v, g)
    }
}

/// The update loop, compiled as well for AVX2 + FMA and chosen at run time
/// (`textclf_models::dispatch!`): the square roots and divisions then run eight at a time.
/// The same IEEE operations in the same order (Rust never fuses a multiply and an add by
/// itself), so the same bits as the baseline copy.
mod update {
    use super::Coeffs;

    textclf_models::dispatch! {
        fn adamw(k: Coeffs, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: Option<&[f32]>) {
            let one = |w: &mut f32, m: &mut f32, v: &mut f32, gj: f32| {
                let gj = gj * k.scale;
                *w *= k.decay;
                *m = k.b1 * *m + k.omb1 * gj;
                *v = k.b2 * *v + k.omb2 * gj * gj;
                *w -= k.step_size * *m / (v.sqrt() / k.bc2_sqrt + k.eps);
            };
            let wmv = w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut());
            match g {
                Some(g) => wmv.zip(g).for_each(|(((w, m), v), &gj)| one(w, m, v, gj)),
                None => wmv.for_each(|((w, m), v)| one(w, m, v, 0.0)),
            }
        }
    }
}

enum GradView<'a> {
    Dense(&'a [f32]),
    Rows(&'a SparseRows),
}

/// The fused AdamW update of one parameter, run on its storage in place.
struct InPlace<'a> {
    m: Mutex<&'a mut [f32]>,
    v: Mutex<&'a mut [f32]>,
    grad: GradView<'a>,
    k: Coeffs,
}

impl InplaceOp1 for InPlace<'_> {
    fn name(&self) -> &'static str {
        "textclf-adamw"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(data), Some((a, b))) = (storage, layout.contiguous_offsets()) else {
            candle_core::bail!("AdamW: parameters must be contiguous f32 on the CPU");
        };
        let w = &mut data[a..b];
        let lock_err = |_| candle_core::Error::Msg("AdamW: poisoned lock".into());
        let mut m = self.m.lock().map_err(lock_err)?;
        let mut v = self.v.lock().map_err(lock_err)?;
        if m.len() != w.len() || v.len() != w.len() {
            candle_core::bail!("AdamW: state of {} values for {} weights", m.len(), w.len());
        }
        let k = self.k;
        match &self.grad {
            GradView::Dense(g) => {
                if g.len() != w.len() {
                    candle_core::bail!(
                        "AdamW: gradient of {} values for {} weights",
                        g.len(),
                        w.len()
                    );
                }
                const CHUNK: usize = 1 << 14;
                w.par_chunks_mut(CHUNK)
                    .zip(m.par_chunks_mut(CHUNK))
                    .zip(v.par_chunks_mut(CHUNK))
                    .zip(g.par_chunks(CHUNK))
                    .for_each(|(((w, m), v), g)| k.apply(w, m, v, Some(g)));
            }
            GradView::Rows(r) => {
                let width = r.width.max(1);
                if r.height * width != w.len() || r.values.len() != r.rows.len() * width {
                    candle_core::bail!("AdamW: sparse gradient does not fit the table");
                }
                let per = ((1 << 14) / width).max(1);
                w.par_chunks_mut(per * width)
                    .zip(m.par_chunks_mut(per * width))
                    .zip(v.par_chunks_mut(per * width))
                    .enumerate()
                    .for_each(|(c, ((w, m), v))| {
                        let first = c * per;
                        let mut next = r.rows.partition_point(|&x| (x as usize) < first);
                        for (i, ((w, m), v)) in w
                            .chunks_mut(width)
                            .zip(m.chunks_mut(width))
                            .zip(v.chunks_mut(width))
                            .enumerate()
                        {
                            let g = match r.rows.get(next) {
                                Some(&x) if x as usize == first + i => {
                                    next += 1;
                                    Some(&r.values[(next - 1) * width..][..width])
                                }
                                _ => None,
                            };
                            k.apply(w, m, v, g);
                        }
                    });
            }
        }
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
