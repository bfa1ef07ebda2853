//! Single-label classification of text pairs (entailment, paraphrase): the
//! single-label linear models ([`crate::model`]: LR, SVM, NBSVM, the same C search,
//! calibration and refit) over the pair features of [`crate::pairs`].

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use textclf_core::{LabelSet, Predictions};

use crate::features::{FeatureParams, Featurizer, TextInput};
use crate::model::{
    class_probabilities, fit_rows, linear_scores, Calibration, FitReport, LinearParams,
};
use crate::pairs::PairParams;
use crate::store::{self, Loaded, SavedFeatures};
use crate::{LinearError, Result};

/// Pairs with one class id each.
#[derive(Debug, Clone, Copy)]
pub struct PairLabelSet<'a> {
    pub a: &'a [&'a str],
    pub b: &'a [&'a str],
    pub labels: &'a [usize],
}

impl PairLabelSet<'_> {
    fn check(&self, k: usize, what: &str) -> Result<()> {
        if self.a.len() != self.labels.len() || self.b.len() != self.labels.len() {
            return Err(LinearError::Data(format!(
                "{what} has {} first texts, {} second texts and {} labels: every row needs all three",
                self.a.len(),
                self.b.len(),
                self.labels.len()
            )));
        }
        if self.labels.is_empty() {
            return Err(LinearError::Data(format!("{what} has no rows")));
        }
        if let Some(i) = self.labels.iter().position(|&l| l >= k) {
            return Err(LinearError::Data(format!(
                "{what} row {i}: class id {} is out of range for {k} classes",
                self.labels[i]
            )));
        }
        Ok(())
    }
}

/// A fitted pair classifier. With two classes it keeps one weight vector whose score
/// favours class 1; with more, one per class.
#[derive(Debug, Clone)]
pub struct PairClassifier {
    pub params: LinearParams,
    pub pair: PairParams,
    pub labels: LabelSet,
    pub features: Featurizer,
    /// `outputs × num_features`, row-major.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub calibration: Calibration,
    pub c: f64,
}

/// Trains a pair classifier: C chosen on `valid` (or a stratified holdout of train),
/// probabilities calibrated there, as [`crate::fit`] does for single texts.
pub fn fit_pairs(
    params: &LinearParams,
    pair: &PairParams,
    labels: &LabelSet,
    train: &PairLabelSet,
    valid: Option<&PairLabelSet>,
) -> Result<(PairClassifier, FitReport)> {
    params.check_classifier()?;
    let k = labels.len();
    if k < 2 {
        return Err(LinearError::Data(format!(
            "training data has {k} class(es); a classifier needs at least 2"
        )));
    }
    train.check(k, "training data")?;
    if let Some(v) = valid {
        v.check(k, "validation data")?;
    }
    let fparams = FeatureParams {
        tfidf: params.features.clone(),
        pair: pair.clone(),
    };
    let t0 = Instant::now();
    let (features, x) = Featurizer::fit_transform(&fparams, TextInput::Pair(train.a, train.b))?;
    let x_valid = valid
        .map(|v| {
            features
                .transform(TextInput::Pair(v.a, v.b))
                .map(|x| (x, v.labels.to_vec()))
        })
        .transpose()?;
    let vectorize_s = t0.elapsed().as_secs_f64();
    let (fitted, report) = fit_rows(params, &x, train.labels, k, x_valid, &|_| {})?;
    let model = PairClassifier {
        params: LinearParams {
            c: Some(fitted.c),
            ..params.clone()
        },
        pair: pair.clone(),
        labels: labels.clone(),
        features,
        weights: fitted.weights,
        bias: fitted.bias,
        calibration: fitted.calibration,
        c: fitted.c,
    };
    Ok((
        model,
        FitReport {
            vectorize_s,
            ..report
        },
    ))
}

const FORMAT: &str = "textclf-linear-pair";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    params: LinearParams,
    pair: PairParams,
    labels: Vec<String>,
    calibration: Calibration,
    c: f64,
    outputs: usize,
    features: SavedFeatures,
}

/// A pair classifier's settings as its run records them (`model.params`): the linear
/// model's and the pair features'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairClassifierParams {
    pub linear: LinearParams,
    pub pair: PairParams,
}

