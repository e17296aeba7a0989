//! The tokens of the language, found by a forgiving lexer beside the parser,
//! and the words the language reserves or uses as keywords.
//!
//! The parser (pest) skips comments; this lexer finds them back for the
//! formatter and for doc comments, and gives editor features the tokens of
//! text that does not parse (completion reads the tokens before the cursor;
//! semantic tokens colour broken items too). It never fails: what it cannot
//! classify becomes `Punct`.

use crate::syntax::{Comment, Doc, Span};

/// The words that cannot be names: the grammar's `keyword` rule in
/// `vexil.pest` (LANGUAGE.md, "reserved").
pub const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "set", "true", "false", "now", "when", "from", "until", "for",
    "by", "split",
];

/// The words an item starts with.
pub const ITEM_KEYWORDS: &[&str] = &["context", "segment", "flag", "experiment", "test"];

/// Words that are keywords where the grammar expects them (properties,
/// types, test expectations, metric roles) and may be names elsewhere.
pub const CONTEXTUAL_KEYWORDS: &[&str] = &[
    "key",
    "list",
    "enum",
    "kind",
    "owner",
    "tags",
    "expires",
    "default",
    "enabled",
    "client",
    "salt",
    "requires",
    "variants",
    "rule",
    "unit",
    "layer",
    "traffic",
    "audience",
    "start",
    "end",
    "control",
    "metrics",
    "planning",
    "within",
    "threshold",
    "primary",
    "secondary",
    "guardrail",
    "increase",
    "decrease",
    "expect",
    "variant",
    "reason",
    "error",
    "stage",
    "guard",
    "must",
    "min",
    "sample",
    "per",
];

/// The string operators, which read like keywords (with `iin`, `in`
/// ignoring case): contextual, so each is still a valid name.
pub const STRING_OPS: &[&str] = &[
    "starts_with",
    "ends_with",
    "contains",
    "matches",
    "istarts_with",
    "iends_with",
    "icontains",
    "imatches",
    "iequals",
    "iin",
];

/// The names of the primitive types of flags and fields.
pub const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "float",
    "string",
    "semver",
    "timestamp",
    "ip",
    "json",
];

/// Whether the grammar uses `word` as a keyword somewhere: reserved, an
/// item keyword or a contextual one.
pub fn is_keyword(word: &str) -> bool {
    [RESERVED, ITEM_KEYWORDS, CONTEXTUAL_KEYWORDS]
        .iter()
        .any(|words| words.contains(&word))
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A name or a keyword: `new-checkout`, `when`, `user`.
    Ident,
    /// A quoted string, possibly unterminated (it then ends at the line end).
    String,
    /// Anything starting with a digit or a minus and a digit: numbers,
    /// dates, timestamps, versions, percentages, durations.
    Literal,
    /// A comment to the end of its line; `doc` for a `///` doc comment
    /// (but not `////`).
    Comment {
        /// Whether it is a doc comment.
        doc: bool,
    },
    /// Operators and brackets: `{`, `==`, `=>`, `.`, `?`.
    Punct,
}

/// A token and where it stands in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is, in the source's byte offsets.
    pub span: Span,
}

impl Token {
    /// The token's text in `source`.
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.span.range()).unwrap_or("")
    }
}

/// Tokens of `source[start..end]`, with spans in `source`'s offsets.
pub fn tokens(source: &str, start: usize, end: usize) -> Vec<Token> {
    Lexer::new(source, start, end).collect()
}

/// The tokens of part of a source, one at a time.
pub struct Lexer<'s> {
    source: &'s str,
    at: usize,
    end: usize,
}

