//! Plain-text rendering of the multi-label and regression reports, the single-label MCC
//! and the paired comparisons of every shape, in the style of [`crate::render_report`].

use std::fmt::Write;

use crate::compare::format_level;
use crate::render::{heading, mcnemar_and_verdict, pad_left, pad_right, thousands, truncate};
use crate::{
    Mcc, MetricDiff, MultiLabelComparison, MultiLabelReport, RegressionComparison,
    RegressionReport, Thresholds,
};

/// Labels in the per-label table are cut to this many characters.
const TABLE_LABEL_WIDTH: usize = 30;

/// Renders a multi-label report: the headline (micro and macro F1 with their intervals,
/// subset accuracy, Hamming loss, ROC-AUC and the labels it skipped), the four averages
/// of precision/recall/F1, and the per-label table — with each label's threshold when
/// `thresholds` is given.
pub fn render_multilabel_report(
    r: &MultiLabelReport,
    title: &str,
    thresholds: Option<&Thresholds>,
) -> String {
    let mut s = String::new();
    let level = format_level(r.ci.level);
    heading(&mut s, title);
    let _ = writeln!(
        s,
        "{} test rows, {} labels; {:.2} gold and {:.2} predicted labels per row",
        thousands(r.n as u64),
        r.per_label.len(),
        r.gold_cardinality,
        r.predicted_cardinality
    );
    let _ = writeln!(
        s,
        "  micro F1         {:.4}  ({level} CI {:.4} to {:.4})",
        r.micro.f1, r.ci.micro_f1[0], r.ci.micro_f1[1]
    );
    let _ = writeln!(
        s,
        "  macro F1         {:.4}  ({level} CI {:.4} to {:.4})",
        r.macro_avg.f1, r.ci.macro_f1[0], r.ci.macro_f1[1]
    );
    let _ = writeln!(s, "  subset accuracy  {:.4}", r.subset_accuracy);
    let _ = writeln!(s, "  Hamming loss     {:.4}", r.hamming_loss);
    if let Some(roc) = &r.roc_auc {
        let _ = writeln!(
            s,
            "  ROC-AUC          macro {} over {} of {} labels, micro {}",
            opt4(roc.macro_auc),
            roc.labels_scored,
            r.per_label.len(),
            opt4(roc.micro)
        );
        if !roc.skipped.is_empty() {
            let _ = writeln!(
                s,
                "                   (no ROC-AUC for {}: every gold row has the label or none has)",
                roc.skipped.join(", ")
            );
        }
    }
    let _ = writeln!(s, "  ({})", ci_note(r.ci.level, r.ci.resamples));

    s.push('\n');
    let _ = writeln!(
        s,
        "{:<8}  {:>9}  {:>6}  {:>6}",
        "average", "precision", "recall", "F1"
    );
    for (name, a) in [
        ("micro", r.micro),
        ("macro", r.macro_avg),
        ("weighted", r.weighted),
        ("samples", r.samples),
    ] {
        let _ = writeln!(
            s,
            "{name:<8}  {:>9.4}  {:>6.4}  {:>6.4}",
            a.precision, a.recall, a.f1
        );
    }

    s.push('\n');
    let names: Vec<String> = r
        .per_label
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
        .per_label
        .iter()
        .map(|m| thousands(m.support.max(m.predicted)).len())
        .max()
        .unwrap_or(0)
        .max("predicted".len());
    let with_auc = r.roc_auc.is_some();
    let mut head = format!(
        "{:<lw$}  {:>9}  {:>6}  {:>6}  {:>sw$}  {:>sw$}",
        "label", "precision", "recall", "F1", "support", "predicted"
    );
    if with_auc {
        let _ = write!(head, "  {:>7}", "ROC-AUC");
    }
    if thresholds.is_some() {
        let _ = write!(head, "  {:>9}", "threshold");
    }
    let _ = writeln!(s, "{head}");
    for (c, (name, m)) in names.iter().zip(&r.per_label).enumerate() {
        let mut line = format!(
            "{}  {:>9.4}  {:>6.4}  {:>6.4}  {:>sw$}  {:>sw$}",
            pad_right(name, lw),
            m.precision,
            m.recall,
            m.f1,
            thousands(m.support),
            thousands(m.predicted)
        );
        if with_auc {
            let _ = write!(line, "  {:>7}", opt4(m.roc_auc));
        }
        if let Some(t) = thresholds {
            let cell = t.labels.get(c).map_or("-".to_string(), |l| {
                if l.tuned {
                    format!("{:.4}", l.threshold)
                } else {
                    format!("{:.4}*", l.threshold)
                }
            });
            let _ = write!(line, "  {cell:>9}");
        }
        let _ = writeln!(s, "{line}");
    }
    if let Some(t) = thresholds {
        let note = if t.labels.iter().any(|l| !l.tuned) {
            "; * not tuned: no positive validation row, the fallback was kept"
        } else {
            ""
        };
        let _ = writeln!(s, "(thresholds: {}{note})", t.method);
    }
    s
}

