//! Fuzzing of every input textclf parses: the CSV/TSV/JSONL/Parquet/gzip/folder readers,
//! sweep TOML files, a linear model's model.json and weights, a transformer's
//! config.json, a saved classifier folder (config, textclf.json, tokenizer config,
//! safetensors, manifest) and a checkpoint (state.json, manifest, weights, optimizer
//! moments, best weights and weight average, through a resume). Each target mutates the
//! seed corpus in `fuzz/seeds/` (byte flips, insertions, deletions, duplications,
//! splices, truncations) and calls the parser in process: it must return `Ok` or `Err`,
//! never panic.
//!
//! In the test suite each target runs a few hundred inputs. For a long run, each test
//! (one target: the readers, sweep files, config.json, linear model files, saved
//! classifier folders, checkpoints) runs for `TEXTCLF_FUZZ_SECONDS`, shared among its
//! loops (the figures in README's Testing section):
//!
//! ```sh
//! TEXTCLF_FUZZ_SECONDS=600 cargo test --release -p textclf-cli --test fuzz -- --nocapture
//! ```

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds")
}

fn seed(name: &str) -> Vec<u8> {
    fs::read(seeds_dir().join(name)).unwrap()
}

/// How long (or how many inputs) each target runs.
struct Budget {
    until: Option<Instant>,
    cases: usize,
}

impl Budget {
    /// `share`: the part of `TEXTCLF_FUZZ_SECONDS` this loop gets (the loops of one test,
    /// one target, share its time).
    fn from_env(cases: usize, share: f64) -> Self {
        let secs = std::env::var("TEXTCLF_FUZZ_SECONDS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok());
        Budget {
            until: secs.map(|s| Instant::now() + Duration::from_secs_f64(s * share)),
            cases,
        }
    }

    fn go_on(&self, done: usize) -> bool {
        match self.until {
            Some(t) => Instant::now() < t,
            None => done < self.cases,
        }
    }
}

/// One random mutation of `data` (using `other` for splices).
fn mutate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, other: &[u8]) {
    const INTERESTING: &[&[u8]] = &[
        b"\"",
        b",",
        b"\n",
        b"\t",
        b"\r\n",
        b"{",
        b"}",
        b"[",
        b"]",
        b"null",
        b"-1",
        b"1e309",
        b"NaN",
        b"\xff\xfe",
        b"\x00",
        b"=",
        b"\\",
        b"99999999999999999999",
        b"\"\"\"",
        b"'",
    ];
    let len = data.len();
    match rng.random_range(0..7) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            let i = rng.random_range(0..=len);
            let n = rng.random_range(1..16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            data.splice(i..i, bytes);
        }
        2 if len > 0 => {
            let i = rng.random_range(0..len);
            let j = (i + rng.random_range(1..64)).min(len);
            data.drain(i..j);
        }
        3 if len > 0 => {
            let i = rng.random_range(0..len);
            let j = (i + rng.random_range(1..64)).min(len);
            let piece = data[i..j].to_vec();
            let at = rng.random_range(0..=data.len());
            data.splice(at..at, piece);
        }
        4 if !other.is_empty() => {
            let i = rng.random_range(0..other.len());
            let j = (i + rng.random_range(1..64)).min(other.len());
            let at = rng.random_range(0..=len);
            data.splice(at..at, other[i..j].iter().copied());
        }
        5 => {
            let at = rng.random_range(0..=len);
            let s = INTERESTING[rng.random_range(0..INTERESTING.len())];
            data.splice(at..at, s.iter().copied());
        }
        _ if len > 0 => data.truncate(rng.random_range(0..len)),
        _ => data.push(rng.random()),
    }
}

/// Runs `check` on mutations of `seeds` until the budget is spent; returns the count.
fn fuzz(
    name: &str,
    seeds: &[Vec<u8>],
    cases: usize,
    share: f64,
    mut check: impl FnMut(&[u8]),
) -> usize {
    let budget = Budget::from_env(cases, share);
    let mut rng = ChaCha8Rng::seed_from_u64(
        name.bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)),
    );
    let mut done = 0;
    while budget.go_on(done) {
        let k = rng.random_range(0..seeds.len());
        let mut data = seeds[k].clone();
        for _ in 0..rng.random_range(1..8) {
            let other = &seeds[rng.random_range(0..seeds.len())];
            mutate(&mut rng, &mut data, other);
        }
        check(&data);
        done += 1;
    }
    eprintln!("fuzz {name}: {done} inputs, no panic");
    done
}

