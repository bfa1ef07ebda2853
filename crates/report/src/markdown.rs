//! The Markdown report: the same content as the HTML page, with tables in GitHub pipe
//! syntax and charts as links to `plots/<name>.svg`.

use crate::html::report_rule;
use crate::html::{advice_headings, meta_line, report_title, selection_facts, tie_verdict};
use crate::plots::{self, Plot};
use crate::runs::{RunSet, RunStatus, RunSummary};
use crate::select::{Rule, Selection};
use crate::table::{fmt_interval, fmt_p, ResultsTable};

/// The report of `set` as Markdown (see [`crate::html::render`]). Charts are referenced
/// as `plots/<name>.svg`, next to where [`crate::write_report`] writes `report.md`.
pub fn render(set: &RunSet, selection: Option<&Selection>, advice_md: Option<&str>) -> String {
    let rule = selection
        .map(|s| s.rule)
        .or_else(|| report_rule(set, None).ok())
        .unwrap_or_default();
    let plots = plots::build(set, selection, rule).unwrap_or_default();
    render_with_plots(set, selection, advice_md, &plots)
}

/// [`render`] with charts made already.
pub fn render_with_plots(
    set: &RunSet,
    selection: Option<&Selection>,
    advice_md: Option<&str>,
    plots: &[Plot],
) -> String {
    let table = ResultsTable::new(set, selection);
    let mut m = String::with_capacity(16 * 1024);
    m.push_str(&format!("# {}\n\n", text(&report_title(set))));
    m.push_str(&format!("{}\n\n", text(&meta_line(set))));

    // Selection.
    m.push_str("## Selection\n\n");
    match selection {
        None => m.push_str(
            "No finished run has a score under the selection rule, so no run was selected.\n\n",
        ),
        Some(sel) => selection_md(&mut m, set, sel),
    }

    // Results table.
    m.push_str("## Results\n\n");
    m.push_str(
        "One row per run in plan order. ★ best run, ≈ near tie of the best (within its \
         validation half-width). Test accuracy with its bootstrap 95 % interval. The same \
         table is in `results.csv` and `results.json`.\n\n",
    );
    let header = table.display_header();
    let numeric = table.display_numeric();
    pipe_row(&mut m, header.iter().map(|h| text(h)));
    m.push('|');
    for &n in &numeric {
        m.push_str(if n { " ---: |" } else { " --- |" });
    }
    m.push('\n');
    for row in &table.rows {
        let cells = table.display_row(row);
        pipe_row(
            &mut m,
            cells.iter().enumerate().map(|(i, c)| match i {
                1 if c != "–" => code(c),
                _ if row.selected && i > 0 && c != "–" => format!("**{}**", text(c)),
                _ => text(c),
            }),
        );
    }
    m.push('\n');
    let failed: Vec<&RunSummary> = set
        .runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Failed { .. }))
        .collect();
    if !failed.is_empty() {
        m.push_str("Failed runs:\n\n");
        for r in failed {
            if let RunStatus::Failed { error } = &r.status {
                m.push_str(&format!("- {}: {}\n", code(&r.id), text(error)));
            }
        }
        m.push('\n');
    }
    let pending = set
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Pending)
        .count();
    if pending > 0 {
        m.push_str(&format!(
            "{pending} run{} not finished yet (pending).\n\n",
            if pending == 1 { " is" } else { "s are" }
        ));
    }

    // Charts.
    let general: Vec<&Plot> = plots
        .iter()
        .filter(|p| !matches!(p.name, "per_class_f1" | "confusion"))
        .collect();
    if !general.is_empty() {
        m.push_str("## Plots\n\n");
        for p in general {
            figure(&mut m, p);
        }
    }

    // Best run.
    if let Some(b) = plots::best_run(set, selection) {
        if let Some(t) = &b.test {
            m.push_str(&format!("## Best run: {}\n\n", text(&b.id)));
            m.push_str(&format!(
                "{} · test accuracy {:.3} (95 % CI {}) · macro F1 {:.3} · weighted F1 {:.3} · \
                 log loss {:.3} · {} test rows\n\n",
                text(&b.model),
                t.accuracy,
                fmt_interval(t.ci.accuracy),
                t.macro_f1,
                t.weighted_f1,
                t.log_loss,
                t.n
            ));
            if let Some(tr) = &b.truncation {
                m.push_str(&format!(
                    "max_len {} cuts {:.1} % of the training texts (sample of {}; token \
                     lengths: median {}, 90th percentile {}, max {}).\n\n",
                    tr.max_len,
                    tr.truncated_share * 100.0,
                    tr.sampled,
                    tr.p50,
                    tr.p90,
                    tr.max
                ));
            }
            m.push_str("### Per-class metrics\n\n");
            m.push_str("| class | precision | recall | F1 | support | predicted |\n");
            m.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
            for c in &t.per_class {
                m.push_str(&format!(
                    "| {} | {:.3} | {:.3} | {:.3} | {} | {} |\n",
                    text(&c.label),
                    c.precision,
                    c.recall,
                    c.f1,
                    c.support,
                    c.predicted
                ));
            }
            m.push('\n');
            if let Some(p) = plots.iter().find(|p| p.name == "per_class_f1") {
                figure(&mut m, p);
            }
            let cm = &t.confusion;
            if !cm.labels.is_empty() && cm.counts.len() == cm.labels.len() {
                m.push_str("### Confusion matrix\n\n");
                m.push_str(
                    "Rows: gold class; columns: predicted class; count and share of the row.\n\n",
                );
                pipe_row(
                    &mut m,
                    std::iter::once("gold \\\\ predicted".to_string())
                        .chain(cm.labels.iter().map(|l| text(l))),
                );
                m.push_str("| --- |");
                m.push_str(&" ---: |".repeat(cm.labels.len()));
                m.push('\n');
                for (i, l) in cm.labels.iter().enumerate() {
                    let cells = (0..cm.labels.len()).map(|j| {
                        let count = cm.counts[i].get(j).copied().unwrap_or(0);
                        let share = cm
                            .row_normalized
                            .get(i)
                            .and_then(|r| r.get(j))
                            .copied()
                            .unwrap_or(0.0);
                        let cell = format!("{count} ({:.1} %)", share * 100.0);
                        if i == j {
                            format!("**{cell}**")
                        } else {
                            cell
                        }
                    });
                    pipe_row(
                        &mut m,
                        std::iter::once(format!("**{}**", text(l))).chain(cells),
                    );
                }
                m.push('\n');
            }
            if let Some(p) = plots.iter().find(|p| p.name == "confusion") {
                figure(&mut m, p);
            }
        }
    }

    // Advice, as given (headings shifted below the page title).
    if let Some(a) = advice_md.filter(|a| !a.trim().is_empty()) {
        let (own_heading, shift) = advice_headings(a);
        if own_heading {
            m.push_str("## Advice\n\n");
        }
        m.push_str(&shift_headings(a, shift));
        if !m.ends_with('\n') {
            m.push('\n');
        }
        m.push('\n');
    }
    m.push_str(&format!(
        "---\n\nMade by textclf from `{}`.\n",
        set.dir.display()
    ));
    m
}

