//! Dynamic int8 quantization of linear layers for inference (`predict --int8`).
//!
//! * Weights: symmetric int8 per output channel, `W[o,k] ≈ s_o·Wq[o,k]` with
//!   `Wq ∈ [−127, 127]`, quantized once when the model is loaded (a quarter of f32's bytes
//!   in memory, stored widened to i16 for the kernel).
//! * Activations: symmetric 12-bit per row (per token), `x[k] ≈ s_x·q[k]` with
//!   `q ∈ [−2047, 2047]`, computed for every batch. Eight-bit activations (PyTorch's
//!   `quantize_dynamic` uses 7 with one scale per tensor) blur the outlier dimensions of
//!   sentence-embedding checkpoints such as all-MiniLM-L6-v2 badly (≈ 10 % RMS error on the
//!   last hidden state); 12 bits cost nothing extra here (below).
//! * `y[o] = s_x·s_o·Σ_k q[k]·Wq[o,k] + b[o]`, the sum exact in i32 (|pair| ≤ 2·2047·127,
//!   so K up to 8,000 cannot overflow).
//!
//! The kernel is AVX2's `vpmaddwd` (16 i16 products summed in pairs into 8 i32 lanes). On
//! this machine's AMD cores the u8×i8 `vpmaddubsw` route needs a second `vpmaddwd` to widen
//! its sums, so it multiplies no more per instruction; the i16 route is as fast and takes
//! 12-bit activations. A 4-row × 16-column tile broadcasts a pair of a row's activations
//! and multiplies it with 16 columns' weight pairs, packed side by side once. On CPUs with
//! AVX-512 VNNI the same tile is one `vpdpwssd` per row and pair of `k` (the 16 columns'
//! pair products summed and accumulated in one instruction, one 512-bit register), a
//! quarter of the AVX2 kernel's instructions. Integer sums are exact, so the three kernels
//! (VNNI, AVX2, portable) give bit-identical results.

use rayon::prelude::*;

use crate::simd::lanes_fold;

/// Columns per packed panel (two AVX2 registers of 8 i32 sums).
const NR: usize = 16;
/// Rows per micro-tile.
const MR: usize = 4;
/// Rows quantized and multiplied together by one task.
const ROWS_PER_TASK: usize = 32;
/// Largest activation code.
const QMAX: f32 = 2047.0;

/// A linear layer `y = x·Wᵀ + b` with int8 weights.
pub struct QuantLinear {
    out: usize,
    inp: usize,
    /// `inp` rounded up to even.
    kp: usize,
    /// Panels of 16 columns: for each pair of `k`, 16 columns × 2 values.
    packed: Vec<i16>,
    scale: Vec<f32>,
    bias: Vec<f32>,
}

impl QuantLinear {
    /// Quantizes a PyTorch-layout weight `[out, inp]` (row-major) and its bias.
    pub fn new(w: &[f32], b: &[f32], out: usize, inp: usize) -> Self {
        assert_eq!(w.len(), out * inp, "weight shape");
        assert_eq!(b.len(), out, "bias shape");
        let kp = inp.div_ceil(2) * 2;
        let panels = out.div_ceil(NR);
        let mut packed = vec![0i16; panels * NR * kp];
        let mut scale = vec![0f32; out];
        for o in 0..out {
            let row = &w[o * inp..][..inp];
            let amax = row.iter().fold(0f32, |a, &x| a.max(x.abs()));
            let s = if amax > 0.0 { amax / 127.0 } else { 1.0 };
            scale[o] = s;
            let (p, c) = (o / NR, o % NR);
            for (k, &x) in row.iter().enumerate() {
                packed[p * NR * kp + (k / 2) * NR * 2 + c * 2 + k % 2] =
                    (x / s).round().clamp(-127.0, 127.0) as i16;
            }
        }
        Self {
            out,
            inp,
            kp,
            packed,
            scale,
            bias: b.to_vec(),
        }
    }

