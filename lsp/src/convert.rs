//! Between the compiler's byte offsets and LSP's positions, which count
//! UTF-16 code units within a line (so `ü` is one unit and `🚀` two), and
//! from `vexil-ide`'s results to protocol types.

use tower_lsp_server::ls_types::{self as lsp, Position, Range};
use vexil_compiler::syntax::{LineIndex, Span};
use vexil_ide as ide;

/// LSP's positions and ranges over the grammar's [`LineIndex`], which counts
/// UTF-16 code units for the protocol.
pub trait LspPositions {
    /// The position of a byte offset (clamped to the text).
    fn position(&self, text: &str, offset: u32) -> Position;
    /// The byte offset of a position. A line past the end is the end of
    /// the text; a character past the line's end is the line's end; a
    /// position inside a character (half a surrogate pair) is its start.
    fn offset(&self, text: &str, position: Position) -> u32;
    /// The range of a span.
    fn range(&self, text: &str, span: Span) -> Range;
    /// The span of a range; never reversed.
    fn span(&self, text: &str, range: Range) -> Span;
}

impl LspPositions for LineIndex {
    fn position(&self, text: &str, offset: u32) -> Position {
        let (line, character) = self.utf16_position(text, offset);
        Position::new(line, character)
    }

    fn offset(&self, text: &str, position: Position) -> u32 {
        self.utf16_offset(text, position.line, position.character)
    }

    fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }

    fn span(&self, text: &str, range: Range) -> Span {
        let start = self.offset(text, range.start);
        let end = self.offset(text, range.end).max(start);
        Span { start, end }
    }
}

/// Applies an editor's change events in order.
pub fn apply_changes(text: &mut String, changes: Vec<lsp::TextDocumentContentChangeEvent>) {
    for change in changes {
        match change.range {
            Some(range) => {
                let index = LineIndex::new(text);
                let span = index.span(text, range);
                text.replace_range(span.range(), &change.text);
            }
            None => *text = change.text,
        }
    }
}

pub fn completion_kind(kind: ide::CompletionKind) -> lsp::CompletionItemKind {
    use ide::CompletionKind as K;
    use lsp::CompletionItemKind as L;
    match kind {
        K::Context => L::STRUCT,
        K::Field => L::FIELD,
        K::EnumValue => L::ENUM_MEMBER,
        K::Segment => L::FUNCTION,
        K::Flag => L::VARIABLE,
        K::Experiment => L::CLASS,
        K::Variant => L::ENUM_MEMBER,
        K::Rule => L::REFERENCE,
        K::Keyword => L::KEYWORD,
        K::Operator => L::OPERATOR,
        K::Value => L::VALUE,
        K::Type => L::TYPE_PARAMETER,
        K::Snippet => L::SNIPPET,
    }
}

pub fn symbol_kind(kind: ide::SymbolKind) -> lsp::SymbolKind {
    use ide::SymbolKind as K;
    use lsp::SymbolKind as L;
    match kind {
        K::Context => L::STRUCT,
        K::Field => L::FIELD,
        K::EnumValue => L::ENUM_MEMBER,
        K::Segment => L::FUNCTION,
        K::Flag => L::VARIABLE,
        K::Experiment => L::CLASS,
        K::Variant => L::ENUM_MEMBER,
        K::Rule => L::EVENT,
        K::Metric => L::PROPERTY,
        K::Test => L::METHOD,
    }
}

/// The semantic token types, in legend order.
pub const TOKEN_TYPES: &[&str] = &[
    "struct",
    "property",
    "enumMember",
    "function",
    "variable",
    "class",
    "label",
    "keyword",
    "operator",
    "type",
    "string",
    "number",
    "comment",
];

/// The semantic token modifiers, in legend order (bit 0 first).
pub const TOKEN_MODIFIERS: &[&str] = &["declaration", "documentation"];

pub fn token_type(kind: ide::HighlightKind) -> u32 {
    use ide::HighlightKind as K;
    let name = match kind {
        K::Context => "struct",
        K::Field => "property",
        K::EnumValue | K::Variant => "enumMember",
        K::Segment => "function",
        K::Flag => "variable",
        K::Experiment => "class",
        K::Rule => "label",
        K::Keyword => "keyword",
        K::Operator => "operator",
        K::Type => "type",
        K::String => "string",
        K::Number => "number",
        K::Comment => "comment",
    };
    TOKEN_TYPES.iter().position(|t| *t == name).unwrap_or(0) as u32
}

/// Highlights as LSP's relative encoding: each token's line and start
/// relative to the previous token's, lengths in UTF-16 units.
pub fn semantic_tokens(
    text: &str,
    index: &LineIndex,
    highlights: &[ide::Highlight],
) -> Vec<lsp::SemanticToken> {
    let mut out = Vec::with_capacity(highlights.len());
    let (mut line, mut start) = (0, 0);
    for h in highlights {
        let from = index.position(text, h.span.start);
        let length = text
            .get(h.span.range())
            .map_or(0, |s| s.encode_utf16().count() as u32);
        let delta_line = from.line - line;
        let delta_start = if delta_line == 0 {
            from.character - start
        } else {
            from.character
        };
        let modifiers = u32::from(h.definition) | (u32::from(h.doc) << 1);
        out.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: token_type(h.kind),
            token_modifiers_bitset: modifiers,
        });
        line = from.line;
        start = from.character;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        // `ü` is two bytes and one unit; `🚀` four bytes and two units.
        let text = "ab\nü🚀x\n";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap_or(0) as u32;
        assert_eq!(index.position(text, x), Position::new(1, 3));
        assert_eq!(index.offset(text, Position::new(1, 3)), x);
        assert_eq!(index.offset(text, Position::new(1, 1)), 5);
        // Half a surrogate pair is the start of the character.
        assert_eq!(index.offset(text, Position::new(1, 2)), 5);
        // Past the end of a line, past the last line.
        assert_eq!(index.offset(text, Position::new(0, 99)), 2);
        assert_eq!(index.offset(text, Position::new(9, 0)), text.len() as u32);
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut text = "flag münchen\n".to_string();
        apply_changes(
            &mut text,
            vec![
                lsp::TextDocumentContentChangeEvent {
                    range: Some(Range::new(Position::new(0, 5), Position::new(0, 12))),
                    range_length: None,
                    text: "köln".into(),
                },
                lsp::TextDocumentContentChangeEvent {
                    range: Some(Range::new(Position::new(1, 0), Position::new(1, 0))),
                    range_length: None,
                    text: "// ü\n".into(),
                },
            ],
        );
        assert_eq!(text, "flag köln\n// ü\n");
    }
}
