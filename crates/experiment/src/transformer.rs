//! The transformer family: fine-tune a BERT-family encoder with early stopping on the
//! validation split (without one, on a stratified 10 % of train held out for it).

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use textclf_core::{Classifier, Dataset};
use textclf_eval::Timing;
use textclf_models::{LoadOptions, SequenceClassifier};
use textclf_runs::{
    AveragedRecord, EpochRecord, RunBody, TokenLengths, TrainData, TrainRun, TransformerModel,
};
use textclf_train::tokenize::{TextEncoder, Truncation};
use textclf_train::{
    AveragedWeights, EvalRecord, InferenceSettings, Progress, TrainConfig, TrainError, Trainer,
    TransformerClassifier,
};

use crate::data::{holdout_valid, prepare_splits};
use crate::error::{ExperimentError, Result, Step};
use crate::evaluate::predict_and_evaluate;
use crate::observer::Observer;
use crate::record::{save_model, split_info, valid_summary, write_run, write_valid_predictions};
use crate::spec::ExperimentSpec;
use crate::weights::{check_class_weights, class_weight_vector};
use crate::Finished;

/// Share of train held out for validation when no validation split is given.
pub const HOLDOUT_FRAC: f64 = 0.1;

/// The trainer's checkpoint folders (current, and the two of its atomic swap).
pub const CHECKPOINT_DIRS: [&str; 3] = ["checkpoint", "checkpoint.old", "checkpoint.new"];

/// A fine-tuning run's settings.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TransformerSpec {
    /// The model folder or Hub id to start from.
    pub source: String,
    /// Keep only this many encoder layers.
    #[serde(default)]
    pub layers: Option<usize>,
    pub max_len: usize,
    pub truncation: Truncation,
    /// The trainer's settings; its `seed` and `class_weights` are set from the
    /// experiment's.
    pub train: TrainConfig,
    #[serde(default)]
    pub grad_checkpoint: bool,
    pub device: DeviceSpec,
    /// Continue from the checkpoint of an interrupted run.
    #[serde(default)]
    pub resume: bool,
    /// Keep `checkpoint/` when the run finishes.
    #[serde(default)]
    pub keep_checkpoint: bool,
}

// The trainer's settings have no PartialEq of their own: two specs are equal when they
// record the same.
impl PartialEq for TransformerSpec {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

/// Where to compute.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeviceSpec {
    Cpu,
    Cuda,
}

impl DeviceSpec {
    /// The compute device.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda => {
                if !candle_core::utils::cuda_is_available() {
                    return Err(ExperimentError::Invalid("--device cuda: this textclf was built without CUDA support; rebuild with `cargo install --path crates/cli --features cuda` (needs the CUDA toolkit)".into()));
                }
                Device::new_cuda(0).step("cannot open CUDA device 0")
            }
        }
    }

    /// Its name in the run record (`cpu`, `cuda`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceSpec::Cpu => "cpu",
            DeviceSpec::Cuda => "cuda",
        }
    }
}

/// `--device cpu|cuda`.
impl textclf_core::Choices for DeviceSpec {
    const VALUES: &'static [DeviceSpec] = &[DeviceSpec::Cpu, DeviceSpec::Cuda];

    fn name(self) -> &'static str {
        DeviceSpec::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            DeviceSpec::Cpu => "",
            DeviceSpec::Cuda => "NVIDIA GPU 0 (needs a build with `--features cuda`)",
        }
    }
}

/// What only the caller can provide to a fine-tuning run: where a model name is found
/// (a folder, or the Hub), and how training progress is shown and stopped.
pub struct TrainEnv<'a> {
    pub resolve_model: &'a dyn Fn(&str) -> std::result::Result<PathBuf, String>,
    pub progress: &'a dyn Progress,
    /// Called when training ends (e.g. to clear a progress bar).
    pub training_done: &'a dyn Fn(),
}

impl TrainEnv<'static> {
    /// Models are folders; no progress is shown, and training is never stopped.
    pub fn plain() -> TrainEnv<'static> {
        fn as_folder(name: &str) -> std::result::Result<PathBuf, String> {
            Ok(PathBuf::from(name))
        }
        fn nothing() {}
        TrainEnv {
            resolve_model: &as_folder,
            progress: &textclf_train::Silent,
            training_done: &nothing,
        }
    }
}

/// An out-of-memory failure, as a type: a sweep retries such a run with a smaller batch.
#[derive(Debug, thiserror::Error)]
#[error("out of memory: {0}")]
pub struct OutOfMemory(pub String);

/// Whether `dir` holds a checkpoint to resume (the current one, or the previous one of an
/// interrupted swap).
pub fn has_checkpoint(dir: &Path) -> bool {
    CHECKPOINT_DIRS[..2]
        .iter()
        .any(|d| dir.join(d).join("state.json").is_file())
}

