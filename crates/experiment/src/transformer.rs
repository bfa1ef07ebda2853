//! The transformer family: fine-tune a BERT-family encoder with early stopping on the
//! validation split (without one, on a stratified share of train held out for it,
//! `--valid-frac`, 10 % by default).

use std::path::Path;
use std::time::Instant;

use textclf_core::{Classifier, Dataset, Task};
use textclf_data::Splits;
use textclf_eval::Timing;
use textclf_models::{LoadOptions, SequenceClassifier};
use textclf_runs::{
    EpochRecord, PairTruncation as PairTruncationRecord, RunBody, TokenLengths, TrainData,
    TrainRun, TransformerModel,
};
use textclf_train::tokenize::{PairTruncation, TextEncoder};
use textclf_train::{
    balanced_pos_weights, outputs_for, InferenceSettings, TrainConfig, TrainError, Trainer,
    TransformerClassifier,
};

use crate::data::holdout_valid;
use crate::error::{ExperimentError, OutOfMemory, Result, Step};
use crate::fine_tune::{TrainEnv, TransformerSpec};
use crate::fit::{Fit, Fitted};
use crate::observer::Observer;
use crate::record::split_info;
use crate::spec::{ClassWeights, ExperimentSpec};
use crate::weights::{check_class_weights, class_weight_vector};

/// A warning for a learning rate far outside what fine-tuning uses; `None` inside it.
fn lr_warning(lr: f64) -> Option<String> {
    (!(1e-7..=1e-2).contains(&lr)).then(|| {
        format!(
            "--lr {lr:e} is outside the range that fine-tuning uses (about 1e-6 to 1e-3; 2e-5 to 1e-4 for BERT-sized models): expect {}",
            if lr > 1e-2 { "the loss to diverge" } else { "the model to barely move" }
        )
    })
}

impl Fit for TransformerSpec {
    fn check(&self, _spec: &ExperimentSpec, obs: &dyn Observer) -> Result<()> {
        self.device.open()?;
        if let Some(w) = lr_warning(self.train.lr) {
            obs.warn(&w);
        }
        Ok(())
    }

    fn fit(
        &self,
        spec: &ExperimentSpec,
        splits: &Splits,
        out: &Path,
        obs: &dyn Observer,
        env: &TrainEnv,
        timing: &mut Timing,
    ) -> Result<Fitted> {
        fit_transformer(spec, self, splits, out, obs, env, timing)
    }
}

