//! Run folders and sweeps that nothing can corrupt: each case here lost data or gave a wrong
//! result before run folders were built aside (`<out>.partial/`) and locked, and before
//! sweeps read their children's typed status.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Train/valid/test toy files in `dir`.
fn toy_splits(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (tr, va, te) = (
        dir.join("train.csv"),
        dir.join("valid.csv"),
        dir.join("test.csv"),
    );
    toy_csv(&tr, 48, 0);
    toy_csv(&va, 12, 100);
    toy_csv(&te, 16, 200);
    (tr, va, te)
}

fn baseline(tr: &Path, te: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "baseline",
        "--train",
        s(tr),
        "--test",
        s(te),
        "--model",
        "lr",
        "--C",
        "4",
        "--bootstrap",
        "50",
        "--quiet",
        "--out",
        s(out),
    ]
    .map(String::from)
    .to_vec();
    a.extend(extra.iter().map(|x| x.to_string()));
    a
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A folder shaped like a finished fine-tuning run (what `train` leaves with
/// --keep-checkpoint), to be replaced.
fn fake_train_run(dir: &Path) {
    fs::create_dir_all(dir.join("model")).unwrap();
    fs::create_dir_all(dir.join("checkpoint")).unwrap();
    fs::write(dir.join("metrics.json"), "{\"command\": \"train\"}").unwrap();
    fs::write(dir.join("model/config.json"), "{}").unwrap();
    fs::write(dir.join("checkpoint/optimizer.safetensors"), "x").unwrap();
    fs::write(dir.join("valid_predictions.csv"), "id\n").unwrap();
    fs::write(dir.join("epochs.csv"), "epoch\n").unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn an_out_holding_a_run_is_refused_and_overwrite_replaces_it_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, _, te) = toy_splits(tmp.path());
    let out = tmp.path().join("run");
    fake_train_run(&out);
    let before = fs::read(out.join("metrics.json")).unwrap();
    let err = fails(&strs(&baseline(&tr, &te, &out, &[])));
    assert!(
        err.contains("already holds a finished `textclf train` run") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(fs::read(out.join("metrics.json")).unwrap(), before);

    ok(&strs(&baseline(&tr, &te, &out, &["--overwrite"])));
    // Nothing of the fine-tuned run survives: no HF config for transformers to load with
    // random weights, no checkpoint, no stale validation predictions.
    assert_eq!(
        names(&out),
        ["metrics.json", "model", "predictions.csv"],
        "{:?}",
        names(&out)
    );
    assert!(out.join("model/model.json").is_file() && !out.join("model/config.json").exists());
    assert_eq!(json_file(&out.join("metrics.json"))["command"], "baseline");
    ok(&[
        "predict",
        "--model",
        s(&out.join("model")),
        "--input",
        s(&te),
    ]);
    assert_eq!(
        names(tmp.path())
            .iter()
            .filter(|n| n.contains("run"))
            .count(),
        1
    );

    // --overwrite never deletes what is not a run, and `.partial` names are refused.
    let mine = tmp.path().join("mine");
    fs::create_dir_all(&mine).unwrap();
    fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let err = fails(&strs(&baseline(&tr, &te, &mine, &["--overwrite"])));
    assert!(
        err.contains("not a textclf run") && err.contains("notes.txt"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep me"
    );
    let err = fails(&strs(&baseline(
        &tr,
        &te,
        &tmp.path().join("x.partial"),
        &[],
    )));
    assert!(err.contains(".partial"), "{err}");
}

#[test]
fn eval_never_writes_into_a_run_it_did_not_create() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, va, te) = toy_splits(tmp.path());
    let run = tmp.path().join("run");
    ok(&strs(&baseline(&tr, &te, &run, &[])));
    let before = fs::read(run.join("metrics.json")).unwrap();
    let model = run.join("model");
    let eval = |out: &Path, extra: &[&str]| {
        let mut a = vec![
            "eval",
            "--model",
            s(&model),
            "--data",
            s(&va),
            "--bootstrap",
            "20",
            "--quiet",
            "--out",
            s(out),
        ];
        a.extend_from_slice(extra);
        textclf(&a)
    };
    for extra in [&[][..], &["--overwrite"][..]] {
        let o = eval(&run, extra);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("never writes into a run it did not create"),
            "{err}"
        );
    }
    assert_eq!(fs::read(run.join("metrics.json")).unwrap(), before);
    let ev = tmp.path().join("run-eval");
    assert!(eval(&ev, &[]).status.success());
    assert!(
        !eval(&ev, &[]).status.success(),
        "an eval run is not replaced silently"
    );
    assert!(eval(&ev, &["--overwrite"]).status.success());

    // `ensemble` neither: not into one of its members, nor into another command's run.
    let second = tmp.path().join("second");
    ok(&strs(&baseline(&tr, &te, &second, &["--ngram", "1-2"])));
    let second_before = fs::read(second.join("metrics.json")).unwrap();
    let ensemble = |out: &Path, extra: &[&str]| {
        let mut a = vec![
            "ensemble",
            s(&run),
            s(&second),
            "--quiet",
            "--bootstrap",
            "20",
            "--out",
            s(out),
        ];
        a.extend_from_slice(extra);
        textclf(&a)
    };
    for (out, extra) in [
        (&run, &[][..]),
        (&second, &["--overwrite"][..]),
        (&ev, &[][..]),
    ] {
        let o = ensemble(out, extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{}", out.display());
        assert!(
            err.contains("never writes into a run it did not create"),
            "{err}"
        );
    }
    assert_eq!(fs::read(run.join("metrics.json")).unwrap(), before);
    assert_eq!(
        fs::read(second.join("metrics.json")).unwrap(),
        second_before
    );
    let ens = tmp.path().join("ens");
    let ensemble = |extra: &[&str]| ensemble(&ens, extra).status.success();
    assert!(ensemble(&[]));
    assert!(!ensemble(&[]), "an ensemble run is not replaced silently");
    assert!(ensemble(&["--overwrite"]));
}

