//! Reading one file (or folder) of texts into a [`RawTable`].

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::format::Format;
use crate::DataError;

/// Column names tried, in this order and case-insensitively, when `--text-col` is not given.
pub const TEXT_COLUMNS: [&str; 8] = [
    "text", "sentence", "review", "content", "lyrics", "document", "body", "comment",
];
/// Column names tried, in this order and case-insensitively, when `--label-col` is not given.
pub const LABEL_COLUMNS: [&str; 9] = [
    "label",
    "labels",
    "score",
    "sentiment",
    "genre",
    "target",
    "class",
    "category",
    "y",
];
/// Column names tried, in this order and case-insensitively, when `--id-col` is not given.
pub const ID_COLUMNS: [&str; 3] = ["id", "idx", "guid"];
/// Pairs of column names that hold the two texts of a sentence-pair task, tried in this order
/// (case-insensitively) when `--pair-col` is not given: GLUE's `sentence1`/`sentence2`, NLI's
/// `premise`/`hypothesis`, QNLI's `question`/`sentence`, QQP's `question1`/`question2` and the
/// generic `text_a`/`text_b`.
pub const PAIR_COLUMNS: [(&str, &str); 5] = [
    ("sentence1", "sentence2"),
    ("premise", "hypothesis"),
    ("question", "sentence"),
    ("question1", "question2"),
    ("text_a", "text_b"),
];

/// How to read a table. Every field is optional: formats come from the file name and
/// columns are auto-detected (see [`TEXT_COLUMNS`], [`LABEL_COLUMNS`], [`ID_COLUMNS`]).
///
/// `ReadOptions::default()` is the same as [`ReadOptions::unlabelled`]; use
/// [`ReadOptions::labelled`] for training and evaluation data.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Overrides the format inferred by [`Format::detect`] (`--format`).
    pub format: Option<Format>,
    /// The text column (`--text-col`); auto-detected when `None`.
    pub text_col: Option<String>,
    /// The label column (`--label-col`); auto-detected when `None`.
    pub label_col: Option<String>,
    /// The id column (`--id-col`); auto-detected when `None`, else ids are `file:row`.
    pub id_col: Option<String>,
    /// The column of the second text of a pair (`--text-pair-col`); auto-detected from
    /// [`PAIR_COLUMNS`] when `None` and `text_col` is `None` or the first of a known pair.
    pub pair_col: Option<String>,
    /// One 0/1 column per label (`--label-cols a,b,c`), for multi-label data stored one-hot.
    /// Each row's label becomes the JSON list of the names whose column holds 1.
    pub label_cols: Option<Vec<String>>,
    /// When true, a label column must exist and every row must have a non-empty label.
    /// When false, labels are read if a label column is found and kept only if complete.
    pub require_label: bool,
}

impl ReadOptions {
    /// Options for labelled data (training, validation, test): labels are required.
    pub fn labelled() -> Self {
        Self {
            require_label: true,
            ..Self::default()
        }
    }

    /// Options for texts to predict: labels are read when present but not required.
    pub fn unlabelled() -> Self {
        Self::default()
    }
}

/// The rows of one file, as strings, before labels are mapped to ids.
#[derive(Clone, Debug, PartialEq)]
pub struct RawTable {
    /// The file or folder the rows came from.
    pub source: PathBuf,
    /// One id per row: the id column's value, or `<file name>:<row>` (1-based data row), or
    /// for folders the file path relative to the folder (`pos/0_9.txt`).
    pub ids: Vec<String>,
    /// The texts, exactly as stored.
    pub texts: Vec<String>,
    /// The second text of each row, when the table holds sentence pairs.
    pub pairs: Option<Vec<String>>,
    /// The labels (trimmed), when the table has them. A multi-label row is a delimited
    /// string (`a|b`) or a JSON list (`["a","b"]`, also what `--label-cols` and JSON-lines
    /// arrays give); a regression target is a number.
    pub labels: Option<Vec<String>>,
    /// The column the texts came from (`<file>` for folders).
    pub text_col: String,
    /// The column of the second texts, for pairs.
    pub pair_col: Option<String>,
    /// The column the labels came from (`<folder>` for folders).
    pub label_col: Option<String>,
    /// Human-readable remarks on what was read, detected or skipped.
    pub notes: Vec<String>,
}

impl RawTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// Reads a labelled or unlabelled table from `path` (a file, or a folder of class folders).
///
/// The format comes from `opts.format` or [`Format::detect`]. Errors name the file, the
/// line or row, the problem and a fix; no input makes this panic.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<RawTable, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    let format = match opts.format {
        Some(f) => f,
        None => Format::detect(path)?,
    };
    if format == Format::Folder {
        if !meta.is_dir() {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: "--format folder needs a directory with one subdirectory per class".into(),
            });
        }
        return read_folder(path, opts);
    }
    if meta.is_dir() {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "is a directory, but --format {format} needs a file; leave out --format to \
                 read it as one subdirectory of .txt files per class"
            ),
        });
    }
    if meta.len() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            message: "the file is empty (0 bytes); expected a header row and data rows".into(),
        });
    }
    let mut table = match format {
        Format::Csv => read_delimited(path, opts, b',', true, None),
        Format::Tsv => read_delimited(path, opts, b'\t', false, None),
        Format::Jsonl => read_jsonl(path, opts, None),
        Format::Parquet => read_parquet(path, opts),
        Format::Folder => unreachable!("handled above"),
    }?;
    let mut summary = format!(
        "read {} rows from {} ({format}; text column '{}'",
        table.len(),
        path.display(),
        table.text_col
    );
    if let Some(p) = &table.pair_col {
        summary.push_str(&format!(", second text column '{p}'"));
    }
    match (&table.label_col, &table.labels) {
        (Some(c), Some(_)) => summary.push_str(&format!(", label column '{c}'")),
        (Some(c), None) => summary.push_str(&format!(", label column '{c}' ignored")),
        (None, _) => summary.push_str(", no labels"),
    }
    summary.push(')');
    table.notes.insert(0, summary);
    Ok(table)
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// Opens a file, transparently decompressing gzip (detected by its magic bytes).
fn open_text(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut buf = BufReader::with_capacity(1 << 16, file);
    let head = buf.fill_buf().map_err(|e| DataError::io(path, e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(buf)))
    } else {
        Ok(Box::new(buf))
    }
}

