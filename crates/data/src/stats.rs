//! Descriptive statistics of tables: `textclf data stats`.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use textclf_core::{LabelSet, Task};

use crate::read::RawTable;
use crate::targets::{infer_task, parse_label_list, TargetOptions};

/// Statistics of several splits, plus texts shared between them.
#[derive(Clone, Debug, Serialize)]
pub struct DataStats {
    pub splits: Vec<SplitStats>,
    /// One entry per pair of splits (in the order given: `a` before `b`).
    pub cross_duplicates: Vec<CrossDup>,
}

/// Statistics of one split.
#[derive(Clone, Debug, Serialize)]
pub struct SplitStats {
    pub name: String,
    pub rows: usize,
    /// Rows per class, in label-set order; empty when the table has no labels.
    pub classes: Vec<ClassShare>,
    /// Lengths in whitespace-separated words.
    pub words: LengthSummary,
    /// Texts that are empty or only whitespace.
    pub empty_texts: usize,
    /// Rows whose exact text occurred earlier in the same split (rows − distinct texts).
    pub duplicate_texts: usize,
    /// Lengths in model tokens; filled in by tokenizer-aware callers, `None` here.
    pub token_lengths: Option<TokenStats>,
    /// The task the labels describe (inferred as for training); `None` without labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Lengths of the second texts, in words, for text pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair_words: Option<LengthSummary>,
    /// Labels per row and the most frequent label pairs, for multi-label data (the rows
    /// of each label are in `classes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_label: Option<MultiLabelStats>,
    /// The distribution of the target, for regression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSummary>,
}

/// How many labels rows carry, and which labels occur together.
#[derive(Clone, Debug, Serialize)]
pub struct MultiLabelStats {
    /// Mean labels per row (label cardinality).
    pub cardinality: f64,
    /// Rows with no label, one label, two, and three or more.
    pub rows_with: [usize; 4],
    /// The most frequent pairs of labels on one row, most frequent first (at most 10).
    pub co_occurrence: Vec<(String, String, usize)>,
}

/// Summary of a regression target.
#[derive(Clone, Debug, Serialize)]
pub struct TargetSummary {
    pub min: f64,
    pub p10: f64,
    pub median: f64,
    pub mean: f64,
    pub p90: f64,
    pub max: f64,
    pub std: f64,
    /// Distinct values (a handful suggests classes rather than a score).
    pub distinct: usize,
}

/// The rows of one class.
#[derive(Clone, Debug, Serialize)]
pub struct ClassShare {
    pub label: String,
    pub rows: usize,
    /// `rows / split rows`, in `[0, 1]`.
    pub share: f64,
}

/// Summary of a length distribution. Percentiles use linear interpolation between ranks.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LengthSummary {
    pub min: usize,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub max: usize,
}

/// Token lengths under a given tokenizer (for transformer models).
#[derive(Clone, Debug, Serialize)]
pub struct TokenStats {
    pub tokenizer: String,
    /// Whether the lengths are of text pairs as a model reads them (both texts and the
    /// special tokens) rather than of single texts.
    pub pairs: bool,
    pub summary: LengthSummary,
    /// `(max_len, share of texts longer than max_len)` pairs.
    pub truncated_at: Vec<(usize, f64)>,
}

/// Texts present in two splits.
#[derive(Clone, Debug, Serialize)]
pub struct CrossDup {
    pub a: String,
    pub b: String,
    /// Number of distinct texts that occur in both `a` and `b`.
    pub texts_in_both: usize,
    /// Number of distinct texts of `b` that occur in `a` once case, punctuation and spacing
    /// are ignored, beyond the exact ones.
    #[serde(default)]
    pub near_in_both: usize,
}

