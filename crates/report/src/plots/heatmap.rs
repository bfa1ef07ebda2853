//! (b) The selection score on the max_len × lr grid.

use plotters::prelude::*;

use crate::error::Result;
use crate::runs::{RunSet, RunStatus, RunSummary};
use crate::select::{Rule, Selection};
use crate::table::{fmt_number, fmt_sci};

use super::axis::Ticked;
use super::data::{best_of, distinct, other_varied, score_label, shown_score};
use super::plot::Plot;
use super::style::{
    centered, draw_cell, font, ink_on, ramp, render, AxisFonts, GREY, TITLE_SIZE, VIRIDIS,
};

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
            .our_fonts()
            .draw()?;
        for (j, row) in cells.iter().enumerate() {
            for (i, c) in row.iter().enumerate() {
                let (x0, y0) = (i as f64, j as f64);
                let fill = match c.score {
                    Some(s) => ramp(&VIRIDIS, norm(s)),
                    None => RGBColor(235, 235, 235),
                };
                draw_cell(&mut chart, (x0, y0), fill, WHITE.stroke_width(2))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::tests::texts;
    use crate::table::fixture;

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
}
