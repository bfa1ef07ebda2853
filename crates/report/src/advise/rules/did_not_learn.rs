//! The model did not learn ([`Check::DidNotLearn`]): the best transformer run's validation
//! loss stays at chance level, ln k for k classes (the loss of predicting 1/k for every
//! class), at every validation. When its validation accuracy is also no better than
//! always predicting the majority class, it learned nothing; when the accuracy is higher,
//! its predictions still barely left chance level: it has only started to learn. Either
//! way the run is undertrained (or its labels do not match its texts), and advice that
//! tunes it finely (a lower learning rate, a near tie) comes second.

use crate::runs::{Family, RunSummary};

use crate::advise::context::Ctx;
use crate::advise::evidence::completed_epochs;
use crate::advise::format::{fmt_int, fmt_lr, loss, pct, pct1, pts, secs};
use crate::advise::{skip, Basis, Check, Impact, Item, Outcome, Recommendation};

/// The validation loss counts as chance level while it stays within this share of ln k.
pub const CHANCE_LOSS_TOLERANCE: f64 = 0.05;
/// How many times the run's learning rate to suggest.
const LR_FACTOR: f64 = 3.0;

/// The majority class of a run's validation split: (label, rows, all rows).
fn majority(r: &RunSummary) -> Option<(&str, u64, u64)> {
    let n: u64 = r.val_per_class.iter().map(|(_, c)| c).sum();
    // The first of equally large classes.
    let (label, count) = r.val_per_class.iter().rev().max_by_key(|(_, c)| *c)?;
    (n > 0).then_some((label.as_str(), *count, n))
}

/// How far `l` lies from `chance`, as a share of it.
fn off(l: f64, chance: f64) -> f64 {
    (l - chance).abs() / chance
}

