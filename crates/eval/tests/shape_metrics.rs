//! Every metric of every problem shape against scikit-learn and scipy on the same
//! predictions. The inputs and expected values are in `fixtures/shape_metrics.json`,
//! written by `fixtures/make_shape_metrics.py` (the test itself needs no Python).
//!
//! Tolerance: 1e-9 relative to the expected value, with an absolute floor of 1e-12 for
//! expected zeros. The values are ratios of small integers or short sums, so the only
//! differences are the order of floating-point operations (numpy's pairwise sums,
//! scikit-learn's trapezoids for ROC-AUC against rank sums here), far below 1e-9.

use serde_json::Value;
use textclf_core::{LabelSet, Predictions};
use textclf_eval::{
    apply_thresholds, compare_multilabel, evaluate, evaluate_mcc, evaluate_multilabel,
    evaluate_regression, matthews_corrcoef, tune_global_threshold, tune_thresholds, EvalOptions,
    LabelMatrix,
};

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/shape_metrics.json"
    );
    let text = std::fs::read_to_string(path).expect("read the fixture");
    serde_json::from_str(&text).expect("parse the fixture")
}

#[track_caller]
fn close(what: &str, got: f64, expected: f64) {
    let tol = 1e-9 * expected.abs() + 1e-12;
    assert!(
        (got - expected).abs() <= tol,
        "{what}: got {got}, scikit-learn/scipy {expected}"
    );
}

#[track_caller]
fn close_opt(what: &str, got: Option<f64>, expected: &Value) {
    match (got, expected.as_f64()) {
        (Some(g), Some(e)) => close(what, g, e),
        (None, None) => {}
        (g, _) => panic!("{what}: got {g:?}, scikit-learn/scipy {expected}"),
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn dense(v: &Value, k: usize) -> LabelMatrix {
    let cells: Vec<u8> = v
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("a row")
                .iter()
                .map(|x| x.as_u64().expect("0/1") as u8)
        })
        .collect();
    LabelMatrix::from_dense(k, &cells).expect("a 0/1 matrix")
}

fn scores(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r.as_array().expect("a row").iter().map(|x| num(x) as f32))
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("numbers").iter().map(num).collect()
}

fn ids(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|x| x.as_u64().expect("an id") as usize)
        .collect()
}

fn label_set(v: &Value) -> LabelSet {
    let names = v
        .as_array()
        .expect("labels")
        .iter()
        .map(|x| x.as_str().expect("a name").to_string())
        .collect();
    LabelSet::new(names).expect("distinct labels")
}

