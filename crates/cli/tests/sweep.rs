//! End-to-end tests of `textclf sweep`, `report`, `advise` and `ensemble` on a small
//! AG News sample, with linear baselines and the tiny BERT fixture so they stay fast.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// A sweep over two tiny-BERT learning rates and two baselines on 4 × 60 AG News rows.
fn sweep_toml(dir: &Path, extra: &str) -> std::path::PathBuf {
    let ag = data_dir().join("ag_news/test.csv");
    let tiny = shared_dir().join("fixtures/parity/bert-tiny");
    let text = format!(
        r#"
name = "smoke"
save_models = false

[data]
pool = ["{}"]
split = "60/20/20"
per_class = 60

[base]
model = "{}"
epochs = 2
max_len = 32
batch_size = 16
bootstrap = 50

[grid]
lr = [1e-3, 3e-3]

[[models]]
name = "tiny"
model = "{}"

[[models]]
name = "nbsvm"
baseline = "nbsvm"

[[models]]
name = "lr"
baseline = "lr"
{extra}
"#,
        s(&ag),
        s(&tiny),
        s(&tiny)
    );
    let path = dir.join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Test accuracy of every finished run, by id.
fn accuracies(out: &Path) -> BTreeMap<String, f64> {
    let plan = json_file(&out.join("sweep.json"));
    plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let id = r["id"].as_str().unwrap().to_string();
            let m = out.join("runs").join(&id).join("metrics.json");
            m.is_file()
                .then(|| (id, json_file(&m)["accuracy"].as_f64().unwrap()))
        })
        .collect()
}

