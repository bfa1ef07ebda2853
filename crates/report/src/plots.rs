//! Charts of a [`RunSet`] as SVG text, drawn with `plotters`' SVG backend.
//!
//! Each chart is made only when its data exists:
//!
//! * `learning_curves`: train and validation loss and validation accuracy per
//!   validation, one small panel per transformer run;
//! * `heatmap_max_len_lr`: the selection score on the max_len × lr grid;
//! * `train_fraction`: validation and test accuracy (with its interval) against the
//!   share of the training data, with the run time on a second axis;
//! * `accuracy_vs_time`: test accuracy against training seconds per epoch, one point
//!   per model;
//! * `per_class_f1` and `confusion`: the best run's per-class F1 and its row-normalised
//!   confusion matrix.
//!
//! Text is written as SVG `<text>` in the browser's sans-serif font (plotters is built
//! without its `ttf` feature, so no system font library is needed); the layout below
//! leaves room for labels from an estimate of their width. Colours come from the
//! Okabe–Ito palette and from viridis / a single-hue blue ramp, all colour-blind safe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{ReportError, Result};
use crate::runs::{Family, RunSet, RunStatus, RunSummary};
use crate::select::{Rule, Selection};
use crate::table::{fmt_number, fmt_sci, write_atomic};

/// File stems of every chart this module can make, in report order.
pub const PLOT_NAMES: [&str; 6] = [
    "learning_curves",
    "heatmap_max_len_lr",
    "train_fraction",
    "accuracy_vs_time",
    "per_class_f1",
    "confusion",
];

/// One chart.
#[derive(Clone, Debug)]
pub struct Plot {
    /// File stem (`plots/<name>.svg`), one of [`PLOT_NAMES`].
    pub name: &'static str,
    /// Headline, also drawn at the top of the chart.
    pub title: String,
    /// What it shows and how it was made (which runs were kept), for a caption.
    pub caption: String,
    /// The chart as a standalone SVG document.
    pub svg: String,
}

/// Every chart the data allows, in [`PLOT_NAMES`] order. `rule` scores runs where a chart
/// keeps one run per cell/model/fraction; `selection` names the best run.
pub fn build(set: &RunSet, selection: Option<&Selection>, rule: Rule) -> Result<Vec<Plot>> {
    let best = best_run(set, selection);
    let plots = [
        learning_curves(set, selection)?,
        heatmap(set, selection, rule)?,
        train_fraction(set, rule)?,
        accuracy_vs_time(set, rule)?,
        best.map(per_class_f1).transpose()?.flatten(),
        best.map(confusion).transpose()?.flatten(),
    ];
    Ok(plots.into_iter().flatten().collect())
}

/// Writes each plot to `<dir>/<name>.svg` (atomically) and removes charts of an earlier
/// report that this one no longer has. Returns the paths written.
pub fn write_plots(dir: &Path, plots: &[Plot]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::with_capacity(plots.len());
    for p in plots {
        let path = dir.join(format!("{}.svg", p.name));
        write_atomic(&path, p.svg.as_bytes())?;
        paths.push(path);
    }
    for name in PLOT_NAMES {
        let stale = dir.join(format!("{name}.svg"));
        if !plots.iter().any(|p| p.name == name) && stale.is_file() {
            std::fs::remove_file(&stale).map_err(|e| ReportError::io(&stale, e))?;
        }
    }
    Ok(paths)
}

/// The selected best run, if it is in `set`.
pub fn best_run<'a>(set: &'a RunSet, selection: Option<&Selection>) -> Option<&'a RunSummary> {
    let sel = selection?;
    set.runs.iter().find(|r| r.id == sel.best)
}

// ---------------------------------------------------------------------------------------
// Drawing helpers.

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Fallible<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const FONT: &str = "sans-serif";

/// Okabe–Ito colours.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const GREY: RGBColor = RGBColor(120, 120, 120);
const INK: RGBColor = RGBColor(34, 34, 34);

/// Font sizes as plotters takes them (the SVG gets size / 1.24 px).
const TITLE_SIZE: f64 = 24.0;
const PANEL_TITLE_SIZE: f64 = 19.0;
const LABEL_SIZE: f64 = 18.0;
const DESC_SIZE: f64 = 19.0;

