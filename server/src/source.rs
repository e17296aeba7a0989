//! Where the served flags come from, and following their changes: a
//! directory of `.flag` files (compiled, its tests run, watched by the
//! runtime's watcher), a bundle file from `vexil build` (re-read when it
//! changes), or a bundle URL (polled, see `remote.rs`; started from the
//! local cache when the URL fails at start). Only a version that compiles
//! and passes its own tests is handed to [`App::publish`]; any other is
//! reported and the last good one keeps serving.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use vexil_runtime::{Engine, EngineOptions, ExposureSink, LoadError, Watcher};

use crate::cache::Cache;
use crate::config::Config;
use crate::remote::{self, Fetched, Remote};
use crate::state::{App, SourceInfo};

/// The engine that compiles and checks versions, and what it was loaded from.
pub struct Source {
    pub engine: Arc<Engine>,
    pub info: SourceInfo,
    path: PathBuf,
    /// A URL source, to poll, and its cache.
    remote: Option<(Remote, Option<Cache>)>,
    /// A bundle file's stamp when it was read: a change made while the
    /// server starts is still seen as one.
    stamp: Option<(u64, SystemTime)>,
}

/// How every version is loaded. Tests always run: a server never serves a
/// version whose own tests fail. Experiments' exposures go to `sink`.
fn options(sink: Option<Arc<dyn ExposureSink>>) -> EngineOptions {
    EngineOptions {
        run_tests: true,
        exposure_sink: sink,
        ..EngineOptions::default()
    }
}

/// Load the first version from the configured source: a URL, or a path.
/// The error is the message to stop with.
pub async fn open_configured(
    config: &Config,
    source: &Path,
    sink: Option<Arc<dyn ExposureSink>>,
) -> Result<Source, String> {
    let text = source.to_string_lossy();
    if remote::is_url(&text) {
        return open_url(config, &text, sink).await;
    }
    let path = source.to_path_buf();
    tokio::task::spawn_blocking(move || open(&path, sink))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Fetch the first version of a URL source; when that fails, start from
/// the cache (loudly), else fail.
async fn open_url(
    config: &Config,
    url: &str,
    sink: Option<Arc<dyn ExposureSink>>,
) -> Result<Source, String> {
    let remote = Remote::new(
        url,
        Duration::from_millis(config.limits.fetch_timeout_ms.max(1)),
        config.limits.bundle_bytes,
        config.ca_file.as_deref(),
    )?;
    let cache = config.cache_dir.as_deref().map(|dir| Cache::new(dir, url));
    let shown = remote.shown().to_string();
    let cache_shown = cache.as_ref().map(|c| c.path().display().to_string());
    let info = |kind| SourceInfo {
        path: shown.clone(),
        kind,
        cache: cache_shown.clone(),
    };
    let fetched = match remote.fetch().await {
        Ok(Fetched::Changed { text, etag }) => {
            let (cache_, sink_) = (cache.clone(), sink.clone());
            let loaded = tokio::task::spawn_blocking(move || {
                let engine = load_text(&text, sink_)?;
                remote::store(cache_.as_ref(), &text);
                Ok::<_, String>(engine)
            })
            .await
            .map_err(|e| e.to_string())?;
            loaded.map(|engine| (engine, etag))
        }
        // Nothing was asked with an ETag: a 304 is the server's mistake.
        Ok(Fetched::NotModified) => Err(format!(
            "`{}` answered 304 to a first fetch",
            remote.shown()
        )),
        Err(e) => Err(e),
    };
    let mut remote = remote;
    let (engine, kind) = match fetched {
        Ok((engine, etag)) => {
            remote.judged(etag);
            (engine, "url")
        }
        Err(e) => {
            let Some(c) = &cache else {
                return Err(format!(
                    "{e}\n(no bundle cache is configured: set `cache_dir`)"
                ));
            };
            let cached = match c.read()? {
                Some(text) => text,
                None => {
                    return Err(format!(
                        "{e}\n(no cached bundle at `{}` to start from)",
                        c.path().display()
                    ))
                }
            };
            let engine = tokio::task::spawn_blocking(move || load_text(&cached, sink))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|cache_error| {
                    format!(
                        "{e}\nand the cached bundle `{}` does not load either: {cache_error}",
                        c.path().display()
                    )
                })?;
            tracing::error!(
                error = %e,
                cache = %c.path().display(),
                "THE BUNDLE URL FAILED AT START: serving the last good bundle from the local cache, \
                 which may be stale; the URL keeps being polled"
            );
            (engine, "cache")
        }
    };
    Ok(Source {
        engine: Arc::new(engine),
        info: info(kind),
        path: PathBuf::new(),
        remote: Some((remote, cache)),
        stamp: None,
    })
}

fn load_text(text: &str, sink: Option<Arc<dyn ExposureSink>>) -> Result<Engine, String> {
    let bundle = vexil_ir::Bundle::from_json(text).map_err(|e| e.to_string())?;
    Engine::from_bundle(bundle, options(sink)).map_err(|e| e.to_string())
}

/// Load the first version of a directory or bundle file.
pub fn open(path: &Path, sink: Option<Arc<dyn ExposureSink>>) -> Result<Source, LoadError> {
    let options = options(sink);
    let mut stamped = None;
    let (engine, kind) = if path.is_dir() {
        (Engine::from_dir(path, options)?, "directory")
    } else if path.is_file() {
        stamped = stamp(path);
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
            cache: None,
        },
        path: path.to_path_buf(),
        remote: None,
        stamp: stamped,
    })
}

/// Follows the source until dropped.
pub struct Follower {
    _directory: Option<Watcher>,
    _bundle: Option<BundleWatcher>,
    poller: Option<tokio::task::JoinHandle<()>>,
    /// The runtime's watcher holds its engine weakly: this keeps it.
    _engine: Arc<Engine>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        if let Some(poller) = self.poller.take() {
            poller.abort();
        }
    }
}

/// Watch the source and publish every version the engine accepts; a URL
/// is polled every `poll_interval` (jittered) on the async runtime.
pub fn follow(
    source: &mut Source,
    app: Arc<App>,
    interval: Duration,
    poll_interval: Duration,
) -> Follower {
    if let Some((remote, cache)) = source.remote.take() {
        let poller = tokio::spawn(remote::poll(
            remote,
            source.engine.clone(),
            app,
            cache,
            poll_interval,
        ));
        return Follower {
            _directory: None,
            _bundle: None,
            poller: Some(poller),
            _engine: source.engine.clone(),
        };
    }
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
            poller: None,
            _engine: source.engine.clone(),
        };
    }
    let bundle = BundleWatcher::start(
        source.path.clone(),
        source.stamp,
        source.engine.clone(),
        app,
        interval,
    );
    Follower {
        _directory: None,
        _bundle: Some(bundle),
        poller: None,
        _engine: source.engine.clone(),
    }
}

/// Re-reads a bundle file when its size or modification time changes.
pub struct BundleWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BundleWatcher {
    fn start(
        path: PathBuf,
        mut seen: Option<(u64, SystemTime)>,
        engine: Arc<Engine>,
        app: Arc<App>,
        interval: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // Loading and compiling a new bundle yields to requests.
            vexil_runtime::lower_this_thread();
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
