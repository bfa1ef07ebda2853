//! Fused CPU kernels with hand-written backward passes, used for f32 tensors on the CPU
//! (other devices and dtypes use the primitive-op versions in [`crate::layers`], which
//! compute the same functions).
//!
//! * LayerNorm over the last dimension, `y = (x − μ)·σ⁻¹·w + b` with the biased variance.
//!   Backward, with `x̂ = (x − μ)σ⁻¹` and `g = ∂L/∂y · w`:
//!   `∂L/∂x = σ⁻¹ (g − mean(g) − x̂·mean(g·x̂))`, `∂L/∂w = Σ ∂L/∂y·x̂`, `∂L/∂b = Σ ∂L/∂y`.
//! * Attention softmax `softmax(scale·s + mask)`. Backward: `∂L/∂s = scale · y ⊙ (∂L/∂y − Σ ∂L/∂y ⊙ y)`.
//! * Exact GELU `x·Φ(x)`. Backward: `∂L/∂x = ∂L/∂y · (Φ(x) + x·φ(x))`.
//! * Multi-head attention as one graph node over the projections' `[B, L, H·dh]` outputs:
//!   per-head GEMMs with strides instead of head transposes, the masked softmax and the
//!   attention dropout inside, and only the probabilities kept for the backward (the scores
//!   never become a tensor), which is what brings activation memory under PyTorch's.
//! * Linear layer `y = x·Wᵀ + b` as one graph node: the bias is the GEMM's starting value,
//!   and the backward runs the two GEMMs `∂L/∂x = ∂L/∂y·W`, `∂L/∂W = (∂L/∂y)ᵀ·x` straight
//!   from the row-major buffers (no transposed views to copy) plus the column sums for
//!   `∂L/∂b`. candle's autograd adds every incoming gradient into a fresh zero tensor per
//!   graph edge, so the reshape/transpose/matmul/bias nodes of the unfused layer cost a
//!   zero-fill and an add each; one node keeps three.
//!
//! One pass over each row replaces the ten-odd primitive ops (and their backward ops and
//! temporaries) of the unfused versions.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Shape, Storage, Tensor,
};
use rayon::prelude::*;

use crate::profile::{span, Phase};
use crate::simd;

pub(crate) fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("fused op needs a contiguous input"),
    }
}

/// Runs `f` on the contiguous f32 data of several CPU tensors at once without copying
/// them (a strided tensor is made contiguous first). The backward passes read their
/// inputs this way instead of nesting one borrow per tensor or copying them out.
pub fn with_slices<const N: usize, R>(
    ts: [&Tensor; N],
    f: impl FnOnce([&[f32]; N]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let owned = ts
        .iter()
        .map(|t| t.contiguous())
        .collect::<candle_core::Result<Vec<_>>>()?;
    let guards: Vec<_> = owned.iter().map(|t| t.storage_and_layout()).collect();
    let mut slices: [&[f32]; N] = [&[]; N];
    for (out, (s, l)) in slices.iter_mut().zip(&guards) {
        *out = match &**s {
            Storage::Cpu(c) => slice(c, l)?,
            _ => candle_core::bail!("fused op: CPU tensors only"),
        };
    }
    f(slices)
}

/// [`with_slices`] for one tensor.
pub fn with_slice<R>(
    t: &Tensor,
    f: impl FnOnce(&[f32]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    with_slices([t], |[s]| f(s))
}

/// Rows of at least this many elements in total run in parallel.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// `dst[m×n] = lhs·rhs (+ dst when accumulate)` for f32 row-major `dst`, with the operands
/// given by their row and column strides (so a transposed operand is a stride swap); the
/// GEMM itself runs on all rayon threads.
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
) {
    gemm_into((m, n, k), (dst, n), accumulate, lhs, rhs, all_threads());
}

/// The `gemm` crate's parallelism over all rayon threads.
fn all_threads() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        t if t > 1 => gemm::Parallelism::Rayon(t),
        _ => gemm::Parallelism::None,
    }
}

/// `lhs·rhs` (operands as in [`sgemm`]) as a new row-major `m×n` vector, on all rayon
/// threads. The vector is not zero-filled first: the GEMM writes every element (backward
/// passes allocate several megabytes this way per layer).
pub fn sgemm_new(
    m: usize,
    n: usize,
    k: usize,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
) -> Vec<f32> {
    if m == 0 || n == 0 || k == 0 {
        return vec![0f32; m * n];
    }
    let mut dst: Vec<f32> = Vec::with_capacity(m * n);
    // SAFETY: the destination spans the vector's capacity (m·n elements, rows n apart);
    // with `accumulate` off the GEMM writes every element before reading any, so the
    // length can then cover them all.
    unsafe {
        gemm_raw(
            (m, n, k),
            (dst.as_mut_ptr(), n),
            false,
            lhs,
            rhs,
            all_threads(),
        );
        dst.set_len(m * n);
    }
    dst
}

fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * rs + (cols - 1) * cs < len
}

/// `dst = lhs·rhs (+ dst)` for an `m×n` block of `dst` whose rows are `dst_rs` apart
/// (e.g. one head's columns inside a `[L, H·dh]` matrix), operands as in [`sgemm`].
pub(crate) fn gemm_into(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (&mut [f32], usize),
    accumulate: bool,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
    par: gemm::Parallelism,
) {
    assert!(
        fits(dst.len(), m, n, dst_rs, 1),
        "gemm: destination out of bounds"
    );
    // SAFETY: the assert above keeps the destination inside the exclusively borrowed slice.
    unsafe {
        gemm_raw(
            (m, n, k),
            (dst.as_mut_ptr(), dst_rs),
            accumulate,
            lhs,
            rhs,
            par,
        )
    }
}

/// [`gemm_into`] on a raw destination; checks the operands' bounds.
///
/// # Safety
/// `dst` must be valid for writes (and for reads when `accumulate`) at every
/// `i·dst_rs + j` with `i < m`, `j < n`, and not alias the operands.
unsafe fn gemm_raw(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (*mut f32, usize),
    accumulate: bool,
    (a, a_rs, a_cs): (&[f32], usize, usize),
    (b, b_rs, b_cs): (&[f32], usize, usize),
    par: gemm::Parallelism,
) {
    assert!(fits(a.len(), m, k, a_rs, a_cs), "gemm: lhs out of bounds");
    assert!(fits(b.len(), k, n, b_rs, b_cs), "gemm: rhs out of bounds");
    // SAFETY: the asserts above keep every index the strides reach inside the operand
    // slices; the caller vouches for the destination.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// Multi-head attention `ctx = (keep ⊙ softmax(scale·QKᵀ + bias))·V` for `q, k, v` of shape
/// `[B, L, H·dh]` (the projections' outputs, heads side by side) and an additive key bias
/// `[B, L]`; `keep` holds inverted-dropout multipliers `[B, H, L, L]` (training only).
/// The output is `[B, L, H·dh]`, the layout the output projection reads, so no head
/// transposes are materialised. Only the probabilities are kept for the backward (the
/// scores are never a tensor):
/// `∂V = P̃ᵀ·G`, `∂P̃ = G·Vᵀ`, `∂S = scale · P ⊙ (∂P − Σⱼ ∂P ⊙ P)` with `∂P = keep ⊙ ∂P̃`,
/// `∂Q = ∂S·K`, `∂K = ∂Sᵀ·Q`, where `P̃ = keep ⊙ P` and `G = ∂L/∂ctx`.
///
/// Only the first `queries` rows of each sequence need be queries (`queries == L` normally):
/// a classifier reads the first token of the last layer only, so that layer asks for one
/// query row, its output is `[B, queries, H·dh]`, and the keys and values still span all `L`
/// rows. The gradient's q part is zero past those rows.
///
/// Two node shapes share the kernels: three tensors `q, k, v` ([`Attention`]), or one
/// packed `[B, L, 3·H·dh]` tensor holding each row's `q | k | v` ([`AttentionPacked`]), the
/// output of one fused QKV projection. The packed node's gradient is one packed tensor too,
/// so the projection's backward is one GEMM and the layer input receives one gradient
/// instead of three.
pub(crate) struct AttnKernel {
    heads: usize,
    queries: usize,
    scale: f32,
    bias: Vec<f32>,
    keep: Option<Vec<f32>>,
    /// Whether the forward keeps the probabilities: only for a node in an autograd graph
    /// (inference keeps a `[B, H, L, L]` block less per layer, and reuses one head's).
    store: bool,
    probs: std::sync::Mutex<Vec<f32>>,
    /// Terms added to every head's scores before the softmax (DeBERTa's relative
    /// positions), with their own backward.
    terms: Option<std::sync::Arc<dyn ScoreTerms>>,
    /// Whether the caller discards the context rows of padding queries (an unpadded
    /// layer keeps the real rows only): inference then leaves those rows at zero.
    padding_rows_unread: bool,
}

/// Terms added to one head's raw attention scores `S = Q·Kᵀ` (before the scale, the key
/// bias and the softmax) that depend on the head's queries and keys, and their backward.
/// Implemented by DeBERTa's disentangled attention (`crate::relative`).
pub(crate) trait ScoreTerms: Send + Sync {
    /// Adds head `hi`'s terms to its scores `s: [nq, len]`.
    fn add(&self, hi: usize, s: &mut [f32], x: HeadRows);
    /// The length of the gradient accumulator of one batch element (the accumulators of
    /// all batch elements are summed).
    fn acc_len(&self) -> usize;
    /// For `head = (hi, ds)`, the gradient `ds: [nq, len]` of head `hi`'s raw scores: adds the terms'
    /// gradients with respect to q and k to `db` at `offsets = (dq, dk, drs)` (the head's
    /// ∂q and ∂k columns start at `dq` and `dk`, rows `drs` apart), and those of the terms'
    /// own inputs to `acc`.
    fn backward(
        &self,
        head: (usize, &[f32]),
        x: HeadRows,
        db: &mut [f32],
        offsets: (usize, usize, usize),
        acc: &mut [f32],
    );
}

/// One head's query and key rows: row `i` of q is `q[i·rs..][..d]`, of k `k[i·rs..][..d]`.
#[derive(Clone, Copy)]
pub(crate) struct HeadRows<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub rs: usize,
    pub d: usize,
}

