//! Markdown as a dashboard draws it: block structure (headings, paragraphs, list items,
//! quotes, rules, code) laid out as wrapped lines of text; inline markup (emphasis, code
//! ticks, links, HTML tags) reduced to its text. Not a full CommonMark reader: what a
//! dashboard note uses, drawn legibly instead of as raw markup.

use super::fonts::{text_width, truncate_to_width};
use super::svg::{Anchor, Font, Svg};

/// One block of text before wrapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// Level 1..=6.
    Heading(u8, String),
    Paragraph(String),
    /// A list item: its marker ("•" or "3.") and text; `depth` from indentation.
    Item {
        marker: String,
        depth: usize,
        text: String,
    },
    Quote(String),
    Code(String),
    Rule,
}

/// Inline markup reduced to its text: `[text](url)` → text, `**x**`/`__x__`/`*x*`/`_x_`
/// /`` `x` `` → x, `<tags>` dropped, `&amp;`-style entities for the common five decoded.
pub(crate) fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '!' if chars.get(i + 1) == Some(&'[') => {
                i += 1;
            }
            '[' => {
                // [text](url): keep the text.
                if let Some(close) = chars[i + 1..].iter().position(|&c| c == ']') {
                    let end = i + 1 + close;
                    if chars.get(end + 1) == Some(&'(')
                        && let Some(paren) = chars[end + 2..].iter().position(|&c| c == ')')
                    {
                        out.extend(&chars[i + 1..end]);
                        i = end + 2 + paren + 1;
                        continue;
                    }
                }
                out.push(c);
                i += 1;
            }
            '<' => match chars[i + 1..].iter().position(|&c| c == '>') {
                Some(close)
                    if chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_alphabetic() || *n == '/' || *n == '!') =>
                {
                    let tag: String = chars[i + 1..i + 1 + close].iter().collect();
                    let name = tag.trim_start_matches('/').to_ascii_lowercase();
                    if name.starts_with("br") || name.starts_with('p') || name.starts_with("div") {
                        out.push(' ');
                    }
                    i += close + 2;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            },
            '*' | '_' | '`' | '~' => {
                // Emphasis and code markers; a lone `_` inside a word (snake_case) stays.
                let inside_word = c == '_'
                    && i > 0
                    && chars[i - 1].is_alphanumeric()
                    && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                if inside_word {
                    out.push(c);
                }
                i += 1;
            }
            '\\' if chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) => {
                out.push(chars[i + 1]);
                i += 2;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The blocks of a markdown text.
pub(crate) fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para: Vec<String> = Vec::new();
    let mut code: Option<Vec<String>> = None;
    let flush = |para: &mut Vec<String>, out: &mut Vec<Block>| {
        if !para.is_empty() {
            let t = plain(&para.join(" "));
            if !t.is_empty() {
                out.push(Block::Paragraph(t));
            }
            para.clear();
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            match code.take() {
                Some(lines) => out.extend(lines.into_iter().map(Block::Code)),
                None => {
                    flush(&mut para, &mut out);
                    code = Some(Vec::new());
                }
            }
            continue;
        }
        if let Some(lines) = code.as_mut() {
            lines.push(line.replace('\t', "    "));
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut para, &mut out);
            continue;
        }
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with([' ', '\t']) {
            flush(&mut para, &mut out);
            let t = plain(trimmed[hashes..].trim().trim_end_matches('#'));
            out.push(Block::Heading(hashes as u8, t));
            continue;
        }
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() >= 3
            && (compact.chars().all(|c| c == '-')
                || compact.chars().all(|c| c == '*')
                || compact.chars().all(|c| c == '_'))
        {
            flush(&mut para, &mut out);
            out.push(Block::Rule);
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let depth = indent / 2;
        let bullet = ["- ", "* ", "+ "]
            .iter()
            .find_map(|m| trimmed.strip_prefix(m));
        if let Some(rest) = bullet {
            flush(&mut para, &mut out);
            let rest = rest
                .strip_prefix("[ ] ")
                .map(|r| format!("☐ {r}"))
                .or_else(|| rest.strip_prefix("[x] ").map(|r| format!("☑ {r}")))
                .unwrap_or_else(|| rest.to_string());
            out.push(Block::Item {
                marker: "•".into(),
                depth,
                text: plain(&rest),
            });
            continue;
        }
        let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
        if digits > 0
            && digits < 10
            && (trimmed[digits..].starts_with(". ") || trimmed[digits..].starts_with(") "))
        {
            flush(&mut para, &mut out);
            out.push(Block::Item {
                marker: format!("{}.", &trimmed[..digits]),
                depth,
                text: plain(&trimmed[digits + 2..]),
            });
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('>') {
            flush(&mut para, &mut out);
            out.push(Block::Quote(plain(rest)));
            continue;
        }
        para.push(trimmed.to_string());
    }
    if let Some(lines) = code {
        out.extend(lines.into_iter().map(Block::Code));
    }
    flush(&mut para, &mut out);
    out
}

/// Words of `text` in lines no wider than `max` pixels (a word wider than a line is cut).
pub(crate) fn wrap(text: &str, size: f64, bold: bool, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size, bold) <= max || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        }
        if text_width(&line, size, bold) > max {
            lines.push(truncate_to_width(&line, size, bold, max));
            line.clear();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

const TEXT: &str = "#1f2937";
const MUTED: &str = "#4b5563";
const RULE: &str = "#d1d5db";

/// Draw `text` into a cell `width` pixels wide, body text `size` pixels, padded by `pad`.
/// Lines past the cell's bottom are left for the caller's clip.
pub(crate) fn draw(out: &mut Svg, text: &str, width: f64, size: f64, pad: f64) {
    let inner = (width - 2.0 * pad).max(10.0);
    let mut y = pad;
    for block in blocks(text) {
        match block {
            Block::Heading(level, t) => {
                let s = size
                    * match level {
                        1 => 1.7,
                        2 => 1.4,
                        3 => 1.2,
                        _ => 1.05,
                    };
                y += s * 0.3;
                for line in wrap(&t, s, true, inner) {
                    out.text(
                        pad,
                        y + s * 0.6,
                        &line,
                        Font::new(s, "#111827").bold(),
                        Anchor::Start,
                    );
                    y += s * 1.3;
                }
                y += s * 0.2;
            }
            Block::Paragraph(t) => {
                for line in wrap(&t, size, false, inner) {
                    out.text(
                        pad,
                        y + size * 0.6,
                        &line,
                        Font::new(size, TEXT),
                        Anchor::Start,
                    );
                    y += size * 1.45;
                }
                y += size * 0.5;
            }
            Block::Item {
                marker,
                depth,
                text,
            } => {
                let indent = pad + size * 1.2 * depth.min(6) as f64;
                let gap = text_width(&marker, size, false).max(size * 0.6) + size * 0.5;
                out.text(
                    indent,
                    y + size * 0.6,
                    &marker,
                    Font::new(size, TEXT),
                    Anchor::Start,
                );
                for line in wrap(&text, size, false, (inner - (indent - pad) - gap).max(10.0)) {
                    out.text(
                        indent + gap,
                        y + size * 0.6,
                        &line,
                        Font::new(size, TEXT),
                        Anchor::Start,
                    );
                    y += size * 1.45;
                }
                y += size * 0.15;
            }
            Block::Quote(t) => {
                let top = y;
                for line in wrap(&t, size, false, inner - size) {
                    out.text(
                        pad + size,
                        y + size * 0.6,
                        &line,
                        Font::new(size, MUTED),
                        Anchor::Start,
                    );
                    y += size * 1.45;
                }
                out.rect(pad, top, size * 0.2, y - top, RULE, "");
                y += size * 0.5;
            }
            Block::Code(line) => {
                let s = size * 0.9;
                let t = truncate_to_width(&line, s, false, inner);
                out.text(pad, y + s * 0.6, &t, Font::new(s, MUTED), Anchor::Start);
                y += s * 1.4;
            }
            Block::Rule => {
                y += size * 0.5;
                out.hline(pad, pad + inner, y, RULE, 1.0);
                y += size * 0.8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            plain("**Bold** and _it_ with `code`"),
            "Bold and it with code"
        );
        assert_eq!(
            plain("see [the docs](https://x.y/z) now"),
            "see the docs now"
        );
        assert_eq!(plain("<div style=\"a\"><h1>Hi</h1></div>"), "Hi");
        assert_eq!(
            plain("snake_case_name &amp; 3 < 4"),
            "snake_case_name & 3 < 4"
        );
    }

    #[test]
    fn blocks_are_read() {
        let b = blocks("# Shop\nMonthly\ntrends.\n\n- one\n  - two\n1. first\n---\n> quoted");
        assert_eq!(b[0], Block::Heading(1, "Shop".into()));
        assert_eq!(b[1], Block::Paragraph("Monthly trends.".into()));
        assert_eq!(
            b[3],
            Block::Item {
                marker: "•".into(),
                depth: 1,
                text: "two".into()
            }
        );
        assert!(matches!(&b[4], Block::Item { marker, .. } if marker == "1."));
        assert_eq!(b[5], Block::Rule);
        assert_eq!(b[6], Block::Quote("quoted".into()));
        assert_eq!(
            blocks("#hashtag"),
            vec![Block::Paragraph("#hashtag".into())]
        );
    }

    #[test]
    fn long_text_wraps_within_the_width() {
        let lines = wrap(&"word ".repeat(40), 12.0, false, 200.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| text_width(l, 12.0, false) <= 200.0));
    }

    #[test]
    fn drawn_text_has_no_markup() {
        let mut s = Svg::new();
        draw(&mut s, "# Title\n- **item**", 300.0, 12.0, 8.0);
        assert!(s.out.contains(">Title<") && s.out.contains(">item<") && s.out.contains("•"));
        assert!(!s.out.contains("**") && !s.out.contains("# "));
        assert!(s.out.contains("font-weight=\"bold\""));
    }
}
