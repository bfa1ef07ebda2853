//! Choosing the best run by a declared rule, and flagging the runs that are not
//! distinguishable from it.
//!
//! The default rule is the homework's: validation accuracy at the validation of minimum
//! validation loss. Runs within the best run's validation confidence half-width are near
//! ties; where both runs have test predictions on the same rows, McNemar's test on those
//! rows says whether the test difference could be chance.
//!
//! Runs are only compared with runs scored on the same test set
//! ([`crate::testsets`]). When the runs hold several test sets, each is ranked on its
//! own: the [`Selection`] is that of the test set with the most finished runs, and
//! [`Selection::others`] holds the others'.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use textclf_eval::{compare_runs, load_run, EvalOptions};

use textclf_core::Task;

use crate::error::{ReportError, Result};
use crate::runs::{RunSet, RunSummary};
use crate::testsets::{group_runs, TestSetGroup};

/// What "best" means.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Validation accuracy at the validation with the lowest validation loss (default).
    #[default]
    ValAccAtMinValLoss,
    /// Validation accuracy of the kept model.
    ValAccuracy,
    /// Validation macro F1 of the kept model.
    ValMacroF1,
    /// Lowest validation loss.
    ValLoss,
    /// Validation micro F1 (multi-label; the default there).
    ValMicroF1,
    /// Validation Pearson's r (regression; the default there).
    ValPearson,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::ValAccAtMinValLoss,
        Rule::ValAccuracy,
        Rule::ValMacroF1,
        Rule::ValLoss,
        Rule::ValMicroF1,
        Rule::ValPearson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::ValAccAtMinValLoss => "val_acc_at_min_val_loss",
            Rule::ValAccuracy => "val_accuracy",
            Rule::ValMacroF1 => "val_macro_f1",
            Rule::ValLoss => "val_loss",
            Rule::ValMicroF1 => "val_micro_f1",
            Rule::ValPearson => "val_pearson",
        }
    }

    /// The default rule of a task: validation accuracy at minimum loss (single-label),
    /// validation micro F1 (multi-label), validation Pearson's r (regression).
    pub fn default_for(task: Task) -> Rule {
        match task {
            Task::SingleLabel => Rule::ValAccAtMinValLoss,
            Task::MultiLabel => Rule::ValMicroF1,
            Task::Regression => Rule::ValPearson,
        }
    }

    /// The rules that measure runs of `task`.
    pub fn for_task(task: Task) -> &'static [Rule] {
        match task {
            Task::SingleLabel => &[
                Rule::ValAccAtMinValLoss,
                Rule::ValAccuracy,
                Rule::ValMacroF1,
                Rule::ValLoss,
            ],
            Task::MultiLabel => &[Rule::ValMicroF1, Rule::ValMacroF1, Rule::ValLoss],
            Task::Regression => &[Rule::ValPearson, Rule::ValLoss],
        }
    }

    /// Words for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::ValAccAtMinValLoss => {
                "validation accuracy at the epoch of minimum validation loss"
            }
            Rule::ValAccuracy => "validation accuracy",
            Rule::ValMacroF1 => "validation macro F1",
            Rule::ValLoss => "lowest validation loss",
            Rule::ValMicroF1 => "validation micro F1",
            Rule::ValPearson => "validation Pearson's r",
        }
    }

    /// The run's score under this rule (higher is better), if it has one.
    pub fn score(self, r: &RunSummary) -> Option<f64> {
        match self {
            Rule::ValAccAtMinValLoss => r.val_acc_at_min_val_loss,
            Rule::ValAccuracy => r.val_accuracy,
            Rule::ValMacroF1 => r.val_macro_f1,
            Rule::ValLoss => r.val_loss.map(|l| -l),
            Rule::ValMicroF1 => r.val_micro_f1,
            Rule::ValPearson => r.val_pearson,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                ReportError::Invalid(format!(
                    "unknown selection rule '{s}'; use one of: {}",
                    Rule::ALL.map(Rule::name).join(", ")
                ))
            })
    }
}

