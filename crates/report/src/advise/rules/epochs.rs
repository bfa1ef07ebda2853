//! Training length: validation loss still falling at the last validation (train longer,
//! [`Check::MoreEpochs`]), or rising while training loss falls, or a wide train/validation
//! gap (stop earlier or regularise, [`Check::Overfitting`]).

use crate::runs::{Family, RunSummary};

use crate::advise::context::Ctx;
use crate::advise::evidence::completed_epochs;
use crate::advise::format::{fmt_int, loss, pct, pct1, point_name, pts, secs};
use crate::advise::{
    skip, Basis, Check, Impact, Item, Outcome, Recommendation, EXTRA_EPOCHS, MIN_LOSS_DROP,
    MIN_LOSS_RISE, OVERFIT_GAP,
};

pub(crate) fn more_epochs(cx: &Ctx) -> Outcome {
    let Some(focus) = cx.focus else {
        return skip("no finished transformer run");
    };
    let mut cands = vec![focus];
    for id in cx.near_tie_ids() {
        if let Some(r) = cx.run(&id) {
            if r.family == Family::Transformer && r.id != focus.id {
                cands.push(r);
            }
        }
    }
    let mut evidence = Vec::new();
    let mut runs = Vec::new();
    let mut reasons = Vec::new();
    // (run, last-epoch validation-accuracy gain) of the first run it fires for.
    let mut lead: Option<(&RunSummary, f64)> = None;
    for r in cands {
        let p = &r.epochs;
        let [.., prev, last] = p.as_slice() else {
            reasons.push(format!(
                "`{}` has {} validation(s), too few to see a trend",
                r.id,
                p.len()
            ));
            continue;
        };
        let drop = prev.val_loss - last.val_loss;
        // NaN losses count as not falling.
        let falling = drop > 0.0 && drop >= MIN_LOSS_DROP * prev.val_loss;
        if !falling {
            reasons.push(format!(
                "`{}`: validation loss went {} → {} at its last validation ({}), not falling by ≥ {}",
                r.id,
                loss(prev.val_loss),
                loss(last.val_loss),
                point_name(last),
                pct1(MIN_LOSS_DROP)
            ));
            continue;
        }
        let tail = &p[p.len().saturating_sub(3)..];
        let listed: Vec<String> = tail
            .iter()
            .map(|e| format!("{} ({})", loss(e.val_loss), point_name(e)))
            .collect();
        evidence.push(format!(
            "`{}`: validation loss at its last {} validations: {}; the last one lowered it by {} ({} of the previous value).",
            r.id,
            tail.len(),
            listed.join(", "),
            loss(drop),
            pct1(drop / prev.val_loss)
        ));
        let gain = last.val_accuracy - prev.val_accuracy;
        evidence.push(format!(
            "`{}`: validation accuracy went {} → {} ({}) over the same step; training loss {} → {}.",
            r.id,
            pct(prev.val_accuracy),
            pct(last.val_accuracy),
            pts(gain),
            loss(prev.train_loss),
            loss(last.train_loss)
        ));
        if let Some(planned) = r.param_f64("epochs") {
            if !r.stopped_early && completed_epochs(r) as f64 >= planned {
                evidence.push(format!(
                    "`{}` ran all {} planned epochs and did not stop early.",
                    r.id,
                    fmt_int(planned)
                ));
            }
        }
        runs.push(r.id.clone());
        if lead.is_none() {
            lead = Some((r, gain));
        }
    }
    let Some((r, gain)) = lead else {
        return skip(reasons.join("; "));
    };
    let epochs = completed_epochs(r) + EXTRA_EPOCHS;
    let (cost_seconds, cost) = match r.seconds_per_epoch {
        Some(s) => (
            Some(s * EXTRA_EPOCHS as f64),
            format!(
                "about {EXTRA_EPOCHS} × {} = {} more training per run (`{}` measured {} per epoch).",
                secs(s),
                secs(s * EXTRA_EPOCHS as f64),
                r.id,
                secs(s)
            ),
        ),
        None => (
            None,
            format!("{EXTRA_EPOCHS} more epochs of training (time per epoch not recorded)."),
        ),
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::MoreEpochs,
        title: "Train for more epochs".into(),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * gain.max(0.0),
            basis: Basis::Heuristic,
            how: format!(
                "the validation accuracy `{}` gained over its last validation ({}), assuming \
                 further epochs gain at most as much; they usually gain less.",
                r.id,
                pts(gain)
            ),
        },
        cost_seconds,
        cost,
        try_flags: vec![format!(
            "--epochs {epochs} (early stopping, --patience, ends it if the loss turns)"
        )],
    })])
}

