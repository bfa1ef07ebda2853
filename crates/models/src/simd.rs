//! Element-wise kernels written so the compiler vectorises them: branch-free `exp`, the
//! exact-GELU forward and backward, and the scale-bias-softmax of attention rows.
//!
//! The workspace is built for the baseline x86-64 (SSE2), so each kernel is compiled twice:
//! once as is and once inside a `#[target_feature(enable = "avx2,fma")]` function chosen at
//! run time when the CPU has AVX2. Rust never contracts `a*b + c` into an FMA on its own
//! and the float reductions stay in order, so both versions give bit-identical results
//! (training stays reproducible across machines); only the width changes.

/// `eˣ` for f32 without branches, libm or float-to-int conversions: `2ⁿ·p(r)` with
/// `n = round(x·log₂e)` (rounded by adding 1.5·2²³, which also leaves `n` in the low
/// mantissa bits, from where the exponent of `2ⁿ` is built),
/// `r = x − n·ln2` (ln2 split in two for accuracy) and the degree-6 minimax polynomial of
/// Cephes' `expf` (Moshier; relative error about 2 ulp). Below −87.3 the result is 0,
/// above 88.3 it saturates at e^88.3.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let xc = x.clamp(-87.3, 88.3);
    const MAGIC: f32 = 12_582_912.0;
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // The low 9 bits of t's representation are n + 127 (in 1..=254 after the clamp).
    let scale = f32::from_bits(t.to_bits().wrapping_add(127) << 23);
    if x < -87.3 {
        0.0
    } else {
        y * scale
    }
}

/// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, below the f32
/// resolution of the GELU outputs that use it).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    erf_and_gauss(x).0
}

/// `(erf(x), e^(−x²))`: the formula of [`erf`] computes the Gaussian factor anyway, and
/// the GELU backward needs it too (φ(v) = e^(−(v/√2)²)/√(2π)), so one `exp` serves both.
#[inline(always)]
fn erf_and_gauss(x: f32) -> (f32, f32) {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let g = exp(-a * a);
    ((1.0 - poly * g).copysign(x), g)
}

/// Folds `xs` with `f` in eight interleaved lanes, then the lanes in order: a fixed
/// order (so the result is the same on every path) that the compiler can vectorise.
#[inline(always)]
pub(crate) fn lanes_fold(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for i in 0..8 {
            lanes[i] = f(lanes[i], c[i]);
        }
    }
    let mut acc = lanes.into_iter().fold(init, &f);
    for &x in it.remainder() {
        acc = f(acc, x);
    }
    acc
}

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Runs `$body` (a block using the arguments) through an AVX2+FMA-compiled copy when the CPU
/// has it, else as compiled for the baseline.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports the features the copy was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

crate::dispatch! {
    /// `y = x·Φ(x)`, exact GELU.
    fn gelu_forward(y: &mut [f32], x: &[f32]) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = 0.5 * v * (1.0 + erf(v * FRAC_1_SQRT_2));
        }
    }
}

crate::dispatch! {
    /// `y = x·Φ(x)` and the slope `s = Φ(x) + x·φ(x)` together (training: one `erf` and one
    /// `exp` per element serve both, and the backward is then `g·s`). The values are those
    /// of [`gelu_forward`] and [`gelu_backward`] with `g = 1`, bit for bit.
    /// `xs` holds `x` on entry and the slope on return.
    fn gelu_forward_slope(y: &mut [f32], xs: &mut [f32]) {
        for (o, sl) in y.iter_mut().zip(xs.iter_mut()) {
            let v = *sl;
            let (e, gauss) = erf_and_gauss(v * FRAC_1_SQRT_2);
            *o = 0.5 * v * (1.0 + e);
            let cdf = 0.5 * (1.0 + e);
            let pdf = INV_SQRT_2PI * gauss;
            *sl = cdf + v * pdf;
        }
    }
}

crate::dispatch! {
    /// `x ← x·Φ(x)` in place (inference: the input is not kept).
    fn gelu_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = 0.5 * *v * (1.0 + erf(*v * FRAC_1_SQRT_2));
        }
    }
}