/// A text with case, punctuation and spacing left out: `"Great film!!"` and
/// `"great  film"` are the same near-duplicate.
pub fn near_key(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut gap = false;
    for c in t.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

impl LengthSummary {
    /// Summarises `lengths` (all zeros when empty).
    pub fn from_lengths(lengths: &[usize]) -> Self {
        if lengths.is_empty() {
            return Self::default();
        }
        let mut v = lengths.to_vec();
        v.sort_unstable();
        // Nearest rank: every percentile is a length some text has (a word count, not
        // an interpolated fraction such as 1529.3).
        let q = |p: f64| {
            let rank = (p * v.len() as f64).ceil().max(1.0) as usize;
            v[rank.min(v.len()) - 1] as f64
        };
        Self {
            min: v[0],
            mean: v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64,
            median: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            max: v[v.len() - 1],
        }
    }
}

/// Computes [`DataStats`] for named tables (e.g. `[("train", &t), ("test", &u)]`), with
/// the task of labelled tables inferred as for training.
pub fn compute_stats(tables: &[(String, &RawTable)]) -> DataStats {
    compute_stats_with(tables, &TargetOptions::default())
}

/// Labels per label name and the multi-label summary, for multi-label `labels`.
fn multi_label_stats(
    labels: &[String],
    opts: &TargetOptions,
) -> (Vec<ClassShare>, MultiLabelStats) {
    let rows: Vec<Vec<String>> = labels
        .iter()
        .map(|l| parse_label_list(l, &opts.label_sep).unwrap_or_default())
        .collect();
    let set = LabelSet::from_raw(rows.iter().flatten());
    let k = set.len();
    let mut counts = vec![0usize; k];
    let mut pairs: std::collections::HashMap<(usize, usize), usize> = Default::default();
    let mut rows_with = [0usize; 4];
    let mut total = 0usize;
    for r in &rows {
        let mut ids: Vec<usize> = r.iter().filter_map(|n| set.id(n)).collect();
        ids.sort_unstable();
        total += ids.len();
        rows_with[ids.len().min(3)] += 1;
        for (a, &i) in ids.iter().enumerate() {
            counts[i] += 1;
            for &j in &ids[a + 1..] {
                *pairs.entry((i, j)).or_default() += 1;
            }
        }
    }
    let n = rows.len().max(1) as f64;
    let classes = set
        .names()
        .iter()
        .zip(&counts)
        .map(|(label, &c)| ClassShare {
            label: label.clone(),
            rows: c,
            share: c as f64 / n,
        })
        .collect();
    let mut top: Vec<((usize, usize), usize)> = pairs.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let co_occurrence = top
        .into_iter()
        .take(10)
        .map(|((i, j), c)| (set.name(i).to_string(), set.name(j).to_string(), c))
        .collect();
    (
        classes,
        MultiLabelStats {
            cardinality: total as f64 / n,
            rows_with,
            co_occurrence,
        },
    )
}

/// The summary of regression targets (unparsable values are left out; training reports them).
fn target_summary(labels: &[String]) -> TargetSummary {
    let mut v: Vec<f64> = labels
        .iter()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        v.push(0.0);
    }
    let q = |p: f64| {
        let rank = (p * v.len() as f64).ceil().max(1.0) as usize;
        v[rank.min(v.len()) - 1]
    };
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64;
    let mut distinct = v.clone();
    distinct.dedup();
    TargetSummary {
        min: v[0],
        p10: q(0.1),
        median: q(0.5),
        mean,
        p90: q(0.9),
        max: v[v.len() - 1],
        std: var.sqrt(),
        distinct: distinct.len(),
    }
}

/// [`compute_stats`] with the task and label separator given (`--task`, `--label-sep`).
pub fn compute_stats_with(tables: &[(String, &RawTable)], opts: &TargetOptions) -> DataStats {
    let mut splits = Vec::with_capacity(tables.len());
    let mut distinct: Vec<HashSet<&str>> = Vec::with_capacity(tables.len());
    for (name, table) in tables {
        // Each table's task is inferred from its own labels (files given together need not
        // be splits of one dataset), unless `--task` says.
        let task = table.labels.as_ref().map(|l| infer_task(l, opts).task);
        let rows = table.texts.len();
        let mut multi_label = None;
        let mut target = None;
        let classes = match (&table.labels, task) {
            (Some(labels), Some(Task::MultiLabel)) => {
                let (classes, m) = multi_label_stats(labels, opts);
                multi_label = Some(m);
                classes
            }
            (Some(labels), Some(Task::Regression)) => {
                target = Some(target_summary(labels));
                Vec::new()
            }
            (Some(labels), _) => {
                let set = LabelSet::from_raw(labels);
                let mut counts = vec![0usize; set.len()];
                for l in labels {
                    if let Some(id) = set.id(l) {
                        counts[id] += 1;
                    }
                }
                set.names()
                    .iter()
                    .zip(counts)
                    .map(|(label, n)| ClassShare {
                        label: label.clone(),
                        rows: n,
                        share: if rows == 0 {
                            0.0
                        } else {
                            n as f64 / rows as f64
                        },
                    })
                    .collect()
            }
            (None, _) => Vec::new(),
        };
        let lengths: Vec<usize> = table
            .texts
            .iter()
            .map(|t| t.split_whitespace().count())
            .collect();
        let empty_texts = table.texts.iter().filter(|t| t.trim().is_empty()).count();
        let set: HashSet<&str> = table.texts.iter().map(String::as_str).collect();
        splits.push(SplitStats {
            name: name.clone(),
            rows,
            classes,
            words: LengthSummary::from_lengths(&lengths),
            empty_texts,
            duplicate_texts: rows - set.len(),
            token_lengths: None,
            task: table.labels.as_ref().and(task),
            pair_words: table.pairs.as_ref().map(|p| {
                LengthSummary::from_lengths(
                    &p.iter()
                        .map(|t| t.split_whitespace().count())
                        .collect::<Vec<_>>(),
                )
            }),
            multi_label,
            target,
        });
        distinct.push(set);
    }
    let mut cross_duplicates = Vec::new();
    for i in 0..tables.len() {
        for j in i + 1..tables.len() {
            let (small, large) = if distinct[i].len() <= distinct[j].len() {
                (&distinct[i], &distinct[j])
            } else {
                (&distinct[j], &distinct[i])
            };
            let exact = small.iter().filter(|t| large.contains(*t)).count();
            let near_a: HashSet<String> = distinct[i].iter().map(|t| near_key(t)).collect();
            let near = distinct[j]
                .iter()
                .filter(|t| !distinct[i].contains(*t))
                .filter(|t| {
                    let k = near_key(t);
                    !k.is_empty() && near_a.contains(&k)
                })
                .count();
            cross_duplicates.push(CrossDup {
                a: tables[i].0.clone(),
                b: tables[j].0.clone(),
                texts_in_both: exact,
                near_in_both: near,
            });
        }
    }
    DataStats {
        splits,
        cross_duplicates,
    }
}

