//! `textclf sweep` on every shape of data, end to end: sentence pairs (GLUE RTE), multi-label
//! (GoEmotions) and pair regression (GLUE STS-B), on small samples of the shared data, with
//! linear baselines (and one tiny BERT run) so that they stay fast. Each sweep runs twice:
//! the second time skips the finished runs. `report` and `advise` then read the folder.
//! A sweep folder whose split an older textclf wrote resumes as that split was written.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use textclf_core::Task;
use textclf_eval::ShapedMetrics;

/// A sweep file over train/test samples of `set` in `dir`, with `body` after its [data]
/// section (whose extra keys are `data`).
fn sweep_file(dir: &Path, set: &str, n: (usize, usize), data: &str, body: &str) -> PathBuf {
    let (tr, te) = samples(&dir.join("data"), set, n.0, n.1);
    let text = format!(
        "save_models = false\n\n[data]\ntrain = \"{}\"\ntest = \"{}\"\nvalid_frac = 0.2\n{data}\n{body}",
        s(&tr),
        s(&te)
    );
    let path = dir.join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the sweep: (stdout, stderr), asserting success.
fn sweep(cfg: &Path, out: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["sweep", s(cfg), "--out", s(out)];
    args.extend_from_slice(extra);
    let o = textclf(&args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "sweep failed:\n{stderr}");
    (stdout, stderr)
}

/// Checks what every shape's sweep must give: two finished runs of `task`, ranked by
/// `rule` (recorded in sweep.json, named in the summary with the task's headline), a rerun
/// that skips both and leaves them as they were, and a report and advice on the folder.
/// Returns the runs' metrics by id.
fn check_sweep(
    cfg: &Path,
    out: &Path,
    task: Task,
    rule: (&str, &str),
    headline: &str,
) -> Vec<(String, ShapedMetrics)> {
    let (stdout, _) = sweep(cfg, out, &[]);
    assert!(stdout.contains("2 of 2 runs done"), "{stdout}");
    assert!(
        stdout.contains(&format!("best by {} so far", rule.1))
            && stdout.contains(&format!("test {headline} ")),
        "{stdout}"
    );
    let plan = json_file(&out.join("sweep.json"));
    assert_eq!(plan["selection"], rule.0);
    let split = json_file(&out.join("data/split.json"));
    assert_eq!(split["task"], task.name());
    let ids: Vec<String> = plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let mut runs = Vec::new();
    let mut written = Vec::new();
    for id in &ids {
        let dir = out.join("runs").join(id);
        assert_eq!(json_file(&dir.join("run.json"))["status"], "done", "{id}");
        let m = ShapedMetrics::read(&dir).unwrap();
        assert_eq!(m.test.task(), task, "{id}");
        let (name, value) = m.test.headline();
        assert_eq!(name, headline);
        assert!(value.is_some_and(f64::is_finite), "{id}: {value:?}");
        // The child read the shared split with the split's task.
        let spec = json_file(&dir.join("spec.json"));
        assert_eq!(spec["data"]["columns"]["task"], task.name(), "{id}");
        written.push(std::fs::read(dir.join("metrics.json")).unwrap());
        runs.push((id.clone(), m));
    }

    // A rerun skips the finished runs and leaves them as they were.
    let (_, stderr) = sweep(cfg, out, &[]);
    assert!(
        stderr.contains("0 runs finished now, 0 failed, 2 already done before"),
        "{stderr}"
    );
    for (id, before) in ids.iter().zip(&written) {
        let now = std::fs::read(out.join("runs").join(id).join("metrics.json")).unwrap();
        assert!(&now == before, "{id} was run again");
    }
    let (stdout, _) = sweep(cfg, out, &["--json"]);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["task"], task.name());
    assert_eq!(summary["rule"], rule.0);
    assert!(ids.contains(&summary["best"].as_str().unwrap().to_string()));
    for r in summary["runs"].as_array().unwrap() {
        assert_eq!(r["task"], task.name());
        assert_eq!(r["test_headline"]["measure"], headline);
        assert!(r["score"].as_f64().is_some(), "{r}");
    }

    // report and advise read the sweep folder of this shape.
    let said = ok(&["report", s(out)]);
    assert!(said.contains(&format!("best by {}", rule.1)), "{said}");
    let results = json_file(&out.join("results.json"));
    assert!(results.to_string().contains(&ids[0]), "{results}");
    ok(&["advise", s(out), "--quiet"]);
    let advice = std::fs::read_to_string(out.join("advice.md")).unwrap();
    assert!(
        advice.contains(&format!("- Its test {headline}: ")) && !advice.contains("no test report"),
        "{advice}"
    );
    runs
}

