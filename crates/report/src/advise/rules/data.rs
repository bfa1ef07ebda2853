//! The data curve: whether accuracy still rose with the training-data fraction
//! ([`Check::DataScaling`]).

use crate::runs::RunSummary;

use crate::advise::context::{Ctx, Finished};
use crate::advise::evidence::{ci_half_width, curve, distinct_values, paired};
use crate::advise::format::{family_word, fmt_frac, pct, pts, secs};
use crate::advise::{skip, Basis, Check, Finding, Impact, Item, Outcome, Recommendation};

pub(crate) fn data_scaling(cx: &Ctx) -> Outcome {
    let Some(anchor) = cx.best else {
        return skip("no finished run");
    };
    let values = distinct_values(&cx.done, "train_fraction");
    if values.len() < 2 {
        return skip("no run varied train_fraction, so no data-scaling advice");
    }
    let Some(c) = curve_on_test(cx, anchor, "train_fraction") else {
        return skip(format!(
            "train_fraction was varied but not in runs of the best run's family ({}) with test reports",
            family_word(anchor.family)
        ));
    };
    let n = c.points.len();
    let ((f_lo, lo), (f_hi, hi)) = (c.points[n - 2], c.points[n - 1]);
    let list: Vec<String> = c
        .points
        .iter()
        .map(|&(v, r)| {
            format!(
                "{} → {} (`{}`)",
                fmt_frac(v),
                pct(r.test.accuracy),
                r.run.id
            )
        })
        .collect();
    let mut evidence = vec![format!(
        "Test accuracy by train_fraction ({}): {}.",
        c.caveats,
        list.join(", ")
    )];
    let gain = hi.test.accuracy - lo.test.accuracy;
    let (lo, hi) = (lo.run, hi.run);
    let rising = match paired(lo, hi) {
        Ok(p) => {
            evidence.push(format!(
                "Last step, train_fraction {} → {}: {}.",
                fmt_frac(f_lo),
                fmt_frac(f_hi),
                p.text()
            ));
            p.b_better()
        }
        Err(e) => {
            let hw = ci_half_width(hi);
            evidence.push(format!(
                "Last step, train_fraction {} → {}: {}; no paired test ({e}), so it is set against the {} half-width of `{}`'s bootstrap CI.",
                fmt_frac(f_lo),
                fmt_frac(f_hi),
                pts(gain),
                hw.map_or("unknown".into(), |h| pts(h).trim_start_matches('+').to_string()),
                hi.id
            ));
            hw.is_some_and(|h| gain > h)
        }
    };
    // A last step within chance does not end the story when the curve as a whole rose
    // beyond chance and that step still went up: the curve is then still rising, only
    // too noisily to resolve step by step at this test size.
    let (f_first, first) = c.points[0];
    let overall = if !rising && n > 2 && gain > 0.0 {
        match paired(first.run, hi) {
            Ok(p) => {
                let up = p.b_better();
                evidence.push(format!(
                    "Whole curve, train_fraction {} → {}: {}{}.",
                    fmt_frac(f_first),
                    fmt_frac(f_hi),
                    p.text(),
                    if up {
                        "; the curve rose beyond chance overall and its last step still went up"
                    } else {
                        ""
                    }
                ));
                up
            }
            Err(_) => false,
        }
    } else {
        false
    };
    let rising = rising || overall;
    let runs: Vec<String> = c.points.iter().map(|(_, r)| r.run.id.clone()).collect();
    if !rising {
        return Outcome::Fired(vec![Item::Finding(Finding {
            check: Check::DataScaling,
            title: format!(
                "Data is not the bottleneck at these sizes: the last step of the data curve ({} → {}) gained nothing beyond chance",
                fmt_frac(f_lo),
                fmt_frac(f_hi)
            ),
            evidence,
            runs,
        })]);
    }
    let next = (f_hi * 2.0).min(1.0);
    let try_flags = if f_hi < 1.0 {
        vec![format!("--subset-frac {}", fmt_frac(next))]
    } else {
        vec!["more labelled data (the largest run already used all of the training split)".into()]
    };
    let (cost_seconds, cost) = match hi.train_seconds {
        Some(s) if f_hi < 1.0 => (
            Some(s * (next / f_hi - 1.0)),
            format!(
                "training time grows about in proportion to the data (heuristic): `{}` trained {} at {}, so about {} more at {}.",
                hi.id,
                secs(s),
                fmt_frac(f_hi),
                secs(s * (next / f_hi - 1.0)),
                fmt_frac(next)
            ),
        ),
        _ => (None, "more data, and training time in proportion.".into()),
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::DataScaling,
        title: "Train on more data: the data curve is still rising".into(),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * gain,
            basis: Basis::Measured,
            how: format!(
                "the test-accuracy gain of the last step ({} → {}); the next doubling usually gains less.",
                fmt_frac(f_lo),
                fmt_frac(f_hi)
            ),
        },
        cost_seconds,
        cost,
        try_flags,
    })])
}

