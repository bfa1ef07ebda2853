//! Streaming `predict`: a big file and a big stdin are read, predicted and written a chunk
//! at a time, in bounded memory, with a progress line per chunk; an input that fails part
//! way leaves the previous `--output` whole. A text far past `--max-len` is cut before it
//! is tokenized, so one huge text does not take gigabytes.
//!
//! The peak memory of the child processes is read with `getrusage(RUSAGE_CHILDREN)`, which
//! covers every child this process waited for: this test binary therefore holds this one
//! test, so no other test's children count.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use common::*;

/// The largest resident set of any child waited for so far, in MB.
fn children_peak_mb() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    assert_eq!(rc, 0);
    // Linux reports ru_maxrss in KiB.
    u.ru_maxrss as f64 / 1024.0
}

fn review(i: usize) -> String {
    let words = [
        "a wonderful film",
        "a terrible film",
        "great acting and a great story",
        "awful acting and a dull story",
    ];
    // About 1 KB: the texts, not the row count, are what a whole read would hold.
    let one = format!(
        "{} number {i} seen on a rainy evening with friends who talked about it for hours",
        words[i % 4]
    );
    vec![one; 11].join(" ")
}

/// Lines of `path`.
fn lines(path: &Path) -> usize {
    BufReader::new(fs::File::open(path).unwrap())
        .lines()
        .count()
}

#[test]
fn predict_streams_big_inputs_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, te, run) = toy_baseline_run(tmp.path());
    let model = run.join("model");

    // About 200 MB, 200,000 rows of 1 KB: read whole, the texts alone would take 200 MB.
    const N: usize = 200_000;
    let big = tmp.path().join("big.csv");
    {
        let mut w = std::io::BufWriter::new(fs::File::create(&big).unwrap());
        writeln!(w, "id,text").unwrap();
        for i in 0..N {
            writeln!(w, "r{i},{}", review(i)).unwrap();
        }
    }
    assert!(fs::metadata(&big).unwrap().len() > 200_000_000);
    let preds = tmp.path().join("preds.csv");
    let out = command(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&big),
        "--output",
        s(&preds),
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(lines(&preds), N + 1);
    // A progress line per chunk: 8,192 texts or 8 MB of text, whichever comes first (rows
    // here are about 1,140 bytes, so about 7,400 rows a chunk: more chunks than 8,192 rows
    // a chunk would make), the first from row 1, the last ending at the last row.
    let chunks = err.matches("predicting texts ").count();
    assert!(chunks > N.div_ceil(8192), "{chunks} chunks: {err}");
    assert!(chunks <= N.div_ceil(7000), "{chunks} chunks: {err}");
    assert!(err.contains("predicting texts 1–"), "{err}");
    assert!(err.contains(&format!("–{N} (")), "{err}");
    assert!(err.contains(&format!("wrote {N} predictions")), "{err}");
    let first = fs::read_to_string(&preds).unwrap();
    assert!(
        first.starts_with("id,predicted,p_neg,p_pos\nr0,"),
        "{}",
        &first[..80]
    );

    // The same texts on stdin, one per line.
    let mut child = command(&["predict", "--model", s(&model), "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for i in 0..N {
            writeln!(w, "{}", review(i)).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), N + 1);
    // Chunks of stdin end at 8 MB of text too.
    let err = String::from_utf8_lossy(&out.stderr);
    let chunks = err.matches("predicting texts ").count();
    assert!(chunks > N.div_ceil(8192), "{chunks} chunks of stdin: {err}");
    assert!(text.contains(&format!("\nstdin:{N},")));
    // The same predictions as from the file, row for row.
    let from_file: Vec<&str> = first
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1)
        .collect();
    let from_stdin: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1)
        .collect();
    assert!(from_file == from_stdin, "stdin and file predictions differ");

    // A file that turns out to be bad near its end: the error names the line, and the
    // previous predictions file stays whole.
    let bad = tmp.path().join("bad.csv");
    {
        let mut w = std::io::BufWriter::new(fs::File::create(&bad).unwrap());
        writeln!(w, "id,text").unwrap();
        for i in 0..30_000 {
            writeln!(w, "r{i},{}", review(i)).unwrap();
        }
        w.write_all(b"r30000,a film \xff\n").unwrap();
    }
    let out = command(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&bad),
        "--output",
        s(&preds),
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("UTF-8") && err.contains("line"), "{err}");
    assert!(err.contains("predicting texts 1–"), "it had begun: {err}");
    assert_eq!(fs::read_to_string(&preds).unwrap(), first);
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("preds") && n != "preds.csv")
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");

    // Every child so far: a baseline on 60 rows and predicts over 200 MB of texts from a
    // file and from stdin (reading stdin whole, as textclf did before, took 368 MB).
    let peak = children_peak_mb();
    eprintln!("peak resident memory of the predicts: {peak:.0} MB");
    assert!(peak < 150.0, "a predict peaked at {peak:.0} MB");

    // One 40 MB text for a fine-tuned model at max-len 32: it is cut before it is
    // tokenized (tokenized whole, a 50 MB text took 7.3 GB).
    let m32 = tmp.path().join("m32");
    tiny_fine_tune(&tr, &te, "32", &m32, &["--quiet"]);
    let huge = tmp.path().join("huge.csv");
    {
        let mut w = std::io::BufWriter::new(fs::File::create(&huge).unwrap());
        writeln!(w, "text").unwrap();
        for i in 0..40_000 {
            write!(w, "{} ", review(i)).unwrap();
        }
        writeln!(w, "\na short text").unwrap();
    }
    assert!(fs::metadata(&huge).unwrap().len() > 40_000_000);
    let out = ok(&[
        "predict",
        "--model",
        s(&m32.join("model")),
        "--input",
        s(&huge),
        "--quiet",
    ]);
    assert_eq!(out.lines().count(), 3, "{out}");

    // Now also a tiny fine-tune and the predict of one 40 MB text, which holds the text
    // and its CSV record (tokenized whole, a 50 MB text took 7.3 GB).
    let peak = children_peak_mb();
    eprintln!("peak resident memory with the huge text: {peak:.0} MB");
    assert!(peak < 400.0, "a child peaked at {peak:.0} MB");
}