#[test]
fn predict_never_overwrites_its_input_and_a_killed_predict_leaves_the_old_output_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, _, te) = toy_splits(tmp.path());
    let run = tmp.path().join("run");
    ok(&strs(&baseline(&tr, &te, &run, &[])));
    let model = run.join("model");
    let input = tmp.path().join("texts.csv");
    toy_csv(&input, 40, 0);
    let text = fs::read(&input).unwrap();
    let same = tmp.path().join(".").join("texts.csv");
    let err = fails(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&input),
        "--output",
        s(&same),
    ]);
    assert!(err.contains("is the --input file"), "{err}");
    assert_eq!(fs::read(&input).unwrap(), text);

    // Kill predict at many points while it writes a large output over a complete one: the
    // file is always either the old output or the whole new one.
    let big = tmp.path().join("big.csv");
    toy_csv(&big, 150_000, 0);
    let out = tmp.path().join("pred.csv");
    ok(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&te),
        "--output",
        s(&out),
    ]);
    let old = fs::read(&out).unwrap();
    let args = [
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&big),
        "--output",
        s(&out),
        "--quiet",
    ];
    // How long a whole run takes, to spread the kills over it.
    let t = Instant::now();
    ok(&args);
    let whole = t.elapsed();
    let new = fs::read(&out).unwrap();
    assert_eq!(new.iter().filter(|&&b| b == b'\n').count(), 150_001);
    for k in 1..=8 {
        fs::write(&out, &old).unwrap();
        let mut child = command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * k / 9);
        let _ = child.kill();
        let _ = child.wait();
        let got = fs::read(&out).unwrap();
        assert!(
            got == old || got == new,
            "kill {k}: a cut output of {} bytes",
            got.len()
        );
    }
    let leftovers: Vec<String> = names(tmp.path())
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect();
    // A temporary file of a killed writer may stay (hidden); the output itself is whole.
    assert!(
        leftovers.iter().all(|n| n.starts_with('.')),
        "{leftovers:?}"
    );
}

