//! Placing point labels so that they overlap neither each other nor the marks.

use super::style::{text_width, LABEL_SIZE};

/// A pixel box `(x0, y0, x1, y1)`.
pub(super) type Bounds = (i32, i32, i32, i32);

/// Where a label goes: the point its text is anchored at (`right`: the label's right end,
/// for labels left of their point, so the end next to the point is exact whatever the
/// font), and a leader line (start, end) when it sits away from its point.
pub(super) struct PlacedLabel {
    pub(super) x: i32,
    pub(super) y: i32,
    pub(super) right: bool,
    pub(super) leader: Option<((i32, i32), (i32, i32))>,
}

fn overlaps(a: Bounds, b: Bounds) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Places one label per point (`anchors`, pixels) where it overlaps no other label, no
/// obstacle (whiskers, markers) and stays inside `frame`: next to the point if possible,
/// else further out with a leader line.
pub(super) fn place_labels(
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
