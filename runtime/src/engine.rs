//! The engine a service embeds: the current snapshot behind an atomic
//! pointer, swapped on reload. Readers never block and never see a half
//! loaded version; a reload that fails leaves the last good one in place.
//! New versions come from a [`BundleSource`] (a directory of `.flag`
//! sources with the feature `source`, a server, a bundle file).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use vexil_ir::{Bundle, ValidBundle};

use crate::context::Context;
use crate::exposure::ExposureSink;
use crate::outcome::Details;
use crate::overrides::OverrideSpec;
use crate::snapshot::{pick, At, BackendChoice, LoadError, Snapshot};
use crate::unmatched::{ContextCounts, ContextStats};

/// How an engine evaluates, for every version it loads.
#[derive(Clone, Default)]
pub struct EngineOptions {
    /// Compiled code or the interpreter (see [`BackendChoice`]).
    pub backend: BackendChoice,
    /// Where experiments' exposures go; `None` records none.
    pub exposure_sink: Option<Arc<dyn ExposureSink>>,
    /// Run a version's `test` blocks before it is installed (sources are
    /// then compiled with their tests): a version whose tests fail is
    /// refused like one that does not compile, and the last good one stays.
    pub run_tests: bool,
}

/// Where an engine's new versions come from, for [`Engine::reload`] and
/// [`Engine::watch`]: a directory of `.flag` sources (feature `source`,
/// `Engine::from_dir`), a server, a bundle file.
pub trait BundleSource: Send {
    /// The new version when the flags changed since the last call, `None`
    /// when they did not. On error the engine keeps its running version.
    /// With [`EngineOptions::run_tests`], a source of `.flag` files
    /// includes their `test` blocks in the bundle.
    fn poll(&mut self) -> Result<Option<NewVersion>, LoadError>;

    /// Whether the source has stood still since the watcher last asked:
    /// [`Engine::watch`] reloads only then, so that a change caught half
    /// made (a file an editor truncated and is still writing) is never
    /// loaded as if whole. A source whose versions arrive whole keeps the
    /// default, always settled; [`Engine::reload`] does not ask.
    fn settled(&mut self) -> bool {
        true
    }
}

/// A version a [`BundleSource`] found.
#[derive(Clone)]
pub struct NewVersion {
    /// The flags to load, validated where they were made.
    pub bundle: ValidBundle,
    /// Its warnings, rendered for a log (empty if none).
    pub warnings: String,
}

/// What a successful reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// The new snapshot's version, or `None` if nothing changed.
    pub version: Option<u64>,
    /// Warnings of the new version, rendered.
    pub warnings: String,
}

/// The flags a service evaluates: the current [`Snapshot`], swapped
/// atomically by [`install`](Engine::install) and [`reload`](Engine::reload).
pub struct Engine {
    /// What evaluations see: `base` with `overrides` laid over it.
    current: ArcSwap<Snapshot>,
    /// The version as loaded, without overrides.
    base: ArcSwap<Snapshot>,
    /// The overrides laid over every version loaded; the lock serialises
    /// swaps, so that an install and an override change never undo each
    /// other.
    overrides: Mutex<Arc<[OverrideSpec]>>,
    options: EngineOptions,
    versions: AtomicU64,
    source: Option<Mutex<Box<dyn BundleSource>>>,
    /// Unknown contexts and fields seen by every version's layout.
    context_stats: Arc<ContextStats>,
}

impl Engine {
    /// Load `bundle` as version 1, compiled to machine code unless
    /// `options` choose the interpreter (in the background with the
    /// default [`BackendChoice::Auto`]: see [`Engine::wait_compiled`]). Bundles are validated where they
    /// are made: `vexil_ir::validate`, `Bundle::from_json`, a compiled
    /// project's bundle.
    pub fn from_bundle(bundle: ValidBundle, options: EngineOptions) -> Result<Engine, LoadError> {
        let context_stats = Arc::default();
        let snapshot = Snapshot::new(bundle, options.backend, options.exposure_sink.clone(), 1)?
            .count_contexts_in(&context_stats);
        admit(&options, &snapshot)?;
        let snapshot = Arc::new(snapshot);
        Ok(Engine {
            current: ArcSwap::new(snapshot.clone()),
            base: ArcSwap::new(snapshot),
            overrides: Mutex::new(Arc::from([])),
            options,
            versions: AtomicU64::new(1),
            source: None,
            context_stats,
        })
    }

