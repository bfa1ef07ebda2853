//! Every run setting, declared once.
//!
//! A [`Setting`] names a choice that changes what a run computes: its sweep key (`lr`),
//! its command-line flag (`--lr`), its help text, its default and which model families take
//! it. Everything that deals in settings reads them from here:
//!
//! * the `textclf train` and `textclf baseline` flags take their help and defaults from
//!   these constants (`#[arg(help = settings::LR.help, default_value = …)]`), and a test of
//!   the CLI checks that every setting is a flag of the commands of its families;
//! * sweep files (`[grid]`, `[[models]]`) accept exactly the keys of [`ALL`], refuse a key
//!   that no run of the sweep takes, and suggest the nearest key for a typo ([`find`]);
//! * the report's settings columns and the advisor's "Try: --flag value" lines map keys to
//!   flags through [`find`].
//!
//! * the typed values of the trainer's settings, [`train::TrainConfig`], which the trainer
//!   reads and `metrics.json` records as they are; [`train::TrainConfig::recorded`] finds a
//!   setting in them for runs made by hand, which have no sweep record.
//!
//! The crate has no dependency beyond `textclf-core` and serde (no tensor stack), so every
//! stage can use it.

pub mod data;
pub mod train;

/// One setting of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The sweep key and the name runs record it under (`lr`, `train_fraction`).
    pub key: &'static str,
    /// The long flag without its dashes (`lr`, `subset-frac`).
    pub long: &'static str,
    /// Taken by fine-tuned transformers (`textclf train`).
    pub transformer: bool,
    /// Taken by linear baselines (`textclf baseline`).
    pub linear: bool,
    /// The type of its value.
    pub kind: Kind,
    /// The flag's help text.
    pub help: &'static str,
    /// The default as the flag would be written; `None` when there is none (the setting is
    /// optional, or the model decides).
    pub default: Option<&'static str>,
}

/// The type of a setting's value. A sweep file's value is checked against it when the plan
/// is made, and a test of the CLI checks that each flag parses what its kind allows (and
/// refuses what it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// On or off: a flag without a value (`--no-bucketing`); `true` or `false` in a sweep.
    Switch,
    /// A whole number ≥ 1 (epochs, a batch size, a step count).
    Count,
    /// A whole number ≥ 0 (a seed, a patience, a document count).
    Whole,
    /// A number.
    Number,
    /// A list of numbers: comma-separated on the command line, a TOML array (or one
    /// number) in a sweep.
    Numbers,
    /// A list of names or paths: comma-separated or repeated on the command line, a TOML
    /// array of strings in a sweep.
    Texts,
    /// A range `MIN-MAX` of whole numbers, such as `1-2`.
    Range,
    /// `balanced` or one positive number per class (a list).
    Weights,
    /// A name or a path (the flag checks the names it takes).
    Text,
}

