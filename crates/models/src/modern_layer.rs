//! ModernBERT's pre-norm layer as one autograd node, for training (and f32 inference) on the
//! CPU, on the packed real tokens of the batch (unpadded, as the ModernBERT paper runs it).
//!
//! The arithmetic is that of the primitive-op layer in [`crate::families::modernbert`],
//! on the `T` real tokens of a `[B, L, H]` batch (`xp`, gathered), with queries only on the
//! `Q ≤ T` tokens at positions below `rows` (all of them but in a `cls`-pooled last layer):
//!
//! ```text
//! hn  = LN_attn(xp)                (layer 0: hn = xp; every norm without a bias)
//! qkv = hn·Wqkvᵀ,  q, k ← RoPE(q, k) at each token's position in its sequence
//! ctx = softmax(q·kᵀ/√d) · v       per sequence over its real tokens; local layers see
//!                                  only keys with |pᵢ − pⱼ| ≤ window/2 (banded blocks)
//! x2  = xp + drop_a(ctx·Woᵀ)
//! [u | v] = LN_mlp(x2)·Wiᵀ,   g = drop_g(gelu(u) ⊙ v)
//! y   = x2 + g·Wo2ᵀ                (the last layer: y ← LN_final(y))
//! ```
//!
//! Backward, with `Rᵀ` the inverse rotation (RoPE is orthogonal per pair of columns):
//! the norms through [`layer_norm_backward`], `∂u = ∂g ⊙ v ⊙ gelu'(u)`, `∂v = ∂g ⊙
//! gelu(u)`, the attention as in [`crate::fused`]'s kernel (`∂V = P̃ᵀG`, `∂S = P ⊙ (∂P −
//! Σ ∂P ⊙ P)/√d`, `∂Q = ∂S·K`, `∂K = ∂Sᵀ·Q`, accumulated over the overlapping key ranges of
//! a local layer's blocks), then `∂q, ∂k ← Rᵀ(∂q, ∂k)`. The parameters' gradients go to a
//! [`GradSink`]; the node's only graph edge is its input. Padded positions of the output
//! and of the input's gradient are zeros.
//!
//! Dropout multipliers are drawn by the caller in the primitive layer's order and shapes
//! (probabilities `[B, heads, L, L]`, then `[T, H]` and `[T, F]`), so both paths compute
//! the same run.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::fused::{
    add_into, gather_rows, gemm_into, layer_norm_backward, layer_norm_rows, mul_into, scatter_rows,
    sgemm_new, slice, take_saved, with_slices, PAR_MIN,
};
use crate::layer::GradSink;
use crate::layers::real_rows;
use crate::profile::{span, Phase};
use crate::simd;

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("modernbert layer: poisoned lock".into())
}

/// Query rows per block of a local layer: each block's keys span its queries and the
/// window on either side, so a 1,024-token sequence with a 128-token window computes
/// about a fifth of the full score matrix.
const BLOCK: usize = 64;

/// The real tokens of a padded batch: for each sequence, its first row among the packed
/// tokens and the positions of its real tokens (increasing).
pub(crate) struct Tokens {
    batch: usize,
    len: usize,
    seqs: Vec<(usize, Vec<usize>)>,
    total: usize,
}

impl Tokens {
    /// The real tokens of the batch whose additive key bias (0 real, the lowest f32 for
    /// padding) is `bias`, `[B·L]`.
    pub(crate) fn of(bias: &[f32], batch: usize, len: usize) -> Self {
        let mut seqs: Vec<(usize, Vec<usize>)> = (0..batch).map(|_| (0, vec![])).collect();
        for r in real_rows(bias) {
            if let Some((_, pos)) = seqs.get_mut(r / len.max(1)) {
                pos.push(r % len.max(1));
            }
        }
        let mut total = 0;
        for (start, pos) in &mut seqs {
            *start = total;
            total += pos.len();
        }
        Tokens {
            batch,
            len,
            seqs,
            total,
        }
    }

