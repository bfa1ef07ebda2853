//! A class whose recall lies far below the others: class weights or more data for it
//! ([`Check::WeakClass`]).

use crate::runs::RunSummary;

use crate::advise::context::{Ctx, Finished};
use crate::advise::format::{pct, pct1, pts};
use crate::advise::{skip, Basis, Check, Impact, Item, Outcome, Recommendation, WEAK_RECALL_GAP};

pub(crate) fn weak_class(cx: &Ctx) -> Outcome {
    let Some(Finished { run: r, test: t }) = cx.best.and_then(Finished::of) else {
        return skip("no finished run with a test report");
    };
    let present: Vec<usize> = (0..t.per_class.len())
        .filter(|&i| t.per_class[i].support > 0)
        .collect();
    let too_few = || {
        skip(format!(
            "`{}`: fewer than two classes in its test set",
            r.id
        ))
    };
    if present.len() < 2 {
        return too_few();
    }
    let recall = |i: usize| t.per_class[i].recall;
    let mean_others = |c: usize| {
        let o: Vec<f64> = present
            .iter()
            .filter(|&&j| j != c)
            .map(|&j| recall(j))
            .collect();
        o.iter().sum::<f64>() / o.len() as f64
    };
    let gaps: Vec<(usize, f64)> = present
        .iter()
        .map(|&c| (c, mean_others(c) - recall(c)))
        .collect();
    let Some(&(c, gap)) = gaps.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return too_few();
    };
    let name = &t.per_class[c].label;
    if gap < WEAK_RECALL_GAP {
        return skip(format!(
            "`{}`: the lowest recall, {} of {}, is {} below the mean of the other classes ({}), less than the {} threshold",
            r.id,
            pct1(recall(c)),
            name,
            pts(gap).trim_start_matches('+'),
            pct1(mean_others(c)),
            pts(WEAK_RECALL_GAP).trim_start_matches('+')
        ));
    }
    let m = &t.per_class[c];
    let macro_recall = present.iter().map(|&i| recall(i)).sum::<f64>() / present.len() as f64;
    let mut evidence = vec![format!(
        "`{}`: {name} has recall {} (precision {}, F1 {}, support {}), {} below the mean recall of the other {} classes ({}); the mean recall over all classes is {}.",
        r.id,
        pct1(m.recall),
        pct1(m.precision),
        pct1(m.f1),
        m.support,
        pts(gap).trim_start_matches('+'),
        present.len() - 1,
        pct1(mean_others(c)),
        pct1(macro_recall)
    )];
    // Its main confusion, from the confusion matrix (when it has the class's row).
    let row = t.confusion.counts.get(c).map_or(&[][..], Vec::as_slice);
    let main_confusion = row
        .iter()
        .enumerate()
        .filter(|&(j, &n)| j != c && n > 0)
        .max_by_key(|&(_, &n)| n)
        .and_then(|(j, &count)| Some((t.confusion.labels.get(j)?, count)));
    if let Some((predicted, count)) = main_confusion {
        let total: u64 = row.iter().sum();
        evidence.push(format!(
            "Its main confusion: {} of {name} ({count} of {total}) predicted as {predicted}.",
            pct1(count as f64 / total as f64)
        ));
    }
    let others: Vec<String> = gaps
        .iter()
        .filter(|&&(j, g)| j != c && g >= WEAK_RECALL_GAP)
        .map(|&(j, g)| {
            format!(
                "{} (recall {}, {} below the others)",
                t.per_class[j].label,
                pct1(recall(j)),
                pts(g).trim_start_matches('+')
            )
        })
        .collect();
    if !others.is_empty() {
        evidence.push(format!("Also weak: {}.", others.join(", ")));
    }
    let supports: Vec<u64> = present.iter().map(|&i| t.per_class[i].support).collect();
    // The support every class has, when they are equally large.
    let equal_support = supports
        .first()
        .copied()
        .filter(|&first| supports.iter().all(|&s| s == first));
    let mut runs = vec![r.id.clone()];
    let mut try_flags = Vec::new();
    let mut impact = Impact {
        points: 100.0 * gap * m.support as f64 / t.n.max(1) as f64,
        basis: Basis::Heuristic,
        how: format!(
            "the recall gap ({}) × {name}'s share of the test rows ({} of {}): what accuracy \
             would gain if its recall reached the others' mean with no loss elsewhere; an \
             upper-end guess.",
            pts(gap).trim_start_matches('+'),
            m.support,
            t.n
        ),
    };
    let mut title = format!("Lift the recall of {name}: class weights or more {name} data");
    // A run with class weights to compare against.
    let weighted: Vec<Finished> = cx
        .of_family(r.family)
        .into_iter()
        .filter(|o| o.id != r.id && has_class_weights(o) != has_class_weights(r))
        .filter_map(Finished::of)
        .collect();
    if has_class_weights(r) {
        evidence.push(format!(
            "`{}` already uses class weights ({}).",
            r.id,
            r.param_text("class_weights").unwrap_or_default()
        ));
        title = format!("Get more training data for {name}");
        try_flags.push(format!(
            "more labelled {name} examples (textclf has no flag that creates them)"
        ));
    } else if let Some(Finished { run: w, test: wt }) = cx
        .pick_finished(&weighted)
        .filter(|w| has_class_weights(w.run))
    {
        let wc = wt.per_class.iter().find(|p| p.label == *name);
        let w_recall = wc.map_or(f64::NAN, |p| p.recall);
        evidence.push(format!(
            "`{}` (class_weights {}): {name} recall {} vs {}, accuracy {} vs {}, macro F1 {} vs {} (`{}`).",
            w.id,
            w.param_text("class_weights").unwrap_or_default(),
            pct1(w_recall),
            pct1(m.recall),
            pct(wt.accuracy),
            pct(t.accuracy),
            pct(wt.macro_f1),
            pct(t.macro_f1),
            r.id
        ));
        runs.push(w.id.clone());
        if w_recall > m.recall {
            title = format!("Use class weights to lift the recall of {name}");
            impact = Impact {
                points: 100.0 * (wt.accuracy - t.accuracy),
                basis: Basis::Measured,
                how: format!(
                    "test accuracy of `{}` minus `{}` ({}); class weights usually trade \
                     accuracy for macro F1 (here {}).",
                    w.id,
                    r.id,
                    pts(wt.accuracy - t.accuracy),
                    pts(wt.macro_f1 - t.macro_f1)
                ),
            };
            try_flags.push(format!(
                "--class-weights {}",
                w.param_text("class_weights").unwrap_or_default()
            ));
        } else {
            title = format!("Get more training data for {name}");
            evidence.push(format!(
                "Class weights did not raise {name}'s recall, so more (or cleaner) {name} data is the remaining lever."
            ));
            try_flags.push(format!(
                "more labelled {name} examples (textclf has no flag that creates them)"
            ));
        }
    } else if let Some(each) = equal_support {
        evidence.push(format!(
            "The test classes are equally large ({each} each), so the training split is probably balanced as well; `--class-weights balanced` would then give every class weight ≈ 1 and change little."
        ));
        let weights: Vec<&str> = t
            .per_class
            .iter()
            .enumerate()
            .map(|(i, _)| if i == c { "2" } else { "1" })
            .collect();
        try_flags.push(format!(
            "--class-weights {} (weight 2 for {name}: a heuristic starting point, in label order {})",
            weights.join(","),
            t.per_class
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
        try_flags.push(format!("more labelled {name} examples"));
    } else {
        let (lo, hi) = supports
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        evidence.push(format!(
            "Test supports range from {lo} to {hi} rows per class, so the classes are imbalanced."
        ));
        try_flags.push("--class-weights balanced".into());
        try_flags.push(format!("more labelled {name} examples"));
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::WeakClass,
        title,
        evidence,
        runs,
        impact,
        cost_seconds: None,
        cost: "class weights cost nothing extra per epoch; more data costs time in proportion."
            .into(),
        try_flags,
    })])
}