/// Removes a finished run's checkpoints (optimizer state included, about 4× the model).
pub fn remove_checkpoints(dir: &Path) -> Result<()> {
    for d in CHECKPOINT_DIRS {
        let p = dir.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).step(format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(())
}

/// Runs a fine-tuning experiment, writing its record into `out` (`target` is where the
/// run lands, for the closing message).
pub fn run_transformer(
    spec: &ExperimentSpec,
    s: &TransformerSpec,
    out: &Path,
    target: &Path,
    obs: &dyn Observer,
    env: &TrainEnv,
) -> Result<Finished> {
    let started = Instant::now();
    let mut timing = Timing::new();
    let dev = s.device.open()?;
    let lr = s.train.lr;
    if !(1e-7..=1e-2).contains(&lr) {
        obs.warn(&format!(
            "--lr {lr:e} is outside the range that fine-tuning uses (about 1e-6 to 1e-3; 2e-5 to 1e-4 for BERT-sized models): expect {}",
            if lr > 1e-2 { "the loss to diverge" } else { "the model to barely move" }
        ));
    }
    let seed = spec.data.seed;
    obs.phase("reading data");
    let t = Instant::now();
    let splits = prepare_splits(&spec.data, obs)?;
    crate::data::require_single_text_single_label(&splits, "`textclf train`")?;
    let (train, valid) = match splits.valid.clone() {
        Some(v) => (splits.train.clone(), v),
        None => {
            obs.note("no validation split given: holding out a stratified 10 % of train for validation and early stopping");
            holdout_valid(&splits.train, HOLDOUT_FRAC, seed)
        }
    };
    timing.add("read", t.elapsed().as_secs_f64());

    obs.phase(&format!("loading model {}", s.source));
    let t = Instant::now();
    let model_dir = (env.resolve_model)(&s.source).map_err(ExperimentError::Invalid)?;
    let labels = splits.label_set.clone();
    let opts = LoadOptions {
        num_labels: labels.len(),
        layers: s.layers,
        seed,
        device: dev.clone(),
    };
    let (mut model, report) = SequenceClassifier::load(&model_dir, &opts)
        .step(format!("cannot load the model in {}", model_dir.display()))?;
    model.set_grad_checkpoint(s.grad_checkpoint);
    let max_pos = model.max_tokens();
    if s.max_len > max_pos {
        return Err(ExperimentError::Invalid(format!(
            "--max-len {} exceeds the {max_pos} positions of {}",
            s.max_len, s.source
        )));
    }
    let encoder = TextEncoder::from_dir(&model_dir, s.max_len, s.truncation).step(format!(
        "cannot load the tokenizer of {}",
        model_dir.display()
    ))?;
    timing.add("load_model", t.elapsed().as_secs_f64());
    obs.finish();
    obs.note(&format!(
        "{} ({} layers{}, {:.1} M parameters); new: {}",
        model.hf_class(),
        model.config.num_layers,
        s.layers
            .map_or(String::new(), |_| format!(" kept {:?}", report.kept_layers)),
        model.params.num_params() as f64 / 1e6,
        if report.fresh.is_empty() {
            "none".to_string()
        } else {
            report.fresh.join(", ")
        }
    ));

    let token_lengths = token_length_summary(&encoder, &train, s.max_len)?;
    simulated_oom_check(s.train.batch_size)?;
    check_class_weights(&spec.class_weights, labels.len())?;
    let cfg = TrainConfig {
        seed,
        class_weights: class_weight_vector(&spec.class_weights, &train.class_counts()),
        ..s.train.clone()
    };
    cfg.check().step("invalid training settings")?;

    let t = Instant::now();
    let outcome = Trainer {
        model: &mut model,
        encoder: &encoder,
        config: cfg.clone(),
        ckpt_dir: out.join("checkpoint"),
    }
    .fit(&train, Some(&valid), s.resume, env.progress);
    (env.training_done)();
    let outcome = match outcome {
        Err(e @ TrainError::Interrupted { .. }) => return Err(ExperimentError::Interrupted(e)),
        other => other.step("training failed")?,
    };
    timing.add("train", t.elapsed().as_secs_f64());

    let clf = TransformerClassifier::new(
        model,
        encoder,
        labels.clone(),
        InferenceSettings {
            max_len: s.max_len,
            truncation: s.truncation,
            eval_batch_size: cfg.eval_batch_size,
        },
    );
    let test_eval = predict_and_evaluate(
        &clf,
        &splits.test,
        spec.eval.bootstrap,
        seed,
        &mut timing,
        obs,
        "test",
    )?;
    // Validation is only used for selection here: its bootstrap CIs are not needed.
    let valid_eval = predict_and_evaluate(&clf, &valid, 0, seed, &mut timing, obs, "valid")?;
    write_valid_predictions(out, &clf, &valid, &valid_eval)?;
    if spec.save_model {
        save_model(&clf, out, &mut timing, obs)?;
    }
    timing.add("total", started.elapsed().as_secs_f64());

    // Per-epoch records: inside metrics.json, and epochs.csv for spreadsheets.
    let epochs: Vec<EpochRecord> = outcome.history.iter().map(epoch_record).collect();
    textclf_runs::write_epochs_csv(out, &epochs)?;
    let best = outcome.best.map(|i| &outcome.history[i]);
    let run = RunBody::Train(TrainRun {
        epochs,
        best_epoch: best.map(|b| b.epoch + 1),
        best: best.map(epoch_record),
        val_accuracy_at_min_val_loss: outcome.val_accuracy_at_min_val_loss,
        valid: Some(valid_summary(&valid_eval.report)),
        stopped_early: outcome.stopped_early,
        restored_best_weights: outcome.restored_best_weights,
        averaged: outcome.averaged.as_ref().map(averaged_record),
        model: TransformerModel {
            kind: clf.kind().to_string(),
            source: s.source.clone(),
            class: clf.model.hf_class().to_string(),
            layers: clf.model.config.num_layers,
            kept_layers: Some(report.kept_layers.clone()),
            parameters: Some(clf.model.params.num_params() as u64),
            fresh_parameters: report.fresh.clone(),
            max_len: s.max_len,
            truncation: serde_json::to_value(s.truncation)?
                .as_str()
                .map(str::to_string),
            train_config: serde_json::to_value(&cfg)?,
            grad_checkpoint: s.grad_checkpoint,
            device: Some(s.device.name().to_string()),
        },
        data: TrainData {
            labels: labels.names().to_vec(),
            train: split_info(&train),
            valid: Some(split_info(&valid)),
            test: split_info(&splits.test),
            seed,
            notes: splits.notes.clone(),
            token_lengths,
        },
    });
    write_run(out, &clf, &splits.test, &test_eval, &timing, run)?;
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
        if spec.save_model {
            " and model/ (loads in transformers)"
        } else {
            ""
        }
    ));
    if s.keep_checkpoint {
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

/// Token lengths (untruncated) of up to 2000 evenly spaced training texts, and the share
/// longer than `max_len`: what `textclf advise` reads to suggest longer contexts.
fn token_length_summary(
    encoder: &TextEncoder,
    train: &Dataset,
    max_len: usize,
) -> Result<Option<TokenLengths>> {
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
        .step("cannot count the token lengths of the training texts")?;
    lens.sort_unstable();
    if lens.is_empty() {
        return Ok(None);
    }
    let q = |p: f64| lens[((lens.len() - 1) as f64 * p).round() as usize];
    let over = lens.iter().filter(|&&l| l > max_len).count();
    Ok(Some(TokenLengths {
        max_len,
        sampled: lens.len(),
        truncated_share: over as f64 / lens.len() as f64,
        p50: q(0.5),
        p90: q(0.9),
        max: lens[lens.len() - 1],
        pairs: None,
    }))
}

/// Testing hook for the sweep's out-of-memory retry: with `TEXTCLF_SIMULATE_OOM_ABOVE_BATCH=N`
/// in the environment, a batch size above N fails the way an out-of-memory error does.
/// The run records it as `out_of_memory` in its status.json, as it does a device's own
/// out-of-memory error; on the CPU an allocation failure aborts the process, which the sweep
/// recognises by its abort and the allocator's message.
fn simulated_oom_check(batch_size: usize) -> Result<()> {
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

/// The run record of one validation: epochs count from 1 in the record, as in
/// `best_epoch`, `epochs.csv` and the console.
fn epoch_record(r: &EvalRecord) -> EpochRecord {
    EpochRecord {
        epoch: r.epoch + 1,
        step: r.step,
        epoch_end: r.epoch_end,
        train_loss: r.train_loss,
        train_accuracy: r.train_accuracy,
        val_loss: r.val_loss,
        val_accuracy: r.val_accuracy,
        val_macro_f1: r.val_macro_f1,
        lr: r.lr,
        train_seconds: r.train_seconds,
        samples_per_s: r.samples_per_s,
        tokens_per_s: r.tokens_per_s,
        padding_waste: r.padding_waste,
    }
}

/// The run record of the weight average.
fn averaged_record(a: &AveragedWeights) -> AveragedRecord {
    AveragedRecord {
        from_step: a.from_step,
        count: a.count,
        val_loss: a.val_loss,
        val_accuracy: a.val_accuracy,
        val_macro_f1: a.val_macro_f1,
        kept: a.kept,
    }
}
