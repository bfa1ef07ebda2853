//! One check of prepared splits, used by every command before anything is trained: it
//! refuses what cannot give a meaningful run, and warns, with counts, about what would
//! mislead.

use std::collections::HashSet;

use textclf_core::{Dataset, Targets};

use crate::error::DataError;
use crate::prepare::Splits;

/// Below this many validation rows, a validation score is flagged as too noisy to choose
/// anything with.
pub const SMALL_VALIDATION: usize = 100;

/// Checks `s`. Refused: fewer than two classes in train, a train split whose texts are all
/// empty, an empty test or validation split. Returned as warnings (one line each): empty
/// texts, labels that mix numbers and words (or spell one number two ways), exact
/// duplicates shared between train and test or validation, and a validation split too
/// small to choose anything, with the width of its 95 % interval.
pub fn check_splits(s: &Splits) -> Result<Vec<String>, DataError> {
    let names = s.label_set.names();
    let mut warnings = Vec::new();
    match &s.train.targets {
        Targets::Classes(_) => {}
        Targets::LabelSets(sets) => {
            if names.is_empty() {
                return Err(DataError::Unusable(format!(
                    "no label applies to any row of {}: check --label-col/--label-cols and \
                     --label-sep",
                    s.train.name
                )));
            }
            let counts = s.train.class_counts();
            for (l, &c) in counts.iter().enumerate() {
                if c == 0 {
                    warnings.push(format!(
                        "label '{}' applies to no training row: no model can learn it",
                        names[l]
                    ));
                } else if c == sets.len() {
                    warnings.push(format!(
                        "label '{}' applies to every training row: it carries no signal",
                        names[l]
                    ));
                }
            }
        }
        Targets::Scores(v) => {
            let first = v.first().copied().unwrap_or(0.0);
            if v.iter().all(|&x| x == first) {
                return Err(DataError::Unusable(format!(
                    "every target of {} is {first}: a regression needs targets that vary; \
                     check --label-col",
                    s.train.name
                )));
            }
        }
    }
    if matches!(s.train.targets, Targets::Classes(_)) && names.len() < 2 {
        return Err(DataError::Unusable(format!(
            "the training data has a single class ({}): a classifier needs at least two; check --label-col, or add examples of the other classes",
            names.first().map_or("none".to_string(), |n| format!("'{n}'"))
        )));
    }
    if s.train.is_empty() || s.train.texts.iter().all(|t| t.trim().is_empty()) {
        return Err(DataError::Unusable(format!(
            "every text of {} is empty: check --text-col (the column read may hold ids or labels)",
            s.train.name
        )));
    }
    if s.test.is_empty() {
        return Err(DataError::Unusable(format!(
            "the test split ({}) has no rows: give the test a larger share (e.g. --split 80/10/10) or a --test file",
            s.test.name
        )));
    }
    if let Some(v) = &s.valid {
        if v.is_empty() {
            return Err(DataError::Unusable(format!(
                "the validation split ({}) has no rows: give it a larger share (e.g. --split 80/10/10), or a --valid file",
                v.name
            )));
        }
    }
    let parts: Vec<&Dataset> = std::iter::once(&s.train)
        .chain(s.valid.as_ref())
        .chain(std::iter::once(&s.test))
        .collect();
    for d in &parts {
        let empty = d.texts.iter().filter(|t| t.trim().is_empty()).count();
        if empty > 0 {
            warnings.push(format!(
                "{} of {} texts in {} are empty ({:.1} %); they carry no signal",
                empty,
                d.len(),
                d.name,
                100.0 * empty as f64 / d.len() as f64
            ));
        }
    }
    if matches!(s.train.targets, Targets::Classes(_)) {
        if let Some(w) = mixed_labels(names) {
            warnings.push(w);
        }
    }
    // A row is its text, or its two texts for pairs.
    let key = |d: &Dataset, i: usize| match &d.pairs {
        Some(p) => format!("{}\u{1f}{}", d.texts[i].trim(), p[i].trim()),
        None => d.texts[i].trim().to_string(),
    };
    let train: HashSet<String> = (0..s.train.len()).map(|i| key(&s.train, i)).collect();
    for d in parts.iter().skip(1) {
        let shared = (0..d.len())
            .filter(|&i| !d.texts[i].trim().is_empty() && train.contains(&key(d, i)))
            .count();
        if shared > 0 {
            warnings.push(format!(
                "{} of {} texts in {} also occur in the training data ({:.1} %): scores on it overstate how the model does on new text; remove the overlap (see `textclf data stats`)",
                shared,
                d.len(),
                d.name,
                100.0 * shared as f64 / d.len() as f64
            ));
        }
    }
    if let Some(w) = s
        .valid
        .as_ref()
        .and_then(|v| small_validation(v.len(), "the validation split"))
    {
        warnings.push(w);
    }
    Ok(warnings)
}

/// The warning for a validation set of `rows` rows, too few to choose settings by (`None`
/// from [`SMALL_VALIDATION`] rows up); `what` names it (a validation split, or the share
/// of train a run held out for it).
pub fn small_validation(rows: usize, what: &str) -> Option<String> {
    (rows < SMALL_VALIDATION).then(|| {
        format!(
            "{what} has only {rows} rows: an accuracy on it is uncertain by about ±{:.0} points (95 %), too wide to choose settings by; use {SMALL_VALIDATION}+ rows if you can",
            100.0 * accuracy_half_width(rows)
        )
    })
}

