//! Text → hashed n-gram features.
//!
//! Each text is normalised (optional HTML-tag stripping, lower-casing), split into word
//! tokens (and, by default, punctuation tokens), and every word n-gram (and optional
//! character n-gram) is turned into a 64-bit hash with xxh3, a hash with a fixed
//! specification so saved models stay valid across versions. With 64-bit keys the chance
//! of two distinct n-grams colliding in a vocabulary of millions is below 10⁻⁶, and no
//! n-gram strings need to be stored or allocated while counting.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// How a text is split into word tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TokenMode {
    /// Runs of letters/digits (with inner apostrophes, as in "don't") and every other
    /// non-space character as a token of its own ("!", "?", ":", …). Keeping punctuation
    /// helps sentiment (≈ +0.7–1 pt for NBSVM on IMDB).
    #[default]
    WordsAndPunct,
    /// Only runs of two or more letters/digits, like scikit-learn's default `\b\w\w+\b`.
    Words,
}

/// `--tokens words-punct|words` (the names differ from the saved model's).
impl textclf_core::Choices for TokenMode {
    const VALUES: &'static [TokenMode] = &[TokenMode::WordsAndPunct, TokenMode::Words];

    fn name(self) -> &'static str {
        match self {
            TokenMode::WordsAndPunct => "words-punct",
            TokenMode::Words => "words",
        }
    }

    fn help(self) -> &'static str {
        match self {
            TokenMode::WordsAndPunct => {
                "Words plus punctuation marks as tokens (default; helps sentiment)"
            }
            TokenMode::Words => {
                "Words of two or more characters only (scikit-learn's default pattern)"
            }
        }
    }
}

/// Settings of the analyzer (part of the saved model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerParams {
    /// Word n-gram range, inclusive (default 1–2).
    pub ngram: (usize, usize),
    /// Character n-gram range within words, inclusive; `None` for no character n-grams.
    pub char_ngram: Option<(usize, usize)>,
    pub lowercase: bool,
    /// Replace HTML tags such as IMDB's `<br />` by spaces.
    pub strip_html: bool,
    pub tokens: TokenMode,
}

impl Default for AnalyzerParams {
    fn default() -> Self {
        Self {
            ngram: (1, 2),
            char_ngram: None,
            lowercase: true,
            strip_html: true,
            tokens: TokenMode::WordsAndPunct,
        }
    }
}

const CHAR_SEED: u64 = 0x6368_6172_6e67_7261; // distinct space for character n-grams

impl AnalyzerParams {
    /// Checks the ranges.
    pub fn check(&self) -> Result<(), String> {
        let (a, b) = self.ngram;
        if a == 0 || a > b || b > 6 {
            return Err(format!(
                "word n-gram range {a}-{b} is invalid: use 1 ≤ min ≤ max ≤ 6 (e.g. 1-2)"
            ));
        }
        if let Some((a, b)) = self.char_ngram {
            if a == 0 || a > b || b > 10 {
                return Err(format!(
                    "character n-gram range {a}-{b} is invalid: use 1 ≤ min ≤ max ≤ 10 (e.g. 2-5)"
                ));
            }
        }
        Ok(())
    }

    /// Normalises `text` (HTML stripping, lower-casing) into `buf`.
    pub fn normalize(&self, text: &str, buf: &mut String) {
        buf.clear();
        buf.reserve(text.len());
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'<' && self.strip_html {
                if let Some(len) = html_tag_len(&text[i + 1..]) {
                    buf.push(' ');
                    i += 1 + len;
                    continue;
                }
            }
            if b.is_ascii() {
                buf.push(if self.lowercase {
                    b.to_ascii_lowercase()
                } else {
                    b
                } as char);
                i += 1;
            } else {
                let c = text[i..].chars().next().unwrap_or(' ');
                if self.lowercase {
                    buf.extend(c.to_lowercase());
                } else {
                    buf.push(c);
                }
                i += c.len_utf8();
            }
        }
    }

    /// Appends the hashed features of `text` to `out` (one entry per occurrence).
    /// `buf` and `toks` are scratch space reused between calls.
    pub fn features(&self, text: &str, buf: &mut String, toks: &mut Vec<u64>, out: &mut Vec<u64>) {
        self.normalize(text, buf);
        toks.clear();
        let mode = self.tokens;
        for_each_token(buf, mode, |t| toks.push(xxh3_64(t.as_bytes())));
        let (lo, hi) = self.ngram;
        for n in lo..=hi {
            if n == 1 {
                out.extend_from_slice(toks);
            } else if toks.len() >= n {
                for w in toks.windows(n) {
                    let mut h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    for &t in w {
                        h = mix(h ^ t);
                    }
                    out.push(h);
                }
            }
        }
        if let Some((clo, chi)) = self.char_ngram {
            let mut padded = String::new();
            for_each_token(buf, TokenMode::Words, |t| {
                padded.clear();
                padded.push(' ');
                padded.push_str(t);
                padded.push(' ');
                let bounds: Vec<usize> = padded
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(padded.len()))
                    .collect();
                let nchars = bounds.len() - 1;
                for n in clo..=chi.min(nchars) {
                    for s in 0..=nchars - n {
                        let g = &padded[bounds[s]..bounds[s + n]];
                        out.push(xxh3_64_with_seed(g.as_bytes(), CHAR_SEED));
                    }
                }
            });
        }
    }
}

/// A strong 64-bit finaliser (the MurmurHash3 fmix64 constants) to combine token hashes.
#[inline]
fn mix(mut z: u64) -> u64 {
    z ^= z >> 33;
    z = z.wrapping_mul(0xff51_afd7_ed55_8ccd);
    z ^= z >> 33;
    z = z.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    z ^ (z >> 33)
}

