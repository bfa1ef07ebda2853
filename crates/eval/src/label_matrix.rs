//! The input type of multi-label evaluation: an `n × k` 0/1 matrix of label
//! memberships, and the checks on the matching `n × k` score matrix.

use crate::EvalError;

/// Which of `k` labels each of `n` rows carries: a dense, row-major `n × k` 0/1 matrix
/// (`get(i, c)` is true when row `i` has label id `c`).
///
/// Gold labels and predictions of multi-label evaluation both use this type. Build it
/// from a dense 0/1 matrix ([`LabelMatrix::from_dense`], e.g. one 0/1 column per
/// label) or from per-row label-id sets ([`LabelMatrix::from_sets`], e.g. `a|b` strings
/// mapped to ids); [`LabelMatrix::to_sets`] converts back. Only the constructors build
/// one, so `k` is never 0 and the cells always fill whole rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelMatrix {
    k: usize,
    cells: Vec<bool>,
}

impl LabelMatrix {
    /// Wraps a row-major matrix of `k` columns.
    pub fn new(k: usize, cells: Vec<bool>) -> Result<Self, EvalError> {
        if k == 0 {
            return Err(EvalError::Invalid(
                "a label matrix needs at least one label column (k = 0 was given)".into(),
            ));
        }
        if !cells.len().is_multiple_of(k) {
            return Err(EvalError::Invalid(format!(
                "a label matrix of {} cells cannot have {k} columns; it must hold one 0/1 \
                 value per row and label",
                cells.len()
            )));
        }
        Ok(Self { k, cells })
    }

    /// From a row-major matrix of 0/1 values; any other value is an error naming its
    /// row and column.
    pub fn from_dense(k: usize, values: &[u8]) -> Result<Self, EvalError> {
        if let Some(pos) = values.iter().position(|&v| v > 1) {
            return Err(EvalError::Invalid(format!(
                "the label matrix holds {} at row {}, column {}; only 0 and 1 are allowed",
                values[pos],
                pos / k.max(1),
                pos % k.max(1)
            )));
        }
        Self::new(k, values.iter().map(|&v| v == 1).collect())
    }

    /// From the label ids of each row (`sets[i]` are the labels of row `i`, in any
    /// order; a repeated id counts once). An empty set is a row with no label. Errors
    /// when an id is not below `k`.
    pub fn from_sets<S: AsRef<[usize]>>(k: usize, sets: &[S]) -> Result<Self, EvalError> {
        let mut cells = vec![false; sets.len() * k];
        for (row, set) in sets.iter().enumerate() {
            for &id in set.as_ref() {
                if id >= k {
                    return Err(EvalError::ClassOutOfRange {
                        what: "a label of the label set".into(),
                        row,
                        id,
                        num_classes: k,
                    });
                }
                cells[row * k + id] = true;
            }
        }
        Self::new(k, cells)
    }

    /// The label ids of every row, ascending.
    pub fn to_sets(&self) -> Vec<Vec<usize>> {
        self.cells
            .chunks(self.k)
            .map(|r| (0..self.k).filter(|&c| r[c]).collect())
            .collect()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.cells.len() / self.k
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Number of label columns.
    pub fn num_labels(&self) -> usize {
        self.k
    }

    /// The memberships of row `i`.
    pub fn row(&self, i: usize) -> &[bool] {
        &self.cells[i * self.k..(i + 1) * self.k]
    }

    /// Whether row `i` carries label `c`.
    pub fn get(&self, i: usize, c: usize) -> bool {
        self.cells[i * self.k + c]
    }

    /// All cells, row-major.
    pub fn as_slice(&self) -> &[bool] {
        &self.cells
    }
}

/// Errors unless `scores` is a row-major `n × k` matrix of finite numbers.
pub(crate) fn check_scores(
    scores: &[f32],
    n: usize,
    k: usize,
    names: &[String],
) -> Result<(), EvalError> {
    if scores.len() != n * k {
        return Err(EvalError::Invalid(format!(
            "the score matrix holds {} values, but {n} rows × {k} labels need {}; give one \
             score per row and label",
            scores.len(),
            n * k
        )));
    }
    if let Some(pos) = scores.iter().position(|s| !s.is_finite()) {
        return Err(EvalError::Invalid(format!(
            "the score of label {} at row {} is {}, not a finite number",
            names.get(pos % k).map_or("?", String::as_str),
            pos / k,
            scores[pos]
        )));
    }
    Ok(())
}

/// Errors unless two label matrices have the same shape, and the label names one per
/// column; `what` names the pair in the message.
pub(crate) fn check_same_shape(
    gold: &LabelMatrix,
    other: &LabelMatrix,
    names: &[String],
    what: &str,
) -> Result<(), EvalError> {
    if gold.num_labels() != names.len() {
        return Err(EvalError::Invalid(format!(
            "the gold label matrix has {} columns but the label set has {} labels",
            gold.num_labels(),
            names.len()
        )));
    }
    if other.num_labels() != gold.num_labels() {
        return Err(EvalError::Invalid(format!(
            "{what}: {} label columns vs {}; both must have one column per label",
            gold.num_labels(),
            other.num_labels()
        )));
    }
    if other.len() != gold.len() {
        return Err(EvalError::LengthMismatch {
            what: what.into(),
            left: gold.len(),
            right: other.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_dense_agree_and_round_trip() {
        let sets = vec![vec![2, 0], vec![], vec![1, 1]];
        let m = LabelMatrix::from_sets(3, &sets).unwrap();
        let d = LabelMatrix::from_dense(3, &[1, 0, 1, 0, 0, 0, 0, 1, 0]).unwrap();
        assert_eq!(m, d);
        assert_eq!(m.to_sets(), vec![vec![0, 2], vec![], vec![1]]);
        assert_eq!(m.len(), 3);
        assert_eq!(m.num_labels(), 3);
        assert!(m.get(0, 2) && !m.get(1, 0));
        assert_eq!(m.row(2), &[false, true, false]);
    }

    #[test]
    fn bad_matrices_are_refused_with_the_place() {
        let e = LabelMatrix::from_dense(2, &[0, 1, 2, 0]).unwrap_err();
        assert!(e.to_string().contains("row 1, column 0"), "{e}");
        let e = LabelMatrix::from_dense(2, &[0, 1, 1]).unwrap_err();
        assert!(e.to_string().contains("3 cells"), "{e}");
        let e = LabelMatrix::from_sets(2, &[vec![0], vec![3]]).unwrap_err();
        assert!(e.to_string().contains("row 1 is class id 3"), "{e}");
        assert!(LabelMatrix::new(0, vec![]).is_err());
        assert!(LabelMatrix::new(3, vec![]).unwrap().is_empty());
    }

    #[test]
    fn scores_are_checked() {
        let names: Vec<String> = vec!["a".into(), "b".into()];
        assert!(check_scores(&[0.1, 0.2, 0.3, 0.4], 2, 2, &names).is_ok());
        let e = check_scores(&[0.1, 0.2, 0.3], 2, 2, &names).unwrap_err();
        assert!(
            e.to_string()
                .contains("3 values, but 2 rows × 2 labels need 4"),
            "{e}"
        );
        let e = check_scores(&[0.1, 0.2, f32::NAN, 0.4], 2, 2, &names).unwrap_err();
        assert!(e.to_string().contains("label a at row 1"), "{e}");
    }
}