#[cfg(feature = "parquet")]
fn is_gzip(path: &Path) -> Result<bool, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(path, e)),
        }
    }
    Ok(got == 2 && magic == [0x1f, 0x8b])
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Which columns (by index into the header) hold the text, label and id.
#[derive(Debug)]
struct Columns {
    text: usize,
    pair: Option<usize>,
    label: Option<usize>,
    /// One-hot label columns (`--label-cols`), in the order given.
    label_cols: Vec<usize>,
    /// How the label columns are shown in notes and messages.
    label_desc: Option<String>,
    id: Option<usize>,
    names: Vec<String>,
}

impl Columns {
    fn text_name(&self) -> &str {
        &self.names[self.text]
    }
    fn pair_name(&self) -> Option<&str> {
        self.pair.map(|i| self.names[i].as_str())
    }
    fn label_name(&self) -> Option<&str> {
        self.label_desc.as_deref()
    }
    /// The label of a row from its label column, or from its one-hot columns as a JSON list.
    /// `get(i)` reads column `i` of the row; `Ok(None)` when the table has no labels.
    fn row_label(
        &self,
        mut get: impl FnMut(usize) -> Result<String, DataError>,
        bad: impl Fn(String) -> DataError,
    ) -> Result<Option<String>, DataError> {
        if let Some(l) = self.label {
            return get(l).map(Some);
        }
        if self.label_cols.is_empty() {
            return Ok(None);
        }
        let mut on: Vec<&str> = Vec::new();
        for &c in &self.label_cols {
            let v = get(c)?;
            match onehot_value(&v) {
                Some(true) => on.push(&self.names[c]),
                Some(false) => {}
                None => {
                    return Err(bad(format!(
                        "label column '{}' holds '{}'; one-hot label columns (--label-cols) \
                         must hold 0 or 1 (also true/false)",
                        self.names[c],
                        clip(v.trim(), 40)
                    )))
                }
            }
        }
        Ok(Some(serde_json::to_string(&on).unwrap_or_default()))
    }
    fn id_name(&self) -> Option<&str> {
        self.id.map(|i| self.names[i].as_str())
    }
}

/// A one-hot cell: `1`, `1.0`, `true` are on; `0`, `0.0`, `false` and empty are off.
fn onehot_value(v: &str) -> Option<bool> {
    let v = v.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("false") {
        return Some(false);
    }
    if v.eq_ignore_ascii_case("true") {
        return Some(true);
    }
    match v.parse::<f64>() {
        Ok(0.0) => Some(false),
        Ok(1.0) => Some(true),
        _ => None,
    }
}

fn list_columns(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    let mut shown: Vec<String> = names
        .iter()
        .take(MAX_LISTED)
        .map(|n| format!("'{}'", clip(n, 60)))
        .collect();
    if names.len() > MAX_LISTED {
        shown.push(format!("… ({} more)", names.len() - MAX_LISTED));
    }
    shown.join(", ")
}

/// How many column names a message lists.
const MAX_LISTED: usize = 20;

/// `s` cut to at most `max` characters, with `…` when cut: a message never echoes a huge
/// header line or field.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push_str(&format!("… ({} characters)", s.chars().count()));
    out
}

/// Finds `wanted` among `names`: exact match first, then a unique case-insensitive one.
fn find_named(names: &[String], wanted: &str) -> Option<usize> {
    if let Some(i) = names.iter().position(|n| n == wanted) {
        return Some(i);
    }
    let hits: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.eq_ignore_ascii_case(wanted))
        .map(|(i, _)| i)
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

fn find_candidate(names: &[String], candidates: &[&str], exclude: &[usize]) -> Option<usize> {
    candidates.iter().find_map(|c| {
        names
            .iter()
            .enumerate()
            .find(|(i, n)| !exclude.contains(i) && n.trim().eq_ignore_ascii_case(c))
            .map(|(i, _)| i)
    })
}

