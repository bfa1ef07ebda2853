use super::*;
use std::io::Write;

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, body).unwrap();
    p
}

fn labelled() -> ReadOptions {
    ReadOptions::labelled()
}

fn err_of(path: &Path, opts: &ReadOptions) -> (DataError, String) {
    let e = read_table(path, opts).unwrap_err();
    let msg = e.to_string();
    (e, msg)
}

#[test]
fn csv_with_quotes_and_multiline_fields() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        b"text,label\n\"hello, \"\"world\"\"\nsecond line\", 1 \nplain <br /> text,0\n",
    );
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(
        t.texts,
        ["hello, \"world\"\nsecond line", "plain <br /> text"]
    );
    assert_eq!(
        t.labels.as_deref(),
        Some(&["1".to_string(), "0".to_string()][..])
    );
    assert_eq!(t.ids, ["d.csv:1", "d.csv:2"]);
    assert_eq!(t.text_col, "text");
    assert_eq!(t.label_col.as_deref(), Some("label"));
    assert!(t.notes[0].contains("read 2 rows"), "{:?}", t.notes);
}

#[test]
fn columns_are_detected_case_insensitively_with_id() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        "\u{feff}IDX,Sentence,extra,Sentiment\n7,good,x,pos\n9,bad,y,neg\n".as_bytes(),
    );
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(t.text_col, "Sentence");
    assert_eq!(t.label_col.as_deref(), Some("Sentiment"));
    assert_eq!(t.ids, ["7", "9"]);
    assert_eq!(t.texts, ["good", "bad"]);
    // Explicit columns win.
    let opts = ReadOptions {
        text_col: Some("extra".into()),
        label_col: Some("sentence".into()),
        id_col: Some("Sentiment".into()),
        ..labelled()
    };
    let t = read_table(&p, &opts).unwrap();
    assert_eq!(t.texts, ["x", "y"]);
    assert_eq!(t.labels.unwrap(), ["good", "bad"]);
    assert_eq!(t.ids, ["pos", "neg"]);
}

#[test]
fn wrong_number_of_fields_reports_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        b"text,label\nok,1\n\"two\nlines\",0\nbad,1,extra\n",
    );
    let (e, msg) = err_of(&p, &labelled());
    assert!(
        matches!(e, DataError::Malformed { line: Some(5), .. }),
        "{msg}"
    );
    assert!(msg.contains("d.csv, line 5"), "{msg}");
    assert!(msg.contains("3 field(s) but the header has 2"), "{msg}");
}

#[test]
fn unterminated_quote_reports_line_where_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        b"text,label\nfine,1\n\"never closed,0\nmore,1\nrows,0\n",
    );
    let (e, msg) = err_of(&p, &labelled());
    assert!(
        matches!(e, DataError::Malformed { line: Some(3), .. }),
        "{msg}"
    );
    assert!(msg.contains("unterminated quote"), "{msg}");
}

#[test]
fn missing_column_lists_available_columns_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", b"review_text,stars\nnice,5\n");
    let (e, msg) = err_of(&p, &labelled());
    assert!(matches!(e, DataError::MissingColumn { .. }));
    assert!(msg.contains("d.csv"), "{msg}");
    assert!(msg.contains("'review_text', 'stars'"), "{msg}");
    assert!(msg.contains("--text-col"), "{msg}");

    let opts = ReadOptions {
        text_col: Some("review_text".into()),
        ..labelled()
    };
    let (_, msg) = err_of(&p, &opts);
    assert!(msg.contains("no label column found"), "{msg}");
    assert!(msg.contains("--label-col"), "{msg}");

    let opts = ReadOptions {
        text_col: Some("body".into()),
        ..labelled()
    };
    let (_, msg) = err_of(&p, &opts);
    assert!(msg.contains("no column named 'body'"), "{msg}");

    // Unlabelled reading does not need the label column.
    let opts = ReadOptions {
        text_col: Some("review_text".into()),
        ..ReadOptions::unlabelled()
    };
    let t = read_table(&p, &opts).unwrap();
    assert!(t.labels.is_none());
}

#[test]
fn same_column_for_text_and_label_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", b"text,label\na,1\n");
    let opts = ReadOptions {
        label_col: Some("text".into()),
        ..labelled()
    };
    let (_, msg) = err_of(&p, &opts);
    assert!(msg.contains("--label-col"), "{msg}");
}

