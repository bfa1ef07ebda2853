//! (a) Learning curves: train and validation loss and validation accuracy per validation,
//! one small panel per transformer run.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::runs::{Family, RunSet, RunStatus, RunSummary};
use crate::select::Selection;

use super::axis::{min_max, Axis};

use super::legend::{draw_head, legend_extra_height, LegendItem, Marker};
use super::plot::Plot;
use super::style::{
    font, render, shorten, Area, AxisFonts, FaintGrid, Fallible, BLUE, GREEN, INK,
    PANEL_TITLE_SIZE, VERMILLION,
};

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
    let (loss_lo, loss_hi) = all()
        .flat_map(|p| [p.train_loss, p.val_loss])
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
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
    let loss_axis = loss_axis(loss_lo, loss_hi);
    let acc_axis = Axis::nice(acc_lo, acc_hi, 4, false, 0.06);
    let best = selection.map(|s| s.best.as_str());

    let n = curves.len();
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let (pw, ph) = if n == 1 { (760u32, 420u32) } else { (416, 310) };
    let w = pw * cols as u32;
    let items = legend_items();
    let (title_h, legend_h) = (44u32, 34u32);
    let head_h = title_h + legend_h;
    let h = head_h + legend_extra_height(&items, w) + ph * rows as u32;
    let title = "Learning curves".to_string();
    let x_desc = if by_epoch { "epoch" } else { "step" };
    let svg = render("learning curves", w, h, &title, |root| {
        let body = draw_head(
            root,
            head_h,
            &title,
            &items,
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
    let single = curves.iter().filter(|c| c.run.epochs.len() == 1).count();
    let caption = format!(
        "Training and validation loss (left axis) and validation accuracy (right axis, \
         dashed) at every validation of the {n} transformer run{}; all panels share their \
         axes. The ring marks the validation with the lowest loss, where the selection score \
         is read.{}",
        if n == 1 { "" } else { "s" },
        match single {
            0 => String::new(),
            1 if n == 1 => " The run has one validation, so it shows as labelled points, \
                            not lines."
                .to_string(),
            k => format!(
                " {k} run{} one validation each, so {} as labelled points, not lines.",
                if k == 1 { " has" } else { "s have" },
                if k == 1 { "it shows" } else { "they show" }
            ),
        }
    );
    Ok(Some(Plot {
        name: "learning_curves",
        title,
        caption,
        svg,
    }))
}

/// Font size of the value labels of a run with a single validation.
const POINT_LABEL_SIZE: f64 = 16.0;

fn legend_items() -> Vec<LegendItem> {
    vec![
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
    ]
}

/// The loss axis: fitted to the losses with a little margin (it starts at 0 only when the
/// losses come close to it), never below 0.
fn loss_axis(lo: f64, hi: f64) -> Axis {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let mut axis = Axis::nice(lo.max(0.0), hi.max(lo + 1e-3), 4, false, 0.06);
    if axis.lo < 0.0 {
        axis.lo = 0.0;
    }
    axis
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
    // A run with one validation has no line to draw: its points get larger markers and
    // a label with their values.
    let single = pts.len() == 1;
    let (r_dot, r_tri, r_sq) = if single { (6, 8, 6) } else { (3, 5, 3) };
    chart.draw_series(LineSeries::new(train.clone(), BLUE.stroke_width(2)))?;
    chart.draw_series(train.iter().map(|&p| Circle::new(p, r_dot, BLUE.filled())))?;
    chart.draw_series(LineSeries::new(val.clone(), VERMILLION.stroke_width(2)))?;
    chart.draw_series(
        val.iter()
            .map(|&p| TriangleMarker::new(p, r_tri, VERMILLION.filled())),
    )?;
    chart.draw_secondary_series(DashedLineSeries::new(
        vacc.clone(),
        7,
        4,
        GREEN.stroke_width(2),
    ))?;
    chart.draw_secondary_series(vacc.iter().map(|&p| {
        EmptyElement::at(p) + Rectangle::new([(-r_sq, -r_sq), (r_sq, r_sq)], GREEN.filled())
    }))?;
    if single {
        let p = &pts[0];
        // Train loss below its dot, validation loss above: they stay apart when equal.
        let label = |text: String, at: (f64, f64), color: &'static RGBColor, dy: i32| {
            EmptyElement::at(at)
                + Text::new(
                    text,
                    (14, dy),
                    font(POINT_LABEL_SIZE)
                        .color(color)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
        };
        chart.draw_series([
            label(
                format!("train loss {:.3}", p.train_loss),
                train[0],
                &BLUE,
                9,
            ),
            label(
                format!("val loss {:.3}", p.val_loss),
                val[0],
                &VERMILLION,
                -9,
            ),
        ])?;
        chart.draw_secondary_series(std::iter::once(label(
            format!("val acc {:.3}", p.val_accuracy),
            vacc[0],
            &GREEN,
            0,
        )))?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::legend::legend_rows;
    use crate::plots::tests::texts;
    use crate::runs::EpochPoint;
    use crate::table::fixture;

    fn point(epoch: usize, train_loss: f64, val_loss: f64, val_acc: f64) -> EpochPoint {
        EpochPoint {
            epoch,
            step: 10 * epoch as u64,
            epoch_end: true,
            train_loss,
            train_accuracy: 0.6,
            val_loss,
            val_accuracy: val_acc,
            val_macro_f1: val_acc,
            val_micro_f1: None,
            val_pearson: None,
            train_seconds: 5.0 * epoch as f64,
            samples_per_s: 10.0,
            lr: 0.0,
            tokens_per_s: 0.0,
            padding_waste: 0.0,
        }
    }

    fn one_run(points: Vec<EpochPoint>) -> RunSet {
        let mut set = fixture::run_set();
        set.runs.truncate(1);
        set.runs[0].epochs = points;
        set
    }

    /// The y of every tick label of the loss axis (left of the first panel).
    fn loss_ticks(svg: &str) -> Vec<f64> {
        texts(svg)
            .iter()
            .filter_map(|t| t.parse::<f64>().ok())
            .collect()
    }

    #[test]
    fn the_legend_fits_a_single_run_chart_with_its_full_text() {
        // One run: the narrowest chart (760 px), where the legend used to run off the edge.
        let set = one_run(vec![point(1, 0.69, 0.68, 0.6), point(2, 0.65, 0.66, 0.7)]);
        let p = learning_curves(&set, None).unwrap().unwrap();
        let t = texts(&p.svg);
        for label in [
            "train loss",
            "val loss",
            "val accuracy (right axis)",
            "min val loss (selection point)",
        ] {
            assert!(t.iter().any(|s| s == label), "{label} missing from {t:?}");
        }
        // Every legend label starts and (by our width estimate, with browser slack) ends
        // inside the canvas: the legend wraps onto a second row.
        let rows = legend_rows(&legend_items(), 760);
        assert!(rows.len() >= 2, "{rows:?}");
        let width: f64 = 760.0;
        for (label, x) in svg_text_x(&p.svg) {
            if label == "min val loss (selection point)" || label == "val accuracy (right axis)" {
                let end = x + super::super::style::text_width(&label, 18.0) as f64 * 1.15;
                assert!(x >= 0.0 && end <= width, "{label} at {x}..{end}");
            }
        }
        assert!(p.svg.contains("height=\"520\""), "taller by one legend row");
        // Wide charts keep the legend on one row.
        assert_eq!(legend_rows(&legend_items(), 1248).len(), 1);
    }

    /// (text, x) of every `<text>` element.
    fn svg_text_x(svg: &str) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for part in svg.split("<text").skip(1) {
            let x = part
                .split("x=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN);
            let text = part
                .split_once('>')
                .and_then(|(_, r)| r.split_once("</text>"))
                .map_or(String::new(), |(t, _)| t.trim().to_string());
            out.push((text, x));
        }
        out
    }

    #[test]
    fn the_loss_axis_fits_the_losses_instead_of_starting_at_zero() {
        let set = one_run(vec![point(1, 0.70, 0.69, 0.5), point(2, 0.60, 0.65, 0.6)]);
        let p = learning_curves(&set, None).unwrap().unwrap();
        let ticks = loss_ticks(&p.svg);
        assert!(ticks.contains(&0.6) && ticks.contains(&0.7), "{ticks:?}");
        assert!(!ticks.contains(&0.0), "{ticks:?}");
        assert!(!ticks.contains(&0.2), "{ticks:?}");
        let axis = loss_axis(0.6, 0.7);
        assert!(axis.lo > 0.55 && axis.lo < 0.6, "{axis:?}");
        assert!(axis.hi > 0.7 && axis.hi < 0.75, "{axis:?}");
        // Losses close to 0 keep 0 as the floor, never below.
        let near_zero = loss_axis(0.01, 0.9);
        assert_eq!(near_zero.lo, 0.0);
        assert_eq!(near_zero.ticks[0], 0.0);
    }

    #[test]
    fn a_run_with_one_validation_gets_labelled_markers() {
        let set = one_run(vec![point(1, 0.6935, 0.6871, 0.708)]);
        let p = learning_curves(&set, None).unwrap().unwrap();
        let t = texts(&p.svg);
        for label in ["train loss 0.694", "val loss 0.687", "val acc 0.708"] {
            assert!(t.iter().any(|s| s == label), "{label} missing from {t:?}");
        }
        // Larger markers than on a curve: a circle of radius 6.
        assert!(p.svg.contains("r=\"6\""), "no large dot");
        assert!(p.caption.contains("one validation"), "{}", p.caption);
        // A run with several validations has no value labels.
        let set = one_run(vec![point(1, 0.69, 0.68, 0.6), point(2, 0.65, 0.66, 0.7)]);
        let p = learning_curves(&set, None).unwrap().unwrap();
        assert!(!texts(&p.svg).iter().any(|s| s.starts_with("val loss 0.")));
        assert!(!p.caption.contains("one validation"));
    }
}
