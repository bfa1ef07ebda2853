//! The HTML report: one self-contained page (inline CSS and SVG, no scripts, no external
//! resources), written from the report's document model (`document.rs`, shared with the
//! Markdown report), the advice's blocks included.

mod inline;

use inline::inline;

use crate::document::{
    plot_rule, shifted_level, BestRunPart, Block, List, ReportDoc, ResultsPart, SelectionPart,
    CONFUSION_NOTE, NO_SELECTION,
};
use crate::plots::{self, escape_xml as esc, Plot};
use crate::runs::{RunSet, RunStatus};
use crate::select::Selection;

/// The page's style sheet.
const CSS: &str = include_str!("html/report.css");

/// The report page of `set`. `selection` marks the best run and near ties; `advice` is the
/// improvement advice's blocks ([`crate::Advice::blocks`]). Charts that cannot be drawn
/// are replaced by a note.
pub fn render(set: &RunSet, selection: Option<&Selection>, advice: Option<&[Block]>) -> String {
    match plots::build(set, selection, plot_rule(set, selection)) {
        Ok(p) => render_with_plots(set, selection, advice, &p, None),
        Err(e) => render_with_plots(set, selection, advice, &[], Some(&e.to_string())),
    }
}

/// [`render`] with charts made already (`plot_error`: why there are none).
pub fn render_with_plots(
    set: &RunSet,
    selection: Option<&Selection>,
    advice: Option<&[Block]>,
    plots: &[Plot],
    plot_error: Option<&str>,
) -> String {
    let doc = ReportDoc::new(set, selection, advice, plots);
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>{} – textclf report</title>\n",
        esc(&doc.title)
    ));
    // The blank line after the tag keeps the pages written so far byte-identical.
    h.push_str("<style>\n\n");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n<main>\n");
    h.push_str(&format!("<h1>{}</h1>\n", esc(&doc.title)));
    h.push_str(&format!("<p class=\"meta\">{}</p>\n", esc(&doc.meta)));

    let has_plots = !doc.plots.is_empty() || plot_error.is_some();
    let mut nav = vec![("selection", "Selection"), ("results", "Results")];
    if has_plots {
        nav.push(("plots", "Plots"));
    }
    if doc.best.is_some() {
        nav.push(("best-run", "Best run"));
    }
    if doc.advice.is_some() {
        nav.push(("advice", "Advice"));
    }
    h.push_str("<nav>");
    for (i, (id, name)) in nav.iter().enumerate() {
        if i > 0 {
            h.push_str(" · ");
        }
        h.push_str(&format!("<a href=\"#{id}\">{name}</a>"));
    }
    h.push_str("</nav>\n");

    selection_section(&mut h, doc.selection.as_ref());
    results_section(&mut h, &doc.results);

    if has_plots {
        h.push_str("<section id=\"plots\">\n<h2>Plots</h2>\n");
        if let Some(e) = plot_error {
            h.push_str(&format!("<p class=\"note\">No charts: {}</p>\n", esc(e)));
        }
        for p in &doc.plots {
            figure(&mut h, p);
        }
        h.push_str("</section>\n");
    }

    if let Some(b) = &doc.best {
        best_run_section(&mut h, b);
    }

    if let Some(a) = &doc.advice {
        h.push_str("<section id=\"advice\">\n");
        if a.own_heading {
            h.push_str("<h2>Advice</h2>\n");
        }
        blocks_html(&mut h, a.blocks, a.shift);
        h.push_str("</section>\n");
    }
    h.push_str(&format!(
        "<footer>Made by textclf from {}.</footer>\n",
        esc(&doc.source)
    ));
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

fn selection_section(h: &mut String, selection: Option<&SelectionPart>) {
    h.push_str("<section id=\"selection\">\n<h2>Selection</h2>\n");
    let Some(sel) = selection else {
        h.push_str(&format!("<p>{}</p>\n</section>\n", NO_SELECTION));
        return;
    };
    h.push_str(&format!(
        "<p>Rule: <strong>{}</strong> (<code>{}</code>); {}.</p>\n",
        esc(sel.rule.describe()),
        esc(sel.rule.name()),
        if sel.scores_are_losses() {
            "scores are losses, lower is better"
        } else {
            "higher is better"
        }
    ));
    match sel.test_sets_note(|l| format!("<code>{}</code>", esc(l))) {
        None => ranking_html(h, sel),
        Some(note) => {
            h.push_str(&format!(
                "<p><strong>Several test sets.</strong> {note}</p>\n"
            ));
            for part in std::iter::once(sel).chain(&sel.others) {
                h.push_str(&format!(
                    "<h3>Test set <code>{}</code></h3>\n",
                    esc(part.test_set.unwrap_or_default())
                ));
                ranking_html(h, part);
            }
        }
    }
    h.push_str("</section>\n");
}