/// Resolves the text/label/id columns from a header (or the keys of a first JSON object).
fn resolve_columns(
    path: &Path,
    names: Vec<String>,
    opts: &ReadOptions,
    kind: &str,
) -> Result<Columns, DataError> {
    let missing = |what: &str, flag: &str, detail: String| DataError::MissingColumn {
        path: path.to_path_buf(),
        message: format!(
            "{detail}; available {kind}s: {}; pass {flag} NAME to choose the {what} {kind}",
            list_columns(&names)
        ),
    };
    // A known pair of columns, when neither text column is named (or the named text column
    // is the first of a known pair whose second column exists).
    let known_pair = if opts.pair_col.is_some() {
        None
    } else {
        PAIR_COLUMNS.iter().find_map(|(a, b)| {
            let ia = find_candidate(&names, &[a], &[])?;
            let ib = find_candidate(&names, &[b], &[ia])?;
            match &opts.text_col {
                None => Some((ia, ib)),
                Some(want) if find_named(&names, want) == Some(ia) => Some((ia, ib)),
                Some(_) => None,
            }
        })
    };
    let text = match (&opts.text_col, known_pair) {
        (None, Some((a, _))) => a,
        (Some(want), _) => find_named(&names, want).ok_or_else(|| {
            missing(
                "text",
                "--text-col",
                format!("no {kind} named '{want}' (--text-col)"),
            )
        })?,
        (None, None) => find_candidate(&names, &TEXT_COLUMNS, &[]).ok_or_else(|| {
            missing(
                "text",
                "--text-col",
                format!(
                    "no text {kind} found (looked for {})",
                    TEXT_COLUMNS.join(", ")
                ),
            )
        })?,
    };
    let pair = match &opts.pair_col {
        Some(want) => Some(find_named(&names, want).ok_or_else(|| {
            missing(
                "second text",
                "--text-pair-col",
                format!("no {kind} named '{want}' (--text-pair-col)"),
            )
        })?),
        None => known_pair.map(|(_, b)| b),
    };
    if pair == Some(text) {
        return Err(DataError::InvalidOption(format!(
            "{}: both texts of a pair would come from {kind} '{}'; pass different --text-col \
             and --text-pair-col",
            path.display(),
            names[text]
        )));
    }
    let label_cols: Vec<usize> = match &opts.label_cols {
        None => Vec::new(),
        Some(_) if opts.label_col.is_some() => {
            return Err(DataError::InvalidOption(
                "--label-col and --label-cols both given; use --label-col for one label \
                 column (single-label, regression, or delimited multi-label), --label-cols for \
                 one 0/1 column per label"
                    .into(),
            ))
        }
        Some(wanted) if wanted.is_empty() => {
            return Err(DataError::InvalidOption(
                "--label-cols needs at least one column name, e.g. --label-cols joy,anger".into(),
            ))
        }
        Some(wanted) => {
            let mut found = Vec::with_capacity(wanted.len());
            for want in wanted {
                let c = find_named(&names, want).ok_or_else(|| {
                    missing(
                        "label",
                        "--label-cols",
                        format!("no {kind} named '{want}' (--label-cols)"),
                    )
                })?;
                if c == text || Some(c) == pair {
                    return Err(DataError::InvalidOption(format!(
                        "{}: {kind} '{}' is a text {kind} and a label {kind} (--label-cols)",
                        path.display(),
                        names[c]
                    )));
                }
                if found.contains(&c) {
                    return Err(DataError::InvalidOption(format!(
                        "{}: --label-cols names {kind} '{}' twice",
                        path.display(),
                        names[c]
                    )));
                }
                found.push(c);
            }
            found
        }
    };
    let texts_used: Vec<usize> = std::iter::once(text).chain(pair).collect();
    let label = match &opts.label_col {
        _ if !label_cols.is_empty() => None,
        Some(want) => Some(find_named(&names, want).ok_or_else(|| {
            missing(
                "label",
                "--label-col",
                format!("no {kind} named '{want}' (--label-col)"),
            )
        })?),
        None => {
            let found = find_candidate(&names, &LABEL_COLUMNS, &texts_used);
            if found.is_none() && opts.require_label {
                return Err(missing(
                    "label",
                    "--label-col",
                    format!(
                        "no label {kind} found (looked for {})",
                        LABEL_COLUMNS.join(", ")
                    ),
                ));
            }
            found
        }
    };
    if label.is_some() && label == pair {
        return Err(DataError::InvalidOption(format!(
            "{}: the second text and the label would both come from {kind} '{}'; pass \
             different --text-pair-col and --label-col",
            path.display(),
            names[pair.unwrap_or(0)]
        )));
    }
    if label == Some(text) {
        return Err(DataError::InvalidOption(format!(
            "{}: the text and the label would both come from {kind} '{}'; pass different \
             --text-col and --label-col",
            path.display(),
            names[text]
        )));
    }
    let used: Vec<usize> = texts_used
        .iter()
        .copied()
        .chain(label)
        .chain(label_cols.iter().copied())
        .collect();
    let id = match &opts.id_col {
        Some(want) => Some(
            find_named(&names, want)
                .ok_or_else(|| missing("id", "--id-col", format!("no {kind} named '{want}'")))?,
        ),
        None => find_candidate(&names, &ID_COLUMNS, &used),
    };
    let label_desc = match (label, label_cols.as_slice()) {
        (Some(l), _) => Some(names[l].clone()),
        (None, []) => None,
        (None, cols) => Some(format!(
            "{} one-hot columns ({})",
            cols.len(),
            clip(
                &cols
                    .iter()
                    .map(|&c| names[c].as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                80
            )
        )),
    };
    Ok(Columns {
        text,
        pair,
        label,
        label_cols,
        label_desc,
        id,
        names,
    })
}

/// A run of rows handed to a [`ChunkSink`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chunk {
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    /// The second texts, when the table holds pairs.
    pub pairs: Option<Vec<String>>,
    /// The labels, when the table has a label column.
    pub labels: Option<Vec<String>>,
}

