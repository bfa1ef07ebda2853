//! Model choice: a smaller transformer as accurate as a larger one
//! ([`Check::SmallerModel`]), and the best transformer against the best linear baseline
//! ([`Check::BaselineComparison`]).

use crate::runs::{Family, RunSummary};

use crate::advise::context::{Ctx, Finished};
use crate::advise::evidence::{completed_epochs, paired};
use crate::advise::flags::flags_for;
use crate::advise::format::{fmt_int, fmt_params, level_text, pct, pct1, pts, secs};
use crate::advise::{skip, Basis, Check, Finding, Impact, Item, Outcome, Recommendation, ALPHA};

pub(crate) fn smaller_model(cx: &Ctx) -> Outcome {
    let Some(big) = cx.focus else {
        return skip("no finished transformer run");
    };
    let size = |r: &RunSummary| -> Option<(f64, &'static str)> {
        match (r.parameters, big.parameters) {
            (Some(p), Some(_)) => Some((p as f64, "parameters")),
            _ => r.param_f64("layers").map(|l| (l, "layers")),
        }
    };
    let Some((big_size, unit)) = size(big) else {
        return skip(format!(
            "`{}` records neither its parameter count nor its layers",
            big.id
        ));
    };
    let smaller: Vec<Finished> = cx
        .of_family(Family::Transformer)
        .into_iter()
        .filter(|r| r.id != big.id)
        .filter(|r| size(r).is_some_and(|(s, u)| u == unit && s < big_size))
        .filter_map(Finished::of)
        .collect();
    if smaller.is_empty() {
        return skip(format!(
            "no finished transformer run is smaller than the best transformer `{}` ({})",
            big.id,
            describe_size(big)
        ));
    }
    let Some(big_test) = big.single() else {
        return skip(format!("`{}` has no test report", big.id));
    };
    let big_acc = big_test.accuracy;
    let mut tied: Vec<(Finished, String)> = Vec::new();
    let mut reasons = Vec::new();
    for small in smaller {
        let (s, s_acc) = (small.run, small.test.accuracy);
        match paired(big, s) {
            Ok(p) if p.a_better() => reasons.push(format!(
                "`{}` ({}) is less accurate than `{}`: {}",
                s.id,
                describe_size(s),
                big.id,
                p.text()
            )),
            Ok(p) => tied.push((
                small,
                format!(
                    "`{}` − `{}` on test: {}; not significantly worse at α = {ALPHA}.",
                    s.id,
                    big.id,
                    p.text()
                ),
            )),
            Err(e) => {
                let inside = big_test.ci.resamples > 0 && s_acc >= big_test.ci.accuracy[0];
                let ci = big_test.ci.accuracy;
                let sentence = format!(
                    "`{}` test accuracy {} vs `{}` {} ({} CI {} to {}); no paired test ({e}).",
                    s.id,
                    pct(s_acc),
                    big.id,
                    pct(big_acc),
                    level_text(big_test.ci.level),
                    pct(ci[0]),
                    pct(ci[1])
                );
                if inside {
                    tied.push((small, sentence));
                } else {
                    reasons.push(sentence);
                }
            }
        }
    }
    // The cheapest tie: fewest seconds per epoch, then smallest.
    let cheapest = tied.into_iter().min_by(|(a, _), (b, _)| {
        let ta = a.run.seconds_per_epoch.unwrap_or(f64::INFINITY);
        let tb = b.run.seconds_per_epoch.unwrap_or(f64::INFINITY);
        ta.total_cmp(&tb).then_with(|| {
            size(a.run)
                .map(|x| x.0)
                .unwrap_or(f64::INFINITY)
                .total_cmp(&size(b.run).map(|x| x.0).unwrap_or(f64::INFINITY))
        })
    });
    let Some((
        Finished {
            run: s,
            test: s_test,
        },
        test_sentence,
    )) = cheapest
    else {
        return skip(reasons.join("; "));
    };
    let mut evidence = vec![
        format!(
            "`{}`: {}, test accuracy {}; `{}`: {}, test accuracy {}.",
            s.id,
            describe_size(s),
            pct(s_test.accuracy),
            big.id,
            describe_size(big),
            pct(big_acc)
        ),
        test_sentence,
    ];
    let (cost_seconds, cost) = match (s.seconds_per_epoch, big.seconds_per_epoch) {
        (Some(a), Some(b)) => {
            evidence.push(format!(
                "Training time per epoch: {} (`{}`) vs {} (`{}`), {} less.",
                secs(a),
                s.id,
                secs(b),
                big.id,
                pct1(1.0 - a / b)
            ));
            let epochs = completed_epochs(big).max(1) as f64;
            (
                Some((a - b) * epochs),
                format!(
                    "saves {} per epoch (measured), about {} over {} epochs.",
                    secs(b - a),
                    secs((b - a) * epochs),
                    fmt_int(epochs)
                ),
            )
        }
        _ => (
            None,
            "cheaper to train and to run (time per epoch not recorded for both).".into(),
        ),
    };
    let mut try_flags = flags_for(s, big);
    if try_flags.is_empty() {
        try_flags.push(format!("the settings of `{}`", s.id));
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::SmallerModel,
        title: format!(
            "Prefer the smaller model `{}`: it is as accurate within chance",
            s.id
        ),
        evidence,
        runs: vec![s.id.clone(), big.id.clone()],
        impact: Impact {
            points: 0.0,
            basis: Basis::Measured,
            how: format!(
                "no accuracy difference beyond chance (measured {}); the gain is speed.",
                pts(s_test.accuracy - big_acc)
            ),
        },
        cost_seconds,
        cost,
        try_flags,
    })])
}

