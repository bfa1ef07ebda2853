//! The improvement advisor behind `textclf advise`: reads finished runs (one run, a folder
//! of runs, or a sweep) and says what to try next, ranked, with the evidence for each
//! piece of advice.
//!
//! Every check below looks for one pattern in the runs and fires only when the runs hold
//! the evidence for it; a check that cannot fire says why, so the reader sees what was
//! considered. Every number in the advice is computed from the runs. The expected impact
//! that orders the list is either *measured* (a difference the runs show) or a
//! *heuristic* (a rough scale derived from the runs' numbers, used only for ordering),
//! and each piece of advice says which.
//!
//! | Check | Fires when | Advice |
//! |---|---|---|
//! | [`Check::MoreEpochs`] | the last validation of the best (or a near-tie) transformer run lowered its validation loss by ≥ [`MIN_LOSS_DROP`] (relative) | `--epochs N+2` |
//! | [`Check::Truncation`] | ≥ [`MIN_TRUNCATED_SHARE`] of the sampled training texts are longer than `max_len` | longer `--max-len` and/or `--truncation head+tail` |
//! | [`Check::WeakClass`] | a class's test recall is ≥ [`WEAK_RECALL_GAP`] below the mean recall of the other classes | `--class-weights` / more data for it |
//! | [`Check::DataScaling`] | the sweep varied `train_fraction` | more data if the last step gained significantly, else "data is not the bottleneck" |
//! | [`Check::Overfitting`] | validation loss rose ≥ [`MIN_LOSS_RISE`] above its minimum while training loss fell, or train − val accuracy > [`OVERFIT_GAP`] | fewer epochs / regularisation |
//! | [`Check::SmallerModel`] | a transformer with fewer parameters (or layers) is not worse on test (McNemar p ≥ [`ALPHA`], or inside the larger's CI) | prefer the smaller one |
//! | [`Check::BaselineComparison`] | there are a transformer and a linear run | says whether the transformer beats the baseline beyond chance |
//! | [`Check::LearningRate`] | `lr` was varied | extend the grid when the best value is at its edge |
//! | [`Check::MaxLen`] | `max_len` was varied | extend the grid when the best value is at its edge |
//! | [`Check::NearTie`] | the selection flagged a near tie that trained ≥ [`CHEAPER_BY`] faster | prefer the cheaper run |

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use textclf_eval::{align_runs, compare, load_run, EvalOptions};

use crate::runs::{EpochPoint, Family, RunSet, RunStatus, RunSummary};
use crate::select::{select, Rule, Selection};

/// Significance level of the paired tests (McNemar) the advisor runs.
pub const ALPHA: f64 = 0.05;
/// Validation loss counts as still falling when the last validation lowered it by at
/// least this share of the previous value.
pub const MIN_LOSS_DROP: f64 = 0.01;
/// Validation loss counts as rising when the last validation is at least this share above
/// the run's minimum.
pub const MIN_LOSS_RISE: f64 = 0.01;
/// Share of truncated training texts from which the truncation advice fires.
pub const MIN_TRUNCATED_SHARE: f64 = 0.10;
/// How far (as a proportion, 0.10 = 10 points) a class's recall must lie below the mean
/// recall of the other classes to be called weak.
pub const WEAK_RECALL_GAP: f64 = 0.10;
/// Train accuracy minus validation accuracy above which a run is called overfitted.
pub const OVERFIT_GAP: f64 = 0.05;
/// Extra epochs suggested when validation loss is still falling.
pub const EXTRA_EPOCHS: usize = 2;
/// A near tie must train at least this share faster than the best run to be advised.
pub const CHEAPER_BY: f64 = 0.10;
/// The longest input of BERT-family checkpoints (their position embeddings).
pub const MAX_POSITIONS: usize = 512;

/// The checks the advisor runs, in the order it runs them.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Validation loss still falling at the last epoch.
    MoreEpochs,
    /// Many texts cut at `max_len`.
    Truncation,
    /// A class with recall far below the others.
    WeakClass,
    /// How accuracy moved with the training-data fraction.
    DataScaling,
    /// Validation loss rising while training loss falls, or a large train/val gap.
    Overfitting,
    /// A smaller transformer as accurate as a larger one.
    SmallerModel,
    /// The best transformer against the best linear baseline.
    BaselineComparison,
    /// The learning-rate grid.
    LearningRate,
    /// The `max_len` grid.
    MaxLen,
    /// Near ties of the selection that are cheaper.
    NearTie,
}

impl Check {
    pub const ALL: [Check; 10] = [
        Check::MoreEpochs,
        Check::Truncation,
        Check::WeakClass,
        Check::DataScaling,
        Check::Overfitting,
        Check::SmallerModel,
        Check::BaselineComparison,
        Check::LearningRate,
        Check::MaxLen,
        Check::NearTie,
    ];

    /// The name used in JSON and Markdown.
    pub fn name(self) -> &'static str {
        match self {
            Check::MoreEpochs => "more_epochs",
            Check::Truncation => "truncation",
            Check::WeakClass => "weak_class",
            Check::DataScaling => "data_scaling",
            Check::Overfitting => "overfitting",
            Check::SmallerModel => "smaller_model",
            Check::BaselineComparison => "baseline_comparison",
            Check::LearningRate => "learning_rate",
            Check::MaxLen => "max_len",
            Check::NearTie => "near_tie",
        }
    }

    /// What the check looks at, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Check::MoreEpochs => "validation loss still falling at the last epoch",
            Check::Truncation => "share of texts cut at max_len",
            Check::WeakClass => "a class with recall far below the others",
            Check::DataScaling => "accuracy against the training-data fraction",
            Check::Overfitting => "train/validation gap and rising validation loss",
            Check::SmallerModel => "a smaller transformer as accurate as a larger one",
            Check::BaselineComparison => "transformer against the linear baseline",
            Check::LearningRate => "the learning-rate grid",
            Check::MaxLen => "the max_len grid",
            Check::NearTie => "cheaper runs tied with the best",
        }
    }
}

/// Whether an expected impact was measured on the runs or is a heuristic guess.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A difference the runs show.
    Measured,
    /// A rough scale computed from the runs' numbers; used to order, not a prediction.
    Heuristic,
}

/// The expected effect of following a recommendation on accuracy.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Impact {
    /// Accuracy points (0.8 = +0.8 points); the ranking key.
    pub points: f64,
    pub basis: Basis,
    /// How `points` was obtained.
    pub how: String,
}

/// One ranked piece of advice.
#[derive(Serialize, Clone, Debug)]
pub struct Recommendation {
    /// 1-based place in the ranking.
    pub rank: usize,
    pub check: Check,
    /// The action, in a few words.
    pub title: String,
    /// Sentences quoting the numbers seen and the runs they come from.
    pub evidence: Vec<String>,
    /// Ids of the runs the evidence cites.
    pub runs: Vec<String>,
    pub impact: Impact,
    /// Estimated change of training seconds per run (negative: saves time), when the runs
    /// allow an estimate; the tie-break of the ranking (cheaper first).
    pub cost_seconds: Option<f64>,
    /// The cost, in words.
    pub cost: String,
    /// Command-line changes to try (`textclf train` / `baseline` flags), or words when
    /// no flag does it.
    pub try_flags: Vec<String>,
}

/// An observation with evidence that asks for no change (e.g. "the transformer beats the
/// baseline by 4 points").
#[derive(Serialize, Clone, Debug)]
pub struct Finding {
    pub check: Check,
    pub title: String,
    pub evidence: Vec<String>,
    pub runs: Vec<String>,
}

/// A check that found nothing to say, and why.
#[derive(Serialize, Clone, Debug)]
pub struct NotFired {
    pub check: Check,
    pub reason: String,
}

/// The run the advice is centred on.
#[derive(Serialize, Clone, Debug)]
pub struct BestRun {
    pub id: String,
    pub model: String,
    pub family: Family,
    /// How it was chosen, in words.
    pub chosen_by: String,
    pub test_accuracy: Option<f64>,
    /// Bootstrap interval of the test accuracy (`None` without a bootstrap).
    pub test_accuracy_ci: Option<[f64; 2]>,
    pub ci_level: Option<f64>,
    pub test_n: Option<usize>,
    pub test_macro_f1: Option<f64>,
}

/// What the advisor read.
#[derive(Serialize, Clone, Debug)]
pub struct LookedAt {
    pub dir: PathBuf,
    pub sweep: Option<String>,
    pub runs: usize,
    pub done: usize,
    pub failed: usize,
    pub pending: usize,
    /// Finished transformer and linear runs.
    pub transformer: usize,
    pub linear: usize,
    /// Settings that differ between the runs.
    pub varied: Vec<String>,
    /// The selection rule used to pick the best run.
    pub rule: Rule,
    pub best: Option<BestRun>,
}

/// The advisor's output: [`advise`] makes it, [`Advice::render_markdown`] prints it.
#[derive(Serialize, Clone, Debug)]
pub struct Advice {
    pub looked_at: LookedAt,
    /// Best first.
    pub recommendations: Vec<Recommendation>,
    pub findings: Vec<Finding>,
    pub not_fired: Vec<NotFired>,
}

/// Reads `set` and returns ranked advice. `selection` is the selection made over the same
/// runs, if the caller has one; otherwise the set's rule (or the default) is applied.
pub fn advise(set: &RunSet, selection: Option<&Selection>) -> Advice {
    let cx = Ctx::new(set, selection);
    let mut recommendations = Vec::new();
    let mut findings = Vec::new();
    let mut not_fired = Vec::new();
    // Runs recommended by the smaller-model check, so the near-tie check does not repeat them.
    let mut smaller_ids: Vec<String> = Vec::new();
    let mut truncation_fired = false;
    for check in Check::ALL {
        let outcome = match check {
            Check::MoreEpochs => more_epochs(&cx),
            Check::Truncation => truncation(&cx),
            Check::WeakClass => weak_class(&cx),
            Check::DataScaling => data_scaling(&cx),
            Check::Overfitting => overfitting(&cx),
            Check::SmallerModel => smaller_model(&cx),
            Check::BaselineComparison => baseline_comparison(&cx),
            Check::LearningRate => learning_rate(&cx),
            Check::MaxLen => max_len_grid(&cx, truncation_fired),
            Check::NearTie => near_tie(&cx, &smaller_ids),
        };
        match outcome {
            Outcome::Skipped(reason) => not_fired.push(NotFired { check, reason }),
            Outcome::Fired(items) => {
                for item in items {
                    match item {
                        Item::Rec(r) => {
                            if check == Check::SmallerModel {
                                smaller_ids.extend(r.runs.iter().cloned());
                            }
                            if check == Check::Truncation {
                                truncation_fired = true;
                            }
                            recommendations.push(r);
                        }
                        Item::Finding(f) => findings.push(f),
                    }
                }
            }
        }
    }
    // Highest expected impact first; equal impact: cheaper first; then check order. A
    // heuristic estimate counts half, so it only outranks a measured difference when it is
    // much larger (heuristics here are upper-end scales, not predictions).
    let key = |r: &Recommendation| match r.impact.basis {
        Basis::Measured => r.impact.points,
        Basis::Heuristic => 0.5 * r.impact.points,
    };
    recommendations.sort_by(|a, b| {
        key(b).total_cmp(&key(a)).then_with(|| {
            let ca = a.cost_seconds.unwrap_or(0.0);
            let cb = b.cost_seconds.unwrap_or(0.0);
            ca.total_cmp(&cb)
        })
    });
    for (i, r) in recommendations.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Advice {
        looked_at: cx.looked_at(),
        recommendations,
        findings,
        not_fired,
    }
}