impl Chunk {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// Receives the rows of a table a chunk at a time.
pub type ChunkSink<'s> = &'s mut dyn FnMut(Chunk) -> Result<(), DataError>;

struct Rows<'a> {
    path: &'a Path,
    file: String,
    require_label: bool,
    label_col: Option<String>,
    has_pairs: bool,
    ids: Vec<String>,
    texts: Vec<String>,
    pairs: Vec<String>,
    labels: Vec<String>,
    empty_labels: usize,
    /// With a sink, every `n` rows (or [`CHUNK_BYTES`] of text) go to it instead of
    /// accumulating.
    sink: Option<(usize, ChunkSink<'a>)>,
    emitted: usize,
    /// Bytes of text gathered since the last chunk.
    bytes: usize,
}

impl<'a> Rows<'a> {
    fn new(path: &'a Path, opts: &ReadOptions, cols: Option<&Columns>) -> Self {
        Rows {
            path,
            file: file_name(path),
            require_label: opts.require_label,
            label_col: cols.and_then(Columns::label_name).map(str::to_owned),
            has_pairs: cols.is_some_and(|c| c.pair.is_some()),
            ids: Vec::new(),
            texts: Vec::new(),
            pairs: Vec::new(),
            labels: Vec::new(),
            empty_labels: 0,
            sink: None,
            emitted: 0,
            bytes: 0,
        }
    }

    fn with_sink(mut self, sink: Option<(usize, ChunkSink<'a>)>) -> Self {
        self.sink = sink;
        self
    }

    /// Hands the rows gathered so far to the sink, if there is one.
    fn flush_chunk(&mut self) -> Result<(), DataError> {
        if let Some((_, f)) = self.sink.as_mut() {
            if !self.texts.is_empty() {
                self.emitted += self.texts.len();
                self.bytes = 0;
                let labels = std::mem::take(&mut self.labels);
                let pairs = std::mem::take(&mut self.pairs);
                f(Chunk {
                    ids: std::mem::take(&mut self.ids),
                    texts: std::mem::take(&mut self.texts),
                    pairs: self.has_pairs.then_some(pairs),
                    labels: self.label_col.as_ref().map(|_| labels),
                })?;
            }
        }
        Ok(())
    }

    /// Adds data row number `row` (1-based). `label` is `None` when there is no label column,
    /// `pair` when the table has no second texts.
    fn push(
        &mut self,
        row: u64,
        line: Option<u64>,
        id: Option<String>,
        text: String,
        pair: Option<String>,
        label: Option<String>,
    ) -> Result<(), DataError> {
        let id = match id {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => format!("{}:{row}", self.file),
        };
        if let Some(col) = &self.label_col {
            let label = label.unwrap_or_default().trim().to_string();
            if label.is_empty() {
                if self.require_label {
                    return Err(DataError::EmptyLabel {
                        path: self.path.to_path_buf(),
                        line,
                        row: id,
                        column: col.clone(),
                    });
                }
                self.empty_labels += 1;
            }
            self.labels.push(label);
        }
        self.bytes += text.len() + pair.as_ref().map_or(0, String::len);
        self.ids.push(id);
        self.texts.push(text);
        if self.has_pairs {
            self.pairs.push(pair.unwrap_or_default());
        }
        if self
            .sink
            .as_ref()
            .is_some_and(|(n, _)| self.texts.len() >= *n || self.bytes >= CHUNK_BYTES)
        {
            self.flush_chunk()?;
        }
        Ok(())
    }

    fn finish(
        mut self,
        text_col: String,
        pair_col: Option<String>,
        what_is_empty: &str,
    ) -> Result<RawTable, DataError> {
        if self.sink.is_some() {
            if self.texts.is_empty() && self.emitted == 0 {
                return Err(DataError::Empty {
                    path: self.path.to_path_buf(),
                    message: format!("{what_is_empty}; there is nothing to read"),
                });
            }
            self.flush_chunk()?;
            // The rows went to the sink; the table carries the columns and notes.
            return Ok(RawTable {
                source: self.path.to_path_buf(),
                ids: Vec::new(),
                texts: Vec::new(),
                pairs: None,
                labels: None,
                text_col,
                pair_col,
                label_col: self.label_col,
                notes: Vec::new(),
            });
        }
        if self.texts.is_empty() {
            return Err(DataError::Empty {
                path: self.path.to_path_buf(),
                message: format!("{what_is_empty}; there is nothing to read"),
            });
        }
        let mut notes = Vec::new();
        let labels = match &self.label_col {
            Some(col) if self.empty_labels > 0 => {
                notes.push(format!(
                    "label column '{col}' has {} empty value(s) out of {}; labels ignored",
                    self.empty_labels,
                    self.texts.len()
                ));
                None
            }
            Some(_) => Some(self.labels),
            None => None,
        };
        Ok(RawTable {
            source: self.path.to_path_buf(),
            ids: self.ids,
            texts: self.texts,
            pairs: self.has_pairs.then_some(self.pairs),
            labels,
            text_col,
            pair_col,
            label_col: self.label_col,
            notes,
        })
    }
}

fn utf8_field(
    path: &Path,
    bytes: &[u8],
    line: Option<u64>,
    what: impl FnOnce() -> String,
) -> Result<String, DataError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let extra_lines = before.iter().filter(|&&b| b == b'\n').count() as u64;
            Err(DataError::NotUtf8 {
                path: path.to_path_buf(),
                line: line.map(|l| l + extra_lines),
                what: what(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------
// CSV / TSV
// ---------------------------------------------------------------------------------------

fn csv_error(path: &Path, e: csv::Error, quoting: bool) -> DataError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => DataError::io(path, io),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let hint = if quoting {
                "fields that contain commas or line breaks must be enclosed in double quotes, \
                 with quotes inside them doubled (\"\"); an unterminated quote makes the rest \
                 of the file run into one field"
            } else {
                "TSV is read without quoting (GLUE style), so a text containing a tab breaks \
                 its row; remove the tabs or convert the file to CSV"
            };
            DataError::malformed(
                path,
                pos.map(|p| p.line()).or(line),
                format!("this row has {len} field(s) but the header has {expected_len}; {hint}"),
            )
        }
        other => DataError::malformed(path, line, format!("cannot parse: {other:?}")),
    }
}

fn read_delimited<'s>(
    path: &'s Path,
    opts: &ReadOptions,
    delimiter: u8,
    quoting: bool,
    sink: Option<(usize, ChunkSink<'s>)>,
) -> Result<RawTable, DataError> {
    let input = open_text(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = rdr
        .byte_headers()
        .map_err(|e| csv_error(path, e, quoting))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            message: "no header row; the file is empty (expected a header row and data rows)"
                .into(),
        });
    }
    let mut names = Vec::with_capacity(header.len());
    for (i, field) in header.iter().enumerate() {
        let mut name = utf8_field(path, field, Some(1), || format!("header field {}", i + 1))?;
        if i == 0 {
            if let Some(stripped) = name.strip_prefix('\u{feff}') {
                name = stripped.to_string();
            }
        }
        names.push(name.trim().to_string());
    }
    let header_text = clip(&names.join(if quoting { "," } else { "\t" }), 200);
    let cols = resolve_columns(path, names, opts, "column")?;
    let mut rows = Rows::new(path, opts, Some(&cols)).with_sink(sink);
    let mut rec = csv::ByteRecord::new();
    let mut row: u64 = 0;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, e, quoting)),
        }
        row += 1;
        let line = rec.position().map(|p| p.line());
        // Line of field `i`: the record's first line plus the line breaks before the field.
        let field_line = |i: usize| {
            line.map(|l| {
                l + (0..i)
                    .filter_map(|j| rec.get(j))
                    .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
                    .sum::<u64>()
            })
        };
        let get = |i: usize| -> Result<String, DataError> {
            let name = &cols.names[i];
            utf8_field(path, rec.get(i).unwrap_or(b""), field_line(i), || {
                format!("column '{name}' of row {row}")
            })
        };
        let text = get(cols.text)?;
        let pair = cols.pair.map(get).transpose()?;
        let label = cols.row_label(get, |m| {
            DataError::malformed(path, line, format!("row {row}: {m}"))
        })?;
        let id = cols.id.map(get).transpose()?;
        rows.push(row, line, id, text, pair, label)?;
    }
    let text_col = cols.text_name().to_string();
    let mut table = rows.finish(
        text_col,
        cols.pair_name().map(str::to_owned),
        &format!("the file has a header row ({header_text}) but no data rows"),
    )?;
    if let Some(id) = cols.id_name() {
        table.notes.push(format!("row ids from column '{id}'"));
    }
    Ok(table)
}