#[test]
fn empty_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["e.csv", "e.tsv", "e.jsonl", "e.parquet"] {
        let p = write(dir.path(), name, b"");
        let (e, msg) = err_of(&p, &labelled());
        assert!(matches!(e, DataError::Empty { .. }), "{name}: {msg}");
        assert!(msg.contains(name) && msg.contains("empty"), "{msg}");
    }
    let p = write(dir.path(), "h.csv", b"text,label\n");
    let (e, msg) = err_of(&p, &labelled());
    assert!(matches!(e, DataError::Empty { .. }), "{msg}");
    assert!(
        msg.contains("header row (text,label) but no data rows"),
        "{msg}"
    );
    let p = write(dir.path(), "blank.jsonl", b"\n\n  \n");
    let (e, _) = err_of(&p, &labelled());
    assert!(matches!(e, DataError::Empty { .. }));
}

#[test]
fn non_utf8_bytes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "latin.csv",
        b"text,label\nfine,1\n\"two\nlines caf\xe9\",0\n",
    );
    let (e, msg) = err_of(&p, &labelled());
    assert!(
        matches!(e, DataError::NotUtf8 { line: Some(4), .. }),
        "{msg}"
    );
    assert!(msg.contains("latin.csv, line 4"), "{msg}");
    assert!(msg.contains("row 2"), "{msg}");
    assert!(msg.contains("iconv -f latin1 -t utf-8"), "{msg}");

    let p = write(
        dir.path(),
        "latin.jsonl",
        b"{\"text\":\"a\",\"label\":1}\n{\"text\":\"caf\xe9\",\"label\":1}\n",
    );
    let (e, msg) = err_of(&p, &labelled());
    assert!(
        matches!(e, DataError::NotUtf8 { line: Some(2), .. }),
        "{msg}"
    );
}

#[test]
fn empty_label_names_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", b"text,label\na,1\nb,  \nc,0\n");
    let (e, msg) = err_of(&p, &labelled());
    assert!(matches!(e, DataError::EmptyLabel { .. }), "{msg}");
    assert!(msg.contains("d.csv, line 3"), "{msg}");
    assert!(msg.contains("row d.csv:2"), "{msg}");
    // Unlabelled: incomplete labels are dropped with a note.
    let t = read_table(&p, &ReadOptions::unlabelled()).unwrap();
    assert!(t.labels.is_none());
    assert!(
        t.notes.iter().any(|n| n.contains("1 empty value")),
        "{:?}",
        t.notes
    );
}

#[test]
fn jsonl_labels_of_any_scalar_type() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.jsonl",
        b"{\"id\": 10, \"text\": \"a\", \"label\": 1}\n\n{\"id\": \"x\", \"text\": \"b\", \"label\": \" pos \"}\n{\"text\": \"c\", \"label\": true}\r\n{\"text\": \"d\", \"label\": 2.0}\n",
    );
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(t.texts, ["a", "b", "c", "d"]);
    assert_eq!(t.labels.unwrap(), ["1", "pos", "true", "2"]);
    assert_eq!(t.ids, ["10", "x", "d.jsonl:3", "d.jsonl:4"]);
}

#[test]
fn invalid_json_line_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": 1\n",
    );
    let (e, msg) = err_of(&p, &labelled());
    assert!(
        matches!(e, DataError::Malformed { line: Some(3), .. }),
        "{msg}"
    );
    assert!(
        msg.contains("d.jsonl, line 3") && msg.contains("invalid JSON"),
        "{msg}"
    );

    let p = write(dir.path(), "arr.json", b"[{\"text\": \"a\"}]\n");
    let (_, msg) = err_of(&p, &labelled());
    assert!(msg.contains("JSON array") && msg.contains("jq"), "{msg}");

    let p = write(
        dir.path(),
        "num.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n42\n",
    );
    let (_, msg) = err_of(&p, &labelled());
    assert!(msg.contains("line 2") && msg.contains("a number"), "{msg}");
}

#[test]
fn missing_json_field_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n",
    );
    let (e, msg) = err_of(&p, &labelled());
    assert!(
        matches!(e, DataError::Malformed { line: Some(2), .. }),
        "{msg}"
    );
    assert!(msg.contains("field \"label\" is missing"), "{msg}");

    let p = write(
        dir.path(),
        "t.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n{\"label\": 0, \"title\": \"x\"}\n",
    );
    let (_, msg) = err_of(&p, &labelled());
    assert!(
        msg.contains("line 2") && msg.contains("field \"text\" is missing"),
        "{msg}"
    );
    assert!(msg.contains("\"title\""), "{msg}");

    let p = write(dir.path(), "n.jsonl", b"{\"text\": null, \"label\": 1}\n");
    let (_, msg) = err_of(&p, &labelled());
    assert!(msg.contains("must be a string but is null"), "{msg}");

    let p = write(
        dir.path(),
        "o.jsonl",
        b"{\"text\": \"a\", \"label\": [{\"x\": 1}]}\n",
    );
    let (_, msg) = err_of(&p, &labelled());
    assert!(msg.contains("an array"), "{msg}");
    // A list of names is a multi-label row, kept as its JSON text.
    let p = write(
        dir.path(),
        "l.jsonl",
        b"{\"text\": \"a\", \"label\": [1, \"joy\"]}\n",
    );
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(t.labels, Some(vec!["[\"1\",\"joy\"]".to_string()]));
}