    /// Take new versions from `source` on [`reload`](Engine::reload) and
    /// [`watch`](Engine::watch), in place of any source set before.
    pub fn with_source(mut self, source: impl BundleSource + 'static) -> Engine {
        self.source = Some(Mutex::new(Box::new(source)));
        self
    }

    /// Load a bundle written by `vexil build`.
    pub fn from_bundle_file(
        path: &std::path::Path,
        options: EngineOptions,
    ) -> Result<Engine, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::Io(format!("cannot read `{}`: {e}", path.display())))?;
        let bundle = Bundle::from_json(&text).map_err(LoadError::Bundle)?;
        Engine::from_bundle(bundle, options)
    }

    /// Block until the current version runs entirely as compiled code
    /// (see [`Snapshot::wait_compiled`]): a service that wants its first
    /// requests at full speed calls it after loading; evaluations need
    /// not wait, the interpreter answers them alike until then.
    pub fn wait_compiled(&self) -> Result<(), String> {
        self.current().wait_compiled()
    }

    /// The current snapshot, cheaply (no reference count in the common case).
    /// Take one per request and evaluate every flag against it.
    #[inline]
    pub fn current(&self) -> Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// The current snapshot as an `Arc`, to keep beyond a request.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// How many unknown contexts and fields the contexts built from JSON
    /// with any version's layout have held since the engine was made: a
    /// counter a service exports, so that a caller's typo shows.
    pub fn context_counts(&self) -> ContextCounts {
        self.context_stats.counts()
    }

    /// Which backend evaluates: `"interpreter"` or `"jit"`.
    pub fn backend_name(&self) -> &'static str {
        self.current.load().backend_name()
    }

    /// `None` when the current version runs as compiled code; otherwise
    /// why not (see `Snapshot::why_interpreted`).
    pub fn why_interpreted(&self) -> Option<String> {
        self.current.load().why_interpreted().map(str::to_string)
    }

    /// Swap in a new version. On error (including failing tests, with
    /// `run_tests`) the current version stays.
    pub fn install(&self, bundle: ValidBundle) -> Result<u64, LoadError> {
        self.install_inner(bundle, None)
    }

    /// Swap in a new version with `overrides` in place of those set
    /// before, in one step: no evaluation sees the new version with the
    /// old overrides, or the old version with the new ones. On error the
    /// current version and overrides stay.
    pub fn install_with_overrides(
        &self,
        bundle: ValidBundle,
        overrides: Vec<OverrideSpec>,
    ) -> Result<u64, LoadError> {
        self.install_inner(bundle, Some(overrides))
    }

    fn install_inner(
        &self,
        bundle: ValidBundle,
        overrides: Option<Vec<OverrideSpec>>,
    ) -> Result<u64, LoadError> {
        let version = self.versions.load(Ordering::Relaxed) + 1;
        let snapshot = Snapshot::new(
            bundle,
            self.options.backend,
            self.options.exposure_sink.clone(),
            version,
        )?
        .count_contexts_in(&self.context_stats);
        admit(&self.options, &snapshot)?;
        let mut held = self.lock_overrides();
        if let Some(overrides) = overrides {
            *held = overrides.into();
        }
        self.versions.store(version, Ordering::Relaxed);
        let base = Arc::new(snapshot);
        self.current.store(overlaid(&base, &held));
        self.base.store(base);
        Ok(version)
    }

    /// Lay `overrides` over the current version and every later one, in
    /// place of those set before (none: the versions as loaded). Nothing
    /// is recompiled (see [`Snapshot::with_overrides`]); an override naming
    /// what a version lacks is reported in that snapshot's
    /// [`Overrides::problems`](crate::Overrides::problems) and applied to
    /// nothing.
    pub fn set_overrides(&self, overrides: Vec<OverrideSpec>) {
        let mut held = self.lock_overrides();
        *held = overrides.into();
        self.current.store(overlaid(&self.base.load(), &held));
    }

    /// The overrides laid over every version loaded.
    pub fn overrides(&self) -> Arc<[OverrideSpec]> {
        self.lock_overrides().clone()
    }

    fn lock_overrides(&self) -> std::sync::MutexGuard<'_, Arc<[OverrideSpec]>> {
        // Nothing panics while holding it; a poisoned lock still holds a
        // whole list.
        self.overrides
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Evaluate one flag at the current time, with owned details. Here and
    /// in the typed getters the clock is read only for a flag whose
    /// outcome can depend on it (time windows, `now`), and for experiments.
    pub fn evaluate(&self, name: &str, ctx: &Context) -> Details {
        self.current
            .load()
            .evaluate_at(name, ctx, At::Clock)
            .to_details_of(name)
    }

    /// A bool flag's value at the current time, or `default` on any error
    /// or when the flag serves another type.
    pub fn bool_value(&self, name: &str, ctx: &Context, default: bool) -> bool {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::bool)
    }

    /// A string flag's value, as [`bool_value`](Engine::bool_value).
    pub fn string_value(&self, name: &str, ctx: &Context, default: &str) -> String {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default.to_string(), pick::string)
    }

    /// An int flag's value, as [`bool_value`](Engine::bool_value).
    pub fn int_value(&self, name: &str, ctx: &Context, default: i64) -> i64 {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::int)
    }

    /// A float flag's value (an int value serves too), as
    /// [`bool_value`](Engine::bool_value).
    pub fn float_value(&self, name: &str, ctx: &Context, default: f64) -> f64 {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::float)
    }

    /// A JSON flag's value, as [`bool_value`](Engine::bool_value).
    pub fn json_value(
        &self,
        name: &str,
        ctx: &Context,
        default: serde_json::Value,
    ) -> serde_json::Value {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::json)
    }
}

