//! A small Markdown subset to HTML, for the advice the report page shows (the advisor
//! writes Markdown; see [`markdown_to_html`] for what is understood).

use crate::plots::escape_xml as esc;

#[derive(PartialEq, Clone, Copy)]
enum ListKind {
    Bullet,
    Numbered,
}

/// Converts the Markdown subset the advice uses: ATX headings (shifted by `shift` levels,
/// clamped to h2..h6), paragraphs, bullet and numbered lists (nested by indentation),
/// fenced code blocks, block quotes, pipe tables and the inline forms **bold**, *italic*,
/// `code` and `[links](url)`. Everything else is escaped text.
pub fn markdown_to_html(md: &str, shift: i32) -> String {
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    // Open lists: (indent, kind); an item is open while its list is.
    let mut lists: Vec<(usize, ListKind)> = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    let flush_para = |out: &mut String, para: &mut Vec<String>| {
        if !para.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", inline(&para.join(" "))));
            para.clear();
        }
    };
    let close_lists = |out: &mut String, lists: &mut Vec<(usize, ListKind)>, to: usize| {
        while lists.len() > to {
            let Some((_, k)) = lists.pop() else { break };
            out.push_str(if k == ListKind::Bullet {
                "</li>\n</ul>\n"
            } else {
                "</li>\n</ol>\n"
            });
        }
    };
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if trimmed.is_empty() {
            flush_para(&mut out, &mut para);
            // A blank line ends lists unless the next line continues them (indented or
            // another item).
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            let continues = next.is_some_and(|n| {
                list_item(n).is_some() || (n.len() - n.trim_start().len() >= 2 && !lists.is_empty())
            });
            if !continues {
                close_lists(&mut out, &mut lists, 0);
            }
            i += 1;
            continue;
        }
        if let Some(fence) = trimmed.strip_prefix("```") {
            let _lang = fence;
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let mut code = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                code.push(lines[i]);
                i += 1;
            }
            out.push_str(&format!(
                "<pre><code>{}</code></pre>\n",
                esc(&code.join("\n"))
            ));
            i += 1;
            continue;
        }
        if let Some((level, text)) = heading(trimmed) {
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let l = (level as i32 + shift).clamp(2, 6);
            out.push_str(&format!("<h{l}>{}</h{l}>\n", inline(text)));
            i += 1;
            continue;
        }
        if trimmed.starts_with('|') && lines.get(i + 1).is_some_and(|l| is_table_rule(l)) {
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let head = table_cells(trimmed);
            let aligns: Vec<&str> = table_cells(lines[i + 1].trim())
                .iter()
                .map(|c| {
                    let c = c.trim();
                    if c.ends_with(':') {
                        " class=\"num\""
                    } else {
                        ""
                    }
                })
                .collect();
            out.push_str("<table>\n<thead><tr>");
            for (j, c) in head.iter().enumerate() {
                out.push_str(&format!(
                    "<th{}>{}</th>",
                    aligns.get(j).copied().unwrap_or(""),
                    inline(c)
                ));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            i += 2;
            while i < lines.len() && lines[i].trim().starts_with('|') {
                out.push_str("<tr>");
                for (j, c) in table_cells(lines[i].trim()).iter().enumerate() {
                    out.push_str(&format!(
                        "<td{}>{}</td>",
                        aligns.get(j).copied().unwrap_or(""),
                        inline(c)
                    ));
                }
                out.push_str("</tr>\n");
                i += 1;
            }
            out.push_str("</tbody>\n</table>\n");
            continue;
        }
        if let Some(q) = trimmed.strip_prefix('>') {
            flush_para(&mut out, &mut para);
            close_lists(&mut out, &mut lists, 0);
            let mut quote = vec![q.trim()];
            i += 1;
            while i < lines.len() {
                match lines[i].trim().strip_prefix('>') {
                    Some(q) => quote.push(q.trim()),
                    None => break,
                }
                i += 1;
            }
            out.push_str(&format!(
                "<blockquote><p>{}</p></blockquote>\n",
                inline(&quote.join(" "))
            ));
            continue;
        }
        if let Some((kind, text)) = list_item(line) {
            flush_para(&mut out, &mut para);
            // Close deeper lists; a sibling item closes the previous item.
            while lists.last().is_some_and(|&(ind, _)| ind > indent) {
                let to = lists.len() - 1;
                close_lists(&mut out, &mut lists, to);
            }
            match lists.last() {
                Some(&(ind, k)) if ind == indent && k == kind => out.push_str("</li>\n<li>"),
                Some(&(ind, _)) if ind == indent => {
                    let to = lists.len() - 1;
                    close_lists(&mut out, &mut lists, to);
                    open_list(&mut out, kind);
                    lists.push((indent, kind));
                }
                _ => {
                    open_list(&mut out, kind);
                    lists.push((indent, kind));
                }
            }
            out.push_str(&inline(text));
            i += 1;
            continue;
        }
        if !lists.is_empty() && para.is_empty() {
            // A continuation line of the open item.
            out.push(' ');
            out.push_str(&inline(trimmed));
            i += 1;
            continue;
        }
        para.push(trimmed.to_string());
        i += 1;
    }
    flush_para(&mut out, &mut para);
    close_lists(&mut out, &mut lists, 0);
    out
}