impl Kind {
    /// What the kind takes, in words, with an example.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Switch => "true or false",
            Kind::Count => "a whole number ≥ 1 (e.g. 3)",
            Kind::Whole => "a whole number ≥ 0 (e.g. 42)",
            Kind::Number => "a number (e.g. 2e-5)",
            Kind::Numbers => "a list of numbers (e.g. [0.1, 1.0, 10.0])",
            Kind::Texts => "a list of texts (e.g. [\"joy\", \"anger\"])",
            Kind::Range => "a range MIN-MAX as text (e.g. \"1-2\")",
            Kind::Weights => "\"balanced\" or a list of numbers, one per class (e.g. [1.0, 3.0])",
            Kind::Text => "text (e.g. \"head\")",
        }
    }

    /// Whether `text` is a value of this kind as a flag takes it (a switch takes none).
    pub fn parses(self, text: &str) -> bool {
        let t = text.trim();
        let number = |x: &str| x.trim().parse::<f64>().is_ok_and(f64::is_finite);
        match self {
            Kind::Switch => false,
            Kind::Count => t.parse::<u64>().is_ok_and(|n| n >= 1),
            Kind::Whole => t.parse::<u64>().is_ok(),
            Kind::Number => number(t),
            Kind::Numbers => !t.is_empty() && t.split(',').all(number),
            Kind::Range => t.split_once('-').is_some_and(|(a, b)| {
                a.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
            }),
            Kind::Weights => t == "balanced" || Kind::Numbers.parses(t),
            Kind::Text | Kind::Texts => !t.is_empty(),
        }
    }

    /// Checks a sweep file's value (as JSON) against the kind; the error says what the
    /// kind takes. Numbers may be written as text (`lr = "2e-5"`), as sweep files always
    /// could.
    pub fn check(self, v: &serde_json::Value) -> Result<(), String> {
        use serde_json::Value;
        let ok = match (self, v) {
            (_, Value::Null) => true,
            (Kind::Switch, Value::Bool(_)) => true,
            (Kind::Switch, _) | (_, Value::Bool(_)) => false,
            // `3.0` is written `3` on the command line, as sweep files always could.
            (Kind::Count | Kind::Whole, Value::Number(n)) => n.as_f64().is_some_and(|f| {
                f.fract() == 0.0 && f >= if self == Kind::Count { 1.0 } else { 0.0 }
            }),
            (Kind::Number, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
            (Kind::Numbers | Kind::Weights, Value::Number(_)) => Kind::Number.check(v).is_ok(),
            (Kind::Numbers | Kind::Weights, Value::Array(a)) => {
                !a.is_empty()
                    && a.iter()
                        .all(|x| x.is_number() && Kind::Number.check(x).is_ok())
            }
            (Kind::Texts, Value::Array(a)) => a.iter().all(|x| x.is_string()),
            (Kind::Texts, _) => false,
            (_, Value::String(s)) => self.parses(s),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("takes {}, not {v}", self.describe()))
        }
    }
}

impl Setting {
    /// The flag as typed on the command line: `--lr`.
    pub fn flag(&self) -> String {
        format!("--{}", self.long)
    }

    /// The default as a flag value, `""` when there is none (for clap's `default_value`,
    /// which needs a constant).
    pub const fn default_text(&self) -> &'static str {
        match self.default {
            Some(d) => d,
            None => "",
        }
    }

    /// Which runs take it, in words: "every model", "fine-tuned transformers (`model`)" or
    /// "linear baselines (`baseline`)".
    pub fn taken_by(&self) -> &'static str {
        match (self.transformer, self.linear) {
            (true, true) => "every model",
            (true, false) => "fine-tuned transformers (`model`)",
            (false, true) => "linear baselines (`baseline`)",
            (false, false) => "no model",
        }
    }
}

pub(crate) const fn setting(
    key: &'static str,
    long: &'static str,
    (transformer, linear): (bool, bool),
    kind: Kind,
    help: &'static str,
    default: Option<&'static str>,
) -> Setting {
    Setting {
        key,
        long,
        transformer,
        linear,
        kind,
        help,
        default,
    }
}

const T: (bool, bool) = (true, false);
const L: (bool, bool) = (false, true);
pub(crate) const BOTH: (bool, bool) = (true, true);

// ---- both families --------------------------------------------------------------------
pub const TRAIN_FRACTION: Setting = setting(
    "train_fraction",
    "subset-frac",
    BOTH,
    Kind::Number,
    "Keep a stratified fraction of the pool (or of train) before splitting, e.g. 0.25.",
    None,
);
pub const SEED: Setting = setting(
    "seed",
    "seed",
    BOTH,
    Kind::Whole,
    "Seed for splitting, subsetting and training.",
    Some("42"),
);
pub const CLASS_WEIGHTS: Setting = setting(
    "class_weights",
    "class-weights",
    BOTH,
    Kind::Weights,
    "Weight classes in the loss: `balanced` or one number per class (comma-separated, in label order).",
    None,
);
pub const BOOTSTRAP: Setting = setting(
    "bootstrap",
    "bootstrap",
    BOTH,
    Kind::Whole,
    "Bootstrap resamples for the confidence intervals.",
    Some("1000"),
);

