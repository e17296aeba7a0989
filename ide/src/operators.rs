//! What the operators and keywords of a condition mean, in a line each:
//! the hover over one, and the detail of its completion. One table, so the
//! two never disagree.

use vexil_grammar::lex::{self, TokenKind};
use vexil_grammar::Span;

/// The words and signs of conditions, with what they do.
const OPERATORS: &[(&str, &str)] = &[
    ("==", "equal: any two operands of one type (int and float mix)"),
    ("!=", "not equal"),
    ("<", "less than: numbers, versions, timestamps, enums (by declaration order)"),
    ("<=", "less than or equal"),
    (">", "greater than: numbers, versions, timestamps, enums (by declaration order)"),
    (">=", "greater than or equal"),
    (
        "in",
        "membership in a literal list, or in a list field; an `ip` field in CIDR ranges (`[\"10.0.0.0/8\", \"2001:db8::/32\"]`)",
    ),
    ("not in", "not a member of a literal list"),
    ("starts_with", "the string starts with the other"),
    ("ends_with", "the string ends with the other"),
    ("contains", "the string contains the other; a list field contains the value"),
    ("matches", "the string matches a regular expression (Rust `regex` syntax)"),
    (
        "iequals",
        "equal strings, ignoring case (Unicode lower case, no full folding)",
    ),
    (
        "iin",
        "`in` a literal list of strings, ignoring case (Unicode lower case)",
    ),
    ("not iin", "not `iin` the list: no string of it, ignoring case"),
    ("istarts_with", "`starts_with`, ignoring case"),
    ("iends_with", "`ends_with`, ignoring case"),
    ("icontains", "`contains`, ignoring case"),
    ("imatches", "`matches`, ignoring case"),
    (
        "contains any",
        "the list field holds at least one of the listed values (false for `[]`)",
    ),
    (
        "contains all",
        "the list field holds every one of the listed values (true for `[]`)",
    ),
    ("is set", "the optional field is present; never unknown"),
    ("is not set", "the optional field is absent; never unknown"),
    ("and", "both hold; stops at the first false"),
    ("or", "either holds; stops at the first true"),
    ("not", "negation; `not unknown` is unknown"),
    (
        "now",
        "the evaluation time (a timestamp); `now - 30d` and `now + 1h` move it by a duration (`s`, `m`, `h`, `d`, `w`)",
    ),
];

/// What `word` does in a condition.
pub(crate) fn describe(word: &str) -> Option<&'static str> {
    OPERATORS.iter().find(|(w, _)| *w == word).map(|(_, d)| *d)
}

/// A duration's length in words: `30d` is "30 days".
fn duration_words(text: &str) -> Option<String> {
    let (n, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    let unit = match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        _ => return None,
    };
    Some(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
}

/// The operator or keyword at `offset` in `text`, with its description in
/// Markdown; `now - 30d` as a whole, with its duration in words.
pub(crate) fn hover_at(text: &str, offset: usize) -> Option<(Span, String)> {
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text
        .get(offset..)?
        .find('\n')
        .map_or(text.len(), |i| offset + i);
    let toks: Vec<lex::Token> = lex::tokens(text, line_start, line_end)
        .into_iter()
        .filter(|t| !matches!(t.kind, TokenKind::Comment { .. } | TokenKind::String))
        .collect();
    let at = toks
        .iter()
        .position(|t| (t.span.start as usize) <= offset && offset <= t.span.end as usize)?;
    let word = |i: usize| toks.get(i).map(|t| t.text(text));
    // `now - 30d`, with the cursor on any of its three tokens.
    let now_at = (at.saturating_sub(2)..=at)
        .find(|&i| word(i) == Some("now") && matches!(word(i + 1), Some("-" | "+")) && i + 2 >= at);
    if let Some(i) = now_at {
        if let (Some(sign), Some(amount)) = (word(i + 1), word(i + 2)) {
            let span = toks.get(i)?.span.to(toks.get(i + 2)?.span);
            let moved = match duration_words(amount) {
                Some(d) if sign == "-" => format!("{d} before the evaluation time"),
                Some(d) => format!("{d} after the evaluation time"),
                None => "the evaluation time moved by a duration: a whole number and a unit (`s`, `m`, `h`, `d`, `w`)".to_string(),
            };
            return Some((
                span,
                format!("```vexil\nnow {sign} {amount}\n```\n\nA timestamp: {moved}.\n"),
            ));
        }
    }
    let tok = toks.get(at)?;
    // Two-word operators read as one.
    let (span, key) = match (word(at), word(at + 1), at.checked_sub(1).and_then(word)) {
        (Some("is"), Some("not"), _) => (
            tok.span.to(toks.get(at + 2)?.span),
            "is not set".to_string(),
        ),
        (Some("is"), Some("set"), _) => (tok.span.to(toks.get(at + 1)?.span), "is set".to_string()),
        (Some("not"), Some("in"), _) => (tok.span.to(toks.get(at + 1)?.span), "not in".to_string()),
        (Some("in"), _, Some("not")) => (toks.get(at - 1)?.span.to(tok.span), "not in".to_string()),
        (Some("not"), Some("iin"), _) => {
            (tok.span.to(toks.get(at + 1)?.span), "not iin".to_string())
        }
        (Some("iin"), _, Some("not")) => {
            (toks.get(at - 1)?.span.to(tok.span), "not iin".to_string())
        }
        (Some("contains"), Some(q @ ("any" | "all")), _) => {
            (tok.span.to(toks.get(at + 1)?.span), format!("contains {q}"))
        }
        (Some(q @ ("any" | "all")), _, Some("contains")) => {
            (toks.get(at - 1)?.span.to(tok.span), format!("contains {q}"))
        }
        (Some(w), _, _) => (tok.span, w.to_string()),
        _ => return None,
    };
    let what = describe(&key)?;
    Some((
        span,
        format!("```vexil\n{key}\n```\n\n{}.\n", capitalise(what)),
    ))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
