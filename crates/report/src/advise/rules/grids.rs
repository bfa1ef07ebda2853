//! One-setting grids: extend the `lr` or `max_len` grid when the best value sits at its
//! edge ([`Check::LearningRate`], [`Check::MaxLen`]).

use crate::runs::Family;

use crate::advise::context::Ctx;
use crate::advise::evidence::{curve, distinct_values, Curve};
use crate::advise::format::{fmt_int, fmt_lr, pts};
use crate::advise::{
    skip, Basis, Check, Finding, Impact, Item, Outcome, Recommendation, MAX_POSITIONS,
};

/// `did_not_learn`: the focus run's validation loss stayed at chance level (that check
/// fired), so a lower learning rate is not advised.
pub(crate) fn learning_rate(cx: &Ctx, did_not_learn: bool) -> Outcome {
    let Some(focus) = cx.focus else {
        return skip("no finished transformer run");
    };
    let Some(c) = curve(cx, focus, "lr") else {
        let v = distinct_values(&cx.of_family(Family::Transformer), "lr");
        return skip(match v.as_slice() {
            [] => "no transformer run records its lr".to_string(),
            [one] => format!(
                "lr was not varied (every transformer run used {})",
                fmt_lr(*one)
            ),
            _ => "lr values differ but not in runs that can be compared".to_string(),
        });
    };
    if did_not_learn && c.points.len() >= 2 && c.best(cx) == 0 {
        let (lr, best) = c.first();
        return skip(format!(
            "the best lr, {} (`{}`), is the lowest of the grid, but the validation loss of \
             `{}` stayed at chance level (see `did_not_learn`): a lower learning rate would \
             learn even less, so the grid is not extended downward",
            fmt_lr(lr),
            best.id,
            focus.id
        ));
    }
    grid_advice(cx, &c, Check::LearningRate, fmt_lr, |edge, neighbour| {
        let next = edge * (edge / neighbour);
        Some(format!("--lr {}", fmt_lr(next)))
    })
}

pub(crate) fn max_len_grid(cx: &Ctx, truncation_fired: bool) -> Outcome {
    let Some(focus) = cx.focus else {
        return skip("no finished transformer run");
    };
    let Some(c) = curve(cx, focus, "max_len") else {
        return skip("max_len was not varied among comparable transformer runs");
    };
    let (top, _) = c.last();
    let best = c.best(cx);
    if best + 1 == c.points.len() && truncation_fired {
        return skip(
            "the best max_len is the largest tried; the truncation advice above covers going longer",
        );
    }
    grid_advice(cx, &c, Check::MaxLen, fmt_int, |edge, neighbour| {
        if edge > neighbour {
            (top < MAX_POSITIONS as f64).then(|| {
                format!(
                    "--max-len {}",
                    ((edge * 2.0).min(MAX_POSITIONS as f64)) as usize
                )
            })
        } else {
            Some(format!(
                "--max-len {} (also cheaper)",
                (edge / 2.0).max(16.0) as usize
            ))
        }
    })
}

