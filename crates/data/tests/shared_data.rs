//! Integration tests against the real datasets in `$TEXTCLF_DATA_DIR` (default
//! `<repo>/../shared/data`). Each test is skipped with a message when its file is absent.

use std::path::{Path, PathBuf};

use textclf_data::{compute_stats, prepare, read_table, PrepareOptions, ReadOptions, Source};

fn data_dir() -> PathBuf {
    std::env::var_os("TEXTCLF_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn file(rel: &str) -> Option<PathBuf> {
    let p = data_dir().join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found (set TEXTCLF_DATA_DIR)", p.display());
        None
    }
}

#[test]
fn imdb_counts_duplicates_and_leakage() {
    let (Some(train), Some(test)) = (file("imdb/train.csv"), file("imdb/test.csv")) else {
        return;
    };
    let tr = read_table(&train, &ReadOptions::labelled()).unwrap();
    let te = read_table(&test, &ReadOptions::labelled()).unwrap();
    assert_eq!(tr.len(), 25_000);
    assert_eq!(te.len(), 25_000);
    assert_eq!(tr.ids[0], "train.csv:1");
    let stats = compute_stats(&[("train".to_string(), &tr), ("test".to_string(), &te)]);
    let s = &stats.splits[0];
    assert_eq!(s.classes.len(), 2);
    assert_eq!(
        (s.classes[0].label.as_str(), s.classes[0].rows),
        ("0", 12_500)
    );
    assert_eq!(
        (s.classes[1].label.as_str(), s.classes[1].rows),
        ("1", 12_500)
    );
    assert_eq!(stats.splits[0].duplicate_texts, 96);
    assert_eq!(stats.splits[1].duplicate_texts, 199);
    assert_eq!(stats.cross_duplicates[0].texts_in_both, 123);
    assert!(
        s.words.mean > 200.0 && s.words.mean < 260.0,
        "{}",
        s.words.mean
    );
    let shown = stats.to_string();
    assert!(shown.contains("12,500   50.0 %"), "{shown}");
    assert!(
        shown.contains("123 texts of test also occur in train (train–test leakage)"),
        "{shown}"
    );
    println!("{shown}");
}

#[test]
fn ag_news_string_labels() {
    let Some(p) = file("ag_news/test.csv") else {
        return;
    };
    let t = read_table(&p, &ReadOptions::labelled()).unwrap();
    assert_eq!(t.len(), 7_600);
    let stats = compute_stats(&[("ag_news".to_string(), &t)]);
    let classes: Vec<(&str, usize)> = stats.splits[0]
        .classes
        .iter()
        .map(|c| (c.label.as_str(), c.rows))
        .collect();
    assert_eq!(
        classes,
        [
            ("Business", 1900),
            ("Sci/Tech", 1900),
            ("Sports", 1900),
            ("World", 1900)
        ]
    );
}

#[test]
fn ag_news_pool_split_is_stratified_and_deterministic() {
    let Some(p) = file("ag_news/test.csv") else {
        return;
    };
    let opts = PrepareOptions {
        seed: 7,
        ..PrepareOptions::default()
    };
    let s = prepare(&Source::pool(vec![p.clone()]), &opts).unwrap();
    assert_eq!(s.train.len(), 6_080);
    assert_eq!(s.valid.as_ref().unwrap().len(), 760);
    assert_eq!(s.test.len(), 760);
    assert_eq!(s.train.class_counts(), vec![1520; 4]);
    assert_eq!(s.test.class_counts(), vec![190; 4]);
    assert_eq!(s.train.name, "train (80% of ag_news/test.csv)");
    let again = prepare(&Source::pool(vec![p]), &opts).unwrap();
    assert_eq!(again.test.ids, s.test.ids);
}

#[test]
fn sst2_files_with_subset_of_train() {
    let (Some(train), Some(dev), Some(test)) = (
        file("sst2/train.csv"),
        file("sst2/dev.csv"),
        file("sst2/test.csv"),
    ) else {
        return;
    };
    let opts = PrepareOptions {
        subset_frac: Some(0.1),
        ..PrepareOptions::default()
    };
    let s = prepare(
        &Source::Files {
            train: train.clone(),
            valid: Some(dev),
            test,
        },
        &opts,
    )
    .unwrap();
    assert_eq!(s.valid.as_ref().unwrap().len(), 872);
    assert_eq!(s.test.len(), 1_821);
    assert!(
        (s.train.len() as f64 - 6_734.9).abs() <= 2.0,
        "{}",
        s.train.len()
    );
    assert_eq!(s.label_set.names(), ["0", "1"]);
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("of 67349 (stratified, frac 0.1)")),
        "{:?}",
        s.notes
    );
}

fn files(train: &str, valid: Option<&str>, test: &str) -> Option<Source> {
    Some(Source::Files {
        train: file(train)?,
        valid: match valid {
            Some(v) => Some(file(v)?),
            None => None,
        },
        test: file(test)?,
    })
}

