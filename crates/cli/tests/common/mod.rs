//! Helpers shared by the end-to-end test files: run the `textclf` binary, find the shared
//! data (`../shared/data` beside the repository, or `$TEXTCLF_DATA_DIR`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn data_dir() -> PathBuf {
    match std::env::var_os("TEXTCLF_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

pub fn shared_dir() -> PathBuf {
    data_dir().join("..")
}

/// The binary under test: this build's, or `$TEXTCLF_TEST_BIN` to run the tests against
/// another build (`bench/tests_on_build.sh` runs the run-folder tests on an older textclf).
pub fn binary() -> PathBuf {
    std::env::var_os("TEXTCLF_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_textclf")))
}

pub fn textclf(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("the textclf binary runs")
}

pub fn ok(args: &[&str]) -> String {
    let out = textclf(args);
    assert!(
        out.status.success(),
        "textclf {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn fails(args: &[&str]) -> String {
    let out = textclf(args);
    assert!(!out.status.success(), "textclf {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small two-class CSV with a learnable signal.
pub fn toy_csv(path: &Path, n: usize, offset: usize) {
    let pos = [
        "a wonderful film",
        "great acting and a great story",
        "loved it, superb",
        "brilliant and moving",
    ];
    let neg = [
        "a terrible film",
        "awful acting and a dull story",
        "hated it, boring",
        "dreadful and tedious",
    ];
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["text", "label"]).unwrap();
    for i in offset..offset + n {
        let (t, l) = if i % 2 == 0 {
            (pos[i / 2 % 4], "pos")
        } else {
            (neg[i / 2 % 4], "neg")
        };
        w.write_record([
            format!("{t} {}", ["", "indeed", "really"][i / 8 % 3]).as_str(),
            l,
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// The `textclf` binary as a command, to add environment variables or spawn it.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(binary());
    c.args(args);
    c
}

/// Per-validation records of a run without their timings (which differ between runs).
pub fn epochs_without_timing(metrics: &serde_json::Value) -> Vec<serde_json::Value> {
    metrics["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let m = e.as_object_mut().unwrap();
            for k in ["train_seconds", "samples_per_s", "tokens_per_s"] {
                m.remove(k);
            }
            e
        })
        .collect()
}

/// Waits until `p` exists (up to 120 s).
pub fn wait_for(p: &Path) {
    let t = std::time::Instant::now();
    while !p.exists() {
        assert!(
            t.elapsed().as_secs() < 120,
            "{} did not appear",
            p.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The pid recorded in a run folder's lock file.
pub fn lock_pid(dir: &Path) -> i32 {
    let p = dir.join(".textclf.lock");
    let t = std::time::Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&p) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                return v["pid"].as_i64().unwrap() as i32;
            }
        }
        assert!(t.elapsed().as_secs() < 120, "no lock in {}", dir.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Sends `sig` to `pid` with kill(1).
pub fn kill(pid: i32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

/// Whether `pid` is gone (or a zombie waiting to be reaped).
pub fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// A toy train (60 rows) and test (10 rows) file in `dir`, and a logistic-regression
/// baseline run on them in `dir/run`: (train, test, run).
pub fn toy_baseline_run(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (tr, te) = (dir.join("tr.csv"), dir.join("te.csv"));
    toy_csv(&tr, 60, 0);
    toy_csv(&te, 10, 100);
    let run = dir.join("run");
    ok(&[
        "baseline",
        "--train",
        s(&tr),
        "--test",
        s(&te),
        "--C",
        "1",
        "--out",
        s(&run),
        "--quiet",
    ]);
    (tr, te, run)
}

/// A one-epoch fine-tune of the tiny BERT fixture on `train`, scored on `test`, at
/// `max_len` tokens (batch 8, 10 bootstrap resamples), into `out`, with `more` flags:
/// runs it and returns its stdout.
pub fn tiny_fine_tune(
    train: &Path,
    test: &Path,
    max_len: &str,
    out: &Path,
    more: &[&str],
) -> String {
    let tiny = shared_dir().join("fixtures/parity/bert-tiny");
    let mut args = vec![
        "train",
        "--model",
        s(&tiny),
        "--train",
        s(train),
        "--test",
        s(test),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--max-len",
        max_len,
        "--bootstrap",
        "10",
        "--out",
        s(out),
    ];
    args.extend_from_slice(more);
    ok(&args)
}

/// Every `step`-th row of `src` (a CSV with a header), at most `n` rows, into `dst`: the
/// shared files are grouped by label, so a stride keeps most labels. With `known`, rows
/// carrying a label (of the `|`-joined `labels` column) outside it are skipped. Returns
/// the labels of the rows written.
pub fn sample(
    src: &Path,
    dst: &Path,
    n: usize,
    offset: usize,
    known: Option<&std::collections::BTreeSet<String>>,
) -> std::collections::BTreeSet<String> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(src)
        .unwrap();
    let headers = r.headers().unwrap().clone();
    let label_col = headers.iter().position(|h| h == "labels");
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let step = (rows.len() / n).max(1);
    let mut w = csv::Writer::from_path(dst).unwrap();
    w.write_record(&headers).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut written = 0;
    for rec in rows.iter().skip(offset % step).step_by(step) {
        let names: Vec<String> = label_col
            .map(|c| rec[c].split('|').map(str::to_string).collect())
            .unwrap_or_default();
        if known.is_some_and(|k| names.iter().any(|l| !k.contains(l))) {
            continue;
        }
        seen.extend(names);
        w.write_record(rec).unwrap();
        written += 1;
        if written == n {
            break;
        }
    }
    w.flush().unwrap();
    seen
}

/// Train and test samples of a shared data set: (train, test). Test rows only carry
/// labels the training sample has.
pub fn samples(dir: &Path, set: &str, n_train: usize, n_test: usize) -> (PathBuf, PathBuf) {
    let src = data_dir().join(set);
    std::fs::create_dir_all(dir).unwrap();
    let (tr, te) = (dir.join("train.csv"), dir.join("test.csv"));
    let known = sample(&src.join("train.csv"), &tr, n_train, 0, None);
    sample(
        &src.join("dev.csv"),
        &te,
        n_test,
        1,
        Some(&known).filter(|k| !k.is_empty()),
    );
    (tr, te)
}
