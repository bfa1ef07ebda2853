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
/// Stratified as the data's splits are: by class, by label sets (iterative
/// stratification) or by target decile.
pub fn holdout_valid(train: &Dataset, frac: f64, seed: u64) -> (Dataset, Dataset) {
    let parts = textclf_data::split_targets(
        &train.targets,
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