    pub fn out_features(&self) -> usize {
        self.out
    }

    pub fn in_features(&self) -> usize {
        self.inp
    }

    /// `y = x·Wᵀ + b` for `rows` rows of `x` (row-major `[rows, inp]`).
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.inp, "input shape");
        let mut y = vec![0f32; rows * self.out];
        y.par_chunks_mut(ROWS_PER_TASK * self.out)
            .zip(x.par_chunks(ROWS_PER_TASK * self.inp))
            .for_each(|(yc, xc)| self.task(xc, yc));
        y
    }

    /// Quantizes a block of rows, then multiplies it with every panel.
    fn task(&self, x: &[f32], y: &mut [f32]) {
        let rows = x.len() / self.inp.max(1);
        let padded = rows.div_ceil(MR) * MR;
        let mut q = vec![0i16; padded * self.kp];
        let mut sx = vec![0f32; padded];
        for r in 0..rows {
            sx[r] = quantize_row(
                &x[r * self.inp..][..self.inp],
                &mut q[r * self.kp..][..self.kp],
            );
        }
        let mut acc = [0i32; MR * NR];
        for p in 0..self.out.div_ceil(NR) {
            let panel = &self.packed[p * NR * self.kp..][..NR * self.kp];
            let cols = NR.min(self.out - p * NR);
            let o = p * NR;
            for r0 in (0..padded).step_by(MR) {
                tile(&q[r0 * self.kp..][..MR * self.kp], self.kp, panel, &mut acc);
                for i in 0..MR.min(rows - r0) {
                    let r = r0 + i;
                    dequantize(
                        &mut y[r * self.out + o..][..cols],
                        &acc[i * NR..][..cols],
                        sx[r],
                        &self.scale[o..][..cols],
                        &self.bias[o..][..cols],
                    );
                }
            }
        }
    }
}

/// Symmetric 12-bit quantization of one row into `q` (its tail past the row stays 0);
/// returns the scale.
fn quantize_row(x: &[f32], q: &mut [i16]) -> f32 {
    let amax = lanes_fold(x, 0.0, |a, v| if v.abs() > a { v.abs() } else { a });
    let s = if amax > 0.0 { amax / QMAX } else { 1.0 };
    quantize_values(&mut q[..x.len()], x, 1.0 / s);
    s
}

crate::dispatch! {
    /// `q = round(x·inv)` clamped to ±2047, rounded (half to even) by adding 1.5·2²³,
    /// after which the integer sits in the low 16 bits: no float-to-int conversion in the
    /// loop, so it vectorises.
    fn quantize_values(q: &mut [i16], x: &[f32], inv: f32) {
        const MAGIC: f32 = 12_582_912.0;
        for (o, &v) in q.iter_mut().zip(x) {
            let t = (v * inv).clamp(-QMAX, QMAX) + MAGIC;
            *o = t.to_bits() as u16 as i16;
        }
    }
}

crate::dispatch! {
    /// `y[j] = sx·scale[j]·acc[j] + bias[j]`: a tile row back to f32.
    fn dequantize(y: &mut [f32], acc: &[i32], sx: f32, scale: &[f32], bias: &[f32]) {
        for (((o, &a), &s), &b) in y.iter_mut().zip(acc).zip(scale).zip(bias) {
            *o = sx * s * a as f32 + b;
        }
    }
}

/// `acc[i][j] = Σ_k a[i][k]·panel[k][j]` for a 4-row block `a` (rows `kp` apart) and one
/// packed 16-column panel.
fn tile(a: &[i16], kp: usize, panel: &[i16], acc: &mut [i32; MR * NR]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            // SAFETY: AVX-512F and VNNI are present; the kernel checks the slice lengths.
            unsafe { vnni::tile(a, kp, panel, acc) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present; the kernel checks the slice lengths it reads.
            unsafe { avx2::tile(a, kp, panel, acc) };
            return;
        }
    }
    tile_portable(a, kp, panel, acc)
}

