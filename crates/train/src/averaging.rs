//! Weight averaging: the running mean of the weights at validation points.

use std::collections::HashMap;

use candle_core::Tensor;
use textclf_models::SequenceClassifier;

use crate::{Result, TrainError};

/// Adds the model's current weights to the running mean of `count` earlier snapshots.
pub(crate) fn add_to_average(
    avg: &mut Option<HashMap<String, Tensor>>,
    count: usize,
    model: &SequenceClassifier,
) -> Result<()> {
    let Some(a) = avg.as_mut().filter(|_| count > 0) else {
        *avg = Some(snapshot(model)?);
        return Ok(());
    };
    let keep = count as f64 / (count + 1) as f64;
    for (name, v) in model.params.vars() {
        let m = a.get_mut(name).ok_or_else(|| {
            TrainError::Checkpoint(format!("the weight average has no tensor `{name}`"))
        })?;
        *m = (m.affine(keep, 0.0)? + v.as_tensor().affine(1.0 - keep, 0.0)?)?;
    }
    Ok(())
}

pub(crate) fn snapshot(model: &SequenceClassifier) -> Result<HashMap<String, Tensor>> {
    model
        .params
        .vars()
        .iter()
        .map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?)))
        .collect()
}