impl Advice {
    /// The advice as Markdown: what was read, the ranked plan, findings, and the checks
    /// that did not fire.
    pub fn render_markdown(&self) -> String {
        let mut s = String::new();
        let l = &self.looked_at;
        match &l.sweep {
            Some(name) => {
                let _ = writeln!(s, "# Improvement advice: sweep `{name}`\n");
            }
            None => s.push_str("# Improvement advice\n\n"),
        }
        s.push_str("## What we looked at\n\n");
        let _ = writeln!(
            s,
            "- Runs read from `{}`: {} ({} finished, {} failed, {} not finished); finished: {} transformer, {} linear.",
            l.dir.display(),
            l.runs,
            l.done,
            l.failed,
            l.pending,
            l.transformer,
            l.linear
        );
        if l.varied.is_empty() {
            s.push_str("- Settings varied: none.\n");
        } else {
            let v: Vec<String> = l.varied.iter().map(|k| format!("`{k}`")).collect();
            let _ = writeln!(s, "- Settings varied: {}.", v.join(", "));
        }
        match &l.best {
            Some(b) => {
                let _ = writeln!(
                    s,
                    "- Best run: `{}` ({}, {}), chosen by {}.",
                    b.id,
                    b.model,
                    family_word(b.family),
                    b.chosen_by
                );
                match b.test_accuracy {
                    Some(acc) => {
                        let ci = match (b.test_accuracy_ci, b.ci_level) {
                            (Some([lo, hi]), Some(level)) => {
                                format!(" ({} CI {} to {})", level_text(level), pct(lo), pct(hi))
                            }
                            _ => " (no bootstrap CI was computed)".to_string(),
                        };
                        let n = b
                            .test_n
                            .map_or(String::new(), |n| format!(" on {n} test rows"));
                        let f1 = b
                            .test_macro_f1
                            .map_or(String::new(), |f| format!("; macro F1 {}", pct(f)));
                        let _ = writeln!(s, "- Its test accuracy: {}{ci}{n}{f1}.", pct(acc));
                    }
                    None => s.push_str("- It has no test report.\n"),
                }
            }
            None => s.push_str("- Best run: none (no finished run).\n"),
        }
        s.push_str(
            "- Every number below is computed from these runs. An expected impact marked \
             *measured* is a difference the runs show (the next step may gain less); one \
             marked *heuristic* is a rough scale used only to order the list, not a \
             prediction.\n\n",
        );

        s.push_str("## Improvement plan (ranked)\n\n");
        if self.recommendations.is_empty() {
            s.push_str(
                "No check found evidence for a specific change; see the findings and the \
                 checks that did not fire below.\n\n",
            );
        }
        for r in &self.recommendations {
            let _ = writeln!(s, "{}. **{}** (`{}`)", r.rank, r.title, r.check.name());
            s.push_str("   - Evidence:\n");
            for e in &r.evidence {
                let _ = writeln!(s, "     - {e}");
            }
            let basis = match r.impact.basis {
                Basis::Measured => "measured",
                Basis::Heuristic => "heuristic",
            };
            let _ = writeln!(
                s,
                "   - Expected impact: {:+.2} accuracy points, *{basis}*: {}",
                r.impact.points, r.impact.how
            );
            let _ = writeln!(s, "   - Cost: {}", r.cost);
            if !r.try_flags.is_empty() {
                let t: Vec<String> = r
                    .try_flags
                    .iter()
                    .map(|f| match (f.starts_with("--"), f.split_once(" (")) {
                        (true, Some((flag, note))) => format!("`{flag}` ({note}"),
                        (true, None) => format!("`{f}`"),
                        (false, _) => f.clone(),
                    })
                    .collect();
                let _ = writeln!(s, "   - Try: {}", t.join("; or "));
            }
            s.push('\n');
        }

        if !self.findings.is_empty() {
            s.push_str("## Findings\n\n");
            for f in &self.findings {
                let _ = writeln!(s, "- **{}** (`{}`)", f.title, f.check.name());
                for e in &f.evidence {
                    let _ = writeln!(s, "  - {e}");
                }
            }
            s.push('\n');
        }

        if !self.not_fired.is_empty() {
            s.push_str("## Checks that did not fire\n\n");
            for n in &self.not_fired {
                let _ = writeln!(
                    s,
                    "- `{}` ({}): {}",
                    n.check.name(),
                    n.check.describe(),
                    n.reason
                );
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Context shared by the checks.

enum Item {
    Rec(Recommendation),
    Finding(Finding),
}

enum Outcome {
    Fired(Vec<Item>),
    Skipped(String),
}

fn skip(reason: impl Into<String>) -> Outcome {
    Outcome::Skipped(reason.into())
}

struct Ctx<'a> {
    set: &'a RunSet,
    rule: Rule,
    selection: Option<Selection>,
    done: Vec<&'a RunSummary>,
    best: Option<&'a RunSummary>,
    chosen_by: String,
    /// The best transformer run (the best run itself when it is a transformer).
    focus: Option<&'a RunSummary>,
}

impl<'a> Ctx<'a> {
    fn new(set: &'a RunSet, selection: Option<&Selection>) -> Self {
        let rule = selection.map(|s| s.rule).unwrap_or_else(|| {
            set.selection
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or_default()
        });
        let selection = match selection {
            Some(s) => Some(s.clone()),
            None => select(&set.runs, rule),
        };
        let done: Vec<&RunSummary> = set.done().collect();
        let (best, chosen_by) = match selection
            .as_ref()
            .and_then(|s| done.iter().copied().find(|r| r.id == s.best))
        {
            Some(b) => (Some(b), rule.describe().to_string()),
            None => {
                let b = done
                    .iter()
                    .copied()
                    .filter(|r| r.test.is_some())
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

    fn of_family(&self, family: Family) -> Vec<&'a RunSummary> {
        self.done
            .iter()
            .copied()
            .filter(|r| r.family == family)
            .collect()
    }

    /// The best of `runs` by the rule (then faster); without scores, by test accuracy.
    fn pick(&self, runs: &[&'a RunSummary]) -> Option<&'a RunSummary> {
        let scored = runs
            .iter()
            .copied()
            .filter(|r| self.rule.score(r).is_some_and(f64::is_finite))
            .max_by(|a, b| {
                let (sa, sb) = (self.rule.score(a).unwrap(), self.rule.score(b).unwrap());
                sa.total_cmp(&sb).then_with(|| {
                    // Faster wins ties: compare reversed seconds.
                    let ta = a.total_seconds.unwrap_or(f64::INFINITY);
                    let tb = b.total_seconds.unwrap_or(f64::INFINITY);
                    tb.total_cmp(&ta)
                })
            });
        scored.or_else(|| {
            runs.iter()
                .copied()
                .filter(|r| r.test.is_some())
                .max_by(|a, b| cmp_test(a, b))
        })
    }

    fn near_tie_ids(&self) -> Vec<String> {
        self.selection
            .as_ref()
            .map(|s| s.near_ties().map(|r| r.id.clone()).collect())
            .unwrap_or_default()
    }

    fn run(&self, id: &str) -> Option<&'a RunSummary> {
        self.done.iter().copied().find(|r| r.id == id)
    }

    /// The curve metric of a run: the rule's score when it is an accuracy-like
    /// proportion, validation accuracy under the loss rule.
    fn curve_metric(&self, r: &RunSummary) -> Option<f64> {
        match self.rule {
            Rule::ValLoss => r.val_accuracy,
            rule => rule.score(r),
        }
    }

    fn curve_metric_name(&self) -> &'static str {
        match self.rule {
            Rule::ValAccAtMinValLoss => "validation accuracy at minimum validation loss",
            Rule::ValAccuracy | Rule::ValLoss => "validation accuracy",
            Rule::ValMacroF1 => "validation macro F1",
        }
    }

    fn looked_at(&self) -> LookedAt {
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
            done: self.done.len(),
            failed: count(&|r| matches!(r.status, RunStatus::Failed { .. })),
            pending: count(&|r| r.status == RunStatus::Pending),
            transformer: self.of_family(Family::Transformer).len(),
            linear: self.of_family(Family::Linear).len(),
            varied,
            rule: self.rule,
            best: self.best.map(|b| BestRun {
                id: b.id.clone(),
                model: b.model.clone(),
                family: b.family,
                chosen_by: self.chosen_by.clone(),
                test_accuracy: b.test_accuracy(),
                test_accuracy_ci: b
                    .test
                    .as_ref()
                    .filter(|t| t.ci.resamples > 0)
                    .map(|t| t.ci.accuracy),
                ci_level: b
                    .test
                    .as_ref()
                    .filter(|t| t.ci.resamples > 0)
                    .map(|t| t.ci.level),
                test_n: b.test.as_ref().map(|t| t.n),
                test_macro_f1: b.test_macro_f1(),
            }),
        }
    }
}

fn cmp_test(a: &RunSummary, b: &RunSummary) -> Ordering {
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

// ---------------------------------------------------------------------------------------
// Curves over one setting.

/// Runs that represent each value of one numeric setting, in increasing order of it.
struct Curve<'a> {
    key: &'static str,
    points: Vec<(f64, &'a RunSummary)>,
    /// Whether every other setting (but the seed) equals the anchor run's.
    held_fixed: bool,
    /// Whether the metric is the validation metric (else test accuracy).
    on_validation: bool,
    /// The most runs sharing one value (repeats over seeds); each point is the best of
    /// its group, which flatters the points with more repeats.
    repeats: usize,
}

fn same_except(a: &RunSummary, b: &RunSummary, key: &str) -> bool {
    let keys = a.params.keys().chain(b.params.keys());
    keys.filter(|k| k.as_str() != key && k.as_str() != "seed")
        .all(|k| a.params.get(k) == b.params.get(k))
}

fn distinct_values(runs: &[&RunSummary], key: &str) -> Vec<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.param_f64(key)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The curve of `key` through `anchor`: runs of its family that differ from it only in
/// `key` when there are at least two values of those, else all runs of its family.
fn curve<'a>(cx: &Ctx<'a>, anchor: &RunSummary, key: &'static str) -> Option<Curve<'a>> {
    let cands: Vec<&RunSummary> = cx
        .done
        .iter()
        .copied()
        .filter(|r| r.family == anchor.family && r.param_f64(key).is_some())
        .collect();
    let fixed: Vec<&RunSummary> = cands
        .iter()
        .copied()
        .filter(|r| same_except(r, anchor, key))
        .collect();
    let (runs, held_fixed) = if distinct_values(&fixed, key).len() >= 2 {
        (fixed, true)
    } else {
        (cands, false)
    };
    let values = distinct_values(&runs, key);
    if values.len() < 2 {
        return None;
    }
    let on_validation = runs.iter().all(|r| cx.curve_metric(r).is_some());
    let mut repeats = 1;
    let points: Vec<(f64, &RunSummary)> = values
        .iter()
        .filter_map(|&v| {
            let group: Vec<&RunSummary> = runs
                .iter()
                .copied()
                .filter(|r| r.param_f64(key) == Some(v))
                .collect();
            let best = if on_validation {
                group.iter().copied().max_by(|a, b| {
                    cx.curve_metric(a)
                        .unwrap()
                        .total_cmp(&cx.curve_metric(b).unwrap())
                })
            } else {
                group
                    .iter()
                    .copied()
                    .filter(|r| r.test.is_some())
                    .max_by(|a, b| cmp_test(a, b))
            };
            repeats = repeats.max(group.len());
            best.map(|r| (v, r))
        })
        .collect();
    if points.len() < 2 {
        return None;
    }
    Some(Curve {
        key,
        points,
        held_fixed,
        on_validation,
        repeats,
    })
}

impl Curve<'_> {
    fn metric(&self, cx: &Ctx, r: &RunSummary) -> f64 {
        if self.on_validation {
            cx.curve_metric(r).unwrap_or(f64::NAN)
        } else {
            r.test_accuracy().unwrap_or(f64::NAN)
        }
    }

    fn metric_name(&self, cx: &Ctx) -> &'static str {
        if self.on_validation {
            cx.curve_metric_name()
        } else {
            "test accuracy (no validation score in every run)"
        }
    }

    /// Index of the best point (first of equals).
    fn best(&self, cx: &Ctx) -> usize {
        let mut best = 0;
        for i in 1..self.points.len() {
            if self.metric(cx, self.points[i].1) > self.metric(cx, self.points[best].1) {
                best = i;
            }
        }
        best
    }

    /// One sentence listing every point.
    fn describe(&self, cx: &Ctx, fmt_value: fn(f64) -> String) -> String {
        let parts: Vec<String> = self
            .points
            .iter()
            .map(|&(v, r)| {
                let test = r
                    .test_accuracy()
                    .filter(|_| self.on_validation)
                    .map_or(String::new(), |t| format!(", test {}", pct(t)));
                format!(
                    "{} {} → {}{test} (`{}`)",
                    self.key,
                    fmt_value(v),
                    pct(self.metric(cx, r)),
                    r.id
                )
            })
            .collect();
        format!(
            "{} by {} ({}): {}.",
            cap(self.metric_name(cx)),
            self.key,
            self.caveats(),
            parts.join("; ")
        )
    }

    /// How the points were chosen: whether other settings were held fixed, and repeats.
    fn caveats(&self) -> String {
        let mut s = if self.held_fixed {
            "other settings held fixed".to_string()
        } else {
            "other settings NOT held fixed, so part of the differences may come from them"
                .to_string()
        };
        if self.repeats > 1 {
            let _ = write!(
                s,
                "; up to {} runs share a value (e.g. seeds) and each point is the best of its \
                 group, which flatters values with more runs",
                self.repeats
            );
        }
        s
    }

    fn ids(&self) -> Vec<String> {
        self.points.iter().map(|(_, r)| r.id.clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Paired test comparison.

struct Paired {
    n: usize,
    /// Accuracy of b − accuracy of a.
    diff: f64,
    ci: [f64; 2],
    level: f64,
    p: f64,
    method: String,
}

impl Paired {
    /// Whether b is more accurate than a beyond chance (McNemar and the CI agree).
    fn b_better(&self) -> bool {
        self.diff > 0.0 && self.p < ALPHA && self.ci[0] > 0.0
    }

    fn a_better(&self) -> bool {
        self.diff < 0.0 && self.p < ALPHA && self.ci[1] < 0.0
    }

    /// "+1.20 points (95 % paired-bootstrap CI +0.40 to +2.00), McNemar p = 0.0031 (exact
    /// binomial) on 2000 test rows".
    fn text(&self) -> String {
        format!(
            "{} ({} paired-bootstrap CI {} to {}), McNemar {} ({}) on {} test rows",
            pts(self.diff),
            level_text(self.level),
            signed_pts(self.ci[0]),
            signed_pts(self.ci[1]),
            p_text(self.p),
            self.method,
            self.n
        )
    }
}

/// Pairs the test predictions of runs `a` and `b`; differences are b − a.
fn paired(a: &RunSummary, b: &RunSummary) -> Result<Paired, String> {
    let ra = load_run(&a.dir).map_err(|e| e.to_string())?;
    let rb = load_run(&b.dir).map_err(|e| e.to_string())?;
    let (gold, pa, pb, labels) = align_runs(&ra, &rb).map_err(|e| e.to_string())?;
    let opts = EvalOptions::default();
    let c = compare(&gold, &pa, &pb, labels.len(), &opts).map_err(|e| e.to_string())?;
    Ok(Paired {
        n: c.n,
        diff: c.diff,
        ci: c.diff_ci,
        level: opts.confidence,
        p: c.mcnemar.p_value,
        method: c.mcnemar.method,
    })
}

/// Half-width of a run's bootstrap test-accuracy interval.
fn ci_half_width(r: &RunSummary) -> Option<f64> {
    let t = r.test.as_ref().filter(|t| t.ci.resamples > 0)?;
    Some((t.ci.accuracy[1] - t.ci.accuracy[0]) / 2.0)
}

// ---------------------------------------------------------------------------------------
// Formatting.

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn pct1(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// A difference of proportions in points, signed: "+1.20 points".
fn pts(d: f64) -> String {
    format!("{} points", signed_pts(d))
}

fn signed_pts(d: f64) -> String {
    format!("{:+.2}", 100.0 * d)
}

fn loss(x: f64) -> String {
    format!("{x:.4}")
}

fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".into()
    } else if p < 0.01 {
        format!("p = {p:.4}")
    } else {
        format!("p = {p:.2}")
    }
}

fn level_text(level: f64) -> String {
    let p = level * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0} %")
    } else {
        format!("{p} %")
    }
}

fn secs(s: f64) -> String {
    if s.abs() >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// A learning rate with at most two significant digits: 4.5e-5.
fn fmt_lr(x: f64) -> String {
    if x <= 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mut e = x.log10().floor() as i32;
    let mut m = (x / 10f64.powi(e) * 10.0).round() / 10.0;
    if m >= 10.0 {
        m /= 10.0;
        e += 1;
    }
    let m = if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    };
    format!("{m}e{e}")
}

fn fmt_int(x: f64) -> String {
    format!("{x:.0}")
}

fn fmt_frac(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn family_word(f: Family) -> &'static str {
    match f {
        Family::Transformer => "transformer",
        Family::Linear => "linear baseline",
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn fmt_params(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} M parameters", n as f64 / 1e6)
    } else {
        format!("{n} parameters")
    }
}

/// "epoch 3" for an epoch end, "epoch 3, step 420" within an epoch.
fn point_name(p: &EpochPoint) -> String {
    if p.epoch_end {
        format!("epoch {}", p.epoch)
    } else {
        format!("epoch {}, step {}", p.epoch, p.step)
    }
}

fn completed_epochs(r: &RunSummary) -> usize {
    r.epochs
        .iter()
        .rev()
        .find(|p| p.epoch_end)
        .or(r.epochs.last())
        .map_or(0, |p| p.epoch)
}

/// The command-line flag of a run setting, for "Try:" lines.
fn flag_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "model" | "baseline" => "--model",
        "layers" => "--layers",
        "max_len" => "--max-len",
        "lr" => "--lr",
        "batch_size" => "--batch-size",
        "epochs" => "--epochs",
        "train_fraction" => "--subset-frac",
        "class_weights" => "--class-weights",
        "truncation" => "--truncation",
        "C" => "--C",
        "weight_decay" => "--weight-decay",
        "warmup_ratio" => "--warmup-ratio",
        "grad_accum" => "--grad-accum",
        "patience" => "--patience",
        "ngram" => "--ngram",
        "char_ngram" => "--char-ngram",
        "min_df" => "--min-df",
        "max_features" => "--max-features",
        _ => return None,
    })
}

