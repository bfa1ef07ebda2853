//! Charts of a [`RunSet`] as SVG text, drawn with `plotters`' SVG backend.
//!
//! Each chart is made only when its data exists:
//!
//! * `learning_curves`: train and validation loss and validation accuracy per
//!   validation, one small panel per transformer run;
//! * `heatmap_max_len_lr`: the selection score on the max_len × lr grid;
//! * `train_fraction`: validation and test accuracy (with its interval) against the
//!   share of the training data, with the run time on a second axis;
//! * `accuracy_vs_time`: test accuracy against training seconds per epoch, one point
//!   per model;
//! * `per_class_f1` and `confusion`: the best run's per-class F1 and its row-normalised
//!   confusion matrix (single-label);
//! * `per_label_f1` and `label_cooccurrence`: the best run's per-label F1 and how often
//!   the gold labels of its test rows occur together (multi-label);
//! * `regression_scatter`: the best run's predicted against gold values (regression).
//!
//! Text is written as SVG `<text>` in the browser's sans-serif font (plotters is built
//! without its `ttf` feature, so no system font library is needed); the layouts leave
//! room for labels from an estimate of their width. Colours come from the
//! Okabe–Ito palette and from viridis / a single-hue blue ramp, all colour-blind safe.
//!
//! Each chart family has its own module; they share a small toolkit: `style` (fonts,
//! colours, the SVG canvas), `axis`, `legend`, `labels` (label placement) and `data`
//! (which runs a chart shows).

use std::path::{Path, PathBuf};

use crate::error::{ReportError, Result};
use crate::runs::{RunSet, RunSummary};
use crate::select::{Rule, Selection};
use crate::table::write_atomic;
use crate::testsets::comparable_subset;

mod accuracy_vs_time;
mod axis;
mod best_run;
mod data;
mod heatmap;
mod labels;
mod learning_curves;
mod legend;
mod plot;
mod shapes;
mod style;
mod train_fraction;

pub use accuracy_vs_time::accuracy_vs_time;
pub use best_run::{confusion, per_class_f1};
pub use heatmap::heatmap;
pub use learning_curves::learning_curves;
pub use plot::{Plot, PLOT_NAMES};
pub use shapes::{cooccurrence, label_cooccurrence, per_label_f1, regression_scatter};
pub use style::escape_xml;
pub use train_fraction::train_fraction;

/// Every chart the data allows, in [`PLOT_NAMES`] order. `rule` scores runs where a chart
/// keeps one run per cell/model/fraction; `selection` names the best run.
pub fn build(set: &RunSet, selection: Option<&Selection>, rule: Rule) -> Result<Vec<Plot>> {
    let best = best_run(set, selection);
    // Charts that compare runs' scores show one test set only.
    let subset = comparable_subset(set, selection.and_then(|s| s.test_set.as_deref()));
    let comparable = subset.as_ref().map_or(set, |(s, _)| s);
    let mut comparisons = [
        heatmap(comparable, selection, rule)?,
        train_fraction(comparable, rule)?,
        accuracy_vs_time(comparable, rule)?,
    ];
    if let Some((_, label)) = &subset {
        for p in comparisons.iter_mut().flatten() {
            p.caption.push_str(&format!(
                " Only the runs scored on the test set {label} are shown: the runs hold \
                 several test sets, whose scores are not comparable."
            ));
        }
    }
    let [heat, fraction, time] = comparisons;
    let plots = [
        learning_curves(set, selection)?,
        heat,
        fraction,
        time,
        best.map(per_class_f1).transpose()?.flatten(),
        best.map(confusion).transpose()?.flatten(),
        best.map(per_label_f1).transpose()?.flatten(),
        best.map(label_cooccurrence).transpose()?.flatten(),
        best.map(regression_scatter).transpose()?.flatten(),
    ];
    Ok(plots.into_iter().flatten().collect())
}

