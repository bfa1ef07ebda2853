//! Inline Markdown to HTML, for the text of the advice's blocks ([`crate::document::Block`]):
//! code spans, **bold**, *italic*, links and backslash escapes; all other text escaped.

use crate::plots::escape_xml as esc;

/// Inline Markdown to HTML: `code`, **bold**, *italic*, `[text](url)`, backslash escapes;
/// all other text escaped.
pub(crate) fn inline(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut bold = false;
    let mut italic = false;
    let find = |from: usize, pat: &[char]| -> Option<usize> {
        (from..chars.len().saturating_sub(pat.len() - 1)).find(|&j| chars[j..].starts_with(pat))
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                out.push_str(&esc(&chars[i + 1].to_string()));
                i += 2;
            }
            '`' => {
                let ticks = chars[i..].iter().take_while(|&&c| c == '`').count();
                let pat: Vec<char> = std::iter::repeat_n('`', ticks).collect();
                match find(i + ticks, &pat) {
                    Some(end) => {
                        let code: String = chars[i + ticks..end].iter().collect();
                        out.push_str(&format!("<code>{}</code>", esc(code.trim())));
                        i = end + ticks;
                    }
                    None => {
                        out.push_str(&"`".repeat(ticks));
                        i += ticks;
                    }
                }
            }
            '*' | '_' if i + 1 < chars.len() && chars[i + 1] == c => {
                let closing = find(i + 2, &[c, c]).is_some();
                if bold {
                    out.push_str("</strong>");
                    bold = false;
                } else if closing {
                    out.push_str("<strong>");
                    bold = true;
                } else {
                    out.push(c);
                    out.push(c);
                }
                i += 2;
            }
            '*' => {
                // Italic only around a word: `*x*`, not `2 * 3`.
                let opens = !italic
                    && chars.get(i + 1).is_some_and(|n| !n.is_whitespace())
                    && find(i + 1, &['*']).is_some();
                let closes = italic && i > 0 && !chars[i - 1].is_whitespace();
                if opens {
                    out.push_str("<em>");
                    italic = true;
                } else if closes {
                    out.push_str("</em>");
                    italic = false;
                } else {
                    out.push('*');
                }
                i += 1;
            }
            '[' => {
                let link = find(i + 1, &[']', '(']).and_then(|mid| {
                    let end = find(mid + 2, &[')'])?;
                    let text: String = chars[i + 1..mid].iter().collect();
                    let url: String = chars[mid + 2..end].iter().collect();
                    Some((text, url, end))
                });
                match link {
                    Some((text, url, end)) if safe_url(&url) => {
                        out.push_str(&format!("<a href=\"{}\">{}</a>", esc(&url), inline(&text)));
                        i = end + 1;
                    }
                    _ => {
                        out.push('[');
                        i += 1;
                    }
                }
            }
            c => {
                out.push_str(&esc(&c.to_string()));
                i += 1;
            }
        }
    }
    if italic {
        out.push_str("</em>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

fn safe_url(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    !u.contains(':') || u.starts_with("http://") || u.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_forms_convert_and_the_rest_is_escaped() {
        assert_eq!(
            inline("Some *text* and 2 * 3, **bold** `x<y` & [link](https://example.org)"),
            "Some <em>text</em> and 2 * 3, <strong>bold</strong> <code>x&lt;y</code> &amp; <a href=\"https://example.org\">link</a>"
        );
        assert!(!inline("[bad](javascript:alert(1))").contains("href"));
        assert_eq!(inline("a \\* b"), "a * b");
    }
}