/// `12500` → `"12,500"`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.extend(group.iter().map(|&b| b as char));
    }
    out
}

/// One decimal, dropped when it is zero: `174` or `582.5`.
fn num(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 && r >= 0.0 {
        thousands(r as usize)
    } else {
        format!("{r:.1}")
    }
}

impl fmt::Display for LengthSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "min {}  mean {:.1}  median {}  p90 {}  p95 {}  max {}",
            thousands(self.min),
            self.mean,
            num(self.median),
            num(self.p90),
            num(self.p95),
            thousands(self.max)
        )
    }
}

impl fmt::Display for DataStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KEY: usize = 16;
        for (n, s) in self.splits.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}", s.name)?;
            writeln!(f, "  {:<KEY$}{}", "rows", thousands(s.rows))?;
            if let Some(t) = s.task {
                writeln!(f, "  {:<KEY$}{t}", "task")?;
            }
            if let Some(t) = &s.target {
                writeln!(
                    f,
                    "  {:<KEY$}min {}  p10 {}  median {}  mean {:.3}  p90 {}  max {}  std {:.3}  ({} distinct values)",
                    "target",
                    t.min,
                    t.p10,
                    t.median,
                    t.mean,
                    t.p90,
                    t.max,
                    t.std,
                    thousands(t.distinct)
                )?;
            }
            if let Some(m) = &s.multi_label {
                writeln!(
                    f,
                    "  {:<KEY$}{:.2} labels per row; rows with 0 / 1 / 2 / 3+ labels: {} / {} / {} / {}",
                    "cardinality",
                    m.cardinality,
                    thousands(m.rows_with[0]),
                    thousands(m.rows_with[1]),
                    thousands(m.rows_with[2]),
                    thousands(m.rows_with[3])
                )?;
                if !m.co_occurrence.is_empty() {
                    writeln!(
                        f,
                        "  {:<KEY$}most frequent label pairs on one row:",
                        "co-occurrence"
                    )?;
                    for (a, b, c) in &m.co_occurrence {
                        writeln!(f, "  {:<KEY$}  {a} + {b}: {}", "", thousands(*c))?;
                    }
                }
            }
            if !s.classes.is_empty() {
                let what = if s.multi_label.is_some() {
                    "labels (rows)"
                } else {
                    "classes"
                };
                writeln!(f, "  {:<KEY$}{}", what, s.classes.len())?;
                let lw = s
                    .classes
                    .iter()
                    .map(|c| c.label.chars().count())
                    .max()
                    .unwrap_or(0);
                let cw = s
                    .classes
                    .iter()
                    .map(|c| thousands(c.rows).len())
                    .max()
                    .unwrap_or(0);
                for c in &s.classes {
                    writeln!(
                        f,
                        "    {:<lw$}  {:>cw$}  {:>5.1} %",
                        c.label,
                        thousands(c.rows),
                        c.share * 100.0
                    )?;
                }
            }
            writeln!(f, "  {:<KEY$}{}", "words", s.words)?;
            if let Some(p) = &s.pair_words {
                writeln!(f, "  {:<KEY$}{}", "words, 2nd text", p)?;
            }
            if let Some(t) = &s.token_lengths {
                let (key, what) = if t.pairs {
                    ("tokens, pair", "pairs (both texts and special tokens)")
                } else {
                    ("tokens", "texts")
                };
                writeln!(f, "  {:<KEY$}{} ({})", key, t.summary, t.tokenizer)?;
                for (len, share) in &t.truncated_at {
                    writeln!(
                        f,
                        "  {:<KEY$}{:.1} % of {what} longer than {len} tokens",
                        "",
                        share * 100.0
                    )?;
                }
            }
            writeln!(f, "  {:<KEY$}{}", "empty texts", thousands(s.empty_texts))?;
            writeln!(
                f,
                "  {:<KEY$}{} (rows whose exact text occurred earlier in this split)",
                "duplicate texts",
                thousands(s.duplicate_texts)
            )?;
        }
        if !self.cross_duplicates.is_empty() {
            writeln!(f)?;
            writeln!(f, "texts shared between splits")?;
            for d in &self.cross_duplicates {
                if d.texts_in_both == 0 && d.near_in_both == 0 {
                    writeln!(f, "  no text of {} occurs in {}", d.b, d.a)?;
                } else if d.texts_in_both == 0 {
                    writeln!(f, "  no text of {} occurs exactly in {}", d.b, d.a)?;
                } else {
                    writeln!(
                        f,
                        "  {} text{} of {} also occur{} in {} ({}–{} leakage)",
                        thousands(d.texts_in_both),
                        if d.texts_in_both == 1 { "" } else { "s" },
                        d.b,
                        if d.texts_in_both == 1 { "s" } else { "" },
                        d.a,
                        d.a,
                        d.b
                    )?;
                }
                if d.near_in_both > 0 {
                    writeln!(
                        f,
                        "  {} more text{} of {} match{} one in {} once case, punctuation and spacing are ignored (near duplicates)",
                        thousands(d.near_in_both),
                        if d.near_in_both == 1 { "" } else { "s" },
                        d.b,
                        if d.near_in_both == 1 { "es" } else { "" },
                        d.a
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn table(texts: &[&str], labels: Option<&[&str]>) -> RawTable {
        RawTable {
            source: PathBuf::from("t.csv"),
            ids: (1..=texts.len()).map(|i| format!("t.csv:{i}")).collect(),
            texts: texts.iter().map(|s| s.to_string()).collect(),
            pairs: None,
            labels: labels.map(|l| l.iter().map(|s| s.to_string()).collect()),
            text_col: "text".into(),
            pair_col: None,
            label_col: labels.map(|_| "label".into()),
            notes: vec![],
        }
    }

    #[test]
    fn counts_classes_lengths_duplicates_and_leakage() {
        let train = table(
            &["a b c", "a b c", "d", "  ", "e f", "a b c"],
            Some(&["pos", "pos", "neg", "neg", "pos", "neg"]),
        );
        let test = table(&["d", "a b c", "zz", "d"], None);
        let s = compute_stats(&[("train".into(), &train), ("test".into(), &test)]);
        let tr = &s.splits[0];
        assert_eq!(tr.rows, 6);
        assert_eq!(tr.classes.len(), 2);
        assert_eq!(tr.classes[0].label, "neg");
        assert_eq!(tr.classes[0].rows, 3);
        assert!((tr.classes[1].share - 0.5).abs() < 1e-12);
        assert_eq!(tr.empty_texts, 1);
        assert_eq!(tr.duplicate_texts, 2);
        assert_eq!(tr.words.min, 0);
        assert_eq!(tr.words.max, 3);
        let te = &s.splits[1];
        assert!(te.classes.is_empty());
        assert_eq!(te.duplicate_texts, 1);
        assert_eq!(s.cross_duplicates.len(), 1);
        assert_eq!(s.cross_duplicates[0].texts_in_both, 2);
        let shown = s.to_string();
        assert!(shown.contains("2 texts of test also occur in train (train–test leakage)"));
        assert!(shown.contains("50.0 %"), "{shown}");
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"duplicate_texts\":2"));
    }

    #[test]
    fn length_summary_percentiles() {
        let l: Vec<usize> = (1..=100).collect();
        let s = LengthSummary::from_lengths(&l);
        assert_eq!((s.min, s.max), (1, 100));
        assert!((s.mean - 50.5).abs() < 1e-9);
        // Nearest rank: whole word counts that some text has.
        assert_eq!((s.median, s.p90, s.p95), (50.0, 90.0, 95.0));
        let s = LengthSummary::from_lengths(&[3, 1529, 1530, 7]);
        assert_eq!((s.median, s.p95), (7.0, 1530.0));
        assert_eq!(LengthSummary::from_lengths(&[]), LengthSummary::default());
    }

    #[test]
    fn near_duplicates_between_splits_are_counted_beside_exact_ones() {
        let a = table(&["Great film!!", "dull", "same"], None);
        let b = table(&["great   film", "same", "new one", "DULL."], None);
        let s = compute_stats(&[("train".into(), &a), ("test".into(), &b)]);
        assert_eq!(s.cross_duplicates[0].texts_in_both, 1);
        assert_eq!(s.cross_duplicates[0].near_in_both, 2);
        let text = s.to_string();
        assert!(
            text.contains("2 more texts of test match one in train"),
            "{text}"
        );
        assert_eq!(near_key("  Hello, World!! "), "hello world");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12500), "12,500");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
