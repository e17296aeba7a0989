//! Where the comments and the string literals of a source file are, for
//! `vexil refs`: a small lexer per family of languages, enough to tell a
//! flag key written as a literal from one in a comment. It is not a parser:
//! it knows quotes, escapes and comments, nothing else.

use std::ops::Range;

/// The languages searched, by file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// TypeScript and JavaScript: `'`, `"` and template literals.
    Script,
    /// Python: `#` comments, prefixes (`f"..."`), triple quotes.
    Python,
    /// Go: raw strings in backquotes, runes in `'`.
    Go,
    /// Java (and Kotlin): chars in `'`, text blocks in `"""`.
    Java,
    /// Rust: chars and lifetimes in `'`, raw strings `r#"..."#`.
    Rust,
}

impl Lang {
    /// The language of a file name, or `None` for files not searched.
    pub(crate) fn of(path: &std::path::Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "ts" | "tsx" | "mts" | "cts" | "js" | "jsx" | "mjs" | "cjs" => Lang::Script,
            "py" | "pyi" => Lang::Python,
            "go" => Lang::Go,
            "java" | "kt" | "kts" => Lang::Java,
            "rs" => Lang::Rust,
            _ => return None,
        })
    }
}

/// One string literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Literal {
    /// From its opening quote (or prefix) to after its closing quote.
    pub outer: Range<usize>,
    /// Its text between the quotes, escapes as written.
    pub content: Range<usize>,
    /// Its interpolations, in order: `${...}` in a template literal,
    /// `{...}` in a Python f-string, each from its opening to after its
    /// closing brace. The rest of the content is its literal parts.
    pub holes: Vec<Range<usize>>,
}

impl Literal {
    /// Where its first interpolation starts, if it has one.
    pub(crate) fn hole(&self) -> Option<usize> {
        self.holes.first().map(|h| h.start)
    }

    /// The interpolation `at` lies in.
    pub(crate) fn hole_at(&self, at: usize) -> Option<&Range<usize>> {
        self.holes.iter().find(|h| h.contains(&at))
    }

    /// The literal part around `at` (outside the holes): from the end of
    /// the hole before it (or the content's start) to the start of the
    /// hole after it (or the content's end).
    pub(crate) fn part_around(&self, at: usize) -> Range<usize> {
        let start = self
            .holes
            .iter()
            .filter(|h| h.end <= at)
            .map(|h| h.end)
            .next_back()
            .unwrap_or(self.content.start);
        let end = self
            .holes
            .iter()
            .find(|h| h.start >= at)
            .map_or(self.content.end, |h| h.start);
        start..end
    }
}

/// The comments and literals of one file, each in source order.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub comments: Vec<Range<usize>>,
    pub literals: Vec<Literal>,
}

impl Scan {
    /// Whether `at` lies inside a comment.
    pub(crate) fn in_comment(&self, at: usize) -> bool {
        let i = self.comments.partition_point(|c| c.end <= at);
        self.comments.get(i).is_some_and(|c| c.start <= at)
    }

    /// The literal whose outer range contains `at`.
    pub(crate) fn literal_at(&self, at: usize) -> Option<&Literal> {
        let i = self.literals.partition_point(|l| l.outer.end <= at);
        self.literals.get(i).filter(|l| l.outer.start <= at)
    }

    /// The literal starting exactly at `at` (its quote or prefix).
    pub(crate) fn literal_starting(&self, at: usize) -> Option<&Literal> {
        self.literal_at(at).filter(|l| l.outer.start == at)
    }
}

