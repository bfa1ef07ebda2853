//! `textclf bench`: step and inference timings on synthetic batches, printed as JSON so
//! they can be compared with the PyTorch reference script `bench/torch_step.py`.

use std::time::Instant;

use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use textclf_models::profile::{self, OpTime, Phase};
use textclf_models::{cross_entropy, EncodedBatch, LoadOptions, SequenceClassifier};
use textclf_train::optim::{clip_factor, grad_norm, AdamW, AdamWConfig};

use crate::args::{BenchArgs, GemmArgs};
use crate::ui::Ui;

fn synthetic_batch(
    model: &SequenceClassifier,
    batch: usize,
    len: usize,
    seed: u64,
) -> EncodedBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let vocab = model.config.vocab_size as u32;
    let pad = model.config.pad_token_id;
    let mut ids = vec![pad; batch * len];
    let mut mask = vec![0u32; batch * len];
    for r in 0..batch {
        let l = rng.random_range(len.div_ceil(2)..=len);
        for c in 0..l {
            ids[r * len + c] = rng.random_range(1000.min(vocab - 1)..vocab);
            mask[r * len + c] = 1;
        }
    }
    EncodedBatch {
        batch,
        len,
        ids,
        mask,
        type_ids: vec![0; batch * len],
    }
}

fn summary(ms: &mut [f64]) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 {
        ms[n / 2]
    } else {
        (ms[n / 2 - 1] + ms[n / 2]) / 2.0
    };
    json!({ "median_ms": median, "min_ms": ms[0], "max_ms": ms[n - 1] })
}

/// Per-step milliseconds of each op kind, plus an `other` row per phase for the time no
/// span covered (candle's built-in ops and bookkeeping outside the spans), as JSON, and a
/// table through `ui`. `phase_ms` are the measured medians of the phases' wall times.
fn profile_report(
    ops: &[OpTime],
    steps: usize,
    phase_ms: &[(Phase, f64)],
    ui: &Ui,
) -> serde_json::Value {
    let per_step = |s: f64| s * 1e3 / steps.max(1) as f64;
    let mut rows = vec![];
    let mut lines = vec![format!(
        "{:<10} {:<16} {:>10} {:>8} {:>7}",
        "phase", "op", "ms/step", "calls", "share"
    )];
    for &(phase, wall) in phase_ms {
        let mut these: Vec<(String, f64, u64)> = ops
            .iter()
            .filter(|o| o.phase == phase)
            .map(|o| {
                (
                    o.op.to_string(),
                    per_step(o.seconds),
                    o.calls / steps.max(1) as u64,
                )
            })
            .collect();
        let covered: f64 = these.iter().map(|t| t.1).sum();
        these.push(("other".into(), (wall - covered).max(0.0), 0));
        let name = serde_json::to_value(phase).unwrap_or_default();
        let name = name.as_str().unwrap_or("?").to_string();
        for (op, ms, calls) in these {
            let share = if wall > 0.0 { ms / wall } else { 0.0 };
            lines.push(format!(
                "{name:<10} {op:<16} {ms:>10.1} {calls:>8} {:>6.1}%",
                share * 100.0
            ));
            rows.push(json!({ "phase": name, "op": op, "ms_per_step": ms, "calls_per_step": calls, "share_of_phase": share }));
        }
    }
    ui.note(&lines.join("\n"));
    json!(rows)
}

fn load(a: &BenchArgs) -> anyhow::Result<SequenceClassifier> {
    let opts = LoadOptions {
        num_labels: 2,
        layers: None,
        seed: 0,
        device: a.device.open()?,
    };
    let (m, _) = SequenceClassifier::load(&a.model, &opts)
        .with_context(|| format!("cannot load {}", a.model.display()))?;
    Ok(m)
}

