//! The advice as blocks of text ([`Advice::blocks`]), which the Markdown (`advice.md`,
//! [`Advice::render_markdown`]) and the report pages write alike.

use super::format::{family_word, level_text, pct};
use super::{Advice, Basis};
use crate::document::{Block, Item, List};
use crate::testsets::{describe_groups, TestSetGroup};

impl Advice {
    /// The advice as Markdown: what was read, the ranked plan, findings, and the checks
    /// that did not fire.
    pub fn render_markdown(&self) -> String {
        crate::markdown::blocks(&self.blocks(), None)
    }

    /// The advice as blocks: a title, what was read, the ranked plan, findings, and the
    /// checks that did not fire.
    pub fn blocks(&self) -> Vec<Block> {
        let mut b = Vec::new();
        let l = &self.looked_at;
        b.push(Block::Heading(
            1,
            match &l.sweep {
                Some(name) => format!("Improvement advice: sweep `{name}`"),
                None => "Improvement advice".to_string(),
            },
        ));
        b.push(Block::Heading(2, "What we looked at".into()));
        let mut read = Vec::new();
        read.push(format!(
            "Runs read from `{}`: {} ({} finished, {} failed, {} not finished); {}: {} transformer, {} linear.",
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
        ));
        if let Some(t) = &l.test_set {
            let all: Vec<TestSetGroup> = std::iter::once(t.clone())
                .chain(l.other_test_sets.iter().cloned())
                .collect();
            let left_out: usize = l.other_test_sets.iter().map(|g| g.runs.len()).sum();
            read.push(format!(
                "The runs were scored on {} different test sets, whose scores are not comparable: {}. The checks below compare only the runs of `{}` (the test set ranked first); the {left_out} run{} of the other test sets {} left out.",
                all.len(),
                describe_groups(&all, |x| format!("`{x}`")),
                t.label,
                if left_out == 1 { "" } else { "s" },
                if left_out == 1 { "is" } else { "are" },
            ));
        }
        if l.varied.is_empty() {
            read.push("Settings varied: none.".into());
        } else {
            let v: Vec<String> = l.varied.iter().map(|k| format!("`{k}`")).collect();
            read.push(format!("Settings varied: {}.", v.join(", ")));
        }
        match &l.best {
            Some(best) => {
                read.push(format!(
                    "Best run: `{}` ({}, {}), chosen by {}.",
                    best.id,
                    best.model,
                    family_word(best.family),
                    best.chosen_by
                ));
                let n = best
                    .test_n
                    .map_or(String::new(), |n| format!(" on {n} test rows"));
                match best.test_accuracy {
                    Some(acc) => {
                        let ci = match (best.test_accuracy_ci, best.ci_level) {
                            (Some([lo, hi]), Some(level)) => {
                                format!(" ({} CI {} to {})", level_text(level), pct(lo), pct(hi))
                            }
                            _ => " (no bootstrap CI was computed)".to_string(),
                        };
                        let f1 = best
                            .test_macro_f1
                            .map_or(String::new(), |f| format!("; macro F1 {}", pct(f)));
                        read.push(format!("Its test accuracy: {}{ci}{n}{f1}.", pct(acc)));
                    }
                    // Multi-label and regression runs: the task's headline.
                    None => match &best.test_headline {
                        Some((measure, v)) => {
                            let value = if measure.as_str() == "Pearson r" {
                                format!("{v:.3}")
                            } else {
                                pct(*v)
                            };
                            read.push(format!("Its test {measure}: {value}{n}."));
                        }
                        None => read.push("It has no test report.".into()),
                    },
                }
            }
            None => read.push("Best run: none (no finished run).".into()),
        }
        read.push(
            "Every number below is computed from these runs. An expected impact marked \
             *measured* is a difference the runs show (the next step may gain less); one \
             marked *heuristic* is a rough scale used only to order the list, not a \
             prediction."
                .into(),
        );
        b.push(Block::List(List::bullets(read)));

        b.push(Block::Heading(2, "Improvement plan (ranked)".into()));
        if self.recommendations.is_empty() {
            b.push(Block::Paragraph(
                "No check found evidence for a specific change; see the findings and the \
                 checks that did not fire below."
                    .into(),
            ));
        }
        let plan: Vec<Item> = self
            .recommendations
            .iter()
            .map(|r| {
                let basis = match r.impact.basis {
                    Basis::Measured => "measured",
                    Basis::Heuristic => "heuristic",
                };
                let mut parts = vec![
                    Item::with("Evidence:", List::bullets(r.evidence.iter().cloned())),
                    Item::new(format!(
                        "Expected impact: {:+.2} accuracy points, *{basis}*: {}",
                        r.impact.points, r.impact.how
                    )),
                    Item::new(format!("Cost: {}", r.cost)),
                ];
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
                    parts.push(Item::new(format!("Try: {}", t.join("; or "))));
                }
                Item::with(
                    format!("**{}** (`{}`)", r.title, r.check.name()),
                    List {
                        items: parts,
                        ..List::default()
                    },
                )
            })
            .collect();
        if !plan.is_empty() {
            // Numbered by rank (the recommendations come in rank order).
            b.push(Block::List(List {
                start: self.recommendations.first().map(|r| r.rank),
                loose: true,
                items: plan,
            }));
        }

        if !self.findings.is_empty() {
            b.push(Block::Heading(2, "Findings".into()));
            let items = self
                .findings
                .iter()
                .map(|f| {
                    Item::with(
                        format!("**{}** (`{}`)", f.title, f.check.name()),
                        List::bullets(f.evidence.iter().cloned()),
                    )
                })
                .collect();
            b.push(Block::List(List {
                items,
                ..List::default()
            }));
        }

        if !self.not_fired.is_empty() {
            b.push(Block::Heading(2, "Checks that did not fire".into()));
            b.push(Block::List(List::bullets(self.not_fired.iter().map(|n| {
                format!(
                    "`{}` ({}): {}",
                    n.check.name(),
                    n.check.describe(),
                    n.reason
                )
            }))));
        }
        b
    }
}