    /// The number of real tokens.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Each packed row's place `bi·L + p` in the padded batch.
    fn places(&self) -> impl Iterator<Item = usize> + '_ {
        self.seqs
            .iter()
            .enumerate()
            .flat_map(move |(bi, (_, pos))| pos.iter().map(move |p| bi * self.len + p))
    }

    /// The number of query tokens of each sequence: its real tokens below `rows`.
    fn queries(&self, rows: usize) -> Vec<usize> {
        self.seqs
            .iter()
            .map(|(_, pos)| pos.partition_point(|&p| p < rows))
            .collect()
    }
}

/// One layer's parameters (detached) and the names their gradients are filed under.
pub(crate) struct ModernWeights {
    /// `attn_norm` (absent in layer 0), `attn.Wqkv`, `attn.Wo`, `mlp_norm`, `mlp.Wi`,
    /// `mlp.Wo`, and the final norm after the last layer.
    pub attn_norm: Option<(Tensor, String)>,
    pub wqkv: (Tensor, String),
    pub wo: (Tensor, String),
    pub mlp_norm: (Tensor, String),
    pub wi: (Tensor, String),
    pub wo2: (Tensor, String),
    pub final_norm: Option<(Tensor, String)>,
    pub eps: f32,
}

/// The layer's attention: heads, rotary tables and the local window.
pub(crate) struct ModernAttention {
    pub heads: usize,
    /// `cos` and `sin` of every position's angles, `[L, d/2]` (the rotate-half layout
    /// repeats them in both halves of a head).
    pub cos: Vec<f32>,
    pub sin: Vec<f32>,
    /// Half the sliding window of a local layer (`None`: global attention).
    pub half_window: Option<usize>,
}

/// Inverted-dropout multipliers, drawn by the caller (see the module doc).
pub(crate) struct ModernMasks {
    /// The attention probabilities, `[B, heads, L, L]` at padded coordinates.
    pub probs: Option<Vec<f32>>,
    /// After the attention output projection, `[T, H]`.
    pub attn_out: Option<Vec<f32>>,
    /// The GeGLU product, `[T, F]`.
    pub mlp: Option<Vec<f32>>,
}

pub(crate) struct Saved {
    xp: Vec<f32>,
    qkv: Vec<f32>,
    probs: Vec<Vec<f32>>,
    ctx: Vec<f32>,
    x2: Vec<f32>,
    hm: Vec<f32>,
    gelu: Vec<f32>,
    slope: Vec<f32>,
    gate: Vec<f32>,
    y_pre: Option<Vec<f32>>,
}

/// The layer node (see the module doc).
pub(crate) struct ModernLayer {
    pub w: ModernWeights,
    pub attn: ModernAttention,
    pub tokens: Tokens,
    /// Query rows per sequence: the output is `[B, rows, H]`.
    pub rows: usize,
    pub masks: ModernMasks,
    pub sink: GradSink,
    /// Keep what the backward needs (a node in an autograd graph).
    pub store: bool,
    /// Empty until the forward runs.
    pub saved: Mutex<Option<Saved>>,
}

/// One block of a sequence's attention: query rows `q0..q1` and key rows `k0..k1`
/// (indices among the sequence's real tokens).
#[derive(Clone, Copy)]
struct Block {
    q0: usize,
    q1: usize,
    k0: usize,
    k1: usize,
}

impl ModernAttention {
    /// The keys query `i` sees among the real tokens at `pos`: `lo..hi`.
    fn keys(&self, pos: &[usize], i: usize) -> (usize, usize) {
        match self.half_window {
            None => (0, pos.len()),
            Some(h) => (
                pos.partition_point(|&p| p + h < pos[i]),
                pos.partition_point(|&p| p <= pos[i].saturating_add(h)),
            ),
        }
    }

    /// The blocks of a sequence with real tokens at `pos` and `nq` queries.
    fn blocks(&self, pos: &[usize], nq: usize) -> Vec<Block> {
        if nq == 0 {
            return vec![];
        }
        match self.half_window {
            None => vec![Block {
                q0: 0,
                q1: nq,
                k0: 0,
                k1: pos.len(),
            }],
            Some(_) => (0..nq)
                .step_by(BLOCK)
                .map(|q0| {
                    let q1 = (q0 + BLOCK).min(nq);
                    Block {
                        q0,
                        q1,
                        k0: self.keys(pos, q0).0,
                        k1: self.keys(pos, q1 - 1).1,
                    }
                })
                .collect(),
        }
    }