#[test]
fn multilabel_metrics_match_sklearn() {
    let f = fixture();
    let m = &f["multilabel"];
    let labels = label_set(&m["labels"]);
    let k = labels.len();
    let gold = dense(&m["gold"], k);
    let pred = dense(&m["pred_a"], k);
    let s = scores(&m["scores"]);
    let e = &m["expected"];
    let r = evaluate_multilabel(&gold, &pred, Some(&s), &labels, &EvalOptions::default()).unwrap();
    for (name, got) in [
        ("micro", r.micro),
        ("macro", r.macro_avg),
        ("weighted", r.weighted),
        ("samples", r.samples),
    ] {
        close(
            &format!("{name} precision"),
            got.precision,
            num(&e[name]["precision"]),
        );
        close(
            &format!("{name} recall"),
            got.recall,
            num(&e[name]["recall"]),
        );
        close(&format!("{name} F1"), got.f1, num(&e[name]["f1"]));
    }
    close(
        "subset accuracy",
        r.subset_accuracy,
        num(&e["subset_accuracy"]),
    );
    close("Hamming loss", r.hamming_loss, num(&e["hamming_loss"]));
    let pl = &e["per_label"];
    for (c, l) in r.per_label.iter().enumerate() {
        close(
            &format!("{} precision", l.label),
            l.precision,
            num(&pl["precision"][c]),
        );
        close(
            &format!("{} recall", l.label),
            l.recall,
            num(&pl["recall"][c]),
        );
        close(&format!("{} F1", l.label), l.f1, num(&pl["f1"][c]));
        assert_eq!(
            Some(l.support),
            pl["support"][c].as_u64(),
            "{} support",
            l.label
        );
        close_opt(
            &format!("{} ROC-AUC", l.label),
            l.roc_auc,
            &pl["roc_auc"][c],
        );
    }
    // The fixture holds a label never positive in gold and one never predicted.
    assert!(r.per_label.iter().any(|l| l.support == 0));
    assert!(r
        .per_label
        .iter()
        .any(|l| l.predicted == 0 && l.support > 0));
    let roc = r.roc_auc.as_ref().unwrap();
    close_opt("macro ROC-AUC", roc.macro_auc, &e["roc_auc_macro"]);
    close_opt("micro ROC-AUC", roc.micro, &e["roc_auc_micro"]);
    let skipped: Vec<String> = e["roc_auc_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert_eq!(roc.skipped, skipped);
    assert_eq!(roc.labels_scored, k - skipped.len());
}

#[test]
fn multilabel_comparison_matches_sklearn_and_scipy() {
    let f = fixture();
    let m = &f["multilabel"];
    let k = m["labels"].as_array().unwrap().len();
    let gold = dense(&m["gold"], k);
    let a = dense(&m["pred_a"], k);
    let b = dense(&m["pred_b"], k);
    let e = &m["expected"];
    let c = compare_multilabel(&gold, &a, &b, &EvalOptions::default()).unwrap();
    close(
        "micro F1 of A",
        c.micro_f1.a.unwrap(),
        num(&e["micro"]["f1"]),
    );
    close(
        "micro F1 of B",
        c.micro_f1.b.unwrap(),
        num(&e["micro_f1_b"]),
    );
    close(
        "macro F1 of B",
        c.macro_f1.b.unwrap(),
        num(&e["macro_f1_b"]),
    );
    assert_eq!(
        Some(c.mcnemar.a_right_b_wrong),
        e["mcnemar_a_right_b_wrong"].as_u64()
    );
    assert_eq!(
        Some(c.mcnemar.a_wrong_b_right),
        e["mcnemar_a_wrong_b_right"].as_u64()
    );
    close(
        "McNemar p (scipy binomtest)",
        c.mcnemar.p_value,
        num(&e["mcnemar_p"]),
    );
}

#[test]
fn thresholds_match_a_brute_force_search_with_sklearn() {
    let f = fixture();
    let m = &f["multilabel"];
    let t = &f["thresholds"];
    let labels = label_set(&m["labels"]);
    let k = labels.len();
    let rows = t["validation_rows"].as_u64().unwrap() as usize;
    let gold_all = dense(&m["gold"], k);
    let gold = LabelMatrix::new(k, gold_all.as_slice()[..rows * k].to_vec()).unwrap();
    let s = &scores(&m["scores"])[..rows * k];
    let fallback = num(&t["fallback"]) as f32;

    let tuned = tune_thresholds(&gold, s, &labels, fallback).unwrap();
    for (c, l) in tuned.labels.iter().enumerate() {
        assert_eq!(
            l.threshold,
            num(&t["per_label"][c]) as f32,
            "{} threshold",
            l.label
        );
        assert_eq!(Some(l.tuned), t["tuned"][c].as_bool(), "{} tuned", l.label);
        close(
            &format!("{} validation F1", l.label),
            l.f1,
            num(&t["per_label_f1"][c]),
        );
    }
    close(
        "micro F1 with per-label thresholds",
        tuned.micro_f1.unwrap(),
        num(&t["per_label_micro_f1"]),
    );

    let global = tune_global_threshold(&gold, s, &labels, fallback).unwrap();
    assert!(global
        .values()
        .iter()
        .all(|&v| v == num(&t["global"]) as f32));
    close(
        "micro F1 with the global threshold",
        global.micro_f1.unwrap(),
        num(&t["global_micro_f1"]),
    );

    // The test predictions of the fixture are the scores cut at 0.5.
    let all = scores(&m["scores"]);
    let at_half = apply_thresholds(&all, &vec![0.5; k]).unwrap();
    let pred_a = dense(&m["pred_a"], k);
    // Row 5 was emptied by hand in the fixture; every other row is the cut.
    for i in (0..gold_all.len()).filter(|&i| i != 5) {
        assert_eq!(at_half.row(i), pred_a.row(i), "row {i}");
    }
}

#[test]
fn regression_metrics_match_scipy_and_sklearn() {
    let f = fixture();
    for case in f["regression"]["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let gold = floats(&case["gold"]);
        let pred = floats(&case["pred"]);
        let e = &case["expected"];
        let r = evaluate_regression(&gold, &pred, &EvalOptions::default()).unwrap();
        close_opt(&format!("{name}: Pearson"), r.pearson, &e["pearson"]);
        close_opt(&format!("{name}: Spearman"), r.spearman, &e["spearman"]);
        close(&format!("{name}: MSE"), r.mse, num(&e["mse"]));
        close(&format!("{name}: MAE"), r.mae, num(&e["mae"]));
        close_opt(&format!("{name}: R²"), r.r2, &e["r2"]);
    }
}

#[test]
fn single_label_metrics_match_sklearn() {
    let f = fixture();
    for case in f["single_label"]["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let k = case["num_classes"].as_u64().unwrap() as usize;
        let gold = ids(&case["gold"]);
        let pred = ids(&case["pred"]);
        let e = &case["expected"];
        close(
            &format!("{name}: MCC"),
            matthews_corrcoef(&gold, &pred, k).unwrap(),
            num(&e["mcc"]),
        );
        let m = evaluate_mcc(&gold, &pred, k, &EvalOptions::default()).unwrap();
        close(&format!("{name}: MCC with CI"), m.mcc, num(&e["mcc"]));
        // Today's report on the same predictions (one-hot probabilities).
        let mut probs = vec![0.0f32; gold.len() * k];
        for (i, &p) in pred.iter().enumerate() {
            probs[i * k + p] = 1.0;
        }
        let labels = LabelSet::new((0..k).map(|c| format!("c{c}")).collect()).unwrap();
        let r = evaluate(
            &gold,
            &Predictions::new(k, probs).unwrap(),
            &labels,
            &EvalOptions::default(),
        )
        .unwrap();
        close(
            &format!("{name}: accuracy"),
            r.accuracy,
            num(&e["accuracy"]),
        );
        close(
            &format!("{name}: macro F1"),
            r.macro_f1,
            num(&e["macro_f1"]),
        );
        close(
            &format!("{name}: weighted F1"),
            r.weighted_f1,
            num(&e["weighted_f1"]),
        );
    }
}
