//! Runs, reports and look-ups the advisor's tests share.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use textclf_eval::{ClassMetrics, ConfidenceIntervals, Confusion, Report};

use crate::advise::{Advice, Check, Finding, Recommendation};
use crate::runs::{EpochPoint, Family, RunSet, RunStatus, RunSummary};

const BIN: [&str; 2] = ["neg", "pos"];

pub(crate) fn run(id: &str, family: Family, val: f64) -> RunSummary {
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
        val_micro_f1: None,
        val_pearson: None,
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
        test_set: None,
        val_per_class: Vec::new(),
        linear_fit: None,
    }
}

pub(crate) fn with_params(mut r: RunSummary, params: serde_json::Value) -> RunSummary {
    for (k, v) in params.as_object().unwrap() {
        r.params.insert(k.clone(), v.clone());
    }
    r
}

pub(crate) fn report(labels: &[&str], counts: Vec<Vec<u64>>, ci: [f64; 2]) -> Report {
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
        mcc: None,
        ci: ConfidenceIntervals {
            level: 0.95,
            resamples: 1000,
            accuracy: ci,
            macro_f1: ci,
            mcc: None,
        },
    }
}

/// A binary report with the given accuracy on 1000 rows (500 per class).
pub(crate) fn binary_report(acc: f64, ci: [f64; 2]) -> Report {
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

pub(crate) fn ep(
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
        val_micro_f1: None,
        val_pearson: None,
        train_seconds: 36.0 * epoch as f64,
        samples_per_s: 100.0,
        lr: 0.0,
        tokens_per_s: 0.0,
        padding_waste: 0.0,
    }
}

pub(crate) fn set(runs: Vec<RunSummary>) -> RunSet {
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
pub(crate) fn pair_preds(
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
pub(crate) fn with_preds(
    mut r: RunSummary,
    root: &Path,
    gold: &[usize],
    pred: &[usize],
) -> RunSummary {
    let dir = root.join(&r.id);
    fs::create_dir_all(&dir).unwrap();
    let report = report_from(&BIN, gold, pred);
    metrics_with(
        &report,
        serde_json::json!({"command": "eval",
        "model": {"kind": r.model, "path": "model"},
        "data": {"test": {"name": "test.csv", "rows": gold.len()}}}),
    )
    .write(&dir)
    .unwrap();
    let mut csv = String::from("id,gold,predicted,p_neg,p_pos\n");
    for (i, (&g, &p)) in gold.iter().zip(pred).enumerate() {
        let probs = if p == 0 { "0.9,0.1" } else { "0.1,0.9" };
        csv.push_str(&format!("r{i},{},{},{probs}\n", BIN[g], BIN[p]));
    }
    fs::write(dir.join("predictions.csv"), csv).unwrap();
    r.dir = dir;
    r.test = Some(report_from(&BIN, gold, pred).into());
    r
}

/// A `metrics.json` record: `report`'s figures and the command's sections in `body`
/// (a JSON object with `command`).
pub(crate) fn metrics_with(report: &Report, body: serde_json::Value) -> textclf_eval::Metrics {
    let mut v = serde_json::to_value(report).unwrap();
    v.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    textclf_eval::Metrics::parse(Path::new("metrics.json"), &v.to_string()).unwrap()
}

/// A two-class report with `n` rows and accuracy 0.75, for records read back.
pub(crate) fn some_report() -> Report {
    report_from(&BIN, &[0, 1, 0, 1], &[0, 1, 1, 1])
}

pub(crate) fn rec(a: &Advice, check: Check) -> &Recommendation {
    a.recommendations
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("no {check:?} recommendation:\n{}", a.render_markdown()))
}

pub(crate) fn finding(a: &Advice, check: Check) -> &Finding {
    a.findings
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("no {check:?} finding:\n{}", a.render_markdown()))
}

pub(crate) fn not_fired(a: &Advice, check: Check) -> &str {
    &a.not_fired
        .iter()
        .find(|n| n.check == check)
        .unwrap_or_else(|| panic!("{check:?} fired:\n{}", a.render_markdown()))
        .reason
}

pub(crate) fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[track_caller]
pub(crate) fn assert_has(lines: &[String], needle: &str) {
    assert!(has(lines, needle), "'{needle}' not in {lines:#?}");
}

/// Every check is reported exactly once: fired (one item) or not fired; the checks of
/// other tasks and input shapes may also stay silent.
pub(crate) fn assert_all_checks_accounted(a: &Advice) {
    let may_be_silent = [
        Check::WeakLabel,
        Check::Thresholds,
        Check::PairTruncation,
        Check::RegressionSpread,
    ];
    for c in Check::ALL {
        let n = a.recommendations.iter().filter(|r| r.check == c).count()
            + a.findings.iter().filter(|r| r.check == c).count()
            + a.not_fired.iter().filter(|r| r.check == c).count();
        let silent = n == 0 && may_be_silent.contains(&c);
        assert!(n == 1 || silent, "{c:?} reported {n} times");
    }
}

pub(crate) fn transformer_with_epochs(id: &str, points: Vec<EpochPoint>) -> RunSummary {
    let mut r = run(id, Family::Transformer, 0.86);
    r.params.insert("epochs".into(), points.len().into());
    r.best_epoch = Some(points.len());
    r.epochs = points;
    r.seconds_per_epoch = Some(36.0);
    r.test = Some(binary_report(0.86, [0.845, 0.875]).into());
    r
}

