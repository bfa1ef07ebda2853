//! Fine-tunes the tiny BERT of ../shared/fixtures/parity for a few steps as a multi-label
//! classifier (single texts), as a regression model (sentence pairs) and as a single-label
//! classifier of sentence pairs, saves them, and writes the inputs with textclf's scores,
//! for `bench/check_hf_shapes.py` to compare with transformers.
//!
//!     cargo run -p textclf-train --example save_shapes -- OUT_DIR
//!
//! Writes `OUT_DIR/{multi-label,regression,pair-classes}/` (HF-layout model folders) and
//! `OUT_DIR/expected.json` (`{kind: {texts, pairs?, scores, problem_type, num_labels,
//! labels}}`).

use std::path::{Path, PathBuf};

use candle_core::Device;
use textclf_core::{Classifier, Dataset, LabelSet, Targets};
use textclf_models::{LoadOptions, SequenceClassifier};
use textclf_train::tokenize::{TextEncoder, Truncation};
use textclf_train::{
    outputs_for, InferenceSettings, Silent, TrainConfig, Trainer, TransformerClassifier,
};

const WORDS: [&str; 6] = ["great", "awful", "acting", "story", "music", "long"];

fn text(i: usize) -> String {
    format!(
        "the {} and the {}",
        WORDS[i % 6],
        WORDS[(i / 6 + 1 + i % 6) % 6]
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: save_shapes OUT_DIR")?,
    );
    let shared = std::env::var_os("TEXTCLF_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let tiny = shared.join("fixtures/parity/bert-tiny");
    let n = 40;
    let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let texts: Vec<String> = (0..n).map(text).collect();
    let seconds: Vec<String> = (0..n).map(|i| text(i + 7)).collect();
    let multi = Dataset::with_targets(
        "multi",
        ids.clone(),
        texts.clone(),
        None,
        Targets::LabelSets(
            texts
                .iter()
                .map(|t| (0..4).filter(|&c| t.contains(WORDS[c])).collect())
                .collect(),
        ),
        LabelSet::new(WORDS[..4].iter().map(|w| w.to_string()).collect())?,
    )?;
    let reg = Dataset::with_targets(
        "reg",
        ids,
        texts.clone(),
        Some(seconds.clone()),
        Targets::Scores(
            texts
                .iter()
                .zip(&seconds)
                .map(|(a, b)| (a.contains("great") as i32 - b.contains("awful") as i32) as f32)
                .collect(),
        ),
        LabelSet::new(vec!["similarity".into()])?,
    )?;
    // Three classes of pairs: whether the first, the second or neither text is "great".
    let classes = Dataset::with_targets(
        "pairs",
        (0..n).map(|i| i.to_string()).collect(),
        texts.clone(),
        Some(seconds.clone()),
        Targets::Classes(
            texts
                .iter()
                .zip(&seconds)
                .map(|(a, b)| {
                    if a.contains("great") {
                        0
                    } else if b.contains("great") {
                        1
                    } else {
                        2
                    }
                })
                .collect(),
        ),
        LabelSet::new(vec!["first".into(), "second".into(), "neither".into()])?,
    )?;
    let probe_a = [
        "the great and the acting",
        "nothing like the others at all",
        "music",
    ];
    let probe_b = [
        "the awful and the story",
        "long long long",
        "the great music",
    ];
    let mut expected = serde_json::Map::new();
    for (name, data) in [
        ("multi-label", &multi),
        ("regression", &reg),
        ("pair-classes", &classes),
    ] {
        let task = data.task();
        let opts = LoadOptions {
            num_labels: outputs_for(task, &data.label_set),
            layers: None,
            seed: 5,
            device: Device::Cpu,
        };
        let (mut model, _) = SequenceClassifier::load(&tiny, &opts)?;
        let enc = TextEncoder::from_dir(&tiny, 32, Truncation::Head)?;
        let ckpt = tempfile::tempdir()?;
        Trainer {
            model: &mut model,
            encoder: &enc,
            config: TrainConfig {
                epochs: 2,
                batch_size: 8,
                lr: 3e-3,
                early_stopping: None,
                ..TrainConfig::default()
            },
            ckpt_dir: ckpt.path().to_path_buf(),
        }
        .fit(data, None, false, &Silent)?;
        let settings = InferenceSettings {
            max_len: 32,
            truncation: Truncation::Head,
            eval_batch_size: 8,
        };
        let clf = TransformerClassifier::new(model, enc, data.label_set.clone(), settings)
            .with_task(task);
        let dir = out.join(name);
        clf.save(&dir)?;
        let (scores, pairs) = match data.pairs {
            Some(_) => (clf.predict_pairs(&probe_a, &probe_b)?, Some(probe_b)),
            None => (clf.predict_proba(&probe_a)?, None),
        };
        expected.insert(
            name.into(),
            serde_json::json!({
                "problem_type": task.problem_type(),
                "texts": probe_a,
                "pairs": pairs,
                "scores": scores.as_slice(),
                "num_labels": scores.num_classes(),
                "labels": data.label_set.names(),
            }),
        );
    }
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )?;
    println!("saved to {}", out.display());
    Ok(())
}
