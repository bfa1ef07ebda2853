//! Every fitted linear model behind the shared [`Model`] face: single-label classifiers
//! of single texts ([`LinearClassifier`]) and of pairs ([`PairClassifier`]), one-vs-rest
//! multi-label models ([`MultiLabelClassifier`]) and regressors ([`LinearRegressor`]),
//! over single texts or pairs; and [`load_any`], which loads whichever of them a folder
//! holds by the `format` its `model.json` names.

use std::path::Path;

use textclf_core::{
    check_inputs, input_refusal, Classifier, Inputs, LabelSet, Model, Outputs, Task,
};

use crate::features::{Featurizer, TextInput};
use crate::{LinearClassifier, LinearError, LinearRegressor, MultiLabelClassifier, PairClassifier};

/// The name a regressor's one output goes by (its saved files keep no column name).
pub const REGRESSION_OUTPUT: &str = "value";

fn text_input<'a>(inputs: &Inputs<'a>) -> TextInput<'a> {
    match *inputs {
        Inputs::Texts(t) => TextInput::Single(t),
        Inputs::Pairs(a, b) => TextInput::Pair(a, b),
    }
}

impl Model for LinearClassifier {
    fn kind(&self) -> String {
        Classifier::kind(self).to_string()
    }
    fn task(&self) -> Task {
        Task::SingleLabel
    }
    fn labels(&self) -> LabelSet {
        self.labels.clone()
    }
    fn takes_pairs(&self) -> bool {
        false
    }
    fn predict(&self, inputs: Inputs<'_>) -> textclf_core::Result<Outputs> {
        match inputs {
            Inputs::Texts(t) => Ok(Outputs::Classes(self.predict_proba(t)?)),
            other => Err(input_refusal(self, &other)),
        }
    }
    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        Classifier::save(self, dir)
    }
}

impl Model for PairClassifier {
    fn kind(&self) -> String {
        PairClassifier::kind(self)
    }
    fn task(&self) -> Task {
        Task::SingleLabel
    }
    fn labels(&self) -> LabelSet {
        self.labels.clone()
    }
    fn takes_pairs(&self) -> bool {
        true
    }
    fn predict(&self, inputs: Inputs<'_>) -> textclf_core::Result<Outputs> {
        match inputs {
            Inputs::Pairs(a, b) => Ok(Outputs::Classes(self.predict_proba(a, b)?)),
            other => Err(input_refusal(self, &other)),
        }
    }
    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        PairClassifier::save(self, dir).map_err(Into::into)
    }
}

impl Model for MultiLabelClassifier {
    fn kind(&self) -> String {
        let k = MultiLabelClassifier::kind(self);
        if self.features.shape() == "text pairs" {
            format!("{k}-pair")
        } else {
            k
        }
    }
    fn task(&self) -> Task {
        Task::MultiLabel
    }
    fn labels(&self) -> LabelSet {
        self.labels.clone()
    }
    fn takes_pairs(&self) -> bool {
        matches!(self.features, Featurizer::Pair(_))
    }
    fn predict(&self, inputs: Inputs<'_>) -> textclf_core::Result<Outputs> {
        check_inputs(self, &inputs)?;
        let scores = self.predict_proba(text_input(&inputs))?;
        Outputs::from_label_scores(scores, &self.thresholds)
    }
    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        MultiLabelClassifier::save(self, dir).map_err(Into::into)
    }
    fn thresholds(&self) -> Option<Vec<f32>> {
        Some(self.thresholds.clone())
    }
}

impl Model for LinearRegressor {
    fn kind(&self) -> String {
        let k = LinearRegressor::kind(self);
        if self.features.shape() == "text pairs" {
            format!("{k}-pair")
        } else {
            k
        }
    }
    fn task(&self) -> Task {
        Task::Regression
    }
    fn labels(&self) -> LabelSet {
        LabelSet::single(REGRESSION_OUTPUT)
    }
    fn takes_pairs(&self) -> bool {
        matches!(self.features, Featurizer::Pair(_))
    }
    fn predict(&self, inputs: Inputs<'_>) -> textclf_core::Result<Outputs> {
        check_inputs(self, &inputs)?;
        let v = LinearRegressor::predict(self, text_input(&inputs))?;
        Ok(Outputs::Values(v.into_iter().map(|x| x as f32).collect()))
    }
    fn save(&self, dir: &Path) -> textclf_core::Result<()> {
        LinearRegressor::save(self, dir).map_err(Into::into)
    }
}

/// Loads the linear model saved in `dir`, of whichever kind its `model.json` names
/// (`format`: a single-label model of single texts has none or `textclf-linear`).
pub fn load_any(dir: &Path) -> crate::Result<Box<dyn Model>> {
    let path = dir.join("model.json");
    let text = std::fs::read_to_string(&path).map_err(|e| LinearError::Io {
        path: path.clone(),
        source: e,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| LinearError::Data(format!("{}: not JSON ({e})", path.display())))?;
    Ok(match v.get("format").and_then(|f| f.as_str()) {
        Some("textclf-linear-pair") => Box::new(PairClassifier::load(dir)?),
        Some("textclf-linear-multilabel") => Box::new(MultiLabelClassifier::load(dir)?),
        Some("textclf-linear-regression") => Box::new(LinearRegressor::load(dir)?),
        _ => Box::new(LinearClassifier::load(dir)?),
    })
}
