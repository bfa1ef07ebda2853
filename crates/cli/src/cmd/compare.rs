//! `textclf compare`: is run B really better than run A on the same test set? Runs of any
//! task; both must be of the same task, rows and labels.

use anyhow::Context;
use textclf_eval::{compare_runs, load_run, EvalOptions};

use crate::args::CompareArgs;
use crate::ui::Ui;

pub fn run(a: CompareArgs, ui: &Ui) -> anyhow::Result<()> {
    let ra =
        load_run(&a.run_a).with_context(|| format!("cannot read run {}", a.run_a.display()))?;
    let rb =
        load_run(&a.run_b).with_context(|| format!("cannot read run {}", a.run_b.display()))?;
    let opts = EvalOptions {
        bootstrap: a.eval.bootstrap,
        seed: a.seed,
        ..EvalOptions::default()
    };
    let c = compare_runs(&ra, &rb, &opts)?;
    let (na, nb) = (a.run_a.display().to_string(), a.run_b.display().to_string());
    ui.print(&c.render(&na, &nb));
    ui.print_json(&c.to_json()?)?;
    Ok(())
}