/// Renders a regression report: the correlations with their intervals, MSE, MAE, R²
/// and the means of gold values and predictions.
pub fn render_regression_report(r: &RegressionReport, title: &str) -> String {
    let mut s = String::new();
    let level = format_level(r.ci.level);
    heading(&mut s, title);
    let _ = writeln!(s, "{} test rows", thousands(r.n as u64));
    for (name, v, ci) in [
        ("Pearson r ", r.pearson, r.ci.pearson),
        ("Spearman ρ", r.spearman, r.ci.spearman),
    ] {
        match (v, ci) {
            (Some(v), Some(ci)) => {
                let _ = writeln!(
                    s,
                    "  {name}  {v:.4}  ({level} CI {:.4} to {:.4})",
                    ci[0], ci[1]
                );
            }
            (Some(v), None) => {
                let _ = writeln!(s, "  {name}  {v:.4}");
            }
            _ => {
                let _ = writeln!(
                    s,
                    "  {name}  undefined (fewer than two rows, or gold or predictions constant)"
                );
            }
        }
    }
    let _ = writeln!(s, "  MSE         {:.4}  (RMSE {:.4})", r.mse, r.mse.sqrt());
    let _ = writeln!(s, "  MAE         {:.4}", r.mae);
    match r.r2 {
        Some(v) => {
            let _ = writeln!(s, "  R²          {v:.4}");
        }
        None => {
            let _ = writeln!(s, "  R²          undefined (fewer than two rows)");
        }
    }
    let _ = writeln!(
        s,
        "  mean        gold {:.4}, predicted {:.4}",
        r.gold_mean, r.predicted_mean
    );
    let _ = writeln!(s, "  ({})", ci_note(r.ci.level, r.ci.resamples));
    s
}

/// One line for the single-label report: the MCC with its interval, aligned with
/// [`crate::render_report`]'s headline.
pub fn render_mcc(m: &Mcc) -> String {
    format!(
        "  MCC          {:.4}  ({} CI {:.4} to {:.4})\n",
        m.mcc,
        format_level(m.level),
        m.ci[0],
        m.ci[1]
    )
}

/// Renders a paired multi-label comparison of models A (`name_a`) and B (`name_b`).
pub fn render_multilabel_comparison(
    c: &MultiLabelComparison,
    name_a: &str,
    name_b: &str,
) -> String {
    let mut s = String::new();
    heading(&mut s, &format!("{name_a} (A) vs {name_b} (B)"));
    let _ = writeln!(s, "{} test rows, paired", thousands(c.n as u64));
    diff_table(
        &mut s,
        name_a,
        name_b,
        true,
        &[
            ("micro F1", &c.micro_f1),
            ("macro F1", &c.macro_f1),
            ("subset accuracy", &c.subset_accuracy),
        ],
    );
    mcnemar_and_verdict(
        &mut s,
        &c.mcnemar,
        "McNemar on exact matches",
        &format!("{name_a} exactly right where {name_b} is not"),
        &c.verdict,
    );
    s
}

