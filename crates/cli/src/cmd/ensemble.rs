//! `textclf ensemble`: averages the outputs of finished runs of one task (any mix of
//! transformers and linear baselines) and evaluates the average with the task's report.
//!
//! * Single-label: the class probabilities are averaged; the most probable class wins.
//! * Multi-label: the per-label scores are averaged; the decision thresholds are re-tuned
//!   on the averaged validation scores when every member wrote `valid_predictions.csv`,
//!   else each label gets the members' mean threshold (a member's recorded thresholds,
//!   or, when its record has none, the cut its `predictions.csv` shows). The record says
//!   which (`model.thresholds.chosen`).
//! * Regression: the predicted values are averaged.
//!
//! Weights are equal, given, or chosen on the runs' validation predictions by greedy
//! forward selection with replacement (Caruana et al., "Ensemble selection from libraries
//! of models", ICML 2004), minimising the task's validation loss (log loss, binary
//! cross-entropy over the label cells, mean squared error) — never on the test set.
//! Runs of different tasks, labels or rows are refused, saying what differs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::Value;
use textclf_core::{LabelSet, Predictions, Task};
use textclf_eval::{
    apply_thresholds, check_same_labels, check_same_task, compare, compare_multilabel,
    compare_regression, evaluate, evaluate_multilabel, evaluate_regression, label_set_ids,
    load_run, multilabel_gold_rows, read_predictions, render_multilabel_report,
    render_regression_report, render_report, render_timing, tune_thresholds, value_of,
    write_multilabel_predictions, write_predictions, write_predictions_file,
    write_regression_predictions, EvalOptions, LabelMatrix, PredictionRow, RunRecord,
    ShapedMetrics, TestReport, Thresholds, Timing, METRICS_FILE, PREDICTIONS_FILE,
    VALID_PREDICTIONS_FILE,
};
use textclf_runs::{
    EnsembleData, EnsembleMember, EnsembleModel, EnsembleRun, EnsembleThresholds, RunBody,
    RunFolder, RunStatus, SplitInfo, ValidSummary,
};

use crate::args::EnsembleArgs;
use crate::ui::Ui;

/// One member's rows: scores in the ensemble's label order (regression: one value per
/// row), and its own predicted cells.
struct Member {
    ids: Vec<String>,
    gold: Vec<Option<String>>,
    /// Row-major, `cols` per row.
    probs: Vec<f32>,
    predicted: Vec<String>,
}

fn reorder(
    dir: &Path,
    labels: &[String],
    rows: &[PredictionRow],
    order: &LabelSet,
) -> anyhow::Result<Member> {
    let mut cols = Vec::with_capacity(order.len());
    for name in order.names() {
        match labels.iter().position(|l| l == name) {
            Some(c) => cols.push(c),
            None => bail!(
                "{} has no probability for class '{name}'; all runs must be trained on the same classes",
                dir.display()
            ),
        }
    }
    if labels.len() != order.len() {
        bail!(
            "{} predicts classes [{}], the first run [{}]; all runs must be trained on the same classes",
            dir.display(),
            labels.join(", "),
            order.names().join(", ")
        );
    }
    let mut probs = Vec::with_capacity(rows.len() * order.len());
    for r in rows {
        probs.extend(cols.iter().map(|&c| r.probs[c]));
    }
    Ok(Member {
        ids: rows.iter().map(|r| r.id.clone()).collect(),
        gold: rows.iter().map(|r| r.gold.clone()).collect(),
        probs,
        predicted: rows.iter().map(|r| r.predicted.clone()).collect(),
    })
}

