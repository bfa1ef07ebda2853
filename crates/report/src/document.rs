//! The report's content, computed once: a small document model of the page (title, meta
//! line, the selection, the results table, the charts, the best run and the advice) that
//! the HTML page ([`crate::html`]) and the Markdown file ([`crate::markdown`]) both write
//! out, each in its own syntax.
//!
//! Numbers are formatted here, and every sentence the two formats share is written here
//! once. The text in the document is not escaped: data (run ids, model and class names,
//! errors) is kept apart from the fixed prose, so each renderer escapes it for its format.

use textclf_core::Task;
use textclf_eval::{MultiLabelReport, RegressionReport, Report, TestReport};

use crate::plots::{self, Plot};
use crate::runs::{RunSet, RunStatus, RunSummary};
use crate::select::{report_rule, Rule, Selection};
use crate::table::{self, fmt_interval, fmt_p, fmt_setting, ResultsTable};
use crate::testsets::{describe_groups, TestSetGroup};

/// Charts shown with the best run rather than in the general section.
pub(crate) const BEST_RUN_PLOTS: [&str; 5] = [
    "per_class_f1",
    "confusion",
    "per_label_f1",
    "label_cooccurrence",
    "regression_scatter",
];

/// What the selection section says when there is no selection.
pub(crate) const NO_SELECTION: &str =
    "No finished run has a score under the selection rule, so no run was selected.";

/// The note under the confusion-matrix heading.
pub(crate) const CONFUSION_NOTE: &str =
    "Rows: gold class; columns: predicted class; count and share of the row.";

/// The report of one run set: everything both formats show, in page order.
pub(crate) struct ReportDoc<'a> {
    /// The sweep's name, else the folder's name.
    pub title: String,
    /// `12 runs: 9 done, 2 failed, 1 pending · varied: max_len, lr · folder /x/y`.
    pub meta: String,
    /// `None` when no finished run has a score under the rule.
    pub selection: Option<SelectionPart<'a>>,
    pub results: ResultsPart<'a>,
    /// Charts of the general "Plots" section, in report order.
    pub plots: Vec<&'a Plot>,
    /// The selected best run, when it has a test report.
    pub best: Option<BestRunPart<'a>>,
    /// The advice, when there is any.
    pub advice: Option<AdvicePart<'a>>,
    /// The folder the report was made from (for the footer).
    pub source: String,
}

impl<'a> ReportDoc<'a> {
    /// The document of `set` with its selection, charts and advice.
    pub fn new(
        set: &'a RunSet,
        selection: Option<&'a Selection>,
        advice: Option<&'a [Block]>,
        plots: &'a [Plot],
    ) -> ReportDoc<'a> {
        ReportDoc {
            title: report_title(set),
            meta: meta_line(set),
            selection: selection.map(|sel| SelectionPart::new(set, sel)),
            results: ResultsPart::new(set, selection),
            plots: plots
                .iter()
                .filter(|p| !BEST_RUN_PLOTS.contains(&p.name))
                .collect(),
            best: plots::best_run(set, selection).and_then(|b| BestRunPart::new(b, plots)),
            advice: advice.filter(|a| !a.is_empty()).map(AdvicePart::new),
            source: set.dir.display().to_string(),
        }
    }
}

/// The rule the charts of a report use: the selection's, else the run set's (or the
/// default).
pub(crate) fn plot_rule(set: &RunSet, selection: Option<&Selection>) -> Rule {
    selection
        .map(|s| s.rule)
        .or_else(|| report_rule(set, None).ok())
        .unwrap_or_default()
}