#[test]
fn rte_pairs_are_detected_and_single_label() {
    let Some(src) = files("glue/rte/train.csv", None, "glue/rte/dev.csv") else {
        return;
    };
    let s = prepare(&src, &PrepareOptions::default()).unwrap();
    assert_eq!(s.train.task(), textclf_core::Task::SingleLabel);
    assert_eq!(s.label_set.names(), ["entailment", "not_entailment"]);
    let pairs = s
        .train
        .pairs
        .as_ref()
        .expect("sentence1/sentence2 detected as a pair");
    assert_eq!(pairs.len(), s.train.len());
    assert!(s.test.pairs.is_some());
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("second text column 'sentence2'")),
        "{:?}",
        s.notes
    );
    assert!(s.notes.iter().any(|n| n.starts_with("task: single-label")));
}

#[test]
fn stsb_is_inferred_as_pair_regression() {
    let Some(src) = files("glue/stsb/train.csv", None, "glue/stsb/dev.csv") else {
        return;
    };
    let s = prepare(&src, &PrepareOptions::default()).unwrap();
    assert_eq!(s.train.task(), textclf_core::Task::Regression);
    assert_eq!(s.label_set.names(), ["score"]);
    let scores = s.test.targets.scores().unwrap();
    assert_eq!(scores.len(), 1_500);
    assert!(scores.iter().all(|x| (0.0..=5.0).contains(x)));
    let note = s.notes.iter().find(|n| n.starts_with("task:")).unwrap();
    assert!(
        note.contains("regression") && note.contains("not all whole"),
        "{note}"
    );
    // Subsets of regression data keep the spread of the target (decile strata).
    let sub = prepare(
        &src,
        &PrepareOptions {
            subset_frac: Some(0.1),
            ..PrepareOptions::default()
        },
    )
    .unwrap();
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let all = s.train.targets.scores().unwrap();
    let part = sub.train.targets.scores().unwrap();
    assert!((part.len() as f64 - 0.1 * all.len() as f64).abs() <= 10.0);
    assert!(
        (mean(part) - mean(all)).abs() < 0.05,
        "{} vs {}",
        mean(part),
        mean(all)
    );
}

#[test]
fn goemotions_multilabel_from_pipes_and_onehot_agree() {
    let (Some(dev), Some(onehot)) = (
        file("goemotions/dev.csv"),
        file("goemotions/dev_onehot.csv"),
    ) else {
        return;
    };
    let pipes = prepare(&Source::pool(vec![dev]), &PrepareOptions::default()).unwrap();
    assert_eq!(pipes.train.task(), textclf_core::Task::MultiLabel);
    assert_eq!(pipes.label_set.len(), 28);
    let names: Vec<String> = std::fs::read_to_string(file("goemotions/labels.txt").unwrap())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let opts = PrepareOptions {
        read: ReadOptions {
            label_cols: Some(names.clone()),
            ..ReadOptions::labelled()
        },
        ..PrepareOptions::default()
    };
    let hot = prepare(&Source::pool(vec![onehot]), &opts).unwrap();
    assert_eq!(hot.label_set.names(), names.as_slice());
    assert_eq!(hot.train.task(), textclf_core::Task::MultiLabel);
    // Same rows, same label names per row.
    let by_name = |s: &textclf_data::Splits| {
        let mut rows: Vec<(String, Vec<String>)> = s
            .test
            .texts
            .iter()
            .zip(s.test.targets.label_sets().unwrap())
            .map(|(t, set)| {
                let mut n: Vec<String> = set
                    .iter()
                    .map(|&l| s.label_set.name(l).to_string())
                    .collect();
                n.sort();
                (t.clone(), n)
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(by_name(&pipes), by_name(&hot));
    // Iterative stratification: every label keeps about its share in the 10 % test part.
    let all = pipes.train.class_counts();
    let test = pipes.test.class_counts();
    let total: Vec<usize> = all
        .iter()
        .zip(&test)
        .zip(pipes.valid.as_ref().unwrap().class_counts())
        .map(|((a, b), c)| a + b + c)
        .collect();
    for l in 0..28 {
        let want = 0.1 * total[l] as f64;
        assert!(
            (test[l] as f64 - want).abs() <= 1.0,
            "label {l}: {} in test, {want} wanted",
            test[l]
        );
    }
}

#[test]
fn cola_integer_labels_stay_classes() {
    let Some(src) = files("glue/cola/train.csv", None, "glue/cola/dev.csv") else {
        return;
    };
    let s = prepare(&src, &PrepareOptions::default()).unwrap();
    assert_eq!(s.train.task(), textclf_core::Task::SingleLabel);
    assert_eq!(s.label_set.names(), ["0", "1"]);
    assert!(s.train.pairs.is_none());
}