impl PairClassifier {
    /// Its settings, as a run records them.
    pub fn recorded_params(&self) -> PairClassifierParams {
        PairClassifierParams {
            linear: self.params.clone(),
            pair: self.pair.clone(),
        }
    }

    /// "tfidf-lr-pair", "tfidf-svm-pair" or "tfidf-nbsvm-pair".
    pub fn kind(&self) -> String {
        format!("tfidf-{}-pair", self.params.kind.name())
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Class probabilities of pairs; the most probable class is the one with the
    /// highest score (except for a two-class Platt sigmoid, as for single texts).
    pub fn predict_proba(&self, a: &[&str], b: &[&str]) -> Result<Predictions> {
        let x = self.features.transform(TextInput::Pair(a, b))?;
        let s = linear_scores(&self.weights, &self.bias, self.features.num_features(), &x);
        let p = class_probabilities(&self.calibration, &s, self.outputs(), self.labels.len());
        Ok(Predictions::new(self.labels.len(), p)?)
    }

    /// The most probable class of each pair.
    pub fn predict(&self, a: &[&str], b: &[&str]) -> Result<Vec<usize>> {
        Ok(self.predict_proba(a, b)?.argmax())
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let d = self.features.num_features();
        let mut tensors = store::featurizer_tensors(&self.features);
        tensors.push(store::f32_tensor(
            "weight",
            vec![self.outputs(), d],
            &self.weights,
        ));
        tensors.push(store::f32_tensor("bias", vec![self.outputs()], &self.bias));
        let fparams = FeatureParams {
            tfidf: self.params.features.clone(),
            pair: self.pair.clone(),
        };
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            params: self.params.clone(),
            pair: self.pair.clone(),
            labels: self.labels.names().to_vec(),
            calibration: self.calibration.clone(),
            c: self.c,
            outputs: self.outputs(),
            features: SavedFeatures::of(&self.features, &fparams),
        };
        store::write(dir, FORMAT, &manifest, tensors)
    }

