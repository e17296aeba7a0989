//! The salsa database shared by the CLI and the language server, its
//! inputs, and the queries every phase reads.
//!
//! Inputs are source files and the workspace (the set of files, and "today"
//! for expiry warnings). The queries here, from the bottom: `parse(file)` →
//! `file_summary(file)` (declarations without positions, so that an edit
//! inside a body changes nothing downstream) → `symbols(ws)` and the
//! per-name `context_def` / `flag_signature` / `kind_of`. The phases above
//! keep their own queries beside their code, so imports point one way (into
//! this module): `check::check_file(ws, file)` (diagnostics and the file's
//! lowered items), `global::global_problems(ws)` (duplicates, cycles,
//! layers), then linking (`link.rs`, not memoised).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use vexil_grammar as ast;

use crate::summary::{FileSummary, ItemSig, Kind};
use crate::types::{ContextDef, FlagSig};

pub use inputs::{Name, SourceFile, Workspace};

/// The inputs. Salsa generates their constructors, getters and setters,
/// which cannot carry doc comments: the fields' docs say what each holds.
mod inputs {
    #![allow(missing_docs)]

    use std::sync::Arc;

    /// One `.flag` file: an input the CLI or the editor sets.
    #[salsa::input(debug)]
    pub struct SourceFile {
        /// The path diagnostics and labels name the file by.
        #[returns(ref)]
        pub path: Arc<str>,
        /// The file's text as it is now (an editor's unsaved text included).
        #[returns(ref)]
        pub text: String,
    }

    /// The files checked together, as one project.
    #[salsa::input(debug)]
    pub struct Workspace {
        /// The files, in the order "first declaration" and symbol lists follow.
        #[returns(ref)]
        pub files: Vec<SourceFile>,
        /// Today's date (microseconds since the epoch, UTC midnight) for expiry
        /// warnings; `None` turns them off.
        pub today: Option<i64>,
        /// The project's conventions (`vexil.toml`); the default expects
        /// nothing.
        #[returns(ref)]
        pub conventions: crate::conventions::Conventions,
    }

    /// A name looked up across the workspace; interned so that per-name queries
    /// are memoised separately.
    #[salsa::interned(debug)]
    pub struct Name<'db> {
        /// The name as written.
        #[returns(ref)]
        pub text: String,
    }
}

/// The database the queries run on; `vexil-ide`'s queries take it too.
#[salsa::db]
pub trait Db: salsa::Database {}

/// The database. `Clone` gives a snapshot for another thread (the language
/// server answers requests from snapshots while edits go through one writer).
#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    log: Arc<Mutex<Option<Vec<String>>>>,
}

impl Default for Database {
    fn default() -> Database {
        let log: Arc<Mutex<Option<Vec<String>>>> = Arc::default();
        let sink = log.clone();
        Database {
            storage: salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
                if let salsa::EventKind::WillExecute { database_key } = event.kind {
                    if let Ok(mut guard) = sink.lock() {
                        if let Some(entries) = guard.as_mut() {
                            entries.push(format!("{database_key:?}"));
                        }
                    }
                }
            }))),
            log,
        }
    }
}

impl Database {
    /// Start recording which queries execute (for incrementality tests and
    /// the language server's debug log).
    pub fn enable_log(&self) {
        if let Ok(mut guard) = self.log.lock() {
            guard.get_or_insert_with(Vec::new);
        }
    }