/// Where q, k and v lie in the kernel's input: row `r` of head column `c` of q is
/// `q[r·rs + c]` (k and v likewise), `rs` being `H·dh` for separate tensors and `3·H·dh`
/// when packed.
#[derive(Clone, Copy)]
pub(crate) struct QkvView<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    rs: usize,
}

impl<'a> QkvView<'a> {
    /// The view of a packed `[B, L, 3·hd]` buffer (each row `q | k | v`).
    pub(crate) fn packed(x: &'a [f32], hd: usize) -> Self {
        QkvView {
            q: x,
            k: &x[hd..],
            v: &x[2 * hd..],
            rs: 3 * hd,
        }
    }
}

impl AttnKernel {
    /// The query rows per sequence.
    pub(crate) fn queries(&self) -> usize {
        self.queries
    }

    /// The additive key bias, `[B·L]`.
    pub(crate) fn key_bias(&self) -> &[f32] {
        &self.bias
    }

    /// The kernel whose caller reads the context rows of real queries only (`unread`), so
    /// that inference need not compute those of trailing padding.
    pub(crate) fn set_padding_rows_unread(&mut self, unread: bool) {
        self.padding_rows_unread = unread;
    }

    /// Whether the forward keeps what the backward needs (a node in an autograd graph).
    pub(crate) fn stores(&self) -> bool {
        self.store
    }

    /// How many leading keys of a sequence with key bias `bias` the forward computes. In
    /// inference (nothing stored, no dropout, no score terms) the keys after the last real
    /// one are left out: their bias is the lowest f32, so their softmax weights are exactly
    /// zero and they add nothing to the context. Training keeps every key, so that the
    /// stored probabilities have the shape the backward reads. A sequence with no real key
    /// keeps every key (its softmax is then uniform, as with the primitive ops).
    fn live_keys(&self, bias: &[f32]) -> usize {
        if self.store || self.keep.is_some() || self.terms.is_some() {
            return bias.len();
        }
        match bias.iter().rposition(|&v| crate::layers::is_real(v)) {
            Some(last) => last + 1,
            None => bias.len(),
        }
    }

    /// `(H, dh, queries)` for an input of `len` rows per batch element and `hd = H·dh`.
    fn check(&self, b: usize, len: usize, hd: usize) -> candle_core::Result<(usize, usize, usize)> {
        let (h, nq) = (self.heads, self.queries);
        if h == 0 || !hd.is_multiple_of(h) || self.bias.len() != b * len || nq > len {
            candle_core::bail!(
                "attention: [{b}, {len}, {hd}] with {h} heads, {nq} query rows and {} bias values",
                self.bias.len()
            );
        }
        if let Some(k) = &self.keep {
            if k.len() != b * h * nq * len {
                candle_core::bail!(
                    "attention: dropout mask of {} values for {b}×{h}×{nq}×{len}",
                    k.len()
                );
            }
        }
        Ok((h, hd / h, nq))
    }

    /// The context `[B, queries, H·dh]`; keeps the probabilities for the backward when the
    /// node is part of a graph (see [`AttnKernel::store`]).
    pub(crate) fn forward(
        &self,
        x: QkvView,
        (b, len, hd): (usize, usize, usize),
    ) -> candle_core::Result<Vec<f32>> {
        let _p = span("attention", Phase::Forward);
        let (h, dh, nq) = self.check(b, len, hd)?;
        let (seq, ll, bs) = (nq * hd, nq * len, len * x.rs);
        let mut out = vec![0f32; b * seq];
        let none = gemm::Parallelism::None;
        // One batch element: its heads' probabilities go to `pb`, `stride` apart (0: one
        // scratch block reused by every head).
        let run = |bi: usize, ob: &mut [f32], pb: &mut [f32], stride: usize| {
            let (qb, kb, vb) = (&x.q[bi * bs..], &x.k[bi * bs..], &x.v[bi * bs..]);
            let bias = &self.bias[bi * len..][..len];
            // The keys this sequence attends to: in inference all but its trailing padding,
            // whose softmax weights are exactly zero (see `live_keys`).
            let n = self.live_keys(bias);
            let bias = &bias[..n];
            // The query rows computed: past `n` they are trailing padding, whose context
            // rows the caller may not read (then they stay zero).
            let nq = if self.padding_rows_unread && n < len {
                nq.min(n)
            } else {
                nq
            };
            let mut tmp = vec![0f32; if self.keep.is_some() { ll } else { 0 }];
            for hi in 0..h {
                let p = &mut pb[hi * stride..][..nq * n];
                let c = hi * dh;
                // S = Q·Kᵀ for this head (Kᵀ is a stride swap of K's rows).
                gemm_into(
                    (nq, n, dh),
                    (p, n),
                    false,
                    (&qb[c..], x.rs, 1),
                    (&kb[c..], 1, x.rs),
                    none,
                );
                if let Some(t) = &self.terms {
                    let rows = HeadRows {
                        q: &qb[c..],
                        k: &kb[c..],
                        rs: x.rs,
                        d: dh,
                    };
                    t.add(hi, p, rows);
                }
                for row in p.chunks_mut(n) {
                    simd::softmax_row(row, bias, self.scale);
                }
                let pt: &[f32] = match &self.keep {
                    Some(keep) => {
                        let kp = &keep[(bi * h + hi) * ll..][..ll];
                        tmp.iter_mut()
                            .zip(p.iter().zip(kp))
                            .for_each(|(t, (a, m))| *t = a * m);
                        &tmp
                    }
                    None => p,
                };
                gemm_into(
                    (nq, dh, n),
                    (&mut ob[c..], hd),
                    false,
                    (pt, n, 1),
                    (&vb[c..], x.rs, 1),
                    none,
                );
            }
        };
        if self.store {
            let mut probs = vec![0f32; b * h * ll];
            out.par_chunks_mut(seq)
                .zip(probs.par_chunks_mut(h * ll))
                .enumerate()
                .for_each(|(bi, (ob, pb))| run(bi, ob, pb, ll));
            *self
                .probs
                .lock()
                .map_err(|_| candle_core::Error::Msg("attention: poisoned lock".into()))? = probs;
        } else {
            out.par_chunks_mut(seq)
                .enumerate()
                .for_each_init(|| vec![0f32; ll], |pb, (bi, ob)| run(bi, ob, pb, 0));
        }
        Ok(out)
    }

    /// The packed gradient `[B, L, 3·H·dh]` (each row `∂q | ∂k | ∂v`) for the upstream
    /// gradient `g: [B, queries, H·dh]`.
    pub(crate) fn backward(
        &self,
        x: QkvView,
        g: &[f32],
        dims: (usize, usize, usize),
    ) -> candle_core::Result<Vec<f32>> {
        Ok(self.backward_with_terms(x, g, dims)?.0)
    }

