//! A linear baseline's C at the edge of its grid ([`Check::CGrid`]): the C chosen on the
//! selection split is the smallest or the largest C tried (or `baseline`'s own grid
//! extension stopped at its bound with the best C still at the edge) and it beats its
//! neighbour, so a wider `--c-grid` that way may do better.

use crate::runs::{Family, LinearFit, RunSummary};

use crate::advise::context::Ctx;
use crate::advise::format::{cap, pct, pts};
use crate::advise::{skip, Basis, Check, Impact, Item, Outcome, Recommendation};

/// Each C of a suggested grid is this many times the last (as `baseline` extends its own).
const STEP: f64 = 4.0;

/// A C value for people: `0.01`, `4`, `1e-4`.
fn fmt_c(c: f64) -> String {
    crate::table::fmt_number(c)
}

/// A run whose C sits at an edge of its grid.
struct Edge<'a> {
    run: &'a RunSummary,
    fit: &'a LinearFit,
    /// Toward larger C.
    up: bool,
    /// Selection accuracy of the edge C minus its neighbour's.
    gain: f64,
    neighbour: (f64, f64),
}

fn grid_text(fit: &LinearFit) -> String {
    fit.c_search
        .iter()
        .map(|&(c, a)| format!("C {} → {}", fmt_c(c), pct(a)))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn c_grid(cx: &Ctx) -> Outcome {
    let linear = cx.of_family(Family::Linear);
    if linear.is_empty() {
        return skip("no finished linear run");
    }
    let mut reasons = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    for r in linear {
        let Some(fit) = r.linear_fit.as_ref() else {
            reasons.push(format!("`{}` records no C search", r.id));
            continue;
        };
        let grid = &fit.c_search;
        if grid.len() < 2 {
            reasons.push(format!(
                "`{}` was fitted at one C ({}), so there is no grid",
                r.id,
                fmt_c(fit.chosen_c)
            ));
            continue;
        }
        let at = grid.iter().position(|&(c, _)| c == fit.chosen_c);
        let bound = fit.extension.as_ref().is_some_and(|x| x.stopped_by_bound);
        let (up, i, j) = match at {
            Some(0) => (false, 0, 1),
            Some(i) if i + 1 == grid.len() => (true, i, i - 1),
            _ if bound => {
                let up = fit.extension.as_ref().is_some_and(|x| x.direction == "up");
                if up {
                    (true, grid.len() - 1, grid.len() - 2)
                } else {
                    (false, 0, 1)
                }
            }
            _ => {
                reasons.push(format!(
                    "`{}`: C {} lies inside its grid {} … {}",
                    r.id,
                    fmt_c(fit.chosen_c),
                    fmt_c(grid[0].0),
                    fmt_c(grid[grid.len() - 1].0)
                ));
                continue;
            }
        };
        let gain = grid[i].1 - grid[j].1;
        if gain <= 0.0 {
            reasons.push(format!(
                "`{}`: C {} is at the {} edge of its grid but no better than its neighbour C {} \
                 ({})",
                r.id,
                fmt_c(grid[i].0),
                if up { "upper" } else { "lower" },
                fmt_c(grid[j].0),
                pts(gain)
            ));
            continue;
        }
        edges.push(Edge {
            run: r,
            fit,
            up,
            gain,
            neighbour: grid[j],
        });
    }
    let Some(lead) = edges
        .iter()
        .max_by(|a, b| a.gain.total_cmp(&b.gain))
        .map(|e| (e.run, e.fit, e.up, e.gain))
    else {
        return skip(reasons.join("; "));
    };
    let mut evidence = Vec::new();
    for e in &edges {
        let r = e.run;
        let split = e.fit.selection_split.as_deref().unwrap_or("selection");
        let edge_c = if e.up {
            e.fit.c_search[e.fit.c_search.len() - 1]
        } else {
            e.fit.c_search[0]
        };
        evidence.push(format!(
            "`{}` ({}): C chosen on the {split} split: {}.",
            r.id,
            r.model,
            grid_text(e.fit)
        ));
        evidence.push(format!(
            "{} C tried, {} (`{}`), is the best and beats its neighbour C {} by {}.",
            cap(if e.up { "the largest" } else { "the smallest" }),
            fmt_c(edge_c.0),
            r.id,
            fmt_c(e.neighbour.0),
            pts(e.gain)
        ));
        if let Some(x) = e.fit.extension.as_ref() {
            let added: Vec<String> = x.added.iter().map(|&c| fmt_c(c)).collect();
            evidence.push(format!(
                "`baseline` extended the grid {} ({}){}.",
                x.direction,
                if added.is_empty() {
                    "no value could be added".to_string()
                } else {
                    format!("added {}", added.join(", "))
                },
                if x.stopped_by_bound {
                    " and stopped at its bound with the best C still at the edge"
                } else {
                    ""
                }
            ));
        }
    }
    let (r, fit, up, gain) = lead;
    let edge = if up {
        fit.c_search[fit.c_search.len() - 1].0
    } else {
        fit.c_search[0].0
    };
    let next: Vec<String> = (1..=3)
        .map(|i| {
            let f = STEP.powi(i);
            fmt_c(if up { edge * f } else { edge / f })
        })
        .collect();
    let runs: Vec<String> = edges.iter().map(|e| e.run.id.clone()).collect();
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::CGrid,
        title: format!(
            "Widen the C grid {} for `{}`: the best C is at its {} edge",
            if up { "upward" } else { "downward" },
            r.id,
            if up { "upper" } else { "lower" }
        ),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * gain,
            basis: Basis::Heuristic,
            how: format!(
                "the measured gain of the edge C over its neighbour on the selection split \
                 ({}), assuming one more step gains as much; it may gain less or lose.",
                pts(gain)
            ),
        },
        cost_seconds: None,
        cost: "one fit per added C; linear fits take seconds.".into(),
        try_flags: vec![format!("--c-grid {},{}", fmt_c(edge), next.join(","))],
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;
    use crate::runs::{Family, GridExtension, LinearFit};

    fn linear(
        id: &str,
        chosen: f64,
        grid: &[(f64, f64)],
        ext: Option<GridExtension>,
    ) -> crate::runs::RunSummary {
        let mut r = with_params(
            run(id, Family::Linear, 0.8),
            serde_json::json!({"model": id, "C": chosen}),
        );
        r.linear_fit = Some(LinearFit {
            chosen_c: chosen,
            c_search: grid.to_vec(),
            selection_split: Some("valid".into()),
            extension: ext,
        });
        r
    }

    #[test]
    fn the_largest_c_best_asks_for_a_wider_grid_upward() {
        let r = linear(
            "tfidf-lr",
            64.0,
            &[(1.0, 0.78), (4.0, 0.79), (16.0, 0.80), (64.0, 0.82)],
            None,
        );
        let a = advise(&set(vec![r]), None);
        let c = rec(&a, Check::CGrid);
        assert_eq!(
            c.title,
            "Widen the C grid upward for `tfidf-lr`: the best C is at its upper edge"
        );
        assert_has(
            &c.evidence,
            "C chosen on the valid split: C 1 → 78.00 %; C 4 → 79.00 %; C 16 → 80.00 %; C 64 → 82.00 %",
        );
        assert_has(&c.evidence, "The largest C tried, 64 (`tfidf-lr`), is the best and beats its neighbour C 16 by +2.00 points");
        assert_eq!(c.try_flags, vec!["--c-grid 64,256,1024,4096"]);
        assert!((c.impact.points - 2.0).abs() < 1e-9);
        assert_all_checks_accounted(&a);
    }

    #[test]
    fn an_extension_stopped_by_its_bound_is_quoted() {
        let r = linear(
            "tfidf-nbsvm",
            0.000_156_25,
            &[
                (0.000_156_25, 0.81),
                (0.000_625, 0.80),
                (0.0025, 0.79),
                (0.01, 0.78),
            ],
            Some(GridExtension {
                direction: "down".into(),
                added: vec![0.0025, 0.000_625, 0.000_156_25],
                stopped_by_bound: true,
            }),
        );
        let a = advise(&set(vec![r]), None);
        let c = rec(&a, Check::CGrid);
        assert!(
            c.title.starts_with("Widen the C grid downward"),
            "{}",
            c.title
        );
        assert_has(&c.evidence, "extended the grid down (added 0.0025, 6.25e-4, 1.56e-4) and stopped at its bound with the best C still at the edge");
    }

    #[test]
    fn the_c_search_is_read_from_metrics_json() {
        let t = tempfile::tempdir().unwrap();
        let metrics = serde_json::json!({
            "command": "baseline",
            "model": {"kind": "tfidf-lr", "fit": {
                "chosen_c": 10000.0,
                "c_search": [{"c": 156.25, "accuracy": 0.80, "fit_s": 0.1},
                             {"c": 625.0, "accuracy": 0.81, "fit_s": 0.1},
                             {"c": 2500.0, "accuracy": 0.82, "fit_s": 0.1},
                             {"c": 10000.0, "accuracy": 0.84, "fit_s": 0.1}],
                "c_grid_extension": {"direction": "up", "added": [625.0, 2500.0, 10000.0],
                                     "stopped_by_bound": true},
                "selection_split": "holdout"}},
            "data": {"labels": ["neg", "pos"], "train": {"rows": 400}, "valid": {"rows": 120,
                     "per_class": {"neg": 70, "pos": 50}}, "test": {"rows": 4}, "seed": 42},
        });
        crate::advise::fixture::metrics_with(&crate::advise::fixture::some_report(), metrics)
            .write(t.path())
            .unwrap();
        let r = crate::runs::load_summary(t.path()).unwrap();
        let fit = r.linear_fit.clone().unwrap();
        assert_eq!(fit.chosen_c, 10000.0);
        assert_eq!(fit.c_search.len(), 4);
        assert_eq!(fit.selection_split.as_deref(), Some("holdout"));
        assert!(fit.extension.as_ref().unwrap().stopped_by_bound);
        assert_eq!(
            r.val_per_class,
            vec![("neg".to_string(), 70), ("pos".to_string(), 50)]
        );
        let a = advise(&set(vec![r]), None);
        let c = rec(&a, Check::CGrid);
        assert_has(&c.evidence, "C chosen on the holdout split");
        assert_has(
            &c.evidence,
            "and stopped at its bound with the best C still at the edge",
        );
        assert_eq!(c.try_flags, vec!["--c-grid 10000,40000,160000,640000"]);
    }

    #[test]
    fn c_inside_the_grid_or_a_flat_edge_does_not_fire() {
        let inside = linear("lr", 4.0, &[(1.0, 0.78), (4.0, 0.79), (16.0, 0.78)], None);
        let flat = linear("nb", 0.01, &[(0.01, 0.78), (0.03, 0.78), (0.1, 0.77)], None);
        let a = advise(&set(vec![inside, flat]), None);
        let reason = not_fired(&a, Check::CGrid);
        assert!(
            reason.contains("`lr`: C 4 lies inside its grid 1 … 16"),
            "{reason}"
        );
        assert!(
            reason.contains("`nb`: C 0.01 is at the lower edge of its grid but no better than its neighbour C 0.03 (+0.00 points)"),
            "{reason}"
        );
        // Transformers only: nothing to look at.
        let a = advise(&set(vec![lr_run("t", 2e-5, 0.8)]), None);
        assert_eq!(not_fired(&a, Check::CGrid), "no finished linear run");
    }
}
