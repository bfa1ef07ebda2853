//! Reports over multi-label and regression runs: run folders written with the
//! evaluation's writers (as `baseline`/`train` write them), then read, ranked, compared,
//! drawn and written; a folder mixing tasks is refused.

use std::path::Path;

use textclf_core::LabelSet;
use textclf_eval::{
    evaluate_multilabel, evaluate_regression, write_multilabel_predictions,
    write_regression_predictions, EvalOptions, LabelMatrix, ShapedMetrics, TestReport, Timing,
    PREDICTIONS_FILE, VALID_PREDICTIONS_FILE,
};
use textclf_report::{collect, report_rule, select, write_report, Rule};
use textclf_runs::{BaselineData, BaselineRun, LinearModel, RunBody, SplitInfo};

const N: usize = 80;
const LABELS: [&str; 3] = ["anger", "joy", "fear"];

fn body(kind: &str, labels: &[&str]) -> RunBody {
    let split = |rows| SplitInfo {
        name: None,
        rows,
        per_class: None,
    };
    RunBody::Baseline(BaselineRun {
        model: LinearModel {
            kind: kind.into(),
            params: None,
            fit: None,
        },
        valid: None,
        data: BaselineData {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            train: split(400),
            valid: Some(split(N)),
            test: split(N),
            seed: 1,
            notes: vec![],
        },
    })
}

fn ids(prefix: &str) -> Vec<String> {
    (0..N).map(|i| format!("{prefix}{i}")).collect()
}

/// Gold label sets: every row has `joy` or `anger` by its index, some also `fear`.
fn gold_sets() -> Vec<Vec<usize>> {
    (0..N)
        .map(|i| {
            let mut s = vec![i % 2];
            if i % 5 == 0 {
                s.push(2);
            }
            s
        })
        .collect()
}

/// Predictions that miss `fear` and get every `skill`-th row wrong.
fn predicted(skill: usize) -> Vec<Vec<usize>> {
    gold_sets()
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i % skill == 0 {
                vec![(i + 1) % 2]
            } else {
                g.iter().copied().filter(|&c| c != 2).collect()
            }
        })
        .collect()
}

fn scores(pred: &[Vec<usize>]) -> Vec<f32> {
    pred.iter()
        .flat_map(|p| (0..3).map(move |c| if p.contains(&c) { 0.8 } else { 0.2 }))
        .collect()
}

fn multilabel_run(dir: &Path, skill: usize, valid_skill: usize) {
    let labels = LabelSet::new(LABELS.iter().map(|s| s.to_string()).collect()).unwrap();
    let gold = gold_sets();
    let pred = predicted(skill);
    let gm = LabelMatrix::from_sets(3, &gold).unwrap();
    let pm = LabelMatrix::from_sets(3, &pred).unwrap();
    let opts = EvalOptions {
        bootstrap: 50,
        ..EvalOptions::default()
    };
    let s = scores(&pred);
    let report = evaluate_multilabel(&gm, &pm, Some(&s), &labels, &opts).unwrap();
    ShapedMetrics::new(
        TestReport::from(report),
        Timing::new(),
        body("tfidf-lr", &LABELS),
    )
    .write(dir)
    .unwrap();
    write_multilabel_predictions(
        &dir.join(PREDICTIONS_FILE),
        &ids("t"),
        Some(&gold),
        &pred,
        &s,
        &labels,
    )
    .unwrap();
    let vp = predicted(valid_skill);
    write_multilabel_predictions(
        &dir.join(VALID_PREDICTIONS_FILE),
        &ids("v"),
        Some(&gold),
        &vp,
        &scores(&vp),
        &labels,
    )
    .unwrap();
}

fn gold_values() -> Vec<f32> {
    (0..N).map(|i| (i % 10) as f32 * 0.5).collect()
}

/// Predictions `gold × shrink + noise`.
fn values(noise: f32, shrink: f32) -> Vec<f32> {
    gold_values()
        .iter()
        .enumerate()
        .map(|(i, g)| g * shrink + noise * (((i * 37) % 11) as f32 - 5.0) / 5.0)
        .collect()
}

fn regression_run(dir: &Path, noise: f32, valid_noise: f32) {
    let g = gold_values();
    let p = values(noise, 1.0);
    let g64: Vec<f64> = g.iter().map(|&x| f64::from(x)).collect();
    let p64: Vec<f64> = p.iter().map(|&x| f64::from(x)).collect();
    let opts = EvalOptions {
        bootstrap: 50,
        ..EvalOptions::default()
    };
    let report = evaluate_regression(&g64, &p64, &opts).unwrap();
    ShapedMetrics::new(TestReport::from(report), Timing::new(), body("ridge", &[]))
        .write(dir)
        .unwrap();
    write_regression_predictions(&dir.join(PREDICTIONS_FILE), &ids("t"), Some(&g), &p).unwrap();
    write_regression_predictions(
        &dir.join(VALID_PREDICTIONS_FILE),
        &ids("v"),
        Some(&g),
        &values(valid_noise, 1.0),
    )
    .unwrap();
}

