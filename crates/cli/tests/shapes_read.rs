//! `compare`, `ensemble`, `report` and `advise` on multi-label and regression runs, and
//! their refusals of runs of different tasks or labels. The run folders are written with
//! the evaluation's writers, as `baseline` and `train` write them; no model is trained.

mod common;

use std::path::Path;

use common::{fails, json_file, ok, s};
use textclf_core::LabelSet;
use textclf_eval::{
    evaluate_multilabel, evaluate_regression, write_multilabel_predictions,
    write_regression_predictions, EvalOptions, LabelMatrix, ShapedMetrics, TestReport, Timing,
    PREDICTIONS_FILE, VALID_PREDICTIONS_FILE,
};
use textclf_runs::{EvalData, EvalRun, RunBody, SavedModel, SplitInfo};

const N: usize = 60;

fn body(kind: &str) -> RunBody {
    RunBody::Eval(EvalRun {
        model: SavedModel {
            kind: kind.into(),
            path: "model".into(),
            int8: false,
        },
        data: EvalData {
            test: SplitInfo {
                name: Some("test.csv".into()),
                rows: N,
                per_class: None,
            },
        },
    })
}

fn ids(p: &str) -> Vec<String> {
    (0..N).map(|i| format!("{p}{i}")).collect()
}

fn opts() -> EvalOptions {
    EvalOptions {
        bootstrap: 100,
        ..EvalOptions::default()
    }
}

/// Gold sets over labels `[a, b, c]`: `a` or `b` by parity, `c` on every 4th row.
fn gold_sets() -> Vec<Vec<usize>> {
    (0..N)
        .map(|i| {
            let mut s = vec![i % 2];
            if i % 4 == 0 {
                s.push(2);
            }
            s
        })
        .collect()
}

/// Per-label scores: the gold labels get `hit`, the others `miss`, except that every
/// `flip`-th row is scored the other way round.
fn ml_scores(hit: f32, miss: f32, flip: usize) -> Vec<f32> {
    gold_sets()
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            let flipped = i % flip == 0;
            (0..3).map(move |c| if g.contains(&c) != flipped { hit } else { miss })
        })
        .collect()
}

fn ml_run(dir: &Path, names: [&str; 3], scores: &[f32], valid: bool) {
    let labels = LabelSet::new(names.iter().map(|s| s.to_string()).collect()).unwrap();
    let gold = gold_sets();
    let pred: Vec<Vec<usize>> = scores
        .chunks(3)
        .map(|r| (0..3).filter(|&c| r[c] >= 0.5).collect())
        .collect();
    let gm = LabelMatrix::from_sets(3, &gold).unwrap();
    let pm = LabelMatrix::from_sets(3, &pred).unwrap();
    let report = evaluate_multilabel(&gm, &pm, Some(scores), &labels, &opts()).unwrap();
    ShapedMetrics::new(TestReport::from(report), Timing::new(), body("tfidf-lr"))
        .write(dir)
        .unwrap();
    write_multilabel_predictions(
        &dir.join(PREDICTIONS_FILE),
        &ids("t"),
        Some(&gold),
        &pred,
        scores,
        &labels,
    )
    .unwrap();
    if valid {
        write_multilabel_predictions(
            &dir.join(VALID_PREDICTIONS_FILE),
            &ids("v"),
            Some(&gold),
            &pred,
            scores,
            &labels,
        )
        .unwrap();
    }
}

fn gold_values() -> Vec<f32> {
    (0..N).map(|i| (i % 12) as f32 * 0.4).collect()
}

fn rg_values(noise: f32) -> Vec<f32> {
    gold_values()
        .iter()
        .enumerate()
        .map(|(i, g)| g + noise * (((i * 29) % 13) as f32 - 6.0) / 6.0)
        .collect()
}

fn rg_run(dir: &Path, pred: &[f32], valid: Option<&[f32]>) {
    let g = gold_values();
    let g64: Vec<f64> = g.iter().map(|&x| f64::from(x)).collect();
    let p64: Vec<f64> = pred.iter().map(|&x| f64::from(x)).collect();
    let report = evaluate_regression(&g64, &p64, &opts()).unwrap();
    ShapedMetrics::new(TestReport::from(report), Timing::new(), body("ridge"))
        .write(dir)
        .unwrap();
    write_regression_predictions(&dir.join(PREDICTIONS_FILE), &ids("t"), Some(&g), pred).unwrap();
    if let Some(v) = valid {
        write_regression_predictions(&dir.join(VALID_PREDICTIONS_FILE), &ids("v"), Some(&g), v)
            .unwrap();
    }
}

#[test]
fn compare_handles_multilabel_and_regression_and_refuses_mixed_runs() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    ml_run(&a, ["a", "b", "c"], &ml_scores(0.9, 0.1, 3), false);
    ml_run(&b, ["a", "b", "c"], &ml_scores(0.9, 0.1, 20), false);
    let text = ok(&["compare", s(&a), s(&b)]);
    assert!(text.contains("micro F1"), "{text}");
    assert!(text.contains("McNemar on exact matches"), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["compare", s(&a), s(&b), "--json"])).unwrap();
    assert_eq!(j["task"], "multi-label");
    assert!(j["micro_f1"]["diff"].as_f64().unwrap() > 0.0, "{j}");
    assert!(j["mcnemar"]["a_wrong_b_right"].as_u64().unwrap() > 0);

    let (r1, r2) = (t.path().join("r1"), t.path().join("r2"));
    rg_run(&r1, &rg_values(1.5), None);
    rg_run(&r2, &rg_values(0.2), None);
    let text = ok(&["compare", s(&r1), s(&r2)]);
    assert!(text.contains("Pearson r"), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["compare", s(&r1), s(&r2), "--json"])).unwrap();
    assert_eq!(j["task"], "regression");
    assert!(j["mse"]["diff"].as_f64().unwrap() < 0.0, "{j}");

    let err = fails(&["compare", s(&a), s(&r1)]);
    assert!(
        err.contains("multi-label run") && err.contains("regression run"),
        "{err}"
    );
    let other = t.path().join("other");
    ml_run(&other, ["a", "b", "z"], &ml_scores(0.9, 0.1, 3), false);
    let err = fails(&["compare", s(&a), s(&other)]);
    assert!(err.contains("different labels"), "{err}");
    assert!(err.contains("only in the second: z"), "{err}");
}

