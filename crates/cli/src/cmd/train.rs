//! `textclf train`: fine-tune a BERT-family encoder.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use candle_core::Device;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map};
use textclf_core::{Classifier, Dataset};
use textclf_eval::Timing;
use textclf_models::{LoadOptions, SequenceClassifier};
use textclf_train::batch::Padding;
use textclf_train::optim::AdamWConfig;
use textclf_train::tokenize::{TextEncoder, Truncation};
use textclf_train::{
    EarlyStopping, EvalRecord, InferenceSettings, Monitor, Progress, TrainConfig, TrainError,
    Trainer, TransformerClassifier,
};

use super::common::{
    begin_run, finish_run, holdout_valid, load_splits, parse_class_weights, predict_and_evaluate,
    save_model, split_info, valid_summary, write_run, write_valid_predictions, Finished,
    OutOfMemory, WeightSpec,
};
use crate::args::{DeviceArg, MonitorArg, PaddingArg, TrainArgs, TruncationArg};
use crate::ui::Ui;

/// The compute device from `--device`.
pub fn device(d: DeviceArg) -> anyhow::Result<Device> {
    match d {
        DeviceArg::Cpu => Ok(Device::Cpu),
        DeviceArg::Cuda => {
            if !candle_core::utils::cuda_is_available() {
                bail!("--device cuda: this textclf was built without CUDA support; rebuild with `cargo install --path crates/cli --features cuda` (needs the CUDA toolkit)");
            }
            Device::new_cuda(0).context("cannot open CUDA device 0")
        }
    }
}

/// Per-class loss weights from `--class-weights` (`balanced`: n / (k · n_c)).
pub fn class_weights(spec: Option<&str>, counts: &[usize]) -> anyhow::Result<Option<Vec<f32>>> {
    let k = counts.len();
    let n: usize = counts.iter().sum();
    Ok(parse_class_weights(spec, k)?.map(|w| match w {
        WeightSpec::Balanced => counts
            .iter()
            .map(|&c| n as f32 / (k as f32 * c.max(1) as f32))
            .collect(),
        WeightSpec::Explicit(w) => w.iter().map(|&x| x as f32).collect(),
    }))
}

struct Bar {
    pb: ProgressBar,
    quiet: bool,
    stop: Arc<AtomicBool>,
    batches: AtomicUsize,
    hooks: TestHooks,
}

/// Testing hooks that put a run at a known point, for the interruption tests (never set in
/// normal use): `TEXTCLF_TEST_INTERRUPT_AFTER_BATCHES=N` acts as a Ctrl-C after N batches;
/// `TEXTCLF_TEST_HOLD_AFTER_BATCHES=N` waits after N batches (up to two minutes, or until
/// interrupted), so that a test can kill or interrupt the process there.
#[derive(Default)]
struct TestHooks {
    interrupt_after: Option<usize>,
    hold_after: Option<usize>,
}

impl TestHooks {
    fn from_env() -> Self {
        let n = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
        TestHooks {
            interrupt_after: n("TEXTCLF_TEST_INTERRUPT_AFTER_BATCHES"),
            hold_after: n("TEXTCLF_TEST_HOLD_AFTER_BATCHES"),
        }
    }
}