fn csv_column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|l| l.split(',').nth(i).unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_multilabel_folder_is_ranked_by_validation_micro_f1_and_reported_per_label() {
    let t = tempfile::tempdir().unwrap();
    multilabel_run(&t.path().join("a"), 3, 3);
    multilabel_run(&t.path().join("b"), 7, 7);
    let set = collect(t.path()).unwrap();
    assert_eq!(set.task(), textclf_core::Task::MultiLabel);
    let rule = report_rule(&set, None).unwrap();
    assert_eq!(rule, Rule::ValMicroF1);
    let b = set.runs.iter().find(|r| r.id == "b").unwrap();
    let a = set.runs.iter().find(|r| r.id == "a").unwrap();
    assert!(b.val_micro_f1.unwrap() > a.val_micro_f1.unwrap());
    let sel = select(&set.runs, rule).unwrap();
    assert_eq!(sel.best, "b");
    // The paired test against the best is the multi-label one: micro F1 and McNemar on
    // exact matches.
    let other = &sel.ranking[1];
    assert!(other.test_diff.unwrap() < 0.0, "{other:?}");
    assert!(other.mcnemar_p.is_some());
    // A rule of another task is refused, naming the ones that fit.
    let e = report_rule(&set, Some(Rule::ValPearson))
        .unwrap_err()
        .to_string();
    assert!(e.contains("val_micro_f1"), "{e}");

    let out = t.path().join("report");
    let w = write_report(&out, &set, None, None).unwrap();
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    let micro = csv_column(&csv, "test_micro_f1");
    assert!(micro.iter().all(|v| v.parse::<f64>().is_ok()), "{csv}");
    assert!(!csv.lines().next().unwrap().contains("test_pearson"));
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    assert!(md.contains("### Per-label metrics"), "{md}");
    assert!(md.contains("| label | precision |"), "{md}");
    assert!(md.contains("test micro F1 (95 % CI)"), "{md}");
    assert!(md.contains("Test micro F1 with its bootstrap"), "{md}");
    let names: Vec<String> = w
        .plots
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"per_label_f1".to_string()), "{names:?}");
    assert!(
        names.contains(&"label_cooccurrence".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"confusion".to_string()), "{names:?}");
    let html = std::fs::read_to_string(&w.html).unwrap();
    assert!(html.contains("Per-label metrics"));
    assert!(html.contains("Gold label co-occurrence"));
}

#[test]
fn a_regression_folder_is_ranked_by_validation_pearson_with_a_scatter() {
    let t = tempfile::tempdir().unwrap();
    regression_run(&t.path().join("noisy"), 2.0, 2.0);
    regression_run(&t.path().join("sharp"), 0.3, 0.3);
    let set = collect(t.path()).unwrap();
    let rule = report_rule(&set, None).unwrap();
    assert_eq!(rule, Rule::ValPearson);
    let sel = select(&set.runs, rule).unwrap();
    assert_eq!(sel.best, "sharp");
    assert!(sel.half_width.is_some());
    let other = &sel.ranking[1];
    assert!(other.test_diff.unwrap() < 0.0);
    assert_eq!(other.mcnemar_p, None);

    let out = t.path().join("report");
    let w = write_report(&out, &set, None, None).unwrap();
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    let pearson = csv_column(&csv, "test_pearson");
    assert!(pearson.iter().all(|v| v.parse::<f64>().is_ok()), "{csv}");
    let mse = csv_column(&csv, "test_mse");
    assert!(mse.iter().all(|v| v.parse::<f64>().is_ok()), "{csv}");
    assert!(w
        .plots
        .iter()
        .any(|p| p.ends_with("regression_scatter.svg")));
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    assert!(md.contains("test Pearson r"), "{md}");
    assert!(!md.contains("Per-class metrics"), "{md}");
}

#[test]
fn a_folder_mixing_tasks_is_refused_naming_the_runs_of_each() {
    let t = tempfile::tempdir().unwrap();
    multilabel_run(&t.path().join("emo"), 3, 3);
    regression_run(&t.path().join("sts"), 0.3, 0.3);
    let e = collect(t.path()).unwrap_err().to_string();
    assert!(e.contains("multi-label: emo"), "{e}");
    assert!(e.contains("regression: sts"), "{e}");
    assert!(e.contains("one task"), "{e}");
}