/// Flags that turn `reference`'s settings into `r`'s (the seed aside).
fn flags_for(r: &RunSummary, reference: &RunSummary) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &r.params {
        if k == "seed" || reference.params.get(k) == Some(v) {
            continue;
        }
        if let Some(flag) = flag_of(k) {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(x) if k == "lr" => x.as_f64().map_or(x.to_string(), fmt_lr),
                other => other.to_string(),
            };
            out.push(format!("{flag} {value}"));
        }
    }
    out
}

fn has_class_weights(r: &RunSummary) -> bool {
    r.param_text("class_weights")
        .is_some_and(|v| !matches!(v.as_str(), "" | "none" | "null" | "false"))
}

// ---------------------------------------------------------------------------------------
// Rule 1: validation loss still falling → more epochs.

fn more_epochs(cx: &Ctx) -> Outcome {
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
        if p.len() < 2 {
            reasons.push(format!(
                "`{}` has {} validation(s), too few to see a trend",
                r.id,
                p.len()
            ));
            continue;
        }
        let (prev, last) = (&p[p.len() - 2], &p[p.len() - 1]);
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

// ---------------------------------------------------------------------------------------
// Rule 2: many texts truncated → longer max_len or head+tail.

fn truncation(cx: &Ctx) -> Outcome {
    let transformers = cx.of_family(Family::Transformer);
    if transformers.is_empty() {
        return skip("no finished transformer run");
    }
    let target = cx.focus.filter(|r| r.truncation.is_some()).or_else(|| {
        transformers
            .iter()
            .copied()
            .find(|r| r.truncation.is_some())
    });
    let Some(r) = target else {
        return skip("no transformer run recorded token lengths (metrics.json data.token_lengths)");
    };
    let t = r.truncation.as_ref().unwrap();
    if t.truncated_share < MIN_TRUNCATED_SHARE {
        return skip(format!(
            "`{}`: only {} of {} sampled training texts are longer than max_len {} (threshold {})",
            r.id,
            pct1(t.truncated_share),
            t.sampled,
            t.max_len,
            pct1(MIN_TRUNCATED_SHARE)
        ));
    }
    let mut evidence = vec![format!(
        "`{}`: {} of {} sampled training texts are longer than max_len {} tokens; token lengths p50 {}, p90 {}, max {}.",
        r.id,
        pct1(t.truncated_share),
        t.sampled,
        t.max_len,
        t.p50,
        t.p90,
        t.max
    )];
    let mode = r.param_text("truncation").unwrap_or_else(|| "head".into());
    evidence.push(format!(
        "`{}` keeps the {mode} of each text (--truncation {mode}).",
        r.id
    ));
    let mut runs = vec![r.id.clone()];
    // How accuracy moved with max_len, if the runs varied it.
    let mut measured: Option<(f64, String)> = None;
    let mut longer_helped = true;
    if let Some(c) = curve(cx, r, "max_len") {
        evidence.push(c.describe(cx, fmt_int));
        let n = c.points.len();
        let (lo, hi) = (c.points[n - 2], c.points[n - 1]);
        let gain = c.metric(cx, hi.1) - c.metric(cx, lo.1);
        longer_helped = gain > 0.0;
        measured = Some((
            gain,
            format!(
                "max_len {} → {} moved {} by {} (`{}` → `{}`); a further step may gain less.",
                fmt_int(lo.0),
                fmt_int(hi.0),
                c.metric_name(cx),
                pts(gain),
                lo.1.id,
                hi.1.id
            ),
        ));
        for id in c.ids() {
            if !runs.contains(&id) {
                runs.push(id);
            }
        }
    }
    let mut try_flags = Vec::new();
    let longer = [128usize, 256, MAX_POSITIONS]
        .into_iter()
        .find(|&l| l >= t.p90 && l > t.max_len)
        .or((t.max_len < MAX_POSITIONS).then_some(MAX_POSITIONS));
    if let Some(l) = longer.filter(|_| longer_helped) {
        try_flags.push(format!("--max-len {l}"));
    }
    if mode != "head+tail" {
        try_flags.push(format!(
            "--truncation head+tail (at max_len {}: no extra cost)",
            t.max_len
        ));
    }
    if try_flags.is_empty() {
        evidence.push(format!(
            "`{}` already uses head+tail{}; a longer max_len is not possible or did not help.",
            r.id,
            if t.max_len >= MAX_POSITIONS {
                format!(" at the {MAX_POSITIONS}-token limit of BERT-family models")
            } else {
                String::new()
            }
        ));
        try_flags.push(
            "a model built for long inputs, or splitting long texts into chunks (textclf has no flag for this)"
                .into(),
        );
    }
    let error = r.test_accuracy().map(|a| 1.0 - a);
    let impact = match (measured, error) {
        (Some((gain, how)), _) if gain > 0.0 => Impact {
            points: 100.0 * gain,
            basis: Basis::Measured,
            how,
        },
        (m, Some(err)) => Impact {
            points: 100.0 * t.truncated_share * err,
            basis: Basis::Heuristic,
            how: format!(
                "truncated share {} × test error rate {} of `{}`: the errors among \
                 truncated texts if they fail at the average rate; a scale, not a prediction.{}",
                pct1(t.truncated_share),
                pct(err),
                r.id,
                m.map_or(String::new(), |(_, how)| format!(" Measured so far: {how}"))
            ),
        },
        (m, None) => Impact {
            points: 0.0,
            basis: Basis::Heuristic,
            how: format!(
                "no test report to scale it by.{}",
                m.map_or(String::new(), |(_, how)| format!(" Measured so far: {how}"))
            ),
        },
    };
    let cost = match (longer.filter(|_| longer_helped), r.seconds_per_epoch) {
        (Some(l), Some(s)) => format!(
            "head+tail costs nothing extra; max_len {l} makes the truncated texts up to {:.1}× longer (`{}` takes {} per epoch now; with dynamic padding only the long texts grow).",
            l as f64 / t.max_len as f64,
            r.id,
            secs(s)
        ),
        (Some(l), None) => format!(
            "head+tail costs nothing extra; max_len {l} makes the truncated texts up to {:.1}× longer.",
            l as f64 / t.max_len as f64
        ),
        (None, _) => "head+tail costs nothing extra.".into(),
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::Truncation,
        title: "Keep more of each text: a longer max_len or head+tail truncation".into(),
        evidence,
        runs,
        impact,
        cost_seconds: None,
        cost,
        try_flags,
    })])
}