// ---- fine-tuned transformers ----------------------------------------------------------
pub const MODEL: Setting = setting(
    "model",
    "model",
    T,
    Kind::Text,
    "Pretrained model: a local Hugging Face folder (config.json, model.safetensors, tokenizer) or a Hub id such as `sentence-transformers/all-MiniLM-L6-v2` (cached; honours HF_HUB_OFFLINE).",
    None,
);
pub const LAYERS: Setting = setting(
    "layers",
    "layers",
    T,
    Kind::Count,
    "Keep K evenly spaced encoder layers (a smaller, faster model from the same checkpoint).",
    None,
);
pub const MAX_LEN: Setting = setting(
    "max_len",
    "max-len",
    T,
    Kind::Count,
    "Maximum tokens per text, special tokens included.",
    Some("128"),
);
pub const TRUNCATION: Setting = setting(
    "truncation",
    "truncation",
    T,
    Kind::Text,
    "Which tokens to keep from a longer text.",
    Some("head"),
);
pub const PAIR_TRUNCATION: Setting = setting(
    "pair_truncation",
    "pair-truncation",
    T,
    Kind::Text,
    "How the two texts of a pair share --max-len when together they are too long.",
    Some("longest_first"),
);
pub const LR: Setting = setting(
    "lr",
    "lr",
    T,
    Kind::Number,
    "Peak learning rate.",
    Some("2e-5"),
);
pub const BATCH_SIZE: Setting = setting(
    "batch_size",
    "batch-size",
    T,
    Kind::Count,
    "Training batch size.",
    Some("32"),
);
pub const EVAL_BATCH_SIZE: Setting = setting(
    "eval_batch_size",
    "eval-batch-size",
    T,
    Kind::Count,
    "Batch size for validation, test and prediction.",
    Some("64"),
);
pub const EPOCHS: Setting = setting(
    "epochs",
    "epochs",
    T,
    Kind::Count,
    "Training epochs.",
    Some("3"),
);
pub const WARMUP_RATIO: Setting = setting(
    "warmup_ratio",
    "warmup-ratio",
    T,
    Kind::Number,
    "Share of steps with linear warmup.",
    Some("0.1"),
);
pub const WEIGHT_DECAY: Setting = setting(
    "weight_decay",
    "weight-decay",
    T,
    Kind::Number,
    "AdamW decoupled weight decay (never on biases and LayerNorm).",
    Some("0.01"),
);
pub const GRAD_CLIP: Setting = setting(
    "grad_clip",
    "grad-clip",
    T,
    Kind::Number,
    "Clip the global gradient norm to this (0 disables).",
    Some("1"),
);
pub const GRAD_ACCUM: Setting = setting(
    "grad_accum",
    "grad-accum",
    T,
    Kind::Count,
    "Accumulate gradients over N batches per optimizer step.",
    Some("1"),
);
pub const PADDING: Setting = setting(
    "padding",
    "padding",
    T,
    Kind::Text,
    "Pad each batch to its longest text (dynamic) or every batch to --max-len.",
    Some("dynamic"),
);
pub const NO_BUCKETING: Setting = setting(
    "no_bucketing",
    "no-bucketing",
    T,
    Kind::Switch,
    "Plain shuffled batches instead of length-bucketed ones.",
    None,
);
pub const EVAL_EVERY: Setting = setting(
    "eval_every",
    "eval-every",
    T,
    Kind::Count,
    "Also validate every N optimizer steps (N ≥ 1; without it, once per epoch).",
    None,
);
pub const CHECKPOINT_EVERY: Setting = setting(
    "checkpoint_every",
    "checkpoint-every",
    T,
    Kind::Count,
    "Also checkpoint every N optimizer steps (N ≥ 1; always at each epoch end).",
    None,
);
pub const MONITOR: Setting = setting(
    "monitor",
    "monitor",
    T,
    Kind::Text,
    "What early stopping watches.",
    Some("val-loss"),
);
pub const PATIENCE: Setting = setting(
    "patience",
    "patience",
    T,
    Kind::Whole,
    "Stop after this many validations without improvement (0 disables early stopping).",
    Some("2"),
);
pub const MIN_DELTA: Setting = setting(
    "min_delta",
    "min-delta",
    T,
    Kind::Number,
    "Smallest change that counts as an improvement.",
    Some("0"),
);
pub const AVERAGE_FROM: Setting = setting(
    "average_from",
    "average-from",
    T,
    Kind::Number,
    "Average the weights of every validation point from this fraction of training on (e.g. 0.5: the second half); the average is kept when it validates better than the best single checkpoint.",
    None,
);
pub const GRAD_CHECKPOINT: Setting = setting(
    "grad_checkpoint",
    "grad-checkpoint",
    T,
    Kind::Switch,
    "Activation checkpointing: keep only each encoder layer's input and recompute the layer during backward. Far less memory for long sequences (--max-len 512) for about a quarter more time per step; same results. May be switched on or off on --resume.",
    None,
);
pub const DEVICE: Setting = setting(
    "device",
    "device",
    T,
    Kind::Text,
    "Where to train: cpu, or cuda (a build with the `cuda` feature).",
    Some("cpu"),
);