impl<'s> Lexer<'s> {
    /// Lexes `source[start..end]` (clamped to the source).
    pub fn new(source: &'s str, start: usize, end: usize) -> Lexer<'s> {
        let end = end.min(source.len());
        Lexer {
            source,
            at: start.min(end),
            end,
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let bytes = self.source.as_bytes();
        let end = self.end;
        let mut i = self.at;
        while i < end && bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let from = i;
        let b = *bytes.get(i).filter(|_| i < end)?;
        let at = |j: usize| bytes.get(j).copied();
        let kind = if b == b'/' && at(i + 1) == Some(b'/') {
            let doc = at(i + 2) == Some(b'/') && at(i + 3) != Some(b'/');
            i = line_end(bytes, i, end);
            TokenKind::Comment { doc }
        } else if b == b'"' {
            i += 1;
            while i < end && !matches!(at(i), Some(b'"' | b'\n')) {
                i += if at(i) == Some(b'\\') { 2 } else { 1 };
            }
            if i < end && at(i) == Some(b'"') {
                i += 1;
            }
            TokenKind::String
        } else if b.is_ascii_digit() || (b == b'-' && at(i + 1).is_some_and(|c| c.is_ascii_digit()))
        {
            i += 1;
            while i < end && at(i).is_some_and(is_literal_byte) {
                i += 1;
            }
            TokenKind::Literal
        } else if b.is_ascii_alphabetic() || b == b'_' {
            i = ident_end(bytes, i, end);
            TokenKind::Ident
        } else {
            i += punct_len(bytes.get(i..end).unwrap_or_default());
            TokenKind::Punct
        };
        // Never split a UTF-8 sequence: a stray non-ASCII byte is one token
        // up to the next character boundary.
        while i < end && !self.source.is_char_boundary(i) {
            i += 1;
        }
        let i = i.min(end);
        self.at = i;
        Some(Token {
            kind,
            span: Span::new(from, i),
        })
    }
}

fn line_end(bytes: &[u8], from: usize, end: usize) -> usize {
    bytes
        .get(from..end)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(end, |p| from + p)
}

fn is_literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'+' | b'-' | b'%' | b'_')
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// The end of a name starting at `i`: letters, digits, `_` and inner `-`.
pub fn ident_end(bytes: &[u8], mut i: usize, end: usize) -> usize {
    let end = end.min(bytes.len());
    while i < end {
        match bytes.get(i..end) {
            Some([b, ..]) if is_ident_byte(*b) => i += 1,
            Some([b'-', b, ..]) if is_ident_byte(*b) => i += 2,
            _ => break,
        }
    }
    i
}

fn punct_len(rest: &[u8]) -> usize {
    match rest {
        [b'=', b'=' | b'>', ..] | [b'!' | b'<' | b'>', b'=', ..] => 2,
        _ => 1,
    }
}

/// The name at or just before `offset` (the cursor may sit at its end).
pub fn word_at(source: &str, offset: usize) -> Option<Span> {
    let bytes = source.as_bytes();
    let offset = offset.min(bytes.len());
    let before = |i: usize| i.checked_sub(1).and_then(|j| bytes.get(j).copied());
    let mut start = offset;
    while before(start).is_some_and(|b| is_ident_byte(b) || b == b'-') {
        start -= 1;
    }
    // A name starts with a letter or `_`, and never with a hyphen.
    while start < offset && !bytes.get(start).is_some_and(|&b| is_ident_start(b)) {
        start += 1;
    }
    if !bytes.get(start).is_some_and(|&b| is_ident_start(b)) {
        return None;
    }
    let end = ident_end(bytes, start, bytes.len());
    (end >= offset && end > start).then(|| Span::new(start, end))
}

/// Whether `name` can be written as a name (and so be renamed to).
pub fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match bytes.first() {
        Some(&b) if is_ident_start(b) => ident_end(bytes, 0, bytes.len()) == bytes.len(),
        _ => false,
    }
}

/// Every `//` comment outside string literals, in source order.
pub fn lex_comments(source: &str) -> Vec<Comment> {
    Lexer::new(source, 0, source.len())
        .filter_map(|token| {
            let TokenKind::Comment { doc } = token.kind else {
                return None;
            };
            let text = token.text(source);
            let body = text.get(if doc { 3 } else { 2 }..).unwrap_or("");
            Some(Comment {
                span: token.span,
                is_doc: doc,
                text: body.trim_end().to_string(),
            })
        })
        .collect()
}

