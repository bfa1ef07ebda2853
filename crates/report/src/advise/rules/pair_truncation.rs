//! Sentence pairs whose first or second text often loses tokens at `max_len`: a longer
//! `--max-len` or another `--pair-truncation` ([`Check::PairTruncation`]).

use crate::advise::context::Ctx;
use crate::advise::format::pct1;
use crate::advise::{
    skip, Basis, Check, Impact, Item, Outcome, Recommendation, MAX_POSITIONS, MIN_TRUNCATED_SHARE,
};

pub(crate) fn pair_truncation(cx: &Ctx) -> Outcome {
    let target = cx
        .focus
        .filter(|r| r.truncation.as_ref().is_some_and(|t| t.pairs.is_some()))
        .or_else(|| {
            cx.done
                .iter()
                .copied()
                .find(|r| r.truncation.as_ref().is_some_and(|t| t.pairs.is_some()))
        });
    let Some((r, t, p)) = target.and_then(|r| {
        let t = r.truncation.as_ref()?;
        Some((r, t, t.pairs.as_ref()?))
    }) else {
        // Single texts: nothing to say about pairs.
        return Outcome::NotApplicable;
    };
    let (first, second) = (p.first_cut_share, p.second_cut_share);
    if first.max(second) < MIN_TRUNCATED_SHARE {
        return skip(format!(
            "`{}`: the first text loses tokens in {} of the sampled pairs and the second in {} (threshold {})",
            r.id,
            pct1(first),
            pct1(second),
            pct1(MIN_TRUNCATED_SHARE)
        ));
    }
    let (cut, kept, cut_share) = if second >= first {
        ("second", "first", second)
    } else {
        ("first", "second", first)
    };
    let mut evidence = vec![format!(
        "`{}`: at max_len {} with --pair-truncation {}, the first text loses tokens in {} of {} sampled pairs and the second in {} (median lengths {} and {} tokens; pairs p90 {}).",
        r.id,
        t.max_len,
        p.strategy,
        pct1(first),
        t.sampled,
        pct1(second),
        p.first_p50,
        p.second_p50,
        t.p90
    )];
    let mut try_flags = Vec::new();
    if let Some(l) = [256usize, MAX_POSITIONS]
        .into_iter()
        .find(|&l| l > t.max_len && l >= t.p90)
        .or((t.max_len < MAX_POSITIONS).then_some(MAX_POSITIONS))
    {
        try_flags.push(format!("--max-len {l}"));
    }
    let only = format!("only_{cut}");
    if p.strategy != only {
        try_flags.push(format!(
            "--pair-truncation {only} (keeps the {kept} text whole; right when the {kept} text carries the question or claim)"
        ));
        evidence.push(format!(
            "Most cuts fall on the {cut} text; {only} would cut only it and never the {kept}."
        ));
    }
    if try_flags.is_empty() {
        try_flags.push(
            "a model built for long inputs (textclf has no flag that makes BERT-family inputs longer than 512 tokens)"
                .into(),
        );
    }
    let error = r
        .test_accuracy()
        .map(|a| 1.0 - a)
        .or_else(|| Some(1.0 - r.test.as_ref()?.multi_label()?.micro.f1));
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::PairTruncation,
        title: format!("Keep more of the {cut} text of each pair"),
        evidence,
        runs: vec![r.id.clone()],
        impact: Impact {
            points: 100.0 * cut_share * error.unwrap_or(0.0),
            basis: Basis::Heuristic,
            how: match error {
                Some(e) => format!(
                    "share of pairs cut on the {cut} text ({}) × the error rate ({}): the errors among cut pairs if they fail at the average rate; a scale, not a prediction.",
                    pct1(cut_share),
                    pct1(e)
                ),
                None => "no accuracy-like test measure to scale it by.".into(),
            },
        },
        cost_seconds: None,
        cost: "a longer max_len makes the long pairs slower; another --pair-truncation costs nothing.".into(),
        try_flags,
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn pairs_cut_on_one_side_get_pair_truncation_advice() {
        let r = pairs_truncated(transformer_with_epochs("rte", vec![]), 0.02, 0.31);
        let a = advise(&set(vec![r]), None);
        let t = rec(&a, Check::PairTruncation);
        assert!(t.title.contains("second text"), "{}", t.title);
        assert_has(&t.evidence, "the second in 31.0 %");
        assert!(t
            .try_flags
            .iter()
            .any(|f| f.starts_with("--pair-truncation only_second")));
        assert!(t.try_flags.iter().any(|f| f.starts_with("--max-len")));
    }

    #[test]
    fn few_cut_pairs_or_single_texts_give_no_pair_advice() {
        let r = pairs_truncated(transformer_with_epochs("rte", vec![]), 0.02, 0.03);
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::PairTruncation).contains("threshold"));
        let plain = truncated(transformer_with_epochs("plain", vec![]), 0.3);
        let a = advise(&set(vec![plain]), None);
        assert!(!a.not_fired.iter().any(|n| n.check == Check::PairTruncation));
    }
}