/// The comments and literals of `text` in `lang`.
pub(crate) fn scan(text: &[u8], lang: Lang) -> Scan {
    let mut out = Scan::default();
    let mut i = 0;
    let n = text.len();
    let at = |j: usize| text.get(j).copied().unwrap_or(0);
    while i < n {
        let c = text[i];
        let python = lang == Lang::Python;
        if python && c == b'#' || !python && c == b'/' && at(i + 1) == b'/' {
            let end = memchr_newline(text, i);
            out.comments.push(i..end);
            i = end;
        } else if !python && c == b'/' && at(i + 1) == b'*' {
            let end = find(text, i + 2, b"*/").map_or(n, |e| e + 2);
            out.comments.push(i..end);
            i = end;
        } else if c == b'"' || c == b'\'' || c == b'`' {
            i = match quoted(text, i, lang, &mut out.literals) {
                Some(next) => next,
                None => i + 1,
            };
        } else if lang == Lang::Rust && c == b'r' && !ident_before(text, i) {
            // A raw string: r"..." or r#"..."#.
            let mut hashes = 0;
            while at(i + 1 + hashes) == b'#' {
                hashes += 1;
            }
            if at(i + 1 + hashes) == b'"' {
                let open = i + 2 + hashes;
                let mut close = b"\"".to_vec();
                close.extend(std::iter::repeat_n(b'#', hashes));
                let end = find(text, open, &close).unwrap_or(n);
                out.literals.push(Literal {
                    outer: i..(end + close.len()).min(n),
                    content: open..end,
                    holes: Vec::new(),
                });
                i = (end + close.len()).min(n);
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The literal opened by the quote at `i`, pushed; the offset after it, or
/// `None` when the quote opens no literal (a Rust lifetime).
fn quoted(text: &[u8], i: usize, lang: Lang, literals: &mut Vec<Literal>) -> Option<usize> {
    let n = text.len();
    let at = |j: usize| text.get(j).copied().unwrap_or(0);
    let quote = text[i];
    match (lang, quote) {
        (Lang::Rust | Lang::Java | Lang::Go, b'\'') => {
            // A char or rune: 'x', '\n', '\u{1F600}'; in Rust otherwise a
            // lifetime or a label.
            let end = if at(i + 1) == b'\\' {
                find(text, i + 2, b"'")?
            } else {
                let len = char_len(at(i + 1));
                (at(i + 1 + len) == b'\'').then_some(i + 1 + len)?
            };
            return Some(end + 1);
        }
        (Lang::Python | Lang::Rust | Lang::Java, b'`') => return None,
        _ => {}
    }
    // Python's string prefixes (f, r, b, rb, fr...) are letters just before.
    let mut start = i;
    let mut format = false;
    if lang == Lang::Python {
        while start > 0 && text[start - 1].is_ascii_alphabetic() && i - start < 2 {
            start -= 1;
            format |= matches!(text[start], b'f' | b'F');
        }
        if start > 0 && is_ident(text[start - 1]) {
            start = i;
            format = false;
        }
    }
    let triple = matches!(lang, Lang::Python | Lang::Java)
        && at(i + 1) == quote
        && at(i + 2) == quote
        && quote != b'`';
    let (open, close_len) = if triple { (i + 3, 3) } else { (i + 1, 1) };
    let raw = quote == b'`' && lang == Lang::Go
        || lang == Lang::Python && text[start..i].iter().any(|c| matches!(c, b'r' | b'R'));
    let mut j = open;
    let end = loop {
        if j >= n {
            break n;
        }
        let c = text[j];
        if c == b'\\' && !raw {
            j += 2;
            continue;
        }
        if c == quote && (!triple || at(j + 1) == quote && at(j + 2) == quote) {
            break j;
        }
        // Only triple-quoted, template and raw Go strings span lines.
        if c == b'\n' && !triple && quote != b'`' {
            break j;
        }
        j += 1;
    };
    let content = open..end.min(n);
    let holes = if quote == b'`' && lang == Lang::Script {
        holes(text, content.clone(), true)
    } else if format {
        holes(text, content.clone(), false)
    } else {
        Vec::new()
    };
    let after = (end + close_len).min(n);
    literals.push(Literal {
        outer: start..after,
        content,
        holes,
    });
    Some(after)
}

/// The interpolations of a template literal (`${...}`, `template`) or a
/// Python f-string (`{...}`, where `{{` and `}}` are escaped braces),
/// braces counted so that `${ {a: 1} }` is one hole.
fn holes(text: &[u8], content: Range<usize>, template: bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut j = content.start;
    let at = |k: usize| if k < content.end { text[k] } else { 0 };
    while j < content.end {
        let c = text[j];
        if template && c == b'\\' {
            j += 2;
            continue;
        }
        let opens = if template {
            c == b'$' && at(j + 1) == b'{'
        } else {
            c == b'{'
        };
        if !template && (c == b'{' && at(j + 1) == b'{' || c == b'}' && at(j + 1) == b'}') {
            j += 2;
            continue;
        }
        if !opens {
            j += 1;
            continue;
        }
        let mut k = if template { j + 2 } else { j + 1 };
        let mut depth = 1;
        while k < content.end {
            match text[k] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        let end = (k + 1).min(content.end);
        out.push(j..end);
        j = end;
    }
    out
}

fn char_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

pub(crate) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

fn ident_before(text: &[u8], i: usize) -> bool {
    i > 0 && is_ident(text[i - 1])
}

fn memchr_newline(text: &[u8], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(text.len(), |p| from + p)
}

fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= text.len() {
        return None;
    }
    text[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(text: &str, lang: Lang) -> Vec<&str> {
        scan(text.as_bytes(), lang)
            .literals
            .iter()
            .map(|l| &text[l.content.clone()])
            .collect()
    }

    fn comments(text: &str, lang: Lang) -> Vec<&str> {
        scan(text.as_bytes(), lang)
            .comments
            .iter()
            .map(|c| &text[c.clone()])
            .collect()
    }

    #[test]
    fn script_literals_and_comments() {
        let text = "a('x', \"y\\\"z\") // \"not\"\n/* 'no' */ `t${v}` + 'q'";
        assert_eq!(literals(text, Lang::Script), ["x", "y\\\"z", "t${v}", "q"]);
        assert_eq!(comments(text, Lang::Script), ["// \"not\"", "/* 'no' */"]);
        let s = scan(text.as_bytes(), Lang::Script);
        let hole = text.find("${").expect("there")..text.find("}`").expect("there") + 1;
        assert_eq!(s.literals[2].holes, vec![hole]);
        assert!(s.in_comment(text.find("not").expect("there")));
        assert!(!s.in_comment(0));
    }

    #[test]
    fn holes_count_braces_and_skip_escaped_ones() {
        let text = "`a${ {b: 1} }c${d}` + f\"{{x}} {y} z\"";
        let s = scan(text.as_bytes(), Lang::Script);
        let holes: Vec<&str> = s.literals[0]
            .holes
            .iter()
            .map(|h| &text[h.clone()])
            .collect();
        assert_eq!(holes, ["${ {b: 1} }", "${d}"]);
        let c = text.find('c').expect("there");
        assert_eq!(&text[s.literals[0].part_around(c)], "c");
        let py = "f\"{{x}} {y} z\"";
        let s = scan(py.as_bytes(), Lang::Python);
        let holes: Vec<&str> = s.literals[0].holes.iter().map(|h| &py[h.clone()]).collect();
        assert_eq!(holes, ["{y}"]);
    }

    #[test]
    fn rust_lifetimes_chars_and_raw_strings() {
        let text = "fn f<'a>(x: &'a str) -> char { g(\"k\", r#\"raw \"q\"\"#, '\"') }";
        assert_eq!(literals(text, Lang::Rust), ["k", "raw \"q\""]);
    }

    #[test]
    fn python_prefixes_triple_quotes_and_hashes() {
        let text = "x = f\"new-{v}\"  # 'c'\ny = '''a\n\"b\"'''\nz = rb'\\d'";
        assert_eq!(literals(text, Lang::Python), ["new-{v}", "a\n\"b\"", "\\d"]);
        assert_eq!(comments(text, Lang::Python), ["# 'c'"]);
        let s = scan(text.as_bytes(), Lang::Python);
        assert_eq!(s.literals[0].hole(), Some(text.find('{').expect("there")));
        assert_eq!(s.literals[0].outer.start, text.find('f').expect("there"));
    }

    #[test]
    fn go_raw_strings_and_runes() {
        let text = "s := `a\"b` + \"c\" // d\nr := '\"'";
        assert_eq!(literals(text, Lang::Go), ["a\"b", "c"]);
    }
}
