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
//! | [`Check::DidNotLearn`] | the best transformer run's validation loss stays within [`CHANCE_LOSS_TOLERANCE`] of ln k at every validation (said first; "did not learn" when its accuracy is also within the 95 % half-width of the majority-class share) | a higher `--lr`, more epochs or data; check the labels |
//! | [`Check::MoreEpochs`] | the last validation of the best (or a near-tie) transformer run lowered its validation loss by ≥ [`MIN_LOSS_DROP`] (relative) | `--epochs N+2` |
//! | [`Check::Truncation`] | ≥ [`MIN_TRUNCATED_SHARE`] of the sampled training texts are longer than `max_len` | longer `--max-len` and/or `--truncation head+tail` |
//! | [`Check::WeakClass`] | a class's test recall is ≥ [`WEAK_RECALL_GAP`] below the mean recall of the other classes | `--class-weights` / more data for it |
//! | [`Check::DataScaling`] | the sweep varied `train_fraction` | more data if the last step gained significantly, else "data is not the bottleneck" |
//! | [`Check::Overfitting`] | validation loss rose ≥ [`MIN_LOSS_RISE`] above its minimum while training loss fell, or train − val accuracy > [`OVERFIT_GAP`] | fewer epochs / regularisation |
//! | [`Check::SmallerModel`] | a transformer with fewer parameters (or layers) is not worse on test (McNemar p ≥ [`ALPHA`], or inside the larger's CI) | prefer the smaller one |
//! | [`Check::BaselineComparison`] | there are a transformer and a linear run | says whether the transformer beats the baseline beyond chance |
//! | [`Check::LearningRate`] | `lr` was varied | extend the grid when the best value is at its edge (never downward when the model did not learn) |
//! | [`Check::MaxLen`] | `max_len` was varied | extend the grid when the best value is at its edge |
//! | [`Check::NearTie`] | the selection flagged a near tie that trained ≥ [`CHEAPER_BY`] faster | prefer the cheaper run |
//! | [`Check::CGrid`] | a linear run's chosen C is the smallest or largest of its C search (or the grid extension stopped at its bound) and beats its neighbour | a `--c-grid` extended that way |
//! | [`Check::LinearModels`] | there are two or more linear runs | compares them on test (McNemar) and says which is best |
//! | [`Check::WeakLabel`] | multi-label: a label with ≥ [`MIN_LABEL_SUPPORT`] test rows has an F1 ≥ [`WEAK_F1_GAP`] below the mean of the others | `--class-weights balanced` / more data for it |
//! | [`Check::Thresholds`] | multi-label: the predicted labels per row are more than [`CARDINALITY_RATIO`]× off the gold ones, or a label with test rows is never predicted | re-tune the thresholds (larger validation split, or an ensemble) |
//! | [`Check::PairTruncation`] | sentence pairs: the first or second text loses tokens in ≥ [`MIN_TRUNCATED_SHARE`] of the sampled pairs | a longer `--max-len`, `--pair-truncation only_<side>` |
//! | [`Check::RegressionSpread`] | regression: the predictions' standard deviation is below [`MIN_SPREAD_RATIO`] of the gold values' | more epochs / a higher lr (transformer), a larger C (linear), scaled targets |
//!
//! The checks of one task keep quiet on runs of another: the multi-label, pair and
//! regression checks say nothing about runs they do not apply to (single-label advice is
//! as before), and the checks that measure single-label accuracy or classes
//! ([`SINGLE_LABEL_ONLY`]) say that they were not applied to multi-label or regression
//! runs.
//!
//! The advisor is built in layers: `context` holds what every check reads (the
//! finished runs, the selection, the best run), `evidence` the curves and paired tests the
//! checks share, `rules/` one module per check (or per small family of checks) with its
//! tests, `render` the Markdown output, and `format` and `flags` how numbers and
//! command-line flags are written. `RULES` below lists the rule behind each check, in the
//! order they run.

use std::path::PathBuf;

use serde::Serialize;

use crate::runs::{Family, RunSet};
use crate::select::{Rule, Selection};
use crate::testsets::TestSetGroup;

mod context;
mod evidence;
#[cfg(test)]
mod fixture;
mod flags;
mod format;
mod render;
mod rules;

use context::Ctx;
use rules::{
    c_grid, classes, data, did_not_learn, epochs, grids, linear_models, models, pair_truncation,
    regression, thresholds, ties, truncation, weak_label,
};
use textclf_core::Task;

