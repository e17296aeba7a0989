//! Semantic highlighting: what each token is, beyond what a TextMate
//! grammar can tell. A bare name may be a segment or an enum value, a name
//! after `requires` a flag; the index and the symbols say which. Keywords
//! and literals come from the lexer, so broken items are coloured too.

use vexil_grammar::Span;

use super::index::{file_index, Target};
use vexil_compiler::db::{self, Db, SourceFile, Workspace};
use vexil_compiler::summary::Kind;
use vexil_grammar::lex::{self, TokenKind, STRING_OPS, TYPE_NAMES};

/// What a highlighted token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HighlightKind {
    /// A context's name.
    Context,
    /// A field of a context.
    Field,
    /// A value of an enum field.
    EnumValue,
    /// A segment's name.
    Segment,
    /// A flag's name.
    Flag,
    /// An experiment's name.
    Experiment,
    /// A variant of a flag or experiment.
    Variant,
    /// A named rule.
    Rule,
    /// A keyword.
    Keyword,
    /// A comparison or string operator, or `=>`.
    Operator,
    /// A type name.
    Type,
    /// A string literal.
    String,
    /// Any other literal: numbers, dates, versions, percentages.
    Number,
    /// A comment.
    Comment,
}

/// One highlighted token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Highlight {
    /// The token, within one line.
    pub span: Span,
    /// What it is.
    pub kind: HighlightKind,
    /// The name is declared here.
    pub definition: bool,
    /// A `///` doc comment.
    pub doc: bool,
}

/// Highlights in source order; they never overlap or span lines.
pub fn highlights(db: &dyn Db, ws: Workspace, file: SourceFile) -> Vec<Highlight> {
    let text = file.text(db);
    let index = &file_index(db, file).occurrences;
    let symbols = db::symbols(db, ws);
    let mut next = 0;
    let mut out = Vec::new();
    let mut previous = "";
    for tok in lex::tokens(text, 0, text.len()) {
        // `contains any` and `contains all` are one operator.
        let quantifier = previous == "contains" && matches!(tok.text(text), "any" | "all");
        if !matches!(tok.kind, TokenKind::Comment { .. }) {
            previous = tok.text(text);
        }
        // Occurrences are sorted like tokens: walk both together.
        while index
            .get(next)
            .is_some_and(|o| o.span.start < tok.span.start)
        {
            next += 1;
        }
        let named = index
            .get(next)
            .filter(|o| o.span == tok.span)
            .and_then(|o| {
                let kind = match &o.target {
                    Target::Item(name) => match symbols.get(name)?.kind {
                        Kind::Context => HighlightKind::Context,
                        Kind::Segment => HighlightKind::Segment,
                        Kind::Flag => HighlightKind::Flag,
                        Kind::Experiment => HighlightKind::Experiment,
                        Kind::Broken(_) => return None,
                    },
                    Target::Field { .. } => HighlightKind::Field,
                    Target::EnumValue { .. } => HighlightKind::EnumValue,
                    Target::Variant { .. } => HighlightKind::Variant,
                    Target::Rule { .. } => HighlightKind::Rule,
                };
                Some((kind, o.is_definition))
            });
        let word = tok.text(text);
        let (kind, definition) = match (named, tok.kind) {
            (Some(named), _) => named,
            (None, TokenKind::Comment { doc }) => {
                out.push(Highlight {
                    span: tok.span,
                    kind: HighlightKind::Comment,
                    definition: false,
                    doc,
                });
                continue;
            }
            (None, TokenKind::String) => (HighlightKind::String, false),
            (None, TokenKind::Literal) => (HighlightKind::Number, false),
            (None, TokenKind::Ident) if STRING_OPS.contains(&word) || quantifier => {
                (HighlightKind::Operator, false)
            }
            (None, TokenKind::Ident) if lex::is_keyword(word) => (HighlightKind::Keyword, false),
            (None, TokenKind::Ident) if TYPE_NAMES.contains(&word) => (HighlightKind::Type, false),
            (None, TokenKind::Punct)
                if matches!(word, "==" | "!=" | "<" | "<=" | ">" | ">=" | "=>") =>
            {
                (HighlightKind::Operator, false)
            }
            _ => continue,
        };
        out.push(Highlight {
            span: tok.span,
            kind,
            definition,
            doc: false,
        });
    }
    out
}
