//! The HTML report: one self-contained page (inline CSS and SVG, no scripts, no external
//! resources), and [`write_report`], which writes every report file of a run set.

use std::path::{Path, PathBuf};

use crate::error::{ReportError, Result};
use crate::markdown;
use crate::plots::{self, escape_xml as esc, Plot};
use crate::runs::{RunSet, RunStatus, RunSummary};
use crate::select::{select, Rule, Selection};
use crate::table::{self, fmt_interval, fmt_p, fmt_setting, write_atomic, ResultsTable};

/// Charts shown with the best run rather than in the general section.
const BEST_RUN_PLOTS: [&str; 2] = ["per_class_f1", "confusion"];

/// The rule a report uses: `rule` if given, else the one the sweep declared, else the
/// default.
pub fn report_rule(set: &RunSet, rule: Option<Rule>) -> Result<Rule> {
    match (rule, &set.selection) {
        (Some(r), _) => Ok(r),
        (None, Some(name)) => name.parse::<Rule>().map_err(|e| {
            ReportError::Invalid(format!(
                "{}: the sweep's selection rule: {e}",
                set.dir.display()
            ))
        }),
        (None, None) => Ok(Rule::default()),
    }
}

/// The report page of `set`. `selection` marks the best run and near ties; `advice_md` is
/// the improvement advice as Markdown (headings, lists, **bold**, `code`, tables). Charts
/// that cannot be drawn are replaced by a note.
pub fn render(set: &RunSet, selection: Option<&Selection>, advice_md: Option<&str>) -> String {
    let rule = selection
        .map(|s| s.rule)
        .or_else(|| report_rule(set, None).ok())
        .unwrap_or_default();
    match plots::build(set, selection, rule) {
        Ok(p) => render_with_plots(set, selection, advice_md, &p, None),
        Err(e) => render_with_plots(set, selection, advice_md, &[], Some(&e.to_string())),
    }
}

/// [`render`] with charts made already (`plot_error`: why there are none).
pub fn render_with_plots(
    set: &RunSet,
    selection: Option<&Selection>,
    advice_md: Option<&str>,
    plots: &[Plot],
    plot_error: Option<&str>,
) -> String {
    let table = ResultsTable::new(set, selection);
    let title = report_title(set);
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>{} – textclf report</title>\n",
        esc(&title)
    ));
    h.push_str("<style>\n");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n<main>\n");
    h.push_str(&format!("<h1>{}</h1>\n", esc(&title)));
    h.push_str(&format!("<p class=\"meta\">{}</p>\n", esc(&meta_line(set))));

    let general: Vec<&Plot> = plots
        .iter()
        .filter(|p| !BEST_RUN_PLOTS.contains(&p.name))
        .collect();
    let best = plots::best_run(set, selection);
    let mut nav = vec![("selection", "Selection"), ("results", "Results")];
    if !general.is_empty() || plot_error.is_some() {
        nav.push(("plots", "Plots"));
    }
    if best.is_some_and(|b| b.test.is_some()) {
        nav.push(("best-run", "Best run"));
    }
    if advice_md.is_some_and(|a| !a.trim().is_empty()) {
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

    selection_section(&mut h, set, selection);
    results_section(&mut h, set, &table);

    if !general.is_empty() || plot_error.is_some() {
        h.push_str("<section id=\"plots\">\n<h2>Plots</h2>\n");
        if let Some(e) = plot_error {
            h.push_str(&format!("<p class=\"note\">No charts: {}</p>\n", esc(e)));
        }
        for p in &general {
            figure(&mut h, p);
        }
        h.push_str("</section>\n");
    }

    if let Some(b) = best.filter(|b| b.test.is_some()) {
        best_run_section(&mut h, b, plots);
    }

    if let Some(a) = advice_md.filter(|a| !a.trim().is_empty()) {
        h.push_str("<section id=\"advice\">\n");
        let (own_heading, shift) = advice_headings(a);
        if own_heading {
            h.push_str("<h2>Advice</h2>\n");
        }
        h.push_str(&markdown_to_html(a, shift));
        h.push_str("</section>\n");
    }
    h.push_str(&format!(
        "<footer>Made by textclf from {}.</footer>\n",
        esc(&set.dir.display().to_string())
    ));
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// The sweep's name, else the folder's name.
pub(crate) fn report_title(set: &RunSet) -> String {
    set.sweep.clone().unwrap_or_else(|| {
        set.dir.file_name().map_or_else(
            || set.dir.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    })
}

/// `12 runs: 9 done, 2 failed, 1 pending · varied: max_len, lr · folder /x/y`.
pub(crate) fn meta_line(set: &RunSet) -> String {
    let n = set.runs.len();
    let count = |f: fn(&RunStatus) -> bool| set.runs.iter().filter(|r| f(&r.status)).count();
    let done = count(|s| *s == RunStatus::Done);
    let failed = count(|s| matches!(s, RunStatus::Failed { .. }));
    let pending = count(|s| *s == RunStatus::Pending);
    let mut parts = vec![format!(
        "{n} run{}: {done} done, {failed} failed, {pending} pending",
        if n == 1 { "" } else { "s" }
    )];
    if !set.varied.is_empty() {
        parts.push(format!("varied: {}", set.varied.join(", ")));
    }
    parts.push(format!("folder {}", set.dir.display()));
    parts.join(" · ")
}

/// Facts of the selection shared by the HTML and Markdown reports.
pub(crate) struct SelectionFacts<'a> {
    pub best: &'a RunSummary,
    pub score_text: String,
    pub settings: String,
}

pub(crate) fn selection_facts<'a>(set: &'a RunSet, sel: &Selection) -> Option<SelectionFacts<'a>> {
    let best = set.runs.iter().find(|r| r.id == sel.best)?;
    let score = sel.ranking.first().map(|r| r.score);
    let mut score_text = score.map_or("–".into(), |s| format!("{s:.3}"));
    if let Some(hw) = sel.half_width {
        score_text.push_str(&format!(" ± {hw:.3}"));
        if let Some(n) = best.val_n {
            score_text.push_str(&format!(" (95 % half-width, {n} validation rows)"));
        }
    }
    let keys = table::setting_keys(set);
    let settings = keys
        .iter()
        .filter_map(|k| Some(format!("{k} = {}", fmt_setting(k, best.params.get(k)?))))
        .collect::<Vec<_>>()
        .join(", ");
    Some(SelectionFacts {
        best,
        score_text,
        settings,
    })
}

