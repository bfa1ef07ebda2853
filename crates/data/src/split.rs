//! Deterministic, stratified splitting and subsampling of labelled rows.
//!
//! Every function takes a `u64` seed and draws from `ChaCha8Rng::seed_from_u64(seed)`, so
//! the same labels and seed give the same result on every platform and every run.
//! Labels are class ids; ids `>= num_classes` are tolerated (treated as further classes).

use rand::seq::{IndexedRandom, SliceRandom};
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
    subset_by(labels.len(), frac, |fracs| {
        stratified_split(labels, num_classes, fracs, seed)
    })
}

/// The first part of `split(&[frac, 1 - frac])`, ascending; everything for `frac >= 1`,
/// nothing for `frac <= 0` (or NaN).
fn subset_by(n: usize, frac: f64, split: impl FnOnce(&[f64]) -> Vec<Vec<usize>>) -> Vec<usize> {
    if frac >= 1.0 {
        return (0..n).collect();
    }
    if frac.is_nan() || frac <= 0.0 {
        return Vec::new();
    }
    let mut kept = split(&[frac, 1.0 - frac]).swap_remove(0);
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

/// Partitions the rows of a multi-label dataset (`sets[i]`: the label ids of row `i`) into
/// `fracs.len()` parts by iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011,
/// "On the stratification of multi-label data"): labels are taken rarest first, and each
/// row carrying the current label goes to the part that most lacks that label (ties: the
/// part that most lacks rows, then a seeded random choice). Rows with no label go to the
/// part that most lacks rows. Every part is then shuffled. Parts with a fraction of 0 stay
/// empty; deterministic in `seed`.
pub fn iterative_split(
    sets: &[Vec<usize>],
    num_labels: usize,
    fracs: &[f64],
    seed: u64,
) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); fracs.len()];
    let total: f64 = fracs.iter().map(|f| f.max(0.0)).sum();
    if fracs.is_empty() || total <= 0.0 {
        return parts;
    }
    let norm: Vec<f64> = fracs.iter().map(|f| f.max(0.0) / total).collect();
    let open: Vec<usize> = (0..fracs.len()).filter(|&j| norm[j] > 0.0).collect();
    let k = sets
        .iter()
        .flatten()
        .map(|&l| l + 1)
        .max()
        .unwrap_or(0)
        .max(num_labels);
    let mut label_rows: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.shuffle(&mut rng);
    for &i in &order {
        for &l in &sets[i] {
            label_rows[l].push(i);
        }
    }
    let mut want_rows: Vec<f64> = norm.iter().map(|f| f * sets.len() as f64).collect();
    let mut want: Vec<Vec<f64>> = label_rows
        .iter()
        .map(|rows| norm.iter().map(|f| f * rows.len() as f64).collect())
        .collect();
    let mut placed = vec![false; sets.len()];
    let mut left: Vec<usize> = label_rows.iter().map(Vec::len).collect();
    // The best open part by `key` (larger is better); exact ties broken at random.
    let pick = |key: &dyn Fn(usize) -> (f64, f64), rng: &mut ChaCha8Rng| -> usize {
        let best =
            open.iter()
                .map(|&j| key(j))
                .fold((f64::NEG_INFINITY, f64::NEG_INFINITY), |a, b| {
                    if b.0 > a.0 || (b.0 == a.0 && b.1 > a.1) {
                        b
                    } else {
                        a
                    }
                });
        let tied: Vec<usize> = open.iter().copied().filter(|&j| key(j) == best).collect();
        *tied.choose(rng).unwrap_or(&open[0])
    };
    while let Some(l) = (0..k)
        .filter(|&l| left[l] > 0)
        .min_by_key(|&l| (left[l], l))
    {
        let rows = std::mem::take(&mut label_rows[l]);
        for &i in &rows {
            if placed[i] {
                continue;
            }
            let j = pick(&|j| (want[l][j], want_rows[j]), &mut rng);
            placed[i] = true;
            parts[j].push(i);
            want_rows[j] -= 1.0;
            for &m in &sets[i] {
                want[m][j] -= 1.0;
                left[m] -= 1;
            }
        }
    }
    for &i in &order {
        if !placed[i] {
            let j = pick(&|j| (want_rows[j], 0.0), &mut rng);
            parts[j].push(i);
            want_rows[j] -= 1.0;
        }
    }
    for part in &mut parts {
        part.shuffle(&mut rng);
    }
    parts
}