/// The data curve judged on test accuracy (the paired test needs test predictions).
struct TestCurve<'a> {
    /// How the points were chosen ([`Curve::caveats`](crate::advise::evidence::Curve::caveats)).
    caveats: String,
    /// The curve's points with a test report, at least two.
    points: Vec<(f64, Finished<'a>)>,
}

/// The curve of `key` through `anchor` on test accuracy, when at least two of its points
/// have a test report.
fn curve_on_test<'a>(
    cx: &Ctx<'a>,
    anchor: &RunSummary,
    key: &'static str,
) -> Option<TestCurve<'a>> {
    let c = curve(cx, anchor, key)?;
    let points: Vec<(f64, Finished)> = c
        .points
        .iter()
        .filter_map(|&(v, r)| Some((v, Finished::of(r)?)))
        .collect();
    (points.len() >= 2).then(|| TestCurve {
        caveats: c.caveats(),
        points,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::advise::fixture::*;
    use crate::advise::*;
    use crate::runs::{Family, RunSummary};

    fn fraction_runs(root: &Path, last_b_only: usize) -> Vec<RunSummary> {
        // 400 test rows; the 0.2 run is right on 300; the 0.4 run adds `last_b_only`.
        let (gold, a, b) = pair_preds(400, 298, 2, last_b_only);
        let mut r1 = with_params(
            run("f0.1", Family::Linear, 0.70),
            serde_json::json!({"model": "lr", "train_fraction": 0.1}),
        );
        r1.test = Some(binary_report(0.70, [0.68, 0.72]).into());
        let r2 = with_preds(
            with_params(
                run("f0.2", Family::Linear, 0.75),
                serde_json::json!({"model": "lr", "train_fraction": 0.2}),
            ),
            root,
            &gold,
            &a,
        );
        let mut r3 = with_preds(
            with_params(
                run("f0.4", Family::Linear, 0.80),
                serde_json::json!({"model": "lr", "train_fraction": 0.4}),
            ),
            root,
            &gold,
            &b,
        );
        r3.train_seconds = Some(10.0);
        vec![r1, r2, r3]
    }

    #[test]
    fn a_rising_data_curve_recommends_more_data() {
        let t = tempfile::tempdir().unwrap();
        let a = advise(&set(fraction_runs(t.path(), 40)), None);
        let d = rec(&a, Check::DataScaling);
        assert_has(
            &d.evidence,
            "0.1 → 70.00 % (`f0.1`), 0.2 → 75.00 % (`f0.2`), 0.4 → 84.50 % (`f0.4`)",
        );
        assert_has(
            &d.evidence,
            "Last step, train_fraction 0.2 → 0.4: +9.50 points",
        );
        assert_has(&d.evidence, "p < 0.0001");
        assert_eq!(d.try_flags, vec!["--subset-frac 0.8"]);
        assert_eq!(d.impact.basis, Basis::Measured);
        assert!((d.impact.points - 9.5).abs() < 1e-9);
        assert_eq!(d.cost_seconds, Some(10.0));
    }

    #[test]
    fn a_flat_data_curve_says_data_is_not_the_bottleneck() {
        let t = tempfile::tempdir().unwrap();
        let a = advise(&set(fraction_runs(t.path(), 4)), None);
        let f = finding(&a, Check::DataScaling);
        assert!(f.title.contains("not the bottleneck"), "{}", f.title);
        assert_has(&f.evidence, "+0.50 points");
        assert_has(&f.evidence, "exact binomial");
        assert!(a
            .recommendations
            .iter()
            .all(|r| r.check != Check::DataScaling));
    }

    #[test]
    fn a_curve_rising_overall_with_a_noisy_last_step_still_asks_for_more_data() {
        let t = tempfile::tempdir().unwrap();
        let frac = |id: &str, f: f64, right: usize| {
            let (gold, pred, _) = pair_preds(400, right, 0, 0);
            with_preds(
                with_params(
                    run(id, Family::Linear, right as f64 / 400.0),
                    serde_json::json!({"model": "lr", "train_fraction": f}),
                ),
                t.path(),
                &gold,
                &pred,
            )
        };
        let runs = vec![
            frac("f0.1", 0.1, 260),
            frac("f0.2", 0.2, 300),
            frac("f0.4", 0.4, 304),
        ];
        let a = advise(&set(runs), None);
        let d = rec(&a, Check::DataScaling);
        assert_has(
            &d.evidence,
            "Last step, train_fraction 0.2 → 0.4: +1.00 points",
        );
        assert_has(
            &d.evidence,
            "Whole curve, train_fraction 0.1 → 0.4: +11.00 points",
        );
        assert_has(&d.evidence, "rose beyond chance overall");
        assert!((d.impact.points - 1.0).abs() < 1e-9);
    }

    #[test]
    fn no_fraction_sweep_means_no_data_advice() {
        let a = advise(&set(vec![run("one", Family::Linear, 0.8)]), None);
        assert_eq!(
            not_fired(&a, Check::DataScaling),
            "no run varied train_fraction, so no data-scaling advice"
        );
        assert_all_checks_accounted(&a);
    }
}
