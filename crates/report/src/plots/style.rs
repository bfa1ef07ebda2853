//! The charts' look and canvas: fonts, colours, text width estimates and shortening,
//! colour ramps, and [`render`], which draws onto an SVG canvas.

use plotters::chart::{MeshStyle, SecondaryMeshStyle};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{ReportError, Result};

use super::axis::Ticked;

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub(super) type Fallible<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

pub(super) const FONT: &str = "sans-serif";

/// Okabe–Ito colours.
pub(super) const BLUE: RGBColor = RGBColor(0, 114, 178);
pub(super) const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub(super) const GREEN: RGBColor = RGBColor(0, 158, 115);
pub(super) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
pub(super) const GREY: RGBColor = RGBColor(120, 120, 120);
pub(super) const INK: RGBColor = RGBColor(34, 34, 34);

/// Font sizes as plotters takes them (the SVG gets size / 1.24 px).
pub(super) const TITLE_SIZE: f64 = 24.0;
pub(super) const PANEL_TITLE_SIZE: f64 = 19.0;
pub(super) const LABEL_SIZE: f64 = 18.0;
pub(super) const DESC_SIZE: f64 = 19.0;

/// Estimated width in pixels of `text` drawn at plotters size `size`.
pub(super) fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size / 1.24 * 0.56).ceil() as i32
}

pub(super) fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

pub(super) fn centered(size: f64, color: &RGBColor) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(color)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// Shortens `text` in the middle, keeping both ends (class names often share a prefix:
/// `comp.sys.ibm.pc.hardware`, `comp.sys.mac.hardware`).
pub(super) fn shorten_middle(text: &str, max_chars: usize) -> String {
    let n = text.chars().count();
    if n <= max_chars {
        return text.to_string();
    }
    let tail = (max_chars - 1) / 2;
    let head = max_chars - 1 - tail;
    let chars: Vec<char> = text.chars().collect();
    let mut s: String = chars[..head].iter().collect();
    s.push('…');
    s.extend(&chars[n - tail..]);
    s
}

pub(super) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Draws onto a white `w` × `h` canvas and returns the SVG document, with `title` as its
/// accessible `<title>`.
pub(super) fn render(
    name: &str,
    w: u32,
    h: u32,
    title: &str,
    draw: impl FnOnce(&Area) -> Fallible,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let drawn: Fallible = (|| {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        drawn.map_err(|e| ReportError::Invalid(format!("cannot draw the {name} chart: {e}")))?;
    }
    if let Some(end) = svg.find('>') {
        let head = format!(
            " role=\"img\" font-family=\"{FONT}\"><title>{}</title>",
            escape_xml(title)
        );
        svg.replace_range(end..=end, &head);
    }
    Ok(svg)
}

/// Escapes text for XML/HTML content and attribute values.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Linear interpolation through colour anchors, `t` in 0..=1.
pub(super) fn ramp(anchors: &[(u8, u8, u8)], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    let f = pos - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (anchors[i], anchors[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Viridis, sampled at tenths.
pub(super) const VIRIDIS: [(u8, u8, u8); 10] = [
    (68, 1, 84),
    (72, 40, 120),
    (62, 74, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (109, 205, 89),
    (180, 222, 44),
    (253, 231, 37),
];

/// White to dark blue.
pub(super) const BLUES: [(u8, u8, u8); 5] = [
    (247, 251, 255),
    (198, 219, 239),
    (107, 174, 214),
    (33, 113, 181),
    (8, 48, 107),
];

/// Black or white, whichever reads better on `c`.
pub(super) fn ink_on(c: RGBColor) -> RGBColor {
    let lum = 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
    if lum > 140.0 {
        INK
    } else {
        WHITE
    }
}

/// The axes' look every chart shares: our fonts for tick labels and axis titles.
pub(super) trait AxisFonts {
    fn our_fonts(&mut self) -> &mut Self;
}

impl<X, Y, XT, YT, DB> AxisFonts for MeshStyle<'_, '_, X, Y, DB>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
    DB: DrawingBackend,
{
    fn our_fonts(&mut self) -> &mut Self {
        self.label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
    }
}

impl<X, Y, XT, YT, DB> AxisFonts for SecondaryMeshStyle<'_, '_, X, Y, DB>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
    DB: DrawingBackend,
{
    fn our_fonts(&mut self) -> &mut Self {
        self.label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
    }
}

/// The grid of the charts with value axes: faint lines at the ticks, none between.
pub(super) trait FaintGrid {
    fn faint_grid(&mut self) -> &mut Self;
}

impl<X, Y, XT, YT, DB> FaintGrid for MeshStyle<'_, '_, X, Y, DB>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
    DB: DrawingBackend,
{
    fn faint_grid(&mut self) -> &mut Self {
        self.bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
    }
}

/// Fills the unit cell at `(x0, y0)` of a category × category chart, then outlines it.
pub(super) fn draw_cell(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<Ticked, Ticked>>,
    (x0, y0): (f64, f64),
    fill: RGBColor,
    outline: ShapeStyle,
) -> Fallible {
    let cell = [(x0, y0), (x0 + 1.0, y0 + 1.0)];
    chart.draw_series(std::iter::once(Rectangle::new(cell, fill.filled())))?;
    chart.draw_series(std::iter::once(Rectangle::new(cell, outline)))?;
    Ok(())
}
