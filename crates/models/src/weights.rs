//! The parameters one pass reads, by name: attached to the autograd graph when training,
//! detached otherwise, int8 where `SequenceClassifier::quantize_int8` quantized
//! them. The shared blocks and the families reach every weight through a [`Weights`].

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::config::{Activation, ModelConfig};
use crate::fused::{add_layer_norm, fusable, layer_norm, linear};
use crate::params::ParamStore;
use crate::profile::{span, Phase};
use crate::quant::QuantLinear;
use crate::Result;

/// A view of a model's parameters and settings for one pass.
#[derive(Clone, Copy)]
pub(crate) struct Weights<'a> {
    pub cfg: &'a ModelConfig,
    pub params: &'a ParamStore,
    pub device: &'a Device,
    /// int8 copies of linear layers, by name (inference only).
    pub quant: Option<&'a HashMap<String, QuantLinear>>,
    /// Training: parameters tracked by autograd, int8 layers not used.
    pub track: bool,
    /// Training on the CPU runs each encoder layer as one node (see `layer.rs`).
    pub fused_layers: bool,
    /// Families that support it run the token-wise layers on the packed real tokens.
    pub unpadded: bool,
}

impl Weights<'_> {
    /// The same view with tracking `on` or off.
    pub fn tracking(&self, on: bool) -> Self {
        Self { track: on, ..*self }
    }

    /// A parameter as a tensor; detached (no autograd bookkeeping) when not training.
    pub fn w(&self, name: &str) -> Result<Tensor> {
        self.w_as(name, self.track)
    }

    /// [`Self::w`] with tracking `track`.
    pub fn w_as(&self, name: &str, track: bool) -> Result<Tensor> {
        let t = self.params.t(name)?;
        Ok(if track { t.clone() } else { t.detach() })
    }

    /// The int8 layer `name` runs as: quantized layers serve inference only.
    pub fn quantized(&self, name: &str) -> Option<&QuantLinear> {
        self.quant.filter(|_| !self.track)?.get(name)
    }

    /// The int8 layer `q` on `x` (any leading dimensions, features last).
    pub fn lin_int8(&self, x: &Tensor, q: &QuantLinear) -> Result<Tensor> {
        let _p = span("linear-int8", Phase::Forward);
        let dims = x.dims().to_vec();
        let rows = x.elem_count() / q.in_features().max(1);
        let y = crate::fused::with_slice(&x.to_dtype(candle_core::DType::F32)?, |xv| {
            Ok(q.forward(xv, rows))
        })?;
        let mut od = dims;
        if let Some(last) = od.last_mut() {
            *last = q.out_features();
        }
        Ok(Tensor::from_vec(y, od, x.device())?)
    }

    /// Linear layer `name` on `x`.
    pub fn lin(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        if let Some(q) = self.quantized(name) {
            return self.lin_int8(x, q);
        }
        linear(
            x,
            &self.w(&format!("{name}.weight"))?,
            &self.w(&format!("{name}.bias"))?,
        )
    }

    /// `LayerNorm(a + b)`: a residual connection and the LayerNorm `name` after it, one
    /// node on the CPU (see `fused::add_layer_norm`).
    pub fn add_ln(&self, a: &Tensor, b: &Tensor, name: &str) -> Result<Tensor> {
        add_layer_norm(
            a,
            b,
            &self.w(&format!("{name}.weight"))?,
            &self.w(&format!("{name}.bias"))?,
            self.cfg.layer_norm_eps,
        )
    }

    /// Whether layer `l` (its name prefix) can run as one node on `x`: the one-node
    /// layers on, `x` f32 on the CPU, the exact GELU, and none of its projections `parts`
    /// (after `l.`) quantized.
    pub fn one_node(&self, x: &Tensor, l: &str, parts: &[&str]) -> bool {
        self.fused_layers
            && fusable(&[x])
            && self.cfg.activation == Activation::GeluErf
            && parts
                .iter()
                .all(|p| self.quantized(&format!("{l}.{p}")).is_none())
    }

    /// LayerNorm `name` on `x`.
    pub fn ln(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        layer_norm(
            x,
            &self.w(&format!("{name}.weight"))?,
            &self.w(&format!("{name}.bias"))?,
            self.cfg.layer_norm_eps,
        )
    }
}
