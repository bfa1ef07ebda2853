//! The advice as Markdown ([`Advice::render_markdown`]).

use std::fmt::Write as _;

use super::format::{family_word, level_text, pct};
use super::{Advice, Basis};
use crate::testsets::{describe_groups, TestSetGroup};

impl Advice {
    /// The advice as Markdown: what was read, the ranked plan, findings, and the checks
    /// that did not fire.
    pub fn render_markdown(&self) -> String {
        let mut s = String::new();
        let l = &self.looked_at;
        match &l.sweep {
            Some(name) => {
                let _ = writeln!(s, "# Improvement advice: sweep `{name}`\n");
            }
            None => s.push_str("# Improvement advice\n\n"),
        }
        s.push_str("## What we looked at\n\n");
        let _ = writeln!(
            s,
            "- Runs read from `{}`: {} ({} finished, {} failed, {} not finished); {}: {} transformer, {} linear.",
            l.dir.display(),
            l.runs,
            l.done,
            l.failed,
            l.pending,
            if l.test_set.is_some() {
                "compared below"
            } else {
                "finished"
            },
            l.transformer,
            l.linear
        );
        if let Some(t) = &l.test_set {
            let all: Vec<TestSetGroup> = std::iter::once(t.clone())
                .chain(l.other_test_sets.iter().cloned())
                .collect();
            let left_out: usize = l.other_test_sets.iter().map(|g| g.runs.len()).sum();
            let _ = writeln!(
                s,
                "- The runs were scored on {} different test sets, whose scores are not comparable: {}. The checks below compare only the runs of `{}` (the test set ranked first); the {left_out} run{} of the other test sets {} left out.",
                all.len(),
                describe_groups(&all, |x| format!("`{x}`")),
                t.label,
                if left_out == 1 { "" } else { "s" },
                if left_out == 1 { "is" } else { "are" },
            );
        }
        if l.varied.is_empty() {
            s.push_str("- Settings varied: none.\n");
        } else {
            let v: Vec<String> = l.varied.iter().map(|k| format!("`{k}`")).collect();
            let _ = writeln!(s, "- Settings varied: {}.", v.join(", "));
        }
        match &l.best {
            Some(b) => {
                let _ = writeln!(
                    s,
                    "- Best run: `{}` ({}, {}), chosen by {}.",
                    b.id,
                    b.model,
                    family_word(b.family),
                    b.chosen_by
                );
                match b.test_accuracy {
                    Some(acc) => {
                        let ci = match (b.test_accuracy_ci, b.ci_level) {
                            (Some([lo, hi]), Some(level)) => {
                                format!(" ({} CI {} to {})", level_text(level), pct(lo), pct(hi))
                            }
                            _ => " (no bootstrap CI was computed)".to_string(),
                        };
                        let n = b
                            .test_n
                            .map_or(String::new(), |n| format!(" on {n} test rows"));
                        let f1 = b
                            .test_macro_f1
                            .map_or(String::new(), |f| format!("; macro F1 {}", pct(f)));
                        let _ = writeln!(s, "- Its test accuracy: {}{ci}{n}{f1}.", pct(acc));
                    }
                    // Multi-label and regression runs: the task's headline.
                    None => match &b.test_headline {
                        Some((measure, v)) => {
                            let value = if measure.as_str() == "Pearson r" {
                                format!("{v:.3}")
                            } else {
                                pct(*v)
                            };
                            let n = b
                                .test_n
                                .map_or(String::new(), |n| format!(" on {n} test rows"));
                            let _ = writeln!(s, "- Its test {measure}: {value}{n}.");
                        }
                        None => s.push_str("- It has no test report.\n"),
                    },
                }
            }
            None => s.push_str("- Best run: none (no finished run).\n"),
        }
        s.push_str(
            "- Every number below is computed from these runs. An expected impact marked \
             *measured* is a difference the runs show (the next step may gain less); one \
             marked *heuristic* is a rough scale used only to order the list, not a \
             prediction.\n\n",
        );

        s.push_str("## Improvement plan (ranked)\n\n");
        if self.recommendations.is_empty() {
            s.push_str(
                "No check found evidence for a specific change; see the findings and the \
                 checks that did not fire below.\n\n",
            );
        }
        for r in &self.recommendations {
            let _ = writeln!(s, "{}. **{}** (`{}`)", r.rank, r.title, r.check.name());
            s.push_str("   - Evidence:\n");
            for e in &r.evidence {
                let _ = writeln!(s, "     - {e}");
            }
            let basis = match r.impact.basis {
                Basis::Measured => "measured",
                Basis::Heuristic => "heuristic",
            };
            let _ = writeln!(
                s,
                "   - Expected impact: {:+.2} accuracy points, *{basis}*: {}",
                r.impact.points, r.impact.how
            );
            let _ = writeln!(s, "   - Cost: {}", r.cost);
            if !r.try_flags.is_empty() {
                let t: Vec<String> = r
                    .try_flags
                    .iter()
                    .map(|f| match (f.starts_with("--"), f.split_once(" (")) {
                        (true, Some((flag, note))) => format!("`{flag}` ({note}"),
                        (true, None) => format!("`{f}`"),
                        (false, _) => f.clone(),
                    })
                    .collect();
                let _ = writeln!(s, "   - Try: {}", t.join("; or "));
            }
            s.push('\n');
        }

        if !self.findings.is_empty() {
            s.push_str("## Findings\n\n");
            for f in &self.findings {
                let _ = writeln!(s, "- **{}** (`{}`)", f.title, f.check.name());
                for e in &f.evidence {
                    let _ = writeln!(s, "  - {e}");
                }
            }
            s.push('\n');
        }

        if !self.not_fired.is_empty() {
            s.push_str("## Checks that did not fire\n\n");
            for n in &self.not_fired {
                let _ = writeln!(
                    s,
                    "- `{}` ({}): {}",
                    n.check.name(),
                    n.check.describe(),
                    n.reason
                );
            }
        }
        s
    }
}