    /// Rotates the q and k parts of each packed `[T, 3·H]` row by its position (`inverse`:
    /// by minus it, the backward).
    fn rotate(&self, qkv: &mut [f32], h: usize, places: &[usize], len: usize, inverse: bool) {
        let d = h / self.heads;
        let half = d / 2;
        let rs = 3 * h;
        let sign = if inverse { -1.0f32 } else { 1.0 };
        let rows_per = (PAR_MIN / rs).max(1);
        qkv.par_chunks_mut(rs * rows_per)
            .enumerate()
            .for_each(|(ci, chunk)| {
                for (ri, row) in chunk.chunks_mut(rs).enumerate() {
                    let p = places[ci * rows_per + ri] % len;
                    let (cos, sin) = (&self.cos[p * half..][..half], &self.sin[p * half..][..half]);
                    for head in row[..2 * h].chunks_mut(d) {
                        let (x1, x2) = head.split_at_mut(half);
                        for (((a, b), &c), &s) in x1.iter_mut().zip(x2).zip(cos).zip(sin) {
                            let s = sign * s;
                            let (u, v) = (*a, *b);
                            *a = u * c - v * s;
                            *b = v * c + u * s;
                        }
                    }
                }
            });
    }
}

/// `x·Wᵀ` for row-major `x: [rows, in]` and `W: [out, in]`.
fn matmul_t(x: &[f32], w: &[f32], inp: usize) -> Vec<f32> {
    let out = w.len() / inp.max(1);
    let rows = x.len() / inp.max(1);
    sgemm_new(rows, out, inp, (x, inp, 1), (w, 1, inp))
}

/// Splits `buf` into consecutive mutable pieces of the given sizes.
fn pieces(mut buf: &mut [f32], sizes: impl Iterator<Item = usize>) -> Vec<&mut [f32]> {
    let mut out = vec![];
    for n in sizes {
        let (a, b) = std::mem::take(&mut buf).split_at_mut(n);
        out.push(a);
        buf = b;
    }
    out
}

impl ModernLayer {
    fn dims(&self, dims: &[usize]) -> candle_core::Result<usize> {
        let t = &self.tokens;
        match dims {
            &[b, len, h] if b == t.batch && len == t.len && self.rows <= len => Ok(h),
            _ => candle_core::bail!(
                "modernbert layer: input {dims:?} does not fit a batch of {}×{}",
                t.batch,
                t.len
            ),
        }
    }

    /// The packed rows of the queries among the `T` tokens, in order.
    fn query_rows(&self, nq: &[usize]) -> Vec<usize> {
        self.tokens
            .seqs
            .iter()
            .zip(nq)
            .flat_map(|((start, _), &n)| *start..start + n)
            .collect()
    }