/// The rule a report uses: `rule` if given, else the one the sweep declared, else the
/// default of the runs' task ([`Rule::default_for`]). A given rule that does not measure
/// the runs' task is refused, naming the ones that do; a sweep's rule that does not is
/// replaced by the task's default.
pub fn report_rule(set: &RunSet, rule: Option<Rule>) -> Result<Rule> {
    let task = set.task();
    let fits = |r: Rule| Rule::for_task(task).contains(&r);
    match (rule, &set.selection) {
        (Some(r), _) if fits(r) => Ok(r),
        (Some(r), _) => Err(ReportError::Invalid(format!(
            "the selection rule {r} does not measure {task} runs; use one of: {}",
            Rule::for_task(task)
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        (None, Some(name)) => {
            let r = name.parse::<Rule>().map_err(|e| {
                ReportError::Invalid(format!(
                    "{}: the sweep's selection rule: {e}",
                    set.dir.display()
                ))
            })?;
            Ok(if fits(r) { r } else { Rule::default_for(task) })
        }
        (None, None) => Ok(Rule::default_for(task)),
    }
}

/// One finished run placed against the best.
#[derive(Serialize, Clone, Debug)]
pub struct Ranked {
    pub id: String,
    /// The rule's score (for `val_loss`, the loss itself).
    pub score: f64,
    /// Best score minus this score, in the rule's units (≥ 0; loss: this − best).
    pub gap: f64,
    /// Within the best run's 95 % validation half-width: not distinguishable on validation.
    pub near_tie: bool,
    /// The task's headline test measure of this run minus the best run's (accuracy,
    /// micro F1, Pearson's r), when both have test predictions.
    pub test_diff: Option<f64>,
    /// McNemar's two-sided p-value of that test difference (multi-label: on exact
    /// matches; none for a regression).
    pub mcnemar_p: Option<f64>,
}

/// The outcome of [`select`].
#[derive(Serialize, Clone, Debug)]
pub struct Selection {
    pub rule: Rule,
    /// Id of the best run.
    pub best: String,
    /// Half-width of the best run's 95 % validation interval (normal approximation of a
    /// binomial proportion for accuracies; `None` for losses or without a validation size).
    pub half_width: Option<f64>,
    /// Every scored run, best first.
    pub ranking: Vec<Ranked>,
    /// Finished runs without a score under the rule (e.g. no validation split).
    pub unscored: Vec<String>,
    /// The test set this selection ranks, when the runs hold several (`None`: one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_set: Option<String>,
    /// Every test set of the runs with its runs, largest first, when there are several
    /// (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test_sets: Vec<TestSetGroup>,
    /// The selections of the other test sets, each ranked on its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<Selection>,
}

impl Selection {
    /// The runs flagged as near ties of the best (not the best itself).
    pub fn near_ties(&self) -> impl Iterator<Item = &Ranked> {
        self.ranking.iter().skip(1).filter(|r| r.near_tie)
    }

    /// This selection and those of the other test sets.
    pub fn per_test_set(&self) -> impl Iterator<Item = &Selection> {
        std::iter::once(self).chain(&self.others)
    }

    /// Whether `id` is the best run of its test set.
    pub fn is_best(&self, id: &str) -> bool {
        self.per_test_set().any(|s| s.best == id)
    }

    /// Whether `id` is a near tie of the best run of its test set.
    pub fn is_near_tie(&self, id: &str) -> bool {
        self.per_test_set()
            .any(|s| s.near_ties().any(|t| t.id == id))
    }
}

/// Picks the best finished run of `runs` by `rule`. Ties in score go to the run that
/// trained faster, then to the first. `None` when no finished run has a score.
///
/// Runs scored on different test sets are never compared: each test set is ranked on its
/// own, the one with the most finished runs (and a score) in the returned selection, the
/// others in [`Selection::others`].
pub fn select(runs: &[RunSummary], rule: Rule) -> Option<Selection> {
    let groups = group_runs(runs);
    if groups.len() <= 1 {
        return select_among(&runs.iter().collect::<Vec<_>>(), rule);
    }
    let test_sets: Vec<TestSetGroup> = groups.iter().map(|(g, _)| g.clone()).collect();
    let mut selections = groups.into_iter().filter_map(|(g, members)| {
        let mut s = select_among(&members, rule)?;
        s.test_set = Some(g.label);
        Some(s)
    });
    let mut main = selections.next()?;
    main.others = selections.collect();
    main.test_sets = test_sets;
    Some(main)
}

/// [`select`] among runs of one test set.
fn select_among(runs: &[&RunSummary], rule: Rule) -> Option<Selection> {
    let mut scored: Vec<(&RunSummary, f64)> = runs
        .iter()
        .copied()
        .filter(|r| r.is_done())
        .filter_map(|r| rule.score(r).filter(|s| s.is_finite()).map(|s| (r, s)))
        .collect();
    let unscored = runs
        .iter()
        .filter(|r| r.is_done() && rule.score(r).is_none())
        .map(|r| r.id.clone())
        .collect();
    // Stable sort: equal scores keep the faster run first, then the plan order.
    scored.sort_by(|(ra, a), (rb, b)| {
        b.total_cmp(a).then_with(|| {
            let ta = ra.total_seconds.unwrap_or(f64::INFINITY);
            let tb = rb.total_seconds.unwrap_or(f64::INFINITY);
            ta.total_cmp(&tb)
        })
    });
    let &(best, best_score) = scored.first()?;
    let half_width = match rule {
        Rule::ValLoss => None,
        // Fisher's z: the standard error of r is about (1 − r²) / √(n − 3).
        Rule::ValPearson => best
            .val_n
            .filter(|&n| n > 3)
            .map(|n| 1.96 * (1.0 - best_score * best_score) / ((n - 3) as f64).sqrt()),
        _ => best
            .val_n
            .filter(|&n| n > 0)
            .map(|n| 1.96 * (best_score * (1.0 - best_score) / n as f64).sqrt()),
    };
    let best_run = load_run(&best.dir).ok();
    let ranking = scored
        .iter()
        .enumerate()
        .map(|(i, &(r, s))| {
            let gap = best_score - s;
            let (test_diff, mcnemar_p) = if i == 0 {
                (None, None)
            } else {
                test_difference(best_run.as_ref(), r).unwrap_or((None, None))
            };
            let near_tie = i == 0
                || gap == 0.0
                || half_width.is_some_and(|h| gap <= h)
                || (rule == Rule::ValLoss && mcnemar_p.is_some_and(|p| p >= 0.05) && gap < 0.01);
            Ranked {
                id: r.id.clone(),
                score: if rule == Rule::ValLoss { -s } else { s },
                gap,
                near_tie,
                test_diff,
                mcnemar_p,
            }
        })
        .collect();
    Some(Selection {
        rule,
        best: best.id.clone(),
        half_width,
        ranking,
        unscored,
        test_set: None,
        test_sets: Vec::new(),
        others: Vec::new(),
    })
}

type TestDiff = (Option<f64>, Option<f64>);

fn test_difference(best: Option<&textclf_eval::RunRecord>, r: &RunSummary) -> Result<TestDiff> {
    let Some(best) = best else {
        return Ok((None, None));
    };
    let other = load_run(&r.dir)?;
    let opts = EvalOptions {
        bootstrap: 0,
        ..EvalOptions::default()
    };
    let c = compare_runs(best, &other, &opts)?;
    Ok((c.headline_diff(), c.mcnemar_p()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{Family, RunStatus};
    use std::collections::BTreeMap;

    fn run(id: &str, acc: Option<f64>, n: usize, secs: f64) -> RunSummary {
        RunSummary {
            id: id.into(),
            dir: std::path::PathBuf::from("/nonexistent").join(id),
            status: RunStatus::Done,
            family: Family::Transformer,
            model: id.into(),
            params: BTreeMap::new(),
            varied: vec![],
            labels: vec![],
            test: None,
            val_accuracy: acc,
            val_macro_f1: acc,
            val_micro_f1: None,
            val_pearson: None,
            val_loss: acc.map(|a| 1.0 - a),
            val_n: Some(n),
            val_acc_at_min_val_loss: acc,
            epochs: vec![],
            best_epoch: None,
            stopped_early: false,
            train_rows: None,
            total_seconds: Some(secs),
            train_seconds: None,
            seconds_per_epoch: None,
            samples_per_s: None,
            parameters: None,
            truncation: None,
            test_set: None,
            val_per_class: Vec::new(),
            linear_fit: None,
        }
    }

    #[test]
    fn picks_the_highest_score_and_flags_runs_within_the_interval() {
        let runs = vec![
            run("a", Some(0.80), 1000, 10.0),
            run("b", Some(0.90), 1000, 10.0),
            run("c", Some(0.89), 1000, 10.0),
            run("d", None, 1000, 1.0),
        ];
        let s = select(&runs, Rule::ValAccAtMinValLoss).unwrap();
        assert_eq!(s.best, "b");
        let hw = s.half_width.unwrap();
        assert!((hw - 1.96 * (0.09f64 / 1000.0).sqrt()).abs() < 1e-12);
        let ids: Vec<&str> = s.near_ties().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["c"]);
        assert_eq!(s.ranking.last().unwrap().id, "a");
        assert!(!s.ranking.last().unwrap().near_tie);
        assert_eq!(s.unscored, vec!["d"]);
    }

    #[test]
    fn equal_scores_go_to_the_faster_run() {
        let runs = vec![
            run("slow", Some(0.9), 100, 50.0),
            run("fast", Some(0.9), 100, 5.0),
        ];
        assert_eq!(select(&runs, Rule::ValAccuracy).unwrap().best, "fast");
    }

    #[test]
    fn loss_rule_prefers_the_lowest_loss() {
        let runs = vec![run("a", Some(0.7), 100, 1.0), run("b", Some(0.8), 100, 1.0)];
        let s = select(&runs, Rule::ValLoss).unwrap();
        assert_eq!(s.best, "b");
        assert!((s.ranking[0].score - 0.2).abs() < 1e-12);
    }

    #[test]
    fn rule_names_round_trip_and_unknown_names_are_explained() {
        for r in Rule::ALL {
            assert_eq!(r.name().parse::<Rule>().unwrap(), r);
        }
        let e = "best".parse::<Rule>().unwrap_err().to_string();
        assert!(e.contains("val_acc_at_min_val_loss"), "{e}");
    }

    #[test]
    fn no_finished_scored_run_gives_none() {
        let mut r = run("a", Some(0.9), 10, 1.0);
        r.status = RunStatus::Pending;
        assert!(select(&[r], Rule::ValAccuracy).is_none());
    }
}
