//! DeBERTa's disentangled attention terms (He et al. 2021) for the fused attention kernel
//! ([`crate::fused::ScoreTerms`]), so that a DeBERTa layer trains as one node
//! ([`crate::layer::EncoderLayer`]) like BERT's.
//!
//! For head `h`, query `i` and key `j`, with `δ = δ(i, j)` the bucketed relative position:
//!
//! ```text
//! T      = LN_rel(E[lo..lo+r])             the relative embeddings the batch uses
//! Kr, Qr = T·Wkᵀ + bk,  T·Wqᵀ + bq         the layer's own key and query projections
//! S[i,j] += (Q·Krᵀ)[i, δ]                  content to position (c2p)
//!         + (K·Qrᵀ)[j, δ]                  position to content (p2c)
//! ```
//!
//! Only the rows `lo..lo+r` of the table that some `δ(i, j)` of the batch reaches are
//! projected (at 128 tokens about half of DeBERTa-v3's 512). Backward, with `∂S` the
//! raw scores' gradient: `∂C[i, δ] = Σⱼ ∂S[i,j]` and `∂P[j, δ] = Σᵢ ∂S[i,j]` over the pairs
//! at `δ`; `∂Q += ∂C·Kr`, `∂K += ∂P·Qr`, `∂Kr += ∂Cᵀ·Q`, `∂Qr += ∂Pᵀ·K` (summed over the
//! batch), then through the projections (`∂Wk += ∂Krᵀ·T`, `∂bk += Σ ∂Kr`, `∂T = ∂Kr·Wk +
//! ∂Qr·Wq`, likewise for q) and the norm to the table.

use crate::fused::{
    column_sums, gemm_into, layer_norm_backward, layer_norm_rows, linear_forward, sgemm, sgemm_new,
    HeadRows, ScoreTerms,
};

/// What [`RelativeTerms::new`] reads.
pub(crate) struct RelativeInputs<'a> {
    /// The relative embeddings `[rows, H]`.
    pub table: &'a [f32],
    /// The norm applied to them (`norm_rel_ebd`): weight, bias and eps.
    pub norm: Option<(&'a [f32], &'a [f32], f32)>,
    /// The layer's stacked query, key and value weights `[3·H, H]` and biases.
    pub wqkv: &'a [f32],
    pub bqkv: &'a [f32],
    pub hidden: usize,
    pub heads: usize,
    /// `δ(i, j)` for the query rows `i < queries` and every key `j < len`.
    pub index: Vec<u32>,
    pub queries: usize,
    pub len: usize,
    pub c2p: bool,
    pub p2c: bool,
}

/// The gradients of the terms' inputs.
pub(crate) struct RelativeGrads {
    /// Added to the query and key projections' weight and bias gradients.
    pub wq: Vec<f32>,
    pub bq: Vec<f32>,
    pub wk: Vec<f32>,
    pub bk: Vec<f32>,
    /// The whole table's gradient (zero outside the rows used).
    pub table: Vec<f32>,
    /// The norm's weight and bias gradients.
    pub norm: Option<(Vec<f32>, Vec<f32>)>,
}

/// One layer's relative terms for one batch shape (see the module doc).
pub(crate) struct RelativeTerms {
    hidden: usize,
    len: usize,
    queries: usize,
    table_rows: usize,
    /// `δ(i, j) − lo`, `[queries, len]`.
    idx: Vec<u32>,
    lo: usize,
    r: usize,
    /// The table rows used, as read and after the norm (with its weight and eps).
    raw: Vec<f32>,
    tn: Vec<f32>,
    norm: Option<(Vec<f32>, f32)>,
    /// `Kr`, `Qr`: `[r, H]` each, empty when the term is off.
    kr: Vec<f32>,
    qr: Vec<f32>,
}

