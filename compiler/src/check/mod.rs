//! Checking one file against the workspace's declarations, and lowering it.
//!
//! Checking and lowering are one pass: resolving a condition against the
//! schemas yields both its diagnostics and its IR. The IR refers to fields,
//! segments and flags through this file's own reference tables
//! ([`LocalRefs`]); linking (`link.rs`) maps them to the bundle's indices, so
//! a file's result does not depend on where other declarations land.
//! Analysis keeps going past errors: a broken part lowers to a placeholder
//! and the next part is checked as usual.

mod context;
mod conventions;
mod experiment;
mod expr;
mod flag;
mod guard;
mod staged;
mod tests;
mod value;

use std::collections::HashMap;
use std::sync::Arc;

use vexil_grammar::{self as ast, Ident, Item, LineIndex, Span};
use vexil_ir as ir;

use crate::db::{self, Db, Name, SourceFile, Workspace};
use crate::diagnostic::{Diagnostic, Reporter};
use crate::suggest::did_you_mean;
use crate::summary::Kind;
use crate::types::{ContextDef, FlagSig};
use crate::Code;

/// The result of checking a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CheckedFile {
    /// The file's own problems (not those across files).
    pub diagnostics: Vec<Diagnostic>,
    /// The file's items in IR form.
    pub lowered: Lowered,
}

/// A file's items in IR form, with references local to the file.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Lowered {
    pub refs: LocalRefs,
    pub segments: Vec<ir::Segment>,
    /// Prerequisites' `flag` index into `refs.flags`.
    pub flags: Vec<ir::Flag>,
    pub experiments: Vec<LoweredExperiment>,
    pub tests: Vec<ir::TestCase>,
}

/// An experiment before linking: its enrolment depends on the other
/// experiments of its layer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LoweredExperiment {
    pub experiment: ir::Experiment,
    pub layer: Option<String>,
    pub traffic: u32,
}

/// What this file's IR refers to. A slot in this file's IR is an index into
/// `fields`; `Expr::Segment(i)` into `segments`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LocalRefs {
    /// (context, field index in its declaration)
    pub fields: Vec<(String, u32)>,
    pub segments: Vec<String>,
    pub flags: Vec<String>,
}

/// One file's own diagnostics (without the problems across files, which
/// [`crate::cross_file_diagnostics`] gives), as `vexil check` reports them.
/// Memoised: an edit elsewhere re-checks this file only if it changes a
/// declaration the file reads.
pub fn local_diagnostics(db: &dyn Db, ws: Workspace, file: SourceFile) -> &[Diagnostic] {
    &check_file(db, ws, file).diagnostics
}

/// Diagnostics and lowered items of one file (a salsa query: re-run when
/// the file or a declaration it reads changes).
#[salsa::tracked(returns(ref), no_eq)]
pub(crate) fn check_file(db: &dyn Db, ws: Workspace, file: SourceFile) -> CheckedFile {
    let tree = db::parse(db, file);
    let path = file.path(db).clone();
    let mut checker = FileChecker {
        db,
        ws,
        text: file.text(db),
        lines: LineIndex::new(file.text(db)),
        rep: Reporter::new(path.clone()),
        path,
        lowered: Lowered::default(),
        field_ids: HashMap::new(),
        segment_ids: HashMap::new(),
        flag_ids: HashMap::new(),
        contexts: HashMap::new(),
    };
    for e in &tree.errors {
        let expected = match e.expected.as_slice() {
            [] => None,
            [one] => Some(format!("expected {one}")),
            many => Some(format!(
                "expected {} or {}",
                many[..many.len() - 1].join(", "),
                many[many.len() - 1]
            )),
        };
        let report = checker
            .rep
            .report(Code::Syntax, e.span, e.message.clone())
            .label(expected.unwrap_or_default());
        // A misspelt item keyword (`flg`): offer the nearest one.
        let found = checker.text.get(e.span.start as usize..e.span.end as usize);
        let keyword = found
            .filter(|_| e.expected.iter().any(|x| x == ast::AN_ITEM))
            .and_then(|word| did_you_mean(word, ast::lex::ITEM_KEYWORDS.iter().copied()));
        if let Some(keyword) = keyword {
            report.help(format!("did you mean `{keyword}`?")).fix(
                format!("Replace with `{keyword}`"),
                e.span,
                keyword,
            );
        }
    }
    for item in &tree.items {
        match item {
            Item::Context(c) => checker.context_decl(c),
            Item::Segment(s) => checker.segment_decl(s),
            Item::Flag(f) => checker.flag_decl(f),
            Item::Experiment(e) => checker.experiment_decl(e),
            Item::Test(t) => checker.test_decl(t),
            Item::Broken(_) => {}
        }
    }
    CheckedFile {
        diagnostics: checker.rep.diagnostics,
        lowered: checker.lowered,
    }
}

pub(crate) struct FileChecker<'db> {
    db: &'db dyn Db,
    ws: Workspace,
    text: &'db str,
    lines: LineIndex,
    path: Arc<str>,
    rep: Reporter,
    lowered: Lowered,
    field_ids: HashMap<(String, u32), u32>,
    segment_ids: HashMap<String, u32>,
    flag_ids: HashMap<String, u32>,
    contexts: HashMap<String, Option<Arc<ContextDef>>>,
}

/// What a name refers to.
enum Lookup<T> {
    Found(T),
    /// Declared by an item that did not parse: say nothing more.
    Broken,
    Missing,
}