fn tile_portable(a: &[i16], kp: usize, panel: &[i16], acc: &mut [i32; MR * NR]) {
    acc.fill(0);
    for g in 0..kp / 2 {
        let pg = &panel[g * NR * 2..][..NR * 2];
        for i in 0..MR {
            let (a0, a1) = (a[i * kp + 2 * g] as i32, a[i * kp + 2 * g + 1] as i32);
            for j in 0..NR {
                acc[i * NR + j] += a0 * pg[2 * j] as i32 + a1 * pg[2 * j + 1] as i32;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{MR, NR};

    #[target_feature(enable = "avx2")]
    pub unsafe fn tile(a: &[i16], kp: usize, panel: &[i16], acc: &mut [i32; MR * NR]) {
        assert!(kp.is_multiple_of(2) && a.len() >= MR * kp && panel.len() >= NR * kp);
        let mut c = [[_mm256_setzero_si256(); 2]; MR];
        let pp = panel.as_ptr();
        let ap = a.as_ptr();
        for g in 0..kp / 2 {
            let b0 = _mm256_loadu_si256(pp.add(g * 32) as *const __m256i);
            let b1 = _mm256_loadu_si256(pp.add(g * 32 + 16) as *const __m256i);
            for (i, ci) in c.iter_mut().enumerate() {
                let pair = (ap.add(i * kp + g * 2) as *const i32).read_unaligned();
                let av = _mm256_set1_epi32(pair);
                ci[0] = _mm256_add_epi32(ci[0], _mm256_madd_epi16(av, b0));
                ci[1] = _mm256_add_epi32(ci[1], _mm256_madd_epi16(av, b1));
            }
        }
        for (i, ci) in c.iter().enumerate() {
            _mm256_storeu_si256(acc.as_mut_ptr().add(i * NR) as *mut __m256i, ci[0]);
            _mm256_storeu_si256(acc.as_mut_ptr().add(i * NR + 8) as *mut __m256i, ci[1]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    use super::{MR, NR};

    /// The AVX2 kernel's tile with `vpdpwssd`: the 16 columns of a pair of `k` fill one
    /// register (`NR` = 16 i32 lanes).
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub unsafe fn tile(a: &[i16], kp: usize, panel: &[i16], acc: &mut [i32; MR * NR]) {
        assert!(kp.is_multiple_of(2) && a.len() >= MR * kp && panel.len() >= NR * kp);
        // Two sets of accumulators, for even and odd pairs of `k`: eight independent
        // chains keep the multiply-add unit busy through its latency. Integer sums, so
        // the split does not change the result.
        let mut even = [_mm512_setzero_si512(); MR];
        let mut odd = [_mm512_setzero_si512(); MR];
        let pp = panel.as_ptr();
        let ap = a.as_ptr();
        let groups = kp / 2;
        let mut g = 0;
        while g + 1 < groups {
            let b0 = _mm512_loadu_si512(pp.add(g * 32) as *const _);
            let b1 = _mm512_loadu_si512(pp.add(g * 32 + 32) as *const _);
            for (i, (e, o)) in even.iter_mut().zip(odd.iter_mut()).enumerate() {
                let row = ap.add(i * kp + g * 2) as *const i32;
                *e = _mm512_dpwssd_epi32(*e, _mm512_set1_epi32(row.read_unaligned()), b0);
                *o = _mm512_dpwssd_epi32(*o, _mm512_set1_epi32(row.add(1).read_unaligned()), b1);
            }
            g += 2;
        }
        if g < groups {
            let b0 = _mm512_loadu_si512(pp.add(g * 32) as *const _);
            for (i, e) in even.iter_mut().enumerate() {
                let p0 = (ap.add(i * kp + g * 2) as *const i32).read_unaligned();
                *e = _mm512_dpwssd_epi32(*e, _mm512_set1_epi32(p0), b0);
            }
        }
        for (i, (e, o)) in even.iter().zip(&odd).enumerate() {
            let sum = _mm512_add_epi32(*e, *o);
            _mm512_storeu_si512(acc.as_mut_ptr().add(i * NR) as *mut _, sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(n: usize, seed: u64, amp: f32) -> Vec<f32> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-amp..amp)).collect()
    }

    #[test]
    fn int8_linear_is_close_to_f32_for_odd_shapes() {
        // Shapes off the tile sizes: 7 rows (tile of 4), 37 outputs (panels of 16), 30
        // inputs (groups of 4), and rows beyond one task.
        for &(rows, out, inp) in &[(7usize, 37usize, 30usize), (70, 16, 64), (1, 5, 3)] {
            let x = random(rows * inp, 1, 2.0);
            let w = random(out * inp, 2, 0.1);
            let b = random(out, 3, 0.5);
            let q = QuantLinear::new(&w, &b, out, inp);
            let y = q.forward(&x, rows);
            let mut worst = 0f32;
            let mut norm = 0f32;
            for r in 0..rows {
                for o in 0..out {
                    let want: f32 = b[o]
                        + (0..inp)
                            .map(|k| x[r * inp + k] * w[o * inp + k])
                            .sum::<f32>();
                    worst = worst.max((y[r * out + o] - want).abs());
                    norm = norm.max(want.abs());
                }
            }
            // 12-bit activations and 8-bit weights: errors well under 1 % of the outputs.
            assert!(
                worst < 0.01 * norm.max(0.1),
                "{rows}x{out}x{inp}: {worst} vs {norm}"
            );
        }
    }

    #[test]
    fn the_avx2_and_portable_kernels_agree_exactly() {
        // An even and an odd number of k pairs (the VNNI kernel takes them two at a time).
        for kp in [24, 26] {
            kernels_agree(kp);
        }
    }

    fn kernels_agree(kp: usize) {
        let mut r = ChaCha8Rng::seed_from_u64(9);
        let a: Vec<i16> = (0..MR * kp).map(|_| r.random_range(-2047..=2047)).collect();
        let panel: Vec<i16> = (0..NR * kp).map(|_| r.random_range(-127..=127)).collect();
        let (mut x, mut y) = ([0i32; MR * NR], [0i32; MR * NR]);
        tile(&a, kp, &panel, &mut x);
        tile_portable(&a, kp, &panel, &mut y);
        assert_eq!(x, y);
        // Each x86 kernel the CPU has, against the portable one.
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut z = [0i32; MR * NR];
                // SAFETY: AVX2 is present.
                unsafe { avx2::tile(&a, kp, &panel, &mut z) };
                assert_eq!(z, y);
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                let mut z = [0i32; MR * NR];
                // SAFETY: AVX-512F and VNNI are present.
                unsafe { vnni::tile(&a, kp, &panel, &mut z) };
                assert_eq!(z, y);
            }
        }
        // The extreme values are summed exactly.
        let a = vec![-2047i16; MR * kp];
        let panel = vec![127i16; NR * kp];
        tile(&a, kp, &panel, &mut x);
        assert!(x.iter().all(|&v| v == -2047 * 127 * kp as i32));
    }

    #[test]
    fn constant_rows_and_zero_weights_are_handled() {
        let q = QuantLinear::new(&[0.0; 6], &[1.0, -1.0], 2, 3);
        assert_eq!(q.forward(&[5.0, 5.0, 5.0], 1), vec![1.0, -1.0]);
        let q = QuantLinear::new(&[1.0, 1.0, 1.0], &[0.0], 1, 3);
        let y = q.forward(&[2.0, 2.0, 2.0, 0.0, 0.0, 0.0], 2);
        assert!((y[0] - 6.0).abs() < 0.1 && y[1].abs() < 1e-6, "{y:?}");
    }
}
