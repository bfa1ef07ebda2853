//! [`EnsembleSpec`]: everything that decides an ensemble, typed. `textclf ensemble` turns
//! its flags into one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::spec::EvalSpec;

/// An ensemble of finished runs of one task, evaluated on their shared test rows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EnsembleSpec {
    /// Format version of the spec.
    #[serde(default)]
    pub format: u32,
    /// The member run folders (two or more), all evaluated on the same test rows.
    pub runs: Vec<PathBuf>,
    /// How much each member counts in the average.
    #[serde(default)]
    pub weights: EnsembleWeights,
    pub eval: EvalSpec,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl EnsembleSpec {
    /// The version this textclf writes.
    pub const FORMAT: u32 = 1;
}

/// How the members are weighted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EnsembleWeights {
    /// Every member counts the same.
    #[default]
    Equal,
    /// Chosen on the members' validation predictions by greedy forward selection with
    /// replacement, minimising the task's validation loss.
    Val,
    /// One non-negative number per member (in the order of `runs`), normalised to sum 1.
    Explicit(Vec<f64>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_round_trips_through_json() {
        let spec = EnsembleSpec {
            format: EnsembleSpec::FORMAT,
            runs: vec!["a".into(), "b".into()],
            weights: EnsembleWeights::Explicit(vec![2.0, 1.0]),
            eval: EvalSpec { bootstrap: 100 },
            seed: 7,
        };
        let text = serde_json::to_string(&spec).unwrap();
        assert!(
            text.contains(r#""weights":{"explicit":[2.0,1.0]}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<EnsembleSpec>(&text).unwrap(), spec);
        let val = text.replace(r#"{"explicit":[2.0,1.0]}"#, r#""val""#);
        let back: EnsembleSpec = serde_json::from_str(&val).unwrap();
        assert_eq!(back.weights, EnsembleWeights::Val);
    }
}