/// Keeps about `frac` of a multi-label dataset by [`iterative_split`], so every label keeps
/// about that share of its rows. Returns ascending indices.
pub fn iterative_subset(
    sets: &[Vec<usize>],
    num_labels: usize,
    frac: f64,
    seed: u64,
) -> Vec<usize> {
    subset_by(sets.len(), frac, |fracs| {
        iterative_split(sets, num_labels, fracs, seed)
    })
}

/// `--per-class` for multi-label data: labels are visited rarest first, and rows carrying
/// the label (in a seeded random order) are kept until `cap` kept rows carry it. A row
/// kept for one label counts for all of its labels, so a common label that co-occurs with
/// rarer ones can end above `cap`; rows with no label are capped at `cap` as if "no label"
/// were a label of its own. Returns ascending indices.
pub fn per_label_cap(sets: &[Vec<usize>], num_labels: usize, cap: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = sets
        .iter()
        .flatten()
        .map(|&l| l + 1)
        .max()
        .unwrap_or(0)
        .max(num_labels);
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.shuffle(&mut rng);
    let mut total = vec![0usize; k + 1];
    for s in sets {
        if s.is_empty() {
            total[k] += 1;
        }
        for &l in s {
            total[l] += 1;
        }
    }
    let mut labels: Vec<usize> = (0..=k).collect();
    labels.sort_by_key(|&l| (total[l], l));
    let mut kept_for = vec![0usize; k + 1];
    let mut keep = vec![false; sets.len()];
    for l in labels {
        for &i in &order {
            if kept_for[l] >= cap {
                break;
            }
            let has = if l == k {
                sets[i].is_empty()
            } else {
                sets[i].contains(&l)
            };
            if has && !keep[i] {
                keep[i] = true;
                if sets[i].is_empty() {
                    kept_for[k] += 1;
                }
                for &m in &sets[i] {
                    kept_for[m] += 1;
                }
            }
        }
    }
    (0..sets.len()).filter(|&i| keep[i]).collect()
}

/// How many bins [`target_bins`] uses: splits and subsets of regression data are stratified
/// by these quantile bins of the target.
pub const TARGET_BINS: usize = 10;