#[test]
fn a_sweep_of_sentence_pairs_runs_a_baseline_and_a_tiny_bert() {
    let tmp = tempfile::tempdir().unwrap();
    let tiny = shared_dir().join("fixtures/parity/bert-tiny");
    let cfg = sweep_file(
        tmp.path(),
        "glue/rte",
        (80, 30),
        "",
        &format!(
            "[base]\nepochs = 1\nmax_len = 48\nbatch_size = 16\nbootstrap = 20\n\n[[models]]\nname = \"tiny\"\nmodel = \"{}\"\n\n[[models]]\nname = \"lr\"\nbaseline = \"lr\"\nC = 1.0\n",
            s(&tiny)
        ),
    );
    let out = tmp.path().join("out");
    let runs = check_sweep(
        &cfg,
        &out,
        Task::SingleLabel,
        (
            "val_acc_at_min_val_loss",
            "validation accuracy at the epoch of minimum validation loss",
        ),
        "accuracy",
    );
    for (id, m) in &runs {
        assert_eq!(m.test.n(), 30, "{id}");
    }
    // The shared files keep both texts, and each child fitted a pair model.
    let first = std::fs::read_to_string(out.join("data/train.jsonl")).unwrap();
    let row: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "text", "text_pair", "label"]);
    let tiny = json_file(&out.join("runs/tiny/metrics.json"));
    assert!(
        tiny["data"]["token_lengths"]["pairs"].is_object(),
        "{}",
        tiny["data"]
    );
    let command = json_file(&out.join("runs/lr/run.json"))["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        command.contains("--text-pair-col text_pair") && command.contains("--task single-label"),
        "{command}"
    );
}

#[test]
fn a_multi_label_sweep_ranks_by_micro_f1_and_keeps_the_label_set() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_file(
        tmp.path(),
        "goemotions",
        (1200, 200),
        "",
        "[base]\nbaseline = \"lr\"\nbootstrap = 20\n\n[grid]\nC = [1.0, 4.0]\n",
    );
    let out = tmp.path().join("out");
    let runs = check_sweep(
        &cfg,
        &out,
        Task::MultiLabel,
        ("val_micro_f1", "validation micro F1"),
        "micro F1",
    );
    // One 0/1 field per label of the split, in its order; every run has that label set.
    let split = json_file(&out.join("data/split.json"));
    let labels: Vec<String> = split["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(labels.len() > 5, "{labels:?}");
    assert_eq!(
        split["layout"]["labels"]["one_hot"],
        serde_json::json!(labels)
    );
    let first = std::fs::read_to_string(out.join("data/test.jsonl")).unwrap();
    let row: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(row.as_object().unwrap().len(), 2 + labels.len());
    for (id, m) in &runs {
        let r = m.test.multi_label().unwrap();
        assert!(r.micro.f1 > 0.05, "{id}: micro F1 {}", r.micro.f1);
        let v = json_file(&out.join("runs").join(id).join("metrics.json"));
        assert_eq!(v["data"]["labels"], serde_json::json!(labels), "{id}");
        assert_eq!(v["task"], "multi-label");
    }
    // A rule that does not measure multi-label runs is refused before any run.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "[data]",
            "selection = \"val_acc_at_min_val_loss\"\n\n[data]",
        ),
    )
    .unwrap();
    let e = fails(&["sweep", s(&bad), "--out", s(&tmp.path().join("bad"))]);
    assert!(
        e.contains("does not measure multi-label runs") && e.contains("val_micro_f1"),
        "{e}"
    );
    assert!(!tmp.path().join("bad/runs").exists());
}

