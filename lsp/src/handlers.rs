//! Requests answered on a snapshot: positions in, protocol types out, the
//! analysis itself in `vexil_ide`. Each runs on the blocking
//! pool; salsa cancels it if a change arrives meanwhile.

use std::collections::HashMap;

use tower_lsp_server::ls_types::{self as lsp, Position, Uri};
use vexil_compiler::db::SourceFile;
use vexil_compiler::syntax::{LineIndex, Span};
use vexil_ide as ide;

use crate::convert::{self, LspPositions};
use crate::host::Snapshot;

/// A document of the snapshot with its text and line index.
pub struct Doc<'s> {
    pub file: SourceFile,
    pub text: &'s str,
    pub index: LineIndex,
}

impl<'s> Doc<'s> {
    pub fn of(s: &'s Snapshot, file: SourceFile) -> Doc<'s> {
        let text = file.text(&s.db).as_str();
        Doc {
            file,
            text,
            index: LineIndex::new(text),
        }
    }

    pub fn open(s: &'s Snapshot, uri: &Uri) -> Option<Doc<'s>> {
        Some(Doc::of(s, s.file(uri)?))
    }

    pub fn offset(&self, p: Position) -> u32 {
        self.index.offset(self.text, p)
    }

    pub fn range(&self, span: Span) -> lsp::Range {
        self.index.range(self.text, span)
    }
}

fn location(s: &Snapshot, l: ide::Location) -> Option<lsp::Location> {
    let doc = Doc::of(s, l.file);
    Some(lsp::Location::new(
        s.uri(l.file.path(&s.db))?,
        doc.range(l.span),
    ))
}

pub fn hover(s: &Snapshot, p: lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
    let doc = Doc::open(s, &p.text_document.uri)?;
    let h = ide::hover(&s.db, s.ws, doc.file, doc.offset(p.position))?;
    Some(lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: h.markdown,
        }),
        range: Some(doc.range(h.span)),
    })
}

pub fn definition(s: &Snapshot, p: lsp::TextDocumentPositionParams) -> Option<Vec<lsp::Location>> {
    let doc = Doc::open(s, &p.text_document.uri)?;
    let found = ide::definition(&s.db, s.ws, doc.file, doc.offset(p.position));
    let locations: Vec<lsp::Location> = found.into_iter().filter_map(|l| location(s, l)).collect();
    (!locations.is_empty()).then_some(locations)
}

pub fn references(s: &Snapshot, p: lsp::ReferenceParams) -> Option<Vec<lsp::Location>> {
    let at = p.text_document_position;
    let doc = Doc::open(s, &at.text_document.uri)?;
    let found = ide::references(
        &s.db,
        s.ws,
        doc.file,
        doc.offset(at.position),
        p.context.include_declaration,
    );
    Some(
        found
            .into_iter()
            .filter_map(|r| location(s, r.location))
            .collect(),
    )
}

pub fn completion(s: &Snapshot, p: lsp::CompletionParams) -> Option<lsp::CompletionResponse> {
    let at = p.text_document_position;
    let doc = Doc::open(s, &at.text_document.uri)?;
    let found = ide::completions(&s.db, s.ws, doc.file, doc.offset(at.position));
    let range = doc.range(found.replace);
    let items = found
        .items
        .into_iter()
        .enumerate()
        .map(|(i, item)| lsp::CompletionItem {
            kind: Some(convert::completion_kind(item.kind)),
            detail: item.detail,
            documentation: item.documentation.map(|d| {
                lsp::Documentation::MarkupContent(lsp::MarkupContent {
                    kind: lsp::MarkupKind::Markdown,
                    value: d,
                })
            }),
            // Keep the order the analysis chose.
            sort_text: Some(format!("{i:04}")),
            insert_text_format: Some(if item.snippet {
                lsp::InsertTextFormat::SNIPPET
            } else {
                lsp::InsertTextFormat::PLAIN_TEXT
            }),
            text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit::new(
                range,
                item.insert.unwrap_or_else(|| item.label.clone()),
            ))),
            label: item.label,
            ..Default::default()
        })
        .collect();
    Some(lsp::CompletionResponse::Array(items))
}

pub fn prepare_rename(
    s: &Snapshot,
    p: lsp::TextDocumentPositionParams,
) -> Result<Option<lsp::PrepareRenameResponse>, String> {
    let Some(doc) = Doc::open(s, &p.text_document.uri) else {
        return Ok(None);
    };
    let span = ide::prepare_rename(&s.db, s.ws, doc.file, doc.offset(p.position))
        .map_err(|e| e.to_string())?;
    Ok(Some(lsp::PrepareRenameResponse::Range(doc.range(span))))
}

/// The edit, and notes for the user (names that applications use).
pub fn rename(
    s: &Snapshot,
    p: lsp::RenameParams,
) -> Result<Option<(lsp::WorkspaceEdit, Vec<String>)>, String> {
    let at = p.text_document_position;
    let Some(doc) = Doc::open(s, &at.text_document.uri) else {
        return Ok(None);
    };
    let renamed = ide::rename(&s.db, s.ws, doc.file, doc.offset(at.position), &p.new_name)
        .map_err(|e| e.to_string())?;
    let mut changes: HashMap<Uri, Vec<lsp::TextEdit>> = HashMap::new();
    let mut docs: HashMap<SourceFile, Doc<'_>> = HashMap::new();
    for e in renamed.edits {
        let Some(uri) = s.uri(e.file.path(&s.db)) else {
            continue;
        };
        let doc = docs.entry(e.file).or_insert_with(|| Doc::of(s, e.file));
        changes
            .entry(uri)
            .or_default()
            .push(lsp::TextEdit::new(doc.range(e.span), e.text));
    }
    let edit = lsp::WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    };
    Ok(Some((edit, renamed.notes)))
}

