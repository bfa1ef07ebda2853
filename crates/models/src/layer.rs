//! A whole post-LN encoder layer as one autograd node, for training (and inference) in f32
//! on the CPU. Unpadded ([`EncoderLayer::unpadded`]), the projections, norms and
//! feed-forward run on the batch's real tokens only, and attention on the padded layout.
//!
//! candle's autograd gives every graph edge a zero-filled gradient tensor and adds each
//! incoming gradient into it. Built from separate nodes (QKV projection, attention, output
//! projection, residual add + LayerNorm, linear + GELU, output projection, residual add +
//! LayerNorm), one MiniLM layer at 32×64 tokens has about eleven million activation floats
//! on such edges and every weight and bias one more: zero-fills and adds that cost about
//! 50 ms of a 0.85 s step. As one node, the layer's only edge is its input `x`; inside it
//! the backward hands each buffer to the next step directly, adds the residual gradients
//! by starting the input-gradient GEMMs from them, and writes the parameters' gradients
//! into a [`GradSink`] (added to candle's gradient store after the backward pass).
//!
//! The arithmetic is that of the separate nodes, kernel for kernel (see [`crate::fused`]):
//!
//! ```text
//! qkv = x·Wqkvᵀ + bqkv                       (the three projections stacked)
//! ctx = attention(qkv)                       (first `queries` rows of each sequence)
//! s1  = drop₁(ctx·Woᵀ + bo) + x              x1 = LN₁(s1)
//! h   = gelu(x1·W1ᵀ + b1)                    (the slope gelu' kept for the backward)
//! s2  = drop₂(h·W2ᵀ + b2) + x1               y  = LN₂(s2)
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use crate::fused::{
    add_into, column_sums, gather_rows, gelu_in_place, gelu_with_slopes, layer_norm_backward,
    layer_norm_rows, linear_forward, mul_into, scatter_rows, sgemm, sgemm_new, slice, take_saved,
    with_slices, AttnKernel, QkvView,
};
use crate::layers::{first_rows, real_rows};
use crate::profile::{span, Phase};
use crate::relative::RelativeTerms;

fn poisoned(what: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("{what}: poisoned lock"))
}

/// Parameter gradients computed inside fused nodes, by parameter name; several
/// contributions to one parameter are added.
#[derive(Clone, Default)]
pub(crate) struct GradSink(Arc<Mutex<HashMap<String, Vec<f32>>>>);

impl GradSink {
    pub(crate) fn add(&self, name: String, g: Vec<f32>) -> candle_core::Result<()> {
        let mut m = self.0.lock().map_err(|_| poisoned("gradient sink"))?;
        match m.get_mut(&name) {
            Some(acc) => acc.iter_mut().zip(&g).for_each(|(a, b)| *a += b),
            None => {
                m.insert(name, g);
            }
        }
        Ok(())
    }

    /// Everything gathered so far, leaving the sink empty.
    pub(crate) fn take(&self) -> crate::Result<HashMap<String, Vec<f32>>> {
        let mut m = self
            .0
            .lock()
            .map_err(|_| crate::ModelError::Weights("gradient sink: poisoned lock".into()))?;
        Ok(std::mem::take(&mut *m))
    }
}

/// One layer's parameters (detached: their gradients go to the sink) and the names the
/// gradients are filed under. `qkv` is the query, key and value weights (and biases)
/// stacked in that order, so its gradient is split back into the three names.
pub(crate) struct LayerWeights {
    pub qkv: (Tensor, Tensor),
    pub attn_out: (Tensor, Tensor),
    pub ln1: (Tensor, Tensor),
    pub ffn_in: (Tensor, Tensor),
    pub ffn_out: (Tensor, Tensor),
    pub ln2: (Tensor, Tensor),
    /// Parameter name prefixes (`….weight` / `….bias` appended): q, k, v, attention
    /// output, LayerNorm 1, feed-forward in, feed-forward out, LayerNorm 2.
    pub names: [String; 8],
    pub eps: f32,
}