/// The quantile bin (`0..bins`) of each target: rows sorted by target (ties by row) and cut
/// into `bins` runs of equal size, so splits stratified by bin keep the target's spread in
/// every part.
pub fn target_bins(scores: &[f32], bins: usize) -> Vec<usize> {
    let n = scores.len();
    let bins = bins.clamp(1, n.max(1));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let mut out = vec![0; n];
    for (rank, &i) in order.iter().enumerate() {
        out[i] = rank * bins / n;
    }
    out
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

    fn label_share(sets: &[Vec<usize>], idx: &[usize], l: usize) -> usize {
        idx.iter().filter(|&&i| sets[i].contains(&l)).count()
    }

    fn multilabel_sets(n: usize, seed: u64) -> Vec<Vec<usize>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        use rand::Rng;
        (0..n)
            .map(|_| {
                let mut s: Vec<usize> = (0..6)
                    .filter(|&l| rng.random::<f64>() < [0.5, 0.3, 0.1, 0.05, 0.02, 0.2][l])
                    .collect();
                s.sort_unstable();
                s
            })
            .collect()
    }

    #[test]
    fn iterative_split_keeps_every_label_near_its_share() {
        let sets = multilabel_sets(2000, 3);
        let parts = iterative_split(&sets, 6, &[0.8, 0.1, 0.1], 7);
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..2000).collect::<Vec<_>>());
        assert!(
            (parts[0].len() as i64 - 1600).abs() <= 2,
            "{}",
            parts[0].len()
        );
        for l in 0..6 {
            let total = label_share(&sets, &all, l) as f64;
            for (j, f) in [0.8, 0.1, 0.1].iter().enumerate() {
                let got = label_share(&sets, &parts[j], l) as f64;
                assert!(
                    (got - f * total).abs() <= 1.0 + 1e-9,
                    "label {l} part {j}: {got} of {total}"
                );
            }
        }
        assert_eq!(parts, iterative_split(&sets, 6, &[0.8, 0.1, 0.1], 7));
        assert_ne!(parts, iterative_split(&sets, 6, &[0.8, 0.1, 0.1], 8));
        let none = iterative_split(&sets, 6, &[0.9, 0.0, 0.1], 7);
        assert!(none[1].is_empty());
    }

    #[test]
    fn per_label_cap_reaches_the_cap_for_rare_labels() {
        let sets = multilabel_sets(2000, 5);
        let kept = per_label_cap(&sets, 6, 20, 1);
        for l in 0..6 {
            let avail = label_share(&sets, &(0..2000).collect::<Vec<_>>(), l);
            assert!(label_share(&sets, &kept, l) >= avail.min(20), "label {l}");
        }
        let empty = kept.iter().filter(|&&i| sets[i].is_empty()).count();
        assert!(empty <= 20);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn multi_label_subsets_keep_every_labels_share() {
        let sets = multilabel_sets(2000, 4);
        let all: Vec<usize> = (0..2000).collect();
        for frac in [0.1, 0.25, 0.5] {
            let kept = iterative_subset(&sets, 6, frac, 3);
            assert!(kept.windows(2).all(|w| w[0] < w[1]));
            assert!(
                (kept.len() as f64 - frac * 2000.0).abs() <= 2.0,
                "{frac}: {}",
                kept.len()
            );
            for l in 0..6 {
                let total = label_share(&sets, &all, l) as f64;
                let got = label_share(&sets, &kept, l) as f64;
                assert!(
                    (got - frac * total).abs() <= 1.0 + 1e-9,
                    "label {l} at {frac}: {got} of {total}"
                );
            }
        }
        assert_eq!(iterative_subset(&sets, 6, 1.0, 3), all);
        assert!(iterative_subset(&sets, 6, 0.0, 3).is_empty());
    }

    #[test]
    fn single_label_and_regression_subsets_are_nested() {
        // What a sweep's train_fraction relies on for single-label and regression data:
        // a smaller fraction keeps a subset of the rows of a larger one.
        let labels: Vec<usize> = (0..997).map(|i| (i * 7 + i / 3) % 5).collect();
        let scores: Vec<f32> = (0..997).map(|i| ((i * 131) % 997) as f32 / 100.0).collect();
        let bins = target_bins(&scores, TARGET_BINS);
        for (ids, k) in [(&labels, 5), (&bins, TARGET_BINS)] {
            let small = stratified_subset(ids, k, 0.25, 11);
            let large = stratified_subset(ids, k, 0.5, 11);
            assert!(small.iter().all(|i| large.binary_search(i).is_ok()));
            assert!(small.len() < large.len());
        }
    }

    #[test]
    fn regression_per_class_caps_each_decile_of_the_target() {
        let scores: Vec<f32> = (0..1000).map(|i| ((i * 37) % 1000) as f32).collect();
        let bins = target_bins(&scores, TARGET_BINS);
        let kept = per_class_cap(&bins, TARGET_BINS, 7, 5);
        assert_eq!(kept.len(), 70);
        for b in 0..TARGET_BINS {
            assert_eq!(
                kept.iter().filter(|&&i| bins[i] == b).count(),
                7,
                "decile {b}"
            );
        }
        // The lowest and highest kept targets come from the lowest and highest deciles.
        let lo = kept.iter().map(|&i| scores[i]).fold(f32::MAX, f32::min);
        let hi = kept.iter().map(|&i| scores[i]).fold(f32::MIN, f32::max);
        assert!(lo < 100.0 && hi >= 900.0, "{lo} {hi}");
    }

    #[test]
    fn target_bins_are_equal_quantiles() {
        let scores: Vec<f32> = (0..100).map(|i| ((i * 37) % 100) as f32 / 10.0).collect();
        let bins = target_bins(&scores, 10);
        for b in 0..10 {
            assert_eq!(bins.iter().filter(|&&x| x == b).count(), 10);
        }
        let lowest = (0..100)
            .min_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap();
        assert_eq!(bins[lowest], 0);
        assert_eq!(target_bins(&[1.0, 2.0], 10), vec![0, 1]);
        assert!(target_bins(&[], 10).is_empty());
    }
}
