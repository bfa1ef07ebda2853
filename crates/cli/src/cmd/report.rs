//! `textclf report` and `textclf advise`: read a sweep or run folder back and write the
//! report (HTML, Markdown, CSV/JSON, plots) or the ranked advice.

use anyhow::Context;
use textclf_report::{collect, Rule, RunSet};

use crate::args::{AdviseArgs, ReportArgs};
use crate::ui::Ui;

/// `--select` if given, else the sweep's rule, else the default.
fn rule_for(set: &RunSet, flag: Option<&str>) -> anyhow::Result<Rule> {
    let flag = flag.map(str::parse::<Rule>).transpose()?;
    Ok(textclf_report::report_rule(set, flag)?)
}

pub fn report(a: ReportArgs, ui: &Ui) -> anyhow::Result<()> {
    let set = collect(&a.dir).with_context(|| format!("cannot read {}", a.dir.display()))?;
    let rule = rule_for(&set, a.select.as_deref())?;
    let selection = textclf_report::select(&set.runs, rule);
    let advice = textclf_report::advise(&set, selection.as_ref());
    let written = textclf_report::write_report(&a.dir, &set, Some(rule), Some(&advice))
        .with_context(|| format!("cannot write the report into {}", a.dir.display()))?;
    let mut text = format!(
        "wrote {}, report.md, results.csv, results.json and {} plots ({} runs, {} finished)",
        written.html.display(),
        written.plots.len(),
        set.runs.len(),
        set.done().count()
    );
    if let Some(sel) = &written.selection {
        text.push_str(&format!("\nbest by {}: {}", rule.describe(), sel.best));
    }
    ui.print(&text);
    ui.print_json(&serde_json::json!({
        "html": written.html,
        "markdown": a.dir.join("report.md"),
        "results_csv": a.dir.join("results.csv"),
        "results_json": a.dir.join("results.json"),
        "plots": written.plots,
        "runs": set.runs.len(),
        "finished": set.done().count(),
        "rule": rule.name(),
        "best": written.selection.as_ref().map(|s| s.best.clone()),
    }))?;
    Ok(())
}

pub fn advise(a: AdviseArgs, ui: &Ui) -> anyhow::Result<()> {
    let set = collect(&a.dir).with_context(|| format!("cannot read {}", a.dir.display()))?;
    let rule = rule_for(&set, a.select.as_deref())?;
    let selection = textclf_report::select(&set.runs, rule);
    let advice = textclf_report::advise(&set, selection.as_ref());
    let md = advice.render_markdown();
    let path = a.dir.join("advice.md");
    // Whole or not at all: an interrupted write leaves the previous advice.
    textclf_runs::write_atomic(&path, md.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if ui.json {
        ui.print_json(&serde_json::to_value(&advice)?)?;
    } else {
        ui.print(&md);
        ui.note(&format!("wrote {}", path.display()));
    }
    Ok(())
}
