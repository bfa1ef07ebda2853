//! Deterministic, stratified splitting and subsampling of labelled rows.
//!
//! Every function takes a `u64` seed and draws from `ChaCha8Rng::seed_from_u64(seed)`, so
//! the same labels and seed give the same result on every platform and every run.
//! Labels are class ids; ids `>= num_classes` are tolerated (treated as further classes).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Row indices grouped by class, each group in ascending order.
fn by_class(labels: &[usize], num_classes: usize) -> Vec<Vec<usize>> {
    let k = labels
        .iter()
        .map(|&l| l + 1)
        .max()
        .unwrap_or(0)
        .max(num_classes);
    let mut groups = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        groups[l].push(i);
    }
    groups
}

/// How many of `count` items each part gets: `floor(frac * count)` or one more, by
/// largest remainder. `deficit[j]` (how far part `j` is behind its overall target so far)
/// breaks near-ties so that part sizes stay balanced across classes too.
fn apportion(count: usize, fracs: &[f64], deficit: &[f64]) -> Vec<usize> {
    let exact: Vec<f64> = fracs.iter().map(|&f| f.max(0.0) * count as f64).collect();
    let mut sizes: Vec<usize> = exact.iter().map(|&e| e.floor() as usize).collect();
    let mut total: usize = sizes.iter().sum();
    // Floating-point slack can overshoot; take back from the parts with the smallest remainder.
    while total > count {
        let Some(j) = (0..sizes.len())
            .filter(|&j| sizes[j] > 0)
            .min_by(|&a, &b| (exact[a] - sizes[a] as f64).total_cmp(&(exact[b] - sizes[b] as f64)))
        else {
            break;
        };
        sizes[j] -= 1;
        total -= 1;
    }
    if total < count {
        let mut order: Vec<usize> = (0..fracs.len()).collect();
        let rem = |j: usize| exact[j] - sizes[j] as f64;
        order.sort_by(|&a, &b| {
            let za = fracs[a] <= 0.0;
            let zb = fracs[b] <= 0.0;
            za.cmp(&zb)
                .then_with(|| (rem(b) > 1e-9).cmp(&(rem(a) > 1e-9)))
                .then_with(|| (rem(b) + deficit[b]).total_cmp(&(rem(a) + deficit[a])))
                .then_with(|| a.cmp(&b))
        });
        let mut it = order.iter().cycle();
        while total < count {
            if let Some(&j) = it.next() {
                sizes[j] += 1;
                total += 1;
            }
        }
    }
    sizes
}

/// Partitions the indices `0..labels.len()` into `fracs.len()` parts (e.g. `[0.8, 0.1, 0.1]`
/// for train/valid/test), stratified by class.
///
/// For each class its rows are shuffled and dealt out so that the class's count in part `j`
/// is `floor(fracs[j] * class_count)` or one more (largest remainder), hence within one row
/// of the exact share; overall part sizes are therefore within `num_classes` rows of
/// `fracs[j] * n` (and in practice within one, as near-ties are broken toward the part that
/// is furthest behind). Each part is finally **shuffled**, so rows are not grouped by label:
/// the order is deterministic in `seed` but otherwise random.
///
/// `fracs` should sum to 1; parts with a fraction of 0 stay empty.
pub fn stratified_split(
    labels: &[usize],
    num_classes: usize,
    fracs: &[f64],
    seed: u64,
) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); fracs.len()];
    if fracs.is_empty() {
        return parts;
    }
    let total_frac: f64 = fracs.iter().map(|f| f.max(0.0)).sum();
    let norm: Vec<f64> = if total_frac > 0.0 {
        fracs.iter().map(|f| f.max(0.0) / total_frac).collect()
    } else {
        vec![1.0 / fracs.len() as f64; fracs.len()]
    };
    let mut seen = 0usize;
    for mut group in by_class(labels, num_classes) {
        if group.is_empty() {
            continue;
        }
        group.shuffle(&mut rng);
        let deficit: Vec<f64> = norm
            .iter()
            .zip(&parts)
            .map(|(f, p)| f * seen as f64 - p.len() as f64)
            .collect();
        let sizes = apportion(group.len(), &norm, &deficit);
        let mut start = 0;
        for (part, size) in parts.iter_mut().zip(sizes) {
            part.extend_from_slice(&group[start..start + size]);
            start += size;
        }
        seen += group.len();
    }
    for part in &mut parts {
        part.shuffle(&mut rng);
    }
    parts
}

/// Keeps about `frac` of every class (`floor` or `ceil` of `frac * class_count`, chosen as in
/// [`stratified_split`]). Returns the kept indices in ascending order, so the original row
/// order is preserved. `frac >= 1` keeps everything; `frac <= 0` keeps nothing.
pub fn stratified_subset(labels: &[usize], num_classes: usize, frac: f64, seed: u64) -> Vec<usize> {
    if frac >= 1.0 {
        return (0..labels.len()).collect();
    }
    if frac.is_nan() || frac <= 0.0 {
        return Vec::new();
    }
    let mut parts = stratified_split(labels, num_classes, &[frac, 1.0 - frac], seed);
    let mut kept = parts.swap_remove(0);
    kept.sort_unstable();
    kept
}

