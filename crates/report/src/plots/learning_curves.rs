//! (a) Learning curves: train and validation loss and validation accuracy per validation,
//! one small panel per transformer run.

use plotters::prelude::*;

use crate::error::Result;
use crate::runs::{Family, RunSet, RunStatus, RunSummary};
use crate::select::Selection;

use super::axis::{min_max, Axis};
use super::legend::{draw_head, LegendItem, Marker};
use super::style::{
    font, render, shorten, Area, AxisFonts, FaintGrid, Fallible, BLUE, GREEN, INK,
    PANEL_TITLE_SIZE, VERMILLION,
};
use super::Plot;

struct Curve<'a> {
    run: &'a RunSummary,
    xs: Vec<f64>,
}

/// Train/validation loss and validation accuracy of every transformer run with recorded
/// validations, one panel per run on shared axes.
pub fn learning_curves(set: &RunSet, selection: Option<&Selection>) -> Result<Option<Plot>> {
    let runs: Vec<&RunSummary> = set
        .runs
        .iter()
        .filter(|r| r.family == Family::Transformer && !r.epochs.is_empty())
        .collect();
    if runs.is_empty() {
        return Ok(None);
    }
    let steps_per_epoch = |r: &RunSummary| {
        r.epochs
            .iter()
            .find(|p| p.epoch_end && p.step > 0)
            .map(|p| p.step as f64 / p.epoch as f64)
    };
    let by_epoch = runs.iter().all(|r| steps_per_epoch(r).is_some());
    let curves: Vec<Curve> = runs
        .iter()
        .map(|r| Curve {
            run: r,
            xs: r
                .epochs
                .iter()
                .map(|p| match steps_per_epoch(r) {
                    Some(spe) if by_epoch => p.step as f64 / spe,
                    _ => p.step as f64,
                })
                .collect(),
        })
        .collect();
    let all = || curves.iter().flat_map(|c| c.run.epochs.iter());
    let max_loss = all()
        .flat_map(|p| [p.train_loss, p.val_loss])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let (acc_lo, acc_hi) = all()
        .map(|p| p.val_accuracy)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (x_lo, x_hi) = min_max(
        &curves
            .iter()
            .flat_map(|c| c.xs.iter().copied())
            .collect::<Vec<_>>(),
    );
    // Start at the first validation (epoch 1 when every validation closes an epoch).
    let x_axis = Axis::nice(x_lo.floor().max(0.0), x_hi.max(x_lo + 1.0), 6, true, 0.06);
    let loss_axis = Axis::nice(0.0, max_loss.max(1e-3), 4, false, 0.0);
    let acc_axis = Axis::nice(acc_lo, acc_hi, 4, false, 0.06);
    let best = selection.map(|s| s.best.as_str());

    let n = curves.len();
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let (pw, ph) = if n == 1 { (760u32, 420u32) } else { (416, 310) };
    let (title_h, legend_h) = (44u32, 34u32);
    let w = pw * cols as u32;
    let h = title_h + legend_h + ph * rows as u32;
    let title = "Learning curves".to_string();
    let x_desc = if by_epoch { "epoch" } else { "step" };
    let svg = render("learning curves", w, h, &title, |root| {
        let body = draw_head(
            root,
            title_h + legend_h,
            &title,
            &[
                LegendItem {
                    label: "train loss".into(),
                    color: BLUE,
                    marker: Marker::Circle,
                    dashed: false,
                },
                LegendItem {
                    label: "val loss".into(),
                    color: VERMILLION,
                    marker: Marker::Triangle,
                    dashed: false,
                },
                LegendItem {
                    label: "val accuracy (right axis)".into(),
                    color: GREEN,
                    marker: Marker::Square,
                    dashed: true,
                },
                LegendItem {
                    label: "min val loss (selection point)".into(),
                    color: INK,
                    marker: Marker::Ring,
                    dashed: false,
                },
            ],
            (title_h + legend_h / 2) as i32 - 4,
        )?;
        let panels = body.split_evenly((rows, cols));
        for (c, area) in curves.iter().zip(panels.iter()) {
            let mut name = c.run.id.clone();
            if Some(c.run.id.as_str()) == best {
                name.push_str("  ★ best");
            } else if let RunStatus::Failed { .. } = c.run.status {
                name.push_str("  (failed)");
            }
            let max_chars = ((pw as f64 - 20.0) / (PANEL_TITLE_SIZE / 1.24 * 0.6)) as usize;
            panel(
                area,
                c,
                &shorten(&name, max_chars),
                &x_axis,
                &loss_axis,
                &acc_axis,
                x_desc,
            )?;
        }
        Ok(())
    })?;
    let caption = format!(
        "Training and validation loss (left axis) and validation accuracy (right axis, \
         dashed) at every validation of the {n} transformer run{}; all panels share their \
         axes. The ring marks the validation with the lowest loss, where the selection score \
         is read.",
        if n == 1 { "" } else { "s" }
    );
    Ok(Some(Plot {
        name: "learning_curves",
        title,
        caption,
        svg,
    }))
}

fn panel(
    area: &Area,
    c: &Curve,
    name: &str,
    x: &Axis,
    loss: &Axis,
    acc: &Axis,
    x_desc: &str,
) -> Fallible {
    let mut chart = ChartBuilder::on(area)
        .caption(name, font(PANEL_TITLE_SIZE))
        .margin(10)
        .margin_top(4)
        .x_label_area_size(50)
        .y_label_area_size(62)
        .right_y_label_area_size(70)
        .build_cartesian_2d(x.range(), loss.range())?
        .set_secondary_coord(x.range(), acc.range());
    let fx = |v: &f64| x.label(*v);
    let fl = |v: &f64| loss.label(*v);
    let fa = |v: &f64| acc.label(*v);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("loss")
        .x_label_formatter(&fx)
        .y_label_formatter(&fl)
        .our_fonts()
        .faint_grid()
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("val accuracy")
        .y_label_formatter(&fa)
        .our_fonts()
        .draw()?;
    let pts = &c.run.epochs;
    let line = |f: fn(&crate::runs::EpochPoint) -> f64| -> Vec<(f64, f64)> {
        c.xs.iter().zip(pts).map(|(&x, p)| (x, f(p))).collect()
    };
    let train = line(|p| p.train_loss);
    let val = line(|p| p.val_loss);
    let vacc = line(|p| p.val_accuracy);
    chart.draw_series(LineSeries::new(train.clone(), BLUE.stroke_width(2)))?;
    chart.draw_series(train.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;
    chart.draw_series(LineSeries::new(val.clone(), VERMILLION.stroke_width(2)))?;
    chart.draw_series(
        val.iter()
            .map(|&p| TriangleMarker::new(p, 5, VERMILLION.filled())),
    )?;
    chart.draw_secondary_series(DashedLineSeries::new(
        vacc.clone(),
        7,
        4,
        GREEN.stroke_width(2),
    ))?;
    chart.draw_secondary_series(
        vacc.iter()
            .map(|&p| EmptyElement::at(p) + Rectangle::new([(-3, -3), (3, 3)], GREEN.filled())),
    )?;
    if let Some(i) = (0..pts.len()).min_by(|&a, &b| pts[a].val_loss.total_cmp(&pts[b].val_loss)) {
        chart.draw_series(std::iter::once(Circle::new(val[i], 8, INK.stroke_width(2))))?;
        chart.draw_secondary_series(std::iter::once(Circle::new(
            vacc[i],
            8,
            INK.stroke_width(2),
        )))?;
    }
    Ok(())
}
