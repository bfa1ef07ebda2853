//! The sweep file: a TOML document that declares the data, a base configuration and what
//! varies.
//!
//! ```toml
//! name = "imdb-maxlen-lr"                  # default: the file name
//! selection = "val_acc_at_min_val_loss"    # how the best run is chosen (default: the
//!                                          # task's, see below)
//!
//! [data]                                   # paths are relative to this file
//! train = "../shared/data/imdb/train.csv"
//! test = "../shared/data/imdb/test.csv"
//! per_class = 300                          # optional: at most N rows per class of train
//! valid_frac = 0.1                         # without `valid`: hold this share of train out
//! seed = 42
//! # Other shapes of data take the keys `textclf train` takes for them (all optional):
//! # text_pair_col = "sentence2"            # second text of sentence pairs (auto-detected)
//! # task = "multi-label"                   # or "regression", "single-label" (inferred)
//! # label_sep = "|"                        # separator of several labels in one cell
//! # label_cols = ["joy", "anger"]          # multi-label stored one 0/1 column per label
//! # The default selection follows the task: val_acc_at_min_val_loss (single-label),
//! # val_micro_f1 (multi-label), val_pearson (regression).
//!
//! [base]                                   # settings of every run (textclf train flags)
//! model = "../shared/models/all-MiniLM-L6-v2"
//! epochs = 2
//!
//! [grid]                                   # the cartesian product of these lists
//! max_len = [128, 256, 512]
//! lr = [2e-5, 5e-5]
//!
//! [[cases]]                                # optional: explicit combinations, each
//! truncation = "head"                      # crossed with the grid
//! [[cases]]
//! truncation = "head+tail"
//!
//! [tie.batch_size]                         # batch size follows max_len
//! by = "max_len"
//! values = { 128 = 32, 256 = 16, 512 = 8 }
//!
//! [[models]]                               # optional: several models (or baselines)
//! name = "minilm-3"
//! model = "../shared/models/all-MiniLM-L6-v2"
//! layers = 3
//! [[models]]
//! name = "tfidf-nbsvm"
//! baseline = "nbsvm"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use textclf_core::Task;

use crate::error::{Result, SweepError};

/// How the data of every run is obtained: read once, split once, shared by all runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Training file.
    pub train: Option<PathBuf>,
    /// Validation file; without it `valid_frac` of train is held out (stratified).
    pub valid: Option<PathBuf>,
    /// Test file.
    pub test: Option<PathBuf>,
    /// One pool of labelled files split by `split` instead of train/valid/test files.
    #[serde(default)]
    pub pool: Vec<PathBuf>,
    /// Train/valid/test percentages for `pool`, e.g. "80/10/10".
    pub split: Option<String>,
    /// Keep at most this many rows per class (of the pool, or of train).
    pub per_class: Option<usize>,
    /// Keep this stratified fraction (of the pool, or of train).
    pub subset_frac: Option<f64>,
    /// Share of train held out for validation when there is no validation file.
    #[serde(default = "default_valid_frac")]
    pub valid_frac: f64,
    /// Seed of every split and subset.
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub text_col: Option<String>,
    pub label_col: Option<String>,
    pub id_col: Option<String>,
    // The keys below are left out of the serialized section when not given, so the
    // fingerprint of a sweep file written before they existed stays the same.
    /// Column of the second text of sentence pairs (default: auto-detected, as
    /// `--text-pair-col`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_pair_col: Option<String>,
    /// One 0/1 column per label, for multi-label data stored one-hot (`--label-cols`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_cols: Option<Vec<String>>,
    /// Separator of several labels in one label cell (`--label-sep`, default `|`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_sep: Option<String>,
    /// `single-label`, `multi-label` or `regression` (`--task`; default: inferred from the
    /// training labels, as `textclf train` does).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "task_by_name"
    )]
    pub task: Option<Task>,
    /// File format when the extension does not tell (`--format`: csv, tsv, jsonl, parquet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// Checks the `[data]` section's keys and the type of their values against their
/// declaration ([`textclf_settings::data`]): an unknown key gets the nearest one, a value
/// of the wrong type names its key.
fn check_data_keys(data: &toml::Table) -> Result<()> {
    for (key, value) in data {
        let setting = textclf_settings::data::find(key).map_err(SweepError::Config)?;
        setting
            .kind
            .check(&to_json(value))
            .map_err(|e| SweepError::Config(format!("[data] {key} {e}")))?;
    }
    Ok(())
}