#[test]
fn fuzz_table_readers() {
    use textclf_data::{read_table, ReadOptions};
    let tmp = tempfile::tempdir().unwrap();
    let seeds = vec![seed("a.csv"), seed("a.tsv"), seed("a.jsonl")];
    let gz = |b: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, b).unwrap();
        e.finish().unwrap()
    };
    let gz_seeds: Vec<Vec<u8>> = seeds.iter().map(|s| gz(s)).collect();
    let opts = [ReadOptions::labelled(), ReadOptions::unlabelled()];
    let check = |p: &Path| {
        for o in &opts {
            if let Ok(t) = read_table(p, o) {
                assert_eq!(t.ids.len(), t.texts.len());
            }
        }
    };
    fuzz("text", &seeds, 300, 0.25, |b| {
        for name in ["x.csv", "x.tsv", "x.jsonl"] {
            let p = tmp.path().join(name);
            fs::write(&p, b).unwrap();
            check(&p);
        }
    });
    fuzz("gzip", &gz_seeds, 150, 0.25, |b| {
        let p = tmp.path().join("x.csv.gz");
        fs::write(&p, b).unwrap();
        check(&p);
    });
    // Parquet: write a real file once, then mutate its bytes.
    let parquet = tmp.path().join("seed.parquet");
    assert!(write_parquet_seed(&parquet));
    let t = read_table(&parquet, &ReadOptions::labelled()).expect("the Parquet seed reads");
    assert!(t.len() >= 3);
    let pseeds = vec![fs::read(&parquet).unwrap()];
    fuzz("parquet", &pseeds, 150, 0.25, |b| {
        let p = tmp.path().join("x.parquet");
        fs::write(&p, b).unwrap();
        check(&p);
    });
    // Folder-per-class: mutated file contents and names.
    fuzz("folder", &seeds, 100, 0.25, |b| {
        let d = tmp.path().join("folder");
        let _ = fs::remove_dir_all(&d);
        let name = String::from_utf8_lossy(&b[..b.len().min(12)])
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>();
        for class in ["pos", if name.is_empty() { "neg" } else { &name }] {
            fs::create_dir_all(d.join(class)).unwrap();
            fs::write(d.join(class).join("1.txt"), b).unwrap();
        }
        check(&d);
    });
}

/// Copies the committed Parquet seed (`fuzz/seeds/a.parquet`, written by pyarrow) to
/// `path`.
fn write_parquet_seed(path: &Path) -> bool {
    fs::copy(seeds_dir().join("a.parquet"), path).unwrap();
    true
}

#[test]
fn fuzz_sweep_files() {
    use textclf_sweep::{expand, SweepConfig};
    let seeds = vec![seed("a.toml")];
    let dir = tempfile::tempdir().unwrap();
    fuzz("sweep-toml", &seeds, 400, 1.0, |b| {
        let text = String::from_utf8_lossy(b);
        if let Ok(cfg) = SweepConfig::parse(&text, "s", dir.path()) {
            let _ = expand(&cfg);
        }
    });
}

#[test]
fn fuzz_model_configs() {
    let seeds = vec![seed("config.json")];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.json");
    fuzz("config-json", &seeds, 400, 1.0, |b| {
        fs::write(&p, b).unwrap();
        let _ = textclf_models::ModelConfig::from_file(&p);
    });
}

#[test]
fn fuzz_linear_model_files() {
    use textclf_core::{Classifier, Dataset, LabelSet};
    let tmp = tempfile::tempdir().unwrap();
    let labels = LabelSet::new(vec!["neg".into(), "pos".into()]).unwrap();
    let texts: Vec<String> = (0..40)
        .map(|i| format!("{} film {}", ["bad", "good"][i % 2], i % 5))
        .collect();
    let data = Dataset::new(
        "t".to_string(),
        (0..40).map(|i| i.to_string()).collect(),
        texts,
        (0..40).map(|i| i % 2).collect(),
        labels,
    )
    .unwrap();
    let mut params = textclf_linear::LinearParams::new(textclf_linear::LinearKind::Lr);
    params.c = Some(1.0);
    let (model, _) = textclf_linear::fit(&params, &data, None).unwrap();
    let good = tmp.path().join("good");
    model.save(&good).unwrap();
    let json = fs::read(good.join("model.json")).unwrap();
    let weights = fs::read(good.join("model.safetensors")).unwrap();
    let d = tmp.path().join("m");
    fs::create_dir_all(&d).unwrap();
    fuzz(
        "model-json",
        &[json.clone(), seed("linear-model.json")],
        300,
        0.5,
        |b| {
            fs::write(d.join("model.json"), b).unwrap();
            fs::write(d.join("model.safetensors"), &weights).unwrap();
            if let Ok(m) = textclf_linear::LinearClassifier::load(&d) {
                let _ = m.predict_proba(&["a good film", ""]);
            }
        },
    );
    fuzz(
        "linear-safetensors",
        std::slice::from_ref(&weights),
        300,
        0.5,
        |b| {
            fs::write(d.join("model.json"), &json).unwrap();
            fs::write(d.join("model.safetensors"), b).unwrap();
            if let Ok(m) = textclf_linear::LinearClassifier::load(&d) {
                let _ = m.predict_proba(&["a good film"]);
            }
        },
    );
}

