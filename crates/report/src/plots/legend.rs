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

/// A horizontal legend, centred in `area` at height `y`.
pub(super) fn draw_legend(area: &Area, items: &[LegendItem], y: i32) -> Fallible {
    const SWATCH: i32 = 30;
    const GAP: i32 = 28;
    let widths: Vec<i32> = items
        .iter()
        .map(|it| SWATCH + 8 + text_width(&it.label, LABEL_SIZE))
        .collect();
    let total: i32 = widths.iter().sum::<i32>() + GAP * (items.len() as i32 - 1).max(0);
    let (w, _) = area.dim_in_pixel();
    let mut x = ((w as i32 - total) / 2).max(4);
    for (it, width) in items.iter().zip(widths) {
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
        x += width + GAP;
    }
    Ok(())
}

/// Draws a chart's head into the top `head_h` pixels of `root`: `title` centred at the
/// top, the legend of `items` at height `legend_y`. Returns the area below, for the chart.
pub(super) fn draw_head<'a>(
    root: &Area<'a>,
    head_h: u32,
    title: &str,
    items: &[LegendItem],
    legend_y: i32,
) -> Fallible<Area<'a>> {
    let (head, body) = root.split_vertically(head_h);
    head.draw(&Text::new(
        title.to_string(),
        (root.dim_in_pixel().0 as i32 / 2, 8),
        font(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    draw_legend(&head, items, legend_y)?;
    Ok(body)
}
