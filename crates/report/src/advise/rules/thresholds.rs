//! Multi-label decision thresholds that predict far more or far fewer labels per row than
//! the gold sets carry, or leave labels never predicted ([`Check::Thresholds`]).

use crate::advise::context::Ctx;
use crate::advise::format::{pct1, pts};
use crate::advise::{skip, Basis, Check, Impact, Item, Outcome, Recommendation, CARDINALITY_RATIO};

pub(crate) fn thresholds(cx: &Ctx) -> Outcome {
    let Some((r, t)) = cx
        .best
        .and_then(|r| Some((r, r.test.as_ref()?.multi_label()?)))
    else {
        return Outcome::NotApplicable;
    };
    let (gold, pred) = (t.gold_cardinality, t.predicted_cardinality);
    let silent: Vec<&str> = t
        .per_label
        .iter()
        .filter(|l| l.support > 0 && l.predicted == 0)
        .map(|l| l.label.as_str())
        .collect();
    let ratio = if gold > 0.0 { pred / gold } else { f64::NAN };
    let off = ratio.is_finite() && !(1.0 / CARDINALITY_RATIO..=CARDINALITY_RATIO).contains(&ratio);
    if !off && silent.is_empty() {
        return skip(format!(
            "`{}`: {:.2} predicted labels per row against {:.2} gold ({:.2}×, within {:.2}× either way), and every label with test rows is predicted at least once",
            r.id, pred, gold, ratio, CARDINALITY_RATIO
        ));
    }
    let mut evidence = vec![format!(
        "`{}`: {:.2} labels predicted per test row against {:.2} in the gold sets ({:.2}×); micro precision {}, micro recall {}.",
        r.id,
        pred,
        gold,
        ratio,
        pct1(t.micro.precision),
        pct1(t.micro.recall)
    )];
    if !silent.is_empty() {
        evidence.push(format!(
            "{} label{} with test rows {} never predicted: {}.",
            silent.len(),
            if silent.len() == 1 { "" } else { "s" },
            if silent.len() == 1 { "is" } else { "are" },
            silent.join(", ")
        ));
    }
    let (title, direction) = if ratio < 1.0 {
        (
            "Predict more labels: the decision thresholds are too high",
            "lower thresholds trade precision for recall",
        )
    } else {
        (
            "Predict fewer labels: the decision thresholds are too low",
            "higher thresholds trade recall for precision",
        )
    };
    evidence.push(format!(
        "Micro F1 is {} with precision and recall {} apart; {direction}.",
        pct1(t.micro.f1),
        pts((t.micro.precision - t.micro.recall).abs()).trim_start_matches('+')
    ));
    let gap = (t.micro.precision - t.micro.recall).abs();
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::Thresholds,
        title: title.into(),
        evidence,
        runs: vec![r.id.clone()],
        impact: Impact {
            points: 100.0 * gap / 2.0,
            basis: Basis::Heuristic,
            how: "half the gap between micro precision and recall: what balancing them could \
                  move micro F1 by at most; a scale, not a prediction."
                .into(),
        },
        cost_seconds: None,
        cost: "re-tuning thresholds costs no training, only a validation split.".into(),
        try_flags: vec![
            "tune the per-label thresholds on a larger validation split (--valid, or a larger --split share for validation)".into(),
            "textclf ensemble re-tunes thresholds on the averaged validation scores of several runs".into(),
        ],
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn too_few_predicted_labels_are_flagged() {
        let mut r = multilabel_run(
            "ml",
            &[("joy", 100, 0.8), ("anger", 60, 0.7), ("fear", 40, 0.0)],
        );
        set_cardinality(&mut r, 1.5, 0.9);
        let a = advise(&set(vec![r]), None);
        let t = rec(&a, Check::Thresholds);
        assert!(t.title.contains("too high"), "{}", t.title);
        assert_has(
            &t.evidence,
            "0.90 labels predicted per test row against 1.50",
        );
        assert_has(&t.evidence, "never predicted: fear");
    }

    #[test]
    fn matching_cardinality_gives_no_threshold_advice() {
        let mut r = multilabel_run(
            "ml",
            &[("joy", 100, 0.8), ("anger", 60, 0.7), ("fear", 40, 0.6)],
        );
        set_cardinality(&mut r, 1.5, 1.4);
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::Thresholds).contains("within"));
    }
}