pub(crate) fn overfitting(cx: &Ctx) -> Outcome {
    let Some(r) = cx.focus else {
        return skip("no finished transformer run");
    };
    let p = &r.epochs;
    let lowest = p
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.val_loss.total_cmp(&b.1.val_loss));
    let ([.., prev, last], Some((imin, min))) = (p.as_slice(), lowest) else {
        return skip(format!(
            "`{}` has {} validation(s), too few to see a trend",
            r.id,
            p.len()
        ));
    };
    let rising = imin + 1 < p.len()
        && last.val_loss >= min.val_loss * (1.0 + MIN_LOSS_RISE)
        && last.train_loss < min.train_loss;
    let end = p.iter().rev().find(|e| e.epoch_end).unwrap_or(last);
    let gap = end.train_accuracy - end.val_accuracy;
    let wide = gap > OVERFIT_GAP;
    if !rising && !wide {
        return skip(format!(
            "`{}`: validation loss {} at the last validation vs its minimum {} ({}), and train − validation accuracy {} at {} (threshold {})",
            r.id,
            loss(last.val_loss),
            loss(min.val_loss),
            point_name(min),
            pts(gap),
            point_name(end),
            pts(OVERFIT_GAP)
        ));
    }
    let mut evidence = Vec::new();
    let mut try_flags = Vec::new();
    let mut cost_seconds = None;
    let mut cost = "regularisation costs nothing extra per epoch.".to_string();
    let title;
    if rising {
        evidence.push(format!(
            "`{}`: validation loss reached its minimum {} at {} and rose to {} by {} (+{}), while training loss fell {} → {}.",
            r.id,
            loss(min.val_loss),
            point_name(min),
            loss(last.val_loss),
            point_name(last),
            pct1(last.val_loss / min.val_loss - 1.0),
            loss(min.train_loss),
            loss(last.train_loss)
        ));
        evidence.push(format!(
            "Validation accuracy at the minimum-loss validation {} vs {} at the last one.",
            pct(min.val_accuracy),
            pct(last.val_accuracy)
        ));
        if let Some(b) = r.best_epoch {
            evidence.push(format!(
                "The kept weights are those of epoch {b}{}, so training past it bought no accuracy.",
                if r.stopped_early {
                    " (early stopping ended the run)"
                } else {
                    ""
                }
            ));
        }
        let extra = completed_epochs(r).saturating_sub(min.epoch);
        if let (Some(s), true) = (r.seconds_per_epoch, extra > 0) {
            cost_seconds = Some(-s * extra as f64);
            cost = format!(
                "saves about {extra} × {} = {} per run (measured time per epoch of `{}`).",
                secs(s),
                secs(s * extra as f64),
                r.id
            );
        }
        try_flags.push(format!("--epochs {}", min.epoch.max(1)));
        try_flags.push("--patience 1".into());
        title = "Stop earlier: validation loss rose while training loss kept falling".to_string();
    } else {
        title = "Regularise: training accuracy is far above validation accuracy".to_string();
    }
    if wide {
        evidence.push(format!(
            "`{}` at {}: training accuracy {} (as recorded during the epoch) vs validation accuracy {}, a gap of {} (threshold {}).",
            r.id,
            point_name(end),
            pct(end.train_accuracy),
            pct(end.val_accuracy),
            pts(gap),
            pts(OVERFIT_GAP)
        ));
        if !rising && last.val_loss < prev.val_loss {
            evidence.push(
                "Validation loss is still falling, so this is no reason to train for fewer epochs."
                    .into(),
            );
        }
        try_flags.push("--weight-decay 0.1 (default 0.01; a heuristic starting point)".to_string());
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::Overfitting,
        title,
        evidence,
        runs: vec![r.id.clone()],
        impact: Impact {
            points: 0.0,
            basis: if rising {
                Basis::Measured
            } else {
                Basis::Heuristic
            },
            how: if rising {
                "none on accuracy: the best weights are kept already; the gain is training time."
                    .into()
            } else {
                "not estimated: the gap shows the model fits its training data better than \
                 unseen data, not how much regularisation would recover."
                    .into()
            },
        },
        cost_seconds,
        cost,
        try_flags,
    })])
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;

    #[test]
    fn more_epochs_fires_when_validation_loss_still_falls() {
        let r = transformer_with_epochs(
            "minilm",
            vec![
                ep(1, 0.60, 0.70, 0.50, 0.80),
                ep(2, 0.40, 0.85, 0.42, 0.84),
                ep(3, 0.30, 0.88, 0.38, 0.86),
            ],
        );
        let a = advise(&set(vec![r]), None);
        let m = rec(&a, Check::MoreEpochs);
        assert_has(
            &m.evidence,
            "0.5000 (epoch 1), 0.4200 (epoch 2), 0.3800 (epoch 3)",
        );
        assert_has(
            &m.evidence,
            "lowered it by 0.0400 (9.5 % of the previous value)",
        );
        assert_has(&m.evidence, "84.00 % → 86.00 % (+2.00 points)");
        assert_has(&m.evidence, "ran all 3 planned epochs");
        assert_eq!(m.runs, vec!["minilm"]);
        assert!(
            m.try_flags[0].starts_with("--epochs 5"),
            "{:?}",
            m.try_flags
        );
        assert!((m.impact.points - 2.0).abs() < 1e-9);
        assert_eq!(m.impact.basis, Basis::Heuristic);
        assert_eq!(m.cost_seconds, Some(72.0));
        // A 2-point train/val gap is below the overfitting threshold.
        assert!(not_fired(&a, Check::Overfitting).contains("+2.00 points"));
        assert_all_checks_accounted(&a);
    }

    #[test]
    fn rising_validation_loss_gives_stop_earlier_not_more_epochs() {
        let mut r = transformer_with_epochs(
            "minilm",
            vec![
                ep(1, 0.60, 0.70, 0.50, 0.80),
                ep(2, 0.40, 0.85, 0.35, 0.86),
                ep(3, 0.30, 0.88, 0.37, 0.85),
            ],
        );
        r.best_epoch = Some(2);
        let a = advise(&set(vec![r]), None);
        let reason = not_fired(&a, Check::MoreEpochs);
        assert!(reason.contains("0.3500 → 0.3700"), "{reason}");
        let o = rec(&a, Check::Overfitting);
        assert!(o.title.starts_with("Stop earlier"), "{}", o.title);
        assert_has(
            &o.evidence,
            "minimum 0.3500 at epoch 2 and rose to 0.3700 by epoch 3",
        );
        assert_has(&o.evidence, "training loss fell 0.4000 → 0.3000");
        assert_has(&o.evidence, "kept weights are those of epoch 2");
        assert_eq!(o.try_flags[0], "--epochs 2");
        assert_eq!(o.cost_seconds, Some(-36.0));
        assert_eq!(o.impact.points, 0.0);
    }

    #[test]
    fn large_train_validation_gap_gives_regularisation() {
        let r = transformer_with_epochs(
            "minilm",
            vec![ep(1, 0.40, 0.95, 0.45, 0.84), ep(2, 0.05, 0.99, 0.44, 0.85)],
        );
        let a = advise(&set(vec![r]), None);
        let o = rec(&a, Check::Overfitting);
        assert!(o.title.starts_with("Regularise"), "{}", o.title);
        assert_has(&o.evidence, "training accuracy 99.00 %");
        assert_has(
            &o.evidence,
            "validation accuracy 85.00 %, a gap of +14.00 points",
        );
        assert_has(&o.evidence, "still falling");
        assert!(o.try_flags.iter().any(|f| f.starts_with("--weight-decay")));
        assert_eq!(o.impact.basis, Basis::Heuristic);
        // Loss 0.45 → 0.44 is a 2.2 % drop: more epochs fires as well.
        rec(&a, Check::MoreEpochs);
    }
}
