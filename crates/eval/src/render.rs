//! Plain-text rendering of reports and comparisons for the terminal.

use std::fmt::Write;

use crate::compare::{format_level, format_p, McNemar};
use crate::{Comparison, Report, Timing};

/// Labels in the confusion matrix are cut to this many characters.
const MATRIX_LABEL_WIDTH: usize = 10;
/// Labels in the per-class table are cut to this many characters.
const TABLE_LABEL_WIDTH: usize = 30;

/// Renders a report: a headline (accuracy and macro F1 with their intervals, weighted F1,
/// binary F1 when there are two classes, log loss, n), the per-class table, the confusion
/// matrix in counts, the largest confusions and, if given, the timing of each phase.
pub fn render_report(r: &Report, title: &str, timing: Option<&Timing>) -> String {
    let mut s = String::new();
    let level = format_level(r.ci.level);
    let ci_note = if r.ci.resamples > 0 {
        format!("{level} CI, {} bootstrap resamples", r.ci.resamples)
    } else {
        "no bootstrap".to_string()
    };
    heading(&mut s, title);
    let _ = writeln!(s, "{} test rows", thousands(r.n as u64));
    let _ = writeln!(
        s,
        "  accuracy     {:.4}  ({level} CI {:.4} to {:.4})",
        r.accuracy, r.ci.accuracy[0], r.ci.accuracy[1]
    );
    let _ = writeln!(
        s,
        "  macro F1     {:.4}  ({level} CI {:.4} to {:.4})",
        r.macro_f1, r.ci.macro_f1[0], r.ci.macro_f1[1]
    );
    let _ = writeln!(s, "  weighted F1  {:.4}", r.weighted_f1);
    if let Some(b) = r.binary_f1 {
        let positive = r.per_class.get(1).map_or("class 1", |m| m.label.as_str());
        let _ = writeln!(s, "  binary F1    {b:.4}  (positive class: {positive})");
    }
    let _ = writeln!(s, "  log loss     {:.4}", r.log_loss);
    let _ = writeln!(s, "  ({ci_note})");

    // Per-class table.
    s.push('\n');
    let names: Vec<String> = r
        .per_class
        .iter()
        .map(|m| truncate(&m.label, TABLE_LABEL_WIDTH))
        .collect();
    let lw = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max("label".len());
    let sw = r
        .per_class
        .iter()
        .map(|m| thousands(m.support).len())
        .max()
        .unwrap_or(0)
        .max("support".len());
    let _ = writeln!(
        s,
        "{:<lw$}  {:>9}  {:>6}  {:>6}  {:>sw$}",
        "label", "precision", "recall", "F1", "support"
    );
    for (name, m) in names.iter().zip(&r.per_class) {
        let _ = writeln!(
            s,
            "{}  {:>9.4}  {:>6.4}  {:>6.4}  {:>sw$}",
            pad_right(name, lw),
            m.precision,
            m.recall,
            m.f1,
            thousands(m.support)
        );
    }

    // Confusion matrix.
    s.push('\n');
    let _ = writeln!(s, "Confusion matrix (rows = gold, columns = predicted)");
    let short: Vec<String> = r
        .confusion
        .labels
        .iter()
        .map(|l| truncate(l, MATRIX_LABEL_WIDTH))
        .collect();
    let row_w = short
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("gold".len());
    let cw = r
        .confusion
        .counts
        .iter()
        .flatten()
        .map(|&c| c.to_string().len())
        .chain(short.iter().map(|l| l.chars().count()))
        .max()
        .unwrap_or(1);
    let mut line = pad_right("gold", row_w);
    for l in &short {
        line.push_str("  ");
        line.push_str(&pad_left(l, cw));
    }
    let _ = writeln!(s, "{}", line.trim_end());
    for (l, row) in short.iter().zip(&r.confusion.counts) {
        let mut line = pad_right(l, row_w);
        for c in row {
            let _ = write!(line, "  {c:>cw$}");
        }
        let _ = writeln!(s, "{line}");
    }

    // Largest confusions.
    if !r.top_confusions.is_empty() {
        s.push('\n');
        let _ = writeln!(s, "Largest confusions");
        for c in &r.top_confusions {
            let support = r
                .per_class
                .iter()
                .find(|m| m.label == c.gold)
                .map_or(0, |m| m.support);
            let _ = writeln!(
                s,
                "  {:.1} % of {} predicted as {} ({} of {})",
                c.share_of_gold * 100.0,
                c.gold,
                c.predicted,
                thousands(c.count),
                thousands(support)
            );
        }
    }

    if let Some(t) = timing {
        if !t.phases.is_empty() {
            s.push('\n');
            s.push_str(&render_timing(t));
        }
    }
    s
}

