//! TF-IDF features and sparse linear classifiers — the strong, fast baselines every
//! transformer run is compared against.
//!
//! * [`analyzer`]: text normalisation (HTML stripping, lower-casing), word+punctuation
//!   tokens, hashed word and character n-grams.
//! * [`tfidf`]: vocabulary with `min_df`/`max_df`/`max_features`, smoothed IDF,
//!   sublinear TF, L2 normalisation; parallel over documents.
//! * [`solver`]: dual coordinate descent for L2-loss SVM and logistic regression (the
//!   algorithms LIBLINEAR uses), L-BFGS for multinomial logistic regression, Platt scaling.
//! * [`model`]: [`LinearParams`] → [`fit`] → [`LinearClassifier`], which implements the
//!   shared [`textclf_core::Classifier`] interface and saves to / loads from a folder.
//! * Other shapes of problem, over single texts or text pairs ([`features`]):
//!   [`pairs`] (pair features, documented there, and the TF-IDF cosine baseline),
//!   [`pair_classifier`] (single-label pairs), [`multilabel`] (one-vs-rest with per-label
//!   thresholds) and [`regression`] (ridge and linear SVR).
//! * Every fitted model implements the shared task-aware [`textclf_core::Model`];
//!   [`load_any`] loads whichever kind a saved folder holds.
//! * What a run records of a fitted baseline ([`RecordedParams`], [`RecordedFit`]), by
//!   the [`Shape`] its kind names.
//!
//! We implement the solvers ourselves rather than bind LIBLINEAR: the algorithms are
//! short, a pure-Rust build needs no C toolchain, and working on our own CSR matrix
//! avoids copying 10⁷ non-zeros into another library's format.
//!
//! ```
//! use textclf_core::{Classifier, Dataset, LabelSet};
//! use textclf_linear::{fit, LinearKind, LinearParams};
//! let labels = LabelSet::from_raw(["neg", "pos"]);
//! let texts: Vec<String> = ["great fun", "great film", "dull plot", "dull, boring"]
//!     .iter().map(|s| s.to_string()).collect();
//! let train = Dataset::new("toy", vec!["0".into(), "1".into(), "2".into(), "3".into()],
//!     texts, vec![1, 1, 0, 0], labels).unwrap();
//! let mut params = LinearParams::new(LinearKind::Lr);
//! params.c = Some(10.0);
//! params.features.min_df = 1;
//! let (model, _report) = fit(&params, &train, None).unwrap();
//! assert_eq!(model.predict(&["great"]).unwrap(), vec![1]);
//! ```

pub mod analyzer;
mod error;
pub mod features;
mod fitted;
mod io;
pub mod model;
pub mod multilabel;
pub mod pair_classifier;
pub mod pairs;
mod record;
pub mod regression;
mod select;
pub mod solver;
pub mod sparse;
mod store;
pub mod tfidf;

pub use analyzer::{AnalyzerParams, TokenMode};
pub use error::{LinearError, Result};
pub use features::{FeatureParams, Featurizer, TextInput};
pub use fitted::{load_any, REGRESSION_OUTPUT};
pub use model::{
    fit, fit_with_progress, ClassWeights, FitProgress, FitReport, FitStep, GridExtension,
    LinearClassifier, LinearKind, LinearParams,
};
pub use multilabel::{
    fit_multilabel, MultiLabelClassifier, MultiLabelParams, MultiLabelReport, MultiLabelSet,
};
pub use pair_classifier::{fit_pairs, PairClassifier, PairClassifierParams, PairLabelSet};
pub use pairs::{PairCosine, PairParams, PairVectorizer};
pub use record::{RecordedFit, RecordedParams, Shape};
pub use regression::{
    fit_regression, Criterion, LinearRegressor, RegressionKind, RegressionParams, RegressionReport,
    RegressionSet,
};
pub use tfidf::{Tfidf, TfidfParams};