fn describe_size(r: &RunSummary) -> String {
    let mut parts = Vec::new();
    if let Some(p) = r.parameters {
        parts.push(fmt_params(p));
    }
    if let Some(l) = r.param_f64("layers") {
        parts.push(format!("{} layers", fmt_int(l)));
    }
    if parts.is_empty() {
        "size unknown".into()
    } else {
        parts.join(", ")
    }
}

pub(crate) fn baseline_comparison(cx: &Ctx) -> Outcome {
    let Some(Finished {
        run: t,
        test: t_test,
    }) = cx.focus.and_then(Finished::of)
    else {
        return skip("no finished transformer run with a test report");
    };
    let linear: Vec<Finished> = cx
        .of_family(Family::Linear)
        .into_iter()
        .filter_map(Finished::of)
        .collect();
    let Some(Finished {
        run: l,
        test: l_test,
    }) = cx.pick_finished(&linear)
    else {
        return skip("no finished linear baseline with a test report to compare against");
    };
    let (ta, la) = (t_test.accuracy, l_test.accuracy);
    let mut evidence = vec![format!(
        "Best transformer `{}` ({}): test accuracy {}; best linear baseline `{}` ({}): {}.",
        t.id,
        t.model,
        pct(ta),
        l.id,
        l.model,
        pct(la)
    )];
    // b = transformer, a = linear: diff = transformer − linear.
    let verdict = match paired(l, t) {
        Ok(p) => {
            evidence.push(format!("Transformer − baseline: {}.", p.text()));
            if p.b_better() {
                Verdict::TransformerBetter(p.diff)
            } else if p.a_better() {
                Verdict::BaselineBetter(-p.diff)
            } else {
                Verdict::Tie
            }
        }
        Err(e) => {
            let (ci_t, ci_l) = (t_test.ci.accuracy, l_test.ci.accuracy);
            evidence.push(format!(
                "No paired test ({e}); comparing bootstrap CIs instead (less sensitive): transformer {} to {}, baseline {} to {}.",
                pct(ci_t[0]),
                pct(ci_t[1]),
                pct(ci_l[0]),
                pct(ci_l[1])
            ));
            if ci_t[0] > ci_l[1] {
                Verdict::TransformerBetter(ta - la)
            } else if ci_l[0] > ci_t[1] {
                Verdict::BaselineBetter(la - ta)
            } else {
                Verdict::Tie
            }
        }
    };
    let runs = vec![t.id.clone(), l.id.clone()];
    let (tt, lt) = (t.total_seconds, l.total_seconds);
    if let (Some(a), Some(b)) = (tt, lt) {
        evidence.push(format!(
            "Run time: {} (`{}`) vs {} (`{}`).",
            secs(a),
            t.id,
            secs(b),
            l.id
        ));
    }
    let cost_seconds = match (tt, lt) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let cost = match cost_seconds {
        Some(d) if d < 0.0 => format!("saves {} per run (measured).", secs(-d)),
        Some(d) => format!("{} more per run (measured).", secs(d)),
        None => "the baseline is usually far cheaper (run times not recorded for both).".into(),
    };
    match verdict {
        Verdict::TransformerBetter(d) => Outcome::Fired(vec![Item::Finding(Finding {
            check: Check::BaselineComparison,
            title: format!(
                "The transformer beats the linear baseline by {} beyond chance",
                pts(d)
            ),
            evidence,
            runs,
        })]),
        Verdict::Tie => Outcome::Fired(vec![Item::Rec(Recommendation {
            rank: 0,
            check: Check::BaselineComparison,
            title: "The transformer does not beat the linear baseline beyond chance: keep the baseline as the reference (or report both as tied)".into(),
            evidence,
            runs,
            impact: Impact {
                points: 0.0,
                basis: Basis::Measured,
                how: format!(
                    "no difference beyond chance (measured {}).",
                    pts(ta - la)
                ),
            },
            cost_seconds,
            cost,
            try_flags: vec![format!(
                "textclf baseline with the settings of `{}`",
                l.id
            )],
        })]),
        Verdict::BaselineBetter(d) => Outcome::Fired(vec![Item::Rec(Recommendation {
            rank: 0,
            check: Check::BaselineComparison,
            title: "The linear baseline is more accurate than the transformer: prefer it".into(),
            evidence,
            runs,
            impact: Impact {
                points: 100.0 * d,
                basis: Basis::Measured,
                how: format!("test accuracy of `{}` minus `{}`.", l.id, t.id),
            },
            cost_seconds,
            cost,
            try_flags: vec![format!(
                "textclf baseline with the settings of `{}`",
                l.id
            )],
        })]),
    }
}