pub(crate) fn did_not_learn(cx: &Ctx) -> Outcome {
    let Some(r) = cx.focus else {
        return skip("no finished transformer run");
    };
    let k = r.labels.len().max(r.val_per_class.len());
    if k < 2 {
        return skip(format!("`{}` records fewer than two classes", r.id));
    }
    let chance = (k as f64).ln();
    let losses: Vec<f64> = if r.epochs.is_empty() {
        r.val_loss.into_iter().collect()
    } else {
        r.epochs.iter().map(|p| p.val_loss).collect()
    };
    if losses.is_empty() || losses.iter().any(|l| !l.is_finite()) {
        return skip(format!(
            "`{}` records no (finite) validation loss to compare with chance level",
            r.id
        ));
    }
    let worst = losses.iter().map(|&l| off(l, chance)).fold(0.0, f64::max);
    let lowest = losses.iter().copied().fold(f64::INFINITY, f64::min);
    if worst > CHANCE_LOSS_TOLERANCE {
        return skip(format!(
            "`{}`: validation loss reached {} against ln {k} = {} (chance level); it left the \
             {} band around chance, so the model learned",
            r.id,
            loss(lowest),
            loss(chance),
            pct1(CHANCE_LOSS_TOLERANCE)
        ));
    }
    let mut evidence = Vec::new();
    let shown: Vec<String> = losses
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(|&l| loss(l))
        .collect();
    evidence.push(format!(
        "`{}`: validation loss {} ({} validation{}{}) stays within {} of ln {k} = {}, the loss \
         of predicting 1/{k} for every class: its predicted probabilities barely left chance \
         level.",
        r.id,
        shown.join(" → "),
        losses.len(),
        if losses.len() == 1 { "" } else { "s" },
        if losses.len() > shown.len() {
            ", the last 4 shown"
        } else {
            ""
        },
        pct1(worst.max(1e-4)),
        loss(chance)
    ));
    // Accuracy against always predicting the majority class.
    let acc = r.val_accuracy;
    let mut learned_nothing = false;
    match (acc, majority(r)) {
        (Some(acc), Some((label, count, n))) => {
            let share = count as f64 / n as f64;
            let hw = 1.96 * (share * (1.0 - share) / n as f64).sqrt();
            learned_nothing = acc - share <= hw;
            evidence.push(format!(
                "Its validation accuracy {} against a majority-class share of {} ({count} of \
                 {n} validation rows are `{label}`): {} (95 % half-width {} on {n} rows).",
                pct(acc),
                pct(share),
                if learned_nothing {
                    "no better than always predicting the majority class"
                } else {
                    "above it, so the model ranks the texts a little, but with near-uniform \
                     probabilities"
                },
                pts(hw).trim_start_matches('+'),
            ));
        }
        (Some(acc), None) => evidence.push(format!(
            "Its validation accuracy is {} (the class shares of the validation split are not \
             recorded, so it cannot be compared with the majority class).",
            pct(acc)
        )),
        _ => {}
    }
    if let (Some(first), Some(last)) = (r.epochs.first(), r.epochs.last()) {
        if off(last.train_loss, chance) <= CHANCE_LOSS_TOLERANCE {
            evidence.push(format!(
                "Training loss {} → {} is at chance level too: the model does not fit even its \
                 training data, so this is undertraining, not overfitting.",
                loss(first.train_loss),
                loss(last.train_loss)
            ));
        }
    }
    let others: Vec<&RunSummary> = cx
        .of_family(Family::Transformer)
        .into_iter()
        .filter(|o| o.id != r.id)
        .collect();
    if !others.is_empty() {
        let flat = others
            .iter()
            .filter(|o| {
                let ls: Vec<f64> = o.epochs.iter().map(|p| p.val_loss).collect();
                !ls.is_empty() && ls.iter().all(|&l| off(l, chance) <= CHANCE_LOSS_TOLERANCE)
            })
            .count();
        evidence.push(format!(
            "{flat} of the {} other transformer run{} stay{} within {} of ln {k} as well.",
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            if flat == 1 && others.len() == 1 {
                "s"
            } else {
                ""
            },
            pct1(CHANCE_LOSS_TOLERANCE)
        ));
    }
    let lr = r.param_f64("lr");
    let epochs = completed_epochs(r);
    let mut setup = Vec::new();
    if let Some(lr) = lr {
        setup.push(format!("lr {}", fmt_lr(lr)));
    }
    if epochs > 0 {
        setup.push(format!(
            "{epochs} epoch{}",
            if epochs == 1 { "" } else { "s" }
        ));
    }
    if let Some(n) = r.train_rows {
        setup.push(format!("{n} training rows"));
    }
    if !setup.is_empty() {
        evidence.push(format!("`{}` trained with {}.", r.id, setup.join(", ")));
    }
    let mut try_flags = Vec::new();
    if let Some(lr) = lr {
        try_flags.push(format!(
            "--lr {} (×{}: a higher learning rate; not a lower one)",
            fmt_lr(lr * LR_FACTOR),
            fmt_int(LR_FACTOR)
        ));
    } else {
        try_flags.push("a higher --lr".to_string());
    }
    let more_epochs = (2 * epochs).max(epochs + 3).max(3);
    try_flags.push(format!("--epochs {more_epochs} (more steps)"));
    try_flags.push("more training rows".to_string());
    try_flags.push(
        "check the labels: `textclf data stats` on the training data (is the label column \
         the right one, and do the labels match the texts?)"
            .to_string(),
    );
    let (cost_seconds, cost) = match r.train_seconds {
        Some(s) => (
            Some(s),
            format!(
                "one more run: `{}` trained for {} (more epochs or data take longer).",
                r.id,
                secs(s)
            ),
        ),
        None => (None, "one more run.".to_string()),
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::DidNotLearn,
        title: if learned_nothing {
            format!(
                "The model did not learn: validation loss stays at chance level (ln {k}) and \
                 accuracy at the majority-class share"
            )
        } else {
            format!(
                "The model has barely started to learn: validation loss stays at chance level \
                 (ln {k})"
            )
        },
        evidence,
        runs: vec![r.id.clone()],
        impact: Impact {
            points: 0.0,
            basis: Basis::Heuristic,
            how: "not estimated: a model that has not learned says nothing about what it could \
                  reach. Listed first because the other advice about this run rests on a model \
                  that has barely trained."
                .into(),
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

    /// A binary run whose validation loss sits at `val_losses`, validation accuracy `acc`
    /// on 120 rows (60 per class), trained at lr 3e-5.
    fn flat(id: &str, val_losses: &[f64], acc: f64) -> crate::runs::RunSummary {
        let points = val_losses
            .iter()
            .enumerate()
            .map(|(i, &l)| ep(i + 1, 0.6935 - 0.002 * i as f64, 0.5, l, acc))
            .collect();
        let mut r = transformer_with_epochs(id, points);
        r.labels = vec!["neg".into(), "pos".into()];
        r.val_per_class = vec![("neg".into(), 60), ("pos".into(), 60)];
        r.val_n = Some(120);
        r.val_accuracy = Some(acc);
        r.val_acc_at_min_val_loss = Some(acc);
        r.params.insert("lr".into(), 3e-5.into());
        r.train_rows = Some(300);
        r.train_seconds = Some(360.0);
        r
    }

    #[test]
    fn loss_at_ln_k_and_majority_accuracy_is_said_first() {
        let r = flat("minilm", &[0.6925, 0.6918], 0.525);
        // A truncation finding that would otherwise rank first.
        let r = truncated(r, 0.5);
        let a = advise(&set(vec![r]), None);
        let d = &a.recommendations[0];
        assert_eq!(d.check, Check::DidNotLearn, "{}", a.render_markdown());
        assert!(
            d.title.starts_with("The model did not learn"),
            "{}",
            d.title
        );
        assert_has(
            &d.evidence,
            "validation loss 0.6925 → 0.6918 (2 validations) stays within 0.2 % of ln 2 = 0.6931",
        );
        assert_has(
            &d.evidence,
            "validation accuracy 52.50 % against a majority-class share of 50.00 % (60 of 120 validation rows are `neg`): no better than always predicting the majority class (95 % half-width 8.95 points on 120 rows)",
        );
        assert_has(&d.evidence, "undertraining, not overfitting");
        assert_has(
            &d.evidence,
            "trained with lr 3e-5, 2 epochs, 300 training rows",
        );
        assert_eq!(
            d.try_flags[0],
            "--lr 9e-5 (×3: a higher learning rate; not a lower one)"
        );
        assert!(
            d.try_flags[1].starts_with("--epochs 5"),
            "{:?}",
            d.try_flags
        );
        assert!(d
            .try_flags
            .iter()
            .any(|f| f.starts_with("check the labels")));
        assert_all_checks_accounted(&a);
        assert!(a.render_markdown().contains(
            "1. **The model did not learn: validation loss stays at chance level (ln 2)"
        ));
    }

    #[test]
    fn accuracy_above_the_majority_share_is_barely_learning() {
        let a = advise(&set(vec![flat("minilm", &[0.6893, 0.6865], 0.708)]), None);
        let d = rec(&a, Check::DidNotLearn);
        assert!(
            d.title.starts_with("The model has barely started to learn"),
            "{}",
            d.title
        );
        assert_has(
            &d.evidence,
            "above it, so the model ranks the texts a little",
        );
        assert_eq!(a.recommendations[0].check, Check::DidNotLearn);
    }

    #[test]
    fn a_model_that_learned_does_not_fire() {
        // 0.45 is far below ln 2.
        let a = advise(&set(vec![flat("minilm", &[0.60, 0.45], 0.85)]), None);
        let reason = not_fired(&a, Check::DidNotLearn);
        assert!(
            reason.contains("validation loss reached 0.4500 against ln 2 = 0.6931"),
            "{reason}"
        );
        // Three classes: chance level is ln 3 = 1.0986, so 0.69 is far below it.
        let mut r = flat("minilm", &[0.70, 0.69], 0.6);
        r.labels.push("mixed".into());
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::DidNotLearn).contains("ln 3 = 1.0986"));
    }

    #[test]
    fn the_learning_rate_rule_does_not_advise_a_lower_rate_then() {
        // The best lr is the lowest of the grid: normally "extend the lr grid downward".
        let runs = |losses: [f64; 2]| {
            [(1e-5, 0.70), (3e-5, 0.62), (5e-5, 0.60)]
                .into_iter()
                .enumerate()
                .map(|(i, (lr, acc))| {
                    let mut r = flat(&format!("lr{i}"), &losses, acc);
                    r.params.insert("lr".into(), lr.into());
                    r.params.insert("model".into(), "minilm".into());
                    r
                })
                .collect::<Vec<_>>()
        };
        let learned = advise(&set(runs([0.60, 0.45])), None);
        assert_eq!(
            rec(&learned, Check::LearningRate).title,
            "Extend the lr grid downward"
        );
        let flat_runs = advise(&set(runs([0.6925, 0.6918])), None);
        rec(&flat_runs, Check::DidNotLearn);
        let reason = not_fired(&flat_runs, Check::LearningRate);
        assert!(reason.contains("stayed at chance level"), "{reason}");
        assert!(reason.contains("a lower learning rate"), "{reason}");
        assert_all_checks_accounted(&flat_runs);
    }
}