/// The sweep's name, else the folder's name.
fn report_title(set: &RunSet) -> String {
    set.sweep.clone().unwrap_or_else(|| {
        set.dir.file_name().map_or_else(
            || set.dir.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    })
}

/// `12 runs: 9 done, 2 failed, 1 pending · varied: max_len, lr · folder /x/y`.
fn meta_line(set: &RunSet) -> String {
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

// ---------------------------------------------------------------------------------------
// Selection.

/// The selection section: the rule, the best run, its near ties and the unscored runs;
/// when the runs hold several test sets, one such part per test set.
pub(crate) struct SelectionPart<'a> {
    pub rule: Rule,
    /// The test set this part ranks, when there are several.
    pub test_set: Option<&'a str>,
    /// Every test set, largest first, when there are several (main part only).
    pub test_sets: &'a [TestSetGroup],
    /// The parts of the other test sets (main part only).
    pub others: Vec<SelectionPart<'a>>,
    /// The best run's box, when the best run is in the set.
    pub best: Option<BestBox<'a>>,
    /// "No other run is within …" or "3 runs are not distinguishable …".
    pub ties_sentence: String,
    /// One row per near tie (empty when there is none).
    pub ties: Vec<TieRow<'a>>,
    /// Finished runs without a score under the rule.
    pub unscored: &'a [String],
    /// The header of the near ties' test difference column (`test acc − best`, …).
    pub test_diff_header: &'static str,
}

/// The facts about the selected run.
pub(crate) struct BestBox<'a> {
    pub run: &'a RunSummary,
    /// `0.912 ± 0.011 (95 % half-width, 2000 validation rows)`.
    pub score: String,
    /// The run's values of the settings the table shows: `max_len = 128, lr = 5e-5`.
    pub settings: String,
    /// `Test accuracy 0.905 (95 % CI …), test macro F1 … test rows.`, with a test report.
    pub test: Option<String>,
}

/// A near tie of the best run, its cells formatted.
pub(crate) struct TieRow<'a> {
    pub id: &'a str,
    pub score: String,
    pub gap: String,
    pub half_width: String,
    pub test_diff: String,
    pub mcnemar_p: String,
    /// How its test comparison reads.
    pub reading: &'static str,
}

impl<'a> SelectionPart<'a> {
    fn new(set: &'a RunSet, sel: &'a Selection) -> SelectionPart<'a> {
        let task = set.task();
        let ties: Vec<TieRow> = sel
            .near_ties()
            .map(|t| TieRow {
                id: &t.id,
                score: format!("{:.3}", t.score),
                gap: format!("{:.4}", t.gap),
                half_width: sel.half_width.map_or("–".into(), |hw| format!("{hw:.4}")),
                test_diff: t.test_diff.map_or("–".into(), |d| format!("{d:+.4}")),
                mcnemar_p: t.mcnemar_p.map_or("–".into(), fmt_p),
                reading: tie_verdict(task, t.mcnemar_p),
            })
            .collect();
        let paired = sel.near_ties().any(|t| t.mcnemar_p.is_some());
        let ties_sentence = if ties.is_empty() {
            format!(
                "No other run is within {} of the best score: the choice is clear on \
                 validation.",
                sel.half_width
                    .map_or("a tie".to_string(), |hw| format!("the half-width {hw:.3}"))
            )
        } else {
            format!(
                "{} run{} {} not distinguishable from the best on validation (gap within \
                 the best run's 95 % half-width{}). {}",
                ties.len(),
                if ties.len() == 1 { "" } else { "s" },
                if ties.len() == 1 { "is" } else { "are" },
                sel.half_width
                    .map_or(String::new(), |hw| format!(" of {hw:.3}")),
                if paired {
                    "The test comparison is paired on the same test rows (McNemar's test)."
                } else if task == Task::Regression && sel.near_ties().any(|t| t.test_diff.is_some())
                {
                    "The test difference is of Pearson's r on the same test rows; a regression \
                     has no McNemar test (textclf compare gives its paired-bootstrap interval)."
                } else {
                    "There are no paired test predictions to compare them on test."
                }
            )
        };
        SelectionPart {
            rule: sel.rule,
            test_set: sel.test_set.as_deref(),
            test_sets: &sel.test_sets,
            others: sel
                .others
                .iter()
                .map(|o| SelectionPart::new(set, o))
                .collect(),
            best: best_box(set, sel),
            ties_sentence,
            ties,
            unscored: &sel.unscored,
            test_diff_header: match task {
                Task::SingleLabel => "test acc − best",
                Task::MultiLabel => "test micro F1 − best",
                Task::Regression => "test Pearson − best",
            },
        }
    }

    /// The statement that the runs hold several test sets, naming them and their sizes,
    /// with `code` marking up each test set's name; `None` with one test set.
    pub fn test_sets_note(&self, code: impl Fn(&str) -> String) -> Option<String> {
        (self.test_sets.len() > 1).then(|| {
            format!(
                "The runs were scored on {} different test sets, so their scores are not \
                 comparable: {}. Each test set is ranked on its own, the one with the most \
                 runs first; near ties and paired tests only compare runs of the same test \
                 set.",
                self.test_sets.len(),
                describe_groups(self.test_sets, code)
            )
        })
    }

    /// Whether the rule's scores are losses (lower is better).
    pub fn scores_are_losses(&self) -> bool {
        self.rule == Rule::ValLoss
    }
}