/// How a near tie's test comparison reads.
pub(crate) fn tie_verdict(p: Option<f64>) -> &'static str {
    match p {
        Some(p) if p < 0.05 => "test difference is significant (p < 0.05)",
        Some(_) => "not distinguishable on test either",
        None => "no paired test predictions to compare",
    }
}

fn selection_section(h: &mut String, set: &RunSet, selection: Option<&Selection>) {
    h.push_str("<section id=\"selection\">\n<h2>Selection</h2>\n");
    let Some(sel) = selection else {
        h.push_str(
            "<p>No finished run has a score under the selection rule, so no run was \
             selected.</p>\n</section>\n",
        );
        return;
    };
    h.push_str(&format!(
        "<p>Rule: <strong>{}</strong> (<code>{}</code>); {}.</p>\n",
        esc(sel.rule.describe()),
        esc(sel.rule.name()),
        if sel.rule == Rule::ValLoss {
            "scores are losses, lower is better"
        } else {
            "higher is better"
        }
    ));
    if let Some(f) = selection_facts(set, sel) {
        h.push_str("<div class=\"best-box\">\n");
        h.push_str(&format!(
            "<p><span class=\"star\">★</span> Best run: <strong>{}</strong> ({}{})</p>\n",
            esc(&f.best.id),
            esc(&f.best.model),
            if f.settings.is_empty() {
                String::new()
            } else {
                format!("; {}", esc(&f.settings))
            }
        ));
        h.push_str(&format!("<p>Score: {}</p>\n", esc(&f.score_text)));
        if let Some(t) = &f.best.test {
            h.push_str(&format!(
                "<p>Test accuracy {:.3} (95 % CI {}), test macro F1 {:.3} (95 % CI {}), {} \
                 test rows.</p>\n",
                t.accuracy,
                fmt_interval(t.ci.accuracy),
                t.macro_f1,
                fmt_interval(t.ci.macro_f1),
                t.n
            ));
        }
        h.push_str("</div>\n");
    }
    let ties: Vec<_> = sel.near_ties().collect();
    if ties.is_empty() {
        h.push_str(&format!(
            "<p>No other run is within {} of the best score: the choice is clear on \
             validation.</p>\n",
            sel.half_width
                .map_or("a tie".to_string(), |hw| format!("the half-width {hw:.3}"))
        ));
    } else {
        h.push_str(&format!(
            "<p>{} run{} {} not distinguishable from the best on validation (gap within \
             the best run's 95 % half-width{}). The test comparison is paired on the same \
             test rows (McNemar's test).</p>\n",
            ties.len(),
            if ties.len() == 1 { "" } else { "s" },
            if ties.len() == 1 { "is" } else { "are" },
            sel.half_width
                .map_or(String::new(), |hw| format!(" of {hw:.3}"))
        ));
        h.push_str(
            "<table class=\"ties\">\n<thead><tr><th>run</th><th class=\"num\">score</th>\
             <th class=\"num\">gap to best</th><th class=\"num\">half-width</th>\
             <th class=\"num\">test acc − best</th><th class=\"num\">McNemar p</th>\
             <th>reading</th></tr></thead>\n<tbody>\n",
        );
        for t in ties {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.4}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td></tr>\n",
                esc(&t.id),
                t.score,
                t.gap,
                sel.half_width.map_or("–".into(), |hw| format!("{hw:.4}")),
                t.test_diff.map_or("–".into(), |d| format!("{d:+.4}")),
                t.mcnemar_p.map_or("–".into(), fmt_p),
                tie_verdict(t.mcnemar_p)
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
    h.push_str("</section>\n");
}

fn results_section(h: &mut String, set: &RunSet, table: &ResultsTable) {
    h.push_str("<section id=\"results\">\n<h2>Results</h2>\n");
    h.push_str(
        "<p class=\"note\">One row per run in plan order. ★ best run, ≈ near tie of the best \
         (within its validation half-width). Test accuracy with its bootstrap 95 % interval. \
         The same table is in <code>results.csv</code> and <code>results.json</code>.</p>\n",
    );
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
    let status_col = 4 + table.settings.len();
    for (row, run) in table.rows.iter().zip(&set.runs) {
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

fn best_run_section(h: &mut String, b: &RunSummary, plots: &[Plot]) {
    let Some(t) = &b.test else { return };
    h.push_str(&format!(
        "<section id=\"best-run\">\n<h2>Best run: {}</h2>\n",
        esc(&b.id)
    ));
    h.push_str(&format!(
        "<p>{} · test accuracy {:.3} (95 % CI {}) · macro F1 {:.3} · weighted F1 {:.3} · log \
         loss {:.3} · {} test rows</p>\n",
        esc(&b.model),
        t.accuracy,
        fmt_interval(t.ci.accuracy),
        t.macro_f1,
        t.weighted_f1,
        t.log_loss,
        t.n
    ));
    if let Some(tr) = &b.truncation {
        h.push_str(&format!(
            "<p class=\"note\">max_len {} cuts {:.1} % of the training texts (sample of {}; \
             token lengths: median {}, 90th percentile {}, max {}).</p>\n",
            tr.max_len,
            tr.truncated_share * 100.0,
            tr.sampled,
            tr.p50,
            tr.p90,
            tr.max
        ));
    }
    h.push_str("<h3>Per-class metrics</h3>\n<table class=\"per-class\">\n<thead><tr><th>class</th>\
                <th class=\"num\">precision</th><th class=\"num\">recall</th><th class=\"num\">F1</th>\
                <th class=\"num\">support</th><th class=\"num\">predicted</th></tr></thead>\n<tbody>\n");
    for c in &t.per_class {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.3}</td>\
             <td class=\"num\">{:.3}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            esc(&c.label),
            c.precision,
            c.recall,
            c.f1,
            c.support,
            c.predicted
        ));
    }
    h.push_str("</tbody>\n</table>\n");
    if let Some(p) = plots.iter().find(|p| p.name == "per_class_f1") {
        figure(h, p);
    }
    let cm = &t.confusion;
    if !cm.labels.is_empty() && cm.counts.len() == cm.labels.len() {
        let k = cm.labels.len();
        h.push_str("<h3>Confusion matrix</h3>\n");
        // A large matrix is folded away: the chart below shows it at a glance.
        if k > 8 {
            h.push_str(&format!(
                "<details>\n<summary>The {k} × {k} matrix as a table</summary>\n"
            ));
        }
        h.push_str(
            "<p class=\"note\">Rows: gold class; columns: predicted class; count and share of \
             the row.</p>\n<div class=\"scroll\">\n<table class=\"confusion\">\n\
             <thead><tr><th>gold \\ predicted</th>",
        );
        for l in &cm.labels {
            h.push_str(&format!("<th class=\"num\">{}</th>", esc(l)));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for (i, l) in cm.labels.iter().enumerate() {
            h.push_str(&format!("<tr><th>{}</th>", esc(l)));
            for j in 0..cm.labels.len() {
                let count = cm.counts[i].get(j).copied().unwrap_or(0);
                let share = cm
                    .row_normalized
                    .get(i)
                    .and_then(|r| r.get(j))
                    .copied()
                    .unwrap_or(0.0);
                h.push_str(&format!(
                    "<td class=\"num{}\">{count} <span class=\"share\">({:.1} %)</span></td>",
                    if i == j { " diag" } else { "" },
                    share * 100.0
                ));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n</div>\n");
        if k > 8 {
            h.push_str("</details>\n");
        }
    }
    if let Some(p) = plots.iter().find(|p| p.name == "confusion") {
        figure(h, p);
    }
    h.push_str("</section>\n");
}

/// Whether the advice needs an "Advice" heading of ours (it does not start with one of
/// its own), and how many levels to shift its headings so they sit below the page's h2
/// (or become the h2 when the advice brings its own title).
pub(crate) fn advice_headings(md: &str) -> (bool, i32) {
    let level = |l: &str| {
        let t = l.trim_start();
        let n = t.chars().take_while(|&c| c == '#').count();
        (n > 0 && n <= 6 && t[n..].starts_with(' ')).then_some(n as i32)
    };
    let min = md.lines().filter_map(level).min();
    let first = md.lines().find(|l| !l.trim().is_empty()).and_then(level);
    match (first, min) {
        (Some(f), Some(m)) if f == m => (false, 2 - m),
        (_, Some(m)) => (true, 3 - m),
        _ => (true, 0),
    }
}

// ---------------------------------------------------------------------------------------
// A small Markdown subset to HTML, for the advice.

#[derive(PartialEq, Clone, Copy)]
enum ListKind {
    Bullet,
    Numbered,
}

/// Converts the Markdown subset the advice uses: ATX headings (shifted by `shift` levels,
/// clamped to h2..h6), paragraphs, bullet and numbered lists (nested by indentation),
/// fenced code blocks, block quotes, pipe tables and the inline forms **bold**, *italic*,
/// `code` and `[links](url)`. Everything else is escaped text.
pub fn markdown_to_html(md: &str, shift: i32) -> String {
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    // Open lists: (indent, kind); an item is open while its list is.
    let mut lists: Vec<(usize, ListKind)> = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    let flush_para = |out: &mut String, para: &mut Vec<String>| {
        if !para.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", inline(&para.join(" "))));
            para.clear();
        }
    };
    let close_lists = |out: &mut String, lists: &mut Vec<(usize, ListKind)>, to: usize| {
        while lists.len() > to {
            let (_, k) = lists.pop().expect("non-empty");
            out.push_str(if k == ListKind::Bullet {
                "</li>\n</ul>\n"
            } else {
                "</li>\n</ol>\n"
            });
        }
    };
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if trimmed.is_empty() {
            flush_para(&mut out, &mut para);
            // A blank line ends lists unless the next line continues them (indented or
            // another item).
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            let continues = next.is_some_and(|n| {
                list_item(n).is_some() || (n.len() - n.trim_start().len() >= 2 && !lists.is_empty())
            });
            if !continues {
                close_lists(&mut out, &mut lists, 0);
            }
            i += 1;
            continue;
        }
        if let Some(fence) = trimmed.strip_prefix("```") {
            let _lang = fence;
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let mut code = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                code.push(lines[i]);
                i += 1;
            }
            out.push_str(&format!(
                "<pre><code>{}</code></pre>\n",
                esc(&code.join("\n"))
            ));
            i += 1;
            continue;
        }
        if let Some((level, text)) = heading(trimmed) {
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let l = (level as i32 + shift).clamp(2, 6);
            out.push_str(&format!("<h{l}>{}</h{l}>\n", inline(text)));
            i += 1;
            continue;
        }
        if trimmed.starts_with('|') && lines.get(i + 1).is_some_and(|l| is_table_rule(l)) {
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let head = table_cells(trimmed);
            let aligns: Vec<&str> = table_cells(lines[i + 1].trim())
                .iter()
                .map(|c| {
                    let c = c.trim();
                    if c.ends_with(':') {
                        " class=\"num\""
                    } else {
                        ""
                    }
                })
                .collect();
            out.push_str("<table>\n<thead><tr>");
            for (j, c) in head.iter().enumerate() {
                out.push_str(&format!(
                    "<th{}>{}</th>",
                    aligns.get(j).copied().unwrap_or(""),
                    inline(c)
                ));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            i += 2;
            while i < lines.len() && lines[i].trim().starts_with('|') {
                out.push_str("<tr>");
                for (j, c) in table_cells(lines[i].trim()).iter().enumerate() {
                    out.push_str(&format!(
                        "<td{}>{}</td>",
                        aligns.get(j).copied().unwrap_or(""),
                        inline(c)
                    ));
                }
                out.push_str("</tr>\n");
                i += 1;
            }
            out.push_str("</tbody>\n</table>\n");
            continue;
        }
        if let Some(q) = trimmed.strip_prefix('>') {
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let mut quote = vec![q.trim()];
            i += 1;
            while i < lines.len() {
                match lines[i].trim().strip_prefix('>') {
                    Some(q) => quote.push(q.trim()),
                    None => break,
                }
                i += 1;
            }
            out.push_str(&format!(
                "<blockquote><p>{}</p></blockquote>\n",
                inline(&quote.join(" "))
            ));
            continue;
        }
        if let Some((kind, text)) = list_item(line) {
            flush_para(&mut out, &mut para);
            // Close deeper lists; a sibling item closes the previous item.
            while lists.last().is_some_and(|&(ind, _)| ind > indent) {
                let to = lists.len() - 1;
                close_lists(&mut out, &mut lists, to);
            }
            match lists.last() {
                Some(&(ind, k)) if ind == indent && k == kind => out.push_str("</li>\n<li>"),
                Some(&(ind, _)) if ind == indent => {
                    let to = lists.len() - 1;
                    close_lists(&mut out, &mut lists, to);
                    open_list(&mut out, kind);
                    lists.push((indent, kind));
                }
                _ => {
                    open_list(&mut out, kind);
                    lists.push((indent, kind));
                }
            }
            out.push_str(&inline(text));
            i += 1;
            continue;
        }
        if !lists.is_empty() && para.is_empty() {
            // A continuation line of the open item.
            out.push(' ');
            out.push_str(&inline(trimmed));
            i += 1;
            continue;
        }
        para.push(trimmed.to_string());
        i += 1;
    }
    flush_para(&mut out, &mut para);
    close_lists(&mut out, &mut lists, 0);
    out
}

fn open_list(out: &mut String, kind: ListKind) {
    out.push_str(if kind == ListKind::Bullet {
        "<ul>\n<li>"
    } else {
        "<ol>\n<li>"
    });
}

fn heading(t: &str) -> Option<(usize, &str)> {
    let n = t.chars().take_while(|&c| c == '#').count();
    if n == 0 || n > 6 {
        return None;
    }
    let rest = &t[n..];
    (rest.starts_with(' ') || rest.is_empty())
        .then(|| (n, rest.trim().trim_end_matches('#').trim()))
}

/// `- item`, `* item`, `+ item`, `1. item` or `1) item`.
fn list_item(line: &str) -> Option<(ListKind, &str)> {
    let t = line.trim_start();
    for b in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(b) {
            return Some((ListKind::Bullet, rest.trim()));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 4 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((ListKind::Numbered, r.trim()));
        }
    }
    None
}

