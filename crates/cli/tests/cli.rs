//! End-to-end tests of the `textclf` binary on small samples of the shared datasets.
//! The data folder is `../shared/data` beside the repository, or `$TEXTCLF_DATA_DIR`.

mod common;

use common::*;

#[test]
fn baseline_on_ag_news_pool_writes_a_complete_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let ag = data_dir().join("ag_news/test.csv");
    let stdout = ok(&[
        "baseline",
        "--data",
        s(&ag),
        "--per-class",
        "150",
        "--model",
        "lr",
        "--C",
        "16",
        "--out",
        s(&out),
    ]);
    assert!(stdout.contains("accuracy"), "{stdout}");
    let m = json_file(&out.join("metrics.json"));
    for key in [
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion",
        "timing",
        "ci",
        "model",
        "data",
    ] {
        assert!(m.get(key).is_some(), "metrics.json lacks {key}");
    }
    let acc = m["accuracy"].as_f64().unwrap();
    // 4 balanced classes: chance is 0.25; 480 training texts give a real model.
    assert!(acc > 0.6, "accuracy {acc}");
    assert_eq!(m["per_class"].as_array().unwrap().len(), 4);
    assert_eq!(m["data"]["test"]["rows"], 60);
    assert_eq!(m["data"]["train"]["rows"], 480);
    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    let header = preds.lines().next().unwrap();
    assert!(header.starts_with("id,gold,predicted,p_"), "{header}");
    assert_eq!(preds.lines().count(), 61);

    // The saved model predicts the same labels through `predict` and scores the same through `eval`.
    let model = out.join("model");
    let test_csv = tmp.path().join("test.csv");
    let mut w = csv::Writer::from_path(&test_csv).unwrap();
    w.write_record(["id", "text", "label"]).unwrap();
    let all = csv::Reader::from_path(&ag)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect::<Vec<_>>();
    let mut r = csv::Reader::from_path(out.join("predictions.csv")).unwrap();
    let mut expected = vec![];
    for rec in r.records() {
        let rec = rec.unwrap();
        let row: usize = rec[0].rsplit(':').next().unwrap().parse().unwrap();
        let src = &all[row - 1];
        w.write_record([&rec[0], &src[0], &src[1]]).unwrap();
        expected.push((rec[0].to_string(), rec[2].to_string()));
    }
    w.flush().unwrap();
    let pred_out = tmp.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&test_csv),
        "--output",
        s(&pred_out),
    ]);
    let mut r = csv::Reader::from_path(&pred_out).unwrap();
    let got: Vec<(String, String)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].to_string())
        })
        .collect();
    assert_eq!(got, expected);
    let eval_out = tmp.path().join("eval");
    ok(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&test_csv),
        "--out",
        s(&eval_out),
        "--quiet",
    ]);
    let e = json_file(&eval_out.join("metrics.json"));
    assert!((e["accuracy"].as_f64().unwrap() - acc).abs() < 1e-9);
}