/// A task by the names `--task` takes (`multilabel`, `multi_label`… too).
fn task_by_name<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Task>, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map(Some).map_err(serde::de::Error::custom)
}

fn default_valid_frac() -> f64 {
    0.1
}

fn default_seed() -> u64 {
    42
}

/// A setting that follows another one (e.g. batch size tied to max length).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tie {
    /// The setting it follows.
    pub by: String,
    /// Value of the tied setting for each value of `by` (keys as the values print).
    pub values: BTreeMap<String, toml::Value>,
}

/// One entry of `[[models]]`: a name and settings that override `[base]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    pub name: String,
    pub settings: BTreeMap<String, Value>,
}

/// A parsed sweep file.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepConfig {
    pub name: String,
    /// Selection rule name (validated by the report crate); `None`: the default of the
    /// data's task (validation accuracy at minimum loss, micro F1, Pearson's r).
    pub selection: Option<String>,
    pub data: DataSpec,
    /// Settings shared by every run, in file order.
    pub base: Vec<(String, Value)>,
    /// Lists to take the cartesian product of, in file order.
    pub grid: Vec<(String, Vec<Value>)>,
    /// Explicit combinations of settings (`[[cases]]`), each crossed with the grid: for
    /// settings that do not form a full grid (e.g. two learning rates per max length).
    pub cases: Vec<Vec<(String, Value)>>,
    /// Tied settings by name.
    pub ties: Vec<(String, Tie)>,
    pub models: Vec<ModelEntry>,
    /// Keep each run's `model/` folder (transformers: ~90 MB each for MiniLM).
    pub save_models: bool,
    /// The folder the file is in (relative paths resolve against it).
    pub base_dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    selection: Option<String>,
    save_models: Option<bool>,
    data: DataSpec,
    #[serde(default)]
    base: toml::Table,
    #[serde(default)]
    grid: toml::Table,
    #[serde(default)]
    tie: BTreeMap<String, Tie>,
    #[serde(default)]
    models: Vec<toml::Table>,
    #[serde(default)]
    cases: Vec<toml::Table>,
}

/// Converts a TOML value into JSON (dates become strings).
pub fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

