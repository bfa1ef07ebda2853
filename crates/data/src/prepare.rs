//! From files on disk to train/valid/test [`Dataset`]s.

use std::path::{Path, PathBuf};

use textclf_core::{Dataset, LabelSet, Targets, Task};

use crate::read::{read_table, RawTable, ReadOptions};
use crate::split::{
    iterative_split, iterative_subset, per_class_cap, per_label_cap, stratified_split,
    stratified_subset, target_bins, TARGET_BINS,
};
use crate::targets::{infer_task, label_set_for, targets_for, TargetOptions};
use crate::DataError;

/// Where the labelled data comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Separate files for each split (as the official IMDb train/test split).
    Files {
        train: PathBuf,
        valid: Option<PathBuf>,
        test: PathBuf,
    },
    /// One or more files, concatenated in order, then split with `fractions`
    /// (train/valid/test; a valid fraction of 0 gives no validation split).
    Pool {
        files: Vec<PathBuf>,
        fractions: [f64; 3],
    },
}

impl Source {
    /// The default train/valid/test fractions of a pool: 80/10/10.
    pub const DEFAULT_FRACTIONS: [f64; 3] = [0.8, 0.1, 0.1];

    /// A pool of `files` split 80/10/10.
    pub fn pool(files: Vec<PathBuf>) -> Self {
        Source::Pool {
            files,
            fractions: Self::DEFAULT_FRACTIONS,
        }
    }
}

/// How to read and reduce the data.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    /// Format and columns. Labels are always required here, whatever `require_label` says.
    pub read: ReadOptions,
    /// Seed of every random choice (splits, subsets, caps).
    pub seed: u64,
    /// Keep this share of every class (stratified), in `(0, 1]`.
    pub subset_frac: Option<f64>,
    /// Keep at most this many rows per class, at least 1. Multi-label: see
    /// [`crate::split::per_label_cap`]; regression: per quantile bin of the target
    /// ([`crate::split::TARGET_BINS`] bins).
    pub per_class: Option<usize>,
    /// The task and the multi-label separator.
    pub targets: TargetOptions,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        Self {
            read: ReadOptions::labelled(),
            seed: 42,
            subset_frac: None,
            per_class: None,
            targets: TargetOptions::default(),
        }
    }
}

/// The prepared splits, sharing one label set.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub valid: Option<Dataset>,
    pub test: Dataset,
    pub label_set: LabelSet,
    /// What was done, one human-readable line each (rows read, subsets, caps, split sizes).
    pub notes: Vec<String>,
}

/// Reads `source` and produces train/valid/test datasets.
///
/// * **Pool**: all files are concatenated; `per_class` then `subset_frac` reduce the pool
///   (both stratified), and [`stratified_split`] divides it with the given fractions (the
///   split uses `opts.seed` directly).
/// * **Files**: each file is one split; `per_class` and `subset_frac` apply to train only,
///   so the test set stays whole and results stay comparable.
///
/// The label set comes from the training labels (for a pool: all its labels). A label of
/// valid/test that never occurs in train, or a class with a single example, is an error.
pub fn prepare(source: &Source, opts: &PrepareOptions) -> Result<Splits, DataError> {
    validate_options(opts)?;
    let read = ReadOptions {
        require_label: true,
        ..opts.read.clone()
    };
    match source {
        Source::Pool { files, fractions } => prepare_pool(files, *fractions, &read, opts),
        Source::Files { train, valid, test } => {
            prepare_files(train, valid.as_deref(), test, &read, opts)
        }
    }
}

fn validate_options(opts: &PrepareOptions) -> Result<(), DataError> {
    if let Some(f) = opts.subset_frac {
        if !(f > 0.0 && f <= 1.0) {
            return Err(DataError::InvalidOption(format!(
                "--subset-frac must be in (0, 1], e.g. 0.25 to keep a quarter of each class; \
                 got {f}"
            )));
        }
    }
    if opts.per_class == Some(0) {
        return Err(DataError::InvalidOption(
            "--per-class must be at least 1 (the most rows kept per class)".into(),
        ));
    }
    Ok(())
}

