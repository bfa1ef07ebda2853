//! Expanding a sweep into its runs: models × grid (with tied settings), each with a stable
//! id and the command-line flags of `textclf train` or `textclf baseline` that make it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use textclf_settings::Setting;

use crate::config::{value_key, SweepConfig};
use crate::error::{Result, SweepError};

/// Fine-tuned transformer or linear baseline (owned by the run record).
pub use textclf_runs::Family;

/// One run of a sweep (as `sweep.json` keeps it).
pub use textclf_runs::PlannedRun as RunPlan;

/// The selection rule of a sweep file without one, until the data's task is known (the
/// rule of single-label data; `textclf sweep` records the task's own default).
pub const DEFAULT_SELECTION: &str = "val_acc_at_min_val_loss";

/// The whole plan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Plan {
    pub name: String,
    pub selection: String,
    /// Settings that differ between runs, in the order they were declared.
    pub varied: Vec<String>,
    pub runs: Vec<RunPlan>,
    /// What the sweep file sets that no run takes: a `[base]`, `[tie]` or `[[cases]]`
    /// setting of a family the sweep has no run of (a shared `[base]` kept for another
    /// sweep's models). Not an error, so such files keep working; the command prints
    /// these. (A `[grid]` setting no run takes is an error: it would collapse the grid.)
    #[serde(skip)]
    pub unused: Vec<String>,
}

// Every setting a sweep may use, with its flag and families, is declared once in
// `textclf-settings`. `model`/`baseline` pick the family; `train_fraction` keeps a stratified
// share of train (nested: smaller fractions are subsets of larger).
fn setting(key: &str) -> Result<&'static Setting> {
    textclf_settings::find(key).map_err(SweepError::Config)
}

/// Which family takes a setting, in words.
fn taken_by(key: &str) -> &'static str {
    textclf_settings::find(key).map_or("no model", |s| s.taken_by())
}

fn applies(key: &str, family: Family) -> bool {
    textclf_settings::find(key).is_ok_and(|s| match family {
        Family::Transformer => s.transformer,
        Family::Linear => s.linear,
    })
}

/// The flag value of a setting: lists comma-joined, numbers as `value_key` writes them.
fn flag_value(v: &Value) -> String {
    match v {
        Value::Array(a) => a.iter().map(value_key).collect::<Vec<_>>().join(","),
        other => value_key(other),
    }
}

/// Characters kept in run ids; anything else becomes `_`.
fn id_part(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.trim_matches('_').to_string()
}

/// Refuses a run id that cannot be a folder of its own under `runs/`: empty, `.` or `..`
/// (which name the folder itself or its parent), hidden (leading `.`), or ending in
/// `.partial` (the working folder of another run). Called before anything runs.
pub fn check_id(id: &str, index: usize) -> Result<()> {
    let why = if id.is_empty() {
        Some("is empty")
    } else if id == "." || id == ".." {
        Some("names a folder above the run (it would delete or mix finished runs)")
    } else if id.starts_with('.') {
        Some("starts with '.' (a hidden folder)")
    } else if id.ends_with(".partial") {
        Some("ends in '.partial', the working folder of a run in progress")
    } else if id.contains(['/', '\\']) || id.chars().any(char::is_control) {
        Some("holds a path separator or a control character")
    } else {
        None
    };
    match why {
        Some(why) => Err(SweepError::Config(format!(
            "run {}'s id '{id}' {why}; give its [[models]] entry another `name` (letters, digits, '-', '.' and '+')",
            index + 1
        ))),
        None => Ok(()),
    }
}

/// Short name of a model setting: the last path component (`all-MiniLM-L6-v2`).
fn model_label(v: &Value) -> String {
    let s = value_key(v);
    s.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(&s)
        .to_string()
}