/// A tiny-BERT `train` command line.
fn tiny_train(tr: &Path, va: &Path, te: &Path, out: &Path) -> Vec<String> {
    let model = shared_dir().join("fixtures/parity/bert-tiny");
    [
        "train",
        "--model",
        s(&model),
        "--train",
        s(tr),
        "--valid",
        s(va),
        "--test",
        s(te),
        "--epochs",
        "4",
        "--batch-size",
        "8",
        "--max-len",
        "32",
        "--lr",
        "3e-3",
        "--patience",
        "0",
        "--bootstrap",
        "20",
        "--no-save-model",
        "--quiet",
        "--out",
        s(out),
    ]
    .map(String::from)
    .to_vec()
}

fn spawn_held(args: &[String], after: usize) -> Child {
    command(&strs(args))
        .env("TEXTCLF_TEST_HOLD_AFTER_BATCHES", after.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The pid of the sweep child holding `partial`: not one of `not` (the sweep's own, which
/// takes the lock for a moment before it starts the child, or an earlier child's).
fn child_pid(partial: &Path, not: &[i32]) -> i32 {
    let t = Instant::now();
    loop {
        let pid = lock_pid(partial);
        if !not.contains(&pid) {
            return pid;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "no child started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_gone(pid: i32) {
    let t = Instant::now();
    while !gone(pid) {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "process {pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_trainer_on_one_folder_is_refused_and_a_killed_run_resumes_to_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, va, te) = toy_splits(tmp.path());
    let reference = tmp.path().join("ref");
    ok(&strs(&tiny_train(&tr, &va, &te, &reference)));

    let out = tmp.path().join("run");
    let partial = tmp.path().join("run.partial");
    let args = tiny_train(&tr, &va, &te, &out);
    // 6 batches an epoch: held in epoch 2, after the first checkpoint.
    let mut first = spawn_held(&args, 8);
    let pid = lock_pid(&partial);
    assert_eq!(pid, first.id() as i32);
    wait_for(&partial.join("checkpoint/state.json"));
    let err = fails(&strs(&args));
    assert!(
        err.contains("in use by textclf train") && err.contains(&format!("pid {pid}")),
        "{err}"
    );
    // The holder is named with its host, for folders on a shared filesystem.
    let host = textclf_runs::host_name();
    assert!(
        host.is_empty() || err.contains(&format!("pid {pid} on {host})")),
        "{err}"
    );
    let mut resume = args.clone();
    resume.push("--resume".into());
    let err = fails(&strs(&resume));
    assert!(err.contains("in use by"), "{err}");

    kill(pid, "KILL");
    let _ = first.wait();
    assert!(!out.exists() && partial.join("checkpoint/state.json").is_file());
    ok(&strs(&resume));
    let a = json_file(&out.join("metrics.json"));
    let b = json_file(&reference.join("metrics.json"));
    assert_eq!(epochs_without_timing(&a), epochs_without_timing(&b));
    assert_eq!(a["accuracy"], b["accuracy"]);
    assert!(!partial.exists() && !out.join("checkpoint").exists());
}

/// A sweep over one tiny-BERT run (and, with `baseline`, one linear run) on a toy pool.
fn sweep_file(dir: &Path, models: &str) -> PathBuf {
    let pool = dir.join("pool.csv");
    toy_csv(&pool, 120, 0);
    let tiny = shared_dir().join("fixtures/parity/bert-tiny");
    let text = format!(
        r#"
name = "safety"
save_models = false

[data]
pool = ["{}"]
split = "60/20/20"

[base]
model = "{}"
epochs = 3
max_len = 32
batch_size = 8
lr = 3e-3
patience = 0
bootstrap = 20
{models}
"#,
        s(&pool),
        s(&tiny),
    );
    let path = dir.join("sweep.toml");
    fs::write(&path, text).unwrap();
    path
}

/// A `[[models]]` entry for the tiny BERT.
fn tiny(name: &str) -> String {
    format!(
        "[[models]]\nname = \"{name}\"\nmodel = \"{}\"\n",
        s(&shared_dir().join("fixtures/parity/bert-tiny"))
    )
}

fn spawn_sweep(cfg: &Path, out: &Path, hold_after: Option<usize>) -> Child {
    let mut c = command(&["sweep", s(cfg), "--out", s(out)]);
    if let Some(n) = hold_after {
        c.env("TEXTCLF_TEST_HOLD_AFTER_BATCHES", n.to_string());
    }
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn run_ids_that_would_escape_or_share_a_folder_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("mine.txt"), "keep").unwrap();
    let lr = "[[models]]\nname = \"lr\"\nbaseline = \"lr\"\n";
    for models in [
        tiny("..") + lr,
        tiny(".") + lr,
        tiny("a.partial") + "[[models]]\nname = \"a\"\nbaseline = \"lr\"\n",
        tiny("a/b") + "[[models]]\nname = \"a_b\"\nbaseline = \"lr\"\n",
    ] {
        let models = models.as_str();
        let cfg = sweep_file(tmp.path(), models);
        for extra in [&[][..], &["--dry-run"][..]] {
            let mut a = vec!["sweep", s(&cfg), "--out", s(&out)];
            a.extend_from_slice(extra);
            let err = fails(&a);
            assert!(
                err.contains("run 1's id") || err.contains("share the folder 'a_b'"),
                "{models}: {err}"
            );
        }
        assert_eq!(names(&out), ["mine.txt"], "{models}");
    }
}

#[test]
fn a_sigkilled_sweep_child_keeps_its_checkpoint_and_batch_and_resumes_to_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_file(tmp.path(), &tiny("tiny"));
    let reference = tmp.path().join("ref");
    ok(&["sweep", s(&cfg), "--out", s(&reference), "--quiet"]);

    let out = tmp.path().join("out");
    let partial = out.join("runs/tiny.partial");
    let sweep = spawn_sweep(&cfg, &out, Some(11));
    wait_for(&partial.join("checkpoint/state.json"));
    let child = lock_pid(&partial);
    assert_ne!(child, sweep.id() as i32);
    kill(child, "KILL");
    let o = sweep.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "a killed run leaves the sweep unfinished: {err}"
    );
    assert!(
        err.contains("killed (SIGKILL)") && !err.contains("out of memory"),
        "{err}"
    );
    assert!(
        partial.join("checkpoint/state.json").is_file(),
        "checkpoint kept"
    );

    let o = spawn_sweep(&cfg, &out, None).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("resuming from its checkpoint"), "{err}");
    let run = json_file(&out.join("runs/tiny/run.json"));
    assert_eq!(run["params"]["batch_size"], 8, "its own batch size");
    assert_eq!(run["attempts"], serde_json::json!([]));
    let a = json_file(&out.join("runs/tiny/metrics.json"));
    let b = json_file(&reference.join("runs/tiny/metrics.json"));
    assert_eq!(epochs_without_timing(&a), epochs_without_timing(&b));
    assert_eq!(a["accuracy"], b["accuracy"]);
}

#[test]
fn a_killed_sweep_takes_its_child_along_and_a_second_sweep_on_the_shard_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_file(tmp.path(), &tiny("tiny"));
    let out = tmp.path().join("out");
    let partial = out.join("runs/tiny.partial");

    // SIGTERM to the sweep is passed on: the child checkpoints and both exit. Meanwhile a
    // second sweep on the shard is refused.
    let child = signal_held_sweep(&cfg, &out, "TERM", |sweep| {
        let err = fails(&["sweep", s(&cfg), "--out", s(&out)]);
        assert!(
            err.contains("in use by textclf sweep (pid")
                && err.contains(&format!("pid {} ", sweep.id())),
            "{err}"
        );
    });

    // SIGKILL to the sweep: the child is told to stop (parent-death signal) and does not
    // run on; a sweep started at once finishes the run.
    // The resumed child is held 5 batches in (its first checkpoint is already there).
    let mut sweep = spawn_sweep(&cfg, &out, Some(5));
    let child = child_pid(&partial, &[sweep.id() as i32, child]);
    std::thread::sleep(Duration::from_millis(300));
    sweep.kill().unwrap();
    let _ = sweep.wait();
    wait_gone(child);
    let o = spawn_sweep(&cfg, &out, None).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("runs/tiny/metrics.json").is_file());
    assert!(out.join("runs/tiny/log.txt").is_file());
}

