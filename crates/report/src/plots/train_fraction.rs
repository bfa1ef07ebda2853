//! (c) Validation and test accuracy, and the run time, against the training fraction.

use plotters::prelude::*;

use crate::error::Result;
use crate::runs::{RunSet, RunSummary};
use crate::select::Rule;

use super::axis::{min_max, value_label, Axis, Ticked};
use super::data::{best_of, distinct, other_varied, score_label};
use super::legend::{draw_head, LegendItem, Marker};
use super::plot::Plot;
use super::style::{render, AxisFonts, FaintGrid, BLUE, GREY, VERMILLION};

/// Validation and test accuracy (with its interval) against `train_fraction`, with the
/// run time on the right axis, when the fraction varies.
pub fn train_fraction(set: &RunSet, rule: Rule) -> Result<Option<Plot>> {
    let runs: Vec<&RunSummary> = set
        .done()
        .filter(|r| r.param_f64("train_fraction").is_some())
        .collect();
    let fracs = distinct(&runs, "train_fraction");
    if fracs.len() < 2 {
        return Ok(None);
    }
    let mut chosen: Vec<&RunSummary> = Vec::new();
    let mut several = false;
    for &f in &fracs {
        let here: Vec<&RunSummary> = runs
            .iter()
            .copied()
            .filter(|r| r.param_f64("train_fraction") == Some(f))
            .collect();
        several |= here.len() > 1;
        if let Some(b) = best_of(here.iter().copied(), rule).or(here.first().copied()) {
            chosen.push(b);
        }
    }
    let others = other_varied(&runs, &["train_fraction"]);
    // Ticks at the fractions themselves; a log axis when they span a wide ratio.
    let log_x = fracs[fracs.len() - 1] / fracs[0] >= 8.0;
    let tx = move |f: f64| if log_x { f.log10() } else { f };
    let (x0, x1) = (tx(fracs[0]), tx(fracs[fracs.len() - 1]));
    let pad = (x1 - x0) * 0.06;
    let x = Ticked {
        lo: x0 - pad,
        hi: x1 + pad,
        ticks: fracs.iter().map(|&f| tx(f)).collect(),
    };
    let time_of = |r: &RunSummary| r.total_seconds.or(r.train_seconds);
    let time_desc = if chosen.iter().all(|r| r.total_seconds.is_some()) {
        "total seconds"
    } else {
        "seconds"
    };
    let pts_val: Vec<(f64, f64)> = chosen
        .iter()
        .filter_map(|r| Some((tx(r.param_f64("train_fraction")?), r.val_accuracy?)))
        .collect();
    let pts_test: Vec<(f64, f64, [f64; 2])> = chosen
        .iter()
        .filter_map(|r| {
            let t = r.single()?;
            Some((
                tx(r.param_f64("train_fraction")?),
                t.accuracy,
                t.ci.accuracy,
            ))
        })
        .collect();
    let pts_time: Vec<(f64, f64)> = chosen
        .iter()
        .filter_map(|r| Some((tx(r.param_f64("train_fraction")?), time_of(r)?)))
        .collect();
    let acc_vals: Vec<f64> = pts_val
        .iter()
        .map(|p| p.1)
        .chain(pts_test.iter().flat_map(|p| [p.1, p.2[0], p.2[1]]))
        .collect();
    if acc_vals.is_empty() {
        return Ok(None);
    }
    let (alo, ahi) = min_max(&acc_vals);
    let acc = Axis::nice(alo, ahi, 5, false, 0.0);
    let tmax = pts_time.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let time = Axis::nice(0.0, tmax.max(1.0), 5, false, 0.0);
    let title = "Accuracy and time vs training fraction".to_string();
    let (w, h) = (860u32, 500u32);
    let svg = render("train fraction", w, h, &title, |root| {
        let mut items = vec![
            LegendItem {
                label: "val accuracy".into(),
                color: BLUE,
                marker: Marker::Circle,
                dashed: false,
            },
            LegendItem {
                label: "test accuracy (95 % CI)".into(),
                color: VERMILLION,
                marker: Marker::Square,
                dashed: false,
            },
        ];
        if !pts_time.is_empty() {
            items.push(LegendItem {
                label: format!("{time_desc} (right axis)"),
                color: GREY,
                marker: Marker::Triangle,
                dashed: true,
            });
        }
        let body = draw_head(root, 78, &title, &items, 56)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(54)
            .y_label_area_size(72)
            .right_y_label_area_size(if pts_time.is_empty() { 10 } else { 76 })
            .build_cartesian_2d(x.clone(), acc.range())?
            .set_secondary_coord(x.clone(), time.range());
        let fx = |v: &f64| value_label(*v, log_x);
        let fa = |v: &f64| acc.label(*v);
        let ft = |v: &f64| time.label(*v);
        chart
            .configure_mesh()
            .x_desc(if log_x {
                "training fraction (log scale)"
            } else {
                "training fraction"
            })
            .y_desc("accuracy")
            .x_label_formatter(&fx)
            .y_label_formatter(&fa)
            .our_fonts()
            .faint_grid()
            .draw()?;
        if !pts_time.is_empty() {
            chart
                .configure_secondary_axes()
                .y_desc(time_desc)
                .y_label_formatter(&ft)
                .our_fonts()
                .draw()?;
            chart.draw_secondary_series(DashedLineSeries::new(
                pts_time.clone(),
                7,
                4,
                GREY.stroke_width(2),
            ))?;
            chart.draw_secondary_series(
                pts_time
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 6, GREY.filled())),
            )?;
        }
        chart.draw_series(LineSeries::new(pts_val.clone(), BLUE.stroke_width(2)))?;
        chart.draw_series(pts_val.iter().map(|&p| Circle::new(p, 5, BLUE.filled())))?;
        let test_line: Vec<(f64, f64)> = pts_test.iter().map(|p| (p.0, p.1)).collect();
        chart.draw_series(LineSeries::new(
            test_line.clone(),
            VERMILLION.stroke_width(2),
        ))?;
        chart.draw_series(pts_test.iter().map(|&(f, a, ci)| {
            ErrorBar::new_vertical(f, ci[0], a, ci[1], VERMILLION.stroke_width(2), 12)
        }))?;
        chart.draw_series(test_line.iter().map(|&p| {
            EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], VERMILLION.filled())
        }))?;
        Ok(())
    })?;
    let mut caption = format!(
        "Validation and test accuracy (whiskers: bootstrap 95 % interval of the test \
         accuracy) for each training fraction, and the run's {time_desc} on the right axis."
    );
    if several {
        caption.push_str(&format!(
            " Other settings vary too ({}): each fraction shows its best run by {}.",
            if others.is_empty() {
                "repeats".into()
            } else {
                others.join(", ")
            },
            score_label(rule)
        ));
    }
    Ok(Some(Plot {
        name: "train_fraction",
        title,
        caption,
        svg,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::tests::texts;
    use crate::table::fixture;

    #[test]
    fn train_fraction_chart_appears_when_the_fraction_varies() {
        let mut set = fixture::run_set();
        assert!(train_fraction(&set, Rule::ValAccuracy).unwrap().is_none());
        for (i, f) in [0.25, 0.5, 1.0].into_iter().enumerate() {
            set.runs[i]
                .params
                .insert("train_fraction".into(), serde_json::Value::from(f));
        }
        let p = train_fraction(&set, Rule::ValAccuracy).unwrap().unwrap();
        let t = texts(&p.svg);
        for l in [
            "0.25",
            "0.5",
            "1",
            "total seconds",
            "training fraction",
            "0",
            "50",
        ] {
            assert!(t.iter().any(|s| s == l), "{l} missing from {t:?}");
        }
        assert!(p.caption.contains("whiskers"));
    }
}