/// Length of an HTML tag body after `<` up to and including `>`, if `after` starts one
/// (a letter, `/` or `!` right after `<`, closed within 200 bytes without another `<`).
fn html_tag_len(after: &str) -> Option<usize> {
    let bytes = &after.as_bytes()[..after.len().min(200)];
    let end = bytes.iter().position(|&b| b == b'>' || b == b'<')?;
    if bytes[end] != b'>' {
        return None;
    }
    let inner = &bytes[..end];
    // Comments and declarations: <!-- … -->, <!DOCTYPE html>.
    if inner.first() == Some(&b'!') {
        return Some(end + 1);
    }
    // A real tag: an optional '/', a known HTML element name, then nothing, attributes
    // after whitespace, or a closing '/'. `<user@host>` and `#include <stdio.h>` are text.
    let body = inner.strip_prefix(b"/").unwrap_or(inner);
    let name_len = body
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    let (name, rest) = body.split_at(name_len);
    let known = HTML_ELEMENTS
        .iter()
        .any(|e| e.as_bytes().eq_ignore_ascii_case(name));
    let well_formed = match rest.first() {
        None | Some(b'/') => true,
        Some(b) => b.is_ascii_whitespace(),
    };
    (known && well_formed).then_some(end + 1)
}

/// The element names whose tags `strip_html` removes (HTML 4 and 5, the ones found in
/// scraped reviews, posts and pages).
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "li",
    "link",
    "main",
    "mark",
    "meta",
    "nav",
    "nobr",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "script",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

#[inline]
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Calls `f` for every token of an already normalised text.
pub fn for_each_token(s: &str, mode: TokenMode, mut f: impl FnMut(&str)) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let c = if b.is_ascii() {
            b as char
        } else {
            s[i..].chars().next().unwrap_or(' ')
        };
        let clen = c.len_utf8();
        if is_word_char(c) {
            let start = i;
            i += clen;
            while i < bytes.len() {
                let d = if bytes[i].is_ascii() {
                    bytes[i] as char
                } else {
                    s[i..].chars().next().unwrap_or(' ')
                };
                if is_word_char(d) {
                    i += d.len_utf8();
                } else if d == '\'' && mode == TokenMode::WordsAndPunct && i + 1 < bytes.len() && {
                    let e = s[i + 1..].chars().next().unwrap_or(' ');
                    is_word_char(e)
                } {
                    i += 1;
                } else {
                    break;
                }
            }
            let tok = &s[start..i];
            if mode == TokenMode::WordsAndPunct || tok.chars().nth(1).is_some() {
                f(tok);
            }
        } else {
            if c.is_whitespace() {
                i += clen;
                continue;
            }
            if mode == TokenMode::WordsAndPunct {
                f(&s[i..i + clen]);
            }
            i += clen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str, mode: TokenMode) -> Vec<String> {
        let mut v = vec![];
        for_each_token(s, mode, |t| v.push(t.to_string()));
        v
    }

    #[test]
    fn html_is_stripped_and_text_lowercased() {
        let p = AnalyzerParams::default();
        let mut b = String::new();
        p.normalize("Great film!<br /><br />Loved ÉCOLE. a<b x", &mut b);
        assert_eq!(b, "great film!  loved école. a<b x");
    }

    #[test]
    fn only_real_tags_are_stripped() {
        let p = AnalyzerParams::default();
        let norm = |t: &str| {
            let mut b = String::new();
            p.normalize(t, &mut b);
            b
        };
        assert_eq!(
            norm("<p class=\"x\">Hi</P><!-- c --><BR/>there<i>!</i>"),
            " hi   there ! "
        );
        // Addresses, includes and comparisons are text.
        assert_eq!(norm("Mail <user@host.com>"), "mail <user@host.com>");
        assert_eq!(norm("#include <stdio.h>"), "#include <stdio.h>");
        assert_eq!(norm("a <bold claim> b"), "a <bold claim> b");
        assert_eq!(norm("x<y and y>z"), "x<y and y>z");
    }

    #[test]
    fn punctuation_tokens_and_contractions() {
        assert_eq!(
            tokens("don't stop!! it's 10/10", TokenMode::WordsAndPunct),
            ["don't", "stop", "!", "!", "it's", "10", "/", "10"]
        );
        assert_eq!(
            tokens("don't stop!! a it's", TokenMode::Words),
            ["don", "stop", "it"]
        );
    }

    #[test]
    fn bigrams_are_order_sensitive_and_counted() {
        let p = AnalyzerParams::default();
        let (mut b, mut t, mut out1, mut out2) = (String::new(), vec![], vec![], vec![]);
        p.features("not good", &mut b, &mut t, &mut out1);
        p.features("good not", &mut b, &mut t, &mut out2);
        assert_eq!(out1.len(), 3);
        assert_eq!(
            out1[..2].iter().collect::<std::collections::HashSet<_>>(),
            out2[..2].iter().collect()
        );
        assert_ne!(out1[2], out2[2]);
    }

    #[test]
    fn char_ngrams_are_produced() {
        let p = AnalyzerParams {
            ngram: (1, 1),
            char_ngram: Some((2, 3)),
            ..Default::default()
        };
        let (mut b, mut t, mut out) = (String::new(), vec![], vec![]);
        p.features("ab", &mut b, &mut t, &mut out);
        // 1 word + " a","ab","b " + " ab","ab "
        assert_eq!(out.len(), 1 + 3 + 2);
    }
}