/// Starts a sweep of one run whose child is held in training, sends `sig` to the sweep
/// once the child has checkpointed (after `meanwhile`), and checks that the sweep fails and
/// the child stops with an `interrupted` status. Returns the child's pid.
fn signal_held_sweep(cfg: &Path, out: &Path, sig: &str, meanwhile: impl FnOnce(&Child)) -> i32 {
    let partial = out.join("runs/tiny.partial");
    let sweep = spawn_sweep(cfg, out, Some(11));
    wait_for(&partial.join("checkpoint/state.json"));
    let child = lock_pid(&partial);
    assert_ne!(child, sweep.id() as i32);
    meanwhile(&sweep);
    kill(sweep.id() as i32, sig);
    let o = sweep.wait_with_output().unwrap();
    assert!(!o.status.success());
    wait_gone(child);
    assert_eq!(
        json_file(&partial.join("status.json"))["outcome"],
        "interrupted"
    );
    child
}

/// Ctrl-C (SIGINT) to the sweep is passed on as SIGTERM is: its child, in a process group
/// of its own that a terminal's Ctrl-C does not reach, checkpoints and stops.
#[test]
fn ctrl_c_to_a_sweep_reaches_its_child() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = sweep_file(tmp.path(), &tiny("tiny"));
    let out = tmp.path().join("out");
    signal_held_sweep(&cfg, &out, "INT", |_| {});
    assert!(out
        .join("runs/tiny.partial/checkpoint/state.json")
        .is_file());
}