// ---- linear baselines -----------------------------------------------------------------
pub const BASELINE: Setting = setting(
    "baseline",
    "model",
    L,
    Kind::Text,
    "Which linear model.",
    Some("lr"),
);
pub const C: Setting = setting(
    "C",
    "C",
    L,
    Kind::Number,
    "Inverse regularisation strength. Default: chosen on the validation data from --c-grid.",
    None,
);
pub const C_GRID: Setting = setting(
    "c_grid",
    "c-grid",
    L,
    Kind::Numbers,
    "C values to try, comma-separated (default depends on the model).",
    None,
);
pub const NGRAM: Setting = setting("ngram", "ngram", L, Kind::Range, "Word n-gram range.", None);
pub const CHAR_NGRAM: Setting = setting(
    "char_ngram",
    "char-ngram",
    L,
    Kind::Range,
    "Add character n-grams within words, e.g. 2-5.",
    None,
);
pub const MIN_DF: Setting = setting(
    "min_df",
    "min-df",
    L,
    Kind::Whole,
    "Drop n-grams in fewer documents (default 2; NBSVM 1).",
    None,
);
pub const MAX_DF: Setting = setting(
    "max_df",
    "max-df",
    L,
    Kind::Number,
    "Drop n-grams in more than this share of documents.",
    None,
);
pub const MAX_FEATURES: Setting = setting(
    "max_features",
    "max-features",
    L,
    Kind::Whole,
    "Keep only the N most frequent n-grams.",
    None,
);
pub const NO_SUBLINEAR_TF: Setting = setting(
    "no_sublinear_tf",
    "no-sublinear-tf",
    L,
    Kind::Switch,
    "Raw term counts instead of 1 + ln(tf).",
    None,
);
pub const NO_LOWERCASE: Setting = setting(
    "no_lowercase",
    "no-lowercase",
    L,
    Kind::Switch,
    "Keep case.",
    None,
);
pub const KEEP_HTML: Setting = setting(
    "keep_html",
    "keep-html",
    L,
    Kind::Switch,
    "Keep HTML tags such as <br /> (they are stripped by default).",
    None,
);
pub const TOKENS: Setting = setting(
    "tokens",
    "tokens",
    L,
    Kind::Text,
    "Tokenisation.",
    Some("words-punct"),
);
pub const NB_BETA: Setting = setting(
    "nb_beta",
    "nb-beta",
    L,
    Kind::Number,
    "NBSVM interpolation β between the mean weight and the SVM weights.",
    Some("0.25"),
);
pub const TOL: Setting = setting(
    "tol",
    "tol",
    L,
    Kind::Number,
    "Solver tolerance.",
    Some("0.01"),
);

/// Every setting, in the order the sweep documentation lists them. `model`/`baseline`
/// choose the family of a sweep's `[[models]]` entry.
pub const ALL: &[Setting] = &[
    MODEL,
    BASELINE,
    TRAIN_FRACTION,
    SEED,
    CLASS_WEIGHTS,
    BOOTSTRAP,
    LAYERS,
    MAX_LEN,
    TRUNCATION,
    PAIR_TRUNCATION,
    LR,
    BATCH_SIZE,
    EVAL_BATCH_SIZE,
    EPOCHS,
    WARMUP_RATIO,
    WEIGHT_DECAY,
    GRAD_CLIP,
    GRAD_ACCUM,
    PADDING,
    NO_BUCKETING,
    EVAL_EVERY,
    CHECKPOINT_EVERY,
    MONITOR,
    PATIENCE,
    MIN_DELTA,
    AVERAGE_FROM,
    GRAD_CHECKPOINT,
    DEVICE,
    C,
    C_GRID,
    NGRAM,
    CHAR_NGRAM,
    MIN_DF,
    MAX_DF,
    MAX_FEATURES,
    NO_SUBLINEAR_TF,
    NO_LOWERCASE,
    KEEP_HTML,
    TOKENS,
    NB_BETA,
    TOL,
];