fn has_class_weights(r: &RunSummary) -> bool {
    r.param_text("class_weights")
        .is_some_and(|v| !matches!(v.as_str(), "" | "none" | "null" | "false"))
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn weak_class_fires_with_recall_and_main_confusion() {
        let mut r = run("bert", Family::Transformer, 0.6);
        r.test = Some(report(&GENRES, genre_counts(), [0.6, 0.63]).into());
        let a = advise(&set(vec![r]), None);
        let w = rec(&a, Check::WeakClass);
        assert!(w.title.contains("Pop"), "{}", w.title);
        // Pop precision: 536 / (300 + 536 + 300) = 47.2 %; F1 34.2 %.
        assert_has(
            &w.evidence,
            "Pop has recall 26.8 % (precision 47.2 %, F1 34.2 %, support 2000), 53.20 points below the mean recall of the other 2 classes (80.0 %)",
        );
        assert_has(
            &w.evidence,
            "64.1 % of Pop (1282 of 2000) predicted as Rock",
        );
        assert_has(&w.evidence, "equally large (2000 each)");
        assert!(
            w.try_flags[0].starts_with("--class-weights 1,2,1"),
            "{:?}",
            w.try_flags
        );
        // Gap 0.532 × 2000 / 6000 rows = 17.73 points, the upper-end heuristic.
        assert!((w.impact.points - 100.0 * 0.532 * 2000.0 / 6000.0).abs() < 1e-9);
        assert_eq!(w.impact.basis, Basis::Heuristic);
    }

    #[test]
    fn a_report_without_confusion_rows_still_gets_class_advice() {
        // Odd data: per-class metrics without the confusion matrix's rows or labels.
        let mut r = run("bert", Family::Transformer, 0.6);
        let mut t = report(&GENRES, genre_counts(), [0.6, 0.63]);
        t.confusion.counts.truncate(1);
        t.confusion.labels.clear();
        r.test = Some(t.into());
        let a = advise(&set(vec![r]), None);
        let w = rec(&a, Check::WeakClass);
        assert!(w.title.contains("Pop"), "{}", w.title);
        assert!(!has(&w.evidence, "main confusion"), "{:#?}", w.evidence);
        assert_all_checks_accounted(&a);
    }

    #[test]
    fn balanced_recalls_give_no_class_advice() {
        let mut r = run("bert", Family::Transformer, 0.8);
        r.test = Some(
            report(
                &GENRES,
                vec![
                    vec![1600, 200, 200],
                    vec![220, 1560, 220],
                    vec![180, 180, 1640],
                ],
                [0.79, 0.81],
            )
            .into(),
        );
        let a = advise(&set(vec![r]), None);
        let reason = not_fired(&a, Check::WeakClass);
        assert!(reason.contains("78.0 % of Pop"), "{reason}");
    }

    #[test]
    fn a_class_weighted_run_is_compared() {
        let mut plain = run("plain", Family::Transformer, 0.62);
        plain.test = Some(report(&GENRES, genre_counts(), [0.6, 0.63]).into());
        let mut weighted = with_params(
            run("weighted", Family::Transformer, 0.61),
            serde_json::json!({"class_weights": "balanced"}),
        );
        weighted.test = Some(
            report(
                &GENRES,
                vec![
                    vec![1500, 400, 100],
                    vec![150, 820, 1030],
                    vec![100, 400, 1500],
                ],
                [0.6, 0.63],
            )
            .into(),
        );
        let a = advise(&set(vec![plain, weighted]), None);
        let w = rec(&a, Check::WeakClass);
        assert!(w.title.starts_with("Use class weights"), "{}", w.title);
        assert_has(
            &w.evidence,
            "`weighted` (class_weights balanced): Pop recall 41.0 % vs 26.8 %",
        );
        assert_eq!(w.try_flags, vec!["--class-weights balanced"]);
        assert_eq!(w.impact.basis, Basis::Measured);
        assert_eq!(w.runs, vec!["plain", "weighted"]);
    }
}
