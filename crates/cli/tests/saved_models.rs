//! Saved models are checked when they are loaded: damaged or mismatched files are refused
//! with words that say what is wrong, and a saved folder is readable by others when the
//! umask allows it.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// Overwrites the first value of tensor `name` in a safetensors file with NaN.
fn poison(path: &Path, name: &str) {
    let mut bytes = fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let start = header[name]["data_offsets"][0].as_u64().unwrap() as usize + 8 + n;
    bytes[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    fs::write(path, bytes).unwrap();
}

fn replace(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Copies a saved model folder without its manifest (as a folder saved before manifests,
/// or by another tool), so the checks behind the manifest are reached.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "manifest.json" {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Copies a folder whole, manifest included.
fn copy_all(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn predict_err(model: &Path, input: &Path) -> String {
    let out = textclf(&["predict", "--model", s(model), "--input", s(input)]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "predict should refuse {}",
        model.display()
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn a_damaged_linear_model_is_refused_not_used() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tr, te, run) = toy_baseline_run(tmp.path());
    let good = run.join("model");

    // With its manifest, any change after saving is caught first, and named.
    let flipped = tmp.path().join("flipped");
    copy_all(&good, &flipped);
    poison(&flipped.join("model.safetensors"), "weight");
    let err = predict_err(&flipped, &te);
    assert!(
        err.contains("model.safetensors does not match the manifest")
            && err.contains("same size, different content"),
        "{err}"
    );

    let nan = tmp.path().join("nan");
    copy_dir(&good, &nan);
    poison(&nan.join("model.safetensors"), "weight");
    let err = predict_err(&nan, &te);
    assert!(
        err.contains("not finite") && err.contains("weight"),
        "{err}"
    );

    // One class, or a calibration that does not fit the model (found by fuzzing: both
    // used to panic when predicting).
    let one = tmp.path().join("one");
    copy_dir(&good, &one);
    let mut mj = json_file(&one.join("model.json"));
    mj["labels"] = serde_json::json!(["pos"]);
    fs::write(one.join("model.json"), mj.to_string()).unwrap();
    let err = predict_err(&one, &te);
    assert!(err.contains("1 class(es)"), "{err}");
    let cal = tmp.path().join("cal");
    copy_dir(&good, &cal);
    let mut mj = json_file(&cal.join("model.json"));
    mj["calibration"] = serde_json::json!({"type": "temperature", "temperature": -1.0});
    fs::write(cal.join("model.json"), mj.to_string()).unwrap();
    let err = predict_err(&cal, &te);
    assert!(err.contains("calibration does not fit"), "{err}");

    let ngram = tmp.path().join("ngram");
    copy_dir(&good, &ngram);
    replace(
        &ngram.join("model.json"),
        "\"ngram\": [\n          1,\n          2\n        ]",
        "\"ngram\": [3, 1]",
    );
    let err = predict_err(&ngram, &te);
    assert!(
        err.contains("model.json holds settings no fit could have made"),
        "{err}"
    );
}

#[test]
fn a_saved_transformer_is_checked_when_loaded_and_records_its_length() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te) = (tmp.path().join("tr.csv"), tmp.path().join("te.csv"));
    toy_csv(&tr, 48, 0);
    toy_csv(&te, 10, 100);
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    let run = tmp.path().join("run");
    ok(&[
        "train",
        "--model",
        s(&model),
        "--train",
        s(&tr),
        "--test",
        s(&te),
        "--epochs",
        "1",
        "--max-len",
        "24",
        "--bootstrap",
        "10",
        "--out",
        s(&run),
        "--quiet",
    ]);
    let good = run.join("model");
    // The trained length goes into the tokenizer's config, for transformers' pipelines.
    let tc = json_file(&good.join("tokenizer_config.json"));
    assert_eq!(tc["model_max_length"], 24);
    // Every saved file has the mode a new file gets here (not 0600, not read-only).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let probe = tmp.path().join("probe");
        let want = fs::File::create(&probe)
            .unwrap()
            .metadata()
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        for e in fs::read_dir(&good).unwrap() {
            let p = e.unwrap().path();
            let m = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, want, "{} has mode {m:o}", p.display());
        }
    }

    // Cut off: said in words.
    let cut = tmp.path().join("cut");
    copy_dir(&good, &cut);
    let st = cut.join("model.safetensors");
    let bytes = fs::read(&st).unwrap();
    fs::write(&st, &bytes[..bytes.len() - 1000]).unwrap();
    let err = predict_err(&cut, &te);
    assert!(
        err.contains("is damaged") && err.contains("cut off"),
        "{err}"
    );

    // A config whose id2label does not match the head's rows.
    let three = tmp.path().join("three");
    copy_dir(&good, &three);
    replace(
        &three.join("config.json"),
        "\"1\": \"pos\"",
        "\"1\": \"pos\",\n    \"2\": \"meh\"",
    );
    replace(
        &three.join("config.json"),
        "\"pos\": 1",
        "\"pos\": 1,\n    \"meh\": 2",
    );
    let err = predict_err(&three, &te);
    assert!(
        err.contains("id2label has 3 labels") && err.contains("do not belong together"),
        "{err}"
    );

    // No textclf.json: the trained length is recovered from the tokenizer's config, aloud.
    let bare = tmp.path().join("bare");
    copy_dir(&good, &bare);
    fs::remove_file(bare.join("textclf.json")).unwrap();
    let out = textclf(&["predict", "--model", s(&bare), "--input", s(&te)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("no textclf.json") && err.contains("max-len"),
        "{err}"
    );
    let with = ok(&["predict", "--model", s(&good), "--input", s(&te)]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        with,
        "same predictions"
    );
}

#[test]
fn another_runs_weights_in_a_checkpoint_are_refused_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, va, te) = (
        tmp.path().join("tr.csv"),
        tmp.path().join("va.csv"),
        tmp.path().join("te.csv"),
    );
    toy_csv(&tr, 48, 0);
    toy_csv(&va, 12, 100);
    toy_csv(&te, 10, 200);
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    let args = |out: &Path, lr: &str| -> Vec<String> {
        [
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
            "3",
            "--batch-size",
            "8",
            "--max-len",
            "24",
            "--lr",
            lr,
            "--bootstrap",
            "10",
            "--quiet",
            "--out",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let interrupted = |out: &Path, lr: &str| {
        let a = args(out, lr);
        let st = command(&a.iter().map(String::as_str).collect::<Vec<_>>())
            .env("TEXTCLF_TEST_INTERRUPT_AFTER_BATCHES", "8")
            .output()
            .unwrap();
        assert_eq!(st.status.code(), Some(130));
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    interrupted(&a, "3e-3");
    interrupted(&b, "1e-3");
    let ck = |d: &Path| {
        d.with_file_name(format!(
            "{}.partial",
            d.file_name().unwrap().to_str().unwrap()
        ))
        .join("checkpoint")
    };
    assert!(ck(&a).join("manifest.json").is_file());
    fs::copy(
        ck(&b).join("model.safetensors"),
        ck(&a).join("model.safetensors"),
    )
    .unwrap();
    let mut resume = args(&a, "3e-3");
    resume.push("--resume".into());
    let out = textclf(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("model.safetensors does not match the manifest the checkpoint was saved with"),
        "{err}"
    );
    // Another run's whole checkpoint, manifest included, passes the manifest but not the
    // fingerprint: it was made with other settings, and the resume says so.
    fs::remove_dir_all(ck(&a)).unwrap();
    fs::create_dir_all(ck(&a)).unwrap();
    for e in fs::read_dir(ck(&b)).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), ck(&a).join(e.file_name())).unwrap();
    }
    let out = textclf(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("was made with other settings or data") && err.contains("--resume"),
        "{err}"
    );
    // The untouched run resumes.
    let mut resume_b = args(&b, "1e-3");
    resume_b.push("--resume".into());
    ok(&resume_b.iter().map(String::as_str).collect::<Vec<_>>());
}
