//! The command-line flags of run settings, for the "Try:" lines of the advice.

use serde_json::Value;

use crate::runs::RunSummary;

use super::format::fmt_lr;

/// The command-line flag of a run setting, for "Try:" lines.
fn flag_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "model" | "baseline" => "--model",
        "layers" => "--layers",
        "max_len" => "--max-len",
        "lr" => "--lr",
        "batch_size" => "--batch-size",
        "epochs" => "--epochs",
        "train_fraction" => "--subset-frac",
        "class_weights" => "--class-weights",
        "truncation" => "--truncation",
        "C" => "--C",
        "weight_decay" => "--weight-decay",
        "warmup_ratio" => "--warmup-ratio",
        "grad_accum" => "--grad-accum",
        "patience" => "--patience",
        "ngram" => "--ngram",
        "char_ngram" => "--char-ngram",
        "min_df" => "--min-df",
        "max_features" => "--max-features",
        _ => return None,
    })
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
                Value::String(s) => s.clone(),
                Value::Number(x) if k == "lr" => x.as_f64().map_or(x.to_string(), fmt_lr),
                other => other.to_string(),
            };
            out.push(format!("{flag} {value}"));
        }
    }
    out
}
