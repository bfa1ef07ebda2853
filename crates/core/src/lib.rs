//! Shared types of textclf, used by every other crate.
//!
//! The data flow of the project is *data → features/tokens → model → metrics → report*.
//! This crate holds the plain types that travel along it and nothing heavy:
//!
//! * [`LabelSet`]: the stable mapping between class ids (`0..k`) and class names.
//! * [`Task`] and [`Targets`]: single-label classes, multi-label label sets, or regression
//!   scores.
//! * [`Dataset`]: labelled texts (or text pairs) with their row ids and [`Targets`].
//! * [`Predictions`]: an `n × k` matrix of class probabilities (row-stochastic).
//! * [`Choices`]: how an enum's values are chosen by name (the flags and sweep values of
//!   settings such as `--truncation`), declared beside the enum that owns the setting.
//! * [`Model`]: the task-aware interface every fitted model implements — linear
//!   baselines and transformers, for single texts or text pairs, single-label,
//!   multi-label or regression — reading [`Inputs`] and giving [`Outputs`], so evaluation,
//!   run records, `predict`, ensembles and the Python API never care which family or task
//!   they were given.
//! * [`Classifier`]: the narrower single-label, single-text interface (class
//!   probabilities of texts).
//! * [`null_as_nan`]: reads a record's `null` (how JSON writes NaN) back as NaN.
//! * [`atomic`]: files that appear whole (temporary file, flush, rename), the one way
//!   every crate writes records, models and predictions.
//!
//! ```
//! use textclf_core::{LabelSet, Predictions};
//! let labels = LabelSet::from_raw(["pos", "neg", "pos"]);
//! assert_eq!(labels.names(), ["neg", "pos"]);
//! let p = Predictions::new(2, vec![0.9, 0.1, 0.2, 0.8]).unwrap();
//! assert_eq!(p.argmax(), vec![0, 1]);
//! ```

pub mod atomic;
mod choices;
mod classifier;
mod dataset;
mod error;
mod labels;
mod model;
mod nan;
mod predictions;
pub mod similar;
mod task;

pub use choices::Choices;
pub use classifier::Classifier;
pub use dataset::Dataset;
pub use error::{Error, Result};
pub use labels::LabelSet;
pub use model::{check_inputs, input_refusal, shape_name, Inputs, Model, Outputs};
pub use nan::null_as_nan;
pub use predictions::Predictions;
pub use task::{Targets, Task};