fn open_list(out: &mut String, kind: ListKind) {
    out.push_str(if kind == ListKind::Bullet {
        "<ul>\n<li>"
    } else {
        "<ol>\n<li>"
    });
}

fn heading(t: &str) -> Option<(usize, &str)> {
    let n = t.chars().take_while(|&c| c == '#').count();
    if n == 0 || n > 6 {
        return None;
    }
    let rest = &t[n..];
    (rest.starts_with(' ') || rest.is_empty())
        .then(|| (n, rest.trim().trim_end_matches('#').trim()))
}

/// `- item`, `* item`, `+ item`, `1. item` or `1) item`.
fn list_item(line: &str) -> Option<(ListKind, &str)> {
    let t = line.trim_start();
    for b in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(b) {
            return Some((ListKind::Bullet, rest.trim()));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 4 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((ListKind::Numbered, r.trim()));
        }
    }
    None
}

fn is_table_rule(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Cells of a pipe-table line (`\|` is a literal bar).
fn table_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

/// Inline Markdown to HTML: `code`, **bold**, *italic*, `[text](url)`, backslash escapes;
/// all other text escaped.
fn inline(s: &str) -> String {
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
    fn markdown_subset_converts() {
        let md = "## Next steps\n\nSome *text* and 2 * 3.\ncontinued\n\n- one\n  - nested `x<y`\n- two\n\n\
                  1) first\n2) second\n\n| a | b |\n|---|--:|\n| 1 | 2 \\| 3 |\n\n```\nlet x = 1 < 2;\n```\n\
                  > quoted\n\n[link](https://example.org) [bad](javascript:alert(1))\n";
        let h = markdown_to_html(md, 1);
        assert!(h.contains("<h3>Next steps</h3>"), "{h}");
        assert!(
            h.contains("<p>Some <em>text</em> and 2 * 3. continued</p>"),
            "{h}"
        );
        assert!(h.contains("<ul>\n<li>one<ul>\n<li>nested <code>x&lt;y</code></li>\n</ul>\n</li>\n<li>two</li>\n</ul>"), "{h}");
        assert!(
            h.contains("<ol>\n<li>first</li>\n<li>second</li>\n</ol>"),
            "{h}"
        );
        assert!(h.contains("<td class=\"num\">2 | 3</td>"), "{h}");
        assert!(
            h.contains("<pre><code>let x = 1 &lt; 2;</code></pre>"),
            "{h}"
        );
        assert!(h.contains("<blockquote><p>quoted</p></blockquote>"), "{h}");
        assert!(
            h.contains("<a href=\"https://example.org\">link</a>"),
            "{h}"
        );
        assert!(!h.contains("javascript:alert(1)\""), "{h}");
    }
}