/// Dropout multipliers of the layer (inverted dropout, drawn by the caller in the order
/// of the separate nodes): the attention probabilities' live in the attention kernel.
pub(crate) struct LayerMasks {
    /// After the attention output projection, `[B·queries, H]`.
    pub attn_out: Option<Vec<f32>>,
    /// After the feed-forward output projection, `[B·queries, H]`.
    pub ffn_out: Option<Vec<f32>>,
}

/// What the forward keeps for the backward.
struct Saved {
    /// The real tokens' rows of the input, when packed.
    xin: Option<Vec<f32>>,
    /// On the padded layout (what the attention kernel reads).
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    s1: Vec<f32>,
    x1: Vec<f32>,
    h: Vec<f32>,
    slope: Vec<f32>,
    s2: Vec<f32>,
}

/// The layer node: its weights, the attention kernel (heads, key bias, query rows and the
/// attention dropout), the hidden dropouts, and where parameter gradients go.
pub(crate) struct EncoderLayer {
    w: LayerWeights,
    attn: AttnKernel,
    masks: LayerMasks,
    sink: GradSink,
    saved: Mutex<Option<Saved>>,
    /// DeBERTa's relative terms, also inside `attn` (see [`Self::with_relative`]).
    rel: Option<(Arc<RelativeTerms>, RelativeNames)>,
    /// The real tokens, when the token-wise parts run on them alone (see
    /// [`Self::unpadded`]).
    pack: Option<Pack>,
}

/// The real tokens of a padded batch `[B, L]` whose first `nq` rows per sequence are
/// queries.
struct Pack {
    /// The rows `bi·L + p` of the real tokens (`T` of them).
    all: Vec<usize>,
    /// The real query rows: their row `bi·nq + p` in the output, and their index in `all`.
    out: Vec<usize>,
    at: Vec<usize>,
}

impl Pack {
    /// The packing for the key bias `bias` (`[B·L]`: 0 real, the lowest f32 padding), or
    /// `None` when nothing is padded.
    fn of(bias: &[f32], len: usize, nq: usize) -> Option<Pack> {
        let all = real_rows(bias);
        if all.len() == bias.len() || len == 0 {
            return None;
        }
        let (mut out, mut at) = (vec![], vec![]);
        for (k, &i) in all.iter().enumerate() {
            let (bi, p) = (i / len, i % len);
            if p < nq {
                out.push(bi * nq + p);
                at.push(k);
            }
        }
        Some(Pack { all, out, at })
    }
}

/// The parameter names of the relative terms' own inputs: the table and its norm.
pub(crate) struct RelativeNames {
    pub table: String,
    pub norm: Option<String>,
}

impl EncoderLayer {
    pub(crate) fn new(
        w: LayerWeights,
        attn: AttnKernel,
        masks: LayerMasks,
        sink: GradSink,
    ) -> Self {
        EncoderLayer {
            w,
            attn,
            masks,
            sink,
            saved: Mutex::new(None),
            rel: None,
            pack: None,
        }
    }

    /// The layer that runs its projections, norms and feed-forward on the batch's real
    /// tokens only when `on` and the batch has padding (attention stays on the padded
    /// layout, where the key bias masks the padding). Padded rows of the output and of the
    /// input's gradient are then zeros; real rows are as computed padded.
    /// `len` is the padded length.
    pub(crate) fn unpadded(mut self, on: bool, len: usize) -> Self {
        self.pack = if on {
            Pack::of(self.attn.key_bias(), len, self.attn.queries())
        } else {
            None
        };
        // The layer keeps the real query rows of the context only.
        self.attn.set_padding_rows_unread(self.pack.is_some());
        self
    }

    /// The layer whose attention kernel adds DeBERTa's relative terms `rel` (the same
    /// value the kernel holds): their gradients reach the query and key projections and,
    /// under `names`, the table and its norm.
    pub(crate) fn with_relative(mut self, rel: Arc<RelativeTerms>, names: RelativeNames) -> Self {
        self.rel = Some((rel, names));
        self
    }

