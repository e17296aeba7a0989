//! Rename a context, field, enum value, segment, flag, experiment, variant
//! or rule everywhere it is written.
//!
//! A rename must not change what is served. A flag's rollouts and an
//! experiment's assignment hash with a salt that defaults to the name, so a
//! rename keeps the old name as an explicit `salt`; a rename that would
//! reorder an experiment within its layer is refused. Names are also the
//! interface to applications (flag keys, context JSON), which an editor
//! cannot update: the result carries a note saying so.

use vexil_grammar::{Item, PropertyKind, RuleResult, Span};

use super::index::Target;
use super::nav::{declarations, item_decl, references_to, target_at};
use vexil_compiler::db::{self, Db, Name, SourceFile, Workspace};
use vexil_compiler::summary::Kind;
use vexil_grammar::lex;

/// A replacement of `span` in `file` by `text`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TextEdit {
    /// The file to edit.
    pub file: SourceFile,
    /// The text to replace.
    pub span: Span,
    /// What to put in its place.
    pub text: String,
}

/// The edits of a rename, across the workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rename {
    /// Sorted by file, then position; they never overlap.
    pub edits: Vec<TextEdit>,
    /// What the user should know: renamed keys that applications use.
    pub notes: Vec<String>,
}

/// Why a name cannot be renamed, in the diagnostics' message style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenameError(pub String);

impl std::fmt::Display for RenameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The span of the renamable name at `offset`.
pub fn prepare_rename(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    offset: u32,
) -> Result<Span, RenameError> {
    let (span, target) = target_at(db, ws, file, offset)
        .ok_or_else(|| RenameError("there is no name here to rename".into()))?;
    if declarations(db, ws, &target).is_empty() {
        return Err(RenameError(format!(
            "`{}` is not declared, so there is nothing to rename",
            leaf(&target)
        )));
    }
    Ok(span)
}

/// Renames the name at `offset` to `new_name` everywhere it is written. What
/// is served stays the same: a flag or experiment that hashes keeps its old
/// name as an explicit `salt`, and a rename that would reorder an experiment
/// within its layer is refused.
pub fn rename(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    offset: u32,
    new_name: &str,
) -> Result<Rename, RenameError> {
    prepare_rename(db, ws, file, offset)?;
    let Some((_, target)) = target_at(db, ws, file, offset) else {
        return Err(RenameError("there is no name here to rename".into()));
    };
    let old = leaf(&target).to_string();
    if new_name == old {
        return Ok(Rename::default());
    }
    check_name(&target, new_name)?;
    check_conflict(db, ws, &target, new_name)?;

    let mut edits: Vec<TextEdit> = references_to(db, ws, &target)
        .into_iter()
        .map(|r| TextEdit {
            file: r.location.file,
            span: r.location.span,
            text: new_name.to_string(),
        })
        .collect();
    let mut notes = Vec::new();
    if let Target::Item(name) = &target {
        if let Some(edit) = keep_salt(db, ws, name, new_name)? {
            edits.push(edit);
        }
        notes.extend(interface_note(db, ws, name, new_name));
    }
    if let Target::Field { context, field } = &target {
        notes.push(format!(
            "applications send `{context}.{field}` in their context JSON: they must now send `{new_name}`"
        ));
    }
    edits.sort_by(|a, b| (a.file.path(db), a.span.start).cmp(&(b.file.path(db), b.span.start)));
    edits.dedup();
    Ok(Rename { edits, notes })
}

/// The name itself, without its owner.
fn leaf(target: &Target) -> &str {
    match target {
        Target::Item(name) => name,
        Target::Field { field, .. } => field,
        Target::EnumValue { value, .. } => value,
        Target::Variant { variant, .. } => variant,
        Target::Rule { rule, .. } => rule,
    }
}

fn check_name(target: &Target, new_name: &str) -> Result<(), RenameError> {
    if !lex::is_name(new_name) {
        return Err(RenameError(format!(
            "`{new_name}` is not a name: names are letters, digits, `_` and inner `-`, starting with a letter or `_`"
        )));
    }
    // Field names follow a dot or stand before a colon, so reserved words
    // are fine there; everywhere else they would not parse.
    let is_field = matches!(target, Target::Field { .. });
    if !is_field && lex::RESERVED.contains(&new_name) {
        return Err(RenameError(format!("`{new_name}` is a reserved word")));
    }
    Ok(())
}

