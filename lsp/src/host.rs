//! The server's state: the salsa database, the workspace's files, and which
//! of them the editor has open (an open document's text overrides the
//! disk's). One thread owns the `Host` and applies changes in order;
//! queries run on `Snapshot`s, which salsa cancels when a change arrives.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use salsa::Setter;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};
use vexil_compiler::db::{Database, SourceFile, Workspace};
use vexil_compiler::Diagnostic;

use crate::convert::apply_changes;

/// A change to the workspace, in the order the editor sent it.
#[derive(Clone, Debug)]
pub enum Change {
    /// A folder of `.flag` files joins the workspace.
    AddRoot(PathBuf),
    RemoveRoot(PathBuf),
    /// The editor opened a document: its text replaces the disk's.
    Open {
        uri: Uri,
        text: String,
    },
    /// Edits to an open document, applied in order.
    Edit {
        uri: Uri,
        changes: Vec<TextDocumentContentChangeEvent>,
    },
    /// The editor closed a document: the disk's text is back, if any.
    Close {
        uri: Uri,
    },
    /// A file was created, changed or deleted on disk.
    Disk {
        uri: Uri,
    },
    /// The date expiry warnings are relative to.
    Today(i64),
}

/// Files by path, and the URI to report each one under.
#[derive(Clone, Debug, Default)]
pub struct Files {
    by_path: BTreeMap<String, SourceFile>,
    uris: BTreeMap<String, Uri>,
    /// E0002 for files read from disk that are not UTF-8 (their text has
    /// spaces for the bad bytes), which the compiler's queries cannot see.
    not_utf8: BTreeMap<String, Diagnostic>,
}

impl Files {
    pub fn get(&self, path: &str) -> Option<SourceFile> {
        self.by_path.get(path).copied()
    }

    pub fn uri(&self, path: &str) -> Option<&Uri> {
        self.uris.get(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.by_path.keys().map(String::as_str)
    }

    /// E0002 for `path`, if it was read from disk and is not UTF-8.
    pub fn not_utf8(&self, path: &str) -> Option<&Diagnostic> {
        self.not_utf8.get(path)
    }
}

/// The key of a document: its file path, or the URI itself for documents
/// that are not files (`untitled:`).
pub fn path_of(uri: &Uri) -> String {
    let is_file = uri.scheme().as_str().eq_ignore_ascii_case("file");
    match uri.to_file_path() {
        Some(path) if is_file => path.to_string_lossy().into_owned(),
        _ => uri.as_str().to_string(),
    }
}

pub struct Host {
    db: Database,
    ws: Workspace,
    files: Arc<Files>,
    roots: BTreeSet<PathBuf>,
    /// Open documents, by path.
    open: BTreeSet<String>,
    files_changed: bool,
    revision: u64,
}

impl Default for Host {
    fn default() -> Self {
        Host::new()
    }
}

impl Host {
    pub fn new() -> Host {
        let db = Database::default();
        let ws = Workspace::new(
            &db,
            Vec::new(),
            Some(vexil_compiler::today()),
            Default::default(),
        );
        Host {
            db,
            ws,
            files: Arc::default(),
            roots: BTreeSet::new(),
            open: BTreeSet::new(),
            files_changed: false,
            revision: 0,
        }
    }

    /// Applies changes in order, then updates the file list once.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) {
        for change in changes {
            self.apply_one(change);
        }
        if self.files_changed {
            let files: Vec<SourceFile> = self.files.by_path.values().copied().collect();
            self.ws.set_files(&mut self.db).to(files);
            self.files_changed = false;
        }
        self.revision += 1;
    }

    fn apply_one(&mut self, change: Change) {
        match change {
            Change::AddRoot(root) => {
                if self.roots.insert(root.clone()) {
                    self.load_root(&root);
                }
            }
            Change::RemoveRoot(root) => {
                if self.roots.remove(&root) {
                    let gone: Vec<String> = self
                        .files
                        .paths()
                        .filter(|p| Path::new(p).starts_with(&root) && !self.open.contains(*p))
                        .filter(|p| !self.roots.iter().any(|r| Path::new(p).starts_with(r)))
                        .map(str::to_string)
                        .collect();
                    for path in gone {
                        self.remove(&path);
                    }
                }
            }
            Change::Open { uri, text } => {
                let path = path_of(&uri);
                self.open.insert(path.clone());
                // The editor's text is UTF-8 whatever the disk holds.
                if self.files.not_utf8.contains_key(&path) {
                    Arc::make_mut(&mut self.files).not_utf8.remove(&path);
                }
                self.set(path, Some(uri), text);
            }
            Change::Edit { uri, changes } => {
                let path = path_of(&uri);
                let Some(file) = self.files.get(&path) else {
                    return;
                };
                let mut text = file.text(&self.db).clone();
                apply_changes(&mut text, changes);
                file.set_text(&mut self.db).to(text);
            }
            Change::Close { uri } => {
                let path = path_of(&uri);
                self.open.remove(&path);
                self.reload(&path, &uri);
            }
            Change::Disk { uri } => {
                let path = path_of(&uri);
                if Path::new(&path).ends_with(vexil_compiler::conventions::PROJECT_FILE) {
                    self.load_conventions();
                    return;
                }
                if !self.open.contains(&path) {
                    self.reload(&path, &uri);
                }
            }
            Change::Today(today) => {
                if *self.ws.today(&self.db) != Some(today) {
                    self.ws.set_today(&mut self.db).to(Some(today));
                }
            }
        }
    }

