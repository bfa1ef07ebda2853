//! Regression predictions pulled toward the mean: their spread far below the gold
//! values' ([`Check::RegressionSpread`]).

use crate::advise::context::Ctx;
use crate::advise::format::pct1;
use crate::advise::{skip, Basis, Check, Impact, Item, Outcome, Recommendation, MIN_SPREAD_RATIO};
use crate::runs::Family;

/// Mean and standard deviation (population).
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

pub(crate) fn regression_spread(cx: &Ctx) -> Outcome {
    let Some((r, t)) = cx
        .best
        .and_then(|r| Some((r, r.test.as_ref()?.regression()?)))
    else {
        return Outcome::NotApplicable;
    };
    let Ok(rec) = textclf_eval::load_run(&r.dir) else {
        return skip(format!("`{}`: its predictions.csv cannot be read", r.id));
    };
    let (gold, pred): (Vec<f64>, Vec<f64>) = rec
        .predictions
        .iter()
        .filter_map(|row| {
            Some((
                textclf_eval::value_of(row.gold.as_deref()?)?,
                textclf_eval::value_of(&row.predicted)?,
            ))
        })
        .unzip();
    if gold.len() < 2 {
        return skip(format!("`{}`: fewer than two labelled test rows", r.id));
    }
    let (gm, gs) = mean_std(&gold);
    let (pm, ps) = mean_std(&pred);
    if gs == 0.0 {
        return skip(format!("`{}`: every gold value is the same", r.id));
    }
    let ratio = ps / gs;
    if ratio >= MIN_SPREAD_RATIO {
        return skip(format!(
            "`{}`: the predictions' standard deviation is {:.2}× the gold values' (at least {MIN_SPREAD_RATIO})",
            r.id, ratio
        ));
    }
    let mut evidence = vec![format!(
        "`{}`: the predicted values have standard deviation {:.3} against {:.3} for the gold values ({}), means {:.3} and {:.3}, over {} test rows; Pearson r {}.",
        r.id,
        ps,
        gs,
        pct1(ratio),
        pm,
        gm,
        gold.len(),
        t.pearson.map_or("undefined".into(), |p| format!("{p:.3}"))
    )];
    evidence.push(
        "Predictions pulled toward the mean: high values come out too low and low values too high; the MSE pays for it even when the ranking (Spearman) is right."
            .into(),
    );
    let try_flags = match r.family {
        Family::Transformer => vec![
            "more --epochs or a higher --lr: an underfitted regression head predicts near the mean"
                .into(),
            "scale the targets (e.g. to mean 0, standard deviation 1) before training".into(),
        ],
        Family::Linear => {
            vec!["a larger --C (weaker regularisation shrinks less toward the mean)".into()]
        }
    };
    // A linear run of the same folder with a higher Pearson is worth citing.
    let mut runs = vec![r.id.clone()];
    if let (Some(p), Family::Transformer) = (t.pearson, r.family) {
        if let Some((l, lp)) = cx
            .of_family(Family::Linear)
            .into_iter()
            .filter_map(|l| Some((l, l.test.as_ref()?.regression()?.pearson?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, lp)| *lp > p)
        {
            evidence.push(format!(
                "The linear run `{}` reaches Pearson r {lp:.3} on the same folder, above `{}`'s {p:.3}: the transformer has not learnt what a bag of words already gives.",
                l.id, r.id
            ));
            runs.push(l.id.clone());
        }
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::RegressionSpread,
        title: "Predictions are compressed toward the mean: fit the spread of the targets".into(),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * (1.0 - ratio) * t.pearson.unwrap_or(0.0).abs() / 2.0,
            basis: Basis::Heuristic,
            how: "the missing share of the spread × |r| / 2: a rough scale for ordering, not a prediction.".into(),
        },
        cost_seconds: None,
        cost: "more epochs cost training time; scaling the targets costs nothing.".into(),
        try_flags,
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn compressed_predictions_are_flagged_from_the_predictions_file() {
        let t = tempfile::tempdir().unwrap();
        let gold: Vec<f32> = (0..40).map(|i| (i % 10) as f32).collect();
        let squeezed: Vec<f32> = gold.iter().map(|g| 4.5 + (g - 4.5) * 0.4).collect();
        let r = regression_run(&t.path().join("reg"), &gold, &squeezed);
        let a = advise(&set(vec![r]), None);
        let s = rec(&a, Check::RegressionSpread);
        assert_has(&s.evidence, "(40.0 %)");
        let fine = regression_run(&t.path().join("fine"), &gold, &gold);
        let a = advise(&set(vec![fine]), None);
        assert!(not_fired(&a, Check::RegressionSpread).contains("1.00×"));
    }
}
