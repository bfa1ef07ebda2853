//! Axes: value axes with readable ticks ([`Axis`]), a coordinate with the ticks we chose
//! ([`Ticked`]), log ticks and the rounding that keeps tick labels clean.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use crate::table::fmt_number;

/// A value axis: its range and tick marks.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) ticks: Vec<f64>,
    pub(super) decimals: usize,
}

impl Axis {
    /// Ticks at a "nice" step (1, 2, 2.5 or 5 × 10^k) covering `lo..hi`, about `target`
    /// of them; the range is widened to the outer ticks, then by `pad` of its span on
    /// each side (for markers that would sit on the frame). `integer` keeps the step ≥ 1.
    pub(super) fn nice(lo: f64, hi: f64, target: usize, integer: bool, pad: f64) -> Axis {
        let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        if !lo.is_finite() || !hi.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 {
            let d = if lo.abs() > 1e-9 {
                lo.abs() * 0.05
            } else {
                0.05
            };
            lo -= d;
            hi += d;
        }
        let mut step = nice_step((hi - lo) / target.max(1) as f64);
        if integer {
            step = step.max(1.0).round();
        }
        let first = (lo / step + 1e-9).floor();
        let last = (hi / step - 1e-9).ceil();
        let ticks: Vec<f64> = (0..=((last - first) as usize))
            .map(|i| clean((first + i as f64) * step))
            .collect();
        let t0 = ticks[0];
        let t1 = *ticks.last().unwrap_or(&t0);
        let p = (t1 - t0) * pad;
        Axis {
            lo: t0 - p,
            hi: t1 + p,
            ticks,
            decimals: decimals_of(step),
        }
    }

    pub(super) fn label(&self, v: f64) -> String {
        let s = format!("{:.*}", self.decimals, v);
        if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
            s[1..].to_string()
        } else {
            s
        }
    }

    pub(super) fn range(&self) -> Ticked {
        Ticked {
            lo: self.lo,
            hi: self.hi,
            ticks: self.ticks.clone(),
        }
    }
}

/// A linear f64 coordinate with the tick marks we chose (plotters' own picks its ticks).
#[derive(Clone, Debug)]
pub(super) struct Ticked {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) ticks: Vec<f64>,
}

impl Ticked {
    /// Ticks at the centres of `n` unit-wide categories `0..n`.
    pub(super) fn categories(n: usize) -> Ticked {
        Ticked {
            lo: 0.0,
            hi: n as f64,
            ticks: (0..n).map(|i| i as f64 + 0.5).collect(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span.abs() < f64::EPSILON || !v.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - self.lo) / span;
        (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let e = raw.log10().floor();
    let base = 10f64.powf(e);
    let f = raw / base;
    let m = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 2.5 + 1e-9 {
        2.5
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * base
}

/// Decimals that show every multiple of `step` exactly (0.05 → 2, 0.025 → 3, 5 → 0).
fn decimals_of(step: f64) -> usize {
    let mut d = 0usize;
    while d < 8 {
        let scaled = step * 10f64.powi(d as i32);
        if (scaled - scaled.round()).abs() < 1e-6 {
            return d;
        }
        d += 1;
    }
    d
}

/// Rounds away floating-point dust (0.30000000000000004 → 0.3).
fn clean(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

pub(super) fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        })
}

/// Ticks of a log axis over `lo..hi` (seconds): 1-2-5 steps per decade, or whole decades
/// when that gives too many.
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for mults in [&[1.0, 2.0, 5.0][..], &[1.0, 3.0][..], &[1.0][..]] {
        out.clear();
        let e0 = lo.log10().floor() as i32 - 1;
        let e1 = hi.log10().ceil() as i32 + 1;
        for e in e0..=e1 {
            for m in mults {
                let v = m * 10f64.powi(e);
                if v >= lo * 0.999 && v <= hi * 1.001 {
                    out.push(v);
                }
            }
        }
        if out.len() <= 9 {
            break;
        }
    }
    out
}

/// Rounds to 6 significant digits (10^log10(x) dust).
pub(super) fn clean_sig(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let e = x.abs().log10().floor() as i32;
    let f = 10f64.powi(5 - e);
    (x * f).round() / f
}

/// The label of category `v` on an axis that draws category 0 at the top.
pub(super) fn top_down_label(labels: &[String], v: f64) -> String {
    let i = labels.len() as i64 - 1 - v.floor() as i64;
    usize::try_from(i)
        .ok()
        .and_then(|i| labels.get(i))
        .cloned()
        .unwrap_or_default()
}

/// A tick label of an axis in the value itself (`log`: the axis is in log10 of it).
pub(super) fn value_label(v: f64, log: bool) -> String {
    let x = if log { 10f64.powf(v) } else { v };
    fmt_number(clean_sig(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axes_have_readable_ticks() {
        let a = Axis::nice(0.812, 0.903, 5, false, 0.0);
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(
            labels,
            vec!["0.80", "0.82", "0.84", "0.86", "0.88", "0.90", "0.92"]
        );
        assert_eq!((a.lo, a.hi), (0.8, 0.92));
        let a = Axis::nice(0.0, 3.0, 6, true, 0.0);
        assert_eq!(a.ticks, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(a.label(2.0), "2");
        let a = Axis::nice(0.81, 0.94, 3, false, 0.0);
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, vec!["0.80", "0.85", "0.90", "0.95"]);
        let a = Axis::nice(0.0, 137.0, 5, false, 0.0);
        assert_eq!(a.ticks, vec![0.0, 50.0, 100.0, 150.0]);
        let a = Axis::nice(0.5, 0.5, 4, false, 0.0);
        assert!(a.lo < 0.5 && a.hi > 0.5);
        assert_eq!(
            log_ticks(0.5, 300.0),
            vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        );
    }
}
