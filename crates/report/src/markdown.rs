//! The Markdown report: the same content as the HTML page, written from the same document
//! model (`document.rs`), with tables in GitHub pipe syntax and charts as links to
//! `plots/<name>.svg`.

use crate::document::{
    plot_rule, shifted_level, BestRunPart, Block, List, ReportDoc, ResultsPart, SelectionPart,
    CONFUSION_NOTE, NO_SELECTION,
};
use crate::plots::{self, Plot};
use crate::runs::RunSet;
use crate::select::Selection;

/// The report of `set` as Markdown (see [`crate::html::render`]). Charts are referenced
/// as `plots/<name>.svg`, next to where [`crate::write_report`] writes `report.md`.
pub fn render(set: &RunSet, selection: Option<&Selection>, advice: Option<&[Block]>) -> String {
    let plots = plots::build(set, selection, plot_rule(set, selection)).unwrap_or_default();
    render_with_plots(set, selection, advice, &plots)
}

/// [`render`] with charts made already.
pub fn render_with_plots(
    set: &RunSet,
    selection: Option<&Selection>,
    advice: Option<&[Block]>,
    plots: &[Plot],
) -> String {
    let doc = ReportDoc::new(set, selection, advice, plots);
    let mut m = String::with_capacity(16 * 1024);
    m.push_str(&format!("# {}\n\n", text(&doc.title)));
    m.push_str(&format!("{}\n\n", text(&doc.meta)));

    m.push_str("## Selection\n\n");
    match &doc.selection {
        None => m.push_str(&format!("{NO_SELECTION}\n\n")),
        Some(sel) => selection_md(&mut m, sel),
    }

    results_md(&mut m, &doc.results);

    if !doc.plots.is_empty() {
        m.push_str("## Plots\n\n");
        for p in &doc.plots {
            figure(&mut m, p);
        }
    }

    if let Some(b) = &doc.best {
        best_run_md(&mut m, b);
    }

    // Advice (headings shifted below the page title).
    if let Some(a) = &doc.advice {
        if a.own_heading {
            m.push_str("## Advice\n\n");
        }
        m.push_str(&blocks(a.blocks, Some(a.shift)));
        m.push('\n');
    }
    m.push_str(&format!(
        "---\n\nMade by textclf from {}.\n",
        code(&doc.source)
    ));
    m
}

fn selection_md(m: &mut String, sel: &SelectionPart) {
    m.push_str(&format!(
        "Rule: **{}** (`{}`){}.\n\n",
        sel.rule.describe(),
        sel.rule.name(),
        if sel.scores_are_losses() {
            "; scores are losses, lower is better"
        } else {
            ", higher is better"
        }
    ));
    match sel.test_sets_note(code) {
        None => ranking_md(m, sel),
        Some(note) => {
            m.push_str(&format!("**Several test sets.** {note}\n\n"));
            for part in std::iter::once(sel).chain(&sel.others) {
                m.push_str(&format!(
                    "### Test set {}\n\n",
                    code(part.test_set.unwrap_or_default())
                ));
                ranking_md(m, part);
            }
        }
    }
}