/// Expands `cfg` into its runs. Linear baselines ignore transformer-only settings (and
/// the reverse), so a baseline listed beside a max_len × lr grid runs once, not once per
/// cell.
pub fn expand(cfg: &SweepConfig) -> Result<Plan> {
    for (k, _) in &cfg.base {
        setting(k)?;
    }
    let case_keys = cfg.cases.iter().flatten().map(|(k, _)| k);
    for k in cfg.grid.iter().map(|(k, _)| k).chain(case_keys) {
        setting(k)?;
    }
    for (k, t) in &cfg.ties {
        setting(k)?;
        setting(&t.by)?;
    }
    for m in &cfg.models {
        for k in m.settings.keys() {
            setting(k).map_err(|e| SweepError::Config(format!("[[models]] '{}': {e}", m.name)))?;
        }
    }
    // The cases (or one empty case) times the grid's cartesian product, first key outermost.
    let mut cells: Vec<Vec<(String, Value)>> = if cfg.cases.is_empty() {
        vec![Vec::new()]
    } else {
        cfg.cases.clone()
    };
    for (k, values) in &cfg.grid {
        cells = cells
            .into_iter()
            .flat_map(|cell| {
                values.iter().map(move |v| {
                    let mut c = cell.clone();
                    c.push((k.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    let entries: Vec<(Option<String>, BTreeMap<String, Value>)> = if cfg.models.is_empty() {
        vec![(None, BTreeMap::new())]
    } else {
        cfg.models
            .iter()
            .map(|m| (Some(m.name.clone()), m.settings.clone()))
            .collect()
    };
    let mut raw_runs: Vec<(Option<String>, Family, BTreeMap<String, Value>)> = Vec::new();
    for (name, entry) in &entries {
        for cell in &cells {
            let mut params: BTreeMap<String, Value> = cfg.base.iter().cloned().collect();
            // A model entry picks its family: drop the other family's model key from base.
            if entry.contains_key("baseline") {
                params.remove("model");
            } else if entry.contains_key("model") {
                params.remove("baseline");
            }
            params.extend(entry.clone());
            for (k, v) in cell {
                if k == "model" {
                    params.remove("baseline");
                } else if k == "baseline" {
                    params.remove("model");
                }
                params.insert(k.clone(), v.clone());
            }
            let family = if params.contains_key("baseline") {
                Family::Linear
            } else if params.contains_key("model") {
                Family::Transformer
            } else {
                return Err(SweepError::Config(format!(
                    "a run has neither `model` nor `baseline` (model entry {})",
                    name.as_deref().unwrap_or("[base]")
                )));
            };
            for (k, tie) in &cfg.ties {
                if let Some(v) = params.get(&tie.by) {
                    if let Some(t) = tie.values.get(&value_key(v)) {
                        params.insert(k.clone(), crate::config::to_json(t));
                    }
                }
            }
            // A model folder given relative to the sweep file (a Hub id stays as it is).
            if let Some(Value::String(m)) = params.get("model") {
                let local = cfg.base_dir.join(m);
                if Path::new(m).is_relative() && local.exists() {
                    params.insert("model".into(), Value::String(local.display().to_string()));
                }
            }
            // A model entry's own setting that its family does not take is a mistake.
            if let Some(k) = entry
                .keys()
                .find(|k| *k != "model" && *k != "baseline" && !applies(k, family))
            {
                return Err(SweepError::Config(format!(
                    "[[models]] '{}' sets '{k}', which only {} take; remove it from that entry",
                    name.as_deref().unwrap_or("?"),
                    taken_by(k)
                )));
            }
            params.retain(|k, _| applies(k, family));
            if params
                .get("train_fraction")
                .and_then(Value::as_f64)
                .is_some_and(|f| !(f > 0.0 && f <= 1.0))
            {
                return Err(SweepError::Config(format!(
                    "train_fraction must be in (0, 1], not {}",
                    params["train_fraction"]
                )));
            }
            raw_runs.push((name.clone(), family, params));
        }
    }
    // A grid setting that no run takes would only multiply identical runs, which are then
    // dropped as duplicates: the grid collapses silently. Say so instead. A [base], [tie]
    // or [[cases]] setting that no run takes changes nothing but is dropped: say that too.
    let taken = |k: &str| {
        k == "model" || k == "baseline" || raw_runs.iter().any(|(_, f, _)| applies(k, *f))
    };
    if let Some((k, _)) = cfg.grid.iter().find(|(k, _)| !taken(k)) {
        return Err(SweepError::Config(format!(
            "[grid] varies '{k}', which only {} take, and this sweep has none: remove it from the grid, or add such a model",
            taken_by(k)
        )));
    }
    let mut unused: Vec<String> = Vec::new();
    let others = cfg
        .base
        .iter()
        .map(|(k, _)| ("[base]", k))
        .chain(cfg.ties.iter().map(|(k, _)| ("a [tie]", k)))
        .chain(cfg.cases.iter().flatten().map(|(k, _)| ("[[cases]]", k)));
    for (section, k) in others {
        let line = format!(
            "{section} sets '{k}', which only {} take, and this sweep has none: no run uses it",
            taken_by(k)
        );
        if !taken(k) && !unused.contains(&line) {
            unused.push(line);
        }
    }
    // Drop duplicates (a baseline under a grid of transformer settings), keeping the first.
    let mut unique: Vec<(Option<String>, Family, BTreeMap<String, Value>)> = Vec::new();
    for r in raw_runs {
        if !unique.iter().any(|u| u.0 == r.0 && u.2 == r.2) {
            unique.push(r);
        }
    }
    // Varied settings: declared order (grid, then ties, then any other difference).
    let mut order: Vec<String> = Vec::new();
    if cfg.models.len() > 1 {
        order.push("model".into());
    }
    for (k, _) in cfg.cases.iter().flatten() {
        if !order.contains(k) {
            order.push(k.clone());
        }
    }
    order.extend(cfg.grid.iter().map(|(k, _)| k.clone()));
    order.extend(cfg.ties.iter().map(|(k, _)| k.clone()));
    for (_, _, p) in &unique {
        for k in p.keys() {
            if !order.contains(k) {
                order.push(k.clone());
            }
        }
    }
    // A setting varies when the runs that have it do not all share one value, or when
    // runs of one family differ in having it (those lacking it take the default, which
    // differs from the explicit value). Presence is compared within a family only, so a
    // linear baseline lacking `max_len` does not make `max_len` vary; `model` varies with
    // several entries.
    let varied: Vec<String> = order
        .into_iter()
        .filter(|k| {
            let mut values = unique.iter().filter_map(|u| u.2.get(k));
            let first = values.next();
            let partly_present = [Family::Transformer, Family::Linear].iter().any(|f| {
                let mut of_family = unique.iter().filter(|u| u.1 == *f);
                of_family.clone().any(|u| u.2.contains_key(k))
                    && of_family.any(|u| !u.2.contains_key(k))
            });
            (k == "model" && cfg.models.len() > 1)
                || values.any(|v| Some(v) != first)
                || partly_present
        })
        .collect();
    let mut runs = Vec::with_capacity(unique.len());
    for (index, (name, family, params)) in unique.into_iter().enumerate() {
        let model = name.clone().unwrap_or_else(|| match family {
            Family::Transformer => params.get("model").map_or("model".into(), model_label),
            Family::Linear => format!(
                "tfidf-{}",
                params.get("baseline").map_or("lr".into(), value_key)
            ),
        });
        let mut parts = Vec::new();
        if name.is_some() || varied.iter().any(|k| k == "model" || k == "baseline") {
            parts.push(id_part(&model));
        }
        // The grid's settings name the run; ties follow them and model entries' own
        // settings are covered by the entry's name.
        let named_by = |k: &String| {
            cfg.grid.iter().any(|(g, _)| g == k) || cfg.cases.iter().flatten().any(|(c, _)| c == k)
        };
        for k in varied.iter().filter(|k| named_by(k)) {
            if k == "model" || k == "baseline" {
                continue;
            }
            if let Some(v) = params.get(k) {
                parts.push(format!("{}-{}", id_part(k), id_part(&flag_value(v))));
            }
        }
        if parts.is_empty() {
            parts.push(id_part(&model));
        }
        let id = parts.join("__");
        let mut args = vec![match family {
            Family::Transformer => "train".to_string(),
            Family::Linear => "baseline".to_string(),
        }];
        for (k, v) in &params {
            let s = setting(k)?;
            s.kind.check(v).map_err(|e| {
                SweepError::Config(format!("run {} ({id}): setting '{k}' {e}", index + 1))
            })?;
            match v {
                Value::Bool(true) => args.push(s.flag()),
                Value::Bool(false) | Value::Null => {}
                _ if k == "train_fraction" && v.as_f64() == Some(1.0) => {}
                _ => {
                    args.push(s.flag());
                    args.push(flag_value(v));
                }
            }
        }
        runs.push(RunPlan {
            id,
            index,
            family,
            model,
            params,
            args,
        });
    }
    for (i, r) in runs.iter().enumerate() {
        check_id(&r.id, r.index)?;
        // Case-insensitive file systems (macOS, Windows) would put `A` and `a` in one folder.
        if let Some(other) = runs[..i].iter().find(|o| o.id.eq_ignore_ascii_case(&r.id)) {
            return Err(SweepError::Config(format!(
                "runs {} and {} would share the folder '{}' (run ids keep letters, digits, '.', '-' and '+'; other characters become '_', and case is ignored); give the [[models]] entries distinct names",
                other.index + 1,
                r.index + 1,
                r.id
            )));
        }
    }
    Ok(Plan {
        name: cfg.name.clone(),
        selection: cfg
            .selection
            .clone()
            .unwrap_or_else(|| DEFAULT_SELECTION.to_string()),
        varied,
        runs,
        unused,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(toml: &str) -> Result<Plan> {
        let cfg = SweepConfig::parse(toml, "test", Path::new("/data"))?;
        expand(&cfg)
    }

    const HOMEWORK: &str = r#"
        [data]
        train = "imdb/train.csv"
        test = "imdb/test.csv"
        [base]
        model = "models/all-MiniLM-L6-v2"
        epochs = 2
        [grid]
        max_len = [128, 256, 512]
        lr = [2e-5, 5e-5]
        [tie.batch_size]
        by = "max_len"
        values = { 128 = 32, 256 = 16, 512 = 8 }
    "#;

    #[test]
    fn grid_with_a_tied_batch_size_gives_six_runs() {
        let p = plan(HOMEWORK).unwrap();
        assert_eq!(p.runs.len(), 6);
        assert_eq!(p.varied, vec!["max_len", "lr", "batch_size"]);
        let ids: Vec<&str> = p.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "max_len-128__lr-2e-5",
                "max_len-128__lr-5e-5",
                "max_len-256__lr-2e-5",
                "max_len-256__lr-5e-5",
                "max_len-512__lr-2e-5",
                "max_len-512__lr-5e-5"
            ]
        );
        let r = &p.runs[3];
        assert_eq!(r.params["batch_size"], Value::from(16));
        assert_eq!(r.params["lr"], Value::from(5e-5));
        assert_eq!(r.family, Family::Transformer);
        let a = r.args.join(" ");
        assert!(a.starts_with("train "), "{a}");
        assert!(a.contains("--batch-size 16"), "{a}");
        assert!(a.contains("--max-len 256"), "{a}");
        assert!(a.contains("--lr 5e-5"), "{a}");
        assert!(a.contains("--model models/all-MiniLM-L6-v2"), "{a}");
        assert!(a.contains("--epochs 2"), "{a}");
    }

    #[test]
    fn a_baseline_beside_a_grid_runs_once_without_transformer_flags() {
        let p = plan(&format!(
            "{HOMEWORK}
            [[models]]
            name = \"minilm\"
            model = \"models/all-MiniLM-L6-v2\"
            [[models]]
            name = \"minilm-3\"
            model = \"models/all-MiniLM-L6-v2\"
            layers = 3
            [[models]]
            name = \"tfidf\"
            baseline = \"nbsvm\"
            ngram = \"1-2\"
            "
        ))
        .unwrap();
        assert_eq!(p.runs.len(), 13);
        let lin: Vec<&RunPlan> = p
            .runs
            .iter()
            .filter(|r| r.family == Family::Linear)
            .collect();
        assert_eq!(lin.len(), 1);
        assert_eq!(lin[0].id, "tfidf");
        assert_eq!(lin[0].args.join(" "), "baseline --model nbsvm --ngram 1-2");
        assert!(p
            .runs
            .iter()
            .any(|r| r.id == "minilm-3__max_len-512__lr-2e-5"
                && r.args.contains(&"--layers".to_string())));
    }

    #[test]
    fn averaging_and_checkpointing_settings_become_train_flags() {
        let p = plan(
            r#"
            [data]
            train = "t.csv"
            test = "u.csv"
            [base]
            model = "m"
            average_from = 0.5
            grad_checkpoint = true
            "#,
        )
        .unwrap();
        let args = p.runs[0].args.join(" ");
        assert!(args.contains("--average-from 0.5"), "{args}");
        assert!(args.contains("--grad-checkpoint"), "{args}");
    }

    #[test]
    fn cases_give_the_homeworks_two_learning_rates_per_length() {
        let p = plan(
            r#"
            [data]
            train = "a.csv"
            test = "b.csv"
            [base]
            model = "m"
            [[cases]]
            max_len = 128
            lr = 2e-5
            [[cases]]
            max_len = 128
            lr = 1e-5
            [[cases]]
            max_len = 512
            lr = 5e-6
            [tie.batch_size]
            by = "max_len"
            values = { 128 = 32, 512 = 8 }
            "#,
        )
        .unwrap();
        let ids: Vec<&str> = p.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "max_len-128__lr-2e-5",
                "max_len-128__lr-1e-5",
                "max_len-512__lr-5e-6"
            ]
        );
        assert_eq!(p.runs[2].params["batch_size"], Value::from(8));
        assert_eq!(p.varied, vec!["max_len", "lr", "batch_size"]);
    }

    #[test]
    fn a_setting_only_some_cases_give_varies_and_names_only_those_runs() {
        let p = plan(
            r#"
            [data]
            train = "a.csv"
            test = "b.csv"
            [base]
            model = "m"
            lr = 7e-5
            [[cases]]
            seed = 42
            [[cases]]
            warmup_ratio = 0.06
            [[cases]]
            seed = 4
            "#,
        )
        .unwrap();
        assert_eq!(p.runs.len(), 3);
        assert!(p.varied.contains(&"warmup_ratio".to_string()));
        let ids: Vec<&str> = p.runs.iter().map(|r| r.id.as_str()).collect();
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
        assert_ne!(ids[1], ids[2]);
        assert!(ids[1].contains("warmup_ratio-0.06"), "{ids:?}");
        assert!(!ids[0].contains("warmup_ratio"), "{ids:?}");
        assert!(!ids[2].contains("warmup_ratio"), "{ids:?}");
        // Runs differing only in having the setting get distinct folders.
        let p = plan(
            r#"
            [data]
            train = "a.csv"
            test = "b.csv"
            [base]
            model = "m"
            [[cases]]
            seed = 42
            [[cases]]
            seed = 42
            warmup_ratio = 0.06
            "#,
        )
        .unwrap();
        let ids: Vec<&str> = p.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["m", "warmup_ratio-0.06"]);
        // A linear baseline lacking a transformer-only setting does not make it vary.
        let p = plan(
            r#"
            [data]
            train = "a.csv"
            test = "b.csv"
            [base]
            max_len = 128
            [[models]]
            name = "minilm"
            model = "m"
            [[models]]
            name = "tfidf"
            baseline = "lr"
            "#,
        )
        .unwrap();
        assert!(!p.varied.contains(&"max_len".to_string()), "{:?}", p.varied);
    }

    #[test]
    fn fractions_and_seeds_expand_and_full_data_passes_no_subset_flag() {
        let p = plan(
            r#"
            [data]
            train = "a.csv"
            test = "b.csv"
            [base]
            baseline = "lr"
            [grid]
            train_fraction = [0.25, 1.0]
            seed = [1, 2]
            "#,
        )
        .unwrap();
        let ids: Vec<&str> = p.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "train_fraction-0.25__seed-1",
                "train_fraction-0.25__seed-2",
                "train_fraction-1__seed-1",
                "train_fraction-1__seed-2"
            ]
        );
        assert!(p.runs[0].args.contains(&"--subset-frac".to_string()));
        assert!(!p.runs[2].args.contains(&"--subset-frac".to_string()));
    }

    #[test]
    fn mistakes_are_explained() {
        let e = |t: &str| plan(t).unwrap_err().to_string();
        let data = "[data]\ntrain = \"a\"\ntest = \"b\"\n";
        assert!(
            e(&format!("{data}[base]\nmodel = \"m\"\nlearning_rate = 1"))
                .contains("unknown setting 'learning_rate'")
        );
        assert!(
            e(&format!("{data}[base]\nmodel = \"m\"\n[grid]\nlr = 1e-5"))
                .contains("must be a list")
        );
        assert!(e(&format!("{data}[base]\nmodel = \"m\"\n[grid]\nlr = []")).contains("empty list"));
        assert!(e(&format!("{data}[base]\nmodel = \"m\"\n[grid]\nmax_len = [64, 128]\n[tie.batch_size]\nby = \"max_len\"\nvalues = {{ 64 = 8 }}")).contains("no value for max_len = 128"));
        assert!(e(&format!("{data}[base]\nepochs = 1")).contains("no model"));
        assert!(e("[base]\nmodel = \"m\"").contains("data"));
        assert!(
            e("[data]\ntrain = \"a\"\n[base]\nmodel = \"m\"").contains("both `train` and `test`")
        );
        assert!(e(&format!("{data}[[models]]\nmodel = \"m\"")).contains("needs a `name`"));
        assert!(e(&format!(
            "{data}[base]\nmodel = \"m\"\n[grid]\ntrain_fraction = [0.5, 2.0]"
        ))
        .contains("train_fraction"));
        assert!(e(&format!(
            "{data}[base]\nmodel = \"m\"\n[grid]\nlr = [1e-5, 1e-5]"
        ))
        .contains("twice"));
        assert!(e(&format!("{data}[bse]\nmodel = \"m\"")).contains("unknown field"));
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_setting_and_what_it_takes() {
        let data = "[data]\ntrain = \"a\"\ntest = \"b\"\n[base]\nmodel = \"m\"\n";
        let e = |t: &str| plan(&format!("{data}{t}")).unwrap_err().to_string();
        let epochs = e("epochs = \"three\"");
        assert!(
            epochs.contains("setting 'epochs' takes a whole number ≥ 1"),
            "{epochs}"
        );
        assert!(e("[grid]\nbatch_size = [8, 0]").contains("setting 'batch_size'"));
        let switch = e("no_bucketing = \"yes\"");
        assert!(switch.contains("takes true or false"), "{switch}");
        assert!(e("lr = true").contains("setting 'lr' takes a number"));
        let grid = e("[[models]]\nname = \"b\"\nbaseline = \"lr\"\nc_grid = [\"x\"]");
        assert!(
            grid.contains("setting 'c_grid' takes a list of numbers"),
            "{grid}"
        );
        // What sweep files could always write still plans: numbers as text, whole
        // numbers written as floats, one number for a list.
        let p = plan(&format!(
            "{data}lr = \"2e-5\"\nepochs = 2.0\nno_bucketing = true"
        ))
        .unwrap();
        let args = p.runs[0].args.join(" ");
        assert!(
            args.contains("--lr 2e-5")
                && args.contains("--epochs 2")
                && args.contains("--no-bucketing"),
            "{args}"
        );
        let linear = "[data]\ntrain = \"a\"\ntest = \"b\"\n[base]\nbaseline = \"lr\"\nc_grid = 1.0\nngram = \"1-2\"\nmin_df = 1";
        let args = plan(linear).unwrap().runs[0].args.join(" ");
        assert!(
            args.contains("--c-grid 1") && args.contains("--ngram 1-2"),
            "{args}"
        );
    }

    #[test]
    fn settings_no_run_takes_and_typos_are_explained() {
        let data = "[data]\ntrain = \"a\"\ntest = \"b\"\n";
        let e = |t: &str| plan(&format!("{data}{t}")).unwrap_err().to_string();
        let only_linear = e("[base]\nbaseline = \"lr\"\n[grid]\nlr = [1e-5, 3e-5]");
        assert!(
            only_linear.contains("varies 'lr'") && only_linear.contains("fine-tuned transformers"),
            "{only_linear}"
        );
        let only_tf = e("[base]\nmodel = \"m\"\n[grid]\nC = [1.0, 4.0]");
        assert!(
            only_tf.contains("varies 'C'") && only_tf.contains("linear baselines"),
            "{only_tf}"
        );
        let entry =
            e("[base]\nmodel = \"m\"\n[[models]]\nname = \"t\"\nbaseline = \"lr\"\nlr = 1e-5");
        assert!(entry.contains("[[models]] 't' sets 'lr'"), "{entry}");
        // A shared [base] setting no run takes is kept working, and said.
        let p = plan(&format!(
            "{data}[base]\nbaseline = \"lr\"\nlr = 1e-5\nepochs = 2\n[grid]\nC = [1.0, 4.0]"
        ))
        .unwrap();
        assert_eq!(p.runs.len(), 2);
        assert_eq!(p.unused.len(), 2, "{:?}", p.unused);
        assert!(
            p.unused[0].contains("[base] sets 'lr'")
                && p.unused[0].contains("fine-tuned transformers"),
            "{:?}",
            p.unused
        );
        let p = plan(&format!(
            "{data}[base]\nmodel = \"m\"\n[[cases]]\nC = 1.0\n[[cases]]\nC = 4.0"
        ))
        .unwrap();
        assert!(p.unused[0].contains("[[cases]] sets 'C'"), "{:?}", p.unused);
        let typo = e("[base]\nmodel = \"m\"\nmax_lenn = 64");
        assert!(typo.contains("did you mean 'max_len'?"), "{typo}");
        // A baseline beside a transformer grid still runs once: that is not a collapse.
        let p = plan(&format!("{data}[base]\nmodel = \"m\"\n[grid]\nlr = [1e-5, 3e-5]\n[[models]]\nname = \"m\"\nmodel = \"m\"\n[[models]]\nname = \"tfidf\"\nbaseline = \"lr\"")).unwrap();
        assert_eq!(p.runs.len(), 3);
    }

    #[test]
    fn run_ids_that_are_not_a_folder_of_their_own_are_refused_before_anything_runs() {
        let data = "[data]\ntrain = \"a\"\ntest = \"b\"\n";
        let two = |a: &str, b: &str| {
            plan(&format!(
                "{data}[[models]]\nname = \"{a}\"\nmodel = \"m\"\n[[models]]\nname = \"{b}\"\nmodel = \"m2\""
            ))
        };
        for bad in ["..", ".", ".hidden", "a.partial", "___"] {
            let e = two(bad, "ok").unwrap_err().to_string();
            assert!(
                e.contains("run 1's id") || e.contains("is empty"),
                "{bad}: {e}"
            );
        }
        let e = two("a/b", "a_b").unwrap_err().to_string();
        assert!(e.contains("share the folder 'a_b'"), "{e}");
        let e = two("Big", "big").unwrap_err().to_string();
        assert!(e.contains("case is ignored"), "{e}");
        assert!(two("a", "a.b").is_ok());
    }

    #[test]
    fn environment_variables_expand_in_paths_and_settings() {
        let env = |k: &str| (k == "DATA").then(|| "/srv/data".to_string());
        let t = "[data]\ntrain = \"${DATA}/a.csv\"\ntest = \"${MISSING:-/x}/b.csv\"\n[base]\nmodel = \"${DATA}/m\"";
        let cfg = SweepConfig::parse_with_env(t, "e", Path::new("/"), &env).unwrap();
        assert_eq!(
            cfg.data.train.as_deref(),
            Some(Path::new("/srv/data/a.csv"))
        );
        assert_eq!(cfg.data.test.as_deref(), Some(Path::new("/x/b.csv")));
        assert_eq!(cfg.base[0].1, Value::from("/srv/data/m"));
        let bad = "[data]\ntrain = \"${NOPE}/a\"\ntest = \"b\"\n[base]\nmodel = \"m\"";
        let e = SweepConfig::parse_with_env(bad, "e", Path::new("/"), &env).unwrap_err();
        assert!(e.to_string().contains("${NOPE}"), "{e}");
    }

    #[test]
    fn data_keys_of_every_shape_parse_and_leave_older_files_fingerprint_alone() {
        let cfg = SweepConfig::parse(
            r#"
            [data]
            train = "a.csv"
            test = "b.csv"
            text_pair_col = "hypothesis"
            task = "multilabel"
            label_sep = ";"
            label_cols = ["joy", "anger"]
            format = "csv"
            [base]
            baseline = "lr"
            "#,
            "s",
            Path::new("/d"),
        )
        .unwrap();
        let d = &cfg.data;
        assert_eq!(d.text_pair_col.as_deref(), Some("hypothesis"));
        assert_eq!(d.task, Some(textclf_core::Task::MultiLabel));
        assert_eq!(d.label_sep.as_deref(), Some(";"));
        assert_eq!(
            d.label_cols.as_deref(),
            Some(&["joy".into(), "anger".into()][..])
        );
        assert_eq!(d.format.as_deref(), Some("csv"));
        let text = serde_json::to_string(d).unwrap();
        assert!(text.contains("\"task\":\"multi-label\""), "{text}");
        // A [data] section without them serializes as before (the split's fingerprint).
        let old = SweepConfig::parse(HOMEWORK, "hw", Path::new("/d")).unwrap();
        let text = serde_json::to_string(&old.data).unwrap();
        for key in ["text_pair_col", "label_cols", "label_sep", "task", "format"] {
            assert!(!text.contains(key), "{key} in {text}");
        }
        let e = |data: &str| {
            plan(&format!(
                "[data]\ntrain = \"a\"\ntest = \"b\"\n{data}\n[base]\nbaseline = \"lr\""
            ))
            .unwrap_err()
            .to_string()
        };
        assert!(e("task = \"ordinal\"").contains("unknown task 'ordinal'"));
        assert!(e("label_col = \"l\"\nlabel_cols = [\"a\"]").contains("both `label_col`"));
        assert!(e("label_cols = []").contains("`label_cols` is empty"));
        assert!(e("label_cols = [\"a\"]\ntask = \"regression\"").contains("remove one"));
        let typo = e("pair_col = \"b\"");
        assert!(typo.contains("unknown [data] key 'pair_col'"), "{typo}");
    }

    #[test]
    fn relative_data_paths_resolve_against_the_sweep_file() {
        let cfg = SweepConfig::parse(HOMEWORK, "hw", Path::new("/srv/sweeps")).unwrap();
        assert_eq!(
            cfg.data.train.clone().unwrap(),
            Path::new("/srv/sweeps/imdb/train.csv")
        );
        assert_eq!(cfg.name, "hw");
        assert_eq!(cfg.selection, None);
        assert_eq!(expand(&cfg).unwrap().selection, DEFAULT_SELECTION);
    }
}
