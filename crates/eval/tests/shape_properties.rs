//! Properties of the multi-label, threshold, regression and MCC metrics on many seeded
//! random inputs, each checked against a slow, obvious implementation; and the edge
//! cases (one row, constant predictions, empty input).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use textclf_core::LabelSet;
use textclf_eval::{
    apply_thresholds, evaluate_mcc, evaluate_multilabel, evaluate_regression, matthews_corrcoef,
    tune_thresholds, EvalError, EvalOptions, LabelMatrix,
};

fn labels(k: usize) -> LabelSet {
    LabelSet::new((0..k).map(|c| format!("l{c}")).collect()).unwrap()
}

fn no_bootstrap() -> EvalOptions {
    EvalOptions {
        bootstrap: 0,
        ..EvalOptions::default()
    }
}

#[track_caller]
fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} != {b}");
}

/// Random gold/predictions/scores; scores on a coarse grid so that many tie.
fn random_multilabel(
    rng: &mut ChaCha8Rng,
    n: usize,
    k: usize,
) -> (LabelMatrix, LabelMatrix, Vec<f32>) {
    let gold: Vec<bool> = (0..n * k).map(|_| rng.random_bool(0.3)).collect();
    let scores: Vec<f32> = gold
        .iter()
        .map(|&g| {
            let s = if g { 0.3 } else { 0.0 } + rng.random_range(0..8) as f32 / 10.0;
            (s * 10.0).round() / 10.0
        })
        .collect();
    let pred: Vec<bool> = scores.iter().map(|&s| s >= 0.5).collect();
    (
        LabelMatrix::new(k, gold).unwrap(),
        LabelMatrix::new(k, pred).unwrap(),
        scores,
    )
}

/// P(score of a positive > score of a negative), ties counting ½, by counting pairs.
fn auc_by_pairs(gold: &[bool], scores: &[f32]) -> Option<f64> {
    let (mut wins, mut pairs) = (0.0, 0u64);
    for (i, &gi) in gold.iter().enumerate() {
        for (j, &gj) in gold.iter().enumerate() {
            if gi && !gj {
                pairs += 1;
                wins += match scores[i].partial_cmp(&scores[j]).unwrap() {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                };
            }
        }
    }
    (pairs > 0).then(|| wins / pairs as f64)
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if 2 * tp + fp + fn_ == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    }
}

#[test]
fn multilabel_metrics_agree_with_obvious_implementations() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    for round in 0..40 {
        let (n, k) = (rng.random_range(1..40), rng.random_range(1..6));
        let (gold, pred, scores) = random_multilabel(&mut rng, n, k);
        let r =
            evaluate_multilabel(&gold, &pred, Some(&scores), &labels(k), &no_bootstrap()).unwrap();
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        let mut macro_sum = 0.0;
        for c in 0..k {
            let count = |g: bool, p: bool| {
                (0..n)
                    .filter(|&i| gold.get(i, c) == g && pred.get(i, c) == p)
                    .count()
            };
            let (t, f, m) = (count(true, true), count(false, true), count(true, false));
            close(r.per_label[c].f1, f1(t, f, m));
            macro_sum += f1(t, f, m);
            tp += t;
            fp += f;
            fn_ += m;
            let g: Vec<bool> = (0..n).map(|i| gold.get(i, c)).collect();
            let s: Vec<f32> = (0..n).map(|i| scores[i * k + c]).collect();
            match (r.per_label[c].roc_auc, auc_by_pairs(&g, &s)) {
                (Some(a), Some(b)) => close(a, b),
                (a, b) => assert_eq!(a, b, "round {round}, label {c}"),
            }
        }
        close(r.micro.f1, f1(tp, fp, fn_));
        close(r.macro_avg.f1, macro_sum / k as f64);
        let micro_auc = auc_by_pairs(gold.as_slice(), &scores);
        match (r.roc_auc.as_ref().unwrap().micro, micro_auc) {
            (Some(a), Some(b)) => close(a, b),
            (a, b) => assert_eq!(a, b),
        }
        let samples: f64 = (0..n)
            .map(|i| {
                let both = (0..k).filter(|&c| gold.get(i, c) && pred.get(i, c)).count();
                let g = (0..k).filter(|&c| gold.get(i, c)).count();
                let p = (0..k).filter(|&c| pred.get(i, c)).count();
                f1(both, p - both, g - both)
            })
            .sum::<f64>()
            / n as f64;
        close(r.samples.f1, samples);
        // Sets and dense matrices are two views of the same thing.
        assert_eq!(LabelMatrix::from_sets(k, &gold.to_sets()).unwrap(), gold);
    }
}