impl Progress for Bar {
    fn start_epoch(&self, epoch: usize, epochs: usize, batches: usize, first: usize) {
        self.pb.reset();
        self.pb.set_length(batches as u64);
        self.pb.set_position(first as u64);
        self.pb.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
    }
    fn batch(&self, done: usize, loss: f64, lr: f64, sps: f64) {
        let seen = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hooks.interrupt_after == Some(seen) {
            self.stop.store(true, Ordering::SeqCst);
        }
        if self.hooks.hold_after == Some(seen) {
            let t = Instant::now();
            while !self.stop.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(120) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.pb.set_position(done as u64);
        self.pb
            .set_message(format!("loss {loss:.4}  lr {lr:.2e}  {sps:.1} samples/s"));
    }
    fn evaluated(&self, r: &EvalRecord) {
        if !self.quiet {
            self.pb.suspend(|| {
                eprintln!(
                    "  epoch {} step {}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4} macro-F1 {:.4} | {:.0} s, {:.1} samples/s, {:.0} tokens/s, padding {:.1} %",
                    r.epoch + 1, r.step, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.val_macro_f1,
                    r.train_seconds, r.samples_per_s, r.tokens_per_s, 100.0 * r.padding_waste
                )
            });
        }
    }
    fn message(&self, msg: &str) {
        if !self.quiet {
            self.pb.suspend(|| eprintln!("  {msg}"));
        }
    }
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// The trainer's checkpoint folders (current, and the two of its atomic swap).
pub const CHECKPOINT_DIRS: [&str; 3] = ["checkpoint", "checkpoint.old", "checkpoint.new"];

/// Whether `dir` holds a checkpoint to resume (the current one, or the previous one of an
/// interrupted swap).
pub fn has_checkpoint(dir: &Path) -> bool {
    CHECKPOINT_DIRS[..2]
        .iter()
        .any(|d| dir.join(d).join("state.json").is_file())
}

/// Removes a finished run's checkpoints (optimizer state included, about 4× the model).
pub fn remove_checkpoints(dir: &Path) -> anyhow::Result<()> {
    for d in CHECKPOINT_DIRS {
        let p = dir.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p)
                .with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(())
}

pub fn run(a: TrainArgs, ui: &Ui) -> anyhow::Result<()> {
    adopt_interrupted_run_of_old_layout(&a, ui)?;
    let mut folder = begin_run(&a.out, "textclf train")?;
    if folder.has_leftover() && !a.out.in_place {
        let ckpt = has_checkpoint(folder.work());
        if ckpt && a.resume {
            ui.note(&format!(
                "resuming the interrupted run in {}",
                folder.work().display()
            ));
        } else if ckpt && !a.out.overwrite {
            bail!(
                "{} holds the checkpoint of an interrupted run of {}: add --resume to continue it, or --overwrite to start again (its checkpoint is then deleted)",
                folder.work().display(),
                a.out.out.display()
            );
        } else {
            folder.clear()?;
        }
    }
    finish_run(folder, ui, |f| {
        train_and_write(&a, f.work(), f.target(), ui)
    })
}

/// Before run folders were built in `<out>.partial/`, an interrupted run kept its checkpoint
/// in `<out>/checkpoint`. With `--resume`, such a folder (a checkpoint, no metrics.json)
/// becomes the working folder, so the run continues where it stopped.
fn adopt_interrupted_run_of_old_layout(a: &TrainArgs, ui: &Ui) -> anyhow::Result<()> {
    let out = &a.out.out;
    let partial = textclf_runs::partial_path(out);
    if a.resume
        && !a.out.in_place
        && has_checkpoint(out)
        && !out.join("metrics.json").exists()
        && !partial.exists()
    {
        std::fs::rename(out, &partial).with_context(|| {
            format!(
                "cannot move the interrupted run {} to {}",
                out.display(),
                partial.display()
            )
        })?;
        ui.note(&format!(
            "moved the interrupted run in {} to {} (unfinished runs now live there)",
            out.display(),
            partial.display()
        ));
    }
    Ok(())
}

fn train_and_write(a: &TrainArgs, out: &Path, target: &Path, ui: &Ui) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    let dev = device(a.device)?;
    if !(1e-7..=1e-2).contains(&a.lr) {
        ui.warn(&format!(
            "--lr {:e} is outside the range that fine-tuning uses (about 1e-6 to 1e-3; 2e-5 to 1e-4 for BERT-sized models): expect {}",
            a.lr,
            if a.lr > 1e-2 { "the loss to diverge" } else { "the model to barely move" }
        ));
    }
    ui.phase("reading data");
    let t = Instant::now();
    let splits = load_splits(&a.data, ui)?;
    let (train, valid) = match splits.valid.clone() {
        Some(v) => (splits.train.clone(), v),
        None => {
            ui.note("no validation split given: holding out a stratified 10 % of train for validation and early stopping");
            holdout_valid(&splits.train, 0.1, a.data.seed)
        }
    };
    timing.add("read", t.elapsed().as_secs_f64());

    ui.phase(&format!("loading model {}", a.model));
    let t = Instant::now();
    let model_dir = crate::hub::resolve(&a.model)?;
    let labels = splits.label_set.clone();
    let opts = LoadOptions {
        num_labels: labels.len(),
        layers: a.layers,
        seed: a.data.seed,
        device: dev.clone(),
    };
    let (mut model, report) = SequenceClassifier::load(&model_dir, &opts)
        .with_context(|| format!("cannot load the model in {}", model_dir.display()))?;
    model.set_grad_checkpoint(a.grad_checkpoint);
    let max_pos = model.config.max_positions
        - if model.config.arch == textclf_models::Arch::Roberta {
            model.config.pad_token_id as usize + 1
        } else {
            0
        };
    if a.max_len > max_pos {
        bail!(
            "--max-len {} exceeds the {max_pos} positions of {}",
            a.max_len,
            a.model
        );
    }
    let truncation = match a.truncation {
        TruncationArg::Head => Truncation::Head,
        TruncationArg::Tail => Truncation::Tail,
        TruncationArg::HeadTail => Truncation::HeadTail,
    };
    let encoder = TextEncoder::from_dir(&model_dir, a.max_len, truncation)
        .with_context(|| format!("cannot load the tokenizer of {}", model_dir.display()))?;
    timing.add("load_model", t.elapsed().as_secs_f64());
    ui.finish();
    ui.note(&format!(
        "{} ({} layers{}, {:.1} M parameters); new: {}",
        model.config.arch.hf_class(),
        model.config.num_layers,
        a.layers
            .map_or(String::new(), |_| format!(" kept {:?}", report.kept_layers)),
        model.params.num_params() as f64 / 1e6,
        if report.fresh.is_empty() {
            "none".to_string()
        } else {
            report.fresh.join(", ")
        }
    ));

    let token_lengths = token_length_summary(&encoder, &train, a.max_len)?;
    simulated_oom_check(a.batch_size)?;
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        eval_batch_size: a.eval_batch_size,
        lr: a.lr,
        adamw: AdamWConfig {
            weight_decay: a.weight_decay,
            ..AdamWConfig::default()
        },
        warmup_ratio: a.warmup_ratio,
        grad_clip: match a.grad_clip {
            0.0 => None,
            c if c > 0.0 => Some(c),
            c => bail!("--grad-clip {c}: use a positive norm, or 0 to disable clipping"),
        },
        grad_accum: a.grad_accum,
        seed: a.data.seed,
        padding: match a.padding {
            PaddingArg::Dynamic => Padding::Dynamic,
            PaddingArg::MaxLen => Padding::MaxLen,
        },
        bucketed: !a.no_bucketing,
        eval_every_steps: a.eval_every,
        checkpoint_every_steps: a.checkpoint_every,
        early_stopping: (a.patience > 0).then_some(EarlyStopping {
            monitor: match a.monitor {
                MonitorArg::ValLoss => Monitor::ValLoss,
                MonitorArg::ValAccuracy => Monitor::ValAccuracy,
                MonitorArg::ValMacroF1 => Monitor::ValMacroF1,
            },
            patience: a.patience,
            min_delta: a.min_delta,
        }),
        class_weights: class_weights(a.class_weights.as_deref(), &train.class_counts())?,
        average_from: a.average_from,
    };
    cfg.check().context("invalid training settings")?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // First Ctrl-C: finish the current step, checkpoint and exit; second: exit now.
        crate::ui::on_interrupt(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\n  interrupt: saving a checkpoint after this step (press Ctrl-C again to quit at once)");
        });
    }
    let pb = if ui.quiet || ui.json {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches {msg} (ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.enable_steady_tick(Duration::from_millis(500));
        pb
    };
    let bar = Bar {
        pb,
        quiet: ui.quiet || ui.json,
        stop,
        batches: AtomicUsize::new(0),
        hooks: TestHooks::from_env(),
    };
    let t = Instant::now();
    let ckpt = out.join("checkpoint");
    let outcome = Trainer {
        model: &mut model,
        encoder: &encoder,
        config: cfg.clone(),
        ckpt_dir: ckpt.clone(),
    }
    .fit(&train, Some(&valid), a.resume, &crate::ui::observe(&bar));
    bar.pb.finish_and_clear();
    let outcome = match outcome {
        Err(e @ TrainError::Interrupted { .. }) => {
            let _ = std::io::stderr().flush();
            return Err(anyhow::Error::new(e));
        }
        other => other.context("training failed")?,
    };
    timing.add("train", t.elapsed().as_secs_f64());

    let clf = TransformerClassifier::new(
        model,
        encoder,
        labels.clone(),
        InferenceSettings {
            max_len: a.max_len,
            truncation,
            eval_batch_size: a.eval_batch_size,
        },
    );
    let test_eval = predict_and_evaluate(
        &clf,
        &splits.test,
        &a.eval,
        a.data.seed,
        &mut timing,
        ui,
        "test",
    )?;
    let valid_eval = predict_and_evaluate(
        &clf,
        &valid,
        &textclf_eval_opts_no_bootstrap(&a.eval),
        a.data.seed,
        &mut timing,
        ui,
        "valid",
    )?;
    write_valid_predictions(out, &clf, &valid, &valid_eval)?;
    if !a.no_save_model {
        save_model(&clf, out, &mut timing, ui)?;
    }
    timing.add("total", started.elapsed().as_secs_f64());

    // Per-epoch records: JSON inside metrics.json, and epochs.csv for spreadsheets.
    let epochs: Vec<&EvalRecord> = outcome.history.iter().collect();
    write_epochs_csv(out, &epochs)?;
    let best = outcome.best.map(|i| &outcome.history[i]);
    let mut extra = Map::new();
    extra.insert("command".into(), json!("train"));
    // Epochs count from 1 in metrics.json, as in best_epoch, epochs.csv and the console.
    let numbered = |r: &EvalRecord| {
        let mut v = json!(r);
        v["epoch"] = json!(r.epoch + 1);
        v
    };
    extra.insert(
        "epochs".into(),
        serde_json::Value::Array(outcome.history.iter().map(numbered).collect()),
    );
    extra.insert("best_epoch".into(), json!(best.map(|b| b.epoch + 1)));
    extra.insert("best".into(), json!(best.map(numbered)));
    extra.insert(
        "val_accuracy_at_min_val_loss".into(),
        json!(outcome.val_accuracy_at_min_val_loss),
    );
    extra.insert("valid".into(), valid_summary(&valid_eval.report));
    extra.insert("stopped_early".into(), json!(outcome.stopped_early));
    extra.insert(
        "restored_best_weights".into(),
        json!(outcome.restored_best_weights),
    );
    if let Some(avg) = &outcome.averaged {
        extra.insert("averaged".into(), json!(avg));
    }
    extra.insert(
        "model".into(),
        json!({
            "kind": clf.kind(),
            "source": a.model,
            "class": clf.model.config.arch.hf_class(),
            "layers": clf.model.config.num_layers,
            "kept_layers": report.kept_layers,
            "parameters": clf.model.params.num_params(),
            "fresh_parameters": report.fresh,
            "max_len": a.max_len,
            "truncation": truncation,
            "train_config": cfg,
            "grad_checkpoint": a.grad_checkpoint,
            "device": format!("{:?}", a.device).to_lowercase(),
        }),
    );
    extra.insert(
        "data".into(),
        json!({
            "labels": labels.names(),
            "train": split_info(&train),
            "valid": split_info(&valid),
            "test": split_info(&splits.test),
            "seed": a.data.seed,
            "notes": splits.notes,
            "token_lengths": token_lengths,
        }),
    );
    write_run(out, &clf, &splits.test, &test_eval, &timing, extra)?;
    let title = format!(
        "{} fine-tuned on {} ({} test texts)",
        clf.kind(),
        train.name,
        splits.test.len()
    );
    let mut trailer = String::new();
    if let Some(b) = best {
        trailer.push_str(&format!(
            "best validation: epoch {} (val loss {:.4}, val accuracy {:.4}); val accuracy at min val loss: {}{}\n",
            b.epoch + 1,
            b.val_loss,
            b.val_accuracy,
            outcome.val_accuracy_at_min_val_loss.map_or("-".into(), |v| format!("{v:.4}")),
            if outcome.averaged.as_ref().is_some_and(|v| v.kept) {
                ""
            } else if outcome.restored_best_weights {
                "; best weights restored"
            } else {
                ""
            }
        ));
    }
    if let Some(v) = &outcome.averaged {
        trailer.push_str(&format!(
            "averaged weights ({} validation points from step {}): val loss {:.4}, val accuracy {:.4}; {}\n",
            v.count,
            v.from_step,
            v.val_loss,
            v.val_accuracy,
            if v.kept { "kept (the test figures are theirs)" } else { "not kept (the single checkpoint validated better)" }
        ));
    }
    trailer.push_str(&format!(
        "wrote {}/metrics.json, epochs.csv, predictions.csv{}",
        target.display(),
        if a.no_save_model {
            ""
        } else {
            " and model/ (loads in transformers)"
        }
    ));
    if a.keep_checkpoint {
        trailer.push_str(" (checkpoint/ kept)");
    } else {
        remove_checkpoints(out)?;
    }
    Ok(Finished {
        report: test_eval.report,
        title,
        timing,
        trailer,
    })
}