// ---------------------------------------------------------------------------------------
// JSON lines
// ---------------------------------------------------------------------------------------

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A label or id value as text: strings as they are, integers in decimal, booleans as
/// `true`/`false`, whole floats as integers. `null` is an empty label.
fn json_scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(String::new()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Some(u.to_string())
            } else {
                let f = n.as_f64()?;
                (f.fract() == 0.0 && f.abs() < 1e15).then(|| format!("{}", f as i64))
            }
        }
        _ => None,
    }
}

/// A label value as text: a scalar as [`json_scalar`] gives it, a non-integer number in full
/// (a regression target), a list of scalars as its JSON text (a multi-label row).
fn json_label(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Array(items) => {
            let names: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    serde_json::Value::Null | serde_json::Value::Array(_) => None,
                    other => json_scalar(other),
                })
                .collect();
            serde_json::to_string(&names?).ok()
        }
        serde_json::Value::Number(n) => {
            json_scalar(v).or_else(|| n.as_f64().map(|f| f.to_string()))
        }
        _ => json_scalar(v),
    }
}

fn read_jsonl<'s>(
    path: &'s Path,
    opts: &ReadOptions,
    mut sink: Option<(usize, ChunkSink<'s>)>,
) -> Result<RawTable, DataError> {
    let mut input = BufReader::new(open_text(path)?);
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    let mut row: u64 = 0;
    let mut state: Option<(Columns, Rows)> = None;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let mut bytes = buf.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        let s = utf8_field(path, bytes, Some(line_no), || "this line".into())?;
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        if state.is_none() && s.starts_with('[') {
            return Err(DataError::malformed(
                path,
                Some(line_no),
                "this is a JSON array, but JSON lines (one object per line) are expected; \
                 convert it, e.g. `jq -c '.[]' IN.json > OUT.jsonl`",
            ));
        }
        let value: serde_json::Value = serde_json::from_str(s).map_err(|e| {
            DataError::malformed(
                path,
                Some(line_no),
                format!(
                    "invalid JSON ({e}); each line must hold one complete JSON object, e.g. \
                     {{\"text\": \"...\", \"label\": \"...\"}}"
                ),
            )
        })?;
        let serde_json::Value::Object(obj) = value else {
            return Err(DataError::malformed(
                path,
                Some(line_no),
                format!(
                    "expected a JSON object ({{\"text\": ..., \"label\": ...}}) but found {}",
                    json_kind(&value)
                ),
            ));
        };
        if state.is_none() {
            let keys: Vec<String> = obj.keys().cloned().collect();
            let cols = resolve_columns(path, keys, opts, "field")?;
            let rows = Rows::new(path, opts, Some(&cols)).with_sink(sink.take());
            state = Some((cols, rows));
        }
        let Some((cols, rows)) = state.as_mut() else {
            unreachable!("initialised above")
        };
        row += 1;
        let fields_here =
            || list_columns(&obj.keys().cloned().collect::<Vec<_>>()).replace('\'', "\"");
        // A text field: a string, present on every line.
        let text_field = |name: &str, what: &str, hint: &str| match obj.get(name) {
            Some(serde_json::Value::String(t)) => Ok(t.clone()),
            Some(other) => Err(DataError::malformed(
                path,
                Some(line_no),
                format!(
                    "field \"{name}\"{what} must be a string but is {}",
                    json_kind(other)
                ),
            )),
            None => Err(DataError::malformed(
                path,
                Some(line_no),
                format!(
                    "field \"{name}\"{what} is missing (fields on this line: {}); every line \
                     needs it{hint}",
                    fields_here()
                ),
            )),
        };
        let text = text_field(
            cols.text_name(),
            "",
            ", or pass --text-col to use another field",
        )?;
        let pair = cols
            .pair_name()
            .map(|name| text_field(name, " (the second text)", ""))
            .transpose()?;
        let label = match (
            cols.label.map(|i| cols.names[i].as_str()),
            cols.label_cols.is_empty(),
        ) {
            (None, false) => cols.row_label(
                |c| {
                    Ok(obj
                        .get(&cols.names[c])
                        .and_then(json_scalar)
                        .unwrap_or_default())
                },
                |m| DataError::malformed(path, Some(line_no), m),
            )?,
            (None, true) => None,
            (Some(name), _) => match obj.get(name) {
                Some(v) => Some(json_label(v).ok_or_else(|| {
                    DataError::malformed(
                        path,
                        Some(line_no),
                        format!(
                            "field \"{name}\" must be a string, a number, a boolean or a list \
                             of strings (multi-label) but is {}",
                            json_kind(v)
                        ),
                    )
                })?),
                None if rows.require_label => {
                    return Err(DataError::malformed(
                        path,
                        Some(line_no),
                        format!(
                            "field \"{name}\" is missing (fields on this line: {}); every line \
                             needs a label, or pass --label-col to use another field",
                            fields_here()
                        ),
                    ))
                }
                None => Some(String::new()),
            },
        };
        let id = cols
            .id_name()
            .and_then(|name| obj.get(name))
            .and_then(json_scalar);
        rows.push(row, Some(line_no), id, text, pair, label)?;
    }
    let Some((cols, rows)) = state else {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            message: "no JSON objects found (only blank lines); expected one object per line"
                .into(),
        });
    };
    let mut table = rows.finish(
        cols.text_name().to_string(),
        cols.pair_name().map(str::to_owned),
        "no JSON objects found",
    )?;
    if let Some(id) = cols.id_name() {
        table.notes.push(format!("row ids from field '{id}'"));
    }
    Ok(table)
}

