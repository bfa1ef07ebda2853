//! Charts of the best run that fit multi-label and regression runs: (g) the per-label F1,
//! (h) how often the gold labels occur together, (i) predicted against gold values.
//!
//! The co-occurrence and the scatter read the run's `predictions.csv` (the test rows);
//! without it they are left out.

use plotters::prelude::*;

use crate::error::Result;
use crate::runs::RunSummary;

use super::axis::{min_max, Axis};
use super::best_run::{f1_bars, share_matrix};
use super::plot::Plot;
use super::style::{font, render, shorten, AxisFonts, FaintGrid, BLUE, GREY, TITLE_SIZE};

/// At most this many points are drawn in the scatter (evenly spaced rows beyond it).
pub const SCATTER_POINTS: usize = 3000;

/// Horizontal bars of the test F1 of each label of a multi-label run.
pub fn per_label_f1(run: &RunSummary) -> Result<Option<Plot>> {
    let Some(t) = run
        .test
        .as_ref()
        .and_then(|t| t.multi_label())
        .filter(|t| !t.per_label.is_empty())
    else {
        return Ok(None);
    };
    let bars: Vec<(&str, u64, f64)> = t
        .per_label
        .iter()
        .map(|l| (l.label.as_str(), l.support, l.f1))
        .collect();
    let title = format!("Per-label F1 of {} (test)", shorten(&run.id, 48));
    let svg = f1_bars(&title, &bars)?;
    let caption = format!(
        "F1 of each label on the test set for the best run {} (n = test rows carrying the \
         label); micro F1 {:.3}, macro F1 {:.3}.",
        run.id, t.micro.f1, t.macro_avg.f1
    );
    Ok(Some(Plot {
        name: "per_label_f1",
        title,
        caption,
        svg,
    }))
}

/// Rows carrying both labels (`counts[i][j]`; the diagonal: rows carrying label `i`) and
/// the share of label `i`'s rows that also carry `j`, from gold label sets.
pub fn cooccurrence(sets: &[Vec<usize>], k: usize) -> (Vec<Vec<u64>>, Vec<Vec<f64>>) {
    let mut counts = vec![vec![0u64; k]; k];
    for s in sets {
        for &i in s {
            for &j in s {
                if i < k && j < k {
                    counts[i][j] += 1;
                }
            }
        }
    }
    let shares = counts
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let n = row[i];
            row.iter()
                .map(|&c| if n == 0 { 0.0 } else { c as f64 / n as f64 })
                .collect()
        })
        .collect();
    (counts, shares)
}

/// The gold label co-occurrence matrix of a multi-label run's test rows.
pub fn label_cooccurrence(run: &RunSummary) -> Result<Option<Plot>> {
    if run.test.as_ref().and_then(|t| t.multi_label()).is_none() {
        return Ok(None);
    }
    let Ok(rec) = textclf_eval::load_run(&run.dir) else {
        return Ok(None);
    };
    let Ok(labels) = textclf_core::LabelSet::new(rec.labels.clone()) else {
        return Ok(None);
    };
    let Ok(gold) = textclf_eval::multilabel_gold(&rec, &labels) else {
        return Ok(None);
    };
    let (counts, shares) = cooccurrence(&gold.to_sets(), labels.len());
    let title = format!(
        "Gold label co-occurrence of {} (test)",
        shorten(&run.id, 40)
    );
    let (svg, show_counts) = share_matrix(
        &title,
        labels.names(),
        &counts,
        &shares,
        ("also carries", "rows carrying"),
    )?;
    let caption = format!(
        "How the gold labels of the test set occur together: each row is a label, each cell \
         the share of that label's rows that also carry the column's label{} (the diagonal is \
         1 for every label present). Labels that often co-occur are hard to tell apart and \
         are worth a look in the per-label F1.",
        if show_counts {
            " (rows in brackets)"
        } else {
            ""
        }
    );
    Ok(Some(Plot {
        name: "label_cooccurrence",
        title,
        caption,
        svg,
    }))
}

/// Predicted against gold values of a regression run's test rows, with the diagonal.
pub fn regression_scatter(run: &RunSummary) -> Result<Option<Plot>> {
    let Some(t) = run.test.as_ref().and_then(|t| t.regression()) else {
        return Ok(None);
    };
    let Ok(rec) = textclf_eval::load_run(&run.dir) else {
        return Ok(None);
    };
    let pairs: Vec<(f64, f64)> = rec
        .predictions
        .iter()
        .filter_map(|r| {
            Some((
                textclf_eval::value_of(r.gold.as_deref()?)?,
                textclf_eval::value_of(&r.predicted)?,
            ))
        })
        .collect();
    if pairs.is_empty() {
        return Ok(None);
    }
    let step = pairs.len().div_ceil(SCATTER_POINTS);
    let shown: Vec<(f64, f64)> = pairs.iter().copied().step_by(step).collect();
    let all: Vec<f64> = pairs.iter().flat_map(|&(g, p)| [g, p]).collect();
    let (lo, hi) = min_max(&all);
    let axis = Axis::nice(lo, hi, 6, false, 0.03);
    let title = format!("Predicted vs gold of {} (test)", shorten(&run.id, 44));
    let (w, h) = (640u32, 600u32);
    let svg = render("scatter", w, h, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(TITLE_SIZE))
            .margin(12)
            .margin_right(28)
            .x_label_area_size(54)
            .y_label_area_size(72)
            .build_cartesian_2d(axis.range(), axis.range())?;
        let f = |v: &f64| axis.label(*v);
        chart
            .configure_mesh()
            .x_desc("gold value")
            .y_desc("predicted value")
            .x_label_formatter(&f)
            .y_label_formatter(&f)
            .our_fonts()
            .faint_grid()
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(axis.lo, axis.lo), (axis.hi, axis.hi)],
            GREY.stroke_width(2),
        ))?;
        chart.draw_series(
            shown
                .iter()
                .map(|&(g, p)| Circle::new((g, p), 3, BLUE.mix(0.45).filled())),
        )?;
        Ok(())
    })?;
    let fmt = |x: Option<f64>| x.map_or("undefined".to_string(), |v| format!("{v:.3}"));
    let caption = format!(
        "Each point is a test row of the best run {} (gold value across, predicted value up; \
         {} of {} rows shown); the grey line is a perfect prediction. Pearson r {}, Spearman \
         ρ {}, MSE {:.4}. Points flatter than the line mean predictions pulled toward the \
         mean.",
        run.id,
        shown.len(),
        pairs.len(),
        fmt(t.pearson),
        fmt(t.spearman),
        t.mse
    );
    Ok(Some(Plot {
        name: "regression_scatter",
        title,
        caption,
        svg,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooccurrence_counts_pairs_and_row_shares() {
        let (c, s) = cooccurrence(&[vec![0, 1], vec![0], vec![1, 2], vec![]], 3);
        assert_eq!(c[0], vec![2, 1, 0]);
        assert_eq!(c[1], vec![1, 2, 1]);
        assert_eq!(c[2], vec![0, 1, 1]);
        assert_eq!(s[0], vec![1.0, 0.5, 0.0]);
        assert_eq!(s[2], vec![0.0, 1.0, 1.0]);
    }
}