/// Fine-tunes `s.source` on `splits` (early stopping on the validation split, or on a
/// stratified share of train held out for it, `spec.data.valid_frac`).
fn fit_transformer(
    spec: &ExperimentSpec,
    s: &TransformerSpec,
    splits: &Splits,
    out: &Path,
    obs: &dyn Observer,
    env: &TrainEnv,
    timing: &mut Timing,
) -> Result<Fitted> {
    let dev = s.device.open()?;
    let seed = spec.data.seed;
    let task = splits.train.task();
    let pairs = splits.train.pairs.is_some();
    let (train, valid) = match splits.valid.clone() {
        Some(v) => (splits.train.clone(), v),
        None => {
            let frac = spec.data.valid_frac;
            obs.note(&format!("no validation split given: holding out a stratified {} % of train for validation and early stopping", (frac * 1000.0).round() / 10.0));
            let (rest, held) = holdout_valid(&splits.train, frac, seed);
            if let Some(w) = textclf_data::small_validation(
                held.len(),
                "the share of train held out for validation (--valid-frac; or give --valid)",
            ) {
                obs.warn(&w);
            }
            (rest, held)
        }
    };

    obs.phase(&format!("loading model {}", s.source));
    let t = Instant::now();
    let model_dir = (env.resolve_model)(&s.source).map_err(ExperimentError::Invalid)?;
    let labels = splits.label_set.clone();
    let opts = LoadOptions {
        num_labels: outputs_for(task, &labels),
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
    let encoder = TextEncoder::from_dir(&model_dir, s.max_len, s.truncation)
        .step(format!(
            "cannot load the tokenizer of {}",
            model_dir.display()
        ))?
        .with_pair_truncation(s.pair_truncation);
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
    let class_weights = match task {
        Task::Regression => {
            if spec.class_weights != ClassWeights::None {
                return Err(ExperimentError::Invalid(
                    "class weights are for classification; a regression has none (drop --class-weights)".into(),
                ));
            }
            None
        }
        Task::MultiLabel => {
            check_class_weights(&spec.class_weights, labels.len())?;
            match &spec.class_weights {
                // Per-label positive weights (torch's pos_weight): negatives over positives.
                ClassWeights::Balanced => {
                    Some(balanced_pos_weights(&train).step("cannot weigh the labels")?)
                }
                w => class_weight_vector(w, &train.class_counts()),
            }
        }
        Task::SingleLabel => {
            check_class_weights(&spec.class_weights, labels.len())?;
            class_weight_vector(&spec.class_weights, &train.class_counts())
        }
    };
    let cfg = TrainConfig {
        seed,
        class_weights,
        ..s.train.clone()
    };
    cfg.check()
        .map_err(TrainError::Config)
        .step("invalid training settings")?;

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

    let thresholds = outcome.thresholds.as_ref().map(|t| t.values());
    let clf = TransformerClassifier::new(
        model,
        encoder,
        labels.clone(),
        InferenceSettings {
            max_len: s.max_len,
            truncation: s.truncation,
            eval_batch_size: cfg.eval_batch_size,
        },
    )
    .with_task(task)
    .with_thresholds(thresholds)
    .with_pairs(pairs);

    // Per-epoch records: inside metrics.json, and epochs.csv for spreadsheets.
    let epochs: Vec<EpochRecord> = outcome.history.clone();
    textclf_runs::write_epochs_csv(out, &epochs)?;
    let best = outcome.best.map(|i| &outcome.history[i]);
    let body = RunBody::Train(TrainRun {
        epochs,
        best_epoch: best.map(|b| b.epoch),
        best: best.cloned(),
        val_accuracy_at_min_val_loss: outcome.val_accuracy_at_min_val_loss,
        valid: None,
        stopped_early: outcome.stopped_early,
        restored_best_weights: outcome.restored_best_weights,
        averaged: outcome.averaged.clone(),
        thresholds: outcome.thresholds.clone(),
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
            train_config: cfg,
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
    let title = format!(
        "{} fine-tuned on {} ({} test {})",
        clf.kind(),
        train.name,
        splits.test.len(),
        if pairs { "pairs" } else { "texts" }
    );
    let mut trailer = String::new();
    if let Some(b) = best {
        trailer.push_str(&format!(
            "best validation: epoch {} (val loss {:.4}{}); {}{}\n",
            b.epoch,
            b.val_loss,
            match task {
                Task::SingleLabel => format!(", val accuracy {:.4}", b.val_accuracy),
                Task::MultiLabel => format!(
                    ", val micro-F1 at 0.5 {}",
                    b.val_micro_f1.map_or("-".into(), |v| format!("{v:.4}"))
                ),
                Task::Regression => format!(
                    ", val Pearson {}",
                    b.val_pearson.map_or("-".into(), |v| format!("{v:.4}"))
                ),
            },
            match task {
                Task::SingleLabel => format!(
                    "val accuracy at min val loss: {}",
                    outcome
                        .val_accuracy_at_min_val_loss
                        .map_or("-".into(), |v| format!("{v:.4}"))
                ),
                _ => String::new(),
            },
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
    if let Some(t) = &outcome.thresholds {
        let v = t.values();
        trailer.push_str(&format!(
            "per-label thresholds tuned on validation: from {:.2} to {:.2}\n",
            v.iter().copied().fold(f32::INFINITY, f32::min),
            v.iter().copied().fold(f32::NEG_INFINITY, f32::max)
        ));
    }
    let mut files_note = String::new();
    if spec.save_model {
        files_note.push_str(" (loads in transformers)");
    }
    if s.keep_checkpoint {
        files_note.push_str(" (checkpoint/ kept)");
    }
    Ok(Fitted {
        model: Box::new(clf),
        valid: Some(valid),
        holdout: None,
        body,
        title,
        trailer,
        extra_files: vec!["epochs.csv".into()],
        files_note,
        remove_checkpoints: !s.keep_checkpoint,
    })
}

/// Token lengths (untruncated) of up to 2000 evenly spaced training texts, and the share
/// longer than `max_len`: what `textclf advise` reads to suggest longer contexts. For
/// sentence pairs the lengths are of the encoded pairs (both texts and the special
/// tokens), and `pairs` says how truncation fell on the two texts.
fn token_length_summary(
    encoder: &TextEncoder,
    train: &Dataset,
    max_len: usize,
) -> Result<Option<TokenLengths>> {
    const SAMPLE: usize = 2000;
    let n = train.len();
    let step = n.div_ceil(SAMPLE).max(1);
    let sample = |v: &[String]| -> Vec<String> { v.iter().step_by(step).cloned().collect() };
    let first = sample(&train.texts);
    let refs: Vec<&str> = first.iter().map(String::as_str).collect();
    let what = "cannot count the token lengths of the training texts";
    let first_lens = encoder.full_lengths(&refs).step(what)?;
    let (mut lens, pairs) = match &train.pairs {
        None => (first_lens, None),
        Some(p) => {
            let second = sample(p);
            let refs: Vec<&str> = second.iter().map(String::as_str).collect();
            let second_lens = encoder.full_lengths(&refs).step(what)?;
            let cut = pair_truncation(encoder, &first_lens, &second_lens, max_len);
            // full_lengths counts 2 special tokens per text; a pair has 3 (BERT) or 4
            // (RoBERTa) in all.
            let specials = if encoder.double_separator() { 4 } else { 3 };
            let lens = first_lens
                .iter()
                .zip(&second_lens)
                .map(|(a, b)| a.saturating_sub(2) + b.saturating_sub(2) + specials)
                .collect();
            (lens, cut)
        }
    };
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
        pairs,
    }))
}

/// How the encoder's pair truncation falls on sampled pairs whose texts have
/// `first`/`second` tokens (each with its 2 special tokens): the share of pairs whose
/// first and whose second text lose tokens, and the median length of each side.
fn pair_truncation(
    encoder: &TextEncoder,
    first: &[usize],
    second: &[usize],
    max_len: usize,
) -> Option<PairTruncationRecord> {
    if first.is_empty() {
        return None;
    }
    let specials = if encoder.double_separator() { 4 } else { 3 };
    let budget = max_len.saturating_sub(specials);
    let strategy = encoder.pair_truncation();
    let (mut cut_a, mut cut_b) = (0usize, 0usize);
    for (&a, &b) in first.iter().zip(second) {
        let (a, b) = (a.saturating_sub(2), b.saturating_sub(2));
        let (ka, kb) = kept(strategy, a, b, budget);
        cut_a += usize::from(ka < a);
        cut_b += usize::from(kb < b);
    }
    let median = |v: &[usize]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v[(v.len() - 1) / 2].saturating_sub(2)
    };
    let n = first.len() as f64;
    Some(PairTruncationRecord {
        strategy: strategy.as_str().to_string(),
        first_cut_share: cut_a as f64 / n,
        second_cut_share: cut_b as f64 / n,
        first_p50: median(first),
        second_p50: median(second),
    })
}

/// Tokens of a pair's two texts (`a`, `b` content tokens) kept under `strategy` within
/// `budget`: as [`PairTruncation::apply`] cuts them (a strategy that cannot fit the pair
/// cuts what it may and the pair is counted as cut on that side).
fn kept(strategy: PairTruncation, a: usize, b: usize, budget: usize) -> (usize, usize) {
    strategy.lengths(a, b, budget).unwrap_or(match strategy {
        PairTruncation::OnlySecond => (a, budget.saturating_sub(a)),
        _ => (budget.saturating_sub(b), b),
    })
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

#[cfg(test)]
mod tests {
    use super::lr_warning;

    #[test]
    fn a_learning_rate_far_outside_fine_tuning_is_warned_about() {
        for fine in [1e-6, 2e-5, 5e-5, 1e-3] {
            assert_eq!(lr_warning(fine), None, "{fine}");
        }
        let high = lr_warning(1e6).unwrap();
        assert!(high.contains("1e6") && high.contains("diverge"), "{high}");
        let low = lr_warning(1e-9).unwrap();
        assert!(low.contains("barely move"), "{low}");
    }
}
