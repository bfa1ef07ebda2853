//! Nothing silent: bad input gets a clear error (never a panic), and data that would
//! mislead gets a warning with counts.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn no_panic(args: &[&str]) -> String {
    let out = textclf(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked"),
        "textclf {args:?} panicked:\n{err}"
    );
    assert!(!out.status.success(), "textclf {args:?} should fail");
    err
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

#[test]
fn zero_counts_are_refused_by_name_not_by_a_panic() {
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    for (cmd, flag) in [
        ("infer", "--steps"),
        ("train-step", "--batch"),
        ("train-step", "--len"),
    ] {
        let err = no_panic(&["bench", cmd, "--model", s(&model), flag, "0"]);
        assert!(err.contains(flag) && err.contains("at least 1"), "{err}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d.csv");
    toy_csv(&data, 40, 0);
    for flag in [
        "--eval-every",
        "--checkpoint-every",
        "--batch-size",
        "--epochs",
    ] {
        let err = no_panic(&[
            "train",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--out",
            s(&tmp.path().join("o")),
            flag,
            "0",
        ]);
        assert!(
            err.contains(flag) && err.contains("at least 1"),
            "{flag}: {err}"
        );
    }
}

#[test]
fn data_that_cannot_give_a_meaningful_run_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let one = tmp.path().join("one.csv");
    let mut text = String::from("text,label\n");
    for i in 0..30 {
        text.push_str(&format!("review {i},pos\n"));
    }
    write(&one, &text);
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    for cmd in [
        vec!["baseline", "--data", s(&one), "--out", s(&out)],
        vec![
            "train",
            "--model",
            s(&model),
            "--data",
            s(&one),
            "--out",
            s(&out),
        ],
    ] {
        let err = no_panic(&cmd);
        assert!(err.contains("single class ('pos')"), "{err}");
    }
    let empty = tmp.path().join("empty.csv");
    let mut text = String::from("text,label\n");
    for i in 0..30 {
        text.push_str(&format!("\"\",{}\n", ["a", "b"][i % 2]));
    }
    write(&empty, &text);
    let err = no_panic(&["baseline", "--data", s(&empty), "--out", s(&out)]);
    assert!(
        err.contains("every text") && err.contains("--text-col"),
        "{err}"
    );

    let data = tmp.path().join("d.csv");
    toy_csv(&data, 40, 0);
    let err = no_panic(&[
        "baseline",
        "--data",
        s(&data),
        "--split",
        "99/0.9/0.1",
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains("test split") && err.contains("no rows"),
        "{err}"
    );
    let err = no_panic(&[
        "baseline",
        "--data",
        s(&data),
        "--split",
        "90/20/10",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("adds up to 120"), "{err}");
    assert!(!out.exists() && !tmp.path().join("o.partial").exists());
}

#[test]
fn data_that_would_mislead_is_warned_about_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = (tmp.path().join("tr.csv"), tmp.path().join("te.csv"));
    let mut text = String::from("text,label\n");
    for i in 0..40 {
        let l = ["0", "1", "pos"][i % 3];
        text.push_str(&format!("text number {i},{l}\n"));
    }
    write(&tr, &text);
    // Half of the test texts are training texts.
    let mut text = String::from("text,label\n");
    for i in 0..10 {
        let t = if i < 5 {
            format!("text number {i}")
        } else {
            format!("other {i}")
        };
        text.push_str(&format!("{t},{}\n", ["0", "1", "pos"][i % 3]));
    }
    write(&te, &text);
    // `baseline` on these files into `out`, with `extra` flags; its messages.
    let baseline = |out: &str, extra: &[&str]| {
        let o = textclf(
            &[
                &["baseline", "--train", s(&tr), "--test", s(&te)][..],
                extra,
                &["--out", s(&tmp.path().join(out))],
            ]
            .concat(),
        );
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{err}");
        err
    };
    let err = baseline("o", &["--C", "1"]);
    assert!(
        err.contains("warning: labels mix numbers and words (3 classes"),
        "{err}"
    );
    assert!(
        err.contains("5 of 10 texts in") && err.contains("also occur in the training data"),
        "{err}"
    );
    // Without --valid and --C, C is chosen on a share of these 40 rows: a handful, flagged.
    let err = baseline("o2", &[]);
    assert!(
        err.contains("the share of train held out to choose C")
            && err.contains("too wide to choose settings by"),
        "{err}"
    );
}

#[test]
fn messages_say_what_is_wrong_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    // A mistyped local model folder is a missing folder, not a Hub lookup.
    let models = tmp.path().join("models");
    fs::create_dir_all(models.join("all-MiniLM-L6-v2")).unwrap();
    let data = tmp.path().join("d.csv");
    toy_csv(&data, 40, 0);
    let err = no_panic(&[
        "train",
        "--model",
        s(&models.join("all-MiniLM-L6-v3")),
        "--data",
        s(&data),
        "--out",
        s(&tmp.path().join("o")),
    ]);
    assert!(
        err.contains("no model folder at") && err.contains("did you mean"),
        "{err}"
    );
    assert!(
        !err.contains("pickle") && !err.to_lowercase().contains("dns"),
        "{err}"
    );

    // A cut-off gzip file: one clear sentence, not the decoder's words twice.
    let gz = tmp.path().join("d.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, fs::read(&data).unwrap().repeat(50).as_slice()).unwrap();
    let bytes = enc.finish().unwrap();
    write_bytes(&gz, &bytes[..bytes.len() / 2]);
    let err = no_panic(&[
        "baseline",
        "--data",
        s(&gz),
        "--out",
        s(&tmp.path().join("o")),
    ]);
    assert!(
        err.contains("cut off or damaged") && err.contains("fetch it again"),
        "{err}"
    );
    assert!(!err.contains("stream: incomplete deflate stream"), "{err}");

    // A huge header line is not echoed whole.
    let wide = tmp.path().join("wide.csv");
    write(&wide, &format!("{}\nx\n", "h".repeat(200_000)));
    let err = no_panic(&[
        "baseline",
        "--data",
        s(&wide),
        "--out",
        s(&tmp.path().join("o")),
    ]);
    assert!(err.len() < 2_000, "{} bytes of error", err.len());
}

fn write_bytes(path: &Path, b: &[u8]) {
    fs::write(path, b).unwrap();
}

#[test]
fn json_goes_to_stdout_on_predict_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tr, te, run) = toy_baseline_run(tmp.path());
    let out = ok(&[
        "predict",
        "--model",
        s(&run.join("model")),
        "--input",
        s(&te),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("predict --json prints JSON");
    assert_eq!(v["predictions"].as_array().unwrap().len(), 10);
    assert!(v["predictions"][0]["probabilities"]["pos"].is_number());
    let out = ok(&["report", s(&run), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("report --json prints JSON");
    assert_eq!(v["runs"], 1);
    assert!(v["html"].as_str().unwrap().ends_with("report.html"));
}

/// `--json` prints one JSON document on stdout, and nothing else there, for the
/// commands that make runs (`train`, `baseline`, `eval`, `ensemble`) and for `advise`.
#[test]
fn json_goes_to_stdout_on_train_baseline_eval_ensemble_and_advise() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te, base) = toy_baseline_run(tmp.path());
    let runs = tmp.path().join("runs");
    let parse = |out: String| -> serde_json::Value {
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out}"))
    };
    let v = parse(tiny_fine_tune(
        &tr,
        &te,
        "24",
        &runs.join("bert"),
        &["--json"],
    ));
    assert_eq!(v["command"], "train", "{v}");
    assert_eq!(v["n"], 10, "{v}");
    assert!(v["accuracy"].is_number() && v["epochs"].is_array(), "{v}");
    let v = parse(ok(&[
        "baseline",
        "--train",
        s(&tr),
        "--test",
        s(&te),
        "--C",
        "1",
        "--bootstrap",
        "10",
        "--json",
        "--out",
        s(&runs.join("lr")),
    ]));
    assert_eq!(v["command"], "baseline", "{v}");
    assert!(v["accuracy"].is_number(), "{v}");
    let v = parse(ok(&[
        "eval",
        "--model",
        s(&base.join("model")),
        "--data",
        s(&te),
        "--bootstrap",
        "10",
        "--json",
        "--out",
        s(&tmp.path().join("ev")),
    ]));
    assert_eq!(v["command"], "eval", "{v}");
    assert_eq!(v["n"], 10, "{v}");
    let v = parse(ok(&[
        "ensemble",
        s(&runs.join("bert")),
        s(&runs.join("lr")),
        "--bootstrap",
        "10",
        "--json",
        "--out",
        s(&tmp.path().join("ens")),
    ]));
    assert_eq!(v["command"], "ensemble", "{v}");
    assert_eq!(v["n"], 10, "{v}");
    let v = parse(ok(&["advise", s(&runs), "--json"]));
    assert_eq!(v["looked_at"]["runs"], 2, "{v}");
    assert!(
        v["recommendations"].is_array() && v["findings"].is_array(),
        "{v}"
    );
    assert!(runs.join("advice.md").is_file());
}

