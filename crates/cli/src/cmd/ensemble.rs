//! `textclf ensemble`: averages the class probabilities of finished runs (any mix of
//! transformers and linear baselines) and evaluates the average with the shared report.
//!
//! Weights are equal, given, or chosen on the runs' validation predictions by greedy
//! forward selection with replacement (Caruana et al., "Ensemble selection from libraries
//! of models", ICML 2004), minimising validation log loss — never on the test set.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use textclf_core::{LabelSet, Predictions};
use textclf_eval::{
    compare, evaluate, load_run, read_predictions, write_predictions, write_predictions_file,
    EvalOptions, Metrics, PredictionRow, RunRecord, Timing, VALID_PREDICTIONS_FILE,
};
use textclf_runs::{
    EnsembleData, EnsembleMember, EnsembleModel, EnsembleRun, RunBody, SplitInfo, ValidSummary,
};

use crate::args::EnsembleArgs;
use crate::ui::Ui;

/// One member's rows, with columns reordered to the ensemble's label order.
struct Member {
    ids: Vec<String>,
    gold: Vec<Option<String>>,
    /// Row-major probabilities in the ensemble's label order.
    probs: Vec<f32>,
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
    })
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

fn mix(members: &[Member], weights: &[f64], k: usize) -> anyhow::Result<Predictions> {
    let n = members[0].probs.len();
    let mut out = vec![0f32; n];
    for (m, &w) in members.iter().zip(weights) {
        for (o, p) in out.iter_mut().zip(&m.probs) {
            *o += (w as f32) * p;
        }
    }
    Ok(Predictions::new(k, out)?)
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

/// Greedy forward selection with replacement on validation log loss; returns weights
/// (selection counts / rounds) and the validation log loss reached.
fn select_weights(members: &[Member], k: usize, gold: &[usize], rounds: usize) -> (Vec<f64>, f64) {
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
            let l = log_loss(&avg, k, gold);
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

pub fn run(a: EnsembleArgs, ui: &Ui) -> anyhow::Result<()> {
    super::common::refuse_foreign_run(&a.out, "ensemble")?;
    let mut folder = super::common::begin_run(&a.out, "textclf ensemble")?;
    if folder.has_leftover() && !a.out.in_place {
        folder.clear()?;
    }
    super::common::finish_run(folder, ui, |f| {
        ensemble_and_write(&a, f.work(), f.target(), ui)
    })
}

fn ensemble_and_write(
    a: &EnsembleArgs,
    out: &Path,
    target: &Path,
    ui: &Ui,
) -> anyhow::Result<super::common::Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    ui.phase("reading runs");
    let runs: Vec<RunRecord> = a
        .runs
        .iter()
        .map(|d| load_run(d).with_context(|| format!("cannot read the run {}", d.display())))
        .collect::<anyhow::Result<_>>()?;
    let dirs: Vec<&Path> = a.runs.iter().map(|p| p.as_path()).collect();
    let labels = LabelSet::new(runs[0].labels.clone())?;
    let k = labels.len();
    let test: Vec<Member> = runs
        .iter()
        .map(|r| reorder(&r.dir, &r.labels, &r.predictions, &labels))
        .collect::<anyhow::Result<_>>()?;
    check_same_rows(&test, &dirs, "test")?;
    let gold = gold_ids(&test[0], &labels, "test")?;
    // Validation predictions, when every member wrote them.
    let valid: Option<Vec<Member>> = runs
        .iter()
        .map(|r| {
            let p = r.dir.join(VALID_PREDICTIONS_FILE);
            p.is_file().then(|| {
                let (l, rows) = read_predictions(&p)?;
                reorder(&r.dir, &l, &rows, &labels)
            })
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.into_iter().collect::<anyhow::Result<Vec<_>>>())
        .transpose()?;
    if let Some(v) = &valid {
        check_same_rows(v, &dirs, "validation")?;
    }
    let valid_gold = match &valid {
        Some(v) => Some(gold_ids(&v[0], &labels, "validation")?),
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
            let (w, loss) = select_weights(v, k, g, 10 * m);
            (
                w,
                format!("chosen on validation (greedy forward selection, validation log loss {loss:.4})"),
            )
        }
        list => {
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
            (w.iter().map(|x| x / s).collect(), "given".to_string())
        }
    };
    let t = Instant::now();
    let probs = mix(&test, &weights, k)?;
    let opts = EvalOptions {
        bootstrap: a.eval.bootstrap,
        seed: a.seed,
        ..EvalOptions::default()
    };
    let report = evaluate(&gold, &probs, &labels, &opts)?;
    timing.add("evaluate_test", t.elapsed().as_secs_f64());
    let members: Vec<EnsembleMember> = runs
        .iter()
        .zip(&weights)
        .map(|(r, &w)| EnsembleMember {
            run: r.dir.display().to_string(),
            kind: Some(r.metrics.model_kind().to_string()),
            weight: w,
            test_accuracy: Some(r.metrics.test.accuracy),
        })
        .collect();
    let mut valid_summary = None;
    if let (Some(v), Some(g)) = (&valid, &valid_gold) {
        let vp = mix(v, &weights, k)?;
        let vr = evaluate(
            g,
            &vp,
            &labels,
            &EvalOptions {
                bootstrap: 0,
                ..opts
            },
        )?;
        valid_summary = Some(ValidSummary {
            accuracy: vr.accuracy,
            macro_f1: Some(vr.macro_f1),
            log_loss: vr.log_loss,
            n: vr.n,
            split: None,
            ..ValidSummary::default()
        });
        write_predictions_file(
            &out.join(VALID_PREDICTIONS_FILE),
            &v[0].ids,
            Some(g),
            &vp,
            &labels,
        )?;
    }
    let run = RunBody::Ensemble(EnsembleRun {
        model: EnsembleModel {
            kind: "ensemble".into(),
            weights: how.clone(),
            members,
        },
        valid: valid_summary,
        data: EnsembleData {
            labels: labels.names().to_vec(),
            test: SplitInfo {
                name: None,
                rows: gold.len(),
                per_class: None,
            },
        },
    });
    timing.add("total", started.elapsed().as_secs_f64());
    write_predictions(out, &test[0].ids, Some(&gold), &probs, &labels)?;
    Metrics::new(report.clone(), timing.clone(), run).write(out)?;

    // How the ensemble compares with its best member, on the same rows.
    let member_preds: Vec<Vec<usize>> = test
        .iter()
        .map(|mm| Predictions::new(k, mm.probs.clone()).map(|p| p.argmax()))
        .collect::<Result<_, _>>()?;
    let best = (0..m)
        .max_by(|&i, &j| {
            let acc = |p: &[usize]| p.iter().zip(&gold).filter(|(a, b)| a == b).count();
            acc(&member_preds[i]).cmp(&acc(&member_preds[j]))
        })
        .unwrap_or(0);
    let cmp = compare(&gold, &member_preds[best], &probs.argmax(), k, &opts)?;
    let title = format!(
        "ensemble of {m} runs (weights {})",
        weights
            .iter()
            .map(|w| format!("{w:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let trailer = format!(
        "weights: {}\nA = the best member ({}), B = the ensemble: {}\nwrote {}/metrics.json and predictions.csv",
        how,
        dirs[best].display(),
        cmp.verdict,
        target.display()
    );
    Ok(super::common::Finished {
        report: report.into(),
        title,
        timing,
        trailer,
    })
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
        }
    }

    #[test]
    fn greedy_selection_prefers_the_better_member() {
        // Member 0 is right and confident on every row; member 1 is always wrong.
        let good = member(vec![0.9, 0.1, 0.1, 0.9, 0.8, 0.2]);
        let bad = member(vec![0.2, 0.8, 0.7, 0.3, 0.4, 0.6]);
        let gold = [0, 1, 0];
        let (w, loss) = select_weights(&[good, bad], 2, &gold, 10);
        assert_eq!(w, vec![1.0, 0.0]);
        assert!(loss < 0.2, "{loss}");
    }

    #[test]
    fn mixing_averages_with_weights() {
        let a = member(vec![1.0, 0.0]);
        let b = member(vec![0.0, 1.0]);
        let p = mix(&[a, b], &[0.25, 0.75], 2).unwrap();
        assert_eq!(p.row(0), &[0.25, 0.75]);
    }
}
