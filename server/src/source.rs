//! Where the served flags come from, and following their changes: a
//! directory of `.flag` files (compiled, its tests run, watched by the
//! runtime's watcher) or a bundle file from `vexil build` (re-read when it
//! changes). Only a version that compiles and passes its own tests is
//! handed to [`App::publish`]; any other is reported and the last good one
//! keeps serving.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use vexil_runtime::{Engine, EngineOptions, LoadError, Watcher};

use crate::state::{App, SourceInfo};

/// The engine that compiles and checks versions, and what it was loaded from.
pub struct Source {
    pub engine: Arc<Engine>,
    pub info: SourceInfo,
    path: PathBuf,
}

/// Load the first version. Tests always run: a server never starts on a
/// version whose own tests fail.
pub fn open(path: &Path) -> Result<Source, LoadError> {
    let options = EngineOptions {
        run_tests: true,
        ..EngineOptions::default()
    };
    let (engine, kind) = if path.is_dir() {
        (Engine::from_dir(path, options)?, "directory")
    } else if path.is_file() {
        (Engine::from_bundle_file(path, options)?, "bundle")
    } else {
        return Err(LoadError::Io(format!(
            "`{}` is neither a directory of `.flag` files nor a bundle file",
            path.display()
        )));
    };
    Ok(Source {
        engine: Arc::new(engine),
        info: SourceInfo {
            path: path.display().to_string(),
            kind,
        },
        path: path.to_path_buf(),
    })
}

/// Follows the source until dropped.
pub struct Follower {
    _directory: Option<Watcher>,
    _bundle: Option<BundleWatcher>,
    /// The runtime's watcher holds its engine weakly: this keeps it.
    _engine: Arc<Engine>,
}

/// Watch the source and publish every version the engine accepts.
pub fn follow(source: &Source, app: Arc<App>, interval: Duration) -> Follower {
    if source.info.kind == "directory" {
        let engine = Arc::downgrade(&source.engine);
        let watcher = source.engine.watch(interval, move |result| match result {
            Ok(_) => {
                if let Some(engine) = engine.upgrade() {
                    app.publish(engine.snapshot());
                }
            }
            Err(e) => app.refused(&e.to_string()),
        });
        return Follower {
            _directory: Some(watcher),
            _bundle: None,
            _engine: source.engine.clone(),
        };
    }
    let bundle = BundleWatcher::start(source.path.clone(), source.engine.clone(), app, interval);
    Follower {
        _directory: None,
        _bundle: Some(bundle),
        _engine: source.engine.clone(),
    }
}

/// Re-reads a bundle file when its size or modification time changes.
pub struct BundleWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BundleWatcher {
    fn start(path: PathBuf, engine: Arc<Engine>, app: Arc<App>, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = stamp(&path);
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                let now = stamp(&path);
                if now == seen {
                    continue;
                }
                seen = now;
                match load_bundle(&path).and_then(|b| engine.install(b)) {
                    Ok(_) => app.publish(engine.snapshot()),
                    Err(e) => app.refused(&e.to_string()),
                }
            }
        });
        BundleWatcher {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BundleWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What tells one version of a file from the next without reading it.
fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

fn load_bundle(path: &Path) -> Result<vexil_ir::ValidBundle, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::Io(format!("cannot read `{}`: {e}", path.display())))?;
    vexil_ir::Bundle::from_json(&text).map_err(LoadError::Bundle)
}
