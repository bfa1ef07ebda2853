//! Ranks with ties averaged, and the statistics built on them: Spearman's correlation
//! uses the ranks themselves, ROC-AUC the rank sum of the positives (Mann–Whitney U).

/// The indices of `values` in ascending order of value (stable, so equal values keep
/// their row order).
pub(crate) fn ascending_order(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order
}

/// The 1-based rank of every value, tied values sharing the mean of the ranks they
/// cover — scipy's `rankdata(method="average")`.
pub(crate) fn average_ranks(values: &[f64]) -> Vec<f64> {
    let ones = vec![1u32; values.len()];
    weighted_average_ranks(values, &ascending_order(values), &ones)
}

/// Average ranks of a resample given as row weights (how often each row was drawn):
/// the rows drawn `w` times stand for `w` tied copies. `order` is
/// [`ascending_order`] of `values`. A row of weight 0 gets rank 0 (it is not in the
/// resample and must get weight 0 wherever the ranks are used).
pub(crate) fn weighted_average_ranks(values: &[f64], order: &[usize], weights: &[u32]) -> Vec<f64> {
    let mut ranks = vec![0.0; values.len()];
    let mut below = 0u64; // copies ranked before the current group
    let mut start = 0;
    while start < order.len() {
        let v = values[order[start]];
        let mut end = start;
        let mut group = 0u64;
        while end < order.len() && values[order[end]] == v {
            group += u64::from(weights[order[end]]);
            end += 1;
        }
        // The group covers ranks below+1 ..= below+group; their mean:
        let rank = below as f64 + (group as f64 + 1.0) / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        below += group;
        start = end;
    }
    ranks
}

/// Area under the ROC curve of `scores` for the positives `gold`, with tied scores
/// counting ½ (the trapezoid rule over the ROC points, as scikit-learn's
/// `roc_auc_score`): `(R₊ − P(P+1)/2) / (P·N)` with `R₊` the sum of the positives'
/// average ranks. `None` when `gold` has no positive or no negative.
pub(crate) fn roc_auc(gold: impl Iterator<Item = bool>, scores: &[f64]) -> Option<f64> {
    let ranks = average_ranks(scores);
    let mut positives = 0u64;
    let mut rank_sum = 0.0;
    for (g, r) in gold.zip(&ranks) {
        if g {
            positives += 1;
            rank_sum += r;
        }
    }
    let negatives = scores.len() as u64 - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_mean_rank() {
        // scipy.stats.rankdata([3, 1, 4, 1, 5, 9, 2, 6, 5]) =
        // [4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5]
        let r = average_ranks(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0]);
        assert_eq!(r, vec![4.0, 1.5, 5.0, 1.5, 6.5, 9.0, 3.0, 8.0, 6.5]);
        assert!(average_ranks(&[]).is_empty());
    }

    #[test]
    fn weights_act_as_copies() {
        let v = [2.0, 1.0, 3.0];
        let order = ascending_order(&v);
        // Row 1 drawn twice, row 0 never, row 2 once: copies 1, 1, 3 → ranks 1.5, 1.5, 3.
        let r = weighted_average_ranks(&v, &order, &[0, 2, 1]);
        assert_eq!(r[1], 1.5);
        assert_eq!(r[2], 3.0);
    }

    #[test]
    fn auc_counts_ties_as_half() {
        let gold = [false, false, true, true];
        // sklearn.metrics.roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75
        let auc = roc_auc(gold.iter().copied(), &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12);
        // All scores tied: 0.5.
        assert_eq!(roc_auc(gold.iter().copied(), &[0.5; 4]), Some(0.5));
        assert_eq!(roc_auc([true, true].into_iter(), &[0.1, 0.2]), None);
    }
}
