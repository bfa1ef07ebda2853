//! `textclf data stats`.

use anyhow::Context;
use textclf_data::{compute_stats_with, read_table};

use super::common::{read_options, target_options};
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
    let mut stats = compute_stats_with(&named, &target_options(&a.columns));
    if let Some(dir) = &a.tokenizer {
        ui.phase("counting tokens");
        let enc = textclf_train::tokenize::TextEncoder::from_dir(
            dir,
            512,
            textclf_train::tokenize::Truncation::Head,
        )
        .with_context(|| format!("cannot load the tokenizer of {}", dir.display()))?;
        for (split, (_, table)) in stats.splits.iter_mut().zip(&tables) {
            let texts: Vec<&str> = table.texts.iter().map(String::as_str).collect();
            let lens = match &table.pairs {
                Some(second) => {
                    let b: Vec<&str> = second.iter().map(String::as_str).collect();
                    enc.full_pair_lengths(&texts, &b)?
                }
                None => enc.full_lengths(&texts)?,
            };
            let n = lens.len().max(1) as f64;
            split.token_lengths = Some(textclf_data::TokenStats {
                tokenizer: dir.display().to_string(),
                pairs: table.pairs.is_some(),
                summary: textclf_data::LengthSummary::from_lengths(&lens),
                truncated_at: [128, 256, 512]
                    .iter()
                    .map(|&m| (m, lens.iter().filter(|&&l| l > m).count() as f64 / n))
                    .collect(),
            });
        }
        ui.finish();
    }
    ui.print(&stats.to_string());
    ui.print_json(&serde_json::to_value(&stats)?)?;
    Ok(())
}