    /// [`Self::backward`], and the summed gradient accumulator of the score terms (empty
    /// without terms).
    pub(crate) fn backward_with_terms(
        &self,
        x: QkvView,
        g: &[f32],
        (b, len, hd): (usize, usize, usize),
    ) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let _p = span("attention", Phase::Backward);
        let (h, dh, nq) = self.check(b, len, hd)?;
        let (seq, ll, bs) = (nq * hd, nq * len, len * x.rs);
        let probs = self
            .probs
            .lock()
            .map_err(|_| candle_core::Error::Msg("attention: poisoned lock".into()))?;
        if probs.len() != b * h * ll {
            candle_core::bail!("attention: backward without a forward");
        }
        let drs = 3 * hd;
        // The per-head GEMMs below write every element but the q rows past `nq` (zero).
        let mut d = vec![0f32; b * len * drs];
        let none = gemm::Parallelism::None;
        let acc_len = self.terms.as_ref().map_or(0, |t| t.acc_len());
        let accs: Vec<Vec<f32>> = d
            .par_chunks_mut(len * drs)
            .enumerate()
            .map(|(bi, db)| {
                let mut acc = vec![0f32; acc_len];
                let (qb, kb, vb) = (&x.q[bi * bs..], &x.k[bi * bs..], &x.v[bi * bs..]);
                let gb = &g[bi * seq..][..seq];
                let mut dp = vec![0f32; ll];
                let mut pt = vec![0f32; ll];
                for hi in 0..h {
                    let c = hi * dh;
                    let p = &probs[(bi * h + hi) * ll..][..ll];
                    let keep = self.keep.as_ref().map(|kp| &kp[(bi * h + hi) * ll..][..ll]);
                    let pd: &[f32] = match keep {
                        Some(kp) => {
                            pt.iter_mut()
                                .zip(p.iter().zip(kp))
                                .for_each(|(t, (a, m))| *t = a * m);
                            &pt
                        }
                        None => p,
                    };
                    // ∂V = P̃ᵀ·G, ∂P̃ = G·Vᵀ.
                    gemm_into(
                        (len, dh, nq),
                        (&mut db[2 * hd + c..], drs),
                        false,
                        (pd, 1, len),
                        (&gb[c..], hd, 1),
                        none,
                    );
                    gemm_into(
                        (nq, len, dh),
                        (&mut dp, len),
                        false,
                        (&gb[c..], hd, 1),
                        (&vb[c..], 1, x.rs),
                        none,
                    );
                    if let Some(kp) = keep {
                        dp.iter_mut().zip(kp).for_each(|(d, m)| *d *= m);
                    }
                    for (dr, pr) in dp.chunks_mut(len).zip(p.chunks(len)) {
                        simd::softmax_row_backward(dr, pr, self.scale);
                    }
                    // ∂Q = ∂S·K, ∂K = ∂Sᵀ·Q.
                    gemm_into(
                        (nq, dh, len),
                        (&mut db[c..], drs),
                        false,
                        (&dp, len, 1),
                        (&kb[c..], x.rs, 1),
                        none,
                    );
                    gemm_into(
                        (len, dh, nq),
                        (&mut db[hd + c..], drs),
                        false,
                        (&dp, 1, len),
                        (&qb[c..], x.rs, 1),
                        none,
                    );
                    if let Some(t) = &self.terms {
                        let (qh, kh) = (&qb[c..], &kb[c..]);
                        let rows = HeadRows {
                            q: qh,
                            k: kh,
                            rs: x.rs,
                            d: dh,
                        };
                        t.backward((hi, &dp), rows, db, (c, hd + c, drs), &mut acc);
                    }
                }
                acc
            })
            .collect();
        // Summed in batch order (reproducible).
        let mut acc = vec![0f32; acc_len];
        for a in accs {
            acc.iter_mut().zip(&a).for_each(|(s, v)| *s += v);
        }
        Ok((d, acc))
    }
}

/// The attention node on separate `q, k, v` tensors (see [`AttnKernel`]).
struct Attention(AttnKernel);

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "textclf-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (q, k, v) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        if l2.dims() != l1.dims() || l3.dims() != l1.dims() {
            candle_core::bail!(
                "attention: q {:?}, k {:?}, v {:?} differ",
                l1.dims(),
                l2.dims(),
                l3.dims()
            );
        }
        let dims = l1.shape().dims3()?;
        let out = self.0.forward(
            QkvView {
                q,
                k,
                v,
                rs: dims.2,
            },
            dims,
        )?;
        Ok((
            CpuStorage::F32(out),
            Shape::from((dims.0, self.0.queries, dims.2)),
        ))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dims = q.dims3()?;
        let hd = dims.2;
        let d = with_slices([grad, q, k, v], |[g, qv, kv, vv]| {
            self.0.backward(
                QkvView {
                    q: qv,
                    k: kv,
                    v: vv,
                    rs: hd,
                },
                g,
                dims,
            )
        })?;
        // Unpack the rows' ∂q | ∂k | ∂v into three tensors.
        let rows = d.len() / (3 * hd).max(1);
        let part = |j: usize| -> candle_core::Result<Tensor> {
            let mut o = Vec::with_capacity(rows * hd);
            for r in d.chunks(3 * hd) {
                o.extend_from_slice(&r[j * hd..][..hd]);
            }
            debug_assert_eq!(o.len(), rows * hd);
            Tensor::from_vec(o, q.shape(), q.device())
        };
        Ok((Some(part(0)?), Some(part(1)?), Some(part(2)?)))
    }
}

/// The attention node on one packed `[B, L, 3·H·dh]` tensor (see [`AttnKernel`]).
struct AttentionPacked(AttnKernel);

impl CustomOp1 for AttentionPacked {
    fn name(&self) -> &'static str {
        "textclf-attention-packed"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l)?;
        let (b, len, three_hd) = l.shape().dims3()?;
        if !three_hd.is_multiple_of(3) {
            candle_core::bail!("attention: packed qkv {:?} is not 3 × H·dh wide", l.dims());
        }
        let hd = three_hd / 3;
        let out = self.0.forward(QkvView::packed(x, hd), (b, len, hd))?;
        Ok((CpuStorage::F32(out), Shape::from((b, self.0.queries, hd))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (b, len, three_hd) = arg.dims3()?;
        let hd = three_hd / 3;
        let d = with_slices([grad, arg], |[g, x]| {
            self.0.backward(QkvView::packed(x, hd), g, (b, len, hd))
        })?;
        Ok(Some(Tensor::from_vec(d, arg.shape(), arg.device())?))
    }
}

/// The attention heads' shape: `heads` of them, `scale` on the scores, and the first
/// `queries` rows of each sequence asked for (see [`AttnKernel`]).
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    pub heads: usize,
    pub scale: f64,
    pub queries: usize,
}

/// Multi-head attention for `q, k, v: [B, L, H·dh]` with the additive key bias
/// `[B, 1, 1, L]` of [`crate::layers::attention_bias`] and optional inverted-dropout
/// multipliers for the probabilities (`[B·H·queries·L]`, see
/// [`crate::layers::dropout_keep`]). Returns `[B, queries, H·dh]`: the first `queries` rows
/// of each sequence attend to all `L`. One fused node on CPU f32; primitive ops elsewhere.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: &Tensor,
    hs: Heads,
    keep: Option<Vec<f32>>,
) -> crate::Result<Tensor> {
    let (b, len, _) = q.dims3()?;
    if fusable(&[q, k, v, bias]) && bias.elem_count() == b * len {
        let store = q.track_op() || k.track_op() || v.track_op();
        let op = Attention(kernel(bias, hs, keep, store)?);
        return Ok(q
            .contiguous()?
            .apply_op3(&k.contiguous()?, &v.contiguous()?, op)?);
    }
    attention_ops(q, k, v, bias, hs, keep)
}