#[test]
fn tsv_is_read_without_quoting() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.tsv",
        b"sentence\tlabel\nit 's \"quoted\" , fine\t1\nbad\t0\n",
    );
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(t.texts, ["it 's \"quoted\" , fine", "bad"]);
    let p = write(dir.path(), "b.tsv", b"sentence\tlabel\na\tb\t1\n");
    let (_, msg) = err_of(&p, &labelled());
    assert!(msg.contains("line 2") && msg.contains("tab"), "{msg}");
}

#[test]
fn gzip_inputs_are_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let gz = |body: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(body).unwrap();
        enc.finish().unwrap()
    };
    let p = write(dir.path(), "d.csv.gz", &gz(b"text,label\n\"a,b\",1\nc,0\n"));
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(t.texts, ["a,b", "c"]);
    assert_eq!(t.ids[0], "d.csv.gz:1");
    let p = write(
        dir.path(),
        "d.jsonl.gz",
        &gz(b"{\"text\":\"x\",\"label\":\"y\"}\n"),
    );
    assert_eq!(read_table(&p, &labelled()).unwrap().texts, ["x"]);
    let p = write(dir.path(), "d.tsv.gz", &gz(b"text\tlabel\nx\t1\n"));
    assert_eq!(read_table(&p, &labelled()).unwrap().texts, ["x"]);
    let p = write(dir.path(), "broken.csv.gz", &gz(b"text,label\nx,1\n")[..12]);
    assert!(read_table(&p, &labelled()).is_err());
}

#[test]
fn nonexistent_path_and_unknown_extension() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope").join("train.csv");
    let (e, msg) = err_of(&missing, &labelled());
    assert!(matches!(e, DataError::NotFound { .. }));
    assert!(
        msg.contains("nope/train.csv") || msg.contains("nope\\train.csv"),
        "{msg}"
    );

    let p = write(dir.path(), "d.txt", b"text,label\na,1\n");
    let (e, msg) = err_of(&p, &labelled());
    assert!(matches!(e, DataError::Format { .. }));
    assert!(msg.contains("--format") && msg.contains(".jsonl"), "{msg}");
    // --format overrides the extension.
    let opts = ReadOptions {
        format: Some(Format::Csv),
        ..labelled()
    };
    assert_eq!(read_table(&p, &opts).unwrap().texts, ["a"]);
}

#[test]
fn folder_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("train");
    write(&root, "pos/1_9.txt", b"great <br /> film");
    write(&root, "pos/0_10.txt", b"loved it");
    write(&root, "neg/5_1.txt", b"awful");
    write(&root, "neg/notes.md", b"ignored");
    write(&root, "unsup/0_0.txt", b"?");
    write(&root, "unsup/1_0.txt", b"?");
    write(&root, "urls_pos.txt", b"http://");
    let t = read_table(&root, &labelled()).unwrap();
    assert_eq!(t.ids, ["neg/5_1.txt", "pos/0_10.txt", "pos/1_9.txt"]);
    assert_eq!(t.texts, ["awful", "loved it", "great <br /> film"]);
    assert_eq!(t.labels.unwrap(), ["neg", "pos", "pos"]);
    let notes = t.notes.join("\n");
    assert!(
        notes.contains("skipped folder unsup (no label, 2 files)"),
        "{notes}"
    );
    assert!(
        notes.contains("ignored 1 file(s) at the top level"),
        "{notes}"
    );
    assert!(notes.contains("not .txt"), "{notes}");

    write(&root, "neg/bad.txt", b"caf\xe9");
    let (e, msg) = err_of(&root, &labelled());
    assert!(matches!(e, DataError::NotUtf8 { .. }));
    assert!(msg.contains("bad.txt") && msg.contains("iconv"), "{msg}");
}

