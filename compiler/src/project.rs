//! A project: a set of `.flag` files, checked and built through the
//! incremental database. What the CLI and the runtime's loader use; the
//! language server drives the same database directly.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use salsa::Setter;
use vexil_ir::ValidBundle;

use crate::db::{Database, SourceFile, Workspace};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::{cross_file_diagnostics, link, local_diagnostics, render, Code};

/// A set of `.flag` sources by path, with the database that checks them.
/// Setting a source re-checks only what depends on it.
pub struct Project {
    db: Database,
    ws: Workspace,
    files: BTreeMap<String, SourceFile>,
    /// Per file read from bytes, those that were not UTF-8: (offset, byte).
    not_utf8: BTreeMap<String, Vec<(usize, u8)>>,
}

/// A file or folder that could not be read.
#[derive(Debug)]
pub struct LoadError {
    /// The file or folder.
    pub path: PathBuf,
    /// Why it could not be read.
    pub error: std::io::Error,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for LoadError {}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

impl Project {
    /// An empty project, with expiry warnings off (see [`Project::set_today`]).
    pub fn new() -> Project {
        let db = Database::default();
        let ws = Workspace::new(&db, Vec::new(), None, Default::default());
        Project {
            db,
            ws,
            files: BTreeMap::new(),
            not_utf8: BTreeMap::new(),
        }
    }

    /// Every `.flag` file under `dir` (hidden folders, `target` and
    /// `node_modules` skipped), named by its path as `dir` spells it.
    pub fn from_dir(dir: &Path) -> Result<Project, LoadError> {
        let mut project = Project::new();
        for path in flag_files(dir)? {
            let bytes = std::fs::read(&path).map_err(|error| LoadError {
                path: path.clone(),
                error,
            })?;
            project.set_source_bytes(&path.to_string_lossy(), &bytes);
        }
        Ok(project)
    }

    /// Add or replace a file from its bytes, as read from disk: bytes that
    /// are not UTF-8 are an E0002 diagnostic (and read as spaces), not a
    /// reason to stop checking.
    pub fn set_source_bytes(&mut self, path: &str, bytes: &[u8]) {
        let decoded = crate::decode::decode(bytes);
        self.set_source(path, decoded.text);
        if !decoded.invalid.is_empty() {
            self.not_utf8.insert(path.to_string(), decoded.invalid);
        }
    }

    /// Add or replace a file.
    pub fn set_source(&mut self, path: &str, text: String) {
        self.not_utf8.remove(path);
        match self.files.get(path) {
            Some(file) => {
                if file.text(&self.db) != &text {
                    file.set_text(&mut self.db).to(text);
                }
            }
            None => {
                let file = SourceFile::new(&self.db, Arc::from(path), text);
                self.files.insert(path.to_string(), file);
                let files: Vec<SourceFile> = self.files.values().copied().collect();
                self.ws.set_files(&mut self.db).to(files);
            }
        }
    }

    /// Remove a file, if the project has it.
    pub fn remove_source(&mut self, path: &str) {
        self.not_utf8.remove(path);
        if self.files.remove(path).is_some() {
            let files: Vec<SourceFile> = self.files.values().copied().collect();
            self.ws.set_files(&mut self.db).to(files);
        }
    }

    /// Today's date for expiry warnings (microseconds since the epoch, see
    /// [`crate::today`]); `None`, the default, turns them off.
    pub fn set_today(&mut self, today: Option<i64>) {
        self.ws.set_today(&mut self.db).to(today);
    }

    /// The conventions flags and experiments are checked against (see
    /// [`crate::Conventions::find`]); the default expects nothing.
    pub fn set_conventions(&mut self, conventions: crate::Conventions) {
        if self.ws.conventions(&self.db) != &conventions {
            self.ws.set_conventions(&mut self.db).to(conventions);
        }
    }

    /// The files' paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// A file's text, if the project has it.
    pub fn source(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|f| f.text(&self.db).as_str())
    }

    /// Every diagnostic, sorted by file, position and code.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = Vec::new();
        for &file in self.files.values() {
            out.extend(local_diagnostics(&self.db, self.ws, file).iter().cloned());
        }
        out.extend(cross_file_diagnostics(&self.db, self.ws));
        out.extend(
            self.not_utf8
                .iter()
                .filter_map(|(path, invalid)| crate::decode::diagnostic(path, invalid)),
        );
        out.sort_by(|a, b| {
            (a.primary.file.as_ref(), a.primary.span.start, a.code).cmp(&(
                b.primary.file.as_ref(),
                b.primary.span.start,
                b.code,
            ))
        });
        out.dedup();
        out
    }

    /// The bundle, validated, or the diagnostics (errors and warnings) if
    /// there are errors.
    pub fn bundle(&self, with_tests: bool) -> Result<ValidBundle, Vec<Diagnostic>> {
        let diagnostics = self.diagnostics();
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(diagnostics);
        }
        link::link(&self.db, self.ws, with_tests).map_err(|problem| {
            vec![Diagnostic {
                code: Code::Syntax,
                severity: Severity::Error,
                message: format!(
                    "internal compiler error: the linked program is invalid: {problem}"
                ),
                primary: Label {
                    file: Arc::from(self.files.keys().next().map_or("", String::as_str)),
                    span: Default::default(),
                    message: String::new(),
                },
                secondary: Vec::new(),
                help: Some("please report this with the files that produce it".into()),
                notes: Vec::new(),
                fix: None,
            }]
        })
    }

    /// The diagnostics as text for people, with the source lines they point
    /// at (`color` for a terminal).
    pub fn render(&self, diagnostics: &[Diagnostic], color: bool) -> String {
        render::render_text(diagnostics, |p| self.source(p), color)
    }

    /// The diagnostics as a JSON array for tools, with line and column
    /// positions.
    pub fn render_json(&self, diagnostics: &[Diagnostic]) -> String {
        render::render_json(diagnostics, |p| self.source(p))
    }
}

/// `.flag` files under `dir`, sorted; `dir` itself may be a single file.
pub fn flag_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|error| LoadError {
            path: d.clone(),
            error,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "flag") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