impl SweepConfig {
    /// Reads and checks a sweep file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let stem = path
            .file_stem()
            .map_or_else(|| "sweep".to_string(), |s| s.to_string_lossy().into_owned());
        Self::parse(&text, &stem, &base_dir).map_err(|e| match e {
            SweepError::Config(msg) => SweepError::Config(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Parses sweep TOML; `default_name` names it when it has no `name`, relative paths
    /// resolve against `base_dir`.
    pub fn parse(text: &str, default_name: &str, base_dir: &Path) -> Result<Self> {
        Self::parse_with_env(text, default_name, base_dir, &|k| std::env::var(k).ok())
    }

    /// [`SweepConfig::parse`] with `${VAR}` values taken from `env`.
    pub fn parse_with_env(
        text: &str,
        default_name: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| SweepError::Config(e.to_string()))?;
        if let Some(toml::Value::Table(data)) = table.get("data") {
            check_data_keys(data)?;
        }
        let raw: Raw = toml::from_str(text).map_err(|e| SweepError::Config(e.to_string()))?;
        let mut data = raw.data;
        let resolve = |p: &mut PathBuf| -> Result<()> {
            let expanded = PathBuf::from(expand_env(&p.to_string_lossy(), env)?);
            *p = if expanded.is_relative() {
                base_dir.join(expanded)
            } else {
                expanded
            };
            Ok(())
        };
        for p in [&mut data.train, &mut data.valid, &mut data.test]
            .into_iter()
            .flatten()
        {
            resolve(p)?;
        }
        data.pool.iter_mut().try_for_each(resolve)?;
        match (&data.train, &data.test, data.pool.is_empty()) {
            (Some(_), Some(_), true) => {}
            (None, None, false) => {
                if data.valid.is_some() {
                    return Err(SweepError::Config(
                        "[data] `valid` goes with `train`/`test`, not with `pool`".into(),
                    ));
                }
            }
            (Some(_), None, true) | (None, Some(_), true) => {
                return Err(SweepError::Config(
                    "[data] needs both `train` and `test` (or a `pool` with `split`)".into(),
                ))
            }
            (None, None, true) => {
                return Err(SweepError::Config(
                    "[data] needs `train` and `test` files, or a `pool` of files with `split = \"80/10/10\"`".into(),
                ))
            }
            _ => {
                return Err(SweepError::Config(
                    "[data] give either `train`/`test` or `pool`, not both".into(),
                ))
            }
        }
        match (&data.label_col, &data.label_cols) {
            (Some(_), Some(_)) => {
                return Err(SweepError::Config(
                    "[data] has both `label_col` and `label_cols`: use `label_col` for one label column (single-label, regression, or several labels separated by `label_sep`), `label_cols` for one 0/1 column per label".into(),
                ))
            }
            (None, Some(cols)) if cols.is_empty() => {
                return Err(SweepError::Config(
                    "[data] `label_cols` is empty: name one 0/1 column per label, e.g. label_cols = [\"joy\", \"anger\"]".into(),
                ))
            }
            (None, Some(_)) if data.task.is_some_and(|t| t != Task::MultiLabel) => {
                return Err(SweepError::Config(format!(
                    "[data] `label_cols` holds multi-label data (one 0/1 column per label), but `task` is \"{}\"; remove one of them",
                    data.task.map_or("", Task::name)
                )))
            }
            _ => {}
        }
        if !(data.valid_frac > 0.0 && data.valid_frac < 1.0) {
            return Err(SweepError::Config(format!(
                "[data] valid_frac must be between 0 and 1 (e.g. 0.1), not {}",
                data.valid_frac
            )));
        }
        let mut base: Vec<(String, Value)> = raw
            .base
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect();
        base.iter_mut()
            .try_for_each(|(_, v)| expand_value(v, env))?;
        let mut grid = Vec::new();
        for (k, v) in &raw.grid {
            let toml::Value::Array(list) = v else {
                return Err(SweepError::Config(format!(
                    "[grid] {k} must be a list of values, e.g. {k} = [{}]",
                    v
                )));
            };
            if list.is_empty() {
                return Err(SweepError::Config(format!(
                    "[grid] {k} is an empty list: give at least one value"
                )));
            }
            let mut values: Vec<Value> = list.iter().map(to_json).collect();
            values.iter_mut().try_for_each(|v| expand_value(v, env))?;
            for (i, a) in values.iter().enumerate() {
                if values[..i].contains(a) {
                    return Err(SweepError::Config(format!("[grid] {k} lists {a} twice")));
                }
            }
            grid.push((k.clone(), values));
        }
        let mut cases: Vec<Vec<(String, Value)>> = raw
            .cases
            .iter()
            .map(|c| c.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
            .collect();
        cases
            .iter_mut()
            .flatten()
            .try_for_each(|(_, v)| expand_value(v, env))?;
        for (i, c) in cases.iter().enumerate() {
            if c.is_empty() {
                return Err(SweepError::Config(format!(
                    "[[cases]] entry {} is empty: give it settings, e.g. max_len = 128",
                    i + 1
                )));
            }
            if let Some((k, _)) = c.iter().find(|(k, _)| grid.iter().any(|(g, _)| g == k)) {
                return Err(SweepError::Config(format!(
                    "`{k}` is set by both [[cases]] and [grid]; list it in one place only"
                )));
            }
        }
        let ties: Vec<(String, Tie)> = raw.tie.into_iter().collect();
        for (name, tie) in &ties {
            if grid.iter().any(|(k, _)| k == name) {
                return Err(SweepError::Config(format!(
                    "[tie.{name}] ties a setting that [grid] also varies; list it in one place only"
                )));
            }
            if let Some((_, values)) = grid.iter().find(|(k, _)| *k == tie.by) {
                for v in values {
                    if !tie.values.contains_key(&value_key(v)) {
                        return Err(SweepError::Config(format!(
                            "[tie.{name}] has no value for {} = {}; add `{} = …` to its values",
                            tie.by,
                            value_key(v),
                            value_key(v)
                        )));
                    }
                }
            }
        }
        let mut models = Vec::new();
        for (i, m) in raw.models.iter().enumerate() {
            let mut settings: BTreeMap<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
            settings
                .values_mut()
                .try_for_each(|v| expand_value(v, env))?;
            let name = match settings.remove("name") {
                Some(Value::String(s)) if !s.trim().is_empty() => s,
                Some(_) => {
                    return Err(SweepError::Config(format!(
                        "[[models]] entry {} has a `name` that is not a non-empty string",
                        i + 1
                    )))
                }
                None => {
                    return Err(SweepError::Config(format!(
                        "[[models]] entry {} needs a `name` (it names the runs' folders)",
                        i + 1
                    )))
                }
            };
            if models.iter().any(|e: &ModelEntry| e.name == name) {
                return Err(SweepError::Config(format!(
                    "two [[models]] entries are named '{name}'"
                )));
            }
            if !settings.contains_key("model") && !settings.contains_key("baseline") {
                return Err(SweepError::Config(format!(
                    "[[models]] '{name}' needs `model = \"<folder or hub id>\"` or `baseline = \"lr\"|\"svm\"|\"nbsvm\"`"
                )));
            }
            if settings.contains_key("model") && settings.contains_key("baseline") {
                return Err(SweepError::Config(format!(
                    "[[models]] '{name}' has both `model` and `baseline`; an entry is one or the other"
                )));
            }
            models.push(ModelEntry { name, settings });
        }
        if models.is_empty()
            && !base.iter().any(|(k, _)| k == "model" || k == "baseline")
            && !grid.iter().any(|(k, _)| k == "model" || k == "baseline")
        {
            return Err(SweepError::Config(
                "no model: set `model` (or `baseline`) in [base], vary it in [grid], or list [[models]]".into(),
            ));
        }
        Ok(SweepConfig {
            name: raw.name.unwrap_or_else(|| default_name.to_string()),
            selection: raw.selection,
            data,
            base,
            grid,
            cases,
            ties,
            models,
            save_models: raw.save_models.unwrap_or(true),
            base_dir: base_dir.to_path_buf(),
        })
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in `s` with the environment's values, so one
/// sweep file works on machines with data in other places (e.g.
/// `"${TEXTCLF_DATA_DIR:-../shared/data}/imdb/train.csv"`).
pub fn expand_env(s: &str, get: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| SweepError::Config(format!("'{s}': `${{` without a closing `}}`")))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (get(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(SweepError::Config(format!(
                    "'{s}' uses ${{{name}}}, which is not set; set it or write ${{{name}:-default}}"
                )))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_value(v: &mut Value, get: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    match v {
        Value::String(s) if s.contains("${") => *s = expand_env(s, get)?,
        Value::Array(a) => a.iter_mut().try_for_each(|x| expand_value(x, get))?,
        _ => {}
    }
    Ok(())
}

/// How a value is written in run ids and tie tables: strings bare, numbers short
/// (`2e-5`, `0.25`, `128`).
pub fn value_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f != 0.0 && f.abs() < 1e-3 => format!("{f:e}"),
            (None, Some(f)) => format!("{f}"),
            _ => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use textclf_settings::data as ds;

    fn parse(data: &str) -> Result<SweepConfig> {
        let text = format!("[data]\n{data}\n[base]\nmodel = \"m\"\n");
        SweepConfig::parse_with_env(&text, "s", Path::new("/d"), &|_| None)
    }

    /// The `[data]` section reads exactly the declared keys, with the declared defaults.
    #[test]
    fn data_keys_and_defaults_are_the_declared_ones() {
        let full = DataSpec {
            train: Some("a".into()),
            valid: Some("v".into()),
            test: Some("b".into()),
            pool: vec!["p".into()],
            split: Some("80/10/10".into()),
            per_class: Some(3),
            subset_frac: Some(0.5),
            valid_frac: 0.2,
            seed: 1,
            text_col: Some("t".into()),
            label_col: Some("l".into()),
            id_col: Some("i".into()),
            text_pair_col: Some("p".into()),
            label_cols: Some(vec!["x".into()]),
            label_sep: Some(";".into()),
            task: Some(Task::MultiLabel),
            format: Some("csv".into()),
        };
        let Value::Object(fields) = serde_json::to_value(&full).unwrap() else {
            panic!("not an object")
        };
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        let mut declared: Vec<&str> = ds::DATA.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        declared.sort_unstable();
        assert_eq!(keys, declared);
        let c = parse("train = \"a\"\ntest = \"b\"").unwrap();
        assert_eq!(c.data.valid_frac.to_string(), ds::VALID_FRAC.default_text());
        assert_eq!(
            c.data.seed.to_string(),
            textclf_settings::SEED.default_text()
        );
    }

    #[test]
    fn a_data_key_typo_or_a_value_of_the_wrong_type_is_named() {
        let e = parse("train = \"a\"\ntest = \"b\"\nlabl_col = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown [data] key 'labl_col' (did you mean 'label_col'?)"),
            "{e}"
        );
        let e = parse("train = \"a\"\ntest = \"b\"\nper_class = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[data] per_class takes a whole number ≥ 1"),
            "{e}"
        );
        let e = parse("train = \"a\"\ntest = \"b\"\nlabel_cols = \"joy\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[data] label_cols takes a list of texts"), "{e}");
        assert!(parse("pool = [\"a\"]\nsplit = \"80/10/10\"\nvalid_frac = 0.2").is_ok());
    }
}