    /// Each real token's place `bi·L + p`, the query tokens per sequence, and the query
    /// tokens' rows among the real ones.
    fn plan(&self) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
        let nq = self.tokens.queries(self.rows);
        let qrows = self.query_rows(&nq);
        (self.tokens.places().collect(), nq, qrows)
    }

    /// The weights in the order the forward and backward read them: attention norm (the
    /// QKV weight stands in when absent, unread), QKV, attention output, MLP norm, GeGLU in
    /// and out, final norm (likewise).
    fn weights(&self) -> [&Tensor; 7] {
        let w = &self.w;
        [
            w.attn_norm.as_ref().map_or(&w.wqkv.0, |n| &n.0),
            &w.wqkv.0,
            &w.wo.0,
            &w.mlp_norm.0,
            &w.wi.0,
            &w.wo2.0,
            w.final_norm.as_ref().map_or(&w.wqkv.0, |n| &n.0),
        ]
    }

    /// The rows `bi·rows + p` of the query tokens in the `[B, rows, H]` output, in order.
    fn out_rows(&self, nq: &[usize]) -> Vec<usize> {
        self.tokens
            .seqs
            .iter()
            .zip(nq)
            .enumerate()
            .flat_map(|(bi, ((_, pos), &n))| pos[..n].iter().map(move |p| bi * self.rows + p))
            .collect()
    }

    /// The attention dropout multipliers of one block of sequence `bi`'s head `hi`
    /// (`[q1 − q0, k1 − k0]`), read at their padded coordinates; `None` without dropout.
    fn block_keep(&self, (bi, hi): (usize, usize), blk: &Block, pos: &[usize]) -> Option<Vec<f32>> {
        let (heads, len) = (self.attn.heads, self.tokens.len);
        self.masks.probs.as_ref().map(|keep| {
            (blk.q0..blk.q1)
                .flat_map(|i| {
                    let kr = &keep[((bi * heads + hi) * len + pos[i]) * len..][..len];
                    pos[blk.k0..blk.k1].iter().map(move |&pj| kr[pj])
                })
                .collect()
        })
    }

    /// The attention of every sequence: the context `[Q, H]` and, when stored, each
    /// sequence's probabilities (per head, per block).
    fn attention(&self, qkv: &[f32], h: usize, nq: &[usize]) -> (Vec<f32>, Vec<Vec<f32>>) {
        let _p = span("attention", Phase::Forward);
        let heads = self.attn.heads;
        let d = h / heads;
        let rs = 3 * h;
        let scale = 1.0 / (d as f32).sqrt();
        let none = gemm::Parallelism::None;
        let qtotal: usize = nq.iter().sum();
        let mut ctx = vec![0f32; qtotal * h];
        let outs = pieces(&mut ctx, nq.iter().map(|n| n * h));
        let probs: Vec<Vec<f32>> = outs
            .into_par_iter()
            .zip(self.tokens.seqs.par_iter().zip(nq.par_iter()))
            .enumerate()
            .map(|(bi, (cs, ((start, pos), &n)))| {
                let blocks = self.attn.blocks(pos, n);
                let per_head: usize = blocks.iter().map(|b| (b.q1 - b.q0) * (b.k1 - b.k0)).sum();
                let mut kept = vec![0f32; if self.store { heads * per_head } else { 0 }];
                let mut scratch = vec![0f32; if self.store { 0 } else { per_head }];
                let mut tmp = vec![];
                let zeros = vec![0f32; pos.len()];
                let base = &qkv[start * rs..];
                for hi in 0..heads {
                    let c = hi * d;
                    let mut off = 0;
                    for blk in &blocks {
                        let (nqb, nkb) = (blk.q1 - blk.q0, blk.k1 - blk.k0);
                        let p = if self.store {
                            &mut kept[hi * per_head + off..][..nqb * nkb]
                        } else {
                            &mut scratch[off..][..nqb * nkb]
                        };
                        off += nqb * nkb;
                        gemm_into(
                            (nqb, nkb, d),
                            (p, nkb),
                            false,
                            (&base[blk.q0 * rs + c..], rs, 1),
                            (&base[blk.k0 * rs + h + c..], 1, rs),
                            none,
                        );
                        for (r, row) in p.chunks_mut(nkb).enumerate() {
                            let (lo, hi_) = self.attn.keys(pos, blk.q0 + r);
                            let (lo, hi_) = (lo - blk.k0, hi_ - blk.k0);
                            row[..lo].fill(0.0);
                            simd::softmax_row(&mut row[lo..hi_], &zeros[..hi_ - lo], scale);
                            row[hi_..].fill(0.0);
                        }
                        let pt: &[f32] = match self.block_keep((bi, hi), blk, pos) {
                            Some(k) => {
                                tmp.clear();
                                tmp.extend(p.iter().zip(&k).map(|(a, m)| a * m));
                                &tmp
                            }
                            None => p,
                        };
                        gemm_into(
                            (nqb, d, nkb),
                            (&mut cs[blk.q0 * h + c..], h),
                            false,
                            (pt, nkb, 1),
                            (&base[blk.k0 * rs + 2 * h + c..], rs, 1),
                            none,
                        );
                    }
                }
                kept
            })
            .collect();
        (ctx, probs)
    }

    /// The packed gradient `[T, 3·H]` of the rotated q, k and v for the context's gradient
    /// `g: [Q, H]`.
    fn attention_backward(
        &self,
        qkv: &[f32],
        probs: &[Vec<f32>],
        g: &[f32],
        h: usize,
        nq: &[usize],
    ) -> Vec<f32> {
        let _p = span("attention", Phase::Backward);
        let heads = self.attn.heads;
        let d = h / heads;
        let rs = 3 * h;
        let scale = 1.0 / (d as f32).sqrt();
        let none = gemm::Parallelism::None;
        let mut dqkv = vec![0f32; self.tokens.total * rs];
        let douts = pieces(
            &mut dqkv,
            self.tokens.seqs.iter().map(|(_, p)| p.len() * rs),
        );
        let mut goff = vec![0; nq.len()];
        for i in 1..nq.len() {
            goff[i] = goff[i - 1] + nq[i - 1] * h;
        }
        douts
            .into_par_iter()
            .zip(self.tokens.seqs.par_iter().zip(nq.par_iter()))
            .zip(probs.par_iter().zip(goff.par_iter()))
            .enumerate()
            .for_each(|(bi, ((ds, ((start, pos), &n)), (kept, &go)))| {
                let blocks = self.attn.blocks(pos, n);
                let per_head: usize = blocks.iter().map(|b| (b.q1 - b.q0) * (b.k1 - b.k0)).sum();
                let base = &qkv[start * rs..];
                let gs = &g[go..];
                let (mut dp, mut pt) = (vec![], vec![]);
                for hi in 0..heads {
                    let c = hi * d;
                    let mut off = 0;
                    for blk in &blocks {
                        let (nqb, nkb) = (blk.q1 - blk.q0, blk.k1 - blk.k0);
                        let p = &kept[hi * per_head + off..][..nqb * nkb];
                        off += nqb * nkb;
                        let keep = self.block_keep((bi, hi), blk, pos);
                        let pd: &[f32] = match &keep {
                            Some(k) => {
                                pt.clear();
                                pt.extend(p.iter().zip(k).map(|(a, m)| a * m));
                                &pt
                            }
                            None => p,
                        };
                        // ∂V += P̃ᵀ·G, ∂P̃ = G·Vᵀ.
                        gemm_into(
                            (nkb, d, nqb),
                            (&mut ds[blk.k0 * rs + 2 * h + c..], rs),
                            true,
                            (pd, 1, nkb),
                            (&gs[blk.q0 * h + c..], h, 1),
                            none,
                        );
                        dp.resize(nqb * nkb, 0.0);
                        gemm_into(
                            (nqb, nkb, d),
                            (&mut dp, nkb),
                            false,
                            (&gs[blk.q0 * h + c..], h, 1),
                            (&base[blk.k0 * rs + 2 * h + c..], 1, rs),
                            none,
                        );
                        if let Some(k) = &keep {
                            dp.iter_mut().zip(k).for_each(|(a, m)| *a *= m);
                        }
                        for (dr, pr) in dp.chunks_mut(nkb).zip(p.chunks(nkb)) {
                            simd::softmax_row_backward(dr, pr, scale);
                        }
                        // ∂Q = ∂S·K, ∂K += ∂Sᵀ·Q.
                        gemm_into(
                            (nqb, d, nkb),
                            (&mut ds[blk.q0 * rs + c..], rs),
                            false,
                            (&dp, nkb, 1),
                            (&base[blk.k0 * rs + h + c..], rs, 1),
                            none,
                        );
                        gemm_into(
                            (nkb, d, nqb),
                            (&mut ds[blk.k0 * rs + h + c..], rs),
                            true,
                            (&dp, 1, nkb),
                            (&base[blk.q0 * rs + c..], rs, 1),
                            none,
                        );
                    }
                }
            });
        dqkv
    }
}