pub fn train_step(a: BenchArgs, ui: &Ui) -> anyhow::Result<()> {
    if a.int8 {
        anyhow::bail!("--int8 is for `bench infer` (training runs in f32)");
    }
    let mut model = load(&a)?;
    model.set_grad_checkpoint(a.grad_checkpoint);
    if !a.dropout {
        model.config.hidden_dropout = 0.0;
        model.config.attention_dropout = 0.0;
        model.config.classifier_dropout = 0.0;
    }
    let b = synthetic_batch(&model, a.batch, a.len, 1);
    let labels: Vec<u32> = (0..a.batch as u32).map(|i| i % 2).collect();
    let mut opt = AdamW::new(&model.params, AdamWConfig::default())?;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (mut fwd, mut bwd, mut optim, mut total) = (vec![], vec![], vec![], vec![]);
    for s in 0..a.warmup + a.steps {
        profile::set_enabled(a.profile && s >= a.warmup);
        let t0 = Instant::now();
        let out = model.forward(&b, a.dropout.then_some(&mut rng), false)?;
        let loss = cross_entropy(&out.logits, &labels, None)?;
        let _: f32 = loss.to_scalar()?;
        let t1 = Instant::now();
        let grads = opt.collect_grads(&model.params, &model.backward(&out, &loss)?)?;
        // Accelerators run asynchronously: wait for the work before reading the clock.
        model.device().synchronize()?;
        let t2 = Instant::now();
        let scale = clip_factor(grad_norm(&grads)?, Some(1.0));
        opt.step(&model.params, &grads, 1e-4, scale)?;
        model.device().synchronize()?;
        let t3 = Instant::now();
        if s >= a.warmup {
            fwd.push((t1 - t0).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            optim.push((t3 - t2).as_secs_f64() * 1e3);
            total.push((t3 - t0).as_secs_f64() * 1e3);
            ui.note(&format!(
                "step {}: {:.0} ms",
                s - a.warmup + 1,
                (t3 - t0).as_secs_f64() * 1e3
            ));
        }
    }
    profile::set_enabled(false);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let phases = [
        (Phase::Forward, mean(&fwd)),
        (Phase::Backward, mean(&bwd)),
        (Phase::Optimizer, mean(&optim)),
    ];
    let mut v = json!({
        "bench": "train-step", "model": a.model.display().to_string(), "batch": a.batch, "len": a.len,
        "dropout": a.dropout, "grad_checkpoint": a.grad_checkpoint, "threads": rayon::current_num_threads(), "steps": a.steps,
        "step": summary(&mut total), "forward": summary(&mut fwd), "backward": summary(&mut bwd), "optimizer": summary(&mut optim),
    });
    if a.profile {
        v["profile"] = profile_report(&profile::take(), a.steps, &phases, ui);
    }
    println!("{}", serde_json::to_string(&v)?);
    Ok(())
}

pub fn infer(a: BenchArgs, ui: &Ui) -> anyhow::Result<()> {
    if a.grad_checkpoint {
        anyhow::bail!(
            "--grad-checkpoint is for `bench train-step` (inference keeps no activations)"
        );
    }
    let mut model = load(&a)?;
    if a.int8 {
        model.quantize_int8()?;
    }
    let b = synthetic_batch(&model, a.batch, a.len, 1);
    let mut times = vec![];
    for s in 0..a.warmup + a.steps {
        profile::set_enabled(a.profile && s >= a.warmup);
        let t0 = Instant::now();
        let logits: Vec<f32> = model.infer(&b)?.flatten_all()?.to_vec1()?;
        std::hint::black_box(logits);
        if s >= a.warmup {
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            ui.note(&format!("batch {}: {ms:.0} ms", s - a.warmup + 1));
            times.push(ms);
        }
    }
    profile::set_enabled(false);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let sum = summary(&mut times);
    let seq_per_s = a.batch as f64 / (sum["median_ms"].as_f64().unwrap_or(f64::NAN) / 1e3);
    let v = json!({
        "bench": "infer", "model": a.model.display().to_string(), "batch": a.batch, "len": a.len, "int8": a.int8,
        "threads": rayon::current_num_threads(), "steps": a.steps, "batch_time": sum, "seq_per_s": seq_per_s,
    });
    let mut v = v;
    if a.profile {
        v["profile"] = profile_report(&profile::take(), a.steps, &[(Phase::Forward, mean)], ui);
    }
    println!("{}", serde_json::to_string(&v)?);
    Ok(())
}

/// Median time and GFLOP/s of `C[m×n] = A·B` (B given as `[n, k]`, the weight layout).
pub fn gemm(a: GemmArgs) -> anyhow::Result<()> {
    if a.m == 0 || a.n == 0 || a.k == 0 || a.reps == 0 {
        anyhow::bail!("--m, --n, --k and --reps must be positive");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let lhs: Vec<f32> = (0..a.m * a.k)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let rhs: Vec<f32> = (0..a.n * a.k)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut dst = vec![0f32; a.m * a.n];
    // A: [m, k] row-major, or [k, m] read transposed; B: [n, k] read transposed.
    let lhs_strides = if a.transpose_a { (1, a.m) } else { (a.k, 1) };
    let mut ms = vec![];
    for r in 0..a.reps + 2 {
        let t = Instant::now();
        textclf_models::fused::sgemm(
            a.m,
            a.n,
            a.k,
            &mut dst,
            false,
            (&lhs, lhs_strides.0, lhs_strides.1),
            (&rhs, 1, a.k),
        );
        std::hint::black_box(&dst);
        if r >= 2 {
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let s = summary(&mut ms);
    let med = s["median_ms"].as_f64().unwrap_or(f64::NAN);
    let v = json!({
        "bench": "gemm", "impl": "gemm crate", "m": a.m, "n": a.n, "k": a.k, "transpose_a": a.transpose_a,
        "threads": rayon::current_num_threads(), "time": s, "gflops": 2.0 * (a.m * a.n * a.k) as f64 / med / 1e6,
    });
    println!("{}", serde_json::to_string(&v)?);
    Ok(())
}
