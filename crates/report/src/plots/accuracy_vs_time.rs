//! (d) Test accuracy against training seconds per epoch, one point per model.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::runs::{Family, RunSet, RunSummary};
use crate::select::Rule;

use super::axis::{log_ticks, min_max, value_label, Axis, Ticked};
use super::data::{best_of, score_label};
use super::labels::{place_labels, Bounds};
use super::legend::{draw_head, draw_marker, LegendItem, Marker};
use super::plot::Plot;
use super::style::{font, render, shorten, AxisFonts, FaintGrid, BLUE, GREY, LABEL_SIZE, ORANGE};

/// Training seconds per epoch, or the whole fit for linear models.
fn epoch_seconds(r: &RunSummary) -> Option<f64> {
    match r.family {
        Family::Transformer => r.seconds_per_epoch.or(r.train_seconds),
        Family::Linear => r.train_seconds.or(r.total_seconds),
    }
}

/// Test accuracy (with its interval) against training seconds per epoch, the best run of
/// each model by `rule`, when there are several models.
pub fn accuracy_vs_time(set: &RunSet, rule: Rule) -> Result<Option<Plot>> {
    let runs: Vec<&RunSummary> = set
        .done()
        .filter(|r| r.single().is_some() && epoch_seconds(r).is_some_and(|s| s > 0.0))
        .collect();
    let mut models: BTreeMap<&str, Vec<&RunSummary>> = BTreeMap::new();
    for r in &runs {
        models.entry(r.model.as_str()).or_default().push(r);
    }
    if models.len() < 2 {
        return Ok(None);
    }
    let several = models.values().any(|v| v.len() > 1);
    // Plan order of the first run of each model.
    let mut points: Vec<(&RunSummary, f64, f64, [f64; 2])> = Vec::new();
    for group in models.values() {
        let r = best_of(group.iter().copied(), rule).unwrap_or(group[0]);
        let t = r.single().expect("filtered on test");
        points.push((
            r,
            epoch_seconds(r).unwrap_or(1.0),
            t.accuracy,
            t.ci.accuracy,
        ));
    }
    points.sort_by_key(|p| set.runs.iter().position(|r| r.id == p.0.id));
    let (slo, shi) = min_max(&points.iter().map(|p| p.1).collect::<Vec<_>>());
    // A log axis when the times span a wide ratio (linear models vs transformers), else
    // a linear one (a log axis over a narrow span would have one tick or none).
    let log_x = shi / slo >= 5.0;
    let tx = move |s: f64| if log_x { s.log10() } else { s };
    let x = if log_x {
        let (llo, lhi) = (slo.log10(), shi.log10());
        let pad = 0.08 * (lhi - llo) + 0.05;
        let (xlo, xhi) = (llo - pad, lhi + pad);
        Ticked {
            lo: xlo,
            hi: xhi,
            ticks: log_ticks(10f64.powf(xlo), 10f64.powf(xhi))
                .into_iter()
                .map(f64::log10)
                .collect(),
        }
    } else {
        let a = Axis::nice(slo, shi, 5, false, 0.0);
        let pad = 0.08 * (a.hi - a.lo);
        Ticked {
            lo: a.lo - pad,
            hi: a.hi + pad,
            ticks: a.ticks,
        }
    };
    let accs: Vec<f64> = points.iter().flat_map(|p| [p.3[0], p.3[1], p.2]).collect();
    let (alo, ahi) = min_max(&accs);
    let acc = Axis::nice(alo, ahi, 5, false, 0.04);
    let title = "Test accuracy vs training time per epoch".to_string();
    let (w, h) = (880u32, 520u32);
    let has_linear = points.iter().any(|p| p.0.family == Family::Linear);
    let svg = render("accuracy vs time", w, h, &title, |root| {
        let mut items = vec![LegendItem {
            label: "transformer (s per epoch)".into(),
            color: BLUE,
            marker: Marker::Circle,
            dashed: false,
        }];
        if has_linear {
            items.push(LegendItem {
                label: "linear (s for the whole fit)".into(),
                color: ORANGE,
                marker: Marker::Square,
                dashed: false,
            });
        }
        let body = draw_head(root, 78, &title, &items, 56)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(54)
            .y_label_area_size(72)
            .build_cartesian_2d(x.clone(), acc.range())?;
        let fx = |v: &f64| value_label(*v, log_x);
        let fa = |v: &f64| acc.label(*v);
        chart
            .configure_mesh()
            .x_desc(if log_x {
                "training seconds per epoch (log scale)"
            } else {
                "training seconds per epoch"
            })
            .y_desc("test accuracy")
            .x_label_formatter(&fx)
            .y_label_formatter(&fa)
            .our_fonts()
            .faint_grid()
            .draw()?;
        // Whiskers and markers first; their pixel boxes are obstacles for the labels.
        let mut obstacles: Vec<Bounds> = Vec::new();
        let mut anchors: Vec<(i32, i32)> = Vec::new();
        for &(r, s, a, ci) in &points {
            let color = if r.family == Family::Linear {
                ORANGE
            } else {
                BLUE
            };
            let xv = tx(s);
            chart.draw_series(std::iter::once(ErrorBar::new_vertical(
                xv,
                ci[0],
                a,
                ci[1],
                color.stroke_width(2),
                12,
            )))?;
            let m = if r.family == Family::Linear {
                Marker::Square
            } else {
                Marker::Circle
            };
            draw_marker(chart.plotting_area(), (xv, a), m, color, 6)?;
            let (cx, cy) = chart.backend_coord(&(xv, a));
            let (_, top) = chart.backend_coord(&(xv, ci[1]));
            let (_, bottom) = chart.backend_coord(&(xv, ci[0]));
            obstacles.push((cx - 8, top - 2, cx + 8, bottom + 2));
            anchors.push((cx, cy));
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let frame = (xr.start + 2, yr.start + 2, xr.end - 2, yr.end - 2);
        let labels: Vec<String> = points.iter().map(|p| shorten(&p.0.model, 36)).collect();
        let placed = place_labels(&anchors, &labels, &obstacles, frame);
        for (label, p) in labels.iter().zip(&placed) {
            if let Some((from, to)) = p.leader {
                root.draw(&PathElement::new(vec![from, to], GREY.stroke_width(1)))?;
            }
            let h = if p.right { HPos::Right } else { HPos::Left };
            root.draw(&Text::new(
                label.clone(),
                (p.x, p.y),
                font(LABEL_SIZE).pos(Pos::new(h, VPos::Center)),
            ))?;
        }
        Ok(())
    })?;
    let mut caption = "Test accuracy (whiskers: bootstrap 95 % interval) against training \
                       seconds per epoch, one point per model; for linear models the whole \
                       fit counts as one epoch."
        .to_string();
    if several {
        caption.push_str(&format!(
            " Models with several runs show their best run by {}.",
            score_label(rule)
        ));
    }
    Ok(Some(Plot {
        name: "accuracy_vs_time",
        title,
        caption,
        svg,
    }))
}