pub use rules::did_not_learn::CHANCE_LOSS_TOLERANCE;

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
/// A label is judged by the weak-label check only with at least this many test rows.
pub const MIN_LABEL_SUPPORT: u64 = 10;
/// How far (as a proportion) a label's F1 must lie below the mean F1 of the other labels
/// to be called weak.
pub const WEAK_F1_GAP: f64 = 0.20;
/// Predicted labels per row more than this factor above or below the gold ones call for
/// threshold advice.
pub const CARDINALITY_RATIO: f64 = 1.33;
/// Regression predictions whose standard deviation is below this share of the gold
/// values' are called compressed toward the mean.
pub const MIN_SPREAD_RATIO: f64 = 0.7;

/// The checks that measure single-label accuracy, classes or chance level: not applied
/// to multi-label or regression runs.
pub const SINGLE_LABEL_ONLY: [Check; 6] = [
    Check::DidNotLearn,
    Check::WeakClass,
    Check::DataScaling,
    Check::SmallerModel,
    Check::BaselineComparison,
    Check::LinearModels,
];

/// The checks the advisor runs, in the order it runs them.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The best transformer's validation loss stays at chance level (ln k).
    DidNotLearn,
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
    /// A linear baseline's C at the edge of its grid.
    CGrid,
    /// The linear baselines against each other.
    LinearModels,
    /// Multi-label: a label with F1 far below the others.
    WeakLabel,
    /// Multi-label: thresholds that predict too many or too few labels.
    Thresholds,
    /// Sentence pairs: one text of the pair often cut at `max_len`.
    PairTruncation,
    /// Regression: predictions compressed toward the mean.
    RegressionSpread,
}

impl Check {
    pub const ALL: [Check; 17] = [
        Check::DidNotLearn,
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
        Check::CGrid,
        Check::LinearModels,
        Check::WeakLabel,
        Check::Thresholds,
        Check::PairTruncation,
        Check::RegressionSpread,
    ];

    /// The name used in JSON and Markdown.
    pub fn name(self) -> &'static str {
        match self {
            Check::DidNotLearn => "did_not_learn",
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
            Check::CGrid => "c_grid",
            Check::LinearModels => "linear_models",
            Check::WeakLabel => "weak_label",
            Check::Thresholds => "thresholds",
            Check::PairTruncation => "pair_truncation",
            Check::RegressionSpread => "regression_spread",
        }
    }

    /// What the check looks at, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Check::DidNotLearn => "validation loss at chance level (ln k): the model did not learn",
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
            Check::CGrid => "C at the edge of a linear baseline's grid",
            Check::LinearModels => "the linear baselines against each other",
            Check::WeakLabel => "a label with F1 far below the others (multi-label)",
            Check::Thresholds => "predicted against gold labels per row (multi-label thresholds)",
            Check::PairTruncation => "share of sentence pairs whose first or second text is cut",
            Check::RegressionSpread => {
                "the spread of regression predictions against the gold values"
            }
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
    /// The task's headline test measure and its value (accuracy, micro F1 or Pearson r;
    /// see `TestReport::headline`), when the run has a test report that defines it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_headline: Option<(String, f64)>,
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
    /// When the runs hold several test sets: the one whose runs the checks compare (the
    /// selection's first), and the others, whose runs are left out of the comparisons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_set: Option<TestSetGroup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_test_sets: Vec<TestSetGroup>,
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

/// A check's rule: it reads the context and the recommendations of the checks that ran
/// before it (a rule may leave a case to an earlier one), and says what it found.
type RuleFn = fn(&Ctx, &[Recommendation]) -> Outcome;