crate::dispatch! {
    /// `d = g·(Φ(x) + x·φ(x))`, the exact GELU's backward.
    fn gelu_backward(d: &mut [f32], x: &[f32], g: &[f32]) {
        for ((o, &v), &gv) in d.iter_mut().zip(x).zip(g) {
            let (e, gauss) = erf_and_gauss(v * FRAC_1_SQRT_2);
            let cdf = 0.5 * (1.0 + e);
            let pdf = INV_SQRT_2PI * gauss;
            *o = gv * (cdf + v * pdf);
        }
    }
}

/// `Σ f(xᵢ)` in eight interleaved lanes, then the lanes in order, then the tail: a fixed
/// order the compiler can vectorise (an in-order float sum is one long dependency chain).
#[inline(always)]
fn sum_lanes(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for i in 0..8 {
            lanes[i] += f(c[i]);
        }
    }
    let mut acc = lanes.into_iter().fold(0.0, |a, v| a + v);
    for &v in it.remainder() {
        acc += f(v);
    }
    acc
}

/// `Σ aᵢ·bᵢ` in the order of [`sum_lanes`].
#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (mut ia, mut ib) = (a.chunks_exact(8), b.chunks_exact(8));
    for (ca, cb) in (&mut ia).zip(&mut ib) {
        for i in 0..8 {
            lanes[i] += ca[i] * cb[i];
        }
    }
    let mut acc = lanes.into_iter().fold(0.0, |a, v| a + v);
    for (&x, &y) in ia.remainder().iter().zip(ib.remainder()) {
        acc += x * y;
    }
    acc
}

/// `(mean, 1/√(var + eps))` of a LayerNorm row.
#[inline(always)]
fn row_stats(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = sum_lanes(x, |v| v) / n;
    let var = sum_lanes(x, |v| (v - mean) * (v - mean)) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

crate::dispatch! {
    /// One LayerNorm row: `y = (x − mean)·rstd·w + b`.
    fn layer_norm_row(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], eps: f32) {
        let (mean, rstd) = row_stats(x, eps);
        for (((o, &v), &wj), &bj) in y.iter_mut().zip(x).zip(w).zip(b) {
            *o = (v - mean) * rstd * wj + bj;
        }
    }
}

crate::dispatch! {
    /// One LayerNorm row's backward: `dx = rstd·(g⊙w − mean(g⊙w) − x̂·mean(g⊙w⊙x̂))`, and
    /// the partial sums over rows `acc = [dw | db]` gain `g⊙x̂` and `g`. `scratch` holds two
    /// rows (x̂ and g⊙w).
    fn layer_norm_row_backward(
        dx: &mut [f32],
        acc: &mut [f32],
        scratch: &mut [f32],
        x: &[f32],
        g: &[f32],
        w: &[f32],
        eps: f32
    ) {
        let h = x.len();
        let (mean, rstd) = row_stats(x, eps);
        let (xhat, gw) = scratch.split_at_mut(h);
        let (dw, db) = acc.split_at_mut(h);
        let rows = xhat.iter_mut().zip(gw.iter_mut()).zip(dw.iter_mut().zip(db.iter_mut()));
        for (((xh, a), (dwj, dbj)), ((&xv, &gv), &wj)) in rows.zip(x.iter().zip(g).zip(w)) {
            *xh = (xv - mean) * rstd;
            *a = gv * wj;
            *dwj += gv * *xh;
            *dbj += gv;
        }
        let n = h as f32;
        let (mg, mgx) = (sum_lanes(gw, |v| v) / n, dot_lanes(gw, xhat) / n);
        for ((o, &a), &xh) in dx.iter_mut().zip(gw.iter()).zip(xhat.iter()) {
            *o = rstd * (a - mg - xh * mgx);
        }
    }
}