// ---------------------------------------------------------------------------------------
// Parquet
// ---------------------------------------------------------------------------------------

#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path, _opts: &ReadOptions) -> Result<RawTable, DataError> {
    Err(DataError::Format {
        path: path.to_path_buf(),
        reason: "this build of textclf has no Parquet support (feature `parquet` of \
                 textclf-data); convert the file to CSV or JSON lines"
            .into(),
    })
}

/// Reads a Parquet file. The `parquet` crate can panic on a damaged file (a division by
/// zero in its page decoder, found by fuzzing): such a panic is caught, kept off the
/// terminal, and reported as a damaged file.
#[cfg(feature = "parquet")]
fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<RawTable, DataError> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    quiet_panics::install();
    quiet_panics::QUIET.with(|q| q.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| read_parquet_unguarded(path, opts)));
    quiet_panics::QUIET.with(|q| q.set(false));
    result.unwrap_or_else(|_| {
        Err(DataError::malformed(
            path,
            None,
            "the Parquet data is damaged (its decoder failed); write the file again, or convert it to CSV",
        ))
    })
}

/// A panic hook, installed once, that stays silent for a thread while it reads Parquet
/// and hands every other panic to the hook that was there before.
#[cfg(feature = "parquet")]
mod quiet_panics {
    use std::cell::Cell;
    use std::sync::Once;

    thread_local! {
        pub static QUIET: Cell<bool> = const { Cell::new(false) };
    }

    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
    }
}