// ---------------------------------------------------------------------------------------
// Rule 3: a class with recall far below the others → class weights / more data.

fn weak_class(cx: &Ctx) -> Outcome {
    let Some(r) = cx.best.filter(|b| b.test.is_some()) else {
        return skip("no finished run with a test report");
    };
    let t = r.test.as_ref().unwrap();
    let present: Vec<usize> = (0..t.per_class.len())
        .filter(|&i| t.per_class[i].support > 0)
        .collect();
    if present.len() < 2 {
        return skip(format!(
            "`{}`: fewer than two classes in its test set",
            r.id
        ));
    }
    let recall = |i: usize| t.per_class[i].recall;
    let mean_others = |c: usize| {
        let o: Vec<f64> = present
            .iter()
            .filter(|&&j| j != c)
            .map(|&j| recall(j))
            .collect();
        o.iter().sum::<f64>() / o.len() as f64
    };
    let gaps: Vec<(usize, f64)> = present
        .iter()
        .map(|&c| (c, mean_others(c) - recall(c)))
        .collect();
    let &(c, gap) = gaps
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("two classes at least");
    let name = &t.per_class[c].label;
    if gap < WEAK_RECALL_GAP {
        return skip(format!(
            "`{}`: the lowest recall, {} of {}, is {} below the mean of the other classes ({}), less than the {} threshold",
            r.id,
            pct1(recall(c)),
            name,
            pts(gap).trim_start_matches('+'),
            pct1(mean_others(c)),
            pts(WEAK_RECALL_GAP).trim_start_matches('+')
        ));
    }
    let m = &t.per_class[c];
    let macro_recall = present.iter().map(|&i| recall(i)).sum::<f64>() / present.len() as f64;
    let mut evidence = vec![format!(
        "`{}`: {name} has recall {} (precision {}, F1 {}, support {}), {} below the mean recall of the other {} classes ({}); the mean recall over all classes is {}.",
        r.id,
        pct1(m.recall),
        pct1(m.precision),
        pct1(m.f1),
        m.support,
        pts(gap).trim_start_matches('+'),
        present.len() - 1,
        pct1(mean_others(c)),
        pct1(macro_recall)
    )];
    // Its main confusion, from the confusion matrix.
    let row = &t.confusion.counts[c];
    if let Some((j, &count)) = row
        .iter()
        .enumerate()
        .filter(|&(j, &n)| j != c && n > 0)
        .max_by_key(|&(_, &n)| n)
    {
        let total: u64 = row.iter().sum();
        evidence.push(format!(
            "Its main confusion: {} of {name} ({count} of {total}) predicted as {}.",
            pct1(count as f64 / total as f64),
            t.confusion.labels[j]
        ));
    }
    let others: Vec<String> = gaps
        .iter()
        .filter(|&&(j, g)| j != c && g >= WEAK_RECALL_GAP)
        .map(|&(j, g)| {
            format!(
                "{} (recall {}, {} below the others)",
                t.per_class[j].label,
                pct1(recall(j)),
                pts(g).trim_start_matches('+')
            )
        })
        .collect();
    if !others.is_empty() {
        evidence.push(format!("Also weak: {}.", others.join(", ")));
    }
    let supports: Vec<u64> = present.iter().map(|&i| t.per_class[i].support).collect();
    let balanced_test = supports.iter().all(|&s| s == supports[0]);
    let mut runs = vec![r.id.clone()];
    let mut try_flags = Vec::new();
    let mut impact = Impact {
        points: 100.0 * gap * m.support as f64 / t.n.max(1) as f64,
        basis: Basis::Heuristic,
        how: format!(
            "the recall gap ({}) × {name}'s share of the test rows ({} of {}): what accuracy \
             would gain if its recall reached the others' mean with no loss elsewhere; an \
             upper-end guess.",
            pts(gap).trim_start_matches('+'),
            m.support,
            t.n
        ),
    };
    let mut title = format!("Lift the recall of {name}: class weights or more {name} data");
    // A run with class weights to compare against.
    let weighted: Vec<&RunSummary> = cx
        .of_family(r.family)
        .into_iter()
        .filter(|o| o.id != r.id && has_class_weights(o) != has_class_weights(r))
        .filter(|o| o.test.is_some())
        .collect();
    if has_class_weights(r) {
        evidence.push(format!(
            "`{}` already uses class weights ({}).",
            r.id,
            r.param_text("class_weights").unwrap_or_default()
        ));
        title = format!("Get more training data for {name}");
        try_flags.push(format!(
            "more labelled {name} examples (textclf has no flag that creates them)"
        ));
    } else if let Some(w) = cx.pick(&weighted).filter(|w| has_class_weights(w)) {
        let wt = w.test.as_ref().unwrap();
        let wc = wt.per_class.iter().find(|p| p.label == *name);
        let w_recall = wc.map_or(f64::NAN, |p| p.recall);
        evidence.push(format!(
            "`{}` (class_weights {}): {name} recall {} vs {}, accuracy {} vs {}, macro F1 {} vs {} (`{}`).",
            w.id,
            w.param_text("class_weights").unwrap_or_default(),
            pct1(w_recall),
            pct1(m.recall),
            pct(wt.accuracy),
            pct(t.accuracy),
            pct(wt.macro_f1),
            pct(t.macro_f1),
            r.id
        ));
        runs.push(w.id.clone());
        if w_recall > m.recall {
            title = format!("Use class weights to lift the recall of {name}");
            impact = Impact {
                points: 100.0 * (wt.accuracy - t.accuracy),
                basis: Basis::Measured,
                how: format!(
                    "test accuracy of `{}` minus `{}` ({}); class weights usually trade \
                     accuracy for macro F1 (here {}).",
                    w.id,
                    r.id,
                    pts(wt.accuracy - t.accuracy),
                    pts(wt.macro_f1 - t.macro_f1)
                ),
            };
            try_flags.push(format!(
                "--class-weights {}",
                w.param_text("class_weights").unwrap_or_default()
            ));
        } else {
            title = format!("Get more training data for {name}");
            evidence.push(format!(
                "Class weights did not raise {name}'s recall, so more (or cleaner) {name} data is the remaining lever."
            ));
            try_flags.push(format!(
                "more labelled {name} examples (textclf has no flag that creates them)"
            ));
        }
    } else if balanced_test {
        evidence.push(format!(
            "The test classes are equally large ({} each), so the training split is probably balanced as well; `--class-weights balanced` would then give every class weight ≈ 1 and change little.",
            supports[0]
        ));
        let weights: Vec<&str> = t
            .per_class
            .iter()
            .enumerate()
            .map(|(i, _)| if i == c { "2" } else { "1" })
            .collect();
        try_flags.push(format!(
            "--class-weights {} (weight 2 for {name}: a heuristic starting point, in label order {})",
            weights.join(","),
            t.per_class
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
        try_flags.push(format!("more labelled {name} examples"));
    } else {
        let (lo, hi) = (
            supports.iter().min().unwrap(),
            supports.iter().max().unwrap(),
        );
        evidence.push(format!(
            "Test supports range from {lo} to {hi} rows per class, so the classes are imbalanced."
        ));
        try_flags.push("--class-weights balanced".into());
        try_flags.push(format!("more labelled {name} examples"));
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::WeakClass,
        title,
        evidence,
        runs,
        impact,
        cost_seconds: None,
        cost: "class weights cost nothing extra per epoch; more data costs time in proportion."
            .into(),
        try_flags,
    })])
}

// ---------------------------------------------------------------------------------------
// Rule 4: the data-fraction curve.

fn data_scaling(cx: &Ctx) -> Outcome {
    let Some(anchor) = cx.best else {
        return skip("no finished run");
    };
    let values = distinct_values(&cx.done, "train_fraction");
    if values.len() < 2 {
        return skip("no run varied train_fraction, so no data-scaling advice");
    }
    let Some(c) = curve_on_test(cx, anchor, "train_fraction") else {
        return skip(format!(
            "train_fraction was varied but not in runs of the best run's family ({}) with test reports",
            family_word(anchor.family)
        ));
    };
    let n = c.points.len();
    let ((f_lo, lo), (f_hi, hi)) = (c.points[n - 2], c.points[n - 1]);
    let list: Vec<String> = c
        .points
        .iter()
        .map(|&(v, r)| {
            format!(
                "{} → {} (`{}`)",
                fmt_frac(v),
                pct(r.test_accuracy().unwrap()),
                r.id
            )
        })
        .collect();
    let mut evidence = vec![format!(
        "Test accuracy by train_fraction ({}): {}.",
        c.caveats(),
        list.join(", ")
    )];
    let gain = hi.test_accuracy().unwrap() - lo.test_accuracy().unwrap();
    let rising = match paired(lo, hi) {
        Ok(p) => {
            evidence.push(format!(
                "Last step, train_fraction {} → {}: {}.",
                fmt_frac(f_lo),
                fmt_frac(f_hi),
                p.text()
            ));
            p.b_better()
        }
        Err(e) => {
            let hw = ci_half_width(hi);
            evidence.push(format!(
                "Last step, train_fraction {} → {}: {}; no paired test ({e}), so it is set against the {} half-width of `{}`'s bootstrap CI.",
                fmt_frac(f_lo),
                fmt_frac(f_hi),
                pts(gain),
                hw.map_or("unknown".into(), |h| pts(h).trim_start_matches('+').to_string()),
                hi.id
            ));
            hw.is_some_and(|h| gain > h)
        }
    };
    // A last step within chance does not end the story when the curve as a whole rose
    // beyond chance and that step still went up: the curve is then still rising, only
    // too noisily to resolve step by step at this test size.
    let (f_first, first) = c.points[0];
    let overall = if !rising && n > 2 && gain > 0.0 {
        match paired(first, hi) {
            Ok(p) => {
                let up = p.b_better();
                evidence.push(format!(
                    "Whole curve, train_fraction {} → {}: {}{}.",
                    fmt_frac(f_first),
                    fmt_frac(f_hi),
                    p.text(),
                    if up {
                        "; the curve rose beyond chance overall and its last step still went up"
                    } else {
                        ""
                    }
                ));
                up
            }
            Err(_) => false,
        }
    } else {
        false
    };
    let rising = rising || overall;
    let runs: Vec<String> = c.points.iter().map(|(_, r)| r.id.clone()).collect();
    if !rising {
        return Outcome::Fired(vec![Item::Finding(Finding {
            check: Check::DataScaling,
            title: format!(
                "Data is not the bottleneck at these sizes: the last step of the data curve ({} → {}) gained nothing beyond chance",
                fmt_frac(f_lo),
                fmt_frac(f_hi)
            ),
            evidence,
            runs,
        })]);
    }
    let next = (f_hi * 2.0).min(1.0);
    let try_flags = if f_hi < 1.0 {
        vec![format!("--subset-frac {}", fmt_frac(next))]
    } else {
        vec!["more labelled data (the largest run already used all of the training split)".into()]
    };
    let (cost_seconds, cost) = match hi.train_seconds {
        Some(s) if f_hi < 1.0 => (
            Some(s * (next / f_hi - 1.0)),
            format!(
                "training time grows about in proportion to the data (heuristic): `{}` trained {} at {}, so about {} more at {}.",
                hi.id,
                secs(s),
                fmt_frac(f_hi),
                secs(s * (next / f_hi - 1.0)),
                fmt_frac(next)
            ),
        ),
        _ => (None, "more data, and training time in proportion.".into()),
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::DataScaling,
        title: "Train on more data: the data curve is still rising".into(),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * gain,
            basis: Basis::Measured,
            how: format!(
                "the test-accuracy gain of the last step ({} → {}); the next doubling usually gains less.",
                fmt_frac(f_lo),
                fmt_frac(f_hi)
            ),
        },
        cost_seconds,
        cost,
        try_flags,
    })])
}