fn best_box<'a>(set: &'a RunSet, sel: &Selection) -> Option<BestBox<'a>> {
    let run = set.runs.iter().find(|r| r.id == sel.best)?;
    let score = sel.ranking.first().map(|r| r.score);
    let mut score_text = score.map_or("–".into(), |s| format!("{s:.3}"));
    if let Some(hw) = sel.half_width {
        score_text.push_str(&format!(" ± {hw:.3}"));
        if let Some(n) = run.val_n {
            score_text.push_str(&format!(" (95 % half-width, {n} validation rows)"));
        }
    }
    let keys = table::setting_keys(set);
    let settings = keys
        .iter()
        .filter_map(|k| Some(format!("{k} = {}", fmt_setting(k, run.params.get(k)?))))
        .collect::<Vec<_>>()
        .join(", ");
    let test = run.test.as_ref().map(|t| match t {
        TestReport::SingleLabel(t) => format!(
            "Test accuracy {:.3} (95 % CI {}), test macro F1 {:.3} (95 % CI {}), {} test \
             rows.",
            t.accuracy,
            fmt_interval(t.ci.accuracy),
            t.macro_f1,
            fmt_interval(t.ci.macro_f1),
            t.n
        ),
        TestReport::MultiLabel(t) => format!(
            "Test micro F1 {:.3} (95 % CI {}), macro F1 {:.3} (95 % CI {}), subset accuracy \
             {:.3}, {} test rows.",
            t.micro.f1,
            fmt_interval(t.ci.micro_f1),
            t.macro_avg.f1,
            fmt_interval(t.ci.macro_f1),
            t.subset_accuracy,
            t.n
        ),
        TestReport::Regression(t) => format!(
            "Test Pearson r {}, Spearman ρ {}, MSE {}, {} test rows.",
            opt_with_ci(t.pearson, t.ci.pearson),
            opt_with_ci(t.spearman, t.ci.spearman),
            table::fmt_number(t.mse),
            t.n
        ),
    });
    Some(BestBox {
        run,
        score: score_text,
        settings,
        test,
    })
}

/// `0.874 (95 % CI 0.861–0.886)`, or `undefined`.
fn opt_with_ci(x: Option<f64>, ci: Option<[f64; 2]>) -> String {
    match (x, ci) {
        (Some(x), Some(ci)) => format!("{x:.3} (95 % CI {})", fmt_interval(ci)),
        (Some(x), None) => format!("{x:.3}"),
        _ => "undefined".into(),
    }
}

/// How a near tie's test comparison reads.
fn tie_verdict(task: Task, p: Option<f64>) -> &'static str {
    match p {
        Some(p) if p < 0.05 => "test difference is significant (p < 0.05)",
        Some(_) => "not distinguishable on test either",
        None if task == Task::Regression => "no McNemar test for a regression",
        None => "no paired test predictions to compare",
    }
}

// ---------------------------------------------------------------------------------------
// Results.

/// The results section: the table, and the runs that did not finish.
pub(crate) struct ResultsPart<'a> {
    pub table: ResultsTable,
    /// The run behind each row of the table, in the same order.
    pub runs: &'a [RunSummary],
    /// Failed runs: (id, error).
    pub failed: Vec<(&'a str, &'a str)>,
    /// `2 runs are not finished yet (pending).`, when some are.
    pub pending: Option<String>,
    /// What the table's interval column is (`Test accuracy`, …).
    pub headline: &'static str,
}