/// The GeGLU of `wi: [Q, 2·F]` (rows `u | v`): `g = gelu(u) ⊙ v (⊙ mask)`, and with `keep`
/// what the backward reads, `gelu(u)`, the slope `gelu'(u)` and `v`; one pass over the rows,
/// in parallel. The values are those of [`crate::fused::gelu_with_slopes`] and [`mul_into`] in that order,
/// bit for bit.
#[allow(clippy::type_complexity)]
fn geglu(
    wi: &[f32],
    f: usize,
    mask: Option<&[f32]>,
    keep: bool,
) -> (Vec<f32>, Option<(Vec<f32>, Vec<f32>, Vec<f32>)>) {
    let q = wi.len() / (2 * f).max(1);
    let mut g = vec![0f32; q * f];
    let rows = (PAR_MIN / (2 * f).max(1)).max(1);
    let chunk = rows * f;
    if !keep {
        g.par_chunks_mut(chunk)
            .zip(wi.par_chunks(2 * chunk))
            .enumerate()
            .for_each(|(ci, (gc, wc))| {
                for (r, (gr, wr)) in gc.chunks_mut(f).zip(wc.chunks(2 * f)).enumerate() {
                    let (u, v) = wr.split_at(f);
                    simd::gelu_forward(gr, u);
                    gr.iter_mut().zip(v).for_each(|(a, b)| *a *= b);
                    if let Some(m) = mask {
                        let mr = &m[(ci * rows + r) * f..][..f];
                        gr.iter_mut().zip(mr).for_each(|(a, b)| *a *= b);
                    }
                }
            });
        return (g, None);
    }
    let (mut gelu, mut slope, mut gate) = (vec![0f32; q * f], vec![0f32; q * f], vec![0f32; q * f]);
    g.par_chunks_mut(chunk)
        .zip(gelu.par_chunks_mut(chunk))
        .zip(slope.par_chunks_mut(chunk).zip(gate.par_chunks_mut(chunk)))
        .zip(wi.par_chunks(2 * chunk))
        .enumerate()
        .for_each(|(ci, (((gc, ec), (sc, tc)), wc))| {
            let parts = gc
                .chunks_mut(f)
                .zip(ec.chunks_mut(f))
                .zip(sc.chunks_mut(f).zip(tc.chunks_mut(f)))
                .zip(wc.chunks(2 * f));
            for (r, (((gr, er), (sr, tr)), wr)) in parts.enumerate() {
                let (u, v) = wr.split_at(f);
                sr.copy_from_slice(u);
                simd::gelu_forward_slope(er, sr);
                tr.copy_from_slice(v);
                gr.iter_mut()
                    .zip(er.iter().zip(v))
                    .for_each(|(a, (e, b))| *a = e * b);
                if let Some(m) = mask {
                    let mr = &m[(ci * rows + r) * f..][..f];
                    gr.iter_mut().zip(mr).for_each(|(a, b)| *a *= b);
                }
            }
        });
    (g, Some((gelu, slope, gate)))
}