/// A curve judged on test accuracy (for the data curve, where the paired test needs it).
fn curve_on_test<'a>(cx: &Ctx<'a>, anchor: &RunSummary, key: &'static str) -> Option<Curve<'a>> {
    let mut c = curve(cx, anchor, key)?;
    if c.points.iter().any(|(_, r)| r.test.is_none()) {
        c.points.retain(|(_, r)| r.test.is_some());
        if c.points.len() < 2 {
            return None;
        }
    }
    c.on_validation = false;
    Some(c)
}

// ---------------------------------------------------------------------------------------
// Rule 5: overfitting.

fn overfitting(cx: &Ctx) -> Outcome {
    let Some(r) = cx.focus else {
        return skip("no finished transformer run");
    };
    let p = &r.epochs;
    if p.len() < 2 {
        return skip(format!(
            "`{}` has {} validation(s), too few to see a trend",
            r.id,
            p.len()
        ));
    }
    let (imin, min) = p
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.val_loss.total_cmp(&b.1.val_loss))
        .unwrap();
    let last = p.last().unwrap();
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
        if !rising && last.val_loss < p[p.len() - 2].val_loss {
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

// ---------------------------------------------------------------------------------------
// Rule 6: a smaller model as good as a larger one.

fn smaller_model(cx: &Ctx) -> Outcome {
    let Some(big) = cx.focus else {
        return skip("no finished transformer run");
    };
    let size = |r: &RunSummary| -> Option<(f64, &'static str)> {
        match (r.parameters, big.parameters) {
            (Some(p), Some(_)) => Some((p as f64, "parameters")),
            _ => r.param_f64("layers").map(|l| (l, "layers")),
        }
    };
    let Some((big_size, unit)) = size(big) else {
        return skip(format!(
            "`{}` records neither its parameter count nor its layers",
            big.id
        ));
    };
    let smaller: Vec<&RunSummary> = cx
        .of_family(Family::Transformer)
        .into_iter()
        .filter(|r| r.id != big.id && r.test.is_some())
        .filter(|r| size(r).is_some_and(|(s, u)| u == unit && s < big_size))
        .collect();
    if smaller.is_empty() {
        return skip(format!(
            "no finished transformer run is smaller than the best transformer `{}` ({})",
            big.id,
            describe_size(big)
        ));
    }
    let Some(big_acc) = big.test_accuracy() else {
        return skip(format!("`{}` has no test report", big.id));
    };
    let mut tied: Vec<(&RunSummary, String)> = Vec::new();
    let mut reasons = Vec::new();
    for s in smaller {
        let s_acc = s.test_accuracy().unwrap();
        match paired(big, s) {
            Ok(p) if p.a_better() => reasons.push(format!(
                "`{}` ({}) is less accurate than `{}`: {}",
                s.id,
                describe_size(s),
                big.id,
                p.text()
            )),
            Ok(p) => tied.push((
                s,
                format!(
                    "`{}` − `{}` on test: {}; not significantly worse at α = {ALPHA}.",
                    s.id,
                    big.id,
                    p.text()
                ),
            )),
            Err(e) => {
                let inside = big
                    .test
                    .as_ref()
                    .filter(|t| t.ci.resamples > 0)
                    .is_some_and(|t| s_acc >= t.ci.accuracy[0]);
                let ci = big.test.as_ref().unwrap().ci.accuracy;
                let sentence = format!(
                    "`{}` test accuracy {} vs `{}` {} ({} CI {} to {}); no paired test ({e}).",
                    s.id,
                    pct(s_acc),
                    big.id,
                    pct(big_acc),
                    level_text(big.test.as_ref().unwrap().ci.level),
                    pct(ci[0]),
                    pct(ci[1])
                );
                if inside {
                    tied.push((s, sentence));
                } else {
                    reasons.push(sentence);
                }
            }
        }
    }
    // The cheapest tie: fewest seconds per epoch, then smallest.
    let Some((s, test_sentence)) = tied.into_iter().min_by(|a, b| {
        let ta = a.0.seconds_per_epoch.unwrap_or(f64::INFINITY);
        let tb = b.0.seconds_per_epoch.unwrap_or(f64::INFINITY);
        ta.total_cmp(&tb).then_with(|| {
            size(a.0)
                .map(|x| x.0)
                .unwrap_or(f64::INFINITY)
                .total_cmp(&size(b.0).map(|x| x.0).unwrap_or(f64::INFINITY))
        })
    }) else {
        return skip(reasons.join("; "));
    };
    let mut evidence = vec![
        format!(
            "`{}`: {}, test accuracy {}; `{}`: {}, test accuracy {}.",
            s.id,
            describe_size(s),
            pct(s.test_accuracy().unwrap()),
            big.id,
            describe_size(big),
            pct(big_acc)
        ),
        test_sentence,
    ];
    let (cost_seconds, cost) = match (s.seconds_per_epoch, big.seconds_per_epoch) {
        (Some(a), Some(b)) => {
            evidence.push(format!(
                "Training time per epoch: {} (`{}`) vs {} (`{}`), {} less.",
                secs(a),
                s.id,
                secs(b),
                big.id,
                pct1(1.0 - a / b)
            ));
            let epochs = completed_epochs(big).max(1) as f64;
            (
                Some((a - b) * epochs),
                format!(
                    "saves {} per epoch (measured), about {} over {} epochs.",
                    secs(b - a),
                    secs((b - a) * epochs),
                    fmt_int(epochs)
                ),
            )
        }
        _ => (
            None,
            "cheaper to train and to run (time per epoch not recorded for both).".into(),
        ),
    };
    let mut try_flags = flags_for(s, big);
    if try_flags.is_empty() {
        try_flags.push(format!("the settings of `{}`", s.id));
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::SmallerModel,
        title: format!(
            "Prefer the smaller model `{}`: it is as accurate within chance",
            s.id
        ),
        evidence,
        runs: vec![s.id.clone(), big.id.clone()],
        impact: Impact {
            points: 0.0,
            basis: Basis::Measured,
            how: format!(
                "no accuracy difference beyond chance (measured {}); the gain is speed.",
                pts(s.test_accuracy().unwrap() - big_acc)
            ),
        },
        cost_seconds,
        cost,
        try_flags,
    })])
}

fn describe_size(r: &RunSummary) -> String {
    let mut parts = Vec::new();
    if let Some(p) = r.parameters {
        parts.push(fmt_params(p));
    }
    if let Some(l) = r.param_f64("layers") {
        parts.push(format!("{} layers", fmt_int(l)));
    }
    if parts.is_empty() {
        "size unknown".into()
    } else {
        parts.join(", ")
    }
}

// ---------------------------------------------------------------------------------------
// Rule 7: transformer against the linear baseline.

fn baseline_comparison(cx: &Ctx) -> Outcome {
    let Some(t) = cx.focus.filter(|r| r.test.is_some()) else {
        return skip("no finished transformer run with a test report");
    };
    let linear: Vec<&RunSummary> = cx
        .of_family(Family::Linear)
        .into_iter()
        .filter(|r| r.test.is_some())
        .collect();
    let Some(l) = cx.pick(&linear) else {
        return skip("no finished linear baseline with a test report to compare against");
    };
    let (ta, la) = (t.test_accuracy().unwrap(), l.test_accuracy().unwrap());
    let mut evidence = vec![format!(
        "Best transformer `{}` ({}): test accuracy {}; best linear baseline `{}` ({}): {}.",
        t.id,
        t.model,
        pct(ta),
        l.id,
        l.model,
        pct(la)
    )];
    // b = transformer, a = linear: diff = transformer − linear.
    let verdict = match paired(l, t) {
        Ok(p) => {
            evidence.push(format!("Transformer − baseline: {}.", p.text()));
            if p.b_better() {
                Verdict::TransformerBetter(p.diff)
            } else if p.a_better() {
                Verdict::BaselineBetter(-p.diff)
            } else {
                Verdict::Tie
            }
        }
        Err(e) => {
            let ci_t = t.test.as_ref().unwrap().ci.accuracy;
            let ci_l = l.test.as_ref().unwrap().ci.accuracy;
            evidence.push(format!(
                "No paired test ({e}); comparing bootstrap CIs instead (less sensitive): transformer {} to {}, baseline {} to {}.",
                pct(ci_t[0]),
                pct(ci_t[1]),
                pct(ci_l[0]),
                pct(ci_l[1])
            ));
            if ci_t[0] > ci_l[1] {
                Verdict::TransformerBetter(ta - la)
            } else if ci_l[0] > ci_t[1] {
                Verdict::BaselineBetter(la - ta)
            } else {
                Verdict::Tie
            }
        }
    };
    let runs = vec![t.id.clone(), l.id.clone()];
    let (tt, lt) = (t.total_seconds, l.total_seconds);
    if let (Some(a), Some(b)) = (tt, lt) {
        evidence.push(format!(
            "Run time: {} (`{}`) vs {} (`{}`).",
            secs(a),
            t.id,
            secs(b),
            l.id
        ));
    }
    let cost_seconds = match (tt, lt) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let cost = match cost_seconds {
        Some(d) if d < 0.0 => format!("saves {} per run (measured).", secs(-d)),
        Some(d) => format!("{} more per run (measured).", secs(d)),
        None => "the baseline is usually far cheaper (run times not recorded for both).".into(),
    };
    match verdict {
        Verdict::TransformerBetter(d) => Outcome::Fired(vec![Item::Finding(Finding {
            check: Check::BaselineComparison,
            title: format!(
                "The transformer beats the linear baseline by {} beyond chance",
                pts(d)
            ),
            evidence,
            runs,
        })]),
        Verdict::Tie => Outcome::Fired(vec![Item::Rec(Recommendation {
            rank: 0,
            check: Check::BaselineComparison,
            title: "The transformer does not beat the linear baseline beyond chance: keep the baseline as the reference (or report both as tied)".into(),
            evidence,
            runs,
            impact: Impact {
                points: 0.0,
                basis: Basis::Measured,
                how: format!(
                    "no difference beyond chance (measured {}).",
                    pts(ta - la)
                ),
            },
            cost_seconds,
            cost,
            try_flags: vec![format!(
                "textclf baseline with the settings of `{}`",
                l.id
            )],
        })]),
        Verdict::BaselineBetter(d) => Outcome::Fired(vec![Item::Rec(Recommendation {
            rank: 0,
            check: Check::BaselineComparison,
            title: "The linear baseline is more accurate than the transformer: prefer it".into(),
            evidence,
            runs,
            impact: Impact {
                points: 100.0 * d,
                basis: Basis::Measured,
                how: format!("test accuracy of `{}` minus `{}`.", l.id, t.id),
            },
            cost_seconds,
            cost,
            try_flags: vec![format!(
                "textclf baseline with the settings of `{}`",
                l.id
            )],
        })]),
    }
}

enum Verdict {
    TransformerBetter(f64),
    BaselineBetter(f64),
    Tie,
}

// ---------------------------------------------------------------------------------------
// Rule 8: grids of lr and max_len; near ties.

fn learning_rate(cx: &Ctx) -> Outcome {
    let Some(focus) = cx.focus else {
        return skip("no finished transformer run");
    };
    let Some(c) = curve(cx, focus, "lr") else {
        let v = distinct_values(&cx.of_family(Family::Transformer), "lr");
        return skip(match v.as_slice() {
            [] => "no transformer run records its lr".to_string(),
            [one] => format!(
                "lr was not varied (every transformer run used {})",
                fmt_lr(*one)
            ),
            _ => "lr values differ but not in runs that can be compared".to_string(),
        });
    };
    grid_advice(cx, &c, Check::LearningRate, fmt_lr, |edge, neighbour| {
        let next = edge * (edge / neighbour);
        Some(format!("--lr {}", fmt_lr(next)))
    })
}

