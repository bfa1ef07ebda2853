//! `textclf train`: fine-tune a transformer encoder (every family of `textclf-models`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
pub use textclf_experiment::{has_checkpoint, remove_checkpoints};
use textclf_experiment::{EvalSpec, ExperimentSpec, ModelSpec, TrainEnv, TransformerSpec};
use textclf_train::optim::AdamWConfig;
use textclf_train::{EarlyStopping, EpochRecord, Progress, TrainConfig};

use super::common::{begin_run, data_spec, finish_run, parse_class_weights};
use crate::args::{OutArgs, TrainArgs};
use crate::ui::Ui;

/// The flags as an experiment.
pub fn spec_from_args(a: &TrainArgs) -> anyhow::Result<ExperimentSpec> {
    let train = TrainConfig {
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
        padding: a.padding,
        bucketed: !a.no_bucketing,
        eval_every_steps: a.eval_every,
        checkpoint_every_steps: a.checkpoint_every,
        early_stopping: (a.patience > 0).then_some(EarlyStopping {
            monitor: a.monitor,
            patience: a.patience,
            min_delta: a.min_delta,
        }),
        // Set by the experiment from its class weights and the training split.
        class_weights: None,
        average_from: a.average_from,
    };
    Ok(ExperimentSpec {
        format: ExperimentSpec::FORMAT,
        data: data_spec(&a.data)?,
        model: ModelSpec::Transformer {
            settings: TransformerSpec {
                source: a.model.clone(),
                layers: a.layers,
                max_len: a.max_len,
                truncation: a.truncation,
                pair_truncation: a.pair_truncation,
                train,
                grad_checkpoint: a.grad_checkpoint,
                device: a.device,
                resume: a.resume,
                keep_checkpoint: a.keep_checkpoint,
            },
        },
        eval: EvalSpec {
            bootstrap: a.eval.bootstrap,
        },
        class_weights: parse_class_weights(a.class_weights.as_deref())?,
        save_model: !a.no_save_model,
    })
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
    fn evaluated(&self, r: &EpochRecord) {
        if !self.quiet {
            self.pb.suspend(|| {
                eprintln!(
                    "  epoch {} step {}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4} macro-F1 {:.4} | {:.0} s, {:.1} samples/s, {:.0} tokens/s, padding {:.1} %",
                    r.epoch, r.step, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.val_macro_f1,
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

pub fn run(a: TrainArgs, ui: &Ui) -> anyhow::Result<()> {
    let spec = spec_from_args(&a)?;
    adopt_interrupted_run_of_old_layout(&a, ui)?;
    run_spec(&spec, &a.out, ui)
}

/// Runs a fine-tuning experiment into the run folder `out`: a leftover checkpoint there
/// is resumed (with `resume`), or refused unless `--overwrite`.
pub fn run_spec(spec: &ExperimentSpec, out: &OutArgs, ui: &Ui) -> anyhow::Result<()> {
    let resume = match &spec.model {
        ModelSpec::Transformer { settings } => settings.resume,
        _ => false,
    };
    let mut folder = begin_run(out, "textclf train")?;
    if folder.has_leftover() && !out.in_place {
        let ckpt = has_checkpoint(folder.work());
        if ckpt && resume {
            ui.note(&format!(
                "resuming the interrupted run in {}",
                folder.work().display()
            ));
        } else if ckpt && !out.overwrite {
            bail!(
                "{} holds the checkpoint of an interrupted run of {}: add --resume to continue it, or --overwrite to start again (its checkpoint is then deleted)",
                folder.work().display(),
                out.out.display()
            );
        } else {
            folder.clear()?;
        }
    }
    finish_run(folder, ui, |f| {
        let bar = progress_bar(ui);
        // Progress also goes to a host that embeds the CLI (the Python package).
        let observed = crate::ui::observe(&bar);
        let env = TrainEnv {
            resolve_model: &|name: &str| crate::hub::resolve(name).map_err(|e| format!("{e:#}")),
            progress: &observed,
            training_done: &|| bar.pb.finish_and_clear(),
        };
        Ok(textclf_experiment::run(
            spec,
            f.work(),
            f.target(),
            ui,
            &env,
        )?)
    })
}

/// The training progress bar, with Ctrl-C handling: the first finishes the current step,
/// checkpoints and exits; the second exits at once.
fn progress_bar(ui: &Ui) -> Bar {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
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
    Bar {
        pb,
        quiet: ui.quiet || ui.json,
        stop,
        batches: AtomicUsize::new(0),
        hooks: TestHooks::from_env(),
    }
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
