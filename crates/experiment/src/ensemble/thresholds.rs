//! A multi-label ensemble's decision thresholds when there are no validation predictions
//! to tune them on: each label's weighted mean of the members' thresholds — a member's
//! recorded thresholds, or, when its record has none, the cut its predictions file shows.

use textclf_core::LabelSet;
use textclf_eval::{RunRecord, Thresholds, METRICS_FILE};

use super::members::{predicted_sets, Member};
use crate::error::{ExperimentError, Result};

/// Each label's threshold as the weighted mean of the members' thresholds: a member's
/// recorded thresholds (`RunBody::decision_thresholds` of its `metrics.json`), else the
/// cut its predictions file shows between the scores it predicted a label at and those it
/// did not. Also says how they were chosen.
pub(crate) fn mean_member_thresholds(
    runs: &[RunRecord],
    test: &[Member],
    labels: &LabelSet,
    weights: &[f64],
) -> Result<(Thresholds, String)> {
    let k = labels.len();
    let mut mean = vec![0f64; k];
    let (mut recorded, mut inferred) = (0usize, 0usize);
    for ((r, mm), &w) in runs.iter().zip(test).zip(weights) {
        let own = match recorded_thresholds(r, labels)? {
            Some(t) => {
                recorded += 1;
                t
            }
            None => {
                inferred += 1;
                shown_thresholds(mm, labels)?
            }
        };
        for (m, t) in mean.iter_mut().zip(own) {
            *m += w * f64::from(t);
        }
    }
    let mut t = Thresholds::fixed(labels, 0.5);
    t.method = "members' mean".into();
    for (l, m) in t.labels.iter_mut().zip(&mean) {
        l.threshold = *m as f32;
    }
    let source = match (recorded, inferred) {
        (_, 0) => "as recorded in their metrics.json".to_string(),
        (0, _) => {
            "as their predictions.csv shows them (no member records its thresholds)".to_string()
        }
        (r, i) => format!(
            "as recorded by {r} member(s), as predictions.csv shows them for {i} without a record"
        ),
    };
    Ok((
        t,
        format!("the members' mean threshold ({source}; no validation predictions to tune on)"),
    ))
}

/// The decision thresholds a member's `metrics.json` records (see
/// `RunBody::decision_thresholds`), by the ensemble's label order; `None` when it records
/// none.
fn recorded_thresholds(run: &RunRecord, labels: &LabelSet) -> Result<Option<Vec<f32>>> {
    let Some(t) = run.metrics.run.decision_thresholds() else {
        return Ok(None);
    };
    labels
        .names()
        .iter()
        .map(|name| {
            t.iter()
                .find(|(l, _)| l == name)
                .map(|&(_, v)| v as f32)
                .ok_or_else(|| {
                    ExperimentError::Invalid(format!(
                        "{}: the recorded thresholds have none for label '{name}'",
                        run.dir.join(METRICS_FILE).display()
                    ))
                })
        })
        .collect::<Result<_>>()
        .map(Some)
}

/// The threshold a member's predictions show for each label: midway between the lowest
/// score it predicted the label at and the highest it did not (0.5 when that is
/// consistent with the file).
fn shown_thresholds(m: &Member, labels: &LabelSet) -> Result<Vec<f32>> {
    let k = labels.len();
    let sets = predicted_sets(m, labels)?;
    Ok((0..k)
        .map(|c| {
            let (mut lo_pos, mut hi_neg) = (f32::INFINITY, f32::NEG_INFINITY);
            for i in 0..sets.len() {
                let s = m.probs[i * k + c];
                if sets.get(i, c) {
                    lo_pos = lo_pos.min(s);
                } else {
                    hi_neg = hi_neg.max(s);
                }
            }
            if hi_neg < 0.5 && 0.5 <= lo_pos {
                0.5
            } else if lo_pos.is_finite() && hi_neg.is_finite() {
                (lo_pos + hi_neg) / 2.0
            } else if lo_pos.is_finite() {
                lo_pos
            } else {
                // Never predicted, and some score reaches 0.5: just above the highest.
                hi_neg + f32::EPSILON.max(hi_neg.abs() * 1e-6)
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_thresholds_lie_between_the_predicted_and_the_other_scores() {
        let labels = LabelSet::new(vec!["a".into(), "b".into()]).unwrap();
        let m = Member {
            ids: vec!["0".into(), "1".into(), "2".into()],
            gold: vec![None; 3],
            // a is predicted at 0.3 and above (not at 0.2); b at 0.5 (default-consistent).
            probs: vec![0.3, 0.6, 0.2, 0.1, 0.9, 0.4],
            predicted: vec!["a|b".into(), "".into(), "a".into()],
        };
        let t = shown_thresholds(&m, &labels).unwrap();
        assert!((t[0] - 0.25).abs() < 1e-6, "{t:?}");
        assert_eq!(t[1], 0.5);
    }
}
