//! The split a sweep shares between its runs: read and split once into `<out>/data/`
//! (`train/valid/test.jsonl` and `split.json`), then read back by every child.
//!
//! The JSONL files hold every shape of data so that the children read back exactly the rows
//! the sweep split, with the same task and label set:
//!
//! * `id`, `text` and, for sentence pairs, `text_pair`;
//! * single-label: `label`, the class name;
//! * multi-label: one 0/1 field per label, in the label set's order, so the children's
//!   label set is the sweep's (also labels that a split lacks) and no separator or list
//!   syntax can change a name;
//! * regression: the target as a JSON number (the shortest decimal that reads back to the
//!   same value), under the name of the data's label column, which names the model's output.
//!
//! A fixed field that a label would also name gets a `_` in front (`_text`). `split.json`
//! records the layout ([`Layout`]) and the task; a split written before layouts existed
//! has none and is read as single texts with single labels, as it was written.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use textclf_core::{Choices, Dataset, Targets, Task};
use textclf_data::Format;
use textclf_experiment::{Columns, DataSource};
use textclf_sweep::folder::SweepFolder;
use textclf_sweep::SweepConfig;

use crate::ui::Ui;

const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Where each row's answer is in the shared files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub(super) enum LabelFields {
    /// One field: the class name (single-label) or the target (regression).
    Field(String),
    /// One 0/1 field per label, in the label set's order (multi-label).
    OneHot(Vec<String>),
}

/// How the shared files are laid out, and so how a child reads them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Layout {
    /// The task; `None` for a split written before layouts existed (single-label, left
    /// to the children's inference as then).
    pub task: Option<Task>,
    pub id: String,
    pub text: String,
    /// The second text's field of sentence pairs.
    pub pair: Option<String>,
    pub labels: LabelFields,
}

impl Layout {
    /// The layout of splits written before there were others: single texts, `label`.
    pub fn legacy() -> Self {
        Layout {
            task: None,
            id: "id".into(),
            text: "text".into(),
            pair: None,
            labels: LabelFields::Field("label".into()),
        }
    }

    /// The layout for data of `d`'s task, label set and shape.
    fn of(d: &Dataset) -> Self {
        let task = d.task();
        let labels = match task {
            Task::SingleLabel => LabelFields::Field("label".into()),
            Task::MultiLabel => LabelFields::OneHot(d.label_set.names().to_vec()),
            Task::Regression => LabelFields::Field(d.label_set.name(0).to_string()),
        };
        let taken: Vec<&str> = match &labels {
            LabelFields::Field(f) => vec![f.as_str()],
            LabelFields::OneHot(names) => names.iter().map(String::as_str).collect(),
        };
        let free = |base: &str| {
            let mut name = base.to_string();
            while taken.contains(&name.as_str()) {
                name.insert(0, '_');
            }
            name
        };
        Layout {
            task: Some(task),
            id: free("id"),
            text: free("text"),
            pair: d.pairs.as_ref().map(|_| free("text_pair")),
            labels,
        }
    }

    /// Row `i` of `d` as a JSON object.
    fn row(&self, d: &Dataset, i: usize) -> anyhow::Result<Map<String, Value>> {
        let mut m = Map::new();
        m.insert(self.id.clone(), json!(d.ids[i]));
        m.insert(self.text.clone(), json!(d.texts[i]));
        if let (Some(field), Some(pairs)) = (&self.pair, &d.pairs) {
            m.insert(field.clone(), json!(pairs[i]));
        }
        match (&self.labels, &d.targets) {
            (LabelFields::Field(f), Targets::Classes(c)) => {
                m.insert(f.clone(), json!(d.label_set.name(c[i])));
            }
            (LabelFields::Field(f), Targets::Scores(v)) => {
                // The target's shortest decimal form reads back to the same f32.
                let x = v[i]
                    .to_string()
                    .parse()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .with_context(|| {
                        format!("{}: row {} has no finite target", d.name, d.ids[i])
                    })?;
                m.insert(f.clone(), Value::Number(x));
            }
            (LabelFields::OneHot(names), Targets::LabelSets(sets)) => {
                for (k, name) in names.iter().enumerate() {
                    m.insert(name.clone(), json!(u8::from(sets[i].contains(&k))));
                }
            }
            _ => bail!(
                "{}: the shared split's layout does not fit {} data",
                d.name,
                d.task()
            ),
        }
        Ok(m)
    }

    /// How a child reads the shared files, as the experiment's columns.
    pub fn columns(&self) -> Columns {
        let (label_col, label_cols) = match &self.labels {
            LabelFields::Field(f) => (Some(f.clone()), None),
            LabelFields::OneHot(names) => (None, Some(names.clone())),
        };
        Columns {
            text_col: Some(self.text.clone()),
            label_col,
            id_col: Some(self.id.clone()),
            pair_col: self.pair.clone(),
            label_cols,
            task: self.task,
            ..Columns::default()
        }
    }