impl<'a> ResultsPart<'a> {
    fn new(set: &'a RunSet, selection: Option<&Selection>) -> ResultsPart<'a> {
        let failed = set
            .runs
            .iter()
            .filter_map(|r| match &r.status {
                RunStatus::Failed { error } => Some((r.id.as_str(), error.as_str())),
                _ => None,
            })
            .collect();
        let pending = set
            .runs
            .iter()
            .filter(|r| r.status == RunStatus::Pending)
            .count();
        ResultsPart {
            headline: match set.task() {
                Task::SingleLabel => "Test accuracy",
                Task::MultiLabel => "Test micro F1",
                Task::Regression => "Test Pearson's r",
            },
            table: ResultsTable::new(set, selection),
            runs: &set.runs,
            failed,
            pending: (pending > 0).then(|| {
                format!(
                    "{pending} run{} not finished yet (pending).",
                    if pending == 1 { " is" } else { "s are" }
                )
            }),
        }
    }

    /// The note on several test sets above the table, when the runs hold several.
    pub fn test_sets_note(&self) -> Option<&'static str> {
        self.table.several_test_sets.then_some(
            "The runs were scored on several test sets (column test set): ★ and ≈ mark the \
             best run and its near ties within each test set, and scores of different test \
             sets are not comparable.",
        )
    }

    /// The note above the table, with `code` marking up the two file names.
    pub fn note(&self, code: impl Fn(&str) -> String) -> String {
        format!(
            "One row per run in plan order. ★ best run, ≈ near tie of the best (within its \
             validation half-width). {} with its bootstrap 95 % interval. The same table is \
             in {} and {}.",
            self.headline,
            code("results.csv"),
            code("results.json")
        )
    }
}

// ---------------------------------------------------------------------------------------
// The best run.

/// The best run's section: its test metrics, per-class table and confusion matrix.
pub(crate) struct BestRunPart<'a> {
    pub run: &'a RunSummary,
    /// What follows the model name: ` · test accuracy 0.912 (95 % CI …) · … · 2000 test
    /// rows`.
    pub metrics: String,
    /// How many training texts `max_len` cuts, when recorded.
    pub truncation: Option<String>,
    pub per_class: Vec<ClassRow<'a>>,
    /// `None` when the report has no usable confusion matrix.
    pub confusion: Option<ConfusionPart<'a>>,
    pub per_class_plot: Option<&'a Plot>,
    pub confusion_plot: Option<&'a Plot>,
    /// `Per-class metrics` or `Per-label metrics`; the table is left out when
    /// `per_class` is empty (regression).
    pub per_class_heading: &'static str,
    /// `class` or `label`: the first column of the per-class table.
    pub class_word: &'static str,
    /// Charts of the other tasks (co-occurrence, scatter), after the tables.
    pub more_plots: Vec<&'a Plot>,
}

/// One class's test metrics, formatted.
pub(crate) struct ClassRow<'a> {
    pub label: &'a str,
    /// Precision, recall, F1, support, predicted.
    pub cells: [String; 5],
}

/// The confusion matrix: gold classes in rows, predicted classes in columns.
pub(crate) struct ConfusionPart<'a> {
    pub labels: &'a [String],
    pub rows: Vec<Vec<ConfusionCell>>,
}

pub(crate) struct ConfusionCell {
    pub count: u64,
    /// The share of the row in per cent, one decimal.
    pub share: String,
    /// On the diagonal (a correct prediction).
    pub diag: bool,
}

