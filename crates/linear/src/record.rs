//! What a baseline's run records of its model, in this crate's own types: its settings
//! (`model.params` of `metrics.json`) and how it was fitted (`model.fit`). The run-folder
//! crate (`textclf-runs`) holds them; which shape a record has follows from the model's
//! kind ([`Shape::of_kind`]), so a reader never guesses from the fields.

use serde::Serialize;

use crate::model::{FitReport, GridExtension, LinearParams};
use crate::multilabel::{MultiLabelParams, MultiLabelReport};
use crate::pair_classifier::PairClassifierParams;
use crate::regression::{Criterion, RegressionKind, RegressionParams, RegressionReport};
use crate::LinearKind;

/// The four kinds of fitted baseline, each with its own settings and fit report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A classifier of single texts (`tfidf-lr`, `tfidf-svm`, `tfidf-nbsvm`).
    Single,
    /// A classifier of text pairs (`tfidf-lr-pair`, …).
    Pair,
    /// One-vs-rest multi-label, of single texts or pairs (`tfidf-lr-multilabel`,
    /// `tfidf-lr-multilabel-pair`, …).
    MultiLabel,
    /// A regressor, of single texts or pairs (`tfidf-ridge`, `tfidf-svr-pair`,
    /// `tfidf-cosine-pair`, …).
    Regression,
}

impl Shape {
    /// The shape of a model by the kind its run records (what each model's `kind()`
    /// gives); `None` for a kind this crate does not make.
    pub fn of_kind(kind: &str) -> Option<Shape> {
        let rest = kind.strip_prefix("tfidf-")?;
        let (rest, pair) = match rest.strip_suffix("-pair") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (name, multi) = match rest.strip_suffix("-multilabel") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let classifier = [LinearKind::Lr, LinearKind::Svm, LinearKind::Nbsvm]
            .iter()
            .any(|k| k.name() == name);
        let regressor = [
            RegressionKind::Ridge,
            RegressionKind::Svr,
            RegressionKind::Cosine,
        ]
        .iter()
        .any(|k| k.name() == name);
        match (classifier, regressor, multi, pair) {
            (true, _, true, _) => Some(Shape::MultiLabel),
            (true, _, false, true) => Some(Shape::Pair),
            (true, _, false, false) => Some(Shape::Single),
            (false, true, false, _) => Some(Shape::Regression),
            _ => None,
        }
    }
}

/// `model.params`: a fitted baseline's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RecordedParams {
    Single(LinearParams),
    Pair(PairClassifierParams),
    MultiLabel(MultiLabelParams),
    Regression(RegressionParams),
}

/// `model.fit`: how a baseline was fitted. Single texts and pairs share the
/// classifier's report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RecordedFit {
    Classifier(FitReport),
    MultiLabel(MultiLabelReport),
    Regression(RegressionReport),
}

impl RecordedFit {
    /// The C chosen (or given); `None` for a model with nothing to regularise (the
    /// cosine of sentence pairs).
    pub fn chosen_c(&self) -> Option<f64> {
        match self {
            RecordedFit::Classifier(r) => Some(r.chosen_c),
            RecordedFit::MultiLabel(r) => Some(r.chosen_c),
            RecordedFit::Regression(r) => r.chosen_c,
        }
    }

    /// Where C was chosen: `valid`, `holdout` or `none`.
    pub fn selection_split(&self) -> &str {
        match self {
            RecordedFit::Classifier(r) => &r.selection_split,
            RecordedFit::MultiLabel(r) => &r.selection_split,
            RecordedFit::Regression(r) => &r.selection_split,
        }
    }

    /// Set when the best C was at an edge of the grid, so the grid was extended.
    pub fn c_grid_extension(&self) -> Option<&GridExtension> {
        match self {
            RecordedFit::Classifier(r) => r.c_grid_extension.as_ref(),
            RecordedFit::MultiLabel(r) => r.c_grid_extension.as_ref(),
            RecordedFit::Regression(r) => r.c_grid_extension.as_ref(),
        }
    }

    /// A multi-label model's decision threshold of each label, in its labels' order;
    /// `None` for other models.
    pub fn thresholds(&self) -> Option<&[f64]> {
        match self {
            RecordedFit::MultiLabel(r) => Some(&r.thresholds),
            RecordedFit::Classifier(_) | RecordedFit::Regression(_) => None,
        }
    }

    /// Every C tried with the share C was chosen by (higher is better), by increasing
    /// C: accuracy, micro F1 at the tuned thresholds, or Pearson's r when a regression
    /// chose by it. `None` when C was chosen by a measure that is not a share (a
    /// regression's MSE) or a score is undefined (NaN, as a constant prediction's r).
    pub fn share_scores(&self) -> Option<Vec<(f64, f64)>> {
        let points: Vec<(f64, f64)> = match self {
            RecordedFit::Classifier(r) => r.c_search.iter().map(|p| (p.c, p.accuracy)).collect(),
            RecordedFit::MultiLabel(r) => r.c_search.iter().map(|p| (p.c, p.micro_f1)).collect(),
            RecordedFit::Regression(r) => match r.select_by {
                Criterion::Pearson => r.c_search.iter().map(|p| (p.c, p.pearson)).collect(),
                Criterion::Mse => return None,
            },
        };
        points.iter().all(|p| p.1.is_finite()).then_some(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_a_model_gives_has_its_shape() {
        for k in [LinearKind::Lr, LinearKind::Svm, LinearKind::Nbsvm] {
            let n = k.name();
            assert_eq!(Shape::of_kind(&format!("tfidf-{n}")), Some(Shape::Single));
            assert_eq!(
                Shape::of_kind(&format!("tfidf-{n}-pair")),
                Some(Shape::Pair)
            );
            for kind in [
                format!("tfidf-{n}-multilabel"),
                format!("tfidf-{n}-multilabel-pair"),
            ] {
                assert_eq!(Shape::of_kind(&kind), Some(Shape::MultiLabel), "{kind}");
            }
        }
        for k in [
            RegressionKind::Ridge,
            RegressionKind::Svr,
            RegressionKind::Cosine,
        ] {
            let n = k.name();
            for kind in [format!("tfidf-{n}"), format!("tfidf-{n}-pair")] {
                assert_eq!(Shape::of_kind(&kind), Some(Shape::Regression), "{kind}");
            }
        }
        for odd in [
            "",
            "lr",
            "tfidf-",
            "tfidf-xgboost",
            "tfidf-ridge-multilabel",
            "bert",
        ] {
            assert_eq!(Shape::of_kind(odd), None, "{odd}");
        }
    }
}