#[test]
fn sweep_runs_every_configuration_once_and_resumes_by_skipping_finished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_toml(tmp.path(), "");
    let out = tmp.path().join("out");
    let listing = ok(&["sweep", s(&cfg), "--out", s(&out), "--dry-run"]);
    assert!(listing.contains("4 runs"), "{listing}");
    assert!(
        listing.contains("tiny__lr-0.001") && listing.contains("pending"),
        "{listing}"
    );
    assert!(!out.exists(), "a dry run writes nothing");

    let stdout = ok(&["sweep", s(&cfg), "--out", s(&out)]);
    assert!(stdout.contains("4 of 4 runs done"), "{stdout}");
    assert!(stdout.contains("best by"), "{stdout}");
    let acc = accuracies(&out);
    assert_eq!(
        acc.keys().collect::<Vec<_>>(),
        vec!["lr", "nbsvm", "tiny__lr-0.001", "tiny__lr-0.003"]
    );
    for id in acc.keys() {
        let dir = out.join("runs").join(id);
        for f in [
            "metrics.json",
            "predictions.csv",
            "valid_predictions.csv",
            "run.json",
            "log.txt",
        ] {
            assert!(dir.join(f).is_file(), "{id} lacks {f}");
        }
        assert!(!dir.join("checkpoint").exists(), "{id} kept its checkpoint");
        assert!(!dir.join("model").exists(), "save_models = false");
        assert_eq!(json_file(&dir.join("run.json"))["status"], "done");
    }
    // Each child got its settings as a typed spec file, not as flags.
    let spec = json_file(&out.join("runs/tiny__lr-0.003/spec.json"));
    assert_eq!(spec["model"]["family"], "transformer");
    assert_eq!(spec["model"]["settings"]["train"]["lr"], 0.003);
    assert_eq!(spec["save_model"], false);
    let spec = json_file(&out.join("runs/nbsvm/spec.json"));
    assert_eq!(spec["model"]["family"], "linear");
    assert_eq!(spec["model"]["params"]["kind"], "nbsvm");
    let run = json_file(&out.join("runs/tiny__lr-0.003/run.json"));
    assert_eq!(run["params"]["lr"], 0.003);
    assert!(
        run["command"].as_str().unwrap().contains("--lr 3e-3")
            || run["command"].as_str().unwrap().contains("--lr 0.003")
    );
    // Every run used the same split.
    let tests: Vec<String> = acc
        .keys()
        .map(|id| {
            let p =
                std::fs::read_to_string(out.join("runs").join(id).join("predictions.csv")).unwrap();
            p.lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(tests.windows(2).all(|w| w[0] == w[1]));

    // Again: nothing left to do, nothing rerun.
    let before = std::fs::metadata(out.join("runs/lr/metrics.json"))
        .unwrap()
        .modified()
        .unwrap();
    let again = ok(&["sweep", s(&cfg), "--out", s(&out)]);
    assert!(again.contains("4 of 4 runs done"), "{again}");
    let after = std::fs::metadata(out.join("runs/lr/metrics.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a finished run was redone");

    // An unfinished run (its .partial folder) is restarted; the others are kept.
    std::fs::rename(out.join("runs/nbsvm"), out.join("runs/nbsvm.partial")).unwrap();
    std::fs::remove_file(out.join("runs/nbsvm.partial/run.json")).unwrap();
    std::fs::remove_file(out.join("runs/nbsvm.partial/metrics.json")).unwrap();
    let listing = ok(&["sweep", s(&cfg), "--out", s(&out), "--dry-run"]);
    assert!(listing.contains("unfinished"), "{listing}");
    ok(&["sweep", s(&cfg), "--out", s(&out), "--quiet"]);
    assert_eq!(
        accuracies(&out),
        acc,
        "the restarted run gives the same result"
    );
    assert!(!out.join("runs/nbsvm.partial").exists());

    // Changing a setting of finished runs is refused rather than silently mixed in.
    let edited = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("epochs = 2", "epochs = 3");
    let cfg3 = tmp.path().join("sweep3.toml");
    std::fs::write(&cfg3, edited).unwrap();
    let err = fails(&["sweep", s(&cfg3), "--out", s(&out)]);
    assert!(
        err.contains("other settings") && err.contains("tiny__lr-0.001"),
        "{err}"
    );
    assert!(
        !err.contains("nbsvm,"),
        "baselines do not use epochs: {err}"
    );

    // Report, advice and an ensemble over the finished runs.
    let said = ok(&["report", s(&out)]);
    assert!(said.contains("report.html"), "{said}");
    for f in ["report.html", "report.md", "results.csv", "results.json"] {
        assert!(out.join(f).is_file(), "report wrote no {f}");
    }
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("tiny__lr-0.003"));
    let advice = ok(&["advise", s(&out)]);
    assert!(out.join("advice.md").is_file());
    assert!(!advice.trim().is_empty());

    let ens = tmp.path().join("ens");
    let said = ok(&[
        "ensemble",
        s(&out.join("runs/lr")),
        s(&out.join("runs/nbsvm")),
        "--out",
        s(&ens),
        "--weights",
        "val",
    ]);
    assert!(said.contains("chosen on validation"), "{said}");
    let m = json_file(&ens.join("metrics.json"));
    let w: f64 = m["model"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["weight"].as_f64().unwrap())
        .sum();
    assert!((w - 1.0).abs() < 1e-9);
    assert!(m["valid"]["accuracy"].as_f64().is_some());
    let err = fails(&[
        "ensemble",
        s(&out.join("runs/lr")),
        s(&out.join("runs/nbsvm")),
        "--out",
        s(&ens),
        "--overwrite",
        "--weights",
        "1",
    ]);
    assert!(err.contains("1 numbers for 2 runs"), "{err}");
}

#[test]
fn shards_in_parallel_do_every_run_exactly_once_with_the_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_toml(tmp.path(), "");
    let whole = tmp.path().join("whole");
    ok(&["sweep", s(&cfg), "--out", s(&whole), "--quiet"]);
    let sharded = tmp.path().join("sharded");
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(binary())
                .args([
                    "sweep",
                    s(&cfg),
                    "--out",
                    s(&sharded),
                    "--quiet",
                    "--shard",
                    &format!("{i}/3"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(accuracies(&sharded), accuracies(&whole));
    let mut shards: Vec<String> = accuracies(&sharded)
        .keys()
        .map(|id| {
            json_file(&sharded.join("runs").join(id).join("run.json"))["shard"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    shards.sort();
    assert_eq!(
        shards,
        vec!["0/3", "0/3", "1/3", "2/3"],
        "runs are dealt out by index"
    );

    // A Slurm array task picks its shard from the environment.
    let slurm = tmp.path().join("slurm");
    let o = Command::new(binary())
        .args(["sweep", s(&cfg), "--out", s(&slurm), "--quiet"])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let done: Vec<String> = accuracies(&slurm).into_keys().collect();
    assert_eq!(
        done,
        vec!["lr", "tiny__lr-0.003"],
        "shard 1/2 owns runs 1 and 3"
    );
}

#[test]
fn a_failing_run_is_recorded_and_out_of_memory_is_retried_with_smaller_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_toml(
        tmp.path(),
        "[[models]]\nname = \"missing\"\nmodel = \"/nonexistent/model-folder\"\n",
    );
    let out = tmp.path().join("out");
    let o = Command::new(binary())
        .args(["sweep", s(&cfg), "--out", s(&out)])
        .env("TEXTCLF_SIMULATE_OOM_ABOVE_BATCH", "4")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Failed runs make the sweep exit non-zero, after its summary.
    assert!(!o.status.success(), "{stderr}");
    assert!(stdout.contains("4 of 6 runs done, 2 failed"), "{stdout}");
    assert!(stderr.contains("2 of 6 runs failed"), "{stderr}");
    let failed = json_file(&out.join("runs/missing__lr-0.001/run.json"));
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("nonexistent"),
        "{failed}"
    );
    // batch 16 → 8 → 4 (the simulated limit): two out-of-memory retries, same effective batch.
    let run = json_file(&out.join("runs/tiny__lr-0.001/run.json"));
    assert_eq!(run["status"], "done");
    assert_eq!(run["params"]["batch_size"], 4);
    assert_eq!(run["params"]["grad_accum"], 4);
    let attempts = run["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0]["error"]
        .as_str()
        .unwrap()
        .contains("out of memory"));
    let m = json_file(&out.join("runs/tiny__lr-0.001/metrics.json"));
    assert_eq!(m["model"]["train_config"]["batch_size"], 4);
    assert_eq!(m["model"]["train_config"]["grad_accum"], 4);
    // The report lists the failure with its error.
    ok(&["report", s(&out)]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("missing__lr-0.001") && md.to_lowercase().contains("fail"),
        "{md}"
    );
}

#[test]
fn sweep_mistakes_are_explained_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[base]\nmodel = \"m\"\nlearning_rate = 0.1\n",
    )
    .unwrap();
    let err = fails(&["sweep", s(&bad), "--out", s(&out)]);
    assert!(err.contains("unknown setting 'learning_rate'"), "{err}");
    std::fs::write(&bad, "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[base]\nmodel = \"m\"\npadding = \"sideways\"\n").unwrap();
    let err = fails(&["sweep", s(&bad), "--out", s(&out)]);
    assert!(
        err.contains("does not accept") && err.contains("sideways"),
        "{err}"
    );
    let cfg = sweep_toml(tmp.path(), "");
    let err = fails(&["sweep", s(&cfg), "--out", s(&out), "--shard", "3/3"]);
    assert!(err.contains("0 <= INDEX < COUNT"), "{err}");
    assert!(!out.exists());
}

#[test]
fn the_homework_sweeps_in_examples_expand_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/homework");
    for (file, runs) in [
        ("p1-maxlen-lr.toml", 6),
        ("p2-data-fraction.toml", 4),
        ("p3-models.toml", 4),
    ] {
        let out = ok(&[
            "sweep",
            s(&root.join(file)),
            "--out",
            s(&tmp.path().join(file)),
            "--dry-run",
        ]);
        assert!(out.contains(&format!("{runs} runs")), "{file}: {out}");
    }
    let p1 = ok(&[
        "sweep",
        s(&root.join("p1-maxlen-lr.toml")),
        "--out",
        s(&tmp.path().join("x")),
        "--dry-run",
    ]);
    assert!(
        p1.contains("max_len-512__lr-5e-5") && p1.contains("--batch-size 8"),
        "{p1}"
    );
}