/// The rule behind each check, in the order they run ([`Check::ALL`]).
const RULES: [(Check, RuleFn); 17] = [
    (Check::DidNotLearn, |cx, _| did_not_learn::did_not_learn(cx)),
    (Check::MoreEpochs, |cx, _| epochs::more_epochs(cx)),
    (Check::Truncation, |cx, _| truncation::truncation(cx)),
    (Check::WeakClass, |cx, _| classes::weak_class(cx)),
    (Check::DataScaling, |cx, _| data::data_scaling(cx)),
    (Check::Overfitting, |cx, _| epochs::overfitting(cx)),
    (Check::SmallerModel, |cx, _| models::smaller_model(cx)),
    (Check::BaselineComparison, |cx, _| {
        models::baseline_comparison(cx)
    }),
    // A model that did not learn is not advised a lower learning rate.
    (Check::LearningRate, |cx, earlier| {
        let flat = earlier.iter().any(|r| r.check == Check::DidNotLearn);
        grids::learning_rate(cx, flat)
    }),
    // Going beyond the largest max_len is the truncation advice's, when it fired.
    (Check::MaxLen, |cx, earlier| {
        let truncation_fired = earlier.iter().any(|r| r.check == Check::Truncation);
        grids::max_len_grid(cx, truncation_fired)
    }),
    // Runs recommended as a smaller model are not advised again as a near tie.
    (Check::NearTie, |cx, earlier| {
        let smaller: Vec<String> = earlier
            .iter()
            .filter(|r| r.check == Check::SmallerModel)
            .flat_map(|r| r.runs.iter().cloned())
            .collect();
        ties::near_tie(cx, &smaller)
    }),
    (Check::CGrid, |cx, _| c_grid::c_grid(cx)),
    (Check::LinearModels, |cx, _| {
        linear_models::linear_models(cx)
    }),
    (Check::WeakLabel, |cx, _| weak_label::weak_label(cx)),
    (Check::Thresholds, |cx, _| thresholds::thresholds(cx)),
    (Check::PairTruncation, |cx, _| {
        pair_truncation::pair_truncation(cx)
    }),
    (Check::RegressionSpread, |cx, _| {
        regression::regression_spread(cx)
    }),
];

/// Reads `set` and returns ranked advice. `selection` is the selection made over the same
/// runs, if the caller has one; otherwise the set's rule (or the default) is applied.
pub fn advise(set: &RunSet, selection: Option<&Selection>) -> Advice {
    let cx = Ctx::new(set, selection);
    let mut recommendations = Vec::new();
    let mut findings = Vec::new();
    let mut not_fired = Vec::new();
    let task = set.task();
    for (check, rule) in RULES {
        if task != Task::SingleLabel && SINGLE_LABEL_ONLY.contains(&check) {
            not_fired.push(NotFired {
                check,
                reason: format!("measures single-label accuracy or classes; these are {task} runs"),
            });
            continue;
        }
        match rule(&cx, &recommendations) {
            Outcome::NotApplicable => {}
            Outcome::Skipped(reason) => not_fired.push(NotFired { check, reason }),
            Outcome::Fired(items) => {
                for item in items {
                    match item {
                        Item::Rec(r) => recommendations.push(r),
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
    // "The model did not learn" comes first whatever the impacts: the rest rests on it.
    recommendations.sort_by(|a, b| {
        let first = |r: &Recommendation| r.check != Check::DidNotLearn;
        first(a)
            .cmp(&first(b))
            .then_with(|| key(b).total_cmp(&key(a)))
            .then_with(|| {
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

/// What a check that fired says.
pub(crate) enum Item {
    Rec(Recommendation),
    Finding(Finding),
}

/// What a check found: advice and findings, or why it did not fire.
pub(crate) enum Outcome {
    Fired(Vec<Item>),
    Skipped(String),
    /// The check is about another task or input shape (multi-label, pairs, regression):
    /// nothing to say, not even why.
    NotApplicable,
}

pub(crate) fn skip(reason: impl Into<String>) -> Outcome {
    Outcome::Skipped(reason.into())
}

#[cfg(test)]
mod tests {
    use crate::advise::fixture::*;
    use crate::advise::*;
    use crate::runs::RunStatus;

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
        r.test = Some(report(&GENRES, genre_counts(), [0.6, 0.63]).into());
        let runs = set(vec![r]);
        let a = advise(&runs, None);
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
        // The report page writes the same blocks as HTML (no Markdown in between).
        let page = crate::html::render(&runs, None, Some(&a.blocks()));
        let advice = &page[page.find("<section id=\"advice\">").unwrap()..];
        assert!(advice.starts_with("<section id=\"advice\">\n<h2>Improvement advice</h2>\n<h3>What we looked at</h3>\n<ul>\n<li>"), "{advice}");
        assert!(
            advice.contains("<h3>Improvement plan (ranked)</h3>\n<ol>\n<li><strong>Lift the recall of Pop: class weights or more Pop data</strong> (<code>weak_class</code>)<ul>\n<li>Evidence:<ul>\n<li><code>minilm</code>: Pop has recall 26.8 %"),
            "{advice}"
        );
        assert!(advice.contains("<em>heuristic</em>"), "{advice}");
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["recommendations"][0]["check"], "weak_class");
        assert_eq!(json["recommendations"][0]["impact"]["basis"], "heuristic");
        assert_eq!(json["looked_at"]["best"]["id"], "minilm");
        assert!(json["not_fired"][0]["check"].is_string());
    }

    #[test]
    fn the_rules_run_in_check_order() {
        assert_eq!(RULES.map(|(c, _)| c), Check::ALL);
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
}
