//! A compressed-sparse-row matrix of `f32`, the feature matrix of the linear models.

/// Rows of sparse features: row `i` holds `indices[indptr[i]..indptr[i+1]]` (sorted,
/// distinct column ids) with their `values`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsrMatrix {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
    pub ncols: usize,
}

impl CsrMatrix {
    /// An empty matrix with `ncols` columns.
    pub fn new(ncols: usize) -> Self {
        Self {
            indptr: vec![0],
            indices: vec![],
            values: vec![],
            ncols,
        }
    }

    /// Builds a matrix from rows of `(column, value)` pairs (each row sorted by column).
    pub fn from_rows(rows: Vec<Vec<(u32, f32)>>, ncols: usize) -> Self {
        let nnz = rows.iter().map(Vec::len).sum();
        let mut m = Self::new(ncols);
        m.indices.reserve(nnz);
        m.values.reserve(nnz);
        for r in rows {
            m.push_row(r.iter().copied());
        }
        m
    }

    /// Appends one row.
    pub fn push_row(&mut self, row: impl IntoIterator<Item = (u32, f32)>) {
        for (c, v) in row {
            self.indices.push(c);
            self.values.push(v);
        }
        self.indptr.push(self.indices.len());
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of stored values.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row `i` as parallel slices of column ids and values.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Keeps the rows at `idx` in that order.
    pub fn select_rows(&self, idx: &[usize]) -> CsrMatrix {
        let mut m = Self::new(self.ncols);
        for &i in idx {
            let (c, v) = self.row(i);
            m.push_row(c.iter().copied().zip(v.iter().copied()));
        }
        m
    }

    /// Multiplies every stored value of column `j` by `scale[j]`.
    pub fn scale_columns(&mut self, scale: &[f32]) {
        for (c, v) in self.indices.iter().zip(self.values.iter_mut()) {
            *v *= scale[*c as usize];
        }
    }

    /// Squared L2 norm of every row.
    pub fn row_sq_norms(&self) -> Vec<f64> {
        (0..self.nrows())
            .map(|i| self.row(i).1.iter().map(|&v| (v as f64) * (v as f64)).sum())
            .collect()
    }
}

/// `w · x` for a sparse row `x`.
#[inline]
pub fn dot(idx: &[u32], val: &[f32], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for (&c, &v) in idx.iter().zip(val) {
        s += w[c as usize] * v as f64;
    }
    s
}

/// `w += a · x` for a sparse row `x`.
#[inline]
pub fn axpy(a: f64, idx: &[u32], val: &[f32], w: &mut [f64]) {
    for (&c, &v) in idx.iter().zip(val) {
        w[c as usize] += a * v as f64;
    }
}
