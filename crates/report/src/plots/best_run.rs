//! (e) The best run's per-class F1 and (f) its row-normalised confusion matrix.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::runs::RunSummary;

use super::axis::{top_down_label, Axis, Ticked};
use super::plot::Plot;
use super::style::{
    centered, draw_cell, font, ink_on, ramp, render, shorten, shorten_middle, text_width,
    AxisFonts, FaintGrid, BLUE, BLUES, FONT, INK, LABEL_SIZE, TITLE_SIZE,
};

/// Horizontal bars of the test F1 of each class of `run`.
pub fn per_class_f1(run: &RunSummary) -> Result<Option<Plot>> {
    let Some(t) = run.single().filter(|t| !t.per_class.is_empty()) else {
        return Ok(None);
    };
    let bars: Vec<(&str, u64, f64)> = t
        .per_class
        .iter()
        .map(|c| (c.label.as_str(), c.support, c.f1))
        .collect();
    let title = format!("Per-class F1 of {} (test)", shorten(&run.id, 48));
    let svg = f1_bars(&title, &bars)?;
    let caption = format!(
        "F1 of each class on the test set for the best run {} (n = test rows of that class); \
         macro F1 {:.3}.",
        run.id, t.macro_f1
    );
    Ok(Some(Plot {
        name: "per_class_f1",
        title,
        caption,
        svg,
    }))
}

/// Horizontal bars of F1 per class or label: `(name, support, F1)`, the first at the top.
pub(super) fn f1_bars(title: &str, bars: &[(&str, u64, f64)]) -> Result<String> {
    let k = bars.len();
    let labels: Vec<String> = bars
        .iter()
        .map(|(l, n, _)| format!("{} (n={n})", shorten_middle(l, 28)))
        .collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .max()
        .unwrap_or(40) as u32
        + 24;
    let bar_h = 34u32;
    let h = 120 + bar_h * k as u32;
    let w = (label_w + 600).max(700);
    let x = Axis::nice(0.0, 1.0, 5, false, 0.0);
    render("F1 bars", w, h, title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(TITLE_SIZE))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x.range(), Ticked::categories(k))?;
        // Class 0 at the top.
        let fy = |v: &f64| top_down_label(&labels, *v);
        let fx = |v: &f64| x.label(*v);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("F1 (test)")
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .our_fonts()
            .faint_grid()
            .draw()?;
        for (i, &(_, _, raw)) in bars.iter().enumerate() {
            let y = (k - 1 - i) as f64;
            let f1 = if raw.is_finite() {
                raw.clamp(0.0, 1.0)
            } else {
                0.0
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.18), (f1, y + 0.82)],
                BLUE.filled(),
            )))?;
            let inside = f1 > 0.16;
            let (pos, color, xoff) = if inside {
                (Pos::new(HPos::Right, VPos::Center), WHITE, -6)
            } else {
                (Pos::new(HPos::Left, VPos::Center), INK, 6)
            };
            chart.draw_series(std::iter::once(
                EmptyElement::at((f1, y + 0.5))
                    + Text::new(
                        format!("{raw:.3}"),
                        (xoff, 0),
                        (FONT, LABEL_SIZE).into_font().color(&color).pos(pos),
                    ),
            ))?;
        }
        Ok(())
    })
}

/// The row-normalised test confusion matrix of `run` with counts.
pub fn confusion(run: &RunSummary) -> Result<Option<Plot>> {
    let Some(t) = run.single() else {
        return Ok(None);
    };
    let cm = &t.confusion;
    let k = cm.labels.len();
    if k == 0 || cm.counts.len() != k || cm.row_normalized.len() != k {
        return Ok(None);
    }
    let title = format!("Confusion matrix of {} (test)", shorten(&run.id, 44));
    let (svg, show_counts) = share_matrix(
        &title,
        &cm.labels,
        &cm.counts,
        &cm.row_normalized,
        ("predicted class", "gold class"),
    )?;
    let caption = format!(
        "Test confusion matrix of the best run {}: each row is a gold class, each cell the \
         share of that class predicted as the column's class{}.",
        run.id,
        if show_counts {
            " (count in brackets)"
        } else {
            ""
        }
    );
    Ok(Some(Plot {
        name: "confusion",
        title,
        caption,
        svg,
    }))
}

/// A `k × k` matrix of row shares with counts (a confusion or co-occurrence matrix), the
/// first row at the top; `axes` names the columns and the rows. Returns the SVG and
/// whether the counts are shown.
pub(super) fn share_matrix(
    title: &str,
    names: &[String],
    counts: &[Vec<u64>],
    shares: &[Vec<f64>],
    axes: (&str, &str),
) -> Result<(String, bool)> {
    let k = names.len();
    let labels: Vec<String> = names.iter().map(|l| shorten_middle(l, 26)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .max()
        .unwrap_or(30) as u32;
    let cell = (600 / k as u32).clamp(30, 110);
    let rotate = label_w + 8 > cell;
    let left = label_w + 60;
    let bottom = if rotate { label_w + 76 } else { 76 };
    let w = (left + cell * k as u32 + 40).max(460);
    let h = 70 + cell * k as u32 + bottom;
    let show_counts = cell >= 56;
    let show_text = cell >= 30 && k <= 20;
    let svg = render("matrix", w, h, title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(TITLE_SIZE))
            .margin(12)
            .margin_right(28)
            .x_label_area_size(bottom - 20)
            .y_label_area_size(left - 12)
            .build_cartesian_2d(Ticked::categories(k), Ticked::categories(k))?;
        // Rotated column labels are drawn below, reading upwards and ending at the axis
        // (plotters would centre them on the tick, over the cells).
        let fx = |v: &f64| {
            if rotate {
                String::new()
            } else {
                labels.get(v.floor() as usize).cloned().unwrap_or_default()
            }
        };
        let fy = |v: &f64| top_down_label(&labels, *v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .our_fonts()
            .draw()?;
        if rotate {
            for (i, l) in labels.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
                root.draw(&Text::new(
                    l.clone(),
                    (px, py + 10),
                    font(LABEL_SIZE)
                        .transform(FontTransform::Rotate270)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                ))?;
            }
        }
        for gold in 0..k {
            for pred in 0..k {
                let share = shares
                    .get(gold)
                    .and_then(|r| r.get(pred))
                    .copied()
                    .unwrap_or(0.0);
                let count = counts
                    .get(gold)
                    .and_then(|r| r.get(pred))
                    .copied()
                    .unwrap_or(0);
                let (x0, y0) = (pred as f64, (k - 1 - gold) as f64);
                let fill = ramp(&BLUES, share);
                let outline = RGBColor(210, 210, 210).stroke_width(1);
                draw_cell(&mut chart, (x0, y0), fill, outline)?;
                if !show_text || count == 0 {
                    continue;
                }
                let ink = ink_on(fill);
                let big = if cell >= 70 { 20.0 } else { 16.0 };
                let share_y = if show_counts { y0 + 0.6 } else { y0 + 0.5 };
                chart.draw_series(std::iter::once(Text::new(
                    format!("{share:.2}"),
                    (x0 + 0.5, share_y),
                    centered(big, &ink),
                )))?;
                if show_counts {
                    chart.draw_series(std::iter::once(Text::new(
                        format!("({count})"),
                        (x0 + 0.5, y0 + 0.32),
                        centered(16.0, &ink),
                    )))?;
                }
            }
        }
        Ok(())
    })?;
    Ok((svg, show_counts))
}
