//! The split a sweep shares between its runs, made once into `<out>/data/` (the layout
//! of its files and `split.json` are owned by [`textclf_sweep::split`]), and how a child
//! reads it back: as the experiment's columns, or as the flags recorded for people to
//! rerun a run.

use anyhow::{bail, Context};
use textclf_core::Choices;
use textclf_data::Format;
use textclf_experiment::{Columns, DataSource};
use textclf_sweep::folder::SweepFolder;
use textclf_sweep::split::{LabelFields, SplitCount, SPLITS, SPLIT_FILE};
use textclf_sweep::{Layout, SplitRecord, SweepConfig};

use crate::ui::Ui;

/// How the children read a layout's shared files, and the flags recorded for people.
pub(super) trait LayoutColumns {
    fn columns(&self) -> Columns;
    fn flags(&self, folder: &SweepFolder) -> Vec<String>;
}

impl LayoutColumns for Layout {
    /// How a child reads the shared files, as the experiment's columns.
    fn columns(&self) -> Columns {
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
    fn flags(&self, folder: &SweepFolder) -> Vec<String> {
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
}

/// 64-bit FNV-1a: a stable fingerprint (std's hashers may change between Rust versions).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
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
    let marker = dir.join(SPLIT_FILE);
    if marker.is_file() {
        let old = SplitRecord::read(&marker)
            .with_context(|| format!("{} is damaged", marker.display()))?;
        if old.fingerprint != fp {
            bail!(
                "{} holds the split of another [data] section; use a new --out folder (or restore the old [data] section)",
                folder.root.display()
            );
        }
        ui.note(&format!("reusing the split in {}", dir.display()));
        return Ok((fp, old.layout()));
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
        valid_frac: spec.valid_frac,
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
        layout.write_jsonl(&dir.join(format!("{name}.jsonl")), d)?;
    }
    SplitRecord {
        format: textclf_sweep::split::SPLIT_FORMAT,
        fingerprint: fp.clone(),
        spec,
        task: Some(layout.task()),
        pairs: layout.pair.is_some(),
        labels: train.label_set.names().to_vec(),
        layout: Some(layout.clone()),
        splits: SPLITS
            .iter()
            .zip(sets)
            .map(|(n, d)| {
                let count = SplitCount {
                    rows: d.len(),
                    source: d.name.clone(),
                };
                (n.to_string(), count)
            })
            .collect(),
        notes: splits.notes,
    }
    .write(&marker)?;
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
    use textclf_core::{Dataset, LabelSet, Targets, Task};

    fn read_back(d: &Dataset, layout: &Layout) -> Dataset {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("train.jsonl");
        layout.write_jsonl(&path, d).unwrap();
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
            valid_frac: textclf_experiment::default_valid_frac(),
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