/// Writes each plot to `<dir>/<name>.svg` (atomically) and removes charts of an earlier
/// report that this one no longer has. Returns the paths written.
pub fn write_plots(dir: &Path, plots: &[Plot]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::with_capacity(plots.len());
    for p in plots {
        let path = dir.join(format!("{}.svg", p.name));
        write_atomic(&path, p.svg.as_bytes())?;
        paths.push(path);
    }
    for name in PLOT_NAMES {
        let stale = dir.join(format!("{name}.svg"));
        if !plots.iter().any(|p| p.name == name) && stale.is_file() {
            std::fs::remove_file(&stale).map_err(|e| ReportError::io(&stale, e))?;
        }
    }
    Ok(paths)
}

/// The selected best run, if it is in `set`.
pub fn best_run<'a>(set: &'a RunSet, selection: Option<&Selection>) -> Option<&'a RunSummary> {
    let sel = selection?;
    set.runs.iter().find(|r| r.id == sel.best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::fixture;

    /// The text content of every `<text>` element.
    pub(crate) fn texts(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find("<text") {
            rest = &rest[i..];
            let Some(open_end) = rest.find('>') else {
                break;
            };
            let Some(close) = rest.find("</text>") else {
                break;
            };
            out.push(rest[open_end + 1..close].trim().to_string());
            rest = &rest[close..];
        }
        out
    }

    #[test]
    fn all_charts_of_the_fixture_are_drawn_with_escaped_text() {
        let mut set = fixture::run_set();
        // A transformer run whose id needs escaping, with curves.
        set.runs[0].id = "x<b>&y".into();
        let sel = fixture::selection(&set);
        let plots = build(&set, Some(&sel), Rule::ValAccAtMinValLoss).unwrap();
        let names: Vec<&str> = plots.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            vec![
                "learning_curves",
                "heatmap_max_len_lr",
                "accuracy_vs_time",
                "per_class_f1",
                "confusion"
            ]
        );
        for p in &plots {
            assert!(p.svg.starts_with("<svg"), "{}", p.name);
            assert_eq!(p.svg.matches("<svg").count(), 1);
            assert!(p.svg.trim_end().ends_with("</svg>"), "{}", p.name);
            assert!(!p.svg.contains("<b>"), "{}", p.name);
            assert_eq!(
                p.svg.matches("<text").count(),
                p.svg.matches("</text>").count()
            );
        }
        let lc = &plots[0];
        assert!(lc.svg.contains("x&lt;b&gt;&amp;y"));
        let t = texts(&lc.svg);
        // Epoch ticks, loss ticks (fitted to the losses, 0.23–0.7: no 0) and the accuracy
        // axis.
        assert!(!t.iter().any(|s| s == "0.0"), "{t:?}");
        for l in [
            "1",
            "2",
            "3",
            "0.2",
            "0.4",
            "0.6",
            "0.8",
            "val accuracy",
            "epoch",
        ] {
            assert!(t.iter().any(|s| s == l), "{l} missing from {t:?}");
        }
        assert_eq!(t.iter().filter(|s| s.contains("★ best")).count(), 1);
        let cm = texts(&plots[4].svg);
        assert!(cm.iter().any(|s| s == "0.88"), "{cm:?}");
        assert!(cm.iter().any(|s| s == "(88)"), "{cm:?}");
        let f1 = texts(&plots[3].svg);
        assert!(f1.iter().any(|s| s == "neg (n=100)"), "{f1:?}");
        let time = texts(&plots[2].svg);
        assert!(time.iter().any(|s| s == "tfidf-nbsvm"), "{time:?}");
        assert!(time.iter().any(|s| s == "minilm"), "{time:?}");
    }

    #[test]
    fn stale_charts_are_removed() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("train_fraction.svg"), "<svg/>").unwrap();
        std::fs::write(t.path().join("mine.svg"), "<svg/>").unwrap();
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        let plots = build(&set, Some(&sel), Rule::ValAccAtMinValLoss).unwrap();
        let written = write_plots(t.path(), &plots).unwrap();
        assert_eq!(written.len(), plots.len());
        assert!(!t.path().join("train_fraction.svg").exists());
        assert!(t.path().join("mine.svg").exists());
        assert!(t.path().join("confusion.svg").exists());
    }
}
