//! Grouping runs by test set, and what the selection, table and reports make of it.

use super::*;
use crate::runs::RunStatus;
use crate::table::fixture;

pub(crate) fn on(mut r: RunSummary, name: &str, rows: usize, fp: Option<u64>) -> RunSummary {
    r.test_set = Some(TestSet {
        name: Some(name.into()),
        rows,
        fingerprint: fp,
    });
    r
}

#[test]
fn runs_are_grouped_by_their_test_rows_largest_group_first() {
    let labels = ["neg", "pos"];
    let t = |id: &str| fixture::transformer(id, 128, 2e-5, 0.8, &labels);
    let runs = vec![
        on(t("small-a"), "small.csv", 40, Some(2)),
        on(t("big-a"), "test.csv", 760, Some(1)),
        // The same rows under another name are the same test set.
        on(t("big-b"), "./data/test.csv", 760, Some(1)),
        on(t("big-c"), "test.csv", 760, Some(1)),
    ];
    let g = group_runs(&runs);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].0.label, "test.csv (760 rows)");
    assert_eq!(g[0].0.runs, vec!["big-a", "big-b", "big-c"]);
    assert_eq!(g[1].0.label, "small.csv (40 rows)");
    assert_eq!(g[1].0.rows, Some(40));
    let text = describe_groups(&[g[0].0.clone(), g[1].0.clone()], |s| format!("`{s}`"));
    assert_eq!(
        text,
        "`test.csv (760 rows)`: 3 runs; `small.csv (40 rows)`: 1 run"
    );
    assert_eq!(labels_by_run(&runs).unwrap().len(), 4);
}

#[test]
fn same_name_and_size_but_other_rows_are_told_apart() {
    let labels = ["neg", "pos"];
    let t = |id: &str| fixture::transformer(id, 128, 2e-5, 0.8, &labels);
    let runs = vec![
        on(t("seed1"), "pool.csv (test 10 %)", 100, Some(7)),
        on(t("seed2"), "pool.csv (test 10 %)", 100, Some(8)),
    ];
    let g = group_runs(&runs);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].0.label, "pool.csv (test 10 %) (100 rows)");
    assert_eq!(
        g[1].0.label,
        "pool.csv (test 10 %) (100 rows), other rows #2"
    );
    // Without readable predictions everywhere, name and size decide.
    let runs = vec![
        on(t("a"), "test.csv", 100, Some(7)),
        on(t("b"), "test.csv", 100, None),
    ];
    assert_eq!(group_runs(&runs).len(), 1);
}