    /// The flags that make a child read the shared split from `folder`: the command line
    /// recorded for people to rerun a run (the child itself gets [`Layout::columns`]).
    pub fn flags(&self, folder: &SweepFolder) -> Vec<String> {
        let d = folder.data_dir();
        let mut v = Vec::new();
        for s in SPLITS {
            v.push(format!("--{s}"));
            v.push(d.join(format!("{s}.jsonl")).display().to_string());
        }
        let c = self.columns();
        let pairs = [
            ("--text-col", c.text_col),
            ("--text-pair-col", c.pair_col),
            ("--label-col", c.label_col),
            ("--label-cols", c.label_cols.map(|l| l.join(","))),
            ("--id-col", c.id_col),
            ("--task", c.task.map(|t| t.name().to_string())),
        ];
        for (flag, value) in pairs {
            if let Some(value) = value {
                v.push(flag.into());
                v.push(value);
            }
        }
        v
    }

    /// The task the runs of this split have.
    pub fn task(&self) -> Task {
        self.task.unwrap_or(Task::SingleLabel)
    }
}

/// 64-bit FNV-1a: a stable fingerprint (std's hashers may change between Rust versions).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn write_jsonl(path: &Path, d: &Dataset, layout: &Layout) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for i in 0..d.len() {
        serde_json::to_writer(&mut out, &layout.row(d, i)?)?;
        out.push(b'\n');
    }
    textclf_sweep::folder::write_atomic(path, &out)?;
    Ok(())
}

/// The [data] section's columns, read as `textclf train` reads its column flags.
fn columns_of(spec: &textclf_sweep::DataSpec) -> anyhow::Result<Columns> {
    let format = spec
        .format
        .as_deref()
        .map(|f| {
            Format::from_name(f).with_context(|| {
                format!(
                    "[data] format = \"{f}\" is not a format; use {}",
                    Format::names()
                )
            })
        })
        .transpose()?;
    let mut c = Columns {
        text_col: spec.text_col.clone(),
        label_col: spec.label_col.clone(),
        id_col: spec.id_col.clone(),
        format,
        pair_col: spec.text_pair_col.clone(),
        label_cols: spec.label_cols.clone(),
        task: spec.task,
        ..Columns::default()
    };
    if let Some(sep) = &spec.label_sep {
        c.label_sep = sep.clone();
    }
    Ok(c)
}