enum Verdict {
    TransformerBetter(f64),
    BaselineBetter(f64),
    Tie,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::advise::fixture::*;
    use crate::advise::*;
    use crate::runs::{Family, RunSummary};

    fn sized(id: &str, val: f64, params: u64, layers: u64, spe: f64) -> RunSummary {
        let mut r = with_params(
            run(id, Family::Transformer, val),
            serde_json::json!({"model": "bert-base", "layers": layers, "max_len": 128}),
        );
        r.parameters = Some(params);
        r.seconds_per_epoch = Some(spe);
        r.epochs = vec![ep(1, 0.5, 0.8, 0.4, 0.8), ep(2, 0.4, 0.82, 0.41, 0.81)];
        r
    }

    #[test]
    fn a_smaller_model_within_chance_is_preferred() {
        let t = tempfile::tempdir().unwrap();
        let (gold, a, b) = pair_preds(400, 340, 6, 4);
        let big = with_preds(
            sized("big", 0.88, 110_000_000, 12, 60.0),
            t.path(),
            &gold,
            &a,
        );
        let small = with_preds(
            sized("small", 0.87, 22_000_000, 6, 20.0),
            t.path(),
            &gold,
            &b,
        );
        let adv = advise(&set(vec![big, small]), None);
        let s = rec(&adv, Check::SmallerModel);
        assert_has(
            &s.evidence,
            "`small`: 22.0 M parameters, 6 layers, test accuracy 86.00 %; `big`: 110.0 M parameters, 12 layers, test accuracy 86.50 %",
        );
        assert_has(&s.evidence, "-0.50 points");
        assert_has(&s.evidence, "McNemar p = 0.75 (exact binomial)");
        assert_has(
            &s.evidence,
            "20.0 s (`small`) vs 60.0 s (`big`), 66.7 % less",
        );
        assert_eq!(s.try_flags, vec!["--layers 6"]);
        assert_eq!(s.cost_seconds, Some(-80.0));
        assert_all_checks_accounted(&adv);
    }

