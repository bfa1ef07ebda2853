//! A label of a multi-label run whose F1 lies far below the others': positive label
//! weights or more data for it ([`Check::WeakLabel`]).

use crate::advise::context::Ctx;
use crate::advise::format::{pct1, pts};
use crate::advise::{
    skip, Basis, Check, Impact, Item, Outcome, Recommendation, MIN_LABEL_SUPPORT, WEAK_F1_GAP,
};

pub(crate) fn weak_label(cx: &Ctx) -> Outcome {
    let Some((r, t)) = cx
        .best
        .and_then(|r| Some((r, r.test.as_ref()?.multi_label()?)))
    else {
        return Outcome::NotApplicable;
    };
    let present: Vec<usize> = (0..t.per_label.len())
        .filter(|&i| t.per_label[i].support >= MIN_LABEL_SUPPORT)
        .collect();
    if present.len() < 2 {
        return skip(format!(
            "`{}`: fewer than two labels with at least {MIN_LABEL_SUPPORT} test rows",
            r.id
        ));
    }
    let f1 = |i: usize| t.per_label[i].f1;
    let mean_others = |c: usize| {
        let o: Vec<f64> = present
            .iter()
            .filter(|&&j| j != c)
            .map(|&j| f1(j))
            .collect();
        o.iter().sum::<f64>() / o.len() as f64
    };
    let gaps: Vec<(usize, f64)> = present
        .iter()
        .map(|&c| (c, mean_others(c) - f1(c)))
        .collect();
    let Some(&(c, gap)) = gaps.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return skip("no label to compare");
    };
    let m = &t.per_label[c];
    if gap < WEAK_F1_GAP {
        return skip(format!(
            "`{}`: the lowest F1 of a label with at least {MIN_LABEL_SUPPORT} test rows, {} of {}, is {} below the mean of the others ({}), less than the {} threshold",
            r.id,
            pct1(m.f1),
            m.label,
            pts(gap).trim_start_matches('+'),
            pct1(mean_others(c)),
            pts(WEAK_F1_GAP).trim_start_matches('+')
        ));
    }
    let name = &m.label;
    let mut evidence = vec![format!(
        "`{}`: {name} has F1 {} (precision {}, recall {}, {} test rows carry it, {} predicted), {} below the mean F1 of the other {} labels with at least {MIN_LABEL_SUPPORT} rows ({}); micro F1 {}, macro F1 {}.",
        r.id,
        pct1(m.f1),
        pct1(m.precision),
        pct1(m.recall),
        m.support,
        m.predicted,
        pts(gap).trim_start_matches('+'),
        present.len() - 1,
        pct1(mean_others(c)),
        pct1(t.micro.f1),
        pct1(t.macro_avg.f1)
    )];
    let others: Vec<String> = gaps
        .iter()
        .filter(|&&(j, g)| j != c && g >= WEAK_F1_GAP)
        .map(|&(j, g)| {
            format!(
                "{} (F1 {}, {} below the others)",
                t.per_label[j].label,
                pct1(f1(j)),
                pts(g).trim_start_matches('+')
            )
        })
        .collect();
    if !others.is_empty() {
        evidence.push(format!("Also weak: {}.", others.join(", ")));
    }
    let reason = if m.recall < m.precision {
        "it is missed more often than it is wrongly predicted (recall below precision)"
    } else {
        "it is predicted wrongly more often than it is missed (precision below recall)"
    };
    evidence.push(format!("For {name}, {reason}."));
    let weighted = r.param_text("class_weights").is_some();
    let mut try_flags = Vec::new();
    if weighted {
        evidence.push(format!(
            "`{}` already uses label weights ({}).",
            r.id,
            r.param_text("class_weights").unwrap_or_default()
        ));
    } else {
        try_flags.push(
            "--class-weights balanced (positive weights per label: rare labels count more)"
                .to_string(),
        );
    }
    try_flags.push(format!(
        "more labelled {name} examples (textclf has no flag that creates them)"
    ));
    let total_support: u64 = t.per_label.iter().map(|l| l.support).sum();
    let share = m.support as f64 / total_support.max(1) as f64;
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::WeakLabel,
        title: format!("Lift the F1 of {name}: label weights or more {name} data"),
        evidence,
        runs: vec![r.id.clone()],
        impact: Impact {
            points: 100.0 * gap * share,
            basis: Basis::Heuristic,
            how: format!(
                "the F1 gap ({}) × {name}'s share of the gold labels ({} of {}): roughly what \
                 micro F1 would gain if its F1 reached the others' mean; an upper-end guess.",
                pts(gap).trim_start_matches('+'),
                m.support,
                total_support
            ),
        },
        cost_seconds: None,
        cost: "label weights cost nothing extra; more data costs labelling.".into(),
        try_flags,
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn a_weak_label_with_support_is_named() {
        let r = multilabel_run(
            "ml",
            &[("joy", 100, 0.8), ("anger", 60, 0.7), ("fear", 40, 0.2)],
        );
        let a = advise(&set(vec![r]), None);
        let w = rec(&a, Check::WeakLabel);
        assert_has(&w.evidence, "fear has F1 20.0 %");
        assert_eq!(w.try_flags[0].split(' ').next(), Some("--class-weights"));
        assert_eq!(w.impact.basis, Basis::Heuristic);
        // Single-label runs: the check stays silent.
        let s = advise(&set(vec![transformer_with_epochs("st", vec![])]), None);
        assert!(!s.not_fired.iter().any(|n| n.check == Check::WeakLabel));
    }

    #[test]
    fn balanced_labels_or_tiny_support_give_no_label_advice() {
        let r = multilabel_run(
            "ml",
            &[("joy", 100, 0.8), ("anger", 60, 0.75), ("fear", 40, 0.7)],
        );
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::WeakLabel).contains("less than"));
        // A label with 3 rows is not judged.
        let r = multilabel_run(
            "ml",
            &[("joy", 100, 0.8), ("anger", 60, 0.75), ("fear", 3, 0.0)],
        );
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::WeakLabel).contains("less than"));
    }
}
