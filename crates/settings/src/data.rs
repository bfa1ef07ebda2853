//! The data settings: where labelled data comes from, how its columns are read and how it
//! is split. They are the flags of `textclf train` and `textclf baseline` (the column
//! settings also of `data stats`, `predict` and `eval`) and the keys of a sweep's `[data]`
//! section, declared here once with their type, default and help, as the run settings are
//! in [`crate::ALL`].
//!
//! A sweep's `[data]` keys are checked against [`DATA`] before the section is read: an
//! unknown key gets a "did you mean", a value of the wrong type names the key.

use crate::{Kind, Setting, BOTH};

const fn data(
    key: &'static str,
    long: &'static str,
    kind: Kind,
    help: &'static str,
    default: Option<&'static str>,
) -> Setting {
    crate::setting(key, long, BOTH, kind, help, default)
}

pub const TRAIN: Setting = data(
    "train",
    "train",
    Kind::Text,
    "Training file (CSV, TSV, JSONL, Parquet, optionally .gz; or a folder-per-class directory). Needs --test; or give one pool with --data instead.",
    None,
);
pub const VALID: Setting = data(
    "valid",
    "valid",
    Kind::Text,
    "Validation file (used to choose C, or for early stopping and the best epoch). Without it a stratified share of train (--valid-frac) is held out for that: `baseline` then refits the chosen model on all of train; `train` trains on the rest.",
    None,
);
pub const TEST: Setting = data(
    "test",
    "test",
    Kind::Text,
    "Test file: the reported metrics are computed on it (required with --train).",
    None,
);
/// `pool` in a sweep file, `--data` on the command line.
pub const POOL: Setting = data(
    "pool",
    "data",
    Kind::Texts,
    "One pool of labelled data, split into train/valid/test (repeat to join several files).",
    None,
);
pub const SPLIT: Setting = data(
    "split",
    "split",
    Kind::Text,
    "Train/valid/test percentages for --data.",
    Some("80/10/10"),
);
/// `subset_frac` in `[data]`; the same flag as the grid's `train_fraction`.
pub const SUBSET_FRAC: Setting = Setting {
    key: "subset_frac",
    ..crate::TRAIN_FRACTION
};
pub const PER_CLASS: Setting = data(
    "per_class",
    "per-class",
    Kind::Count,
    "Keep at most N examples per class (of the pool, or of train); multi-label: labels rarest first until N kept rows carry each; regression: N per decile of the target.",
    None,
);
pub const VALID_FRAC: Setting = data(
    "valid_frac",
    "valid-frac",
    Kind::Number,
    "Share of train held out for validation when there is no validation file (stratified; above 0 and below 1, and below 0.5 for a baseline, which refits on all of train).",
    Some("0.1"),
);
pub const TEXT_COL: Setting = data(
    "text_col",
    "text-col",
    Kind::Text,
    "Text column (default: auto-detect text/sentence/review/content/lyrics…).",
    None,
);
pub const LABEL_COL: Setting = data(
    "label_col",
    "label-col",
    Kind::Text,
    "Label column (default: auto-detect label/sentiment/genre/target…).",
    None,
);
pub const ID_COL: Setting = data(
    "id_col",
    "id-col",
    Kind::Text,
    "Row id column (default: `id` if present, else file:row).",
    None,
);
pub const TEXT_PAIR_COL: Setting = data(
    "text_pair_col",
    "text-pair-col",
    Kind::Text,
    "Column of the second text of a pair (default: auto-detect sentence1/sentence2, premise/hypothesis, question/sentence, question1/question2, text_a/text_b).",
    None,
);
pub const LABEL_COLS: Setting = data(
    "label_cols",
    "label-cols",
    Kind::Texts,
    "One 0/1 column per label, for multi-label data stored one-hot (e.g. joy,anger,fear).",
    None,
);
pub const LABEL_SEP: Setting = data(
    "label_sep",
    "label-sep",
    Kind::Text,
    "Separator of several labels in one label cell (multi-label).",
    Some("|"),
);
pub const TASK: Setting = data(
    "task",
    "task",
    Kind::Text,
    "single-label, multi-label or regression (default: inferred from the training labels, and printed).",
    None,
);
pub const FORMAT: Setting = data(
    "format",
    "format",
    Kind::Text,
    "File format, when the extension does not tell.",
    None,
);

/// Every data setting; `seed` is the run setting [`crate::SEED`], which seeds the split too.
pub const DATA: &[Setting] = &[
    TRAIN,
    VALID,
    TEST,
    POOL,
    SPLIT,
    SUBSET_FRAC,
    PER_CLASS,
    VALID_FRAC,
    crate::SEED,
    TEXT_COL,
    LABEL_COL,
    ID_COL,
    TEXT_PAIR_COL,
    LABEL_COLS,
    LABEL_SEP,
    TASK,
    FORMAT,
];

/// The column settings: how a file's columns are read (flags of every command that reads
/// labelled or unlabelled files).
pub const COLUMNS: &[Setting] = &[
    TEXT_COL,
    LABEL_COL,
    ID_COL,
    TEXT_PAIR_COL,
    LABEL_COLS,
    LABEL_SEP,
    TASK,
    FORMAT,
];

/// The data setting of `key`, or an error message that suggests the nearest key.
pub fn find(key: &str) -> Result<&'static Setting, String> {
    crate::find_in(DATA, key, "[data] key", "[data] keys")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_flags_are_unique_and_typos_get_the_nearest_key() {
        for (i, a) in DATA.iter().enumerate() {
            for b in &DATA[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.long, b.long);
            }
        }
        assert!(COLUMNS.iter().all(|c| DATA.contains(c)));
        assert_eq!(find("pool").unwrap().flag(), "--data");
        let e = find("labl_col").unwrap_err();
        assert!(e.contains("did you mean 'label_col'?"), "{e}");
        assert_eq!(SUBSET_FRAC.flag(), crate::TRAIN_FRACTION.flag());
    }
}