#[test]
fn tuned_thresholds_beat_every_candidate_and_prefer_the_highest() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..40 {
        let (n, k) = (rng.random_range(1..30), rng.random_range(1..5));
        let (gold, _, scores) = random_multilabel(&mut rng, n, k);
        let t = tune_thresholds(&gold, &scores, &labels(k), 0.5).unwrap();
        for c in 0..k {
            let g: Vec<bool> = (0..n).map(|i| gold.get(i, c)).collect();
            let s: Vec<f32> = (0..n).map(|i| scores[i * k + c]).collect();
            let f1_at = |th: f32| {
                let tp = (0..n).filter(|&i| g[i] && s[i] >= th).count();
                let fp = (0..n).filter(|&i| !g[i] && s[i] >= th).count();
                let fn_ = (0..n).filter(|&i| g[i] && s[i] < th).count();
                f1(tp, fp, fn_)
            };
            let chosen = &t.labels[c];
            if !g.iter().any(|&x| x) {
                assert!(!chosen.tuned);
                assert_eq!(chosen.threshold, 0.5);
                continue;
            }
            assert!(chosen.tuned);
            assert!(
                s.contains(&chosen.threshold),
                "a candidate is a validation score"
            );
            close(chosen.f1, f1_at(chosen.threshold));
            for &cand in &s {
                let f = f1_at(cand);
                assert!(f <= chosen.f1 + 1e-12);
                if f == chosen.f1 {
                    assert!(cand <= chosen.threshold, "ties go to the highest threshold");
                }
            }
        }
        // Applying the thresholds gives the predictions the F1 values were measured on.
        let pred = apply_thresholds(&scores, &t.values()).unwrap();
        let r = evaluate_multilabel(&gold, &pred, None, &labels(k), &no_bootstrap()).unwrap();
        for (c, l) in t.labels.iter().enumerate() {
            close(r.per_label[c].f1, l.f1);
        }
    }
}

/// Average 1-based ranks by counting, O(n²).
fn ranks_by_counting(v: &[f64]) -> Vec<f64> {
    v.iter()
        .map(|&x| {
            let below = v.iter().filter(|&&y| y < x).count() as f64;
            let equal = v.iter().filter(|&&y| y == x).count() as f64;
            below + (equal + 1.0) / 2.0
        })
        .collect()
}

fn pearson_plain(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
    sxy / (sxx * syy).sqrt()
}

#[test]
fn spearman_is_pearson_of_average_ranks() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..40 {
        let n = rng.random_range(3..50);
        let gold: Vec<f64> = (0..n)
            .map(|_| f64::from(rng.random_range(0..6u8)))
            .collect();
        let pred: Vec<f64> = gold
            .iter()
            .map(|g| g + f64::from(rng.random_range(0..4u8)) / 2.0)
            .collect();
        let r = evaluate_regression(&gold, &pred, &EvalOptions::default()).unwrap();
        let constant = |v: &[f64]| v.iter().all(|&x| x == v[0]);
        if constant(&gold) || constant(&pred) {
            assert_eq!(r.spearman, None);
            continue;
        }
        let expected = pearson_plain(&ranks_by_counting(&gold), &ranks_by_counting(&pred));
        assert!((r.spearman.unwrap() - expected).abs() < 1e-12);
        assert!((r.pearson.unwrap() - pearson_plain(&gold, &pred)).abs() < 1e-12);
        let [lo, hi] = r.ci.spearman.unwrap();
        assert!((-1.0..=1.0).contains(&lo) && lo <= hi && hi <= 1.0);
    }
}

#[test]
fn binary_mcc_is_the_phi_coefficient() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..40 {
        let n = rng.random_range(2..60);
        let gold: Vec<usize> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let pred: Vec<usize> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let count =
            |g: usize, p: usize| (0..n).filter(|&i| gold[i] == g && pred[i] == p).count() as f64;
        let (tp, tn, fp, fn_) = (count(1, 1), count(0, 0), count(0, 1), count(1, 0));
        let den = ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt();
        let phi = if den == 0.0 {
            0.0
        } else {
            (tp * tn - fp * fn_) / den
        };
        assert!((matthews_corrcoef(&gold, &pred, 2).unwrap() - phi).abs() < 1e-12);
    }
}