/// Advice from a one-setting grid: extend it when the best value is at an edge and beats
/// its neighbour; a finding when it is inside.
fn grid_advice(
    cx: &Ctx,
    c: &Curve,
    check: Check,
    fmt_value: fn(f64) -> String,
    next: impl Fn(f64, f64) -> Option<String>,
) -> Outcome {
    let best = c.best(cx);
    let n = c.points.len();
    let (bv, br) = c.points[best];
    let mut evidence = vec![c.describe(cx, fmt_value)];
    let runs = c.ids();
    let at_edge = best == 0 || best + 1 == n;
    if !at_edge {
        evidence.push(format!(
            "The best, {} {} (`{}`), lies inside the grid {} … {}.",
            c.key,
            fmt_value(bv),
            br.id,
            fmt_value(c.first().0),
            fmt_value(c.last().0)
        ));
        return Outcome::Fired(vec![Item::Finding(Finding {
            check,
            title: format!(
                "{} {} is best and inside the grid: no need to extend it",
                c.key,
                fmt_value(bv)
            ),
            evidence,
            runs,
        })]);
    }
    let neighbour = if best == 0 { 1 } else { n - 2 };
    let (nv, nr) = c.points[neighbour];
    let gain = c.metric(cx, br) - c.metric(cx, nr);
    if gain <= 0.0 {
        return skip(format!(
            "the best {} {} is at the edge of the grid but no better than its neighbour {} ({})",
            c.key,
            fmt_value(bv),
            fmt_value(nv),
            pts(gain)
        ));
    }
    let direction = if best == 0 { "down" } else { "up" };
    evidence.push(format!(
        "The best, {} {} (`{}`), is at the {} edge of the grid and beats its neighbour {} (`{}`) by {}{}.",
        c.key,
        fmt_value(bv),
        br.id,
        if best == 0 { "lower" } else { "upper" },
        fmt_value(nv),
        nr.id,
        pts(gain),
        cx.selection
            .as_ref()
            .and_then(|s| s.half_width)
            .filter(|_| c.on_validation)
            .map_or(String::new(), |h| format!(
                " (the best run's 95 % validation half-width is {}{})",
                pts(h).trim_start_matches('+'),
                if gain <= h {
                    ", so this gain is within validation noise"
                } else {
                    ""
                }
            ))
    ));
    let Some(flag) = next(bv, nv) else {
        return Outcome::Fired(vec![Item::Finding(Finding {
            check,
            title: format!(
                "{} {} is best, at the edge of the grid, and the grid cannot go further",
                c.key,
                fmt_value(bv)
            ),
            evidence,
            runs,
        })]);
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check,
        title: format!("Extend the {} grid {direction}ward", c.key),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * gain,
            basis: Basis::Heuristic,
            how: format!(
                "the measured gain of the edge value over its neighbour ({}), assuming one \
                 more step gains as much; it may gain less or lose.",
                pts(gain)
            ),
        },
        cost_seconds: None,
        cost: "one more run per grid point.".into(),
        try_flags: vec![flag],
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn best_learning_rate_at_the_grid_edge_extends_the_grid() {
        let runs = vec![
            lr_run("a", 1e-5, 0.84),
            lr_run("b", 2e-5, 0.86),
            lr_run("c", 3e-5, 0.88),
        ];
        let a = advise(&set(runs), None);
        let l = rec(&a, Check::LearningRate);
        assert_eq!(l.title, "Extend the lr grid upward");
        assert_has(
            &l.evidence,
            "lr 1e-5 → 84.00 % (`a`); lr 2e-5 → 86.00 % (`b`); lr 3e-5 → 88.00 % (`c`)",
        );
        assert_has(
            &l.evidence,
            "upper edge of the grid and beats its neighbour 2e-5 (`b`) by +2.00 points (the best run's 95 % validation half-width is 2.01 points, so this gain is within validation noise)",
        );
        assert_eq!(l.try_flags, vec!["--lr 4.5e-5"]);
        assert!((l.impact.points - 2.0).abs() < 1e-9);
        assert!(not_fired(&a, Check::MaxLen).contains("not varied"));
    }

    #[test]
    fn best_learning_rate_inside_the_grid_is_a_finding() {
        let runs = vec![
            lr_run("a", 1e-5, 0.84),
            lr_run("b", 2e-5, 0.88),
            lr_run("c", 3e-5, 0.86),
        ];
        let a = advise(&set(runs), None);
        let f = finding(&a, Check::LearningRate);
        assert!(
            f.title.starts_with("lr 2e-5 is best and inside the grid"),
            "{}",
            f.title
        );
        assert!(a
            .recommendations
            .iter()
            .all(|r| r.check != Check::LearningRate));
    }

    #[test]
    fn repeated_seeds_are_disclosed_on_curves() {
        let mut again = lr_run("b2", 2e-5, 0.85);
        again.params.insert("seed".into(), 7.into());
        let runs = vec![lr_run("a", 1e-5, 0.84), lr_run("b", 2e-5, 0.86), again];
        let a = advise(&set(runs), None);
        let l = rec(&a, Check::LearningRate);
        assert_has(&l.evidence, "up to 2 runs share a value (e.g. seeds)");
        assert_has(&l.evidence, "lr 2e-5 → 86.00 % (`b`)");
    }
}
