//! The evidence the checks share: curves of accuracy over one setting ([`Curve`]) and the
//! paired test comparison of two runs ([`Paired`]).

use std::fmt::Write as _;

use textclf_eval::{align_runs, compare, load_run, AlignedRuns, EvalOptions};

use crate::runs::RunSummary;

use super::context::{cmp_test, Ctx};
use super::format::{cap, level_text, p_text, pct, pts, signed_pts};
use super::ALPHA;

// ---------------------------------------------------------------------------------------
// Curves over one setting.

/// Runs that represent each value of one numeric setting, in increasing order of it.
pub(crate) struct Curve<'a> {
    pub(crate) key: &'static str,
    /// (value, run), at least two: [`curve`] makes no curve of fewer.
    pub(crate) points: Vec<(f64, &'a RunSummary)>,
    /// Whether every other setting (but the seed) equals the anchor run's.
    pub(crate) held_fixed: bool,
    /// Whether the metric is the validation metric (else test accuracy).
    pub(crate) on_validation: bool,
    /// The most runs sharing one value (repeats over seeds); each point is the best of
    /// its group, which flatters the points with more repeats.
    pub(crate) repeats: usize,
}

fn same_except(a: &RunSummary, b: &RunSummary, key: &str) -> bool {
    let keys = a.params.keys().chain(b.params.keys());
    keys.filter(|k| k.as_str() != key && k.as_str() != "seed")
        .all(|k| a.params.get(k) == b.params.get(k))
}

