//! Markers and the horizontal legend above a chart.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{font, text_width, Area, Fallible, LABEL_SIZE, TITLE_SIZE};

pub(super) struct LegendItem {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) marker: Marker,
    pub(super) dashed: bool,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Marker {
    Circle,
    Triangle,
    Square,
    Ring,
}

/// Draws marker `m` at `at` (in `area`'s coordinates).
pub(super) fn draw_marker<CT>(
    area: &DrawingArea<SVGBackend, CT>,
    at: CT::From,
    m: Marker,
    color: RGBColor,
    size: i32,
) -> Fallible
where
    CT: plotters::coord::CoordTranslate,
    CT::From: Clone + 'static,
{
    let here = || EmptyElement::at(at.clone());
    match m {
        Marker::Circle => area.draw(&(here() + Circle::new((0, 0), size, color.filled())))?,
        Marker::Triangle => {
            area.draw(&(here() + TriangleMarker::new((0, 0), size + 1, color.filled())))?
        }
        Marker::Square => {
            area.draw(&(here() + Rectangle::new([(-size, -size), (size, size)], color.filled())))?
        }
        Marker::Ring => {
            area.draw(&(here() + Circle::new((0, 0), size + 3, color.stroke_width(2))))?
        }
    }
    Ok(())
}

/// Space between legend items, and the length of an item's line swatch.
const SWATCH: i32 = 30;
const GAP: i32 = 28;
/// Height of one legend row, when the legend needs more than one.
pub(super) const LEGEND_ROW_H: i32 = 22;
/// How much wider than our estimate a browser's sans-serif may draw the labels; a legend
/// is wrapped when it would not fit at this width.
const BROWSER_SLACK: f64 = 1.15;

fn item_widths(items: &[LegendItem], slack: f64) -> Vec<i32> {
    items
        .iter()
        .map(|it| SWATCH + 8 + (text_width(&it.label, LABEL_SIZE) as f64 * slack).ceil() as i32)
        .collect()
}

/// The legend's rows for a chart `width` pixels wide: item indices per row. One row when
/// every label fits with room for wider browser fonts, else as many items per row as fit.
pub(super) fn legend_rows(items: &[LegendItem], width: u32) -> Vec<Vec<usize>> {
    let room = width as i32 - 16;
    let widths = item_widths(items, BROWSER_SLACK);
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, w) in widths.iter().enumerate() {
        match rows.last_mut() {
            Some(row) if used + GAP + w <= room => {
                row.push(i);
                used += GAP + w;
            }
            _ => {
                rows.push(vec![i]);
                used = *w;
            }
        }
    }
    rows
}

/// A horizontal legend, centred in `area` at height `y`; when it does not fit in one row
/// (see [`legend_rows`]), further rows follow [`LEGEND_ROW_H`] pixels apart.
pub(super) fn draw_legend(area: &Area, items: &[LegendItem], y: i32) -> Fallible {
    let (w, _) = area.dim_in_pixel();
    let widths = item_widths(items, 1.0);
    for (r, row) in legend_rows(items, w).iter().enumerate() {
        let total: i32 = row.iter().map(|&i| widths[i]).sum::<i32>() + GAP * (row.len() as i32 - 1);
        let mut x = ((w as i32 - total) / 2).max(4);
        let y = y + r as i32 * LEGEND_ROW_H;
        for &i in row {
            let it = &items[i];
            if it.dashed {
                area.draw(&DashedPathElement::new(
                    vec![(x, y), (x + SWATCH, y)],
                    6,
                    4,
                    it.color.stroke_width(2),
                ))?;
            } else if it.marker != Marker::Ring {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + SWATCH, y)],
                    it.color.stroke_width(2),
                ))?;
            }
            draw_marker(area, (x + SWATCH / 2, y), it.marker, it.color, 4)?;
            area.draw(&Text::new(
                it.label.clone(),
                (x + SWATCH + 8, y),
                font(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += widths[i] + GAP;
        }
    }
    Ok(())
}

/// Pixels a legend of `items` adds below its first row in a chart `width` pixels wide.
pub(super) fn legend_extra_height(items: &[LegendItem], width: u32) -> u32 {
    (legend_rows(items, width).len().saturating_sub(1) as i32 * LEGEND_ROW_H) as u32
}

/// Draws a chart's head into the top `head_h` pixels of `root` (plus
/// [`legend_extra_height`] when the legend wraps): `title` centred at the top, the legend
/// of `items` from height `legend_y`. Returns the area below, for the chart.
pub(super) fn draw_head<'a>(
    root: &Area<'a>,
    head_h: u32,
    title: &str,
    items: &[LegendItem],
    legend_y: i32,
) -> Fallible<Area<'a>> {
    let head_h = head_h + legend_extra_height(items, root.dim_in_pixel().0);
    let (head, body) = root.split_vertically(head_h);
    head.draw(&Text::new(
        title.to_string(),
        (root.dim_in_pixel().0 as i32 / 2, 8),
        font(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    draw_legend(&head, items, legend_y)?;
    Ok(body)
}
