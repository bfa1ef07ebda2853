//! Sentence pairs (and single texts) against transformers for the post-processors of RoBERTa
//! (`<s> A </s></s> B </s>`), ModernBERT (`[CLS] A [SEP] B [SEP]`, special tokens at the end of
//! the vocabulary, no token types) and DeBERTa-v3 (Unigram + Metaspace, token types 0/1).
//!
//! The tokenizers in fixtures/pair_tokenizers are small ones trained on RTE and saved by
//! transformers; each `expected.json` holds what transformers' tokenizer returned for the 24 RTE
//! dev pairs that `pairs.json` names (rows of `../shared/data/glue/rte/dev.csv`, read from there) with `truncation=longest_first` (max_length 40, 41 and 128),
//! `only_first` and `only_second` (40, and the lengths where the text they cut would be cut to
//! nothing or to one token), with `null` for a pair transformers refused. fixtures/pair_tokenizers/
//! generate.py regenerates them.

use std::path::{Path, PathBuf};

use textclf_train::tokenize::{PairTruncation, TextEncoder, Truncation};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pair_tokenizers")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn u32s(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("an array of ids")
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// The data folder: `$TEXTCLF_DATA_DIR`, else `../shared/data` beside the repository.
fn data_dir() -> PathBuf {
    std::env::var_os("TEXTCLF_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// The pairs of pairs.json: rows of RTE's dev file, read from the data folder (the texts are
/// not copied into the repository). `None`, with a message, when the file is absent.
fn pairs() -> Option<Vec<(String, String)>> {
    let spec = read_json(&fixtures().join("pairs.json"));
    let path = data_dir().join(spec["file"].as_str().unwrap());
    if !path.exists() {
        eprintln!(
            "skipping: {} not found (set TEXTCLF_DATA_DIR)",
            path.display()
        );
        return None;
    }
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (a, b) = (col("sentence1"), col("sentence2"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    Some(
        u32s(&spec["rows"])
            .into_iter()
            .map(|i| {
                let r = &rows[i as usize];
                (r[a].to_string(), r[b].to_string())
            })
            .collect(),
    )
}

/// What one tokenizer's checks covered.
#[derive(Debug, Default)]
struct Seen {
    pairs: usize,
    /// Pairs transformers cut (fewer ids than the untruncated pair).
    cut: usize,
    /// Pairs cut by longest_first with an odd budget and the first text not the longer.
    odd_split: usize,
    refused: usize,
    with_types: usize,
    singles: usize,
}

/// Compares every run of `name`/expected.json with textclf's encodings and checks that the
/// runs covered every case ([`assert_covers`]); `None` when the RTE file is absent.
fn check(name: &str, double: bool) -> Option<Seen> {
    let dir = fixtures().join(name);
    let pairs = pairs()?;
    let exp = read_json(&dir.join("expected.json"));
    assert_eq!(exp["double_separator"].as_bool(), Some(double), "{name}");
    let specials = if double { 4 } else { 3 };
    let mut seen = Seen::default();
    // Untruncated lengths, to tell which pairs were cut.
    let full = TextEncoder::from_dir(&dir, 100_000, Truncation::Head).unwrap();

    for run in exp["pair_runs"].as_array().unwrap() {
        let strategy: PairTruncation = run["strategy"].as_str().unwrap().parse().unwrap();
        let max_len = run["max_length"].as_u64().unwrap() as usize;
        let what = format!("{name} {strategy} max_length {max_len}");
        let enc = TextEncoder::from_dir(&dir, max_len, Truncation::Head).unwrap();
        assert_eq!(enc.double_separator(), double, "{what}");
        let rows: Vec<usize> = u32s(&run["pairs"])
            .into_iter()
            .map(|i| i as usize)
            .collect();
        let a: Vec<&str> = rows.iter().map(|&i| pairs[i].0.as_str()).collect();
        let b: Vec<&str> = rows.iter().map(|&i| pairs[i].1.as_str()).collect();
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), rows.len(), "{what}");
        let lengths = full.full_pair_lengths(&a, &b).unwrap();

        // The whole batch: refused when transformers refused any pair, naming the first.
        let batch = enc.encode_pair_batch(&a, &b, strategy);
        match results.iter().position(|r| r.is_null()) {
            None => assert_eq!(batch.as_ref().unwrap().len(), rows.len(), "{what}"),
            Some(k) => {
                let err = batch.as_ref().unwrap_err().to_string();
                assert!(err.contains(&format!("pair {}:", k + 1)), "{what}: {err}");
            }
        }

        // Pair by pair, every result exactly.
        for (k, expected) in results.iter().enumerate() {
            let row = rows[k];
            let got = enc.encode_pair_batch(&a[k..=k], &b[k..=k], strategy);
            seen.pairs += 1;
            if expected.is_null() {
                let err = got.err().unwrap_or_else(|| {
                    panic!("{what}, pair {row}: transformers refuses it, textclf encoded it")
                });
                assert!(err.to_string().contains("pair 1:"), "{what}: {err}");
                seen.refused += 1;
                continue;
            }
            let got = got
                .unwrap_or_else(|e| panic!("{what}, pair {row}: {e}"))
                .remove(0);
            let ids = u32s(&expected["input_ids"]);
            assert_eq!(got.ids, ids, "{what}, pair {row}: {:?}", pairs[row]);
            if let Some(types) = expected.get("token_type_ids") {
                assert_eq!(got.type_ids, u32s(types), "{what}, pair {row} token types");
                seen.with_types += 1;
            }
            if double {
                // RoBERTa has no segments (transformers does not even return token types).
                assert!(got.type_ids.iter().all(|&t| t == 0), "{what}, pair {row}");
            }
            if ids.len() < lengths[k] {
                seen.cut += 1;
                let (na, nb) = (
                    full.encode_batch(&a[k..=k]).unwrap()[0].len() - 2,
                    full.encode_batch(&b[k..=k]).unwrap()[0].len() - 2,
                );
                let budget = max_len - specials;
                if strategy == PairTruncation::LongestFirst
                    && budget % 2 == 1
                    && na <= nb
                    && 2 * na > budget
                {
                    seen.odd_split += 1;
                }
            }
        }
    }

    for run in exp["single_runs"].as_array().unwrap() {
        let max_len = run["max_length"].as_u64().unwrap() as usize;
        let first = run["texts"].as_str().unwrap() == "first";
        let texts: Vec<&str> = pairs
            .iter()
            .map(|p| if first { p.0.as_str() } else { p.1.as_str() })
            .collect();
        let enc = TextEncoder::from_dir(&dir, max_len, Truncation::Head).unwrap();
        let got = enc.encode_batch(&texts).unwrap();
        let expected = run["input_ids"].as_array().unwrap();
        assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            assert_eq!(g, &u32s(e), "{name} single text {i} at {max_len}");
            seen.singles += 1;
        }
    }
    assert_covers(name, &seen);
    Some(seen)
}

/// Checks that hold for every layout: the fixture cut and refused pairs, and hit the odd split.
fn assert_covers(name: &str, seen: &Seen) {
    assert!(seen.pairs >= 5 * 24, "{name}: {seen:?}");
    assert!(seen.cut >= 40, "{name}: {seen:?}");
    assert!(seen.refused >= 10, "{name}: {seen:?}");
    assert!(seen.odd_split >= 1, "{name}: {seen:?}");
    assert_eq!(seen.singles, 2 * 24, "{name}: {seen:?}");
}

#[test]
fn roberta_pairs_match_transformers() {
    let Some(seen) = check("roberta", true) else {
        return;
    };
    let enc = TextEncoder::from_dir(&fixtures().join("roberta"), 40, Truncation::Head).unwrap();
    // roberta-base's ids: <s> 0, <pad> 1, </s> 2.
    assert_eq!((enc.cls_id(), enc.pad_id(), enc.sep_id()), (0, 1, 2));
    // RobertaTokenizer returns no token_type_ids.
    assert_eq!(seen.with_types, 0);
}

#[test]
fn modernbert_pairs_match_transformers() {
    let Some(seen) = check("modernbert", false) else {
        return;
    };
    let dir = fixtures().join("modernbert");
    let enc = TextEncoder::from_dir(&dir, 40, Truncation::Head).unwrap();
    // The special tokens come after the learned vocabulary, as in ModernBERT.
    let tok = enc.tokenizer();
    assert_eq!(enc.cls_id(), tok.token_to_id("[CLS]").unwrap());
    assert_eq!(enc.sep_id(), tok.token_to_id("[SEP]").unwrap());
    assert_eq!(enc.pad_id(), tok.token_to_id("[PAD]").unwrap());
    assert!(enc.cls_id() > 400);
    // ModernBERT's tokenizer returns no token_type_ids.
    assert_eq!(seen.with_types, 0);
}

#[test]
fn deberta_pairs_match_transformers() {
    let Some(seen) = check("deberta", false) else {
        return;
    };
    let enc = TextEncoder::from_dir(&fixtures().join("deberta"), 40, Truncation::Head).unwrap();
    // DeBERTa-v3's ids: [PAD] 0, [CLS] 1, [SEP] 2.
    assert_eq!((enc.pad_id(), enc.cls_id(), enc.sep_id()), (0, 1, 2));
    // Every encoded pair's token types were compared.
    assert_eq!(seen.with_types, seen.pairs - seen.refused);
}
