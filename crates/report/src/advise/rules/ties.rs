//! Near ties of the selection that train faster: prefer the cheaper run
//! ([`Check::NearTie`]).

use crate::advise::context::Ctx;
use crate::advise::flags::flags_for;
use crate::advise::format::{level_text, loss, p_text, pct, pct1, pts, secs};
use crate::advise::{skip, Basis, Check, Impact, Item, Outcome, Recommendation, CHEAPER_BY};
use crate::select::Rule;

pub(crate) fn near_tie(cx: &Ctx, already: &[String]) -> Outcome {
    let Some(sel) = cx.selection.as_ref() else {
        return skip("no selection: no finished run has a validation score");
    };
    let (Some(best), Some(top)) = (cx.run(&sel.best), sel.ranking.first()) else {
        return skip("the selected run is not among the finished runs");
    };
    let ties: Vec<_> = sel.near_ties().collect();
    if ties.is_empty() {
        return skip(format!(
            "no run is within the best run `{}`'s validation interval",
            best.id
        ));
    }
    let Some(best_time) = best.total_seconds else {
        return skip(format!("`{}` records no run time", best.id));
    };
    let cheaper = ties
        .iter()
        .filter(|t| !already.contains(&t.id))
        .filter_map(|t| {
            let r = cx.run(&t.id)?;
            let s = r.total_seconds?;
            (s <= best_time * (1.0 - CHEAPER_BY)).then_some((*t, r, s))
        })
        .min_by(|a, b| a.2.total_cmp(&b.2));
    let Some((tie, r, time)) = cheaper else {
        let ids: Vec<String> = ties.iter().map(|t| format!("`{}`", t.id)).collect();
        return skip(format!(
            "the near ties ({}) are not at least {} faster than `{}`{}",
            ids.join(", "),
            pct1(CHEAPER_BY),
            best.id,
            if ties.iter().any(|t| already.contains(&t.id)) {
                ", or were already advised as a smaller model"
            } else {
                ""
            }
        ));
    };
    let gap_text = match sel.rule {
        Rule::ValLoss => format!("{} in validation loss", loss(tie.gap)),
        _ => pts(tie.gap).trim_start_matches('+').to_string(),
    };
    let mut evidence = vec![format!(
        "`{}` is best by {} ({}); `{}` scores {}, a gap of {}{}.",
        best.id,
        sel.rule.describe(),
        score_text(sel.rule, top.score),
        r.id,
        score_text(sel.rule, tie.score),
        gap_text,
        sel.half_width.map_or(String::new(), |h| format!(
            ", inside the best run's {} validation half-width of {}",
            level_text(0.95),
            pts(h).trim_start_matches('+')
        ))
    )];
    if let (Some(d), Some(p)) = (tie.test_diff, tie.mcnemar_p) {
        evidence.push(format!(
            "On test, `{}` − `{}`: {}, McNemar {}.",
            r.id,
            best.id,
            pts(d),
            p_text(p)
        ));
    }
    evidence.push(format!(
        "Run time: {} (`{}`) vs {} (`{}`), {} less.",
        secs(time),
        r.id,
        secs(best_time),
        best.id,
        pct1(1.0 - time / best_time)
    ));
    let mut try_flags = flags_for(r, best);
    if try_flags.is_empty() {
        try_flags.push(format!("the settings of `{}`", r.id));
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::NearTie,
        title: format!("Prefer the cheaper near tie `{}`", r.id),
        evidence,
        runs: vec![r.id.clone(), best.id.clone()],
        impact: Impact {
            points: 0.0,
            basis: Basis::Measured,
            how: "not distinguishable from the best on validation; the gain is time.".into(),
        },
        cost_seconds: Some(time - best_time),
        cost: format!("saves {} per run (measured).", secs(best_time - time)),
        try_flags,
    })])
}

fn score_text(rule: Rule, score: f64) -> String {
    match rule {
        Rule::ValLoss => loss(score),
        _ => pct(score),
    }
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;
    use crate::select::select;

    #[test]
    fn a_cheaper_near_tie_is_advised() {
        let mut best = lr_run("slow", 2e-5, 0.880);
        best.total_seconds = Some(400.0);
        let mut tie = lr_run("fast", 3e-5, 0.878);
        tie.params.insert("max_len".into(), 64.into());
        tie.total_seconds = Some(100.0);
        let s = set(vec![best, tie]);
        let sel = select(&s.runs, Rule::ValAccAtMinValLoss).unwrap();
        let a = advise(&s, Some(&sel));
        let n = rec(&a, Check::NearTie);
        assert_has(&n.evidence, "`fast` scores 87.80 %, a gap of 0.20 points");
        assert_has(
            &n.evidence,
            "100.0 s (`fast`) vs 6.7 min (`slow`), 75.0 % less",
        );
        assert_eq!(n.try_flags, vec!["--lr 3e-5", "--max-len 64"]);
        assert_eq!(n.cost_seconds, Some(-300.0));
    }
}