#[test]
fn a_baseline_without_valid_records_its_holdout_score_so_reports_can_rank_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = (tmp.path().join("tr.csv"), tmp.path().join("te.csv"));
    toy_csv(&tr, 200, 0);
    toy_csv(&te, 20, 300);
    let runs = tmp.path().join("runs");
    for model in ["lr", "nbsvm"] {
        ok(&[
            "baseline",
            "--train",
            s(&tr),
            "--test",
            s(&te),
            "--model",
            model,
            "--quiet",
            "--bootstrap",
            "10",
            "--out",
            s(&runs.join(model)),
        ]);
        let m = json_file(&runs.join(model).join("metrics.json"));
        let acc = m["valid"]["accuracy"]
            .as_f64()
            .expect("a validation accuracy");
        assert!((0.0..=1.0).contains(&acc));
        assert_eq!(m["valid"]["split"], "holdout");
        assert_eq!(m["data"]["valid"]["rows"], m["valid"]["n"]);
        assert!(m["data"]["valid"]["rows"].as_u64().unwrap() >= 10);
    }
    let out = ok(&["report", s(&runs), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["best"].is_string(), "the runs are ranked: {v}");
}

/// `--valid-frac` sets the share of train held out when there is no `--valid`, for a
/// baseline as for a sweep's `[data] valid_frac`; a share that leaves nothing to train on,
/// or too little for a baseline's refit, is refused by name before any work.
#[test]
fn valid_frac_sets_the_holdout_and_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = (tmp.path().join("tr.csv"), tmp.path().join("te.csv"));
    toy_csv(&tr, 200, 0);
    toy_csv(&te, 20, 300);
    let run = |frac: &str, out: &str| {
        let out = tmp.path().join(out);
        let args = [
            "baseline",
            "--train",
            s(&tr),
            "--test",
            s(&te),
            "--valid-frac",
            frac,
            "--quiet",
            "--bootstrap",
            "10",
            "--out",
            s(&out),
        ];
        textclf(&args)
    };
    let holdout_rows = |out: &str| {
        let m = json_file(&tmp.path().join(out).join("metrics.json"));
        m["valid"]["n"].as_u64().expect("holdout rows")
    };
    assert!(run("0.1", "a").status.success());
    assert!(run("0.3", "b").status.success());
    let (a, b) = (holdout_rows("a"), holdout_rows("b"));
    assert!((18..=22).contains(&a) && (58..=62).contains(&b), "{a} {b}");
    let m = json_file(&tmp.path().join("b").join("metrics.json"));
    assert_eq!(m["model"]["params"]["holdout_frac"], 0.3);
    for (frac, says) in [
        ("1.5", "--valid-frac 1.5 must be above 0 and below 1"),
        ("0.6", "--valid-frac) must be above 0 and below 0.5"),
    ] {
        let out = run(frac, "bad");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{frac}: {err}");
        assert!(!tmp.path().join("bad").exists());
    }
}

