//! Building blocks written with candle's primitive tensor ops, every one of which has a
//! backward pass. (candle's fused LayerNorm and softmax have none: a model built on them
//! trains only its head, silently.)

use candle_core::{DType, Tensor, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::Result;

/// `x · Wᵀ + b` for `x` of shape `[.., in]` and a PyTorch-layout weight `[out, in]`, from
/// primitive ops (the CPU uses the fused `fused::linear`; this module imports nothing from
/// it, so the reference stays independent of the kernels it checks).
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let inp = *dims.last().unwrap_or(&0);
    let rows = x.elem_count() / inp.max(1);
    let y = x.reshape((rows, inp))?.matmul(&w.t()?)?.broadcast_add(b)?;
    let mut out_dims = dims;
    if let Some(last) = out_dims.last_mut() {
        *last = w.dim(0)?;
    }
    Ok(y.reshape(out_dims)?)
}

/// LayerNorm over the last dimension: `(x − mean) / √(var + eps) · w + b` (biased variance).
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
    Ok(xn.broadcast_mul(w)?.broadcast_add(b)?)
}

/// Softmax over the last dimension. The row maximum is subtracted for stability and
/// detached: softmax does not depend on it, so no gradient needs to flow through it.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&m)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

/// Inverted dropout: zeroes each element with probability `p` and scales the rest by
/// `1/(1−p)`. The mask comes from our seeded generator, so training is reproducible and
/// resumable. Identity when `rng` is `None` (evaluation) or `p == 0`.
pub fn dropout(x: &Tensor, p: f32, rng: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
    let Some(rng) = rng else {
        return Ok(x.clone());
    };
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let _p = crate::profile::span("dropout", crate::profile::Phase::Forward);
    let mask = dropout_keep(x.elem_count(), p, rng);
    let mask = Tensor::from_vec(mask, x.dims(), x.device())?.to_dtype(x.dtype())?;
    Ok(x.mul(&mask)?)
}

/// [`dropout`] on `x: [B, q, H]`, the first `q` of `len` rows of each sequence: the draws
/// are those of a dropout on the whole `[B, len, H]` (the rows past `q` are drawn and
/// dropped), so the generator ends in the same state either way and training is the same
/// run whether or not a layer computes all its rows.
pub fn dropout_rows(
    x: &Tensor,
    p: f32,
    rng: Option<&mut ChaCha8Rng>,
    len: usize,
) -> Result<Tensor> {
    let Some(mask) = dropout_rows_keep(x.dims3()?, p, rng, len) else {
        return Ok(x.clone());
    };
    let mask = Tensor::from_vec(mask, x.dims(), x.device())?.to_dtype(x.dtype())?;
    Ok(x.mul(&mask)?)
}

/// The multipliers [`dropout_rows`] applies to a `[B, q, H]` tensor (`dims`), or `None`
/// without dropout: the draws of a `[B, len, H]` dropout, the first `q` rows of each of the
/// `B` blocks kept. (Attention probabilities `[B·heads, q, len]` are such rows too.)
pub fn dropout_rows_keep(
    (b, q, h): (usize, usize, usize),
    p: f32,
    rng: Option<&mut ChaCha8Rng>,
    len: usize,
) -> Option<Vec<f32>> {
    let rng = rng?;
    if p <= 0.0 {
        return None;
    }
    let _p = crate::profile::span("dropout", crate::profile::Phase::Forward);
    let all = dropout_keep(b * len * h, p, rng);
    Some(if q == len {
        all
    } else {
        first_rows(&all, len * h, q * h)
    })
}

/// The first `keep` values of each block of `block` values of `xs`.
pub fn first_rows(xs: &[f32], block: usize, keep: usize) -> Vec<f32> {
    xs.chunks(block.max(1))
        .flat_map(|c| &c[..keep.min(c.len())])
        .copied()
        .collect()
}

/// The multipliers of inverted dropout for `n` elements: 0 with probability `p`, else
/// `1/(1−p)`, drawn in order from `rng` (one draw per element).
pub fn dropout_keep(n: usize, p: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let scale = 1.0 / (1.0 - p);
    (0..n)
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { scale })
        .collect()
}

/// The rows `bi·L + p` of the real tokens of a batch whose [`attention_bias`] is `bias`
/// (flattened, `[B·L]`), in order.
pub fn real_rows(bias: &[f32]) -> Vec<usize> {
    (0..bias.len()).filter(|&i| is_real(bias[i])).collect()
}

/// Whether an [`attention_bias`] value is a real token's (0) rather than padding's.
pub fn is_real(bias: f32) -> bool {
    bias > f32::MIN / 2.0
}

/// Additive attention bias `[B, 1, 1, L]`: 0 for real tokens, the lowest f32 for padding
/// (what transformers adds for `eager` attention).
pub fn attention_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, l) = mask.dims2()?;
    let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * (-(f32::MIN as f64)))?;
    Ok(bias.reshape((b, 1, 1, l))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn layer_norm_and_softmax_have_gradients() {
        let dev = Device::Cpu;
        let x = Var::from_vec(vec![1f32, 2., 4., -1., 0., 3.], (2, 3), &dev).unwrap();
        let w = Var::from_vec(vec![1f32, 0.5, 2.], 3, &dev).unwrap();
        let b = Var::from_vec(vec![0f32, 0.1, 0.], 3, &dev).unwrap();
        let y = layer_norm(x.as_tensor(), w.as_tensor(), b.as_tensor(), 1e-12).unwrap();
        let s = softmax_last(&y).unwrap();
        let loss = s.sqr().unwrap().sum_all().unwrap();
        let g = loss.backward().unwrap();
        for v in [&x, &w, &b] {
            let gv = g.get(v.as_tensor()).expect("gradient exists");
            let n: f32 = gv.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
            assert!(n > 0.0);
        }
        // Rows of the softmax sum to one; the LayerNorm output is normalised before scaling.
        let rows: Vec<f32> = s.sum(1).unwrap().to_vec1().unwrap();
        assert!(rows.iter().all(|r| (r - 1.0).abs() < 1e-6));
    }

    #[test]
    fn dropout_scales_and_is_identity_in_eval() {
        use rand::SeedableRng;
        let dev = Device::Cpu;
        let x = Tensor::ones(10_000, DType::F32, &dev).unwrap();
        assert_eq!(
            dropout(&x, 0.1, None).unwrap().to_vec1::<f32>().unwrap(),
            vec![1.0; 10_000]
        );
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let y: Vec<f32> = dropout(&x, 0.1, Some(&mut rng)).unwrap().to_vec1().unwrap();
        let zeros = y.iter().filter(|&&v| v == 0.0).count();
        assert!((800..1200).contains(&zeros), "{zeros}");
        let mean: f32 = y.iter().sum::<f32>() / y.len() as f32;
        assert!((mean - 1.0).abs() < 0.05);
    }
}