    #[test]
    fn a_clearly_worse_smaller_model_is_not_preferred() {
        let t = tempfile::tempdir().unwrap();
        let (gold, a, b) = pair_preds(400, 300, 40, 2);
        let big = with_preds(
            sized("big", 0.88, 110_000_000, 12, 60.0),
            t.path(),
            &gold,
            &a,
        );
        let small = with_preds(
            sized("small", 0.87, 22_000_000, 6, 20.0),
            t.path(),
            &gold,
            &b,
        );
        let adv = advise(&set(vec![big, small]), None);
        let reason = not_fired(&adv, Check::SmallerModel);
        assert!(
            reason.contains("`small` (22.0 M parameters, 6 layers) is less accurate"),
            "{reason}"
        );
    }

    fn versus_baseline(root: &Path, lin_only: usize, tr_only: usize) -> Advice {
        let (gold, lin, tr) = pair_preds(400, 320, lin_only, tr_only);
        let mut l = with_preds(
            with_params(
                run("nbsvm", Family::Linear, 0.80),
                serde_json::json!({"model": "nbsvm"}),
            ),
            root,
            &gold,
            &lin,
        );
        l.total_seconds = Some(3.0);
        let mut t = with_preds(
            with_params(
                run("minilm", Family::Transformer, 0.85),
                serde_json::json!({"model": "minilm"}),
            ),
            root,
            &gold,
            &tr,
        );
        t.total_seconds = Some(600.0);
        advise(&set(vec![l, t]), None)
    }

    #[test]
    fn a_transformer_within_chance_of_the_baseline_is_said_plainly() {
        let t = tempfile::tempdir().unwrap();
        let a = versus_baseline(t.path(), 8, 10);
        let b = rec(&a, Check::BaselineComparison);
        assert!(
            b.title
                .starts_with("The transformer does not beat the linear baseline beyond chance"),
            "{}",
            b.title
        );
        assert_has(&b.evidence, "Transformer − baseline: +0.50 points");
        assert_has(&b.evidence, "McNemar p = 0.81");
        assert_has(&b.evidence, "10.0 min (`minilm`) vs 3.0 s (`nbsvm`)");
        assert_eq!(b.cost_seconds, Some(-597.0));
        assert!(a
            .render_markdown()
            .contains("does not beat the linear baseline"));
    }

    #[test]
    fn a_transformer_that_beats_the_baseline_gets_a_finding_with_its_p_value() {
        let t = tempfile::tempdir().unwrap();
        let a = versus_baseline(t.path(), 5, 60);
        let f = finding(&a, Check::BaselineComparison);
        assert_eq!(
            f.title,
            "The transformer beats the linear baseline by +13.75 points beyond chance"
        );
        assert_has(&f.evidence, "p < 0.0001");
        assert!(a
            .recommendations
            .iter()
            .all(|r| r.check != Check::BaselineComparison));
    }

    #[test]
    fn a_better_baseline_is_recommended() {
        let t = tempfile::tempdir().unwrap();
        let a = versus_baseline(t.path(), 60, 5);
        let b = rec(&a, Check::BaselineComparison);
        assert!(b.title.starts_with("The linear baseline is more accurate"));
        assert!((b.impact.points - 13.75).abs() < 1e-9);
        assert_eq!(b.impact.basis, Basis::Measured);
    }
}