#[test]
fn a_sweep_with_failed_runs_exits_non_zero_and_damaged_records_are_redone() {
    let tmp = tempfile::tempdir().unwrap();
    let models = "[[models]]\nname = \"lr\"\nbaseline = \"lr\"\n[[models]]\nname = \"svm\"\nbaseline = \"svm\"\n";
    let cfg = sweep_file(tmp.path(), models);
    let out = tmp.path().join("out");
    ok(&["sweep", s(&cfg), "--out", s(&out), "--quiet"]);
    let lr_metrics = json_file(&out.join("runs/lr/metrics.json"));

    // One bad byte in a run.json; a run.json without metrics.json.
    let rj = out.join("runs/lr/run.json");
    let mut bytes = fs::read(&rj).unwrap();
    bytes[3] = 0xff;
    fs::write(&rj, bytes).unwrap();
    fs::remove_file(out.join("runs/svm/metrics.json")).unwrap();
    let listing = ok(&["sweep", s(&cfg), "--out", s(&out), "--dry-run"]);
    assert!(
        listing.contains("damaged") && listing.contains("run.json"),
        "{listing}"
    );
    let o = spawn_sweep(&cfg, &out, None).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("redone"), "{err}");
    assert!(out.join("runs/svm/metrics.json").is_file());
    let redone = json_file(&out.join("runs/lr/metrics.json"));
    assert_eq!(redone["accuracy"], lr_metrics["accuracy"]);
    assert_eq!(redone["confusion"], lr_metrics["confusion"]);
    // What the damaged folders held is kept aside.
    assert_eq!(fs::read_dir(out.join("damaged")).unwrap().count(), 2);

    // A run that fails makes the sweep exit non-zero, after its summary.
    let bad = sweep_file(
        tmp.path(),
        &("[[models]]\nname = \"gone\"\nmodel = \"./no/such/model\"\n".to_string()
            + "[[models]]\nname = \"lr\"\nbaseline = \"lr\"\n"),
    );
    let out2 = tmp.path().join("out2");
    let o = spawn_sweep(&bad, &out2, None).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert!(err.contains("1 of 2 runs failed (gone"), "{err}");
    assert!(out2.join("runs/lr/metrics.json").is_file());

    // A sweep whose every run fails says so and exits non-zero.
    let all_bad = sweep_file(
        tmp.path(),
        "[[models]]\nname = \"gone\"\nmodel = \"./no/such/model\"\n[[models]]\nname = \"gone2\"\nmodel = \"./no/such/other\"\n",
    );
    let out3 = tmp.path().join("out3");
    let o = spawn_sweep(&all_bad, &out3, None)
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("2 of 2 runs failed"), "{err}");
}