impl<'a> BestRunPart<'a> {
    /// `None` when the run has no test report.
    fn new(run: &'a RunSummary, plots: &'a [Plot]) -> Option<BestRunPart<'a>> {
        let plot = |name: &str| plots.iter().find(|p| p.name == name);
        let truncation = truncation_note(run);
        match run.test.as_ref()? {
            TestReport::SingleLabel(_) => {}
            TestReport::MultiLabel(t) => return Some(Self::multi_label(run, t, plots, truncation)),
            TestReport::Regression(t) => {
                return Some(BestRunPart {
                    run,
                    metrics: regression_metrics(t),
                    truncation,
                    per_class: Vec::new(),
                    confusion: None,
                    per_class_plot: None,
                    confusion_plot: None,
                    per_class_heading: "Per-class metrics",
                    class_word: "class",
                    more_plots: plot("regression_scatter").into_iter().collect(),
                })
            }
        }
        let t = run.single()?;
        let metrics = format!(
            " · test accuracy {:.3} (95 % CI {}) · macro F1 {:.3} · weighted F1 {:.3} · log \
             loss {:.3} · {} test rows",
            t.accuracy,
            fmt_interval(t.ci.accuracy),
            t.macro_f1,
            t.weighted_f1,
            t.log_loss,
            t.n
        );
        let per_class = t
            .per_class
            .iter()
            .map(|c| ClassRow {
                label: &c.label,
                cells: [
                    format!("{:.3}", c.precision),
                    format!("{:.3}", c.recall),
                    format!("{:.3}", c.f1),
                    c.support.to_string(),
                    c.predicted.to_string(),
                ],
            })
            .collect();
        Some(BestRunPart {
            run,
            metrics,
            truncation,
            per_class,
            confusion: confusion(t),
            per_class_plot: plot("per_class_f1"),
            confusion_plot: plot("confusion"),
            per_class_heading: "Per-class metrics",
            class_word: "class",
            more_plots: Vec::new(),
        })
    }

    fn multi_label(
        run: &'a RunSummary,
        t: &'a MultiLabelReport,
        plots: &'a [Plot],
        truncation: Option<String>,
    ) -> BestRunPart<'a> {
        let plot = |name: &str| plots.iter().find(|p| p.name == name);
        let metrics = format!(
            " · test micro F1 {:.3} (95 % CI {}) · macro F1 {:.3} · samples F1 {:.3} · subset \
             accuracy {:.3} · Hamming loss {:.4} · {:.2} gold / {:.2} predicted labels per \
             row · {} test rows",
            t.micro.f1,
            fmt_interval(t.ci.micro_f1),
            t.macro_avg.f1,
            t.samples.f1,
            t.subset_accuracy,
            t.hamming_loss,
            t.gold_cardinality,
            t.predicted_cardinality,
            t.n
        );
        let per_class = t
            .per_label
            .iter()
            .map(|c| ClassRow {
                label: &c.label,
                cells: [
                    format!("{:.3}", c.precision),
                    format!("{:.3}", c.recall),
                    format!("{:.3}", c.f1),
                    c.support.to_string(),
                    c.predicted.to_string(),
                ],
            })
            .collect();
        BestRunPart {
            run,
            metrics,
            truncation,
            per_class,
            confusion: None,
            per_class_plot: plot("per_label_f1"),
            confusion_plot: None,
            per_class_heading: "Per-label metrics",
            class_word: "label",
            more_plots: plot("label_cooccurrence").into_iter().collect(),
        }
    }
}

fn regression_metrics(t: &RegressionReport) -> String {
    format!(
        " · test Pearson r {} · Spearman ρ {} · MSE {} · MAE {} · R² {} · mean gold {} / \
         predicted {} · {} test rows",
        opt_with_ci(t.pearson, t.ci.pearson),
        opt_with_ci(t.spearman, t.ci.spearman),
        table::fmt_number(t.mse),
        table::fmt_number(t.mae),
        t.r2.map_or("undefined".into(), |r| format!("{r:.3}")),
        table::fmt_number(t.gold_mean),
        table::fmt_number(t.predicted_mean),
        t.n
    )
}

/// How many texts `max_len` cuts, and for sentence pairs how the cuts fell on each text.
fn truncation_note(run: &RunSummary) -> Option<String> {
    run.truncation.as_ref().map(|tr| {
        let mut s = format!(
            "max_len {} cuts {:.1} % of the training texts (sample of {}; token lengths: \
             median {}, 90th percentile {}, max {}).",
            tr.max_len,
            tr.truncated_share * 100.0,
            tr.sampled,
            tr.p50,
            tr.p90,
            tr.max
        );
        if let Some(p) = &tr.pairs {
            // The note is prose both renderers write as it is: keep only the characters a
            // strategy name has.
            let strategy: String = p
                .strategy
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            s.push_str(&format!(
                " Sentence pairs ({}): the first text loses tokens in {:.1} % of the pairs, the \
                 second in {:.1} % (median lengths {} and {}).",
                strategy,
                p.first_cut_share * 100.0,
                p.second_cut_share * 100.0,
                p.first_p50,
                p.second_p50
            ));
        }
        s
    })
}