/// Writes a finished linear run scored on `test` (`rows` rows with ids `<test>:<i>`)
/// whose validation accuracy is `val`.
fn write_run(root: &std::path::Path, id: &str, test: &str, rows: usize, val: f64) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let metrics = serde_json::json!({
        "command": "baseline",
        "n": rows, "accuracy": 0.5, "macro_f1": 0.5, "weighted_f1": 0.5, "binary_f1": 0.5,
        "log_loss": 0.69,
        "per_class": [
            {"label": "neg", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": rows / 2, "predicted": rows / 2},
            {"label": "pos", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": rows / 2, "predicted": rows / 2}],
        "confusion": {"labels": ["neg", "pos"], "counts": [[1, 1], [1, 1]],
                      "row_normalized": [[0.5, 0.5], [0.5, 0.5]]},
        "top_confusions": [],
        "ci": {"level": 0.95, "resamples": 0, "accuracy": [0.5, 0.5], "macro_f1": [0.5, 0.5]},
        "valid": {"accuracy": val, "macro_f1": val, "log_loss": 0.5, "n": 200},
        "model": {"kind": id},
        "data": {"labels": ["neg", "pos"], "train": {"rows": 400},
                 "test": {"name": test, "rows": rows}, "valid": {"rows": 200}, "seed": 42},
    });
    std::fs::write(dir.join("metrics.json"), metrics.to_string()).unwrap();
    let mut csv = String::from("id,gold,predicted,p_neg,p_pos\n");
    for i in 0..rows {
        let gold = ["neg", "pos"][i % 2];
        csv.push_str(&format!("{test}:{i},{gold},neg,0.6,0.4\n"));
    }
    std::fs::write(dir.join("predictions.csv"), csv).unwrap();
}

#[test]
fn a_folder_with_two_test_sets_ranks_each_on_its_own_and_says_so() {
    let t = tempfile::tempdir().unwrap();
    write_run(t.path(), "big-1", "test.csv", 760, 0.80);
    write_run(t.path(), "big-2", "test.csv", 760, 0.79);
    write_run(t.path(), "big-3", "test.csv", 760, 0.70);
    // Higher validation scores, on another (tiny) test set.
    write_run(t.path(), "small-1", "small.csv", 40, 0.95);
    write_run(t.path(), "small-2", "small.csv", 40, 0.94);
    let set = crate::runs::collect(t.path()).unwrap();
    let sel = crate::select::select(&set.runs, crate::select::Rule::ValAccuracy).unwrap();
    assert_eq!(sel.best, "big-1");
    assert_eq!(sel.test_set.as_deref(), Some("test.csv (760 rows)"));
    let ranked: Vec<&str> = sel.ranking.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ranked, vec!["big-1", "big-2", "big-3"]);
    assert_eq!(sel.others.len(), 1);
    assert_eq!(sel.others[0].best, "small-1");
    assert_eq!(
        sel.others[0].test_set.as_deref(),
        Some("small.csv (40 rows)")
    );
    // Paired tests ran within each test set only.
    assert!(sel.ranking[1].mcnemar_p.is_some());
    assert!(sel.others[0].ranking[1].mcnemar_p.is_some());
    let labels: Vec<&str> = sel.test_sets.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, vec!["test.csv (760 rows)", "small.csv (40 rows)"]);

    let md = crate::markdown::render(&set, Some(&sel), None);
    assert!(
        md.contains(
            "**Several test sets.** The runs were scored on 2 different test sets, so their \
             scores are not comparable: `test.csv (760 rows)`: 3 runs; `small.csv (40 rows)`: \
             2 runs."
        ),
        "{md}"
    );
    assert!(md.contains("### Test set `test.csv (760 rows)`"), "{md}");
    assert!(md.contains("### Test set `small.csv (40 rows)`"), "{md}");
    assert!(md.contains("**★ Best run: `small-1`**"), "{md}");
    // One ★ per test set in the table, and a test-set column.
    let table = crate::table::ResultsTable::new(&set, Some(&sel));
    assert!(table.columns().contains(&"test_set".to_string()));
    let best: Vec<&str> = table
        .rows
        .iter()
        .filter(|r| r.selected)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(best, vec!["big-1", "small-1"]);
    let csv = table.to_csv().unwrap();
    assert!(
        csv.contains("small-2,small-2,linear,small.csv (40 rows),"),
        "{csv}"
    );
    let html = crate::html::render(&set, Some(&sel), None);
    assert!(
        html.contains("<h3>Test set <code>small.csv (40 rows)</code></h3>"),
        "{}",
        html.lines()
            .filter(|l| l.contains("h3"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The advisor compares the runs of the largest test set only, and says so.
    let advice = crate::advise::advise(&set, Some(&sel));
    assert_eq!(advice.looked_at.best.as_ref().unwrap().id, "big-1");
    assert_eq!(advice.looked_at.linear, 3);
    let text = advice.render_markdown();
    assert!(
        text.contains(
            "5 (5 finished, 0 failed, 0 not finished); compared below: 0 transformer, 3 linear."
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "- The runs were scored on 2 different test sets, whose scores are not \
             comparable: `test.csv (760 rows)`: 3 runs; `small.csv (40 rows)`: 2 runs. The \
             checks below compare only the runs of `test.csv (760 rows)` (the test set \
             ranked first); the 2 runs of the other test sets are left out."
        ),
        "{text}"
    );
}

#[test]
fn a_folder_with_one_test_set_is_ranked_as_before() {
    let t = tempfile::tempdir().unwrap();
    write_run(t.path(), "a", "test.csv", 20, 0.80);
    write_run(t.path(), "b", "test.csv", 20, 0.90);
    let set = crate::runs::collect(t.path()).unwrap();
    let sel = crate::select::select(&set.runs, crate::select::Rule::ValAccuracy).unwrap();
    assert_eq!(sel.best, "b");
    assert!(sel.test_set.is_none() && sel.test_sets.is_empty() && sel.others.is_empty());
    let table = crate::table::ResultsTable::new(&set, Some(&sel));
    assert!(!table.columns().contains(&"test_set".to_string()));
    let md = crate::markdown::render(&set, Some(&sel), None);
    assert!(!md.contains("Several test sets"), "{md}");
    assert!(!md.contains("### Test set"), "{md}");
}

#[test]
fn one_test_set_and_unfinished_runs_make_one_group() {
    let set = fixture::run_set();
    // In-memory runs carry no test-set record: one group, nothing labelled.
    let g = group_runs(&set.runs);
    assert_eq!(g.len(), 1);
    assert!(labels_by_run(&set.runs).is_none());
    assert!(g[0]
        .1
        .iter()
        .all(|r| r.status == RunStatus::Done && r.id != "minilm-len256-lr2e-5"));
}