fn is_table_rule(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Cells of a pipe-table line (`\|` is a literal bar).
fn table_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

/// Inline Markdown to HTML: `code`, **bold**, *italic*, [text](url), backslash escapes;
/// all other text escaped.
fn inline(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut bold = false;
    let mut italic = false;
    let find = |from: usize, pat: &[char]| -> Option<usize> {
        (from..chars.len().saturating_sub(pat.len() - 1)).find(|&j| chars[j..].starts_with(pat))
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                out.push_str(&esc(&chars[i + 1].to_string()));
                i += 2;
            }
            '`' => {
                let ticks = chars[i..].iter().take_while(|&&c| c == '`').count();
                let pat: Vec<char> = std::iter::repeat_n('`', ticks).collect();
                match find(i + ticks, &pat) {
                    Some(end) => {
                        let code: String = chars[i + ticks..end].iter().collect();
                        out.push_str(&format!("<code>{}</code>", esc(code.trim())));
                        i = end + ticks;
                    }
                    None => {
                        out.push_str(&"`".repeat(ticks));
                        i += ticks;
                    }
                }
            }
            '*' | '_' if i + 1 < chars.len() && chars[i + 1] == c => {
                let closing = find(i + 2, &[c, c]).is_some();
                if bold {
                    out.push_str("</strong>");
                    bold = false;
                } else if closing {
                    out.push_str("<strong>");
                    bold = true;
                } else {
                    out.push(c);
                    out.push(c);
                }
                i += 2;
            }
            '*' => {
                // Italic only around a word: `*x*`, not `2 * 3`.
                let opens = !italic
                    && chars.get(i + 1).is_some_and(|n| !n.is_whitespace())
                    && find(i + 1, &['*']).is_some();
                let closes = italic && i > 0 && !chars[i - 1].is_whitespace();
                if opens {
                    out.push_str("<em>");
                    italic = true;
                } else if closes {
                    out.push_str("</em>");
                    italic = false;
                } else {
                    out.push('*');
                }
                i += 1;
            }
            '[' => {
                let link = find(i + 1, &[']', '(']).and_then(|mid| {
                    let end = find(mid + 2, &[')'])?;
                    let text: String = chars[i + 1..mid].iter().collect();
                    let url: String = chars[mid + 2..end].iter().collect();
                    Some((text, url, end))
                });
                match link {
                    Some((text, url, end)) if safe_url(&url) => {
                        out.push_str(&format!("<a href=\"{}\">{}</a>", esc(&url), inline(&text)));
                        i = end + 1;
                    }
                    _ => {
                        out.push('[');
                        i += 1;
                    }
                }
            }
            c => {
                out.push_str(&esc(&c.to_string()));
                i += 1;
            }
        }
    }
    if italic {
        out.push_str("</em>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

fn safe_url(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    !u.contains(':') || u.starts_with("http://") || u.starts_with("https://")
}

// ---------------------------------------------------------------------------------------
// Writing every report file.

/// What [`write_report`] wrote.
#[derive(Clone, Debug)]
pub struct WrittenReport {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub csv: PathBuf,
    pub json: PathBuf,
    /// `plots/<name>.svg`, in report order.
    pub plots: Vec<PathBuf>,
    /// The rule used.
    pub rule: Rule,
    /// The selection made with it (`None` when no finished run has a score).
    pub selection: Option<Selection>,
}

/// Selects the best run of `set` by `rule` (else the rule the sweep declared, else the
/// default) and writes `<dir>/report.html`, `<dir>/report.md`, `<dir>/results.csv`,
/// `<dir>/results.json` and `<dir>/plots/*.svg`, each atomically (a temporary file renamed
/// into place). `advice_md` is the advice as Markdown, if any.
pub fn write_report(
    dir: &Path,
    set: &RunSet,
    rule: Option<Rule>,
    advice_md: Option<&str>,
) -> Result<WrittenReport> {
    let rule = report_rule(set, rule)?;
    let selection = select(&set.runs, rule);
    let plots = plots::build(set, selection.as_ref(), rule)?;
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let plot_paths = plots::write_plots(&dir.join("plots"), &plots)?;
    let table = ResultsTable::new(set, selection.as_ref());
    let csv = dir.join("results.csv");
    table::write_csv(&csv, &table)?;
    let json = dir.join("results.json");
    table::write_json(&json, &table)?;
    let html = dir.join("report.html");
    write_atomic(
        &html,
        render_with_plots(set, selection.as_ref(), advice_md, &plots, None).as_bytes(),
    )?;
    let md = dir.join("report.md");
    write_atomic(
        &md,
        markdown::render_with_plots(set, selection.as_ref(), advice_md, &plots).as_bytes(),
    )?;
    Ok(WrittenReport {
        html,
        markdown: md,
        csv,
        json,
        plots: plot_paths,
        rule,
        selection,
    })
}

const CSS: &str = r#"
:root { --ink: #222; --muted: #666; --line: #d9d9d9; --best: #fff1bf; --tie: #e3effa;
        --fail: #a3180f; --head: #f4f4f4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 22px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 18px; margin: 24px 0 8px; }
h4, h5, h6 { font-size: 16px; margin: 18px 0 6px; }
.meta, .note, .file { color: var(--muted); }
.note { font-size: 14px; }
nav { margin: 8px 0 0; font-size: 15px; }
nav a, a { color: #0a5a9c; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em;
       background: #f2f2f2; padding: 1px 4px; border-radius: 3px; }
pre { background: #f6f6f6; padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; vertical-align: top; text-align: left; }
thead th { background: var(--head); vertical-align: bottom; }
table.results { font-size: 13px; }
table.results thead th { max-width: 96px; }
table.results td { white-space: nowrap; padding: 3px 6px; }
table.results td.id, table.results td.model { white-space: normal; min-width: 90px; max-width: 210px; }
.ci { color: var(--muted); font-size: 12px; font-weight: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.id { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
tr.best td { background: var(--best); font-weight: 600; }
tr.tie td { background: var(--tie); }
tr.failed td { color: var(--fail); }
tr.pending td { color: var(--muted); font-style: italic; }
table.results td.status { white-space: normal; }
td.status .err { font-size: 12px; min-width: 100px; max-width: 170px; overflow-wrap: anywhere;
                 font-style: normal; }
.scroll { overflow-x: auto; }
.best-box { border-left: 4px solid #e6a700; background: #fffaf0; padding: 6px 14px; margin: 8px 0 12px; }
.best-box p { margin: 4px 0; }
.star { color: #b37f00; }
figure { margin: 20px 0 28px; }
.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 14px; max-width: 900px; margin-top: 6px; }
table.confusion td.diag { background: #eef5fb; font-weight: 600; }
.share { color: var(--muted); font-size: 12px; }
blockquote { margin: 8px 0; padding: 2px 12px; border-left: 3px solid var(--line); color: #444; }
summary { cursor: pointer; color: #0a5a9c; margin: 6px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::fixture;

    fn page() -> String {
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        render(
            &set,
            Some(&sel),
            Some("# Advice\n\n1. Try **max_len 256** with `lr 5e-5`.\n2. Then <b>stop</b>.\n\n- a & b\n"),
        )
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
        // The advice: its own heading becomes the section heading, Markdown converted.
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

    #[test]
    fn markdown_subset_converts() {
        let md = "## Next steps\n\nSome *text* and 2 * 3.\ncontinued\n\n- one\n  - nested `x<y`\n- two\n\n\
                  1) first\n2) second\n\n| a | b |\n|---|--:|\n| 1 | 2 \\| 3 |\n\n```\nlet x = 1 < 2;\n```\n\
                  > quoted\n\n[link](https://example.org) [bad](javascript:alert(1))\n";
        let h = markdown_to_html(md, 1);
        assert!(h.contains("<h3>Next steps</h3>"), "{h}");
        assert!(
            h.contains("<p>Some <em>text</em> and 2 * 3. continued</p>"),
            "{h}"
        );
        assert!(h.contains("<ul>\n<li>one<ul>\n<li>nested <code>x&lt;y</code></li>\n</ul>\n</li>\n<li>two</li>\n</ul>"), "{h}");
        assert!(
            h.contains("<ol>\n<li>first</li>\n<li>second</li>\n</ol>"),
            "{h}"
        );
        assert!(h.contains("<td class=\"num\">2 | 3</td>"), "{h}");
        assert!(
            h.contains("<pre><code>let x = 1 &lt; 2;</code></pre>"),
            "{h}"
        );
        assert!(h.contains("<blockquote><p>quoted</p></blockquote>"), "{h}");
        assert!(
            h.contains("<a href=\"https://example.org\">link</a>"),
            "{h}"
        );
        assert!(!h.contains("javascript:alert(1)\""), "{h}");
    }

    #[test]
    fn advice_headings_sit_below_the_page_title() {
        assert_eq!(advice_headings("# Advice\n\n## Do this\n"), (false, 1));
        assert_eq!(advice_headings("Intro\n\n## Do this\n"), (true, 1));
        assert_eq!(advice_headings("just text"), (true, 0));
    }

    #[test]
    fn write_report_writes_every_file() {
        let set = fixture::run_set();
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("report");
        let w = write_report(&out, &set, None, Some("Keep going.")).unwrap();
        assert_eq!(w.rule, Rule::ValAccAtMinValLoss);
        assert_eq!(w.selection.as_ref().unwrap().best, "minilm-len128-lr5e-5");
        for p in [&w.html, &w.markdown, &w.csv, &w.json] {
            assert!(p.is_file(), "{}", p.display());
        }
        assert_eq!(w.plots.len(), 5);
        assert!(w
            .plots
            .iter()
            .all(|p| p.is_file() && p.starts_with(out.join("plots"))));
        let md = std::fs::read_to_string(&w.markdown).unwrap();
        assert!(md.contains("![Learning curves](plots/learning_curves.svg)"));
        // Nothing temporary left.
        let names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
        // A rule the sweep declared but that does not exist is an error, a given one wins.
        let mut bad = set.clone();
        bad.selection = Some("best".into());
        assert!(write_report(&out, &bad, None, None).is_err());
        let w = write_report(&out, &bad, Some(Rule::ValLoss), None).unwrap();
        assert_eq!(w.rule, Rule::ValLoss);
    }

    #[test]
    fn a_single_run_and_a_set_with_nothing_finished_render() {
        let full = fixture::run_set();
        let mut one = full.clone();
        one.runs.truncate(1);
        one.sweep = None;
        one.varied.clear();
        let sel = select(&one.runs, Rule::ValAccuracy);
        let plots = plots::build(&one, sel.as_ref(), Rule::ValAccuracy).unwrap();
        let names: Vec<&str> = plots.iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["learning_curves", "per_class_f1", "confusion"]);
        let h = render(&one, sel.as_ref(), None);
        assert!(h.contains("<h1>demo</h1>"));
        assert!(!h.contains("id=\"advice\""));

        let mut none = full;
        for r in &mut none.runs {
            r.status = RunStatus::Pending;
            r.epochs.clear();
        }
        let sel = select(&none.runs, Rule::ValAccuracy);
        assert!(sel.is_none());
        assert!(plots::build(&none, None, Rule::ValAccuracy)
            .unwrap()
            .is_empty());
        let h = render(&none, None, None);
        assert!(h.contains("no run was selected"));
        assert_eq!(h.matches("<svg").count(), 0);
        let md = markdown::render(&none, None, None);
        assert!(md.contains("9 runs are not finished yet"));
    }

    /// Writes a demo report to /tmp/textclf-report-demo for a look in a browser
    /// (`bench/check_report.sh /tmp/textclf-report-demo/report.html`).
    #[test]
    #[ignore]
    fn demo_report() {
        let mut set = fixture::run_set();
        for (i, f) in [0.1, 0.25, 0.5, 1.0, 1.0, 0.5].into_iter().enumerate() {
            set.runs[i]
                .params
                .insert("train_fraction".into(), serde_json::Value::from(f));
        }
        set.varied.push("train_fraction".into());
        let advice = "# Advice\n\n## What to try next\n\n1. **Longer inputs**: max_len 128 cuts \
                      25 % of the texts; try `--max-len 256`.\n2. Learning rate `5e-5` was best; \
                      keep it.\n\n- The linear baseline trails by 4.7 points.\n- Near ties: 4 \
                      runs are within the half-width.\n";
        let out = std::path::Path::new("/tmp/textclf-report-demo");
        let w = write_report(out, &set, None, Some(advice)).unwrap();
        println!("{}", w.html.display());

        // A harder case: 12 runs of four models with close times and scores, 20 classes
        // with long names.
        let labels: Vec<String> = (0..20)
            .map(|i| format!("comp.sys.category-number-{i}"))
            .collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let mut runs = Vec::new();
        let models = [
            "all-MiniLM-L6-v2",
            "bert-base-uncased",
            "distilbert-base-uncased",
            "roberta-base",
        ];
        for (i, len) in [64u64, 128, 256].into_iter().enumerate() {
            for (j, lr) in [1e-5, 2e-5, 3e-5, 5e-5].into_iter().enumerate() {
                let acc = 0.80 + 0.01 * i as f64 + 0.007 * j as f64;
                let mut r = fixture::transformer(
                    &format!("{}-len{len}-lr{}", models[j], crate::table::fmt_sci(lr)),
                    len,
                    lr,
                    acc,
                    &labels,
                );
                r.model = models[j].to_string();
                r.seconds_per_epoch = Some(40.0 + 3.0 * j as f64 + 20.0 * i as f64);
                runs.push(r);
            }
        }
        let big = RunSet {
            dir: "/tmp/sweeps/big".into(),
            sweep: None,
            selection: None,
            varied: vec!["model".into(), "max_len".into(), "lr".into()],
            runs,
        };
        let out = std::path::Path::new("/tmp/textclf-report-demo2");
        let w = write_report(out, &big, Some(Rule::ValAccuracy), None).unwrap();
        println!("{}", w.html.display());
    }
}