/// The phases of a run with their seconds, one per line, then the total.
pub fn render_timing(t: &Timing) -> String {
    let mut s = String::from("Timing\n");
    let mut rows: Vec<(&str, f64)> = t
        .phases
        .iter()
        .filter(|(n, _)| n != "total")
        .map(|(n, v)| (n.as_str(), *v))
        .collect();
    rows.push(("total", t.total()));
    let w = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, secs) in rows {
        let _ = writeln!(s, "  {}  {}", pad_right(name, w), format_secs(secs));
    }
    s
}

/// Renders a paired comparison of models A (`name_a`) and B (`name_b`).
pub fn render_comparison(c: &Comparison, name_a: &str, name_b: &str) -> String {
    let mut s = String::new();
    heading(&mut s, &format!("{name_a} (A) vs {name_b} (B)"));
    let _ = writeln!(s, "{} test rows, paired", thousands(c.n as u64));
    let aw = name_a.chars().count().max(6);
    let bw = name_b.chars().count().max(6);
    let _ = writeln!(
        s,
        "{:<10}  {}  {}  B − A in points (CI)",
        "",
        pad_left(name_a, aw),
        pad_left(name_b, bw)
    );
    for (metric, a, b, d, ci) in [
        ("accuracy", c.accuracy_a, c.accuracy_b, c.diff, c.diff_ci),
        (
            "macro F1",
            c.macro_f1_a,
            c.macro_f1_b,
            c.macro_f1_diff,
            c.macro_f1_diff_ci,
        ),
    ] {
        let _ = writeln!(
            s,
            "{metric:<10}  {a:>aw$.4}  {b:>bw$.4}  {:+.2} ({:+.2} to {:+.2})",
            d * 100.0,
            ci[0] * 100.0,
            ci[1] * 100.0
        );
    }
    mcnemar_and_verdict(
        &mut s,
        &c.mcnemar,
        "McNemar",
        &format!("{name_a} right where {name_b} is wrong"),
        &c.verdict,
    );
    s
}

/// The end of a paired comparison: McNemar's test (`test`, with the method it used), how
/// often A was right where B was not (`wins`, e.g. "A right where B is wrong") and the
/// reverse, its statistic and p-value; then the verdict.
pub(crate) fn mcnemar_and_verdict(
    s: &mut String,
    m: &McNemar,
    test: &str,
    wins: &str,
    verdict: &str,
) {
    s.push('\n');
    let _ = writeln!(
        s,
        "{test} ({}): {wins}: {}; the reverse: {}",
        m.method,
        thousands(m.a_right_b_wrong),
        thousands(m.a_wrong_b_right)
    );
    match m.statistic {
        Some(chi2) => {
            let _ = writeln!(s, "  chi-squared = {chi2:.3}, {}", format_p(m.p_value));
        }
        None => {
            let _ = writeln!(s, "  {}", format_p(m.p_value));
        }
    }
    s.push('\n');
    let _ = writeln!(s, "{verdict}");
}