/// Half-width of the 95 % normal interval of an accuracy near 0.5 on `n` rows.
pub fn accuracy_half_width(n: usize) -> f64 {
    1.96 * (0.25 / n.max(1) as f64).sqrt()
}

/// A warning when label names mix numbers and words, or spell one number two ways
/// (`2` and `2.0`): each distinct spelling becomes a class of its own.
fn mixed_labels(names: &[String]) -> Option<String> {
    let numbers: Vec<(&String, f64)> = names
        .iter()
        .filter_map(|n| n.trim().parse::<f64>().ok().map(|v| (n, v)))
        .collect();
    let words = names.len() - numbers.len();
    let mut same_value = None;
    for (i, (a, x)) in numbers.iter().enumerate() {
        if let Some((b, _)) = numbers[i + 1..].iter().find(|(_, y)| y == x) {
            same_value = Some(format!("'{a}' and '{b}'"));
            break;
        }
    }
    let shown = || {
        let mut v: Vec<&str> = names.iter().map(String::as_str).take(8).collect();
        if names.len() > 8 {
            v.push("…");
        }
        v.join(", ")
    };
    if let Some(pair) = same_value {
        return Some(format!(
            "labels {pair} are the same number spelled two ways, and count as two classes ({} classes: {}); make the label column consistent",
            names.len(),
            shown()
        ));
    }
    if !numbers.is_empty() && words > 0 {
        return Some(format!(
            "labels mix numbers and words ({} classes: {}); each distinct value is a class of its own: check the label column",
            names.len(),
            shown()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use textclf_core::LabelSet;

    fn ds(name: &str, texts: &[&str], labels: &[usize], set: &LabelSet) -> Dataset {
        Dataset::new(
            name.to_string(),
            (0..texts.len()).map(|i| format!("{name}:{i}")).collect(),
            texts.iter().map(|t| t.to_string()).collect(),
            labels.to_vec(),
            set.clone(),
        )
        .unwrap()
    }

    fn splits(names: &[&str], train: &[&str], valid: Option<&[&str]>, test: &[&str]) -> Splits {
        let set = LabelSet::new(names.iter().map(|n| n.to_string()).collect()).unwrap();
        let lab = |n: usize| (0..n).map(|i| i % names.len()).collect::<Vec<_>>();
        Splits {
            train: ds("train", train, &lab(train.len()), &set),
            valid: valid.map(|v| ds("valid", v, &lab(v.len()), &set)),
            test: ds("test", test, &lab(test.len()), &set),
            label_set: set,
            notes: vec![],
        }
    }

    #[test]
    fn what_cannot_give_a_meaningful_run_is_refused() {
        let e = |s: Splits| check_splits(&s).unwrap_err().to_string();
        assert!(e(splits(&["pos"], &["a", "b"], None, &["c"])).contains("single class ('pos')"));
        assert!(e(splits(&["a", "b"], &["", " "], None, &["c"])).contains("every text"));
        assert!(e(splits(&["a", "b"], &["x", "y"], None, &[])).contains("test split"));
        assert!(e(splits(&["a", "b"], &["x", "y"], Some(&[]), &["z"])).contains("validation split"));
    }

    #[test]
    fn a_validation_set_too_small_to_choose_by_is_named_with_its_interval() {
        let w = small_validation(40, "the held-out share").unwrap();
        assert!(w.starts_with("the held-out share has only 40 rows"), "{w}");
        assert!(w.contains("±15 points"), "{w}");
        assert_eq!(small_validation(SMALL_VALIDATION, "x"), None);
    }

    #[test]
    fn what_would_mislead_is_warned_with_counts() {
        let w = check_splits(&splits(
            &["0", "1", "2.0", "neg", "pos"],
            &["a", "", "c", "d", "e"],
            Some(&["a", "q"]),
            &["c", "z", "y", "x"],
        ))
        .unwrap();
        let all = w.join("\n");
        assert!(all.contains("1 of 5 texts in train are empty"), "{all}");
        assert!(all.contains("mix numbers and words (5 classes"), "{all}");
        assert!(
            all.contains("1 of 2 texts in valid also occur in the training data"),
            "{all}"
        );
        assert!(all.contains("1 of 4 texts in test also occur"), "{all}");
        assert!(
            all.contains("only 2 rows") && all.contains("±69 points"),
            "{all}"
        );
        let w = check_splits(&splits(&["2", "2.0"], &["a", "b"], None, &["c"])).unwrap();
        assert!(w[0].contains("'2' and '2.0' are the same number"), "{w:?}");
        let clean: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        let v: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        let c: Vec<&str> = clean.iter().map(String::as_str).collect();
        let vv: Vec<&str> = v.iter().map(String::as_str).collect();
        assert!(
            check_splits(&splits(&["neg", "pos"], &c, Some(&vv), &["new"]))
                .unwrap()
                .is_empty()
        );
    }
}
