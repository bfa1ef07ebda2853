//! Gradients of a backward pass, with the word-embedding table's gradient kept sparse.
//!
//! A batch of 32×64 tokens touches at most 2,048 of the 30,522 rows of a BERT vocabulary,
//! but the dense gradient autograd builds for the lookup is the whole 30,522×384 table:
//! a 47 MB zero-fill plus a scatter-add every step, then a 47 MB copy and norm. On the CPU
//! the lookup's output is therefore made an autograd leaf instead; after the backward its
//! gradient `[tokens, hidden]` is folded into one summed row per distinct token id
//! ([`SparseRows`]). The optimizer treats the missing rows as zero gradient, so training
//! is the same as with the dense gradient (see `textclf_train::optim`).

use std::collections::HashMap;

use candle_core::{backprop::GradStore, Device, Tensor, Var};

use crate::Result;

/// The gradient of a `[height, width]` table as its non-zero rows: `rows` sorted and
/// distinct, `values` their gradient rows back to back (`rows.len() × width`).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows {
    pub height: usize,
    pub width: usize,
    pub rows: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseRows {
    /// Folds the gradient of a lookup (`grad` row `i` belongs to table row `ids[i]`) into
    /// summed rows. Rows are added in the order they occur, so the result does not depend
    /// on threads.
    pub fn from_lookup(ids: &[u32], grad: &[f32], height: usize, width: usize) -> Self {
        debug_assert_eq!(grad.len(), ids.len() * width);
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| (ids[i], i));
        let mut rows: Vec<u32> = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        for i in order {
            let src = &grad[i * width..][..width];
            if rows.last() == Some(&ids[i]) {
                let start = values.len() - width;
                values[start..]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(a, b)| *a += b);
            } else {
                rows.push(ids[i]);
                values.extend_from_slice(src);
            }
        }
        Self {
            height,
            width,
            rows,
            values,
        }
    }

    /// Adds `other` (gradient accumulation): the union of the rows, summed where both
    /// have one.
    pub fn add(&mut self, other: &SparseRows) {
        let w = self.width;
        let mut rows = Vec::with_capacity(self.rows.len() + other.rows.len());
        let mut values = Vec::with_capacity(self.values.len() + other.values.len());
        let (mut i, mut j) = (0, 0);
        while i < self.rows.len() || j < other.rows.len() {
            let a = self.rows.get(i).copied().unwrap_or(u32::MAX);
            let b = other.rows.get(j).copied().unwrap_or(u32::MAX);
            // Exhausted lists read as u32::MAX, above every row id.
            if a < b {
                rows.push(a);
                values.extend_from_slice(&self.values[i * w..][..w]);
                i += 1;
            } else if b < a {
                rows.push(b);
                values.extend_from_slice(&other.values[j * w..][..w]);
                j += 1;
            } else {
                rows.push(a);
                let x = &self.values[i * w..][..w];
                let y = &other.values[j * w..][..w];
                values.extend(x.iter().zip(y).map(|(p, q)| p + q));
                i += 1;
                j += 1;
            }
        }
        self.rows = rows;
        self.values = values;
    }

    /// Sum of the squared entries (for the global gradient norm).
    pub fn sum_sq(&self) -> f64 {
        self.values.iter().map(|&x| (x as f64) * (x as f64)).sum()
    }

    /// The dense `[height, width]` gradient.
    pub fn to_dense(&self, device: &Device) -> Result<Tensor> {
        let mut d = vec![0f32; self.height * self.width];
        for (k, &r) in self.rows.iter().enumerate() {
            d[r as usize * self.width..][..self.width]
                .copy_from_slice(&self.values[k * self.width..][..self.width]);
        }
        Ok(Tensor::from_vec(d, (self.height, self.width), device)?)
    }
}

/// A lookup whose gradient is gathered sparsely: the table's parameter name, the looked-up
/// ids, and the autograd leaf that stands for the lookup's output.
#[derive(Clone)]
pub(crate) struct SparseLookup {
    pub param: String,
    pub ids: Vec<u32>,
    pub leaf: Var,
    pub height: usize,
}

/// What [`crate::SequenceClassifier::backward`] returns: candle's gradient store for the
/// dense parameters and sparse row gradients for the embedding tables gathered that way.
pub struct Gradients {
    pub store: GradStore,
    pub sparse: HashMap<String, SparseRows>,
}

impl Gradients {
    /// The dense gradient of `param` (materialising a sparse one), if it got one.
    pub fn dense(&self, param: &str, var: &Var) -> Result<Option<Tensor>> {
        if let Some(s) = self.sparse.get(param) {
            return Ok(Some(s.to_dense(var.device())?));
        }
        Ok(self.store.get(var.as_tensor()).cloned())
    }
}

/// Takes the gradients of the lookups' leaves out of `store` and folds each into sparse
/// rows of its table (several lookups of one table are added).
pub(crate) fn gather_sparse(lookups: &[SparseLookup], mut store: GradStore) -> Result<Gradients> {
    let _p = crate::profile::span("embedding-grad", crate::profile::Phase::Backward);
    let mut sparse: HashMap<String, SparseRows> = HashMap::new();
    for l in lookups {
        let Some(g) = store.remove(l.leaf.as_tensor()) else {
            continue;
        };
        let width = g.dim(candle_core::D::Minus1)?;
        let gv: Vec<f32> = g.flatten_all()?.to_vec1()?;
        let rows = SparseRows::from_lookup(&l.ids, &gv, l.height, width);
        match sparse.get_mut(&l.param) {
            Some(s) => s.add(&rows),
            None => {
                sparse.insert(l.param.clone(), rows);
            }
        }
    }
    Ok(Gradients { store, sparse })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_rows_are_summed_sorted_and_match_the_dense_scatter() {
        let ids = [5u32, 1, 5, 3, 1, 5];
        let grad: Vec<f32> = (0..ids.len() * 2).map(|x| x as f32 * 0.5 - 1.0).collect();
        let s = SparseRows::from_lookup(&ids, &grad, 7, 2);
        assert_eq!(s.rows, vec![1, 3, 5]);
        let mut dense = vec![0f32; 14];
        for (i, &id) in ids.iter().enumerate() {
            for c in 0..2 {
                dense[id as usize * 2 + c] += grad[i * 2 + c];
            }
        }
        let got: Vec<f32> = s
            .to_dense(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(got, dense);
        let sq: f64 = dense.iter().map(|&x| (x as f64).powi(2)).sum();
        assert!((s.sum_sq() - sq).abs() < 1e-9);
    }

    #[test]
    fn adding_merges_rows_like_dense_addition() {
        let a = SparseRows::from_lookup(&[0, 4, 2], &[1., 2., 3., 4., 5., 6.], 6, 2);
        let b = SparseRows::from_lookup(&[4, 5, 1], &[10., 20., 30., 40., 50., 60.], 6, 2);
        let mut s = a.clone();
        s.add(&b);
        assert_eq!(s.rows, vec![0, 1, 2, 4, 5]);
        let dense = |x: &SparseRows| -> Vec<f32> {
            x.to_dense(&Device::Cpu)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let want: Vec<f32> = dense(&a)
            .iter()
            .zip(dense(&b))
            .map(|(x, y)| x + y)
            .collect();
        assert_eq!(dense(&s), want);
        // Adding an empty gradient changes nothing.
        let mut e = SparseRows::from_lookup(&[], &[], 6, 2);
        e.add(&a);
        assert_eq!(e, a);
    }
}