/// [`attention`] on the packed output `qkv: [B, L, 3·H·dh]` of a fused QKV projection
/// (each row `q | k | v`). One fused node on CPU f32 whose gradient stays packed; on other
/// devices the three parts are sliced out and run through primitive ops.
pub fn attention_packed(
    qkv: &Tensor,
    bias: &Tensor,
    hs: Heads,
    keep: Option<Vec<f32>>,
) -> crate::Result<Tensor> {
    let (b, len, three_hd) = qkv.dims3()?;
    if fusable(&[qkv, bias]) && bias.elem_count() == b * len {
        let op = AttentionPacked(kernel(bias, hs, keep, qkv.track_op())?);
        return Ok(qkv.contiguous()?.apply_op1(op)?);
    }
    let hd = three_hd / 3;
    let part = |j: usize| qkv.narrow(2, j * hd, hd);
    attention_ops(&part(0)?, &part(1)?, &part(2)?, bias, hs, keep)
}

pub(crate) fn kernel(
    bias: &Tensor,
    hs: Heads,
    keep: Option<Vec<f32>>,
    store: bool,
) -> crate::Result<AttnKernel> {
    Ok(AttnKernel {
        heads: hs.heads,
        queries: hs.queries,
        scale: hs.scale as f32,
        bias: bias.flatten_all()?.to_vec1()?,
        keep,
        store,
        probs: std::sync::Mutex::new(Vec::new()),
        terms: None,
        padding_rows_unread: false,
    })
}

/// [`kernel`] with terms added to the scores (see [`ScoreTerms`]).
pub(crate) fn kernel_with_terms(
    bias: &Tensor,
    hs: Heads,
    keep: Option<Vec<f32>>,
    store: bool,
    terms: std::sync::Arc<dyn ScoreTerms>,
) -> crate::Result<AttnKernel> {
    let mut k = kernel(bias, hs, keep, store)?;
    k.terms = Some(terms);
    Ok(k)
}

/// [`attention`] from primitive ops (heads split into `[B, H, L, dh]`).
fn attention_ops(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: &Tensor,
    hs: Heads,
    keep: Option<Vec<f32>>,
) -> crate::Result<Tensor> {
    let (b, len, hd) = q.dims3()?;
    let (heads, nq) = (hs.heads, hs.queries);
    let dh = hd / heads.max(1);
    let split = |t: &Tensor, rows: usize| -> crate::Result<Tensor> {
        Ok(t.reshape((b, rows, heads, dh))?
            .transpose(1, 2)?
            .contiguous()?)
    };
    let q = if nq < len {
        q.narrow(1, 0, nq)?
    } else {
        q.clone()
    };
    let (qh, kh, vh) = (split(&q, nq)?, split(k, len)?, split(v, len)?);
    let scores = qh.matmul(&kh.transpose(2, 3)?.contiguous()?)?;
    let mut probs = masked_softmax(&scores, bias, hs.scale)?;
    if let Some(keep) = keep {
        let keep = Tensor::from_vec(keep, probs.dims(), probs.device())?.to_dtype(probs.dtype())?;
        probs = probs.mul(&keep)?;
    }
    Ok(probs
        .matmul(&vh)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((b, nq, hd))?)
}

/// What node `node`'s forward kept for its backward, taken out (one backward per forward).
pub(crate) fn take_saved<T>(m: &std::sync::Mutex<Option<T>>, node: &str) -> candle_core::Result<T> {
    m.lock()
        .map_err(|_| candle_core::Error::Msg(format!("{node}: poisoned lock")))?
        .take()
        .ok_or_else(|| candle_core::Error::Msg(format!("{node}: backward without a forward")))
}

/// `a ← a + b` element-wise, in parallel blocks.
pub(crate) fn add_into(a: &mut [f32], b: &[f32]) {
    a.par_chunks_mut(PAR_MIN)
        .zip(b.par_chunks(PAR_MIN))
        .for_each(|(ac, bc)| ac.iter_mut().zip(bc).for_each(|(x, y)| *x += y));
}

/// A vector of `rows × w` elements whose row `r` is `source(r)` (`w` values), or zeros
/// for `None`; written in parallel blocks without zero-filling the vector first (the
/// buffers this builds are megabytes per layer, and a zero-fill is a pass over memory of
/// its own).
fn rows_from<'a>(
    rows: usize,
    w: usize,
    source: impl Fn(usize) -> Option<&'a [f32]> + Sync,
) -> Vec<f32> {
    let n = rows.checked_mul(w).expect("rows × width overflows");
    let mut out: Vec<f32> = Vec::with_capacity(n);
    if let Some(per) = PAR_MIN.checked_div(w) {
        let per = per.max(1);
        out.spare_capacity_mut()[..n]
            .par_chunks_mut(per * w)
            .enumerate()
            .for_each(|(c, block)| {
                for (i, row) in block.chunks_mut(w).enumerate() {
                    match source(c * per + i) {
                        Some(src) => {
                            assert_eq!(src.len(), w, "row widths differ");
                            row.iter_mut().zip(src).for_each(|(o, &v)| {
                                o.write(v);
                            });
                        }
                        None => row.iter_mut().for_each(|o| {
                            o.write(0.0);
                        }),
                    }
                }
            });
    }
    // SAFETY: the blocks cover the first `n` elements of the capacity in whole rows of `w`
    // (`n` is a multiple of `w`), and every row was written whole above: `w` values of a
    // source of exactly `w` values (asserted before writing), or `w` zeros. A panic would
    // leave the length at 0.
    unsafe { out.set_len(n) };
    out
}

/// The rows `rows` (each `w` wide) of `x`, in order; copied in parallel blocks.
pub(crate) fn gather_rows(x: &[f32], rows: &[usize], w: usize) -> Vec<f32> {
    rows_from(rows.len(), w, |k| Some(&x[rows[k] * w..][..w]))
}

/// `[n, w]` zeros with row `k` of `x` at row `rows[k]` (distinct rows below `n`); copied
/// in parallel blocks.
pub(crate) fn scatter_rows(x: &[f32], rows: &[usize], w: usize, n: usize) -> Vec<f32> {
    let mut from = vec![usize::MAX; n];
    for (k, &r) in rows.iter().enumerate() {
        from[r] = k;
    }
    rows_from(n, w, |r| match from[r] {
        usize::MAX => None,
        k => Some(&x[k * w..][..w]),
    })
}

/// Column sums of a row-major `[rows, n]` matrix, in parallel over blocks of rows that
/// are added in a fixed order (reproducible).
pub(crate) fn column_sums(g: &[f32], n: usize) -> Vec<f32> {
    let rows_per_chunk = (PAR_MIN / n.max(1)).max(1);
    let parts: Vec<Vec<f32>> = g
        .par_chunks(n * rows_per_chunk)
        .map(|c| {
            let mut acc = vec![0f32; n];
            for r in c.chunks(n) {
                acc.iter_mut().zip(r).for_each(|(a, v)| *a += v);
            }
            acc
        })
        .collect();
    let mut out = vec![0f32; n];
    for p in parts {
        out.iter_mut().zip(&p).for_each(|(a, v)| *a += v);
    }
    out
}

/// `x·Wᵀ + b` for row-major `x: [rows, in]`, `W: [out, in]`, `b: [out]` (`out = b.len()`):
/// the bias is the GEMM's starting value.
pub(crate) fn linear_forward(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let out = b.len();
    let inp = w.len() / out.max(1);
    let rows = x.len() / inp.max(1);
    let mut y = rows_from(rows, out, |_| Some(b));
    sgemm(rows, out, inp, &mut y, true, (x, inp, 1), (w, 1, inp));
    y
}

/// LayerNorm of each row of `x` (width `w.len()`), rows in parallel for large inputs.
pub(crate) fn layer_norm_rows(x: &[f32], w: &[f32], b: &[f32], eps: f32) -> Vec<f32> {
    let h = w.len();
    let mut y = vec![0f32; x.len()];
    let f = |(yr, xr): (&mut [f32], &[f32])| simd::layer_norm_row(yr, xr, w, b, eps);
    if x.len() >= PAR_MIN {
        y.par_chunks_mut(h).zip(x.par_chunks(h)).for_each(f);
    } else {
        y.chunks_mut(h).zip(x.chunks(h)).for_each(f);
    }
    y
}