fn max_len_grid(cx: &Ctx, truncation_fired: bool) -> Outcome {
    let Some(focus) = cx.focus else {
        return skip("no finished transformer run");
    };
    let Some(c) = curve(cx, focus, "max_len") else {
        return skip("max_len was not varied among comparable transformer runs");
    };
    let top = c.points.last().unwrap().0;
    let best = c.best(cx);
    if best + 1 == c.points.len() && truncation_fired {
        return skip(
            "the best max_len is the largest tried; the truncation advice above covers going longer",
        );
    }
    grid_advice(cx, &c, Check::MaxLen, fmt_int, |edge, neighbour| {
        if edge > neighbour {
            (top < MAX_POSITIONS as f64).then(|| {
                format!(
                    "--max-len {}",
                    ((edge * 2.0).min(MAX_POSITIONS as f64)) as usize
                )
            })
        } else {
            Some(format!(
                "--max-len {} (also cheaper)",
                (edge / 2.0).max(16.0) as usize
            ))
        }
    })
}

/// Advice from a one-setting grid: extend it when the best value is at an edge and beats
/// its neighbour; a finding when it is inside.
fn grid_advice(
    cx: &Ctx,
    c: &Curve,
    check: Check,
    fmt_value: fn(f64) -> String,
    next: impl Fn(f64, f64) -> Option<String>,
) -> Outcome {
    let best = c.best(cx);
    let n = c.points.len();
    let (bv, br) = c.points[best];
    let mut evidence = vec![c.describe(cx, fmt_value)];
    let runs = c.ids();
    let at_edge = best == 0 || best + 1 == n;
    if !at_edge {
        evidence.push(format!(
            "The best, {} {} (`{}`), lies inside the grid {} … {}.",
            c.key,
            fmt_value(bv),
            br.id,
            fmt_value(c.points[0].0),
            fmt_value(c.points[n - 1].0)
        ));
        return Outcome::Fired(vec![Item::Finding(Finding {
            check,
            title: format!(
                "{} {} is best and inside the grid: no need to extend it",
                c.key,
                fmt_value(bv)
            ),
            evidence,
            runs,
        })]);
    }
    let neighbour = if best == 0 { 1 } else { n - 2 };
    let (nv, nr) = c.points[neighbour];
    let gain = c.metric(cx, br) - c.metric(cx, nr);
    if gain <= 0.0 {
        return skip(format!(
            "the best {} {} is at the edge of the grid but no better than its neighbour {} ({})",
            c.key,
            fmt_value(bv),
            fmt_value(nv),
            pts(gain)
        ));
    }
    let direction = if best == 0 { "down" } else { "up" };
    evidence.push(format!(
        "The best, {} {} (`{}`), is at the {} edge of the grid and beats its neighbour {} (`{}`) by {}{}.",
        c.key,
        fmt_value(bv),
        br.id,
        if best == 0 { "lower" } else { "upper" },
        fmt_value(nv),
        nr.id,
        pts(gain),
        cx.selection
            .as_ref()
            .and_then(|s| s.half_width)
            .filter(|_| c.on_validation)
            .map_or(String::new(), |h| format!(
                " (the best run's 95 % validation half-width is {}{})",
                pts(h).trim_start_matches('+'),
                if gain <= h {
                    ", so this gain is within validation noise"
                } else {
                    ""
                }
            ))
    ));
    let Some(flag) = next(bv, nv) else {
        return Outcome::Fired(vec![Item::Finding(Finding {
            check,
            title: format!(
                "{} {} is best, at the edge of the grid, and the grid cannot go further",
                c.key,
                fmt_value(bv)
            ),
            evidence,
            runs,
        })]);
    };
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check,
        title: format!("Extend the {} grid {direction}ward", c.key),
        evidence,
        runs,
        impact: Impact {
            points: 100.0 * gain,
            basis: Basis::Heuristic,
            how: format!(
                "the measured gain of the edge value over its neighbour ({}), assuming one \
                 more step gains as much; it may gain less or lose.",
                pts(gain)
            ),
        },
        cost_seconds: None,
        cost: "one more run per grid point.".into(),
        try_flags: vec![flag],
    })])
}

fn near_tie(cx: &Ctx, already: &[String]) -> Outcome {
    let Some(sel) = cx.selection.as_ref() else {
        return skip("no selection: no finished run has a validation score");
    };
    let Some(best) = cx.run(&sel.best) else {
        return skip("the selected run is not among the finished runs");
    };
    let ties: Vec<_> = sel.near_ties().collect();
    if ties.is_empty() {
        return skip(format!(
            "no run is within the best run `{}`'s validation interval",
            best.id
        ));
    }
    let Some(best_time) = best.total_seconds else {
        return skip(format!("`{}` records no run time", best.id));
    };
    let cheaper = ties
        .iter()
        .filter(|t| !already.contains(&t.id))
        .filter_map(|t| {
            let r = cx.run(&t.id)?;
            let s = r.total_seconds?;
            (s <= best_time * (1.0 - CHEAPER_BY)).then_some((*t, r, s))
        })
        .min_by(|a, b| a.2.total_cmp(&b.2));
    let Some((tie, r, time)) = cheaper else {
        let ids: Vec<String> = ties.iter().map(|t| format!("`{}`", t.id)).collect();
        return skip(format!(
            "the near ties ({}) are not at least {} faster than `{}`{}",
            ids.join(", "),
            pct1(CHEAPER_BY),
            best.id,
            if ties.iter().any(|t| already.contains(&t.id)) {
                ", or were already advised as a smaller model"
            } else {
                ""
            }
        ));
    };
    let gap_text = match sel.rule {
        Rule::ValLoss => format!("{} in validation loss", loss(tie.gap)),
        _ => pts(tie.gap).trim_start_matches('+').to_string(),
    };
    let mut evidence = vec![format!(
        "`{}` is best by {} ({}); `{}` scores {}, a gap of {}{}.",
        best.id,
        sel.rule.describe(),
        score_text(sel.rule, sel.ranking[0].score),
        r.id,
        score_text(sel.rule, tie.score),
        gap_text,
        sel.half_width.map_or(String::new(), |h| format!(
            ", inside the best run's {} validation half-width of {}",
            level_text(0.95),
            pts(h).trim_start_matches('+')
        ))
    )];
    if let (Some(d), Some(p)) = (tie.test_diff, tie.mcnemar_p) {
        evidence.push(format!(
            "On test, `{}` − `{}`: {}, McNemar {}.",
            r.id,
            best.id,
            pts(d),
            p_text(p)
        ));
    }
    evidence.push(format!(
        "Run time: {} (`{}`) vs {} (`{}`), {} less.",
        secs(time),
        r.id,
        secs(best_time),
        best.id,
        pct1(1.0 - time / best_time)
    ));
    let mut try_flags = flags_for(r, best);
    if try_flags.is_empty() {
        try_flags.push(format!("the settings of `{}`", r.id));
    }
    Outcome::Fired(vec![Item::Rec(Recommendation {
        rank: 0,
        check: Check::NearTie,
        title: format!("Prefer the cheaper near tie `{}`", r.id),
        evidence,
        runs: vec![r.id.clone(), best.id.clone()],
        impact: Impact {
            points: 0.0,
            basis: Basis::Measured,
            how: "not distinguishable from the best on validation; the gain is time.".into(),
        },
        cost_seconds: Some(time - best_time),
        cost: format!("saves {} per run (measured).", secs(best_time - time)),
        try_flags,
    })])
}

