//! The split a sweep shares between its runs: read and split once into `<out>/data/`
//! (`train/valid/test.jsonl` and [`SPLIT_FILE`]), then read back by every child.
//!
//! The JSONL files hold every shape of data so that the children read back exactly the rows
//! the sweep split, with the same task and label set ([`Layout`]):
//!
//! * `id`, `text` and, for sentence pairs, `text_pair`;
//! * single-label: `label`, the class name;
//! * multi-label: one 0/1 field per label, in the label set's order, so the children's
//!   label set is the sweep's (also labels that a split lacks) and no separator or list
//!   syntax can change a name;
//! * regression: the target as a JSON number (the shortest decimal that reads back to the
//!   same value), under the name of the data's label column, which names the model's output.
//!
//! A fixed field that a label would also name gets a `_` in front (`_text`).
//! [`SplitRecord`] is the one typed owner of `split.json`: the fingerprint of the `[data]`
//! section the split was made from, the layout and the row counts. A split written
//! before layouts existed has none and is read as single texts with single labels, as it
//! was written.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use textclf_core::{Dataset, Targets, Task};

use crate::config::DataSpec;
use crate::error::{Result, SweepError};

/// The record of the shared split, in the data folder.
pub const SPLIT_FILE: &str = "split.json";
/// The version of [`SplitRecord`] this build writes (records before it have none: 0).
pub const SPLIT_FORMAT: u32 = 1;
/// The shared files, in the order train, valid, test.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Where each row's answer is in the shared files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum LabelFields {
    /// One field: the class name (single-label) or the target (regression).
    Field(String),
    /// One 0/1 field per label, in the label set's order (multi-label).
    OneHot(Vec<String>),
}