/// `y = x·Wᵀ + b` for `x: [.., in]`, `W: [out, in]` (PyTorch layout), `b: [out]`.
struct Linear;

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "textclf-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let _p = span("linear", Phase::Forward);
        let (x, w, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let (out, inp) = l2.shape().dims2()?;
        let dims = l1.dims();
        if dims.last() != Some(&inp) || b.len() != out {
            candle_core::bail!(
                "linear: x {dims:?}, weight [{out}, {inp}], bias [{}]",
                b.len()
            );
        }
        let y = linear_forward(x, w, b);
        let mut od = dims.to_vec();
        if let Some(last) = od.last_mut() {
            *last = out;
        }
        Ok((CpuStorage::F32(y), Shape::from(od)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let _p = span("linear", Phase::Backward);
        let (out, inp) = w.dims2()?;
        let rows = x.elem_count() / inp.max(1);
        let (dx, dw, db) = with_slices([grad, w, x], |[g, wv, xv]| {
            let dx = sgemm_new(rows, inp, out, (g, out, 1), (wv, inp, 1));
            let dw = sgemm_new(out, inp, rows, (g, 1, out), (xv, inp, 1));
            Ok((dx, dw, column_sums(g, out)))
        })?;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dw, w.shape(), w.device())?),
            Some(Tensor::from_vec(db, b.shape(), b.device())?),
        ))
    }
}

/// `x·Wᵀ + b` for `x: [.., in]` and a PyTorch-layout weight `[out, in]`: one fused node on
/// CPU f32, candle's matmul and a broadcast add elsewhere.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> crate::Result<Tensor> {
    if fusable(&[x, w, b]) && w.rank() == 2 && b.rank() == 1 {
        Ok(x.contiguous()?
            .apply_op3(&w.contiguous()?, &b.contiguous()?, Linear)?)
    } else {
        crate::layers::linear(x, w, b)
    }
}

/// `gelu(x·Wᵀ + b)` with the exact GELU, as one node: the feed-forward input projection and
/// its activation. Compared with a linear node followed by a GELU node, the backward skips
/// the gradient edge between them (candle zero-fills and adds every edge's gradient; here
/// that is a `[rows, 1536]` tensor per layer). The forward keeps the GELU's slope at the
/// pre-activation (computed with the value, from the same `erf` and `exp`), where a GELU node
/// keeps the pre-activation, so the backward is one multiply.
struct LinearGelu {
    /// Whether the forward keeps the slope (a node in an autograd graph); if not, the GELU
    /// runs in place on the projection's output.
    store: bool,
    slope: std::sync::Mutex<Vec<f32>>,
}

impl CustomOp3 for LinearGelu {
    fn name(&self) -> &'static str {
        "textclf-linear-gelu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (y, shape) = Linear.cpu_fwd(s1, l1, s2, l2, s3, l3)?;
        let _p = span("gelu", Phase::Forward);
        let CpuStorage::F32(mut y) = y else {
            candle_core::bail!("linear-gelu: f32 only")
        };
        if !self.store {
            gelu_in_place(&mut y);
            return Ok((CpuStorage::F32(y), shape));
        }
        let out = gelu_with_slopes(&mut y);
        *self
            .slope
            .lock()
            .map_err(|_| candle_core::Error::Msg("linear-gelu: poisoned lock".into()))? = y;
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = {
            let _p = span("gelu", Phase::Backward);
            let slope = self
                .slope
                .lock()
                .map_err(|_| candle_core::Error::Msg("linear-gelu: poisoned lock".into()))?;
            if slope.len() != res.elem_count() {
                candle_core::bail!("linear-gelu: backward without a forward");
            }
            with_slice(grad, |g| {
                let mut d = g.to_vec();
                mul_into(&mut d, &slope);
                Ok(d)
            })?
        };
        let d = Tensor::from_vec(d, res.shape(), res.device())?;
        Linear.bwd(x, w, b, res, &d)
    }
}

/// `gelu(x·Wᵀ + b)` (exact GELU) for `x: [.., in]` and a PyTorch-layout weight `[out, in]`:
/// one fused node on CPU f32 ([`LinearGelu`]), [`linear`] then [`gelu_erf`] elsewhere.
pub fn linear_gelu(x: &Tensor, w: &Tensor, b: &Tensor) -> crate::Result<Tensor> {
    if fusable(&[x, w, b]) && w.rank() == 2 && b.rank() == 1 {
        let op = LinearGelu {
            store: x.track_op() || w.track_op() || b.track_op(),
            slope: std::sync::Mutex::new(Vec::new()),
        };
        Ok(x.contiguous()?
            .apply_op3(&w.contiguous()?, &b.contiguous()?, op)?)
    } else {
        gelu_erf(&linear(x, w, b)?)
    }
}

struct LayerNorm {
    eps: f32,
}

/// LayerNorm's backward over rows of `x` (width `w.len()`) for the upstream gradient `g`:
/// `(dx, dw, db)`, rows in parallel with per-chunk partial sums of `dw`/`db` added in a
/// fixed order.
pub(crate) fn layer_norm_backward(
    xv: &[f32],
    wv: &[f32],
    gv: &[f32],
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let h = wv.len();
    let mut dx = vec![0f32; xv.len()];
    // Per chunk of rows: dx, and partial sums of dw and db.
    let rows_per_chunk = (PAR_MIN / h).max(1);
    let partial: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(h * rows_per_chunk)
        .zip(xv.par_chunks(h * rows_per_chunk))
        .zip(gv.par_chunks(h * rows_per_chunk))
        .map(|((dxc, xc), gc)| {
            let mut acc = vec![0f32; 2 * h];
            let mut scratch = vec![0f32; 2 * h];
            for ((dxr, xr), gr) in dxc.chunks_mut(h).zip(xc.chunks(h)).zip(gc.chunks(h)) {
                simd::layer_norm_row_backward(dxr, &mut acc, &mut scratch, xr, gr, wv, eps);
            }
            let db = acc.split_off(h);
            (acc, db)
        })
        .collect();
    let mut dw = vec![0f32; h];
    let mut db = vec![0f32; h];
    for (pw, pb) in partial {
        dw.iter_mut().zip(&pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&pb).for_each(|(a, b)| *a += b);
    }
    (dx, dw, db)
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "textclf-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let _p = span("layer-norm", Phase::Forward);
        let (x, w, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let y = layer_norm_rows(x, w, b, self.eps);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let _p = span("layer-norm", Phase::Backward);
        let (dx, dw, db) = with_slices([x, w, grad], |[xv, wv, gv]| {
            Ok(layer_norm_backward(xv, wv, gv, self.eps))
        })?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dw, w.shape(), dev)?),
            Some(Tensor::from_vec(db, w.shape(), dev)?),
        ))
    }
}

/// `LayerNorm(a + b)` (a residual add and the LayerNorm after it) as one node, with the
/// LayerNorm's weight and bias stacked as `wb: [2, H]`. The sum is never a tensor: the
/// forward normalises it row by row and the backward recomputes it. Both summands receive
/// the LayerNorm's input gradient.
struct AddLayerNorm {
    eps: f32,
}