impl<'db> FileChecker<'db> {
    fn kind_of(&self, name: &str) -> Option<Kind> {
        db::kind_of(self.db, self.ws, Name::new(self.db, name.to_string()))
    }

    fn context(&mut self, name: &str) -> Lookup<Arc<ContextDef>> {
        if !self.contexts.contains_key(name) {
            let def =
                db::context_def(self.db, self.ws, Name::new(self.db, name.to_string())).clone();
            self.contexts.insert(name.to_string(), def);
        }
        match self.contexts.get(name).cloned().flatten() {
            Some(def) => Lookup::Found(def),
            None if self
                .kind_of(name)
                .is_some_and(|k| k.could_be(Kind::Context)) =>
            {
                Lookup::Broken
            }
            None => Lookup::Missing,
        }
    }

    fn flag_sig(&self, name: &str) -> Lookup<FlagSig> {
        match db::flag_signature(self.db, self.ws, Name::new(self.db, name.to_string())) {
            Some(sig) => Lookup::Found(sig.clone()),
            None if self
                .kind_of(name)
                .is_some_and(|k| k.could_be(Kind::Flag) || k.could_be(Kind::Experiment)) =>
            {
                Lookup::Broken
            }
            None => Lookup::Missing,
        }
    }

    /// `id` as a variant of the flag `flag` (whose signature is `sig`), or an
    /// unknown-variant diagnostic.
    fn variant_of(&mut self, flag: &Ident, sig: &FlagSig, id: &Ident) -> Option<String> {
        if sig.variants.contains(&id.name) {
            return Some(id.name.clone());
        }
        let owner = format!("`{}`", flag.name);
        self.unknown_in(
            Code::UnknownVariant,
            "variant",
            Some(&owner),
            id,
            &sig.variants,
        );
        None
    }

    /// Names of every declared item of these kinds, for suggestions.
    fn names_of(&self, kinds: &[Kind]) -> Vec<String> {
        db::symbols(self.db, self.ws)
            .names_of(kinds)
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Report an unknown name with a "did you mean" and its fix. `what`
    /// may be followed by its owner: ("field", Some("context `user`")).
    fn unknown(&mut self, code: Code, what: &str, id: &Ident, candidates: &[String]) {
        self.unknown_in(code, what, None, id, candidates)
    }

    fn unknown_in(
        &mut self,
        code: Code,
        what: &str,
        owner: Option<&str>,
        id: &Ident,
        candidates: &[String],
    ) {
        let suggestion = did_you_mean(&id.name, candidates.iter().map(String::as_str));
        let (message, label) = match owner {
            Some(owner) => (
                format!("unknown {what} `{}` in {owner}", id.name),
                format!("{owner} has no {what} of this name"),
            ),
            None => (
                format!("unknown {what} `{}`", id.name),
                format!("no {what} of this name"),
            ),
        };
        let d = self.rep.report(code, id.span, message).label(label);
        match suggestion {
            Some(s) => {
                d.help(format!("did you mean `{s}`?")).fix(
                    format!("Replace with `{s}`"),
                    id.span,
                    s,
                );
            }
            None if candidates.is_empty() => {
                d.help(format!("no {what} is declared"));
            }
            None if candidates.len() <= 8 => {
                d.help(format!("declared: {}", quote_list(candidates)));
            }
            None => {}
        }
    }

    /// A member of an item (a variant, a metric, a rule) declared again
    /// under a name it already has.
    /// How many errors this file has so far: a phase compares the count
    /// before and after lowering something to learn whether it is sound.
    fn error_count(&self) -> usize {
        self.rep.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    fn declared_twice(&mut self, what: &str, again: &Ident, first: Span) {
        self.rep
            .report(
                Code::DuplicateMember,
                again.span,
                format!("{what} `{}` is declared twice", again.name),
            )
            .label("declared again here")
            .secondary(first, "first declared here");
    }

    /// The local slot of a context field, allocating it on first use.
    fn slot(&mut self, context: &str, field: u32) -> u32 {
        let key = (context.to_string(), field);
        if let Some(&slot) = self.field_ids.get(&key) {
            return slot;
        }
        let slot = self.lowered.refs.fields.len() as u32;
        self.lowered.refs.fields.push(key.clone());
        self.field_ids.insert(key, slot);
        slot
    }

    fn segment_ref(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.segment_ids.get(name) {
            return i;
        }
        let i = self.lowered.refs.segments.len() as u32;
        self.lowered.refs.segments.push(name.to_string());
        self.segment_ids.insert(name.to_string(), i);
        i
    }

    fn flag_ref(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.flag_ids.get(name) {
            return i;
        }
        let i = self.lowered.refs.flags.len() as u32;
        self.lowered.refs.flags.push(name.to_string());
        self.flag_ids.insert(name.to_string(), i);
        i
    }

    fn location(&self, span: Span) -> ir::Location {
        let (line, column) = self.lines.line_col(self.text, span.start);
        ir::Location {
            file: self.path.to_string(),
            line,
            column,
            start: span.start,
            end: span.end,
        }
    }

    fn segment_decl(&mut self, s: &ast::SegmentDecl) {
        let condition = self.condition(&s.condition);
        self.lowered.segments.push(ir::Segment {
            name: s.name.name.clone(),
            condition,
        });
    }
}

/// `a`, `b` and `c` in backticks, for help lines.
pub(crate) fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