/// The doc comment lines directly above `start`: consecutive `///` lines
/// with nothing but whitespace between them and the declaration.
pub fn doc_before(source: &str, comments: &[Comment], start: u32) -> Option<Doc> {
    let mut idx = comments.partition_point(|c| c.span.end <= start);
    let mut cursor = start as usize;
    let mut lines = Vec::new();
    while let Some(c) = idx.checked_sub(1).and_then(|i| comments.get(i)) {
        let between = source.get(c.span.end as usize..cursor)?;
        if !c.is_doc || !between.trim().is_empty() {
            break;
        }
        lines.push(c.text.clone());
        cursor = c.span.start as usize;
        idx -= 1;
    }
    if lines.is_empty() {
        None
    } else {
        lines.reverse();
        Some(Doc { lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        tokens(src, 0, src.len())
            .into_iter()
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    #[test]
    fn lexes_names_literals_and_operators() {
        let src = "rule a-b: when user.v >= 1.2.3 => 25% by user.id // note";
        let got = kinds(src);
        assert_eq!(got[1], (TokenKind::Ident, "a-b"));
        assert!(got.contains(&(TokenKind::Punct, ">=")));
        assert!(got.contains(&(TokenKind::Literal, "1.2.3")));
        assert!(got.contains(&(TokenKind::Punct, "=>")));
        assert!(got.contains(&(TokenKind::Literal, "25%")));
        assert_eq!(
            got.last(),
            Some(&(TokenKind::Comment { doc: false }, "// note"))
        );
    }

    #[test]
    fn unterminated_strings_end_at_the_line() {
        let got = kinds("owner \"team\nkind release");
        assert_eq!(got[1], (TokenKind::String, "\"team"));
        assert_eq!(got[2], (TokenKind::Ident, "kind"));
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        let src = "x istarts_with \"münchen\" ü";
        let got = kinds(src);
        assert_eq!(got[2], (TokenKind::String, "\"münchen\""));
        assert_eq!(got[3], (TokenKind::Punct, "ü"));
    }

    #[test]
    fn finds_the_word_under_the_cursor() {
        let src = "requires new-checkout ==";
        assert_eq!(word_at(src, 12), Some(Span::new(9, 21)));
        assert_eq!(word_at(src, 21), Some(Span::new(9, 21)));
        assert_eq!(word_at(src, 22), None);
        assert!(is_name("new-checkout"));
        assert!(!is_name("new-"));
        assert!(!is_name("-x"));
        assert!(!is_name("9x"));
    }

    #[test]
    fn finds_comments_outside_strings_only() {
        let src = "flag a: string { // one\n default \"http://x\" /// two\n}\n";
        let comments = lex_comments(src);
        assert_eq!(comments.len(), 2);
        assert_eq!(comments[0].text, " one");
        assert!(!comments[0].is_doc);
        assert_eq!(comments[1].text, " two");
        assert!(comments[1].is_doc);
    }

    #[test]
    fn four_slashes_are_a_plain_comment() {
        let src = "//// banner\n/// doc\n";
        let docs: Vec<bool> = lex_comments(src).iter().map(|c| c.is_doc).collect();
        assert_eq!(docs, [false, true]);
        assert_eq!(
            kinds(src)[0],
            (TokenKind::Comment { doc: false }, "//// banner")
        );
    }

    #[test]
    fn doc_comments_attach_only_when_adjacent() {
        let src = "/// a\n/// b\nflag x: bool {}\n/// lost\n\n// plain\nflag y: bool {}";
        let comments = lex_comments(src);
        let x = src.find("flag x").unwrap() as u32;
        let y = src.find("flag y").unwrap() as u32;
        let doc = doc_before(src, &comments, x).unwrap();
        assert_eq!(doc.text(), "a\nb");
        assert!(doc_before(src, &comments, y).is_none());
    }

    /// The word lists say what the grammar does: a reserved word is refused
    /// as a name with the reserved-word message, every other keyword is a
    /// valid name.
    #[test]
    fn reserved_words_are_exactly_those_the_grammar_refuses_as_names() {
        for word in RESERVED {
            let file = crate::parse(&format!("flag {word}: bool {{}}\n"));
            let messages: Vec<&str> = file.errors.iter().map(|e| e.message.as_str()).collect();
            assert_eq!(
                messages,
                [format!("`{word}` is a reserved word and cannot be a name")],
                "{word}"
            );
        }
        for word in ITEM_KEYWORDS
            .iter()
            .chain(CONTEXTUAL_KEYWORDS)
            .chain(STRING_OPS)
        {
            let file = crate::parse(&format!("flag {word}: bool {{}}\n"));
            assert!(file.errors.is_empty(), "{word}: {:?}", file.errors);
            assert!(is_keyword(word) || STRING_OPS.contains(word));
        }
        assert!(RESERVED.iter().all(|w| is_keyword(w)));
        assert!(!is_keyword("user"));
    }
}