#[test]
fn folder_without_classes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"one");
    write(dir.path(), "b.txt", b"two");
    let (e, msg) = err_of(dir.path(), &labelled());
    assert!(matches!(e, DataError::Empty { .. }));
    assert!(msg.contains("<class>/*.txt"), "{msg}");
    // Texts to predict may sit in a flat folder.
    let t = read_table(dir.path(), &ReadOptions::unlabelled()).unwrap();
    assert_eq!(t.texts, ["one", "two"]);
    assert!(t.labels.is_none());

    let nested = tempfile::tempdir().unwrap();
    write(nested.path(), "train/pos/a.txt", b"x");
    let (_, msg) = err_of(nested.path(), &labelled());
    assert!(msg.contains("did you mean"), "{msg}");
}

#[cfg(feature = "parquet")]
mod parquet_files {
    use super::*;
    use arrow_array::{
        ArrayRef, BooleanArray, Float64Array, Int64Array, LargeStringArray, RecordBatch,
        StringArray, UInt8Array,
    };
    use std::sync::Arc;

    fn write_parquet(path: &Path, cols: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn reads_strings_and_integer_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.parquet");
        write_parquet(
            &p,
            vec![
                ("idx", Arc::new(Int64Array::from(vec![5, 6, 7])) as ArrayRef),
                ("other", Arc::new(Float64Array::from(vec![0.5, 1.0, 2.0]))),
                ("text", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
                ("label", Arc::new(UInt8Array::from(vec![0, 1, 0]))),
            ],
        );
        let t = read_table(&p, &labelled()).unwrap();
        assert_eq!(t.texts, ["a", "b", "c"]);
        assert_eq!(t.labels.unwrap(), ["0", "1", "0"]);
        assert_eq!(t.ids, ["5", "6", "7"]);

        let p = dir.path().join("large.parquet");
        write_parquet(
            &p,
            vec![
                (
                    "content",
                    Arc::new(LargeStringArray::from(vec!["x", "y"])) as ArrayRef,
                ),
                ("target", Arc::new(BooleanArray::from(vec![true, false]))),
            ],
        );
        let t = read_table(&p, &labelled()).unwrap();
        assert_eq!(t.texts, ["x", "y"]);
        assert_eq!(t.labels.unwrap(), ["true", "false"]);
        assert_eq!(t.ids, ["large.parquet:1", "large.parquet:2"]);
    }

    #[test]
    fn parquet_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nulls.parquet");
        write_parquet(
            &p,
            vec![
                (
                    "text",
                    Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
                ),
                ("label", Arc::new(StringArray::from(vec![Some("x"), None]))),
            ],
        );
        let (e, msg) = err_of(&p, &labelled());
        assert!(matches!(e, DataError::EmptyLabel { .. }), "{msg}");
        assert!(msg.contains("nulls.parquet:2"), "{msg}");

        let p = dir.path().join("floats.parquet");
        write_parquet(
            &p,
            vec![
                ("text", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
                ("label", Arc::new(StringArray::from(vec!["x"]))),
            ],
        );
        let (_, msg) = err_of(&p, &labelled());
        assert!(msg.contains("column 'text' has type Float64"), "{msg}");

        let p = write(dir.path(), "junk.parquet", b"this is not parquet at all");
        let (e, msg) = err_of(&p, &labelled());
        assert!(matches!(e, DataError::Malformed { .. }), "{msg}");
        assert!(msg.contains("junk.parquet"), "{msg}");

        let p = dir.path().join("cols.parquet");
        write_parquet(
            &p,
            vec![(
                "body_text",
                Arc::new(StringArray::from(vec!["a"])) as ArrayRef,
            )],
        );
        let (_, msg) = err_of(&p, &labelled());
        assert!(
            msg.contains("'body_text'") && msg.contains("--text-col"),
            "{msg}"
        );
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn arbitrary_input() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"text,label\n".to_vec()),
            Just(b"text\tlabel\n".to_vec()),
            Just(b"{\"text\": \"a\", \"label\": 1}\n".to_vec()),
            Just(b"\"".to_vec()),
            Just(b",".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\t".to_vec()),
            Just(vec![0xff, 0xfe]),
            prop::collection::vec(any::<u8>(), 0..8),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn reading_arbitrary_bytes_returns_ok_or_err(body in arbitrary_input()) {
            let dir = tempfile::tempdir().unwrap();
            for name in ["x.csv", "x.tsv", "x.jsonl"] {
                let p = write(dir.path(), name, &body);
                for opts in [ReadOptions::labelled(), ReadOptions::unlabelled()] {
                    if let Ok(t) = read_table(&p, &opts) {
                        prop_assert_eq!(t.ids.len(), t.texts.len());
                        if let Some(l) = &t.labels {
                            prop_assert_eq!(l.len(), t.texts.len());
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn chunked_reading_hands_over_the_same_rows_as_a_whole_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,text,label\n");
    let mut jsonl = String::new();
    for i in 0..1000 {
        csv.push_str(&format!("r{i},\"text, number {i}\",{}\n", i % 3));
        jsonl.push_str(&format!(
            "{{\"id\": \"r{i}\", \"text\": \"t {i}\", \"label\": {}}}\n",
            i % 3
        ));
    }
    for (name, body) in [("c.csv", csv.as_str()), ("j.jsonl", jsonl.as_str())] {
        let p = write(dir.path(), name, body.as_bytes());
        let whole = read_table(&p, &ReadOptions::unlabelled()).unwrap();
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        let mut sizes = Vec::new();
        let n = read_table_chunked(&p, &ReadOptions::unlabelled(), 300, &mut |c| {
            sizes.push(c.len());
            ids.extend(c.ids);
            texts.extend(c.texts);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 1000);
        assert_eq!(sizes, [300, 300, 300, 100], "{name}");
        assert_eq!((ids, texts), (whole.ids, whole.texts), "{name}");
        // With labels.
        let whole = read_table(&p, &ReadOptions::labelled()).unwrap();
        let mut labels = Vec::new();
        read_table_chunked(&p, &ReadOptions::labelled(), 300, &mut |c| {
            labels.extend(c.labels.expect("a label column"));
            Ok(())
        })
        .unwrap();
        assert_eq!(Some(labels), whole.labels, "{name}");
    }
    // An empty file is an error, as for a whole read.
    let p = write(dir.path(), "e.csv", b"text\n");
    assert!(read_table_chunked(&p, &ReadOptions::unlabelled(), 10, &mut |_| Ok(())).is_err());
    // Long texts end a chunk at CHUNK_BYTES of text, before its row count.
    let long = "word ".repeat(100_000);
    let mut body = String::from("text\n");
    for _ in 0..50 {
        body.push_str(&long);
        body.push('\n');
    }
    let p = write(dir.path(), "long.csv", body.as_bytes());
    let mut sizes = Vec::new();
    let n = read_table_chunked(&p, &ReadOptions::unlabelled(), 1000, &mut |c| {
        sizes.push(c.len());
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 50);
    let per = CHUNK_BYTES.div_ceil(long.trim_end().len());
    assert_eq!(
        sizes,
        [per, per, 50 - 2 * per],
        "{per} texts of 500 KB a chunk"
    );
}

#[test]
fn pair_and_onehot_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "q.csv",
        b"question,sentence,label,joy,anger\nq1,s1,yes,1,0\nq2,s2,no,0,1\n",
    );
    let t = read_table(&p, &labelled()).unwrap();
    assert_eq!(t.text_col, "question");
    assert_eq!(t.pair_col.as_deref(), Some("sentence"));
    assert_eq!(t.pairs, Some(vec!["s1".to_string(), "s2".to_string()]));
    // --text-col naming a non-pair column turns pair detection off.
    let opts = ReadOptions {
        text_col: Some("sentence".into()),
        ..labelled()
    };
    assert_eq!(read_table(&p, &opts).unwrap().pairs, None);
    // Explicit second column.
    let opts = ReadOptions {
        text_col: Some("sentence".into()),
        pair_col: Some("question".into()),
        ..labelled()
    };
    assert_eq!(read_table(&p, &opts).unwrap().pairs.unwrap()[0], "q1");
    let opts = ReadOptions {
        pair_col: Some("nope".into()),
        ..labelled()
    };
    let (_, msg) = err_of(&p, &opts);
    assert!(msg.contains("--text-pair-col"), "{msg}");
    // One-hot label columns become JSON lists.
    let opts = ReadOptions {
        label_cols: Some(vec!["joy".into(), "anger".into()]),
        ..labelled()
    };
    let t = read_table(&p, &opts).unwrap();
    assert_eq!(
        t.labels,
        Some(vec!["[\"joy\"]".to_string(), "[\"anger\"]".to_string()])
    );
    let opts = ReadOptions {
        label_cols: Some(vec!["joy".into(), "label".into()]),
        ..labelled()
    };
    let (_, msg) = err_of(&p, &opts);
    assert!(
        msg.contains("must hold 0 or 1") && msg.contains("'yes'"),
        "{msg}"
    );
    let opts = ReadOptions {
        label_cols: Some(vec!["joy".into()]),
        label_col: Some("label".into()),
        ..labelled()
    };
    let (_, msg) = err_of(&p, &opts);
    assert!(msg.contains("both given"), "{msg}");
}