#[test]
fn fuzz_saved_classifier_and_checkpoint_folders() {
    use textclf_core::{Classifier, LabelSet};
    use textclf_train::tokenize::{TextEncoder, Truncation};
    let tmp = tempfile::tempdir().unwrap();
    let tiny = common::shared_dir().join("fixtures/parity/bert-tiny");
    let labels = LabelSet::new(vec!["neg".into(), "pos".into()]).unwrap();
    let opts = textclf_models::LoadOptions {
        num_labels: 2,
        layers: None,
        seed: 1,
        device: candle_core::Device::Cpu,
    };
    let (model, _) = textclf_models::SequenceClassifier::load(&tiny, &opts).unwrap();
    let enc = TextEncoder::from_dir(&tiny, 16, Truncation::Head).unwrap();
    let clf = textclf_train::TransformerClassifier::new(
        model,
        enc,
        labels,
        textclf_train::InferenceSettings {
            max_len: 16,
            truncation: Truncation::Head,
            eval_batch_size: 4,
        },
    );
    let good = tmp.path().join("good");
    clf.save(&good).unwrap();
    textclf_runs::write_manifest(&good, Some("fp")).unwrap();
    let d = tmp.path().join("m");
    let restore = || {
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        for e in fs::read_dir(&good).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    };
    for file in [
        "config.json",
        "textclf.json",
        "tokenizer_config.json",
        "manifest.json",
    ] {
        // The folder's own file, and the committed one of a fine-tuned model.
        let mut seeds = vec![fs::read(good.join(file)).unwrap()];
        if file != "config.json" {
            seeds.push(seed(&format!("saved-{file}")));
        }
        fuzz(&format!("saved-{file}"), &seeds, 60, 0.2, |b| {
            restore();
            fs::write(d.join(file), b).unwrap();
            if file != "manifest.json" {
                let _ = fs::remove_file(d.join("manifest.json"));
            }
            if textclf_runs::verify_manifest(&d, "the model").is_ok() {
                if let Ok(m) =
                    textclf_train::TransformerClassifier::load(&d, &candle_core::Device::Cpu)
                {
                    let _ = m.predict_proba(&["a film"]);
                }
            }
        });
    }
    // The safetensors header (where a damaged file fails): mutate the first 2 KB only.
    let st = fs::read(good.join("model.safetensors")).unwrap();
    let head = st[..st.len().min(2048)].to_vec();
    fuzz("saved-safetensors-header", &[head], 60, 0.2, |b| {
        restore();
        let _ = fs::remove_file(d.join("manifest.json"));
        let mut bytes = b.to_vec();
        bytes.extend_from_slice(&st[st.len().min(2048)..]);
        fs::write(d.join("model.safetensors"), &bytes).unwrap();
        if let Ok(m) = textclf_train::TransformerClassifier::load(&d, &candle_core::Device::Cpu) {
            let _ = m.predict_proba(&["a film"]);
        }
    });
}

