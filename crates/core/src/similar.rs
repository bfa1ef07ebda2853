//! "Did you mean": the closest of some names to a mistyped one.

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The names within `max` edits of `word` (case ignored), closest first.
pub fn closest<'a>(
    word: &str,
    names: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<&'a str> {
    let w = word.to_lowercase();
    let mut v: Vec<(usize, &str)> = names
        .into_iter()
        .map(|n| (edit_distance(&n.to_lowercase(), &w), n))
        .filter(|(d, _)| *d <= max)
        .collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_the_closest_names() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            closest("max_lenn", ["max_len", "lr", "max_df"], 2),
            ["max_len"]
        );
        assert!(closest("zzz", ["max_len"], 2).is_empty());
    }
}