fn selection_md(m: &mut String, set: &RunSet, sel: &Selection) {
    m.push_str(&format!(
        "Rule: **{}** (`{}`){}.\n\n",
        sel.rule.describe(),
        sel.rule.name(),
        if sel.rule == Rule::ValLoss {
            "; scores are losses, lower is better"
        } else {
            ", higher is better"
        }
    ));
    if let Some(f) = selection_facts(set, sel) {
        m.push_str(&format!(
            "**★ Best run: {}** ({}{})  \nScore: {}",
            code(&f.best.id),
            text(&f.best.model),
            if f.settings.is_empty() {
                String::new()
            } else {
                format!("; {}", text(&f.settings))
            },
            text(&f.score_text)
        ));
        if let Some(t) = &f.best.test {
            m.push_str(&format!(
                "  \nTest accuracy {:.3} (95 % CI {}), test macro F1 {:.3} (95 % CI {}), {} \
                 test rows.",
                t.accuracy,
                fmt_interval(t.ci.accuracy),
                t.macro_f1,
                fmt_interval(t.ci.macro_f1),
                t.n
            ));
        }
        m.push_str("\n\n");
    }
    let ties: Vec<_> = sel.near_ties().collect();
    if ties.is_empty() {
        m.push_str(&format!(
            "No other run is within {} of the best score: the choice is clear on validation.\n\n",
            sel.half_width
                .map_or("a tie".to_string(), |hw| format!("the half-width {hw:.3}"))
        ));
    } else {
        m.push_str(&format!(
            "{} run{} {} not distinguishable from the best on validation (gap within the best \
             run's 95 % half-width{}). The test comparison is paired on the same test rows \
             (McNemar's test).\n\n",
            ties.len(),
            if ties.len() == 1 { "" } else { "s" },
            if ties.len() == 1 { "is" } else { "are" },
            sel.half_width
                .map_or(String::new(), |hw| format!(" of {hw:.3}"))
        ));
        m.push_str(
            "| run | score | gap to best | half-width | test acc − best | McNemar p | reading |\n",
        );
        m.push_str("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for t in ties {
            pipe_row(
                m,
                [
                    code(&t.id),
                    format!("{:.3}", t.score),
                    format!("{:.4}", t.gap),
                    sel.half_width.map_or("–".into(), |hw| format!("{hw:.4}")),
                    t.test_diff.map_or("–".into(), |d| format!("{d:+.4}")),
                    t.mcnemar_p.map_or("–".into(), fmt_p),
                    tie_verdict(t.mcnemar_p).to_string(),
                ]
                .into_iter(),
            );
        }
        m.push('\n');
    }
    if !sel.unscored.is_empty() {
        m.push_str(&format!(
            "Finished but without a score under this rule: {}.\n\n",
            sel.unscored
                .iter()
                .map(|s| code(s))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

fn figure(m: &mut String, p: &Plot) {
    m.push_str(&format!(
        "![{}](plots/{}.svg)\n\n*{}*\n\n",
        text(&p.title).replace(['[', ']'], ""),
        p.name,
        text(&p.caption)
    ));
}

fn pipe_row(m: &mut String, cells: impl Iterator<Item = String>) {
    m.push('|');
    for c in cells {
        m.push(' ');
        m.push_str(&c);
        m.push_str(" |");
    }
    m.push('\n');
}

/// Text safe in Markdown, also inside a table cell: Markdown's special characters and
/// HTML are escaped, line breaks become spaces.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `s` as a code span (for run ids), safe inside a table cell.
pub fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    if longest == 0 {
        format!("`{s}`")
    } else {
        let fence = "`".repeat(longest + 1);
        format!("{fence} {s} {fence}")
    }
}

/// Shifts the ATX headings of `md` by `shift` levels (clamped to 2..=6), outside code
/// fences.
fn shift_headings(md: &str, shift: i32) -> String {
    let mut out = String::with_capacity(md.len());
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let n = line.chars().take_while(|&c| c == '#').count();
        if !fenced && n > 0 && n <= 6 && line[n..].starts_with(' ') {
            let l = (n as i32 + shift).clamp(2, 6) as usize;
            out.push_str(&"#".repeat(l));
            out.push_str(&line[n..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::fixture;

    fn doc() -> (RunSet, String) {
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        let md = render(
            &set,
            Some(&sel),
            Some("# Advice\n\n## Next\n\n1. Try `max_len 256`.\n"),
        );
        (set, md)
    }

    #[test]
    fn results_table_has_one_row_per_run() {
        let (set, md) = doc();
        let after = &md[md.find("## Results").unwrap()..];
        let lines: Vec<&str> = after
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .collect();
        let results = lines.join("\n");
        assert_eq!(lines.len(), 2 + set.runs.len(), "{results}");
        // Escaped bars (`\|`) do not split cells.
        let bars = |l: &str| l.matches('|').count() - l.matches("\\|").count();
        let cols = bars(lines[0]);
        for l in &lines {
            assert_eq!(bars(l), cols, "{l}");
        }
        assert!(lines[1].starts_with("| --- |"));
        let best: Vec<&&str> = lines.iter().filter(|l| l.contains("★")).collect();
        assert_eq!(best.len(), 1);
        assert!(best[0].contains("`minilm-len128-lr5e-5`"));
        assert!(best[0].contains("**0.889**"));
        // The failed run's id is a code span (shown literally), its error escaped.
        assert!(md.contains("`bad<b>&run`"));
        assert!(md.contains("out of memory &lt;alloc&gt; &amp; gave up"));
        assert!(md.contains("1 run is not finished yet"));
    }

    #[test]
    fn charts_are_linked_and_advice_headings_shifted() {
        let (_, md) = doc();
        for name in [
            "learning_curves",
            "heatmap_max_len_lr",
            "accuracy_vs_time",
            "per_class_f1",
            "confusion",
        ] {
            assert_eq!(
                md.matches(&format!("(plots/{name}.svg)")).count(),
                1,
                "{name}"
            );
        }
        assert!(
            md.contains("\n## Advice\n\n### Next\n\n1. Try `max_len 256`.\n"),
            "{md}"
        );
        assert_eq!(md.matches("\n# ").count(), 0);
        assert!(md.starts_with("# demo sweep\n"));
        assert!(md.contains("| run | score | gap to best |"));
        assert!(md.contains("| 0.410 |"));
    }

    #[test]
    fn text_and_code_are_safe() {
        assert_eq!(text("a|b *c* <d>"), "a\\|b \\*c\\* &lt;d&gt;");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