crate::dispatch! {
    /// In place, `row ← softmax(scale·row + bias)`.
    fn softmax_row(row: &mut [f32], bias: &[f32], scale: f32) {
        for (x, &b) in row.iter_mut().zip(bias) {
            *x = *x * scale + b;
        }
        let m = lanes_fold(row, f32::NEG_INFINITY, |a, x| if x > a { x } else { a });
        for x in row.iter_mut() {
            *x = exp(*x - m);
        }
        let z = lanes_fold(row, 0.0, |a, x| a + x);
        let inv = 1.0 / z;
        for x in row.iter_mut() {
            *x *= inv;
        }
    }
}

crate::dispatch! {
    /// In place, the softmax backward of one row: `d ← scale·y⊙(d − Σ d⊙y)` for the row's
    /// probabilities `y` and the gradient `d` reaching them (the sum in the order of
    /// [`dot_lanes`]).
    fn softmax_row_backward(d: &mut [f32], y: &[f32], scale: f32) {
        let s = dot_lanes(d, y);
        for (dv, &yv) in d.iter_mut().zip(y) {
            *dv = scale * yv * (*dv - s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_to_a_few_ulp_and_exact_at_the_ends() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let rel = ((exp(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(
            worst < 4.0 * f32::EPSILON as f64,
            "relative error {worst:e}"
        );
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::MIN), 0.0);
        assert!(exp(100.0).is_finite());
    }

    #[test]
    fn erf_matches_libm() {
        for i in -400..=400 {
            let x = i as f32 * 0.01;
            let d = (erf(x) as f64 - libm::erf(x as f64)).abs();
            assert!(d < 3e-7, "erf({x}) off by {d:e}");
        }
        assert!(erf(0.0).abs() < 1e-7 && erf(-2.0) < 0.0);
    }

    #[test]
    fn gelu_and_softmax_agree_with_f64_references() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let mut y = vec![0f32; x.len()];
        gelu_forward(&mut y, &x);
        let mut z = x.clone();
        gelu_in_place(&mut z);
        assert_eq!(z, y, "the in-place GELU gives the same values");
        let (mut y2, mut slope) = (vec![0f32; x.len()], x.clone());
        gelu_forward_slope(&mut y2, &mut slope);
        assert_eq!(y2, y, "the GELU with its slope gives the same values");
        let g = vec![1f32; x.len()];
        let mut d = vec![0f32; x.len()];
        gelu_backward(&mut d, &x, &g);
        assert_eq!(slope, d, "the slope is the backward's gradient for g = 1");
        for ((&v, &yv), &dv) in x.iter().zip(&y).zip(&d) {
            let v = v as f64;
            let cdf = 0.5 * (1.0 + libm::erf(v / 2f64.sqrt()));
            let pdf = (-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!((yv as f64 - v * cdf).abs() < 2e-6, "gelu({v})");
            assert!((dv as f64 - (cdf + v * pdf)).abs() < 2e-6, "gelu'({v})");
        }
        let mut row = vec![0.3f32, -1.0, 2.5, 0.0, 7.0];
        let bias = [0.0, 0.0, 0.0, 0.0, f32::MIN];
        softmax_row(&mut row, &bias, 0.5);
        let e: Vec<f64> = [0.15f64, -0.5, 1.25, 0.0].iter().map(|v| v.exp()).collect();
        let z: f64 = e.iter().sum();
        for (p, w) in row.iter().zip(&e) {
            assert!((*p as f64 - w / z).abs() < 1e-7);
        }
        assert_eq!(row[4], 0.0, "a masked key gets exactly zero");
        // Its backward against the f64 formula, on a row longer than the eight lanes.
        let y: Vec<f32> = (0..21)
            .map(|i| 0.01 + (i as f32 * 0.37).sin().abs() / 12.0)
            .collect();
        let g: Vec<f32> = (0..21).map(|i| (i as f32 * 0.71).cos()).collect();
        let mut d = g.clone();
        softmax_row_backward(&mut d, &y, 0.5);
        let s: f64 = y.iter().zip(&g).map(|(&a, &b)| a as f64 * b as f64).sum();
        for ((&dv, &yv), &gv) in d.iter().zip(&y).zip(&g) {
            let want = 0.5 * yv as f64 * (gv as f64 - s);
            assert!((dv as f64 - want).abs() < 1e-6, "{dv} vs {want}");
        }
    }
}