    /// Loads a model written by [`Self::save`], refusing damaged or inconsistent files.
    pub fn load(dir: &Path) -> Result<Self> {
        let (ld, m): (Loaded, Manifest) =
            Loaded::open(dir, FORMAT, VERSION, "linear pair classifier")?;
        let damaged = |what: String| {
            ld.fail(format!(
                "model.json: {what}; the file was edited or damaged: restore it or retrain"
            ))
        };
        m.params
            .check_classifier()
            .and_then(|_| m.pair.check())
            .map_err(|e| damaged(format!("settings no fit could have made ({e})")))?;
        let labels = LabelSet::new(m.labels).map_err(|e| damaged(e.to_string()))?;
        let k = labels.len();
        if k < 2 {
            return Err(damaged(format!(
                "{k} class(es), a classifier has at least two"
            )));
        }
        let outputs = if k == 2 { 1 } else { k };
        if m.outputs != outputs {
            return Err(damaged(format!("{} outputs for {k} classes", m.outputs)));
        }
        let calibration_ok = match &m.calibration {
            Calibration::Logistic => true,
            Calibration::Platt { sigmoids } => {
                sigmoids.len() == outputs
                    && sigmoids.iter().all(|p| p.a.is_finite() && p.b.is_finite())
            }
            Calibration::Temperature { temperature } => {
                temperature.is_finite() && *temperature > 0.0
            }
        };
        if !calibration_ok {
            return Err(damaged("the calibration does not fit the model".into()));
        }
        let fparams = FeatureParams {
            tfidf: m.params.features.clone(),
            pair: m.pair.clone(),
        };
        if fparams != m.features.params || m.features.shape != "pair" || m.params.c != Some(m.c) {
            return Err(damaged(
                "the feature settings, their shape or C disagree with each other".into(),
            ));
        }
        let features = ld.featurizer(&m.features)?;
        let d = features.num_features();
        let weights = ld.f32s("weight", outputs * d)?;
        let bias = ld.f32s("bias", outputs)?;
        Ok(Self {
            params: m.params,
            pair: m.pair,
            labels,
            features,
            weights,
            bias,
            calibration: m.calibration,
            c: m.c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LinearKind;

    /// Pairs labelled "entails" when B repeats A's word, else "other"; every word is as
    /// common on either side in both classes, so a single side says nothing.
    fn pairs(n: usize, offset: usize) -> (Vec<String>, Vec<String>, Vec<usize>) {
        let (mut a, mut b, mut y) = (vec![], vec![], vec![]);
        for i in offset..offset + n {
            let w = format!("w{}", i % 41);
            let same = (i / 3) % 2 == 0;
            a.push(format!("{w} is here"));
            b.push(if same {
                format!("{w} there")
            } else {
                format!("w{} there", (i * 11 + 5) % 41)
            });
            y.push(usize::from(same));
        }
        (a, b, y)
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    #[test]
    fn learns_the_relation_and_round_trips() {
        let (a, b, y) = pairs(400, 0);
        let (va, vb, vy) = pairs(150, 400);
        let (ta, tb, ty) = pairs(200, 550);
        let (a, b, va, vb, ta, tb) = (
            refs(&a),
            refs(&b),
            refs(&va),
            refs(&vb),
            refs(&ta),
            refs(&tb),
        );
        let labels = LabelSet::from_raw(["other", "entails"]);
        for kind in [LinearKind::Lr, LinearKind::Svm, LinearKind::Nbsvm] {
            let mut p = LinearParams::new(kind);
            p.features.min_df = 1;
            let train = PairLabelSet {
                a: &a,
                b: &b,
                labels: &y,
            };
            let valid = PairLabelSet {
                a: &va,
                b: &vb,
                labels: &vy,
            };
            let (m, report) =
                fit_pairs(&p, &PairParams::default(), &labels, &train, Some(&valid)).unwrap();
            assert_eq!(report.selection_split, "valid");
            let pred = m.predict(&ta, &tb).unwrap();
            let acc = pred.iter().zip(&ty).filter(|(p, g)| p == g).count() as f64 / 200.0;
            assert!(acc > 0.95, "{kind:?}: {acc}");
            let dir = tempfile::tempdir().unwrap();
            m.save(dir.path()).unwrap();
            let back = PairClassifier::load(dir.path()).unwrap();
            assert_eq!(
                back.predict_proba(&ta, &tb).unwrap(),
                m.predict_proba(&ta, &tb).unwrap()
            );
        }
        // Sides only: the relation is invisible, accuracy near chance.
        let mut p = LinearParams::new(LinearKind::Lr);
        p.features.min_df = 1;
        let sides = PairParams {
            sides: true,
            product: false,
            similarity: false,
        };
        let (m, _) = fit_pairs(
            &p,
            &sides,
            &labels,
            &PairLabelSet {
                a: &a,
                b: &b,
                labels: &y,
            },
            None,
        )
        .unwrap();
        let pred = m.predict(&ta, &tb).unwrap();
        let acc = pred.iter().zip(&ty).filter(|(p, g)| p == g).count() as f64 / 200.0;
        assert!(acc < 0.75, "{acc}");
    }

    #[test]
    fn bad_input_and_damaged_files_are_refused() {
        let labels = LabelSet::from_raw(["no", "yes"]);
        let mut p = LinearParams::new(LinearKind::Lr);
        p.features.min_df = 1;
        p.c = Some(1.0);
        let (a, b) = (["x y", "y z"], ["x", "q"]);
        let e = fit_pairs(
            &p,
            &PairParams::default(),
            &labels,
            &PairLabelSet {
                a: &a,
                b: &b[..1],
                labels: &[0, 1],
            },
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("2 first texts, 1 second texts and 2 labels"),
            "{e}"
        );
        let e = fit_pairs(
            &p,
            &PairParams::default(),
            &labels,
            &PairLabelSet {
                a: &a,
                b: &b,
                labels: &[0, 2],
            },
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("row 1: class id 2"), "{e}");
        let (m, _) = fit_pairs(
            &p,
            &PairParams::default(),
            &labels,
            &PairLabelSet {
                a: &a,
                b: &b,
                labels: &[0, 1],
            },
            None,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        let json = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["outputs"] = 2.into();
        std::fs::write(dir.path().join("model.json"), v.to_string()).unwrap();
        let e = PairClassifier::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("2 outputs for 2 classes"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["pair"]["product"] = false.into();
        std::fs::write(dir.path().join("model.json"), v.to_string()).unwrap();
        let e = PairClassifier::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("disagree"), "{e}");
        std::fs::remove_file(dir.path().join("model.json")).unwrap();
        let e = PairClassifier::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