/// Runs `baseline --model svm` on 640 IMDB reviews with `grid`; (metrics.json's
/// `model.fit`, stderr).
fn svm_with_grid(dir: &std::path::Path, grid: &str) -> (serde_json::Value, String) {
    let out = dir.join(grid);
    let o = textclf(&[
        "baseline",
        "--data",
        s(&data_dir().join("imdb/test.csv")),
        "--per-class",
        "400",
        "--model",
        "svm",
        "--c-grid",
        grid,
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (
        json_file(&out.join("metrics.json"))["model"]["fit"].clone(),
        err,
    )
}

#[test]
fn a_best_c_at_the_grid_edge_extends_the_grid_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    // C values too small for 640 reviews: validation accuracy rises to the top of the
    // grid, so the grid is extended upwards by ×4 while the newest C is the best.
    let (fit, err) = svm_with_grid(tmp.path(), "0.001,0.002");
    let ext = &fit["c_grid_extension"];
    assert_eq!(ext["direction"], "up", "{fit}");
    let added: Vec<f64> = ext["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!((1..=3).contains(&added.len()), "{fit}");
    for (i, a) in added.iter().enumerate() {
        let want = 0.002 * 4f64.powi(i as i32 + 1);
        assert!((a / want - 1.0).abs() < 1e-9, "{added:?}");
    }
    // Every C tried is recorded, and the chosen one has the best validation accuracy
    // (the smallest C among equals).
    let points: Vec<(f64, f64)> = fit["c_search"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["c"].as_f64().unwrap(), p["accuracy"].as_f64().unwrap()))
        .collect();
    assert_eq!(points.len(), 2 + added.len(), "{fit}");
    let best = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let first_best = points.iter().find(|p| p.1 == best).unwrap().0;
    assert_eq!(fit["chosen_c"].as_f64(), Some(first_best), "{fit}");
    // A progress line per fit as it ends (the grid's fits run side by side, so in either
    // order), with an ETA while fits remain, marking the added ones.
    for c in ["0.001", "0.002"] {
        assert!(
            err.contains(&format!("[1/2] C = {c}")) || err.contains(&format!("[2/2] C = {c}")),
            "{err}"
        );
    }
    assert!(err.contains("ETA"), "{err}");
    assert!(err.contains("grid extended"), "{err}");
    let warned = err.contains("edge of the grid after extending it");
    assert_eq!(warned, ext["stopped_by_bound"] == true, "{err}");

    // At the lower bound of C (1e-4) the grid cannot go further down: the run says so.
    let (fit, err) = svm_with_grid(tmp.path(), "0.0001,0.0002");
    let ext = &fit["c_grid_extension"];
    assert_eq!(fit["chosen_c"].as_f64(), Some(0.0001), "{fit}");
    assert_eq!(ext["direction"], "down", "{fit}");
    assert_eq!(ext["added"].as_array().map(Vec::len), Some(0), "{fit}");
    assert_eq!(ext["stopped_by_bound"], true, "{fit}");
    assert!(
        err.contains("the best C (0.0001) is still at the bottom edge of the grid"),
        "{err}"
    );
}

#[test]
fn svm_and_nbsvm_learn_imdb_sample_and_compare_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let imdb = data_dir().join("imdb/test.csv");
    let mut accs = vec![];
    for model in ["svm", "nbsvm"] {
        let out = tmp.path().join(model);
        ok(&[
            "baseline",
            "--data",
            s(&imdb),
            "--per-class",
            "400",
            "--model",
            model,
            "--out",
            s(&out),
            "--quiet",
        ]);
        let m = json_file(&out.join("metrics.json"));
        let acc = m["accuracy"].as_f64().unwrap();
        assert!(acc > 0.72, "{model} accuracy {acc} on 640 training reviews");
        // The C search ran on the validation split and its results were recorded.
        assert!(!m["model"]["fit"]["c_search"].as_array().unwrap().is_empty());
        // Two classes are calibrated by a temperature (so the more probable class is the
        // one the score's sign gives), with its quality on the holdout recorded.
        let cal = &m["model"]["fit"]["calibration"];
        assert_eq!(cal["method"], "temperature", "{model}: {cal}");
        assert!(cal["temperature"].as_f64().unwrap() > 0.0);
        let (log_loss, ece) = (
            cal["log_loss"].as_f64().unwrap(),
            cal["ece"].as_f64().unwrap(),
        );
        assert!(
            log_loss > 0.0 && log_loss < std::f64::consts::LN_2,
            "{model}: {cal}"
        );
        assert!((0.0..=1.0).contains(&ece), "{model}: {cal}");
        // Calibrated probabilities sum to one.
        let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
        for line in preds.lines().skip(1).take(20) {
            let f: Vec<&str> = line.split(',').collect();
            let p: f64 = f[3..].iter().map(|v| v.parse::<f64>().unwrap()).sum();
            assert!((p - 1.0).abs() < 1e-4, "{line}");
        }
        accs.push(acc);
    }
    let a = tmp.path().join("svm");
    let b = tmp.path().join("nbsvm");
    let text = ok(&["compare", s(&a), s(&b)]);
    assert!(text.contains("McNemar"), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["compare", s(&a), s(&b), "--json"])).unwrap();
    let diff = j["diff"].as_f64().unwrap();
    assert!((diff - (accs[1] - accs[0])).abs() < 1e-9);
    let p = j["mcnemar"]["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
}

