//! Preparing an experiment's data: read, subset and split as its [`DataSpec`] says, with
//! the data check's notes and warnings.

use textclf_core::Dataset;
use textclf_data::{prepare, PrepareOptions, Source, Splits};

use crate::error::{ExperimentError, Result, Step};
use crate::observer::Observer;
use crate::spec::{DataSource, DataSpec};

/// Reads and splits the data `d` describes.
pub fn prepare_splits(d: &DataSpec, obs: &dyn Observer) -> Result<Splits> {
    let source = match &d.source {
        DataSource::Files { train, valid, test } => Source::Files {
            train: train.clone(),
            valid: valid.clone(),
            test: test.clone(),
        },
        DataSource::Pool { files, fractions } => Source::Pool {
            files: files.clone(),
            fractions: *fractions,
        },
        DataSource::Test { file } => {
            return Err(ExperimentError::Invalid(format!(
                "fitting a model needs train and test data (files or a pool), not only {}",
                file.display()
            )))
        }
    };
    let opts = PrepareOptions {
        read: d.columns.read_options(true),
        seed: d.seed,
        subset_frac: d.subset_frac,
        per_class: d.per_class,
        targets: d.columns.target_options(),
    };
    let splits = prepare(&source, &opts).step("cannot prepare the data")?;
    for n in &splits.notes {
        obs.note(n);
    }
    for w in textclf_data::check_splits(&splits)? {
        obs.warn(&w);
    }
    Ok(splits)
}

/// Splits a stratified share `frac` of `train` off for validation: (rest, held out).
pub fn holdout_valid(train: &Dataset, frac: f64, seed: u64) -> (Dataset, Dataset) {
    let parts = textclf_data::stratified_split(
        train.labels().unwrap_or_default(),
        train.label_set.len(),
        &[1.0 - frac, frac],
        seed,
    );
    let name = &train.name;
    let pct = |f: f64| format!("{:.0} %", 100.0 * f);
    (
        train.select(&parts[0], format!("{name} ({})", pct(1.0 - frac))),
        train.select(
            &parts[1],
            format!("{name} ({} held out for validation)", pct(frac)),
        ),
    )
}

/// Refuses data of a shape `what` cannot handle yet: sentence pairs, multi-label or
/// regression. Nothing is dropped silently: a pair's second text is never ignored.
pub fn require_single_text_single_label(splits: &Splits, what: &str) -> Result<()> {
    let task = splits.train.task();
    if task != textclf_core::Task::SingleLabel {
        return Err(crate::ExperimentError::Invalid(format!(
            "{what} handles single-label data only so far, and this data is {task} (see the \
             'task:' note above); pass --task single-label if each label is one class"
        )));
    }
    if splits.train.pairs.is_some() {
        return Err(crate::ExperimentError::Invalid(format!(
            "{what} handles single texts only so far, and this data holds text pairs (see the \
             'second text column' note above); pass --text-col NAME to use one column"
        )));
    }
    Ok(())
}