    /// The project's conventions (`vexil.toml` at or above the first
    /// folder): the same warnings as `vexil check`. A file that cannot be
    /// read or is invalid leaves no conventions; why goes to the server's
    /// standard error, which editors show in its log.
    fn load_conventions(&mut self) {
        let found = match self.roots.iter().next() {
            Some(root) => vexil_compiler::Conventions::find(root),
            None => Ok(None),
        };
        let conventions = match found {
            Ok(found) => found.map(|(_, c)| c).unwrap_or_default(),
            Err(e) => {
                eprintln!("vexil lsp: conventions ignored: {e}");
                Default::default()
            }
        };
        if self.ws.conventions(&self.db) != &conventions {
            self.ws.set_conventions(&mut self.db).to(conventions);
        }
    }

    fn load_root(&mut self, root: &Path) {
        self.load_conventions();
        // An unreadable folder or file is left out; the editor shows what
        // could be read rather than nothing.
        let Ok(paths) = vexil_compiler::flag_files(root) else {
            return;
        };
        for path in paths {
            let key = path.to_string_lossy().into_owned();
            if self.open.contains(&key) {
                continue;
            }
            if let Ok(bytes) = std::fs::read(&path) {
                let uri = Uri::from_file_path(&path);
                self.set_from_disk(key, uri, &bytes);
            }
        }
    }

    /// After a close or a change on disk: the disk's text, or nothing if the
    /// file is gone or outside the workspace's folders.
    fn reload(&mut self, path: &str, uri: &Uri) {
        let in_root = self.roots.iter().any(|r| Path::new(path).starts_with(r));
        match std::fs::read(path) {
            Ok(bytes) if in_root && path.ends_with(".flag") => {
                self.set_from_disk(path.to_string(), Some(uri.clone()), &bytes)
            }
            _ => self.remove(path),
        }
    }

    /// A file as read from disk: bytes that are not UTF-8 are E0002, as in
    /// `vexil check`, and the rest of the file is still analysed.
    fn set_from_disk(&mut self, path: String, uri: Option<Uri>, bytes: &[u8]) {
        let (text, not_utf8) = vexil_compiler::decode_source(&path, bytes);
        let had = self.files.not_utf8.contains_key(&path);
        if not_utf8.is_some() || had {
            let files = Arc::make_mut(&mut self.files);
            match not_utf8 {
                Some(d) => files.not_utf8.insert(path.clone(), d),
                None => files.not_utf8.remove(&path),
            };
        }
        self.set(path, uri, text);
    }

    fn set(&mut self, path: String, uri: Option<Uri>, text: String) {
        if let Some(file) = self.files.get(&path) {
            if file.text(&self.db) != &text {
                file.set_text(&mut self.db).to(text);
            }
            if let Some(uri) = uri {
                Arc::make_mut(&mut self.files).uris.insert(path, uri);
            }
            return;
        }
        let file = SourceFile::new(&self.db, Arc::from(path.as_str()), text);
        let files = Arc::make_mut(&mut self.files);
        files.by_path.insert(path.clone(), file);
        if let Some(uri) = uri {
            files.uris.insert(path, uri);
        }
        self.files_changed = true;
    }

    fn remove(&mut self, path: &str) {
        let files = Arc::make_mut(&mut self.files);
        files.not_utf8.remove(path);
        if files.by_path.remove(path).is_some() {
            files.uris.remove(path);
            self.files_changed = true;
        }
    }

    /// A read-only view for a query on another thread.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            db: self.db.clone(),
            ws: self.ws,
            files: self.files.clone(),
            revision: self.revision,
        }
    }

    /// The database, for tests that read salsa's event log.
    pub fn db(&self) -> &Database {
        &self.db
    }
}

/// The state after some revision. Holding one delays the next change
/// (salsa waits for snapshots to be dropped after cancelling them), so
/// jobs drop theirs as soon as they are done.
pub struct Snapshot {
    pub db: Database,
    pub ws: Workspace,
    pub files: Arc<Files>,
    /// How many batches of changes came before it.
    pub revision: u64,
}

impl Snapshot {
    pub fn file(&self, uri: &Uri) -> Option<SourceFile> {
        self.files.get(&path_of(uri))
    }

    /// The URI of a file by path, as the editor spelled it when it opened
    /// the file, else made from the path.
    pub fn uri(&self, path: &str) -> Option<Uri> {
        if let Some(uri) = self.files.uri(path) {
            return Some(uri.clone());
        }
        Uri::from_file_path(path).or_else(|| path.parse().ok())
    }
}