/// The checkpoint loader behind `train --resume`: `state.json` (the loop state, its format
/// and the run's fingerprint), the optimizer's moments, the weights and the manifest.
/// A checkpoint is made by interrupting a tiny fine-tune after one step; each input
/// replaces one of its files (the manifest removed, so that the damaged file reaches its
/// parser) and resumes from it: the resume must finish or fail with an error.
#[test]
fn fuzz_checkpoint_loader() {
    use textclf_core::{Dataset, LabelSet};
    use textclf_train::tokenize::{TextEncoder, Truncation};
    use textclf_train::{Progress, Silent, TrainConfig, Trainer};
    /// Asks for a stop after the first step.
    struct StopNow;
    impl Progress for StopNow {
        fn should_stop(&self) -> bool {
            true
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let tiny = common::shared_dir().join("fixtures/parity/bert-tiny");
    let opts = textclf_models::LoadOptions {
        num_labels: 2,
        layers: None,
        seed: 1,
        device: candle_core::Device::Cpu,
    };
    let enc = TextEncoder::from_dir(&tiny, 12, Truncation::Head).unwrap();
    let labels = LabelSet::new(vec!["neg".into(), "pos".into()]).unwrap();
    let texts = [
        "a fine film",
        "a dull film",
        "great",
        "awful",
        "good fun",
        "boring",
    ];
    let data = Dataset::new(
        "toy",
        (0..6).map(|i| i.to_string()).collect(),
        texts.iter().map(|t| t.to_string()).collect(),
        vec![1, 0, 1, 0, 1, 0],
        labels,
    )
    .unwrap();
    let config = TrainConfig {
        epochs: 1,
        batch_size: 2,
        eval_batch_size: 4,
        lr: 1e-3,
        seed: 3,
        // A validation after every step, so that the checkpoint holds best weights and a
        // weight average too.
        eval_every_steps: Some(1),
        average_from: Some(0.1),
        ..TrainConfig::default()
    };
    let fit = |dir: &Path, resume: bool, progress: &dyn Progress| {
        let (mut model, _) = textclf_models::SequenceClassifier::load(&tiny, &opts).unwrap();
        Trainer {
            model: &mut model,
            encoder: &enc,
            config: config.clone(),
            ckpt_dir: dir.to_path_buf(),
        }
        .fit(&data, Some(&data), resume, progress)
        .map(|_| ())
    };
    let good = tmp.path().join("good");
    assert!(fit(&good, false, &StopNow).is_err());
    for f in [
        "state.json",
        "manifest.json",
        "best.safetensors",
        "average.safetensors",
    ] {
        assert!(good.join(f).is_file(), "{f}");
    }
    // The intact checkpoint resumes to the end.
    let d = tmp.path().join("ck");
    let restore = || {
        let _ = fs::remove_dir_all(&d);
        let _ = fs::remove_dir_all(d.with_extension("old"));
        fs::create_dir_all(&d).unwrap();
        for e in fs::read_dir(&good).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    };
    restore();
    fit(&d, true, &Silent).expect("the intact checkpoint resumes");
    for (file, committed) in [
        ("state.json", Some("checkpoint-state.json")),
        ("manifest.json", Some("checkpoint-manifest.json")),
    ] {
        let mut seeds = vec![fs::read(good.join(file)).unwrap()];
        seeds.extend(committed.map(seed));
        let mut resumed = 0;
        fuzz(&format!("checkpoint-{file}"), &seeds, 60, 0.2, |b| {
            restore();
            fs::write(d.join(file), b).unwrap();
            if file != "manifest.json" {
                let _ = fs::remove_file(d.join("manifest.json"));
            }
            resumed += usize::from(fit(&d, true, &Silent).is_ok());
        });
        eprintln!("  of which {resumed} resumed to the end");
    }
    // state.json with well-formed JSON and the right fingerprint, but numbers that no run
    // writes (steps past the data, huge or negative counts, fractions): byte mutations
    // seldom leave the JSON valid, these reach the training loop.
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(good.join("state.json")).unwrap()).unwrap();
    let mut leaves = Vec::new();
    number_leaves(&state, String::new(), &mut leaves);
    assert!(leaves.len() > 10, "{leaves:?}");
    let odd = [
        serde_json::json!(0),
        serde_json::json!(1),
        serde_json::json!(-1),
        serde_json::json!(3),
        serde_json::json!(1u64 << 32),
        serde_json::json!(u64::MAX),
        serde_json::json!(1e300),
        serde_json::json!(-1e300),
        serde_json::json!(0.5),
    ];
    let budget = Budget::from_env(60, 0.2);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut done, mut resumed) = (0, 0);
    while budget.go_on(done) {
        let mut v = state.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = &leaves[rng.random_range(0..leaves.len())];
            *v.pointer_mut(at).unwrap() = odd[rng.random_range(0..odd.len())].clone();
        }
        restore();
        fs::write(d.join("state.json"), serde_json::to_vec(&v).unwrap()).unwrap();
        let _ = fs::remove_file(d.join("manifest.json"));
        resumed += usize::from(fit(&d, true, &Silent).is_ok());
        done += 1;
    }
    eprintln!("fuzz checkpoint-state-values: {done} inputs, no panic");
    eprintln!("  of which {resumed} resumed to the end");
    // The safetensors files: their headers, where a damaged file fails (the first 2 KB).
    for (file, share) in [
        ("optimizer.safetensors", 0.1),
        ("model.safetensors", 0.1),
        ("best.safetensors", 0.1),
        ("average.safetensors", 0.1),
    ] {
        let st = fs::read(good.join(file)).unwrap();
        let cut = st.len().min(2048);
        let mut resumed = 0;
        fuzz(
            &format!("checkpoint-{file}"),
            &[st[..cut].to_vec()],
            60,
            share,
            |b| {
                restore();
                let _ = fs::remove_file(d.join("manifest.json"));
                let mut bytes = b.to_vec();
                bytes.extend_from_slice(&st[cut..]);
                fs::write(d.join(file), &bytes).unwrap();
                resumed += usize::from(fit(&d, true, &Silent).is_ok());
            },
        );
        eprintln!("  of which {resumed} resumed to the end");
    }
}

/// JSON pointers to every number in `v`.
fn number_leaves(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Number(_) => out.push(at),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                number_leaves(x, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                number_leaves(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}