#[test]
fn compare_refuses_runs_on_different_test_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let ag = data_dir().join("ag_news/test.csv");
    for (name, seed) in [("a", "1"), ("b", "2")] {
        ok(&[
            "baseline",
            "--data",
            s(&ag),
            "--per-class",
            "40",
            "--C",
            "1",
            "--seed",
            seed,
            "--out",
            s(&tmp.path().join(name)),
            "--quiet",
        ]);
    }
    let err = fails(&[
        "compare",
        s(&tmp.path().join("a")),
        s(&tmp.path().join("b")),
    ]);
    assert!(err.contains("same test set"), "{err}");
    let err = fails(&[
        "compare",
        s(&tmp.path().join("a")),
        s(&tmp.path().join("nope")),
    ]);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn data_stats_reports_rows_classes_and_json() {
    let dev = data_dir().join("sst2/dev.csv");
    let text = ok(&["data", "stats", s(&dev)]);
    assert!(text.contains("872"), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["data", "stats", s(&dev), "--json"])).unwrap();
    assert_eq!(j["splits"][0]["rows"], 872);
    assert_eq!(j["splits"][0]["classes"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_input_gives_clear_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // Missing file: the message names it.
    let err = fails(&[
        "baseline",
        "--train",
        "/no/such/train.csv",
        "--test",
        "/no/such/test.csv",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("/no/such/train.csv"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A label that appears only in test.
    let train = tmp.path().join("train.csv");
    let test = tmp.path().join("test.csv");
    std::fs::write(
        &train,
        "text,label\ngood film,pos\ngreat film,pos\nbad film,neg\nawful film,neg\n",
    )
    .unwrap();
    std::fs::write(&test, "text,label\nfine film,pos\nodd film,meh\n").unwrap();
    let err = fails(&[
        "baseline",
        "--train",
        s(&train),
        "--test",
        s(&test),
        "--C",
        "1",
        "--min-df",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("meh") && err.contains("test.csv"), "{err}");
    // Invalid settings.
    let err = fails(&[
        "baseline",
        "--data",
        s(&train),
        "--split",
        "80/20",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("--split"), "{err}");
    let err = fails(&[
        "baseline",
        "--train",
        s(&train),
        "--test",
        s(&train),
        "--C=-1",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("C = -1"), "{err}");
    let err = fails(&[
        "baseline",
        "--train",
        s(&train),
        "--test",
        s(&train),
        "--ngram",
        "3-1",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("n-gram"), "{err}");
    // Not a model folder.
    let err = fails(&["predict", "--model", s(tmp.path()), "--input", s(&test)]);
    assert!(err.contains("not a saved textclf model"), "{err}");
    // A model path that does not exist is named as a missing folder, by predict and eval.
    let missing = tmp.path().join("runs/lr/modle");
    let err = fails(&["predict", "--model", s(&missing), "--input", s(&test)]);
    assert!(
        err.contains("no model folder at") && err.contains("modle"),
        "{err}"
    );
    let err = fails(&[
        "eval",
        "--model",
        s(&missing),
        "--data",
        s(&test),
        "--out",
        s(&tmp.path().join("ev")),
    ]);
    assert!(err.contains("no model folder at"), "{err}");
}

#[test]
fn quiet_prints_nothing_and_help_lists_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    let ag = data_dir().join("ag_news/test.csv");
    let out = textclf(&[
        "baseline",
        "--data",
        s(&ag),
        "--per-class",
        "30",
        "--C",
        "1",
        "--out",
        s(&tmp.path().join("r")),
        "--quiet",
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let help = ok(&["--help"]);
    for sub in ["baseline", "data", "compare", "predict", "eval"] {
        assert!(help.contains(sub), "{help}");
    }
    assert!(ok(&["baseline", "--help"]).contains("--subset-frac"));
    // `train --help` says what --valid does for `train` (no refit on all of train, which
    // only `baseline` does) and that --test is required with --train.
    let train = ok(&["train", "--help"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(train.contains("`train` trains on the rest"), "{train}");
    assert!(train.contains("required with --train"), "{train}");
}

#[test]
fn train_predict_eval_and_resume_a_tiny_bert() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, va, te) = (
        tmp.path().join("train.csv"),
        tmp.path().join("valid.csv"),
        tmp.path().join("test.csv"),
    );
    toy_csv(&tr, 48, 0);
    toy_csv(&va, 12, 100);
    toy_csv(&te, 16, 200);
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    let out = tmp.path().join("run");
    let args = [
        "train",
        "--model",
        s(&model),
        "--train",
        s(&tr),
        "--valid",
        s(&va),
        "--test",
        s(&te),
        "--epochs",
        "8",
        "--batch-size",
        "8",
        "--max-len",
        "32",
        "--lr",
        "3e-3",
        "--out",
        s(&out),
        "--quiet",
    ];
    ok(&args);
    let m = json_file(&out.join("metrics.json"));
    for key in [
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion",
        "timing",
        "epochs",
        "best_epoch",
        "val_accuracy_at_min_val_loss",
    ] {
        assert!(m.get(key).is_some(), "metrics.json lacks {key}");
    }
    let epochs = m["epochs"].as_array().unwrap();
    assert!(!epochs.is_empty() && epochs.len() <= 8);
    // One epoch numbering, from 1, everywhere: records, best, best_epoch, epochs.csv.
    assert_eq!(m["format"], 2);
    assert_eq!(epochs[0]["epoch"], 1);
    assert_eq!(m["best"]["epoch"], m["best_epoch"]);
    let first_csv_epoch = std::fs::read_to_string(out.join("epochs.csv")).unwrap();
    assert!(first_csv_epoch.lines().nth(1).unwrap().starts_with("1,"));
    assert!(epochs[0].get("val_loss").is_some() && epochs[0].get("train_loss").is_some());
    assert!(
        m["accuracy"].as_f64().unwrap() > 0.7,
        "accuracy {}",
        m["accuracy"]
    );
    assert_eq!(
        m["model"]["fresh_parameters"],
        serde_json::json!(["classifier.weight", "classifier.bias"])
    );
    let csv_lines = std::fs::read_to_string(out.join("epochs.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(csv_lines, epochs.len() + 1);
    let cfg = json_file(&out.join("model/config.json"));
    assert_eq!(cfg["architectures"][0], "BertForSequenceClassification");
    assert_eq!(cfg["id2label"]["0"], "neg");
    assert!(out.join("model/tokenizer.json").is_file());

    // predict gives the labels of predictions.csv; eval reproduces the accuracy.
    let pred = tmp.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&out.join("model")),
        "--input",
        s(&te),
        "--output",
        s(&pred),
    ]);
    let got: Vec<String> = csv::Reader::from_path(&pred)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[1].to_string())
        .collect();
    let want: Vec<String> = csv::Reader::from_path(out.join("predictions.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[2].to_string())
        .collect();
    assert_eq!(got, want);
    let ev = tmp.path().join("eval");
    ok(&[
        "eval",
        "--model",
        s(&out.join("model")),
        "--data",
        s(&te),
        "--out",
        s(&ev),
        "--quiet",
    ]);
    assert!(
        (json_file(&ev.join("metrics.json"))["accuracy"]
            .as_f64()
            .unwrap()
            - m["accuracy"].as_f64().unwrap())
        .abs()
            < 1e-9
    );

    // A finished run keeps no checkpoint, and a second run onto its folder is refused.
    assert!(!out.join("checkpoint").exists());
    assert!(!tmp.path().join("run.partial").exists());
    let err = fails(&args);
    assert!(
        err.contains("already holds") && err.contains("--overwrite"),
        "{err}"
    );

    // Interrupted after 10 batches (as by Ctrl-C): nothing under the final name, the
    // checkpoint in run2.partial/ and a status that says so.
    let cut = tmp.path().join("run2");
    let partial = tmp.path().join("run2.partial");
    let mut cut_args = args.to_vec();
    let o = cut_args.iter().position(|a| *a == "--out").unwrap() + 1;
    cut_args[o] = s(&cut);
    let st = command(&cut_args)
        .env("TEXTCLF_TEST_INTERRUPT_AFTER_BATCHES", "10")
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(!cut.exists());
    assert!(partial.join("checkpoint/state.json").is_file());
    assert_eq!(
        json_file(&partial.join("status.json"))["outcome"],
        "interrupted"
    );
    // Starting it again without --resume is refused, with both ways on.
    let err = fails(&cut_args);
    assert!(
        err.contains("--resume") && err.contains("--overwrite"),
        "{err}"
    );
    // Resuming with other settings is refused with advice.
    let mut resume = cut_args.clone();
    resume.push("--resume");
    let mut other = resume.clone();
    let lr = other.iter().position(|a| *a == "--lr").unwrap() + 1;
    other[lr] = "5e-4";
    let err = fails(&other);
    assert!(err.contains("other settings"), "{err}");
    // Activation checkpointing changes memory, not results: it may be switched on when
    // resuming, and the resumed run ends as the uninterrupted one did.
    let mut ckpt = resume.clone();
    ckpt.push("--grad-checkpoint");
    ok(&ckpt);
    let m3 = json_file(&cut.join("metrics.json"));
    assert_eq!(epochs_without_timing(&m3), epochs_without_timing(&m));
    assert_eq!(m3["accuracy"], m["accuracy"]);
    assert_eq!(m3["model"]["grad_checkpoint"], true);
    assert!(!partial.exists() && !cut.join("status.json").exists());

    // Weight averaging: metrics.json says what the average validated at and whether it
    // was kept; the validation report is that of the weights kept.
    let avg_out = tmp.path().join("avg");
    let mut avg = args.to_vec();
    let o = avg.iter().position(|a| *a == "--out").unwrap() + 1;
    avg[o] = s(&avg_out);
    avg.extend([
        "--average-from",
        "0.5",
        "--eval-every",
        "2",
        "--patience",
        "0",
        "--no-save-model",
        "--keep-checkpoint",
    ]);
    ok(&avg);
    assert!(
        avg_out.join("checkpoint/state.json").is_file(),
        "--keep-checkpoint"
    );
    let ma = json_file(&avg_out.join("metrics.json"));
    let a = &ma["averaged"];
    assert!(a["count"].as_u64().unwrap() >= 3, "{a}");
    assert_eq!(ma["model"]["train_config"]["average_from"], 0.5);
    let kept = a["kept"].as_bool().unwrap();
    let want = if kept {
        &a["val_accuracy"]
    } else {
        &ma["best"]["val_accuracy"]
    };
    assert!(
        (ma["valid"]["accuracy"].as_f64().unwrap() - want.as_f64().unwrap()).abs() < 1e-9,
        "valid {} vs {want} (kept {kept})",
        ma["valid"]["accuracy"]
    );
}

#[test]
fn train_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let tr = tmp.path().join("train.csv");
    toy_csv(&tr, 20, 0);
    let out = tmp.path().join("run");
    let err = fails(&[
        "train",
        "--model",
        "./no/such/model",
        "--data",
        s(&tr),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("no/such/model"), "{err}");
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    // A bad setting is refused, and the message names it.
    for (flag, value, want) in [
        ("--max-len", "1000", "--max-len 1000"),
        ("--lr", "0", "learning rate"),
        ("--average-from", "1.5", "--average-from"),
    ] {
        let err = fails(&[
            "train",
            "--model",
            s(&model),
            "--data",
            s(&tr),
            flag,
            value,
            "--out",
            s(&out),
        ]);
        assert!(err.contains(want), "{flag} {value}: {err}");
    }
    // A folder with only pickle weights is refused with a conversion hint.
    let pk = tmp.path().join("pickle");
    std::fs::create_dir_all(&pk).unwrap();
    std::fs::copy(model.join("config.json"), pk.join("config.json")).unwrap();
    std::fs::write(pk.join("pytorch_model.bin"), b"not really").unwrap();
    let err = fails(&[
        "train",
        "--model",
        s(&pk),
        "--data",
        s(&tr),
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains("pickle") && err.contains("safe_serialization"),
        "{err}"
    );
}