/// Validation is only used for selection here: its bootstrap CIs are not needed.
fn textclf_eval_opts_no_bootstrap(e: &crate::args::EvalOpts) -> crate::args::EvalOpts {
    let _ = e;
    crate::args::EvalOpts { bootstrap: 0 }
}

/// Token lengths (untruncated) of up to 2000 evenly spaced training texts, and the share
/// longer than `max_len`: what `textclf advise` reads to suggest longer contexts.
fn token_length_summary(
    encoder: &TextEncoder,
    train: &Dataset,
    max_len: usize,
) -> anyhow::Result<serde_json::Value> {
    const SAMPLE: usize = 2000;
    let n = train.len();
    let step = n.div_ceil(SAMPLE).max(1);
    let texts: Vec<&str> = train
        .texts
        .iter()
        .step_by(step)
        .map(String::as_str)
        .collect();
    let mut lens = encoder
        .full_lengths(&texts)
        .context("cannot count the token lengths of the training texts")?;
    lens.sort_unstable();
    if lens.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let q = |p: f64| lens[((lens.len() - 1) as f64 * p).round() as usize];
    let over = lens.iter().filter(|&&l| l > max_len).count();
    Ok(json!({
        "max_len": max_len,
        "sampled": lens.len(),
        "truncated_share": over as f64 / lens.len() as f64,
        "p50": q(0.5),
        "p90": q(0.9),
        "max": lens[lens.len() - 1],
    }))
}