/// The best run, its near ties and the unscored runs of one test set.
fn ranking_md(m: &mut String, sel: &SelectionPart) {
    if let Some(b) = &sel.best {
        m.push_str(&format!(
            "**★ Best run: {}** ({}{})  \nScore: {}",
            code(&b.run.id),
            text(&b.run.model),
            if b.settings.is_empty() {
                String::new()
            } else {
                format!("; {}", text(&b.settings))
            },
            text(&b.score)
        ));
        if let Some(t) = &b.test {
            m.push_str(&format!("  \n{t}"));
        }
        m.push_str("\n\n");
    }
    m.push_str(&format!("{}\n\n", sel.ties_sentence));
    if !sel.ties.is_empty() {
        m.push_str(&format!(
            "| run | score | gap to best | half-width | {} | McNemar p | reading |\n",
            sel.test_diff_header
        ));
        m.push_str("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for t in &sel.ties {
            pipe_row(
                m,
                [
                    code(t.id),
                    t.score.clone(),
                    t.gap.clone(),
                    t.half_width.clone(),
                    t.test_diff.clone(),
                    t.mcnemar_p.clone(),
                    t.reading.to_string(),
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

fn results_md(m: &mut String, results: &ResultsPart) {
    let table = &results.table;
    m.push_str("## Results\n\n");
    m.push_str(&format!("{}\n\n", results.note(|f| format!("`{f}`"))));
    if let Some(note) = results.test_sets_note() {
        m.push_str(&format!("{note}\n\n"));
    }
    let header = table.display_header();
    let numeric = table.display_numeric();
    pipe_row(m, header.iter().map(|h| text(h)));
    m.push('|');
    for &n in &numeric {
        m.push_str(if n { " ---: |" } else { " --- |" });
    }
    m.push('\n');
    for row in &table.rows {
        let cells = table.display_row(row);
        pipe_row(
            m,
            cells.iter().enumerate().map(|(i, c)| match i {
                1 if c != "–" => code(c),
                _ if row.selected && i > 0 && c != "–" => format!("**{}**", text(c)),
                _ => text(c),
            }),
        );
    }
    m.push('\n');
    if !results.failed.is_empty() {
        m.push_str("Failed runs:\n\n");
        for (id, error) in &results.failed {
            m.push_str(&format!("- {}: {}\n", code(id), text(error)));
        }
        m.push('\n');
    }
    if let Some(p) = &results.pending {
        m.push_str(&format!("{p}\n\n"));
    }
}

fn best_run_md(m: &mut String, b: &BestRunPart) {
    m.push_str(&format!("## Best run: {}\n\n", text(&b.run.id)));
    m.push_str(&format!("{}{}\n\n", text(&b.run.model), b.metrics));
    if let Some(tr) = &b.truncation {
        m.push_str(&format!("{tr}\n\n"));
    }
    if !b.per_class.is_empty() {
        m.push_str(&format!("### {}\n\n", b.per_class_heading));
        m.push_str(&format!(
            "| {} | precision | recall | F1 | support | predicted |\n",
            b.class_word
        ));
        m.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for c in &b.per_class {
            pipe_row(
                m,
                std::iter::once(text(c.label)).chain(c.cells.iter().cloned()),
            );
        }
        m.push('\n');
    }
    if let Some(p) = b.per_class_plot {
        figure(m, p);
    }
    if let Some(cm) = &b.confusion {
        m.push_str("### Confusion matrix\n\n");
        m.push_str(&format!("{CONFUSION_NOTE}\n\n"));
        pipe_row(
            m,
            std::iter::once("gold \\\\ predicted".to_string())
                .chain(cm.labels.iter().map(|l| text(l))),
        );
        m.push_str("| --- |");
        m.push_str(&" ---: |".repeat(cm.labels.len()));
        m.push('\n');
        for (l, row) in cm.labels.iter().zip(&cm.rows) {
            let cells = row.iter().map(|c| {
                let cell = format!("{} ({} %)", c.count, c.share);
                if c.diag {
                    format!("**{cell}**")
                } else {
                    cell
                }
            });
            pipe_row(m, std::iter::once(format!("**{}**", text(l))).chain(cells));
        }
        m.push('\n');
    }
    if let Some(p) = b.confusion_plot {
        figure(m, p);
    }
    for p in &b.more_plots {
        figure(m, p);
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

/// Blocks as Markdown, ending with one newline. `shift` moves headings by that many levels
/// (within h2..h6) to sit below a page's own; `None` writes them as they are.
pub fn blocks(blocks: &[Block], shift: Option<i32>) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, t) => {
                let l = shift.map_or(*level, |s| shifted_level(*level, s));
                out.push_str(&format!("{} {t}\n\n", "#".repeat(l)));
            }
            Block::Paragraph(t) => out.push_str(&format!("{t}\n\n")),
            Block::List(list) => {
                list_md(&mut out, list, 0);
                if !list.loose {
                    out.push('\n');
                }
            }
        }
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

/// A list at `indent` spaces; its items' sub-lists sit under their text.
fn list_md(out: &mut String, list: &List, indent: usize) {
    for (i, item) in list.items.iter().enumerate() {
        let marker = list
            .start
            .map_or("- ".to_string(), |s| format!("{}. ", s + i));
        out.push_str(&format!("{}{marker}{}\n", " ".repeat(indent), item.text));
        if let Some(sub) = &item.sub {
            list_md(out, sub, indent + marker.len());
        }
        if list.loose {
            out.push('\n');
        }
    }
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
            Some(&[
                Block::Heading(1, "Advice".into()),
                Block::Heading(2, "Next".into()),
                Block::List(List {
                    start: Some(1),
                    loose: false,
                    items: vec![crate::document::Item::new("Try `max_len 256`.")],
                }),
            ]),
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