/// A regression member: its predicted values.
fn values(dir: &Path, file: &str, rows: &[PredictionRow]) -> anyhow::Result<Member> {
    let probs = rows
        .iter()
        .map(|r| {
            value_of(&r.predicted).map(|v| v as f32).with_context(|| {
                format!(
                    "{}: row '{}' predicts '{}', not a number",
                    dir.join(file).display(),
                    r.id,
                    r.predicted
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Member {
        ids: rows.iter().map(|r| r.id.clone()).collect(),
        gold: rows.iter().map(|r| r.gold.clone()).collect(),
        probs,
        predicted: rows.iter().map(|r| r.predicted.clone()).collect(),
    })
}

fn member(
    task: Task,
    dir: &Path,
    file: &str,
    labels: &[String],
    rows: &[PredictionRow],
    order: &LabelSet,
) -> anyhow::Result<Member> {
    match task {
        Task::Regression => values(dir, file, rows),
        Task::SingleLabel | Task::MultiLabel => reorder(dir, labels, rows, order),
    }
}

fn check_same_rows(members: &[Member], dirs: &[&Path], what: &str) -> anyhow::Result<()> {
    for (m, d) in members.iter().zip(dirs).skip(1) {
        if m.ids != members[0].ids {
            let differing = m
                .ids
                .iter()
                .zip(&members[0].ids)
                .filter(|(a, b)| a != b)
                .count()
                + m.ids.len().abs_diff(members[0].ids.len());
            bail!(
                "{} and {} were not evaluated on the same {what} rows ({differing} ids differ or are in another order); ensembles need runs on the same split",
                dirs[0].display(),
                d.display()
            );
        }
    }
    Ok(())
}

fn gold_ids(m: &Member, labels: &LabelSet, what: &str) -> anyhow::Result<Vec<usize>> {
    m.gold
        .iter()
        .zip(&m.ids)
        .map(|(g, id)| {
            let g = g.as_deref().with_context(|| {
                format!("{what} row '{id}' has no gold label; the ensemble can only be evaluated on labelled rows")
            })?;
            labels
                .id(g)
                .with_context(|| format!("{what} row '{id}': gold label '{g}' is not a class"))
        })
        .collect()
}

fn gold_values(m: &Member, what: &str) -> anyhow::Result<Vec<f64>> {
    m.gold
        .iter()
        .zip(&m.ids)
        .map(|(g, id)| {
            let g = g.as_deref().with_context(|| {
                format!("{what} row '{id}' has no gold value; the ensemble can only be evaluated on labelled rows")
            })?;
            value_of(g).with_context(|| format!("{what} row '{id}': gold value '{g}' is not a number"))
        })
        .collect()
}

fn gold_sets(m: &Member, labels: &LabelSet, what: &str) -> anyhow::Result<LabelMatrix> {
    let rows: Vec<PredictionRow> = m
        .ids
        .iter()
        .zip(&m.gold)
        .map(|(id, g)| PredictionRow {
            id: id.clone(),
            gold: g.clone(),
            predicted: String::new(),
            probs: Vec::new(),
        })
        .collect();
    Ok(multilabel_gold_rows(
        &rows,
        labels,
        &format!("the {what} rows"),
    )?)
}

fn mix(members: &[Member], weights: &[f64]) -> Vec<f32> {
    let n = members[0].probs.len();
    let mut out = vec![0f32; n];
    for (m, &w) in members.iter().zip(weights) {
        for (o, p) in out.iter_mut().zip(&m.probs) {
            *o += (w as f32) * p;
        }
    }
    out
}

fn log_loss(probs: &[f32], k: usize, gold: &[usize]) -> f64 {
    gold.iter()
        .enumerate()
        .map(|(i, &g)| {
            -(probs[i * k + g] as f64)
                .max(textclf_eval::LOG_LOSS_EPS)
                .ln()
        })
        .sum::<f64>()
        / gold.len().max(1) as f64
}

/// Mean binary cross-entropy over every (row, label) cell.
fn bce(scores: &[f32], gold: &LabelMatrix) -> f64 {
    let eps = textclf_eval::LOG_LOSS_EPS;
    let cells = gold.as_slice();
    scores
        .iter()
        .zip(cells)
        .map(|(&s, &y)| {
            let p = f64::from(s).clamp(eps, 1.0 - eps);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / cells.len().max(1) as f64
}

fn mse(pred: &[f32], gold: &[f64]) -> f64 {
    pred.iter()
        .zip(gold)
        .map(|(&p, g)| (f64::from(p) - g).powi(2))
        .sum::<f64>()
        / gold.len().max(1) as f64
}

/// Greedy forward selection with replacement, minimising `loss` of the average; returns
/// weights (selection counts / rounds) and the loss reached.
fn select_weights(
    members: &[Member],
    rounds: usize,
    loss: impl Fn(&[f32]) -> f64,
) -> (Vec<f64>, f64) {
    let m = members.len();
    let n = members[0].probs.len();
    let mut counts = vec![0usize; m];
    let mut sum = vec![0f64; n];
    let mut best_loss = f64::INFINITY;
    for round in 1..=rounds {
        let mut choice = None;
        for (j, mem) in members.iter().enumerate() {
            let avg: Vec<f32> = sum
                .iter()
                .zip(&mem.probs)
                .map(|(s, &p)| ((s + p as f64) / round as f64) as f32)
                .collect();
            let l = loss(&avg);
            if choice.is_none_or(|(_, bl)| l < bl) {
                choice = Some((j, l));
            }
        }
        let (j, l) = choice.expect("at least one member");
        counts[j] += 1;
        for (s, &p) in sum.iter_mut().zip(&members[j].probs) {
            *s += p as f64;
        }
        best_loss = l;
    }
    let total: usize = counts.iter().sum();
    (
        counts.iter().map(|&c| c as f64 / total as f64).collect(),
        best_loss,
    )
}

/// What a finished ensemble prints.
struct Done {
    report: TestReport,
    thresholds: Option<Thresholds>,
    title: String,
    timing: Timing,
    trailer: String,
}

pub fn run(a: EnsembleArgs, ui: &Ui) -> anyhow::Result<()> {
    super::common::refuse_foreign_run(&a.out, "ensemble")?;
    let mut folder = super::common::begin_run(&a.out, "textclf ensemble")?;
    if folder.has_leftover() && !a.out.in_place {
        folder.clear()?;
    }
    let body = ensemble_and_write(&a, folder.work(), folder.target(), ui);
    finish(folder, ui, body)
}

/// Moves a complete ensemble into place and prints it; a failed one leaves its working
/// folder with `status.json` saying why (as every run does).
fn finish(folder: RunFolder, ui: &Ui, body: anyhow::Result<Done>) -> anyhow::Result<()> {
    match body {
        Ok(d) => {
            let target: PathBuf = folder.commit()?;
            let text = match &d.report {
                TestReport::SingleLabel(r) => render_report(r, &d.title, Some(&d.timing)),
                TestReport::MultiLabel(r) => format!(
                    "{}\n{}",
                    render_multilabel_report(r, &d.title, d.thresholds.as_ref()),
                    render_timing(&d.timing)
                ),
                TestReport::Regression(r) => format!(
                    "{}\n{}",
                    render_regression_report(r, &d.title),
                    render_timing(&d.timing)
                ),
            };
            ui.print(&text);
            if !d.trailer.is_empty() {
                ui.print(&d.trailer);
            }
            if ui.json {
                let text = std::fs::read_to_string(target.join(METRICS_FILE))?;
                ui.print_json(&serde_json::from_str(&text)?)?;
            }
            Ok(())
        }
        Err(e) => {
            let outcome = super::common::classify(&e);
            let status = RunStatus::new(outcome, Some(format!("{e:#}")));
            if let Err(w) = folder.abandon(&status) {
                ui.warn(&format!("cannot record the run's status: {w}"));
            }
            Err(e)
        }
    }
}

/// The runs, read and checked to share one task and label set.
fn read_runs(dirs: &[PathBuf]) -> anyhow::Result<Vec<RunRecord>> {
    let runs: Vec<RunRecord> = dirs
        .iter()
        .map(|d| load_run(d).with_context(|| format!("cannot read the run {}", d.display())))
        .collect::<anyhow::Result<_>>()?;
    for r in &runs[1..] {
        check_same_task(&runs[0], r)?;
        if r.task() != Task::Regression {
            check_same_labels(&runs[0], r)?;
        }
    }
    Ok(runs)
}

/// The members' headline test measure: its name and value per member.
fn headline(r: &RunRecord) -> (&'static str, Option<f64>) {
    match &r.metrics.test {
        TestReport::SingleLabel(t) => ("accuracy", Some(t.accuracy)),
        TestReport::MultiLabel(t) => ("micro_f1", Some(t.micro.f1)),
        TestReport::Regression(t) => ("pearson", t.pearson),
    }
}

fn parse_weights(list: &str, m: usize) -> anyhow::Result<Vec<f64>> {
    let w: Vec<f64> = list
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!("--weights '{list}': use equal, val, or one number per run like 2,1")
        })?;
    if w.len() != m {
        bail!("--weights gives {} numbers for {m} runs", w.len());
    }
    if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
        bail!("--weights must be non-negative with a positive sum");
    }
    let s: f64 = w.iter().sum();
    Ok(w.iter().map(|x| x / s).collect())
}

/// The task's validation loss of an averaged output, for `--weights val`.
enum ValidGold {
    Classes(Vec<usize>, usize),
    Sets(LabelMatrix),
    Values(Vec<f64>),
}

impl ValidGold {
    fn loss(&self, avg: &[f32]) -> f64 {
        match self {
            ValidGold::Classes(g, k) => log_loss(avg, *k, g),
            ValidGold::Sets(g) => bce(avg, g),
            ValidGold::Values(g) => mse(avg, g),
        }
    }

    fn loss_name(&self) -> &'static str {
        match self {
            ValidGold::Classes(..) => "log loss",
            ValidGold::Sets(_) => "binary cross-entropy",
            ValidGold::Values(_) => "MSE",
        }
    }
}

fn ensemble_and_write(
    a: &EnsembleArgs,
    out: &Path,
    target: &Path,
    ui: &Ui,
) -> anyhow::Result<Done> {
    let started = Instant::now();
    let mut timing = Timing::new();
    ui.phase("reading runs");
    let runs = read_runs(&a.runs)?;
    let task = runs[0].task();
    let dirs: Vec<&Path> = a.runs.iter().map(|p| p.as_path()).collect();
    let labels = LabelSet::new(runs[0].labels.clone())?;
    let k = labels.len();
    let test: Vec<Member> = runs
        .iter()
        .map(|r| {
            member(
                task,
                &r.dir,
                PREDICTIONS_FILE,
                &r.labels,
                &r.predictions,
                &labels,
            )
        })
        .collect::<anyhow::Result<_>>()?;
    check_same_rows(&test, &dirs, "test")?;
    // Validation predictions, when every member wrote them.
    let valid: Option<Vec<Member>> = runs
        .iter()
        .map(|r| {
            let p = r.dir.join(VALID_PREDICTIONS_FILE);
            p.is_file().then(|| {
                let (l, rows) = read_predictions(&p)?;
                member(task, &r.dir, VALID_PREDICTIONS_FILE, &l, &rows, &labels)
            })
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.into_iter().collect::<anyhow::Result<Vec<_>>>())
        .transpose()?;
    if let Some(v) = &valid {
        check_same_rows(v, &dirs, "validation")?;
    }
    let valid_gold = match &valid {
        Some(v) => Some(match task {
            Task::SingleLabel => ValidGold::Classes(gold_ids(&v[0], &labels, "validation")?, k),
            Task::MultiLabel => ValidGold::Sets(gold_sets(&v[0], &labels, "validation")?),
            Task::Regression => ValidGold::Values(gold_values(&v[0], "validation")?),
        }),
        None => None,
    };
    timing.add("read", started.elapsed().as_secs_f64());
    ui.finish();

    let m = runs.len();
    let (weights, how) = match a.weights.trim() {
        "equal" => (vec![1.0 / m as f64; m], "equal".to_string()),
        "val" => {
            let (Some(v), Some(g)) = (&valid, &valid_gold) else {
                bail!(
                    "--weights val needs {VALID_PREDICTIONS_FILE} in every run (runs made by textclf train/baseline with a validation split write it); use --weights equal or explicit numbers"
                );
            };
            let (w, loss) = select_weights(v, 10 * m, |avg| g.loss(avg));
            (
                w,
                format!(
                    "chosen on validation (greedy forward selection, validation {} {loss:.4})",
                    g.loss_name()
                ),
            )
        }
        list => (parse_weights(list, m)?, "given".to_string()),
    };
    let t = Instant::now();
    let opts = EvalOptions {
        bootstrap: a.eval.bootstrap,
        seed: a.seed,
        ..EvalOptions::default()
    };
    let members: Vec<EnsembleMember> = runs
        .iter()
        .zip(&weights)
        .map(|(r, &w)| {
            let (metric, score) = headline(r);
            EnsembleMember {
                run: r.dir.display().to_string(),
                kind: Some(r.metrics.model_kind().to_string()),
                weight: w,
                test_accuracy: r.metrics.test.single().map(|t| t.accuracy),
                test_metric: Some(metric.to_string()),
                test_score: score,
            }
        })
        .collect();
    let test_split = SplitInfo {
        name: None,
        rows: test[0].ids.len(),
        per_class: None,
    };
    let ens = Ensemble {
        out,
        test: &test,
        valid: valid.as_deref(),
        weights: &weights,
        labels: &labels,
        opts: &opts,
    };
    let written = match task {
        Task::SingleLabel => ens.single_label()?,
        Task::MultiLabel => ens.multi_label(&runs)?,
        Task::Regression => ens.regression()?,
    };
    timing.add("evaluate_test", t.elapsed().as_secs_f64());
    let run = RunBody::Ensemble(EnsembleRun {
        model: EnsembleModel {
            kind: "ensemble".into(),
            weights: how.clone(),
            members,
            thresholds: written
                .thresholds
                .as_ref()
                .map(|(t, chosen)| EnsembleThresholds {
                    chosen: chosen.clone(),
                    labels: labels.names().to_vec(),
                    // f32 thresholds, written to the 6 decimals of the scores.
                    values: t
                        .values()
                        .iter()
                        .map(|&x| (f64::from(x) * 1e6).round() / 1e6)
                        .collect(),
                }),
        },
        valid: written.valid,
        data: EnsembleData {
            labels: labels.names().to_vec(),
            test: test_split,
        },
    });
    timing.add("total", started.elapsed().as_secs_f64());
    ShapedMetrics::new(written.report.clone(), timing.clone(), run).write(out)?;
    let title = format!(
        "ensemble of {m} runs (weights {})",
        weights
            .iter()
            .map(|w| format!("{w:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let thresholds_line = written
        .thresholds
        .as_ref()
        .map(|(_, chosen)| format!("\nthresholds: {chosen}"))
        .unwrap_or_default();
    let trailer = format!(
        "weights: {how}{thresholds_line}\nA = the best member ({}), B = the ensemble: {}\nwrote {}/metrics.json and predictions.csv",
        dirs[written.best].display(),
        written.verdict,
        target.display()
    );
    Ok(Done {
        report: written.report,
        thresholds: written.thresholds.map(|(t, _)| t),
        title,
        timing,
        trailer,
    })
}

/// The members' outputs and what the ensemble is written with.
struct Ensemble<'a> {
    out: &'a Path,
    test: &'a [Member],
    valid: Option<&'a [Member]>,
    weights: &'a [f64],
    labels: &'a LabelSet,
    opts: &'a EvalOptions,
}

/// What one task's ensemble wrote: its test report, validation summary, thresholds
/// (multi-label, with how they were chosen), and how it compares with its best member.
struct Written {
    report: TestReport,
    valid: Option<ValidSummary>,
    thresholds: Option<(Thresholds, String)>,
    best: usize,
    verdict: String,
}

fn argmax_by<T>(items: &[T], score: impl Fn(&T) -> f64) -> usize {
    (0..items.len())
        .max_by(|&i, &j| score(&items[i]).total_cmp(&score(&items[j])))
        .unwrap_or(0)
}

impl Ensemble<'_> {
    fn no_bootstrap(&self) -> EvalOptions {
        EvalOptions {
            bootstrap: 0,
            ..*self.opts
        }
    }

    fn single_label(&self) -> anyhow::Result<Written> {
        let (labels, k) = (self.labels, self.labels.len());
        let gold = gold_ids(&self.test[0], labels, "test")?;
        let probs = Predictions::new(k, mix(self.test, self.weights))?;
        let report = evaluate(&gold, &probs, labels, self.opts)?;
        let mut valid = None;
        if let Some(v) = self.valid {
            let g = gold_ids(&v[0], labels, "validation")?;
            let vp = Predictions::new(k, mix(v, self.weights))?;
            let vr = evaluate(&g, &vp, labels, &self.no_bootstrap())?;
            valid = Some(valid_summary(serde_json::json!({
                "accuracy": vr.accuracy,
                "macro_f1": vr.macro_f1,
                "log_loss": vr.log_loss,
                "n": vr.n,
            }))?);
            write_predictions_file(
                &self.out.join(VALID_PREDICTIONS_FILE),
                &v[0].ids,
                Some(&g),
                &vp,
                labels,
            )?;
        }
        write_predictions(self.out, &self.test[0].ids, Some(&gold), &probs, labels)?;
        // How the ensemble compares with its best member, on the same rows.
        let member_preds: Vec<Vec<usize>> = self
            .test
            .iter()
            .map(|mm| Predictions::new(k, mm.probs.clone()).map(|p| p.argmax()))
            .collect::<Result<_, _>>()?;
        let best = argmax_by(&member_preds, |p| {
            p.iter().zip(&gold).filter(|(a, b)| a == b).count() as f64
        });
        let cmp = compare(&gold, &member_preds[best], &probs.argmax(), k, self.opts)?;
        Ok(Written {
            report: report.into(),
            valid,
            thresholds: None,
            best,
            verdict: cmp.verdict,
        })
    }

    fn multi_label(&self, runs: &[RunRecord]) -> anyhow::Result<Written> {
        let labels = self.labels;
        let gold = gold_sets(&self.test[0], labels, "test")?;
        let scores = mix(self.test, self.weights);
        let valid_mix = match self.valid {
            Some(v) => Some((
                gold_sets(&v[0], labels, "validation")?,
                mix(v, self.weights),
            )),
            None => None,
        };
        let (thresholds, chosen) = match &valid_mix {
            Some((g, s)) => (
                tune_thresholds(g, s, labels, 0.5)?,
                "tuned on the averaged validation scores (per label, best F1)".to_string(),
            ),
            None => mean_member_thresholds(runs, self.test, labels, self.weights)?,
        };
        let cut = thresholds.values();
        let pred = apply_thresholds(&scores, &cut)?;
        let report = evaluate_multilabel(&gold, &pred, Some(&scores), labels, self.opts)?;
        let mut valid = None;
        if let (Some((g, s)), Some(v)) = (&valid_mix, self.valid) {
            let vp = apply_thresholds(s, &cut)?;
            let vr = evaluate_multilabel(g, &vp, None, labels, &self.no_bootstrap())?;
            valid = Some(valid_summary(serde_json::json!({
                "accuracy": vr.subset_accuracy,
                "macro_f1": vr.macro_avg.f1,
                "micro_f1": vr.micro.f1,
                "log_loss": null,
                "n": vr.n,
            }))?);
            write_multilabel_predictions(
                &self.out.join(VALID_PREDICTIONS_FILE),
                &v[0].ids,
                Some(&g.to_sets()),
                &vp.to_sets(),
                s,
                labels,
            )?;
        }
        write_multilabel_predictions(
            &self.out.join(PREDICTIONS_FILE),
            &self.test[0].ids,
            Some(&gold.to_sets()),
            &pred.to_sets(),
            &scores,
            labels,
        )?;
        let member_preds: Vec<LabelMatrix> = self
            .test
            .iter()
            .map(|mm| predicted_sets(mm, labels))
            .collect::<anyhow::Result<_>>()?;
        let best = argmax_by(runs, |r| headline(r).1.unwrap_or(f64::NEG_INFINITY));
        let cmp = compare_multilabel(&gold, &member_preds[best], &pred, self.opts)?;
        Ok(Written {
            report: report.into(),
            valid,
            thresholds: Some((thresholds, chosen)),
            best,
            verdict: cmp.verdict,
        })
    }

    fn regression(&self) -> anyhow::Result<Written> {
        let gold = gold_values(&self.test[0], "test")?;
        let avg = mix(self.test, self.weights);
        let as64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let report = evaluate_regression(&gold, &as64(&avg), self.opts)?;
        let mut valid = None;
        if let Some(v) = self.valid {
            let g = gold_values(&v[0], "validation")?;
            let vp = mix(v, self.weights);
            let vr = evaluate_regression(&g, &as64(&vp), &self.no_bootstrap())?;
            valid = Some(valid_summary(serde_json::json!({
                "accuracy": null,
                "macro_f1": null,
                "pearson": vr.pearson,
                "spearman": vr.spearman,
                "log_loss": null,
                "n": vr.n,
            }))?);
            let g32: Vec<f32> = g.iter().map(|&x| x as f32).collect();
            write_regression_predictions(
                &self.out.join(VALID_PREDICTIONS_FILE),
                &v[0].ids,
                Some(&g32),
                &vp,
            )?;
        }
        let g32: Vec<f32> = gold.iter().map(|&x| x as f32).collect();
        write_regression_predictions(
            &self.out.join(PREDICTIONS_FILE),
            &self.test[0].ids,
            Some(&g32),
            &avg,
        )?;
        // The best member by test MSE (defined even for constant predictions).
        let best = argmax_by(self.test, |mm| -mse(&mm.probs, &gold));
        let cmp = compare_regression(&gold, &as64(&self.test[best].probs), &as64(&avg), self.opts)?;
        Ok(Written {
            report: report.into(),
            valid,
            thresholds: None,
            best,
            verdict: cmp.verdict,
        })
    }
}

/// The ensemble's `valid` section from its fields as JSON: single-label accuracy,
/// macro F1 and log loss; multi-label subset accuracy as `accuracy`, macro and micro F1;
/// regression Pearson and Spearman with null accuracy and log loss (the conventions of
/// the train and baseline records). Read through the record's own reader, so the fields
/// a reader does not know yet are left out and those it adds later keep their defaults.
fn valid_summary(v: Value) -> anyhow::Result<ValidSummary> {
    serde_json::from_value(v).context("cannot build the ensemble's validation summary")
}

/// A member's predicted label sets, from its own predictions file.
fn predicted_sets(m: &Member, labels: &LabelSet) -> anyhow::Result<LabelMatrix> {
    let sets = m
        .predicted
        .iter()
        .zip(&m.ids)
        .map(|(p, id)| {
            label_set_ids(p, labels)
                .map_err(|name| anyhow::anyhow!("row '{id}' predicts '{name}', not a label"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(LabelMatrix::from_sets(labels.len(), &sets)?)
}

/// Each label's threshold as the weighted mean of the members' thresholds: a member's
/// recorded thresholds (a `thresholds` object anywhere in its `metrics.json`), else the
/// cut its predictions file shows between the scores it predicted a label at and those it
/// did not.
fn mean_member_thresholds(
    runs: &[RunRecord],
    test: &[Member],
    labels: &LabelSet,
    weights: &[f64],
) -> anyhow::Result<(Thresholds, String)> {
    let k = labels.len();
    let mut mean = vec![0f64; k];
    let (mut recorded, mut inferred) = (0usize, 0usize);
    for ((r, mm), &w) in runs.iter().zip(test).zip(weights) {
        let own = match recorded_thresholds(&r.dir, labels)? {
            Some(t) => {
                recorded += 1;
                t
            }
            None => {
                inferred += 1;
                shown_thresholds(mm, labels)?
            }
        };
        for (m, t) in mean.iter_mut().zip(own) {
            *m += w * f64::from(t);
        }
    }
    let mut t = Thresholds::fixed(labels, 0.5);
    t.method = "members' mean".into();
    for (l, m) in t.labels.iter_mut().zip(&mean) {
        l.threshold = *m as f32;
    }
    let source = match (recorded, inferred) {
        (_, 0) => "as recorded in their metrics.json".to_string(),
        (0, _) => {
            "as their predictions.csv shows them (no member records its thresholds)".to_string()
        }
        (r, i) => format!(
            "as recorded by {r} member(s), as predictions.csv shows them for {i} without a record"
        ),
    };
    Ok((
        t,
        format!("the members' mean threshold ({source}; no validation predictions to tune on)"),
    ))
}

/// A `thresholds` object (the evaluation's [`Thresholds`]) anywhere in a run's
/// `metrics.json`, by the ensemble's label order; `None` when there is none.
fn recorded_thresholds(dir: &Path, labels: &LabelSet) -> anyhow::Result<Option<Vec<f32>>> {
    fn find(v: &Value) -> Option<Thresholds> {
        match v {
            Value::Object(m) => m
                .get("thresholds")
                .and_then(|t| serde_json::from_value::<Thresholds>(t.clone()).ok())
                .or_else(|| m.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    let path = dir.join(METRICS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let Some(t) = find(&v) else {
        return Ok(None);
    };
    labels
        .names()
        .iter()
        .map(|name| {
            t.labels
                .iter()
                .find(|l| &l.label == name)
                .map(|l| l.threshold)
                .with_context(|| {
                    format!(
                        "{}: the recorded thresholds have none for label '{name}'",
                        path.display()
                    )
                })
        })
        .collect::<anyhow::Result<_>>()
        .map(Some)
}

/// The threshold a member's predictions show for each label: midway between the lowest
/// score it predicted the label at and the highest it did not (0.5 when that is
/// consistent with the file).
fn shown_thresholds(m: &Member, labels: &LabelSet) -> anyhow::Result<Vec<f32>> {
    let k = labels.len();
    let sets = predicted_sets(m, labels)?;
    Ok((0..k)
        .map(|c| {
            let (mut lo_pos, mut hi_neg) = (f32::INFINITY, f32::NEG_INFINITY);
            for i in 0..sets.len() {
                let s = m.probs[i * k + c];
                if sets.get(i, c) {
                    lo_pos = lo_pos.min(s);
                } else {
                    hi_neg = hi_neg.max(s);
                }
            }
            if hi_neg < 0.5 && 0.5 <= lo_pos {
                0.5
            } else if lo_pos.is_finite() && hi_neg.is_finite() {
                (lo_pos + hi_neg) / 2.0
            } else if lo_pos.is_finite() {
                lo_pos
            } else {
                // Never predicted, and some score reaches 0.5: just above the highest.
                hi_neg + f32::EPSILON.max(hi_neg.abs() * 1e-6)
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(probs: Vec<f32>) -> Member {
        let n = probs.len() / 2;
        Member {
            ids: (0..n).map(|i| i.to_string()).collect(),
            gold: vec![None; n],
            probs,
            predicted: vec![String::new(); n],
        }
    }

    #[test]
    fn greedy_selection_prefers_the_better_member() {
        // Member 0 is right and confident on every row; member 1 is always wrong.
        let good = member(vec![0.9, 0.1, 0.1, 0.9, 0.8, 0.2]);
        let bad = member(vec![0.2, 0.8, 0.7, 0.3, 0.4, 0.6]);
        let gold = [0, 1, 0];
        let (w, loss) = select_weights(&[good, bad], 10, |avg| log_loss(avg, 2, &gold));
        assert_eq!(w, vec![1.0, 0.0]);
        assert!(loss < 0.2, "{loss}");
    }

    #[test]
    fn mixing_averages_with_weights() {
        let a = member(vec![1.0, 0.0]);
        let b = member(vec![0.0, 1.0]);
        let p = mix(&[a, b], &[0.25, 0.75]);
        assert_eq!(p, vec![0.25, 0.75]);
    }

    #[test]
    fn shown_thresholds_lie_between_the_predicted_and_the_other_scores() {
        let labels = LabelSet::new(vec!["a".into(), "b".into()]).unwrap();
        let m = Member {
            ids: vec!["0".into(), "1".into(), "2".into()],
            gold: vec![None; 3],
            // a is predicted at 0.3 and above (not at 0.2); b at 0.5 (default-consistent).
            probs: vec![0.3, 0.6, 0.2, 0.1, 0.9, 0.4],
            predicted: vec!["a|b".into(), "".into(), "a".into()],
        };
        let t = shown_thresholds(&m, &labels).unwrap();
        assert!((t[0] - 0.25).abs() < 1e-6, "{t:?}");
        assert_eq!(t[1], 0.5);
    }

    #[test]
    fn validation_losses_of_each_task() {
        let g = LabelMatrix::from_sets(2, &[vec![0], vec![]]).unwrap();
        let perfect = bce(&[1.0, 0.0, 0.0, 0.0], &g);
        let wrong = bce(&[0.0, 1.0, 1.0, 1.0], &g);
        assert!(perfect < 1e-6 && wrong > 5.0, "{perfect} {wrong}");
        assert_eq!(mse(&[1.0, 3.0], &[2.0, 3.0]), 0.5);
    }
}