    /// The rows of a `[B·queries, h]` dropout mask that the layer computes: all of them,
    /// or the real query rows when packed.
    fn computed_rows<'a>(&self, m: &'a [f32], h: usize) -> Cow<'a, [f32]> {
        match &self.pack {
            Some(p) => Cow::Owned(gather_rows(m, &p.out, h)),
            None => Cow::Borrowed(m),
        }
    }

    /// `x` as `(B, L, H)`, and the query rows per sequence.
    fn dims(&self, dims: &[usize]) -> candle_core::Result<(usize, usize, usize, usize)> {
        let &[b, len, h] = dims else {
            candle_core::bail!("encoder layer: input {dims:?} is not [B, L, H]");
        };
        Ok((b, len, h, self.attn.queries()))
    }
}

impl CustomOp1 for EncoderLayer {
    fn name(&self) -> &'static str {
        "textclf-encoder-layer"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l)?;
        let (b, len, h, nq) = self.dims(l.dims())?;
        let w = &self.w;
        let t = [
            &w.qkv.0,
            &w.qkv.1,
            &w.attn_out.0,
            &w.attn_out.1,
            &w.ln1.0,
            &w.ln1.1,
            &w.ffn_in.0,
            &w.ffn_in.1,
            &w.ffn_out.0,
            &w.ffn_out.1,
            &w.ln2.0,
            &w.ln2.1,
        ];
        let (saved, y) = with_slices(
            t,
            |[wqkv, bqkv, wo, bo, g1, b1n, w1, b1, w2, b2, g2, b2n]| {
                let (hd, f) = (bqkv.len() / 3, b1.len());
                let fits = bqkv.len() == 3 * hd
                    && wqkv.len() == 3 * hd * h
                    && wo.len() == h * hd
                    && w1.len() == f * h
                    && w2.len() == h * f
                    && [bo, g1, b1n, b2, g2, b2n].iter().all(|v| v.len() == h);
                if !fits {
                    candle_core::bail!("encoder layer: weights do not fit a hidden size of {h}");
                }
                let pack = self.pack.as_ref();
                // The real tokens' rows (the whole batch when nothing is packed).
                let xin_own = pack.map(|p| gather_rows(x, &p.all, h));
                let xin = xin_own.as_deref().unwrap_or(x);
                let qkv = {
                    let _p = span("linear", Phase::Forward);
                    let q = linear_forward(xin, wqkv, bqkv);
                    match pack {
                        Some(p) => scatter_rows(&q, &p.all, 3 * hd, b * len),
                        None => q,
                    }
                };
                let ctx = self.attn.forward(QkvView::packed(&qkv, hd), (b, len, hd))?;
                let ctx = match pack {
                    Some(p) => gather_rows(&ctx, &p.out, hd),
                    None => ctx,
                };
                let mut s1 = {
                    let _p = span("linear", Phase::Forward);
                    linear_forward(&ctx, wo, bo)
                };
                let x1 = {
                    let _p = span("layer-norm", Phase::Forward);
                    if let Some(m) = &self.masks.attn_out {
                        mul_into(&mut s1, &self.computed_rows(m, h));
                    }
                    match pack {
                        Some(p) => add_into(&mut s1, &gather_rows(xin, &p.at, h)),
                        None if nq == len => add_into(&mut s1, x),
                        None => add_into(&mut s1, &first_rows(x, len * h, nq * h)),
                    }
                    layer_norm_rows(&s1, g1, b1n, w.eps)
                };
                // `slope` holds the pre-activation until the GELU turns it into the slope
                // (training) or into the GELU's values in place (inference: no slope).
                let mut slope = {
                    let _p = span("linear", Phase::Forward);
                    linear_forward(&x1, w1, b1)
                };
                let hv = {
                    let _p = span("gelu", Phase::Forward);
                    if self.attn.stores() {
                        gelu_with_slopes(&mut slope)
                    } else {
                        gelu_in_place(&mut slope);
                        std::mem::take(&mut slope)
                    }
                };
                let mut s2 = {
                    let _p = span("linear", Phase::Forward);
                    linear_forward(&hv, w2, b2)
                };
                let y = {
                    let _p = span("layer-norm", Phase::Forward);
                    if let Some(m) = &self.masks.ffn_out {
                        mul_into(&mut s2, &self.computed_rows(m, h));
                    }
                    add_into(&mut s2, &x1);
                    layer_norm_rows(&s2, g2, b2n, w.eps)
                };
                let y = match pack {
                    Some(p) => scatter_rows(&y, &p.out, h, b * nq),
                    None => y,
                };
                let saved = Saved {
                    xin: xin_own,
                    qkv,
                    ctx,
                    s1,
                    x1,
                    h: hv,
                    slope,
                    s2,
                };
                Ok((saved, y))
            },
        )?;
        if self.attn.stores() {
            *self.saved.lock().map_err(|_| poisoned("encoder layer"))? = Some(saved);
        }
        Ok((CpuStorage::F32(y), Shape::from((b, nq, h))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let sv = take_saved(&self.saved, "encoder layer")?;
        let (b, len, h, nq) = self.dims(arg.dims())?;
        let w = &self.w;
        let t = [
            arg,
            grad,
            &w.qkv.0,
            &w.attn_out.0,
            &w.ln1.0,
            &w.ffn_in.0,
            &w.ffn_out.0,
            &w.ln2.0,
        ];
        let mut grads: Vec<(usize, &str, Vec<f32>)> = Vec::with_capacity(16);
        let dx = with_slices(t, |[x, dy, wqkv, wo, g1, w1, w2, g2]| {
            let pack = self.pack.as_ref();
            // Rows of the token-wise parts: the real ones when packed.
            let (rows, rq) = match pack {
                Some(p) => (p.all.len(), p.out.len()),
                None => (b * len, b * nq),
            };
            let x = sv.xin.as_deref().unwrap_or(x);
            let hd = wqkv.len() / (3 * h);
            let f = w1.len() / h;
            // LayerNorm 2; its input gradient reaches the feed-forward output (through the
            // dropout) and, as the residual, x1.
            let (ds2, dg2, db2n) = {
                let _p = span("layer-norm", Phase::Backward);
                match pack {
                    Some(p) => layer_norm_backward(&sv.s2, g2, &gather_rows(dy, &p.out, h), w.eps),
                    None => layer_norm_backward(&sv.s2, g2, dy, w.eps),
                }
            };
            grads.push((7, "weight", dg2));
            grads.push((7, "bias", db2n));
            let df_own = self.masks.ffn_out.as_ref().map(|m| {
                let mut d = ds2.clone();
                mul_into(&mut d, &self.computed_rows(m, h));
                d
            });
            let (dpre, dx1) = {
                let _p = span("linear", Phase::Backward);
                let df = df_own.as_deref().unwrap_or(&ds2);
                let mut dh = sgemm_new(rq, f, h, (df, h, 1), (w2, f, 1));
                grads.push((6, "weight", sgemm_new(h, f, rq, (df, 1, h), (&sv.h, f, 1))));
                grads.push((6, "bias", column_sums(df, h)));
                {
                    let _p = span("gelu", Phase::Backward);
                    mul_into(&mut dh, &sv.slope);
                }
                // x1's gradient: the residual's, plus the feed-forward input's.
                let mut dx1 = ds2;
                sgemm(rq, h, f, &mut dx1, true, (&dh, f, 1), (w1, h, 1));
                (dh, dx1)
            };
            drop(df_own);
            {
                let _p = span("linear", Phase::Backward);
                grads.push((
                    5,
                    "weight",
                    sgemm_new(f, h, rq, (&dpre, 1, f), (&sv.x1, h, 1)),
                ));
                grads.push((5, "bias", column_sums(&dpre, f)));
            }
            drop(dpre);
            let (ds1, dg1, db1n) = {
                let _p = span("layer-norm", Phase::Backward);
                layer_norm_backward(&sv.s1, g1, &dx1, w.eps)
            };
            drop(dx1);
            grads.push((4, "weight", dg1));
            grads.push((4, "bias", db1n));
            let da_own = self.masks.attn_out.as_ref().map(|m| {
                let mut d = ds1.clone();
                mul_into(&mut d, &self.computed_rows(m, h));
                d
            });
            let dctx = {
                let _p = span("linear", Phase::Backward);
                let da = da_own.as_deref().unwrap_or(&ds1);
                let dctx = sgemm_new(rq, hd, h, (da, h, 1), (wo, hd, 1));
                grads.push((
                    3,
                    "weight",
                    sgemm_new(h, hd, rq, (da, 1, h), (&sv.ctx, hd, 1)),
                ));
                grads.push((3, "bias", column_sums(da, h)));
                dctx
            };
            drop(da_own);
            let dctx = match pack {
                Some(p) => scatter_rows(&dctx, &p.out, hd, b * nq),
                None => dctx,
            };
            let (dqkv, acc) =
                self.attn
                    .backward_with_terms(QkvView::packed(&sv.qkv, hd), &dctx, (b, len, hd))?;
            // The padded rows' ∂q, ∂k, ∂v are zeros (no query reads a padded key).
            let dqkv = match pack {
                Some(p) => gather_rows(&dqkv, &p.all, 3 * hd),
                None => dqkv,
            };
            let rel = self.rel.as_ref().map(|(r, _)| r.grads(&acc, wqkv));
            drop(acc);
            drop(dctx);
            let _p = span("linear", Phase::Backward);
            // x's gradient: the residual's (its first `nq` rows per sequence), plus the
            // QKV projection's input gradient.
            let mut dx = if let Some(p) = pack {
                scatter_rows(&ds1, &p.at, h, rows)
            } else if nq == len {
                ds1
            } else {
                let mut d = vec![0f32; rows * h];
                for (dseq, sseq) in d.chunks_mut(len * h).zip(ds1.chunks(nq * h)) {
                    dseq[..nq * h].copy_from_slice(sseq);
                }
                d
            };
            let three = 3 * hd;
            sgemm(
                rows,
                h,
                three,
                &mut dx,
                true,
                (&dqkv, three, 1),
                (wqkv, h, 1),
            );
            let mut dw = sgemm_new(three, h, rows, (&dqkv, 1, three), (x, h, 1));
            let mut db = column_sums(&dqkv, three);
            if let Some(r) = &rel {
                let add = |a: &mut [f32], b: &[f32]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                add(&mut dw[..hd * h], &r.wq);
                add(&mut dw[hd * h..2 * hd * h], &r.wk);
                add(&mut db[..hd], &r.bq);
                add(&mut db[hd..2 * hd], &r.bk);
            }
            for (i, (wc, bc)) in dw.chunks(hd * h).zip(db.chunks(hd)).enumerate() {
                grads.push((i, "weight", wc.to_vec()));
                grads.push((i, "bias", bc.to_vec()));
            }
            let dx = match pack {
                Some(p) => scatter_rows(&dx, &p.all, h, b * len),
                None => dx,
            };
            Ok((dx, rel))
        })?;
        let (dx, rel) = dx;
        if let (Some(g), Some((_, names))) = (rel, &self.rel) {
            self.sink.add(format!("{}.weight", names.table), g.table)?;
            if let (Some((dg, db)), Some(n)) = (g.norm, &names.norm) {
                self.sink.add(format!("{n}.weight"), dg)?;
                self.sink.add(format!("{n}.bias"), db)?;
            }
        }
        for (i, kind, g) in grads {
            self.sink.add(format!("{}.{kind}", self.w.names[i]), g)?;
        }
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