/// Renders a paired regression comparison of models A (`name_a`) and B (`name_b`).
pub fn render_regression_comparison(
    c: &RegressionComparison,
    name_a: &str,
    name_b: &str,
) -> String {
    let mut s = String::new();
    heading(&mut s, &format!("{name_a} (A) vs {name_b} (B)"));
    let _ = writeln!(s, "{} test rows, paired", thousands(c.n as u64));
    diff_table(
        &mut s,
        name_a,
        name_b,
        false,
        &[
            ("Pearson r", &c.pearson),
            ("Spearman ρ", &c.spearman),
            ("MSE (lower is better)", &c.mse),
        ],
    );
    s.push('\n');
    let _ = writeln!(s, "{}", c.verdict);
    s
}

/// One line in the style of [`crate::render_comparison`]'s rows for the MCC of two
/// single-label models: both values and B − A with its interval.
pub fn render_mcc_comparison(d: &MetricDiff, name_a: &str, name_b: &str) -> String {
    let mut s = String::new();
    diff_table(&mut s, name_a, name_b, false, &[("MCC", d)]);
    // Only the row: the header is already printed by the accuracy comparison.
    s.lines().nth(1).map_or(String::new(), |l| format!("{l}\n"))
}

/// A table of metrics of A and B with B − A and its interval; `points` shows the
/// differences ×100 (for shares such as F1), else with four decimals.
fn diff_table(
    s: &mut String,
    name_a: &str,
    name_b: &str,
    points: bool,
    rows: &[(&str, &MetricDiff)],
) {
    let mw = rows
        .iter()
        .map(|(m, _)| m.chars().count())
        .max()
        .unwrap_or(0)
        .max(10);
    let aw = name_a.chars().count().max(6);
    let bw = name_b.chars().count().max(6);
    let unit = if points {
        "B − A in points (CI)"
    } else {
        "B − A (CI)"
    };
    let _ = writeln!(
        s,
        "{}  {}  {}  {unit}",
        pad_right("", mw),
        pad_left(name_a, aw),
        pad_left(name_b, bw)
    );
    let scale = if points { 100.0 } else { 1.0 };
    let dp = if points { 2 } else { 4 };
    for (metric, d) in rows {
        let diff = match (d.diff, d.diff_ci) {
            (Some(x), Some(ci)) => format!(
                "{:+.dp$} ({:+.dp$} to {:+.dp$})",
                x * scale,
                ci[0] * scale,
                ci[1] * scale
            ),
            (Some(x), None) => format!("{:+.dp$}", x * scale),
            _ => "undefined".to_string(),
        };
        let _ = writeln!(
            s,
            "{}  {}  {}  {diff}",
            pad_right(metric, mw),
            pad_left(&opt4(d.a), aw),
            pad_left(&opt4(d.b), bw)
        );
    }
}

fn opt4(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.4}"))
}

