//! Texts cut at `max_len`: a longer `max_len` or head+tail truncation
//! ([`Check::Truncation`]).

use crate::runs::Family;

use crate::advise::context::Ctx;
use crate::advise::evidence::curve;
use crate::advise::format::{fmt_int, pct, pct1, pts, secs};
use crate::advise::{
    skip, Basis, Check, Impact, Item, Outcome, Recommendation, MAX_POSITIONS, MIN_TRUNCATED_SHARE,
};

pub(crate) fn truncation(cx: &Ctx) -> Outcome {
    let transformers = cx.of_family(Family::Transformer);
    if transformers.is_empty() {
        return skip("no finished transformer run");
    }
    let target = cx.focus.filter(|r| r.truncation.is_some()).or_else(|| {
        transformers
            .iter()
            .copied()
            .find(|r| r.truncation.is_some())
    });
    let Some((r, t)) = target.and_then(|r| Some((r, r.truncation.as_ref()?))) else {
        return skip("no transformer run recorded token lengths (metrics.json data.token_lengths)");
    };
    if t.truncated_share < MIN_TRUNCATED_SHARE {
        return skip(format!(
            "`{}`: only {} of {} sampled training texts are longer than max_len {} (threshold {})",
            r.id,
            pct1(t.truncated_share),
            t.sampled,
            t.max_len,
            pct1(MIN_TRUNCATED_SHARE)
        ));
    }
    let mut evidence = vec![format!(
        "`{}`: {} of {} sampled training texts are longer than max_len {} tokens; token lengths p50 {}, p90 {}, max {}.",
        r.id,
        pct1(t.truncated_share),
        t.sampled,
        t.max_len,
        t.p50,
        t.p90,
        t.max
    )];
    let mode = r.param_text("truncation").unwrap_or_else(|| "head".into());
    evidence.push(format!(
        "`{}` keeps the {mode} of each text (--truncation {mode}).",
        r.id
    ));
    let mut runs = vec![r.id.clone()];
    // How accuracy moved with max_len, if the runs varied it.
    let mut measured: Option<(f64, String)> = None;
    let mut longer_helped = true;
    if let Some(c) = curve(cx, r, "max_len") {
        evidence.push(c.describe(cx, fmt_int));
        let [lo, hi] = c.last_step();
        let gain = c.metric(cx, hi.1) - c.metric(cx, lo.1);
        longer_helped = gain > 0.0;
        measured = Some((
            gain,
            format!(
                "max_len {} → {} moved {} by {} (`{}` → `{}`); a further step may gain less.",
                fmt_int(lo.0),
                fmt_int(hi.0),
                c.metric_name(cx),
                pts(gain),
                lo.1.id,
                hi.1.id
            ),
        ));
        for id in c.ids() {
            if !runs.contains(&id) {
                runs.push(id);
            }
        }
    }
    let mut try_flags = Vec::new();
    let longer = [128usize, 256, MAX_POSITIONS]
        .into_iter()
        .find(|&l| l >= t.p90 && l > t.max_len)
        .or((t.max_len < MAX_POSITIONS).then_some(MAX_POSITIONS));
    if let Some(l) = longer.filter(|_| longer_helped) {
        try_flags.push(format!("--max-len {l}"));
    }
    if mode != "head+tail" {
        try_flags.push(format!(
            "--truncation head+tail (at max_len {}: no extra cost)",
            t.max_len
        ));
    }
    if try_flags.is_empty() {
        evidence.push(format!(
            "`{}` already uses head+tail{}; a longer max_len is not possible or did not help.",
            r.id,
            if t.max_len >= MAX_POSITIONS {
                format!(" at the {MAX_POSITIONS}-token limit of BERT-family models")
            } else {
                String::new()
            }
        ));
        try_flags.push(
            "a model built for long inputs, or splitting long texts into chunks (textclf has no flag for this)"
                .into(),
        );
    }
    let error = r.test_accuracy().map(|a| 1.0 - a);
    let impact = match (measured, error) {
        (Some((gain, how)), _) if gain > 0.0 => Impact {
            points: 100.0 * gain,
            basis: Basis::Measured,
            how,
        },
        (m, Some(err)) => Impact {
            points: 100.0 * t.truncated_share * err,
            basis: Basis::Heuristic,
            how: format!(
                "truncated share {} × test error rate {} of `{}`: the errors among \
                 truncated texts if they fail at the average rate; a scale, not a prediction.{}",
                pct1(t.truncated_share),
                pct(err),
                r.id,
                m.map_or(String::new(), |(_, how)| format!(" Measured so far: {how}"))
            ),
        },
        (m, None) => Impact {
            points: 0.0,
            basis: Basis::Heuristic,
            how: format!(
                "no test report to scale it by.{}",
                m.map_or(String::new(), |(_, how)| format!(" Measured so far: {how}"))
            ),
        },
    };
    let cost = match (longer.filter(|_| longer_helped), r.seconds_per_epoch) {
        (Some(l), Some(s)) => format!(
            "head+tail costs nothing extra; max_len {l} makes the truncated texts up to {:.1}× longer (`{}` takes {} per epoch now; with dynamic padding only the long texts grow).",
            l as f64 / t.max_len as f64,
            r.id,
            secs(s)
        ),
        (Some(l), None) => format!(
            "head+tail costs nothing extra; max_len {l} makes the truncated texts up to {:.1}× longer.",
            l as f64 / t.max_len as f64
        ),
        (None, _) => "head+tail costs nothing extra.".into(),
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::Truncation,
        title: "Keep more of each text: a longer max_len or head+tail truncation".into(),
        evidence,
        runs,
        impact,
        cost_seconds: None,
        cost,
        try_flags,
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn truncation_fires_with_the_lengths_it_saw() {
        let r = truncated(transformer_with_epochs("minilm", vec![]), 0.34);
        let a = advise(&set(vec![r]), None);
        let t = rec(&a, Check::Truncation);
        assert_has(
            &t.evidence,
            "34.0 % of 500 sampled training texts are longer than max_len 128 tokens",
        );
        assert_has(&t.evidence, "p50 95, p90 310, max 1203");
        assert_has(&t.evidence, "--truncation head");
        assert_eq!(t.try_flags[0], "--max-len 512");
        assert_eq!(
            t.try_flags[1],
            "--truncation head+tail (at max_len 128: no extra cost)"
        );
        // 0.34 × 14 % test error = 4.76 points, as a heuristic.
        assert!((t.impact.points - 100.0 * 0.34 * 0.14).abs() < 1e-9);
        assert_eq!(t.impact.basis, Basis::Heuristic);
    }

    #[test]
    fn few_truncated_texts_give_no_truncation_advice() {
        let r = truncated(transformer_with_epochs("minilm", vec![]), 0.03);
        let a = advise(&set(vec![r]), None);
        let reason = not_fired(&a, Check::Truncation);
        assert!(reason.contains("only 3.0 % of 500"), "{reason}");
        let r = transformer_with_epochs("plain", vec![]);
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::Truncation).contains("token lengths"));
    }

    #[test]
    fn truncation_cites_how_accuracy_moved_with_max_len() {
        let long = with_params(
            truncated(run("len256", Family::Transformer, 0.87), 0.20),
            serde_json::json!({"max_len": 256, "lr": 2e-5}),
        );
        let short = with_params(
            run("len128", Family::Transformer, 0.85),
            serde_json::json!({"max_len": 128, "lr": 2e-5}),
        );
        let mut long = long;
        long.test = Some(binary_report(0.86, [0.84, 0.88]).into());
        let a = advise(&set(vec![short, long]), None);
        let t = rec(&a, Check::Truncation);
        assert_has(
            &t.evidence,
            "max_len 128 → 85.00 % (`len128`); max_len 256 → 87.00 %, test 86.00 % (`len256`)",
        );
        assert_has(&t.evidence, "other settings held fixed");
        assert_eq!(t.impact.basis, Basis::Measured);
        assert!((t.impact.points - 2.0).abs() < 1e-9);
        // The max_len grid's upward advice is left to the truncation advice.
        assert!(not_fired(&a, Check::MaxLen).contains("truncation advice"));
    }
}
