//! Loading flags from `.flag` sources, and hot reload (feature `source`).
//!
//! The engine keeps the compiler's incremental project, so a reload after
//! one edited file re-checks only what that edit touched. A reload that
//! does not compile keeps the running version and returns the diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use vexil_compiler::Project;

use crate::engine::{Engine, EngineOptions};
use crate::snapshot::LoadError;

pub(crate) struct Source {
    dir: PathBuf,
    project: Project,
    /// The text last read from each file, to skip unchanged ones.
    seen: BTreeMap<String, String>,
}

/// What a successful reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// The new snapshot's version, or `None` if nothing changed.
    pub version: Option<u64>,
    /// Warnings of the new version, rendered.
    pub warnings: String,
}

impl Source {
    fn open(dir: &Path) -> Result<Source, LoadError> {
        let mut source = Source {
            dir: dir.to_path_buf(),
            project: Project::new(),
            seen: BTreeMap::new(),
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
            // reading is treated as deleted for this round.
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if self.seen.get(&key) != Some(&text) {
                self.project.set_source(&key, text.clone());
                changed = true;
            }
            now_seen.insert(key, text);
        }
        for gone in self.seen.keys().filter(|k| !now_seen.contains_key(*k)) {
            self.project.remove_source(gone);
            changed = true;
        }
        self.seen = now_seen;
        Ok(changed)
    }

    /// Compile, with the `test` blocks when they are to be run.
    fn build(&self, with_tests: bool) -> Result<(vexil_ir::ValidBundle, String), LoadError> {
        match self.project.bundle(with_tests) {
            Ok(bundle) => {
                let warnings = self.project.diagnostics();
                Ok((bundle, self.project.render(&warnings, false)))
            }
            Err(diagnostics) => Err(LoadError::Compile {
                errors: diagnostics.iter().filter(|d| d.is_error()).count(),
                rendered: self.project.render(&diagnostics, false),
            }),
        }
    }
}

impl Engine {
    /// Compile and load every `.flag` file under `dir`.
    pub fn from_dir(dir: &Path, options: EngineOptions) -> Result<Engine, LoadError> {
        let source = Source::open(dir)?;
        let (bundle, _) = source.build(options.run_tests)?;
        let mut engine = Engine::from_bundle(bundle, options)?;
        engine.source = Some(Mutex::new(source));
        Ok(engine)
    }

    /// Re-read the source directory and swap in the new version if it
    /// compiles. On error the running version stays and the error says why.
    pub fn reload(&self) -> Result<Reloaded, LoadError> {
        let Some(source) = &self.source else {
            return Err(LoadError::Io(
                "this engine was not loaded from a directory".into(),
            ));
        };
        let mut source = source
            .lock()
            .map_err(|_| LoadError::Io("a reload panicked earlier".into()))?;
        if !source.refresh()? {
            return Ok(Reloaded {
                version: None,
                warnings: String::new(),
            });
        }
        let (bundle, warnings) = source.build(self.options.run_tests)?;
        let version = self.install(bundle)?;
        Ok(Reloaded {
            version: Some(version),
            warnings,
        })
    }

    /// Poll the source directory every `interval` and reload on change,
    /// calling `report` with each reload's result (success or diagnostics).
    /// A change is loaded once the directory has stood still for one
    /// interval, so that a file caught half written (an editor that
    /// truncates, then writes) is never compiled as if it were whole.
    /// The watcher stops when the returned handle is dropped.
    pub fn watch(
        self: &Arc<Self>,
        interval: Duration,
        report: impl Fn(Result<Reloaded, LoadError>) + Send + 'static,
    ) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = Arc::downgrade(self);
        let dir = self
            .source
            .as_ref()
            .and_then(|s| s.lock().ok().map(|s| s.dir.clone()));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut last = dir.as_deref().map(stamps);
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                // Still moving: wait. Still: reload, which compares the
                // contents (a same-sized edit within one timestamp tick
                // leaves the stamps equal).
                let now = dir.as_deref().map(stamps);
                if now != last {
                    last = now;
                    continue;
                }
                let Some(engine) = engine.upgrade() else {
                    break;
                };
                match engine.reload() {
                    Ok(r) if r.version.is_none() => {}
                    other => report(other),
                }
            }
        });
        Watcher {
            stop,
            thread: Some(thread),
        }
    }
}

/// Each `.flag` file's size and modification time: what tells one state of
/// the directory from the next without reading it.
fn stamps(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
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

/// Stops its watcher thread when dropped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
