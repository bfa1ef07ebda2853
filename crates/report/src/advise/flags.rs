//! The command-line flags of run settings, for the "Try:" lines of the advice.

use serde_json::Value;

use crate::runs::RunSummary;

use super::format::fmt_lr;

/// The command-line flag of a run setting, for "Try:" lines (from `textclf-settings`).
fn flag_of(key: &str) -> Option<String> {
    textclf_settings::find(key).ok().map(|s| s.flag())
}

/// Flags that turn `reference`'s settings into `r`'s (the seed aside).
pub(crate) fn flags_for(r: &RunSummary, reference: &RunSummary) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &r.params {
        if k == "seed" || reference.params.get(k) == Some(v) {
            continue;
        }
        if let Some(flag) = flag_of(k) {
            let value = match v {
                // A switch is its flag alone; off is the default, which no flag restores.
                Value::Bool(true) => {
                    out.push(flag);
                    continue;
                }
                Value::Bool(false) | Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(x) if k == "lr" => x.as_f64().map_or(x.to_string(), fmt_lr),
                Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            out.push(format!("{flag} {value}"));
        }
    }
    out
}