/// Reads and splits the data once, into `<out>/data/`; later calls (resumes, other
/// shards) reuse it. Returns the fingerprint of the [data] section and the layout the
/// children read.
pub(super) fn prepare_data(
    cfg: &SweepConfig,
    folder: &SweepFolder,
    ui: &Ui,
) -> anyhow::Result<(String, Layout)> {
    let mut spec = cfg.data.clone();
    for p in [&mut spec.train, &mut spec.valid, &mut spec.test]
        .into_iter()
        .flatten()
        .chain(spec.pool.iter_mut())
    {
        if let Ok(c) = p.canonicalize() {
            *p = c;
        }
    }
    let fp = format!("{:016x}", fnv(&serde_json::to_vec(&spec)?));
    let dir = folder.data_dir();
    let marker = dir.join("split.json");
    if marker.is_file() {
        let old: Value = serde_json::from_str(&std::fs::read_to_string(&marker)?)
            .with_context(|| format!("{} is damaged", marker.display()))?;
        if old.get("fingerprint").and_then(Value::as_str) != Some(fp.as_str()) {
            bail!(
                "{} holds the split of another [data] section; use a new --out folder (or restore the old [data] section)",
                folder.root.display()
            );
        }
        let layout = match old.get("layout") {
            Some(l) => serde_json::from_value(l.clone())
                .with_context(|| format!("{}: `layout` is damaged", marker.display()))?,
            None => Layout::legacy(),
        };
        ui.note(&format!("reusing the split in {}", dir.display()));
        return Ok((fp, layout));
    }
    ui.phase("reading and splitting the data (once for all runs)");
    let source = match (&spec.train, &spec.test) {
        (Some(train), Some(test)) => DataSource::Files {
            train: train.clone(),
            valid: spec.valid.clone(),
            test: test.clone(),
        },
        _ => DataSource::Pool {
            files: spec.pool.clone(),
            fractions: super::common::parse_split(spec.split.as_deref().unwrap_or("80/10/10"))?,
        },
    };
    let data = textclf_experiment::DataSpec {
        source,
        columns: columns_of(&spec)?,
        seed: spec.seed,
        subset_frac: spec.subset_frac,
        per_class: spec.per_class,
    };
    let splits =
        textclf_experiment::prepare_splits(&data, ui).context("cannot prepare the sweep's data")?;
    let (train, valid) = match splits.valid {
        Some(v) => (splits.train, v),
        None => super::common::holdout_valid(&splits.train, spec.valid_frac, spec.seed),
    };
    let layout = Layout::of(&train);
    let sets = [&train, &valid, &splits.test];
    for (name, d) in SPLITS.iter().zip(sets) {
        write_jsonl(&dir.join(format!("{name}.jsonl")), d, &layout)?;
    }
    let counts: Map<String, Value> = SPLITS
        .iter()
        .zip(sets)
        .map(|(n, d)| (n.to_string(), json!({"rows": d.len(), "source": d.name})))
        .collect();
    textclf_sweep::folder::write_json(
        &marker,
        &json!({
            "fingerprint": fp,
            "spec": spec,
            "task": layout.task(),
            "pairs": layout.pair.is_some(),
            "labels": train.label_set.names(),
            "layout": layout,
            "splits": counts,
            "notes": splits.notes,
        }),
    )?;
    ui.finish();
    ui.note(&format!(
        "split: {} train / {} valid / {} test rows of {}{} in {}",
        train.len(),
        valid.len(),
        splits.test.len(),
        layout.task(),
        if layout.pair.is_some() {
            " text pairs"
        } else {
            " texts"
        },
        dir.display()
    ));
    Ok((fp, layout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use textclf_core::LabelSet;

    fn read_back(d: &Dataset, layout: &Layout) -> Dataset {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("train.jsonl");
        write_jsonl(&path, d, layout).unwrap();
        let spec = textclf_experiment::DataSpec {
            source: DataSource::Files {
                train: path.clone(),
                valid: None,
                test: path,
            },
            columns: layout.columns(),
            seed: 1,
            subset_frac: None,
            per_class: None,
        };
        textclf_experiment::prepare_splits(&spec, &textclf_experiment::Silent)
            .unwrap()
            .train
    }

    fn same(a: &Dataset, b: &Dataset) {
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.texts, b.texts);
        assert_eq!(a.pairs, b.pairs);
        assert_eq!(a.targets, b.targets);
        assert_eq!(a.label_set.names(), b.label_set.names());
    }

    #[test]
    fn every_shape_round_trips_through_the_shared_files() {
        let ids: Vec<String> = (0..4).map(|i| format!("r{i}")).collect();
        let texts: Vec<String> = ["a, \"quoted\"", "b\nline", "c|d", "ü"]
            .map(String::from)
            .to_vec();
        let pairs = Some(["x", "y", "v", "w"].map(String::from).to_vec());
        // Regression: targets that print long, whole numbers, negatives; the output name
        // is the label column's, and a label named `text` moves the text to `_text`.
        let scores = vec![3.8f32, 5.0, -1e-7, 1.2345679e20];
        let reg = Dataset::with_targets(
            "r",
            ids.clone(),
            texts.clone(),
            pairs.clone(),
            Targets::Scores(scores),
            LabelSet::new(vec!["text".into()]).unwrap(),
        )
        .unwrap();
        let layout = Layout::of(&reg);
        assert_eq!(
            (layout.text.as_str(), layout.pair.as_deref()),
            ("_text", Some("text_pair"))
        );
        same(&reg, &read_back(&reg, &layout));
        // Multi-label: the label set's own order (not sorted), a label no row has, a row
        // with none, names holding the separator and commas.
        let names = ["zeta", "a|b", "x,y", "unused"].map(String::from).to_vec();
        let ml = Dataset::with_targets(
            "m",
            ids.clone(),
            texts.clone(),
            None,
            Targets::LabelSets(vec![vec![0, 1], vec![], vec![2], vec![0]]),
            LabelSet::new(names.clone()).unwrap(),
        )
        .unwrap();
        let layout = Layout::of(&ml);
        assert_eq!(layout.labels, LabelFields::OneHot(names));
        same(&ml, &read_back(&ml, &layout));
        // Single-label pairs: class names that look like numbers and lists stay classes.
        let sl = Dataset::with_targets(
            "s",
            ids,
            texts,
            pairs,
            Targets::Classes(vec![0, 1, 0, 1]),
            LabelSet::new(vec!["1.5".into(), "[x]".into()]).unwrap(),
        )
        .unwrap();
        let layout = Layout::of(&sl);
        assert_eq!(layout.task, Some(Task::SingleLabel));
        same(&sl, &read_back(&sl, &layout));
    }

    #[test]
    fn a_split_written_before_layouts_reads_as_single_texts_and_labels() {
        let folder = SweepFolder::new("/s");
        let flags = Layout::legacy().flags(&folder).join(" ");
        assert_eq!(
            flags,
            "--train /s/data/train.jsonl --valid /s/data/valid.jsonl --test /s/data/test.jsonl --text-col text --label-col label --id-col id"
        );
    }
}
