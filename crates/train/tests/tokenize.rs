//! `TextEncoder` against the Hugging Face reference encodings in ../shared/fixtures/parity:
//! bert-tiny and distilbert-tiny `texts.json` (max_length 32) and minilm `tokens.json`
//! (max_length 128, one text truncated), the `vocab.txt` fallback, the other truncation
//! strategies, and saving the tokenizer files.

use std::path::{Path, PathBuf};

use textclf_train::tokenize::{PairTruncation, TextEncoder, TokenizeError, Truncation};

fn shared() -> PathBuf {
    match std::env::var_os("TEXTCLF_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures/parity").join(name)
}

fn minilm_dir() -> PathBuf {
    shared().join("models/all-MiniLM-L6-v2")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn ids_of(v: &serde_json::Value) -> Vec<u32> {
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// (text, ids, untruncated_length) of minilm/tokens.json.
fn minilm_cases() -> Vec<(String, Vec<u32>, usize)> {
    let json = read_json(&fixture("minilm/tokens.json"));
    json["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["text"].as_str().unwrap().to_string(),
                ids_of(e),
                e["untruncated_length"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

/// Index of the truncated (long) text in minilm/tokens.json.
fn long_case(cases: &[(String, Vec<u32>, usize)]) -> usize {
    cases
        .iter()
        .position(|c| c.2 > 128)
        .expect("a truncated text in minilm/tokens.json")
}

fn minilm(max_len: usize, truncation: Truncation) -> TextEncoder {
    TextEncoder::from_dir(&minilm_dir(), max_len, truncation).unwrap()
}

/// A folder with only vocab.txt (copied from MiniLM) and a tokenizer_config.json.
fn vocab_only_dir(do_lower_case: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(minilm_dir().join("vocab.txt"), dir.path().join("vocab.txt")).unwrap();
    std::fs::write(
        dir.path().join("tokenizer_config.json"),
        format!("{{\"do_lower_case\": {do_lower_case}}}"),
    )
    .unwrap();
    dir
}

fn check_texts_json(name: &str) {
    let dir = fixture(name);
    let json = read_json(&dir.join("texts.json"));
    let enc = TextEncoder::from_dir(&dir, 32, Truncation::Head).unwrap();
    let encodings = json["encodings"].as_array().unwrap();
    assert_eq!(encodings.len(), 4);
    let texts: Vec<&str> = encodings
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    let got = enc.encode_batch(&texts).unwrap();
    for (i, e) in encodings.iter().enumerate() {
        assert_eq!(got[i], ids_of(e), "{name} text {i}: {:?}", texts[i]);
        assert_eq!(got[i].len() as u64, e["length"].as_u64().unwrap());
    }
    assert_eq!((enc.cls_id(), enc.sep_id(), enc.pad_id()), (101, 102, 0));
}

#[test]
fn bert_tiny_ids_match_hugging_face() {
    check_texts_json("bert-tiny");
}

#[test]
fn distilbert_tiny_ids_match_hugging_face() {
    check_texts_json("distilbert-tiny");
}

#[test]
fn minilm_ids_match_hugging_face_at_128() {
    let cases = minilm_cases();
    assert_eq!(cases.len(), 8);
    let enc = minilm(128, Truncation::Head);
    assert_eq!(enc.max_len(), 128);
    let texts: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let got = enc.encode_batch(&texts).unwrap();
    for (i, case) in cases.iter().enumerate() {
        assert_eq!(got[i], case.1, "minilm text {i}: {:?}", case.0);
        assert!(got[i].len() <= 128);
    }
    // The long text really is cut, and the empty text is just [CLS] [SEP].
    assert_eq!(got[long_case(&cases)].len(), 128);
    let empty = cases.iter().position(|c| c.0.is_empty()).unwrap();
    assert_eq!(got[empty], vec![101, 102]);
}

#[test]
fn minilm_full_lengths_match_untruncated_length() {
    let cases = minilm_cases();
    let enc = minilm(128, Truncation::Head);
    let texts: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let lengths = enc.full_lengths(&texts).unwrap();
    let expected: Vec<usize> = cases.iter().map(|c| c.2).collect();
    assert_eq!(lengths, expected);
}

#[test]
fn vocab_txt_fallback_matches_tokenizer_json() {
    let dir = vocab_only_dir(true);
    let fallback = TextEncoder::from_dir(dir.path(), 128, Truncation::Head).unwrap();
    let reference = minilm(128, Truncation::Head);
    assert_eq!(
        (fallback.cls_id(), fallback.sep_id(), fallback.pad_id()),
        (101, 102, 0)
    );
    let cases = minilm_cases();
    let mut texts: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    // Special tokens written in the text, control characters, CJK, combining accents.
    let extra = [
        "Is this [MASK] or [UNK]? [SEP] then [CLS] and [PAD]",
        "Tabs\tand\r\nnewlines\u{0}\u{7}, zero\u{200b}width, e\u{301}te\u{301}",
        "中文字符和日本語のテキスト、한국어도",
        "UPPER lower MiXeD ÀÉÎÕÜ ßẞ ǅ ﬁ ① ½",
    ];
    texts.extend(extra);
    let a = fallback.encode_batch(&texts).unwrap();
    let b = reference.encode_batch(&texts).unwrap();
    for i in 0..texts.len() {
        assert_eq!(a[i], b[i], "text {i}: {:?}", texts[i]);
        if i < cases.len() {
            assert_eq!(a[i], cases[i].1, "text {i}: {:?}", texts[i]);
        }
    }
    assert_eq!(
        fallback.full_lengths(&texts).unwrap(),
        reference.full_lengths(&texts).unwrap()
    );
}

#[test]
fn vocab_txt_fallback_without_config_lowercases() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(minilm_dir().join("vocab.txt"), dir.path().join("vocab.txt")).unwrap();
    let enc = TextEncoder::from_dir(dir.path(), 64, Truncation::Head).unwrap();
    let reference = minilm(64, Truncation::Head);
    let texts = ["The Film Was GREAT"];
    assert_eq!(
        enc.encode_batch(&texts).unwrap(),
        reference.encode_batch(&texts).unwrap()
    );
}

#[test]
fn vocab_txt_fallback_respects_do_lower_case_false() {
    let dir = vocab_only_dir(false);
    let cased = TextEncoder::from_dir(dir.path(), 64, Truncation::Head).unwrap();
    let uncased = minilm(64, Truncation::Head);
    let texts = ["The Film Was GREAT", "the film was great"];
    let c = cased.encode_batch(&texts).unwrap();
    let u = uncased.encode_batch(&texts).unwrap();
    // The uncased vocabulary has no capitalised words: the cased tokenizer differs on the
    // capitalised text and agrees on the lowercase one.
    assert_ne!(c[0], u[0]);
    assert_eq!(c[1], u[1]);
    assert_eq!(u[0], u[1]);
}

#[test]
fn tail_and_head_tail_truncation() {
    let cases = minilm_cases();
    let long = long_case(&cases);
    let text = cases[long].0.as_str();
    let full_len = cases[long].2;
    let full = &minilm(4096, Truncation::Head)
        .encode_batch(&[text])
        .unwrap()[0];
    assert_eq!(full.len(), full_len, "untruncated encoding");
    let head = &minilm(128, Truncation::Head).encode_batch(&[text]).unwrap()[0];
    let tail = &minilm(128, Truncation::Tail).encode_batch(&[text]).unwrap()[0];
    let both = &minilm(128, Truncation::HeadTail)
        .encode_batch(&[text])
        .unwrap()[0];
    let content = &full[1..full.len() - 1];
    let n = 126;
    let h = n / 4;
    for ids in [head, tail, both] {
        assert_eq!(ids.len(), 128);
        assert_eq!(ids[0], 101);
        assert_eq!(*ids.last().unwrap(), 102);
    }
    assert_eq!(&head[1..127], &content[..n]);
    assert_eq!(&tail[1..127], &content[content.len() - n..]);
    // Head+tail: the first ⌊126/4⌋ = 31 content tokens, then the last 95.
    assert_eq!(&both[1..1 + h], &head[1..1 + h]);
    assert_eq!(&both[1 + h..127], &content[content.len() - (n - h)..]);
    assert_eq!(both[126], *content.last().unwrap());
    assert_ne!(both, head);
    assert_ne!(both, tail);

    // Short texts are not affected by the strategy.
    let short: Vec<&str> = cases
        .iter()
        .filter(|c| c.2 <= 128)
        .map(|c| c.0.as_str())
        .collect();
    let expected = minilm(128, Truncation::Head).encode_batch(&short).unwrap();
    for t in [Truncation::Tail, Truncation::HeadTail] {
        assert_eq!(minilm(128, t).encode_batch(&short).unwrap(), expected);
    }
}

#[test]
fn smallest_max_len_keeps_one_token() {
    let texts = ["hello big world", ""];
    let head = minilm(3, Truncation::Head).encode_batch(&texts).unwrap();
    let full = minilm(512, Truncation::Head).encode_batch(&texts).unwrap();
    assert_eq!(head[0], vec![101, full[0][1], 102]);
    assert_eq!(head[1], vec![101, 102]);
    let tail = minilm(3, Truncation::Tail).encode_batch(&texts).unwrap();
    assert_eq!(tail[0], vec![101, full[0][full[0].len() - 2], 102]);
    // ⌊1/4⌋ = 0 head tokens: head+tail keeps the last token.
    let both = minilm(3, Truncation::HeadTail)
        .encode_batch(&texts)
        .unwrap();
    assert_eq!(both[0], tail[0]);
}

#[test]
fn max_len_below_three_is_an_error() {
    for max_len in [0, 1, 2] {
        let err = TextEncoder::from_dir(&minilm_dir(), max_len, Truncation::Head).unwrap_err();
        assert!(matches!(err, TokenizeError::MaxLen(m) if m == max_len));
    }
}

#[test]
fn folder_without_tokenizer_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let err = TextEncoder::from_dir(dir.path(), 128, Truncation::Head).unwrap_err();
    assert!(matches!(err, TokenizeError::NoTokenizer { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("tokenizer.json") && msg.contains("vocab.txt"),
        "{msg}"
    );
}

#[test]
fn a_sentencepiece_only_folder_says_how_to_convert_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spm.model"), b"not read").unwrap();
    let err = TextEncoder::from_dir(dir.path(), 128, Truncation::Head).unwrap_err();
    assert!(matches!(err, TokenizeError::SentencePieceOnly { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("spm.model")
            && msg.contains("DebertaV2TokenizerFast.from_pretrained(")
            && msg.contains(".save_pretrained(")
            && msg.contains(&dir.path().display().to_string()),
        "{msg}"
    );
}

#[test]
fn parallel_encoding_preserves_order() {
    let cases = minilm_cases();
    let enc = minilm(64, Truncation::HeadTail);
    // Enough texts to take the rayon path.
    let texts: Vec<&str> = (0..300)
        .map(|i| cases[i % cases.len()].0.as_str())
        .collect();
    let all = enc.encode_batch(&texts).unwrap();
    let lens = enc.full_lengths(&texts).unwrap();
    assert_eq!(all.len(), 300);
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(all[i], enc.encode_batch(&[text]).unwrap()[0]);
        assert_eq!(lens[i], cases[i % cases.len()].2);
    }
}

#[test]
fn save_files_copies_tokenizer_and_reloads() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("model");
    let enc = minilm(128, Truncation::Head);
    enc.save_files(&target).unwrap();
    for name in ["tokenizer.json", "vocab.txt", "special_tokens_map.json"] {
        let a = std::fs::read(minilm_dir().join(name)).unwrap();
        let b = std::fs::read(target.join(name)).unwrap();
        assert_eq!(a, b, "{name}");
    }
    // The tokenizer's config is the original with the trained length.
    let read = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let mut want = read(minilm_dir().join("tokenizer_config.json"));
    want["model_max_length"] = serde_json::json!(128);
    assert_eq!(read(target.join("tokenizer_config.json")), want);
    assert!(!target.join("merges.txt").exists());
    let cases = minilm_cases();
    let texts: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let reloaded = TextEncoder::from_dir(&target, 128, Truncation::Head).unwrap();
    assert_eq!(
        reloaded.encode_batch(&texts).unwrap(),
        enc.encode_batch(&texts).unwrap()
    );
    // Saving into the folder it was loaded from leaves the files intact.
    reloaded.save_files(&target).unwrap();
    let a = std::fs::read(minilm_dir().join("vocab.txt")).unwrap();
    assert_eq!(a, std::fs::read(target.join("vocab.txt")).unwrap());
}

#[test]
fn a_huge_text_is_cut_before_tokenising_and_encodes_as_the_whole_would() {
    for trunc in [Truncation::Head, Truncation::Tail, Truncation::HeadTail] {
        let enc = minilm(32, trunc);
        let words: Vec<String> = (0..400_000)
            .map(|i| format!("word{} fine", i % 97))
            .collect();
        let huge = words.join(" ");
        assert!(huge.len() > 4_000_000);
        // The cut text keeps every token the truncation keeps.
        let cut = textclf_train::tokenize::precut(
            &huge,
            30 * textclf_train::tokenize::CHARS_PER_TOKEN,
            trunc,
        );
        assert!(cut.len() < 10_000);
        let short = words[..200].join(" ") + " " + &words[words.len() - 200..].join(" ");
        let a = enc.encode_batch(&[&huge]).unwrap();
        let b = enc.encode_batch(&[&short]).unwrap();
        assert_eq!(a, b, "{trunc:?}");
        assert_eq!(a[0].len(), 32);
        // Lengths of huge texts are bounded but still past max_len.
        assert!(enc.full_lengths(&[&huge]).unwrap()[0] > 32);
    }
}

/// Sentence pairs: `[CLS] A [SEP] B [SEP]` with token types, cut `longest_first` to 48, as
/// transformers' tokenizer produced bert-tiny/texts_pair.json (one pair is truncated).
#[test]
fn pairs_match_the_reference_encodings() {
    let json = read_json(&fixture("bert-tiny/texts_pair.json"));
    let enc = TextEncoder::from_dir(&fixture("bert-tiny"), 48, Truncation::Head).unwrap();
    assert!(!enc.double_separator());
    let cases = json["encodings"].as_array().unwrap();
    let a: Vec<&str> = cases
        .iter()
        .map(|e| e["text_a"].as_str().unwrap())
        .collect();
    let b: Vec<&str> = cases
        .iter()
        .map(|e| e["text_b"].as_str().unwrap())
        .collect();
    let got = enc
        .encode_pair_batch(&a, &b, PairTruncation::LongestFirst)
        .unwrap();
    let mut truncated = 0;
    for (e, g) in cases.iter().zip(&got) {
        let types: Vec<u32> = e["token_type_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(g.ids, ids_of(e), "{}", e["text_a"]);
        assert_eq!(g.type_ids, types, "{}", e["text_a"]);
        truncated += usize::from(e["truncated"].as_bool().unwrap());
    }
    assert_eq!(truncated, 1, "the fixture exercises truncation");
}

#[test]
fn pair_truncation_strategies() {
    let a: Vec<u32> = (0..10).collect();
    let b: Vec<u32> = (100..106).collect();
    // longest_first: the longer text loses tokens; when both must, the shorter keeps half.
    let (x, y) = PairTruncation::LongestFirst.apply(&a, &b, 9).unwrap();
    assert_eq!((x.len(), y.len()), (5, 4));
    let (x, y) = PairTruncation::LongestFirst.apply(&a, &b, 14).unwrap();
    assert_eq!((x.len(), y.len()), (8, 6));
    // As the tokenizers library cuts: the longer text (the second on ties) keeps the odd token.
    let (x, y) = PairTruncation::LongestFirst.apply(&b, &a, 9).unwrap();
    assert_eq!((x.len(), y.len()), (4, 5));
    let (x, y) = PairTruncation::LongestFirst.apply(&a, &a, 9).unwrap();
    assert_eq!((x.len(), y.len()), (4, 5));
    // Cutting the other text to nothing is refused, as transformers refuses it.
    assert!(PairTruncation::OnlyFirst.apply(&a, &b, 6).is_none());
    assert!(PairTruncation::OnlyFirst.apply(&a, &b, 7).is_some());
    // A budget of 0 keeps nothing of either text, whatever the strategy (as tokenizers).
    for s in [
        PairTruncation::LongestFirst,
        PairTruncation::OnlyFirst,
        PairTruncation::OnlySecond,
    ] {
        assert_eq!(s.lengths(a.len(), b.len(), 0), Some((0, 0)));
    }
    let (x, y) = PairTruncation::OnlyFirst.apply(&a, &b, 9).unwrap();
    assert_eq!((x, y.len()), ((0..3).collect::<Vec<u32>>(), 6));
    let (x, y) = PairTruncation::OnlySecond.apply(&a, &b, 12).unwrap();
    assert_eq!((x.len(), y), (10, vec![100, 101]));
    assert!(PairTruncation::OnlySecond.apply(&a, &b, 9).is_none());
    assert_eq!(
        "only-second".parse::<PairTruncation>().unwrap(),
        PairTruncation::OnlySecond
    );
    assert!("middle".parse::<PairTruncation>().is_err());
    // A strategy that cannot fit the pair is an error naming the pair.
    let enc = TextEncoder::from_dir(&fixture("bert-tiny"), 8, Truncation::Head).unwrap();
    let err = enc
        .encode_pair_batch(
            &["short", "a b"],
            &["x", "one two three four five six seven"],
            PairTruncation::OnlyFirst,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("pair 2"), "{err}");
}
