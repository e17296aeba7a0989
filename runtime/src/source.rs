//! Loading flags from `.flag` sources, and hot reload (feature `source`).
//!
//! A directory of sources is one [`BundleSource`] of an [`Engine`]: it keeps
//! the compiler's incremental project, so a reload after one edited file
//! re-checks only what that edit touched. A reload that does not compile
//! keeps the running version and returns the diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use vexil_compiler::Project;

use crate::engine::{BundleSource, Engine, EngineOptions, NewVersion};
use crate::snapshot::LoadError;

/// The `.flag` files of a directory, compiled on change.
struct FlagDir {
    dir: PathBuf,
    project: Project,
    /// Compile the `test` blocks too (`EngineOptions::run_tests`).
    with_tests: bool,
    /// The bytes last read from each file, to skip unchanged ones.
    seen: BTreeMap<String, Vec<u8>>,
    /// The files' stamps when the watcher last asked whether the
    /// directory stood still.
    stamps: Vec<Stamp>,
}

/// A `.flag` file's path, size and modification time: what tells one state
/// of the directory from the next without reading it.
type Stamp = (PathBuf, u64, Option<SystemTime>);

impl FlagDir {
    fn open(dir: &Path, with_tests: bool) -> Result<FlagDir, LoadError> {
        let mut source = FlagDir {
            dir: dir.to_path_buf(),
            project: Project::new(),
            with_tests,
            seen: BTreeMap::new(),
            stamps: stamps(dir),
        };
        source.project.set_today(None);
        source.refresh()?;
        Ok(source)
    }

    /// Read the directory; whether anything changed.
    fn refresh(&mut self) -> Result<bool, LoadError> {
        let paths =
            vexil_compiler::flag_files(&self.dir).map_err(|e| LoadError::Io(e.to_string()))?;
        let mut changed = false;
        let mut now_seen = BTreeMap::new();
        for path in paths {
            let key = path.to_string_lossy().to_string();
            // A file that vanishes or turns unreadable between listing and
            // reading is treated as deleted for this round. Bytes, not
            // text: a file that is not UTF-8 is an error (E0002) like any
            // other, not a file skipped in silence.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if self.seen.get(&key) != Some(&bytes) {
                self.project.set_source_bytes(&key, &bytes);
                changed = true;
            }
            now_seen.insert(key, bytes);
        }
        for gone in self.seen.keys().filter(|k| !now_seen.contains_key(*k)) {
            self.project.remove_source(gone);
            changed = true;
        }
        self.seen = now_seen;
        Ok(changed)
    }

    /// Compile, with the `test` blocks when they are to be run.
    fn build(&self) -> Result<NewVersion, LoadError> {
        match self.project.bundle(self.with_tests) {
            Ok(bundle) => {
                let warnings = self.project.diagnostics();
                Ok(NewVersion {
                    bundle,
                    warnings: self.project.render(&warnings, false),
                })
            }
            Err(diagnostics) => Err(LoadError::Compile {
                errors: diagnostics.iter().filter(|d| d.is_error()).count(),
                rendered: self.project.render(&diagnostics, false),
            }),
        }
    }
}

impl BundleSource for FlagDir {
    fn poll(&mut self) -> Result<Option<NewVersion>, LoadError> {
        if !self.refresh()? {
            return Ok(None);
        }
        self.build().map(Some)
    }

    /// The files' sizes and modification times are those of the last
    /// call. Equal stamps do not mean equal contents (a same-sized edit
    /// within one timestamp tick): the reload that follows compares them.
    fn settled(&mut self) -> bool {
        let now = stamps(&self.dir);
        if now == self.stamps {
            return true;
        }
        self.stamps = now;
        false
    }
}

/// Each `.flag` file's stamp, in the order the compiler lists them.
fn stamps(dir: &Path) -> Vec<Stamp> {
    vexil_compiler::flag_files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (path, len, modified)
        })
        .collect()
}

impl Engine {
    /// Compile and load every `.flag` file under `dir` (with their `test`
    /// blocks, run before loading, when `options.run_tests`);
    /// [`reload`](Engine::reload) and [`watch`](Engine::watch) then read
    /// the directory again.
    pub fn from_dir(dir: &Path, options: EngineOptions) -> Result<Engine, LoadError> {
        let source = FlagDir::open(dir, options.run_tests)?;
        let first = source.build()?;
        Ok(Engine::from_bundle(first.bundle, options)?.with_source(source))
    }
}
