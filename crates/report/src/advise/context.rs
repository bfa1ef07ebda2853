//! What every check reads ([`Ctx`]): the finished runs, the selection over them, the best
//! run and the transformer run the training checks centre on, and what [`LookedAt`] reports;
//! and [`Finished`], a finished run seen together with its test report.

use std::cmp::Ordering;

use textclf_eval::Report;

use crate::runs::{Family, RunSet, RunStatus, RunSummary};
use crate::select::{select, Rule, Selection};
use crate::testsets::{group_runs, TestSetGroup};

use super::{BestRun, LookedAt};

/// A run with its test report: what the checks that compare test results take, so that
/// "this run has a test report" is a type rather than an `unwrap`.
#[derive(Clone, Copy)]
pub(crate) struct Finished<'a> {
    pub(crate) run: &'a RunSummary,
    pub(crate) test: &'a Report,
}

impl<'a> Finished<'a> {
    /// `run` with its test report; `None` when it has none.
    pub(crate) fn of(run: &'a RunSummary) -> Option<Finished<'a>> {
        Some(Finished {
            run,
            test: run.single()?,
        })
    }
}

/// The runs, the selection and the runs the checks centre on.
pub(crate) struct Ctx<'a> {
    pub(crate) set: &'a RunSet,
    pub(crate) rule: Rule,
    pub(crate) selection: Option<Selection>,
    /// The finished runs the checks compare: all of them, or, when the runs hold several
    /// test sets, those of the test set the selection ranks first.
    pub(crate) done: Vec<&'a RunSummary>,
    /// When the runs hold several test sets: the one compared here, and the others.
    pub(crate) test_set: Option<TestSetGroup>,
    pub(crate) other_test_sets: Vec<TestSetGroup>,
    pub(crate) best: Option<&'a RunSummary>,
    pub(crate) chosen_by: String,
    /// The best transformer run (the best run itself when it is a transformer).
    pub(crate) focus: Option<&'a RunSummary>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(set: &'a RunSet, selection: Option<&Selection>) -> Self {
        let rule = selection
            .map(|s| s.rule)
            .unwrap_or_else(|| crate::select::report_rule(set, None).unwrap_or_default());
        let selection = match selection {
            Some(s) => Some(s.clone()),
            None => select(&set.runs, rule),
        };
        let mut done: Vec<&RunSummary> = set.done().collect();
        let mut test_set = None;
        let mut other_test_sets = Vec::new();
        let groups = group_runs(&set.runs);
        if groups.len() > 1 {
            let wanted = selection.as_ref().and_then(|s| s.test_set.clone());
            let main = groups
                .iter()
                .position(|(g, _)| Some(&g.label) == wanted.as_ref())
                .unwrap_or(0);
            for (i, (g, _)) in groups.into_iter().enumerate() {
                if i == main {
                    done.retain(|r| g.runs.contains(&r.id));
                    test_set = Some(g);
                } else {
                    other_test_sets.push(g);
                }
            }
        }
        let (best, chosen_by) = match selection
            .as_ref()
            .and_then(|s| done.iter().copied().find(|r| r.id == s.best))
        {
            Some(b) => (Some(b), rule.describe().to_string()),
            None => {
                let b = done
                    .iter()
                    .copied()
                    .filter(|r| r.single().is_some())
                    .max_by(|a, b| cmp_test(a, b));
                (
                    b,
                    format!(
                        "test accuracy, because no finished run has a score under the rule \
                         '{}' (choosing on the test set flatters the choice)",
                        rule.name()
                    ),
                )
            }
        };
        let mut cx = Ctx {
            set,
            rule,
            selection,
            done,
            test_set,
            other_test_sets,
            best,
            chosen_by,
            focus: None,
        };
        cx.focus = match best {
            Some(b) if b.family == Family::Transformer => Some(b),
            _ => cx.pick(&cx.of_family(Family::Transformer)),
        };
        cx
    }

    pub(crate) fn of_family(&self, family: Family) -> Vec<&'a RunSummary> {
        self.done
            .iter()
            .copied()
            .filter(|r| r.family == family)
            .collect()
    }

    /// The best of `runs` by the rule (then faster); without scores, by test accuracy.
    pub(crate) fn pick(&self, runs: &[&'a RunSummary]) -> Option<&'a RunSummary> {
        self.pick_by(runs, |r| r)
    }

    /// [`Ctx::pick`] over runs with their test reports.
    pub(crate) fn pick_finished(&self, runs: &[Finished<'a>]) -> Option<Finished<'a>> {
        self.pick_by(runs, |f| f.run)
    }

    fn pick_by<T: Copy>(&self, items: &[T], run: impl Fn(T) -> &'a RunSummary) -> Option<T> {
        let scored = items
            .iter()
            .copied()
            .filter_map(|x| Some((x, self.rule.score(run(x)).filter(|s| s.is_finite())?)))
            .max_by(|(a, sa), (b, sb)| {
                sa.total_cmp(sb).then_with(|| {
                    // Faster wins ties: compare reversed seconds.
                    let ta = run(*a).total_seconds.unwrap_or(f64::INFINITY);
                    let tb = run(*b).total_seconds.unwrap_or(f64::INFINITY);
                    tb.total_cmp(&ta)
                })
            })
            .map(|(x, _)| x);
        scored.or_else(|| {
            items
                .iter()
                .copied()
                .filter(|&x| run(x).single().is_some())
                .max_by(|&a, &b| cmp_test(run(a), run(b)))
        })
    }

    pub(crate) fn near_tie_ids(&self) -> Vec<String> {
        self.selection
            .as_ref()
            .map(|s| s.near_ties().map(|r| r.id.clone()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn run(&self, id: &str) -> Option<&'a RunSummary> {
        self.done.iter().copied().find(|r| r.id == id)
    }

    /// The curve metric of a run: the rule's score when it is an accuracy-like
    /// proportion, validation accuracy under the loss rule.
    pub(crate) fn curve_metric(&self, r: &RunSummary) -> Option<f64> {
        match self.rule {
            Rule::ValLoss => r.val_accuracy,
            rule => rule.score(r),
        }
    }

    pub(crate) fn curve_metric_name(&self) -> &'static str {
        match self.rule {
            Rule::ValAccAtMinValLoss => "validation accuracy at minimum validation loss",
            Rule::ValAccuracy | Rule::ValLoss => "validation accuracy",
            Rule::ValMacroF1 => "validation macro F1",
            Rule::ValMicroF1 => "validation micro F1",
            Rule::ValPearson => "validation Pearson's r",
        }
    }

    pub(crate) fn looked_at(&self) -> LookedAt {
        let runs = &self.set.runs;
        let count = |f: &dyn Fn(&RunSummary) -> bool| runs.iter().filter(|r| f(r)).count();
        let mut varied = self.set.varied.clone();
        for k in varied_keys(&self.done) {
            if !varied.contains(&k) {
                varied.push(k);
            }
        }
        LookedAt {
            dir: self.set.dir.clone(),
            sweep: self.set.sweep.clone(),
            runs: runs.len(),
            done: count(&|r| r.is_done()),
            failed: count(&|r| matches!(r.status, RunStatus::Failed { .. })),
            pending: count(&|r| r.status == RunStatus::Pending),
            transformer: self.of_family(Family::Transformer).len(),
            linear: self.of_family(Family::Linear).len(),
            varied,
            rule: self.rule,
            test_set: self.test_set.clone(),
            other_test_sets: self.other_test_sets.clone(),
            best: self.best.map(|b| BestRun {
                id: b.id.clone(),
                model: b.model.clone(),
                family: b.family,
                chosen_by: self.chosen_by.clone(),
                test_accuracy: b.test_accuracy(),
                test_accuracy_ci: b
                    .single()
                    .filter(|t| t.ci.resamples > 0)
                    .map(|t| t.ci.accuracy),
                ci_level: b
                    .single()
                    .filter(|t| t.ci.resamples > 0)
                    .map(|t| t.ci.level),
                test_n: b.test.as_ref().map(|t| t.n()),
                test_macro_f1: b.test_macro_f1(),
                test_headline: b.test.as_ref().and_then(|t| match t.headline() {
                    (measure, Some(v)) => Some((measure.to_string(), v)),
                    (_, None) => None,
                }),
            }),
        }
    }
}

pub(crate) fn cmp_test(a: &RunSummary, b: &RunSummary) -> Ordering {
    let (x, y) = (a.test_accuracy(), b.test_accuracy());
    x.unwrap_or(f64::NEG_INFINITY)
        .total_cmp(&y.unwrap_or(f64::NEG_INFINITY))
}

/// Settings (other than the seed) whose values differ between the finished runs.
fn varied_keys(runs: &[&RunSummary]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in runs {
        for k in r.params.keys() {
            if !keys.contains(k) && k != "seed" {
                keys.push(k.clone());
            }
        }
    }
    // Varied: at least two different values among the runs that record the setting.
    keys.retain(|k| {
        let mut values = runs.iter().filter_map(|r| r.params.get(k));
        let first = values.next();
        values.any(|v| Some(v) != first)
    });
    keys
}