fn score_text(rule: Rule, score: f64) -> String {
    match rule {
        Rule::ValLoss => loss(score),
        _ => pct(score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::Path;
    use textclf_eval::{ClassMetrics, ConfidenceIntervals, Confusion, Report};

    const BIN: [&str; 2] = ["neg", "pos"];

    fn run(id: &str, family: Family, val: f64) -> RunSummary {
        RunSummary {
            id: id.into(),
            dir: PathBuf::from("/nonexistent").join(id),
            status: RunStatus::Done,
            family,
            model: id.into(),
            params: BTreeMap::new(),
            varied: vec![],
            labels: vec![],
            test: None,
            val_accuracy: Some(val),
            val_macro_f1: Some(val),
            val_loss: Some(1.0 - val),
            val_n: Some(1000),
            val_acc_at_min_val_loss: Some(val),
            epochs: vec![],
            best_epoch: None,
            stopped_early: false,
            train_rows: None,
            total_seconds: None,
            train_seconds: None,
            seconds_per_epoch: None,
            samples_per_s: None,
            parameters: None,
            truncation: None,
        }
    }

    fn with_params(mut r: RunSummary, params: serde_json::Value) -> RunSummary {
        for (k, v) in params.as_object().unwrap() {
            r.params.insert(k.clone(), v.clone());
        }
        r
    }

    fn report(labels: &[&str], counts: Vec<Vec<u64>>, ci: [f64; 2]) -> Report {
        let k = labels.len();
        let n: u64 = counts.iter().flatten().sum();
        let correct: u64 = (0..k).map(|i| counts[i][i]).sum();
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|i| {
                let support: u64 = counts[i].iter().sum();
                let predicted: u64 = (0..k).map(|g| counts[g][i]).sum();
                let tp = counts[i][i] as f64;
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    label: labels[i].into(),
                    precision,
                    recall,
                    f1,
                    support,
                    predicted,
                }
            })
            .collect();
        let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / k as f64;
        let row_normalized = counts
            .iter()
            .map(|row| {
                let s: u64 = row.iter().sum();
                row.iter()
                    .map(|&c| if s > 0 { c as f64 / s as f64 } else { 0.0 })
                    .collect()
            })
            .collect();
        Report {
            n: n as usize,
            accuracy: correct as f64 / n as f64,
            macro_f1,
            weighted_f1: macro_f1,
            binary_f1: None,
            log_loss: 0.5,
            per_class,
            confusion: Confusion {
                labels: labels.iter().map(|l| l.to_string()).collect(),
                counts,
                row_normalized,
            },
            top_confusions: vec![],
            ci: ConfidenceIntervals {
                level: 0.95,
                resamples: 1000,
                accuracy: ci,
                macro_f1: ci,
            },
        }
    }

    /// A binary report with the given accuracy on 1000 rows (500 per class).
    fn binary_report(acc: f64, ci: [f64; 2]) -> Report {
        let right = (acc * 500.0).round() as u64;
        report(
            &BIN,
            vec![vec![right, 500 - right], vec![500 - right, right]],
            ci,
        )
    }

    fn report_from(labels: &[&str], gold: &[usize], pred: &[usize]) -> Report {
        let k = labels.len();
        let mut counts = vec![vec![0u64; k]; k];
        for (&g, &p) in gold.iter().zip(pred) {
            counts[g][p] += 1;
        }
        let acc = gold.iter().zip(pred).filter(|(g, p)| g == p).count() as f64 / gold.len() as f64;
        report(labels, counts, [acc - 0.03, acc + 0.03])
    }

    fn ep(
        epoch: usize,
        train_loss: f64,
        train_acc: f64,
        val_loss: f64,
        val_acc: f64,
    ) -> EpochPoint {
        EpochPoint {
            epoch,
            step: 100 * epoch as u64,
            epoch_end: true,
            train_loss,
            train_accuracy: train_acc,
            val_loss,
            val_accuracy: val_acc,
            val_macro_f1: val_acc,
            train_seconds: 36.0 * epoch as f64,
            samples_per_s: 100.0,
        }
    }

    fn set(runs: Vec<RunSummary>) -> RunSet {
        RunSet {
            dir: PathBuf::from("runs"),
            sweep: None,
            selection: None,
            varied: vec![],
            runs,
        }
    }

    /// Binary gold labels and two prediction vectors: `both` rows both right, then
    /// `a_only` rows only A right, `b_only` only B right, the rest both wrong.
    fn pair_preds(
        n: usize,
        both: usize,
        a_only: usize,
        b_only: usize,
    ) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
        let gold: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, &g) in gold.iter().enumerate() {
            let (ra, rb) = if i < both {
                (true, true)
            } else if i < both + a_only {
                (true, false)
            } else if i < both + a_only + b_only {
                (false, true)
            } else {
                (false, false)
            };
            a.push(if ra { g } else { 1 - g });
            b.push(if rb { g } else { 1 - g });
        }
        (gold, a, b)
    }

    /// Writes a run folder (`metrics.json`, `predictions.csv`) and points `r` at it, with
    /// a test report computed from the predictions.
    fn with_preds(mut r: RunSummary, root: &Path, gold: &[usize], pred: &[usize]) -> RunSummary {
        let dir = root.join(&r.id);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("metrics.json"), "{}").unwrap();
        let mut csv = String::from("id,gold,predicted,p_neg,p_pos\n");
        for (i, (&g, &p)) in gold.iter().zip(pred).enumerate() {
            let probs = if p == 0 { "0.9,0.1" } else { "0.1,0.9" };
            csv.push_str(&format!("r{i},{},{},{probs}\n", BIN[g], BIN[p]));
        }
        fs::write(dir.join("predictions.csv"), csv).unwrap();
        r.dir = dir;
        r.test = Some(report_from(&BIN, gold, pred));
        r
    }

    fn rec(a: &Advice, check: Check) -> &Recommendation {
        a.recommendations
            .iter()
            .find(|r| r.check == check)
            .unwrap_or_else(|| panic!("no {check:?} recommendation:\n{}", a.render_markdown()))
    }

    fn finding(a: &Advice, check: Check) -> &Finding {
        a.findings
            .iter()
            .find(|r| r.check == check)
            .unwrap_or_else(|| panic!("no {check:?} finding:\n{}", a.render_markdown()))
    }

    fn not_fired(a: &Advice, check: Check) -> &str {
        &a.not_fired
            .iter()
            .find(|n| n.check == check)
            .unwrap_or_else(|| panic!("{check:?} fired:\n{}", a.render_markdown()))
            .reason
    }

    fn has(lines: &[String], needle: &str) -> bool {
        lines.iter().any(|l| l.contains(needle))
    }

    #[track_caller]
    fn assert_has(lines: &[String], needle: &str) {
        assert!(has(lines, needle), "'{needle}' not in {lines:#?}");
    }

    /// Every check is reported exactly once: fired (one item) or not fired.
    fn assert_all_checks_accounted(a: &Advice) {
        for c in Check::ALL {
            let n = a.recommendations.iter().filter(|r| r.check == c).count()
                + a.findings.iter().filter(|r| r.check == c).count()
                + a.not_fired.iter().filter(|r| r.check == c).count();
            assert_eq!(n, 1, "{c:?} reported {n} times");
        }
    }

    fn transformer_with_epochs(id: &str, points: Vec<EpochPoint>) -> RunSummary {
        let mut r = run(id, Family::Transformer, 0.86);
        r.params.insert("epochs".into(), points.len().into());
        r.best_epoch = Some(points.len());
        r.epochs = points;
        r.seconds_per_epoch = Some(36.0);
        r.test = Some(binary_report(0.86, [0.845, 0.875]));
        r
    }

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

    fn truncated(mut r: RunSummary, share: f64) -> RunSummary {
        r.truncation = Some(crate::runs::TruncationInfo {
            max_len: 128,
            sampled: 500,
            truncated_share: share,
            p50: 95,
            p90: 310,
            max: 1203,
        });
        r.params.insert("max_len".into(), 128.into());
        r
    }

    #[test]
    fn truncation_fires_with_the_lengths_it_saw() {
        let r = truncated(transformer_with_epochs("minilm", vec![]), 0.34);
        let a = advise(&set(vec![r]), None);
        let t = rec(&a, Check::Truncation);
        assert_has(
            &t.evidence,
            "34.0 % of 500 sampled training texts are longer than max_len 128 tokens",
        );
        assert_has(&t.evidence, "p50 95, p90 310, max 1203");
        assert_has(&t.evidence, "--truncation head");
        assert_eq!(t.try_flags[0], "--max-len 512");
        assert_eq!(
            t.try_flags[1],
            "--truncation head+tail (at max_len 128: no extra cost)"
        );
        // 0.34 × 14 % test error = 4.76 points, as a heuristic.
        assert!((t.impact.points - 100.0 * 0.34 * 0.14).abs() < 1e-9);
        assert_eq!(t.impact.basis, Basis::Heuristic);
    }

    #[test]
    fn few_truncated_texts_give_no_truncation_advice() {
        let r = truncated(transformer_with_epochs("minilm", vec![]), 0.03);
        let a = advise(&set(vec![r]), None);
        let reason = not_fired(&a, Check::Truncation);
        assert!(reason.contains("only 3.0 % of 500"), "{reason}");
        let r = transformer_with_epochs("plain", vec![]);
        let a = advise(&set(vec![r]), None);
        assert!(not_fired(&a, Check::Truncation).contains("token lengths"));
    }

    #[test]
    fn truncation_cites_how_accuracy_moved_with_max_len() {
        let long = with_params(
            truncated(run("len256", Family::Transformer, 0.87), 0.20),
            serde_json::json!({"max_len": 256, "lr": 2e-5}),
        );
        let short = with_params(
            run("len128", Family::Transformer, 0.85),
            serde_json::json!({"max_len": 128, "lr": 2e-5}),
        );
        let mut long = long;
        long.test = Some(binary_report(0.86, [0.84, 0.88]));
        let a = advise(&set(vec![short, long]), None);
        let t = rec(&a, Check::Truncation);
        assert_has(
            &t.evidence,
            "max_len 128 → 85.00 % (`len128`); max_len 256 → 87.00 %, test 86.00 % (`len256`)",
        );
        assert_has(&t.evidence, "other settings held fixed");
        assert_eq!(t.impact.basis, Basis::Measured);
        assert!((t.impact.points - 2.0).abs() < 1e-9);
        // The max_len grid's upward advice is left to the truncation advice.
        assert!(not_fired(&a, Check::MaxLen).contains("truncation advice"));
    }

    const GENRES: [&str; 3] = ["Country", "Pop", "Rock"];

    fn genre_counts() -> Vec<Vec<u64>> {
        vec![
            vec![1600, 300, 100],
            vec![182, 536, 1282],
            vec![100, 300, 1600],
        ]
    }

    #[test]
    fn weak_class_fires_with_recall_and_main_confusion() {
        let mut r = run("bert", Family::Transformer, 0.6);
        r.test = Some(report(&GENRES, genre_counts(), [0.6, 0.63]));
        let a = advise(&set(vec![r]), None);
        let w = rec(&a, Check::WeakClass);
        assert!(w.title.contains("Pop"), "{}", w.title);
        // Pop precision: 536 / (300 + 536 + 300) = 47.2 %; F1 34.2 %.
        assert_has(
            &w.evidence,
            "Pop has recall 26.8 % (precision 47.2 %, F1 34.2 %, support 2000), 53.20 points below the mean recall of the other 2 classes (80.0 %)",
        );
        assert_has(
            &w.evidence,
            "64.1 % of Pop (1282 of 2000) predicted as Rock",
        );
        assert_has(&w.evidence, "equally large (2000 each)");
        assert!(
            w.try_flags[0].starts_with("--class-weights 1,2,1"),
            "{:?}",
            w.try_flags
        );
        // Gap 0.532 × 2000 / 6000 rows = 17.73 points, the upper-end heuristic.
        assert!((w.impact.points - 100.0 * 0.532 * 2000.0 / 6000.0).abs() < 1e-9);
        assert_eq!(w.impact.basis, Basis::Heuristic);
    }

    #[test]
    fn balanced_recalls_give_no_class_advice() {
        let mut r = run("bert", Family::Transformer, 0.8);
        r.test = Some(report(
            &GENRES,
            vec![
                vec![1600, 200, 200],
                vec![220, 1560, 220],
                vec![180, 180, 1640],
            ],
            [0.79, 0.81],
        ));
        let a = advise(&set(vec![r]), None);
        let reason = not_fired(&a, Check::WeakClass);
        assert!(reason.contains("78.0 % of Pop"), "{reason}");
    }

    #[test]
    fn a_class_weighted_run_is_compared() {
        let mut plain = run("plain", Family::Transformer, 0.62);
        plain.test = Some(report(&GENRES, genre_counts(), [0.6, 0.63]));
        let mut weighted = with_params(
            run("weighted", Family::Transformer, 0.61),
            serde_json::json!({"class_weights": "balanced"}),
        );
        weighted.test = Some(report(
            &GENRES,
            vec![
                vec![1500, 400, 100],
                vec![150, 820, 1030],
                vec![100, 400, 1500],
            ],
            [0.6, 0.63],
        ));
        let a = advise(&set(vec![plain, weighted]), None);
        let w = rec(&a, Check::WeakClass);
        assert!(w.title.starts_with("Use class weights"), "{}", w.title);
        assert_has(
            &w.evidence,
            "`weighted` (class_weights balanced): Pop recall 41.0 % vs 26.8 %",
        );
        assert_eq!(w.try_flags, vec!["--class-weights balanced"]);
        assert_eq!(w.impact.basis, Basis::Measured);
        assert_eq!(w.runs, vec!["plain", "weighted"]);
    }

    fn fraction_runs(root: &Path, last_b_only: usize) -> Vec<RunSummary> {
        // 400 test rows; the 0.2 run is right on 300; the 0.4 run adds `last_b_only`.
        let (gold, a, b) = pair_preds(400, 298, 2, last_b_only);
        let mut r1 = with_params(
            run("f0.1", Family::Linear, 0.70),
            serde_json::json!({"model": "lr", "train_fraction": 0.1}),
        );
        r1.test = Some(binary_report(0.70, [0.68, 0.72]));
        let r2 = with_preds(
            with_params(
                run("f0.2", Family::Linear, 0.75),
                serde_json::json!({"model": "lr", "train_fraction": 0.2}),
            ),
            root,
            &gold,
            &a,
        );
        let mut r3 = with_preds(
            with_params(
                run("f0.4", Family::Linear, 0.80),
                serde_json::json!({"model": "lr", "train_fraction": 0.4}),
            ),
            root,
            &gold,
            &b,
        );
        r3.train_seconds = Some(10.0);
        vec![r1, r2, r3]
    }

    #[test]
    fn a_rising_data_curve_recommends_more_data() {
        let t = tempfile::tempdir().unwrap();
        let a = advise(&set(fraction_runs(t.path(), 40)), None);
        let d = rec(&a, Check::DataScaling);
        assert_has(
            &d.evidence,
            "0.1 → 70.00 % (`f0.1`), 0.2 → 75.00 % (`f0.2`), 0.4 → 84.50 % (`f0.4`)",
        );
        assert_has(
            &d.evidence,
            "Last step, train_fraction 0.2 → 0.4: +9.50 points",
        );
        assert_has(&d.evidence, "p < 0.0001");
        assert_eq!(d.try_flags, vec!["--subset-frac 0.8"]);
        assert_eq!(d.impact.basis, Basis::Measured);
        assert!((d.impact.points - 9.5).abs() < 1e-9);
        assert_eq!(d.cost_seconds, Some(10.0));
    }

    #[test]
    fn a_flat_data_curve_says_data_is_not_the_bottleneck() {
        let t = tempfile::tempdir().unwrap();
        let a = advise(&set(fraction_runs(t.path(), 4)), None);
        let f = finding(&a, Check::DataScaling);
        assert!(f.title.contains("not the bottleneck"), "{}", f.title);
        assert_has(&f.evidence, "+0.50 points");
        assert_has(&f.evidence, "exact binomial");
        assert!(a
            .recommendations
            .iter()
            .all(|r| r.check != Check::DataScaling));
    }

    #[test]
    fn a_curve_rising_overall_with_a_noisy_last_step_still_asks_for_more_data() {
        let t = tempfile::tempdir().unwrap();
        let frac = |id: &str, f: f64, right: usize| {
            let (gold, pred, _) = pair_preds(400, right, 0, 0);
            with_preds(
                with_params(
                    run(id, Family::Linear, right as f64 / 400.0),
                    serde_json::json!({"model": "lr", "train_fraction": f}),
                ),
                t.path(),
                &gold,
                &pred,
            )
        };
        let runs = vec![
            frac("f0.1", 0.1, 260),
            frac("f0.2", 0.2, 300),
            frac("f0.4", 0.4, 304),
        ];
        let a = advise(&set(runs), None);
        let d = rec(&a, Check::DataScaling);
        assert_has(
            &d.evidence,
            "Last step, train_fraction 0.2 → 0.4: +1.00 points",
        );
        assert_has(
            &d.evidence,
            "Whole curve, train_fraction 0.1 → 0.4: +11.00 points",
        );
        assert_has(&d.evidence, "rose beyond chance overall");
        assert!((d.impact.points - 1.0).abs() < 1e-9);
    }

    #[test]
    fn no_fraction_sweep_means_no_data_advice() {
        let a = advise(&set(vec![run("one", Family::Linear, 0.8)]), None);
        assert_eq!(
            not_fired(&a, Check::DataScaling),
            "no run varied train_fraction, so no data-scaling advice"
        );
        assert_all_checks_accounted(&a);
    }

    fn sized(id: &str, val: f64, params: u64, layers: u64, spe: f64) -> RunSummary {
        let mut r = with_params(
            run(id, Family::Transformer, val),
            serde_json::json!({"model": "bert-base", "layers": layers, "max_len": 128}),
        );
        r.parameters = Some(params);
        r.seconds_per_epoch = Some(spe);
        r.epochs = vec![ep(1, 0.5, 0.8, 0.4, 0.8), ep(2, 0.4, 0.82, 0.41, 0.81)];
        r
    }

    #[test]
    fn a_smaller_model_within_chance_is_preferred() {
        let t = tempfile::tempdir().unwrap();
        let (gold, a, b) = pair_preds(400, 340, 6, 4);
        let big = with_preds(
            sized("big", 0.88, 110_000_000, 12, 60.0),
            t.path(),
            &gold,
            &a,
        );
        let small = with_preds(
            sized("small", 0.87, 22_000_000, 6, 20.0),
            t.path(),
            &gold,
            &b,
        );
        let adv = advise(&set(vec![big, small]), None);
        let s = rec(&adv, Check::SmallerModel);
        assert_has(
            &s.evidence,
            "`small`: 22.0 M parameters, 6 layers, test accuracy 86.00 %; `big`: 110.0 M parameters, 12 layers, test accuracy 86.50 %",
        );
        assert_has(&s.evidence, "-0.50 points");
        assert_has(&s.evidence, "McNemar p = 0.75 (exact binomial)");
        assert_has(
            &s.evidence,
            "20.0 s (`small`) vs 60.0 s (`big`), 66.7 % less",
        );
        assert_eq!(s.try_flags, vec!["--layers 6"]);
        assert_eq!(s.cost_seconds, Some(-80.0));
        assert_all_checks_accounted(&adv);
    }

    #[test]
    fn a_clearly_worse_smaller_model_is_not_preferred() {
        let t = tempfile::tempdir().unwrap();
        let (gold, a, b) = pair_preds(400, 300, 40, 2);
        let big = with_preds(
            sized("big", 0.88, 110_000_000, 12, 60.0),
            t.path(),
            &gold,
            &a,
        );
        let small = with_preds(
            sized("small", 0.87, 22_000_000, 6, 20.0),
            t.path(),
            &gold,
            &b,
        );
        let adv = advise(&set(vec![big, small]), None);
        let reason = not_fired(&adv, Check::SmallerModel);
        assert!(
            reason.contains("`small` (22.0 M parameters, 6 layers) is less accurate"),
            "{reason}"
        );
    }

    fn versus_baseline(root: &Path, lin_only: usize, tr_only: usize) -> Advice {
        let (gold, lin, tr) = pair_preds(400, 320, lin_only, tr_only);
        let mut l = with_preds(
            with_params(
                run("nbsvm", Family::Linear, 0.80),
                serde_json::json!({"model": "nbsvm"}),
            ),
            root,
            &gold,
            &lin,
        );
        l.total_seconds = Some(3.0);
        let mut t = with_preds(
            with_params(
                run("minilm", Family::Transformer, 0.85),
                serde_json::json!({"model": "minilm"}),
            ),
            root,
            &gold,
            &tr,
        );
        t.total_seconds = Some(600.0);
        advise(&set(vec![l, t]), None)
    }

    #[test]
    fn a_transformer_within_chance_of_the_baseline_is_said_plainly() {
        let t = tempfile::tempdir().unwrap();
        let a = versus_baseline(t.path(), 8, 10);
        let b = rec(&a, Check::BaselineComparison);
        assert!(
            b.title
                .starts_with("The transformer does not beat the linear baseline beyond chance"),
            "{}",
            b.title
        );
        assert_has(&b.evidence, "Transformer − baseline: +0.50 points");
        assert_has(&b.evidence, "McNemar p = 0.81");
        assert_has(&b.evidence, "10.0 min (`minilm`) vs 3.0 s (`nbsvm`)");
        assert_eq!(b.cost_seconds, Some(-597.0));
        assert!(a
            .render_markdown()
            .contains("does not beat the linear baseline"));
    }

    #[test]
    fn a_transformer_that_beats_the_baseline_gets_a_finding_with_its_p_value() {
        let t = tempfile::tempdir().unwrap();
        let a = versus_baseline(t.path(), 5, 60);
        let f = finding(&a, Check::BaselineComparison);
        assert_eq!(
            f.title,
            "The transformer beats the linear baseline by +13.75 points beyond chance"
        );
        assert_has(&f.evidence, "p < 0.0001");
        assert!(a
            .recommendations
            .iter()
            .all(|r| r.check != Check::BaselineComparison));
    }

    #[test]
    fn a_better_baseline_is_recommended() {
        let t = tempfile::tempdir().unwrap();
        let a = versus_baseline(t.path(), 60, 5);
        let b = rec(&a, Check::BaselineComparison);
        assert!(b.title.starts_with("The linear baseline is more accurate"));
        assert!((b.impact.points - 13.75).abs() < 1e-9);
        assert_eq!(b.impact.basis, Basis::Measured);
    }

    fn lr_run(id: &str, lr: f64, val: f64) -> RunSummary {
        with_params(
            run(id, Family::Transformer, val),
            serde_json::json!({"model": "minilm", "lr": lr, "max_len": 128}),
        )
    }

    #[test]
    fn best_learning_rate_at_the_grid_edge_extends_the_grid() {
        let runs = vec![
            lr_run("a", 1e-5, 0.84),
            lr_run("b", 2e-5, 0.86),
            lr_run("c", 3e-5, 0.88),
        ];
        let a = advise(&set(runs), None);
        let l = rec(&a, Check::LearningRate);
        assert_eq!(l.title, "Extend the lr grid upward");
        assert_has(
            &l.evidence,
            "lr 1e-5 → 84.00 % (`a`); lr 2e-5 → 86.00 % (`b`); lr 3e-5 → 88.00 % (`c`)",
        );
        assert_has(
            &l.evidence,
            "upper edge of the grid and beats its neighbour 2e-5 (`b`) by +2.00 points (the best run's 95 % validation half-width is 2.01 points, so this gain is within validation noise)",
        );
        assert_eq!(l.try_flags, vec!["--lr 4.5e-5"]);
        assert!((l.impact.points - 2.0).abs() < 1e-9);
        assert!(not_fired(&a, Check::MaxLen).contains("not varied"));
    }

    #[test]
    fn best_learning_rate_inside_the_grid_is_a_finding() {
        let runs = vec![
            lr_run("a", 1e-5, 0.84),
            lr_run("b", 2e-5, 0.88),
            lr_run("c", 3e-5, 0.86),
        ];
        let a = advise(&set(runs), None);
        let f = finding(&a, Check::LearningRate);
        assert!(
            f.title.starts_with("lr 2e-5 is best and inside the grid"),
            "{}",
            f.title
        );
        assert!(a
            .recommendations
            .iter()
            .all(|r| r.check != Check::LearningRate));
    }

    #[test]
    fn repeated_seeds_are_disclosed_on_curves() {
        let mut again = lr_run("b2", 2e-5, 0.85);
        again.params.insert("seed".into(), 7.into());
        let runs = vec![lr_run("a", 1e-5, 0.84), lr_run("b", 2e-5, 0.86), again];
        let a = advise(&set(runs), None);
        let l = rec(&a, Check::LearningRate);
        assert_has(&l.evidence, "up to 2 runs share a value (e.g. seeds)");
        assert_has(&l.evidence, "lr 2e-5 → 86.00 % (`b`)");
    }

    #[test]
    fn a_cheaper_near_tie_is_advised() {
        let mut best = lr_run("slow", 2e-5, 0.880);
        best.total_seconds = Some(400.0);
        let mut tie = lr_run("fast", 3e-5, 0.878);
        tie.params.insert("max_len".into(), 64.into());
        tie.total_seconds = Some(100.0);
        let s = set(vec![best, tie]);
        let sel = select(&s.runs, Rule::ValAccAtMinValLoss).unwrap();
        let a = advise(&s, Some(&sel));
        let n = rec(&a, Check::NearTie);
        assert_has(&n.evidence, "`fast` scores 87.80 %, a gap of 0.20 points");
        assert_has(
            &n.evidence,
            "100.0 s (`fast`) vs 6.7 min (`slow`), 75.0 % less",
        );
        assert_eq!(n.try_flags, vec!["--lr 3e-5", "--max-len 64"]);
        assert_eq!(n.cost_seconds, Some(-300.0));
    }

    #[test]
    fn ranked_by_impact_then_cost_and_rendered() {
        let mut r = transformer_with_epochs(
            "minilm",
            vec![
                ep(1, 0.60, 0.70, 0.50, 0.80),
                ep(2, 0.40, 0.85, 0.42, 0.84),
                ep(3, 0.30, 0.88, 0.38, 0.86),
            ],
        );
        r = truncated(r, 0.34);
        r.test = Some(report(&GENRES, genre_counts(), [0.6, 0.63]));
        let a = advise(&set(vec![r]), None);
        assert!(a.recommendations.len() >= 3);
        for (i, w) in a.recommendations.windows(2).enumerate() {
            assert_eq!(w[0].rank, i + 1);
            assert!(w[0].impact.points >= w[1].impact.points);
            if w[0].impact.points == w[1].impact.points {
                assert!(w[0].cost_seconds.unwrap_or(0.0) <= w[1].cost_seconds.unwrap_or(0.0));
            }
        }
        // The weak class (17.7 points) outranks truncation and more epochs.
        assert_eq!(a.recommendations[0].check, Check::WeakClass);
        assert_all_checks_accounted(&a);

        let md = a.render_markdown();
        for needle in [
            "## What we looked at",
            "Best run: `minilm`",
            "validation accuracy at the epoch of minimum validation loss",
            "(95 % CI 60.00 % to 63.00 %) on 6000 test rows",
            "## Improvement plan (ranked)",
            "1. **Lift the recall of Pop: class weights or more Pop data** (`weak_class`)\n   - Evidence:\n     - `minilm`: Pop has recall 26.8 %",
            "*heuristic*",
            "   - Try: `--epochs 5` (early stopping",
            "; or `--truncation head+tail` (at max_len 128: no extra cost)",
            "## Checks that did not fire",
            "- `data_scaling` (accuracy against the training-data fraction): no run varied train_fraction",
        ] {
            assert!(md.contains(needle), "'{needle}' not in\n{md}");
        }
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["recommendations"][0]["check"], "weak_class");
        assert_eq!(json["recommendations"][0]["impact"]["basis"], "heuristic");
        assert_eq!(json["looked_at"]["best"]["id"], "minilm");
        assert!(json["not_fired"][0]["check"].is_string());
    }

    #[test]
    fn no_finished_runs_still_explains_every_check() {
        let mut r = run("pending", Family::Transformer, 0.8);
        r.status = RunStatus::Pending;
        let a = advise(&set(vec![r]), None);
        assert!(a.recommendations.is_empty());
        assert_eq!(a.looked_at.pending, 1);
        assert!(a.looked_at.best.is_none());
        assert_all_checks_accounted(&a);
        assert!(a.render_markdown().contains("No check found evidence"));
    }

    #[test]
    fn learning_rates_print_with_two_significant_digits() {
        assert_eq!(fmt_lr(3e-5), "3e-5");
        assert_eq!(fmt_lr(4.5e-5), "4.5e-5");
        assert_eq!(fmt_lr(2.9999999999999997e-5), "3e-5");
        assert_eq!(fmt_lr(9.96e-6), "1e-5");
        assert_eq!(fmt_lr(1e-3), "1e-3");
        assert_eq!(fmt_frac(0.25), "0.25");
        assert_eq!(fmt_frac(1.0), "1");
    }
}