/// Every subcommand on hostile inputs: missing paths, folders for files, empty and binary
/// files, absurd numbers. Whatever the outcome, nothing may panic.
#[test]
fn no_subcommand_panics_on_hostile_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n);
    fs::write(t("empty.csv"), "").unwrap();
    fs::write(
        t("binary.csv"),
        [0u8, 0xff, 0xfe, 0x00, b'\n', 0x1f, 0x8b, 9, 9],
    )
    .unwrap();
    fs::write(t("header.csv"), "text,label\n").unwrap();
    fs::write(t("bad.toml"), "[data\npool = 3").unwrap();
    fs::create_dir_all(t("dir.csv")).unwrap();
    fs::create_dir_all(t("emptydir")).unwrap();
    let good = t("good.csv");
    toy_csv(&good, 40, 0);
    let tiny = shared_dir().join("fixtures/parity/bert-tiny");
    let files = [
        "empty.csv",
        "binary.csv",
        "header.csv",
        "dir.csv",
        "missing.csv",
        "emptydir",
    ];
    let mut cases: Vec<Vec<String>> = Vec::new();
    let sv = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for f in files {
        let p = t(f);
        let p = s(&p);
        let o = t("out");
        let o = s(&o);
        cases.push(sv(&["baseline", "--data", p, "--out", o]));
        cases.push(sv(&["baseline", "--train", p, "--test", p, "--out", o]));
        cases.push(sv(&["train", "--model", s(&tiny), "--data", p, "--out", o]));
        cases.push(sv(&["train", "--model", p, "--data", s(&good), "--out", o]));
        cases.push(sv(&["data", "stats", p]));
        cases.push(sv(&["predict", "--model", p, "--input", s(&good)]));
        cases.push(sv(&["eval", "--model", p, "--data", s(&good), "--out", o]));
        cases.push(sv(&["compare", p, p]));
        cases.push(sv(&["report", p]));
        cases.push(sv(&["advise", p]));
        cases.push(sv(&["ensemble", p, p, "--out", o]));
        cases.push(sv(&["sweep", p, "--out", o]));
        cases.push(sv(&["bench", "infer", "--model", p, "--steps", "1"]));
    }
    for n in ["-1", "1e400", "NaN", "99999999999999999999999", ""] {
        let o = t("out");
        let o = s(&o);
        cases.push(sv(&["baseline", "--data", s(&good), "--C", n, "--out", o]));
        cases.push(sv(&[
            "baseline",
            "--data",
            s(&good),
            "--subset-frac",
            n,
            "--out",
            o,
        ]));
        cases.push(sv(&[
            "baseline",
            "--data",
            s(&good),
            "--split",
            n,
            "--out",
            o,
        ]));
        cases.push(sv(&[
            "train",
            "--model",
            s(&tiny),
            "--data",
            s(&good),
            "--lr",
            n,
            "--out",
            o,
        ]));
        cases.push(sv(&[
            "train",
            "--model",
            s(&tiny),
            "--data",
            s(&good),
            "--max-len",
            n,
            "--out",
            o,
        ]));
    }
    cases.push(sv(&["sweep", s(&t("bad.toml")), "--out", s(&t("sw"))]));
    for c in &cases {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let out = textclf(&args);
        let text = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("panicked"),
            "textclf {args:?} panicked:\n{text}"
        );
        assert!(
            out.status.code().is_some(),
            "textclf {args:?} died by a signal:\n{text}"
        );
    }
    assert!(cases.len() > 80);
}