pub fn formatting(s: &Snapshot, uri: &Uri) -> Result<Option<Vec<lsp::TextEdit>>, String> {
    let Some(doc) = Doc::open(s, uri) else {
        return Ok(None);
    };
    let formatted = ide::format(&s.db, doc.file).map_err(|e| e.to_string())?;
    if formatted == doc.text {
        return Ok(Some(Vec::new()));
    }
    let whole = Span::new(0, doc.text.len());
    Ok(Some(vec![lsp::TextEdit::new(doc.range(whole), formatted)]))
}

pub fn range_formatting(
    s: &Snapshot,
    uri: &Uri,
    range: lsp::Range,
) -> Result<Option<Vec<lsp::TextEdit>>, String> {
    let Some(doc) = Doc::open(s, uri) else {
        return Ok(None);
    };
    let span = doc.index.span(doc.text, range);
    let edit = ide::format_range(&s.db, doc.file, span.range()).map_err(|e| e.to_string())?;
    Ok(Some(match edit {
        Some(edit) if doc.text.get(edit.range.clone()) != Some(edit.text.as_str()) => {
            let span = Span::new(edit.range.start, edit.range.end);
            vec![lsp::TextEdit::new(doc.range(span), edit.text)]
        }
        _ => Vec::new(),
    }))
}

pub fn code_actions(s: &Snapshot, p: lsp::CodeActionParams) -> Option<lsp::CodeActionResponse> {
    let doc = Doc::open(s, &p.text_document.uri)?;
    let span = doc.index.span(doc.text, p.range);
    let mut out = Vec::new();
    for (d, fix) in ide::fixes(&s.db, s.ws, doc.file, span) {
        let Some(uri) = s.uri(&fix.file) else {
            continue;
        };
        let target = s.files.get(&fix.file).map(|f| Doc::of(s, f));
        let Some(target) = target else { continue };
        let edit = lsp::TextEdit::new(target.range(fix.span), fix.replacement.clone());
        // The editor's own copy of the diagnostic, so it can link the two.
        let diagnostics: Vec<lsp::Diagnostic> = p
            .context
            .diagnostics
            .iter()
            .filter(|c| {
                c.code == Some(lsp::NumberOrString::String(d.code.as_str().to_string()))
                    && c.range == doc.range(d.primary.span)
            })
            .cloned()
            .collect();
        out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: fix.title.clone(),
            kind: Some(lsp::CodeActionKind::QUICKFIX),
            diagnostics: (!diagnostics.is_empty()).then_some(diagnostics),
            edit: Some(lsp::WorkspaceEdit {
                changes: Some(HashMap::from([(uri, vec![edit])])),
                ..Default::default()
            }),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    Some(out)
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out.
fn document_symbol(doc: &Doc<'_>, sym: ide::Symbol) -> lsp::DocumentSymbol {
    lsp::DocumentSymbol {
        name: sym.name,
        detail: sym.detail,
        kind: convert::symbol_kind(sym.kind),
        tags: None,
        deprecated: None,
        range: doc.range(sym.span),
        selection_range: doc.range(sym.name_span),
        children: Some(
            sym.children
                .into_iter()
                .map(|c| document_symbol(doc, c))
                .collect(),
        ),
    }
}

pub fn document_symbols(s: &Snapshot, uri: &Uri) -> Option<lsp::DocumentSymbolResponse> {
    let doc = Doc::open(s, uri)?;
    let symbols = ide::document_symbols(&s.db, doc.file)
        .into_iter()
        .map(|sym| document_symbol(&doc, sym))
        .collect();
    Some(lsp::DocumentSymbolResponse::Nested(symbols))
}

pub fn workspace_symbols(s: &Snapshot, query: &str) -> Option<lsp::WorkspaceSymbolResponse> {
    let mut docs: HashMap<SourceFile, Doc<'_>> = HashMap::new();
    let found = ide::workspace_symbols(&s.db, s.ws, query, 256)
        .into_iter()
        .filter_map(|(file, sym)| {
            let doc = docs.entry(file).or_insert_with(|| Doc::of(s, file));
            Some(lsp::WorkspaceSymbol {
                name: sym.name,
                kind: convert::symbol_kind(sym.kind),
                tags: None,
                container_name: sym.detail,
                location: lsp::OneOf::Left(lsp::Location::new(
                    s.uri(file.path(&s.db))?,
                    doc.range(sym.name_span),
                )),
                data: None,
            })
        })
        .collect();
    Some(lsp::WorkspaceSymbolResponse::Nested(found))
}

pub fn semantic_tokens(
    s: &Snapshot,
    uri: &Uri,
    range: Option<lsp::Range>,
) -> Option<lsp::SemanticTokens> {
    let doc = Doc::open(s, uri)?;
    let mut highlights = ide::highlights(&s.db, s.ws, doc.file);
    if let Some(range) = range {
        let span = doc.index.span(doc.text, range);
        highlights.retain(|h| h.span.end > span.start && h.span.start < span.end);
    }
    Some(lsp::SemanticTokens {
        result_id: None,
        data: convert::semantic_tokens(doc.text, &doc.index, &highlights),
    })
}