/// How the shared files are laid out, and so how a child reads them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Layout {
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
    pub fn of(d: &Dataset) -> Self {
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
    pub fn row(&self, d: &Dataset, i: usize) -> Result<Map<String, Value>> {
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
                    .ok_or_else(|| {
                        SweepError::Mismatch(format!(
                            "{}: row {} has no finite target",
                            d.name, d.ids[i]
                        ))
                    })?;
                m.insert(f.clone(), Value::Number(x));
            }
            (LabelFields::OneHot(names), Targets::LabelSets(sets)) => {
                for (k, name) in names.iter().enumerate() {
                    m.insert(name.clone(), json!(u8::from(sets[i].contains(&k))));
                }
            }
            _ => {
                return Err(SweepError::Mismatch(format!(
                    "{}: the shared split's layout does not fit {} data",
                    d.name,
                    d.task()
                )))
            }
        }
        Ok(m)
    }

    /// Writes `d` as JSON lines in this layout, atomically.
    pub fn write_jsonl(&self, path: &Path, d: &Dataset) -> Result<()> {
        let mut out = Vec::new();
        for i in 0..d.len() {
            serde_json::to_writer(&mut out, &self.row(d, i)?).map_err(|source| {
                SweepError::Json {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            out.push(b'\n');
        }
        crate::folder::write_atomic(path, &out)
    }

    /// The task the runs of this split have.
    pub fn task(&self) -> Task {
        self.task.unwrap_or(Task::SingleLabel)
    }
}

/// One shared file's size and the data it came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SplitCount {
    pub rows: usize,
    pub source: String,
}

/// `split.json`: what the shared split was made from and how its files are laid out.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SplitRecord {
    /// [`SPLIT_FORMAT`] when written; 0 for a record written before it was versioned.
    #[serde(default)]
    pub format: u32,
    /// The fingerprint of the `[data]` section (its files canonicalised): a sweep file
    /// whose section has another refuses to reuse this folder.
    pub fingerprint: String,
    pub spec: DataSpec,
    /// Absent in records written before layouts existed.
    #[serde(default)]
    pub task: Option<Task>,
    #[serde(default)]
    pub pairs: bool,
    /// The label set's names (the output's name for regression).
    pub labels: Vec<String>,
    /// `None` in records written before layouts existed: see [`SplitRecord::layout`].
    #[serde(default)]
    pub layout: Option<Layout>,
    /// Rows and source of each shared file, by [`SPLITS`] name.
    pub splits: BTreeMap<String, SplitCount>,
    /// What the data preparation did, one line each.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl SplitRecord {
    /// Reads a record; a damaged one, or one of a newer format, is an error that says so.
    pub fn read(path: &Path) -> Result<SplitRecord> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let r: SplitRecord = serde_json::from_str(&text).map_err(|source| SweepError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if r.format > SPLIT_FORMAT {
            return Err(SweepError::Mismatch(format!(
                "{} was written by a newer textclf (split format {}, this one reads up to {SPLIT_FORMAT}): update textclf, or use a new --out folder",
                path.display(),
                r.format
            )));
        }
        Ok(r)
    }

    /// Writes the record atomically (with this build's [`SPLIT_FORMAT`]).
    pub fn write(&self, path: &Path) -> Result<()> {
        let r = SplitRecord {
            format: SPLIT_FORMAT,
            ..self.clone()
        };
        textclf_runs::write_json(path, &r).map_err(crate::folder::runs_err)
    }

    /// How the children read the shared files.
    pub fn layout(&self) -> Layout {
        self.layout.clone().unwrap_or_else(Layout::legacy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DataSpec {
        toml::from_str::<DataSpec>("train = \"/d/train.csv\"\ntest = \"/d/test.csv\"\n").unwrap()
    }

    #[test]
    fn a_record_round_trips_with_its_format() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(SPLIT_FILE);
        let layout = Layout {
            task: Some(Task::MultiLabel),
            id: "id".into(),
            text: "_text".into(),
            pair: Some("text_pair".into()),
            labels: LabelFields::OneHot(vec!["text".into(), "b".into()]),
        };
        let r = SplitRecord {
            format: 0,
            fingerprint: "00ff".into(),
            spec: spec(),
            task: Some(Task::MultiLabel),
            pairs: true,
            labels: vec!["text".into(), "b".into()],
            layout: Some(layout.clone()),
            splits: SPLITS
                .iter()
                .map(|s| {
                    (
                        s.to_string(),
                        SplitCount {
                            rows: 3,
                            source: format!("{s}.csv"),
                        },
                    )
                })
                .collect(),
            notes: vec!["read 9 rows".into()],
        };
        r.write(&path).unwrap();
        let back = SplitRecord::read(&path).unwrap();
        assert_eq!(back.format, SPLIT_FORMAT);
        assert_eq!(
            SplitRecord {
                format: 0,
                ..back.clone()
            },
            r
        );
        assert_eq!(back.layout(), layout);
    }

    #[test]
    fn a_record_written_before_layouts_and_formats_reads_as_then() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(SPLIT_FILE);
        // What a sweep wrote before split.json had a layout (ebdbb40^).
        std::fs::write(
            &path,
            r#"{"fingerprint": "1234", "spec": {"train": "/d/train.csv", "valid": null, "test": "/d/test.csv", "pool": [], "split": null, "per_class": null, "subset_frac": null, "valid_frac": 0.1, "seed": 13, "text_col": null, "label_col": null, "id_col": null}, "labels": ["neg", "pos"], "splits": {"train": {"rows": 8, "source": "train.csv"}}, "notes": []}"#,
        )
        .unwrap();
        let r = SplitRecord::read(&path).unwrap();
        assert_eq!((r.format, r.fingerprint.as_str()), (0, "1234"));
        assert_eq!(r.layout(), Layout::legacy());
        assert_eq!(r.layout().task(), Task::SingleLabel);
    }

    #[test]
    fn a_newer_or_damaged_record_is_refused_with_the_reason() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(SPLIT_FILE);
        std::fs::write(&path, r#"{"format": 99, "fingerprint": "1"}"#).unwrap();
        let e = SplitRecord::read(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        std::fs::write(&path, "{\"fingerprint\": ").unwrap();
        let e = SplitRecord::read(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        // A complete record of a newer format says to update.
        let newer = format!(
            r#"{{"format": {}, "fingerprint": "1", "spec": {{"train": "a", "test": "b"}}, "labels": [], "splits": {{}}}}"#,
            SPLIT_FORMAT + 1
        );
        std::fs::write(&path, newer).unwrap();
        let e = SplitRecord::read(&path).unwrap_err().to_string();
        assert!(e.contains("newer textclf"), "{e}");
    }
}