    /// The queries executed since the last call, as `query(id)` strings.
    pub fn take_log(&self) -> Vec<String> {
        self.log
            .lock()
            .ok()
            .and_then(|mut g| g.as_mut().map(std::mem::take))
            .unwrap_or_default()
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {}

// ---------------------------------------------------------------- queries

/// The file's syntax tree and syntax errors.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Db, file: SourceFile) -> ast::SourceFile {
    ast::parse(file.text(db))
}

/// The file's declarations without positions.
#[salsa::tracked(returns(ref))]
pub fn file_summary(db: &dyn Db, file: SourceFile) -> FileSummary {
    crate::summary::summarize(parse(db, file))
}

/// The events the file's metrics read (experiments' `metrics` and flags'
/// guardrails), once per use, in source order.
#[salsa::tracked(returns(ref))]
pub fn file_events(db: &dyn Db, file: SourceFile) -> Vec<String> {
    let mut events = Vec::new();
    for item in &parse(db, file).items {
        let (ast::Item::Flag(d) | ast::Item::Experiment(d)) = item else {
            continue;
        };
        for p in &d.properties {
            match &p.kind {
                ast::PropertyKind::Metrics(metrics) => {
                    for m in metrics {
                        events.extend(m.events.iter().map(|e| e.name.clone()));
                    }
                }
                ast::PropertyKind::Rule(r) => {
                    for g in &r.guards {
                        events.extend(g.metric.events.iter().map(|e| e.name.clone()));
                    }
                }
                _ => {}
            }
        }
    }
    events
}

/// Every event the workspace's metrics read, with how many times.
#[salsa::tracked(returns(ref))]
pub fn project_events(db: &dyn Db, ws: Workspace) -> BTreeMap<String, u32> {
    let mut uses = BTreeMap::new();
    for &file in ws.files(db) {
        for event in file_events(db, file) {
            *uses.entry(event.clone()).or_insert(0) += 1;
        }
    }
    uses
}

/// Where each top-level name is declared, in workspace file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Symbols {
    /// Every declaration of each top-level name (several when a name is
    /// declared twice, which is an error).
    pub by_name: BTreeMap<String, Vec<Declaration>>,
}

/// Where a top-level name is declared, and as what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Declaration {
    /// The declaring file.
    pub file: SourceFile,
    /// Index of the item in its file's summary.
    pub item: u32,
    /// What the name declares.
    pub kind: Kind,
}

impl Symbols {
    /// The first declaration of a name; duplicates are reported elsewhere.
    pub fn get(&self, name: &str) -> Option<Declaration> {
        self.by_name.get(name).and_then(|d| d.first().copied())
    }

    /// All names of one kind, for "did you mean" and completion.
    pub fn names_of(&self, kinds: &[Kind]) -> Vec<&str> {
        self.by_name
            .iter()
            .filter(|(_, d)| d.first().is_some_and(|d| kinds.contains(&d.kind)))
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// The workspace's top-level names, from the files' summaries.
#[salsa::tracked(returns(ref))]
pub fn symbols(db: &dyn Db, ws: Workspace) -> Symbols {
    let mut symbols = Symbols::default();
    for &file in ws.files(db) {
        for (i, item) in file_summary(db, file).items.iter().enumerate() {
            symbols
                .by_name
                .entry(item.name.clone())
                .or_default()
                .push(Declaration {
                    file,
                    item: i as u32,
                    kind: item.kind,
                });
        }
    }
    symbols
}

fn declared_sig(db: &dyn Db, ws: Workspace, name: &str) -> Option<(Declaration, ItemSig)> {
    let decl = symbols(db, ws).get(name)?;
    let item = file_summary(db, decl.file).items.get(decl.item as usize)?;
    Some((decl, item.sig.clone()))
}

/// The schema of a context, if `name` is a context.
#[salsa::tracked(returns(ref))]
pub fn context_def<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    name: Name<'db>,
) -> Option<Arc<ContextDef>> {
    match declared_sig(db, ws, name.text(db))? {
        (_, ItemSig::Context(def)) => Some(Arc::new(def)),
        _ => None,
    }
}

/// The signature of a flag or experiment, if `name` is one.
#[salsa::tracked(returns(ref))]
pub fn flag_signature<'db>(db: &'db dyn Db, ws: Workspace, name: Name<'db>) -> Option<FlagSig> {
    match declared_sig(db, ws, name.text(db))? {
        (_, ItemSig::Flag(sig)) => Some(sig),
        _ => None,
    }
}

/// What kind of thing a name is, if it is declared.
#[salsa::tracked(returns(copy))]
pub fn kind_of<'db>(db: &'db dyn Db, ws: Workspace, name: Name<'db>) -> Option<Kind> {
    symbols(db, ws).get(name.text(db)).map(|d| d.kind)
}