pub(crate) fn heading(s: &mut String, title: &str) {
    let _ = writeln!(s, "{title}");
    let _ = writeln!(s, "{}", "=".repeat(title.chars().count().max(1)));
}

/// `12345678` → `"12,345,678"`.
pub(crate) fn thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // Digits left before the next comma.
    let mut until_comma = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    for ch in digits.chars() {
        if until_comma == 0 {
            out.push(',');
            until_comma = 3;
        }
        out.push(ch);
        until_comma -= 1;
    }
    out
}

fn format_secs(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:>7.2} s")
    } else {
        let m = (secs / 60.0).floor();
        format!("{secs:>7.1} s ({m:.0} min {:.0} s)", secs - m * 60.0)
    }
}

/// Cuts `s` to `max` characters, marking the cut with "…".
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

// `format!("{:<w$}")` pads by chars, which is what we want; these helpers keep the intent
// explicit where widths are computed in chars.
pub(crate) fn pad_right(s: &str, w: usize) -> String {
    format!("{s:<w$}")
}

pub(crate) fn pad_left(s: &str, w: usize) -> String {
    format!("{s:>w$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compare, evaluate, EvalOptions};
    use textclf_core::{LabelSet, Predictions};

    fn report() -> Report {
        let labels = LabelSet::new(vec![
            "Pop".into(),
            "Rock".into(),
            "Electronic dance music".into(),
        ])
        .unwrap();
        let gold = [0, 0, 0, 0, 1, 1, 2, 2];
        let pred = [0, 0, 1, 1, 1, 1, 2, 0];
        let mut v = Vec::new();
        for &p in &pred {
            let mut row = [0.1f32; 3];
            row[p] = 0.8;
            v.extend(row);
        }
        evaluate(
            &gold,
            &Predictions::new(3, v).unwrap(),
            &labels,
            &EvalOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn report_has_all_sections_and_aligned_columns() {
        let r = report();
        let mut t = Timing::new();
        t.add("read", 0.4);
        t.add("vectorize", 1.2);
        let out = render_report(&r, "tfidf-lr on test.csv", Some(&t));
        assert!(out.contains("accuracy     0.6250  (95% CI"), "{out}");
        assert!(out.contains("macro F1"));
        assert!(out.contains("weighted F1"));
        assert!(!out.contains("binary F1"));
        assert!(
            out.contains("50.0 % of Pop predicted as Rock (2 of 4)"),
            "{out}"
        );
        assert!(out.contains("Electroni…"), "{out}");
        assert!(out.contains("total"));
        assert!(out.contains("1.60 s"), "{out}");
        // Per-class rows all have the same width.
        let table: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("label"))
            .take(4)
            .collect();
        let widths: Vec<usize> = table.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{table:?}");
        // Confusion matrix rows too.
        let matrix: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("gold"))
            .skip(1)
            .take(3)
            .collect();
        let widths: Vec<usize> = matrix.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{matrix:?}");
        assert!(matrix[0].starts_with("Pop"));
    }

    #[test]
    fn comparison_renders_names_and_verdict() {
        let gold = [0, 1, 0, 1, 0, 1];
        let a = [0, 1, 1, 0, 0, 1];
        let b = [0, 1, 0, 1, 0, 1];
        let c = compare(&gold, &a, &b, 2, &EvalOptions::default()).unwrap();
        let out = render_comparison(&c, "tfidf-lr", "bert-base");
        assert!(out.contains("tfidf-lr (A) vs bert-base (B)"));
        assert!(out.contains("accuracy"));
        assert!(out.contains("+33.33"), "{out}");
        assert!(out.contains("exact binomial"));
        assert!(out.contains(&c.verdict));
    }

    #[test]
    fn helpers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(truncate("abcdefghijkl", 10), "abcdefghi…");
        assert_eq!(truncate("abc", 10), "abc");
        assert!(format_secs(125.0).contains("2 min 5 s"));
    }
}
