//! Reading labelled text, splitting it reproducibly, and describing it.
//!
//! This crate is the *data* stage of textclf:
//!
//! * [`read_table`] reads one file into a [`RawTable`] of string ids, texts and labels.
//!   Formats ([`Format`]): CSV (RFC 4180 quoting, header row), TSV (GLUE style, no
//!   quoting), JSON lines, Parquet (feature `parquet`, on by default), the text formats also
//!   gzip-compressed (`.csv.gz`), and folder-per-class directories (`aclImdb/train/pos/*.txt`).
//!   Text, label and id columns are auto-detected by name ([`TEXT_COLUMNS`],
//!   [`LABEL_COLUMNS`], [`ID_COLUMNS`]) unless [`ReadOptions`] names them.
//! * [`prepare`] turns a [`Source`] (separate train/valid/test files, or a pool to split)
//!   into [`Splits`] of [`textclf_core::Dataset`]s sharing one [`textclf_core::LabelSet`],
//!   optionally subsampled ([`PrepareOptions::subset_frac`], [`PrepareOptions::per_class`]).
//! * [`split`] holds the seeded, stratified primitives behind it: [`stratified_split`],
//!   [`stratified_subset`], [`per_class_cap`].
//! * [`compute_stats`] describes tables (class balance, lengths, duplicates, leakage
//!   between splits) for `textclf data stats`.
//!
//! Every failure is a [`DataError`] whose message names the file, the line or row, what is
//! wrong and what to do; no input makes these functions panic.
//!
//! ```
//! use textclf_data::{prepare, read_table, compute_stats, PrepareOptions, ReadOptions, Source};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("reviews.csv");
//! let mut csv = String::from("review,sentiment\n");
//! for i in 0..50 {
//!     csv.push_str(&format!("\"a good film, number {i}\",pos\n\"a dull film {i}\",neg\n"));
//! }
//! std::fs::write(&path, csv).unwrap();
//!
//! // Columns are found by name: `review` is a text column, `sentiment` a label column.
//! let table = read_table(&path, &ReadOptions::labelled()).unwrap();
//! assert_eq!(table.len(), 100);
//! assert_eq!(table.ids[0], "reviews.csv:1");
//!
//! // Split 80/10/10, stratified by class, deterministically from the seed.
//! let splits = prepare(&Source::pool(vec![path]), &PrepareOptions::default()).unwrap();
//! assert_eq!((splits.train.len(), splits.test.len()), (80, 10));
//! assert_eq!(splits.label_set.names(), ["neg", "pos"]);
//!
//! let stats = compute_stats(&[("all".to_string(), &table)]);
//! assert_eq!(stats.splits[0].classes[1].rows, 50);
//! println!("{stats}");
//! ```

mod error;
mod format;
mod prepare;
mod read;
pub mod split;
mod stats;
mod targets;
mod validate;

pub use error::DataError;
pub use format::Format;
pub use prepare::{prepare, split_targets, PrepareOptions, Source, Splits};
pub use read::{
    read_table, read_table_chunked, Chunk, ChunkSink, RawTable, ReadOptions, CHUNK_BYTES,
    ID_COLUMNS, LABEL_COLUMNS, PAIR_COLUMNS, TEXT_COLUMNS,
};
pub use split::{per_class_cap, stratified_split, stratified_subset};
pub use stats::{
    compute_stats, compute_stats_with, ClassShare, CrossDup, DataStats, LengthSummary,
    MultiLabelStats, SplitStats, TargetSummary, TokenStats,
};
pub use targets::{infer_task, parse_label_list, TargetOptions, TaskGuess};
pub use validate::{accuracy_half_width, check_splits, small_validation, SMALL_VALIDATION};