fn check_conflict(
    db: &dyn Db,
    ws: Workspace,
    target: &Target,
    new_name: &str,
) -> Result<(), RenameError> {
    let sibling = match target {
        Target::Item(_) => Target::Item(new_name.to_string()),
        Target::Field { context, .. } => Target::Field {
            context: context.clone(),
            field: new_name.to_string(),
        },
        Target::EnumValue { context, field, .. } => Target::EnumValue {
            context: context.clone(),
            field: field.clone(),
            value: new_name.to_string(),
        },
        Target::Variant { owner, .. } => Target::Variant {
            owner: owner.clone(),
            variant: new_name.to_string(),
        },
        Target::Rule { owner, .. } => Target::Rule {
            owner: owner.clone(),
            rule: new_name.to_string(),
        },
    };
    if declarations(db, ws, &sibling).is_empty() {
        return Ok(());
    }
    let what = match target {
        Target::Item(_) => db::symbols(db, ws)
            .get(new_name)
            .map_or("name", |d| d.kind.describe())
            .to_string(),
        Target::Field { context, .. } => format!("field of `{context}`"),
        Target::EnumValue { field, .. } => format!("value of `{field}`"),
        Target::Variant { owner, .. } => format!("variant of `{owner}`"),
        Target::Rule { owner, .. } => format!("rule of `{owner}`"),
    };
    Err(RenameError(format!(
        "`{new_name}` is already declared (a {what})"
    )))
}

/// For a flag with rollouts or splits, or an experiment, that has no
/// `salt`: an edit adding `salt "OLD"`, so units keep their buckets.
fn keep_salt(
    db: &dyn Db,
    ws: Workspace,
    name: &str,
    new_name: &str,
) -> Result<Option<TextEdit>, RenameError> {
    let Some((file, item)) = item_decl(db, ws, name) else {
        return Ok(None);
    };
    let (props, span, hashes) = match item {
        Item::Flag(f) => {
            let hashes = f.properties.iter().any(|p| {
                matches!(
                    &p.kind,
                    PropertyKind::Rule(r) if matches!(
                        &r.result,
                        RuleResult::Rollout { salt: None, .. }
                            | RuleResult::Staged { salt: None, .. }
                            | RuleResult::Split { salt: None, .. }
                    )
                )
            });
            (&f.properties, f.span, hashes)
        }
        Item::Experiment(e) => {
            check_layer_order(db, ws, name, new_name)?;
            (&e.properties, e.span, true)
        }
        _ => return Ok(None),
    };
    let has_salt = props
        .iter()
        .any(|p| matches!(p.kind, PropertyKind::Salt(_)));
    if !hashes || has_salt {
        return Ok(None);
    }
    let text = file.text(db);
    let Some(brace) = text
        .get(span.range())
        .and_then(|t| t.find('{'))
        .map(|i| span.start as usize + i + 1)
    else {
        return Ok(None);
    };
    let indent = props
        .first()
        .map(|p| indentation(text, p.span.start as usize))
        .filter(|i| !i.is_empty())
        .unwrap_or("  ");
    Ok(Some(TextEdit {
        file,
        span: Span::new(brace, brace),
        text: format!("\n{indent}salt \"{name}\""),
    }))
}

fn indentation(text: &str, offset: usize) -> &str {
    let line = text
        .get(..offset)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let rest = text.get(line..).unwrap_or("");
    let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest.get(..width).unwrap_or("")
}

/// Experiments of a layer take its ranges in the order of their start
/// dates, then names: a rename must not move one past another.
fn check_layer_order(
    db: &dyn Db,
    ws: Workspace,
    name: &str,
    new_name: &str,
) -> Result<(), RenameError> {
    let sig = |n: &str| db::flag_signature(db, ws, Name::new(db, n.to_string())).clone();
    let Some(layer) = sig(name).and_then(|s| s.layer) else {
        return Ok(());
    };
    let mut members: Vec<(Option<i64>, String)> = db::symbols(db, ws)
        .names_of(&[Kind::Experiment])
        .into_iter()
        .filter_map(|n| {
            let s = sig(n)?;
            (s.layer.as_deref() == Some(layer.as_str())).then(|| (s.start, n.to_string()))
        })
        .collect();
    members.sort();
    let before: Vec<String> = members.iter().map(|(_, n)| n.clone()).collect();
    for m in &mut members {
        if m.1 == name {
            m.1 = new_name.to_string();
        }
    }
    members.sort();
    let after: Vec<String> = members
        .into_iter()
        .map(|(_, n)| if n == new_name { name.to_string() } else { n })
        .collect();
    if before == after {
        return Ok(());
    }
    Err(RenameError(format!(
        "renaming `{name}` to `{new_name}` would move it within layer `{layer}` (experiments \
         without a start date take the layer's ranges in name order), so units would be \
         enrolled differently; give the layer's experiments `start` dates first"
    )))
}

fn interface_note(db: &dyn Db, ws: Workspace, old: &str, new: &str) -> Option<String> {
    let kind = db::symbols(db, ws).get(old)?.kind;
    match kind {
        Kind::Flag | Kind::Experiment => Some(format!(
            "applications evaluate {} `{old}` by its name: they must now ask for `{new}`",
            kind.describe()
        )),
        Kind::Context => Some(format!(
            "applications send context `{old}` in their context JSON: they must now send `{new}`"
        )),
        _ => None,
    }
}