/// Testing hook for the sweep's out-of-memory retry: with `TEXTCLF_SIMULATE_OOM_ABOVE_BATCH=N`
/// in the environment, a batch size above N fails the way an out-of-memory error does.
/// The run records it as `out_of_memory` in its status.json, as it does a device's own
/// out-of-memory error; on the CPU an allocation failure aborts the process, which the sweep
/// recognises by its abort and the allocator's message.
fn simulated_oom_check(batch_size: usize) -> anyhow::Result<()> {
    if let Some(limit) = std::env::var("TEXTCLF_SIMULATE_OOM_ABOVE_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        if batch_size > limit {
            return Err(OutOfMemory(format!(
                "simulated by TEXTCLF_SIMULATE_OOM_ABOVE_BATCH={limit} for batch size {batch_size}"
            ))
            .into());
        }
    }
    Ok(())
}

fn write_epochs_csv(out: &std::path::Path, recs: &[&EvalRecord]) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let path = out.join("epochs.csv");
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    w.write_record([
        "epoch",
        "step",
        "epoch_end",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "val_macro_f1",
        "lr",
        "train_seconds",
        "samples_per_s",
        "tokens_per_s",
        "padding_waste",
    ])?;
    for r in recs {
        w.write_record([
            (r.epoch + 1).to_string(),
            r.step.to_string(),
            r.epoch_end.to_string(),
            format!("{:.6}", r.train_loss),
            format!("{:.6}", r.train_accuracy),
            format!("{:.6}", r.val_loss),
            format!("{:.6}", r.val_accuracy),
            format!("{:.6}", r.val_macro_f1),
            format!("{:.3e}", r.lr),
            format!("{:.3}", r.train_seconds),
            format!("{:.3}", r.samples_per_s),
            format!("{:.1}", r.tokens_per_s),
            format!("{:.4}", r.padding_waste),
        ])?;
    }
    w.flush()?;
    Ok(())
}
