//! A forgiving lexer for editor features that must work on text that does
//! not parse: completion reads the tokens before the cursor, semantic tokens
//! colour keywords and literals of broken items too. It never fails; what it
//! cannot classify becomes `Punct`.

use vexil_grammar::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A name or a keyword: `new-checkout`, `when`, `user`.
    Ident,
    /// A quoted string, possibly unterminated (it then ends at the line end).
    String,
    /// Anything starting with a digit or a minus and a digit: numbers,
    /// dates, timestamps, versions, percentages, durations.
    Literal,
    Comment {
        doc: bool,
    },
    /// Operators and brackets: `{`, `==`, `=>`, `.`, `?`.
    Punct,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.span.range()).unwrap_or("")
    }
}

/// Words the grammar reserves or uses as keywords somewhere.
pub const KEYWORDS: &[&str] = &[
    "context",
    "segment",
    "flag",
    "experiment",
    "test",
    "key",
    "list",
    "enum",
    "and",
    "or",
    "not",
    "in",
    "is",
    "set",
    "true",
    "false",
    "now",
    "when",
    "from",
    "until",
    "for",
    "by",
    "split",
    "kind",
    "owner",
    "tags",
    "expires",
    "default",
    "enabled",
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
];

/// The string operators, which read like keywords.
pub const STRING_OPS: &[&str] = &[
    "starts_with",
    "ends_with",
    "contains",
    "matches",
    "istarts_with",
    "iends_with",
    "icontains",
    "imatches",
];

pub const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "float",
    "string",
    "semver",
    "timestamp",
    "json",
];

/// Tokens of `source[start..end]`, with spans in `source`'s offsets.
pub fn tokens(source: &str, start: usize, end: usize) -> Vec<Token> {
    let bytes = source.as_bytes();
    let end = end.min(bytes.len());
    let mut out = Vec::new();
    let mut i = start.min(end);
    while i < end {
        let b = bytes[i];
        let from = i;
        let kind = if b.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let doc = bytes.get(i + 2) == Some(&b'/');
            i = line_end(bytes, i, end);
            TokenKind::Comment { doc }
        } else if b == b'"' {
            i += 1;
            while i < end && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i < end && bytes[i] == b'"' {
                i += 1;
            }
            TokenKind::String
        } else if b.is_ascii_digit()
            || (b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i += 1;
            while i < end && is_literal_byte(bytes[i]) {
                i += 1;
            }
            TokenKind::Literal
        } else if b.is_ascii_alphabetic() || b == b'_' {
            i = ident_end(bytes, i, end);
            TokenKind::Ident
        } else {
            i += punct_len(&bytes[i..end]);
            TokenKind::Punct
        };
        // Never split a UTF-8 sequence: a stray non-ASCII byte is one token
        // up to the next character boundary.
        while i < end && !source.is_char_boundary(i) {
            i += 1;
        }
        out.push(Token {
            kind,
            span: Span::new(from, i.min(end)),
        });
    }
    out
}

fn line_end(bytes: &[u8], from: usize, end: usize) -> usize {
    bytes[from..end]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(end, |p| from + p)
}

fn is_literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'+' | b'-' | b'%' | b'_')
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The end of a name starting at `i`: letters, digits, `_` and inner `-`.
pub fn ident_end(bytes: &[u8], mut i: usize, end: usize) -> usize {
    while i < end {
        if is_ident_byte(bytes[i]) {
            i += 1;
        } else if bytes[i] == b'-' && i + 1 < end && is_ident_byte(bytes[i + 1]) {
            i += 2;
        } else {
            break;
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
    let mut start = offset;
    while start > 0 && (is_ident_byte(bytes[start - 1]) || bytes[start - 1] == b'-') {
        start -= 1;
    }
    // A name starts with a letter or `_`, and never with a hyphen.
    while start < offset && !(bytes[start].is_ascii_alphabetic() || bytes[start] == b'_') {
        start += 1;
    }
    if start >= bytes.len() || !(bytes[start].is_ascii_alphabetic() || bytes[start] == b'_') {
        return None;
    }
    let end = ident_end(bytes, start, bytes.len());
    (end >= offset && end > start).then(|| Span::new(start, end))
}

/// Whether `name` can be written as a name (and so be renamed to).
pub fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
            ident_end(bytes, 0, bytes.len()) == bytes.len()
        }
        _ => false,
    }
}

/// The words that cannot be names (LANGUAGE.md, "reserved").
pub const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "set", "true", "false", "now", "when", "from", "until", "for",
    "by", "split",
];

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
}
