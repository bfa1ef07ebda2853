//! `textclf data stats`.

use anyhow::Context;
use textclf_data::{compute_stats, read_table};

use super::common::read_options;
use crate::args::StatsArgs;
use crate::ui::Ui;

pub fn run(a: StatsArgs, ui: &Ui) -> anyhow::Result<()> {
    let opts = read_options(&a.columns, false);
    let mut tables = vec![];
    for f in &a.files {
        ui.phase(&format!("reading {}", f.display()));
        let t = read_table(f, &opts).with_context(|| format!("cannot read {}", f.display()))?;
        for n in &t.notes {
            ui.note(n);
        }
        tables.push((f.display().to_string(), t));
    }
    ui.finish();
    let named: Vec<(String, &textclf_data::RawTable)> =
        tables.iter().map(|(n, t)| (n.clone(), t)).collect();
    let stats = compute_stats(&named);
    ui.print(&stats.to_string());
    ui.print_json(&serde_json::to_value(&stats)?)?;
    Ok(())
}