fn validate_fractions(fr: [f64; 3]) -> Result<(), DataError> {
    let shown = format!("{}/{}/{}", fr[0], fr[1], fr[2]);
    if fr.iter().any(|f| !(0.0..=1.0).contains(f)) {
        return Err(DataError::InvalidOption(format!(
            "split fractions must each be between 0 and 1; got train/valid/test = {shown}"
        )));
    }
    let sum: f64 = fr.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(DataError::InvalidOption(format!(
            "split fractions must sum to 1; got train/valid/test = {shown} (sum {sum})"
        )));
    }
    if fr[0] <= 0.0 || fr[2] <= 0.0 {
        return Err(DataError::InvalidOption(format!(
            "the train and test fractions must be above 0; got train/valid/test = {shown}"
        )));
    }
    Ok(())
}

/// `imdb/train.csv` for `/srv/datasets/imdb/train.csv`: the last two path components.
pub(crate) fn short_name(path: &Path) -> String {
    let comps: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    match comps.len() {
        0 => path.display().to_string(),
        1 => comps[0].clone(),
        n => format!("{}/{}", comps[n - 2], comps[n - 1]),
    }
}

fn pct(f: f64) -> String {
    let p = f * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}%", p.round() as i64)
    } else {
        format!("{p:.1}%")
    }
}

fn read_labelled(path: &Path, read: &ReadOptions) -> Result<(RawTable, Vec<String>), DataError> {
    let mut table = read_table(path, read)?;
    let Some(labels) = table.labels.take() else {
        // `require_label` makes the reader fail first; this is only a safety net.
        return Err(DataError::MissingColumn {
            path: path.to_path_buf(),
            message: "no labels found; pass --label-col NAME".into(),
        });
    };
    Ok((table, labels))
}

/// Fails when a class of single-label `data` has exactly one example.
fn check_singletons(data: &Dataset, what: &str) -> Result<(), DataError> {
    let Some(labels) = data.targets.classes() else {
        return Ok(());
    };
    let counts = data.class_counts();
    if let Some(c) = counts.iter().position(|&n| n == 1) {
        let row = labels
            .iter()
            .position(|&l| l == c)
            .map(|i| data.ids[i].clone())
            .unwrap_or_default();
        return Err(DataError::TooFewExamples {
            source_desc: what.to_string(),
            label: data.label_set.name(c).to_string(),
            count: 1,
            row,
        });
    }
    Ok(())
}

/// How splits and subsets of `task` are stratified, for the notes: "per class" etc.
fn unit(task: Task) -> &'static str {
    match task {
        Task::SingleLabel => "per class",
        Task::MultiLabel => "per label",
        Task::Regression => "per target decile",
    }
}

/// Row indices of `t` split into parts with `fracs`: stratified by class, by label sets
/// (iterative stratification) or by the decile of the target; `k` classes or labels.
pub fn split_targets(t: &Targets, k: usize, fracs: &[f64], seed: u64) -> Vec<Vec<usize>> {
    match t {
        Targets::Classes(v) => stratified_split(v, k, fracs, seed),
        Targets::LabelSets(sets) => iterative_split(sets, k, fracs, seed),
        Targets::Scores(v) => {
            stratified_split(&target_bins(v, TARGET_BINS), TARGET_BINS, fracs, seed)
        }
    }
}

/// `--per-class` on `t`: at most `cap` rows per class, per label (rarest first) or per
/// target decile. Ascending indices.
fn cap_targets(t: &Targets, k: usize, cap: usize, seed: u64) -> Vec<usize> {
    match t {
        Targets::Classes(v) => per_class_cap(v, k, cap, seed),
        Targets::LabelSets(sets) => per_label_cap(sets, k, cap, seed),
        Targets::Scores(v) => per_class_cap(&target_bins(v, TARGET_BINS), TARGET_BINS, cap, seed),
    }
}

