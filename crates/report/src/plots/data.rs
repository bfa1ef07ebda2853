//! Which runs a chart shows: distinct setting values, the other settings that vary, the
//! best run of a group, and how a rule's score is named and shown.

use crate::runs::RunSummary;
use crate::select::Rule;

/// Distinct numeric values of setting `key` over `runs`, ascending.
pub(super) fn distinct(runs: &[&RunSummary], key: &str) -> Vec<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.param_f64(key)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Settings other than `keys` whose values differ among `runs`.
pub(super) fn other_varied(runs: &[&RunSummary], keys: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for k in r.params.keys() {
            if !keys.contains(&k.as_str()) && k != "seed" && !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names.retain(|k| {
        let first = runs[0].params.get(k);
        runs.iter().any(|r| r.params.get(k) != first)
    });
    names
}

/// The run with the highest score under `rule` (ties: first).
pub(super) fn best_of<'a>(
    runs: impl Iterator<Item = &'a RunSummary>,
    rule: Rule,
) -> Option<&'a RunSummary> {
    runs.filter(|r| r.is_done())
        .filter_map(|r| rule.score(r).map(|s| (r, s)))
        .fold(None, |acc: Option<(&RunSummary, f64)>, (r, s)| match acc {
            Some((_, best)) if best >= s => acc,
            _ => Some((r, s)),
        })
        .map(|(r, _)| r)
}

/// What a rule's score is called on a chart, and the score as shown (losses unsigned).
pub(super) fn score_label(rule: Rule) -> &'static str {
    match rule {
        Rule::ValAccAtMinValLoss => "val accuracy at min val loss",
        Rule::ValAccuracy => "val accuracy",
        Rule::ValMacroF1 => "val macro F1",
        Rule::ValLoss => "val loss (lower is better)",
        Rule::ValMicroF1 => "val micro F1",
        Rule::ValPearson => "val Pearson r",
    }
}

pub(super) fn shown_score(rule: Rule, s: f64) -> f64 {
    if rule == Rule::ValLoss {
        -s
    } else {
        s
    }
}