/// The setting of `key`, or an error message that lists the keys and suggests the nearest.
pub fn find(key: &str) -> Result<&'static Setting, String> {
    find_in(ALL, key, "setting", "sweep settings")
}

/// The setting of `key` among `list`; the error names it as `what` ("unknown {what}
/// 'x'"), suggests the nearest key and lists the `listed` keys.
pub(crate) fn find_in(
    list: &'static [Setting],
    key: &str,
    what: &str,
    listed: &str,
) -> Result<&'static Setting, String> {
    list.iter().find(|s| s.key == key).ok_or_else(|| {
        let close = textclf_core::similar::closest(key, list.iter().map(|s| s.key), 2);
        format!(
            "unknown {what} '{key}'{}; {listed} are: {}",
            close
                .first()
                .map_or(String::new(), |k| format!(" (did you mean '{k}'?)")),
            list.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_flags_unique_per_family() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.key, b.key);
                let shared = (a.transformer && b.transformer) || (a.linear && b.linear);
                assert!(!(shared && a.long == b.long), "{} and {}", a.key, b.key);
            }
            assert!(a.transformer || a.linear, "{} is taken by no family", a.key);
            assert!(!a.help.is_empty());
        }
    }

    #[test]
    fn every_trainer_setting_is_found_in_the_trainer_config() {
        // Settings of the model, the data or the evaluation, which a run records beside
        // the trainer's settings, not in them.
        let elsewhere = [
            "model",
            "layers",
            "max_len",
            "truncation",
            "pair_truncation",
            "grad_checkpoint",
            "device",
            "train_fraction",
            "bootstrap",
        ];
        let all_set = train::TrainConfig {
            eval_every_steps: Some(10),
            checkpoint_every_steps: Some(20),
            class_weights: Some(vec![1.0, 2.0]),
            average_from: Some(0.5),
            ..train::TrainConfig::default()
        };
        for s in ALL.iter().filter(|s| s.transformer) {
            let found = all_set.recorded(s.key);
            if elsewhere.contains(&s.key) {
                assert_eq!(found, None, "{}", s.key);
            } else {
                assert!(found.is_some(), "{} is not found in TrainConfig", s.key);
            }
        }
    }

    /// The trainer's defaults are the declared ones (the flags' defaults).
    #[test]
    fn the_trainer_defaults_are_the_declared_defaults() {
        let defaults = train::TrainConfig::default();
        let mut checked = 0;
        for s in ALL.iter().filter(|s| s.transformer) {
            let (Some(declared), Some(value)) = (s.default, defaults.recorded(s.key)) else {
                continue;
            };
            match value {
                serde_json::Value::Number(n) => {
                    let declared: f64 = declared.parse().unwrap();
                    assert_eq!(n.as_f64(), Some(declared), "{}", s.key);
                }
                // Names are recorded as serde writes them (`val_loss` for `val-loss`).
                serde_json::Value::String(v) => {
                    assert_eq!(v.replace('_', "-"), declared, "{}", s.key)
                }
                other => panic!("{}: {other}", s.key),
            }
            checked += 1;
        }
        assert!(checked >= 12, "{checked}");
    }

    #[test]
    fn find_suggests_the_nearest_key() {
        assert_eq!(find("lr").unwrap().flag(), "--lr");
        let e = find("learning_rte").unwrap_err();
        assert!(e.starts_with("unknown setting 'learning_rte'"), "{e}");
        let e = find("batchsize").unwrap_err();
        assert!(e.contains("did you mean 'batch_size'"), "{e}");
        assert_eq!(BASELINE.taken_by(), "linear baselines (`baseline`)");
        assert_eq!(MAX_LEN.default_text(), "128");
        assert_eq!(C.default_text(), "");
    }
}