/// `--subset-frac` on `t`, stratified as [`split_targets`]. Ascending indices.
fn subset_targets(t: &Targets, k: usize, frac: f64, seed: u64) -> Vec<usize> {
    match t {
        Targets::Classes(v) => stratified_subset(v, k, frac, seed),
        Targets::LabelSets(sets) => iterative_subset(sets, k, frac, seed),
        Targets::Scores(v) => {
            stratified_subset(&target_bins(v, TARGET_BINS), TARGET_BINS, frac, seed)
        }
    }
}

/// Applies the per-class cap, then the stratified subset, to `data`. Returns the kept rows.
fn reduce(
    data: &Dataset,
    opts: &PrepareOptions,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<usize>>, DataError> {
    if opts.per_class.is_none() && opts.subset_frac.is_none() {
        return Ok(None);
    }
    let k = data.label_set.len();
    let mut idx: Vec<usize> = (0..data.len()).collect();
    let unit = unit(data.task());
    if let Some(cap) = opts.per_class {
        let keep = cap_targets(&data.targets, k, cap, opts.seed ^ 0x5EED_CA95);
        notes.push(format!(
            "kept {} of {} (at most {cap} {unit})",
            keep.len(),
            idx.len()
        ));
        idx = keep;
    }
    if let Some(frac) = opts.subset_frac.filter(|&f| f < 1.0) {
        let part = data.targets.select(&idx);
        let keep = subset_targets(&part, k, frac, opts.seed ^ 0x5EED_5B5E);
        let how = match data.task() {
            Task::SingleLabel => "stratified",
            Task::MultiLabel => "stratified by labels",
            Task::Regression => "stratified by target decile",
        };
        notes.push(format!(
            "kept {} of {} ({how}, frac {frac})",
            keep.len(),
            idx.len()
        ));
        idx = keep.into_iter().map(|j| idx[j]).collect();
    }
    if data.task() != Task::Regression {
        let before = data.class_counts();
        let counts = data.targets.select(&idx).counts(k);
        if let Some(c) = (0..k).find(|&c| counts[c] == 0 && before[c] > 0) {
            let what = if data.task() == Task::MultiLabel {
                "label"
            } else {
                "class"
            };
            return Err(DataError::InvalidOption(format!(
                "{}: after --per-class/--subset-frac no example of {what} '{}' is left; use a \
                 larger --subset-frac or --per-class",
                data.name,
                data.label_set.name(c)
            )));
        }
    }
    if idx.is_empty() {
        return Err(DataError::InvalidOption(format!(
            "{}: --per-class/--subset-frac keep no rows; use larger values",
            data.name
        )));
    }
    Ok(Some(idx))
}

/// The task of the training labels, noted; and the label set it gives.
fn task_and_labels(
    table: &RawTable,
    labels: &[String],
    opts: &PrepareOptions,
    notes: &mut Vec<String>,
) -> Result<(Task, LabelSet), DataError> {
    let guess = infer_task(labels, &opts.targets);
    notes.push(format!("task: {} ({})", guess.task, guess.reason));
    let set = label_set_for(
        guess.task,
        labels,
        &opts.targets,
        opts.read.label_cols.as_deref(),
        table.label_col.as_deref().unwrap_or("label"),
    )?;
    Ok((guess.task, set))
}

/// Fails when `table` does (or does not) hold pairs while the training data does not (does).
fn check_pair_shape(table: &RawTable, train: &RawTable) -> Result<(), DataError> {
    match (&train.pair_col, &table.pair_col) {
        (Some(p), None) => Err(DataError::InvalidOption(format!(
            "{}: the training data holds text pairs ('{}' + '{p}') but this file has one text \
             column ('{}'); give it the same columns, or pass --text-pair-col",
            table.source.display(),
            train.text_col,
            table.text_col
        ))),
        (None, Some(p)) => Err(DataError::InvalidOption(format!(
            "{}: this file holds text pairs ('{}' + '{p}') but the training data has one text \
             column ('{}'); give them the same columns, or pass --text-col to use one",
            table.source.display(),
            table.text_col,
            train.text_col
        ))),
        _ => Ok(()),
    }
}

fn prepare_pool(
    files: &[PathBuf],
    fractions: [f64; 3],
    read: &ReadOptions,
    opts: &PrepareOptions,
) -> Result<Splits, DataError> {
    if files.is_empty() {
        return Err(DataError::InvalidOption(
            "a pool needs at least one data file".into(),
        ));
    }
    validate_fractions(fractions)?;
    let mut notes = Vec::new();
    let mut tables = Vec::new();
    for path in files {
        let (table, labels) = read_labelled(path, read)?;
        if let Some((first, _)) = tables.first() {
            check_pair_shape(&table, first)?;
        }
        notes.extend(table.notes.iter().cloned());
        tables.push((table, labels));
    }
    let raw_labels: Vec<String> = tables.iter().flat_map(|(_, l)| l.iter().cloned()).collect();
    let (task, label_set) = task_and_labels(&tables[0].0, &raw_labels, opts, &mut notes)?;
    let desc = files
        .iter()
        .map(|p| short_name(p))
        .collect::<Vec<_>>()
        .join("+");
    let mut ids = Vec::new();
    let mut texts = Vec::new();
    let mut pairs: Option<Vec<String>> = tables[0].0.pairs.as_ref().map(|_| Vec::new());
    let mut targets: Option<Targets> = None;
    for (table, labels) in tables {
        let t = targets_for(task, &table, &labels, &label_set, &opts.targets, &files[0])?;
        match targets.as_mut() {
            None => targets = Some(t),
            Some(all) => all.extend(t)?,
        }
        ids.extend(table.ids);
        texts.extend(table.texts);
        if let (Some(all), Some(p)) = (pairs.as_mut(), table.pairs) {
            all.extend(p);
        }
    }
    let pool = Dataset::with_targets(
        format!("pool ({desc})"),
        ids,
        texts,
        pairs,
        targets.unwrap_or(Targets::Classes(Vec::new())),
        label_set.clone(),
    )?;
    let shape = match task {
        Task::SingleLabel => format!("{} classes", label_set.len()),
        Task::MultiLabel => format!("{} labels", label_set.len()),
        Task::Regression => "one target".to_string(),
    };
    notes.push(format!(
        "pool of {} rows from {} file(s), {shape}",
        pool.len(),
        files.len(),
    ));
    check_singletons(&pool, &format!("pool {desc}"))?;
    let pool = match reduce(&pool, opts, &mut notes)? {
        Some(idx) => pool.select(&idx, pool.name.clone()),
        None => pool,
    };
    let parts = split_targets(&pool.targets, label_set.len(), &fractions, opts.seed);
    let name = |i: usize, what: &str| format!("{what} ({} of {desc})", pct(fractions[i]));
    let train = pool.select(&parts[0], name(0, "train"));
    let valid = (fractions[1] > 0.0).then(|| pool.select(&parts[1], name(1, "valid")));
    let test = pool.select(&parts[2], name(2, "test"));
    let how = match task {
        Task::SingleLabel => "stratified",
        Task::MultiLabel => "iterative stratification by labels",
        Task::Regression => "stratified by target decile",
    };
    notes.push(format!(
        "split {} rows {}/{}/{} ({how}, seed {}): train {}, valid {}, test {}",
        pool.len(),
        pct(fractions[0]).trim_end_matches('%'),
        pct(fractions[1]).trim_end_matches('%'),
        pct(fractions[2]).trim_end_matches('%'),
        opts.seed,
        train.len(),
        valid.as_ref().map_or(0, Dataset::len),
        test.len()
    ));
    Ok(Splits {
        train,
        valid,
        test,
        label_set,
        notes,
    })
}

fn prepare_files(
    train_path: &Path,
    valid_path: Option<&Path>,
    test_path: &Path,
    read: &ReadOptions,
    opts: &PrepareOptions,
) -> Result<Splits, DataError> {
    let mut notes = Vec::new();
    let (train_table, train_raw) = read_labelled(train_path, read)?;
    notes.extend(train_table.notes.iter().cloned());
    let (task, label_set) = task_and_labels(&train_table, &train_raw, opts, &mut notes)?;
    let train_targets = targets_for(
        task,
        &train_table,
        &train_raw,
        &label_set,
        &opts.targets,
        train_path,
    )?;
    let train_name = short_name(train_path);
    let train = Dataset::with_targets(
        train_name.clone(),
        train_table.ids.clone(),
        train_table.texts.clone(),
        train_table.pairs.clone(),
        train_targets,
        label_set.clone(),
    )?;
    check_singletons(&train, &format!("training data {}", train_path.display()))?;

    let mut load = |path: &Path| -> Result<Dataset, DataError> {
        let (table, raw) = read_labelled(path, read)?;
        check_pair_shape(&table, &train_table)?;
        notes.extend(table.notes.iter().cloned());
        let targets = targets_for(task, &table, &raw, &label_set, &opts.targets, train_path)?;
        Ok(Dataset::with_targets(
            short_name(path),
            table.ids,
            table.texts,
            table.pairs,
            targets,
            label_set.clone(),
        )?)
    };
    let valid = valid_path.map(&mut load).transpose()?;
    let test = load(test_path)?;

    let train = match reduce(&train, opts, &mut notes)? {
        Some(idx) => {
            let unit = unit(task);
            let mut what = Vec::new();
            if let Some(cap) = opts.per_class {
                what.push(format!("at most {cap} {unit}"));
            }
            if let Some(f) = opts.subset_frac.filter(|&f| f < 1.0) {
                what.push(format!("stratified {} subset", pct(f)));
            }
            notes.push(
                "--subset-frac/--per-class apply to train only; valid and test are kept whole \
                 so results stay comparable"
                    .into(),
            );
            train.select(&idx, format!("{train_name} ({})", what.join(", ")))
        }
        None => train,
    };
    Ok(Splits {
        train,
        valid,
        test,
        label_set,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    fn csv_rows(rows: &[(&str, &str)]) -> String {
        let mut s = String::from("text,label\n");
        for (t, l) in rows {
            s.push_str(&format!("{t},{l}\n"));
        }
        s
    }

    fn balanced(n: usize, labels: &[&str]) -> String {
        let mut s = String::from("text,label\n");
        for i in 0..n {
            s.push_str(&format!("text number {i},{}\n", labels[i % labels.len()]));
        }
        s
    }

    #[test]
    fn pool_split_80_10_10() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.csv", &balanced(60, &["pos", "neg"]));
        let b = write(dir.path(), "b.csv", &balanced(40, &["pos", "neg"]));
        let s = prepare(&Source::pool(vec![a, b]), &PrepareOptions::default()).unwrap();
        assert_eq!(s.train.len(), 80);
        assert_eq!(s.valid.as_ref().unwrap().len(), 10);
        assert_eq!(s.test.len(), 10);
        assert_eq!(s.label_set.names(), ["neg", "pos"]);
        assert_eq!(s.train.class_counts(), vec![40, 40]);
        assert!(
            s.train.name.starts_with("train (80% of "),
            "{}",
            s.train.name
        );
        assert!(s.train.name.contains("a.csv+"), "{}", s.train.name);
        // ids are traceable and unique across files.
        let mut ids: Vec<&String> = s
            .train
            .ids
            .iter()
            .chain(&s.valid.as_ref().unwrap().ids)
            .chain(&s.test.ids)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 100);
        // Deterministic.
        let again = prepare(
            &Source::pool(vec![dir.path().join("a.csv"), dir.path().join("b.csv")]),
            &PrepareOptions::default(),
        )
        .unwrap();
        assert_eq!(again.train.ids, s.train.ids);
    }

    #[test]
    fn pool_without_valid_and_with_subset() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.csv", &balanced(200, &["x", "y"]));
        let opts = PrepareOptions {
            subset_frac: Some(0.5),
            ..PrepareOptions::default()
        };
        let src = Source::Pool {
            files: vec![a],
            fractions: [0.9, 0.0, 0.1],
        };
        let s = prepare(&src, &opts).unwrap();
        assert!(s.valid.is_none());
        assert_eq!(s.train.len() + s.test.len(), 100);
        assert!(
            s.notes.iter().any(|n| n.contains("kept 100 of 200")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn files_subset_and_cap_apply_to_train_only() {
        let dir = tempfile::tempdir().unwrap();
        let tr = write(dir.path(), "train.csv", &balanced(100, &["0", "1"]));
        let te = write(dir.path(), "test.csv", &balanced(30, &["1", "0"]));
        let opts = PrepareOptions {
            per_class: Some(40),
            subset_frac: Some(0.5),
            ..PrepareOptions::default()
        };
        let s = prepare(
            &Source::Files {
                train: tr,
                valid: None,
                test: te,
            },
            &opts,
        )
        .unwrap();
        assert_eq!(s.train.class_counts(), vec![20, 20]);
        assert_eq!(s.test.len(), 30);
        assert!(s.notes.iter().any(|n| n.contains("train only")));
        assert!(s.notes.iter().any(|n| n.contains("kept 80 of 100")));
        assert!(s.notes.iter().any(|n| n.contains("kept 40 of 80")));
    }

    #[test]
    fn label_only_in_test_is_an_error_naming_label_file_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let tr = write(dir.path(), "train.csv", &balanced(10, &["pos", "neg"]));
        let te = write(
            dir.path(),
            "test.csv",
            &csv_rows(&[("fine", "pos"), ("meh", "neutral"), ("bad", "neg")]),
        );
        let err = prepare(
            &Source::Files {
                train: tr,
                valid: None,
                test: te,
            },
            &PrepareOptions::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::UnseenLabel { .. }));
        assert!(msg.contains("'neutral'"), "{msg}");
        assert!(msg.contains("test.csv"), "{msg}");
        assert!(msg.contains("test.csv:2"), "{msg}");
        assert!(msg.contains("train.csv"), "{msg}");
    }

    #[test]
    fn label_only_in_valid_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let tr = write(dir.path(), "train.csv", &balanced(10, &["pos", "neg"]));
        let va = write(dir.path(), "valid.csv", &csv_rows(&[("?", "other")]));
        let te = write(dir.path(), "test.csv", &balanced(4, &["pos", "neg"]));
        let err = prepare(
            &Source::Files {
                train: tr,
                valid: Some(va),
                test: te,
            },
            &PrepareOptions::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("valid.csv") && msg.contains("'other'"),
            "{msg}"
        );
    }

    #[test]
    fn single_example_class_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = balanced(10, &["pos", "neg"]);
        body.push_str("lonely,neutral\n");
        let tr = write(dir.path(), "train.csv", &body);
        let te = write(dir.path(), "test.csv", &balanced(4, &["pos", "neg"]));
        let err = prepare(
            &Source::Files {
                train: tr.clone(),
                valid: None,
                test: te,
            },
            &PrepareOptions::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::TooFewExamples { .. }));
        assert!(
            msg.contains("'neutral'") && msg.contains("train.csv:11"),
            "{msg}"
        );
        assert!(msg.contains("add more examples"), "{msg}");
        // Also in a pool.
        let err = prepare(&Source::pool(vec![tr]), &PrepareOptions::default()).unwrap_err();
        assert!(err.to_string().contains("'neutral'"), "{err}");
    }

    #[test]
    fn invalid_options_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.csv", &balanced(20, &["x", "y"]));
        let bad_fracs = [
            [0.8, 0.1, 0.2],
            [1.2, -0.1, -0.1],
            [0.0, 0.5, 0.5],
            [0.9, 0.1, 0.0],
            [f64::NAN, 0.5, 0.5],
        ];
        for fr in bad_fracs {
            let src = Source::Pool {
                files: vec![a.clone()],
                fractions: fr,
            };
            let err = prepare(&src, &PrepareOptions::default()).unwrap_err();
            assert!(matches!(err, DataError::InvalidOption(_)), "{fr:?}: {err}");
        }
        for frac in [0.0, -0.5, 1.5, f64::NAN] {
            let opts = PrepareOptions {
                subset_frac: Some(frac),
                ..PrepareOptions::default()
            };
            let err = prepare(&Source::pool(vec![a.clone()]), &opts).unwrap_err();
            assert!(err.to_string().contains("--subset-frac"), "{err}");
        }
        let opts = PrepareOptions {
            per_class: Some(0),
            ..PrepareOptions::default()
        };
        assert!(prepare(&Source::pool(vec![a.clone()]), &opts).is_err());
        assert!(prepare(&Source::pool(vec![]), &PrepareOptions::default()).is_err());
    }

    #[test]
    fn short_names_and_percentages() {
        assert_eq!(
            short_name(Path::new("/srv/datasets/imdb/train.csv")),
            "imdb/train.csv"
        );
        assert_eq!(short_name(Path::new("train.csv")), "train.csv");
        assert_eq!(pct(0.8), "80%");
        assert_eq!(pct(0.125), "12.5%");
    }

    #[test]
    fn pairs_are_detected_and_must_match_between_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut pair = String::from("premise,hypothesis,label\n");
        let mut single = String::from("text,label\n");
        for i in 0..20 {
            let l = if i % 2 == 0 { "yes" } else { "no" };
            pair.push_str(&format!("p {i},h {i},{l}\n"));
            single.push_str(&format!("t {i},{l}\n"));
        }
        let a = write(dir.path(), "a.csv", &pair);
        let b = write(dir.path(), "b.csv", &single);
        let s = prepare(
            &Source::Files {
                train: a.clone(),
                valid: None,
                test: a.clone(),
            },
            &PrepareOptions::default(),
        )
        .unwrap();
        assert_eq!(s.train.pairs.as_ref().unwrap()[0], "h 0");
        assert_eq!(s.train.texts[0], "p 0");
        let err = prepare(
            &Source::Files {
                train: a,
                valid: None,
                test: b,
            },
            &PrepareOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("holds text pairs") && err.contains("b.csv"),
            "{err}"
        );
    }

    #[test]
    fn regression_targets_must_be_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.csv", "text,score\nx,1.5\ny,2.25\nz,0\nw,3\n");
        let b = write(dir.path(), "b.csv", "text,score\nx,1.5\ny,high\n");
        let s = prepare(
            &Source::Files {
                train: a.clone(),
                valid: None,
                test: a.clone(),
            },
            &PrepareOptions::default(),
        )
        .unwrap();
        assert_eq!(s.train.targets.scores().unwrap(), [1.5, 2.25, 0.0, 3.0]);
        let err = prepare(
            &Source::Files {
                train: a,
                valid: None,
                test: b,
            },
            &PrepareOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("b.csv: row b.csv:2") && err.contains("'high'"),
            "{err}"
        );
    }

    #[test]
    fn multilabel_labels_unseen_in_train_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.csv",
            "text,labels\nx,joy|love\ny,anger\nz,joy\n",
        );
        let b = write(dir.path(), "b.csv", "text,labels\nx,joy|fear\n");
        let err = prepare(
            &Source::Files {
                train: a,
                valid: None,
                test: b,
            },
            &PrepareOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("label 'fear'") && err.contains("b.csv:1"),
            "{err}"
        );
    }
}
