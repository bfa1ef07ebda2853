//! `textclf compare`: is run B really better than run A on the same test set?

use anyhow::Context;
use textclf_eval::{align_runs, compare, load_run, render_comparison, EvalOptions};

use crate::args::CompareArgs;
use crate::ui::Ui;

pub fn run(a: CompareArgs, ui: &Ui) -> anyhow::Result<()> {
    let ra =
        load_run(&a.run_a).with_context(|| format!("cannot read run {}", a.run_a.display()))?;
    let rb =
        load_run(&a.run_b).with_context(|| format!("cannot read run {}", a.run_b.display()))?;
    let (gold, pa, pb, labels) = align_runs(&ra, &rb)?;
    let opts = EvalOptions {
        bootstrap: a.eval.bootstrap,
        seed: a.seed,
        ..EvalOptions::default()
    };
    let c = compare(&gold, &pa, &pb, labels.len(), &opts)?;
    let (na, nb) = (a.run_a.display().to_string(), a.run_b.display().to_string());
    ui.print(&render_comparison(&c, &na, &nb));
    ui.print_json(&serde_json::to_value(&c)?)?;
    Ok(())
}
