//! Go to definition and find references: from a name under the cursor to
//! its target, and from a target to where it is declared and used.

use vexil_grammar::{self as ast, Item, PropertyKind, Span};

use super::index::{enum_values, file_index, Target};
use vexil_compiler::db::{self, Db, SourceFile, Workspace};
use vexil_grammar::lex;

/// A span in a file of the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file.
    pub file: SourceFile,
    /// The span in it.
    pub span: Span,
}

/// A place where a target is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Where the name is written.
    pub location: Location,
    /// Whether this is where it is declared.
    pub is_definition: bool,
}

/// What the name at `offset` refers to, and the span of that name.
///
/// Inside an item that does not parse there is no tree; a word that is a
/// declared name is still taken to mean that name, so that navigation keeps
/// working while an item is half written.
pub fn target_at(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    offset: u32,
) -> Option<(Span, Target)> {
    if let Some(o) = file_index(db, file).at(offset) {
        return Some((o.span, o.target.clone()));
    }
    let text = file.text(db);
    let in_broken = db::parse(db, file)
        .items
        .iter()
        .any(|i| matches!(i, Item::Broken(_)) && i.span().contains(offset));
    if !in_broken {
        return None;
    }
    let span = lex::word_at(text, offset as usize)?;
    let word = text.get(span.range())?;
    db::symbols(db, ws)
        .get(word)
        .map(|_| (span, Target::Item(word.to_string())))
}

/// The declarations of the name at `offset` (several for a name declared
/// twice, which is an error reported elsewhere).
pub fn definition(db: &dyn Db, ws: Workspace, file: SourceFile, offset: u32) -> Vec<Location> {
    match target_at(db, ws, file, offset) {
        Some((_, target)) => declarations(db, ws, &target),
        None => Vec::new(),
    }
}

/// Every place the name at `offset` is written, in workspace file order.
pub fn references(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    offset: u32,
    include_declaration: bool,
) -> Vec<Reference> {
    let Some((_, target)) = target_at(db, ws, file, offset) else {
        return Vec::new();
    };
    references_to(db, ws, &target)
        .into_iter()
        .filter(|r| include_declaration || !r.is_definition)
        .collect()
}

/// Every place `target` is written.
pub fn references_to(db: &dyn Db, ws: Workspace, target: &Target) -> Vec<Reference> {
    let mut out = Vec::new();
    for &file in ws.files(db) {
        for o in &file_index(db, file).occurrences {
            if &o.target == target {
                out.push(Reference {
                    location: Location { file, span: o.span },
                    is_definition: o.is_definition,
                });
            }
        }
    }
    out
}

/// Where `target` is declared.
pub fn declarations(db: &dyn Db, ws: Workspace, target: &Target) -> Vec<Location> {
    let at = |file, span| Location { file, span };
    match target {
        Target::Item(name) => item_decls(db, ws, name)
            .into_iter()
            .filter_map(|(file, item)| item.name().map(|n| at(file, n.span)))
            .collect(),
        Target::Field { context, field } => context_decl(db, ws, context)
            .and_then(|(file, c)| {
                c.fields
                    .iter()
                    .find(|f| &f.name.name == field)
                    .map(|f| at(file, f.name.span))
            })
            .into_iter()
            .collect(),
        Target::EnumValue {
            context,
            field,
            value,
        } => context_decl(db, ws, context)
            .and_then(|(file, c)| {
                let f = c.fields.iter().find(|f| &f.name.name == field)?;
                enum_values(&f.ty)
                    .iter()
                    .find(|v| &v.name == value)
                    .map(|v| at(file, v.span))
            })
            .into_iter()
            .collect(),
        Target::Variant { owner, variant } => owner_props(db, ws, owner)
            .and_then(|(file, props)| {
                variant_decls(props)
                    .find(|v| &v.name.name == variant)
                    .map(|v| at(file, v.name.span))
            })
            .into_iter()
            .collect(),
        Target::Rule { owner, rule } => owner_props(db, ws, owner)
            .and_then(|(file, props)| {
                props.iter().find_map(|p| match &p.kind {
                    PropertyKind::Rule(r) => r
                        .name
                        .as_ref()
                        .filter(|n| &n.name == rule)
                        .map(|n| at(file, n.span)),
                    _ => None,
                })
            })
            .into_iter()
            .collect(),
    }
}

/// The syntax of every declaration of a top-level name.
pub(crate) fn item_decls<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    name: &str,
) -> Vec<(SourceFile, &'db Item)> {
    let Some(decls) = db::symbols(db, ws).by_name.get(name) else {
        return Vec::new();
    };
    decls
        .iter()
        .filter_map(|d| {
            let ordinal = db::file_summary(db, d.file)
                .items
                .get(d.item as usize)?
                .ordinal;
            let item = db::parse(db, d.file).items.get(ordinal as usize)?;
            Some((d.file, item))
        })
        .collect()
}

/// The first declaration of a name, which is the one the checker uses.
pub(crate) fn item_decl<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    name: &str,
) -> Option<(SourceFile, &'db Item)> {
    item_decls(db, ws, name).into_iter().next()
}

pub(crate) fn context_decl<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    name: &str,
) -> Option<(SourceFile, &'db ast::ContextDecl)> {
    match item_decl(db, ws, name)? {
        (file, Item::Context(c)) => Some((file, c)),
        _ => None,
    }
}

/// The properties of a flag or experiment.
pub(crate) fn owner_props<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    name: &str,
) -> Option<(SourceFile, &'db [ast::Property])> {
    match item_decl(db, ws, name)? {
        (file, Item::Flag(f)) => Some((file, &f.properties)),
        (file, Item::Experiment(e)) => Some((file, &e.properties)),
        _ => None,
    }
}

pub(crate) fn variant_decls(props: &[ast::Property]) -> impl Iterator<Item = &ast::VariantDecl> {
    props
        .iter()
        .filter_map(|p| match &p.kind {
            PropertyKind::Variants(vs) => Some(vs.iter()),
            _ => None,
        })
        .flatten()
}