#[cfg(feature = "parquet")]
fn read_parquet_unguarded(path: &Path, opts: &ReadOptions) -> Result<RawTable, DataError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    if is_gzip(path)? {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: "gzip-compressed Parquet is not supported (Parquet compresses \
                     internally); decompress it with gunzip first"
                .into(),
        });
    }
    let bad = |e: parquet::errors::ParquetError| {
        DataError::malformed(
            path,
            None,
            format!("cannot read as Parquet ({e}); check that it is a complete Parquet file"),
        )
    };
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let cols = resolve_columns(path, names, opts, "column")?;
    let mut wanted: Vec<usize> = std::iter::once(cols.text)
        .chain(cols.pair)
        .chain(cols.label)
        .chain(cols.label_cols.iter().copied())
        .chain(cols.id)
        .collect();
    wanted.sort_unstable();
    let position = |c: usize| wanted.iter().position(|&w| w == c).unwrap_or(0);
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(bad)?;
    let mut rows = Rows::new(path, opts, Some(&cols));
    let mut row: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| {
            DataError::malformed(
                path,
                None,
                format!("cannot decode rows after row {row} ({e})"),
            )
        })?;
        let column = |c: usize, numbers: bool| {
            arrow_strings(batch.column(position(c)).as_ref(), numbers).map_err(|ty| {
                DataError::Format {
                    path: path.to_path_buf(),
                    reason: format!(
                        "column '{}' has type {ty}, but {}",
                        cols.names[c],
                        if numbers {
                            "labels and ids must be strings, numbers or booleans"
                        } else {
                            "texts must be strings (Utf8, LargeUtf8 or Utf8View)"
                        }
                    ),
                }
            })
        };
        let texts = column(cols.text, false)?;
        let pairs = cols.pair.map(|c| column(c, false)).transpose()?;
        let labels = cols.label.map(|c| column(c, true)).transpose()?;
        let onehot: Vec<(usize, Vec<Option<String>>)> = cols
            .label_cols
            .iter()
            .map(|&c| column(c, true).map(|v| (c, v)))
            .collect::<Result<_, _>>()?;
        let ids = cols.id.map(|c| column(c, true)).transpose()?;
        for (i, text) in texts.into_iter().enumerate() {
            row += 1;
            let Some(text) = text else {
                return Err(DataError::malformed(
                    path,
                    None,
                    format!(
                        "row {row}: column '{}' is null; remove the row or fill in a text",
                        cols.text_name()
                    ),
                ));
            };
            let pair = match &pairs {
                None => None,
                Some(p) => Some(p[i].clone().ok_or_else(|| {
                    DataError::malformed(
                        path,
                        None,
                        format!(
                            "row {row}: column '{}' (the second text) is null; remove the row \
                             or fill in a text",
                            cols.pair_name().unwrap_or_default()
                        ),
                    )
                })?),
            };
            let label = match &labels {
                Some(l) => Some(l[i].clone().unwrap_or_default()),
                None => cols.row_label(
                    |c| {
                        Ok(onehot
                            .iter()
                            .find(|(oc, _)| *oc == c)
                            .and_then(|(_, v)| v[i].clone())
                            .unwrap_or_default())
                    },
                    |m| DataError::malformed(path, None, format!("row {row}: {m}")),
                )?,
            };
            let id = ids.as_ref().and_then(|v| v[i].clone());
            rows.push(row, None, id, text, pair, label)?;
        }
    }
    let mut table = rows.finish(
        cols.text_name().to_string(),
        cols.pair_name().map(str::to_owned),
        "the file has no rows",
    )?;
    if let Some(id) = cols.id_name() {
        table.notes.push(format!("row ids from column '{id}'"));
    }
    Ok(table)
}

/// A column as optional strings. Integers and booleans are accepted when `numbers` is set.
/// On an unsupported type, returns the type's name.
#[cfg(feature = "parquet")]
fn arrow_strings(
    arr: &dyn arrow_array::Array,
    numbers: bool,
) -> Result<Vec<Option<String>>, String> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;

    fn owned<'a>(it: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<String>> {
        it.map(|o| o.map(str::to_owned)).collect()
    }
    macro_rules! ints {
        ($($t:ty),*) => {
            $(
                if let Some(a) = arr.as_primitive_opt::<$t>() {
                    return Ok(a.iter().map(|o| o.map(|v| v.to_string())).collect());
                }
            )*
        };
    }

    if let Some(a) = arr.as_string_opt::<i32>() {
        return Ok(owned(a.iter()));
    }
    if let Some(a) = arr.as_string_opt::<i64>() {
        return Ok(owned(a.iter()));
    }
    if let Some(a) = arr.as_string_view_opt() {
        return Ok(owned(a.iter()));
    }
    if let Some(d) = arr.as_any_dictionary_opt() {
        let values = arrow_strings(d.values().as_ref(), numbers)?;
        let keys = d.normalized_keys();
        return Ok((0..arr.len())
            .map(|i| {
                if arr.is_null(i) {
                    None
                } else {
                    keys.get(i).and_then(|&k| values.get(k).cloned().flatten())
                }
            })
            .collect());
    }
    if numbers {
        if let Some(a) = arr.as_boolean_opt() {
            return Ok(a.iter().map(|o| o.map(|b| b.to_string())).collect());
        }
        ints!(
            Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
            UInt64Type
        );
        if let Some(a) = arr.as_primitive_opt::<Float32Type>() {
            return Ok(a.iter().map(|o| o.map(|v| v.to_string())).collect());
        }
        if let Some(a) = arr.as_primitive_opt::<Float64Type>() {
            return Ok(a.iter().map(|o| o.map(|v| v.to_string())).collect());
        }
    }
    Err(arr.data_type().to_string())
}

// ---------------------------------------------------------------------------------------
// Folder per class
// ---------------------------------------------------------------------------------------

fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>, DataError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let path = entry.path();
        let is_dir = std::fs::metadata(&path)
            .map_err(|e| DataError::io(&path, e))?
            .is_dir();
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            path,
            is_dir,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn is_txt(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

fn read_text_file(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    utf8_field(path, &bytes, Some(1), || "the file".into())
}

fn read_folder(dir: &Path, opts: &ReadOptions) -> Result<RawTable, DataError> {
    let entries = sorted_entries(dir)?;
    let mut notes = Vec::new();
    let mut ids = Vec::new();
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    let top_files: Vec<&(String, PathBuf, bool)> = entries.iter().filter(|e| !e.2).collect();
    let mut classes = 0usize;
    let mut nested_dirs = 0usize;
    for (name, path, is_dir) in &entries {
        if !is_dir || name.starts_with('.') {
            continue;
        }
        let inner = sorted_entries(path)?;
        if name == "unsup" {
            let n = inner.iter().filter(|e| !e.2).count();
            notes.push(format!("skipped folder {name} (no label, {n} files)"));
            continue;
        }
        let mut n = 0usize;
        let mut other = 0usize;
        for (fname, fpath, fdir) in &inner {
            if *fdir {
                nested_dirs += 1;
                other += 1;
                continue;
            }
            if !is_txt(fname) {
                other += 1;
                continue;
            }
            texts.push(read_text_file(fpath)?);
            ids.push(format!("{name}/{fname}"));
            labels.push(name.trim().to_string());
            n += 1;
        }
        if other > 0 {
            notes.push(format!(
                "ignored {other} entr{} in {name}/ that are not .txt files",
                if other == 1 { "y" } else { "ies" }
            ));
        }
        if n == 0 {
            notes.push(format!("skipped folder {name} (no .txt files)"));
        } else {
            classes += 1;
            notes.push(format!("class '{}': {n} files", name.trim()));
        }
    }
    if classes == 0 {
        let top_txt: Vec<_> = top_files.iter().filter(|e| is_txt(&e.0)).collect();
        if !opts.require_label && !top_txt.is_empty() {
            for (fname, fpath, _) in top_txt.iter().map(|e| (&e.0, &e.1, e.2)) {
                texts.push(read_text_file(fpath)?);
                ids.push(fname.clone());
            }
            notes.insert(
                0,
                format!(
                    "read {} unlabelled .txt files from {}",
                    texts.len(),
                    dir.display()
                ),
            );
            return Ok(RawTable {
                source: dir.to_path_buf(),
                ids,
                texts,
                pairs: None,
                labels: None,
                text_col: "<file>".into(),
                pair_col: None,
                label_col: None,
                notes,
            });
        }
        let hint = if nested_dirs > 0 {
            " (its subdirectories hold further directories: did you mean one of them, e.g. \
             aclImdb/train rather than aclImdb?)"
        } else {
            ""
        };
        return Err(DataError::Empty {
            path: dir.to_path_buf(),
            message: format!(
                "no class subdirectories with .txt files found{hint}; expected \
                 DIR/<class>/*.txt, as in aclImdb/train/pos/*.txt"
            ),
        });
    }
    if !top_files.is_empty() {
        notes.push(format!(
            "ignored {} file(s) at the top level of {}",
            top_files.len(),
            dir.display()
        ));
    }
    notes.insert(
        0,
        format!(
            "read {} files in {classes} class folders from {}",
            texts.len(),
            dir.display()
        ),
    );
    Ok(RawTable {
        source: dir.to_path_buf(),
        ids,
        texts,
        pairs: None,
        labels: Some(labels),
        text_col: "<file>".into(),
        pair_col: None,
        label_col: Some("<folder>".into()),
        notes,
    })
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;

/// The most text a chunk of [`read_table_chunked`] gathers from a CSV, TSV or JSON lines
/// file: a chunk ends at `chunk` rows or at this many bytes of text (its first and second
/// texts), whichever comes first, so long texts do not make chunks large. (Parquet files
/// and folders are read whole, then handed over `chunk` rows at a time.)
pub const CHUNK_BYTES: usize = 8 << 20;

/// Reads `path` as [`read_table`] does, but hands its rows to `sink` `chunk` at a time
/// (ids, texts), or fewer when they hold [`CHUNK_BYTES`] of text, instead of returning
/// them, so CSV, TSV and JSON lines files of any size are read in bounded memory.
/// Parquet files and folders are read whole, then handed over in chunks. Returns the
/// number of rows.
pub fn read_table_chunked(
    path: &Path,
    opts: &ReadOptions,
    chunk: usize,
    sink: ChunkSink<'_>,
) -> Result<usize, DataError> {
    let chunk = chunk.max(1);
    let format = match opts.format {
        Some(f) => f,
        None if path.is_dir() => Format::Folder,
        None => Format::detect(path)?,
    };
    let streamed = matches!(format, Format::Csv | Format::Tsv | Format::Jsonl)
        && std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0);
    if !streamed {
        let t = read_table(path, opts)?;
        let n = t.len();
        let mut rest = Chunk {
            ids: t.ids,
            texts: t.texts,
            pairs: t.pairs,
            labels: t.labels,
        };
        while !rest.is_empty() {
            let k = rest.len().min(chunk);
            let next = Chunk {
                ids: rest.ids.split_off(k),
                texts: rest.texts.split_off(k),
                pairs: rest.pairs.as_mut().map(|p| p.split_off(k)),
                labels: rest.labels.as_mut().map(|l| l.split_off(k)),
            };
            sink(std::mem::replace(&mut rest, next))?;
        }
        return Ok(n);
    }
    let mut count = 0usize;
    let mut counting = |c: Chunk| {
        count += c.len();
        sink(c)
    };
    let s: Option<(usize, ChunkSink<'_>)> = Some((chunk, &mut counting));
    match format {
        Format::Csv => read_delimited(path, opts, b',', true, s),
        Format::Tsv => read_delimited(path, opts, b'\t', false, s),
        _ => read_jsonl(path, opts, s),
    }?;
    Ok(count)
}