/// The best run, its near ties and the unscored runs of one test set.
fn ranking_html(h: &mut String, sel: &SelectionPart) {
    if let Some(b) = &sel.best {
        h.push_str("<div class=\"best-box\">\n");
        h.push_str(&format!(
            "<p><span class=\"star\">★</span> Best run: <strong>{}</strong> ({}{})</p>\n",
            esc(&b.run.id),
            esc(&b.run.model),
            if b.settings.is_empty() {
                String::new()
            } else {
                format!("; {}", esc(&b.settings))
            }
        ));
        h.push_str(&format!("<p>Score: {}</p>\n", esc(&b.score)));
        if let Some(t) = &b.test {
            h.push_str(&format!("<p>{t}</p>\n"));
        }
        h.push_str("</div>\n");
    }
    h.push_str(&format!("<p>{}</p>\n", sel.ties_sentence));
    if !sel.ties.is_empty() {
        h.push_str(&format!(
            "<table class=\"ties\">\n<thead><tr><th>run</th><th class=\"num\">score</th>\
             <th class=\"num\">gap to best</th><th class=\"num\">half-width</th>\
             <th class=\"num\">{}</th><th class=\"num\">McNemar p</th>\
             <th>reading</th></tr></thead>\n<tbody>\n",
            sel.test_diff_header
        ));
        for t in &sel.ties {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td></tr>\n",
                esc(t.id),
                t.score,
                t.gap,
                t.half_width,
                t.test_diff,
                t.mcnemar_p,
                t.reading
            ));
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !sel.unscored.is_empty() {
        h.push_str(&format!(
            "<p class=\"note\">Finished but without a score under this rule: {}.</p>\n",
            sel.unscored
                .iter()
                .map(|s| esc(s))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

fn results_section(h: &mut String, results: &ResultsPart) {
    let table = &results.table;
    h.push_str("<section id=\"results\">\n<h2>Results</h2>\n");
    h.push_str(&format!(
        "<p class=\"note\">{}</p>\n",
        results.note(|f| format!("<code>{f}</code>"))
    ));
    if let Some(note) = results.test_sets_note() {
        h.push_str(&format!("<p class=\"note\">{note}</p>\n"));
    }
    h.push_str("<div class=\"scroll\">\n<table class=\"results\">\n<thead><tr>");
    let numeric = table.display_numeric();
    // The family is shown under the model name (column 3 is left out) to save width.
    for (i, (head, num)) in table.display_header().iter().zip(&numeric).enumerate() {
        if i == 3 {
            continue;
        }
        let head = if i == 2 { "model / family" } else { head };
        // Let long setting names such as train_fraction break after the underscore.
        h.push_str(&format!(
            "<th{}>{}</th>",
            if *num { " class=\"num\"" } else { "" },
            esc(head).replace('_', "_<wbr>")
        ));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let test_set_col = table.several_test_sets.then_some(4);
    let status_col = 4 + usize::from(table.several_test_sets) + table.settings.len();
    for (row, run) in table.rows.iter().zip(results.runs) {
        let class = if row.selected {
            "best"
        } else if row.near_tie {
            "tie"
        } else {
            match row.status {
                RunStatus::Failed { .. } => "failed",
                RunStatus::Pending => "pending",
                RunStatus::Done => "",
            }
        };
        if class.is_empty() {
            h.push_str("<tr>");
        } else {
            h.push_str(&format!("<tr class=\"{class}\">"));
        }
        let cells = table.display_row(row);
        for (i, (cell, num)) in cells.iter().zip(&numeric).enumerate() {
            let cls = if *num { " class=\"num\"" } else { "" };
            if i == 3 {
                continue;
            } else if i == 2 {
                h.push_str(&format!(
                    "<td class=\"model\">{}<div class=\"ci\">{}</div></td>",
                    breakable(cell),
                    esc(&cells[3])
                ));
            } else if i == status_col {
                let mut text = esc(cell);
                if let RunStatus::Failed { error } = &run.status {
                    text.push_str(&format!("<div class=\"err\">{}</div>", esc(error)));
                }
                h.push_str(&format!("<td class=\"status\">{text}</td>"));
            } else if i == 1 {
                h.push_str(&format!("<td class=\"id\">{}</td>", breakable(cell)));
            } else if Some(i) == test_set_col {
                h.push_str(&format!("<td class=\"model\">{}</td>", breakable(cell)));
            } else if let Some((value, ci)) = cell.split_once(" (") {
                // Test accuracy over its interval, to keep the column narrow.
                h.push_str(&format!(
                    "<td{cls}>{}<div class=\"ci\">{}</div></td>",
                    esc(value),
                    esc(ci.trim_end_matches(')'))
                ));
            } else {
                h.push_str(&format!("<td{cls}>{}</td>", esc(cell)));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
    h.push_str("</section>\n");
}

/// Escaped text that may wrap after `-`, `_`, `.` and `/` (long run ids and model names).
fn breakable(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        out.push_str(&esc(&c.to_string()));
        if matches!(c, '-' | '_' | '.' | '/') {
            out.push_str("<wbr>");
        }
    }
    out
}

fn figure(h: &mut String, p: &Plot) {
    h.push_str(&format!(
        "<figure id=\"plot-{}\">\n<div class=\"chart\">\n{}\n</div>\n<figcaption><strong>{}.</strong> {} \
         <span class=\"file\">(plots/{}.svg)</span></figcaption>\n</figure>\n",
        p.name,
        p.svg.trim(),
        esc(&p.title),
        esc(&p.caption),
        p.name
    ));
}

fn best_run_section(h: &mut String, b: &BestRunPart) {
    h.push_str(&format!(
        "<section id=\"best-run\">\n<h2>Best run: {}</h2>\n",
        esc(&b.run.id)
    ));
    h.push_str(&format!("<p>{}{}</p>\n", esc(&b.run.model), b.metrics));
    if let Some(tr) = &b.truncation {
        h.push_str(&format!("<p class=\"note\">{tr}</p>\n"));
    }
    if !b.per_class.is_empty() {
        h.push_str(&format!(
            "<h3>{}</h3>\n<table class=\"per-class\">\n<thead><tr><th>{}</th>\
             <th class=\"num\">precision</th><th class=\"num\">recall</th><th class=\"num\">F1</th>\
             <th class=\"num\">support</th><th class=\"num\">predicted</th></tr></thead>\n<tbody>\n",
            b.per_class_heading, b.class_word
        ));
        for c in &b.per_class {
            h.push_str(&format!("<tr><td>{}</td>", esc(c.label)));
            for cell in &c.cells {
                h.push_str(&format!("<td class=\"num\">{cell}</td>"));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if let Some(p) = b.per_class_plot {
        figure(h, p);
    }
    if let Some(cm) = &b.confusion {
        let k = cm.labels.len();
        h.push_str("<h3>Confusion matrix</h3>\n");
        // A large matrix is folded away: the chart below shows it at a glance.
        if k > 8 {
            h.push_str(&format!(
                "<details>\n<summary>The {k} × {k} matrix as a table</summary>\n"
            ));
        }
        h.push_str(&format!(
            "<p class=\"note\">{}</p>\n<div class=\"scroll\">\n<table class=\"confusion\">\n\
             <thead><tr><th>gold \\ predicted</th>",
            CONFUSION_NOTE
        ));
        for l in cm.labels {
            h.push_str(&format!("<th class=\"num\">{}</th>", esc(l)));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for (l, row) in cm.labels.iter().zip(&cm.rows) {
            h.push_str(&format!("<tr><th>{}</th>", esc(l)));
            for c in row {
                h.push_str(&format!(
                    "<td class=\"num{}\">{} <span class=\"share\">({} %)</span></td>",
                    if c.diag { " diag" } else { "" },
                    c.count,
                    c.share
                ));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n</div>\n");
        if k > 8 {
            h.push_str("</details>\n");
        }
    }
    if let Some(p) = b.confusion_plot {
        figure(h, p);
    }
    for p in &b.more_plots {
        figure(h, p);
    }
    h.push_str("</section>\n");
}

/// Blocks as HTML, headings shifted by `shift` levels (within h2..h6).
fn blocks_html(h: &mut String, blocks: &[Block], shift: i32) {
    for b in blocks {
        match b {
            Block::Heading(level, t) => {
                let l = shifted_level(*level, shift);
                h.push_str(&format!("<h{l}>{}</h{l}>\n", inline(t)));
            }
            Block::Paragraph(t) => h.push_str(&format!("<p>{}</p>\n", inline(t))),
            Block::List(list) => list_html(h, list),
        }
    }
}

fn list_html(h: &mut String, list: &List) {
    let (open, close) = match list.start {
        None => ("<ul>".to_string(), "</ul>"),
        Some(1) => ("<ol>".to_string(), "</ol>"),
        Some(s) => (format!("<ol start=\"{s}\">"), "</ol>"),
    };
    h.push_str(&open);
    h.push('\n');
    for item in &list.items {
        h.push_str("<li>");
        h.push_str(&inline(&item.text));
        if let Some(sub) = &item.sub {
            list_html(h, sub);
        }
        h.push_str("</li>\n");
    }
    h.push_str(close);
    h.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Item;
    use crate::table::fixture;

    fn page() -> String {
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        let advice = [
            Block::Heading(1, "Advice".into()),
            Block::List(List {
                start: Some(1),
                loose: false,
                items: vec![
                    Item::new("Try **max_len 256** with `lr 5e-5`."),
                    Item::new("Then <b>stop</b>."),
                ],
            }),
            Block::List(List::bullets(["a & b"])),
        ];
        render(&set, Some(&sel), Some(&advice))
    }

    #[test]
    fn page_is_well_formed_and_escapes_text() {
        let h = page();
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.trim_end().ends_with("</html>"));
        assert_eq!(h.matches("<svg").count(), h.matches("</svg>").count());
        assert!(h.matches("<svg").count() >= 5);
        for tag in [
            "table", "section", "figure", "tr", "ul", "ol", "li", "p", "strong", "code",
        ] {
            let open =
                h.matches(&format!("<{tag}>")).count() + h.matches(&format!("<{tag} ")).count();
            let close = h.matches(&format!("</{tag}>")).count();
            assert_eq!(
                open, close,
                "<{tag}> opened {open} times, closed {close} times"
            );
        }
        // The failed run's id and error are escaped, never raw markup.
        assert!(h.contains("bad&lt;b&gt;&amp;run"));
        assert!(h.contains("out of memory &lt;alloc&gt; &amp; gave up"));
        assert!(!h.contains("<b>"));
        // No external resources or scripts.
        assert!(!h.contains("<script"));
        assert!(!h.contains("src=\"http"));
        assert!(!h.contains("href=\"http"));
    }

    #[test]
    fn page_has_the_selection_the_table_and_the_advice() {
        let set = fixture::run_set();
        let h = page();
        assert!(h.contains("<h1>demo sweep</h1>"));
        assert!(h.contains("validation accuracy at the epoch of minimum validation loss"));
        assert!(h.contains("Best run: <strong>minilm-len128-lr5e-5</strong>"));
        // One results row per run, the best highlighted once, failed and pending marked.
        let results = &h[h.find("<table class=\"results\">").unwrap()..];
        let results = &results[..results.find("</table>").unwrap()];
        assert_eq!(results.matches("<tr").count(), set.runs.len() + 1);
        assert_eq!(results.matches("<tr class=\"best\">").count(), 1);
        assert_eq!(results.matches("<tr class=\"failed\">").count(), 1);
        assert_eq!(results.matches("<tr class=\"pending\">").count(), 1);
        assert_eq!(results.matches("<tr class=\"tie\">").count(), 4);
        // Near ties with their evidence.
        let ties = &h[h.find("<table class=\"ties\">").unwrap()..];
        let ties = &ties[..ties.find("</table>").unwrap()];
        assert_eq!(ties.matches("<tr>").count(), 1 + 4);
        assert!(ties.contains("0.410"));
        assert!(ties.contains("-0.0040"));
        // The advice: its own heading becomes the section heading, its text's inline
        // Markdown converted.
        let advice = &h[h.find("<section id=\"advice\">").unwrap()..];
        assert!(advice.contains("<h2>Advice</h2>"));
        assert_eq!(advice.matches("<h2>").count(), 1);
        assert!(advice
            .contains("<ol>\n<li>Try <strong>max_len 256</strong> with <code>lr 5e-5</code>."));
        assert!(advice.contains("Then &lt;b&gt;stop&lt;/b&gt;."));
        assert!(advice.contains("<ul>\n<li>a &amp; b</li>"));
        // Best-run tables.
        assert!(h.contains("<h2>Best run: minilm-len128-lr5e-5</h2>"));
        assert!(h.contains("<table class=\"per-class\">"));
        assert!(h.contains("<table class=\"confusion\">"));
    }
}