impl CustomOp3 for AddLayerNorm {
    fn name(&self) -> &'static str {
        "textclf-add-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let _p = span("layer-norm", Phase::Forward);
        let (a, b, wb) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let h = wb.len() / 2;
        if l1.dims() != l2.dims() || l1.dims().last() != Some(&h) || wb.len() != 2 * h {
            candle_core::bail!(
                "add-layer-norm: a {:?}, b {:?}, weights {:?}",
                l1.dims(),
                l2.dims(),
                l3.dims()
            );
        }
        let (w, bias) = wb.split_at(h);
        let mut y = vec![0f32; a.len()];
        let rows_per_chunk = (PAR_MIN / h.max(1)).max(1);
        y.par_chunks_mut(h * rows_per_chunk)
            .zip(a.par_chunks(h * rows_per_chunk))
            .zip(b.par_chunks(h * rows_per_chunk))
            .for_each(|((yc, ac), bc)| {
                let mut sum = vec![0f32; h];
                for ((yr, ar), br) in yc.chunks_mut(h).zip(ac.chunks(h)).zip(bc.chunks(h)) {
                    sum.iter_mut()
                        .zip(ar.iter().zip(br))
                        .for_each(|(s, (x, y))| *s = x + y);
                    simd::layer_norm_row(yr, &sum, w, bias, self.eps);
                }
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        wb: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let _p = span("layer-norm", Phase::Backward);
        let (dx, dwb) = with_slices([a, b, wb, grad], |[av, bv, wbv, gv]| {
            let h = wbv.len() / 2;
            let sum: Vec<f32> = av.iter().zip(bv).map(|(x, y)| x + y).collect();
            let (dx, mut dw, db) = layer_norm_backward(&sum, &wbv[..h], gv, self.eps);
            dw.extend_from_slice(&db);
            Ok((dx, dw))
        })?;
        let dx = Tensor::from_vec(dx, a.shape(), a.device())?;
        Ok((
            Some(dx.clone()),
            Some(dx),
            Some(Tensor::from_vec(dwb, wb.shape(), wb.device())?),
        ))
    }
}

/// `LayerNorm(a + b)` with weight `w` and bias `bias`: one fused node on CPU f32
/// ([`AddLayerNorm`]), an add and [`layer_norm`] elsewhere.
pub fn add_layer_norm(
    a: &Tensor,
    b: &Tensor,
    w: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> crate::Result<Tensor> {
    if fusable(&[a, b, w, bias]) && a.dims() == b.dims() && w.rank() == 1 {
        let wb = Tensor::stack(&[w, bias], 0)?;
        Ok(a.contiguous()?
            .apply_op3(&b.contiguous()?, &wb, AddLayerNorm { eps: eps as f32 })?)
    } else {
        layer_norm(&(a + b)?, w, bias, eps)
    }
}

/// `gelu(x)` for the pre-activations `x`, in parallel blocks; `x` becomes the slopes
/// `gelu'(x)`, which the backward multiplies the incoming gradient by.
pub(crate) fn gelu_with_slopes(x: &mut [f32]) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(PAR_MIN)
        .zip(x.par_chunks_mut(PAR_MIN))
        .for_each(|(yc, xc)| simd::gelu_forward_slope(yc, xc));
    y
}

/// `x ← gelu(x)` element-wise (exact GELU), in parallel blocks.
pub(crate) fn gelu_in_place(x: &mut [f32]) {
    x.par_chunks_mut(PAR_MIN).for_each(simd::gelu_in_place);
}

/// `a ← a ⊙ b` element-wise, in parallel blocks.
pub(crate) fn mul_into(a: &mut [f32], b: &[f32]) {
    a.par_chunks_mut(PAR_MIN)
        .zip(b.par_chunks(PAR_MIN))
        .for_each(|(ac, bc)| ac.iter_mut().zip(bc).for_each(|(x, y)| *x *= y));
}

/// `gelu(x)` element-wise (exact GELU), in parallel blocks.
fn gelu_values(x: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(PAR_MIN)
        .zip(x.par_chunks(PAR_MIN))
        .for_each(|(yc, xc)| simd::gelu_forward(yc, xc));
    y
}

/// `g ⊙ gelu'(x)` element-wise, in parallel blocks.
fn gelu_grads(x: &[f32], g: &[f32]) -> Vec<f32> {
    let mut d = vec![0f32; x.len()];
    d.par_chunks_mut(PAR_MIN)
        .zip(x.par_chunks(PAR_MIN))
        .zip(g.par_chunks(PAR_MIN))
        .for_each(|((dc, xc), gc)| simd::gelu_backward(dc, xc, gc));
    d
}

/// Exact GELU, `x·Φ(x)` with `Φ(x) = ½(1 + erf(x/√2))`.
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "textclf-gelu-erf"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let _p = span("gelu", Phase::Forward);
        let y = gelu_values(slice(s, l)?);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    /// `∂gelu/∂x = Φ(x) + x·φ(x)` with the standard normal density φ.
    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let _p = span("gelu", Phase::Backward);
        let dx = with_slices([arg, grad], |[x, g]| Ok(gelu_grads(x, g)))?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}

