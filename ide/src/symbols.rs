//! Document symbols (the outline of a file) and workspace symbols (find a
//! declaration by name across the project).

use vexil_grammar::{self as ast, Item, PropertyKind, Span};

use vexil_compiler::db::{self, Db, SourceFile, Workspace};

/// What a symbol declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A context.
    Context,
    /// A field of a context.
    Field,
    /// A value of an enum field.
    EnumValue,
    /// A segment.
    Segment,
    /// A flag.
    Flag,
    /// An experiment.
    Experiment,
    /// A variant of a flag or experiment.
    Variant,
    /// A named rule.
    Rule,
    /// A metric of an experiment.
    Metric,
    /// A test.
    Test,
}

/// A declaration in a file's outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// The declared name (a test's description).
    pub name: String,
    /// What it declares.
    pub kind: SymbolKind,
    /// A type or a value, shown beside the name.
    pub detail: Option<String>,
    /// The whole declaration.
    pub span: Span,
    /// The name in the declaration.
    pub name_span: Span,
    /// The declarations inside it: fields (with their enum values),
    /// variants, named rules, metrics.
    pub children: Vec<Symbol>,
}

/// The outline of `file`: its declarations, in source order.
pub fn document_symbols(db: &dyn Db, file: SourceFile) -> Vec<Symbol> {
    let text = file.text(db);
    let src = |span: Span| text.get(span.range()).unwrap_or("").to_string();
    db::parse(db, file)
        .items
        .iter()
        .filter_map(|item| item_symbol(item, &src))
        .collect()
}

fn leaf(name: &ast::Ident, kind: SymbolKind, span: Span, detail: Option<String>) -> Symbol {
    Symbol {
        name: name.name.clone(),
        kind,
        detail,
        span,
        name_span: name.span,
        children: Vec::new(),
    }
}

fn item_symbol(item: &Item, src: &dyn Fn(Span) -> String) -> Option<Symbol> {
    Some(match item {
        Item::Context(c) => {
            let mut s = leaf(&c.name, SymbolKind::Context, c.span, None);
            s.children = c
                .fields
                .iter()
                .map(|f| {
                    let mut field = leaf(&f.name, SymbolKind::Field, f.span, Some(src(f.ty.span)));
                    field.children = super::index::enum_values(&f.ty)
                        .iter()
                        .map(|v| leaf(v, SymbolKind::EnumValue, v.span, None))
                        .collect();
                    field
                })
                .collect();
            s
        }
        Item::Segment(s) => leaf(
            &s.name,
            SymbolKind::Segment,
            s.span,
            Some(src(s.condition.span)),
        ),
        Item::Flag(f) => {
            let mut s = leaf(
                &f.name,
                SymbolKind::Flag,
                f.span,
                Some(f.value_type.as_str().to_string()),
            );
            s.children = members(&f.properties, src);
            s
        }
        Item::Experiment(e) => {
            let mut s = leaf(
                &e.name,
                SymbolKind::Experiment,
                e.span,
                Some(e.value_type.as_str().to_string()),
            );
            s.children = members(&e.properties, src);
            s
        }
        Item::Test(t) => Symbol {
            name: t.name.value.clone(),
            kind: SymbolKind::Test,
            detail: None,
            span: t.span,
            name_span: t.name.span,
            children: Vec::new(),
        },
        Item::Broken(_) => return None,
    })
}

/// Variants, named rules and metrics of a flag or experiment.
fn members(props: &[ast::Property], src: &dyn Fn(Span) -> String) -> Vec<Symbol> {
    let mut out = Vec::new();
    for p in props {
        match &p.kind {
            PropertyKind::Variants(vs) => {
                for v in vs {
                    out.push(leaf(
                        &v.name,
                        SymbolKind::Variant,
                        v.span,
                        Some(src(v.value.span)),
                    ));
                }
            }
            PropertyKind::Rule(r) => {
                if let Some(name) = &r.name {
                    out.push(leaf(name, SymbolKind::Rule, p.span, None));
                }
            }
            PropertyKind::Metrics(ms) => {
                for m in ms {
                    out.push(leaf(
                        &m.name,
                        SymbolKind::Metric,
                        m.span,
                        Some(m.role.as_str().to_string()),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Declarations and tests whose name matches `query` (its characters in
/// order, any case), best first: exact, prefix, substring, then the rest;
/// by name within each.
pub fn workspace_symbols(
    db: &dyn Db,
    ws: Workspace,
    query: &str,
    limit: usize,
) -> Vec<(SourceFile, Symbol)> {
    let query = query.to_lowercase();
    let mut found: Vec<(u8, SourceFile, Symbol)> = Vec::new();
    for &file in ws.files(db) {
        for mut symbol in document_symbols(db, file) {
            let name = symbol.name.to_lowercase();
            let rank = if name == query {
                0
            } else if name.starts_with(&query) {
                1
            } else if name.contains(&query) {
                2
            } else if is_subsequence(&query, &name) {
                3
            } else {
                continue;
            };
            symbol.children.clear();
            found.push((rank, file, symbol));
        }
    }
    found.sort_by(|a, b| (a.0, &a.2.name).cmp(&(b.0, &b.2.name)));
    found.truncate(limit);
    found.into_iter().map(|(_, f, s)| (f, s)).collect()
}

fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut hay = hay.chars();
    needle.chars().all(|c| hay.any(|h| h == c))
}