/// Estimated width in pixels of `text` drawn at plotters size `size`.
fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size / 1.24 * 0.56).ceil() as i32
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn centered(size: f64, color: &RGBColor) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(color)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// Shortens `text` in the middle, keeping both ends (class names often share a prefix:
/// `comp.sys.ibm.pc.hardware`, `comp.sys.mac.hardware`).
fn shorten_middle(text: &str, max_chars: usize) -> String {
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

fn shorten(text: &str, max_chars: usize) -> String {
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
fn render(
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

/// A value axis: its range and tick marks.
#[derive(Clone, Debug, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    decimals: usize,
}

impl Axis {
    /// Ticks at a "nice" step (1, 2, 2.5 or 5 × 10^k) covering `lo..hi`, about `target`
    /// of them; the range is widened to the outer ticks, then by `pad` of its span on
    /// each side (for markers that would sit on the frame). `integer` keeps the step ≥ 1.
    fn nice(lo: f64, hi: f64, target: usize, integer: bool, pad: f64) -> Axis {
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

    fn label(&self, v: f64) -> String {
        let s = format!("{:.*}", self.decimals, v);
        if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
            s[1..].to_string()
        } else {
            s
        }
    }

    fn range(&self) -> Ticked {
        Ticked {
            lo: self.lo,
            hi: self.hi,
            ticks: self.ticks.clone(),
        }
    }
}

/// A linear f64 coordinate with the tick marks we chose (plotters' own picks its ticks).
#[derive(Clone, Debug)]
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticked {
    /// Ticks at the centres of `n` unit-wide categories `0..n`.
    fn categories(n: usize) -> Ticked {
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

struct LegendItem {
    label: String,
    color: RGBColor,
    marker: Marker,
    dashed: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Ring,
}

/// Draws marker `m` at `at` (in `area`'s coordinates).
fn draw_marker<CT>(
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
fn draw_legend(area: &Area, items: &[LegendItem], y: i32) -> Fallible {
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

/// Linear interpolation through colour anchors, `t` in 0..=1.
fn ramp(anchors: &[(u8, u8, u8)], t: f64) -> RGBColor {
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
const VIRIDIS: [(u8, u8, u8); 10] = [
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
const BLUES: [(u8, u8, u8); 5] = [
    (247, 251, 255),
    (198, 219, 239),
    (107, 174, 214),
    (33, 113, 181),
    (8, 48, 107),
];

/// Black or white, whichever reads better on `c`.
fn ink_on(c: RGBColor) -> RGBColor {
    let lum = 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
    if lum > 140.0 {
        INK
    } else {
        WHITE
    }
}

// ---------------------------------------------------------------------------------------
// (a) Learning curves.

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
        let (head, body) = root.split_vertically(title_h + legend_h);
        head.draw(&Text::new(
            title.clone(),
            (w as i32 / 2, 8),
            font(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        draw_legend(
            &head,
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
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("val accuracy")
        .y_label_formatter(&fa)
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
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

// ---------------------------------------------------------------------------------------
// (b) max_len × lr heatmap.

/// Distinct numeric values of setting `key` over `runs`, ascending.
fn distinct(runs: &[&RunSummary], key: &str) -> Vec<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.param_f64(key)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Settings other than `keys` whose values differ among `runs`.
fn other_varied(runs: &[&RunSummary], keys: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for k in r.params.keys() {
            if !keys.contains(&k.as_str()) && k != "seed" && !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names.retain(|k| {
        let first = runs[0].params.get(k);
        runs.iter().any(|r| r.params.get(k) != first)
    });
    names
}

/// The run with the highest score under `rule` (ties: first).
fn best_of<'a>(runs: impl Iterator<Item = &'a RunSummary>, rule: Rule) -> Option<&'a RunSummary> {
    runs.filter(|r| r.is_done())
        .filter_map(|r| rule.score(r).map(|s| (r, s)))
        .fold(None, |acc: Option<(&RunSummary, f64)>, (r, s)| match acc {
            Some((_, best)) if best >= s => acc,
            _ => Some((r, s)),
        })
        .map(|(r, _)| r)
}

/// What a rule's score is called on a chart, and the score as shown (losses unsigned).
fn score_label(rule: Rule) -> &'static str {
    match rule {
        Rule::ValAccAtMinValLoss => "val accuracy at min val loss",
        Rule::ValAccuracy => "val accuracy",
        Rule::ValMacroF1 => "val macro F1",
        Rule::ValLoss => "val loss (lower is better)",
    }
}

fn shown_score(rule: Rule, s: f64) -> f64 {
    if rule == Rule::ValLoss {
        -s
    } else {
        s
    }
}

/// The selection score of transformer runs on the max_len × lr grid, when both vary.
pub fn heatmap(set: &RunSet, selection: Option<&Selection>, rule: Rule) -> Result<Option<Plot>> {
    let runs: Vec<&RunSummary> = set
        .runs
        .iter()
        .filter(|r| r.param_f64("max_len").is_some() && r.param_f64("lr").is_some())
        .collect();
    let lens = distinct(&runs, "max_len");
    let lrs = distinct(&runs, "lr");
    if lens.len() < 2 || lrs.len() < 2 || !runs.iter().any(|r| r.is_done()) {
        return Ok(None);
    }
    let best_id = selection.map(|s| s.best.as_str());
    struct Cell<'a> {
        best: Option<&'a RunSummary>,
        score: Option<f64>,
        n_done: usize,
        status: &'static str,
    }
    let mut cells: Vec<Vec<Cell>> = Vec::new();
    for &len in &lens {
        let mut row = Vec::new();
        for &lr in &lrs {
            let here: Vec<&RunSummary> = runs
                .iter()
                .copied()
                .filter(|r| r.param_f64("max_len") == Some(len) && r.param_f64("lr") == Some(lr))
                .collect();
            let best = best_of(here.iter().copied(), rule);
            let status = if here.is_empty() {
                "not run"
            } else if here.iter().any(|r| r.status == RunStatus::Pending) {
                "pending"
            } else {
                "failed"
            };
            row.push(Cell {
                best,
                score: best
                    .and_then(|r| rule.score(r))
                    .map(|s| shown_score(rule, s)),
                n_done: here.iter().filter(|r| r.is_done()).count(),
                status,
            });
        }
        cells.push(row);
    }
    let scores: Vec<f64> = cells.iter().flatten().filter_map(|c| c.score).collect();
    let (lo, hi) = scores
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let norm = |v: f64| {
        let t = if hi - lo > 1e-12 {
            (v - lo) / (hi - lo)
        } else {
            0.7
        };
        if rule == Rule::ValLoss {
            1.0 - t
        } else {
            t
        }
    };
    let done: Vec<&RunSummary> = runs.iter().copied().filter(|r| r.is_done()).collect();
    let others = other_varied(&done, &["max_len", "lr"]);
    let several = cells.iter().flatten().any(|c| c.n_done > 1);
    let nx = lrs.len();
    let ny = lens.len();
    let cell_w = (640 / nx as u32).clamp(90, 150);
    let cell_h = (360 / ny as u32).clamp(56, 90);
    let (left, right, top, bottom) = (96u32, 30u32, 56u32, 70u32);
    let w = left + right + cell_w * nx as u32;
    let h = top + bottom + cell_h * ny as u32;
    let title = format!("{} by max_len × lr", capitalise(score_label(rule)));
    let svg = render("heatmap", w, h, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(TITLE_SIZE))
            .margin(10)
            .x_label_area_size(bottom - 16)
            .y_label_area_size(left - 10)
            .build_cartesian_2d(Ticked::categories(nx), Ticked::categories(ny))?;
        let fx = |v: &f64| {
            lrs.get(v.floor() as usize)
                .map_or(String::new(), |&x| fmt_sci(x))
        };
        let fy = |v: &f64| {
            lens.get(v.floor() as usize)
                .map_or(String::new(), |&x| fmt_number(x))
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("learning rate")
            .y_desc("max_len (tokens)")
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .draw()?;
        for (j, row) in cells.iter().enumerate() {
            for (i, c) in row.iter().enumerate() {
                let (x0, y0) = (i as f64, j as f64);
                let fill = match c.score {
                    Some(s) => ramp(&VIRIDIS, norm(s)),
                    None => RGBColor(235, 235, 235),
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    fill.filled(),
                )))?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    WHITE.stroke_width(2),
                )))?;
                let ink = ink_on(fill);
                let (text, sub) = match c.score {
                    Some(s) => {
                        let mut sub = String::new();
                        if c.best.map(|r| r.id.as_str()) == best_id && best_id.is_some() {
                            sub.push_str("★ best");
                        } else if several {
                            sub = format!("best of {}", c.n_done);
                        }
                        (format!("{s:.3}"), sub)
                    }
                    None => (c.status.to_string(), String::new()),
                };
                let size = if c.score.is_some() { 20.0 } else { 17.0 };
                let dy = if sub.is_empty() { 0.0 } else { -0.12 };
                chart.draw_series(std::iter::once(Text::new(
                    text,
                    (x0 + 0.5, y0 + 0.5 - dy),
                    centered(size, if c.score.is_some() { &ink } else { &GREY }),
                )))?;
                if !sub.is_empty() {
                    chart.draw_series(std::iter::once(Text::new(
                        sub,
                        (x0 + 0.5, y0 + 0.5 + dy * 1.6),
                        centered(16.0, &ink),
                    )))?;
                }
                if best_id.is_some() && c.best.map(|r| r.id.as_str()) == best_id {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0 + 0.02, y0 + 0.03), (x0 + 0.98, y0 + 0.97)],
                        ink.stroke_width(3),
                    )))?;
                }
            }
        }
        Ok(())
    })?;
    let mut caption = format!(
        "{} of each max_len × lr combination (brighter = {}). Grey cells have no finished run.",
        capitalise(score_label(rule)),
        if rule == Rule::ValLoss {
            "lower loss"
        } else {
            "higher"
        },
    );
    if several {
        caption.push_str(&format!(
            " Other settings vary too ({}): each cell shows its best run by this score.",
            if others.is_empty() {
                "repeated runs".to_string()
            } else {
                others.join(", ")
            }
        ));
    } else if !others.is_empty() {
        caption.push_str(&format!(
            " Other settings vary too ({}), so cells may differ in those as well.",
            others.join(", ")
        ));
    }
    Ok(Some(Plot {
        name: "heatmap_max_len_lr",
        title,
        caption,
        svg,
    }))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// (c) Accuracy and time against the training fraction.

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
            let t = r.test.as_ref()?;
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
        let (head, body) = root.split_vertically(78);
        head.draw(&Text::new(
            title.clone(),
            (w as i32 / 2, 8),
            font(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
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
        draw_legend(&head, &items, 56)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(54)
            .y_label_area_size(72)
            .right_y_label_area_size(if pts_time.is_empty() { 10 } else { 76 })
            .build_cartesian_2d(x.clone(), acc.range())?
            .set_secondary_coord(x.clone(), time.range());
        let fx = |v: &f64| {
            let f = if log_x { 10f64.powf(*v) } else { *v };
            fmt_number(clean_sig(f))
        };
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
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        if !pts_time.is_empty() {
            chart
                .configure_secondary_axes()
                .y_desc(time_desc)
                .y_label_formatter(&ft)
                .label_style(font(LABEL_SIZE))
                .axis_desc_style(font(DESC_SIZE))
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

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        })
}

// ---------------------------------------------------------------------------------------
// (d) Accuracy against time per model.

/// Training seconds per epoch, or the whole fit for linear models.
fn epoch_seconds(r: &RunSummary) -> Option<f64> {
    match r.family {
        Family::Transformer => r.seconds_per_epoch.or(r.train_seconds),
        Family::Linear => r.train_seconds.or(r.total_seconds),
    }
}

/// Ticks of a log axis over `lo..hi` (seconds): 1-2-5 steps per decade, or whole decades
/// when that gives too many.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
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

/// Test accuracy (with its interval) against training seconds per epoch, the best run of
/// each model by `rule`, when there are several models.
pub fn accuracy_vs_time(set: &RunSet, rule: Rule) -> Result<Option<Plot>> {
    let runs: Vec<&RunSummary> = set
        .done()
        .filter(|r| r.test.is_some() && epoch_seconds(r).is_some_and(|s| s > 0.0))
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
        let t = r.test.as_ref().expect("filtered on test");
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
        let (head, body) = root.split_vertically(78);
        head.draw(&Text::new(
            title.clone(),
            (w as i32 / 2, 8),
            font(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
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
        draw_legend(&head, &items, 56)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(54)
            .y_label_area_size(72)
            .build_cartesian_2d(x.clone(), acc.range())?;
        let fx = |v: &f64| {
            let s = if log_x { 10f64.powf(*v) } else { *v };
            fmt_number(clean_sig(s))
        };
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
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
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

/// A pixel box `(x0, y0, x1, y1)`.
type Bounds = (i32, i32, i32, i32);

/// Where a label goes: the point its text is anchored at (`right`: the label's right end,
/// for labels left of their point, so the end next to the point is exact whatever the
/// font), and a leader line (start, end) when it sits away from its point.
struct PlacedLabel {
    x: i32,
    y: i32,
    right: bool,
    leader: Option<((i32, i32), (i32, i32))>,
}

fn overlaps(a: Bounds, b: Bounds) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Places one label per point (`anchors`, pixels) where it overlaps no other label, no
/// obstacle (whiskers, markers) and stays inside `frame`: next to the point if possible,
/// else further out with a leader line.
fn place_labels(
    anchors: &[(i32, i32)],
    labels: &[String],
    obstacles: &[Bounds],
    frame: Bounds,
) -> Vec<PlacedLabel> {
    const HALF_H: i32 = 10;
    let mut taken: Vec<Bounds> = Vec::new();
    let mut out = Vec::with_capacity(labels.len());
    for (&(cx, cy), label) in anchors.iter().zip(labels) {
        let tw = text_width(label, LABEL_SIZE);
        let mut candidates: Vec<(i32, i32, bool)> = Vec::new();
        // Beside the point, right then left.
        candidates.push((cx + 12, cy, false));
        candidates.push((cx - 12 - tw, cy, false));
        // Further out, in rings of growing distance, with a leader line.
        for r in [30, 55, 85, 120, 160, 210] {
            for dy in [0, -r / 2, r / 2, -r, r] {
                candidates.push((cx + r, cy + dy, true));
                candidates.push((cx - r - tw, cy + dy, true));
            }
            for dx in [-tw / 2, 0, -tw] {
                candidates.push((cx + dx, cy - r, true));
                candidates.push((cx + dx, cy + r, true));
            }
        }
        let fits = |&(x, y, _): &(i32, i32, bool)| {
            let b = (x - 2, y - HALF_H, x + tw + 2, y + HALF_H);
            b.0 >= frame.0
                && b.2 <= frame.2
                && b.1 >= frame.1
                && b.3 <= frame.3
                && !taken.iter().any(|&t| overlaps(b, t))
                && !obstacles.iter().any(|&o| overlaps(b, o))
        };
        let (x, y, leader) = candidates
            .iter()
            .copied()
            .find(fits)
            .unwrap_or((cx + 12, cy, false));
        taken.push((x - 2, y - HALF_H, x + tw + 2, y + HALF_H));
        // Labels left of their point are anchored at their right end.
        let right = x + tw / 2 < cx;
        let ax = if right { x + tw } else { x };
        // A leader line from the edge of the marker to the nearer end of the label.
        let leader = leader.then(|| {
            let end = (if right { ax + 3 } else { ax - 3 }, y);
            let (dx, dy) = ((end.0 - cx) as f64, (end.1 - cy) as f64);
            let len = dx.hypot(dy).max(1.0);
            let start = (cx + (dx / len * 9.0) as i32, cy + (dy / len * 9.0) as i32);
            (start, end)
        });
        out.push(PlacedLabel {
            x: ax,
            y,
            right,
            leader,
        });
    }
    out
}

/// Rounds to 6 significant digits (10^log10(x) dust).
fn clean_sig(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let e = x.abs().log10().floor() as i32;
    let f = 10f64.powi(5 - e);
    (x * f).round() / f
}

// ---------------------------------------------------------------------------------------
// (e) Per-class F1 and (f) confusion matrix of the best run.

/// Horizontal bars of the test F1 of each class of `run`.
pub fn per_class_f1(run: &RunSummary) -> Result<Option<Plot>> {
    let Some(t) = run.test.as_ref().filter(|t| !t.per_class.is_empty()) else {
        return Ok(None);
    };
    let k = t.per_class.len();
    let labels: Vec<String> = t
        .per_class
        .iter()
        .map(|c| format!("{} (n={})", shorten_middle(&c.label, 28), c.support))
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
    let title = format!("Per-class F1 of {} (test)", shorten(&run.id, 48));
    let x = Axis::nice(0.0, 1.0, 5, false, 0.0);
    let svg = render("per-class F1", w, h, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(TITLE_SIZE))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x.range(), Ticked::categories(k))?;
        // Class 0 at the top.
        let fy = |v: &f64| {
            let i = k as i64 - 1 - v.floor() as i64;
            usize::try_from(i)
                .ok()
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let fx = |v: &f64| x.label(*v);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("F1 (test)")
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (i, c) in t.per_class.iter().enumerate() {
            let y = (k - 1 - i) as f64;
            let f1 = if c.f1.is_finite() {
                c.f1.clamp(0.0, 1.0)
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
                        format!("{:.3}", c.f1),
                        (xoff, 0),
                        (FONT, LABEL_SIZE).into_font().color(&color).pos(pos),
                    ),
            ))?;
        }
        Ok(())
    })?;
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

/// The row-normalised test confusion matrix of `run` with counts.
pub fn confusion(run: &RunSummary) -> Result<Option<Plot>> {
    let Some(t) = run.test.as_ref() else {
        return Ok(None);
    };
    let cm = &t.confusion;
    let k = cm.labels.len();
    if k == 0 || cm.counts.len() != k || cm.row_normalized.len() != k {
        return Ok(None);
    }
    let labels: Vec<String> = cm.labels.iter().map(|l| shorten_middle(l, 26)).collect();
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
    let title = format!("Confusion matrix of {} (test)", shorten(&run.id, 44));
    let show_counts = cell >= 56;
    let show_text = cell >= 30 && k <= 20;
    let svg = render("confusion", w, h, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(TITLE_SIZE))
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
        let fy = |v: &f64| {
            let i = k as i64 - 1 - v.floor() as i64;
            usize::try_from(i)
                .ok()
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted class")
            .y_desc("gold class")
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
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
                let share = cm.row_normalized[gold].get(pred).copied().unwrap_or(0.0);
                let count = cm.counts[gold].get(pred).copied().unwrap_or(0);
                let (x0, y0) = (pred as f64, (k - 1 - gold) as f64);
                let fill = ramp(&BLUES, share);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    fill.filled(),
                )))?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    RGBColor(210, 210, 210).stroke_width(1),
                )))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::fixture;

    /// The text content of every `<text>` element.
    pub(crate) fn texts(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find("<text") {
            rest = &rest[i..];
            let Some(open_end) = rest.find('>') else {
                break;
            };
            let Some(close) = rest.find("</text>") else {
                break;
            };
            out.push(rest[open_end + 1..close].trim().to_string());
            rest = &rest[close..];
        }
        out
    }

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

    #[test]
    fn heatmap_has_one_cell_per_combination_with_its_score() {
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        let p = heatmap(&set, Some(&sel), Rule::ValAccAtMinValLoss)
            .unwrap()
            .unwrap();
        let t = texts(&p.svg);
        // 2 finished lengths × 3 rates, plus max_len 256 with one failed, one pending run:
        // 3 × 3 cells.
        for v in ["0.861", "0.874", "0.869", "0.872", "0.889", "0.880"] {
            assert_eq!(t.iter().filter(|s| *s == v).count(), 1, "{v} in {t:?}");
        }
        assert_eq!(t.iter().filter(|s| *s == "pending").count(), 1);
        assert_eq!(t.iter().filter(|s| *s == "failed").count(), 1);
        assert_eq!(t.iter().filter(|s| *s == "not run").count(), 1);
        assert_eq!(t.iter().filter(|s| s.contains("best")).count(), 1);
        // Axis labels: learning rates in scientific notation, lengths as integers.
        for l in ["2e-5", "5e-5", "1e-4", "64", "128", "256"] {
            assert!(t.iter().any(|s| s == l), "tick {l} missing from {t:?}");
        }
        // Nine filled cells (plus white borders and the best-cell frame).
        assert_eq!(p.svg.matches("<rect").count() - 1, 9 * 2 + 1);
        assert!(!p.caption.contains("Other settings vary"), "{}", p.caption);
        let mut set = set;
        set.runs[0]
            .params
            .insert("train_fraction".into(), serde_json::Value::from(0.5));
        let p = heatmap(&set, Some(&sel), Rule::ValAccAtMinValLoss)
            .unwrap()
            .unwrap();
        assert!(
            p.caption
                .contains("Other settings vary too (train_fraction)"),
            "{}",
            p.caption
        );
    }

    #[test]
    fn heatmap_needs_both_settings_to_vary() {
        let mut set = fixture::run_set();
        set.runs.retain(|r| r.param_f64("max_len") != Some(128.0));
        set.runs.retain(|r| r.param_f64("max_len") != Some(256.0));
        assert!(heatmap(&set, None, Rule::ValAccuracy).unwrap().is_none());
    }

    #[test]
    fn all_charts_of_the_fixture_are_drawn_with_escaped_text() {
        let mut set = fixture::run_set();
        // A transformer run whose id needs escaping, with curves.
        set.runs[0].id = "x<b>&y".into();
        let sel = fixture::selection(&set);
        let plots = build(&set, Some(&sel), Rule::ValAccAtMinValLoss).unwrap();
        let names: Vec<&str> = plots.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            vec![
                "learning_curves",
                "heatmap_max_len_lr",
                "accuracy_vs_time",
                "per_class_f1",
                "confusion"
            ]
        );
        for p in &plots {
            assert!(p.svg.starts_with("<svg"), "{}", p.name);
            assert_eq!(p.svg.matches("<svg").count(), 1);
            assert!(p.svg.trim_end().ends_with("</svg>"), "{}", p.name);
            assert!(!p.svg.contains("<b>"), "{}", p.name);
            assert_eq!(
                p.svg.matches("<text").count(),
                p.svg.matches("</text>").count()
            );
        }
        let lc = &plots[0];
        assert!(lc.svg.contains("x&lt;b&gt;&amp;y"));
        let t = texts(&lc.svg);
        // Epoch ticks, loss ticks and the accuracy axis.
        for l in [
            "1",
            "2",
            "3",
            "0.0",
            "0.2",
            "0.4",
            "0.6",
            "0.8",
            "val accuracy",
            "epoch",
        ] {
            assert!(t.iter().any(|s| s == l), "{l} missing from {t:?}");
        }
        assert_eq!(t.iter().filter(|s| s.contains("★ best")).count(), 1);
        let cm = texts(&plots[4].svg);
        assert!(cm.iter().any(|s| s == "0.88"), "{cm:?}");
        assert!(cm.iter().any(|s| s == "(88)"), "{cm:?}");
        let f1 = texts(&plots[3].svg);
        assert!(f1.iter().any(|s| s == "neg (n=100)"), "{f1:?}");
        let time = texts(&plots[2].svg);
        assert!(time.iter().any(|s| s == "tfidf-nbsvm"), "{time:?}");
        assert!(time.iter().any(|s| s == "minilm"), "{time:?}");
    }

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

    #[test]
    fn stale_charts_are_removed() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("train_fraction.svg"), "<svg/>").unwrap();
        std::fs::write(t.path().join("mine.svg"), "<svg/>").unwrap();
        let set = fixture::run_set();
        let sel = fixture::selection(&set);
        let plots = build(&set, Some(&sel), Rule::ValAccAtMinValLoss).unwrap();
        let written = write_plots(t.path(), &plots).unwrap();
        assert_eq!(written.len(), plots.len());
        assert!(!t.path().join("train_fraction.svg").exists());
        assert!(t.path().join("mine.svg").exists());
        assert!(t.path().join("confusion.svg").exists());
    }
}