/// `base` with `overrides` over it; `base` itself when there are none.
fn overlaid(base: &Arc<Snapshot>, overrides: &[OverrideSpec]) -> Arc<Snapshot> {
    if overrides.is_empty() {
        base.clone()
    } else {
        Arc::new(base.with_overrides(overrides))
    }
}

/// With `run_tests`, refuse a version whose own tests fail.
fn admit(options: &EngineOptions, snapshot: &Snapshot) -> Result<(), LoadError> {
    if !options.run_tests {
        return Ok(());
    }
    let tests = &snapshot.bundle().tests;
    let results = crate::testing::run_tests(snapshot, tests, vexil_ir::value::now_micros());
    let failed: Vec<_> = results.into_iter().filter(|r| !r.passed()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(LoadError::TestsFailed {
        failed: failed.len(),
        rendered: crate::testing::render_failures(&failed),
    })
}

impl Engine {
    /// Ask the engine's [`BundleSource`] for a new version and swap it in.
    /// On error the running version stays and the error says why.
    pub fn reload(&self) -> Result<Reloaded, LoadError> {
        let Some(source) = &self.source else {
            return Err(LoadError::Io(
                "this engine has no source to reload from".into(),
            ));
        };
        let mut source = source
            .lock()
            .map_err(|_| LoadError::Io("a reload panicked earlier".into()))?;
        let Some(new) = source.poll()? else {
            return Ok(Reloaded {
                version: None,
                warnings: String::new(),
            });
        };
        let version = self.install(new.bundle)?;
        Ok(Reloaded {
            version: Some(version),
            warnings: new.warnings,
        })
    }

    /// Reload every `interval` on a thread of its own, calling `report`
    /// with each reload that changed something or failed. A change is
    /// loaded once the source has stood still for one interval (see
    /// [`BundleSource::settled`]). The watcher stops when the returned
    /// handle is dropped, or when the engine is. The thread runs at low
    /// priority (see [`set_background_priority`](crate::set_background_priority)).
    pub fn watch(
        self: &Arc<Self>,
        interval: Duration,
        report: impl Fn(Result<Reloaded, LoadError>) + Send + 'static,
    ) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = Arc::downgrade(self);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // Reloads (compiling, testing) yield to evaluations.
            crate::priority::lower_this_thread();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                let Some(engine) = engine.upgrade() else {
                    break;
                };
                if !engine.source_settled() {
                    continue;
                }
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

impl Engine {
    /// Whether the engine's source has stood still (no source: it has).
    fn source_settled(&self) -> bool {
        let Some(source) = &self.source else {
            return true;
        };
        // A poisoned lock is the reload's to report.
        source.lock().map_or(true, |mut s| s.settled())
    }
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
