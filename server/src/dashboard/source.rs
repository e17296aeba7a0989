//! A flag's source, with syntax colours from the grammar's own token
//! lexer (the one the editors use), when the server serves a directory of
//! `.flag` files it can read.

use std::path::Path;

use maud::{html, Markup};
use vexil_grammar::lex::{self, TokenKind};
use vexil_ir::Location;

/// Larger files are not shown.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The declaration at `location` (its doc comment, through its closing
/// brace) in the served directory `root`, if it can be read: the source,
/// and the excerpt's start and end.
pub fn excerpt(root: &str, location: &Location) -> Option<(String, usize, usize)> {
    let root = std::fs::canonicalize(root).ok()?;
    // The bundle names a file as the path the server was given joined
    // with the file's, or relative to the directory; only files inside the
    // served directory are read.
    let named = Path::new(&location.file);
    let path = [named.to_path_buf(), root.join(named)]
        .into_iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .find(|p| p.starts_with(&root) && p.is_file())?;
    if std::fs::metadata(&path).ok()?.len() > MAX_FILE_BYTES {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let name_at = location.start as usize;
    let line_start = text.get(..name_at)?.rfind('\n').map_or(0, |i| i + 1);
    let end = declaration_end(&text, line_start)?;
    let start = doc_start(&text, line_start);
    Some((text, start, end))
}

/// The declaration at `location`, when the server serves a directory.
pub fn served_excerpt(
    source: &crate::state::SourceInfo,
    location: Option<&Location>,
) -> Option<(String, usize, usize)> {
    location
        .filter(|_| source.kind == "directory")
        .and_then(|l| excerpt(&source.path, l))
}

/// A page's Source section: the file and line, and the coloured excerpt.
pub fn section(location: Option<&Location>, excerpt: Option<&(String, usize, usize)>) -> Markup {
    html! {
        section {
            h2 { "Source" }
            @if let Some(l) = location { p.location { code { (l.file) ":" (l.line) } } }
            @match excerpt {
                Some((text, start, end)) => { (highlighted(text, *start, *end)) }
                None => { p.muted { "The source is shown when the server serves a directory of .flag files." } }
            }
        }
    }
}

/// Where the item starting at `from` ends: after the brace that closes its
/// first `{` (braces in strings and comments do not count).
fn declaration_end(text: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for token in lex::Lexer::new(text, from, text.len()) {
        if token.kind != TokenKind::Punct {
            continue;
        }
        match token.text(text) {
            "{" => depth += 1,
            "}" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(token.span.range().end);
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the `///` lines right above `at` (a line start) begin.
fn doc_start(text: &str, mut at: usize) -> usize {
    loop {
        let Some(prev_end) = at.checked_sub(1) else {
            return at;
        };
        let prev_start = text
            .get(..prev_end)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        match text.get(prev_start..prev_end) {
            Some(line) if line.trim_start().starts_with("///") => at = prev_start,
            _ => return at,
        }
    }
}

/// `text[start..end]` as coloured HTML (`<span class="tok-…">`).
pub fn highlighted(text: &str, start: usize, end: usize) -> Markup {
    let tokens = lex::tokens(text, start, end);
    let mut pieces: Vec<(Option<&'static str>, &str)> = Vec::new();
    let mut at = start;
    for token in &tokens {
        let range = token.span.range();
        if range.start > at {
            pieces.push((None, text.get(at..range.start).unwrap_or("")));
        }
        let word = token.text(text);
        let class = match token.kind {
            TokenKind::Ident if lex::is_keyword(word) => "tok-keyword",
            TokenKind::Ident => "tok-name",
            TokenKind::String => "tok-string",
            TokenKind::Literal => "tok-literal",
            TokenKind::Comment { doc: true } => "tok-doc",
            TokenKind::Comment { doc: false } => "tok-comment",
            TokenKind::Punct => "tok-punct",
        };
        pieces.push((Some(class), word));
        at = at.max(range.end);
    }
    if at < end {
        pieces.push((None, text.get(at..end).unwrap_or("")));
    }
    html! {
        pre.source { code {
            @for (class, piece) in pieces {
                @if let Some(c) = class { span class=(c) { (piece) } } @else { (piece) }
            }
        } }
    }
}