fn ci_note(level: f64, resamples: usize) -> String {
    if resamples > 0 {
        format!(
            "{} CI, {} bootstrap resamples",
            format_level(level),
            resamples
        )
    } else {
        "no bootstrap".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        compare_mcc, compare_multilabel, compare_regression, evaluate_mcc, evaluate_multilabel,
        evaluate_regression, tune_thresholds, EvalOptions, LabelMatrix,
    };
    use textclf_core::LabelSet;

    fn ml() -> (LabelMatrix, LabelMatrix, Vec<f32>, LabelSet) {
        let labels = LabelSet::new(vec![
            "admiration".into(),
            "a label with a very long name indeed".into(),
            "never".into(),
        ])
        .unwrap();
        let gold = LabelMatrix::from_sets(3, &[vec![0], vec![0, 1], vec![1], vec![]]).unwrap();
        let pred = LabelMatrix::from_sets(3, &[vec![0], vec![0], vec![1], vec![1]]).unwrap();
        let scores = vec![0.9, 0.2, 0.1, 0.7, 0.4, 0.2, 0.1, 0.8, 0.3, 0.2, 0.6, 0.1];
        (gold, pred, scores, labels)
    }

    #[test]
    fn multilabel_report_has_every_section_and_aligned_rows() {
        let (gold, pred, scores, labels) = ml();
        let r = evaluate_multilabel(
            &gold,
            &pred,
            Some(&scores),
            &labels,
            &EvalOptions::default(),
        )
        .unwrap();
        let t = tune_thresholds(&gold, &scores, &labels, 0.5).unwrap();
        let out = render_multilabel_report(&r, "ovr-lr on dev", Some(&t));
        for part in [
            "ovr-lr on dev\n=============",
            "4 test rows, 3 labels",
            "micro F1         0.7500  (95% CI",
            "subset accuracy  0.5000",
            "Hamming loss",
            "over 2 of 3 labels",
            "no ROC-AUC for never",
            "samples",
            "a label with a very long name…",
            "0.5000*",
            "* not tuned",
        ] {
            assert!(out.contains(part), "{part:?} missing in\n{out}");
        }
        let table: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("label"))
            .take(4)
            .collect();
        let widths: Vec<usize> = table.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{table:?}");
        let plain = render_multilabel_report(&r, "x", None);
        assert!(!plain.contains("threshold"));
    }

    #[test]
    fn regression_report_and_undefined_values() {
        let r = evaluate_regression(
            &[1.0, 2.0, 3.0, 4.0],
            &[1.5, 1.5, 3.5, 5.0],
            &EvalOptions::default(),
        )
        .unwrap();
        let out = render_regression_report(&r, "ridge on stsb dev");
        assert!(out.contains("Pearson r   0.9483  (95% CI"), "{out}");
        assert!(out.contains("Spearman ρ  0.9487"), "{out}");
        assert!(out.contains("MSE         0.4375"), "{out}");
        assert!(out.contains("R²          0.6500"), "{out}");
        let flat = evaluate_regression(&[1.0, 2.0], &[3.0, 3.0], &EvalOptions::default()).unwrap();
        let out = render_regression_report(&flat, "flat");
        assert!(out.contains("Pearson r   undefined"), "{out}");
    }

    #[test]
    fn comparisons_render() {
        let (gold, pred, _, _) = ml();
        let c = compare_multilabel(&gold, &pred, &gold, &EvalOptions::default()).unwrap();
        let out = render_multilabel_comparison(&c, "lr", "svm");
        assert!(out.contains("lr (A) vs svm (B)"));
        assert!(out.contains("subset accuracy"));
        assert!(out.contains("+50.00"), "{out}");
        assert!(
            out.contains("McNemar on exact matches (exact binomial)"),
            "{out}"
        );
        assert!(out.contains(&c.verdict));

        let g = [1.0, 2.0, 3.0, 4.0, 5.0];
        let c = compare_regression(&g, &[2.0, 1.0, 3.0, 5.0, 4.0], &g, &EvalOptions::default())
            .unwrap();
        let out = render_regression_comparison(&c, "ridge", "minilm");
        assert!(
            out.contains("MSE (lower is better)  0.8000  0.0000  -0.8000"),
            "{out}"
        );
        assert!(out.contains(&c.verdict));

        let gold = [0, 1, 0, 1, 1];
        let d = compare_mcc(&gold, &[0, 1, 1, 1, 1], &gold, 2, &EvalOptions::default()).unwrap();
        let line = render_mcc_comparison(&d, "a", "b");
        assert!(line.starts_with("MCC "), "{line}");
        assert!(line.contains("1.0000"), "{line}");
        let m = evaluate_mcc(&gold, &gold, 2, &EvalOptions::default()).unwrap();
        assert!(render_mcc(&m).starts_with("  MCC          1.0000  (95% CI "));
    }
}