#[test]
fn a_regression_sweep_ranks_by_pearson_and_keeps_the_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_file(
        tmp.path(),
        "glue/stsb",
        (300, 80),
        "task = \"regression\"",
        "[base]\nbaseline = \"lr\"\nbootstrap = 20\n\n[grid]\nC = [1.0, 4.0]\n",
    );
    let out = tmp.path().join("out");
    let runs = check_sweep(
        &cfg,
        &out,
        Task::Regression,
        ("val_pearson", "validation Pearson's r"),
        "Pearson r",
    );
    // The targets are the data's, under the data's label column.
    let gold: Vec<f32> = csv::Reader::from_path(tmp.path().join("data/test.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[2].parse().unwrap())
        .collect();
    let shared: Vec<f32> = std::fs::read_to_string(out.join("data/test.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["score"].to_string().parse().unwrap()
        })
        .collect();
    assert_eq!(shared, gold);
    for (id, m) in &runs {
        let r = m.test.regression().unwrap();
        assert_eq!(r.n, gold.len(), "{id}");
        let preds =
            std::fs::read_to_string(out.join("runs").join(id).join("predictions.csv")).unwrap();
        assert!(preds.starts_with("id,gold,predicted\n"), "{preds}");
    }
    // With the task given, a rule that does not measure regressions is refused at once.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("[data]", "selection = \"val_accuracy\"\n\n[data]"),
    )
    .unwrap();
    let e = fails(&["sweep", s(&bad), "--out", s(&tmp.path().join("bad"))]);
    assert!(
        e.contains("does not measure regression runs") && e.contains("val_pearson"),
        "{e}"
    );
    assert!(!tmp.path().join("bad").exists());
}

#[test]
fn a_sweep_folder_split_before_layouts_existed_resumes_as_it_was_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = (tmp.path().join("tr.csv"), tmp.path().join("te.csv"));
    toy_csv(&tr, 60, 0);
    toy_csv(&te, 20, 100);
    let cfg = tmp.path().join("sweep.toml");
    let file = |grid: &str| {
        let text = format!(
            "[data]\ntrain = \"{}\"\ntest = \"{}\"\n[base]\nbaseline = \"lr\"\n[grid]\nC = {grid}\n",
            s(&tr),
            s(&te)
        );
        std::fs::write(&cfg, text).unwrap();
    };
    file("[1.0, 2.0]");
    let out = tmp.path().join("out");
    sweep(&cfg, &out, &["--quiet"]);
    // What an older textclf wrote: a split.json without the layout and the task.
    let marker = out.join("data/split.json");
    let mut split = json_file(&marker);
    let m = split.as_object_mut().unwrap();
    for k in ["layout", "task", "pairs"] {
        assert!(m.remove(k).is_some(), "{k}");
    }
    std::fs::write(&marker, serde_json::to_string_pretty(&split).unwrap()).unwrap();
    file("[1.0, 2.0, 4.0]");
    let (_, stderr) = sweep(&cfg, &out, &[]);
    assert!(
        stderr.contains("reusing the split") && stderr.contains("2 already done before"),
        "{stderr}"
    );
    // The new run reads the old files as they were written: one text, `label`, the task
    // left to inference.
    let dir = out.join("runs/C-4");
    let columns = &json_file(&dir.join("spec.json"))["data"]["columns"];
    assert_eq!(columns["label_col"], "label");
    assert!(
        columns["task"].is_null() && columns["pair_col"].is_null(),
        "{columns}"
    );
    let command = json_file(&dir.join("run.json"))["command"].to_string();
    assert!(!command.contains("--task"), "{command}");
    assert_eq!(
        ShapedMetrics::read(&dir).unwrap().test.task(),
        Task::SingleLabel
    );
}