/// Keeps at most `cap` rows of every class, chosen at random where a class has more.
/// Returns the kept indices in ascending order.
pub fn per_class_cap(labels: &[usize], num_classes: usize, cap: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut kept = Vec::new();
    for mut group in by_class(labels, num_classes) {
        if group.len() > cap {
            group.shuffle(&mut rng);
            group.truncate(cap);
        }
        kept.extend(group);
    }
    kept.sort_unstable();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn class_counts(labels: &[usize], idx: &[usize], k: usize) -> Vec<usize> {
        let mut c = vec![0; k];
        for &i in idx {
            c[labels[i]] += 1;
        }
        c
    }

    fn fracs_strategy() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(0.0f64..1.0, 1..5).prop_map(|v| {
            let s: f64 = v.iter().sum();
            if s <= 1e-9 {
                let n = v.len() as f64;
                vec![1.0 / n; v.len()]
            } else {
                v.iter().map(|x| x / s).collect()
            }
        })
    }

    #[test]
    fn split_80_10_10_is_exact_on_round_numbers() {
        let labels: Vec<usize> = (0..1000).map(|i| i % 2).collect();
        let parts = stratified_split(&labels, 2, &[0.8, 0.1, 0.1], 7);
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![800, 100, 100]
        );
        for p in &parts {
            let c = class_counts(&labels, p, 2);
            assert_eq!(c[0], c[1]);
        }
        // Shuffled: not sorted, and not grouped by label.
        assert!(parts[0].windows(2).any(|w| w[0] > w[1]));
    }

    #[test]
    fn overall_sizes_stay_balanced_with_many_odd_classes() {
        // 9 classes of 3 rows, split in halves: every class has a tie, which must not
        // always go to the same part.
        let labels: Vec<usize> = (0..27).map(|i| i % 9).collect();
        let parts = stratified_split(&labels, 9, &[0.5, 0.5], 1);
        let diff = parts[0].len() as i64 - parts[1].len() as i64;
        assert!(diff.abs() <= 1, "{} vs {}", parts[0].len(), parts[1].len());
    }

    #[test]
    fn zero_fraction_part_is_empty() {
        let labels: Vec<usize> = (0..101).map(|i| i % 3).collect();
        let parts = stratified_split(&labels, 3, &[0.9, 0.0, 0.1], 3);
        assert!(parts[1].is_empty());
        assert_eq!(parts[0].len() + parts[2].len(), 101);
    }

    #[test]
    fn labels_beyond_num_classes_do_not_panic() {
        let parts = stratified_split(&[0, 5, 5, 1], 2, &[0.5, 0.5], 0);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 4);
        assert_eq!(per_class_cap(&[0, 5, 5], 1, 1, 0).len(), 2);
        assert!(stratified_split(&[], 0, &[], 0).is_empty());
    }

    #[test]
    fn subset_and_cap_examples() {
        let labels: Vec<usize> = (0..400).map(|i| usize::from(i >= 300)).collect();
        let s = stratified_subset(&labels, 2, 0.25, 9);
        assert_eq!(class_counts(&labels, &s, 2), vec![75, 25]);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        let c = per_class_cap(&labels, 2, 50, 9);
        assert_eq!(class_counts(&labels, &c, 2), vec![50, 50]);
        assert_eq!(stratified_subset(&labels, 2, 1.0, 9).len(), 400);
    }

    proptest! {
        #[test]
        fn split_is_a_stratified_partition(
            labels in prop::collection::vec(0usize..5, 0..300),
            fracs in fracs_strategy(),
            seed in any::<u64>(),
        ) {
            let k = 5;
            let parts = stratified_split(&labels, k, &fracs, seed);
            prop_assert_eq!(parts.len(), fracs.len());
            // Disjoint and complete.
            let mut all: Vec<usize> = parts.iter().flatten().copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
            // Per class, per part: within one of the exact share.
            let totals = class_counts(&labels, &(0..labels.len()).collect::<Vec<_>>(), k);
            for (part, &f) in parts.iter().zip(&fracs) {
                let got = class_counts(&labels, part, k);
                for c in 0..k {
                    let exact = f * totals[c] as f64;
                    prop_assert!((got[c] as f64 - exact).abs() <= 1.0 + 1e-9,
                        "class {} part frac {}: got {} want {}", c, f, got[c], exact);
                }
                let exact = f * labels.len() as f64;
                prop_assert!((part.len() as f64 - exact).abs() <= k as f64 + 1e-9);
            }
            // Deterministic.
            prop_assert_eq!(&parts, &stratified_split(&labels, k, &fracs, seed));
        }

        #[test]
        fn subset_keeps_share_of_each_class(
            labels in prop::collection::vec(0usize..4, 0..300),
            frac in 0.01f64..=1.0,
            seed in any::<u64>(),
        ) {
            let kept = stratified_subset(&labels, 4, frac, seed);
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(kept.iter().all(|&i| i < labels.len()));
            let all: Vec<usize> = (0..labels.len()).collect();
            let totals = class_counts(&labels, &all, 4);
            let got = class_counts(&labels, &kept, 4);
            for c in 0..4 {
                prop_assert!((got[c] as f64 - frac * totals[c] as f64).abs() <= 1.0 + 1e-9);
            }
            prop_assert_eq!(kept, stratified_subset(&labels, 4, frac, seed));
        }

        #[test]
        fn cap_keeps_at_most_cap_per_class(
            labels in prop::collection::vec(0usize..4, 0..300),
            cap in 1usize..100,
            seed in any::<u64>(),
        ) {
            let kept = per_class_cap(&labels, 4, cap, seed);
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
            let all: Vec<usize> = (0..labels.len()).collect();
            let totals = class_counts(&labels, &all, 4);
            let got = class_counts(&labels, &kept, 4);
            for c in 0..4 {
                prop_assert_eq!(got[c], totals[c].min(cap));
            }
            prop_assert_eq!(kept, per_class_cap(&labels, 4, cap, seed));
        }
    }
}