/// Attention probabilities `softmax(scale·s + bias)` for scores `s: [B, H, L, L]` and an
/// additive key mask `bias: [B, 1, 1, L]`. Backward (the mask is a constant):
/// `∂L/∂s = scale · y ⊙ (∂L/∂y − Σ ∂L/∂y ⊙ y)`.
struct MaskedSoftmax {
    scale: f32,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "textclf-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let _p = span("softmax", Phase::Forward);
        let (x, bias) = (slice(s1, l1)?, slice(s2, l2)?);
        let dims = l1.dims();
        let l = dims[dims.len() - 1];
        let per_batch = x.len() / dims[0].max(1);
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(l)
            .zip(x.par_chunks(l))
            .enumerate()
            .for_each(|(r, (yr, xr))| {
                let b = &bias[(r * l / per_batch) * l..][..l];
                yr.copy_from_slice(xr);
                simd::softmax_row(yr, b, self.scale);
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let _p = span("softmax", Phase::Backward);
        let n = *res.dims().last().unwrap_or(&1);
        let dx = with_slices([res, grad], |[y, g]| {
            let mut dx = vec![0f32; y.len()];
            dx.par_chunks_mut(n)
                .zip(y.par_chunks(n))
                .zip(g.par_chunks(n))
                .for_each(|((dr, yr), gr)| {
                    dr.copy_from_slice(gr);
                    simd::softmax_row_backward(dr, yr, self.scale);
                });
            Ok(dx)
        })?;
        Ok((Some(Tensor::from_vec(dx, res.shape(), res.device())?), None))
    }
}

/// `softmax(scale·scores + bias)` over the last dimension, with `scores: [B, H, L, L]` and
/// `bias: [B, 1, 1, L]`: fused on CPU f32, primitive ops elsewhere.
pub fn masked_softmax(scores: &Tensor, bias: &Tensor, scale: f64) -> crate::Result<Tensor> {
    let (b, _, _, l) = scores.dims4()?;
    if fusable(&[scores, bias]) && bias.dims() == [b, 1, 1, l] {
        Ok(scores.contiguous()?.apply_op2(
            &bias.contiguous()?,
            MaskedSoftmax {
                scale: scale as f32,
            },
        )?)
    } else {
        crate::layers::softmax_last(&(scores * scale)?.broadcast_add(bias)?)
    }
}

/// `x + b` for `x: [rows, n]`, `b: [n]`. Backward: `∂L/∂x = ∂L/∂y`, `∂L/∂b` = column sums
/// of `∂L/∂y`, accumulated row by row (contiguous) instead of candle's strided reduction.
struct BiasAdd;

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "textclf-bias-add"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let _p = span("bias-add", Phase::Forward);
        let (x, b) = (slice(s1, l1)?, slice(s2, l2)?);
        let n = b.len();
        let mut y = x.to_vec();
        let rows_per_chunk = (PAR_MIN / n.max(1)).max(1);
        y.par_chunks_mut(n * rows_per_chunk).for_each(|c| {
            for r in c.chunks_mut(n) {
                r.iter_mut().zip(b).for_each(|(v, bv)| *v += bv);
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let _p = span("bias-add", Phase::Backward);
        let db = with_slice(grad, |g| Ok(column_sums(g, b.elem_count())))?;
        Ok((
            Some(grad.clone()),
            Some(Tensor::from_vec(db, b.shape(), b.device())?),
        ))
    }
}

/// `x + b` with `x: [rows, n]` and a bias `b: [n]`: fused on CPU f32, broadcast add elsewhere.
pub fn bias_add(x: &Tensor, b: &Tensor) -> crate::Result<Tensor> {
    if fusable(&[x, b]) && x.rank() == 2 {
        Ok(x.contiguous()?.apply_op2(&b.contiguous()?, BiasAdd)?)
    } else {
        Ok(x.broadcast_add(b)?)
    }
}

/// The feed-forward activation (the exact GELU through the fused op on CPU f32).
pub fn activation(x: &Tensor, a: crate::config::Activation) -> crate::Result<Tensor> {
    use crate::config::Activation;
    Ok(match a {
        Activation::GeluErf => gelu_erf(x)?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
    })
}

/// Whether the fused CPU kernels apply: every tensor is f32 on the CPU.
pub fn fusable(ts: &[&Tensor]) -> bool {
    ts.iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// LayerNorm over the last dimension: fused on CPU f32, primitive ops elsewhere.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> crate::Result<Tensor> {
    if fusable(&[x, w, b]) {
        let x = x.contiguous()?;
        Ok(x.apply_op3(
            &w.contiguous()?,
            &b.contiguous()?,
            LayerNorm { eps: eps as f32 },
        )?)
    } else {
        crate::layers::layer_norm(x, w, b, eps)
    }
}

/// Exact (erf) GELU: fused on CPU f32, candle's `gelu_erf` elsewhere.
pub fn gelu_erf(x: &Tensor) -> crate::Result<Tensor> {
    if fusable(&[x]) {
        Ok(x.contiguous()?.apply_op1(GeluErf)?)
    } else {
        Ok(x.gelu_erf()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::first_rows;
    use candle_core::{Device, Var};

    fn grads_of(fused: bool) -> Vec<Vec<f32>> {
        let dev = Device::Cpu;
        let xs: Vec<f32> = (0..4 * 6)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let x = Var::from_vec(xs, (4, 6), &dev).unwrap();
        let w = Var::from_vec(vec![1.0f32, 0.5, 2.0, -1.0, 0.3, 1.5], 6, &dev).unwrap();
        let b = Var::from_vec(vec![0.1f32, 0.0, -0.2, 0.3, 0.0, 0.05], 6, &dev).unwrap();
        let coef = Tensor::from_vec(
            (0..24).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
            (4, 6),
            &dev,
        )
        .unwrap();
        let (y, s) = if fused {
            let y =
                gelu_erf(&layer_norm(x.as_tensor(), w.as_tensor(), b.as_tensor(), 1e-5).unwrap())
                    .unwrap();
            (y.clone(), crate::layers::softmax_last(&y).unwrap())
        } else {
            let y = crate::layers::layer_norm(x.as_tensor(), w.as_tensor(), b.as_tensor(), 1e-5)
                .unwrap()
                .gelu_erf()
                .unwrap();
            (y.clone(), crate::layers::softmax_last(&y).unwrap())
        };
        let loss = (s.mul(&coef).unwrap().sum_all().unwrap() + y.sqr().unwrap().sum_all().unwrap())
            .unwrap();
        let g = loss.backward().unwrap();
        let mut out = vec![s.flatten_all().unwrap().to_vec1().unwrap()];
        for v in [&x, &w, &b] {
            out.push(
                g.get(v.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap(),
            );
        }
        out
    }

    /// Attention inputs: `q, k, v: [B, L, H·dh]` for (B, L, H, dh) = (2, 5, 3, 4), the key
    /// bias of a batch whose second sequence has two padding positions, the coefficients of
    /// a test loss `Σ y ⊙ coef`, and a dropout mask for the probabilities.
    struct AttnCase {
        dims: (usize, usize, usize, usize),
        q: Var,
        k: Var,
        v: Var,
        bias: Tensor,
        coef: Tensor,
        keep: Vec<f32>,
    }

    fn attention_case() -> AttnCase {
        let dev = Device::Cpu;
        let (b, l, h, dh) = (2usize, 5usize, 3usize, 4usize);
        let v = |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin()).collect::<Vec<_>>();
        let var = |f: f32| Var::from_vec(v(b * l * h * dh, f), (b, l, h * dh), &dev).unwrap();
        let mask = Tensor::from_vec(vec![1u32, 1, 1, 1, 1, 1, 1, 1, 0, 0], (b, l), &dev).unwrap();
        AttnCase {
            dims: (b, l, h, dh),
            q: var(0.37),
            k: var(0.61),
            v: var(0.83),
            bias: crate::layers::attention_bias(&mask).unwrap(),
            coef: Tensor::from_vec(v(b * l * h * dh, 0.29), (b, l, h * dh), &dev).unwrap(),
            keep: (0..b * h * l * l)
                .map(|i| if i % 7 == 3 { 0.0 } else { 1.25 })
                .collect(),
        }
    }

    #[test]
    fn fused_attention_matches_the_primitive_ops_and_its_gradients() {
        let AttnCase {
            dims: (b, l, h, dh),
            q,
            k,
            v: vv,
            bias,
            coef,
            keep,
        } = attention_case();
        let (qt, kt, vt) = (q.as_tensor(), k.as_tensor(), vv.as_tensor());
        // All rows as queries, and the first two only (the last layer of a classifier).
        for nq in [l, 2] {
            let hs = Heads {
                heads: h,
                scale: 0.5,
                queries: nq,
            };
            let coef = coef.narrow(1, 0, nq).unwrap();
            for keep in [None, Some(keep.clone())] {
                let part = keep.as_ref().map(|k| first_rows(k, l * l, nq * l));
                let fused = attention(qt, kt, vt, &bias, hs, part.clone()).unwrap();
                let plain = attention_ops(qt, kt, vt, &bias, hs, part).unwrap();
                // The reference: every row a query, then the first `nq` rows kept.
                let all = Heads { queries: l, ..hs };
                let full = attention_ops(qt, kt, vt, &bias, all, keep.clone()).unwrap();
                let full = full.narrow(1, 0, nq).unwrap();
                for y in [&fused, &plain, &full] {
                    assert_eq!(y.dims(), &[b, nq, h * dh]);
                }
                let want = value_and_grads(&full, &coef, &[qt, kt, vt]);
                let what = format!("{nq} queries, dropout {}", keep.is_some());
                assert_all_close(&value_and_grads(&fused, &coef, &[qt, kt, vt]), &want, &what);
                assert_all_close(&value_and_grads(&plain, &coef, &[qt, kt, vt]), &want, &what);
            }
        }
    }

    #[test]
    fn packed_attention_matches_separate_q_k_v_and_keeps_its_gradient_packed() {
        let AttnCase {
            dims: (b, l, h, dh),
            q,
            k,
            v: vv,
            bias,
            coef,
            keep,
        } = attention_case();
        let hd = h * dh;
        let packed = Tensor::cat(&[q.as_tensor(), k.as_tensor(), vv.as_tensor()], 2).unwrap();
        let qkv = Var::from_tensor(&packed).unwrap();
        for (nq, keep) in [(l, None), (l, Some(keep.clone())), (1, Some(keep))] {
            let hs = Heads {
                heads: h,
                scale: 0.5,
                queries: nq,
            };
            let coef = coef.narrow(1, 0, nq).unwrap();
            let keep = keep.map(|k| first_rows(&k, l * l, nq * l));
            let y = attention_packed(qkv.as_tensor(), &bias, hs, keep.clone()).unwrap();
            assert_eq!(y.dims(), &[b, nq, hd]);
            let got = value_and_grads(&y, &coef, &[qkv.as_tensor()]);
            let (qt, kt, vt) = (q.as_tensor(), k.as_tensor(), vv.as_tensor());
            let y_ref = attention_ops(qt, kt, vt, &bias, hs, keep.clone()).unwrap();
            let sep = value_and_grads(&y_ref, &coef, &[qt, kt, vt]);
            // The reference gradients, packed row by row as ∂q | ∂k | ∂v.
            let mut want = vec![];
            for r in 0..b * l {
                for part in &sep[1..] {
                    want.extend_from_slice(&part[r * hd..][..hd]);
                }
            }
            let what = format!("packed, {nq} queries, dropout {}", keep.is_some());
            assert_all_close(&got, &[sep[0].clone(), want], &what);
        }
    }

    /// The paths other devices take (here: f64 on the CPU, which is not fused) give what
    /// the fused nodes give.
    #[test]
    fn unfused_fallbacks_of_the_new_nodes_agree_with_the_fused_ones() {
        let dev = Device::Cpu;
        let v = |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin()).collect::<Vec<_>>();
        let f64s = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
        let back = |t: Tensor| t.to_dtype(DType::F32).unwrap().flatten_all().unwrap();
        let close = |a: &Tensor, b: &Tensor, what: &str| {
            let (a, b): (Vec<f32>, Vec<f32>) = (a.to_vec1().unwrap(), b.to_vec1().unwrap());
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-5, "{what}: {x} vs {y}");
            }
        };
        let (b, l, h, dh) = (2usize, 5usize, 3usize, 4usize);
        let qkv = Tensor::from_vec(v(b * l * 3 * h * dh, 0.37), (b, l, 3 * h * dh), &dev).unwrap();
        let mask = Tensor::from_vec(vec![1u32, 1, 1, 1, 1, 1, 1, 1, 0, 0], (b, l), &dev).unwrap();
        let bias = crate::layers::attention_bias(&mask).unwrap();
        for nq in [l, 1] {
            let hs = Heads {
                heads: h,
                scale: 0.5,
                queries: nq,
            };
            let fused = attention_packed(&qkv, &bias, hs, None).unwrap();
            let plain = attention_packed(&f64s(&qkv), &f64s(&bias), hs, None).unwrap();
            close(
                &fused.flatten_all().unwrap(),
                &back(plain),
                "attention_packed",
            );
        }
        let x = Tensor::from_vec(v(3 * 7, 0.41), (3, 7), &dev).unwrap();
        let w = Tensor::from_vec(v(4 * 7, 0.91), (4, 7), &dev).unwrap();
        let bb = Tensor::from_vec(v(4, 1.7), 4, &dev).unwrap();
        let fused = linear_gelu(&x, &w, &bb).unwrap();
        let plain = linear_gelu(&f64s(&x), &f64s(&w), &f64s(&bb)).unwrap();
        close(&fused.flatten_all().unwrap(), &back(plain), "linear_gelu");
        let y = Tensor::from_vec(v(3 * 7, 0.77), (3, 7), &dev).unwrap();
        let lw = Tensor::from_vec(v(7, 0.3), 7, &dev).unwrap();
        let lb = Tensor::from_vec(v(7, 0.6), 7, &dev).unwrap();
        let fused = add_layer_norm(&x, &y, &lw, &lb, 1e-5).unwrap();
        let plain = add_layer_norm(&f64s(&x), &f64s(&y), &f64s(&lw), &f64s(&lb), 1e-5).unwrap();
        close(
            &fused.flatten_all().unwrap(),
            &back(plain),
            "add_layer_norm",
        );
    }

    /// `y` and the gradients of `Σ y ⊙ coef` with respect to `wrt`, as flat vectors.
    fn value_and_grads(y: &Tensor, coef: &Tensor, wrt: &[&Tensor]) -> Vec<Vec<f32>> {
        let g = y.mul(coef).unwrap().sum_all().unwrap().backward().unwrap();
        let f = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        std::iter::once(f(y))
            .chain(wrt.iter().map(|t| f(g.get(t).unwrap())))
            .collect()
    }

    /// Every value of `a` within 1e-5 of the matching value of `c`.
    fn assert_all_close(a: &[Vec<f32>], c: &[Vec<f32>], what: &str) {
        assert_eq!(a.len(), c.len());
        for (p, q) in a.iter().zip(c) {
            assert_eq!(p.len(), q.len());
            for (u, v) in p.iter().zip(q) {
                assert!((u - v).abs() < 1e-5, "{u} vs {v} ({what})");
            }
        }
    }

    /// A node `f(x, W, b)` on `x: [2, 5, 7]`, `W: [4, 7]`, `b: [4]` gives the reference's
    /// values and gradients with respect to all three.
    fn check_linear_node(
        fused: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
        reference: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
        what: &str,
    ) {
        let dev = Device::Cpu;
        let v = |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin()).collect::<Vec<_>>();
        let x = Var::from_vec(v(2 * 5 * 7, 0.37), (2, 5, 7), &dev).unwrap();
        let w = Var::from_vec(v(4 * 7, 0.91), (4, 7), &dev).unwrap();
        let b = Var::from_vec(v(4, 1.7), 4, &dev).unwrap();
        let coef = Tensor::from_vec(v(2 * 5 * 4, 0.53), (2, 5, 4), &dev).unwrap();
        let run = |f: &dyn Fn(&Tensor, &Tensor, &Tensor) -> Tensor| {
            let (xt, wt, bt) = (x.as_tensor(), w.as_tensor(), b.as_tensor());
            let y = f(xt, wt, bt);
            assert_eq!(y.dims(), &[2, 5, 4]);
            value_and_grads(&y, &coef, &[xt, wt, bt])
        };
        assert_all_close(&run(&fused), &run(&reference), what);
    }