/// LayerNorm rows without a bias.
fn norm(x: &[f32], g: &[f32], eps: f32) -> Vec<f32> {
    let _p = span("layer-norm", Phase::Forward);
    layer_norm_rows(x, g, &vec![0f32; g.len()], eps)
}

impl CustomOp1 for ModernLayer {
    fn name(&self) -> &'static str {
        "textclf-modernbert-layer"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l)?;
        let h = self.dims(l.dims())?;
        let (b, len, rows) = (self.tokens.batch, self.tokens.len, self.rows);
        let w = &self.w;
        let (places, nq, qrows) = self.plan();
        let (saved, y) = with_slices(self.weights(), |[gan, wqkv, wo, gm, wi, wo2, gf]| {
            let f = wo2.len() / h.max(1);
            let t = self.tokens.total;
            let heads = self.attn.heads;
            let fits = h > 0
                && f > 0
                && wo2.len() == h * f
                && self
                    .masks
                    .probs
                    .as_ref()
                    .is_none_or(|m| m.len() == b * heads * len * len)
                && self
                    .masks
                    .attn_out
                    .as_ref()
                    .is_none_or(|m| m.len() == t * h)
                && self.masks.mlp.as_ref().is_none_or(|m| m.len() == t * f)
                && wqkv.len() == 3 * h * h
                && wo.len() == h * h
                && gm.len() == h
                && wi.len() == 2 * f * h
                && (w.attn_norm.is_none() || gan.len() == h)
                && (w.final_norm.is_none() || gf.len() == h)
                && self.attn.heads > 0
                && h.is_multiple_of(self.attn.heads)
                && (h / self.attn.heads).is_multiple_of(2)
                && self.attn.cos.len() >= len * h / self.attn.heads / 2;
            if !fits {
                candle_core::bail!("modernbert layer: weights do not fit a hidden size of {h}");
            }
            let xp = gather_rows(x, &places, h);
            let hn = w.attn_norm.as_ref().map(|_| norm(&xp, gan, w.eps));
            let mut qkv = {
                let _p = span("linear", Phase::Forward);
                matmul_t(hn.as_deref().unwrap_or(&xp), wqkv, h)
            };
            {
                let _p = span("rotary", Phase::Forward);
                self.attn.rotate(&mut qkv, h, &places, len, false);
            }
            let (ctx, probs) = self.attention(&qkv, h, &nq);
            // The residual stream of the query rows.
            let mut x2 = {
                let _p = span("linear", Phase::Forward);
                matmul_t(&ctx, wo, h)
            };
            if let Some(m) = &self.masks.attn_out {
                mul_into(&mut x2, &gather_rows(m, &qrows, h));
            }
            let xq = if qrows.len() == places.len() {
                None
            } else {
                Some(gather_rows(&xp, &qrows, h))
            };
            add_into(&mut x2, xq.as_deref().unwrap_or(&xp));
            let hm = norm(&x2, gm, w.eps);
            let wiv = {
                let _p = span("linear", Phase::Forward);
                matmul_t(&hm, wi, h)
            };
            let mask = self.masks.mlp.as_ref().map(|m| gather_rows(m, &qrows, f));
            let (g, kept) = {
                let _p = span("gelu", Phase::Forward);
                geglu(&wiv, f, mask.as_deref(), self.store)
            };
            drop(wiv);
            let mut y = {
                let _p = span("linear", Phase::Forward);
                matmul_t(&g, wo2, f)
            };
            add_into(&mut y, &x2);
            let (y, y_pre) = match &w.final_norm {
                Some(_) => (norm(&y, gf, w.eps), Some(y)),
                None => (y, None),
            };
            // Back to `[B, rows, H]`, zeros at padding.
            let out = scatter_rows(&y, &self.out_rows(&nq), h, b * rows);
            drop(hn);
            drop(g);
            // The attention norm's output and the GeGLU product are recomputed by the
            // backward (one norm and one product per layer) rather than kept.
            let (gelu, slope, gate) = kept.unwrap_or_default();
            let saved = self.store.then_some(Saved {
                xp,
                qkv,
                probs,
                ctx,
                x2,
                hm,
                gelu,
                slope,
                gate,
                y_pre,
            });
            Ok((saved, out))
        })?;
        if let Some(sv) = saved {
            *self.saved.lock().map_err(|_| poisoned())? = Some(sv);
        }
        Ok((CpuStorage::F32(y), Shape::from((b, rows, h))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let sv = take_saved(&self.saved, "modernbert layer")?;
        let h = self.dims(arg.dims())?;
        let len = self.tokens.len;
        let w = &self.w;
        let (places, nq, qrows) = self.plan();
        let q = qrows.len();
        let [a, b, c, d, e, f, g] = self.weights();
        let t = [grad, a, b, c, d, e, f, g];
        let mut grads: Vec<(&str, Vec<f32>)> = Vec::with_capacity(7);
        let dx = with_slices(t, |[dy, gan, wqkv, wo, gm, wi, wo2, gf]| {
            let f = wo2.len() / h.max(1);
            // The output's gradient on the query rows.
            let mut dyq = gather_rows(dy, &self.out_rows(&nq), h);
            if let (Some((_, name)), Some(y_pre)) = (&w.final_norm, &sv.y_pre) {
                let _p = span("layer-norm", Phase::Backward);
                let (d, dg, _) = layer_norm_backward(y_pre, gf, &dyq, w.eps);
                grads.push((name.as_str(), dg));
                dyq = d;
            }
            // The feed-forward: y = x2 + g·Wo2ᵀ.
            let dwi = {
                let _p = span("linear", Phase::Backward);
                let mut dg = sgemm_new(q, f, h, (&dyq, h, 1), (wo2, f, 1));
                // The GeGLU product as the forward computed it.
                let mut g = sv.gelu.clone();
                mul_into(&mut g, &sv.gate);
                if let Some(m) = &self.masks.mlp {
                    mul_into(&mut g, &gather_rows(m, &qrows, f));
                }
                grads.push((
                    w.wo2.1.as_str(),
                    sgemm_new(h, f, q, (&dyq, 1, h), (&g, f, 1)),
                ));
                let _p = span("gelu", Phase::Backward);
                if let Some(m) = &self.masks.mlp {
                    mul_into(&mut dg, &gather_rows(m, &qrows, f));
                }
                let mut dwi = vec![0f32; q * 2 * f];
                dwi.par_chunks_mut(2 * f)
                    .zip(dg.par_chunks(f))
                    .enumerate()
                    .for_each(|(r, (out, dgr))| {
                        let (du, dv) = out.split_at_mut(f);
                        let (gl, sl, gt) = (
                            &sv.gelu[r * f..][..f],
                            &sv.slope[r * f..][..f],
                            &sv.gate[r * f..][..f],
                        );
                        for j in 0..f {
                            du[j] = dgr[j] * gt[j] * sl[j];
                            dv[j] = dgr[j] * gl[j];
                        }
                    });
                dwi
            };
            let dhm = {
                let _p = span("linear", Phase::Backward);
                grads.push((
                    w.wi.1.as_str(),
                    sgemm_new(2 * f, h, q, (&dwi, 1, 2 * f), (&sv.hm, h, 1)),
                ));
                sgemm_new(q, h, 2 * f, (&dwi, 2 * f, 1), (wi, h, 1))
            };
            drop(dwi);
            // x2's gradient: the residual's plus the norm's.
            let mut dx2 = dyq;
            {
                let _p = span("layer-norm", Phase::Backward);
                let (d, dg, _) = layer_norm_backward(&sv.x2, gm, &dhm, w.eps);
                grads.push((w.mlp_norm.1.as_str(), dg));
                add_into(&mut dx2, &d);
            }
            // The attention output projection (through its dropout).
            let dctx = {
                let _p = span("linear", Phase::Backward);
                let da_own = self.masks.attn_out.as_ref().map(|m| {
                    let mut d = dx2.clone();
                    mul_into(&mut d, &gather_rows(m, &qrows, h));
                    d
                });
                let da = da_own.as_deref().unwrap_or(&dx2);
                grads.push((
                    w.wo.1.as_str(),
                    sgemm_new(h, h, q, (da, 1, h), (&sv.ctx, h, 1)),
                ));
                sgemm_new(q, h, h, (da, h, 1), (wo, h, 1))
            };
            let mut dqkv = self.attention_backward(&sv.qkv, &sv.probs, &dctx, h, &nq);
            drop(dctx);
            {
                let _p = span("rotary", Phase::Backward);
                self.attn.rotate(&mut dqkv, h, &places, len, true);
            }
            let tt = places.len();
            let hn_own = w.attn_norm.as_ref().map(|_| norm(&sv.xp, gan, w.eps));
            let hn = hn_own.as_deref().unwrap_or(&sv.xp);
            let mut dxp = {
                let _p = span("linear", Phase::Backward);
                grads.push((
                    w.wqkv.1.as_str(),
                    sgemm_new(3 * h, h, tt, (&dqkv, 1, 3 * h), (hn, h, 1)),
                ));
                sgemm_new(tt, h, 3 * h, (&dqkv, 3 * h, 1), (wqkv, h, 1))
            };
            drop(dqkv);
            if let Some((_, name)) = &w.attn_norm {
                let _p = span("layer-norm", Phase::Backward);
                let (d, dg, _) = layer_norm_backward(&sv.xp, gan, &dxp, w.eps);
                grads.push((name.as_str(), dg));
                dxp = d;
            }
            // The residual reaches the query rows.
            for (k, &r) in qrows.iter().enumerate() {
                dxp[r * h..][..h]
                    .iter_mut()
                    .zip(&dx2[k * h..][..h])
                    .for_each(|(a, v)| *a += v);
            }
            Ok(scatter_rows(&dxp, &places, h, self.tokens.batch * len))
        })?;
        for (name, g) in grads {
            self.sink.add(format!("{name}.weight"), g)?;
        }
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