pub(crate) fn distinct_values(runs: &[&RunSummary], key: &str) -> Vec<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.param_f64(key)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The curve of `key` through `anchor`: runs of its family that differ from it only in
/// `key` when there are at least two values of those, else all runs of its family.
pub(crate) fn curve<'a>(cx: &Ctx<'a>, anchor: &RunSummary, key: &'static str) -> Option<Curve<'a>> {
    let cands: Vec<&RunSummary> = cx
        .done
        .iter()
        .copied()
        .filter(|r| r.family == anchor.family && r.param_f64(key).is_some())
        .collect();
    let fixed: Vec<&RunSummary> = cands
        .iter()
        .copied()
        .filter(|r| same_except(r, anchor, key))
        .collect();
    let (runs, held_fixed) = if distinct_values(&fixed, key).len() >= 2 {
        (fixed, true)
    } else {
        (cands, false)
    };
    let values = distinct_values(&runs, key);
    if values.len() < 2 {
        return None;
    }
    let on_validation = runs.iter().all(|r| cx.curve_metric(r).is_some());
    let mut repeats = 1;
    let points: Vec<(f64, &RunSummary)> = values
        .iter()
        .filter_map(|&v| {
            let group: Vec<&RunSummary> = runs
                .iter()
                .copied()
                .filter(|r| r.param_f64(key) == Some(v))
                .collect();
            let best = if on_validation {
                group
                    .iter()
                    .copied()
                    .filter_map(|r| Some((r, cx.curve_metric(r)?)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(r, _)| r)
            } else {
                group
                    .iter()
                    .copied()
                    .filter(|r| r.single().is_some())
                    .max_by(|a, b| cmp_test(a, b))
            };
            repeats = repeats.max(group.len());
            best.map(|r| (v, r))
        })
        .collect();
    if points.len() < 2 {
        return None;
    }
    Some(Curve {
        key,
        points,
        held_fixed,
        on_validation,
        repeats,
    })
}

impl<'a> Curve<'a> {
    /// The point of the smallest value.
    pub(crate) fn first(&self) -> (f64, &'a RunSummary) {
        self.points[0]
    }

    /// The point of the largest value.
    pub(crate) fn last(&self) -> (f64, &'a RunSummary) {
        self.points[self.points.len() - 1]
    }

    /// The last step: the points of the two largest values.
    pub(crate) fn last_step(&self) -> [(f64, &'a RunSummary); 2] {
        let n = self.points.len();
        [self.points[n - 2], self.points[n - 1]]
    }

    pub(crate) fn metric(&self, cx: &Ctx, r: &RunSummary) -> f64 {
        if self.on_validation {
            cx.curve_metric(r).unwrap_or(f64::NAN)
        } else {
            r.test_accuracy().unwrap_or(f64::NAN)
        }
    }

    pub(crate) fn metric_name(&self, cx: &Ctx) -> &'static str {
        if self.on_validation {
            cx.curve_metric_name()
        } else {
            "test accuracy (no validation score in every run)"
        }
    }

    /// Index of the best point (first of equals).
    pub(crate) fn best(&self, cx: &Ctx) -> usize {
        let mut best = 0;
        for i in 1..self.points.len() {
            if self.metric(cx, self.points[i].1) > self.metric(cx, self.points[best].1) {
                best = i;
            }
        }
        best
    }

    /// One sentence listing every point.
    pub(crate) fn describe(&self, cx: &Ctx, fmt_value: fn(f64) -> String) -> String {
        let parts: Vec<String> = self
            .points
            .iter()
            .map(|&(v, r)| {
                let test = r
                    .test_accuracy()
                    .filter(|_| self.on_validation)
                    .map_or(String::new(), |t| format!(", test {}", pct(t)));
                format!(
                    "{} {} → {}{test} (`{}`)",
                    self.key,
                    fmt_value(v),
                    pct(self.metric(cx, r)),
                    r.id
                )
            })
            .collect();
        format!(
            "{} by {} ({}): {}.",
            cap(self.metric_name(cx)),
            self.key,
            self.caveats(),
            parts.join("; ")
        )
    }

    /// How the points were chosen: whether other settings were held fixed, and repeats.
    pub(crate) fn caveats(&self) -> String {
        let mut s = if self.held_fixed {
            "other settings held fixed".to_string()
        } else {
            "other settings NOT held fixed, so part of the differences may come from them"
                .to_string()
        };
        if self.repeats > 1 {
            let _ = write!(
                s,
                "; up to {} runs share a value (e.g. seeds) and each point is the best of its \
                 group, which flatters values with more runs",
                self.repeats
            );
        }
        s
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.points.iter().map(|(_, r)| r.id.clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Paired test comparison.

pub(crate) struct Paired {
    pub(crate) n: usize,
    /// Accuracy of b − accuracy of a.
    pub(crate) diff: f64,
    pub(crate) ci: [f64; 2],
    pub(crate) level: f64,
    pub(crate) p: f64,
    pub(crate) method: String,
}

impl Paired {
    /// Whether b is more accurate than a beyond chance (McNemar and the CI agree).
    pub(crate) fn b_better(&self) -> bool {
        self.diff > 0.0 && self.p < ALPHA && self.ci[0] > 0.0
    }

    pub(crate) fn a_better(&self) -> bool {
        self.diff < 0.0 && self.p < ALPHA && self.ci[1] < 0.0
    }

    /// "+1.20 points (95 % paired-bootstrap CI +0.40 to +2.00), McNemar p = 0.0031 (exact
    /// binomial) on 2000 test rows".
    pub(crate) fn text(&self) -> String {
        format!(
            "{} ({} paired-bootstrap CI {} to {}), McNemar {} ({}) on {} test rows",
            pts(self.diff),
            level_text(self.level),
            signed_pts(self.ci[0]),
            signed_pts(self.ci[1]),
            p_text(self.p),
            self.method,
            self.n
        )
    }
}

/// Pairs the test predictions of runs `a` and `b`; differences are b − a.
pub(crate) fn paired(a: &RunSummary, b: &RunSummary) -> Result<Paired, String> {
    let ra = load_run(&a.dir).map_err(|e| e.to_string())?;
    let rb = load_run(&b.dir).map_err(|e| e.to_string())?;
    let AlignedRuns::SingleLabel {
        gold,
        a: pa,
        b: pb,
        labels,
    } = align_runs(&ra, &rb).map_err(|e| e.to_string())?
    else {
        return Err(format!(
            "{} is a {} run; this evidence is about single-label accuracy",
            a.dir.display(),
            ra.task()
        ));
    };
    let opts = EvalOptions::default();
    let c = compare(&gold, &pa, &pb, labels.len(), &opts).map_err(|e| e.to_string())?;
    Ok(Paired {
        n: c.n,
        diff: c.diff,
        ci: c.diff_ci,
        level: opts.confidence,
        p: c.mcnemar.p_value,
        method: c.mcnemar.method,
    })
}

/// Half-width of a run's bootstrap test-accuracy interval.
pub(crate) fn ci_half_width(r: &RunSummary) -> Option<f64> {
    let t = r.single().filter(|t| t.ci.resamples > 0)?;
    Some((t.ci.accuracy[1] - t.ci.accuracy[0]) / 2.0)
}

pub(crate) fn completed_epochs(r: &RunSummary) -> usize {
    r.epochs
        .iter()
        .rev()
        .find(|p| p.epoch_end)
        .or(r.epochs.last())
        .map_or(0, |p| p.epoch)
}
