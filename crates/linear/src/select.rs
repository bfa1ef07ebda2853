//! Choosing the regularisation strength on held-out rows, shared by the multi-label and
//! regression models: every value of the grid is fitted (side by side, or in ascending
//! order when each fit starts from the one before: multi-label LR) and scored, the
//! best score wins (ties: the smaller C, the more regularised model), and when the best C
//! is at an edge of the grid the grid is extended that way as the single-label models do
//! ([`crate::model::extend_grid`]).

use rayon::prelude::*;

use crate::model::{extend_grid, GridExtension};

/// The outcome of a search.
pub(crate) struct Searched<M, P> {
    pub c: f64,
    pub model: M,
    /// Every C tried with what its fit reported, by increasing C.
    pub points: Vec<(f64, P)>,
    pub extension: Option<GridExtension>,
}

/// Fits every C of `grid` with `fit`, which returns the model, what to report and the
/// score (higher is better; NaN counts as worst). With `extend`, the grid is extended
/// while the best C is at its edge. The grid's points are fitted side by side, or one
/// after another in ascending order when `in_order` (a fit that starts from the one
/// before).
pub(crate) fn search<M: Send, P: Send>(
    grid: &[f64],
    extend: bool,
    in_order: bool,
    fit: &(dyn Fn(f64) -> (M, P, f64) + Sync),
) -> Searched<M, P> {
    let mut grid = grid.to_vec();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let one = |&c: &f64| {
        let (m, p, s) = fit(c);
        (c, m, p, s)
    };
    let fitted: Vec<(f64, M, P, f64)> = if in_order {
        grid.iter().map(one).collect()
    } else {
        grid.par_iter().map(one).collect()
    };
    let mut best: Option<(f64, f64, M)> = None;
    let mut points = vec![];
    let mut consider = |c: f64, m: M, p: P, s: f64, best: &mut Option<(f64, f64, M)>| {
        let s = if s.is_nan() { f64::NEG_INFINITY } else { s };
        let better = match best {
            None => true,
            Some((bc, bs, _)) => s > *bs + 1e-12 || ((s - *bs).abs() <= 1e-12 && c < *bc),
        };
        if better {
            *best = Some((c, s, m));
        }
        points.push((c, p));
    };
    for (c, m, p, s) in fitted {
        consider(c, m, p, s, &mut best);
    }
    let extension = if extend {
        let best_c = best.as_ref().map_or(f64::NAN, |b| b.0);
        extend_grid(&grid, best_c, |c| {
            let (m, p, s) = fit(c);
            consider(c, m, p, s, &mut best);
            best.as_ref().map_or(f64::NAN, |b| b.0)
        })
    } else {
        None
    };
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (c, _, model) = best.expect("the grid is not empty");
    Searched {
        c,
        model,
        points,
        extension,
    }
}

/// Indices of a seeded random holdout of `frac` of `n` rows (at least one row, and at
/// least one row left to fit on): (fit rows, held-out rows), each ascending.
pub(crate) fn random_holdout(n: usize, frac: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
        seed ^ 0x686f_6c64,
    ));
    let h = ((n as f64 * frac).round() as usize).clamp(1, n.saturating_sub(1));
    let mut hold = idx[..h.min(n)].to_vec();
    let mut fit = idx[h.min(n)..].to_vec();
    hold.sort_unstable();
    fit.sort_unstable();
    (fit, hold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_score_then_smaller_c_and_extension() {
        // Score peaks at C = 4 and is flat above it: 4 wins over the tie at 16.
        let f = |c: f64| ((), c, if c >= 4.0 { 1.0 } else { c / 4.0 });
        let s = search(&[16.0, 1.0, 4.0], true, false, &f);
        assert_eq!(s.c, 4.0);
        assert!(s.extension.is_none());
        assert_eq!(
            s.points.iter().map(|p| p.0).collect::<Vec<_>>(),
            [1.0, 4.0, 16.0]
        );
        // Rising score: extended upwards; NaN counts as worst.
        let f = |c: f64| ((), (), if c > 100.0 { f64::NAN } else { c });
        let s = search(&[1.0, 4.0], true, false, &f);
        assert_eq!(s.c, 64.0);
        let ext = s.extension.unwrap();
        assert_eq!(ext.added, vec![16.0, 64.0, 256.0]);
        assert!(!ext.stopped_by_bound);
    }

    #[test]
    fn holdout_keeps_rows_on_both_sides() {
        let (f, h) = random_holdout(10, 0.2, 1);
        assert_eq!((f.len(), h.len()), (8, 2));
        let (f, h) = random_holdout(2, 0.01, 1);
        assert_eq!((f.len(), h.len()), (1, 1));
    }
}