    #[test]
    fn fused_linear_matches_matmul_and_its_gradients() {
        check_linear_node(
            |x, w, b| linear(x, w, b).unwrap(),
            |x, w, b| crate::layers::linear(x, w, b).unwrap(),
            "linear",
        );
    }

    #[test]
    fn fused_linear_gelu_matches_matmul_then_gelu_and_its_gradients() {
        check_linear_node(
            |x, w, b| linear_gelu(x, w, b).unwrap(),
            |x, w, b| crate::layers::linear(x, w, b).unwrap().gelu_erf().unwrap(),
            "linear-gelu",
        );
    }

    #[test]
    fn fused_add_layer_norm_matches_add_then_layer_norm_and_its_gradients() {
        let dev = Device::Cpu;
        let v = |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin()).collect::<Vec<_>>();
        let a = Var::from_vec(v(3 * 4 * 10, 0.37), (3, 4, 10), &dev).unwrap();
        let b = Var::from_vec(v(3 * 4 * 10, 0.71), (3, 4, 10), &dev).unwrap();
        let w = Var::from_vec(v(10, 0.91).iter().map(|x| 1.0 + x).collect(), 10, &dev).unwrap();
        let bias = Var::from_vec(v(10, 1.7), 10, &dev).unwrap();
        let coef = Tensor::from_vec(v(3 * 4 * 10, 0.53), (3, 4, 10), &dev).unwrap();
        let run = |fused: bool| {
            let (at, bt, wt, bst) = (
                a.as_tensor(),
                b.as_tensor(),
                w.as_tensor(),
                bias.as_tensor(),
            );
            let y = if fused {
                add_layer_norm(at, bt, wt, bst, 1e-5).unwrap()
            } else {
                crate::layers::layer_norm(&(at + bt).unwrap(), wt, bst, 1e-5).unwrap()
            };
            assert_eq!(y.dims(), &[3, 4, 10]);
            value_and_grads(&y, &coef, &[at, bt, wt, bst])
        };
        assert_all_close(&run(true), &run(false), "add-layer-norm");
    }

    #[test]
    fn bias_add_and_its_gradients() {
        let dev = Device::Cpu;
        let x = Var::from_vec(
            (0..12).map(|i| i as f32 * 0.5).collect::<Vec<_>>(),
            (4, 3),
            &dev,
        )
        .unwrap();
        let b = Var::from_vec(vec![1.0f32, -2.0, 0.5], 3, &dev).unwrap();
        let coef = Tensor::from_vec(
            (0..12).map(|i| (i as f32).cos()).collect::<Vec<_>>(),
            (4, 3),
            &dev,
        )
        .unwrap();
        let run = |fused: bool| {
            let y = if fused {
                bias_add(x.as_tensor(), b.as_tensor()).unwrap()
            } else {
                x.as_tensor().broadcast_add(b.as_tensor()).unwrap()
            };
            let g = y.mul(&coef).unwrap().sum_all().unwrap().backward().unwrap();
            let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (
                v(&y),
                v(g.get(x.as_tensor()).unwrap()),
                v(g.get(b.as_tensor()).unwrap()),
            )
        };
        let (a, c) = (run(true), run(false));
        for (p, q) in [(a.0, c.0), (a.1, c.1), (a.2, c.2)] {
            for (u, v) in p.iter().zip(&q) {
                assert!((u - v).abs() < 1e-5, "{u} vs {v}");
            }
        }
    }

    #[test]
    fn masked_softmax_matches_and_its_gradient() {
        let dev = Device::Cpu;
        let s = Var::from_vec(
            (0..2 * 2 * 3 * 3)
                .map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.7)
                .collect::<Vec<_>>(),
            (2, 2, 3, 3),
            &dev,
        )
        .unwrap();
        let bias = Tensor::from_vec(
            vec![0.0f32, 0.0, f32::MIN, 0.0, 0.0, 0.0],
            (2, 1, 1, 3),
            &dev,
        )
        .unwrap();
        let coef = Tensor::from_vec(
            (0..36).map(|i| (i as f32 * 0.3).sin()).collect::<Vec<_>>(),
            (2, 2, 3, 3),
            &dev,
        )
        .unwrap();
        let run = |fused: bool| {
            let y = if fused {
                masked_softmax(s.as_tensor(), &bias, 0.5).unwrap()
            } else {
                crate::layers::softmax_last(
                    &(s.as_tensor() * 0.5).unwrap().broadcast_add(&bias).unwrap(),
                )
                .unwrap()
            };
            let g = y.mul(&coef).unwrap().sum_all().unwrap().backward().unwrap();
            let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (v(&y), v(g.get(s.as_tensor()).unwrap()))
        };
        let (a, c) = (run(true), run(false));
        assert_eq!(a.0[2], 0.0); // the masked key of batch 0 gets no weight
        for (p, q) in [(a.0, c.0), (a.1, c.1)] {
            for (u, v) in p.iter().zip(&q) {
                assert!((u - v).abs() < 1e-6, "{u} vs {v}");
            }
        }
    }

    #[test]
    fn fused_kernels_match_the_primitive_ops_and_their_gradients() {
        let (f, p) = (grads_of(true), grads_of(false));
        for (t, (a, b)) in f.iter().zip(&p).enumerate() {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert!((x - y).abs() < 1e-5, "output {t} element {i}: {x} vs {y}");
            }
        }
    }
}