impl RelativeTerms {
    pub(crate) fn new(inp: RelativeInputs) -> Result<Self, String> {
        let h = inp.hidden;
        let fits = h > 0
            && inp.heads > 0
            && h.is_multiple_of(inp.heads)
            && inp.table.len().is_multiple_of(h)
            && inp.wqkv.len() == 3 * h * h
            && inp.bqkv.len() == 3 * h
            && inp.index.len() == inp.queries * inp.len
            && inp
                .norm
                .is_none_or(|(g, b, _)| g.len() == h && b.len() == h);
        if !fits {
            return Err(format!(
                "relative attention: inputs do not fit a hidden size of {h} and {} heads",
                inp.heads
            ));
        }
        let table_rows = inp.table.len() / h;
        let lo = inp.index.iter().copied().min().unwrap_or(0) as usize;
        let hi = inp.index.iter().copied().max().unwrap_or(0) as usize;
        if hi >= table_rows && !inp.index.is_empty() {
            return Err(format!(
                "relative attention: position index {hi} past the table's {table_rows} rows"
            ));
        }
        let r = if inp.index.is_empty() { 0 } else { hi - lo + 1 };
        let raw = inp.table[lo * h..(lo + r) * h].to_vec();
        let tn = match inp.norm {
            Some((g, b, eps)) => layer_norm_rows(&raw, g, b, eps),
            None => raw.clone(),
        };
        let proj = |part: usize, on: bool| {
            if on {
                linear_forward(
                    &tn,
                    &inp.wqkv[part * h * h..][..h * h],
                    &inp.bqkv[part * h..][..h],
                )
            } else {
                vec![]
            }
        };
        Ok(RelativeTerms {
            hidden: h,
            len: inp.len,
            queries: inp.queries,
            table_rows,
            idx: inp.index.iter().map(|&v| v - lo as u32).collect(),
            lo,
            r,
            kr: proj(1, inp.c2p),
            qr: proj(0, inp.p2c),
            raw,
            tn,
            norm: inp.norm.map(|(g, _, eps)| (g.to_vec(), eps)),
        })
    }

    /// `(H, r, len, queries)`, or `None` when the batch gives the terms nothing to do.
    fn sizes(&self) -> Option<(usize, usize, usize, usize)> {
        let s = (self.hidden, self.r, self.len, self.queries);
        (s.1 > 0 && s.2 > 0 && s.3 > 0).then_some(s)
    }

    /// The gradients of the table, its norm and the q/k projections from the summed
    /// accumulator `acc = [∂Kr | ∂Qr]` of the attention's backward; `wqkv` as in
    /// [`RelativeInputs`].
    pub(crate) fn grads(&self, acc: &[f32], wqkv: &[f32]) -> RelativeGrads {
        let (h, r) = (self.hidden, self.r);
        let (dkr, dqr) = acc.split_at(r * h);
        let mut dtn = vec![0f32; r * h];
        let mut part = |d: &[f32], w: &[f32], on: bool| -> (Vec<f32>, Vec<f32>) {
            if !on || r == 0 {
                return (vec![0f32; h * h], vec![0f32; h]);
            }
            sgemm(r, h, h, &mut dtn, true, (d, h, 1), (w, h, 1));
            (
                sgemm_new(h, h, r, (d, 1, h), (&self.tn, h, 1)),
                column_sums(d, h),
            )
        };
        let (wk, bk) = part(dkr, &wqkv[h * h..][..h * h], !self.kr.is_empty());
        let (wq, bq) = part(dqr, &wqkv[..h * h], !self.qr.is_empty());
        let (draw, norm) = match &self.norm {
            Some((g, eps)) => {
                let (dx, dg, db) = layer_norm_backward(&self.raw, g, &dtn, *eps);
                (dx, Some((dg, db)))
            }
            None => (dtn, None),
        };
        let mut table = vec![0f32; self.table_rows * h];
        table[self.lo * h..][..r * h].copy_from_slice(&draw);
        RelativeGrads {
            wq,
            bq,
            wk,
            bk,
            table,
            norm,
        }
    }
}

