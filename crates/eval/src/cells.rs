//! Confusion cells: each row of a single-label evaluation as the flat index
//! `gold * k + pred` of its confusion-matrix cell, which the counting metrics and the
//! bootstraps over them share.

use crate::EvalError;

/// Errors when an id is not below `k`; `what` names the column in the message.
pub(crate) fn check_ids(ids: &[usize], k: usize, what: &str) -> Result<(), EvalError> {
    match ids.iter().position(|&id| id >= k) {
        Some(row) => Err(EvalError::ClassOutOfRange {
            what: what.to_string(),
            row,
            id: ids[row],
            num_classes: k,
        }),
        None => Ok(()),
    }
}

/// The flat confusion-cell index `gold * k + pred` of every row.
pub(crate) fn cell_ids(gold: &[usize], pred: &[usize], k: usize) -> Vec<u32> {
    gold.iter()
        .zip(pred)
        .map(|(&g, &p)| (g * k + p) as u32)
        .collect()
}

/// How many rows fall into each of the `k × k` cells.
pub(crate) fn count_cells(cells: &[u32], k: usize) -> Vec<u64> {
    let mut c = vec![0u64; k * k];
    for &x in cells {
        c[x as usize] += 1;
    }
    c
}
