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
//! The crate has no dependency beyond `textclf-core`, so every stage can use it.

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
    /// The flag's help text.
    pub help: &'static str,
    /// The default as the flag would be written; `None` when there is none (the setting is
    /// optional, or the model decides).
    pub default: Option<&'static str>,
    /// Where a fine-tuned run records it among the trainer's settings (`train_config` in
    /// `metrics.json`), for runs made by hand, which have no sweep record.
    pub recorded: Recorded,
}

/// Where the trainer's recorded settings hold a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Under its key.
    Key,
    /// At this JSON pointer (`/early_stopping/patience`).
    At(&'static str),
    /// The negation of the boolean at this JSON pointer (`no_bucketing` is `!bucketed`).
    NegatedAt(&'static str),
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

const fn setting(
    key: &'static str,
    long: &'static str,
    (transformer, linear): (bool, bool),
    help: &'static str,
    default: Option<&'static str>,
) -> Setting {
    Setting {
        key,
        long,
        transformer,
        linear,
        help,
        default,
        recorded: Recorded::Key,
    }
}

/// `s`, recorded by the trainer elsewhere than under its key.
const fn recorded(s: Setting, recorded: Recorded) -> Setting {
    Setting { recorded, ..s }
}

const T: (bool, bool) = (true, false);
const L: (bool, bool) = (false, true);
const BOTH: (bool, bool) = (true, true);

// ---- both families --------------------------------------------------------------------
pub const TRAIN_FRACTION: Setting = setting(
    "train_fraction",
    "subset-frac",
    BOTH,
    "Keep a stratified fraction of the pool (or of train) before splitting, e.g. 0.25.",
    None,
);
pub const SEED: Setting = setting(
    "seed",
    "seed",
    BOTH,
    "Seed for splitting, subsetting and training.",
    Some("42"),
);
pub const CLASS_WEIGHTS: Setting = setting(
    "class_weights",
    "class-weights",
    BOTH,
    "Weight classes in the loss: `balanced` or one number per class (comma-separated, in label order).",
    None,
);
pub const BOOTSTRAP: Setting = setting(
    "bootstrap",
    "bootstrap",
    BOTH,
    "Bootstrap resamples for the confidence intervals.",
    Some("1000"),
);

// ---- fine-tuned transformers ----------------------------------------------------------
pub const MODEL: Setting = setting(
    "model",
    "model",
    T,
    "Pretrained model: a local Hugging Face folder (config.json, model.safetensors, tokenizer) or a Hub id such as `sentence-transformers/all-MiniLM-L6-v2` (cached; honours HF_HUB_OFFLINE).",
    None,
);
pub const LAYERS: Setting = setting(
    "layers",
    "layers",
    T,
    "Keep K evenly spaced encoder layers (a smaller, faster model from the same checkpoint).",
    None,
);
pub const MAX_LEN: Setting = setting(
    "max_len",
    "max-len",
    T,
    "Maximum tokens per text, special tokens included.",
    Some("128"),
);
pub const TRUNCATION: Setting = setting(
    "truncation",
    "truncation",
    T,
    "Which tokens to keep from a longer text.",
    Some("head"),
);
pub const PAIR_TRUNCATION: Setting = setting(
    "pair_truncation",
    "pair-truncation",
    T,
    "How the two texts of a pair share --max-len when together they are too long.",
    Some("longest_first"),
);
pub const LR: Setting = setting("lr", "lr", T, "Peak learning rate.", Some("2e-5"));
pub const BATCH_SIZE: Setting = setting(
    "batch_size",
    "batch-size",
    T,
    "Training batch size.",
    Some("32"),
);
pub const EVAL_BATCH_SIZE: Setting = setting(
    "eval_batch_size",
    "eval-batch-size",
    T,
    "Batch size for validation, test and prediction.",
    Some("64"),
);
pub const EPOCHS: Setting = setting("epochs", "epochs", T, "Training epochs.", Some("3"));
pub const WARMUP_RATIO: Setting = setting(
    "warmup_ratio",
    "warmup-ratio",
    T,
    "Share of steps with linear warmup.",
    Some("0.1"),
);
pub const WEIGHT_DECAY: Setting = recorded(
    setting(
        "weight_decay",
        "weight-decay",
        T,
        "AdamW decoupled weight decay (never on biases and LayerNorm).",
        Some("0.01"),
    ),
    Recorded::At("/adamw/weight_decay"),
);
pub const GRAD_CLIP: Setting = setting(
    "grad_clip",
    "grad-clip",
    T,
    "Clip the global gradient norm to this (0 disables).",
    Some("1"),
);
pub const GRAD_ACCUM: Setting = setting(
    "grad_accum",
    "grad-accum",
    T,
    "Accumulate gradients over N batches per optimizer step.",
    Some("1"),
);
pub const PADDING: Setting = setting(
    "padding",
    "padding",
    T,
    "Pad each batch to its longest text (dynamic) or every batch to --max-len.",
    Some("dynamic"),
);
pub const NO_BUCKETING: Setting = recorded(
    setting(
        "no_bucketing",
        "no-bucketing",
        T,
        "Plain shuffled batches instead of length-bucketed ones.",
        None,
    ),
    Recorded::NegatedAt("/bucketed"),
);
pub const EVAL_EVERY: Setting = recorded(
    setting(
        "eval_every",
        "eval-every",
        T,
        "Also validate every N optimizer steps (N ≥ 1; without it, once per epoch).",
        None,
    ),
    Recorded::At("/eval_every_steps"),
);
pub const CHECKPOINT_EVERY: Setting = recorded(
    setting(
        "checkpoint_every",
        "checkpoint-every",
        T,
        "Also checkpoint every N optimizer steps (N ≥ 1; always at each epoch end).",
        None,
    ),
    Recorded::At("/checkpoint_every_steps"),
);
pub const MONITOR: Setting = recorded(
    setting(
        "monitor",
        "monitor",
        T,
        "What early stopping watches.",
        Some("val-loss"),
    ),
    Recorded::At("/early_stopping/monitor"),
);
pub const PATIENCE: Setting = recorded(
    setting(
        "patience",
        "patience",
        T,
        "Stop after this many validations without improvement (0 disables early stopping).",
        Some("2"),
    ),
    Recorded::At("/early_stopping/patience"),
);
pub const MIN_DELTA: Setting = recorded(
    setting(
        "min_delta",
        "min-delta",
        T,
        "Smallest change that counts as an improvement.",
        Some("0"),
    ),
    Recorded::At("/early_stopping/min_delta"),
);
pub const AVERAGE_FROM: Setting = setting(
    "average_from",
    "average-from",
    T,
    "Average the weights of every validation point from this fraction of training on (e.g. 0.5: the second half); the average is kept when it validates better than the best single checkpoint.",
    None,
);
pub const GRAD_CHECKPOINT: Setting = setting(
    "grad_checkpoint",
    "grad-checkpoint",
    T,
    "Activation checkpointing: keep only each encoder layer's input and recompute the layer during backward. Far less memory for long sequences (--max-len 512) for about a quarter more time per step; same results. May be switched on or off on --resume.",
    None,
);
pub const DEVICE: Setting = setting(
    "device",
    "device",
    T,
    "Where to train: cpu, or cuda (a build with the `cuda` feature).",
    Some("cpu"),
);

// ---- linear baselines -----------------------------------------------------------------
pub const BASELINE: Setting = setting("baseline", "model", L, "Which linear model.", Some("lr"));
pub const C: Setting = setting(
    "C",
    "C",
    L,
    "Inverse regularisation strength. Default: chosen on the validation data from --c-grid.",
    None,
);
pub const C_GRID: Setting = setting(
    "c_grid",
    "c-grid",
    L,
    "C values to try, comma-separated (default depends on the model).",
    None,
);
pub const NGRAM: Setting = setting("ngram", "ngram", L, "Word n-gram range.", None);
pub const CHAR_NGRAM: Setting = setting(
    "char_ngram",
    "char-ngram",
    L,
    "Add character n-grams within words, e.g. 2-5.",
    None,
);
pub const MIN_DF: Setting = setting(
    "min_df",
    "min-df",
    L,
    "Drop n-grams in fewer documents (default 2; NBSVM 1).",
    None,
);
pub const MAX_DF: Setting = setting(
    "max_df",
    "max-df",
    L,
    "Drop n-grams in more than this share of documents.",
    None,
);
pub const MAX_FEATURES: Setting = setting(
    "max_features",
    "max-features",
    L,
    "Keep only the N most frequent n-grams.",
    None,
);
pub const NO_SUBLINEAR_TF: Setting = setting(
    "no_sublinear_tf",
    "no-sublinear-tf",
    L,
    "Raw term counts instead of 1 + ln(tf).",
    None,
);
pub const NO_LOWERCASE: Setting = setting("no_lowercase", "no-lowercase", L, "Keep case.", None);
pub const KEEP_HTML: Setting = setting(
    "keep_html",
    "keep-html",
    L,
    "Keep HTML tags such as <br /> (they are stripped by default).",
    None,
);
pub const TOKENS: Setting = setting("tokens", "tokens", L, "Tokenisation.", Some("words-punct"));
pub const NB_BETA: Setting = setting(
    "nb_beta",
    "nb-beta",
    L,
    "NBSVM interpolation β between the mean weight and the SVM weights.",
    Some("0.25"),
);
pub const TOL: Setting = setting("tol", "tol", L, "Solver tolerance.", Some("0.01"));

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
    ALL.iter().find(|s| s.key == key).ok_or_else(|| {
        let close = textclf_core::similar::closest(key, ALL.iter().map(|s| s.key), 2);
        format!(
            "unknown setting '{key}'{}; sweep settings are: {}",
            close
                .first()
                .map_or(String::new(), |k| format!(" (did you mean '{k}'?)")),
            ALL.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
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