#[test]
fn ensemble_of_multilabel_runs_averages_scores_and_says_how_thresholds_were_chosen() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    ml_run(&a, ["a", "b", "c"], &ml_scores(0.9, 0.3, 5), true);
    ml_run(&b, ["a", "b", "c"], &ml_scores(0.7, 0.1, 7), true);
    let out = t.path().join("ens");
    ok(&[
        "ensemble",
        s(&a),
        s(&b),
        "--out",
        s(&out),
        "--weights",
        "val",
    ]);
    let m = json_file(&out.join("metrics.json"));
    assert_eq!(m["task"], "multi-label");
    assert!(m["micro"]["f1"].as_f64().unwrap() > 0.5, "{m}");
    let th = &m["model"]["thresholds"];
    assert!(
        th["chosen"]
            .as_str()
            .unwrap()
            .contains("averaged validation"),
        "{th}"
    );
    assert_eq!(th["values"].as_array().unwrap().len(), 3);
    let members = m["model"]["members"].as_array().unwrap();
    assert_eq!(members[0]["test_metric"], "micro_f1");
    assert!(members[0]["test_accuracy"].is_null());
    assert!(m["model"]["weights"]
        .as_str()
        .unwrap()
        .contains("binary cross-entropy"));
    assert!(m["valid"]["accuracy"].as_f64().is_some());
    let text = std::fs::read_to_string(out.join(PREDICTIONS_FILE)).unwrap();
    assert!(
        text.starts_with("id,gold,predicted,p_a,p_b,p_c\n"),
        "{text}"
    );
    assert!(out.join(VALID_PREDICTIONS_FILE).is_file());

    // Without validation predictions: the members' mean threshold, said so.
    let (c, d) = (t.path().join("c"), t.path().join("d"));
    ml_run(&c, ["a", "b", "c"], &ml_scores(0.9, 0.3, 5), false);
    ml_run(&d, ["a", "b", "c"], &ml_scores(0.7, 0.1, 7), false);
    let out2 = t.path().join("ens2");
    ok(&["ensemble", s(&c), s(&d), "--out", s(&out2)]);
    let m = json_file(&out2.join("metrics.json"));
    assert!(
        m["model"]["thresholds"]["chosen"]
            .as_str()
            .unwrap()
            .contains("members' mean threshold"),
        "{m}"
    );
}

#[test]
fn ensemble_of_regression_runs_averages_values_and_refuses_other_tasks() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let (pa, pb) = (rg_values(1.0), rg_values(-1.0));
    rg_run(&a, &pa, Some(&pa));
    rg_run(&b, &pb, Some(&pb));
    let out = t.path().join("ens");
    ok(&[
        "ensemble",
        s(&a),
        s(&b),
        "--out",
        s(&out),
        "--weights",
        "val",
    ]);
    let m = json_file(&out.join("metrics.json"));
    assert_eq!(m["task"], "regression");
    // The two members' errors cancel: the average is the gold value.
    assert!(m["mse"].as_f64().unwrap() < 1e-6, "{m}");
    assert!(m["model"]["weights"].as_str().unwrap().contains("MSE"));
    assert!(m["model"]["thresholds"].is_null());
    assert!(m["valid"]["accuracy"].is_null());

    let ml = t.path().join("ml");
    ml_run(&ml, ["a", "b", "c"], &ml_scores(0.9, 0.1, 3), false);
    let err = fails(&["ensemble", s(&a), s(&ml), "--out", s(&t.path().join("x"))]);
    assert!(err.contains("regression run"), "{err}");
}

#[test]
fn report_and_advise_read_a_folder_of_multilabel_runs() {
    let t = tempfile::tempdir().unwrap();
    let runs = t.path().join("runs");
    ml_run(
        &runs.join("a"),
        ["a", "b", "c"],
        &ml_scores(0.9, 0.1, 3),
        true,
    );
    ml_run(
        &runs.join("b"),
        ["a", "b", "c"],
        &ml_scores(0.9, 0.1, 20),
        true,
    );
    let text = ok(&["report", s(&runs)]);
    assert!(text.contains("best by validation micro F1: b"), "{text}");
    let csv = std::fs::read_to_string(runs.join("results.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().contains("test_micro_f1"),
        "{csv}"
    );
    assert!(runs.join("plots/label_cooccurrence.svg").is_file());
    let advice = ok(&["advise", s(&runs)]);
    assert!(advice.contains("weak_class"), "{advice}");

    rg_run(&runs.join("sts"), &rg_values(0.5), None);
    let err = fails(&["report", s(&runs)]);
    assert!(err.contains("regression: sts"), "{err}");
}
