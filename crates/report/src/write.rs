//! [`write_report`]: every report file of a run set, written in one go: the HTML page, the
//! Markdown file, the results table (CSV and JSON) and the charts.

use std::path::{Path, PathBuf};

use crate::advise::Advice;
use crate::error::{ReportError, Result};
use crate::runs::RunSet;
use crate::select::{report_rule, select, Rule, Selection};
use crate::table::{self, write_atomic, ResultsTable};
use crate::{html, markdown, plots};

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
/// into place). `advice` is the improvement advice, if any: both pages write it from its
/// blocks ([`Advice::blocks`]).
pub fn write_report(
    dir: &Path,
    set: &RunSet,
    rule: Option<Rule>,
    advice: Option<&Advice>,
) -> Result<WrittenReport> {
    let advice = advice.map(Advice::blocks);
    let advice = advice.as_deref();
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
        html::render_with_plots(set, selection.as_ref(), advice, &plots, None).as_bytes(),
    )?;
    let md = dir.join("report.md");
    write_atomic(
        &md,
        markdown::render_with_plots(set, selection.as_ref(), advice, &plots).as_bytes(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::RunStatus;
    use crate::table::fixture;

    #[test]
    fn write_report_writes_every_file() {
        let set = fixture::run_set();
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("report");
        let advice = crate::advise(&set, None);
        let w = write_report(&out, &set, None, Some(&advice)).unwrap();
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
        // The advice in both pages, from the same blocks: its title becomes the section's.
        assert!(md.contains("\n## Improvement advice"));
        assert!(md.contains("\n\n### What we looked at\n\n- Runs read from"));
        let html = std::fs::read_to_string(&w.html).unwrap();
        assert!(html.contains("<h2>Improvement advice"));
        assert!(html.contains("</h2>\n<h3>What we looked at</h3>\n<ul>\n<li>Runs read from"));
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
        let h = html::render(&one, sel.as_ref(), None);
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
        let h = html::render(&none, None, None);
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
        let advice = crate::advise(&set, None);
        let out = std::path::Path::new("/tmp/textclf-report-demo");
        let w = write_report(out, &set, None, Some(&advice)).unwrap();
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