pub(crate) fn truncated(mut r: RunSummary, share: f64) -> RunSummary {
    r.truncation = Some(crate::runs::TruncationInfo {
        max_len: 128,
        sampled: 500,
        truncated_share: share,
        p50: 95,
        p90: 310,
        max: 1203,
        pairs: None,
    });
    r.params.insert("max_len".into(), 128.into());
    r
}

pub(crate) const GENRES: [&str; 3] = ["Country", "Pop", "Rock"];

pub(crate) fn genre_counts() -> Vec<Vec<u64>> {
    vec![
        vec![1600, 300, 100],
        vec![182, 536, 1282],
        vec![100, 300, 1600],
    ]
}

pub(crate) fn lr_run(id: &str, lr: f64, val: f64) -> RunSummary {
    with_params(
        run(id, Family::Transformer, val),
        serde_json::json!({"model": "minilm", "lr": lr, "max_len": 128}),
    )
}

/// A finished multi-label transformer run whose labels have these `(name, support, F1)`
/// (precision = recall = F1; each label predicted as often as it occurs, except that an
/// F1 of 0 is never predicted).
pub(crate) fn multilabel_run(id: &str, labels: &[(&str, u64, f64)]) -> RunSummary {
    use textclf_eval::{Averaged, LabelMetrics, MultiLabelIntervals, MultiLabelReport, TestReport};
    let per_label: Vec<LabelMetrics> = labels
        .iter()
        .map(|&(name, support, f1)| LabelMetrics {
            label: name.into(),
            precision: f1,
            recall: f1,
            f1,
            support,
            predicted: if f1 == 0.0 { 0 } else { support },
            roc_auc: None,
        })
        .collect();
    let total: u64 = labels.iter().map(|l| l.1).sum();
    let micro = labels.iter().map(|l| l.1 as f64 * l.2).sum::<f64>() / total.max(1) as f64;
    let macro_ = labels.iter().map(|l| l.2).sum::<f64>() / labels.len().max(1) as f64;
    let avg = |f1: f64| Averaged {
        precision: f1,
        recall: f1,
        f1,
    };
    let n = 200;
    let report = MultiLabelReport {
        n,
        micro: avg(micro),
        macro_avg: avg(macro_),
        weighted: avg(micro),
        samples: avg(micro),
        subset_accuracy: micro - 0.1,
        hamming_loss: 0.05,
        gold_cardinality: total as f64 / n as f64,
        predicted_cardinality: total as f64 / n as f64,
        per_label,
        roc_auc: None,
        ci: MultiLabelIntervals {
            level: 0.95,
            resamples: 0,
            micro_f1: [micro, micro],
            macro_f1: [macro_, macro_],
        },
    };
    let mut r = run(id, Family::Transformer, micro);
    r.val_micro_f1 = Some(micro);
    r.test = Some(TestReport::from(report));
    r
}

/// Sets a multi-label run's gold and predicted labels per row, and its micro precision
/// and recall to match (precision high when it predicts few labels).
pub(crate) fn set_cardinality(r: &mut RunSummary, gold: f64, predicted: f64) {
    if let Some(textclf_eval::TestReport::MultiLabel(t)) = r.test.as_mut() {
        t.gold_cardinality = gold;
        t.predicted_cardinality = predicted;
        let f1 = t.micro.f1;
        let ratio = predicted / gold;
        t.micro.precision = (f1 / ratio.sqrt()).min(1.0);
        t.micro.recall = (f1 * ratio.sqrt()).min(1.0);
    }
}

/// `r` with a record of sentence pairs whose first and second texts lose tokens in these
/// shares of the sampled pairs.
pub(crate) fn pairs_truncated(r: RunSummary, first: f64, second: f64) -> RunSummary {
    let mut r = truncated(r, first.max(second));
    if let Some(t) = r.truncation.as_mut() {
        t.pairs = Some(textclf_runs::PairTruncation {
            strategy: "longest_first".into(),
            first_cut_share: first,
            second_cut_share: second,
            first_p50: 40,
            second_p50: 120,
        });
    }
    r
}

/// A finished regression run in `dir` (its metrics.json and predictions.csv written by
/// the evaluation's writers) and its summary.
pub(crate) fn regression_run(dir: &Path, gold: &[f32], pred: &[f32]) -> RunSummary {
    use textclf_eval::{evaluate_regression, EvalOptions, ShapedMetrics, TestReport};
    let g: Vec<f64> = gold.iter().map(|&x| f64::from(x)).collect();
    let p: Vec<f64> = pred.iter().map(|&x| f64::from(x)).collect();
    let opts = EvalOptions {
        bootstrap: 0,
        ..EvalOptions::default()
    };
    let report = evaluate_regression(&g, &p, &opts).unwrap();
    let body = serde_json::json!({"command": "eval",
        "model": {"kind": "ridge", "path": "m"}, "data": {"test": {"rows": gold.len()}}});
    let mut v = serde_json::to_value(TestReport::from(report)).unwrap();
    for (k, x) in body.as_object().unwrap() {
        v[k] = x.clone();
    }
    fs::create_dir_all(dir).unwrap();
    let m = ShapedMetrics::parse(Path::new("metrics.json"), &v.to_string()).unwrap();
    m.write(dir).unwrap();
    let ids: Vec<String> = (0..gold.len()).map(|i| format!("r{i}")).collect();
    textclf_eval::write_regression_predictions(
        &dir.join(textclf_eval::PREDICTIONS_FILE),
        &ids,
        Some(gold),
        pred,
    )
    .unwrap();
    let mut r = crate::runs::load_summary(dir).unwrap();
    r.val_pearson = Some(0.9);
    r
}