fn confusion(t: &Report) -> Option<ConfusionPart<'_>> {
    let cm = &t.confusion;
    if cm.labels.is_empty() || cm.counts.len() != cm.labels.len() {
        return None;
    }
    let k = cm.labels.len();
    let rows = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    let share = cm
                        .row_normalized
                        .get(i)
                        .and_then(|r| r.get(j))
                        .copied()
                        .unwrap_or(0.0);
                    ConfusionCell {
                        count: cm.counts[i].get(j).copied().unwrap_or(0),
                        share: format!("{:.1}", share * 100.0),
                        diag: i == j,
                    }
                })
                .collect()
        })
        .collect();
    Some(ConfusionPart {
        labels: &cm.labels,
        rows,
    })
}

// ---------------------------------------------------------------------------------------
// Advice.

/// A block of text that the Markdown and the HTML writers both write (the advice is made
/// of them: [`crate::Advice::blocks`]). Text is Markdown inline: `code`, **bold**,
/// *italic*.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A heading of level 1 to 6 (before a page shifts it below its own).
    Heading(usize, String),
    Paragraph(String),
    List(List),
}

/// A bullet or numbered list.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct List {
    /// The number of the first item of a numbered list; `None` for bullets.
    pub start: Option<usize>,
    /// A blank line after every item (items that hold sub-lists read better apart).
    pub loose: bool,
    pub items: Vec<Item>,
}

/// One list item, with the list nested under it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Item {
    pub text: String,
    pub sub: Option<List>,
}

impl List {
    /// A tight bullet list of `items` without sub-lists.
    pub fn bullets<S: Into<String>>(items: impl IntoIterator<Item = S>) -> List {
        List {
            start: None,
            loose: false,
            items: items.into_iter().map(Item::new).collect(),
        }
    }
}

impl Item {
    pub fn new(text: impl Into<String>) -> Item {
        Item {
            text: text.into(),
            sub: None,
        }
    }

    /// An item with `sub` under it (none when `sub` is empty).
    pub fn with(text: impl Into<String>, sub: List) -> Item {
        Item {
            text: text.into(),
            sub: (!sub.items.is_empty()).then_some(sub),
        }
    }
}

/// The advice's blocks, and how its headings fit under the page's.
pub(crate) struct AdvicePart<'a> {
    pub blocks: &'a [Block],
    /// Whether the advice needs an "Advice" heading of ours.
    pub own_heading: bool,
    /// How many levels to shift its headings.
    pub shift: i32,
}

impl<'a> AdvicePart<'a> {
    fn new(blocks: &'a [Block]) -> AdvicePart<'a> {
        let (own_heading, shift) = advice_headings(blocks);
        AdvicePart {
            blocks,
            own_heading,
            shift,
        }
    }
}

/// The level a heading of `level` takes on a page after moving it by `shift` levels: within
/// h2..h6, below the page's own title.
pub(crate) fn shifted_level(level: usize, shift: i32) -> usize {
    (level as i32 + shift).clamp(2, 6) as usize
}

/// Whether the advice needs an "Advice" heading of ours (it does not start with one of
/// its own), and how many levels to shift its headings so they sit below the page's h2
/// (or become the h2 when the advice brings its own title).
fn advice_headings(blocks: &[Block]) -> (bool, i32) {
    let level = |b: &Block| match b {
        Block::Heading(l, _) => Some(*l as i32),
        _ => None,
    };
    let min = blocks.iter().filter_map(level).min();
    let first = blocks.first().and_then(level);
    match (first, min) {
        (Some(f), Some(m)) if f == m => (false, 2 - m),
        (_, Some(m)) => (true, 3 - m),
        _ => (true, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_headings_sit_below_the_page_title() {
        let h = |l: usize| Block::Heading(l, "h".into());
        let p = Block::Paragraph("Intro".into());
        assert_eq!(advice_headings(&[h(1), h(2)]), (false, 1));
        assert_eq!(advice_headings(&[p.clone(), h(2)]), (true, 1));
        assert_eq!(advice_headings(&[p]), (true, 0));
    }
}