#[test]
fn edge_cases() {
    let l = labels(3);
    // One row.
    let g = LabelMatrix::from_sets(3, &[vec![0, 2]]).unwrap();
    let p = LabelMatrix::from_sets(3, &[vec![0]]).unwrap();
    let r =
        evaluate_multilabel(&g, &p, Some(&[0.9, 0.1, 0.4]), &l, &EvalOptions::default()).unwrap();
    close(r.micro.f1, 2.0 / 3.0);
    assert_eq!(
        r.roc_auc.as_ref().unwrap().macro_auc,
        None,
        "one row: no label has both classes"
    );
    assert_eq!(r.roc_auc.as_ref().unwrap().skipped.len(), 3);
    // Pooled cells: positives 0.9 and 0.4 both above the negative 0.1.
    close(r.roc_auc.unwrap().micro.unwrap(), 1.0);
    // A model that never predicts anything: every F1 0, Hamming loss = gold cardinality / k.
    let gold = LabelMatrix::from_sets(3, &[vec![0], vec![1, 2], vec![]]).unwrap();
    let nothing = LabelMatrix::new(3, vec![false; 9]).unwrap();
    let r = evaluate_multilabel(&gold, &nothing, None, &l, &EvalOptions::default()).unwrap();
    assert_eq!((r.micro.f1, r.macro_avg.f1, r.samples.f1), (0.0, 0.0, 0.0));
    close(r.hamming_loss, 3.0 / 9.0);
    close(r.subset_accuracy, 1.0 / 3.0);
    assert_eq!(r.ci.micro_f1, [0.0, 0.0]);
    // Constant predictions in single-label and regression.
    assert_eq!(
        evaluate_mcc(&[0, 1, 2], &[1, 1, 1], 3, &EvalOptions::default())
            .unwrap()
            .mcc,
        0.0
    );
    let r = evaluate_regression(&[1.0, 2.0, 3.0], &[0.0; 3], &EvalOptions::default()).unwrap();
    assert_eq!((r.pearson, r.spearman), (None, None));
    assert!(r.r2.unwrap() < 0.0);
    // Empty inputs say so.
    let empty = LabelMatrix::new(3, vec![]).unwrap();
    for e in [
        evaluate_multilabel(&empty, &empty, None, &l, &EvalOptions::default()).unwrap_err(),
        evaluate_regression(&[], &[], &EvalOptions::default()).unwrap_err(),
        evaluate_mcc(&[], &[], 2, &EvalOptions::default()).unwrap_err(),
    ] {
        assert!(matches!(e, EvalError::Empty));
        assert!(e.to_string().contains("empty test set"), "{e}");
    }
    // A bad confidence level is refused by every shape.
    let bad = EvalOptions {
        confidence: 1.5,
        ..EvalOptions::default()
    };
    assert!(evaluate_multilabel(&gold, &nothing, None, &l, &bad).is_err());
    assert!(evaluate_regression(&[1.0, 2.0], &[1.0, 2.0], &bad).is_err());
    assert!(evaluate_mcc(&[0, 1], &[0, 1], 2, &bad).is_err());
}

#[test]
fn intervals_are_seeded_and_cover_the_estimates() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (gold, pred, _) = random_multilabel(&mut rng, 400, 5);
    let o = EvalOptions::default();
    let a = evaluate_multilabel(&gold, &pred, None, &labels(5), &o).unwrap();
    let b = evaluate_multilabel(&gold, &pred, None, &labels(5), &o).unwrap();
    assert_eq!(a.ci, b.ci);
    assert!(a.ci.micro_f1[0] < a.micro.f1 && a.micro.f1 < a.ci.micro_f1[1]);
    assert!(a.ci.macro_f1[0] < a.macro_avg.f1 && a.macro_avg.f1 < a.ci.macro_f1[1]);
    let c = evaluate_multilabel(
        &gold,
        &pred,
        None,
        &labels(5),
        &EvalOptions { seed: 1, ..o },
    )
    .unwrap();
    assert_ne!(a.ci, c.ci);
}

/// GoEmotions-sized multi-label test set and an STS-B-sized ×10 regression one, 1000
/// resamples each. Run with
/// `cargo test -p textclf-eval --release --test shape_properties -- --ignored --nocapture`.
#[test]
#[ignore]
fn bootstrap_speed() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (gold, pred, scores) = random_multilabel(&mut rng, 5427, 28);
    let t = std::time::Instant::now();
    let r = evaluate_multilabel(
        &gold,
        &pred,
        Some(&scores),
        &labels(28),
        &EvalOptions::default(),
    )
    .unwrap();
    let ml = t.elapsed().as_secs_f64();
    let gold: Vec<f64> = (0..15_000)
        .map(|_| f64::from(rng.random_range(0..26u8)) / 5.0)
        .collect();
    let pred: Vec<f64> = gold
        .iter()
        .map(|g| g + rng.random_range(-1.0..1.0))
        .collect();
    let t = std::time::Instant::now();
    let rr = evaluate_regression(&gold, &pred, &EvalOptions::default()).unwrap();
    let reg = t.elapsed().as_secs_f64();
    println!(
        "multi-label 5,427 × 28: {ml:.3} s (micro F1 CI {:?}); regression 15,000 rows: {reg:.3} s (Spearman CI {:?})",
        r.ci.micro_f1, rr.ci.spearman
    );
    assert!(ml < 2.0 && reg < 5.0);
}