/// One head's `x·Tᵀ`, `[rows, r]`: `x` the head's `rows` rows (`rs` apart, `d` wide), `t`
/// its columns of a `[r, h]` table (`t[i·h + l]`).
fn against(
    (x, rows, rs): (&[f32], usize, usize),
    t: &[f32],
    (r, h, d): (usize, usize, usize),
) -> Vec<f32> {
    let mut m = vec![0f32; rows * r];
    gemm_into(
        (rows, r, d),
        (&mut m, r),
        false,
        (x, rs, 1),
        (t, 1, h),
        gemm::Parallelism::None,
    );
    m
}

/// The backward of [`against`] for its output's gradient `dm: [rows, r]`: `dm·T` is added
/// to `dx` (rows `drs` apart) and `dmᵀ·x` to `dt` (the table's gradient, rows `h` apart).
fn against_backward(
    dm: &[f32],
    (x, rows, rs): (&[f32], usize, usize),
    t: &[f32],
    (r, h, d): (usize, usize, usize),
    (dx, drs): (&mut [f32], usize),
    dt: &mut [f32],
) {
    let none = gemm::Parallelism::None;
    gemm_into((rows, d, r), (dx, drs), true, (dm, r, 1), (t, h, 1), none);
    gemm_into((r, d, rows), (dt, h), true, (dm, 1, r), (x, rs, 1), none);
}

impl ScoreTerms for RelativeTerms {
    fn add(&self, hi: usize, s: &mut [f32], HeadRows { q, k, rs, d }: HeadRows) {
        let Some((h, r, len, nq)) = self.sizes() else {
            return;
        };
        let c = hi * d;
        if !self.kr.is_empty() {
            // C = Q·Krᵀ, [nq, r]; S[i, j] += C[i, δ(i, j)].
            let cm = against((q, nq, rs), &self.kr[c..], (r, h, d));
            for ((sr, ir), cr) in s
                .chunks_mut(len)
                .zip(self.idx.chunks(len))
                .zip(cm.chunks(r))
            {
                sr.iter_mut()
                    .zip(ir)
                    .for_each(|(v, &t)| *v += cr[t as usize]);
            }
        }
        if !self.qr.is_empty() {
            // P = K·Qrᵀ, [len, r]; S[i, j] += P[j, δ(i, j)].
            let pm = against((k, len, rs), &self.qr[c..], (r, h, d));
            for (sr, ir) in s.chunks_mut(len).zip(self.idx.chunks(len)) {
                for (j, (v, &t)) in sr.iter_mut().zip(ir).enumerate() {
                    *v += pm[j * r + t as usize];
                }
            }
        }
    }

    fn acc_len(&self) -> usize {
        2 * self.r * self.hidden
    }

    fn backward(
        &self,
        (hi, ds): (usize, &[f32]),
        HeadRows { q, k, rs, d }: HeadRows,
        db: &mut [f32],
        (dq, dk, drs): (usize, usize, usize),
        acc: &mut [f32],
    ) {
        let Some((h, r, len, nq)) = self.sizes() else {
            return;
        };
        let c = hi * d;
        if !self.kr.is_empty() {
            let mut dc = vec![0f32; nq * r];
            for ((dr, ir), sr) in dc
                .chunks_mut(r)
                .zip(self.idx.chunks(len))
                .zip(ds.chunks(len))
            {
                ir.iter().zip(sr).for_each(|(&t, &v)| dr[t as usize] += v);
            }
            against_backward(
                &dc,
                (q, nq, rs),
                &self.kr[c..],
                (r, h, d),
                (&mut db[dq..], drs),
                &mut acc[c..],
            );
        }
        if !self.qr.is_empty() {
            let mut dp = vec![0f32; len * r];
            for (ir, sr) in self.idx.chunks(len).zip(ds.chunks(len)) {
                for (j, (&t, &v)) in ir.iter().zip(sr).enumerate() {
                    dp[j * r + t as usize] += v;
                }
            }
            against_backward(
                &dp,
                (k, len, rs),
                &self.qr[c..],
                (r, h, d),
                (&mut db[dk..], drs),
                &mut acc[r * h + c..],
            );
        }
    }
}
